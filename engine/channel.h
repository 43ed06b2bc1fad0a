/* Channels: the per-call RTP state of the data plane, and the table that finds a channel
 * from a received datagram's UDP port.
 *
 * Channels are preallocated (md_chan_table_init() takes the caller's array); creating
 * one beyond the maximum is refused with -ENOSPC and never disturbs the running ones.
 * Each channel owns an even local port (RTP) and the odd one above it (RTCP). Source
 * learning is strict: once the remote address, port and SSRC are known, packets from
 * anywhere else are counted and dropped unless re-learning is allowed (the "RTP bleed"
 * attack). No allocation after init. */
#ifndef MD_ENGINE_CHANNEL_H
#define MD_ENGINE_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include "engine/jitter.h"
#include "engine/mem.h"
#include "engine/pkt.h"
#include "engine/rfc4733.h"
#include "engine/rtcp.h"
#include "engine/rtp.h"

typedef enum {
    MD_CODEC_PCMU = 0,
    MD_CODEC_PCMA = 8,
    MD_CODEC_OPUS8 = 200,    /* dynamic payload types are given separately */
    MD_CODEC_OPUS16 = 201,
} md_codec_t;

typedef struct {
    md_codec_t codec;
    uint8_t pt;              /* payload type of the audio */
    uint8_t event_pt;        /* telephone-event payload type, 0 for none */
    uint8_t jb_depth;        /* frames, 1..14 */
    uint8_t jb_max;          /* 0: fixed depth; else adaptive from jb_depth up to this */
    uint8_t learn;           /* learn the remote address from the first packet */
    uint8_t relearn;         /* allow a new source later (e.g. after a re-INVITE) */
    uint8_t ip_version;      /* of remote (4 or 6), when not learning */
    uint8_t remote_ip[16];
    uint16_t remote_port;
} md_chan_params_t;

typedef struct {
    uint64_t rx_packets, rx_bytes;
    uint64_t wrong_source;   /* other address/port or SSRC after learning: dropped */
    uint64_t bad_rtp;        /* malformed RTP: dropped */
    uint64_t wrong_pt;       /* unknown payload type: dropped */
    uint64_t rtcp;           /* RTCP received on the odd port */
    uint64_t events;         /* RFC 4733 digits */
    uint64_t tx_packets, tx_bytes;   /* RTP sent (payload bytes) */
} md_chan_stats_t;

typedef struct {
    int in_use;
    uint32_t id;
    uint16_t local_port;     /* even; kept when the channel moves to another worker */
    uint16_t fwd;            /* a slot whose channel moved away (not in_use): the worker it
                                is on now + 1; its ports stay reserved (md_chan_adopt) */
    md_chan_params_t prm;
    int learnt;              /* remote address and SSRC known */
    uint8_t src_version;
    uint8_t src_ip[16];
    uint16_t src_port;
    uint32_t ssrc;
    uint64_t last_rx;        /* caller's clock at the last accepted packet */
    uint8_t src_mac[6];      /* the peer's (or its router's) MAC, from its last RTP packet */
    uint16_t src_vlan;       /* and its 802.1Q VLAN, 0 untagged: the way back */
    md_chan_stats_t st;
    md_4733_rx_t dtmf;
    /* Right after the head, and its frames last in it (md_jb_t): what a packet or a tick
     * touches is the channel's head (up to jb), the jitter buffer's state, and one frame
     * slot with its bookkeeping: the first two are six lines together. */
    md_jb_t jb;
    /* After the frames: the send pass reads rtcp.next_at_ms, one line, a report the rest. */
    uint64_t rtcp_sent_at;   /* st.tx_packets at the last report: SR or RR */
    md_rtcp_t rtcp;
} md_channel_t;

/* What every packet and every tick touches of a channel: its head (the header, counters
 * and RFC 4733 state, MD_CHAN_HEAD_BYTES) and the jitter buffer's state (before its
 * per-slot arrays): six cache lines, which md_chan_prefetch asks for ahead of the
 * channel's turn (at scale the table is far larger than the caches and channels are
 * kilobytes apart, which the hardware prefetchers do not follow). */
#define MD_CHAN_HEAD_BYTES (offsetof(md_channel_t, jb))

/* Into L2 (md_prefetch_range_l2): the callers ask for many channels' lines at once, more
 * than L1's miss buffers hold. For the receive path's prefetch (engine/worker.c), into L2
 * instead of L1 took 8-10% off the capacity bench's cost per channel-frame (two runs at
 * 20,000 and 22,000 ivr channels, the two alternating every 20 ms period). */
