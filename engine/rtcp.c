/* RTCP reports. Layouts from RFC 3550: SR (PT 200) = header, SSRC, NTP (64), RTP ts,
 * packet count, octet count, report blocks; RR (PT 201) = header, SSRC, report blocks;
 * a report block = SSRC, fraction lost (8) + cumulative lost (24), extended highest
 * sequence number, jitter, LSR, DLSR; SDES (202) with one CNAME item; BYE (203). */
#include "engine/rtcp.h"

#include <string.h>

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void md_rtcp_init(md_rtcp_t *r, uint32_t seed)
{
    memset(r, 0, sizeof(*r));
    r->rand = seed ? seed : 0x9E3779B9u;
}

/* 0.5 to 1.5 times the interval (RFC 3550 6.3.1), from a small xorshift. */
static void schedule(md_rtcp_t *r, uint64_t now_ms)
{
    r->rand ^= r->rand << 13;
    r->rand ^= r->rand >> 17;
    r->rand ^= r->rand << 5;
    r->next_at_ms = now_ms + MD_RTCP_INTERVAL_MS / 2 + r->rand % MD_RTCP_INTERVAL_MS;
}

int md_rtcp_due(md_rtcp_t *r, uint64_t now_ms)
{
    if (r->next_at_ms == 0) {
        schedule(r, now_ms);
        return 0;
    }
    return now_ms >= r->next_at_ms;
}

/* NTP 64-bit time from ms since 1900: seconds and a binary fraction. */
static void ntp64(uint64_t ntp_ms, uint32_t *sec, uint32_t *frac)
{
    *sec = (uint32_t)(ntp_ms / 1000);
    *frac = (uint32_t)(((ntp_ms % 1000) << 32) / 1000);
}

size_t md_rtcp_build(md_rtcp_t *r, const md_rtcp_report_t *rep, uint8_t *out, size_t cap)
{
    size_t cname_len = strlen(rep->cname);
    if (cname_len > 255)
        cname_len = 255;
    size_t rb = rep->have_peer ? 24 : 0;
    size_t first = rep->sent_since_last ? 28 + rb : 8 + rb;
    /* SDES: header, SSRC, item (type, length, text), end (0), padded to 32 bits. */
    size_t sdes = 8 + 2 + cname_len + 1;
    sdes = (sdes + 3) & ~(size_t)3;
    if (first + sdes > cap)
        return 0;
    uint8_t *p = out;
    p[0] = (uint8_t)(0x80 | (rep->have_peer ? 1 : 0));
    p[1] = rep->sent_since_last ? 200 : 201;
    put16(p + 2, (uint16_t)(first / 4 - 1));
    put32(p + 4, rep->ssrc);
    size_t off = 8;
    if (rep->sent_since_last) {
        uint32_t sec, frac;
        ntp64(rep->ntp_ms, &sec, &frac);
        put32(p + 8, sec);
        put32(p + 12, frac);
        put32(p + 16, rep->rtp_ts);
        put32(p + 20, rep->packets_sent);
        put32(p + 24, rep->octets_sent);
        off = 28;
    }
    if (rep->have_peer) {
        /* Extended highest sequence number: count the wraps we saw between reports. */
        if (r->received_prior > 0 && rep->highest_seq < r->last_highest &&
            (uint16_t)(r->last_highest - rep->highest_seq) > 0x8000)
            r->cycles++;
        r->last_highest = rep->highest_seq;
        uint32_t expected_interval = rep->expected - r->expected_prior;
        uint32_t received_interval = rep->received - r->received_prior;
        r->expected_prior = rep->expected;
        r->received_prior = rep->received;
        int64_t lost_interval = (int64_t)expected_interval - received_interval;
        uint8_t fraction = expected_interval == 0 || lost_interval <= 0
                               ? 0
                               : (uint8_t)((lost_interval << 8) / expected_interval);
        int64_t cum = (int64_t)rep->expected - rep->received;
        if (cum > 0x7FFFFF)
            cum = 0x7FFFFF;
        if (cum < -0x800000)
            cum = -0x800000;
        uint8_t *b = p + off;
        put32(b, rep->peer_ssrc);
        put32(b + 4, (uint32_t)fraction << 24 | ((uint32_t)cum & 0xFFFFFF));
        put32(b + 8, r->cycles << 16 | rep->highest_seq);
        put32(b + 12, rep->jitter);
        /* LSR and DLSR (1/65536 s) let the peer compute the round trip. */
        uint32_t dlsr = 0;
        if (r->last_sr_at_ms != 0)
            dlsr = (uint32_t)(((rep->now_ms - r->last_sr_at_ms) << 16) / 1000);
        put32(b + 16, r->last_sr_at_ms != 0 ? r->last_sr : 0);
        put32(b + 20, dlsr);
    }
    uint8_t *s = out + first;
    memset(s, 0, sdes);
    s[0] = 0x81;
    s[1] = 202;
    put16(s + 2, (uint16_t)(sdes / 4 - 1));
    put32(s + 4, rep->ssrc);
    s[8] = 1;   /* CNAME */
    s[9] = (uint8_t)cname_len;
    memcpy(s + 10, rep->cname, cname_len);
    r->reports_tx++;
    schedule(r, rep->now_ms);
    return first + sdes;
}

