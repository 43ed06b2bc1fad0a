/* Internal interface between the DTMF decision logic (dtmf.c) and its filter kernel
 * (dtmf_kernel.c, compiled once per lane count). Not part of the public API.
 *
 * The kernel runs, for a group of channels in lock step (same position in their
 * 5 ms sub-block, same number of new samples), the per-sample work: a high-pass biquad
 * that keeps dial tone and hum out, the energy of its output, and eight Goertzel
 * filters on its output. At the end of every sub-block it classifies the 10 ms window
 * (this sub-block and the previous one, combined coherently): which row and column are
 * strongest, whether they pass the level and twist limits, and which share of the
 * window's energy they carry. It hands that and the sub-block's filter outputs to
 * md_dtmf_decide_block(), scalar code shared by all paths, which runs the state machine.
 * Constants were computed in double precision and rounded once to float
 * (tools/dtmf_constants.py prints them). */
#ifndef MD_DSP_DTMF_KERNEL_H
#define MD_DSP_DTMF_KERNEL_H

#include <stdint.h>

#include "dsp/dtmf.h"

#define MD_DTMF_MAX_LANES 16
#define MD_DTMF_WINDOW (2 * MD_DTMF_SUB)   /* 10 ms analysis window */

/* High-pass biquad, transposed direct form II, b0 = b2 = 1: zeros on the unit circle
 * at 400 Hz (dial tones 350-450 Hz lose more than 20 dB), poles at 800 Hz radius 0.8. */
#define MD_DTMF_HP_B1 (-1.902113033e+00f)
#define MD_DTMF_HP_A1 (-1.294427191e+00f)
#define MD_DTMF_HP_A2 (6.400000000e-01f)
static const float md_dtmf_goertzel_coef[MD_DTMF_BINS] = {
    1.707737809e+00f, 1.645281036e+00f, 1.568686984e+00f, 1.478204568e+00f, 1.164104023e+00f, 9.963702107e-01f, 7.986183892e-01f, 5.685327068e-01f,
};
static const float md_dtmf_cos_w[MD_DTMF_BINS] = {
    8.538689047e-01f, 8.226405180e-01f, 7.843434919e-01f, 7.391022841e-01f, 5.820520115e-01f, 4.981851053e-01f, 3.993091946e-01f, 2.842663534e-01f,
};
static const float md_dtmf_sin_w[MD_DTMF_BINS] = {
    5.204881302e-01f, 5.685618507e-01f, 6.203267580e-01f, 6.735932108e-01f, 8.131515578e-01f, 8.670707012e-01f, 9.168163214e-01f, 9.587453470e-01f,
};
static const float md_dtmf_rot_re[MD_DTMF_BINS] = {
    -9.955619646e-01f, 5.877852523e-01f, -6.279051953e-02f, -2.789911060e-01f, 9.602936857e-01f, -4.257792916e-01f, -7.501110696e-01f, 5.090414158e-01f,
};
static const float md_dtmf_rot_im[MD_DTMF_BINS] = {
    9.410831332e-02f, -8.090169944e-01f, 9.980267284e-01f, -9.602936857e-01f, 2.789911060e-01f, -9.048270525e-01f, 6.613118653e-01f, 8.607420270e-01f,
};
static const float md_dtmf_hp_gain[MD_DTMF_BINS] = {
    8.155225079e-01f, 1.469518300e+00f, 2.226288757e+00f, 2.740293708e+00f, 2.707049220e+00f, 2.521507870e+00f, 2.350896937e+00f, 2.208982906e+00f,
};

/* Thresholds the kernel applies to every window, in the units it works in. */
typedef struct {
    float min_level;        /* window power of a tone at the minimum level, gain removed */
    float twist_normal;     /* largest low/high tone power ratio */
    float twist_reverse;    /* largest high/low tone power ratio */
    float rho_present;      /* smallest share of the window energy for a candidate */
} md_dtmf_limits_t;

extern const md_dtmf_limits_t md_dtmf_limits;

/* Outputs of one completed sub-block for every lane of a group, lane-minor. */
typedef struct {
    int32_t digit[MD_DTMF_MAX_LANES];               /* candidate 0..15 of the window, or -1 */
    float rho[MD_DTMF_MAX_LANES];                   /* its two tones' share of the energy */
    float sub_re[MD_DTMF_BINS][MD_DTMF_MAX_LANES];  /* this sub-block's Goertzel output */
    float sub_im[MD_DTMF_BINS][MD_DTMF_MAX_LANES];
} md_dtmf_block_out_t;

/* Runs len samples through a group of lanes. rx[0..lanes-1] must all be at the same
 * f.pos; x[i] points at rx[i]'s first new sample. Only the first nreal lanes are real
 * channels (the rest pad a partial group and are not decided). Calls
 * md_dtmf_decide_block() after every sub-block completed. */
typedef void md_dtmf_kernel_fn(md_dtmf_rx_t *const *rx, const int16_t *const *x,
                               unsigned nreal, unsigned len, md_dtmf_block_out_t *out);

md_dtmf_kernel_fn md_dtmf_kernel_scalar;   /* 4 lanes, x86-64 baseline (SSE2) */
md_dtmf_kernel_fn md_dtmf_kernel_avx2;     /* 8 lanes */
md_dtmf_kernel_fn md_dtmf_kernel_avx512;   /* 16 lanes */

/* Runs the decisions for the lanes in the mask (those with a candidate in this window,
 * and those with a run or a digit in progress). Returns the mask of lanes still busy
 * afterwards. done: samples of the current call consumed so far, up to the end of this
 * sub-block. */
uint32_t md_dtmf_decide_block(md_dtmf_rx_t *const *rx, const md_dtmf_block_out_t *out,
                              unsigned done, uint32_t lanes);

#endif
