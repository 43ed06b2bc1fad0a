/* Run-time choice of the SIMD path.
 *
 * A plain x86-64 build runs everywhere; the AVX2 and AVX-512 kernels are separate
 * objects compiled for those ISAs and only called after the CPU says it has them.
 * MEDLEY_ISA=scalar|avx2|avx512 in the environment caps the choice (for tests and
 * benchmarks); it can never select a path the CPU lacks. */
#ifndef MD_DSP_CPU_H
#define MD_DSP_CPU_H

typedef enum {
    MD_ISA_SCALAR = 0,
    MD_ISA_AVX2 = 1,
    MD_ISA_AVX512 = 2,
    MD_ISA_COUNT
} md_isa_t;

/* Best ISA this CPU supports, regardless of MEDLEY_ISA. */
md_isa_t md_cpu_best_isa(void);

/* True if this CPU can run the given path. */
int md_cpu_has(md_isa_t isa);

/* The path to use by default: the best supported, capped by MEDLEY_ISA if set. */
md_isa_t md_cpu_default_isa(void);

/* "scalar", "avx2", "avx512". */
const char *md_isa_name(md_isa_t isa);

/* Parses a name as above; returns 0 and sets *isa, or -EINVAL. */
int md_isa_parse(const char *name, md_isa_t *isa);

#endif
