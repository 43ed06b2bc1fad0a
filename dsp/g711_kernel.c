/* The G.711 frame kernels, by arithmetic instead of table look-ups.
 *
 * This file is compiled three times (see dsp/meson.build) with MD_G711_LANES = 4, 8 and
 * 16 and MD_G711_ISA naming the path (the functions are md_g711_<op>_<isa>): the x86-64
 * baseline (SSE2), AVX2 and AVX-512 (F, BW, VL, DQ). The AVX2 and AVX-512 objects are
 * only called after dsp/cpu.c has checked the CPU (g711.c does the choosing).
 *
 * SSE2 and AVX2 (4 and 8 samples per vector, one 32-bit lane each, GCC vector
 * extensions for the arithmetic): a G.711 code is a floating-point number with a 3-bit
 * exponent (the segment) and a 4-bit mantissa, and so is an IEEE single-precision float,
 * with 8 and 23. An integer below 2^24 converts to float exactly, so
 *
 *   encode: the float bits of the biased magnitude x, shifted right by 19, are
 *           (exponent << 4) | (top 4 mantissa bits), i.e. (floor(log2 x) + 127) << 4 |
 *           ((x >> (floor(log2 x) - 4)) & 15). With floor(log2 x) = segment + 7 that is
 *           the code's segment and mantissa, what ITU-T G.711 computes with a search for
 *           the segment and a shift by it: one int-to-float conversion, a shift and a
 *           subtraction replace both (SSE2 and AVX2 have no variable shift of their
 *           own on 16-bit lanes, and none at all on SSE2);
 *   decode: the code's 7 bits, placed in the exponent and top mantissa bits of a float
 *           (plus the half step G.711 adds in the middle of each interval), are the
 *           decoded magnitude; one float-to-int conversion gives it exactly.
 *
 * Segment 0 of A-law is linear (not a float), handled by a compare and an offset.
 *
 * AVX-512 (32 samples per vector, 16-bit lanes, intrinsics): AVX-512BW shifts 16-bit
 * lanes by per-lane counts, so the ITU rules are computed as written, with the segment
 * from nibble tables held in a register; twice the samples per instruction of the float
 * trick, which needs 32-bit lanes (measured: 1.5-2.5x faster than the same trick on
 * AVX-512, see docs/benchmarks.md).
 *
 * Every step is exact integer arithmetic or an exact conversion, so all paths give the
 * bits of the tables (tests/dsp/test_g711_paths.c checks every input on every path). The
 * vector code is in the object files: `objdump -d` shows cvtdq2ps / cvttps2dq on xmm in
 * the baseline object, vcvtdq2ps / vcvttps2dq on ymm in the AVX2 one, vpsrlvw / vpsllvw /
 * vpshufb on zmm in the AVX-512 one. */
#include "dsp/g711_kernel.h"

#include <string.h>

#include <immintrin.h>

#if !defined(MD_G711_LANES) || !defined(MD_G711_ISA)
#error "compile with -DMD_G711_LANES=n -DMD_G711_ISA=name"
#endif

#define LANES MD_G711_LANES
#define CAT3(a, b, c) a##b##c
#define FN(op, isa) CAT3(md_g711_, op, isa)
#define NAME(op) FN(op, MD_G711_ISA)

#if LANES == 16

/* ---- AVX-512BW: 32 samples per vector, in 16-bit lanes ----
 * AVX-512BW has variable shifts on 16-bit lanes (vpsrlvw, vpsllvw), so the ITU rules
 * can be computed as written, twice as many samples per instruction as the float trick
 * in 32-bit lanes (measured 1.5-2.5x faster on Zen 4). The segment is the bit length of
 * x >> 8 (0..127), from two 16-entry nibble tables in registers (vpshufb) and a maximum;
 * the mantissa a variable shift by it. The tail goes through masked loads and stores. */

#define V __m512i

static inline V k16(int v) { return _mm512_set1_epi16((short)v); }

/* The G.711 segment of x in 0..32767: the bit length of x >> 8 (0..7), as
 * max(x >> 12 ? 4 + bitlen(x >> 12) : 0, bitlen((x >> 8) & 15)). vpshufb looks up each
 * byte; the high byte of every lane indexes entry 0, which is 0. */
