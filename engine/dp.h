/* The poll-mode receive path of one port, as far as it goes today: receive a burst,
 * classify every frame (engine/pkt.h), answer ARP, neighbour solicitation and echo
 * requests for the port's addresses (engine/respond.h), count and drop everything that
 * is not ours. UDP datagrams are handed to a callback (the channel table, next).
 * No allocation, lock or system call per packet: mbufs come from the port's pool. */
#ifndef MD_ENGINE_DP_H
#define MD_ENGINE_DP_H

#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "engine/pkt.h"
#include "engine/respond.h"

#define MD_DP_BURST 32

typedef struct {
    uint64_t rx, tx, tx_dropped;
    uint64_t replies;
    uint64_t udp_unclaimed;        /* UDP with no taker */
    uint64_t verdict[MD_PKT_VERDICT_COUNT];
} md_dp_stats_t;

/* Called for each well-formed UDP datagram; returns 1 if it took the mbuf (and will free
 * it), 0 to have it counted and dropped. */
typedef int (*md_dp_udp_fn)(void *arg, struct rte_mbuf *m, const md_pkt_t *p);

/* Optional: called for every UDP datagram of a burst before the first is delivered, so
 * the taker can prefetch the state the datagram will touch. Must not change anything. */
typedef void (*md_dp_prefetch_fn)(void *arg, const struct rte_mbuf *m, const md_pkt_t *p);

typedef struct {
    uint16_t port, queue;
    struct rte_mempool *pool;      /* for replies */
    md_iface_t ifc;
    md_dp_udp_fn on_udp;
    md_dp_prefetch_fn on_udp_prefetch;
    void *on_udp_arg;
    md_dp_stats_t st;
} md_dp_port_t;

/* One receive burst: returns the number of frames received. */
unsigned md_dp_poll(md_dp_port_t *dp);

#endif
