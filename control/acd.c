/* The ACD state machine (control/acd.h, docs/acd.md).
 *
 * Shape: every public entry point first brings the half-hour KPI intervals up to now
 * (sync), then changes state, then runs dispatch() which pairs waiting calls with free
 * agents until no pair is left. State changes of agents go through set_state() (time in
 * state is accounted there), the end of a call's handling through end_handling() and
 * finish_acw(), every way back to the queue through requeue_head(), and every way out
 * of the ACD through call_free(). Agents in OFFERED or RESERVED always have a call and a
 * deadline, so tick() can always get them out. */
#include "control/acd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/say.h"

#define SLOT_BITS 20
#define SLOT_MASK ((1u << SLOT_BITS) - 1)
#define ANNOUNCE_MAX_MS 30000u   /* an agent-number announcement never reported done */
#define DIAL_MAX_MS 90000u       /* a dial never reported */
#define SURVEY_MAX_MS 180000u    /* a survey never reported */
#define MAX_OVERFLOWS 4          /* overflow hops of one call (cycles in the configuration) */

enum { PLAY_NONE = 0, PLAY_POS, PLAY_BUSY, PLAY_AGENT, PLAY_MESSAGE };

typedef struct {
    md_acd_queue_cfg_t cfg;
    uint32_t *wait;              /* call slots, sorted: boost desc, prio desc, seq asc */
    unsigned n_wait, cap_wait;
    int rr_last;
    uint32_t aht[MD_ACD_AHT_WINDOW];
    unsigned n_aht, aht_pos;
    md_kpi_t kpi;
} queue_t;

typedef struct {
    int used;
    md_acd_agent_cfg_t cfg;
    md_acd_agent_state_t state;
    char reason[MD_ACD_NAME];
    uint32_t owner;
    uint32_t channel;            /* standing leg */
    uint32_t leg;                /* this call's leg */
    uint64_t since, idle_since, idle_before, acct_since, deadline;
    uint32_t calls;              /* answered since login */
    uint64_t talk_total;         /* since login */
    uint32_t call;               /* offered / handling */
    int pending;
    md_acd_agent_state_t pend_state;
    char pend_reason[MD_ACD_NAME];
    md_acd_agent_state_t pre_dial;
    /* ACD-6: the internal call (consult or direct) this agent made, 0: none; the state it
     * goes back to after an internal call; internal calls connected since login. */
    uint32_t icall;
    md_acd_agent_state_t pre_internal;
    char pre_reason[MD_ACD_NAME];
    uint32_t internal_calls;
    /* after-call work of the last call */
    int acw_queue;
    uint64_t acw_start, acw_talk, acw_hold;
    md_kpi_t kpi;
} agent_t;

typedef struct {
    uint32_t id;                 /* 0: free */
    md_acd_call_kind_t kind;
    md_acd_call_phase_t phase;
    uint32_t channel, owner;
    char ani[MD_ACD_NUMBER];
    char number[MD_ACD_NUMBER];  /* to dial */
    char data[MD_ACD_DATA];
    char lang[8];
    int prio, boost;
    uint64_t seq;
    int queue;
    int in_wait;
    int answered;                /* counted answered in this queue */
    unsigned overflows;
    uint64_t queued_ms;
    uint64_t next_announce;
    int busy_offered;
    uint32_t tag;
    int play_what;
    int agent;
    uint64_t deadline;
    uint64_t talk_start, hold_start, talk_ms, hold_ms;
    int hold_alerted;
    int ivr_away;
    int last_agent;
    int survey_agent;
    int camp;
    unsigned camp_idx;
    /* ACD-6. A caller's call: its consult in progress (0: none). An internal call: the
     * agent who made it, the caller's call it consults about (0: a direct call) and
     * whether it is a three-way now. */
    uint32_t consult;
    int from_agent;
    uint32_t parent;
    int threeway;
} call_t;

typedef struct {
    char number[MD_ACD_NUMBER];
    md_acd_bl_level_t level;
    uint64_t until;
} bl_t;

typedef struct {
    char ani[MD_ACD_NUMBER];
    int agent;
    uint64_t when;
} last_t;

typedef struct {
    md_acd_campaign_cfg_t cfg;
    int used, running, queue;
    md_acd_number_t *nums;
    unsigned n_nums;
} camp_t;

struct md_acd {
    md_acd_limits_t lim;
    md_acd_host_t host;
    queue_t *queues;
    unsigned n_queues;
    agent_t *agents;
    unsigned n_agents;
    int *ready;                  /* dispatch()'s list of ready agents */
    call_t *calls;
    uint32_t *free_ring;         /* FIFO of free slots, so ids come back as late as possible */
    unsigned free_head, free_n;
    uint16_t *gen;
    bl_t *bl;
    unsigned n_bl;
    last_t *last;
    unsigned n_last;
    camp_t *camps;
    unsigned n_camps;
    uint64_t seq;
    uint32_t next_tag;
    uint64_t interval;           /* current half hour */
    uint32_t internal_offer_ms;  /* offers without a queue (md_acd_set_internal_offer_ms) */
    uint32_t arrived_class[MD_ACD_PRIOS];
};

static void dispatch(md_acd_t *acd, uint64_t now);
static void requeue_head(md_acd_t *acd, call_t *c, const char *reason, uint64_t now);
static void connect(md_acd_t *acd, call_t *c, uint64_t now);
static void finish_acw(md_acd_t *acd, int a, uint64_t now);

/* ---- small helpers ---- */

static void copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src != NULL ? src : "");
}

static int act(md_acd_t *acd, const md_acd_action_t *a)
{
    return acd->host.act != NULL ? acd->host.act(acd->host.arg, a) : 0;
}

static md_acd_action_t mk(md_acd_t *acd, md_acd_act_kind_t kind, const call_t *c, int a)
{
    md_acd_action_t x;
    memset(&x, 0, sizeof(x));
    x.kind = kind;
    x.agent = a;
    x.queue = -1;
    if (c != NULL) {
        x.call = c->id;
        x.channel = c->channel;
        x.queue = c->queue;
        x.data = c->data;
        x.ani = c->ani;
        if (c->queue >= 0)
            x.queue_name = acd->queues[c->queue].cfg.name;
    }
    if (a >= 0) {
        x.agent_id = acd->agents[a].cfg.id;
        x.agent_channel = acd->agents[a].leg;
    }
    return x;
}

static void ev(md_acd_t *acd, md_acd_event_t e, const call_t *c, int a, const char *reason,
               int value)
{
    md_acd_action_t x = mk(acd, MD_ACD_ACT_EVENT, c, a);
    x.event = e;
    x.reason = reason;
    x.value = value;
    act(acd, &x);
}

/* The call id, or NULL: 0, out of range or gone. */
static call_t *get(const md_acd_t *acd, uint32_t id)
{
    uint32_t slot = id & SLOT_MASK;
    if (id == 0 || slot >= acd->lim.max_calls || acd->calls[slot].id != id)
        return NULL;
    return &acd->calls[slot];
}

static uint32_t slot_of(const md_acd_t *acd, const call_t *c)
{
    return (uint32_t)(c - acd->calls);
}

static call_t *call_alloc(md_acd_t *acd)
{
    if (acd->free_n == 0)
        return NULL;
    uint32_t slot = acd->free_ring[acd->free_head];
    acd->free_head = (acd->free_head + 1) % acd->lim.max_calls;
    acd->free_n--;
    if (++acd->gen[slot] >= 4096)
        acd->gen[slot] = 1;
    call_t *c = &acd->calls[slot];
    memset(c, 0, sizeof(*c));
    c->id = ((uint32_t)acd->gen[slot] << SLOT_BITS) | slot;
    c->queue = -1;
    c->agent = -1;
    c->last_agent = -1;
    c->survey_agent = -1;
    c->camp = -1;
    c->from_agent = -1;
    return c;
}

static void wait_remove(md_acd_t *acd, call_t *c)
{
    if (!c->in_wait)
        return;
    queue_t *q = &acd->queues[c->queue];
    uint32_t slot = slot_of(acd, c);
    for (unsigned i = 0; i < q->n_wait; i++)
        if (q->wait[i] == slot) {
            memmove(&q->wait[i], &q->wait[i + 1], (q->n_wait - i - 1) * sizeof(uint32_t));
            q->n_wait--;
            break;
        }
    c->in_wait = 0;
}

static void call_free(md_acd_t *acd, call_t *c, const char *reason)
{
    wait_remove(acd, c);
    ev(acd, MD_ACD_EV_ENDED, c, c->agent, reason, 0);
    uint32_t slot = slot_of(acd, c);
    c->id = 0;
    acd->free_ring[(acd->free_head + acd->free_n) % acd->lim.max_calls] = slot;
    acd->free_n++;
}

/* Is a before b in a queue? */
static int before(const call_t *a, const call_t *b)
{
    if (a->boost != b->boost)
        return a->boost > b->boost;
    if (a->prio != b->prio)
        return a->prio > b->prio;
    return a->seq < b->seq;
}

static int wait_insert(md_acd_t *acd, call_t *c)
{
    queue_t *q = &acd->queues[c->queue];
    if (q->n_wait == q->cap_wait) {
        unsigned cap = q->cap_wait ? q->cap_wait * 2 : 64;
        uint32_t *w = realloc(q->wait, cap * sizeof(uint32_t));
        if (w == NULL)
            return -ENOMEM;
        q->wait = w;
        q->cap_wait = cap;
    }
    unsigned i = q->n_wait;
    while (i > 0 && before(c, &acd->calls[q->wait[i - 1]]))
        i--;
    memmove(&q->wait[i + 1], &q->wait[i], (q->n_wait - i) * sizeof(uint32_t));
    q->wait[i] = slot_of(acd, c);
    q->n_wait++;
    c->in_wait = 1;
    return 0;
}

static unsigned position(const md_acd_t *acd, const call_t *c)
{
    if (!c->in_wait)
        return 0;
    const queue_t *q = &acd->queues[c->queue];
    uint32_t slot = (uint32_t)(c - acd->calls);
    for (unsigned i = 0; i < q->n_wait; i++)
        if (q->wait[i] == slot)
            return i + 1;
    return 0;
}

/* Callers actually on the line in q (callbacks do not fill a queue). */
static unsigned live_waiting(const md_acd_t *acd, int qi)
{
    const queue_t *q = &acd->queues[qi];
    unsigned n = 0;
    for (unsigned i = 0; i < q->n_wait; i++)
        n += acd->calls[q->wait[i]].kind == MD_ACD_INBOUND;
    return n;
}

/* ---- KPI intervals and agents' time ---- */

static int busy_state(md_acd_agent_state_t s)
{
    return s == MD_ACD_OFFERED || s == MD_ACD_RESERVED || s == MD_ACD_TALKING ||
           s == MD_ACD_HOLD || s == MD_ACD_ACW;
}

static void acct(agent_t *ag, uint64_t now)
{
    if (now <= ag->acct_since) {
        return;
    }
    uint64_t dt = now - ag->acct_since;
    if (ag->state == MD_ACD_READY)
        ag->kpi.ready_ms += dt;
    else if (ag->state == MD_ACD_NOT_READY)
        ag->kpi.not_ready_ms += dt;
    else if (busy_state(ag->state))
        ag->kpi.busy_ms += dt;
    ag->acct_since = now;
}

static int kpi_touched(const md_kpi_t *k)
{
    return k->offered || k->answered || k->abandoned || k->abandoned_short || k->overflowed ||
           k->deflected || k->callbacks || k->blocked || k->transferred || k->handled ||
           k->surveys || k->no_answer || k->ready_ms || k->busy_ms || k->not_ready_ms ||
           k->dialed || k->internal_calls;
}

static void kpi_reset(md_kpi_t *k, uint64_t start)
{
    md_kpi_t keep = *k;
    memset(k, 0, sizeof(*k));
    k->scope = keep.scope;
    memcpy(k->name, keep.name, sizeof(k->name));
    k->sl_threshold_ms = keep.sl_threshold_ms;
    k->short_abandon_ms = keep.short_abandon_ms;
    k->start_ms = start;
}

static void close_record(md_acd_t *acd, md_kpi_t *k, uint64_t next)
{
    if (kpi_touched(k)) {
        md_acd_action_t x = mk(acd, MD_ACD_ACT_KPI, NULL, -1);
        x.kpi = k;
        act(acd, &x);
    }
    kpi_reset(k, next);
}

static void sync(md_acd_t *acd, uint64_t now)
{
    while (md_kpi_interval(now) > acd->interval) {
        uint64_t next = acd->interval + MD_KPI_INTERVAL_MS;
        for (unsigned a = 0; a < acd->n_agents; a++) {
            agent_t *ag = &acd->agents[a];
            if (ag->state != MD_ACD_LOGGED_OUT)
                acct(ag, next);
            close_record(acd, &ag->kpi, next);
        }
        for (unsigned q = 0; q < acd->n_queues; q++)
            close_record(acd, &acd->queues[q].kpi, next);
        memset(acd->arrived_class, 0, sizeof(acd->arrived_class));
        acd->interval = next;
    }
}

static void set_state(md_acd_t *acd, int a, md_acd_agent_state_t st, const char *reason,
                      uint64_t now)
{
    agent_t *ag = &acd->agents[a];
    acct(ag, now);
    ag->state = st;
    copy(ag->reason, sizeof(ag->reason), reason);
    ag->since = now;
    ag->deadline = 0;
    if (st == MD_ACD_READY)
        ag->idle_since = now;
    if (st == MD_ACD_READY || st == MD_ACD_NOT_READY || st == MD_ACD_LOGGED_OUT) {
        ag->call = 0;
        ag->leg = 0;
    }
    if (st == MD_ACD_LOGGED_OUT) {
        ag->owner = 0;
        ag->channel = 0;
        ag->pending = 0;
    }
    ev(acd, MD_ACD_EV_AGENT_STATE, NULL, a, ag->reason, (int)st);
}

/* Back to ready after an offer or a reservation that was not the agent's fault: it keeps
 * its place in the longest-idle order. */
static void back_to_ready(md_acd_t *acd, int a, uint64_t now)
{
    agent_t *ag = &acd->agents[a];
    uint64_t idle = ag->idle_before;
    if (ag->pending) {
        ag->pending = 0;
        set_state(acd, a, ag->pend_state, ag->pend_reason, now);
        return;
    }
    set_state(acd, a, MD_ACD_READY, "", now);
    ag->idle_since = idle;
}

/* ---- queues: skills, strategies ---- */

static const char *queue_skill(const queue_t *q)
{
    return q->cfg.skill[0] != '\0' ? q->cfg.skill : q->cfg.name;
}

/* The agent's level in q's skill if it qualifies, else 0. */
static unsigned level_for(const agent_t *ag, const queue_t *q)
{
    const char *sk = queue_skill(q);
    for (unsigned i = 0; i < ag->cfg.n_skills; i++)
        if (strcmp(ag->cfg.skills[i].name, sk) == 0 &&
            ag->cfg.skills[i].level >= (q->cfg.min_level ? q->cfg.min_level : 1))
            return ag->cfg.skills[i].level;
    return 0;
}

