/* The Engine service: request checks, the mapping to control commands, replies, events. */
#include "control/api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/api/medley.pb-c.h"
#include "engine/conf.h"

#define MAX_FILTER 64

struct md_api_sub {
    md_grpc_call_t *call;
    uint32_t channels[MAX_FILTER];
    unsigned n_channels;
    uint32_t types;            /* bit per EventType; 0: all */
    uint64_t seq;              /* events meant for this subscriber, lost ones included */
    uint64_t lost_pending;     /* lost since the last EVENTS_LOST notice */
    md_api_sub_t *next;
};

void md_api_init(md_api_t *a, md_ctl_t *ctl)
{
    memset(a, 0, sizeof(*a));
    a->ctl = ctl;
    a->max_subs = 64;
}

/* ---- replies ---- */


/* The ACD's clock: Unix milliseconds (api.h acd_epoch_ms). */
static uint64_t acd_now(const md_api_t *a)
{
    return a->now_ms + a->acd_epoch_ms;
}
static void set_error(md_grpc_reply_t *r, md_grpc_status_t st, const char *fmt, const char *arg)
{
    r->status = st;
    snprintf(r->message, sizeof(r->message), fmt, arg);
}

/* The gRPC status for an engine error code. */
static md_grpc_status_t status_of(int rc)
{
    switch (rc) {
    case -ENOENT: return MD_GRPC_NOT_FOUND;
    case -ENOSPC: return MD_GRPC_RESOURCE_EXHAUSTED;
    case -EMFILE: return MD_GRPC_RESOURCE_EXHAUSTED;
    case -EINVAL: return MD_GRPC_INVALID_ARGUMENT;
    case -EBUSY: return MD_GRPC_FAILED_PRECONDITION;
    case -ETIMEDOUT:
    case -EAGAIN: return MD_GRPC_UNAVAILABLE;
    case -ENOTSUP: return MD_GRPC_INVALID_ARGUMENT;
    case -ENAMETOOLONG: return MD_GRPC_INVALID_ARGUMENT;
    default: return MD_GRPC_INTERNAL;
    }
}

static void engine_error(md_grpc_reply_t *r, int rc, const char *what)
{
    r->status = status_of(rc);
    if (rc == -ETIMEDOUT)
        snprintf(r->message, sizeof(r->message), "%s: the worker did not answer in time", what);
    else if (rc == -ENOSPC)
        snprintf(r->message, sizeof(r->message), "%s: every channel is in use (admission limit)", what);
    else if (rc == -EMFILE)
        snprintf(r->message, sizeof(r->message),
                 "%s: every Opus codec state of the worker is in use (medleyd --opus-channels)", what);
    else
        snprintf(r->message, sizeof(r->message), "%s: %s", what, strerror(-rc));
}

static void pack(md_grpc_reply_t *r, const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    r->buf = malloc(n ? n : 1);
    if (r->buf == NULL) {
        r->status = MD_GRPC_RESOURCE_EXHAUSTED;
        snprintf(r->message, sizeof(r->message), "out of memory for the reply");
        return;
    }
    r->len = protobuf_c_message_pack(m, r->buf);
}

static void pack_empty(md_grpc_reply_t *r)
{
    Medley__V1__Empty e = MEDLEY__V1__EMPTY__INIT;
    pack(r, &e.base);
}

#define UNPACK(type, fn, var, req, len, r)                                             \
    type *var = fn(NULL, len, req);                                                    \
    if (var == NULL) {                                                                 \
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "request is not a valid %s message", #type); \
        return;                                                                        \
    }

static md_ctl_chan_t *find_or_fail(md_api_t *a, uint32_t id, md_grpc_reply_t *r)
{
    md_ctl_chan_t *rec = md_ctl_find(a->ctl, id);
    if (rec == NULL) {
        r->status = MD_GRPC_NOT_FOUND;
        snprintf(r->message, sizeof(r->message), "no channel %u", id);
    }
    return rec;
}

/* ---- channels ---- */

static Medley__V1__Codec codec_out(md_codec_t c)
{
    switch (c) {
    case MD_CODEC_PCMU: return MEDLEY__V1__CODEC__PCMU;
    case MD_CODEC_PCMA: return MEDLEY__V1__CODEC__PCMA;
    case MD_CODEC_OPUS8: return MEDLEY__V1__CODEC__OPUS8;
    case MD_CODEC_OPUS16: return MEDLEY__V1__CODEC__OPUS16;
    }
    return MEDLEY__V1__CODEC__CODEC_UNSPECIFIED;
}

/* Fills a Channel message; strings point into the caller's buffers. */
static Medley__V1__RecordFormat format_out(md_wav_format_t f)
{
    return f == MD_WAV_ULAW ? MEDLEY__V1__RECORD_FORMAT__ULAW
           : f == MD_WAV_ALAW ? MEDLEY__V1__RECORD_FORMAT__ALAW
                              : MEDLEY__V1__RECORD_FORMAT__PCM16;
}

/* A Recording message; path points into the caller's memory. */
static void recording_msg(uint32_t channel, const char *path, md_wav_format_t format, int stereo,
                          int paused, const md_rec_stats_t *rs, Medley__V1__Recording *m)
{
    m->channel = channel;
    m->path = (char *)path;
    m->format = format_out(format);
    m->stereo = stereo;
    m->paused = paused;
    if (rs != NULL) {
        m->frames_written = rs->frames_written;
        m->frames_dropped = rs->frames_dropped;
        m->frames_paused = rs->frames_paused;
    }
}

static void channel_msg(md_api_t *a, const md_ctl_chan_t *rec, const md_chan_info_t *info,
                        Medley__V1__Channel *ch, Medley__V1__ChannelStats *st, char *remote,
                        size_t remote_len)
{
    ch->channel = rec->api_id;
    ch->local_port = rec->local_port;
    ch->local_address = a->local_ip4[0] ? a->local_ip4 : a->local_ip6;
    ch->codec = codec_out(rec->codec);
    ch->tag = (char *)rec->tag;
    ch->learnt = info->learnt;
    remote[0] = '\0';
    if (info->src_version == 4)
        inet_ntop(AF_INET, info->src_ip, remote, (socklen_t)remote_len);
    else if (info->src_version == 6)
        inet_ntop(AF_INET6, info->src_ip, remote, (socklen_t)remote_len);
    ch->remote_address = remote;
    ch->remote_port = info->src_port;
    ch->playing = info->playing;
    ch->bridged_to = 0;
    if (info->bridged_id != 0) {
        /* The peer is on the same worker (a bridge's legs share one); its record is found
         * by its local id there, also when either moved (its record is then not in that
         * worker's range). */
        const md_ctl_chan_t *p = md_ctl_find_local(a->ctl, rec->worker, info->bridged_id);
        if (p != NULL)
            ch->bridged_to = p->api_id;
    }
    st->rx_packets = info->st.rx_packets;
    st->rx_bytes = info->st.rx_bytes;
    st->wrong_source = info->st.wrong_source;
    st->bad_rtp = info->st.bad_rtp;
    st->wrong_pt = info->st.wrong_pt;
    st->rtcp = info->st.rtcp;
    st->digits_rfc4733 = info->st.events;
    st->lost = info->jb.lost;
    st->late = info->jb.late;
    st->duplicates = info->jb.duplicates;
    /* RFC 3550 jitter is in timestamp units: 48 kHz for Opus (RFC 7587), else 8 kHz. */
    st->jitter_ms = info->jb.jitter / (md_media_ts_step(rec->codec) * 50 / 1000.0);
    st->frames = info->frames;
    st->concealed = info->concealed;
    st->tx_packets = info->st.tx_packets;
    st->tx_bytes = info->st.tx_bytes;
    st->rtcp_sent = info->rtcp.reports_tx;
    st->rtcp_sr_received = info->rtcp.sr_rx;
    st->rtcp_rr_received = info->rtcp.rr_rx;
    st->rtcp_bad = info->rtcp.bad;
    st->rtt_ms = info->rtcp.rtt_ms;
    st->peer_fraction_lost = info->rtcp.peer_fraction_lost / 256.0;
    st->peer_cumulative_lost = info->rtcp.peer_cum_lost;
    st->peer_jitter_ms = info->rtcp.peer_jitter / 8.0;
    st->jitter_depth_frames = info->jb_depth;
    ch->stats = st;
    ch->recording = NULL;
}

/* channel_msg() plus the recording, if any (r: the caller's memory). */
static void channel_msg_rec(md_api_t *a, const md_ctl_chan_t *rec, Medley__V1__Channel *ch,
                            Medley__V1__Recording *r)
{
    md_rec_stats_t rs;
    if (rec->rec_id == 0 || a->ctl->rec == NULL)
        return;
    Medley__V1__Recording init = MEDLEY__V1__RECORDING__INIT;
    *r = init;
    int have = md_recorder_stats(a->ctl->rec, rec->rec_id, &rs) == 0;
    recording_msg(rec->api_id, rec->rec_path, rec->rec_format, rec->rec_stereo, rec->rec_paused,
                  have ? &rs : NULL, r);
    ch->recording = r;
}

static void create_channel(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    UNPACK(Medley__V1__CreateChannelRequest, medley__v1__create_channel_request__unpack, q, req,
           len, r);
    md_cmd_t cmd;
    memset(&cmd, 0, sizeof(cmd));
    md_chan_params_t *p = &cmd.prm;
    char msg[160] = "";
    switch (q->codec) {
    case MEDLEY__V1__CODEC__PCMU: p->codec = MD_CODEC_PCMU; p->pt = 0; break;
    case MEDLEY__V1__CODEC__PCMA: p->codec = MD_CODEC_PCMA; p->pt = 8; break;
    case MEDLEY__V1__CODEC__OPUS8: p->codec = MD_CODEC_OPUS8; p->pt = 96; break;
    case MEDLEY__V1__CODEC__OPUS16: p->codec = MD_CODEC_OPUS16; p->pt = 96; break;
    default:
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "codec: required (PCMU or PCMA)");
        goto out;
    }
    if (q->payload_type > 127)
        snprintf(msg, sizeof(msg), "payload_type %u: must be 0-127", q->payload_type);
    else if (q->payload_type != 0)
        p->pt = (uint8_t)q->payload_type;
    if (!msg[0] && q->event_payload_type != 0 &&
        (q->event_payload_type > 127 || q->event_payload_type == p->pt))
        snprintf(msg, sizeof(msg), "event_payload_type %u: must be 1-127 and differ from the audio's %u",
                 q->event_payload_type, p->pt);
    p->event_pt = (uint8_t)q->event_payload_type;
    if (!msg[0] && q->jitter_depth_frames > 14)
        snprintf(msg, sizeof(msg), "jitter_depth_frames %u: must be 1-14 (0 = default 3)",
                 q->jitter_depth_frames);
    p->jb_depth = (uint8_t)(q->jitter_depth_frames ? q->jitter_depth_frames : 3);
    if (!msg[0] && q->jitter_max_frames != 0 &&
        (q->jitter_max_frames < p->jb_depth || q->jitter_max_frames > 14))
        snprintf(msg, sizeof(msg), "jitter_max_frames %u: from jitter_depth_frames (%u) to 14, or 0",
                 q->jitter_max_frames, p->jb_depth);
    p->jb_max = (uint8_t)q->jitter_max_frames;
    if (!msg[0] && q->remote_address[0] != '\0') {
        if (inet_pton(AF_INET, q->remote_address, p->remote_ip) == 1)
            p->ip_version = 4;
        else if (inet_pton(AF_INET6, q->remote_address, p->remote_ip) == 1)
            p->ip_version = 6;
        else
            snprintf(msg, sizeof(msg), "remote_address '%.60s': not an IPv4 or IPv6 address",
                     q->remote_address);
        if (!msg[0] && (q->remote_port == 0 || q->remote_port > 65535))
            snprintf(msg, sizeof(msg), "remote_port %u: must be 1-65535 with a remote_address",
                     q->remote_port);
        p->remote_port = (uint16_t)q->remote_port;
        if (p->ip_version == 4 && !a->local_ip4[0] && !msg[0])
            snprintf(msg, sizeof(msg), "remote_address %s: the engine has no IPv4 address",
                     q->remote_address);
        if (p->ip_version == 6 && !a->local_ip6[0] && !msg[0])
            snprintf(msg, sizeof(msg), "remote_address %s: the engine has no IPv6 address",
                     q->remote_address);
    } else if (!msg[0]) {
        if (q->remote_port != 0)
            snprintf(msg, sizeof(msg), "remote_port %u given without remote_address", q->remote_port);
        p->learn = 1;
    }
    p->relearn = (uint8_t)q->allow_relearn;
    if (!msg[0] && q->no_media_timeout_ms > 3600000)
        snprintf(msg, sizeof(msg), "no_media_timeout_ms %u: at most 3600000", q->no_media_timeout_ms);
    if (!msg[0] && q->strip_dtmf && !q->inband_dtmf)
        snprintf(msg, sizeof(msg), "strip_dtmf needs inband_dtmf (the detector finds what to strip)");
    if (!msg[0] && strlen(q->tag) >= MD_CTL_TAG)
        snprintf(msg, sizeof(msg), "tag: at most %d bytes", MD_CTL_TAG - 1);
    if (msg[0]) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", msg);
        goto out;
    }
    cmd.inband = (uint8_t)q->inband_dtmf;
    cmd.strip_dtmf = (uint8_t)q->strip_dtmf;
    cmd.no_media_ms = q->no_media_timeout_ms;
    md_ctl_chan_t *rec;
    md_chan_info_t info;
    int rc = md_ctl_create(a->ctl, &cmd, q->near_channel, q->tag, &rec, &info);
    if (rc == -ENOENT && q->near_channel != 0) {
        r->status = MD_GRPC_NOT_FOUND;
        snprintf(r->message, sizeof(r->message), "near_channel %u: no such channel", q->near_channel);
        goto out;
    }
    if (rc != 0) {
        engine_error(r, rc, "create channel");
        goto out;
    }
    Medley__V1__Channel ch = MEDLEY__V1__CHANNEL__INIT;
    Medley__V1__ChannelStats st = MEDLEY__V1__CHANNEL_STATS__INIT;
    char remote[INET6_ADDRSTRLEN];
    channel_msg(a, rec, &info, &ch, &st, remote, sizeof(remote));
    pack(r, &ch.base);
out:
    medley__v1__create_channel_request__free_unpacked(q, NULL);
}

static void delete_channel(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    UNPACK(Medley__V1__ChannelRef, medley__v1__channel_ref__unpack, q, req, len, r);
    md_ctl_chan_t *rec = find_or_fail(a, q->channel, r);
    if (rec != NULL && a->acd != NULL) {
        a->acd->now_ms = acd_now(a);
        md_acd_svc_channel_gone(a->acd, q->channel);
    }
    if (rec != NULL) {
        int rc = md_ctl_delete(a->ctl, rec);
        if (rc != 0)
            engine_error(r, rc, "delete channel");
        else
            pack_empty(r);
    }
    medley__v1__channel_ref__free_unpacked(q, NULL);
}

/* Asks the worker for a channel's state. */
static int channel_info(md_api_t *a, md_ctl_chan_t *rec, md_chan_info_t *info)
{
    md_cmd_t cmd;
    md_cmd_reply_t rep;
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = MD_CMD_GET;
    cmd.slot = rec->slot;
    cmd.id = rec->local_id;
    int rc = md_ctl_exec(a->ctl, rec->worker, &cmd, &rep);
    if (rc == 0)
        *info = rep.info;
    return rc;
}

static void get_channel(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    UNPACK(Medley__V1__ChannelRef, medley__v1__channel_ref__unpack, q, req, len, r);
    md_ctl_chan_t *rec = find_or_fail(a, q->channel, r);
    md_chan_info_t info;
    if (rec != NULL) {
        int rc = channel_info(a, rec, &info);
        if (rc != 0) {
            engine_error(r, rc, "get channel");
        } else {
            Medley__V1__Channel ch = MEDLEY__V1__CHANNEL__INIT;
            Medley__V1__ChannelStats st = MEDLEY__V1__CHANNEL_STATS__INIT;
            Medley__V1__Recording recm;
            char remote[INET6_ADDRSTRLEN];
            channel_msg(a, rec, &info, &ch, &st, remote, sizeof(remote));
            channel_msg_rec(a, rec, &ch, &recm);
            pack(r, &ch.base);
        }
    }
    medley__v1__channel_ref__free_unpacked(q, NULL);
}

