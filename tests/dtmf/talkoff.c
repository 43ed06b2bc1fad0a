/* Talk-off: false DTMF digits on speech and music, medley's detector against SpanDSP's
 * on exactly the same samples.
 *
 *   dtmf-talkoff [--speech DIR] [--music-minutes M] [--report FILE] [--seed N]
 *                [--codec linear|ulaw|alaw] [--spandsp-parms F T R L] [--verbose]
 *
 * Speech: every *.raw file in DIR (8 kHz mono signed 16-bit native-endian, as
 * talkoff.sh makes them with espeak-ng and sox), each played at -30, -20, -10 and 0 dBm0
 * of active speech level (the RMS over the 20 ms frames within 30 dB of the loudest one).
 * Without --speech, speech is skipped (and said so).
 *
 * Music: M minutes (default 20) of each of three timbres - sine, soft harmonics (five
 * harmonics, each 6 dB below the previous), band-limited sawtooth - made of equal-tempered
 * notes (A4 = 440 Hz, A2 to C7) in random melodies, two-note intervals, chords and
 * melodies over a held bass note, 50 to 500 ms per note, at -25 to -5 dBm0 per note.
 * While two sounding notes are within 1.5% of a DTMF row and a DTMF column frequency the
 * music holds a real digit: a detection within 60 ms of such a stretch is not counted.
 * Every other detection is a false hit.
 *
 * Prints (and writes to FILE) false hits and false hits per hour per category and in
 * total. Exit 0 if medley has no more false hits than SpanDSP in total and in every
 * category where SpanDSP has any; 1 if it has more; 2 for bad arguments or input. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dsp/g711.h"
#include "tests/dtmf/detectors.h"
#include "tests/dtmf/siggen.h"

#define RATE 8000
#define SLOT 80                       /* samples per 10 ms slot of the real-digit mask */
#define GUARD_SLOTS 6                 /* 60 ms either side of a real digit */
#define PIECE_SECONDS 60              /* music is made and run a minute at a time */
#define PIECE (PIECE_SECONDS * RATE)
#define MAX_FILE_SAMPLES (RATE * 600) /* a speech file longer than 10 minutes is refused */
#define MAX_HITS 4096                 /* per run of one file or piece */

enum { CAT_SPEECH, CAT_SINE, CAT_HARMONIC, CAT_SAW, CATS };
static const char *const cat_name[CATS] = { "speech", "music-sine", "music-harmonic", "music-saw" };

typedef struct {
    double hours;
    long ours, theirs;       /* false hits */
    long ours_real, theirs_real;   /* detections of real digits (music), not counted */
    long ours_partial, theirs_partial;   /* false hits (music) where two of the notes'
                                            partials make a DTMF pair: see partial_pair() */
} tally_t;

static tally_t tally[CATS];
static det_cfg_t medley_cfg = { .kind = DET_MEDLEY, .frame = 160 };
static det_cfg_t spandsp_cfg = { .kind = DET_SPANDSP, .frame = 160 };
static sg_codec_t codec = SG_LINEAR;
static uint64_t rng = 0x2545F4914F6CDD1Dull;
static int verbose;
static int cur_timbre = -1;          /* music timbre being run, -1 for speech */
static int partial_pair(long t);
static void print_notes(long t);
static const char *level_now = "";   /* what is being played, for --verbose */

static double urand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* ---- running both detectors ---- */

static char hit_digit[MAX_HITS];
static long hit_start[MAX_HITS], hit_end[MAX_HITS], hit_rep[MAX_HITS];
static det_result_t hits = { .digit = hit_digit, .start = hit_start, .end = hit_end,
                             .reported = hit_rep, .cap = MAX_HITS };

static int16_t pcm[MAX_FILE_SAMPLES > PIECE ? MAX_FILE_SAMPLES : PIECE];

/* Is sample t within GUARD_SLOTS of a slot where real is set? (real may be NULL.) */
static int near_real(const uint8_t *real, long n, long t)
{
    if (real == NULL)
        return 0;
    long c = t / SLOT, last = (n - 1) / SLOT;
    for (long k = c - GUARD_SLOTS; k <= c + GUARD_SLOTS; k++)
        if (k >= 0 && k <= last && real[k])
            return 1;
    return 0;
}

