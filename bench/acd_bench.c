/* medley-acd-bench: the ACD core's routing (control/acd.h) at contact-centre scale, with
 * a host whose act() only records what it needs (no engine, no I/O). See
 * docs/benchmarks.md, "The ACD: medley-acd-bench".
 *
 *   medley-acd-bench [--agents N] [--callers N] [--queues N] [--rounds N]
 *                    [--strategy NAME|all] [--seed N] [--json PATH|-] [--quiet]
 *
 * Per strategy, one ACD with N queues (one skill each), the agents (two skills each,
 * levels 1..10) and the callers (unique ANIs, 10% at a higher priority):
 *
 *  - ready: every agent busy and `callers` waiting. One round: the agent at the head
 *    of the after-call-work FIFO calls md_acd_agent_ready(); the time from just before
 *    that call to the host's OFFER action is the ready->offer latency, the time of the
 *    call itself a routing decision. Then the agent answers, the agent-number
 *    announcement ends (prompt_done), the agent hangs up (ACW, which lasts until the
 *    next ready) and a new caller enters, so the number waiting stays at `callers`.
 *  - drain: the same without new callers until nobody waits; then every caller that
 *    entered must have been connected exactly once (the check: exit 1 otherwise).
 *  - arrive: every agent ready, nobody waiting; a caller enters and is offered at once
 *    (the strategy really chooses among many free agents here). enter->offer latency.
 *
 * Plus, once: md_acd_call_enter() while the queues fill up, md_acd_tick() with nothing
 * due and with every waiting caller's first position announcement due, and
 * md_acd_snapshot() (the wallboard's call) with everyone waiting.
 *
 * Exit status: 0, 1 if a check failed (a call not routed, an offer to the wrong agent),
 * 2 for a bad command line. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/acd.h"

#define T0_MS 1800000000000ull   /* a half-hour boundary (Unix ms) */

static const struct {
    const char *name;
    md_acd_strategy_t s;
} strategies[] = {
    { "longest_idle", MD_ACD_LONGEST_IDLE }, { "fewest_calls", MD_ACD_FEWEST_CALLS },
    { "least_talk", MD_ACD_LEAST_TALK },     { "round_robin", MD_ACD_ROUND_ROBIN },
    { "skill_level", MD_ACD_SKILL_LEVEL },   { "ring_all", MD_ACD_RING_ALL },
};
#define N_STRATEGIES (sizeof(strategies) / sizeof(strategies[0]))

typedef struct {
    unsigned agents, callers, queues, rounds;
    unsigned seed;
    int quiet;
} opts_t;

/* What the host saw. */
typedef struct {
    int armed;                 /* record the time of the next OFFER */
    struct timespec t_offer;
    int offer_agent, offer_queue;
    uint32_t offer_call;
    uint64_t offers, cancels, connected, ended, plays, kpis, actions;
    uint32_t announce_call, announce_tag;
    uint32_t *connected_id;    /* per call slot: the last call id connected there */
    uint64_t doubles;          /* a call connected twice */
    unsigned max_calls;
} host_t;

static int host_act(void *arg, const md_acd_action_t *a)
{
    host_t *h = arg;
    h->actions++;
    switch (a->kind) {
    case MD_ACD_ACT_OFFER:
        if (h->armed) {
            clock_gettime(CLOCK_MONOTONIC, &h->t_offer);
            h->armed = 0;
            h->offer_agent = a->agent;
            h->offer_call = a->call;
            h->offer_queue = a->queue;
        }
        h->offers++;
        break;
    case MD_ACD_ACT_CANCEL:
        h->cancels++;
        break;
    case MD_ACD_ACT_ANNOUNCE_AGENT:
        h->announce_call = a->call;
        h->announce_tag = a->tag;
        break;
    case MD_ACD_ACT_PLAY:
        h->plays++;
        break;
    case MD_ACD_ACT_KPI:
        h->kpis++;
        break;
    case MD_ACD_ACT_EVENT:
        if (a->event == MD_ACD_EV_CONNECTED) {
            uint32_t slot = (a->call & 0xfffffu) % h->max_calls;
            h->connected++;
            h->doubles += h->connected_id[slot] == a->call;
            h->connected_id[slot] = a->call;
        } else if (a->event == MD_ACD_EV_ENDED) {
            h->ended++;
        }
        break;
    default:
        break;
    }
    return 0;
}

