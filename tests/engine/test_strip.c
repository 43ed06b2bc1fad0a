/* In-band DTMF stripping on a bridge: channel A's caller talks and keys two digits;
 * channel B, bridged, must get A's audio (delayed by MD_STRIP_DELAY frames) with every
 * sample of each tone silenced (no fragment leaks), everything else passed untouched;
 * and the digits are still reported. */
#include <math.h>
#include <string.h>

#include "dsp/g711.h"
#include "dsp/tone.h"
#include "engine/media.h"
#include "tests/check.h"

#define MAX 2
#define FRAMES 80

static md_channel_t chans[MAX];
static md_media_t media[MAX];
static md_chan_table_t t;
static md_event_ring_t ring;

static void send(md_channel_t *ch, int who, uint16_t seq, const int16_t *pcm, uint64_t now)
{
    uint8_t buf[12 + 160];
    md_pkt_t p;
    md_4733_digit_t d[2];
    int nd;
    memset(&p, 0, sizeof(p));
    p.ip_version = 4;
    p.src[0] = 10;
    p.src[3] = (uint8_t)who;
    p.sport = (uint16_t)(4000 + who);
    md_rtp_write(buf, 0, 0, seq, (uint32_t)seq * 160, 0x1000u + (uint32_t)who);
    md_ulaw_encode(buf + 12, pcm, 160);
    md_chan_receive(ch, &p, 0, buf, sizeof(buf), now, d, &nd);
}

int main(void)
{
    md_event_ring_init(&ring);
    md_chan_table_init(&t, chans, MAX, 30000);
    md_chan_params_t prm = { .codec = MD_CODEC_PCMU, .pt = 0, .jb_depth = 2, .learn = 1 };
    for (int i = 0; i < MAX; i++) {
        CHECK(md_chan_create(&t, &prm, NULL) == i);
        md_media_init(&media[i], 1, 0);
    }
    md_worker_media_t w = { .table = &t, .media = media, .events = &ring,
                            .isa = md_cpu_default_isa() };
    md_media_strip_dtmf(&media[0], 1);
    CHECK(media[0].strip_dtmf == 1);
    CHECK(md_media_bridge(&w, 0, 1) == 0);

    /* A's signal: a vowel-like 150 Hz sound with harmonics, and the digits 6 and # (90 ms
     * each) starting at samples 2000 and 6000. tone[i] marks the tone's samples. */
    static int16_t sig[FRAMES * 160];
    static uint8_t tone[FRAMES * 160];
    for (int i = 0; i < FRAMES * 160; i++) {
        double v = 0;
        for (int h = 1; h <= 6; h++)
            v += 1500.0 / h * sin(2 * M_PI * 150 * h * i / 8000.0);
        sig[i] = (int16_t)lrint(v);
    }
    int16_t d6[720], dh[720];
    md_tone_dial(d6, 720, "6", -8, 0, 90, 0);
    md_tone_dial(dh, 720, "#", -8, 0, 90, 0);
    for (int i = 0; i < 720; i++) {
        sig[2000 + i] = d6[i];
        tone[2000 + i] = 1;
        sig[6000 + i] = dh[i];
        tone[6000 + i] = 1;
    }

    static int16_t a_pcm[FRAMES + 10][160], b_out[FRAMES + 10][160];
    int16_t silence[160];
    memset(silence, 0, sizeof(silence));
    for (int f = 0; f < FRAMES + 10; f++) {
        if (f < FRAMES) {
            send(&chans[0], 1, (uint16_t)f, sig + f * 160, (uint64_t)f * 160);
            send(&chans[1], 2, (uint16_t)f, silence, (uint64_t)f * 160);
        }
        md_media_tick(&w, (uint64_t)f * 20);
        memcpy(a_pcm[f], media[0].pcm, sizeof(a_pcm[f]));
        memcpy(b_out[f], media[1].out, sizeof(b_out[f]));
    }

    /* Where A's decoded audio starts: the tick whose frame is RTP frame 0. */
    int off = -1;
    for (int f = 0; f < 10 && off < 0; f++) {
        int same = 1;
        for (int i = 0; i < 160; i++)
            same &= a_pcm[f][i] == md_ulaw_decode1(md_ulaw_encode1(sig[i]));
        if (same && a_pcm[f][5] != 0)
            off = f;
    }
    CHECKF(off >= 1 && off <= 4, "A's audio starts at tick %d", off);

    /* B hears A's audio MD_STRIP_DELAY ticks later, tones silenced. */
    int leaked = 0, lost = 0, silenced = 0;
    for (int k = 0; k < (FRAMES - 1) * 160; k++) {
        int tick = off + k / 160 + MD_STRIP_DELAY;
        if (tick >= FRAMES + 10)
            break;
        int16_t got = b_out[tick][k % 160];
        int16_t want = md_ulaw_decode1(md_ulaw_encode1(sig[k]));
        if (tone[k])
            leaked += got != 0;
        else if (got == 0 && want != 0)
            silenced++;
        else
            lost += got != want;
    }
    CHECKF(leaked == 0, "%d tone samples leaked to the bridge", leaked);
    CHECKF(lost == 0, "%d samples of speech altered", lost);
    /* The mute may take a little speech around each tone (10 ms margin plus the start/end
     * estimates), never much. */
    CHECKF(silenced < 2 * 400, "%d speech samples silenced", silenced);

    char digits[4] = "";
    int n = 0;
    md_event_t ev;
    while (md_event_pop(&ring, &ev))
        if (ev.type == MD_EV_DIGIT && n < 3)
            digits[n++] = ev.digit;
    CHECKF(strcmp(digits, "6#") == 0, "digits '%s'", digits);
    return check_summary("strip");
}
