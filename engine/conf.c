/* Conferences on one worker. See engine/conf.h and docs/conference.md. */
#include "engine/conf.h"

#include "dsp/g711.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static const uint8_t role_cls[MD_CONF_ROLE_COUNT] = {
    [MD_CONF_ROLE_PARTY] = MD_CONF_CLASS_PARTY,
    [MD_CONF_ROLE_AGENT] = MD_CONF_CLASS_AGENT,
    [MD_CONF_ROLE_LISTEN] = MD_CONF_CLASS_MONITOR,
    [MD_CONF_ROLE_WHISPER] = MD_CONF_CLASS_COACH,
    [MD_CONF_ROLE_BARGE] = MD_CONF_CLASS_PARTY,
};
static const uint8_t role_hears[MD_CONF_ROLE_COUNT] = {
    [MD_CONF_ROLE_PARTY] = MD_CONF_CLASS_PARTY | MD_CONF_CLASS_AGENT,
    [MD_CONF_ROLE_AGENT] = MD_CONF_CLASS_PARTY | MD_CONF_CLASS_AGENT | MD_CONF_CLASS_COACH,
    [MD_CONF_ROLE_LISTEN] = MD_CONF_CLASS_PARTY | MD_CONF_CLASS_AGENT | MD_CONF_CLASS_COACH,
    [MD_CONF_ROLE_WHISPER] = MD_CONF_CLASS_PARTY | MD_CONF_CLASS_AGENT | MD_CONF_CLASS_COACH,
    [MD_CONF_ROLE_BARGE] = MD_CONF_CLASS_PARTY | MD_CONF_CLASS_AGENT | MD_CONF_CLASS_COACH,
};

static inline int16_t sat16(int32_t v)
{
    return (int16_t)(v > 32767 ? 32767 : (v < -32768 ? -32768 : v));
}

void md_conf_set_init(md_conf_set_t *s, md_conf_t *confs, unsigned max_confs,
                      md_conf_member_t *members, unsigned max_members)
{
    memset(s, 0, sizeof(*s));
    s->confs = confs;
    s->max_confs = max_confs;
    s->members = members;
    s->max_members = max_members;
    memset(confs, 0, (size_t)max_confs * sizeof(*confs));
    memset(members, 0, (size_t)max_members * sizeof(*members));
    for (unsigned i = 0; i < max_members; i++)
        members[i].conf = -1;
    s->next_id = 1;
    /* -50 dBm0 as a mean square: 0 dBm0 is a sine of amplitude 32767 * 10^(-3.14/20). */
    double a0 = 32767.0 * pow(10.0, -3.14 / 20.0);
    s->vad_min_ms = (float)(a0 * a0 / 2 * pow(10.0, -50.0 / 10.0));
    s->vad_ratio = (float)pow(10.0, MD_CONF_VAD_THRESHOLD_DB / 10.0);
    /* The barge beep: 1400 Hz at about -10 dBm0, 5 ms ramps at both ends. */
    unsigned n = MD_CONF_BEEP_MS * 8, ramp = 40;
    for (unsigned i = 0; i < n; i++) {
        double a = 8000.0;
        if (i < ramp)
            a *= (double)i / ramp;
        else if (n - i < ramp)
            a *= (double)(n - i) / ramp;
        s->beep_pcm[i] = (int16_t)lrint(a * sin(2 * M_PI * MD_CONF_BEEP_HZ * i / 8000.0));
    }
    memcpy(s->beep.name, "beep", 5);
    s->beep.pcm = s->beep_pcm;
    s->beep.samples = n;
}

int md_conf_create(md_conf_set_t *s, unsigned k, unsigned hangover_ms, uint32_t *id)
{
    if (k == 0)
        k = MD_CONF_K_DEFAULT;
    if (hangover_ms == 0)
        hangover_ms = MD_CONF_HANGOVER_DEFAULT_MS;
    if (k > MD_CONF_K_MAX || hangover_ms > 10000)
        return -EINVAL;
    for (unsigned i = 0; i < s->max_confs; i++) {
        md_conf_t *c = &s->confs[i];
        if (c->id != 0)
            continue;
        memset(c, 0, sizeof(*c));
        c->id = s->next_id++;
        if (s->next_id == 0)
            s->next_id = 1;
        c->head = c->tail = -1;
        c->k = k;
        c->hangover_ms = hangover_ms;
        c->hang_frames = (uint16_t)((hangover_ms + 19) / 20);
        c->play_gain.q12 = 4096;
        if (id != NULL)
            *id = c->id;
        return (int)i;
    }
    return -ENOSPC;
}

