/* The receive half of the media tick. */
#include "engine/media.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/g711.h"
#include "engine/conf.h"

#define RFC4733_TIMEOUT_MS 300    /* an event with no packet for this long has ended */

void md_media_init(md_media_t *m, int inband, uint32_t no_media_ms)
{
    memset(m, 0, sizeof(*m));
    m->inband = inband;
    m->no_media_ms = no_media_ms;
    md_plc_init(&m->plc);
    md_dtmf_rx_init(&m->dtmf);
    m->bridge = -1;
    m->send_gen = -1;
    m->opus_slot = -1;
}

int md_media_opus_pool(md_worker_media_t *w, unsigned n)
{
    w->opus_stride = (md_opus_memory_size(8000) + 63) & ~(size_t)63;
    w->opus = calloc(n ? n : 1, sizeof(md_opus_t));
    w->opus_used = calloc(n ? n : 1, 1);
    w->opus_mem = n ? aligned_alloc(64, w->opus_stride * n) : NULL;
    if (w->opus == NULL || w->opus_used == NULL || (n && w->opus_mem == NULL)) {
        md_media_opus_pool_free(w);
        return -ENOMEM;
    }
    w->n_opus = n;
    return 0;
}

void md_media_opus_pool_free(md_worker_media_t *w)
{
    free(w->opus);
    free(w->opus_used);
    free(w->opus_mem);
    w->opus = NULL;
    w->opus_used = NULL;
    w->opus_mem = NULL;
    w->n_opus = 0;
}

int md_media_opus_attach(md_worker_media_t *w, uint32_t slot)
{
    for (unsigned k = 0; k < w->n_opus; k++) {
        if (w->opus_used[k])
            continue;
        /* The engine's audio is 8 kHz: the decoder gives 8 kHz from any Opus stream
         * (narrow or wide band), and the encoder codes narrowband; 24 kbit/s with FEC
         * tuned for 5% loss. */
        int rc = md_opus_init(&w->opus[k], (uint8_t *)w->opus_mem + k * w->opus_stride,
                              w->opus_stride, 8000, 24000, 5);
        if (rc != 0)
            return rc;
        w->opus_used[k] = 1;
        w->media[slot].opus_slot = (int16_t)k;
        return 0;
    }
    return -EMFILE;
}

void md_media_opus_detach(md_worker_media_t *w, uint32_t slot)
{
    md_media_t *m = &w->media[slot];
    if (m->opus_slot >= 0 && (unsigned)m->opus_slot < w->n_opus)
        w->opus_used[m->opus_slot] = 0;
    m->opus_slot = -1;
}

static int dtmf_digit_ok(char c)
{
    return (c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D');
}

/* Starts send[send_pos]: an in-band tone, or an event for the worker to transmit. */
static void send_start(md_worker_media_t *w, md_media_t *m)
{
    char d = m->send[m->send_pos];
    if (m->send_rfc4733) {
        m->ev_start = 1;
        return;
    }
    md_tone_desc_t desc;
    md_tone_dtmf(&desc, d, -10.0f, 0.0f, m->send_on_ms, 0);
    md_tone_init(&w->send_gens[m->send_gen], &desc);
}

void md_media_send_stop(md_worker_media_t *w, uint32_t slot)
{
    md_media_t *m = &w->media[slot];
    if (m->send_gen >= 0)
        w->send_gen_used[m->send_gen] = 0;
    m->send_gen = -1;
    m->send_len = m->send_pos = 0;
    m->ev_start = 0;
    m->ev_tx.active = 0;
}

int md_media_send_digits(md_worker_media_t *w, uint32_t slot, const char *digits, int rfc4733,
                         unsigned on_ms, unsigned gap_ms)
{
    size_t n = strlen(digits);
    if (slot >= w->table->max || !w->table->chans[slot].in_use || n == 0 || n >= MD_SEND_MAX ||
        on_ms < 40 || on_ms > 1000 || gap_ms < 40 || gap_ms > 1000)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!dtmf_digit_ok(digits[i]))
            return -EINVAL;
    if (rfc4733 && w->table->chans[slot].prm.event_pt == 0)
        return -EINVAL;
    md_media_t *m = &w->media[slot];
    md_media_send_stop(w, slot);
    if (!rfc4733) {
        int g = -1;
        for (int i = 0; i < MD_SEND_GENERATORS; i++)
            if (!w->send_gen_used[i]) {
                g = i;
                break;
            }
        if (g < 0)
            return -EBUSY;
        w->send_gen_used[g] = 1;
        m->send_gen = (int8_t)g;
    }
    memcpy(m->send, digits, n);
    m->send_len = (uint8_t)n;
    m->send_pos = 0;
    m->send_rfc4733 = (uint8_t)(rfc4733 != 0);
    m->send_on_ms = (uint16_t)on_ms;
    m->send_gap_ms = (uint16_t)gap_ms;
    m->send_wait = 0;
    send_start(w, m);
    return 0;
}

