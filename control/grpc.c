/* The gRPC transport over nghttp2. One epoll set holds the listeners and connections;
 * each connection has its nghttp2 session, which writes straight to the non-blocking
 * socket (NGHTTP2_ERR_WOULDBLOCK parks it until EPOLLOUT). A call's request is collected
 * until END_STREAM, then dispatched; replies are queued in the call's output buffer and
 * sent by a data provider that defers while a stream has nothing to say. */
#define _GNU_SOURCE
#include "control/grpc.h"
#include "control/tcp_listen.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <nghttp2/nghttp2.h>

#define TAG_TCP_LISTENER 1
#define TAG_UNIX_LISTENER 2

typedef struct conn conn_t;

struct md_grpc_call {
    conn_t *conn;
    int32_t stream_id;
    char path[128];
    int path_ok;               /* :path fit in path[] */
    int is_post;
    int content_type_ok;
    int authorized;
    int too_big;
    uint8_t *req;
    size_t req_len, req_cap;
    /* Output: framed messages waiting to be sent, then trailers. */
    uint8_t *out;
    size_t out_off, out_len, out_cap;
    int responded;             /* response HEADERS submitted */
    int streaming;             /* handed to the application */
    int finishing;             /* trailers go after out is empty */
    int finished;              /* trailers submitted */
    md_grpc_status_t status;
    char message[256];
    conn_t *list_owner;
    md_grpc_call_t *next;      /* in conn->calls */
};

struct conn {
    md_grpc_server_t *srv;
    uint32_t id;               /* md_grpc_reply_t.conn: unique, never 0 */
    int fd;
    int is_tcp;
    int want_out;              /* EPOLLOUT registered */
    /* What nghttp2 produced and the socket has not taken yet: collected from
     * nghttp2_session_mem_send() and written with one send() per pass. */
    uint8_t *out;
    size_t out_off, out_len, out_cap;
    int closing;
    nghttp2_session *session;
    md_grpc_call_t *calls;
    conn_t *next;
};

struct md_grpc_server {
    md_grpc_config_t cfg;
    int ep;
    int tcp_fd, unix_fd;
    uint16_t tcp_port;
    char *unix_path;
    char *token;
    unsigned n_conns;
    conn_t *conns;
    uint32_t last_conn_id;
    int stopping;              /* md_grpc_stop(): connections close without 'closed' */
};

static int fail(char *err, size_t errlen, int code, const char *fmt, const char *arg)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, fmt, arg, strerror(-code));
    return code;
}

