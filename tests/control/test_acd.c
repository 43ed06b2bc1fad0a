/* The ACD (control/acd.h) with a virtual clock and a fake host that records every action
 * as a line ("offer 101 1001; bridge 101 1001; ...", channels are the callers' numbers
 * chosen here, agents their ids) and every event apart. Each test checks the exact
 * sequence of actions and the numbers the ACD keeps; the KPI test checks a scripted half
 * hour against figures computed by hand in the comments. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/acd.h"
#include "control/kpi.h"
#include "tests/check.h"

/* ---- the fake host ---- */

static char acts[16384];           /* actions, "; " separated */
static char evs[16384];            /* events */
static uint32_t last_tag, last_call;   /* of the last PLAY / ANNOUNCE_AGENT */
static struct { uint32_t call, tag; } plays[64];   /* plays not yet reported done */
static unsigned n_plays;
static uint32_t dial_call;         /* of the last DIAL */
static char last_offer_data[MD_ACD_DATA];
static const char *fail_offer;     /* agent whose OFFER fails */
static int fail_conf;              /* CONFERENCE fails */
static md_kpi_t kpis[32];          /* closed records */
static unsigned n_kpis;

static void add(char *buf, size_t n, const char *s)
{
    if (buf[0] != '\0')
        strncat(buf, "; ", n - strlen(buf) - 1);
    strncat(buf, s, n - strlen(buf) - 1);
}

static const char *ev_name(md_acd_event_t e)
{
    switch (e) {
    case MD_ACD_EV_AGENT_STATE: return "state";
    case MD_ACD_EV_QUEUED: return "queued";
    case MD_ACD_EV_CONNECTED: return "connected";
    case MD_ACD_EV_ABANDONED: return "abandoned";
    case MD_ACD_EV_OVERFLOW: return "overflow";
    case MD_ACD_EV_BLOCKED: return "blocked";
    case MD_ACD_EV_REQUEUED: return "requeued";
    case MD_ACD_EV_ENDED: return "ended";
    case MD_ACD_EV_HOLD_ALERT: return "hold_alert";
    case MD_ACD_EV_CALLBACK: return "callback";
    case MD_ACD_EV_CALLBACK_FAILED: return "callback_failed";
    case MD_ACD_EV_SURVEY: return "survey";
    case MD_ACD_EV_DIAL_MARKED: return "dial_marked";
    }
    return "?";
}

static int fake_act(void *arg, const md_acd_action_t *a)
{
    (void)arg;
    char b[1024];
    const char *ag = a->agent_id != NULL ? a->agent_id : "-";
    switch (a->kind) {
    case MD_ACD_ACT_MUSIC:
        snprintf(b, sizeof(b), "music %u %d", a->channel, a->on);
        break;
    case MD_ACD_ACT_PLAY:
    case MD_ACD_ACT_ANNOUNCE_AGENT:
        snprintf(b, sizeof(b), "%s %u", a->kind == MD_ACD_ACT_PLAY ? "play" : "agent#", a->channel);
        for (unsigned i = 0; i < a->n_names; i++) {
            strcat(b, " ");
            strcat(b, a->names[i]);
        }
        last_tag = a->tag;
        last_call = a->call;
        if (n_plays < 64) {
            plays[n_plays].call = a->call;
            plays[n_plays++].tag = a->tag;
        }
        break;
    case MD_ACD_ACT_OFFER:
        if (a->reason != NULL && a->reason[0] != '\0')
            snprintf(b, sizeof(b), "offer %u %s %s from %s", a->channel, ag, a->reason,
                     a->target ? a->target : "?");
        else
            snprintf(b, sizeof(b), "offer %u %s", a->channel, ag);
        snprintf(last_offer_data, sizeof(last_offer_data), "%s", a->data ? a->data : "");
        add(acts, sizeof(acts), b);
        if (fail_offer != NULL && strcmp(fail_offer, ag) == 0)
            return -EIO;
        return 0;
    case MD_ACD_ACT_CANCEL: snprintf(b, sizeof(b), "cancel %u %s", a->channel, ag); break;
    case MD_ACD_ACT_BRIDGE:
        snprintf(b, sizeof(b), "bridge %u %s/%u", a->channel, ag, a->agent_channel);
        break;
    case MD_ACD_ACT_UNBRIDGE: snprintf(b, sizeof(b), "unbridge %u %s", a->channel, ag); break;
    case MD_ACD_ACT_HOLD: snprintf(b, sizeof(b), "hold %u %s", a->channel, ag); break;
    case MD_ACD_ACT_RETRIEVE: snprintf(b, sizeof(b), "retrieve %u %s", a->channel, ag); break;
    case MD_ACD_ACT_MUTE: snprintf(b, sizeof(b), "mute %u %d", a->channel, a->on); break;
    case MD_ACD_ACT_RELEASE:
        snprintf(b, sizeof(b), "release %u %s", a->channel, a->target ? a->target : "-");
        break;
    case MD_ACD_ACT_ROUTE: {
        static const char *r[] = { "?", "self_service", "voicemail", "survey", "ivr" };
        snprintf(b, sizeof(b), "route %u %s %s", a->channel, r[a->route], a->target);
        break;
    }
    case MD_ACD_ACT_DIAL:
        snprintf(b, sizeof(b), "dial %s %s", a->target, ag);
        dial_call = a->call;
        break;
    case MD_ACD_ACT_MONITOR:
        snprintf(b, sizeof(b), "monitor %s %u %d", ag, a->target_channel, (int)a->mode);
        break;
    case MD_ACD_ACT_EVENT:
        if (a->event == MD_ACD_EV_AGENT_STATE)
            snprintf(b, sizeof(b), "%s %s %s %s", ev_name(a->event), ag,
                     md_acd_agent_state_name((md_acd_agent_state_t)a->value), a->reason);
        else
            snprintf(b, sizeof(b), "%s %u %s %s", ev_name(a->event), a->channel, ag,
                     a->reason ? a->reason : "");
        add(evs, sizeof(evs), b);
        return 0;
    case MD_ACD_ACT_CONFERENCE:
        snprintf(b, sizeof(b), "conference %u %s/%u %u", a->channel, ag, a->agent_channel,
                 a->target_channel);
        if (fail_conf)
            return -ENOSPC;
        break;
    case MD_ACD_ACT_CONF_LEAVE:
        snprintf(b, sizeof(b), "conf_leave %u %u stays %s/%u", a->channel, a->target_channel, ag,
                 a->agent_channel);
        break;
    case MD_ACD_ACT_KPI:
        if (n_kpis < 32)
            kpis[n_kpis++] = *a->kpi;
        return 0;
    }
    add(acts, sizeof(acts), b);
    return 0;
}

static const md_acd_host_t host = { fake_act, NULL };

static void reset(void)
{
    acts[0] = evs[0] = '\0';
}


