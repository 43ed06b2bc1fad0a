/* Frame energy and voice activity, for talker detection in conferences and for
 * silence handling. Levels are in dBm0: 0 dBm0 is the power of a sine of amplitude
 * 32767 * 10^(-3.14/20) (full scale is +3.14 dBm0, as in dsp/tone.h). */
#ifndef MD_DSP_ENERGY_H
#define MD_DSP_ENERGY_H

#include <stddef.h>
#include <stdint.h>

#define MD_ENERGY_FLOOR_DBM0 (-100.0f)   /* reported for digital silence */

/* Mean power of n samples in dBm0 (MD_ENERGY_FLOOR_DBM0 for silence or n == 0). */
float md_energy_dbm0(const int16_t *x, size_t n);

/* Voice activity by an adaptive noise floor: a frame is speech when it is threshold_db
 * above the floor and above an absolute minimum; speech holds for hangover_ms after the
 * last such frame, so that the gaps between words do not make a talker flap. The floor
 * falls at once to quieter frames and rises slowly (3 dB per second) so that a long
 * sentence is not taken for noise. */
typedef struct {
    float noise_dbm0;      /* the noise floor estimate */
    float level_dbm0;      /* the last frame's level */
    float threshold_db;
    float min_speech_dbm0;
    float rise_per_frame;  /* dB the floor may rise per frame */
    unsigned hang_frames;  /* hangover, in frames */
    unsigned hang_left;
    unsigned frame_ms;
    int speech;            /* current decision */
} md_vad_t;

/* frame_ms: duration of the frames that will be fed (e.g. 20). Defaults: threshold 9 dB,
 * minimum -50 dBm0, hangover 300 ms. Returns 0 or -EINVAL. */
int md_vad_init(md_vad_t *v, unsigned frame_ms, float threshold_db, unsigned hangover_ms);

/* Feeds one frame; returns 1 while speech (including hangover), else 0. */
int md_vad_frame(md_vad_t *v, const int16_t *frame, size_t n);

#endif
