/* Frame energy and voice activity. */
#include "dsp/energy.h"

#include <errno.h>
#include <math.h>

/* Mean square of a full-scale square wave (0 dBov), and 10*log10 of the ratio of a
 * 0 dBm0 sine's power, (32767 * 10^(-3.14/20))^2 / 2, to it. */
#define ZERO_DBOV_MS 1073741824.0
#define ZERO_DBM0_DBOV (20.0 * log10(32767.0 / 32768.0) - 3.14 - 10.0 * log10(2.0))

double md_energy_mean_square(const int16_t *x, size_t n)
{
    /* int64: 2^30 per sample leaves room for 2^33 samples. */
    int64_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc += (int32_t)x[i] * x[i];
    return n ? (double)acc / (double)n : 0.0;
}

/* dBov, or -inf for silence. */
static double power_dbov(const int16_t *x, size_t n)
{
    double ms = md_energy_mean_square(x, n);
    return ms > 0 ? 10.0 * log10(ms / ZERO_DBOV_MS) : -HUGE_VAL;
}

float md_energy_dbm0(const int16_t *x, size_t n)
{
    double db = power_dbov(x, n) - ZERO_DBM0_DBOV;
    return db < MD_ENERGY_FLOOR_DBM0 ? MD_ENERGY_FLOOR_DBM0 : (float)db;
}

float md_energy_dbov(const int16_t *x, size_t n)
{
    double db = power_dbov(x, n);
    return db < MD_ENERGY_FLOOR_DBOV ? MD_ENERGY_FLOOR_DBOV : (float)db;
}

unsigned md_energy_rfc6464(const int16_t *x, size_t n)
{
    long l = lrint(-md_energy_dbov(x, n));
    return l < 0 ? 0 : (l > 127 ? 127 : (unsigned)l);
}

int md_vad_init(md_vad_t *v, unsigned frame_ms, float threshold_db, unsigned hangover_ms)
{
    if (v == NULL || frame_ms == 0 || frame_ms > 1000 ||
        !(threshold_db > 0 && threshold_db < 60) || hangover_ms > 10000)
        return -EINVAL;
    v->noise_dbm0 = MD_ENERGY_FLOOR_DBM0;
    v->level_dbm0 = MD_ENERGY_FLOOR_DBM0;
    v->threshold_db = threshold_db;
    v->min_speech_dbm0 = -50.0f;
    /* "No frame seen" is +inf, so the first frame seeds the floor. */
    for (unsigned i = 0; i < MD_VAD_WINDOWS; i++)
        v->win_min[i] = INFINITY;
    v->cur_min = INFINITY;
    v->win_idx = 0;
    v->win_frames = 0;
    v->frames_per_win = (MD_VAD_WINDOW_MS + frame_ms - 1) / frame_ms;
    v->frame_ms = frame_ms;
    v->hang_frames = (hangover_ms + frame_ms - 1) / frame_ms;
    v->hang_left = 0;
    v->speech = 0;
    return 0;
}

int md_vad_frame(md_vad_t *v, const int16_t *frame, size_t n)
{
    if (frame == NULL || n == 0)
        return -EINVAL;
    float level = md_energy_dbm0(frame, n);
    v->level_dbm0 = level;

    if (level < v->cur_min)
        v->cur_min = level;
    float floor = v->cur_min;
    for (unsigned i = 0; i < MD_VAD_WINDOWS; i++)
        floor = v->win_min[i] < floor ? v->win_min[i] : floor;
    v->noise_dbm0 = floor;
    if (++v->win_frames == v->frames_per_win) {
        v->win_min[v->win_idx] = v->cur_min;
        v->win_idx = (v->win_idx + 1) % MD_VAD_WINDOWS;
        v->cur_min = INFINITY;
        v->win_frames = 0;
    }

    int loud = level >= floor + v->threshold_db && level >= v->min_speech_dbm0;
    if (loud) {
        v->hang_left = v->hang_frames;
        v->speech = 1;
    } else if (v->hang_left > 0) {
        v->hang_left--;
        v->speech = 1;
    } else {
        v->speech = 0;
    }
    return v->speech;
}
