/* Commands applied on the worker. Every command names its channel by slot and id, and
 * the id is checked: a command for a channel that was deleted (and whose slot may now
 * hold another call) fails with -ENOENT instead of touching the new call. */
#include "engine/cmd.h"

#include <errno.h>
#include <string.h>

void md_cmd_ring_init(md_cmd_ring_t *r)
{
    memset(r, 0, sizeof(*r));
}

int md_cmd_send(md_cmd_ring_t *r, const md_cmd_t *c)
{
    uint32_t tail = atomic_load_explicit(&r->cmd_tail, memory_order_relaxed);
    /* Outstanding = sent and not yet replied-and-taken: bounds the reply ring too. */
    uint32_t taken = atomic_load_explicit(&r->rep_head, memory_order_acquire);
    if (tail - taken >= MD_CMD_RING)
        return -EAGAIN;
    r->cmd[tail % MD_CMD_RING] = *c;
    atomic_store_explicit(&r->cmd_tail, tail + 1, memory_order_release);
    return 0;
}

int md_cmd_take_reply(md_cmd_ring_t *r, md_cmd_reply_t *rep)
{
    uint32_t head = atomic_load_explicit(&r->rep_head, memory_order_relaxed);
    uint32_t tail = atomic_load_explicit(&r->rep_tail, memory_order_acquire);
    if (head == tail)
        return 0;
    *rep = r->rep[head % MD_CMD_RING];
    atomic_store_explicit(&r->rep_head, head + 1, memory_order_release);
    return 1;
}

unsigned md_cmd_serve(md_cmd_ring_t *r, md_worker_media_t *w)
{
    uint32_t head = atomic_load_explicit(&r->cmd_head, memory_order_relaxed);
    uint32_t tail = atomic_load_explicit(&r->cmd_tail, memory_order_acquire);
    unsigned n = 0;
    while (head != tail) {
        /* The reply slot is free: md_cmd_send() keeps fewer than MD_CMD_RING outstanding. */
        uint32_t rt = atomic_load_explicit(&r->rep_tail, memory_order_relaxed);
        md_cmd_exec(w, &r->cmd[head % MD_CMD_RING], &r->rep[rt % MD_CMD_RING]);
        head++;
        atomic_store_explicit(&r->cmd_head, head, memory_order_release);
        atomic_store_explicit(&r->rep_tail, rt + 1, memory_order_release);
        n++;
    }
    return n;
}

/* The channel a command names, or NULL. */
static md_channel_t *named(md_worker_media_t *w, uint32_t slot, uint32_t id)
{
    if (slot >= w->table->max)
        return NULL;
    md_channel_t *ch = &w->table->chans[slot];
    return ch->in_use && ch->id == id ? ch : NULL;
}

static void describe(md_worker_media_t *w, uint32_t slot, md_chan_info_t *info)
{
    const md_channel_t *ch = &w->table->chans[slot];
    const md_media_t *m = &w->media[slot];
    memset(info, 0, sizeof(*info));
    info->slot = slot;
    info->id = ch->id;
    info->local_port = ch->local_port;
    info->learnt = (uint8_t)ch->learnt;
    info->src_version = ch->src_version;
    memcpy(info->src_ip, ch->src_ip, sizeof(info->src_ip));
    info->src_port = ch->src_port;
    if (m->bridge >= 0 && (uint32_t)m->bridge < w->table->max)
        info->bridged_id = w->table->chans[m->bridge].id;
    info->playing = m->play != NULL;
    info->rec_id = m->rec_id;
    info->st = ch->st;
    info->rtcp = ch->rtcp;
    info->jb = ch->jb.st;
    info->jb_depth = ch->jb.depth;
    info->frames = m->frames;
    info->concealed = m->concealed;
}

