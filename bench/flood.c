/* Evasion by flooding (issue 12.12). Two roles, chosen by the arguments:
 *   flood SECONDS   failing open() calls in a tight loop for SECONDS; prints how many it made
 *   flood read TAG  read /etc/shadow once (the attacker's real action; TAG marks the command line)
 *   flood pairs N   open+close /etc/hostname N times; prints CPU ns per pair (kernel included)
 * Used by bench/flood_bench.py and tests/bpf/test_flood.py (compiled under the names
 * flood-open and shadow-reader, which become proc.name). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int read_shadow(void) {
    char buf[256];
    int fd = open("/etc/shadow", O_RDONLY);
    if (fd < 0) return 1;
    while (read(fd, buf, sizeof buf) > 0) {}
    close(fd);
    return 0;
}

static int pairs(long n) {
    struct timespec c0, c1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    for (long i = 0; i < n; i++) { int fd = open("/etc/hostname", O_RDONLY); close(fd); }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    printf("%.1f\n", ((c1.tv_sec - c0.tv_sec) * 1e9 + (c1.tv_nsec - c0.tv_nsec)) / n);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "read") == 0) return read_shadow();
    if (argc > 2 && strcmp(argv[1], "pairs") == 0) return pairs(atol(argv[2]));
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long n = 0;
    for (;;) {
        for (int i = 0; i < 1000; i++, n++) open("/nonexistent-flood/x", O_RDONLY);
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec + (t.tv_nsec - t0.tv_nsec) / 1e9 >= secs) break;
    }
    printf("%ld\n", n);
    return 0;
}
