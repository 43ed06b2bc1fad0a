/* The IVR service on the control thread: loaded flows (with hot reload: a call in
 * progress keeps the version it started with), one session per channel, and the host
 * that turns a session's actions into engine commands (play lists through control/ctl.h)
 * and its notes into API events. */
#ifndef MD_CONTROL_IVRS_H
#define MD_CONTROL_IVRS_H

#include "control/ctl.h"
#include "control/flow.h"
#include "control/ivr.h"

#define MD_IVRS_FLOWS 32

typedef struct md_ivrs_flow {
    md_flow_t *flow;
    unsigned sessions;           /* sessions on this version */
    unsigned prompts;            /* prompt files loaded for it */
    char warnings[2048];
    int current;
    struct md_ivrs_flow *next;
} md_ivrs_flow_t;

typedef struct {
    md_ctl_t *ctl;
    md_ivrs_flow_t *flows;       /* current and retired versions */
    md_ivr_t **sess;             /* per channel record (ctl->max_total) */
    md_ivrs_flow_t **sess_flow;
    uint32_t *active;            /* records with a session, for the timers */
    uint32_t *active_pos;
    uint32_t n_active;
    md_ivr_host_t host;
    /* Where notes go (the API's event stream). */
    void (*publish)(void *arg, uint32_t channel, const md_ivr_note_t *n);
    void *publish_arg;
    uint64_t now_ms;             /* the control loop's clock, set before each call */
    uint64_t started, transferred, hung_up, stopped;
} md_ivrs_t;

int md_ivrs_init(md_ivrs_t *r, md_ctl_t *ctl);
void md_ivrs_free(md_ivrs_t *r);

/* Parses, checks that every prompt file exists for every language, loads the prompts
 * and installs the flow under its name (replacing an older version, which stays alive
 * for the calls that use it). check_only: everything but loading and installing.
 * Returns 0 and *out, or a negative errno code with a message in err. */
int md_ivrs_load_flow(md_ivrs_t *r, const char *path, int check_only, md_ivrs_flow_t **out,
                      md_ivrs_flow_t *checked, char *err, size_t errlen);
md_ivrs_flow_t *md_ivrs_find_flow(md_ivrs_t *r, const char *name);
unsigned md_ivrs_flow_sessions(const md_ivrs_t *r, const char *name);

int md_ivrs_start(md_ivrs_t *r, uint32_t channel, const char *flow, const char *ani,
                  const char *lang, char *err, size_t errlen);
int md_ivrs_stop(md_ivrs_t *r, uint32_t channel);
int md_ivrs_answer(md_ivrs_t *r, uint32_t channel, const char *result, const md_ivr_var_t *vars,
                   unsigned n);
md_ivr_t *md_ivrs_session(md_ivrs_t *r, uint32_t channel);

/* A worker event for a channel (digits and prompt-done drive its session). */
void md_ivrs_on_event(md_ivrs_t *r, uint32_t channel, const md_event_t *ev);
/* Timers; ended sessions are released. */
void md_ivrs_tick(md_ivrs_t *r);

#endif
