/* The recorder (REQ REC-1): WAV recordings written by a dedicated I/O thread with
 * io_uring, fed by workers through lock-free rings.
 *
 * Threads and who may call what:
 * - workers ("producers" 0 .. n_producers-1): md_recorder_write() only, each on its own
 *   producer number. It never blocks, takes no lock, makes no system call and does not
 *   allocate: the frame is copied into the producer's single-producer single-consumer
 *   ring (plain C11 atomics, no DPDK), or dropped and counted on the recording when the
 *   ring is full.
 * - the control thread (one thread, or callers serialised by the caller): create,
 *   destroy, open, pause, resume, stop, stats, events. These may make system calls
 *   (open() resolves the path and creates the file) and take the recorder's mutex, which
 *   the I/O thread holds only to take commands.
 * - the I/O thread (started by create): drains the rings, encodes (G.711) and
 *   interleaves into each recording's buffer (a frame that does not fit is dropped and
 *   counted), writes with io_uring (batched submissions, registered buffers and files
 *   when the kernel allows) and keeps the WAV header valid as the file grows: every data
 *   write is linked to a rewrite of the header's sizes, and data is flushed at least
 *   every flush_ms (default 500 ms) of audio or of wall time. A process killed with
 *   SIGKILL leaves files that read as valid WAV, missing at most the last flush_ms plus
 *   the writes in flight.
 *
 * Audio: 8 kHz, frames of 1 to MD_REC_FRAME_MAX samples (20 ms = 160 is the usual).
 * Stereo recordings interleave caller (left) and agent (right). Alignment is by tick:
 * each md_recorder_write() call carries one tick for both sides, so the worker must
 * write every tick and pass silence (or NULL, which means silence) for a side that had
 * no frame. Formats: PCM16, µ-law, A-law.
 *
 * A recording ends by md_recorder_stop(), by an error (-ENOSPC for a full disk, -EIO,
 * -EFBIG at the 4 GiB WAV limit) or by md_recorder_destroy(). Each end produces exactly
 * one MD_REC_EV_ENDED event with the final statistics, after the file is final and
 * closed; an error ends that recording only, with a valid file holding everything that
 * reached the disk. */
#ifndef MD_ENGINE_RECORDER_H
#define MD_ENGINE_RECORDER_H

#include <stddef.h>
#include <stdint.h>

#include "dsp/wav.h"

#define MD_REC_RATE 8000
#define MD_REC_FRAME_MAX 160          /* samples per side in one write */

typedef struct md_recorder md_recorder_t;

/* A recording's id: slot and generation. A stale id (the recording ended) is refused
 * with -ENOENT, never confused with a later recording in the same slot. 0 is never an
 * id. */
typedef uint64_t md_rec_id_t;

typedef struct {
    const char *dir;              /* every recording is created beneath this directory */
    unsigned max_recordings;      /* open at the same time (1 .. 1<<20) */
    unsigned n_producers;         /* worker rings (1 .. 256) */
    size_t ring_bytes;            /* per producer ring; 0: 1 MiB (about 3000 mono frames) */
    size_t buffer_bytes;          /* per recording; 0: 16 KiB (2 s of G.711 mono) */
    unsigned flush_ms;            /* 0: 500; at most 1000 */
    unsigned io_workers;          /* 0: the kernel's default; else at most this many
                                   * io_uring kernel workers (io-wq) for writes that
                                   * cannot complete inline (ext4 buffered writes) */
    int no_register;              /* 1: do not register buffers and files with io_uring */
    int no_openat2;               /* 1: resolve paths without openat2 (for tests) */
} md_recorder_config_t;

/* Creates the recorder and starts its I/O thread. Returns 0 or a negative errno code
 * with a message in err: -ENOENT / -ENOTDIR / -EACCES for dir, -EINVAL for limits,
 * -ENOMEM, or io_uring's error. */
int md_recorder_create(md_recorder_t **rec, const md_recorder_config_t *cfg, char *err,
                       size_t errlen);

/* Ends every recording (each flushed, its header final, closed, its ENDED event queued
 * but no longer readable), stops the I/O thread and frees everything. The workers must
 * have stopped calling md_recorder_write(). NULL is allowed. */
void md_recorder_destroy(md_recorder_t *rec);