/* One tick of digit sending: in-band tones replace the channel's output; RFC 4733
 * events are sent by the worker, which clears ev_tx.active when one is done. */
static void send_tick(md_worker_media_t *w, md_media_t *m)
{
    if (m->send_wait > 0) {
        m->send_wait--;
        if (m->send_wait == 0)
            send_start(w, m);
        return;
    }
    int done;
    if (m->send_rfc4733) {
        done = !m->ev_start && !m->ev_tx.active;
    } else {
        md_tone_gen_t *g = &w->send_gens[m->send_gen];
        md_tone_generate(g, m->out, MD_FRAME);
        m->have_out = 1;
        done = md_tone_done(g);
    }
    if (!done)
        return;
    if (++m->send_pos == m->send_len) {
        md_media_send_stop(w, (uint32_t)(m - w->media));
        return;
    }
    m->send_wait = (m->send_gap_ms + 19u) / 20;
}

int md_media_overlay(md_media_t *m, const md_prompt_t *p, float gain_db)
{
    md_gain_t g;
    if (md_gain_from_db(gain_db, &g) != 0)
        return -EINVAL;
    m->overlay = p;
    m->overlay_pos = 0;
    m->overlay_gain = g;
    return 0;
}

void md_media_strip_dtmf(md_media_t *m, int on)
{
    m->strip_dtmf = on && m->inband;
    m->mute_from = m->mute_to = 0;
}

int md_media_bridge(md_worker_media_t *w, uint32_t a, uint32_t b)
{
    if (a == b || a >= w->table->max || b >= w->table->max || !w->table->chans[a].in_use ||
        !w->table->chans[b].in_use)
        return -EINVAL;
    md_media_unbridge(w, a);
    md_media_unbridge(w, b);
    w->media[a].bridge = (int32_t)b;
    w->media[b].bridge = (int32_t)a;
    md_media_pcm_for_others(&w->media[a]);
    md_media_pcm_for_others(&w->media[b]);
    return 0;
}

void md_media_pcm_for_others(md_media_t *m)
{
    if (m->pcm_stale) {
        memset(m->pcm, 0, sizeof(m->pcm));
        m->pcm_stale = 0;
    }
}

void md_media_unbridge(md_worker_media_t *w, uint32_t a)
{
    if (a >= w->table->max)
        return;
    int32_t b = w->media[a].bridge;
    if (b >= 0 && (uint32_t)b < w->table->max && w->media[b].bridge == (int32_t)a)
        w->media[b].bridge = -1;
    w->media[a].bridge = -1;
}

void md_media_play(md_media_t *m, const md_prompt_t *p, unsigned loops, int barge_in)
{
    md_play_item_t item = { .prompt = p, .loops = (uint16_t)(loops > 65535 ? 65535 : loops) };
    if (p == NULL) {
        md_media_stop(m);
        return;
    }
    m->list[0] = item;
    m->list_len = 1;
    m->list_pos = 0;
    m->gap_left = 0;
    m->play = p;
    m->play_pos = 0;
    m->loops_left = loops > 0 ? loops - 1 : 0;
    m->barge_in = barge_in;
}