void md_grpc_percent_encode(const char *in, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    if (outlen == 0)
        return;
    for (const unsigned char *p = (const unsigned char *)in; *p != '\0'; p++) {
        if (*p >= 0x20 && *p <= 0x7E && *p != '%') {
            if (o + 1 >= outlen)
                break;
            out[o++] = (char)*p;
        } else {
            if (o + 3 >= outlen)
                break;
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
}

/* ---- buffers ---- */

static int buf_append(uint8_t **buf, size_t *len, size_t *cap, const uint8_t *data, size_t n)
{
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < *len + n)
            c *= 2;
        uint8_t *b = realloc(*buf, c);
        if (b == NULL)
            return -ENOMEM;
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    return 0;
}

/* Appends one length-prefixed gRPC message to the call's output. */
static int queue_message(md_grpc_call_t *c, const uint8_t *msg, size_t len)
{
    uint8_t hdr[5] = { 0, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                       (uint8_t)len };
    if (c->out_off > 0 && c->out_off == c->out_len) {
        c->out_off = 0;
        c->out_len = 0;
    }
    if (buf_append(&c->out, &c->out_len, &c->out_cap, hdr, 5) != 0)
        return -ENOMEM;
    if (len > 0 && buf_append(&c->out, &c->out_len, &c->out_cap, msg, len) != 0) {
        c->out_len -= 5;
        return -ENOMEM;
    }
    return 0;
}

/* ---- epoll ---- */

static void watch(md_grpc_server_t *s, conn_t *c)
{
    int want = c->out_off < c->out_len;
    if (want == c->want_out)
        return;
    struct epoll_event ev = { .events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c };
    epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = want;
}

/* ---- responses ---- */

static ssize_t read_out(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
                        uint32_t *data_flags, nghttp2_data_source *source, void *user_data)
{
    (void)session;
    (void)user_data;
    md_grpc_call_t *c = source->ptr;
    size_t avail = c->out_len - c->out_off;
    if (avail > 0) {
        size_t n = avail < length ? avail : length;
        memcpy(buf, c->out + c->out_off, n);
        c->out_off += n;
        return (ssize_t)n;
    }
    if (!c->finishing)
        return NGHTTP2_ERR_DEFERRED;
    /* Everything sent: the trailers end the stream. */
    char status[8], msg[3 * sizeof(c->message) + 1];
    snprintf(status, sizeof(status), "%d", (int)c->status);
    md_grpc_percent_encode(c->message, msg, sizeof(msg));
    nghttp2_nv trailers[2] = {
        { (uint8_t *)"grpc-status", (uint8_t *)status, 11, strlen(status), NGHTTP2_NV_FLAG_NONE },
        { (uint8_t *)"grpc-message", (uint8_t *)msg, 12, strlen(msg), NGHTTP2_NV_FLAG_NONE },
    };
    *data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
    nghttp2_submit_trailer(c->conn->session, stream_id, trailers, msg[0] ? 2 : 1);
    c->finished = 1;
    return 0;
}

#define NV(name, value) \
    { (uint8_t *)(name), (uint8_t *)(value), sizeof(name) - 1, strlen(value), NGHTTP2_NV_FLAG_NONE }

/* Response headers with a data provider: messages follow, trailers at the end. */
static void respond_open(md_grpc_call_t *c)
{
    nghttp2_nv hdrs[] = { NV(":status", "200"), NV("content-type", "application/grpc") };
    nghttp2_data_provider prd = { .source.ptr = c, .read_callback = read_out };
    nghttp2_submit_response(c->conn->session, c->stream_id, hdrs, 2, &prd);
    c->responded = 1;
}

/* An error with no messages: a "trailers-only" response (one HEADERS frame). */
static void respond_error(md_grpc_call_t *c, md_grpc_status_t st, const char *message)
{
    char status[8], msg[3 * 256 + 1];
    snprintf(status, sizeof(status), "%d", (int)st);
    md_grpc_percent_encode(message != NULL ? message : "", msg, sizeof(msg));
    nghttp2_nv hdrs[] = { NV(":status", "200"), NV("content-type", "application/grpc"),
                          NV("grpc-status", status), NV("grpc-message", msg) };
    nghttp2_submit_response(c->conn->session, c->stream_id, hdrs, msg[0] ? 4 : 3, NULL);
    c->responded = 1;
    c->finished = 1;
}

static void respond_http(md_grpc_call_t *c, const char *http_status)
{
    nghttp2_nv hdrs[] = { NV(":status", http_status) };
    nghttp2_submit_response(c->conn->session, c->stream_id, hdrs, 1, NULL);
    c->responded = 1;
    c->finished = 1;
}

/* Constant-time comparison, so the token cannot be guessed byte by byte from timing. */
static int same_secret(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    unsigned diff = alen != blen;
    for (size_t i = 0; i < alen; i++)
        diff |= (unsigned char)a[i] ^ (unsigned char)b[i % (blen ? blen : 1)];
    return diff == 0;
}

static void dispatch(md_grpc_call_t *c)
{
    md_grpc_server_t *s = c->conn->srv;
    if (!c->is_post || !c->path_ok) {
        respond_http(c, c->is_post ? "404" : "405");
        return;
    }
    if (!c->content_type_ok) {
        respond_http(c, "415");
        return;
    }
    if (c->conn->is_tcp && !c->authorized) {
        respond_error(c, MD_GRPC_UNAUTHENTICATED,
                      "missing or wrong bearer token in the authorization metadata");
        return;
    }
    const md_grpc_method_t *m = NULL;
    for (unsigned i = 0; i < s->cfg.n_methods; i++)
        if (strcmp(s->cfg.methods[i].path, c->path) == 0)
            m = &s->cfg.methods[i];
    if (m == NULL) {
        char msg[200];
        snprintf(msg, sizeof(msg), "unknown method %s", c->path);
        respond_error(c, MD_GRPC_UNIMPLEMENTED, msg);
        return;
    }
    if (c->too_big) {
        char msg[100];
        snprintf(msg, sizeof(msg), "request message larger than %zu bytes", s->cfg.max_message);
        respond_error(c, MD_GRPC_RESOURCE_EXHAUSTED, msg);
        return;
    }
    /* Exactly one message: flag, 4-byte length, body. */
    if (c->req_len < 5) {
        respond_error(c, MD_GRPC_INVALID_ARGUMENT, "no request message");
        return;
    }
    if (c->req[0] != 0) {
        respond_error(c, MD_GRPC_UNIMPLEMENTED, "compressed messages are not supported");
        return;
    }
    size_t mlen = ((size_t)c->req[1] << 24) | ((size_t)c->req[2] << 16) |
                  ((size_t)c->req[3] << 8) | c->req[4];
    if (mlen != c->req_len - 5) {
        respond_error(c, MD_GRPC_INVALID_ARGUMENT,
                      "request framing: length prefix does not match the body (one message per call)");
        return;
    }
    md_grpc_reply_t reply;
    memset(&reply, 0, sizeof(reply));
    reply.conn = c->conn->id;
    if (m->unary != NULL) {
        m->unary(s->cfg.app, c->req + 5, mlen, &reply);
        if (reply.status != MD_GRPC_OK) {
            respond_error(c, reply.status, reply.message);
        } else if (queue_message(c, reply.buf, reply.len) != 0) {
            respond_error(c, MD_GRPC_RESOURCE_EXHAUSTED, "out of memory for the reply");
        } else {
            c->finishing = 1;
            c->status = MD_GRPC_OK;
            respond_open(c);
        }
        free(reply.buf);
        return;
    }
    c->streaming = 1;
    m->stream(s->cfg.app, c, c->req + 5, mlen, &reply);
    free(reply.buf);
    if (reply.status != MD_GRPC_OK) {
        c->streaming = 0;
        respond_error(c, reply.status, reply.message);
        return;
    }
    respond_open(c);
}

/* ---- nghttp2 callbacks ---- */

/* Writes what the session has to send: gathers nghttp2's output (up to 64 KiB at a
 * time) and hands it to the socket in one send(). Returns 0 (possibly with output left
 * for EPOLLOUT) or -1 if the connection is broken. */
static int conn_flush(conn_t *c)
{
    for (;;) {
        while (c->out_off < c->out_len) {
            ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
            if (n < 0)
                return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
            c->out_off += (size_t)n;
        }
        c->out_off = c->out_len = 0;
        while (c->out_len < 65536) {
            const uint8_t *data;
            ssize_t k = nghttp2_session_mem_send(c->session, &data);
            if (k < 0)
                return -1;
            if (k == 0)
                break;
            if (buf_append(&c->out, &c->out_len, &c->out_cap, data, (size_t)k) != 0)
                return -1;
        }
        if (c->out_len == 0)
            return 0;
    }
}

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    conn_t *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    md_grpc_call_t *call = calloc(1, sizeof(*call));
    if (call == NULL)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    call->conn = c;
    call->stream_id = frame->hd.stream_id;
    call->next = c->calls;
    c->calls = call;
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, call);
    return 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data)
{
    (void)flags;
    conn_t *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    md_grpc_call_t *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (call == NULL)
        return 0;
    if (namelen == 5 && memcmp(name, ":path", 5) == 0) {
        call->path_ok = valuelen < sizeof(call->path);
        if (call->path_ok) {
            memcpy(call->path, value, valuelen);
            call->path[valuelen] = '\0';
        }
    } else if (namelen == 7 && memcmp(name, ":method", 7) == 0) {
        call->is_post = valuelen == 4 && memcmp(value, "POST", 4) == 0;
    } else if (namelen == 12 && memcmp(name, "content-type", 12) == 0) {
        call->content_type_ok = valuelen >= 16 && memcmp(value, "application/grpc", 16) == 0 &&
                                (valuelen == 16 || value[16] == '+' || value[16] == ';');
    } else if (namelen == 13 && memcmp(name, "authorization", 13) == 0 && c->srv->token != NULL) {
        call->authorized = valuelen > 7 && memcmp(value, "Bearer ", 7) == 0 &&
                           same_secret((const char *)value + 7, valuelen - 7, c->srv->token);
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *user_data)
{
    (void)flags;
    (void)user_data;
    md_grpc_call_t *call = nghttp2_session_get_stream_user_data(session, stream_id);
    if (call == NULL || call->too_big)
        return 0;
    size_t limit = call->conn->srv->cfg.max_message + 5;
    if (call->req_len + len > limit) {
        /* Keep nothing more: the call gets RESOURCE_EXHAUSTED at END_STREAM. */
        call->too_big = 1;
        free(call->req);
        call->req = NULL;
        call->req_len = call->req_cap = 0;
        return 0;
    }
    if (buf_append(&call->req, &call->req_len, &call->req_cap, data, len) != 0)
        call->too_big = 1;
    return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    (void)user_data;
    if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
        !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    md_grpc_call_t *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (call != NULL && !call->responded)
        dispatch(call);
    return 0;
}

static void free_call(md_grpc_call_t *call)
{
    free(call->req);
    free(call->out);
    free(call);
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user_data)
{
    (void)error_code;
    conn_t *c = user_data;
    md_grpc_call_t *call = nghttp2_session_get_stream_user_data(session, stream_id);
    if (call == NULL)
        return 0;
    if (call->streaming && c->srv->cfg.gone != NULL)
        c->srv->cfg.gone(c->srv->cfg.app, call);
    for (md_grpc_call_t **pp = &c->calls; *pp != NULL; pp = &(*pp)->next)
        if (*pp == call) {
            *pp = call->next;
            break;
        }
    nghttp2_session_set_stream_user_data(session, stream_id, NULL);
    free_call(call);
    return 0;
}

/* ---- connections ---- */

static void close_conn(md_grpc_server_t *s, conn_t *c)
{
    /* The application lets go of its streams here, and the session forgets the calls
     * before it is deleted, so no callback can reach a freed call. */
    md_grpc_call_t *call = c->calls;
    while (call != NULL) {
        md_grpc_call_t *next = call->next;
        nghttp2_session_set_stream_user_data(c->session, call->stream_id, NULL);
        if (call->streaming && s->cfg.gone != NULL)
            s->cfg.gone(s->cfg.app, call);
        free_call(call);
        call = next;
    }
    c->calls = NULL;
    /* What the client's requests tied to this connection is let go (ACD agents and
     * calls, docs/acd.md); other connections are served meanwhile as usual. */
    if (!s->stopping && s->cfg.closed != NULL)
        s->cfg.closed(s->cfg.app, c->id);
    nghttp2_session_del(c->session);
    epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->out);
    for (conn_t **pp = &s->conns; *pp != NULL; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    s->n_conns--;
    free(c);
}

static void accept_conn(md_grpc_server_t *s, int lfd, int is_tcp)
{
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    if (s->n_conns >= s->cfg.max_connections) {
        close(fd);   /* the client sees the connection closed and may retry later */
        return;
    }
    if (is_tcp) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    conn_t *c = calloc(1, sizeof(*c));
    nghttp2_session_callbacks *cb = NULL;
    if (c == NULL || nghttp2_session_callbacks_new(&cb) != 0) {
        free(c);
        close(fd);
        return;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    c->srv = s;
    c->fd = fd;
    c->is_tcp = is_tcp;
    /* 2^32 - 1 connections before an id could come back; 0 is never one. */
    if (++s->last_conn_id == 0)
        s->last_conn_id = 1;
    c->id = s->last_conn_id;
    int rc = nghttp2_session_server_new(&c->session, cb, c);
    nghttp2_session_callbacks_del(cb);
    if (rc != 0) {
        free(c);
        close(fd);
        return;
    }
    /* The server speaks first: SETTINGS with our limits. */
    nghttp2_settings_entry iv[] = {
        { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, s->cfg.max_streams },
        { NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 16384 },
    };
    nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, 2);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        nghttp2_session_del(c->session);
        free(c);
        close(fd);
        return;
    }
    c->next = s->conns;
    s->conns = c;
    s->n_conns++;
    conn_flush(c);
    watch(s, c);
}

