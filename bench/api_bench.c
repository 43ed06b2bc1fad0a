/* medley-api-bench: unary calls per second on medleyd's control thread, and their latency.
 *
 *   medley-api-bench [--socket PATH | --tcp HOST:PORT [--token-file FILE]]
 *                    [--connections M] [--streams N] [--seconds S] [--warmup S]
 *                    [--method stats|channel|mix] [--channel ID]
 *
 * N calls are kept in flight over M connections (N/M each, pipelined on one HTTP/2
 * connection): each call that ends starts the next one at once (a closed loop). The
 * calls are GetStats, GetChannel or both in turn (mix, the default); GetChannel asks for
 * a channel the bench creates (and deletes at the end) unless --channel names one. One
 * thread drives every connection with poll(), so the client costs one core at most.
 * After the warm-up, every call that ends within the measured window counts: calls/s and
 * the latency from the call's start to its last byte (p50, p99, p99.9, max). Any call
 * that does not end with OK makes the run fail (exit 1); a bad command line exits 2.
 * See docs/benchmarks.md. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/api/medley.pb-c.h"
#include "tools/grpc_client.h"

#define SVC "/medley.v1.Engine/"
#define CHECKED_REPLIES 1000   /* replies decoded and checked per method */

enum { M_STATS, M_CHANNEL };

typedef struct bench bench_t;

typedef struct {
    bench_t *b;
    unsigned conn;
    int method;
    uint64_t t0;
} slot_t;

