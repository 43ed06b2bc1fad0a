/* A process around the recorder for tests/engine/test_recorder.sh.
 *
 *   recorder_tool record DIR REL FORMAT CHANNELS SECONDS
 *       records a known tone at real time (one 20 ms frame per tick) and prints the
 *       number of samples per channel handed over after every tick; SIGTERM or SIGINT
 *       stops it cleanly (md_recorder_destroy) and it prints "final N".
 *   recorder_tool check FILE FORMAT CHANNELS
 *       reads FILE with dsp/wav.h, checks the format and that its audio is a prefix of
 *       what `record` writes, prints the samples per channel.
 *   recorder_tool fill DIR FULLSUB OTHERSUB
 *       one recorder on DIR, a stereo PCM16 recording in FULLSUB (a small file system)
 *       and one in OTHERSUB, both fed as fast as they are taken until the first ends
 *       with an error; checks that error is -ENOSPC, that its file is valid up to the
 *       bytes the event reports, and that the other recording goes on unaffected.
 * Format names: pcm16, ulaw, alaw. Exit 0 on success, 1 on failure, 2 on usage. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dsp/g711.h"
#include "dsp/wav.h"
#include "engine/recorder.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int16_t tone(double hz, size_t i)
{
    return (int16_t)lrint(9000.0 * sin(2.0 * M_PI * hz * (double)i / 8000.0));
}

static int parse_format(const char *s, md_wav_format_t *f)
{
    if (strcmp(s, "pcm16") == 0)
        *f = MD_WAV_PCM16;
    else if (strcmp(s, "ulaw") == 0)
        *f = MD_WAV_ULAW;
    else if (strcmp(s, "alaw") == 0)
        *f = MD_WAV_ALAW;
    else
        return -1;
    return 0;
}

static int16_t quant(md_wav_format_t f, int16_t s)
{
    if (f == MD_WAV_ULAW)
        return md_ulaw_decode1(md_ulaw_encode1(s));
    if (f == MD_WAV_ALAW)
        return md_alaw_decode1(md_alaw_encode1(s));
    return s;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int record(const char *dir, const char *rel, md_wav_format_t fmt, unsigned channels,
                  double seconds)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    md_recorder_config_t cfg = { .dir = dir, .max_recordings = 4, .n_producers = 1 };
    md_recorder_t *rec;
    char err[256];
    if (md_recorder_create(&rec, &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    md_rec_id_t id;
    if (md_recorder_open(rec, 0, rel, fmt, channels, &id, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        md_recorder_destroy(rec);
        return 1;
    }
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    size_t ticks = (size_t)(seconds * 50), done = 0;
    int16_t l[160], r[160];
    while (!stop_flag && done < ticks) {
        for (size_t i = 0; i < 160; i++) {
            l[i] = tone(440, done * 160 + i);
            r[i] = tone(1000, done * 160 + i);
        }
        int rc = md_recorder_write(rec, 0, id, l, channels == 2 ? r : NULL, 160);
        if (rc != 0) {
            fprintf(stderr, "write: %s\n", strerror(-rc));
            md_recorder_destroy(rec);
            return 1;
        }
        done++;
        printf("%zu\n", done * 160);
        fflush(stdout);
        next.tv_nsec += 20000000;
        if (next.tv_nsec >= 1000000000) {
            next.tv_nsec -= 1000000000;
            next.tv_sec++;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR &&
               !stop_flag) {
        }
    }
    md_rec_stats_t st;
    md_recorder_stats(rec, id, &st);
    md_recorder_destroy(rec);
    printf("final %zu dropped %llu\n", done * 160, (unsigned long long)st.frames_dropped);
    return st.frames_dropped == 0 ? 0 : 1;
}

static int check(const char *path, md_wav_format_t fmt, unsigned channels)
{
    md_wav_info_t info;
    int16_t *pcm = NULL;
    char err[256];
    if (md_wav_read(path, &info, &pcm, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (info.format != fmt || info.channels != channels || info.rate != 8000) {
        fprintf(stderr, "%s: format %s, %u channels, %u Hz\n", path,
                md_wav_format_name(info.format), info.channels, info.rate);
        free(pcm);
        return 1;
    }
    size_t bad = 0;
    for (size_t i = 0; i < info.frames; i++) {
        bad += pcm[i * channels] != quant(fmt, tone(440, i));
        if (channels == 2)
            bad += pcm[2 * i + 1] != quant(fmt, tone(1000, i));
    }
    free(pcm);
    if (bad) {
        fprintf(stderr, "%s: %zu samples differ from what was recorded\n", path, bad);
        return 1;
    }
    printf("%zu\n", info.frames);
    return 0;
}

static int fill(const char *dir, const char *fullsub, const char *othersub)
{
    md_recorder_config_t cfg = { .dir = dir, .max_recordings = 4, .n_producers = 1,
                                 .buffer_bytes = 1 << 20 };
    md_recorder_t *rec;
    char err[256], rel_a[256], rel_b[256];
    if (md_recorder_create(&rec, &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    snprintf(rel_a, sizeof(rel_a), "%s/full.wav", fullsub);
    snprintf(rel_b, sizeof(rel_b), "%s/other.wav", othersub);
    md_rec_id_t a, b;
    if (md_recorder_open(rec, 0, rel_a, MD_WAV_PCM16, 2, &a, err, sizeof(err)) != 0 ||
        md_recorder_open(rec, 0, rel_b, MD_WAV_PCM16, 2, &b, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        md_recorder_destroy(rec);
        return 1;
    }
    int16_t l[160], r[160];
    size_t t = 0, a_ticks = 0, after = 0;
    int a_live = 1, failed = 0;
    md_rec_event_t ev_a, ev_b, ev;
    memset(&ev_a, 0, sizeof(ev_a));
    memset(&ev_b, 0, sizeof(ev_b));
    int have_a = 0, have_b = 0;
    /* Until A has ended, and 200 ticks more for B; at most 60 s of audio. */
    while ((a_live || after < 200) && t < 3000) {
        for (size_t i = 0; i < 160; i++) {
            l[i] = tone(440, t * 160 + i);
            r[i] = tone(1000, t * 160 + i);
        }
        for (int k = 0; k < 2; k++) {
            if (k == 0 && !a_live)
                continue;
            int rc;
            while ((rc = md_recorder_write(rec, 0, k ? b : a, l, r, 160)) == -ENOBUFS)
                sleep_ms(1);
            if (k == 0 && rc == -ENOENT) {
                a_live = 0;     /* ended by the error */
                continue;
            }
            if (rc != 0) {
                fprintf(stderr, "write %c: %s\n", k ? 'B' : 'A', strerror(-rc));
                failed = 1;
            }
            if (k == 0)
                a_ticks++;
        }
        if (!a_live)
            after++;
        t++;
        if (t % 10 == 0)
            sleep_ms(1);     /* about 10x real time: the I/O thread keeps up */
        while (md_recorder_poll_event(rec, &ev)) {
            if (ev.id == a) {
                ev_a = ev;
                have_a = 1;
            } else {
                fprintf(stderr, "unexpected event for B: %d\n", ev.stats.error);
                failed = 1;
            }
        }
    }
    md_rec_stats_t st_b;
    if (md_recorder_stats(rec, b, &st_b) != 0 || st_b.error != 0) {
        fprintf(stderr, "B is not running\n");
        failed = 1;
    }
    md_recorder_stop(rec, b);
    for (int i = 0; i < 5000 && !(have_a && have_b); i++) {
        while (md_recorder_poll_event(rec, &ev)) {
            if (ev.id == a) {
                ev_a = ev;
                have_a = 1;
            } else if (ev.id == b) {
                ev_b = ev;
                have_b = 1;
            }
        }
        sleep_ms(1);
    }
    md_recorder_destroy(rec);
    if (!have_a || !have_b) {
        fprintf(stderr, "missing events: A %d B %d\n", have_a, have_b);
        return 1;
    }
    printf("A: error %d (%s), %llu frames taken, %llu bytes on disk, %llu dropped\n",
           ev_a.stats.error, strerror(-ev_a.stats.error),
           (unsigned long long)ev_a.stats.frames_written, (unsigned long long)ev_a.stats.bytes,
           (unsigned long long)ev_a.stats.frames_dropped);
    printf("B: error %d, %llu frames taken (%zu handed over), %llu bytes, %llu dropped\n",
           ev_b.stats.error, (unsigned long long)ev_b.stats.frames_written, t,
           (unsigned long long)ev_b.stats.bytes, (unsigned long long)ev_b.stats.frames_dropped);
    if (ev_a.stats.error != -ENOSPC) {
        fprintf(stderr, "A: expected -ENOSPC\n");
        failed = 1;
    }
    if (ev_b.stats.error != 0 || ev_b.stats.frames_written != t ||
        ev_b.stats.frames_dropped != 0 || ev_b.stats.bytes != t * 640) {
        fprintf(stderr, "B was affected\n");
        failed = 1;
    }
    (void)a_ticks;
    /* A's file: valid, exactly the bytes the event reports, the right audio. */
    char path[600];
    md_wav_info_t info;
    int16_t *pcm = NULL;
    snprintf(path, sizeof(path), "%s/%s", dir, rel_a);
    if (md_wav_read(path, &info, &pcm, err, sizeof(err)) != 0) {
        fprintf(stderr, "A: %s\n", err);
        return 1;
    }
    free(pcm);
    if (info.frames * 4 != ev_a.stats.bytes - ev_a.stats.bytes % 4 || info.frames == 0) {
        fprintf(stderr, "A: file has %zu frames, event says %llu bytes\n", info.frames,
                (unsigned long long)ev_a.stats.bytes);
        failed = 1;
    }
    if (check(path, MD_WAV_PCM16, 2) != 0)
        failed = 1;
    snprintf(path, sizeof(path), "%s/%s", dir, rel_b);
    if (check(path, MD_WAV_PCM16, 2) != 0)
        failed = 1;
    return failed;
}

int main(int argc, char **argv)
{
    md_wav_format_t fmt;
    if (argc == 7 && strcmp(argv[1], "record") == 0 && parse_format(argv[4], &fmt) == 0)
        return record(argv[2], argv[3], fmt, (unsigned)atoi(argv[5]), atof(argv[6]));
    if (argc == 5 && strcmp(argv[1], "check") == 0 && parse_format(argv[3], &fmt) == 0)
        return check(argv[2], fmt, (unsigned)atoi(argv[4]));
    if (argc == 5 && strcmp(argv[1], "fill") == 0)
        return fill(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: recorder_tool record DIR REL FORMAT CHANNELS SECONDS | "
                    "check FILE FORMAT CHANNELS | fill DIR FULLSUB OTHERSUB\n");
    return 2;
}
