/* The receive side of the media tick for a worker's channels: every 20 ms each channel
 * takes its next frame from the jitter buffer, decodes it (G.711; a lost frame is
 * concealed), and the in-band DTMF detector runs on all the channels that asked for it
 * in one batched call. Digits (in-band and RFC 4733, including RFC 4733 events whose end
 * never came) and media timeouts become events on the worker's event ring.
 * No allocation: the per-channel media state lives beside the channel table. */
#ifndef MD_ENGINE_MEDIA_H
#define MD_ENGINE_MEDIA_H

#include <stdint.h>

#include "dsp/dtmf.h"
#include "dsp/plc.h"
#include "engine/channel.h"
#include "dsp/mixer.h"
#include "dsp/opus_codec.h"
#include "dsp/tone.h"
#include "engine/events.h"
#include "engine/prompt.h"
#include "engine/recorder.h"
#include "engine/txpkt.h"

#define MD_FRAME 160   /* 20 ms at 8 kHz */
#define MD_STRIP_DELAY 3
#define MD_PLAY_MAX 8   /* prompts in one play list */
#define MD_SEND_MAX 32          /* digits in one md_media_send_digits() */
#define MD_SEND_GENERATORS 64   /* a worker's channels sending in-band digits at once */

/* One entry of a play list: a prompt played loops times (at least once), then gap_ms of
 * silence before the next entry. */
typedef struct {
    const md_prompt_t *prompt;
    uint16_t loops;
    uint16_t gap_ms;
} md_play_item_t;

/* A channel's media state. The order is for the caches, not for reading: at scale every
 * tick fetches each channel's state from memory, so what every tick touches comes first
 * and together (the header, then the packet template, the decoded frame, the in-band
 * detector's hot part and the concealer's first line), and what only some calls or some
 * ticks touch (the play list's array, digits being sent, the linear output, the strip
 * delay line, the rest of the concealer) comes after. Lines are whole: the struct is
 * 64-byte aligned (arrays of it come from aligned_alloc). */
typedef struct {
    /* ---- every tick ---- */
    int inband;                 /* run the in-band detector */
    uint32_t no_media_ms;       /* 0: no timeout */
    uint64_t first_tick_at;     /* the channel's first tick (ms * 8 + 1), for no-media */
    int no_media_sent;
    uint8_t plc_synced;          /* plc's history holds the audio up to the last frame */
    uint8_t pcm_stale;           /* the last frame was decoded into the worker's scratch
                                    (md_worker_media_t.scratch), not into pcm */
    uint64_t frames, concealed;

    /* Output: a prompt being played, and what the tick produced this time. */
    const md_prompt_t *play;
    size_t play_pos;
    unsigned loops_left;     /* plays after the current one */
    int barge_in;            /* a digit stops the prompt */
    unsigned list_len, list_pos;   /* the play list (list, below): play is list[list_pos] */
    uint32_t gap_left;       /* samples of silence before list[list_pos] starts */
    uint32_t play_tag;       /* the controller's tag of this play list, in PROMPT_DONE */
    /* Recording tap (engine/recorder.h): 0 or the recording this channel feeds. Stereo:
     * left what the channel received, right what it sent (for a caller bridged to an
     * agent: caller left, agent right). Mono: the two mixed. */
    md_rec_id_t rec_id;
    uint8_t rec_stereo;
    /* Digits being sent (md_media_send_digits; the digits in send, below): RFC 4733
     * events, which the worker transmits from ev_tx instead of audio, or in-band tones
     * from one of the worker's shared generators (memory for those scales with senders,
     * not with channels). */
    uint8_t send_len, send_pos, send_rfc4733, ev_start;
    int8_t send_gen;          /* in-band: index in md_worker_media_t.send_gens, -1: none */
    uint16_t send_on_ms, send_gap_ms;
    uint32_t send_wait;       /* ticks of silence before the next digit */
    int16_t opus_slot;        /* Opus channels: the worker's codec state in use, else -1 */
    int have_out;            /* out holds audio to send this tick */
    uint8_t out_g711;         /* this tick's audio is already G.711, in the worker's
                                 md_worker_media_t.g711 (md_media_g711_payload), not in out */
    uint8_t conf_ready;       /* out holds a conference mix not yet sent (its conference
                                 may mix in another tick slot than the channel's) */
    uint8_t conf_share;       /* 1-based: out is that shared frame of the conference,
                                 unmodified (md_conf_shared_payload); 0: its own */
    int tx_ready;
    int32_t bridge;          /* slot of the bridged channel, or -1 */
    /* A prompt mixed over whatever else the channel sends (an announcement over music or
     * over the bridged party), at a gain. */
    const md_prompt_t *overlay;
    size_t overlay_pos;
    md_gain_t overlay_gain;
    uint32_t overlay_tag;
    /* In-band DTMF stripping of what this channel forwards to a bridge: its audio goes
     * out MD_STRIP_DELAY frames late, with every digit muted from 10 ms before its
     * estimated start to 10 ms after its end. The detector knows a digit about 40 ms
     * after it starts, at most 60 ms counting the frame boundary, so the delay line
     * (delay, below) holds it back long enough that no fragment of a tone leaks. */
    int strip_dtmf;
    md_tx_template_t tx;     /* filled once the peer is known */

    int16_t pcm[MD_FRAME] __attribute__((aligned(64)));   /* this tick's decoded audio */
    md_dtmf_rx_t dtmf;          /* its first MD_DTMF_RX_HOT_BYTES every tick */
    md_plc_t plc;               /* its first line every tick (is a concealment going on) */

    /* ---- some ticks, some calls ---- */
    md_play_item_t list[MD_PLAY_MAX];
    char send[MD_SEND_MAX];
    md_4733_tx_t ev_tx;
    uint64_t rec_refused;    /* frames the recorder did not take (ring full) */
    int16_t out[MD_FRAME];      /* the linear output */
    int16_t delay[MD_STRIP_DELAY + 1][MD_FRAME];
    int16_t stripped[MD_FRAME];   /* this tick's forwarded audio */
    uint64_t mute_from, mute_to;  /* sample range to mute, in this channel's samples */
} __attribute__((aligned(64))) md_media_t;

