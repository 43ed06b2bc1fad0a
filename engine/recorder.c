/* The recorder: producer rings, the I/O thread and its io_uring, WAV headers kept valid.
 *
 * Ownership of a recording slot:
 *   FREE     on the free list (mutex); md_recorder_open() takes it, fills it and
 *            publishes wgen (release), so a worker that reads wgen (acquire) and pushes
 *            (release) makes the slot's fields visible to the I/O thread that pops the
 *            frame (acquire): the I/O thread may activate a slot on its first frame,
 *            before it has taken the OPEN command.
 *   OPENING  published, not yet seen by the I/O thread.
 *   ACTIVE   frames appended to its buffer; data written as buffer_bytes/2 or flush_ms
 *            of audio accumulates, each data write linked to a header rewrite.
 *   CLOSING  stopped: remaining data written, then the final header.
 *   FINAL    final header in flight (after a stop, or at once after an error).
 *   ENDED    file closed; waiting for its event to fit in the event ring, then FREE.
 * Only the I/O thread moves a slot from OPENING to FREE. */
#define _GNU_SOURCE
#include "engine/recorder.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <liburing.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "dsp/g711.h"

enum { ST_FREE, ST_OPENING, ST_ACTIVE, ST_CLOSING, ST_FINAL, ST_ENDED };
enum { OP_DATA = 1, OP_HDR, OP_PAD, OP_FINAL };

#define ENTRY_HDR 16u
#define F_LEFT 1u
#define F_RIGHT 2u
#define F_PAD 0x8000u
#define POLL_NS 2000000LL          /* the I/O thread's longest sleep */
#define SCAN_NS 100000000LL        /* time-based flush check */
#define WAV_LIMIT 0xFFFFFFF0ull    /* data + header must fit the 32-bit RIFF size */

/* One producer's ring: variable-sized entries of 16-byte multiples, a pad entry where
 * an entry would not fit before the end. head and tail count bytes and only grow. */
typedef struct {
    _Alignas(64) _Atomic uint64_t head;    /* consumer */
    _Alignas(64) _Atomic uint64_t tail;    /* producer */
    uint64_t head_cache;                   /* producer's last view of head */
    uint8_t *data;
    uint64_t size;
} pring_t;

typedef struct {
    uint64_t id;
    uint16_t n;
    uint16_t flags;
    uint32_t len;                          /* whole entry, a multiple of 16 */
} entry_t;

typedef struct {
    /* Read by workers (a cache line of its own: the I/O thread writes the next ones on
     * every frame). */
    _Alignas(64) _Atomic uint32_t wgen;                 /* generation accepting frames, else 0 */
    _Atomic uint32_t wmeta;                /* producer | channels << 16 */
    _Atomic uint32_t paused;
    /* Written by the owning worker only (load + store, no locked instruction). */
    _Atomic uint64_t dropped_ring;
    _Atomic uint64_t frames_paused;
    /* Written by the I/O thread, read by the control thread. */
    _Alignas(64) _Atomic uint64_t frames_written;
    _Atomic uint64_t dropped_buf;
    _Atomic uint64_t bytes;
    _Atomic int error;
    _Atomic int state;
    _Atomic uint32_t gen;                  /* written by open on a FREE slot */
    /* Set by open before publishing, then the I/O thread's. */
    int fd;
    md_wav_format_t format;
    unsigned channels;
    unsigned block;                        /* bytes per sample frame */
    unsigned hlen;
    /* The I/O thread's. */
    uint8_t *buf;
    uint64_t appended, written, next_flush, flush_bytes, inflight_end;
    int64_t last_flush_ns;
    unsigned inflight;
    int queued, flush_due, hdr_dirty, fixed_file, ev_pending;
    uint8_t hdr[MD_WAV_HEADER_MAX + 6];
} slot_t;

typedef struct {
    int op;                                /* 1 open, 2 stop */
    uint32_t slot, gen;
} cmd_t;

struct md_recorder {
    md_recorder_config_t cfg;
    char *dir;
    int dirfd, efd;
    int use_openat2;
    unsigned max;
    slot_t *slots;
    pring_t *rings;
    unsigned nprod;

    /* Control <-> I/O thread. */
    pthread_mutex_t mu;
    uint32_t *freelist;
    unsigned nfree;
    cmd_t *cmds;
    unsigned ncmds, cmdcap;
    _Atomic int quit, stall;
    _Atomic unsigned open_count;

    /* Events, I/O thread -> control thread. */
    _Alignas(64) _Atomic uint32_t ev_head;
    _Alignas(64) _Atomic uint32_t ev_tail;
    md_rec_event_t *evs;
    uint32_t evcap;

    /* The I/O thread's. */
    pthread_t thread;
    int thread_started;
    struct io_uring ring;
    unsigned cq_cap, inflight;
    uint8_t *arena;
    size_t arena_bytes;
    unsigned per_group;                    /* slots per registered buffer */
    int fixed_buffers, fixed_files;
    uint32_t *queue;                       /* slots to service, FIFO */
    unsigned qhead, qcount;
    uint32_t *evwait;                      /* ENDED slots whose event did not fit */
    unsigned nevwait;
    int64_t now, last_scan;
    int quitting;
    _Atomic uint64_t sqes, submits;
};

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#define LD(p) atomic_load_explicit((p), memory_order_relaxed)
#define ST(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define INC(p) ST((p), LD(p) + 1)          /* single writer */

/* ---- the worker side --------------------------------------------------------------- */

