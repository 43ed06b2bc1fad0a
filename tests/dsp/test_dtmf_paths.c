/* The DTMF detector decides exactly the same on every SIMD path, for every frame size
 * and every grouping of channels into calls; and its API behaves at the edges.
 *
 * Each channel gets its own signal: random digits at random levels, twists, frequency
 * offsets (some inside, some outside the accepted 1.5%), durations around the 40 ms
 * limit and gaps around the pause limit, over noise, plus stretches of chords and noise
 * bursts. The reference run is the scalar path with 160-sample frames and all channels
 * in one call; every other run must produce the same events and the same filter state,
 * bit for bit. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/cpu.h"
#include "dsp/dtmf.h"
#include "tests/check.h"

#define NCH 37
#define SECONDS 12
#define NSAMP (8000 * SECONDS)
#define MAX_EVENTS 4096

static const double row_hz[4] = { 697, 770, 852, 941 };
static const double col_hz[4] = { 1209, 1336, 1477, 1633 };

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static double urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static double amp_dbm0(double dbm0)
{
    return 32767.0 * pow(10.0, (dbm0 - 3.14) / 20.0);
}

typedef struct {
    int16_t pcm[NSAMP];
    int expected_min;   /* digits that are certainly valid in this signal */
} channel_signal_t;

static channel_signal_t signals[NCH];

static void make_signal(channel_signal_t *cs)
{
    static double buf[NSAMP];
    double noise = amp_dbm0(-50.0 - 20.0 * urand());
    int t = (int)(urand() * 400);

    memset(buf, 0, sizeof(buf));
    cs->expected_min = 0;
    while (t < NSAMP - 2000) {
        int kind = (int)(urand() * 10);
        int d = (int)(urand() * 16);
        double fr = row_hz[d / 4], fc = col_hz[d % 4];
        double level = -3.0 - 27.0 * urand();
        double twist = -9.0 + 14.0 * urand();
        int len = 160 + (int)(urand() * 800);
        int clean = 1;
        if (kind == 0) {
            len = 180 + (int)(urand() * 180); /* near the duration limit */
            clean = 0;
        } else if (kind == 1) {
            fr *= 1.0 + (urand() - 0.5) * 0.08; /* offsets up to 4% either way */
            clean = 0;
        } else if (kind == 2) {
            /* a non-DTMF chord */
            fr = 300 + 1500 * urand();
            fc = 300 + 2500 * urand();
            clean = 0;
        }
        if (twist < -8.0 || twist > 4.0 || level < -25.0)
            clean = 0;
        double pr = urand() * 6.283, pc = urand() * 6.283;
        double ar = amp_dbm0(level), ac = amp_dbm0(level + twist);
        for (int i = 0; i < len && t + i < NSAMP; i++)
            buf[t + i] += ar * sin(2 * M_PI * fr * i / 8000.0 + pr) +
                          ac * sin(2 * M_PI * fc * i / 8000.0 + pc);
        if (clean && len >= 320)
            cs->expected_min++;
        t += len + 160 + (int)(urand() * 1600);
    }
    for (int i = 0; i < NSAMP; i++) {
        double v = buf[i] + noise * (urand() + urand() + urand() - 1.5) * 2.0;
        if (v > 32767)
            v = 32767;
        if (v < -32768)
            v = -32768;
        cs->pcm[i] = (int16_t)lrint(v);
    }
}

typedef struct {
    md_dtmf_event_t ev[MAX_EVENTS];
    int n;
} event_log_t;

static md_dtmf_rx_t rx[NCH];
static event_log_t logs[NCH], ref_logs[NCH];
static md_dtmf_filters_t ref_filters[NCH];

static void drain(int c)
{
    md_dtmf_event_t ev;
    while (md_dtmf_rx_event(&rx[c], &ev)) {
        if (logs[c].n < MAX_EVENTS)
            logs[c].ev[logs[c].n++] = ev;
    }
}

/* Runs every channel through the detector on one path. frame < 0 means a random frame
 * size per call; grouping 1 means each call takes a random subset of the channels. */
