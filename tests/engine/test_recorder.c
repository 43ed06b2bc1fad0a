/* The recorder in one process: known content back from mono, stereo and G.711 files
 * (dsp/wav.h and sox), pause/resume, path escapes, drops when the producer outruns a
 * stalled I/O thread, stale ids, producers on several threads, a header kept valid while
 * recording, destroy with recordings open. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dsp/g711.h"
#include "dsp/wav.h"
#include "engine/recorder.h"
#include "tests/check.h"

static char dir[256];

static int16_t tone(double hz, size_t i)
{
    return (int16_t)lrint(9000.0 * sin(2.0 * M_PI * hz * (double)i / 8000.0));
}

static void frame(double hz, size_t tick, int16_t *out)
{
    for (size_t i = 0; i < 160; i++)
        out[i] = tone(hz, tick * 160 + i);
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Waits up to 10 s for the ENDED event of id (other events are kept for later). */
static md_rec_event_t saved[64];
static int nsaved;

static int wait_end(md_recorder_t *rec, md_rec_id_t id, md_rec_event_t *out)
{
    for (int t = 0; t < 10000; t++) {
        for (int i = 0; i < nsaved; i++)
            if (saved[i].id == id) {
                *out = saved[i];
                saved[i] = saved[--nsaved];
                return 0;
            }
        md_rec_event_t ev;
        while (md_recorder_poll_event(rec, &ev)) {
            if (ev.id == id) {
                *out = ev;
                return 0;
            }
            if (nsaved < 64)
                saved[nsaved++] = ev;
        }
        sleep_ms(1);
    }
    return -ETIMEDOUT;
}

/* Writes until it is queued (the ring may be briefly full). */
static void put(md_recorder_t *rec, unsigned p, md_rec_id_t id, const int16_t *l,
                const int16_t *r, unsigned n)
{
    int rc;
    while ((rc = md_recorder_write(rec, p, id, l, r, n)) == -ENOBUFS)
        sleep_ms(1);
    CHECKF(rc == 0, "write: %d", rc);
}

static char *path_of(const char *rel)
{
    static char buf[512];
    snprintf(buf, sizeof(buf), "%s/%s", dir, rel);
    return buf;
}

/* sox's view of a file: samples per channel, channels, rate. */
static int sox_info(const char *path, long *samples, int *channels, int *rate)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "sox --i -s '%s' 2>&1 && sox --i -c '%s' && sox --i -r '%s'",
             path, path, path);
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return -1;
    int ok = fscanf(f, "%ld %d %d", samples, channels, rate) == 3;
    int st = pclose(f);
    return ok && st == 0 ? 0 : -1;
}

static md_recorder_t *make(unsigned max, unsigned nprod, size_t ring_bytes, int no_openat2)
{
    /* Tests write faster than real time: a recording buffer of 1 MiB holds it all. */
    md_recorder_config_t cfg = { .dir = dir, .max_recordings = max, .n_producers = nprod,
                                 .ring_bytes = ring_bytes, .buffer_bytes = 1 << 20,
                                 .no_openat2 = no_openat2 };
    md_recorder_t *rec = NULL;
    char err[256] = "";
    int rc = md_recorder_create(&rec, &cfg, err, sizeof(err));
    CHECKF(rc == 0, "create: %d %s", rc, err);
    return rec;
}

static int16_t quant(md_wav_format_t f, int16_t s)
{
    if (f == MD_WAV_ULAW)
        return md_ulaw_decode1(md_ulaw_encode1(s));
    if (f == MD_WAV_ALAW)
        return md_alaw_decode1(md_alaw_encode1(s));
    return s;
}

/* Records `ticks` frames (stereo: left 440 Hz, right 1000 Hz, the right side missing
 * (NULL, silence) on every 7th tick), stops, checks the event, the samples read back and
 * sox's view. */
