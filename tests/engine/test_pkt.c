/* Frame and RTP parsing: well-formed packets of every kind, and every malformation the
 * issue names (truncated headers, bad versions, CSRC counts and extension lengths past
 * the end, zero-length payloads), each read from an exactly-sized buffer so that
 * AddressSanitizer catches any read past the end. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/pkt.h"
#include "engine/rtp.h"
#include "tests/check.h"

static uint8_t frame[2048];

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Builds Ethernet [+VLAN] + IPv4 or IPv6 + UDP carrying payload; returns the length. */
static size_t build_udp(int v6, int vlan, const uint8_t *payload, size_t plen, int zero_csum)
{
    size_t off = 12;
    memset(frame, 0, sizeof(frame));
    memcpy(frame, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
    if (vlan) {
        put16(frame + 12, 0x8100);
        put16(frame + 14, (uint16_t)vlan);
        off += 4;
    }
    put16(frame + off, v6 ? 0x86DD : 0x0800);
    off += 2;
    uint8_t *ip = frame + off;
    size_t ihl = v6 ? 40 : 20, ulen = 8 + plen;
    md_pkt_t pseudo = { 0 };
    if (v6) {
        ip[0] = 0x60;
        put16(ip + 4, (uint16_t)ulen);
        ip[6] = 17;
        ip[7] = 64;
        ip[8] = 0x20; ip[9] = 0x01; ip[10] = 0x0d; ip[11] = 0xb8; ip[23] = 1;
        ip[24] = 0x20; ip[25] = 0x01; ip[26] = 0x0d; ip[27] = 0xb8; ip[39] = 2;
        memcpy(pseudo.src, ip + 8, 16);
        memcpy(pseudo.dst, ip + 24, 16);
    } else {
        ip[0] = 0x45;
        put16(ip + 2, (uint16_t)(20 + ulen));
        ip[8] = 64;
        ip[9] = 17;
        memcpy(ip + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
        put16(ip + 10, (uint16_t)~md_pkt_fold(md_pkt_sum(ip, 20, 0)));
        memcpy(pseudo.src, ip + 12, 4);
        memcpy(pseudo.dst, ip + 16, 4);
    }
    uint8_t *u = ip + ihl;
    put16(u, 40000);
    put16(u + 2, 20000);
    put16(u + 4, (uint16_t)ulen);
    memcpy(u + 8, payload, plen);
    if (!zero_csum) {
        uint32_t sum = 0;
        if (v6) {
            sum = md_pkt_sum(pseudo.src, 16, sum);
            sum = md_pkt_sum(pseudo.dst, 16, sum);
        } else {
            sum = md_pkt_sum(pseudo.src, 4, sum);
            sum = md_pkt_sum(pseudo.dst, 4, sum);
        }
        sum += 17 + (uint32_t)ulen;
        uint16_t c = (uint16_t)~md_pkt_fold(md_pkt_sum(u, ulen, sum));
        put16(u + 6, c ? c : 0xFFFF);
    }
    return off + ihl + ulen;
}

static md_pkt_verdict_t parse_exact(const uint8_t *f, size_t len, md_pkt_t *p)
{
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, f, len);
    md_pkt_verdict_t v = md_pkt_parse(copy, len, p);
    free(copy);
    return v;
}

static void test_good(void)
{
    uint8_t rtp[172];
    md_rtp_write(rtp, 0, 1, 65535, 0xFFFFFF00u, 0xDEADBEEF);
    for (int i = 12; i < 172; i++)
        rtp[i] = (uint8_t)i;
    md_pkt_t p;
    for (int v6 = 0; v6 < 2; v6++)
        for (int vlan = 0; vlan <= 100; vlan += 100) {
            size_t len = build_udp(v6, vlan, rtp, sizeof(rtp), 0);
            CHECK(parse_exact(frame, len, &p) == MD_PKT_UDP);
            CHECK(p.ip_version == (v6 ? 6 : 4) && p.vlan == vlan);
            CHECK(p.sport == 40000 && p.dport == 20000 && p.payload_len == sizeof(rtp));
            CHECK(memcmp(frame + p.payload_off, rtp, sizeof(rtp)) == 0);
            /* Ethernet padding after the datagram is fine. */
            CHECK(parse_exact(frame, len + 6, &p) == MD_PKT_UDP && p.payload_len == sizeof(rtp));
            md_rtp_hdr_t h;
            CHECK(md_rtp_parse(frame + p.payload_off, p.payload_len, &h) == MD_RTP_OK);
            CHECK(h.marker == 1 && h.pt == 0 && h.seq == 65535 && h.ts == 0xFFFFFF00u &&
                  h.ssrc == 0xDEADBEEF && h.payload_off == 12 && h.payload_len == 160);
        }
    /* IPv4 without a UDP checksum is accepted; IPv6 requires one. */
    size_t len = build_udp(0, 0, rtp, 20, 1);
    CHECK(parse_exact(frame, len, &p) == MD_PKT_UDP);
    len = build_udp(1, 0, rtp, 20, 1);
    CHECK(parse_exact(frame, len, &p) == MD_PKT_DROP_UDP_CHECKSUM);
}

static void test_malformed_frames(void)
{
    uint8_t rtp[40] = { 0x80 };
    md_pkt_t p;
    for (int v6 = 0; v6 < 2; v6++) {
        size_t len = build_udp(v6, 7, rtp, sizeof(rtp), 0);
        int drops = 0;
        for (size_t cut = 0; cut < len; cut++)
            drops += parse_exact(frame, cut, &p) != MD_PKT_UDP;
        CHECKF(drops == (int)len, "v%d: %d of %zu truncations accepted", v6 ? 6 : 4,
               (int)len - drops, len);
    }
    size_t len = build_udp(0, 0, rtp, sizeof(rtp), 0);
    uint8_t *ip = frame + 14;
    uint8_t keep[128];
    memcpy(keep, frame, len);
#define RESTORE() memcpy(frame, keep, len)
    ip[0] = 0x65;
    CHECK(parse_exact(frame, len, &p) == MD_PKT_DROP_IP_VERSION);
    RESTORE();
    ip[0] = 0x44;
    CHECK(parse_exact(frame, len, &p) == MD_PKT_DROP_IP_HEADER);
    RESTORE();
    put16(ip + 2, 1000);
    CHECK(parse_exact(frame, len, &p) == MD_PKT_DROP_SHORT);
    RESTORE();
    ip[10] ^= 1;
    CHECK(parse_exact(frame, len, &p) == MD_PKT_DROP_IP_CHECKSUM);
    RESTORE();
    put16(ip + 6, 0x2000);   /* more fragments */
    put16(ip + 10, 0);
    put16(ip + 10, (uint16_t)~md_pkt_fold(md_pkt_sum(ip, 20, 0)));
    CHECK(parse_exact(frame, len, &p) == MD_PKT_DROP_FRAGMENT);
    RESTORE();
    ip[9] = 6;   /* TCP */
    put16(ip + 10, 0);
    put16(ip + 10, (uint16_t)~md_pkt_fold(md_pkt_sum(ip, 20, 0)));
    CHECK(parse_exact(frame, len, &p) == MD_PKT_DROP_PROTOCOL);
    RESTORE();
    ip[12] = 224;   /* multicast source */
    put16(ip + 10, 0);
    put16(ip + 10, (uint16_t)~md_pkt_fold(md_pkt_sum(ip, 20, 0)));
    CHECK(parse_exact(frame, len, &p) == MD_PKT_DROP_ADDRESS);
    RESTORE();
    put16(ip + 20 + 4, 7);   /* UDP length under 8 */
    CHECK(parse_exact(frame, len, &p) == MD_PKT_DROP_UDP_LENGTH);
    RESTORE();
    put16(ip + 20 + 4, 200);   /* UDP length past the datagram */
    CHECK(parse_exact(frame, len, &p) == MD_PKT_DROP_UDP_LENGTH);
    RESTORE();
    ip[20 + 8] ^= 0x55;   /* payload corrupted: checksum fails */
    CHECK(parse_exact(frame, len, &p) == MD_PKT_DROP_UDP_CHECKSUM);
    RESTORE();
    put16(frame + 12, 0x88CC);   /* LLDP */
    CHECK(parse_exact(frame, len, &p) == MD_PKT_DROP_ETHERTYPE);
    RESTORE();

    len = build_udp(1, 0, rtp, sizeof(rtp), 0);
    frame[14 + 6] = 44;
    CHECK(parse_exact(frame, len, &p) == MD_PKT_DROP_FRAGMENT);
    frame[14 + 6] = 0;   /* hop-by-hop options */
    CHECK(parse_exact(frame, len, &p) == MD_PKT_DROP_IP_OPTIONS);

    /* ARP request for 10.0.0.2. */
    uint8_t arp[42] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06,
                        0, 1, 0x08, 0x00, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1,
                        0, 0, 0, 0, 0, 0, 10, 0, 0, 2 };
    CHECK(parse_exact(arp, sizeof(arp), &p) == MD_PKT_ARP && p.dst[3] == 2 && p.src[3] == 1);
    CHECK(parse_exact(arp, 40, &p) == MD_PKT_DROP_SHORT);
    arp[19] = 16;
    CHECK(parse_exact(arp, sizeof(arp), &p) == MD_PKT_DROP_ARP);

    /* ICMP echo request with a correct checksum, then a wrong one. */
    len = build_udp(0, 0, rtp, 8, 1);
    ip[9] = 1;
    put16(ip + 10, 0);
    put16(ip + 10, (uint16_t)~md_pkt_fold(md_pkt_sum(ip, 20, 0)));
    uint8_t *icmp = ip + 20;
    memset(icmp, 0, 16);
    icmp[0] = 8;
    put16(icmp + 2, (uint16_t)~md_pkt_fold(md_pkt_sum(icmp, 16, 0)));
    CHECK(parse_exact(frame, len, &p) == MD_PKT_ICMP && p.payload_len == 16);
    icmp[5] ^= 1;
    CHECK(parse_exact(frame, len, &p) == MD_PKT_DROP_ICMP_CHECKSUM);
    CHECK(strcmp(md_pkt_verdict_name(MD_PKT_DROP_FRAGMENT), "drop_fragment") == 0);
}

