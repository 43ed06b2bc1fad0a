/* medleyctl: the operators' command line for medleyd's gRPC API (control/api/medley.proto).
 *
 *   medleyctl [--socket PATH | --tcp HOST:PORT [--token-file FILE]] [--timeout MS] COMMAND ...
 *
 * The Unix socket is the default (/run/medley/medleyd.sock, or $MEDLEY_SOCKET); on TCP
 * the bearer token comes from --token-file (its first line) or $MEDLEY_API_TOKEN.
 * A call that fails prints the gRPC status name and message on stderr and exits 1; a bad
 * command line exits 2. See docs/medleyctl.md. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include "control/api/medley.pb-c.h"
#include "tools/grpc_client.h"
#include "control/flow.h"
#include "control/kpi_store.h"

#define DEFAULT_SOCKET "/run/medley/medleyd.sock"
#define SVC "/medley.v1.Engine/"
#define EXIT_FAIL 1
#define EXIT_USAGE 2

typedef struct {
    md_gc_target_t target;
    char token[512];
    char tcp_host[256];
    char tcp_port[16];
    int timeout_ms;
    md_gc_t *conn;             /* opened by the first command that needs it */
} ctl_t;

/* One command: argv[0] is its name. Returns the exit status. Commands that need no
 * engine (a local file check) simply never call conn(). */
typedef struct {
    const char *name;
    const char *args;
    const char *help;
    int (*run)(ctl_t *x, int argc, char **argv);
} ctl_cmd_t;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "medleyctl: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    return EXIT_USAGE;
}

static int cmd_usage(const ctl_cmd_t *c)
{
    fprintf(stderr, "usage: medleyctl [connection options] %s %s\n", c->name, c->args);
    return EXIT_USAGE;
}

/* ---- the connection and calls ---- */

static md_gc_t *conn(ctl_t *x)
{
    if (x->conn != NULL)
        return x->conn;
    char err[300];
    if (md_gc_connect(&x->conn, &x->target, x->timeout_ms, err, sizeof(err)) != 0) {
        fprintf(stderr, "medleyctl: %s: %s\n", md_gc_status_name(MD_GC_UNAVAILABLE), err);
        return NULL;
    }
    return x->conn;
}

/* One unary call: packs req, unpacks the reply as rd into *out. Returns 0, or the exit
 * status after printing the error. */
static int call(ctl_t *x, const char *method, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *rd, ProtobufCMessage **out)
{
    *out = NULL;
    md_gc_t *c = conn(x);
    if (c == NULL)
        return EXIT_FAIL;
    size_t n = protobuf_c_message_get_packed_size(req);
    uint8_t *buf = malloc(n ? n : 1);
    if (buf == NULL) {
        fprintf(stderr, "medleyctl: out of memory\n");
        return EXIT_FAIL;
    }
    protobuf_c_message_pack(req, buf);
    char path[128];
    snprintf(path, sizeof(path), SVC "%s", method);
    uint8_t *reply;
    size_t reply_len;
    md_gc_status_t st;
    int rc = md_gc_unary(c, path, buf, n, &reply, &reply_len, x->timeout_ms, &st);
    free(buf);
    if (rc != MD_GC_OK) {
        fprintf(stderr, "medleyctl: %s: %s\n", md_gc_status_name(st.status), st.message);
        return EXIT_FAIL;
    }
    *out = protobuf_c_message_unpack(rd, NULL, reply_len, reply);
    free(reply);
    if (*out == NULL) {
        fprintf(stderr, "medleyctl: %s: the reply to %s is not a valid %s message\n",
                md_gc_status_name(MD_GC_INTERNAL), method, rd->name);
        return EXIT_FAIL;
    }
    return 0;
}

/* ---- parsing ---- */

static int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    char *end;
    errno = 0;
    if (s[0] < '0' || s[0] > '9')
        return -EINVAL;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

static int parse_id(const char *s, uint32_t *out)
{
    if (parse_u32(s, 1, UINT32_MAX, out) != 0)
        return usage_error("'%s' is not a channel id (a number from 1)", s);
    return 0;
}

/* "10.0.0.1:4000" or "[2001:db8::1]:4000". */
static int parse_peer(const char *s, char *addr, size_t addrlen, uint32_t *port)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || parse_u32(colon + 1, 1, 65535, port) != 0)
        return -EINVAL;
    size_t n = (size_t)(colon - s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        s++;
        n -= 2;
    } else if (memchr(s, ':', n) != NULL) {
        return -EINVAL;   /* an IPv6 address needs brackets before :PORT */
    }
    if (n == 0 || n >= addrlen)
        return -EINVAL;
    memcpy(addr, s, n);
    addr[n] = '\0';
    return 0;
}

static const char *enum_name(const ProtobufCEnumDescriptor *d, int v)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
    return ev != NULL ? ev->name : "?";
}

static const char *yesno(int v)
{
    return v ? "yes" : "no";
}

static void peer_text(const Medley__V1__Channel *ch, char *out, size_t len)
{
    if (ch->remote_address == NULL || ch->remote_address[0] == '\0')
        snprintf(out, len, "-");
    else if (strchr(ch->remote_address, ':') != NULL)
        snprintf(out, len, "[%s]:%u", ch->remote_address, ch->remote_port);
    else
        snprintf(out, len, "%s:%u", ch->remote_address, ch->remote_port);
}

/* ---- channels ---- */

static void print_channel(const Medley__V1__Channel *ch)
{
    char peer[80];
    peer_text(ch, peer, sizeof(peer));
    printf("%-16s %u\n", "channel:", ch->channel);
    printf("%-16s %s\n", "local_address:", ch->local_address);
    printf("%-16s %u (RTCP %u)\n", "local_port:", ch->local_port, ch->local_port + 1);
    printf("%-16s %s\n", "codec:", enum_name(&medley__v1__codec__descriptor, (int)ch->codec));
    printf("%-16s %s\n", "peer:",
           peer[0] == '-' && !ch->learnt ? "- (learning: from the first packet)" : peer);
    printf("%-16s %s\n", "learnt:", yesno(ch->learnt));
    printf("%-16s %s\n", "tag:", ch->tag[0] ? ch->tag : "-");
    if (ch->bridged_to != 0)
        printf("%-16s %u\n", "bridged_to:", ch->bridged_to);
    else
        printf("%-16s -\n", "bridged_to:");
    printf("%-16s %s\n", "playing:", yesno(ch->playing));
    const Medley__V1__ChannelStats *s = ch->stats;
    Medley__V1__ChannelStats zero = MEDLEY__V1__CHANNEL_STATS__INIT;
    if (s == NULL)
        s = &zero;
    printf("%-16s %llu\n", "rx_packets:", (unsigned long long)s->rx_packets);
    printf("%-16s %llu\n", "rx_bytes:", (unsigned long long)s->rx_bytes);
    printf("%-16s %llu\n", "wrong_source:", (unsigned long long)s->wrong_source);
    printf("%-16s %llu\n", "bad_rtp:", (unsigned long long)s->bad_rtp);
    printf("%-16s %llu\n", "wrong_pt:", (unsigned long long)s->wrong_pt);
    printf("%-16s %llu\n", "rtcp:", (unsigned long long)s->rtcp);
    printf("%-16s %llu\n", "digits_rfc4733:", (unsigned long long)s->digits_rfc4733);
    printf("%-16s %llu\n", "lost:", (unsigned long long)s->lost);
    printf("%-16s %llu\n", "late:", (unsigned long long)s->late);
    printf("%-16s %llu\n", "duplicates:", (unsigned long long)s->duplicates);
    printf("%-16s %.2f\n", "jitter_ms:", s->jitter_ms);
    printf("%-16s %llu\n", "frames:", (unsigned long long)s->frames);
    printf("%-16s %llu\n", "concealed:", (unsigned long long)s->concealed);
}

