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

    /* Exactly +6 dB is x1.995: doubles within 0.5 %. */
    CHECK(md_gain_from_db(6.0f, &g) == 0);
    int16_t w[4] = { 1000, -1000, 16000, -16000 };
    md_mix_apply_gain(w, 4, g);
    CHECKF(abs(w[0] - 1995) <= 1 && abs(w[1] + 1995) <= 1 && abs(w[2] - 31924) <= 8 &&
               abs(w[3] + 31924) <= 8, "+6 dB: %d %d %d %d", w[0], w[1], w[2], w[3]);
    /* Mute at -inf and at anything below -90 dB; -90 dB itself is not mute. */
    int16_t m[2] = { 32767, -32768 };
    CHECK(md_gain_from_db(-INFINITY, &g) == 0 && g.q12 == 0);
    md_mix_apply_gain(m, 2, g);
    CHECK(m[0] == 0 && m[1] == 0);
    CHECK(md_gain_from_db(-90.5f, &g) == 0 && g.q12 == 0);
    CHECK(md_gain_from_db(-60, &g) == 0 && g.q12 == 4);   /* 4096 / 1000, rounded */
    CHECK(md_gain_from_db(INFINITY, &g) == -EINVAL);

    /* The sum may be written over one of its inputs. */
    int16_t s0[LEN], s1[LEN];
    for (int i = 0; i < LEN; i++) {
        s0[i] = (int16_t)(i * 200 - 16000);
        s1[i] = (int16_t)(30000 - i * 100);
    }
    const int16_t *sp[2] = { s0, s1 };
    md_mix_sum(s0, sp, 2, LEN);
    bad = 0;
    for (int i = 0; i < LEN; i++) {
        int32_t t = i * 200 - 16000 + 30000 - i * 100;
        bad += s0[i] != (t > 32767 ? 32767 : t);
    }
    CHECK(bad == 0);
    /* Long buffers (beyond the internal 256-sample chunk) sum exactly too. */
    static int16_t l0[1000], l1[1000], lo[1000];
    for (int i = 0; i < 1000; i++) {
        l0[i] = (int16_t)(i * 37 % 65536 - 32768);
        l1[i] = (int16_t)(i * 91 % 65536 - 32768);
    }
    const int16_t *lp[2] = { l0, l1 };
    md_mix_sum(lo, lp, 2, 1000);
    bad = 0;
    for (int i = 0; i < 1000; i++) {
        int32_t t = l0[i] + l1[i];
        bad += lo[i] != (t > 32767 ? 32767 : (t < -32768 ? -32768 : t));
    }
    CHECK(bad == 0);

    /* N-1 with everyone at full scale: the int32 total does not saturate early, so
     * removing one's own full-scale voice is still exact before the final clamp. */
    static int16_t fs[3][LEN], fo[3][LEN];
    const int16_t *fip[3] = { fs[0], fs[1], fs[2] };
    int16_t *fop[3] = { fo[0], fo[1], fo[2] };
    for (int i = 0; i < LEN; i++) {
        fs[0][i] = 32767;
        fs[1][i] = -32768;
        fs[2][i] = (int16_t)(i - 80);
    }
    md_mix_n_minus_1(fop, fip, 3, LEN, scratch);
    bad = 0;
    for (int i = 0; i < LEN; i++)
        bad += fo[0][i] != (i - 80 < 0 ? -32768 : -32768 + (i - 80)) || fo[1][i] != (i - 80 > 0 ? 32767 : 32767 + (i - 80)) ||
               fo[2][i] != -1;
    CHECK(bad == 0);

    /* Every function against a plain int32 reference, on lengths that are and are not
     * multiples of the vector width, with values reaching both rails and gains over the
     * whole range. */
    static int16_t ra[3][203], rb[203], rout[3][203];
    int32_t rscratch[203];
    int mismatches = 0;
    for (int trial = 0; trial < 300; trial++) {
        size_t rl = (size_t)(rand_r(&seed) % 204);
        for (size_t i = 0; i < rl; i++) {
            for (int k = 0; k < 3; k++)
                ra[k][i] = (int16_t)(rand_r(&seed) % 65536 - 32768);
            rb[i] = (int16_t)(rand_r(&seed) % 65536 - 32768);
        }
        const int16_t *rp[3] = { ra[0], ra[1], ra[2] };
        int16_t *rop[3] = { rout[0], rout[1], rout[2] };
        md_mix_sum(rout[0], rp, 3, rl);
        for (size_t i = 0; i < rl; i++) {
            int32_t t = ra[0][i] + ra[1][i] + ra[2][i];
            mismatches += rout[0][i] != (t > 32767 ? 32767 : (t < -32768 ? -32768 : t));
        }
        md_mix_n_minus_1(rop, rp, 3, rl, rscratch);
        for (int k = 0; k < 3; k++)
            for (size_t i = 0; i < rl; i++) {
                int32_t t = ra[0][i] + ra[1][i] + ra[2][i] - ra[k][i];
                mismatches += rout[k][i] != (t > 32767 ? 32767 : (t < -32768 ? -32768 : t));
            }
        md_gain_t rg;
        md_gain_from_db((float)(rand_r(&seed) % 1090) / 10.0f - 91.0f, &rg);
        for (size_t i = 0; i < rl; i++)
            rout[1][i] = ra[0][i];
        md_mix_apply_gain(rout[1], rl, rg);
        for (size_t i = 0; i < rl; i++)
            rout[2][i] = rb[i];
        md_mix_add_gain(rout[2], ra[1], rl, rg);
        for (size_t i = 0; i < rl; i++) {
            int32_t t = (ra[0][i] * rg.q12 + 2048) >> 12;
            mismatches += rout[1][i] != (t > 32767 ? 32767 : (t < -32768 ? -32768 : t));
            t = rb[i] + ((ra[1][i] * rg.q12 + 2048) >> 12);
            mismatches += rout[2][i] != (t > 32767 ? 32767 : (t < -32768 ? -32768 : t));
        }
        for (size_t i = 0; i < rl; i++)
            rout[0][i] = ra[2][i];
        md_mix_add(rout[0], rb, rl);
        for (size_t i = 0; i < rl; i++) {
            int32_t t = ra[2][i] + rb[i];
            mismatches += rout[0][i] != (t > 32767 ? 32767 : (t < -32768 ? -32768 : t));
        }
    }
    CHECKF(mismatches == 0, "%d samples differ from the reference", mismatches);

    /* Overlay at -6 dB. */
    int16_t d[2] = { 100, 32000 }, s[2] = { 2000, 2000 };
    md_gain_from_db(-6.0206f, &g);
    md_mix_add_gain(d, s, 2, g);
    CHECK(d[0] == 1100 && d[1] == 32767);
    return check_summary("mixer");
}
