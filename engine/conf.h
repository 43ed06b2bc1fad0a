/* Conferences on one worker (issue 4): N-1 mixing of the members' decoded frames, mute,
 * deaf, input and output gains, talking events, the K loudest talkers in large
 * conferences, prompts to the conference or one member, the conference mix as a
 * recording, and supervisor modes (listen, whisper, barge) and hold as "who hears whom"
 * matrices on the same mixing. See docs/conference.md.
 *
 * The model. Every member has a class (one bit) and a hears mask (the classes it hears):
 * a member hears the mixed talkers whose class is in its mask, never itself. Roles are
 * presets of the two (md_conf_role_t); MD_CONF_ROLE_CUSTOM takes them as given.
 *
 * The mix. Each tick the conference picks its talkers: every member that can be heard
 * (not muted, not on hold, a class somebody hears) when there are at most K of them,
 * else the K loudest among those the voice-activity detector calls talking. Each
 * talker's frame (times its input gain) is summed per class once (int32); the frame of
 * a hears mask is the sum of its classes (plus the conference prompt), computed once per
 * distinct mask and tick; a listener gets a copy of its mask's frame, a talker the same
 * minus its own contribution (saturated only at the end, as md_mix_n_minus_1()), then
 * the member's output gain. A 1,000-member conference with K = 3 costs three talker
 * sums, one mask frame and 1,000 copies, not 1,000 mixes.
 *
 * Where it runs: md_media_tick_in() calls md_conf_tick() once every channel's frame is in,
 * before md_media_tick_out() makes each channel's output (a member has no bridge), so a member's own prompt (md_media_play) replaces the conference audio for
 * that member, an overlay is mixed over it, and the recording tap records it.
 *
 * Memory: everything is preallocated by the caller (md_conf_set_init); the tick does not
 * allocate, lock or make system calls. One md_conf_member_t per channel slot. */
#ifndef MD_ENGINE_CONF_H
#define MD_ENGINE_CONF_H

#include <stdint.h>

#include "dsp/energy.h"
#include "dsp/mixer.h"
#include "engine/media.h"
#include "engine/prompt.h"
#include "engine/recorder.h"

#define MD_CONF_K_DEFAULT 3
#define MD_CONF_K_MAX 16
#define MD_CONF_HANGOVER_DEFAULT_MS 400
#define MD_CONF_VAD_THRESHOLD_DB 9.0f
#define MD_CONF_STICKY_DB 3.0f      /* a mixed talker keeps its place unless beaten by this */
#define MD_CONF_SHARES 2            /* common frames encoded once per codec per conference */
#define MD_CONF_MASKS 8             /* distinct hears masks cached per conference tick */
#define MD_CONF_BEEP_MS 200         /* the barge beep: 1400 Hz */
#define MD_CONF_BEEP_HZ 1400

/* Classes (one bit each) and the masks of the roles. */
#define MD_CONF_CLASS_PARTY 0x01u   /* callers and ordinary members */
#define MD_CONF_CLASS_AGENT 0x02u
#define MD_CONF_CLASS_COACH 0x04u   /* a whispering supervisor: only agents hear it */
#define MD_CONF_CLASS_MONITOR 0x08u /* a listening supervisor: nobody hears it */

typedef enum {
    MD_CONF_ROLE_PARTY = 0,  /* class PARTY, hears PARTY|AGENT */
    MD_CONF_ROLE_AGENT,      /* class AGENT, hears PARTY|AGENT|COACH */
    MD_CONF_ROLE_LISTEN,     /* supervisor: class MONITOR (heard by nobody), hears PARTY|AGENT|COACH */
    MD_CONF_ROLE_WHISPER,    /* supervisor: class COACH (heard by agents), hears PARTY|AGENT|COACH */
    MD_CONF_ROLE_BARGE,      /* supervisor: class PARTY (heard by all), hears PARTY|AGENT|COACH */
    MD_CONF_ROLE_CUSTOM,     /* cls and hears as given */
    MD_CONF_ROLE_COUNT
} md_conf_role_t;

/* Member flags. */
#define MD_CONF_MUTE 0x01u   /* not heard by anyone (still detected as talking) */
#define MD_CONF_DEAF 0x02u   /* hears nothing (silence is sent; its own prompts still play) */
#define MD_CONF_HOLD 0x04u   /* on hold: not heard, hears the hold music (looping) instead */
#define MD_CONF_FLAGS_ALL 0x07u

