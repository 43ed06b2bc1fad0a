/* The control side of commands and prompts. Runs on the control thread only. */
#define _GNU_SOURCE
#include "control/ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GEN_MASK ((1u << (32 - MD_CTL_ID_BITS)) - 1)
#define SLOT_MASK ((1u << MD_CTL_ID_BITS) - 1)

int md_ctl_init(md_ctl_t *c, const md_ctl_worker_t *workers, unsigned n, unsigned max_prompts)
{
    memset(c, 0, sizeof(*c));
    if (n == 0 || max_prompts == 0)
        return -EINVAL;
    uint64_t total = 0;
    for (unsigned i = 0; i < n; i++)
        total += workers[i].max;
    if (total == 0 || total > SLOT_MASK)
        return -EINVAL;
    c->workers = calloc(n, sizeof(*c->workers));
    c->chans = calloc(total, sizeof(*c->chans));
    c->gen = calloc(total, sizeof(*c->gen));
    c->guest = calloc(total, sizeof(*c->guest));
    c->move_ch = calloc(1, sizeof(*c->move_ch));
    c->move_m = calloc(1, sizeof(*c->move_m));
    if (c->workers == NULL || c->chans == NULL || c->gen == NULL || c->guest == NULL ||
        c->move_ch == NULL || c->move_m == NULL) {
        md_ctl_free(c);
        return -ENOMEM;
    }
    uint32_t base = 0;
    for (unsigned i = 0; i < n; i++) {
        c->workers[i] = workers[i];
        c->workers[i].base = base;
        c->workers[i].used = 0;
        base += workers[i].max;
    }
    c->n_workers = n;
    c->max_total = (uint32_t)total;
    c->max_prompts = max_prompts;
    c->timeout_ms = 1000;
    return 0;
}

static void note_ending(md_ctl_t *c, const md_ctl_chan_t *rec);

