/* The engine's work per channel-frame, without the NIC: parse the Ethernet/IP/UDP frame,
 * find the channel, check the source, parse RTP, queue in the jitter buffer; then the
 * media tick: take the frame, decode G.711, run the batched in-band DTMF detector.
 * One frame per channel per iteration; items are channel-frames.
 *   engine/receive_decode_dtmf        1,024 channels (the state fits in L2/L3)
 *   engine/ivr_tick_16k               16,384 channels (32 MiB of state per tick, more than
 *                                     the L3 of most servers' cores), each also playing a
 *                                     prompt, its frame encoded and its packet built as the
 *                                     worker's send pass does: the whole worker but the NIC
 *   engine/ivr_tick_sparse_32k         the same for 1,024 channels spread over a table of
 *                                     32,768 (every 32nd in use, as after a day of calls
 *                                     on a medleyd sized for the busy hour): what the idle
 *                                     entries cost the tick; items are live channel-frames */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_shim.h"
#include "dsp/g711.h"
#include "dsp/tone.h"
#include "engine/conf.h"
#include "engine/media.h"
#include "engine/mem.h"
#include "engine/txpkt.h"

void md_microbench_register_engine(void);

#define NCH_MAX 16384
#define NCH_ALL 30720   /* ports 2000-63439 */

/* The worker's send pass over a batch of a tick (md_worker_media_t.out), without the
 * NIC: the output made final and the packet built. */
typedef struct {
    md_worker_media_t *w;
    uint8_t *wire;
    size_t wire_len;
    long sent;
} bench_out_t;

static void bench_send(void *arg, const uint32_t *slots, unsigned n)
{
    bench_out_t *o = arg;
    md_worker_media_t *w = o->w;
    for (unsigned k = 0; k < n; k++) {
        uint32_t c = slots[k];
        if (k + 4 < n)
            md_media_prefetch_out(w, slots[k + 4]);
        md_media_tick_out(w, c);
        uint8_t buf[MD_FRAME];
        md_media_t *m = &w->media[c];
        const uint8_t *payload = md_media_g711_payload(w, &w->table->chans[c], m, buf);
        if (payload == NULL)
            continue;
        o->sent += md_tx_build(&m->tx, 0, payload, MD_FRAME, 160, o->wire, o->wire_len) > 0;
    }
}