int md_recorder_write(md_recorder_t *rec, unsigned producer, md_rec_id_t id,
                      const int16_t *left, const int16_t *right, unsigned n)
{
    uint32_t si = (uint32_t)id, gen = (uint32_t)(id >> 32);
    if (producer >= rec->nprod || n == 0 || n > MD_REC_FRAME_MAX)
        return -EINVAL;
    if (si >= rec->max || gen == 0)
        return -ENOENT;
    slot_t *s = &rec->slots[si];
    if (atomic_load_explicit(&s->wgen, memory_order_acquire) != gen)
        return -ENOENT;
    uint32_t meta = LD(&s->wmeta);
    if ((meta & 0xFFFF) != producer || ((meta >> 16) == 1 && right != NULL))
        return -EINVAL;
    if (LD(&s->paused)) {
        INC(&s->frames_paused);
        return 0;
    }
    pring_t *r = &rec->rings[producer];
    uint32_t payload = (left ? n * 2 : 0) + (right ? n * 2 : 0);
    uint64_t need = (ENTRY_HDR + payload + 15) & ~(uint64_t)15;
    uint64_t tail = LD(&r->tail);
    uint64_t pos = tail & (r->size - 1), to_end = r->size - pos;
    uint64_t pad = to_end < need ? to_end : 0;
    if (tail + pad + need - r->head_cache > r->size) {
        r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
        if (tail + pad + need - r->head_cache > r->size) {
            INC(&s->dropped_ring);
            return -ENOBUFS;
        }
    }
    if (pad) {
        entry_t e = { 0, 0, F_PAD, (uint32_t)pad };
        memcpy(r->data + pos, &e, sizeof(e));
        pos = 0;
    }
    entry_t e = { id, (uint16_t)n, (uint16_t)((left ? F_LEFT : 0) | (right ? F_RIGHT : 0)),
                  (uint32_t)need };
    uint8_t *p = r->data + pos;
    memcpy(p, &e, sizeof(e));
    p += ENTRY_HDR;
    if (left) {
        memcpy(p, left, n * 2);
        p += n * 2;
    }
    if (right)
        memcpy(p, right, n * 2);
    atomic_store_explicit(&r->tail, tail + pad + need, memory_order_release);
    return 0;
}

/* ---- the I/O thread ---------------------------------------------------------------- */

static void enqueue(md_recorder_t *rec, slot_t *s)
{
    if (s->queued)
        return;
    s->queued = 1;
    rec->queue[(rec->qhead + rec->qcount++) % rec->max] = (uint32_t)(s - rec->slots);
}

static void set_error(md_recorder_t *rec, slot_t *s, int e)
{
    if (LD(&s->error) == 0)
        ST(&s->error, e);
    ST(&s->wgen, 0);          /* the worker gets -ENOENT from now on */
    enqueue(rec, s);
}

static void activate(md_recorder_t *rec, slot_t *s)
{
    uint32_t si = (uint32_t)(s - rec->slots);
    s->appended = s->written = s->inflight_end = 0;
    s->inflight = 0;
    s->flush_due = 0;
    s->hdr_dirty = 1;
    s->last_flush_ns = rec->now;
    uint64_t per_ms = (uint64_t)MD_REC_RATE / 1000 * s->block;
    s->flush_bytes = per_ms * rec->cfg.flush_ms;
    if (s->flush_bytes > rec->cfg.buffer_bytes / 2)
        s->flush_bytes = rec->cfg.buffer_bytes / 2;
    /* Stagger the first flush over [1/2, 1) of the interval so that recordings opened
     * together do not all write in the same tick forever after. */
    uint32_t h = si * 2654435761u;
    s->next_flush = s->flush_bytes / 2 + (uint64_t)(h >> 16) * (s->flush_bytes / 2) / 65536;
    s->fixed_file = 0;
    if (rec->fixed_files && io_uring_register_files_update(&rec->ring, si, &s->fd, 1) == 1)
        s->fixed_file = 1;
    ST(&s->state, ST_ACTIVE);
    enqueue(rec, s);
}

static void encode(const slot_t *s, const entry_t *e, const int16_t *src, uint8_t *out)
{
    unsigned n = e->n;
    const int16_t *l = (e->flags & F_LEFT) ? src : NULL;
    const int16_t *r = (e->flags & F_RIGHT) ? src + (l ? n : 0) : NULL;
    if (s->format == MD_WAV_PCM16) {
        int16_t *o = (int16_t *)(void *)out;
        if (s->channels == 1) {
            if (l)
                memcpy(o, l, n * 2);
            else
                memset(o, 0, n * 2);
        } else {
            for (unsigned i = 0; i < n; i++) {
                o[2 * i] = l ? l[i] : 0;
                o[2 * i + 1] = r ? r[i] : 0;
            }
        }
        return;
    }
    int ulaw = s->format == MD_WAV_ULAW;
    uint8_t sil = ulaw ? md_ulaw_encode1(0) : md_alaw_encode1(0);
    if (s->channels == 1) {
        if (!l)
            memset(out, sil, n);
        else if (ulaw)
            md_ulaw_encode(out, l, n);
        else
            md_alaw_encode(out, l, n);
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = l ? (ulaw ? md_ulaw_encode1(l[i]) : md_alaw_encode1(l[i])) : sil;
        out[2 * i + 1] = r ? (ulaw ? md_ulaw_encode1(r[i]) : md_alaw_encode1(r[i])) : sil;
    }
}

