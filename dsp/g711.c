/* G.711 on whole buffers. The tables are const arrays generated at build time by
 * dsp/g711_gen.c (which holds the per-sample rules of ITU-T G.711). */
#include "dsp/g711.h"

void md_ulaw_encode(uint8_t *dst, const int16_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int32_t s = src[i], neg = s >> 31;          /* 0 or -1 */
        uint32_t mag = (uint32_t)((s ^ neg) - neg);  /* |s|, 0..32768 */
        dst[i] = (uint8_t)(md_ulaw_mag_table[mag >> 2] ^ (0xFF ^ (neg & 0x80)));
    }
}

void md_ulaw_decode(int16_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = md_ulaw_dec_table[src[i]];
}

void md_alaw_encode(uint8_t *dst, const int16_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int32_t s = src[i], neg = s >> 31;
        uint32_t lin = (uint32_t)(s ^ neg);          /* s, or ~s = -s - 1 for s < 0 */
        dst[i] = (uint8_t)(md_alaw_mag_table[lin >> 4] ^ (0xD5 ^ (neg & 0x80)));
    }
}

void md_alaw_decode(int16_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = md_alaw_dec_table[src[i]];
}
