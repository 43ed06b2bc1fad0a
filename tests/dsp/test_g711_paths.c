/* The G.711 SIMD kernels give exactly the table versions' output on every path the CPU
 * has, and the frame functions use the path the dispatcher should choose.
 *
 * - The references (md_ulaw_encode_ref() & co., the tables) equal SpanDSP's per-sample
 *   functions for every input: the kernels are compared with something independent.
 * - Every path (scalar = SSE2 baseline, avx2, avx512; those the CPU lacks are reported
 *   as skipped) equals the reference for all 65536 int16 samples (encoders) and all 256
 *   codes (decoders), in one call of 65536 and in every length n = 1..200 (every tail of
 *   every vector width) at source and destination addresses off by 0..17 elements from
 *   a 64-byte boundary, without writing outside dst[0..n-1].
 * - The comparison can fail: a reference with the segment boundary off by one (one
 *   input in each segment encoded into the segment below) must be caught by it.
 * - The dispatcher: md_g711_active() (the very pointer md_ulaw_encode() loads) is the
 *   kernels of md_cpu_default_isa(), which is the CPU's best capped by MEDLEY_ISA; meson
 *   runs this test also with MEDLEY_ISA=scalar and =avx2, where the scalar (or at most
 *   the AVX2) kernels must be the ones called. */
#include <spandsp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/cpu.h"
#include "dsp/g711.h"
#include "dsp/g711_kernel.h"
#include "tests/check.h"

#define MAXN 200
#define MAXOFF 17
#define GUARD 64

typedef struct {
    const char *name;
    md_g711_encode_fn *ref;
    size_t op;   /* offset of the kernel in md_g711_kernels_t */
} enc_op_t;

typedef struct {
    const char *name;
    md_g711_decode_fn *ref;
    size_t op;
} dec_op_t;

static const enc_op_t enc_ops[] = {
    { "ulaw_encode", md_ulaw_encode_ref, offsetof(md_g711_kernels_t, ulaw_encode) },
    { "alaw_encode", md_alaw_encode_ref, offsetof(md_g711_kernels_t, alaw_encode) },
};

static const dec_op_t dec_ops[] = {
    { "ulaw_decode", md_ulaw_decode_ref, offsetof(md_g711_kernels_t, ulaw_decode) },
    { "alaw_decode", md_alaw_decode_ref, offsetof(md_g711_kernels_t, alaw_decode) },
};

static md_g711_encode_fn *enc_of(const md_g711_kernels_t *k, size_t op)
{
    md_g711_encode_fn *f;
    memcpy(&f, (const char *)k + op, sizeof(f));
    return f;
}

static md_g711_decode_fn *dec_of(const md_g711_kernels_t *k, size_t op)
{
    md_g711_decode_fn *f;
    memcpy(&f, (const char *)k + op, sizeof(f));
    return f;
}

static int16_t all_samples[65536];   /* every int16, in a scrambled order */
static uint8_t all_codes[65536];     /* every code, 256 times, scrambled */

/* Samples whose encodings differ from the reference, all 65536 in one call. */
static long encode_all_diff(md_g711_encode_fn *f, md_g711_encode_fn *ref)
{
    static uint8_t got[65536], want[65536];
    long bad = 0;
    f(got, all_samples, 65536);
    ref(want, all_samples, 65536);
    for (int i = 0; i < 65536; i++)
        bad += got[i] != want[i];
    return bad;
}

/* Lengths 1..MAXN at every source and destination misalignment: samples (or codes) that
 * differ, plus bytes written outside dst[0..n-1]. */
static long encode_tails_diff(md_g711_encode_fn *f, md_g711_encode_fn *ref)
{
    static _Alignas(64) uint8_t got[GUARD + MAXOFF + MAXN + GUARD];
    static _Alignas(64) int16_t in[MAXOFF + MAXN];
    uint8_t want[MAXN];
    long bad = 0;
    size_t pos = 0;

    for (size_t n = 1; n <= MAXN; n++) {
        for (size_t so = 0; so <= MAXOFF; so++) {
            size_t doff = (so * 7 + n) % (MAXOFF + 1);
            for (size_t i = 0; i < n; i++)
                in[so + i] = all_samples[(pos + i) & 0xFFFF];
            pos += 97;
            memset(got, 0xA5, sizeof(got));
            f(got + GUARD + doff, in + so, n);
            ref(want, in + so, n);
            for (size_t i = 0; i < sizeof(got); i++) {
                size_t j = i - GUARD - doff;
                if (i >= GUARD + doff && j < n)
                    bad += got[i] != want[j];
                else
                    bad += got[i] != 0xA5;
            }
        }
    }
    return bad;
}