static void append(md_recorder_t *rec, const entry_t *e, const uint8_t *payload)
{
    uint32_t si = (uint32_t)e->id, gen = (uint32_t)(e->id >> 32);
    if (si >= rec->max)
        return;
    slot_t *s = &rec->slots[si];
    if (LD(&s->gen) != gen)
        return;                                    /* a stale frame */
    int st = LD(&s->state);
    if (st == ST_OPENING) {
        activate(rec, s);
        st = ST_ACTIVE;
    }
    if (st != ST_ACTIVE || LD(&s->error) != 0)
        return;                                    /* stopped: frames after the stop */
    uint64_t fb = (uint64_t)e->n * s->block;
    if (s->hlen + s->appended + fb > WAV_LIMIT) {
        set_error(rec, s, -EFBIG);
        return;
    }
    uint64_t cap = rec->cfg.buffer_bytes;
    if (s->appended + fb - s->written > cap) {
        INC(&s->dropped_buf);
        return;
    }
    uint8_t tmp[MD_REC_FRAME_MAX * 4];
    encode(s, e, (const int16_t *)(const void *)payload, tmp);
    uint64_t pos = s->appended % cap;
    uint64_t first = cap - pos < fb ? cap - pos : fb;
    memcpy(s->buf + pos, tmp, first);
    if (first < fb)
        memcpy(s->buf, tmp + first, fb - first);
    s->appended += fb;
    INC(&s->frames_written);
    if (s->appended >= s->next_flush)
        enqueue(rec, s);
}

static void drain_rings(md_recorder_t *rec)
{
    for (unsigned p = 0; p < rec->nprod; p++) {
        pring_t *r = &rec->rings[p];
        uint64_t head = LD(&r->head);
        uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
        while (head != tail) {
            entry_t e;
            const uint8_t *at = r->data + (head & (r->size - 1));
            memcpy(&e, at, sizeof(e));
            if (!(e.flags & F_PAD))
                append(rec, &e, at + ENTRY_HDR);
            head += e.len;
        }
        atomic_store_explicit(&r->head, head, memory_order_release);
    }
}

static void submit_now(md_recorder_t *rec)
{
    int n = io_uring_submit(&rec->ring);
    if (n > 0) {
        atomic_fetch_add_explicit(&rec->sqes, (uint64_t)n, memory_order_relaxed);
        atomic_fetch_add_explicit(&rec->submits, 1, memory_order_relaxed);
    }
}

static struct io_uring_sqe *get_sqe(md_recorder_t *rec)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&rec->ring);
    if (sqe == NULL) {
        submit_now(rec);
        sqe = io_uring_get_sqe(&rec->ring);
    }
    return sqe;
}

/* Room for n more operations: in the completion queue (never overflowed) and in the
 * submission queue (submitting what is there when it is full). */
static int room(md_recorder_t *rec, unsigned n)
{
    if (rec->inflight + n > rec->cq_cap)
        return -EBUSY;
    if (io_uring_sq_space_left(&rec->ring) < n)
        submit_now(rec);
    return io_uring_sq_space_left(&rec->ring) >= n ? 0 : -EBUSY;
}

static void prep_file(md_recorder_t *rec, slot_t *s, struct io_uring_sqe *sqe, int op)
{
    uint32_t si = (uint32_t)(s - rec->slots);
    if (s->fixed_file) {
        sqe->fd = (int)si;
        sqe->flags |= IOSQE_FIXED_FILE;
    }
    io_uring_sqe_set_data64(sqe, (uint64_t)si << 8 | (uint64_t)op);
    s->inflight++;
    rec->inflight++;
}

static void build_header(slot_t *s, uint64_t data_bytes)
{
    md_wav_header_build(s->hdr, s->format, MD_REC_RATE, s->channels, (uint32_t)data_bytes);
}

static int submit_header(md_recorder_t *rec, slot_t *s, int op, unsigned link_flags)
{
    struct io_uring_sqe *sqe = get_sqe(rec);
    if (sqe == NULL)
        return -EBUSY;
    io_uring_prep_write(sqe, s->fd, s->hdr, s->hlen, 0);
    sqe->flags |= (uint8_t)link_flags;
    prep_file(rec, s, sqe, op);
    return 0;
}

/* The final header: data as far as it reached the file, in whole sample frames; a pad
 * byte after odd-sized data when the recording ended normally. */
static int start_final(md_recorder_t *rec, slot_t *s)
{
    if (room(rec, 2) != 0)
        return -EBUSY;
    uint64_t data = s->written - s->written % s->block;
    build_header(s, data);
    if ((data & 1) && LD(&s->error) == 0) {
        static const uint8_t zero;
        struct io_uring_sqe *sqe = io_uring_get_sqe(&rec->ring);
        io_uring_prep_write(sqe, s->fd, &zero, 1, s->hlen + data);
        sqe->flags |= IOSQE_IO_LINK;
        prep_file(rec, s, sqe, OP_PAD);
    }
    ST(&s->state, ST_FINAL);
    return submit_header(rec, s, OP_FINAL, 0);
}

/* Decides the next write of a slot with nothing in flight. Returns -EBUSY when the ring
 * has no room (the slot stays queued). */
