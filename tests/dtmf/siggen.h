/* Precise test signals for DTMF receivers: sums of double-precision sines at exact
 * frequencies, levels in dBm0 and chosen start phases, silence, white Gaussian noise at a
 * given SNR, quantised to int16 and optionally passed through G.711 (µ-law or A-law).
 *
 * Level convention (G.711): a full-scale sine is +3.14 dBm0, so a sine of L dBm0 has
 * amplitude 32767 * 10^((L - 3.14) / 20).
 *
 * The generator works in caller memory (no allocation) and carries its own random state,
 * so a run with the same seed makes the same samples. */
#ifndef MD_TESTS_DTMF_SIGGEN_H
#define MD_TESTS_DTMF_SIGGEN_H

#include <stdint.h>

#define SG_RATE 8000
#define SG_MS(x) ((int)((x) * 8))   /* milliseconds to samples at 8 kHz */

extern const double sg_row_hz[4];    /* 697, 770, 852, 941 */
extern const double sg_col_hz[4];    /* 1209, 1336, 1477, 1633 */
extern const char sg_keys[17];       /* "123A456B789C*0#D": digit d = row d/4, column d%4 */

typedef enum { SG_LINEAR = 0, SG_ULAW = 1, SG_ALAW = 2, SG_CODECS } sg_codec_t;

extern const char *const sg_codec_name[SG_CODECS];

typedef struct {
    double *x;       /* the signal being built, in int16 units */
    int16_t *pcm;    /* its quantised (and codec round-tripped) form, made by sg_finish */
    int len;         /* samples in use */
    int cap;         /* capacity of x and pcm */
    uint64_t rng;    /* xorshift64 state */
} sg_t;

/* Uses x and pcm (cap samples each); seed must not be 0. Returns 0 or -EINVAL. */
int sg_init(sg_t *g, double *x, int16_t *pcm, int cap, uint64_t seed);

/* Starts a new signal of len samples of silence. Returns 0, or -EINVAL if len is out
 * of 0..cap. */
int sg_clear(sg_t *g, int len);

/* Amplitude (in int16 units) of a sine at dbm0. */
double sg_amp(double dbm0);

/* Uniform in [0, 1) and standard normal, from the generator's state. */
double sg_urand(sg_t *g);
double sg_gauss(sg_t *g);

/* Adds a sine of hz at dbm0 over [start, start + len) (clipped to the signal), starting
 * at phase (radians; a negative phase means a random one). */
void sg_tone(sg_t *g, int start, int len, double hz, double dbm0, double phase);

/* Adds digit d (0..15) over [start, start + len): its row tone at row_dbm0 and
 * row_hz * (1 + row_off), its column tone likewise, both with random phases. */
void sg_digit(sg_t *g, int start, int len, int d, double row_dbm0, double col_dbm0,
              double row_off, double col_off);

/* Zeroes [start, start + len) (a drop-out). */
void sg_silence(sg_t *g, int start, int len);

/* Adds white Gaussian noise over the whole signal whose power is snr_db below
 * signal_power (a mean square in int16 units, e.g. sg_digit_power()). */
void sg_noise(sg_t *g, double signal_power, double snr_db);

/* Mean power of a digit with these per-tone levels: the sum of the tones' A^2 / 2. */
double sg_digit_power(double row_dbm0, double col_dbm0);

/* Rounds the signal to int16 (saturating) into pcm, through the codec. */
void sg_finish(sg_t *g, sg_codec_t codec);

#endif