static struct timespec ts_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}

static double ns_between(struct timespec a, struct timespec b)
{
    return (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    double p50, p99, max, mean;   /* ns */
    double per_s;                 /* operations per second of time inside the timed call */
    double cycle_per_s;           /* whole rounds per second (all calls of a round) */
    unsigned n;
    unsigned over_1ms;            /* samples above 1 ms (the target's bound) */
} dist_t;

static dist_t summarize(double *v, unsigned n, double busy_ns, double total_ns)
{
    dist_t d;
    memset(&d, 0, sizeof(d));
    d.n = n;
    if (n == 0)
        return d;
    double sum = 0;
    for (unsigned i = 0; i < n; i++) {
        sum += v[i];
        d.over_1ms += v[i] > 1e6;
    }
    qsort(v, n, sizeof(double), cmp_double);
    d.p50 = v[n / 2];
    d.p99 = v[(size_t)((n - 1) * 0.99)];
    d.max = v[n - 1];
    d.mean = sum / n;
    d.per_s = busy_ns > 0 ? n / (busy_ns / 1e9) : 0;
    d.cycle_per_s = total_ns > 0 ? n / (total_ns / 1e9) : 0;
    return d;
}

typedef struct {
    const char *name;
    dist_t ready, decide, drain, arrive;
    uint64_t routed, entered;
    int ok;
} result_t;

typedef struct {
    md_acd_t *acd;
    host_t h;
    unsigned n_agents, n_queues;
    uint64_t now;
    uint64_t entered;
    unsigned next_ani;
    unsigned rng;
} bench_t;

static unsigned rnd(bench_t *b)
{
    b->rng = b->rng * 1103515245u + 12345u;
    return (b->rng >> 16) & 0x7fff;
}

static int setup(bench_t *b, const opts_t *o, md_acd_strategy_t s)
{
    memset(b, 0, sizeof(*b));
    b->rng = o->seed;
    b->n_agents = o->agents;
    b->n_queues = o->queues;
    b->now = T0_MS + 1000;
    md_acd_limits_t lim = { .max_queues = o->queues, .max_agents = o->agents,
                            .max_calls = o->callers + o->agents + 64, .max_blacklist = 16,
                            .max_last_agent = 4096, .max_campaigns = 1, .max_numbers = 1 };
    b->h.max_calls = lim.max_calls;
    b->h.connected_id = calloc(lim.max_calls, sizeof(uint32_t));
    md_acd_host_t host = { host_act, &b->h };
    b->acd = md_acd_new(&lim, &host, b->now);
    if (b->acd == NULL || b->h.connected_id == NULL) {
        fprintf(stderr, "medley-acd-bench: out of memory\n");
        return -1;
    }
    for (unsigned q = 0; q < o->queues; q++) {
        md_acd_queue_cfg_t qc;
        char name[MD_ACD_NAME];
        snprintf(name, sizeof(name), "queue%u", q);
        md_acd_queue_defaults(&qc, name);
        snprintf(qc.skill, sizeof(qc.skill), "skill%u", q);
        qc.strategy = s;
        qc.acw_ms = 3600000;              /* ACW ends by md_acd_agent_ready only */
        qc.offer_timeout_ms = 3600000;
        qc.busy_offer_ms = 0;
        qc.hold_alert_ms = 0;
        if (md_acd_queue_add(b->acd, &qc) < 0)
            return -1;
    }
    for (unsigned a = 0; a < o->agents; a++) {
        md_acd_agent_cfg_t ac;
        memset(&ac, 0, sizeof(ac));
        snprintf(ac.id, sizeof(ac.id), "%u", 1000 + a);
        ac.n_skills = o->queues > 1 ? 2 : 1;
        for (unsigned k = 0; k < ac.n_skills; k++) {
            snprintf(ac.skills[k].name, sizeof(ac.skills[k].name), "skill%u", (a + k) % o->queues);
            ac.skills[k].level = 1 + rnd(b) % 10;
        }
        int idx = md_acd_agent_add(b->acd, &ac);
        if (idx < 0 || md_acd_agent_login(b->acd, idx, 1, 500000 + a, b->now) != 0)
            return -1;
    }
    return 0;
}

static void teardown(bench_t *b)
{
    md_acd_free(b->acd);
    free(b->h.connected_id);
    b->acd = NULL;
    b->h.connected_id = NULL;
}

/* A new caller in queue q (-1: one chosen at random). Returns the call id or 0. */
static uint32_t enter(bench_t *b, int q)
{
    char ani[MD_ACD_NUMBER];
    snprintf(ani, sizeof(ani), "138%08u", b->next_ani++);
    char queue[MD_ACD_NAME];
    snprintf(queue, sizeof(queue), "queue%u", q >= 0 ? (unsigned)q : rnd(b) % b->n_queues);
    md_acd_call_cfg_t cc = { .queue = queue, .channel = 1 + (b->next_ani % 1000000),
                             .ani = ani, .priority = rnd(b) % 10 == 0 ? 1 + rnd(b) % 3 : 0,
                             .data = "trail=main>bill", .owner = 1 };
    uint32_t id = 0;
    if (md_acd_call_enter(b->acd, &cc, &id, b->now) != 0)
        return 0;
    b->entered++;
    return id;
}

/* The offered agent answers, hears nothing wrong, the announcement ends, talks, hangs
 * up: after-call work. */
static int serve(bench_t *b, int a, uint32_t call)
{
    b->now += 1;
    if (md_acd_agent_answer(b->acd, a, call, 0, b->now) != 0)
        return -1;
    if (b->h.announce_call == call)
        md_acd_prompt_done(b->acd, call, b->h.announce_tag, b->now);
    if (md_acd_agent_state(b->acd, a, NULL) != MD_ACD_TALKING)
        return -1;
    b->now += 1;
    return md_acd_agent_hangup(b->acd, a, b->now);
}

/* Agent a becomes ready; returns the latency to the offer (ns, -1: no offer) and the
 * time of the call in *call_ns; the offered call in *call. */
static double ready_one(bench_t *b, int a, double *call_ns, uint32_t *call)
{
    b->h.armed = 1;
    b->h.offer_agent = -1;
    b->now += 1;
    struct timespec t0 = ts_now();
    int rc = md_acd_agent_ready(b->acd, a, b->now);
    struct timespec t1 = ts_now();
    *call_ns = ns_between(t0, t1);
    if (rc != 0 || b->h.armed) {
        b->h.armed = 0;
        return -1;
    }
    *call = b->h.offer_call;
    if (b->h.offer_agent != a)
        return -2;
    return ns_between(t0, b->h.t_offer);
}

static int fail(const char *what, const char *strategy)
{
    fprintf(stderr, "medley-acd-bench: %s: %s\n", strategy, what);
    return -1;
}

static int run_strategy(const opts_t *o, unsigned si, result_t *r)
{
    bench_t b;
    memset(r, 0, sizeof(*r));
    r->name = strategies[si].name;
    if (setup(&b, o, strategies[si].s) != 0) {
        teardown(&b);
        return fail("setup failed", r->name);
    }
    unsigned na = o->agents;
    for (unsigned i = 0; i < o->callers; i++)
        if (enter(&b, (int)(i % o->queues)) == 0) {
            teardown(&b);
            return fail("a caller could not enter", r->name);
        }
    /* Warm-up: every agent (not ready after login) takes a first call, so that all are
     * in after-call work with `callers` waiting. The FIFO of agents in ACW. */
    int *fifo = malloc(na * sizeof(int));
    unsigned cap = o->rounds + o->callers + na;
    double *lat = malloc(cap * sizeof(double)), *dec = malloc(cap * sizeof(double));
    if (fifo == NULL || lat == NULL || dec == NULL) {
        free(fifo), free(lat), free(dec), teardown(&b);
        return fail("out of memory", r->name);
    }
    int rc = 0;
    for (unsigned a = 0; a < na && rc == 0; a++) {
        double cns;
        uint32_t call;
        if (ready_one(&b, (int)a, &cns, &call) < 0 || serve(&b, (int)a, call) != 0 ||
            enter(&b, b.h.offer_queue) == 0)
            rc = fail("warm-up: an agent was not offered a call", r->name);
        fifo[a] = (int)a;
    }
    /* ready: the measured rounds, the number waiting kept at `callers`. */
    unsigned head = 0, n = 0;
    double busy = 0;
    struct timespec t0 = ts_now();
    for (unsigned i = 0; i < o->rounds && rc == 0; i++) {
        int a = fifo[head];
        head = (head + 1) % na;
        double cns;
        uint32_t call;
        double l = ready_one(&b, a, &cns, &call);
        if (l < 0) {
            rc = fail(l == -2 ? "an offer to another agent than the ready one"
                              : "a ready agent was not offered a call", r->name);
            break;
        }
        lat[n] = l;
        dec[n++] = cns;
        busy += cns;
        /* The replacement caller joins the queue just served: every queue keeps its
         * number of callers, so the ready agent always has one to take. */
        if (serve(&b, a, call) != 0 || enter(&b, b.h.offer_queue) == 0)
            rc = fail("a round failed", r->name);
        fifo[(head + na - 1) % na] = a;
    }
    struct timespec t1 = ts_now();
    double total = ns_between(t0, t1);
    if (rc == 0) {
        double *dcopy = malloc((n ? n : 1) * sizeof(double));
        if (dcopy != NULL) {
            memcpy(dcopy, dec, n * sizeof(double));
            r->decide = summarize(dcopy, n, busy, total);
            free(dcopy);
        }
        r->ready = summarize(lat, n, busy, total);
    }
    /* drain: no new callers; agents keep becoming ready until nobody waits. An agent
     * whose queues are empty stays ready and leaves the rotation. */
    n = 0;
    busy = 0;
    unsigned cnt = na;
    t0 = ts_now();
    while (rc == 0 && cnt > 0) {
        int a = fifo[head];
        head = (head + 1) % na;
        cnt--;
        double cns;
        uint32_t call;
        double l = ready_one(&b, a, &cns, &call);
        if (l == -1)
            continue;
        if (l < 0) {
            rc = fail("drain: an offer to another agent", r->name);
            break;
        }
        if (n < cap)
            lat[n++] = l;
        busy += cns;
        if (serve(&b, a, call) != 0)
            rc = fail("drain: a call could not be served", r->name);
        fifo[(head + cnt) % na] = a;
        cnt++;
    }
    t1 = ts_now();
    if (rc == 0)
        r->drain = summarize(lat, n, busy, ns_between(t0, t1));
    /* The check: every caller that entered was connected exactly once, nobody waits. */
    if (rc == 0) {
        md_acd_snapshot_t snap;
        memset(&snap, 0, sizeof(snap));
        md_acd_snapshot(b.acd, b.now, &snap);
        r->entered = b.entered;
        r->routed = b.h.connected;
        if (b.h.connected != b.entered || b.h.doubles != 0 || snap.waiting != 0) {
            fprintf(stderr, "medley-acd-bench: %s: %" PRIu64 " callers entered, %" PRIu64
                    " connected (%" PRIu64 " twice), %u still waiting\n", r->name, b.entered,
                    b.h.connected, b.h.doubles, snap.waiting);
            rc = -1;
        }
    }
    teardown(&b);

    /* arrive: everybody ready, nobody waiting; each caller is offered at once. */
    if (rc == 0 && setup(&b, o, strategies[si].s) == 0) {
        for (unsigned a = 0; a < na; a++)
            md_acd_agent_ready(b.acd, (int)a, b.now);
        n = 0;
        busy = 0;
        t0 = ts_now();
        for (unsigned i = 0; i < o->rounds && rc == 0; i++) {
            b.h.armed = 1;
            b.h.offer_agent = -1;
            b.now += 1;
            struct timespec e0 = ts_now();
            uint32_t id = enter(&b, -1);
            struct timespec e1 = ts_now();
            if (id == 0 || b.h.armed) {
                rc = fail("arrive: a caller with free agents was not offered", r->name);
                break;
            }
            lat[n++] = ns_between(e0, b.h.t_offer);
            busy += ns_between(e0, e1);
            int a = b.h.offer_agent;
            if (serve(&b, a, id) != 0 || md_acd_agent_ready(b.acd, a, b.now) != 0)
                rc = fail("arrive: a round failed", r->name);
        }
        t1 = ts_now();
        if (rc == 0) {
            r->arrive = summarize(lat, n, busy, ns_between(t0, t1));
            if (b.h.connected != b.entered || b.h.doubles != 0)
                rc = fail("arrive: not every caller was connected", r->name);
        }
    } else if (rc == 0) {
        rc = fail("setup failed", r->name);
    }
    teardown(&b);
    free(fifo);
    free(lat);
    free(dec);
    r->ok = rc == 0;
    return rc;
}

/* Entering, ticking and the snapshot with everyone waiting (strategy-independent). */
typedef struct {
    dist_t enter;
    double tick_idle_ns, tick_announce_ns, per_announce_ns, snapshot_ns;
    uint64_t announcements;
} misc_t;

static int run_misc(const opts_t *o, misc_t *m)
{
    bench_t b;
    memset(m, 0, sizeof(*m));
    if (setup(&b, o, MD_ACD_LONGEST_IDLE) != 0) {
        teardown(&b);
        return -1;
    }
    double *v = malloc((o->callers ? o->callers : 1) * sizeof(double));
    if (v == NULL) {
        teardown(&b);
        return -1;
    }
    double busy = 0;
    for (unsigned i = 0; i < o->callers; i++) {
        struct timespec t0 = ts_now();
        uint32_t id = enter(&b, -1);
        struct timespec t1 = ts_now();
        if (id == 0) {
            free(v);
            teardown(&b);
            return -1;
        }
        v[i] = ns_between(t0, t1);
        busy += v[i];
    }
    m->enter = summarize(v, o->callers, busy, busy);
    free(v);
    /* Ticks with nothing due (every caller entered within the last few ms; 20 ticks
     * 100 ms apart, the median: one sample on a shared machine is often preempted). */
    double tv[20];
    for (unsigned i = 0; i < 20; i++) {
        b.now += 100;
        struct timespec t0 = ts_now();
        md_acd_tick(b.acd, b.now);
        struct timespec t1 = ts_now();
        tv[i] = ns_between(t0, t1);
    }
    qsort(tv, 20, sizeof(double), cmp_double);
    m->tick_idle_ns = tv[10];
    /* A tick when every caller's first announcement is due at once (the worst case:
     * callers normally arrive spread out, so are their announcements). Some agents are
     * staffed (ready is enough) so the expected wait is computed. */
    for (unsigned a = 0; a < o->agents; a += 2)
        md_acd_agent_not_ready(b.acd, (int)a, "break", b.now);
    b.now += 6000;
    uint64_t plays = b.h.plays;
    struct timespec t0 = ts_now();
    md_acd_tick(b.acd, b.now);
    struct timespec t1 = ts_now();
    m->tick_announce_ns = ns_between(t0, t1);
    m->announcements = b.h.plays - plays;
    m->per_announce_ns = m->announcements ? m->tick_announce_ns / (double)m->announcements : 0;
    md_acd_queue_snap_t *qs = calloc(o->queues, sizeof(*qs));
    md_acd_snapshot_t snap = { .queues = qs, .max_queues = o->queues };
    for (unsigned i = 0; i < 20; i++) {
        t0 = ts_now();
        md_acd_snapshot(b.acd, b.now, &snap);
        t1 = ts_now();
        tv[i] = ns_between(t0, t1);
    }
    qsort(tv, 20, sizeof(double), cmp_double);
    m->snapshot_ns = tv[10];
    free(qs);
    teardown(&b);
    return 0;
}

static void json_dist(FILE *f, const char *name, const dist_t *d, int last)
{
    fprintf(f, "    \"%s\": {\"n\": %u, \"p50_us\": %.3f, \"p99_us\": %.3f, \"max_us\": %.3f, "
               "\"mean_us\": %.3f, \"over_1ms\": %u, \"per_s\": %.0f, \"cycles_per_s\": %.0f}%s\n",
            name, d->n, d->p50 / 1e3, d->p99 / 1e3, d->max / 1e3, d->mean / 1e3, d->over_1ms,
            d->per_s, d->cycle_per_s, last ? "" : ",");
}

static int usage(void)
{
    fprintf(stderr, "usage: medley-acd-bench [--agents N] [--callers N] [--queues N] "
                    "[--rounds N] [--strategy NAME|all] [--seed N] [--json PATH|-] [--quiet]\n"
                    "strategies: longest_idle fewest_calls least_talk round_robin skill_level "
                    "ring_all\n");
    return 2;
}

static int num(const char *s, unsigned min, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || errno || *end || v < min || v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

int main(int argc, char **argv)
{
    opts_t o = { .agents = 1000, .callers = 10000, .queues = 10, .rounds = 20000, .seed = 1 };
    const char *json = NULL, *only = "all";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (strcmp(a, "--quiet") == 0) {
            o.quiet = 1;
            continue;
        }
        if (v == NULL)
            return usage();
        if (strcmp(a, "--agents") == 0)
            bad = num(v, 1, 1000000, &o.agents);
        else if (strcmp(a, "--callers") == 0)
            bad = num(v, 0, 1000000, &o.callers);
        else if (strcmp(a, "--queues") == 0)
            bad = num(v, 1, 4096, &o.queues);
        else if (strcmp(a, "--rounds") == 0)
            bad = num(v, 1, 100000000, &o.rounds);
        else if (strcmp(a, "--seed") == 0)
            bad = num(v, 0, 0xffffffffu, &o.seed);
        else if (strcmp(a, "--json") == 0)
            json = v;
        else if (strcmp(a, "--strategy") == 0)
            only = v;
        else
            return usage();
        if (bad) {
            fprintf(stderr, "medley-acd-bench: %s %s: not a number in range\n", a, v);
            return 2;
        }
        i++;
    }
    int pick = -1;
    if (strcmp(only, "all") != 0) {
        for (unsigned s = 0; s < N_STRATEGIES; s++)
            if (strcmp(only, strategies[s].name) == 0)
                pick = (int)s;
        if (pick < 0)
            return usage();
    }
    if (o.callers + o.agents + 64 > (1u << 20) - 1) {
        fprintf(stderr, "medley-acd-bench: at most about a million calls\n");
        return 2;
    }
    FILE *out = o.quiet ? NULL : stdout;
    if (out != NULL)
        fprintf(out, "medley-acd-bench: %u agents, %u waiting callers, %u queues, %u rounds "
                     "per strategy\n\n", o.agents, o.callers, o.queues, o.rounds);
    result_t res[N_STRATEGIES];
    unsigned nres = 0;
    int status = 0;
    if (out != NULL)
        fprintf(out, "%-13s | %-31s | %-12s | %-12s | %-31s | %-12s\n", "",
                "ready->offer (us) p50 p99 max", "decisions/s", "rounds/s",
                "arrive->offer (us) p50 p99 max", "arrivals/s");
    for (unsigned s = 0; s < N_STRATEGIES; s++) {
        if (pick >= 0 && (int)s != pick)
            continue;
        result_t *r = &res[nres++];
        if (run_strategy(&o, s, r) != 0)
            status = 1;
        if (out != NULL)
            fprintf(out, "%-13s | %9.2f %9.2f %9.2f  | %12.0f | %12.0f | %9.2f %9.2f %9.2f  | %12.0f%s\n",
                    r->name, r->ready.p50 / 1e3, r->ready.p99 / 1e3, r->ready.max / 1e3,
                    r->ready.per_s, r->ready.cycle_per_s, r->arrive.p50 / 1e3,
                    r->arrive.p99 / 1e3, r->arrive.max / 1e3, r->arrive.per_s,
                    r->ok ? "" : "  FAILED");
        fflush(stdout);
    }
    misc_t m;
    int misc_ok = run_misc(&o, &m) == 0;
    if (!misc_ok)
        status = 1;
    if (out != NULL) {
        fprintf(out, "\ndrain (no new callers, until nobody waits):\n");
        for (unsigned i = 0; i < nres; i++)
            fprintf(out, "  %-13s %6u decisions: p50 %.2f us, p99 %.2f us, max %.2f us; "
                         "%.0f decisions/s; %" PRIu64 " of %" PRIu64 " callers connected%s\n",
                    res[i].name, res[i].drain.n, res[i].drain.p50 / 1e3, res[i].drain.p99 / 1e3,
                    res[i].drain.max / 1e3, res[i].drain.per_s, res[i].routed, res[i].entered,
                    res[i].ok ? "" : " FAILED");
        if (misc_ok)
            fprintf(out, "\nmd_acd_call_enter while %u callers fill the queues: p50 %.2f us, "
                         "p99 %.2f us, max %.2f us, mean %.2f us\n"
                         "md_acd_tick, nothing due: %.1f us (median of 20); every caller's announcement due "
                         "at once: %.1f ms for %" PRIu64 " announcements (%.2f us each)\n"
                         "md_acd_snapshot with %u waiting: %.1f us (median of 20)\n",
                    o.callers, m.enter.p50 / 1e3, m.enter.p99 / 1e3, m.enter.max / 1e3,
                    m.enter.mean / 1e3, m.tick_idle_ns / 1e3, m.tick_announce_ns / 1e6,
                    m.announcements, m.per_announce_ns / 1e3, o.callers, m.snapshot_ns / 1e3);
        fprintf(out, "\n%s\n", status == 0 ? "every caller was routed: ok" : "FAILED");
    }
    if (json != NULL) {
        FILE *f = strcmp(json, "-") == 0 ? stdout : fopen(json, "w");
        if (f == NULL) {
            fprintf(stderr, "medley-acd-bench: %s: %s\n", json, strerror(errno));
            return 1;
        }
        fprintf(f, "{\n  \"agents\": %u, \"callers\": %u, \"queues\": %u, \"rounds\": %u,\n"
                   "  \"strategies\": [\n", o.agents, o.callers, o.queues, o.rounds);
        for (unsigned i = 0; i < nres; i++) {
            fprintf(f, "   {\"name\": \"%s\", \"ok\": %s, \"entered\": %" PRIu64 ", \"connected\": %"
                       PRIu64 ",\n", res[i].name, res[i].ok ? "true" : "false", res[i].entered,
                    res[i].routed);
            json_dist(f, "ready_to_offer", &res[i].ready, 0);
            json_dist(f, "ready_call", &res[i].decide, 0);
            json_dist(f, "drain", &res[i].drain, 0);
            json_dist(f, "arrive_to_offer", &res[i].arrive, 1);
            fprintf(f, "   }%s\n", i + 1 < nres ? "," : "");
        }
        fprintf(f, "  ],\n  \"enter\": {\"p50_us\": %.3f, \"p99_us\": %.3f, \"max_us\": %.3f},\n"
                   "  \"tick_idle_us\": %.1f, \"tick_all_announce_ms\": %.3f, "
                   "\"announcements\": %" PRIu64 ", \"snapshot_us\": %.1f,\n  \"ok\": %s\n}\n",
                m.enter.p50 / 1e3, m.enter.p99 / 1e3, m.enter.max / 1e3, m.tick_idle_ns / 1e3,
                m.tick_announce_ns / 1e6, m.announcements, m.snapshot_ns / 1e3,
                status == 0 ? "true" : "false");
        if (f != stdout)
            fclose(f);
    }
    return status;
}
