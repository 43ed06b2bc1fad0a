/* The receive path over DPDK's ring PMD, in process: real mbufs in, replies out on the
 * wire (the tx ring), drops counted, no mbuf leaked. Runs without hugepages or a NIC. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "engine/dp.h"
#include "tests/check.h"
#include "tests/engine/ring_port.h"

static ring_port_t rp;

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
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
    if (ring_port_open(&rp, "dp", 511, 64, 64, 1) != 0)
        return 1;
    const uint16_t port = rp.port;
    unsigned pool_free = rte_mempool_avail_count(rp.pool);

    md_dp_port_t dp = {
        .port = (uint16_t)port, .pool = rp.pool,
        .ifc = { .mac = { 2, 0xaa, 0, 0, 0, 1 }, .has_ip4 = 1, .ip4 = { 10, 0, 0, 2 } },
        .on_udp = take_udp,
    };

    /* An ARP request for us, one for someone else, an LLDP frame, a truncated frame. */
    uint8_t arp[42] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0xbb, 0, 0, 0, 9, 0x08, 0x06,
                        0, 1, 0x08, 0, 6, 4, 0, 1, 2, 0xbb, 0, 0, 0, 9, 10, 0, 0, 1,
                        0, 0, 0, 0, 0, 0, 10, 0, 0, 2 };
    ring_port_inject(&rp, arp, sizeof(arp));
    arp[41] = 77;
    ring_port_inject(&rp, arp, sizeof(arp));
    uint8_t lldp[60] = { 1, 0x80, 0xc2, 0, 0, 0xe, 2, 0xbb, 0, 0, 0, 9, 0x88, 0xcc };
    ring_port_inject(&rp, lldp, sizeof(lldp));
    ring_port_inject(&rp, arp, 20);

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
    ring_port_inject(&rp, udp, sizeof(udp));

    CHECK(md_dp_poll(&dp) == 5);
    CHECK(dp.st.verdict[MD_PKT_ARP] == 2 && dp.st.verdict[MD_PKT_DROP_ETHERTYPE] == 1 &&
          dp.st.verdict[MD_PKT_DROP_SHORT] == 1 && dp.st.verdict[MD_PKT_UDP] == 1);
    CHECK(udp_taken == 1);
    CHECK(dp.st.replies == 1 && dp.st.tx == 1);

    /* The reply on the wire. */
    struct rte_mbuf *r = NULL;
    CHECK(rte_ring_dequeue(rp.tx[0], (void **)&r) == 0 && r != NULL);
    if (r != NULL) {
        md_pkt_t p;
        const uint8_t *d = rte_pktmbuf_mtod(r, const uint8_t *);
        CHECK(md_pkt_parse(d, rte_pktmbuf_data_len(r), &p) == MD_PKT_ARP);
        CHECK(d[p.l3_off + 7] == 2 && d[p.l3_off + 17] == 2 && d[0] == 2 && d[1] == 0xbb);
        rte_pktmbuf_free(r);
    }
    CHECK(rte_ring_count(rp.tx[0]) == 0);
    CHECKF(rte_mempool_avail_count(rp.pool) == pool_free, "mbufs leaked: %u of %u back",
           rte_mempool_avail_count(rp.pool), pool_free);

    ring_port_close(&rp);
    rte_eal_cleanup();
    return check_summary("dp-ring");
}
