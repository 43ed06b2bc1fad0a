/* Mixing. The loops are plain and branch-free so that the compiler vectorises them. */
#include "dsp/mixer.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static inline int16_t sat16(int32_t v)
{
    return (int16_t)(v > 32767 ? 32767 : (v < -32768 ? -32768 : v));
}

void md_mix_sum(int16_t *out, const int16_t *const *in, unsigned n, size_t len)
{
    enum { CHUNK = 256 };
    int32_t acc[CHUNK];
    for (size_t base = 0; base < len; base += CHUNK) {
        size_t m = len - base < CHUNK ? len - base : CHUNK;
        memset(acc, 0, m * sizeof(int32_t));
        for (unsigned k = 0; k < n; k++)
            for (size_t i = 0; i < m; i++)
                acc[i] += in[k][base + i];
        for (size_t i = 0; i < m; i++)
            out[base + i] = sat16(acc[i]);
    }
}

void md_mix_add(int16_t *dst, const int16_t *src, size_t len)
{
    for (size_t i = 0; i < len; i++)
        dst[i] = sat16((int32_t)dst[i] + src[i]);
}

void md_mix_n_minus_1(int16_t *const *out, const int16_t *const *in, unsigned n, size_t len,
                      int32_t *scratch)
{
    memset(scratch, 0, len * sizeof(int32_t));
    for (unsigned k = 0; k < n; k++)
        for (size_t i = 0; i < len; i++)
            scratch[i] += in[k][i];
    for (unsigned k = 0; k < n; k++)
        for (size_t i = 0; i < len; i++)
            out[k][i] = sat16(scratch[i] - in[k][i]);
}

int md_gain_from_db(float db, md_gain_t *g)
{
    if (isnan(db) || db > MD_GAIN_MAX_DB)
        return -EINVAL;
    if (db < MD_GAIN_MUTE_DB) {
        g->q12 = 0;
        return 0;
    }
    g->q12 = (int32_t)lrint(4096.0 * pow(10.0, db / 20.0));
    return 0;
}

void md_mix_apply_gain(int16_t *buf, size_t len, md_gain_t g)
{
    /* |sample| * q12 < 2^15 * 2^15.1: fits int32 with the rounding term. */
    for (size_t i = 0; i < len; i++)
        buf[i] = sat16((buf[i] * g.q12 + 2048) >> 12);
}

void md_mix_add_gain(int16_t *dst, const int16_t *src, size_t len, md_gain_t g)
{
    for (size_t i = 0; i < len; i++)
        dst[i] = sat16(dst[i] + ((src[i] * g.q12 + 2048) >> 12));
}
