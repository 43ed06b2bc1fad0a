/* The ACD (issue 7, REQ ACD-1 to ACD-10, KPI-1 to KPI-3): queues, agents, supervisors,
 * surveys, outbound dial lists and KPIs. Pure logic on the control thread, like the IVR
 * (control/ivr.h): it is told what happens (a caller enters a queue, an agent answers, a
 * prompt ended, a digit, a hangup, a dial result) with the time, and it acts through one
 * host callback that receives actions (play, music, offer to an agent, bridge, release,
 * dial, route to IVR/voicemail/survey, monitor, events, closed KPI records). Tests drive
 * it with a virtual clock and a fake host; medleyd maps actions to engine commands and
 * API events (docs/acd.md).
 *
 * Rules the host must keep: it never calls md_acd_* from inside act() (queue what it
 * learns and report it after act() returns); it calls md_acd_tick() every 100 ms or so
 * (timers are checked there); times are milliseconds on one monotonic clock.
 *
 * Identifiers: queues, agents and campaigns are small indexes (found by name with the
 * *_find functions); calls are uint32_t ids that are never reused while the ACD lives. */
#ifndef MD_CONTROL_ACD_H
#define MD_CONTROL_ACD_H

#include <stdint.h>

#include "control/kpi.h"

#define MD_ACD_NAME 32
#define MD_ACD_NUMBER 32          /* phone numbers */
#define MD_ACD_DATA 256           /* the call's data (IVR trail, CRM keys), kept on transfers */
#define MD_ACD_SKILLS 8
#define MD_ACD_PRIOS MD_KPI_CLASSES   /* priorities 0..3, 3 first (VIP) */
#define MD_ACD_PLAY 24            /* names in one PLAY action (the host splits by MD_PLAY_MAX) */
#define MD_ACD_AHT_WINDOW 20      /* recent handle times kept per queue for the expected wait */
#define MD_ACD_INTERNAL_OFFER_MS 15000  /* default offer timeout of a direct internal call (a
                                           consult: the caller's queue's), see
                                           md_acd_set_internal_offer_ms() */

typedef enum {
    MD_ACD_LONGEST_IDLE = 0,
    MD_ACD_FEWEST_CALLS,          /* answered since login; ties: longest idle */
    MD_ACD_LEAST_TALK,            /* talk time since login; ties: longest idle */
    MD_ACD_ROUND_ROBIN,           /* the next agent after the last one offered, by index */
    MD_ACD_SKILL_LEVEL,           /* highest level in the queue's skill; ties: longest idle */
    MD_ACD_RING_ALL,              /* every free agent at once; the first to answer wins */
} md_acd_strategy_t;

typedef enum {
    MD_ACD_OVF_NONE = 0,          /* full: refuse (blocked, busy message); max wait: keep waiting */
    MD_ACD_OVF_QUEUE,             /* another queue (priority, place by arrival and data kept) */
    MD_ACD_OVF_VOICEMAIL,         /* ROUTE to voicemail box overflow_target */
    MD_ACD_OVF_CALLBACK,          /* becomes a callback keeping its place */
    MD_ACD_OVF_BUSY,              /* busy message, then release */
} md_acd_overflow_t;

typedef enum {
    MD_ACD_LOGGED_OUT = 0,
    MD_ACD_READY,
    MD_ACD_NOT_READY,             /* with a reason */
    MD_ACD_OFFERED,               /* ringing (an offer waits for its answer) */
    MD_ACD_RESERVED,              /* answered, agent number announced; or a dial-out in progress */
    MD_ACD_TALKING,
    MD_ACD_HOLD,
    MD_ACD_ACW,                   /* after-call work: ends by md_acd_agent_ready or its timer */
    MD_ACD_AGENT_STATES,
} md_acd_agent_state_t;

