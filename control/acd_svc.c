/* The ACD's host on medleyd's control thread. */
#include "control/acd_svc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOT_MASK ((1u << MD_CTL_ID_BITS) - 1)

static uint32_t rec_index(uint32_t api_id)
{
    return api_id & SLOT_MASK;
}

/* Plays names (at most MD_PLAY_MAX of them: the rest of a longer list is left out) on a
 * channel with a tag; loops: 1 once, 65535 about forever (music). */
static int play(md_acd_svc_t *s, uint32_t channel, const char *const *names, unsigned n,
                uint16_t loops, uint32_t tag)
{
    md_ctl_chan_t *rec = md_ctl_find(s->ctl, channel);
    if (rec == NULL || n == 0)
        return -ENOENT;
    if (n > MD_PLAY_MAX)
        n = MD_PLAY_MAX;
    uint16_t lp[MD_PLAY_MAX], gaps[MD_PLAY_MAX];
    for (unsigned i = 0; i < n; i++) {
        lp[i] = loops;
        gaps[i] = 0;
    }
    char err[160];
    return md_ctl_play(s->ctl, rec, names, lp, gaps, n, 0, tag, err, sizeof(err));
}

/* Bridges a to b (on: the same step as the API's Bridge: on two workers b moves to a's,
 * or a to b's when b records) or unbridges a. */
static int bridge(md_acd_svc_t *s, uint32_t a, uint32_t b, int on)
{
    md_ctl_chan_t *ra = md_ctl_find(s->ctl, a), *rb = on ? md_ctl_find(s->ctl, b) : NULL;
    if (ra == NULL || (on && rb == NULL))
        return -ENOENT;
    if (on)
        return md_ctl_bridge(s->ctl, ra, rb);
    md_cmd_t cmd;
    md_cmd_reply_t rep;
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = MD_CMD_UNBRIDGE;
    cmd.slot = ra->slot;
    cmd.id = ra->local_id;
    return md_ctl_exec(s->ctl, ra->worker, &cmd, &rep);
}

static int music(md_acd_svc_t *s, uint32_t channel, const char *lang, int on)
{
    md_ctl_chan_t *rec = md_ctl_find(s->ctl, channel);
    if (rec == NULL)
        return -ENOENT;
    if (!on)
        return md_ctl_stop(s->ctl, rec);
    char name[64];
    snprintf(name, sizeof(name), "%s/acd/music", lang != NULL && lang[0] ? lang : "zh");
    const char *names[1] = { name };
    /* No music loaded is not an error: the caller waits in silence. */
    play(s, channel, names, 1, 65535, 0);
    return 0;
}

/* ---- the ACD's own conference on a call: supervisors (ACD-7) and mute (ACD-6) ----
 * A caller bridged to an agent becomes a conference of the two (md_ctl_conf_from_bridge,
 * as Supervise does) when a supervisor joins or the agent is muted, and a plain bridge
 * again when neither is left. Members joining from another worker move to the call's
 * (md_ctl_conf_add). Hold, transfers and hangups unbridge: the conference ends with them
 * (a supervisor asks again after a retrieve). */

static int failed(md_acd_svc_t *s, int rc, const char *why)
{
    snprintf(s->why, sizeof(s->why), "%s", why);
    return rc;
}

static int conf_exec(md_acd_svc_t *s, const md_ctl_conf_t *cf, md_cmd_t *cmd)
{
    md_cmd_reply_t rep;
    cmd->conf.slot = cf->idx;
    cmd->conf.id = cf->local_id;
    return md_ctl_exec(s->ctl, cf->worker, cmd, &rep);
}

/* CONF_SET or CONF_REMOVE of a member, or CONF_ADD (moved to the conference's worker
 * first when it lives on another). */
