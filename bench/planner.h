/* Capacity planning for a contact centre: how many agents, trunks, engine cores and
 * servers a forecast needs. Pure C, libm only; nothing here touches DPDK.
 *
 *   - Erlang B (blocked calls cleared): blocking of A erlangs offered to N trunks, with
 *     the recurrence B(0) = 1, B(n) = A B(n-1) / (n + A B(n-1)), stable for any A.
 *   - Erlang C (blocked calls wait): probability of waiting C = N B / (N - A (1 - B)),
 *     computed from B (no factorials, no powers), so A may be thousands of erlangs;
 *     service level P(wait <= t) = 1 - C exp(-(N - A) t / AHT); ASA = C AHT / (N - A);
 *     occupancy A / N.
 *   - The operators' staffing formula, REQ SCALE-2:
 *       agents = monthly calls x average handle time x answer rate
 *                / (monthly hours per agent x attendance x utilisation)
 *   - Engine cores and servers from a measured channels-per-core figure.
 *
 * Every function validates its inputs (negative, zero where zero makes no sense, NaN,
 * infinite, absurdly large) and returns -EINVAL with a message naming the bad input in
 * the caller's buffer (err may be NULL). Results are written only on success. A search
 * that would need more than MD_PLAN_MAX_SERVERS returns -ERANGE. */
#ifndef MD_BENCH_PLANNER_H
#define MD_BENCH_PLANNER_H

#include <stddef.h>

#define MD_PLAN_MAX_TRAFFIC 1e6         /* erlangs */
#define MD_PLAN_MAX_SERVERS 10000000L   /* trunks or agents a search may try */
#define MD_PLAN_MAX_SECONDS 86400.0     /* AHT, answer time, IVR time, interval: one day */
#define MD_PLAN_MAX_CALLS 1e9           /* calls per interval */
#define MD_PLAN_MAX_MONTHLY_CALLS 1e11
#define MD_PLAN_MAX_MONTHLY_HOURS 744.0 /* 31 days x 24 h */
#define MD_PLAN_MAX_CHANNELS_PER_CALL 16
#define MD_PLAN_MAX_CHANNELS_PER_CORE 1e7
#define MD_PLAN_MAX_HEADROOM 10.0
#define MD_PLAN_MAX_CORES_PER_SERVER 4096

/* Erlang B blocking probability of `traffic` erlangs offered to `servers` trunks
 * (servers >= 0; B = 1 with no trunk). */
int md_plan_erlang_b(double traffic, long servers, double *blocking, char *err, size_t errlen);

/* The smallest number of trunks whose Erlang B blocking is <= target (0 < target < 1);
 * *blocking (may be NULL) receives the blocking at that number. */
int md_plan_erlang_b_servers(double traffic, double target, long *servers, double *blocking,
                             char *err, size_t errlen);

/* Erlang C probability that a call waits, `agents` >= 1. With agents <= traffic the queue
 * grows without bound and every call waits: C = 1. */
int md_plan_erlang_c(double traffic, long agents, double *wait_prob, char *err, size_t errlen);

/* Fraction of calls answered within answer_s seconds (0 when agents <= traffic). */
int md_plan_service_level(double traffic, long agents, double aht_s, double answer_s,
                          double *level, char *err, size_t errlen);

/* Average speed of answer over all calls, seconds (INFINITY when agents <= traffic). */
int md_plan_asa(double traffic, long agents, double aht_s, double *asa_s, char *err,
                size_t errlen);

/* What the agents must achieve. */
typedef struct {
    double traffic;        /* offered erlangs */
    double aht_s;          /* average handle time, seconds */
    double sl_target;      /* fraction answered within sl_seconds, 0 < x < 1 (0.80) */
    double sl_seconds;     /* answer time of the service level, >= 0 (15) */
    double max_occupancy;  /* 0 < x <= 1; 1 = no limit */
    double max_asa_s;      /* >= 0; 0 = no limit */
} md_plan_agents_req_t;

typedef struct {
    long agents;           /* the smallest count meeting every target */
    double wait_prob;      /* Erlang C */
    double service_level;  /* achieved */
    double asa_s;
    double occupancy;
} md_plan_agents_t;

int md_plan_agents(const md_plan_agents_req_t *req, md_plan_agents_t *out, char *err,
                   size_t errlen);

/* REQ SCALE-2, as the operators compute it. The AHT is in seconds and is converted to
 * hours to match the monthly hours; the result is agents (staff), not rounded. */
typedef struct {
    double monthly_calls;
    double aht_s;
    double answer_rate;    /* fraction of calls answered, 0 < x <= 1 */
    double monthly_hours;  /* paid hours per agent per month, 0 < x <= 744 */
    double attendance;     /* 0 < x <= 1 */
    double utilisation;    /* 0 < x <= 1 */
} md_plan_scale2_t;

int md_plan_scale2_staff(const md_plan_scale2_t *in, double *agents, char *err,
                         size_t errlen);

/* Engine sizing: cores = ceil(channels x headroom / channels_per_core); each server gives
 * cores_per_server - reserved_cores to media workers (the main lcore and the I/O thread
 * run the rest); servers = ceil(cores / that). */
typedef struct {
    long channels;              /* engine channels at the busy interval, >= 0 */
    double channels_per_core;   /* measured, > 0 */
    double headroom;            /* 1 <= x <= 10 (1.25 = 25% spare) */
    long cores_per_server;      /* 1..4096 */
    long reserved_cores;        /* per server, 0 <= x < cores_per_server */
} md_plan_engine_req_t;

typedef struct {
    long cores;                 /* media worker cores */
    long worker_cores_per_server;
    long servers;
} md_plan_engine_t;

int md_plan_engine(const md_plan_engine_req_t *req, md_plan_engine_t *out, char *err,
                   size_t errlen);

/* A whole plan for one (busy) interval, as medley-bench plan prints it. */
typedef struct {
    double calls;               /* calls offered in the interval */
    double interval_s;          /* 1800: a half hour */
    double aht_s;
    double acw_s;               /* after-call work inside the AHT (no trunk held), 0 <= x < aht */
    double ivr_s;               /* IVR time before the queue (a trunk held, no agent) */
    double sl_target, sl_seconds, max_occupancy, max_asa_s;
    double blocking;            /* Erlang B target for the trunks, 0 < x < 1 */
    int channels_per_call;      /* engine channels per call in progress, 1..16 (2) */
    double channels_per_core, headroom;
    long cores_per_server, reserved_cores;
    int has_scale2;             /* compute the SCALE-2 staff figure from scale2 */
    md_plan_scale2_t scale2;    /* scale2.aht_s is taken from aht_s */
} md_plan_input_t;

typedef struct {
    double traffic;             /* agent traffic, erlangs: calls x AHT / interval */
    md_plan_agents_t agents;
    double trunk_hold_s;        /* IVR + ASA + AHT - ACW */
    double trunk_traffic;       /* calls x trunk_hold_s / interval */
    long trunks;
    double trunk_blocking;
    long channels;              /* trunks x channels_per_call */
    md_plan_engine_t engine;
    double staff;               /* SCALE-2, when has_scale2 */
} md_plan_result_t;

/* Defaults: interval 1800 s, channels_per_call 2, headroom 1.25, reserved_cores 2,
 * max_occupancy 1 (none), max_asa_s 0 (none), acw_s 0, ivr_s 0, no SCALE-2. The other
 * fields are set to NaN so that forgetting one is an error, not a plan. */
void md_plan_input_defaults(md_plan_input_t *in);

int md_plan_run(const md_plan_input_t *in, md_plan_result_t *out, char *err, size_t errlen);

#endif
