/* One interface over the DTMF detectors under test: see detectors.h. */
#include "tests/dtmf/detectors.h"

#include <errno.h>
#include <spandsp.h>
#include <stdio.h>
#include <string.h>

#include "dsp/dtmf.h"

int det_parse_kind(const char *name, det_kind_t *kind)
{
    if (strcmp(name, "medley") == 0)
        *kind = DET_MEDLEY;
    else if (strcmp(name, "medley-batch") == 0)
        *kind = DET_MEDLEY_BATCH;
    else if (strcmp(name, "spandsp") == 0)
        *kind = DET_SPANDSP;
    else
        return -EINVAL;
    return 0;
}

const char *det_kind_name(det_kind_t kind)
{
    switch (kind) {
    case DET_MEDLEY: return "medley";
    case DET_MEDLEY_BATCH: return "medley-batch";
    case DET_SPANDSP: return "spandsp";
    }
    return "?";
}

int det_lanes(const det_cfg_t *cfg)
{
    return cfg->kind == DET_MEDLEY_BATCH ? DET_LANES : 1;
}

static void result_reset(det_result_t *r)
{
    r->n = 0;
    r->dropped = 0;
    r->pairing_errors = 0;
    r->pairing_msg[0] = '\0';
}

static void result_add(det_result_t *r, char digit, long start, long end, long reported)
{
    if (r->n >= r->cap) {
        r->dropped++;
        return;
    }
    r->digit[r->n] = digit;
    r->start[r->n] = start;
    r->end[r->n] = end;
    r->reported[r->n] = reported;
    r->n++;
}

static void pairing_error(det_result_t *r, const char *msg, char digit, long at)
{
    if (r->pairing_errors++ == 0)
        snprintf(r->pairing_msg, sizeof(r->pairing_msg), "%s (digit %c, sample %ld)", msg,
                 digit ? digit : '-', at);
}

/* ---- medley ---- */

/* What a lane's event stream looks like so far: the digit begun and not yet ended. */
typedef struct {
    int open;
    md_dtmf_event_t begin;
} pairing_t;

/* Takes a lane's queued events into r; delay is how many samples of silence this lane
 * got before the signal, fed how many samples the lane has had. */
static void medley_drain(md_dtmf_rx_t *rx, det_result_t *r, pairing_t *p, long delay, long fed)
{
    md_dtmf_event_t ev;
    while (md_dtmf_rx_event(rx, &ev)) {
        if (ev.kind == MD_DTMF_BEGIN) {
            if (p->open)
                pairing_error(r, "BEGIN while a digit is open", ev.digit, (long)ev.start - delay);
            p->open = 1;
            p->begin = ev;
        } else if (ev.kind == MD_DTMF_END) {
            if (!p->open)
                pairing_error(r, "END without BEGIN", ev.digit, (long)ev.start - delay);
            else if (ev.digit != p->begin.digit || ev.start != p->begin.start)
                pairing_error(r, "END does not match its BEGIN", ev.digit, (long)ev.start - delay);
            if (ev.end <= ev.start)
                pairing_error(r, "END before start", ev.digit, (long)ev.start - delay);
            p->open = 0;
            result_add(r, ev.digit, (long)ev.start - delay, (long)ev.end - delay, fed - delay);
        } else {
            pairing_error(r, "unknown event kind", ev.digit, fed - delay);
        }
    }
}

static void medley_finish(md_dtmf_rx_t *rx, det_result_t *r, pairing_t *p, long delay, long fed)
{
    md_dtmf_rx_flush(rx);
    medley_drain(rx, r, p, delay, fed);
    if (p->open)
        pairing_error(r, "digit still open after flush", p->begin.digit, (long)p->begin.start - delay);
    if (rx->events_lost)
        pairing_error(r, "events lost", 0, fed - delay);
}

static int run_medley(const det_cfg_t *cfg, const int16_t *pcm, long n, det_result_t *r)
{
    md_dtmf_rx_t rx;
    pairing_t p = { 0 };
    long off = 0;
    unsigned call = 0;
    md_dtmf_rx_init(&rx);
    result_reset(r);
    while (off < n) {
        unsigned len = n - off < (long)cfg->frame ? (unsigned)(n - off) : cfg->frame;
        /* Every path in turn: they must decide identically, sample for sample. */
        if (md_dtmf_rx_process1(&rx, pcm + off, len, (md_isa_t)(call++ % MD_ISA_COUNT)) != 0)
            return -EINVAL;
        off += len;
        medley_drain(&rx, r, &p, 0, off);
    }
    medley_finish(&rx, r, &p, 0, off);
    return 0;
}

static int16_t lane_buf[DET_LANES][DET_BATCH_MAX + 128];