static int exec_create(md_worker_media_t *w, const md_cmd_t *c, md_cmd_reply_t *rep)
{
    uint16_t port;
    if (c->strip_dtmf && !c->inband)
        return -EINVAL;   /* stripping needs the detector to know where the digits are */
    int slot = md_chan_create(w->table, &c->prm, &port);
    if (slot < 0)
        return slot;
    md_media_init(&w->media[slot], c->inband, c->no_media_ms);
    md_media_strip_dtmf(&w->media[slot], c->strip_dtmf);
    if (c->prm.codec == MD_CODEC_OPUS8 || c->prm.codec == MD_CODEC_OPUS16) {
        int rc = md_media_opus_attach(w, (uint32_t)slot);
        if (rc != 0) {
            md_chan_delete(w->table, (uint32_t)slot);
            return rc;   /* -EMFILE: every Opus codec state of this worker is in use */
        }
    }
    describe(w, (uint32_t)slot, &rep->info);
    return 0;
}

/* ---- moving a channel to another worker ---- */

static int own_port(const md_worker_media_t *w, uint16_t port)
{
    return md_chan_port_slot(w->table, port) >= 0;
}

static int exec_detach(md_worker_media_t *w, const md_cmd_t *c, md_cmd_reply_t *rep)
{
    md_channel_t *ch = &w->table->chans[c->slot];
    md_media_t *m = &w->media[c->slot];
    int home = own_port(w, ch->local_port);
    if (w->imports == NULL)
        return -ENOTSUP;
    if (m->bridge >= 0 || m->rec_id != 0 || (w->conf != NULL && md_conf_of(w->conf, c->slot) >= 0))
        return -EBUSY;
    if (home && c->slot2 == 0)
        return -EINVAL;
    /* What cannot go: the worker's in-band tone generator (RFC 4733 digits being sent are
     * the channel's own state and go on), its Opus codec state (the new worker takes one
     * of its own). */
    if (m->send_gen >= 0)
        md_media_send_stop(w, c->slot);
    md_media_opus_detach(w, c->slot);
    describe(w, c->slot, &rep->info);
    if (home) {
        md_chan_set_in_use(w->table, c->slot, 0);   /* not ticked, not received; the slot stays reserved */
        ch->fwd = (uint16_t)c->slot2;
    } else {
        if (w->imports[ch->local_port >> 1] == c->slot + 1)
            w->imports[ch->local_port >> 1] = 0;
        md_chan_delete(w->table, c->slot);
    }
    return 0;
}

static int exec_attach(md_worker_media_t *w, const md_cmd_t *c, md_cmd_reply_t *rep)
{
    const md_channel_t *src = c->move_ch;
    if (w->imports == NULL)
        return -ENOTSUP;
    if (src == NULL || c->move_m == NULL)
        return -EINVAL;
    uint16_t port = src->local_port;
    int home = md_chan_port_slot(w->table, port);
    if (home < 0 && w->imports[port >> 1] != 0)
        return -EBUSY;
    uint16_t old_fwd = home >= 0 ? w->table->chans[home].fwd : 0;
    uint32_t old_id = home >= 0 ? w->table->chans[home].id : 0;
    int slot = md_chan_adopt(w->table, src, home);
    if (slot < 0)
        return slot;
    md_media_t *m = &w->media[slot];
    *m = *c->move_m;
    /* Nothing of the old worker's: no bridge, conference, recording, tone generator or
     * codec state (DETACH refused or released those). */
    m->bridge = -1;
    m->send_gen = -1;
    m->opus_slot = -1;
    m->rec_id = 0;
    m->conf_ready = 0;
    m->conf_share = 0;
    m->have_out = 0;
    if (src->prm.codec == MD_CODEC_OPUS8 || src->prm.codec == MD_CODEC_OPUS16) {
        int rc = md_media_opus_attach(w, (uint32_t)slot);
        if (rc != 0) {
            if (home >= 0) {
                md_chan_set_in_use(w->table, (uint32_t)slot, 0);   /* reserved again, as it was */
                w->table->chans[slot].fwd = old_fwd;
                w->table->chans[slot].id = old_id;
            } else {
                md_chan_delete(w->table, (uint32_t)slot);
            }
            return rc;
        }
    }
    if (home < 0)
        w->imports[port >> 1] = (uint16_t)(slot + 1);
    describe(w, (uint32_t)slot, &rep->info);
    return 0;
}

static int exec_forward(md_worker_media_t *w, const md_cmd_t *c)
{
    if (w->imports == NULL)
        return -ENOTSUP;
    if (c->slot >= w->table->max)
        return -ENOENT;
    md_channel_t *ch = &w->table->chans[c->slot];
    if (ch->in_use || !ch->fwd || ch->id != c->id)
        return -ENOENT;
    if (c->slot2 == 0)
        return md_chan_release(w->table, c->slot);
    ch->fwd = (uint16_t)c->slot2;
    return 0;
}

