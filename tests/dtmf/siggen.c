/* Precise test signals for DTMF receivers: see siggen.h. */
#include "tests/dtmf/siggen.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "dsp/g711.h"

const double sg_row_hz[4] = { 697, 770, 852, 941 };
const double sg_col_hz[4] = { 1209, 1336, 1477, 1633 };
const char sg_keys[17] = "123A456B789C*0#D";
const char *const sg_codec_name[SG_CODECS] = { "linear", "ulaw", "alaw" };

int sg_init(sg_t *g, double *x, int16_t *pcm, int cap, uint64_t seed)
{
    if (g == NULL || x == NULL || pcm == NULL || cap <= 0 || seed == 0)
        return -EINVAL;
    g->x = x;
    g->pcm = pcm;
    g->cap = cap;
    g->len = 0;
    g->rng = seed;
    return 0;
}

int sg_clear(sg_t *g, int len)
{
    if (len < 0 || len > g->cap)
        return -EINVAL;
    memset(g->x, 0, sizeof(double) * (size_t)len);
    g->len = len;
    return 0;
}

double sg_amp(double dbm0)
{
    return 32767.0 * pow(10.0, (dbm0 - 3.14) / 20.0);
}

double sg_urand(sg_t *g)
{
    g->rng ^= g->rng << 13;
    g->rng ^= g->rng >> 7;
    g->rng ^= g->rng << 17;
    return (double)(g->rng >> 11) / 9007199254740992.0;
}

double sg_gauss(sg_t *g)
{
    /* Box-Muller; 1 - u is in (0, 1], so the log is finite. */
    double u = 1.0 - sg_urand(g), v = sg_urand(g);
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

void sg_tone(sg_t *g, int start, int len, double hz, double dbm0, double phase)
{
    if (phase < 0)
        phase = sg_urand(g) * 2.0 * M_PI;
    double a = sg_amp(dbm0), w = 2.0 * M_PI * hz / SG_RATE;
    int from = start < 0 ? 0 : start, to = start + len > g->len ? g->len : start + len;
    /* Computed directly per sample (no recursive oscillator), so a 10 s tone's phase
     * and amplitude are exact to the last sample. */
    for (int i = from; i < to; i++)
        g->x[i] += a * sin(phase + w * (double)(i - start));
}

void sg_digit(sg_t *g, int start, int len, int d, double row_dbm0, double col_dbm0,
              double row_off, double col_off)
{
    sg_tone(g, start, len, sg_row_hz[d / 4] * (1.0 + row_off), row_dbm0, -1);
    sg_tone(g, start, len, sg_col_hz[d % 4] * (1.0 + col_off), col_dbm0, -1);
}

void sg_silence(sg_t *g, int start, int len)
{
    int from = start < 0 ? 0 : start, to = start + len > g->len ? g->len : start + len;
    for (int i = from; i < to; i++)
        g->x[i] = 0;
}

double sg_digit_power(double row_dbm0, double col_dbm0)
{
    double ar = sg_amp(row_dbm0), ac = sg_amp(col_dbm0);
    return (ar * ar + ac * ac) / 2.0;
}

void sg_noise(sg_t *g, double signal_power, double snr_db)
{
    double rms = sqrt(signal_power / pow(10.0, snr_db / 10.0));
    for (int i = 0; i < g->len; i++)
        g->x[i] += rms * sg_gauss(g);
}

void sg_finish(sg_t *g, sg_codec_t codec)
{
    for (int i = 0; i < g->len; i++) {
        double v = g->x[i];
        int16_t s = (int16_t)(v >= 32767.0 ? 32767 : (v <= -32768.0 ? -32768 : lrint(v)));
        if (codec == SG_ULAW)
            s = md_ulaw_decode1(md_ulaw_encode1(s));
        else if (codec == SG_ALAW)
            s = md_alaw_decode1(md_alaw_encode1(s));
        g->pcm[i] = s;
    }
}
