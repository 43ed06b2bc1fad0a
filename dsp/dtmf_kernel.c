/* The DTMF filter kernel, generic over the number of lanes (one channel per lane).
 *
 * This file is compiled three times (see dsp/meson.build) with MD_DTMF_LANES = 4, 8
 * and 16 and MD_DTMF_KERNEL naming the function. GCC vector extensions give the lane
 * arithmetic; every operation is an IEEE single-precision add, multiply, divide or
 * compare, rounded as written (the build forbids FMA contraction), so a lane computes
 * exactly what the same channel would compute in any other lane count. That is what
 * makes the paths agree. Only data movement (int16 to float conversion, transposes)
 * uses ISA-specific intrinsics, and moving data cannot change a value. */
#include "dsp/dtmf_kernel.h"

#include <stddef.h>
#include <string.h>

#include <immintrin.h>

#if !defined(MD_DTMF_LANES) || !defined(MD_DTMF_KERNEL)
#error "compile with -DMD_DTMF_LANES=n -DMD_DTMF_KERNEL=name"
#endif

#define LANES MD_DTMF_LANES

typedef float vf __attribute__((vector_size(LANES * sizeof(float))));
typedef int32_t vi __attribute__((vector_size(LANES * sizeof(int32_t))));

/* Broadcasts: GCC widens the scalar operand of a vector operation to every lane.
 * v - 0 is v exactly, signed zeros included. */
static inline vf splat(float v)
{
    return v - (vf){ 0 };
}

static inline vi splat_i(int32_t v)
{
    return v - (vi){ 0 };
}

/* y - s, exactly. On the AVX-512 path it is issued as a fused multiply-add,
 * fma(s, -1, y): s * -1 is exact, so the one rounding is that of y - s, bit for bit (the
 * paths test checks it). What changes is where it runs: on AMD Zen 4 the adds queue on
 * two pipes while the multiply pipes, which also run FMAs, are half idle; the loop has
 * 21 adds and 12 multiplies per sample, and moving 4 of them over balances it (about 8%
 * faster, measured with medley-microbench). The AVX2 path, short of registers, gains
 * nothing and keeps the plain subtraction. minus_one is read from memory the compiler
 * cannot see through, so that it cannot fold the FMA back into a subtraction. */
#if LANES == 16
static inline vf sub_on_fma_pipe(vf y, vf s, vf minus_one)
{
    return (vf)_mm512_fmadd_ps((__m512)s, (__m512)minus_one, (__m512)y);
}
#else
static inline vf sub_on_fma_pipe(vf y, vf s, vf minus_one)
{
    (void)minus_one;
    return y - s;
}
#endif

static volatile float minus_one_in_memory = -1.0f;

/* Lane-wise a where mask is set (all ones), else b. */
static inline vf select_f(vi mask, vf a, vf b)
{
    return (vf)((mask & (vi)a) | (~mask & (vi)b));
}

static inline vi select_i(vi mask, vi a, vi b)
{
    return (mask & a) | (~mask & b);
}

/* ---- Data movement, per ISA. ----
 * transpose_in(): n samples of each lane, int16, to float, sample-major xt[i][lane].
 * gather8()/scatter8(): eight floats per lane (one field of md_dtmf_filters_t) to and
 * from bin-major v[b][lane]. */

#if LANES == 4

static void transpose_in(float xt[MD_DTMF_SUB][LANES], const int16_t *const *x,
                         unsigned off, unsigned n)
{
    unsigned i = 0;
    for (; i + 4 <= n; i += 4) {
        __m128 r[4];
        for (int l = 0; l < 4; l++) {
            __m128i v = _mm_loadl_epi64((const __m128i *)(x[l] + off + i));
            v = _mm_srai_epi32(_mm_unpacklo_epi16(v, v), 16);
            r[l] = _mm_cvtepi32_ps(v);
        }
        _MM_TRANSPOSE4_PS(r[0], r[1], r[2], r[3]);
        for (int k = 0; k < 4; k++)
            _mm_store_ps(xt[i + k], r[k]);
    }
    for (; i < n; i++)
        for (int l = 0; l < LANES; l++)
            xt[i][l] = (float)x[l][off + i];
}

/* src[l] -> v[b][l] for b < 8; the 8x4 block is two 4x4 transposes. */
static inline __attribute__((always_inline)) void gather8(float v[MD_DTMF_BINS][LANES], const float *const *src)
{
    for (int h = 0; h < 2; h++) {
        __m128 r[4];
        for (int l = 0; l < 4; l++)
            r[l] = _mm_loadu_ps(src[l] + 4 * h);
        _MM_TRANSPOSE4_PS(r[0], r[1], r[2], r[3]);
        for (int k = 0; k < 4; k++)
            _mm_storeu_ps(v[4 * h + k], r[k]);
    }
}