static void list_channels(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    UNPACK(Medley__V1__ListChannelsRequest, medley__v1__list_channels_request__unpack, q, req, len, r);
    medley__v1__list_channels_request__free_unpacked(q, NULL);
    md_ctl_t *c = a->ctl;
    uint32_t n = c->used;
    Medley__V1__Channel *chs = calloc(n ? n : 1, sizeof(*chs));
    Medley__V1__Channel **ptrs = calloc(n ? n : 1, sizeof(*ptrs));
    Medley__V1__ChannelStats *sts = calloc(n ? n : 1, sizeof(*sts));
    char (*remotes)[INET6_ADDRSTRLEN] = calloc(n ? n : 1, INET6_ADDRSTRLEN);
    if (chs == NULL || ptrs == NULL || sts == NULL || remotes == NULL) {
        set_error(r, MD_GRPC_RESOURCE_EXHAUSTED, "%s", "out of memory listing channels");
        goto out;
    }
    uint32_t k = 0;
    for (uint32_t g = 0; g < c->max_total && k < n; g++) {
        md_ctl_chan_t *rec = &c->chans[g];
        md_chan_info_t info;
        if (rec->api_id == 0)
            continue;
        int rc = channel_info(a, rec, &info);
        if (rc != 0) {
            engine_error(r, rc, "list channels");
            goto out;
        }
        Medley__V1__Channel init = MEDLEY__V1__CHANNEL__INIT;
        Medley__V1__ChannelStats sinit = MEDLEY__V1__CHANNEL_STATS__INIT;
        chs[k] = init;
        sts[k] = sinit;
        channel_msg(a, rec, &info, &chs[k], &sts[k], remotes[k], INET6_ADDRSTRLEN);
        ptrs[k] = &chs[k];
        k++;
    }
    Medley__V1__ChannelList list = MEDLEY__V1__CHANNEL_LIST__INIT;
    list.n_channels = k;
    list.channels = ptrs;
    list.max_channels = c->max_total;
    pack(r, &list.base);
out:
    free(chs);
    free(ptrs);
    free(sts);
    free(remotes);
}

/* ---- playback and bridges ---- */

static void play(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    UNPACK(Medley__V1__PlayRequest, medley__v1__play_request__unpack, q, req, len, r);
    md_ctl_chan_t *rec = find_or_fail(a, q->channel, r);
    char err[200] = "";
    int rc = 0;
    if (rec == NULL)
        goto out;
    if (q->n_items == 0 || q->n_items > MD_PLAY_MAX) {
        snprintf(err, sizeof(err), "items: 1 to %d prompts, not %zu", MD_PLAY_MAX, q->n_items);
        rc = -EINVAL;
    } else if (q->overlay && q->n_items != 1) {
        snprintf(err, sizeof(err), "overlay: exactly one item");
        rc = -EINVAL;
    } else if (q->overlay && !(q->overlay_gain_db >= -60.0f && q->overlay_gain_db <= 12.0f)) {
        snprintf(err, sizeof(err), "overlay_gain_db %g: must be -60 to +12", (double)q->overlay_gain_db);
        rc = -EINVAL;
    }
    const char *names[MD_PLAY_MAX];
    uint16_t loops[MD_PLAY_MAX], gaps[MD_PLAY_MAX];
    for (size_t i = 0; rc == 0 && i < q->n_items; i++) {
        names[i] = q->items[i]->prompt;
        if (q->items[i]->loops > 65535 || q->items[i]->gap_ms > 60000) {
            snprintf(err, sizeof(err), "items[%zu]: loops at most 65535, gap_ms at most 60000", i);
            rc = -EINVAL;
        }
        loops[i] = (uint16_t)q->items[i]->loops;
        gaps[i] = (uint16_t)q->items[i]->gap_ms;
    }
    if (rc == 0)
        rc = q->overlay ? md_ctl_overlay(a->ctl, rec, names[0], q->overlay_gain_db, err, sizeof(err))
                        : md_ctl_play(a->ctl, rec, names, loops, gaps, (unsigned)q->n_items,
                                      q->barge_in, 0, err, sizeof(err));
    if (rc != 0) {
        r->status = status_of(rc);
        snprintf(r->message, sizeof(r->message), "%s", err[0] ? err : strerror(-rc));
    } else {
        pack_empty(r);
    }
out:
    medley__v1__play_request__free_unpacked(q, NULL);
}

static void stop_play(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    UNPACK(Medley__V1__ChannelRef, medley__v1__channel_ref__unpack, q, req, len, r);
    md_ctl_chan_t *rec = find_or_fail(a, q->channel, r);
    if (rec != NULL) {
        int rc = md_ctl_stop(a->ctl, rec);
        if (rc != 0)
            engine_error(r, rc, "stop");
        else
            pack_empty(r);
    }
    medley__v1__channel_ref__free_unpacked(q, NULL);
}

static void send_digits(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    UNPACK(Medley__V1__SendDigitsRequest, medley__v1__send_digits_request__unpack, q, req, len, r);
    md_ctl_chan_t *rec = find_or_fail(a, q->channel, r);
    unsigned on = q->duration_ms ? q->duration_ms : 100, gap = q->gap_ms ? q->gap_ms : 100;
    size_t n = strlen(q->digits);
    if (rec == NULL)
        goto out;
    if (n == 0 || n >= MD_SEND_MAX || strspn(q->digits, "0123456789*#ABCD") != n) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "digits: 1 to 31 of 0-9 * # A-D");
        goto out;
    }
    if (on < 40 || on > 1000 || gap < 40 || gap > 1000) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "duration_ms and gap_ms: 40 to 1000");
        goto out;
    }
    md_cmd_t cmd;
    md_cmd_reply_t rep;
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = MD_CMD_SEND_DIGITS;
    cmd.slot = rec->slot;
    cmd.id = rec->local_id;
    memcpy(cmd.digits, q->digits, n + 1);
    cmd.rfc4733 = (uint8_t)q->rfc4733;
    cmd.on_ms = (uint16_t)on;
    cmd.gap_ms = (uint16_t)gap;
    int rc = md_ctl_exec(a->ctl, rec->worker, &cmd, &rep);
    if (rc == -EINVAL && q->rfc4733)
        set_error(r, MD_GRPC_FAILED_PRECONDITION, "%s",
                  "rfc4733: the channel has no event_payload_type");
    else if (rc == -EBUSY)
        set_error(r, MD_GRPC_RESOURCE_EXHAUSTED, "%s",
                  "every in-band digit generator of the worker is busy; try again or use rfc4733");
    else if (rc != 0)
        engine_error(r, rc, "send digits");
    else
        pack_empty(r);
out:
    medley__v1__send_digits_request__free_unpacked(q, NULL);
}

/* The status and message of an error of md_ctl_bridge, md_ctl_conf_from_bridge or
 * md_ctl_conf_add (control/ctl.h). */
static void join_error(md_grpc_reply_t *r, int rc, const char *what)
{
    switch (rc) {
    case -ENOTCONN:
    case -EBUSY:
    case -EXDEV:
        r->status = MD_GRPC_FAILED_PRECONDITION;
        break;
    case -ENOSPC:
    case -ENOBUFS:
    case -EMFILE:
        r->status = MD_GRPC_RESOURCE_EXHAUSTED;
        break;
    case -ENOTSUP:
    case -ENODEV:
    case -ETIMEDOUT:
    case -EAGAIN:
        r->status = MD_GRPC_UNAVAILABLE;
        break;
    case -EINVAL:
        r->status = MD_GRPC_INVALID_ARGUMENT;
        break;
    case -ENOENT:
        r->status = MD_GRPC_NOT_FOUND;
        break;
    default:
        r->status = MD_GRPC_INTERNAL;
        break;
    }
    snprintf(r->message, sizeof(r->message), "%s: %s", what, md_ctl_join_error(rc));
}

static void bridge(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    UNPACK(Medley__V1__BridgeRequest, medley__v1__bridge_request__unpack, q, req, len, r);
    md_ctl_chan_t *ra = find_or_fail(a, q->a, r);
    md_ctl_chan_t *rb = ra != NULL ? find_or_fail(a, q->b, r) : NULL;
    if (ra != NULL && rb != NULL) {
        if (ra == rb) {
            set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "a and b are the same channel");
        } else {
            /* On two workers one leg moves to the other's (control/ctl.h). */
            int rc = md_ctl_bridge(a->ctl, ra, rb);
            if (rc == -EBUSY)
                set_error(r, MD_GRPC_FAILED_PRECONDITION, "%s",
                          "a channel is already bridged to another or in a conference: unbridge it first");
            else if (rc == -EXDEV)
                set_error(r, MD_GRPC_FAILED_PRECONDITION, "%s",
                          "both channels record, on different workers: one must move to the other's "
                          "worker to bridge them; stop one's recording first");
            else if (rc == -ETIMEDOUT || rc == -EAGAIN || rc == -ENOENT)
                engine_error(r, rc, "bridge");
            else if (rc != 0)
                join_error(r, rc, "bridge");
            else
                pack_empty(r);
        }
    }
    medley__v1__bridge_request__free_unpacked(q, NULL);
}

static void unbridge(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    UNPACK(Medley__V1__ChannelRef, medley__v1__channel_ref__unpack, q, req, len, r);
    md_ctl_chan_t *rec = find_or_fail(a, q->channel, r);
    if (rec != NULL) {
        md_cmd_t cmd;
        md_cmd_reply_t rep;
        memset(&cmd, 0, sizeof(cmd));
        cmd.type = MD_CMD_UNBRIDGE;
        cmd.slot = rec->slot;
        cmd.id = rec->local_id;
        int rc = md_ctl_exec(a->ctl, rec->worker, &cmd, &rep);
        if (rc != 0)
            engine_error(r, rc, "unbridge");
        else
            pack_empty(r);
    }
    medley__v1__channel_ref__free_unpacked(q, NULL);
}

/* ---- prompts and stats ---- */

static void load_prompt(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    UNPACK(Medley__V1__LoadPromptRequest, medley__v1__load_prompt_request__unpack, q, req, len, r);
    char err[256];
    const md_prompt_t *p;
    int rc = q->path[0] == '\0' ? -EINVAL : md_ctl_load_prompt(a->ctl, q->name, q->path, &p, err, sizeof(err));
    if (q->path[0] == '\0')
        snprintf(err, sizeof(err), "path: required");
    if (rc != 0) {
        /* A file that cannot be opened is NOT_FOUND; bad content INVALID_ARGUMENT. */
        r->status = rc == -ENOENT ? MD_GRPC_NOT_FOUND
                    : rc == -ENOSPC ? MD_GRPC_RESOURCE_EXHAUSTED
                    : rc == -EACCES || rc == -EPERM ? MD_GRPC_PERMISSION_DENIED
                    : rc == -ENOMEM ? MD_GRPC_RESOURCE_EXHAUSTED
                                    : MD_GRPC_INVALID_ARGUMENT;
        snprintf(r->message, sizeof(r->message), "%s", err);
    } else {
        Medley__V1__Prompt m = MEDLEY__V1__PROMPT__INIT;
        m.name = (char *)p->name;
        m.duration_ms = (uint32_t)(p->samples / 8);
        pack(r, &m.base);
    }
    medley__v1__load_prompt_request__free_unpacked(q, NULL);
}

static void list_prompts(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    UNPACK(Medley__V1__Empty, medley__v1__empty__unpack, q, req, len, r);
    medley__v1__empty__free_unpacked(q, NULL);
    unsigned n = a->ctl->n_current, k = 0;
    Medley__V1__Prompt *ps = calloc(n ? n : 1, sizeof(*ps));
    Medley__V1__Prompt **pp = calloc(n ? n : 1, sizeof(*pp));
    if (ps == NULL || pp == NULL) {
        set_error(r, MD_GRPC_RESOURCE_EXHAUSTED, "%s", "out of memory listing prompts");
    } else {
        for (md_ctl_prompt_t *p = a->ctl->prompts; p != NULL && k < n; p = p->next) {
            if (!p->current)
                continue;
            Medley__V1__Prompt init = MEDLEY__V1__PROMPT__INIT;
            ps[k] = init;
            ps[k].name = p->p.name;
            ps[k].duration_ms = (uint32_t)(p->p.samples / 8);
            pp[k] = &ps[k];
            k++;
        }
        Medley__V1__PromptList list = MEDLEY__V1__PROMPT_LIST__INIT;
        list.n_prompts = k;
        list.prompts = pp;
        pack(r, &list.base);
    }
    free(ps);
    free(pp);
}

static void get_stats(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    UNPACK(Medley__V1__Empty, medley__v1__empty__unpack, q, req, len, r);
    medley__v1__empty__free_unpacked(q, NULL);
    Medley__V1__EngineStats st = MEDLEY__V1__ENGINE_STATS__INIT;
    md_api_engine_counts_t counts = { 0, 0, 0 };
    if (a->counts != NULL)
        a->counts(a->counts_arg, &counts);
    st.channels = a->ctl->used;
    st.max_channels = a->ctl->max_total;
    st.rx_packets = counts.rx_packets;
    st.tx_packets = counts.tx_packets;
    st.dropped_packets = counts.dropped_packets;
    for (unsigned i = 0; i < a->ctl->n_workers; i++)
        st.events_lost += a->ctl->workers[i].events->lost;
    st.workers = a->ctl->n_workers;
    st.subscribers = a->n_subs;
    pack(r, &st.base);
}

/* ---- events ---- */

static void stream_events(void *app, md_grpc_call_t *call, const uint8_t *req, size_t len,
                          md_grpc_reply_t *r)
{
    md_api_t *a = app;
    UNPACK(Medley__V1__EventFilter, medley__v1__event_filter__unpack, q, req, len, r);
    md_api_sub_t *s = NULL;
    if (a->n_subs >= a->max_subs) {
        r->status = MD_GRPC_RESOURCE_EXHAUSTED;
        snprintf(r->message, sizeof(r->message), "at most %u event subscribers", a->max_subs);
    } else if (q->n_channels > MAX_FILTER) {
        r->status = MD_GRPC_INVALID_ARGUMENT;
        snprintf(r->message, sizeof(r->message), "channels: at most %d in a filter", MAX_FILTER);
    } else if ((s = calloc(1, sizeof(*s))) == NULL) {
        set_error(r, MD_GRPC_RESOURCE_EXHAUSTED, "%s", "out of memory");
    } else {
        for (size_t i = 0; i < q->n_types; i++) {
            if (q->types[i] <= 0 || q->types[i] > MEDLEY__V1__EVENT_TYPE__ACD) {
                r->status = MD_GRPC_INVALID_ARGUMENT;
                snprintf(r->message, sizeof(r->message), "types[%zu] = %d: not an event type", i,
                         (int)q->types[i]);
                free(s);
                s = NULL;
                break;
            }
            s->types |= 1u << q->types[i];
        }
    }
    if (s != NULL) {
        if (q->n_channels > 0)
            memcpy(s->channels, q->channels, q->n_channels * sizeof(uint32_t));
        s->n_channels = (unsigned)q->n_channels;
        s->call = call;
        s->next = a->subs;
        a->subs = s;
        a->n_subs++;
    }
    medley__v1__event_filter__free_unpacked(q, NULL);
}

void md_api_gone(void *app, md_grpc_call_t *call)
{
    md_api_t *a = app;
    for (md_api_sub_t **pp = &a->subs; *pp != NULL; pp = &(*pp)->next)
        if ((*pp)->call == call) {
            md_api_sub_t *s = *pp;
            *pp = s->next;
            free(s);
            a->n_subs--;
            return;
        }
}

static int send_event(md_api_sub_t *s, Medley__V1__Event *e)
{
    uint8_t buf[128];
    size_t n = medley__v1__event__pack(e, buf);
    return md_grpc_stream_send(s->call, buf, n);
}

/* A pending EVENTS_LOST notice goes out before the next event, as soon as it fits. */
static int flush_lost(md_api_sub_t *s)
{
    if (s->lost_pending == 0)
        return 0;
    Medley__V1__Event e = MEDLEY__V1__EVENT__INIT;
    e.type = MEDLEY__V1__EVENT_TYPE__EVENTS_LOST;
    e.lost = s->lost_pending;
    e.sequence = s->seq;
    if (send_event(s, &e) != 0)
        return -1;
    s->lost_pending = 0;
    return 0;
}

