/* Bridging over the ring PMD: a PCMU channel and a PCMA channel bridged both ways; what
 * one caller says reaches the other transcoded, sample for sample after G.711's own
 * quantisation, a jitter-buffer depth later. */
#include <errno.h>
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
    if (ring_port_open(&rp, "br", 2047, 512, 1024, 1) != 0)
        return 1;
    const uint16_t port = rp.port;

    md_iface_t ifc = { .mac = { 2, 0xaa, 0, 0, 0, 1 }, .has_ip4 = 1, .ip4 = { 10, 0, 0, 2 } };
    md_event_ring_init(&events);
    CHECK(md_worker_init(&w, (uint16_t)port, rp.pool, &ifc, chans, media, MAX, 20000, &events) == 0);
    /* Channel 0 speaks PCMU, channel 1 PCMA; bridged, each hears the other. */
    md_chan_params_t prm = { .codec = MD_CODEC_PCMU, .pt = 0, .event_pt = 101, .jb_depth = 2,
                             .learn = 1 };
    uint16_t ports[2];
    CHECK(md_chan_create(&w.table, &prm, &ports[0]) == 0);
    prm.codec = MD_CODEC_PCMA;
    prm.pt = 8;
    CHECK(md_chan_create(&w.table, &prm, &ports[1]) == 1);
    for (int i = 0; i < 2; i++)
        md_media_init(&media[i], 0, 0);
    CHECK(md_media_bridge(&w.wm, 0, 0) == -EINVAL && md_media_bridge(&w.wm, 0, 3) == -EINVAL);
    CHECK(md_media_bridge(&w.wm, 0, 1) == 0);

    md_tx_template_t peer[2];
    for (int c = 0; c < 2; c++) {
        md_tx_template_t t = { .src_mac = { 2, 0xbb, 0, 0, 0, (uint8_t)c },
                               .dst_mac = { 2, 0xaa, 0, 0, 0, 1 }, .ip_version = 4,
                               .src_port = (uint16_t)(5000 + 2 * c), .dst_port = ports[c],
                               .ttl = 64, .pt = (uint8_t)(c ? 8 : 0), .ssrc = 0x77u + (uint32_t)c };
        memcpy(t.src_ip, "\x0a\x00\x00\x00", 4);
        t.src_ip[3] = (uint8_t)(20 + c);
        memcpy(t.dst_ip, ifc.ip4, 4);
        peer[c] = t;
    }
    /* Peer 0 talks: a sweep; peer 1 is silent. */
    static int16_t talk[40 * 160];
    for (int i = 0; i < 40 * 160; i++)
        talk[i] = (int16_t)lrint(5000 * sin(2 * M_PI * (200 + i * 0.1) * i / 8000.0));
    uint8_t frame[1600], pl[160];
    int16_t silence[160];
    memset(silence, 0, sizeof(silence));
    for (int f = 0; f < 40; f++) {
        md_ulaw_encode(pl, talk + f * 160, 160);
        ring_port_inject(&rp, frame, md_tx_build(&peer[0], 0, pl, 160, 160, frame, sizeof(frame)));
        md_alaw_encode(pl, silence, 160);
        ring_port_inject(&rp, frame, md_tx_build(&peer[1], 0, pl, 160, 160, frame, sizeof(frame)));
        while (md_worker_poll(&w) > 0)
            ;
        md_worker_tick(&w, (uint64_t)f * 20);
    }

    /* What each peer received. */
    static int16_t heard[2][40 * 160];
    size_t nheard[2] = { 0, 0 };
    int pt_ok = 1;
    struct rte_mbuf *m = NULL;
    while (rte_ring_dequeue(rp.tx[0], (void **)&m) == 0) {
        md_pkt_t p;
        const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
        if (md_pkt_parse(d, rte_pktmbuf_data_len(m), &p) == MD_PKT_UDP) {
            int c = p.dport == 5000 ? 0 : 1;
            md_rtp_hdr_t h;
            CHECK(md_rtp_parse(d + p.payload_off, p.payload_len, &h) == MD_RTP_OK);
            pt_ok &= h.pt == (c ? 8 : 0);
            if (nheard[c] + 160 <= 40 * 160) {
                if (c)
                    md_alaw_decode(heard[c] + nheard[c], d + p.payload_off + h.payload_off, 160);
                else
                    md_ulaw_decode(heard[c] + nheard[c], d + p.payload_off + h.payload_off, 160);
                nheard[c] += 160;
            }
        }
        rte_pktmbuf_free(m);
    }
    CHECK(pt_ok && nheard[0] >= 30 * 160 && nheard[1] >= 30 * 160);
    /* Peer 1 hears peer 0's sweep, transcoded µ-law -> linear -> A-law, a few frames late
     * (the jitter buffer's depth): find the delay, then every sample must match. */
    int best_delay = -1;
    for (int delay = 0; delay <= 10 && best_delay < 0; delay++) {
        int bad = 0;
        for (size_t i = 0; i + (size_t)delay * 160 < nheard[1] && i < 20 * 160; i++) {
            int16_t want = md_alaw_decode1(md_alaw_encode1(md_ulaw_decode1(md_ulaw_encode1(talk[i]))));
            bad += heard[1][i + (size_t)delay * 160] != want;
        }
        if (bad == 0)
            best_delay = delay;
    }
    CHECKF(best_delay >= 1 && best_delay <= 4, "no alignment of the bridged audio (delay %d)", best_delay);
    /* Peer 0 hears peer 1's silence (A-law has no zero: its quietest codes are +-8). */
    int loud = 0;
    for (size_t i = 0; i < nheard[0]; i++)
        loud += heard[0][i] > 16 || heard[0][i] < -16;
    CHECK(loud == 0);

    ring_port_close(&rp);
    rte_eal_cleanup();
    return check_summary("bridge-ring");
}