md_conf_t *md_conf_named(md_conf_set_t *s, uint32_t idx, uint32_t id)
{
    if (idx >= s->max_confs || id == 0 || s->confs[idx].id != id)
        return NULL;
    return &s->confs[idx];
}

int md_conf_of(const md_conf_set_t *s, uint32_t slot)
{
    return slot < s->max_members ? s->members[slot].conf : -1;
}

void md_conf_remove(md_conf_set_t *s, uint32_t slot)
{
    if (slot >= s->max_members || s->members[slot].conf < 0)
        return;
    md_conf_member_t *mb = &s->members[slot];
    md_conf_t *c = &s->confs[mb->conf];
    if (mb->prev >= 0)
        s->members[mb->prev].next = mb->next;
    else
        c->head = mb->next;
    if (mb->next >= 0)
        s->members[mb->next].prev = mb->prev;
    else
        c->tail = mb->prev;
    c->n--;
    mb->conf = -1;
    s->member_bits[slot >> 6] &= ~(1ull << (slot & 63));
    mb->next = mb->prev = -1;
}

void md_conf_delete(md_worker_media_t *w, md_conf_set_t *s, uint32_t idx)
{
    (void)w;
    if (idx >= s->max_confs)
        return;
    md_conf_t *c = &s->confs[idx];
    while (c->head >= 0)
        md_conf_remove(s, (uint32_t)c->head);
    c->id = 0;
    c->play = NULL;
    c->rec_id = 0;
}

/* Role, class and hears of a member; -EINVAL for a bad role or custom masks. */
static int apply_role(md_conf_member_t *mb, md_conf_role_t role, uint8_t cls, uint8_t hears)
{
    if ((unsigned)role >= MD_CONF_ROLE_COUNT)
        return -EINVAL;
    if (role == MD_CONF_ROLE_CUSTOM) {
        if (cls == 0 || (cls & (cls - 1)) != 0)
            return -EINVAL;   /* exactly one class */
        mb->cls = cls;
        mb->hears = hears;
    } else {
        mb->cls = role_cls[role];
        mb->hears = role_hears[role];
    }
    mb->role = (uint8_t)role;
    return 0;
}

static int check_member(md_conf_role_t role, uint8_t cls, unsigned flags, float in_db,
                        float out_db, md_gain_t *gi, md_gain_t *go)
{
    md_conf_member_t tmp;
    if (flags & ~MD_CONF_FLAGS_ALL)
        return -EINVAL;
    if (apply_role(&tmp, role, cls, 0) != 0)
        return -EINVAL;
    if (md_gain_from_db(in_db, gi) != 0 || md_gain_from_db(out_db, go) != 0)
        return -EINVAL;
    return 0;
}

int md_conf_add(md_worker_media_t *w, md_conf_set_t *s, uint32_t idx, uint32_t slot,
                md_conf_role_t role, uint8_t cls, uint8_t hears, unsigned flags,
                float in_db, float out_db)
{
    md_gain_t gi, go;
    if (idx >= s->max_confs || s->confs[idx].id == 0)
        return -ENOENT;
    if (slot >= s->max_members || slot >= w->table->max || slot >= MD_CHAN_TABLE_MAX ||
        !w->table->chans[slot].in_use)
        return -ENOENT;
    if (w->media[slot].bridge >= 0 || s->members[slot].conf >= 0)
        return -EBUSY;
    if (check_member(role, cls, flags, in_db, out_db, &gi, &go) != 0)
        return -EINVAL;
    if ((flags & MD_CONF_HOLD) != 0)
        return -EINVAL;   /* hold needs music: md_conf_set() */
    md_conf_t *c = &s->confs[idx];
    md_conf_member_t *mb = &s->members[slot];
    memset(mb, 0, sizeof(*mb));
    apply_role(mb, role, cls, hears);
    mb->flags = (uint8_t)flags;
    mb->in_gain = gi;
    mb->out_gain = go;
    for (unsigned i = 0; i < MD_VAD_WINDOWS; i++)
        mb->vad.win_min[i] = INFINITY;
    mb->vad.cur_min = INFINITY;
    mb->conf = (int32_t)idx;
    s->member_bits[slot >> 6] |= 1ull << (slot & 63);
    md_media_pcm_for_others(&w->media[slot]);
    mb->next = -1;
    mb->prev = c->tail;
    if (c->tail >= 0)
        s->members[c->tail].next = (int32_t)slot;
    else
        c->head = (int32_t)slot;
    c->tail = (int32_t)slot;
    c->n++;
    return 0;
}

