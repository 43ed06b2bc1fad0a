/* Flows, sessions and the session host. */
#include "control/ivrs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "control/say.h"

#define SLOT_MASK ((1u << MD_CTL_ID_BITS) - 1)

/* ---- the host: what a session does to the engine ---- */

static int host_play(void *arg, uint32_t channel, const char *const *names, unsigned n,
                     int barge_in, uint32_t tag)
{
    md_ivrs_t *r = arg;
    md_ctl_chan_t *rec = md_ctl_find(r->ctl, channel);
    uint16_t loops[MD_PLAY_MAX], gaps[MD_PLAY_MAX];
    char err[200];
    if (rec == NULL)
        return -ENOENT;
    for (unsigned i = 0; i < n; i++) {
        loops[i] = 1;
        gaps[i] = 0;
    }
    return md_ctl_play(r->ctl, rec, names, loops, gaps, n, barge_in, tag, err, sizeof(err));
}

static void host_stop(void *arg, uint32_t channel)
{
    md_ivrs_t *r = arg;
    md_ctl_chan_t *rec = md_ctl_find(r->ctl, channel);
    if (rec != NULL)
        md_ctl_stop(r->ctl, rec);
}

static void host_note(void *arg, uint32_t channel, const md_ivr_note_t *n)
{
    md_ivrs_t *r = arg;
    if (n->kind == MD_IVR_NOTE_TRANSFER)
        r->transferred++;
    else if (n->kind == MD_IVR_NOTE_HANGUP)
        r->hung_up++;
    if (r->publish != NULL)
        r->publish(r->publish_arg, channel, n);
}

int md_ivrs_init(md_ivrs_t *r, md_ctl_t *ctl)
{
    memset(r, 0, sizeof(*r));
    r->ctl = ctl;
    r->sess = calloc(ctl->max_total, sizeof(*r->sess));
    r->sess_flow = calloc(ctl->max_total, sizeof(*r->sess_flow));
    r->active = calloc(ctl->max_total, sizeof(*r->active));
    r->active_pos = calloc(ctl->max_total, sizeof(*r->active_pos));
    if (r->sess == NULL || r->sess_flow == NULL || r->active == NULL || r->active_pos == NULL) {
        md_ivrs_free(r);
        return -ENOMEM;
    }
    r->host.play = host_play;
    r->host.stop = host_stop;
    r->host.note = host_note;
    r->host.arg = r;
    return 0;
}

static void release(md_ivrs_t *r, uint32_t g)
{
    if (r->sess[g] == NULL)
        return;
    /* Out of the active list: the last entry takes this one's place. */
    uint32_t pos = r->active_pos[g];
    r->active[pos] = r->active[--r->n_active];
    r->active_pos[r->active[pos]] = pos;
    md_ivr_end(r->sess[g]);
    free(r->sess[g]);
    r->sess[g] = NULL;
    md_ivrs_flow_t *fv = r->sess_flow[g];
    r->sess_flow[g] = NULL;
    if (fv != NULL && --fv->sessions == 0 && !fv->current) {
        for (md_ivrs_flow_t **pp = &r->flows; *pp != NULL; pp = &(*pp)->next)
            if (*pp == fv) {
                *pp = fv->next;
                break;
            }
        md_flow_free(fv->flow);
        free(fv);
    }
}

void md_ivrs_free(md_ivrs_t *r)
{
    if (r->sess != NULL)
        for (uint32_t g = 0; g < r->ctl->max_total; g++)
            release(r, g);
    md_ivrs_flow_t *f = r->flows;
    while (f != NULL) {
        md_ivrs_flow_t *next = f->next;
        md_flow_free(f->flow);
        free(f);
        f = next;
    }
    free(r->sess);
    free(r->sess_flow);
    free(r->active);
    free(r->active_pos);
    memset(r, 0, sizeof(*r));
}

/* ---- flows ---- */

typedef struct {
    md_ivrs_t *r;
    const md_flow_t *flow;
    const char *lang;
    int check_only;
    int rc;
    unsigned loaded;
    char *err;
    size_t errlen;
    char (*done)[MD_PROMPT_NAME];
    unsigned n_done, max_done;
} prompt_walk_t;

