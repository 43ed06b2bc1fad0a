/* The DPDK set-up shared by the data-plane tests that run over the ring PMD: an EAL with
 * no hugepages, no PCI and no telemetry on lcore 0, a mbuf pool, and one net_ring port
 * whose receive queue is fed by ring_port_inject() and whose transmit queues each end in
 * a ring the test drains. Include after tests/check.h (its checks count there). */
#ifndef MD_TESTS_RING_PORT_H
#define MD_TESTS_RING_PORT_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#define RING_PORT_MAX_TXQ 2

typedef struct {
    struct rte_mempool *pool;
    struct rte_ring *rx;                       /* what the port receives */
    struct rte_ring *tx[RING_PORT_MAX_TXQ];    /* what each transmit queue sent */
    uint16_t port;
} ring_port_t;

/* tag (a few letters) names this test's EAL files and DPDK objects, so tests can run in
 * parallel; mbufs is the pool's size (2^k - 1 is best); ntx transmit queues. Returns 0,
 * or -1 after saying what failed. */
static inline int ring_port_open(ring_port_t *rp, const char *tag, unsigned mbufs,
                                 unsigned rx_size, unsigned tx_size, unsigned ntx)
{
    char prefix[64], name[32];
    snprintf(prefix, sizeof(prefix), "--file-prefix=medley-%s-%d", tag, (int)getpid());
    char *eal_args[] = { "medley-test", "--no-huge", "--no-shconf", "-m", "64", prefix,
                         "--no-pci", "--no-telemetry", "-l", "0", "--log-level=error", NULL };
    memset(rp, 0, sizeof(*rp));
    if (ntx < 1 || ntx > RING_PORT_MAX_TXQ) {
        fprintf(stderr, "ring_port_open: %u transmit queues (1..%d)\n", ntx, RING_PORT_MAX_TXQ);
        return -1;
    }
    if (rte_eal_init((int)(sizeof(eal_args) / sizeof(eal_args[0])) - 1, eal_args) < 0) {
        fprintf(stderr, "ring_port_open: EAL init failed\n");
        return -1;
    }
    snprintf(name, sizeof(name), "%s_pool", tag);
    rp->pool = rte_pktmbuf_pool_create(name, mbufs, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    snprintf(name, sizeof(name), "%s_rx", tag);
    rp->rx = rte_ring_create(name, rx_size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    int ok = rp->pool != NULL && rp->rx != NULL;
    for (unsigned q = 0; ok && q < ntx; q++) {
        snprintf(name, sizeof(name), "%s_tx%u", tag, q);
        rp->tx[q] = rte_ring_create(name, tx_size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
        ok = rp->tx[q] != NULL;
    }
    if (!ok) {
        fprintf(stderr, "ring_port_open: no memory for the pool or the rings\n");
        return -1;
    }
    snprintf(name, sizeof(name), "%s_ring", tag);
    int port = rte_eth_from_rings(name, &rp->rx, 1, rp->tx, ntx, SOCKET_ID_ANY);
    struct rte_eth_conf conf;
    memset(&conf, 0, sizeof(conf));
    if (port < 0 || rte_eth_dev_configure((uint16_t)port, 1, (uint16_t)ntx, &conf) != 0 ||
        rte_eth_rx_queue_setup((uint16_t)port, 0, (uint16_t)rx_size, SOCKET_ID_ANY, NULL, rp->pool) != 0) {
        fprintf(stderr, "ring_port_open: the ring port could not be set up\n");
        return -1;
    }
    for (unsigned q = 0; q < ntx; q++)
        if (rte_eth_tx_queue_setup((uint16_t)port, (uint16_t)q, (uint16_t)tx_size, SOCKET_ID_ANY, NULL) != 0) {
            fprintf(stderr, "ring_port_open: transmit queue %u could not be set up\n", q);
            return -1;
        }
    if (rte_eth_dev_start((uint16_t)port) != 0) {
        fprintf(stderr, "ring_port_open: the ring port did not start\n");
        return -1;
    }
    rp->port = (uint16_t)port;
    return 0;
}

/* One Ethernet frame into the port's receive side, as a NIC would deliver it. */
static inline void ring_port_inject(const ring_port_t *rp, const uint8_t *frame, size_t len)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(rp->pool);
    CHECK(m != NULL);
    if (m == NULL)
        return;
    memcpy(rte_pktmbuf_append(m, (uint16_t)len), frame, len);
    CHECK(rte_ring_enqueue(rp->rx, m) == 0);
}

static inline void ring_port_close(const ring_port_t *rp)
{
    rte_eth_dev_stop(rp->port);
    rte_eth_dev_close(rp->port);
}

#endif
