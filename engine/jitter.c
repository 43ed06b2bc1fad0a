/* The jitter buffer. Sequence numbers are compared as signed 16-bit differences, so the
 * wrap from 65535 to 0 needs no special case. */
#include "engine/jitter.h"

#include <errno.h>
#include <string.h>

static int16_t seq_diff(uint16_t a, uint16_t b)
{
    return (int16_t)(uint16_t)(a - b);
}

int md_jb_init(md_jb_t *jb, unsigned depth)
{
    if (depth < 1 || depth > MD_JB_SLOTS - 2)
        return -EINVAL;
    memset(jb, 0, sizeof(*jb));
    jb->depth = depth;
    return 0;
}

int md_jb_set_adaptive(md_jb_t *jb, unsigned min, unsigned max)
{
    if (min < 1 || min > max || max > MD_JB_SLOTS - 2)
        return -EINVAL;
    jb->adaptive = 1;
    jb->min_depth = (uint8_t)min;
    jb->max_depth = (uint8_t)max;
    if (jb->depth < min)
        jb->depth = min;
    if (jb->depth > max)
        jb->depth = max;
    return 0;
}

unsigned md_jb_level(const md_jb_t *jb)
{
    if (!jb->started)
        return 0;
    int d = seq_diff(jb->highest_seq, jb->next_seq) + 1;
    return d > 0 ? (unsigned)d : 0;
}

static void restart(md_jb_t *jb, uint32_t ssrc, uint16_t seq)
{
    for (unsigned k = 0; k < MD_JB_SLOTS; k++)
        jb->meta[k].full = 0;
    jb->started = 1;
    jb->playing = 0;
    jb->ssrc = ssrc;
    jb->next_seq = seq;
    jb->highest_seq = seq;
    jb->over_depth = 0;
    jb->underruns = 0;
    jb->have_transit = 0;
}

static void update_jitter(md_jb_t *jb, uint32_t ts, uint32_t arrival)
{
    int64_t transit = (int64_t)(int32_t)(arrival - ts);
    if (jb->have_transit) {
        int64_t d = transit - jb->transit;
        if (d < 0)
            d = -d;
        jb->st.jitter += ((double)d - jb->st.jitter) / 16.0;
    }
    jb->transit = transit;
    jb->have_transit = 1;
}

md_jb_put_t md_jb_put(md_jb_t *jb, uint32_t ssrc, uint16_t seq, uint32_t ts, int marker,
                      const uint8_t *payload, size_t len, uint32_t arrival)
{
    md_jb_put_t result = MD_JB_STORED;

    if (len > MD_JB_MAX_PAYLOAD) {
        jb->st.too_big++;
        return MD_JB_TOO_BIG;
    }
    if (!jb->started) {
        restart(jb, ssrc, seq);
    } else if (ssrc != jb->ssrc) {
        jb->st.restarts++;
        restart(jb, ssrc, seq);
        result = MD_JB_RESTARTED;
    } else {
        int16_t ahead = seq_diff(seq, jb->next_seq);
        if (ahead < 0 && !jb->playing) {
            /* After an outage the sender's numbering went on from where it stopped while
             * our clock did not: play out from this packet. */
            restart(jb, ssrc, seq);
            ahead = 0;
        } else if (ahead < 0) {
            jb->st.late++;
            if (jb->adaptive && jb->depth < jb->max_depth) {
                /* Too shallow for this network: one frame deeper. */
                jb->depth++;
                jb->stretch++;
                jb->st.depth_ups++;
            }
            jb->quiet = 0;
            return MD_JB_LATE;
        }
        if (ahead >= MD_JB_SLOTS) {
            /* A jump the ring cannot bridge (a long gap, or a sender that restarted its
             * sequence): start again from this packet. */
            jb->st.restarts++;
            restart(jb, ssrc, seq);
            result = MD_JB_RESTARTED;
        }
    }

    unsigned slot = seq % MD_JB_SLOTS;
    if (jb->meta[slot].full && jb->meta[slot].seq == seq) {
        jb->st.duplicates++;
        return MD_JB_DUPLICATE;
    }
    if (seq_diff(seq, jb->highest_seq) < 0)
        jb->st.reordered++;
    else
        jb->highest_seq = seq;
    memcpy(jb->data[slot], payload, len);
    jb->meta[slot].len = (uint8_t)len;
    jb->meta[slot].seq = seq;
    jb->meta[slot].ts = ts;
    jb->meta[slot].marker = (uint8_t)(marker != 0);
    jb->meta[slot].full = 1;
    jb->st.packets++;
    jb->st.bytes += len;
    update_jitter(jb, ts, arrival);
    return result;
}