static void prompt_unref(md_ctl_t *c, md_ctl_prompt_t *p)
{
    if (p == NULL || --p->refs > 0 || p->current)
        return;
    for (md_ctl_prompt_t **pp = &c->prompts; *pp != NULL; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    md_prompt_free_audio(&p->p);
    free(p);
}

void md_ctl_free(md_ctl_t *c)
{
    md_ctl_prompt_t *p = c->prompts;
    while (p != NULL) {
        md_ctl_prompt_t *next = p->next;
        md_prompt_free_audio(&p->p);
        free(p);
        p = next;
    }
    free(c->workers);
    free(c->chans);
    free(c->gen);
    free(c->confs);
    free(c->conf_gen);
    free(c->guest);
    free(c->move_ch);
    free(c->move_m);
    memset(c, 0, sizeof(*c));
}

md_ctl_chan_t *md_ctl_find(md_ctl_t *c, uint32_t api_id)
{
    uint32_t g = api_id & SLOT_MASK;
    if (api_id == 0 || g >= c->max_total || c->chans[g].api_id != api_id)
        return NULL;
    return &c->chans[g];
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* md_ctl_exec with a given wait for the reply. */
static int exec_within(md_ctl_t *c, unsigned worker, md_cmd_t *cmd, md_cmd_reply_t *rep,
                       unsigned timeout_ms)
{
    md_ctl_worker_t *w = &c->workers[worker];
    cmd->seq = ++c->seq;
    if (w->ring == NULL) {
        md_cmd_exec(w->wm, cmd, rep);
        return rep->status;
    }
    if (md_cmd_send(w->ring, cmd) != 0)
        return -EAGAIN;
    /* The worker serves its command ring between receive bursts: microseconds. Replies
     * to commands that timed out earlier are skipped by their sequence number. */
    uint64_t start = now_ns(), deadline = start + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        if (md_cmd_take_reply(w->ring, rep)) {
            if (rep->seq == cmd->seq)
                return rep->status;
            continue;
        }
        uint64_t t = now_ns();
        if (t > deadline) {
            c->timeouts++;
            return -ETIMEDOUT;
        }
        /* A polling worker answers within microseconds: spin for the first 200 us (a
         * sleep costs 50-150 us of timer slack each), then nap so a stuck worker does
         * not cost the control thread a core. */
        if (t - start < 200000) {
            __builtin_ia32_pause();
            continue;
        }
        struct timespec nap = { 0, 20000 };
        nanosleep(&nap, NULL);
    }
}

int md_ctl_exec(md_ctl_t *c, unsigned worker, md_cmd_t *cmd, md_cmd_reply_t *rep)
{
    return exec_within(c, worker, cmd, rep, c->timeout_ms);
}

int md_ctl_create(md_ctl_t *c, md_cmd_t *cmd, uint32_t near, const char *tag,
                  md_ctl_chan_t **out, md_chan_info_t *info)
{
    unsigned wi = 0;
    if (near != 0) {
        md_ctl_chan_t *n = md_ctl_find(c, near);
        if (n == NULL)
            return -ENOENT;
        wi = n->worker;
    } else {
        for (unsigned i = 1; i < c->n_workers; i++)
            if (c->workers[i].max - c->workers[i].used > c->workers[wi].max - c->workers[wi].used)
                wi = i;
    }
    md_cmd_reply_t rep;
    cmd->type = MD_CMD_CREATE;
    int rc = md_ctl_exec(c, wi, cmd, &rep);
    if (rc != 0)
        return rc;
    uint32_t g = c->workers[wi].base + rep.info.slot;
    md_ctl_chan_t *rec = &c->chans[g];
    c->guest[g] = 0;   /* a channel that moved away from this slot left it */
    c->gen[g] = (uint16_t)((c->gen[g] + 1) & GEN_MASK);
    if (c->gen[g] == 0)
        c->gen[g] = 1;
    memset(rec, 0, sizeof(*rec));
    rec->api_id = ((uint32_t)c->gen[g] << MD_CTL_ID_BITS) | g;
    rec->worker = (uint16_t)wi;
    rec->slot = rep.info.slot;
    rec->local_id = rep.info.id;
    rec->local_port = rep.info.local_port;
    rec->codec = cmd->prm.codec;
    snprintf(rec->tag, sizeof(rec->tag), "%s", tag != NULL ? tag : "");
    c->workers[wi].used++;
    c->used++;
    *out = rec;
    if (info != NULL)
        *info = rep.info;
    return 0;
}

static void release_play(md_ctl_t *c, md_ctl_chan_t *rec)
{
    for (unsigned i = 0; i < rec->n_play; i++)
        prompt_unref(c, rec->play[i]);
    rec->n_play = 0;
}

static int simple(md_ctl_t *c, md_ctl_chan_t *rec, md_cmd_type_t type, md_cmd_reply_t *rep)
{
    md_cmd_t cmd;
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = type;
    cmd.slot = rec->slot;
    cmd.id = rec->local_id;
    return md_ctl_exec(c, rec->worker, &cmd, rep);
}

/* The worker whose port range holds a record's channel (its record index), and the slot. */
static unsigned home_of(const md_ctl_t *c, const md_ctl_chan_t *rec, uint32_t *slot)
{
    uint32_t g = (uint32_t)(rec - c->chans);
    unsigned h = 0;
    while (h + 1 < c->n_workers && g >= c->workers[h + 1].base)
        h++;
    *slot = g - c->workers[h].base;
    return h;
}

/* Tells a channel's home worker where its datagrams go now (to + 1), or (0) that the
 * moved channel is gone and its home slot is free. */
static int forward(md_ctl_t *c, md_ctl_chan_t *rec, unsigned to_plus_1)
{
    uint32_t hslot;
    unsigned home = home_of(c, rec, &hslot);
    md_cmd_t cmd;
    md_cmd_reply_t rep;
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = MD_CMD_FORWARD;
    cmd.slot = hslot;
    cmd.id = rec->home_id;
    cmd.slot2 = to_plus_1;
    return md_ctl_exec(c, home, &cmd, &rep);
}

/* A move's DETACH and ATTACH must not be given up on while the worker may still carry
 * them out (a channel detached there but believed in place would be lost; a late ATTACH
 * would read the transit copy after it was reused): a starved worker gets 5 s, not the
 * usual second. Bridges and ACD conferences move legs too, so this is not rare. */
#define MOVE_TIMEOUT_MS 5000

static int exec_move(md_ctl_t *c, unsigned worker, md_cmd_t *cmd, md_cmd_reply_t *rep)
{
    return exec_within(c, worker, cmd, rep,
                       c->timeout_ms > MOVE_TIMEOUT_MS ? c->timeout_ms : MOVE_TIMEOUT_MS);
}

int md_ctl_move(md_ctl_t *c, md_ctl_chan_t *rec, unsigned to)
{
    if (to >= c->n_workers)
        return -EINVAL;
    unsigned from = rec->worker;
    if (from == to)
        return 0;
    uint32_t g = (uint32_t)(rec - c->chans), hslot;
    unsigned home = home_of(c, rec, &hslot);
    if (to != home && c->workers[to].used >= c->workers[to].max)
        return -ENOSPC;
    md_cmd_t cmd;
    md_cmd_reply_t rep;
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = MD_CMD_DETACH;
    cmd.slot = rec->slot;
    cmd.id = rec->local_id;
    cmd.slot2 = to + 1;
    int rc = exec_move(c, from, &cmd, &rep);
    if (rc != 0)
        return rc;
    /* The old worker no longer touches the slot (its reply came after it let go). */
    const md_worker_media_t *fw = c->workers[from].wm;
    *c->move_ch = fw->table->chans[rec->slot];
    *c->move_m = fw->media[rec->slot];
    if (from == home)
        rec->home_id = rec->local_id;
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = MD_CMD_ATTACH;
    cmd.move_ch = c->move_ch;
    cmd.move_m = c->move_m;
    rc = exec_move(c, to, &cmd, &rep);
    if (rc != 0) {
        /* Back where it was (its slot there is free or reserved for it). */
        md_cmd_reply_t back;
        int rb = exec_move(c, from, &cmd, &back);
        if (rb == 0) {
            if (from == home)
                rec->home_id = 0;
            else
                c->guest[c->workers[from].base + back.info.slot] = g + 1;
            rec->slot = back.info.slot;
            rec->local_id = back.info.id;
        }
        return rc;
    }
    /* Datagrams to its port reach its home worker, which hands them over. */
    if (to != home && from != home && forward(c, rec, to + 1) != 0)
        c->timeouts++;
    if (from != home)
        c->workers[from].used--;
    if (to != home) {
        c->workers[to].used++;
        c->guest[c->workers[to].base + rep.info.slot] = g + 1;
    } else {
        rec->home_id = 0;
    }
    rec->has_prev = 1;
    rec->prev_worker = (uint16_t)from;
    rec->prev_slot = rec->slot;
    rec->prev_local_id = rec->local_id;
    rec->worker = (uint16_t)to;
    rec->slot = rep.info.slot;
    rec->local_id = rep.info.id;
    c->moves++;
    return 0;
}

int md_ctl_delete(md_ctl_t *c, md_ctl_chan_t *rec)
{
    md_cmd_reply_t rep;
    int rc = simple(c, rec, MD_CMD_DELETE, &rep);
    if (rc != 0 && rc != -ENOENT)
        return rc;
    uint32_t hslot;
    unsigned home = home_of(c, rec, &hslot);
    if (home != rec->worker) {
        /* Moved: its home slot (its port) is free again too. */
        forward(c, rec, 0);
        c->workers[home].used--;
        c->guest[c->workers[rec->worker].base + rec->slot] = 0;
        rec->home_id = 0;
    }
    rec->has_prev = 0;
    /* The worker no longer feeds the recording: the file is finished. */
    if (rec->rec_id != 0 && c->rec != NULL) {
        note_ending(c, rec);
        md_recorder_stop(c->rec, rec->rec_id);
    }
    rec->rec_id = 0;
    release_play(c, rec);
    prompt_unref(c, rec->overlay);
    rec->overlay = NULL;
    prompt_unref(c, rec->hold);
    rec->hold = NULL;
    prompt_unref(c, rec->announce);
    rec->announce = NULL;
    rec->api_id = 0;
    c->workers[rec->worker].used--;
    c->used--;
    return 0;
}

static md_ctl_prompt_t *current_prompt(const md_ctl_t *c, const char *name)
{
    for (md_ctl_prompt_t *p = c->prompts; p != NULL; p = p->next)
        if (p->current && strcmp(p->p.name, name) == 0)
            return p;
    return NULL;
}

const md_prompt_t *md_ctl_prompt(const md_ctl_t *c, const char *name)
{
    md_ctl_prompt_t *p = current_prompt(c, name);
    return p != NULL ? &p->p : NULL;
}

int md_ctl_play(md_ctl_t *c, md_ctl_chan_t *rec, const char *const *names, const uint16_t *loops,
                const uint16_t *gaps, unsigned n, int barge_in, uint32_t tag, char *err,
                size_t errlen)
{
    if (n == 0 || n > MD_PLAY_MAX) {
        snprintf(err, errlen, "a play list has 1 to %d items, not %u", MD_PLAY_MAX, n);
        return -EINVAL;
    }
    md_ctl_prompt_t *ps[MD_PLAY_MAX];
    md_cmd_t cmd;
    memset(&cmd, 0, sizeof(cmd));
    for (unsigned i = 0; i < n; i++) {
        ps[i] = current_prompt(c, names[i]);
        if (ps[i] == NULL) {
            snprintf(err, errlen, "no prompt named '%s' (load it first)", names[i]);
            return -ENOENT;
        }
        cmd.items[i].prompt = &ps[i]->p;
        cmd.items[i].loops = loops[i];
        cmd.items[i].gap_ms = gaps != NULL ? gaps[i] : 0;
    }
    cmd.type = MD_CMD_PLAY;
    cmd.slot = rec->slot;
    cmd.id = rec->local_id;
    cmd.n_items = n;
    cmd.barge_in = (uint8_t)(barge_in != 0);
    cmd.tag = tag;
    md_cmd_reply_t rep;
    int rc = md_ctl_exec(c, rec->worker, &cmd, &rep);
    if (rc != 0) {
        snprintf(err, errlen, "the worker refused the play list (%s)", strerror(-rc));
        return rc;
    }
    /* The worker now plays the new list: the old one is no longer read. */
    for (unsigned i = 0; i < n; i++)
        ps[i]->refs++;
    release_play(c, rec);
    memcpy(rec->play, ps, n * sizeof(ps[0]));
    rec->n_play = n;
    return 0;
}

int md_ctl_overlay(md_ctl_t *c, md_ctl_chan_t *rec, const char *name, float gain_db, char *err,
                   size_t errlen)
{
    md_ctl_prompt_t *p = current_prompt(c, name);
    if (p == NULL) {
        snprintf(err, errlen, "no prompt named '%s' (load it first)", name);
        return -ENOENT;
    }
    md_cmd_t cmd;
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = MD_CMD_OVERLAY;
    cmd.slot = rec->slot;
    cmd.id = rec->local_id;
    cmd.items[0].prompt = &p->p;
    cmd.n_items = 1;
    cmd.gain_db = gain_db;
    md_cmd_reply_t rep;
    int rc = md_ctl_exec(c, rec->worker, &cmd, &rep);
    if (rc != 0) {
        snprintf(err, errlen, "overlay gain %.1f dB refused (%s)", gain_db, strerror(-rc));
        return rc;
    }
    p->refs++;
    prompt_unref(c, rec->overlay);
    rec->overlay = p;
    return 0;
}

int md_ctl_stop(md_ctl_t *c, md_ctl_chan_t *rec)
{
    md_cmd_reply_t rep;
    int rc = simple(c, rec, MD_CMD_STOP, &rep);
    if (rc != 0)
        return rc;
    release_play(c, rec);
    prompt_unref(c, rec->overlay);
    rec->overlay = NULL;
    return 0;
}

static int name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= MD_PROMPT_NAME)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-' || ch == '/'))
            return 0;
    }
    return 1;
}