static long decode_all_diff(md_g711_decode_fn *f, md_g711_decode_fn *ref)
{
    static int16_t got[65536], want[65536];
    long bad = 0;
    f(got, all_codes, 65536);
    ref(want, all_codes, 65536);
    for (int i = 0; i < 65536; i++)
        bad += got[i] != want[i];
    return bad;
}

static long decode_tails_diff(md_g711_decode_fn *f, md_g711_decode_fn *ref)
{
    static _Alignas(64) int16_t got[GUARD + MAXOFF + MAXN + GUARD];
    static _Alignas(64) uint8_t in[MAXOFF + MAXN];
    int16_t want[MAXN];
    long bad = 0;
    size_t pos = 0;

    for (size_t n = 1; n <= MAXN; n++) {
        for (size_t so = 0; so <= MAXOFF; so++) {
            size_t doff = (so * 7 + n) % (MAXOFF + 1);
            for (size_t i = 0; i < n; i++)
                in[so + i] = all_codes[(pos + i) & 0xFFFF];
            pos += 97;
            for (size_t i = 0; i < sizeof(got) / sizeof(got[0]); i++)
                got[i] = 0x5A5A;
            f(got + GUARD + doff, in + so, n);
            ref(want, in + so, n);
            for (size_t i = 0; i < sizeof(got) / sizeof(got[0]); i++) {
                size_t j = i - GUARD - doff;
                if (i >= GUARD + doff && j < n)
                    bad += got[i] != want[j];
                else
                    bad += got[i] != 0x5A5A;
            }
        }
    }
    return bad;
}

/* µ-law with an off-by-one segment boundary: the first input of each segment 1..7
 * (x = 0x84 + |s| a power of two, i.e. 14 samples, positive and negative) encoded as
 * the last step of the segment below. The comparison must catch exactly those. */
static void ulaw_encode_mutant(uint8_t *dst, const int16_t *src, size_t n)
{
    md_ulaw_encode_ref(dst, src, n);
    for (size_t i = 0; i < n; i++) {
        int32_t s = src[i], x = 0x84 + (s < 0 ? -s : s);
        if (x >= 256 && x < 32768 && (x & (x - 1)) == 0)
            dst[i] = md_ulaw_encode1((int16_t)(s < 0 ? s + 1 : s - 1));
    }
}

static void check_references(void)
{
    int bad_ue = 0, bad_ae = 0, bad_ud = 0, bad_ad = 0;
    uint8_t u[1], a[1];
    int16_t du[1], da[1];
    for (int i = -32768; i <= 32767; i++) {
        int16_t s = (int16_t)i;
        md_ulaw_encode_ref(u, &s, 1);
        md_alaw_encode_ref(a, &s, 1);
        bad_ue += u[0] != linear_to_ulaw(i) || u[0] != md_ulaw_enc_table[(uint16_t)s];
        bad_ae += a[0] != linear_to_alaw(i) || a[0] != md_alaw_enc_table[(uint16_t)s];
    }
    for (int c = 0; c < 256; c++) {
        uint8_t code = (uint8_t)c;
        md_ulaw_decode_ref(du, &code, 1);
        md_alaw_decode_ref(da, &code, 1);
        bad_ud += du[0] != ulaw_to_linear(code);
        bad_ad += da[0] != alaw_to_linear(code);
    }
    CHECKF(bad_ue == 0 && bad_ae == 0, "reference encoders differ from SpanDSP: %d, %d",
           bad_ue, bad_ae);
    CHECKF(bad_ud == 0 && bad_ad == 0, "reference decoders differ from SpanDSP: %d, %d",
           bad_ud, bad_ad);
}

