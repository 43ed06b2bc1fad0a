/* The gRPC client over nghttp2. The session's output is collected with
 * nghttp2_session_mem_send() into one buffer and written with one send() where the
 * socket takes it (a pipelined burst of calls is one system call, not one per frame);
 * input is read until the socket is empty and fed to nghttp2_session_mem_recv(), whose
 * callbacks collect each call's headers, messages and trailers. */
#define _GNU_SOURCE
#include "tools/grpc_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <nghttp2/nghttp2.h>

#define OUT_CHUNK 65536
#define DEFAULT_MAX_MESSAGE (16u << 20)

typedef struct gc_call gc_call_t;

struct gc_call {
    md_gc_t *c;
    int32_t id;
    md_gc_msg_fn on_msg;
    md_gc_done_fn on_done;
    void *arg;
    uint8_t *req;              /* the framed request: 5-byte prefix and the message */
    size_t req_len, req_off;
    uint8_t *in;               /* response bytes not yet taken as messages */
    size_t in_off, in_len, in_cap;
    int http_status;
    int have_status;           /* grpc-status seen (trailers or trailers-only) */
    int local;                 /* st was set here (a broken response, a cancel) */
    md_gc_status_t st;
    gc_call_t *prev, *next;
};

struct md_gc {
    int fd;
    int dead;
    int got_settings;
    nghttp2_session *session;
    char authority[300];
    char *token_hdr;           /* "Bearer <token>" or NULL */
    size_t max_message;
    uint8_t *out;
    size_t out_off, out_len, out_cap;
    gc_call_t *calls;
    unsigned active;
    char err[256];
};

static const char *const status_names[] = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
    "UNAUTHENTICATED",
};

const char *md_gc_status_name(int status)
{
    if (status < 0 || status > MD_GC_UNAUTHENTICATED)
        return "UNKNOWN_STATUS";
    return status_names[status];
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

void md_gc_percent_decode(const char *in, size_t inlen, char *out, size_t outlen)
{
    size_t o = 0;
    if (outlen == 0)
        return;
    for (size_t i = 0; i < inlen && o + 1 < outlen; i++) {
        int hi, lo;
        if (in[i] == '%' && i + 2 < inlen && (hi = hexval(in[i + 1])) >= 0 &&
            (lo = hexval(in[i + 2])) >= 0) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = in[i];   /* the spec: undecodable sequences are kept as they are */
        }
    }
    out[o] = '\0';
}

static void set_err(md_gc_t *c, const char *fmt, ...)
{
    if (c->err[0] != '\0')
        return;   /* the first cause is the one to report */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
}

