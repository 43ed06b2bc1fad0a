/* Jitter buffer: order, loss, duplicates, late packets, wrap, SSRC change, jumps, skew,
 * the RFC 3550 jitter estimate, and the memory it takes. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/jitter.h"
#include "tests/check.h"

static md_jb_t jb;

/* Payload of frame seq: its number in the first two bytes, so order can be checked. */
static void put(uint32_t ssrc, uint16_t seq, uint32_t arrival)
{
    uint8_t p[160];
    memset(p, 0, sizeof(p));
    p[0] = (uint8_t)(seq >> 8);
    p[1] = (uint8_t)seq;
    md_jb_put(&jb, ssrc, seq, (uint32_t)seq * 160u, 0, p, sizeof(p), arrival);
}

/* One tick: returns the frame's seq, -1 for lost, -2 for waiting. */
static int get(void)
{
    uint8_t out[MD_JB_MAX_PAYLOAD];
    size_t len = 0;
    md_jb_get_t r = md_jb_get(&jb, out, &len, NULL);
    if (r == MD_JB_FRAME)
        return out[0] << 8 | out[1];
    return r == MD_JB_LOST ? -1 : -2;
}

int main(void)
{
    CHECK(md_jb_init(&jb, 0) < 0 && md_jb_init(&jb, MD_JB_SLOTS) < 0);
    printf("memory per channel: %zu bytes\n", sizeof(md_jb_t));
    CHECK(sizeof(md_jb_t) <= 6 * 1024);

    /* In order, depth 3: three ticks of waiting... no: playing starts when 3 are queued. */
    md_jb_init(&jb, 3);
    CHECK(get() == -2);
    put(1, 100, 0);
    put(1, 101, 160);
    CHECK(get() == -2);
    put(1, 102, 320);
    CHECK(get() == 100 && get() == 101 && get() == 102);

    /* Reordering inside the depth: played in order. */
    put(1, 104, 0);
    put(1, 103, 0);
    put(1, 105, 0);
    CHECK(get() == 103 && get() == 104 && get() == 105);
    CHECK(jb.st.reordered == 1);

    /* A duplicate is dropped; a loss is reported in its place; a late packet is dropped. */
    put(1, 106, 0);
    CHECK(md_jb_put(&jb, 1, 106, 0, 0, (const uint8_t *)"x", 1, 0) == MD_JB_DUPLICATE);
    put(1, 108, 0);
    put(1, 109, 0);
    CHECK(get() == 106 && get() == -1 && get() == 108);
    CHECK(md_jb_put(&jb, 1, 107, 0, 0, (const uint8_t *)"x", 1, 0) == MD_JB_LATE);
    CHECK(get() == 109);
    CHECK(jb.st.duplicates == 1 && jb.st.late == 1 && jb.st.lost == 1);

    /* Sequence wrap: 65533 .. 2 without a hiccup. */
    md_jb_init(&jb, 2);
    int ok = 1, played = 0;
    for (int i = 0; i < 10; i++) {
        put(7, (uint16_t)(65533 + i), 0);
        int g = get();
        if (g == -2)
            continue;
        ok &= g == (uint16_t)(65533 + played);
        played++;
    }
    CHECK(ok && played == 9 && jb.st.lost == 0);

    /* A new SSRC restarts the buffer with the new stream. */
    CHECK(md_jb_put(&jb, 8, 500, 0, 0, (const uint8_t *)"ab", 2, 0) == MD_JB_RESTARTED);
    put(8, 501, 0);
    CHECK(get() == (('a' << 8) | 'b') && get() == 501);
    /* A jump beyond the ring restarts too (no run of 1000 lost frames). */
    put(8, 502, 0);
    CHECK(md_jb_put(&jb, 8, 1502, 0, 0, (const uint8_t *)"\x05\xde", 2, 0) == MD_JB_RESTARTED);
    put(8, 1503, 0);
    CHECK(get() == 1502 && get() == 1503 && jb.st.restarts == 2);

    /* Too big. */
    static uint8_t big[MD_JB_MAX_PAYLOAD + 1];
    CHECK(md_jb_put(&jb, 8, 1504, 0, 0, big, sizeof(big), 0) == MD_JB_TOO_BIG);

    /* After an outage the buffer refills and starts at the first real frame. */
    md_jb_init(&jb, 2);
    put(3, 10, 0);
    put(3, 11, 0);
    CHECK(get() == 10 && get() == 11);
    /* A late burst is concealed frame by frame, and its packets, when they come, are
     * late; an outage of MD_JB_OUTAGE frames sends the buffer back to prefill. */
    CHECK(get() == -1);
    put(3, 12, 0);   /* its turn has passed */
    CHECK(jb.st.late == 1);
    int drained = 1;
    int g;
    while ((g = get()) == -1)
        drained++;
    CHECK(drained == MD_JB_OUTAGE && g == -2);
    /* The stream resumes with its own numbering (silence suppression): played from the
     * first packet back, not dropped as late. */
    put(3, 13, 0);
    put(3, 14, 0);
    CHECK(get() == 13 && get() == 14);

    /* Skew: the sender's clock 2% fast (one extra packet every 50). The level stays
     * bounded and frames are dropped now and then; nothing is reported lost. */
    md_jb_init(&jb, 3);
    uint16_t s = 0;
    unsigned max_level = 0;
    int lost = 0;
    for (int tick = 0; tick < 5000; tick++) {
        put(9, s++, 0);
        if (tick % 50 == 0)
            put(9, s++, 0);
        lost += get() == -1;
        if (md_jb_level(&jb) > max_level)
            max_level = md_jb_level(&jb);
    }
    CHECKF(max_level <= 8 && jb.st.skew_drops > 50 && lost == 0,
           "max level %u, skew drops %llu, lost %d", max_level,
           (unsigned long long)jb.st.skew_drops, lost);

    /* RFC 3550 jitter: constant transit gives 0; alternating +-80 samples gives ~160. */
    md_jb_init(&jb, 3);
    for (int i = 0; i < 200; i++)
        put(4, (uint16_t)i, (uint32_t)(i * 160 + 1000));
    CHECK(jb.st.jitter < 1e-9);
    md_jb_init(&jb, 3);
    for (int i = 0; i < 400; i++) {
        put(4, (uint16_t)i, (uint32_t)(i * 160 + 1000 + (i % 2 ? 80 : -80)));
        get();
    }
    CHECKF(fabs(jb.st.jitter - 160) < 10, "jitter %.1f", jb.st.jitter);

    /* Adaptive depth: a network that is smooth for a second (playout anchors early),
     * then delivers in bursts of four every 80 ms (packets up to 60 ms late) for 30 s,
     * then is smooth again. A depth-1 buffer loses packets as late; the adaptive one
     * grows until nothing is late any more, never plays out of order, and once the
     * network is smooth shrinks back one frame per 10 quiet seconds. */
    CHECK(md_jb_set_adaptive(&jb, 0, 4) < 0 && md_jb_set_adaptive(&jb, 5, 4) < 0 &&
          md_jb_set_adaptive(&jb, 1, MD_JB_SLOTS - 1) < 0);
    for (int adaptive = 1; adaptive >= 0; adaptive--) {
        md_jb_init(&jb, 1);
        if (adaptive)
            CHECK(md_jb_set_adaptive(&jb, 1, 8) == 0);
        int last = -1, in_order = 1;
        uint64_t late_at_10s = 0;
        unsigned max_depth = 0;
        for (int tick = 0; tick < 3500; tick++) {
            /* Packet g is sent at tick g; in the bursty part it arrives at the next tick
             * that is 3 mod 4. Everything due by this tick goes in, in order. */
            for (int g = tick - 3; g <= tick; g++) {
                if (g < 0)
                    continue;
                int bursty = g >= 50 && g < 1550;
                int due = bursty ? g + 3 - g % 4 : g;
                if (due == tick)
                    put(5, (uint16_t)g, 0);
            }
            int got = get();
            if (got >= 0) {
                in_order &= last < 0 || (int16_t)(uint16_t)(got - last) >= 1;
                last = got;
            }
            if (tick == 550)
                late_at_10s = jb.st.late;
            if (jb.depth > max_depth)
                max_depth = jb.depth;
        }
        CHECK(in_order);
        if (adaptive) {
            CHECKF(jb.st.depth_ups >= 1 && max_depth <= 5, "depth ups %llu, max depth %u",
                   (unsigned long long)jb.st.depth_ups, max_depth);
            CHECKF(jb.st.late == late_at_10s && late_at_10s <= 5,
                   "late packets: %llu in the first 10 s, %llu in all",
                   (unsigned long long)late_at_10s, (unsigned long long)jb.st.late);
            CHECKF(jb.st.depth_downs >= 1 && jb.depth < max_depth, "depth %u of max %u, downs %llu",
                   jb.depth, max_depth, (unsigned long long)jb.st.depth_downs);
        } else {
            CHECKF(jb.st.late > 100, "fixed depth 1: %llu late", (unsigned long long)jb.st.late);
        }
    }
    return check_summary("jitter");
}
