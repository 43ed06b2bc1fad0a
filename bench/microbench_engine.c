/* The engine's receive half per channel-frame, without the NIC: parse the Ethernet/IP/UDP
 * frame, find the channel, check the source, parse RTP, queue in the jitter buffer; then
 * the media tick: take the frame, decode G.711, run the batched in-band DTMF detector.
 * 1024 channels, one frame each per iteration; items are channel-frames. */
#include <stdint.h>
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
    md_chan_table_init(&t, chans, NCH, 20000);
    md_event_ring_init(events);
    md_chan_params_t prm = { .codec = MD_CODEC_PCMU, .pt = 0, .event_pt = 101, .jb_depth = 2,
                             .learn = 1 };
    for (int c = 0; c < NCH; c++) {
        uint16_t port;
        md_chan_create(&t, &prm, &port);
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
    /* Speech-like audio with a digit now and then, encoded once per channel phase. */
    int16_t pcm[160];
    uint8_t ulaw[50][160];
    for (int k = 0; k < 50; k++) {
        if (k == 10 || k == 11 || k == 12) {
            md_tone_dial(pcm, 160, "5", -10, 0, 20, 0);
        } else {
            for (int i = 0; i < 160; i++)
                pcm[i] = (int16_t)(((k * 160 + i) * 7919 % 2001) - 1000);
        }
        md_ulaw_encode(ulaw[k], pcm, 160);
    }
    uint64_t now = 0;
    long f = 0;
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
        while (md_event_pop(events, &ev))
            ;
        now += 20;
        f++;
    }
    md_bench_set_items_per_iteration(st, NCH);
    md_bench_counter(st, "bytes_per_channel", (double)(sizeof(md_channel_t) + sizeof(md_media_t)));
    free(chans);
    free(media);
    free(events);
    free(peers);
}

void md_microbench_register_engine(void)
{
    md_bench_register("engine/receive_decode_dtmf", bm_engine_rx, NULL);
}
