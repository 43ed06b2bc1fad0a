/* The event ring: head and tail only grow; acquire/release order the slot accesses. */
#include "engine/events.h"

#include <string.h>

void md_event_ring_init(md_event_ring_t *r)
{
    memset(r, 0, sizeof(*r));
}

int md_event_push(md_event_ring_t *r, const md_event_t *ev)
{
    uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint32_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    if (tail - head == MD_EVENT_RING) {
        r->lost++;
        return -1;
    }
    r->slot[tail % MD_EVENT_RING] = *ev;
    atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
    return 0;
}

int md_event_pop(md_event_ring_t *r, md_event_t *ev)
{
    uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (head == tail)
        return 0;
    *ev = r->slot[head % MD_EVENT_RING];
    atomic_store_explicit(&r->head, head + 1, memory_order_release);
    return 1;
}
