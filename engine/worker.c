/* The worker. */
#include "engine/worker.h"

#include <errno.h>
#include <string.h>

static int on_udp(void *arg, struct rte_mbuf *m, const md_pkt_t *p)
{
    md_worker_t *w = arg;
    int is_rtcp;
    md_channel_t *ch = md_chan_lookup(&w->table, p->dport, &is_rtcp);
    if (ch == NULL) {
        w->udp_no_channel++;
        return 0;   /* counted and dropped by the caller */
    }
    const uint8_t *data = rte_pktmbuf_mtod(m, const uint8_t *);
    md_4733_digit_t d[2];
    int nd = 0;
    md_chan_receive(ch, p, is_rtcp, data + p->payload_off, p->payload_len, w->now_ms * 8, d, &nd);
    for (int i = 0; i < nd; i++) {
        md_event_t ev = { .type = MD_EV_DIGIT, .channel = ch->id, .digit = d[i].digit,
                          .source = MD_DIGIT_RFC4733, .start_ms = d[i].start_ts / 8,
                          .duration_ms = d[i].duration / 8 };
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
    w->dp.on_udp_arg = w;
    w->media = media;
    w->events = events;
    w->wm.table = &w->table;
    w->wm.media = media;
    w->wm.events = events;
    w->wm.isa = md_cpu_default_isa();
    return 0;
}

unsigned md_worker_poll(md_worker_t *w)
{
    return md_dp_poll(&w->dp);
}

void md_worker_tick(md_worker_t *w, uint64_t now_ms)
{
    w->now_ms = now_ms;
    md_media_tick(&w->wm, now_ms);
}