static int cmd_channels(ctl_t *x, int argc, char **argv);
static int cmd_channel(ctl_t *x, int argc, char **argv);
static int cmd_create(ctl_t *x, int argc, char **argv);
static int cmd_delete(ctl_t *x, int argc, char **argv);
static int cmd_play(ctl_t *x, int argc, char **argv);
static int cmd_stop(ctl_t *x, int argc, char **argv);
static int cmd_bridge(ctl_t *x, int argc, char **argv);
static int cmd_unbridge(ctl_t *x, int argc, char **argv);
static int cmd_prompts(ctl_t *x, int argc, char **argv);
static int cmd_load_prompt(ctl_t *x, int argc, char **argv);
static int cmd_stats(ctl_t *x, int argc, char **argv);
static int cmd_watch(ctl_t *x, int argc, char **argv);
static int cmd_send_digits(ctl_t *x, int argc, char **argv);
static int cmd_record(ctl_t *x, int argc, char **argv);
static int cmd_record_stop(ctl_t *x, int argc, char **argv);
static int cmd_ivr(ctl_t *x, int argc, char **argv);
static int cmd_acd(ctl_t *x, int argc, char **argv);
static int cmd_wallboard(ctl_t *x, int argc, char **argv);
static int cmd_agent(ctl_t *x, int argc, char **argv);
static int cmd_queue_add(ctl_t *x, int argc, char **argv);
static int cmd_queue_call(ctl_t *x, int argc, char **argv);
static int cmd_call_hangup(ctl_t *x, int argc, char **argv);
static int cmd_kpi_csv(ctl_t *x, int argc, char **argv);

/* The commands. A group with subcommands of its own (such as a future `ivr check FILE`
 * and `ivr reload`) is one entry whose run() calls dispatch() on its own table. */
