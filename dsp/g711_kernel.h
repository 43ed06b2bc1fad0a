/* Internal interface between the G.711 frame functions (g711.c) and their SIMD kernels
 * (g711_kernel.c, compiled once per ISA). Not part of the public API: tests and
 * benchmarks use it to run every path.
 *
 * Every kernel gives exactly the bytes / samples of the table functions
 * (md_ulaw_encode_ref() and friends) for every input; tests/dsp/test_g711_paths.c checks
 * all 65536 samples and all 256 codes on every path the CPU has. */
#ifndef MD_DSP_G711_KERNEL_H
#define MD_DSP_G711_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "dsp/cpu.h"

typedef void md_g711_encode_fn(uint8_t *dst, const int16_t *src, size_t n);
typedef void md_g711_decode_fn(int16_t *dst, const uint8_t *src, size_t n);

typedef struct {
    md_g711_encode_fn *ulaw_encode;
    md_g711_decode_fn *ulaw_decode;
    md_g711_encode_fn *alaw_encode;
    md_g711_decode_fn *alaw_decode;
} md_g711_kernels_t;

/* The kernels of one path, or NULL if this CPU cannot run it. */
const md_g711_kernels_t *md_g711_kernels(md_isa_t isa);

/* The kernels md_ulaw_encode() and friends call (the very pointer they load), and their
 * path: md_cpu_default_isa() (the best the CPU has, capped by MEDLEY_ISA), read once, on
 * the first call of any of them or of these. */
const md_g711_kernels_t *md_g711_active(void);
md_isa_t md_g711_isa(void);

#define MD_G711_DECLARE(isa)                               \
    md_g711_encode_fn md_g711_ulaw_encode_##isa;           \
    md_g711_decode_fn md_g711_ulaw_decode_##isa;           \
    md_g711_encode_fn md_g711_alaw_encode_##isa;           \
    md_g711_decode_fn md_g711_alaw_decode_##isa;

MD_G711_DECLARE(scalar)   /* x86-64 baseline (SSE2) */
MD_G711_DECLARE(avx2)
MD_G711_DECLARE(avx512)

#endif
