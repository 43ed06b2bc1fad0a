/* Building outgoing RTP frames from a per-channel template: Ethernet (+802.1Q),
 * IPv4 or IPv6, UDP, RTP. The template holds everything constant for the channel; each
 * frame adds the payload, the sequence number and timestamp, and the lengths and
 * checksums. Pure C on a buffer (the mbuf's data). */
#ifndef MD_ENGINE_TXPKT_H
#define MD_ENGINE_TXPKT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t src_mac[6], dst_mac[6];
    uint16_t vlan;              /* 0: untagged */
    uint8_t ip_version;         /* 4 or 6 */
    uint8_t src_ip[16], dst_ip[16];
    uint16_t src_port, dst_port;
    uint8_t ttl;
    uint8_t pt;                 /* RTP payload type */
    uint32_t ssrc;
    uint16_t seq;               /* next sequence number */
    uint32_t ts;                /* next timestamp */
    uint8_t hw_csum;            /* MD_TX_HW_*: checksums left to the NIC (TX offload) */
} md_tx_template_t;

/* With these the frame carries, as DPDK's TX offload expects, a zero IPv4 header
 * checksum and in the UDP checksum field the pseudo-header sum; the sender sets the
 * mbuf's offload flags and lengths (md_tx_offload_flags). */
#define MD_TX_HW_IP_CKSUM 1u
#define MD_TX_HW_UDP_CKSUM 2u

/* Header bytes before the RTP payload for this template. */
size_t md_tx_header_len(const md_tx_template_t *t);

/* Writes one frame into out (cap bytes): headers from the template, the RTP header with
 * the template's seq/ts (then advanced: seq by 1, ts by ts_step), and the payload.
 * Returns the frame length, or 0 if cap is too small. */
size_t md_tx_build(md_tx_template_t *t, int marker, const uint8_t *payload, size_t len,
                   uint32_t ts_step, uint8_t *out, size_t cap);

/* A UDP datagram (no RTP header) on the template's addresses with other ports: RTCP
 * goes from the channel's odd port to the peer's. Returns the frame length or 0. */
size_t md_tx_build_udp(const md_tx_template_t *t, uint16_t sport, uint16_t dport,
                       const uint8_t *payload, size_t len, uint8_t *out, size_t cap);

#endif