static int service(md_recorder_t *rec, slot_t *s)
{
    if (s->inflight)
        return 0;                       /* completion will queue it again */
    int st = LD(&s->state);
    if (st != ST_ACTIVE && st != ST_CLOSING)
        return 0;
    if (LD(&s->error) != 0)
        return start_final(rec, s);
    uint64_t buffered = s->appended - s->written;
    if (st == ST_CLOSING && buffered == 0)
        return start_final(rec, s);
    if (buffered > 0 && (s->appended >= s->next_flush || s->flush_due || st == ST_CLOSING)) {
        if (room(rec, 2) != 0)
            return -EBUSY;
        uint64_t cap = rec->cfg.buffer_bytes;
        uint64_t pos = s->written % cap;
        uint64_t len = buffered;
        if (pos + len > cap)
            len = cap - pos;            /* the rest after the wrap goes next */
        struct io_uring_sqe *sqe = io_uring_get_sqe(&rec->ring);
        if (rec->fixed_buffers) {
            uint32_t si = (uint32_t)(s - rec->slots);
            io_uring_prep_write_fixed(sqe, s->fd, s->buf + pos, (unsigned)len,
                                      s->hlen + s->written, (int)(si / rec->per_group));
        } else {
            io_uring_prep_write(sqe, s->fd, s->buf + pos, (unsigned)len, s->hlen + s->written);
        }
        sqe->flags |= IOSQE_IO_LINK;
        prep_file(rec, s, sqe, OP_DATA);
        s->inflight_end = s->written + len;
        build_header(s, s->inflight_end - s->inflight_end % s->block);
        submit_header(rec, s, OP_HDR, 0);
        if (s->inflight_end == s->appended) {
            s->next_flush = s->appended + s->flush_bytes;
            s->flush_due = 0;
        }
        s->last_flush_ns = rec->now;
        s->hdr_dirty = 0;
        return 0;
    }
    if (s->hdr_dirty) {
        if (room(rec, 1) != 0)
            return -EBUSY;
        build_header(s, s->written - s->written % s->block);
        if (submit_header(rec, s, OP_HDR, 0) != 0)
            return -EBUSY;
        s->hdr_dirty = 0;
    }
    return 0;
}

static void service_queue(md_recorder_t *rec)
{
    unsigned n = rec->qcount;
    while (n-- > 0) {
        uint32_t si = rec->queue[rec->qhead];
        slot_t *s = &rec->slots[si];
        if (service(rec, s) == -EBUSY)
            return;                     /* stays at the head, in order */
        rec->qhead = (rec->qhead + 1) % rec->max;
        rec->qcount--;
        s->queued = 0;
    }
}

static int push_event(md_recorder_t *rec, slot_t *s)
{
    uint32_t tail = LD(&rec->ev_tail);
    uint32_t head = atomic_load_explicit(&rec->ev_head, memory_order_acquire);
    if (tail - head == rec->evcap)
        return -1;
    md_rec_event_t *ev = &rec->evs[tail & (rec->evcap - 1)];
    ev->type = MD_REC_EV_ENDED;
    ev->id = (uint64_t)LD(&s->gen) << 32 | (uint64_t)(s - rec->slots);
    ev->stats.frames_written = LD(&s->frames_written);
    ev->stats.frames_dropped = LD(&s->dropped_ring) + LD(&s->dropped_buf);
    ev->stats.frames_paused = LD(&s->frames_paused);
    ev->stats.bytes = LD(&s->bytes);
    ev->stats.error = LD(&s->error);
    atomic_store_explicit(&rec->ev_tail, tail + 1, memory_order_release);
    return 0;
}

static void release_slot(md_recorder_t *rec, slot_t *s)
{
    pthread_mutex_lock(&rec->mu);
    ST(&s->state, ST_FREE);
    rec->freelist[rec->nfree++] = (uint32_t)(s - rec->slots);
    pthread_mutex_unlock(&rec->mu);
}

static void finish(md_recorder_t *rec, slot_t *s)
{
    uint32_t si = (uint32_t)(s - rec->slots);
    if (s->fixed_file) {
        int none = -1;
        io_uring_register_files_update(&rec->ring, si, &none, 1);
    }
    if (close(s->fd) != 0 && LD(&s->error) == 0)
        ST(&s->error, -errno);
    s->fd = -1;
    ST(&s->wgen, 0);
    ST(&s->state, ST_ENDED);
    atomic_fetch_sub_explicit(&rec->open_count, 1, memory_order_relaxed);
    /* The event ring holds max_recordings events and a slot is freed only when its
     * event is read, so this cannot fail; kept for safety. */
    if (push_event(rec, s) != 0)
        rec->evwait[rec->nevwait++] = si;
}

static void complete(md_recorder_t *rec, uint64_t data, int res)
{
    slot_t *s = &rec->slots[data >> 8];
    int op = (int)(data & 0xFF);
    s->inflight--;
    rec->inflight--;
    switch (op) {
    case OP_DATA: {
        uint64_t len = s->inflight_end - s->written;
        if (res > 0) {
            s->written += (uint64_t)res;
            ST(&s->bytes, s->written);
            if ((uint64_t)res < len)
                s->hdr_dirty = 1;       /* the linked header was cancelled */
        } else {
            set_error(rec, s, res == 0 ? -EIO : res);
        }
        break;
    }
    case OP_HDR:
        if (res == -ECANCELED)
            s->hdr_dirty = 1;
        else if (res < 0)
            set_error(rec, s, res);
        break;
    case OP_PAD:
        if (res < 0 && LD(&s->error) == 0)
            ST(&s->error, res);
        break;
    case OP_FINAL:
        if (res < 0 && res != -ECANCELED && LD(&s->error) == 0)
            ST(&s->error, res);
        if (res == -ECANCELED) {
            /* the pad byte failed: write the header alone */
            build_header(s, s->written - s->written % s->block);
            submit_header(rec, s, OP_FINAL, 0);
        }
        break;
    }
    if (s->inflight == 0) {
        if (LD(&s->state) == ST_FINAL)
            finish(rec, s);
        else
            enqueue(rec, s);
    }
}

