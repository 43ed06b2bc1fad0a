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

#endif
