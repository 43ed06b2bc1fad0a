/* DTMF receiver conformance battery after ITU-T Q.24 (the AT&T column), on generated
 * signals, for medley's detector or for SpanDSP's on exactly the same signals.
 *
 *   dtmf-q24 medley [--quick]     exit 0 if every requirement passes
 *   dtmf-q24 spandsp [--quick] [--parms DIALTONE TWIST REVERSE THRESHOLD]
 *                                 the same on SpanDSP 0.0.6 (dtmf_rx_parms() values; -1
 *                                 keeps SpanDSP's default). Exit 0 if it fails the three
 *                                 requirements it is known to fail (drop-out, 23 ms, low
 *                                 group 3.5%), so the claim in docs/dtmf.md stays checked;
 *                                 any other failure is printed.
 *
 * Every requirement runs over all 16 digits, over tone starts at every offset modulo
 * 102 samples (SpanDSP's block; --quick takes every 7th) with random phases, and through
 * three channels: linear, G.711 µ-law and A-law. One line per requirement is printed:
 * name, PASS or FAIL, and counts. */
#include <math.h>
#include <stdarg.h>
#include <spandsp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/dtmf.h"
#include "dsp/g711.h"

#define RATE 8000
#define MAX_SAMPLES (8000 * 12)
#define MAX_DIGITS 64
#define MS(x) ((int)((x) * 8))

static const double row_hz[4] = { 697, 770, 852, 941 };
static const double col_hz[4] = { 1209, 1336, 1477, 1633 };
static const char keys[] = "123A456B789C*0#D";

static int quick;
static int use_spandsp;
static int spandsp_parms[4] = { -1, -1, -1, -99 };   /* default: SpanDSP's own settings */

/* ---- signals ---- */

static double sig[MAX_SAMPLES];
static int16_t pcm[MAX_SAMPLES];
static int sig_len;
static uint64_t rng = 88172645463325252ull;