int md_conf_set(md_conf_set_t *s, uint32_t slot, md_conf_role_t role, uint8_t cls,
                uint8_t hears, unsigned flags, float in_db, float out_db, int beep,
                const md_prompt_t *hold_music)
{
    md_gain_t gi, go;
    if (slot >= s->max_members || s->members[slot].conf < 0)
        return -ENOENT;
    if (check_member(role, cls, flags, in_db, out_db, &gi, &go) != 0)
        return -EINVAL;
    if ((flags & MD_CONF_HOLD) != 0 && (hold_music == NULL || hold_music->samples == 0))
        return -EINVAL;
    md_conf_member_t *mb = &s->members[slot];
    int barging = mb->role == MD_CONF_ROLE_BARGE;
    apply_role(mb, role, cls, hears);
    if (!(mb->flags & MD_CONF_HOLD) || hold_music != mb->hold_music)
        mb->hold_pos = 0;
    mb->flags = (uint8_t)flags;
    mb->hold_music = (flags & MD_CONF_HOLD) ? hold_music : NULL;
    mb->in_gain = gi;
    mb->out_gain = go;
    if (beep && role == MD_CONF_ROLE_BARGE && !barging) {
        md_conf_t *c = &s->confs[mb->conf];
        for (int32_t i = c->head; i >= 0; i = s->members[i].next)
            if (s->members[i].role == MD_CONF_ROLE_AGENT)
                s->members[i].beep_left = s->beep.samples;
    }
    return 0;
}

int md_conf_play(md_conf_set_t *s, uint32_t idx, const md_prompt_t *p, unsigned loops,
                 float gain_db, uint32_t tag)
{
    md_gain_t g;
    if (idx >= s->max_confs || s->confs[idx].id == 0)
        return -ENOENT;
    md_conf_t *c = &s->confs[idx];
    if (p == NULL) {
        c->play = NULL;
        return 0;
    }
    if (p->samples == 0 || md_gain_from_db(gain_db, &g) != 0)
        return -EINVAL;
    c->play = p;
    c->play_pos = 0;
    c->loops_left = loops == 0 ? UINT32_MAX : loops - 1;
    c->play_gain = g;
    c->play_tag = tag;
    return 0;
}

void md_conf_record(md_conf_set_t *s, uint32_t idx, md_rec_id_t rec_id, uint8_t mask)
{
    if (idx >= s->max_confs)
        return;
    s->confs[idx].rec_id = rec_id;
    s->confs[idx].rec_mask =
        mask ? mask : (MD_CONF_CLASS_PARTY | MD_CONF_CLASS_AGENT | MD_CONF_CLASS_COACH);
}

void md_conf_describe(const md_conf_set_t *s, uint32_t idx, md_conf_info_t *info)
{
    const md_conf_t *c = &s->confs[idx];
    memset(info, 0, sizeof(*info));
    info->slot = idx;
    info->id = c->id;
    info->members = c->n;
    info->k = c->k;
    info->talkers = c->n_talkers;
    info->playing = c->play != NULL;
    info->rec_id = c->rec_id;
    info->ticks = c->ticks;
    info->talker_mixes = c->talker_mixes;
    info->mask_mixes = c->mask_mixes;
    info->copies = c->copies;
    info->own_mixes = c->own_mixes;
    info->rec_refused = c->rec_refused;
}