struct bench {
    md_gc_t **conns;
    unsigned n_conns;
    slot_t *slots;
    unsigned n_slots;
    int mode;                  /* 0 stats, 1 channel, 2 mix */
    uint32_t channel;
    uint8_t chan_req[16];
    size_t chan_req_len;
    int running;               /* new calls are started */
    uint64_t window_start, window_end;
    uint64_t *lat;             /* ns, calls ended within the window */
    size_t n_lat, cap_lat;
    uint64_t calls[2], errors, bad_replies;
    uint64_t checked[2];
    char first_error[600];
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int start_call(slot_t *s);

static int on_msg(void *arg, const uint8_t *msg, size_t len)
{
    slot_t *s = arg;
    bench_t *b = s->b;
    if (b->checked[s->method] >= CHECKED_REPLIES)
        return 0;
    b->checked[s->method]++;
    int ok = 0;
    if (s->method == M_STATS) {
        Medley__V1__EngineStats *st = medley__v1__engine_stats__unpack(NULL, len, msg);
        ok = st != NULL && st->max_channels > 0 && st->workers > 0;
        if (st != NULL)
            medley__v1__engine_stats__free_unpacked(st, NULL);
    } else {
        Medley__V1__Channel *ch = medley__v1__channel__unpack(NULL, len, msg);
        ok = ch != NULL && ch->channel == b->channel && ch->local_port != 0;
        if (ch != NULL)
            medley__v1__channel__free_unpacked(ch, NULL);
    }
    if (!ok)
        b->bad_replies++;
    return 0;
}

static void on_done(void *arg, const md_gc_status_t *st)
{
    slot_t *s = arg;
    bench_t *b = s->b;
    uint64_t t = now_ns();
    if (st->status != MD_GC_OK) {
        if (b->errors++ == 0)
            snprintf(b->first_error, sizeof(b->first_error), "%s: %s",
                     md_gc_status_name(st->status), st->message);
    } else if (s->t0 >= b->window_start && t <= b->window_end) {
        b->calls[s->method]++;
        if (b->n_lat == b->cap_lat) {
            size_t nc = b->cap_lat ? b->cap_lat * 2 : 1 << 16;
            uint64_t *l = realloc(b->lat, nc * sizeof(*l));
            if (l != NULL) {
                b->lat = l;
                b->cap_lat = nc;
            }
        }
        if (b->n_lat < b->cap_lat)
            b->lat[b->n_lat++] = t - s->t0;
    }
    if (b->running && st->status == MD_GC_OK) {
        if (b->mode == 2)
            s->method = !s->method;
        start_call(s);
    }
}

static int start_call(slot_t *s)
{
    bench_t *b = s->b;
    static const uint8_t empty[1];
    s->t0 = now_ns();
    int32_t id;
    if (s->method == M_STATS)
        id = md_gc_call_start(b->conns[s->conn], SVC "GetStats", empty, 0, on_msg, on_done, s);
    else
        id = md_gc_call_start(b->conns[s->conn], SVC "GetChannel", b->chan_req, b->chan_req_len,
                              on_msg, on_done, s);
    if (id < 0) {
        if (b->errors++ == 0)
            snprintf(b->first_error, sizeof(b->first_error), "cannot start a call: %s",
                     strerror((int)-id));
        return -1;
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(p / 100.0 * (double)n);
    if (i >= n)
        i = n - 1;
    return (double)v[i] / 1000.0;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: medley-api-bench [--socket PATH | --tcp HOST:PORT [--token-file FILE]]\n"
            "                        [--connections M] [--streams N] [--seconds S] [--warmup S]\n"
            "                        [--method stats|channel|mix] [--channel ID]\n"
            "  N calls in flight over M connections (defaults 64 over 4), a closed loop;\n"
            "  the socket defaults to $MEDLEY_SOCKET or /run/medley/medleyd.sock\n");
    return 2;
}

static int num(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* A unary call on connection 0 for set-up and clean-up: 0 or -1 (printed). */
static int setup_call(md_gc_t *c, const char *method, const ProtobufCMessage *req,
                      uint8_t **reply, size_t *len)
{
    uint8_t buf[512];
    size_t n = protobuf_c_message_pack(req, buf);
    md_gc_status_t st;
    char path[100];
    snprintf(path, sizeof(path), SVC "%s", method);
    if (md_gc_unary(c, path, buf, n, reply, len, 5000, &st) != MD_GC_OK) {
        fprintf(stderr, "medley-api-bench: %s: %s: %s\n", method, md_gc_status_name(st.status),
                st.message);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *sock = NULL, *tcp = NULL, *token_file = NULL, *method = "mix";
    long conns = 4, streams = 64, seconds = 5, warmup = 1, channel = 0;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            return usage();
        if (strcmp(o, "--socket") == 0)
            sock = v;
        else if (strcmp(o, "--tcp") == 0)
            tcp = v;
        else if (strcmp(o, "--token-file") == 0)
            token_file = v;
        else if (strcmp(o, "--method") == 0)
            method = v;
        else if (strcmp(o, "--connections") == 0 && num(v, 1, 64, &conns) == 0)
            ;
        else if (strcmp(o, "--streams") == 0 && num(v, 1, 4096, &streams) == 0)
            ;
        else if (strcmp(o, "--seconds") == 0 && num(v, 1, 3600, &seconds) == 0)
            ;
        else if (strcmp(o, "--warmup") == 0 && num(v, 0, 600, &warmup) == 0)
            ;
        else if (strcmp(o, "--channel") == 0 && num(v, 1, 0xFFFFFFFFL, &channel) == 0)
            ;
        else
            return usage();
        i++;
    }
    bench_t b;
    memset(&b, 0, sizeof(b));
    if (strcmp(method, "stats") == 0)
        b.mode = 0;
    else if (strcmp(method, "channel") == 0)
        b.mode = 1;
    else if (strcmp(method, "mix") == 0)
        b.mode = 2;
    else
        return usage();
    if (streams < conns || (sock != NULL && tcp != NULL) || (token_file != NULL && tcp == NULL))
        return usage();

    md_gc_target_t t;
    memset(&t, 0, sizeof(t));
    char host[256], port[16], token[512] = "", where[300];
    if (tcp != NULL) {
        const char *colon = strrchr(tcp, ':');
        if (colon == NULL || colon == tcp || (size_t)(colon - tcp) >= sizeof(host))
            return usage();
        snprintf(host, sizeof(host), "%.*s", (int)(colon - tcp), tcp);
        snprintf(port, sizeof(port), "%s", colon + 1);
        t.tcp_host = host;
        t.tcp_port = port;
        if (token_file != NULL) {
            FILE *f = fopen(token_file, "r");
            if (f == NULL || fgets(token, sizeof(token), f) == NULL) {
                fprintf(stderr, "medley-api-bench: cannot read a token from %s\n", token_file);
                if (f != NULL)
                    fclose(f);
                return 2;
            }
            fclose(f);
            token[strcspn(token, "\r\n")] = '\0';
        } else if (getenv("MEDLEY_API_TOKEN") != NULL) {
            snprintf(token, sizeof(token), "%s", getenv("MEDLEY_API_TOKEN"));
        }
        t.token = token;
        snprintf(where, sizeof(where), "tcp %s", tcp);
    } else {
        if (sock == NULL)
            sock = getenv("MEDLEY_SOCKET");
        if (sock == NULL || sock[0] == '\0')
            sock = "/run/medley/medleyd.sock";
        t.unix_path = sock;
        snprintf(where, sizeof(where), "unix:%s", sock);
    }

    int status = 1, created = 0;
    b.n_conns = (unsigned)conns;
    b.n_slots = (unsigned)streams;
    b.conns = calloc(b.n_conns, sizeof(*b.conns));
    b.slots = calloc(b.n_slots, sizeof(*b.slots));
    struct pollfd *pfds = calloc(b.n_conns, sizeof(*pfds));
    if (b.conns == NULL || b.slots == NULL || pfds == NULL) {
        fprintf(stderr, "medley-api-bench: out of memory\n");
        goto out;
    }
    for (unsigned i = 0; i < b.n_conns; i++) {
        char err[300];
        if (md_gc_connect(&b.conns[i], &t, 5000, err, sizeof(err)) != 0) {
            fprintf(stderr, "medley-api-bench: %s\n", err);
            goto out;
        }
    }
    /* The channel GetChannel asks for. */
    if (b.mode != 0) {
        if (channel == 0) {
            Medley__V1__CreateChannelRequest req = MEDLEY__V1__CREATE_CHANNEL_REQUEST__INIT;
            req.codec = MEDLEY__V1__CODEC__PCMU;
            req.tag = "api-bench";
            uint8_t *reply;
            size_t len;
            if (setup_call(b.conns[0], "CreateChannel", &req.base, &reply, &len) != 0)
                goto out;
            Medley__V1__Channel *ch = medley__v1__channel__unpack(NULL, len, reply);
            free(reply);
            if (ch == NULL) {
                fprintf(stderr, "medley-api-bench: CreateChannel: a bad reply\n");
                goto out;
            }
            channel = ch->channel;
            medley__v1__channel__free_unpacked(ch, NULL);
            created = 1;
        }
        Medley__V1__ChannelRef ref = MEDLEY__V1__CHANNEL_REF__INIT;
        ref.channel = (uint32_t)channel;
        b.channel = (uint32_t)channel;
        b.chan_req_len = protobuf_c_message_pack(&ref.base, b.chan_req);
    }

    printf("medley-api-bench: %s, %u connection%s, %u calls in flight, %s, %lds (+%lds warm-up)\n",
           where, b.n_conns, b.n_conns == 1 ? "" : "s", b.n_slots,
           b.mode == 0 ? "GetStats" : b.mode == 1 ? "GetChannel" : "GetStats and GetChannel in turn",
           seconds, warmup);
    fflush(stdout);
    uint64_t t0 = now_ns();
    b.window_start = t0 + (uint64_t)warmup * 1000000000u;
    b.window_end = b.window_start + (uint64_t)seconds * 1000000000u;
    b.running = 1;
    for (unsigned i = 0; i < b.n_slots; i++) {
        b.slots[i].b = &b;
        b.slots[i].conn = i % b.n_conns;
        b.slots[i].method = b.mode == 1 ? M_CHANNEL : b.mode == 2 ? (int)(i & 1) : M_STATS;
        if (start_call(&b.slots[i]) != 0)
            goto report;
    }
    for (unsigned i = 0; i < b.n_conns; i++)
        md_gc_flush(b.conns[i]);
    /* The loop: every connection in one poll(); stop starting calls at the window's end,
     * then let the calls in flight finish. */
    uint64_t drain_deadline = b.window_end + 5000000000u;
    for (;;) {
        uint64_t now = now_ns();
        if (b.running && (now >= b.window_end || b.errors > 0))
            b.running = 0;
        unsigned active = 0;
        for (unsigned i = 0; i < b.n_conns; i++)
            active += md_gc_active(b.conns[i]);
        if (!b.running && (active == 0 || now >= drain_deadline))
            break;
        for (unsigned i = 0; i < b.n_conns; i++) {
            pfds[i].fd = md_gc_fd(b.conns[i]);
            pfds[i].events = md_gc_poll_events(b.conns[i]);
        }
        int n = poll(pfds, b.n_conns, 100);
        if (n < 0 && errno != EINTR)
            break;
        for (unsigned i = 0; n > 0 && i < b.n_conns; i++)
            if (pfds[i].revents != 0 && md_gc_run(b.conns[i], 0) == -EPIPE && b.errors == 0) {
                b.errors++;
                snprintf(b.first_error, sizeof(b.first_error), "connection %u: %s", i,
                         md_gc_error(b.conns[i]));
            }
    }

report:
    if (b.n_lat > 0)
        qsort(b.lat, b.n_lat, sizeof(*b.lat), cmp_u64);
    double secs = (double)(b.window_end - b.window_start) / 1e9;
    uint64_t total = b.calls[0] + b.calls[1];
    printf("calls: %llu (GetStats %llu, GetChannel %llu), errors %llu, bad replies %llu\n",
           (unsigned long long)total, (unsigned long long)b.calls[0],
           (unsigned long long)b.calls[1], (unsigned long long)b.errors,
           (unsigned long long)b.bad_replies);
    printf("calls/s: %.0f\n", (double)total / secs);
    printf("latency us: p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n", pct(b.lat, b.n_lat, 50),
           pct(b.lat, b.n_lat, 99), pct(b.lat, b.n_lat, 99.9),
           b.n_lat ? (double)b.lat[b.n_lat - 1] / 1000.0 : 0.0);
    if (b.errors > 0)
        fprintf(stderr, "medley-api-bench: %llu failed call(s), the first: %s\n",
                (unsigned long long)b.errors, b.first_error);
    if (b.bad_replies > 0)
        fprintf(stderr, "medley-api-bench: %llu reply(ies) with wrong content\n",
                (unsigned long long)b.bad_replies);
    status = b.errors == 0 && b.bad_replies == 0 && total > 0 ? 0 : 1;
    if (created) {
        Medley__V1__ChannelRef ref = MEDLEY__V1__CHANNEL_REF__INIT;
        ref.channel = b.channel;
        uint8_t *reply;
        size_t len;
        if (setup_call(b.conns[0], "DeleteChannel", &ref.base, &reply, &len) == 0)
            free(reply);
        else
            status = 1;
    }
out:
    for (unsigned i = 0; b.conns != NULL && i < b.n_conns; i++)
        md_gc_close(b.conns[i]);
    free(b.conns);
    free(b.slots);
    free(b.lat);
    free(pfds);
    return status;
}
