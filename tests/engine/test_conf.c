/* Conferences (engine/conf.h): who hears whom, checked by Goertzel on every member's
 * output with a distinct tone per party (multiples of 50 Hz: whole cycles in a 160-sample
 * frame, so the bins do not leak into each other and "not heard" is exactly zero when the
 * frames are fed directly).
 *
 * Part 1 feeds decoded frames directly (md_media_t.pcm) and runs md_conf_tick(): N-1,
 * mute, deaf, gains, K loudest, talking events with hangover, the conference prompt and
 * a 1,000-member conference with K = 3 checked sample by sample.
 * Part 2 goes through md_cmd_exec() and md_media_tick() with RTP (G.711): a caller
 * bridged to an agent becomes a conference when a supervisor joins (listen, whisper,
 * barge with the beep), hold with music and an announcement, back to a bridge, and the
 * commands' errors. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "dsp/g711.h"
#include "dsp/mixer.h"
#include "dsp/wav.h"
#include "engine/cmd.h"
#include "engine/conf.h"
#include "engine/media.h"
#include "tests/check.h"

#define MAXCH 1024
#define MAXCONF 8

static md_channel_t chans[MAXCH];
static md_media_t media[MAXCH];
static md_conf_member_t members[MAXCH];
static md_conf_t confs[MAXCONF];
static md_conf_set_t cs;
static md_chan_table_t t;
static md_event_ring_t ring;
static md_worker_media_t w;

/* Amplitude of the f Hz component of a frame (Goertzel, 2|X|/N). */
static double amp(const int16_t *x, double f)
{
    double c = 2 * cos(2 * M_PI * f / 8000.0), s1 = 0, s2 = 0;
    for (int i = 0; i < MD_FRAME; i++) {
        double s0 = x[i] + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    double p = s1 * s1 + s2 * s2 - c * s1 * s2;
    return 2 * sqrt(p > 0 ? p : 0) / MD_FRAME;
}

static void tone(int16_t *x, double f, double a, long frame)
{
    for (int i = 0; i < MD_FRAME; i++)
        x[i] = (int16_t)lrint(a * sin(2 * M_PI * f * (double)(frame * MD_FRAME + i) / 8000.0));
}

static void setup(unsigned n, int inband)
{
    md_event_ring_init(&ring);
    md_chan_table_init(&t, chans, MAXCH, 30000);
    md_conf_set_init(&cs, confs, MAXCONF, members, MAXCH);
    md_chan_params_t prm = { .codec = MD_CODEC_PCMU, .pt = 0, .event_pt = 101, .jb_depth = 2,
                             .learn = 1 };
    for (unsigned i = 0; i < n; i++) {
        CHECK(md_chan_create(&t, &prm, NULL) == (int)i);
        md_media_init(&media[i], inband, 0);
    }
    w = (md_worker_media_t){ .table = &t, .media = media, .events = &ring,
                             .isa = md_cpu_default_isa(), .conf = &cs };
}

/* One direct tick: members' pcm already set. */
static void dtick(unsigned n, uint64_t now)
{
    for (unsigned i = 0; i < n; i++)
        media[i].have_out = 0;
    md_conf_tick(&w, now);
}

#define HEARD 1000.0
#define SILENT 1.0

/* ---------------- part 1: direct frames ---------------- */

static const double F[] = { 500, 700, 900, 1100, 1700, 2100 };

static void test_n_minus_1_mute_deaf_gains(void)
{
    setup(4, 0);
    int c = md_conf_create(&cs, 8, 0, NULL);
    CHECK(c == 0);
    for (uint32_t i = 0; i < 4; i++)
        CHECK(md_conf_add(&w, &cs, 0, i, MD_CONF_ROLE_PARTY, 0, 0, 0, 0, 0) == 0);
    CHECK(md_conf_add(&w, &cs, 0, 2, MD_CONF_ROLE_PARTY, 0, 0, 0, 0, 0) == -EBUSY);

    /* Plain N-1: everyone hears the three others, not itself, sample-exact. */
    for (long f = 0; f < 5; f++) {
        for (int i = 0; i < 4; i++)
            tone(media[i].pcm, F[i], 4000, f);
        dtick(4, (uint64_t)f * 20);
    }
    for (int i = 0; i < 4; i++) {
        CHECK(media[i].have_out);
        for (int j = 0; j < 4; j++) {
            double a = amp(media[i].out, F[j]);
            if (i == j)
                CHECKF(a < SILENT, "member %d hears itself (%.1f)", i, a);
            else
                CHECKF(fabs(a - 4000) < 5, "member %d hears %d at %.1f", i, j, a);
        }
        int bad = 0;
        for (int n = 0; n < MD_FRAME; n++) {
            int32_t sum = 0;
            for (int j = 0; j < 4; j++)
                sum += j == i ? 0 : media[j].pcm[n];
            bad += media[i].out[n] != (int16_t)(sum > 32767 ? 32767 : sum < -32768 ? -32768 : sum);
        }
        CHECKF(bad == 0, "member %d: %d samples differ from the N-1 sum", i, bad);
    }

    /* Member 1 muted, member 2 deaf, member 0 at -6 dB in, member 3 at +6 dB out. */
    CHECK(md_conf_set(&cs, 1, MD_CONF_ROLE_PARTY, 0, 0, MD_CONF_MUTE, 0, 0, 0, NULL) == 0);
    CHECK(md_conf_set(&cs, 2, MD_CONF_ROLE_PARTY, 0, 0, MD_CONF_DEAF, 0, 0, 0, NULL) == 0);
    CHECK(md_conf_set(&cs, 0, MD_CONF_ROLE_PARTY, 0, 0, 0, -6, 0, 0, NULL) == 0);
    CHECK(md_conf_set(&cs, 3, MD_CONF_ROLE_PARTY, 0, 0, 0, 0, 6, 0, NULL) == 0);
    CHECK(md_conf_set(&cs, 3, MD_CONF_ROLE_PARTY, 0, 0, 0, 0, 19, 0, NULL) == -EINVAL);
    CHECK(md_conf_set(&cs, 3, MD_CONF_ROLE_PARTY, 0, 0, 0x80, 0, 0, 0, NULL) == -EINVAL);
    CHECK(md_conf_set(&cs, 3, MD_CONF_ROLE_PARTY, 0, 0, MD_CONF_HOLD, 0, 0, 0, NULL) == -EINVAL);
    for (long f = 5; f < 10; f++) {
        for (int i = 0; i < 4; i++)
            tone(media[i].pcm, F[i], 4000, f);
        dtick(4, (uint64_t)f * 20);
    }
    double g6 = 4000 * pow(10, -6 / 20.0), o6 = pow(10, 6 / 20.0);
    /* 0 hears 2 and 3 but not the muted 1. */
    CHECK(amp(media[0].out, F[1]) < SILENT && fabs(amp(media[0].out, F[2]) - 4000) < 5 &&
          fabs(amp(media[0].out, F[3]) - 4000) < 5);
    /* 1 (muted) still hears 0 at -6 dB, 2 and 3. */
    CHECKF(fabs(amp(media[1].out, F[0]) - g6) < 5, "%.1f", amp(media[1].out, F[0]));
    CHECK(fabs(amp(media[1].out, F[2]) - 4000) < 5 && fabs(amp(media[1].out, F[3]) - 4000) < 5);
    /* 2 (deaf) hears nothing at all, but is heard. */
    int nz = 0;
    for (int n = 0; n < MD_FRAME; n++)
        nz += media[2].out[n] != 0;
    CHECK(media[2].have_out && nz == 0);
    /* 3 hears 0 (-6 dB in, +6 dB out), 2 at +6 dB, not 1. */
    CHECKF(fabs(amp(media[3].out, F[0]) - g6 * o6) < 8, "%.1f", amp(media[3].out, F[0]));
    CHECKF(fabs(amp(media[3].out, F[2]) - 4000 * o6) < 8, "%.1f", amp(media[3].out, F[2]));
    CHECK(amp(media[3].out, F[1]) < SILENT && amp(media[3].out, F[3]) < SILENT);

    /* Removing a member: the others stop hearing it, it gets no conference audio. */
    md_conf_remove(&cs, 3);
    CHECK(md_conf_of(&cs, 3) == -1 && confs[0].n == 3);
    dtick(4, 200);
    CHECK(!media[3].have_out && amp(media[0].out, F[3]) < SILENT);
    md_conf_delete(&w, &cs, 0);
    dtick(4, 220);
    CHECK(!media[0].have_out && md_conf_of(&cs, 0) == -1);
}

/* K loudest in a conference of 6, k = 3, and the talking events with their hangover. */
static void test_k_loudest_and_talking(void)
{
    setup(6, 0);
    int c = md_conf_create(&cs, 3, 400, NULL);
    CHECK(c == 0);
    for (uint32_t i = 0; i < 6; i++)
        CHECK(md_conf_add(&w, &cs, 0, i, MD_CONF_ROLE_PARTY, 0, 0, 0, 0, 0) == 0);
    const double level[6] = { 8000, 4000, 2000, 1000, 0, 0 };
    long f = 0;
    for (; f < 10; f++) {   /* silence: the VAD's floor */
        for (int i = 0; i < 6; i++)
            memset(media[i].pcm, 0, sizeof(media[i].pcm));
        dtick(6, (uint64_t)f * 20);
    }
    for (; f < 30; f++) {
        for (int i = 0; i < 6; i++)
            tone(media[i].pcm, F[i], level[i], f);
        dtick(6, (uint64_t)f * 20);
    }
    CHECK(confs[0].n_talkers == 3);
    /* The listeners (4, 5) and the fourth talker hear 0, 1, 2; nobody hears 3. */
    for (int i = 0; i < 6; i++) {
        for (int j = 0; j < 4; j++) {
            double a = amp(media[i].out, F[j]);
            int want = j < 3 && j != i;
            CHECKF(want ? fabs(a - level[j]) < 5 : a < SILENT, "k: member %d hears %d at %.1f", i,
                   j, a);
        }
    }
    /* 0 stops: 3 takes its place at once (0's hangover keeps it "talking" but quiet). */
    for (; f < 32; f++) {
        memset(media[0].pcm, 0, sizeof(media[0].pcm));
        for (int i = 1; i < 6; i++)
            tone(media[i].pcm, F[i], level[i], f);
        dtick(6, (uint64_t)f * 20);
    }
    CHECKF(fabs(amp(media[5].out, F[3]) - 1000) < 5, "3 heard at %.1f", amp(media[5].out, F[3]));
    CHECK(amp(media[5].out, F[0]) < SILENT);
    /* Silence everywhere, then check the events: 0..3 started at frame 10; 0 stopped 400
     * ms (20 frames) after its last loud frame 29, the others after 31. */
    for (; f < 60; f++) {
        for (int i = 0; i < 6; i++)
            memset(media[i].pcm, 0, sizeof(media[i].pcm));
        dtick(6, (uint64_t)f * 20);
    }
    md_event_t ev;
    int start[6], stop[6], nstart = 0, nstop = 0;
    for (int i = 0; i < 6; i++)
        start[i] = stop[i] = -1;
    /* One start and one stop each for the four talkers (timing checked below). */
    while (md_event_pop(&ring, &ev)) {
        CHECK(ev.conf == confs[0].id);
        if (ev.type == MD_EV_TALKING_START) {
            nstart++;
            start[ev.slot] = 1;
        } else if (ev.type == MD_EV_TALKING_STOP) {
            nstop++;
            stop[ev.slot] = 1;
        }
    }
    CHECK(nstart == 4 && nstop == 4 && start[3] == 1 && stop[3] == 1 && start[4] == -1);

    /* Timing: member 1 talks for frames 60..79 (400 ms); START in the tick of frame 60,
     * STOP 20 frames after its last loud frame 79, in the tick of frame 99. */
    int t_start = -1, t_stop = -1;
    for (; f < 130; f++) {
        for (int i = 0; i < 6; i++)
            memset(media[i].pcm, 0, sizeof(media[i].pcm));
        if (f >= 60 && f < 80)
            tone(media[1].pcm, F[1], 3000, f);
        dtick(6, (uint64_t)f * 20);
        while (md_event_pop(&ring, &ev)) {
            CHECK(ev.slot == 1 && ev.channel == chans[1].id);
            if (ev.type == MD_EV_TALKING_START)
                t_start = (int)f;
            if (ev.type == MD_EV_TALKING_STOP)
                t_stop = (int)f;
        }
    }
    CHECKF(t_start == 60 && t_stop == 100, "talking %d..%d", t_start, t_stop);
}

/* The conference prompt: everyone but the deaf hears it; one done event. */
static void test_conf_prompt(void)
{
    setup(3, 0);
    static int16_t pp[8 * MD_FRAME];
    for (int i = 0; i < 8 * MD_FRAME; i++)
        pp[i] = (int16_t)lrint(3000 * sin(2 * M_PI * 3000 * i / 8000.0));
    md_prompt_t p = { .name = "notice", .pcm = pp, .samples = 8 * MD_FRAME };
    int c = md_conf_create(&cs, 0, 0, NULL);
    for (uint32_t i = 0; i < 3; i++)
        CHECK(md_conf_add(&w, &cs, (uint32_t)c, i, MD_CONF_ROLE_PARTY, 0, 0,
                          i == 2 ? MD_CONF_DEAF : 0, 0, 0) == 0);
    CHECK(md_conf_play(&cs, (uint32_t)c, &p, 2, 40, 7) == -EINVAL);
    CHECK(md_conf_play(&cs, (uint32_t)c, &p, 2, -6, 7) == 0);
    int heard = 0, done = 0, done_at = -1;
    for (long f = 0; f < 20; f++) {
        for (int i = 0; i < 3; i++)
            tone(media[i].pcm, F[i], 2000, f);
        dtick(3, (uint64_t)f * 20);
        double a0 = amp(media[0].out, 3000), a2 = amp(media[2].out, 3000);
        if (f < 16)
            heard += fabs(a0 - 3000 * pow(10, -6 / 20.0)) < 5 && a2 < SILENT &&
                     fabs(amp(media[0].out, F[1]) - 2000) < 5;
        else
            CHECK(a0 < SILENT);
        md_event_t ev;
        while (md_event_pop(&ring, &ev))
            if (ev.type == MD_EV_CONF_PROMPT_DONE) {
                done++;
                done_at = (int)f;
                CHECK(ev.tag == 7 && ev.conf == confs[c].id);
            }
    }
    CHECKF(heard == 16 && done == 1 && done_at == 15, "heard %d done %d at %d", heard, done,
           done_at);
}

/* 1,000 members, K = 3: five talk at distinct levels, the three loudest are mixed; every
 * member's frame is checked sample by sample; the common frame is mixed once. */
static void test_thousand(void)
{
    enum { N = 1000 };
    setup(N, 0);
    int c = md_conf_create(&cs, 3, 0, NULL);
    for (uint32_t i = 0; i < N; i++)
        CHECK(md_conf_add(&w, &cs, (uint32_t)c, i, MD_CONF_ROLE_PARTY, 0, 0, 0, 0, 0) == 0);
    const uint32_t who[5] = { 17, 400, 999, 3, 512 };
    const double lv[5] = { 9000, 6000, 3000, 1500, 700 };
    long f;
    for (f = 0; f < 5; f++) {
        for (int i = 0; i < N; i++)
            memset(media[i].pcm, 0, sizeof(media[i].pcm));
        dtick(N, (uint64_t)f * 20);
    }
    uint64_t copies0 = 0, mixes0 = 0, own0 = 0;
    for (; f < 15; f++) {
        for (int k = 0; k < 5; k++)
            tone(media[who[k]].pcm, F[k], lv[k], f);
        copies0 = confs[c].copies;
        mixes0 = confs[c].mask_mixes;
        own0 = confs[c].own_mixes;
        dtick(N, (uint64_t)f * 20);
    }
    CHECKF(confs[c].copies - copies0 == N - 3 && confs[c].mask_mixes - mixes0 == 1 &&
               confs[c].own_mixes - own0 == 3,
           "copies %llu mask mixes %llu own %llu", (unsigned long long)(confs[c].copies - copies0),
           (unsigned long long)(confs[c].mask_mixes - mixes0),
           (unsigned long long)(confs[c].own_mixes - own0));
    int bad = 0;
    for (int i = 0; i < N; i++) {
        for (int n = 0; n < MD_FRAME; n++) {
            int32_t sum = 0;
            for (int k = 0; k < 3; k++)
                sum += who[k] == (uint32_t)i ? 0 : media[who[k]].pcm[n];
            sum = sum > 32767 ? 32767 : sum < -32768 ? -32768 : sum;
            bad += media[i].out[n] != sum;
        }
    }
    CHECKF(bad == 0, "1000 members: %d samples differ", bad);

    /* The common frame is encoded once per law for the 997 members who hear it
     * unmodified; the three mixed talkers (their own voice taken out) have their own. */
    uint64_t enc0 = confs[c].shared_encodes;
    int shared = 0, wrong = 0, mixed_shared = 0;
    for (int i = 0; i < N; i++) {
        int mixed = i == 17 || i == 400 || i == 999;
        if (media[i].conf_share == 0)
            continue;
        shared++;
        mixed_shared += mixed;
        for (int alaw = 0; alaw < 2; alaw++) {
            uint8_t want[MD_FRAME];
            if (alaw)
                md_alaw_encode(want, media[i].out, MD_FRAME);
            else
                md_ulaw_encode(want, media[i].out, MD_FRAME);
            const uint8_t *got = md_conf_shared_payload(&cs, (uint32_t)i, media[i].conf_share, alaw,
                                                        media[i].out);
            wrong += got == NULL || memcmp(got, want, MD_FRAME) != 0;
        }
    }
    CHECKF(shared == N - 3 && mixed_shared == 0 && wrong == 0,
           "shared frames: %d members (want %d), %d mixed talkers among them, %d wrong payloads",
           shared, N - 3, mixed_shared, wrong);
    CHECKF(confs[c].shared_encodes - enc0 == 2, "%llu shared encodes (want one per law)",
           (unsigned long long)(confs[c].shared_encodes - enc0));
    /* A member that left has no shared frame any more: the worker encodes its own. */
    uint8_t share5 = media[5].conf_share;
    md_conf_remove(&cs, 5);
    CHECK(md_conf_shared_payload(&cs, 5, share5, 0, media[5].out) == NULL);

    CHECK(amp(media[0].out, F[0]) > HEARD && amp(media[0].out, F[3]) < SILENT &&
          amp(media[0].out, F[4]) < SILENT && amp(media[17].out, F[0]) < SILENT);
    md_event_t ev;
    int starts = 0;
    while (md_event_pop(&ring, &ev))
        starts += ev.type == MD_EV_TALKING_START;
    CHECK(starts == 5);
}

/* ---------------- part 2: commands, RTP and the whole tick ---------------- */

static void send(uint32_t slot, uint16_t seq, const int16_t *pcm)
{
    uint8_t buf[12 + 160];
    md_pkt_t p;
    md_4733_digit_t d[2];
    int nd;
    memset(&p, 0, sizeof(p));
    p.ip_version = 4;
    p.src[0] = 10;
    p.src[3] = (uint8_t)(slot + 1);
    p.sport = 4000;
    md_rtp_write(buf, 0, 0, seq, (uint32_t)seq * 160, slot + 1);
    md_ulaw_encode(buf + 12, pcm, 160);
    md_chan_receive(&chans[slot], &p, 0, buf, sizeof(buf), (uint64_t)seq * 160, d, &nd);
}

static int cmd(md_cmd_t c, md_cmd_reply_t *out)
{
    md_cmd_reply_t r;
    md_cmd_exec(&w, &c, &r);
    if (out)
        *out = r;
    return r.status;
}

static md_cmd_t chan_cmd(md_cmd_type_t type, uint32_t slot)
{
    return (md_cmd_t){ .type = type, .slot = slot, .id = chans[slot].id };
}

enum { CALLER, AGENT, SUP, OTHER };
static const double PF[4] = { 500, 900, 1700, 2100 };   /* caller, agent, supervisor, other */
static uint16_t seq;

/* Runs n ticks with every party sending its tone; the last tick's outputs stay. */
static void run(int n)
{
    for (int k = 0; k < n; k++, seq++) {
        for (uint32_t i = 0; i < 4; i++) {
            int16_t x[MD_FRAME];
            tone(x, PF[i], 5000, seq);
            send(i, seq, x);
        }
        md_media_tick(&w, (uint64_t)seq * 20);
    }
}

/* The parties heard in a member's output, as a bit set (0x100: it sends nothing). */
static unsigned hears(uint32_t slot)
{
    unsigned set = 0;
    if (!media[slot].have_out)
        return 0x100;
    for (int i = 0; i < 4; i++) {
        double a = amp(media[slot].out, PF[i]);
        if (a > HEARD)
            set |= 1u << i;
        else
            CHECKF(a < 150, "slot %u: party %d at %.1f (neither heard nor silent)", slot, i, a);
    }
    return set;
}

#define B(x) (1u << (x))

static void test_supervisor_and_hold(void)
{
    setup(4, 0);
    md_cmd_reply_t r;
    static int16_t music_pcm[188 * 32]   /* 188 whole cycles: loops without a click */, ann_pcm[10 * MD_FRAME];
    for (size_t i = 0; i < sizeof(music_pcm) / 2; i++)
        music_pcm[i] = (int16_t)lrint(4000 * sin(2 * M_PI * 250 * (double)i / 8000.0));
    for (size_t i = 0; i < sizeof(ann_pcm) / 2; i++)
        ann_pcm[i] = (int16_t)lrint(6000 * sin(2 * M_PI * 3000 * (double)i / 8000.0));
    md_prompt_t music = { .name = "moh", .pcm = music_pcm, .samples = sizeof(music_pcm) / 2 };
    md_prompt_t ann = { .name = "pos", .pcm = ann_pcm, .samples = sizeof(ann_pcm) / 2 };

    /* A caller bridged to an agent. */
    md_cmd_t b = chan_cmd(MD_CMD_BRIDGE, CALLER);
    b.slot2 = AGENT;
    b.id2 = chans[AGENT].id;
    CHECK(cmd(b, NULL) == 0);
    run(5);
    CHECK(hears(CALLER) == B(AGENT) && hears(AGENT) == B(CALLER));

    /* Errors before the conference exists. */
    md_cmd_t a = chan_cmd(MD_CMD_CONF_ADD, SUP);
    a.conf.slot = 0;
    a.conf.id = 1;
    CHECK(cmd(a, NULL) == -ENOENT);   /* no conference */
    md_cmd_t fb = b;
    fb.type = MD_CMD_CONF_FROM_BRIDGE;
    fb.slot2 = SUP;
    fb.id2 = chans[SUP].id;
    CHECK(cmd(fb, NULL) == -EINVAL);  /* not bridged to each other */
    fb.slot2 = AGENT;
    fb.id2 = chans[AGENT].id + 99;
    CHECK(cmd(fb, NULL) == -ENOENT);

    /* The supervisor joins: the bridge becomes a conference, the supervisor listens. */
    fb.id2 = chans[AGENT].id;
    CHECK(cmd(fb, &r) == 0 && r.conf.members == 2 && r.conf.id != 0);
    uint32_t cslot = r.conf.slot, cid = r.conf.id;
    CHECK(media[CALLER].bridge == -1 && media[AGENT].bridge == -1);
    a.conf.slot = cslot;
    a.conf.id = cid;
    a.conf.role = MD_CONF_ROLE_LISTEN;
    CHECK(cmd(a, NULL) == 0);
    CHECK(cmd(a, NULL) == -EBUSY);    /* already a member */
    md_cmd_t a2 = a;
    a2.slot = OTHER;
    a2.id = chans[OTHER].id;
    a2.conf.role = 77;
    CHECK(cmd(a2, NULL) == -EINVAL);  /* bad role */
    md_cmd_t bb = chan_cmd(MD_CMD_BRIDGE, OTHER);
    bb.slot2 = SUP;
    bb.id2 = chans[SUP].id;
    CHECK(cmd(bb, NULL) == -EBUSY);   /* bridging a member */
    run(5);
    CHECKF(hears(CALLER) == B(AGENT) && hears(AGENT) == B(CALLER) &&
               hears(SUP) == (B(CALLER) | B(AGENT)),
           "listen: %x %x %x", hears(CALLER), hears(AGENT), hears(SUP));

    /* Whisper: the agent hears the supervisor, the caller does not. */
    md_cmd_t set = chan_cmd(MD_CMD_CONF_SET, SUP);
    set.conf.slot = cslot;
    set.conf.id = cid;
    set.conf.role = MD_CONF_ROLE_WHISPER;
    CHECK(cmd(set, NULL) == 0);
    run(3);
    CHECKF(hears(CALLER) == B(AGENT) && hears(AGENT) == (B(CALLER) | B(SUP)) &&
               hears(SUP) == (B(CALLER) | B(AGENT)),
           "whisper: %x %x %x", hears(CALLER), hears(AGENT), hears(SUP));

    /* Barge with the beep: three-way; the agent alone hears 1400 Hz for 200 ms. */
    set.conf.role = MD_CONF_ROLE_BARGE;
    set.conf.beep = 1;
    CHECK(cmd(set, NULL) == 0);
    int beeps = 0, caller_beeps = 0;
    for (int k = 0; k < 15; k++) {
        run(1);
        beeps += amp(media[AGENT].out, MD_CONF_BEEP_HZ) > 1000;
        caller_beeps += amp(media[CALLER].out, MD_CONF_BEEP_HZ) > 100;
    }
    CHECKF(beeps == MD_CONF_BEEP_MS / 20 && caller_beeps == 0, "beep frames %d / %d", beeps,
           caller_beeps);
    CHECKF(hears(CALLER) == (B(AGENT) | B(SUP)) && hears(AGENT) == (B(CALLER) | B(SUP)) &&
               hears(SUP) == (B(CALLER) | B(AGENT)),
           "barge: %x %x %x", hears(CALLER), hears(AGENT), hears(SUP));

    /* Back to listen: nobody hears the supervisor again. */
    set.conf.role = MD_CONF_ROLE_LISTEN;
    set.conf.beep = 0;
    CHECK(cmd(set, NULL) == 0);
    run(3);
    CHECK(hears(CALLER) == B(AGENT) && hears(AGENT) == B(CALLER));

    /* Hold the caller: music (looping past its end), an announcement over it; the agent
     * and the supervisor go on talking to each other. */
    md_cmd_t hold = chan_cmd(MD_CMD_CONF_SET, CALLER);
    hold.conf.slot = cslot;
    hold.conf.id = cid;
    hold.conf.role = MD_CONF_ROLE_PARTY;
    hold.conf.flags = MD_CONF_HOLD;
    CHECK(cmd(hold, NULL) == -EINVAL);   /* no music */
    hold.items[0].prompt = &music;
    hold.n_items = 1;
    CHECK(cmd(hold, NULL) == 0);
    set.conf.role = MD_CONF_ROLE_BARGE;
    CHECK(cmd(set, NULL) == 0);
    int music_ok = 0, ann_frames = 0;
    md_event_t ev;
    while (md_event_pop(&ring, &ev))
        ;
    for (int k = 0; k < 60; k++) {
        if (k == 20) {
            md_cmd_t pl = chan_cmd(MD_CMD_CONF_PLAY, CALLER);
            pl.conf.slot = cslot;
            pl.conf.id = cid;
            pl.conf.member = 1;
            pl.items[0].prompt = &ann;
            pl.n_items = 1;
            pl.gain_db = -6;
            pl.tag = 42;
            CHECK(cmd(pl, NULL) == 0);
        }
        run(1);
        unsigned h = hears(CALLER);
        music_ok += h == 0 && amp(media[CALLER].out, 250) > 1000;
        ann_frames += amp(media[CALLER].out, 3000) > 1000;
        CHECK(hears(AGENT) == B(SUP) && hears(SUP) == B(AGENT));
    }
    CHECKF(music_ok >= 58 && ann_frames == 10, "music %d announcement %d", music_ok, ann_frames);
    int done = 0;
    while (md_event_pop(&ring, &ev))
        done += ev.type == MD_EV_PROMPT_DONE && ev.tag == 42 && ev.slot == CALLER;
    CHECK(done == 1);

    /* Off hold, the supervisor leaves, the conference becomes a bridge again. */
    hold.conf.flags = 0;
    CHECK(cmd(hold, NULL) == 0);
    md_cmd_t del = { .type = MD_CMD_CONF_DELETE, .conf = { .slot = cslot, .id = cid,
                                                           .rebridge = 1 } };
    CHECK(cmd(del, NULL) == -EINVAL);    /* three members */
    md_cmd_t rm = chan_cmd(MD_CMD_CONF_REMOVE, SUP);
    rm.conf.slot = cslot;
    rm.conf.id = cid + 1;
    CHECK(cmd(rm, NULL) == -ENOENT);
    rm.conf.id = cid;
    CHECK(cmd(rm, NULL) == 0);
    CHECK(cmd(rm, NULL) == -ENOENT);     /* no longer a member */
    md_cmd_t get = { .type = MD_CMD_CONF_GET, .conf = { .slot = cslot, .id = cid } };
    CHECK(cmd(get, &r) == 0 && r.conf.members == 2);
    CHECK(cmd(del, NULL) == 0);
    CHECK(cmd(get, NULL) == -ENOENT);
    CHECK(media[CALLER].bridge == AGENT && media[AGENT].bridge == CALLER);
    run(3);
    CHECK(hears(CALLER) == B(AGENT) && hears(AGENT) == B(CALLER) && hears(SUP) == 0x100);

    /* -ENOSPC when every conference is in use; deleting a channel leaves its conference. */
    md_cmd_t cr = { .type = MD_CMD_CONF_CREATE };
    int made = 0;
    md_cmd_reply_t last;
    while (cmd(cr, &r) == 0) {
        made++;
        last = r;
    }
    r = last;
    CHECK(made == MAXCONF && cmd(cr, NULL) == -ENOSPC);
    cr.conf.k = MD_CONF_K_MAX + 1;
    CHECK(cmd(cr, NULL) == -EINVAL);
    a.conf.slot = r.conf.slot;   /* the last one made */
    a.conf.id = r.conf.id;
    a.slot = OTHER;
    a.id = chans[OTHER].id;
    a.conf.role = MD_CONF_ROLE_PARTY;
    CHECK(cmd(a, NULL) == 0);
    CHECK(cmd(chan_cmd(MD_CMD_DELETE, OTHER), NULL) == 0);
    CHECK(md_conf_of(&cs, OTHER) == -1 && confs[r.conf.slot].n == 0);

    /* A worker without conference state. */
    w.conf = NULL;
    CHECK(cmd(get, NULL) == -ENOTSUP);
    w.conf = &cs;
}

/* The conference mix as a recording: caller and agent (and a whisper), not a listening
 * supervisor; sample-exact in PCM16. */
static void test_record(void)
{
    char dir[] = "/tmp/medley-conf-XXXXXX", err[256] = "";
    CHECK(mkdtemp(dir) != NULL);
    md_recorder_config_t cfg = { .dir = dir, .max_recordings = 4, .n_producers = 1,
                                 .buffer_bytes = 1 << 20 };
    md_recorder_t *rec = NULL;
    CHECKF(md_recorder_create(&rec, &cfg, err, sizeof(err)) == 0, "%s", err);
    if (rec == NULL)
        return;
    setup(4, 0);
    w.rec = rec;
    md_rec_id_t id;
    CHECKF(md_recorder_open(rec, 0, "conf.wav", MD_WAV_PCM16, 1, &id, err, sizeof(err)) == 0,
           "%s", err);
    int c = md_conf_create(&cs, 0, 0, NULL);
    const md_conf_role_t roles[4] = { MD_CONF_ROLE_PARTY, MD_CONF_ROLE_AGENT,
                                      MD_CONF_ROLE_LISTEN, MD_CONF_ROLE_WHISPER };
    for (uint32_t i = 0; i < 4; i++)
        CHECK(md_conf_add(&w, &cs, (uint32_t)c, i, roles[i], 0, 0, 0, 0, 0) == 0);
    md_conf_record(&cs, (uint32_t)c, id, 0);
    enum { TICKS = 50 };
    static int16_t want[TICKS * MD_FRAME];
    for (long f = 0; f < TICKS; f++) {
        for (int i = 0; i < 4; i++)
            tone(media[i].pcm, F[i], 3000, f);
        dtick(4, (uint64_t)f * 20);
        for (int n = 0; n < MD_FRAME; n++)
            want[f * MD_FRAME + n] = (int16_t)(media[0].pcm[n] + media[1].pcm[n] + media[3].pcm[n]);
    }
    CHECK(md_recorder_stop(rec, id) == 0);
    md_rec_event_t ev;
    int ended = 0;
    for (int k = 0; k < 5000 && !ended; k++) {
        while (md_recorder_poll_event(rec, &ev))
            ended |= ev.id == id;
        if (!ended)
            usleep(1000);
    }
    CHECK(ended);
    md_recorder_destroy(rec);
    char path[128];
    snprintf(path, sizeof(path), "%s/conf.wav", dir);
    md_wav_info_t info;
    int16_t *pcm = NULL;
    CHECKF(md_wav_read(path, &info, &pcm, err, sizeof(err)) == 0, "%s", err);
    if (pcm != NULL) {
        CHECKF(info.frames == TICKS * MD_FRAME && info.channels == 1, "frames %zu", info.frames);
        CHECK(memcmp(pcm, want, sizeof(want)) == 0);
        CHECK(amp(pcm + 10 * MD_FRAME, F[2]) < SILENT && amp(pcm + 10 * MD_FRAME, F[3]) > HEARD);
    }
    free(pcm);
    unlink(path);
    rmdir(dir);
    w.rec = NULL;
}

/* ---------------- part 3: the tick spread over 1 ms slots ---------------- */

/* A conference whose members tick in four different slots (the conference itself in slot
 * 0, like member 0), and a bridge across two slots: run slot by slot as the worker does,
 * every channel must tick exactly once per 20 ms, and each member's output, taken right
 * after its own slot, must hold exactly the three others every period; each bridged leg
 * must hear the other. */
static void test_slots(void)
{
    setup(6, 0);
    CHECK(md_conf_create(&cs, 8, 0, NULL) == 0);
    for (uint32_t i = 0; i < 4; i++)
        CHECK(md_conf_add(&w, &cs, 0, i, MD_CONF_ROLE_PARTY, 0, 0, 0, 0, 0) == 0);
    md_cmd_t b = chan_cmd(MD_CMD_BRIDGE, 4);
    b.slot2 = 5;
    b.id2 = chans[5].id;
    CHECK(cmd(b, NULL) == 0);
    static const double BF[2] = { 300, 2500 };
    int bad_members = 0, bad_bridge = 0, bad_count = 0;
    for (int period = 0; period < 12; period++, seq++) {
        for (uint32_t i = 0; i < 6; i++) {
            int16_t x[MD_FRAME];
            tone(x, i < 4 ? PF[i] : BF[i - 4], 5000, seq);
            send(i, seq, x);
        }
        uint64_t frames0[6];
        for (int i = 0; i < 6; i++)
            frames0[i] = media[i].frames;
        for (unsigned s = 0; s < MD_TICK_SLOTS; s++) {
            md_media_tick_in_slot(&w, (uint64_t)seq * 20 + s, s, MD_TICK_SLOTS);
            for (uint32_t i = s; i < 6; i += MD_TICK_SLOTS) {
                md_media_tick_out(&w, i);
                if (period < 4)
                    continue;   /* jitter buffer and first mixes */
                if (i < 4) {
                    unsigned want = (B(CALLER) | B(AGENT) | B(SUP) | B(OTHER)) & ~B(i);
                    bad_members += hears(i) != want;
                } else {
                    bad_bridge += !media[i].have_out || amp(media[i].out, BF[5 - i]) < HEARD ||
                                  amp(media[i].out, BF[i - 4]) > SILENT * 150;
                }
            }
        }
        for (int i = 0; i < 6; i++)
            bad_count += media[i].frames != frames0[i] + 1;
    }
    CHECKF(bad_members == 0, "%d member outputs wrong", bad_members);
    CHECKF(bad_bridge == 0, "%d bridged outputs wrong", bad_bridge);
    CHECKF(bad_count == 0, "%d channel-periods without exactly one tick", bad_count);
}

int main(void)
{
    test_n_minus_1_mute_deaf_gains();
    test_k_loudest_and_talking();
    test_conf_prompt();
    test_thousand();
    test_supervisor_and_hold();
    test_record();
    test_slots();
    return check_summary("conf");
}