static int member(md_acd_svc_t *s, const md_ctl_conf_t *cf, md_cmd_type_t type, uint32_t channel,
                  md_conf_role_t role, uint8_t flags, uint8_t beep)
{
    md_ctl_chan_t *rec = md_ctl_find(s->ctl, channel);
    if (rec == NULL)
        return -ENOENT;
    md_cmd_t cmd;
    memset(&cmd, 0, sizeof(cmd));
    cmd.conf.role = (uint8_t)role;
    cmd.conf.flags = flags;
    cmd.conf.beep = beep;
    if (type == MD_CMD_CONF_ADD)
        return md_ctl_conf_add(s->ctl, cf, rec, &cmd);
    cmd.type = type;
    cmd.slot = rec->slot;
    cmd.id = rec->local_id;
    return conf_exec(s, cf, &cmd);
}

/* The conference of the caller's call, or (make) one made of its bridge to the agent. */
static md_ctl_conf_t *call_conf(md_acd_svc_t *s, uint32_t caller, uint32_t agent, int make, int *rc)
{
    uint32_t g = rec_index(caller);
    md_ctl_conf_t *cf = md_ctl_find_conf(s->ctl, s->conf_of[g]);
    *rc = 0;
    if (cf != NULL || !make)
        return cf;
    /* Deleted through the API, or never made: start clean. */
    s->conf_of[g] = 0;
    s->sup_of[g] = 0;
    s->muted[g] = 0;
    md_ctl_chan_t *rc_ = md_ctl_find(s->ctl, caller), *ra = md_ctl_find(s->ctl, agent);
    if (rc_ == NULL || ra == NULL) {
        *rc = failed(s, -ENOENT, "the caller's or the agent's channel is gone");
        return NULL;
    }
    *rc = md_ctl_conf_from_bridge(s->ctl, rc_, ra, &cf);
    if (*rc != 0) {
        *rc = failed(s, *rc, *rc == -ENOTCONN ? "the caller and the agent are not bridged now"
                             : *rc == -ENOTSUP || *rc == -ENOSPC ? md_ctl_join_error(*rc)
                                                                 : "the engine could not make the call a conference");
        return NULL;
    }
    s->conf_of[g] = cf->api_id;
    return cf;
}

/* Ends the call's conference: back to the plain bridge (rebridge) or to nothing (the ACD
 * is unbridging the call). Returns 1 if there was one. */
static int conf_end(md_acd_svc_t *s, uint32_t caller, int rebridge)
{
    uint32_t g = rec_index(caller);
    md_ctl_conf_t *cf = md_ctl_find_conf(s->ctl, s->conf_of[g]);
    s->conf_of[g] = 0;
    s->sup_of[g] = 0;
    s->muted[g] = 0;
    if (cf == NULL)
        return 0;
    md_ctl_conf_end(s->ctl, cf, rebridge);   /* a member gone: just ended */
    return 1;
}

/* The supervisor monitoring the caller's call, if its channel is still there. */
static uint32_t supervisor_of(md_acd_svc_t *s, uint32_t caller)
{
    uint32_t g = rec_index(caller);
    if (s->sup_of[g] != 0 && md_ctl_find(s->ctl, s->sup_of[g]) == NULL)
        s->sup_of[g] = 0;   /* deleted: the engine took it out of the conference */
    return s->sup_of[g];
}

static md_conf_role_t monitor_role(md_acd_monitor_t mode)
{
    return mode == MD_ACD_MON_LISTEN ? MD_CONF_ROLE_LISTEN
           : mode == MD_ACD_MON_WHISPER ? MD_CONF_ROLE_WHISPER
                                        : MD_CONF_ROLE_BARGE;
}

static int monitor_stop(md_acd_svc_t *s, const md_acd_action_t *a)
{
    int rc;
    md_ctl_conf_t *cf = call_conf(s, a->channel, a->agent_channel, 0, &rc);
    if (cf == NULL || supervisor_of(s, a->channel) != a->target_channel)
        return failed(s, -ENOTCONN, "that channel does not monitor this call");
    member(s, cf, MD_CMD_CONF_REMOVE, a->target_channel, MD_CONF_ROLE_PARTY, 0, 0);
    s->sup_of[rec_index(a->channel)] = 0;
    if (!s->muted[rec_index(a->channel)])
        conf_end(s, a->channel, 1);
    return 0;
}