/* Runs one detector over pcm[0..n) and counts its false and real detections. A digit is
 * placed at its start where the detector says it, else where it was reported (SpanDSP
 * reports within a frame or two of a digit's recognition, well inside the guard). */
static int count(const det_cfg_t *cfg, long n, const uint8_t *real, long *false_hits,
                 long *real_hits, long *partial_hits, const char *what)
{
    int rc = det_run(cfg, pcm, n, &hits);
    if (rc != 0) {
        fprintf(stderr, "dtmf-talkoff: %s on %s: error %d\n", det_kind_name(cfg->kind), what, rc);
        return rc;
    }
    if (hits.dropped)
        fprintf(stderr, "dtmf-talkoff: %s on %s: more than %d digits, the rest counted only\n",
                det_kind_name(cfg->kind), what, MAX_HITS);
    for (int i = 0; i < hits.n; i++) {
        long t = hits.start[i] >= 0 ? hits.start[i] : hits.reported[i];
        if (near_real(real, n, t)) {
            (*real_hits)++;
        } else {
            (*false_hits)++;
            int pp = cur_timbre >= 0 && partial_pair(t);
            *partial_hits += pp;
            if (verbose)
                printf("  false digit: %-7s '%c' at %7.3f s (to %.3f s) in %s%s%s\n",
                       det_kind_name(cfg->kind), hits.digit[i], t / (double)RATE,
                       hits.end[i] >= 0 ? hits.end[i] / (double)RATE : -1.0, what, level_now,
                       pp ? " (a DTMF pair of partials)" : "");
            if (verbose && cur_timbre >= 0)
                print_notes(t);
        }
    }
    *false_hits += hits.dropped;
    if (hits.pairing_errors)
        fprintf(stderr, "dtmf-talkoff: %s on %s: %s\n", det_kind_name(cfg->kind), what,
                hits.pairing_msg);
    return hits.pairing_errors ? -EPROTO : 0;
}

static int run_both(int cat, long n, const uint8_t *real, const char *what)
{
    if (codec != SG_LINEAR)
        for (long i = 0; i < n; i++)
            pcm[i] = codec == SG_ULAW ? md_ulaw_decode1(md_ulaw_encode1(pcm[i]))
                                      : md_alaw_decode1(md_alaw_encode1(pcm[i]));
    tally_t *t = &tally[cat];
    int rc = count(&medley_cfg, n, real, &t->ours, &t->ours_real, &t->ours_partial, what);
    if (rc == 0)
        rc = count(&spandsp_cfg, n, real, &t->theirs, &t->theirs_real, &t->theirs_partial, what);
    t->hours += (double)n / RATE / 3600.0;
    return rc;
}

/* ---- speech ---- */

static int16_t file_buf[MAX_FILE_SAMPLES];

/* Reads a .raw file into file_buf; returns its samples, 0 to skip it (said why), or a
 * negative errno. */
static long read_raw(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "dtmf-talkoff: %s: %s, skipped\n", path, strerror(errno));
        return 0;
    }
    size_t got = fread(file_buf, 1, sizeof(file_buf), f);
    int more = fgetc(f) != EOF, err = ferror(f);
    fclose(f);
    if (err) {
        fprintf(stderr, "dtmf-talkoff: %s: read error, skipped\n", path);
        return 0;
    }
    if (more) {
        fprintf(stderr, "dtmf-talkoff: %s: longer than %d s, skipped\n", path,
                MAX_FILE_SAMPLES / RATE);
        return 0;
    }
    if (got < 2) {
        fprintf(stderr, "dtmf-talkoff: %s: empty, skipped\n", path);
        return 0;
    }
    if (got % 2)
        fprintf(stderr, "dtmf-talkoff: %s: odd size, last byte ignored\n", path);
    return (long)(got / 2);
}

