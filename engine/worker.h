/* A worker's data path: one port queue's receive path (engine/dp.h) feeding its channel
 * table (engine/channel.h), and the media tick (engine/media.h). RFC 4733 digits are
 * reported as they complete, in-band digits by the tick; both go to the worker's event
 * ring. Single-threaded: one worker lcore owns all of this.
 *
 * Several workers share a port by UDP port range: each owns the channels (and ports) of
 * its table. Each polls its own receive queue (one per worker when the port has them: a
 * NIC steering ranges with rte_flow, or spreading flows with RSS), and a datagram for
 * another worker's range is handed to that worker's inbox (a lock-free multi-producer
 * ring of mbufs); with a single receive queue (virtual devices) worker 0 receives all
 * and dispatches in software. Each worker transmits on its own queue. */
#ifndef MD_ENGINE_WORKER_H
#define MD_ENGINE_WORKER_H

#include "engine/channel.h"
#include "engine/dp.h"
#include "engine/events.h"
#include "engine/media.h"

typedef struct md_worker {
    md_dp_port_t dp;
    md_chan_table_t table;
    md_media_t *media;            /* one per channel slot */
    md_worker_media_t wm;
    md_event_ring_t *events;
    uint64_t now_ms;              /* the worker's clock, advanced by md_worker_tick() */
    uint64_t ntp0_ms;             /* wall clock (NTP, ms since 1900) at now_ms = 0 */
    char cname[64];               /* RTCP CNAME: medley@<address> */
    uint64_t udp_no_channel;      /* datagrams to ports with no channel */
    /* Sharing the port with other workers (NULL / 0: alone). */
    struct rte_ring *inbox;       /* mbufs other workers received for this one's range */
    struct md_worker **peers;     /* every worker, this one included, by index */
    unsigned n_peers;
    int rx_enabled;               /* polls its receive queue (dp.queue) */
    uint8_t tx_hw_csum;           /* MD_TX_HW_*: the port computes these checksums */
    uint64_t dispatched;          /* handed to another worker */
    uint64_t dispatch_dropped;    /* that worker's inbox was full */
    uint64_t forwarded;           /* for a channel of this range moved to another worker */
    /* Channels moved here from other workers, by port (md_worker_media_t.imports). */
    uint16_t imports[MD_IMPORT_PORTS];
    /* A slot tick's channels whose output waits for the whole slot (md_worker_media_t
     * deferred): bridged channels and conference members. */
    uint32_t deferred[MD_CHAN_TABLE_MAX];
    /* The tick's frames that no other channel reads (md_worker_media_t scratch). */
    int16_t scratch[MD_TICK_BATCH][MD_FRAME] __attribute__((aligned(64)));
    /* md_worker_poll_paced: the gap in timer cycles, the last poll's time, and whether
     * it stopped with more waiting. */
    uint64_t poll_gap, last_poll;
    int last_poll_capped;
} md_worker_t;

/* chans and media: max entries each, the caller's memory. */
int md_worker_init(md_worker_t *w, uint16_t port, struct rte_mempool *pool,
                   const md_iface_t *ifc, md_channel_t *chans, md_media_t *media,
                   uint32_t max, uint16_t port_base, md_event_ring_t *events);

/* Joins workers to share a port: peers[i] is worker i (its dp.queue = i for transmit,
 * and for receive when rx_queues > i), inbox its ring (created by the caller, multi-
 * producer, single consumer). */
void md_worker_share(md_worker_t *w, md_worker_t **peers, unsigned n, struct rte_ring *inbox,
                     unsigned index, unsigned rx_queues);

/* Receive what the port has (bursts while they come full, at most MD_POLL_MAX_BURSTS)
 * and what other workers handed over (one burst). Returns the packets taken. */
#define MD_POLL_MAX_BURSTS 8
unsigned md_worker_poll(md_worker_t *w);

/* The worker loop's receive between ticks (medleyd, medley-bench capacity): md_worker_poll
 * at most once every MD_POLL_GAP_US, unless the last poll stopped at MD_POLL_MAX_BURSTS
 * (more is waiting). Between ticks the worker is idle, and polling without a pause finds
 * the packets of the last microsecond, one or two at a time: each then waits for its own
 * lines (mbuf, frame, channel: about 15), where a burst's lines are fetched together
 * (engine/dp.c). 20 us is 25 packets at 25,000 channels, far inside the receive ring,
 * and nothing a jitter buffer notices. now: rte_get_timer_cycles(). Returns what
 * md_worker_poll returned, 0 when it was not yet time. */
#define MD_POLL_GAP_US 20
unsigned md_worker_poll_paced(md_worker_t *w, uint64_t now);

/* The 20 ms media tick of every channel at once. */
void md_worker_tick(md_worker_t *w, uint64_t now_ms);

/* One 1 ms slot of the tick (engine/media.h, MD_TICK_SLOTS): the channels i with
 * i % MD_TICK_SLOTS == slot % MD_TICK_SLOTS and the conferences of that slot. Called
 * every millisecond with slot counting up, it spreads the 20 ms tick's work evenly. */
void md_worker_tick_slot(md_worker_t *w, uint64_t now_ms, unsigned slot);

#endif
