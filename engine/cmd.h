/* Commands from the control thread to a worker, and the worker's replies.
 *
 * The control thread never touches a worker's channels: it sends a command down a
 * single-producer single-consumer ring, the worker applies it between two receive
 * bursts (md_cmd_exec()) and sends the reply back up another ring. Both rings are
 * lock-free and fixed-size; the worker never blocks on them (a full reply ring cannot
 * happen: the control thread has at most MD_CMD_RING commands outstanding).
 *
 * md_cmd_exec() itself is plain C on the channel table and media state, so it is tested
 * without DPDK and can be called directly when one thread is both control and worker. */
#ifndef MD_ENGINE_CMD_H
#define MD_ENGINE_CMD_H

#include <stdatomic.h>
#include <stdint.h>

#include "engine/channel.h"
#include "engine/conf.h"
#include "engine/media.h"

typedef enum {
    MD_CMD_CREATE = 1,   /* prm, inband, no_media_ms, strip_dtmf -> slot, id, port */
    MD_CMD_DELETE,       /* slot, id */
    MD_CMD_GET,          /* slot, id -> info */
    MD_CMD_PLAY,         /* slot, id, items[n], barge_in */
    MD_CMD_OVERLAY,      /* slot, id, items[0], gain_db */
    MD_CMD_STOP,         /* slot, id */
    MD_CMD_BRIDGE,       /* slot, id, slot2, id2 */
    MD_CMD_UNBRIDGE,     /* slot, id */
    MD_CMD_RECORD,       /* slot, id, rec_id (0: stop feeding), rec_stereo */
    MD_CMD_SEND_DIGITS,  /* slot, id, digits, rfc4733, on_ms, gap_ms */
    /* Conferences (engine/conf.h, docs/conference.md). A conference is named by
     * conf.slot and conf.id like a channel by slot and id; -ENOTSUP when the worker has
     * no conference state (w->conf NULL). */
    MD_CMD_CONF_CREATE,  /* conf.k, conf.hangover_ms -> conf info; -ENOSPC: table full */
    MD_CMD_CONF_FROM_BRIDGE, /* slot, id (PARTY), slot2, id2 (AGENT), both bridged to each
                          * other: unbridged and put in a new conference in one step */
    MD_CMD_CONF_DELETE,  /* conf; conf.rebridge: the two members left are bridged again
                          * (-EINVAL and nothing done unless exactly two) */
    MD_CMD_CONF_ADD,     /* conf, slot, id, conf.role/cls/hears/flags, conf.in_db/out_db;
                          * -EBUSY: bridged or already in a conference */
    MD_CMD_CONF_REMOVE,  /* conf, slot, id (-ENOENT unless a member of conf) */
    MD_CMD_CONF_SET,     /* conf, slot, id, role/cls/hears/flags, gains, conf.beep,
                          * conf.hold (the music, items[0].prompt, with MD_CONF_HOLD) */
    MD_CMD_CONF_PLAY,    /* conf; conf.member 0: items[0] (n_items 0 stops) mixed into the
                          * whole conference, items[0].loops (0: forever), gain_db, tag;
                          * conf.member 1: to channel slot, id only, as MD_CMD_OVERLAY */
    MD_CMD_CONF_RECORD,  /* conf, rec_id (0: stop), conf.rec_mask (0: PARTY|AGENT|COACH) */
    MD_CMD_CONF_GET,     /* conf -> conf info */
    /* Moving a channel to another worker (docs/conference.md: a conference's members live
     * on its worker). -ENOTSUP without w->imports. The control thread: DETACH on the
     * channel's worker, copies the slot's md_channel_t and md_media_t (the worker no
     * longer touches them), ATTACH on the new worker, then FORWARD on the channel's home
     * worker (whose port range holds its port) unless that is the new worker or DETACH
     * already said it. */
    MD_CMD_DETACH,       /* slot, id; slot2: the worker it goes to + 1 (required when the
                          * channel leaves its home worker: its slot stays reserved and
                          * its datagrams go to that worker's inbox). -EBUSY: bridged, a
                          * conference member or recording. In-band digits being sent stop,
                          * the Opus codec state is released. */
    MD_CMD_ATTACH,       /* move_ch, move_m: the copies -> slot, id (a new id) and port
                          * (the same). Home again: its reserved slot, else a free one.
                          * -ENOSPC, -EBUSY (port already imported), -EMFILE (no Opus state) */
    MD_CMD_FORWARD,      /* slot, id (the id it had when it left this home worker); slot2:
                          * where its datagrams go now (worker + 1), 0: the channel is gone,
                          * the slot is free again. -ENOENT: no such moved-away slot */
} md_cmd_type_t;

