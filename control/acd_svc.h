/* The ACD in medleyd: control/acd.c's decisions carried out on the engine. The ACD's
 * host actions become engine commands (music on hold, prompts, bridging the caller to
 * the agent's channel, hold and retrieve) or notices for the integrator's event stream
 * (offers to ring an agent, releases, dials); the channels' digits, prompt-done events
 * and deletions are fed back to the ACD. An IVR session that transfers to a queue the ACD
 * knows enters it directly, with the trail as the call's data. */
#ifndef MD_CONTROL_ACD_SVC_H
#define MD_CONTROL_ACD_SVC_H

#include <stdint.h>

#include "control/acd.h"
#include "control/kpi_store.h"
#include "control/ctl.h"
#include "engine/events.h"

typedef struct md_acd_svc {
    md_acd_t *acd;
    md_ctl_t *ctl;
    uint32_t *caller_call;       /* per channel record: the ACD call on it, 0: none */
    int32_t *agent_on;           /* per channel record: the agent logged in on it, -1 */
    /* Per caller's channel record: the conference the ACD made of the caller's bridge to
     * the agent for a supervisor or a mute (0: none; a plain bridge again when both end),
     * the supervisor's channel in it (0: none) and whether the agent is muted. */
    uint32_t *conf_of;
    uint32_t *sup_of;
    uint8_t *muted;
    char why[160];               /* why the last MONITOR or MUTE failed (for the API) */
    uint64_t now_ms;
    uint64_t next_tick_ms;
    /* Where the ACD's notices go (the API's event stream). */
    void (*publish)(void *arg, const md_acd_action_t *a);
    void *publish_arg;
    uint64_t actions, failed_actions;
    md_kpi_store_t *kpi;         /* NULL: half hours are not stored */
    uint64_t kpi_lost;           /* records the store refused */
} md_acd_svc_t;

int md_acd_svc_init(md_acd_svc_t *s, md_ctl_t *ctl, uint64_t now_ms);
void md_acd_svc_free(md_acd_svc_t *s);

/* A worker event on a channel (API id): digits, prompt done. Returns 1 if the ACD took it. */
int md_acd_svc_event(md_acd_svc_t *s, uint32_t channel, const md_event_t *ev);
/* Puts a caller's channel in a queue. owner: the API connection the call is tied to (it
 * is released when that connection closes: md_acd_svc_client_gone), 0 none. Returns 0
 * and *call, or a negative errno. */
int md_acd_svc_enter(md_acd_svc_t *s, uint32_t channel, const char *queue, const char *ani,
                     int priority, const char *data, const char *lang, uint32_t owner,
                     uint32_t *call);
/* An API connection closed: what it owns leaves (md_acd_client_gone at s->now_ms): its
 * calls are released, the agents it logged in are logged out (an offered caller back at
 * the head of its queue; an agent on a call when its after-call work ends), its dial
 * lists stop. The notices go to the event stream as usual. Returns how many calls and
 * agents were touched. */
int md_acd_svc_client_gone(md_acd_svc_t *s, uint32_t owner);
/* The integrator's answer to a DIAL: md_acd_dial_result, and an answered leg (channel)
 * becomes the call's channel (its digits, prompt ends and deletion go to the ACD). */
int md_acd_svc_dial_result(md_acd_svc_t *s, uint32_t call, md_acd_dial_result_t r,
                           uint32_t channel);
/* A channel is being deleted: its call or its agent leave the ACD. */
void md_acd_svc_channel_gone(md_acd_svc_t *s, uint32_t channel);
/* Stores the unfinished half hour of every queue and agent (at shutdown: a restart adds
 * the rest of the half hour to the same rows). */
void md_acd_svc_save(md_acd_svc_t *s);
/* Timers (every 100 ms of now_ms). */
void md_acd_svc_tick(md_acd_svc_t *s);

#endif
