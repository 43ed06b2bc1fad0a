/* The IVR session state machine. Every transition goes through enter_step(), present()
 * or failure(), so the rules (visit limits, type-ahead, error counting, trail) live in
 * one place each. */
#include "control/ivr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/media.h"   /* MD_PLAY_MAX */

static void enter_step(md_ivr_t *s, int idx, uint64_t now);
static void present(md_ivr_t *s, uint64_t now);

/* ---- trail, variables, notes ---- */

static void trail_add(md_ivr_t *s, const char *what)
{
    size_t need = strlen(what) + 3;
    while (strlen(s->trail) + need >= sizeof(s->trail)) {
        /* Keep the caller's last actions: drop the oldest entry. */
        char *cut = strstr(s->trail, " > ");
        if (cut == NULL) {
            s->trail[0] = '\0';
            break;
        }
        memmove(s->trail, cut + 3, strlen(cut + 3) + 1);
    }
    if (s->trail[0] != '\0')
        strcat(s->trail, " > ");
    strncat(s->trail, what, sizeof(s->trail) - strlen(s->trail) - 1);
}

static void set_var_secret(md_ivr_t *s, const char *name, const char *value, int secret);

static void set_var(md_ivr_t *s, const char *name, const char *value)
{
    set_var_secret(s, name, value, 0);
}

static void set_var_secret(md_ivr_t *s, const char *name, const char *value, int secret)
{
    unsigned i;
    for (i = 0; i < s->n_vars; i++)
        if (strcmp(s->vars[i].name, name) == 0)
            break;
    if (i == s->n_vars) {
        if (s->n_vars == MD_IVR_VARS)
            return;
        s->n_vars++;
        snprintf(s->vars[i].name, sizeof(s->vars[i].name), "%s", name);
    }
    snprintf(s->vars[i].value, sizeof(s->vars[i].value), "%s", value);
    s->vars[i].secret = secret;
}

const char *md_ivr_var(const md_ivr_t *s, const char *name)
{
    for (unsigned i = 0; i < s->n_vars; i++)
        if (strcmp(s->vars[i].name, name) == 0)
            return s->vars[i].value;
    return NULL;
}

int md_ivr_done(const md_ivr_t *s)
{
    return s->phase == MD_IVR_PH_DONE;
}

static const md_flow_step_t *cur(const md_ivr_t *s)
{
    return &s->flow->steps[s->step];
}

static void note(md_ivr_t *s, md_ivr_note_kind_t kind, const char *queue, const char *reason)
{
    /* Passwords go to the integrator that checks them (lookups) and nowhere else. */
    md_ivr_var_t shown[MD_IVR_VARS];
    unsigned n_shown = 0;
    for (unsigned i = 0; i < s->n_vars; i++)
        if (!s->vars[i].secret || kind == MD_IVR_NOTE_LOOKUP)
            shown[n_shown++] = s->vars[i];
    md_ivr_note_t n = { .kind = kind, .step = cur(s)->name, .queue = queue, .reason = reason,
                        .trail = s->trail, .vars = shown, .n_vars = n_shown };
    if (kind == MD_IVR_NOTE_LOOKUP)
        n.lookup = cur(s)->lookup;
    if (s->host->note != NULL)
        s->host->note(s->host->arg, s->channel, &n);
}

static void finish(md_ivr_t *s, md_ivr_note_kind_t kind, const char *queue, const char *reason)
{
    s->phase = MD_IVR_PH_DONE;
    s->deadline = 0;
    note(s, kind, queue, reason);
}

/* ---- playback ---- */

static void q_clear(md_ivr_t *s)
{
    s->q_len = s->q_pos = 0;
}

/* Queues "<language>/<name>". */
static void q_name(md_ivr_t *s, const char *name)
{
    size_t ll = strlen(s->lang), nl = strlen(name);
    if (s->q_len == MD_IVR_QUEUE || ll + 1 + nl >= MD_FLOW_NAME) {
        s->errors++;
        return;
    }
    char *q = s->queue[s->q_len++];
    memcpy(q, s->lang, ll);
    q[ll] = '/';
    memcpy(q + ll + 1, name, nl + 1);
}

