/* Channels: admission limit, port lookup, strict source learning (RTP bleed), re-learn,
 * payload types, RFC 4733 through the channel, audio into the jitter buffer. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine/channel.h"
#include "tests/check.h"

#define MAX 4

static md_channel_t chans[MAX];
static md_chan_table_t t;

static md_pkt_t from(int last_octet, uint16_t sport, uint16_t dport)
{
    md_pkt_t p;
    memset(&p, 0, sizeof(p));
    p.ip_version = 4;
    p.src[0] = 10;
    p.src[3] = (uint8_t)last_octet;
    p.sport = sport;
    p.dport = dport;
    return p;
}

/* The table's live bits say exactly which channels are in use (the tick walks them). */
static int live_bits_agree(void)
{
    for (uint32_t i = 0; i < t.max; i++)
        if (md_chan_live(&t, i) != (t.chans[i].in_use != 0))
            return 0;
    for (uint32_t i = t.max; i < MD_CHAN_TABLE_MAX; i++)
        if (md_chan_live(&t, i))
            return 0;
    return 1;
}

static uint32_t event_ts;   /* nonzero: the timestamp every packet carries (an event) */

static md_chan_rx_t rtp(md_channel_t *ch, md_pkt_t p, uint8_t pt, uint16_t seq, uint32_t ssrc,
                        const uint8_t *body, uint16_t blen, md_4733_digit_t *d, int *nd)
{
    uint8_t buf[200];
    md_rtp_write(buf, pt, 0, seq, event_ts ? event_ts : (uint32_t)seq * 160, ssrc);
    memcpy(buf + 12, body, blen);
    return md_chan_receive(ch, &p, 0, buf, (uint16_t)(12 + blen), seq * 160ull, d, nd);
}

