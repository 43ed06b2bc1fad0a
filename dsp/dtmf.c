/* In-band DTMF detector: dispatch of channel groups to the kernels, and the decisions.
 *
 * The per-sample filtering and the classification of each 10 ms window are in
 * dtmf_kernel.c. Everything here runs once per 5 ms sub-block per channel, in plain
 * scalar code shared by every path, so the decisions cannot differ between paths as
 * long as the kernels' outputs do not (they do not: see dtmf_kernel.c).
 *
 * Thresholds, and why:
 *   - level: each tone at least -35 dBm0 (Q.24 asks to accept -25 and reject -55);
 *   - twist: per window the high tone between 12 dB below and 7 dB above the low tone (in
 *     a 10 ms window the stronger tone's leakage moves the weaker one's level by up to
 *     2.5 dB, and a tone 1.5% off reads up to 0.9 dB low); at onset, measured exactly,
 *     between 8.5 dB below and 4.5 dB above (Q.24 asks to accept -8 to +4; a musical
 *     note's octave 9 dB under another note is not a digit);
 *   - the two tones carry at least 70% of the window's high-passed energy for a strong
 *     window, 40% for the digit to count as still present. For a tone that covers only
 *     part of the window that ratio is the covered fraction, so six consecutive strong
 *     windows means at least about 34 ms of tone: 40 ms tones always pass, 23 ms never;
 *   - onset: on the last six strong windows, the four middle ones (which the tone covers
 *     completely) give each tone's frequency from their phase advance; both must be
 *     within 1.6% of nominal (Q.24: accept 1.5%, reject 3.5%; musical notes 1.7-1.8% off
 *     a DTMF frequency exist, G5 and G#6), and each tone must be steady in amplitude and
 *     phase advance, which speech rarely is;
 *   - end: four consecutive windows without the digit (a 10 ms drop-out makes at most
 *     three, a 40 ms pause at least seven). */
#define _GNU_SOURCE   /* sincos() */
#include "dsp/dtmf.h"

#include <complex.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "dsp/dtmf_kernel.h"

#define K_ON 6          /* consecutive strong windows to begin a digit */
#define K_OFF 4         /* consecutive windows without the digit to end it */
#define RHO_STRONG 0.70f
#define RHO_PRESENT 0.40f
#define FREQ_TOLERANCE 0.016    /* relative frequency error accepted at onset */
#define STEADY_RATIO 2.0f       /* max/min window power of a tone across the check */
#define EXACT_TWIST_NORMAL_DB 8.5    /* at onset, from the leakage-free amplitudes */
#define EXACT_TWIST_REVERSE_DB 4.5

static const double bin_hz[MD_DTMF_BINS] = { 697, 770, 852, 941, 1209, 1336, 1477, 1633 };
static const char digit_chars[16] = "123A456B789C*0#D";

/* The kernel's per-window limits (see the top of this file). min_level is the window
 * power of a -35 dBm0 sine filling the 10 ms window, (A * 80 / 2)^2 with
 * A = 32767 * 10^((-35 - 3.14) / 20); the twists are 10^(12/10) and 10^(7/10). */
const md_dtmf_limits_t md_dtmf_limits = {
    .min_level = 2.636290987e+08f,
    .twist_normal = 1.584893192e+01f,
    .twist_reverse = 5.011872336e+00f,
    .rho_present = RHO_PRESENT,
};

void md_dtmf_rx_init(md_dtmf_rx_t *rx)
{
    memset(rx, 0, sizeof(*rx));
    rx->run_digit = -1;
    rx->active = -1;
}

char md_dtmf_digit_char(int index)
{
    if (index < 0 || index > 15)
        return '?';
    return digit_chars[index];
}

static void push_event(md_dtmf_rx_t *rx, md_dtmf_event_kind_t kind, int digit, uint64_t start,
                       uint64_t end)
{
    if (rx->ev_count == MD_DTMF_EVENTS_MAX) {
        rx->ev_head = (uint8_t)((rx->ev_head + 1) % MD_DTMF_EVENTS_MAX);
        rx->ev_count--;
        rx->events_lost++;
    }
    md_dtmf_event_t *ev = &rx->events[(rx->ev_head + rx->ev_count) % MD_DTMF_EVENTS_MAX];
    ev->kind = kind;
    ev->digit = digit_chars[digit];
    ev->start = start;
    ev->end = end;
    rx->ev_count++;
}