static inline void md_chan_prefetch(const md_channel_t *ch)
{
    md_prefetch_range_l2(ch, MD_CHAN_HEAD_BYTES + offsetof(md_jb_t, meta));
}

/* A frame slot's bookkeeping and its first len bytes (a G.711 frame: 160), once the
 * sequence number is known (from the packet, or the jitter buffer's next_seq). */
static inline void md_chan_prefetch_slot(const md_channel_t *ch, uint16_t seq, size_t len)
{
    __builtin_prefetch(&ch->jb.meta[seq % MD_JB_SLOTS], 0, 2);
    md_prefetch_range_l2(ch->jb.data[seq % MD_JB_SLOTS], len);
}

/* The most channels a table can have: each takes two UDP ports below 65536. */
#define MD_CHAN_TABLE_MAX 32768

typedef struct {
    md_channel_t *chans;     /* caller's array of max entries */
    uint32_t max, used;
    uint16_t port_base;      /* channel i uses port_base + 2 i and the next */
    uint32_t next_id;
    uint32_t free_hint;
    /* Bit i: chans[i].in_use (md_chan_set_in_use keeps both). The tick walks the table
     * by these bits, so an idle entry of a large table costs a bit test, not a cache miss
     * and a dozen prefetches of memory nobody uses (4 KiB, stays in cache). */
    uint64_t live[MD_CHAN_TABLE_MAX / 64];
} md_chan_table_t;

static inline int md_chan_live(const md_chan_table_t *t, uint32_t i)
{
    return (int)((t->live[i >> 6] >> (i & 63)) & 1);
}

/* Sets chans[i].in_use and its bit: the only way in_use changes. */
void md_chan_set_in_use(md_chan_table_t *t, uint32_t i, int on);

/* chans: max preallocated channels; ports from port_base (even) upward. */
int md_chan_table_init(md_chan_table_t *t, md_channel_t *chans, uint32_t max, uint16_t port_base);

/* Creates a channel; returns its index (>= 0), -ENOSPC at the limit, -EINVAL for bad
 * parameters. *port receives its local RTP port. */
int md_chan_create(md_chan_table_t *t, const md_chan_params_t *prm, uint16_t *port);

/* Frees a channel by index; -ENOENT if it is not in use. */
int md_chan_delete(md_chan_table_t *t, uint32_t index);

/* Moving a channel to another worker (docs/conference.md): the state is copied into
 * another table, keeping its local_port. md_chan_adopt takes a copy src: into slot
 * `index` when >= 0 (a slot of this table whose channel moved away and comes back: fwd
 * set, not in use), else into a free slot. The copy gets a new id. Returns the slot,
 * -ENOSPC or -EBUSY (index not such a slot). */
int md_chan_adopt(md_chan_table_t *t, const md_channel_t *src, int index);
/* Frees a slot whose channel moved away (fwd set): -ENOENT if it is not one. */
int md_chan_release(md_chan_table_t *t, uint32_t index);
/* The slot of this table whose port range holds port, or -1. */
static inline int md_chan_port_slot(const md_chan_table_t *t, uint16_t port)
{
    if (port < t->port_base || (uint32_t)(port - t->port_base) / 2 >= t->max)
        return -1;
    return (int)((uint32_t)(port - t->port_base) / 2);
}

/* The channel owning a local UDP port (RTP or RTCP), or NULL. *is_rtcp tells which. A
 * channel that came from another worker keeps its port: the slot whose range holds port
 * answers only if that channel's own port is port. */
md_channel_t *md_chan_lookup(md_chan_table_t *t, uint16_t port, int *is_rtcp);

/* What became of a received datagram. */
typedef enum {
    MD_CHAN_AUDIO = 0,       /* queued in the jitter buffer */
    MD_CHAN_EVENT,           /* an RFC 4733 packet (digits, if any, in out) */
    MD_CHAN_RTCP,
    MD_CHAN_DROPPED,         /* counted in the channel's stats */
} md_chan_rx_t;

/* A datagram for this channel (p from md_pkt_parse, payload = UDP payload). now is the
 * caller's clock in 8 kHz units (jitter estimate, RFC 4733 and media timeouts). Up to two digits
 * may be completed (written to digits, count in *ndigits). */
md_chan_rx_t md_chan_receive(md_channel_t *ch, const md_pkt_t *p, int is_rtcp,
                             const uint8_t *payload, uint16_t len, uint64_t now,
                             md_4733_digit_t digits[2], int *ndigits);

#endif