/* Reads what the socket has; 0, or -1 if the connection is to be closed. */
static int conn_read(conn_t *c)
{
    uint8_t buf[16384];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n == 0)
            return -1;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        if (nghttp2_session_mem_recv(c->session, buf, (size_t)n) < 0)
            return -1;   /* a protocol error: nghttp2 has queued GOAWAY; we just close */
    }
}

static int conn_alive(conn_t *c)
{
    return nghttp2_session_want_read(c->session) || nghttp2_session_want_write(c->session) ||
           c->out_off < c->out_len;
}

/* ---- listeners ---- */

static int listen_tcp(md_grpc_server_t *s, char *err, size_t errlen)
{
    int fd = md_tcp_listen(s->cfg.tcp_host, s->cfg.tcp_port, "API TCP", &s->tcp_port, err, errlen);
    if (fd < 0)
        return fd;
    s->tcp_fd = fd;
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_TCP_LISTENER };
    epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev);
    return 0;
}

static int listen_unix(md_grpc_server_t *s, char *err, size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(s->cfg.unix_path) >= sizeof(sa.sun_path))
        return fail(err, errlen, -ENAMETOOLONG, "API socket path %s: %s", s->cfg.unix_path);
    strcpy(sa.sun_path, s->cfg.unix_path);
    /* A socket file left by a process that died is replaced; any other file is not. */
    struct stat st;
    if (lstat(sa.sun_path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return fail(err, errlen, -EEXIST, "API socket path %s exists and is not a socket: %s",
                        s->cfg.unix_path);
        unlink(sa.sun_path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        chmod(sa.sun_path, s->cfg.unix_mode) != 0 || listen(fd, 64) != 0) {
        int e = -errno;
        if (fd >= 0)
            close(fd);
        return fail(err, errlen, e, "API socket %s: %s", s->cfg.unix_path);
    }
    s->unix_fd = fd;
    s->unix_path = strdup(s->cfg.unix_path);
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_UNIX_LISTENER };
    epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev);
    return 0;
}