int md_ctl_load_prompt(md_ctl_t *c, const char *name, const char *path, const md_prompt_t **out,
                       char *err, size_t errlen)
{
    if (!name_ok(name)) {
        snprintf(err, errlen, "prompt name '%.80s': 1 to %d of letters, digits, '.', '_', '-', '/'",
                 name, MD_PROMPT_NAME - 1);
        return -EINVAL;
    }
    md_ctl_prompt_t *old = current_prompt(c, name);
    if (old == NULL && c->n_current >= c->max_prompts) {
        snprintf(err, errlen, "prompt store full (%u prompts)", c->max_prompts);
        return -ENOSPC;
    }
    md_ctl_prompt_t *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = md_prompt_decode_file(path, &p->p.pcm, &p->p.samples, err, errlen);
    if (rc != 0) {
        free(p);
        return rc;   /* the old version, if any, stays */
    }
    (void)md_prompt_encode_g711(&p->p);   /* without the copies it plays all the same */
    snprintf(p->p.name, sizeof(p->p.name), "%s", name);
    p->current = 1;
    p->next = c->prompts;
    c->prompts = p;
    if (old != NULL) {
        old->current = 0;
        old->refs++;          /* prompt_unref() frees it now if no channel holds it */
        prompt_unref(c, old);
    } else {
        c->n_current++;
    }
    if (out != NULL)
        *out = &p->p;
    return 0;
}