static int free_for(const md_acd_t *acd, int a, int qi)
{
    const agent_t *ag = &acd->agents[a];
    return ag->used && ag->state == MD_ACD_READY && level_for(ag, &acd->queues[qi]) > 0;
}

/* Is one of the n ready agents in list qualified for queue qi? */
static int any_free(const md_acd_t *acd, int qi, const int *list, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (level_for(&acd->agents[list[i]], &acd->queues[qi]) > 0)
            return 1;
    return 0;
}

/* Is agent x better than y for queue q (both free)? */
static int better(const md_acd_t *acd, const queue_t *q, int x, int y)
{
    const agent_t *a = &acd->agents[x], *b = &acd->agents[y];
    switch (q->cfg.strategy) {
    case MD_ACD_FEWEST_CALLS:
        if (a->calls != b->calls)
            return a->calls < b->calls;
        break;
    case MD_ACD_LEAST_TALK:
        if (a->talk_total != b->talk_total)
            return a->talk_total < b->talk_total;
        break;
    case MD_ACD_SKILL_LEVEL: {
        unsigned la = level_for(a, q), lb = level_for(b, q);
        if (la != lb)
            return la > lb;
        break;
    }
    default:
        break;
    }
    if (a->idle_since != b->idle_since)
        return a->idle_since < b->idle_since;
    return x < y;
}

/* The agents to offer call c to (several for ring-all). Returns the count. */
static unsigned pick(md_acd_t *acd, int qi, const call_t *c, int *out)
{
    queue_t *q = &acd->queues[qi];
    int n = (int)acd->n_agents;
    if (c->last_agent >= 0 && free_for(acd, c->last_agent, qi)) {
        out[0] = c->last_agent;
        return 1;
    }
    if (q->cfg.strategy == MD_ACD_RING_ALL) {
        unsigned k = 0;
        for (int a = 0; a < n; a++)
            if (free_for(acd, a, qi))
                out[k++] = a;
        return k;
    }
    if (q->cfg.strategy == MD_ACD_ROUND_ROBIN) {
        for (int i = 1; i <= n; i++) {
            int a = (q->rr_last + i) % n;
            if (a < 0)
                a += n;
            if (free_for(acd, a, qi)) {
                out[0] = a;
                q->rr_last = a;
                return 1;
            }
        }
        return 0;
    }
    int best = -1;
    for (int a = 0; a < n; a++)
        if (free_for(acd, a, qi) && (best < 0 || better(acd, q, a, best)))
            best = a;
    if (best < 0)
        return 0;
    out[0] = best;
    return 1;
}

/* ---- playing to the caller ---- */

typedef struct {
    md_say_name_t buf[MD_ACD_PLAY];
    const char *ptr[MD_ACD_PLAY];
    unsigned n;
} names_t;

static void nm_add(names_t *nm, const char *lang, const char *name)
{
    if (nm->n == MD_ACD_PLAY || name == NULL || name[0] == '\0')
        return;
    size_t ll = strlen(lang), nl = strlen(name);
    if (ll + 1 + nl >= sizeof(nm->buf[nm->n]))
        return;   /* longer than any prompt name: not played */
    memcpy(nm->buf[nm->n], lang, ll);
    nm->buf[nm->n][ll] = '/';
    memcpy(nm->buf[nm->n] + ll + 1, name, nl + 1);
    nm->ptr[nm->n] = nm->buf[nm->n];
    nm->n++;
}

static void nm_say(names_t *nm, const char *lang, md_say_kind_t kind, const char *value)
{
    md_say_name_t tmp[16];
    int n = md_say(lang, kind, value, tmp, 16);
    for (int i = 0; i < n; i++)
        nm_add(nm, lang, tmp[i]);
}

static void music(md_acd_t *acd, call_t *c, int on)
{
    if (c->channel == 0)
        return;
    md_acd_action_t x = mk(acd, MD_ACD_ACT_MUSIC, c, -1);
    x.on = on;
    act(acd, &x);
}

static void prompt_finished(md_acd_t *acd, call_t *c, uint64_t now);

static void play(md_acd_t *acd, call_t *c, md_acd_act_kind_t kind, int what, names_t *nm,
                 uint64_t now)
{
    md_acd_action_t x = mk(acd, kind, c, kind == MD_ACD_ACT_ANNOUNCE_AGENT ? c->agent : -1);
    c->tag = ++acd->next_tag;
    c->play_what = what;
    x.names = nm->ptr;
    x.n_names = nm->n;
    x.tag = c->tag;
    if (nm->n == 0 || act(acd, &x) != 0)
        prompt_finished(acd, c, now);   /* nothing to play: as if it had ended */
}

static void release(md_acd_t *acd, call_t *c, const char *prompt)
{
    if (c->channel == 0)
        return;
    md_acd_action_t x = mk(acd, MD_ACD_ACT_RELEASE, c, -1);
    char p[MD_FLOW_NAME + 8];
    if (prompt != NULL && prompt[0] != '\0') {
        snprintf(p, sizeof(p), "%s/%s", c->lang, prompt);
        x.target = p;
    }
    act(acd, &x);
    c->channel = 0;
}

static void route(md_acd_t *acd, call_t *c, md_acd_route_t r, const char *target)
{
    md_acd_action_t x = mk(acd, MD_ACD_ACT_ROUTE, c, c->agent);
    x.route = r;
    x.target = target;
    act(acd, &x);
}

uint32_t md_acd_expected_wait(const md_acd_t *acd, int qi, unsigned pos)
{
    if (qi < 0 || (unsigned)qi >= acd->n_queues)
        return 0;
    const queue_t *q = &acd->queues[qi];
    uint64_t aht = q->cfg.default_aht_ms;
    if (q->n_aht > 0) {
        uint64_t sum = 0;
        for (unsigned i = 0; i < q->n_aht; i++)
            sum += q->aht[i];
        aht = sum / q->n_aht;
    }
    unsigned staffed = 0;
    for (unsigned a = 0; a < acd->n_agents; a++) {
        const agent_t *ag = &acd->agents[a];
        if (ag->used && ag->state != MD_ACD_LOGGED_OUT && ag->state != MD_ACD_NOT_READY &&
            level_for(ag, q) > 0)
            staffed++;
    }
    if (staffed == 0 || aht == 0)
        return 0;
    uint64_t w = (uint64_t)pos * aht / staffed;
    return w > UINT32_MAX ? UINT32_MAX : (uint32_t)w;
}

static void announce_position(md_acd_t *acd, call_t *c, uint64_t now)
{
    names_t nm = { .n = 0 };
    char v[16];
    unsigned pos = position(acd, c);
    snprintf(v, sizeof(v), "%u", pos);
    nm_add(&nm, c->lang, "acd/position");
    nm_say(&nm, c->lang, MD_SAY_NUMBER, v);
    uint32_t ewt = md_acd_expected_wait(acd, c->queue, pos);
    if (ewt > 0) {
        snprintf(v, sizeof(v), "%u", (ewt + 59999) / 60000);
        nm_add(&nm, c->lang, "acd/expected_wait");
        nm_say(&nm, c->lang, MD_SAY_NUMBER, v);
        nm_add(&nm, c->lang, "acd/minutes");
    }
    play(acd, c, MD_ACD_ACT_PLAY, PLAY_POS, &nm, now);
}

/* ---- KPIs of calls ---- */

static queue_t *qof(md_acd_t *acd, const call_t *c)
{
    return c->queue >= 0 ? &acd->queues[c->queue] : NULL;
}

static void note_wait(md_kpi_t *k, uint64_t wait)
{
    if (wait > k->longest_wait_ms)
        k->longest_wait_ms = (uint32_t)(wait > UINT32_MAX ? UINT32_MAX : wait);
}

static void count_abandon(md_acd_t *acd, call_t *c, const char *phase, uint64_t now)
{
    queue_t *q = qof(acd, c);
    if (q == NULL || c->kind != MD_ACD_INBOUND)
        return;
    uint64_t wait = now - c->queued_ms;
    if (wait < q->cfg.short_abandon_ms) {
        q->kpi.abandoned_short++;
        ev(acd, MD_ACD_EV_ABANDONED, c, -1, "short", (int)wait);
        return;
    }
    q->kpi.abandoned++;
    q->kpi.wait_abandoned_ms += wait;
    if (wait <= q->cfg.sl_threshold_ms)
        q->kpi.abandoned_in_sl++;
    note_wait(&q->kpi, wait);
    ev(acd, MD_ACD_EV_ABANDONED, c, -1, phase, (int)wait);
}

/* ---- entering a queue ---- */

static void schedule(md_acd_t *acd, call_t *c, uint64_t now)
{
    const queue_t *q = &acd->queues[c->queue];
    c->next_announce = q->cfg.announce_first_ms ? now + q->cfg.announce_first_ms : 0;
    c->busy_offered = 0;
}

static int overflow(md_acd_t *acd, call_t *c, const char *reason, uint64_t now);

/* Puts c (not waiting anywhere) in queue qi. Returns 0, or -EBUSY if the queue is full
 * and has no overflow (the caller was released with the busy message and c is freed). */
static int enqueue(md_acd_t *acd, call_t *c, int qi, uint64_t now)
{
    queue_t *q = &acd->queues[qi];
    c->queue = qi;
    c->queued_ms = now;
    c->answered = 0;
    c->boost = 0;
    c->agent = -1;
    c->phase = MD_ACD_CALL_WAITING;
    c->play_what = PLAY_NONE;
    q->kpi.offered++;
    q->kpi.offered_class[c->prio]++;
    if (c->kind == MD_ACD_INBOUND && q->cfg.max_len > 0 && live_waiting(acd, qi) >= q->cfg.max_len)
        return overflow(acd, c, "full", now);
    if (wait_insert(acd, c) != 0) {
        q->kpi.blocked++;
        release(acd, c, "acd/system_busy");
        call_free(acd, c, "no_memory");
        return -ENOMEM;
    }
    schedule(acd, c, now);
    ev(acd, MD_ACD_EV_QUEUED, c, -1, "", c->prio);
    music(acd, c, 1);
    return 0;
}

static void make_callback(md_acd_t *acd, call_t *c, const char *number)
{
    c->kind = MD_ACD_CALLBACK;
    copy(c->number, sizeof(c->number), number != NULL && number[0] ? number : c->ani);
    release(acd, c, "acd/callback_ok");
    c->play_what = PLAY_NONE;
}

/* c leaves its queue for the overflow target. */
static int overflow(md_acd_t *acd, call_t *c, const char *reason, uint64_t now)
{
    queue_t *q = qof(acd, c);
    int full = strcmp(reason, "full") == 0;
    md_acd_overflow_t o = q->cfg.overflow;
    int target = -1;
    if (o == MD_ACD_OVF_QUEUE) {
        target = md_acd_queue_find(acd, q->cfg.overflow_target);
        if (target < 0 || target == c->queue || c->overflows >= MAX_OVERFLOWS)
            o = MD_ACD_OVF_NONE;
    }
    if (o == MD_ACD_OVF_NONE) {
        if (!full)
            return 0;   /* max wait without a target: keeps waiting */
        q->kpi.offered--;
        q->kpi.offered_class[c->prio]--;
        q->kpi.blocked++;
        ev(acd, MD_ACD_EV_BLOCKED, c, -1, "full", 0);
        release(acd, c, "acd/system_busy");
        call_free(acd, c, "blocked");
        return -EBUSY;
    }
    wait_remove(acd, c);
    q->kpi.overflowed++;
    note_wait(&q->kpi, now - c->queued_ms);
    ev(acd, MD_ACD_EV_OVERFLOW, c, -1, reason, 0);
    switch (o) {
    case MD_ACD_OVF_QUEUE:
        c->overflows++;
        return enqueue(acd, c, target, now);
    case MD_ACD_OVF_VOICEMAIL:
        route(acd, c, MD_ACD_ROUTE_VOICEMAIL, q->cfg.overflow_target);
        c->channel = 0;
        call_free(acd, c, "voicemail");
        return 0;
    case MD_ACD_OVF_CALLBACK:
        /* A virtual caller that keeps (or takes) its place. */
        make_callback(acd, c, NULL);
        ev(acd, MD_ACD_EV_CALLBACK, c, -1, "overflow", 0);
        if (wait_insert(acd, c) != 0) {
            call_free(acd, c, "no_memory");
            return -ENOMEM;
        }
        return 0;
    case MD_ACD_OVF_BUSY:
        release(acd, c, "acd/system_busy");
        call_free(acd, c, "busy");
        return 0;
    default:
        return 0;
    }
}

/* ---- offers ---- */

static unsigned offered_agents(const md_acd_t *acd, const call_t *c, int *out)
{
    unsigned k = 0;
    for (unsigned a = 0; a < acd->n_agents; a++) {
        const agent_t *ag = &acd->agents[a];
        if (ag->used && ag->call == c->id &&
            (ag->state == MD_ACD_OFFERED || ag->state == MD_ACD_RESERVED)) {
            if (out != NULL)
                out[k] = (int)a;
            k++;
        }
    }
    return k;
}

static void cancel_offer(md_acd_t *acd, call_t *c, int a)
{
    md_acd_action_t x = mk(acd, MD_ACD_ACT_CANCEL, c, a);
    act(acd, &x);
}

/* Withdraws every offer of c; the agents go back to ready (not their fault). */
static void cancel_all(md_acd_t *acd, call_t *c, int except, uint64_t now)
{
    int *list = malloc(acd->n_agents * sizeof(int) + sizeof(int));
    unsigned n = list ? offered_agents(acd, c, list) : 0;
    for (unsigned i = 0; i < n; i++) {
        if (list[i] == except)
            continue;
        if (acd->agents[list[i]].state == MD_ACD_OFFERED)
            cancel_offer(acd, c, list[i]);
        back_to_ready(acd, list[i], now);
    }
    free(list);
}

/* The agent answered (or auto-answered). */
static void answered(md_acd_t *acd, call_t *c, int a, uint32_t leg, uint64_t now)
{
    agent_t *ag = &acd->agents[a];
    cancel_all(acd, c, a, now);
    ag->leg = leg != 0 ? leg : ag->channel;
    c->agent = a;
    queue_t *q = qof(acd, c);
    if (q != NULL && q->cfg.announce_agent && c->kind == MD_ACD_INBOUND) {
        set_state(acd, a, MD_ACD_RESERVED, "announce", now);
        ag->call = c->id;
        ag->deadline = now + ANNOUNCE_MAX_MS;
        c->phase = MD_ACD_CALL_ANNOUNCE;
        c->deadline = now + ANNOUNCE_MAX_MS;
        names_t nm = { .n = 0 };
        nm_add(&nm, c->lang, "acd/agent");
        nm_say(&nm, c->lang, MD_SAY_DIGITS, ag->cfg.id);
        nm_add(&nm, c->lang, "acd/at_your_service");
        play(acd, c, MD_ACD_ACT_ANNOUNCE_AGENT, PLAY_AGENT, &nm, now);
        return;
    }
    connect(acd, c, now);
}

