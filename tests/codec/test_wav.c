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

    /* Data sizes a streaming writer leaves, and an empty data chunk with a chunk after
     * it. good's data header is at 50, its 200 data bytes at 58, "junk" (12) after. */
    {
        size_t ds = 36 + 14 + 4;
        struct {
            uint32_t riff, data;
            size_t len;
            size_t frames;
            const char *what;
        } sz[] = {
            { 0xFFFFFFFF, 0xFFFFFFFF, len - 12, 100, "both sizes -1" },
            { 0, 0xFFFFFFFF, len - 12, 100, "RIFF 0, data -1" },
            { (uint32_t)(len - 8), 0xFFFFFFFF, len, 106, "data -1, junk read as audio" },
            { 0, 0, len - 12, 100, "both sizes 0" },
            { 0xFFFFFFFF, 0, len - 12, 100, "RIFF -1, data 0" },
            { (uint32_t)(ds + 4 - 8), 0, len - 12, 100, "RIFF = header, data 0" },
            { (uint32_t)(ds + 4 - 8), 0, len - 13, 99, "partial final frame dropped" },
            { (uint32_t)(len - 8 - 200), 0, len - 200, 0, "empty data, then a chunk" },
            { (uint32_t)(len - 8), 1000, len - 12, 100, "data size beyond the end" },
            { (uint32_t)(len - 8), 21, len, 10, "odd data size, half a frame dropped" },
        };
        for (unsigned i = 0; i < sizeof(sz) / sizeof(sz[0]); i++) {
            /* good with data moved to the end when the case wants "data 0, then junk". */
            memcpy(b, good, len);
            if (sz[i].frames == 0)
                memcpy(b + ds + 4, good + ds + 4 + 200, 12);
            for (int k = 0; k < 4; k++) {
                b[4 + k] = (uint8_t)(sz[i].riff >> (8 * k));
                b[ds + k] = (uint8_t)(sz[i].data >> (8 * k));
            }
            uint8_t *copy = malloc(sz[i].len);
            memcpy(copy, b, sz[i].len);
            int16_t *s = NULL;
            int rc = md_wav_parse(copy, sz[i].len, &info, &s, err, sizeof(err));
            CHECKF(rc == 0 && info.frames == sz[i].frames, "%s: rc %d, %zu frames", sz[i].what,
                   rc, info.frames);
            CHECKF((s == NULL) == (sz[i].frames == 0), "%s: samples", sz[i].what);
            /* The samples are good's, in order (the junk ones aside). */
            int bad = 0;
            for (size_t f = 0; s != NULL && f < info.frames && f < 100; f++)
                bad += s[f] != (int16_t)(good[58 + 2 * f] | good[59 + 2 * f] << 8);
            CHECKF(bad == 0, "%s: %d samples differ", sz[i].what, bad);
            free(s);
            free(copy);
        }
    }

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

/* The file md_wav_write makes for (format, rate, channels, pcm), rewritten with a 40-byte
 * WAVE_FORMAT_EXTENSIBLE fmt chunk. Returns its length. */