/* The talker detector: md_vad's algorithm (minimum statistics over eight 250 ms
 * windows, a threshold above the floor, an absolute minimum of -50 dBm0, hangover) on
 * the frame's mean square, without a logarithm per frame. */
typedef struct {
    float win_min[MD_VAD_WINDOWS];
    float cur_min;
    float ms;                /* this frame's mean square */
    uint8_t win_idx, win_frames;
    uint16_t hang_left;
} md_conf_vad_t;

typedef struct {
    int32_t conf;            /* conference index, or -1: not a member */
    int32_t next, prev;      /* the conference's member list, by channel slot */
    uint8_t role, flags, cls, hears;
    md_gain_t in_gain, out_gain;
    md_conf_vad_t vad;
    uint8_t talking;         /* as last reported in an event */
    uint8_t mixed;           /* mixed as a talker this tick */
    uint8_t was_mixed;       /* ... and the tick before (stickiness) */
    uint8_t tk;              /* index of its frame among this tick's talkers */
    uint32_t beep_left;      /* samples of barge beep still to mix in */
    const md_prompt_t *hold_music;
    size_t hold_pos;
} md_conf_member_t;

typedef struct {
    uint32_t id;             /* 0: free */
    int32_t head, tail;      /* member list (channel slots), -1 when empty */
    unsigned n;              /* members */
    unsigned k;              /* talkers mixed when more can be heard */
    unsigned hangover_ms;
    uint16_t hang_frames;
    /* The conference prompt, mixed into every mask frame. */
    const md_prompt_t *play;
    size_t play_pos;
    unsigned loops_left;     /* UINT32_MAX: forever */
    uint32_t play_tag;
    md_gain_t play_gain;
    /* The conference mix as a recording: everything a class in rec_mask says, plus the
     * conference prompt. */
    md_rec_id_t rec_id;
    uint8_t rec_mask;
    uint64_t rec_refused;
    /* The frames members hear unmodified (a mask's mix: in a large conference, everyone
     * who is not a mixed talker), encoded once per G.711 law on first use instead of once
     * per member (md_conf_shared_payload). Valid until the conference's next tick. */
    uint8_t share_key[MD_CONF_SHARES];   /* the hears mask of the shared frame */
    uint8_t n_shares;
    uint8_t share_have[MD_CONF_SHARES][2];   /* [0] µ-law, [1] A-law encoded */
    uint8_t share_enc[MD_CONF_SHARES][2][MD_FRAME];
    /* Counters. */
    uint64_t ticks, talker_mixes, mask_mixes, copies, own_mixes;
    uint64_t shared_encodes, shared_sends;   /* encodes of shared frames, packets using them */
    unsigned n_talkers;      /* this tick */
} md_conf_t;

typedef struct md_conf_set {
    md_conf_t *confs;
    unsigned max_confs;
    md_conf_member_t *members;   /* one per channel slot */
    unsigned max_members;
    /* Bit i: members[i].conf >= 0. The tick asks it of every channel (md_conf_has_member)
     * and 4 KiB stay in cache where the members' entries would not. */
    uint64_t member_bits[MD_CHAN_TABLE_MAX / 64];
    uint32_t next_id;
    float vad_ratio, vad_min_ms;   /* threshold above the floor, -50 dBm0: as mean squares */
    md_prompt_t beep;
    int16_t beep_pcm[MD_CONF_BEEP_MS * 8];
    /* Scratch of one conference's tick. */
    int32_t cls_sum[8][MD_FRAME];
    uint8_t cls_used;
    int16_t gained[MD_CONF_K_MAX][MD_FRAME];
    const int16_t *talker_pcm[MD_CONF_K_MAX];
    int32_t talker_slot[MD_CONF_K_MAX];
    float talker_level[MD_CONF_K_MAX];
    int16_t prompt_frame[MD_FRAME];
    int has_prompt;
    uint8_t mask_key[MD_CONF_MASKS];
    unsigned n_masks;
    int32_t mask_sum[MD_CONF_MASKS][MD_FRAME];
    int16_t mask_frame[MD_CONF_MASKS][MD_FRAME];
} md_conf_set_t;

/* What a conference looks like from outside. */
typedef struct {
    uint32_t slot, id;
    unsigned members, k, talkers;
    uint8_t playing;
    md_rec_id_t rec_id;
    uint64_t ticks, talker_mixes, mask_mixes, copies, own_mixes, rec_refused;
} md_conf_info_t;

