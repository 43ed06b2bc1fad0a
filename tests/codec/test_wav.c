/* WAV: round trips in every supported format, and hostile input of every kind. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsp/g711.h"
#include "dsp/wav.h"
#include "tests/check.h"

static char tmpdir[] = "/tmp/medley-wav-XXXXXX";

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*len + 1);
    if (fread(b, 1, *len, f) != *len) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

static void test_round_trips(void)
{
    static const md_wav_format_t formats[] = { MD_WAV_PCM16, MD_WAV_ULAW, MD_WAV_ALAW };
    static const unsigned rates[] = { 8000, 16000 };
    enum { FRAMES = 1001 };   /* odd, so G.711 mono data needs a pad byte */
    int16_t pcm[2 * FRAMES];
    char path[128], err[200];

    for (int i = 0; i < 2 * FRAMES; i++)
        pcm[i] = (int16_t)((i * 7919) % 65536 - 32768);
    for (int f = 0; f < 3; f++)
        for (int r = 0; r < 2; r++)
            for (unsigned ch = 1; ch <= 2; ch++) {
                snprintf(path, sizeof(path), "%s/rt-%d-%u-%u.wav", tmpdir, f, rates[r], ch);
                int rc = md_wav_write(path, formats[f], rates[r], ch, pcm, FRAMES, err,
                                      sizeof(err));
                CHECKF(rc == 0, "write %s: %s", path, err);
                md_wav_info_t info;
                int16_t *back = NULL;
                rc = md_wav_read(path, &info, &back, err, sizeof(err));
                CHECKF(rc == 0, "read %s: %s", path, err);
                if (rc != 0)
                    continue;
                CHECK(info.format == formats[f] && info.rate == rates[r] && info.channels == ch);
                CHECK(info.frames == FRAMES);
                int bad = 0;
                for (unsigned i = 0; i < FRAMES * ch; i++) {
                    int16_t want = pcm[i];
                    if (formats[f] == MD_WAV_ULAW)
                        want = md_ulaw_decode1(md_ulaw_encode1(pcm[i]));
                    else if (formats[f] == MD_WAV_ALAW)
                        want = md_alaw_decode1(md_alaw_encode1(pcm[i]));
                    bad += back[i] != want;
                }
                CHECKF(bad == 0, "%s: %d samples differ", path, bad);
                free(back);

                /* The bytes on disk: header fields and the data where they belong. */
                size_t len;
                uint8_t *b = slurp(path, &len);
                CHECK(b != NULL);
                if (b != NULL) {
                    unsigned bytes = formats[f] == MD_WAV_PCM16 ? 2 : 1;
                    size_t hlen = formats[f] == MD_WAV_PCM16 ? 44 : 58;
                    size_t dlen = FRAMES * ch * bytes;
                    CHECK(len == hlen + dlen + (dlen & 1));
                    CHECK(memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WAVE", 4) == 0);
                    CHECK(b[20] == formats[f] && b[22] == ch);
                    CHECK((uint32_t)(b[4] | b[5] << 8 | b[6] << 16 | b[7] << 24) == len - 8);
                    CHECK(memcmp(b + hlen - 8, "data", 4) == 0);
                    if (formats[f] == MD_WAV_PCM16)
                        CHECK(b[hlen] == (uint8_t)pcm[0] && b[hlen + 1] == (uint8_t)(pcm[0] >> 8));
                    else if (formats[f] == MD_WAV_ULAW)
                        CHECK(b[hlen] == md_ulaw_encode1(pcm[0]));
                    free(b);
                }
                unlink(path);
            }
}

