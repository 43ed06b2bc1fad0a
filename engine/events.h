/* Events from a worker to the control thread, through a single-producer single-consumer
 * lock-free ring: the worker never blocks or allocates; if the control side falls behind
 * the ring fills and further events are counted as lost, never waited for. */
#ifndef MD_ENGINE_EVENTS_H
#define MD_ENGINE_EVENTS_H

#include <stdatomic.h>
#include <stdint.h>

typedef enum {
    MD_EV_DIGIT = 1,        /* a DTMF digit */
    MD_EV_NO_MEDIA,         /* no RTP for the channel's media timeout */
    MD_EV_PROMPT_DONE,      /* a play list finished (digit: the barge-in digit, or 0) */
    /* Conferences (engine/conf.h): conf is the conference id. */
    MD_EV_TALKING_START,    /* a member started talking (frame energy, VAD) */
    MD_EV_TALKING_STOP,     /* ... and stopped (after the conference's hangover) */
    MD_EV_CONF_PROMPT_DONE, /* a conference prompt finished (slot: the conference's index) */
} md_event_type_t;

typedef enum {
    MD_DIGIT_INBAND = 1,
    MD_DIGIT_RFC4733 = 2,
} md_digit_source_t;

typedef struct {
    md_event_type_t type;
    uint32_t channel;       /* channel id */
    uint32_t slot;          /* the channel's slot in its worker's table */
    char digit;
    uint8_t source;         /* md_digit_source_t */
    uint64_t start_ms;      /* on the worker's clock */
    uint32_t duration_ms;
    uint32_t tag;           /* PROMPT_DONE: the tag of the play command that finished */
    uint32_t conf;          /* TALKING_*, CONF_PROMPT_DONE: the conference id */
} md_event_t;

#define MD_EVENT_RING 1024  /* power of two */

typedef struct {
    _Atomic uint32_t head;  /* written by the consumer */
    _Atomic uint32_t tail;  /* written by the producer */
    uint64_t lost;          /* producer side */
    md_event_t slot[MD_EVENT_RING];
} md_event_ring_t;

void md_event_ring_init(md_event_ring_t *r);

/* Producer: returns 0, or -1 if full (the event is counted as lost). */
int md_event_push(md_event_ring_t *r, const md_event_t *ev);

/* Consumer: returns 1 and fills *ev, or 0 if empty. */
int md_event_pop(md_event_ring_t *r, md_event_t *ev);

#endif