static int buf_append(uint8_t **buf, size_t *len, size_t *cap, const uint8_t *data, size_t n)
{
    if (*len + n > *cap) {
        size_t nc = *cap ? *cap : 256;
        while (nc < *len + n)
            nc *= 2;
        uint8_t *b = realloc(*buf, nc);
        if (b == NULL)
            return -ENOMEM;
        *buf = b;
        *cap = nc;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    return 0;
}

/* ---- calls ---- */

static void local_status(gc_call_t *call, int status, const char *fmt, ...)
{
    if (call->local)
        return;
    call->local = 1;
    call->st.status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(call->st.message, sizeof(call->st.message), fmt, ap);
    va_end(ap);
}

/* The gRPC code for an HTTP status without grpc-status (the spec's table). */
static int status_of_http(int http)
{
    switch (http) {
    case 400: return MD_GC_INTERNAL;
    case 401: return MD_GC_UNAUTHENTICATED;
    case 403: return MD_GC_PERMISSION_DENIED;
    case 404: return MD_GC_UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504: return MD_GC_UNAVAILABLE;
    default: return MD_GC_UNKNOWN;
    }
}

static int status_of_rst(uint32_t code)
{
    switch (code) {
    case NGHTTP2_CANCEL: return MD_GC_CANCELLED;
    case NGHTTP2_REFUSED_STREAM: return MD_GC_UNAVAILABLE;
    case NGHTTP2_ENHANCE_YOUR_CALM: return MD_GC_RESOURCE_EXHAUSTED;
    case NGHTTP2_INADEQUATE_SECURITY: return MD_GC_PERMISSION_DENIED;
    default: return MD_GC_INTERNAL;
    }
}

static void unlink_call(md_gc_t *c, gc_call_t *call)
{
    if (call->prev != NULL)
        call->prev->next = call->next;
    else
        c->calls = call->next;
    if (call->next != NULL)
        call->next->prev = call->prev;
    c->active--;
}

/* Ends a call: its final status, the done callback, and it is freed. */
static void finish_call(md_gc_t *c, gc_call_t *call, uint32_t rst_code)
{
    md_gc_status_t *st = &call->st;
    if (call->local) {
        /* set already */
    } else if (call->have_status) {
        if (st->status == MD_GC_OK && call->in_len > call->in_off) {
            st->status = MD_GC_INTERNAL;
            snprintf(st->message, sizeof(st->message),
                     "response ended inside a message (%zu bytes left over)",
                     call->in_len - call->in_off);
        }
    } else if (call->http_status != 0 && call->http_status != 200) {
        st->status = status_of_http(call->http_status);
        snprintf(st->message, sizeof(st->message), "HTTP status %d without grpc-status",
                 call->http_status);
    } else if (rst_code != NGHTTP2_NO_ERROR) {
        st->status = status_of_rst(rst_code);
        snprintf(st->message, sizeof(st->message), "stream reset by the server (%s)",
                 nghttp2_http2_strerror(rst_code));
    } else {
        st->status = MD_GC_INTERNAL;
        snprintf(st->message, sizeof(st->message), "the response ended without grpc-status");
    }
    unlink_call(c, call);
    if (c->session != NULL)
        nghttp2_session_set_stream_user_data(c->session, call->id, NULL);
    if (call->on_done != NULL)
        call->on_done(call->arg, st);
    free(call->req);
    free(call->in);
    free(call);
}

/* The connection is gone: every call still open ends with status (UNAVAILABLE, or
 * CANCELLED when the caller closes). */
static void end_all(md_gc_t *c, int status, const char *why)
{
    c->dead = 1;
    while (c->calls != NULL) {
        gc_call_t *call = c->calls;
        local_status(call, status, "%s", why);
        finish_call(c, call, NGHTTP2_NO_ERROR);
    }
}

static void fail_conn(md_gc_t *c)
{
    if (c->dead)
        return;
    set_err(c, "connection closed by the server");
    char why[300];
    snprintf(why, sizeof(why), "%s", c->err);
    end_all(c, MD_GC_UNAVAILABLE, why);
}

/* Takes complete messages from the call's input. */
static void take_messages(md_gc_t *c, gc_call_t *call)
{
    while (!call->local && call->in_len - call->in_off >= 5) {
        const uint8_t *p = call->in + call->in_off;
        size_t mlen = ((size_t)p[1] << 24) | ((size_t)p[2] << 16) | ((size_t)p[3] << 8) | p[4];
        if (p[0] != 0) {
            local_status(call, MD_GC_INTERNAL,
                         "a compressed response message, but no compression was asked for");
            nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, call->id, NGHTTP2_CANCEL);
            return;
        }
        if (mlen > c->max_message) {
            local_status(call, MD_GC_RESOURCE_EXHAUSTED,
                         "response message of %zu bytes, more than the limit of %zu", mlen,
                         c->max_message);
            nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, call->id, NGHTTP2_CANCEL);
            return;
        }
        if (call->in_len - call->in_off - 5 < mlen)
            break;
        call->in_off += 5 + mlen;
        if (call->on_msg != NULL && call->on_msg(call->arg, p + 5, mlen) != 0) {
            local_status(call, MD_GC_CANCELLED, "cancelled by the client");
            nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, call->id, NGHTTP2_CANCEL);
            return;
        }
    }
    if (call->in_off == call->in_len) {
        call->in_off = 0;
        call->in_len = 0;
    } else if (call->in_off > 65536 && call->in_off * 2 > call->in_len) {
        memmove(call->in, call->in + call->in_off, call->in_len - call->in_off);
        call->in_len -= call->in_off;
        call->in_off = 0;
    }
}

/* ---- nghttp2 callbacks ---- */

