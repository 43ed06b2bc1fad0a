/* The media tick: RTP in, audio decoded, in-band digits found across channels in one
 * batch, RFC 4733 digits (also without their end), lost frames concealed, no-media
 * events, and the event ring's limits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/g711.h"
#include "dsp/tone.h"
#include "engine/conf.h"
#include "engine/media.h"
#include "engine/prompt.h"
#include "tests/check.h"

#define MAX 3

static md_channel_t chans[MAX];
static md_media_t media[MAX];
static md_chan_table_t t;
static md_event_ring_t ring;

static void send_audio(md_channel_t *ch, uint16_t seq, const int16_t *pcm, uint64_t now)
{
    uint8_t buf[12 + 160];
    md_pkt_t p;
    md_4733_digit_t d[2];
    int nd;
    memset(&p, 0, sizeof(p));
    p.ip_version = 4;
    p.src[0] = 10;
    p.src[3] = 1;
    p.sport = 4000;
    md_rtp_write(buf, 0, 0, seq, (uint32_t)seq * 160, 0x1234);
    md_ulaw_encode(buf + 12, pcm, 160);
    md_chan_receive(ch, &p, 0, buf, sizeof(buf), now, d, &nd);
}

/* The concealer's history is given only when a loss comes (media.c plc_history): what a
 * channel plays must be, sample for sample, what SpanDSP's concealer fed every frame gives,
 * for single losses, bursts, a loss right after the first frame and one after a
 * concealment. */
static int16_t lazy_played[160];
static int16_t lazy_scratch[MD_TICK_BATCH][MD_FRAME];

/* The batched tick's out(): the one channel's frame, from its pcm or, when it went to
 * the scratch, from the batch's first row. */
static void lazy_out(void *arg, const uint32_t *slots, unsigned n)
{
    md_worker_media_t *w = arg;
    CHECK(n == 1 && slots[0] == 0);
    const md_media_t *m = &w->media[0];
    memcpy(lazy_played, m->pcm_stale ? lazy_scratch[0] : m->pcm, sizeof(lazy_played));
}

static void test_lazy_plc(int batched)
{
    static md_channel_t lc[1];
    static md_media_t lm[1];
    md_chan_table_t lt;
    md_event_ring_t lr;
    md_event_ring_init(&lr);
    md_chan_table_init(&lt, lc, 1, 31000);
    md_chan_params_t prm = { .codec = MD_CODEC_PCMU, .pt = 0, .event_pt = 101, .jb_depth = 2,
                             .learn = 1 };
    CHECK(md_chan_create(&lt, &prm, NULL) == 0);
    md_media_init(&lm[0], 0, 0);
    md_worker_media_t w = { .table = &lt, .media = lm, .events = &lr,
                            .isa = md_cpu_default_isa() };
    static uint32_t deferred[1];
    if (batched) {
        /* Frames decoded into the scratch (nothing else reads them): the concealer's
         * history must then come from the jitter buffer, sample for sample the same. */
        w.out = lazy_out;
        w.out_arg = &w;
        w.deferred = deferred;
        w.scratch = lazy_scratch;
    }
    int scratch_frames = 0;
    md_plc_t ref;
    md_plc_init(&ref);
    static int16_t sent[120][160];
    static const int lost[] = { 1, 7, 8, 9, 15, 30, 31, 45, 60, 61, 62, 63, 64, 65, 80, 82, 84 };
    int compared = 0, wrong = 0, concealed = 0;
    uint64_t c0 = 0;
    uint16_t expect = 0;
    for (int f = 0; f < 120; f++) {
        for (int i = 0; i < 160; i++) {
            double tt = (f * 160 + i) / 8000.0;
            sent[f][i] = (int16_t)(6000 * sin(2 * M_PI * 190 * tt) + 2500 * sin(2 * M_PI * 410 * tt + f * 0.3));
        }
        int drop = 0;
        for (size_t k = 0; k < sizeof(lost) / sizeof(lost[0]); k++)
            drop |= lost[k] == f;
        if (!drop)
            send_audio(&lc[0], (uint16_t)f, sent[f], (uint64_t)f * 160);
        if (batched) {
            md_media_tick_in_slot(&w, (uint64_t)f * 20, 0, 1);
            scratch_frames += lm[0].pcm_stale;
        } else {
            md_media_tick(&w, (uint64_t)f * 20);
            memcpy(lazy_played, lm[0].pcm, sizeof(lazy_played));
        }
        int16_t want[160];
        if (lm[0].concealed != c0) {
            md_plc_conceal(&ref, want, 160);
            concealed++;
            expect++;
        } else if (lc[0].jb.played_any && lc[0].jb.last_played == expect) {
            uint8_t u[160];
            md_ulaw_encode(u, sent[expect], 160);
            md_ulaw_decode(want, u, 160);
            md_plc_received(&ref, want, 160);
            expect++;
        } else {
            continue;   /* still filling the jitter buffer */
        }
        c0 = lm[0].concealed;
        compared++;
        wrong += memcmp(want, lazy_played, sizeof(want)) != 0;
    }
    CHECKF(compared > 100 && concealed == (int)(sizeof(lost) / sizeof(lost[0])) && wrong == 0,
           "lazy concealer%s: %d frames compared, %d concealed, %d differ from the eager one",
           batched ? " (batched, scratch)" : "", compared, concealed, wrong);
    CHECK(batched ? scratch_frames > 80 : scratch_frames == 0);
}

