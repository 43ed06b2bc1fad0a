/* Capacity planning: Erlang B and C, REQ SCALE-2 staffing, engine cores and servers. */
#include "bench/planner.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* lo < x <= hi (or lo <= x when lo_closed), finite. A NaN fails every comparison. */
static int in_range(double x, double lo, int lo_closed, double hi, int hi_closed)
{
    if (!isfinite(x))
        return 0;
    if (lo_closed ? !(x >= lo) : !(x > lo))
        return 0;
    if (hi_closed ? !(x <= hi) : !(x < hi))
        return 0;
    return 1;
}

#define CHECK_RANGE(x, name, lo, loc, hi, hic, unit)                                        \
    do {                                                                                   \
        if (!in_range((x), (lo), (loc), (hi), (hic)))                                      \
            return fail(err, errlen, -EINVAL, "%s must be in %s%g, %g%s%s%s, got %g", name, \
                        (loc) ? "[" : "(", (double)(lo), (double)(hi), (hic) ? "]" : ")",   \
                        (unit)[0] ? " " : "", unit, (double)(x));                          \
    } while (0)

static int check_traffic(double traffic, char *err, size_t errlen)
{
    CHECK_RANGE(traffic, "traffic", 0.0, 0, MD_PLAN_MAX_TRAFFIC, 1, "erlangs");
    return 0;
}

static int check_count(long n, long lo, const char *name, char *err, size_t errlen)
{
    if (n < lo || n > MD_PLAN_MAX_SERVERS)
        return fail(err, errlen, -EINVAL, "%s must be in [%ld, %ld], got %ld", name, lo,
                    MD_PLAN_MAX_SERVERS, n);
    return 0;
}

int md_plan_erlang_b(double traffic, long servers, double *blocking, char *err, size_t errlen)
{
    int rc;
    if ((rc = check_traffic(traffic, err, errlen)) != 0 ||
        (rc = check_count(servers, 0, "servers", err, errlen)) != 0)
        return rc;
    if (blocking == NULL)
        return fail(err, errlen, -EINVAL, "blocking: result pointer is NULL");
    double b = 1.0;
    for (long n = 1; n <= servers; n++)
        b = traffic * b / ((double)n + traffic * b);
    *blocking = b;
    return 0;
}

int md_plan_erlang_b_servers(double traffic, double target, long *servers, double *blocking,
                             char *err, size_t errlen)
{
    int rc;
    if ((rc = check_traffic(traffic, err, errlen)) != 0)
        return rc;
    CHECK_RANGE(target, "blocking target", 0.0, 0, 1.0, 0, "");
    if (servers == NULL)
        return fail(err, errlen, -EINVAL, "servers: result pointer is NULL");
    double b = 1.0;
    for (long n = 1; n <= MD_PLAN_MAX_SERVERS; n++) {
        b = traffic * b / ((double)n + traffic * b);
        if (b <= target) {
            *servers = n;
            if (blocking != NULL)
                *blocking = b;
            return 0;
        }
    }
    return fail(err, errlen, -ERANGE,
                "blocking target %g needs more than %ld trunks at %g erlangs", target,
                MD_PLAN_MAX_SERVERS, traffic);
}

/* Erlang C from Erlang B at the same N: C = N B / (N - A (1 - B)), for N > A. */
static double erlang_c_from_b(double a, long n, double b)
{
    if ((double)n <= a)
        return 1.0;
    double c = (double)n * b / ((double)n - a * (1.0 - b));
    return c > 1.0 ? 1.0 : c;
}

static double sl_from_c(double a, long n, double c, double aht_s, double answer_s)
{
    if ((double)n <= a)
        return 0.0;
    return 1.0 - c * exp(-((double)n - a) * answer_s / aht_s);
}

static double asa_from_c(double a, long n, double c, double aht_s)
{
    if ((double)n <= a)
        return INFINITY;
    return c * aht_s / ((double)n - a);
}