static void check_path(md_isa_t isa)
{
    const md_g711_kernels_t *k = md_g711_kernels(isa);
    if (!md_cpu_has(isa)) {
        CHECKF(k == NULL, "kernels offered for %s, which this CPU lacks", md_isa_name(isa));
        printf("  %-7s skipped: this CPU lacks it\n", md_isa_name(isa));
        return;
    }
    CHECKF(k != NULL, "no kernels for %s", md_isa_name(isa));
    if (k == NULL)
        return;
    for (size_t o = 0; o < sizeof(enc_ops) / sizeof(enc_ops[0]); o++) {
        md_g711_encode_fn *f = enc_of(k, enc_ops[o].op);
        long all = encode_all_diff(f, enc_ops[o].ref);
        long tails = encode_tails_diff(f, enc_ops[o].ref);
        CHECKF(all == 0 && tails == 0, "%s %s: %ld of 65536 samples differ, %ld in tails",
               md_isa_name(isa), enc_ops[o].name, all, tails);
    }
    for (size_t o = 0; o < sizeof(dec_ops) / sizeof(dec_ops[0]); o++) {
        md_g711_decode_fn *f = dec_of(k, dec_ops[o].op);
        long all = decode_all_diff(f, dec_ops[o].ref);
        long tails = decode_tails_diff(f, dec_ops[o].ref);
        CHECKF(all == 0 && tails == 0, "%s %s: %ld of 65536 codes differ, %ld in tails",
               md_isa_name(isa), dec_ops[o].name, all, tails);
    }
    printf("  %-7s checked: 4 kernels, all inputs, n = 1..%d at %d alignments\n",
           md_isa_name(isa), MAXN, MAXOFF + 1);
}

static void check_dispatch(void)
{
    const char *env = getenv("MEDLEY_ISA");
    md_isa_t want = md_cpu_best_isa(), cap;
    if (env != NULL && md_isa_parse(env, &cap) == 0 && cap < want)
        want = cap;

    const md_g711_kernels_t *active = md_g711_active();
    CHECKF(md_g711_isa() == want, "dispatcher chose %s, expected %s (MEDLEY_ISA=%s)",
           md_isa_name(md_g711_isa()), md_isa_name(want), env ? env : "(unset)");
    CHECKF(active == md_g711_kernels(want), "active kernels are not those of %s",
           md_isa_name(want));
    if (env != NULL && strcmp(env, "scalar") == 0)
        CHECKF(active->ulaw_encode == md_g711_ulaw_encode_scalar &&
                   active->ulaw_decode == md_g711_ulaw_decode_scalar &&
                   active->alaw_encode == md_g711_alaw_encode_scalar &&
                   active->alaw_decode == md_g711_alaw_decode_scalar,
               "MEDLEY_ISA=scalar but the frame functions do not call the scalar kernels");
    if (env != NULL && strcmp(env, "avx2") == 0)
        CHECKF(active->ulaw_encode != md_g711_ulaw_encode_avx512,
               "MEDLEY_ISA=avx2 but the AVX-512 kernels are called");

    /* The public functions give the reference's output, whatever path they took. */
    static uint8_t got[65536], want_c[65536];
    static int16_t got_s[65536], want_s[65536];
    long bad = 0;
    md_ulaw_encode(got, all_samples, 65536);
    md_ulaw_encode_ref(want_c, all_samples, 65536);
    bad += memcmp(got, want_c, sizeof(got)) != 0;
    md_alaw_encode(got, all_samples, 65536);
    md_alaw_encode_ref(want_c, all_samples, 65536);
    bad += memcmp(got, want_c, sizeof(got)) != 0;
    md_ulaw_decode(got_s, all_codes, 65536);
    md_ulaw_decode_ref(want_s, all_codes, 65536);
    bad += memcmp(got_s, want_s, sizeof(got_s)) != 0;
    md_alaw_decode(got_s, all_codes, 65536);
    md_alaw_decode_ref(want_s, all_codes, 65536);
    bad += memcmp(got_s, want_s, sizeof(got_s)) != 0;
    CHECKF(bad == 0, "%ld of the public frame functions differ from the reference", bad);
    printf("  dispatch: MEDLEY_ISA=%s, CPU best %s: frame functions call the %s kernels\n",
           env ? env : "(unset)", md_isa_name(md_cpu_best_isa()), md_isa_name(md_g711_isa()));
}

int main(void)
{
    /* Every sample once and every code 256 times, in an order that puts neighbours
     * (segment boundaries, the two zeros) in different lanes and vectors. */
    for (int i = 0; i < 65536; i++) {
        all_samples[i] = (int16_t)(uint16_t)((uint32_t)i * 40503u);   /* odd: a bijection */
        all_codes[i] = (uint8_t)(i * 167 + (i >> 8) * 37);            /* each 256: all codes */
    }

    check_references();

    long caught = encode_all_diff(ulaw_encode_mutant, md_ulaw_encode_ref);
    CHECKF(caught == 14, "the off-by-one mutant differs in %ld samples, not 14", caught);

    for (int isa = 0; isa < MD_ISA_COUNT; isa++)
        check_path((md_isa_t)isa);
    check_dispatch();
    return check_summary("g711-paths");
}