static const ctl_cmd_t commands[] = {
    { "channels", "", "list channels: id, port, codec, peer, rx packets, lost, jitter, tag",
      cmd_channels },
    { "channel", "ID", "one channel: every field and counter", cmd_channel },
    { "create", "--codec pcmu|pcma|opus8|opus16 [--peer ADDR:PORT] [--inband] [--event-pt N] [--tag T]"
                " [--pt N] [--jitter-frames N] [--no-media-ms MS] [--near ID] [--relearn]"
                " [--strip-dtmf]",
      "create a channel", cmd_create },
    { "delete", "ID", "delete a channel", cmd_delete },
    { "play", "ID PROMPT[xLOOPS]... [--gap MS] [--barge-in]",
      "play prompts in order (PROMPTx3: three times)", cmd_play },
    { "stop", "ID", "stop the playback on a channel", cmd_stop },
    { "bridge", "A B", "bridge two channels (created near each other)", cmd_bridge },
    { "unbridge", "A", "end a channel's bridge", cmd_unbridge },
    { "prompts", "", "list loaded prompts", cmd_prompts },
    { "load-prompt", "NAME PATH", "load (or replace) a prompt from a WAV file on the engine's host",
      cmd_load_prompt },
    { "stats", "", "engine counters", cmd_stats },
    { "watch", "[--channel ID]... [--type digit|prompt_done|no_media|events_lost]...",
      "print events as lines until interrupted", cmd_watch },
    { "send-digits", "ID DIGITS [--rfc4733] [--duration MS] [--gap MS]",
      "send DTMF to the channel's peer (in-band tones unless --rfc4733)", cmd_send_digits },
    { "record", "ID PATH [--stereo] [--format pcm16|ulaw|alaw]",
      "record a channel into PATH beneath medleyd's --record-dir", cmd_record },
    { "record-stop", "ID", "stop a channel's recording", cmd_record_stop },
    { "ivr", "check FILE | load FILE | flows | start ID FLOW [--ani N] [--lang L] | stop ID",
      "IVR flows: check a file here (no engine needed), load or reload it, list, run on a channel",
      cmd_ivr },
    { "acd", "", "the ACD now: agents by state, callers waiting, per queue the waiting, longest "
                 "wait, service level, offered/answered/abandoned; every agent's state, reason "
                 "and time in state", cmd_acd },
    { "wallboard", "[--interval S] [--count N]",
      "the acd view refreshed every S seconds (default 2), in place on a terminal; Ctrl-C "
      "ends it", cmd_wallboard },
    { "agent", "ID login [CHANNEL] | logout | ready | not-ready [REASON] | add SKILL[:LEVEL]... "
               "[--auto-answer] | answer CALL CHANNEL | hangup",
      "an agent's operations", cmd_agent },
    { "queue-add", "NAME [--skill S] [--min-level N] [--strategy longest_idle|fewest_calls|"
                   "least_talk|round_robin|skill_level|ring_all] [--acw-ms MS] [--max-len N] "
                   "[--max-wait-ms MS] [--announce-first-ms MS] [--announce-every-ms MS] "
                   "[--announce-agent] [--lang L]",
      "add an ACD queue", cmd_queue_add },
    { "queue-call", "CHANNEL QUEUE [--ani N] [--priority 0-3] [--data D] [--lang L]",
      "put the caller on CHANNEL in an ACD queue; prints the call id", cmd_queue_call },
    { "call-hangup", "CALL", "the caller of an ACD call hung up", cmd_call_hangup },
    { "kpi-csv", "DBFILE [--scope queue|agent] [--name N] [--from T] [--to T]",
      "the KPI history (medleyd --kpi-db) as CSV on stdout, read-only, no engine needed; "
      "T: YYYY-MM-DD[THH:MM[:SS]] in UTC or Unix milliseconds", cmd_kpi_csv },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static int cmd_channels(ctl_t *x, int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return cmd_usage(&commands[0]);
    Medley__V1__ListChannelsRequest req = MEDLEY__V1__LIST_CHANNELS_REQUEST__INIT;
    ProtobufCMessage *m;
    int rc = call(x, "ListChannels", &req.base, &medley__v1__channel_list__descriptor, &m);
    if (rc != 0)
        return rc;
    Medley__V1__ChannelList *l = (Medley__V1__ChannelList *)m;
    printf("%-10s %5s %-6s %-24s %10s %8s %9s  %s\n", "ID", "PORT", "CODEC", "PEER",
           "RX_PACKETS", "LOST", "JITTER_MS", "TAG");
    for (size_t i = 0; i < l->n_channels; i++) {
        const Medley__V1__Channel *ch = l->channels[i];
        char peer[80];
        peer_text(ch, peer, sizeof(peer));
        if (peer[0] == '-' && !ch->learnt)
            snprintf(peer, sizeof(peer), "(learning)");
        const Medley__V1__ChannelStats *s = ch->stats;
        printf("%-10u %5u %-6s %-24s %10llu %8llu %9.2f  %s\n", ch->channel, ch->local_port,
               enum_name(&medley__v1__codec__descriptor, (int)ch->codec), peer,
               (unsigned long long)(s ? s->rx_packets : 0), (unsigned long long)(s ? s->lost : 0),
               s ? s->jitter_ms : 0.0, ch->tag[0] ? ch->tag : "-");
    }
    printf("%zu of %u channels\n", l->n_channels, l->max_channels);
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

static int channel_ref_call(ctl_t *x, int argc, char **argv, const ctl_cmd_t *c,
                            const char *method, const ProtobufCMessageDescriptor *rd,
                            ProtobufCMessage **out, uint32_t *id)
{
    if (argc != 2)
        return cmd_usage(c);
    if (parse_id(argv[1], id) != 0)
        return EXIT_USAGE;
    Medley__V1__ChannelRef req = MEDLEY__V1__CHANNEL_REF__INIT;
    req.channel = *id;
    return call(x, method, &req.base, rd, out);
}

static int cmd_channel(ctl_t *x, int argc, char **argv)
{
    ProtobufCMessage *m;
    uint32_t id;
    int rc = channel_ref_call(x, argc, argv, &commands[1], "GetChannel",
                              &medley__v1__channel__descriptor, &m, &id);
    if (rc != 0)
        return rc;
    print_channel((Medley__V1__Channel *)m);
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

static int cmd_create(ctl_t *x, int argc, char **argv)
{
    const ctl_cmd_t *me = &commands[2];
    Medley__V1__CreateChannelRequest req = MEDLEY__V1__CREATE_CHANNEL_REQUEST__INIT;
    char addr[64];
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;
        if (strcmp(o, "--inband") == 0) {
            req.inband_dtmf = 1;
            takes = 0;
        } else if (strcmp(o, "--relearn") == 0) {
            req.allow_relearn = 1;
            takes = 0;
        } else if (strcmp(o, "--strip-dtmf") == 0) {
            req.strip_dtmf = 1;
            takes = 0;
        } else if (v == NULL) {
            return strncmp(o, "--", 2) == 0 ? usage_error("%s needs a value", o) : cmd_usage(me);
        } else if (strcmp(o, "--codec") == 0) {
            if (strcasecmp(v, "pcmu") == 0)
                req.codec = MEDLEY__V1__CODEC__PCMU;
            else if (strcasecmp(v, "pcma") == 0)
                req.codec = MEDLEY__V1__CODEC__PCMA;
            else if (strcasecmp(v, "opus8") == 0)
                req.codec = MEDLEY__V1__CODEC__OPUS8;
            else if (strcasecmp(v, "opus16") == 0)
                req.codec = MEDLEY__V1__CODEC__OPUS16;
            else
                return usage_error("--codec %s: pcmu, pcma, opus8 or opus16", v);
        } else if (strcmp(o, "--peer") == 0) {
            if (parse_peer(v, addr, sizeof(addr), &req.remote_port) != 0)
                return usage_error("--peer %s: ADDR:PORT, e.g. 192.0.2.10:4000 or "
                                   "[2001:db8::10]:4000", v);
            req.remote_address = addr;
        } else if (strcmp(o, "--event-pt") == 0) {
            if (parse_u32(v, 1, 127, &req.event_payload_type) != 0)
                return usage_error("--event-pt %s: a payload type 1-127", v);
        } else if (strcmp(o, "--pt") == 0) {
            if (parse_u32(v, 0, 127, &req.payload_type) != 0)
                return usage_error("--pt %s: a payload type 0-127", v);
        } else if (strcmp(o, "--tag") == 0) {
            req.tag = (char *)v;
        } else if (strcmp(o, "--jitter-frames") == 0) {
            if (parse_u32(v, 1, 14, &req.jitter_depth_frames) != 0)
                return usage_error("--jitter-frames %s: 1-14", v);
        } else if (strcmp(o, "--no-media-ms") == 0) {
            if (parse_u32(v, 0, 3600000, &req.no_media_timeout_ms) != 0)
                return usage_error("--no-media-ms %s: 0-3600000", v);
        } else if (strcmp(o, "--near") == 0) {
            if (parse_id(v, &req.near_channel) != 0)
                return EXIT_USAGE;
        } else {
            return strncmp(o, "--", 2) == 0 ? usage_error("create: unknown option %s", o)
                                            : cmd_usage(me);
        }
        i += takes;
    }
    if (req.codec == MEDLEY__V1__CODEC__CODEC_UNSPECIFIED)
        return usage_error("%s", "create: --codec pcmu|pcma|opus8|opus16 is required");
    ProtobufCMessage *m;
    int rc = call(x, "CreateChannel", &req.base, &medley__v1__channel__descriptor, &m);
    if (rc != 0)
        return rc;
    print_channel((Medley__V1__Channel *)m);
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

static int empty_reply_call(ctl_t *x, const char *method, const ProtobufCMessage *req)
{
    ProtobufCMessage *m;
    int rc = call(x, method, req, &medley__v1__empty__descriptor, &m);
    if (rc == 0)
        protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

static int cmd_delete(ctl_t *x, int argc, char **argv)
{
    ProtobufCMessage *m;
    uint32_t id;
    int rc = channel_ref_call(x, argc, argv, &commands[3], "DeleteChannel",
                              &medley__v1__empty__descriptor, &m, &id);
    if (rc != 0)
        return rc;
    protobuf_c_message_free_unpacked(m, NULL);
    printf("deleted channel %u\n", id);
    return 0;
}

static int cmd_play(ctl_t *x, int argc, char **argv)
{
    const ctl_cmd_t *me = &commands[4];
    Medley__V1__PlayRequest req = MEDLEY__V1__PLAY_REQUEST__INIT;
    uint32_t gap = 0;
    int have_id = 0;
    size_t n = 0;
    Medley__V1__PlayItem *items = calloc((size_t)argc, sizeof(*items));
    Medley__V1__PlayItem **ptrs = calloc((size_t)argc, sizeof(*ptrs));
    char **names = calloc((size_t)argc, sizeof(*names));
    int rc = 0;
    if (items == NULL || ptrs == NULL || names == NULL) {
        fprintf(stderr, "medleyctl: out of memory\n");
        rc = EXIT_FAIL;
        goto out;
    }
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--barge-in") == 0) {
            req.barge_in = 1;
        } else if (strcmp(a, "--gap") == 0) {
            if (i + 1 >= argc || parse_u32(argv[i + 1], 0, 60000, &gap) != 0)
                rc = usage_error("%s MS: a gap of 0-60000 ms after each item", a);
            i++;
        } else if (strncmp(a, "--", 2) == 0) {
            rc = usage_error("play: unknown option %s", a);
        } else if (!have_id) {
            if (parse_id(a, &req.channel) != 0)
                rc = EXIT_USAGE;
            have_id = 1;
        } else {
            /* NAME or NAMExLOOPS: the last 'x' followed by digits only. */
            Medley__V1__PlayItem init = MEDLEY__V1__PLAY_ITEM__INIT;
            items[n] = init;
            names[n] = strdup(a);
            if (names[n] == NULL) {
                fprintf(stderr, "medleyctl: out of memory\n");
                rc = EXIT_FAIL;
                break;
            }
            char *xp = strrchr(names[n], 'x');
            if (xp != NULL && xp != names[n] && xp[1] >= '0' && xp[1] <= '9' &&
                xp[strspn(xp + 1, "0123456789") + 1] == '\0') {
                if (parse_u32(xp + 1, 1, 65535, &items[n].loops) != 0) {
                    rc = usage_error("%s: loops must be 1-65535", a);
                    n++;
                    break;
                }
                *xp = '\0';
            }
            items[n].prompt = names[n];
            ptrs[n] = &items[n];
            n++;
        }
    }
    if (rc == 0 && (!have_id || n == 0))
        rc = cmd_usage(me);
    if (rc != 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        items[i].gap_ms = gap;
    req.n_items = n;
    req.items = ptrs;
    rc = empty_reply_call(x, "Play", &req.base);
    if (rc == 0)
        printf("playing %zu item%s on channel %u%s\n", n, n == 1 ? "" : "s", req.channel,
               req.barge_in ? " (barge-in on)" : "");
out:
    if (names != NULL)
        for (size_t i = 0; i < n; i++)
            free(names[i]);
    free(names);
    free(items);
    free(ptrs);
    return rc;
}

static int cmd_stop(ctl_t *x, int argc, char **argv)
{
    ProtobufCMessage *m;
    uint32_t id;
    int rc = channel_ref_call(x, argc, argv, &commands[5], "StopPlay",
                              &medley__v1__empty__descriptor, &m, &id);
    if (rc != 0)
        return rc;
    protobuf_c_message_free_unpacked(m, NULL);
    printf("stopped playback on channel %u\n", id);
    return 0;
}

static int cmd_bridge(ctl_t *x, int argc, char **argv)
{
    if (argc != 3)
        return cmd_usage(&commands[6]);
    Medley__V1__BridgeRequest req = MEDLEY__V1__BRIDGE_REQUEST__INIT;
    if (parse_id(argv[1], &req.a) != 0 || parse_id(argv[2], &req.b) != 0)
        return EXIT_USAGE;
    int rc = empty_reply_call(x, "Bridge", &req.base);
    if (rc == 0)
        printf("bridged channels %u and %u\n", req.a, req.b);
    return rc;
}

static int cmd_unbridge(ctl_t *x, int argc, char **argv)
{
    ProtobufCMessage *m;
    uint32_t id;
    int rc = channel_ref_call(x, argc, argv, &commands[7], "Unbridge",
                              &medley__v1__empty__descriptor, &m, &id);
    if (rc != 0)
        return rc;
    protobuf_c_message_free_unpacked(m, NULL);
    printf("unbridged channel %u\n", id);
    return 0;
}

static int cmd_prompts(ctl_t *x, int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return cmd_usage(&commands[8]);
    Medley__V1__Empty req = MEDLEY__V1__EMPTY__INIT;
    ProtobufCMessage *m;
    int rc = call(x, "ListPrompts", &req.base, &medley__v1__prompt_list__descriptor, &m);
    if (rc != 0)
        return rc;
    Medley__V1__PromptList *l = (Medley__V1__PromptList *)m;
    printf("%-40s %11s\n", "NAME", "DURATION_MS");
    for (size_t i = 0; i < l->n_prompts; i++)
        printf("%-40s %11u\n", l->prompts[i]->name, l->prompts[i]->duration_ms);
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

static int cmd_load_prompt(ctl_t *x, int argc, char **argv)
{
    if (argc != 3)
        return cmd_usage(&commands[9]);
    Medley__V1__LoadPromptRequest req = MEDLEY__V1__LOAD_PROMPT_REQUEST__INIT;
    req.name = argv[1];
    /* The engine opens the file: a relative path is made absolute here, since medleyd's
     * working directory is not the operator's. */
    char *abs = NULL;
    if (argv[2][0] != '/' && argv[2][0] != '\0')
        abs = realpath(argv[2], NULL);
    req.path = abs != NULL ? abs : argv[2];
    ProtobufCMessage *m;
    int rc = call(x, "LoadPrompt", &req.base, &medley__v1__prompt__descriptor, &m);
    free(abs);
    if (rc != 0)
        return rc;
    Medley__V1__Prompt *p = (Medley__V1__Prompt *)m;
    printf("loaded prompt %s (%u ms)\n", p->name, p->duration_ms);
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

static int cmd_stats(ctl_t *x, int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return cmd_usage(&commands[10]);
    Medley__V1__Empty req = MEDLEY__V1__EMPTY__INIT;
    ProtobufCMessage *m;
    int rc = call(x, "GetStats", &req.base, &medley__v1__engine_stats__descriptor, &m);
    if (rc != 0)
        return rc;
    Medley__V1__EngineStats *s = (Medley__V1__EngineStats *)m;
    printf("%-17s %u\n", "channels:", s->channels);
    printf("%-17s %u\n", "max_channels:", s->max_channels);
    printf("%-17s %llu\n", "rx_packets:", (unsigned long long)s->rx_packets);
    printf("%-17s %llu\n", "tx_packets:", (unsigned long long)s->tx_packets);
    printf("%-17s %llu\n", "dropped_packets:", (unsigned long long)s->dropped_packets);
    printf("%-17s %llu\n", "events_lost:", (unsigned long long)s->events_lost);
    printf("%-17s %u\n", "workers:", s->workers);
    printf("%-17s %u\n", "subscribers:", s->subscribers);
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

/* ---- watch ---- */

typedef struct {
    int done;
    md_gc_status_t st;
    unsigned long events;
} watch_t;

static int watch_msg(void *arg, const uint8_t *msg, size_t len)
{
    watch_t *w = arg;
    Medley__V1__Event *e = medley__v1__event__unpack(NULL, len, msg);
    if (e == NULL) {
        fprintf(stderr, "medleyctl: an event that is not a valid Event message (%zu bytes)\n",
                len);
        return 0;
    }
    w->events++;
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    printf("%02d:%02d:%02d.%03ld %s", tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
           enum_name(&medley__v1__event_type__descriptor, (int)e->type));
    switch (e->type) {
    case MEDLEY__V1__EVENT_TYPE__DIGIT:
        printf(" channel=%u digit=%s source=%s start_ms=%llu duration_ms=%u", e->channel,
               e->digit, enum_name(&medley__v1__digit_source__descriptor, (int)e->source),
               (unsigned long long)e->start_ms, e->duration_ms);
        break;
    case MEDLEY__V1__EVENT_TYPE__PROMPT_DONE:
        printf(" channel=%u", e->channel);
        if (e->digit[0] != '\0')
            printf(" barge_in=%s", e->digit);
        break;
    case MEDLEY__V1__EVENT_TYPE__EVENTS_LOST:
        printf(" lost=%llu", (unsigned long long)e->lost);
        break;
    default:
        printf(" channel=%u", e->channel);
        break;
    }
    printf(" seq=%llu\n", (unsigned long long)e->sequence);
    fflush(stdout);
    medley__v1__event__free_unpacked(e, NULL);
    return 0;
}

static void watch_done(void *arg, const md_gc_status_t *st)
{
    watch_t *w = arg;
    w->st = *st;
    w->done = 1;
}

static int cmd_watch(ctl_t *x, int argc, char **argv)
{
    static const struct {
        const char *name;
        Medley__V1__EventType type;
    } types[] = {
        { "digit", MEDLEY__V1__EVENT_TYPE__DIGIT },
        { "prompt_done", MEDLEY__V1__EVENT_TYPE__PROMPT_DONE },
        { "no_media", MEDLEY__V1__EVENT_TYPE__NO_MEDIA },
        { "events_lost", MEDLEY__V1__EVENT_TYPE__EVENTS_LOST },
    };
    Medley__V1__EventFilter req = MEDLEY__V1__EVENT_FILTER__INIT;
    uint32_t *chans = calloc((size_t)argc, sizeof(*chans));
    Medley__V1__EventType *tv = calloc((size_t)argc, sizeof(*tv));
    int rc = 0;
    if (chans == NULL || tv == NULL) {
        fprintf(stderr, "medleyctl: out of memory\n");
        rc = EXIT_FAIL;
        goto out;
    }
    req.channels = chans;
    req.types = tv;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--channel") == 0 && v != NULL) {
            if (parse_id(v, &chans[req.n_channels++]) != 0)
                rc = EXIT_USAGE;
        } else if (strcmp(o, "--type") == 0 && v != NULL) {
            size_t k;
            for (k = 0; k < sizeof(types) / sizeof(types[0]); k++)
                if (strcasecmp(v, types[k].name) == 0)
                    break;
            if (k == sizeof(types) / sizeof(types[0]))
                rc = usage_error("--type %s: digit, prompt_done, no_media or events_lost", v);
            else
                tv[req.n_types++] = types[k].type;
        } else {
            rc = cmd_usage(&commands[11]);
        }
        i++;
    }
    if (rc != 0)
        goto out;
    md_gc_t *c = conn(x);
    if (c == NULL) {
        rc = EXIT_FAIL;
        goto out;
    }
    size_t n = protobuf_c_message_get_packed_size(&req.base);
    uint8_t buf[4096];
    if (n > sizeof(buf)) {
        rc = usage_error("%s", "watch: too many filters");
        goto out;
    }
    protobuf_c_message_pack(&req.base, buf);
    watch_t w;
    memset(&w, 0, sizeof(w));
    int32_t id = md_gc_call_start(c, SVC "StreamEvents", buf, n, watch_msg, watch_done, &w);
    if (id < 0) {
        fprintf(stderr, "medleyctl: %s: %s\n", md_gc_status_name(MD_GC_UNAVAILABLE),
                md_gc_error(c));
        rc = EXIT_FAIL;
        goto out;
    }
    /* Interrupted (SIGINT, SIGTERM): the stream is cancelled and that is success. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int cancelled = 0;
    while (!w.done) {
        if (interrupted && !cancelled) {
            md_gc_call_cancel(c, id);
            cancelled = 1;
        }
        md_gc_run(c, 200);
    }
    if (cancelled)
        rc = 0;
    else if (w.st.status != MD_GC_OK) {
        fprintf(stderr, "medleyctl: %s: %s\n", md_gc_status_name(w.st.status), w.st.message);
        rc = EXIT_FAIL;
    }
out:
    free(chans);
    free(tv);
    return rc;
}

/* ---- main ---- */

static void usage(FILE *f)
{
    fprintf(f, "usage: medleyctl [--socket PATH | --tcp HOST:PORT [--token-file FILE]] "
               "[--timeout MS] COMMAND [ARGS]\n\n"
               "The Unix socket is %s unless --socket or $MEDLEY_SOCKET says otherwise; on TCP\n"
               "the bearer token is the first line of --token-file or $MEDLEY_API_TOKEN.\n\n"
               "commands:\n", DEFAULT_SOCKET);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %s %s\n      %s\n", commands[i].name, commands[i].args, commands[i].help);
    fprintf(f, "\nExit status: 0 done, 1 the call failed (the gRPC status is printed), "
               "2 bad command line.\n");
}

/* Runs the command named by argv[0] from a table. */
static int dispatch(ctl_t *x, const ctl_cmd_t *table, size_t n, int argc, char **argv)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i].name, argv[0]) == 0)
            return table[i].run(x, argc, argv);
    fprintf(stderr, "medleyctl: unknown command '%s' (medleyctl --help lists them)\n", argv[0]);
    return EXIT_USAGE;
}

static int read_token_file(const char *file, char *tok, size_t len)
{
    FILE *f = fopen(file, "r");
    if (f == NULL || fgets(tok, (int)len, f) == NULL) {
        fprintf(stderr, "medleyctl: cannot read a token from %s: %s\n", file,
                f == NULL ? strerror(errno) : "empty file");
        if (f != NULL)
            fclose(f);
        return -1;
    }
    fclose(f);
    tok[strcspn(tok, "\r\n")] = '\0';
    return 0;
}

int main(int argc, char **argv)
{
    ctl_t x;
    memset(&x, 0, sizeof(x));
    x.timeout_ms = 10000;
    const char *sock = NULL, *tcp = NULL, *token_file = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (v == NULL)
            return usage_error("%s needs a value (medleyctl --help)", o);
        if (strcmp(o, "--socket") == 0) {
            sock = v;
        } else if (strcmp(o, "--tcp") == 0) {
            tcp = v;
        } else if (strcmp(o, "--token-file") == 0) {
            token_file = v;
        } else if (strcmp(o, "--timeout") == 0) {
            uint32_t t;
            if (parse_u32(v, 1, 3600000, &t) != 0)
                return usage_error("--timeout %s: milliseconds, 1-3600000", v);
            x.timeout_ms = (int)t;
        } else {
            return usage_error("unknown option %s (medleyctl --help)", o);
        }
        i++;
    }
    if (i >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (sock != NULL && tcp != NULL)
        return usage_error("%s", "--socket and --tcp: one or the other");
    if (token_file != NULL && tcp == NULL)
        return usage_error("%s", "--token-file goes with --tcp (the Unix socket needs no token)");
    if (tcp != NULL) {
        const char *colon = strrchr(tcp, ':');
        uint32_t port;
        if (colon == NULL || colon == tcp || parse_u32(colon + 1, 1, 65535, &port) != 0 ||
            (size_t)(colon - tcp) >= sizeof(x.tcp_host))
            return usage_error("--tcp %s: HOST:PORT, e.g. 127.0.0.1:50051 or [::1]:50051", tcp);
        memcpy(x.tcp_host, tcp, (size_t)(colon - tcp));
        snprintf(x.tcp_port, sizeof(x.tcp_port), "%u", port);
        x.target.tcp_host = x.tcp_host;
        x.target.tcp_port = x.tcp_port;
        if (token_file != NULL) {
            if (read_token_file(token_file, x.token, sizeof(x.token)) != 0)
                return EXIT_USAGE;
            x.target.token = x.token;
        } else if (getenv("MEDLEY_API_TOKEN") != NULL) {
            snprintf(x.token, sizeof(x.token), "%s", getenv("MEDLEY_API_TOKEN"));
            x.target.token = x.token;
        }
    } else {
        if (sock == NULL)
            sock = getenv("MEDLEY_SOCKET");
        if (sock == NULL || sock[0] == '\0')
            sock = DEFAULT_SOCKET;
        x.target.unix_path = sock;
    }
    int rc = dispatch(&x, commands, N_COMMANDS, argc - i, argv + i);
    md_gc_close(x.conn);
    if (fflush(stdout) != 0 && rc == 0)
        rc = EXIT_FAIL;
    return rc;
}

/* ---- digits, recording, IVR ---- */

static const ctl_cmd_t *find_cmd(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int simple_empty(ctl_t *x, const char *method, const ProtobufCMessage *req)
{
    ProtobufCMessage *m;
    int rc = call(x, method, req, &medley__v1__empty__descriptor, &m);
    if (rc == 0)
        protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

static int cmd_send_digits(ctl_t *x, int argc, char **argv)
{
    Medley__V1__SendDigitsRequest req = MEDLEY__V1__SEND_DIGITS_REQUEST__INIT;
    if (argc < 3 || parse_id(argv[1], &req.channel) != 0)
        return cmd_usage(find_cmd("send-digits"));
    req.digits = argv[2];
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--rfc4733") == 0)
            req.rfc4733 = 1;
        else if (strcmp(argv[i], "--duration") == 0 && i + 1 < argc &&
                 parse_u32(argv[i + 1], 40, 1000, &req.duration_ms) == 0)
            i++;
        else if (strcmp(argv[i], "--gap") == 0 && i + 1 < argc &&
                 parse_u32(argv[i + 1], 40, 1000, &req.gap_ms) == 0)
            i++;
        else
            return cmd_usage(find_cmd("send-digits"));
    }
    int rc = simple_empty(x, "SendDigits", &req.base);
    if (rc == 0)
        printf("sending %s on channel %u (%s)\n", req.digits, req.channel,
               req.rfc4733 ? "RFC 4733" : "in-band");
    return rc;
}

static int cmd_record(ctl_t *x, int argc, char **argv)
{
    Medley__V1__RecordRequest req = MEDLEY__V1__RECORD_REQUEST__INIT;
    if (argc < 3 || parse_id(argv[1], &req.channel) != 0)
        return cmd_usage(find_cmd("record"));
    req.path = argv[2];
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--stereo") == 0) {
            req.stereo = 1;
        } else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            const char *f = argv[++i];
            if (strcmp(f, "pcm16") == 0)
                req.format = MEDLEY__V1__RECORD_FORMAT__PCM16;
            else if (strcmp(f, "ulaw") == 0)
                req.format = MEDLEY__V1__RECORD_FORMAT__ULAW;
            else if (strcmp(f, "alaw") == 0)
                req.format = MEDLEY__V1__RECORD_FORMAT__ALAW;
            else
                return cmd_usage(find_cmd("record"));
        } else {
            return cmd_usage(find_cmd("record"));
        }
    }
    ProtobufCMessage *m;
    int rc = call(x, "StartRecording", &req.base, &medley__v1__recording__descriptor, &m);
    if (rc != 0)
        return rc;
    Medley__V1__Recording *r = (Medley__V1__Recording *)m;
    printf("recording channel %u into %s (%s%s)\n", r->channel, r->path,
           enum_name(&medley__v1__record_format__descriptor, r->format), r->stereo ? ", stereo" : "");
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