/* The lines of md_media_t every tick touches before its frame: the header and the
 * packet template. */
#define MD_MEDIA_HEAD_BYTES (offsetof(md_media_t, pcm))



/* Plays prompt p (loops times in all, at least once), replacing what was playing. */
void md_media_play(md_media_t *m, const md_prompt_t *p, unsigned loops, int barge_in);
/* Plays a list of n (1..MD_PLAY_MAX) prompts in order; one prompt-done event at the end
 * of the list (or at the barge-in digit). Returns 0 or -EINVAL (bad n, NULL prompt,
 * empty prompt). */
int md_media_play_list(md_media_t *m, const md_play_item_t *items, unsigned n, int barge_in);
void md_media_stop(md_media_t *m);

typedef struct {
    md_chan_table_t *table;
    md_media_t *media;          /* one per channel slot */
    md_event_ring_t *events;
    md_isa_t isa;
    md_recorder_t *rec;         /* NULL: no recording */
    unsigned rec_producer;      /* this worker's producer number in rec */
    md_tone_gen_t send_gens[MD_SEND_GENERATORS];
    uint8_t send_gen_used[MD_SEND_GENERATORS];
    /* Opus codec states (an encoder and a decoder, ~50 KB each pair), preallocated per
     * worker: Opus channels take one at creation (-ENOSPC when all are in use), so G.711
     * channels do not pay for Opus's memory. NULL / 0: no Opus channels. */
    md_opus_t *opus;
    void *opus_mem;           /* n_opus * opus_stride bytes */
    size_t opus_stride;
    uint8_t *opus_used;
    unsigned n_opus;
    struct md_conf_set *conf;   /* conferences (engine/conf.h); NULL: none */
    /* Channels moved here from another worker keep their local port (outside this
     * worker's range): imports[port / 2] is their slot + 1, 0: none. MD_IMPORT_PORTS
     * entries, preallocated by the worker; NULL: channels cannot move here or away
     * (-ENOTSUP). */
    uint16_t *imports;
    /* Called every MD_TICK_POLL_EVERY channels during a tick (the worker's receive
     * poll): a tick of thousands of channels takes milliseconds, and the NIC's receive
     * ring must not overflow meanwhile. NULL: none. */
    void (*poll)(void *arg);
    void *poll_arg;
    /* The output side of a slot tick, batch by batch (md_media_tick_in_slot): once
     * MD_TICK_BATCH channels are decoded and through the DTMF detector, out() gets those
     * of them whose output needs no other channel's frame of this tick, while their state
     * is still in cache (the caller calls md_media_tick_out and sends). The others,
     * bridged channels and conference members, are listed in deferred[0..n_deferred)
     * for the caller to do after the whole slot, as before. NULL: none is done in
     * batches; the caller does every channel after md_media_tick_in_slot (md_media_tick).
     * deferred has room for the table's max entries. */
    void (*out)(void *arg, const uint32_t *slots, unsigned n);
    void *out_arg;
    uint32_t *deferred;
    uint32_t n_deferred;
    /* With out: a G.711 frame that nothing reads after its batch (the channel is not
     * bridged, in a conference, recorded or stripping DTMF) is decoded into one of these
     * MD_TICK_BATCH rows instead of its pcm, which is then stale (md_media_t.pcm_stale):
     * the detector and the concealer read it there, and the 320 bytes of pcm are neither
     * fetched nor written back. NULL: every frame goes to pcm. */
    int16_t (*scratch)[MD_FRAME];
    /* Lost frames that started no concealment because the slot's budget was spent
     * (md_media_conceal_budget): silence instead. Nonzero only when the worker is
     * overloaded or a loss burst hits every call at once. */
    uint64_t conceal_silent;
    /* The G.711 frame of the channel md_media_tick_out made last, when it needed no
     * linear audio (md_media_t.out_g711): a prompt played with nothing over it is copied
     * here from the prompt's G.711 copy. Valid until the next md_media_tick_out. */
    uint8_t g711[MD_FRAME];
} md_worker_media_t;

