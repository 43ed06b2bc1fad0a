/* A small gRPC server over HTTP/2 (nghttp2): unary and server-streaming calls, on TCP
 * and on a Unix socket, driven by the control thread's poll loop (no threads of its own).
 *
 * It does the transport and nothing else: HTTP/2 sessions, the 5-byte gRPC message
 * framing, the bearer token on TCP, limits (message size, concurrent streams,
 * connections, bytes queued per stream), real grpc-status trailers. The methods are the
 * application's (control/api.c); messages are opaque bytes here. */
#ifndef MD_CONTROL_GRPC_H
#define MD_CONTROL_GRPC_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    MD_GRPC_OK = 0,
    MD_GRPC_CANCELLED = 1,
    MD_GRPC_UNKNOWN = 2,
    MD_GRPC_INVALID_ARGUMENT = 3,
    MD_GRPC_DEADLINE_EXCEEDED = 4,
    MD_GRPC_NOT_FOUND = 5,
    MD_GRPC_ALREADY_EXISTS = 6,
    MD_GRPC_PERMISSION_DENIED = 7,
    MD_GRPC_RESOURCE_EXHAUSTED = 8,
    MD_GRPC_FAILED_PRECONDITION = 9,
    MD_GRPC_ABORTED = 10,
    MD_GRPC_OUT_OF_RANGE = 11,
    MD_GRPC_UNIMPLEMENTED = 12,
    MD_GRPC_INTERNAL = 13,
    MD_GRPC_UNAVAILABLE = 14,
    MD_GRPC_DATA_LOSS = 15,
    MD_GRPC_UNAUTHENTICATED = 16,
} md_grpc_status_t;

typedef struct md_grpc_server md_grpc_server_t;
typedef struct md_grpc_call md_grpc_call_t;

/* A reply being built by a handler: the handler sets either a message (packed into buf,
 * a malloc()ed buffer the server frees) or a status other than OK with text. The server
 * fills in conn before the handler runs: the id of the connection the request came on
 * (unique per connection while the server runs, never 0), so the application can tie
 * what a request creates to the client that asked (see md_grpc_closed_fn). */
typedef struct {
    md_grpc_status_t status;
    char message[256];
    uint8_t *buf;
    size_t len;
    uint32_t conn;
} md_grpc_reply_t;

typedef void (*md_grpc_unary_fn)(void *app, const uint8_t *req, size_t len,
                                 md_grpc_reply_t *reply);
/* Starts a server-streaming call. Return with reply->status OK to keep the stream open
 * (then send with md_grpc_stream_send() and end with md_grpc_stream_finish()), or with
 * an error to end it at once. */
typedef void (*md_grpc_stream_fn)(void *app, md_grpc_call_t *call, const uint8_t *req,
                                  size_t len, md_grpc_reply_t *reply);
/* A stream the application holds went away (client cancelled or disconnected, or the
 * server stopped); the call handle is invalid after this returns. */
typedef void (*md_grpc_gone_fn)(void *app, md_grpc_call_t *call);
/* A client's connection closed (the peer went away, a protocol error, or a broken
 * socket), after its streams' gone callbacks: conn is the id its requests carried in
 * md_grpc_reply_t.conn and is never given to another connection. Not called for the
 * connections md_grpc_stop() closes. */
typedef void (*md_grpc_closed_fn)(void *app, uint32_t conn);

typedef struct {
    const char *path;          /* "/medley.v1.Engine/CreateChannel" */
    md_grpc_unary_fn unary;    /* one of the two */
    md_grpc_stream_fn stream;
} md_grpc_method_t;

typedef struct {
    const char *tcp_host;      /* NULL: no TCP listener */
    uint16_t tcp_port;         /* 0: any free port (see md_grpc_tcp_port()) */
    const char *unix_path;     /* NULL: no Unix socket */
    unsigned unix_mode;        /* permissions of the socket file, e.g. 0660 */
    const char *token;         /* required on TCP; NULL refuses to listen on TCP */
    size_t max_message;        /* request messages above this: RESOURCE_EXHAUSTED */
    unsigned max_streams;      /* concurrent streams per connection */
    unsigned max_connections;
    size_t stream_queue;       /* bytes queued per stream before md_grpc_stream_send() refuses */
    const md_grpc_method_t *methods;
    unsigned n_methods;
    void *app;
    md_grpc_gone_fn gone;
    md_grpc_closed_fn closed;  /* NULL: not told */
} md_grpc_config_t;

/* Listens. Returns 0 or a negative errno code with a message in err. */
int md_grpc_start(md_grpc_server_t **out, const md_grpc_config_t *cfg, char *err, size_t errlen);

/* Waits up to timeout_ms for sockets to be ready and serves them. Returns 0 or -errno. */
int md_grpc_poll(md_grpc_server_t *s, int timeout_ms);

/* Queues one message on a server stream. -ENOBUFS when the stream's queue is full (the
 * client is not reading): the caller counts the loss. -EPIPE if the call has ended. */
int md_grpc_stream_send(md_grpc_call_t *call, const uint8_t *msg, size_t len);

/* Ends a server stream with a status after what is queued. */
void md_grpc_stream_finish(md_grpc_call_t *call, md_grpc_status_t status, const char *message);

/* Bytes queued on a stream and not yet sent. */
size_t md_grpc_stream_queued(const md_grpc_call_t *call);

/* The TCP port actually bound (useful with tcp_port 0). */
uint16_t md_grpc_tcp_port(const md_grpc_server_t *s);

/* Ends every call (UNAVAILABLE), closes every connection and the listeners. */
void md_grpc_stop(md_grpc_server_t *s);

/* Percent-encodes a grpc-message value (the spec's escaping), into out (NUL-terminated,
 * truncated to outlen). Exposed for tests. */
void md_grpc_percent_encode(const char *in, char *out, size_t outlen);

#endif
