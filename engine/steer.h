/* Steering UDP port ranges to receive queues with rte_flow, so that a multi-queue NIC
 * delivers each worker's datagrams to that worker's queue and no software hand-over is
 * needed. A range is split into aligned power-of-two blocks (a port and a mask each, as
 * an IP prefix), one rule per block per IP version. A port that cannot do it (no
 * rte_flow, or not these items) keeps working: the workers hand datagrams over in
 * software (engine/worker.h). */
#ifndef MD_ENGINE_STEER_H
#define MD_ENGINE_STEER_H

#include <stdint.h>

/* Splits [first, first + count) into aligned blocks: ports[i] with mask masks[i]
 * (a datagram's port p is in block i when (p & masks[i]) == ports[i]). Returns the
 * number of blocks (at most max), or -1 if max is too small. */
int md_steer_blocks(uint32_t first, uint32_t count, uint16_t *ports, uint16_t *masks, int max);

/* Installs the rules sending UDP to ports [first, first + count) on port_id to queue.
 * Returns the number of rules, or a negative errno code (-ENOTSUP when the port cannot)
 * with the driver's message in err; on failure every rule made so far is destroyed. */
int md_steer_range(uint16_t port_id, uint32_t first, uint32_t count, uint16_t queue, char *err,
                   unsigned errlen);

/* Removes every rule md_steer_range() installed on the port. */
void md_steer_flush(uint16_t port_id);

#endif