int md_media_play_list(md_media_t *m, const md_play_item_t *items, unsigned n, int barge_in)
{
    if (n == 0 || n > MD_PLAY_MAX)
        return -EINVAL;
    for (unsigned i = 0; i < n; i++)
        if (items[i].prompt == NULL || items[i].prompt->samples == 0)
            return -EINVAL;
    memcpy(m->list, items, n * sizeof(items[0]));
    m->list_len = n;
    m->list_pos = 0;
    m->gap_left = 0;
    m->play = items[0].prompt;
    m->play_pos = 0;
    m->loops_left = items[0].loops > 0 ? items[0].loops - 1u : 0;
    m->barge_in = barge_in;
    return 0;
}

void md_media_stop(md_media_t *m)
{
    m->play = NULL;
}

static void prompt_done(md_worker_media_t *w, const md_channel_t *ch, md_media_t *m, char digit)
{
    md_event_t ev = { .type = MD_EV_PROMPT_DONE, .channel = ch->id,
                      .slot = (uint32_t)(ch - w->table->chans), .digit = digit,
                      .tag = m->play_tag };
    md_event_push(w->events, &ev);
    m->play = NULL;
}

/* The next 20 ms of the play list: into pcm as linear audio, or, when g711 is set, into
 * g711 as that codec's bytes (alaw: A-law, else µ-law), copied from the prompts' G.711
 * copies (md_prompt_encode_g711) or encoded from their audio where a prompt has none. One
 * state machine for both, so gaps, loops, the list and prompt-done are the same. */
static void play_frame(md_worker_media_t *w, const md_channel_t *ch, md_media_t *m,
                       int16_t *pcm, uint8_t *g711, int alaw)
{
    const uint8_t silence = alaw ? md_alaw_encode1(0) : md_ulaw_encode1(0);
    size_t filled = 0;
    while (m->play != NULL && filled < MD_FRAME) {
        if (m->gap_left > 0) {
            size_t g = m->gap_left < MD_FRAME - filled ? m->gap_left : MD_FRAME - filled;
            if (g711 != NULL)
                memset(g711 + filled, silence, g);
            else
                memset(pcm + filled, 0, g * sizeof(int16_t));
            filled += g;
            m->gap_left -= (uint32_t)g;
            continue;
        }
        size_t n = m->play->samples - m->play_pos;
        if (n > MD_FRAME - filled)
            n = MD_FRAME - filled;
        const int16_t *src = m->play->pcm + m->play_pos;
        if (g711 == NULL) {
            memcpy(pcm + filled, src, n * sizeof(int16_t));
        } else {
            const uint8_t *copy = alaw ? m->play->alaw : m->play->ulaw;
            if (copy != NULL)
                memcpy(g711 + filled, copy + m->play_pos, n);
            else if (alaw)
                md_alaw_encode(g711 + filled, src, n);
            else
                md_ulaw_encode(g711 + filled, src, n);
        }
        filled += n;
        m->play_pos += n;
        if (m->play_pos == m->play->samples) {
            if (m->loops_left > 0) {
                m->loops_left--;
                m->play_pos = 0;
            } else if (m->list_pos + 1 < m->list_len) {
                const md_play_item_t *next = &m->list[++m->list_pos];
                m->gap_left = (uint32_t)m->list[m->list_pos - 1].gap_ms * 8;
                m->play = next->prompt;
                m->play_pos = 0;
                m->loops_left = next->loops > 0 ? next->loops - 1u : 0;
            } else {
                prompt_done(w, ch, m, 0);
            }
        }
    }
    if (g711 != NULL)
        memset(g711 + filled, silence, MD_FRAME - filled);
    else
        memset(pcm + filled, 0, (MD_FRAME - filled) * sizeof(int16_t));
    m->have_out = filled > 0;
}

/* A prompt goes out as G.711 bytes without linear audio when nothing else makes this
 * tick's frame: no overlay, no digits being sent, no recording (which takes the linear
 * audio), a G.711 channel, and a prompt with its G.711 copy. This is the IVR's common
 * case, and it saves the encode and the 320-byte out buffer's cache lines. */
