/* The Prometheus endpoint (control/metrics.c): the registry's text (escaping, value
 * formats, refused names), and the HTTP server with raw clients: exact /metrics answer,
 * HEAD, 404, 405, garbage, HTTP/1.1 without Host, another version, a request over the size
 * limit, a silent (slowloris) client that does not hold up others and is closed at its
 * deadline, a partial request answered 408, the connection limit pushing out a silent
 * client, and the epoll fd (readable for a client and for a deadline).
 *
 * The server runs on a thread of its own here only so the test can use blocking clients;
 * in medleyd it is polled by the control loop.
 *
 * "test_metrics --serve" serves the same registry on a free port (printed on stdout) until
 * stdin closes, for tests/control/test_metrics.py (urllib). */
#define _GNU_SOURCE
#include "control/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int failures;

#define CHECK(c)                                                                           \
    do {                                                                                   \
        if (!(c)) {                                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);          \
            failures++;                                                                    \
        }                                                                                  \
    } while (0)

static void fill(void *arg, md_metrics_reg_t *r)
{
    (void)arg;
    md_metrics_family(r, "medley_channels", MD_METRIC_GAUGE, "RTP channels in use.");
    md_metrics_value(r, 42, NULL);
    md_metrics_family(r, "medley_packets_total", MD_METRIC_COUNTER,
                      "RTP packets by direction.");
    md_metrics_value(r, 1234567890123.0, "direction", "rx", NULL);
    md_metrics_value(r, 99, "direction", "tx", NULL);
    md_metrics_family(r, "medley_queue_calls_waiting", MD_METRIC_GAUGE,
                      "Callers waiting, by queue.");
    md_metrics_value(r, 3, "queue", "sales \"EU\" \\north\nline2", NULL);
    md_metrics_value(r, 0, "queue", "support", NULL);
    md_metrics_family(r, "medley_service_level", MD_METRIC_GAUGE,
                      "Help with a \\ backslash\nand a newline.");
    md_metrics_value(r, 0.85, "queue", "sales", NULL);
    md_metrics_value(r, NAN, "queue", "empty", NULL);
    /* Refused: each is counted and leaves no line. */
    md_metrics_family(r, "9bad", MD_METRIC_GAUGE, "bad name");
    md_metrics_value(r, 1, NULL);                                  /* no valid family */
    md_metrics_family(r, "medley_channels", MD_METRIC_GAUGE, "twice");
    md_metrics_family(r, "medley_digits_total", MD_METRIC_COUNTER, "DTMF digits by source.");
    md_metrics_value(r, -1, "source", "inband", NULL);             /* negative counter */
    md_metrics_value(r, 1, "__name__", "x", NULL);                 /* reserved label */
    md_metrics_value(r, 1, "a-b", "x", NULL);                      /* bad label name */
    md_metrics_value(r, 1, "source", "x", "source", "y", NULL);    /* label twice */
    md_metrics_value(r, 7, "source", "rfc4733", NULL);
    md_metrics_value(r, 5, "source", "inband", NULL);
}

static const char WANT[] =
    "# HELP medley_channels RTP channels in use.\n"
    "# TYPE medley_channels gauge\n"
    "medley_channels 42\n"
    "# HELP medley_packets_total RTP packets by direction.\n"
    "# TYPE medley_packets_total counter\n"
    "medley_packets_total{direction=\"rx\"} 1234567890123\n"
    "medley_packets_total{direction=\"tx\"} 99\n"
    "# HELP medley_queue_calls_waiting Callers waiting, by queue.\n"
    "# TYPE medley_queue_calls_waiting gauge\n"
    "medley_queue_calls_waiting{queue=\"sales \\\"EU\\\" \\\\north\\nline2\"} 3\n"
    "medley_queue_calls_waiting{queue=\"support\"} 0\n"
    "# HELP medley_service_level Help with a \\\\ backslash\\nand a newline.\n"
    "# TYPE medley_service_level gauge\n"
    "medley_service_level{queue=\"sales\"} 0.85\n"
    "medley_service_level{queue=\"empty\"} NaN\n"
    "# HELP medley_digits_total DTMF digits by source.\n"
    "# TYPE medley_digits_total counter\n"
    "medley_digits_total{source=\"rfc4733\"} 7\n"
    "medley_digits_total{source=\"inband\"} 5\n";