/* ---- conferences (engine/conf.h) ---- */

static int exec_conf(md_worker_media_t *w, const md_cmd_t *c, md_cmd_reply_t *rep)
{
    md_conf_set_t *s = w->conf;
    const md_cmd_conf_t *cc = &c->conf;
    if (s == NULL)
        return -ENOTSUP;
    if (c->type == MD_CMD_CONF_CREATE) {
        int idx = md_conf_create(s, cc->k, cc->hangover_ms, NULL);
        if (idx < 0)
            return idx;
        md_conf_describe(s, (uint32_t)idx, &rep->conf);
        return 0;
    }
    if (c->type == MD_CMD_CONF_FROM_BRIDGE) {
        if (named(w, c->slot, c->id) == NULL || named(w, c->slot2, c->id2) == NULL)
            return -ENOENT;
        if (c->slot == c->slot2 || w->media[c->slot].bridge != (int32_t)c->slot2)
            return -EINVAL;   /* not bridged to each other */
        int idx = md_conf_create(s, cc->k, cc->hangover_ms, NULL);
        if (idx < 0)
            return idx;
        md_media_unbridge(w, c->slot);
        md_conf_add(w, s, (uint32_t)idx, c->slot, MD_CONF_ROLE_PARTY, 0, 0, 0, 0, 0);
        md_conf_add(w, s, (uint32_t)idx, c->slot2, MD_CONF_ROLE_AGENT, 0, 0, 0, 0, 0);
        md_conf_describe(s, (uint32_t)idx, &rep->conf);
        return 0;
    }
    if (md_conf_named(s, cc->slot, cc->id) == NULL)
        return -ENOENT;
    const md_conf_t *conf = &s->confs[cc->slot];
    switch (c->type) {
    case MD_CMD_CONF_DELETE:
        if (cc->rebridge) {
            if (conf->n != 2)
                return -EINVAL;
            uint32_t a = (uint32_t)conf->head, b = (uint32_t)conf->tail;
            md_conf_delete(w, s, cc->slot);
            return md_media_bridge(w, a, b);
        }
        md_conf_delete(w, s, cc->slot);
        return 0;
    case MD_CMD_CONF_GET:
        md_conf_describe(s, cc->slot, &rep->conf);
        return 0;
    case MD_CMD_CONF_RECORD:
        md_conf_record(s, cc->slot, c->rec_id, cc->rec_mask);
        return 0;
    case MD_CMD_CONF_PLAY:
        if (!cc->member) {
            if (c->n_items > 1)
                return -EINVAL;
            return md_conf_play(s, cc->slot, c->n_items ? c->items[0].prompt : NULL,
                                c->n_items ? c->items[0].loops : 0, c->gain_db, c->tag);
        }
        break;
    default:
        break;
    }
    /* The rest name a channel. */
    if (named(w, c->slot, c->id) == NULL)
        return -ENOENT;
    switch (c->type) {
    case MD_CMD_CONF_ADD:
        return md_conf_add(w, s, cc->slot, c->slot, (md_conf_role_t)cc->role, cc->cls, cc->hears,
                           cc->flags, cc->in_db, cc->out_db);
    case MD_CMD_CONF_REMOVE:
    case MD_CMD_CONF_SET:
    case MD_CMD_CONF_PLAY:
        if (md_conf_of(s, c->slot) != (int)cc->slot)
            return -ENOENT;
        break;
    default:
        return -EINVAL;
    }
    md_media_t *m = &w->media[c->slot];
    int st = 0;
    switch (c->type) {
    case MD_CMD_CONF_REMOVE:
        md_conf_remove(s, c->slot);
        break;
    case MD_CMD_CONF_SET:
        st = md_conf_set(s, c->slot, (md_conf_role_t)cc->role, cc->cls, cc->hears, cc->flags,
                         cc->in_db, cc->out_db, cc->beep,
                         c->n_items ? c->items[0].prompt : NULL);
        break;
    default: /* MD_CMD_CONF_PLAY to a member: an overlay on its conference audio */
        if (c->n_items == 0) {
            m->overlay = NULL;
            break;
        }
        st = c->n_items == 1 && c->items[0].prompt != NULL
                 ? md_media_overlay(m, c->items[0].prompt, c->gain_db)
                 : -EINVAL;
        if (st == 0)
            m->overlay_tag = c->tag;
        break;
    }
    return st;
}