/* ---- the tick ---- */

/* Mean square of a frame: an exact integer sum (pmaddwd pairs are at most 2^31, so
 * unsigned 32 bits, widened to 64 before they add up). */
static float mean_square(const int16_t *x)
{
    uint64_t acc = 0;
    unsigned i = 0;
#if defined(__SSE2__)
    __m128i a = _mm_setzero_si128(), z = _mm_setzero_si128();
    for (; i + 8 <= MD_FRAME; i += 8) {
        __m128i v = _mm_loadu_si128((const __m128i *)(x + i));
        __m128i p = _mm_madd_epi16(v, v);
        a = _mm_add_epi64(a, _mm_unpacklo_epi32(p, z));
        a = _mm_add_epi64(a, _mm_unpackhi_epi32(p, z));
    }
    uint64_t lanes[2];
    _mm_storeu_si128((__m128i *)lanes, a);
    acc = lanes[0] + lanes[1];
#endif
    for (; i < MD_FRAME; i++)
        acc += (uint64_t)((int32_t)x[i] * x[i]);
    return (float)acc / MD_FRAME;
}

/* One frame into the talker detector (md_vad_frame()'s decisions, on mean squares).
 * Returns 1 while talking (hangover included). */
static int vad_frame(const md_conf_set_t *s, const md_conf_t *c, md_conf_vad_t *v,
                     const int16_t *x)
{
    float ms = mean_square(x);
    v->ms = ms;
    if (ms < v->cur_min)
        v->cur_min = ms;
    float floor = v->cur_min;
    for (unsigned i = 0; i < MD_VAD_WINDOWS; i++)
        floor = v->win_min[i] < floor ? v->win_min[i] : floor;
    if (++v->win_frames == (MD_VAD_WINDOW_MS + 19) / 20) {
        v->win_min[v->win_idx] = v->cur_min;
        v->win_idx = (uint8_t)((v->win_idx + 1) % MD_VAD_WINDOWS);
        v->cur_min = INFINITY;
        v->win_frames = 0;
    }
    if (ms >= floor * s->vad_ratio && ms >= s->vad_min_ms && ms > 0) {
        v->hang_left = (uint16_t)(c->hang_frames + 1);
    }
    if (v->hang_left > 0) {
        v->hang_left--;
        return 1;
    }
    return 0;
}

static inline const int16_t *member_input(const md_media_t *m)
{
    return m->strip_dtmf ? m->stripped : m->pcm;
}

/* The next frame of the conference prompt into s->prompt_frame (at its gain). */
static void prompt_frame(md_worker_media_t *w, md_conf_set_t *s, md_conf_t *c)
{
    s->has_prompt = 0;
    if (c->play == NULL)
        return;
    int16_t raw[MD_FRAME];
    size_t filled = 0;
    while (c->play != NULL && filled < MD_FRAME) {
        size_t n = c->play->samples - c->play_pos;
        if (n > MD_FRAME - filled)
            n = MD_FRAME - filled;
        memcpy(raw + filled, c->play->pcm + c->play_pos, n * sizeof(int16_t));
        filled += n;
        c->play_pos += n;
        if (c->play_pos == c->play->samples) {
            c->play_pos = 0;
            if (c->loops_left == UINT32_MAX)
                continue;
            if (c->loops_left > 0) {
                c->loops_left--;
                continue;
            }
            c->play = NULL;
            md_event_t ev = { .type = MD_EV_CONF_PROMPT_DONE, .slot = (uint32_t)(c - s->confs),
                              .conf = c->id, .tag = c->play_tag };
            md_event_push(w->events, &ev);
        }
    }
    memset(raw + filled, 0, (MD_FRAME - filled) * sizeof(int16_t));
    memset(s->prompt_frame, 0, sizeof(s->prompt_frame));
    md_mix_add_gain(s->prompt_frame, raw, MD_FRAME, c->play_gain);
    s->has_prompt = 1;
}

/* The index of mask's frame in the tick's cache, computing it on first use; -1 when the
 * cache is full (the caller computes it itself). */
