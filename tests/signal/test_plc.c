/* Packet loss concealment: a lost frame continues the signal, longer loss fades out,
 * the return of real audio does not click, and bad arguments are refused. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/plc.h"
#include "tests/check.h"

/* A voiced-like periodic signal: 125 Hz (pitch period 64 samples) with harmonics. */
static int16_t voice(long i)
{
    double t = i / 8000.0, v = 0;
    for (int h = 1; h <= 6; h++)
        v += 3000.0 / h * sin(2 * M_PI * 125 * h * t + h);
    return (int16_t)lrint(v);
}

static double correlation(const int16_t *a, const int16_t *b, int n)
{
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / sqrt(aa * bb + 1e-9);
}

static double rms(const int16_t *a, int n)
{
    double e = 0;
    for (int i = 0; i < n; i++)
        e += (double)a[i] * a[i];
    return sqrt(e / n);
}

/* Feeds 500 ms of the signal from sample *t on. */
static void feed(md_plc_t *p, long *t)
{
    int16_t f[160];
    for (int k = 0; k < 25; k++, *t += 160) {
        for (int i = 0; i < 160; i++)
            f[i] = voice(*t + i);
        CHECK(md_plc_received(p, f, 160) == 0);
    }
}

int main(void)
{
    md_plc_t p;
    int16_t f[160], truth[160];
    long t = 0;

    /* The largest step between samples the signal itself makes. */
    int natural = 0;
    for (long i = 1; i < 8000; i++)
        natural = abs(voice(i) - voice(i - 1)) > natural ? abs(voice(i) - voice(i - 1)) : natural;

    /* Loss before any audio: silence, not garbage. */
    CHECK(md_plc_init(&p) == 0);
    memset(f, 0x55, sizeof(f));
    CHECK(md_plc_conceal(&p, f, 160) == 0);
    CHECK(rms(f, 160) == 0);

    /* Losses of 1, 2 and 3 frames at different points of the waveform. */
    for (int lost = 1; lost <= 3; lost++) {
        CHECK(md_plc_init(&p) == 0);
        t = 17 * lost;   /* a different phase each time */
        feed(&p, &t);
        double prev_rms = 1e9;
        int16_t last = 0;
        for (int k = 0; k < lost; k++, t += 160) {
            CHECK(md_plc_conceal(&p, f, 160) == 0);
            for (int i = 0; i < 160; i++)
                truth[i] = voice(t + i);
            double c = correlation(f, truth, 160), r = rms(f, 160);
            /* The first frame repeats the period, at full level for 10 ms then fading
             * by 2.5 % per 10 samples: it follows the true continuation closely and keeps
             * most of its level. Later frames fade but stay in phase. */
            if (k == 0)
                CHECKF(c > 0.9 && r > 0.7 * rms(truth, 160),
                       "loss of %d: first frame correlation %.3f, rms %.0f of %.0f", lost, c, r,
                       rms(truth, 160));
            else
                CHECKF(c > 0.5 && r < prev_rms, "loss of %d, frame %d: corr %.3f rms %.0f", lost,
                       k, c, r);
            prev_rms = r;
            last = f[159];
        }
        /* Recovery: the first real frame is blended in without a jump bigger than the
         * signal's own steps, and ends on the true signal. */
        for (int i = 0; i < 160; i++)
            f[i] = truth[i] = voice(t + i);
        CHECK(md_plc_received(&p, f, 160) == 0);
        int jump = abs(f[0] - last), worst = 0;
        for (int i = 1; i < 160; i++)
            worst = abs(f[i] - f[i - 1]) > worst ? abs(f[i] - f[i - 1]) : worst;
        CHECKF(jump <= natural * 3 / 2 && worst <= natural * 3 / 2,
               "loss of %d: recovery jump %d, largest step %d (signal's own: %d)", lost, jump,
               worst, natural);
        CHECK(f[159] == truth[159]);
        t += 160;
    }

    /* A long loss fades: louder to quieter, silent from 60 ms on. */
    CHECK(md_plc_init(&p) == 0);
    t = 0;
    feed(&p, &t);
    double r[6];
    for (int k = 0; k < 6; k++) {
        CHECK(md_plc_conceal(&p, f, 160) == 0);
        r[k] = rms(f, 160);
    }
    CHECKF(r[0] > 1000 && r[1] < r[0] && r[2] < r[1], "fade %.0f %.0f %.0f", r[0], r[1], r[2]);
    CHECKF(r[3] == 0 && r[4] == 0 && r[5] == 0, "after 60 ms of loss: %.0f %.0f %.0f", r[3], r[4],
           r[5]);
    /* Audio returning after a long silence fades in from it, no click. */
    for (int i = 0; i < 160; i++)
        f[i] = voice(t + i);
    CHECK(md_plc_received(&p, f, 160) == 0);
    CHECKF(abs(f[0]) <= natural, "first sample after a long loss %d", f[0]);

    /* Odd frame sizes work too (10 ms, 30 ms, 1 sample). */
    CHECK(md_plc_init(&p) == 0);
    t = 0;
    feed(&p, &t);
    int16_t big[240];
    CHECK(md_plc_conceal(&p, big, 80) == 0 && md_plc_conceal(&p, big, 1) == 0);
    CHECK(md_plc_conceal(&p, big, 240) == 0);

    /* Bad arguments. */
    CHECK(md_plc_init(NULL) == -EINVAL);
    CHECK(md_plc_received(&p, f, 0) == -EINVAL && md_plc_received(&p, f, -160) == -EINVAL);
    CHECK(md_plc_received(&p, NULL, 160) == -EINVAL && md_plc_received(NULL, f, 160) == -EINVAL);
    CHECK(md_plc_conceal(&p, f, 0) == -EINVAL && md_plc_conceal(&p, NULL, 160) == -EINVAL);
    return check_summary("plc");
}
