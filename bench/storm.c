/* A syscall storm: dup+close at a fixed rate (two captured records per loop).
 * Usage: storm LOOPS_PER_SECOND SECONDS; prints the loops it made (below the rate asked
 * when the machine could not keep up). Used by bench/syscall_overhead.py and
 * tests/bpf/test_ring_reader.py. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
                          return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
    double rate = atof(argv[1]), secs = atof(argv[2]);
    double start = now(), end = start + secs;
    long done = 0;
    for (;;) {
        double t = now();
        if (t >= end) break;
        long due = (long)((t - start) * rate);
        while (done < due) { int fd = dup(0); close(fd); done++; }
        struct timespec ts = {0, 100000};
        nanosleep(&ts, 0);
    }
    printf("%ld\n", done);
    return 0;
}