typedef enum {
    MD_ACD_CALL_WAITING = 1,      /* in a queue (music, announcements) */
    MD_ACD_CALL_OFFERED,          /* offered to one agent (or several: ring-all) */
    MD_ACD_CALL_ANNOUNCE,         /* the agent answered; the caller hears the agent's number */
    MD_ACD_CALL_DIALING,          /* callback / outbound: the host dials */
    MD_ACD_CALL_TALKING,
    MD_ACD_CALL_HOLD,
    MD_ACD_CALL_SURVEY,           /* the agent left; the caller rates (ACD-8) */
    MD_ACD_CALL_MESSAGE,          /* outbound message being played */
} md_acd_call_phase_t;

typedef enum {
    MD_ACD_INBOUND = 0,
    MD_ACD_CALLBACK,              /* a virtual caller: no channel until dialled */
    MD_ACD_OUTBOUND,              /* from a dial list */
    MD_ACD_MANUAL,                /* dialled for an agent (ACD-10 manual) */
    MD_ACD_INTERNAL,              /* ACD-6: agent to agent, a consult or a direct call: channel
                                     is the calling agent's leg, agent the called one */
} md_acd_call_kind_t;

typedef enum {
    MD_ACD_BL_BUSY = 1,           /* "system busy" then release */
    MD_ACD_BL_RELEASE,            /* released at once */
} md_acd_bl_level_t;

typedef enum {
    MD_ACD_ROUTE_SELF_SERVICE = 1, /* back to the IVR (target: the queue's self_service step) */
    MD_ACD_ROUTE_VOICEMAIL,
    MD_ACD_ROUTE_SURVEY,
    MD_ACD_ROUTE_IVR_STEP,        /* ACD-6: an IVR step for the agent, then back */
} md_acd_route_t;

typedef enum {
    MD_ACD_MON_STOP = 0,
    MD_ACD_MON_LISTEN,
    MD_ACD_MON_WHISPER,
    MD_ACD_MON_BARGE,
} md_acd_monitor_t;

typedef enum {
    MD_ACD_DIAL_ANSWERED = 1,
    MD_ACD_DIAL_NO_ANSWER,
    MD_ACD_DIAL_BUSY,
    MD_ACD_DIAL_FAILED,
} md_acd_dial_result_t;

typedef enum {
    MD_ACD_EV_AGENT_STATE = 1,    /* agent, reason (not-ready reason) */
    MD_ACD_EV_QUEUED,             /* call entered queue */
    MD_ACD_EV_CONNECTED,          /* call connected to agent */
    MD_ACD_EV_ABANDONED,          /* reason: "waiting", "offered", "announce", "short" */
    MD_ACD_EV_OVERFLOW,           /* reason: "full" / "max_wait"; queue: the one left */
    MD_ACD_EV_BLOCKED,            /* reason: "blacklist", "full" */
    MD_ACD_EV_REQUEUED,           /* at the head: reason "no_answer", "leg_failed", "rejected", ... */
    MD_ACD_EV_ENDED,              /* call left the ACD: reason */
    MD_ACD_EV_HOLD_ALERT,         /* on hold longer than the queue's hold_alert_ms (ACD-6) */
    MD_ACD_EV_CALLBACK,           /* a callback was registered (reason "caller"/"overflow") */
    MD_ACD_EV_CALLBACK_FAILED,    /* the callback's dial was not answered */
    MD_ACD_EV_SURVEY,             /* rating given: agent, rating */
    MD_ACD_EV_DIAL_MARKED,        /* a dial-list number is final: reason "done"/"unanswered"/"failed" */
} md_acd_event_t;

