/* medley-dsp: the signal processing of medley on files, for people.
 *
 *   medley-dsp dtmf FILE.wav        digits in an 8 kHz mono WAV: DIGIT<TAB>START_MS<TAB>END_MS
 *   medley-dsp dial DIGITS OUT.wav [--level DBM0] [--twist DB] [--on MS] [--off MS]
 *                                   [--ulaw | --alaw]
 *   medley-dsp info FILE.wav        format, rate, channels, duration
 *   medley-dsp isa                  the SIMD paths this CPU has, and the one used
 *
 * Results go to stdout and nothing else does; errors go to stderr with a non-zero exit
 * status (1 for a bad file, 2 for bad usage). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/cpu.h"
#include "dsp/dtmf.h"
#include "dsp/tone.h"
#include "dsp/wav.h"

#define FRAME 160

static int usage(void)
{
    fprintf(stderr,
            "usage: medley-dsp dtmf FILE.wav\n"
            "       medley-dsp dial DIGITS OUT.wav [--level DBM0] [--twist DB] [--on MS]"
            " [--off MS] [--ulaw | --alaw]\n"
            "       medley-dsp info FILE.wav\n"
            "       medley-dsp isa\n");
    return 2;
}

static int print_events(md_dtmf_rx_t *rx)
{
    md_dtmf_event_t ev;
    while (md_dtmf_rx_event(rx, &ev)) {
        if (ev.kind != MD_DTMF_END)
            continue;
        /* Sample indexes at 8 kHz to milliseconds, rounded. */
        if (printf("%c\t%llu\t%llu\n", ev.digit, (unsigned long long)(ev.start + 4) / 8,
                   (unsigned long long)(ev.end + 4) / 8) < 0)
            return -1;
    }
    return 0;
}

static int cmd_dtmf(const char *path)
{
    md_wav_info_t info;
    int16_t *pcm = NULL;
    char err[256];

    if (md_wav_read(path, &info, &pcm, err, sizeof(err)) != 0) {
        fprintf(stderr, "medley-dsp: %s\n", err);
        return 1;
    }
    if (info.rate != 8000 || info.channels != 1) {
        fprintf(stderr, "medley-dsp: %s: need 8 kHz mono, this is %u Hz with %u channels\n",
                path, info.rate, info.channels);
        free(pcm);
        return 1;
    }
    md_dtmf_rx_t rx;
    md_isa_t isa = md_cpu_default_isa();
    int rc = 0;
    md_dtmf_rx_init(&rx);
    for (size_t off = 0; off < info.frames && rc == 0; off += FRAME) {
        size_t n = info.frames - off < FRAME ? info.frames - off : FRAME;
        md_dtmf_rx_process1(&rx, pcm + off, (unsigned)n, isa);
        rc = print_events(&rx);
    }
    md_dtmf_rx_flush(&rx);
    if (rc == 0)
        rc = print_events(&rx);
    free(pcm);
    if (rc != 0 || fflush(stdout) != 0) {
        fprintf(stderr, "medley-dsp: writing the results failed\n");
        return 1;
    }
    return 0;
}

static int parse_number(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static int cmd_dial(int argc, char **argv)
{
    const char *digits = argv[0], *path = argv[1];
    double level = -10, twist = 0, on = 100, off = 100;
    md_wav_format_t format = MD_WAV_PCM16;

    for (int i = 2; i < argc; i++) {
        double *target = NULL, lo = 0, hi = 0;
        if (strcmp(argv[i], "--ulaw") == 0) {
            format = MD_WAV_ULAW;
            continue;
        }
        if (strcmp(argv[i], "--alaw") == 0) {
            format = MD_WAV_ALAW;
            continue;
        }
        if (strcmp(argv[i], "--level") == 0)
            target = &level, lo = -90, hi = 3.14;
        else if (strcmp(argv[i], "--twist") == 0)
            target = &twist, lo = -20, hi = 20;
        else if (strcmp(argv[i], "--on") == 0)
            target = &on, lo = 1, hi = 60000;
        else if (strcmp(argv[i], "--off") == 0)
            target = &off, lo = 0, hi = 60000;
        if (target == NULL || i + 1 >= argc || parse_number(argv[i + 1], lo, hi, target) != 0) {
            fprintf(stderr, "medley-dsp: bad option or value at '%s'\n", argv[i]);
            return 2;
        }
        i++;
    }
    size_t nd = strlen(digits);
    if (nd == 0 || nd > 10000) {
        fprintf(stderr, "medley-dsp: give 1 to 10000 digits\n");
        return 2;
    }
    size_t n = md_tone_dial_samples(nd, (unsigned)on, (unsigned)off);
    int16_t *pcm = malloc(n * sizeof(int16_t));
    if (pcm == NULL) {
        fprintf(stderr, "medley-dsp: out of memory\n");
        return 1;
    }
    long got = md_tone_dial(pcm, n, digits, (float)level, (float)twist, (unsigned)on,
                            (unsigned)off);
    if (got < 0) {
        fprintf(stderr, "medley-dsp: '%s': digits are 0-9 * # A-D, and the level with the"
                        " twist must stay at or below +3.14 dBm0\n", digits);
        free(pcm);
        return 2;
    }
    char err[256];
    int rc = md_wav_write(path, format, 8000, 1, pcm, (size_t)got, err, sizeof(err));
    free(pcm);
    if (rc != 0) {
        fprintf(stderr, "medley-dsp: %s\n", err);
        return 1;
    }
    return 0;
}

static int cmd_info(const char *path)
{
    md_wav_info_t info;
    int16_t *pcm = NULL;
    char err[256];
    if (md_wav_read(path, &info, &pcm, err, sizeof(err)) != 0) {
        fprintf(stderr, "medley-dsp: %s\n", err);
        return 1;
    }
    free(pcm);
    printf("format\t%s\nrate\t%u\nchannels\t%u\nframes\t%zu\nduration_ms\t%zu\n",
           md_wav_format_name(info.format), info.rate, info.channels, info.frames,
           info.frames * 1000 / info.rate);
    return 0;
}

static int cmd_isa(void)
{
    printf("cpu:");
    for (int i = 0; i < MD_ISA_COUNT; i++)
        if (md_cpu_has((md_isa_t)i))
            printf(" %s", md_isa_name((md_isa_t)i));
    printf("\nbest\t%s\nused\t%s\n", md_isa_name(md_cpu_best_isa()),
           md_isa_name(md_cpu_default_isa()));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *cmd = argv[1];
    if (strcmp(cmd, "dtmf") == 0 && argc == 3)
        return cmd_dtmf(argv[2]);
    if (strcmp(cmd, "dial") == 0 && argc >= 4)
        return cmd_dial(argc - 2, argv + 2);
    if (strcmp(cmd, "info") == 0 && argc == 3)
        return cmd_info(argv[2]);
    if (strcmp(cmd, "isa") == 0 && argc == 2)
        return cmd_isa();
    return usage();
}