uint32_t md_ctl_event_channel(const md_ctl_t *c, unsigned worker, const md_event_t *ev)
{
    if (worker >= c->n_workers || ev->slot >= c->workers[worker].max)
        return 0;
    uint32_t gs = c->workers[worker].base + ev->slot;
    /* A channel moved to this slot from another worker, else the slot's own record. */
    const md_ctl_chan_t *rec = c->guest[gs] != 0 ? &c->chans[c->guest[gs] - 1] : &c->chans[gs];
    if (rec->api_id == 0)
        return 0;
    if (rec->worker == worker && rec->slot == ev->slot && rec->local_id == ev->channel)
        return rec->api_id;
    /* Queued by the worker it was on before its last move. */
    if (rec->has_prev && rec->prev_worker == worker && rec->prev_slot == ev->slot &&
        rec->prev_local_id == ev->channel)
        return rec->api_id;
    return 0;
}

int md_ctl_record_start(md_ctl_t *c, md_ctl_chan_t *rec, const char *relpath,
                        md_wav_format_t format, int stereo, char *err, size_t errlen)
{
    if (c->rec == NULL) {
        snprintf(err, errlen, "recording is off (start medleyd with --record-dir)");
        return -ENODEV;
    }
    if (rec->rec_id != 0) {
        snprintf(err, errlen, "channel %u records already (%s)", rec->api_id, rec->rec_path);
        return -EBUSY;
    }
    if (strlen(relpath) >= sizeof(rec->rec_path)) {
        snprintf(err, errlen, "path: at most %zu bytes", sizeof(rec->rec_path) - 1);
        return -EINVAL;
    }
    md_rec_id_t id;
    int rc = md_recorder_open(c->rec, rec->worker, relpath, format, stereo ? 2 : 1, &id, err, errlen);
    if (rc != 0)
        return rc;
    md_cmd_t cmd;
    md_cmd_reply_t rep;
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = MD_CMD_RECORD;
    cmd.slot = rec->slot;
    cmd.id = rec->local_id;
    cmd.rec_id = id;
    cmd.rec_stereo = (uint8_t)(stereo != 0);
    rc = md_ctl_exec(c, rec->worker, &cmd, &rep);
    if (rc != 0) {
        md_recorder_stop(c->rec, id);
        snprintf(err, errlen, "the worker refused the recording (%s)", strerror(-rc));
        return rc;
    }
    rec->rec_id = id;
    snprintf(rec->rec_path, sizeof(rec->rec_path), "%s", relpath);
    rec->rec_format = format;
    rec->rec_stereo = (uint8_t)(stereo != 0);
    rec->rec_paused = 0;
    return 0;
}

