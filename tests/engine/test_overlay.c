/* An announcement mixed over the bridged party at -6 dB: the output is exactly the
 * bridged audio plus the prompt at the gain (saturating), then the bridged audio alone
 * once the prompt is over, with one prompt-done event. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "dsp/g711.h"
#include "dsp/mixer.h"
#include "engine/media.h"
#include "tests/check.h"

static md_channel_t chans[2];
static md_media_t media[2];
static md_chan_table_t t;
static md_event_ring_t ring;

static void send(md_channel_t *ch, int who, uint16_t seq, const int16_t *pcm)
{
    uint8_t buf[12 + 160];
    md_pkt_t p;
    md_4733_digit_t d[2];
    int nd;
    memset(&p, 0, sizeof(p));
    p.ip_version = 4;
    p.src[0] = 10;
    p.src[3] = (uint8_t)who;
    p.sport = 4000;
    md_rtp_write(buf, 0, 0, seq, (uint32_t)seq * 160, (uint32_t)who);
    md_ulaw_encode(buf + 12, pcm, 160);
    md_chan_receive(ch, &p, 0, buf, sizeof(buf), (uint64_t)seq * 160, d, &nd);
}

int main(void)
{
    md_event_ring_init(&ring);
    md_chan_table_init(&t, chans, 2, 30000);
    md_chan_params_t prm = { .codec = MD_CODEC_PCMU, .pt = 0, .jb_depth = 2, .learn = 1 };
    for (int i = 0; i < 2; i++) {
        md_chan_create(&t, &prm, NULL);
        md_media_init(&media[i], 0, 0);
    }
    md_worker_media_t w = { .table = &t, .media = media, .events = &ring, .isa = MD_ISA_SCALAR };
    CHECK(md_media_bridge(&w, 0, 1) == 0);

    static int16_t music[40 * 160], prompt_pcm[10 * 160];
    for (int i = 0; i < 40 * 160; i++)
        music[i] = (int16_t)lrint(3000 * sin(2 * M_PI * 220 * i / 8000.0));
    for (int i = 0; i < 10 * 160; i++)
        prompt_pcm[i] = (int16_t)lrint(20000 * sin(2 * M_PI * 1000 * i / 8000.0));
    md_prompt_t prompt = { .name = "notice", .pcm = prompt_pcm, .samples = 10 * 160 };
    CHECK(md_media_overlay(&media[1], &prompt, 30) == -EINVAL);

    md_gain_t g;
    md_gain_from_db(-6, &g);
    int16_t silence[160];
    memset(silence, 0, sizeof(silence));
    int bad = 0, overlaid = 0, plain = 0;
    for (int f = 0; f < 40; f++) {
        send(&chans[0], 1, (uint16_t)f, music + f * 160);
        send(&chans[1], 2, (uint16_t)f, silence);
        if (f == 10)
            CHECK(md_media_overlay(&media[1], &prompt, -6) == 0);
        int active = media[1].overlay != NULL;
        size_t pos = media[1].overlay_pos;
        md_media_tick(&w, (uint64_t)f * 20);
        /* What channel 1 sends: channel 0's decoded audio, plus the prompt. */
        int16_t want[160];
        memcpy(want, media[0].pcm, sizeof(want));
        if (active) {
            md_mix_add_gain(want, prompt_pcm + pos, 160, g);
            overlaid++;
        } else {
            plain++;
        }
        bad += memcmp(want, media[1].out, sizeof(want)) != 0;
    }
    CHECKF(bad == 0, "%d frames differ", bad);
    CHECK(overlaid == 10 && plain == 30);
    int done = 0;
    md_event_t ev;
    while (md_event_pop(&ring, &ev))
        done += ev.type == MD_EV_PROMPT_DONE && ev.channel == chans[1].id;
    CHECK(done == 1);
    return check_summary("overlay");
}