/* A valid mono PCM file with a LIST chunk before the data and one after. */
static size_t build_valid(uint8_t *buf, size_t cap, int frames)
{
    uint8_t hdr[MD_WAV_HEADER_MAX];
    size_t hlen = md_wav_header_build(hdr, MD_WAV_PCM16, 8000, 1, (uint32_t)(2 * frames));
    size_t off = 0;
    memcpy(buf, hdr, 36);   /* RIFF + fmt */
    off = 36;
    memcpy(buf + off, "LIST\x05\x00\x00\x00" "abcde" "\x00", 14);   /* odd size, padded */
    off += 14;
    memcpy(buf + off, hdr + 36, hlen - 36);   /* data header */
    off += hlen - 36;
    for (int i = 0; i < frames; i++) {
        buf[off++] = (uint8_t)(i * 3);
        buf[off++] = (uint8_t)(i >> 2);
    }
    memcpy(buf + off, "junk\x04\x00\x00\x00wxyz", 12);
    off += 12;
    buf[4] = (uint8_t)(off - 8);
    buf[5] = (uint8_t)((off - 8) >> 8);
    (void)cap;
    return off;
}

static int parse(const uint8_t *b, size_t len, md_wav_info_t *info, char *err, size_t errlen)
{
    int16_t *s = NULL;
    int rc = md_wav_parse(b, len, info, &s, err, errlen);
    if (rc != 0)
        CHECK(s == NULL);
    free(s);
    return rc;
}

static void expect_error(const uint8_t *b, size_t len, const char *needle, const char *what)
{
    md_wav_info_t info;
    char err[200] = "";
    int rc = parse(b, len, &info, err, sizeof(err));
    CHECKF(rc < 0 && strstr(err, needle) != NULL, "%s: rc %d, message '%s', wanted '%s'", what,
           rc, err, needle);
}