static int mask_frame(md_conf_set_t *s, md_conf_t *c, uint8_t mask)
{
    for (unsigned j = 0; j < s->n_masks; j++)
        if (s->mask_key[j] == mask)
            return (int)j;
    if (s->n_masks == MD_CONF_MASKS)
        return -1;
    unsigned j = s->n_masks++;
    int32_t *sum = s->mask_sum[j];
    if (s->has_prompt)
        for (unsigned i = 0; i < MD_FRAME; i++)
            sum[i] = s->prompt_frame[i];
    else
        memset(sum, 0, MD_FRAME * sizeof(int32_t));
    uint8_t use = mask & s->cls_used;
    while (use) {
        unsigned b = (unsigned)__builtin_ctz(use);
        use &= (uint8_t)(use - 1);
        const int32_t *cs = s->cls_sum[b];
        for (unsigned i = 0; i < MD_FRAME; i++)
            sum[i] += cs[i];
    }
    int16_t *f = s->mask_frame[j];
    for (unsigned i = 0; i < MD_FRAME; i++)
        f[i] = sat16(sum[i]);
    s->mask_key[j] = mask;
    c->mask_mixes++;
    return (int)j;
}

/* A member's frame for a mask the cache could not hold: summed directly. */
static void mask_direct(md_conf_set_t *s, uint8_t mask, const int16_t *own, int16_t *out)
{
    int32_t sum[MD_FRAME];
    for (unsigned i = 0; i < MD_FRAME; i++)
        sum[i] = (s->has_prompt ? s->prompt_frame[i] : 0) - (own ? own[i] : 0);
    uint8_t use = mask & s->cls_used;
    while (use) {
        unsigned b = (unsigned)__builtin_ctz(use);
        use &= (uint8_t)(use - 1);
        for (unsigned i = 0; i < MD_FRAME; i++)
            sum[i] += s->cls_sum[b][i];
    }
    for (unsigned i = 0; i < MD_FRAME; i++)
        out[i] = sat16(sum[i]);
}

static void push_talking(md_worker_media_t *w, const md_conf_t *c, uint32_t slot, int on)
{
    md_event_t ev = { .type = on ? MD_EV_TALKING_START : MD_EV_TALKING_STOP,
                      .channel = w->table->chans[slot].id, .slot = slot, .conf = c->id };
    md_event_push(w->events, &ev);
}

/* Prefetches what the tick reads and writes of a member: its input frame and its output
 * frame (the members of a conference are scattered over the channel table, so the
 * hardware prefetcher cannot guess them). */
static inline void prefetch_member(const md_worker_media_t *w, int32_t slot)
{
    const md_media_t *m = &w->media[slot];
    const char *in = (const char *)member_input(m), *out = (const char *)m->out;
    for (unsigned b = 0; b < sizeof(m->pcm); b += 64) {
        __builtin_prefetch(in + b, 0, 3);
        __builtin_prefetch(out + b, 1, 3);
    }
    __builtin_prefetch(&m->have_out, 1, 3);
}

/* The shared-frame entry (1-based, for media conf_share) of the frame heard with mask
 * hears this tick, or 0 when the conference has no room for another. */
static uint8_t share_of(md_conf_t *c, uint8_t hears)
{
    for (unsigned e = 0; e < c->n_shares; e++)
        if (c->share_key[e] == hears)
            return (uint8_t)(e + 1);
    if (c->n_shares == MD_CONF_SHARES)
        return 0;
    c->share_key[c->n_shares] = hears;
    return ++c->n_shares;
}