static int monitor(md_acd_svc_t *s, const md_acd_action_t *a)
{
    if (a->mode == MD_ACD_MON_STOP)
        return monitor_stop(s, a);
    md_ctl_chan_t *sup = md_ctl_find(s->ctl, a->target_channel);
    if (sup == NULL)
        return failed(s, -ENOENT, "no such supervisor channel");
    if (a->target_channel == a->channel || a->target_channel == a->agent_channel)
        return failed(s, -EINVAL, "the supervisor's channel is the caller's or the agent's");
    /* On another worker than the call's, the supervisor's channel moves there. */
    uint32_t cur = supervisor_of(s, a->channel);
    if (cur != 0 && cur != a->target_channel)
        return failed(s, -EBUSY, "another supervisor monitors this call");
    int rc, made = md_ctl_find_conf(s->ctl, s->conf_of[rec_index(a->channel)]) == NULL;
    md_ctl_conf_t *cf = call_conf(s, a->channel, a->agent_channel, 1, &rc);
    if (cf == NULL)
        return rc;
    md_conf_role_t role = monitor_role(a->mode);
    if (cur == 0)
        rc = member(s, cf, MD_CMD_CONF_ADD, a->target_channel, role, 0, 0);
    /* A barge is announced to the agent with a beep (ACD-7); SET also changes a mode. */
    if (rc == 0 && (cur != 0 || a->mode == MD_ACD_MON_BARGE))
        rc = member(s, cf, MD_CMD_CONF_SET, a->target_channel, role, 0, a->mode == MD_ACD_MON_BARGE);
    if (rc != 0) {
        if (made)
            conf_end(s, a->channel, 1);   /* the call as it was */
        return failed(s, rc,
                      rc == -EBUSY ? "the supervisor's channel is bridged or in a conference"
                      : rc == -EXDEV ? "the supervisor's channel records on another worker than the call's: stop the recording first"
                      : rc == -ENOBUFS || rc == -EMFILE ? "the call's worker has no room for the supervisor's channel"
                                                        : "the engine refused the supervisor");
    }
    s->sup_of[rec_index(a->channel)] = a->target_channel;
    return 0;
}

static int mute(md_acd_svc_t *s, const md_acd_action_t *a)
{
    uint32_t g = rec_index(a->channel);
    int rc;
    if (!a->on) {
        md_ctl_conf_t *cf = call_conf(s, a->channel, a->agent_channel, 0, &rc);
        if (cf == NULL || !s->muted[g])
            return 0;   /* not muted: nothing to undo */
        member(s, cf, MD_CMD_CONF_SET, a->agent_channel, MD_CONF_ROLE_AGENT, 0, 0);
        s->muted[g] = 0;
        if (supervisor_of(s, a->channel) == 0)
            conf_end(s, a->channel, 1);
        return 0;
    }
    int made = md_ctl_find_conf(s->ctl, s->conf_of[g]) == NULL;
    md_ctl_conf_t *cf = call_conf(s, a->channel, a->agent_channel, 1, &rc);
    if (cf == NULL)
        return rc;
    rc = member(s, cf, MD_CMD_CONF_SET, a->agent_channel, MD_CONF_ROLE_AGENT, MD_CONF_MUTE, 0);
    if (rc != 0) {
        if (made)
            conf_end(s, a->channel, 1);
        return failed(s, rc, "the engine could not mute the agent");
    }
    s->muted[g] = 1;
    return 0;
}

/* ---- three-way calls (ACD-6) ----
 * The consulting agent (agent_channel) is bridged to the consulted one (target_channel),
 * the caller (channel) on hold with music. The caller is bridged to its agent again and
 * that bridge becomes the call's conference (as for a supervisor), the consulted agent
 * joins it as an AGENT member: everyone hears the other two. On any failure the media go
 * back as they were (the agents bridged, the caller's music). */