/* A loss on every call at once (80 channels, frames 10 and 11 lost for all): a tick
 * starts at most md_media_conceal_budget() concealments (21 here); the other lost frames
 * are silence and counted; concealments under way go on; every lost frame is counted as
 * concealed; the calls go on normally after. */
static void test_conceal_budget(void)
{
    enum { N = 80 };
    static md_channel_t bc[N];
    static md_media_t bm[N];
    static md_chan_table_t bt;
    static md_event_ring_t br;
    md_event_ring_init(&br);
    md_chan_table_init(&bt, bc, N, 40000);
    md_chan_params_t prm = { .codec = MD_CODEC_PCMU, .pt = 0, .event_pt = 101, .jb_depth = 2,
                             .learn = 1 };
    for (int i = 0; i < N; i++) {
        CHECK(md_chan_create(&bt, &prm, NULL) == i);
        md_media_init(&bm[i], 0, 0);
    }
    md_worker_media_t w = { .table = &bt, .media = bm, .events = &br,
                            .isa = md_cpu_default_isa() };
    const uint32_t budget = md_media_conceal_budget(N, 1);
    CHECK(budget == 21);
    uint64_t silent_at[20] = { 0 };
    int plc_voiced[20] = { 0 }, zero[20] = { 0 }, pending[20] = { 0 };
    for (int f = 0; f < 20; f++) {
        int16_t tone[160];
        for (int i = 0; i < 160; i++)
            tone[i] = (int16_t)(8000 * sin(2 * M_PI * 300 * (f * 160 + i) / 8000.0));
        if (f != 10 && f != 11)
            for (int c = 0; c < N; c++)
                send_audio(&bc[c], (uint16_t)f, tone, (uint64_t)f * 160);
        md_media_tick(&w, (uint64_t)f * 20);
        silent_at[f] = w.conceal_silent;
        for (int c = 0; c < N; c++) {
            int nz = 0;
            for (int i = 0; i < 160; i++)
                nz |= bm[c].pcm[i] != 0;
            zero[f] += !nz;
            plc_voiced[f] += nz && md_plc_pending(&bm[c].plc);
            pending[f] += md_plc_pending(&bm[c].plc);
        }
    }
    /* The first lost frame's tick: 21 concealed by the concealer, 59 silent. */
    int k = 0;
    while (k < 20 && silent_at[k] == 0)
        k++;
    CHECKF(k < 19 && silent_at[k] == N - budget && zero[k] == (int)(N - budget) &&
           plc_voiced[k] == (int)budget,
           "first loss (tick %d): %llu silent, %d zero frames, %d concealed with audio", k,
           (unsigned long long)(k < 20 ? silent_at[k] : 0), k < 20 ? zero[k] : -1,
           k < 20 ? plc_voiced[k] : -1);
    /* The second: those 21 go on (free, still audio), 21 more start (from the silence
     * they played last, so silence again), 38 silent. */
    if (k < 19)
        CHECKF(silent_at[k + 1] - silent_at[k] == N - 2 * budget && pending[k + 1] == (int)(2 * budget) &&
               plc_voiced[k + 1] == (int)budget,
               "second loss: %llu silent, %d concealing, %d with audio",
               (unsigned long long)(silent_at[k + 1] - silent_at[k]), pending[k + 1], plc_voiced[k + 1]);
    uint64_t conc = 0;
    for (int c = 0; c < N; c++)
        conc += bm[c].concealed;
    CHECKF(conc == 2 * N, "%llu lost frames counted as concealed, %d expected",
           (unsigned long long)conc, 2 * N);
    CHECKF(zero[19] == 0 && silent_at[19] == silent_at[k + 1], "after the loss: %d silent channels",
           zero[19]);
}

