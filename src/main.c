/*
 * pcktr: command line and environment -> struct pk_config -> capture or collect mode.
 * Exit status: 0 clean, 1 runtime failure, 2 invalid configuration.
 */
#define PK_LOG_MODULE "main"
#include "agent.h"
#include "collector.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "privdrop.h"
#include "pcktr.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static int early_json; /* LOG_FORMAT=json: errors before the logger is set up are JSON too */

static const char *
env_lookup(const char *name)
{
    return getenv(name);
}

/*
 * Every relayed message is allocated and freed once (by libzmq or the receive path), 64 KiB
 * or more at a time. With glibc's defaults, large ones are mmapped and small ones trimmed from
 * the heap top, so the memory of each message is new to the process and faulted in page by
 * page: perf counted about one page fault per 4.7 KB relayed in the collector (libzmq's
 * messages and the 256 KiB output chunks of output.c), and the file relay at 1500-byte packets
 * got about 1.3x faster without them. Peak memory is unchanged (the queues bound it); what is
 * kept is freed memory up to TRIM_BYTES per arena for reuse.
 */
#define MMAP_THRESHOLD_BYTES (1 << 20)
#define TRIM_BYTES (32 << 20)

static void
tune_allocator(void)
{
    (void)mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
    (void)mallopt(M_TRIM_THRESHOLD, TRIM_BYTES);
}

/*
 * Every connection, capture handle and HTTP client is a descriptor, and a collector's soft
 * limit is often 1024 (systemd's default), the hard one far higher: take the hard limit, so
 * that the transports' connection limits (derived from the soft one) leave room for /metrics.
 */
static void
raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
        return;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        pk_warn("cannot raise the open-file limit to %llu: %s", (unsigned long long)rl.rlim_max,
                strerror(errno));
}

/*
 * Errors before the logger is set up (the command line, configuration, keys, RUN_AS). LOG_FORMAT
 * is read first, so that they come in the format asked for: with json, one JSON record naming
 * the variable; otherwise (a bad LOG_FORMAT too) the plain "pcktr: ..." line.
 */
static void
early_error(const char *event, const char *msg)
{
    char var[64];
    size_t n = 0;

    if (!early_json) {
        fprintf(stderr, "pcktr: %s\n", msg);
        return;
    }
    /* Every message about a variable starts with its name: NAME="value" ..., NAME is set ... */
    while (n < sizeof(var) - 1 && ((msg[n] >= 'A' && msg[n] <= 'Z') || msg[n] == '_' ||
                                   (n > 0 && msg[n] >= '0' && msg[n] <= '9')))
        var[n] = msg[n], n++;
    var[n] = '\0';
    if (msg[n] != '=' && msg[n] != ' ' && msg[n] != ':')
        var[0] = '\0';
    pk_log_with(PK_LOG_ERROR, &(struct pk_log_fields){.event = event, .variable = var}, "%s", msg);
}

/* Long (62 lines): the command-line words (--help, keygen, --version), then the process start-up
 * in order; each step is one call with its exit code. */
int
main(int argc, char **argv)
{
    struct pk_config cfg;
    struct pk_transport_config *tc = NULL;
    char errbuf[PK_ERRBUF_SIZE];
    const char *log_format = getenv("LOG_FORMAT");
    int rc;

    /* First: until the mode has its handlers, a signal waits (loop.h), it never kills. */
    pk_signals_block();

    early_json = log_format != NULL && strcmp(log_format, "json") == 0;
    if (early_json)
        pk_log_setup(PK_LOG_INFO, PK_LOG_JSON);
    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
            pk_config_print_help(stdout);
            return PK_EXIT_OK;
        }
        if (strcmp(argv[1], "keygen") == 0 && argc == 2) {
            if (pk_transport_keygen(stdout, errbuf) != 0) {
                fprintf(stderr, "pcktr: keygen: %s\n", errbuf);
                return PK_EXIT_RUNTIME;
            }
            return PK_EXIT_OK;
        }
        if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
            printf("pcktr %s\n", PCKTR_VERSION);
            return PK_EXIT_OK;
        }
        snprintf(errbuf, sizeof(errbuf), "unknown argument \"%s\"; accepted: --help, --version, "
                 "keygen (configuration is in environment variables, see --help)", argv[1]);
        early_error("config_invalid", errbuf);
        return PK_EXIT_CONFIG;
    }
    if (pk_config_load(&cfg, env_lookup, errbuf) != 0) {
        early_error("config_invalid", errbuf);
        return PK_EXIT_CONFIG;
    }
    pk_log_setup(cfg.log_level, cfg.log_format);
    if (pk_check_user(cfg.run_as, errbuf) != 0) {
        early_error("config_invalid", errbuf);
        return PK_EXIT_CONFIG;
    }
    if ((rc = pk_config_transport(&cfg, &tc, errbuf)) != 0) {
        early_error(rc == -EINVAL ? "config_invalid" : NULL, errbuf);
        return pk_exit_code(rc);
    }
    /* A reader that leaves (tcpdump -c N) must end the collector through EPIPE, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    tune_allocator();
    raise_fd_limit();
    rc = cfg.mode == PK_MODE_CAPTURE ? pk_agent_run(&cfg, tc) : pk_collector_run(&cfg, tc);
    pk_log_flush(1); /* rate-limited events: the last "N more suppressed" lines */
    pk_config_transport_free(&cfg, tc);
    return rc;
}