static void known_content(md_wav_format_t fmt, unsigned channels)
{
    md_recorder_t *rec = make(4, 1, 0, 0);
    char rel[64];
    snprintf(rel, sizeof(rel), "known-%s-%u.wav", md_wav_format_name(fmt), channels);
    md_rec_id_t id;
    char err[256] = "";
    int rc = md_recorder_open(rec, 0, rel, fmt, channels, &id, err, sizeof(err));
    CHECKF(rc == 0, "open %s: %d %s", rel, rc, err);
    const size_t ticks = 120;   /* 2.4 s: several flushes and header rewrites */
    int16_t l[160], r[160];
    for (size_t t = 0; t < ticks; t++) {
        frame(440, t, l);
        frame(1000, t, r);
        put(rec, 0, id, l, channels == 2 && t % 7 != 3 ? r : NULL, 160);
    }
    CHECK(md_recorder_stop(rec, id) == 0);
    CHECK(md_recorder_stop(rec, id) == -ENOENT);
    CHECK(md_recorder_write(rec, 0, id, l, NULL, 160) == -ENOENT);
    md_rec_event_t ev;
    CHECK(wait_end(rec, id, &ev) == 0);
    CHECK(ev.type == MD_REC_EV_ENDED);
    CHECKF(ev.stats.error == 0, "error %d", ev.stats.error);
    CHECK(ev.stats.frames_written == ticks);
    CHECK(ev.stats.frames_dropped == 0);
    unsigned block = channels * md_wav_sample_bytes(fmt);
    CHECKF(ev.stats.bytes == ticks * 160 * block, "bytes %llu",
           (unsigned long long)ev.stats.bytes);
    md_rec_stats_t st;
    CHECK(md_recorder_stats(rec, id, &st) == -ENOENT);
    md_recorder_destroy(rec);

    md_wav_info_t info;
    int16_t *pcm = NULL;
    rc = md_wav_read(path_of(rel), &info, &pcm, err, sizeof(err));
    CHECKF(rc == 0, "read: %s", err);
    if (rc == 0) {
        CHECK(info.format == fmt && info.channels == channels && info.rate == 8000);
        CHECKF(info.frames == ticks * 160, "frames %zu", info.frames);
        size_t bad = 0;
        for (size_t i = 0; i < info.frames && i < ticks * 160; i++) {
            size_t t = i / 160;
            int16_t wl = quant(fmt, tone(440, i));
            int16_t wr = quant(fmt, t % 7 != 3 ? tone(1000, i) : 0);
            if (channels == 1)
                bad += pcm[i] != wl;
            else
                bad += pcm[2 * i] != wl || pcm[2 * i + 1] != wr;
        }
        CHECKF(bad == 0, "%s: %zu samples differ", rel, bad);
        /* The file's size is exactly header + data (no stray bytes). */
        struct stat sb;
        CHECK(stat(path_of(rel), &sb) == 0);
        uint8_t hdr[MD_WAV_HEADER_MAX];
        size_t hlen = md_wav_header_build(hdr, fmt, 8000, channels, 0);
        CHECKF((uint64_t)sb.st_size == hlen + ticks * 160 * block, "size %lld",
               (long long)sb.st_size);
    }
    free(pcm);
    long samples;
    int ch, rate;
    CHECK(sox_info(path_of(rel), &samples, &ch, &rate) == 0);
    CHECKF(samples == (long)(ticks * 160) && ch == (int)channels && rate == 8000,
           "sox: %ld samples %d channels %d Hz", samples, ch, rate);
}

static void pause_resume(void)
{
    md_recorder_t *rec = make(2, 1, 0, 0);
    md_rec_id_t id;
    char err[256];
    CHECK(md_recorder_open(rec, 0, "pause.wav", MD_WAV_PCM16, 1, &id, err, sizeof(err)) == 0);
    int16_t a[160], b[160];
    for (int i = 0; i < 160; i++) {
        a[i] = 1000;
        b[i] = -2000;
    }
    for (int t = 0; t < 10; t++)
        put(rec, 0, id, a, NULL, 160);
    CHECK(md_recorder_pause(rec, id) == 0);
    for (int t = 0; t < 7; t++)
        CHECK(md_recorder_write(rec, 0, id, b, NULL, 160) == 0);
    CHECK(md_recorder_resume(rec, id) == 0);
    for (int t = 0; t < 10; t++)
        put(rec, 0, id, a, NULL, 160);
    md_rec_stats_t st;
    CHECK(md_recorder_stats(rec, id, &st) == 0);
    CHECK(st.frames_paused == 7);
    CHECK(md_recorder_stop(rec, id) == 0);
    md_rec_event_t ev;
    CHECK(wait_end(rec, id, &ev) == 0);
    CHECK(ev.stats.frames_written == 20 && ev.stats.frames_paused == 7 &&
          ev.stats.frames_dropped == 0 && ev.stats.error == 0);
    CHECK(md_recorder_pause(rec, id) == -ENOENT);
    md_recorder_destroy(rec);
    md_wav_info_t info;
    int16_t *pcm = NULL;
    CHECK(md_wav_read(path_of("pause.wav"), &info, &pcm, err, sizeof(err)) == 0);
    CHECK(info.frames == 20 * 160);
    size_t bad = 0;
    for (size_t i = 0; pcm && i < info.frames; i++)
        bad += pcm[i] != 1000;
    CHECK(bad == 0);
    free(pcm);
}