static ssize_t read_request(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                            size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                            void *user_data)
{
    (void)session;
    (void)stream_id;
    (void)user_data;
    gc_call_t *call = source->ptr;
    size_t n = call->req_len - call->req_off;
    if (n > length)
        n = length;
    memcpy(buf, call->req + call->req_off, n);
    call->req_off += n;
    if (call->req_off == call->req_len)
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data)
{
    (void)flags;
    (void)user_data;
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    gc_call_t *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (call == NULL)
        return 0;
    if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
        int s = 0;
        for (size_t i = 0; i < valuelen && i < 3; i++)
            s = s * 10 + (value[i] >= '0' && value[i] <= '9' ? value[i] - '0' : 0);
        call->http_status = s;
    } else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0) {
        int s = 0, ok = valuelen > 0 && valuelen <= 3;
        for (size_t i = 0; ok && i < valuelen; i++) {
            if (value[i] < '0' || value[i] > '9')
                ok = 0;
            else
                s = s * 10 + (value[i] - '0');
        }
        call->have_status = 1;
        call->st.status = ok ? s : MD_GC_UNKNOWN;
    } else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0) {
        md_gc_percent_decode((const char *)value, valuelen, call->st.message,
                             sizeof(call->st.message));
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *user_data)
{
    (void)flags;
    md_gc_t *c = user_data;
    gc_call_t *call = nghttp2_session_get_stream_user_data(session, stream_id);
    if (call == NULL || call->local)
        return 0;
    if (buf_append(&call->in, &call->in_len, &call->in_cap, data, len) != 0) {
        local_status(call, MD_GC_RESOURCE_EXHAUSTED, "out of memory for the response");
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL);
        return 0;
    }
    take_messages(c, call);
    return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    (void)session;
    md_gc_t *c = user_data;
    if (frame->hd.type == NGHTTP2_SETTINGS && !(frame->hd.flags & NGHTTP2_FLAG_ACK))
        c->got_settings = 1;
    if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR)
        set_err(c, "the server ended the connection (GOAWAY %s)",
                nghttp2_http2_strerror(frame->goaway.error_code));
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user_data)
{
    md_gc_t *c = user_data;
    gc_call_t *call = nghttp2_session_get_stream_user_data(session, stream_id);
    if (call != NULL)
        finish_call(c, call, error_code);
    return 0;
}

/* ---- the socket ---- */

/* Writes the output buffer and whatever the session has to say: 0 (all written or the
 * socket is full) or -1 when the connection failed. */
static int pump_out(md_gc_t *c)
{
    for (;;) {
        while (c->out_off < c->out_len) {
            ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    return 0;
                set_err(c, "send: %s", strerror(errno));
                return -1;
            }
            c->out_off += (size_t)n;
        }
        c->out_off = c->out_len = 0;
        while (c->out_len < OUT_CHUNK) {
            const uint8_t *data;
            ssize_t n = nghttp2_session_mem_send(c->session, &data);
            if (n < 0) {
                set_err(c, "HTTP/2: %s", nghttp2_strerror((int)n));
                return -1;
            }
            if (n == 0)
                break;
            if (buf_append(&c->out, &c->out_len, &c->out_cap, data, (size_t)n) != 0) {
                set_err(c, "out of memory");
                return -1;
            }
        }
        if (c->out_len == 0)
            return 0;
    }
}

/* Reads what the socket has: 0, or -1 when the connection ended. */
static int pump_in(md_gc_t *c)
{
    uint8_t buf[65536];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n == 0) {
            set_err(c, "connection closed by the server");
            return -1;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            set_err(c, "recv: %s", strerror(errno));
            return -1;
        }
        ssize_t rc = nghttp2_session_mem_recv(c->session, buf, (size_t)n);
        if (rc < 0) {
            set_err(c, "HTTP/2 protocol error from the server: %s", nghttp2_strerror((int)rc));
            return -1;
        }
        if (c->dead)
            return -1;
        if ((size_t)n < sizeof(buf))
            return 0;   /* most likely empty now: save a recv() that says EAGAIN */
    }
}

int md_gc_flush(md_gc_t *c)
{
    if (c->dead)
        return -EPIPE;
    if (pump_out(c) != 0) {
        fail_conn(c);
        return -EPIPE;
    }
    return 0;
}