/* A prompt with G.711 copies (md_prompt_encode_g711) is sent as those bytes, without
 * linear audio, and the bytes are exactly what encoding the linear path's frame gives:
 * channel pairs (PCMU, PCMA) play the same list (a loop that wraps mid-frame, a gap, a
 * second prompt), one member of each pair from prompts with copies and the other from
 * the same audio without; an overlay or a prompt without copies takes the linear path. */
static void test_prompt_g711(void)
{
    enum { N = 5 };
    static md_channel_t gc[N];
    static md_media_t gm[N];
    md_chan_table_t gt;
    static md_event_ring_t gr;
    md_event_ring_init(&gr);
    md_chan_table_init(&gt, gc, N, 32000);
    static int16_t a_pcm[250], b_pcm[410];
    for (int i = 0; i < 250; i++)
        a_pcm[i] = (int16_t)(7000 * sin(2 * M_PI * (250 + i) * i / 8000.0));
    for (int i = 0; i < 410; i++)
        b_pcm[i] = (int16_t)(i * 97 % 20001 - 10000);
    md_prompt_t a = { .name = "a", .pcm = a_pcm, .samples = 250 };
    md_prompt_t b = { .name = "b", .pcm = b_pcm, .samples = 410 };
    md_prompt_t a2 = a, b2 = b;   /* the same audio, copies made below */
    CHECK(md_prompt_encode_g711(&a2) == 0 && md_prompt_encode_g711(&b2) == 0);
    CHECK(a2.ulaw != NULL && a2.alaw == a2.ulaw + 250);
    /* 0: PCMU, linear; 1: PCMU, copies; 2: PCMA, linear; 3: PCMA, copies; 4: PCMU,
     * copies under an overlay. */
    static const md_codec_t codec[N] = { MD_CODEC_PCMU, MD_CODEC_PCMU, MD_CODEC_PCMA,
                                         MD_CODEC_PCMA, MD_CODEC_PCMU };
    md_worker_media_t w = { .table = &gt, .media = gm, .events = &gr,
                            .isa = md_cpu_default_isa() };
    for (int c = 0; c < N; c++) {
        md_chan_params_t prm = { .codec = codec[c], .pt = codec[c] == MD_CODEC_PCMA ? 8 : 0,
                                 .event_pt = 101, .jb_depth = 2, .learn = 1 };
        CHECK(md_chan_create(&gt, &prm, NULL) == c);
        md_media_init(&gm[c], 0, 0);
        int copies = c == 1 || c == 3 || c == 4;
        md_play_item_t list[2] = { { .prompt = copies ? &a2 : &a, .loops = 3, .gap_ms = 7 },
                                   { .prompt = copies ? &b2 : &b, .loops = 1 } };
        CHECK(md_media_play_list(&gm[c], list, 2, 0) == 0);
    }
    static int16_t quiet[16 * 160];   /* longer than the test: over every frame */
    md_prompt_t over = { .name = "over", .pcm = quiet, .samples = 16 * 160 };
    CHECK(md_media_overlay(&gm[4], &over, -6) == 0);
    int frames = 0, differ = 0, g711_frames = 0, linear_with_copies = 0;
    for (int f = 0; f < 12; f++) {
        md_media_tick_in(&w, (uint64_t)f * 20);
        uint8_t got[N][MD_FRAME];
        int have[N];
        for (int c = 0; c < N; c++) {
            md_media_tick_out(&w, (uint32_t)c);
            uint8_t buf[MD_FRAME];
            const uint8_t *pl = md_media_g711_payload(&w, &gc[c], &gm[c], buf);
            have[c] = pl != NULL;
            if (pl != NULL)
                memcpy(got[c], pl, MD_FRAME);
            g711_frames += (c == 1 || c == 3) && gm[c].out_g711;
            linear_with_copies += (c == 0 || c == 2 || c == 4) && gm[c].out_g711;
        }
        if (have[0] != have[1] || have[2] != have[3] || have[0] != have[2])
            differ++;
        else if (have[0]) {
            frames++;
            differ += memcmp(got[0], got[1], MD_FRAME) != 0 || memcmp(got[2], got[3], MD_FRAME) != 0;
        }
    }
    /* 3 x 250 + 56 (gap) + 410 = 1216 samples: 8 frames, the last one part silence. */
    CHECKF(frames == 8 && differ == 0, "%d frames, %d differ", frames, differ);
    CHECKF(g711_frames == 16 && linear_with_copies == 0, "%d G.711 frames, %d linear ones wrongly",
           g711_frames, linear_with_copies);
    int done = 0;
    md_event_t ev;
    while (md_event_pop(&gr, &ev))
        done += ev.type == MD_EV_PROMPT_DONE;
    CHECKF(done == 5, "%d prompt-done events", done);   /* the five lists */
    free(a2.ulaw);
    free(b2.ulaw);
}