int md_grpc_start(md_grpc_server_t **out, const md_grpc_config_t *cfg, char *err, size_t errlen)
{
    *out = NULL;
    if (cfg->tcp_host == NULL && cfg->unix_path == NULL) {
        snprintf(err, errlen, "no API listener configured (neither TCP nor a Unix socket)");
        return -EINVAL;
    }
    if (cfg->tcp_host != NULL && (cfg->token == NULL || cfg->token[0] == '\0')) {
        snprintf(err, errlen, "the API on TCP needs a bearer token (none configured)");
        return -EINVAL;
    }
    md_grpc_server_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->cfg = *cfg;
    if (s->cfg.max_message == 0)
        s->cfg.max_message = 1 << 20;
    if (s->cfg.max_streams == 0)
        s->cfg.max_streams = 32;
    if (s->cfg.max_connections == 0)
        s->cfg.max_connections = 64;
    if (s->cfg.stream_queue == 0)
        s->cfg.stream_queue = 256 * 1024;
    s->tcp_fd = s->unix_fd = -1;
    s->token = cfg->token != NULL ? strdup(cfg->token) : NULL;
    s->ep = epoll_create1(EPOLL_CLOEXEC);
    int rc = s->ep < 0 ? -errno : 0;
    if (rc == 0 && cfg->tcp_host != NULL)
        rc = listen_tcp(s, err, errlen);
    if (rc == 0 && cfg->unix_path != NULL)
        rc = listen_unix(s, err, errlen);
    if (rc != 0) {
        md_grpc_stop(s);
        return rc;
    }
    *out = s;
    return 0;
}