static void escapes(int no_openat2)
{
    md_recorder_t *rec = make(4, 1, 0, no_openat2);
    md_recorder_info_t info;
    md_recorder_info(rec, &info);
    CHECK(info.resolve_beneath == !no_openat2);
    char outside[300], link[600], rel[64];
    snprintf(outside, sizeof(outside), "%s-outside", dir);
    mkdir(outside, 0755);
    snprintf(link, sizeof(link), "%s/out%d", dir, no_openat2);
    CHECK(symlink(outside, link) == 0);
    /* A symlink that stays inside. */
    char sub[600], inlink[600];
    snprintf(sub, sizeof(sub), "%s/sub", dir);
    mkdir(sub, 0755);
    snprintf(inlink, sizeof(inlink), "%s/in%d", dir, no_openat2);
    CHECK(symlink("sub", inlink) == 0);

    md_rec_id_t id;
    char err[256];
    struct {
        const char *rel;
        int want;
    } cases[] = {
        { "../escape.wav", -EPERM },
        { "sub/../../escape.wav", -EPERM },
        { "sub/..", -EPERM },
        { "/tmp/escape.wav", -EPERM },
        { "", -EINVAL },
        { "sub/", -EINVAL },
        { "nodir/x.wav", -ENOENT },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        int rc = md_recorder_open(rec, 0, cases[i].rel, MD_WAV_PCM16, 1, &id, err, sizeof(err));
        CHECKF(rc == cases[i].want, "'%s': %d, want %d (%s)", cases[i].rel, rc, cases[i].want,
               err);
        CHECKF(err[0] != '\0', "'%s': no message", cases[i].rel);
        CHECK(id == 0);
    }
    snprintf(rel, sizeof(rel), "out%d/escape.wav", no_openat2);
    err[0] = '\0';
    int rc = md_recorder_open(rec, 0, rel, MD_WAV_PCM16, 1, &id, err, sizeof(err));
    CHECKF(rc == -EPERM, "symlink out: %d (%s)", rc, err);
    CHECK(strstr(err, rel) != NULL);
    char esc[700];
    snprintf(esc, sizeof(esc), "%s/escape.wav", outside);
    CHECK(access(esc, F_OK) != 0);
    CHECK(access("/tmp/escape.wav", F_OK) != 0);
    /* Inside symlinks are followed with openat2, refused without it. */
    snprintf(rel, sizeof(rel), "in%d/ok.wav", no_openat2);
    rc = md_recorder_open(rec, 0, rel, MD_WAV_PCM16, 1, &id, err, sizeof(err));
    CHECKF(rc == (no_openat2 ? -EPERM : 0), "inside symlink: %d (%s)", rc, err);
    if (rc == 0)
        CHECK(md_recorder_stop(rec, id) == 0);
    /* A recording never overwrites a file. */
    snprintf(rel, sizeof(rel), "sub/new%d.wav", no_openat2);
    CHECK(md_recorder_open(rec, 0, rel, MD_WAV_ALAW, 2, &id, err, sizeof(err)) == 0);
    md_rec_id_t id2;
    rc = md_recorder_open(rec, 0, rel, MD_WAV_ALAW, 2, &id2, err, sizeof(err));
    CHECKF(rc == -EEXIST, "exists: %d", rc);
    /* Bad arguments. */
    CHECK(md_recorder_open(rec, 1, "p.wav", MD_WAV_PCM16, 1, &id2, err, sizeof(err)) == -EINVAL);
    CHECK(md_recorder_open(rec, 0, "p.wav", MD_WAV_PCM16, 3, &id2, err, sizeof(err)) == -EINVAL);
    CHECK(md_recorder_open(rec, 0, "p.wav", (md_wav_format_t)2, 1, &id2, err, sizeof(err)) ==
          -EINVAL);
    int16_t z[160] = { 0 };
    CHECK(md_recorder_write(rec, 0, id, z, NULL, 161) == -EINVAL);
    CHECK(md_recorder_write(rec, 0, id, z, NULL, 0) == -EINVAL);
    CHECK(md_recorder_write(rec, 1, id, z, NULL, 160) == -EINVAL);
    CHECK(md_recorder_write(rec, 0, id ^ (1ull << 32), z, NULL, 160) == -ENOENT);
    CHECK(md_recorder_write(rec, 0, 0, z, NULL, 160) == -ENOENT);
    CHECK(md_recorder_write(rec, 0, id, z, z, 160) == 0);
    md_recorder_destroy(rec);     /* closes the open one */
    md_wav_info_t wi;
    int16_t *pcm = NULL;
    CHECK(md_wav_read(path_of(rel), &wi, &pcm, err, sizeof(err)) == 0);
    CHECK(wi.frames == 160 && wi.channels == 2 && wi.format == MD_WAV_ALAW);
    free(pcm);
}