static void run(md_isa_t isa, int frame, int grouping)
{
    unsigned done[NCH] = { 0 };
    memset(logs, 0, sizeof(logs));
    for (int c = 0; c < NCH; c++)
        md_dtmf_rx_init(&rx[c]);

    for (;;) {
        md_dtmf_rx_t *rp[NCH];
        const int16_t *xp[NCH];
        unsigned n = 0;
        unsigned len = frame > 0 ? (unsigned)frame : 1 + (unsigned)(urand() * 400);
        int all_done = 1;
        for (int c = 0; c < NCH; c++)
            if (done[c] < NSAMP)
                all_done = 0;
        if (all_done)
            break;
        /* Channels in a call must all take len samples; pick those that have them. */
        for (int c = 0; c < NCH; c++) {
            if (NSAMP - done[c] < len)
                continue;
            if (grouping && urand() < 0.4)
                continue;
            rp[n] = &rx[c];
            xp[n] = signals[c].pcm + done[c];
            n++;
        }
        if (n == 0) {
            /* Finish the tails one channel at a time. */
            for (int c = 0; c < NCH; c++) {
                if (done[c] < NSAMP) {
                    unsigned rest = NSAMP - done[c];
                    CHECK(md_dtmf_rx_process1(&rx[c], signals[c].pcm + done[c], rest, isa) == 0);
                    done[c] = NSAMP;
                    drain(c);
                }
            }
            break;
        }
        CHECK(md_dtmf_rx_process(rp, xp, n, len, isa) == 0);
        for (unsigned i = 0; i < n; i++) {
            int c = (int)(rp[i] - rx);
            done[c] += len;
            drain(c);
        }
    }
    for (int c = 0; c < NCH; c++) {
        md_dtmf_rx_flush(&rx[c]);
        drain(c);
    }
}

static int same_events(const event_log_t *a, const event_log_t *b)
{
    if (a->n != b->n)
        return 0;
    for (int i = 0; i < a->n; i++) {
        if (a->ev[i].kind != b->ev[i].kind || a->ev[i].digit != b->ev[i].digit ||
            a->ev[i].start != b->ev[i].start || a->ev[i].end != b->ev[i].end)
            return 0;
    }
    return 1;
}

static void compare_to_reference(const char *what)
{
    int mismatched = 0;
    for (int c = 0; c < NCH; c++) {
        if (!same_events(&logs[c], &ref_logs[c]) ||
            memcmp(&rx[c].f, &ref_filters[c], sizeof(md_dtmf_filters_t)) != 0)
            mismatched++;
    }
    CHECKF(mismatched == 0, "%s: %d of %d channels differ from the reference", what,
           mismatched, NCH);
}

static void test_paths_agree(void)
{
    static const int frames[] = { 1, 7, 40, 80, 160, 333, -1 };

    for (int c = 0; c < NCH; c++)
        make_signal(&signals[c]);

    run(MD_ISA_SCALAR, 160, 0);
    memcpy(ref_logs, logs, sizeof(logs));
    for (int c = 0; c < NCH; c++)
        ref_filters[c] = rx[c].f;

    /* The reference must itself be meaningful: digits found, BEGIN/END paired. */
    int total = 0, expected = 0;
    for (int c = 0; c < NCH; c++) {
        int begins = 0, ends = 0, open = 0, paired = 1;
        for (int i = 0; i < ref_logs[c].n; i++) {
            const md_dtmf_event_t *ev = &ref_logs[c].ev[i];
            if (ev->kind == MD_DTMF_BEGIN) {
                begins++;
                paired &= !open;
                open = 1;
            } else {
                ends++;
                paired &= open;
                open = 0;
                paired &= ev->end > ev->start;
            }
        }
        CHECKF(paired && begins == ends, "channel %d: BEGIN/END not paired", c);
        CHECKF(ends >= signals[c].expected_min, "channel %d: %d digits, expected at least %d",
               c, ends, signals[c].expected_min);
        total += ends;
        expected += signals[c].expected_min;
    }
    CHECKF(total > 200, "only %d digits in the reference run (expected >= %d)", total, expected);

    for (int isa = 0; isa < MD_ISA_COUNT; isa++) {
        if (!md_cpu_has((md_isa_t)isa)) {
            printf("path %s: not on this CPU, skipped\n", md_isa_name((md_isa_t)isa));
            continue;
        }
        for (unsigned f = 0; f < sizeof(frames) / sizeof(frames[0]); f++) {
            for (int grouping = 0; grouping < 2; grouping++) {
                char what[96];
                snprintf(what, sizeof(what), "path %s, frame %d, %s grouping",
                         md_isa_name((md_isa_t)isa), frames[f], grouping ? "random" : "full");
                run((md_isa_t)isa, frames[f], grouping);
                compare_to_reference(what);
            }
        }
    }
    printf("paths agree on %d digits over %d channels x %d s\n", total, NCH, SECONDS);
}