static inline V segment(V x)
{
    const V hi = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 5, 6, 6, 7, 7, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0));
    const V lo = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4));
    V a = _mm512_shuffle_epi8(hi, _mm512_srli_epi16(x, 12));
    V b = _mm512_shuffle_epi8(lo, _mm512_and_si512(_mm512_srli_epi16(x, 8), k16(0x0F)));
    return _mm512_max_epu8(a, b);
}

/* µ-law: x = 0x84 + |s|, saturating (s = -32768 gives 32767, which encodes as the clip
 * code 0x7F does); mantissa (x >> (segment + 3)) & 15; code inverted, sign bit clear for
 * s < 0. */
static inline V ulaw_enc32(V s)
{
    V neg = _mm512_srai_epi16(s, 15);
    V x = _mm512_adds_epi16(_mm512_xor_si512(s, neg), _mm512_sub_epi16(k16(0x84), neg));
    V seg = segment(x);
    V mant = _mm512_and_si512(_mm512_srlv_epi16(x, _mm512_add_epi16(seg, k16(3))), k16(0x0F));
    V code = _mm512_or_si512(_mm512_slli_epi16(seg, 4), mant);
    return _mm512_xor_si512(code, _mm512_xor_si512(k16(0xFF), _mm512_and_si512(neg, k16(0x80))));
}

/* A-law: lin = s, or ~s = -s - 1 for s < 0; mantissa shift segment + 3 but 4 in
 * segment 0; code XOR 0x55, sign bit set for s >= 0. */
static inline V alaw_enc32(V s)
{
    V neg = _mm512_srai_epi16(s, 15);
    V lin = _mm512_xor_si512(s, neg);
    V seg = segment(lin);
    V sh = _mm512_max_epu16(_mm512_add_epi16(seg, k16(3)), k16(4));
    V mant = _mm512_and_si512(_mm512_srlv_epi16(lin, sh), k16(0x0F));
    V code = _mm512_or_si512(_mm512_slli_epi16(seg, 4), mant);
    return _mm512_xor_si512(code, _mm512_xor_si512(k16(0xD5), _mm512_and_si512(neg, k16(0x80))));
}

/* µ-law: ((mantissa << 3) + 0x84) << segment, less 0x84, of the inverted code;
 * negative if its bit 7 is set. */
static inline V ulaw_dec32(V c)
{
    V u = _mm512_xor_si512(c, k16(0xFF));
    V base = _mm512_add_epi16(_mm512_slli_epi16(_mm512_and_si512(u, k16(0x0F)), 3), k16(0x84));
    V seg = _mm512_and_si512(_mm512_srli_epi16(u, 4), k16(7));
    V v = _mm512_sub_epi16(_mm512_sllv_epi16(base, seg), k16(0x84));
    V neg = _mm512_srai_epi16(_mm512_slli_epi16(u, 8), 15);
    return _mm512_sub_epi16(_mm512_xor_si512(v, neg), neg);
}

/* A-law: ((mantissa << 4) + 8 + (segment ? 0x100 : 0)) << max(segment - 1, 0). */
static inline V alaw_dec32(V c)
{
    V a = _mm512_xor_si512(c, k16(0xD5));    /* bit 7 set: negative */
    V seg = _mm512_and_si512(_mm512_srli_epi16(a, 4), k16(7));
    V base = _mm512_or_si512(_mm512_slli_epi16(_mm512_and_si512(a, k16(0x0F)), 4), k16(8));
    base = _mm512_or_si512(base, _mm512_slli_epi16(_mm512_min_epu16(seg, k16(1)), 8));
    V v = _mm512_sllv_epi16(base, _mm512_subs_epu16(seg, k16(1)));
    V neg = _mm512_srai_epi16(_mm512_slli_epi16(a, 8), 15);
    return _mm512_sub_epi16(_mm512_xor_si512(v, neg), neg);
}

/* Whole vectors, then the last n % 32 by masked loads and stores (masked-off lanes are
 * neither read nor written). */