/* The producer outruns a stalled I/O thread: the ring fills, frames are refused with
 * -ENOBUFS and counted, and the file has exactly the frames that were queued. */
static void drops(void)
{
    md_recorder_t *rec = make(2, 1, 8192, 0);
    md_rec_id_t id;
    char err[256];
    CHECK(md_recorder_open(rec, 0, "drops.wav", MD_WAV_ULAW, 1, &id, err, sizeof(err)) == 0);
    sleep_ms(20);
    md_recorder_test_stall(rec, 1);
    sleep_ms(20);
    int16_t f[160];
    unsigned queued = 0, dropped = 0;
    for (int t = 0; t < 100; t++) {
        frame(300, (size_t)t, f);
        int rc = md_recorder_write(rec, 0, id, f, NULL, 160);
        if (rc == 0)
            queued++;
        else if (rc == -ENOBUFS)
            dropped++;
        else
            CHECKF(0, "write: %d", rc);
    }
    CHECKF(queued > 0 && queued < 30 && dropped == 100 - queued, "queued %u dropped %u",
           queued, dropped);
    md_rec_stats_t st;
    CHECK(md_recorder_stats(rec, id, &st) == 0);
    CHECK(st.frames_dropped == dropped);
    md_recorder_test_stall(rec, 0);
    CHECK(md_recorder_stop(rec, id) == 0);
    md_rec_event_t ev;
    CHECK(wait_end(rec, id, &ev) == 0);
    CHECK(ev.stats.frames_written == queued && ev.stats.frames_dropped == dropped);
    CHECK(ev.stats.bytes == queued * 160u);
    md_recorder_destroy(rec);
    md_wav_info_t wi;
    int16_t *pcm = NULL;
    CHECK(md_wav_read(path_of("drops.wav"), &wi, &pcm, err, sizeof(err)) == 0);
    CHECK(wi.frames == queued * 160u);
    free(pcm);
}

/* Several producer threads, several recordings each, concurrently. */
typedef struct {
    md_recorder_t *rec;
    unsigned p;
    md_rec_id_t ids[4];
} prod_arg_t;

static void *producer(void *arg)
{
    prod_arg_t *a = arg;
    int16_t l[160], r[160];
    for (size_t t = 0; t < 150; t++) {
        for (unsigned k = 0; k < 4; k++) {
            frame(200 + 100 * (a->p * 4 + k), t, l);
            frame(3000, t, r);
            int rc;
            while ((rc = md_recorder_write(a->rec, a->p, a->ids[k], l, k & 1 ? r : NULL,
                                           160)) == -ENOBUFS)
                sched_yield();
            if (rc != 0)
                return (void *)1;
        }
    }
    return NULL;
}

