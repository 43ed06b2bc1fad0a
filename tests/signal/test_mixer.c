/* Mixer: exact sums, saturation at both rails, N-1, gains. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "dsp/mixer.h"
#include "tests/check.h"

#define LEN 160
#define N 7

int main(void)
{
    static int16_t in[N][LEN], out[N][LEN], sum[LEN];
    const int16_t *ip[N];
    int16_t *op[N];
    int32_t scratch[LEN];
    unsigned seed = 3;

    for (int k = 0; k < N; k++) {
        for (int i = 0; i < LEN; i++)
            in[k][i] = (int16_t)(rand_r(&seed) % 20001 - 10000);
        ip[k] = in[k];
        op[k] = out[k];
    }
    /* Saturating sum, checked against int32 arithmetic. */
    md_mix_sum(sum, ip, N, LEN);
    int bad = 0, clipped = 0;
    for (int i = 0; i < LEN; i++) {
        int32_t t = 0;
        for (int k = 0; k < N; k++)
            t += in[k][i];
        int32_t want = t > 32767 ? 32767 : (t < -32768 ? -32768 : t);
        bad += sum[i] != want;
        clipped += t != want;
    }
    CHECK(bad == 0);
    CHECK(clipped > 0);   /* the data does reach both rails */
    md_mix_sum(sum, ip, 0, LEN);
    CHECK(sum[0] == 0 && sum[LEN - 1] == 0);

    int16_t a[4] = { 32767, -32768, 20000, -20000 }, b[4] = { 1, -1, 20000, -20000 };
    md_mix_add(a, b, 4);
    CHECK(a[0] == 32767 && a[1] == -32768 && a[2] == 32767 && a[3] == -32768);

    /* N-1: each output is the saturated sum of all the others. */
    md_mix_n_minus_1(op, ip, N, LEN, scratch);
    bad = 0;
    for (int k = 0; k < N; k++)
        for (int i = 0; i < LEN; i++) {
            int32_t t = 0;
            for (int j = 0; j < N; j++)
                if (j != k)
                    t += in[j][i];
            bad += out[k][i] != (t > 32767 ? 32767 : (t < -32768 ? -32768 : t));
        }
    CHECK(bad == 0);
    /* Two parties: each hears exactly the other. */
    md_mix_n_minus_1(op, ip, 2, LEN, scratch);
    bad = 0;
    for (int i = 0; i < LEN; i++)
        bad += out[0][i] != in[1][i] || out[1][i] != in[0][i];
    CHECK(bad == 0);

    /* Gains. */
    md_gain_t g;
    CHECK(md_gain_from_db(0, &g) == 0 && g.q12 == 4096);
    int16_t buf[LEN];
    for (int i = 0; i < LEN; i++)
        buf[i] = in[0][i];
    md_mix_apply_gain(buf, LEN, g);
    bad = 0;
    for (int i = 0; i < LEN; i++)
        bad += buf[i] != in[0][i];
    CHECK(bad == 0);   /* 0 dB is exactly the identity */
    CHECK(md_gain_from_db(6.0206f, &g) == 0);
    int16_t x[3] = { 1000, -1000, 20000 };
    md_mix_apply_gain(x, 3, g);
    CHECKF(abs(x[0] - 2000) <= 1 && abs(x[1] + 2000) <= 1 && x[2] == 32767, "%d %d %d", x[0], x[1], x[2]);
    CHECK(md_gain_from_db(-20, &g) == 0);
    int16_t y[2] = { 10000, -10000 };
    md_mix_apply_gain(y, 2, g);
    CHECKF(abs(y[0] - 1000) <= 1 && abs(y[1] + 1000) <= 1, "%d %d", y[0], y[1]);
    CHECK(md_gain_from_db(-200, &g) == 0 && g.q12 == 0);
    CHECK(md_gain_from_db(18, &g) == 0);
    int16_t z[2] = { -32768, 32767 };
    md_mix_apply_gain(z, 2, g);
    CHECK(z[0] == -32768 && z[1] == 32767);
    md_gain_t keep = { 1234 };
    CHECK(md_gain_from_db(19, &keep) == -EINVAL && keep.q12 == 1234);
    CHECK(md_gain_from_db(NAN, &keep) == -EINVAL);

    /* Overlay at -6 dB. */
    int16_t d[2] = { 100, 32000 }, s[2] = { 2000, 2000 };
    md_gain_from_db(-6.0206f, &g);
    md_mix_add_gain(d, s, 2, g);
    CHECK(d[0] == 1100 && d[1] == 32767);
    return check_summary("mixer");
}