static void test_rtp(void)
{
    uint8_t b[64];
    md_rtp_hdr_t h;
    md_rtp_write(b, 8, 0, 1, 2, 3);
    CHECK(md_rtp_parse(b, 12, &h) == MD_RTP_OK && h.payload_len == 0);   /* zero-length */
    CHECK(md_rtp_parse(b, 11, &h) == MD_RTP_SHORT);
    b[0] = 0x40;
    CHECK(md_rtp_parse(b, 20, &h) == MD_RTP_VERSION);
    b[0] = 0x8F;   /* 15 CSRCs = 72 bytes of header */
    CHECK(md_rtp_parse(b, 64, &h) == MD_RTP_SHORT);
    b[0] = 0x81;
    CHECK(md_rtp_parse(b, 20, &h) == MD_RTP_OK && h.payload_off == 16 && h.payload_len == 4);
    b[0] = 0x90;   /* extension */
    put16(b + 14, 100);
    CHECK(md_rtp_parse(b, 64, &h) == MD_RTP_EXTENSION);
    CHECK(md_rtp_parse(b, 14, &h) == MD_RTP_EXTENSION);
    put16(b + 14, 1);
    CHECK(md_rtp_parse(b, 24, &h) == MD_RTP_OK && h.payload_off == 20 && h.payload_len == 4);
    b[0] = 0xA0;   /* padding */
    b[19] = 0;
    CHECK(md_rtp_parse(b, 20, &h) == MD_RTP_PADDING);
    b[19] = 9;
    CHECK(md_rtp_parse(b, 20, &h) == MD_RTP_PADDING);
    b[19] = 3;
    CHECK(md_rtp_parse(b, 20, &h) == MD_RTP_OK && h.payload_len == 5);
    md_rtp_write(b, 72, 0, 1, 2, 3);
    b[1] = 200 & 0xFF;   /* RTCP SR on the RTP port: PT byte 200 reads as M=1, PT=72 */
    CHECK(md_rtp_parse(b, 28, &h) == MD_RTP_RTCP);

    md_rtp_event_t ev = { .event = 11, .end = 1, .volume = 10, .duration = 1280 }, back;
    md_rtp_event_write(b, &ev);
    CHECK(md_rtp_event_parse(b, 4, &back) == 0 && back.event == 11 && back.end == 1 &&
          back.volume == 10 && back.duration == 1280);
    CHECK(md_rtp_event_parse(b, 3, &back) == -1);

    /* Every length of random bytes: no crash, never a payload past the end. */
    unsigned seed = 9;
    int bad = 0;
    for (int t = 0; t < 20000; t++) {
        size_t n = (size_t)(rand_r(&seed) % 80);
        uint8_t *r = malloc(n ? n : 1);
        for (size_t i = 0; i < n; i++)
            r[i] = (uint8_t)rand_r(&seed);
        if (n)
            r[0] = (uint8_t)(0x80 | (r[0] & 0x3F));
        if (md_rtp_parse(r, n, &h) == MD_RTP_OK)
            bad += (size_t)h.payload_off + h.payload_len > n;
        free(r);
    }
    CHECK(bad == 0);
}