static int play_as_g711(const md_worker_media_t *w, const md_channel_t *ch, const md_media_t *m)
{
    return m->overlay == NULL && m->send_len == 0 && (m->rec_id == 0 || w->rec == NULL) &&
           (ch->prm.codec == MD_CODEC_PCMU || ch->prm.codec == MD_CODEC_PCMA) &&
           (ch->prm.codec == MD_CODEC_PCMA ? m->play->alaw : m->play->ulaw) != NULL;
}

const uint8_t *md_media_g711_payload(md_worker_media_t *w, const md_channel_t *ch,
                                     const md_media_t *m, uint8_t *buf)
{
    if (!m->have_out)
        return NULL;
    if (m->out_g711)
        return w->g711;
    if (ch->prm.codec == MD_CODEC_PCMU)
        md_ulaw_encode(buf, m->out, MD_FRAME);
    else if (ch->prm.codec == MD_CODEC_PCMA)
        md_alaw_encode(buf, m->out, MD_FRAME);
    else
        return NULL;
    return buf;
}

uint64_t md_media_4733_start_ms(const md_4733_rx_t *rx, const md_4733_digit_t *d,
                                unsigned units_per_ms)
{
    /* At the newest packet (rx->last_seen, in ms * 8) the sender's clock stood at that
     * packet's segment timestamp plus its duration; the event began that many timestamp
     * units (units_per_ms: 8 for G.711, 48 for Opus) earlier. A newer event's start() or
     * the report() of this one leave both set this way. */
    uint32_t back = (uint32_t)(rx->seg_ts + rx->seg_duration - d->start_ts) / units_per_ms;
    uint64_t at = rx->last_seen / 8;
    return at > back ? at - back : 0;
}

static void push_digit(md_worker_media_t *w, const md_channel_t *ch, char digit, int source,
                       uint64_t start_ms, uint32_t duration_ms)
{
    md_media_t *m = &w->media[ch - w->table->chans];
    if (m->play != NULL && m->barge_in)
        prompt_done(w, ch, m, digit);
    md_event_t ev = { .type = MD_EV_DIGIT, .channel = ch->id,
                      .slot = (uint32_t)(ch - w->table->chans), .digit = digit,
                      .source = (uint8_t)source, .start_ms = start_ms,
                      .duration_ms = duration_ms };
    md_event_push(w->events, &ev);
}

/* An event of a channel's in-band detector. The detector counts samples from the channel's
 * creation; the event's start goes out on the engine clock: now_ms is the end of the frame
 * just processed, which is sample m->frames * MD_FRAME. */
static void inband_event(md_worker_media_t *w, md_channel_t *ch, const md_dtmf_event_t *e,
                         uint64_t now_ms)
{
    md_media_t *m = &w->media[ch - w->table->chans];
    if (e->kind == MD_DTMF_BEGIN) {
        if (m->strip_dtmf) {
            m->mute_from = e->start > 80 ? e->start - 80 : 0;
            m->mute_to = UINT64_MAX;
        }
        return;
    }
    if (m->strip_dtmf)
        m->mute_to = e->end + 80;
    uint64_t seen = m->frames * MD_FRAME;
    uint64_t back_ms = seen > e->start ? (seen - e->start) / 8 : 0;
    push_digit(w, ch, e->digit, MD_DIGIT_INBAND, now_ms > back_ms ? now_ms - back_ms : 0,
               (uint32_t)((e->end - e->start) / 8));
}

/* This tick's forwarded audio of a stripping channel: the frame MD_STRIP_DELAY ticks old,
 * with the muted range silenced. */
static void strip_frame(md_media_t *m)
{
    uint64_t f = m->frames - 1;   /* the frame just decoded */
    memcpy(m->delay[f % (MD_STRIP_DELAY + 1)], m->pcm, sizeof(m->pcm));
    if (f < MD_STRIP_DELAY) {
        memset(m->stripped, 0, sizeof(m->stripped));
        return;
    }
    uint64_t old = f - MD_STRIP_DELAY, first = old * MD_FRAME;
    memcpy(m->stripped, m->delay[old % (MD_STRIP_DELAY + 1)], sizeof(m->stripped));
    for (unsigned i = 0; i < MD_FRAME; i++)
        if (first + i >= m->mute_from && first + i < m->mute_to)
            m->stripped[i] = 0;
}