static void offer_failed(md_acd_t *acd, call_t *c, int a, const char *reason, uint64_t now)
{
    agent_t *ag = &acd->agents[a];
    if (strcmp(reason, "no_answer") == 0)
        ag->kpi.no_answer++;
    if (ag->pending) {
        ag->pending = 0;
        set_state(acd, a, ag->pend_state, ag->pend_reason, now);
    } else {
        set_state(acd, a, MD_ACD_NOT_READY, reason, now);
    }
    if (offered_agents(acd, c, NULL) == 0)
        requeue_head(acd, c, reason, now);
}

static void offer_to(md_acd_t *acd, call_t *c, int *list, unsigned n, uint64_t now)
{
    queue_t *q = qof(acd, c);
    c->phase = MD_ACD_CALL_OFFERED;
    c->deadline = now + q->cfg.offer_timeout_ms;
    for (unsigned i = 0; i < n; i++) {
        agent_t *ag = &acd->agents[list[i]];
        ag->idle_before = ag->idle_since;
        set_state(acd, list[i], MD_ACD_OFFERED, "", now);
        ag->kpi.offered++;
        ag->call = c->id;
        ag->leg = ag->channel;
        ag->deadline = now + q->cfg.offer_timeout_ms;
    }
    for (unsigned i = 0; i < n; i++) {
        int a = list[i];
        agent_t *ag = &acd->agents[a];
        if (ag->state != MD_ACD_OFFERED || ag->call != c->id)
            continue;   /* an earlier auto-answer took the call */
        md_acd_action_t x = mk(acd, MD_ACD_ACT_OFFER, c, a);
        x.reason = "";
        if (act(acd, &x) != 0) {
            offer_failed(acd, c, a, "leg_failed", now);
            if (c->phase != MD_ACD_CALL_OFFERED)
                return;
            continue;
        }
        if (ag->cfg.auto_answer && ag->channel != 0) {
            answered(acd, c, a, ag->channel, now);
            return;
        }
    }
}

/* c is at the head of its queue and an agent is free. */
static void assign(md_acd_t *acd, call_t *c, uint64_t now)
{
    int *list = malloc(acd->n_agents * sizeof(int) + sizeof(int));
    if (list == NULL)
        return;
    unsigned n = pick(acd, c->queue, c, list);
    if (n == 0) {
        free(list);
        return;
    }
    wait_remove(acd, c);
    if (c->kind == MD_ACD_CALLBACK) {
        /* The virtual caller reached the head: reserve the agent, then dial out. */
        int a = list[0];
        agent_t *ag = &acd->agents[a];
        ag->idle_before = ag->idle_since;
        set_state(acd, a, MD_ACD_RESERVED, "callback", now);
        ag->call = c->id;
        ag->leg = ag->channel;
        ag->deadline = now + DIAL_MAX_MS;
        c->agent = a;
        c->phase = MD_ACD_CALL_DIALING;
        c->deadline = now + DIAL_MAX_MS;
        md_acd_action_t x = mk(acd, MD_ACD_ACT_DIAL, c, a);
        x.target = c->number;
        if (act(acd, &x) != 0)
            md_acd_dial_result(acd, c->id, MD_ACD_DIAL_FAILED, 0, now);
    } else {
        offer_to(acd, c, list, n, now);
    }
    free(list);
}

static void campaigns(md_acd_t *acd, uint64_t now);

static void dispatch(md_acd_t *acd, uint64_t now)
{
    for (unsigned guard = 0; guard < acd->lim.max_calls + acd->n_agents + 1; guard++) {
        /* The ready agents, once per pairing: under load nobody is ready and nothing
         * else is scanned (docs/benchmarks.md, medley-acd-bench). */
        unsigned n_ready = 0;
        for (unsigned a = 0; a < acd->n_agents; a++)
            if (acd->agents[a].used && acd->agents[a].state == MD_ACD_READY)
                acd->ready[n_ready++] = (int)a;
        if (n_ready == 0)
            break;
        call_t *best = NULL;
        for (unsigned qi = 0; qi < acd->n_queues; qi++) {
            queue_t *q = &acd->queues[qi];
            if (q->n_wait == 0)
                continue;
            call_t *h = &acd->calls[q->wait[0]];
            /* A head whose last agent is free goes first to it; otherwise any free agent. */
            if (!any_free(acd, (int)qi, acd->ready, n_ready))
                continue;
            if (best == NULL || before(h, best))
                best = h;
        }
        if (best == NULL)
            break;
        assign(acd, best, now);
    }
    campaigns(acd, now);
}

static void requeue_head(md_acd_t *acd, call_t *c, const char *reason, uint64_t now)
{
    c->agent = -1;
    c->phase = MD_ACD_CALL_WAITING;
    c->deadline = 0;
    c->boost = 1;
    c->play_what = PLAY_NONE;
    if (wait_insert(acd, c) != 0) {
        release(acd, c, "acd/system_busy");
        call_free(acd, c, "no_memory");
        return;
    }
    ev(acd, MD_ACD_EV_REQUEUED, c, -1, reason, 0);
    music(acd, c, 1);
}

/* ---- connected calls ---- */

static void remember_agent(md_acd_t *acd, const char *ani, int a, uint64_t now)
{
    if (ani == NULL || ani[0] == '\0' || acd->lim.max_last_agent == 0)
        return;
    unsigned i, oldest = 0;
    for (i = 0; i < acd->n_last; i++) {
        if (strcmp(acd->last[i].ani, ani) == 0)
            break;
        if (acd->last[i].when < acd->last[oldest].when)
            oldest = i;
    }
    if (i == acd->n_last) {
        if (acd->n_last < acd->lim.max_last_agent)
            acd->n_last++;
        else
            i = oldest;
    }
    copy(acd->last[i].ani, sizeof(acd->last[i].ani), ani);
    acd->last[i].agent = a;
    acd->last[i].when = now;
}

static int last_agent_of(const md_acd_t *acd, const char *ani)
{
    if (ani == NULL || ani[0] == '\0')
        return -1;
    for (unsigned i = 0; i < acd->n_last; i++)
        if (strcmp(acd->last[i].ani, ani) == 0)
            return acd->last[i].agent;
    return -1;
}

static void connect(md_acd_t *acd, call_t *c, uint64_t now)
{
    int a = c->agent;
    agent_t *ag = &acd->agents[a];
    queue_t *q = qof(acd, c);
    md_acd_action_t x = mk(acd, MD_ACD_ACT_BRIDGE, c, a);
    act(acd, &x);
    set_state(acd, a, MD_ACD_TALKING, "", now);
    ag->call = c->id;
    c->phase = MD_ACD_CALL_TALKING;
    c->deadline = 0;
    c->talk_start = now;
    c->play_what = PLAY_NONE;
    ag->calls++;
    ag->kpi.answered++;
    if (c->kind == MD_ACD_INBOUND && q != NULL && !c->answered) {
        uint64_t wait = now - c->queued_ms;
        c->answered = 1;
        q->kpi.answered++;
        q->kpi.wait_answered_ms += wait;
        if (wait <= q->cfg.sl_threshold_ms)
            q->kpi.answered_in_sl++;
        note_wait(&q->kpi, wait);
    }
    if (c->kind == MD_ACD_INBOUND || c->kind == MD_ACD_CALLBACK)
        remember_agent(acd, c->ani, a, now);
    ev(acd, MD_ACD_EV_CONNECTED, c, a, "", 0);
}

/* The agent's part of the call ended: time accounted, the agent to after-call work. */
static void end_handling(md_acd_t *acd, call_t *c, uint64_t now)
{
    int a = c->agent;
    if (a < 0)
        return;
    agent_t *ag = &acd->agents[a];
    if (c->phase == MD_ACD_CALL_TALKING)
        c->talk_ms += now - c->talk_start;
    else if (c->phase == MD_ACD_CALL_HOLD)
        c->hold_ms += now - c->hold_start;
    ag->talk_total += c->talk_ms;
    ag->acw_queue = c->queue;
    ag->acw_talk = c->talk_ms;
    ag->acw_hold = c->hold_ms;
    ag->acw_start = now;
    c->talk_ms = c->hold_ms = 0;
    c->agent = -1;
    queue_t *q = qof(acd, c);
    uint32_t acw = q != NULL ? q->cfg.acw_ms : 0;
    set_state(acd, a, MD_ACD_ACW, "", now);
    ag->call = 0;
    if (acw == 0) {
        finish_acw(acd, a, now);
        return;
    }
    ag->deadline = now + acw;
}

static void finish_acw(md_acd_t *acd, int a, uint64_t now)
{
    agent_t *ag = &acd->agents[a];
    uint64_t acw = now - ag->acw_start;
    md_kpi_t *ks[2] = { &ag->kpi, ag->acw_queue >= 0 ? &acd->queues[ag->acw_queue].kpi : NULL };
    for (int i = 0; i < 2; i++) {
        if (ks[i] == NULL)
            continue;
        ks[i]->handled++;
        ks[i]->talk_ms += ag->acw_talk;
        ks[i]->hold_ms += ag->acw_hold;
        ks[i]->acw_ms += acw;
    }
    if (ag->acw_queue >= 0) {
        queue_t *q = &acd->queues[ag->acw_queue];
        uint64_t h = ag->acw_talk + ag->acw_hold + acw;
        q->aht[q->aht_pos] = (uint32_t)(h > UINT32_MAX ? UINT32_MAX : h);
        q->aht_pos = (q->aht_pos + 1) % MD_ACD_AHT_WINDOW;
        if (q->n_aht < MD_ACD_AHT_WINDOW)
            q->n_aht++;
    }
    if (ag->pending) {
        ag->pending = 0;
        set_state(acd, a, ag->pend_state, ag->pend_reason, now);
    } else {
        set_state(acd, a, MD_ACD_READY, "", now);
    }
}

/* ---- construction and configuration ---- */

md_acd_t *md_acd_new(const md_acd_limits_t *lim, const md_acd_host_t *host, uint64_t now)
{
    md_acd_limits_t l = { 64, 1024, 16384, 1024, 4096, 8, 1024 };
    if (lim != NULL)
        l = *lim;
    if (l.max_calls == 0 || l.max_calls > SLOT_MASK || l.max_agents == 0 || l.max_queues == 0)
        return NULL;
    md_acd_t *acd = calloc(1, sizeof(*acd));
    if (acd == NULL)
        return NULL;
    acd->lim = l;
    if (host != NULL)
        acd->host = *host;
    acd->queues = calloc(l.max_queues, sizeof(queue_t));
    acd->agents = calloc(l.max_agents, sizeof(agent_t));
    acd->ready = calloc(l.max_agents, sizeof(int));
    acd->calls = calloc(l.max_calls, sizeof(call_t));
    acd->free_ring = calloc(l.max_calls, sizeof(uint32_t));
    acd->gen = calloc(l.max_calls, sizeof(uint16_t));
    acd->bl = calloc(l.max_blacklist + 1, sizeof(bl_t));
    acd->last = calloc(l.max_last_agent + 1, sizeof(last_t));
    acd->camps = calloc(l.max_campaigns + 1, sizeof(camp_t));
    if (!acd->queues || !acd->agents || !acd->ready || !acd->calls || !acd->free_ring || !acd->gen ||
        !acd->bl || !acd->last || !acd->camps) {
        md_acd_free(acd);
        return NULL;
    }
    for (uint32_t i = 0; i < l.max_calls; i++)
        acd->free_ring[i] = i;
    acd->free_n = l.max_calls;
    acd->interval = md_kpi_interval(now);
    acd->internal_offer_ms = MD_ACD_INTERNAL_OFFER_MS;
    return acd;
}

void md_acd_free(md_acd_t *acd)
{
    if (acd == NULL)
        return;
    if (acd->queues != NULL)
        for (unsigned q = 0; q < acd->n_queues; q++)
            free(acd->queues[q].wait);
    if (acd->camps != NULL)
        for (unsigned c = 0; c < acd->n_camps; c++)
            free(acd->camps[c].nums);
    free(acd->queues);
    free(acd->agents);
    free(acd->ready);
    free(acd->calls);
    free(acd->free_ring);
    free(acd->gen);
    free(acd->bl);
    free(acd->last);
    free(acd->camps);
    free(acd);
}

int md_acd_set_internal_offer_ms(md_acd_t *acd, uint32_t ms)
{
    if (ms == 0)
        return -EINVAL;
    acd->internal_offer_ms = ms;
    return 0;
}

uint32_t md_acd_internal_offer_ms(const md_acd_t *acd)
{
    return acd->internal_offer_ms;
}

const md_acd_limits_t *md_acd_limits(const md_acd_t *acd)
{
    return &acd->lim;
}

void md_acd_queue_defaults(md_acd_queue_cfg_t *cfg, const char *name)
{
    memset(cfg, 0, sizeof(*cfg));
    copy(cfg->name, sizeof(cfg->name), name);
    cfg->min_level = 1;
    cfg->strategy = MD_ACD_LONGEST_IDLE;
    cfg->offer_timeout_ms = 15000;
    cfg->acw_ms = 10000;
    cfg->announce_first_ms = 5000;
    cfg->announce_every_ms = 60000;
    cfg->busy_offer_ms = 30000;
    copy(cfg->busy_prompt, sizeof(cfg->busy_prompt), "acd/busy_offer");
    copy(cfg->self_service, sizeof(cfg->self_service), "main");
    cfg->announce_agent = 1;
    cfg->sl_threshold_ms = 15000;
    cfg->short_abandon_ms = 5000;
    cfg->sl_abandon = MD_KPI_ABANDON_NEGATIVE;
    cfg->default_aht_ms = 180000;
    cfg->hold_alert_ms = 60000;
    copy(cfg->lang, sizeof(cfg->lang), "en");
}

int md_acd_queue_find(const md_acd_t *acd, const char *name)
{
    if (name == NULL)
        return -ENOENT;
    for (unsigned q = 0; q < acd->n_queues; q++)
        if (strcmp(acd->queues[q].cfg.name, name) == 0)
            return (int)q;
    return -ENOENT;
}

int md_acd_queue_add(md_acd_t *acd, const md_acd_queue_cfg_t *cfg)
{
    if (cfg == NULL || cfg->name[0] == '\0' || memchr(cfg->name, 0, MD_ACD_NAME) == NULL ||
        cfg->strategy > MD_ACD_RING_ALL || cfg->overflow > MD_ACD_OVF_BUSY ||
        cfg->sl_abandon > MD_KPI_ABANDON_POSITIVE || cfg->offer_timeout_ms == 0 ||
        cfg->min_level > 10)
        return -EINVAL;
    if (md_acd_queue_find(acd, cfg->name) >= 0)
        return -EEXIST;
    if (acd->n_queues == acd->lim.max_queues)
        return -ENOSPC;
    queue_t *q = &acd->queues[acd->n_queues];
    memset(q, 0, sizeof(*q));
    q->cfg = *cfg;
    if (q->cfg.lang[0] == '\0')
        copy(q->cfg.lang, sizeof(q->cfg.lang), "en");
    q->rr_last = -1;
    q->kpi.scope = MD_KPI_QUEUE;
    copy(q->kpi.name, sizeof(q->kpi.name), cfg->name);
    q->kpi.start_ms = acd->interval;
    q->kpi.sl_threshold_ms = cfg->sl_threshold_ms;
    q->kpi.short_abandon_ms = cfg->short_abandon_ms;
    return (int)acd->n_queues++;
}

