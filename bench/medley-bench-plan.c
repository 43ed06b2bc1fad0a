/* medley-bench: capacity figures for people.
 *
 *   medley-bench plan --calls-per-half-hour N --aht SECONDS --sl PERCENT/SECONDS
 *                     --blocking FRACTION --channels-per-core N --cores-per-server N
 *                     [--max-occupancy FRACTION] [--max-asa SECONDS] [--ivr SECONDS]
 *                     [--acw SECONDS] [--channels-per-call N] [--headroom FACTOR]
 *                     [--reserved-cores N]
 *                     [--monthly-calls N --answer-rate F --monthly-hours H
 *                      --attendance F --utilisation F]
 *                     [--json]
 *   medley-bench capacity [--profile ivr|bridge] [--record] [--n N,...] [--json FILE]
 *                         [--plot FILE.png] ...   (bench/capacity.c)
 *
 * plan sizes one busy half hour: agents by Erlang C, trunks by Erlang B, engine cores and
 * servers from a measured channels-per-core figure, and the staff of REQ SCALE-2 when its
 * five inputs are given. The formulas are in bench/planner.h and docs/benchmarks.md.
 * Results go to stdout; errors to stderr with exit status 2 for bad usage, 1 otherwise. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/capacity.h"
#include "bench/planner.h"

static const char *const usage_text =
    "usage: medley-bench plan --calls-per-half-hour N --aht SECONDS --sl PERCENT/SECONDS\n"
    "                         --blocking FRACTION --channels-per-core N --cores-per-server N\n"
    "                         [--max-occupancy FRACTION] [--max-asa SECONDS] [--ivr SECONDS]\n"
    "                         [--acw SECONDS] [--channels-per-call N (2)] [--headroom F (1.25)]\n"
    "                         [--reserved-cores N (2)]\n"
    "                         [--monthly-calls N --answer-rate F --monthly-hours H\n"
    "                          --attendance F --utilisation F]   (REQ SCALE-2 staff)\n"
    "                         [--json]\n"
    "       medley-bench capacity [--profile ivr|bridge] [--record] [--n N,...] [--json FILE]\n"
    "                             [--plot FILE.png] ...   (medley-bench capacity --help)\n";

static int usage(void)
{
    fputs(usage_text, stderr);
    return 2;
}

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A message on stderr; returns the usage exit status. */
static int bad(const char *fmt, ...)
{
    va_list ap;
    fputs("medley-bench plan: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 2;
}

/* A finite number, the whole string. */
static int parse_double(const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v))
        return bad("%s: not a finite number: '%s'", opt, s);
    *out = v;
    return 0;
}

/* A decimal integer, the whole string, within [lo, hi]. */
static int parse_long(const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE)
        return bad("%s: not an integer: '%s'", opt, s);
    if (v < lo || v > hi) {
        fprintf(stderr, "medley-bench plan: %s must be in [%ld, %ld], got %ld\n", opt, lo, hi,
                v);
        return 2;
    }
    *out = v;
    return 0;
}

/* "80/15": percent answered (0 < p < 100) within seconds (>= 0). */
static int parse_sl(const char *s, double *target, double *seconds)
{
    const char *slash = strchr(s, '/');
    char pct[64];
    if (slash == NULL || (size_t)(slash - s) >= sizeof(pct))
        return bad("--sl: expected PERCENT/SECONDS such as 80/15, got '%s'", s);
    memcpy(pct, s, (size_t)(slash - s));
    pct[slash - s] = '\0';
    double p = NAN, t = NAN;
    if (parse_double("--sl (percent)", pct, &p) != 0 ||
        parse_double("--sl (seconds)", slash + 1, &t) != 0)
        return 2;
    if (!(p > 0.0 && p < 100.0))
        return bad("--sl: the percentage must be above 0 and below 100, got '%s'", pct);
    if (!(t >= 0.0))
        return bad("--sl: the answer time must be >= 0 seconds, got '%s'", slash + 1);
    *target = p / 100.0;
    *seconds = t;
    return 0;
}

enum {
    O_CALLS, O_AHT, O_SL, O_BLOCKING, O_CPC, O_CPS, O_MAXOCC, O_MAXASA, O_IVR, O_ACW,
    O_CHPC, O_HEADROOM, O_RESERVED, O_MCALLS, O_ANSWER, O_MHOURS, O_ATTEND, O_UTIL, O_JSON,
    O_COUNT
};

static const char *const opt_names[O_COUNT] = {
    "--calls-per-half-hour", "--aht", "--sl", "--blocking", "--channels-per-core",
    "--cores-per-server", "--max-occupancy", "--max-asa", "--ivr", "--acw",
    "--channels-per-call", "--headroom", "--reserved-cores", "--monthly-calls",
    "--answer-rate", "--monthly-hours", "--attendance", "--utilisation", "--json",
};