static int conference(md_acd_svc_t *s, const md_acd_action_t *a)
{
    md_ctl_chan_t *caller = md_ctl_find(s->ctl, a->channel);
    md_ctl_chan_t *ra = md_ctl_find(s->ctl, a->agent_channel);
    md_ctl_chan_t *rb = md_ctl_find(s->ctl, a->target_channel);
    if (caller == NULL || ra == NULL || rb == NULL)
        return failed(s, -ENOENT, "the caller's or an agent's channel is gone");
    /* The legs may live on three workers: the caller's bridge to its agent moves one of
     * them, the consulted agent moves to the conference's. */
    if (md_ctl_find_conf(s->ctl, s->conf_of[rec_index(a->channel)]) != NULL)
        return failed(s, -EBUSY, "the call is a conference already");
    bridge(s, a->agent_channel, 0, 0);   /* the two agents apart */
    md_ctl_stop(s->ctl, caller);         /* the caller's music */
    int rc = bridge(s, a->channel, a->agent_channel, 1);
    md_ctl_conf_t *cf = NULL;
    if (rc == 0)
        cf = call_conf(s, a->channel, a->agent_channel, 1, &rc);
    else
        failed(s, rc, rc == -EXDEV ? "the caller and its agent record on two workers: stop one's recording first"
                                   : "the engine could not bridge the caller to its agent");
    if (cf != NULL) {
        rc = member(s, cf, MD_CMD_CONF_ADD, a->target_channel, MD_CONF_ROLE_AGENT, 0, 0);
        if (rc == 0)
            return 0;
        failed(s, rc, rc == -EXDEV ? "the consulted agent's leg records on another worker than the call's: stop the recording first"
                                   : "the engine refused the consulted agent in the conference");
        conf_end(s, a->channel, 0);
    } else if (rc == 0) {
        rc = -EIO;
    }
    /* As it was. */
    if (!conf_end(s, a->channel, 0))
        bridge(s, a->channel, 0, 0);
    music(s, a->channel, NULL, 1);
    bridge(s, a->agent_channel, a->target_channel, 1);
    return rc;
}

/* target_channel leaves the three-way; the caller and agent_channel are bridged again. */
static int conf_leave(md_acd_svc_t *s, const md_acd_action_t *a)
{
    int rc;
    md_ctl_conf_t *cf = call_conf(s, a->channel, a->agent_channel, 0, &rc);
    if (cf == NULL) {
        /* The conference is gone (deleted through the API): bridge the two. */
        bridge(s, a->target_channel, 0, 0);
        return bridge(s, a->channel, a->agent_channel, 1);
    }
    if (md_ctl_find(s->ctl, a->target_channel) != NULL)
        member(s, cf, MD_CMD_CONF_REMOVE, a->target_channel, MD_CONF_ROLE_PARTY, 0, 0);
    conf_end(s, a->channel, 1);
    return 0;
}

