/* Moving a channel between workers (issue 4: a conference's members live on its worker),
 * over the ring PMD with two workers in one process sharing one port (one receive queue:
 * worker 0 receives everything and dispatches by port range; a transmit queue each).
 *
 * A PCMU channel of worker A (its home: its port is in A's range) receives RTP from a
 * peer and plays a prompt to it. Mid-stream it moves to worker B (DETACH on A, the state
 * copied, ATTACH on B), back home to A, and to B again, then is deleted. Checked:
 * - what the peer receives keeps the same source port and SSRC, sequence numbers and
 *   timestamps go on by one frame each across every move, no new talkspurt (marker), and
 *   the prompt's audio continues sample for sample; the packets leave from the worker the
 *   channel is on;
 * - an in-band digit keyed across a move is reported once, with its whole duration, and
 *   an RFC 4733 event across another once, with its duration;
 * - datagrams to its port (RTP and RTCP) after a move are processed by B (A hands them
 *   over; A's copy of the channel does not change, nothing is dropped);
 * - deleting it frees B's slot and import and A's reserved slot; its port is then no
 *   channel's; a bridged channel cannot be detached; a stale FORWARD is refused. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dsp/g711.h"
#include "dsp/tone.h"
#include "engine/cmd.h"
#include "engine/rtp.h"
#include "engine/txpkt.h"
#include "engine/worker.h"
#include "tests/check.h"
#include "tests/engine/ring_port.h"

#define MAX 8
#define FRAMES 200
#define PEER_PORT 4000

static ring_port_t rp;
static struct rte_ring *inbox[2];
static md_channel_t chans[2][MAX];
static md_media_t media[2][MAX];
static md_event_ring_t events[2];
static md_worker_t wk[2];
static md_worker_t *peers[2] = { &wk[0], &wk[1] };

static void pump(void)
{
    for (int k = 0; k < 4; k++) {
        md_worker_poll(&wk[0]);
        md_worker_poll(&wk[1]);
    }
}

static int exec(int w, md_cmd_t *c, md_cmd_reply_t *r)
{
    md_cmd_exec(&wk[w].wm, c, r);
    return r->status;
}

/* What the control thread does (control/ctl.c md_ctl_move): detach, copy, attach, and
 * tell the home worker where the datagrams go when it is neither end. */
static int move(int from, int to, int home, uint32_t home_slot, uint32_t home_id, uint32_t *slot,
                uint32_t *id)
{
    static md_channel_t ch;
    static md_media_t m;
    md_cmd_t c;
    md_cmd_reply_t r;
    memset(&c, 0, sizeof(c));
    c.type = MD_CMD_DETACH;
    c.slot = *slot;
    c.id = *id;
    c.slot2 = (uint32_t)to + 1;
    if (exec(from, &c, &r) != 0)
        return r.status;
    ch = wk[from].table.chans[*slot];
    m = wk[from].media[*slot];
    memset(&c, 0, sizeof(c));
    c.type = MD_CMD_ATTACH;
    c.move_ch = &ch;
    c.move_m = &m;
    if (exec(to, &c, &r) != 0)
        return r.status;
    *slot = r.info.slot;
    *id = r.info.id;
    if (to != home && from != home) {
        memset(&c, 0, sizeof(c));
        c.type = MD_CMD_FORWARD;
        c.slot = home_slot;
        c.id = home_id;
        c.slot2 = (uint32_t)to + 1;
        return exec(home, &c, &r);
    }
    return 0;
}

typedef struct {
    int queue, f;
    uint16_t sport, seq;
    uint32_t ssrc, ts;
    int marker;
    int16_t pcm[160];
} sent_t;

static sent_t sent[FRAMES * 2];
static int n_sent;

static void drain(int f)
{
    for (int q = 0; q < 2; q++) {
        struct rte_mbuf *m;
        while (rte_ring_dequeue(rp.tx[q], (void **)&m) == 0) {
            md_pkt_t p;
            const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
            md_rtp_hdr_t h;
            if (md_pkt_parse(d, rte_pktmbuf_data_len(m), &p) == MD_PKT_UDP && p.dport == PEER_PORT &&
                md_rtp_parse(d + p.payload_off, p.payload_len, &h) == MD_RTP_OK &&
                h.payload_len == 160 && n_sent < FRAMES * 2) {
                sent_t *s = &sent[n_sent++];
                s->queue = q;
                s->f = f;
                s->sport = p.sport;
                s->seq = h.seq;
                s->ssrc = h.ssrc;
                s->ts = h.ts;
                s->marker = h.marker;
                md_ulaw_decode(s->pcm, d + p.payload_off + h.payload_off, 160);
            }
            rte_pktmbuf_free(m);
        }
    }
}