static inline __attribute__((always_inline)) void scatter8(float *const *dst, const float v[MD_DTMF_BINS][LANES])
{
    for (int h = 0; h < 2; h++) {
        __m128 r[4];
        for (int k = 0; k < 4; k++)
            r[k] = _mm_loadu_ps(v[4 * h + k]);
        _MM_TRANSPOSE4_PS(r[0], r[1], r[2], r[3]);
        for (int l = 0; l < 4; l++)
            _mm_storeu_ps(dst[l] + 4 * h, r[l]);
    }
}

#else /* LANES 8 or 16: AVX2 8x8 transposes (also present on AVX-512 CPUs) */

static inline void transpose8x8(__m256 r[8])
{
    __m256 t[8], u[8];
    for (int k = 0; k < 8; k += 2) {
        t[k] = _mm256_unpacklo_ps(r[k], r[k + 1]);
        t[k + 1] = _mm256_unpackhi_ps(r[k], r[k + 1]);
    }
    for (int k = 0; k < 8; k += 4) {
        u[k] = _mm256_shuffle_ps(t[k], t[k + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[k + 1] = _mm256_shuffle_ps(t[k], t[k + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[k + 2] = _mm256_shuffle_ps(t[k + 1], t[k + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[k + 3] = _mm256_shuffle_ps(t[k + 1], t[k + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int k = 0; k < 4; k++) {
        r[k] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x20);
        r[k + 4] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x31);
    }
}


static void transpose_in(float xt[MD_DTMF_SUB][LANES], const int16_t *const *x,
                         unsigned off, unsigned n)
{
    unsigned i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int h = 0; h < LANES / 8; h++) {
            __m256 r[8];
            for (int l = 0; l < 8; l++) {
                __m128i v = _mm_loadu_si128((const __m128i *)(x[8 * h + l] + off + i));
                r[l] = _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(v));
            }
            transpose8x8(r);
            for (int k = 0; k < 8; k++)
                _mm256_store_ps(&xt[i + k][8 * h], r[k]);
        }
    }
    for (; i < n; i++)
        for (int l = 0; l < LANES; l++)
            xt[i][l] = (float)x[l][off + i];
}

static inline __attribute__((always_inline)) void gather8(float v[MD_DTMF_BINS][LANES], const float *const *src)
{
    for (int h = 0; h < LANES / 8; h++) {
        __m256 r[8];
        for (int l = 0; l < 8; l++)
            r[l] = _mm256_loadu_ps(src[8 * h + l]);
        transpose8x8(r);
        for (int b = 0; b < 8; b++)
            _mm256_storeu_ps(&v[b][8 * h], r[b]);
    }
}

static inline __attribute__((always_inline)) void scatter8(float *const *dst, const float v[MD_DTMF_BINS][LANES])
{
    for (int h = 0; h < LANES / 8; h++) {
        __m256 r[8];
        for (int b = 0; b < 8; b++)
            r[b] = _mm256_loadu_ps(&v[b][8 * h]);
        transpose8x8(r);
        for (int l = 0; l < 8; l++)
            _mm256_storeu_ps(dst[8 * h + l], r[l]);
    }
}

#endif

/* Points ptrs[] at one 8-float field (at byte offset field_off) of every lane's rx. */
static void field_ptrs(float *ptrs[LANES], md_dtmf_rx_t *const *rx, size_t field_off)
{
    for (int l = 0; l < LANES; l++)
        ptrs[l] = (float *)((char *)rx[l] + field_off);
}

static void load_field(vf v[MD_DTMF_BINS], float *ptrs[LANES])
{
    float tmp[MD_DTMF_BINS][LANES] __attribute__((aligned(64)));
    gather8(tmp, (const float *const *)ptrs);
    memcpy(v, tmp, sizeof(tmp));
}

static void store_field(float *ptrs[LANES], const vf v[MD_DTMF_BINS])
{
    float tmp[MD_DTMF_BINS][LANES] __attribute__((aligned(64)));
    memcpy(tmp, v, sizeof(tmp));
    scatter8(ptrs, tmp);
}

/* Classifies the window of every lane (see dtmf_kernel.h). power[b] = |Y_b|^2.
 * Returns the mask of the lanes that have a candidate. */
static uint32_t classify(const vf power[MD_DTMF_BINS], vf energy, md_dtmf_block_out_t *out)
{
    const md_dtmf_limits_t *lim = &md_dtmf_limits;
    vf level[MD_DTMF_BINS];

    for (int b = 0; b < MD_DTMF_BINS; b++)
        level[b] = power[b] * splat(1.0f / md_dtmf_hp_gain[b]);

    /* Strongest row and column by level; ties keep the lower frequency. */
    vf lr = level[0], pr = power[0], lc = level[4], pc = power[4];
    vi row = splat_i(0), col = splat_i(0);
    for (int b = 1; b < 4; b++) {
        vi m = level[b] > lr;
        lr = select_f(m, level[b], lr);
        pr = select_f(m, power[b], pr);
        row = select_i(m, splat_i(b), row);
        vi mc = level[b + 4] > lc;
        lc = select_f(mc, level[b + 4], lc);
        pc = select_f(mc, power[b + 4], pc);
        col = select_i(mc, splat_i(b), col);
    }

    vf min_level = splat(lim->min_level);
    vi ok = (lr >= min_level) & (lc >= min_level) & (lr <= lc * splat(lim->twist_normal)) &
            (lc <= lr * splat(lim->twist_reverse));
    /* Share of the window's energy in the two tones: a tone filling the window with
     * amplitude A has power (A * 80 / 2)^2 and energy 80 * A^2 / 2. */
    vf safe_energy = select_f(energy > splat(1.0f), energy, splat(1.0f));
    vf rho = (pr + pc) * splat(2.0f / MD_DTMF_WINDOW) / safe_energy;
    ok &= rho >= splat(lim->rho_present);
    vi digit = select_i(ok, row * splat_i(4) + col, splat_i(-1));
    memcpy(out->digit, &digit, sizeof(digit));
    memcpy(out->rho, &rho, sizeof(rho));
    uint32_t heard = 0;
    for (int l = 0; l < LANES; l++)
        heard |= (uint32_t)(ok[l] & 1) << l;
    return heard;
}

void MD_DTMF_KERNEL(md_dtmf_rx_t *const *rx, const int16_t *const *x, unsigned nreal,
                    unsigned len, md_dtmf_block_out_t *out)
{
    vf s1[MD_DTMF_BINS], s2[MD_DTMF_BINS], yp_re[MD_DTMF_BINS], yp_im[MD_DTMF_BINS];
    vf coef[MD_DTMF_BINS];
    vf z1, z2, e, e_prev;
    float xt[MD_DTMF_SUB][LANES] __attribute__((aligned(64)));
    float *ptrs[LANES];
    const vf b1 = splat(MD_DTMF_HP_B1), a1 = splat(MD_DTMF_HP_A1), a2 = splat(MD_DTMF_HP_A2);
    unsigned pos = rx[0]->f.pos;
    const vf m1 = splat(minus_one_in_memory);
    const uint32_t real_mask = nreal >= 32 ? ~0u : (1u << nreal) - 1;
    uint32_t busy = 0;   /* lanes with a run or a digit in progress */

    for (unsigned l = 0; l < nreal; l++)
        busy |= (uint32_t)(rx[l]->run_digit >= 0 || rx[l]->active >= 0) << l;

    /* At a sub-block boundary (pos 0) the Goertzel states are zero, in memory as in
     * registers: calls on whole 5 ms blocks need not move them. */
    const unsigned start_pos = pos;
    if (start_pos == 0) {
        for (int b = 0; b < MD_DTMF_BINS; b++)
            s1[b] = s2[b] = splat(0.0f);
    } else {
        field_ptrs(ptrs, rx, offsetof(md_dtmf_rx_t, f.s1));
        load_field(s1, ptrs);
        field_ptrs(ptrs, rx, offsetof(md_dtmf_rx_t, f.s2));
        load_field(s2, ptrs);
    }
    field_ptrs(ptrs, rx, offsetof(md_dtmf_rx_t, f.yp_re));
    load_field(yp_re, ptrs);
    field_ptrs(ptrs, rx, offsetof(md_dtmf_rx_t, f.yp_im));
    load_field(yp_im, ptrs);
    for (int b = 0; b < MD_DTMF_BINS; b++)
        coef[b] = splat(md_dtmf_goertzel_coef[b]);
    {
        float t_z1[LANES], t_z2[LANES], t_e[LANES], t_ep[LANES];
        for (int l = 0; l < LANES; l++) {
            t_z1[l] = rx[l]->f.hp_z1;
            t_z2[l] = rx[l]->f.hp_z2;
            t_e[l] = start_pos == 0 ? 0.0f : rx[l]->f.e;   /* zero at a boundary */
            t_ep[l] = rx[l]->f.e_prev;
        }
        memcpy(&z1, t_z1, sizeof(z1));
        memcpy(&z2, t_z2, sizeof(z2));
        memcpy(&e, t_e, sizeof(e));
        memcpy(&e_prev, t_ep, sizeof(e_prev));
    }

    unsigned off = 0;
    while (off < len) {
        unsigned n = MD_DTMF_SUB - pos;
        if (n > len - off)
            n = len - off;
        transpose_in(xt, x, off, n);

        /* Two samples per step, so that s1 and s2 swap roles instead of being copied;
         * the arithmetic is the same as one sample at a time. */
        unsigned i = 0;
        for (; i + 2 <= n; i += 2) {
            vf x0, x1;
            memcpy(&x0, xt[i], sizeof(x0));
            memcpy(&x1, xt[i + 1], sizeof(x1));
            vf y0 = x0 + z1;
            z1 = (b1 * x0 + z2) - a1 * y0;
            z2 = x0 - a2 * y0;
            e = e + y0 * y0;
            vf y1 = x1 + z1;
            z1 = (b1 * x1 + z2) - a1 * y1;
            z2 = x1 - a2 * y1;
            e = e + y1 * y1;
            for (int b = 0; b < MD_DTMF_BINS; b++) {
                if (b < 4) {
                    s2[b] = sub_on_fma_pipe(y0, s2[b], m1) + coef[b] * s1[b];
                    s1[b] = sub_on_fma_pipe(y1, s1[b], m1) + coef[b] * s2[b];
                } else {
                    s2[b] = (y0 - s2[b]) + coef[b] * s1[b];
                    s1[b] = (y1 - s1[b]) + coef[b] * s2[b];
                }
            }
        }
        if (i < n) {
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
        vf power[MD_DTMF_BINS];
        for (int b = 0; b < MD_DTMF_BINS; b++) {
            vf y_re = s1[b] - splat(md_dtmf_cos_w[b]) * s2[b];
            vf y_im = splat(md_dtmf_sin_w[b]) * s2[b];
            vf rc = splat(md_dtmf_rot_re[b]), rs = splat(md_dtmf_rot_im[b]);
            vf w_re = (rc * yp_re[b] - rs * yp_im[b]) + y_re;
            vf w_im = (rs * yp_re[b] + rc * yp_im[b]) + y_im;
            power[b] = w_re * w_re + w_im * w_im;
            yp_re[b] = y_re;
            yp_im[b] = y_im;
            s1[b] = splat(0.0f);
            s2[b] = splat(0.0f);
        }
        uint32_t heard = classify(power, e_prev + e, out) & real_mask;
        if (heard) {
            /* Only a lane with a candidate reads this sub-block's filter outputs. */
            for (int b = 0; b < MD_DTMF_BINS; b++) {
                memcpy(out->sub_re[b], &yp_re[b], sizeof(vf));
                memcpy(out->sub_im[b], &yp_im[b], sizeof(vf));
            }
        }
        e_prev = e;
        e = splat(0.0f);
        pos = 0;
        /* Most of the time no lane hears anything and none has a digit pending. */
        if (heard | busy)
            busy = md_dtmf_decide_block(rx, out, off, heard | busy);
    }

    /* Scatter the state back. Padding lanes point at a scratch copy; writing it is
     * harmless. */
    if (pos != 0) {
        field_ptrs(ptrs, rx, offsetof(md_dtmf_rx_t, f.s1));
        store_field(ptrs, s1);
        field_ptrs(ptrs, rx, offsetof(md_dtmf_rx_t, f.s2));
        store_field(ptrs, s2);
    } else if (start_pos != 0) {
        for (int l = 0; l < LANES; l++) {
            memset(rx[l]->f.s1, 0, sizeof(rx[l]->f.s1));
            memset(rx[l]->f.s2, 0, sizeof(rx[l]->f.s2));
        }
    }
    field_ptrs(ptrs, rx, offsetof(md_dtmf_rx_t, f.yp_re));
    store_field(ptrs, yp_re);
    field_ptrs(ptrs, rx, offsetof(md_dtmf_rx_t, f.yp_im));
    store_field(ptrs, yp_im);
    {
        float t_z1[LANES], t_z2[LANES], t_e[LANES], t_ep[LANES];
        memcpy(t_z1, &z1, sizeof(z1));
        memcpy(t_z2, &z2, sizeof(z2));
        memcpy(t_e, &e, sizeof(e));
        memcpy(t_ep, &e_prev, sizeof(e_prev));
        for (int l = 0; l < LANES; l++) {
            rx[l]->f.hp_z1 = t_z1[l];
            rx[l]->f.hp_z2 = t_z2[l];
            rx[l]->f.e = t_e[l];
            rx[l]->f.e_prev = t_ep[l];
            rx[l]->f.pos = pos;
        }
    }
}
