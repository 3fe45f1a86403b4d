/* Process metrics from /proc/self; see procstat.h. */
#include "procstat.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static void
gauge(struct pk_buf *b, const char *name, const char *type, const char *help, double v)
{
    pk_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

static int
count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory stream's own fd */
}

void
pk_procstat_render(struct pk_buf *b)
{
    char stat[1024], *p;
    unsigned long utime = 0, stime = 0, vsize = 0;
    unsigned long long starttime = 0;
    long rss = 0, ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    double boot = 0;
    FILE *f = fopen("/proc/self/stat", "r");
    struct rlimit rl;
    size_t n = 0;

    if (f != NULL) {
        n = fread(stat, 1, sizeof(stat) - 1, f);
        fclose(f);
    }
    stat[n] = '\0';
    /* Fields after the command name, which may contain spaces, start after the last ')'. */
    p = strrchr(stat, ')');
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d "
                      "%*d %llu %lu %ld",
               &utime, &stime, &starttime, &vsize, &rss) != 5)
        return;
    if ((f = fopen("/proc/stat", "r")) != NULL) {
        char line[256];
        while (fgets(line, sizeof(line), f))
            if (sscanf(line, "btime %lf", &boot) == 1)
                break;
        fclose(f);
    }
    gauge(b, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
          (double)(utime + stime) / (double)ticks);
    gauge(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
          (double)rss * (double)page);
    gauge(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
          (double)vsize);
    gauge(b, "process_open_fds", "gauge", "Number of open file descriptors.", count_fds());
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        gauge(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
              (double)rl.rlim_cur);
    gauge(b, "process_start_time_seconds", "gauge",
          "Start time of the process since unix epoch in seconds.",
          boot + (double)starttime / (double)ticks);
}
