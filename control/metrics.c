/* The Prometheus endpoint (control/metrics.h): a registry that renders the text format
 * 0.0.4, and a small HTTP/1.1 server. One epoll set holds the listener, a timerfd armed at
 * the earliest connection deadline, and the connections; each connection reads its
 * request head into a bounded buffer, is answered from one output buffer, half-closes and
 * drains what the client still sends (so the answer is not lost to a reset), and closes. */
#define _GNU_SOURCE
#include "control/metrics.h"
#include "control/tcp_listen.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>

/* ---- the registry ---- */

#define MAX_FAMILIES 256
#define MAX_NAME 128

struct md_metrics_reg {
    char *buf;
    size_t len, cap, max;
    int overflow;
    char families[MAX_FAMILIES][MAX_NAME];
    unsigned n_families;
    int current;             /* index in families, -1: none or refused */
    md_metric_type_t type;
    md_metrics_stats_t *stats;
};

static void put(md_metrics_reg_t *r, const char *p, size_t n)
{
    if (r->overflow)
        return;
    if (r->len + n + 1 > r->max) {
        r->overflow = 1;
        return;
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + n + 1)
            cap *= 2;
        if (cap > r->max)
            cap = r->max;
        char *b = realloc(r->buf, cap);
        if (b == NULL) {
            r->overflow = 1;
            return;
        }
        r->buf = b;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, p, n);
    r->len += n;
    r->buf[r->len] = '\0';
}

static void puts_(md_metrics_reg_t *r, const char *s)
{
    put(r, s, strlen(s));
}

