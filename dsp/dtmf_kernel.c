/* The DTMF filter kernel, generic over the number of lanes (one channel per lane).
 *
 * This file is compiled three times (see dsp/meson.build) with MD_DTMF_LANES = 4, 8
 * and 16 and MD_DTMF_KERNEL naming the function. GCC vector extensions give the lane
 * arithmetic; every operation is an IEEE single-precision add or multiply, rounded as
 * written (the build forbids FMA contraction), so a lane computes exactly what the same
 * channel would compute in any other lane count. That is what makes the paths agree. */
#include "dsp/dtmf_kernel.h"

#include <string.h>

#if !defined(MD_DTMF_LANES) || !defined(MD_DTMF_KERNEL)
#error "compile with -DMD_DTMF_LANES=n -DMD_DTMF_KERNEL=name"
#endif

#define LANES MD_DTMF_LANES

typedef float vf __attribute__((vector_size(LANES * sizeof(float))));

static inline vf splat(float v)
{
    vf r;
    for (int i = 0; i < LANES; i++)
        r[i] = v;
    return r;
}

/* Converts n samples of each lane to float, sample-major: xt[i][lane]. */
static void transpose_in(float xt[MD_DTMF_SUB][LANES], const int16_t *const *x,
                         unsigned off, unsigned n)
{
    for (unsigned lane = 0; lane < LANES; lane++) {
        const int16_t *src = x[lane] + off;
        for (unsigned i = 0; i < n; i++)
            xt[i][lane] = (float)src[i];
    }
}

void MD_DTMF_KERNEL(md_dtmf_rx_t *const *rx, const int16_t *const *x, unsigned nreal,
                    unsigned len, md_dtmf_block_out_t *out)
{
    vf s1[MD_DTMF_BINS], s2[MD_DTMF_BINS], yp_re[MD_DTMF_BINS], yp_im[MD_DTMF_BINS];
    vf coef[MD_DTMF_BINS];
    vf z1, z2, e, e_prev;
    float xt[MD_DTMF_SUB][LANES] __attribute__((aligned(64)));
    const vf b1 = splat(MD_DTMF_HP_B1), a1 = splat(MD_DTMF_HP_A1), a2 = splat(MD_DTMF_HP_A2);
    unsigned pos = rx[0]->f.pos;

    /* Gather the lanes' state. */
    for (int b = 0; b < MD_DTMF_BINS; b++) {
        coef[b] = splat(md_dtmf_goertzel_coef[b]);
        for (int l = 0; l < LANES; l++) {
            s1[b][l] = rx[l]->f.s1[b];
            s2[b][l] = rx[l]->f.s2[b];
            yp_re[b][l] = rx[l]->f.yp_re[b];
            yp_im[b][l] = rx[l]->f.yp_im[b];
        }
    }
    for (int l = 0; l < LANES; l++) {
        z1[l] = rx[l]->f.hp_z1;
        z2[l] = rx[l]->f.hp_z2;
        e[l] = rx[l]->f.e;
        e_prev[l] = rx[l]->f.e_prev;
    }

    unsigned off = 0;
    while (off < len) {
        unsigned n = MD_DTMF_SUB - pos;
        if (n > len - off)
            n = len - off;
        transpose_in(xt, x, off, n);

        for (unsigned i = 0; i < n; i++) {
            vf xi;
            memcpy(&xi, xt[i], sizeof(xi));
            vf y = xi + z1;
            z1 = (b1 * xi + z2) - a1 * y;
            z2 = xi - a2 * y;
            e = e + y * y;
            for (int b = 0; b < MD_DTMF_BINS; b++) {
                vf s0 = (y - s2[b]) + coef[b] * s1[b];
                s2[b] = s1[b];
                s1[b] = s0;
            }
        }
        off += n;
        pos += n;
        if (pos < MD_DTMF_SUB)
            break;

        /* Sub-block complete: y = s1 - e^{-jw} s2 is its DFT (up to a phase common to
         * every sub-block); the window's is this one plus the previous one advanced by
         * the 40 samples between them. */
        for (int b = 0; b < MD_DTMF_BINS; b++) {
            vf y_re = s1[b] - splat(md_dtmf_cos_w[b]) * s2[b];
            vf y_im = splat(md_dtmf_sin_w[b]) * s2[b];
            vf rc = splat(md_dtmf_rot_re[b]), rs = splat(md_dtmf_rot_im[b]);
            vf w_re = (rc * yp_re[b] - rs * yp_im[b]) + y_re;
            vf w_im = (rs * yp_re[b] + rc * yp_im[b]) + y_im;
            vf p = w_re * w_re + w_im * w_im;
            memcpy(out->power[b], &p, sizeof(p));
            memcpy(out->sub_re[b], &y_re, sizeof(y_re));
            memcpy(out->sub_im[b], &y_im, sizeof(y_im));
            memcpy(out->prev_re[b], &yp_re[b], sizeof(y_re));
            memcpy(out->prev_im[b], &yp_im[b], sizeof(y_im));
            yp_re[b] = y_re;
            yp_im[b] = y_im;
            s1[b] = splat(0.0f);
            s2[b] = splat(0.0f);
        }
        vf ew = e_prev + e;
        memcpy(out->energy, &ew, sizeof(ew));
        e_prev = e;
        e = splat(0.0f);
        pos = 0;
        md_dtmf_decide_block(rx, nreal, out);
    }

    /* Scatter the state back. Padding lanes point at scratch copies; writing them is
     * harmless. */
    for (int b = 0; b < MD_DTMF_BINS; b++) {
        for (int l = 0; l < LANES; l++) {
            rx[l]->f.s1[b] = s1[b][l];
            rx[l]->f.s2[b] = s2[b][l];
            rx[l]->f.yp_re[b] = yp_re[b][l];
            rx[l]->f.yp_im[b] = yp_im[b][l];
        }
    }
    for (int l = 0; l < LANES; l++) {
        rx[l]->f.hp_z1 = z1[l];
        rx[l]->f.hp_z2 = z2[l];
        rx[l]->f.e = e[l];
        rx[l]->f.e_prev = e_prev[l];
        rx[l]->f.pos = pos;
    }
}
