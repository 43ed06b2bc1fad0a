/* Outgoing frames. */
#include "engine/txpkt.h"

#include <string.h>

#include "engine/pkt.h"
#include "engine/rtp.h"

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

size_t md_tx_header_len(const md_tx_template_t *t)
{
    return 14 + (t->vlan ? 4 : 0) + (t->ip_version == 6 ? 40 : 20) + 8 + 12;
}

/* Ethernet, IP and UDP headers for a UDP payload of plen bytes; returns the offset of
 * the UDP header and the pseudo-header sum (without length and protocol) in *psum. */
static size_t write_headers(const md_tx_template_t *t, uint16_t sport, uint16_t dport,
                            size_t plen, uint8_t *out, uint32_t *psum)
{
    size_t off = 12;
    memcpy(out, t->dst_mac, 6);
    memcpy(out + 6, t->src_mac, 6);
    if (t->vlan) {
        put16(out + 12, 0x8100);
        put16(out + 14, t->vlan & 0x0FFF);
        off = 16;
    }
    put16(out + off, t->ip_version == 6 ? 0x86DD : 0x0800);
    off += 2;
    uint8_t *ip = out + off;
    uint16_t ulen = (uint16_t)(8 + plen);
    if (t->ip_version == 6) {
        memset(ip, 0, 8);
        ip[0] = 0x60;
        put16(ip + 4, ulen);
        ip[6] = 17;
        ip[7] = t->ttl;
        memcpy(ip + 8, t->src_ip, 16);
        memcpy(ip + 24, t->dst_ip, 16);
        *psum = md_pkt_sum(t->src_ip, 16, 0);
        *psum = md_pkt_sum(t->dst_ip, 16, *psum);
        off += 40;
    } else {
        memset(ip, 0, 20);
        ip[0] = 0x45;
        ip[1] = 0xB8;   /* DSCP EF: voice */
        put16(ip + 2, (uint16_t)(20 + ulen));
        put16(ip + 6, 0x4000);   /* don't fragment */
        ip[8] = t->ttl;
        ip[9] = 17;
        memcpy(ip + 12, t->src_ip, 4);
        memcpy(ip + 16, t->dst_ip, 4);
        if (!(t->hw_csum & MD_TX_HW_IP_CKSUM))
            put16(ip + 10, (uint16_t)~md_pkt_fold(md_pkt_sum(ip, 20, 0)));
        *psum = md_pkt_sum(t->src_ip, 4, 0);
        *psum = md_pkt_sum(t->dst_ip, 4, *psum);
        off += 20;
    }
    uint8_t *u = out + off;
    put16(u, sport);
    put16(u + 2, dport);
    put16(u + 4, ulen);
    put16(u + 6, 0);
    return off;
}

static void udp_checksum(const md_tx_template_t *t, uint8_t *u, size_t ulen, uint32_t psum)
{
    if (t->hw_csum & MD_TX_HW_UDP_CKSUM) {
        /* The NIC sums the datagram; it starts from the pseudo-header's sum. */
        put16(u + 6, md_pkt_fold(psum + 17 + (uint32_t)ulen));
        return;
    }
    uint16_t c = (uint16_t)~md_pkt_fold(md_pkt_sum(u, ulen, psum + 17 + (uint32_t)ulen));
    put16(u + 6, c ? c : 0xFFFF);   /* 0 would mean "no checksum" */
}

size_t md_tx_build(md_tx_template_t *t, int marker, const uint8_t *payload, size_t len,
                   uint32_t ts_step, uint8_t *out, size_t cap)
{
    size_t hl = md_tx_header_len(t), total = hl + len;
    if (total > cap || len > 1400)
        return 0;
    uint32_t psum;
    size_t off = write_headers(t, t->src_port, t->dst_port, 12 + len, out, &psum);
    uint8_t *u = out + off;
    md_rtp_write(u + 8, t->pt, marker, t->seq, t->ts, t->ssrc);
    memcpy(u + 20, payload, len);
    udp_checksum(t, u, 8 + 12 + len, psum);
    t->seq++;
    t->ts += ts_step;
    return total;
}

size_t md_tx_build_udp(const md_tx_template_t *t, uint16_t sport, uint16_t dport,
                       const uint8_t *payload, size_t len, uint8_t *out, size_t cap)
{
    size_t total = md_tx_header_len(t) - 12 + len;
    if (total > cap || len > 1400)
        return 0;
    uint32_t psum;
    size_t off = write_headers(t, sport, dport, len, out, &psum);
    memcpy(out + off + 8, payload, len);
    udp_checksum(t, out + off, 8 + len, psum);
    return total;
}
