/* The worker. */
#include "engine/worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include "dsp/g711.h"
#include "engine/conf.h"

static int deliver(md_worker_t *w, struct rte_mbuf *m, const md_pkt_t *p);

/* The worker whose port range holds dport, or NULL. */
static md_worker_t *owner(md_worker_t *w, uint16_t dport)
{
    for (unsigned i = 0; i < w->n_peers; i++) {
        const md_chan_table_t *t = &w->peers[i]->table;
        if (dport >= t->port_base && (uint32_t)(dport - t->port_base) < 2 * t->max)
            return w->peers[i];
    }
    return NULL;
}

static int on_udp(void *arg, struct rte_mbuf *m, const md_pkt_t *p)
{
    md_worker_t *w = arg;
    if (w->n_peers > 1) {
        md_worker_t *o = owner(w, p->dport);
        if (o != NULL && o != w) {
            if (rte_ring_enqueue(o->inbox, m) != 0) {
                w->dispatch_dropped++;
                rte_pktmbuf_free(m);
            } else {
                w->dispatched++;
            }
            return 1;
        }
    }
    return deliver(w, m, p);
}

/* Before a burst is delivered: the lines of the channel each datagram is for (RTP only;
 * RTCP is rare), and the jitter-buffer slot its sequence number will be stored in. */
static void on_udp_prefetch(void *arg, const struct rte_mbuf *m, const md_pkt_t *p)
{
    md_worker_t *w = arg;
    const md_chan_table_t *t = &w->table;
    uint32_t off = (uint32_t)(p->dport - t->port_base);
    if (p->dport < t->port_base || (off & 1) || off / 2 >= t->max || p->payload_len < 12)
        return;
    const md_channel_t *ch = &t->chans[off / 2];
    md_chan_prefetch(ch);
    const uint8_t *rtp = rte_pktmbuf_mtod(m, const uint8_t *) + p->payload_off;
    uint16_t seq = (uint16_t)(rtp[2] << 8 | rtp[3]);
    size_t len = p->payload_len - 12u;   /* at least the payload: a CSRC list only shortens it */
    md_chan_prefetch_slot(ch, seq, len < MD_JB_MAX_PAYLOAD ? len : MD_JB_MAX_PAYLOAD);
}

/* A datagram whose port has no channel of this worker's own: a channel of this range that
 * moved to another worker (its slot's fwd: handed to that worker's inbox, *handed set), or
 * a channel that moved here from another worker's range (imports), or nothing. */
static md_channel_t *moved(md_worker_t *w, struct rte_mbuf *m, uint16_t dport, int *is_rtcp,
                           int *handed)
{
    md_chan_table_t *t = &w->table;
    int s = md_chan_port_slot(t, dport);
    if (s >= 0) {
        unsigned f = t->chans[s].fwd;
        if (f == 0 || t->chans[s].in_use || f - 1 >= w->n_peers || w->peers[f - 1] == w)
            return NULL;
        if (rte_ring_enqueue(w->peers[f - 1]->inbox, m) != 0) {
            w->dispatch_dropped++;
            rte_pktmbuf_free(m);
        } else {
            w->forwarded++;
        }
        *handed = 1;
        return NULL;
    }
    uint16_t k = w->imports[dport >> 1];
    if (k == 0)
        return NULL;
    md_channel_t *ch = &t->chans[k - 1];
    if (!ch->in_use || ch->local_port != (uint16_t)(dport & ~1u))
        return NULL;
    *is_rtcp = dport & 1;
    return ch;
}

