/* G.711 on whole buffers. The tables are const arrays generated at build time by
 * dsp/g711_gen.c (which holds the per-sample rules of ITU-T G.711). */
#include "dsp/g711.h"

void md_ulaw_encode(uint8_t *dst, const int16_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = md_ulaw_enc_table[(uint16_t)src[i]];
}

void md_ulaw_decode(int16_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = md_ulaw_dec_table[src[i]];
}

void md_alaw_encode(uint8_t *dst, const int16_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = md_alaw_enc_table[(uint16_t)src[i]];
}

void md_alaw_decode(int16_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = md_alaw_dec_table[src[i]];
}