static void reap(md_recorder_t *rec)
{
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&rec->ring, head, cqe)
    {
        complete(rec, io_uring_cqe_get_data64(cqe), cqe->res);
        n++;
    }
    io_uring_cq_advance(&rec->ring, n);
}

/* Takes the control thread's commands. Opens apply at once; stops are returned in
 * *stops to be applied after the rings were drained, so that every frame handed over
 * before md_recorder_stop() is written. */
static unsigned take_commands(md_recorder_t *rec, cmd_t *stops, unsigned cap)
{
    unsigned nstops = 0;
    pthread_mutex_lock(&rec->mu);
    unsigned n = 0;
    for (; n < rec->ncmds; n++) {
        cmd_t c = rec->cmds[n];
        if (c.op == 2) {
            if (nstops == cap)
                break;
            stops[nstops++] = c;
            continue;
        }
        slot_t *s = &rec->slots[c.slot];
        if (LD(&s->gen) == c.gen && LD(&s->state) == ST_OPENING)
            activate(rec, s);
    }
    memmove(rec->cmds, rec->cmds + n, (rec->ncmds - n) * sizeof(cmd_t));
    rec->ncmds -= n;
    pthread_mutex_unlock(&rec->mu);
    return nstops;
}

static void apply_stops(md_recorder_t *rec, const cmd_t *stops, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        slot_t *s = &rec->slots[stops[i].slot];
        if (LD(&s->gen) != stops[i].gen)
            continue;
        if (LD(&s->state) == ST_OPENING)
            activate(rec, s);
        if (LD(&s->state) == ST_ACTIVE) {
            ST(&s->state, ST_CLOSING);
            enqueue(rec, s);
        }
    }
}

static void scan(md_recorder_t *rec)
{
    int64_t age = (int64_t)rec->cfg.flush_ms * 1000000LL;
    for (unsigned i = 0; i < rec->max; i++) {
        slot_t *s = &rec->slots[i];
        int st = LD(&s->state);
        if (rec->quitting && (st == ST_ACTIVE || st == ST_OPENING)) {
            if (st == ST_OPENING)
                activate(rec, s);
            ST(&s->state, ST_CLOSING);
            ST(&s->wgen, 0);
            enqueue(rec, s);
            continue;
        }
        if (st == ST_ACTIVE && s->appended > s->written && !s->flush_due &&
            rec->now - s->last_flush_ns >= age) {
            s->flush_due = 1;
            enqueue(rec, s);
        }
    }
}

static void *io_main(void *arg)
{
    md_recorder_t *rec = arg;
    for (;;) {
        rec->now = mono_ns();
        cmd_t stops[256];
        unsigned nstops = take_commands(rec, stops, 256);
        int quit = atomic_load_explicit(&rec->quit, memory_order_acquire);
        if (!atomic_load_explicit(&rec->stall, memory_order_relaxed) || quit || nstops)
            drain_rings(rec);
        apply_stops(rec, stops, nstops);
        if (quit && !rec->quitting) {
            rec->quitting = 1;
            scan(rec);
            rec->last_scan = rec->now;
        } else if (rec->now - rec->last_scan >= SCAN_NS) {
            scan(rec);
            rec->last_scan = rec->now;
        }
        service_queue(rec);
        unsigned k = 0, pushed = 0;
        for (unsigned i = 0; i < rec->nevwait; i++) {
            slot_t *s = &rec->slots[rec->evwait[i]];
            if (push_event(rec, s) == 0) {
                pushed = 1;
            } else {
                rec->evwait[k++] = rec->evwait[i];
            }
        }
        rec->nevwait = k;
        (void)pushed;
        if (rec->quitting && rec->inflight == 0 && rec->qcount == 0 &&
            LD(&rec->open_count) == 0)
            break;
        uint64_t before = LD(&rec->ev_tail);
        unsigned pending = io_uring_sq_ready(&rec->ring);
        struct __kernel_timespec ts = { 0, POLL_NS };
        struct io_uring_cqe *cqe;
        int rc;
        if (rec->inflight == 0 && pending == 0) {
            struct timespec sl = { 0, POLL_NS };
            nanosleep(&sl, NULL);
            rc = 0;
        } else {
            rc = io_uring_submit_and_wait_timeout(&rec->ring, &cqe, 1, &ts, NULL);
        }
        if (pending > 0 && rc >= 0) {
            atomic_fetch_add_explicit(&rec->sqes, pending, memory_order_relaxed);
            atomic_fetch_add_explicit(&rec->submits, 1, memory_order_relaxed);
        }
        reap(rec);
        if (LD(&rec->ev_tail) != before || pushed) {
            uint64_t one = 1;
            if (write(rec->efd, &one, sizeof(one)) < 0) {
                /* the counter is saturated: the reader is far behind, it is readable */
            }
        }
    }
    return NULL;
}

/* ---- the control side -------------------------------------------------------------- */

static uint64_t pow2_at_least(uint64_t v)
{
    uint64_t p = 1;
    while (p < v)
        p <<= 1;
    return p;
}

static void free_all(md_recorder_t *rec)
{
    if (rec->rings) {
        for (unsigned p = 0; p < rec->nprod; p++)
            free(rec->rings[p].data);
        free(rec->rings);
    }
    if (rec->arena && rec->arena != MAP_FAILED)
        munmap(rec->arena, rec->arena_bytes);
    free(rec->slots);
    free(rec->freelist);
    free(rec->cmds);
    free(rec->evs);
    free(rec->queue);
    free(rec->evwait);
    free(rec->dir);
    if (rec->dirfd >= 0)
        close(rec->dirfd);
    if (rec->efd >= 0)
        close(rec->efd);
    pthread_mutex_destroy(&rec->mu);
    free(rec);
}

