/* A worker's data path, as far as it goes today: one port's receive path (engine/dp.h)
 * feeding its channel table (engine/channel.h), and the media tick (engine/media.h).
 * RFC 4733 digits are reported as they complete, in-band digits by the tick; both go to
 * the worker's event ring. Single-threaded: one worker lcore owns all of this. */
#ifndef MD_ENGINE_WORKER_H
#define MD_ENGINE_WORKER_H

#include "engine/channel.h"
#include "engine/dp.h"
#include "engine/events.h"
#include "engine/media.h"

typedef struct {
    md_dp_port_t dp;
    md_chan_table_t table;
    md_media_t *media;            /* one per channel slot */
    md_worker_media_t wm;
    md_event_ring_t *events;
    uint64_t now_ms;              /* the worker's clock, advanced by md_worker_tick() */
    uint64_t ntp0_ms;             /* wall clock (NTP, ms since 1900) at now_ms = 0 */
    char cname[64];               /* RTCP CNAME: medley@<address> */
    uint64_t udp_no_channel;      /* datagrams to ports with no channel */
} md_worker_t;

/* chans and media: max entries each, the caller's memory. */
int md_worker_init(md_worker_t *w, uint16_t port, struct rte_mempool *pool,
                   const md_iface_t *ifc, md_channel_t *chans, md_media_t *media,
                   uint32_t max, uint16_t port_base, md_event_ring_t *events);

/* Receive what the port has (one burst). */
unsigned md_worker_poll(md_worker_t *w);

/* The 20 ms media tick. */
void md_worker_tick(md_worker_t *w, uint64_t now_ms);

#endif