const md_acd_queue_cfg_t *md_acd_queue_cfg(const md_acd_t *acd, int q)
{
    return q >= 0 && (unsigned)q < acd->n_queues ? &acd->queues[q].cfg : NULL;
}

int md_acd_queue_set_busy_prompt(md_acd_t *acd, int q, const char *prompt)
{
    if (q < 0 || (unsigned)q >= acd->n_queues)
        return -ENOENT;
    if (prompt == NULL || prompt[0] == '\0' || strlen(prompt) >= MD_ACD_NAME)
        return -EINVAL;
    copy(acd->queues[q].cfg.busy_prompt, MD_ACD_NAME, prompt);
    return 0;
}

int md_acd_queue_set_strategy(md_acd_t *acd, int q, md_acd_strategy_t s, uint64_t now)
{
    if (q < 0 || (unsigned)q >= acd->n_queues)
        return -ENOENT;
    if (s > MD_ACD_RING_ALL)
        return -EINVAL;
    sync(acd, now);
    acd->queues[q].cfg.strategy = s;
    dispatch(acd, now);
    return 0;
}

static int skills_ok(const md_acd_skill_t *s, unsigned n)
{
    if (n > MD_ACD_SKILLS || (n > 0 && s == NULL))
        return 0;
    for (unsigned i = 0; i < n; i++)
        if (s[i].name[0] == '\0' || memchr(s[i].name, 0, MD_ACD_NAME) == NULL ||
            s[i].level < 1 || s[i].level > 10)
            return 0;
    return 1;
}

int md_acd_agent_find(const md_acd_t *acd, const char *id)
{
    if (id == NULL)
        return -ENOENT;
    for (unsigned a = 0; a < acd->n_agents; a++)
        if (acd->agents[a].used && strcmp(acd->agents[a].cfg.id, id) == 0)
            return (int)a;
    return -ENOENT;
}

int md_acd_agent_add(md_acd_t *acd, const md_acd_agent_cfg_t *cfg)
{
    if (cfg == NULL || cfg->id[0] == '\0' || memchr(cfg->id, 0, MD_ACD_NAME) == NULL ||
        !skills_ok(cfg->skills, cfg->n_skills))
        return -EINVAL;
    if (md_acd_agent_find(acd, cfg->id) >= 0)
        return -EEXIST;
    if (acd->n_agents == acd->lim.max_agents)
        return -ENOSPC;
    agent_t *ag = &acd->agents[acd->n_agents];
    memset(ag, 0, sizeof(*ag));
    ag->used = 1;
    ag->cfg = *cfg;
    ag->state = MD_ACD_LOGGED_OUT;
    ag->acw_queue = -1;
    ag->kpi.scope = MD_KPI_AGENT;
    copy(ag->kpi.name, sizeof(ag->kpi.name), cfg->id);
    ag->kpi.start_ms = acd->interval;
    return (int)acd->n_agents++;
}

/* ---- agents ---- */

/* Agent a, or NULL: out of range or never added. */
static agent_t *agent_at(const md_acd_t *acd, int a)
{
    if (a < 0 || (unsigned)a >= acd->n_agents || !acd->agents[a].used)
        return NULL;
    return &acd->agents[a];
}

const char *md_acd_agent_state_name(md_acd_agent_state_t s)
{
    static const char *const names[] = { "logged_out", "ready",   "not_ready", "offered",
                                         "reserved",   "talking", "hold",      "acw" };
    return s < MD_ACD_AGENT_STATES ? names[s] : "?";
}

md_acd_agent_state_t md_acd_agent_state(const md_acd_t *acd, int a, const char **reason)
{
    if (a < 0 || (unsigned)a >= acd->n_agents)
        return MD_ACD_LOGGED_OUT;
    if (reason != NULL)
        *reason = acd->agents[a].reason;
    return acd->agents[a].state;
}

uint32_t md_acd_agent_channel(const md_acd_t *acd, int a)
{
    const agent_t *ag = agent_at(acd, a);
    return ag != NULL ? ag->channel : 0;   /* cleared at logout */
}

unsigned md_acd_agent_count(const md_acd_t *acd)
{
    return acd->n_agents;
}

int md_acd_agent_info(const md_acd_t *acd, int a, md_acd_agent_info_t *out)
{
    const agent_t *ag = agent_at(acd, a);
    if (ag == NULL)
        return -ENOENT;
    memset(out, 0, sizeof(*out));
    out->cfg = ag->cfg;
    out->state = ag->state;
    copy(out->reason, sizeof(out->reason), ag->reason);
    out->since_ms = ag->since;
    switch (ag->state) {
    case MD_ACD_OFFERED:
    case MD_ACD_RESERVED:
    case MD_ACD_TALKING:
    case MD_ACD_HOLD:
        if (get(acd, ag->call) != NULL)
            out->call = ag->call;
        break;
    default:
        break;
    }
    out->channel = ag->channel;
    if (out->call != 0)
        out->leg = ag->leg;
    out->owner = ag->owner;
    out->calls = ag->state != MD_ACD_LOGGED_OUT ? ag->calls : 0;
    out->internal_calls = ag->state != MD_ACD_LOGGED_OUT ? ag->internal_calls : 0;
    uint32_t ic = ag->icall != 0 ? ag->icall : out->call;
    const call_t *ci = get(acd, ic);
    if (ci != NULL && ci->kind == MD_ACD_INTERNAL)
        out->consult = ic;
    return 0;
}

int md_acd_agent_login(md_acd_t *acd, int a, uint32_t owner, uint32_t channel, uint64_t now)
{
    agent_t *ag = agent_at(acd, a);
    if (ag == NULL)
        return -ENOENT;
    if (ag->state != MD_ACD_LOGGED_OUT)
        return -EALREADY;
    sync(acd, now);
    ag->acct_since = now;
    ag->calls = 0;
    ag->internal_calls = 0;
    ag->icall = 0;
    ag->talk_total = 0;
    set_state(acd, a, MD_ACD_NOT_READY, "login", now);
    ag->owner = owner;
    ag->channel = channel;
    return 0;
}

int md_acd_agent_ready(md_acd_t *acd, int a, uint64_t now)
{
    agent_t *ag = agent_at(acd, a);
    if (ag == NULL)
        return -ENOENT;
    sync(acd, now);
    switch (ag->state) {
    case MD_ACD_LOGGED_OUT:
        return -ENOTCONN;
    case MD_ACD_READY:
        return 0;
    case MD_ACD_NOT_READY:
        set_state(acd, a, MD_ACD_READY, "", now);
        break;
    case MD_ACD_ACW:
        ag->pending = 0;
        finish_acw(acd, a, now);
        break;
    default:
        return -EBUSY;
    }
    dispatch(acd, now);
    return 0;
}

int md_acd_agent_not_ready(md_acd_t *acd, int a, const char *reason, uint64_t now)
{
    agent_t *ag = agent_at(acd, a);
    if (ag == NULL)
        return -ENOENT;
    if (reason == NULL || reason[0] == '\0')
        reason = "break";
    sync(acd, now);
    switch (ag->state) {
    case MD_ACD_LOGGED_OUT:
        return -ENOTCONN;
    case MD_ACD_READY:
    case MD_ACD_NOT_READY:
        set_state(acd, a, MD_ACD_NOT_READY, reason, now);
        return 0;
    case MD_ACD_ACW:
        ag->pending = 1;
        ag->pend_state = MD_ACD_NOT_READY;
        copy(ag->pend_reason, sizeof(ag->pend_reason), reason);
        finish_acw(acd, a, now);
        return 0;
    case MD_ACD_TALKING:
    case MD_ACD_HOLD:
        /* Not ready once this call's after-call work ends. */
        ag->pending = 1;
        ag->pend_state = MD_ACD_NOT_READY;
        copy(ag->pend_reason, sizeof(ag->pend_reason), reason);
        return 0;
    default:
        return -EBUSY;
    }
}

int md_acd_agent_logout(md_acd_t *acd, int a, uint64_t now)
{
    agent_t *ag = agent_at(acd, a);
    if (ag == NULL)
        return -ENOENT;
    sync(acd, now);
    switch (ag->state) {
    case MD_ACD_LOGGED_OUT:
        return -ENOTCONN;
    case MD_ACD_READY:
    case MD_ACD_NOT_READY:
        set_state(acd, a, MD_ACD_LOGGED_OUT, "logout", now);
        return 0;
    case MD_ACD_ACW:
        ag->pending = 1;
        ag->pend_state = MD_ACD_LOGGED_OUT;
        copy(ag->pend_reason, sizeof(ag->pend_reason), "logout");
        finish_acw(acd, a, now);
        return 0;
    default:
        return -EBUSY;
    }
}

/* The call an agent is offered or handles. */
static call_t *agent_call(md_acd_t *acd, int a)
{
    return get(acd, acd->agents[a].call);
}

/* The call agent a (which exists) talks on or holds, or NULL (-ENOTCONN for the entry
 * points): its state is neither TALKING nor HOLD, or it has no call. */
static call_t *connected_call(md_acd_t *acd, int a)
{
    md_acd_agent_state_t st = acd->agents[a].state;
    if (st != MD_ACD_TALKING && st != MD_ACD_HOLD)
        return NULL;
    return agent_call(acd, a);
}

/* ---- consult, three-way and internal calls (ACD-6) ----
 * An internal call i is a call_t of kind MD_ACD_INTERNAL: channel is the leg of the agent
 * who made it (i->from_agent, "A"), agent the agent called ("B"), parent the caller's call
 * A consults about (0: a direct call). B holds i in its call slot like any offer; A keeps
 * its caller's call in its call slot (a direct call: i) and i in icall. Every way out goes
 * through internal_end(), internal_offer_failed() or first_agent_leaves(); the caller's
 * own ways out through consult_drop(). */

static const char *ireason(const call_t *i)
{
    return i->parent != 0 ? "consult" : "internal";
}

/* An agent's internal call is over: the state asked meanwhile, or the one it had before
 * (keep_idle: it did not talk, so it keeps its place in the longest-idle order). */
static void internal_done(md_acd_t *acd, int a, int keep_idle, uint64_t now)
{
    agent_t *ag = &acd->agents[a];
    if (ag->pending) {
        ag->pending = 0;
        set_state(acd, a, ag->pend_state, ag->pend_reason, now);
    } else if (ag->pre_internal == MD_ACD_NOT_READY) {
        set_state(acd, a, MD_ACD_NOT_READY, ag->pre_reason, now);
    } else if (keep_idle) {
        back_to_ready(acd, a, now);
    } else {
        set_state(acd, a, MD_ACD_READY, "", now);
    }
}

/* B leaves i through no fault of its own: an offer withdrawn (keeping its idle rank), or
 * its leg unbridged from A's or taken out of the three-way (media: 0 when the caller's
 * leaving ends the conference anyway). */
static void target_leaves(md_acd_t *acd, call_t *i, int media, uint64_t now)
{
    int b = i->agent;
    if (b < 0)
        return;
    agent_t *bg = &acd->agents[b];
    if (i->phase == MD_ACD_CALL_OFFERED) {
        if (bg->state == MD_ACD_OFFERED && bg->call == i->id) {
            cancel_offer(acd, i, b);
            internal_done(acd, b, 1, now);
        }
        return;
    }
    if (media) {
        call_t *c = get(acd, i->parent);
        if (i->threeway && c != NULL && c->agent >= 0) {
            md_acd_action_t x = mk(acd, MD_ACD_ACT_CONF_LEAVE, c, c->agent);
            x.target_channel = bg->leg;
            act(acd, &x);
        } else {
            md_acd_action_t x = mk(acd, MD_ACD_ACT_UNBRIDGE, i, b);
            act(acd, &x);
        }
    }
    internal_done(acd, b, 0, now);
}

/* A takes back what it had: its caller (retrieved from hold; in a three-way it just
 * talks to it alone now), or for a direct call the state it had before. */
static void origin_back(md_acd_t *acd, call_t *i, int keep_idle, uint64_t now)
{
    int a = i->from_agent;
    agent_t *ag = &acd->agents[a];
    ag->icall = 0;
    if (i->parent == 0) {
        internal_done(acd, a, keep_idle, now);
        return;
    }
    call_t *c = get(acd, i->parent);
    if (c == NULL || c->agent != a)
        return;
    c->consult = 0;
    if (!i->threeway) {
        md_acd_action_t x = mk(acd, MD_ACD_ACT_RETRIEVE, c, a);
        act(acd, &x);
        c->hold_ms += now - c->hold_start;
        c->talk_start = now;
        c->phase = MD_ACD_CALL_TALKING;
    }
    set_state(acd, a, MD_ACD_TALKING, "", now);
    ag->call = c->id;
}

/* i ends without B being at fault (cancelled, hung up, forced, a client gone). */
static void internal_end(md_acd_t *acd, call_t *i, const char *reason, uint64_t now)
{
    int ringing = i->phase == MD_ACD_CALL_OFFERED;
    target_leaves(acd, i, 1, now);
    origin_back(acd, i, ringing, now);
    call_free(acd, i, reason);
}

/* B did not take the offer of i (no answer, rejected, leg failed): as any offer, B goes
 * not ready with the reason (or to the state forced on it); A takes back what it had. */
static void internal_offer_failed(md_acd_t *acd, call_t *i, const char *reason, uint64_t now)
{
    int b = i->agent;
    if (b >= 0) {
        agent_t *bg = &acd->agents[b];
        if (bg->pending) {
            bg->pending = 0;
            set_state(acd, b, bg->pend_state, bg->pend_reason, now);
        } else {
            set_state(acd, b, MD_ACD_NOT_READY, reason, now);
        }
    }
    origin_back(acd, i, 1, now);
    call_free(acd, i, reason);
}

/* The caller's call c ends (hangup, forced release, its client gone) with a consult in
 * progress: the consult ends too. The caller's UNBRIDGE that follows ends a three-way's
 * conference; a consult's bridge between the agents is undone here. A's own state is the
 * caller's path's business (after-call work). */
static void consult_drop(md_acd_t *acd, call_t *c, const char *reason, uint64_t now)
{
    call_t *i = get(acd, c->consult);
    c->consult = 0;
    if (i == NULL)
        return;
    if (i->from_agent >= 0)
        acd->agents[i->from_agent].icall = 0;
    target_leaves(acd, i, !i->threeway, now);
    call_free(acd, i, reason);
}

