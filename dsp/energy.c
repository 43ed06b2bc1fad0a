/* Frame energy and voice activity. */
#include "dsp/energy.h"

#include <errno.h>
#include <math.h>

/* Power of a 0 dBm0 sine: (32767 * 10^(-3.14/20))^2 / 2. */
static double zero_dbm0_power(void)
{
    double a = 32767.0 * pow(10.0, -3.14 / 20.0);
    return a * a / 2.0;
}

float md_energy_dbm0(const int16_t *x, size_t n)
{
    int64_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc += (int32_t)x[i] * x[i];
    if (acc == 0)
        return MD_ENERGY_FLOOR_DBM0;
    double db = 10.0 * log10((double)acc / (double)n / zero_dbm0_power());
    return db < MD_ENERGY_FLOOR_DBM0 ? MD_ENERGY_FLOOR_DBM0 : (float)db;
}

int md_vad_init(md_vad_t *v, unsigned frame_ms, float threshold_db, unsigned hangover_ms)
{
    if (frame_ms == 0 || frame_ms > 1000 || !(threshold_db > 0 && threshold_db < 60))
        return -EINVAL;
    v->noise_dbm0 = -70.0f;
    v->level_dbm0 = MD_ENERGY_FLOOR_DBM0;
    v->threshold_db = threshold_db;
    v->min_speech_dbm0 = -50.0f;
    v->rise_per_frame = 3.0f * (float)frame_ms / 1000.0f;
    v->frame_ms = frame_ms;
    v->hang_frames = (hangover_ms + frame_ms - 1) / frame_ms;
    v->hang_left = 0;
    v->speech = 0;
    return 0;
}

int md_vad_frame(md_vad_t *v, const int16_t *frame, size_t n)
{
    float level = md_energy_dbm0(frame, n);
    v->level_dbm0 = level;
    if (level < v->noise_dbm0)
        v->noise_dbm0 = level < -90.0f ? -90.0f : level;
    else
        v->noise_dbm0 += level - v->noise_dbm0 < v->rise_per_frame ? level - v->noise_dbm0
                                                                   : v->rise_per_frame;
    int loud = level >= v->noise_dbm0 + v->threshold_db && level >= v->min_speech_dbm0;
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
