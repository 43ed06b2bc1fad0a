/* Frame energy and voice activity, for talker detection in conferences and for
 * silence handling. Works on frames of any length (160 samples for 20 ms at 8 kHz,
 * 320 at 16 kHz); levels are per sample, so they do not depend on the rate.
 *
 * Two level scales:
 *  - dBm0: 0 dBm0 is the power of a sine of amplitude 32767 * 10^(-3.14/20), so a
 *    full-scale sine is +3.14 dBm0 (SpanDSP's convention, as in dsp/tone.h).
 *  - dBov (ITU-T G.100.1, RFC 6464): 0 dBov is a full-scale square wave (mean square
 *    32768^2), so a full-scale sine is -3.01 dBov. dBm0 = dBov + 6.15 (approximately). */
#ifndef MD_DSP_ENERGY_H
#define MD_DSP_ENERGY_H

#include <stddef.h>
#include <stdint.h>

#define MD_ENERGY_FLOOR_DBM0 (-100.0f)   /* reported for digital silence */
#define MD_ENERGY_FLOOR_DBOV (-127.0f)   /* reported for digital silence (RFC 6464) */

/* Mean square of n samples (0 for n == 0): 0 .. 2^30. Exact: an int64 sum. */
double md_energy_mean_square(const int16_t *x, size_t n);

/* Mean power of n samples in dBm0, -100 .. +6.17 (MD_ENERGY_FLOOR_DBM0 for silence or
 * n == 0). */
float md_energy_dbm0(const int16_t *x, size_t n);

/* Mean power of n samples in dBov, -127 .. 0 (MD_ENERGY_FLOOR_DBOV for silence). */
float md_energy_dbov(const int16_t *x, size_t n);

/* The RFC 6464 audio level of a frame: -dBov rounded, 0 (loudest) .. 127 (silence). */
unsigned md_energy_rfc6464(const int16_t *x, size_t n);

/* Voice activity by an adaptive noise floor.
 *
 * The floor is the quietest frame of the last 2 seconds (minimum statistics, kept as
 * eight 250 ms sub-windows): speech always has gaps between syllables that show the
 * noise underneath, while steady noise, however loud, becomes the floor within about
 * 2 s. A frame is loud when it is threshold_db above the floor and above an absolute
 * minimum (-50 dBm0); the decision holds for hangover_ms after the last loud frame, so
 * that the gaps between words do not make a talker flap.
 *
 * The first frame seeds the floor: a channel that starts in the middle of a word is
 * detected from the first quieter gap (typically within 100-300 ms). */
#define MD_VAD_WINDOWS 8
#define MD_VAD_WINDOW_MS 250

typedef struct {
    float noise_dbm0;               /* the noise floor estimate */
    float level_dbm0;               /* the last frame's level */
    float threshold_db;
    float min_speech_dbm0;
    float win_min[MD_VAD_WINDOWS];  /* quietest frame of each past sub-window */
    float cur_min;                  /* quietest frame of the current sub-window */
    unsigned win_idx;               /* next win_min slot to fill */
    unsigned win_frames;            /* frames in the current sub-window so far */
    unsigned frames_per_win;
    unsigned hang_frames;           /* hangover, in frames */
    unsigned hang_left;
    unsigned frame_ms;
    int speech;                     /* current decision */
} md_vad_t;

/* frame_ms: duration of the frames that will be fed, 1..1000 (e.g. 20). threshold_db:
 * how far above the floor speech is, 0 < t < 60 (9 is a good start). hangover_ms:
 * 0..10000 (300 bridges word gaps). Returns 0 or -EINVAL. */
int md_vad_init(md_vad_t *v, unsigned frame_ms, float threshold_db, unsigned hangover_ms);

/* Feeds one frame of n samples (n > 0); returns 1 while speech (including hangover),
 * 0 otherwise, or -EINVAL for a NULL or empty frame (state unchanged). */
int md_vad_frame(md_vad_t *v, const int16_t *frame, size_t n);

#endif
