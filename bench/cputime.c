/*
 * The benchmark's CPU meter: runs a command and writes "USER_S SYS_S MAXRSS_KB" to a file once
 * it has ended, as `/usr/bin/time -f '%U %S %M' -o FILE` does, but to the microsecond: GNU time
 * prints hundredths, and at 100 k packets/s `tcpdump -w /dev/null` uses about one of them in a
 * run. Exits with the command's status (128 + N for a signal N). Like GNU time, it ignores
 * SIGINT and SIGQUIT while it waits: the benchmark signals the command itself.
 *
 * usage: cputime -o FILE CMD [ARGS...]
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
    struct rusage ru;
    int status;
    pid_t pid;

    if (argc < 4 || strcmp(argv[1], "-o") != 0) {
        fprintf(stderr, "usage: cputime -o FILE CMD [ARGS...]\n");
        return 2;
    }
    if ((pid = fork()) < 0) {
        perror("cputime: fork");
        return 2;
    }
    if (pid == 0) {
        execvp(argv[3], argv + 3);
        perror("cputime: exec");
        _exit(127);
    }
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    if (wait4(pid, &status, 0, &ru) != pid) {
        perror("cputime: wait4");
        return 2;
    }
    FILE *out = fopen(argv[2], "w");
    if (out == NULL) {
        perror("cputime: output");
        return 2;
    }
    fprintf(out, "%ld.%06ld %ld.%06ld %ld\n", (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec,
            (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec, ru.ru_maxrss);
    fclose(out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