static int wants(const md_api_sub_t *s, uint32_t channel, Medley__V1__EventType type)
{
    if (s->types != 0 && !(s->types & (1u << type)))
        return 0;
    if (s->n_channels == 0)
        return 1;
    for (unsigned i = 0; i < s->n_channels; i++)
        if (s->channels[i] == channel)
            return 1;
    return 0;
}

static void pump_recordings(md_api_t *a);

unsigned md_api_pump_events(md_api_t *a)
{
    unsigned n = 0;
    pump_recordings(a);
    for (md_api_sub_t *s = a->subs; s != NULL; s = s->next)
        flush_lost(s);
    for (unsigned w = 0; w < a->ctl->n_workers; w++) {
        md_event_t ev;
        while (md_event_pop(a->ctl->workers[w].events, &ev)) {
            n++;
            a->events_in++;
            uint32_t id = ev.type == MD_EV_CONF_PROMPT_DONE ? 0 : md_ctl_event_channel(a->ctl, w, &ev);
            uint32_t conf = ev.type == MD_EV_CONF_PROMPT_DONE || ev.type == MD_EV_TALKING_START ||
                                    ev.type == MD_EV_TALKING_STOP
                                ? md_ctl_event_conf(a->ctl, w, &ev)
                                : 0;
            if (id == 0 && conf == 0)
                continue;   /* the channel or conference was deleted meanwhile */
            Medley__V1__Event e = MEDLEY__V1__EVENT__INIT;
            char digit[2] = { ev.digit, 0 };
            e.channel = id;
            e.digit = digit;
            switch (ev.type) {
            case MD_EV_DIGIT:
                e.type = MEDLEY__V1__EVENT_TYPE__DIGIT;
                e.source = ev.source == MD_DIGIT_INBAND ? MEDLEY__V1__DIGIT_SOURCE__INBAND
                                                        : MEDLEY__V1__DIGIT_SOURCE__RFC4733;
                e.start_ms = ev.start_ms;
                e.duration_ms = ev.duration_ms;
                break;
            case MD_EV_PROMPT_DONE:
                e.type = MEDLEY__V1__EVENT_TYPE__PROMPT_DONE;
                break;
            case MD_EV_NO_MEDIA:
                e.type = MEDLEY__V1__EVENT_TYPE__NO_MEDIA;
                break;
            case MD_EV_TALKING_START:
                e.type = MEDLEY__V1__EVENT_TYPE__TALKING_STARTED;
                e.start_ms = a->now_ms;
                break;
            case MD_EV_TALKING_STOP:
                e.type = MEDLEY__V1__EVENT_TYPE__TALKING_STOPPED;
                e.start_ms = a->now_ms;
                break;
            case MD_EV_CONF_PROMPT_DONE:
                e.type = MEDLEY__V1__EVENT_TYPE__CONFERENCE_PROMPT_DONE;
                break;
            default:
                continue;   /* a type this API does not carry */
            }
            e.conference = conf;
            for (md_api_sub_t *s = a->subs; s != NULL; s = s->next) {
                if (!wants(s, id, e.type))
                    continue;
                s->seq++;
                e.sequence = s->seq;
                if (flush_lost(s) != 0 || send_event(s, &e) != 0)
                    s->lost_pending++;
            }
            if (a->acd != NULL && id != 0) {
                a->acd->now_ms = acd_now(a);
                md_acd_svc_event(a->acd, id, &ev);
            }
            if (a->ivrs != NULL)
                md_ivrs_on_event(a->ivrs, id, &ev);
            if (a->on_event != NULL)
                a->on_event(a->on_event_arg, id, &ev);
        }
    }
    return n;
}

void md_api_close(md_api_t *a)
{
    while (a->subs != NULL) {
        md_api_sub_t *s = a->subs;
        a->subs = s->next;
        md_grpc_stream_finish(s->call, MD_GRPC_UNAVAILABLE, "medleyd is stopping");
        free(s);
    }
    a->n_subs = 0;
}

/* ---- IVR ---- */

/* A caller its agent sent to an IVR step (IvrStep, ACD-6) comes back to the agent when
 * the flow ends: the flow's transfer target ("verified", "failed", ...) or "hangup" is the
 * result the agent gets. Returns 1 if the note was that. */
static int ivr_step_done(md_api_t *a, uint32_t channel, const md_ivr_note_t *n)
{
    if (a->acd == NULL || (n->kind != MD_IVR_NOTE_TRANSFER && n->kind != MD_IVR_NOTE_HANGUP) ||
        md_ctl_find(a->ctl, channel) == NULL)
        return 0;
    uint32_t call = a->acd->caller_call[channel & ((1u << MD_CTL_ID_BITS) - 1)];
    md_acd_call_info_t info;
    if (call == 0 || md_acd_call_info(a->acd->acd, call, &info) != 0 || info.phase != MD_ACD_CALL_HOLD)
        return 0;
    a->acd->now_ms = acd_now(a);
    const char *result = n->kind == MD_IVR_NOTE_TRANSFER && n->queue != NULL ? n->queue : "hangup";
    /* -EINVAL: on an ordinary hold, not away at a step. */
    return md_acd_ivr_return(a->acd->acd, call, result, acd_now(a)) == 0;
}

void md_api_publish_ivr(void *api, uint32_t channel, const md_ivr_note_t *n)
{
    md_api_t *a = api;
    int back = ivr_step_done(a, channel, n);
    /* A transfer to a queue the ACD has: the caller waits there, the trail as its data. */
    if (!back && n->kind == MD_IVR_NOTE_TRANSFER && a->acd != NULL && n->queue != NULL &&
        md_acd_queue_find(a->acd->acd, n->queue) >= 0) {
        const char *ani = "", *cls = "";
        for (unsigned i = 0; i < n->n_vars; i++) {
            if (strcmp(n->vars[i].name, "ani") == 0)
                ani = n->vars[i].value;
            else if (strcmp(n->vars[i].name, "class") == 0)
                cls = n->vars[i].value;
        }
        uint32_t call;
        a->acd->now_ms = acd_now(a);
        md_acd_svc_enter(a->acd, channel, n->queue, ani, strcmp(cls, "vip") == 0 ? 3 : 0,
                         n->trail, NULL, 0, &call);
    }
    Medley__V1__Event e = MEDLEY__V1__EVENT__INIT;
    Medley__V1__Event__VarsEntry ents[MD_IVR_VARS], *ptrs[MD_IVR_VARS];
    switch (n->kind) {
    case MD_IVR_NOTE_STEP: e.type = MEDLEY__V1__EVENT_TYPE__IVR_STEP; break;
    case MD_IVR_NOTE_LOOKUP: e.type = MEDLEY__V1__EVENT_TYPE__IVR_LOOKUP; break;
    case MD_IVR_NOTE_TRANSFER: e.type = MEDLEY__V1__EVENT_TYPE__IVR_TRANSFER; break;
    case MD_IVR_NOTE_HANGUP: e.type = MEDLEY__V1__EVENT_TYPE__IVR_HANGUP; break;
    default: return;
    }
    e.channel = channel;
    e.step = (char *)(n->step ? n->step : "");
    e.lookup = (char *)(n->lookup ? n->lookup : "");
    e.queue = (char *)(n->queue ? n->queue : "");
    e.reason = (char *)(n->reason ? n->reason : "");
    e.trail = (char *)(n->trail ? n->trail : "");
    for (unsigned i = 0; i < n->n_vars && i < MD_IVR_VARS; i++) {
        Medley__V1__Event__VarsEntry init = MEDLEY__V1__EVENT__VARS_ENTRY__INIT;
        ents[i] = init;
        ents[i].key = (char *)n->vars[i].name;
        ents[i].value = (char *)n->vars[i].value;
        ptrs[i] = &ents[i];
    }
    e.n_vars = n->n_vars < MD_IVR_VARS ? n->n_vars : MD_IVR_VARS;
    e.vars = ptrs;
    size_t len = medley__v1__event__get_packed_size(&e);
    uint8_t *buf = malloc(len ? len : 1);
    if (buf == NULL)
        return;
    medley__v1__event__pack(&e, buf);
    for (md_api_sub_t *s = a->subs; s != NULL; s = s->next) {
        if (!wants(s, channel, e.type))
            continue;
        s->seq++;
        /* The sequence differs per subscriber: patch it by re-packing for each. */
        e.sequence = s->seq;
        size_t l2 = medley__v1__event__get_packed_size(&e);
        uint8_t *b2 = malloc(l2 ? l2 : 1);
        if (b2 == NULL) {
            s->lost_pending++;
            continue;
        }
        medley__v1__event__pack(&e, b2);
        if (flush_lost(s) != 0 || md_grpc_stream_send(s->call, b2, l2) != 0)
            s->lost_pending++;
        free(b2);
    }
    free(buf);
}

static int ivr_ready(md_api_t *a, md_grpc_reply_t *r)
{
    if (a->ivrs == NULL) {
        set_error(r, MD_GRPC_UNAVAILABLE, "%s", "the IVR is not running in this engine");
        return 0;
    }
    return 1;
}

static void flow_msg(md_api_t *a, const md_ivrs_flow_t *fv, const char *name, const char *path,
                     Medley__V1__Flow *m, char **warn_ptrs, char *warn_copy, size_t warn_len)
{
    m->name = (char *)name;
    m->path = (char *)path;
    m->sessions = md_ivrs_flow_sessions(a->ivrs, name);
    m->prompts = fv->prompts;
    /* Warnings: one per line. */
    snprintf(warn_copy, warn_len, "%s", fv->warnings);
    size_t nw = 0;
    for (char *line = strtok(warn_copy, "\n"); line != NULL && nw < 32; line = strtok(NULL, "\n"))
        warn_ptrs[nw++] = line;
    m->n_warnings = nw;
    m->warnings = warn_ptrs;
}

static void load_flow_common(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r,
                             int check_only)
{
    md_api_t *a = app;
    if (!ivr_ready(a, r))
        return;
    UNPACK(Medley__V1__LoadFlowRequest, medley__v1__load_flow_request__unpack, q, req, len, r);
    char err[256] = "";
    md_ivrs_flow_t *fv = NULL;
    md_ivrs_flow_t *checked = calloc(1, sizeof(*checked));
    char *warn_copy = malloc(sizeof(checked->warnings));
    int rc = checked == NULL || warn_copy == NULL ? -ENOMEM
             : q->path[0] == '\0'                ? -EINVAL
                                                 : md_ivrs_load_flow(a->ivrs, q->path, check_only, &fv, checked,
                                                                     err, sizeof(err));
    if (q->path[0] == '\0')
        snprintf(err, sizeof(err), "path: required");
    if (rc != 0) {
        r->status = rc == -ENOENT && strstr(err, "prompt") == NULL ? MD_GRPC_NOT_FOUND
                    : rc == -ENOSPC || rc == -ENOMEM          ? MD_GRPC_RESOURCE_EXHAUSTED
                    : rc == -EACCES                           ? MD_GRPC_PERMISSION_DENIED
                                                              : MD_GRPC_INVALID_ARGUMENT;
        snprintf(r->message, sizeof(r->message), "%s", err[0] ? err : strerror(-rc));
    } else {
        Medley__V1__Flow m = MEDLEY__V1__FLOW__INIT;
        char *warn_ptrs[32];
        char *langs[MD_FLOW_LANGS];
        if (check_only) {
            /* The checked copy has no tree; report from a fresh parse-free view. */
            flow_msg(a, checked, "", q->path, &m, warn_ptrs, warn_copy, sizeof(checked->warnings));
            md_flow_t *f = NULL;
            char e2[64], w2[8];
            if (md_flow_load(q->path, &f, e2, sizeof(e2), w2, sizeof(w2)) == 0) {
                m.name = f->name;
                m.steps = f->n_steps;
                for (unsigned i = 0; i < f->n_languages; i++)
                    langs[i] = f->languages[i];
                m.n_languages = f->n_languages;
                m.languages = langs;
                m.sessions = md_ivrs_flow_sessions(a->ivrs, f->name);
                pack(r, &m.base);
                md_flow_free(f);
            } else {
                pack(r, &m.base);
            }
        } else {
            flow_msg(a, fv, fv->flow->name, fv->flow->path, &m, warn_ptrs, warn_copy,
                     sizeof(checked->warnings));
            m.steps = fv->flow->n_steps;
            for (unsigned i = 0; i < fv->flow->n_languages; i++)
                langs[i] = fv->flow->languages[i];
            m.n_languages = fv->flow->n_languages;
            m.languages = langs;
            pack(r, &m.base);
        }
    }
    free(checked);
    free(warn_copy);
    medley__v1__load_flow_request__free_unpacked(q, NULL);
}

static void load_flow(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    load_flow_common(app, req, len, r, 0);
}

static void check_flow(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    load_flow_common(app, req, len, r, 1);
}

static void list_flows(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!ivr_ready(a, r))
        return;
    UNPACK(Medley__V1__Empty, medley__v1__empty__unpack, q, req, len, r);
    medley__v1__empty__free_unpacked(q, NULL);
    Medley__V1__Flow ms[MD_IVRS_FLOWS], *ptrs[MD_IVRS_FLOWS];
    char *langs[MD_IVRS_FLOWS][MD_FLOW_LANGS];
    unsigned k = 0;
    for (md_ivrs_flow_t *f = a->ivrs->flows; f != NULL && k < MD_IVRS_FLOWS; f = f->next) {
        if (!f->current)
            continue;
        Medley__V1__Flow init = MEDLEY__V1__FLOW__INIT;
        ms[k] = init;
        ms[k].name = f->flow->name;
        ms[k].path = f->flow->path;
        ms[k].steps = f->flow->n_steps;
        ms[k].prompts = f->prompts;
        ms[k].sessions = md_ivrs_flow_sessions(a->ivrs, f->flow->name);
        for (unsigned i = 0; i < f->flow->n_languages; i++)
            langs[k][i] = f->flow->languages[i];
        ms[k].n_languages = f->flow->n_languages;
        ms[k].languages = langs[k];
        ptrs[k] = &ms[k];
        k++;
    }
    Medley__V1__FlowList list = MEDLEY__V1__FLOW_LIST__INIT;
    list.n_flows = k;
    list.flows = ptrs;
    pack(r, &list.base);
}

static void start_ivr(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!ivr_ready(a, r))
        return;
    UNPACK(Medley__V1__StartIvrRequest, medley__v1__start_ivr_request__unpack, q, req, len, r);
    char err[200] = "";
    int rc = q->flow[0] == '\0' ? -EINVAL
             : strlen(q->ani) > 31 ? -E2BIG
             : md_ivrs_start(a->ivrs, q->channel, q->flow, q->ani, q->language, err, sizeof(err));
    if (q->flow[0] == '\0')
        snprintf(err, sizeof(err), "flow: required");
    if (rc == -E2BIG)
        snprintf(err, sizeof(err), "ani: at most 31 characters");
    if (rc != 0) {
        r->status = rc == -ENOENT ? MD_GRPC_NOT_FOUND
                    : rc == -EBUSY ? MD_GRPC_FAILED_PRECONDITION
                    : rc == -ENOMEM ? MD_GRPC_RESOURCE_EXHAUSTED
                                    : MD_GRPC_INVALID_ARGUMENT;
        snprintf(r->message, sizeof(r->message), "%s", err);
    } else {
        pack_empty(r);
    }
    medley__v1__start_ivr_request__free_unpacked(q, NULL);
}

static void stop_ivr(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!ivr_ready(a, r))
        return;
    UNPACK(Medley__V1__ChannelRef, medley__v1__channel_ref__unpack, q, req, len, r);
    if (md_ivrs_stop(a->ivrs, q->channel) != 0) {
        r->status = MD_GRPC_NOT_FOUND;
        snprintf(r->message, sizeof(r->message), "no IVR session on channel %u", q->channel);
    } else {
        pack_empty(r);
    }
    medley__v1__channel_ref__free_unpacked(q, NULL);
}

