/* Opus channels in the media tick: codec states from the worker's pool (refused when
 * none is left, returned at delete), Opus RTP decoded to 8 kHz, in-band DTMF found in
 * it, lost packets concealed by Opus itself, a corrupt packet taken as a loss; and the
 * RTP clock of 48 kHz (960 per 20 ms, RFC 7587). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/opus_codec.h"
#include "dsp/tone.h"
#include "engine/cmd.h"
#include "tests/check.h"

#define MAX 4

static md_channel_t chans[MAX];
static md_media_t media[MAX];
static md_chan_table_t t;
static md_event_ring_t ring;

static void send_opus(md_channel_t *ch, uint16_t seq, const uint8_t *pkt, size_t len, uint64_t now)
{
    uint8_t buf[12 + MD_OPUS_MAX_PACKET];
    md_pkt_t p;
    md_4733_digit_t d[2];
    int nd;
    memset(&p, 0, sizeof(p));
    p.ip_version = 4;
    p.src[0] = 10;
    p.src[3] = 1;
    p.sport = 4000;
    md_rtp_write(buf, 96, 0, seq, (uint32_t)seq * 960, 0x1234);
    memcpy(buf + 12, pkt, len);
    md_chan_receive(ch, &p, 0, buf, (uint16_t)(12 + len), now, d, &nd);
}

static int create(md_worker_media_t *w, md_codec_t codec)
{
    md_cmd_t c;
    md_cmd_reply_t r;
    memset(&c, 0, sizeof(c));
    c.type = MD_CMD_CREATE;
    c.prm = (md_chan_params_t){ .codec = codec, .pt = 96, .jb_depth = 2, .learn = 1 };
    c.inband = 1;
    md_cmd_exec(w, &c, &r);
    return r.status == 0 ? (int)r.info.slot : r.status;
}

int main(void)
{
    md_event_ring_init(&ring);
    md_chan_table_init(&t, chans, MAX, 30000);
    md_worker_media_t *w = calloc(1, sizeof(*w));
    w->table = &t;
    w->media = media;
    w->events = &ring;
    w->isa = md_cpu_default_isa();
    CHECK(md_media_opus_pool(w, 2) == 0);

    /* The pool: two Opus channels, the third refused; G.711 channels need none. */
    int a = create(w, MD_CODEC_OPUS8), b = create(w, MD_CODEC_OPUS16);
    CHECK(a >= 0 && b >= 0);
    CHECK(create(w, MD_CODEC_OPUS8) == -EMFILE);
    CHECK(t.used == 2);   /* the refused channel was not left half-made */
    int g = create(w, MD_CODEC_PCMU);
    CHECK(g >= 0 && media[g].opus_slot == -1);
    CHECK(md_media_ts_step(MD_CODEC_OPUS16) == 960 && md_media_ts_step(MD_CODEC_PCMA) == 160);

    /* A caller's Opus encoder (wideband, as a phone would send) keys "2580" in-band; every
     * seventh packet of channel b is lost and one of a is corrupt. */
    md_opus_t enc;
    CHECK(md_opus_create(&enc, 16000, 32000, 5) == 0);
    static int16_t dial8[8000 * 2], dial16[16000 * 2];
    long n = md_tone_dial(dial8, 16000, "2580", -10, 0, 80, 80);
    CHECK(n > 0);
    for (long i = 0; i < 2 * n; i++)   /* to 16 kHz: linear interpolation is enough here */
        dial16[i] = (int16_t)(i % 2 == 0 ? dial8[i / 2]
                                         : (dial8[i / 2] + (i / 2 + 1 < n ? dial8[i / 2 + 1] : 0)) / 2);
    uint64_t now_ms = 0;
    int frames = (int)(n / 160) + 20;
    for (int f = 0; f < frames; f++, now_ms += 20) {
        int16_t pcm[320];
        memset(pcm, 0, sizeof(pcm));
        if ((long)(f + 1) * 320 <= 2 * n)
            memcpy(pcm, dial16 + f * 320, sizeof(pcm));
        uint8_t pkt[400];
        int len = md_opus_encode(&enc, pcm, pkt, sizeof(pkt));
        CHECK(len > 0);
        if (f == 10) {
            uint8_t bad[3] = { 0xFF, 0xFF, 0xFF };   /* code 3, no frame count: corrupt */
            send_opus(&chans[a], (uint16_t)f, bad, sizeof(bad), now_ms * 8);
        } else {
            send_opus(&chans[a], (uint16_t)f, pkt, (size_t)len, now_ms * 8);
        }
        if (f % 7 != 6)
            send_opus(&chans[b], (uint16_t)f, pkt, (size_t)len, now_ms * 8);
        md_media_tick(w, now_ms);
    }
    char got[2][16] = { "", "" };
    md_event_t ev;
    while (md_event_pop(&ring, &ev))
        if (ev.type == MD_EV_DIGIT) {
            int k = ev.channel == chans[a].id ? 0 : ev.channel == chans[b].id ? 1 : -1;
            if (k >= 0 && strlen(got[k]) < 15)
                strncat(got[k], &ev.digit, 1);
        }
    CHECKF(strcmp(got[0], "2580") == 0, "channel a heard '%s'", got[0]);
    CHECKF(strcmp(got[1], "2580") == 0, "channel b (lossy) heard '%s'", got[1]);
    CHECKF(media[b].concealed >= (uint64_t)(frames / 7 - 1), "b concealed %llu",
           (unsigned long long)media[b].concealed);
    CHECK(media[a].concealed >= 1);   /* the corrupt packet */

    /* Delete returns the codec state: another Opus channel fits again. */
    md_cmd_t c;
    md_cmd_reply_t r;
    memset(&c, 0, sizeof(c));
    c.type = MD_CMD_DELETE;
    c.slot = (uint32_t)a;
    c.id = chans[a].id;
    md_cmd_exec(w, &c, &r);
    CHECK(r.status == 0);
    CHECK(create(w, MD_CODEC_OPUS8) >= 0);

    /* RFC 4733 on an Opus channel: the events count in the 48 kHz clock (100 ms = 4800
     * units); the digit's duration comes out in ms. */
    memset(&c, 0, sizeof(c));
    c.type = MD_CMD_DELETE;
    c.slot = (uint32_t)b;
    c.id = chans[b].id;
    md_cmd_exec(w, &c, &r);
    memset(&c, 0, sizeof(c));
    c.type = MD_CMD_CREATE;
    c.prm = (md_chan_params_t){ .codec = MD_CODEC_OPUS16, .pt = 96, .event_pt = 101, .jb_depth = 2,
                                .learn = 1 };
    md_cmd_exec(w, &c, &r);
    CHECK(r.status == 0);
    int e = (int)r.info.slot;
    while (md_event_pop(&ring, &ev))
        ;
    for (int k = 0; k < 8; k++) {
        uint8_t buf[16];
        md_pkt_t p;
        md_4733_digit_t d[2];
        int nd;
        memset(&p, 0, sizeof(p));
        p.ip_version = 4;
        p.src[0] = 10;
        p.src[3] = 9;
        p.sport = 4200;
        md_rtp_write(buf, 101, k == 0, (uint16_t)(500 + k), 96000, 0x77);
        md_rtp_event_t rev = { .event = 5, .volume = 10, .end = k >= 5,
                               .duration = (uint16_t)(k >= 5 ? 4800 : 960 * (k + 1)) };
        md_rtp_event_write(buf + 12, &rev);
        md_chan_receive(&chans[e], &p, 0, buf, 16, now_ms * 8, d, &nd);
        for (int i = 0; i < nd; i++) {
            CHECKF(d[i].digit == '5' && d[i].duration / (md_media_ts_step(MD_CODEC_OPUS16) / 20) == 100,
                   "digit %c duration %u units", d[i].digit, d[i].duration);
            got[0][0] = d[i].digit;
        }
        now_ms += 20;
    }
    CHECK(got[0][0] == '5');
    md_opus_destroy(&enc);
    md_media_opus_pool_free(w);
    free(w);
    return check_summary("opus-channel");
}