md_jb_get_t md_jb_take(md_jb_t *jb, const uint8_t **data, size_t *len, uint32_t *ts)
{
    if (!jb->started)
        return MD_JB_WAITING;
    if (!jb->playing) {
        if (md_jb_level(jb) < jb->depth)
            return MD_JB_WAITING;
        /* Start at the first frame actually queued, not at a hole left by an outage. */
        for (unsigned k = 0; k < MD_JB_SLOTS; k++) {
            unsigned s = (uint16_t)(jb->next_seq + k) % MD_JB_SLOTS;
            if (jb->meta[s].full && jb->meta[s].seq == (uint16_t)(jb->next_seq + k)) {
                jb->next_seq = (uint16_t)(jb->next_seq + k);
                break;
            }
        }
        if (md_jb_level(jb) < jb->depth)
            return MD_JB_WAITING;
        jb->playing = 1;
    }
    if (jb->adaptive) {
        /* Deeper: hold playout one tick (concealed) while the queue grows. */
        if (jb->stretch > 0) {
            jb->stretch--;
            return MD_JB_LOST;
        }
        /* Ten quiet seconds: one frame shallower, and one frame fewer queued now. */
        if (++jb->quiet >= 500 && jb->depth > jb->min_depth) {
            jb->depth--;
            jb->st.depth_downs++;
            jb->quiet = 0;
            if (md_jb_level(jb) > jb->depth + 1) {
                unsigned s = jb->next_seq % MD_JB_SLOTS;
                jb->meta[s].full = 0;
                jb->next_seq++;
            }
        }
    }
    /* Clock skew: a sender slightly fast fills the queue; when it has stayed over the
     * depth by more than two frames for a second, one frame is dropped. */
    if (md_jb_level(jb) > jb->depth + 2) {
        if (++jb->over_depth >= 50) {
            unsigned s = jb->next_seq % MD_JB_SLOTS;
            jb->meta[s].full = 0;
            jb->next_seq++;
            jb->st.skew_drops++;
            jb->over_depth = 0;
        }
    } else {
        jb->over_depth = 0;
    }
    if (seq_diff(jb->highest_seq, jb->next_seq) < 0) {
        /* Drained: nothing queued. A late burst is concealed frame by frame; only a
         * real outage (MD_JB_OUTAGE frames in a row: silence suppression, a pause)
         * sends the buffer back to prefill, so that jitter never opens a hole of a
         * whole depth in the audio. */
        jb->st.lost++;
        jb->next_seq++;
        jb->highest_seq = (uint16_t)(jb->next_seq - 1);
        if (++jb->underruns >= MD_JB_OUTAGE)
            jb->playing = 0;
        return MD_JB_LOST;
    }
    jb->underruns = 0;
    unsigned slot = jb->next_seq % MD_JB_SLOTS;
    md_jb_get_t r;
    if (jb->meta[slot].full && jb->meta[slot].seq == jb->next_seq) {
        *data = jb->data[slot];
        *len = jb->meta[slot].len;
        jb->last_played = jb->next_seq;
        jb->played_any = 1;
        if (ts != NULL)
            *ts = jb->meta[slot].ts;
        jb->meta[slot].full = 0;
        r = MD_JB_FRAME;
    } else {
        jb->st.lost++;
        r = MD_JB_LOST;
    }
    jb->next_seq++;
    return r;
}

md_jb_get_t md_jb_get(md_jb_t *jb, uint8_t *out, size_t *len, uint32_t *ts)
{
    const uint8_t *data;
    md_jb_get_t r = md_jb_take(jb, &data, len, ts);
    if (r == MD_JB_FRAME)
        memcpy(out, data, *len);
    return r;
}

int md_jb_recent(const md_jb_t *jb, unsigned back, const uint8_t **data, size_t *len)
{
    if (!jb->played_any || back >= MD_JB_SLOTS)
        return 0;
    uint16_t seq = (uint16_t)(jb->last_played - back);
    unsigned slot = seq % MD_JB_SLOTS;
    if (jb->meta[slot].seq != seq || jb->meta[slot].full || jb->meta[slot].len == 0)
        return 0;
    *data = jb->data[slot];
    *len = jb->meta[slot].len;
    return 1;
}