static void ivr_answer(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!ivr_ready(a, r))
        return;
    UNPACK(Medley__V1__IvrAnswerRequest, medley__v1__ivr_answer_request__unpack, q, req, len, r);
    md_ivr_var_t vars[MD_IVR_VARS];
    unsigned n = 0;
    char msg[160] = "";
    if (q->n_vars > MD_IVR_VARS)
        snprintf(msg, sizeof(msg), "vars: at most %d", MD_IVR_VARS);
    for (size_t i = 0; !msg[0] && i < q->n_vars; i++) {
        if (strlen(q->vars[i]->key) == 0 || strlen(q->vars[i]->key) >= MD_FLOW_NAME ||
            strlen(q->vars[i]->value) >= MD_IVR_VALUE) {
            snprintf(msg, sizeof(msg), "vars: '%.40s': names 1-%d bytes, values under %d bytes",
                     q->vars[i]->key, MD_FLOW_NAME - 1, MD_IVR_VALUE);
            break;
        }
        memset(&vars[n], 0, sizeof(vars[n]));
        snprintf(vars[n].name, sizeof(vars[n].name), "%s", q->vars[i]->key);
        snprintf(vars[n].value, sizeof(vars[n].value), "%s", q->vars[i]->value);
        n++;
    }
    if (msg[0]) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", msg);
    } else {
        int rc = md_ivrs_answer(a->ivrs, q->channel, q->result, vars, n);
        if (rc == -ENOENT) {
            r->status = MD_GRPC_NOT_FOUND;
            snprintf(r->message, sizeof(r->message), "no IVR session on channel %u", q->channel);
        } else if (rc != 0) {
            set_error(r, MD_GRPC_FAILED_PRECONDITION, "%s", "the session is not waiting for a lookup");
        } else {
            pack_empty(r);
        }
    }
    medley__v1__ivr_answer_request__free_unpacked(q, NULL);
}

/* ---- recording ---- */

static void start_recording(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    UNPACK(Medley__V1__RecordRequest, medley__v1__record_request__unpack, q, req, len, r);
    md_ctl_chan_t *rec = find_or_fail(a, q->channel, r);
    char err[256] = "";
    md_wav_format_t fmt = q->format == MEDLEY__V1__RECORD_FORMAT__ULAW ? MD_WAV_ULAW
                          : q->format == MEDLEY__V1__RECORD_FORMAT__ALAW ? MD_WAV_ALAW
                                                                          : MD_WAV_PCM16;
    if (rec == NULL)
        goto out;
    if ((int)q->format < 0 || q->format > MEDLEY__V1__RECORD_FORMAT__ALAW) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "format: PCM16, ULAW or ALAW");
        goto out;
    }
    if (q->path[0] == '\0') {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "path: required");
        goto out;
    }
    int rc = md_ctl_record_start(a->ctl, rec, q->path, fmt, q->stereo, err, sizeof(err));
    if (rc != 0) {
        r->status = rc == -EPERM ? MD_GRPC_PERMISSION_DENIED
                    : rc == -EEXIST ? MD_GRPC_ALREADY_EXISTS
                    : rc == -ENOENT || rc == -ENOTDIR ? MD_GRPC_NOT_FOUND
                    : rc == -ENODEV ? MD_GRPC_FAILED_PRECONDITION
                    : rc == -EBUSY ? MD_GRPC_FAILED_PRECONDITION
                    : rc == -ENOSPC ? MD_GRPC_RESOURCE_EXHAUSTED
                    : rc == -ETIMEDOUT ? MD_GRPC_UNAVAILABLE
                                       : MD_GRPC_INVALID_ARGUMENT;
        snprintf(r->message, sizeof(r->message), "%s", err[0] ? err : strerror(-rc));
        goto out;
    }
    Medley__V1__Recording m = MEDLEY__V1__RECORDING__INIT;
    recording_msg(rec->api_id, rec->rec_path, fmt, q->stereo, 0, NULL, &m);
    pack(r, &m.base);
out:
    medley__v1__record_request__free_unpacked(q, NULL);
}

static void recording_op(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r, int op)
{
    md_api_t *a = app;
    UNPACK(Medley__V1__ChannelRef, medley__v1__channel_ref__unpack, q, req, len, r);
    md_ctl_chan_t *rec = find_or_fail(a, q->channel, r);
    if (rec != NULL && (rec->rec_id == 0 || a->ctl->rec == NULL)) {
        r->status = MD_GRPC_NOT_FOUND;
        snprintf(r->message, sizeof(r->message), "channel %u is not recording", q->channel);
    } else if (rec != NULL) {
        int rc = op == 0   ? md_ctl_record_stop(a->ctl, rec)
                 : op == 1 ? md_recorder_pause(a->ctl->rec, rec->rec_id)
                           : md_recorder_resume(a->ctl->rec, rec->rec_id);
        if (rc != 0) {
            engine_error(r, rc, "recording");
        } else {
            if (op != 0)
                rec->rec_paused = op == 1;
            pack_empty(r);
        }
    }
    medley__v1__channel_ref__free_unpacked(q, NULL);
}

static void stop_recording(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    recording_op(app, req, len, r, 0);
}

static void pause_recording(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    recording_op(app, req, len, r, 1);
}

static void resume_recording(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    recording_op(app, req, len, r, 2);
}

/* Recordings that ended (stopped, or by an error) become RECORDING_ENDED events. */
static void pump_recordings(md_api_t *a)
{
    md_rec_event_t rev;
    if (a->ctl->rec == NULL)
        return;
    while (md_recorder_poll_event(a->ctl->rec, &rev)) {
        struct md_ctl_ending who;
        if (!md_ctl_take_ending(a->ctl, rev.id, &who))
            continue;
        Medley__V1__Event e = MEDLEY__V1__EVENT__INIT;
        Medley__V1__Recording m = MEDLEY__V1__RECORDING__INIT;
        char reason[64];
        recording_msg(who.api_id, who.path, who.format, who.stereo, 0, &rev.stats, &m);
        snprintf(reason, sizeof(reason), "%s",
                 rev.stats.error == 0 ? "stopped"
                 : rev.stats.error == -ENOSPC ? "disk full"
                                              : strerror(-rev.stats.error));
        e.type = MEDLEY__V1__EVENT_TYPE__RECORDING_ENDED;
        e.channel = who.api_id;
        e.reason = reason;
        e.recording = &m;
        for (md_api_sub_t *s = a->subs; s != NULL; s = s->next) {
            if (!wants(s, who.api_id, e.type))
                continue;
            s->seq++;
            e.sequence = s->seq;
            uint8_t buf[512];
            if (medley__v1__event__get_packed_size(&e) > sizeof(buf)) {
                s->lost_pending++;
                continue;
            }
            size_t n = medley__v1__event__pack(&e, buf);
            if (flush_lost(s) != 0 || md_grpc_stream_send(s->call, buf, n) != 0)
                s->lost_pending++;
        }
    }
}

/* ---- conferences ---- */

static md_ctl_conf_t *conf_or_fail(md_api_t *a, uint32_t id, md_grpc_reply_t *r)
{
    md_ctl_conf_t *cf = md_ctl_find_conf(a->ctl, id);
    if (cf == NULL) {
        r->status = MD_GRPC_NOT_FOUND;
        snprintf(r->message, sizeof(r->message), "no conference %u", id);
    }
    return cf;
}

static int conf_cmd(md_api_t *a, md_ctl_conf_t *cf, md_cmd_t *cmd, md_cmd_reply_t *rep)
{
    cmd->conf.slot = cf->idx;
    cmd->conf.id = cf->local_id;
    return md_ctl_exec(a->ctl, cf->worker, cmd, rep);
}

static void conference_msg(uint32_t api_id, const md_conf_info_t *in, Medley__V1__Conference *m)
{
    m->conference = api_id;
    m->members = in->members;
    m->k = in->k;
    m->talkers = in->talkers;
    m->playing = in->playing;
}

static void conf_error(md_grpc_reply_t *r, int rc, const char *what)
{
    if (rc == -EBUSY)
        set_error(r, MD_GRPC_FAILED_PRECONDITION, "%s: the channel is bridged or already in a conference", what);
    else if (rc == -ENOTSUP)
        set_error(r, MD_GRPC_UNAVAILABLE, "%s: conferences are off in this engine", what);
    else if (rc == -ENOSPC)
        set_error(r, MD_GRPC_RESOURCE_EXHAUSTED, "%s: every conference of the worker is in use", what);
    else
        engine_error(r, rc, what);
}

static int valid_gain(float g)
{
    return g >= -60.0f && g <= 12.0f;
}

static void create_conference(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    UNPACK(Medley__V1__CreateConferenceRequest, medley__v1__create_conference_request__unpack, q, req, len, r);
    unsigned worker = 0;
    if (q->k > MD_CONF_K_MAX || q->hangover_ms > 10000) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "k: 0..16; hangover_ms: 0..10000");
        goto out;
    }
    if (q->near_channel != 0) {
        md_ctl_chan_t *n = md_ctl_find(a->ctl, q->near_channel);
        if (n == NULL) {
            set_error(r, MD_GRPC_NOT_FOUND, "%s", "near_channel: no such channel");
            goto out;
        }
        worker = n->worker;
    }
    md_cmd_t cmd;
    md_cmd_reply_t rep;
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = MD_CMD_CONF_CREATE;
    cmd.conf.k = (uint8_t)q->k;
    cmd.conf.hangover_ms = (uint16_t)q->hangover_ms;
    int rc = md_ctl_exec(a->ctl, worker, &cmd, &rep);
    md_ctl_conf_t *cf = rc == 0 ? md_ctl_conf_created(a->ctl, worker, rep.conf.slot, rep.conf.id) : NULL;
    if (rc != 0 || cf == NULL) {
        conf_error(r, rc ? rc : -ENOSPC, "create conference");
        goto out;
    }
    Medley__V1__Conference m = MEDLEY__V1__CONFERENCE__INIT;
    conference_msg(cf->api_id, &rep.conf, &m);
    pack(r, &m.base);
out:
    medley__v1__create_conference_request__free_unpacked(q, NULL);
}

static void conference_ref_op(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r, int del)
{
    md_api_t *a = app;
    UNPACK(Medley__V1__ConferenceRef, medley__v1__conference_ref__unpack, q, req, len, r);
    md_ctl_conf_t *cf = conf_or_fail(a, q->conference, r);
    if (cf != NULL) {
        md_cmd_t cmd;
        md_cmd_reply_t rep;
        memset(&cmd, 0, sizeof(cmd));
        cmd.type = del ? MD_CMD_CONF_DELETE : MD_CMD_CONF_GET;
        cmd.conf.rebridge = (uint8_t)q->rebridge;
        int rc = conf_cmd(a, cf, &cmd, &rep);
        if (rc == -EINVAL && del) {
            set_error(r, MD_GRPC_FAILED_PRECONDITION, "%s", "rebridge: the conference must have exactly two members");
        } else if (rc != 0) {
            conf_error(r, rc, del ? "delete conference" : "get conference");
        } else if (del) {
            if (cf->rec_id != 0 && a->ctl->rec != NULL)
                md_recorder_stop(a->ctl->rec, cf->rec_id);
            md_ctl_conf_gone(a->ctl, cf);
            pack_empty(r);
        } else {
            Medley__V1__Conference m = MEDLEY__V1__CONFERENCE__INIT;
            conference_msg(cf->api_id, &rep.conf, &m);
            pack(r, &m.base);
        }
    }
    medley__v1__conference_ref__free_unpacked(q, NULL);
}

static void delete_conference(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    conference_ref_op(app, req, len, r, 1);
}

static void get_conference(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    conference_ref_op(app, req, len, r, 0);
}

static void member_op(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r, md_cmd_type_t type)
{
    md_api_t *a = app;
    UNPACK(Medley__V1__MemberRequest, medley__v1__member_request__unpack, q, req, len, r);
    md_ctl_conf_t *cf = conf_or_fail(a, q->conference, r);
    md_ctl_chan_t *rec = cf != NULL ? find_or_fail(a, q->channel, r) : NULL;
    md_ctl_prompt_t *music = NULL;
    if (rec == NULL)
        goto out;
    if (rec->worker != cf->worker && type != MD_CMD_CONF_ADD) {
        set_error(r, MD_GRPC_NOT_FOUND, "%s", "the channel is not a member of this conference");
        goto out;
    }
    if ((int)q->role < 0 || q->role > MEDLEY__V1__MEMBER_ROLE__BARGE || !valid_gain(q->in_gain_db) ||
        !valid_gain(q->out_gain_db)) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "role: PARTY..BARGE; gains: -60..+12 dB");
        goto out;
    }
    md_ctl_prompt_t *announce = NULL;
    if (q->announcement[0] != '\0') {
        if (q->hold_music[0] == '\0' || q->announce_every_s < 1 || q->announce_every_s > 3600) {
            set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s",
                      "announcement: with hold_music and announce_every_s 1..3600");
            goto out;
        }
        announce = md_ctl_prompt_ref(a->ctl, q->announcement);
        if (announce == NULL) {
            r->status = MD_GRPC_NOT_FOUND;
            snprintf(r->message, sizeof(r->message), "no prompt named '%.60s'", q->announcement);
            goto out;
        }
        if (a->n_held == sizeof(a->held) / sizeof(a->held[0])) {
            set_error(r, MD_GRPC_RESOURCE_EXHAUSTED, "%s", "too many held channels with announcements");
            goto out;
        }
    }
    if (q->hold_music[0] != '\0') {
        if (type != MD_CMD_CONF_SET) {
            set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "hold_music: with SetMember");
            goto out;
        }
        music = md_ctl_prompt_ref(a->ctl, q->hold_music);
        if (music == NULL) {
            r->status = MD_GRPC_NOT_FOUND;
            snprintf(r->message, sizeof(r->message), "no prompt named '%.60s'", q->hold_music);
            goto out;
        }
    }
    md_cmd_t cmd;
    md_cmd_reply_t rep;
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = type;
    cmd.slot = rec->slot;
    cmd.id = rec->local_id;
    cmd.conf.role = (uint8_t)q->role;   /* the proto's roles are md_conf_role_t's first five */
    cmd.conf.flags = (uint8_t)((q->muted ? MD_CONF_MUTE : 0) | (q->deaf ? MD_CONF_DEAF : 0) |
                               (music != NULL ? MD_CONF_HOLD : 0));
    cmd.conf.in_db = q->in_gain_db;
    cmd.conf.out_db = q->out_gain_db;
    cmd.conf.beep = (uint8_t)q->beep;
    if (music != NULL) {
        cmd.items[0].prompt = &music->p;
        cmd.n_items = 1;
    }
    /* A member joining from another worker moves to the conference's first. */
    int rc = type == MD_CMD_CONF_ADD ? md_ctl_conf_add(a->ctl, cf, rec, &cmd)
                                     : conf_cmd(a, cf, &cmd, &rep);
    if (rc == -ENOENT && type != MD_CMD_CONF_ADD) {
        set_error(r, MD_GRPC_NOT_FOUND, "%s", "the channel is not a member of this conference");
    } else if (rc == -EXDEV || rc == -ENOBUFS || rc == -EMFILE || rc == -ENODEV) {
        join_error(r, rc, "member");
    } else if (rc != 0) {
        conf_error(r, rc, "member");
    } else {
        /* The worker now reads the new music (or none), not the old. */
        if (type == MD_CMD_CONF_SET || type == MD_CMD_CONF_REMOVE) {
            md_ctl_hold_ref(a->ctl, rec, music);
            int listed = rec->announce != NULL;
            md_ctl_announce_ref(a->ctl, rec, announce);
            rec->announce_ms = q->announce_every_s * 1000;
            rec->announce_at = a->now_ms + rec->announce_ms;
            rec->announce_conf = cf->api_id;
            if (announce != NULL && !listed)
                a->held[a->n_held++] = rec->api_id;
        }
        pack_empty(r);
    }
out:
    medley__v1__member_request__free_unpacked(q, NULL);
}

static void add_member(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    member_op(app, req, len, r, MD_CMD_CONF_ADD);
}

static void set_member(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    member_op(app, req, len, r, MD_CMD_CONF_SET);
}

static void remove_member(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    member_op(app, req, len, r, MD_CMD_CONF_REMOVE);
}

