/* Building replies. Checksums are computed here in full; the frames are small. */
#include "engine/respond.h"

#include <string.h>

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Ethernet header (and the request's VLAN tag) with src = us, dst = dst_mac. Returns
 * the offset of the layer 3 header, which equals the request's. */
static size_t eth_reply(const md_iface_t *ifc, const uint8_t *req, const md_pkt_t *p,
                        const uint8_t *dst_mac, uint8_t *out)
{
    memcpy(out, dst_mac, 6);
    memcpy(out + 6, ifc->mac, 6);
    memcpy(out + 12, req + 12, p->l3_off - 12);   /* ethertype, or tag + ethertype */
    return p->l3_off;
}

static size_t arp_reply(const md_iface_t *ifc, const uint8_t *f, size_t len, const md_pkt_t *p,
                        uint8_t *out, size_t cap)
{
    const uint8_t *a = f + p->l3_off;
    if (!ifc->has_ip4 || len < (size_t)p->l3_off + 28 || cap < (size_t)p->l3_off + 28)
        return 0;
    if (a[6] != 0 || a[7] != 1 || memcmp(a + 24, ifc->ip4, 4) != 0)
        return 0;   /* not a request, or not for us */
    size_t off = eth_reply(ifc, f, p, a + 8, out);
    uint8_t *r = out + off;
    memcpy(r, a, 6);                 /* htype, ptype, hlen, plen */
    r[6] = 0;
    r[7] = 2;                        /* reply */
    memcpy(r + 8, ifc->mac, 6);
    memcpy(r + 14, ifc->ip4, 4);
    memcpy(r + 18, a + 8, 6);        /* to the requester */
    memcpy(r + 24, a + 14, 4);
    size_t n = off + 28;
    if (n < 60 && cap >= 60) {       /* pad to the Ethernet minimum */
        memset(out + n, 0, 60 - n);
        n = 60;
    }
    return n;
}

static size_t icmp4_echo(const md_iface_t *ifc, const uint8_t *f, size_t len, const md_pkt_t *p,
                         uint8_t *out, size_t cap)
{
    const uint8_t *ip = f + p->l3_off;
    const uint8_t *icmp = f + p->payload_off;
    if (!ifc->has_ip4 || memcmp(p->dst, ifc->ip4, 4) != 0 || icmp[0] != 8 || icmp[1] != 0)
        return 0;
    size_t n = (size_t)p->payload_off + p->payload_len;
    if (n > len || n > cap)
        return 0;
    size_t off = eth_reply(ifc, f, p, f + 6, out);
    uint8_t *r = out + off;
    /* IPv4 header without options: 20 bytes. */
    memcpy(r, ip, 20);
    r[0] = 0x45;
    put16(r + 2, (uint16_t)(20 + p->payload_len));
    put16(r + 6, 0);
    r[8] = 64;
    memcpy(r + 12, ifc->ip4, 4);
    memcpy(r + 16, p->src, 4);
    put16(r + 10, 0);
    put16(r + 10, (uint16_t)~md_pkt_fold(md_pkt_sum(r, 20, 0)));
    uint8_t *m = r + 20;
    memcpy(m, icmp, p->payload_len);
    m[0] = 0;   /* echo reply */
    put16(m + 2, 0);
    put16(m + 2, (uint16_t)~md_pkt_fold(md_pkt_sum(m, p->payload_len, 0)));
    return off + 20 + p->payload_len;
}

/* IPv6 header + ICMPv6 message of mlen bytes already at out + off + 40; fills the IPv6
 * header and the ICMPv6 checksum. */
static size_t finish_icmp6(uint8_t *out, size_t off, const uint8_t *src, const uint8_t *dst,
                           size_t mlen)
{
    uint8_t *ip = out + off;
    memset(ip, 0, 40);
    ip[0] = 0x60;
    put16(ip + 4, (uint16_t)mlen);
    ip[6] = 58;
    ip[7] = 255;
    memcpy(ip + 8, src, 16);
    memcpy(ip + 24, dst, 16);
    uint8_t *m = ip + 40;
    put16(m + 2, 0);
    uint32_t sum = md_pkt_sum(src, 16, 0);
    sum = md_pkt_sum(dst, 16, sum);
    sum += 58 + (uint32_t)mlen;
    put16(m + 2, (uint16_t)~md_pkt_fold(md_pkt_sum(m, mlen, sum)));
    return off + 40 + mlen;
}

static size_t icmp6_reply(const md_iface_t *ifc, const uint8_t *f, size_t len,
                          const md_pkt_t *p, uint8_t *out, size_t cap)
{
    const uint8_t *m = f + p->payload_off;
    size_t mlen = p->payload_len;
    static const uint8_t unspecified[16];
    if (!ifc->has_ip6 || (size_t)p->payload_off + mlen > len)
        return 0;

    if (m[0] == 135 && m[1] == 0 && mlen >= 24) {
        /* Neighbour solicitation for our address; RFC 4861 7.1.1: hop limit 255. */
        if (p->ttl != 255 || memcmp(m + 8, ifc->ip6, 16) != 0)
            return 0;
        size_t off = p->l3_off;
        if (cap < off + 40 + 32)
            return 0;
        int dad = memcmp(p->src, unspecified, 16) == 0;
        static const uint8_t all_nodes[16] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
        static const uint8_t all_nodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };
        eth_reply(ifc, f, p, dad ? all_nodes_mac : f + 6, out);
        uint8_t *na = out + off + 40;
        memset(na, 0, 32);
        na[0] = 136;
        na[4] = dad ? 0x20 : 0x60;   /* Solicited unless answering DAD; Override */
        memcpy(na + 8, ifc->ip6, 16);
        na[24] = 2;                  /* target link-layer address option */
        na[25] = 1;
        memcpy(na + 26, ifc->mac, 6);
        return finish_icmp6(out, off, ifc->ip6, dad ? all_nodes : p->src, 32);
    }
    if (m[0] == 128 && m[1] == 0) {
        if (memcmp(p->dst, ifc->ip6, 16) != 0 || cap < (size_t)p->l3_off + 40 + mlen)
            return 0;
        size_t off = eth_reply(ifc, f, p, f + 6, out);
        uint8_t *r = out + off + 40;
        memcpy(r, m, mlen);
        r[0] = 129;
        return finish_icmp6(out, off, ifc->ip6, p->src, mlen);
    }
    return 0;
}

size_t md_respond(const md_iface_t *ifc, const uint8_t *frame, size_t len, const md_pkt_t *p,
                  md_pkt_verdict_t v, uint8_t *out, size_t cap)
{
    switch (v) {
    case MD_PKT_ARP:
        return arp_reply(ifc, frame, len, p, out, cap);
    case MD_PKT_ICMP:
        return icmp4_echo(ifc, frame, len, p, out, cap);
    case MD_PKT_ICMP6:
        return icmp6_reply(ifc, frame, len, p, out, cap);
    default:
        return 0;
    }
}
