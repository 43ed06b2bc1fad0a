/* Tones: frequencies, levels in dBm0, cadences, continuity across calls, saturation,
 * and the DTMF detector hearing every dialled digit. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/dtmf.h"
#include "dsp/tone.h"
#include "tests/check.h"

/* Level in dBm0 of the component at hz over n samples (single-bin DFT). */
static double level_at(const int16_t *x, size_t n, double hz)
{
    double re = 0, im = 0;
    for (size_t i = 0; i < n; i++) {
        re += x[i] * cos(2 * M_PI * hz * i / 8000.0);
        im -= x[i] * sin(2 * M_PI * hz * i / 8000.0);
    }
    return md_amplitude_to_dbm0(2.0 * sqrt(re * re + im * im) / (double)n);
}

static void test_dtmf_levels(void)
{
    static int16_t buf[8000];
    md_tone_desc_t d;
    md_tone_gen_t g;

    CHECK(md_tone_dtmf(&d, '5', -10.0f, -2.0f, 1000, 0) == 0);
    CHECK(md_tone_init(&g, &d) == 0);
    CHECK(md_tone_generate(&g, buf, 8000) == 8000);
    double l770 = level_at(buf, 8000, 770), l1336 = level_at(buf, 8000, 1336);
    CHECKF(fabs(l770 + 10.0) < 0.05, "770 Hz at %.3f dBm0", l770);
    CHECKF(fabs(l1336 + 12.0) < 0.05, "1336 Hz at %.3f dBm0", l1336);
    CHECKF(level_at(buf, 8000, 697) < -40 && level_at(buf, 8000, 1209) < -40,
           "energy at other DTMF frequencies");
    /* Full-scale convention: a +3.14 dBm0 sine peaks at 32767. */
    CHECK(fabs(md_dbm0_to_amplitude(3.14) - 32767.0) < 1e-6);

    CHECK(md_tone_dtmf(&d, 'x', -10, 0, 50, 50) == -EINVAL);
    CHECK(md_tone_dtmf(&d, '\0', -10, 0, 50, 50) == -EINVAL);
    CHECK(md_tone_dtmf(&d, 'b', -10, 0, 50, 50) == 0 && d.comp[0].hz == 770 && d.comp[1].hz == 1633);
    CHECK(md_tone_dtmf(&d, '1', 5, 0, 50, 50) == -EINVAL);
    md_tone_desc_t bad = { .ncomp = 1, .comp = { { 5000, -10 } } };
    CHECK(md_tone_init(&g, &bad) == -EINVAL);
    bad.comp[0].hz = 440;
    bad.ncomp = 0;
    CHECK(md_tone_init(&g, &bad) == -EINVAL);
}

static void test_cadences(void)
{
    static int16_t buf[8000 * 13];
    md_tone_desc_t d;
    md_tone_gen_t g;

    /* NA busy: 0.5 s on, 0.5 s off, repeating. Measure the on/off runs. */
    CHECK(md_tone_preset(&d, MD_TONE_NA_BUSY, -13) == 0);
    CHECK(md_tone_init(&g, &d) == 0);
    size_t toned = md_tone_generate(&g, buf, 8000 * 3);
    CHECK(toned == 8000 * 3 / 2);
    int on_ok = 1;
    for (int p = 0; p < 6; p++) {
        int silent = 1;
        for (int i = p * 4000; i < (p + 1) * 4000; i++)
            silent &= buf[i] == 0;
        on_ok &= (p % 2 == 0) ? !silent : silent;
    }
    CHECK(on_ok);
    CHECKF(fabs(level_at(buf, 4000, 480) + 13) < 0.1 && fabs(level_at(buf, 4000, 620) + 13) < 0.1,
           "busy levels %.2f %.2f", level_at(buf, 4000, 480), level_at(buf, 4000, 620));

    /* China ringback: 1 s on, 4 s off. */
    CHECK(md_tone_preset(&d, MD_TONE_CN_RINGBACK, -10) == 0);
    CHECK(md_tone_init(&g, &d) == 0);
    CHECK(md_tone_generate(&g, buf, 8000 * 10) == 8000 * 2);
    CHECK(buf[7999] != 0 || buf[7998] != 0);
    CHECK(buf[8000] == 0 && buf[8000 * 5 - 1] == 0 && buf[8000 * 5 + 1] != 0);
    CHECKF(fabs(level_at(buf, 8000, 450) + 10) < 0.05, "450 Hz level");

    /* The beep plays once and then the generator is done. */
    CHECK(md_tone_preset(&d, MD_TONE_BEEP, -6) == 0);
    CHECK(md_tone_init(&g, &d) == 0);
    CHECK(md_tone_generate(&g, buf, 8000) == 4000);
    CHECK(md_tone_done(&g));
    CHECK(md_tone_generate(&g, buf, 160) == 0 && buf[0] == 0 && buf[159] == 0);

    /* Dial tone is continuous. */
    CHECK(md_tone_preset(&d, MD_TONE_NA_DIAL, -13) == 0);
    CHECK(md_tone_init(&g, &d) == 0);
    CHECK(md_tone_generate(&g, buf, 8000 * 13) == 8000 * 13 && !md_tone_done(&g));
    CHECK(md_tone_preset(&d, MD_TONE_PRESET_COUNT, -13) == -EINVAL);
}

