/* RFC 4733 telephone-event receiver: turns a channel's event packets into digits.
 *
 * An event is identified by SSRC + RTP timestamp + event code, never by the marker bit
 * (which is lost with the first packet as often as any other bit). The end packet and
 * its retransmissions give exactly one digit; an event whose end never arrives gives one
 * digit when md_4733_rx_tick() sees no packet for it within the timeout; a long event
 * sent in segments (RFC 4733 2.5.1.3: each new segment's timestamp is the previous one
 * plus its duration) is one digit; two presses of the same key are two digits, having
 * two timestamps. Events above 15 (not DTMF) are ignored. No allocation. */
#ifndef MD_ENGINE_RFC4733_H
#define MD_ENGINE_RFC4733_H

#include <stdint.h>

#include "engine/rtp.h"

typedef struct {
    char digit;              /* '0'-'9', '*', '#', 'A'-'D' */
    uint32_t start_ts;       /* RTP timestamp of the event's start */
    uint32_t duration;       /* in timestamp units, all segments */
    int end_seen;            /* 0 if it was ended by timeout or by a newer event */
} md_4733_digit_t;

typedef struct {
    int active;
    uint32_t ssrc, seg_ts, start_ts;
    uint8_t event;
    uint32_t seg_base;       /* duration of the finished segments */
    uint32_t seg_duration;   /* duration of the current segment so far */
    uint64_t last_seen;      /* caller's clock at the last packet of the active event */
    /* The last event reported, so that retransmitted end packets are ignored. */
    int have_last;
    uint32_t last_ssrc, last_ts;
    uint8_t last_event;
} md_4733_rx_t;

void md_4733_rx_init(md_4733_rx_t *rx);

/* One received event payload. now: the caller's clock (any unit, used for timeouts).
 * Returns the number of digits completed (0, 1, or 2 when a new event also ends the
 * previous one) written to out[0..1]. */
int md_4733_rx_packet(md_4733_rx_t *rx, uint32_t ssrc, uint32_t ts, const md_rtp_event_t *ev,
                      uint64_t now, md_4733_digit_t out[2]);

/* Called from the media tick: an active event with no packet for more than timeout
 * (caller's units) is reported. Returns 1 if *out was filled. */
int md_4733_rx_tick(md_4733_rx_t *rx, uint64_t now, uint64_t timeout, md_4733_digit_t *out);

#endif

/* RFC 4733 transmit, by the book: the first packet has the marker bit, every packet of
 * the event carries the event's start timestamp, an update every ptime with the duration
 * so far, and the end packet three times with the final duration. A transmitter per
 * channel; the caller stamps sequence numbers and SSRC when it builds the RTP header. */
typedef struct {
    int active;
    uint8_t event;
    uint8_t volume;
    uint32_t ts;             /* the event's timestamp, constant for all its packets */
    uint32_t duration;       /* total to send, timestamp units */
    uint32_t sent;           /* duration reported so far */
    uint32_t step;           /* timestamp units per packet (ptime) */
    uint8_t ends_left;       /* end packets still to send */
    uint8_t first;
} md_4733_tx_t;

/* Starts sending digit ('0'-'9', '*', '#', 'A'-'D') at timestamp ts for duration units,
 * one packet per step units. Returns 0, or -1 for a bad digit or parameter. */
int md_4733_tx_start(md_4733_tx_t *tx, char digit, uint32_t ts, uint32_t duration,
                     uint32_t step, uint8_t volume);

/* The next packet's payload (4 bytes) and marker: returns 1, or 0 when the event is
 * done. Call once per step. */
int md_4733_tx_next(md_4733_tx_t *tx, uint8_t payload[4], int *marker, uint32_t *ts);