static void internal_answered(md_acd_t *acd, call_t *i, uint32_t leg, uint64_t now)
{
    int b = i->agent, a = i->from_agent;
    agent_t *bg = &acd->agents[b], *ag = &acd->agents[a];
    bg->leg = leg != 0 ? leg : bg->channel;
    i->phase = MD_ACD_CALL_TALKING;
    i->deadline = 0;
    i->talk_start = now;
    md_acd_action_t x = mk(acd, MD_ACD_ACT_BRIDGE, i, b);
    act(acd, &x);
    set_state(acd, b, MD_ACD_TALKING, ireason(i), now);
    bg->call = i->id;
    bg->internal_calls++;
    ag->internal_calls++;
    bg->kpi.internal_calls++;
    ag->kpi.internal_calls++;
    call_t *c = get(acd, i->parent);
    set_state(acd, a, MD_ACD_TALKING, ireason(i), now);
    ag->call = c != NULL ? c->id : i->id;
    ev(acd, MD_ACD_EV_CONNECTED, i, b, ireason(i), 0);
}

/* Offers i to agent b (ready). */
static void offer_internal(md_acd_t *acd, call_t *i, int b, uint32_t timeout, uint64_t now)
{
    agent_t *bg = &acd->agents[b];
    bg->idle_before = bg->idle_since;
    bg->pre_internal = MD_ACD_READY;
    bg->pre_reason[0] = '\0';
    set_state(acd, b, MD_ACD_OFFERED, ireason(i), now);
    bg->call = i->id;
    bg->leg = bg->channel;
    bg->deadline = now + timeout;
    i->agent = b;
    i->phase = MD_ACD_CALL_OFFERED;
    i->deadline = bg->deadline;
    md_acd_action_t x = mk(acd, MD_ACD_ACT_OFFER, i, b);
    call_t *c = get(acd, i->parent);
    x.reason = ireason(i);
    x.target = acd->agents[i->from_agent].cfg.id;
    if (c != NULL && c->queue >= 0)
        x.queue_name = acd->queues[c->queue].cfg.name;
    if (act(acd, &x) != 0) {
        internal_offer_failed(acd, i, "leg_failed", now);
        return;
    }
    if (bg->cfg.auto_answer && bg->channel != 0)
        internal_answered(acd, i, bg->channel, now);
}

/* A leaves the consult or the three-way and B takes the caller's call c with its data:
 * an attended transfer (A counts it and goes to after-call work). */
static void first_agent_leaves(md_acd_t *acd, call_t *c, call_t *i, const char *reason,
                               uint64_t now)
{
    int a = c->agent, b = i->agent;
    agent_t *bg = &acd->agents[b];
    if (i->threeway) {
        md_acd_action_t x = mk(acd, MD_ACD_ACT_CONF_LEAVE, c, b);
        x.target_channel = acd->agents[a].leg;
        act(acd, &x);
    } else {
        md_acd_action_t x = mk(acd, MD_ACD_ACT_UNBRIDGE, i, b);
        act(acd, &x);
        x = mk(acd, MD_ACD_ACT_BRIDGE, c, b);
        act(acd, &x);
    }
    acd->agents[a].kpi.transferred++;
    if (c->queue >= 0)
        acd->queues[c->queue].kpi.transferred++;
    acd->agents[a].icall = 0;
    c->consult = 0;
    end_handling(acd, c, now);   /* A: after-call work */
    c->agent = b;
    c->phase = MD_ACD_CALL_TALKING;
    c->talk_start = now;
    c->deadline = 0;
    set_state(acd, b, MD_ACD_TALKING, "", now);
    bg->call = c->id;
    bg->calls++;
    bg->kpi.answered++;
    if (c->kind == MD_ACD_INBOUND || c->kind == MD_ACD_CALLBACK)
        remember_agent(acd, c->ani, b, now);
    call_free(acd, i, reason);
    ev(acd, MD_ACD_EV_CONNECTED, c, b, reason, 0);
}

/* An agent on the talking internal call i hangs up (B; or A of a direct call). */
static void internal_hangup(md_acd_t *acd, call_t *i, int who, uint64_t now)
{
    call_t *c = get(acd, i->parent);
    if (c != NULL && who == i->from_agent) {
        first_agent_leaves(acd, c, i, "transfer", now);
        return;
    }
    internal_end(acd, i, "agent_hangup", now);
}

static uint32_t offer_timeout_of(const md_acd_t *acd, const call_t *c)
{
    if (c != NULL && c->queue >= 0)
        return acd->queues[c->queue].cfg.offer_timeout_ms;
    return acd->internal_offer_ms;
}

int md_acd_consult(md_acd_t *acd, int a, int to, uint32_t *id, uint64_t now)
{
    agent_t *ag = agent_at(acd, a), *bg = agent_at(acd, to);
    if (ag == NULL || bg == NULL)
        return -ENOENT;
    if (a == to)
        return -EINVAL;
    call_t *c = connected_call(acd, a);
    if (c == NULL || c->kind == MD_ACD_INTERNAL || c->agent != a)
        return -ENOTCONN;
    if (ag->icall != 0 || c->consult != 0)
        return -EALREADY;
    if (c->ivr_away || bg->state != MD_ACD_READY)
        return -EBUSY;
    sync(acd, now);
    call_t *i = call_alloc(acd);
    if (i == NULL)
        return -ENOSPC;
    i->kind = MD_ACD_INTERNAL;
    i->from_agent = a;
    i->parent = c->id;
    i->channel = ag->leg;
    copy(i->ani, sizeof(i->ani), c->ani);
    copy(i->data, sizeof(i->data), c->data);
    copy(i->lang, sizeof(i->lang), c->lang);
    if (c->phase == MD_ACD_CALL_TALKING) {
        md_acd_action_t x = mk(acd, MD_ACD_ACT_HOLD, c, a);
        act(acd, &x);
        c->talk_ms += now - c->talk_start;
        c->hold_start = now;
        c->hold_alerted = 0;
        c->phase = MD_ACD_CALL_HOLD;
    }
    set_state(acd, a, MD_ACD_HOLD, "consult", now);
    ag->call = c->id;
    ag->icall = i->id;
    c->consult = i->id;
    if (id != NULL)
        *id = i->id;
    offer_internal(acd, i, to, offer_timeout_of(acd, c), now);
    dispatch(acd, now);
    return 0;
}

/* A's internal call (a consult or a direct call it made or took), or NULL with *err:
 * -ENOENT no such agent, -ENOTCONN none. */
static call_t *icall_of(md_acd_t *acd, int a, int *err)
{
    agent_t *ag = agent_at(acd, a);
    call_t *i = ag != NULL ? get(acd, ag->icall) : NULL;
    *err = ag == NULL ? -ENOENT : i == NULL ? -ENOTCONN : 0;
    return i;
}

/* A's consult (not a direct call), answered, and the caller's call it is about (*caller),
 * or NULL with *err: icall_of()'s, -EPERM a direct call, -EBUSY not answered yet,
 * -ENOTCONN the caller's call gone. */
static call_t *consult_of(md_acd_t *acd, int a, call_t **caller, int *err)
{
    call_t *i = icall_of(acd, a, err);
    if (i == NULL)
        return NULL;
    if (i->parent == 0)
        *err = -EPERM;
    else if (i->phase != MD_ACD_CALL_TALKING)
        *err = -EBUSY;
    else if ((*caller = get(acd, i->parent)) == NULL)
        *err = -ENOTCONN;
    return *err ? NULL : i;
}

int md_acd_consult_complete(md_acd_t *acd, int a, uint64_t now)
{
    int err;
    call_t *c = NULL, *i = consult_of(acd, a, &c, &err);
    if (i == NULL)
        return err;
    sync(acd, now);
    first_agent_leaves(acd, c, i, "transfer", now);
    dispatch(acd, now);
    return 0;
}

int md_acd_consult_conference(md_acd_t *acd, int a, uint64_t now)
{
    int err;
    call_t *c = NULL, *i = consult_of(acd, a, &c, &err);
    if (i == NULL)
        return err;
    if (i->threeway)
        return -EALREADY;
    sync(acd, now);
    int b = i->agent;
    md_acd_action_t x = mk(acd, MD_ACD_ACT_CONFERENCE, c, a);
    x.target_channel = acd->agents[b].leg;
    int rc = act(acd, &x);
    if (rc != 0)
        return rc;
    c->hold_ms += now - c->hold_start;
    c->talk_start = now;
    c->phase = MD_ACD_CALL_TALKING;
    i->threeway = 1;
    set_state(acd, a, MD_ACD_TALKING, "conference", now);
    acd->agents[a].call = c->id;
    set_state(acd, b, MD_ACD_TALKING, "conference", now);
    acd->agents[b].call = i->id;
    ev(acd, MD_ACD_EV_CONNECTED, c, b, "conference", 0);
    return 0;
}

int md_acd_consult_cancel(md_acd_t *acd, int a, uint64_t now)
{
    int err;
    call_t *i = icall_of(acd, a, &err);
    if (i == NULL)
        return err;
    sync(acd, now);
    internal_end(acd, i, "cancelled", now);
    dispatch(acd, now);
    return 0;
}

int md_acd_agent_call(md_acd_t *acd, int a, int to, uint32_t channel, uint32_t *id, uint64_t now)
{
    agent_t *ag = agent_at(acd, a), *bg = agent_at(acd, to);
    if (ag == NULL || bg == NULL)
        return -ENOENT;
    uint32_t leg = channel != 0 ? channel : ag->channel;
    if (a == to)
        return -EINVAL;
    if (ag->state != MD_ACD_READY && ag->state != MD_ACD_NOT_READY)
        return -EBUSY;
    if (leg == 0)
        return -EINVAL;
    if (bg->state != MD_ACD_READY)
        return -EBUSY;
    sync(acd, now);
    call_t *i = call_alloc(acd);
    if (i == NULL)
        return -ENOSPC;
    i->kind = MD_ACD_INTERNAL;
    i->from_agent = a;
    i->channel = leg;
    i->owner = ag->owner;
    copy(i->ani, sizeof(i->ani), ag->cfg.id);
    copy(i->lang, sizeof(i->lang), "en");
    ag->pre_internal = ag->state;
    copy(ag->pre_reason, sizeof(ag->pre_reason), ag->reason);
    ag->idle_before = ag->idle_since;
    set_state(acd, a, MD_ACD_RESERVED, "internal", now);
    ag->call = i->id;
    ag->icall = i->id;
    ag->leg = leg;
    ag->deadline = now + acd->internal_offer_ms;
    if (id != NULL)
        *id = i->id;
    offer_internal(acd, i, to, acd->internal_offer_ms, now);
    dispatch(acd, now);
    return 0;
}

int md_acd_agent_answer(md_acd_t *acd, int a, uint32_t call, uint32_t channel, uint64_t now)
{
    agent_t *ag = agent_at(acd, a);
    if (ag == NULL)
        return -ENOENT;
    sync(acd, now);
    call_t *c = get(acd, call);
    if (c == NULL || ag->state != MD_ACD_OFFERED || ag->call != call ||
        c->phase != MD_ACD_CALL_OFFERED)
        return -ESTALE;
    if (c->kind == MD_ACD_INTERNAL)
        internal_answered(acd, c, channel, now);
    else
        answered(acd, c, a, channel, now);
    dispatch(acd, now);
    return 0;
}

/* An agent offered or reserved leaves the call without having talked. */
static void agent_drops_offer(md_acd_t *acd, int a, const char *reason, uint64_t now)
{
    agent_t *ag = &acd->agents[a];
    call_t *c = agent_call(acd, a);
    if (c == NULL) {
        set_state(acd, a, MD_ACD_NOT_READY, reason, now);
        return;
    }
    if (c->kind == MD_ACD_INTERNAL) {
        if (a == c->agent && ag->state == MD_ACD_OFFERED) {
            cancel_offer(acd, c, a);
            internal_offer_failed(acd, c, reason, now);
        } else if (a == c->from_agent) {
            /* The caller of a direct call while it rings: withdrawn, and it goes where
             * its leg failure or the force sends it. */
            target_leaves(acd, c, 1, now);
            ag->icall = 0;
            if (ag->pending) {
                ag->pending = 0;
                set_state(acd, a, ag->pend_state, ag->pend_reason, now);
            } else {
                set_state(acd, a, MD_ACD_NOT_READY, reason, now);
            }
            call_free(acd, c, reason);
        }
        return;
    }
    if (ag->state == MD_ACD_OFFERED) {
        cancel_offer(acd, c, a);
        offer_failed(acd, c, a, reason, now);
        return;
    }
    /* RESERVED: the announcement, or a callback being dialled. */
    if (c->phase == MD_ACD_CALL_ANNOUNCE) {
        c->agent = -1;
        if (ag->pending) {
            ag->pending = 0;
            set_state(acd, a, ag->pend_state, ag->pend_reason, now);
        } else {
            set_state(acd, a, MD_ACD_NOT_READY, reason, now);
        }
        requeue_head(acd, c, reason, now);
    } else {
        /* Dialling a callback: the dial goes on; answered, the caller queues at the head. */
        c->agent = -1;
        set_state(acd, a, MD_ACD_NOT_READY, reason, now);
    }
}

int md_acd_agent_reject(md_acd_t *acd, int a, uint64_t now)
{
    agent_t *ag = agent_at(acd, a);
    if (ag == NULL)
        return -ENOENT;
    if (ag->state != MD_ACD_OFFERED)
        return -EINVAL;
    sync(acd, now);
    agent_drops_offer(acd, a, "rejected", now);
    dispatch(acd, now);
    return 0;
}

static void caller_leaves_agent(md_acd_t *acd, call_t *c, uint64_t now)
{
    md_acd_action_t x = mk(acd, MD_ACD_ACT_UNBRIDGE, c, c->agent);
    act(acd, &x);
    end_handling(acd, c, now);
}

int md_acd_agent_hangup(md_acd_t *acd, int a, uint64_t now)
{
    agent_t *ag = agent_at(acd, a);
    if (ag == NULL)
        return -ENOENT;
    call_t *c = agent_call(acd, a);
    if (c != NULL && c->kind == MD_ACD_INTERNAL && c->from_agent == a &&
        ag->state == MD_ACD_RESERVED) {
        /* A direct call still ringing: withdrawn. */
        sync(acd, now);
        internal_end(acd, c, "cancelled", now);
        dispatch(acd, now);
        return 0;
    }
    c = connected_call(acd, a);
    if (c == NULL)
        return -ENOTCONN;
    sync(acd, now);
    if (c->kind == MD_ACD_INTERNAL) {
        internal_hangup(acd, c, a, now);
        dispatch(acd, now);
        return 0;
    }
    if (c->consult != 0) {
        /* The first agent hangs up during its consult: answered, the second agent takes
         * the caller (an attended transfer); still ringing, the offer is withdrawn and
         * the caller's call ends as below. */
        call_t *i = get(acd, c->consult);
        if (i != NULL && i->phase == MD_ACD_CALL_TALKING) {
            first_agent_leaves(acd, c, i, "transfer", now);
            dispatch(acd, now);
            return 0;
        }
        consult_drop(acd, c, "agent_hangup", now);
    }
    int survey_agent = a;
    caller_leaves_agent(acd, c, now);
    const queue_t *q = qof(acd, c);
    if (q != NULL && q->cfg.survey[0] != '\0' && c->channel != 0 && !c->ivr_away &&
        (c->kind == MD_ACD_INBOUND || c->kind == MD_ACD_CALLBACK)) {
        c->phase = MD_ACD_CALL_SURVEY;
        c->survey_agent = survey_agent;
        c->deadline = now + SURVEY_MAX_MS;
        route(acd, c, MD_ACD_ROUTE_SURVEY, q->cfg.survey);
    } else {
        release(acd, c, NULL);
        call_free(acd, c, "agent_hangup");
    }
    dispatch(acd, now);
    return 0;
}

