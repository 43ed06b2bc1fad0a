/* RFC 4733 receive: the edge cases of issue 3. Events are sent as a real sender does:
 * every 20 ms (160 timestamp units) an update with the duration so far, the end packet
 * three times. */
#include <string.h>

#include "engine/rfc4733.h"
#include "tests/check.h"

static md_4733_rx_t rx;
static md_4733_digit_t got[32];
static int ngot;
static uint64_t now;

static void pkt(uint32_t ssrc, uint32_t ts, int event, int end, unsigned duration)
{
    md_rtp_event_t ev = { .event = (uint8_t)event, .end = (uint8_t)end, .volume = 10,
                          .duration = (uint16_t)duration };
    md_4733_digit_t out[2];
    int n = md_4733_rx_packet(&rx, ssrc, ts, &ev, now, out);
    for (int i = 0; i < n && ngot < 32; i++)
        got[ngot++] = out[i];
}

static void tick(void)
{
    now += 20;
    md_4733_digit_t d;
    if (md_4733_rx_tick(&rx, now, 200, &d) && ngot < 32)
        got[ngot++] = d;
}

/* A whole event of `frames` updates, optionally without its end packets. */
static void press(uint32_t ssrc, uint32_t ts, int event, int frames, int with_end)
{
    for (int f = 1; f <= frames; f++) {
        pkt(ssrc, ts, event, 0, (unsigned)f * 160);
        tick();
    }
    if (with_end)
        for (int r = 0; r < 3; r++) {
            pkt(ssrc, ts, event, 1, (unsigned)(frames + 1) * 160);
            tick();
        }
}

static void reset(void)
{
    md_4733_rx_init(&rx);
    ngot = 0;
    now = 0;
}

int main(void)
{
    /* One press, end sent three times: exactly one digit, with its duration. */
    reset();
    press(1, 1000, 5, 6, 1);
    for (int i = 0; i < 20; i++)
        tick();
    CHECK(ngot == 1 && got[0].digit == '5' && got[0].start_ts == 1000 &&
          got[0].duration == 7 * 160 && got[0].end_seen);

    /* Two presses of the same key: two digits (two timestamps). */
    reset();
    press(1, 1000, 11, 5, 1);
    press(1, 3000, 11, 5, 1);
    CHECK(ngot == 2 && got[0].digit == '#' && got[1].digit == '#' && got[1].start_ts == 3000);

    /* Lost end packets: one digit after the timeout, not before. */
    reset();
    press(1, 1000, 1, 5, 0);
    CHECK(ngot == 0);
    for (int i = 0; i < 20; i++)
        tick();
    CHECK(ngot == 1 && got[0].digit == '1' && !got[0].end_seen && got[0].duration == 5 * 160);

    /* A new event before the old one's end: both digits, in order. */
    reset();
    press(1, 1000, 2, 4, 0);
    press(1, 2000, 3, 4, 1);
    CHECK(ngot == 2 && got[0].digit == '2' && got[1].digit == '3');

    /* The first packets (with the marker) lost: the digit still comes, once. */
    reset();
    for (int f = 3; f <= 6; f++)
        pkt(1, 5000, 9, 0, (unsigned)f * 160);
    pkt(1, 5000, 9, 1, 7 * 160);
    pkt(1, 5000, 9, 1, 7 * 160);
    CHECK(ngot == 1 && got[0].digit == '9');

    /* Only end packets (all updates lost): one digit. */
    reset();
    for (int r = 0; r < 3; r++)
        pkt(1, 7000, 0, 1, 800);
    CHECK(ngot == 1 && got[0].digit == '0' && got[0].duration == 800);

    /* A long event in segments: durations to 0xFFFF, then a new segment whose timestamp is
     * the previous plus 0xFFFF. One digit with the total duration. */
    reset();
    pkt(1, 100, 4, 0, 30000);
    pkt(1, 100, 4, 0, 65535);
    pkt(1, 100 + 65535, 4, 0, 20000);
    pkt(1, 100 + 65535, 4, 0, 40000);
    pkt(1, 100 + 65535, 4, 1, 40160);
    pkt(1, 100 + 65535, 4, 1, 40160);
    CHECKF(ngot == 1 && got[0].digit == '4' && got[0].start_ts == 100 &&
           got[0].duration == 65535 + 40160, "ngot %d dur %u", ngot, ngot ? got[0].duration : 0);

    /* Another SSRC with the same timestamp is another event. */
    reset();
    press(1, 1000, 6, 3, 1);
    press(2, 1000, 6, 3, 1);
    CHECK(ngot == 2);

    /* Non-DTMF events (flash 16, tones above) are ignored. */
    reset();
    press(1, 1000, 16, 3, 1);
    press(1, 2000, 200, 3, 1);
    CHECK(ngot == 0);
    /* Transmit by the book, and the receiver hears exactly what was sent. */
    md_4733_tx_t tx;
    CHECK(md_4733_tx_start(&tx, 'x', 0, 800, 160, 10) < 0);
    CHECK(md_4733_tx_start(&tx, '#', 0, 0, 160, 10) < 0);
    CHECK(md_4733_tx_start(&tx, '7', 12345, 800, 160, 10) == 0);
    uint8_t pl[4];
    int marker, count = 0, markers = 0, ends = 0, ts_ok = 1;
    uint32_t ts, last_dur = 0;
    reset();
    while (md_4733_tx_next(&tx, pl, &marker, &ts)) {
        md_rtp_event_t ev;
        md_rtp_event_parse(pl, 4, &ev);
        count++;
        markers += marker;
        ends += ev.end;
        ts_ok &= ts == 12345 && ev.event == 7 && ev.duration >= last_dur;
        last_dur = ev.duration;
        pkt(99, ts, ev.event, ev.end, ev.duration);
    }
    CHECKF(count == 5 + 2 && markers == 1 && ends == 3 && ts_ok && last_dur == 800,
           "count %d markers %d ends %d", count, markers, ends);
    CHECK(ngot == 1 && got[0].digit == '7' && got[0].duration == 800 && got[0].end_seen);
    return check_summary("rfc4733");
}
