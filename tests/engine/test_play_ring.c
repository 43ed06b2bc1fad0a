#define _GNU_SOURCE
/* Prompts out on the wire, over the ring PMD: a channel plays a prompt twice to its
 * learnt peer; the frames on the wire are decoded and compared with the prompt sample by
 * sample; RTP sequence and timestamps run on. A second channel plays with barge-in and
 * stops at the first digit the caller keys. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>


#include "dsp/g711.h"
#include "dsp/tone.h"
#include "engine/rtp.h"
#include "engine/worker.h"
#include "tests/check.h"
#include "tests/engine/ring_port.h"

#define MAX 4

static ring_port_t rp;
static md_channel_t chans[MAX];
static md_media_t media[MAX];
static md_event_ring_t events;
static md_worker_t w;

int main(void)
{
    if (ring_port_open(&rp, "pl", 2047, 512, 1024, 1) != 0)
        return 1;
    const uint16_t port = rp.port;

    md_iface_t ifc = { .mac = { 2, 0xaa, 0, 0, 0, 1 }, .has_ip4 = 1, .ip4 = { 10, 0, 0, 2 } };
    md_event_ring_init(&events);
    CHECK(md_worker_init(&w, (uint16_t)port, rp.pool, &ifc, chans, media, MAX, 20000, &events) == 0);
    md_chan_params_t prm = { .codec = MD_CODEC_PCMU, .pt = 0, .event_pt = 101, .jb_depth = 2,
                             .learn = 1 };
    uint16_t ports[2];
    for (int i = 0; i < 2; i++) {
        CHECK(md_chan_create(&w.table, &prm, &ports[i]) == i);
        md_media_init(&media[i], 1, 0);
    }

    /* A 450 ms prompt: a rising sweep, so that any misplaced sample shows. */
    static int16_t prompt_pcm[3600];
    for (int i = 0; i < 3600; i++)
        prompt_pcm[i] = (int16_t)lrint(6000 * sin(2 * M_PI * (300 + i * 0.2) * i / 8000.0));
    md_prompt_t prompt = { .name = "sweep", .pcm = prompt_pcm, .samples = 3600 };

    /* The peers talk first (silence, then on channel 1 the digit 7 at frame 10), so the
     * channels learn where to send. */
    md_tx_template_t peer[2];
    for (int c = 0; c < 2; c++) {
        md_tx_template_t t = { .src_mac = { 2, 0xbb, 0, 0, 0, (uint8_t)c },
                               .dst_mac = { 2, 0xaa, 0, 0, 0, 1 }, .ip_version = 4,
                               .src_port = (uint16_t)(5000 + 2 * c), .dst_port = ports[c],
                               .ttl = 64, .pt = 0, .ssrc = 0x77u + (uint32_t)c };
        memcpy(t.src_ip, "\x0a\x00\x00\x00", 4);
        t.src_ip[3] = (uint8_t)(20 + c);
        memcpy(t.dst_ip, ifc.ip4, 4);
        peer[c] = t;
    }
    static int16_t seven[1600];
    md_tone_dial(seven, 1600, "7", -10, 0, 100, 100);
    uint8_t frame[1600], pl[160];
    int16_t pcm[160];
    int started = 0;
    for (int f = 0; f < 60; f++) {
        for (int c = 0; c < 2; c++) {
            memset(pcm, 0, sizeof(pcm));
            if (c == 1 && f >= 10 && f < 20)
                memcpy(pcm, seven + (f - 10) * 160, sizeof(pcm));
            md_ulaw_encode(pl, pcm, 160);
            ring_port_inject(&rp, frame, md_tx_build(&peer[c], 0, pl, 160, 160, frame, sizeof(frame)));
        }
        while (md_worker_poll(&w) > 0)
            ;
        if (f == 3) {
            md_media_play(&media[0], &prompt, 2, 0);
            md_media_play(&media[1], &prompt, 5, 1);
            started = 1;
        }
        md_worker_tick(&w, (uint64_t)f * 20);
    }
    CHECK(started);

    /* What went out on the wire. */
    static int16_t heard[2][8000];
    size_t nheard[2] = { 0, 0 };
    int frames[2] = { 0, 0 }, seq_ok = 1, addr_ok = 1;
    uint16_t last_seq[2] = { 0, 0 };
    uint32_t last_ts[2] = { 0, 0 };
    struct rte_mbuf *m = NULL;
    while (rte_ring_dequeue(rp.tx[0], (void **)&m) == 0) {
        md_pkt_t p;
        const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
        if (md_pkt_parse(d, rte_pktmbuf_data_len(m), &p) == MD_PKT_UDP) {
            int c = p.sport == ports[0] ? 0 : 1;
            addr_ok &= p.dport == 5000 + 2 * c && p.dst[3] == 20 + c && d[5] == c;
            md_rtp_hdr_t h;
            CHECK(md_rtp_parse(d + p.payload_off, p.payload_len, &h) == MD_RTP_OK);
            if (frames[c] > 0)
                seq_ok &= h.seq == (uint16_t)(last_seq[c] + 1) && h.ts == last_ts[c] + 160;
            last_seq[c] = h.seq;
            last_ts[c] = h.ts;
            if (nheard[c] + 160 <= 8000) {
                md_ulaw_decode(heard[c] + nheard[c], d + p.payload_off + h.payload_off, 160);
                nheard[c] += 160;
            }
            frames[c]++;
        }
        rte_pktmbuf_free(m);
    }
    /* Channel 0: the prompt twice = 7200 samples = 45 frames, then nothing. */
    CHECKF(frames[0] == 45, "channel 0 sent %d frames", frames[0]);
    CHECK(seq_ok && addr_ok);
    int bad = 0;
    for (size_t i = 0; i < 7200 && i < nheard[0]; i++)
        bad += heard[0][i] != md_ulaw_decode1(md_ulaw_encode1(prompt_pcm[i % 3600]));
    CHECKF(bad == 0, "%d samples differ from the prompt", bad);
    /* Channel 1: stopped by the caller's 7, well before five plays. */
    CHECKF(frames[1] > 5 && frames[1] < 30, "channel 1 sent %d frames", frames[1]);

    int done0 = 0, done1 = 0;
    md_event_t ev;
    while (md_event_pop(&events, &ev)) {
        if (ev.type == MD_EV_PROMPT_DONE && ev.channel == chans[0].id)
            done0 += ev.digit == 0;
        if (ev.type == MD_EV_PROMPT_DONE && ev.channel == chans[1].id)
            done1 += ev.digit == '7';
    }
    CHECK(done0 == 1 && done1 == 1);

    /* RTCP: 8 more seconds with the peers talking; peer 0 sends a sender report to the
     * channel's odd port. Each channel reports (RFC 3550: every 5 s, randomised) from its
     * odd port to the peer's, with a block about the peer's stream and a CNAME. */
    md_rtcp_t peer_rtcp;
    md_rtcp_init(&peer_rtcp, 9);
    int reports[2] = { 0, 0 }, srs = 0, blocks_ok = 1, cname_ok = 1;
    for (int f = 60; f < 480; f++) {
        for (int c = 0; c < 2; c++) {
            memset(pl, 0xFF, sizeof(pl));
            ring_port_inject(&rp, frame, md_tx_build(&peer[c], 0, pl, 160, 160, frame, sizeof(frame)));
        }
        if (f == 100) {
            uint8_t sr[128];
            md_rtcp_report_t rep = { .ssrc = 0x77, .sent_since_last = 1, .ntp_ms = 3900000000000ull,
                                     .packets_sent = 100, .now_ms = 2000, .cname = "peer" };
            size_t n = md_rtcp_build(&peer_rtcp, &rep, sr, sizeof(sr));
            md_tx_template_t t = peer[0];
            ring_port_inject(&rp, frame, md_tx_build_udp(&t, (uint16_t)(t.src_port + 1), (uint16_t)(ports[0] + 1),
                                          sr, n, frame, sizeof(frame)));
        }
        while (md_worker_poll(&w) > 0)
            ;
        md_worker_tick(&w, (uint64_t)f * 20);
        while (rte_ring_dequeue(rp.tx[0], (void **)&m) == 0) {
            md_pkt_t p;
            const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
            if (md_pkt_parse(d, rte_pktmbuf_data_len(m), &p) == MD_PKT_UDP && (p.sport & 1)) {
                int c = p.sport == ports[0] + 1 ? 0 : 1;
                CHECK(p.dport == 5001 + 2 * c);
                const uint8_t *r = d + p.payload_off;
                reports[c]++;
                srs += r[1] == 200;
                /* The report block names the peer's SSRC. */
                size_t at = r[1] == 200 ? 28 : 8;
                blocks_ok &= (r[0] & 0x1F) == 1 && p.payload_len > at + 24 &&
                             r[at] == 0 && r[at + 3] == (uint8_t)(0x77 + c);
                cname_ok &= memmem(r, p.payload_len, "medley@10.", 10) != NULL;
                md_rtcp_t check_state;
                md_rtcp_init(&check_state, 1);
                CHECK(md_rtcp_receive(&check_state, r, p.payload_len, 0x77u + (uint32_t)c, 0, 0) == 0);
            }
            rte_pktmbuf_free(m);
        }
    }
    CHECKF(reports[0] >= 1 && reports[0] <= 4 && reports[1] >= 1 && reports[1] <= 4,
           "reports %d %d in 8.4 s", reports[0], reports[1]);
    CHECKF(srs >= 1, "no sender report (the channels sent RTP)");
    CHECK(blocks_ok && cname_ok);
    CHECK(chans[0].rtcp.sr_rx == 1 && chans[0].rtcp.bad == 0 && chans[0].st.rtcp == 1);
    CHECK(chans[0].st.tx_packets >= 45);

    ring_port_close(&rp);
    rte_eal_cleanup();
    return check_summary("play-ring");
}
