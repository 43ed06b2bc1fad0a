/* Per-channel jitter buffer for 20 ms RTP frames.
 *
 * Packets are stored by sequence number in a fixed ring of slots (no allocation); the
 * media tick takes one frame every 20 ms in sequence order. The buffer starts playing
 * once `depth` frames are queued (the playout delay), reports a missing frame as lost
 * (the caller conceals it), drops duplicates and packets that arrive after their turn,
 * follows sequence and timestamp wrap, restarts on an SSRC change or a large jump, and
 * keeps the queue near its depth when the sender's clock runs fast (skew) by dropping a
 * frame. Interarrival jitter is estimated as in RFC 3550 section 6.4.1. */
#ifndef MD_ENGINE_JITTER_H
#define MD_ENGINE_JITTER_H

#include <stddef.h>
#include <stdint.h>

#define MD_JB_SLOTS 16            /* frames the ring can hold (320 ms at 20 ms) */
#define MD_JB_MAX_PAYLOAD 200     /* bytes per 20 ms frame: G.711 (160), Opus up to 80 kbit/s;
                                     larger frames are counted (too_big) and dropped */
#define MD_JB_OUTAGE 10           /* empty ticks in a row that count as an outage */

typedef enum {
    MD_JB_STORED = 0,
    MD_JB_DUPLICATE,       /* already queued: dropped */
    MD_JB_LATE,            /* its turn has passed: dropped */
    MD_JB_TOO_BIG,         /* payload over MD_JB_MAX_PAYLOAD: dropped */
    MD_JB_RESTARTED,       /* new SSRC or a jump beyond the ring: buffer restarted with it */
} md_jb_put_t;

typedef enum {
    MD_JB_FRAME = 0,       /* *len bytes of payload copied out */
    MD_JB_LOST,            /* this frame never came (or came late): conceal it */
    MD_JB_WAITING,         /* not started yet, or drained: play silence/comfort noise */
} md_jb_get_t;

typedef struct {
    uint64_t packets, bytes;
    uint64_t lost;           /* frames played as lost */
    uint64_t late, duplicates, too_big;
    uint64_t restarts, skew_drops;
    uint64_t reordered;      /* stored out of order but in time */
    uint64_t depth_ups, depth_downs;   /* adaptive depth changes */
    double jitter;           /* RFC 3550 estimate, in timestamp units */
} md_jb_stats_t;

/* One frame slot's bookkeeping, 8 bytes: a packet or a tick touches one line of them. */
typedef struct {
    uint32_t ts;
    uint16_t seq;
    uint8_t len;             /* payload bytes (MD_JB_MAX_PAYLOAD fits) */
    uint8_t full : 1;        /* holds a frame not yet played */
    uint8_t marker : 1;
} md_jb_slot_t;

typedef struct {
    unsigned depth;          /* frames queued before playing starts */
    int started;             /* a stream is known (ssrc, next_seq valid) */
    int playing;             /* prefill done */
    uint32_t ssrc;
    uint16_t next_seq;       /* the frame the next get() plays */
    uint16_t highest_seq;    /* highest stored so far */
    unsigned over_depth;     /* consecutive ticks with the queue above depth + 2 */
    unsigned underruns;      /* consecutive ticks with nothing queued */
    /* RFC 3550 jitter: previous transit time. */
    int have_transit;
    int64_t transit;
    /* Adaptive depth (md_jb_set_adaptive): a late packet deepens the buffer by a frame
     * (playout holds one tick, concealed, to make room); ten quiet seconds make it one
     * frame shallower again (a frame is dropped when the queue allows). */
    uint8_t adaptive, min_depth, max_depth, stretch;
    unsigned quiet;          /* ticks since the last late packet */
    uint16_t last_played;    /* sequence number of the last frame taken */
    uint8_t played_any;
    md_jb_stats_t st;
    md_jb_slot_t meta[MD_JB_SLOTS];
    /* The frames, last: the state above is touched by every packet and every tick and
     * stays together in a few cache lines (md_chan_prefetch), and of meta and data only
     * the frame's own slot (md_chan_prefetch_slot). */
    uint8_t data[MD_JB_SLOTS][MD_JB_MAX_PAYLOAD];
} md_jb_t;

_Static_assert(MD_JB_MAX_PAYLOAD <= 255, "md_jb_slot_t.len is one byte");

/* depth: playout delay in frames, 1..MD_JB_SLOTS-2 (3 = 60 ms is a usual choice). */
int md_jb_init(md_jb_t *jb, unsigned depth);

/* Lets the depth adapt between min and max frames (1 <= min <= max <= MD_JB_SLOTS - 2),
 * starting from the current depth clamped into that range. Returns 0 or -EINVAL. */
int md_jb_set_adaptive(md_jb_t *jb, unsigned min, unsigned max);

/* A received RTP payload. arrival is the arrival time in the RTP clock's units (for the
 * jitter estimate only). */
md_jb_put_t md_jb_put(md_jb_t *jb, uint32_t ssrc, uint16_t seq, uint32_t ts, int marker,
                      const uint8_t *payload, size_t len, uint32_t arrival);

/* The media tick: the next frame in order. out must hold MD_JB_MAX_PAYLOAD bytes. */
md_jb_get_t md_jb_get(md_jb_t *jb, uint8_t *out, size_t *len, uint32_t *ts);

/* As md_jb_get, without the copy: *data points into the buffer and stays valid until the
 * next md_jb_put (the media tick decodes it at once). */
md_jb_get_t md_jb_take(md_jb_t *jb, const uint8_t **data, size_t *len, uint32_t *ts);

/* The payload of the frame taken `back` frames before the last one taken (0: that one),
 * if its slot still holds it (a played slot keeps its bytes until a newer packet takes
 * it): 1 with *data and *len set, else 0. */
int md_jb_recent(const md_jb_t *jb, unsigned back, const uint8_t **data, size_t *len);

/* Frames queued from the next one to play up to the highest stored. */
unsigned md_jb_level(const md_jb_t *jb);

#endif
