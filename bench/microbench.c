/* medley-microbench: the DSP kernels under Google Benchmark. Items are channel-frames:
 * 160 samples, 20 ms of one channel at 8 kHz.
 *
 *   dtmf/spandsp          SpanDSP 0.0.6 dtmf_rx, one state per channel
 *   dtmf/medley/<isa>     medley's detector, all channels per call, on each SIMD path
 *   g711/...              G.711 encode/decode of frames, medley's tables and SpanDSP's
 *                         inline per-sample functions
 *   g711/<op>/<path>[/l1_evicted]
 *                         one G.711 frame function per path: "table" (md_*_ref, the
 *                         look-up tables), "scalar", "avx2", "avx512" (the SIMD kernels);
 *                         l1_evicted reads 64 KiB of other data before every frame, as
 *                         the rest of an engine tick does, so the table starts out of L1
 *                         (the time includes that read, the same for every path: compare
 *                         the paths with each other, not with the hot numbers)
 *
 * Both DTMF benchmarks run on the same signal: per channel 8 s of audio with a digit
 * (70 ms, -10 dBm0 per tone) every second and syllable-modulated noise (speech-like
 * level changes at -25 dBm0) in between, each channel starting at a different point. */
#include <errno.h>
#include <math.h>
#include <spandsp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_shim.h"
#include "dsp/cpu.h"
#include "dsp/dtmf.h"
#include "dsp/g711.h"
#include "dsp/g711_kernel.h"
#include "dsp/tone.h"

#define NCH 256
#define FRAME 160
#define SIGNAL_SECONDS 8
#define SIGNAL_SAMPLES (8000 * SIGNAL_SECONDS)

#define TONE_START 4000   /* in each second of the signal */
#define TONE_LEN 560
static const char signal_digits[] = "159#26*0";

static int16_t *signal_pcm;   /* SIGNAL_SAMPLES + one frame of wrap-around */

static uint32_t rng = 2463534242u;

static double urand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng / 4294967296.0;
}

static int make_signal(void)
{
    signal_pcm = calloc(SIGNAL_SAMPLES + FRAME, sizeof(int16_t));
    if (!signal_pcm)
        return -ENOMEM;
    double lp = 0;
    for (int i = 0; i < SIGNAL_SAMPLES; i++) {
        /* Noise, low-passed a little, with a 4 Hz syllable envelope. */
        lp = 0.7 * lp + 0.3 * (urand() * 2 - 1);
        double env = 0.5 + 0.5 * sin(2 * M_PI * 4 * i / 8000.0);
        signal_pcm[i] = (int16_t)(md_dbm0_to_amplitude(-25) * 2.5 * lp * env);
    }
    for (int k = 0; k < SIGNAL_SECONDS; k++) {
        int16_t tone[TONE_LEN];
        md_tone_dial(tone, TONE_LEN, (char[]){ signal_digits[k], 0 }, -10, 0, 70, 0);
        for (int i = 0; i < TONE_LEN; i++)
            signal_pcm[k * 8000 + TONE_START + i] = tone[i];
    }
    memcpy(signal_pcm + SIGNAL_SAMPLES, signal_pcm, FRAME * sizeof(int16_t));
    return 0;
}

#define SIGNAL_PERIOD (SIGNAL_SAMPLES / FRAME * FRAME)

/* Start of channel c's frame number f in the looping signal. */
static const int16_t *frame_of(int c, long f)
{
    long off = ((long)c * 1237 + f * FRAME) % SIGNAL_PERIOD;
    return signal_pcm + off;
}

/* The same walk without a division per channel-frame (which would cost the harness
 * several ns per item, a visible share of a fast detector's time). */
typedef struct {
    long off[NCH];
} cursor_t;

static void cursor_init(cursor_t *cur)
{
    for (int c = 0; c < NCH; c++)
        cur->off[c] = ((long)c * 1237) % SIGNAL_PERIOD;
}

static const int16_t *cursor_next(cursor_t *cur, int c)
{
    const int16_t *p = signal_pcm + cur->off[c];
    cur->off[c] += FRAME;
    if (cur->off[c] >= SIGNAL_PERIOD)
        cur->off[c] -= SIGNAL_PERIOD;
    return p;
}

/* ---- DTMF ----
 *
 * Both detectors are checked after the timed loop, channel by channel: every digit
 * reported must be the one being played when it was reported, and the count must lie
 * between the tones fed whole (with 130 ms to spare for the decision) and the tones
 * fed at all. A detector that got fast by missing digits, or by reporting speech as
 * digits, fails the run (and the smoke test in CI) instead of posting a good number. */


/* How many tones start before sample x of a channel's (unwrapped) walk. */
static long tones_before(long x)
{
    return x <= TONE_START ? 0 : (x - TONE_START + 7999) / 8000;
}

