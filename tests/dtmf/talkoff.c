/* Talk-off: false DTMF digits on speech and music, medley's detector against SpanDSP's
 * on the same material.
 *
 *   dtmf-talkoff SPEECH_DIR [MUSIC_MINUTES] [REPORT_FILE]
 *
 * Speech: every *.raw file in SPEECH_DIR (8 kHz mono int16, made by talkoff-speech.sh
 * with espeak-ng: several languages and voices, Mandarin included), each scaled so its
 * active speech sits at -30, -20, -10 and 0 dBm0.
 * Music: equal-tempered notes (A4 = 440 Hz) in random melodies, intervals and chords,
 * 50-500 ms each, in three timbres (sine, soft harmonics, band-limited sawtooth), at
 * -25 to -5 dBm0. A sounding pair of notes within 1.5% of a DTMF row and column is a real
 * digit: a detection while one sounds is not counted. Everything else detected is a
 * false hit. Exit 0 if medley has no more false hits than SpanDSP in total. */
#include <dirent.h>
#include <math.h>
#include <spandsp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/dtmf.h"

#define RATE 8000
#define FRAME 160

static const double row_hz[4] = { 697, 770, 852, 941 };
static const double col_hz[4] = { 1209, 1336, 1477, 1633 };

static uint64_t rng = 0x2545F4914F6CDD1Dull;

static double urand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* ---- the two detectors, reporting digit start times in samples ---- */

#define MAX_HITS 100000

typedef struct {
    long at[MAX_HITS];
    int n;
    long pos;   /* samples fed so far (SpanDSP reports without a time) */
} hits_t;

static void spandsp_cb(void *user, const char *digits, int len)
{
    hits_t *h = user;
    (void)digits;
    for (int i = 0; i < len && h->n < MAX_HITS; i++)
        h->at[h->n++] = h->pos;
}

static void run_spandsp(const int16_t *x, long n, hits_t *h)
{
    static int16_t silence[1600];
    h->n = 0;
    h->pos = 0;
    dtmf_rx_state_t *s = dtmf_rx_init(NULL, spandsp_cb, h);
    dtmf_rx_parms(s, 1, -1, -1, -99);   /* as in the Q.24 battery */
    for (long off = 0; off < n; off += FRAME) {
        int m = n - off < FRAME ? (int)(n - off) : FRAME;
        h->pos = off;
        dtmf_rx(s, x + off, m);
    }
    h->pos = n;
    dtmf_rx(s, silence, 1600);
    dtmf_rx_free(s);
}

static void run_medley(const int16_t *x, long n, hits_t *h)
{
    md_dtmf_rx_t rx;
    md_dtmf_event_t ev;
    h->n = 0;
    md_dtmf_rx_init(&rx);
    for (long off = 0; off <= n; off += FRAME) {
        if (off < n)
            md_dtmf_rx_process1(&rx, x + off, (unsigned)(n - off < FRAME ? n - off : FRAME),
                                md_cpu_default_isa());
        else
            md_dtmf_rx_flush(&rx);
        while (md_dtmf_rx_event(&rx, &ev))
            if (ev.kind == MD_DTMF_BEGIN && h->n < MAX_HITS)
                h->at[h->n++] = (long)ev.start;
    }
}

/* ---- material ---- */

typedef struct {
    int16_t *x;
    long n;
    uint8_t *real;   /* per 10 ms: a real DTMF note pair sounds */
} material_t;

static void material_alloc(material_t *m, long n)
{
    m->x = calloc((size_t)n, sizeof(int16_t));
    m->real = calloc((size_t)(n / 80 + 1), 1);
    m->n = n;
}

/* False hits: detections not within 60 ms of a stretch where a real pair sounds. */
static int count_false(const material_t *m, const hits_t *h)
{
    int f = 0;
    for (int i = 0; i < h->n; i++) {
        long c = h->at[i] / 80;
        int real = 0;
        for (long k = c - 6; k <= c + 6; k++)
            if (k >= 0 && k <= m->n / 80 && m->real[k])
                real = 1;
        f += !real;
    }
    return f;
}

static long speech_load(const char *dir, material_t *m)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    int16_t *all = NULL;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".raw") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (f == NULL)
            continue;
        fseek(f, 0, SEEK_END);
        long bytes = ftell(f);
        fseek(f, 0, SEEK_SET);
        long k = bytes / 2;
        int16_t *part = malloc((size_t)k * sizeof(int16_t) + 1);
        if (part == NULL || fread(part, sizeof(int16_t), (size_t)k, f) != (size_t)k) {
            free(part);
            fclose(f);
            continue;
        }
        fclose(f);
        /* Active speech level: RMS over the 20 ms frames within 30 dB of the loudest. */
        double peak = 0;
        for (long i = 0; i + FRAME <= k; i += FRAME) {
            double s = 0;
            for (int j = 0; j < FRAME; j++)
                s += (double)part[i + j] * part[i + j];
            peak = s > peak ? s : peak;
        }
        double act = 0;
        long frames = 0;
        for (long i = 0; i + FRAME <= k; i += FRAME) {
            double s = 0;
            for (int j = 0; j < FRAME; j++)
                s += (double)part[i + j] * part[i + j];
            if (s > peak / 1000) {
                act += s;
                frames++;
            }
        }
        double rms = frames ? sqrt(act / (frames * FRAME)) : 0;
        if (rms > 0) {
            /* Four copies at -30, -20, -10, 0 dBm0 (0 dBm0 RMS = 32767 * 10^(-3.14/20) / sqrt 2). */
            all = realloc(all, (size_t)(n + 4 * k) * sizeof(int16_t));
            for (int lv = 0; lv < 4; lv++) {
                double target = 32767.0 * pow(10.0, (-30.0 + 10 * lv - 3.14) / 20.0) / sqrt(2.0);
                double g = target / rms;
                for (long i = 0; i < k; i++) {
                    double v = part[i] * g;
                    all[n + i] = (int16_t)(v > 32767 ? 32767 : (v < -32768 ? -32768 : lrint(v)));
                }
                n += k;
            }
        }
        free(part);
    }
    closedir(d);
    material_alloc(m, n ? n : 1);
    if (n)
        memcpy(m->x, all, (size_t)n * sizeof(int16_t));
    m->n = n;
    free(all);
    return n;
}