static void conf_tick_one(md_worker_media_t *w, md_conf_set_t *s, md_conf_t *c)
{
    md_conf_member_t *mbs = s->members;
    unsigned k = c->k, nt = 0;
    float score[MD_CONF_K_MAX];
    int32_t cand[MD_CONF_K_MAX];
    uint8_t heard = 0;
    unsigned eligible = 0;
    const float sticky = 1.9952623f;   /* MD_CONF_STICKY_DB (3 dB) as a power ratio */

    /* Who can be heard at all (a class some member hears), and how many could talk. */
    for (int32_t i = c->head; i >= 0; i = mbs[i].next)
        if (!(mbs[i].flags & MD_CONF_DEAF) && !(mbs[i].flags & MD_CONF_HOLD))
            heard |= mbs[i].hears;
    for (int32_t i = c->head; i >= 0; i = mbs[i].next)
        eligible += !(mbs[i].flags & (MD_CONF_MUTE | MD_CONF_HOLD)) && (mbs[i].cls & heard);

    /* Pass 1: voice activity, talking events, the talkers. */
    int32_t ahead = c->head;
    for (int k = 0; k < 4 && ahead >= 0; k++)
        ahead = mbs[ahead].next;
    for (int32_t i = c->head; i >= 0; i = mbs[i].next) {
        md_conf_member_t *mb = &mbs[i];
        if (ahead >= 0) {
            prefetch_member(w, ahead);
            ahead = mbs[ahead].next;
        }
        const md_media_t *m = &w->media[i];
        int speech = vad_frame(s, c, &mb->vad, member_input(m));
        if (speech != mb->talking) {
            mb->talking = (uint8_t)speech;
            push_talking(w, c, (uint32_t)i, speech);
        }
        mb->was_mixed = mb->mixed;
        mb->mixed = 0;
        if ((mb->flags & (MD_CONF_MUTE | MD_CONF_HOLD)) || !(mb->cls & heard))
            continue;
        if (eligible <= k) {
            cand[nt++] = i;
            continue;
        }
        if (!speech)
            continue;
        float sc = mb->vad.ms * (mb->was_mixed ? sticky : 1.0f);
        /* Insert into the top k, loudest first. */
        unsigned pos = nt;
        while (pos > 0 && score[pos - 1] < sc)
            pos--;
        if (pos >= k)
            continue;
        unsigned last = nt < k ? nt : k - 1;
        for (unsigned j = last; j > pos; j--) {
            score[j] = score[j - 1];
            cand[j] = cand[j - 1];
        }
        score[pos] = sc;
        cand[pos] = i;
        if (nt < k)
            nt++;
    }

    /* The talkers' frames (times their input gain), summed per class. */
    s->cls_used = 0;
    for (unsigned t = 0; t < nt; t++) {
        md_conf_member_t *mb = &mbs[cand[t]];
        const int16_t *x = member_input(&w->media[cand[t]]);
        if (mb->in_gain.q12 != 4096) {
            memcpy(s->gained[t], x, sizeof(s->gained[t]));
            md_mix_apply_gain(s->gained[t], MD_FRAME, mb->in_gain);
            x = s->gained[t];
        }
        s->talker_pcm[t] = x;
        mb->mixed = 1;
        mb->tk = (uint8_t)t;
        unsigned b = (unsigned)__builtin_ctz(mb->cls);
        int32_t *cs = s->cls_sum[b];
        if (!(s->cls_used & (1u << b))) {
            for (unsigned i = 0; i < MD_FRAME; i++)
                cs[i] = x[i];
            s->cls_used |= (uint8_t)(1u << b);
        } else {
            for (unsigned i = 0; i < MD_FRAME; i++)
                cs[i] += x[i];
        }
        c->talker_mixes++;
    }
    c->n_talkers = nt;
    prompt_frame(w, s, c);
    s->n_masks = 0;

    /* Pass 2: what each member hears. */
    c->n_shares = 0;
    memset(c->share_have, 0, sizeof(c->share_have));
    for (int32_t i = c->head; i >= 0; i = mbs[i].next) {
        md_conf_member_t *mb = &mbs[i];
        md_media_t *m = &w->media[i];
        m->conf_share = 0;
        if (m->play != NULL)
            continue;   /* its own prompt plays instead (made in md_media_tick_out) */
        if (mb->flags & MD_CONF_HOLD) {
            const md_prompt_t *p = mb->hold_music;
            size_t filled = 0;
            while (filled < MD_FRAME) {
                size_t n = p->samples - mb->hold_pos;
                if (n > MD_FRAME - filled)
                    n = MD_FRAME - filled;
                memcpy(m->out + filled, p->pcm + mb->hold_pos, n * sizeof(int16_t));
                filled += n;
                mb->hold_pos += n;
                if (mb->hold_pos == p->samples)
                    mb->hold_pos = 0;
            }
        } else if ((mb->flags & MD_CONF_DEAF) || mb->hears == 0) {
            memset(m->out, 0, sizeof(m->out));
            m->have_out = m->conf_ready = 1;
            continue;
        } else {
            int own = mb->mixed && (mb->cls & mb->hears);
            int j = mask_frame(s, c, mb->hears);
            if (j < 0) {
                mask_direct(s, mb->hears, own ? s->talker_pcm[mb->tk] : NULL, m->out);
            } else if (own) {
                const int32_t *sum = s->mask_sum[j];
                const int16_t *x = s->talker_pcm[mb->tk];
                for (unsigned n = 0; n < MD_FRAME; n++)
                    m->out[n] = sat16(sum[n] - x[n]);
                c->own_mixes++;
            } else {
                memcpy(m->out, s->mask_frame[j], sizeof(m->out));
                c->copies++;
                if (mb->out_gain.q12 == 4096 && mb->beep_left == 0)
                    m->conf_share = share_of(c, mb->hears);
            }
        }
        if (mb->out_gain.q12 != 4096)
            md_mix_apply_gain(m->out, MD_FRAME, mb->out_gain);
        if (mb->beep_left > 0) {
            size_t n = mb->beep_left < MD_FRAME ? mb->beep_left : MD_FRAME;
            md_mix_add(m->out, s->beep.pcm + (s->beep.samples - mb->beep_left), n);
            mb->beep_left -= (uint32_t)n;
        }
        m->have_out = m->conf_ready = 1;
    }

    /* The conference mix as a recording. */
    if (c->rec_id != 0 && w->rec != NULL) {
        int16_t tmp[MD_FRAME];
        const int16_t *f = tmp;
        int j = mask_frame(s, c, c->rec_mask);
        if (j >= 0)
            f = s->mask_frame[j];
        else
            mask_direct(s, c->rec_mask, NULL, tmp);
        int rc = md_recorder_write(w->rec, w->rec_producer, c->rec_id, f, NULL, MD_FRAME);
        if (rc == -ENOBUFS)
            c->rec_refused++;
        else if (rc == -ENOENT)
            c->rec_id = 0;
    }
    c->ticks++;
}

