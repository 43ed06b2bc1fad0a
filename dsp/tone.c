/* Tone generation. */
#include "dsp/tone.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>

double md_dbm0_to_amplitude(double dbm0)
{
    return 32767.0 * pow(10.0, (dbm0 - 3.14) / 20.0);
}

double md_amplitude_to_dbm0(double amplitude)
{
    return 20.0 * log10(amplitude / 32767.0) + 3.14;
}

static uint32_t ms_to_samples(unsigned ms)
{
    return (uint32_t)ms * (MD_TONE_RATE / 1000);
}

int md_tone_init(md_tone_gen_t *g, const md_tone_desc_t *d)
{
    if (g == NULL || d == NULL || d->ncomp < 1 || d->ncomp > MD_TONE_MAX_COMPONENTS || d->nseg > MD_TONE_MAX_SEGMENTS)
        return -EINVAL;
    for (unsigned i = 0; i < d->ncomp; i++) {
        if (!(d->comp[i].hz >= 1.0f && d->comp[i].hz < MD_TONE_RATE / 2) ||
            !(d->comp[i].dbm0 >= -90.0f && d->comp[i].dbm0 <= 3.14f))
            return -EINVAL;
    }
    uint64_t cycle = 0;
    for (unsigned s = 0; s < d->nseg; s++) {
        if (d->on_ms[s] > MD_TONE_MAX_MS || d->off_ms[s] > MD_TONE_MAX_MS)
            return -EINVAL;
        cycle += (uint64_t)d->on_ms[s] + d->off_ms[s];
    }
    /* A repeating cadence of zero length would never produce a sample. */
    if (d->nseg && d->repeat && cycle == 0)
        return -EINVAL;
    memset(g, 0, sizeof(*g));
    g->d = *d;
    for (unsigned i = 0; i < d->ncomp; i++) {
        double w = 2.0 * M_PI * d->comp[i].hz / MD_TONE_RATE;
        g->re[i] = 1.0;   /* phase 0: the tone starts at a zero crossing */
        g->im[i] = 0.0;
        g->rot_re[i] = cos(w);
        g->rot_im[i] = sin(w);
        g->amp[i] = md_dbm0_to_amplitude(d->comp[i].dbm0);
    }
    g->left = d->nseg ? ms_to_samples(d->on_ms[0]) : UINT32_MAX;
    return 0;
}

int md_tone_done(const md_tone_gen_t *g)
{
    return g->done;
}

/* Moves to the next part of the cadence when the current one has run out. */
static void advance(md_tone_gen_t *g)
{
    while (g->left == 0 && !g->done) {
        if (!g->in_off) {
            g->in_off = 1;
            g->left = ms_to_samples(g->d.off_ms[g->seg]);
        } else {
            g->in_off = 0;
            g->seg++;
            if (g->seg == g->d.nseg) {
                if (!g->d.repeat) {
                    g->done = 1;
                    break;
                }
                g->seg = 0;
            }
            g->left = ms_to_samples(g->d.on_ms[g->seg]);
        }
    }
}

size_t md_tone_generate(md_tone_gen_t *g, int16_t *out, size_t n)
{
    size_t i = 0, toned = 0;
    while (i < n) {
        if (g->d.nseg)
            advance(g);
        if (g->done) {
            memset(out + i, 0, (n - i) * sizeof(int16_t));
            break;
        }
        size_t m = n - i;
        if (g->d.nseg && m > g->left)
            m = g->left;
        if (g->in_off) {
            memset(out + i, 0, m * sizeof(int16_t));
        } else {
            for (size_t k = 0; k < m; k++) {
                double v = 0;
                for (unsigned c = 0; c < g->d.ncomp; c++) {
                    v += g->amp[c] * g->im[c];
                    double re = g->re[c] * g->rot_re[c] - g->im[c] * g->rot_im[c];
                    g->im[c] = g->re[c] * g->rot_im[c] + g->im[c] * g->rot_re[c];
                    g->re[c] = re;
                }
                /* Clamp, then round half away from zero by hand: lrint() is a libm call
                 * under the default -fmath-errno, and the dearest part of this loop. */
                v = v > 32767.0 ? 32767.0 : (v < -32768.0 ? -32768.0 : v);
                out[i + k] = (int16_t)(v + (v >= 0 ? 0.5 : -0.5));
            }
            toned += m;
        }
        if (g->d.nseg)
            g->left -= (uint32_t)m;
        i += m;
    }
    /* Keep the phasors on the unit circle; rounding would otherwise drift the level. */
    for (unsigned c = 0; c < g->d.ncomp; c++) {
        double r = sqrt(g->re[c] * g->re[c] + g->im[c] * g->im[c]);
        g->re[c] /= r;
        g->im[c] /= r;
    }
    return toned;
}

static const float dtmf_row[4] = { 697, 770, 852, 941 };
static const float dtmf_col[4] = { 1209, 1336, 1477, 1633 };
static const char dtmf_keys[] = "123A456B789C*0#D";

