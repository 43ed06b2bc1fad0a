/* RFC 4733 receive. */
#include "engine/rfc4733.h"

#include <string.h>

static const char event_chars[16] = "0123456789*#ABCD";

void md_4733_rx_init(md_4733_rx_t *rx)
{
    memset(rx, 0, sizeof(*rx));
}

static void report(md_4733_rx_t *rx, int end_seen, md_4733_digit_t *out)
{
    out->digit = event_chars[rx->event];
    out->start_ts = rx->start_ts;
    out->duration = rx->seg_base + rx->seg_duration;
    out->end_seen = end_seen;
    rx->have_last = 1;
    rx->last_ssrc = rx->ssrc;
    rx->last_ts = rx->seg_ts;
    rx->last_event = rx->event;
    rx->active = 0;
}

static void start(md_4733_rx_t *rx, uint32_t ssrc, uint32_t ts, const md_rtp_event_t *ev,
                  uint64_t now)
{
    rx->active = 1;
    rx->ssrc = ssrc;
    rx->seg_ts = ts;
    rx->start_ts = ts;
    rx->event = ev->event;
    rx->seg_base = 0;
    rx->seg_duration = ev->duration;
    rx->last_seen = now;
}

int md_4733_rx_packet(md_4733_rx_t *rx, uint32_t ssrc, uint32_t ts, const md_rtp_event_t *ev,
                      uint64_t now, md_4733_digit_t out[2])
{
    int n = 0;
    if (ev->event > 15)
        return 0;
    /* A retransmission of an event already reported. */
    if (rx->have_last && ssrc == rx->last_ssrc && ts == rx->last_ts && ev->event == rx->last_event)
        return 0;

    if (rx->active) {
        if (ssrc == rx->ssrc && ts == rx->seg_ts && ev->event == rx->event) {
            if (ev->duration > rx->seg_duration)
                rx->seg_duration = ev->duration;
            rx->last_seen = now;
            if (ev->end)
                report(rx, 1, &out[n++]);
            return n;
        }
        /* A new segment of the same long event: its timestamp is the previous segment's
         * plus that segment's duration (allow a few packets of slack for lost updates). */
        uint32_t expected = rx->seg_ts + rx->seg_duration;
        int32_t off = (int32_t)(ts - expected);
        if (ssrc == rx->ssrc && ev->event == rx->event && off >= -480 && off <= 480 &&
            (int32_t)(ts - rx->seg_ts) > 0) {
            rx->seg_base += (uint32_t)(ts - rx->seg_ts);
            rx->seg_ts = ts;
            rx->seg_duration = ev->duration;
            rx->last_seen = now;
            if (ev->end)
                report(rx, 1, &out[n++]);
            return n;
        }
        /* Another event began: the previous one ended without its end packet. */
        report(rx, 0, &out[n++]);
        /* report() remembered the old key; the new packet is not a retransmission of it. */
    }
    start(rx, ssrc, ts, ev, now);
    if (ev->end)
        report(rx, 1, &out[n++]);
    return n;
}

int md_4733_rx_tick(md_4733_rx_t *rx, uint64_t now, uint64_t timeout, md_4733_digit_t *out)
{
    if (!rx->active || now - rx->last_seen <= timeout)
        return 0;
    report(rx, 0, out);
    return 1;
}

int md_4733_tx_start(md_4733_tx_t *tx, char digit, uint32_t ts, uint32_t duration,
                     uint32_t step, uint8_t volume)
{
    const char *p = digit ? memchr(event_chars, digit, sizeof(event_chars)) : NULL;
    if (p == NULL || (size_t)(p - event_chars) >= sizeof(event_chars) || step == 0 ||
        duration == 0 || duration > 0xFFFF || volume > 63)
        return -1;
    memset(tx, 0, sizeof(*tx));
    tx->active = 1;
    tx->event = (uint8_t)(p - event_chars);
    tx->volume = volume;
    tx->ts = ts;
    tx->duration = duration;
    tx->step = step;
    tx->ends_left = 3;
    tx->first = 1;
    return 0;
}

int md_4733_tx_next(md_4733_tx_t *tx, uint8_t payload[4], int *marker, uint32_t *ts)
{
    if (!tx->active)
        return 0;
    md_rtp_event_t ev = { .event = tx->event, .volume = tx->volume };
    if (tx->sent < tx->duration) {
        tx->sent += tx->step;
        if (tx->sent > tx->duration)
            tx->sent = tx->duration;
    }
    ev.duration = (uint16_t)tx->sent;
    if (tx->sent >= tx->duration) {
        ev.end = 1;
        if (--tx->ends_left == 0)
            tx->active = 0;
    }
    md_rtp_event_write(payload, &ev);
    *marker = tx->first;
    tx->first = 0;
    *ts = tx->ts;
    return 1;
}