/* Checksums the NIC verified: skipped only for what the flags say, and never the rules
 * that are not checksums. */
static void test_hw_checked(void)
{
    uint8_t rtp[40] = { 0x80 };
    md_pkt_t p;
    size_t len = build_udp(0, 0, rtp, sizeof(rtp), 0);
    uint8_t *ip = frame + 14;
    ip[20 + 8] ^= 0x55;   /* the UDP checksum no longer matches */
    CHECK(md_pkt_parse_hw(frame, len, &p, 0) == MD_PKT_DROP_UDP_CHECKSUM);
    CHECK(md_pkt_parse_hw(frame, len, &p, MD_PKT_HW_IP_CKSUM_OK) == MD_PKT_DROP_UDP_CHECKSUM);
    CHECK(md_pkt_parse_hw(frame, len, &p, MD_PKT_HW_L4_CKSUM_OK) == MD_PKT_UDP &&
          p.payload_len == sizeof(rtp));
    ip[20 + 8] ^= 0x55;
    ip[10] ^= 1;          /* the IPv4 header checksum no longer matches */
    CHECK(md_pkt_parse_hw(frame, len, &p, MD_PKT_HW_L4_CKSUM_OK) == MD_PKT_DROP_IP_CHECKSUM);
    CHECK(md_pkt_parse_hw(frame, len, &p, MD_PKT_HW_IP_CKSUM_OK) == MD_PKT_UDP);
    /* IPv6 without a UDP checksum stays refused whatever the flags. */
    len = build_udp(1, 0, rtp, 20, 1);
    CHECK(md_pkt_parse_hw(frame, len, &p, MD_PKT_HW_IP_CKSUM_OK | MD_PKT_HW_L4_CKSUM_OK) ==
          MD_PKT_DROP_UDP_CHECKSUM);
}

