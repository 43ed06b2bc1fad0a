/* Replies to ARP, neighbour solicitation and echo requests: each reply is parsed back
 * with md_pkt_parse(), which verifies the IP and ICMP checksums. */
#include <string.h>

#include "engine/pkt.h"
#include "engine/respond.h"
#include "tests/check.h"

static const md_iface_t ifc = {
    .mac = { 0x02, 0xaa, 0, 0, 0, 0x01 },
    .has_ip4 = 1, .ip4 = { 10, 0, 0, 2 },
    .has_ip6 = 1, .ip6 = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 },
};
static const uint8_t peer_mac[6] = { 0x02, 0xbb, 0, 0, 0, 0x09 };
static const uint8_t peer_ip4[4] = { 10, 0, 0, 1 };
static const uint8_t peer_ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static size_t eth(uint8_t *f, const uint8_t *dst, int vlan, uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, peer_mac, 6);
    size_t off = 12;
    if (vlan) {
        put16(f + 12, 0x8100);
        put16(f + 14, (uint16_t)vlan);
        off = 16;
    }
    put16(f + off, type);
    return off + 2;
}

static size_t icmp6(uint8_t *f, int vlan, const uint8_t *src, const uint8_t *dst, int hops,
                    const uint8_t *msg, size_t mlen)
{
    static const uint8_t mc[6] = { 0x33, 0x33, 0xff, 0, 0, 2 };
    size_t off = eth(f, mc, vlan, 0x86DD);
    uint8_t *ip = f + off;
    memset(ip, 0, 40);
    ip[0] = 0x60;
    put16(ip + 4, (uint16_t)mlen);
    ip[6] = 58;
    ip[7] = (uint8_t)hops;
    memcpy(ip + 8, src, 16);
    memcpy(ip + 24, dst, 16);
    memcpy(ip + 40, msg, mlen);
    uint32_t sum = md_pkt_sum(src, 16, 0);
    sum = md_pkt_sum(dst, 16, sum) + 58 + (uint32_t)mlen;
    put16(ip + 42, (uint16_t)~md_pkt_fold(md_pkt_sum(ip + 40, mlen, sum)));
    return off + 40 + mlen;
}