int main(void)
{
    if (ring_port_open(&rp, "mv", 2047, 512, 512, 2) != 0)
        return 1;
    const uint16_t port = rp.port;
    inbox[0] = rte_ring_create("mv_in0", 512, SOCKET_ID_ANY, RING_F_SC_DEQ);
    inbox[1] = rte_ring_create("mv_in1", 512, SOCKET_ID_ANY, RING_F_SC_DEQ);

    md_iface_t ifc = { .mac = { 2, 0xaa, 0, 0, 0, 1 }, .has_ip4 = 1, .ip4 = { 10, 0, 0, 2 } };
    for (int i = 0; i < 2; i++) {
        md_event_ring_init(&events[i]);
        CHECK(md_worker_init(&wk[i], (uint16_t)port, rp.pool, &ifc, chans[i], media[i], MAX,
                             (uint16_t)(20000 + 2 * MAX * i), &events[i]) == 0);
    }
    for (int i = 0; i < 2; i++)
        md_worker_share(&wk[i], peers, 2, inbox[i], (unsigned)i, 1);

    /* The channel: on A (worker 0), slot 1 (slot 0 is another call that stays). */
    md_chan_params_t prm = { .codec = MD_CODEC_PCMU, .pt = 0, .event_pt = 101, .jb_depth = 2,
                             .learn = 1 };
    md_cmd_t c;
    md_cmd_reply_t r;
    memset(&c, 0, sizeof(c));
    c.type = MD_CMD_CREATE;
    c.prm = prm;
    c.inband = 1;
    CHECK(exec(0, &c, &r) == 0 && r.info.slot == 0);
    uint32_t other_slot = r.info.slot, other_id = r.info.id;
    CHECK(exec(0, &c, &r) == 0 && r.info.slot == 1);
    const uint32_t home_slot = r.info.slot, home_id = r.info.id;
    const uint16_t xport = r.info.local_port;
    uint32_t slot = home_slot, id = home_id;
    int where = 0;
    CHECK(xport == 20002);

    /* Its prompt: a slow sweep, longer than the test. */
    static int16_t sweep[FRAMES * 160 + 1600];
    for (size_t i = 0; i < sizeof(sweep) / sizeof(sweep[0]); i++)
        sweep[i] = (int16_t)lrint(6000 * sin(2 * M_PI * (300 + i * 0.02) * (double)i / 8000.0));
    md_prompt_t prompt = { .name = "sweep", .pcm = sweep, .samples = sizeof(sweep) / sizeof(sweep[0]) };
    md_media_play(&media[0][home_slot], &prompt, 1, 0);

    /* The peer: silence, an in-band '5' of 400 ms in frames 40-59 (the first move is at
     * 50), an RFC 4733 '9' in frames 120-129 (160 ms, ended three times; the move home
     * is at 125). */
    md_tx_template_t pt = { .src_mac = { 2, 0xbb, 0, 0, 0, 1 }, .dst_mac = { 2, 0xaa, 0, 0, 0, 1 },
                            .ip_version = 4, .src_port = PEER_PORT, .dst_port = xport, .ttl = 64,
                            .pt = 0, .ssrc = 0x5151u, .seq = 100, .ts = 7777 };
    memcpy(pt.src_ip, "\x0a\x00\x00\x0b", 4);
    memcpy(pt.dst_ip, ifc.ip4, 4);
    static int16_t five[8000];
    CHECK(md_tone_dial(five, 8000, "5", -12, 0, 400, 100) > 3200);
    uint8_t frame[1600], pl[160];
    int16_t pcm[160];
    uint64_t a_rx_at_move = 0, fwd_at_move = 0, sent_after_move = 0;
    int moves_ok = 1;

    for (int f = 0; f < FRAMES; f++) {
        if (f == 50) {   /* A -> B, mid-digit and mid-prompt */
            a_rx_at_move = chans[0][home_slot].st.rx_packets;
            fwd_at_move = wk[0].forwarded;
            moves_ok &= move(0, 1, 0, home_slot, home_id, &slot, &id) == 0;
            where = 1;
            CHECK(!chans[0][home_slot].in_use && chans[0][home_slot].fwd == 2);
            CHECK(chans[1][slot].in_use && chans[1][slot].local_port == xport);
            CHECK(wk[1].imports[xport >> 1] == slot + 1);
            CHECK(wk[0].table.used == 2 && wk[1].table.used == 1);
        }
        if (f == 125) {   /* B -> A (home), mid-event */
            moves_ok &= move(1, 0, 0, home_slot, home_id, &slot, &id) == 0;
            where = 0;
            CHECK(slot == home_slot && chans[0][home_slot].in_use && chans[0][home_slot].fwd == 0);
            CHECK(wk[1].imports[xport >> 1] == 0 && wk[1].table.used == 0);
        }
        if (f == 150) {   /* A -> B again */
            moves_ok &= move(0, 1, 0, home_slot, home_id, &slot, &id) == 0;
            where = 1;
        }
        if (f == 180) {   /* deleted on B: B's slot and import, A's reserved slot freed */
            memset(&c, 0, sizeof(c));
            c.type = MD_CMD_FORWARD;
            c.slot = home_slot;
            c.id = home_id + 1000;
            c.slot2 = 0;
            CHECK(exec(0, &c, &r) == -ENOENT);   /* not the id it left with */
            memset(&c, 0, sizeof(c));
            c.type = MD_CMD_DELETE;
            c.slot = slot;
            c.id = id;
            CHECK(exec(1, &c, &r) == 0);
            c.type = MD_CMD_FORWARD;
            c.slot = home_slot;
            c.id = chans[0][home_slot].id;   /* the id it had when it left home */
            CHECK(exec(0, &c, &r) == 0);
            CHECK(wk[1].imports[xport >> 1] == 0 && wk[1].table.used == 0);
            CHECK(chans[0][home_slot].fwd == 0 && !chans[0][home_slot].in_use && wk[0].table.used == 1);
            where = -1;
        }

        memset(pcm, 0, sizeof(pcm));
        if (f >= 40 && f < 60)
            memcpy(pcm, five + (f - 40) * 160, sizeof(pcm));
        if (f >= 120 && f < 130) {
            md_rtp_event_t ev = { .event = 9, .volume = 10, .end = f >= 127,
                                  .duration = (uint16_t)(160 * (f >= 127 ? 8 : f - 119)) };
            uint8_t e4[4];
            md_rtp_event_write(e4, &ev);
            md_tx_template_t te = pt;
            te.pt = 101;
            te.ts = 7777u + 120 * 160;   /* the event's start, constant */
            ring_port_inject(&rp, frame, md_tx_build(&te, f == 120, e4, 4, 0, frame, sizeof(frame)));
            pt.seq = te.seq;
            pt.ts += 160;
        } else {
            md_ulaw_encode(pl, pcm, 160);
            ring_port_inject(&rp, frame, md_tx_build(&pt, f == 0, pl, 160, 160, frame, sizeof(frame)));
        }
        if (f == 100) {   /* an RTCP receiver report to its odd port, on B */
            uint8_t rr[8] = { 0x80, 201, 0, 1, 0, 0, 0x51, 0x51 };
            ring_port_inject(&rp, frame, md_tx_build_udp(&pt, PEER_PORT + 1, (uint16_t)(xport + 1), rr, 8, frame,
                                          sizeof(frame)));
        }
        if (where == 1 && f < 125)
            sent_after_move++;
        pump();
        if (f == 110) {
            CHECKF(chans[0][home_slot].st.rx_packets == a_rx_at_move,
                   "A's copy changed: %llu -> %llu", (unsigned long long)a_rx_at_move,
                   (unsigned long long)chans[0][home_slot].st.rx_packets);
            CHECKF(chans[1][slot].st.rx_packets >= 55, "B received %llu",
                   (unsigned long long)chans[1][slot].st.rx_packets);
            CHECKF(wk[0].forwarded - fwd_at_move == sent_after_move + 1, "A handed over %llu of %llu",
                   (unsigned long long)(wk[0].forwarded - fwd_at_move),
                   (unsigned long long)sent_after_move + 1);
            CHECK(chans[1][slot].st.rtcp == 1);
            CHECK(wk[0].udp_no_channel == 0 && wk[1].udp_no_channel == 0 &&
                  wk[0].dispatch_dropped == 0);
        }
        md_worker_tick(&wk[0], (uint64_t)f * 20);
        md_worker_tick(&wk[1], (uint64_t)f * 20);
        drain(f);
    }
    CHECK(moves_ok);
    /* After the delete: its port is no channel's, on either worker. */
    CHECKF(wk[0].udp_no_channel == FRAMES - 180 && wk[1].udp_no_channel == 0,
           "no channel: A %llu, B %llu", (unsigned long long)wk[0].udp_no_channel,
           (unsigned long long)wk[1].udp_no_channel);

    /* What the peer received, in order. */
    CHECKF(n_sent >= 175 && n_sent <= 181, "%d packets", n_sent);
    int same = 1, consecutive = 1, markers = 0, queues = 1, audio = 1;
    for (int i = 0; i < n_sent; i++) {
        const sent_t *s = &sent[i];
        same &= s->sport == xport && s->ssrc == sent[0].ssrc;
        if (i > 0) {
            consecutive &= s->seq == (uint16_t)(sent[i - 1].seq + 1) && s->ts == sent[i - 1].ts + 160;
            if (!(s->seq == (uint16_t)(sent[i - 1].seq + 1) && s->ts == sent[i - 1].ts + 160))
                fprintf(stderr, "packet %d (frame %d): seq %u ts %u after %u %u\n", i, s->f, s->seq,
                        s->ts, sent[i - 1].seq, sent[i - 1].ts);
            markers += s->marker;
        }
        int want = (s->f >= 50 && s->f < 125) || s->f >= 150 ? 1 : 0;
        queues &= s->queue == want;
        for (int k = 0; k < 160; k++)
            audio &= s->pcm[k] == md_ulaw_decode1(md_ulaw_encode1(sweep[i * 160 + k]));
    }
    CHECK(same);
    CHECK(consecutive);
    CHECK(markers == 0);
    CHECKF(queues, "packets left from the wrong worker");
    CHECKF(audio, "the prompt's audio is not continuous");

    /* Digits: exactly one '5' with its whole 400 ms, one '9' of 160 ms. */
    int fives = 0, nines = 0;
    for (int i = 0; i < 2; i++) {
        md_event_t ev;
        while (md_event_pop(&events[i], &ev)) {
            if (ev.type != MD_EV_DIGIT)
                continue;
            if (ev.digit == '5') {
                fives++;
                CHECKF(ev.source == MD_DIGIT_INBAND && ev.duration_ms >= 360 && ev.duration_ms <= 420 &&
                       ev.start_ms >= 800 && ev.start_ms <= 900,
                       "'5' start %llu ms duration %u ms", (unsigned long long)ev.start_ms, ev.duration_ms);
            } else if (ev.digit == '9') {
                nines++;
                CHECKF(ev.source == MD_DIGIT_RFC4733 && ev.duration_ms == 160, "'9' duration %u ms",
                       ev.duration_ms);
            } else {
                CHECKF(0, "digit %c", ev.digit);
            }
        }
    }
    CHECKF(fives == 1, "%d times '5'", fives);
    CHECKF(nines == 1, "%d times '9'", nines);

    /* What cannot move: a bridged channel. The other call was untouched meanwhile. */
    CHECK(chans[0][other_slot].in_use && chans[0][other_slot].id == other_id);
    memset(&c, 0, sizeof(c));
    c.type = MD_CMD_CREATE;
    c.prm = prm;
    CHECK(exec(0, &c, &r) == 0);
    uint32_t s2 = r.info.slot, id2 = r.info.id;
    CHECK(md_media_bridge(&wk[0].wm, other_slot, s2) == 0);
    memset(&c, 0, sizeof(c));
    c.type = MD_CMD_DETACH;
    c.slot = s2;
    c.id = id2;
    c.slot2 = 2;
    CHECK(exec(0, &c, &r) == -EBUSY && chans[0][s2].in_use);
    /* Every slot of A can be used again (the home slot too). */
    memset(&c, 0, sizeof(c));
    c.type = MD_CMD_CREATE;
    c.prm = prm;
    int created = 0;
    while (exec(0, &c, &r) == 0)
        created++;
    CHECKF(created == MAX - 2 && r.status == -ENOSPC, "created %d more", created);

    ring_port_close(&rp);
    rte_eal_cleanup();
    return check_summary("move-ring");
}