static void play_to_conference(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    UNPACK(Medley__V1__ConferencePlayRequest, medley__v1__conference_play_request__unpack, q, req, len, r);
    md_ctl_conf_t *cf = conf_or_fail(a, q->conference, r);
    md_ctl_chan_t *rec = NULL;
    md_ctl_prompt_t *p = NULL;
    if (cf == NULL)
        goto out;
    if (q->channel != 0 && (rec = find_or_fail(a, q->channel, r)) == NULL)
        goto out;
    if (!valid_gain(q->gain_db) || q->loops > 65535) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "gain_db: -60..+12; loops: 0..65535");
        goto out;
    }
    if (q->prompt[0] != '\0' && (p = md_ctl_prompt_ref(a->ctl, q->prompt)) == NULL) {
        r->status = MD_GRPC_NOT_FOUND;
        snprintf(r->message, sizeof(r->message), "no prompt named '%.60s'", q->prompt);
        goto out;
    }
    if (rec != NULL && p == NULL) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "prompt: required when playing to one member");
        goto out;
    }
    md_cmd_t cmd;
    md_cmd_reply_t rep;
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = MD_CMD_CONF_PLAY;
    if (p != NULL) {
        cmd.items[0].prompt = &p->p;
        cmd.items[0].loops = (uint16_t)q->loops;
        cmd.n_items = 1;
    }
    cmd.gain_db = q->gain_db;
    if (rec != NULL) {
        cmd.conf.member = 1;
        cmd.slot = rec->slot;
        cmd.id = rec->local_id;
    }
    int rc = conf_cmd(a, cf, &cmd, &rep);
    if (rc != 0) {
        conf_error(r, rc, "play to conference");
    } else {
        if (rec == NULL)
            md_ctl_conf_play_ref(a->ctl, cf, p);
        else
            md_ctl_overlay_ref(a->ctl, rec, p);   /* a member's prompt is its overlay */
        pack_empty(r);
    }
out:
    medley__v1__conference_play_request__free_unpacked(q, NULL);
}

static void record_conference(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    UNPACK(Medley__V1__RecordConferenceRequest, medley__v1__record_conference_request__unpack, q, req,
           len, r);
    md_ctl_conf_t *cf = conf_or_fail(a, q->conference, r);
    char err[256] = "";
    md_wav_format_t fmt = q->format == MEDLEY__V1__RECORD_FORMAT__ULAW ? MD_WAV_ULAW
                          : q->format == MEDLEY__V1__RECORD_FORMAT__ALAW ? MD_WAV_ALAW
                                                                          : MD_WAV_PCM16;
    if (cf == NULL)
        goto out;
    if (a->ctl->rec == NULL) {
        set_error(r, MD_GRPC_FAILED_PRECONDITION, "%s", "recording is off (start medleyd with --record-dir)");
        goto out;
    }
    md_cmd_t cmd;
    md_cmd_reply_t rep;
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = MD_CMD_CONF_RECORD;
    if (q->path[0] == '\0') {
        /* Stop: the worker stops feeding it; the recorder finishes the file. */
        if (cf->rec_id == 0) {
            set_error(r, MD_GRPC_NOT_FOUND, "%s", "the conference is not being recorded");
            goto out;
        }
        int rc = conf_cmd(a, cf, &cmd, &rep);
        if (rc != 0) {
            conf_error(r, rc, "record conference");
            goto out;
        }
        md_recorder_stop(a->ctl->rec, cf->rec_id);
        cf->rec_id = 0;
        Medley__V1__Recording m = MEDLEY__V1__RECORDING__INIT;
        recording_msg(0, "", fmt, 0, 0, NULL, &m);
        pack(r, &m.base);
        goto out;
    }
    if (cf->rec_id != 0) {
        set_error(r, MD_GRPC_FAILED_PRECONDITION, "%s", "the conference is being recorded already");
        goto out;
    }
    md_rec_id_t id;
    int rc = md_recorder_open(a->ctl->rec, cf->worker, q->path, fmt, 1, &id, err, sizeof(err));
    if (rc != 0) {
        r->status = rc == -EPERM ? MD_GRPC_PERMISSION_DENIED
                    : rc == -EEXIST ? MD_GRPC_ALREADY_EXISTS
                    : rc == -ENOENT || rc == -ENOTDIR ? MD_GRPC_NOT_FOUND
                    : rc == -ENOSPC ? MD_GRPC_RESOURCE_EXHAUSTED
                                    : MD_GRPC_INVALID_ARGUMENT;
        snprintf(r->message, sizeof(r->message), "%s", err[0] ? err : strerror(-rc));
        goto out;
    }
    cmd.rec_id = id;
    cmd.conf.rec_mask = q->caller_view ? (uint8_t)(MD_CONF_CLASS_PARTY | MD_CONF_CLASS_AGENT) : 0;
    rc = conf_cmd(a, cf, &cmd, &rep);
    if (rc != 0) {
        md_recorder_stop(a->ctl->rec, id);
        conf_error(r, rc, "record conference");
        goto out;
    }
    cf->rec_id = id;
    Medley__V1__Recording m = MEDLEY__V1__RECORDING__INIT;
    recording_msg(0, q->path, fmt, 0, 0, NULL, &m);
    pack(r, &m.base);
out:
    medley__v1__record_conference_request__free_unpacked(q, NULL);
}

static void supervise(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    UNPACK(Medley__V1__SuperviseRequest, medley__v1__supervise_request__unpack, q, req, len, r);
    md_ctl_chan_t *caller = find_or_fail(a, q->caller, r);
    md_ctl_chan_t *agent = caller != NULL ? find_or_fail(a, q->agent, r) : NULL;
    md_ctl_chan_t *sup = agent != NULL ? find_or_fail(a, q->supervisor, r) : NULL;
    if (sup == NULL)
        goto out;
    if (q->mode < MEDLEY__V1__MEMBER_ROLE__LISTEN || q->mode > MEDLEY__V1__MEMBER_ROLE__BARGE) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "mode: LISTEN, WHISPER or BARGE");
        goto out;
    }
    if (sup == caller || sup == agent) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "the supervisor is the caller or the agent");
        goto out;
    }
    /* The bridge becomes a conference; the supervisor joins it, moving to the call's
     * worker first if it lives on another (control/ctl.h). */
    md_ctl_conf_t *cf;
    int rc = md_ctl_conf_from_bridge(a->ctl, caller, agent, &cf);
    if (rc == -ENOTCONN) {
        set_error(r, MD_GRPC_FAILED_PRECONDITION, "%s", "the caller and the agent are not bridged to each other");
        goto out;
    }
    if (rc != 0) {
        join_error(r, rc, "supervise");
        goto out;
    }
    md_cmd_t cmd;
    md_cmd_reply_t rep;
    memset(&cmd, 0, sizeof(cmd));
    cmd.conf.role = (uint8_t)q->mode;
    rc = md_ctl_conf_add(a->ctl, cf, sup, &cmd);
    if (rc == 0 && q->beep && q->mode == MEDLEY__V1__MEMBER_ROLE__BARGE) {
        cmd.type = MD_CMD_CONF_SET;
        cmd.conf.beep = 1;
        rc = conf_cmd(a, cf, &cmd, &rep);
    }
    if (rc != 0) {
        md_ctl_conf_end(a->ctl, cf, 1);   /* back to the bridge as it was */
        join_error(r, rc, rc == -EXDEV ? "supervise: the supervisor" : "supervise");
        goto out;
    }
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = MD_CMD_CONF_GET;
    conf_cmd(a, cf, &cmd, &rep);
    Medley__V1__Conference m = MEDLEY__V1__CONFERENCE__INIT;
    conference_msg(cf->api_id, &rep.conf, &m);
    pack(r, &m.base);
out:
    medley__v1__supervise_request__free_unpacked(q, NULL);
}

/* ---- the ACD ---- */

static const char *acd_event_name(const md_acd_action_t *a)
{
    switch (a->kind) {
    case MD_ACD_ACT_OFFER: return "offer";
    case MD_ACD_ACT_CANCEL: return "cancel";
    case MD_ACD_ACT_RELEASE: return "release";
    case MD_ACD_ACT_ROUTE: return "route";
    case MD_ACD_ACT_DIAL: return "dial";
    default: break;
    }
    switch (a->event) {
    case MD_ACD_EV_AGENT_STATE: return "agent_state";
    case MD_ACD_EV_QUEUED: return "queued";
    case MD_ACD_EV_CONNECTED: return "connected";
    case MD_ACD_EV_ABANDONED: return "abandoned";
    case MD_ACD_EV_OVERFLOW: return "overflow";
    case MD_ACD_EV_BLOCKED: return "blocked";
    case MD_ACD_EV_REQUEUED: return "requeued";
    case MD_ACD_EV_ENDED: return "ended";
    case MD_ACD_EV_HOLD_ALERT: return "hold_alert";
    case MD_ACD_EV_CALLBACK: return "callback";
    case MD_ACD_EV_CALLBACK_FAILED: return "callback_failed";
    case MD_ACD_EV_SURVEY: return "survey";
    case MD_ACD_EV_DIAL_MARKED: return "dial_marked";
    }
    return "acd";
}

static const char *route_name(md_acd_route_t r)
{
    switch (r) {
    case MD_ACD_ROUTE_SELF_SERVICE: return "self_service";
    case MD_ACD_ROUTE_VOICEMAIL: return "voicemail";
    case MD_ACD_ROUTE_SURVEY: return "survey";
    case MD_ACD_ROUTE_IVR_STEP: return "ivr";
    }
    return "";
}

void md_api_publish_acd(void *api, const md_acd_action_t *a)
{
    md_api_t *x = api;
    Medley__V1__Event e = MEDLEY__V1__EVENT__INIT;
    e.type = MEDLEY__V1__EVENT_TYPE__ACD;
    e.acd = (char *)acd_event_name(a);
    e.channel = a->channel;
    e.call = a->call;
    e.agent = (char *)(a->agent_id ? a->agent_id : "");
    e.agent_channel = a->agent_channel;
    e.queue = (char *)(a->queue_name ? a->queue_name
                       : a->target && a->kind != MD_ACD_ACT_OFFER ? a->target : "");
    e.reason = (char *)(a->kind == MD_ACD_ACT_ROUTE ? route_name(a->route)
                        : a->reason ? a->reason : "");
    e.value = a->value;
    e.data = (char *)(a->data ? a->data : "");
    /* Where a route goes, the number to dial, the prompt before a release; a dial-list
     * mark names its number (the call's ANI). */
    e.target = (char *)(a->target ? a->target
                        : a->event == MD_ACD_EV_DIAL_MARKED && a->ani ? a->ani : "");
    for (md_api_sub_t *s = x->subs; s != NULL; s = s->next) {
        if (!wants(s, a->channel, e.type))
            continue;
        s->seq++;
        e.sequence = s->seq;
        uint8_t buf[1024];
        if (medley__v1__event__get_packed_size(&e) > sizeof(buf)) {
            s->lost_pending++;
            continue;
        }
        size_t n = medley__v1__event__pack(&e, buf);
        if (flush_lost(s) != 0 || md_grpc_stream_send(s->call, buf, n) != 0)
            s->lost_pending++;
    }
}

static int acd_ready(md_api_t *a, md_grpc_reply_t *r)
{
    if (a->acd == NULL) {
        set_error(r, MD_GRPC_UNAVAILABLE, "%s", "the ACD is not running in this engine");
        return 0;
    }
    a->acd->now_ms = acd_now(a);
    return 1;
}

static void acd_error(md_grpc_reply_t *r, int rc, const char *what)
{
    r->status = rc == -ENOENT ? MD_GRPC_NOT_FOUND
                : rc == -EEXIST || rc == -EALREADY ? MD_GRPC_ALREADY_EXISTS
                : rc == -ENOSPC || rc == -ENOMEM || rc == -ENOBUFS || rc == -EMFILE
                  ? MD_GRPC_RESOURCE_EXHAUSTED
                : rc == -EBUSY || rc == -EPERM || rc == -ENOTCONN || rc == -ESTALE ||
                  rc == -EXDEV ? MD_GRPC_FAILED_PRECONDITION
                : rc == -EINVAL || rc == -ERANGE ? MD_GRPC_INVALID_ARGUMENT
                : rc == -EACCES ? MD_GRPC_PERMISSION_DENIED
                : rc == -ENOTSUP || rc == -ENODEV || rc == -ETIMEDOUT || rc == -EAGAIN
                  ? MD_GRPC_UNAVAILABLE
                                 : MD_GRPC_INTERNAL;
    snprintf(r->message, sizeof(r->message), "%s: %s", what, strerror(-rc));
}

/* The call's state, or NOT_FOUND (0). */
static int acd_call_or_fail(md_api_t *a, uint32_t call, md_acd_call_info_t *info, md_grpc_reply_t *r)
{
    if (md_acd_call_info(a->acd->acd, call, info) == 0)
        return 1;
    r->status = MD_GRPC_NOT_FOUND;
    snprintf(r->message, sizeof(r->message), "no call %u in the ACD", call);
    return 0;
}

static int acd_agent_or_fail(md_api_t *a, const char *id, md_grpc_reply_t *r)
{
    int ag = md_acd_agent_find(a->acd->acd, id);
    if (ag < 0) {
        r->status = MD_GRPC_NOT_FOUND;
        snprintf(r->message, sizeof(r->message), "no agent '%.40s'", id);
    }
    return ag;
}

/* A consult or three-way in progress on the call (-EBUSY from the ACD), or an internal
 * call given where a caller's call is meant (-EPERM): FAILED_PRECONDITION saying so.
 * Returns 1 if rc was one of them. */
static int acd_consult_busy(md_grpc_reply_t *r, int rc)
{
    if (rc == -EBUSY) {
        set_error(r, MD_GRPC_FAILED_PRECONDITION, "%s",
                  "a consult or three-way is in progress on this call: ConsultComplete, ConsultConference or ConsultCancel first");
        return 1;
    }
    if (rc == -EPERM) {
        set_error(r, MD_GRPC_FAILED_PRECONDITION, "%s",
                  "an internal call between agents: there is no caller to hold, mute or transfer");
        return 1;
    }
    return 0;
}

/* FAILED_PRECONDITION (or st) with a formatted message (ACD-6 handlers). */
#define ACD_FAIL(r, st, ...)                                          \
    do {                                                              \
        (r)->status = (st);                                           \
        snprintf((r)->message, sizeof((r)->message), __VA_ARGS__);    \
    } while (0)

/* Skills from a request: a name of 1..31 bytes and a level 1..10 each, at most 8. */
static int acd_skills(Medley__V1__Skill **in, size_t n, md_acd_skill_t *out, md_grpc_reply_t *r)
{
    if (n > MD_ACD_SKILLS) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "at most 8 skills");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (in[i]->name[0] == '\0' || strlen(in[i]->name) >= MD_ACD_NAME || in[i]->level < 1 ||
            in[i]->level > 10) {
            set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "skills: a name and a level 1..10 each");
            return -1;
        }
        snprintf(out[i].name, sizeof(out[i].name), "%s", in[i]->name);
        out[i].level = in[i]->level;
    }
    return (int)n;
}

static void add_queue(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__QueueConfig, medley__v1__queue_config__unpack, q, req, len, r);
    md_acd_queue_cfg_t cfg;
    if (q->name[0] == '\0' || strlen(q->name) >= MD_ACD_NAME || strlen(q->skill) >= MD_ACD_NAME ||
        strlen(q->lang) >= sizeof(cfg.lang) || strlen(q->survey) >= sizeof(cfg.survey) ||
        q->min_level > 10 || (int)q->strategy < 0 ||
        q->strategy > MEDLEY__V1__ACD_STRATEGY__RING_ALL) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s",
                  "name: 1..31 bytes; skill and survey under 32; min_level 0..10; a known strategy");
        goto out;
    }
    md_acd_queue_defaults(&cfg, q->name);
    if (q->skill[0])
        snprintf(cfg.skill, sizeof(cfg.skill), "%s", q->skill);
    if (q->min_level)
        cfg.min_level = q->min_level;
    cfg.strategy = (md_acd_strategy_t)q->strategy;
    cfg.max_len = q->max_len;
    cfg.max_wait_ms = q->max_wait_ms;
    if (q->offer_timeout_ms)
        cfg.offer_timeout_ms = q->offer_timeout_ms;
    cfg.acw_ms = q->acw_ms;
    cfg.announce_first_ms = q->announce_first_ms;
    cfg.announce_every_ms = q->announce_every_ms;
    cfg.announce_agent = q->announce_agent;
    if (q->lang[0])
        snprintf(cfg.lang, sizeof(cfg.lang), "%s", q->lang);
    if (q->survey[0])
        snprintf(cfg.survey, sizeof(cfg.survey), "%s", q->survey);
    int rc = md_acd_queue_add(a->acd->acd, &cfg);
    if (rc < 0)
        acd_error(r, rc, "add queue");
    else
        pack_empty(r);
out:
    medley__v1__queue_config__free_unpacked(q, NULL);
}