/* Concealments a slot tick may start (each costs SpanDSP's pitch search, about five
 * normal frames): 16 plus one per 16 channels of the slot. A concealment already under
 * way goes on (it is cheap); past the budget a lost frame that would start one is
 * silence, so that an overloaded worker degrades instead of falling further behind. */
uint32_t md_media_conceal_budget(uint32_t channels, unsigned nslots);

/* Table entries of a slot between two receive polls inside a tick. Each poll takes up to
 * MD_POLL_MAX_BURSTS bursts (engine/worker.h), so a few per pass take more than the
 * slot's channels receive meanwhile (one packet each per 20 ms); more often only breaks
 * the tick's prefetching (a poll's packets push the next channels' lines out of L1).
 * 384 against 128: 30-60 ns less per channel-frame at 22,000 ivr channels, 4 of 4
 * alternating runs. */
#define MD_TICK_POLL_EVERY 384
/* Channels per batch of a slot tick (md_worker_media_t.out): small enough that their
 * decoded frames, detector state and headers are still in L2 when their output is made
 * (about 2 KB each), large enough for the DTMF kernels' lanes. At most 256. */
#define MD_TICK_BATCH 128
#define MD_IMPORT_PORTS 32768   /* one per even UDP port */

/* Bridges two channel slots both ways: each sends what the other receives (decoded to
 * linear audio, so different codecs transcode). A prompt playing on a channel takes
 * precedence over the bridged audio. Both must be on the same worker. Returns 0 or
 * -EINVAL (same slot, out of range, or not in use). */
int md_media_bridge(md_worker_media_t *w, uint32_t a, uint32_t b);
void md_media_unbridge(md_worker_media_t *w, uint32_t a);

/* A channel whose pcm another channel starts reading (a bridge, a conference): if its
 * last frame went to the tick's scratch (pcm_stale), pcm is silence until its next tick,
 * not an old frame. */
void md_media_pcm_for_others(md_media_t *m);

/* Mixes prompt p once over the channel's other output at gain_db (see dsp/mixer.h);
 * a prompt-done event follows. Returns 0 or -EINVAL for a gain out of range. */
int md_media_overlay(md_media_t *m, const md_prompt_t *p, float gain_db);