static double urand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static double gauss(void)
{
    double u = urand() + 1e-300, v = urand();
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static double amp(double dbm0)
{
    return 32767.0 * pow(10.0, (dbm0 - 3.14) / 20.0);
}

static void sig_clear(int len)
{
    memset(sig, 0, sizeof(double) * (size_t)len);
    sig_len = len;
}

/* Adds a sine of level dbm0 from sample start for len samples, with a random phase. */
static void add_sine(int start, int len, double hz, double dbm0)
{
    double a = amp(dbm0), ph = urand() * 2 * M_PI, w = 2 * M_PI * hz / RATE;
    double c = cos(w), s = sin(w), re = cos(ph), im = sin(ph);
    for (int i = start; i < start + len && i < sig_len; i++) {
        sig[i] += a * im;
        double t = re * c - im * s;
        im = re * s + im * c;
        re = t;
    }
}

static void add_digit(int start, int len, int d, double row_dbm0, double col_dbm0,
                      double row_off, double col_off)
{
    add_sine(start, len, row_hz[d / 4] * (1 + row_off), row_dbm0);
    add_sine(start, len, col_hz[d % 4] * (1 + col_off), col_dbm0);
}

static void add_noise(double rms)
{
    for (int i = 0; i < sig_len; i++)
        sig[i] += rms * gauss();
}

/* Quantises to int16 and passes through the codec (0 linear, 1 µ-law, 2 A-law). */
static void sig_finish(int codec)
{
    for (int i = 0; i < sig_len; i++) {
        double v = sig[i];
        int16_t s = (int16_t)(v > 32767 ? 32767 : (v < -32768 ? -32768 : lrint(v)));
        if (codec == 1)
            s = md_ulaw_decode1(md_ulaw_encode1(s));
        else if (codec == 2)
            s = md_alaw_decode1(md_alaw_encode1(s));
        pcm[i] = s;
    }
}

/* ---- detectors ---- */

typedef struct {
    char digit[MAX_DIGITS];
    long start[MAX_DIGITS], end[MAX_DIGITS];   /* samples; -1 if unknown */
    int n;
} result_t;

static void spandsp_cb(void *user, const char *digits, int len)
{
    result_t *r = user;
    for (int i = 0; i < len && r->n < MAX_DIGITS; i++) {
        r->digit[r->n] = digits[i];
        r->start[r->n] = r->end[r->n] = -1;
        r->n++;
    }
}

static void detect(result_t *r)
{
    memset(r, 0, sizeof(*r));
    if (use_spandsp) {
        static int16_t tail[1600];
        dtmf_rx_state_t *s = dtmf_rx_init(NULL, spandsp_cb, r);
        if (spandsp_parms[0] >= 0)
            dtmf_rx_parms(s, spandsp_parms[0], spandsp_parms[1], spandsp_parms[2],
                          spandsp_parms[3]);
        for (int off = 0; off < sig_len; off += 160)
            dtmf_rx(s, pcm + off, sig_len - off < 160 ? sig_len - off : 160);
        dtmf_rx(s, tail, 1600);   /* 200 ms of silence lets it report the last digit */
        dtmf_rx_free(s);
        return;
    }
    md_dtmf_rx_t rx;
    md_dtmf_event_t ev;
    md_dtmf_rx_init(&rx);
    for (int off = 0; off <= sig_len; off += 160) {
        if (off < sig_len)
            md_dtmf_rx_process1(&rx, pcm + off, (unsigned)(sig_len - off < 160 ? sig_len - off : 160),
                                (md_isa_t)((off / 160) % MD_ISA_COUNT));
        else
            md_dtmf_rx_flush(&rx);
        while (md_dtmf_rx_event(&rx, &ev)) {
            if (ev.kind == MD_DTMF_END && r->n < MAX_DIGITS) {
                r->digit[r->n] = ev.digit;
                r->start[r->n] = (long)ev.start;
                r->end[r->n] = (long)ev.end;
                r->n++;
            }
        }
    }
}

/* ---- bookkeeping ---- */

typedef struct {
    const char *name;
    int trials, failures;
    int timing_checked, timing_bad;
    char example[160];
} req_t;

static void fail_once(req_t *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail_once(req_t *q, const char *fmt, ...)
{
    q->failures++;
    if (q->example[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(q->example, sizeof(q->example), fmt, ap);
        va_end(ap);
    }
}

/* Expects exactly the digits in want (and, for medley, each within 15 ms of its truth
 * when truth times are given). */
static void expect(req_t *q, const char *want, const long *t_start, const long *t_end,
                   const char *what)
{
    result_t r;
    detect(&r);
    q->trials++;
    int n = (int)strlen(want);
    int ok = r.n == n;
    for (int i = 0; ok && i < n; i++)
        ok = r.digit[i] == want[i];
    if (!ok) {
        char got[MAX_DIGITS + 1];
        memcpy(got, r.digit, (size_t)r.n);
        got[r.n] = '\0';
        fail_once(q, "%s: wanted '%s', got '%s'", what, want, got);
        return;
    }
    if (t_start != NULL && !use_spandsp) {
        for (int i = 0; i < n; i++) {
            q->timing_checked++;
            if (labs(r.start[i] - t_start[i]) > MS(15) || labs(r.end[i] - t_end[i]) > MS(15)) {
                q->timing_bad++;
                if (q->example[0] == '\0')
                    snprintf(q->example, sizeof(q->example),
                             "%s: digit %d at %ld-%ld, truth %ld-%ld", what, i, r.start[i],
                             r.end[i], t_start[i], t_end[i]);
            }
        }
    }
}

static int report(const req_t *q, int expect_fail)
{
    int failed = q->failures > 0 || q->timing_bad > 0;
    printf("%-34s %s  %d/%d trials failed", q->name, failed ? "FAIL" : "PASS", q->failures,
           q->trials);
    if (q->timing_checked)
        printf(", %d/%d outside 15 ms", q->timing_bad, q->timing_checked);
    if (q->example[0])
        printf("  (e.g. %s)", q->example);
    printf("%s\n", expect_fail ? "  [SpanDSP known to fail]" : "");
    return failed;
}

/* Alignment loop: tone start offsets 0..101 (every 7th with --quick). */
#define FOR_ALIGN(a) for (int a = 0; a < 102; a += quick ? 7 : 1)
#define FOR_CODEC(c) for (int c = 0; c < 3; c++)

static const char *codec_name[3] = { "linear", "ulaw", "alaw" };

/* One digit of len samples at -10 dBm0 per tone unless given, 20 ms + a in, 80 ms
 * silence after. */
static void one_digit_case(req_t *q, int d, int len, double lr, double lc, double ro,
                           double co, int a, int codec, int want)
{
    int start = MS(20) + a;
    sig_clear(start + len + MS(80));
    add_digit(start, len, d, lr, lc, ro, co);
    sig_finish(codec);
    char what[96], w[2] = { keys[d], 0 };
    long ts = start, te = start + len;
    snprintf(what, sizeof(what), "digit %c, %.1f ms, %+.1f/%+.1f dBm0, %+.2f%%/%+.2f%%, align %d, %s",
             keys[d], len / 8.0, lr, lc, ro * 100, co * 100, a, codec_name[codec]);
    expect(q, want ? w : "", want ? &ts : NULL, want ? &te : NULL, what);
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "medley") != 0 && strcmp(argv[1], "spandsp") != 0)) {
        fprintf(stderr, "usage: dtmf-q24 medley|spandsp [--quick]\n");
        return 2;
    }
    use_spandsp = strcmp(argv[1], "spandsp") == 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--parms") == 0 && i + 4 < argc) {
            for (int k = 0; k < 4; k++)
                spandsp_parms[k] = atoi(argv[i + 1 + k]);
            i += 4;
        }
    }
    printf("DTMF conformance (ITU-T Q.24, AT&T column), detector: %s%s\n", argv[1],
           quick ? " (quick)" : "");

    int failed_known = 0, failed_other = 0;