static int cmd_record_stop(ctl_t *x, int argc, char **argv)
{
    Medley__V1__ChannelRef req = MEDLEY__V1__CHANNEL_REF__INIT;
    if (argc != 2 || parse_id(argv[1], &req.channel) != 0)
        return cmd_usage(find_cmd("record-stop"));
    return simple_empty(x, "StopRecording", &req.base);
}

static void print_flow(const Medley__V1__Flow *f)
{
    printf("flow %s: %u steps, languages", f->name, f->steps);
    for (size_t i = 0; i < f->n_languages; i++)
        printf(" %s", f->languages[i]);
    printf(", %u prompts, %u calls in it\n", f->prompts, f->sessions);
    for (size_t i = 0; i < f->n_warnings; i++)
        printf("warning: %s\n", f->warnings[i]);
}

static int cmd_ivr(ctl_t *x, int argc, char **argv)
{
    const ctl_cmd_t *me = find_cmd("ivr");
    if (argc < 2)
        return cmd_usage(me);
    if (strcmp(argv[1], "check") == 0 && argc == 3) {
        /* Here, without an engine: the file's syntax and every rule (control/flow.c).
         * Prompt files are checked by the engine (ivr load, or CheckFlow). */
        char err[512], warn[2048];
        md_flow_t *f;
        if (md_flow_load(argv[2], &f, err, sizeof(err), warn, sizeof(warn)) != 0) {
            fprintf(stderr, "medleyctl: %s\n", err);
            return EXIT_FAIL;
        }
        printf("%s: flow %s, %u steps, %u languages: ok\n", argv[2], f->name, f->n_steps,
               f->n_languages);
        if (warn[0])
            printf("%s", warn);
        md_flow_free(f);
        return 0;
    }
    if ((strcmp(argv[1], "load") == 0 || strcmp(argv[1], "check-engine") == 0) && argc == 3) {
        Medley__V1__LoadFlowRequest req = MEDLEY__V1__LOAD_FLOW_REQUEST__INIT;
        char *abs = argv[2][0] != '/' ? realpath(argv[2], NULL) : NULL;
        req.path = abs != NULL ? abs : argv[2];
        ProtobufCMessage *m;
        int rc = call(x, strcmp(argv[1], "load") == 0 ? "LoadFlow" : "CheckFlow", &req.base,
                      &medley__v1__flow__descriptor, &m);
        free(abs);
        if (rc != 0)
            return rc;
        print_flow((Medley__V1__Flow *)m);
        protobuf_c_message_free_unpacked(m, NULL);
        return 0;
    }
    if (strcmp(argv[1], "flows") == 0 && argc == 2) {
        Medley__V1__Empty req = MEDLEY__V1__EMPTY__INIT;
        ProtobufCMessage *m;
        int rc = call(x, "ListFlows", &req.base, &medley__v1__flow_list__descriptor, &m);
        if (rc != 0)
            return rc;
        Medley__V1__FlowList *l = (Medley__V1__FlowList *)m;
        for (size_t i = 0; i < l->n_flows; i++)
            print_flow(l->flows[i]);
        if (l->n_flows == 0)
            printf("no flows loaded\n");
        protobuf_c_message_free_unpacked(m, NULL);
        return 0;
    }
    if (strcmp(argv[1], "start") == 0 && argc >= 4) {
        Medley__V1__StartIvrRequest req = MEDLEY__V1__START_IVR_REQUEST__INIT;
        if (parse_id(argv[2], &req.channel) != 0)
            return cmd_usage(me);
        req.flow = argv[3];
        for (int i = 4; i < argc; i++) {
            if (strcmp(argv[i], "--ani") == 0 && i + 1 < argc)
                req.ani = argv[++i];
            else if (strcmp(argv[i], "--lang") == 0 && i + 1 < argc)
                req.language = argv[++i];
            else
                return cmd_usage(me);
        }
        return simple_empty(x, "StartIvr", &req.base);
    }
    if (strcmp(argv[1], "stop") == 0 && argc == 3) {
        Medley__V1__ChannelRef req = MEDLEY__V1__CHANNEL_REF__INIT;
        if (parse_id(argv[2], &req.channel) != 0)
            return cmd_usage(me);
        return simple_empty(x, "StopIvr", &req.base);
    }
    return cmd_usage(me);
}