int main(void)
{
    uint8_t f[256], out[256];
    md_pkt_t p, q;
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

    /* ARP, with and without a VLAN tag. */
    for (int vlan = 0; vlan <= 42; vlan += 42) {
        size_t off = eth(f, bcast, vlan, 0x0806);
        uint8_t *a = f + off;
        memcpy(a, "\x00\x01\x08\x00\x06\x04\x00\x01", 8);
        memcpy(a + 8, peer_mac, 6);
        memcpy(a + 14, peer_ip4, 4);
        memset(a + 18, 0, 6);
        memcpy(a + 24, ifc.ip4, 4);
        size_t len = off + 28;
        CHECK(md_pkt_parse(f, len, &p) == MD_PKT_ARP);
        size_t n = md_respond(&ifc, f, len, &p, MD_PKT_ARP, out, sizeof(out));
        CHECK(n == 60);
        CHECK(md_pkt_parse(out, n, &q) == MD_PKT_ARP && q.vlan == vlan);
        const uint8_t *r = out + q.l3_off;
        CHECK(r[7] == 2 && memcmp(r + 8, ifc.mac, 6) == 0 && memcmp(r + 14, ifc.ip4, 4) == 0 &&
              memcmp(r + 18, peer_mac, 6) == 0 && memcmp(r + 24, peer_ip4, 4) == 0);
        CHECK(memcmp(out, peer_mac, 6) == 0 && memcmp(out + 6, ifc.mac, 6) == 0);
        /* Someone else's address, or a reply: no answer. */
        a[27] = 3;
        CHECK(md_respond(&ifc, f, len, &p, MD_PKT_ARP, out, sizeof(out)) == 0);
        a[27] = 2;
        a[7] = 2;
        CHECK(md_respond(&ifc, f, len, &p, MD_PKT_ARP, out, sizeof(out)) == 0);
    }

    /* ICMP echo. */
    {
        size_t off = eth(f, ifc.mac, 0, 0x0800);
        uint8_t *ip = f + off;
        memset(ip, 0, 20);
        ip[0] = 0x45;
        put16(ip + 2, 20 + 40);
        ip[8] = 64;
        ip[9] = 1;
        memcpy(ip + 12, peer_ip4, 4);
        memcpy(ip + 16, ifc.ip4, 4);
        put16(ip + 10, (uint16_t)~md_pkt_fold(md_pkt_sum(ip, 20, 0)));
        uint8_t *m = ip + 20;
        m[0] = 8;
        m[1] = 0;
        put16(m + 2, 0);
        put16(m + 4, 0x1234);
        put16(m + 6, 7);
        for (int i = 8; i < 40; i++)
            m[i] = (uint8_t)i;
        put16(m + 2, (uint16_t)~md_pkt_fold(md_pkt_sum(m, 40, 0)));
        size_t len = off + 60;
        CHECK(md_pkt_parse(f, len, &p) == MD_PKT_ICMP);
        size_t n = md_respond(&ifc, f, len, &p, MD_PKT_ICMP, out, sizeof(out));
        CHECK(n == len);
        CHECK(md_pkt_parse(out, n, &q) == MD_PKT_ICMP);   /* checksums verified */
        CHECK(out[q.payload_off] == 0 && memcmp(q.dst, peer_ip4, 4) == 0 &&
              memcmp(q.src, ifc.ip4, 4) == 0);
        CHECK(memcmp(out + q.payload_off + 4, m + 4, 36) == 0);
        CHECK(md_respond(&ifc, f, len, &p, MD_PKT_ICMP, out, 40) == 0);   /* no room */
    }

    /* Neighbour solicitation for our address; the answer carries our MAC. */
    {
        uint8_t ns[32] = { 135, 0 };
        memcpy(ns + 8, ifc.ip6, 16);
        ns[24] = 1;
        ns[25] = 1;
        memcpy(ns + 26, peer_mac, 6);
        static const uint8_t solicited[16] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 2 };
        size_t len = icmp6(f, 0, peer_ip6, solicited, 255, ns, sizeof(ns));
        CHECK(md_pkt_parse(f, len, &p) == MD_PKT_ICMP6);
        size_t n = md_respond(&ifc, f, len, &p, MD_PKT_ICMP6, out, sizeof(out));
        CHECK(n > 0 && md_pkt_parse(out, n, &q) == MD_PKT_ICMP6);
        const uint8_t *na = out + q.payload_off;
        CHECK(na[0] == 136 && (na[4] & 0x40) && memcmp(na + 8, ifc.ip6, 16) == 0 &&
              na[24] == 2 && memcmp(na + 26, ifc.mac, 6) == 0);
        CHECK(q.ttl == 255 && memcmp(q.dst, peer_ip6, 16) == 0 && memcmp(out, peer_mac, 6) == 0);
        /* Not 255 hops: forged from off-link, ignored. */
        len = icmp6(f, 0, peer_ip6, solicited, 64, ns, sizeof(ns));
        md_pkt_parse(f, len, &p);
        CHECK(md_respond(&ifc, f, len, &p, MD_PKT_ICMP6, out, sizeof(out)) == 0);
        /* Duplicate address detection (unspecified source): to all nodes, not solicited. */
        static const uint8_t zero[16];
        len = icmp6(f, 0, zero, solicited, 255, ns, 24);
        CHECK(md_pkt_parse(f, len, &p) == MD_PKT_ICMP6);
        n = md_respond(&ifc, f, len, &p, MD_PKT_ICMP6, out, sizeof(out));
        CHECK(n > 0 && md_pkt_parse(out, n, &q) == MD_PKT_ICMP6 && q.dst[0] == 0xff &&
              q.dst[15] == 1 && !(out[q.payload_off + 4] & 0x40));
        /* Another target: silence. */
        ns[23] = 9;
        len = icmp6(f, 0, peer_ip6, solicited, 255, ns, sizeof(ns));
        md_pkt_parse(f, len, &p);
        CHECK(md_respond(&ifc, f, len, &p, MD_PKT_ICMP6, out, sizeof(out)) == 0);
    }

    /* ICMPv6 echo, tagged. */
    {
        uint8_t echo[24] = { 128, 0, 0, 0, 0x12, 0x34, 0, 1 };
        for (int i = 8; i < 24; i++)
            echo[i] = (uint8_t)(i * 3);
        size_t len = icmp6(f, 5, peer_ip6, ifc.ip6, 64, echo, sizeof(echo));
        CHECK(md_pkt_parse(f, len, &p) == MD_PKT_ICMP6);
        size_t n = md_respond(&ifc, f, len, &p, MD_PKT_ICMP6, out, sizeof(out));
        CHECK(n == len && md_pkt_parse(out, n, &q) == MD_PKT_ICMP6 && q.vlan == 5);
        CHECK(out[q.payload_off] == 129 && memcmp(out + q.payload_off + 4, echo + 4, 20) == 0);
    }
    /* UDP and drops get no reply. */
    CHECK(md_respond(&ifc, f, 10, &p, MD_PKT_UDP, out, sizeof(out)) == 0);
    return check_summary("respond");
}
