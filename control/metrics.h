/* Metrics for Prometheus (issue 7, KPIs): a minimal HTTP/1.1 server on its own TCP port
 * that answers GET /metrics in the text exposition format 0.0.4, driven by the control
 * thread's loop like control/grpc.h (no threads of its own, non-blocking sockets, one
 * epoll set).
 *
 * Each scrape calls the application's fill() callback, which declares families
 * (md_metrics_family: name, type, help) and their samples (md_metrics_value: a value and
 * label pairs). The registry checks names, escapes label values and help text, and
 * renders; nothing is kept between scrapes, so the figures are always the live ones.
 *
 * HTTP: GET and HEAD /metrics (also with a query string) answer 200; any other path 404;
 * another method on /metrics 405; a malformed request (bad request line or header, control
 * bytes, HTTP/1.1 without Host) 400; another HTTP version 505; a request head larger than
 * max_request 431. Every response closes the connection. A connection has timeout_ms for
 * its whole life (a client that sends nothing, or too slowly, is closed, with 408 if it had
 * sent part of a request); when max_connections are open, a new client pushes out the
 * oldest one that has not finished sending its request (else it gets 503). */
#ifndef MD_CONTROL_METRICS_H
#define MD_CONTROL_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    MD_METRIC_GAUGE = 1,
    MD_METRIC_COUNTER,
} md_metric_type_t;

typedef struct md_metrics md_metrics_t;
typedef struct md_metrics_reg md_metrics_reg_t;

/* Fills the registry for one scrape (on the control thread, inside md_metrics_poll). */
typedef void (*md_metrics_fill_fn)(void *arg, md_metrics_reg_t *reg);

typedef struct {
    const char *host;          /* listen address ("0.0.0.0", "::", "127.0.0.1"); NULL: 127.0.0.1 */
    uint16_t port;             /* 0: any free port (md_metrics_port) */
    unsigned max_connections;  /* default 16 */
    size_t max_request;        /* bytes of request line + headers; default 8192 */
    uint32_t timeout_ms;       /* a connection's whole life; default 5000 */
    size_t max_response;       /* body; default 8 MiB (more: 500) */
    md_metrics_fill_fn fill;
    void *arg;
} md_metrics_config_t;

/* Listens. 0 or a negative errno with a message in err. */
int md_metrics_start(md_metrics_t **out, const md_metrics_config_t *cfg, char *err,
                     size_t errlen);

/* The server's epoll fd: readable when md_metrics_poll has work (a client, or a deadline:
 * a timerfd inside it fires when a connection's time is up). Add it to an outer poll set,
 * or just call md_metrics_poll(m, 0) in the loop. */
int md_metrics_fd(const md_metrics_t *m);

/* Waits up to timeout_ms and serves what is ready. 0 or -errno. */
int md_metrics_poll(md_metrics_t *m, int timeout_ms);

uint16_t md_metrics_port(const md_metrics_t *m);

/* Closes every connection and the listener. NULL is allowed. */
void md_metrics_stop(md_metrics_t *m);

typedef struct {
    uint64_t connections;      /* accepted */
    uint64_t scrapes;          /* 200 answers */
    uint64_t not_found, bad_method, bad_request, too_large, bad_version;
    uint64_t timeouts;         /* connections closed at their deadline */
    uint64_t evicted;          /* pushed out by a new client at the limit */
    uint64_t refused;          /* 503 at the limit */
    uint64_t bad_samples;      /* refused by the registry (bad name, duplicate family, ...) */
    char last_error[160];      /* the registry's last refusal, for logs */
} md_metrics_stats_t;

void md_metrics_get_stats(const md_metrics_t *m, md_metrics_stats_t *st);

/* ---- the registry (inside fill) ---- */

/* Starts a family: "# HELP name help" (left out if help is NULL or "") and
 * "# TYPE name gauge|counter". Names match
 * [a-zA-Z_:][a-zA-Z0-9_:]*; a family may appear once per scrape. -EINVAL otherwise (the
 * family's samples are then refused too). */
int md_metrics_family(md_metrics_reg_t *r, const char *name, md_metric_type_t type,
                      const char *help);

/* One sample of the current family: the value, then label name and value pairs, then
 * NULL: md_metrics_value(r, 3, "queue", "sales", NULL). Label names match
 * [a-zA-Z_][a-zA-Z0-9_]* and do not start with "__"; values are any UTF-8 (escaped).
 * Counters refuse negative values. -EINVAL for a refused sample (skipped, counted),
 * -E2BIG past max_response. */
int md_metrics_value(md_metrics_reg_t *r, double v, ...) __attribute__((sentinel));

/* The same with an array of 2 * n_pairs strings. */
int md_metrics_valuev(md_metrics_reg_t *r, double v, const char *const *labels,
                      unsigned n_pairs);

/* Renders what fill produces into a malloc()ed NUL-terminated string (for tests and for
 * a one-shot dump). Returns the length or -errno; the registry's refusals go to stats
 * (may be NULL). */
int md_metrics_render(md_metrics_fill_fn fill, void *arg, size_t max_response, char **out,
                      md_metrics_stats_t *stats);

#endif