/* Active speech level: mean square over the 20 ms frames within 30 dB of the loudest. */
static double active_ms(const int16_t *x, long n)
{
    double peak = 0, sum = 0;
    long frames = 0;
    for (int pass = 0; pass < 2; pass++)
        for (long i = 0; i + 160 <= n; i += 160) {
            double s = 0;
            for (int j = 0; j < 160; j++)
                s += (double)x[i + j] * x[i + j];
            if (pass == 0 && s > peak)
                peak = s;
            if (pass == 1 && s > peak / 1000 && s > 0) {
                sum += s;
                frames++;
            }
        }
    return frames ? sum / (double)(frames * 160) : 0;
}

static int speech(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "dtmf-talkoff: speech directory %s: %s\n", dir, strerror(errno));
        return -errno;
    }
    int files = 0, rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".raw") != 0)
            continue;
        char path[4096];
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
            continue;
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            fprintf(stderr, "dtmf-talkoff: %s: not a regular file, skipped\n", path);
            continue;
        }
        long n = read_raw(path);
        double ms = n > 0 ? active_ms(file_buf, n) : 0;
        if (ms <= 0) {
            if (n > 0)
                fprintf(stderr, "dtmf-talkoff: %s: silent, skipped\n", path);
            continue;
        }
        files++;
        /* Active level L dBm0 means a mean square of A(L)^2 / 2, A as for a sine. */
        for (int level = -30; level <= 0 && rc == 0; level += 10) {
            static const char *const lv[4] = { " at -30 dBm0", " at -20 dBm0", " at -10 dBm0", " at 0 dBm0" };
            level_now = lv[(level + 30) / 10];
            double gain = sg_amp(level) / sqrt(2.0 * ms);
            for (long i = 0; i < n; i++) {
                double v = file_buf[i] * gain;
                pcm[i] = (int16_t)(v >= 32767 ? 32767 : (v <= -32768 ? -32768 : lrint(v)));
            }
            rc = run_both(CAT_SPEECH, n, NULL, e->d_name);
        }
    }
    closedir(d);
    level_now = "";
    printf("speech: %d files from %s, each at -30, -20, -10 and 0 dBm0\n", files, dir);
    return rc;
}

/* ---- music ---- */

typedef struct {
    long start, len;
    double hz, amp;
} note_t;

#define MAX_NOTES 4096
static note_t notes[MAX_NOTES];
static int n_notes;
static double mbuf[PIECE];
static uint8_t real_mask[PIECE / SLOT + 1];

static double midi_hz(int m)
{
    return 440.0 * pow(2.0, (m - 69) / 12.0);
}

static void add_note(long start, long len, int midi, double dbm0)
{
    if (n_notes < MAX_NOTES && len > 0)
        notes[n_notes++] = (note_t){ start, len, midi_hz(midi), sg_amp(dbm0) };
}

static long note_len(void)
{
    return (long)((0.05 + 0.45 * urand()) * RATE);   /* 50 to 500 ms */
}

/* A random piece: melodies, intervals, chords and melodies over a held bass, with rests. */
static void compose(long n)
{
    static const int chords[][4] = { { 0, 4, 7, -1 }, { 0, 3, 7, -1 }, { 0, 3, 6, -1 },
                                     { 0, 4, 8, -1 }, { 0, 4, 7, 10 }, { 0, 5, 7, 12 } };
    n_notes = 0;
    long t = 0;
    while (t < n && n_notes < MAX_NOTES - 16) {
        int kind = (int)(urand() * 4);
        double level = -25 + 20 * urand();
        if (kind == 0) {          /* melody: a random walk of 3 to 8 notes */
            int m = 57 + (int)(urand() * 36), k = 3 + (int)(urand() * 6);
            for (int i = 0; i < k; i++) {
                long len = note_len();
                add_note(t, len, m, level);
                t += len;
                m += (int)(urand() * 9) - 4;
                m = m < 45 ? 45 : (m > 96 ? 96 : m);
            }
        } else if (kind == 1) {   /* two-note interval */
            int m = 45 + (int)(urand() * 40), iv = 1 + (int)(urand() * 24);
            long len = note_len();
            add_note(t, len, m, level);
            add_note(t, len, m + iv > 96 ? 96 : m + iv, level);
            t += len;
        } else if (kind == 2) {   /* chord */
            int m = 45 + (int)(urand() * 40), c = (int)(urand() * 6);
            long len = note_len();
            for (int i = 0; i < 4 && chords[c][i] >= 0; i++)
                add_note(t, len, m + chords[c][i], level - 3);
            t += len;
        } else {                  /* melody over a held bass or middle note */
            int bass = 45 + (int)(urand() * 40), m = bass + 5 + (int)(urand() * 20);
            int k = 3 + (int)(urand() * 5);
            long t0 = t;
            for (int i = 0; i < k; i++) {
                long len = note_len();
                add_note(t, len, m > 96 ? 96 : m, level);
                t += len;
                m += (int)(urand() * 9) - 4;
            }
            add_note(t0, t - t0, bass, level - 3);
        }
        if (urand() < 0.3)
            t += (long)(urand() * 0.2 * RATE);   /* a rest */
    }
}