/* Every preset: the first on and off runs (in samples) and the level of each frequency. */
static void test_all_presets(void)
{
    static const struct {
        md_tone_preset_t p;
        float hz[2];
        long on, off;   /* samples; on 0 = continuous */
    } want[] = {
        { MD_TONE_NA_DIAL, { 350, 440 }, 0, 0 },
        { MD_TONE_NA_RINGBACK, { 440, 480 }, 16000, 32000 },
        { MD_TONE_NA_BUSY, { 480, 620 }, 4000, 4000 },
        { MD_TONE_NA_REORDER, { 480, 620 }, 2000, 2000 },
        { MD_TONE_CN_DIAL, { 450, 0 }, 0, 0 },
        { MD_TONE_CN_RINGBACK, { 450, 0 }, 8000, 32000 },
        { MD_TONE_CN_BUSY, { 450, 0 }, 2800, 2800 },
        { MD_TONE_BEEP, { 1400, 0 }, 4000, 0 },
    };
    static int16_t buf[8000 * 13];
    const long n = 8000 * 13;
    for (size_t t = 0; t < sizeof(want) / sizeof(want[0]); t++) {
        md_tone_desc_t d;
        md_tone_gen_t g;
        CHECK(md_tone_preset(&d, want[t].p, -16) == 0 && md_tone_init(&g, &d) == 0);
        md_tone_generate(&g, buf, (size_t)n);
        /* Runs: an "on" run ends at the first silent stretch of 10+ samples. */
        long on = 0, off = 0, i = 0;
        while (i < n) {
            long z = 0;
            while (i + z < n && buf[i + z] == 0 && z < 10)
                z++;
            if (z == 10 || i + z == n)
                break;
            i++;
        }
        on = i;
        while (i < n && buf[i] == 0)
            i++;
        off = i - on;
        long want_on = want[t].on ? want[t].on : n;
        long want_off = want[t].on ? (want[t].off ? want[t].off : n - want_on) : 0;
        /* A sine's own zero samples can sit at the edges: allow a few samples. */
        CHECKF(labs(on - want_on) <= 2 && labs(off - want_off) <= 2,
               "preset %d: on %ld off %ld, want %ld %ld", (int)want[t].p, on, off, want_on,
               want_off);
        long m = on < 8000 ? on : 8000;
        for (int c = 0; c < 2 && want[t].hz[c] > 0; c++) {
            double l = level_at(buf, (size_t)m, want[t].hz[c]);
            CHECKF(fabs(l + 16) < 0.2, "preset %d: %.0f Hz at %.2f dBm0", (int)want[t].p,
                   want[t].hz[c], l);
        }
    }
}

