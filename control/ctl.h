/* The control thread's view of the engine: which workers there are, which channels the
 * API has created on them, the prompts, and the round trip of a command to a worker.
 *
 * API channel ids name a record here: the low 22 bits are the record's index, the high
 * 10 bits a generation that changes each time the record is reused, so a stale id
 * (a channel deleted, its record given to a new call) is NOT_FOUND, never the new call.
 *
 * Prompts are immutable once loaded. Reloading a name installs a new version; the old
 * one is freed when no channel's worker can still be reading it (the control thread
 * knows: it hands prompts to workers only in play commands, and a reply to a later play,
 * stop or delete on that channel proves the worker let go). */
#ifndef MD_CONTROL_CTL_H
#define MD_CONTROL_CTL_H

#include <stdint.h>

#include "engine/cmd.h"
#include "engine/events.h"
#include "engine/prompt.h"

typedef struct {
    md_worker_media_t *wm;      /* the worker's channels, for direct execution */
    md_cmd_ring_t *ring;        /* NULL: the worker runs in this thread: execute directly */
    md_event_ring_t *events;
    uint32_t max;               /* its channel slots */
    uint32_t used;
    uint32_t base;              /* first global slot of this worker */
} md_ctl_worker_t;

typedef struct md_ctl_prompt {
    md_prompt_t p;
    unsigned refs;              /* channel play lists that hold it */
    int current;                /* the version the name stands for now */
    struct md_ctl_prompt *next;
} md_ctl_prompt_t;

#define MD_CTL_TAG 64

typedef struct {
    uint32_t api_id;            /* 0: free */
    uint16_t worker;
    uint32_t slot, local_id;
    uint16_t local_port;
    md_codec_t codec;
    char tag[MD_CTL_TAG];
    md_ctl_prompt_t *play[MD_PLAY_MAX];
    unsigned n_play;
    md_ctl_prompt_t *overlay;
    /* Recording */
    md_rec_id_t rec_id;          /* 0: none */
    md_ctl_prompt_t *hold;       /* the hold music it hears as a held conference member */
    char rec_path[128];
    md_wav_format_t rec_format;
    uint8_t rec_stereo, rec_paused;
    /* Hold announcements: mixed over the hold music every announce_ms. */
    md_ctl_prompt_t *announce;
    uint32_t announce_ms;
    uint64_t announce_at;
    uint32_t announce_conf;      /* the conference the channel is held in */
    /* Moved to another worker (md_ctl_move): worker and slot above say where it is now;
     * its home (the worker whose port range holds local_port, and the slot) is its
     * record's index. home_id: the worker-local id its reserved home slot keeps, 0 at
     * home. prev_*: where it was before its last move, so events that worker had queued
     * still map to it. */
    uint32_t home_id;
    uint8_t has_prev;
    uint16_t prev_worker;
    uint32_t prev_slot, prev_local_id;
} md_ctl_chan_t;

/* A conference as the API knows it: same id scheme as channels. */
typedef struct {
    uint32_t api_id;            /* 0: free */
    uint16_t worker;
    uint32_t idx, local_id;     /* the worker's conference index and id */
    md_ctl_prompt_t *play;      /* the prompt it plays (a reference) */
    md_rec_id_t rec_id;         /* the recording of its mix, 0: none */
} md_ctl_conf_t;

typedef struct {
    md_ctl_worker_t *workers;
    unsigned n_workers;
    md_ctl_chan_t *chans;       /* one record per global slot */
    uint16_t *gen;              /* generation per record */
    uint32_t max_total, used;
    md_ctl_prompt_t *prompts;   /* every version still alive */
    unsigned n_current, max_prompts;
    uint32_t seq;
    unsigned timeout_ms;        /* a worker that does not answer a command in time */
    md_recorder_t *rec;         /* NULL: recording is off */
    /* Recordings stopped (or whose channel was deleted) until their ENDED event: who
     * they belonged to, for that event. */
    struct md_ctl_ending {
        md_rec_id_t id;
        uint32_t api_id;
        char path[128];
        md_wav_format_t format;
        uint8_t stereo;
    } endings[256];
    unsigned n_endings;
    md_ctl_conf_t *confs;       /* max_confs per worker, worker by worker */
    uint16_t *conf_gen;
    uint32_t max_confs;         /* per worker */
    uint64_t timeouts;
    /* Moved channels: guest[global slot of where one is now] = its record index + 1. */
    uint32_t *guest;
    md_channel_t *move_ch;      /* the state in transit (md_ctl_move) */
    md_media_t *move_m;
    uint64_t moves;
} md_ctl_t;