static int near_any(double f, const double *set)
{
    for (int i = 0; i < 4; i++)
        if (fabs(f / set[i] - 1.0) <= 0.015)
            return 1;
    return 0;
}

/* One timbre of music, seconds long. */
static void music_make(material_t *m, int timbre, double seconds)
{
    long n = (long)(seconds * RATE);
    material_alloc(m, n);
    double *buf = calloc((size_t)n, sizeof(double));
    long t = 0;
    while (t < n) {
        long len = (long)((0.05 + 0.45 * urand()) * RATE);
        int voices = 1 + (int)(urand() * 3);
        int base = 48 + (int)(urand() * 40);   /* C3 .. E6 */
        double level = -25 + 20 * urand();
        double notes[3];
        for (int v = 0; v < voices; v++) {
            int midi = base + (v == 0 ? 0 : (int)(urand() * 24));
            notes[v] = 440.0 * pow(2.0, (midi - 69) / 12.0);
        }
        int real = 0;
        for (int a = 0; a < voices; a++)
            for (int b = 0; b < voices; b++)
                if (a != b && near_any(notes[a], row_hz) && near_any(notes[b], col_hz))
                    real = 1;
        double amp = 32767.0 * pow(10.0, (level - 3.14) / 20.0);
        for (int v = 0; v < voices; v++) {
            double f = notes[v], ph = urand() * 2 * M_PI;
            int harmonics = timbre == 0 ? 1 : (timbre == 1 ? 4 : (int)(3800 / f));
            for (int h = 1; h <= harmonics; h++) {
                double a = timbre == 1 ? amp * pow(0.5, h - 1) : amp / h * (timbre == 2 ? 0.6 : 1);
                if (f * h >= 3900)
                    break;
                double w = 2 * M_PI * f * h / RATE;
                for (long i = 0; i < len && t + i < n; i++) {
                    /* 5 ms attack and release, as an instrument would */
                    double env = 1.0;
                    if (i < 40)
                        env = i / 40.0;
                    else if (len - i < 40)
                        env = (len - i) / 40.0;
                    buf[t + i] += a * env * sin(w * i + ph * h);
                }
            }
        }
        if (real)
            for (long i = t / 80; i <= (t + len) / 80 && i <= n / 80; i++)
                m->real[i] = 1;
        t += len + (urand() < 0.3 ? (long)(urand() * 0.2 * RATE) : 0);
    }
    for (long i = 0; i < n; i++) {
        double v = buf[i];
        m->x[i] = (int16_t)(v > 32767 ? 32767 : (v < -32768 ? -32768 : lrint(v)));
    }
    free(buf);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: dtmf-talkoff SPEECH_DIR [MUSIC_MINUTES] [REPORT_FILE]\n");
        return 2;
    }
    double music_minutes = argc > 2 ? atof(argv[2]) : 20;
    FILE *report = argc > 3 ? fopen(argv[3], "w") : NULL;
    static hits_t h;
    const char *names[4] = { "speech", "music-sine", "music-harmonic", "music-sawtooth" };
    int ours_total = 0, theirs_total = 0;
    double hours_total = 0;

    printf("%-16s %9s %14s %14s %9s %9s\n", "material", "hours", "medley false", "SpanDSP false",
           "medley/h", "SpanDSP/h");
    for (int cat = 0; cat < 4; cat++) {
        material_t m;
        if (cat == 0) {
            if (speech_load(argv[1], &m) == 0) {
                printf("%-16s no speech in %s (espeak-ng missing?), skipped\n", names[0], argv[1]);
                continue;
            }
        } else {
            music_make(&m, cat - 1, music_minutes * 60);
        }
        double hours = m.n / (double)RATE / 3600.0;
        run_medley(m.x, m.n, &h);
        int ours = count_false(&m, &h);
        run_spandsp(m.x, m.n, &h);
        int theirs = count_false(&m, &h);
        char line[200];
        snprintf(line, sizeof(line), "%-16s %9.3f %14d %14d %9.1f %9.1f\n", names[cat], hours, ours,
                 theirs, ours / hours, theirs / hours);
        fputs(line, stdout);
        if (report)
            fputs(line, report);
        ours_total += ours;
        theirs_total += theirs;
        hours_total += hours;
        free(m.x);
        free(m.real);
    }
    char line[200];
    snprintf(line, sizeof(line), "%-16s %9.3f %14d %14d %9.1f %9.1f\n", "total", hours_total,
             ours_total, theirs_total, ours_total / hours_total, theirs_total / hours_total);
    fputs(line, stdout);
    if (report) {
        fputs(line, report);
        fclose(report);
    }
    if (ours_total > theirs_total) {
        printf("medley has more false hits than SpanDSP\n");
        return 1;
    }
    return 0;
}
