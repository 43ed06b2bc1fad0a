/* The Engine service of control/api/medley.proto: every method checks its request,
 * turns it into control commands (control/ctl.h) and answers with real gRPC status
 * codes. Events from the workers are fanned out to StreamEvents subscribers, each with
 * its own bounded queue: a subscriber that does not read loses events (counted, and told
 * with an EVENTS_LOST event when it catches up), and the engine never waits for it. */
#ifndef MD_CONTROL_API_H
#define MD_CONTROL_API_H

#include <stdint.h>

#include "control/ctl.h"
#include "control/grpc.h"
#include "control/ivrs.h"
#include "control/acd_svc.h"

typedef struct {
    uint64_t rx_packets, tx_packets, dropped_packets;
} md_api_engine_counts_t;

typedef struct md_api_sub md_api_sub_t;

typedef struct {
    md_ctl_t *ctl;
    char local_ip4[16], local_ip6[46];
    /* Packet counters of the data plane, read on demand (NULL: zeros). */
    void (*counts)(void *arg, md_api_engine_counts_t *out);
    void *counts_arg;
    /* Optional: every event after it went to the subscribers (medleyd prints digits). */
    void (*on_event)(void *arg, uint32_t channel, const md_event_t *ev);
    void *on_event_arg;
    md_ivrs_t *ivrs;             /* NULL: the IVR methods answer UNAVAILABLE */
    md_acd_svc_t *acd;           /* NULL: the ACD methods answer UNAVAILABLE */
    md_api_sub_t *subs;
    unsigned n_subs, max_subs;
    uint64_t events_in;
    uint64_t now_ms;             /* the control loop's clock (ms since medleyd started) */
    uint64_t acd_epoch_ms;       /* added to now_ms for the ACD: its clock is Unix time,
                                    so KPI half hours are real ones and survive restarts */
    uint32_t held[256];          /* channels with hold announcements (API ids) */
    unsigned n_held;
} md_api_t;

void md_api_init(md_api_t *a, md_ctl_t *ctl);

/* The method table for md_grpc_config_t (app = the md_api_t, gone = md_api_gone). */
extern const md_grpc_method_t md_api_methods[];
extern const unsigned md_api_n_methods;
void md_api_gone(void *app, md_grpc_call_t *call);
/* A client's connection closed (md_grpc_config_t.closed): the ACD agents and calls it
 * tied to itself leave (md_acd_svc_client_gone). */
void md_api_conn_closed(void *app, uint32_t conn);

/* Moves the workers' events to the subscribers. Call from the control loop. */
unsigned md_api_pump_events(md_api_t *a);

/* Timers of the API's own (hold announcements). Call from the control loop. */
void md_api_tick(md_api_t *a);

/* Publishes an IVR session's note as an event (the md_ivrs_t publish hook). */
void md_api_publish_ivr(void *api, uint32_t channel, const md_ivr_note_t *n);

/* Publishes an ACD notice as an event (the md_acd_svc_t publish hook). */
void md_api_publish_acd(void *api, const md_acd_action_t *a);

/* Ends every subscription (at shutdown, before md_grpc_stop()). */
void md_api_close(md_api_t *a);

#endif