typedef enum {
    MD_ACD_ACT_MUSIC = 1,         /* channel: music on hold on (on=1) or off */
    MD_ACD_ACT_PLAY,              /* channel: names[n_names]; report md_acd_prompt_done(tag) */
    MD_ACD_ACT_OFFER,             /* ring agent (agent_channel 0: set up its leg); answer with
                                     md_acd_agent_answer(), or md_acd_agent_leg_failed() */
    MD_ACD_ACT_CANCEL,            /* withdraw the offer to agent */
    MD_ACD_ACT_ANNOUNCE_AGENT,    /* ACD-5: play names (agent number) to the caller; tag */
    MD_ACD_ACT_BRIDGE,            /* connect channel and agent_channel */
    MD_ACD_ACT_UNBRIDGE,          /* disconnect them (the host ends the agent leg if it must) */
    MD_ACD_ACT_HOLD,              /* caller on hold: unbridge, music to channel */
    MD_ACD_ACT_RETRIEVE,          /* back: music off, bridge again */
    MD_ACD_ACT_MUTE,              /* agent's voice to the caller muted (on) or not */
    MD_ACD_ACT_RELEASE,           /* hang up channel; target: a prompt to play first or NULL */
    MD_ACD_ACT_ROUTE,             /* channel leaves for route/target (IVR, voicemail, survey) */
    MD_ACD_ACT_DIAL,              /* dial target (a number) for call; report md_acd_dial_result() */
    MD_ACD_ACT_MONITOR,           /* supervisor channel (target_channel) on agent's call: mode */
    MD_ACD_ACT_EVENT,             /* a notice for the integrator's event stream */
    MD_ACD_ACT_KPI,               /* a closed half-hour record to store (kpi) */
    /* ACD-6 three-way: the caller on channel (on hold now), its agent on agent_channel and
     * the consulted agent on target_channel (bridged to the first now) in one conference:
     * everyone hears the other two. A failure must leave the media as it was. */
    MD_ACD_ACT_CONFERENCE,
    /* One agent leaves the three-way of the caller on channel: target_channel leaves,
     * agent_channel stays (the caller and it bridged again). */
    MD_ACD_ACT_CONF_LEAVE,
} md_acd_act_kind_t;

typedef struct {
    md_acd_act_kind_t kind;
    uint32_t call;                /* 0: none */
    uint32_t channel;             /* the caller's channel (0: none) */
    int agent;                    /* -1: none */
    uint32_t agent_channel;
    const char *agent_id;
    int queue;                    /* -1: none */
    const char *queue_name;
    const char *target;           /* RELEASE prompt, ROUTE target, DIAL number; OFFER of an
                                     internal call: the calling agent's id */
    md_acd_route_t route;
    const char *const *names;     /* PLAY, ANNOUNCE_AGENT */
    unsigned n_names;
    uint32_t tag;
    int on;                       /* MUSIC, MUTE */
    md_acd_monitor_t mode;        /* MONITOR */
    uint32_t target_channel;      /* MONITOR: the supervisor's channel; CONFERENCE,
                                     CONF_LEAVE: the other agent's leg */
    md_acd_event_t event;         /* EVENT */
    const char *reason;           /* EVENT; OFFER: "", "consult" or "internal" */
    int value;                    /* EVENT: agent state, rating, priority */
    const char *data;             /* OFFER, CONNECTED: the call's data */
    const char *ani;
    const md_kpi_t *kpi;          /* KPI */
} md_acd_action_t;

typedef struct {
    /* Returns 0, or a negative errno when the action could not be done: a failed OFFER is
     * handled as a failed agent leg, a failed DIAL as MD_ACD_DIAL_FAILED, a failed PLAY as
     * a prompt that ended. */
    int (*act)(void *arg, const md_acd_action_t *a);
    void *arg;
} md_acd_host_t;

typedef struct {
    char name[MD_ACD_NAME];
    char skill[MD_ACD_NAME];       /* required skill; "" means the queue's name */
    unsigned min_level;            /* 1..10 */
    md_acd_strategy_t strategy;
    unsigned max_len;              /* waiting calls; 0: no limit */
    uint32_t max_wait_ms;          /* 0: no limit */
    md_acd_overflow_t overflow;
    char overflow_target[MD_ACD_NAME];  /* queue name or voicemail box */
    uint32_t offer_timeout_ms;     /* an offer unanswered this long: agent not ready */
    uint32_t acw_ms;               /* after-call work; 0: none */
    uint32_t announce_first_ms;    /* first position/expected-wait announcement; 0: never */
    uint32_t announce_every_ms;    /* then every; 0: once */
    uint32_t busy_offer_ms;        /* ACD-3: "* self-service, 1 callback" after this; 0: never */
    char busy_prompt[MD_ACD_NAME]; /* the recorded variant chosen by the supervisor */
    char self_service[MD_ACD_NAME];/* where '*' goes (an IVR step) */
    int announce_agent;            /* ACD-5 */
    char survey[MD_ACD_NAME];      /* ACD-8: a survey flow; "" none */
    uint32_t sl_threshold_ms;      /* KPI-1: 15000 */
    uint32_t short_abandon_ms;     /* 5000 */
    md_kpi_abandon_t sl_abandon;   /* for the live SL */
    uint32_t default_aht_ms;       /* expected wait before any call was handled */
    uint32_t hold_alert_ms;        /* 0: none */
    char lang[8];                  /* announcements' language */
} md_acd_queue_cfg_t;