static void print_table(const md_plan_input_t *in, const md_plan_result_t *r)
{
    printf("medley-bench plan: %g calls per half hour, AHT %g s, service level %g%% in %g s,"
           " trunk blocking %g%%\n\n",
           in->calls, in->aht_s, in->sl_target * 100.0, in->sl_seconds, in->blocking * 100.0);
    printf("%-28s %.2f erl\n", "traffic", r->traffic);
    printf("%-28s %ld\n", "agents (Erlang C)", r->agents.agents);
    printf("%-28s %.1f%% within %g s (target %g%%)\n", "service level", r->agents.service_level * 100.0,
           in->sl_seconds, in->sl_target * 100.0);
    printf("%-28s %.1f%%\n", "probability of waiting", r->agents.wait_prob * 100.0);
    printf("%-28s %.1f s\n", "ASA", r->agents.asa_s);
    printf("%-28s %.1f%%\n", "occupancy", r->agents.occupancy * 100.0);
    printf("%-28s %.1f s (IVR %g + ASA %.1f + AHT %g - ACW %g)\n", "trunk holding time",
           r->trunk_hold_s, in->ivr_s, r->agents.asa_s, in->aht_s, in->acw_s);
    printf("%-28s %.2f erl\n", "trunk traffic", r->trunk_traffic);
    printf("%-28s %ld (blocking %.2f%%, target %g%%)\n", "trunks (Erlang B)", r->trunks,
           r->trunk_blocking * 100.0, in->blocking * 100.0);
    printf("%-28s %ld (%d per call)\n", "engine channels", r->channels, in->channels_per_call);
    printf("%-28s %ld (%g channels per core measured, headroom %g)\n", "engine cores",
           r->engine.cores, in->channels_per_core, in->headroom);
    printf("%-28s %ld (%ld cores each, %ld reserved, %ld for media)\n", "servers",
           r->engine.servers, in->cores_per_server, in->reserved_cores,
           r->engine.worker_cores_per_server);
    if (in->has_scale2)
        printf("%-28s %.1f (%g calls/month x %g s x %g / (%g h x %g x %g))\n",
               "staff (SCALE-2)", r->staff, in->scale2.monthly_calls, in->aht_s,
               in->scale2.answer_rate, in->scale2.monthly_hours, in->scale2.attendance,
               in->scale2.utilisation);
}

static void print_json(const md_plan_input_t *in, const md_plan_result_t *r)
{
    printf("{\n  \"input\": {\"calls_per_half_hour\": %.15g, \"aht_s\": %.15g, "
           "\"sl_target\": %.15g, \"sl_seconds\": %.15g, \"blocking_target\": %.15g, "
           "\"max_occupancy\": %.15g, \"max_asa_s\": %.15g, \"ivr_s\": %.15g, "
           "\"acw_s\": %.15g, \"channels_per_call\": %d, \"channels_per_core\": %.15g, "
           "\"headroom\": %.15g, \"cores_per_server\": %ld, \"reserved_cores\": %ld},\n",
           in->calls, in->aht_s, in->sl_target, in->sl_seconds, in->blocking,
           in->max_occupancy, in->max_asa_s, in->ivr_s, in->acw_s, in->channels_per_call,
           in->channels_per_core, in->headroom, in->cores_per_server, in->reserved_cores);
    printf("  \"traffic_erl\": %.15g,\n", r->traffic);
    printf("  \"agents\": {\"count\": %ld, \"service_level\": %.15g, \"wait_probability\": "
           "%.15g, \"asa_s\": %.15g, \"occupancy\": %.15g},\n",
           r->agents.agents, r->agents.service_level, r->agents.wait_prob, r->agents.asa_s,
           r->agents.occupancy);
    printf("  \"trunks\": {\"count\": %ld, \"blocking\": %.15g, \"traffic_erl\": %.15g, "
           "\"holding_time_s\": %.15g},\n",
           r->trunks, r->trunk_blocking, r->trunk_traffic, r->trunk_hold_s);
    printf("  \"engine\": {\"channels\": %ld, \"cores\": %ld, \"servers\": %ld, "
           "\"worker_cores_per_server\": %ld},\n",
           r->channels, r->engine.cores, r->engine.servers, r->engine.worker_cores_per_server);
    if (in->has_scale2)
        printf("  \"scale2\": {\"monthly_calls\": %.15g, \"answer_rate\": %.15g, "
               "\"monthly_hours\": %.15g, \"attendance\": %.15g, \"utilisation\": %.15g, "
               "\"staff\": %.15g}\n}\n",
               in->scale2.monthly_calls, in->scale2.answer_rate, in->scale2.monthly_hours,
               in->scale2.attendance, in->scale2.utilisation, r->staff);
    else
        printf("  \"scale2\": null\n}\n");
}