static void bm_engine_rx(md_bench_state_t *st, void *arg)
{
    const int full = (intptr_t)arg != 0, sparse = (intptr_t)arg == 2;
    const int NCH = sparse ? NCH_ALL : full ? NCH_MAX : 1024;
    const int stride = sparse ? 30 : 1;   /* channels in use: every stride-th */
    const int live = NCH / stride;
    md_channel_t *chans = md_zalloc_lines(NCH, sizeof(md_channel_t));
    md_media_t *media = md_zalloc_lines(NCH, sizeof(md_media_t));
    md_event_ring_t *events = calloc(1, sizeof(md_event_ring_t));
    md_tx_template_t *peers = calloc(NCH, sizeof(md_tx_template_t));
    static uint8_t frames[NCH_ALL][256];
    static uint16_t flen[NCH_ALL];
    static uint8_t wire[256];
    md_prompt_t prompt = { 0 };
    int16_t *prompt_pcm = calloc(8000, sizeof(int16_t));
    md_chan_table_t t;
    if (!chans || !media || !events || !peers || !prompt_pcm || md_chan_table_init(&t, chans, NCH, sparse ? 2000 : 20000) != 0) {
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
        if (full) {
            /* The way back, as the worker fills it from the first packet, and a prompt. */
            md_tx_template_t *b = &media[c].tx;
            *b = *p;
            memcpy(b->src_ip, p->dst_ip, sizeof(b->src_ip));
            memcpy(b->dst_ip, p->src_ip, sizeof(b->dst_ip));
            b->src_port = port;
            b->dst_port = 4000;
            media[c].tx_ready = 1;
            md_media_play(&media[c], &prompt, 65535, 0);
        }
    }
    for (int c = 0; c < NCH; c++)
        if (c % stride != 0)
            md_chan_delete(&t, (uint32_t)c);   /* sparse: only every stride-th stays */
    for (int i = 0; i < 8000; i++)
        prompt_pcm[i] = (int16_t)((i * 7919 % 4001) - 2000);
    prompt.pcm = prompt_pcm;
    prompt.samples = 8000;
    if (md_prompt_encode_g711(&prompt) != 0) {   /* as the prompt store does */
        md_bench_fail(st, "no memory for the prompt's G.711 copies");
        goto out;
    }
    md_worker_media_t w = { .table = &t, .media = media, .events = events,
                            .isa = md_cpu_default_isa() };
    static uint32_t deferred[NCH_ALL];
    static int16_t scratch[MD_TICK_BATCH][MD_FRAME] __attribute__((aligned(64)));
    bench_out_t out = { .w = &w, .wire = wire, .wire_len = sizeof(wire), .sent = 0 };
    if (full) {
        w.out = bench_send;
        w.out_arg = &out;
        w.deferred = deferred;
        w.scratch = scratch;
    }
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
        for (int c = 0; c < NCH; c += stride) {
            flen[c] = (uint16_t)md_tx_build(&peers[c], 0, ulaw[(f + c) % 50], 160, 160,
                                            frames[c], sizeof(frames[c]));
        }
        md_bench_resume_timing(st);
        for (int c = 0; c < NCH; c += stride) {
            md_pkt_t p;
            if (md_pkt_parse(frames[c], flen[c], &p) != MD_PKT_UDP)
                continue;
            int rtcp;
            md_channel_t *ch = md_chan_lookup(&t, p.dport, &rtcp);
            md_4733_digit_t d[2];
            int nd;
            md_chan_receive(ch, &p, rtcp, frames[c] + p.payload_off, p.payload_len, now * 8, d, &nd);
        }
        if (full) {
            /* As the worker does: each batch's output once it is decoded (bench_send). */
            out.sent = 0;
            md_media_tick_in(&w, now);
            if (out.sent != live || w.n_deferred != 0)
                md_bench_fail(st, "a channel sent nothing");
        } else {
            md_media_tick(&w, now);
        }
        md_event_t ev;
        while (md_event_pop(events, &ev)) {
            digits += ev.type == MD_EV_DIGIT;
            wrong += ev.type != MD_EV_DIGIT || ev.digit != '5' || ev.source != MD_DIGIT_INBAND;
        }
        now += 20;
        f++;
    }
    md_bench_set_items_per_iteration(st, live);
    md_bench_counter(st, "bytes_per_channel", (double)(sizeof(md_channel_t) + sizeof(md_media_t)));
    /* Channel c sends the tone in iterations f with (f + c) % 50 in 10..12, so its tones
     * start at s0 + 50 m (s0 = (10 - c) mod 50). Whole tones with 10 frames to spare for
     * the jitter buffer and the detector must be reported; a tone cut by the start of
     * the run (c % 50 is 11 or 12) may be. */
    long lo = 0, hi = 0;
    for (int c = 0; c < NCH; c += stride) {
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
    free(prompt_pcm);
    free(prompt.ulaw);
}

/* Conferences (engine/conf.h): one worker's conference pass, the members' frames already
 * decoded. Items are member-frames. Modes:
 *   0  conf/3party_x3334: 10,002 members in 3,334 three-party conferences, everyone
 *      talking (each member's frame is its own N-1 mix)
 *   1  conf/1000_members: one conference of 1,000 members, K = 3, five talkers (bursts
 *      of 1 s talk / 0.5 s pause, so the detector keeps calling them talking), the rest
 *      low noise
 *   2  conf/1000_members_encode_each: mode 1 plus a G.711 encode of every member's frame
 *      (what the worker's transmit path does today)
 *   3  conf/1000_members_encode_shared: mode 1 plus what the worker does: one encode
 *      of the common frame per tick (md_conf_shared_payload), copied for every member
 *      that hears it unmodified, and an encode for the others
 * After the loop each mode checks frames: a 3-party member hears exactly the other two;
 * in the large conference a listener hears exactly the three loudest talkers. */