/* confs: max_confs entries; members: one per channel slot (the table's max). */
void md_conf_set_init(md_conf_set_t *s, md_conf_t *confs, unsigned max_confs,
                      md_conf_member_t *members, unsigned max_members);

static inline int md_conf_has_member(const md_conf_set_t *s, uint32_t slot)
{
    return slot < MD_CHAN_TABLE_MAX && (int)((s->member_bits[slot >> 6] >> (slot & 63)) & 1);
}

/* Creates a conference: k talkers mixed when more can be heard (0: 3; at most
 * MD_CONF_K_MAX), hangover of the talking events (0: 400 ms; at most 10 s). Returns the
 * index, -EINVAL or -ENOSPC. *id gets its id (never 0). */
int md_conf_create(md_conf_set_t *s, unsigned k, unsigned hangover_ms, uint32_t *id);
/* The conference at index idx if its id is id, else NULL. */
md_conf_t *md_conf_named(md_conf_set_t *s, uint32_t idx, uint32_t id);
/* Removes every member (they send nothing more from the conference) and frees it. */
void md_conf_delete(md_worker_media_t *w, md_conf_set_t *s, uint32_t idx);

/* Adds channel slot `slot` (in use, not bridged, in no conference: else -EBUSY) as a
 * member with a role (cls/hears for MD_CONF_ROLE_CUSTOM), flags and gains (dB, see
 * md_gain_from_db; a bad gain or role is -EINVAL). */
int md_conf_add(md_worker_media_t *w, md_conf_set_t *s, uint32_t idx, uint32_t slot,
                md_conf_role_t role, uint8_t cls, uint8_t hears, unsigned flags,
                float in_db, float out_db);
/* Changes a member's role, flags and gains; beep: when the member becomes a barging
 * supervisor, the agents of the conference hear the beep. hold_music: the prompt the
 * member hears while on hold (required with MD_CONF_HOLD; -EINVAL without). */
int md_conf_set(md_conf_set_t *s, uint32_t slot, md_conf_role_t role, uint8_t cls,
                uint8_t hears, unsigned flags, float in_db, float out_db, int beep,
                const md_prompt_t *hold_music);
/* Removes a channel from its conference (nothing if it is in none). */
void md_conf_remove(md_conf_set_t *s, uint32_t slot);
/* The conference index of a channel slot, or -1. */
int md_conf_of(const md_conf_set_t *s, uint32_t slot);

/* Plays p to the whole conference, mixed into what every member hears, at gain_db;
 * loops plays in all (0: forever, until stopped); NULL stops. A CONF_PROMPT_DONE event
 * with tag follows the end. Returns 0 or -EINVAL. */
int md_conf_play(md_conf_set_t *s, uint32_t idx, const md_prompt_t *p, unsigned loops,
                 float gain_db, uint32_t tag);

/* Feeds the conference mix to recording rec_id (0: stop) from this worker's producer;
 * mask: the classes recorded (0: PARTY|AGENT|COACH). */
void md_conf_record(md_conf_set_t *s, uint32_t idx, md_rec_id_t rec_id, uint8_t mask);

void md_conf_describe(const md_conf_set_t *s, uint32_t idx, md_conf_info_t *info);

/* The G.711 payload (alaw: 0 µ-law, 1 A-law) of the shared frame a member's output is
 * this tick (media conf_share, 1-based), encoded from out on the conference's first use
 * and reused for every other member that hears it; NULL when the member has no such
 * frame any more (it left the conference), and the caller encodes out itself. */
const uint8_t *md_conf_shared_payload(md_conf_set_t *s, uint32_t slot, unsigned share,
                                      int alaw, const int16_t *out);

/* The conference pass of the media tick (called by md_media_tick when w->conf is set):
 * talking events, the mixes, each member's out/have_out. */
void md_conf_tick(md_worker_media_t *w, uint64_t now_ms);

/* The same for the conferences of one tick slot (conference index % nslots == slot): the
 * worker spreads its conferences over the 20 slots of a 20 ms tick as it spreads channels.
 * A member's frame is sent in its own channel's slot (media conf_ready). */
void md_conf_tick_slot(md_worker_media_t *w, uint64_t now_ms, unsigned slot, unsigned nslots);

#endif