int md_gc_run(md_gc_t *c, int timeout_ms)
{
    if (c->dead)
        return -EPIPE;
    if (pump_out(c) != 0) {
        fail_conn(c);
        return -EPIPE;
    }
    struct pollfd p = { .fd = c->fd, .events = md_gc_poll_events(c) };
    int n = poll(&p, 1, timeout_ms);
    if (n < 0)
        return errno == EINTR ? -EINTR : -errno;
    if (n > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)) && pump_in(c) != 0) {
        fail_conn(c);
        return -EPIPE;
    }
    if (pump_out(c) != 0) {
        fail_conn(c);
        return -EPIPE;
    }
    if (!nghttp2_session_want_read(c->session) && !nghttp2_session_want_write(c->session) &&
        c->out_len == 0) {
        set_err(c, "the server ended the HTTP/2 session");
        fail_conn(c);
        return -EPIPE;
    }
    return 0;
}

int md_gc_fd(const md_gc_t *c)
{
    return c->fd;
}

short md_gc_poll_events(const md_gc_t *c)
{
    return (short)(POLLIN | (c->out_off < c->out_len ? POLLOUT : 0));
}

unsigned md_gc_active(const md_gc_t *c)
{
    return c->active;
}

const char *md_gc_error(const md_gc_t *c)
{
    return c->err;
}

/* ---- calls ---- */

#define NV(name, value, vlen) \
    { (uint8_t *)(name), (uint8_t *)(value), sizeof(name) - 1, (vlen), \
      NGHTTP2_NV_FLAG_NO_COPY_NAME }

int32_t md_gc_call_start(md_gc_t *c, const char *path, const uint8_t *req, size_t len,
                         md_gc_msg_fn on_msg, md_gc_done_fn on_done, void *arg)
{
    if (c->dead)
        return -EPIPE;
    if (len > 0xFFFFFFFFu)
        return -EMSGSIZE;
    gc_call_t *call = calloc(1, sizeof(*call));
    if (call == NULL)
        return -ENOMEM;
    call->req_len = 5 + len;
    call->req = malloc(call->req_len);
    if (call->req == NULL) {
        free(call);
        return -ENOMEM;
    }
    call->req[0] = 0;
    call->req[1] = (uint8_t)(len >> 24);
    call->req[2] = (uint8_t)(len >> 16);
    call->req[3] = (uint8_t)(len >> 8);
    call->req[4] = (uint8_t)len;
    if (len > 0)
        memcpy(call->req + 5, req, len);
    call->c = c;
    call->on_msg = on_msg;
    call->on_done = on_done;
    call->arg = arg;
    nghttp2_nv hdrs[8] = {
        NV(":method", "POST", 4),
        NV(":scheme", "http", 4),
        NV(":path", path, strlen(path)),
        NV(":authority", c->authority, strlen(c->authority)),
        NV("content-type", "application/grpc", 16),
        NV("te", "trailers", 8),
        NV("user-agent", "medley-grpc-client/0.1", 22),
    };
    size_t nh = 7;
    if (c->token_hdr != NULL) {
        nghttp2_nv a = NV("authorization", c->token_hdr, strlen(c->token_hdr));
        hdrs[nh++] = a;
    }
    nghttp2_data_provider prd = { .source.ptr = call, .read_callback = read_request };
    int32_t id = nghttp2_submit_request(c->session, NULL, hdrs, nh, &prd, call);
    if (id < 0) {
        free(call->req);
        free(call);
        return id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE ? -EMFILE : -EPROTO;
    }
    call->id = id;
    call->next = c->calls;
    if (c->calls != NULL)
        c->calls->prev = call;
    c->calls = call;
    c->active++;
    return id;
}

void md_gc_call_cancel(md_gc_t *c, int32_t stream_id)
{
    if (c->dead)
        return;
    gc_call_t *call = nghttp2_session_get_stream_user_data(c->session, stream_id);
    if (call == NULL)
        return;
    local_status(call, MD_GC_CANCELLED, "cancelled by the client");
    nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL);
}

/* ---- connections ---- */

static int connect_fd(int fd, const struct sockaddr *sa, socklen_t len, int timeout_ms)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return -errno;
    if (connect(fd, sa, len) == 0)
        return 0;
    if (errno != EINPROGRESS && errno != EAGAIN)
        return -errno;
    if (errno == EAGAIN) {
        /* A Unix socket whose listen backlog is full: retry until the deadline. */
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
            struct timespec nap = { 0, 1000000 }, now;
            nanosleep(&nap, NULL);
            if (connect(fd, sa, len) == 0)
                return 0;
            if (errno != EAGAIN)
                return -errno;
            clock_gettime(CLOCK_MONOTONIC, &now);
            long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
            if (timeout_ms > 0 && ms >= timeout_ms)
                return -ETIMEDOUT;
        }
    }
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    int n;
    do
        n = poll(&p, 1, timeout_ms > 0 ? timeout_ms : -1);
    while (n < 0 && errno == EINTR);
    if (n == 0)
        return -ETIMEDOUT;
    if (n < 0)
        return -errno;
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
        return -errno;
    return soerr ? -soerr : 0;
}