/* A variable spoken as kind; a value that cannot be spoken is skipped (and counted). */
static void q_spoken(md_ivr_t *s, md_say_kind_t kind, const char *value)
{
    md_say_name_t names[40];
    int n = md_say(s->lang, kind, value, names, 40);
    if (n < 0) {
        s->errors++;
        return;
    }
    for (int i = 0; i < n; i++)
        q_name(s, names[i]);
}

static void q_list(md_ivr_t *s, const md_flow_list_t *l)
{
    for (unsigned i = 0; i < l->n; i++) {
        const md_flow_item_t *it = &l->item[i];
        if (it->kind == MD_SAY_PROMPT) {
            q_name(s, it->name);
        } else {
            const char *v = md_ivr_var(s, it->name);
            if (v != NULL)
                q_spoken(s, it->kind, v);
            else
                s->errors++;
        }
    }
}

static void after_play(md_ivr_t *s, uint64_t now);

/* Sends the next MD_PLAY_MAX names; when nothing is left, the list is done. */
static void play_next(md_ivr_t *s, uint64_t now)
{
    if (s->q_pos >= s->q_len) {
        s->playing = 0;
        after_play(s, now);
        return;
    }
    const char *names[MD_PLAY_MAX];
    unsigned n = 0;
    while (n < MD_PLAY_MAX && s->q_pos < s->q_len)
        names[n++] = s->queue[s->q_pos++];
    s->tag = ++s->next_tag;
    s->playing = 1;
    if (s->host->play(s->host->arg, s->channel, names, n, s->barge, s->tag) != 0) {
        /* A prompt that cannot be played is skipped, never a stuck call. */
        s->errors++;
        s->playing = 0;
        play_next(s, now);
    }
}

static void play(md_ivr_t *s, int barge, uint64_t now)
{
    s->barge = barge;
    s->q_pos = 0;
    play_next(s, now);
}

static void stop_playing(md_ivr_t *s)
{
    if (s->playing && s->host->stop != NULL)
        s->host->stop(s->host->arg, s->channel);
    s->playing = 0;
    q_clear(s);
}

/* ---- errors ---- */

static void failure(md_ivr_t *s, const md_flow_list_t *message, uint64_t now)
{
    const md_flow_step_t *st = cur(s);
    s->errors++;
    s->failures++;
    s->n_entry = 0;
    s->has_point = 0;
    s->deadline = 0;
    stop_playing(s);
    if (s->failures >= st->retries) {
        /* IVR-4: after too many, an agent, with the trail. */
        trail_add(s, "too many errors");
        s->phase = MD_IVR_PH_FINAL;
        s->final_kind = MD_IVR_NOTE_TRANSFER;
        snprintf(s->final_queue, sizeof(s->final_queue), "%s", s->flow->agent_queue);
        snprintf(s->final_reason, sizeof(s->final_reason), "too_many_errors");
        q_list(s, &s->flow->too_many);
        play(s, 0, now);
        return;
    }
    s->phase = MD_IVR_PH_MESSAGE;
    q_list(s, message);
    play(s, 1, now);
}

/* ---- input ---- */

static void go_back(md_ivr_t *s, uint64_t now)
{
    trail_add(s, "*");
    if (s->depth > 0) {
        int target = s->stack[--s->depth];
        enter_step(s, target, now);
    } else {
        enter_step(s, s->start, now);
    }
}

static void to_agent(md_ivr_t *s, const char *reason)
{
    stop_playing(s);
    finish(s, MD_IVR_NOTE_TRANSFER, s->flow->agent_queue, reason);
}

static void menu_key(md_ivr_t *s, char d, uint64_t now)
{
    const md_flow_step_t *st = cur(s);
    char what[MD_FLOW_NAME + 8];
    int idx = md_flow_key_index(d);
    if (d == '*') {
        go_back(s, now);
    } else if (d == '#') {
        trail_add(s, "#");
        s->depth = 0;
        enter_step(s, s->start, now);
    } else if (d == '9') {
        trail_add(s, "9");
        present(s, now);
    } else if (idx >= 0 && st->option[idx] >= 0) {
        snprintf(what, sizeof(what), "%s:%c", st->name, d);
        trail_add(s, what);
        if (s->depth < sizeof(s->stack) / sizeof(s->stack[0]))
            s->stack[s->depth++] = s->step;
        enter_step(s, st->option[idx], now);
    } else if (d == '0') {
        snprintf(what, sizeof(what), "%s:0", st->name);
        trail_add(s, what);
        to_agent(s, "agent_key");
    } else {
        failure(s, &st->invalid, now);
    }
}