int md_ctl_record_stop(md_ctl_t *c, md_ctl_chan_t *rec)
{
    if (rec->rec_id == 0 || c->rec == NULL)
        return -ENOENT;
    md_cmd_t cmd;
    md_cmd_reply_t rep;
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = MD_CMD_RECORD;
    cmd.slot = rec->slot;
    cmd.id = rec->local_id;
    int rc = md_ctl_exec(c, rec->worker, &cmd, &rep);
    if (rc != 0)
        return rc;
    note_ending(c, rec);
    md_recorder_stop(c->rec, rec->rec_id);
    rec->rec_id = 0;
    return 0;
}

/* Remembers a recording that is ending, for its ENDED event. */
static void note_ending(md_ctl_t *c, const md_ctl_chan_t *rec)
{
    if (c->n_endings == sizeof(c->endings) / sizeof(c->endings[0]))
        memmove(&c->endings[0], &c->endings[1], --c->n_endings * sizeof(c->endings[0]));
    struct md_ctl_ending *e = &c->endings[c->n_endings++];
    e->id = rec->rec_id;
    e->api_id = rec->api_id;
    snprintf(e->path, sizeof(e->path), "%s", rec->rec_path);
    e->format = rec->rec_format;
    e->stereo = rec->rec_stereo;
}