static void one_prompt(void *arg, const char *name)
{
    prompt_walk_t *w = arg;
    if (w->rc != 0)
        return;
    char path[1200], pname[MD_PROMPT_NAME + 16];
    snprintf(path, sizeof(path), "%s/%s/%s.wav", w->flow->prompt_dir, w->lang, name);
    snprintf(pname, sizeof(pname), "%s/%s", w->lang, name);
    if (strlen(pname) >= MD_PROMPT_NAME) {
        snprintf(w->err, w->errlen, "prompt name %s is too long", pname);
        w->rc = -ENAMETOOLONG;
        return;
    }
    if (w->check_only) {
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            snprintf(w->err, w->errlen, "%s: prompt %s for language %s: %s", w->flow->path, name,
                     w->lang, stat(path, &st) != 0 ? "file missing" : "not a regular file");
            snprintf(w->err + strlen(w->err), w->errlen - strlen(w->err), " (%s)", path);
            w->rc = -ENOENT;
        }
        return;
    }
    /* A name used by many steps (the defaults) is loaded once per walk. */
    for (unsigned i = 0; i < w->n_done; i++)
        if (strcmp(w->done[i], pname) == 0)
            return;
    if (w->n_done < w->max_done)
        snprintf(w->done[w->n_done++], MD_PROMPT_NAME, "%s", pname);
    const md_prompt_t *pr;
    w->rc = md_ctl_load_prompt(w->r->ctl, pname, path, &pr, w->err, w->errlen);
    if (w->rc == 0)
        w->loaded++;
}

/* Every prompt of the flow and of spoken numbers, in every language. */
static int walk_prompts(md_ivrs_t *r, const md_flow_t *f, int check_only, unsigned *loaded,
                        char *err, size_t errlen)
{
    char (*done)[MD_PROMPT_NAME] = calloc(2048, MD_PROMPT_NAME);
    if (done == NULL)
        return -ENOMEM;
    int rc = 0;
    for (unsigned l = 0; rc == 0 && l < f->n_languages; l++) {
        prompt_walk_t w = { r, f, f->languages[l], check_only, 0, 0, err, errlen, done, 0, 2048 };
        md_flow_each_prompt(f, one_prompt, &w);
        md_say_each_prompt(f->languages[l], one_prompt, &w);
        rc = w.rc;
        if (loaded != NULL)
            *loaded += w.loaded;
    }
    free(done);
    return rc;
}

/* IVR-6: the urgent notice lasts at most 20 s in every language. */
static int check_notice(md_ivrs_t *r, const md_flow_t *f, char *err, size_t errlen)
{
    for (unsigned l = 0; l < f->n_languages; l++) {
        size_t samples = 0;
        for (unsigned i = 0; i < f->notice.n; i++) {
            char pname[MD_PROMPT_NAME + 16];
            snprintf(pname, sizeof(pname), "%s/%s", f->languages[l], f->notice.item[i].name);
            const md_prompt_t *p = md_ctl_prompt(r->ctl, pname);
            if (p != NULL)
                samples += p->samples;
        }
        if (samples > 20 * 8000) {
            snprintf(err, errlen, "%s: the urgent notice lasts %.1f s in %s; at most 20 s", f->path,
                     (double)samples / 8000, f->languages[l]);
            return -EINVAL;
        }
    }
    return 0;
}

md_ivrs_flow_t *md_ivrs_find_flow(md_ivrs_t *r, const char *name)
{
    for (md_ivrs_flow_t *f = r->flows; f != NULL; f = f->next)
        if (f->current && strcmp(f->flow->name, name) == 0)
            return f;
    return NULL;
}

unsigned md_ivrs_flow_sessions(const md_ivrs_t *r, const char *name)
{
    unsigned n = 0;
    for (const md_ivrs_flow_t *f = r->flows; f != NULL; f = f->next)
        if (strcmp(f->flow->name, name) == 0)
            n += f->sessions;
    return n;
}

int md_ivrs_load_flow(md_ivrs_t *r, const char *path, int check_only, md_ivrs_flow_t **out,
                      md_ivrs_flow_t *checked, char *err, size_t errlen)
{
    md_ivrs_flow_t *fv = calloc(1, sizeof(*fv));
    if (fv == NULL)
        return -ENOMEM;
    int rc = md_flow_load(path, &fv->flow, err, errlen, fv->warnings, sizeof(fv->warnings));
    if (rc == 0)
        rc = walk_prompts(r, fv->flow, 1, NULL, err, errlen);
    unsigned n_flows = 0;
    for (md_ivrs_flow_t *f = r->flows; f != NULL; f = f->next)
        n_flows += f->current;
    if (rc == 0 && !check_only && md_ivrs_find_flow(r, fv->flow->name) == NULL &&
        n_flows >= MD_IVRS_FLOWS) {
        snprintf(err, errlen, "at most %d flows", MD_IVRS_FLOWS);
        rc = -ENOSPC;
    }
    if (rc != 0 || check_only) {
        if (rc == 0 && checked != NULL) {
            *checked = *fv;
            checked->flow = NULL;   /* the caller gets the facts, not the tree */
            checked->prompts = 0;
        }
        if (rc == 0 && checked != NULL) {
            /* Counts for the report. */
            checked->sessions = md_ivrs_flow_sessions(r, fv->flow->name);
        }
        md_flow_free(fv->flow);
        free(fv);
        return rc;
    }
    rc = walk_prompts(r, fv->flow, 0, &fv->prompts, err, errlen);
    if (rc == 0)
        rc = check_notice(r, fv->flow, err, errlen);
    if (rc != 0) {
        md_flow_free(fv->flow);
        free(fv);
        return rc;
    }
    /* Install: the old version stays for the calls walking it. */
    md_ivrs_flow_t *old = md_ivrs_find_flow(r, fv->flow->name);
    fv->current = 1;
    fv->next = r->flows;
    r->flows = fv;
    if (old != NULL) {
        old->current = 0;
        if (old->sessions == 0) {
            for (md_ivrs_flow_t **pp = &r->flows; *pp != NULL; pp = &(*pp)->next)
                if (*pp == old) {
                    *pp = old->next;
                    break;
                }
            md_flow_free(old->flow);
            free(old);
        }
    }
    if (out != NULL)
        *out = fv;
    return 0;
}