static void threads(void)
{
    md_recorder_t *rec = make(16, 3, 16384, 0);
    prod_arg_t args[3];
    char err[256], rel[64];
    for (unsigned p = 0; p < 3; p++) {
        args[p].rec = rec;
        args[p].p = p;
        for (unsigned k = 0; k < 4; k++) {
            snprintf(rel, sizeof(rel), "thr-%u-%u.wav", p, k);
            int rc = md_recorder_open(rec, p, rel, k & 1 ? MD_WAV_PCM16 : MD_WAV_ULAW,
                                      k & 1 ? 2 : 1, &args[p].ids[k], err, sizeof(err));
            CHECKF(rc == 0, "%s: %s", rel, err);
        }
    }
    pthread_t th[3];
    for (unsigned p = 0; p < 3; p++)
        pthread_create(&th[p], NULL, producer, &args[p]);
    for (unsigned p = 0; p < 3; p++) {
        void *ret;
        pthread_join(th[p], &ret);
        CHECK(ret == NULL);
    }
    /* Recordings 0 and 1 of each producer are stopped; destroy ends the others. */
    for (unsigned p = 0; p < 3; p++)
        for (unsigned k = 0; k < 2; k++) {
            CHECK(md_recorder_stop(rec, args[p].ids[k]) == 0);
            md_rec_event_t ev;
            CHECK(wait_end(rec, args[p].ids[k], &ev) == 0);
            CHECK(ev.stats.frames_written == 150 && ev.stats.error == 0);
        }
    md_recorder_destroy(rec);
    for (unsigned p = 0; p < 3; p++)
        for (unsigned k = 0; k < 4; k++) {
            snprintf(rel, sizeof(rel), "thr-%u-%u.wav", p, k);
            md_wav_info_t wi;
            int16_t *pcm = NULL;
            int rc = md_wav_read(path_of(rel), &wi, &pcm, err, sizeof(err));
            CHECKF(rc == 0 && wi.frames == 150 * 160, "%s: %d %zu", rel, rc, wi.frames);
            size_t bad = 0;
            md_wav_format_t fmt = k & 1 ? MD_WAV_PCM16 : MD_WAV_ULAW;
            for (size_t i = 0; rc == 0 && i < wi.frames; i++) {
                int16_t want = quant(fmt, tone(200 + 100 * (p * 4 + k), i));
                bad += pcm[i * wi.channels] != want;
                if (wi.channels == 2)
                    bad += pcm[2 * i + 1] != tone(3000, i);
            }
            CHECKF(bad == 0, "%s: %zu bad samples", rel, bad);
            free(pcm);
        }
}

/* While a recording runs, the file on disk is a valid WAV whose header covers all but
 * the last flush interval; the eventfd signals the end. */
static void live_header(void)
{
    md_recorder_t *rec = make(2, 1, 0, 0);
    md_rec_id_t id;
    char err[256];
    CHECK(md_recorder_open(rec, 0, "live.wav", MD_WAV_PCM16, 2, &id, err, sizeof(err)) == 0);
    int16_t l[160], r[160];
    for (size_t t = 0; t < 100; t++) {   /* 2 s of audio at once */
        frame(500, t, l);
        frame(700, t, r);
        put(rec, 0, id, l, r, 160);
    }
    sleep_ms(800);   /* more than flush_ms (500) of wall time */
    md_wav_info_t wi;
    int16_t *pcm = NULL;
    int rc = md_wav_read(path_of("live.wav"), &wi, &pcm, err, sizeof(err));
    CHECKF(rc == 0, "live read: %s", err);
    CHECKF(wi.frames == 100 * 160, "live: %zu frames in the header's view", wi.frames);
    free(pcm);
    long samples;
    int ch, rate;
    CHECK(sox_info(path_of("live.wav"), &samples, &ch, &rate) == 0);
    CHECKF(samples == 100 * 160, "sox live: %ld", samples);
    md_rec_stats_t st;
    CHECK(md_recorder_stats(rec, id, &st) == 0);
    CHECK(st.bytes == 100 * 160 * 4);
    /* The event fd becomes readable at the end. */
    struct pollfd pfd = { md_recorder_event_fd(rec), POLLIN, 0 };
    CHECK(poll(&pfd, 1, 0) == 0);
    CHECK(md_recorder_stop(rec, id) == 0);
    CHECK(poll(&pfd, 1, 5000) == 1);
    md_rec_event_t ev;
    CHECK(md_recorder_poll_event(rec, &ev) == 1 && ev.id == id && ev.stats.error == 0);
    md_recorder_info_t info;
    md_recorder_info(rec, &info);
    printf("recorder: fixed buffers %d, fixed files %d, openat2 %d, %llu sqes in %llu "
           "submits\n", info.fixed_buffers, info.fixed_files, info.resolve_beneath,
           (unsigned long long)info.sqes_submitted, (unsigned long long)info.submit_calls);
    md_recorder_destroy(rec);
}

