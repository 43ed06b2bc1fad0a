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

void md_plc_init(md_plc_t *p);

/* A frame that arrived: remembered as history, and smoothed into if it follows a gap. */
void md_plc_received(md_plc_t *p, int16_t *frame, int len);

/* A frame that did not arrive: frame is filled with a continuation of the signal, fading
 * to silence over about 60 ms of consecutive loss. */
void md_plc_conceal(md_plc_t *p, int16_t *frame, int len);

#endif