int md_recorder_create(md_recorder_t **out, const md_recorder_config_t *cfg, char *err,
                       size_t errlen)
{
    *out = NULL;
    if (cfg->dir == NULL || cfg->max_recordings == 0 || cfg->max_recordings > (1u << 20) ||
        cfg->n_producers == 0 || cfg->n_producers > 256 || cfg->flush_ms > 1000)
        return fail(err, errlen, -EINVAL,
                    "recorder: need a directory, 1 to 1048576 recordings, 1 to 256 "
                    "producers, flush_ms at most 1000");
    md_recorder_t *rec = calloc(1, sizeof(*rec));
    if (rec == NULL)
        return fail(err, errlen, -ENOMEM, "recorder: out of memory");
    rec->dirfd = rec->efd = -1;
    pthread_mutex_init(&rec->mu, NULL);
    rec->cfg = *cfg;
    if (rec->cfg.ring_bytes == 0)
        rec->cfg.ring_bytes = 1u << 20;
    if (rec->cfg.buffer_bytes == 0)
        rec->cfg.buffer_bytes = 16384;
    if (rec->cfg.flush_ms == 0)
        rec->cfg.flush_ms = 500;
    if (rec->cfg.buffer_bytes < 4096 || rec->cfg.buffer_bytes > (1u << 30) ||
        rec->cfg.ring_bytes < 4096 || rec->cfg.ring_bytes > (1ull << 32)) {
        free_all(rec);
        return fail(err, errlen, -EINVAL,
                    "recorder: buffer_bytes must be 4 KiB to 1 GiB, ring_bytes 4 KiB to 4 GiB");
    }
    rec->cfg.buffer_bytes &= ~(size_t)3;
    rec->max = cfg->max_recordings;
    rec->nprod = cfg->n_producers;
    rec->dir = strdup(cfg->dir);
    rec->cfg.dir = rec->dir;
    int code;
    rec->dirfd = open(cfg->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rec->dirfd < 0) {
        code = -errno;
        free_all(rec);
        return fail(err, errlen, code, "recorder: %s: %s", cfg->dir, strerror(-code));
    }
    rec->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    rec->slots = calloc(rec->max, sizeof(slot_t));
    rec->freelist = malloc(rec->max * sizeof(uint32_t));
    rec->cmdcap = 2 * rec->max + 16;
    rec->cmds = malloc(rec->cmdcap * sizeof(cmd_t));
    rec->evcap = (uint32_t)pow2_at_least(rec->max);
    rec->evs = calloc(rec->evcap, sizeof(md_rec_event_t));
    rec->queue = malloc(rec->max * sizeof(uint32_t));
    rec->evwait = malloc(rec->max * sizeof(uint32_t));
    rec->rings = calloc(rec->nprod, sizeof(pring_t));
    if (rec->efd < 0 || !rec->slots || !rec->freelist || !rec->cmds || !rec->evs ||
        !rec->queue || !rec->evwait || !rec->rings) {
        free_all(rec);
        return fail(err, errlen, -ENOMEM, "recorder: out of memory");
    }
    uint64_t rsize = pow2_at_least(rec->cfg.ring_bytes);
    for (unsigned p = 0; p < rec->nprod; p++) {
        rec->rings[p].size = rsize;
        rec->rings[p].data = aligned_alloc(64, rsize);
        if (rec->rings[p].data == NULL) {
            free_all(rec);
            return fail(err, errlen, -ENOMEM, "recorder: out of memory for rings");
        }
        memset(rec->rings[p].data, 0, rsize);
    }
    rec->arena_bytes = (size_t)rec->max * rec->cfg.buffer_bytes;
    rec->arena = mmap(NULL, rec->arena_bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (rec->arena == MAP_FAILED) {
        free_all(rec);
        return fail(err, errlen, -ENOMEM, "recorder: cannot map %zu bytes of buffers",
                    rec->arena_bytes);
    }
    for (unsigned i = 0; i < rec->max; i++) {
        rec->slots[i].fd = -1;
        rec->slots[i].buf = rec->arena + (size_t)i * rec->cfg.buffer_bytes;
        rec->freelist[i] = rec->max - 1 - i;
    }
    rec->nfree = rec->max;

    /* Room for every recording's pair of writes in the completion queue. */
    rec->cq_cap = (unsigned)pow2_at_least(2u * rec->max + 8);
    if (rec->cq_cap > 65536)
        rec->cq_cap = 65536;
    struct io_uring_params prm;
    memset(&prm, 0, sizeof(prm));
    prm.flags = IORING_SETUP_CQSIZE;
    prm.cq_entries = rec->cq_cap;
    unsigned sq = rec->cq_cap / 2 > 4096 ? 4096 : rec->cq_cap / 2;
    code = io_uring_queue_init_params(sq, &rec->ring, &prm);
    if (code < 0) {
        free_all(rec);
        return fail(err, errlen, code, "recorder: io_uring: %s", strerror(-code));
    }
    rec->cq_cap = prm.cq_entries;
    if (!cfg->no_register) {
        /* Registered buffers: the arena in pieces of at most 1 GiB (a whole number of
         * recordings each). Pins the memory; refused (RLIMIT_MEMLOCK) means plain
         * writes, reported by md_recorder_info(). */
        rec->per_group = (unsigned)((1u << 30) / rec->cfg.buffer_bytes);
        unsigned groups = (rec->max + rec->per_group - 1) / rec->per_group;
        struct iovec *iov = calloc(groups, sizeof(*iov));
        if (iov != NULL && groups <= 16384) {
            for (unsigned g = 0; g < groups; g++) {
                unsigned first = g * rec->per_group;
                unsigned cnt = rec->max - first < rec->per_group ? rec->max - first
                                                                 : rec->per_group;
                iov[g].iov_base = rec->arena + (size_t)first * rec->cfg.buffer_bytes;
                iov[g].iov_len = (size_t)cnt * rec->cfg.buffer_bytes;
            }
            rec->fixed_buffers = io_uring_register_buffers(&rec->ring, iov, groups) == 0;
        }
        free(iov);
        rec->fixed_files = io_uring_register_files_sparse(&rec->ring, rec->max) == 0;
    }
    if (cfg->io_workers > 0) {
        unsigned vals[2] = { cfg->io_workers, cfg->io_workers };
        code = io_uring_register_iowq_max_workers(&rec->ring, vals);
        if (code < 0) {
            io_uring_queue_exit(&rec->ring);
            free_all(rec);
            return fail(err, errlen, code, "recorder: cannot limit io_uring workers: %s",
                        strerror(-code));
        }
    }
    rec->use_openat2 = !cfg->no_openat2;
    rec->now = rec->last_scan = mono_ns();
    code = pthread_create(&rec->thread, NULL, io_main, rec);
    if (code != 0) {
        io_uring_queue_exit(&rec->ring);
        free_all(rec);
        return fail(err, errlen, -code, "recorder: cannot start the I/O thread: %s",
                    strerror(code));
    }
    pthread_setname_np(rec->thread, "md-rec-io");
    rec->thread_started = 1;
    *out = rec;
    return 0;
}

void md_recorder_destroy(md_recorder_t *rec)
{
    if (rec == NULL)
        return;
    atomic_store_explicit(&rec->quit, 1, memory_order_release);
    pthread_join(rec->thread, NULL);
    io_uring_queue_exit(&rec->ring);
    free_all(rec);
}

/* Opens relpath beneath dirfd without openat2: every directory component with
 * O_NOFOLLOW, so no symlink is followed at all. */
static int open_walk(int dirfd, const char *relpath, char *err, size_t errlen)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s", relpath);
    int cur = dirfd;
    char *save = NULL, *comp = strtok_r(path, "/", &save);
    int fd = -1;
    while (comp != NULL) {
        char *next = strtok_r(NULL, "/", &save);
        if (next == NULL) {
            fd = openat(cur, comp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
            if (fd < 0)
                fd = -errno;
            break;
        }
        int d = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (d < 0) {
            int e = errno;
            struct stat st;
            if ((e == ENOTDIR || e == ELOOP) &&
                fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
                fd = fail(err, errlen, -EPERM,
                          "%s: '%s' is a symlink (not followed: no openat2 here)", relpath,
                          comp);
                err = NULL;
            } else {
                fd = -e;
            }
            break;
        }
        if (cur != dirfd)
            close(cur);
        cur = d;
        comp = next;
    }
    if (cur != dirfd)
        close(cur);
    if (fd < 0 && err != NULL)
        fail(err, errlen, fd, "%s: %s", relpath, strerror(-fd));
    return fd;
}

static int open_beneath(md_recorder_t *rec, const char *relpath, char *err, size_t errlen)
{
    if (rec->use_openat2) {
        struct open_how how;
        memset(&how, 0, sizeof(how));
        how.flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;
        how.mode = 0640;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
        long fd = syscall(SYS_openat2, rec->dirfd, relpath, &how, sizeof(how));
        if (fd >= 0)
            return (int)fd;
        int e = errno;
        if (e == EXDEV)
            return fail(err, errlen, -EPERM, "%s: leads outside the recording directory %s",
                        relpath, rec->dir);
        if (e != ENOSYS)
            return fail(err, errlen, -e, "%s: %s", relpath, strerror(e));
        rec->use_openat2 = 0;          /* an old kernel: check component by component */
    }
    return open_walk(rec->dirfd, relpath, err, errlen);
}

static int check_relpath(const char *relpath, char *err, size_t errlen)
{
    if (relpath == NULL || relpath[0] == '\0')
        return fail(err, errlen, -EINVAL, "empty recording path");
    size_t len = strlen(relpath);
    if (len >= PATH_MAX)
        return fail(err, errlen, -EINVAL, "recording path too long (%zu bytes)", len);
    if (relpath[0] == '/')
        return fail(err, errlen, -EPERM, "%s: absolute path (must be relative to the "
                                         "recording directory)", relpath);
    if (relpath[len - 1] == '/')
        return fail(err, errlen, -EINVAL, "%s: names a directory, not a file", relpath);
    const char *p = relpath;
    while (*p) {
        const char *q = strchr(p, '/');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return fail(err, errlen, -EPERM, "%s: '..' component (must stay beneath the "
                                             "recording directory)", relpath);
        p += n;
        while (*p == '/')
            p++;
    }
    return 0;
}

int md_recorder_open(md_recorder_t *rec, unsigned producer, const char *relpath,
                     md_wav_format_t format, unsigned channels, md_rec_id_t *id, char *err,
                     size_t errlen)
{
    *id = 0;
    if (producer >= rec->nprod)
        return fail(err, errlen, -EINVAL, "producer %u out of range (%u producers)", producer,
                    rec->nprod);
    if ((format != MD_WAV_PCM16 && format != MD_WAV_ULAW && format != MD_WAV_ALAW) ||
        (channels != 1 && channels != 2))
        return fail(err, errlen, -EINVAL,
                    "unsupported recording format %d with %u channels (need PCM16, µ-law "
                    "or A-law, 1 or 2 channels)", (int)format, channels);
    int rc = check_relpath(relpath, err, errlen);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&rec->mu);
    int have = rec->nfree > 0;
    pthread_mutex_unlock(&rec->mu);
    if (!have)
        return fail(err, errlen, -ENOSPC, "%s: %u recordings already open (or their end "
                                          "events not read)", relpath, rec->max);
    int fd = open_beneath(rec, relpath, err, errlen);
    if (fd < 0)
        return fd;

    pthread_mutex_lock(&rec->mu);
    uint32_t si = rec->freelist[--rec->nfree];
    slot_t *s = &rec->slots[si];
    uint32_t gen = LD(&s->gen) + 1;
    if (gen == 0)
        gen = 1;
    ST(&s->gen, gen);
    s->fd = fd;
    s->format = format;
    s->channels = channels;
    s->block = channels * md_wav_sample_bytes(format);
    s->hlen = (unsigned)md_wav_header_build(s->hdr, format, MD_REC_RATE, channels, 0);
    ST(&s->paused, 0);
    ST(&s->dropped_ring, 0);
    ST(&s->frames_paused, 0);
    ST(&s->frames_written, 0);
    ST(&s->dropped_buf, 0);
    ST(&s->bytes, 0);
    ST(&s->error, 0);
    ST(&s->wmeta, producer | channels << 16);
    ST(&s->state, ST_OPENING);
    atomic_fetch_add_explicit(&rec->open_count, 1, memory_order_relaxed);
    rec->cmds[rec->ncmds++] = (cmd_t){ 1, si, gen };
    atomic_store_explicit(&s->wgen, gen, memory_order_release);
    pthread_mutex_unlock(&rec->mu);
    *id = (uint64_t)gen << 32 | si;
    return 0;
}

