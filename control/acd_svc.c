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

static int bridge(md_acd_svc_t *s, uint32_t a, uint32_t b, int on)
{
    md_ctl_chan_t *ra = md_ctl_find(s->ctl, a), *rb = on ? md_ctl_find(s->ctl, b) : NULL;
    if (ra == NULL || (on && rb == NULL))
        return -ENOENT;
    if (on && ra->worker != rb->worker)
        return -EXDEV;   /* agents' legs are created near the callers' or on one worker */
    md_cmd_t cmd;
    md_cmd_reply_t rep;
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = on ? MD_CMD_BRIDGE : MD_CMD_UNBRIDGE;
    cmd.slot = ra->slot;
    cmd.id = ra->local_id;
    if (on) {
        cmd.slot2 = rb->slot;
        cmd.id2 = rb->local_id;
    }
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
        if (rec != NULL)
            md_ctl_stop(s->ctl, rec);   /* the music or announcement ends */
        rc = bridge(s, a->channel, a->agent_channel, 1);
        break;
    }
    case MD_ACD_ACT_UNBRIDGE:
        rc = bridge(s, a->channel, 0, 0);
        break;
    case MD_ACD_ACT_HOLD:
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
        break;
    case MD_ACD_ACT_OFFER:
    case MD_ACD_ACT_CANCEL:
    case MD_ACD_ACT_ROUTE:
    case MD_ACD_ACT_EVENT:
        if (s->publish != NULL)
            s->publish(s->publish_arg, a);
        break;
    case MD_ACD_ACT_MUTE:
    case MD_ACD_ACT_MONITOR:
    case MD_ACD_ACT_DIAL:
        /* Not carried yet through the API: the ACD treats a failed DIAL as failed. */
        rc = -ENOTSUP;
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
    if (s->caller_call == NULL || s->agent_on == NULL) {
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
    memset(s, 0, sizeof(*s));
}

int md_acd_svc_enter(md_acd_svc_t *s, uint32_t channel, const char *queue, const char *ani,
                     int priority, const char *data, const char *lang, uint32_t *call)
{
    if (md_ctl_find(s->ctl, channel) == NULL)
        return -ENOENT;
    uint32_t g = rec_index(channel);
    md_acd_call_info_t info;
    if (s->caller_call[g] != 0 && md_acd_call_info(s->acd, s->caller_call[g], &info) == 0)
        return -EBUSY;
    s->caller_call[g] = 0;   /* an earlier call on this channel has left the ACD */
    md_acd_call_cfg_t cfg = { .queue = queue, .channel = channel, .ani = ani,
                              .priority = priority, .data = data, .lang = lang };
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

void md_acd_svc_channel_gone(md_acd_svc_t *s, uint32_t channel)
{
    if (md_ctl_find(s->ctl, channel) == NULL)
        return;
    uint32_t g = rec_index(channel);
    if (s->caller_call[g] != 0) {
        md_acd_call_hangup(s->acd, s->caller_call[g], s->now_ms);
        s->caller_call[g] = 0;
    }
    if (s->agent_on[g] >= 0) {
        md_acd_agent_leg_failed(s->acd, s->agent_on[g], s->now_ms);
        md_acd_agent_logout(s->acd, s->agent_on[g], s->now_ms);
        s->agent_on[g] = -1;
    }
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