static void test_hostile(void)
{
    uint8_t good[1024], b[1024];
    size_t len = build_valid(good, sizeof(good), 100);
    md_wav_info_t info;
    char err[200];

    CHECK(parse(good, len, &info, err, sizeof(err)) == 0 && info.frames == 100);

    /* Cut at every byte: either an error or fewer frames, never more, never a crash. */
    int errors = 0, shorter = 0;
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);   /* exact size: ASan catches overreads */
        memcpy(copy, good, cut);
        int rc = parse(copy, cut, &info, err, sizeof(err));
        if (rc != 0)
            errors++;
        else if (info.frames <= 100)
            shorter++;
        free(copy);
    }
    CHECKF(errors + shorter == (int)len, "truncations: %d errors, %d shorter, of %zu", errors,
           shorter, len);
    CHECK(errors > 40);

    expect_error(good, 8, "too short", "8 bytes");
    memcpy(b, good, len);
    memcpy(b, "RIFX", 4);
    expect_error(b, len, "big-endian", "RIFX");
    memcpy(b, "JUNK", 4);
    expect_error(b, len, "not a RIFF/WAVE", "bad magic");

    /* fmt field by field: offsets are within the 16-byte body at byte 20. */
    struct {
        size_t off;
        unsigned val;
        int width;
        const char *needle;
    } cases[] = {
        { 20, 3, 2, "unsupported format tag 3 (IEEE float)" },
        { 20, 0x55, 2, "MP3" },
        { 22, 0, 2, "channel count 0" },
        { 22, 6, 2, "channel count 6" },
        { 24, 44100, 4, "sample rate 44100 Hz" },
        { 24, 0, 4, "sample rate 0 Hz" },
        { 32, 3, 2, "block align 3" },
        { 34, 8, 2, "sample size 8 bits" },
        { 34, 24, 2, "sample size 24 bits" },
        { 16, 12, 4, "truncated fmt chunk" },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memcpy(b, good, len);
        b[cases[i].off] = (uint8_t)cases[i].val;
        b[cases[i].off + 1] = (uint8_t)(cases[i].val >> 8);
        if (cases[i].width == 4) {
            b[cases[i].off + 2] = (uint8_t)(cases[i].val >> 16);
            b[cases[i].off + 3] = (uint8_t)(cases[i].val >> 24);
        }
        expect_error(b, len, cases[i].needle, cases[i].needle);
    }

    /* A chunk claiming to be larger than the file. */
    memcpy(b, good, len);
    b[40] = 0xFF;
    b[41] = 0xFF;
    b[42] = 0xFF;
    b[43] = 0x7F;
    expect_error(b, len, "truncated 'LIST' chunk", "huge LIST");
    /* fmt chunk size huge. */
    memcpy(b, good, len);
    b[16] = 0xFF;
    b[19] = 0xFF;
    expect_error(b, len, "truncated fmt chunk", "huge fmt");

    /* Data before fmt; no data; no fmt; two fmt. */
    {
        uint8_t d[64];
        memcpy(d, "RIFF\x20\x00\x00\x00WAVEdata\x04\x00\x00\x00\x01\x02\x03\x04", 24);
        expect_error(d, 24, "data chunk before fmt", "data first");
        memcpy(d, good, 36);
        expect_error(d, 36, "no data chunk", "no data");
        memcpy(d, "RIFF\x20\x00\x00\x00WAVEjunk\x00\x00\x00\x00", 20);
        expect_error(d, 20, "no fmt chunk", "no fmt");
        uint8_t two[128];
        memcpy(two, good, 36);
        memcpy(two + 36, good + 12, 24);
        expect_error(two, 60, "two fmt chunks", "two fmt");
    }

    /* Streaming writer's data size 0 / 0xFFFFFFFF: the data present is taken. */
    memcpy(b, good, len);
    size_t data_size_at = 36 + 14 + 4;
    memset(b + data_size_at, 0xFF, 4);
    CHECK(parse(b, len - 12, &info, err, sizeof(err)) == 0 && info.frames == 100);
    memset(b + data_size_at, 0, 4);
    CHECK(parse(b, len - 12, &info, err, sizeof(err)) == 0 && info.frames == 100);
    /* A final partial frame is dropped. */
    CHECK(parse(b, len - 13, &info, err, sizeof(err)) == 0 && info.frames == 99);

    /* Random garbage after a valid RIFF/WAVE header: errors, never crashes. */
    unsigned seed = 12345;
    int garbage_errors = 0;
    for (int t = 0; t < 2000; t++) {
        size_t n = 16 + (size_t)(rand_r(&seed) % 200);
        uint8_t *g = malloc(n);
        memcpy(g, "RIFF\x00\x00\x00\x00WAVE", 12);
        for (size_t i = 12; i < n; i++)
            g[i] = (uint8_t)rand_r(&seed);
        if (t % 2)
            memcpy(g + 12, "fmt ", 4);
        garbage_errors += parse(g, n, &info, err, sizeof(err)) != 0;
        free(g);
    }
    CHECK(garbage_errors > 1900);

    /* Files: missing, a directory, empty. */
    int16_t *s = NULL;
    CHECK(md_wav_read("/nonexistent/x.wav", &info, &s, err, sizeof(err)) == -ENOENT);
    CHECK(strstr(err, "/nonexistent/x.wav") != NULL);
    CHECK(md_wav_read(tmpdir, &info, &s, err, sizeof(err)) == -EINVAL);
    char path[128];
    snprintf(path, sizeof(path), "%s/empty.wav", tmpdir);
    FILE *f = fopen(path, "wb");
    fclose(f);
    CHECK(md_wav_read(path, &info, &s, err, sizeof(err)) == -EINVAL && strstr(err, "too short"));
    unlink(path);

    /* Writing: bad parameters and an unwritable place. */
    int16_t one = 0;
    CHECK(md_wav_write("/nonexistent/dir/x.wav", MD_WAV_PCM16, 8000, 1, &one, 1, err,
                       sizeof(err)) == -ENOENT);
    CHECK(md_wav_write(path, MD_WAV_PCM16, 44100, 1, &one, 1, err, sizeof(err)) == -ENOTSUP);
    CHECK(md_wav_write(path, MD_WAV_PCM16, 8000, 3, &one, 1, err, sizeof(err)) == -ENOTSUP);
}

int main(void)
{
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trips();
    test_hostile();
    rmdir(tmpdir);
    return check_summary("wav");
}