int md_plan_erlang_c(double traffic, long agents, double *wait_prob, char *err, size_t errlen)
{
    double b;
    int rc;
    if ((rc = check_count(agents, 1, "agents", err, errlen)) != 0)
        return rc;
    if (wait_prob == NULL)
        return fail(err, errlen, -EINVAL, "wait probability: result pointer is NULL");
    if ((rc = md_plan_erlang_b(traffic, agents, &b, err, errlen)) != 0)
        return rc;
    *wait_prob = erlang_c_from_b(traffic, agents, b);
    return 0;
}

static int check_aht(double aht_s, char *err, size_t errlen)
{
    CHECK_RANGE(aht_s, "aht", 0.0, 0, MD_PLAN_MAX_SECONDS, 1, "s");
    return 0;
}

int md_plan_service_level(double traffic, long agents, double aht_s, double answer_s,
                          double *level, char *err, size_t errlen)
{
    double c;
    int rc;
    if ((rc = check_aht(aht_s, err, errlen)) != 0)
        return rc;
    CHECK_RANGE(answer_s, "service-level answer time", 0.0, 1, MD_PLAN_MAX_SECONDS, 1, "s");
    if (level == NULL)
        return fail(err, errlen, -EINVAL, "service level: result pointer is NULL");
    if ((rc = md_plan_erlang_c(traffic, agents, &c, err, errlen)) != 0)
        return rc;
    *level = sl_from_c(traffic, agents, c, aht_s, answer_s);
    return 0;
}

int md_plan_asa(double traffic, long agents, double aht_s, double *asa_s, char *err,
                size_t errlen)
{
    double c;
    int rc;
    if ((rc = check_aht(aht_s, err, errlen)) != 0)
        return rc;
    if (asa_s == NULL)
        return fail(err, errlen, -EINVAL, "asa: result pointer is NULL");
    if ((rc = md_plan_erlang_c(traffic, agents, &c, err, errlen)) != 0)
        return rc;
    *asa_s = asa_from_c(traffic, agents, c, aht_s);
    return 0;
}

int md_plan_agents(const md_plan_agents_req_t *req, md_plan_agents_t *out, char *err,
                   size_t errlen)
{
    int rc;
    if (req == NULL || out == NULL)
        return fail(err, errlen, -EINVAL, "agents: request or result pointer is NULL");
    const double a = req->traffic;
    if ((rc = check_traffic(a, err, errlen)) != 0 || (rc = check_aht(req->aht_s, err, errlen)) != 0)
        return rc;
    CHECK_RANGE(req->sl_target, "service-level target", 0.0, 0, 1.0, 0, "");
    CHECK_RANGE(req->sl_seconds, "service-level answer time", 0.0, 1, MD_PLAN_MAX_SECONDS, 1,
                "s");
    CHECK_RANGE(req->max_occupancy, "max-occupancy", 0.0, 0, 1.0, 1, "");
    CHECK_RANGE(req->max_asa_s, "max-asa", 0.0, 1, MD_PLAN_MAX_SECONDS, 1, "s");

    /* Every target improves monotonically with N once N > A: walk N upwards, carrying
     * Erlang B along, and stop at the first N that meets them all. */
    double b = 1.0;
    for (long n = 1; n <= MD_PLAN_MAX_SERVERS; n++) {
        b = a * b / ((double)n + a * b);
        if ((double)n <= a)
            continue;
        double occ = a / (double)n;
        if (occ > req->max_occupancy)
            continue;
        double c = erlang_c_from_b(a, n, b);
        double sl = sl_from_c(a, n, c, req->aht_s, req->sl_seconds);
        double asa = asa_from_c(a, n, c, req->aht_s);
        if (sl < req->sl_target)
            continue;
        if (req->max_asa_s > 0 && asa > req->max_asa_s)
            continue;
        out->agents = n;
        out->wait_prob = c;
        out->service_level = sl;
        out->asa_s = asa;
        out->occupancy = occ;
        return 0;
    }
    return fail(err, errlen, -ERANGE, "the targets need more than %ld agents",
                MD_PLAN_MAX_SERVERS);
}

