/* Outgoing frames parse back exactly (checksums verified by md_pkt_parse), for IPv4 and
 * IPv6, tagged and not; sequence numbers and timestamps advance and wrap. */
#include <string.h>

#include "engine/pkt.h"
#include "engine/rtp.h"
#include "engine/txpkt.h"
#include "tests/check.h"

int main(void)
{
    uint8_t out[1600], payload[160];
    for (int i = 0; i < 160; i++)
        payload[i] = (uint8_t)(i * 7);
    for (int v6 = 0; v6 < 2; v6++)
        for (int vlan = 0; vlan <= 300; vlan += 300) {
            md_tx_template_t t = { .src_mac = { 2, 0xaa, 0, 0, 0, 1 },
                                   .dst_mac = { 2, 0xbb, 0, 0, 0, 9 }, .vlan = (uint16_t)vlan,
                                   .ip_version = (uint8_t)(v6 ? 6 : 4), .src_port = 20000,
                                   .dst_port = 4000, .ttl = 64, .pt = 8, .ssrc = 0xCAFE,
                                   .seq = 65535, .ts = 0xFFFFFF60u };
            if (v6) {
                t.src_ip[0] = 0x20; t.src_ip[15] = 2;
                t.dst_ip[0] = 0x20; t.dst_ip[15] = 1;
            } else {
                memcpy(t.src_ip, "\x0a\x00\x00\x02", 4);
                memcpy(t.dst_ip, "\x0a\x00\x00\x01", 4);
            }
            for (int k = 0; k < 3; k++) {
                size_t n = md_tx_build(&t, k == 0, payload, sizeof(payload), 160, out, sizeof(out));
                CHECK(n == md_tx_header_len(&t) + 160);
                md_pkt_t p;
                CHECK(md_pkt_parse(out, n, &p) == MD_PKT_UDP);
                CHECK(p.vlan == vlan && p.sport == 20000 && p.dport == 4000 && p.ttl == 64);
                md_rtp_hdr_t h;
                CHECK(md_rtp_parse(out + p.payload_off, p.payload_len, &h) == MD_RTP_OK);
                CHECK(h.pt == 8 && h.ssrc == 0xCAFE && h.marker == (k == 0));
                CHECK(h.seq == (uint16_t)(65535 + k) && h.ts == 0xFFFFFF60u + 160u * (uint32_t)k);
                CHECK(memcmp(out + p.payload_off + h.payload_off, payload, 160) == 0);
            }
            CHECK(md_tx_build(&t, 0, payload, sizeof(payload), 160, out, 100) == 0);

            /* Checksums left to the NIC (TX offload): the frame is the software one but for
             * a zero IPv4 header checksum and the pseudo-header sum in the UDP field, from
             * which the NIC's sum over the datagram gives the software checksum. */
            uint8_t soft[1600];
            md_tx_template_t ts = t, th = t;
            th.hw_csum = MD_TX_HW_IP_CKSUM | MD_TX_HW_UDP_CKSUM;
            size_t n = md_tx_build(&ts, 1, payload, sizeof(payload), 160, soft, sizeof(soft));
            CHECK(md_tx_build(&th, 1, payload, sizeof(payload), 160, out, sizeof(out)) == n);
            size_t l3 = vlan ? 18 : 14, l4 = l3 + (v6 ? 40 : 20);
            int diff = 0;
            for (size_t i = 0; i < n; i++)
                diff += out[i] != soft[i] && !(i >= l4 + 6 && i < l4 + 8) &&
                        !(!v6 && i >= l3 + 10 && i < l3 + 12);
            CHECKF(diff == 0, "v%d vlan %d: %d bytes differ besides the checksums", v6 ? 6 : 4, vlan, diff);
            if (!v6)
                CHECK(out[l3 + 10] == 0 && out[l3 + 11] == 0);
            /* What the NIC does: the one's-complement sum of the datagram, field included. */
            uint16_t nic = (uint16_t)~md_pkt_fold(md_pkt_sum(out + l4, n - l4, 0));
            CHECKF(nic == (uint16_t)(soft[l4 + 6] << 8 | soft[l4 + 7]),
                   "v%d vlan %d: NIC checksum %04x, software %02x%02x", v6 ? 6 : 4, vlan, nic,
                   soft[l4 + 6], soft[l4 + 7]);
        }
    return check_summary("txpkt");
}