typedef struct {
    long start;       /* where the channel's walk starts in the signal */
    long fed;         /* samples given to its detector so far */
    long digits;      /* digits reported */
    long wrong;       /* reported while another digit (or none) was playing */
} dtmf_check_t;

static void dtmf_check_init(dtmf_check_t *k, int c)
{
    memset(k, 0, sizeof(*k));
    k->start = ((long)c * 1237) % SIGNAL_PERIOD;
}

/* A digit reported after k->fed samples: the tone that started last (a detector reports
 * within a few hundred ms of a start, and tones are a second apart). */
static void dtmf_check_digit(dtmf_check_t *k, char d)
{
    long at = k->start + k->fed;
    long j = tones_before(at + 1) - 1;   /* the last tone starting at or before 'at' */
    k->digits++;
    if (j < 0 || signal_digits[j % 8] != d)
        k->wrong++;
}

/* Returns 0, or fills msg and returns -1. */
static int dtmf_check_end(const dtmf_check_t *k, int nch, long *total, char *msg, size_t cap)
{
    long sum = 0;
    for (int c = 0; c < nch; c++) {
        long o = k[c].start, e = o + k[c].fed;
        long lo = e - TONE_LEN - 1040 > o ? tones_before(e - TONE_LEN - 1040 + 1) - tones_before(o) : 0;
        long hi = tones_before(e) - tones_before(o - TONE_LEN + 1);
        sum += k[c].digits;
        if (k[c].wrong || k[c].digits < lo || k[c].digits > hi) {
            snprintf(msg, cap, "channel %d: %ld digits (%ld wrong), expected %ld to %ld", c,
                     k[c].digits, k[c].wrong, lo, hi);
            return -1;
        }
    }
    *total = sum;
    return 0;
}

static dtmf_check_t spandsp_check[NCH];

static void spandsp_cb(void *user, const char *d, int len)
{
    for (int i = 0; i < len; i++)
        dtmf_check_digit(user, d[i]);
}

static void bm_dtmf_spandsp(md_bench_state_t *st, void *arg)
{
    (void)arg;
    dtmf_rx_state_t *rx[NCH];
    for (int c = 0; c < NCH; c++) {
        dtmf_check_init(&spandsp_check[c], c);
        rx[c] = dtmf_rx_init(NULL, spandsp_cb, &spandsp_check[c]);
        if (!rx[c]) {
            while (c-- > 0)
                dtmf_rx_free(rx[c]);
            md_bench_fail(st, "dtmf_rx_init failed");
            return;
        }
    }
    long f = 0;
    cursor_t cur;
    cursor_init(&cur);
    while (md_bench_keep_running(st)) {
        for (int c = 0; c < NCH; c++) {
            /* Counted before the call: a digit found in this frame is dated at its end. */
            spandsp_check[c].fed += FRAME;
            dtmf_rx(rx[c], cursor_next(&cur, c), FRAME);
        }
        f++;
    }
    md_bench_set_items_per_iteration(st, NCH);
    char msg[128];
    long digits;
    if (dtmf_check_end(spandsp_check, NCH, &digits, msg, sizeof(msg)) != 0)
        md_bench_fail(st, msg);
    else
        md_bench_counter(st, "digits_per_channel_second", digits / (double)NCH / (f * 0.02));
    for (int c = 0; c < NCH; c++)
        dtmf_rx_free(rx[c]);
}

static void bm_dtmf_medley(md_bench_state_t *st, void *arg)
{
    md_isa_t isa = (md_isa_t)(intptr_t)arg;
    if (!md_cpu_has(isa)) {
        md_bench_skip(st, "this CPU lacks the path");
        return;
    }
    static md_dtmf_rx_t rx[NCH];
    static dtmf_check_t check[NCH];
    md_dtmf_rx_t *rp[NCH];
    const int16_t *xp[NCH];
    for (int c = 0; c < NCH; c++) {
        md_dtmf_rx_init(&rx[c]);
        rp[c] = &rx[c];
        dtmf_check_init(&check[c], c);
    }
    long f = 0;
    cursor_t cur;
    cursor_init(&cur);
    while (md_bench_keep_running(st)) {
        for (int c = 0; c < NCH; c++)
            xp[c] = cursor_next(&cur, c);
        md_dtmf_rx_process(rp, xp, NCH, FRAME, isa);
        for (int c = 0; c < NCH; c++) {
            md_dtmf_event_t ev;
            check[c].fed += FRAME;
            while (md_dtmf_rx_event(&rx[c], &ev))
                if (ev.kind == MD_DTMF_BEGIN)
                    dtmf_check_digit(&check[c], ev.digit);
        }
        f++;
    }
    md_bench_set_items_per_iteration(st, NCH);
    char msg[128];
    long digits;
    if (dtmf_check_end(check, NCH, &digits, msg, sizeof(msg)) != 0)
        md_bench_fail(st, msg);
    else
        md_bench_counter(st, "digits_per_channel_second", digits / (double)NCH / (f * 0.02));
}