typedef struct {
    char name[MD_ACD_NAME];
    unsigned level;                /* 1..10 */
} md_acd_skill_t;

typedef struct {
    char id[MD_ACD_NAME];          /* the agent's number, spoken in ACD-5 */
    md_acd_skill_t skills[MD_ACD_SKILLS];
    unsigned n_skills;
    int auto_answer;               /* with a standing leg, an offer is answered at once */
} md_acd_agent_cfg_t;

typedef struct {
    const char *queue;
    uint32_t channel;
    const char *ani;
    int priority;                  /* 0..3, 3 first; also the caller class of the live view */
    const char *data;              /* may be NULL */
    const char *lang;              /* NULL: the queue's */
    uint32_t owner;                /* the API client that owns the call (md_acd_client_gone) */
} md_acd_call_cfg_t;

typedef enum {
    MD_ACD_CAMP_MESSAGE = 0,       /* dial, play prompt, hang up */
    MD_ACD_CAMP_AGENT,             /* progressive: dial when an agent of queue is free */
} md_acd_camp_mode_t;

typedef enum {
    MD_ACD_NUM_PENDING = 0,
    MD_ACD_NUM_DIALING,
    MD_ACD_NUM_DONE,               /* answered: message played or agent connected */
    MD_ACD_NUM_UNANSWERED,         /* no answer / busy max_attempts times */
    MD_ACD_NUM_FAILED,
} md_acd_num_state_t;

typedef struct {
    char name[MD_ACD_NAME];
    md_acd_camp_mode_t mode;
    char queue[MD_ACD_NAME];       /* AGENT: whose agents connect */
    char prompt[MD_ACD_NAME];      /* MESSAGE */
    unsigned max_lines;            /* dials at once (MESSAGE) */
    unsigned max_attempts;
    uint32_t retry_ms;
    uint32_t owner;
} md_acd_campaign_cfg_t;

typedef struct {
    char number[MD_ACD_NUMBER];
    md_acd_num_state_t state;
    unsigned attempts;
    uint64_t next_try_ms;
    uint32_t call;
} md_acd_number_t;

/* ---- the live view (KPI-3) ---- */

typedef struct {
    char name[MD_ACD_NAME];
    uint32_t waiting;                      /* including callbacks */
    uint32_t waiting_class[MD_ACD_PRIOS];
    uint32_t callbacks_waiting;
    uint32_t offered_now;                  /* calls being offered or announced */
    uint32_t longest_wait_ms;              /* of those waiting now */
    uint32_t agents[MD_ACD_AGENT_STATES];  /* agents with the queue's skill, by state */
    double service_level;                  /* this half hour so far (queue's treatment), -1 */
    uint32_t offered, answered, abandoned; /* this half hour */
    uint32_t ewt_ms;                       /* expected wait of a new caller (0: unknown) */
} md_acd_queue_snap_t;

typedef struct {
    uint64_t at_ms;
    uint32_t agents[MD_ACD_AGENT_STATES];  /* all agents by state */
    uint32_t logged_in, idle, busy;
    uint32_t waiting, longest_wait_ms;
    uint32_t arrived_class[MD_ACD_PRIOS];  /* calls arrived this half hour per class */
    unsigned n_queues;                     /* entries written to queues[] */
    md_acd_queue_snap_t *queues;           /* caller's array of max_queues */
    unsigned max_queues;
} md_acd_snapshot_t;