static void add_agent(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__AgentConfig, medley__v1__agent_config__unpack, q, req, len, r);
    md_acd_agent_cfg_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    if (q->id[0] == '\0' || strlen(q->id) >= MD_ACD_NAME || q->n_skills > MD_ACD_SKILLS) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "id: 1..31 bytes; at most 8 skills");
        goto out;
    }
    snprintf(cfg.id, sizeof(cfg.id), "%s", q->id);
    if (acd_skills(q->skills, q->n_skills, cfg.skills, r) < 0)
        goto out;
    cfg.n_skills = (unsigned)q->n_skills;
    cfg.auto_answer = q->auto_answer;
    int rc = md_acd_agent_add(a->acd->acd, &cfg);
    if (rc < 0)
        acd_error(r, rc, "add agent");
    else
        pack_empty(r);
out:
    medley__v1__agent_config__free_unpacked(q, NULL);
}

/* AgentReject (reject) and AgentLegFailed: the agent must have an offer (reject) or a
 * call being set up or in progress (leg failed), and it must be the request's call if one
 * is named. 1 if so, else 0 with FAILED_PRECONDITION saying why. */
static int agent_has_call(md_acd_svc_t *s, int ag, const Medley__V1__AgentRequest *q, int reject,
                          md_grpc_reply_t *r)
{
    md_acd_agent_info_t ai;
    if (md_acd_agent_info(s->acd, ag, &ai) != 0)
        return 0;
    int ok = ai.state == MD_ACD_OFFERED ||
             (!reject && (ai.state == MD_ACD_RESERVED || ai.state == MD_ACD_TALKING ||
                          ai.state == MD_ACD_HOLD));
    r->status = MD_GRPC_FAILED_PRECONDITION;
    if (!ok) {
        snprintf(r->message, sizeof(r->message), "agent '%.40s' is %s: %s", q->agent,
                 md_acd_agent_state_name(ai.state),
                 reject ? "no offer to reject" : "no call being set up or in progress");
        return 0;
    }
    if (q->call != 0 && q->call != ai.call) {
        snprintf(r->message, sizeof(r->message),
                 "agent '%.40s' has call %u now, not %u (that offer is gone)", q->agent, ai.call,
                 q->call);
        return 0;
    }
    r->status = MD_GRPC_OK;
    return 1;
}

/* The agent operations: 0 login, 1 logout, 2 ready, 3 not ready, 4 answer, 5 hangup,
 * 6 reject, 7 leg failed. */
static void agent_op(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r, int op)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__AgentRequest, medley__v1__agent_request__unpack, q, req, len, r);
    md_acd_svc_t *s = a->acd;
    int ag = md_acd_agent_find(s->acd, q->agent);
    int rc;
    if (ag < 0) {
        r->status = MD_GRPC_NOT_FOUND;
        snprintf(r->message, sizeof(r->message), "no agent '%.40s'", q->agent);
        goto out;
    }
    if ((op == 0 && q->channel != 0) || op == 4) {
        if (md_ctl_find(a->ctl, q->channel) == NULL) {
            r->status = MD_GRPC_NOT_FOUND;
            snprintf(r->message, sizeof(r->message), "no channel %u", q->channel);
            goto out;
        }
    }
    switch (op) {
    case 0:
        /* Tied to the connection: logged out when it closes (md_api_conn_closed). */
        rc = md_acd_agent_login(s->acd, ag, q->tie_to_connection ? r->conn : 0, q->channel,
                                s->now_ms);
        if (rc == 0 && q->channel != 0)
            s->agent_on[q->channel & ((1u << MD_CTL_ID_BITS) - 1)] = ag;
        break;
    case 1: rc = md_acd_agent_logout(s->acd, ag, s->now_ms); break;
    case 2: rc = md_acd_agent_ready(s->acd, ag, s->now_ms); break;
    case 3: rc = md_acd_agent_not_ready(s->acd, ag, q->reason[0] ? q->reason : "break", s->now_ms); break;
    case 4: rc = md_acd_agent_answer(s->acd, ag, q->call, q->channel, s->now_ms); break;
    case 5: rc = md_acd_agent_hangup(s->acd, ag, s->now_ms); break;
    default:
        if (!agent_has_call(s, ag, q, op == 6, r))
            goto out;
        rc = op == 6 ? md_acd_agent_reject(s->acd, ag, s->now_ms)
                     : md_acd_agent_leg_failed(s->acd, ag, s->now_ms);
        break;
    }
    if (rc < 0)
        acd_error(r, rc, "agent");
    else
        pack_empty(r);
out:
    medley__v1__agent_request__free_unpacked(q, NULL);
}

static void agent_login(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r) { agent_op(app, req, len, r, 0); }
static void agent_logout(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r) { agent_op(app, req, len, r, 1); }
static void agent_ready(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r) { agent_op(app, req, len, r, 2); }
static void agent_not_ready(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r) { agent_op(app, req, len, r, 3); }
static void agent_answer(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r) { agent_op(app, req, len, r, 4); }
static void agent_hangup(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r) { agent_op(app, req, len, r, 5); }
static void agent_reject(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r) { agent_op(app, req, len, r, 6); }
static void agent_leg_failed(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r) { agent_op(app, req, len, r, 7); }

static void list_agents(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__ListAgentsRequest, medley__v1__list_agents_request__unpack, q, req, len, r);
    medley__v1__list_agents_request__free_unpacked(q, NULL);
    md_acd_t *acd = a->acd->acd;
    unsigned n = md_acd_agent_count(acd);
    md_acd_agent_info_t *info = calloc(n ? n : 1, sizeof(*info));
    Medley__V1__AgentInfo *am = calloc(n ? n : 1, sizeof(*am));
    Medley__V1__AgentInfo **ap = calloc(n ? n : 1, sizeof(*ap));
    Medley__V1__Skill *sm = calloc((n ? n : 1) * MD_ACD_SKILLS, sizeof(*sm));
    Medley__V1__Skill **sp = calloc((n ? n : 1) * MD_ACD_SKILLS, sizeof(*sp));
    if (info == NULL || am == NULL || ap == NULL || sm == NULL || sp == NULL) {
        set_error(r, MD_GRPC_RESOURCE_EXHAUSTED, "%s", "out of memory for the agent list");
        goto out;
    }
    Medley__V1__AgentList m = MEDLEY__V1__AGENT_LIST__INIT;
    size_t k = 0;
    for (unsigned i = 0; i < n; i++) {
        if (md_acd_agent_info(acd, (int)i, &info[k]) != 0)
            continue;
        const md_acd_agent_info_t *in = &info[k];
        Medley__V1__AgentInfo init = MEDLEY__V1__AGENT_INFO__INIT;
        am[k] = init;
        am[k].id = (char *)in->cfg.id;
        am[k].state = (Medley__V1__AgentState)in->state;
        am[k].reason = (char *)in->reason;
        am[k].in_state_ms = acd_now(a) > in->since_ms ? acd_now(a) - in->since_ms : 0;
        am[k].call = in->call;
        am[k].channel = in->channel;
        am[k].auto_answer = in->cfg.auto_answer != 0;
        am[k].tied_to_connection = in->owner != 0;
        am[k].calls_answered = in->calls;
        am[k].consult = in->consult;
        am[k].internal_calls = in->internal_calls;
        Medley__V1__Skill *ks = &sm[k * MD_ACD_SKILLS];
        Medley__V1__Skill **kp = &sp[k * MD_ACD_SKILLS];
        for (unsigned j = 0; j < in->cfg.n_skills && j < MD_ACD_SKILLS; j++) {
            Medley__V1__Skill sinit = MEDLEY__V1__SKILL__INIT;
            ks[j] = sinit;
            ks[j].name = (char *)in->cfg.skills[j].name;
            ks[j].level = in->cfg.skills[j].level;
            kp[j] = &ks[j];
        }
        am[k].n_skills = in->cfg.n_skills;
        am[k].skills = kp;
        ap[k] = &am[k];
        k++;
    }
    m.n_agents = k;
    m.agents = ap;
    pack(r, &m.base);
out:
    free(info);
    free(am);
    free(ap);
    free(sm);
    free(sp);
}

static void get_kpi(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__KpiRequest, medley__v1__kpi_request__unpack, q, req, len, r);
    md_acd_t *acd = a->acd->acd;
    int is_agent = q->agent[0] != '\0';
    if ((q->queue[0] != '\0') == is_agent) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "name either a queue or an agent");
        goto out;
    }
    /* Agents' time in state up to now, and the half hour the clock is in. */
    md_acd_snapshot_t snap;
    memset(&snap, 0, sizeof(snap));
    md_acd_snapshot(acd, acd_now(a), &snap);
    const md_kpi_t *k;
    md_kpi_abandon_t how = MD_KPI_ABANDON_NEGATIVE;
    if (is_agent) {
        int ag = acd_agent_or_fail(a, q->agent, r);
        if (ag < 0)
            goto out;
        k = md_acd_agent_kpi(acd, ag);
    } else {
        int qi = md_acd_queue_find(acd, q->queue);
        if (qi < 0) {
            r->status = MD_GRPC_NOT_FOUND;
            snprintf(r->message, sizeof(r->message), "no queue '%.40s'", q->queue);
            goto out;
        }
        k = md_acd_queue_kpi(acd, qi);
        how = md_acd_queue_cfg(acd, qi)->sl_abandon;
    }
    Medley__V1__Kpi m = MEDLEY__V1__KPI__INIT;
    m.queue = is_agent ? (char *)"" : q->queue;
    m.agent = is_agent ? q->agent : (char *)"";
    m.interval_start_ms = k->start_ms;
    m.sl_threshold_ms = k->sl_threshold_ms;
    m.offered = k->offered;
    m.answered = k->answered;
    m.answered_in_sl = k->answered_in_sl;
    m.abandoned = k->abandoned;
    m.abandoned_short = k->abandoned_short;
    m.overflowed = k->overflowed;
    m.deflected = k->deflected;
    m.callbacks = k->callbacks;
    m.blocked = k->blocked;
    m.transferred = k->transferred;
    m.handled = k->handled;
    m.longest_wait_ms = k->longest_wait_ms;
    m.no_answer = k->no_answer;
    m.surveys = k->surveys;
    m.internal_calls = k->internal_calls;
    m.dialed = k->dialed;
    m.dial_answered = k->dial_answered;
    m.talk_ms = k->talk_ms;
    m.hold_ms = k->hold_ms;
    m.acw_ms = k->acw_ms;
    m.ready_ms = k->ready_ms;
    m.busy_ms = k->busy_ms;
    m.not_ready_ms = k->not_ready_ms;
    m.service_level = is_agent ? -1.0 : md_kpi_service_level(k, how);
    m.asa_ms = md_kpi_asa_ms(k);
    m.abandon_rate = md_kpi_abandon_rate(k);
    m.aht_ms = md_kpi_aht_ms(k);
    m.average_acw_ms = md_kpi_acw_ms(k);
    m.occupancy = md_kpi_occupancy(k);
    m.survey_average = md_kpi_survey_avg(k);
    m.transfer_rate = md_kpi_transfer_rate(k);
    pack(r, &m.base);
out:
    medley__v1__kpi_request__free_unpacked(q, NULL);
}

void md_api_conn_closed(void *app, uint32_t conn)
{
    md_api_t *a = app;
    if (a->acd == NULL)
        return;
    a->acd->now_ms = acd_now(a);
    md_acd_svc_client_gone(a->acd, conn);
}

static void queue_call(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__QueueCallRequest, medley__v1__queue_call_request__unpack, q, req, len, r);
    uint32_t call = 0;
    if (q->priority > 3 || strlen(q->ani) >= MD_ACD_NUMBER || strlen(q->data) >= MD_ACD_DATA) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "priority 0..3; ani under 32 bytes; data under 256");
        goto out;
    }
    int rc = md_acd_svc_enter(a->acd, q->channel, q->queue, q->ani, (int)q->priority, q->data,
                              q->language[0] ? q->language : NULL,
                              q->tie_to_connection ? r->conn : 0, &call);
    if (rc == -ENOENT && md_ctl_find(a->ctl, q->channel) == NULL) {
        r->status = MD_GRPC_NOT_FOUND;
        snprintf(r->message, sizeof(r->message), "no channel %u", q->channel);
    } else if (rc == -EBUSY) {
        set_error(r, MD_GRPC_FAILED_PRECONDITION, "%s", "the channel is in the ACD already");
    } else if (rc == -EACCES) {
        set_error(r, MD_GRPC_PERMISSION_DENIED, "%s", "the caller's number is blacklisted: refused (released)");
    } else if (rc < 0) {
        acd_error(r, rc, "queue call");
    } else {
        Medley__V1__QueueCallReply m = MEDLEY__V1__QUEUE_CALL_REPLY__INIT;
        m.call = call;
        pack(r, &m.base);
    }
out:
    medley__v1__queue_call_request__free_unpacked(q, NULL);
}

static void call_hangup(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__CallRef, medley__v1__call_ref__unpack, q, req, len, r);
    md_acd_call_info_t info;
    int rc = md_acd_call_hangup(a->acd->acd, q->call, acd_now(a));
    if (rc == -EINVAL && md_acd_call_info(a->acd->acd, q->call, &info) == 0 &&
        info.kind == MD_ACD_INTERNAL)
        ACD_FAIL(r, MD_GRPC_INVALID_ARGUMENT,
                 "call %u is an internal call between agents, with no caller: AgentHangup or ConsultCancel ends it", q->call);
    else if (rc < 0)
        acd_error(r, rc, "call hangup");
    else
        pack_empty(r);
    medley__v1__call_ref__free_unpacked(q, NULL);
}

static void get_acd_snapshot(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__Empty, medley__v1__empty__unpack, q, req, len, r);
    medley__v1__empty__free_unpacked(q, NULL);
    md_acd_queue_snap_t qs[64];
    md_acd_snapshot_t snap;
    memset(&snap, 0, sizeof(snap));
    snap.queues = qs;
    snap.max_queues = 64;
    md_acd_snapshot(a->acd->acd, acd_now(a), &snap);
    Medley__V1__AcdSnapshot m = MEDLEY__V1__ACD_SNAPSHOT__INIT;
    Medley__V1__QueueSnapshot qm[64], *qp[64];
    m.logged_in = snap.logged_in;
    m.idle = snap.idle;
    m.busy = snap.busy;
    m.waiting = snap.waiting;
    m.longest_wait_ms = snap.longest_wait_ms;
    for (unsigned i = 0; i < snap.n_queues && i < 64; i++) {
        Medley__V1__QueueSnapshot init = MEDLEY__V1__QUEUE_SNAPSHOT__INIT;
        qm[i] = init;
        qm[i].name = qs[i].name;
        qm[i].waiting = qs[i].waiting;
        qm[i].longest_wait_ms = qs[i].longest_wait_ms;
        qm[i].service_level = qs[i].service_level;
        qm[i].offered = qs[i].offered;
        qm[i].answered = qs[i].answered;
        qm[i].abandoned = qs[i].abandoned;
        qm[i].expected_wait_ms = qs[i].ewt_ms;
        qm[i].agents_ready = qs[i].agents[MD_ACD_READY];
        qm[i].agents_busy = qs[i].agents[MD_ACD_OFFERED] + qs[i].agents[MD_ACD_RESERVED] +
                            qs[i].agents[MD_ACD_TALKING] + qs[i].agents[MD_ACD_HOLD] +
                            qs[i].agents[MD_ACD_ACW];
        qp[i] = &qm[i];
    }
    m.n_queues = snap.n_queues;
    m.queues = qp;
    pack(r, &m.base);
}

static void call_op(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r, int hold)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__CallRef, medley__v1__call_ref__unpack, q, req, len, r);
    int rc = hold ? md_acd_call_hold(a->acd->acd, q->call, acd_now(a))
                  : md_acd_call_retrieve(a->acd->acd, q->call, acd_now(a));
    if (rc < 0 && !acd_consult_busy(r, rc))
        acd_error(r, rc, hold ? "hold" : "retrieve");
    else
        pack_empty(r);
    medley__v1__call_ref__free_unpacked(q, NULL);
}

static void call_hold(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r) { call_op(app, req, len, r, 1); }
static void call_retrieve(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r) { call_op(app, req, len, r, 0); }

static void transfer(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r, int to_queue)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__TransferRequest, medley__v1__transfer_request__unpack, q, req, len, r);
    int rc;
    if (to_queue) {
        rc = md_acd_transfer_queue(a->acd->acd, q->call, q->queue, acd_now(a));
    } else {
        int ag = md_acd_agent_find(a->acd->acd, q->agent);
        rc = ag < 0 ? -ENOENT : md_acd_transfer_agent(a->acd->acd, q->call, ag, acd_now(a));
    }
    if (rc < 0)
        acd_error(r, rc, "transfer");
    else
        pack_empty(r);
    medley__v1__transfer_request__free_unpacked(q, NULL);
}

