#include "dsp/cpu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const isa_names[MD_ISA_COUNT] = { "scalar", "avx2", "avx512" };

int md_cpu_has(md_isa_t isa)
{
    switch (isa) {
    case MD_ISA_SCALAR:
        return 1;
#if defined(__x86_64__) || defined(__i386__)
    case MD_ISA_AVX2:
        return __builtin_cpu_supports("avx2");
    case MD_ISA_AVX512:
        /* The kernels use F (arithmetic), BW and VL (16-bit lanes, narrow moves). */
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
#endif
    default:
        return 0;
    }
}

md_isa_t md_cpu_best_isa(void)
{
    if (md_cpu_has(MD_ISA_AVX512))
        return MD_ISA_AVX512;
    if (md_cpu_has(MD_ISA_AVX2))
        return MD_ISA_AVX2;
    return MD_ISA_SCALAR;
}

md_isa_t md_cpu_default_isa(void)
{
    md_isa_t best = md_cpu_best_isa();
    const char *env = getenv("MEDLEY_ISA");
    md_isa_t cap;

    if (env == NULL || md_isa_parse(env, &cap) != 0)
        return best;
    return cap < best ? cap : best;
}

const char *md_isa_name(md_isa_t isa)
{
    if ((unsigned)isa >= MD_ISA_COUNT)
        return "unknown";
    return isa_names[isa];
}

int md_isa_parse(const char *name, md_isa_t *isa)
{
    for (int i = 0; i < MD_ISA_COUNT; i++) {
        if (strcmp(name, isa_names[i]) == 0) {
            *isa = (md_isa_t)i;
            return 0;
        }
    }
    return -EINVAL;
}
