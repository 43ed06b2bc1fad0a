/* medley-microbench: the DSP kernels under Google Benchmark. Items are channel-frames:
 * 160 samples, 20 ms of one channel at 8 kHz.
 *
 *   dtmf/spandsp          SpanDSP 0.0.6 dtmf_rx, one state per channel
 *   dtmf/medley/<isa>     medley's detector, all channels per call, on each SIMD path
 *   g711/...              G.711 encode/decode of frames, medley's tables and SpanDSP's
 *                         inline per-sample functions
 *
 * Both DTMF benchmarks run on the same signal: per channel 8 s of audio with a digit
 * (70 ms, -10 dBm0 per tone) every second and syllable-modulated noise (speech-like
 * level changes at -25 dBm0) in between, each channel starting at a different point. */
#include <math.h>
#include <spandsp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_shim.h"
#include "dsp/cpu.h"
#include "dsp/dtmf.h"
#include "dsp/g711.h"
#include "dsp/tone.h"

#define NCH 256
#define FRAME 160
#define SIGNAL_SECONDS 8
#define SIGNAL_SAMPLES (8000 * SIGNAL_SECONDS)

static int16_t *signal_pcm;   /* SIGNAL_SAMPLES + one frame of wrap-around */

static uint32_t rng = 2463534242u;

static double urand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng / 4294967296.0;
}

static void make_signal(void)
{
    static const char digits[] = "159#26*0";
    signal_pcm = calloc(SIGNAL_SAMPLES + FRAME, sizeof(int16_t));
    double lp = 0;
    for (int i = 0; i < SIGNAL_SAMPLES; i++) {
        /* Noise, low-passed a little, with a 4 Hz syllable envelope. */
        lp = 0.7 * lp + 0.3 * (urand() * 2 - 1);
        double env = 0.5 + 0.5 * sin(2 * M_PI * 4 * i / 8000.0);
        signal_pcm[i] = (int16_t)(md_dbm0_to_amplitude(-25) * 2.5 * lp * env);
    }
    for (int k = 0; k < SIGNAL_SECONDS; k++) {
        int16_t tone[560];
        md_tone_dial(tone, 560, (char[]){ digits[k], 0 }, -10, 0, 70, 0);
        for (int i = 0; i < 560; i++)
            signal_pcm[k * 8000 + 4000 + i] = tone[i];
    }
    memcpy(signal_pcm + SIGNAL_SAMPLES, signal_pcm, FRAME * sizeof(int16_t));
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

static int spandsp_digits;

static void spandsp_cb(void *user, const char *d, int len)
{
    (void)user;
    (void)d;
    spandsp_digits += len;
}

static void bm_dtmf_spandsp(md_bench_state_t *st, void *arg)
{
    (void)arg;
    dtmf_rx_state_t *rx[NCH];
    for (int c = 0; c < NCH; c++)
        rx[c] = dtmf_rx_init(NULL, spandsp_cb, NULL);
    long f = 0;
    cursor_t cur;
    cursor_init(&cur);
    spandsp_digits = 0;
    while (md_bench_keep_running(st)) {
        for (int c = 0; c < NCH; c++)
            dtmf_rx(rx[c], cursor_next(&cur, c), FRAME);
        f++;
    }
    md_bench_set_items_per_iteration(st, NCH);
    md_bench_counter(st, "digits_per_channel_second", spandsp_digits / (double)NCH / (f * 0.02 + 1e-9));
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
    md_dtmf_rx_t *rp[NCH];
    const int16_t *xp[NCH];
    for (int c = 0; c < NCH; c++) {
        md_dtmf_rx_init(&rx[c]);
        rp[c] = &rx[c];
    }
    long f = 0, digits = 0;
    cursor_t cur;
    cursor_init(&cur);
    while (md_bench_keep_running(st)) {
        for (int c = 0; c < NCH; c++)
            xp[c] = cursor_next(&cur, c);
        md_dtmf_rx_process(rp, xp, NCH, FRAME, isa);
        for (int c = 0; c < NCH; c++) {
            md_dtmf_event_t ev;
            while (md_dtmf_rx_event(&rx[c], &ev))
                digits += ev.kind == MD_DTMF_END;
        }
        f++;
    }
    md_bench_set_items_per_iteration(st, NCH);
    md_bench_counter(st, "digits_per_channel_second", digits / (double)NCH / (f * 0.02 + 1e-9));
}

/* ---- G.711 ---- */

enum { G711_ULAW_ENC, G711_ULAW_DEC, G711_ALAW_ENC, G711_ALAW_DEC };

static void bm_g711_medley(md_bench_state_t *st, void *arg)
{
    int which = (int)(intptr_t)arg;
    static uint8_t code[NCH][FRAME];
    static int16_t out[NCH][FRAME];
    md_ulaw_encode(code[0], signal_pcm, FRAME);
    while (md_bench_keep_running(st)) {
        for (int c = 0; c < NCH; c++) {
            switch (which) {
            case G711_ULAW_ENC:
                md_ulaw_encode(code[c], frame_of(c, 0), FRAME);
                break;
            case G711_ULAW_DEC:
                md_ulaw_decode(out[c], code[c], FRAME);
                break;
            case G711_ALAW_ENC:
                md_alaw_encode(code[c], frame_of(c, 0), FRAME);
                break;
            default:
                md_alaw_decode(out[c], code[c], FRAME);
                break;
            }
        }
        __asm__ volatile("" : : "r"(code), "r"(out) : "memory");
    }
    md_bench_set_items_per_iteration(st, NCH);
}

static void bm_g711_spandsp(md_bench_state_t *st, void *arg)
{
    int which = (int)(intptr_t)arg;
    static uint8_t code[NCH][FRAME];
    static int16_t out[NCH][FRAME];
    while (md_bench_keep_running(st)) {
        for (int c = 0; c < NCH; c++) {
            const int16_t *x = frame_of(c, 0);
            for (int i = 0; i < FRAME; i++) {
                switch (which) {
                case G711_ULAW_ENC:
                    code[c][i] = linear_to_ulaw(x[i]);
                    break;
                case G711_ULAW_DEC:
                    out[c][i] = ulaw_to_linear(code[c][i]);
                    break;
                case G711_ALAW_ENC:
                    code[c][i] = linear_to_alaw(x[i]);
                    break;
                default:
                    out[c][i] = alaw_to_linear(code[c][i]);
                    break;
                }
            }
        }
        __asm__ volatile("" : : "r"(code), "r"(out) : "memory");
    }
    md_bench_set_items_per_iteration(st, NCH);
}

void md_microbench_register_more(void);   /* mixer, Opus: bench/microbench_signal.c */
void md_microbench_register_engine(void); /* bench/microbench_engine.c */

int main(int argc, char **argv)
{
    static const char *g711_names[] = { "ulaw_encode", "ulaw_decode", "alaw_encode", "alaw_decode" };
    static char names[3][32], g711[2][4][40];

    make_signal();
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
    md_microbench_register_more();
    md_microbench_register_engine();
    return md_bench_main(argc, argv);
}