static void transfer_to_queue(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r) { transfer(app, req, len, r, 1); }
static void transfer_to_agent(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r) { transfer(app, req, len, r, 0); }

static void blacklist(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__BlacklistRequest, medley__v1__blacklist_request__unpack, q, req, len, r);
    int rc;
    if (q->number[0] == '\0' || strlen(q->number) >= MD_ACD_NUMBER)
        rc = -EINVAL;
    else if (q->remove)
        rc = md_acd_blacklist_remove(a->acd->acd, q->number);
    else
        rc = md_acd_blacklist_add(a->acd->acd, q->number, q->release ? MD_ACD_BL_RELEASE : MD_ACD_BL_BUSY,
                                  q->seconds ? acd_now(a) + (uint64_t)q->seconds * 1000 : 0);
    if (rc < 0)
        acd_error(r, rc, "blacklist");
    else
        pack_empty(r);
    medley__v1__blacklist_request__free_unpacked(q, NULL);
}

static void survey_result(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__SurveyRequest, medley__v1__survey_request__unpack, q, req, len, r);
    int rc = q->rating < 1 || q->rating > 5 ? -EINVAL
                                             : md_acd_survey_result(a->acd->acd, q->call, (int)q->rating, acd_now(a));
    if (rc < 0)
        acd_error(r, rc, "survey");
    else
        pack_empty(r);
    medley__v1__survey_request__free_unpacked(q, NULL);
}

/* An ACD error with the host's own words (why a MONITOR or MUTE could not be done). */
static void acd_error_why(md_grpc_reply_t *r, int rc, const char *why)
{
    acd_error(r, rc, "acd");
    snprintf(r->message, sizeof(r->message), "%s", why);
}

/* The leg a dial was answered on: a channel that exists and is not in the ACD already
 * (on another worker than the agent's leg, the bridge moves one of the two). */
static int dial_leg_ok(md_api_t *a, uint32_t channel, md_grpc_reply_t *r)
{
    md_acd_svc_t *s = a->acd;
    if (channel == 0) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "channel: required with DIAL_ANSWERED");
        return 0;
    }
    md_ctl_chan_t *rec = find_or_fail(a, channel, r);
    if (rec == NULL)
        return 0;
    uint32_t g = channel & ((1u << MD_CTL_ID_BITS) - 1);
    md_acd_call_info_t other;
    if ((s->caller_call[g] != 0 && md_acd_call_info(s->acd, s->caller_call[g], &other) == 0) ||
        (s->agent_on[g] >= 0 && md_acd_agent_channel(s->acd, s->agent_on[g]) == channel)) {
        r->status = MD_GRPC_FAILED_PRECONDITION;
        snprintf(r->message, sizeof(r->message), "channel %u is in the ACD already (a caller or an agent's leg)", channel);
        return 0;
    }
    return 1;
}

static void blacklist_remove(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__BlacklistRequest, medley__v1__blacklist_request__unpack, q, req, len, r);
    if (q->number[0] == '\0' || strlen(q->number) >= MD_ACD_NUMBER) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "number: 1..31 bytes");
    } else if (md_acd_blacklist_remove(a->acd->acd, q->number) < 0) {
        r->status = MD_GRPC_NOT_FOUND;
        snprintf(r->message, sizeof(r->message), "'%.40s' is not on the blacklist", q->number);
    } else {
        pack_empty(r);
    }
    medley__v1__blacklist_request__free_unpacked(q, NULL);
}

/* ---- supervisors (ACD-7) ---- */

static void force_agent_state(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__ForceAgentRequest, medley__v1__force_agent_request__unpack, q, req, len, r);
    int ag = acd_agent_or_fail(a, q->agent, r);
    if (ag < 0)
        goto out;
    if (q->state != MEDLEY__V1__AGENT_STATE__AGENT_READY &&
        q->state != MEDLEY__V1__AGENT_STATE__AGENT_NOT_READY &&
        q->state != MEDLEY__V1__AGENT_STATE__AGENT_LOGGED_OUT) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "state: AGENT_READY, AGENT_NOT_READY or AGENT_LOGGED_OUT");
        goto out;
    }
    if (strlen(q->reason) >= MD_ACD_NAME) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "reason: under 32 bytes");
        goto out;
    }
    /* The proto's states are md_acd_agent_state_t's values. */
    int rc = md_acd_agent_force(a->acd->acd, ag, (md_acd_agent_state_t)q->state, q->reason, acd_now(a));
    if (rc == -ENOTCONN)
        set_error(r, MD_GRPC_FAILED_PRECONDITION, "agent '%.40s' is logged out: only AGENT_LOGGED_OUT applies", q->agent);
    else if (rc < 0)
        acd_error(r, rc, "force agent state");
    else
        pack_empty(r);
out:
    medley__v1__force_agent_request__free_unpacked(q, NULL);
}

static void set_agent_skills(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__AgentSkillsRequest, medley__v1__agent_skills_request__unpack, q, req, len, r);
    md_acd_skill_t skills[MD_ACD_SKILLS];
    int ag = acd_agent_or_fail(a, q->agent, r);
    int n = ag >= 0 ? acd_skills(q->skills, q->n_skills, skills, r) : -1;
    if (n >= 0) {
        int rc = md_acd_agent_set_skills(a->acd->acd, ag, skills, (unsigned)n, acd_now(a));
        if (rc < 0)
            acd_error(r, rc, "set agent skills");
        else
            pack_empty(r);
    }
    medley__v1__agent_skills_request__free_unpacked(q, NULL);
}

static void monitor_agent(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__MonitorRequest, medley__v1__monitor_request__unpack, q, req, len, r);
    int ag = acd_agent_or_fail(a, q->agent, r);
    if (ag < 0 || find_or_fail(a, q->supervisor, r) == NULL)
        goto out;
    if ((int)q->mode < 0 || q->mode > MEDLEY__V1__MONITOR_MODE__MONITOR_BARGE) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "mode: MONITOR_STOP, LISTEN, WHISPER or BARGE");
        goto out;
    }
    a->acd->why[0] = '\0';
    /* The proto's modes are md_acd_monitor_t's values. */
    int rc = md_acd_monitor(a->acd->acd, ag, q->supervisor, (md_acd_monitor_t)q->mode, acd_now(a));
    if (rc == -ENOTCONN && a->acd->why[0] == '\0')
        set_error(r, MD_GRPC_FAILED_PRECONDITION, "agent '%.40s' is not on a call", q->agent);
    else if (rc == -EBUSY && a->acd->why[0] == '\0')
        ACD_FAIL(r, MD_GRPC_FAILED_PRECONDITION,
                  "agent '%.40s' is in a consult, three-way or internal call: not monitored", q->agent);
    else if (rc < 0 && a->acd->why[0] != '\0')
        acd_error_why(r, rc, a->acd->why);
    else if (rc < 0)
        acd_error(r, rc, "monitor");
    else
        pack_empty(r);
out:
    medley__v1__monitor_request__free_unpacked(q, NULL);
}

static void force_release(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__CallRef, medley__v1__call_ref__unpack, q, req, len, r);
    md_acd_call_info_t info;
    if (acd_call_or_fail(a, q->call, &info, r)) {
        int rc = md_acd_force_release(a->acd->acd, q->call, acd_now(a));
        if (rc < 0)
            acd_error(r, rc, "force release");
        else
            pack_empty(r);
    }
    medley__v1__call_ref__free_unpacked(q, NULL);
}

/* ---- agents' operations (ACD-6) ---- */

static void call_mute(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__MuteRequest, medley__v1__mute_request__unpack, q, req, len, r);
    md_acd_call_info_t info;
    if (!acd_call_or_fail(a, q->call, &info, r))
        goto out;
    /* The engine mutes inside the caller-agent bridge: not while on hold or before. */
    if (info.phase != MD_ACD_CALL_TALKING || info.agent < 0) {
        set_error(r, MD_GRPC_FAILED_PRECONDITION, "%s", "the call is not talking to an agent (waiting, on hold, ...)");
        goto out;
    }
    a->acd->why[0] = '\0';
    int rc = md_acd_call_mute(a->acd->acd, q->call, q->muted, acd_now(a));
    if (rc < 0 && acd_consult_busy(r, rc))
        ;
    else if (rc < 0 && a->acd->why[0] != '\0')
        acd_error_why(r, rc, a->acd->why);
    else if (rc < 0)
        acd_error(r, rc, "mute");
    else
        pack_empty(r);
out:
    medley__v1__mute_request__free_unpacked(q, NULL);
}

static void ivr_step(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__IvrStepRequest, medley__v1__ivr_step_request__unpack, q, req, len, r);
    md_acd_call_info_t info;
    char err[200] = "";
    if (!acd_call_or_fail(a, q->call, &info, r))
        goto out;
    if (q->step[0] == '\0' || strlen(q->step) >= MD_ACD_NAME) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "step: a loaded flow's name, 1..31 bytes");
        goto out;
    }
    if (a->ivrs == NULL || md_ivrs_find_flow(a->ivrs, q->step) == NULL) {
        r->status = MD_GRPC_NOT_FOUND;
        snprintf(r->message, sizeof(r->message), "no flow '%.40s' loaded", q->step);
        goto out;
    }
    if (info.phase != MD_ACD_CALL_TALKING || info.agent < 0) {
        set_error(r, MD_GRPC_FAILED_PRECONDITION, "%s", "the call is not talking to an agent");
        goto out;
    }
    int rc = md_acd_ivr_step(a->acd->acd, q->call, q->step, acd_now(a));
    if (rc < 0) {
        if (!acd_consult_busy(r, rc))
            acd_error(r, rc, "ivr step");
        goto out;
    }
    /* The caller is unbridged now: the flow runs on its channel and its end brings the
     * caller back (md_api_publish_ivr). If it cannot start, straight back to the agent. */
    rc = md_ivrs_start(a->ivrs, info.channel, q->step, info.ani, "", err, sizeof(err));
    if (rc != 0) {
        md_acd_ivr_return(a->acd->acd, q->call, "ivr_failed", acd_now(a));
        set_error(r, MD_GRPC_FAILED_PRECONDITION, "the flow did not start: %s", err);
        goto out;
    }
    pack_empty(r);
out:
    medley__v1__ivr_step_request__free_unpacked(q, NULL);
}

static void ivr_return(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__IvrReturnRequest, medley__v1__ivr_return_request__unpack, q, req, len, r);
    md_acd_call_info_t info;
    if (!acd_call_or_fail(a, q->call, &info, r))
        goto out;
    if (strlen(q->result) >= MD_ACD_NAME) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "result: under 32 bytes");
        goto out;
    }
    int rc = md_acd_ivr_return(a->acd->acd, q->call, q->result, acd_now(a));
    if (rc == -EINVAL || rc == -ENOTCONN) {
        set_error(r, MD_GRPC_FAILED_PRECONDITION, "%s", "the call is not away at an IVR step");
        goto out;
    }
    if (rc < 0) {
        acd_error(r, rc, "ivr return");
        goto out;
    }
    if (a->ivrs != NULL)
        md_ivrs_stop(a->ivrs, info.channel);   /* the agent took the caller back early */
    pack_empty(r);
out:
    medley__v1__ivr_return_request__free_unpacked(q, NULL);
}

/* ---- consult, three-way and internal calls (ACD-6) ---- */

/* AgentConsult (direct 0) and AgentCall (1). */
static void consult_start(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r, int direct)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__ConsultRequest, medley__v1__consult_request__unpack, q, req, len, r);
    const char *what = direct ? "call" : "consult";
    md_acd_t *acd = a->acd->acd;
    md_acd_agent_info_t ai, bi;
    if (q->agent[0] == '\0' || q->to_agent[0] == '\0') {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "agent and to_agent: both required");
        goto out;
    }
    if (strcmp(q->agent, q->to_agent) == 0) {
        ACD_FAIL(r, MD_GRPC_INVALID_ARGUMENT, "an agent cannot %s itself", what);
        goto out;
    }
    if (!direct && q->channel != 0) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s",
                  "channel: only for AgentCall (a consult uses the agent's leg on its call)");
        goto out;
    }
    int ag = acd_agent_or_fail(a, q->agent, r);
    if (ag < 0)
        goto out;
    int to = acd_agent_or_fail(a, q->to_agent, r);
    if (to < 0)
        goto out;
    if (direct && q->channel != 0 && find_or_fail(a, q->channel, r) == NULL)
        goto out;
    md_acd_agent_info(acd, ag, &ai);
    md_acd_agent_info(acd, to, &bi);
    if (bi.state != MD_ACD_READY) {
        ACD_FAIL(r, MD_GRPC_FAILED_PRECONDITION, "agent '%.40s' is %s: only a ready agent can take a %s",
                  q->to_agent, md_acd_agent_state_name(bi.state), direct ? "call" : "consult");
        goto out;
    }
    /* The two agents' legs may live on two workers: the bridge moves one (ctl.h). */
    uint32_t id = 0;
    int rc = direct ? md_acd_agent_call(acd, ag, to, q->channel, &id, acd_now(a))
                    : md_acd_consult(acd, ag, to, &id, acd_now(a));
    if (rc == -ENOTCONN)
        ACD_FAIL(r, MD_GRPC_FAILED_PRECONDITION, "agent '%.40s' is %s: not talking to a caller",
                  q->agent, md_acd_agent_state_name(ai.state));
    else if (rc == -EALREADY)
        ACD_FAIL(r, MD_GRPC_FAILED_PRECONDITION,
                  "agent '%.40s' has a consult in progress already: complete, conference or cancel it first", q->agent);
    else if (rc == -EBUSY && direct)
        ACD_FAIL(r, MD_GRPC_FAILED_PRECONDITION,
                  "agent '%.40s' is %s: an internal call is made from ready or not ready", q->agent,
                  md_acd_agent_state_name(ai.state));
    else if (rc == -EBUSY)
        set_error(r, MD_GRPC_FAILED_PRECONDITION, "%s", "the caller is away at an IVR step");
    else if (rc == -EINVAL && direct)
        ACD_FAIL(r, MD_GRPC_INVALID_ARGUMENT,
                  "agent '%.40s' has no standing leg: give the channel of its leg", q->agent);
    else if (rc < 0)
        acd_error(r, rc, what);
    else {
        Medley__V1__QueueCallReply m = MEDLEY__V1__QUEUE_CALL_REPLY__INIT;
        m.call = id;
        pack(r, &m.base);
    }
out:
    medley__v1__consult_request__free_unpacked(q, NULL);
}

static void agent_consult(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r) { consult_start(app, req, len, r, 0); }
static void agent_call(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r) { consult_start(app, req, len, r, 1); }

/* ConsultComplete (0), ConsultConference (1), ConsultCancel (2): the consulting agent. */
static void consult_op(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r, int op)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__AgentRequest, medley__v1__agent_request__unpack, q, req, len, r);
    int ag = acd_agent_or_fail(a, q->agent, r);
    if (ag < 0)
        goto out;
    md_acd_t *acd = a->acd->acd;
    a->acd->why[0] = '\0';
    int rc = op == 0 ? md_acd_consult_complete(acd, ag, acd_now(a))
             : op == 1 ? md_acd_consult_conference(acd, ag, acd_now(a))
                       : md_acd_consult_cancel(acd, ag, acd_now(a));
    if (rc < 0 && a->acd->why[0] != '\0')
        acd_error_why(r, rc, a->acd->why);   /* the host's words: the engine refused */
    else if (rc == -ENOTCONN)
        ACD_FAIL(r, MD_GRPC_FAILED_PRECONDITION, "agent '%.40s' has no consult in progress", q->agent);
    else if (rc == -EPERM)
        ACD_FAIL(r, MD_GRPC_FAILED_PRECONDITION,
                  "agent '%.40s' is on a direct internal call, not a consult (AgentHangup or ConsultCancel ends it)", q->agent);
    else if (rc == -EBUSY)
        set_error(r, MD_GRPC_FAILED_PRECONDITION, "%s",
                  "the consulted agent has not answered yet (ConsultCancel withdraws the offer)");
    else if (rc == -EALREADY)
        set_error(r, MD_GRPC_FAILED_PRECONDITION, "%s", "the call is a three-way already");
    else if (rc < 0)
        acd_error(r, rc, "consult");
    else
        pack_empty(r);
out:
    medley__v1__agent_request__free_unpacked(q, NULL);
}