static int act(void *arg, const md_acd_action_t *a)
{
    md_acd_svc_t *s = arg;
    int rc = 0;
    s->actions++;
    switch (a->kind) {
    case MD_ACD_ACT_MUSIC:
        rc = music(s, a->channel, NULL, a->on);
        break;
    case MD_ACD_ACT_PLAY:
    case MD_ACD_ACT_ANNOUNCE_AGENT:
        rc = play(s, a->channel, a->names, a->n_names, 1, a->tag);
        break;
    case MD_ACD_ACT_BRIDGE: {
        md_ctl_chan_t *rec = md_ctl_find(s->ctl, a->channel);
        conf_end(s, a->channel, 0);   /* none expected: a bridge starts plain */
        if (rec != NULL)
            md_ctl_stop(s->ctl, rec);   /* the music or announcement ends */
        rc = bridge(s, a->channel, a->agent_channel, 1);
        break;
    }
    case MD_ACD_ACT_UNBRIDGE:
        /* A supervised or muted call is a conference: ending it unbridges the two. */
        if (!conf_end(s, a->channel, 0))
            rc = bridge(s, a->channel, 0, 0);
        break;
    case MD_ACD_ACT_HOLD:
        if (!conf_end(s, a->channel, 0))
            bridge(s, a->channel, 0, 0);
        rc = music(s, a->channel, NULL, 1);
        break;
    case MD_ACD_ACT_RETRIEVE:
        music(s, a->channel, NULL, 0);
        rc = bridge(s, a->channel, a->agent_channel, 1);
        break;
    case MD_ACD_ACT_RELEASE:
        if (a->target != NULL && a->target[0] != '\0') {
            const char *names[1] = { a->target };
            play(s, a->channel, names, 1, 1, 0);
        }
        if (s->publish != NULL)
            s->publish(s->publish_arg, a);   /* the integrator hangs the caller up */
        /* The channel is no longer the call's: a callback lives on without it, and its
         * deletion later must not end what the call has become. */
        if (a->channel != 0 && md_ctl_find(s->ctl, a->channel) != NULL &&
            s->caller_call[rec_index(a->channel)] == a->call)
            s->caller_call[rec_index(a->channel)] = 0;
        break;
    case MD_ACD_ACT_OFFER:
    case MD_ACD_ACT_CANCEL:
    case MD_ACD_ACT_ROUTE:
    case MD_ACD_ACT_EVENT:
        if (s->publish != NULL)
            s->publish(s->publish_arg, a);
        break;
    case MD_ACD_ACT_DIAL:
        /* The integrator's SIP side dials and answers with DialResult; with nobody to
         * tell, the ACD takes the dial as failed. */
        if (s->publish != NULL)
            s->publish(s->publish_arg, a);
        else
            rc = -ENOTSUP;
        break;
    case MD_ACD_ACT_MUTE:
        rc = mute(s, a);
        break;
    case MD_ACD_ACT_MONITOR:
        rc = monitor(s, a);
        break;
    case MD_ACD_ACT_CONFERENCE:
        rc = conference(s, a);
        break;
    case MD_ACD_ACT_CONF_LEAVE:
        rc = conf_leave(s, a);
        break;
    case MD_ACD_ACT_KPI:
        /* A closed half hour: into the history (written in batches by the store's tick). */
        if (s->kpi != NULL && a->kpi != NULL && md_kpi_store_add(s->kpi, a->kpi) != 0)
            s->kpi_lost++;
        break;
    }
    if (rc != 0)
        s->failed_actions++;
    return rc;
}

static md_acd_host_t host_of(md_acd_svc_t *s)
{
    md_acd_host_t h = { act, s };
    return h;
}

int md_acd_svc_init(md_acd_svc_t *s, md_ctl_t *ctl, uint64_t now_ms)
{
    memset(s, 0, sizeof(*s));
    s->ctl = ctl;
    s->caller_call = calloc(ctl->max_total, sizeof(*s->caller_call));
    s->agent_on = malloc(ctl->max_total * sizeof(*s->agent_on));
    s->conf_of = calloc(ctl->max_total, sizeof(*s->conf_of));
    s->sup_of = calloc(ctl->max_total, sizeof(*s->sup_of));
    s->muted = calloc(ctl->max_total, sizeof(*s->muted));
    if (s->caller_call == NULL || s->agent_on == NULL || s->conf_of == NULL ||
        s->sup_of == NULL || s->muted == NULL) {
        md_acd_svc_free(s);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < ctl->max_total; i++)
        s->agent_on[i] = -1;
    md_acd_host_t h = host_of(s);
    s->acd = md_acd_new(NULL, &h, now_ms);
    if (s->acd == NULL) {
        md_acd_svc_free(s);
        return -ENOMEM;
    }
    s->now_ms = now_ms;
    return 0;
}

void md_acd_svc_free(md_acd_svc_t *s)
{
    md_acd_free(s->acd);
    free(s->caller_call);
    free(s->agent_on);
    free(s->conf_of);
    free(s->sup_of);
    free(s->muted);
    memset(s, 0, sizeof(*s));
}

int md_acd_svc_enter(md_acd_svc_t *s, uint32_t channel, const char *queue, const char *ani,
                     int priority, const char *data, const char *lang, uint32_t owner,
                     uint32_t *call)
{
    if (md_ctl_find(s->ctl, channel) == NULL)
        return -ENOENT;
    uint32_t g = rec_index(channel);
    md_acd_call_info_t info;
    if (s->caller_call[g] != 0 && md_acd_call_info(s->acd, s->caller_call[g], &info) == 0)
        return -EBUSY;
    s->caller_call[g] = 0;   /* an earlier call on this channel has left the ACD */
    md_acd_call_cfg_t cfg = { .queue = queue, .channel = channel, .ani = ani,
                              .priority = priority, .data = data, .lang = lang,
                              .owner = owner };
    int rc = md_acd_call_enter(s->acd, &cfg, call, s->now_ms);
    if (rc == 0)
        s->caller_call[g] = *call;
    return rc;
}