static int near_dtmf(double f, const double *set)
{
    for (int i = 0; i < 4; i++)
        if (fabs(f / set[i] - 1.0) <= 0.015)
            return 1;
    return 0;
}

/* Renders the notes in a timbre into pcm and marks the 10 ms slots holding a real digit. */
static void render(long n, int timbre)
{
    memset(mbuf, 0, sizeof(double) * (size_t)n);
    memset(real_mask, 0, (size_t)(n / SLOT + 1));
    for (int k = 0; k < n_notes; k++) {
        const note_t *nt = &notes[k];
        long len = nt->start + nt->len > n ? n - nt->start : nt->len;
        int harmonics = timbre == 0 ? 1 : (timbre == 1 ? 5 : 64);
        for (int h = 1; h <= harmonics; h++) {
            double f = nt->hz * h;
            if (f >= 3800)   /* band-limited: nothing at or near Nyquist */
                break;
            double a = timbre == 0 ? nt->amp
                     : timbre == 1 ? nt->amp * pow(0.5, h - 1)
                                   : nt->amp * 0.6 / h;
            /* Oscillator by rotation in double precision (a note lasts at most 0.5 s). */
            double w = 2 * M_PI * f / RATE, ph = 2 * M_PI * urand();
            double c = cos(w), s = sin(w), re = cos(ph), im = sin(ph);
            for (long i = 0; i < len; i++) {
                /* 5 ms attack and release, as an instrument would have. */
                double env = i < 40 ? i / 40.0 : (len - i < 40 ? (len - i) / 40.0 : 1.0);
                mbuf[nt->start + i] += a * env * im;
                double r2 = re * c - im * s;
                im = re * s + im * c;
                re = r2;
            }
        }
    }
    /* Real digits: any two notes sounding together on a row and a column frequency. */
    for (int a = 0; a < n_notes; a++)
        for (int b = 0; b < n_notes; b++) {
            const note_t *x = &notes[a], *y = &notes[b];
            if (a == b || !near_dtmf(x->hz, sg_row_hz) || !near_dtmf(y->hz, sg_col_hz))
                continue;
            long from = x->start > y->start ? x->start : y->start;
            long to = x->start + x->len < y->start + y->len ? x->start + x->len : y->start + y->len;
            for (long t = from; t < to && t < n; t += SLOT)
                real_mask[t / SLOT] = 1;
            if (to > from && to <= n)
                real_mask[(to - 1) / SLOT] = 1;
        }
    for (long i = 0; i < n; i++) {
        double v = mbuf[i];
        pcm[i] = (int16_t)(v >= 32767 ? 32767 : (v <= -32768 ? -32768 : lrint(v)));
    }
}

/* Amplitude of partial h of a note in a timbre (0 past the band limit). */
static double partial_amp(const note_t *nt, int timbre, int h)
{
    if (nt->hz * h >= 3800 || (timbre == 0 && h > 1) || (timbre == 1 && h > 5))
        return 0;
    return timbre == 0 ? nt->amp : timbre == 1 ? nt->amp * pow(0.5, h - 1) : nt->amp * 0.6 / h;
}