/* A datagram for this worker's range, or for a channel moved here. */
static int deliver(md_worker_t *w, struct rte_mbuf *m, const md_pkt_t *p)
{
    int is_rtcp = 0;
    md_channel_t *ch = md_chan_lookup(&w->table, p->dport, &is_rtcp);
    if (ch == NULL) {
        int handed = 0;
        ch = moved(w, m, p->dport, &is_rtcp, &handed);
        if (handed)
            return 1;
    }
    if (ch == NULL) {
        w->udp_no_channel++;
        return 0;   /* counted and dropped by the caller */
    }
    const uint8_t *data = rte_pktmbuf_mtod(m, const uint8_t *);
    md_4733_digit_t d[2];
    int nd = 0;
    md_chan_rx_t kind = md_chan_receive(ch, p, is_rtcp, data + p->payload_off, p->payload_len,
                                        w->now_ms * 8, d, &nd);
    md_media_t *med = &w->media[ch - w->table.chans];
    if (kind == MD_CHAN_RTCP)
        md_rtcp_receive(&ch->rtcp, data + p->payload_off, p->payload_len, med->tx.ssrc, w->now_ms,
                        w->ntp0_ms + w->now_ms);
    if (ch->learnt && !is_rtcp && kind != MD_CHAN_DROPPED) {
        /* The way back: the sending pass builds the template from these when they change
         * (update_tx), which keeps the media state out of the receive path. */
        memcpy(ch->src_mac, data + 6, 6);
        ch->src_vlan = p->vlan;
    }
    for (int i = 0; i < nd; i++) {
        md_event_t ev = { .type = MD_EV_DIGIT, .channel = ch->id,
                          .slot = (uint32_t)(ch - w->table.chans), .digit = d[i].digit,
                          .source = MD_DIGIT_RFC4733,
                          .start_ms = md_media_4733_start_ms(&ch->dtmf, &d[i],
                                                             md_media_ts_step(ch->prm.codec) / 20),
                          .duration_ms = d[i].duration / (md_media_ts_step(ch->prm.codec) / 20) };
        md_event_push(w->events, &ev);
    }
    rte_pktmbuf_free(m);
    return 1;
}