/* The conference part of a command. */
typedef struct {
    uint32_t slot, id;            /* the conference */
    uint8_t k;                    /* CREATE: talkers mixed in a large conference (0: 3) */
    uint16_t hangover_ms;         /* CREATE: talking events' hangover (0: 400) */
    uint8_t role;                 /* md_conf_role_t */
    uint8_t cls, hears;           /* MD_CONF_ROLE_CUSTOM */
    uint8_t flags;                /* MD_CONF_MUTE | MD_CONF_DEAF | MD_CONF_HOLD */
    float in_db, out_db;          /* member gains */
    uint8_t beep;                 /* SET to BARGE: beep to the agents */
    uint8_t rebridge;             /* DELETE */
    uint8_t member;               /* PLAY: to the member slot, id */
    uint8_t rec_mask;             /* RECORD */
} md_cmd_conf_t;

typedef struct {
    md_cmd_type_t type;
    uint32_t seq;                 /* copied into the reply */
    uint32_t slot, id;            /* the channel: slot checked against id */
    uint32_t slot2, id2;          /* the other channel of a bridge */
    md_chan_params_t prm;
    uint8_t inband, strip_dtmf, barge_in;
    uint32_t no_media_ms;
    md_play_item_t items[MD_PLAY_MAX];
    unsigned n_items;
    float gain_db;
    uint32_t tag;                 /* PLAY / OVERLAY: comes back in the PROMPT_DONE event */
    md_rec_id_t rec_id;
    uint8_t rec_stereo;
    md_cmd_conf_t conf;           /* MD_CMD_CONF_* */
    char digits[MD_SEND_MAX];     /* SEND_DIGITS */
    uint8_t rfc4733;
    uint16_t on_ms, gap_ms;
    const md_channel_t *move_ch;  /* ATTACH: the channel's state, valid until the reply */
    const md_media_t *move_m;
} md_cmd_t;

/* What a channel looks like from outside (MD_CMD_CREATE and MD_CMD_GET). */
typedef struct {
    uint32_t slot, id;
    uint16_t local_port;
    uint8_t learnt;
    uint8_t src_version;
    uint8_t src_ip[16];
    uint16_t src_port;
    uint32_t bridged_id;          /* 0: not bridged */
    uint8_t playing;
    md_rec_id_t rec_id;
    md_chan_stats_t st;
    md_rtcp_t rtcp;
    md_jb_stats_t jb;
    unsigned jb_depth;
    uint64_t frames, concealed;
} md_chan_info_t;

typedef struct {
    uint32_t seq;
    int status;                   /* 0 or a negative errno code */
    md_chan_info_t info;
    md_conf_info_t conf;          /* MD_CMD_CONF_CREATE, _FROM_BRIDGE, _GET */
} md_cmd_reply_t;

#define MD_CMD_RING 64  /* power of two */

typedef struct {
    _Atomic uint32_t cmd_head, cmd_tail;
    _Atomic uint32_t rep_head, rep_tail;
    md_cmd_t cmd[MD_CMD_RING];
    md_cmd_reply_t rep[MD_CMD_RING];
} md_cmd_ring_t;

void md_cmd_ring_init(md_cmd_ring_t *r);

/* Control side: send a command (-EAGAIN if MD_CMD_RING are outstanding), take a reply
 * (1 and *rep filled, or 0 if none yet). */
int md_cmd_send(md_cmd_ring_t *r, const md_cmd_t *c);
int md_cmd_take_reply(md_cmd_ring_t *r, md_cmd_reply_t *rep);

/* Worker side: apply every pending command and post the replies. Returns how many. */
unsigned md_cmd_serve(md_cmd_ring_t *r, md_worker_media_t *w);

/* Applies one command to a worker's channels and fills the reply. Errors: -EINVAL (bad
 * parameters), -ENOENT (no such channel: wrong slot or id), -ENOSPC (every channel in
 * use), -EBUSY (bridging a channel already bridged elsewhere). Conferences: -ENOENT (no
 * such conference or member), -ENOSPC (every conference in use), -EBUSY (adding a
 * channel that is bridged or in a conference, bridging a conference member), -ENOTSUP
 * (no conference state on this worker). */
void md_cmd_exec(md_worker_media_t *w, const md_cmd_t *c, md_cmd_reply_t *rep);

#endif