int md_acd_agent_leg_failed(md_acd_t *acd, int a, uint64_t now)
{
    agent_t *ag = agent_at(acd, a);
    if (ag == NULL)
        return -ENOENT;
    if (ag->state == MD_ACD_TALKING || ag->state == MD_ACD_HOLD)
        return md_acd_agent_hangup(acd, a, now);
    if (ag->state != MD_ACD_OFFERED && ag->state != MD_ACD_RESERVED)
        return -ENOTCONN;
    sync(acd, now);
    agent_drops_offer(acd, a, "leg_failed", now);
    dispatch(acd, now);
    return 0;
}

int md_acd_agent_set_skills(md_acd_t *acd, int a, const md_acd_skill_t *skills, unsigned n,
                            uint64_t now)
{
    agent_t *ag = agent_at(acd, a);
    if (ag == NULL)
        return -ENOENT;
    if (!skills_ok(skills, n))
        return -EINVAL;
    sync(acd, now);
    if (n > 0)
        memcpy(ag->cfg.skills, skills, n * sizeof(*skills));
    ag->cfg.n_skills = n;
    dispatch(acd, now);
    return 0;
}

int md_acd_agent_force(md_acd_t *acd, int a, md_acd_agent_state_t st, const char *reason,
                       uint64_t now)
{
    agent_t *ag = agent_at(acd, a);
    if (ag == NULL)
        return -ENOENT;
    if (st != MD_ACD_READY && st != MD_ACD_NOT_READY && st != MD_ACD_LOGGED_OUT)
        return -EINVAL;
    if (reason == NULL || reason[0] == '\0')
        reason = "supervisor";
    sync(acd, now);
    if (ag->state == MD_ACD_LOGGED_OUT) {
        if (st == MD_ACD_LOGGED_OUT)
            return 0;
        return -ENOTCONN;
    }
    if (ag->state == MD_ACD_OFFERED ||
        (ag->state == MD_ACD_RESERVED && st != MD_ACD_READY)) {
        call_t *c = agent_call(acd, a);
        if (c != NULL && c->phase != MD_ACD_CALL_DIALING) {
            ag->pending = 1;
            ag->pend_state = st;
            copy(ag->pend_reason, sizeof(ag->pend_reason), reason);
            agent_drops_offer(acd, a, reason, now);
            if (st == MD_ACD_READY && ag->state == MD_ACD_NOT_READY)
                set_state(acd, a, MD_ACD_READY, "", now);
            dispatch(acd, now);
            return 0;
        }
    }
    switch (ag->state) {
    case MD_ACD_READY:
    case MD_ACD_NOT_READY:
        set_state(acd, a, st, st == MD_ACD_READY ? "" : reason, now);
        break;
    case MD_ACD_ACW:
        ag->pending = 1;
        ag->pend_state = st;
        copy(ag->pend_reason, sizeof(ag->pend_reason), st == MD_ACD_READY ? "" : reason);
        finish_acw(acd, a, now);
        break;
    default:
        /* On a call (or dialling): applies when the after-call work ends. */
        ag->pending = 1;
        ag->pend_state = st;
        copy(ag->pend_reason, sizeof(ag->pend_reason), st == MD_ACD_READY ? "" : reason);
        break;
    }
    dispatch(acd, now);
    return 0;
}

int md_acd_monitor(md_acd_t *acd, int a, uint32_t supervisor_channel, md_acd_monitor_t mode,
                   uint64_t now)
{
    agent_t *ag = agent_at(acd, a);
    if (ag == NULL)
        return -ENOENT;
    if (mode > MD_ACD_MON_BARGE || supervisor_channel == 0)
        return -EINVAL;
    call_t *c = connected_call(acd, a);
    if (c == NULL)
        return -ENOTCONN;
    if (c->kind == MD_ACD_INTERNAL || c->consult != 0)
        return -EBUSY;   /* a consult, three-way or internal call: not monitored */
    sync(acd, now);
    md_acd_action_t x = mk(acd, MD_ACD_ACT_MONITOR, c, a);
    x.mode = mode;
    x.target_channel = supervisor_channel;
    return act(acd, &x);
}

int md_acd_agent_dial(md_acd_t *acd, int a, const char *number, uint32_t *id, uint64_t now)
{
    agent_t *ag = agent_at(acd, a);
    if (ag == NULL)
        return -ENOENT;
    if (number == NULL || number[0] == '\0' || strlen(number) >= MD_ACD_NUMBER)
        return -EINVAL;
    if (ag->state != MD_ACD_READY && ag->state != MD_ACD_NOT_READY)
        return -EBUSY;
    sync(acd, now);
    call_t *c = call_alloc(acd);
    if (c == NULL)
        return -ENOSPC;
    c->kind = MD_ACD_MANUAL;
    copy(c->number, sizeof(c->number), number);
    copy(c->lang, sizeof(c->lang), "en");
    c->owner = ag->owner;
    c->agent = a;
    c->phase = MD_ACD_CALL_DIALING;
    c->deadline = now + DIAL_MAX_MS;
    ag->pre_dial = ag->state;
    ag->idle_before = ag->idle_since;
    set_state(acd, a, MD_ACD_RESERVED, "dialing", now);
    ag->call = c->id;
    ag->leg = ag->channel;
    ag->deadline = now + DIAL_MAX_MS;
    ag->kpi.dialed++;
    if (id != NULL)
        *id = c->id;
    md_acd_action_t x = mk(acd, MD_ACD_ACT_DIAL, c, a);
    x.target = c->number;
    if (act(acd, &x) != 0) {
        md_acd_dial_result(acd, c->id, MD_ACD_DIAL_FAILED, 0, now);
        return -EIO;
    }
    return 0;
}

/* ---- calls ---- */

int md_acd_call_enter(md_acd_t *acd, const md_acd_call_cfg_t *cfg, uint32_t *id, uint64_t now)
{
    if (cfg == NULL || cfg->priority < 0 || cfg->priority >= MD_ACD_PRIOS || cfg->channel == 0)
        return -EINVAL;
    int qi = md_acd_queue_find(acd, cfg->queue);
    if (qi < 0)
        return -ENOENT;
    sync(acd, now);
    queue_t *q = &acd->queues[qi];
    md_acd_bl_level_t level;
    if (md_acd_blacklisted(acd, cfg->ani, now, &level)) {
        q->kpi.blocked++;
        md_acd_action_t x = mk(acd, MD_ACD_ACT_RELEASE, NULL, -1);
        char p[MD_FLOW_NAME + 8];
        x.channel = cfg->channel;
        x.queue = qi;
        x.queue_name = q->cfg.name;
        x.ani = cfg->ani;
        if (level == MD_ACD_BL_BUSY) {
            snprintf(p, sizeof(p), "%s/acd/system_busy",
                     cfg->lang != NULL && cfg->lang[0] ? cfg->lang : q->cfg.lang);
            x.target = p;
        }
        md_acd_action_t e = x;
        e.kind = MD_ACD_ACT_EVENT;
        e.event = MD_ACD_EV_BLOCKED;
        e.reason = "blacklist";
        e.value = (int)level;
        act(acd, &e);
        act(acd, &x);
        return -EACCES;
    }
    call_t *c = call_alloc(acd);
    if (c == NULL)
        return -ENOSPC;
    c->kind = MD_ACD_INBOUND;
    c->channel = cfg->channel;
    c->owner = cfg->owner;
    c->prio = cfg->priority;
    copy(c->ani, sizeof(c->ani), cfg->ani);
    copy(c->data, sizeof(c->data), cfg->data);
    copy(c->lang, sizeof(c->lang), cfg->lang != NULL && cfg->lang[0] ? cfg->lang : q->cfg.lang);
    c->seq = ++acd->seq;
    c->last_agent = last_agent_of(acd, c->ani);
    acd->arrived_class[c->prio]++;
    uint32_t cid = c->id;
    int rc = enqueue(acd, c, qi, now);
    if (rc != 0)
        return rc;
    if (id != NULL)
        *id = cid;
    dispatch(acd, now);
    return 0;
}

int md_acd_call_hangup(md_acd_t *acd, uint32_t id, uint64_t now)
{
    call_t *c = get(acd, id);
    if (c == NULL)
        return -ENOENT;
    if (c->kind == MD_ACD_INTERNAL)
        return -EINVAL;   /* no caller: its agents end it */
    sync(acd, now);
    if (c->kind == MD_ACD_CALLBACK && c->phase == MD_ACD_CALL_WAITING) {
        c->channel = 0;   /* the caller left after asking for a callback: it stays */
        return 0;
    }
    switch (c->phase) {
    case MD_ACD_CALL_WAITING:
        wait_remove(acd, c);
        count_abandon(acd, c, "waiting", now);
        c->channel = 0;
        call_free(acd, c, "abandoned");
        break;
    case MD_ACD_CALL_OFFERED:
        cancel_all(acd, c, -1, now);
        count_abandon(acd, c, "offered", now);
        c->channel = 0;
        call_free(acd, c, "abandoned");
        break;
    case MD_ACD_CALL_ANNOUNCE:
        if (c->agent >= 0)
            back_to_ready(acd, c->agent, now);
        c->agent = -1;
        count_abandon(acd, c, "announce", now);
        c->channel = 0;
        call_free(acd, c, "abandoned");
        break;
    case MD_ACD_CALL_TALKING:
    case MD_ACD_CALL_HOLD:
        if (c->consult != 0)
            consult_drop(acd, c, "caller_hangup", now);
        caller_leaves_agent(acd, c, now);
        c->channel = 0;
        call_free(acd, c, "caller_hangup");
        break;
    case MD_ACD_CALL_SURVEY:
        c->channel = 0;
        call_free(acd, c, "survey_hangup");
        break;
    case MD_ACD_CALL_MESSAGE:
        c->channel = 0;
        if (c->camp >= 0) {
            md_acd_number_t *e = &acd->camps[c->camp].nums[c->camp_idx];
            e->state = MD_ACD_NUM_DONE;
            e->call = 0;
            ev(acd, MD_ACD_EV_DIAL_MARKED, c, -1, "done", 0);
        }
        call_free(acd, c, "caller_hangup");
        break;
    case MD_ACD_CALL_DIALING:
        return -EINVAL;   /* no caller leg yet: the dial result says what happened */
    }
    dispatch(acd, now);
    return 0;
}

static void prompt_finished(md_acd_t *acd, call_t *c, uint64_t now)
{
    int what = c->play_what;
    c->play_what = PLAY_NONE;
    switch (what) {
    case PLAY_POS:
    case PLAY_BUSY:
        if (c->phase == MD_ACD_CALL_WAITING && c->channel != 0)
            music(acd, c, 1);
        break;
    case PLAY_AGENT:
        if (c->phase == MD_ACD_CALL_ANNOUNCE)
            connect(acd, c, now);
        break;
    case PLAY_MESSAGE:
        if (c->phase == MD_ACD_CALL_MESSAGE) {
            md_acd_number_t *e = &acd->camps[c->camp].nums[c->camp_idx];
            e->state = MD_ACD_NUM_DONE;
            e->call = 0;
            ev(acd, MD_ACD_EV_DIAL_MARKED, c, -1, "done", 0);
            release(acd, c, NULL);
            call_free(acd, c, "message_done");
        }
        break;
    default:
        break;
    }
}

void md_acd_prompt_done(md_acd_t *acd, uint32_t id, uint32_t tag, uint64_t now)
{
    call_t *c = get(acd, id);
    if (c == NULL || tag != c->tag || c->play_what == PLAY_NONE)
        return;   /* an older play, or a call that moved on */
    sync(acd, now);
    prompt_finished(acd, c, now);
    dispatch(acd, now);
}

int md_acd_call_callback(md_acd_t *acd, uint32_t id, const char *number, uint64_t now)
{
    call_t *c = get(acd, id);
    if (c == NULL)
        return -ENOENT;
    if (c->phase != MD_ACD_CALL_WAITING || c->kind != MD_ACD_INBOUND)
        return -EINVAL;
    if (number != NULL && strlen(number) >= MD_ACD_NUMBER)
        return -EINVAL;
    if ((number == NULL || number[0] == '\0') && c->ani[0] == '\0')
        return -EINVAL;
    sync(acd, now);
    qof(acd, c)->kpi.callbacks++;
    make_callback(acd, c, number);
    ev(acd, MD_ACD_EV_CALLBACK, c, -1, "caller", 0);
    dispatch(acd, now);
    return 0;
}

int md_acd_call_digit(md_acd_t *acd, uint32_t id, char digit, uint64_t now)
{
    call_t *c = get(acd, id);
    if (c == NULL)
        return -ENOENT;
    if (c->phase != MD_ACD_CALL_WAITING || c->kind != MD_ACD_INBOUND)
        return 0;
    sync(acd, now);
    if (digit == '*') {
        queue_t *q = qof(acd, c);
        wait_remove(acd, c);
        q->kpi.deflected++;
        note_wait(&q->kpi, now - c->queued_ms);
        route(acd, c, MD_ACD_ROUTE_SELF_SERVICE, q->cfg.self_service);
        c->channel = 0;
        call_free(acd, c, "self_service");
        dispatch(acd, now);
        return 0;
    }
    if (digit == '1' && c->busy_offered)
        return md_acd_call_callback(acd, id, NULL, now);
    return 0;
}

static call_t *talking_call(md_acd_t *acd, uint32_t id, int *err)
{
    call_t *c = get(acd, id);
    *err = 0;
    if (c == NULL)
        *err = -ENOENT;
    else if (c->kind == MD_ACD_INTERNAL)
        *err = -EPERM;   /* agent to agent: no caller to hold, mute or transfer */
    else if ((c->phase != MD_ACD_CALL_TALKING && c->phase != MD_ACD_CALL_HOLD) || c->agent < 0)
        *err = -ENOTCONN;
    else if (c->consult != 0)
        *err = -EBUSY;   /* complete, conference or cancel the consult first */
    return *err ? NULL : c;
}