int md_worker_init(md_worker_t *w, uint16_t port, struct rte_mempool *pool,
                   const md_iface_t *ifc, md_channel_t *chans, md_media_t *media,
                   uint32_t max, uint16_t port_base, md_event_ring_t *events)
{
    if (pool == NULL || ifc == NULL || media == NULL || events == NULL)
        return -EINVAL;
    memset(w, 0, sizeof(*w));
    int rc = md_chan_table_init(&w->table, chans, max, port_base);
    if (rc != 0)
        return rc;
    w->dp.port = port;
    w->dp.pool = pool;
    w->dp.ifc = *ifc;
    w->dp.on_udp = on_udp;
    w->dp.on_udp_prefetch = on_udp_prefetch;
    w->dp.on_udp_arg = w;
    w->media = media;
    w->events = events;
    w->wm.table = &w->table;
    w->wm.media = media;
    w->wm.events = events;
    w->wm.isa = md_cpu_default_isa();
    w->wm.imports = w->imports;
    w->wm.deferred = w->deferred;
    w->wm.scratch = w->scratch;
    w->poll_gap = rte_get_timer_hz() * MD_POLL_GAP_US / 1000000;
    /* RTCP sender reports carry wall-clock time: read once here, then the worker's
     * own clock (no system call on the worker). NTP counts from 1900. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    w->ntp0_ms = ((uint64_t)ts.tv_sec + 2208988800u) * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    char addr[INET6_ADDRSTRLEN] = "";
    if (ifc->has_ip4)
        inet_ntop(AF_INET, ifc->ip4, addr, sizeof(addr));
    else if (ifc->has_ip6)
        inet_ntop(AF_INET6, ifc->ip6, addr, sizeof(addr));
    snprintf(w->cname, sizeof(w->cname), "medley@%s", addr);
    return 0;
}

/* The template of a channel's packets, (re)built when the peer's address, port, MAC or
 * VLAN have changed since it was made (first packet, re-learning, a router's failover). */
static void update_tx(md_worker_t *w, const md_channel_t *ch, md_media_t *m)
{
    md_tx_template_t *t = &m->tx;
    size_t alen = ch->src_version == 4 ? 4 : 16;
    if (m->tx_ready && t->dst_port == ch->src_port && t->vlan == ch->src_vlan &&
        t->ip_version == ch->src_version && memcmp(t->dst_ip, ch->src_ip, 16) == 0 &&
        memcmp(t->dst_mac, ch->src_mac, 6) == 0)
        return;
    memcpy(t->src_mac, w->dp.ifc.mac, 6);
    memcpy(t->dst_mac, ch->src_mac, 6);
    t->vlan = ch->src_vlan;
    t->ip_version = ch->src_version;
    memset(t->src_ip, 0, sizeof(t->src_ip));
    memcpy(t->src_ip, ch->src_version == 4 ? w->dp.ifc.ip4 : w->dp.ifc.ip6, alen);
    memset(t->dst_ip, 0, sizeof(t->dst_ip));
    memcpy(t->dst_ip, ch->src_ip, alen);
    t->src_port = ch->local_port;
    t->dst_port = ch->src_port;
    t->ttl = 64;
    t->pt = ch->prm.pt;
    t->hw_csum = w->tx_hw_csum;
    if (!m->tx_ready) {
        /* Random-looking but reproducible starting points (RFC 3550 wants them
         * unpredictable; a per-process secret comes with the control plane). */
        uint32_t h = ch->id * 2654435761u ^ (uint32_t)w->now_ms;
        t->ssrc = h;
        t->seq = (uint16_t)(h >> 7);
        t->ts = h * 69069u;
    }
    m->tx_ready = 1;
}

/* What the port must know of a frame built with checksums left to it (md_tx_template_t
 * hw_csum): header lengths and offload flags. */
static void tx_offload(struct rte_mbuf *mb, const md_tx_template_t *t)
{
    if (t->hw_csum == 0)
        return;
    mb->l2_len = t->vlan ? 18 : 14;
    mb->l3_len = t->ip_version == 6 ? 40 : 20;
    if (t->ip_version == 6)
        mb->ol_flags |= RTE_MBUF_F_TX_IPV6;
    else
        mb->ol_flags |= RTE_MBUF_F_TX_IPV4 |
                        (t->hw_csum & MD_TX_HW_IP_CKSUM ? RTE_MBUF_F_TX_IP_CKSUM : 0);
    if (t->hw_csum & MD_TX_HW_UDP_CKSUM)
        mb->ol_flags |= RTE_MBUF_F_TX_UDP_CKSUM;
}

/* A channel's RTCP report when it is due (RFC 3550: every 5 s, randomised). */
static struct rte_mbuf *rtcp_report(md_worker_t *w, md_channel_t *ch, md_media_t *m)
{
    if (!md_rtcp_due(&ch->rtcp, w->now_ms))
        return NULL;
    md_rtcp_report_t rep = {
        .ssrc = m->tx.ssrc,
        .sent_since_last = ch->st.tx_packets != ch->rtcp_sent_at,
        .ntp_ms = w->ntp0_ms + w->now_ms,
        .rtp_ts = m->tx.ssrc * 69069u + (uint32_t)m->frames * md_media_ts_step(ch->prm.codec),
        .packets_sent = (uint32_t)ch->st.tx_packets,
        .octets_sent = (uint32_t)ch->st.tx_bytes,
        .have_peer = ch->learnt,
        .peer_ssrc = ch->ssrc,
        .highest_seq = ch->jb.highest_seq,
        .received = (uint32_t)ch->jb.st.packets,
        .expected = (uint32_t)(ch->jb.st.packets + ch->jb.st.lost),
        .jitter = (uint32_t)ch->jb.st.jitter,
        .now_ms = w->now_ms,
        .cname = w->cname,
    };
    struct rte_mbuf *mb = rte_pktmbuf_alloc(w->dp.pool);
    if (mb == NULL) {
        w->dp.st.tx_dropped++;
        return NULL;
    }
    uint8_t buf[256];
    size_t n = md_rtcp_build(&ch->rtcp, &rep, buf, sizeof(buf));
    size_t len = n == 0 ? 0
                        : md_tx_build_udp(&m->tx, (uint16_t)(m->tx.src_port + 1),
                                          (uint16_t)(m->tx.dst_port + 1), buf, n,
                                          rte_pktmbuf_mtod(mb, uint8_t *), rte_pktmbuf_tailroom(mb));
    if (len == 0) {
        rte_pktmbuf_free(mb);
        w->dp.st.tx_dropped++;
        return NULL;
    }
    ch->rtcp_sent_at = ch->st.tx_packets;
    mb->data_len = (uint16_t)len;
    mb->pkt_len = (uint32_t)len;
    tx_offload(mb, &m->tx);
    return mb;
}

void md_worker_share(md_worker_t *w, md_worker_t **peers, unsigned n, struct rte_ring *inbox,
                     unsigned index, unsigned rx_queues)
{
    w->peers = peers;
    w->n_peers = n;
    w->inbox = inbox;
    w->dp.queue = (uint16_t)index;
    w->rx_enabled = index < rx_queues;
}

unsigned md_worker_poll(md_worker_t *w)
{
    /* A full burst means more is waiting: keep receiving, up to MD_POLL_MAX_BURSTS. One
     * burst per poll is not enough once the worker is behind: the ticks poll every
     * MD_TICK_POLL_EVERY channels, and a slot tick of C channels has C packets arriving
     * while it runs (one per channel per 20 ms), so after a stall the ring would only
     * grow, frames would miss their tick, and the concealment of those frames would cost
     * more than decoding them: a cliff instead of a catch-up. */
    unsigned n = 0;
    if (w->rx_enabled || w->n_peers <= 1) {
        for (unsigned b = 0; b < MD_POLL_MAX_BURSTS; b++) {
            unsigned got = md_dp_poll(&w->dp);
            n += got;
            if (got < MD_DP_BURST)
                break;
        }
    }
    if (w->inbox != NULL) {
        struct rte_mbuf *in[MD_DP_BURST];
        unsigned k = rte_ring_dequeue_burst(w->inbox, (void **)in, MD_DP_BURST, NULL);
        for (unsigned i = 0; i < k; i++) {
            md_pkt_t p;
            const uint8_t *d = rte_pktmbuf_mtod(in[i], const uint8_t *);
            /* Parsed again here: cheaper than carrying the parse across the ring. */
            if (md_pkt_parse(d, rte_pktmbuf_data_len(in[i]), &p) != MD_PKT_UDP ||
                !deliver(w, in[i], &p))
                rte_pktmbuf_free(in[i]);
        }
        n += k;
    }
    return n;
}

unsigned md_worker_poll_paced(md_worker_t *w, uint64_t now)
{
    if (!w->last_poll_capped && now - w->last_poll < w->poll_gap)
        return 0;
    w->last_poll = now;
    unsigned n = md_worker_poll(w);
    w->last_poll_capped = n >= MD_POLL_MAX_BURSTS * MD_DP_BURST;
    return n;
}

/* The receive poll between channels of a tick (md_worker_media_t.poll). */
static void poll_during_tick(void *arg)
{
    md_worker_poll(arg);
}

static void flush(md_worker_t *w, struct rte_mbuf **burst, unsigned n)
{
    uint16_t sent = rte_eth_tx_burst(w->dp.port, w->dp.queue, burst, (uint16_t)n);
    w->dp.st.tx += sent;
    for (unsigned i = sent; i < n; i++) {
        rte_pktmbuf_free(burst[i]);
        w->dp.st.tx_dropped++;
    }
}

static void tick(md_worker_t *w, uint64_t now_ms, unsigned slot, unsigned nslots);

void md_worker_tick(md_worker_t *w, uint64_t now_ms)
{
    tick(w, now_ms, 0, 1);
}

void md_worker_tick_slot(md_worker_t *w, uint64_t now_ms, unsigned slot)
{
    tick(w, now_ms, slot % MD_TICK_SLOTS, MD_TICK_SLOTS);
}

/* The send pass's mbufs: taken from the pool MD_TX_STASH at a time and reset as they are
 * used, their lines fetched a few packets ahead. An mbuf comes back to the pool from
 * another core (the NIC's completions, a peer worker) and is not in this one's cache;
 * the send pass writes both of its cache lines (the offload fields are in the second)
 * and its data, and waited for each in turn. */
#define MD_TX_STASH 32
#define MD_TX_STASH_AHEAD 4

typedef struct {
    struct rte_mbuf *m[MD_TX_STASH];
    unsigned n, pos;
    size_t data;                  /* prefetch_mbuf's data offset */
} tx_stash_t;

/* data: where a packet mbuf's data starts, from the mbuf (a pktmbuf pool puts the
 * buffer right after the mbuf and its private area; reading buf_addr would wait for the
 * very line being fetched). Into L2, as every prefetch of the worker's (engine/mem.h):
 * 1.5-2% less per channel-frame than into L1 in 3 of 3 alternating capacity runs. */
static void prefetch_mbuf(const struct rte_mbuf *m, size_t data)
{
    const char *c = (const char *)m;
    rte_prefetch1(c);
    rte_prefetch1(c + RTE_CACHE_LINE_SIZE);
    /* Headers and a G.711 frame: about 214 bytes. */
    const char *d = c + data;
    rte_prefetch1(d);
    rte_prefetch1(d + 64);
    rte_prefetch1(d + 128);
    rte_prefetch1(d + 192);
}

static struct rte_mbuf *stash_get(md_worker_t *w, tx_stash_t *s)
{
    if (s->pos == s->n) {
        s->pos = s->n = 0;
        if (rte_mempool_get_bulk(w->dp.pool, (void **)s->m, MD_TX_STASH) != 0)
            return rte_pktmbuf_alloc(w->dp.pool);   /* nearly empty: one at a time */
        s->n = MD_TX_STASH;
        s->data = sizeof(struct rte_mbuf) + rte_pktmbuf_priv_size(w->dp.pool) + RTE_PKTMBUF_HEADROOM;
        for (unsigned k = 0; k < MD_TX_STASH_AHEAD; k++)
            prefetch_mbuf(s->m[k], s->data);
    }
    if (s->pos + MD_TX_STASH_AHEAD < s->n)
        prefetch_mbuf(s->m[s->pos + MD_TX_STASH_AHEAD], s->data);
    struct rte_mbuf *m = s->m[s->pos++];
    rte_pktmbuf_reset(m);   /* what rte_pktmbuf_alloc() does after taking it */
    return m;
}

/* The unused rest goes back to the pool: nothing is held between ticks. */
static void stash_release(md_worker_t *w, tx_stash_t *s)
{
    if (s->pos < s->n)
        rte_mempool_put_bulk(w->dp.pool, (void **)(s->m + s->pos), s->n - s->pos);
    s->pos = s->n = 0;
}

/* One slot tick's send pass: its burst and mbuf stash, across md_media_tick_in_slot's
 * batches (md_worker_media_t.out) and the deferred channels after them. */
typedef struct {
    md_worker_t *w;
    struct rte_mbuf *burst[MD_DP_BURST];
    unsigned n;
    tx_stash_t stash;
    unsigned seen;               /* channels sent, for the receive polls between them */
} tick_tx_t;

static void push(tick_tx_t *x, struct rte_mbuf *mb)
{
    x->burst[x->n++] = mb;
    if (x->n == MD_DP_BURST) {
        flush(x->w, x->burst, x->n);
        x->n = 0;
    }
}

/* A packet md_tx_build made (len 0: it could not, dropped) into the burst, counted. */
static void send_built(tick_tx_t *x, md_channel_t *ch, const md_media_t *m, struct rte_mbuf *mb,
                       size_t len, size_t payload_bytes)
{
    if (len == 0) {
        rte_pktmbuf_free(mb);
        x->w->dp.st.tx_dropped++;
        return;
    }
    mb->data_len = (uint16_t)len;
    mb->pkt_len = (uint32_t)len;
    tx_offload(mb, &m->tx);
    ch->st.tx_packets++;
    ch->st.tx_bytes += payload_bytes;
    push(x, mb);
}

/* A channel's output made final (md_media_tick_out) and sent. */
static void send_channel(tick_tx_t *x, uint32_t i)
{
    md_worker_t *w = x->w;
    md_channel_t *ch = &w->table.chans[i];
    md_media_t *m = &w->media[i];
    md_media_tick_out(&w->wm, i);
    if (ch->learnt && ch->src_mac[0] | ch->src_mac[1] | ch->src_mac[2] | ch->src_mac[3] |
                      ch->src_mac[4] | ch->src_mac[5])
        update_tx(w, ch, m);
    if (!m->tx_ready)
        return;
    struct rte_mbuf *report = rtcp_report(w, ch, m);
    if (report != NULL)
        push(x, report);
    /* RFC 4733 events being sent go out instead of audio (RFC 4733 2.5.1.4). */
    if (m->ev_start) {
        m->ev_start = 0;
        uint32_t now_ts = m->tx.ssrc * 69069u + (uint32_t)m->frames * md_media_ts_step(ch->prm.codec);
        uint32_t step = md_media_ts_step(ch->prm.codec);
        if (md_4733_tx_start(&m->ev_tx, m->send[m->send_pos], now_ts,
                             (uint32_t)m->send_on_ms * (step / 20), step, 10) != 0)
            m->ev_tx.active = 0;
    }
    if (m->ev_tx.active) {
        uint8_t ev[4];
        int marker;
        uint32_t ets;
        if (!md_4733_tx_next(&m->ev_tx, ev, &marker, &ets)) {
            m->ev_tx.active = 0;
        } else {
            struct rte_mbuf *mb = rte_pktmbuf_alloc(w->dp.pool);
            if (mb == NULL) {
                w->dp.st.tx_dropped++;
                return;
            }
            uint8_t audio_pt = m->tx.pt;
            m->tx.pt = ch->prm.event_pt;
            m->tx.ts = ets;
            size_t len = md_tx_build(&m->tx, marker, ev, 4, 0, rte_pktmbuf_mtod(mb, uint8_t *),
                                     rte_pktmbuf_tailroom(mb));
            m->tx.pt = audio_pt;
            m->tx.ts = 0;   /* audio resumes on the sampling clock, with a marker */
            send_built(x, ch, m, mb, len, 4);
            return;
        }
    }
    if (!m->have_out)
        return;
    uint8_t payload[MD_JB_MAX_PAYLOAD];
    size_t plen = MD_FRAME;
    const uint8_t *body = payload;
    if (m->conf_share != 0 && w->wm.conf != NULL && (ch->prm.codec == MD_CODEC_PCMU || ch->prm.codec == MD_CODEC_PCMA) &&
        (body = md_conf_shared_payload(w->wm.conf, i, m->conf_share,
                                       ch->prm.codec == MD_CODEC_PCMA, m->out)) != NULL) {
        /* A conference's common frame: encoded once for all its members. */
    } else if (ch->prm.codec == MD_CODEC_PCMU || ch->prm.codec == MD_CODEC_PCMA) {
        body = md_media_g711_payload(&w->wm, ch, m, payload);
    } else if (m->opus_slot >= 0) {
        int k = md_opus_encode(&w->wm.opus[m->opus_slot], m->out, payload, sizeof(payload));
        if (k <= 0) {
            w->dp.st.tx_dropped++;
            return;
        }
        plen = (size_t)k;
    } else {
        return;
    }
    struct rte_mbuf *mb = stash_get(w, &x->stash);
    if (mb == NULL) {
        w->dp.st.tx_dropped++;
        return;
    }
    /* RFC 3550 5.1: the timestamp follows the sampling clock, also through ticks in
     * which the channel sent nothing (idle between prompts): one tick is MD_FRAME
     * samples, counted by m->frames from the channel's creation, from a per-channel
     * origin derived from the SSRC. The first packet after such a pause opens a
     * talkspurt: marker bit (RFC 3551 4.1). The sequence number goes on by one. */
    uint32_t step = md_media_ts_step(ch->prm.codec);
    uint32_t ts = m->tx.ssrc * 69069u + (uint32_t)m->frames * step;
    int marker = ts != m->tx.ts;
    m->tx.ts = ts;
    size_t len = md_tx_build(&m->tx, marker, body, plen, step,
                             rte_pktmbuf_mtod(mb, uint8_t *), rte_pktmbuf_tailroom(mb));
    send_built(x, ch, m, mb, len, plen);
}

/* Sends channels slots[0..n): a batch of md_media_tick_in_slot, whose state is in L2,
 * or the slot's deferred channels; the next ones' lines are fetched a few channels
 * ahead. */
static void send_channels(void *arg, const uint32_t *slots, unsigned n)
{
    tick_tx_t *x = arg;
    for (unsigned k = 0; k < n; k++) {
        if (k + 4 < n)
            md_media_prefetch_out(&x->w->wm, slots[k + 4]);
        if (++x->seen % MD_TICK_POLL_EVERY == 0)
            md_worker_poll(x->w);
        send_channel(x, slots[k]);
    }
}

static void tick(md_worker_t *w, uint64_t now_ms, unsigned slot, unsigned nslots)
{
    tick_tx_t x = { .w = w, .n = 0, .stash = { .n = 0, .pos = 0, .data = 0 }, .seen = 0 };

    w->now_ms = now_ms;
    w->wm.poll = poll_during_tick;
    w->wm.poll_arg = w;
    /* Channels are sent batch by batch as the tick decodes them (send_channels), and
     * those that take another channel's frame of this tick (bridged, in a conference)
     * after the whole slot, from memory again: their lines are fetched ahead. x lives
     * only for this call, so out is cleared after it. */
    w->wm.out = send_channels;
    w->wm.out_arg = &x;
    md_media_tick_in_slot(&w->wm, now_ms, slot, nslots);
    w->wm.out = NULL;
    w->wm.out_arg = NULL;
    send_channels(&x, w->deferred, w->wm.n_deferred);
    if (x.n > 0)
        flush(w, x.burst, x.n);
    stash_release(w, &x.stash);
}