static void test_api_edges(void)
{
    md_dtmf_rx_t r;
    md_dtmf_rx_t *rp = &r;
    int16_t pcm[8000];
    const int16_t *xp = pcm;
    md_dtmf_event_t ev;

    md_dtmf_rx_init(&r);
    CHECK(md_dtmf_rx_process(NULL, &xp, 1, 160, MD_ISA_SCALAR) == -EINVAL);
    CHECK(md_dtmf_rx_process(&rp, NULL, 1, 160, MD_ISA_SCALAR) == -EINVAL);
    CHECK(md_dtmf_rx_process(&rp, &xp, 1, 160, (md_isa_t)7) == -EINVAL);
    CHECK(md_dtmf_rx_process(NULL, NULL, 0, 160, MD_ISA_SCALAR) == 0);
    CHECK(md_dtmf_rx_process(&rp, &xp, 1, 0, MD_ISA_SCALAR) == 0);
    CHECK(md_dtmf_rx_event(&r, &ev) == 0);
    CHECK(md_dtmf_digit_char(0) == '1' && md_dtmf_digit_char(13) == '0' &&
          md_dtmf_digit_char(14) == '#' && md_dtmf_digit_char(15) == 'D');
    CHECK(md_dtmf_digit_char(16) == '?' && md_dtmf_digit_char(-1) == '?');

    /* A tone still on at the end of the stream: BEGIN, and END on flush. */
    for (int i = 0; i < 8000; i++)
        pcm[i] = (int16_t)lrint(amp_dbm0(-10) * (sin(2 * M_PI * 852 * i / 8000.0) +
                                                 sin(2 * M_PI * 1477 * i / 8000.0)));
    CHECK(md_dtmf_rx_process1(&r, pcm, 8000, md_cpu_default_isa()) == 0);
    CHECK(md_dtmf_rx_event(&r, &ev) == 1 && ev.kind == MD_DTMF_BEGIN && ev.digit == '9');
    CHECKF(ev.start < 40, "start %llu", (unsigned long long)ev.start);
    CHECK(md_dtmf_rx_event(&r, &ev) == 0);
    md_dtmf_rx_flush(&r);
    CHECK(md_dtmf_rx_event(&r, &ev) == 1 && ev.kind == MD_DTMF_END && ev.digit == '9');
    CHECKF(ev.end > 7960 && ev.end <= 8000, "end %llu", (unsigned long long)ev.end);

    /* Events not drained: the oldest are dropped and counted, the newest kept. */
    md_dtmf_rx_init(&r);
    int16_t burst[1600];
    for (int k = 0; k < 12; k++) {
        int d = k % 16;
        memset(burst, 0, sizeof(burst));
        for (int i = 0; i < 640; i++)
            burst[i] = (int16_t)lrint(amp_dbm0(-10) * (sin(2 * M_PI * row_hz[d / 4] * i / 8000.0) +
                                                       sin(2 * M_PI * col_hz[d % 4] * i / 8000.0)));
        md_dtmf_rx_process1(&r, burst, 1600, MD_ISA_SCALAR);
    }
    CHECKF(r.events_lost == 24 - MD_DTMF_EVENTS_MAX, "events_lost %u", r.events_lost);
    int n = 0;
    char last = 0;
    while (md_dtmf_rx_event(&r, &ev)) {
        n++;
        last = ev.digit;
    }
    CHECK(n == MD_DTMF_EVENTS_MAX);
    CHECK(last == md_dtmf_digit_char(11));
}

int main(void)
{
    test_api_edges();
    test_paths_agree();
    return check_summary("dtmf-paths");
}