int main(void)
{
    md_chan_params_t prm = { .codec = MD_CODEC_PCMU, .pt = 0, .event_pt = 101, .jb_depth = 2,
                             .learn = 1 };
    uint16_t port;
    md_4733_digit_t d[2];
    int nd;
    uint8_t audio[160];
    memset(audio, 0xff, sizeof(audio));

    CHECK(md_chan_table_init(&t, chans, MAX, 20001) == -EINVAL);   /* odd base */
    CHECK(md_chan_table_init(&t, chans, MAX, 20000) == 0);

    /* Admission: MAX channels, then a clear refusal; deleting makes room again. */
    int idx[MAX];
    for (int i = 0; i < MAX; i++) {
        idx[i] = md_chan_create(&t, &prm, &port);
        CHECK(idx[i] >= 0 && port == 20000 + 2 * idx[i]);
    }
    CHECK(md_chan_create(&t, &prm, &port) == -ENOSPC);
    CHECK(live_bits_agree() && t.live[0] == 0xF);
    CHECK(md_chan_delete(&t, (uint32_t)idx[1]) == 0 && md_chan_delete(&t, (uint32_t)idx[1]) == -ENOENT);
    CHECK(live_bits_agree() && !md_chan_live(&t, (uint32_t)idx[1]));
    CHECK(md_chan_create(&t, &prm, &port) == idx[1]);
    CHECK(live_bits_agree() && md_chan_live(&t, (uint32_t)idx[1]));
    {
        /* A moved channel: its home slot reserved (not live), the copy adopted live into
         * a free slot of another table, then released. */
        static md_channel_t other_chans[MAX];
        static md_chan_table_t other;
        CHECK(md_chan_table_init(&other, other_chans, MAX, 30000) == 0);
        md_chan_set_in_use(&t, (uint32_t)idx[2], 0);
        t.chans[idx[2]].fwd = 2;
        CHECK(live_bits_agree() && !md_chan_live(&t, (uint32_t)idx[2]));
        int k = md_chan_adopt(&other, &t.chans[idx[2]], -1);
        CHECK(k >= 0 && md_chan_live(&other, (uint32_t)k) && other.chans[k].in_use);
        CHECK(md_chan_delete(&other, (uint32_t)k) == 0 && !md_chan_live(&other, (uint32_t)k));
        /* Back home into its reserved slot. */
        CHECK(md_chan_adopt(&t, &t.chans[idx[2]], idx[2]) == idx[2]);
        CHECK(live_bits_agree() && md_chan_live(&t, (uint32_t)idx[2]) && t.chans[idx[2]].fwd == 0);
    }
    CHECK(md_chan_table_init(&t, chans, MD_CHAN_TABLE_MAX + 1, 0) == -EINVAL);
    CHECK(md_chan_table_init(&t, chans, MAX, 20000) == 0 && live_bits_agree() && t.live[0] == 0);
    for (int i = 0; i < MAX; i++)
        CHECK(md_chan_create(&t, &prm, &port) == idx[i]);
    md_chan_params_t bad = prm;
    bad.jb_depth = 0;
    CHECK(md_chan_create(&t, &bad, &port) == -EINVAL);
    bad = prm;
    bad.learn = 0;   /* fixed remote without an address */
    CHECK(md_chan_create(&t, &bad, &port) == -EINVAL);

    /* Lookup by port: RTP, RTCP, and ports of nobody. */
    int rtcp;
    md_channel_t *ch = md_chan_lookup(&t, 20002, &rtcp);
    CHECK(ch == &chans[1] && rtcp == 0);
    CHECK(md_chan_lookup(&t, 20003, &rtcp) == &chans[1] && rtcp == 1);
    CHECK(md_chan_lookup(&t, 19998, &rtcp) == NULL && md_chan_lookup(&t, 20008, &rtcp) == NULL);

    /* Learning from the first packet; then another address or SSRC is dropped. */
    CHECK(rtp(ch, from(1, 4000, 20002), 0, 10, 0xAAAA, audio, 160, d, &nd) == MD_CHAN_AUDIO);
    CHECK(rtp(ch, from(9, 4000, 20002), 0, 11, 0xAAAA, audio, 160, d, &nd) == MD_CHAN_DROPPED);
    CHECK(rtp(ch, from(1, 4002, 20002), 0, 11, 0xAAAA, audio, 160, d, &nd) == MD_CHAN_DROPPED);
    CHECK(rtp(ch, from(1, 4000, 20002), 0, 11, 0xBBBB, audio, 160, d, &nd) == MD_CHAN_DROPPED);
    CHECK(ch->st.wrong_source == 3 && ch->st.rx_packets == 1);
    CHECK(rtp(ch, from(1, 4000, 20002), 0, 11, 0xAAAA, audio, 160, d, &nd) == MD_CHAN_AUDIO);
    CHECK(md_jb_level(&ch->jb) == 2);
    /* Unknown payload type and malformed RTP are dropped and counted. */
    CHECK(rtp(ch, from(1, 4000, 20002), 96, 12, 0xAAAA, audio, 160, d, &nd) == MD_CHAN_DROPPED);
    uint8_t junk[8] = { 0x40 };
    md_pkt_t p1 = from(1, 4000, 20002);
    CHECK(md_chan_receive(ch, &p1, 0, junk, 8, 0, d, &nd) == MD_CHAN_DROPPED);
    CHECK(ch->st.wrong_pt == 1 && ch->st.bad_rtp == 1);
    /* RTCP only from the peer's address. */
    CHECK(md_chan_receive(ch, &p1, 1, junk, 8, 0, d, &nd) == MD_CHAN_RTCP);
    md_pkt_t p9 = from(9, 4001, 20003);
    CHECK(md_chan_receive(ch, &p9, 1, junk, 8, 0, d, &nd) == MD_CHAN_DROPPED);

    /* RFC 4733 through the channel: one digit from an event with its end sent 3 times. */
    event_ts = 3200;
    for (int f = 1; f <= 4; f++) {
        uint8_t ev[4];
        md_rtp_event_t e = { .event = 5, .volume = 10, .duration = (uint16_t)(f * 160) };
        md_rtp_event_write(ev, &e);
        CHECK(rtp(ch, from(1, 4000, 20002), 101, (uint16_t)(20 + f), 0xAAAA, ev, 4, d, &nd) == MD_CHAN_EVENT);
    }
    int digits = 0;
    for (int r = 0; r < 3; r++) {
        uint8_t ev[4];
        md_rtp_event_t e = { .event = 5, .end = 1, .volume = 10, .duration = 800 };
        md_rtp_event_write(ev, &e);
        rtp(ch, from(1, 4000, 20002), 101, (uint16_t)(25 + r), 0xAAAA, ev, 4, d, &nd);
        digits += nd;
        if (nd)
            CHECK(d[0].digit == '5');
    }
    CHECK(digits == 1 && ch->st.events == 1);
    event_ts = 0;

    /* Re-learning allowed: a new source takes over. */
    md_channel_t *c2 = &chans[2];
    c2->prm.relearn = 1;
    CHECK(rtp(c2, from(1, 4000, 20004), 0, 1, 0x1, audio, 160, d, &nd) == MD_CHAN_AUDIO);
    CHECK(rtp(c2, from(2, 5000, 20004), 0, 900, 0x2, audio, 160, d, &nd) == MD_CHAN_AUDIO);
    CHECK(c2->src_ip[3] == 2 && c2->ssrc == 0x2 && c2->jb.st.restarts == 1);

    /* A fixed remote: only that address may send. */
    md_chan_delete(&t, 3);
    md_chan_params_t fixed = prm;
    fixed.learn = 0;
    fixed.ip_version = 4;
    fixed.remote_ip[0] = 10;
    fixed.remote_ip[3] = 7;
    fixed.remote_port = 6000;
    int fi = md_chan_create(&t, &fixed, &port);
    CHECK(fi == 3);
    CHECK(rtp(&chans[3], from(8, 6000, port), 0, 1, 0x9, audio, 160, d, &nd) == MD_CHAN_DROPPED);
    CHECK(rtp(&chans[3], from(7, 6000, port), 0, 1, 0x9, audio, 160, d, &nd) == MD_CHAN_AUDIO);
    printf("memory per channel: %zu bytes\n", sizeof(md_channel_t));
    CHECK(sizeof(md_channel_t) <= 8 * 1024);
    return check_summary("channel");
}