static void test_continuity_and_saturation(void)
{
    static int16_t whole[16000], parts[16000];
    md_tone_desc_t d = { .ncomp = 3, .comp = { { 440, -10 }, { 1000, -12 }, { 3000, -20 } } };
    md_tone_gen_t g;

    md_tone_init(&g, &d);
    md_tone_generate(&g, whole, 16000);
    md_tone_init(&g, &d);
    unsigned seed = 7;
    for (size_t i = 0; i < 16000;) {
        size_t n = 1 + (size_t)(rand_r(&seed) % 300);
        if (n > 16000 - i)
            n = 16000 - i;
        md_tone_generate(&g, parts + i, n);
        i += n;
    }
    int worst = 0;
    for (int i = 0; i < 16000; i++)
        worst = abs(whole[i] - parts[i]) > worst ? abs(whole[i] - parts[i]) : worst;
    CHECKF(worst <= 1, "chunked output differs by up to %d", worst);
    /* No click: sample-to-sample steps stay within what the sines allow. */
    int max_step = 0;
    for (int i = 1; i < 16000; i++)
        max_step = abs(parts[i] - parts[i - 1]) > max_step ? abs(parts[i] - parts[i - 1]) : max_step;
    double bound = 0;
    for (unsigned c = 0; c < d.ncomp; c++)
        bound += md_dbm0_to_amplitude(d.comp[c].dbm0) * 2 * M_PI * d.comp[c].hz / 8000.0;
    CHECKF(max_step <= bound + 2, "largest step %d, sines allow %.0f", max_step, bound);

    /* Two full-scale sines clip at the rails rather than wrapping around. */
    md_tone_desc_t loud = { .ncomp = 2, .comp = { { 500, 3.14f }, { 501, 3.14f } } };
    md_tone_init(&g, &loud);
    md_tone_generate(&g, whole, 8000);
    int clipped = 0, wrapped = 0;
    for (int i = 1; i < 8000; i++) {
        clipped += whole[i] == 32767 || whole[i] == -32768;
        wrapped += abs(whole[i] - whole[i - 1]) > 30000;
    }
    CHECK(clipped > 100 && wrapped == 0);
}

static void test_hostile_descriptions(void)
{
    static int16_t buf[8000];
    md_tone_desc_t d;
    md_tone_gen_t g;

    /* A repeating cadence of zero length must be refused, not loop forever. */
    md_tone_desc_t zero = { .ncomp = 1, .comp = { { 440, -10 } }, .nseg = 2, .repeat = 1 };
    CHECK(md_tone_init(&g, &zero) == -EINVAL);
    /* The same cadence played once just ends. */
    zero.repeat = 0;
    CHECK(md_tone_init(&g, &zero) == 0);
    buf[0] = 1;
    CHECK(md_tone_generate(&g, buf, 160) == 0 && md_tone_done(&g) && buf[0] == 0);
    md_tone_desc_t bad = { .ncomp = 5, .comp = { { 440, -10 } } };
    CHECK(md_tone_init(&g, &bad) == -EINVAL);
    bad = (md_tone_desc_t){ .ncomp = 1, .comp = { { NAN, -10 } } };
    CHECK(md_tone_init(&g, &bad) == -EINVAL);
    bad.comp[0] = (md_tone_component_t){ 440, NAN };
    CHECK(md_tone_init(&g, &bad) == -EINVAL);
    bad.comp[0] = (md_tone_component_t){ 440, 3.2f };
    CHECK(md_tone_init(&g, &bad) == -EINVAL);
    bad.comp[0] = (md_tone_component_t){ 440, -10 };
    bad.nseg = 5;
    CHECK(md_tone_init(&g, &bad) == -EINVAL);
    bad.nseg = 1;
    bad.on_ms[0] = MD_TONE_MAX_MS + 1;
    CHECK(md_tone_init(&g, &bad) == -EINVAL);
    CHECK(md_tone_init(NULL, &d) == -EINVAL && md_tone_init(&g, NULL) == -EINVAL);

    /* DTMF: twist must keep both tones in range; durations bounded. */
    CHECK(md_tone_dtmf(&d, '1', -85, -10, 50, 50) == -EINVAL);
    CHECK(md_tone_dtmf(&d, '1', 0, 4, 50, 50) == -EINVAL);
    CHECK(md_tone_dtmf(&d, '1', -10, NAN, 50, 50) == -EINVAL);
    CHECK(md_tone_dtmf(&d, '1', -10, 0, 0, 50) == -EINVAL);
    CHECK(md_tone_dtmf(&d, '1', -10, 0, UINT32_MAX, 50) == -EINVAL);
    CHECK(md_tone_dtmf(&d, '1', -10, 0, 50, UINT32_MAX) == -EINVAL);
    CHECK(md_tone_dtmf(&d, (char)0xB1, -10, 0, 50, 50) == -EINVAL);

    /* Dialling: hostile strings and sizes. */
    CHECK(md_tone_dial(buf, 8000, NULL, -10, 0, 50, 50) == -EINVAL);
    CHECK(md_tone_dial(NULL, 8000, "1", -10, 0, 50, 50) == -EINVAL);
    CHECK(md_tone_dial(buf, 8000, "", -10, 0, 50, 50) == 0);
    CHECK(md_tone_dial(buf, 8000, "1 2", -10, 0, 50, 50) == -EINVAL);
    CHECK(md_tone_dial(buf, 8000, "1", -10, 0, UINT32_MAX, 50) == -EINVAL);
    CHECK(md_tone_dial(buf, 8000, "1", -10, 0, 50, UINT32_MAX) == -EINVAL);
    CHECK(md_tone_dial(buf, 8000, "1", -10, 0, 50, 960) == -ENOSPC);   /* 8080 samples */
    CHECK(md_tone_dial(buf, 8000, "1", -10, 0, 50, 950) == 8000);
    CHECK(md_tone_dial_samples(SIZE_MAX / 2, 50, 50) == 0);
    CHECK(md_tone_dial_samples(3, UINT32_MAX, 50) == 0);
    CHECK(md_tone_dial_samples(3, 70, 30) == 2400);
}

