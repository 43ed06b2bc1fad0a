/* In-band DTMF detector, batched across channels.
 *
 * One md_dtmf_rx_t per channel, preallocated by the caller (no heap use here). A call to
 * md_dtmf_rx_process() feeds the same number of new 8 kHz samples to each of a set of
 * channels; the SIMD kernels put one channel in each vector lane. The scalar, AVX2 and
 * AVX-512 paths are the same source compiled for different lane counts, every float
 * operation rounded as written, so they decide exactly the same, sample for sample,
 * whatever the frame size or the grouping of channels.
 *
 * How it decides (the numbers are in dtmf.c):
 *   - Goertzel filters at the 8 DTMF frequencies over 5 ms sub-blocks; every sub-block
 *     the two last ones form a 10 ms window whose bin energies are computed coherently.
 *   - A window is a candidate for a digit when its strongest row and column pass a level
 *     and a twist test, and carry most of the window's energy above 500 Hz (a high-pass
 *     keeps dial tone out of that ratio). That ratio is also the fraction of the window the
 *     tone fills, which is what tells a 40 ms tone from a 23 ms one.
 *   - A digit begins after six consecutive strong windows of the same digit whose two
 *     frequencies, measured from the phase advance of the filters, are within tolerance.
 *   - It ends after four consecutive windows without it, which bridges a 10 ms drop-out
 *     and is still shorter than the 40 ms pause between two presses.
 */
#ifndef MD_DSP_DTMF_H
#define MD_DSP_DTMF_H

#include <stddef.h>
#include <stdint.h>

#include "dsp/cpu.h"

#define MD_DTMF_SUB 40         /* samples per Goertzel sub-block (5 ms) */
#define MD_DTMF_BINS 8         /* 4 row + 4 column frequencies */
#define MD_DTMF_HIST 7         /* sub-blocks kept for the frequency check at onset */
#define MD_DTMF_EVENTS_MAX 8   /* events queued per channel before the oldest is lost */

typedef enum {
    MD_DTMF_BEGIN = 1,   /* a digit was recognised; start is known, end is not yet */
    MD_DTMF_END = 2,     /* the digit ended; start and end are both set */
} md_dtmf_event_kind_t;

typedef struct {
    md_dtmf_event_kind_t kind;
    char digit;          /* '0'-'9', '*', '#', 'A'-'D' */
    uint64_t start;      /* sample index (since init) of the tone's first sample, estimated */
    uint64_t end;        /* END only: sample index just past the tone's last sample */
} md_dtmf_event_t;

/* Filter state carried between calls; the kernels load it into vector lanes. */
typedef struct {
    float s1[MD_DTMF_BINS];      /* Goertzel s[n-1] */
    float s2[MD_DTMF_BINS];      /* Goertzel s[n-2] */
    float yp_re[MD_DTMF_BINS];   /* previous sub-block's filter outputs */
    float yp_im[MD_DTMF_BINS];
    float hp_z1, hp_z2;          /* high-pass biquad state */
    float e;                     /* high-passed energy of this sub-block so far */
    float e_prev;                /* high-passed energy of the previous sub-block */
    uint32_t pos;                /* samples into the current sub-block, 0..MD_DTMF_SUB-1 */
} md_dtmf_filters_t;

typedef struct md_dtmf_rx {
    md_dtmf_filters_t f;

    uint64_t clock;              /* samples fed since init */

    /* Run of consecutive strong windows of one candidate digit. */
    int8_t run_digit;            /* 0..15 or -1 */
    uint8_t run_len;
    uint64_t run_start;          /* estimated first sample of the run's tone */

    /* The digit being held, if any. */
    int8_t active;               /* 0..15 or -1 */
    uint8_t misses;              /* consecutive windows without it */
    uint64_t active_start;       /* estimated first sample of its tone */
    uint64_t last_present_end;   /* estimated end of its tone in the last window that had it */

    /* Events not yet taken by md_dtmf_rx_event(): their count and head. */
    uint8_t ev_head, ev_count;
    uint8_t hist_head;           /* hist's ring position of the oldest (next overwritten) entry */
    uint32_t events_lost;        /* queue overflowed: the caller did not drain it */

    /* Every frame touches what is above (MD_DTMF_RX_HOT_BYTES, four cache lines); what
     * follows only while a candidate digit's windows are strong (the history) or when a
     * digit starts or ends (the queue). */

    /* Sub-block filter outputs of the candidate's row [0] and column [1] tones over the
     * run's last sub-blocks (a ring), for the frequency check at onset. */
    float hist_re[2][MD_DTMF_HIST];
    float hist_im[2][MD_DTMF_HIST];
    md_dtmf_event_t events[MD_DTMF_EVENTS_MAX];
} md_dtmf_rx_t;

#define MD_DTMF_RX_HOT_BYTES (offsetof(md_dtmf_rx_t, hist_re))

/* Resets a channel's detector. */
void md_dtmf_rx_init(md_dtmf_rx_t *rx);

/* Feeds len new samples to each of nch channels: samples[i] holds len samples for rx[i].
 * isa selects the path (md_cpu_default_isa() normally); a path the CPU lacks is
 * replaced by the best one it has. Channels may be at different points of their
 * sub-blocks; any nch and len work. Returns 0, or -EINVAL for null arguments. */
int md_dtmf_rx_process(md_dtmf_rx_t *const *rx, const int16_t *const *samples, unsigned nch,
                       unsigned len, md_isa_t isa);

/* Convenience for one channel. */
int md_dtmf_rx_process1(md_dtmf_rx_t *rx, const int16_t *samples, unsigned len, md_isa_t isa);

/* End of stream: ends a digit still held, as if silence followed. */
void md_dtmf_rx_flush(md_dtmf_rx_t *rx);

/* Takes the oldest queued event: returns 1 and fills *ev, or 0 if there is none.
 * (Inline for the common case of an empty queue, polled for every channel every frame.) */
int md_dtmf_rx_take_event(md_dtmf_rx_t *rx, md_dtmf_event_t *ev);

static inline int md_dtmf_rx_event(md_dtmf_rx_t *rx, md_dtmf_event_t *ev)
{
    return rx->ev_count == 0 ? 0 : md_dtmf_rx_take_event(rx, ev);
}

/* The digit character for an index 0..15 ("123A456B789C*0#D" order). */
char md_dtmf_digit_char(int index);

#endif
