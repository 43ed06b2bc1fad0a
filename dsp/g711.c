/* G.711 tables. The per-sample rules below are those of ITU-T G.711 as written in its
 * reference code (and in SpanDSP); they only run to fill the tables. */
#include "dsp/g711.h"

uint8_t md_ulaw_enc_table[65536];
uint8_t md_alaw_enc_table[65536];
int16_t md_ulaw_dec_table[256];
int16_t md_alaw_dec_table[256];

#define ULAW_BIAS 0x84       /* added before segmenting, so segment 0 starts at 0 */
#define ALAW_AMI_MASK 0x55   /* even bits inverted on the line */

/* Index of the highest set bit of v > 0. */
static int top_bit(unsigned v)
{
    int b = 0;
    while (v >>= 1)
        b++;
    return b;
}

static uint8_t ulaw_from_linear(int linear)
{
    int mask, seg;
    if (linear >= 0) {
        linear = ULAW_BIAS + linear;
        mask = 0xFF;
    } else {
        linear = ULAW_BIAS - linear;
        mask = 0x7F;
    }
    seg = top_bit((unsigned)(linear | 0xFF)) - 7;
    if (seg >= 8)
        return (uint8_t)(0x7F ^ mask);
    return (uint8_t)(((seg << 4) | ((linear >> (seg + 3)) & 0x0F)) ^ mask);
}

static int16_t ulaw_to_linear(uint8_t ulaw)
{
    int t;
    ulaw = (uint8_t)~ulaw;
    t = (((ulaw & 0x0F) << 3) + ULAW_BIAS) << ((ulaw & 0x70) >> 4);
    return (int16_t)((ulaw & 0x80) ? (ULAW_BIAS - t) : (t - ULAW_BIAS));
}

static uint8_t alaw_from_linear(int linear)
{
    int mask, seg;
    if (linear >= 0) {
        mask = ALAW_AMI_MASK | 0x80;
    } else {
        mask = ALAW_AMI_MASK;
        linear = -linear - 1;
    }
    seg = top_bit((unsigned)(linear | 0xFF)) - 7;
    if (seg >= 8)
        return (uint8_t)(0x7F ^ mask);
    return (uint8_t)(((seg << 4) | ((linear >> (seg ? seg + 3 : 4)) & 0x0F)) ^ mask);
}

static int16_t alaw_to_linear(uint8_t alaw)
{
    int i, seg;
    alaw ^= ALAW_AMI_MASK;
    i = (alaw & 0x0F) << 4;
    seg = (alaw & 0x70) >> 4;
    if (seg)
        i = (i + 0x108) << (seg - 1);
    else
        i += 8;
    return (int16_t)((alaw & 0x80) ? i : -i);
}

__attribute__((constructor)) static void g711_tables_init(void)
{
    for (int i = 0; i < 65536; i++) {
        int16_t s = (int16_t)(uint16_t)i;
        md_ulaw_enc_table[i] = ulaw_from_linear(s);
        md_alaw_enc_table[i] = alaw_from_linear(s);
    }
    for (int c = 0; c < 256; c++) {
        md_ulaw_dec_table[c] = ulaw_to_linear((uint8_t)c);
        md_alaw_dec_table[c] = alaw_to_linear((uint8_t)c);
    }
}

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
