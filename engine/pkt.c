/* Frame parsing. Every length is checked before the bytes it covers are read. */
#include "engine/pkt.h"

#include <string.h>

#define ETH_HLEN 14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP 0x0806
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_IPV6 0x86DD
#define PROTO_ICMP 1
#define PROTO_UDP 17
#define PROTO_ICMP6 58

static const char *const verdict_names[MD_PKT_VERDICT_COUNT] = {
    "udp", "arp", "icmp", "icmp6",
    "drop_short", "drop_ethertype", "drop_ip_version", "drop_ip_header",
    "drop_ip_checksum", "drop_fragment", "drop_ip_options", "drop_protocol",
    "drop_udp_length", "drop_udp_checksum", "drop_icmp_checksum", "drop_arp",
    "drop_address",
};

const char *md_pkt_verdict_name(md_pkt_verdict_t v)
{
    return (unsigned)v < MD_PKT_VERDICT_COUNT ? verdict_names[v] : "unknown";
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t md_pkt_sum(const uint8_t *p, size_t len, uint32_t sum)
{
    /* The one's complement sum does not depend on byte order or word size (RFC 1071
     * 2.A, 2.B): add 64-bit native words with the carry wrapped around (two chains, so
     * the adds overlap), fold to 16 bits, and swap the result into network order once.
     * About 1.5x faster than adding 32-bit halves, which matters because every packet is
     * summed twice (received and sent) when the NIC does not do it. */
    uint64_t a = 0, b = 0;
    size_t i = 0;
    for (; i + 16 <= len; i += 16) {
        uint64_t w0, w1;
        memcpy(&w0, p + i, 8);
        memcpy(&w1, p + i + 8, 8);
        a += w0;
        a += a < w0;
        b += w1;
        b += b < w1;
    }
    a += b;
    a += a < b;
    uint64_t acc = (a & 0xFFFFFFFFu) + (a >> 32);
    for (; i + 4 <= len; i += 4) {
        uint32_t h;
        memcpy(&h, p + i, 4);
        acc += h;
    }
    for (; i + 2 <= len; i += 2) {
        uint16_t h;
        memcpy(&h, p + i, 2);
        acc += h;
    }
    while (acc >> 16)
        acc = (acc & 0xFFFF) + (acc >> 16);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint32_t be = __builtin_bswap16((uint16_t)acc);
#else
    uint32_t be = (uint16_t)acc;
#endif
    if (i < len)
        be += (uint32_t)p[i] << 8;   /* an odd last byte is the high half of a word */
    return sum + be;
}

uint16_t md_pkt_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)sum;
}

/* Sum of the pseudo-header for a transport checksum. */
static uint32_t pseudo_sum(const md_pkt_t *p, uint16_t l4_len)
{
    uint32_t sum = 0;
    if (p->ip_version == 4) {
        sum = md_pkt_sum(p->src, 4, sum);
        sum = md_pkt_sum(p->dst, 4, sum);
    } else {
        sum = md_pkt_sum(p->src, 16, sum);
        sum = md_pkt_sum(p->dst, 16, sum);
    }
    return sum + p->l4_proto + l4_len;
}

static int bad_source(const md_pkt_t *p)
{
    if (p->ip_version == 4) {
        /* 0.0.0.0/8, multicast 224/4, limited broadcast */
        return p->src[0] == 0 || (p->src[0] & 0xF0) == 0xE0 ||
               (p->src[0] == 255 && p->src[1] == 255 && p->src[2] == 255 && p->src[3] == 255);
    }
    static const uint8_t zero[16];
    return p->src[0] == 0xFF || memcmp(p->src, zero, 16) == 0;
}

static md_pkt_verdict_t parse_l4(const uint8_t *frame, size_t end, md_pkt_t *p, unsigned hw)
{
    size_t off = p->l4_off;
    size_t l4_len = end - off;

    if (p->l4_proto == PROTO_UDP) {
        if (l4_len < 8)
            return MD_PKT_DROP_SHORT;
        const uint8_t *u = frame + off;
        uint16_t ulen = rd16(u + 4), csum = rd16(u + 6);
        if (ulen < 8 || ulen > l4_len)
            return MD_PKT_DROP_UDP_LENGTH;
        if (csum != 0 || p->ip_version == 6) {
            /* Zero means "none" in IPv4; IPv6 requires it (RFC 8200). */
            if (csum == 0)
                return MD_PKT_DROP_UDP_CHECKSUM;
            if (!(hw & MD_PKT_HW_L4_CKSUM_OK) &&
                md_pkt_fold(md_pkt_sum(u, ulen, pseudo_sum(p, ulen))) != 0xFFFF)
                return MD_PKT_DROP_UDP_CHECKSUM;
        }
        p->sport = rd16(u);
        p->dport = rd16(u + 2);
        p->payload_off = (uint16_t)(off + 8);
        p->payload_len = (uint16_t)(ulen - 8);
        return MD_PKT_UDP;
    }
    if (p->l4_proto == PROTO_ICMP || p->l4_proto == PROTO_ICMP6) {
        if (l4_len < 8)
            return MD_PKT_DROP_SHORT;
        uint32_t sum = p->l4_proto == PROTO_ICMP6 ? pseudo_sum(p, (uint16_t)l4_len) : 0;
        if (md_pkt_fold(md_pkt_sum(frame + off, l4_len, sum)) != 0xFFFF)
            return MD_PKT_DROP_ICMP_CHECKSUM;
        p->payload_off = (uint16_t)off;
        p->payload_len = (uint16_t)l4_len;
        return p->l4_proto == PROTO_ICMP ? MD_PKT_ICMP : MD_PKT_ICMP6;
    }
    return MD_PKT_DROP_PROTOCOL;
}