int md_acd_call_hold(md_acd_t *acd, uint32_t id, uint64_t now)
{
    int err;
    call_t *c = talking_call(acd, id, &err);
    if (c == NULL)
        return err;
    if (c->phase == MD_ACD_CALL_HOLD)
        return -EALREADY;
    sync(acd, now);
    md_acd_action_t x = mk(acd, MD_ACD_ACT_HOLD, c, c->agent);
    act(acd, &x);
    c->talk_ms += now - c->talk_start;
    c->hold_start = now;
    c->hold_alerted = 0;
    c->phase = MD_ACD_CALL_HOLD;
    set_state(acd, c->agent, MD_ACD_HOLD, "", now);
    acd->agents[c->agent].call = c->id;
    return 0;
}

int md_acd_call_retrieve(md_acd_t *acd, uint32_t id, uint64_t now)
{
    int err;
    call_t *c = talking_call(acd, id, &err);
    if (c == NULL)
        return err;
    if (c->phase != MD_ACD_CALL_HOLD || c->ivr_away)
        return -EINVAL;
    sync(acd, now);
    md_acd_action_t x = mk(acd, MD_ACD_ACT_RETRIEVE, c, c->agent);
    act(acd, &x);
    c->hold_ms += now - c->hold_start;
    c->talk_start = now;
    c->phase = MD_ACD_CALL_TALKING;
    set_state(acd, c->agent, MD_ACD_TALKING, "", now);
    acd->agents[c->agent].call = c->id;
    return 0;
}

int md_acd_call_mute(md_acd_t *acd, uint32_t id, int on, uint64_t now)
{
    int err;
    call_t *c = talking_call(acd, id, &err);
    if (c == NULL)
        return err;
    sync(acd, now);
    md_acd_action_t x = mk(acd, MD_ACD_ACT_MUTE, c, c->agent);
    x.on = on != 0;
    return act(acd, &x);
}

/* The first agent's part ends with a transfer. */
static void transfer_out(md_acd_t *acd, call_t *c, uint64_t now)
{
    int a = c->agent;
    acd->agents[a].kpi.transferred++;
    if (c->queue >= 0)
        acd->queues[c->queue].kpi.transferred++;
    caller_leaves_agent(acd, c, now);
}

int md_acd_transfer_agent(md_acd_t *acd, uint32_t id, int to, uint64_t now)
{
    int err;
    call_t *c = talking_call(acd, id, &err);
    if (c == NULL)
        return err;
    agent_t *ag = agent_at(acd, to);
    if (ag == NULL)
        return -ENOENT;
    if (to == c->agent || ag->state != MD_ACD_READY)
        return -EBUSY;
    if (c->ivr_away || c->queue < 0)
        return -EINVAL;
    sync(acd, now);
    transfer_out(acd, c, now);
    music(acd, c, 1);
    int list[1] = { to };
    offer_to(acd, c, list, 1, now);
    dispatch(acd, now);
    return 0;
}

int md_acd_transfer_queue(md_acd_t *acd, uint32_t id, const char *queue, uint64_t now)
{
    int err;
    call_t *c = talking_call(acd, id, &err);
    if (c == NULL)
        return err;
    int qi = md_acd_queue_find(acd, queue);
    if (qi < 0)
        return -ENOENT;
    if (c->ivr_away)
        return -EINVAL;
    sync(acd, now);
    transfer_out(acd, c, now);
    c->overflows = 0;
    if (enqueue(acd, c, qi, now) == 0)
        dispatch(acd, now);
    return 0;
}

int md_acd_ivr_step(md_acd_t *acd, uint32_t id, const char *step, uint64_t now)
{
    int err;
    call_t *c = talking_call(acd, id, &err);
    if (c == NULL)
        return err;
    if (step == NULL || step[0] == '\0')
        return -EINVAL;
    if (c->phase != MD_ACD_CALL_TALKING)
        return -EBUSY;
    sync(acd, now);
    md_acd_action_t x = mk(acd, MD_ACD_ACT_UNBRIDGE, c, c->agent);
    act(acd, &x);
    route(acd, c, MD_ACD_ROUTE_IVR_STEP, step);
    c->talk_ms += now - c->talk_start;
    c->hold_start = now;
    c->hold_alerted = 0;
    c->phase = MD_ACD_CALL_HOLD;
    c->ivr_away = 1;
    set_state(acd, c->agent, MD_ACD_HOLD, "ivr", now);
    acd->agents[c->agent].call = c->id;
    return 0;
}

int md_acd_ivr_return(md_acd_t *acd, uint32_t id, const char *result, uint64_t now)
{
    int err;
    call_t *c = talking_call(acd, id, &err);
    if (c == NULL)
        return err;
    if (!c->ivr_away)
        return -EINVAL;
    sync(acd, now);
    c->ivr_away = 0;
    c->hold_ms += now - c->hold_start;
    c->talk_start = now;
    c->phase = MD_ACD_CALL_TALKING;
    md_acd_action_t x = mk(acd, MD_ACD_ACT_BRIDGE, c, c->agent);
    act(acd, &x);
    set_state(acd, c->agent, MD_ACD_TALKING, "", now);
    acd->agents[c->agent].call = c->id;
    ev(acd, MD_ACD_EV_CONNECTED, c, c->agent, result != NULL ? result : "", 1);
    return 0;
}

int md_acd_survey_result(md_acd_t *acd, uint32_t id, int rating, uint64_t now)
{
    call_t *c = get(acd, id);
    if (c == NULL)
        return -ENOENT;
    if (c->phase != MD_ACD_CALL_SURVEY)
        return -EINVAL;
    if (rating < 1 || rating > 5)
        return -ERANGE;
    sync(acd, now);
    int a = c->survey_agent;
    if (a >= 0) {
        acd->agents[a].kpi.surveys++;
        acd->agents[a].kpi.survey_sum += (uint32_t)rating;
    }
    if (c->queue >= 0) {
        acd->queues[c->queue].kpi.surveys++;
        acd->queues[c->queue].kpi.survey_sum += (uint32_t)rating;
    }
    ev(acd, MD_ACD_EV_SURVEY, c, a, "", rating);
    c->channel = 0;   /* the survey (host side) ends the call */
    call_free(acd, c, "survey_done");
    return 0;
}

int md_acd_force_release(md_acd_t *acd, uint32_t id, uint64_t now)
{
    call_t *c = get(acd, id);
    if (c == NULL)
        return -ENOENT;
    sync(acd, now);
    if (c->kind == MD_ACD_INTERNAL) {
        internal_end(acd, c, "forced", now);
        dispatch(acd, now);
        return 0;
    }
    switch (c->phase) {
    case MD_ACD_CALL_TALKING:
    case MD_ACD_CALL_HOLD:
        if (c->consult != 0)
            consult_drop(acd, c, "forced", now);
        caller_leaves_agent(acd, c, now);
        break;
    case MD_ACD_CALL_OFFERED:
        cancel_all(acd, c, -1, now);
        break;
    case MD_ACD_CALL_ANNOUNCE:
    case MD_ACD_CALL_DIALING:
        if (c->agent >= 0)
            back_to_ready(acd, c->agent, now);
        c->agent = -1;
        break;
    default:
        break;
    }
    if (c->camp >= 0 && acd->camps[c->camp].nums[c->camp_idx].call == c->id) {
        acd->camps[c->camp].nums[c->camp_idx].state = MD_ACD_NUM_FAILED;
        acd->camps[c->camp].nums[c->camp_idx].call = 0;
    }
    release(acd, c, NULL);
    call_free(acd, c, "forced");
    dispatch(acd, now);
    return 0;
}

int md_acd_call_info(const md_acd_t *acd, uint32_t id, md_acd_call_info_t *out)
{
    const call_t *c = get(acd, id);
    if (c == NULL)
        return -ENOENT;
    memset(out, 0, sizeof(*out));
    out->id = id;
    out->kind = c->kind;
    out->phase = c->phase;
    out->channel = c->channel;
    out->queue = c->queue;
    out->agent = c->agent;
    if (c->phase == MD_ACD_CALL_OFFERED)
        for (unsigned a = 0; a < acd->n_agents; a++)
            if (acd->agents[a].call == id && acd->agents[a].state == MD_ACD_OFFERED) {
                out->agent = (int)a;
                break;
            }
    out->priority = c->prio;
    out->position = position(acd, c);
    copy(out->ani, sizeof(out->ani), c->ani);
    copy(out->data, sizeof(out->data), c->data);
    return 0;
}

/* ---- dial results: callbacks, dial lists, manual ---- */

static void camp_retry(md_acd_t *acd, call_t *c, md_acd_dial_result_t r, uint64_t now)
{
    camp_t *cp = &acd->camps[c->camp];
    md_acd_number_t *e = &cp->nums[c->camp_idx];
    e->call = 0;
    if (r == MD_ACD_DIAL_FAILED) {
        e->state = MD_ACD_NUM_FAILED;
        ev(acd, MD_ACD_EV_DIAL_MARKED, c, -1, "failed", (int)e->attempts);
    } else if (e->attempts >= cp->cfg.max_attempts) {
        e->state = MD_ACD_NUM_UNANSWERED;
        ev(acd, MD_ACD_EV_DIAL_MARKED, c, -1, "unanswered", (int)e->attempts);
    } else {
        e->state = MD_ACD_NUM_PENDING;
        e->next_try_ms = now + cp->cfg.retry_ms;
    }
}

int md_acd_dial_result(md_acd_t *acd, uint32_t id, md_acd_dial_result_t r, uint32_t channel,
                       uint64_t now)
{
    call_t *c = get(acd, id);
    if (c == NULL)
        return -ENOENT;
    if (c->phase != MD_ACD_CALL_DIALING)
        return -EINVAL;
    if (r < MD_ACD_DIAL_ANSWERED || r > MD_ACD_DIAL_FAILED ||
        (r == MD_ACD_DIAL_ANSWERED && channel == 0))
        return -EINVAL;
    sync(acd, now);
    int a = c->agent;
    if (r == MD_ACD_DIAL_ANSWERED) {
        c->channel = channel;
        if (c->queue >= 0)
            acd->queues[c->queue].kpi.dial_answered += c->kind == MD_ACD_OUTBOUND;
        if (a >= 0)
            acd->agents[a].kpi.dial_answered++;
        if (c->kind == MD_ACD_OUTBOUND && c->camp >= 0 &&
            acd->camps[c->camp].cfg.mode == MD_ACD_CAMP_MESSAGE) {
            c->phase = MD_ACD_CALL_MESSAGE;
            names_t nm = { .n = 0 };
            nm_add(&nm, c->lang, acd->camps[c->camp].cfg.prompt);
            play(acd, c, MD_ACD_ACT_PLAY, PLAY_MESSAGE, &nm, now);
        } else if (a >= 0) {
            if (c->kind == MD_ACD_OUTBOUND) {
                md_acd_number_t *e = &acd->camps[c->camp].nums[c->camp_idx];
                e->state = MD_ACD_NUM_DONE;
                e->call = 0;
                ev(acd, MD_ACD_EV_DIAL_MARKED, c, a, "done", (int)e->attempts);
            }
            connect(acd, c, now);
        } else if (c->kind == MD_ACD_CALLBACK && c->queue >= 0) {
            /* Its agent went away while dialling: the customer waits at the head. */
            c->kind = MD_ACD_INBOUND;
            c->answered = 1;   /* a callback is not an inbound answer in the SL */
            requeue_head(acd, c, "agent_gone", now);
        } else {
            /* The agent went away while dialling: this attempt counts as not answered. */
            if (c->kind == MD_ACD_OUTBOUND && c->camp >= 0)
                camp_retry(acd, c, MD_ACD_DIAL_NO_ANSWER, now);
            release(acd, c, "acd/system_busy");
            call_free(acd, c, "no_agent");
        }
        dispatch(acd, now);
        return 0;
    }
    const char *why = r == MD_ACD_DIAL_NO_ANSWER ? "no_answer" : r == MD_ACD_DIAL_BUSY ? "busy"
                                                                                       : "failed";
    if (a >= 0) {
        agent_t *ag = &acd->agents[a];
        if (c->kind == MD_ACD_MANUAL && ag->pre_dial == MD_ACD_NOT_READY && !ag->pending)
            set_state(acd, a, MD_ACD_NOT_READY, "after_dial", now);
        else
            back_to_ready(acd, a, now);
        c->agent = -1;
    }
    if (c->kind == MD_ACD_CALLBACK)
        ev(acd, MD_ACD_EV_CALLBACK_FAILED, c, -1, why, 0);
    if (c->kind == MD_ACD_OUTBOUND && c->camp >= 0)
        camp_retry(acd, c, r, now);
    call_free(acd, c, why);
    dispatch(acd, now);
    return 0;
}

/* ---- the client went away ---- */

int md_acd_client_gone(md_acd_t *acd, uint32_t owner, uint64_t now)
{
    int touched = 0;
    if (owner == 0)
        return 0;
    sync(acd, now);
    for (unsigned i = 0; i < acd->lim.max_calls; i++) {
        call_t *c = &acd->calls[i];
        if (c->id == 0 || c->owner != owner || c->kind == MD_ACD_MANUAL)
            continue;
        touched++;
        if (c->kind == MD_ACD_INTERNAL) {
            internal_end(acd, c, "client_gone", now);   /* a direct call its client made */
            continue;
        }
        switch (c->phase) {
        case MD_ACD_CALL_WAITING:
            wait_remove(acd, c);
            break;
        case MD_ACD_CALL_OFFERED:
            cancel_all(acd, c, -1, now);
            break;
        case MD_ACD_CALL_ANNOUNCE:
        case MD_ACD_CALL_DIALING:
            if (c->agent >= 0)
                back_to_ready(acd, c->agent, now);
            c->agent = -1;
            break;
        case MD_ACD_CALL_TALKING:
        case MD_ACD_CALL_HOLD:
            if (c->consult != 0)
                consult_drop(acd, c, "client_gone", now);
            caller_leaves_agent(acd, c, now);
            break;
        default:
            break;
        }
        if (c->camp >= 0 && acd->camps[c->camp].nums[c->camp_idx].call == c->id) {
            acd->camps[c->camp].nums[c->camp_idx].state = MD_ACD_NUM_PENDING;
            acd->camps[c->camp].nums[c->camp_idx].call = 0;
        }
        release(acd, c, NULL);
        call_free(acd, c, "client_gone");
    }
    for (unsigned a = 0; a < acd->n_agents; a++) {
        agent_t *ag = &acd->agents[a];
        if (!ag->used || ag->owner != owner || ag->state == MD_ACD_LOGGED_OUT)
            continue;
        touched++;
        md_acd_agent_force(acd, (int)a, MD_ACD_LOGGED_OUT, "client_gone", now);
        if (ag->state != MD_ACD_LOGGED_OUT)
            ag->owner = 0;   /* logged out when its call ends; no longer the client's */
    }
    for (unsigned c = 0; c < acd->n_camps; c++)
        if (acd->camps[c].cfg.owner == owner)
            acd->camps[c].running = 0;
    dispatch(acd, now);
    return touched;
}

