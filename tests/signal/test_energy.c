/* Energy (mean square, dBm0, dBov, RFC 6464) and voice activity: known sines to 0.1 dB,
 * silence, noise, speech-like bursts with word gaps, hangover timing, loud noise. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/energy.h"
#include "dsp/tone.h"
#include "tests/check.h"

static void sine(int16_t *x, int n, double hz, double rate, double amp)
{
    for (int i = 0; i < n; i++)
        x[i] = (int16_t)lrint(amp * sin(2 * M_PI * hz * i / rate + 0.3));
}

/* Uniform noise of the given RMS (uniform in +-a has RMS a / sqrt(3)). */
static void noise(int16_t *x, int n, double rms, unsigned *seed)
{
    double a = rms * sqrt(3.0);
    for (int i = 0; i < n; i++)
        x[i] = (int16_t)lrint(a * (2.0 * rand_r(seed) / RAND_MAX - 1.0));
}

static double dbm0_to_rms(double dbm0)
{
    return md_dbm0_to_amplitude(dbm0) / sqrt(2.0);
}

/* A speech-like syllable frame: 6 harmonics of a gliding pitch, at a given RMS, plus
 * background noise. */
static void syllable(int16_t *x, int n, long t0, double rms, double noise_rms, unsigned *seed)
{
    double v[320], p = 0;
    for (int i = 0; i < n; i++) {
        double t = (double)(t0 + i) / 8000.0, f0 = 120 + 30 * sin(2 * M_PI * 1.5 * t);
        v[i] = 0;
        for (int h = 1; h <= 6; h++)
            v[i] += sin(2 * M_PI * f0 * h * t + h) / h;
        p += v[i] * v[i];
    }
    double g = rms / sqrt(p / n);
    int16_t nz[320];
    noise(nz, n, noise_rms, seed);
    for (int i = 0; i < n; i++)
        x[i] = (int16_t)lrint(g * v[i] + nz[i]);
}

static void test_levels(void)
{
    int16_t f[320];
    /* Mean square is exact. */
    for (int i = 0; i < 160; i++)
        f[i] = (int16_t)(i % 2 ? 100 : -100);
    CHECK(md_energy_mean_square(f, 160) == 10000.0);
    for (int i = 0; i < 160; i++)
        f[i] = -32768;
    CHECK(md_energy_mean_square(f, 160) == 1073741824.0);
    CHECK(md_energy_dbov(f, 160) == 0.0f);   /* full-scale square wave: 0 dBov */
    CHECK(md_energy_rfc6464(f, 160) == 0);
    CHECK(md_energy_mean_square(f, 0) == 0.0);

    /* Sines at 8 kHz (160 samples) and 16 kHz (320), exact to 0.1 dB from full scale down
     * to -45 dBm0 (below that, rounding the samples to integers alone moves a sine by
     * about 0.1 dB). 1 kHz and 500 Hz fit 20 ms in whole periods. */
    static const struct {
        double hz, rate;
        int n;
    } cases[] = { { 1000, 8000, 160 }, { 500, 8000, 160 }, { 1000, 16000, 320 } };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        for (double l = 3.14; l >= -45; l -= (l > 3 ? 3.14 : 7.5)) {
            sine(f, cases[c].n, cases[c].hz, cases[c].rate, md_dbm0_to_amplitude(l));
            float got = md_energy_dbm0(f, (size_t)cases[c].n);
            CHECKF(fabs(got - l) < 0.1, "%.0f Hz @ %.0f: %.2f dBm0 reads %.3f", cases[c].hz,
                   cases[c].rate, l, got);
            /* Same sine in dBov: 6.15 dB lower (3.14 + 3.01). */
            float ov = md_energy_dbov(f, (size_t)cases[c].n);
            CHECKF(fabs(ov - (l - 3.14 - 3.0103)) < 0.1, "%.2f dBm0 is %.3f dBov", l, ov);
        }
    }
    /* -20 dBov reads RFC 6464 level 20. */
    sine(f, 160, 1000, 8000, 32768.0 * sqrt(2.0) * pow(10, -20 / 20.0));
    CHECKF(md_energy_rfc6464(f, 160) == 20, "level %u", md_energy_rfc6464(f, 160));
    /* A one-LSB square wave: mean square 1, -90.3 dBov, -84.2 dBm0. */
    for (int i = 0; i < 160; i++)
        f[i] = (int16_t)(i % 2 ? 1 : -1);
    CHECK(fabs(md_energy_dbov(f, 160) + 90.309) < 0.01);
    CHECK(fabs(md_energy_dbm0(f, 160) + 84.159) < 0.01);
    CHECK(md_energy_rfc6464(f, 160) == 90);
    memset(f, 0, sizeof(f));
    CHECK(md_energy_dbm0(f, 160) == MD_ENERGY_FLOOR_DBM0);
    CHECK(md_energy_dbov(f, 160) == MD_ENERGY_FLOOR_DBOV);
    CHECK(md_energy_rfc6464(f, 160) == 127);
    CHECK(md_energy_dbm0(f, 0) == MD_ENERGY_FLOOR_DBM0);
}

