/* G.711: bit-exact with SpanDSP for every input, ITU table values, frame = per-sample. */
#include <spandsp.h>
#include <stdint.h>
#include <string.h>

#include "dsp/g711.h"
#include "tests/check.h"

/* The tables are const (generated at build time), so nothing can scribble on them. */
_Static_assert(__builtin_types_compatible_p(__typeof__(&md_ulaw_enc_table[0]), const uint8_t *) &&
               __builtin_types_compatible_p(__typeof__(&md_alaw_dec_table[0]), const int16_t *),
               "G.711 tables must be const");

int main(void)
{
    int bad_ue = 0, bad_ae = 0;
    for (int i = -32768; i <= 32767; i++) {
        bad_ue += md_ulaw_encode1((int16_t)i) != linear_to_ulaw(i);
        bad_ae += md_alaw_encode1((int16_t)i) != linear_to_alaw(i);
    }
    CHECKF(bad_ue == 0, "%d µ-law encodings differ from SpanDSP", bad_ue);
    CHECKF(bad_ae == 0, "%d A-law encodings differ from SpanDSP", bad_ae);

    int bad_ud = 0, bad_ad = 0, bad_rt = 0;
    for (int c = 0; c < 256; c++) {
        bad_ud += md_ulaw_decode1((uint8_t)c) != ulaw_to_linear((uint8_t)c);
        bad_ad += md_alaw_decode1((uint8_t)c) != alaw_to_linear((uint8_t)c);
        /* Decoding then encoding returns the code (µ-law's two zeros 0x7F/0xFF aside). */
        if (c != 0x7F)
            bad_rt += md_ulaw_encode1(md_ulaw_decode1((uint8_t)c)) != c;
        bad_rt += md_alaw_encode1(md_alaw_decode1((uint8_t)c)) != c;
    }
    CHECKF(bad_ud == 0 && bad_ad == 0, "decoding differs from SpanDSP (%d, %d)", bad_ud, bad_ad);
    CHECKF(bad_rt == 0, "%d codes do not survive decode+encode", bad_rt);

    /* ITU-T G.711 table values. */
    CHECK(md_ulaw_decode1(0xFF) == 0);
    CHECK(md_ulaw_decode1(0x80) == 32124);
    CHECK(md_ulaw_decode1(0x00) == -32124);
    CHECK(md_ulaw_encode1(0) == 0xFF);
    CHECK(md_ulaw_encode1(32767) == 0x80);
    CHECK(md_ulaw_encode1(-32768) == 0x00);
    CHECK(md_alaw_decode1(0xD5) == 8);
    CHECK(md_alaw_decode1(0x55) == -8);
    CHECK(md_alaw_decode1(0xAA) == 32256);
    CHECK(md_alaw_decode1(0x2A) == -32256);
    CHECK(md_alaw_encode1(0) == 0xD5);
    CHECK(md_alaw_encode1(32767) == 0xAA);

    /* Whole frames equal the per-sample functions. */
    int16_t pcm[MD_G711_FRAME], back[MD_G711_FRAME];
    uint8_t code[MD_G711_FRAME];
    for (int i = 0; i < MD_G711_FRAME; i++)
        pcm[i] = (int16_t)(i * 409 - 32768);
    md_ulaw_encode(code, pcm, MD_G711_FRAME);
    md_ulaw_decode(back, code, MD_G711_FRAME);
    int bad = 0;
    for (int i = 0; i < MD_G711_FRAME; i++)
        bad += code[i] != md_ulaw_encode1(pcm[i]) || back[i] != md_ulaw_decode1(code[i]);
    md_alaw_encode(code, pcm, MD_G711_FRAME);
    md_alaw_decode(back, code, MD_G711_FRAME);
    for (int i = 0; i < MD_G711_FRAME; i++)
        bad += code[i] != md_alaw_encode1(pcm[i]) || back[i] != md_alaw_decode1(code[i]);
    CHECK(bad == 0);

    /* Any length, including 0 and odd ones, writes exactly n outputs. */
    for (size_t n = 0; n < 40; n += 3) {
        uint8_t c[48];
        int16_t d[48];
        memset(c, 0xA5, sizeof(c));
        memset(d, 0x5A, sizeof(d));
        md_alaw_encode(c, pcm, n);
        md_ulaw_decode(d, c, n);
        int ok = c[n] == 0xA5 && (uint16_t)d[n] == 0x5A5A;
        for (size_t i = 0; i < n; i++)
            ok &= c[i] == md_alaw_encode1(pcm[i]) && d[i] == md_ulaw_decode1(c[i]);
        CHECKF(ok, "length %zu", n);
    }

    /* Quantisation error stays within half a step of the segment (G.711's promise). */
    int worst = 0;
    for (int i = -32000; i <= 32000; i += 7) {
        int e = md_ulaw_decode1(md_ulaw_encode1((int16_t)i)) - i;
        int a = i < 0 ? -i : i;
        int step = a < 256 ? 16 : (a < 512 ? 32 : (a < 1024 ? 64 : (a < 2048 ? 128 : (a < 4096 ? 256 : (a < 8192 ? 512 : (a < 16384 ? 1024 : 2048))))));
        if ((e < 0 ? -e : e) > step / 2 + 4)
            worst++;
    }
    CHECKF(worst == 0, "%d µ-law errors beyond half a step", worst);
    /* The frame encoders (small magnitude tables) agree with the full per-sample tables
     * for every one of the 65536 samples. */
    {
        static int16_t all[65536];
        static uint8_t u[65536], a[65536];
        for (int i = 0; i < 65536; i++)
            all[i] = (int16_t)(i - 32768);
        md_ulaw_encode(u, all, 65536);
        md_alaw_encode(a, all, 65536);
        int bad_u = 0, bad_a = 0;
        for (int i = 0; i < 65536; i++) {
            bad_u += u[i] != md_ulaw_enc_table[(uint16_t)all[i]];
            bad_a += a[i] != md_alaw_enc_table[(uint16_t)all[i]];
        }
        CHECKF(bad_u == 0 && bad_a == 0, "frame encoders differ: mu-law %d, A-law %d", bad_u, bad_a);
    }
    return check_summary("g711");
}
