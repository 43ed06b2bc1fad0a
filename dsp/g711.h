/* G.711 µ-law and A-law (ITU-T G.711).
 *
 * Bit-exact with the ITU-T tables and with SpanDSP's linear_to_ulaw() and friends (the
 * tests compare all 65536 inputs). The per-sample inline functions look a 16-bit sample
 * up in a 64 KiB table and a code in a 256-entry table. The tables are const arrays
 * generated at build time (dsp/g711_gen.c), so there is nothing to initialise and they
 * are read-only.
 *
 * The frame functions (md_ulaw_encode() and friends) compute instead of looking up: SIMD
 * kernels (dsp/g711_kernel.c) for the best path the CPU has, capped by MEDLEY_ISA (see
 * dsp/cpu.h), chosen once at the first call. They give exactly the bytes and samples of
 * the table versions, md_ulaw_encode_ref() and friends, which stay as the reference
 * (tests/dsp/test_g711_paths.c compares every input on every path). */
#ifndef MD_DSP_G711_H
#define MD_DSP_G711_H

#include <stddef.h>
#include <stdint.h>

#define MD_G711_FRAME 160   /* samples in 20 ms at 8 kHz, the usual frame */

extern const uint8_t md_ulaw_enc_table[65536];
/* The frame encoders' tables (8 KiB and 2 KiB, so they stay in L1 beside everything
 * else a worker's tick touches): the code before the sign mask, by |s| >> 2 (µ-law) and
 * by (s >= 0 ? s : ~s) >> 4 (A-law). */
extern const uint8_t md_ulaw_mag_table[8193];
extern const uint8_t md_alaw_mag_table[2048];
extern const uint8_t md_alaw_enc_table[65536];
extern const int16_t md_ulaw_dec_table[256];
extern const int16_t md_alaw_dec_table[256];

static inline uint8_t md_ulaw_encode1(int16_t s)
{
    return md_ulaw_enc_table[(uint16_t)s];
}

static inline uint8_t md_alaw_encode1(int16_t s)
{
    return md_alaw_enc_table[(uint16_t)s];
}

static inline int16_t md_ulaw_decode1(uint8_t c)
{
    return md_ulaw_dec_table[c];
}

static inline int16_t md_alaw_decode1(uint8_t c)
{
    return md_alaw_dec_table[c];
}

/* Whole buffers (any n; 160 for a 20 ms frame). dst and src must not overlap. */
void md_ulaw_encode(uint8_t *dst, const int16_t *src, size_t n);
void md_ulaw_decode(int16_t *dst, const uint8_t *src, size_t n);
void md_alaw_encode(uint8_t *dst, const int16_t *src, size_t n);
void md_alaw_decode(int16_t *dst, const uint8_t *src, size_t n);

/* The same by table look-up, one sample at a time: the reference for the kernels. */
void md_ulaw_encode_ref(uint8_t *dst, const int16_t *src, size_t n);
void md_ulaw_decode_ref(int16_t *dst, const uint8_t *src, size_t n);
void md_alaw_encode_ref(uint8_t *dst, const int16_t *src, size_t n);
void md_alaw_decode_ref(int16_t *dst, const uint8_t *src, size_t n);

#endif
