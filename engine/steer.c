/* rte_flow rules for port ranges. */
#include "engine/steer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_flow.h>

int md_steer_blocks(uint32_t first, uint32_t count, uint16_t *ports, uint16_t *masks, int max)
{
    int n = 0;
    uint32_t p = first, end = first + count;
    while (p < end) {
        /* The largest aligned block starting at p that fits before end. */
        uint32_t size = 1;
        while ((p & (size * 2 - 1)) == 0 && p + size * 2 <= end && size * 2 <= 0x10000)
            size *= 2;
        if (n == max)
            return -1;
        ports[n] = (uint16_t)p;
        masks[n] = (uint16_t)(0xFFFF & ~(size - 1));
        n++;
        p += size;
    }
    return n;
}

int md_steer_range(uint16_t port_id, uint32_t first, uint32_t count, uint16_t queue, char *err,
                   unsigned errlen)
{
    uint16_t ports[32], masks[32];
    int nb = md_steer_blocks(first, count, ports, masks, 32);
    if (nb < 0) {
        snprintf(err, errlen, "range %u+%u needs too many rules", first, count);
        return -E2BIG;
    }
    int made = 0;
    for (int v = 4; v <= 6; v += 2)
        for (int b = 0; b < nb; b++) {
            struct rte_flow_attr attr = { .ingress = 1 };
            struct rte_flow_item_udp spec = { .hdr.dst_port = rte_cpu_to_be_16(ports[b]) };
            struct rte_flow_item_udp mask = { .hdr.dst_port = rte_cpu_to_be_16(masks[b]) };
            struct rte_flow_item pattern[] = {
                { .type = RTE_FLOW_ITEM_TYPE_ETH },
                { .type = v == 4 ? RTE_FLOW_ITEM_TYPE_IPV4 : RTE_FLOW_ITEM_TYPE_IPV6 },
                { .type = RTE_FLOW_ITEM_TYPE_UDP, .spec = &spec, .mask = &mask },
                { .type = RTE_FLOW_ITEM_TYPE_END },
            };
            struct rte_flow_action_queue q = { .index = queue };
            struct rte_flow_action actions[] = {
                { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q },
                { .type = RTE_FLOW_ACTION_TYPE_END },
            };
            struct rte_flow_error fe;
            memset(&fe, 0, sizeof(fe));
            if (rte_flow_validate(port_id, &attr, pattern, actions, &fe) != 0 ||
                rte_flow_create(port_id, &attr, pattern, actions, &fe) == NULL) {
                snprintf(err, errlen, "rte_flow on port %u: %s", port_id,
                         fe.message != NULL ? fe.message : "not supported");
                md_steer_flush(port_id);
                return -ENOTSUP;
            }
            made++;
        }
    return made;
}

void md_steer_flush(uint16_t port_id)
{
    struct rte_flow_error fe;
    rte_flow_flush(port_id, &fe);
}
