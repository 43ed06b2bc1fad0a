/* Channels and their table. */
#include "engine/channel.h"

#include <errno.h>
#include <string.h>

void md_chan_set_in_use(md_chan_table_t *t, uint32_t i, int on)
{
    t->chans[i].in_use = on ? 1 : 0;
    if (on)
        t->live[i >> 6] |= 1ull << (i & 63);
    else
        t->live[i >> 6] &= ~(1ull << (i & 63));
}

int md_chan_table_init(md_chan_table_t *t, md_channel_t *chans, uint32_t max, uint16_t port_base)
{
    if (chans == NULL || max == 0 || max > MD_CHAN_TABLE_MAX || (port_base & 1) ||
        (uint32_t)port_base + 2 * max > 65536)
        return -EINVAL;
    memset(t, 0, sizeof(*t));
    memset(chans, 0, sizeof(*chans) * max);
    t->chans = chans;
    t->max = max;
    t->port_base = port_base;
    t->next_id = 1;
    return 0;
}

static int params_ok(const md_chan_params_t *prm)
{
    if (prm->codec != MD_CODEC_PCMU && prm->codec != MD_CODEC_PCMA &&
        prm->codec != MD_CODEC_OPUS8 && prm->codec != MD_CODEC_OPUS16)
        return 0;
    if (prm->pt > 127 || prm->event_pt > 127 || (prm->event_pt != 0 && prm->event_pt == prm->pt))
        return 0;
    if (prm->jb_depth < 1 || prm->jb_depth > MD_JB_SLOTS - 2)
        return 0;
    if (prm->jb_max != 0 && (prm->jb_max < prm->jb_depth || prm->jb_max > MD_JB_SLOTS - 2))
        return 0;
    if (!prm->learn && (prm->remote_port == 0 || (prm->ip_version != 4 && prm->ip_version != 6)))
        return 0;
    return 1;
}

int md_chan_create(md_chan_table_t *t, const md_chan_params_t *prm, uint16_t *port)
{
    if (!params_ok(prm))
        return -EINVAL;
    if (t->used == t->max)
        return -ENOSPC;
    for (uint32_t k = 0; k < t->max; k++) {
        uint32_t i = (t->free_hint + k) % t->max;
        md_channel_t *ch = &t->chans[i];
        if (ch->in_use || ch->fwd)
            continue;
        memset(ch, 0, sizeof(*ch));
        md_chan_set_in_use(t, i, 1);
        ch->id = t->next_id++;
        ch->local_port = (uint16_t)(t->port_base + 2 * i);
        ch->prm = *prm;
        if (!prm->learn) {
            ch->src_version = prm->ip_version;
            memcpy(ch->src_ip, prm->remote_ip, 16);
            ch->src_port = prm->remote_port;
        }
        md_jb_init(&ch->jb, prm->jb_depth);
        if (prm->jb_max != 0)
            md_jb_set_adaptive(&ch->jb, prm->jb_depth, prm->jb_max);
        md_4733_rx_init(&ch->dtmf);
        md_rtcp_init(&ch->rtcp, ch->id * 2654435761u + i);
        t->used++;
        t->free_hint = (i + 1) % t->max;
        if (port != NULL)
            *port = ch->local_port;
        return (int)i;
    }
    return -ENOSPC;
}

int md_chan_delete(md_chan_table_t *t, uint32_t index)
{
    if (index >= t->max || !t->chans[index].in_use)
        return -ENOENT;
    md_chan_set_in_use(t, index, 0);
    t->used--;
    return 0;
}

md_channel_t *md_chan_lookup(md_chan_table_t *t, uint16_t port, int *is_rtcp)
{
    if (port < t->port_base)
        return NULL;
    uint32_t off = (uint32_t)(port - t->port_base);
    uint32_t i = off / 2;
    if (i >= t->max || !t->chans[i].in_use || t->chans[i].local_port != (uint16_t)(port & ~1u))
        return NULL;
    *is_rtcp = (int)(off & 1);
    return &t->chans[i];
}

