/* Port ranges as rte_flow blocks: for many ranges, every port in the range is in exactly
 * one block and no port outside is in any; blocks are aligned powers of two. (Installing
 * the rules needs a NIC with rte_flow; medleyd falls back to software dispatch without.) */
#include <stdlib.h>

#include "engine/steer.h"
#include "tests/check.h"

static void one(uint32_t first, uint32_t count)
{
    uint16_t ports[32], masks[32];
    int n = md_steer_blocks(first, count, ports, masks, 32);
    CHECKF(n > 0 && n <= 32, "range %u+%u: %d blocks", first, count, n);
    if (n <= 0)
        return;
    int bad = 0;
    for (uint32_t p = 0; p < 65536; p++) {
        int hits = 0;
        for (int b = 0; b < n; b++)
            hits += (p & masks[b]) == ports[b];
        int inside = p >= first && p < first + count;
        bad += hits != inside;
    }
    for (int b = 0; b < n; b++)
        bad += (ports[b] & ~masks[b]) != 0;   /* aligned */
    CHECKF(bad == 0, "range %u+%u: %d ports wrong", first, count, bad);
}

int main(void)
{
    one(20000, 2048);
    one(20000, 4096);
    one(20048, 1000);
    one(30000, 2);
    one(1024, 64512);
    srand(7);
    for (int i = 0; i < 40; i++) {
        uint32_t first = 1024 + (uint32_t)(rand() % 40000) * 2;
        uint32_t count = 2 + (uint32_t)(rand() % 10000) * 2;
        if (first + count <= 65536)
            one(first, count);
    }
    uint16_t p[2], m[2];
    CHECK(md_steer_blocks(20001, 1000, p, m, 2) == -1);   /* too few slots */
    return check_summary("steer");
}