uint16_t md_grpc_tcp_port(const md_grpc_server_t *s)
{
    return s->tcp_port;
}

int md_grpc_poll(md_grpc_server_t *s, int timeout_ms)
{
    struct epoll_event evs[32];
    int n = epoll_wait(s->ep, evs, 32, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        if (evs[i].data.u64 == TAG_TCP_LISTENER) {
            accept_conn(s, s->tcp_fd, 1);
            continue;
        }
        if (evs[i].data.u64 == TAG_UNIX_LISTENER) {
            accept_conn(s, s->unix_fd, 0);
            continue;
        }
        conn_t *c = evs[i].data.ptr;
        int bad = (evs[i].events & (EPOLLERR | EPOLLHUP)) && !(evs[i].events & EPOLLIN);
        if (!bad && (evs[i].events & EPOLLIN))
            bad = conn_read(c) != 0;
        if (!bad)
            bad = conn_flush(c) != 0;
        if (bad || !conn_alive(c))
            c->closing = 1;
    }
    /* Streams fed by the application since the last poll, and closes. */
    conn_t *c = s->conns;
    while (c != NULL) {
        conn_t *next = c->next;
        if (!c->closing && conn_flush(c) != 0)
            c->closing = 1;
        if (c->closing || !conn_alive(c))
            close_conn(s, c);
        else
            watch(s, c);
        c = next;
    }
    return 0;
}