static int open_socket(md_gc_t *c, const md_gc_target_t *t, int timeout_ms, char *err,
                       size_t errlen)
{
    if (t->unix_path != NULL) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(t->unix_path) >= sizeof(sa.sun_path)) {
            snprintf(err, errlen, "socket path %s: too long", t->unix_path);
            return -ENAMETOOLONG;
        }
        strcpy(sa.sun_path, t->unix_path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            int e = errno;
            snprintf(err, errlen, "socket: %s", strerror(e));
            return -e;
        }
        int rc = connect_fd(fd, (struct sockaddr *)&sa, sizeof(sa), timeout_ms);
        if (rc != 0) {
            close(fd);
            snprintf(err, errlen, "cannot connect to %s: %s", t->unix_path, strerror(-rc));
            return rc;
        }
        c->fd = fd;
        snprintf(c->authority, sizeof(c->authority), "localhost");
        return 0;
    }
    if (t->tcp_host == NULL || t->tcp_port == NULL) {
        snprintf(err, errlen, "no address to connect to");
        return -EINVAL;
    }
    char host[256];
    size_t hl = strlen(t->tcp_host);
    if (hl >= 2 && t->tcp_host[0] == '[' && t->tcp_host[hl - 1] == ']')
        snprintf(host, sizeof(host), "%.*s", (int)(hl - 2), t->tcp_host + 1);
    else
        snprintf(host, sizeof(host), "%s", t->tcp_host);
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    int g = getaddrinfo(host, t->tcp_port, &hints, &res);
    if (g != 0) {
        snprintf(err, errlen, "%s port %s: %s", host, t->tcp_port, gai_strerror(g));
        return -EINVAL;
    }
    int rc = -EHOSTUNREACH;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            rc = -errno;
            continue;
        }
        rc = connect_fd(fd, ai->ai_addr, ai->ai_addrlen, timeout_ms);
        if (rc == 0) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            c->fd = fd;
            break;
        }
        close(fd);
    }
    freeaddrinfo(res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot connect to %s port %s: %s", host, t->tcp_port,
                 strerror(-rc));
        return rc;
    }
    if (strchr(host, ':') != NULL)
        snprintf(c->authority, sizeof(c->authority), "[%s]:%s", host, t->tcp_port);
    else
        snprintf(c->authority, sizeof(c->authority), "%s:%s", host, t->tcp_port);
    return 0;
}

static long ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

int md_gc_connect(md_gc_t **out, const md_gc_target_t *t, int timeout_ms, char *err,
                  size_t errlen)
{
    *out = NULL;
    md_gc_t *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    c->fd = -1;
    c->max_message = t->max_message ? t->max_message : DEFAULT_MAX_MESSAGE;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = open_socket(c, t, timeout_ms, err, errlen);
    if (rc != 0) {
        free(c);
        return rc;
    }
    /* An empty token is no token ("Bearer " alone is not a valid header value). */
    int token = t->token != NULL && t->token[0] != '\0';
    if (token && (c->token_hdr = malloc(strlen(t->token) + 8)) != NULL)
        sprintf(c->token_hdr, "Bearer %s", t->token);
    nghttp2_session_callbacks *cb = NULL;
    if (nghttp2_session_callbacks_new(&cb) != 0 || (token && c->token_hdr == NULL)) {
        snprintf(err, errlen, "out of memory");
        md_gc_close(c);
        return -ENOMEM;
    }
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    rc = nghttp2_session_client_new(&c->session, cb, c);
    nghttp2_session_callbacks_del(cb);
    if (rc != 0) {
        snprintf(err, errlen, "HTTP/2 session: %s", nghttp2_strerror(rc));
        md_gc_close(c);
        return -ENOMEM;
    }
    /* No server push; a 1 MiB window per stream and for the connection. */
    nghttp2_settings_entry iv[] = {
        { NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
        { NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20 },
    };
    nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, 2);
    nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0, 1 << 20);
    /* Wait for the server's SETTINGS: its concurrent-stream limit then holds for the
     * first calls too, and a peer that is not an HTTP/2 server is found here. */
    while (!c->got_settings) {
        int left = -1;
        if (timeout_ms > 0) {
            left = timeout_ms - (int)ms_since(&t0);
            if (left <= 0) {
                snprintf(err, errlen, "no HTTP/2 SETTINGS from the server within %d ms",
                         timeout_ms);
                md_gc_close(c);
                return -ETIMEDOUT;
            }
        }
        rc = md_gc_run(c, left);
        if (rc == -EINTR)
            continue;
        if (rc != 0) {
            snprintf(err, errlen, "HTTP/2 set-up: %s", c->err[0] ? c->err : strerror(-rc));
            md_gc_close(c);
            return -ECONNRESET;
        }
    }
    *out = c;
    return 0;
}

