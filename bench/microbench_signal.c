/* Mixer, Opus, tone, VAD and PLC benchmarks for medley-microbench. Items are channel-frames (20 ms). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench/bench_shim.h"
#include "dsp/mixer.h"
#include "dsp/energy.h"
#include "dsp/opus_codec.h"
#include "dsp/plc.h"
#include "dsp/tone.h"

void md_microbench_register_more(void);

#define NCONF 8          /* participants in the conference benchmark */
#define FRAME 160

static int16_t voice_frames[50][320];   /* 1 s of a voice-like signal, up to 16 kHz */

static void make_voice(unsigned rate)
{
    for (int k = 0; k < 50; k++)
        for (unsigned i = 0; i < rate / 50; i++) {
            double t = (k * (rate / 50.0) + i) / rate, f0 = 140 + 20 * sin(2 * M_PI * 3 * t), v = 0;
            for (int h = 1; h <= 8; h++)
                v += 3000.0 / h * sin(2 * M_PI * f0 * h * t + h);
            voice_frames[k][i] = (int16_t)lrint(v * (0.6 + 0.4 * sin(2 * M_PI * 2 * t)));
        }
}

/* An 8-party conference: every participant gets everyone else (N-1); items are the
 * participants' frames. */
static void bm_mix_conference(md_bench_state_t *st, void *arg)
{
    (void)arg;
    static int16_t out[NCONF][FRAME];
    const int16_t *in[NCONF];
    int16_t *op[NCONF];
    int32_t scratch[FRAME];
    make_voice(8000);
    for (int k = 0; k < NCONF; k++) {
        in[k] = voice_frames[k * 5];
        op[k] = out[k];
    }
    while (md_bench_keep_running(st)) {
        md_mix_n_minus_1(op, in, NCONF, FRAME, scratch);
        __asm__ volatile("" : : "r"(out) : "memory");
    }
    md_bench_set_items_per_iteration(st, NCONF);
    /* Everyone hears everyone else, saturated. */
    for (int k = 0; k < NCONF; k++)
        for (int i = 0; i < FRAME; i++) {
            int32_t v = 0;
            for (int j = 0; j < NCONF; j++)
                v += j == k ? 0 : in[j][i];
            v = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
            if (out[k][i] != v) {
                md_bench_fail(st, "mixer output is not the sum of the others");
                return;
            }
        }
}

static void bm_mix_gain(md_bench_state_t *st, void *arg)
{
    (void)arg;
    int16_t frame[FRAME];
    md_gain_t g;
    if (md_gain_from_db(-6, &g) != 0) {
        md_bench_fail(st, "md_gain_from_db(-6) failed");
        return;
    }
    make_voice(8000);
    while (md_bench_keep_running(st)) {
        for (int i = 0; i < FRAME; i++)
            frame[i] = voice_frames[3][i];
        md_mix_apply_gain(frame, FRAME, g);
        __asm__ volatile("" : : "r"(frame) : "memory");
    }
    md_bench_set_items_per_iteration(st, 1);
    /* -6 dB is a factor of 0.501: allow the rounding of the gain's fixed point. */
    for (int i = 0; i < FRAME; i++)
        if (fabs(frame[i] - voice_frames[3][i] * 0.50119) > 1.0 + abs(voice_frames[3][i]) * 1e-3) {
            md_bench_fail(st, "gain output is not the input at -6 dB");
            return;
        }
}