static void test_vad_bursts(void)
{
    md_vad_t v;
    int16_t f[160];
    unsigned seed = 1;
    CHECK(md_vad_init(&v, 0, 9, 300) == -EINVAL);
    CHECK(md_vad_init(&v, 20, 0, 300) == -EINVAL);
    CHECK(md_vad_init(&v, 20, NAN, 300) == -EINVAL);
    CHECK(md_vad_init(&v, 20, 9, 20000) == -EINVAL);
    CHECK(md_vad_init(NULL, 20, 9, 300) == -EINVAL);
    CHECK(md_vad_init(&v, 20, 9, 300) == 0);
    CHECK(md_vad_frame(&v, NULL, 160) == -EINVAL && md_vad_frame(&v, f, 0) == -EINVAL);

    /* Digital silence, then 2 s of line noise at -60 dBm0: never speech. */
    memset(f, 0, sizeof(f));
    int flags = 0;
    for (int t = 0; t < 25; t++)
        flags += md_vad_frame(&v, f, 160);
    for (int t = 0; t < 100; t++) {
        noise(f, 160, dbm0_to_rms(-60), &seed);
        flags += md_vad_frame(&v, f, 160);
    }
    CHECK(flags == 0);

    /* 3 s of "words": 200 ms syllables at -20 dBm0 with 120 ms gaps of the same noise.
     * Speech from the first syllable frame, and no flapping in the gaps. */
    long t0 = 0;
    int first = -1, drops = 0;
    for (int t = 0; t < 150; t++, t0 += 160) {
        int in_syl = (t % 16) < 10;
        if (in_syl)
            syllable(f, 160, t0, dbm0_to_rms(-20), dbm0_to_rms(-60), &seed);
        else
            noise(f, 160, dbm0_to_rms(-60), &seed);
        int s = md_vad_frame(&v, f, 160);
        if (s && first < 0)
            first = t;
        if (first >= 0 && !s)
            drops++;
    }
    CHECK(first == 0);
    CHECKF(drops == 0, "speech flapped %d frames in word gaps", drops);
    CHECKF(v.noise_dbm0 < -55, "floor %.1f dBm0 under speech", v.noise_dbm0);

    /* The words ended with a syllable (frames 144..149): the hangover holds exactly
     * 300 ms (15 frames) after it, then silence. */
    int hang = 0;
    for (int t = 0; t < 40; t++) {
        noise(f, 160, dbm0_to_rms(-60), &seed);
        hang += md_vad_frame(&v, f, 160);
    }
    CHECKF(hang == 15, "hangover %d frames", hang);
    /* One loud frame, then exactly 15 hangover frames. */
    syllable(f, 160, 0, dbm0_to_rms(-20), 0, &seed);
    CHECK(md_vad_frame(&v, f, 160) == 1);
    hang = 0;
    int last = -1;
    for (int t = 0; t < 40; t++) {
        noise(f, 160, dbm0_to_rms(-60), &seed);
        if (md_vad_frame(&v, f, 160)) {
            hang++;
            last = t;
        }
    }
    CHECKF(hang == 15 && last == 14, "hangover %d frames, last %d", hang, last);

    /* A quiet talker below the absolute minimum (-55 dBm0) is not speech, even over
     * digital silence. */
    CHECK(md_vad_init(&v, 20, 9, 300) == 0);
    memset(f, 0, sizeof(f));
    md_vad_frame(&v, f, 160);
    flags = 0;
    for (int t = 0; t < 50; t++) {
        syllable(f, 160, t * 160L, dbm0_to_rms(-55), 0, &seed);
        flags += md_vad_frame(&v, f, 160);
    }
    CHECK(flags == 0);
}

static void test_vad_loud_noise(void)
{
    md_vad_t v;
    int16_t f[320];
    unsigned seed = 9;

    /* 16 kHz frames (320 samples, still 20 ms). A line with loud steady noise at -30 dBm0
     * from the start: the floor follows it, so it is not "speech"... */
    CHECK(md_vad_init(&v, 20, 9, 300) == 0);
    int flags = 0;
    for (int t = 0; t < 200; t++) {
        noise(f, 320, dbm0_to_rms(-30), &seed);
        flags += md_vad_frame(&v, f, 320);
    }
    CHECKF(flags == 0, "steady -30 dBm0 noise flagged in %d frames", flags);
    CHECKF(fabs(v.noise_dbm0 + 30) < 2, "floor %.1f dBm0", v.noise_dbm0);
    /* ...while a talker 15 dB above it is. */
    int hits = 0;
    for (int t = 0; t < 10; t++) {
        int16_t s[320];
        syllable(s, 320, t * 320L, dbm0_to_rms(-15), dbm0_to_rms(-30), &seed);
        hits += md_vad_frame(&v, s, 320);
    }
    CHECK(hits == 10);
    /* Noise that jumps from -60 to -30 dBm0 (a door opens) counts as speech only until
     * the 2 s window has forgotten the quiet floor: then silence again. */
    CHECK(md_vad_init(&v, 20, 9, 300) == 0);
    for (int t = 0; t < 50; t++) {
        noise(f, 320, dbm0_to_rms(-60), &seed);
        md_vad_frame(&v, f, 320);
    }
    int last = -1;
    for (int t = 0; t < 200; t++) {
        noise(f, 320, dbm0_to_rms(-30), &seed);
        if (md_vad_frame(&v, f, 320))
            last = t;
    }
    /* Window: 8 x 250 ms plus the current sub-window, plus the 300 ms hangover. */
    CHECKF(last >= 100 && last <= 130, "loud noise taken for speech until frame %d", last);
}

int main(void)
{
    test_levels();
    test_vad_bursts();
    test_vad_loud_noise();
    return check_summary("energy");
}