/* ---- blacklist ---- */

int md_acd_blacklist_add(md_acd_t *acd, const char *number, md_acd_bl_level_t level,
                         uint64_t until)
{
    if (number == NULL || number[0] == '\0' || strlen(number) >= MD_ACD_NUMBER ||
        (level != MD_ACD_BL_BUSY && level != MD_ACD_BL_RELEASE))
        return -EINVAL;
    unsigned i;
    for (i = 0; i < acd->n_bl; i++)
        if (strcmp(acd->bl[i].number, number) == 0)
            break;
    if (i == acd->n_bl) {
        if (acd->n_bl == acd->lim.max_blacklist)
            return -ENOSPC;
        acd->n_bl++;
    }
    copy(acd->bl[i].number, sizeof(acd->bl[i].number), number);
    acd->bl[i].level = level;
    acd->bl[i].until = until;
    return 0;
}

int md_acd_blacklist_remove(md_acd_t *acd, const char *number)
{
    for (unsigned i = 0; number != NULL && i < acd->n_bl; i++)
        if (strcmp(acd->bl[i].number, number) == 0) {
            acd->bl[i] = acd->bl[--acd->n_bl];
            return 0;
        }
    return -ENOENT;
}

int md_acd_blacklisted(const md_acd_t *acd, const char *number, uint64_t now,
                       md_acd_bl_level_t *level)
{
    if (number == NULL || number[0] == '\0')
        return 0;
    for (unsigned i = 0; i < acd->n_bl; i++)
        if (strcmp(acd->bl[i].number, number) == 0) {
            if (acd->bl[i].until != 0 && now >= acd->bl[i].until)
                return 0;
            if (level != NULL)
                *level = acd->bl[i].level;
            return 1;
        }
    return 0;
}

/* ---- dial lists ---- */

int md_acd_campaign_add(md_acd_t *acd, const md_acd_campaign_cfg_t *cfg)
{
    if (cfg == NULL || cfg->name[0] == '\0' || memchr(cfg->name, 0, MD_ACD_NAME) == NULL ||
        cfg->max_attempts == 0 || cfg->mode > MD_ACD_CAMP_AGENT)
        return -EINVAL;
    int q = -1;
    if (cfg->mode == MD_ACD_CAMP_AGENT) {
        q = md_acd_queue_find(acd, cfg->queue);
        if (q < 0)
            return -ENOENT;
    } else if (cfg->prompt[0] == '\0' || cfg->max_lines == 0) {
        return -EINVAL;
    }
    for (unsigned c = 0; c < acd->n_camps; c++)
        if (strcmp(acd->camps[c].cfg.name, cfg->name) == 0)
            return -EEXIST;
    if (acd->n_camps == acd->lim.max_campaigns)
        return -ENOSPC;
    camp_t *cp = &acd->camps[acd->n_camps];
    memset(cp, 0, sizeof(*cp));
    cp->nums = calloc(acd->lim.max_numbers + 1, sizeof(md_acd_number_t));
    if (cp->nums == NULL)
        return -ENOMEM;
    cp->cfg = *cfg;
    cp->used = 1;
    cp->queue = q;
    return (int)acd->n_camps++;
}

int md_acd_campaign_find(const md_acd_t *acd, const char *name)
{
    if (name == NULL)
        return -ENOENT;
    for (unsigned c = 0; c < acd->n_camps; c++)
        if (strcmp(acd->camps[c].cfg.name, name) == 0)
            return (int)c;
    return -ENOENT;
}

int md_acd_campaign_number(md_acd_t *acd, int c, const char *number)
{
    if (c < 0 || (unsigned)c >= acd->n_camps)
        return -ENOENT;
    if (number == NULL || number[0] == '\0' || strlen(number) >= MD_ACD_NUMBER)
        return -EINVAL;
    camp_t *cp = &acd->camps[c];
    if (cp->n_nums == acd->lim.max_numbers)
        return -ENOSPC;
    md_acd_number_t *e = &cp->nums[cp->n_nums];
    memset(e, 0, sizeof(*e));
    copy(e->number, sizeof(e->number), number);
    return (int)cp->n_nums++;
}

int md_acd_campaign_start(md_acd_t *acd, int c, uint64_t now)
{
    if (c < 0 || (unsigned)c >= acd->n_camps)
        return -ENOENT;
    sync(acd, now);
    acd->camps[c].running = 1;
    dispatch(acd, now);
    return 0;
}

int md_acd_campaign_stop(md_acd_t *acd, int c, uint64_t now)
{
    if (c < 0 || (unsigned)c >= acd->n_camps)
        return -ENOENT;
    (void)now;
    acd->camps[c].running = 0;   /* dials in progress finish */
    return 0;
}

const md_acd_number_t *md_acd_campaign_entry(const md_acd_t *acd, int c, unsigned i)
{
    if (c < 0 || (unsigned)c >= acd->n_camps || i >= acd->camps[c].n_nums)
        return NULL;
    return &acd->camps[c].nums[i];
}

static int camp_next(camp_t *cp, uint64_t now)
{
    for (unsigned i = 0; i < cp->n_nums; i++)
        if (cp->nums[i].state == MD_ACD_NUM_PENDING && cp->nums[i].next_try_ms <= now)
            return (int)i;
    return -1;
}

static void camp_dial(md_acd_t *acd, int ci, int idx, int a, uint64_t now)
{
    camp_t *cp = &acd->camps[ci];
    md_acd_number_t *e = &cp->nums[idx];
    call_t *c = call_alloc(acd);
    if (c == NULL)
        return;
    c->kind = MD_ACD_OUTBOUND;
    c->camp = ci;
    c->camp_idx = (unsigned)idx;
    c->queue = cp->queue;
    c->owner = cp->cfg.owner;
    copy(c->number, sizeof(c->number), e->number);
    copy(c->ani, sizeof(c->ani), e->number);
    copy(c->lang, sizeof(c->lang), cp->queue >= 0 ? acd->queues[cp->queue].cfg.lang : "en");
    c->phase = MD_ACD_CALL_DIALING;
    c->deadline = now + DIAL_MAX_MS;
    e->state = MD_ACD_NUM_DIALING;
    e->attempts++;
    e->call = c->id;
    if (cp->queue >= 0)
        acd->queues[cp->queue].kpi.dialed++;
    if (a >= 0) {
        agent_t *ag = &acd->agents[a];
        ag->idle_before = ag->idle_since;
        set_state(acd, a, MD_ACD_RESERVED, "outbound", now);
        ag->call = c->id;
        ag->leg = ag->channel;
        ag->deadline = now + DIAL_MAX_MS;
        ag->kpi.dialed++;
        c->agent = a;
    }
    md_acd_action_t x = mk(acd, MD_ACD_ACT_DIAL, c, a);
    x.target = c->number;
    if (act(acd, &x) != 0)
        md_acd_dial_result(acd, c->id, MD_ACD_DIAL_FAILED, 0, now);
}

static void campaigns(md_acd_t *acd, uint64_t now)
{
    for (unsigned ci = 0; ci < acd->n_camps; ci++) {
        camp_t *cp = &acd->camps[ci];
        if (!cp->running)
            continue;
        for (unsigned guard = 0; guard < cp->n_nums; guard++) {
            int idx = camp_next(cp, now);
            if (idx < 0)
                break;
            if (cp->cfg.mode == MD_ACD_CAMP_MESSAGE) {
                unsigned lines = 0;
                for (unsigned i = 0; i < cp->n_nums; i++)
                    lines += cp->nums[i].state == MD_ACD_NUM_DIALING || 
                             (cp->nums[i].call != 0);
                if (lines >= cp->cfg.max_lines)
                    break;
                camp_dial(acd, (int)ci, idx, -1, now);
            } else {
                /* Progressive: inbound callers waiting in the queue go first. */
                if (acd->queues[cp->queue].n_wait > 0)
                    break;
                int *list = malloc(acd->n_agents * sizeof(int) + sizeof(int));
                call_t probe;
                memset(&probe, 0, sizeof(probe));
                probe.last_agent = -1;
                if (list == NULL || pick(acd, cp->queue, &probe, list) == 0) {
                    free(list);
                    break;
                }
                int a = list[0];
                free(list);
                camp_dial(acd, (int)ci, idx, a, now);
            }
        }
    }
}

/* ---- timers ---- */

void md_acd_tick(md_acd_t *acd, uint64_t now)
{
    sync(acd, now);
    /* Agents: offers not answered, after-call work ended, stuck reservations. */
    for (unsigned a = 0; a < acd->n_agents; a++) {
        agent_t *ag = &acd->agents[a];
        if (!ag->used || ag->deadline == 0 || now < ag->deadline)
            continue;
        if (ag->state == MD_ACD_OFFERED) {
            agent_drops_offer(acd, (int)a, "no_answer", now);
        } else if (ag->state == MD_ACD_ACW) {
            finish_acw(acd, (int)a, now);
        } else if (ag->state == MD_ACD_RESERVED) {
            call_t *c = agent_call(acd, (int)a);
            if (c == NULL)
                set_state(acd, (int)a, MD_ACD_READY, "", now);
            else if (c->kind == MD_ACD_INTERNAL && c->phase == MD_ACD_CALL_OFFERED &&
                     (c->agent < 0 || acd->agents[c->agent].call != c->id))
                internal_end(acd, c, "no_answer", now);   /* nobody rings any more */
            /* else the call's own deadline below gets it out (an internal call: the
             * called agent's offer timeout) */
        }
    }
    for (unsigned i = 0; i < acd->lim.max_calls; i++) {
        call_t *c = &acd->calls[i];
        if (c->id == 0)
            continue;
        queue_t *q = qof(acd, c);
        switch (c->phase) {
        case MD_ACD_CALL_WAITING:
            if (c->channel == 0 || c->kind != MD_ACD_INBOUND)
                break;
            if (q->cfg.max_wait_ms && now - c->queued_ms >= q->cfg.max_wait_ms &&
                q->cfg.overflow != MD_ACD_OVF_NONE) {
                overflow(acd, c, "max_wait", now);
                break;
            }
            if (c->play_what != PLAY_NONE)
                break;
            if (q->cfg.busy_offer_ms && !c->busy_offered && now - c->queued_ms >= q->cfg.busy_offer_ms) {
                c->busy_offered = 1;
                names_t nm = { .n = 0 };
                nm_add(&nm, c->lang, q->cfg.busy_prompt);
                play(acd, c, MD_ACD_ACT_PLAY, PLAY_BUSY, &nm, now);
                break;
            }
            if (c->next_announce && now >= c->next_announce) {
                c->next_announce = q->cfg.announce_every_ms ? now + q->cfg.announce_every_ms : 0;
                announce_position(acd, c, now);
            }
            break;
        case MD_ACD_CALL_ANNOUNCE:
            if (now >= c->deadline)
                connect(acd, c, now);   /* the announcement was never reported done */
            break;
        case MD_ACD_CALL_DIALING:
            if (now >= c->deadline)
                md_acd_dial_result(acd, c->id, MD_ACD_DIAL_NO_ANSWER, 0, now);
            break;
        case MD_ACD_CALL_SURVEY:
            if (now >= c->deadline) {
                c->channel = 0;
                call_free(acd, c, "survey_timeout");
            }
            break;
        case MD_ACD_CALL_HOLD:
            if (q != NULL && q->cfg.hold_alert_ms && !c->hold_alerted &&
                now - c->hold_start >= q->cfg.hold_alert_ms) {
                c->hold_alerted = 1;
                ev(acd, MD_ACD_EV_HOLD_ALERT, c, c->agent, "", (int)(now - c->hold_start));
            }
            break;
        default:
            break;
        }
    }
    dispatch(acd, now);
}

/* ---- KPIs ---- */

const md_kpi_t *md_acd_queue_kpi(const md_acd_t *acd, int q)
{
    return q >= 0 && (unsigned)q < acd->n_queues ? &acd->queues[q].kpi : NULL;
}

const md_kpi_t *md_acd_agent_kpi(const md_acd_t *acd, int a)
{
    return a >= 0 && (unsigned)a < acd->n_agents ? &acd->agents[a].kpi : NULL;
}

void md_acd_snapshot(md_acd_t *acd, uint64_t now, md_acd_snapshot_t *s)
{
    sync(acd, now);
    md_acd_queue_snap_t *qs = s->queues;
    unsigned maxq = s->max_queues;
    memset(s, 0, sizeof(*s));
    s->queues = qs;
    s->max_queues = maxq;
    s->at_ms = now;
    for (unsigned a = 0; a < acd->n_agents; a++) {
        agent_t *ag = &acd->agents[a];
        if (!ag->used)
            continue;
        if (ag->state != MD_ACD_LOGGED_OUT)
            acct(ag, now);
        s->agents[ag->state]++;
        s->logged_in += ag->state != MD_ACD_LOGGED_OUT;
        s->idle += ag->state == MD_ACD_READY;
        s->busy += busy_state(ag->state);
    }
    memcpy(s->arrived_class, acd->arrived_class, sizeof(s->arrived_class));
    for (unsigned qi = 0; qi < acd->n_queues; qi++) {
        queue_t *q = &acd->queues[qi];
        s->waiting += q->n_wait;
        for (unsigned i = 0; i < q->n_wait; i++) {
            const call_t *c = &acd->calls[q->wait[i]];
            uint64_t w = now - c->queued_ms;
            if (w > s->longest_wait_ms)
                s->longest_wait_ms = (uint32_t)w;
        }
        if (qs == NULL || qi >= maxq)
            continue;
        md_acd_queue_snap_t *x = &qs[qi];
        memset(x, 0, sizeof(*x));
        copy(x->name, sizeof(x->name), q->cfg.name);
        x->waiting = q->n_wait;
        for (unsigned i = 0; i < q->n_wait; i++) {
            const call_t *c = &acd->calls[q->wait[i]];
            x->waiting_class[c->prio]++;
            x->callbacks_waiting += c->kind == MD_ACD_CALLBACK;
            uint64_t w = now - c->queued_ms;
            if (w > x->longest_wait_ms)
                x->longest_wait_ms = (uint32_t)w;
        }
        for (unsigned a = 0; a < acd->n_agents; a++)
            if (acd->agents[a].used && level_for(&acd->agents[a], q) > 0)
                x->agents[acd->agents[a].state]++;
        for (unsigned i = 0; i < acd->lim.max_calls; i++) {
            const call_t *c = &acd->calls[i];
            if (c->id != 0 && c->queue == (int)qi &&
                (c->phase == MD_ACD_CALL_OFFERED || c->phase == MD_ACD_CALL_ANNOUNCE))
                x->offered_now++;
        }
        x->service_level = md_kpi_service_level(&q->kpi, q->cfg.sl_abandon);
        x->offered = q->kpi.offered;
        x->answered = q->kpi.answered;
        x->abandoned = q->kpi.abandoned;
        x->ewt_ms = md_acd_expected_wait(acd, (int)qi, q->n_wait + 1);
        s->n_queues = qi + 1;
    }
}