/* The in-band detector over a batch of channels, then what its events change: the digits
 * go out as events and stripping channels mute around them, so their forwarded frame
 * (strip_frame) can be made right here, while the channel is still in cache. */
static void dtmf_batch(md_worker_media_t *w, md_dtmf_rx_t **rxs, const int16_t **pcms,
                       md_channel_t **owners, unsigned nb, uint64_t now_ms)
{
    md_dtmf_rx_process(rxs, pcms, nb, MD_FRAME, w->isa);
    for (unsigned k = 0; k < nb; k++) {
        md_dtmf_event_t e;
        while (md_dtmf_rx_event(rxs[k], &e))
            inband_event(w, owners[k], &e, now_ms);
        md_media_t *m = &w->media[owners[k] - w->table->chans];
        if (m->strip_dtmf)
            strip_frame(m);
    }
}

/* Frame `back` before the last one taken from the jitter buffer (0: that one), decoded
 * again into out: 1, or 0 when its slot no longer holds it. */
static int decode_recent(const md_channel_t *ch, unsigned back, int16_t *out)
{
    const uint8_t *data;
    size_t len;
    if ((ch->prm.codec != MD_CODEC_PCMU && ch->prm.codec != MD_CODEC_PCMA) ||
        !md_jb_recent(&ch->jb, back, &data, &len) || len != MD_FRAME)
        return 0;
    if (ch->prm.codec == MD_CODEC_PCMU)
        md_ulaw_decode(out, data, MD_FRAME);
    else
        md_alaw_decode(out, data, MD_FRAME);
    return 1;
}

/* Before the first concealed frame after frames that skipped the concealer: its
 * history, the frame played last (in m->pcm, or decoded again from the jitter buffer
 * when it went to the batch's scratch) and the one before it (decoded again: the
 * buffer's played slots keep their bytes; silence if it is gone). */
static void plc_history(const md_channel_t *ch, md_media_t *m)
{
    int16_t older[MD_FRAME];
    if (m->pcm_stale && !decode_recent(ch, 0, m->pcm))
        memset(m->pcm, 0, sizeof(m->pcm));
    m->pcm_stale = 0;
    int have = decode_recent(ch, 1, older);
    md_plc_set_history(&m->plc, have ? older : NULL, MD_FRAME, m->pcm, MD_FRAME);
}

/* Whether a channel's output takes another channel's frame of this tick: a bridge
 * copies its peer's, a conference member sends the mix (md_conf_tick_slot, after every
 * channel of the slot is decoded). Those are made after the whole slot. */
static int needs_others(const md_worker_media_t *w, const md_media_t *m, uint32_t i)
{
    return m->bridge >= 0 || (w->conf != NULL && md_conf_has_member(w->conf, i));
}

/* Pulls a channel's state into cache ahead of its turn: at scale the table is far larger
 * than the caches, and a channel's lines are 8 KB apart from the next one's, which the
 * hardware prefetchers do not follow. Two steps: the channel's headers first, then (a few
 * channels later, once next_seq is in cache) the jitter-buffer slot it will play and the
 * lines its frame is written to. */
static void prefetch_headers(const md_channel_t *ch, const md_media_t *m)
{
    md_chan_prefetch(ch);   /* its head and the jitter buffer's state */
    md_prefetch_range_l2(m, MD_MEDIA_HEAD_BYTES);
    __builtin_prefetch(&m->plc, 0, 2);   /* a concealment going on? */
}

/* Whether a G.711 frame of this channel must be decoded into its pcm, because something
 * reads it after the channel's batch (md_worker_media_t.scratch): a bridge peer or the
 * conference (needs_others), the recorder, the DTMF stripper's delay line. */
static int keeps_pcm(const md_worker_media_t *w, const md_media_t *m, uint32_t i)
{
    return w->scratch == NULL || w->out == NULL || needs_others(w, m, i) || m->strip_dtmf ||
           (m->rec_id != 0 && w->rec != NULL);
}