static void bm_opus(md_bench_state_t *st, void *arg)
{
    int mode = (int)(intptr_t)arg;   /* bit 0: decode; bit 1: 16 kHz */
    unsigned rate = (mode & 2) ? 16000 : 8000;
    size_t need = md_opus_memory_size(rate);
    void *mem = aligned_alloc(16, (need + 15) & ~(size_t)15);
    static md_opus_t o;
    static uint8_t pkt[50][MD_OPUS_MAX_PACKET];
    int len[50];
    int16_t pcm[320];
    if (!mem) {
        md_bench_fail(st, "out of memory for the Opus state");
        return;
    }
    make_voice(rate);
    if (md_opus_init(&o, mem, need, rate, rate == 8000 ? 16000 : 24000, 10) != 0) {
        md_bench_fail(st, "md_opus_init failed");
        free(mem);
        return;
    }
    for (int k = 0; k < 50; k++) {
        len[k] = md_opus_encode(&o, voice_frames[k], pkt[k], sizeof(pkt[k]));
        if (len[k] <= 0) {
            md_bench_fail(st, "md_opus_encode failed while preparing packets");
            free(mem);
            return;
        }
    }
    long f = 0, bad = 0, bytes = 0;
    while (md_bench_keep_running(st)) {
        int k = (int)(f++ % 50), r;
        if (mode & 1) {
            r = md_opus_decode(&o, pkt[k], (size_t)len[k], pcm);
            bad += r != (int)rate / 50;
        } else {
            r = md_opus_encode(&o, voice_frames[k], pkt[0], sizeof(pkt[0]));
            bad += r <= 0;
            bytes += r;
        }
        __asm__ volatile("" : : "r"(pcm), "r"(pkt) : "memory");
    }
    md_bench_set_items_per_iteration(st, 1);
    if (bad)
        md_bench_fail(st, "an Opus call failed in the timed loop");
    else if (!(mode & 1))
        md_bench_counter(st, "bytes_per_frame", bytes / (double)f);
    free(mem);
}

/* A two-component tone (DTMF-like), one 20 ms frame per item. */
static void bm_tone(md_bench_state_t *st, void *arg)
{
    (void)arg;
    md_tone_desc_t d;
    md_tone_gen_t g;
    int16_t frame[FRAME];
    md_tone_preset(&d, MD_TONE_NA_DIAL, -13);
    md_tone_init(&g, &d);
    while (md_bench_keep_running(st)) {
        md_tone_generate(&g, frame, FRAME);
        __asm__ volatile("" : : "r"(frame) : "memory");
    }
    md_bench_set_items_per_iteration(st, 1);
}

static void bm_vad(md_bench_state_t *st, void *arg)
{
    (void)arg;
    md_vad_t v;
    long f = 0;
    md_vad_init(&v, 20, 9, 300);
    make_voice(8000);
    while (md_bench_keep_running(st)) {
        int s = md_vad_frame(&v, voice_frames[f++ % 50], FRAME);
        __asm__ volatile("" : : "r"(s) : "memory");
    }
    md_bench_set_items_per_iteration(st, 1);
}

/* One received and one concealed frame per iteration (50 % loss, the worst case). */
static void bm_plc(md_bench_state_t *st, void *arg)
{
    (void)arg;
    static md_plc_t p;
    int16_t frame[FRAME];
    long f = 0;
    md_plc_init(&p);
    make_voice(8000);
    while (md_bench_keep_running(st)) {
        for (int i = 0; i < FRAME; i++)
            frame[i] = voice_frames[f % 50][i];
        f++;
        md_plc_received(&p, frame, FRAME);
        md_plc_conceal(&p, frame, FRAME);
        __asm__ volatile("" : : "r"(frame) : "memory");
    }
    md_bench_set_items_per_iteration(st, 2);
}

void md_microbench_register_more(void)
{
    md_bench_register("tone/generate_2x", bm_tone, NULL);
    md_bench_register("energy/vad_frame", bm_vad, NULL);
    md_bench_register("plc/rx_plus_conceal", bm_plc, NULL);
    md_bench_register("mixer/conference_n_minus_1", bm_mix_conference, NULL);
    md_bench_register("mixer/gain", bm_mix_gain, NULL);
    md_bench_register("opus/encode_8k", bm_opus, (void *)(intptr_t)0);
    md_bench_register("opus/decode_8k", bm_opus, (void *)(intptr_t)1);
    md_bench_register("opus/encode_16k", bm_opus, (void *)(intptr_t)2);
    md_bench_register("opus/decode_16k", bm_opus, (void *)(intptr_t)3);
}