/* ---- sessions ---- */

md_ivr_t *md_ivrs_session(md_ivrs_t *r, uint32_t channel)
{
    if (md_ctl_find(r->ctl, channel) == NULL)
        return NULL;
    md_ivr_t *s = r->sess[channel & SLOT_MASK];
    return s != NULL && s->channel == channel ? s : NULL;
}

int md_ivrs_start(md_ivrs_t *r, uint32_t channel, const char *flow, const char *ani,
                  const char *lang, char *err, size_t errlen)
{
    if (md_ctl_find(r->ctl, channel) == NULL) {
        snprintf(err, errlen, "no channel %u", channel);
        return -ENOENT;
    }
    md_ivrs_flow_t *fv = md_ivrs_find_flow(r, flow);
    if (fv == NULL) {
        snprintf(err, errlen, "no flow named '%s' (load it first)", flow);
        return -ENOENT;
    }
    uint32_t g = channel & SLOT_MASK;
    if (r->sess[g] != NULL && !md_ivr_done(r->sess[g]) && r->sess[g]->channel == channel) {
        snprintf(err, errlen, "channel %u is already in an IVR session", channel);
        return -EBUSY;
    }
    release(r, g);
    md_ivr_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    r->sess[g] = s;
    r->sess_flow[g] = fv;
    r->active_pos[g] = r->n_active;
    r->active[r->n_active++] = g;
    fv->sessions++;
    int rc = md_ivr_start(s, fv->flow, &r->host, channel, ani, lang, r->now_ms);
    if (rc != 0) {
        snprintf(err, errlen, "language '%s' is not one of the flow's", lang ? lang : "");
        release(r, g);
        return rc;
    }
    r->started++;
    return 0;
}

int md_ivrs_stop(md_ivrs_t *r, uint32_t channel)
{
    md_ivr_t *s = md_ivrs_session(r, channel);
    if (s == NULL)
        return -ENOENT;
    if (s->playing) {
        md_ctl_chan_t *rec = md_ctl_find(r->ctl, channel);
        if (rec != NULL)
            md_ctl_stop(r->ctl, rec);
    }
    release(r, channel & SLOT_MASK);
    r->stopped++;
    return 0;
}

int md_ivrs_answer(md_ivrs_t *r, uint32_t channel, const char *result, const md_ivr_var_t *vars,
                   unsigned n)
{
    md_ivr_t *s = md_ivrs_session(r, channel);
    if (s == NULL)
        return -ENOENT;
    int rc = md_ivr_answer(s, result, vars, n, r->now_ms);
    if (md_ivr_done(s))
        release(r, channel & SLOT_MASK);
    return rc;
}

void md_ivrs_on_event(md_ivrs_t *r, uint32_t channel, const md_event_t *ev)
{
    md_ivr_t *s = md_ivrs_session(r, channel);
    if (s == NULL)
        return;
    if (ev->type == MD_EV_DIGIT)
        md_ivr_digit(s, ev->digit, r->now_ms);
    else if (ev->type == MD_EV_PROMPT_DONE)
        md_ivr_prompt_done(s, ev->tag, ev->digit, r->now_ms);
    if (md_ivr_done(s))
        release(r, channel & SLOT_MASK);
}

void md_ivrs_tick(md_ivrs_t *r)
{
    /* Backwards: release() moves the last entry into the freed place. */
    for (uint32_t k = r->n_active; k-- > 0;) {
        uint32_t g = r->active[k];
        md_ivr_t *s = r->sess[g];
        /* A channel deleted under its session: the session goes too. */
        if (md_ctl_find(r->ctl, s->channel) == NULL || md_ivr_done(s)) {
            release(r, g);
            continue;
        }
        md_ivr_tick(s, r->now_ms);
        if (md_ivr_done(s))
            release(r, g);
    }
}