static void prefetch_frame(const md_worker_media_t *w, const md_channel_t *ch,
                           const md_media_t *m, uint32_t i)
{
    if (!ch->in_use)
        return;
    md_chan_prefetch_slot(ch, ch->jb.next_seq, MD_FRAME);   /* a G.711 frame */
    if (keeps_pcm(w, m, i) || m->opus_slot >= 0)
        md_prefetch_range_l2(m->pcm, sizeof(m->pcm));
    md_prefetch_range_l2(&m->dtmf, MD_DTMF_RX_HOT_BYTES);
}

unsigned md_media_tick_in(md_worker_media_t *w, uint64_t now_ms)
{
    return md_media_tick_in_slot(w, now_ms, 0, 1);
}

uint32_t md_media_conceal_budget(uint32_t channels, unsigned nslots)
{
    return 16 + channels / (16 * (nslots ? nslots : 1));
}

unsigned md_media_tick_in_slot(md_worker_media_t *w, uint64_t now_ms, unsigned slot,
                               unsigned nslots)
{
    md_dtmf_rx_t *rxs[MD_TICK_BATCH];
    const int16_t *pcms[MD_TICK_BATCH];
    md_channel_t *owners[MD_TICK_BATCH];
    uint32_t batch[MD_TICK_BATCH];
    unsigned nb = 0, nbatch = 0, inbatch = 0, done = 0, seen = 0;
    md_chan_table_t *t = w->table;
    const uint32_t far = 16 * nslots, near = 8 * nslots;
    uint32_t conceal_left = md_media_conceal_budget(t->used, nslots);

    w->n_deferred = 0;
    for (uint32_t i = slot; i < t->max; i += nslots) {
        md_channel_t *ch = &t->chans[i];
        if (i + far < t->max && md_chan_live(t, i + far))
            prefetch_headers(&t->chans[i + far], &w->media[i + far]);
        if (i + near < t->max && md_chan_live(t, i + near))
            prefetch_frame(w, &t->chans[i + near], &w->media[i + near], i + near);
        if (w->poll != NULL && ++seen % MD_TICK_POLL_EVERY == 0)
            w->poll(w->poll_arg);   /* between channels: none is half done */
        if (!md_chan_live(t, i))
            continue;
        md_media_t *m = &w->media[i];
        const uint8_t *payload = NULL;
        size_t len = 0;
        md_jb_get_t r = md_jb_take(&ch->jb, &payload, &len, NULL);
        int16_t *frame = m->pcm;   /* where this tick's frame is */

        if (m->opus_slot >= 0) {
            /* Opus conceals its own losses (and a corrupt packet is one). */
            md_opus_t *o = &w->opus[m->opus_slot];
            int n = -1;
            if (r == MD_JB_FRAME)
                n = md_opus_decode(o, payload, len, m->pcm);
            if (n != MD_FRAME && (r == MD_JB_LOST || r == MD_JB_FRAME)) {
                if (md_opus_conceal(o, m->pcm) != MD_FRAME)
                    memset(m->pcm, 0, sizeof(m->pcm));
                m->concealed++;
            } else if (r == MD_JB_WAITING) {
                memset(m->pcm, 0, sizeof(m->pcm));
            }
        } else if (r == MD_JB_FRAME && len == MD_FRAME &&
            (ch->prm.codec == MD_CODEC_PCMU || ch->prm.codec == MD_CODEC_PCMA)) {
            if (!keeps_pcm(w, m, i))
                frame = w->scratch[inbatch];
            if (ch->prm.codec == MD_CODEC_PCMU)
                md_ulaw_decode(frame, payload, MD_FRAME);
            else
                md_alaw_decode(frame, payload, MD_FRAME);
            /* The concealer's history is given only when a loss comes (plc_history): a
             * frame goes through it only to be cross-faded after a concealment. */
            if (md_plc_pending(&m->plc)) {
                md_plc_received(&m->plc, frame, MD_FRAME);
                m->plc_synced = 1;
            } else {
                m->plc_synced = 0;
            }
        } else if (r == MD_JB_LOST || r == MD_JB_FRAME) {
            /* Lost, or a frame we cannot use (wrong size): conceal, within the slot's
             * budget of concealments that start (md_media_conceal_budget). */
            int going_on = md_plc_pending(&m->plc);
            if (going_on || conceal_left > 0) {
                conceal_left -= !going_on;
                if (!m->plc_synced)
                    plc_history(ch, m);
                md_plc_conceal(&m->plc, m->pcm, MD_FRAME);
                m->plc_synced = 1;
            } else {
                memset(m->pcm, 0, sizeof(m->pcm));
                w->conceal_silent++;
            }
            m->concealed++;
        } else {
            memset(m->pcm, 0, sizeof(m->pcm));
        }
        m->pcm_stale = frame != m->pcm;
        m->frames++;

        /* RFC 4733 events whose end never came. */
        md_4733_digit_t d;
        if (md_4733_rx_tick(&ch->dtmf, now_ms * 8, RFC4733_TIMEOUT_MS * 8, &d)) {
            ch->st.events++;   /* counted like the digits that end with a packet */
            unsigned upm = md_media_ts_step(ch->prm.codec) / 20;
            push_digit(w, ch, d.digit, MD_DIGIT_RFC4733, md_media_4733_start_ms(&ch->dtmf, &d, upm),
                       d.duration / upm);
        }

        /* No media: counted from the last packet, or from the channel's first tick when
         * nothing has come at all (a caller whose RTP never arrives times out too). */
        if (m->no_media_ms) {
            if (m->first_tick_at == 0)
                m->first_tick_at = now_ms * 8 + 1;
            uint64_t last = ch->learnt ? ch->last_rx : m->first_tick_at;
            if (!m->no_media_sent && now_ms * 8 > last + (uint64_t)m->no_media_ms * 8) {
                md_event_t ev = { .type = MD_EV_NO_MEDIA, .channel = ch->id,
                                  .slot = (uint32_t)(ch - w->table->chans) };
                md_event_push(w->events, &ev);
                m->no_media_sent = 1;
            } else if (now_ms * 8 <= last + (uint64_t)m->no_media_ms * 8) {
                m->no_media_sent = 0;
            }
        }

        /* The prompt's frame is made in md_media_tick_out, just before it is sent, so
         * the output is written once while hot; a digit of this tick that barges in has
         * stopped the prompt by then. */
        m->have_out = m->conf_ready;

        if (m->inband) {
            rxs[nb] = &m->dtmf;
            pcms[nb] = frame;
            owners[nb] = ch;
            nb++;
        }
        if (w->out != NULL) {
            if (needs_others(w, m, i))
                w->deferred[w->n_deferred++] = i;
            else
                batch[nbatch++] = i;
        }
        done++;
        if (++inbatch == MD_TICK_BATCH) {
            /* The batch's digits first: one that barges in stops its prompt before the
             * output is made. */
            if (nb > 0)
                dtmf_batch(w, rxs, pcms, owners, nb, now_ms);
            if (nbatch > 0)
                w->out(w->out_arg, batch, nbatch);
            nb = nbatch = inbatch = 0;
        }
    }
    if (nb > 0)
        dtmf_batch(w, rxs, pcms, owners, nb, now_ms);
    if (nbatch > 0)
        w->out(w->out_arg, batch, nbatch);
    /* Conferences (engine/conf.h) need every member's frame of this tick; their members'
     * output is made here, before the per-channel step below (a member has no bridge). */
    if (w->conf != NULL)
        md_conf_tick_slot(w, now_ms, slot, nslots);
    return done;
}

