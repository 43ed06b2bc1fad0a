/* Energy in dBm0 and voice activity. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/energy.h"
#include "dsp/tone.h"
#include "tests/check.h"

static void sine(int16_t *x, int n, double hz, double dbm0)
{
    for (int i = 0; i < n; i++)
        x[i] = (int16_t)lrint(md_dbm0_to_amplitude(dbm0) * sin(2 * M_PI * hz * i / 8000.0));
}

int main(void)
{
    int16_t f[160];
    /* Levels of sines, exact to 0.1 dB (1 kHz fits 20 ms in whole periods). */
    for (double l = 0; l >= -60; l -= 10) {
        sine(f, 160, 1000, l);
        CHECKF(fabs(md_energy_dbm0(f, 160) - l) < 0.1, "%.1f dBm0 reads %.2f", l,
               md_energy_dbm0(f, 160));
    }
    sine(f, 160, 1000, 3.14);
    CHECKF(fabs(md_energy_dbm0(f, 160) - 3.14) < 0.1, "full scale %.2f", md_energy_dbm0(f, 160));
    memset(f, 0, sizeof(f));
    CHECK(md_energy_dbm0(f, 160) == MD_ENERGY_FLOOR_DBM0);
    CHECK(md_energy_dbm0(f, 0) == MD_ENERGY_FLOOR_DBM0);

    md_vad_t v;
    CHECK(md_vad_init(&v, 0, 9, 300) == -EINVAL);
    CHECK(md_vad_init(&v, 20, 9, 300) == 0);
    unsigned seed = 1;
    int noise_flags = 0, speech_flags = 0, hang = 0;
    /* 2 s of noise at -60 dBm0: silence. */
    for (int t = 0; t < 100; t++) {
        for (int i = 0; i < 160; i++)
            f[i] = (int16_t)(rand_r(&seed) % 61 - 30);
        noise_flags += md_vad_frame(&v, f, 160);
    }
    CHECK(noise_flags == 0);
    /* 1 s of "speech" (-20 dBm0 bursts): talking from the first frame. */
    for (int t = 0; t < 50; t++) {
        sine(f, 160, 300 + 10 * t, -20);
        speech_flags += md_vad_frame(&v, f, 160);
    }
    CHECK(speech_flags == 50);
    /* Back to noise: the hangover holds 300 ms (15 frames), then silence. */
    for (int t = 0; t < 40; t++) {
        for (int i = 0; i < 160; i++)
            f[i] = (int16_t)(rand_r(&seed) % 61 - 30);
        int s = md_vad_frame(&v, f, 160);
        if (s)
            hang++;
    }
    CHECKF(hang == 15, "hangover %d frames", hang);
    /* Loud steady noise becomes the floor after a while: no permanent "speech". */
    int late = 0;
    for (int t = 0; t < 1000; t++) {
        for (int i = 0; i < 160; i++)
            f[i] = (int16_t)(rand_r(&seed) % 6001 - 3000);
        int s = md_vad_frame(&v, f, 160);
        if (t >= 900)
            late += s;
    }
    CHECK(late == 0);
    return check_summary("energy");
}