/* ---- the ACD (docs/acd.md): the live view, agents, queues, KPI history ---- */

static void fmt_duration(uint64_t ms, char *out, size_t len)
{
    uint64_t s = ms / 1000;
    if (s >= 3600)
        snprintf(out, len, "%llu:%02llu:%02llu", (unsigned long long)(s / 3600),
                 (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60));
    else
        snprintf(out, len, "%llu:%02llu", (unsigned long long)(s / 60), (unsigned long long)(s % 60));
}

static const char *agent_state_name(int v)
{
    const char *n = enum_name(&medley__v1__agent_state__descriptor, v);
    return strncmp(n, "AGENT_", 6) == 0 ? n + 6 : n;
}

static int get_snapshot(ctl_t *x, Medley__V1__AcdSnapshot **out)
{
    Medley__V1__Empty req = MEDLEY__V1__EMPTY__INIT;
    return call(x, "GetAcdSnapshot", &req.base, &medley__v1__acd_snapshot__descriptor,
                (ProtobufCMessage **)out);
}

static void print_snapshot(FILE *f, const Medley__V1__AcdSnapshot *m)
{
    unsigned not_ready = m->logged_in >= m->idle + m->busy ? m->logged_in - m->idle - m->busy : 0;
    char lw[32];
    fmt_duration(m->longest_wait_ms, lw, sizeof(lw));
    fprintf(f, "agents:   %u logged in: %u ready, %u busy, %u not ready\n", m->logged_in, m->idle,
            m->busy, not_ready);
    fprintf(f, "waiting:  %u callers, longest %s\n", m->waiting, lw);
    fprintf(f, "%-16s %7s %8s %8s %5s %8s %8s %9s %6s %5s\n", "QUEUE", "WAITING", "LONGEST",
            "EWT", "SL", "OFFERED", "ANSWERED", "ABANDONED", "READY", "BUSY");
    for (size_t i = 0; i < m->n_queues; i++) {
        const Medley__V1__QueueSnapshot *q = m->queues[i];
        char longest[32], ewt[32], sl[16];
        fmt_duration(q->longest_wait_ms, longest, sizeof(longest));
        if (q->expected_wait_ms)
            fmt_duration(q->expected_wait_ms, ewt, sizeof(ewt));
        else
            snprintf(ewt, sizeof(ewt), "-");
        if (q->service_level >= 0)
            snprintf(sl, sizeof(sl), "%.0f%%", 100 * q->service_level);
        else
            snprintf(sl, sizeof(sl), "-");
        fprintf(f, "%-16s %7u %8s %8s %5s %8u %8u %9u %6u %5u\n", q->name, q->waiting, longest, ewt,
                sl, q->offered, q->answered, q->abandoned, q->agents_ready, q->agents_busy);
    }
    if (m->n_queues == 0)
        fprintf(f, "(no queues)\n");
}