void md_media_prefetch_out(const md_worker_media_t *w, uint32_t i)
{
    const md_channel_t *ch = &w->table->chans[i];
    const md_media_t *m = &w->media[i];
    __builtin_prefetch(ch, 0, 3);                   /* learnt, the peer's MAC */
    __builtin_prefetch(&ch->rtcp.next_at_ms, 0, 3);   /* a report due? */
    __builtin_prefetch(&ch->st.tx_packets, 1, 3);
    md_prefetch_range(m, MD_MEDIA_HEAD_BYTES);   /* play, send, have_out, tx */
    /* The linear output only if the last tick used it: a prompt sent as G.711 bytes does
     * not touch out, and fetching it would read five lines for nothing. out_g711 is in the
     * head, which this slot's md_media_tick_in wrote, so it is in cache. */
    if (!m->out_g711)
        md_prefetch_range(m->out, sizeof(m->out));
}

void md_media_tick_out(md_worker_media_t *w, uint32_t i)
{
    md_chan_table_t *t = w->table;
    md_media_t *m = &w->media[i];
    /* A conference's mix, if any, is in out and goes now; it stays a shared frame only if
     * nothing below changes it. */
    if (!m->conf_ready || m->play != NULL || m->overlay != NULL || m->send_len > 0)
        m->conf_share = 0;
    m->conf_ready = 0;
    m->out_g711 = 0;
    if (m->play != NULL) {
        const md_channel_t *ch = &t->chans[i];
        if (play_as_g711(w, ch, m)) {
            play_frame(w, ch, m, NULL, w->g711, ch->prm.codec == MD_CODEC_PCMA);
            m->out_g711 = (uint8_t)m->have_out;
            return;   /* nothing else goes over it (play_as_g711) */
        }
        play_frame(w, ch, m, m->out, NULL, 0);
    }
    /* Bridged audio: the peer's frame of this tick, taken in md_media_tick_in. */
    if (m->bridge >= 0 && m->play == NULL && !m->have_out) {
        md_media_t *peer = &w->media[m->bridge];
        if (!t->chans[m->bridge].in_use) {
            m->bridge = -1;
        } else {
            memcpy(m->out, peer->strip_dtmf ? peer->stripped : peer->pcm, sizeof(m->out));
            m->have_out = 1;
        }
    }
    /* Overlays go on top of whatever the channel sends this tick. */
    if (m->overlay != NULL) {
        if (!m->have_out)
            memset(m->out, 0, sizeof(m->out));
        size_t n = m->overlay->samples - m->overlay_pos;
        if (n > MD_FRAME)
            n = MD_FRAME;
        md_mix_add_gain(m->out, m->overlay->pcm + m->overlay_pos, n, m->overlay_gain);
        m->overlay_pos += n;
        m->have_out = 1;
        if (m->overlay_pos == m->overlay->samples) {
            md_event_t ev = { .type = MD_EV_PROMPT_DONE, .channel = t->chans[i].id,
                              .slot = i, .tag = m->overlay_tag };
            md_event_push(w->events, &ev);
            m->overlay = NULL;
        }
    }
    /* Digits being sent go over everything else. */
    if (m->send_len > 0)
        send_tick(w, m);
    /* The recording tap, once the channel's output is final. Every tick writes both sides
     * (silence for a side with nothing), which keeps stereo files aligned in time. */
    if (m->rec_id != 0 && w->rec != NULL) {
        const int16_t *sent = m->have_out ? m->out : NULL;
        int rc;
        if (m->rec_stereo) {
            rc = md_recorder_write(w->rec, w->rec_producer, m->rec_id, m->pcm, sent, MD_FRAME);
        } else {
            int16_t mix[MD_FRAME];
            memcpy(mix, m->pcm, sizeof(mix));
            if (sent != NULL)
                md_mix_add(mix, sent, MD_FRAME);
            rc = md_recorder_write(w->rec, w->rec_producer, m->rec_id, mix, NULL, MD_FRAME);
        }
        if (rc == -ENOBUFS)
            m->rec_refused++;
        else if (rc == -ENOENT)
            m->rec_id = 0;   /* ended by the recorder (disk full...): control is told */
    }
}

unsigned md_media_tick(md_worker_media_t *w, uint64_t now_ms)
{
    unsigned done = md_media_tick_in(w, now_ms);
    for (uint32_t i = 0; i < w->table->max; i++)
        if (w->table->chans[i].in_use)
            md_media_tick_out(w, i);
    return done;
}