/* Slots are reused only after the event was read; a stale id never reaches the new
 * recording. */
static void reuse(void)
{
    md_recorder_t *rec = make(1, 1, 0, 0);
    md_rec_id_t id1, id2;
    char err[256];
    CHECK(md_recorder_open(rec, 0, "reuse1.wav", MD_WAV_PCM16, 1, &id1, err, sizeof(err)) == 0);
    CHECK(md_recorder_open(rec, 0, "reuse2.wav", MD_WAV_PCM16, 1, &id2, err, sizeof(err)) ==
          -ENOSPC);
    CHECK(md_recorder_stop(rec, id1) == 0);
    sleep_ms(50);
    /* Ended, but the event is unread: the slot is still taken. */
    CHECK(md_recorder_open(rec, 0, "reuse2.wav", MD_WAV_PCM16, 1, &id2, err, sizeof(err)) ==
          -ENOSPC);
    md_rec_event_t ev;
    CHECK(wait_end(rec, id1, &ev) == 0);
    sleep_ms(20);
    CHECK(md_recorder_open(rec, 0, "reuse2.wav", MD_WAV_PCM16, 1, &id2, err, sizeof(err)) == 0);
    CHECK(id2 != id1 && (uint32_t)id2 == (uint32_t)id1);
    int16_t z[160] = { 0 };
    CHECK(md_recorder_write(rec, 0, id1, z, NULL, 160) == -ENOENT);
    CHECK(md_recorder_write(rec, 0, id2, z, NULL, 160) == 0);
    md_recorder_destroy(rec);
    md_wav_info_t wi;
    int16_t *pcm = NULL;
    CHECK(md_wav_read(path_of("reuse1.wav"), &wi, &pcm, err, sizeof(err)) == 0 &&
          wi.frames == 0);
    free(pcm);
    CHECK(md_wav_read(path_of("reuse2.wav"), &wi, &pcm, err, sizeof(err)) == 0 &&
          wi.frames == 160);
    free(pcm);
}

static void bad_create(void)
{
    md_recorder_t *rec = NULL;
    char err[256] = "";
    md_recorder_config_t cfg = { .dir = "/nonexistent/recordings", .max_recordings = 1,
                                 .n_producers = 1 };
    CHECK(md_recorder_create(&rec, &cfg, err, sizeof(err)) == -ENOENT && rec == NULL);
    CHECK(strstr(err, "/nonexistent/recordings") != NULL);
    cfg.dir = dir;
    cfg.n_producers = 0;
    CHECK(md_recorder_create(&rec, &cfg, err, sizeof(err)) == -EINVAL);
    md_recorder_destroy(NULL);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/md-rec-test-%d", (int)getpid());
    if (mkdir(dir, 0755) != 0) {
        perror(dir);
        return 1;
    }
    bad_create();
    known_content(MD_WAV_PCM16, 1);
    known_content(MD_WAV_PCM16, 2);
    known_content(MD_WAV_ULAW, 1);
    known_content(MD_WAV_ULAW, 2);
    known_content(MD_WAV_ALAW, 1);
    known_content(MD_WAV_ALAW, 2);
    pause_resume();
    escapes(0);
    escapes(1);
    drops();
    threads();
    live_header();
    reuse();
    int rc = check_summary("recorder");
    if (rc == 0) {
        char cmd[700];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s-outside'", dir, dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    } else {
        fprintf(stderr, "files left in %s\n", dir);
    }
    return rc;
}