/* Every agent's state now (ListAgents), one line each. */
static int print_agents(ctl_t *x, FILE *f)
{
    Medley__V1__ListAgentsRequest req = MEDLEY__V1__LIST_AGENTS_REQUEST__INIT;
    ProtobufCMessage *m;
    int rc = call(x, "ListAgents", &req.base, &medley__v1__agent_list__descriptor, &m);
    if (rc != 0)
        return rc;
    const Medley__V1__AgentList *l = (const Medley__V1__AgentList *)m;
    fprintf(f, "%-12s %-10s %-16s %9s %10s %8s\n", "AGENT", "STATE", "REASON", "IN_STATE", "CALL",
            "ANSWERED");
    for (size_t i = 0; i < l->n_agents; i++) {
        const Medley__V1__AgentInfo *a = l->agents[i];
        char d[32], callid[16];
        fmt_duration(a->in_state_ms, d, sizeof(d));
        if (a->call)
            snprintf(callid, sizeof(callid), "%u", a->call);
        else
            snprintf(callid, sizeof(callid), "-");
        fprintf(f, "%-12s %-10s %-16s %9s %10s %8u\n", a->id, agent_state_name((int)a->state),
                a->reason[0] ? a->reason : "-", a->state == MEDLEY__V1__AGENT_STATE__AGENT_LOGGED_OUT ? "-" : d,
                callid, a->calls_answered);
    }
    if (l->n_agents == 0)
        fprintf(f, "(no agents)\n");
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

static int cmd_acd(ctl_t *x, int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return cmd_usage(find_cmd("acd"));
    Medley__V1__AcdSnapshot *m;
    int rc = get_snapshot(x, &m);
    if (rc != 0)
        return rc;
    print_snapshot(stdout, m);
    protobuf_c_message_free_unpacked(&m->base, NULL);
    printf("\n");
    return print_agents(x, stdout);
}

static int cmd_wallboard(ctl_t *x, int argc, char **argv)
{
    const ctl_cmd_t *me = find_cmd("wallboard");
    uint32_t interval = 2, count = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--interval") == 0 && v != NULL) {
            if (parse_u32(v, 1, 3600, &interval) != 0)
                return usage_error("--interval %s: seconds, 1-3600", v);
        } else if (strcmp(argv[i], "--count") == 0 && v != NULL) {
            if (parse_u32(v, 1, UINT32_MAX, &count) != 0)
                return usage_error("--count %s: a number of refreshes from 1", v);
        } else {
            return cmd_usage(me);
        }
        i++;
    }
    md_gc_t *c = conn(x);
    if (c == NULL)
        return EXIT_FAIL;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int tty = isatty(STDOUT_FILENO);
    int rc = 0;
    /* Each refresh is drawn into a memory buffer first, then written at once: no
     * half-drawn screen, and a failed call leaves the last good one in place. */
    for (uint32_t shown = 0; !interrupted;) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (f == NULL) {
            fprintf(stderr, "medleyctl: out of memory\n");
            return EXIT_FAIL;
        }
        time_t t = time(NULL);
        struct tm tm;
        localtime_r(&t, &tm);
        fprintf(f, "medley ACD wallboard  %02d:%02d:%02d  (every %u s)\n\n", tm.tm_hour, tm.tm_min,
                tm.tm_sec, interval);
        Medley__V1__AcdSnapshot *m;
        rc = get_snapshot(x, &m);
        if (rc == 0) {
            print_snapshot(f, m);
            protobuf_c_message_free_unpacked(&m->base, NULL);
            fprintf(f, "\n");
            rc = print_agents(x, f);
        }
        fclose(f);
        if (rc == 0) {
            if (tty)
                fputs("\033[H\033[J", stdout);   /* home, clear: redrawn in place */
            fwrite(text, 1, len, stdout);
            if (!tty)
                fputs("\n", stdout);
            fflush(stdout);
        }
        free(text);
        if (rc != 0 || (count != 0 && ++shown >= count))
            break;
        struct timespec t0, now;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            long left = (long)interval * 1000 - (long)((now.tv_sec - t0.tv_sec) * 1000 +
                                                       (now.tv_nsec - t0.tv_nsec) / 1000000);
            if (interrupted || left <= 0)
                break;
            if (md_gc_run(c, left < 200 ? (int)left : 200) == -EPIPE) {
                fprintf(stderr, "medleyctl: %s: %s\n", md_gc_status_name(MD_GC_UNAVAILABLE),
                        md_gc_error(c));
                return EXIT_FAIL;
            }
        }
    }
    return rc;
}