int md_dtmf_rx_take_event(md_dtmf_rx_t *rx, md_dtmf_event_t *ev)
{
    if (rx->ev_count == 0)
        return 0;
    *ev = rx->events[rx->ev_head];
    rx->ev_head = (uint8_t)((rx->ev_head + 1) % MD_DTMF_EVENTS_MAX);
    rx->ev_count--;
    return 1;
}

static double wrap_pi(double a)
{
    return a - 2.0 * M_PI * floor((a + M_PI) / (2.0 * M_PI));
}

/* Frequency check at onset.
 *
 * Input: the Goertzel outputs of the candidate's row and column bins over the five
 * sub-blocks the tone covers completely, 40 samples apart. A tone's own output advances
 * in phase by (w + d) * 40 from one sub-block to the next, where d is its frequency
 * error; but each bin also picks up the other tone and the negative-frequency images of
 * both through the sidelobes of the 40-sample window, which bends that phase by several
 * hertz when the tones differ in level. So the pair is modelled exactly: two real sines
 * of unknown complex amplitude at the current frequency estimates, whose leakage into
 * the two bins is known in closed form; a 4x4 real system per sub-block recovers each
 * tone's own amplitude, from which the frequencies are re-estimated (one round brings
 * the error of a clean tone under 0.01%).
 * The result is within a few tenths of a hertz for clean tones; the tolerance is then
 * tested, and each tone must be steady in level and phase advance, as speech is not. */

#define CHECK_SUBS 5
#define ESTIMATE_ROUNDS 1
#define PHASE_JITTER_MAX 0.35   /* rad: largest deviation of one step from the mean */

/* Sum over the 40 samples of one sub-block of e^{j delta m}:
 * e^{j h (N - 1)} sin(h N) / sin(h) with h = delta / 2, N = 40. e^{j 39 h} comes from
 * e^{j h} by squaring (39 = 32 + 4 + 2 + 1), cheaper than a second sincos. */
static double complex window_sum(double delta)
{
    double h = delta / 2.0, sh, ch;
    sincos(h, &sh, &ch);
    if (fabs(sh) < 1e-12)
        return MD_DTMF_SUB;
    double complex e1 = ch + I * sh, e2 = e1 * e1, e4 = e2 * e2, e8 = e4 * e4;
    double complex e32 = e8 * e8;
    e32 = e32 * e32;
    double complex e39 = e32 * e4 * e2 * e1;
    double complex e40 = e39 * e1;
    return e39 * (cimag(e40) / sh);   /* sin(40 h) / sin(h) */
}

/* Per-bin constants of the onset check, computed when the program loads. */
static struct bin_consts {
    double complex align;   /* e^{-j w 39}: Goertzel output to DFT from the block start */
    double complex rot;     /* e^{j w 40}: one sub-block's phase advance */
    double tan_fast;        /* tan(0.008 w 40): the fast path's frequency limit */
    double hp_gain;         /* |H(w)|^2 of the high-pass */
} bin_consts[MD_DTMF_BINS];

static double highpass_gain(double w);

__attribute__((constructor)) static void bin_consts_init(void)
{
    for (int b = 0; b < MD_DTMF_BINS; b++) {
        double w = 2.0 * M_PI * bin_hz[b] / 8000.0;
        bin_consts[b].align = cexp(-I * w * (MD_DTMF_SUB - 1));
        bin_consts[b].rot = cexp(I * w * MD_DTMF_SUB);
        bin_consts[b].tan_fast = tan(0.008 * w * MD_DTMF_SUB);
        bin_consts[b].hp_gain = highpass_gain(w);
    }
}

/* Solves a x_k = b_k for the CHECK_SUBS right-hand sides at once (one Gaussian
 * elimination with partial pivoting). Returns 0, or -1 if a is singular. */
static int solve4(double a[4][4], double b[CHECK_SUBS][4], double x[CHECK_SUBS][4])
{
    for (int c = 0; c < 4; c++) {
        int p = c;
        for (int r = c + 1; r < 4; r++)
            if (fabs(a[r][c]) > fabs(a[p][c]))
                p = r;
        if (fabs(a[p][c]) < 1e-9)
            return -1;
        if (p != c) {
            for (int k = 0; k < 4; k++) {
                double t = a[c][k];
                a[c][k] = a[p][k];
                a[p][k] = t;
            }
            for (int k = 0; k < CHECK_SUBS; k++) {
                double t = b[k][c];
                b[k][c] = b[k][p];
                b[k][p] = t;
            }
        }
        for (int r = c + 1; r < 4; r++) {
            double f = a[r][c] / a[c][c];
            for (int k = c; k < 4; k++)
                a[r][k] -= f * a[c][k];
            for (int k = 0; k < CHECK_SUBS; k++)
                b[k][r] -= f * b[k][c];
        }
    }
    for (int k = 0; k < CHECK_SUBS; k++)
        for (int r = 3; r >= 0; r--) {
            double v = b[k][r];
            for (int j = r + 1; j < 4; j++)
                v -= a[r][j] * x[k][j];
            x[k][r] = v / a[r][r];
        }
    return 0;
}

