/*
 * RUN_AS: give up root once everything that needs it (the capture device, sockets on low
 * ports, the output file, key files) is open, like `tcpdump -Z`.
 */
#ifndef PK_PRIVDROP_H
#define PK_PRIVDROP_H

/**
 * Switches the process to user (by name or numeric uid), its primary group and its
 * supplementary groups, for good. 0, or a negative errno with one line in errbuf.
 * An empty user does nothing.
 */
int pk_drop_privileges(const char *user, char *errbuf);

/** Checks, before anything is opened, that user exists. 0 or -EINVAL + errbuf. */
int pk_check_user(const char *user, char *errbuf);

#endif