static int cmd_agent(ctl_t *x, int argc, char **argv)
{
    const ctl_cmd_t *me = find_cmd("agent");
    if (argc < 3)
        return cmd_usage(me);
    const char *id = argv[1], *op = argv[2];
    if (id[0] == '\0' || strlen(id) > 31)
        return usage_error("'%s' is not an agent id (1-31 characters)", id);
    Medley__V1__AgentRequest req = MEDLEY__V1__AGENT_REQUEST__INIT;
    req.agent = (char *)id;
    int rc;
    if (strcmp(op, "login") == 0 && argc <= 4) {
        if (argc == 4 && parse_id(argv[3], &req.channel) != 0)
            return EXIT_USAGE;
        rc = simple_empty(x, "AgentLogin", &req.base);
        if (rc == 0 && req.channel)
            printf("agent %s: logged in on channel %u (not ready: login)\n", id, req.channel);
        else if (rc == 0)
            printf("agent %s: logged in without a standing leg (not ready: login)\n", id);
        return rc;
    }
    if (strcmp(op, "logout") == 0 && argc == 3) {
        rc = simple_empty(x, "AgentLogout", &req.base);
        if (rc == 0)
            printf("agent %s: logged out\n", id);
        return rc;
    }
    if (strcmp(op, "ready") == 0 && argc == 3) {
        rc = simple_empty(x, "AgentReady", &req.base);
        if (rc == 0)
            printf("agent %s: ready\n", id);
        return rc;
    }
    if (strcmp(op, "not-ready") == 0 && argc <= 4) {
        req.reason = argc == 4 ? argv[3] : "break";
        if (req.reason[0] == '\0' || strlen(req.reason) > 31)
            return usage_error("not-ready reason '%s': 1-31 characters", req.reason);
        rc = simple_empty(x, "AgentNotReady", &req.base);
        if (rc == 0)
            printf("agent %s: not ready (%s)\n", id, req.reason);
        return rc;
    }
    if (strcmp(op, "hangup") == 0 && argc == 3) {
        rc = simple_empty(x, "AgentHangup", &req.base);
        if (rc == 0)
            printf("agent %s: hung up (after-call work)\n", id);
        return rc;
    }
    if (strcmp(op, "answer") == 0 && argc == 5) {
        if (parse_u32(argv[3], 1, UINT32_MAX, &req.call) != 0)
            return usage_error("'%s' is not a call id (a number from 1)", argv[3]);
        if (parse_id(argv[4], &req.channel) != 0)
            return EXIT_USAGE;
        rc = simple_empty(x, "AgentAnswer", &req.base);
        if (rc == 0)
            printf("agent %s: answered call %u on channel %u\n", id, req.call, req.channel);
        return rc;
    }
    if (strcmp(op, "add") == 0) {
        Medley__V1__AgentConfig cfg = MEDLEY__V1__AGENT_CONFIG__INIT;
        Medley__V1__Skill sk[8], *skp[8];
        char names[8][32];
        cfg.id = (char *)id;
        for (int i = 3; i < argc; i++) {
            if (strcmp(argv[i], "--auto-answer") == 0) {
                cfg.auto_answer = 1;
                continue;
            }
            if (cfg.n_skills == 8)
                return usage_error("%s", "at most 8 skills");
            Medley__V1__Skill init = MEDLEY__V1__SKILL__INIT;
            size_t k = cfg.n_skills;
            sk[k] = init;
            const char *colon = strchr(argv[i], ':');
            size_t nl = colon ? (size_t)(colon - argv[i]) : strlen(argv[i]);
            uint32_t level = 5;
            if (nl == 0 || nl > 31 || (colon && parse_u32(colon + 1, 1, 10, &level) != 0))
                return usage_error("skill '%s': NAME or NAME:LEVEL, a level 1-10", argv[i]);
            memcpy(names[k], argv[i], nl);
            names[k][nl] = '\0';
            sk[k].name = names[k];
            sk[k].level = level;
            skp[k] = &sk[k];
            cfg.n_skills++;
        }
        cfg.skills = skp;
        rc = simple_empty(x, "AddAgent", &cfg.base);
        if (rc == 0) {
            printf("agent %s: added, skills", id);
            for (size_t k = 0; k < cfg.n_skills; k++)
                printf(" %s:%u", sk[k].name, sk[k].level);
            printf("%s%s\n", cfg.n_skills ? "" : " none", cfg.auto_answer ? ", auto-answer" : "");
        }
        return rc;
    }
    return cmd_usage(me);
}