#define ENC(name, f)                                                                  \
void name(uint8_t *dst, const int16_t *src, size_t n)                                \
{                                                                                     \
    size_t i = 0;                                                                     \
    for (; i + 32 <= n; i += 32)                                                      \
        _mm256_storeu_si256((__m256i *)(void *)(dst + i),                             \
                            _mm512_cvtepi16_epi8(f(_mm512_loadu_si512(src + i))));    \
    if (i < n) {                                                                      \
        __mmask32 m = (__mmask32)((1ull << (n - i)) - 1);                             \
        _mm256_mask_storeu_epi8(dst + i, m,                                           \
                                _mm512_cvtepi16_epi8(f(_mm512_maskz_loadu_epi16(m, src + i)))); \
    }                                                                                 \
}
#define DEC(name, f)                                                                  \
void name(int16_t *dst, const uint8_t *src, size_t n)                                \
{                                                                                     \
    size_t i = 0;                                                                     \
    for (; i + 32 <= n; i += 32)                                                      \
        _mm512_storeu_si512(dst + i, f(_mm512_cvtepu8_epi16(                          \
                                         _mm256_loadu_si256((const __m256i *)(const void *)(src + i))))); \
    if (i < n) {                                                                      \
        __mmask32 m = (__mmask32)((1ull << (n - i)) - 1);                             \
        _mm512_mask_storeu_epi16(dst + i, m,                                          \
                                 f(_mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(m, src + i)))); \
    }                                                                                 \
}
ENC(NAME(ulaw_encode_), ulaw_enc32)
DEC(NAME(ulaw_decode_), ulaw_dec32)
ENC(NAME(alaw_encode_), alaw_enc32)
DEC(NAME(alaw_decode_), alaw_dec32)

#elif LANES == 4 || LANES == 8

typedef int32_t vi __attribute__((vector_size(LANES * 4)));
typedef float vf __attribute__((vector_size(LANES * 4)));

/* ---- Data movement, per ISA: LANES samples or codes in and out of 32-bit lanes. ----
 * (GCC's __builtin_convertvector() does these with lane-by-lane extracts on SSE2 and
 * AVX2, so they are written with the ISA's widening loads and packing moves.) The
 * values stored are always in range: 0..255 for codes, int16 for samples. */

#if LANES == 4

static inline vi load_s16(const int16_t *p)
{
    __m128i x = _mm_loadl_epi64((const __m128i *)(const void *)p);
    return (vi)_mm_srai_epi32(_mm_unpacklo_epi16(x, x), 16);
}

static inline vi load_u8(const uint8_t *p)
{
    int32_t w;
    memcpy(&w, p, 4);
    __m128i z = _mm_setzero_si128();
    return (vi)_mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(w), z), z);
}

static inline void store_u8(uint8_t *p, vi v)
{
    __m128i w = _mm_packs_epi32((__m128i)v, (__m128i)v);
    int32_t b = _mm_cvtsi128_si32(_mm_packus_epi16(w, w));
    memcpy(p, &b, 4);
}

static inline void store_s16(int16_t *p, vi v)
{
    _mm_storel_epi64((__m128i *)(void *)p, _mm_packs_epi32((__m128i)v, (__m128i)v));
}

#else /* LANES == 8 */

static inline vi load_s16(const int16_t *p)
{
    return (vi)_mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)(const void *)p));
}

static inline vi load_u8(const uint8_t *p)
{
    return (vi)_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p));
}

static inline void store_u8(uint8_t *p, vi v)
{
    __m128i w = _mm_packs_epi32(_mm256_castsi256_si128((__m256i)v),
                                _mm256_extracti128_si256((__m256i)v, 1));
    _mm_storel_epi64((__m128i *)(void *)p, _mm_packus_epi16(w, w));
}

static inline void store_s16(int16_t *p, vi v)
{
    _mm_storeu_si128((__m128i *)(void *)p,
                     _mm_packs_epi32(_mm256_castsi256_si128((__m256i)v),
                                     _mm256_extracti128_si256((__m256i)v, 1)));
}

#endif

#define ULAW_BIAS 0x84
#define F_EXP7 ((127 + 7) << 4)   /* (float exponent of 2^7) << 4: segment 0 */

/* Float bits of the (exact) float conversion of integer lanes. */
static inline vi float_bits(vi x)
{
    return (vi)__builtin_convertvector(x, vf);
}

/* µ-law. The ITU rule: x = 0x84 + |s|; segment = floor(log2(x | 0xFF)) - 7, 8 or more is
 * clipped to code 0x7F; mantissa (x >> (segment + 3)) & 15; the code is
 * segment << 4 | mantissa, inverted, and with the sign bit clear for s < 0. */
static inline vi ulaw_encode_v(vi s)
{
    vi neg = s >> 31;                            /* 0 or -1 */
    vi x = (s ^ neg) + ULAW_BIAS - neg;          /* 0x84 + |s|: 132..32900 */
    vi c = (float_bits(x) >> 19) - F_EXP7;       /* x >= 132 > 2^7: 0..0x80 */
    c -= c >> 7;                                 /* 0x80 (x >= 2^15) clips to 0x7F */
    c ^= 0xFF ^ (neg & 0x80);
    return c;
}