int md_plan_scale2_staff(const md_plan_scale2_t *in, double *agents, char *err, size_t errlen)
{
    int rc;
    if (in == NULL || agents == NULL)
        return fail(err, errlen, -EINVAL, "scale2: input or result pointer is NULL");
    CHECK_RANGE(in->monthly_calls, "monthly-calls", 0.0, 0, MD_PLAN_MAX_MONTHLY_CALLS, 1, "");
    if ((rc = check_aht(in->aht_s, err, errlen)) != 0)
        return rc;
    CHECK_RANGE(in->answer_rate, "answer-rate", 0.0, 0, 1.0, 1, "");
    CHECK_RANGE(in->monthly_hours, "monthly-hours", 0.0, 0, MD_PLAN_MAX_MONTHLY_HOURS, 1, "h");
    CHECK_RANGE(in->attendance, "attendance", 0.0, 0, 1.0, 1, "");
    CHECK_RANGE(in->utilisation, "utilisation", 0.0, 0, 1.0, 1, "");
    /* agents = monthly calls x AHT x answer rate / (monthly hours x attendance x utilisation) */
    *agents = in->monthly_calls * (in->aht_s / 3600.0) * in->answer_rate /
              (in->monthly_hours * in->attendance * in->utilisation);
    return 0;
}

/* ceil(x) for a quotient that should be an integer when it is one: 2.0000000000000004 is 2. */
static long ceil_tol(double x)
{
    return (long)ceil(x - 1e-9 * (x > 1.0 ? x : 1.0));
}

int md_plan_engine(const md_plan_engine_req_t *req, md_plan_engine_t *out, char *err,
                   size_t errlen)
{
    if (req == NULL || out == NULL)
        return fail(err, errlen, -EINVAL, "engine: request or result pointer is NULL");
    if (req->channels < 0 || req->channels > MD_PLAN_MAX_SERVERS * MD_PLAN_MAX_CHANNELS_PER_CALL)
        return fail(err, errlen, -EINVAL, "channels must be in [0, %ld], got %ld",
                    MD_PLAN_MAX_SERVERS * MD_PLAN_MAX_CHANNELS_PER_CALL, req->channels);
    CHECK_RANGE(req->channels_per_core, "channels-per-core", 0.0, 0,
                MD_PLAN_MAX_CHANNELS_PER_CORE, 1, "");
    CHECK_RANGE(req->headroom, "headroom", 1.0, 1, MD_PLAN_MAX_HEADROOM, 1, "");
    if (req->cores_per_server < 1 || req->cores_per_server > MD_PLAN_MAX_CORES_PER_SERVER)
        return fail(err, errlen, -EINVAL, "cores-per-server must be in [1, %d], got %ld",
                    MD_PLAN_MAX_CORES_PER_SERVER, req->cores_per_server);
    if (req->reserved_cores < 0 || req->reserved_cores >= req->cores_per_server)
        return fail(err, errlen, -EINVAL,
                    "reserved-cores must be in [0, cores-per-server - 1 = %ld], got %ld",
                    req->cores_per_server - 1, req->reserved_cores);
    long cores = ceil_tol((double)req->channels * req->headroom / req->channels_per_core);
    long per_server = req->cores_per_server - req->reserved_cores;
    out->cores = cores;
    out->worker_cores_per_server = per_server;
    out->servers = (cores + per_server - 1) / per_server;
    return 0;
}