static void consult_complete(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r) { consult_op(app, req, len, r, 0); }
static void consult_conference(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r) { consult_op(app, req, len, r, 1); }
static void consult_cancel(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r) { consult_op(app, req, len, r, 2); }

/* ---- callbacks and outbound (ACD-3, ACD-10) ---- */

static void call_callback(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__CallbackRequest, medley__v1__callback_request__unpack, q, req, len, r);
    md_acd_call_info_t info;
    if (!acd_call_or_fail(a, q->call, &info, r))
        goto out;
    if (strlen(q->number) >= MD_ACD_NUMBER || (q->number[0] == '\0' && info.ani[0] == '\0')) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "number: under 32 bytes; required when the call has no ANI");
        goto out;
    }
    if (info.phase != MD_ACD_CALL_WAITING || info.kind != MD_ACD_INBOUND) {
        set_error(r, MD_GRPC_FAILED_PRECONDITION, "%s", "only a caller waiting in a queue can leave a callback");
        goto out;
    }
    int rc = md_acd_call_callback(a->acd->acd, q->call, q->number[0] ? q->number : NULL, acd_now(a));
    if (rc < 0)
        acd_error(r, rc, "callback");
    else
        pack_empty(r);
out:
    medley__v1__callback_request__free_unpacked(q, NULL);
}

static void dial_result(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__DialResultRequest, medley__v1__dial_result_request__unpack, q, req, len, r);
    md_acd_call_info_t info;
    md_acd_svc_t *s = a->acd;
    if (!acd_call_or_fail(a, q->call, &info, r))
        goto out;
    if ((int)q->result < MEDLEY__V1__DIAL_OUTCOME__DIAL_ANSWERED ||
        q->result > MEDLEY__V1__DIAL_OUTCOME__DIAL_FAILED) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "result: DIAL_ANSWERED, NO_ANSWER, BUSY or FAILED");
        goto out;
    }
    if (info.phase != MD_ACD_CALL_DIALING) {
        set_error(r, MD_GRPC_FAILED_PRECONDITION, "%s", "the call is not being dialled");
        goto out;
    }
    if (q->result == MEDLEY__V1__DIAL_OUTCOME__DIAL_ANSWERED && !dial_leg_ok(a, q->channel, r))
        goto out;
    /* The proto's outcomes are md_acd_dial_result_t's values. */
    int rc = md_acd_svc_dial_result(s, q->call, (md_acd_dial_result_t)q->result, q->channel);
    if (rc < 0)
        acd_error(r, rc, "dial result");
    else
        pack_empty(r);
out:
    medley__v1__dial_result_request__free_unpacked(q, NULL);
}

static void agent_dial(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__AgentDialRequest, medley__v1__agent_dial_request__unpack, q, req, len, r);
    int ag = acd_agent_or_fail(a, q->agent, r);
    uint32_t call = 0;
    if (ag < 0)
        goto out;
    if (q->number[0] == '\0' || strlen(q->number) >= MD_ACD_NUMBER) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "number: 1..31 bytes");
        goto out;
    }
    md_acd_agent_state_t st = md_acd_agent_state(a->acd->acd, ag, NULL);
    if (st != MD_ACD_READY && st != MD_ACD_NOT_READY) {
        set_error(r, MD_GRPC_FAILED_PRECONDITION, "agent '%.40s' must be ready or not ready (logged in, no call)", q->agent);
        goto out;
    }
    /* The answered leg is bridged to the agent's standing leg. */
    if (md_acd_agent_channel(a->acd->acd, ag) == 0) {
        set_error(r, MD_GRPC_FAILED_PRECONDITION, "agent '%.40s' logged in without a standing leg (channel)", q->agent);
        goto out;
    }
    int rc = md_acd_agent_dial(a->acd->acd, ag, q->number, &call, acd_now(a));
    if (rc < 0) {
        acd_error(r, rc, "agent dial");
        goto out;
    }
    Medley__V1__QueueCallReply m = MEDLEY__V1__QUEUE_CALL_REPLY__INIT;
    m.call = call;
    pack(r, &m.base);
out:
    medley__v1__agent_dial_request__free_unpacked(q, NULL);
}

static void add_campaign(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__CampaignConfig, medley__v1__campaign_config__unpack, q, req, len, r);
    md_acd_campaign_cfg_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    int agent_mode = q->mode == MEDLEY__V1__CAMPAIGN_MODE__CAMPAIGN_AGENT;
    if (q->name[0] == '\0' || strlen(q->name) >= MD_ACD_NAME || strlen(q->queue) >= MD_ACD_NAME ||
        strlen(q->prompt) >= MD_ACD_NAME || (int)q->mode < 0 || q->mode > MEDLEY__V1__CAMPAIGN_MODE__CAMPAIGN_AGENT ||
        (agent_mode && q->queue[0] == '\0') || (!agent_mode && q->prompt[0] == '\0')) {
        set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s",
                  "name: 1..31 bytes; a known mode; CAMPAIGN_AGENT needs a queue, CAMPAIGN_MESSAGE a prompt (under 32 bytes)");
        goto out;
    }
    if (agent_mode && md_acd_queue_find(a->acd->acd, q->queue) < 0) {
        r->status = MD_GRPC_NOT_FOUND;
        snprintf(r->message, sizeof(r->message), "no queue '%.40s'", q->queue);
        goto out;
    }
    snprintf(cfg.name, sizeof(cfg.name), "%s", q->name);
    cfg.mode = agent_mode ? MD_ACD_CAMP_AGENT : MD_ACD_CAMP_MESSAGE;
    snprintf(cfg.queue, sizeof(cfg.queue), "%s", q->queue);
    snprintf(cfg.prompt, sizeof(cfg.prompt), "%s", q->prompt);
    cfg.max_lines = q->max_lines ? q->max_lines : 1;
    cfg.max_attempts = q->max_attempts ? q->max_attempts : 1;
    cfg.retry_ms = q->retry_ms;
    cfg.owner = q->tie_to_connection ? r->conn : 0;
    int rc = md_acd_campaign_add(a->acd->acd, &cfg);
    if (rc == -EEXIST)
        set_error(r, MD_GRPC_ALREADY_EXISTS, "a campaign named '%.40s' exists already", q->name);
    else if (rc == -ENOSPC)
        set_error(r, MD_GRPC_RESOURCE_EXHAUSTED, "%s", "every campaign slot is in use");
    else if (rc < 0)
        acd_error(r, rc, "add campaign");
    else
        pack_empty(r);
out:
    medley__v1__campaign_config__free_unpacked(q, NULL);
}

static int campaign_or_fail(md_api_t *a, const char *name, md_grpc_reply_t *r)
{
    int c = md_acd_campaign_find(a->acd->acd, name);
    if (c < 0) {
        r->status = MD_GRPC_NOT_FOUND;
        snprintf(r->message, sizeof(r->message), "no campaign '%.40s'", name);
    }
    return c;
}

static unsigned campaign_size(md_api_t *a, int c)
{
    unsigned n = 0;
    while (md_acd_campaign_entry(a->acd->acd, c, n) != NULL)
        n++;
    return n;
}

static void add_campaign_numbers(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__CampaignNumbersRequest, medley__v1__campaign_numbers_request__unpack, q, req, len, r);
    int c = campaign_or_fail(a, q->campaign, r);
    if (c < 0)
        goto out;
    /* All or none: every number is checked, and the room for all, before one is added. */
    for (size_t i = 0; i < q->n_numbers; i++) {
        if (q->numbers[i][0] == '\0' || strlen(q->numbers[i]) >= MD_ACD_NUMBER) {
            set_error(r, MD_GRPC_INVALID_ARGUMENT, "%s", "numbers: 1..31 bytes each");
            goto out;
        }
    }
    if (campaign_size(a, c) + q->n_numbers > md_acd_limits(a->acd->acd)->max_numbers) {
        set_error(r, MD_GRPC_RESOURCE_EXHAUSTED, "%s", "the campaign's list would be longer than its limit");
        goto out;
    }
    for (size_t i = 0; i < q->n_numbers; i++) {
        int rc = md_acd_campaign_number(a->acd->acd, c, q->numbers[i]);
        if (rc < 0) {
            acd_error(r, rc, "add campaign numbers");
            goto out;
        }
    }
    pack_empty(r);
out:
    medley__v1__campaign_numbers_request__free_unpacked(q, NULL);
}

static void campaign_op(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r, int start)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__CampaignRef, medley__v1__campaign_ref__unpack, q, req, len, r);
    int c = campaign_or_fail(a, q->campaign, r);
    if (c >= 0) {
        int rc = start ? md_acd_campaign_start(a->acd->acd, c, acd_now(a))
                       : md_acd_campaign_stop(a->acd->acd, c, acd_now(a));
        if (rc < 0)
            acd_error(r, rc, start ? "start campaign" : "stop campaign");
        else
            pack_empty(r);
    }
    medley__v1__campaign_ref__free_unpacked(q, NULL);
}

static void start_campaign(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r) { campaign_op(app, req, len, r, 1); }
static void stop_campaign(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r) { campaign_op(app, req, len, r, 0); }

static void get_campaign(void *app, const uint8_t *req, size_t len, md_grpc_reply_t *r)
{
    md_api_t *a = app;
    if (!acd_ready(a, r))
        return;
    UNPACK(Medley__V1__CampaignRef, medley__v1__campaign_ref__unpack, q, req, len, r);
    int c = campaign_or_fail(a, q->campaign, r);
    if (c < 0)
        goto out;
    unsigned n = campaign_size(a, c);
    Medley__V1__CampaignNumber *nm = calloc(n + 1, sizeof(*nm));
    Medley__V1__CampaignNumber **np = calloc(n + 1, sizeof(*np));
    if (nm == NULL || np == NULL) {
        set_error(r, MD_GRPC_RESOURCE_EXHAUSTED, "%s", "out of memory");
    } else {
        for (unsigned i = 0; i < n; i++) {
            const md_acd_number_t *e = md_acd_campaign_entry(a->acd->acd, c, i);
            Medley__V1__CampaignNumber init = MEDLEY__V1__CAMPAIGN_NUMBER__INIT;
            nm[i] = init;
            nm[i].number = (char *)e->number;
            nm[i].state = (Medley__V1__NumberState)e->state;   /* the same values */
            nm[i].attempts = e->attempts;
            nm[i].call = e->call;
            np[i] = &nm[i];
        }
        Medley__V1__Campaign m = MEDLEY__V1__CAMPAIGN__INIT;
        m.name = q->campaign;
        m.n_numbers = n;
        m.numbers = np;
        pack(r, &m.base);
    }
    free(nm);
    free(np);
out:
    medley__v1__campaign_ref__free_unpacked(q, NULL);
}

#define SVC "/medley.v1.Engine/"
const md_grpc_method_t md_api_methods[] = {
    { SVC "CreateChannel", create_channel, NULL },
    { SVC "DeleteChannel", delete_channel, NULL },
    { SVC "GetChannel", get_channel, NULL },
    { SVC "ListChannels", list_channels, NULL },
    { SVC "Play", play, NULL },
    { SVC "StopPlay", stop_play, NULL },
    { SVC "SendDigits", send_digits, NULL },
    { SVC "Bridge", bridge, NULL },
    { SVC "Unbridge", unbridge, NULL },
    { SVC "LoadPrompt", load_prompt, NULL },
    { SVC "ListPrompts", list_prompts, NULL },
    { SVC "GetStats", get_stats, NULL },
    { SVC "StreamEvents", NULL, stream_events },
    { SVC "LoadFlow", load_flow, NULL },
    { SVC "CheckFlow", check_flow, NULL },
    { SVC "ListFlows", list_flows, NULL },
    { SVC "StartIvr", start_ivr, NULL },
    { SVC "StopIvr", stop_ivr, NULL },
    { SVC "IvrAnswer", ivr_answer, NULL },
    { SVC "StartRecording", start_recording, NULL },
    { SVC "StopRecording", stop_recording, NULL },
    { SVC "PauseRecording", pause_recording, NULL },
    { SVC "ResumeRecording", resume_recording, NULL },
    { SVC "CreateConference", create_conference, NULL },
    { SVC "DeleteConference", delete_conference, NULL },
    { SVC "GetConference", get_conference, NULL },
    { SVC "AddMember", add_member, NULL },
    { SVC "SetMember", set_member, NULL },
    { SVC "RemoveMember", remove_member, NULL },
    { SVC "PlayToConference", play_to_conference, NULL },
    { SVC "RecordConference", record_conference, NULL },
    { SVC "Supervise", supervise, NULL },
    { SVC "AddQueue", add_queue, NULL },
    { SVC "AddAgent", add_agent, NULL },
    { SVC "AgentLogin", agent_login, NULL },
    { SVC "AgentLogout", agent_logout, NULL },
    { SVC "AgentReady", agent_ready, NULL },
    { SVC "AgentNotReady", agent_not_ready, NULL },
    { SVC "AgentAnswer", agent_answer, NULL },
    { SVC "AgentHangup", agent_hangup, NULL },
    { SVC "QueueCall", queue_call, NULL },
    { SVC "CallHangup", call_hangup, NULL },
    { SVC "GetAcdSnapshot", get_acd_snapshot, NULL },
    { SVC "CallHold", call_hold, NULL },
    { SVC "CallRetrieve", call_retrieve, NULL },
    { SVC "TransferToQueue", transfer_to_queue, NULL },
    { SVC "TransferToAgent", transfer_to_agent, NULL },
    { SVC "Blacklist", blacklist, NULL },
    { SVC "SurveyResult", survey_result, NULL },
    { SVC "BlacklistRemove", blacklist_remove, NULL },
    { SVC "ForceAgentState", force_agent_state, NULL },
    { SVC "SetAgentSkills", set_agent_skills, NULL },
    { SVC "Monitor", monitor_agent, NULL },
    { SVC "ForceRelease", force_release, NULL },
    { SVC "CallMute", call_mute, NULL },
    { SVC "IvrStep", ivr_step, NULL },
    { SVC "IvrReturn", ivr_return, NULL },
    { SVC "CallCallback", call_callback, NULL },
    { SVC "DialResult", dial_result, NULL },
    { SVC "AgentDial", agent_dial, NULL },
    { SVC "AddCampaign", add_campaign, NULL },
    { SVC "AddCampaignNumbers", add_campaign_numbers, NULL },
    { SVC "StartCampaign", start_campaign, NULL },
    { SVC "StopCampaign", stop_campaign, NULL },
    { SVC "GetCampaign", get_campaign, NULL },
    { SVC "AgentReject", agent_reject, NULL },
    { SVC "AgentLegFailed", agent_leg_failed, NULL },
    { SVC "ListAgents", list_agents, NULL },
    { SVC "GetKpi", get_kpi, NULL },
    { SVC "AgentConsult", agent_consult, NULL },
    { SVC "ConsultComplete", consult_complete, NULL },
    { SVC "ConsultConference", consult_conference, NULL },
    { SVC "ConsultCancel", consult_cancel, NULL },
    { SVC "AgentCall", agent_call, NULL },
};
const unsigned md_api_n_methods = sizeof(md_api_methods) / sizeof(md_api_methods[0]);

void md_api_tick(md_api_t *a)
{
    for (unsigned i = 0; i < a->n_held;) {
        md_ctl_chan_t *rec = md_ctl_find(a->ctl, a->held[i]);
        md_ctl_conf_t *cf = rec != NULL ? md_ctl_find_conf(a->ctl, rec->announce_conf) : NULL;
        if (rec == NULL || rec->announce == NULL || cf == NULL) {
            /* Off hold, deleted, or the conference is gone: out of the list. */
            if (rec != NULL)
                md_ctl_announce_ref(a->ctl, rec, NULL);
            a->held[i] = a->held[--a->n_held];
            continue;
        }
        if (a->now_ms >= rec->announce_at) {
            rec->announce_at = a->now_ms + rec->announce_ms;
            md_cmd_t cmd;
            md_cmd_reply_t rep;
            memset(&cmd, 0, sizeof(cmd));
            cmd.type = MD_CMD_CONF_PLAY;
            cmd.conf.member = 1;
            cmd.slot = rec->slot;
            cmd.id = rec->local_id;
            cmd.items[0].prompt = &rec->announce->p;
            cmd.n_items = 1;
            if (conf_cmd(a, cf, &cmd, &rep) == 0)
                md_ctl_overlay_ref(a->ctl, rec, rec->announce);
        }
        i++;
    }
}