/* Does the music around sample t hold a DTMF pair among the partials (not only the
 * fundamentals) of the notes sounding: one partial within 1.5% of a row frequency and
 * one within 1.5% of a column frequency, with a twist Q.24 accepts (the column partial
 * 8 dB below to 4 dB above the row partial)? Such a false hit is, as a
 * signal, a valid digit plus other tones; it is counted apart to tell it from a real
 * talk-off. */
static int partial_pair(long t)
{
    enum { MAXP = 256 };
    double row_a[MAXP], col_a[MAXP];
    int nr = 0, nc = 0;
    for (int k = 0; k < n_notes; k++) {
        const note_t *nt = &notes[k];
        if (nt->start > t + SG_MS(40) || nt->start + nt->len < t)
            continue;
        for (int h = 1; h <= 64; h++) {
            double a = partial_amp(nt, cur_timbre, h);
            if (a <= 0)
                break;
            if (near_dtmf(nt->hz * h, sg_row_hz) && nr < MAXP)
                row_a[nr++] = a;
            if (near_dtmf(nt->hz * h, sg_col_hz) && nc < MAXP)
                col_a[nc++] = a;
        }
    }
    for (int i = 0; i < nr; i++)
        for (int j = 0; j < nc; j++)
            if (20 * log10(col_a[j] / row_a[i]) >= -8 && 20 * log10(col_a[j] / row_a[i]) <= 4)
                return 1;
    return 0;
}

/* --verbose: the notes sounding around sample t. */
static void print_notes(long t)
{
    printf("    notes:");
    for (int k = 0; k < n_notes; k++)
        if (notes[k].start <= t + SG_MS(40) && notes[k].start + notes[k].len >= t)
            printf(" %.1f Hz (%.1f dBm0)", notes[k].hz, 20 * log10(notes[k].amp / sg_amp(0)));
    printf("\n");
}

static int music(double minutes)
{
    long total = (long)(minutes * 60 * RATE), rc = 0;
    for (long done = 0; done < total && rc == 0; done += PIECE) {
        long n = total - done < PIECE ? total - done : PIECE;
        compose(n);
        /* The same notes in each timbre, so the timbres differ only in their sound. */
        uint64_t keep = rng;
        for (int timbre = 0; timbre < 3 && rc == 0; timbre++) {
            rng = keep;
            render(n, timbre);
            char what[64];
            snprintf(what, sizeof(what), "%s minute %ld", cat_name[CAT_SINE + timbre], done / PIECE);
            cur_timbre = timbre;
            rc = run_both(CAT_SINE + timbre, n, real_mask, what);
            cur_timbre = -1;
        }
    }
    return (int)rc;
}

/* ---- main ---- */

static int usage(const char *msg)
{
    fprintf(stderr, "dtmf-talkoff: %s\nusage: dtmf-talkoff [--speech DIR] [--music-minutes M] "
            "[--report FILE] [--seed N] [--codec linear|ulaw|alaw] [--spandsp-parms F T R L] [--verbose]\n", msg);
    return 2;
}

static void line(FILE *f, const char *name, const tally_t *t)
{
    fprintf(f, "%-16s %8.3f %10ld %10ld %10.1f %10.1f %9ld %9ld %8ld %8ld\n", name, t->hours,
            t->ours, t->theirs, t->hours > 0 ? t->ours / t->hours : 0,
            t->hours > 0 ? t->theirs / t->hours : 0, t->ours_partial, t->theirs_partial,
            t->ours_real, t->theirs_real);
}