static int refuse(md_metrics_reg_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int refuse(md_metrics_reg_t *r, const char *fmt, ...)
{
    if (r->stats != NULL) {
        r->stats->bad_samples++;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->stats->last_error, sizeof(r->stats->last_error), fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static int valid_name(const char *s, int colons)
{
    if (s == NULL || s[0] == '\0' || strlen(s) >= MAX_NAME)
        return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (colons && c == ':') || (p != s && c >= '0' && c <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

/* Help text: backslash and newline escaped. Label values: also the double quote. */
static void put_escaped(md_metrics_reg_t *r, const char *s, int quote)
{
    for (const char *p = s; *p; p++) {
        if (*p == '\\')
            put(r, "\\\\", 2);
        else if (*p == '\n')
            put(r, "\\n", 2);
        else if (quote && *p == '"')
            put(r, "\\\"", 2);
        else
            put(r, p, 1);
    }
}

int md_metrics_family(md_metrics_reg_t *r, const char *name, md_metric_type_t type,
                      const char *help)
{
    r->current = -1;
    if (!valid_name(name, 1))
        return refuse(r, "metric name \"%.64s\" is not valid", name ? name : "(null)");
    if (type != MD_METRIC_GAUGE && type != MD_METRIC_COUNTER)
        return refuse(r, "%s: unknown type %d", name, (int)type);
    for (unsigned i = 0; i < r->n_families; i++)
        if (strcmp(r->families[i], name) == 0)
            return refuse(r, "%s: family declared twice in one scrape", name);
    if (r->n_families == MAX_FAMILIES)
        return refuse(r, "%s: more than %d families", name, MAX_FAMILIES);
    strcpy(r->families[r->n_families], name);
    r->current = (int)r->n_families++;
    r->type = type;
    if (help != NULL && help[0] != '\0') {
        puts_(r, "# HELP ");
        puts_(r, name);
        put(r, " ", 1);
        put_escaped(r, help, 0);
        put(r, "\n", 1);
    }
    puts_(r, "# TYPE ");
    puts_(r, name);
    puts_(r, type == MD_METRIC_GAUGE ? " gauge\n" : " counter\n");
    return r->overflow ? -E2BIG : 0;
}

static void put_value(md_metrics_reg_t *r, double v)
{
    char tmp[40];
    if (isnan(v))
        strcpy(tmp, "NaN");
    else if (isinf(v))
        strcpy(tmp, v > 0 ? "+Inf" : "-Inf");
    else if (v == 0)
        strcpy(tmp, "0");
    else if (v == floor(v) && fabs(v) < 9007199254740992.0)
        snprintf(tmp, sizeof(tmp), "%.0f", v);
    else {
        /* The shortest of %.15g..%.17g that reads back as the same double. */
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
            if (strtod(tmp, NULL) == v)
                break;
        }
    }
    puts_(r, tmp);
}

int md_metrics_valuev(md_metrics_reg_t *r, double v, const char *const *labels,
                      unsigned n_pairs)
{
    if (r->current < 0)
        return refuse(r, "a sample without a (valid) family");
    const char *name = r->families[r->current];
    if (r->type == MD_METRIC_COUNTER && v < 0)
        return refuse(r, "%s: a counter cannot be negative (%g)", name, v);
    for (unsigned i = 0; i < n_pairs; i++) {
        const char *ln = labels[2 * i], *lv = labels[2 * i + 1];
        if (!valid_name(ln, 0) || strncmp(ln, "__", 2) == 0)
            return refuse(r, "%s: label name \"%.64s\" is not valid", name, ln ? ln : "(null)");
        if (lv == NULL)
            return refuse(r, "%s: label %s has no value", name, ln);
        for (unsigned j = 0; j < i; j++)
            if (strcmp(labels[2 * j], ln) == 0)
                return refuse(r, "%s: label %s given twice", name, ln);
    }
    puts_(r, name);
    if (n_pairs > 0) {
        put(r, "{", 1);
        for (unsigned i = 0; i < n_pairs; i++) {
            if (i > 0)
                put(r, ",", 1);
            puts_(r, labels[2 * i]);
            put(r, "=\"", 2);
            put_escaped(r, labels[2 * i + 1], 1);
            put(r, "\"", 1);
        }
        put(r, "}", 1);
    }
    put(r, " ", 1);
    put_value(r, v);
    put(r, "\n", 1);
    return r->overflow ? -E2BIG : 0;
}

#define MAX_LABELS 16

int md_metrics_value(md_metrics_reg_t *r, double v, ...)
{
    const char *labels[2 * MAX_LABELS];
    unsigned n = 0;
    va_list ap;
    va_start(ap, v);
    for (;;) {
        const char *ln = va_arg(ap, const char *);
        if (ln == NULL)
            break;
        const char *lv = va_arg(ap, const char *);
        if (n == MAX_LABELS || lv == NULL) {
            va_end(ap);
            return refuse(r, "%s: more than %d labels or a label without a value",
                          r->current >= 0 ? r->families[r->current] : "?", MAX_LABELS);
        }
        labels[2 * n] = ln;
        labels[2 * n + 1] = lv;
        n++;
    }
    va_end(ap);
    return md_metrics_valuev(r, v, labels, n);
}

/* Runs fill into a fresh registry; the body is r->buf (malloc()ed) unless it overflowed. */
static int run_fill(md_metrics_fill_fn fill, void *arg, size_t max, md_metrics_stats_t *stats,
                    char **out, size_t *len)
{
    md_metrics_reg_t *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return -ENOMEM;
    r->max = max;
    r->current = -1;
    r->stats = stats;
    put(r, "", 0);
    if (fill != NULL)
        fill(arg, r);
    int rc = r->overflow ? -E2BIG : 0;
    if (rc == 0) {
        *out = r->buf;
        *len = r->len;
    } else {
        free(r->buf);
    }
    free(r);
    return rc;
}

int md_metrics_render(md_metrics_fill_fn fill, void *arg, size_t max_response, char **out,
                      md_metrics_stats_t *stats)
{
    size_t len = 0;
    *out = NULL;
    int rc = run_fill(fill, arg, max_response ? max_response : 8u << 20, stats, out, &len);
    return rc < 0 ? rc : (int)len;
}

/* ---- the server ---- */

#define TAG_LISTENER 1
#define TAG_TIMER 2

typedef enum { C_READ, C_WRITE, C_DRAIN } cstate_t;

typedef struct conn {
    struct conn *next;
    int fd;
    cstate_t state;
    uint64_t accepted_ms, deadline_ms;
    char *in;
    size_t in_len;
    char *out;
    size_t out_len, out_off;
    uint32_t events;         /* what epoll watches */
    int rd_eof;              /* the client has half-closed */
} conn_t;

struct md_metrics {
    md_metrics_config_t cfg;
    int ep, lfd, tfd;
    uint16_t port;
    conn_t *conns;
    unsigned n_conns;
    uint64_t armed_ms;
    md_metrics_stats_t st;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static void close_conn(md_metrics_t *m, conn_t *c)
{
    epoll_ctl(m->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    for (conn_t **pp = &m->conns; *pp != NULL; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    m->n_conns--;
    free(c->in);
    free(c->out);
    free(c);
}

static void watch(md_metrics_t *m, conn_t *c, int want_out)
{
    uint32_t events = (c->rd_eof ? 0u : (uint32_t)EPOLLIN) | (want_out ? (uint32_t)EPOLLOUT : 0u);
    if (events == c->events)
        return;
    struct epoll_event ev = { .events = events, .data.ptr = c };
    epoll_ctl(m->ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->events = events;
}

static const char *reason(int code)
{
    switch (code) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    }
    return "Error";
}

/* Builds the whole response into c->out (body NULL: a one-line text for errors). */
static int respond(conn_t *c, int code, const char *ctype, const char *body, size_t body_len,
                   int head_only)
{
    char text[64];
    if (body == NULL) {
        snprintf(text, sizeof(text), "%d %s\n", code, reason(code));
        body = text;
        body_len = strlen(text);
        ctype = "text/plain; charset=utf-8";
    }
    char date[64] = "";
    time_t t = time(NULL);
    struct tm tm;
    if (gmtime_r(&t, &tm) != NULL)
        strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: medleyd\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\n%sConnection: close\r\n\r\n",
                     code, reason(code), date, ctype, body_len,
                     code == 405 ? "Allow: GET, HEAD\r\n" : "");
    size_t total = (size_t)n + (head_only ? 0 : body_len);
    free(c->out);
    c->out = malloc(total);
    if (c->out == NULL)
        return -ENOMEM;
    memcpy(c->out, head, (size_t)n);
    if (!head_only)
        memcpy(c->out + n, body, body_len);
    c->out_len = total;
    c->out_off = 0;
    c->state = C_WRITE;
    return 0;
}

static int is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* Checks the request line in [p, e): returns 0 (good: rl filled) or an HTTP status. */
typedef struct {
    const char *method, *target;
    size_t mlen, tlen;
    int minor;
} reqline_t;

static int parse_request_line(const char *p, const char *e, reqline_t *rl)
{
    const char *s = p;
    while (s < e && is_tchar((unsigned char)*s))
        s++;
    if (s == p || s >= e || *s != ' ')
        return 400;
    rl->method = p;
    rl->mlen = (size_t)(s - p);
    const char *t = ++s;
    while (s < e && (unsigned char)*s > 0x20 && (unsigned char)*s < 0x7f)
        s++;
    if (s == t || s >= e || *s != ' ')
        return 400;
    rl->target = t;
    rl->tlen = (size_t)(s - t);
    s++;
    size_t vl = (size_t)(e - s);
    if (vl != 8 || memcmp(s, "HTTP/", 5) != 0 || s[5] < '0' || s[5] > '9' || s[6] != '.' ||
        s[7] < '0' || s[7] > '9')
        return 400;
    if (s[5] != '1')
        return 505;
    rl->minor = s[7] - '0';
    return 0;
}

/* The request head is complete in c->in (ending at end). Decides the answer. */
static int handle_request(md_metrics_t *m, conn_t *c, size_t end)
{
    const char *p = c->in, *e = c->in + end;
    const char *nl = memchr(p, '\n', (size_t)(e - p));
    const char *le = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
    reqline_t rl;
    int code = parse_request_line(p, le, &rl);
    int hosts = 0;
    /* Headers: "name: value" lines up to the empty line. */
    for (const char *h = nl + 1; code == 0 && h < e;) {
        const char *hn = memchr(h, '\n', (size_t)(e - h));
        const char *he = hn > h && hn[-1] == '\r' ? hn - 1 : hn;
        if (he == h)
            break;   /* the empty line */
        const char *colon = h;
        while (colon < he && is_tchar((unsigned char)*colon))
            colon++;
        if (colon == h || colon >= he || *colon != ':')
            code = 400;   /* also obs-fold (a line starting with a space) */
        else if ((size_t)(colon - h) == 4 && strncasecmp(h, "host", 4) == 0)
            hosts++;
        h = hn + 1;
    }
    if (code == 0 && rl.minor >= 1 && hosts != 1)
        code = 400;   /* RFC 9112 3.2: exactly one Host in HTTP/1.1 */
    if (code != 0) {
        if (code == 505)
            m->st.bad_version++;
        else
            m->st.bad_request++;
        return respond(c, code, NULL, NULL, 0, 0);
    }
    /* The path: origin form, or absolute form (http://host/path). */
    const char *path = rl.target, *pe = rl.target + rl.tlen;
    if (rl.tlen > 7 && strncasecmp(path, "http://", 7) == 0) {
        path = memchr(path + 7, '/', rl.tlen - 7);
        if (path == NULL)
            path = pe;
    }
    const char *q = memchr(path, '?', (size_t)(pe - path));
    size_t plen = (size_t)((q != NULL ? q : pe) - path);
    if (plen != 8 || memcmp(path, "/metrics", 8) != 0) {
        m->st.not_found++;
        return respond(c, 404, NULL, NULL, 0, rl.mlen == 4 && memcmp(rl.method, "HEAD", 4) == 0);
    }
    int head = rl.mlen == 4 && memcmp(rl.method, "HEAD", 4) == 0;
    if (!head && !(rl.mlen == 3 && memcmp(rl.method, "GET", 3) == 0)) {
        m->st.bad_method++;
        return respond(c, 405, NULL, NULL, 0, 0);
    }
    char *body = NULL;
    size_t len = 0;
    if (run_fill(m->cfg.fill, m->cfg.arg, m->cfg.max_response, &m->st, &body, &len) != 0)
        return respond(c, 500, NULL, NULL, 0, head);
    m->st.scrapes++;
    int rc = respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", body, len, head);
    free(body);
    return rc;
}

/* Looks at what has arrived: 1 if an answer is ready (c->out), 0 to wait for more. */
static int examine(md_metrics_t *m, conn_t *c)
{
    /* Control bytes (other than CR, LF, TAB) never belong in a request head: answer 400
     * at once rather than wait for the rest of garbage. */
    for (size_t i = 0; i < c->in_len; i++) {
        unsigned char ch = (unsigned char)c->in[i];
        if ((ch < 0x20 && ch != '\r' && ch != '\n' && ch != '\t') || ch == 0x7f) {
            m->st.bad_request++;
            respond(c, 400, NULL, NULL, 0, 0);
            return 1;
        }
    }
    /* The request line, as soon as it is complete. */
    const char *nl = memchr(c->in, '\n', c->in_len);
    if (nl != NULL) {
        reqline_t rl;
        const char *le = nl > c->in && nl[-1] == '\r' ? nl - 1 : nl;
        int code = parse_request_line(c->in, le, &rl);
        if (code != 0) {
            if (code == 505)
                m->st.bad_version++;
            else
                m->st.bad_request++;
            respond(c, code, NULL, NULL, 0, 0);
            return 1;
        }
        /* The end of the head: an empty line (CRLF CRLF, or bare LFs). */
        for (const char *p = nl; p != NULL;) {
            const char *next = p + 1;
            if (next < c->in + c->in_len && *next == '\r')
                next++;
            if (next < c->in + c->in_len && *next == '\n') {
                handle_request(m, c, (size_t)(next + 1 - c->in));
                return 1;
            }
            p = memchr(p + 1, '\n', c->in_len - (size_t)(p + 1 - c->in));
        }
    }
    if (c->in_len >= m->cfg.max_request) {
        m->st.too_large++;
        respond(c, 431, NULL, NULL, 0, 0);
        return 1;
    }
    return 0;
}

/* 0 to keep the connection, -1 to close it. */
static int conn_flush(md_metrics_t *m, conn_t *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                watch(m, c, 1);
                return 0;
            }
            return -1;
        }
        c->out_off += (size_t)n;
    }
    /* All sent: half-close, then drain what the client still sends for a moment. */
    watch(m, c, 0);
    shutdown(c->fd, SHUT_WR);
    c->state = C_DRAIN;
    uint64_t t = now_ms() + 1000;
    if (t < c->deadline_ms)
        c->deadline_ms = t;
    return 0;
}

static int conn_read(md_metrics_t *m, conn_t *c)
{
    for (;;) {
        if (c->state != C_READ) {
            /* Answering or answered: what else the client sends is read and dropped. */
            char junk[4096];
            ssize_t n = recv(c->fd, junk, sizeof(junk), 0);
            if (n == 0 && c->state == C_WRITE) {
                c->rd_eof = 1;   /* half-closed after its request: still answer it */
                watch(m, c, 1);
                return 0;
            }
            if (n == 0)
                return -1;
            if (n < 0)
                return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
            continue;
        }
        size_t room = m->cfg.max_request - c->in_len;
        ssize_t n = recv(c->fd, c->in + c->in_len, room, 0);
        if (n == 0)
            return -1;   /* the client gave up before a full request: nothing to answer */
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        c->in_len += (size_t)n;
        if (examine(m, c))
            return conn_flush(m, c);
    }
}

static void accept_conns(md_metrics_t *m)
{
    for (int i = 0; i < 16; i++) {
        int fd = accept4(m->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (m->n_conns >= m->cfg.max_connections) {
            /* Push out the oldest client still sending its request (a slow or silent one);
             * if every connection is being answered, refuse this one. */
            conn_t *old = NULL;
            for (conn_t *c = m->conns; c != NULL; c = c->next)
                if (c->state == C_READ && (old == NULL || c->accepted_ms < old->accepted_ms))
                    old = c;
            if (old == NULL) {
                static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
                                           "Content-Length: 0\r\nConnection: close\r\n\r\n";
                ssize_t n = send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL);
                (void)n;
                close(fd);
                m->st.refused++;
                continue;
            }
            m->st.evicted++;
            close_conn(m, old);
        }
        conn_t *c = calloc(1, sizeof(*c));
        if (c != NULL)
            c->in = malloc(m->cfg.max_request);
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        if (c == NULL || c->in == NULL || epoll_ctl(m->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            if (c != NULL)
                free(c->in);
            free(c);
            close(fd);
            continue;
        }
        c->fd = fd;
        c->events = EPOLLIN;
        c->state = C_READ;
        c->accepted_ms = now_ms();
        c->deadline_ms = c->accepted_ms + m->cfg.timeout_ms;
        c->next = m->conns;
        m->conns = c;
        m->n_conns++;
        m->st.connections++;
    }
}

/* Arms the timerfd at the earliest deadline (or disarms it). */
static void arm_timer(md_metrics_t *m)
{
    uint64_t first = 0;
    for (conn_t *c = m->conns; c != NULL; c = c->next)
        if (first == 0 || c->deadline_ms < first)
            first = c->deadline_ms;
    if (first == m->armed_ms)
        return;
    struct itimerspec its;
    memset(&its, 0, sizeof(its));
    its.it_value.tv_sec = (time_t)(first / 1000);
    its.it_value.tv_nsec = (long)(first % 1000) * 1000000;
    if (first != 0 && its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
        its.it_value.tv_nsec = 1;
    timerfd_settime(m->tfd, TFD_TIMER_ABSTIME, &its, NULL);
    m->armed_ms = first;
}

int md_metrics_poll(md_metrics_t *m, int timeout_ms)
{
    struct epoll_event evs[32];
    int n = epoll_wait(m->ep, evs, 32, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        if (evs[i].data.u64 == TAG_LISTENER) {
            accept_conns(m);
            continue;
        }
        if (evs[i].data.u64 == TAG_TIMER) {
            uint64_t x;
            ssize_t r = read(m->tfd, &x, sizeof(x));
            (void)r;
            m->armed_ms = 0;
            continue;
        }
        conn_t *c = evs[i].data.ptr;
        if (c == NULL)
            continue;
        int bad = 0;
        if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
            bad = conn_read(m, c) != 0;
        if (!bad && c->state == C_WRITE && (evs[i].events & EPOLLOUT))
            bad = conn_flush(m, c) != 0;
        if (bad) {
            close_conn(m, c);
            /* A later event of this batch may name the freed connection: forget them. */
            for (int j = i + 1; j < n; j++)
                if (evs[j].data.ptr == c)
                    evs[j].data.u64 = 0;
        }
    }
    /* Deadlines. */
    uint64_t now = now_ms();
    conn_t *c = m->conns;
    while (c != NULL) {
        conn_t *next = c->next;
        if (now >= c->deadline_ms) {
            if (c->state == C_READ) {
                m->st.timeouts++;
                if (c->in_len > 0) {
                    /* Best effort: one non-blocking send of a 408. */
                    static const char slow[] = "HTTP/1.1 408 Request Timeout\r\n"
                                               "Content-Length: 0\r\nConnection: close\r\n\r\n";
                    ssize_t r = send(c->fd, slow, sizeof(slow) - 1, MSG_NOSIGNAL);
                    (void)r;
                }
            } else if (c->state == C_WRITE) {
                m->st.timeouts++;   /* a client that does not read its answer */
            }
            close_conn(m, c);
        }
        c = next;
    }
    arm_timer(m);
    return 0;
}

int md_metrics_start(md_metrics_t **out, const md_metrics_config_t *cfg, char *err,
                     size_t errlen)
{
    *out = NULL;
    md_metrics_t *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return fail(err, errlen, -ENOMEM, "out of memory");
    m->cfg = *cfg;
    if (m->cfg.host == NULL)
        m->cfg.host = "127.0.0.1";
    if (m->cfg.max_connections == 0)
        m->cfg.max_connections = 16;
    if (m->cfg.max_request == 0)
        m->cfg.max_request = 8192;
    if (m->cfg.max_request < 64)
        m->cfg.max_request = 64;
    if (m->cfg.timeout_ms == 0)
        m->cfg.timeout_ms = 5000;
    if (m->cfg.max_response == 0)
        m->cfg.max_response = 8u << 20;
    m->lfd = m->tfd = -1;
    m->ep = epoll_create1(EPOLL_CLOEXEC);
    m->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (m->ep < 0 || m->tfd < 0) {
        int e = errno;
        md_metrics_stop(m);
        return fail(err, errlen, -e, "metrics: epoll/timerfd: %s", strerror(e));
    }
    int fd = md_tcp_listen(m->cfg.host, m->cfg.port, "metrics", &m->port, err, errlen);
    if (fd < 0) {
        md_metrics_stop(m);
        return fd;
    }
    m->lfd = fd;
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_LISTENER };
    struct epoll_event tev = { .events = EPOLLIN, .data.u64 = TAG_TIMER };
    if (epoll_ctl(m->ep, EPOLL_CTL_ADD, fd, &ev) != 0 ||
        epoll_ctl(m->ep, EPOLL_CTL_ADD, m->tfd, &tev) != 0) {
        int e = errno;
        md_metrics_stop(m);
        return fail(err, errlen, -e, "metrics: epoll: %s", strerror(e));
    }
    *out = m;
    return 0;
}

int md_metrics_fd(const md_metrics_t *m)
{
    return m->ep;
}

uint16_t md_metrics_port(const md_metrics_t *m)
{
    return m->port;
}

void md_metrics_get_stats(const md_metrics_t *m, md_metrics_stats_t *st)
{
    *st = m->st;
}

void md_metrics_stop(md_metrics_t *m)
{
    if (m == NULL)
        return;
    while (m->conns != NULL)
        close_conn(m, m->conns);
    if (m->lfd >= 0)
        close(m->lfd);
    if (m->tfd >= 0)
        close(m->tfd);
    if (m->ep >= 0)
        close(m->ep);
    free(m);
}
