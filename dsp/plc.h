/* Packet loss concealment for G.711-style linear audio at 8 kHz, by pitch-period
 * repetition with overlap-add and fading (SpanDSP's concealer, which follows ITU-T
 * G.711 Appendix I). One md_plc_t per channel, in the caller's memory. */
#ifndef MD_DSP_PLC_H
#define MD_DSP_PLC_H

#include <stdint.h>

#include <spandsp.h>

typedef struct {
    plc_state_t s;
} md_plc_t;

/* Resets the concealer (no history: a loss before any audio conceals with silence).
 * Returns 0 or -EINVAL for NULL. */
int md_plc_init(md_plc_t *p);

/* A frame that arrived (8 kHz linear samples, len > 0, typically 160): remembered as
 * history, and, if it follows a gap, its start is cross-faded with the concealment in
 * place (so frame is modified). Returns 0 or -EINVAL (NULL, len <= 0). */
int md_plc_received(md_plc_t *p, int16_t *frame, int len);

/* A frame that did not arrive: frame (len > 0 samples) is filled with a continuation of
 * the signal (its last pitch period repeated), attenuated from 10 ms into the loss and
 * silent from about 60 ms. Returns 0 or -EINVAL (NULL, len <= 0). */
int md_plc_conceal(md_plc_t *p, int16_t *frame, int len);

/* For callers that do not feed every received frame (md_plc_received copies 320 bytes
 * of history per frame; at thousands of channels that is memory traffic for a loss that
 * mostly never comes): md_plc_pending() says a received frame must still go through
 * md_plc_received (it follows a concealment and is cross-faded); otherwise the caller
 * may skip it, and before the next md_plc_conceal gives the history with
 * md_plc_set_history: the last frame (n_last samples) and before it the tail of the
 * frame before (older, the n_older samples just before last; NULL: silence). The same
 * history md_plc_received would have kept, so the concealment is the same. */
int md_plc_pending(const md_plc_t *p);
int md_plc_set_history(md_plc_t *p, const int16_t *older, int n_older, const int16_t *last,
                       int n_last);

#endif