static int cmd_queue_add(ctl_t *x, int argc, char **argv)
{
    static const char *strategies[] = { "longest_idle", "fewest_calls", "least_talk",
                                        "round_robin", "skill_level", "ring_all" };
    const ctl_cmd_t *me = find_cmd("queue-add");
    if (argc < 2 || argv[1][0] == '-')
        return cmd_usage(me);
    Medley__V1__QueueConfig q = MEDLEY__V1__QUEUE_CONFIG__INIT;
    q.name = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--announce-agent") == 0) {
            q.announce_agent = 1;
            continue;
        }
        if (v == NULL)
            return strncmp(o, "--", 2) == 0 ? usage_error("%s needs a value", o) : cmd_usage(me);
        i++;
        if (strcmp(o, "--skill") == 0) {
            q.skill = (char *)v;
        } else if (strcmp(o, "--lang") == 0) {
            q.lang = (char *)v;
        } else if (strcmp(o, "--strategy") == 0) {
            size_t k;
            for (k = 0; k < 6; k++)
                if (strcasecmp(v, strategies[k]) == 0)
                    break;
            if (k == 6)
                return usage_error("--strategy %s: longest_idle, fewest_calls, least_talk, "
                                   "round_robin, skill_level or ring_all", v);
            q.strategy = (Medley__V1__AcdStrategy)k;
        } else {
            uint32_t *dst = strcmp(o, "--min-level") == 0 ? &q.min_level
                            : strcmp(o, "--acw-ms") == 0 ? &q.acw_ms
                            : strcmp(o, "--max-len") == 0 ? &q.max_len
                            : strcmp(o, "--max-wait-ms") == 0 ? &q.max_wait_ms
                            : strcmp(o, "--announce-first-ms") == 0 ? &q.announce_first_ms
                            : strcmp(o, "--announce-every-ms") == 0 ? &q.announce_every_ms
                            : NULL;
            if (dst == NULL)
                return cmd_usage(me);
            uint32_t max = dst == &q.min_level ? 10 : dst == &q.max_len ? 1000000 : 86400000;
            if (parse_u32(v, 0, max, dst) != 0) {
                fprintf(stderr, "medleyctl: %s %s: a number 0-%u\n", o, v, max);
                return EXIT_USAGE;
            }
        }
    }
    int rc = simple_empty(x, "AddQueue", &q.base);
    if (rc == 0)
        printf("queue %s: added (skill %s, %s)\n", q.name, q.skill[0] ? q.skill : q.name,
               strategies[q.strategy]);
    return rc;
}

static int cmd_queue_call(ctl_t *x, int argc, char **argv)
{
    const ctl_cmd_t *me = find_cmd("queue-call");
    Medley__V1__QueueCallRequest req = MEDLEY__V1__QUEUE_CALL_REQUEST__INIT;
    if (argc < 3)
        return cmd_usage(me);
    if (parse_id(argv[1], &req.channel) != 0)
        return EXIT_USAGE;
    req.queue = argv[2];
    for (int i = 3; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            return strncmp(o, "--", 2) == 0 ? usage_error("%s needs a value", o) : cmd_usage(me);
        i++;
        if (strcmp(o, "--ani") == 0)
            req.ani = (char *)v;
        else if (strcmp(o, "--data") == 0)
            req.data = (char *)v;
        else if (strcmp(o, "--lang") == 0)
            req.language = (char *)v;
        else if (strcmp(o, "--priority") == 0) {
            if (parse_u32(v, 0, 3, &req.priority) != 0)
                return usage_error("--priority %s: 0-3 (3 first)", v);
        } else
            return cmd_usage(me);
    }
    ProtobufCMessage *m;
    int rc = call(x, "QueueCall", &req.base, &medley__v1__queue_call_reply__descriptor, &m);
    if (rc != 0)
        return rc;
    printf("call %u: channel %u queued in %s\n", ((Medley__V1__QueueCallReply *)m)->call,
           req.channel, req.queue);
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

static int cmd_call_hangup(ctl_t *x, int argc, char **argv)
{
    Medley__V1__CallRef req = MEDLEY__V1__CALL_REF__INIT;
    if (argc != 2)
        return cmd_usage(find_cmd("call-hangup"));
    if (parse_u32(argv[1], 1, UINT32_MAX, &req.call) != 0)
        return usage_error("'%s' is not a call id (a number from 1)", argv[1]);
    int rc = simple_empty(x, "CallHangup", &req.base);
    if (rc == 0)
        printf("call %u: hung up\n", req.call);
    return rc;
}

/* "1764720000000" (Unix ms), "2026-12-03", "2026-12-03T10:30", "2026-12-03T10:30:00Z". */
static int parse_time(const char *s, uint64_t *ms)
{
    if (s[0] >= '0' && s[0] <= '9' && strspn(s, "0123456789") == strlen(s)) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno != 0 || v > (unsigned long long)INT64_MAX)
            return -EINVAL;
        *ms = v;
        return 0;
    }
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(s, "%Y-%m-%d", &tm);
    if (end == NULL)
        return -EINVAL;
    if (*end == 'T' || *end == ' ') {
        const char *e2 = strptime(end + 1, "%H:%M", &tm);
        if (e2 == NULL)
            return -EINVAL;
        end = e2;
        if (*end == ':') {
            e2 = strptime(end + 1, "%S", &tm);
            if (e2 == NULL)
                return -EINVAL;
            end = e2;
        }
        if (*end == 'Z')
            end++;
    }
    if (*end != '\0' || tm.tm_year < 70)
        return -EINVAL;
    time_t t = timegm(&tm);
    if (t < 0)
        return -EINVAL;
    *ms = (uint64_t)t * 1000;
    return 0;
}

static int cmd_kpi_csv(ctl_t *x, int argc, char **argv)
{
    (void)x;
    const ctl_cmd_t *me = find_cmd("kpi-csv");
    if (argc < 2 || argv[1][0] == '-')
        return cmd_usage(me);
    const char *path = argv[1], *name = NULL;
    uint32_t scope = 0;
    uint64_t from = 0, to = (uint64_t)INT64_MAX;
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            return strncmp(o, "--", 2) == 0 ? usage_error("%s needs a value", o) : cmd_usage(me);
        i++;
        if (strcmp(o, "--scope") == 0) {
            if (strcmp(v, "queue") == 0)
                scope = MD_KPI_QUEUE;
            else if (strcmp(v, "agent") == 0)
                scope = MD_KPI_AGENT;
            else
                return usage_error("--scope %s: queue or agent", v);
        } else if (strcmp(o, "--name") == 0) {
            if (v[0] == '\0' || strlen(v) > 31)
                return usage_error("--name '%s': a queue name or agent id, 1-31 characters", v);
            name = v;
        } else if (strcmp(o, "--from") == 0 || strcmp(o, "--to") == 0) {
            if (parse_time(v, strcmp(o, "--from") == 0 ? &from : &to) != 0) {
                fprintf(stderr, "medleyctl: %s %s: YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] (UTC) or "
                                "Unix milliseconds\n", o, v);
                return EXIT_USAGE;
            }
        } else {
            return cmd_usage(me);
        }
    }
    if (from > to) {
        fprintf(stderr, "medleyctl: --from is after --to\n");
        return EXIT_USAGE;
    }
    md_kpi_store_opts_t opts;
    memset(&opts, 0, sizeof(opts));
    opts.read_only = 1;
    md_kpi_store_t *s;
    char err[512];
    if (md_kpi_store_open(&s, path, &opts, err, sizeof(err)) != 0) {
        fprintf(stderr, "medleyctl: %s\n", err);
        return EXIT_FAIL;
    }
    int n = md_kpi_store_export_csv(s, stdout, scope, name, from, to, err, sizeof(err));
    md_kpi_store_close(s, NULL, 0);
    if (n < 0) {
        fprintf(stderr, "medleyctl: %s\n", err);
        return EXIT_FAIL;
    }
    return 0;
}