/* Frequency error (rad/sample) of a tone from its per-sub-block amplitudes. */
static double offset_of(const double complex *u, int n, double w)
{
    double complex acc = 0;
    for (int k = 0; k + 1 < n; k++)
        acc += u[k + 1] * conj(u[k]);
    return wrap_pi(carg(acc) - w * MD_DTMF_SUB) / MD_DTMF_SUB;
}

static int steady_unrotated(const double complex *u, int n, double complex unrotate)
{
    /* A step's phase deviation |arg(z)| <= PHASE_JITTER_MAX, without atan2: Re z > 0 and
     * |Im z| <= tan(max) Re z. */
    const double tan_max = 0.36502849483042454;   /* tan(PHASE_JITTER_MAX) */
    double pmin = 1e300, pmax = 0;
    for (int k = 0; k < n; k++) {
        double p = creal(u[k]) * creal(u[k]) + cimag(u[k]) * cimag(u[k]);
        pmin = p < pmin ? p : pmin;
        pmax = p > pmax ? p : pmax;
        if (k > 0) {
            double complex z = u[k] * conj(u[k - 1]) * unrotate;
            if (creal(z) <= 0 || fabs(cimag(z)) > tan_max * creal(z))
                return 0;
        }
    }
    return pmax <= STEADY_RATIO * pmin;
}

static int steady(const double complex *u, int n, double w, double d)
{
    double us, uc;
    sincos(-(w + d) * MD_DTMF_SUB, &us, &uc);
    return steady_unrotated(u, n, uc + I * us);
}

/* |H(w)|^2 of the kernel's high-pass biquad, (1 + b1 z^-1 + z^-2) / (1 + a1 z^-1 + a2 z^-2):
 * the numerator is e^{-jw} (2 cos w + b1). */
static double highpass_gain(double w)
{
    const double b1 = MD_DTMF_HP_B1, a1 = MD_DTMF_HP_A1, a2 = MD_DTMF_HP_A2;
    double c = cos(w), num = 2.0 * c + b1;
    double den = 1.0 + a1 * a1 + a2 * a2 + 2.0 * a1 * (1.0 + a2) * c + 2.0 * a2 * (2.0 * c * c - 1.0);
    return num * num / den;
}

/* The fast path of the onset check, for the usual case of a clean digit.
 *
 * Two 20 ms windows one sub-block apart, weighted 1-3-3-1 over the sub-blocks, keep the
 * other tone's leakage about 33 dB down. Measured against the exact model over the whole
 * Q.24 battery (221,000 onsets, twists from -8 to +4 dB, all three codecs), they give
 * each tone's frequency to within 0.62% and, for tones within 1.45% of nominal, the
 * twist to within 0.8 dB. So a pair read within 0.8% of nominal (hence truly within
 * 1.42%) with a twist read within -6.5 to +2.5 dB certainly passes the exact check (1.6%,
 * -8.5 to +4.5 dB); it is accepted here if it is also steady. Anything else, passing or
 * not, goes to the exact model. */
static int clearly_ok(double complex y[2][CHECK_SUBS], const int bins[2])
{
    static const double weight[4] = { 1, 3, 3, 1 };
    double level2[2];

    for (int t = 0; t < 2; t++) {
        const struct bin_consts *bc = &bin_consts[bins[t]];
        double complex za = 0, zb = 0, adv = 1;
        /* Sub-block k is advanced by the 40-sample steps to the last of its window. */
        for (int k = 3; k >= 0; k--) {
            za += weight[k] * adv * y[t][k];
            zb += weight[k] * adv * y[t][k + 1];
            adv *= bc->rot;
        }
        double pa = creal(za) * creal(za) + cimag(za) * cimag(za);
        double pb = creal(zb) * creal(zb) + cimag(zb) * cimag(zb);
        if (pa > STEADY_RATIO * pb || pb > STEADY_RATIO * pa)
            return 0;
        /* The advance over one sub-block, less the nominal one, within 0.8% of nominal:
         * |arg(z)| <= 0.008 w 40, as a ratio test. */
        double complex q = zb * conj(za);
        double complex z = q * conj(bc->rot);
        if (creal(z) <= 0 || fabs(cimag(z)) > bc->tan_fast * creal(z))
            return 0;
        if (!steady_unrotated(y[t], CHECK_SUBS, conj(q) / sqrt(pa * pb)))
            return 0;
        level2[t] = (pa + pb) / bc->hp_gain;
    }
    /* Twist within -6.5 .. +2.5 dB, on powers. */
    double ratio = level2[1] / level2[0];
    return ratio >= 0.22387211385683395 && ratio <= 1.7782794100389228;
}