static void values(void *arg, md_metrics_reg_t *r)
{
    (void)arg;
    md_metrics_family(r, "v", MD_METRIC_GAUGE, "");
    md_metrics_value(r, 0.1, NULL);
    md_metrics_value(r, -2.5, NULL);
    md_metrics_value(r, 1e-7, NULL);
    md_metrics_value(r, 9007199254740993.0 * 4, NULL);
    md_metrics_value(r, INFINITY, NULL);
    md_metrics_value(r, -INFINITY, NULL);
    md_metrics_value(r, -0.0, NULL);
    md_metrics_value(r, 1.0 / 3, NULL);
    md_metrics_value(r, -17, NULL);
}

static void test_registry(void)
{
    char *out = NULL;
    md_metrics_stats_t st;
    memset(&st, 0, sizeof(st));
    int n = md_metrics_render(fill, NULL, 0, &out, &st);
    CHECK(n == (int)sizeof(WANT) - 1 && out != NULL && strcmp(out, WANT) == 0);
    if (out != NULL && strcmp(out, WANT) != 0)
        fprintf(stderr, "--- got\n%s--- want\n%s", out, WANT);
    CHECK(st.bad_samples == 7);
    free(out);
    n = md_metrics_render(values, NULL, 0, &out, NULL);
    /* The shortest text that reads back as the same double. */
    const char *want = "# TYPE v gauge\n"
                       "v 0.1\nv -2.5\nv 1e-07\nv 3.602879701896397e+16\nv +Inf\nv -Inf\n"
                       "v 0\nv 0.3333333333333333\nv -17\n";
    CHECK(out != NULL && strcmp(out, want) == 0);
    if (out != NULL && strcmp(out, want) != 0)
        fprintf(stderr, "--- got\n%s--- want\n%s", out, want);
    free(out);
    /* Past max_response: -E2BIG, nothing returned. */
    CHECK(md_metrics_render(fill, NULL, 100, &out, NULL) == -E2BIG && out == NULL);
}

/* ---- a server on a thread, blocking clients ---- */

static md_metrics_t *srv;
static atomic_int stop_srv;

static void *serve(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_srv))
        md_metrics_poll(srv, 10);
    return NULL;
}

static uint16_t port;

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = { .tv_sec = 3 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("connect");
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads until EOF (or the 3 s timeout); returns the length. */
static size_t read_all(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n == cap - 1)
            break;
    }
    buf[n] = '\0';
    return n;
}