int md_grpc_stream_send(md_grpc_call_t *call, const uint8_t *msg, size_t len)
{
    if (call->finishing || call->finished)
        return -EPIPE;
    if (call->out_len - call->out_off + len + 5 > call->conn->srv->cfg.stream_queue)
        return -ENOBUFS;
    if (queue_message(call, msg, len) != 0)
        return -ENOBUFS;
    nghttp2_session_resume_data(call->conn->session, call->stream_id);
    return 0;
}

void md_grpc_stream_finish(md_grpc_call_t *call, md_grpc_status_t status, const char *message)
{
    if (call->finishing || call->finished)
        return;
    call->finishing = 1;
    call->status = status;
    snprintf(call->message, sizeof(call->message), "%s", message != NULL ? message : "");
    /* The application lets go of the call here; no 'gone' callback follows. */
    call->streaming = 0;
    nghttp2_session_resume_data(call->conn->session, call->stream_id);
}

size_t md_grpc_stream_queued(const md_grpc_call_t *call)
{
    return call->out_len - call->out_off;
}

void md_grpc_stop(md_grpc_server_t *s)
{
    if (s == NULL)
        return;
    s->stopping = 1;
    /* Open streams end with UNAVAILABLE, sent as far as the sockets take it now. */
    for (conn_t *c = s->conns; c != NULL; c = c->next) {
        for (md_grpc_call_t *call = c->calls; call != NULL; call = call->next)
            if (call->streaming) {
                if (s->cfg.gone != NULL)
                    s->cfg.gone(s->cfg.app, call);
                md_grpc_stream_finish(call, MD_GRPC_UNAVAILABLE, "medleyd is stopping");
            }
        nghttp2_submit_goaway(c->session, NGHTTP2_FLAG_NONE,
                              nghttp2_session_get_last_proc_stream_id(c->session),
                              NGHTTP2_NO_ERROR, NULL, 0);
        conn_flush(c);
    }
    while (s->conns != NULL)
        close_conn(s, s->conns);
    if (s->tcp_fd >= 0)
        close(s->tcp_fd);
    if (s->unix_fd >= 0) {
        close(s->unix_fd);
        unlink(s->unix_path);
    }
    if (s->ep >= 0)
        close(s->ep);
    free(s->unix_path);
    free(s->token);
    free(s);
}