int md_acd_svc_event(md_acd_svc_t *s, uint32_t channel, const md_event_t *ev)
{
    if (md_ctl_find(s->ctl, channel) == NULL)
        return 0;
    uint32_t call = s->caller_call[rec_index(channel)];
    if (call == 0)
        return 0;
    md_acd_call_info_t info;
    if (md_acd_call_info(s->acd, call, &info) != 0) {
        s->caller_call[rec_index(channel)] = 0;   /* the call has left the ACD */
        return 0;
    }
    if (ev->type == MD_EV_DIGIT)
        md_acd_call_digit(s->acd, call, ev->digit, s->now_ms);
    else if (ev->type == MD_EV_PROMPT_DONE)
        md_acd_prompt_done(s->acd, call, ev->tag, s->now_ms);
    else
        return 0;
    return 1;
}

int md_acd_svc_dial_result(md_acd_svc_t *s, uint32_t call, md_acd_dial_result_t r,
                           uint32_t channel)
{
    int rc = md_acd_dial_result(s->acd, call, r, channel, s->now_ms);
    md_acd_call_info_t info;
    /* Answered and still in the ACD (a message, a bridge, or back at the head): the leg
     * is the call's from now on. */
    if (rc == 0 && r == MD_ACD_DIAL_ANSWERED && md_acd_call_info(s->acd, call, &info) == 0)
        s->caller_call[rec_index(channel)] = call;
    return rc;
}

void md_acd_svc_channel_gone(md_acd_svc_t *s, uint32_t channel)
{
    if (md_ctl_find(s->ctl, channel) == NULL)
        return;
    uint32_t g = rec_index(channel);
    if (s->caller_call[g] != 0) {
        md_acd_call_hangup(s->acd, s->caller_call[g], s->now_ms);
        s->caller_call[g] = 0;
    }
    /* Only if the agent is still logged in on this leg: logged out (by its client going
     * away, a supervisor, itself) and logged in again elsewhere, it is not this leg's. */
    if (s->agent_on[g] >= 0 && md_acd_agent_channel(s->acd, s->agent_on[g]) == channel) {
        md_acd_agent_leg_failed(s->acd, s->agent_on[g], s->now_ms);
        md_acd_agent_logout(s->acd, s->agent_on[g], s->now_ms);
    }
    s->agent_on[g] = -1;
    conf_end(s, channel, 0);   /* left over if the call had already gone */
}

int md_acd_svc_client_gone(md_acd_svc_t *s, uint32_t owner)
{
    if (owner == 0)
        return 0;
    return md_acd_client_gone(s->acd, owner, s->now_ms);
}

void md_acd_svc_tick(md_acd_svc_t *s)
{
    if (s->now_ms < s->next_tick_ms)
        return;
    s->next_tick_ms = s->now_ms + 100;
    md_acd_tick(s->acd, s->now_ms);
}

void md_acd_svc_save(md_acd_svc_t *s)
{
    if (s->kpi == NULL)
        return;
    md_acd_queue_snap_t qs[1];
    md_acd_snapshot_t snap;
    memset(&snap, 0, sizeof(snap));
    snap.queues = qs;
    snap.max_queues = 1;
    md_acd_snapshot(s->acd, s->now_ms, &snap);   /* agents' time in state up to now */
    const md_kpi_t *k;
    for (int q = 0; (k = md_acd_queue_kpi(s->acd, q)) != NULL; q++)
        if (md_kpi_store_add(s->kpi, k) != 0)
            s->kpi_lost++;
    for (int a = 0; (k = md_acd_agent_kpi(s->acd, a)) != NULL; a++)
        if (md_kpi_store_add(s->kpi, k) != 0)
            s->kpi_lost++;
}
