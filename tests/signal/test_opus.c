/* Opus: a voice-like signal survives the codec at 8 and 16 kHz; FEC rebuilds a lost
 * frame better than concealment; hostile packets are refused without a crash. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/opus_codec.h"
#include "tests/check.h"

#define FRAMES 100

static double voice(long i, unsigned rate)
{
    double t = (double)i / rate, f0 = 140 + 20 * sin(2 * M_PI * 3 * t), v = 0;
    for (int h = 1; h <= 8; h++)
        v += 4000.0 / h * sin(2 * M_PI * f0 * h * t + h);
    return v * (0.6 + 0.4 * sin(2 * M_PI * 2 * t));
}

/* SNR in dB of b against a, best over delays 0..max_delay (the codec's lookahead). */
static double snr_db(const int16_t *a, const int16_t *b, long n, int max_delay)
{
    double best = -99;
    for (int d = 0; d <= max_delay; d++) {
        double s = 0, e = 0;
        for (long i = 0; i + d < n; i++) {
            s += (double)a[i] * a[i];
            e += ((double)b[i + d] - a[i]) * ((double)b[i + d] - a[i]);
        }
        double r = 10 * log10(s / (e + 1e-9));
        best = r > best ? r : best;
    }
    return best;
}

static void run_rate(unsigned rate)
{
    md_opus_t o;
    size_t need = md_opus_memory_size(rate);
    void *mem = aligned_alloc(16, (need + 15) & ~(size_t)15);
    CHECK(need > 0);
    CHECK(md_opus_init(&o, mem, need - 1, rate, 24000, 10) == -EINVAL);
    CHECK(md_opus_init(&o, mem, need, rate, 24000, 10) == 0);

    unsigned frame = rate / 50;
    long n = (long)frame * FRAMES;
    int16_t *in = malloc(n * sizeof(int16_t)), *out = calloc(n, sizeof(int16_t));
    static uint8_t pkt[FRAMES][MD_OPUS_MAX_PACKET];
    int len[FRAMES];
    for (long i = 0; i < n; i++)
        in[i] = (int16_t)lrint(voice(i, rate));
    for (int k = 0; k < FRAMES; k++) {
        len[k] = md_opus_encode(&o, in + k * frame, pkt[k], sizeof(pkt[k]));
        CHECK(len[k] > 0 && len[k] < 200);
    }
    for (int k = 0; k < FRAMES; k++)
        CHECK(md_opus_decode(&o, pkt[k], (size_t)len[k], out + k * frame) == (int)frame);
    /* Opus does not keep the waveform (phase), so compare what it must keep: the level
     * per 20 ms, which follows the 2 Hz envelope of the input. */
    double lin[FRAMES], lout[FRAMES], mi = 0, mo = 0;
    for (int k = 0; k < FRAMES; k++) {
        double a = 0, b = 0;
        for (unsigned i = 0; i < frame; i++) {
            a += (double)in[k * frame + i] * in[k * frame + i];
            long j = k * (long)frame + i + (long)frame / 4;   /* about the codec delay */
            if (j < n)
                b += (double)out[j] * out[j];
        }
        lin[k] = 10 * log10(a / frame + 1);
        lout[k] = 10 * log10(b / frame + 1);
    }
    double cov = 0, va = 0, vb = 0;
    for (int k = 10; k < FRAMES - 10; k++) {
        mi += lin[k] / (FRAMES - 20);
        mo += lout[k] / (FRAMES - 20);
    }
    for (int k = 10; k < FRAMES - 10; k++) {
        cov += (lin[k] - mi) * (lout[k] - mo);
        va += (lin[k] - mi) * (lin[k] - mi);
        vb += (lout[k] - mo) * (lout[k] - mo);
    }
    double r = cov / sqrt(va * vb);
    CHECKF(r > 0.75, "%u Hz: level envelope correlation %.3f", rate, r);
    CHECKF(fabs(mi - mo) < 2.5, "%u Hz: level %.1f dB in, %.1f dB out", rate, mi, mo);
    /* And the waveform itself is recognisably the same (a few dB of SNR is normal for a
     * perceptual coder at 24 kbit/s). */
    double snr = snr_db(in + 10 * frame, out + 10 * frame, n - 20 * frame, (int)frame);
    CHECKF(snr > 2, "%u Hz: SNR %.1f dB after the codec", rate, snr);

    /* Lose frame 50: FEC from frame 51 against plain concealment, on fresh decoders. */
    int16_t *fec = calloc(n, sizeof(int16_t)), *plc = calloc(n, sizeof(int16_t));
    for (int mode = 0; mode < 2; mode++) {
        int16_t *dst = mode ? fec : plc;
        CHECK(md_opus_init(&o, mem, need, rate, 24000, 10) == 0);
        for (int k = 0; k < FRAMES; k++) {
            if (k == 50)
                CHECK((mode ? md_opus_recover(&o, pkt[51], (size_t)len[51], dst + k * frame)
                            : md_opus_conceal(&o, dst + k * frame)) == (int)frame);
            else
                md_opus_decode(&o, pkt[k], (size_t)len[k], dst + k * frame);
        }
    }
    /* Compare the lost frame with what the codec gave when nothing was lost. */
    double e_fec = 0, e_plc = 0;
    for (unsigned i = 0; i < frame; i++) {
        double r = out[50 * frame + i];
        e_fec += (fec[50 * frame + i] - r) * (fec[50 * frame + i] - r);
        e_plc += (plc[50 * frame + i] - r) * (plc[50 * frame + i] - r);
    }
    CHECKF(e_fec < e_plc * 0.5, "%u Hz: FEC error %.3g is not well below PLC's %.3g", rate,
           e_fec, e_plc);

    /* Hostile packets. */
    int16_t sink[320 * 6];
    CHECK(md_opus_decode(&o, NULL, 10, sink) == -EINVAL);
    CHECK(md_opus_decode(&o, pkt[0], 0, sink) == -EINVAL);
    CHECK(md_opus_decode(&o, pkt[0], 100000, sink) == -EINVAL);
    uint8_t bad[1500];
    unsigned seed = rate;
    int refused = 0;
    for (int t = 0; t < 2000; t++) {
        size_t l = 1 + (size_t)(rand_r(&seed) % 1400);
        for (size_t i = 0; i < l; i++)
            bad[i] = (uint8_t)rand_r(&seed);
        int r = md_opus_decode(&o, bad, l, sink);
        refused += r < 0;
        CHECK(r < 0 || r == (int)frame);
    }
    CHECK(refused > 0);
    /* A 60 ms packet would not fit a 20 ms frame: refused. */
    uint8_t code3[3] = { (uint8_t)((pkt[0][0] & 0xFC) | 3), 3, 0 };
    CHECK(md_opus_decode(&o, code3, 3, sink) < 0);
    CHECK(md_opus_encode(&o, in, pkt[0], 0) == -EINVAL);
    CHECK(md_opus_set_complexity(&o, 11) == -EINVAL && md_opus_set_complexity(&o, 10) == 0);
    free(in);
    free(out);
    free(fec);
    free(plc);
    free(mem);
}

int main(void)
{
    run_rate(8000);
    run_rate(16000);
    CHECK(md_opus_memory_size(44100) == 0);
    return check_summary("opus");
}
