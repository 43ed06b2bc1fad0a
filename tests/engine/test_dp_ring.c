/* The receive path over DPDK's ring PMD, in process: real mbufs in, replies out on the
 * wire (the tx ring), drops counted, no mbuf leaked. Runs without hugepages or a NIC. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "engine/dp.h"
#include "tests/check.h"

static struct rte_mempool *pool;
static struct rte_ring *rx_ring, *tx_ring;

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void inject(const uint8_t *frame, size_t len)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
    memcpy(rte_pktmbuf_append(m, (uint16_t)len), frame, len);
    CHECK(rte_ring_enqueue(rx_ring, m) == 0);
}

static int udp_taken;

static int take_udp(void *arg, struct rte_mbuf *m, const md_pkt_t *p)
{
    (void)arg;
    udp_taken += p->dport == 20000;
    rte_pktmbuf_free(m);
    return 1;
}

int main(void)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "--file-prefix=medley-dp-%d", (int)getpid());
    char *eal_args[] = { "test_dp_ring", "--no-huge", "--no-shconf", "-m", "64", prefix,
                         "--no-pci", "--no-telemetry", "-l", "0", "--log-level=error", NULL };
    int eal_argc = (int)(sizeof(eal_args) / sizeof(eal_args[0])) - 1;
    if (rte_eal_init(eal_argc, eal_args) < 0) {
        fprintf(stderr, "EAL init failed\n");
        return 1;
    }
    pool = rte_pktmbuf_pool_create("dp_test", 511, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    rx_ring = rte_ring_create("dp_rx", 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    tx_ring = rte_ring_create("dp_tx", 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    CHECK(pool != NULL && rx_ring != NULL && tx_ring != NULL);
    int port = rte_eth_from_rings("medley_ring", &rx_ring, 1, &tx_ring, 1, SOCKET_ID_ANY);
    CHECK(port >= 0);
    struct rte_eth_conf conf;
    memset(&conf, 0, sizeof(conf));
    CHECK(rte_eth_dev_configure((uint16_t)port, 1, 1, &conf) == 0);
    CHECK(rte_eth_rx_queue_setup((uint16_t)port, 0, 64, SOCKET_ID_ANY, NULL, pool) == 0);
    CHECK(rte_eth_tx_queue_setup((uint16_t)port, 0, 64, SOCKET_ID_ANY, NULL) == 0);
    CHECK(rte_eth_dev_start((uint16_t)port) == 0);
    unsigned pool_free = rte_mempool_avail_count(pool);

    md_dp_port_t dp = {
        .port = (uint16_t)port, .pool = pool,
        .ifc = { .mac = { 2, 0xaa, 0, 0, 0, 1 }, .has_ip4 = 1, .ip4 = { 10, 0, 0, 2 } },
        .on_udp = take_udp,
    };

    /* An ARP request for us, one for someone else, an LLDP frame, a truncated frame. */
    uint8_t arp[42] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0xbb, 0, 0, 0, 9, 0x08, 0x06,
                        0, 1, 0x08, 0, 6, 4, 0, 1, 2, 0xbb, 0, 0, 0, 9, 10, 0, 0, 1,
                        0, 0, 0, 0, 0, 0, 10, 0, 0, 2 };
    inject(arp, sizeof(arp));
    arp[41] = 77;
    inject(arp, sizeof(arp));
    uint8_t lldp[60] = { 1, 0x80, 0xc2, 0, 0, 0xe, 2, 0xbb, 0, 0, 0, 9, 0x88, 0xcc };
    inject(lldp, sizeof(lldp));
    inject(arp, 20);

    /* A UDP datagram to port 20000 (IPv4, no UDP checksum). */
    uint8_t udp[14 + 20 + 8 + 12] = { 2, 0xaa, 0, 0, 0, 1, 2, 0xbb, 0, 0, 0, 9, 0x08, 0x00 };
    uint8_t *ip = udp + 14;
    ip[0] = 0x45;
    put16(ip + 2, 20 + 8 + 12);
    ip[8] = 64;
    ip[9] = 17;
    memcpy(ip + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
    uint32_t s = 0;
    for (int i = 0; i < 20; i += 2)
        s += (uint32_t)(ip[i] << 8 | ip[i + 1]);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    put16(ip + 10, (uint16_t)~s);
    put16(ip + 20, 40000);
    put16(ip + 22, 20000);
    put16(ip + 24, 8 + 12);
    udp[42] = 0x80;
    inject(udp, sizeof(udp));

    CHECK(md_dp_poll(&dp) == 5);
    CHECK(dp.st.verdict[MD_PKT_ARP] == 2 && dp.st.verdict[MD_PKT_DROP_ETHERTYPE] == 1 &&
          dp.st.verdict[MD_PKT_DROP_SHORT] == 1 && dp.st.verdict[MD_PKT_UDP] == 1);
    CHECK(udp_taken == 1);
    CHECK(dp.st.replies == 1 && dp.st.tx == 1);

    /* The reply on the wire. */
    struct rte_mbuf *r = NULL;
    CHECK(rte_ring_dequeue(tx_ring, (void **)&r) == 0 && r != NULL);
    if (r != NULL) {
        md_pkt_t p;
        const uint8_t *d = rte_pktmbuf_mtod(r, const uint8_t *);
        CHECK(md_pkt_parse(d, rte_pktmbuf_data_len(r), &p) == MD_PKT_ARP);
        CHECK(d[p.l3_off + 7] == 2 && d[p.l3_off + 17] == 2 && d[0] == 2 && d[1] == 0xbb);
        rte_pktmbuf_free(r);
    }
    CHECK(rte_ring_count(tx_ring) == 0);
    CHECKF(rte_mempool_avail_count(pool) == pool_free, "mbufs leaked: %u of %u back",
           rte_mempool_avail_count(pool), pool_free);

    rte_eth_dev_stop((uint16_t)port);
    rte_eth_dev_close((uint16_t)port);
    rte_eal_cleanup();
    return check_summary("dp-ring");
}