static int pair_ok(const md_dtmf_rx_t *rx, int row, int col)
{
    /* The ring holds the last MD_DTMF_HIST sub-blocks, the oldest at hist_head; the run's
     * K_ON + 1 sub-blocks are its last ones, and the first and last of those may be only
     * partly covered by the tone. */
    const unsigned first = rx->hist_head + (MD_DTMF_HIST - (K_ON + 1)) + 1;
    const int bins[2] = { row, col };
    double complex y[2][CHECK_SUBS], u[2][CHECK_SUBS];
    double w[2], d[2];

    for (int t = 0; t < 2; t++) {
        w[t] = 2.0 * M_PI * bin_hz[bins[t]] / 8000.0;
        /* Goertzel output = e^{j w 39} x DFT of the sub-block from its first sample. */
        for (int k = 0; k < CHECK_SUBS; k++)
            y[t][k] = (rx->hist_re[t][(first + k) % MD_DTMF_HIST] +
                       I * (double)rx->hist_im[t][(first + k) % MD_DTMF_HIST]) *
                      bin_consts[bins[t]].align;
    }

    if (clearly_ok(y, bins))
        return 1;
    for (int t = 0; t < 2; t++)
        d[t] = offset_of(y[t], CHECK_SUBS, w[t]);

    for (int round = 0; round < ESTIMATE_ROUNDS; round++) {
        /* coef[e][s]: response of bin e to unknown s: tone t's positive (s = 2t) and
         * negative (s = 2t + 1, conjugated amplitude) frequency parts. */
        double complex coef[2][4];
        for (int e = 0; e < 2; e++)
            for (int t = 0; t < 2; t++) {
                double nu = w[t] + d[t];
                coef[e][2 * t] = window_sum(nu - w[e]);
                coef[e][2 * t + 1] = window_sum(-nu - w[e]);
            }
        /* Real system in (Re u_r, Im u_r, Re u_c, Im u_c). */
        double m[4][4];
        for (int e = 0; e < 2; e++)
            for (int t = 0; t < 2; t++) {
                double complex p = coef[e][2 * t], q = coef[e][2 * t + 1];
                m[2 * e][2 * t] = creal(p) + creal(q);
                m[2 * e][2 * t + 1] = -cimag(p) + cimag(q);
                m[2 * e + 1][2 * t] = cimag(p) + cimag(q);
                m[2 * e + 1][2 * t + 1] = creal(p) - creal(q);
            }
        double rhs[CHECK_SUBS][4], x[CHECK_SUBS][4];
        for (int k = 0; k < CHECK_SUBS; k++) {
            rhs[k][0] = creal(y[0][k]);
            rhs[k][1] = cimag(y[0][k]);
            rhs[k][2] = creal(y[1][k]);
            rhs[k][3] = cimag(y[1][k]);
        }
        if (solve4(m, rhs, x) != 0)
            return 0;
        for (int k = 0; k < CHECK_SUBS; k++) {
            u[0][k] = x[k][0] + I * x[k][1];
            u[1][k] = x[k][2] + I * x[k][3];
        }
        for (int t = 0; t < 2; t++)
            d[t] = offset_of(u[t], CHECK_SUBS, w[t]);
    }

    int ok = 1;
    double level[2];
    for (int t = 0; t < 2; t++) {
        /* The phase across all five sub-blocks, unwrapped with the step estimate, halves
         * the noise of the final estimate. */
        const double span = MD_DTMF_SUB * (CHECK_SUBS - 1);
        double whole = wrap_pi(carg(u[t][CHECK_SUBS - 1] * conj(u[t][0])) - w[t] * span);
        whole += 2.0 * M_PI * floor((d[t] * span - whole) / (2.0 * M_PI) + 0.5);
        d[t] = whole / span;
        double df = d[t] * 8000.0 / (2.0 * M_PI);
        ok &= fabs(df) <= FREQ_TOLERANCE * bin_hz[bins[t]];
        ok &= steady(u[t], CHECK_SUBS, w[t], d[t]);
        /* The tone's own amplitude, free of leakage: |u| is half the high-passed sine's
         * amplitude; undo the high-pass at the measured frequency. */
        double mag = 0;
        for (int k = 0; k < CHECK_SUBS; k++)
            mag += sqrt(creal(u[t][k]) * creal(u[t][k]) + cimag(u[t][k]) * cimag(u[t][k]));
        level[t] = 2.0 * mag / CHECK_SUBS / sqrt(highpass_gain(w[t] + d[t]));
    }
    /* The exact twist. The window test before this one allows 12 dB / 7 dB, since a
     * 10 ms window misreads levels by up to 2.5 dB; here Q.24's -8 / +4 dB get 0.5 dB of
     * margin. That rejects, for instance, a musical note whose octave lands on a row
     * frequency 6 dB below a note on a column frequency. */
    double twist_db = 20.0 * log10(level[1] / level[0]);
    ok &= twist_db >= -EXACT_TWIST_NORMAL_DB && twist_db <= EXACT_TWIST_REVERSE_DB;
    return ok;
}