#define MD_CTL_ID_BITS 22

/* workers: n descriptions (wm, ring, events, max). Returns 0 or -ENOMEM / -EINVAL. */
int md_ctl_init(md_ctl_t *c, const md_ctl_worker_t *workers, unsigned n, unsigned max_prompts);
void md_ctl_free(md_ctl_t *c);

/* The record of an API id, or NULL. */
md_ctl_chan_t *md_ctl_find(md_ctl_t *c, uint32_t api_id);

/* Sends a command to a channel's worker (cmd->slot and cmd->id are filled from rec) and
 * waits for the reply. Returns the command's status, or -ETIMEDOUT / -EAGAIN. */
int md_ctl_exec(md_ctl_t *c, unsigned worker, md_cmd_t *cmd, md_cmd_reply_t *rep);

/* Creates a channel on the worker with the fewest channels, or on near's worker when
 * near != 0 (saves a move when it is bridged to near later). */
int md_ctl_create(md_ctl_t *c, md_cmd_t *cmd, uint32_t near, const char *tag,
                  md_ctl_chan_t **out, md_chan_info_t *info);
int md_ctl_delete(md_ctl_t *c, md_ctl_chan_t *rec);

/* Moves a channel to worker `to` (a conference's members live on its worker), keeping its
 * API id, local port and RTP/RTCP state (sequence numbers, timestamps, SSRC, jitter
 * buffer, learnt peer, DTMF detectors, prompt playing); datagrams to its port are handed
 * over by its home worker. 0 (also when it is there already), -EBUSY (bridged, in a
 * conference, or recording: "stop the recording first"), -ENOSPC (no free slot on `to`),
 * -EMFILE (no Opus codec state on `to`), -ENOTSUP, or a worker's timeout; on failure the
 * channel stays where it was. In-band digits being sent stop. */
int md_ctl_move(md_ctl_t *c, md_ctl_chan_t *rec, unsigned to);
/* ---- bridges and conferences across workers: the steps the API and the ACD share ----
 * A bridge's two legs and a conference's members live on one worker; these move a
 * channel there first (md_ctl_move). Their errors, each with one meaning
 * (md_ctl_join_error() words them):
 *   -ENOENT     a channel or the conference is gone (on the worker)
 *   -EINVAL     a channel with itself
 *   -ENOTCONN   (md_ctl_conf_from_bridge) the two are not bridged to each other
 *   -ENOTSUP    conferences are off in this engine
 *   -ENOSPC     every conference of the worker (or conference record) is in use
 *   -EBUSY      the channel is bridged (elsewhere) or already in a conference
 *   -EXDEV      the channel that must move records (for a bridge: both record): a
 *               recording is fed by its worker, stop it first
 *   -ENOBUFS    no free channel slot on the worker it must move to
 *   -EMFILE     no free Opus codec state there
 *   -ENODEV     this engine cannot move channels (no import tables)
 *   -ETIMEDOUT, -EAGAIN  a worker did not answer / its ring is full
 * On failure nothing has changed but, possibly, where a channel lives (transparent). */
/* md_ctl_move() for joining: 0 when it is there already, -EXDEV if it records. */
int md_ctl_move_to(md_ctl_t *c, md_ctl_chan_t *rec, unsigned to);
/* Bridges a and b; on two workers, b moves to a's (a to b's when b records, or when a's
 * worker has no room for b). */
int md_ctl_bridge(md_ctl_t *c, md_ctl_chan_t *a, md_ctl_chan_t *b);
/* A bridged to b becomes a conference of the two (a PARTY, b AGENT) on their worker. */
int md_ctl_conf_from_bridge(md_ctl_t *c, md_ctl_chan_t *a, md_ctl_chan_t *b, md_ctl_conf_t **out);
/* Adds rec to cf, moving it to cf's worker first. cmd: conf.role, flags, gains, beep set
 * by the caller (the rest is filled here). */