md_pkt_verdict_t md_pkt_parse(const uint8_t *frame, size_t len, md_pkt_t *p)
{
    return md_pkt_parse_hw(frame, len, p, 0);
}

md_pkt_verdict_t md_pkt_parse_hw(const uint8_t *frame, size_t len, md_pkt_t *p, unsigned hw)
{
    memset(p, 0, sizeof(*p));
    if (len < ETH_HLEN || len > 65535)
        return MD_PKT_DROP_SHORT;
    size_t off = 12;
    uint16_t type = rd16(frame + off);
    if (type == ETHERTYPE_VLAN) {
        if (len < ETH_HLEN + 4)
            return MD_PKT_DROP_SHORT;
        p->vlan = rd16(frame + 14) & 0x0FFF;
        off += 4;
        type = rd16(frame + off);
    }
    off += 2;
    p->l3_off = (uint16_t)off;

    if (type == ETHERTYPE_ARP) {
        /* Ethernet/IPv4 ARP: htype 1, ptype 0x0800, hlen 6, plen 4. */
        if (len - off < 28)
            return MD_PKT_DROP_SHORT;
        const uint8_t *a = frame + off;
        if (rd16(a) != 1 || rd16(a + 2) != ETHERTYPE_IPV4 || a[4] != 6 || a[5] != 4)
            return MD_PKT_DROP_ARP;
        memcpy(p->src, a + 14, 4);
        memcpy(p->dst, a + 24, 4);
        return MD_PKT_ARP;
    }

    if (type == ETHERTYPE_IPV4) {
        if (len - off < 20)
            return MD_PKT_DROP_SHORT;
        const uint8_t *ip = frame + off;
        if (ip[0] >> 4 != 4)
            return MD_PKT_DROP_IP_VERSION;
        size_t ihl = (size_t)(ip[0] & 0x0F) * 4;
        uint16_t total = rd16(ip + 2);
        if (ihl < 20 || total < ihl)
            return MD_PKT_DROP_IP_HEADER;
        if (total > len - off)
            return MD_PKT_DROP_SHORT;
        if (!(hw & MD_PKT_HW_IP_CKSUM_OK) && md_pkt_fold(md_pkt_sum(ip, ihl, 0)) != 0xFFFF)
            return MD_PKT_DROP_IP_CHECKSUM;
        /* More-fragments flag or a fragment offset. */
        if ((rd16(ip + 6) & 0x3FFF) != 0)
            return MD_PKT_DROP_FRAGMENT;
        p->ip_version = 4;
        p->ttl = ip[8];
        p->l4_proto = ip[9];
        memcpy(p->src, ip + 12, 4);
        memcpy(p->dst, ip + 16, 4);
        if (bad_source(p))
            return MD_PKT_DROP_ADDRESS;
        p->l4_off = (uint16_t)(off + ihl);
        /* Ethernet padding after the IP datagram is ignored. */
        return parse_l4(frame, off + total, p, hw);
    }

    if (type == ETHERTYPE_IPV6) {
        if (len - off < 40)
            return MD_PKT_DROP_SHORT;
        const uint8_t *ip = frame + off;
        if (ip[0] >> 4 != 6)
            return MD_PKT_DROP_IP_VERSION;
        uint16_t plen = rd16(ip + 4);
        if (plen > len - off - 40)
            return MD_PKT_DROP_SHORT;
        p->ip_version = 6;
        p->l4_proto = ip[6];
        p->ttl = ip[7];
        memcpy(p->src, ip + 8, 16);
        memcpy(p->dst, ip + 24, 16);
        if (p->l4_proto == 44)
            return MD_PKT_DROP_FRAGMENT;
        if (p->l4_proto == 0 || p->l4_proto == 43 || p->l4_proto == 60 || p->l4_proto == 51 ||
            p->l4_proto == 50 || p->l4_proto == 135)
            return MD_PKT_DROP_IP_OPTIONS;
        if (bad_source(p) && p->l4_proto != PROTO_ICMP6)
            return MD_PKT_DROP_ADDRESS;   /* ND's DAD uses the unspecified source */
        p->l4_off = (uint16_t)(off + 40);
        return parse_l4(frame, off + 40 + plen, p, hw);
    }
    return MD_PKT_DROP_ETHERTYPE;
}