void md_cmd_exec(md_worker_media_t *w, const md_cmd_t *c, md_cmd_reply_t *rep)
{
    memset(rep, 0, sizeof(*rep));
    rep->seq = c->seq;
    if (c->type == MD_CMD_CREATE) {
        rep->status = exec_create(w, c, rep);
        return;
    }
    if (c->type >= MD_CMD_CONF_CREATE && c->type <= MD_CMD_CONF_GET) {
        rep->status = exec_conf(w, c, rep);
        return;
    }
    if (c->type == MD_CMD_ATTACH) {
        rep->status = exec_attach(w, c, rep);
        return;
    }
    if (c->type == MD_CMD_FORWARD) {
        rep->status = exec_forward(w, c);
        return;
    }
    md_channel_t *ch = named(w, c->slot, c->id);
    if (ch == NULL) {
        rep->status = -ENOENT;
        return;
    }
    md_media_t *m = &w->media[c->slot];
    int st = 0;
    switch (c->type) {
    case MD_CMD_DELETE:
        m->rec_id = 0;
        md_media_send_stop(w, c->slot);
        md_media_opus_detach(w, c->slot);
        md_media_unbridge(w, c->slot);
        md_media_stop(m);
        m->overlay = NULL;
        if (w->conf != NULL)
            md_conf_remove(w->conf, c->slot);   /* leaves its conference */
        if (w->imports != NULL && !own_port(w, ch->local_port) &&
            w->imports[ch->local_port >> 1] == c->slot + 1)
            w->imports[ch->local_port >> 1] = 0;   /* it had moved here */
        st = md_chan_delete(w->table, c->slot);
        break;
    case MD_CMD_DETACH:
        st = exec_detach(w, c, rep);
        break;
    case MD_CMD_GET:
        describe(w, c->slot, &rep->info);
        break;
    case MD_CMD_PLAY:
        st = md_media_play_list(m, c->items, c->n_items, c->barge_in);
        if (st == 0)
            m->play_tag = c->tag;
        break;
    case MD_CMD_OVERLAY:
        st = c->n_items == 1 && c->items[0].prompt != NULL
                 ? md_media_overlay(m, c->items[0].prompt, c->gain_db)
                 : -EINVAL;
        if (st == 0)
            m->overlay_tag = c->tag;
        break;
    case MD_CMD_STOP:
        md_media_stop(m);
        m->overlay = NULL;
        break;
    case MD_CMD_BRIDGE:
        if (named(w, c->slot2, c->id2) == NULL)
            st = -ENOENT;
        else if (c->slot == c->slot2)
            st = -EINVAL;
        else if (w->conf != NULL &&
                 (md_conf_of(w->conf, c->slot) >= 0 || md_conf_of(w->conf, c->slot2) >= 0))
            st = -EBUSY;   /* a conference member: remove it from the conference first */
        else if ((m->bridge >= 0 && (uint32_t)m->bridge != c->slot2) ||
                 (w->media[c->slot2].bridge >= 0 && (uint32_t)w->media[c->slot2].bridge != c->slot))
            st = -EBUSY;
        else
            st = md_media_bridge(w, c->slot, c->slot2);
        break;
    case MD_CMD_UNBRIDGE:
        md_media_unbridge(w, c->slot);
        break;
    case MD_CMD_SEND_DIGITS:
        st = memchr(c->digits, 0, sizeof(c->digits)) == NULL
                 ? -EINVAL
                 : md_media_send_digits(w, c->slot, c->digits, c->rfc4733, c->on_ms, c->gap_ms);
        break;
    case MD_CMD_RECORD:
        /* After the reply, this worker no longer writes the old recording: the control
         * thread may stop it. */
        m->rec_id = c->rec_id;
        m->rec_stereo = c->rec_stereo;
        break;
    default:
        st = -EINVAL;
        break;
    }
    rep->status = st;
}