/* Creates relpath beneath the directory (it must not exist: -EEXIST) and starts a
 * recording fed by `producer`. relpath must be relative and stay beneath the directory:
 * an absolute path or a '..' component is -EPERM, a symlink that leads outside is
 * -EPERM (openat2 RESOLVE_BENEATH; without openat2 no symlink is followed at all), an
 * empty or overlong path -EINVAL; parent directories must exist. Also -EINVAL for a bad
 * format, channel count or producer, -ENOSPC when max_recordings are open (or ended
 * recordings' events were not read yet). Message in err. */
int md_recorder_open(md_recorder_t *rec, unsigned producer, const char *relpath,
                     md_wav_format_t format, unsigned channels, md_rec_id_t *id, char *err,
                     size_t errlen);

/* Worker: hands over one tick of n samples (1 .. MD_REC_FRAME_MAX). Mono: left only
 * (right must be NULL). Stereo: left is the caller, right the agent; NULL is silence.
 * Returns 0 when queued or when the recording is paused (the frame is counted as paused
 * and not written), -ENOBUFS when the ring is full (counted as dropped), -ENOENT when
 * the recording is unknown, stopped or ended, -EINVAL for bad arguments or another
 * producer's recording. */
int md_recorder_write(md_recorder_t *rec, unsigned producer, md_rec_id_t id,
                      const int16_t *left, const int16_t *right, unsigned n);

/* Frames written after md_recorder_pause() returns are not recorded (counted as paused)
 * until md_recorder_resume(); the file simply has no audio for that time. */
int md_recorder_pause(md_recorder_t *rec, md_rec_id_t id);
int md_recorder_resume(md_recorder_t *rec, md_rec_id_t id);

/* Ends a recording: frames already handed over are written, the header made final and
 * the file closed by the I/O thread, which then queues the ENDED event (error 0).
 * Returns at once; -ENOENT if the recording is unknown or already ending. */
int md_recorder_stop(md_recorder_t *rec, md_rec_id_t id);

typedef struct {
    uint64_t frames_written;      /* frames appended to the file's stream */
    uint64_t frames_dropped;      /* ring full, or the recording's buffer full */
    uint64_t frames_paused;       /* handed over while paused, not written */
    uint64_t bytes;               /* audio bytes that reached the file (header excluded) */
    int error;                    /* 0, or the error that ended the recording */
} md_rec_stats_t;

/* Statistics of a running recording (approximate while it runs: counters are read one
 * by one). -ENOENT once it has ended: its final statistics come in the ENDED event. */
int md_recorder_stats(md_recorder_t *rec, md_rec_id_t id, md_rec_stats_t *st);

typedef enum {
    MD_REC_EV_ENDED = 1,          /* stopped (error 0) or ended by an error */
} md_rec_event_type_t;

typedef struct {
    md_rec_event_type_t type;
    md_rec_id_t id;
    md_rec_stats_t stats;         /* final; stats.error is the reason */
} md_rec_event_t;

/* Control thread: returns 1 and fills *ev, or 0 when there is none. A recording's slot
 * is reused only after its event was read, so no event is ever lost. */
int md_recorder_poll_event(md_recorder_t *rec, md_rec_event_t *ev);

/* An eventfd that becomes readable when events are queued (for the control thread's
 * epoll); read it to reset it, then poll events until none is left. */
int md_recorder_event_fd(const md_recorder_t *rec);

typedef struct {
    int fixed_buffers;            /* 1 if the buffers are registered with io_uring */
    int fixed_files;              /* 1 if the files are registered */
    int resolve_beneath;          /* 1 if paths are resolved with openat2 RESOLVE_BENEATH */
    unsigned open_recordings;
    uint64_t io_thread_cpu_ns;    /* CPU time of the I/O thread so far */
    uint64_t sqes_submitted;      /* io_uring operations */
    uint64_t submit_calls;        /* io_uring_submit() calls that submitted something */
} md_recorder_info_t;

void md_recorder_info(md_recorder_t *rec, md_recorder_info_t *info);

/* Testing only: 1 stops the I/O thread from draining the rings (so producers outrun
 * it), 0 lets it go on. */
void md_recorder_test_stall(md_recorder_t *rec, int stall);

#endif