int md_ctl_take_ending(md_ctl_t *c, md_rec_id_t id, struct md_ctl_ending *out)
{
    for (unsigned i = 0; i < c->n_endings; i++)
        if (c->endings[i].id == id) {
            *out = c->endings[i];
            memmove(&c->endings[i], &c->endings[i + 1], (--c->n_endings - i) * sizeof(c->endings[0]));
            return 1;
        }
    /* Ended by the recorder itself (disk full...): the channel still names it. */
    for (uint32_t g = 0; g < c->max_total; g++) {
        md_ctl_chan_t *rec = &c->chans[g];
        if (rec->api_id != 0 && rec->rec_id == id) {
            out->id = id;
            out->api_id = rec->api_id;
            snprintf(out->path, sizeof(out->path), "%s", rec->rec_path);
            out->format = rec->rec_format;
            out->stereo = rec->rec_stereo;
            rec->rec_id = 0;   /* the worker drops it on its next write (-ENOENT) */
            return 1;
        }
    }
    return 0;
}

/* ---- conferences ---- */

int md_ctl_conf_init(md_ctl_t *c, uint32_t max_confs)
{
    uint64_t total = (uint64_t)max_confs * c->n_workers;
    if (max_confs == 0 || total > SLOT_MASK)
        return -EINVAL;
    c->confs = calloc(total, sizeof(*c->confs));
    c->conf_gen = calloc(total, sizeof(*c->conf_gen));
    if (c->confs == NULL || c->conf_gen == NULL)
        return -ENOMEM;
    c->max_confs = max_confs;
    return 0;
}

md_ctl_conf_t *md_ctl_find_conf(md_ctl_t *c, uint32_t api_id)
{
    uint32_t g = api_id & SLOT_MASK;
    if (api_id == 0 || c->confs == NULL || g >= c->max_confs * c->n_workers ||
        c->confs[g].api_id != api_id)
        return NULL;
    return &c->confs[g];
}

md_ctl_conf_t *md_ctl_conf_created(md_ctl_t *c, unsigned worker, uint32_t idx, uint32_t local_id)
{
    if (c->confs == NULL || idx >= c->max_confs)
        return NULL;
    uint32_t g = worker * c->max_confs + idx;
    c->conf_gen[g] = (uint16_t)((c->conf_gen[g] + 1) & GEN_MASK);
    if (c->conf_gen[g] == 0)
        c->conf_gen[g] = 1;
    md_ctl_conf_t *cf = &c->confs[g];
    memset(cf, 0, sizeof(*cf));
    cf->api_id = ((uint32_t)c->conf_gen[g] << MD_CTL_ID_BITS) | g;
    cf->worker = (uint16_t)worker;
    cf->idx = idx;
    cf->local_id = local_id;
    return cf;
}

void md_ctl_conf_gone(md_ctl_t *c, md_ctl_conf_t *cf)
{
    prompt_unref(c, cf->play);
    cf->play = NULL;
    cf->api_id = 0;
}

void md_ctl_conf_play_ref(md_ctl_t *c, md_ctl_conf_t *cf, md_ctl_prompt_t *p)
{
    if (p != NULL)
        p->refs++;
    prompt_unref(c, cf->play);
    cf->play = p;
}