void md_gc_close(md_gc_t *c)
{
    if (c == NULL)
        return;
    if (!c->dead)
        end_all(c, MD_GC_CANCELLED, "the client closed the connection");
    if (c->session != NULL) {
        nghttp2_session_terminate_session(c->session, NGHTTP2_NO_ERROR);
        c->dead = 0;
        pump_out(c);   /* GOAWAY, as far as the socket takes it now */
        nghttp2_session_del(c->session);
    }
    if (c->fd >= 0)
        close(c->fd);
    free(c->token_hdr);
    free(c->out);
    free(c);
}

/* ---- blocking unary ---- */

typedef struct {
    uint8_t *buf;
    size_t len;
    unsigned n;
    int done;
    md_gc_status_t st;
} unary_t;

static int unary_msg(void *arg, const uint8_t *msg, size_t len)
{
    unary_t *u = arg;
    if (++u->n > 1)
        return 0;   /* counted; refused when the call ends */
    u->buf = malloc(len ? len : 1);
    if (u->buf == NULL)
        return -1;
    memcpy(u->buf, msg, len);
    u->len = len;
    return 0;
}

static void unary_done(void *arg, const md_gc_status_t *st)
{
    unary_t *u = arg;
    u->st = *st;
    u->done = 1;
}

int md_gc_unary(md_gc_t *c, const char *path, const uint8_t *req, size_t len, uint8_t **reply,
                size_t *reply_len, int timeout_ms, md_gc_status_t *st)
{
    unary_t u;
    memset(&u, 0, sizeof(u));
    *reply = NULL;
    *reply_len = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int32_t id = md_gc_call_start(c, path, req, len, unary_msg, unary_done, &u);
    if (id < 0) {
        st->status = MD_GC_UNAVAILABLE;
        snprintf(st->message, sizeof(st->message), "%s",
                 id == -EPIPE && c->err[0] ? c->err : strerror(-id));
        return st->status;
    }
    int timed_out = 0;
    while (!u.done) {
        int left = -1;
        if (timeout_ms >= 0 && !timed_out) {
            left = timeout_ms - (int)ms_since(&t0);
            if (left <= 0) {
                timed_out = 1;
                md_gc_call_cancel(c, id);
                left = 1000;   /* the reset goes out and the call ends */
            }
        }
        int rc = md_gc_run(c, left);
        if (rc != 0 && rc != -EINTR && !u.done) {
            /* cannot happen: a dead connection ends every call */
            st->status = MD_GC_UNAVAILABLE;
            snprintf(st->message, sizeof(st->message), "%s", c->err);
            free(u.buf);
            return st->status;
        }
    }
    *st = u.st;
    if (timed_out && st->status == MD_GC_CANCELLED) {
        st->status = MD_GC_DEADLINE_EXCEEDED;
        snprintf(st->message, sizeof(st->message), "no reply within %d ms", timeout_ms);
    }
    if (st->status == MD_GC_OK && u.n != 1) {
        st->status = MD_GC_INTERNAL;
        snprintf(st->message, sizeof(st->message),
                 "a unary call answered with %u messages instead of one", u.n);
    }
    if (st->status != MD_GC_OK) {
        free(u.buf);
        return st->status;
    }
    *reply = u.buf;
    *reply_len = u.len;
    return MD_GC_OK;
}