static size_t http(const char *req, size_t len, char *resp, size_t cap)
{
    int fd = dial();
    if (fd < 0)
        return 0;
    size_t off = 0;
    while (off < len) {
        ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    size_t n = read_all(fd, resp, cap);
    close(fd);
    return n;
}

static int status_of(const char *resp)
{
    int code = 0;
    if (sscanf(resp, "HTTP/1.1 %d ", &code) != 1)
        return -1;
    return code;
}

static const char *body_of(const char *resp)
{
    const char *b = strstr(resp, "\r\n\r\n");
    return b != NULL ? b + 4 : "";
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

#define REQ(s) s, sizeof(s) - 1

static void test_http(void)
{
    static char resp[65536];
    md_metrics_config_t cfg = { .host = "127.0.0.1", .port = 0, .max_connections = 4,
                                .max_request = 1024, .timeout_ms = 600, .fill = fill };
    char err[256] = "";
    int rc = md_metrics_start(&srv, &cfg, err, sizeof(err));
    CHECK(rc == 0);
    if (rc != 0) {
        fprintf(stderr, "start: %s\n", err);
        return;
    }
    port = md_metrics_port(srv);
    pthread_t th;
    pthread_create(&th, NULL, serve, NULL);

    /* The answer, exactly. */
    http(REQ("GET /metrics HTTP/1.1\r\nHost: localhost\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n"),
         resp, sizeof(resp));
    CHECK(status_of(resp) == 200);
    CHECK(strstr(resp, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != NULL);
    char cl[64];
    snprintf(cl, sizeof(cl), "\r\nContent-Length: %zu\r\n", sizeof(WANT) - 1);
    CHECK(strstr(resp, cl) != NULL);
    CHECK(strstr(resp, "\r\nConnection: close\r\n") != NULL);
    CHECK(strcmp(body_of(resp), WANT) == 0);

    /* HEAD: the same headers, no body. HTTP/1.0 needs no Host; a query string and the
     * absolute form name the same resource; bare LF line ends are accepted. */
    http(REQ("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), resp, sizeof(resp));
    CHECK(status_of(resp) == 200 && strstr(resp, cl) != NULL && body_of(resp)[0] == '\0');
    http(REQ("GET /metrics?name[]=x HTTP/1.0\r\n\r\n"), resp, sizeof(resp));
    CHECK(status_of(resp) == 200 && strcmp(body_of(resp), WANT) == 0);
    http(REQ("GET http://127.0.0.1/metrics HTTP/1.1\nHost: 127.0.0.1\n\n"), resp, sizeof(resp));
    CHECK(status_of(resp) == 200 && strcmp(body_of(resp), WANT) == 0);

    /* 404, 405. */
    http(REQ("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), resp, sizeof(resp));
    CHECK(status_of(resp) == 404);
    http(REQ("GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n"), resp, sizeof(resp));
    CHECK(status_of(resp) == 404);
    http(REQ("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"), resp,
         sizeof(resp));
    CHECK(status_of(resp) == 405 && strstr(resp, "\r\nAllow: GET, HEAD\r\n") != NULL);
    http(REQ("DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), resp, sizeof(resp));
    CHECK(status_of(resp) == 405);

    /* Garbage: answered 400 at once, without waiting for the deadline. */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    static const char tls[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, (char)0xfc,
                                0x03, 0x03 };
    http(tls, sizeof(tls), resp, sizeof(resp));
    CHECK(status_of(resp) == 400);
    http(REQ("hello there\r\n\r\n"), resp, sizeof(resp));
    CHECK(status_of(resp) == 400);
    http(REQ("GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), resp, sizeof(resp));
    CHECK(status_of(resp) == 400);
    http(REQ("GET /metrics HTTP/1.1\r\n\r\n"), resp, sizeof(resp));         /* no Host */
    CHECK(status_of(resp) == 400);
    http(REQ("GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), resp, sizeof(resp));
    CHECK(status_of(resp) == 400);
    http(REQ("GET /metrics HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n"), resp, sizeof(resp));
    CHECK(status_of(resp) == 400);
    http(REQ("GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n"), resp, sizeof(resp));
    CHECK(status_of(resp) == 400);
    http(REQ("GET /metrics HTTP/2.0\r\n"), resp, sizeof(resp));
    CHECK(status_of(resp) == 505);
    http(REQ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), resp, sizeof(resp));
    CHECK(status_of(resp) == 505);
    CHECK(ms_since(&t0) < 500);

    /* A request head over max_request (1024 here): 431, and the answer arrives although
     * the client sent more than the server read. */
    char big[4096];
    int n = snprintf(big, sizeof(big), "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: ");
    memset(big + n, 'a', sizeof(big) - (size_t)n - 4);
    memcpy(big + sizeof(big) - 4, "\r\n\r\n", 4);
    http(big, sizeof(big), resp, sizeof(resp));
    CHECK(status_of(resp) == 431);

    /* Slowloris: a client that sends nothing and one that sends half a request do not hold
     * up a third; at the deadline the silent one is closed and the slow one gets 408. */
    int silent = dial();
    int slow = dial();
    CHECK(send(slow, "GET /met", 8, 0) == 8);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    http(REQ("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), resp, sizeof(resp));
    CHECK(status_of(resp) == 200 && strcmp(body_of(resp), WANT) == 0);
    CHECK(ms_since(&t0) < 300);
    size_t got = read_all(silent, resp, sizeof(resp));
    double waited = ms_since(&t0);
    CHECK(got == 0 && waited > 400 && waited < 2000);
    got = read_all(slow, resp, sizeof(resp));
    CHECK(got > 0 && status_of(resp) == 408);
    close(silent);
    close(slow);

    /* The limit (4): four silent clients, then a real one pushes out the oldest. */
    int s4[4];
    for (int i = 0; i < 4; i++)
        s4[i] = dial();
    usleep(50000);
    http(REQ("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), resp, sizeof(resp));
    CHECK(status_of(resp) == 200);
    for (int i = 0; i < 4; i++)
        close(s4[i]);

    atomic_store(&stop_srv, 1);
    pthread_join(th, NULL);
    md_metrics_stats_t st;
    md_metrics_get_stats(srv, &st);
    printf("stats: connections %llu scrapes %llu 404 %llu 405 %llu 400 %llu 431 %llu 505 %llu "
           "timeouts %llu evicted %llu refused %llu bad samples %llu (%s)\n",
           (unsigned long long)st.connections, (unsigned long long)st.scrapes,
           (unsigned long long)st.not_found, (unsigned long long)st.bad_method,
           (unsigned long long)st.bad_request, (unsigned long long)st.too_large,
           (unsigned long long)st.bad_version, (unsigned long long)st.timeouts,
           (unsigned long long)st.evicted, (unsigned long long)st.refused,
           (unsigned long long)st.bad_samples, st.last_error);
    CHECK(st.scrapes == 6 && st.not_found == 2 && st.bad_method == 2 && st.bad_request == 7 &&
          st.bad_version == 2 && st.too_large == 1 && st.timeouts == 2 && st.evicted >= 1);
    md_metrics_stop(srv);
    srv = NULL;
}

/* The epoll fd in an outer poll(): readable for a new client and for a deadline. */
static void test_fd(void)
{
    md_metrics_config_t cfg = { .timeout_ms = 200, .fill = fill };
    char err[256] = "";
    md_metrics_t *m = NULL;
    CHECK(md_metrics_start(&m, &cfg, err, sizeof(err)) == 0);
    if (m == NULL)
        return;
    port = md_metrics_port(m);
    struct pollfd pfd = { .fd = md_metrics_fd(m), .events = POLLIN };
    CHECK(poll(&pfd, 1, 0) == 0);
    int c = dial();
    CHECK(poll(&pfd, 1, 1000) == 1);
    CHECK(md_metrics_poll(m, 0) == 0);                  /* accepted */
    CHECK(poll(&pfd, 1, 0) == 0);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(poll(&pfd, 1, 2000) == 1);                    /* the deadline, via the timerfd */
    double w = ms_since(&t0);
    CHECK(w > 150 && w < 1000);
    CHECK(md_metrics_poll(m, 0) == 0);
    char buf[64];
    CHECK(read_all(c, buf, sizeof(buf)) == 0);          /* closed by the server */
    close(c);
    CHECK(poll(&pfd, 1, 0) == 0);
    md_metrics_stop(m);

    /* A port in use. */
    md_metrics_t *a = NULL, *b = NULL;
    md_metrics_config_t c2 = { .fill = fill };
    CHECK(md_metrics_start(&a, &c2, err, sizeof(err)) == 0);
    if (a != NULL) {
        c2.port = md_metrics_port(a);
        CHECK(md_metrics_start(&b, &c2, err, sizeof(err)) == -EADDRINUSE && b == NULL);
        char want[64];
        snprintf(want, sizeof(want), "metrics listener on 127.0.0.1 port %u: ", c2.port);
        CHECK(strncmp(err, want, strlen(want)) == 0);
        printf("port in use: %s\n", err);
    }
    md_metrics_stop(a);
    /* An address that does not resolve: -EINVAL, naming it. */
    md_metrics_config_t c3 = { .fill = fill, .host = "fe80::1%nosuchif0" };
    CHECK(md_metrics_start(&b, &c3, err, sizeof(err)) == -EINVAL && b == NULL);
    CHECK(strncmp(err, "metrics address fe80::1%nosuchif0: ", 35) == 0);
    printf("bad address: %s\n", err);
}

static int serve_stdin(void)
{
    md_metrics_config_t cfg = { .fill = fill };
    char err[256];
    md_metrics_t *m = NULL;
    if (md_metrics_start(&m, &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    printf("%u\n", md_metrics_port(m));
    fflush(stdout);
    for (;;) {
        struct pollfd p[2] = { { .fd = 0, .events = POLLIN }, { .fd = md_metrics_fd(m),
                                                                 .events = POLLIN } };
        if (poll(p, 2, 1000) < 0 && errno != EINTR)
            break;
        if (p[0].revents != 0)
            break;   /* stdin closed (or written to): stop */
        md_metrics_poll(m, 0);
    }
    md_metrics_stop(m);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--serve") == 0)
        return serve_stdin();
    test_registry();
    test_http();
    test_fd();
    printf("%s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures != 0;
}