/* ---- G.711 ---- */

enum { G711_ULAW_ENC, G711_ULAW_DEC, G711_ALAW_ENC, G711_ALAW_DEC };

static uint8_t g711_code[NCH][FRAME];
static int16_t g711_out[NCH][FRAME];

/* Input codes for the decoders: each channel's frame, encoded by SpanDSP. */
static void g711_prepare(int which)
{
    for (int c = 0; c < NCH; c++) {
        const int16_t *x = frame_of(c, 0);
        for (int i = 0; i < FRAME; i++)
            g711_code[c][i] = which == G711_ULAW_DEC ? linear_to_ulaw(x[i]) : linear_to_alaw(x[i]);
    }
}

/* After the timed loop: the output must be what SpanDSP's per-sample functions give
 * (tests/codec checks all 65536 inputs; this proves the timed loop did the work). */
static void g711_verify(md_bench_state_t *st, int which)
{
    long bad = 0;
    for (int c = 0; c < NCH; c++) {
        const int16_t *x = frame_of(c, 0);
        for (int i = 0; i < FRAME; i++) {
            switch (which) {
            case G711_ULAW_ENC:
                bad += g711_code[c][i] != linear_to_ulaw(x[i]);
                break;
            case G711_ULAW_DEC:
                bad += g711_out[c][i] != ulaw_to_linear(g711_code[c][i]);
                break;
            case G711_ALAW_ENC:
                bad += g711_code[c][i] != linear_to_alaw(x[i]);
                break;
            default:
                bad += g711_out[c][i] != alaw_to_linear(g711_code[c][i]);
                break;
            }
        }
    }
    if (bad) {
        char msg[64];
        snprintf(msg, sizeof(msg), "%ld samples differ from SpanDSP's G.711", bad);
        md_bench_fail(st, msg);
    }
}

static void bm_g711_medley(md_bench_state_t *st, void *arg)
{
    int which = (int)(intptr_t)arg;
    g711_prepare(which);
    memset(g711_out, 0, sizeof(g711_out));
    if (which == G711_ULAW_ENC || which == G711_ALAW_ENC)
        memset(g711_code, 0, sizeof(g711_code));
    while (md_bench_keep_running(st)) {
        for (int c = 0; c < NCH; c++) {
            switch (which) {
            case G711_ULAW_ENC:
                md_ulaw_encode(g711_code[c], frame_of(c, 0), FRAME);
                break;
            case G711_ULAW_DEC:
                md_ulaw_decode(g711_out[c], g711_code[c], FRAME);
                break;
            case G711_ALAW_ENC:
                md_alaw_encode(g711_code[c], frame_of(c, 0), FRAME);
                break;
            default:
                md_alaw_decode(g711_out[c], g711_code[c], FRAME);
                break;
            }
        }
        __asm__ volatile("" : : "r"(g711_code), "r"(g711_out) : "memory");
    }
    md_bench_set_items_per_iteration(st, NCH);
    g711_verify(st, which);
}

static void bm_g711_spandsp(md_bench_state_t *st, void *arg)
{
    int which = (int)(intptr_t)arg;
    g711_prepare(which);
    while (md_bench_keep_running(st)) {
        for (int c = 0; c < NCH; c++) {
            const int16_t *x = frame_of(c, 0);
            for (int i = 0; i < FRAME; i++) {
                switch (which) {
                case G711_ULAW_ENC:
                    g711_code[c][i] = linear_to_ulaw(x[i]);
                    break;
                case G711_ULAW_DEC:
                    g711_out[c][i] = ulaw_to_linear(g711_code[c][i]);
                    break;
                case G711_ALAW_ENC:
                    g711_code[c][i] = linear_to_alaw(x[i]);
                    break;
                default:
                    g711_out[c][i] = alaw_to_linear(g711_code[c][i]);
                    break;
                }
            }
        }
        __asm__ volatile("" : : "r"(g711_code), "r"(g711_out) : "memory");
    }
    md_bench_set_items_per_iteration(st, NCH);
}

/* Per path: the table functions or one SIMD path's kernels, with the tables (and
 * everything else) hot in L1, or evicted from L1 before every frame by reading 64 KiB of
 * other data, as a worker's tick does between one channel's encode and the next. (Timing
 * the read alone to subtract it proved useless on the shared VM: it alone varies between
 * 600 ns and 1 us from run to run, more than the codec costs.) */
