/* RTCP (RFC 3550 section 6) for a channel: the reports medley sends (a sender report
 * when the channel sent RTP since the last one, else a receiver report, each with a
 * report block about the peer's stream and an SDES CNAME, as a compound packet), and
 * what it learns from the peer's reports (loss and jitter the peer sees, round-trip time
 * from LSR/DLSR). Plain C on buffers: no allocation, no system call. Malformed packets
 * are counted and ignored; nothing is trusted past the length the packet has. */
#ifndef MD_ENGINE_RTCP_H
#define MD_ENGINE_RTCP_H

#include <stddef.h>
#include <stdint.h>

#define MD_RTCP_INTERVAL_MS 5000   /* RFC 3550's minimum, randomised 0.5x to 1.5x */

typedef struct {
    /* Received */
    uint64_t sr_rx, rr_rx;          /* sender / receiver reports from the peer */
    uint64_t bad;                   /* malformed compound packets */
    uint32_t last_sr;               /* middle 32 bits of the NTP time of the peer's last SR */
    uint64_t last_sr_at_ms;         /* when it came, on the worker's clock */
    uint8_t peer_fraction_lost;     /* what the peer reports about our stream (1/256) */
    int32_t peer_cum_lost;
    uint32_t peer_jitter;           /* timestamp units */
    uint32_t rtt_ms;                /* 0: not known yet */
    uint32_t bye;                   /* BYE packets received */
    /* Sent */
    uint64_t reports_tx;
    uint64_t next_at_ms;            /* 0: schedule at the next call */
    uint32_t rand;                  /* for the interval */
    /* For the fraction lost in our next report (RFC 3550 A.3). */
    uint32_t expected_prior, received_prior;
    uint32_t cycles;                /* sequence number wraps seen */
    uint16_t last_highest;
} md_rtcp_t;

void md_rtcp_init(md_rtcp_t *r, uint32_t seed);

/* What goes into a report. */
typedef struct {
    uint32_t ssrc;                  /* ours */
    int sent_since_last;            /* 1: a sender report */
    uint64_t ntp_ms;                /* wall clock, ms since 1900 (NTP era 0) */
    uint32_t rtp_ts;                /* our RTP timestamp for that instant */
    uint32_t packets_sent, octets_sent;
    int have_peer;                  /* 1: a report block about the peer's stream */
    uint32_t peer_ssrc;
    uint16_t highest_seq;           /* highest sequence number received */
    uint32_t received;              /* packets received */
    uint32_t expected;              /* packets expected (received + lost) */
    uint32_t jitter;                /* timestamp units */
    uint64_t now_ms;                /* the worker's clock */
    const char *cname;              /* e.g. "medley@10.0.0.2" */
} md_rtcp_report_t;

/* Is a report due at now_ms? (Schedules the first one on the first call.) */
int md_rtcp_due(md_rtcp_t *r, uint64_t now_ms);

/* Writes a compound SR or RR + SDES into out; returns its length, 0 if cap is short.
 * Schedules the next report. */
size_t md_rtcp_build(md_rtcp_t *r, const md_rtcp_report_t *rep, uint8_t *out, size_t cap);

/* Takes a received compound packet: counts SR/RR/BYE, keeps the peer's last SR time,
 * reads the report block about our_ssrc (loss, jitter, RTT from LSR/DLSR with ntp_ms,
 * our wall clock). Returns 0, or -1 for a malformed packet (counted in bad). */
int md_rtcp_receive(md_rtcp_t *r, const uint8_t *p, size_t len, uint32_t our_ssrc,
                    uint64_t now_ms, uint64_t ntp_ms);

#endif