/* An entry is complete: check it, read it back or store it. */
static void collect_end(md_ivr_t *s, uint64_t now)
{
    const md_flow_step_t *st = cur(s);
    unsigned digits = s->n_entry - (unsigned)s->has_point;
    s->entry[s->n_entry] = '\0';
    if (s->has_point && s->entry[s->n_entry - 1] == '.') {
        s->entry[--s->n_entry] = '\0';   /* "12*" then # is 12 yuan */
        s->has_point = 0;
    }
    int ok = digits >= st->min_digits && digits <= st->max_digits;
    if (ok && st->collect == MD_COLLECT_DATE) {
        md_say_name_t tmp[8];
        ok = (s->n_entry == 4 || s->n_entry == 6 || s->n_entry == 8) &&
             md_say("en", MD_SAY_DATE, s->entry, tmp, 8) > 0;
    }
    if (!ok) {
        failure(s, &st->invalid, now);
        return;
    }
    if (st->readback) {
        s->phase = MD_IVR_PH_CONFIRM;
        s->deadline = 0;
        q_clear(s);
        md_say_kind_t k = st->collect == MD_COLLECT_AMOUNT ? MD_SAY_AMOUNT
                          : st->collect == MD_COLLECT_DATE ? MD_SAY_DATE
                                                           : MD_SAY_DIGITS;
        q_spoken(s, k, s->entry);
        q_list(s, &s->flow->confirm);
        play(s, 1, now);
        return;
    }
    char what[MD_FLOW_NAME + 24];
    snprintf(what, sizeof(what), "%s:entered", st->name);
    trail_add(s, what);
    set_var_secret(s, st->var, s->entry, st->collect == MD_COLLECT_PASSWORD);
    enter_step(s, st->next, now);
}

static void collect_key(md_ivr_t *s, char d, uint64_t now)
{
    const md_flow_step_t *st = cur(s);
    if (d == '#') {
        if (s->n_entry == 0)
            failure(s, &st->invalid, now);
        else
            collect_end(s, now);
        return;
    }
    if (d == '*') {
        /* IVR-8: '*' is the decimal point of an amount; elsewhere, back. */
        if (st->collect == MD_COLLECT_AMOUNT && !s->has_point && s->n_entry > 0) {
            s->entry[s->n_entry++] = '.';
            s->has_point = 1;
            s->phase = MD_IVR_PH_INPUT;
            s->deadline = now + st->inter_digit_ms;
            return;
        }
        if (st->collect != MD_COLLECT_AMOUNT || s->n_entry == 0) {
            go_back(s, now);
            return;
        }
        failure(s, &st->invalid, now);
        return;
    }
    if (d < '0' || d > '9' || s->n_entry + 1 >= sizeof(s->entry)) {
        failure(s, &st->invalid, now);
        return;
    }
    if (s->has_point && s->n_entry >= 3 && s->entry[s->n_entry - 3] == '.') {
        failure(s, &st->invalid, now);   /* a third decimal */
        return;
    }
    s->entry[s->n_entry++] = d;
    s->phase = MD_IVR_PH_INPUT;
    s->deadline = now + st->inter_digit_ms;
    if (s->n_entry - (unsigned)s->has_point == st->max_digits)
        collect_end(s, now);
}

static void handle_input(md_ivr_t *s, char d, uint64_t now)
{
    stop_playing(s);
    if (cur(s)->kind == MD_STEP_MENU)
        menu_key(s, d, now);
    else
        collect_key(s, d, now);
}

/* Digits keyed ahead are consumed as if keyed now, as long as the step takes input. */
static void consume_ahead(md_ivr_t *s, uint64_t now)
{
    while (s->n_ahead > 0 && s->phase == MD_IVR_PH_INPUT) {
        char d = s->ahead[0];
        memmove(s->ahead, s->ahead + 1, --s->n_ahead);
        handle_input(s, d, now);
    }
}

