/* Zeroed memory in whole cache lines, for the tables a worker walks at scale (channels,
 * media): each element's hot lines are then exactly the lines md_chan_prefetch and the
 * media prefetches ask for, and md_media_t (64-byte aligned) may be moved with aligned
 * vector instructions. Freed with free(). */
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

#endif
