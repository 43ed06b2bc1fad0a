/* The receive path of a port. */
#include "engine/dp.h"

#include <rte_ethdev.h>

/* How far ahead of the parser the receive loop fetches: the mbuf's two header lines (the
 * first: buffer address, data offset, length, offload flags; the second: the segment
 * chain, which freeing the mbuf reads), then, once they have arrived, the frame itself. */
#define RX_MBUF_AHEAD 8
#define RX_DATA_AHEAD 4

/* Into L2 (rte_prefetch1), as every prefetch of the worker's: a burst asks for 32 mbufs'
 * headers and frames and then its channels' lines, more than L1's miss buffers hold
 * (engine/mem.h). Frames into L2 instead of L1: 2-3% less per channel-frame in 3 of 3
 * alternating capacity runs; the headers too: 1-2% more. */
static inline void prefetch_mbuf(const struct rte_mbuf *m)
{
    rte_prefetch1(m);
    rte_prefetch1((const char *)m + RTE_CACHE_LINE_SIZE);
}

/* Every line of a frame, not only the first: the parser verifies the UDP checksum over the
 * whole datagram, and the frame was written by another core (the NIC's DMA, or a ring's
 * producer), so each line is a miss that would otherwise stall it in turn. RTP frames are
 * 4 lines (214 bytes for 20 ms of G.711); a jumbo frame's tail is left to the hardware
 * prefetcher. */
static inline void prefetch_frame(const struct rte_mbuf *m)
{
    const char *d = rte_pktmbuf_mtod(m, const char *);
    uint16_t len = rte_pktmbuf_data_len(m);
    rte_prefetch1(d);
    for (uint16_t off = 64; off < len && off < 6 * 64; off += 64)
        rte_prefetch1(d + off);
}

unsigned md_dp_poll(md_dp_port_t *dp)
{
    struct rte_mbuf *rx[MD_DP_BURST], *tx[MD_DP_BURST];
    unsigned ntx = 0;
    uint16_t n = rte_eth_rx_burst(dp->port, dp->queue, rx, MD_DP_BURST);

    md_pkt_t pk[MD_DP_BURST];
    uint8_t verdict[MD_DP_BURST];

    dp->st.rx += n;
    /* First the whole burst is parsed (mbufs and frames fetched a few ahead) and the
     * taker asked to prefetch what each datagram will touch; then the datagrams are
     * delivered, by which time those lines have arrived. */
    for (uint16_t i = 0; i < n && i < RX_MBUF_AHEAD; i++)
        prefetch_mbuf(rx[i]);
    for (uint16_t i = 0; i < n && i < RX_DATA_AHEAD; i++)
        prefetch_frame(rx[i]);
    for (uint16_t i = 0; i < n; i++) {
        if (i + RX_MBUF_AHEAD < n)
            prefetch_mbuf(rx[i + RX_MBUF_AHEAD]);
        if (i + RX_DATA_AHEAD < n)
            prefetch_frame(rx[i + RX_DATA_AHEAD]);
        /* Multi-segment frames are not expected at RTP sizes: classify the first
         * segment only, which the parser treats as a truncated frame if it is short. */
        /* Checksums the NIC verified (RX offload) are not summed again. */
        uint64_t f = rx[i]->ol_flags;
        unsigned hw = ((f & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD
                           ? MD_PKT_HW_IP_CKSUM_OK : 0) |
                      ((f & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD
                           ? MD_PKT_HW_L4_CKSUM_OK : 0);
        verdict[i] = (uint8_t)md_pkt_parse_hw(rte_pktmbuf_mtod(rx[i], const uint8_t *),
                                              rte_pktmbuf_data_len(rx[i]), &pk[i], hw);
        if (verdict[i] == MD_PKT_UDP && dp->on_udp_prefetch != NULL)
            dp->on_udp_prefetch(dp->on_udp_arg, rx[i], &pk[i]);
    }
    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *m = rx[i];
        const md_pkt_t *p = &pk[i];
        const uint8_t *data = rte_pktmbuf_mtod(m, const uint8_t *);
        md_pkt_verdict_t v = (md_pkt_verdict_t)verdict[i];
        dp->st.verdict[v]++;
        if (v == MD_PKT_UDP && dp->on_udp != NULL && dp->on_udp(dp->on_udp_arg, m, p))
            continue;
        if (v == MD_PKT_UDP)
            dp->st.udp_unclaimed++;
        if (v == MD_PKT_ARP || v == MD_PKT_ICMP || v == MD_PKT_ICMP6) {
            struct rte_mbuf *r = rte_pktmbuf_alloc(dp->pool);
            if (r != NULL) {
                uint8_t *out = rte_pktmbuf_mtod(r, uint8_t *);
                size_t len = md_respond(&dp->ifc, data, rte_pktmbuf_data_len(m), p, v, out,
                                        rte_pktmbuf_tailroom(r));
                if (len > 0) {
                    r->data_len = (uint16_t)len;
                    r->pkt_len = (uint32_t)len;
                    tx[ntx++] = r;
                    dp->st.replies++;
                } else {
                    rte_pktmbuf_free(r);
                }
            } else {
                dp->st.tx_dropped++;
            }
        }
        rte_pktmbuf_free(m);
    }
    if (ntx > 0) {
        uint16_t sent = rte_eth_tx_burst(dp->port, dp->queue, tx, (uint16_t)ntx);
        dp->st.tx += sent;
        for (unsigned i = sent; i < ntx; i++) {
            rte_pktmbuf_free(tx[i]);
            dp->st.tx_dropped++;
        }
    }
    return n;
}