/* Preallocates n Opus codec states for a worker (at set-up; malloc). 0 or -ENOMEM. */
int md_media_opus_pool(md_worker_media_t *w, unsigned n);
void md_media_opus_pool_free(md_worker_media_t *w);
/* Takes / releases a codec state for an Opus channel in slot. -EMFILE when none left. */
int md_media_opus_attach(md_worker_media_t *w, uint32_t slot);
void md_media_opus_detach(md_worker_media_t *w, uint32_t slot);

/* RTP timestamp units per 20 ms frame: 960 for Opus (48 kHz clock, RFC 7587), else 160. */
static inline uint32_t md_media_ts_step(md_codec_t codec)
{
    return codec == MD_CODEC_OPUS8 || codec == MD_CODEC_OPUS16 ? 960 : 160;
}

/* Sends digits on a channel: RFC 4733 events (needs the channel's telephone-event
 * payload type) or in-band tones at -10 dBm0 per tone, each on_ms long (40..1000) with
 * gap_ms (40..1000) between. Replaces digits still being sent. Returns 0, -EINVAL, or
 * -EBUSY when every in-band generator of the worker is in use. */
int md_media_send_digits(md_worker_media_t *w, uint32_t slot, const char *digits, int rfc4733,
                         unsigned on_ms, unsigned gap_ms);
void md_media_send_stop(md_worker_media_t *w, uint32_t slot);

/* Strip in-band DTMF from the audio this channel forwards to a bridged peer (adds
 * MD_STRIP_DELAY frames of delay to that path). Needs in-band detection on. */
void md_media_strip_dtmf(md_media_t *m, int on);

/* Sets up a slot's media state when its channel is created. */
void md_media_init(md_media_t *m, int inband, uint32_t no_media_ms);

/* The engine-clock start (ms) of RFC 4733 digit d just reported by rx, whose clock (the
 * `now` given to md_4733_rx_packet/_tick) is the worker's ms * 8: the event's RTP start
 * timestamp placed against the newest packet's timestamp and arrival time. */
uint64_t md_media_4733_start_ms(const md_4733_rx_t *rx, const md_4733_digit_t *d,
                                unsigned units_per_ms);

/* One 20 ms tick at now_ms (the worker's clock), in two steps so the worker can send
 * each channel's packet while the channel is in cache:
 *   md_media_tick_in   every channel's frame in (jitter buffer, decode, concealment,
 *                      RFC 4733 timeouts, no-media, prompts, in-band DTMF, stripping),
 *                      then the conferences. Returns the channels processed.
 *   md_media_tick_out  one channel's output made final: bridged audio (the peer's frame
 *                      of this tick), overlay, digits being sent, the recording tap.
 * md_media_tick does both for every channel. */
unsigned md_media_tick_in(md_worker_media_t *w, uint64_t now_ms);
void md_media_tick_out(md_worker_media_t *w, uint32_t slot);

/* The channel's frame of this tick as its codec's payload, after md_media_tick_out and
 * before the next one: G.711 bytes made there (a prompt's copy) or encoded here from
 * out into buf (MD_FRAME bytes). NULL when there is nothing to send or the codec is not
 * G.711 (Opus is the worker's to encode). */
const uint8_t *md_media_g711_payload(md_worker_media_t *w, const md_channel_t *ch,
                                     const md_media_t *m, uint8_t *buf);

/* The worker spreads its channels over MD_TICK_SLOTS slots of 1 ms: channel i ticks in
 * slot i % MD_TICK_SLOTS, conference k in slot k % MD_TICK_SLOTS, so each millisecond
 * does a twentieth of the work and a channel's packet leaves within about a millisecond
 * of its slot instead of after every other channel's. Each channel still ticks once per
 * 20 ms. A bridge takes the peer's newest frame, whichever slot the peer is in.
 * md_media_tick_in_slot is md_media_tick_in for the channels and conferences of one slot
 * (slot < nslots; nslots 1 is the whole table). */
#define MD_TICK_SLOTS 20
unsigned md_media_tick_in_slot(md_worker_media_t *w, uint64_t now_ms, unsigned slot,
                               unsigned nslots);
/* Asks for the lines md_media_tick_out and the send of slot's packet will touch: called a
 * few channels ahead in the sending loop. */
void md_media_prefetch_out(const md_worker_media_t *w, uint32_t slot);
unsigned md_media_tick(md_worker_media_t *w, uint64_t now_ms);

#endif
