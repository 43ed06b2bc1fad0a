/* Mixing. The loops are plain so that the compiler vectorises them; where SSE2 (every
 * x86-64) has a saturating instruction the compiler does not find from C (saturating
 * add, int32 -> int16 pack, 16 x 16 multiply high/low), the x86 path says it directly. */
#include "dsp/mixer.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#define MD_MIX_SSE2 1
#else
#define MD_MIX_SSE2 0
#endif

static inline int16_t sat16(int32_t v)
{
    return (int16_t)(v > 32767 ? 32767 : (v < -32768 ? -32768 : v));
}

/* out[i] = sat16(a[i] - (b ? b[i] : 0)) for int32 a, int16 b. */
static void pack_diff(int16_t *out, const int32_t *a, const int16_t *b, size_t len)
{
    size_t i = 0;
#if MD_MIX_SSE2
    for (; i + 8 <= len; i += 8) {
        __m128i lo = _mm_loadu_si128((const __m128i *)(a + i));
        __m128i hi = _mm_loadu_si128((const __m128i *)(a + i + 4));
        if (b) {
            __m128i x = _mm_loadu_si128((const __m128i *)(b + i));
            /* Sign-extend the int16s: interleave with themselves, shift right. */
            lo = _mm_sub_epi32(lo, _mm_srai_epi32(_mm_unpacklo_epi16(x, x), 16));
            hi = _mm_sub_epi32(hi, _mm_srai_epi32(_mm_unpackhi_epi16(x, x), 16));
        }
        _mm_storeu_si128((__m128i *)(out + i), _mm_packs_epi32(lo, hi));
    }
#endif
    for (; i < len; i++)
        out[i] = sat16(a[i] - (b ? b[i] : 0));
}

void md_mix_sum(int16_t *out, const int16_t *const *in, unsigned n, size_t len)
{
    enum { CHUNK = 256 };
    int32_t acc[CHUNK];
    for (size_t base = 0; base < len; base += CHUNK) {
        size_t m = len - base < CHUNK ? len - base : CHUNK;
        memset(acc, 0, m * sizeof(int32_t));
        for (unsigned k = 0; k < n; k++) {
            const int16_t *x = in[k] + base;
            for (size_t i = 0; i < m; i++)
                acc[i] += x[i];
        }
        pack_diff(out + base, acc, NULL, m);
    }
}

void md_mix_add(int16_t *dst, const int16_t *src, size_t len)
{
    size_t i = 0;
#if MD_MIX_SSE2
    for (; i + 8 <= len; i += 8) {
        __m128i a = _mm_loadu_si128((const __m128i *)(dst + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(src + i));
        _mm_storeu_si128((__m128i *)(dst + i), _mm_adds_epi16(a, b));
    }
#endif
    for (; i < len; i++)
        dst[i] = sat16((int32_t)dst[i] + src[i]);
}

void md_mix_n_minus_1(int16_t *const *out, const int16_t *const *in, unsigned n, size_t len,
                      int32_t *scratch)
{
    memset(scratch, 0, len * sizeof(int32_t));
    for (unsigned k = 0; k < n; k++) {
        const int16_t *x = in[k];
        for (size_t i = 0; i < len; i++)
            scratch[i] += x[i];
    }
    for (unsigned k = 0; k < n; k++)
        pack_diff(out[k], scratch, in[k], len);
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

/* x * q (Q12, rounded, halves up) for 8 samples, as two int32 vectors. q12 is at most
 * 32536 (+18 dB), so it fits an int16 and the 16 x 16 -> 32 bit product comes from
 * pmullw/pmulhw. */
#if MD_MIX_SSE2
static inline void gain8(__m128i x, __m128i q, __m128i *lo, __m128i *hi)
{
    __m128i pl = _mm_mullo_epi16(x, q), ph = _mm_mulhi_epi16(x, q);
    const __m128i round = _mm_set1_epi32(2048);
    *lo = _mm_srai_epi32(_mm_add_epi32(_mm_unpacklo_epi16(pl, ph), round), 12);
    *hi = _mm_srai_epi32(_mm_add_epi32(_mm_unpackhi_epi16(pl, ph), round), 12);
}
#endif

void md_mix_apply_gain(int16_t *buf, size_t len, md_gain_t g)
{
    const int16_t q = (int16_t)g.q12;
    size_t i = 0;
#if MD_MIX_SSE2
    const __m128i vq = _mm_set1_epi16(q);
    for (; i + 8 <= len; i += 8) {
        __m128i lo, hi;
        gain8(_mm_loadu_si128((const __m128i *)(buf + i)), vq, &lo, &hi);
        _mm_storeu_si128((__m128i *)(buf + i), _mm_packs_epi32(lo, hi));
    }
#endif
    for (; i < len; i++)
        buf[i] = sat16(((int32_t)buf[i] * q + 2048) >> 12);
}

void md_mix_add_gain(int16_t *dst, const int16_t *src, size_t len, md_gain_t g)
{
    const int16_t q = (int16_t)g.q12;
    size_t i = 0;
#if MD_MIX_SSE2
    const __m128i vq = _mm_set1_epi16(q);
    for (; i + 8 <= len; i += 8) {
        __m128i lo, hi, d = _mm_loadu_si128((const __m128i *)(dst + i));
        gain8(_mm_loadu_si128((const __m128i *)(src + i)), vq, &lo, &hi);
        /* dst + gained src in int32, then one saturation: same as the scalar loop. */
        lo = _mm_add_epi32(lo, _mm_srai_epi32(_mm_unpacklo_epi16(d, d), 16));
        hi = _mm_add_epi32(hi, _mm_srai_epi32(_mm_unpackhi_epi16(d, d), 16));
        _mm_storeu_si128((__m128i *)(dst + i), _mm_packs_epi32(lo, hi));
    }
#endif
    for (; i < len; i++)
        dst[i] = sat16(dst[i] + (((int32_t)src[i] * q + 2048) >> 12));
}