typedef struct md_acd md_acd_t;

typedef struct {
    unsigned max_queues;      /* default 64 */
    unsigned max_agents;      /* default 1024 */
    unsigned max_calls;       /* calls and callbacks at once; default 16384 (< 2^20) */
    unsigned max_blacklist;   /* default 1024 */
    unsigned max_last_agent;  /* remembered ANI -> agent pairs; default 4096 */
    unsigned max_campaigns;   /* default 8 */
    unsigned max_numbers;     /* per campaign; default 1024 */
} md_acd_limits_t;

/* NULL lim: defaults. Returns NULL if out of memory or limits out of range. */
md_acd_t *md_acd_new(const md_acd_limits_t *lim, const md_acd_host_t *host, uint64_t now_ms);
void md_acd_free(md_acd_t *acd);
/* The limits in force (the defaults filled in). */
const md_acd_limits_t *md_acd_limits(const md_acd_t *acd);

/* The offer timeout of offers that have no queue to take it from: direct agent-to-agent
 * calls (md_acd_agent_call) and consults about a call without a queue (a manual dial);
 * a consult about a queued call keeps its queue's offer_timeout_ms. Unanswered this
 * long, the called agent goes NOT_READY "no_answer" and the caller back to its state.
 * Default MD_ACD_INTERNAL_OFFER_MS; applies to offers made from then on. -EINVAL for 0
 * (as a queue's offer_timeout_ms). */
int md_acd_set_internal_offer_ms(md_acd_t *acd, uint32_t ms);
uint32_t md_acd_internal_offer_ms(const md_acd_t *acd);

/* ---- configuration ---- */

void md_acd_queue_defaults(md_acd_queue_cfg_t *cfg, const char *name);
/* Returns the queue's index, -EEXIST, -EINVAL or -ENOSPC. Overflow queues are found by
 * name when used, so they may be added in any order. */
int md_acd_queue_add(md_acd_t *acd, const md_acd_queue_cfg_t *cfg);
int md_acd_queue_find(const md_acd_t *acd, const char *name);
const md_acd_queue_cfg_t *md_acd_queue_cfg(const md_acd_t *acd, int q);
/* Supervisor: the busy-message variant (ACD-3) and strategy live. */
int md_acd_queue_set_busy_prompt(md_acd_t *acd, int q, const char *prompt);
int md_acd_queue_set_strategy(md_acd_t *acd, int q, md_acd_strategy_t s, uint64_t now_ms);

int md_acd_agent_add(md_acd_t *acd, const md_acd_agent_cfg_t *cfg);
int md_acd_agent_find(const md_acd_t *acd, const char *id);

/* ---- agents (ACD-4) ---- */

/* Logs in, not ready with reason "login". channel: a standing leg (auto-answer headset)
 * or 0. -EALREADY if logged in, -ENOENT for no such agent. */
int md_acd_agent_login(md_acd_t *acd, int a, uint32_t owner, uint32_t channel, uint64_t now_ms);
/* -EBUSY while offered or on a call (use md_acd_agent_force). */
int md_acd_agent_logout(md_acd_t *acd, int a, uint64_t now_ms);
/* From not ready or ACW (ends it). -EBUSY while offered or on a call. */
int md_acd_agent_ready(md_acd_t *acd, int a, uint64_t now_ms);
int md_acd_agent_not_ready(md_acd_t *acd, int a, const char *reason, uint64_t now_ms);
/* The agent answered the offer of call on leg channel (0: its standing leg). -ESTALE if the
 * offer is gone (the caller hung up, another agent won a ring-all). */
int md_acd_agent_answer(md_acd_t *acd, int a, uint32_t call, uint32_t channel, uint64_t now_ms);
/* The agent declined: not ready "rejected", the caller back at the head. */
int md_acd_agent_reject(md_acd_t *acd, int a, uint64_t now_ms);
/* The agent's leg could not be set up or dropped: offered/reserved -> not ready
 * "leg_failed" and the caller back at the head; talking -> as md_acd_agent_hangup. */
