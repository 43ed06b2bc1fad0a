/* A small gRPC client over HTTP/2 (nghttp2), for medleyctl and the API benchmark.
 *
 * One md_gc_t is one connection (a Unix socket or TCP) with its nghttp2 client session,
 * driven by poll() on a non-blocking socket: no threads of its own. Calls are started
 * with md_gc_call_start() (any number, pipelined on the connection; nghttp2 holds back
 * those beyond the server's concurrent-stream limit) and progress in md_gc_run(), which
 * reports each response message and each call's end through callbacks. md_gc_unary() is
 * the blocking convenience for one request and one reply.
 *
 * It does the transport: the 5-byte gRPC message framing, the request headers (with
 * "authorization: Bearer <token>" when a token is given), grpc-status and grpc-message
 * from trailers or from a trailers-only response, HTTP errors and resets mapped to gRPC
 * codes as the gRPC spec says. Messages are opaque bytes here. */
#ifndef MD_TOOLS_GRPC_CLIENT_H
#define MD_TOOLS_GRPC_CLIENT_H

#include <stddef.h>
#include <stdint.h>

/* gRPC status codes (the same numbers as control/grpc.h's md_grpc_status_t). */
enum {
    MD_GC_OK = 0,
    MD_GC_CANCELLED = 1,
    MD_GC_UNKNOWN = 2,
    MD_GC_INVALID_ARGUMENT = 3,
    MD_GC_DEADLINE_EXCEEDED = 4,
    MD_GC_NOT_FOUND = 5,
    MD_GC_ALREADY_EXISTS = 6,
    MD_GC_PERMISSION_DENIED = 7,
    MD_GC_RESOURCE_EXHAUSTED = 8,
    MD_GC_FAILED_PRECONDITION = 9,
    MD_GC_ABORTED = 10,
    MD_GC_OUT_OF_RANGE = 11,
    MD_GC_UNIMPLEMENTED = 12,
    MD_GC_INTERNAL = 13,
    MD_GC_UNAVAILABLE = 14,
    MD_GC_DATA_LOSS = 15,
    MD_GC_UNAUTHENTICATED = 16,
};

/* "NOT_FOUND" for 5; "UNKNOWN_STATUS" outside 0-16. */
const char *md_gc_status_name(int status);

typedef struct md_gc md_gc_t;

/* Where to connect: unix_path, or tcp_host and tcp_port. token (may be NULL) is sent as
 * a bearer token on every call. */
typedef struct {
    const char *unix_path;
    const char *tcp_host;      /* a name or address; "[::1]" brackets are accepted */
    const char *tcp_port;      /* a number, as text */
    const char *token;
    size_t max_message;        /* response messages above this end the call; 0: 16 MiB */
} md_gc_target_t;

/* The end of a call: a gRPC status and its (percent-decoded) message. */
typedef struct {
    int status;
    char message[512];
} md_gc_status_t;

/* A response message arrived (the bytes are valid during the callback only). Return 0 to
 * go on, anything else to cancel the call (it then ends with CANCELLED). */
typedef int (*md_gc_msg_fn)(void *arg, const uint8_t *msg, size_t len);
/* The call ended; called exactly once per started call, and the call is gone after. */
typedef void (*md_gc_done_fn)(void *arg, const md_gc_status_t *st);

/* Connects (blocking, at most timeout_ms; <= 0: no limit) and sends the HTTP/2 preface
 * and SETTINGS. Returns 0 or a negative errno code with a message in err. */
int md_gc_connect(md_gc_t **out, const md_gc_target_t *t, int timeout_ms, char *err,
                  size_t errlen);

/* Starts a call: path such as "/medley.v1.Engine/GetStats", one request message. The
 * callbacks and arg stay with the call until done is called. Returns the HTTP/2 stream
 * id (> 0) or a negative errno code (-EPIPE when the connection is gone). Nothing is
 * written until md_gc_run() or md_gc_flush(). */
int32_t md_gc_call_start(md_gc_t *c, const char *path, const uint8_t *req, size_t len,
                         md_gc_msg_fn on_msg, md_gc_done_fn on_done, void *arg);

/* Cancels a call (RST_STREAM CANCEL); its done callback follows with CANCELLED. */
void md_gc_call_cancel(md_gc_t *c, int32_t stream_id);

/* Writes what is queued, then waits up to timeout_ms (0: not at all, < 0: no limit) for
 * the socket and processes what arrived, calling the callbacks. Returns 0, -EINTR when a
 * signal interrupted the wait, or -EPIPE once the connection is gone (every call has
 * been ended with UNAVAILABLE then; err says why). */
int md_gc_run(md_gc_t *c, int timeout_ms);

/* Writes what is queued without waiting for input: 0 or -EPIPE. */
int md_gc_flush(md_gc_t *c);

/* The socket (for a caller's own poll() over several connections), and the events to
 * wait for on it (POLLIN, plus POLLOUT when output is pending). After poll() says the
 * socket is ready, call md_gc_run(c, 0). */
int md_gc_fd(const md_gc_t *c);
short md_gc_poll_events(const md_gc_t *c);

/* Calls started and not yet ended. */
unsigned md_gc_active(const md_gc_t *c);

/* Why the connection ended ("" while it is up). */
const char *md_gc_error(const md_gc_t *c);

/* Closes the connection; calls still open end with CANCELLED first. */
void md_gc_close(md_gc_t *c);

/* One request, one reply, waiting at most timeout_ms (< 0: no limit; on expiry the call
 * is cancelled and ends with DEADLINE_EXCEEDED). On OK, *reply is a malloc()ed buffer of
 * *reply_len bytes for the caller to free (a non-NULL buffer even for an empty message).
 * Returns the gRPC status (st has it too, with the message). */
int md_gc_unary(md_gc_t *c, const char *path, const uint8_t *req, size_t len, uint8_t **reply,
                size_t *reply_len, int timeout_ms, md_gc_status_t *st);

/* Decodes a grpc-message value (percent-encoding) into out, NUL-terminated, truncated to
 * outlen. Exposed for tests. */
void md_gc_percent_decode(const char *in, size_t inlen, char *out, size_t outlen);

#endif
