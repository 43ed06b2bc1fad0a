/* An IVR session: one caller walking a flow (control/flow.h). Pure logic on the control
 * thread: it is fed the channel's digits, prompt-done notices, integrator answers and
 * the clock, and acts through the host's callbacks (play a list of prompt names, stop,
 * notify the integrator). Tests drive it with a virtual clock and a fake host.
 *
 * What a caller gets (REQ IVR-1 to IVR-12): welcome (by caller class), an optional urgent
 * notice, menus with barge-in and type-ahead (digits keyed ahead are consumed level by
 * level), the fixed keys * back, # main menu, 0 agent, 9 repeat, a specific message for
 * each invalid entry and each timeout, an agent (with the trail) after too many, data
 * entry with read-back, lookups with a wait prompt, announcements with spoken numbers
 * and paging, step visit limits (password attempts). */
#ifndef MD_CONTROL_IVR_H
#define MD_CONTROL_IVR_H

#include <stdint.h>

#include "control/flow.h"
#include "control/say.h"

#define MD_IVR_VARS 16
#define MD_IVR_VALUE 64
#define MD_IVR_TRAIL 256
#define MD_IVR_QUEUE 64   /* prompt names queued to play */

typedef struct {
    char name[MD_FLOW_NAME];
    char value[MD_IVR_VALUE];
    int secret;             /* a password: only in lookup notes, never in the trail */
} md_ivr_var_t;

typedef enum {
    MD_IVR_NOTE_STEP = 1,   /* entered a step */
    MD_IVR_NOTE_LOOKUP,     /* the integrator is asked: answer with md_ivr_answer() */
    MD_IVR_NOTE_TRANSFER,   /* the caller goes to a queue: the session has ended */
    MD_IVR_NOTE_HANGUP,     /* the flow hung up: the session has ended */
} md_ivr_note_kind_t;

typedef struct {
    md_ivr_note_kind_t kind;
    const char *step;
    const char *lookup;
    const char *queue;
    const char *reason;     /* transfer: "option", "agent_key", "too_many_errors", ... */
    const char *trail;      /* "main:1 > queries:2 > bill" (passwords never shown) */
    const md_ivr_var_t *vars;
    unsigned n_vars;
} md_ivr_note_t;

typedef struct {
    /* Play names (n <= MD_PLAY_MAX) on the channel; tag comes back in prompt_done. */
    int (*play)(void *host, uint32_t channel, const char *const *names, unsigned n, int barge_in,
                uint32_t tag);
    void (*stop)(void *host, uint32_t channel);
    void (*note)(void *host, uint32_t channel, const md_ivr_note_t *note);
    void *arg;
} md_ivr_host_t;

typedef enum {
    MD_IVR_PH_IDLE = 0,
    MD_IVR_PH_WELCOME,      /* welcome and notice */
    MD_IVR_PH_PROMPT,       /* a step's prompt (input accepted, barge-in) */
    MD_IVR_PH_INPUT,        /* waiting for digits */
    MD_IVR_PH_MESSAGE,      /* invalid/timeout message, then the step again */
    MD_IVR_PH_LOOKUP,       /* waiting for the integrator */
    MD_IVR_PH_SAY,          /* an announcement */
    MD_IVR_PH_MORE,         /* paging question: 1 more, 2 stop */
    MD_IVR_PH_CONFIRM,      /* read-back: 1 confirm, 2 re-enter */
    MD_IVR_PH_FINAL,        /* last words before transfer or hangup */
    MD_IVR_PH_DONE,
} md_ivr_phase_t;

typedef struct {
    const md_flow_t *flow;
    const md_ivr_host_t *host;
    uint32_t channel;
    char lang[8];
    int cls;
    int start;                       /* the main menu for this caller */
    int step;
    int stack[16];                   /* menus to go back to with '*' */
    unsigned depth;
    md_ivr_phase_t phase;
    uint64_t deadline;               /* 0: no timer */
    uint64_t lookup_deadline;
    int wait_playing;
    unsigned failures;
    uint16_t *visits;                /* per step */
    char ahead[32];                  /* type-ahead */
    unsigned n_ahead;
    char entry[40];
    unsigned n_entry;
    int has_point;
    /* Playback: names queued, sent MD_PLAY_MAX at a time. */
    md_say_name_t queue[MD_IVR_QUEUE];
    unsigned q_len, q_pos;
    int playing;
    uint32_t tag, next_tag;
    int barge;
    /* Paging */
    unsigned page_pos;
    /* The final note after the last words. */
    md_ivr_note_kind_t final_kind;
    char final_queue[MD_FLOW_NAME];
    char final_reason[32];
    md_ivr_var_t vars[MD_IVR_VARS];
    unsigned n_vars;
    char trail[MD_IVR_TRAIL];
    uint64_t digits;                 /* counters for the demo's report */
    uint64_t errors;
} md_ivr_t;

/* Starts a session on channel: picks the caller class by ani (may be NULL), plays the
 * welcome. lang NULL or "": the class's or the flow's first language. Returns 0, -EINVAL
 * (language not in the flow) or -ENOMEM. The flow must outlive the session. */
int md_ivr_start(md_ivr_t *s, const md_flow_t *flow, const md_ivr_host_t *host, uint32_t channel,
                 const char *ani, const char *lang, uint64_t now_ms);
void md_ivr_end(md_ivr_t *s);

void md_ivr_digit(md_ivr_t *s, char digit, uint64_t now_ms);
/* The play with this tag finished (barge_digit: the digit that stopped it, or 0). */
void md_ivr_prompt_done(md_ivr_t *s, uint32_t tag, char barge_digit, uint64_t now_ms);
/* The integrator's answer to a lookup: a result (a branch of the step, or "" for next)
 * and variables. -EINVAL if no lookup is pending. */
int md_ivr_answer(md_ivr_t *s, const char *result, const md_ivr_var_t *vars, unsigned n,
                  uint64_t now_ms);
void md_ivr_tick(md_ivr_t *s, uint64_t now_ms);

const char *md_ivr_var(const md_ivr_t *s, const char *name);
int md_ivr_done(const md_ivr_t *s);

#endif