/* md_pkt_sum against RFC 1071 written the plain way (big-endian 16-bit words, an odd
 * last byte padded with zero, carries folded at the end), for every length 0..300 at
 * every alignment 0..7, on pseudo-random data with runs of 0xFF (many carries), and RFC
 * 1071's own example. The other tests build their frames' checksums with md_pkt_sum, so
 * they cannot see it wrong. */
static uint32_t plain_sum(const uint8_t *p, size_t len)
{
    uint64_t acc = 0;
    for (size_t i = 0; i < len; i += 2)
        acc += (uint32_t)(p[i] << 8) | (i + 1 < len ? p[i + 1] : 0);
    while (acc >> 16)
        acc = (acc & 0xFFFF) + (acc >> 16);
    return (uint32_t)acc;
}

static void test_sum(void)
{
    static const uint8_t rfc1071[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
    CHECK(md_pkt_fold(md_pkt_sum(rfc1071, 8, 0)) == 0xddf2);   /* RFC 1071 3 */
    static uint8_t buf[320];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof(buf); i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(i % 5 == 0 ? 0xFF : x >> 24);   /* runs of 0xFF: carries */
    }
    int bad = 0;
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len + off <= 308; len++)
            bad += md_pkt_fold(md_pkt_sum(buf + off, len, 7)) != md_pkt_fold(plain_sum(buf + off, len) + 7);
    CHECKF(bad == 0, "%d sums differ from RFC 1071's", bad);
    memset(buf, 0xFF, sizeof(buf));
    CHECK(md_pkt_fold(md_pkt_sum(buf, 300, 0)) == 0xFFFF);
}

int main(void)
{
    test_sum();
    test_good();
    test_hw_checked();
    test_malformed_frames();
    test_rtp();
    return check_summary("pkt");
}