int md_acd_agent_leg_failed(md_acd_t *acd, int a, uint64_t now_ms);
/* The agent ended the call: the caller goes to the survey (if the queue has one) or is
 * released; the agent goes to ACW. */
int md_acd_agent_hangup(md_acd_t *acd, int a, uint64_t now_ms);
md_acd_agent_state_t md_acd_agent_state(const md_acd_t *acd, int a, const char **reason);
/* The standing leg the agent logged in with, or 0 (none, logged out, no such agent). */
uint32_t md_acd_agent_channel(const md_acd_t *acd, int a);
/* An agent as the live view shows it (ListAgents). */
typedef struct {
    md_acd_agent_cfg_t cfg;        /* id, skills (as changed live), auto-answer */
    md_acd_agent_state_t state;
    char reason[MD_ACD_NAME];      /* not ready's reason, "" otherwise */
    uint64_t since_ms;             /* when it entered this state */
    uint32_t call;                 /* offered, reserved for, talking or holding: the call; else 0 */
    uint32_t channel;              /* the standing leg it logged in with, or 0 */
    uint32_t leg;                  /* its leg on the call it is offered or handles, or 0 */
    uint32_t owner;                /* the API client its login belongs to, 0: none */
    uint32_t calls;                /* answered since login */
    uint32_t consult;              /* the internal call (consult or direct) it makes or
                                      takes part in, 0: none */
    uint32_t internal_calls;       /* internal and consult calls connected since login, made
                                      or answered (not in calls, not handled: ACD-6) */
} md_acd_agent_info_t;

/* -ENOENT if there is no such agent. */
int md_acd_agent_info(const md_acd_t *acd, int a, md_acd_agent_info_t *out);
/* How many agents were added (indexes 0..n-1). */
unsigned md_acd_agent_count(const md_acd_t *acd);
/* Manual outbound (ACD-10): the agent must be ready or not ready. Returns the call id. */
int md_acd_agent_dial(md_acd_t *acd, int a, const char *number, uint32_t *call, uint64_t now_ms);

/* ---- consult, three-way and internal calls (ACD-6) ----
 * An agent talking to a caller consults another agent: the caller is put on hold (music),
 * the other agent (who must be READY) is offered an internal call (kind MD_ACD_INTERNAL,
 * OFFER reason "consult", the caller's data; its queue's offer timeout, reject and leg
 * failure as for any offer: NOT_READY "no_answer"/"rejected"/"leg_failed"), answered,
 * the two agents are bridged (both TALKING "consult"). Then the first agent completes it
 * (attended transfer: the caller bridged to the second, who owns the call with its data,
 * the first to ACW counting a transfer), makes it a three-way (one conference; either
 * agent may leave later, the call goes on with the other) or cancels it (the second is
 * free, the caller retrieved). An internal call is the same without a caller: offered
 * with reason "internal", bridged on answer; either agent hangs up, and both go back to
 * the state they had before (no after-call work: there is no queue). Internal and consult
 * calls count in internal_calls of both agents, never as answered or handled calls. */

/* Returns 0 with *call the internal call, -ENOENT (no such agent), -EINVAL (itself),
 * -ENOTCONN (a is not talking to or holding a caller), -EALREADY (a consult is in
 * progress), -EBUSY (to_agent not ready; the caller is away at an IVR step), -ENOSPC. */
int md_acd_consult(md_acd_t *acd, int a, int to_agent, uint32_t *call, uint64_t now_ms);
/* -ENOTCONN: no consult; -EPERM: a direct internal call, not a consult; -EBUSY: not
 * answered yet. In a three-way, complete is the first agent leaving it. */
int md_acd_consult_complete(md_acd_t *acd, int a, uint64_t now_ms);
/* As complete, and -EALREADY if it is a three-way already; the host's error (the media
 * unchanged, the consult as it was). */