static int run_medley_batch(const det_cfg_t *cfg, const int16_t *pcm, long n, det_result_t *r)
{
    /* Lane delays 0, 13, 26 ... 91 samples: eight different positions in a 40-sample
     * sub-block. Frame sizes vary per call, including 1 and sizes that are not a
     * multiple of anything the detector uses. */
    static const unsigned sizes[] = { 0, 37, 1, 240, 80, 13, 333 };
    enum { STEP = 13, MAXDELAY = STEP * (DET_LANES - 1) };
    if (n > DET_BATCH_MAX)
        return -E2BIG;
    static md_dtmf_rx_t rx[DET_LANES];
    md_dtmf_rx_t *rxp[DET_LANES];
    const int16_t *in[DET_LANES];
    pairing_t p[DET_LANES];
    long total = n + MAXDELAY;
    for (int k = 0; k < DET_LANES; k++) {
        long delay = (long)k * STEP;
        memset(lane_buf[k], 0, sizeof(int16_t) * (size_t)delay);
        memcpy(lane_buf[k] + delay, pcm, sizeof(int16_t) * (size_t)n);
        memset(lane_buf[k] + delay + n, 0, sizeof(int16_t) * (size_t)(MAXDELAY - delay));
        md_dtmf_rx_init(&rx[k]);
        rxp[k] = &rx[k];
        memset(&p[k], 0, sizeof(p[k]));
        result_reset(&r[k]);
    }
    long off = 0;
    unsigned call = 0;
    while (off < total) {
        unsigned want = sizes[call % (sizeof(sizes) / sizeof(sizes[0]))];
        if (want == 0)
            want = cfg->frame;
        unsigned len = total - off < (long)want ? (unsigned)(total - off) : want;
        for (int k = 0; k < DET_LANES; k++)
            in[k] = lane_buf[k] + off;
        if (md_dtmf_rx_process(rxp, in, DET_LANES, len, (md_isa_t)(call % MD_ISA_COUNT)) != 0)
            return -EINVAL;
        call++;
        off += len;
        for (int k = 0; k < DET_LANES; k++)
            medley_drain(&rx[k], &r[k], &p[k], (long)k * STEP, off);
    }
    for (int k = 0; k < DET_LANES; k++)
        medley_finish(&rx[k], &r[k], &p[k], (long)k * STEP, off);
    return 0;
}

/* ---- SpanDSP ---- */

typedef struct {
    det_result_t *r;
    long fed;   /* samples fed by the end of the current dtmf_rx() call */
} spandsp_ctx_t;

static void spandsp_digits(void *user, const char *digits, int len)
{
    spandsp_ctx_t *c = user;
    for (int i = 0; i < len; i++)
        result_add(c->r, digits[i], -1, -1, c->fed);
}

static int run_spandsp(const det_cfg_t *cfg, const int16_t *pcm, long n, det_result_t *r)
{
    static const int16_t tail[1600];   /* 200 ms of silence after the signal */
    spandsp_ctx_t c = { .r = r, .fed = 0 };
    result_reset(r);
    dtmf_rx_state_t *s = dtmf_rx_init(NULL, spandsp_digits, &c);
    if (s == NULL)
        return -ENOMEM;
    if (cfg->spandsp_set_parms)
        dtmf_rx_parms(s, cfg->spandsp_parms[0], cfg->spandsp_parms[1], cfg->spandsp_parms[2],
                      cfg->spandsp_parms[3]);
    for (long off = 0; off < n; off += cfg->frame) {
        int len = n - off < (long)cfg->frame ? (int)(n - off) : (int)cfg->frame;
        c.fed = off + len;
        dtmf_rx(s, pcm + off, len);
    }
    c.fed = n + 1600;
    dtmf_rx(s, tail, 1600);
    dtmf_rx_free(s);
    return 0;
}

int det_run(const det_cfg_t *cfg, const int16_t *pcm, long n, det_result_t *r)
{
    if (cfg == NULL || r == NULL || (pcm == NULL && n > 0) || n < 0 || cfg->frame == 0)
        return -EINVAL;
    for (int k = 0; k < det_lanes(cfg); k++)
        if (r[k].digit == NULL || r[k].start == NULL || r[k].end == NULL ||
            r[k].reported == NULL || r[k].cap < 0)
            return -EINVAL;
    switch (cfg->kind) {
    case DET_MEDLEY: return run_medley(cfg, pcm, n, r);
    case DET_MEDLEY_BATCH: return run_medley_batch(cfg, pcm, n, r);
    case DET_SPANDSP: return run_spandsp(cfg, pcm, n, r);
    }
    return -EINVAL;
}