static void hist_push(md_dtmf_rx_t *rx, float row_re, float row_im, float col_re, float col_im)
{
    unsigned h = rx->hist_head;
    rx->hist_re[0][h] = row_re;
    rx->hist_im[0][h] = row_im;
    rx->hist_re[1][h] = col_re;
    rx->hist_im[1][h] = col_im;
    rx->hist_head = (uint8_t)((h + 1) % MD_DTMF_HIST);
}

static void begin_digit(md_dtmf_rx_t *rx, int digit, uint64_t start)
{
    if (rx->active >= 0)
        push_event(rx, MD_DTMF_END, rx->active, rx->active_start, rx->last_present_end);
    rx->active = (int8_t)digit;
    rx->active_start = start;
    rx->misses = 0;
    push_event(rx, MD_DTMF_BEGIN, digit, start, 0);
}

static void end_digit(md_dtmf_rx_t *rx)
{
    push_event(rx, MD_DTMF_END, rx->active, rx->active_start, rx->last_present_end);
    rx->active = -1;
    rx->misses = 0;
}

static void decide_one(md_dtmf_rx_t *rx, const md_dtmf_block_out_t *o, unsigned lane,
                       uint64_t win_end)
{
    int digit = o->digit[lane];
    float rho = o->rho[lane];
    int row = digit / 4, col = 4 + digit % 4;

    /* Track the run of strong windows and keep its two tones' window values. */
    if (digit >= 0 && rho >= RHO_STRONG) {
        if (digit != rx->run_digit) {
            rx->run_digit = (int8_t)digit;
            rx->run_len = 0;
        }
        if (rx->run_len < 255)
            rx->run_len++;
        if (rx->run_len == 1) {
            uint64_t fill = (uint64_t)(rho > 1.0f ? MD_DTMF_WINDOW : rho * MD_DTMF_WINDOW);
            rx->run_start = win_end - fill;
        }
        /* The filter history only matters while the run could still begin a digit. */
        if (digit != rx->active) {
            if (rx->run_len == 1) {
                /* The run's first window also covers the previous sub-block, which may hold
                 * only the start of the tone: it takes a place in the ring, never a part
                 * in the check. */
                hist_push(rx, 0.0f, 0.0f, 0.0f, 0.0f);
            }
            hist_push(rx, o->sub_re[row][lane], o->sub_im[row][lane], o->sub_re[col][lane],
                      o->sub_im[col][lane]);
        }

        /* K_ON strong windows span K_ON + 1 sub-blocks; as each window holds at least
         * 70% tone, all but the first and the last of them are covered by the tone. */
        if (rx->run_len >= K_ON && digit != rx->active) {
            if (pair_ok(rx, row, col))
                begin_digit(rx, digit, rx->run_start);
        }
    } else {
        rx->run_digit = -1;
        rx->run_len = 0;
    }

    if (rx->active >= 0) {
        if (digit == rx->active) {
            rx->misses = 0;
            uint64_t fill = (uint64_t)(rho > 1.0f ? MD_DTMF_WINDOW : rho * MD_DTMF_WINDOW);
            rx->last_present_end = win_end - MD_DTMF_WINDOW + fill;
        } else if (++rx->misses >= K_OFF) {
            end_digit(rx);
        }
    }
}