typedef struct {
    md_channel_t *chans;
    md_media_t *media;
    md_conf_member_t *members;
    md_conf_t *confs;
    md_conf_set_t *set;
    md_event_ring_t *events;
    md_chan_table_t t;
    md_worker_media_t w;
} conf_bench_t;

static void conf_bench_free(conf_bench_t *b)
{
    free(b->chans);
    free(b->media);
    free(b->members);
    free(b->confs);
    free(b->set);
    free(b->events);
}

static int conf_bench_init(conf_bench_t *b, unsigned n, unsigned nconf)
{
    memset(b, 0, sizeof(*b));
    b->chans = md_zalloc_lines(n, sizeof(md_channel_t));
    b->media = md_zalloc_lines(n, sizeof(md_media_t));
    b->members = calloc(n, sizeof(md_conf_member_t));
    b->confs = calloc(nconf, sizeof(md_conf_t));
    b->set = calloc(1, sizeof(md_conf_set_t));
    b->events = calloc(1, sizeof(md_event_ring_t));
    if (!b->chans || !b->media || !b->members || !b->confs || !b->set || !b->events ||
        md_chan_table_init(&b->t, b->chans, n, 10000) != 0)
        return -1;
    md_event_ring_init(b->events);
    md_conf_set_init(b->set, b->confs, nconf, b->members, n);
    md_chan_params_t prm = { .codec = MD_CODEC_PCMU, .pt = 0, .event_pt = 101, .jb_depth = 2,
                             .learn = 1 };
    for (unsigned c = 0; c < n; c++) {
        if (md_chan_create(&b->t, &prm, NULL) < 0)
            return -1;
        md_media_init(&b->media[c], 0, 0);
    }
    b->w = (md_worker_media_t){ .table = &b->t, .media = b->media, .events = b->events,
                                .isa = md_cpu_default_isa(), .conf = b->set };
    return 0;
}