void md_plan_input_defaults(md_plan_input_t *in)
{
    *in = (md_plan_input_t){
        .calls = NAN,
        .interval_s = 1800.0,
        .aht_s = NAN,
        .acw_s = 0.0,
        .ivr_s = 0.0,
        .sl_target = NAN,
        .sl_seconds = NAN,
        .max_occupancy = 1.0,
        .max_asa_s = 0.0,
        .blocking = NAN,
        .channels_per_call = 2,
        .channels_per_core = NAN,
        .headroom = 1.25,
        .cores_per_server = -1,
        .reserved_cores = 2,
        .has_scale2 = 0,
        .scale2 = {NAN, NAN, NAN, NAN, NAN, NAN},
    };
}

int md_plan_run(const md_plan_input_t *in, md_plan_result_t *out, char *err, size_t errlen)
{
    int rc;
    if (in == NULL || out == NULL)
        return fail(err, errlen, -EINVAL, "plan: input or result pointer is NULL");
    CHECK_RANGE(in->calls, "calls per interval", 0.0, 0, MD_PLAN_MAX_CALLS, 1, "");
    CHECK_RANGE(in->interval_s, "interval", 0.0, 0, MD_PLAN_MAX_SECONDS, 1, "s");
    if ((rc = check_aht(in->aht_s, err, errlen)) != 0)
        return rc;
    if (!in_range(in->acw_s, 0.0, 1, in->aht_s, 0))
        return fail(err, errlen, -EINVAL, "acw must be in [0, aht = %g) s, got %g", in->aht_s,
                    in->acw_s);
    CHECK_RANGE(in->ivr_s, "ivr", 0.0, 1, MD_PLAN_MAX_SECONDS, 1, "s");
    CHECK_RANGE(in->blocking, "blocking", 0.0, 0, 1.0, 0, "");
    if (in->channels_per_call < 1 || in->channels_per_call > MD_PLAN_MAX_CHANNELS_PER_CALL)
        return fail(err, errlen, -EINVAL, "channels-per-call must be in [1, %d], got %d",
                    MD_PLAN_MAX_CHANNELS_PER_CALL, in->channels_per_call);

    md_plan_result_t r = {0};
    r.traffic = in->calls * in->aht_s / in->interval_s;
    if (!(r.traffic <= MD_PLAN_MAX_TRAFFIC))
        return fail(err, errlen, -EINVAL,
                    "traffic = calls x aht / interval = %g erlangs is above %g", r.traffic,
                    MD_PLAN_MAX_TRAFFIC);
    md_plan_agents_req_t areq = {
        .traffic = r.traffic,
        .aht_s = in->aht_s,
        .sl_target = in->sl_target,
        .sl_seconds = in->sl_seconds,
        .max_occupancy = in->max_occupancy,
        .max_asa_s = in->max_asa_s,
    };
    if ((rc = md_plan_agents(&areq, &r.agents, err, errlen)) != 0)
        return rc;

    /* A trunk is held from answer by the engine (IVR), through the queue, to the end of
     * the talk; not during after-call work. */
    r.trunk_hold_s = in->ivr_s + r.agents.asa_s + in->aht_s - in->acw_s;
    r.trunk_traffic = in->calls * r.trunk_hold_s / in->interval_s;
    if ((rc = md_plan_erlang_b_servers(r.trunk_traffic, in->blocking, &r.trunks,
                                       &r.trunk_blocking, err, errlen)) != 0)
        return rc;
    r.channels = r.trunks * (long)in->channels_per_call;

    md_plan_engine_req_t ereq = {
        .channels = r.channels,
        .channels_per_core = in->channels_per_core,
        .headroom = in->headroom,
        .cores_per_server = in->cores_per_server,
        .reserved_cores = in->reserved_cores,
    };
    if ((rc = md_plan_engine(&ereq, &r.engine, err, errlen)) != 0)
        return rc;

    r.staff = NAN;
    if (in->has_scale2) {
        md_plan_scale2_t s = in->scale2;
        s.aht_s = in->aht_s;
        if ((rc = md_plan_scale2_staff(&s, &r.staff, err, errlen)) != 0)
            return rc;
    }
    *out = r;
    return 0;
}