/* ---- steps ---- */

/* Says a menu's or a collect's prompt, unless the caller already keyed ahead. */
static void present(md_ivr_t *s, uint64_t now)
{
    const md_flow_step_t *st = cur(s);
    stop_playing(s);
    s->n_entry = 0;
    s->has_point = 0;
    if (s->n_ahead > 0) {
        s->phase = MD_IVR_PH_INPUT;
        s->deadline = now + st->inter_digit_ms;
        consume_ahead(s, now);
        return;
    }
    s->phase = MD_IVR_PH_PROMPT;
    s->deadline = 0;
    q_list(s, &st->prompt);
    play(s, 1, now);
}

/* The next page of a say step's list variable. Returns 0 if nothing was left. */
static int say_page(md_ivr_t *s)
{
    const md_flow_step_t *st = cur(s);
    const char *list = md_ivr_var(s, st->list_var);
    if (list == NULL)
        return 0;
    unsigned idx = 0, said = 0;
    char item[MD_IVR_VALUE];
    const char *p = list;
    while (*p != '\0' && (st->page == 0 || said < st->page)) {
        size_t n = strcspn(p, ";");
        if (idx >= s->page_pos) {
            snprintf(item, sizeof(item), "%.*s", (int)(n < sizeof(item) - 1 ? n : sizeof(item) - 1), p);
            q_spoken(s, st->list_kind, item);
            said++;
        }
        idx++;
        p += n;
        if (*p == ';')
            p++;
    }
    s->page_pos += said;
    return said > 0;
}

static int list_has_more(const md_ivr_t *s)
{
    const md_flow_step_t *st = cur(s);
    const char *list = md_ivr_var(s, st->list_var);
    if (list == NULL || *list == '\0')
        return 0;
    unsigned items = 1;
    for (const char *p = list; *p; p++)
        if (*p == ';' && p[1] != '\0')
            items++;
    return s->page_pos < items;
}

static void enter_step(md_ivr_t *s, int idx, uint64_t now)
{
    /* Visit limits (IVR-11): bounded, so a misconfigured loop cannot spin. */
    for (unsigned hops = 0; hops < 8; hops++) {
        const md_flow_step_t *st = &s->flow->steps[idx];
        s->visits[idx]++;
        if (st->max_visits == 0 || s->visits[idx] <= st->max_visits)
            break;
        idx = st->over_limit;
    }
    s->step = idx;
    s->failures = 0;
    s->deadline = 0;
    s->page_pos = 0;
    const md_flow_step_t *st = cur(s);
    stop_playing(s);
    note(s, MD_IVR_NOTE_STEP, NULL, NULL);
    switch (st->kind) {
    case MD_STEP_MENU:
    case MD_STEP_COLLECT:
        present(s, now);
        break;
    case MD_STEP_LOOKUP:
        s->phase = MD_IVR_PH_LOOKUP;
        s->wait_playing = 0;
        s->deadline = now + st->wait_prompt_ms;
        s->lookup_deadline = now + st->lookup_timeout_ms;
        note(s, MD_IVR_NOTE_LOOKUP, NULL, NULL);
        break;
    case MD_STEP_SAY:
        s->phase = MD_IVR_PH_SAY;
        q_list(s, &st->prompt);
        if (st->list_var[0] != '\0')
            say_page(s);
        play(s, 0, now);
        break;
    case MD_STEP_TRANSFER: {
        char what[MD_FLOW_NAME + 16];
        snprintf(what, sizeof(what), "transfer %s", st->queue);
        trail_add(s, what);
        finish(s, MD_IVR_NOTE_TRANSFER, st->queue, "flow");
        break;
    }
    case MD_STEP_HANGUP:
        s->phase = MD_IVR_PH_FINAL;
        s->final_kind = MD_IVR_NOTE_HANGUP;
        s->final_queue[0] = '\0';
        snprintf(s->final_reason, sizeof(s->final_reason), "flow");
        q_list(s, &st->prompt);
        play(s, 0, now);
        break;
    }
}