static slot_t *live_slot(md_recorder_t *rec, md_rec_id_t id)
{
    uint32_t si = (uint32_t)id, gen = (uint32_t)(id >> 32);
    if (si >= rec->max || gen == 0)
        return NULL;
    slot_t *s = &rec->slots[si];
    return atomic_load_explicit(&s->wgen, memory_order_acquire) == gen ? s : NULL;
}

int md_recorder_pause(md_recorder_t *rec, md_rec_id_t id)
{
    slot_t *s = live_slot(rec, id);
    if (s == NULL)
        return -ENOENT;
    atomic_store_explicit(&s->paused, 1, memory_order_release);
    return 0;
}

int md_recorder_resume(md_recorder_t *rec, md_rec_id_t id)
{
    slot_t *s = live_slot(rec, id);
    if (s == NULL)
        return -ENOENT;
    atomic_store_explicit(&s->paused, 0, memory_order_release);
    return 0;
}

int md_recorder_stop(md_recorder_t *rec, md_rec_id_t id)
{
    pthread_mutex_lock(&rec->mu);
    slot_t *s = live_slot(rec, id);
    if (s == NULL || rec->ncmds == rec->cmdcap) {
        pthread_mutex_unlock(&rec->mu);
        return -ENOENT;
    }
    ST(&s->wgen, 0);
    rec->cmds[rec->ncmds++] = (cmd_t){ 2, (uint32_t)id, (uint32_t)(id >> 32) };
    pthread_mutex_unlock(&rec->mu);
    return 0;
}

