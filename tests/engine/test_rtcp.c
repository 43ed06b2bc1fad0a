/* RTCP reports between two channels' RTCP states, as two peers would exchange them:
 * the sender report's fields on the wire, the receiver report's loss, cumulative loss,
 * extended sequence number and jitter, the round trip from LSR/DLSR, SDES CNAME, and
 * malformed compound packets counted and ignored. */
#include <string.h>

#include "engine/rtcp.h"
#include "tests/check.h"

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int main(void)
{
    md_rtcp_t a, b;
    md_rtcp_init(&a, 1);
    md_rtcp_init(&b, 2);
    uint8_t pkt[256];
    const uint64_t ntp_a = 3900000000000ull;   /* A's and B's wall clocks agree here */

    /* Scheduling: nothing due at the first call; due 2.5 to 7.5 s later. */
    CHECK(!md_rtcp_due(&a, 1000));
    CHECK(a.next_at_ms >= 1000 + 2500 && a.next_at_ms < 1000 + 7500);
    CHECK(!md_rtcp_due(&a, a.next_at_ms - 1));
    CHECK(md_rtcp_due(&a, a.next_at_ms));

    /* A sends a sender report (it sent 500 packets) with a block about B's stream:
     * expected 100, received 90. */
    md_rtcp_report_t rep = { .ssrc = 0xAAAA0001, .sent_since_last = 1, .ntp_ms = ntp_a + 10000,
                             .rtp_ts = 123456, .packets_sent = 500, .octets_sent = 80000,
                             .have_peer = 1, .peer_ssrc = 0xBBBB0002, .highest_seq = 65530,
                             .received = 90, .expected = 100, .jitter = 40, .now_ms = 10000,
                             .cname = "medley@10.0.0.2" };
    size_t n = md_rtcp_build(&a, &rep, pkt, sizeof(pkt));
    CHECK(n == 28 + 24 + 28);   /* SR with one block, SDES with a 15-byte CNAME, padded */
    CHECK(pkt[0] == 0x81 && pkt[1] == 200);
    CHECK(((size_t)(pkt[2] << 8 | pkt[3]) + 1) * 4 == 52);
    CHECK(get32(pkt + 4) == 0xAAAA0001);
    CHECK(get32(pkt + 8) == (uint32_t)((ntp_a + 10000) / 1000));
    CHECK(get32(pkt + 16) == 123456 && get32(pkt + 20) == 500 && get32(pkt + 24) == 80000);
    CHECK(get32(pkt + 28) == 0xBBBB0002);
    CHECK(pkt[32] == 25);                             /* 10 lost of 100: 25/256 */
    CHECK((get32(pkt + 32) & 0xFFFFFF) == 10);        /* cumulative */
    CHECK(get32(pkt + 36) == 65530);                  /* no wrap yet */
    CHECK(get32(pkt + 40) == 40);
    CHECK(get32(pkt + 44) == 0 && get32(pkt + 48) == 0);   /* no SR from B yet */
    CHECK(pkt[52] == 0x81 && pkt[53] == 202 && pkt[60] == 1 && pkt[61] == 15);
    CHECK(memcmp(pkt + 62, "medley@10.0.0.2", 15) == 0);
    CHECK(a.reports_tx == 1);

    /* B takes it 40 ms later, and answers with a receiver report 960 ms after that: the
     * round trip A computes is 80 ms (40 there, 40 back). */
    CHECK(md_rtcp_receive(&b, pkt, n, 0xBBBB0002, 20040, ntp_a + 10040) == 0);
    CHECK(b.sr_rx == 1 && b.bad == 0);
    CHECK(b.peer_fraction_lost == 25 && b.peer_cum_lost == 10 && b.peer_jitter == 40);
    md_rtcp_report_t rr = { .ssrc = 0xBBBB0002, .sent_since_last = 0, .have_peer = 1,
                            .peer_ssrc = 0xAAAA0001, .highest_seq = 3, .received = 400,
                            .expected = 400, .jitter = 7, .now_ms = 21000, .cname = "b" };
    n = md_rtcp_build(&b, &rr, pkt, sizeof(pkt));
    CHECK(pkt[1] == 201 && pkt[8 + 4] == 0);
    CHECK(md_rtcp_receive(&a, pkt, n, 0xAAAA0001, 11040, ntp_a + 11040) == 0);
    CHECK(a.rr_rx == 1);
    CHECKF(a.rtt_ms >= 79 && a.rtt_ms <= 81, "rtt %u", a.rtt_ms);
    CHECK(a.peer_fraction_lost == 0 && a.peer_cum_lost == 0 && a.peer_jitter == 7);

    /* The next report of A: the interval's loss, and a wrap of the sequence number. */
    rep.highest_seq = 20;          /* wrapped past 65535 */
    rep.expected = 200;
    rep.received = 180;            /* 10 more lost of 100: 25/256 again */
    rep.now_ms = 16000;
    n = md_rtcp_build(&a, &rep, pkt, sizeof(pkt));
    CHECK(get32(pkt + 36) == (1u << 16 | 20));
    CHECK(pkt[32] == 25 && (get32(pkt + 32) & 0xFFFFFF) == 10 + 10);
    /* Duplicates: more received than expected is no loss, and a negative cumulative. */
    rep.expected = 300;
    rep.received = 305;
    n = md_rtcp_build(&a, &rep, pkt, sizeof(pkt));
    CHECK(pkt[32] == 0 && (get32(pkt + 32) & 0xFFFFFF) == 0xFFFFFB);

    /* Malformed: every one counted, none taken. */
    uint64_t sr_before = b.sr_rx;
    uint8_t bad[64];
    memset(bad, 0, sizeof(bad));
    CHECK(md_rtcp_receive(&b, bad, 3, 1, 0, 0) == -1);                 /* shorter than a header */
    bad[0] = 0x40; bad[1] = 201; bad[3] = 1;
    CHECK(md_rtcp_receive(&b, bad, 8, 1, 0, 0) == -1);                 /* version 1 */
    bad[0] = 0x80; bad[1] = 202;
    CHECK(md_rtcp_receive(&b, bad, 8, 1, 0, 0) == -1);                 /* starts with SDES */
    bad[0] = 0x80; bad[1] = 201; bad[3] = 20;
    CHECK(md_rtcp_receive(&b, bad, 16, 1, 0, 0) == -1);                /* length past the end */
    bad[0] = 0x85; bad[1] = 201; bad[3] = 1;
    CHECK(md_rtcp_receive(&b, bad, 8, 1, 0, 0) == -1);                 /* 5 blocks in 8 bytes */
    bad[0] = 0x80; bad[1] = 200; bad[3] = 1;
    CHECK(md_rtcp_receive(&b, bad, 8, 1, 0, 0) == -1);                 /* SR without sender info */
    CHECK(b.bad == 6 && b.sr_rx == sr_before);
    /* A BYE after an RR is fine and counted. */
    bad[0] = 0x80; bad[1] = 201; bad[2] = 0; bad[3] = 1;
    bad[8] = 0x81; bad[9] = 203; bad[10] = 0; bad[11] = 1;
    CHECK(md_rtcp_receive(&b, bad, 16, 1, 0, 0) == 0 && b.bye == 1);
    /* A buffer too small for the report: nothing written. */
    CHECK(md_rtcp_build(&a, &rep, pkt, 40) == 0);
    return check_summary("rtcp");
}