/* The slot tick's output in batches (md_worker_media_t.out): every live channel once a
 * tick, either in a batch of at most MD_TICK_BATCH in table order or, when its output
 * takes another channel's frame of the tick (bridged, a conference member), deferred; and
 * a batch's digits are found before its output, so a barge-in digit has stopped its
 * prompt by the time out() sees the channel. */
#define BN 300   /* three batches: 128, 128 and the rest */
static md_channel_t bch[BN];
static md_media_t bmed[BN];
static md_conf_set_t bconfs;
static md_conf_t bconf[2];
static md_conf_member_t bmembers[BN];
static struct {
    int seen[BN];            /* this tick: times in a batch */
    int batches, too_big, out_of_order, played_at_out;
} bo;

static void record_batch(void *arg, const uint32_t *slots, unsigned n)
{
    md_worker_media_t *w = arg;
    bo.batches++;
    bo.too_big += n > MD_TICK_BATCH;
    for (unsigned k = 0; k < n; k++) {
        bo.seen[slots[k]]++;
        bo.out_of_order += k > 0 && slots[k] <= slots[k - 1];
        if (slots[k] == 5)
            bo.played_at_out = w->media[5].play != NULL;
        md_media_tick_out(w, slots[k]);
    }
}

static void test_batches(void)
{
    md_chan_table_t bt;
    md_event_ring_t br;
    md_event_ring_init(&br);
    md_chan_table_init(&bt, bch, BN, 32000);
    md_chan_params_t prm = { .codec = MD_CODEC_PCMU, .pt = 0, .event_pt = 101, .jb_depth = 2,
                             .learn = 1 };
    for (int i = 0; i < BN; i++) {
        CHECK(md_chan_create(&bt, &prm, NULL) == i);
        md_media_init(&bmed[i], i == 5, 0);
    }
    CHECK(md_chan_delete(&bt, 7) == 0);   /* not live: in no batch */
    md_media_init(&bmed[7], 0, 0);
    static uint32_t deferred[BN];
    static int16_t bscratch[MD_TICK_BATCH][MD_FRAME];
    md_worker_media_t w = { .table = &bt, .media = bmed, .events = &br,
                            .isa = md_cpu_default_isa(), .out = record_batch,
                            .deferred = deferred, .scratch = bscratch };
    w.out_arg = &w;
    md_conf_set_init(&bconfs, bconf, 2, bmembers, BN);
    w.conf = &bconfs;
    uint32_t cid;
    int ci = md_conf_create(&bconfs, 0, 0, &cid);
    CHECK(ci >= 0);
    CHECK(md_conf_add(&w, &bconfs, (uint32_t)ci, 200, MD_CONF_ROLE_PARTY, 0, 0, 0, 0, 0) == 0);
    CHECK(md_media_bridge(&w, 10, 140) == 0);
    static int16_t ppcm[8000];
    for (int i = 0; i < 8000; i++)
        ppcm[i] = (int16_t)(1000 * sin(i * 0.3));
    md_prompt_t prompt = { .pcm = ppcm, .samples = 8000 };
    md_media_play(&bmed[5], &prompt, 0, 1);   /* barge-in */

    /* Channel 5 hears a digit from frame 6 on, everyone else quiet noise. */
    static int16_t tone[160 * 8];
    CHECK(md_tone_dial(tone, 160 * 8, "7", -10, 0, 160, 0) > 0);
    int16_t quiet[160];
    for (int i = 0; i < 160; i++)
        quiet[i] = (int16_t)((i * 7919 % 61) - 30);
    int wrong_set = 0, digit_tick = -1, played_then = -1, removed_ok = 1;
    for (int f = 0; f < 30; f++) {
        uint64_t now = (uint64_t)f * 20;
        for (int i = 0; i < BN; i++)
            if (bch[i].in_use)
                send_audio(&bch[i], (uint16_t)f, i == 5 && f >= 6 && f < 14 ? tone + (f - 6) * 160 : quiet,
                           now * 8);
        if (f == 20)
            md_conf_remove(&bconfs, 200);   /* from then on in the batches */
        memset(bo.seen, 0, sizeof(bo.seen));
        bo.played_at_out = -1;
        md_media_tick_in_slot(&w, now, 0, 1);
        int in_def[BN] = { 0 };
        for (uint32_t k = 0; k < w.n_deferred; k++)
            in_def[deferred[k]]++;
        for (int i = 0; i < BN; i++) {
            int want_def = i == 10 || i == 140 || (i == 200 && f < 20);
            if (i == 7)
                wrong_set += bo.seen[i] != 0 || in_def[i] != 0;
            else if (want_def)
                wrong_set += bo.seen[i] != 0 || in_def[i] != 1;
            else
                wrong_set += bo.seen[i] != 1 || in_def[i] != 0;
        }
        removed_ok &= f < 20 || bo.seen[200] == 1;
        md_event_t ev;
        while (md_event_pop(&br, &ev))
            if (ev.type == MD_EV_DIGIT && ev.slot == 5 && digit_tick < 0) {
                CHECK(ev.digit == '7');
                digit_tick = f;
                played_then = bo.played_at_out;
            }
    }
    CHECK(wrong_set == 0);
    CHECK(removed_ok);
    CHECK(bo.too_big == 0 && bo.out_of_order == 0);
    CHECK(bo.batches == 30 * 3);
    CHECK(digit_tick > 6);
    CHECK(played_then == 0);   /* stopped before its output was made */
    CHECK(bmed[5].play == NULL);

    /* The frames nothing else reads went to the scratch; the bridged ones and the
     * conference member's (until it left) to their pcm. */
    CHECK(bmed[30].pcm_stale && bmed[200].pcm_stale);
    CHECK(!bmed[10].pcm_stale && !bmed[140].pcm_stale);
    /* A channel bridged now is read by its peer before its next tick: silence, not the
     * frame its pcm held from before. */
    for (int i = 0; i < MD_FRAME; i++)
        bmed[30].pcm[i] = 1234;
    CHECK(md_media_bridge(&w, 30, 31) == 0);
    int silent = 1;
    for (int i = 0; i < MD_FRAME; i++)
        silent &= bmed[30].pcm[i] == 0;
    CHECK(silent && !bmed[30].pcm_stale);
    uint32_t cid2;
    int ci2 = md_conf_create(&bconfs, 0, 0, &cid2);
    CHECK(ci2 >= 0);
    bmed[40].pcm[0] = 777;
    CHECK(bmed[40].pcm_stale);
    CHECK(md_conf_add(&w, &bconfs, (uint32_t)ci2, 40, MD_CONF_ROLE_PARTY, 0, 0, 0, 0, 0) == 0);
    CHECK(bmed[40].pcm[0] == 0 && !bmed[40].pcm_stale);
}