int md_acd_consult_conference(md_acd_t *acd, int a, uint64_t now_ms);
/* The consulted agent is free (an offer withdrawn, keeping its idle rank; out of the
 * three-way), the caller retrieved (in a three-way: talking to a alone). For a direct
 * internal call a made: withdrawn or hung up. -ENOTCONN if a made none. */
int md_acd_consult_cancel(md_acd_t *acd, int a, uint64_t now_ms);
/* Agent a (READY or NOT_READY) calls to_agent (READY) on leg channel (0: its standing
 * leg): a is RESERVED "internal" while to_agent is offered. -ENOENT, -EINVAL (itself, no
 * leg), -EBUSY, -ENOSPC. The called agent ends it with md_acd_agent_hangup (or rejects
 * it), the caller with md_acd_agent_hangup or md_acd_consult_cancel. */
int md_acd_agent_call(md_acd_t *acd, int a, int to_agent, uint32_t channel, uint32_t *call,
                      uint64_t now_ms);

/* ---- supervisors (ACD-7) ---- */

/* Forces READY, NOT_READY or LOGGED_OUT. An offer is withdrawn first (the caller back at
 * the head); on a call, the state applies when the call's after-call work ends. */
int md_acd_agent_force(md_acd_t *acd, int a, md_acd_agent_state_t st, const char *reason,
                       uint64_t now_ms);
int md_acd_agent_set_skills(md_acd_t *acd, int a, const md_acd_skill_t *skills, unsigned n,
                            uint64_t now_ms);
/* Listen, whisper, barge (or stop) on the agent's call from the supervisor's channel.
 * -ENOTCONN if the agent is not talking or on hold. */
int md_acd_monitor(md_acd_t *acd, int a, uint32_t supervisor_channel, md_acd_monitor_t mode,
                   uint64_t now_ms);
/* Ends a call: the caller is released, the agent (if any) goes to ACW. An internal call
 * ends as md_acd_consult_cancel. */
int md_acd_force_release(md_acd_t *acd, uint32_t call, uint64_t now_ms);

/* ---- calls ---- */

/* A caller enters a queue. Returns 0 with *id, -ENOENT (no queue), -EACCES (blacklisted:
 * busy message or release done), -EBUSY (full without overflow: busy message and
 * release done), -ENOSPC (no call slot), -EINVAL. With an overflow, a full queue sends
 * the call there and returns 0. */
int md_acd_call_enter(md_acd_t *acd, const md_acd_call_cfg_t *cfg, uint32_t *id, uint64_t now_ms);
/* The caller hung up (any phase). A callback already registered stays. A consult in
 * progress ends with it (the consulted agent free). -EINVAL for an internal call. */
int md_acd_call_hangup(md_acd_t *acd, uint32_t call, uint64_t now_ms);
void md_acd_prompt_done(md_acd_t *acd, uint32_t call, uint32_t tag, uint64_t now_ms);
/* A key while waiting: '*' self-service, '1' callback to the ANI (after the busy offer
 * was made). Others are ignored. */
int md_acd_call_digit(md_acd_t *acd, uint32_t call, char digit, uint64_t now_ms);
/* A waiting caller asks to be called back on number (NULL: ANI): the caller is released
 * with a confirmation and a virtual caller keeps the place. */
int md_acd_call_callback(md_acd_t *acd, uint32_t call, const char *number, uint64_t now_ms);
/* Hold, retrieve, mute, transfers and the IVR step: -EBUSY while the call has a consult
 * (or three-way) in progress, -EPERM for an internal call (md_acd_monitor: -EBUSY). */
int md_acd_call_hold(md_acd_t *acd, uint32_t call, uint64_t now_ms);
int md_acd_call_retrieve(md_acd_t *acd, uint32_t call, uint64_t now_ms);
int md_acd_call_mute(md_acd_t *acd, uint32_t call, int on, uint64_t now_ms);
/* Blind transfers keeping the call's data and priority; the first agent goes to ACW and
 * counts a transfer. To an agent: -EBUSY unless it is ready. */