int md_chan_adopt(md_chan_table_t *t, const md_channel_t *src, int index)
{
    uint32_t i;
    if (index >= 0) {
        i = (uint32_t)index;
        if (i >= t->max || t->chans[i].in_use || !t->chans[i].fwd)
            return -EBUSY;
    } else {
        if (t->used == t->max)
            return -ENOSPC;
        for (i = 0; i < t->max; i++) {
            uint32_t k = (t->free_hint + i) % t->max;
            if (!t->chans[k].in_use && !t->chans[k].fwd) {
                i = k;
                break;
            }
        }
        if (i == t->max)
            return -ENOSPC;
        t->used++;
        t->free_hint = (i + 1) % t->max;
    }
    md_channel_t *ch = &t->chans[i];
    *ch = *src;
    md_chan_set_in_use(t, i, 1);
    ch->fwd = 0;
    ch->id = t->next_id++;
    return (int)i;
}

int md_chan_release(md_chan_table_t *t, uint32_t index)
{
    if (index >= t->max || t->chans[index].in_use || !t->chans[index].fwd)
        return -ENOENT;
    t->chans[index].fwd = 0;
    t->used--;
    return 0;
}

/* Same IP address (alen 4 or 16): a fixed-size compare the compiler inlines, instead
 * of a call to memcmp per packet. */
static int addr_equal(const uint8_t *a, const uint8_t *b, size_t alen)
{
    if (alen == 4)
        return memcmp(a, b, 4) == 0;
    return memcmp(a, b, 16) == 0;
}

/* Does the datagram come from the channel's peer? Learns the peer when allowed: from
 * the first packet (learning), or from any packet (re-learning). */
static int source_ok(md_channel_t *ch, const md_pkt_t *p, uint32_t ssrc)
{
    size_t alen = p->ip_version == 4 ? 4 : 16;
    int same_addr = ch->src_version == p->ip_version && addr_equal(ch->src_ip, p->src, alen) &&
                    ch->src_port == p->sport;
    if (ch->learnt) {
        if (same_addr && ssrc == ch->ssrc)
            return 1;
        if (!ch->prm.relearn)
            return 0;
    } else if (!ch->prm.learn && !same_addr) {
        return 0;   /* a fixed remote: only it may send; its SSRC is learnt */
    }
    ch->learnt = 1;
    ch->src_version = p->ip_version;
    memset(ch->src_ip, 0, sizeof(ch->src_ip));
    memcpy(ch->src_ip, p->src, alen);
    ch->src_port = p->sport;
    ch->ssrc = ssrc;
    return 1;
}

md_chan_rx_t md_chan_receive(md_channel_t *ch, const md_pkt_t *p, int is_rtcp,
                             const uint8_t *payload, uint16_t len, uint64_t now,
                             md_4733_digit_t digits[2], int *ndigits)
{
    *ndigits = 0;
    if (is_rtcp) {
        /* RTCP from the learnt peer only; its port is the RTP port + 1 by convention,
         * but the address must match. */
        size_t alen = p->ip_version == 4 ? 4 : 16;
        if (!ch->learnt || ch->src_version != p->ip_version || !addr_equal(ch->src_ip, p->src, alen)) {
            ch->st.wrong_source++;
            return MD_CHAN_DROPPED;
        }
        ch->st.rtcp++;
        return MD_CHAN_RTCP;
    }
    md_rtp_hdr_t h;
    if (md_rtp_parse(payload, len, &h) != MD_RTP_OK) {
        ch->st.bad_rtp++;
        return MD_CHAN_DROPPED;
    }
    if (h.pt != ch->prm.pt && (ch->prm.event_pt == 0 || h.pt != ch->prm.event_pt)) {
        ch->st.wrong_pt++;
        return MD_CHAN_DROPPED;
    }
    if (!source_ok(ch, p, h.ssrc)) {
        ch->st.wrong_source++;
        return MD_CHAN_DROPPED;
    }
    ch->st.rx_packets++;
    ch->st.rx_bytes += len;
    ch->last_rx = now;
    const uint8_t *body = payload + h.payload_off;
    if (ch->prm.event_pt != 0 && h.pt == ch->prm.event_pt) {
        md_rtp_event_t ev;
        if (md_rtp_event_parse(body, h.payload_len, &ev) != 0) {
            ch->st.bad_rtp++;
            return MD_CHAN_DROPPED;
        }
        *ndigits = md_4733_rx_packet(&ch->dtmf, h.ssrc, h.ts, &ev, now, digits);
        ch->st.events += (uint64_t)*ndigits;
        return MD_CHAN_EVENT;
    }
    md_jb_put(&ch->jb, h.ssrc, h.seq, h.ts, h.marker, body, h.payload_len, (uint32_t)now);
    return MD_CHAN_AUDIO;
}
