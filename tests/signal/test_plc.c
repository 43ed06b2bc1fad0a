/* Packet loss concealment: a lost frame continues the signal, long loss fades out, and
 * the return of real audio does not click. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/plc.h"
#include "tests/check.h"

/* A voiced-like periodic signal: 125 Hz with harmonics. */
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

int main(void)
{
    md_plc_t p;
    int16_t f[160], truth[160];
    md_plc_init(&p);
    long t = 0;
    for (int k = 0; k < 25; k++, t += 160) {
        for (int i = 0; i < 160; i++)
            f[i] = voice(t + i);
        md_plc_received(&p, f, 160);
    }
    /* One lost frame: the concealment follows the waveform. */
    md_plc_conceal(&p, f, 160);
    for (int i = 0; i < 160; i++)
        truth[i] = voice(t + i);
    double c = correlation(f, truth, 160);
    CHECKF(c > 0.8, "correlation with the lost frame %.3f", c);
    double e = 0;
    for (int i = 0; i < 160; i++)
        e += (double)f[i] * f[i];
    CHECK(e > 1e6 * 160);   /* not silence */
    t += 160;
    /* Recovery: the first real frame after the gap starts without a jump. */
    int16_t prev = f[159];
    for (int i = 0; i < 160; i++)
        f[i] = voice(t + i);
    md_plc_received(&p, f, 160);
    t += 160;
    CHECKF(abs(f[0] - prev) < 3000, "jump %d at recovery", abs(f[0] - prev));

    /* A long loss fades to silence. */
    for (int k = 0; k < 10; k++)
        md_plc_conceal(&p, f, 160);
    double tail = 0;
    for (int i = 0; i < 160; i++)
        tail += abs(f[i]);
    CHECKF(tail == 0, "after 200 ms of loss the output is %.0f, not silence", tail);
    return check_summary("plc");
}
