/* The whole receive path in process over the ring PMD: real RTP frames (built as a peer
 * would send them) go into the port; the worker parses them, checks the source, buffers,
 * decodes, and finds the digits: in-band DTMF on one channel, RFC 4733 on another, both
 * on a third. Garbage on the wire is counted and dropped. No hugepages, no NIC. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>


#include "dsp/g711.h"
#include "dsp/tone.h"
#include "engine/txpkt.h"
#include "engine/worker.h"
#include "tests/check.h"
#include "tests/engine/ring_port.h"

#define MAX 8

static ring_port_t rp;
static md_channel_t chans[MAX];
static md_media_t media[MAX];
static md_event_ring_t events;
static md_worker_t w;

static md_tx_template_t peer(int n, uint16_t dst_port, uint8_t pt)
{
    md_tx_template_t t = { .src_mac = { 2, 0xbb, 0, 0, 0, (uint8_t)n },
                           .dst_mac = { 2, 0xaa, 0, 0, 0, 1 }, .ip_version = 4,
                           .src_port = (uint16_t)(4000 + 2 * n), .dst_port = dst_port,
                           .ttl = 64, .pt = pt, .ssrc = 0x1000u + (uint32_t)n,
                           .seq = (uint16_t)(1000 * n), .ts = 12345u * (uint32_t)n };
    memcpy(t.src_ip, "\x0a\x00\x00\x00", 4);
    t.src_ip[3] = (uint8_t)(10 + n);
    memcpy(t.dst_ip, "\x0a\x00\x00\x02", 4);
    return t;
}

int main(void)
{
    if (ring_port_open(&rp, "wk", 2047, 512, 256, 1) != 0)
        return 1;
    const uint16_t port = rp.port;

    md_iface_t ifc = { .mac = { 2, 0xaa, 0, 0, 0, 1 }, .has_ip4 = 1, .ip4 = { 10, 0, 0, 2 } };
    md_event_ring_init(&events);
    CHECK(md_worker_init(&w, (uint16_t)port, rp.pool, &ifc, chans, media, MAX, 20000, &events) == 0);
    md_chan_params_t prm = { .codec = MD_CODEC_PCMU, .pt = 0, .event_pt = 101, .jb_depth = 3,
                             .learn = 1 };
    uint16_t ports[3];
    for (int i = 0; i < 3; i++) {
        int idx = md_chan_create(&w.table, &prm, &ports[i]);
        CHECK(idx == i);
        md_media_init(&media[idx], 1, 0);
    }

    /* Peer 0: in-band "2468"; peer 1: RFC 4733 "*" (and silence); peer 2: in-band "0"
     * and RFC 4733 "D". Each frame 20 ms; the worker polls and ticks once per frame. */
    static int16_t dial0[8000 * 3], dial2[8000];
    long n0 = md_tone_dial(dial0, 8000 * 3, "2468", -15, 0, 70, 130);
    long n2 = md_tone_dial(dial2, 8000, "0", -15, 0, 100, 100);
    md_tx_template_t t0 = peer(0, ports[0], 0), t1 = peer(1, ports[1], 0), t2 = peer(2, ports[2], 0);
    uint8_t frame[1600], pl[160];
    int16_t pcm[160];
    for (int f = 0; f < 60; f++) {
        memset(pcm, 0, sizeof(pcm));
        if ((long)(f + 1) * 160 <= n0)
            memcpy(pcm, dial0 + f * 160, sizeof(pcm));
        md_ulaw_encode(pl, pcm, 160);
        ring_port_inject(&rp, frame, md_tx_build(&t0, f == 0, pl, 160, 160, frame, sizeof(frame)));

        /* Peer 1: RFC 4733 '*' in frames 5-9 (end three times), silence otherwise. */
        if (f >= 5 && f <= 11) {
            md_rtp_event_t ev = { .event = 10, .volume = 10, .end = f >= 9,
                                  .duration = (uint16_t)(160 * (f >= 9 ? 5 : f - 4)) };
            uint8_t e4[4];
            md_rtp_event_write(e4, &ev);
            md_tx_template_t te = t1;
            te.pt = 101;
            te.ts = t1.ts - (uint32_t)(f - 5) * 160;   /* the event's start, constant */
            ring_port_inject(&rp, frame, md_tx_build(&te, f == 5, e4, 4, 0, frame, sizeof(frame)));
            t1.seq = te.seq;
        } else {
            memset(pcm, 0, sizeof(pcm));
            md_ulaw_encode(pl, pcm, 160);
            ring_port_inject(&rp, frame, md_tx_build(&t1, 0, pl, 160, 160, frame, sizeof(frame)));
        }
        if (f >= 5 && f <= 11)
            t1.ts += 160;

        memset(pcm, 0, sizeof(pcm));
        if ((long)(f + 1) * 160 <= n2)
            memcpy(pcm, dial2 + f * 160, sizeof(pcm));
        md_ulaw_encode(pl, pcm, 160);
        ring_port_inject(&rp, frame, md_tx_build(&t2, 0, pl, 160, 160, frame, sizeof(frame)));
        if (f == 30) {
            md_rtp_event_t ev = { .event = 15, .volume = 10, .end = 1, .duration = 800 };
            uint8_t e4[4];
            md_rtp_event_write(e4, &ev);
            md_tx_template_t te = t2;
            te.pt = 101;
            ring_port_inject(&rp, frame, md_tx_build(&te, 1, e4, 4, 0, frame, sizeof(frame)));
            t2.seq = te.seq;
        }
        /* Noise on the wire: a bleed attempt (another source to port 0's channel), a
         * datagram to a port with no channel, a truncated frame. */
        if (f == 20) {
            md_tx_template_t evil = peer(5, ports[0], 0);
            ring_port_inject(&rp, frame, md_tx_build(&evil, 0, pl, 160, 160, frame, sizeof(frame)));
            md_tx_template_t stray = peer(6, 29000, 0);
            ring_port_inject(&rp, frame, md_tx_build(&stray, 0, pl, 160, 160, frame, sizeof(frame)));
            ring_port_inject(&rp, frame, 30);
        }
        while (md_worker_poll(&w) > 0)
            ;
        md_worker_tick(&w, (uint64_t)f * 20);
    }
    for (int f = 60; f < 100; f++)
        md_worker_tick(&w, (uint64_t)f * 20);

    char got[3][8] = { "", "", "" };
    int ng[3] = { 0 };
    md_event_t ev;
    while (md_event_pop(&events, &ev)) {
        if (ev.type != MD_EV_DIGIT)
            continue;
        for (int c = 0; c < 3; c++)
            if (ev.channel == chans[c].id && ng[c] < 7) {
                got[c][ng[c]++] = ev.digit;
                if (ev.source == MD_DIGIT_RFC4733)
                    CHECK(ev.digit == '*' || ev.digit == 'D');
            }
    }
    CHECKF(strcmp(got[0], "2468") == 0, "channel 0: '%s'", got[0]);
    CHECKF(strcmp(got[1], "*") == 0, "channel 1: '%s'", got[1]);
    CHECKF(strchr(got[2], '0') && strchr(got[2], 'D') && ng[2] == 2, "channel 2: '%s'", got[2]);
    CHECK(chans[0].st.wrong_source == 1);
    CHECK(w.udp_no_channel == 1 && w.dp.st.verdict[MD_PKT_DROP_SHORT] == 1);
    CHECK(media[0].concealed <= MD_JB_OUTAGE);   /* only after the stream stopped */

    /* A backlog (a stall, a burst) is taken in one poll, not one burst of it: a worker
     * that is behind polls only between channels of its ticks, and must then take more
     * than arrives. 200 datagrams to a port with no channel: all counted by one poll. */
    uint64_t stray_before = w.udp_no_channel;
    md_tx_template_t stray = peer(7, 29002, 0);
    for (int i = 0; i < 200; i++)
        ring_port_inject(&rp, frame, md_tx_build(&stray, 0, pl, 160, 160, frame, sizeof(frame)));
    unsigned took = md_worker_poll(&w);
    CHECKF(took == 200 && w.udp_no_channel - stray_before == 200,
           "one poll took %u of a 200-packet backlog", took);
    CHECK(md_worker_poll(&w) == 0);

    /* The loop's paced poll (md_worker_poll_paced): within MD_POLL_GAP_US of the last one
     * it does not poll; after the gap it takes everything; after a poll that stopped at
     * its cap it polls again at once. */
    const uint64_t gap = w.poll_gap, pt0 = 1000 * gap;
    CHECK(gap > 0);
    CHECK(md_worker_poll_paced(&w, pt0) == 0);   /* polls: nothing there */
    for (int i = 0; i < 10; i++)
        ring_port_inject(&rp, frame, md_tx_build(&stray, 0, pl, 160, 160, frame, sizeof(frame)));
    CHECK(md_worker_poll_paced(&w, pt0 + gap / 2) == 0);   /* too soon: left waiting */
    CHECK(md_worker_poll_paced(&w, pt0 + gap - 1) == 0);
    CHECK(md_worker_poll_paced(&w, pt0 + gap) == 10);
    const unsigned cap = MD_POLL_MAX_BURSTS * MD_DP_BURST;
    for (unsigned i = 0; i < cap + 40; i++)
        ring_port_inject(&rp, frame, md_tx_build(&stray, 0, pl, 160, 160, frame, sizeof(frame)));
    CHECK(md_worker_poll_paced(&w, pt0 + 2 * gap) == cap);
    CHECK(md_worker_poll_paced(&w, pt0 + 2 * gap + 1) == 40);   /* more was waiting */
    CHECK(md_worker_poll_paced(&w, pt0 + 2 * gap + 2) == 0);

    ring_port_close(&rp);
    rte_eal_cleanup();
    return check_summary("worker-ring");
}
