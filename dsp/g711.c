/* G.711 on whole buffers: the table versions (the reference), and the dispatch to the
 * SIMD kernels of dsp/g711_kernel.c. The tables are const arrays generated at build time
 * by dsp/g711_gen.c (which holds the per-sample rules of ITU-T G.711). */
#include "dsp/g711.h"

#include "dsp/g711_kernel.h"

void md_ulaw_encode_ref(uint8_t *dst, const int16_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int32_t s = src[i], neg = s >> 31;          /* 0 or -1 */
        uint32_t mag = (uint32_t)((s ^ neg) - neg);  /* |s|, 0..32768 */
        dst[i] = (uint8_t)(md_ulaw_mag_table[mag >> 2] ^ (0xFF ^ (neg & 0x80)));
    }
}

void md_ulaw_decode_ref(int16_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = md_ulaw_dec_table[src[i]];
}

void md_alaw_encode_ref(uint8_t *dst, const int16_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int32_t s = src[i], neg = s >> 31;
        uint32_t lin = (uint32_t)(s ^ neg);          /* s, or ~s = -s - 1 for s < 0 */
        dst[i] = (uint8_t)(md_alaw_mag_table[lin >> 4] ^ (0xD5 ^ (neg & 0x80)));
    }
}

void md_alaw_decode_ref(int16_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = md_alaw_dec_table[src[i]];
}

/* ---- The kernels, per path ---- */

static const md_g711_kernels_t g711_kernels[MD_ISA_COUNT] = {
    [MD_ISA_SCALAR] = { md_g711_ulaw_encode_scalar, md_g711_ulaw_decode_scalar,
                        md_g711_alaw_encode_scalar, md_g711_alaw_decode_scalar },
    [MD_ISA_AVX2] = { md_g711_ulaw_encode_avx2, md_g711_ulaw_decode_avx2,
                      md_g711_alaw_encode_avx2, md_g711_alaw_decode_avx2 },
    [MD_ISA_AVX512] = { md_g711_ulaw_encode_avx512, md_g711_ulaw_decode_avx512,
                        md_g711_alaw_encode_avx512, md_g711_alaw_decode_avx512 },
};

const md_g711_kernels_t *md_g711_kernels(md_isa_t isa)
{
    if ((unsigned)isa >= MD_ISA_COUNT || !md_cpu_has(isa))
        return NULL;
    return &g711_kernels[isa];
}

/* The chosen path: a pointer to one path's kernels, which starts out at resolvers. The
 * first call of any function reads the CPU and MEDLEY_ISA (md_cpu_default_isa()), points
 * it at that path's kernels, and goes on; from then on a call is two loads (L1-resident)
 * and an indirect call, no cpuid and no getenv. Threads racing through the first call
 * all store the same value (a relaxed atomic, so that is not a data race either). */
static md_g711_encode_fn ulaw_encode_first, alaw_encode_first;
static md_g711_decode_fn ulaw_decode_first, alaw_decode_first;

static const md_g711_kernels_t g711_first = { ulaw_encode_first, ulaw_decode_first,
                                              alaw_encode_first, alaw_decode_first };

static const md_g711_kernels_t *g711_active = &g711_first;

static const md_g711_kernels_t *resolve(void)
{
    const md_g711_kernels_t *k = &g711_kernels[md_cpu_default_isa()];
    __atomic_store_n(&g711_active, k, __ATOMIC_RELAXED);
    return k;
}

static void ulaw_encode_first(uint8_t *dst, const int16_t *src, size_t n)
{
    resolve()->ulaw_encode(dst, src, n);
}

static void ulaw_decode_first(int16_t *dst, const uint8_t *src, size_t n)
{
    resolve()->ulaw_decode(dst, src, n);
}

static void alaw_encode_first(uint8_t *dst, const int16_t *src, size_t n)
{
    resolve()->alaw_encode(dst, src, n);
}

static void alaw_decode_first(int16_t *dst, const uint8_t *src, size_t n)
{
    resolve()->alaw_decode(dst, src, n);
}

const md_g711_kernels_t *md_g711_active(void)
{
    const md_g711_kernels_t *k = __atomic_load_n(&g711_active, __ATOMIC_RELAXED);
    return k == &g711_first ? resolve() : k;
}

md_isa_t md_g711_isa(void)
{
    return (md_isa_t)(md_g711_active() - g711_kernels);
}

void md_ulaw_encode(uint8_t *dst, const int16_t *src, size_t n)
{
    __atomic_load_n(&g711_active, __ATOMIC_RELAXED)->ulaw_encode(dst, src, n);
}

void md_ulaw_decode(int16_t *dst, const uint8_t *src, size_t n)
{
    __atomic_load_n(&g711_active, __ATOMIC_RELAXED)->ulaw_decode(dst, src, n);
}

void md_alaw_encode(uint8_t *dst, const int16_t *src, size_t n)
{
    __atomic_load_n(&g711_active, __ATOMIC_RELAXED)->alaw_encode(dst, src, n);
}

void md_alaw_decode(int16_t *dst, const uint8_t *src, size_t n)
{
    __atomic_load_n(&g711_active, __ATOMIC_RELAXED)->alaw_decode(dst, src, n);
}