int md_acd_transfer_agent(md_acd_t *acd, uint32_t call, int to_agent, uint64_t now_ms);
int md_acd_transfer_queue(md_acd_t *acd, uint32_t call, const char *queue, uint64_t now_ms);
/* ACD-6: the caller goes to an IVR step (the agent waits on hold), then comes back to
 * the same agent with the step's result (given to the agent in a CONNECTED event). */
int md_acd_ivr_step(md_acd_t *acd, uint32_t call, const char *step, uint64_t now_ms);
int md_acd_ivr_return(md_acd_t *acd, uint32_t call, const char *result, uint64_t now_ms);
/* ACD-8: the survey's rating (1..5), attributed to the agent who handled the call. */
int md_acd_survey_result(md_acd_t *acd, uint32_t call, int rating, uint64_t now_ms);
/* Answer to a DIAL action. channel: the new leg when answered. */
int md_acd_dial_result(md_acd_t *acd, uint32_t call, md_acd_dial_result_t r, uint32_t channel,
                       uint64_t now_ms);

typedef struct {
    uint32_t id;
    md_acd_call_kind_t kind;
    md_acd_call_phase_t phase;
    uint32_t channel;
    int queue;
    int agent;                     /* handling or offered (one of them for ring-all), -1 */
    int priority;
    unsigned position;             /* 1-based while waiting, else 0 */
    char ani[MD_ACD_NUMBER];
    char data[MD_ACD_DATA];
} md_acd_call_info_t;

/* -ENOENT if the call is gone. */
int md_acd_call_info(const md_acd_t *acd, uint32_t call, md_acd_call_info_t *out);

/* ---- the integrator's API client went away ---- */

/* Everything owned by client is released: its calls end (released, offers withdrawn,
 * agents back to ready), its agents are logged out (an offer withdrawn and the caller
 * back at the head; on a call, logged out when the call's after-call work ends), its
 * campaigns stop. Returns how many calls and agents were touched. */
int md_acd_client_gone(md_acd_t *acd, uint32_t owner, uint64_t now_ms);

/* ---- blacklist (ACD-9) ---- */

/* until_ms 0: until removed. Adding an existing number updates it. */
int md_acd_blacklist_add(md_acd_t *acd, const char *number, md_acd_bl_level_t level,
                         uint64_t until_ms);
int md_acd_blacklist_remove(md_acd_t *acd, const char *number);
/* 1 and *level if blocked at now_ms, else 0. */
int md_acd_blacklisted(const md_acd_t *acd, const char *number, uint64_t now_ms,
                       md_acd_bl_level_t *level);

/* ---- outbound dial lists (ACD-10) ---- */

int md_acd_campaign_add(md_acd_t *acd, const md_acd_campaign_cfg_t *cfg);
/* The campaign's index by name, or -ENOENT. */
int md_acd_campaign_find(const md_acd_t *acd, const char *name);
int md_acd_campaign_number(md_acd_t *acd, int c, const char *number);
int md_acd_campaign_start(md_acd_t *acd, int c, uint64_t now_ms);
int md_acd_campaign_stop(md_acd_t *acd, int c, uint64_t now_ms);
const md_acd_number_t *md_acd_campaign_entry(const md_acd_t *acd, int c, unsigned i);

/* ---- timers and KPIs ---- */

void md_acd_tick(md_acd_t *acd, uint64_t now_ms);
/* The current half hour's records (closed ones go to the host as KPI actions). */
const md_kpi_t *md_acd_queue_kpi(const md_acd_t *acd, int q);
const md_kpi_t *md_acd_agent_kpi(const md_acd_t *acd, int a);
/* Agents' time in state is accounted up to now_ms first. */
void md_acd_snapshot(md_acd_t *acd, uint64_t now_ms, md_acd_snapshot_t *snap);
/* Expected wait in ms for position pos (1-based) in queue q: see docs/acd.md. 0 unknown. */
uint32_t md_acd_expected_wait(const md_acd_t *acd, int q, unsigned pos);

const char *md_acd_agent_state_name(md_acd_agent_state_t s);

#endif
