/*
 * The names of OUTPUT_ROTATE's files, and what is done to them on disk. OUTPUT=DIR/STEM.EXT
 * (EXT: from the last dot of the file name, or none) gives completed files
 *   DIR/STEM-YYYYmmddTHHMMSS.mmmZ.EXT   (the UTC time the file was started, to the millisecond)
 * and the file being written is DIR/.STEM-STAMP.EXT.part (hidden, same directory, so that
 * completing it is one rename). Names sort in the order files were started; a file started in
 * the same millisecond as an existing one takes the next free millisecond. Nothing here ever
 * replaces or truncates a file: creation is O_EXCL, completion a rename that never replaces
 * (pk_output_rename_noreplace). Loop thread; blocking file-system calls.
 */
#ifndef PK_ROTNAME_H
#define PK_ROTNAME_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

struct pk_rotname {
    char dir[PATH_MAX];
    char stem[NAME_MAX + 1];
    char ext[NAME_MAX + 1]; /* with its dot, or "" */
};

/** Splits OUTPUT into directory, stem and extension. -ENAMETOOLONG / -EINVAL, errbuf set. */
int pk_rotname_init(struct pk_rotname *n, const char *output, char *errbuf);

/**
 * Creates the hidden file for a file started at ms (wall clock, ms since the epoch), moving
 * to the next millisecond while that name (hidden or completed) is taken. Fills part (PATH_MAX)
 * and *stamp_ms with the millisecond used. Returns the fd (mode 0640), or -errno with errbuf.
 */
int pk_rotname_create(const struct pk_rotname *n, uint64_t ms, char *part, uint64_t *stamp_ms,
                      char *errbuf);

/**
 * Completes the hidden file part (started at stamp_ms): renames it to its visible name, the
 * next free millisecond if that is taken. Fills done (PATH_MAX). 0 or -errno with errbuf.
 */
int pk_rotname_complete(const struct pk_rotname *n, const char *part, uint64_t stamp_ms,
                        char *done, char *errbuf);

/**
 * Completes the hidden files a run that did not end (a crash, SIGKILL, power loss) left in the
 * directory, as they are. Returns how many, or -errno with errbuf; *last names the last.
 */
int pk_rotname_recover(const struct pk_rotname *n, char *last, char *errbuf);

/**
 * Deletes the oldest completed files beyond the newest keep (0: none deleted). Returns how
 * many were deleted, or -errno with errbuf (the directory could not be read, or an unlink
 * failed: the others are still tried).
 */
int pk_rotname_prune(const struct pk_rotname *n, uint64_t keep, char *errbuf);

#endif