static void bm_conf(md_bench_state_t *st, void *arg)
{
    int mode = (int)(intptr_t)arg;
    unsigned n = mode == 0 ? 10002 : 1000, nconf = mode == 0 ? 3334 : 1;
    conf_bench_t b;
    static uint8_t wire[10002][160];
    static uint8_t common_enc[160];
    if (conf_bench_init(&b, n, nconf) != 0) {
        md_bench_fail(st, "set-up failed");
        conf_bench_free(&b);
        return;
    }
    /* Signals: tones on exact bins for talkers, +-20 noise for the others. */
    static int16_t talk[5][160], noise[160];
    const double hz[5] = { 500, 700, 900, 1100, 1700 }, amp[5] = { 9000, 6000, 3000, 1500, 700 };
    for (int k = 0; k < 5; k++)
        for (int i = 0; i < 160; i++)
            talk[k][i] = (int16_t)lrint(amp[k] * sin(2 * M_PI * hz[k] * i / 8000.0));
    for (int i = 0; i < 160; i++)
        noise[i] = (int16_t)((i * 7919 % 41) - 20);
    static const unsigned who[5] = { 17, 400, 999, 3, 512 };
    for (unsigned c = 0; c < nconf; c++)
        if (md_conf_create(b.set, 3, 0, NULL) != (int)c) {
            md_bench_fail(st, "md_conf_create failed");
            conf_bench_free(&b);
            return;
        }
    for (unsigned i = 0; i < n; i++) {
        md_conf_add(&b.w, b.set, mode == 0 ? i / 3 : 0, i, MD_CONF_ROLE_PARTY, 0, 0, 0, 0, 0);
        memcpy(b.media[i].pcm, mode == 0 ? talk[i % 3] : noise, sizeof(noise));
    }
    /* Warm-up, not timed: 5 ticks of noise give the talkers' detectors their floor. */
    for (int k = 0; k < 5; k++) {
        for (unsigned i = 0; i < n; i++)
            b.media[i].have_out = 0;
        md_conf_tick(&b.w, 0);
    }
    long f = 0;
    while (md_bench_keep_running(st)) {
        if (mode != 0) {
            int on = f % 75 < 50;   /* 1 s talk, 0.5 s pause */
            for (int k = 0; k < 5; k++)
                memcpy(b.media[who[k]].pcm, on ? talk[k] : noise, sizeof(noise));
        }
        for (unsigned i = 0; i < n; i++)
            b.media[i].have_out = 0;
        md_conf_tick(&b.w, (uint64_t)f * 20);
        if (mode == 2) {
            for (unsigned i = 0; i < n; i++)
                md_ulaw_encode(wire[i], b.media[i].out, 160);
        } else if (mode == 3) {
            /* The engine's way (worker.c): a member whose output is the conference's
             * common frame takes its payload encoded once (md_conf_shared_payload). */
            for (unsigned i = 0; i < n; i++) {
                const uint8_t *p = NULL;
                if (b.media[i].conf_share)
                    p = md_conf_shared_payload(b.set, i, b.media[i].conf_share, 0, b.media[i].out);
                if (p != NULL)
                    memcpy(wire[i], p, 160);
                else
                    md_ulaw_encode(wire[i], b.media[i].out, 160);
            }
            md_ulaw_encode(common_enc, b.set->mask_frame[0], 160);
        }
        md_event_t ev;
        while (md_event_pop(b.events, &ev))
            ;
        f++;
    }
    md_bench_set_items_per_iteration(st, n);
    /* Check the last tick's frames. */
    int bad = 0;
    if (mode == 0) {
        for (unsigned i = 0; i < n && !bad; i++)
            for (int s = 0; s < 160; s++) {
                int32_t want = 0;
                for (unsigned j = i / 3 * 3; j < i / 3 * 3 + 3; j++)
                    want += j == i ? 0 : b.media[j].pcm[s];
                bad += b.media[i].out[s] != want;
            }
    } else if ((f - 1) % 75 >= 2 && (f - 1) % 75 < 50) {   /* the last tick: talking */
        for (int s = 0; s < 160; s++) {
            int32_t want = talk[0][s] + talk[1][s] + talk[2][s];
            bad += b.media[1].out[s] != want || b.media[17].out[s] != want - talk[0][s];
        }
        if (mode == 3)
            bad += memcmp(wire[1], common_enc, 160) != 0;
    }
    if (bad) {
        md_bench_fail(st, "conference frames differ from the expected mix");
    } else {
        md_bench_counter(st, "members", (double)n);
        md_bench_counter(st, "bytes_per_member", (double)sizeof(md_conf_member_t));
    }
    conf_bench_free(&b);
}

void md_microbench_register_engine(void)
{
    md_bench_register("engine/receive_decode_dtmf", bm_engine_rx, NULL);
    md_bench_register("engine/ivr_tick_16k", bm_engine_rx, (void *)(intptr_t)1);
    md_bench_register("engine/ivr_tick_sparse_32k", bm_engine_rx, (void *)(intptr_t)2);
    md_bench_register("conf/3party_x3334", bm_conf, (void *)(intptr_t)0);
    md_bench_register("conf/1000_members", bm_conf, (void *)(intptr_t)1);
    md_bench_register("conf/1000_members_encode_each", bm_conf, (void *)(intptr_t)2);
    md_bench_register("conf/1000_members_encode_shared", bm_conf, (void *)(intptr_t)3);
}