int main(void)
{
    test_lazy_plc(0);
    test_lazy_plc(1);
    test_conceal_budget();
    test_prompt_g711();
    test_batches();
    md_event_ring_init(&ring);
    md_chan_table_init(&t, chans, MAX, 30000);
    md_chan_params_t prm = { .codec = MD_CODEC_PCMU, .pt = 0, .event_pt = 101, .jb_depth = 2,
                             .learn = 1 };
    for (int i = 0; i < MAX; i++) {
        CHECK(md_chan_create(&t, &prm, NULL) == i);
        md_media_init(&media[i], 1, 500);
    }
    md_worker_media_t w = { .table = &t, .media = media, .events = &ring,
                            .isa = md_cpu_default_isa() };

    /* Channel 0 dials "159"; channel 1 carries a 400 Hz tone with every fifth packet
     * lost; channel 2 gets one RFC 4733 event whose end never comes, then nothing. */
    static int16_t dial[8000 * 2];
    long n = md_tone_dial(dial, sizeof(dial) / 2, "159", -12, 0, 80, 120);
    CHECK(n > 0);
    int16_t tone[160];
    uint64_t now_ms = 0;
    for (int f = 0; f < 60; f++, now_ms += 20) {
        int16_t frame[160];
        memset(frame, 0, sizeof(frame));
        if ((long)(f + 1) * 160 <= n)
            memcpy(frame, dial + f * 160, sizeof(frame));
        send_audio(&chans[0], (uint16_t)f, frame, now_ms * 8);
        for (int i = 0; i < 160; i++)
            tone[i] = (int16_t)(8000 * sin(2 * M_PI * 400 * (f * 160 + i) / 8000.0));
        if (f % 5 != 4 && f < 40)
            send_audio(&chans[1], (uint16_t)f, tone, now_ms * 8);
        if (f < 3) {
            uint8_t buf[16];
            md_pkt_t p;
            md_4733_digit_t d[2];
            int nd;
            memset(&p, 0, sizeof(p));
            p.ip_version = 4;
            p.src[0] = 10;
            p.src[3] = 2;
            p.sport = 4100;
            md_rtp_write(buf, 101, f == 0, (uint16_t)(100 + f), 8000, 0x99);
            md_rtp_event_t ev = { .event = 11, .volume = 10, .duration = (uint16_t)(160 * (f + 1)) };
            md_rtp_event_write(buf + 12, &ev);
            CHECK(md_chan_receive(&chans[2], &p, 0, buf, 16, now_ms * 8, d, &nd) == MD_CHAN_EVENT);
        }
        CHECK(md_media_tick(&w, now_ms) == MAX);
    }
    /* Ten more seconds of silence on every channel. */
    for (int f = 0; f < 50; f++, now_ms += 20)
        md_media_tick(&w, now_ms);

    char inband[8] = "";
    int ni = 0, rfc = 0, no_media = 0;
    md_event_t ev;
    while (md_event_pop(&ring, &ev)) {
        if (ev.type == MD_EV_DIGIT && ev.source == MD_DIGIT_INBAND && ev.channel == chans[0].id &&
            ni < 7)
            inband[ni++] = ev.digit;
        if (ev.type == MD_EV_DIGIT && ev.source == MD_DIGIT_RFC4733) {
            rfc++;
            CHECK(ev.digit == '#' && ev.channel == chans[2].id && ev.duration_ms == 60);
        }
        if (ev.type == MD_EV_NO_MEDIA)
            no_media++;
        CHECK(!(ev.type == MD_EV_DIGIT && ev.channel == chans[1].id));
    }
    CHECKF(strcmp(inband, "159") == 0, "in-band digits '%s'", inband);
    CHECK(rfc == 1);
    /* Every channel went quiet at some point (2 after 60 ms, 1 after 800 ms, 0 after
     * 1.2 s): one no-media event each, not one per tick. */
    CHECKF(no_media == 3, "no-media events %d", no_media);
    /* Channel 1 lost every fifth packet; channel 0 only the frames after its stream
     * stopped, until the jitter buffer called it an outage. */
    CHECKF(media[1].concealed >= 7 && media[0].concealed == MD_JB_OUTAGE, "concealed %llu / %llu",
           (unsigned long long)media[1].concealed, (unsigned long long)media[0].concealed);

    /* The ring: full at MD_EVENT_RING, the rest counted as lost. */
    md_event_ring_init(&ring);
    md_event_t e = { .type = MD_EV_DIGIT, .digit = '1' };
    int pushed = 0;
    for (int i = 0; i < MD_EVENT_RING + 5; i++)
        pushed += md_event_push(&ring, &e) == 0;
    CHECK(pushed == MD_EVENT_RING && ring.lost == 5);
    int popped = 0;
    while (md_event_pop(&ring, &e))
        popped++;
    CHECK(popped == MD_EVENT_RING);
    return check_summary("media");
}