int main(int argc, char **argv)
{
    const char *speech_dir = NULL, *report_path = NULL;
    double minutes = 20;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end;
        if (strcmp(a, "--speech") == 0 && v) {
            speech_dir = v;
        } else if (strcmp(a, "--report") == 0 && v) {
            report_path = v;
        } else if (strcmp(a, "--music-minutes") == 0 && v) {
            minutes = strtod(v, &end);
            if (end == v || *end != '\0' || !(minutes >= 0 && minutes <= 6000))
                return usage("--music-minutes takes 0 to 6000");
        } else if (strcmp(a, "--seed") == 0 && v) {
            unsigned long long s = strtoull(v, &end, 10);
            if (end == v || *end != '\0' || s == 0 || v[0] == '-')
                return usage("--seed takes a positive number");
            rng = s * 0x9E3779B97F4A7C15ull | 1;
        } else if (strcmp(a, "--verbose") == 0) {
            verbose = 1;
            i--;   /* takes no value */
        } else if (strcmp(a, "--codec") == 0 && v) {
            if (strcmp(v, "linear") == 0)
                codec = SG_LINEAR;
            else if (strcmp(v, "ulaw") == 0)
                codec = SG_ULAW;
            else if (strcmp(v, "alaw") == 0)
                codec = SG_ALAW;
            else
                return usage("--codec takes linear, ulaw or alaw");
        } else if (strcmp(a, "--spandsp-parms") == 0 && i + 4 < argc) {
            for (int k = 0; k < 4; k++) {
                long p = strtol(argv[i + 1 + k], &end, 10);
                if (end == argv[i + 1 + k] || *end != '\0' || p < (k == 3 ? -99 : -1) ||
                    p > (k == 0 ? 1 : (k == 3 ? 0 : 30)))
                    return usage("--spandsp-parms: FILTER -1..1, TWIST and REVERSE -1..30, THRESHOLD -99..0");
                spandsp_cfg.spandsp_parms[k] = (int)p;
            }
            spandsp_cfg.spandsp_set_parms = 1;
            i += 3;
        } else {
            fprintf(stderr, "dtmf-talkoff: bad argument '%s'\n", a);
            return usage("see above");
        }
        i++;
    }
    FILE *report = NULL;
    if (report_path != NULL && (report = fopen(report_path, "w")) == NULL) {
        fprintf(stderr, "dtmf-talkoff: %s: %s\n", report_path, strerror(errno));
        return 2;
    }

    int rc = 0;
    if (speech_dir != NULL)
        rc = speech(speech_dir);
    else
        printf("speech: skipped (no --speech directory: espeak-ng or sox missing?)\n");
    if (rc == 0)
        rc = music(minutes);
    if (rc != 0) {
        if (report)
            fclose(report);
        return 2;
    }

    char head[200];
    snprintf(head, sizeof(head), "%-16s %8s %10s %10s %10s %10s %9s %9s %8s %8s\n", "material",
             "hours", "medley", "spandsp", "medley/h", "spandsp/h", "m.partial", "s.partial",
             "m.real", "s.real");
    tally_t sum = { 0 };
    int worse = 0;
    for (FILE *f = stdout; f != NULL; f = f == stdout ? report : NULL) {
        fprintf(f, "talk-off, %s channel: false digits, per hour; of them, in music, those where "
                "the notes' partials make a DTMF pair (*.partial); detections of real digits "
                "(note pairs on a row and a column, not counted: *.real)\n%s",
                sg_codec_name[codec], head);
        for (int c = 0; c < CATS; c++)
            if (tally[c].hours > 0)
                line(f, cat_name[c], &tally[c]);
    }
    for (int c = 0; c < CATS; c++) {
        sum.hours += tally[c].hours;
        sum.ours += tally[c].ours;
        sum.theirs += tally[c].theirs;
        sum.ours_real += tally[c].ours_real;
        sum.theirs_real += tally[c].theirs_real;
        sum.ours_partial += tally[c].ours_partial;
        sum.theirs_partial += tally[c].theirs_partial;
    }
    line(stdout, "total", &sum);
    if (report) {
        line(report, "total", &sum);
        fclose(report);
    }
    for (int c = 0; c < CATS; c++) {
        if (tally[c].theirs > 0 && tally[c].ours > tally[c].theirs) {
            printf("medley has more false digits than SpanDSP on %s\n", cat_name[c]);
            worse = 1;
        }
    }
    if (sum.ours > sum.theirs) {
        printf("medley has more false digits than SpanDSP in total\n");
        worse = 1;
    }
    if (!worse)
        printf("medley has no more false digits than SpanDSP, in total and where SpanDSP has any\n");
    return worse;
}