int md_ctl_conf_add(md_ctl_t *c, const md_ctl_conf_t *cf, md_ctl_chan_t *rec, md_cmd_t *cmd);
/* Deletes cf (rebridge: its two members are bridged again; a rebridge refused ends it
 * anyway), stops its mix recording, forgets it. Returns the first DELETE's status. */
int md_ctl_conf_end(md_ctl_t *c, md_ctl_conf_t *cf, int rebridge);
/* Words for the errors above. */
const char *md_ctl_join_error(int rc);
/* The record of the channel with worker-local id local_id on a worker (moved or not). */
md_ctl_chan_t *md_ctl_find_local(md_ctl_t *c, unsigned worker, uint32_t local_id);

/* names: n prompt names; loops, gaps as in md_play_item_t. Unknown name: -ENOENT with
 * the name in err. */
int md_ctl_play(md_ctl_t *c, md_ctl_chan_t *rec, const char *const *names, const uint16_t *loops,
                const uint16_t *gaps, unsigned n, int barge_in, uint32_t tag, char *err,
                size_t errlen);
int md_ctl_overlay(md_ctl_t *c, md_ctl_chan_t *rec, const char *name, float gain_db, char *err,
                   size_t errlen);
int md_ctl_stop(md_ctl_t *c, md_ctl_chan_t *rec);

/* Loads (or reloads) a prompt. Names: 1-63 of [A-Za-z0-9._/-]. */
int md_ctl_load_prompt(md_ctl_t *c, const char *name, const char *path, const md_prompt_t **out,
                       char *err, size_t errlen);
const md_prompt_t *md_ctl_prompt(const md_ctl_t *c, const char *name);

/* Starts recording a channel into relpath (beneath the recorder's directory). -ENODEV
 * without a recorder, -EBUSY if the channel records already, the recorder's errors
 * (-EPERM for a path leaving the directory, -EEXIST, -ENOENT...) with a message. */
int md_ctl_record_start(md_ctl_t *c, md_ctl_chan_t *rec, const char *relpath,
                        md_wav_format_t format, int stereo, char *err, size_t errlen);
/* Stops it: the worker stops feeding it, then the recorder finishes the file (an
 * ENDED event follows). -ENOENT if the channel does not record. */
int md_ctl_record_stop(md_ctl_t *c, md_ctl_chan_t *rec);
/* Who an ended recording belonged to: fills *out and forgets it (1), or 0. */
int md_ctl_take_ending(md_ctl_t *c, md_rec_id_t id, struct md_ctl_ending *out);

/* Conferences: per-worker tables of max_confs (call before md_ctl_* use them). */
int md_ctl_conf_init(md_ctl_t *c, uint32_t max_confs);
md_ctl_conf_t *md_ctl_find_conf(md_ctl_t *c, uint32_t api_id);
/* Records the conference a worker created (idx, id); returns it. */
md_ctl_conf_t *md_ctl_conf_created(md_ctl_t *c, unsigned worker, uint32_t idx, uint32_t local_id);
void md_ctl_conf_gone(md_ctl_t *c, md_ctl_conf_t *cf);
/* Sets the conference's play reference (NULL: none), releasing the old one. */
void md_ctl_conf_play_ref(md_ctl_t *c, md_ctl_conf_t *cf, md_ctl_prompt_t *p);
void md_ctl_hold_ref(md_ctl_t *c, md_ctl_chan_t *rec, md_ctl_prompt_t *p);
void md_ctl_overlay_ref(md_ctl_t *c, md_ctl_chan_t *rec, md_ctl_prompt_t *p);
void md_ctl_announce_ref(md_ctl_t *c, md_ctl_chan_t *rec, md_ctl_prompt_t *p);
/* The current version of a prompt (for references), or NULL. */
md_ctl_prompt_t *md_ctl_prompt_ref(md_ctl_t *c, const char *name);
/* The API id of a conference event (ev->conf on worker w), or 0. */
uint32_t md_ctl_event_conf(const md_ctl_t *c, unsigned worker, const md_event_t *ev);

/* The API id of a worker's event, or 0 if the channel is gone. */
uint32_t md_ctl_event_channel(const md_ctl_t *c, unsigned worker, const md_event_t *ev);

#endif