static int has(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

#define ACTS(want)                                                                     \
    do {                                                                               \
        CHECKF(strcmp(acts, want) == 0, "\n  got  '%s'\n  want '%s'", acts, want);     \
        acts[0] = '\0';                                                                \
    } while (0)

/* ---- the world ---- */

#define T0 (1800000ull * 1000)   /* a half-hour boundary */
static uint64_t now;
static md_acd_t *acd;

/* Every play so far ends (stale tags included: they must be ignored). */
static void plays_done(uint64_t t)
{
    unsigned n = n_plays;
    n_plays = 0;
    for (unsigned i = 0; i < n; i++)
        md_acd_prompt_done(acd, plays[i].call, plays[i].tag, t);
}

static void run_to(uint64_t t)
{
    while (now + 100 <= t) {
        now += 100;
        md_acd_tick(acd, now);
    }
    now = t;
    md_acd_tick(acd, now);
}

static void after(uint64_t ms)
{
    run_to(now + ms);
}

static void world(void)
{
    if (acd != NULL)
        md_acd_free(acd);
    now = T0;
    n_kpis = 0;
    n_plays = 0;
    fail_offer = NULL;
    fail_conf = 0;
    acd = md_acd_new(NULL, &host, now);
    reset();
}

/* A quiet queue: no announcements, no busy offer, no agent-number, no ACW. */
static int quiet_queue(const char *name, const char *skill)
{
    md_acd_queue_cfg_t q;
    md_acd_queue_defaults(&q, name);
    snprintf(q.skill, sizeof(q.skill), "%s", skill);
    q.announce_first_ms = 0;
    q.busy_offer_ms = 0;
    q.announce_agent = 0;
    q.acw_ms = 0;
    q.hold_alert_ms = 0;
    return md_acd_queue_add(acd, &q);
}

static md_acd_queue_cfg_t *qcfg(int q)
{
    return (md_acd_queue_cfg_t *)md_acd_queue_cfg(acd, q);
}

static int agent(const char *id, const char *skill, unsigned level)
{
    md_acd_agent_cfg_t a;
    memset(&a, 0, sizeof(a));
    snprintf(a.id, sizeof(a.id), "%s", id);
    snprintf(a.skills[0].name, sizeof(a.skills[0].name), "%s", skill);
    a.skills[0].level = level;
    a.n_skills = 1;
    return md_acd_agent_add(acd, &a);
}

static void ready(int a)
{
    if (md_acd_agent_state(acd, a, NULL) == MD_ACD_LOGGED_OUT)
        CHECK(md_acd_agent_login(acd, a, 0, 0, now) == 0);
    CHECK(md_acd_agent_ready(acd, a, now) == 0);
}

static uint32_t enter(const char *queue, uint32_t ch, const char *ani, int prio)
{
    md_acd_call_cfg_t c = { .queue = queue, .channel = ch, .ani = ani, .priority = prio,
                            .data = "trail=main:0", .owner = 7 };
    uint32_t id = 0;
    int rc = md_acd_call_enter(acd, &c, &id, now);
    CHECKF(rc == 0, "enter %u: %d", ch, rc);
    return id;
}

static md_acd_agent_state_t st(int a)
{
    return md_acd_agent_state(acd, a, NULL);
}

static const char *why(int a)
{
    const char *r = "";
    md_acd_agent_state(acd, a, &r);
    return r;
}

static unsigned pos(uint32_t id)
{
    md_acd_call_info_t i;
    return md_acd_call_info(acd, id, &i) == 0 ? i.position : 999;
}

static int gone(uint32_t id)
{
    md_acd_call_info_t i;
    return md_acd_call_info(acd, id, &i) == -ENOENT;
}

/* No agent may be left offered or reserved once the calls are over. */
static void no_agent_stuck(void)
{
    for (int a = 0; md_acd_agent_kpi(acd, a) != NULL; a++) {
        md_acd_agent_state_t s = st(a);
        CHECKF(s != MD_ACD_OFFERED && s != MD_ACD_RESERVED, "agent %d stuck in %s", a,
               md_acd_agent_state_name(s));
    }
}

/* ---- strategies ---- */

/* Four agents with a history (each served calls alone in the "hist" skill queue):
 *   1001 level 9, 2 calls, 20 s talk    ready 4th
 *   1002 level 5, 1 call, 100 s talk    ready 2nd
 *   1003 level 3, 3 calls, 15 s talk    ready 3rd
 *   1004 level 4, 4 calls, 40 s talk    ready 1st (longest idle)
 * so: longest idle 1004, fewest calls 1002, least talk 1003, skill level 1001. */
static int ag4[4];

static void history(md_acd_strategy_t s)
{
    world();
    int q = quiet_queue("sales", "sales");
    qcfg(q)->strategy = s;
    quiet_queue("hist", "hist");
    static const unsigned lv[4] = { 9, 5, 3, 4 }, n[4] = { 2, 1, 3, 4 };
    static const uint64_t talk[4] = { 10000, 100000, 5000, 10000 };
    const char *ids[4] = { "1001", "1002", "1003", "1004" };
    for (int i = 0; i < 4; i++) {
        md_acd_agent_cfg_t a;
        memset(&a, 0, sizeof(a));
        snprintf(a.id, sizeof(a.id), "%s", ids[i]);
        snprintf(a.skills[0].name, sizeof(a.skills[0].name), "sales");
        a.skills[0].level = lv[i];
        snprintf(a.skills[1].name, sizeof(a.skills[1].name), "hist");
        a.skills[1].level = 1;
        a.n_skills = 2;
        ag4[i] = md_acd_agent_add(acd, &a);
        CHECK(md_acd_agent_login(acd, ag4[i], 0, 0, now) == 0);
    }
    for (int i = 0; i < 4; i++) {
        ready(ag4[i]);
        for (unsigned k = 0; k < n[i]; k++) {
            uint32_t id = enter("hist", 500 + k, "", 0);
            CHECK(md_acd_agent_answer(acd, ag4[i], id, 0, now) == 0);
            after(talk[i]);
            CHECK(md_acd_agent_hangup(acd, ag4[i], now) == 0);
        }
        CHECK(md_acd_agent_not_ready(acd, ag4[i], "break", now) == 0);
    }
    static const int order[4] = { 3, 1, 2, 0 };
    for (int i = 0; i < 4; i++) {
        after(1000);
        ready(ag4[order[i]]);
    }
    after(1000);
    reset();
}

static void test_strategies(void)
{
    history(MD_ACD_LONGEST_IDLE);
    enter("sales", 101, "", 0);
    ACTS("music 101 1; offer 101 1004");
    history(MD_ACD_FEWEST_CALLS);
    enter("sales", 101, "", 0);
    ACTS("music 101 1; offer 101 1002");
    history(MD_ACD_LEAST_TALK);
    enter("sales", 101, "", 0);
    ACTS("music 101 1; offer 101 1003");
    history(MD_ACD_SKILL_LEVEL);
    enter("sales", 101, "", 0);
    ACTS("music 101 1; offer 101 1001");

    /* Round robin: by index after the last one offered, whoever was idle longest. */
    history(MD_ACD_ROUND_ROBIN);
    for (uint32_t ch = 101; ch <= 105; ch++) {
        uint32_t id = enter("sales", ch, "", 0);
        md_acd_call_info_t ci;
        CHECK(md_acd_call_info(acd, id, &ci) == 0);
        CHECK(md_acd_agent_answer(acd, ci.agent, id, 0, now) == 0);
        after(1000);
        CHECK(md_acd_agent_hangup(acd, ci.agent, now) == 0);
    }
    CHECK(has(acts, "offer 101 1001") && has(acts, "offer 102 1002") &&
          has(acts, "offer 103 1003") && has(acts, "offer 104 1004") &&
          has(acts, "offer 105 1001"));
    reset();

    /* Ring-all: everyone rings, the first to answer wins, the others are withdrawn and
     * keep their idle order (1004 still longest idle afterwards). */
    history(MD_ACD_RING_ALL);
    uint32_t id = enter("sales", 101, "", 0);
    ACTS("music 101 1; offer 101 1001; offer 101 1002; offer 101 1003; offer 101 1004");
    CHECK(md_acd_agent_answer(acd, ag4[2], id, 0, now) == 0);
    ACTS("cancel 101 1001; cancel 101 1002; cancel 101 1004; bridge 101 1003/0");
    CHECK(st(ag4[0]) == MD_ACD_READY && st(ag4[2]) == MD_ACD_TALKING);
    /* A late answer from a withdrawn agent is refused. */
    CHECK(md_acd_agent_answer(acd, ag4[0], id, 0, now) == -ESTALE);
    CHECK(md_acd_queue_set_strategy(acd, 0, MD_ACD_LONGEST_IDLE, now) == 0);
    enter("sales", 102, "", 0);
    ACTS("music 102 1; offer 102 1004");
    /* Ring-all where nobody answers: each offered agent is not ready "no_answer" and the
     * caller is back at the head. */
    history(MD_ACD_RING_ALL);
    id = enter("sales", 101, "", 0);
    reset();
    after(15000);
    CHECK(has(acts, "cancel 101 1001") && has(acts, "cancel 101 1004") && has(acts, "music 101 1"));
    for (int i = 0; i < 4; i++)
        CHECK(st(ag4[i]) == MD_ACD_NOT_READY && strcmp(why(ag4[i]), "no_answer") == 0);
    CHECK(pos(id) == 1);
    CHECK(md_acd_agent_kpi(acd, ag4[0])->no_answer == 1);
    no_agent_stuck();
}

/* ---- priority, overflow ---- */

static void test_priority(void)
{
    world();
    quiet_queue("q", "s");
    int a = agent("1001", "s", 1);
    uint32_t c1 = enter("q", 101, "", 0), c2 = enter("q", 102, "", 0);
    uint32_t c3 = enter("q", 103, "", 3), c4 = enter("q", 104, "", 1);
    /* VIP (3) first, then priority 1, then arrival order. */
    CHECK(pos(c3) == 1 && pos(c4) == 2 && pos(c1) == 3 && pos(c2) == 4);
    md_acd_snapshot_t s;
    md_acd_queue_snap_t qs[4];
    s.queues = qs;
    s.max_queues = 4;
    after(2000);
    md_acd_snapshot(acd, now, &s);
    CHECK(s.waiting == 4 && qs[0].waiting_class[0] == 2 && qs[0].waiting_class[1] == 1 &&
          qs[0].waiting_class[3] == 1 && s.arrived_class[3] == 1 && s.longest_wait_ms == 2000);
    reset();
    ready(a);
    CHECK(has(acts, "offer 103 1001"));
    CHECK(pos(c4) == 1 && pos(c1) == 2);
    /* A VIP arriving now goes ahead of everyone waiting. */
    uint32_t c5 = enter("q", 105, "", 3);
    CHECK(pos(c5) == 1 && pos(c4) == 2);
}

static void test_overflow(void)
{
    world();
    md_acd_queue_cfg_t q;
    md_acd_queue_defaults(&q, "sales");
    q.announce_first_ms = 0;
    q.busy_offer_ms = 0;
    q.max_len = 2;
    q.overflow = MD_ACD_OVF_QUEUE;
    snprintf(q.overflow_target, sizeof(q.overflow_target), "general");
    CHECK(md_acd_queue_add(acd, &q) == 0);
    int g = quiet_queue("general", "general");
    md_acd_queue_defaults(&q, "vip");
    q.max_len = 1;   /* full without overflow: refused */
    q.busy_offer_ms = 0;
    q.announce_first_ms = 0;
    int v = md_acd_queue_add(acd, &q);
    md_acd_queue_defaults(&q, "night");
    q.max_wait_ms = 60000;
    q.busy_offer_ms = 0;
    q.announce_first_ms = 0;
    q.overflow = MD_ACD_OVF_VOICEMAIL;
    snprintf(q.overflow_target, sizeof(q.overflow_target), "box7");
    int n = md_acd_queue_add(acd, &q);
    md_acd_queue_defaults(&q, "cb");
    q.max_wait_ms = 45000;
    q.busy_offer_ms = 0;
    q.announce_first_ms = 0;
    q.overflow = MD_ACD_OVF_CALLBACK;
    int cb = md_acd_queue_add(acd, &q);
    CHECK(g == 1 && v == 2 && n == 3 && cb == 4);

    /* By length: the third caller of sales goes to general with its priority and data. */
    enter("sales", 101, "", 0);
    enter("sales", 102, "", 0);
    uint32_t c3 = enter("sales", 103, "", 2);
    md_acd_call_info_t ci;
    CHECK(md_acd_call_info(acd, c3, &ci) == 0 && ci.queue == g && ci.priority == 2 &&
          strcmp(ci.data, "trail=main:0") == 0);
    CHECK(has(evs, "overflow 103 - full"));
    CHECK(md_acd_queue_kpi(acd, 0)->offered == 3 && md_acd_queue_kpi(acd, 0)->overflowed == 1 &&
          md_acd_queue_kpi(acd, g)->offered == 1);
    reset();
    /* Full without an overflow target: busy message, released, counted blocked. */
    enter("vip", 201, "", 0);
    md_acd_call_cfg_t cc = { .queue = "vip", .channel = 202, .ani = "", .priority = 0 };
    uint32_t id;
    CHECK(md_acd_call_enter(acd, &cc, &id, now) == -EBUSY);
    ACTS("music 201 1; release 202 en/acd/system_busy");
    CHECK(md_acd_queue_kpi(acd, v)->blocked == 1 && md_acd_queue_kpi(acd, v)->offered == 1);
    /* By wait: voicemail after 60 s. */
    uint32_t c4 = enter("night", 301, "", 0);
    reset();
    after(59900);
    CHECK(!has(acts, "route"));
    after(100);
    ACTS("route 301 voicemail box7");
    CHECK(gone(c4) && md_acd_queue_kpi(acd, n)->overflowed == 1);
    /* By wait to a callback: the caller is released, a virtual caller keeps the place. */
    uint32_t c5 = enter("cb", 401, "13800000005", 0);
    uint32_t c6 = enter("cb", 402, "13800000006", 0);
    reset();
    after(45000);
    CHECK(has(acts, "release 401 en/acd/callback_ok") && has(acts, "release 402 en/acd/callback_ok"));
    CHECK(md_acd_call_info(acd, c5, &ci) == 0 && ci.kind == MD_ACD_CALLBACK && ci.position == 1);
    CHECK(pos(c6) == 2);
    reset();
    int a = agent("1001", "cb", 1);
    ready(a);
    ACTS("dial 13800000005 1001");
}

/* ---- waiting: announcements, busy offer, self-service, callback ---- */

static void test_waiting(void)
{
    world();
    md_acd_queue_cfg_t q;
    md_acd_queue_defaults(&q, "q");
    q.announce_first_ms = 5000;
    q.announce_every_ms = 20000;
    q.busy_offer_ms = 30000;
    q.announce_agent = 0;
    q.acw_ms = 0;
    q.default_aht_ms = 180000;
    CHECK(md_acd_queue_add(acd, &q) == 0);
    int a1 = agent("1001", "q", 1), a2 = agent("1002", "q", 1);
    /* 1001 busy with a call, 1002 not ready, so the three callers wait. */
    ready(a1);
    uint32_t c0 = enter("q", 100, "", 0);
    CHECK(md_acd_agent_answer(acd, a1, c0, 0, now) == 0);
    CHECK(md_acd_agent_login(acd, a2, 0, 0, now) == 0);
    uint32_t c1 = enter("q", 101, "13800000001", 0);
    uint32_t c2 = enter("q", 102, "13800000002", 0);
    uint32_t c3 = enter("q", 103, "13800000003", 0);
    reset();
    /* After 5 s each hears its position and the expected wait. No call handled yet, so
     * AHT is the default 180 s; one staffed agent (1001 talking; 1002 not ready does not
     * count): position 3 -> 3 x 180 / 1 = 540 s = 9 minutes; position 1 -> 3 minutes. */
    after(5000);
    CHECK(has(acts, "play 101 en/acd/position en/num/1 en/acd/expected_wait en/num/3 en/acd/minutes"));
    CHECK(has(acts, "play 103 en/acd/position en/num/3 en/acd/expected_wait en/num/9 en/acd/minutes"));
    CHECK(md_acd_expected_wait(acd, 0, 3) == 540000);
    /* Ready 1002: two staffed; 103's next announcement at 25 s says 3 x 180 / 2 = 270 s ->
     * 5 minutes (rounded up). The end of the first play brings the music back. */
    md_acd_prompt_done(acd, last_call, last_tag, now);
    CHECK(has(acts, "music 103 1"));
    CHECK(md_acd_agent_not_ready(acd, a2, "lunch", now) == 0);
    reset();
    md_acd_agent_state_t s = st(a2);
    CHECK(s == MD_ACD_NOT_READY && strcmp(why(a2), "lunch") == 0);
    /* 30 s: the busy offer (ACD-3). */
    run_to(T0 + 25000 + 50);
    CHECK(has(acts, "play 103 en/acd/position en/num/3"));
    /* Prompt-done for the wrong tag changes nothing. */
    reset();
    md_acd_prompt_done(acd, c3, last_tag + 99, now);
    CHECK(acts[0] == '\0');
    plays_done(now);
    /* 101 and 102 were still hearing their first announcement at 25 s: theirs come now. */
    run_to(T0 + 27000);
    CHECK(has(acts, "play 101 en/acd/position en/num/1") && has(acts, "play 102 en/acd/position"));
    plays_done(now);
    reset();
    run_to(T0 + 30000);
    CHECK(has(acts, "play 101 en/acd/busy_offer") && has(acts, "play 102 en/acd/busy_offer"));
    /* The supervisor picks another recorded variant: later callers hear it. */
    CHECK(md_acd_queue_set_busy_prompt(acd, 0, "acd/busy_offer_b") == 0);
    reset();
    /* '*' on 102: back to self-service; deflected. '1' on 101: callback. */
    CHECK(md_acd_call_digit(acd, c2, '*', now) == 0);
    ACTS("route 102 self_service main");
    CHECK(gone(c2) && md_acd_queue_kpi(acd, 0)->deflected == 1);
    CHECK(md_acd_call_digit(acd, c1, '1', now) == 0);
    ACTS("release 101 en/acd/callback_ok");
    md_acd_call_info_t ci;
    CHECK(md_acd_call_info(acd, c1, &ci) == 0 && ci.kind == MD_ACD_CALLBACK &&
          ci.position == 1 && ci.channel == 0);
    CHECK(pos(c3) == 2);
    /* The caller's hangup after the confirmation does not cancel the callback. */
    CHECK(md_acd_call_hangup(acd, c1, now) == 0 && pos(c1) == 1);
    /* 1001 ends its call: the callback reaches the head with a free agent -> dial. */
    CHECK(md_acd_agent_hangup(acd, a1, now) == 0);
    ACTS("unbridge 100 1001; release 100 -; dial 13800000001 1001");
    CHECK(st(a1) == MD_ACD_RESERVED);
    CHECK(md_acd_dial_result(acd, dial_call, MD_ACD_DIAL_ANSWERED, 201, now) == 0);
    ACTS("bridge 201 1001/0");
    CHECK(st(a1) == MD_ACD_TALKING);
    /* A callback not answered frees the agent. */
    CHECK(md_acd_agent_hangup(acd, a1, now) == 0);
    CHECK(has(acts, "offer 103 1001"));
    md_acd_call_info(acd, c3, &ci);
    CHECK(md_acd_agent_answer(acd, a1, c3, 0, now) == 0);
    CHECK(md_acd_call_callback(acd, c3, "", now) == -EINVAL);   /* not waiting */
    uint32_t c4 = enter("q", 104, "13800000004", 0);
    CHECK(md_acd_call_callback(acd, c4, "0755123", now) == 0);
    reset();
    CHECK(md_acd_agent_hangup(acd, a1, now) == 0);
    CHECK(has(acts, "dial 0755123 1001"));
    CHECK(md_acd_dial_result(acd, dial_call, MD_ACD_DIAL_NO_ANSWER, 0, now) == 0);
    CHECK(st(a1) == MD_ACD_READY && has(evs, "callback_failed"));
    CHECK(md_acd_queue_kpi(acd, 0)->callbacks == 2);
    no_agent_stuck();
}

/* ---- abandons in each phase ---- */

static void test_abandon(void)
{
    world();
    md_acd_queue_cfg_t q;
    md_acd_queue_defaults(&q, "q");
    q.announce_first_ms = 0;
    q.busy_offer_ms = 0;
    q.acw_ms = 0;
    CHECK(md_acd_queue_add(acd, &q) == 0);
    int a = agent("1024", "q", 1);
    /* Waiting: 3 s is a short abandon, 20 s a real one (beyond the 15 s SL). */
    uint32_t c1 = enter("q", 101, "", 0);
    after(3000);
    CHECK(md_acd_call_hangup(acd, c1, now) == 0);
    uint32_t c2 = enter("q", 102, "", 0);
    after(20000);
    CHECK(md_acd_call_hangup(acd, c2, now) == 0);
    CHECK(has(evs, "abandoned 101 - short") && has(evs, "abandoned 102 - waiting"));
    const md_kpi_t *k = md_acd_queue_kpi(acd, 0);
    CHECK(k->abandoned_short == 1 && k->abandoned == 1 && k->abandoned_in_sl == 0 &&
          k->wait_abandoned_ms == 20000);
    CHECK(md_acd_call_hangup(acd, c2, now) == -ENOENT);
    /* Offered: the offer is withdrawn and the agent is ready again, not penalised. */
    ready(a);
    reset();
    uint32_t c3 = enter("q", 103, "", 0);
    after(6000);
    CHECK(md_acd_call_hangup(acd, c3, now) == 0);
    ACTS("music 103 1; offer 103 1024; cancel 103 1024");
    CHECK(st(a) == MD_ACD_READY && has(evs, "abandoned 103 - offered"));
    /* Announcement: the agent answered; during "agent 1024 at your service" the caller
     * hangs up: the agent is ready again, the call counts abandoned (never connected). */
    uint32_t c4 = enter("q", 104, "", 0);
    after(6000);
    CHECK(md_acd_agent_answer(acd, a, c4, 555, now) == 0);
    ACTS("music 104 1; offer 104 1024; agent# 104 en/acd/agent en/num/1 en/num/0 en/num/2 "
         "en/num/4 en/acd/at_your_service");
    CHECK(st(a) == MD_ACD_RESERVED);
    CHECK(md_acd_call_hangup(acd, c4, now) == 0);
    CHECK(st(a) == MD_ACD_READY && has(evs, "abandoned 104 - announce"));
    CHECK(k->abandoned == 3 && k->answered == 0);
    /* The announcement ends: connected on the leg the agent answered on. */
    uint32_t c5 = enter("q", 105, "", 0);
    CHECK(md_acd_agent_answer(acd, a, c5, 556, now) == 0);
    reset();
    md_acd_prompt_done(acd, last_call, last_tag, now);
    ACTS("bridge 105 1024/556");
    CHECK(st(a) == MD_ACD_TALKING && k->answered == 1);
    /* An announcement never reported done still connects (30 s). */
    CHECK(md_acd_agent_hangup(acd, a, now) == 0);
    uint32_t c6 = enter("q", 106, "", 0);
    CHECK(md_acd_agent_answer(acd, a, c6, 557, now) == 0);
    reset();
    after(30000);
    CHECK(has(acts, "bridge 106 1024/557"));
    no_agent_stuck();
}

/* ---- agent timeouts and failures, client gone ---- */

static void test_agent_paths(void)
{
    world();
    int qi = quiet_queue("q", "q");
    qcfg(qi)->offer_timeout_ms = 15000;
    int a1 = agent("1001", "q", 1), a2 = agent("1002", "q", 1), a3 = agent("1003", "q", 1);
    ready(a1);
    uint32_t c1 = enter("q", 101, "", 0);
    uint32_t c2 = enter("q", 102, "", 1);   /* a higher priority, arriving while 101 rings */
    CHECK(md_acd_agent_login(acd, a2, 0, 0, now) == 0);
    reset();
    /* No answer in 15 s: 1001 not ready "no_answer", 101 back at the head, even before
     * 102 and its higher priority. */
    after(14900);
    CHECK(st(a1) == MD_ACD_OFFERED);
    after(100);
    ACTS("cancel 101 1001; music 101 1");
    CHECK(st(a1) == MD_ACD_NOT_READY && strcmp(why(a1), "no_answer") == 0);
    CHECKF(pos(c1) == 1 && pos(c2) == 2 && has(evs, "requeued 101 - no_answer"), "%s", evs);
    /* 1002 ready: gets 101, not 102. Its leg fails: 101 back at the head again. */
    ready(a2);
    CHECK(has(acts, "offer 101 1002"));
    CHECK(md_acd_agent_leg_failed(acd, a2, now) == 0);
    CHECK(st(a2) == MD_ACD_NOT_READY && strcmp(why(a2), "leg_failed") == 0 && pos(c1) == 1);
    /* An OFFER the host cannot make is a failed leg too. */
    fail_offer = "1003";
    reset();
    ready(a3);
    ACTS("offer 101 1003; music 101 1");
    CHECK(st(a3) == MD_ACD_NOT_READY && strcmp(why(a3), "leg_failed") == 0 && pos(c1) == 1);
    fail_offer = NULL;
    /* Reject. */
    ready(a3);
    CHECK(md_acd_agent_reject(acd, a3, now) == 0);
    CHECK(strcmp(why(a3), "rejected") == 0 && pos(c1) == 1);
    /* Auto-answer with a standing leg: answered at once. */
    md_acd_agent_cfg_t ac;
    memset(&ac, 0, sizeof(ac));
    snprintf(ac.id, sizeof(ac.id), "2001");
    snprintf(ac.skills[0].name, sizeof(ac.skills[0].name), "q");
    ac.skills[0].level = 1;
    ac.n_skills = 1;
    ac.auto_answer = 1;
    int aa = md_acd_agent_add(acd, &ac);
    CHECK(md_acd_agent_login(acd, aa, 0, 900, now) == 0);
    reset();
    CHECK(md_acd_agent_ready(acd, aa, now) == 0);
    ACTS("offer 101 2001; bridge 101 2001/900");
    CHECK(st(aa) == MD_ACD_TALKING && pos(c2) == 1);
    /* The agent's desktop client (owner 42) disconnects while 1001 is offered 102:
     * 102 back at the head, 1001 logged out. */
    md_acd_agent_force(acd, a1, MD_ACD_LOGGED_OUT, "", now);
    CHECK(md_acd_agent_login(acd, a1, 42, 0, now) == 0);
    ready(a1);
    CHECK(st(a1) == MD_ACD_OFFERED);
    CHECK(md_acd_client_gone(acd, 42, now) == 1);
    CHECK(st(a1) == MD_ACD_LOGGED_OUT && pos(c2) == 1);
    /* The integrator's client (owner 7, all calls here) disconnects while 102 is
     * offered to 1002 and 101 talks to 2001: everything is released, 1002 ready again,
     * 2001 in after-call work -> ready (ACW 0). */
    ready(a2);
    CHECK(st(a2) == MD_ACD_OFFERED);
    reset();
    CHECK(md_acd_client_gone(acd, 7, now) == 2);
    CHECK(has(acts, "cancel 102 1002") && has(acts, "release 102 -") &&
          has(acts, "unbridge 101 2001") && has(acts, "release 101 -"));
    CHECK(gone(c1) && gone(c2) && st(a2) == MD_ACD_READY && st(aa) == MD_ACD_READY);
    no_agent_stuck();
    /* Agent client gone during the announcement: the caller back at the head. */
    qcfg(qi)->announce_agent = 1;
    md_acd_agent_force(acd, a2, MD_ACD_LOGGED_OUT, "", now);
    md_acd_agent_force(acd, a3, MD_ACD_LOGGED_OUT, "", now);
    md_acd_agent_force(acd, aa, MD_ACD_LOGGED_OUT, "", now);
    CHECK(md_acd_agent_login(acd, a1, 43, 0, now) == 0);
    ready(a1);
    uint32_t c3 = enter("q", 103, "", 0);
    CHECK(md_acd_agent_answer(acd, a1, c3, 0, now) == 0 && st(a1) == MD_ACD_RESERVED);
    CHECK(md_acd_client_gone(acd, 43, now) == 1);
    CHECK(st(a1) == MD_ACD_LOGGED_OUT && pos(c3) == 1);
    no_agent_stuck();
}

/* ---- ACW, last agent, blacklist ---- */

static void test_acw(void)
{
    world();
    int qi = quiet_queue("q", "q");
    qcfg(qi)->acw_ms = 10000;
    int a = agent("1001", "q", 1);
    ready(a);
    uint32_t c1 = enter("q", 101, "", 0);
    CHECK(md_acd_agent_answer(acd, a, c1, 0, now) == 0);
    uint32_t c2 = enter("q", 102, "", 0);
    after(30000);
    CHECK(md_acd_call_hangup(acd, c1, now) == 0);   /* the caller hangs up */
    CHECK(st(a) == MD_ACD_ACW && pos(c2) == 1);
    reset();
    after(9900);
    CHECK(st(a) == MD_ACD_ACW && acts[0] == '\0');
    after(100);
    ACTS("offer 102 1001");
    const md_kpi_t *k = md_acd_agent_kpi(acd, a);
    CHECK(k->handled == 1 && k->talk_ms == 30000 && k->acw_ms == 10000);
    /* Ready pressed during ACW ends it early (3 s of ACW). */
    CHECK(md_acd_agent_answer(acd, a, c2, 0, now) == 0);
    after(1000);
    CHECK(md_acd_agent_hangup(acd, a, now) == 0);
    after(3000);
    CHECK(md_acd_agent_ready(acd, a, now) == 0 && st(a) == MD_ACD_READY);
    CHECK(k->handled == 2 && k->talk_ms == 31000 && k->acw_ms == 13000);
    /* Not ready asked during a call applies after the ACW. */
    uint32_t c3 = enter("q", 103, "", 0);
    CHECK(md_acd_agent_answer(acd, a, c3, 0, now) == 0);
    CHECK(md_acd_agent_not_ready(acd, a, "training", now) == 0 && st(a) == MD_ACD_TALKING);
    CHECK(md_acd_agent_hangup(acd, a, now) == 0 && st(a) == MD_ACD_ACW);
    after(10000);
    CHECK(st(a) == MD_ACD_NOT_READY && strcmp(why(a), "training") == 0);
}

static void test_last_agent(void)
{
    world();
    quiet_queue("q", "q");
    int a1 = agent("1001", "q", 1), a2 = agent("1002", "q", 1);
    ready(a1);
    after(1000);
    ready(a2);
    /* First call from X: longest idle is 1001. Make 1002 serve X instead. */
    CHECK(md_acd_agent_not_ready(acd, a1, "x", now) == 0);
    uint32_t c = enter("q", 101, "13900000009", 0);
    CHECK(md_acd_agent_answer(acd, a2, c, 0, now) == 0);
    after(1000);
    CHECK(md_acd_agent_hangup(acd, a2, now) == 0);
    ready(a1);   /* 1001 idle since now, 1002 since now too: tie -> 1001 by index */
    after(1000);
    reset();
    /* X again: routed to 1002, its last agent, although 1001 would be first. */
    c = enter("q", 102, "13900000009", 0);
    ACTS("music 102 1; offer 102 1002");
    CHECK(md_acd_agent_answer(acd, a2, c, 0, now) == 0);
    /* Another caller goes by the strategy: 1001. */
    enter("q", 103, "13900000001", 0);
    ACTS("bridge 102 1002/0; music 103 1; offer 103 1001");
    /* X calls while 1002 is busy: not held for it, 1001 takes it when free. */
    CHECK(md_acd_agent_reject(acd, a1, now) == 0);
    ready(a1);
    reset();
    md_acd_call_cfg_t cc = { .queue = "q", .channel = 104, .ani = "13900000009" };
    uint32_t id;
    CHECK(md_acd_call_enter(acd, &cc, &id, now) == 0);
    /* 103 (requeued at the head) is offered to 1001 again; X waits behind nobody. */
    CHECK(pos(id) == 1 && !has(acts, "offer 104"));
}

static void test_blacklist(void)
{
    world();
    quiet_queue("q", "q");
    md_acd_call_cfg_t cc = { .queue = "q", .channel = 101, .ani = "13500000001" };
    uint32_t id;
    CHECK(md_acd_blacklist_add(acd, "13500000001", MD_ACD_BL_BUSY, now + 60000) == 0);
    CHECK(md_acd_blacklist_add(acd, "13500000002", MD_ACD_BL_RELEASE, 0) == 0);
    CHECK(md_acd_blacklist_add(acd, "", MD_ACD_BL_RELEASE, 0) == -EINVAL);
    CHECK(md_acd_call_enter(acd, &cc, &id, now) == -EACCES);
    ACTS("release 101 en/acd/system_busy");
    cc.ani = "13500000002";
    cc.channel = 102;
    CHECK(md_acd_call_enter(acd, &cc, &id, now) == -EACCES);
    ACTS("release 102 -");
    CHECK(md_acd_queue_kpi(acd, 0)->blocked == 2 && md_acd_queue_kpi(acd, 0)->offered == 0);
    /* The period ends: a normal caller again. */
    after(60000);
    cc.ani = "13500000001";
    cc.channel = 103;
    CHECK(md_acd_call_enter(acd, &cc, &id, now) == 0);
    /* Moved back to normal by hand. */
    CHECK(md_acd_blacklist_remove(acd, "13500000002") == 0);
    CHECK(md_acd_blacklist_remove(acd, "13500000002") == -ENOENT);
    cc.ani = "13500000002";
    cc.channel = 104;
    CHECK(md_acd_call_enter(acd, &cc, &id, now) == 0);
}

/* ---- supervisors, hold, transfer, survey ---- */

static void test_supervisor(void)
{
    world();
    int qi = quiet_queue("q", "q");
    qcfg(qi)->acw_ms = 10000;
    qcfg(qi)->hold_alert_ms = 60000;
    quiet_queue("expert", "expert");
    int a1 = agent("1001", "q", 1), a2 = agent("1002", "q", 1), a3 = agent("1003", "other", 1);
    ready(a1);
    ready(a2);
    CHECK(md_acd_agent_force(acd, a2, MD_ACD_NOT_READY, "", now) == 0);
    CHECK(st(a2) == MD_ACD_NOT_READY && strcmp(why(a2), "supervisor") == 0);
    uint32_t c = enter("q", 101, "", 0);
    CHECK(md_acd_agent_answer(acd, a1, c, 0, now) == 0);
    reset();
    /* Listen, whisper, barge, stop. */
    CHECK(md_acd_monitor(acd, a1, 900, MD_ACD_MON_LISTEN, now) == 0);
    CHECK(md_acd_monitor(acd, a1, 900, MD_ACD_MON_WHISPER, now) == 0);
    CHECK(md_acd_monitor(acd, a1, 900, MD_ACD_MON_BARGE, now) == 0);
    CHECK(md_acd_monitor(acd, a1, 900, MD_ACD_MON_STOP, now) == 0);
    ACTS("monitor 1001 900 1; monitor 1001 900 2; monitor 1001 900 3; monitor 1001 900 0");
    CHECK(md_acd_monitor(acd, a2, 900, MD_ACD_MON_LISTEN, now) == -ENOTCONN);
    /* Hold, the alert after 60 s, retrieve, mute. */
    after(10000);
    CHECK(md_acd_call_hold(acd, c, now) == 0 && st(a1) == MD_ACD_HOLD);
    after(59900);
    CHECK(!has(evs, "hold_alert"));
    after(100);
    CHECK(has(evs, "hold_alert 101 1001"));
    CHECK(md_acd_call_retrieve(acd, c, now) == 0 && st(a1) == MD_ACD_TALKING);
    CHECK(md_acd_call_mute(acd, c, 1, now) == 0);
    ACTS("hold 101 1001; retrieve 101 1001; mute 101 1");
    /* Force logout while talking: applies after the call's ACW. */
    CHECK(md_acd_agent_force(acd, a1, MD_ACD_LOGGED_OUT, "", now) == 0);
    CHECK(st(a1) == MD_ACD_TALKING);
    /* Force release of the call: caller released, agent to ACW, then logged out. */
    after(5000);
    CHECK(md_acd_force_release(acd, c, now) == 0);
    ACTS("unbridge 101 1001; release 101 -");
    CHECK(st(a1) == MD_ACD_ACW);
    after(10000);
    CHECK(st(a1) == MD_ACD_LOGGED_OUT);
    /* talk 10 s + 5 s, hold 60 s, acw 10 s */
    const md_kpi_t *k = md_acd_agent_kpi(acd, a1);
    CHECK(k->talk_ms == 15000 && k->hold_ms == 60000 && k->acw_ms == 10000);
    /* Skills live: 1003 (no "q" skill) gets it and takes the waiting call at once. */
    uint32_t c2 = enter("q", 102, "", 0);
    ready(a3);
    CHECK(pos(c2) == 1);
    md_acd_skill_t sk[2] = { { "other", 1 }, { "q", 5 } };
    reset();
    CHECK(md_acd_agent_set_skills(acd, a3, sk, 2, now) == 0);
    ACTS("offer 102 1003");
    /* Force not ready during an offer: withdrawn, the caller at the head, 1002 forced
     * ready takes it. */
    CHECK(md_acd_agent_force(acd, a3, MD_ACD_NOT_READY, "coaching", now) == 0);
    CHECK(st(a3) == MD_ACD_NOT_READY && strcmp(why(a3), "coaching") == 0 && pos(c2) == 1);
    CHECK(md_acd_agent_force(acd, a2, MD_ACD_READY, "", now) == 0);
    CHECK(has(acts, "cancel 102 1003") && has(acts, "offer 102 1002"));
    /* Transfer to an agent keeping the data, then to a queue. */
    CHECK(md_acd_agent_answer(acd, a2, c2, 0, now) == 0);
    CHECK(md_acd_transfer_agent(acd, c2, a1, now) == -EBUSY);   /* logged out */
    md_acd_agent_force(acd, a3, MD_ACD_READY, "", now);
    reset();
    last_offer_data[0] = '\0';
    CHECK(md_acd_transfer_agent(acd, c2, a3, now) == 0);
    ACTS("unbridge 102 1002; music 102 1; offer 102 1003");
    CHECK(strcmp(last_offer_data, "trail=main:0") == 0 && st(a2) == MD_ACD_ACW);
    CHECK(md_acd_agent_answer(acd, a3, c2, 0, now) == 0);
    int ax = agent("3001", "expert", 1);
    ready(ax);
    reset();
    CHECK(md_acd_transfer_queue(acd, c2, "expert", now) == 0);
    ACTS("unbridge 102 1003; music 102 1; offer 102 3001");
    CHECK(md_acd_queue_kpi(acd, qi)->transferred == 2 &&
          md_acd_queue_kpi(acd, 1)->offered == 1 &&
          md_acd_agent_kpi(acd, a2)->transferred == 1);
    /* IVR step and back to the same agent (ACD-6). */
    CHECK(md_acd_agent_answer(acd, ax, c2, 0, now) == 0);
    reset();
    CHECK(md_acd_ivr_step(acd, c2, "password", now) == 0);
    CHECK(st(ax) == MD_ACD_HOLD);
    CHECK(md_acd_ivr_return(acd, c2, "ok", now) == 0);
    ACTS("unbridge 102 3001; route 102 ivr password; bridge 102 3001/0");
    CHECKF(has(evs, "connected 102 3001 ok") && st(ax) == MD_ACD_TALKING, "%s", evs);
    no_agent_stuck();
}

static void test_survey(void)
{
    world();
    int qi = quiet_queue("q", "q");
    snprintf(qcfg(qi)->survey, MD_ACD_NAME, "csat");
    int a1 = agent("1001", "q", 1), a2 = agent("1002", "q", 1);
    ready(a1);
    uint32_t c = enter("q", 101, "", 0);
    CHECK(md_acd_agent_answer(acd, a1, c, 0, now) == 0);
    reset();
    CHECK(md_acd_agent_hangup(acd, a1, now) == 0);
    ACTS("unbridge 101 1001; route 101 survey csat");
    CHECK(md_acd_survey_result(acd, c, 6, now) == -ERANGE);
    /* 1002 takes the next call meanwhile: the rating still goes to 1001. */
    CHECK(md_acd_agent_not_ready(acd, a1, "x", now) == 0);
    ready(a2);
    uint32_t c2 = enter("q", 102, "", 0);
    CHECK(md_acd_agent_answer(acd, a2, c2, 0, now) == 0);
    CHECK(md_acd_survey_result(acd, c, 4, now) == 0);
    CHECK(md_acd_agent_kpi(acd, a1)->surveys == 1 && md_acd_agent_kpi(acd, a1)->survey_sum == 4);
    CHECK(md_acd_agent_kpi(acd, a2)->surveys == 0);
    CHECKF(has(evs, "survey 101 1001"), "%s", evs);
    /* The caller hangs up first: no survey. */
    reset();
    CHECK(md_acd_call_hangup(acd, c2, now) == 0);
    ACTS("unbridge 102 1002");
    CHECK(md_acd_survey_result(acd, c2, 5, now) == -ENOENT);
}

/* ---- outbound ---- */

static void test_outbound(void)
{
    world();
    md_acd_campaign_cfg_t cc;
    memset(&cc, 0, sizeof(cc));
    snprintf(cc.name, sizeof(cc.name), "notice");
    snprintf(cc.prompt, sizeof(cc.prompt), "bill_due");
    cc.mode = MD_ACD_CAMP_MESSAGE;
    cc.max_lines = 2;
    cc.max_attempts = 2;
    cc.retry_ms = 60000;
    int c = md_acd_campaign_add(acd, &cc);
    CHECK(c == 0);
    md_acd_campaign_number(acd, c, "111");
    md_acd_campaign_number(acd, c, "222");
    md_acd_campaign_number(acd, c, "333");
    CHECK(md_acd_campaign_start(acd, c, now) == 0);
    ACTS("dial 111 -; dial 222 -");
    uint32_t d222 = dial_call;
    uint32_t d111 = d222 - 1;   /* consecutive slots */
    CHECK(md_acd_dial_result(acd, d111, MD_ACD_DIAL_ANSWERED, 501, now) == 0);
    /* The message still holds its line: 333 waits for it. */
    ACTS("play 501 en/bill_due");
    md_acd_prompt_done(acd, last_call, last_tag, now);
    ACTS("release 501 -; dial 333 -");
    CHECK(md_acd_campaign_entry(acd, c, 0)->state == MD_ACD_NUM_DONE);
    CHECK(md_acd_dial_result(acd, d222, MD_ACD_DIAL_NO_ANSWER, 0, now) == 0);
    CHECK(md_acd_campaign_entry(acd, c, 1)->state == MD_ACD_NUM_PENDING);
    uint32_t d333 = dial_call;
    CHECK(md_acd_dial_result(acd, d333, MD_ACD_DIAL_BUSY, 0, now) == 0);
    reset();
    after(59900);
    CHECK(acts[0] == '\0');
    after(100);
    ACTS("dial 222 -; dial 333 -");
    CHECK(md_acd_dial_result(acd, dial_call - 1, MD_ACD_DIAL_NO_ANSWER, 0, now) == 0);
    CHECK(md_acd_dial_result(acd, dial_call, MD_ACD_DIAL_FAILED, 0, now) == 0);
    CHECK(md_acd_campaign_entry(acd, c, 1)->state == MD_ACD_NUM_UNANSWERED &&
          md_acd_campaign_entry(acd, c, 1)->attempts == 2);
    CHECK(md_acd_campaign_entry(acd, c, 2)->state == MD_ACD_NUM_FAILED);
    CHECK(has(evs, "dial_marked 0 - unanswered"));

    /* Progressive with agents: dials only when an agent is free, after inbound callers. */
    int q = quiet_queue("out", "out");
    int a = agent("1001", "out", 1);
    memset(&cc, 0, sizeof(cc));
    snprintf(cc.name, sizeof(cc.name), "sales");
    snprintf(cc.queue, sizeof(cc.queue), "out");
    cc.mode = MD_ACD_CAMP_AGENT;
    cc.max_attempts = 1;
    int c2 = md_acd_campaign_add(acd, &cc);
    md_acd_campaign_number(acd, c2, "444");
    CHECK(md_acd_campaign_start(acd, c2, now) == 0);
    uint32_t in = enter("out", 101, "", 0);
    reset();
    ready(a);
    ACTS("offer 101 1001");   /* the inbound caller first */
    CHECK(md_acd_agent_answer(acd, a, in, 0, now) == 0);
    CHECK(md_acd_agent_hangup(acd, a, now) == 0);
    ACTS("bridge 101 1001/0; unbridge 101 1001; release 101 -; dial 444 1001");
    CHECK(st(a) == MD_ACD_RESERVED);
    CHECK(md_acd_dial_result(acd, dial_call, MD_ACD_DIAL_ANSWERED, 601, now) == 0);
    ACTS("bridge 601 1001/0");
    CHECK(md_acd_campaign_entry(acd, c2, 0)->state == MD_ACD_NUM_DONE);
    CHECK(md_acd_agent_hangup(acd, a, now) == 0);
    CHECK(md_acd_queue_kpi(acd, q)->dialed == 1 && md_acd_queue_kpi(acd, q)->dial_answered == 1);
    /* Manual (agent-initiated), not answered: the agent is back where it was. */
    CHECK(md_acd_agent_not_ready(acd, a, "callwork", now) == 0);
    uint32_t m;
    reset();
    CHECK(md_acd_agent_dial(acd, a, "555", &m, now) == 0);
    ACTS("dial 555 1001");
    CHECK(st(a) == MD_ACD_RESERVED);
    CHECK(md_acd_dial_result(acd, m, MD_ACD_DIAL_NO_ANSWER, 0, now) == 0);
    CHECK(st(a) == MD_ACD_NOT_READY);
    /* A dial never reported ends by itself (90 s), the agent free again. */
    CHECK(md_acd_agent_dial(acd, a, "556", &m, now) == 0);
    after(90000);
    CHECK(gone(m) && st(a) == MD_ACD_NOT_READY);
    no_agent_stuck();
}

/* ---- KPIs over a scripted half hour ----
 *
 * Queue "kpi": SL threshold 15 s, short abandon 5 s, offer timeout 30 s, ACW 10 s, a
 * survey; agents 1001 and 1002 log in and are ready at 0 (times in s from T0, a half-hour
 * boundary). Calls (distinct ANIs, so no last-agent routing):
 *   C1  10  -> 1001 (tie on idle, lower index), answered 14 (wait 4), 1001 hangs up 74
 *           (talk 60), survey rated 4 at 80; ACW 74-84
 *   C2  20  -> 1002, answered 30 (wait 10), hold 50-70, 1002 hangs up 130 (talk 20+60=80,
 *           hold 20), the caller leaves the survey unrated at 131; ACW 130-140
 *   C3  80  waits; 1001 ready at 84 -> offered, answered 100 (wait 20: outside the SL),
 *           1001 hangs up 160 (talk 60), rated 5 at 165; ACW 160-170
 *   C4 100  hangs up 103: short abandon (3 s)
 *   C5 105  hangs up 117: abandoned, wait 12 (within 15 s)
 *   C6 110  hangs up 135: abandoned, wait 25
 *   C7 200  VIP -> 1002 (idle since 140, 1001 since 170), answered 202 (wait 2); 1002
 *           transfers it to 1001 at 262 (talk 60; ACW 262-272); 1001 answers 264, the
 *           caller hangs up 324 (talk 60; ACW 324-334)
 * Queue: offered 7 (class 0: 6, class 3: 1); answered 4 (C1 C2 C3 C7), in SL 3 (4, 10,
 * 2 s); abandoned 2 (C5 12 s in SL, C6 25 s), short 1; ASA = (4+10+20+2)/4 = 9 s;
 * wait abandoned 37 s; longest wait 25 s.
 *   SL ignored = 3/4 = 0.75; negative = 3/(4+2) = 0.5; positive = (3+1)/6 = 0.6667.
 *   Abandon rate = 2/6 = 0.3333.
 *   Handled 5 (C1, C2, C3, C7 at 1002, C7 at 1001): talk 60+80+60+60+60 = 320 s, hold
 *   20 s, ACW 5 x 10 = 50 s; AHT = 390/5 = 78 s. Transfers 1 -> rate 1/4 = 0.25.
 *   Surveys 2, sum 9, mean 4.5.
 * 1001: ready 0-10, offered 10-14, talk 14-74, ACW 74-84, offered 84-100, talk 100-160,
 *   ACW 160-170, ready 170-262, offered 262-264, talk 264-324, ACW 324-334, ready
 *   334-1800: ready 10+92+1466 = 1568 s, busy 4+60+10+16+60+10+2+60+10 = 232 s,
 *   occupancy 232/1800 = 0.12889; handled 3, talk 180, ACW 30; surveys 2 (sum 9).
 * 1002: ready 0-20, offered 20-30, talk 30-50, hold 50-70, talk 70-130, ACW 130-140,
 *   ready 140-200, offered 200-202, talk 202-262, ACW 262-272, ready 272-1800: ready
 *   20+60+1528 = 1608 s, busy 10+20+20+60+10+2+60+10 = 192 s, occupancy 0.10667;
 *   handled 2, talk 140, hold 20, ACW 20; transferred 1.
 * Live view at 112: waiting C5 (7 s) and C6 (2 s), both agents talking, SL so far
 * (negative) 2 in SL of 3 answered, 0 abandoned yet = 0.6667. */

static uint64_t at(unsigned s)
{
    return T0 + (uint64_t)s * 1000;
}

static uint32_t kenter(uint32_t ch, int prio)
{
    char ani[32];
    snprintf(ani, sizeof(ani), "1380000%04u", ch);
    return enter("kpi", ch, ani, prio);
}

static const md_kpi_t *find_kpi(const char *name)
{
    for (unsigned i = 0; i < n_kpis; i++)
        if (strcmp(kpis[i].name, name) == 0)
            return &kpis[i];
    return NULL;
}

#define NEAR(x, want) (fabs((x) - (want)) < 1e-4)

static void test_kpi(void)
{
    world();
    md_acd_queue_cfg_t q;
    md_acd_queue_defaults(&q, "kpi");
    q.announce_first_ms = 0;
    q.busy_offer_ms = 0;
    q.announce_agent = 0;
    q.offer_timeout_ms = 30000;
    q.acw_ms = 10000;
    q.hold_alert_ms = 0;
    snprintf(q.survey, sizeof(q.survey), "csat");
    int qi = md_acd_queue_add(acd, &q);
    int a1 = agent("1001", "kpi", 1), a2 = agent("1002", "kpi", 1);
    ready(a1);
    ready(a2);
    run_to(at(10));
    uint32_t c1 = kenter(1, 0);
    CHECK(has(acts, "offer 1 1001"));
    run_to(at(14));
    CHECK(md_acd_agent_answer(acd, a1, c1, 0, now) == 0);
    run_to(at(20));
    uint32_t c2 = kenter(2, 0);
    run_to(at(30));
    CHECK(md_acd_agent_answer(acd, a2, c2, 0, now) == 0);
    run_to(at(50));
    CHECK(md_acd_call_hold(acd, c2, now) == 0);
    run_to(at(70));
    CHECK(md_acd_call_retrieve(acd, c2, now) == 0);
    run_to(at(74));
    CHECK(md_acd_agent_hangup(acd, a1, now) == 0);
    run_to(at(80));
    CHECK(md_acd_survey_result(acd, c1, 4, now) == 0);
    uint32_t c3 = kenter(3, 0);
    run_to(at(84));
    CHECK(st(a1) == MD_ACD_OFFERED);
    run_to(at(100));
    CHECK(md_acd_agent_answer(acd, a1, c3, 0, now) == 0);
    uint32_t c4 = kenter(4, 0);
    run_to(at(103));
    CHECK(md_acd_call_hangup(acd, c4, now) == 0);
    run_to(at(105));
    uint32_t c5 = kenter(5, 0);
    run_to(at(110));
    uint32_t c6 = kenter(6, 0);
    run_to(at(112));
    md_acd_snapshot_t s;
    md_acd_queue_snap_t qs[2];
    s.queues = qs;
    s.max_queues = 2;
    md_acd_snapshot(acd, now, &s);
    CHECK(s.waiting == 2 && s.longest_wait_ms == 7000 && qs[0].longest_wait_ms == 7000);
    CHECK(s.agents[MD_ACD_TALKING] == 2 && s.busy == 2 && s.idle == 0 && s.logged_in == 2);
    CHECK(qs[0].agents[MD_ACD_TALKING] == 2 && qs[0].answered == 3 && qs[0].abandoned == 0);
    CHECKF(NEAR(qs[0].service_level, 2.0 / 3.0), "live SL %f", qs[0].service_level);
    CHECK(s.arrived_class[0] == 6 && s.arrived_class[3] == 0);
    run_to(at(117));
    CHECK(md_acd_call_hangup(acd, c5, now) == 0);
    run_to(at(130));
    CHECK(md_acd_agent_hangup(acd, a2, now) == 0);
    run_to(at(131));
    CHECK(md_acd_call_hangup(acd, c2, now) == 0);   /* leaves the survey */
    run_to(at(135));
    CHECK(md_acd_call_hangup(acd, c6, now) == 0);
    run_to(at(160));
    CHECK(md_acd_agent_hangup(acd, a1, now) == 0);
    run_to(at(165));
    CHECK(md_acd_survey_result(acd, c3, 5, now) == 0);
    run_to(at(200));
    CHECK(st(a1) == MD_ACD_READY && st(a2) == MD_ACD_READY);
    uint32_t c7 = kenter(7, 3);
    CHECK(has(acts, "offer 7 1002"));
    run_to(at(202));
    CHECK(md_acd_agent_answer(acd, a2, c7, 0, now) == 0);
    run_to(at(262));
    CHECK(md_acd_transfer_agent(acd, c7, a1, now) == 0);
    run_to(at(264));
    CHECK(md_acd_agent_answer(acd, a1, c7, 0, now) == 0);
    run_to(at(324));
    CHECK(md_acd_call_hangup(acd, c7, now) == 0);
    run_to(at(1799));
    CHECK(n_kpis == 0);
    run_to(at(1800));
    CHECK(n_kpis == 3);
    no_agent_stuck();

    const md_kpi_t *k = find_kpi("kpi");
    CHECK(k != NULL);
    if (k == NULL)
        return;
    CHECK(k->scope == MD_KPI_QUEUE && k->start_ms == T0 && k->sl_threshold_ms == 15000);
    CHECKF(k->offered == 7 && k->offered_class[0] == 6 && k->offered_class[3] == 1,
           "offered %u", k->offered);
    CHECKF(k->answered == 4 && k->answered_in_sl == 3, "answered %u in sl %u", k->answered,
           k->answered_in_sl);
    CHECKF(k->abandoned == 2 && k->abandoned_in_sl == 1 && k->abandoned_short == 1,
           "abandoned %u/%u/%u", k->abandoned, k->abandoned_in_sl, k->abandoned_short);
    CHECK(k->wait_answered_ms == 36000 && k->wait_abandoned_ms == 37000);
    CHECK(k->longest_wait_ms == 25000);
    CHECK(NEAR(md_kpi_service_level(k, MD_KPI_ABANDON_IGNORED), 0.75));
    CHECK(NEAR(md_kpi_service_level(k, MD_KPI_ABANDON_NEGATIVE), 0.5));
    CHECK(NEAR(md_kpi_service_level(k, MD_KPI_ABANDON_POSITIVE), 4.0 / 6.0));
    CHECK(NEAR(md_kpi_asa_ms(k), 9000));
    CHECK(NEAR(md_kpi_abandon_rate(k), 2.0 / 6.0));
    CHECKF(k->handled == 5 && k->talk_ms == 320000 && k->hold_ms == 20000 && k->acw_ms == 50000,
           "handled %u talk %llu hold %llu acw %llu", k->handled,
           (unsigned long long)k->talk_ms, (unsigned long long)k->hold_ms,
           (unsigned long long)k->acw_ms);
    CHECK(NEAR(md_kpi_aht_ms(k), 78000));
    CHECK(NEAR(md_kpi_acw_ms(k), 10000));
    CHECK(k->transferred == 1 && NEAR(md_kpi_transfer_rate(k), 0.25));
    CHECK(k->surveys == 2 && NEAR(md_kpi_survey_avg(k), 4.5));

    const md_kpi_t *k1 = find_kpi("1001"), *k2 = find_kpi("1002");
    CHECK(k1 != NULL && k2 != NULL);
    if (k1 == NULL || k2 == NULL)
        return;
    CHECKF(k1->ready_ms == 1568000 && k1->busy_ms == 232000 && k1->not_ready_ms == 0,
           "1001 ready %llu busy %llu", (unsigned long long)k1->ready_ms,
           (unsigned long long)k1->busy_ms);
    CHECK(NEAR(md_kpi_occupancy(k1), 232.0 / 1800.0));
    CHECK(k1->handled == 3 && k1->talk_ms == 180000 && k1->acw_ms == 30000 && k1->answered == 3);
    CHECK(k1->surveys == 2 && k1->survey_sum == 9 && k1->offered == 3);
    CHECKF(k2->ready_ms == 1608000 && k2->busy_ms == 192000, "1002 ready %llu busy %llu",
           (unsigned long long)k2->ready_ms, (unsigned long long)k2->busy_ms);
    CHECK(NEAR(md_kpi_occupancy(k2), 192.0 / 1800.0));
    CHECK(k2->handled == 2 && k2->talk_ms == 140000 && k2->hold_ms == 20000 &&
          k2->acw_ms == 20000 && k2->transferred == 1 && k2->surveys == 0);
    /* The next half hour starts empty; agents' time runs on. */
    const md_kpi_t *cur = md_acd_queue_kpi(acd, qi);
    CHECK(cur->start_ms == T0 + MD_KPI_INTERVAL_MS && cur->offered == 0 && cur->answered == 0);
    run_to(at(1800 + 60));
    md_acd_snapshot(acd, now, &s);
    CHECK(md_acd_agent_kpi(acd, a1)->ready_ms == 60000);
    /* Records add up (hours, days). */
    md_kpi_t sum = *k;
    md_kpi_add(&sum, k);
    CHECK(sum.offered == 14 && NEAR(md_kpi_service_level(&sum, MD_KPI_ABANDON_NEGATIVE), 0.5));
    /* Empty ratios say so. */
    md_kpi_t z;
    memset(&z, 0, sizeof(z));
    CHECK(md_kpi_service_level(&z, MD_KPI_ABANDON_IGNORED) < 0 && md_kpi_aht_ms(&z) < 0);
}

/* ---- consult, three-way and internal calls (ACD-6) ---- */

static int cA, cB, cC;   /* agents 1001, 1002, 1003 with legs 801, 802, 803 */

static void leg_login(int a, uint32_t owner, uint32_t ch)
{
    CHECK(md_acd_agent_login(acd, a, owner, ch, now) == 0);
    CHECK(md_acd_agent_ready(acd, a, now) == 0);
}

/* Caller 101 talking to 1001; 1002 and 1003 ready (1002 idle longer). */
static uint32_t consult_world(void)
{
    world();
    int q = quiet_queue("q", "q");
    qcfg(q)->acw_ms = 10000;
    qcfg(q)->offer_timeout_ms = 15000;
    cA = agent("1001", "q", 1);
    cB = agent("1002", "q", 1);
    cC = agent("1003", "q", 1);
    leg_login(cA, 5, 801);
    after(1000);
    leg_login(cB, 6, 802);
    after(1000);
    leg_login(cC, 6, 803);
    after(1000);
    uint32_t c = enter("q", 101, "13800000001", 0);
    CHECK(md_acd_agent_answer(acd, cA, c, 0, now) == 0);
    reset();
    return c;
}

static uint32_t info_consult(int a)
{
    md_acd_agent_info_t in;
    return md_acd_agent_info(acd, a, &in) == 0 ? in.consult : 0;
}

static uint32_t info_internal(int a)
{
    md_acd_agent_info_t in;
    return md_acd_agent_info(acd, a, &in) == 0 ? in.internal_calls : 999;
}

static int phase_is(uint32_t c, md_acd_call_phase_t p, int agent_)
{
    md_acd_call_info_t i;
    return md_acd_call_info(acd, c, &i) == 0 && i.phase == p && i.agent == agent_;
}

static int state_is(int a, md_acd_agent_state_t s, const char *reason)
{
    return st(a) == s && strcmp(why(a), reason) == 0;
}

static void test_consult(void)
{
    /* Consult, then complete: an attended transfer keeping the call's data. */
    uint32_t c = consult_world(), i = 0;
    CHECK(md_acd_consult(acd, cA, cB, &i, now) == 0 && i != 0 && i != c);
    ACTS("hold 101 1001; offer 801 1002 consult from 1001");
    CHECK(strcmp(last_offer_data, "trail=main:0") == 0);
    CHECK(state_is(cA, MD_ACD_HOLD, "consult") && state_is(cB, MD_ACD_OFFERED, "consult"));
    CHECK(phase_is(c, MD_ACD_CALL_HOLD, cA) && phase_is(i, MD_ACD_CALL_OFFERED, cB));
    CHECK(info_consult(cA) == i && info_consult(cB) == i && info_consult(cC) == 0);
    md_acd_call_info_t ci;
    CHECK(md_acd_call_info(acd, i, &ci) == 0 && ci.kind == MD_ACD_INTERNAL && ci.channel == 801);
    /* What is refused meanwhile, changing nothing. */
    CHECK(md_acd_consult(acd, cA, cC, NULL, now) == -EALREADY);
    CHECK(md_acd_consult_complete(acd, cA, now) == -EBUSY);
    CHECK(md_acd_consult_conference(acd, cA, now) == -EBUSY);
    CHECK(md_acd_consult_complete(acd, cC, now) == -ENOTCONN);
    CHECK(md_acd_consult_cancel(acd, cC, now) == -ENOTCONN);
    CHECK(md_acd_call_hold(acd, c, now) == -EBUSY && md_acd_call_retrieve(acd, c, now) == -EBUSY);
    CHECK(md_acd_call_mute(acd, c, 1, now) == -EBUSY);
    CHECK(md_acd_transfer_agent(acd, c, cC, now) == -EBUSY);
    CHECK(md_acd_transfer_queue(acd, c, "q", now) == -EBUSY);
    CHECK(md_acd_ivr_step(acd, c, "pw", now) == -EBUSY);
    CHECK(md_acd_monitor(acd, cA, 900, MD_ACD_MON_LISTEN, now) == -EBUSY);
    CHECK(md_acd_call_hangup(acd, i, now) == -EINVAL);
    CHECK(md_acd_call_hold(acd, i, now) == -EPERM);
    CHECK(md_acd_agent_call(acd, cC, cB, 0, NULL, now) == -EBUSY);   /* 1002 is offered */
    CHECK(md_acd_agent_answer(acd, cB, c, 0, now) == -ESTALE);         /* not its offer */
    ACTS("");
    /* Answered: the two agents bridged; a new caller goes to 1003, the only free one. */
    after(2000);
    CHECK(md_acd_agent_answer(acd, cB, i, 0, now) == 0);
    ACTS("bridge 801 1002/802");
    CHECKF(has(evs, "connected 801 1002 consult"), "%s", evs);
    CHECK(state_is(cA, MD_ACD_TALKING, "consult") && state_is(cB, MD_ACD_TALKING, "consult"));
    CHECK(phase_is(c, MD_ACD_CALL_HOLD, cA) && phase_is(i, MD_ACD_CALL_TALKING, cB));
    uint32_t c2 = enter("q", 102, "", 0);
    ACTS("music 102 1; offer 102 1003");
    CHECK(md_acd_call_hangup(acd, c2, now) == 0);
    CHECK(st(cC) == MD_ACD_READY);
    reset();
    /* Complete: the caller to 1002 with its data, 1001 to ACW counting a transfer. */
    after(5000);
    CHECK(md_acd_consult_complete(acd, cA, now) == 0);
    ACTS("unbridge 801 1002; bridge 101 1002/802");
    CHECKF(has(evs, "ended 801 1002 transfer") && has(evs, "connected 101 1002 transfer"), "%s", evs);
    CHECK(st(cA) == MD_ACD_ACW && state_is(cB, MD_ACD_TALKING, ""));
    CHECK(phase_is(c, MD_ACD_CALL_TALKING, cB) && gone(i));
    CHECK(md_acd_call_info(acd, c, &ci) == 0 && strcmp(ci.data, "trail=main:0") == 0);
    CHECK(info_consult(cA) == 0 && info_consult(cB) == 0);
    CHECK(info_internal(cA) == 1 && info_internal(cB) == 1);
    md_acd_agent_info_t in;
    CHECK(md_acd_agent_info(acd, cB, &in) == 0 && in.calls == 1 && in.call == c);
    CHECK(md_acd_agent_kpi(acd, cA)->transferred == 1 && md_acd_agent_kpi(acd, cB)->offered == 0);
    after(3000);
    CHECK(md_acd_agent_hangup(acd, cB, now) == 0);
    ACTS("unbridge 101 1002; release 101 -");
    after(10000);
    CHECK(st(cA) == MD_ACD_READY && st(cB) == MD_ACD_READY);
    /* A handled its part (3 s talk, 7 s on hold while consulting), B its own (3 s). */
    const md_kpi_t *ka = md_acd_agent_kpi(acd, cA), *kb = md_acd_agent_kpi(acd, cB);
    CHECKF(ka->handled == 1 && ka->talk_ms == 0 && ka->hold_ms == 7000, "%u %llu %llu", ka->handled,
           (unsigned long long)ka->talk_ms, (unsigned long long)ka->hold_ms);
    CHECK(kb->handled == 1 && kb->talk_ms == 3000 && kb->answered == 1);
    no_agent_stuck();

    /* Three-way: everyone in one conference; the consulted agent leaves, then again and
     * the first agent leaves (the second keeps the call). */
    c = consult_world();
    CHECK(md_acd_consult(acd, cA, cB, &i, now) == 0);
    CHECK(md_acd_agent_answer(acd, cB, i, 0, now) == 0);
    reset();
    fail_conf = 1;   /* the host could not: nothing changes */
    CHECK(md_acd_consult_conference(acd, cA, now) == -ENOSPC);
    CHECK(state_is(cA, MD_ACD_TALKING, "consult") && phase_is(c, MD_ACD_CALL_HOLD, cA));
    fail_conf = 0;
    reset();
    CHECK(md_acd_consult_conference(acd, cA, now) == 0);
    ACTS("conference 101 1001/801 802");
    CHECKF(has(evs, "connected 101 1002 conference"), "%s", evs);
    CHECK(state_is(cA, MD_ACD_TALKING, "conference") && state_is(cB, MD_ACD_TALKING, "conference"));
    CHECK(phase_is(c, MD_ACD_CALL_TALKING, cA));
    CHECK(md_acd_consult_conference(acd, cA, now) == -EALREADY);
    CHECK(md_acd_consult(acd, cA, cC, NULL, now) == -EALREADY);
    CHECK(md_acd_call_hold(acd, c, now) == -EBUSY);
    CHECK(md_acd_monitor(acd, cB, 900, MD_ACD_MON_LISTEN, now) == -EBUSY);
    CHECK(md_acd_agent_hangup(acd, cB, now) == 0);
    ACTS("conf_leave 101 802 stays 1001/801");
    CHECK(state_is(cA, MD_ACD_TALKING, "") && st(cB) == MD_ACD_READY && gone(i));
    CHECK(phase_is(c, MD_ACD_CALL_TALKING, cA) && info_consult(cA) == 0);
    CHECK(md_acd_call_hold(acd, c, now) == 0 && md_acd_call_retrieve(acd, c, now) == 0);
    CHECK(md_acd_consult(acd, cA, cB, &i, now) == 0);
    CHECK(md_acd_agent_answer(acd, cB, i, 0, now) == 0);
    CHECK(md_acd_consult_conference(acd, cA, now) == 0);
    reset();
    CHECK(md_acd_agent_hangup(acd, cA, now) == 0);
    ACTS("conf_leave 101 801 stays 1002/802");
    CHECK(st(cA) == MD_ACD_ACW && state_is(cB, MD_ACD_TALKING, "") && phase_is(c, MD_ACD_CALL_TALKING, cB));
    CHECK(info_internal(cB) == 2 && md_acd_agent_kpi(acd, cA)->transferred == 1);
    CHECK(md_acd_agent_hangup(acd, cB, now) == 0);
    no_agent_stuck();
    /* ConsultComplete in a three-way: the first agent leaves it too. */
    c = consult_world();
    CHECK(md_acd_consult(acd, cA, cB, &i, now) == 0);
    CHECK(md_acd_agent_answer(acd, cB, i, 0, now) == 0);
    CHECK(md_acd_consult_conference(acd, cA, now) == 0);
    reset();
    CHECK(md_acd_consult_complete(acd, cA, now) == 0);
    ACTS("conf_leave 101 801 stays 1002/802");
    CHECK(phase_is(c, MD_ACD_CALL_TALKING, cB));
    /* ConsultCancel in a three-way: the consulted agent is taken out. */
    c = consult_world();
    CHECK(md_acd_consult(acd, cA, cB, &i, now) == 0);
    CHECK(md_acd_agent_answer(acd, cB, i, 0, now) == 0);
    CHECK(md_acd_consult_conference(acd, cA, now) == 0);
    reset();
    CHECK(md_acd_consult_cancel(acd, cA, now) == 0);
    ACTS("conf_leave 101 802 stays 1001/801");
    CHECK(state_is(cA, MD_ACD_TALKING, "") && st(cB) == MD_ACD_READY && phase_is(c, MD_ACD_CALL_TALKING, cA));
    no_agent_stuck();

    /* Cancel while ringing (1002 keeps its idle rank) and once answered. */
    c = consult_world();
    CHECK(md_acd_consult(acd, cA, cB, &i, now) == 0);
    after(1000);
    CHECK(md_acd_consult_cancel(acd, cA, now) == 0);
    ACTS("hold 101 1001; offer 801 1002 consult from 1001; cancel 801 1002; retrieve 101 1001");
    CHECKF(has(evs, "ended 801 1002 cancelled"), "%s", evs);
    CHECK(state_is(cA, MD_ACD_TALKING, "") && st(cB) == MD_ACD_READY && phase_is(c, MD_ACD_CALL_TALKING, cA));
    CHECK(gone(i) && info_consult(cA) == 0);
    uint32_t c3 = enter("q", 103, "", 0);   /* 1002 idle longer than 1003: still first */
    CHECK(has(acts, "offer 103 1002"));
    CHECK(md_acd_call_hangup(acd, c3, now) == 0);
    CHECK(md_acd_consult(acd, cA, cB, &i, now) == 0);
    CHECK(md_acd_agent_answer(acd, cB, i, 0, now) == 0);
    reset();
    CHECK(md_acd_consult_cancel(acd, cA, now) == 0);
    ACTS("unbridge 801 1002; retrieve 101 1001");
    CHECK(state_is(cA, MD_ACD_TALKING, "") && st(cB) == MD_ACD_READY && info_internal(cB) == 1);
    /* A consult from a call the agent had put on hold: the caller stays on hold until
     * the consult is over, then comes back. */
    CHECK(md_acd_call_hold(acd, c, now) == 0);
    reset();
    CHECK(md_acd_consult(acd, cA, cB, &i, now) == 0);
    ACTS("offer 801 1002 consult from 1001");
    CHECK(md_acd_consult_cancel(acd, cA, now) == 0);
    ACTS("cancel 801 1002; retrieve 101 1001");
    /* Refused consults. */
    CHECK(md_acd_consult(acd, cA, cA, NULL, now) == -EINVAL);
    CHECK(md_acd_consult(acd, cA, 99, NULL, now) == -ENOENT);
    CHECK(md_acd_consult(acd, cB, cC, NULL, now) == -ENOTCONN);   /* 1002 has no caller */
    CHECK(md_acd_agent_not_ready(acd, cC, "break", now) == 0);
    CHECK(md_acd_consult(acd, cA, cC, NULL, now) == -EBUSY);
    CHECK(md_acd_ivr_step(acd, c, "pw", now) == 0);
    CHECK(md_acd_consult(acd, cA, cB, NULL, now) == -EBUSY);     /* the caller is away */
    CHECK(md_acd_ivr_return(acd, c, "ok", now) == 0);
    ACTS("unbridge 101 1001; route 101 ivr pw; bridge 101 1001/801");
    no_agent_stuck();
}

/* Every way out of a consult leaves nobody offered, reserved or on hold. */
static void test_consult_paths(void)
{
    uint32_t c, i;
    /* The caller hangs up while the consult rings, when it is answered, in a three-way. */
    c = consult_world();
    CHECK(md_acd_consult(acd, cA, cB, &i, now) == 0);
    reset();
    CHECK(md_acd_call_hangup(acd, c, now) == 0);
    ACTS("cancel 801 1002; unbridge 101 1001");
    CHECK(st(cA) == MD_ACD_ACW && st(cB) == MD_ACD_READY && gone(i) && gone(c));
    CHECK(has(evs, "ended 801 1002 caller_hangup") && info_consult(cA) == 0);
    no_agent_stuck();
    c = consult_world();
    CHECK(md_acd_consult(acd, cA, cB, &i, now) == 0);
    CHECK(md_acd_agent_answer(acd, cB, i, 0, now) == 0);
    reset();
    CHECK(md_acd_call_hangup(acd, c, now) == 0);
    ACTS("unbridge 801 1002; unbridge 101 1001");
    CHECK(st(cA) == MD_ACD_ACW && st(cB) == MD_ACD_READY && gone(i));
    c = consult_world();
    CHECK(md_acd_consult(acd, cA, cB, &i, now) == 0);
    CHECK(md_acd_agent_answer(acd, cB, i, 0, now) == 0);
    CHECK(md_acd_consult_conference(acd, cA, now) == 0);
    reset();
    CHECK(md_acd_call_hangup(acd, c, now) == 0);
    ACTS("unbridge 101 1001");   /* ends the conference for all */
    CHECK(st(cA) == MD_ACD_ACW && st(cB) == MD_ACD_READY && gone(i));
    no_agent_stuck();

    /* The consulted agent rejects, does not answer in time, its leg fails, its OFFER
     * fails: not ready with the reason, the caller back with the first agent. */
    static const char *why_[] = { "rejected", "no_answer", "leg_failed" };
    for (int k = 0; k < 3; k++) {
        c = consult_world();
        CHECK(md_acd_consult(acd, cA, cB, &i, now) == 0);
        reset();
        if (k == 0) {
            CHECK(md_acd_agent_reject(acd, cB, now) == 0);
        } else if (k == 1) {
            after(14900);
            CHECK(st(cB) == MD_ACD_OFFERED);
            after(100);
        } else {
            CHECK(md_acd_agent_leg_failed(acd, cB, now) == 0);
        }
        ACTS("cancel 801 1002; retrieve 101 1001");
        CHECKF(state_is(cB, MD_ACD_NOT_READY, why_[k]), "%s: %s", why_[k], why(cB));
        CHECK(state_is(cA, MD_ACD_TALKING, "") && phase_is(c, MD_ACD_CALL_TALKING, cA) && gone(i));
        CHECKF(has(evs, why_[k]), "%s", evs);
        CHECK(md_acd_agent_kpi(acd, cB)->no_answer == 0 && md_acd_agent_kpi(acd, cB)->offered == 0);
        no_agent_stuck();
    }
    c = consult_world();
    fail_offer = "1002";
    CHECK(md_acd_consult(acd, cA, cB, &i, now) == 0);
    ACTS("hold 101 1001; offer 801 1002 consult from 1001; retrieve 101 1001");
    CHECK(state_is(cB, MD_ACD_NOT_READY, "leg_failed") && state_is(cA, MD_ACD_TALKING, "") && gone(i));
    fail_offer = NULL;
    /* Its leg fails once answered: as its hangup, the caller back with the first agent. */
    c = consult_world();
    CHECK(md_acd_consult(acd, cA, cB, &i, now) == 0);
    CHECK(md_acd_agent_answer(acd, cB, i, 0, now) == 0);
    reset();
    CHECK(md_acd_agent_leg_failed(acd, cB, now) == 0);
    ACTS("unbridge 801 1002; retrieve 101 1001");
    CHECK(st(cB) == MD_ACD_READY && state_is(cA, MD_ACD_TALKING, "") && gone(i));
    /* A supervisor forces it not ready while offered; its client goes away while offered. */
    c = consult_world();
    CHECK(md_acd_consult(acd, cA, cB, &i, now) == 0);
    reset();
    CHECK(md_acd_agent_force(acd, cB, MD_ACD_NOT_READY, "coaching", now) == 0);
    ACTS("cancel 801 1002; retrieve 101 1001");
    CHECK(state_is(cB, MD_ACD_NOT_READY, "coaching") && state_is(cA, MD_ACD_TALKING, ""));
    c = consult_world();
    CHECK(md_acd_consult(acd, cA, cB, &i, now) == 0);
    reset();
    CHECK(md_acd_client_gone(acd, 6, now) == 2);   /* 1002 and 1003 were logged in by 6 */
    ACTS("cancel 801 1002; retrieve 101 1001");
    CHECK(st(cB) == MD_ACD_LOGGED_OUT && st(cC) == MD_ACD_LOGGED_OUT && state_is(cA, MD_ACD_TALKING, ""));
    no_agent_stuck();
    /* Pending not ready asked during the consult applies when it ends. */
    c = consult_world();
    CHECK(md_acd_consult(acd, cA, cB, &i, now) == 0);
    CHECK(md_acd_agent_answer(acd, cB, i, 0, now) == 0);
    CHECK(md_acd_agent_not_ready(acd, cB, "lunch", now) == 0);
    CHECK(md_acd_agent_hangup(acd, cB, now) == 0);
    CHECK(state_is(cB, MD_ACD_NOT_READY, "lunch"));

    /* The first agent hangs up while the consult rings (the offer withdrawn, the caller's
     * call ends as any agent hangup) and once answered (the second takes the caller). */
    c = consult_world();
    CHECK(md_acd_consult(acd, cA, cB, &i, now) == 0);
    reset();
    CHECK(md_acd_agent_hangup(acd, cA, now) == 0);
    ACTS("cancel 801 1002; unbridge 101 1001; release 101 -");
    CHECK(st(cA) == MD_ACD_ACW && st(cB) == MD_ACD_READY && gone(i) && gone(c));
    c = consult_world();
    CHECK(md_acd_consult(acd, cA, cB, &i, now) == 0);
    CHECK(md_acd_agent_answer(acd, cB, i, 0, now) == 0);
    reset();
    CHECK(md_acd_agent_leg_failed(acd, cA, now) == 0);   /* as its hangup */
    ACTS("unbridge 801 1002; bridge 101 1002/802");
    CHECK(st(cA) == MD_ACD_ACW && state_is(cB, MD_ACD_TALKING, "") && phase_is(c, MD_ACD_CALL_TALKING, cB));
    no_agent_stuck();
    /* The caller's API client goes away during the consult: released, both agents free. */
    c = consult_world();
    CHECK(md_acd_consult(acd, cA, cB, &i, now) == 0);
    CHECK(md_acd_agent_answer(acd, cB, i, 0, now) == 0);
    reset();
    CHECK(md_acd_client_gone(acd, 7, now) == 1);
    ACTS("unbridge 801 1002; unbridge 101 1001; release 101 -");
    CHECK(st(cA) == MD_ACD_ACW && st(cB) == MD_ACD_READY && gone(i) && gone(c));
    /* The first agent's client goes away during the consult: the consult goes on, it is
     * logged out when its after-call work ends. */
    c = consult_world();
    CHECK(md_acd_consult(acd, cA, cB, &i, now) == 0);
    CHECK(md_acd_client_gone(acd, 5, now) == 1);
    CHECK(st(cA) == MD_ACD_HOLD && st(cB) == MD_ACD_OFFERED);
    CHECK(md_acd_agent_answer(acd, cB, i, 0, now) == 0);
    CHECK(md_acd_consult_complete(acd, cA, now) == 0);
    after(10000);
    CHECK(st(cA) == MD_ACD_LOGGED_OUT && phase_is(c, MD_ACD_CALL_TALKING, cB));
    /* Forced release of the caller's call, and of the consult itself. */
    c = consult_world();
    CHECK(md_acd_consult(acd, cA, cB, &i, now) == 0);
    CHECK(md_acd_agent_answer(acd, cB, i, 0, now) == 0);
    reset();
    CHECK(md_acd_force_release(acd, i, now) == 0);
    ACTS("unbridge 801 1002; retrieve 101 1001");
    CHECK(has(evs, "ended 801 1002 forced") && state_is(cA, MD_ACD_TALKING, "") && st(cB) == MD_ACD_READY);
    CHECK(md_acd_consult(acd, cA, cB, &i, now) == 0);
    reset();
    CHECK(md_acd_force_release(acd, c, now) == 0);
    ACTS("cancel 801 1002; unbridge 101 1001; release 101 -");
    CHECK(st(cA) == MD_ACD_ACW && st(cB) == MD_ACD_READY && gone(i) && gone(c));
    no_agent_stuck();
    /* An auto-answering agent with a standing leg is connected at once. */
    c = consult_world();
    md_acd_agent_cfg_t ac;
    memset(&ac, 0, sizeof(ac));
    snprintf(ac.id, sizeof(ac.id), "1004");
    ac.auto_answer = 1;
    int cD = md_acd_agent_add(acd, &ac);
    leg_login(cD, 0, 804);
    reset();
    CHECK(md_acd_consult(acd, cA, cD, &i, now) == 0);
    ACTS("hold 101 1001; offer 801 1004 consult from 1001; bridge 801 1004/804");
    CHECK(state_is(cD, MD_ACD_TALKING, "consult"));
    CHECK(md_acd_consult_cancel(acd, cA, now) == 0);
    no_agent_stuck();
}

static void test_internal(void)
{
    uint32_t c, i;
    c = consult_world();
    CHECK(md_acd_agent_hangup(acd, cA, now) == 0);
    CHECK(md_acd_agent_ready(acd, cA, now) == 0);
    (void)c;
    reset();
    /* 1001 calls 1002: offered, answered, bridged; nobody routes a caller to them. */
    CHECK(md_acd_agent_call(acd, cA, cB, 0, &i, now) == 0 && i != 0);
    ACTS("offer 801 1002 internal from 1001");
    CHECK(state_is(cA, MD_ACD_RESERVED, "internal") && state_is(cB, MD_ACD_OFFERED, "internal"));
    CHECK(info_consult(cA) == i && info_consult(cB) == i);
    CHECK(md_acd_agent_answer(acd, cB, i, 0, now) == 0);
    ACTS("bridge 801 1002/802");
    CHECKF(has(evs, "connected 801 1002 internal"), "%s", evs);
    CHECK(state_is(cA, MD_ACD_TALKING, "internal") && state_is(cB, MD_ACD_TALKING, "internal"));
    uint32_t c2 = enter("q", 102, "", 0);
    CHECK(has(acts, "offer 102 1003"));
    CHECK(md_acd_call_hangup(acd, c2, now) == 0);
    CHECK(md_acd_call_hold(acd, i, now) == -EPERM && md_acd_call_hangup(acd, i, now) == -EINVAL);
    CHECK(md_acd_consult_complete(acd, cA, now) == -EPERM);
    CHECK(md_acd_consult_conference(acd, cA, now) == -EPERM);
    CHECK(md_acd_consult(acd, cA, cC, NULL, now) == -ENOTCONN);
    CHECK(md_acd_monitor(acd, cA, 900, MD_ACD_MON_LISTEN, now) == -EBUSY);
    reset();
    after(4000);
    CHECK(md_acd_agent_hangup(acd, cB, now) == 0);
    ACTS("unbridge 801 1002");
    CHECKF(has(evs, "ended 801 1002 agent_hangup"), "%s", evs);
    /* No after-call work (no queue): both ready at once, counted apart from calls. */
    CHECK(st(cA) == MD_ACD_READY && st(cB) == MD_ACD_READY && gone(i));
    CHECK(info_internal(cA) == 1 && info_internal(cB) == 1);
    CHECK(md_acd_agent_kpi(acd, cB)->answered == 0 && md_acd_agent_kpi(acd, cB)->handled == 0 &&
          md_acd_agent_kpi(acd, cB)->offered == 0 && md_acd_agent_kpi(acd, cA)->handled == 1);
    /* From not ready "break", on another leg; the caller hangs up: back to "break". */
    CHECK(md_acd_agent_not_ready(acd, cA, "break", now) == 0);
    reset();
    CHECK(md_acd_agent_call(acd, cA, cB, 811, &i, now) == 0);
    ACTS("offer 811 1002 internal from 1001");
    CHECK(md_acd_agent_answer(acd, cB, i, 0, now) == 0);
    CHECK(md_acd_agent_hangup(acd, cA, now) == 0);
    ACTS("bridge 811 1002/802; unbridge 811 1002");
    CHECK(state_is(cA, MD_ACD_NOT_READY, "break") && st(cB) == MD_ACD_READY);
    CHECK(md_acd_agent_ready(acd, cA, now) == 0);
    /* Ways out while ringing: withdrawn by the caller (cancel or hangup), rejected, not
     * answered in time, the called agent's leg or the caller's leg fails. */
    for (int k = 0; k < 6; k++) {
        reset();
        CHECK(md_acd_agent_call(acd, cA, cB, 0, &i, now) == 0);
        switch (k) {
        case 0: CHECK(md_acd_consult_cancel(acd, cA, now) == 0); break;
        case 1: CHECK(md_acd_agent_hangup(acd, cA, now) == 0); break;
        case 2: CHECK(md_acd_agent_reject(acd, cB, now) == 0); break;
        case 3: after(MD_ACD_INTERNAL_OFFER_MS); break;
        case 4: CHECK(md_acd_agent_leg_failed(acd, cB, now) == 0); break;
        case 5: CHECK(md_acd_agent_leg_failed(acd, cA, now) == 0); break;
        }
        CHECKF(has(acts, "cancel 801 1002") || k == 3, "%d: %s", k, acts);
        CHECK(gone(i) && info_consult(cA) == 0 && info_consult(cB) == 0);
        static const char *wa[] = { "", "", "", "", "", "leg_failed" };
        static const char *wb[] = { "", "", "rejected", "no_answer", "leg_failed", "" };
        CHECKF(state_is(cA, wa[k][0] ? MD_ACD_NOT_READY : MD_ACD_READY, wa[k]) &&
               state_is(cB, wb[k][0] ? MD_ACD_NOT_READY : MD_ACD_READY, wb[k]),
               "%d: %s %s / %s %s", k, md_acd_agent_state_name(st(cA)), why(cA),
               md_acd_agent_state_name(st(cB)), why(cB));
        no_agent_stuck();
        if (st(cA) != MD_ACD_READY)
            CHECK(md_acd_agent_ready(acd, cA, now) == 0);
        if (st(cB) != MD_ACD_READY)
            CHECK(md_acd_agent_ready(acd, cB, now) == 0);
    }
    /* The caller's client goes away: its call ends; its agent logged out. */
    CHECK(md_acd_agent_call(acd, cA, cB, 0, &i, now) == 0);
    CHECK(md_acd_agent_answer(acd, cB, i, 0, now) == 0);
    reset();
    CHECK(md_acd_client_gone(acd, 5, now) == 2);
    ACTS("unbridge 801 1002");
    CHECK(st(cA) == MD_ACD_LOGGED_OUT && st(cB) == MD_ACD_READY && gone(i));
    /* A forced release of it; the supervisor forces the caller out while it rings. */
    leg_login(cA, 5, 801);
    CHECK(md_acd_agent_call(acd, cA, cB, 0, &i, now) == 0);
    CHECK(md_acd_agent_answer(acd, cB, i, 0, now) == 0);
    CHECK(md_acd_force_release(acd, i, now) == 0);
    CHECK(st(cA) == MD_ACD_READY && st(cB) == MD_ACD_READY && gone(i));
    CHECK(md_acd_agent_call(acd, cA, cB, 0, &i, now) == 0);
    CHECK(md_acd_agent_force(acd, cA, MD_ACD_NOT_READY, "meeting", now) == 0);
    CHECK(state_is(cA, MD_ACD_NOT_READY, "meeting") && st(cB) == MD_ACD_READY && gone(i));
    no_agent_stuck();
    /* Refused. */
    CHECK(md_acd_agent_call(acd, cA, cA, 0, NULL, now) == -EINVAL);
    CHECK(md_acd_agent_call(acd, cA, 99, 0, NULL, now) == -ENOENT);
    CHECK(md_acd_agent_not_ready(acd, cC, "break", now) == 0);
    CHECK(md_acd_agent_call(acd, cA, cC, 0, NULL, now) == -EBUSY);
    int cE = agent("1005", "q", 1);
    CHECK(md_acd_agent_login(acd, cE, 0, 0, now) == 0);
    CHECK(md_acd_agent_call(acd, cE, cB, 0, NULL, now) == -EINVAL);   /* no leg */
    c = enter("q", 105, "", 0);
    CHECK(md_acd_agent_answer(acd, cB, c, 0, now) == 0);
    CHECK(md_acd_agent_call(acd, cB, cA, 0, NULL, now) == -EBUSY);    /* on a call */
    CHECK(md_acd_consult_cancel(acd, cB, now) == -ENOTCONN);
    CHECK(md_acd_consult_complete(acd, 99, now) == -ENOENT);
    no_agent_stuck();
}

/* internal_calls in the agents' half-hour records (KPI-1, ACD-6): a consult and a direct
 * call count for both agents in the half hour they connect, an offer not answered does
 * not; they are not offered, answered or handled calls; the queue's record has none; the
 * next half hour starts at 0 while the count since login goes on. */
static void test_internal_kpi(void)
{
    uint32_t c = consult_world(), i = 0;
    (void)c;
    CHECK(md_acd_consult(acd, cA, cB, &i, now) == 0);
    after(1000);
    CHECK(md_acd_agent_kpi(acd, cA)->internal_calls == 0 &&
          md_acd_agent_kpi(acd, cB)->internal_calls == 0);   /* ringing: not yet */
    CHECK(md_acd_agent_answer(acd, cB, i, 0, now) == 0);
    CHECK(md_acd_agent_kpi(acd, cA)->internal_calls == 1 &&
          md_acd_agent_kpi(acd, cB)->internal_calls == 1 &&
          md_acd_agent_kpi(acd, cC)->internal_calls == 0);
    after(5000);
    CHECK(md_acd_consult_cancel(acd, cA, now) == 0);   /* the caller back to 1001 */
    CHECK(md_acd_agent_hangup(acd, cA, now) == 0);
    after(10000);                                      /* 1001's after-call work */
    CHECK(st(cA) == MD_ACD_READY && st(cB) == MD_ACD_READY && st(cC) == MD_ACD_READY);
    /* 1003 calls 1002: answered. 1001 calls 1003: rejected, not counted. */
    CHECK(md_acd_agent_call(acd, cC, cB, 0, &i, now) == 0);
    CHECK(md_acd_agent_answer(acd, cB, i, 0, now) == 0);
    after(3000);
    CHECK(md_acd_agent_hangup(acd, cC, now) == 0);
    CHECK(md_acd_agent_call(acd, cA, cC, 0, &i, now) == 0);
    CHECK(md_acd_agent_reject(acd, cC, now) == 0);
    CHECK(md_acd_agent_ready(acd, cC, now) == 0);
    CHECK(n_kpis == 0);
    run_to(T0 + MD_KPI_INTERVAL_MS);
    const md_kpi_t *k1 = find_kpi("1001"), *k2 = find_kpi("1002"), *k3 = find_kpi("1003"),
                   *kq = find_kpi("q");
    CHECK(k1 != NULL && k2 != NULL && k3 != NULL && kq != NULL);
    if (k1 == NULL || k2 == NULL || k3 == NULL || kq == NULL)
        return;
    CHECKF(k1->internal_calls == 1 && k2->internal_calls == 2 && k3->internal_calls == 1,
           "%u %u %u", k1->internal_calls, k2->internal_calls, k3->internal_calls);
    CHECK(kq->internal_calls == 0 && kq->offered == 1 && kq->answered == 1);
    CHECK(k1->answered == 1 && k1->handled == 1);
    CHECK(k2->offered == 0 && k2->answered == 0 && k2->handled == 0 && k2->no_answer == 0);
    CHECK(k3->offered == 0 && k3->answered == 0 && k3->handled == 0);
    CHECK(k1->start_ms == T0 && k2->scope == MD_KPI_AGENT);
    /* The next half hour: from 0; since login: on. */
    CHECK(md_acd_agent_kpi(acd, cB)->internal_calls == 0);
    CHECK(md_acd_agent_call(acd, cB, cA, 0, &i, now) == 0);
    CHECK(md_acd_agent_answer(acd, cA, i, 0, now) == 0);
    CHECK(md_acd_agent_kpi(acd, cB)->internal_calls == 1 &&
          md_acd_agent_kpi(acd, cA)->internal_calls == 1);
    CHECK(info_internal(cB) == 3 && info_internal(cA) == 2 && info_internal(cC) == 1);
    /* Records add up. */
    md_kpi_t sum = *k2;
    md_kpi_add(&sum, md_acd_agent_kpi(acd, cB));
    CHECK(sum.internal_calls == 3);
    no_agent_stuck();
}

/* The offer timeout of offers without a queue (md_acd_set_internal_offer_ms): a direct
 * call rings that long on the virtual clock, a change applies to the next offer, a
 * consult about a queued call keeps its queue's timeout and one about a manual dial (no
 * queue) takes the setting. */
static void test_internal_offer_timeout(void)
{
    uint32_t c = consult_world(), i = 0, i2 = 0;
    CHECK(md_acd_internal_offer_ms(acd) == MD_ACD_INTERNAL_OFFER_MS);
    CHECK(md_acd_set_internal_offer_ms(acd, 0) == -EINVAL);
    CHECK(md_acd_internal_offer_ms(acd) == MD_ACD_INTERNAL_OFFER_MS);
    CHECK(md_acd_agent_hangup(acd, cA, now) == 0);
    CHECK(md_acd_agent_ready(acd, cA, now) == 0);   /* ends its after-call work */
    (void)c;
    /* 5 s: still ringing at 4.9 s, not answered at 5 s. */
    CHECK(md_acd_set_internal_offer_ms(acd, 5000) == 0 && md_acd_internal_offer_ms(acd) == 5000);
    reset();
    CHECK(md_acd_agent_call(acd, cA, cB, 0, &i, now) == 0);
    ACTS("offer 801 1002 internal from 1001");
    after(4900);
    CHECK(state_is(cA, MD_ACD_RESERVED, "internal") && state_is(cB, MD_ACD_OFFERED, "internal") &&
          !gone(i));
    after(100);
    CHECKF(has(acts, "cancel 801 1002"), "%s", acts);
    CHECK(gone(i) && state_is(cA, MD_ACD_READY, "") && state_is(cB, MD_ACD_NOT_READY, "no_answer"));
    CHECK(md_acd_agent_kpi(acd, cB)->no_answer == 0);   /* an internal offer: not counted */
    CHECK(md_acd_agent_ready(acd, cB, now) == 0);
    /* A change while one rings: that offer keeps its 5 s, the next one gets 60 s. */
    CHECK(md_acd_agent_call(acd, cA, cB, 0, &i, now) == 0);
    after(1000);
    CHECK(md_acd_set_internal_offer_ms(acd, 60000) == 0);
    after(4000);
    CHECK(gone(i) && state_is(cB, MD_ACD_NOT_READY, "no_answer"));
    CHECK(md_acd_agent_ready(acd, cB, now) == 0);
    CHECK(md_acd_agent_call(acd, cA, cB, 0, &i, now) == 0);
    after(59900);
    CHECK(!gone(i) && st(cB) == MD_ACD_OFFERED);
    after(100);
    CHECK(gone(i) && state_is(cB, MD_ACD_NOT_READY, "no_answer") && st(cA) == MD_ACD_READY);
    CHECK(md_acd_agent_ready(acd, cB, now) == 0);
    no_agent_stuck();
    /* A consult about a queued call: the queue's 15 s, not the 2 s set. */
    CHECK(md_acd_set_internal_offer_ms(acd, 2000) == 0);
    c = enter("q", 102, "13800000002", 0);
    int who = -1;
    for (int a = 0; a < 3 && who < 0; a++) {
        int ag = a == 0 ? cA : a == 1 ? cB : cC;
        if (st(ag) == MD_ACD_OFFERED)
            who = ag;
    }
    CHECK(who >= 0);
    if (who < 0)
        return;
    CHECK(md_acd_agent_answer(acd, who, c, 0, now) == 0);
    int to = who == cA ? cB : cA;
    CHECK(md_acd_consult(acd, who, to, &i, now) == 0);
    after(14900);
    CHECK(!gone(i) && st(to) == MD_ACD_OFFERED);
    after(100);
    CHECK(gone(i) && state_is(to, MD_ACD_NOT_READY, "no_answer") &&
          state_is(who, MD_ACD_TALKING, "") && phase_is(c, MD_ACD_CALL_TALKING, who));
    CHECK(md_acd_agent_ready(acd, to, now) == 0);
    CHECK(md_acd_agent_hangup(acd, who, now) == 0);
    CHECK(md_acd_agent_ready(acd, who, now) == 0);
    /* A consult about a manual dial (no queue): the setting's 2 s. */
    CHECK(md_acd_agent_dial(acd, cC, "555", &i2, now) == 0);
    CHECK(md_acd_dial_result(acd, i2, MD_ACD_DIAL_ANSWERED, 301, now) == 0);
    CHECK(st(cC) == MD_ACD_TALKING);
    CHECK(md_acd_consult(acd, cC, cA, &i, now) == 0);
    after(1900);
    CHECK(!gone(i) && st(cA) == MD_ACD_OFFERED);
    after(100);
    CHECK(gone(i) && state_is(cA, MD_ACD_NOT_READY, "no_answer") && st(cC) == MD_ACD_TALKING);
    no_agent_stuck();
}

static void test_errors(void)
{
    world();
    md_acd_queue_cfg_t q;
    md_acd_queue_defaults(&q, "q");
    CHECK(md_acd_queue_add(acd, &q) == 0);
    CHECK(md_acd_queue_add(acd, &q) == -EEXIST);
    q.name[0] = '\0';
    CHECK(md_acd_queue_add(acd, &q) == -EINVAL);
    int a = agent("1001", "q", 1);
    CHECK(agent("1001", "q", 1) == -EEXIST);
    CHECK(agent("1002", "q", 11) == -EINVAL);
    md_acd_call_cfg_t cc = { .queue = "nope", .channel = 1 };
    uint32_t id;
    CHECK(md_acd_call_enter(acd, &cc, &id, now) == -ENOENT);
    cc.queue = "q";
    cc.priority = 4;
    CHECK(md_acd_call_enter(acd, &cc, &id, now) == -EINVAL);
    CHECK(md_acd_agent_ready(acd, a, now) == -ENOTCONN);
    CHECK(md_acd_agent_login(acd, a, 0, 0, now) == 0);
    CHECK(md_acd_agent_login(acd, a, 0, 0, now) == -EALREADY);
    CHECK(md_acd_agent_answer(acd, a, 12345, 0, now) == -ESTALE);
    CHECK(md_acd_agent_hangup(acd, a, now) == -ENOTCONN);
    CHECK(md_acd_call_hangup(acd, 12345, now) == -ENOENT);
    CHECK(md_acd_agent_ready(acd, 99, now) == -ENOENT);
    CHECK(md_acd_agent_logout(acd, a, now) == 0);
    /* Call ids are not reused soon after a call ends. */
    uint32_t ids[3];
    cc.priority = 0;
    for (int i = 0; i < 3; i++) {
        cc.channel = (uint32_t)(10 + i);
        CHECK(md_acd_call_enter(acd, &cc, &ids[i], now) == 0);
        CHECK(md_acd_call_hangup(acd, ids[i], now) == 0);
    }
    CHECK(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
    CHECK(md_acd_call_hangup(acd, ids[0], now) == -ENOENT);
}

int main(void)
{
    test_strategies();
    test_priority();
    test_overflow();
    test_waiting();
    test_abandon();
    test_agent_paths();
    test_acw();
    test_last_agent();
    test_blacklist();
    test_supervisor();
    test_survey();
    test_outbound();
    test_kpi();
    test_errors();
    test_consult();
    test_consult_paths();
    test_internal();
    test_internal_kpi();
    test_internal_offer_timeout();
    md_acd_free(acd);
    return check_summary("acd");
}