void md_ctl_hold_ref(md_ctl_t *c, md_ctl_chan_t *rec, md_ctl_prompt_t *p)
{
    if (p != NULL)
        p->refs++;
    prompt_unref(c, rec->hold);
    rec->hold = p;
}

md_ctl_prompt_t *md_ctl_prompt_ref(md_ctl_t *c, const char *name)
{
    return current_prompt(c, name);
}

uint32_t md_ctl_event_conf(const md_ctl_t *c, unsigned worker, const md_event_t *ev)
{
    if (c->confs == NULL || worker >= c->n_workers)
        return 0;
    for (uint32_t i = 0; i < c->max_confs; i++) {
        const md_ctl_conf_t *cf = &c->confs[worker * c->max_confs + i];
        if (cf->api_id != 0 && cf->local_id == ev->conf)
            return cf->api_id;
    }
    return 0;
}

void md_ctl_overlay_ref(md_ctl_t *c, md_ctl_chan_t *rec, md_ctl_prompt_t *p)
{
    if (p != NULL)
        p->refs++;
    prompt_unref(c, rec->overlay);
    rec->overlay = p;
}

void md_ctl_announce_ref(md_ctl_t *c, md_ctl_chan_t *rec, md_ctl_prompt_t *p)
{
    if (p != NULL)
        p->refs++;
    prompt_unref(c, rec->announce);
    rec->announce = p;
}

/* ---- bridges and conferences across workers ---- */

md_ctl_chan_t *md_ctl_find_local(md_ctl_t *c, unsigned worker, uint32_t local_id)
{
    if (worker >= c->n_workers || local_id == 0)
        return NULL;
    const md_ctl_worker_t *w = &c->workers[worker];
    for (uint32_t s = 0; s < w->max; s++) {
        uint32_t gs = w->base + s;
        /* A channel moved to this slot, else (none, or a stale guest entry: that channel
         * moved on) the slot's own record, which may itself have moved away. */
        md_ctl_chan_t *cand[2] = { c->guest[gs] != 0 ? &c->chans[c->guest[gs] - 1] : NULL,
                                   &c->chans[gs] };
        for (int k = 0; k < 2; k++) {
            md_ctl_chan_t *rec = cand[k];
            if (rec != NULL && rec->api_id != 0 && rec->worker == worker && rec->slot == s &&
                rec->local_id == local_id)
                return rec;
        }
    }
    return NULL;
}

int md_ctl_move_to(md_ctl_t *c, md_ctl_chan_t *rec, unsigned to)
{
    if (rec->worker == to)
        return 0;
    /* A recording is fed by its worker's recorder producer: it cannot follow. */
    if (rec->rec_id != 0)
        return -EXDEV;
    int rc = md_ctl_move(c, rec, to);
    return rc == -ENOSPC ? -ENOBUFS : rc == -ENOTSUP ? -ENODEV : rc;
}

/* A command naming two channels of one worker (BRIDGE, CONF_FROM_BRIDGE). */
static void pair_cmd(md_cmd_t *cmd, md_cmd_type_t type, const md_ctl_chan_t *a,
                     const md_ctl_chan_t *b)
{
    memset(cmd, 0, sizeof(*cmd));
    cmd->type = type;
    cmd->slot = a->slot;
    cmd->id = a->local_id;
    cmd->slot2 = b->slot;
    cmd->id2 = b->local_id;
}

int md_ctl_bridge(md_ctl_t *c, md_ctl_chan_t *a, md_ctl_chan_t *b)
{
    if (a == b)
        return -EINVAL;
    if (a->worker != b->worker) {
        /* b moves to a's worker unless it records (then a moves to b's); a worker with no
         * room for the one is tried the other way round. */
        md_ctl_chan_t *mv = b->rec_id != 0 ? a : b, *stay = mv == a ? b : a;
        if (mv->rec_id != 0)
            return -EXDEV;   /* both record */
        int rc = md_ctl_move_to(c, mv, stay->worker);
        if ((rc == -ENOBUFS || rc == -EMFILE) && stay->rec_id == 0)
            rc = md_ctl_move_to(c, stay, mv->worker);
        if (rc != 0)
            return rc;
    }
    md_cmd_t cmd;
    md_cmd_reply_t rep;
    pair_cmd(&cmd, MD_CMD_BRIDGE, a, b);
    return md_ctl_exec(c, a->worker, &cmd, &rep);
}