#define RESULT(q, known)                                                                   \
    do {                                                                                   \
        int f_ = report(&(q), (known) && use_spandsp);                                     \
        if (f_ && (known))                                                                 \
            failed_known++;                                                                \
        else if (f_)                                                                       \
            failed_other++;                                                                \
    } while (0)

    /* Frequency: accept +-1.5% on either tone, and on both at once. */
    for (int both = 0; both < 2; both++) {
        req_t q = { .name = both ? "accept +-1.5% on both tones" : "accept +-1.5% on one tone" };
        static const double one[][2] = { { .015, 0 }, { -.015, 0 }, { 0, .015 }, { 0, -.015 } };
        static const double two[][2] = { { .015, .015 }, { -.015, -.015 }, { .015, -.015 },
                                         { -.015, .015 } };
        for (int d = 0; d < 16; d++)
            for (int o = 0; o < 4; o++)
                FOR_ALIGN(a) if ((a / (quick ? 7 : 1)) % 2 == o % 2) FOR_CODEC(c)
                    one_digit_case(&q, d, MS(50), -10, -10, both ? two[o][0] : one[o][0],
                                   both ? two[o][1] : one[o][1], a, c, 1);
        RESULT(q, 0);
    }
    /* Frequency: reject +-3.5% on either tone; low and high group reported apart. */
    for (int group = 0; group < 2; group++) {
        req_t q = { .name = group == 0 ? "reject low group +-3.5%" : "reject high group +-3.5%" };
        for (int d = 0; d < 16; d++)
            for (int sgn = -1; sgn <= 1; sgn += 2)
                FOR_ALIGN(a) FOR_CODEC(c)
                    one_digit_case(&q, d, MS(100), -10, -10, group == 0 ? sgn * .035 : 0,
                                   group == 1 ? sgn * .035 : 0, a, c, 0);
        RESULT(q, group == 0);
    }
    /* Levels: accept 0 to -25 dBm0 per tone; reject -55. */
    {
        req_t q = { .name = "accept 0 to -25 dBm0" };
        for (int d = 0; d < 16; d++)
            for (int l = 0; l >= -25; l -= 5)
                FOR_ALIGN(a) if (a % 3 == 0) FOR_CODEC(c)
                    one_digit_case(&q, d, MS(50), l, l, 0, 0, a, c, 1);
        RESULT(q, 0);
        req_t r = { .name = "reject -55 dBm0" };
        for (int d = 0; d < 16; d++)
            FOR_ALIGN(a) FOR_CODEC(c)
                one_digit_case(&r, d, MS(100), -55, -55, 0, 0, a, c, 0);
        RESULT(r, 0);
    }
    /* Twist: high tone 8 dB below the low one (normal) to 4 dB above (reverse). */
    for (int rev = 0; rev < 2; rev++) {
        req_t q = { .name = rev ? "accept reverse twist to +4 dB" : "accept normal twist to -8 dB" };
        static const double tw[2][3] = { { -8, -6, -3 }, { 4, 2, 1 } };
        for (int d = 0; d < 16; d++)
            for (int t = 0; t < 3; t++)
                FOR_ALIGN(a) if (a % 2 == 0) FOR_CODEC(c) {
                    /* The weaker tone at -20 dBm0. */
                    double low = rev ? -20 : -20 - tw[rev][t];
                    one_digit_case(&q, d, MS(50), low, low + tw[rev][t], 0, 0, a, c, 1);
                }
        RESULT(q, 0);
    }
    /* Duration: accept 40 ms, reject 23 ms and shorter. */
    {
        req_t q = { .name = "accept 40 ms tones" };
        for (int d = 0; d < 16; d++)
            FOR_ALIGN(a) FOR_CODEC(c)
                one_digit_case(&q, d, MS(40), -10, -10, 0, 0, a, c, 1);
        RESULT(q, 0);
        req_t r = { .name = "reject 23 ms tones and shorter" };
        static const int lens[] = { 23, 20, 15, 10 };
        for (int d = 0; d < 16; d++)
            for (int l = 0; l < 4; l++)
                FOR_ALIGN(a) FOR_CODEC(c)
                    one_digit_case(&r, d, MS(lens[l]), -10, -10, 0, 0, a, c, 0);
        RESULT(r, 1);
    }
    /* A 40 ms pause separates two presses of the same digit. */
    {
        req_t q = { .name = "40 ms pause between equal digits" };
        for (int d = 0; d < 16; d++)
            FOR_ALIGN(a) FOR_CODEC(c) {
                int s = MS(20) + a;
                sig_clear(s + MS(50 + 40 + 50 + 80));
                add_digit(s, MS(50), d, -10, -10, 0, 0);
                add_digit(s + MS(90), MS(50), d, -10, -10, 0, 0);
                sig_finish(c);
                char w[3] = { keys[d], keys[d], 0 };
                long ts[2] = { s, s + MS(90) }, te[2] = { s + MS(50), s + MS(140) };
                expect(&q, w, ts, te, "two presses");
            }
        RESULT(q, 0);
    }
    /* A drop-out of up to 10 ms inside a digit does not split it. */
    {
        req_t q = { .name = "10 ms drop-out gives one digit" };
        for (int d = 0; d < 16; d++)
            for (int g = 2; g <= 10; g += 2)
                FOR_ALIGN(a) if (a % 3 == 0) FOR_CODEC(c) {
                    int s = MS(20);
                    sig_clear(s + MS(120) + MS(80));
                    add_digit(s, MS(120), d, -10, -10, 0, 0);
                    int gs = s + MS(40) + a;   /* the gap moves across the blocks */
                    for (int i = gs; i < gs + MS(g); i++)
                        sig[i] = 0;
                    sig_finish(c);
                    char w[2] = { keys[d], 0 };
                    char what[64];
                    snprintf(what, sizeof(what), "digit %c, %d ms gap at +%d", keys[d], g, gs - s);
                    expect(&q, w, NULL, NULL, what);
                }
        RESULT(q, 1);
    }
    /* 93 ms per digit: 50 on 43 off, and 45 on 48 off, long random strings. */
    {
        req_t q = { .name = "dialling at 93 ms per digit" };
        static const int onoff[2][2] = { { 50, 43 }, { 45, 48 } };
        for (int trial = 0; trial < (quick ? 8 : 40); trial++)
            for (int p = 0; p < 2; p++)
                FOR_CODEC(c) {
                    char w[33];
                    long ts[32], te[32];
                    int s = MS(10) + (int)(urand() * 102);
                    sig_clear(s + 32 * MS(93) + MS(80));
                    for (int i = 0; i < 32; i++) {
                        int d = (int)(urand() * 16);
                        w[i] = keys[d];
                        ts[i] = s + i * MS(93);
                        te[i] = ts[i] + MS(onoff[p][0]);
                        add_digit((int)ts[i], MS(onoff[p][0]), d, -10, -10, 0, 0);
                    }
                    w[32] = 0;
                    sig_finish(c);
                    expect(&q, w, ts, te, "32 digits");
                }
        RESULT(q, 0);
    }
    /* White noise at 15 dB below the digit's power. */
    {
        req_t q = { .name = "white noise at 15 dB SNR" };
        for (int d = 0; d < 16; d++)
            for (int l = -5; l >= -20; l -= 15)
                FOR_ALIGN(a) if (a % 2 == 0) FOR_CODEC(c) {
                    int s = MS(20) + a;
                    sig_clear(s + MS(50) + MS(80));
                    add_digit(s, MS(50), d, l, l, 0, 0);
                    add_noise(amp(l) / pow(10, 15 / 20.0));   /* digit power A^2 (two tones) */
                    sig_finish(c);
                    char w[2] = { keys[d], 0 };
                    expect(&q, w, NULL, NULL, "noisy digit");
                }
        RESULT(q, 0);
    }
    /* Dial tone 10 dB above the digit (per tone) does not mask it. */
    for (int kind = 0; kind < 2; kind++) {
        req_t q = { .name = kind == 0 ? "NA dial tone 10 dB above digit" : "China dial tone 10 dB above" };
        for (int d = 0; d < 16; d++)
            FOR_ALIGN(a) if (a % 2 == 0) FOR_CODEC(c) {
                int s = MS(100) + a;
                sig_clear(s + MS(50) + MS(100));
                if (kind == 0) {
                    add_sine(0, sig_len, 350, -10);
                    add_sine(0, sig_len, 440, -10);
                } else {
                    add_sine(0, sig_len, 450, -10);
                }
                add_digit(s, MS(50), d, -20, -20, 0, 0);
                sig_finish(c);
                char w[2] = { keys[d], 0 };
                expect(&q, w, NULL, NULL, kind == 0 ? "NA dial tone" : "China dial tone");
            }
        RESULT(q, 0);
    }
    /* Single tones and call-progress tones are never digits. */
    {
        req_t q = { .name = "single tones never detected" };
        for (int f = 300; f <= 3400; f += quick ? 50 : 10)
            for (int l = 0; l >= -30; l -= 10)
                FOR_CODEC(c) {
                    sig_clear(MS(500));
                    add_sine(MS(20), MS(400), f, l);
                    sig_finish(c);
                    expect(&q, "", NULL, NULL, "single tone");
                }
        for (int b = 0; b < 8; b++)
            for (int l = 0; l >= -30; l -= 10)
                FOR_CODEC(c) {
                    sig_clear(MS(500));
                    add_sine(MS(20), MS(400), b < 4 ? row_hz[b] : col_hz[b - 4], l);
                    sig_finish(c);
                    expect(&q, "", NULL, NULL, "DTMF frequency alone");
                }
        RESULT(q, 0);
        req_t r = { .name = "call-progress tones never detected" };
        static const struct {
            double f1, f2;
            int on, off;
        } cp[] = { { 350, 440, 3000, 0 }, { 440, 480, 2000, 1000 }, { 480, 620, 500, 500 },
                   { 480, 620, 250, 250 }, { 450, 0, 3000, 0 }, { 450, 0, 350, 350 },
                   { 450, 0, 1000, 1000 }, { 1400, 0, 500, 500 }, { 950, 1400, 330, 330 },
                   { 425, 0, 1000, 1000 } };
        for (unsigned k = 0; k < sizeof(cp) / sizeof(cp[0]); k++)
            for (int l = 0; l >= -30; l -= 5)
                FOR_CODEC(c) {
                    sig_clear(MS(3000));
                    for (int t = 0; t < MS(3000); t += MS(cp[k].on + cp[k].off)) {
                        add_sine(t, MS(cp[k].on), cp[k].f1, l);
                        if (cp[k].f2 > 0)
                            add_sine(t, MS(cp[k].on), cp[k].f2, l);
                    }
                    sig_finish(c);
                    expect(&r, "", NULL, NULL, "call progress");
                }
        RESULT(r, 0);
    }
    /* A 10 s press is one digit. */
    {
        req_t q = { .name = "10 s press is one digit" };
        for (int d = 0; d < 16; d += quick ? 5 : 1)
            FOR_CODEC(c) {
                sig_clear(MS(10200));
                add_digit(MS(100), MS(10000), d, -10, -10, 0, 0);
                sig_finish(c);
                char w[2] = { keys[d], 0 };
                long ts = MS(100), te = MS(10100);
                expect(&q, w, &ts, &te, "10 s press");
            }
        RESULT(q, 0);
    }

    if (!use_spandsp) {
        printf("%s\n", failed_other + failed_known == 0 ? "medley passes every requirement"
                                                        : "medley FAILS");
        return failed_other + failed_known == 0 ? 0 : 1;
    }
    printf("SpanDSP fails %d of the 3 requirements it is known to fail, and %d others\n",
           failed_known, failed_other);
    /* The three are the claim docs/dtmf.md makes; the others depend on how strictly a
     * requirement is read (both tones off at once, twist exactly at its limits, China's
     * 450 Hz dial tone), and are reported above, not asserted. */
    return failed_known == 3 ? 0 : 1;
}