/* t = ((mantissa << 3) + 0x84) << segment of the inverted code, which is the float
 * 2^(7 + segment) * 1.mmmm1 (binary); the sample is t - 0x84, negated if the inverted
 * code has bit 7 set. */
static inline vi ulaw_decode_v(vi c)
{
    vi u = c ^ 0xFF;
    vi bits = (((u & 0x7F) + F_EXP7) << 19) | (1 << 18);
    vi v = __builtin_convertvector((vf)bits, vi) - ULAW_BIAS;
    vi neg = -(u >> 7);
    return (v ^ neg) - neg;
}

/* A-law. The ITU rule: lin = s, or -s - 1 = ~s for s < 0 (0..32767); segment =
 * floor(log2(lin | 0xFF)) - 7; mantissa (lin >> (segment ? segment + 3 : 4)) & 15;
 * code segment << 4 | mantissa, XOR 0x55 and with the sign bit set for s >= 0.
 * Segments 0 and 1 together are linear, lin >> 4; for lin < 256 the float of lin + 256
 * gives 16 + (lin >> 4), from which the compare takes the 16 back. */
static inline vi alaw_encode_v(vi s)
{
    vi neg = s >> 31;
    vi lin = s ^ neg;
    vi small = lin < 256;                        /* -1 in segment 0 */
    vi c = (float_bits(lin + (small & 256)) >> 19) - F_EXP7;
    c += small & -16;
    c ^= 0xD5 ^ (neg & 0x80);
    return c;
}

/* Segments 1-7: ((mantissa << 4) + 0x108) << (segment - 1), the float
 * 2^(7 + segment) * 1.mmmm1 as for µ-law; segment 0: (mantissa << 4) + 8, which is
 * segment 1's value less 256. Positive if the code (XOR 0x55) has bit 7 set. */
static inline vi alaw_decode_v(vi c)
{
    vi a = c ^ 0x55;
    vi idx = a & 0x7F;
    vi seg0 = idx < 16;
    idx |= seg0 & 0x10;
    vi v = __builtin_convertvector((vf)(((idx + F_EXP7) << 19) | (1 << 18)), vi);
    v -= seg0 & 256;
    vi neg = ((a >> 7) & 1) - 1;
    return (v ^ neg) - neg;
}

/* Whole vectors, then the last n % LANES through a zero-padded buffer (the same
 * arithmetic, so the tail is as exact as the rest). */
#define ENCODER(op, vec_fn)                                         \
    void NAME(op)(uint8_t *dst, const int16_t *src, size_t n)       \
    {                                                               \
        size_t i = 0;                                               \
        for (; i + LANES <= n; i += LANES)                          \
            store_u8(dst + i, vec_fn(load_s16(src + i)));           \
        if (i < n) {                                                \
            int16_t in[LANES] = { 0 };                              \
            uint8_t out[LANES];                                     \
            for (size_t k = 0; k < n - i; k++)                      \
                in[k] = src[i + k];                                 \
            store_u8(out, vec_fn(load_s16(in)));                    \
            for (size_t k = 0; k < n - i; k++)                      \
                dst[i + k] = out[k];                                \
        }                                                           \
    }

#define DECODER(op, vec_fn)                                         \
    void NAME(op)(int16_t *dst, const uint8_t *src, size_t n)       \
    {                                                               \
        size_t i = 0;                                               \
        for (; i + LANES <= n; i += LANES)                          \
            store_s16(dst + i, vec_fn(load_u8(src + i)));           \
        if (i < n) {                                                \
            uint8_t in[LANES] = { 0 };                              \
            int16_t out[LANES];                                     \
            for (size_t k = 0; k < n - i; k++)                      \
                in[k] = src[i + k];                                 \
            store_s16(out, vec_fn(load_u8(in)));                    \
            for (size_t k = 0; k < n - i; k++)                      \
                dst[i + k] = out[k];                                \
        }                                                           \
    }

ENCODER(ulaw_encode_, ulaw_encode_v)
DECODER(ulaw_decode_, ulaw_decode_v)
ENCODER(alaw_encode_, alaw_encode_v)
DECODER(alaw_decode_, alaw_decode_v)

#else
#error "MD_G711_LANES must be 4, 8 or 16"
#endif
