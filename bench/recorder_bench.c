/* medley-recorder-bench: N concurrent mono G.711 recordings fed at real time (one
 * 160-byte frame per recording every 20 ms, all from one producer thread, as one worker
 * would) for S seconds; reports frames written and dropped, the I/O thread's CPU, the
 * producer's cost per write and the write rate. See docs/recording.md.
 *
 *   medley-recorder-bench [-n N] [-s SECONDS] [-d DIR] [-f ulaw|alaw] [--keep]
 *                         [--no-register] [--io-workers N] [--flush-ms MS]
 *                         [--ring-ticks T]
 * Defaults: 10000 recordings, 15 s, /tmp/medley-recorder-bench, µ-law, the recorder's
 * defaults (flush every 500 ms, kernel's io-wq limit), a ring of 10 ticks. The files go in a
 * fresh subdirectory of DIR and are removed afterwards unless --keep. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/recorder.h"

static double now_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int usage(void)
{
    fprintf(stderr, "usage: medley-recorder-bench [-n N] [-s SECONDS] [-d DIR] "
                    "[-f ulaw|alaw] [--keep] [--no-register] [--io-workers N] "
                    "[--flush-ms MS] [--ring-ticks T]\n");
    return 2;
}

int main(int argc, char **argv)
{
    unsigned n = 10000;
    double seconds = 15;
    const char *base = "/tmp/medley-recorder-bench";
    md_wav_format_t fmt = MD_WAV_ULAW;
    int keep = 0, no_register = 0;
    unsigned io_workers = 0, flush_ms = 0, ring_ticks = 10;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--keep") == 0)
            keep = 1;
        else if (strcmp(a, "--no-register") == 0)
            no_register = 1;
        else if (i + 1 < argc && strcmp(a, "--io-workers") == 0)
            io_workers = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(a, "--flush-ms") == 0)
            flush_ms = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(a, "--ring-ticks") == 0)
            ring_ticks = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(a, "-n") == 0)
            n = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(a, "-s") == 0)
            seconds = atof(argv[++i]);
        else if (i + 1 < argc && strcmp(a, "-d") == 0)
            base = argv[++i];
        else if (i + 1 < argc && strcmp(a, "-f") == 0) {
            const char *f = argv[++i];
            if (strcmp(f, "ulaw") == 0)
                fmt = MD_WAV_ULAW;
            else if (strcmp(f, "alaw") == 0)
                fmt = MD_WAV_ALAW;
            else
                return usage();
        } else {
            return usage();
        }
    }
    if (n == 0 || n > (1u << 20) || !(seconds > 0 && seconds <= 3600))
        return usage();

    /* One descriptor per open recording, plus the registered file table of the same
     * size: RLIMIT_NOFILE must exceed N. */
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rlim_t want = (rlim_t)n + 256;
    if (rl.rlim_cur < want) {
        rlim_t old = rl.rlim_cur;
        rl.rlim_cur = want;
        if (rl.rlim_max < want)
            rl.rlim_max = want;   /* needs CAP_SYS_RESOURCE */
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            fprintf(stderr, "cannot raise RLIMIT_NOFILE from %llu to %llu: %s\n",
                    (unsigned long long)old, (unsigned long long)want, strerror(errno));
            return 1;
        }
        printf("raised RLIMIT_NOFILE from %llu to %llu for %u open recordings\n",
               (unsigned long long)old, (unsigned long long)want, n);
    } else {
        printf("RLIMIT_NOFILE is %llu, enough for %u open recordings (not raised)\n",
               (unsigned long long)rl.rlim_cur, n);
    }

    if (mkdir(base, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: %s\n", base, strerror(errno));
        return 1;
    }
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/run-%d", base, (int)getpid());
    if (mkdir(dir, 0755) != 0) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        return 1;
    }

    md_recorder_config_t cfg = {
        .dir = dir,
        .max_recordings = n,
        .n_producers = 1,
        /* ring_ticks ticks of frames (16 + 320 bytes each): the I/O thread may fall
         * that far behind (it shares two vCPUs with the kernel's io_uring workers) */
        .ring_bytes = (size_t)n * 336 * (ring_ticks ? ring_ticks : 1),
        .flush_ms = flush_ms,
        .io_workers = io_workers,
        .no_register = no_register,
    };
    md_recorder_t *rec;
    char err[256];
    int rc = md_recorder_create(&rec, &cfg, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    md_rec_id_t *ids = calloc(n, sizeof(*ids));
    double t0 = now_s(CLOCK_MONOTONIC);
    for (unsigned i = 0; i < n; i++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "r%06u.wav", i);
        rc = md_recorder_open(rec, 0, rel, fmt, 1, &ids[i], err, sizeof(err));
        if (rc != 0) {
            fprintf(stderr, "open %u: %s\n", i, err);
            md_recorder_destroy(rec);
            return 1;
        }
    }
    double t_open = now_s(CLOCK_MONOTONIC) - t0;
    md_recorder_info_t info;
    md_recorder_info(rec, &info);
    char wk[32] = "default";
    if (io_workers)
        snprintf(wk, sizeof(wk), "%u", io_workers);
    printf("%u %s recordings in %s opened in %.2f s; ring %.1f MB, flush %u ms, io-wq "
           "workers %s; registered buffers %s, files %s, openat2 RESOLVE_BENEATH %s\n",
           n, md_wav_format_name(fmt), dir, t_open, cfg.ring_bytes / 1e6,
           flush_ms ? flush_ms : 500, wk,
           info.fixed_buffers ? "yes" : "no",
           info.fixed_files ? "yes" : "no", info.resolve_beneath ? "yes" : "no");

    int16_t frame[160];
    for (int i = 0; i < 160; i++)
        frame[i] = (int16_t)lrint(8000 * sin(2 * M_PI * 440 * i / 8000.0));

    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    uint64_t io0 = info.io_thread_cpu_ns, sq0 = info.sqes_submitted, sub0 = info.submit_calls;
    double start = now_s(CLOCK_MONOTONIC), prod_cpu0 = now_s(CLOCK_THREAD_CPUTIME_ID);
    unsigned ticks = (unsigned)lrint(seconds * 50);
    uint64_t handed = 0, refused = 0, late = 0;
    double tick_max = 0, tick_sum = 0;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (unsigned t = 0; t < ticks; t++) {
        double a = now_s(CLOCK_MONOTONIC);
        for (unsigned i = 0; i < n; i++) {
            rc = md_recorder_write(rec, 0, ids[i], frame, NULL, 160);
            if (rc == 0)
                handed++;
            else if (rc == -ENOBUFS)
                refused++;
            else {
                fprintf(stderr, "write %u: %s\n", i, strerror(-rc));
                return 1;
            }
        }
        double d = now_s(CLOCK_MONOTONIC) - a;
        tick_sum += d;
        if (d > tick_max)
            tick_max = d;
        next.tv_nsec += 20000000;
        if (next.tv_nsec >= 1000000000) {
            next.tv_nsec -= 1000000000;
            next.tv_sec++;
        }
        struct timespec cur;
        clock_gettime(CLOCK_MONOTONIC, &cur);
        if (cur.tv_sec > next.tv_sec || (cur.tv_sec == next.tv_sec && cur.tv_nsec > next.tv_nsec))
            late++;
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    double wall = now_s(CLOCK_MONOTONIC) - start;
    double prod_cpu = now_s(CLOCK_THREAD_CPUTIME_ID) - prod_cpu0;
    getrusage(RUSAGE_SELF, &ru1);
    md_recorder_info(rec, &info);
    uint64_t written = 0, dropped = 0, bytes = 0;
    for (unsigned i = 0; i < n; i++) {
        md_rec_stats_t st;
        if (md_recorder_stats(rec, ids[i], &st) == 0) {
            written += st.frames_written;
            dropped += st.frames_dropped;
            bytes += st.bytes;
        }
    }
    double io_cpu = (double)(info.io_thread_cpu_ns - io0) / 1e9;
    double proc_cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
                      (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
                      (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
                      (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;

    /* Stop everything and take the final counts from the events. */
    double s0 = now_s(CLOCK_MONOTONIC);
    for (unsigned i = 0; i < n; i++)
        md_recorder_stop(rec, ids[i]);
    unsigned ended = 0, errors = 0;
    uint64_t final_written = 0, final_dropped = 0, final_bytes = 0;
    while (ended < n && now_s(CLOCK_MONOTONIC) - s0 < 60) {
        md_rec_event_t ev;
        int got = 0;
        while (md_recorder_poll_event(rec, &ev)) {
            got = 1;
            ended++;
            errors += ev.stats.error != 0;
            final_written += ev.stats.frames_written;
            final_dropped += ev.stats.frames_dropped;
            final_bytes += ev.stats.bytes;
        }
        if (!got)
            usleep(1000);
    }
    double t_stop = now_s(CLOCK_MONOTONIC) - s0;
    md_recorder_destroy(rec);

    printf("run: %.2f s wall, %u ticks (%llu late), producer %.1f us per tick on average, "
           "%.1f us worst (%.0f ns per write), producer thread CPU %.1f%%\n",
           wall, ticks, (unsigned long long)late, tick_sum / ticks * 1e6, tick_max * 1e6,
           tick_sum / ((double)ticks * n) * 1e9, prod_cpu / wall * 100);
    printf("frames: %llu handed over, %llu refused (ring full), %llu taken by the I/O "
           "thread, %llu dropped in all; %.1f MB on disk during the run\n",
           (unsigned long long)handed, (unsigned long long)refused,
           (unsigned long long)written, (unsigned long long)dropped, bytes / 1e6);
    printf("I/O thread CPU %.1f%% of one core; whole process CPU %.1f%% (includes the "
           "producer and io_uring's kernel workers); %.2f MB/s of audio written; "
           "%llu io_uring operations in %llu submit calls\n",
           io_cpu / wall * 100, proc_cpu / wall * 100, bytes / 1e6 / wall,
           (unsigned long long)(info.sqes_submitted - sq0),
           (unsigned long long)(info.submit_calls - sub0));
    printf("stop: %u of %u recordings ended in %.2f s, %u with an error; final %llu frames, "
           "%llu dropped, %.1f MB (%s)\n",
           ended, n, t_stop, errors, (unsigned long long)final_written,
           (unsigned long long)final_dropped, final_bytes / 1e6,
           final_bytes == final_written * 160 ? "every frame taken is on disk"
                                              : "BYTES DIFFER FROM FRAMES TAKEN");
    int ok = ended == n && errors == 0 && final_bytes == final_written * 160;
    if (!keep) {
        for (unsigned i = 0; i < n; i++) {
            char p[600];
            snprintf(p, sizeof(p), "%s/r%06u.wav", dir, i);
            unlink(p);
        }
        rmdir(dir);
        rmdir(base);
    }
    free(ids);
    return ok ? 0 : 1;
}