static void test_beep(void)
{
    static int16_t buf[8000 * 4];
    md_tone_desc_t d;
    md_tone_gen_t g;

    /* A 1 kHz beep, 200 ms every second: 4 beeps in 4 s, each at its level. */
    CHECK(md_tone_beep(&d, 1000, -6, 200, 800, 1) == 0);
    CHECK(md_tone_init(&g, &d) == 0);
    CHECK(md_tone_generate(&g, buf, 8000 * 4) == 1600 * 4);
    for (int b = 0; b < 4; b++) {
        double l = level_at(buf + b * 8000, 1600, 1000);
        CHECKF(fabs(l + 6) < 0.05, "beep %d at %.3f dBm0", b, l);
        CHECK(buf[b * 8000 + 1600] == 0 && buf[b * 8000 + 7999] == 0);
    }
    /* Frequency by zero crossings: 1000 Hz gives 2 per ms. */
    int zc = 0;
    for (int i = 1; i < 1600; i++)
        zc += (buf[i - 1] < 0) != (buf[i] < 0);
    CHECKF(abs(zc - 400) <= 2, "%d zero crossings in 200 ms", zc);
    CHECK(md_tone_beep(&d, 0, -6, 200, 800, 0) == -EINVAL);
    CHECK(md_tone_beep(&d, 4000, -6, 200, 800, 0) == -EINVAL);
    CHECK(md_tone_beep(&d, 1400, 10, 200, 800, 0) == -EINVAL);
    CHECK(md_tone_beep(&d, 1400, -6, 0, 800, 1) == -EINVAL);
}

static void test_dial_and_detect(void)
{
    const char *digits = "0123456789*#ABCD";
    size_t n = md_tone_dial_samples(strlen(digits), 50, 50);
    int16_t *buf = calloc(n + 800, sizeof(int16_t));
    CHECK(md_tone_dial(buf, 10, digits, -15, 0, 50, 50) == -ENOSPC);
    CHECK(md_tone_dial(buf, n, "12x", -15, 0, 50, 50) == -EINVAL);
    CHECK(md_tone_dial(buf, n, digits, -15, 0, 50, 50) == (long)n);

    md_dtmf_rx_t rx;
    md_dtmf_rx_init(&rx);
    char got[32] = "";
    size_t k = 0;
    md_dtmf_event_t ev;
    int timing_ok = 1;
    for (size_t off = 0; off <= n + 800; off += 160) {
        if (off + 160 <= n + 800)
            md_dtmf_rx_process1(&rx, buf + off, 160, md_cpu_default_isa());
        else
            md_dtmf_rx_flush(&rx);
        while (md_dtmf_rx_event(&rx, &ev)) {
            if (ev.kind != MD_DTMF_END || k >= sizeof(got) - 1)
                continue;
            /* Digit k starts at k * 100 ms and lasts 50 ms. */
            long start = (long)ev.start - (long)k * 800, end = (long)ev.end - (long)k * 800 - 400;
            timing_ok &= labs(start) <= 40 && labs(end) <= 40;
            got[k++] = ev.digit;
        }
    }
    CHECKF(strcmp(got, digits) == 0, "detected '%s'", got);
    CHECK(timing_ok);
    free(buf);
}

int main(void)
{
    test_dtmf_levels();
    test_cadences();
    test_continuity_and_saturation();
    test_all_presets();
    test_hostile_descriptions();
    test_beep();
    test_dial_and_detect();
    return check_summary("tone");
}