int md_ctl_conf_from_bridge(md_ctl_t *c, md_ctl_chan_t *a, md_ctl_chan_t *b, md_ctl_conf_t **out)
{
    *out = NULL;
    if (a == b)
        return -EINVAL;
    if (a->worker != b->worker)
        return -ENOTCONN;   /* a bridge's two legs share a worker */
    md_cmd_t cmd;
    md_cmd_reply_t rep;
    pair_cmd(&cmd, MD_CMD_CONF_FROM_BRIDGE, a, b);
    int rc = md_ctl_exec(c, a->worker, &cmd, &rep);
    if (rc == -EINVAL)
        return -ENOTCONN;
    if (rc != 0)
        return rc;   /* -ENOTSUP, -ENOSPC, -ENOENT, a timeout */
    md_ctl_conf_t *cf = md_ctl_conf_created(c, a->worker, rep.conf.slot, rep.conf.id);
    if (cf == NULL) {
        /* No record for it on this side: undo it at once, back to the bridge. */
        memset(&cmd, 0, sizeof(cmd));
        cmd.type = MD_CMD_CONF_DELETE;
        cmd.conf.slot = rep.conf.slot;
        cmd.conf.id = rep.conf.id;
        cmd.conf.rebridge = 1;
        md_ctl_exec(c, a->worker, &cmd, &rep);
        return -ENOSPC;
    }
    *out = cf;
    return 0;
}

int md_ctl_conf_add(md_ctl_t *c, const md_ctl_conf_t *cf, md_ctl_chan_t *rec, md_cmd_t *cmd)
{
    int rc = md_ctl_move_to(c, rec, cf->worker);
    if (rc != 0)
        return rc;
    md_cmd_reply_t rep;
    cmd->type = MD_CMD_CONF_ADD;
    cmd->slot = rec->slot;
    cmd->id = rec->local_id;
    cmd->conf.slot = cf->idx;
    cmd->conf.id = cf->local_id;
    return md_ctl_exec(c, cf->worker, cmd, &rep);
}

int md_ctl_conf_end(md_ctl_t *c, md_ctl_conf_t *cf, int rebridge)
{
    md_cmd_t cmd;
    md_cmd_reply_t rep;
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = MD_CMD_CONF_DELETE;
    cmd.conf.slot = cf->idx;
    cmd.conf.id = cf->local_id;
    cmd.conf.rebridge = (uint8_t)(rebridge != 0);
    int rc = md_ctl_exec(c, cf->worker, &cmd, &rep);
    if (rc != 0 && rebridge) {
        /* A member left (its channel deleted): nothing to bridge again, just end it. */
        cmd.conf.rebridge = 0;
        md_ctl_exec(c, cf->worker, &cmd, &rep);
    }
    if (cf->rec_id != 0 && c->rec != NULL)
        md_recorder_stop(c->rec, cf->rec_id);
    md_ctl_conf_gone(c, cf);
    return rc;
}

const char *md_ctl_join_error(int rc)
{
    switch (rc) {
    case -ENOENT: return "a channel is gone";
    case -EINVAL: return "a channel with itself";
    case -ENOTCONN: return "the two channels are not bridged to each other";
    case -ENOTSUP: return "conferences are off in this engine";
    case -ENOSPC: return "every conference of the worker is in use";
    case -EBUSY: return "the channel is bridged or already in a conference";
    case -EXDEV: return "the channel records on another worker: stop the recording first";
    case -ENOBUFS: return "no free channel on the worker it must move to";
    case -EMFILE: return "no free Opus codec state on the worker it must move to";
    case -ENODEV: return "this engine cannot move channels between workers";
    case -ETIMEDOUT: return "the worker did not answer in time";
    case -EAGAIN: return "the worker's command ring is full";
    default: return "the engine refused";
    }
}
