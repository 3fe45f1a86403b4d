/*
 * The collector's side of OUTPUT_ROTATE (rotate.h: when a file completes) and of GET /stream
 * (the HTTP server's reader of the sink set): what they need of the collector's output stage.
 * Loop thread only.
 */
#define PK_LOG_MODULE "collector"
#include "collector_int.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "pcktr.h"

#include <errno.h>

int
pk_collector_open_rotation(struct collector *c, char *errbuf)
{
    const struct pk_config *cfg = c->cfg;
    struct pk_rotate_policy p = {cfg->rotate_size, cfg->rotate_interval_ms, cfg->output_keep};
    int rc = pk_rotate_open(&c->rotate, &c->loop, cfg->output, &p, errbuf);

    return rc < 0 ? rc : pk_rotate_fd(c->rotate);
}

/* The bytes in the current file (a new queue starts at each file). */
static uint64_t
rotated_file_bytes(void *data)
{
    struct pk_output *out = pk_sink_output(((struct collector *)data)->os.primary);

    return pk_output_written(out) + pk_output_queued(out);
}

/*
 * A new queue over the new file takes the stream (its header first), and the old queue is
 * written into the old file whole before the rotation renames it. A failed write there reports
 * through the collector's on_output_error as any other (the collector stops).
 */
static int
rotated_switch_file(void *data, int fd, char *errbuf)
{
    struct collector *c = data;
    struct pk_output *out = pk_output_new(&c->loop, fd, c->cfg->output_buffer, &c->output_cbs,
                                          errbuf);
    struct pk_output *old;

    if (out == NULL)
        return -ENOMEM;
    old = pk_sink_swap_output(c->os.primary, out);
    pk_output_flush(old);
    pk_output_close(old);
    return 0;
}

static void
on_record_written(void *data)
{
    pk_rotate_record(data);
}

void
pk_collector_start_rotation_and_stream(struct collector *c)
{
    const struct pk_config *cfg = c->cfg;

    if (c->rotate != NULL) {
        pk_rotate_start(c->rotate,
                        &(struct pk_rotate_owner){rotated_file_bytes, rotated_switch_file, c});
        c->os.on_written = on_record_written;
        c->os.written_data = c->rotate;
        pk_info("OUTPUT_ROTATE=\"%s\": writing \"%s\", renamed when it completes",
                cfg->output_rotate, pk_rotate_current(c->rotate));
    }
    /* a reader of the sink set like SERVE_ENDPOINT's, through the same gate */
    pk_http_set_stream(c->http, &(struct pk_http_stream_source){pk_outstage_sinks(&c->os),
                                                                &c->gate, cfg->serve_buffer});
}