/* Everything queued has been played. */
static void after_play(md_ivr_t *s, uint64_t now)
{
    const md_flow_step_t *st = cur(s);
    switch (s->phase) {
    case MD_IVR_PH_WELCOME:
        enter_step(s, s->start, now);
        break;
    case MD_IVR_PH_PROMPT:
        s->phase = MD_IVR_PH_INPUT;
        s->deadline = now + (s->n_entry > 0 ? st->inter_digit_ms : st->first_digit_ms);
        break;
    case MD_IVR_PH_MESSAGE:
        present(s, now);
        break;
    case MD_IVR_PH_SAY:
        if (st->page > 0 && list_has_more(s)) {
            s->phase = MD_IVR_PH_MORE;
            q_clear(s);
            q_list(s, &s->flow->more);
            play(s, 1, now);
        } else {
            enter_step(s, st->next, now);
        }
        break;
    case MD_IVR_PH_MORE:
    case MD_IVR_PH_CONFIRM:
        s->deadline = now + st->first_digit_ms;
        break;
    case MD_IVR_PH_LOOKUP:
        /* The wait prompt loops until the answer or the timeout. */
        s->wait_playing = 0;
        s->deadline = now;
        break;
    case MD_IVR_PH_FINAL:
        finish(s, s->final_kind, s->final_kind == MD_IVR_NOTE_TRANSFER ? s->final_queue : NULL,
               s->final_reason);
        break;
    default:
        break;
    }
}

/* ---- the interface ---- */

int md_ivr_start(md_ivr_t *s, const md_flow_t *flow, const md_ivr_host_t *host, uint32_t channel,
                 const char *ani, const char *lang, uint64_t now_ms)
{
    memset(s, 0, sizeof(*s));
    s->flow = flow;
    s->host = host;
    s->channel = channel;
    s->cls = md_flow_match_class(flow, ani);
    s->start = flow->start;
    const char *l = flow->languages[0];
    if (s->cls >= 0) {
        if (flow->cls[s->cls].start >= 0)
            s->start = flow->cls[s->cls].start;
        if (flow->cls[s->cls].language[0] != '\0')
            l = flow->cls[s->cls].language;
    }
    if (lang != NULL && lang[0] != '\0') {
        unsigned i;
        for (i = 0; i < flow->n_languages; i++)
            if (strcmp(flow->languages[i], lang) == 0)
                break;
        if (i == flow->n_languages)
            return -EINVAL;
        l = lang;
    }
    snprintf(s->lang, sizeof(s->lang), "%s", l);
    s->visits = calloc(flow->n_steps, sizeof(uint16_t));
    if (s->visits == NULL)
        return -ENOMEM;
    s->step = s->start;
    if (ani != NULL && ani[0] != '\0')
        set_var(s, "ani", ani);
    if (s->cls >= 0)
        set_var(s, "class", flow->cls[s->cls].name);
    /* Welcome (the class's own if it has one), then the urgent notice (IVR-6); digits
     * keyed meanwhile are kept for the first menu. */
    s->phase = MD_IVR_PH_WELCOME;
    q_list(s, s->cls >= 0 && flow->cls[s->cls].welcome.n > 0 ? &flow->cls[s->cls].welcome
                                                             : &flow->welcome);
    q_list(s, &flow->notice);
    play(s, 0, now_ms);
    return 0;
}

void md_ivr_end(md_ivr_t *s)
{
    free(s->visits);
    s->visits = NULL;
    s->phase = MD_IVR_PH_DONE;
}