/* A report block about our stream: loss and jitter the peer sees, and the round trip. */
static void take_block(md_rtcp_t *r, const uint8_t *b, uint64_t ntp_ms)
{
    uint32_t w = get32(b + 4);
    r->peer_fraction_lost = (uint8_t)(w >> 24);
    int32_t cum = (int32_t)(w & 0xFFFFFF);
    if (cum & 0x800000)
        cum -= 0x1000000;
    r->peer_cum_lost = cum;
    r->peer_jitter = get32(b + 12);
    uint32_t lsr = get32(b + 16), dlsr = get32(b + 20);
    if (lsr != 0) {
        uint32_t sec, frac;
        ntp64(ntp_ms, &sec, &frac);
        uint32_t now16 = sec << 16 | frac >> 16;
        uint32_t rtt16 = now16 - lsr - dlsr;
        /* A negative or absurd round trip (clock trouble, a forged block) is ignored. */
        if (rtt16 < (10u << 16))
            r->rtt_ms = (uint32_t)(((uint64_t)rtt16 * 1000) >> 16);
    }
}

int md_rtcp_receive(md_rtcp_t *r, const uint8_t *p, size_t len, uint32_t our_ssrc,
                    uint64_t now_ms, uint64_t ntp_ms)
{
    size_t off = 0;
    int packets = 0;
    while (off < len) {
        if (len - off < 4) {
            r->bad++;
            return -1;
        }
        const uint8_t *h = p + off;
        size_t plen = ((size_t)(h[2] << 8 | h[3]) + 1) * 4;
        unsigned count = h[0] & 0x1F, pt = h[1];
        if ((h[0] >> 6) != 2 || plen > len - off) {
            r->bad++;
            return -1;
        }
        /* RFC 3550 6.1: a compound packet starts with SR or RR. */
        if (packets == 0 && pt != 200 && pt != 201) {
            r->bad++;
            return -1;
        }
        size_t blocks_at = 0;
        if (pt == 200) {
            if (plen < 28 + (size_t)count * 24) {
                r->bad++;
                return -1;
            }
            r->sr_rx++;
            /* The middle 32 bits of its NTP time: echoed as LSR in our next report. */
            r->last_sr = (uint32_t)(get32(h + 8) << 16) | (get32(h + 12) >> 16);
            r->last_sr_at_ms = now_ms ? now_ms : 1;
            blocks_at = 28;
        } else if (pt == 201) {
            if (plen < 8 + (size_t)count * 24) {
                r->bad++;
                return -1;
            }
            r->rr_rx++;
            blocks_at = 8;
        } else if (pt == 203) {
            r->bye++;
        }
        for (unsigned i = 0; blocks_at != 0 && i < count; i++) {
            const uint8_t *b = h + blocks_at + 24 * i;
            if (get32(b) == our_ssrc)
                take_block(r, b, ntp_ms);
        }
        off += plen;
        packets++;
    }
    return 0;
}