static int cmd_plan(int argc, char **argv)
{
    md_plan_input_t in;
    int seen[O_COUNT] = {0};
    int json = 0;
    md_plan_input_defaults(&in);

    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        }
        /* --name VALUE or --name=VALUE */
        const char *eq = strchr(arg, '=');
        size_t len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
        int o;
        for (o = 0; o < O_COUNT; o++)
            if (strlen(opt_names[o]) == len && strncmp(arg, opt_names[o], len) == 0)
                break;
        if (o == O_COUNT) {
            bad("unknown option '%s'", arg);
            return usage();
        }
        if (seen[o])
            return bad("%s given twice", opt_names[o]);
        seen[o] = 1;
        if (o == O_JSON) {
            if (eq != NULL)
                return bad("--json takes no value");
            json = 1;
            continue;
        }
        const char *val;
        if (eq != NULL) {
            val = eq + 1;
        } else {
            if (i + 1 >= argc)
                return bad("%s needs a value", opt_names[o]);
            val = argv[++i];
        }
        const char *name = opt_names[o];
        long l;
        int rc = 0;
        switch (o) {
        case O_CALLS: rc = parse_double(name, val, &in.calls); break;
        case O_AHT: rc = parse_double(name, val, &in.aht_s); break;
        case O_SL: rc = parse_sl(val, &in.sl_target, &in.sl_seconds); break;
        case O_BLOCKING: rc = parse_double(name, val, &in.blocking); break;
        case O_CPC: rc = parse_double(name, val, &in.channels_per_core); break;
        case O_CPS:
            rc = parse_long(name, val, 1, MD_PLAN_MAX_CORES_PER_SERVER, &in.cores_per_server);
            break;
        case O_MAXOCC: rc = parse_double(name, val, &in.max_occupancy); break;
        case O_MAXASA: rc = parse_double(name, val, &in.max_asa_s); break;
        case O_IVR: rc = parse_double(name, val, &in.ivr_s); break;
        case O_ACW: rc = parse_double(name, val, &in.acw_s); break;
        case O_CHPC:
            rc = parse_long(name, val, 1, MD_PLAN_MAX_CHANNELS_PER_CALL, &l);
            in.channels_per_call = (int)l;
            break;
        case O_HEADROOM: rc = parse_double(name, val, &in.headroom); break;
        case O_RESERVED:
            rc = parse_long(name, val, 0, MD_PLAN_MAX_CORES_PER_SERVER - 1, &in.reserved_cores);
            break;
        case O_MCALLS: rc = parse_double(name, val, &in.scale2.monthly_calls); break;
        case O_ANSWER: rc = parse_double(name, val, &in.scale2.answer_rate); break;
        case O_MHOURS: rc = parse_double(name, val, &in.scale2.monthly_hours); break;
        case O_ATTEND: rc = parse_double(name, val, &in.scale2.attendance); break;
        case O_UTIL: rc = parse_double(name, val, &in.scale2.utilisation); break;
        default: rc = usage(); break;
        }
        if (rc != 0)
            return rc;
    }

    static const int required[] = {O_CALLS, O_AHT, O_SL, O_BLOCKING, O_CPC, O_CPS};
    for (size_t k = 0; k < sizeof(required) / sizeof(required[0]); k++)
        if (!seen[required[k]]) {
            bad("%s is required", opt_names[required[k]]);
            return usage();
        }
    /* SCALE-2: all five or none. */
    int n2 = seen[O_MCALLS] + seen[O_ANSWER] + seen[O_MHOURS] + seen[O_ATTEND] + seen[O_UTIL];
    if (n2 != 0 && n2 != 5) {
        for (int o = O_MCALLS; o <= O_UTIL; o++)
            if (!seen[o])
                return bad("%s is missing: the SCALE-2 staff figure needs --monthly-calls, "
                           "--answer-rate, --monthly-hours, --attendance and --utilisation",
                           opt_names[o]);
    }
    in.has_scale2 = n2 == 5;

    md_plan_result_t r;
    char err[256];
    int rc = md_plan_run(&in, &r, err, sizeof(err));
    if (rc == -EINVAL) {
        fprintf(stderr, "medley-bench plan: %s\n", err);
        return 2;
    }
    if (rc != 0) {
        fprintf(stderr, "medley-bench plan: %s\n", err);
        return 1;
    }
    if (json)
        print_json(&in, &r);
    else
        print_table(&in, &r);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "medley-bench plan: writing the results failed\n");
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "plan") == 0)
        return cmd_plan(argc - 2, argv + 2);
    if (strcmp(argv[1], "capacity") == 0)
        return md_capacity_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    fprintf(stderr, "medley-bench: unknown command '%s'\n", argv[1]);
    return usage();
}