int md_recorder_stats(md_recorder_t *rec, md_rec_id_t id, md_rec_stats_t *st)
{
    uint32_t si = (uint32_t)id, gen = (uint32_t)(id >> 32);
    if (si >= rec->max || gen == 0)
        return -ENOENT;
    slot_t *s = &rec->slots[si];
    int state = LD(&s->state);
    if (LD(&s->gen) != gen || state == ST_FREE || state == ST_ENDED)
        return -ENOENT;
    st->frames_written = LD(&s->frames_written);
    st->frames_dropped = LD(&s->dropped_ring) + LD(&s->dropped_buf);
    st->frames_paused = LD(&s->frames_paused);
    st->bytes = LD(&s->bytes);
    st->error = LD(&s->error);
    return 0;
}

int md_recorder_poll_event(md_recorder_t *rec, md_rec_event_t *ev)
{
    uint32_t head = LD(&rec->ev_head);
    uint32_t tail = atomic_load_explicit(&rec->ev_tail, memory_order_acquire);
    if (head == tail)
        return 0;
    *ev = rec->evs[head & (rec->evcap - 1)];
    atomic_store_explicit(&rec->ev_head, head + 1, memory_order_release);
    release_slot(rec, &rec->slots[(uint32_t)ev->id]);
    return 1;
}

int md_recorder_event_fd(const md_recorder_t *rec)
{
    return rec->efd;
}

void md_recorder_info(md_recorder_t *rec, md_recorder_info_t *info)
{
    memset(info, 0, sizeof(*info));
    info->fixed_buffers = rec->fixed_buffers;
    info->fixed_files = rec->fixed_files;
    info->resolve_beneath = rec->use_openat2;
    info->open_recordings = LD(&rec->open_count);
    clockid_t cid;
    struct timespec ts;
    if (pthread_getcpuclockid(rec->thread, &cid) == 0 && clock_gettime(cid, &ts) == 0)
        info->io_thread_cpu_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    info->sqes_submitted = LD(&rec->sqes);
    info->submit_calls = LD(&rec->submits);
}

void md_recorder_test_stall(md_recorder_t *rec, int stall)
{
    atomic_store_explicit(&rec->stall, stall ? 1 : 0, memory_order_relaxed);
}
