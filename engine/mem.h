/* Memory for the tables a worker walks at scale (channels, media), and fetching it ahead.
 * md_zalloc_lines: zeroed memory in whole cache lines, so each element's hot lines are
 * exactly the lines the prefetches ask for, and md_media_t (64-byte aligned) may be moved
 * with aligned vector instructions. Freed with free(). */
#ifndef MD_ENGINE_MEM_H
#define MD_ENGINE_MEM_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline void *md_zalloc_lines(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size - 64)
        return NULL;
    size_t bytes = (n * size + 63) / 64 * 64;
    void *p = aligned_alloc(64, bytes ? bytes : 64);
    if (p != NULL)
        memset(p, 0, bytes);
    return p;
}

/* Asks for every cache line of [p, p + n) to be fetched (for writing: the tables these are
 * for are read and written). */
static inline void md_prefetch_range(const void *p, size_t n)
{
    if (n == 0)
        return;
    uintptr_t a = (uintptr_t)p & ~(uintptr_t)63, end = (uintptr_t)p + n;
    for (; a < end; a += 64)
        __builtin_prefetch((const void *)a, 1, 3);
}

#endif
