/*
 * pcktr: command line and environment -> struct pk_config -> capture or collect mode.
 * Exit status: 0 clean, 1 runtime failure, 2 invalid configuration.
 */
#define PK_LOG_MODULE "main"
#include "agent.h"
#include "collector.h"
#include "config.h"
#include "log.h"
#include "pcktr.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *
env_lookup(const char *name)
{
    return getenv(name);
}

int
main(int argc, char **argv)
{
    struct pk_config cfg;
    char errbuf[PK_ERRBUF_SIZE];

    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
            pk_config_print_help(stdout);
            return PK_EXIT_OK;
        }
        if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
            printf("pcktr %s\n", PCKTR_VERSION);
            return PK_EXIT_OK;
        }
        fprintf(stderr, "pcktr: unknown argument \"%s\"; accepted: --help, --version "
                        "(configuration is in environment variables, see --help)\n",
                argv[1]);
        return PK_EXIT_CONFIG;
    }
    if (pk_config_load(&cfg, env_lookup, errbuf) != 0) {
        fprintf(stderr, "pcktr: %s\n", errbuf);
        return PK_EXIT_CONFIG;
    }
    pk_log_setup(cfg.log_level, cfg.log_format);
    /* A reader that leaves (tcpdump -c N) must end the collector through EPIPE, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    return cfg.mode == PK_MODE_CAPTURE ? pk_agent_run(&cfg) : pk_collector_run(&cfg);
}
