/* Parsing of received frames: Ethernet (optionally one 802.1Q tag), IPv4, IPv6, UDP,
 * ARP, ICMP and ICMPv6. Pure C on a byte buffer (the mbuf's data), so it is testable and
 * fuzzable without DPDK.
 *
 * md_pkt_parse() never reads outside [frame, frame + len). It classifies the frame;
 * anything malformed or not for the engine gets a drop reason, which the caller counts.
 * Addresses and ports are left in network byte order where noted. */
#ifndef MD_ENGINE_PKT_H
#define MD_ENGINE_PKT_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    MD_PKT_UDP = 0,        /* a well-formed UDP datagram: RTP/RTCP candidate */
    MD_PKT_ARP,            /* ARP over Ethernet/IPv4, well formed */
    MD_PKT_ICMP,           /* ICMPv4, checksum verified */
    MD_PKT_ICMP6,          /* ICMPv6 (echo, neighbour discovery...), checksum verified */
    /* Drop reasons. */
    MD_PKT_DROP_SHORT,         /* truncated at some layer */
    MD_PKT_DROP_ETHERTYPE,     /* not IPv4, IPv6 or ARP (LLDP, double tags...) */
    MD_PKT_DROP_IP_VERSION,    /* version field disagrees with the ethertype */
    MD_PKT_DROP_IP_HEADER,     /* bad IHL, total or payload length */
    MD_PKT_DROP_IP_CHECKSUM,
    MD_PKT_DROP_FRAGMENT,      /* IPv4 fragments and IPv6 fragment headers */
    MD_PKT_DROP_IP_OPTIONS,    /* IPv6 extension headers the engine does not walk */
    MD_PKT_DROP_PROTOCOL,      /* not UDP, ICMP or ICMPv6 */
    MD_PKT_DROP_UDP_LENGTH,
    MD_PKT_DROP_UDP_CHECKSUM,
    MD_PKT_DROP_ICMP_CHECKSUM,
    MD_PKT_DROP_ARP,           /* not Ethernet/IPv4 ARP, or bad lengths */
    MD_PKT_DROP_ADDRESS,       /* source is multicast/broadcast/unspecified */
    MD_PKT_VERDICT_COUNT
} md_pkt_verdict_t;

typedef struct {
    uint16_t vlan;            /* 802.1Q VLAN ID, 0 if untagged */
    uint16_t l3_off;          /* offset of the IP or ARP header */
    uint8_t ip_version;       /* 4 or 6 (0 for ARP) */
    uint8_t ttl;              /* TTL / hop limit */
    uint8_t l4_proto;         /* 17 UDP, 1 ICMP, 58 ICMPv6 */
    uint8_t src[16], dst[16]; /* IPv4 addresses in the first 4 bytes */
    uint16_t l4_off;          /* offset of the UDP/ICMP header */
    uint16_t sport, dport;    /* UDP ports, host byte order */
    uint16_t payload_off;     /* UDP payload / ICMP message offset */
    uint16_t payload_len;
} md_pkt_t;

md_pkt_verdict_t md_pkt_parse(const uint8_t *frame, size_t len, md_pkt_t *p);

/* The same, trusting checksums the NIC has verified (from the mbuf's offload flags):
 * MD_PKT_HW_IP_CKSUM_OK skips the IPv4 header's, MD_PKT_HW_L4_CKSUM_OK the UDP one's
 * (an IPv6 UDP datagram without a checksum is still refused; ICMP is always checked). */
#define MD_PKT_HW_IP_CKSUM_OK 1u
#define MD_PKT_HW_L4_CKSUM_OK 2u
md_pkt_verdict_t md_pkt_parse_hw(const uint8_t *frame, size_t len, md_pkt_t *p, unsigned hw);

/* A short name for a verdict, for counters ("udp", "drop_short", ...). */
const char *md_pkt_verdict_name(md_pkt_verdict_t v);

/* Internet checksum (RFC 1071) helpers: the one's-complement sum folded to 16 bits. */
uint32_t md_pkt_sum(const uint8_t *p, size_t len, uint32_t sum);
uint16_t md_pkt_fold(uint32_t sum);

#endif