const uint8_t *md_conf_shared_payload(md_conf_set_t *s, uint32_t slot, unsigned share,
                                      int alaw, const int16_t *out)
{
    if (slot >= s->max_members || s->members[slot].conf < 0 || share == 0)
        return NULL;
    md_conf_t *c = &s->confs[s->members[slot].conf];
    unsigned e = share - 1;
    if (e >= c->n_shares || c->share_key[e] != s->members[slot].hears)
        return NULL;
    alaw = alaw != 0;
    if (!c->share_have[e][alaw]) {
        if (alaw)
            md_alaw_encode(c->share_enc[e][1], out, MD_FRAME);
        else
            md_ulaw_encode(c->share_enc[e][0], out, MD_FRAME);
        c->share_have[e][alaw] = 1;
        c->shared_encodes++;
    }
    c->shared_sends++;
    return c->share_enc[e][alaw];
}

void md_conf_tick(md_worker_media_t *w, uint64_t now_ms)
{
    md_conf_tick_slot(w, now_ms, 0, 1);
}

void md_conf_tick_slot(md_worker_media_t *w, uint64_t now_ms, unsigned slot, unsigned nslots)
{
    (void)now_ms;
    md_conf_set_t *s = w->conf;
    if (s == NULL)
        return;
    /* Each conference's first members are prefetched while the one before is mixed. */
    md_conf_t *prev = NULL;
    for (unsigned i = slot; i < s->max_confs; i += nslots) {
        md_conf_t *c = &s->confs[i];
        if (c->id == 0 || c->n == 0)
            continue;
        int32_t m = c->head;
        for (int k = 0; k < 4 && m >= 0; k++, m = s->members[m].next)
            prefetch_member(w, m);
        if (prev != NULL)
            conf_tick_one(w, s, prev);
        prev = c;
    }
    if (prev != NULL)
        conf_tick_one(w, s, prev);
}