static size_t build_extensible(uint8_t *out, md_wav_format_t format, unsigned rate,
                               unsigned channels, const int16_t *pcm, size_t frames)
{
    static const uint8_t tail[14] = { 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                      0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71 };
    unsigned bytes = format == MD_WAV_PCM16 ? 2 : 1;
    size_t dlen = frames * channels * bytes, off = 0;
    uint8_t plain[MD_WAV_HEADER_MAX];
    md_wav_header_build(plain, format, rate, channels, (uint32_t)dlen);

    memcpy(out, plain, 12);
    memcpy(out + 12, "fmt \x28\x00\x00\x00", 8);
    memcpy(out + 20, plain + 20, 16);   /* the ordinary fields */
    out[20] = 0xFE;
    out[21] = 0xFF;
    out[36] = 22;   /* cbSize */
    out[37] = 0;
    out[38] = (uint8_t)(8 * bytes);   /* valid bits */
    out[39] = 0;
    memset(out + 40, 0, 4);
    out[40] = channels == 1 ? 4 : 3;   /* speaker mask: centre, or left + right */
    out[44] = (uint8_t)format;
    out[45] = 0;
    memcpy(out + 46, tail, sizeof(tail));
    off = 60;
    memcpy(out + off, "data", 4);
    for (int k = 0; k < 4; k++)
        out[off + 4 + k] = (uint8_t)(dlen >> (8 * k));
    off += 8;
    for (size_t i = 0; i < frames * channels; i++) {
        if (format == MD_WAV_PCM16) {
            out[off++] = (uint8_t)pcm[i];
            out[off++] = (uint8_t)((uint16_t)pcm[i] >> 8);
        } else {
            out[off++] = format == MD_WAV_ULAW ? md_ulaw_encode1(pcm[i]) : md_alaw_encode1(pcm[i]);
        }
    }
    if (dlen & 1)
        out[off++] = 0;
    for (int k = 0; k < 4; k++)
        out[4 + k] = (uint8_t)((off - 8) >> (8 * k));
    return off;
}

static void test_extensible(void)
{
    static const md_wav_format_t formats[] = { MD_WAV_PCM16, MD_WAV_ULAW, MD_WAV_ALAW };
    enum { FRAMES = 77 };
    int16_t pcm[2 * FRAMES];
    uint8_t buf[80 + 4 * FRAMES];
    md_wav_info_t info;
    char err[200];

    for (int i = 0; i < 2 * FRAMES; i++)
        pcm[i] = (int16_t)(i * 853 - 30000);
    for (int f = 0; f < 3; f++)
        for (unsigned rate = 8000; rate <= 16000; rate += 8000)
            for (unsigned ch = 1; ch <= 2; ch++) {
                size_t len = build_extensible(buf, formats[f], rate, ch, pcm, FRAMES);
                int16_t *s = NULL;
                int rc = md_wav_parse(buf, len, &info, &s, err, sizeof(err));
                CHECKF(rc == 0, "extensible %s %u %u: %s", md_wav_format_name(formats[f]), rate,
                       ch, err);
                if (rc != 0)
                    continue;
                CHECK(info.format == formats[f] && info.rate == rate && info.channels == ch &&
                      info.frames == FRAMES);
                int bad = 0;
                for (unsigned i = 0; i < FRAMES * ch; i++) {
                    int16_t want = formats[f] == MD_WAV_PCM16 ? pcm[i]
                                   : formats[f] == MD_WAV_ULAW
                                       ? md_ulaw_decode1(md_ulaw_encode1(pcm[i]))
                                       : md_alaw_decode1(md_alaw_encode1(pcm[i]));
                    bad += s[i] != want;
                }
                CHECKF(bad == 0, "extensible %s: %d samples differ",
                       md_wav_format_name(formats[f]), bad);
                free(s);
            }

    /* Broken extensible headers. */
    size_t len = build_extensible(buf, MD_WAV_ULAW, 8000, 1, pcm, FRAMES);
    uint8_t b[sizeof(buf)];
    memcpy(b, buf, len);
    b[50] = 0x11;   /* a GUID that is not one of the wrapped format tags */
    expect_error(b, len, "sub-format GUID", "bad GUID");
    memcpy(b, buf, len);
    b[59] = 0x72;   /* the GUID's last byte */
    expect_error(b, len, "sub-format GUID", "bad GUID end");
    memcpy(b, buf, len);
    b[44] = 0x55;
    expect_error(b, len, "format tag 85 (MP3)", "extensible MP3");
    memcpy(b, buf, len);
    b[36] = 0;
    expect_error(b, len, "extension too short", "cbSize 0");
    memcpy(b, buf, len);
    b[38] = 12;
    expect_error(b, len, "valid bits 12", "valid bits");
    memcpy(b, buf, len);
    b[16] = 24;   /* fmt says 24 bytes: too short for the extension */
    expect_error(b, len, "truncated extensible fmt", "fmt 24");
    memcpy(b, buf, len);
    b[34] = 16;   /* 16-bit µ-law */
    expect_error(b, len, "sample size 16 bits", "16-bit µ-law");
    /* Cut anywhere inside the header: an error every time. */
    for (size_t cut = 0; cut < 68; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, buf, cut);
        int16_t *s = NULL;
        int rc = md_wav_parse(copy, cut, &info, &s, err, sizeof(err));
        CHECKF(rc < 0 && s == NULL && err[0] != '\0', "extensible cut at %zu: rc %d", cut, rc);
        free(copy);
    }
}

