/* The engine's receive half per channel-frame, without the NIC: parse the Ethernet/IP/UDP
 * frame, find the channel, check the source, parse RTP, queue in the jitter buffer; then
 * the media tick: take the frame, decode G.711, run the batched in-band DTMF detector.
 * 1024 channels, one frame each per iteration; items are channel-frames. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_shim.h"
#include "dsp/g711.h"
#include "dsp/tone.h"
#include "engine/media.h"
#include "engine/txpkt.h"

void md_microbench_register_engine(void);

#define NCH 1024

static void bm_engine_rx(md_bench_state_t *st, void *arg)
{
    (void)arg;
    md_channel_t *chans = calloc(NCH, sizeof(md_channel_t));
    md_media_t *media = calloc(NCH, sizeof(md_media_t));
    md_event_ring_t *events = calloc(1, sizeof(md_event_ring_t));
    md_tx_template_t *peers = calloc(NCH, sizeof(md_tx_template_t));
    static uint8_t frames[NCH][256];
    static uint16_t flen[NCH];
    md_chan_table_t t;
    if (!chans || !media || !events || !peers || md_chan_table_init(&t, chans, NCH, 20000) != 0) {
        md_bench_fail(st, "set-up failed (memory or channel table)");
        goto out;
    }
    md_event_ring_init(events);
    md_chan_params_t prm = { .codec = MD_CODEC_PCMU, .pt = 0, .event_pt = 101, .jb_depth = 2,
                             .learn = 1 };
    for (int c = 0; c < NCH; c++) {
        uint16_t port;
        if (md_chan_create(&t, &prm, &port) < 0) {
            md_bench_fail(st, "md_chan_create failed");
            goto out;
        }
        md_media_init(&media[c], 1, 0);
        md_tx_template_t *p = &peers[c];
        memset(p, 0, sizeof(*p));
        p->ip_version = 4;
        p->src_ip[0] = 10;
        p->src_ip[2] = (uint8_t)(c >> 8);
        p->src_ip[3] = (uint8_t)c;
        p->dst_ip[0] = 10;
        p->dst_ip[3] = 2;
        p->src_port = 4000;
        p->dst_port = port;
        p->ttl = 64;
        p->ssrc = 0x5000u + (uint32_t)c;
    }
    md_worker_media_t w = { .table = &t, .media = media, .events = events,
                            .isa = md_cpu_default_isa() };
    /* Noise, with a 60 ms digit '5' (one continuous tone over frames 10-12) in every
     * second, encoded once; channel c starts c frames into the cycle. */
    int16_t pcm[160], tone[480];
    uint8_t ulaw[50][160];
    md_tone_dial(tone, 480, "5", -10, 0, 60, 0);
    for (int k = 0; k < 50; k++) {
        if (k >= 10 && k <= 12) {
            memcpy(pcm, tone + (k - 10) * 160, sizeof(pcm));
        } else {
            for (int i = 0; i < 160; i++)
                pcm[i] = (int16_t)(((k * 160 + i) * 7919 % 2001) - 1000);
        }
        md_ulaw_encode(ulaw[k], pcm, 160);
    }
    uint64_t now = 0;
    long f = 0, digits = 0, wrong = 0;
    while (md_bench_keep_running(st)) {
        md_bench_pause_timing(st);   /* building the frames is the peer's work */
        for (int c = 0; c < NCH; c++) {
            flen[c] = (uint16_t)md_tx_build(&peers[c], 0, ulaw[(f + c) % 50], 160, 160,
                                            frames[c], sizeof(frames[c]));
        }
        md_bench_resume_timing(st);
        for (int c = 0; c < NCH; c++) {
            md_pkt_t p;
            if (md_pkt_parse(frames[c], flen[c], &p) != MD_PKT_UDP)
                continue;
            int rtcp;
            md_channel_t *ch = md_chan_lookup(&t, p.dport, &rtcp);
            md_4733_digit_t d[2];
            int nd;
            md_chan_receive(ch, &p, rtcp, frames[c] + p.payload_off, p.payload_len, now * 8, d, &nd);
        }
        md_media_tick(&w, now);
        md_event_t ev;
        while (md_event_pop(events, &ev)) {
            digits += ev.type == MD_EV_DIGIT;
            wrong += ev.type != MD_EV_DIGIT || ev.digit != '5' || ev.source != MD_DIGIT_INBAND;
        }
        now += 20;
        f++;
    }
    md_bench_set_items_per_iteration(st, NCH);
    md_bench_counter(st, "bytes_per_channel", (double)(sizeof(md_channel_t) + sizeof(md_media_t)));
    /* Channel c sends the tone in iterations f with (f + c) % 50 in 10..12, so its tones
     * start at s0 + 50 m (s0 = (10 - c) mod 50). Whole tones with 10 frames to spare for
     * the jitter buffer and the detector must be reported; a tone cut by the start of
     * the run (c % 50 is 11 or 12) may be. */
    long lo = 0, hi = 0;
    for (int c = 0; c < NCH; c++) {
        long s0 = (10 - c % 50 + 50) % 50;
        lo += f - 13 >= s0 ? (f - 13 - s0) / 50 + 1 : 0;
        hi += (f - 1 >= s0 ? (f - 1 - s0) / 50 + 1 : 0) + (c % 50 == 11 || c % 50 == 12);
    }
    if (wrong || digits < lo || digits > hi || events->lost) {
        char msg[128];
        snprintf(msg, sizeof(msg), "%ld digits (%ld wrong events, %llu lost), expected %ld to %ld",
                 digits, wrong, (unsigned long long)events->lost, lo, hi);
        md_bench_fail(st, msg);
    } else {
        md_bench_counter(st, "digits", (double)digits);
    }
out:
    free(chans);
    free(media);
    free(events);
    free(peers);
}

void md_microbench_register_engine(void)
{
    md_bench_register("engine/receive_decode_dtmf", bm_engine_rx, NULL);
}