#define G711_PATH_TABLE MD_ISA_COUNT
#define G711_EVICT 0x100
#define EVICT_BYTES (64 * 1024)

static uint8_t evict_buf[EVICT_BYTES];
static volatile uint32_t evict_sink;

static inline uint32_t evict_l1(void)
{
    uint32_t sum = 0;
    /* The compiler must read the buffer every time (it could prove that nothing writes
     * it and hoist the loop). */
    __asm__ volatile("" : : "r"(evict_buf) : "memory");
    for (size_t i = 0; i < EVICT_BYTES; i += 64)
        sum += evict_buf[i];
    return sum;
}

static void bm_g711_path(md_bench_state_t *st, void *arg)
{
    int a = (int)(intptr_t)arg, which = a & 0xF, path = (a >> 4) & 0xF;
    int evict = (a & G711_EVICT) != 0;
    md_g711_encode_fn *enc = NULL;
    md_g711_decode_fn *dec = NULL;
    uint32_t sum = 0;

    if (path == G711_PATH_TABLE) {
        enc = which == G711_ULAW_ENC ? md_ulaw_encode_ref : md_alaw_encode_ref;
        dec = which == G711_ULAW_DEC ? md_ulaw_decode_ref : md_alaw_decode_ref;
    } else {
        const md_g711_kernels_t *k = md_g711_kernels((md_isa_t)path);
        if (k == NULL) {
            md_bench_skip(st, "this CPU lacks the path");
            return;
        }
        enc = which == G711_ULAW_ENC ? k->ulaw_encode : k->alaw_encode;
        dec = which == G711_ULAW_DEC ? k->ulaw_decode : k->alaw_decode;
    }
    g711_prepare(which);
    memset(g711_out, 0, sizeof(g711_out));
    if (which == G711_ULAW_ENC || which == G711_ALAW_ENC)
        memset(g711_code, 0, sizeof(g711_code));
    int encode = which == G711_ULAW_ENC || which == G711_ALAW_ENC;
    while (md_bench_keep_running(st)) {
        for (int c = 0; c < NCH; c++) {
            if (evict)
                sum += evict_l1();
            if (encode)
                enc(g711_code[c], frame_of(c, 0), FRAME);
            else
                dec(g711_out[c], g711_code[c], FRAME);
        }
        __asm__ volatile("" : : "r"(g711_code), "r"(g711_out) : "memory");
    }
    evict_sink = sum;
    md_bench_set_items_per_iteration(st, NCH);
    g711_verify(st, which);
}

void md_microbench_register_more(void);   /* mixer, Opus: bench/microbench_signal.c */
void md_microbench_register_engine(void); /* bench/microbench_engine.c */

int main(int argc, char **argv)
{
    static const char *g711_names[] = { "ulaw_encode", "ulaw_decode", "alaw_encode", "alaw_decode" };
    static char names[3][32], g711[2][4][40];

    if (make_signal() != 0) {
        fprintf(stderr, "medley-microbench: out of memory for the test signal\n");
        return 1;
    }
    md_bench_register("dtmf/spandsp", bm_dtmf_spandsp, NULL);
    for (int isa = 0; isa < MD_ISA_COUNT; isa++) {
        snprintf(names[isa], sizeof(names[isa]), "dtmf/medley/%s", md_isa_name((md_isa_t)isa));
        md_bench_register(names[isa], bm_dtmf_medley, (void *)(intptr_t)isa);
    }
    for (int k = 0; k < 4; k++) {
        snprintf(g711[0][k], sizeof(g711[0][k]), "g711/medley/%s", g711_names[k]);
        snprintf(g711[1][k], sizeof(g711[1][k]), "g711/spandsp/%s", g711_names[k]);
        md_bench_register(g711[0][k], bm_g711_medley, (void *)(intptr_t)k);
        md_bench_register(g711[1][k], bm_g711_spandsp, (void *)(intptr_t)k);
    }
    static char g711_path[2][4][MD_ISA_COUNT + 1][48];
    for (int e = 0; e < 2; e++) {
        for (int k = 0; k < 4; k++) {
            for (int p = 0; p <= MD_ISA_COUNT; p++) {
                char *name = g711_path[e][k][p];
                snprintf(name, sizeof(g711_path[e][k][p]), "g711/%s/%s%s", g711_names[k],
                         p == G711_PATH_TABLE ? "table" : md_isa_name((md_isa_t)p),
                         e ? "/l1_evicted" : "");
                md_bench_register(name, bm_g711_path,
                                  (void *)(intptr_t)(k | p << 4 | (e ? G711_EVICT : 0)));
            }
        }
    }
    md_microbench_register_more();
    md_microbench_register_engine();
    return md_bench_main(argc, argv);
}