int md_tone_dtmf(md_tone_desc_t *d, char digit, float level_dbm0, float twist_db,
                 unsigned on_ms, unsigned off_ms)
{
    if (digit >= 'a' && digit <= 'd')
        digit = (char)(digit - 'a' + 'A');
    const char *p = digit ? strchr(dtmf_keys, digit) : NULL;
    if (d == NULL || p == NULL || on_ms == 0 || on_ms > MD_TONE_MAX_MS || off_ms > MD_TONE_MAX_MS)
        return -EINVAL;
    int k = (int)(p - dtmf_keys);
    memset(d, 0, sizeof(*d));
    d->ncomp = 2;
    d->comp[0] = (md_tone_component_t){ dtmf_row[k / 4], level_dbm0 };
    d->comp[1] = (md_tone_component_t){ dtmf_col[k % 4], level_dbm0 + twist_db };
    d->nseg = 1;
    d->on_ms[0] = on_ms;
    d->off_ms[0] = off_ms;
    d->repeat = 0;
    if (!(level_dbm0 >= -90.0f && level_dbm0 <= 3.14f && level_dbm0 + twist_db >= -90.0f &&
          level_dbm0 + twist_db <= 3.14f))
        return -EINVAL;
    return 0;
}

int md_tone_preset(md_tone_desc_t *d, md_tone_preset_t preset, float level_dbm0)
{
    static const struct {
        float hz[2];
        unsigned on, off;
        int repeat;
    } presets[MD_TONE_PRESET_COUNT] = {
        [MD_TONE_NA_DIAL] = { { 350, 440 }, 0, 0, 1 },
        [MD_TONE_NA_RINGBACK] = { { 440, 480 }, 2000, 4000, 1 },
        [MD_TONE_NA_BUSY] = { { 480, 620 }, 500, 500, 1 },
        [MD_TONE_NA_REORDER] = { { 480, 620 }, 250, 250, 1 },
        [MD_TONE_CN_DIAL] = { { 450, 0 }, 0, 0, 1 },
        [MD_TONE_CN_RINGBACK] = { { 450, 0 }, 1000, 4000, 1 },
        [MD_TONE_CN_BUSY] = { { 450, 0 }, 350, 350, 1 },
        [MD_TONE_BEEP] = { { 1400, 0 }, 500, 0, 0 },
    };
    if (d == NULL || (unsigned)preset >= MD_TONE_PRESET_COUNT || !(level_dbm0 >= -90.0f && level_dbm0 <= 3.14f))
        return -EINVAL;
    memset(d, 0, sizeof(*d));
    d->ncomp = presets[preset].hz[1] > 0 ? 2 : 1;
    for (unsigned i = 0; i < d->ncomp; i++)
        d->comp[i] = (md_tone_component_t){ presets[preset].hz[i], level_dbm0 };
    if (presets[preset].on) {
        d->nseg = 1;
        d->on_ms[0] = presets[preset].on;
        d->off_ms[0] = presets[preset].off;
    }
    d->repeat = presets[preset].repeat;
    return 0;
}

int md_tone_beep(md_tone_desc_t *d, float hz, float level_dbm0, unsigned on_ms,
                 unsigned off_ms, int repeat)
{
    md_tone_gen_t probe;
    if (d == NULL || on_ms == 0)
        return -EINVAL;
    memset(d, 0, sizeof(*d));
    d->ncomp = 1;
    d->comp[0] = (md_tone_component_t){ hz, level_dbm0 };
    d->nseg = 1;
    d->on_ms[0] = on_ms;
    d->off_ms[0] = off_ms;
    d->repeat = repeat != 0;
    /* One set of range rules: the generator's. */
    return md_tone_init(&probe, d);
}

size_t md_tone_dial_samples(size_t ndigits, unsigned on_ms, unsigned off_ms)
{
    if (on_ms > MD_TONE_MAX_MS || off_ms > MD_TONE_MAX_MS)
        return 0;
    size_t per = (size_t)ms_to_samples(on_ms) + ms_to_samples(off_ms);
    if (per && ndigits > SIZE_MAX / per)
        return 0;
    return ndigits * per;
}

long md_tone_dial(int16_t *out, size_t cap, const char *digits, float level_dbm0,
                  float twist_db, unsigned on_ms, unsigned off_ms)
{
    md_tone_desc_t d;
    md_tone_gen_t g;

    if (digits == NULL || (out == NULL && cap > 0) || on_ms > MD_TONE_MAX_MS ||
        off_ms > MD_TONE_MAX_MS)
        return -EINVAL;
    size_t n = strlen(digits);
    size_t per = (size_t)ms_to_samples(on_ms) + ms_to_samples(off_ms);
    for (size_t i = 0; i < n; i++)
        if (md_tone_dtmf(&d, digits[i], level_dbm0, twist_db, on_ms, off_ms) != 0)
            return -EINVAL;
    if (n > 0 && (per > cap || n > cap / per))
        return -ENOSPC;
    if (n * per > LONG_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        md_tone_dtmf(&d, digits[i], level_dbm0, twist_db, on_ms, off_ms);
        md_tone_init(&g, &d);
        md_tone_generate(&g, out + i * per, per);
    }
    return (long)(n * per);
}