uint32_t md_dtmf_decide_block(md_dtmf_rx_t *const *rx, const md_dtmf_block_out_t *out,
                              unsigned done, uint32_t lanes)
{
    uint32_t busy = 0;
    while (lanes) {
        unsigned lane = (unsigned)__builtin_ctz(lanes);
        lanes &= lanes - 1;
        md_dtmf_rx_t *r = rx[lane];
        decide_one(r, out, lane, r->clock + done);
        busy |= (uint32_t)(r->run_digit >= 0 || r->active >= 0) << lane;
    }
    return busy;
}

void md_dtmf_rx_flush(md_dtmf_rx_t *rx)
{
    if (rx->active >= 0)
        end_digit(rx);
    rx->run_digit = -1;
    rx->run_len = 0;
}

/* Channels enter a kernel in groups at the same sub-block position. Within a call each
 * batch of channels is sorted by position (counting sort, no heap) and cut into groups of
 * the kernel's lane count; a last partial group is padded with scratch lanes. */
#define BATCH 256

int md_dtmf_rx_process(md_dtmf_rx_t *const *rx, const int16_t *const *samples, unsigned nch,
                       unsigned len, md_isa_t isa)
{
    md_dtmf_kernel_fn *kernel;
    unsigned lanes;

    if ((nch > 0 && (rx == NULL || samples == NULL)) || isa >= MD_ISA_COUNT)
        return -EINVAL;
    if (!md_cpu_has(isa))
        isa = md_cpu_best_isa();
    switch (isa) {
    case MD_ISA_AVX512:
        kernel = md_dtmf_kernel_avx512;
        lanes = 16;
        break;
    case MD_ISA_AVX2:
        kernel = md_dtmf_kernel_avx2;
        lanes = 8;
        break;
    default:
        kernel = md_dtmf_kernel_scalar;
        lanes = 4;
        break;
    }
    if (len == 0)
        return 0;

    md_dtmf_block_out_t out;
    md_dtmf_rx_t pad;
    uint16_t order[BATCH];
    unsigned count[MD_DTMF_SUB + 1];

    for (unsigned base = 0; base < nch; base += BATCH) {
        unsigned n = nch - base < BATCH ? nch - base : BATCH;

        for (unsigned i = 0; i < n; i++)
            if (rx[base + i] == NULL || samples[base + i] == NULL)
                return -EINVAL;
        /* Usually every channel is at the same position (frames are whole multiples of
         * 5 ms): then the order is the given one. */
        uint32_t pos0 = rx[base]->f.pos;
        unsigned same = 1;
        for (unsigned i = 1; i < n; i++)
            same += rx[base + i]->f.pos == pos0;
        if (same == n) {
            for (unsigned i = 0; i < n; i++)
                order[i] = (uint16_t)i;
        } else {
            memset(count, 0, sizeof(count));
            for (unsigned i = 0; i < n; i++)
                count[rx[base + i]->f.pos + 1]++;
            for (unsigned p = 1; p <= MD_DTMF_SUB; p++)
                count[p] += count[p - 1];
            for (unsigned i = 0; i < n; i++)
                order[count[rx[base + i]->f.pos]++] = (uint16_t)i;
        }

        /* order[] now lists the batch by position; walk runs of equal position. */
        unsigned i = 0;
        while (i < n) {
            uint32_t pos = rx[base + order[i]]->f.pos;
            unsigned j = i;
            while (j < n && rx[base + order[j]]->f.pos == pos)
                j++;
            for (unsigned g = i; g < j; g += lanes) {
                md_dtmf_rx_t *grx[MD_DTMF_MAX_LANES];
                const int16_t *gx[MD_DTMF_MAX_LANES];
                unsigned real = j - g < lanes ? j - g : lanes;
                for (unsigned l = 0; l < real; l++) {
                    grx[l] = rx[base + order[g + l]];
                    gx[l] = samples[base + order[g + l]];
                }
                if (real < lanes) {
                    pad.f = grx[0]->f;
                    for (unsigned l = real; l < lanes; l++) {
                        grx[l] = &pad;
                        gx[l] = gx[0];
                    }
                }
                kernel(grx, gx, real, len, &out);
                for (unsigned l = 0; l < real; l++)
                    grx[l]->clock += len;
            }
            i = j;
        }
    }
    return 0;
}

int md_dtmf_rx_process1(md_dtmf_rx_t *rx, const int16_t *samples, unsigned len, md_isa_t isa)
{
    return md_dtmf_rx_process(&rx, &samples, 1, len, isa);
}