void md_ivr_digit(md_ivr_t *s, char digit, uint64_t now)
{
    s->digits++;
    switch (s->phase) {
    case MD_IVR_PH_WELCOME:
    case MD_IVR_PH_SAY:
    case MD_IVR_PH_LOOKUP:
        /* IVR-3: type-ahead, consumed by the next step that takes input. */
        if (s->n_ahead < sizeof(s->ahead))
            s->ahead[s->n_ahead++] = digit;
        break;
    case MD_IVR_PH_PROMPT:
    case MD_IVR_PH_INPUT:
    case MD_IVR_PH_MESSAGE:
        s->phase = MD_IVR_PH_INPUT;
        handle_input(s, digit, now);
        consume_ahead(s, now);
        break;
    case MD_IVR_PH_MORE:
        stop_playing(s);
        if (digit == '1') {
            s->phase = MD_IVR_PH_SAY;
            say_page(s);
            play(s, 0, now);
        } else {
            enter_step(s, cur(s)->next, now);
        }
        break;
    case MD_IVR_PH_CONFIRM:
        stop_playing(s);
        if (digit == '1') {
            const md_flow_step_t *st = cur(s);
            char what[MD_FLOW_NAME + 24];
            snprintf(what, sizeof(what), "%s:confirmed", st->name);
            trail_add(s, what);
            set_var(s, st->var, s->entry);
            enter_step(s, st->next, now);
        } else if (digit == '2') {
            present(s, now);
        } else {
            failure(s, &cur(s)->invalid, now);
        }
        break;
    default:
        break;
    }
}

void md_ivr_prompt_done(md_ivr_t *s, uint32_t tag, char barge_digit, uint64_t now)
{
    if (!s->playing || tag != s->tag)
        return;   /* a list replaced or stopped since */
    if (barge_digit != 0) {
        /* Stopped by a digit, which follows as its own event. */
        s->playing = 0;
        q_clear(s);
        if (s->phase == MD_IVR_PH_PROMPT || s->phase == MD_IVR_PH_MESSAGE) {
            s->phase = MD_IVR_PH_INPUT;
            s->deadline = now + cur(s)->inter_digit_ms;
        }
        return;
    }
    play_next(s, now);
}

int md_ivr_answer(md_ivr_t *s, const char *result, const md_ivr_var_t *vars, unsigned n,
                  uint64_t now)
{
    if (s->phase != MD_IVR_PH_LOOKUP)
        return -EINVAL;
    const md_flow_step_t *st = cur(s);
    for (unsigned i = 0; i < n; i++)
        set_var(s, vars[i].name, vars[i].value);
    int target = st->next;
    for (unsigned i = 0; result != NULL && i < st->n_branches; i++)
        if (strcmp(st->branch[i].key, result) == 0)
            target = st->branch[i].target;
    char what[MD_FLOW_NAME + 40];
    snprintf(what, sizeof(what), "%s:%.30s", st->name, result != NULL && result[0] ? result : "ok");
    trail_add(s, what);
    stop_playing(s);
    s->wait_playing = 0;
    if (target < 0) {
        to_agent(s, "lookup_result");
        return 0;
    }
    enter_step(s, target, now);
    return 0;
}

void md_ivr_tick(md_ivr_t *s, uint64_t now)
{
    if (s->phase == MD_IVR_PH_LOOKUP) {
        const md_flow_step_t *st = cur(s);
        if (now >= s->lookup_deadline) {
            stop_playing(s);
            trail_add(s, "lookup timeout");
            if (st->on_timeout >= 0)
                enter_step(s, st->on_timeout, now);
            else
                to_agent(s, "lookup_timeout");
            return;
        }
        /* IVR-7: a slow answer gets "your request is accepted, please wait". */
        if (!s->wait_playing && !s->playing && s->flow->wait.n > 0 && now >= s->deadline) {
            s->wait_playing = 1;
            q_clear(s);
            q_list(s, &s->flow->wait);
            play(s, 0, now);
            if (!s->playing && s->phase == MD_IVR_PH_LOOKUP)
                s->deadline = now + 1000;   /* could not play: try again later */
        }
        return;
    }
    if (s->deadline == 0 || now < s->deadline || s->playing)
        return;
    s->deadline = 0;
    const md_flow_step_t *st = cur(s);
    switch (s->phase) {
    case MD_IVR_PH_INPUT:
        if (st->kind == MD_STEP_COLLECT && s->n_entry > 0)
            collect_end(s, now);   /* input ends with # or a timeout (IVR-8) */
        else
            failure(s, &st->timeout, now);
        break;
    case MD_IVR_PH_MORE:
        enter_step(s, st->next, now);
        break;
    case MD_IVR_PH_CONFIRM:
        failure(s, &st->timeout, now);
        break;
    default:
        break;
    }
}