/* A recorder writes the header with data size 0, streams the data, then patches the
 * header: the file reads right at both stages, and the patched one equals md_wav_write's. */
static void test_streaming_header(void)
{
    static const md_wav_format_t formats[] = { MD_WAV_PCM16, MD_WAV_ULAW, MD_WAV_ALAW };
    enum { FRAMES = 333 };
    int16_t pcm[2 * FRAMES];
    char path[128], err[200];
    for (int i = 0; i < 2 * FRAMES; i++)
        pcm[i] = (int16_t)(i * 97 - 20000);

    for (int f = 0; f < 3; f++)
        for (unsigned ch = 1; ch <= 2; ch++) {
            uint8_t hdr[MD_WAV_HEADER_MAX], img[MD_WAV_HEADER_MAX + 4 * FRAMES + 1];
            size_t hlen = md_wav_header_build(hdr, formats[f], 8000, ch, 0);
            CHECK(hlen == (formats[f] == MD_WAV_PCM16 ? 44u : 58u));
            memcpy(img, hdr, hlen);
            size_t off = hlen, n = FRAMES * ch;
            for (size_t i = 0; i < n; i++) {
                if (formats[f] == MD_WAV_PCM16) {
                    img[off++] = (uint8_t)pcm[i];
                    img[off++] = (uint8_t)((uint16_t)pcm[i] >> 8);
                } else if (formats[f] == MD_WAV_ULAW) {
                    md_ulaw_encode(img + off++, pcm + i, 1);
                } else {
                    md_alaw_encode(img + off++, pcm + i, 1);
                }
            }
            md_wav_info_t info;
            int16_t *s = NULL;
            CHECK(md_wav_parse(img, off, &info, &s, err, sizeof(err)) == 0 &&
                  info.frames == FRAMES);
            free(s);

            size_t dlen = off - hlen;
            CHECK(md_wav_header_build(hdr, formats[f], 8000, ch, (uint32_t)dlen) == hlen);
            memcpy(img, hdr, hlen);
            if (dlen & 1)
                img[off++] = 0;
            snprintf(path, sizeof(path), "%s/stream.wav", tmpdir);
            CHECK(md_wav_write(path, formats[f], 8000, ch, pcm, FRAMES, err, sizeof(err)) == 0);
            size_t flen = 0;
            uint8_t *file = slurp(path, &flen);
            CHECKF(file != NULL && flen == off && memcmp(file, img, off) == 0,
                   "patched stream %s/%u differs from md_wav_write's file",
                   md_wav_format_name(formats[f]), ch);
            free(file);
            unlink(path);
        }

    uint8_t hdr[MD_WAV_HEADER_MAX];
    CHECK(md_wav_header_build(hdr, MD_WAV_PCM16, 44100, 1, 0) == 0);
    CHECK(md_wav_header_build(hdr, MD_WAV_PCM16, 8000, 0, 0) == 0);
    CHECK(md_wav_header_build(hdr, MD_WAV_PCM16, 8000, 3, 0) == 0);
    CHECK(md_wav_header_build(hdr, (md_wav_format_t)3, 8000, 1, 0) == 0);
}

int main(void)
{
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trips();
    test_hostile();
    test_extensible();
    test_streaming_header();
    rmdir(tmpdir);
    return check_summary("wav");
}
