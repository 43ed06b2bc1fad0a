/* WAV reading and writing. */
#include "dsp/wav.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dsp/g711.h"

#define WAVE_FORMAT_EXTENSIBLE 0xFFFE

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

unsigned md_wav_sample_bytes(md_wav_format_t format)
{
    return format == MD_WAV_PCM16 ? 2 : 1;
}

const char *md_wav_format_name(md_wav_format_t format)
{
    switch (format) {
    case MD_WAV_PCM16:
        return "pcm16";
    case MD_WAV_ALAW:
        return "alaw";
    case MD_WAV_ULAW:
        return "ulaw";
    }
    return "unknown";
}

static const char *tag_name(unsigned tag)
{
    switch (tag) {
    case 2:
        return " (MS ADPCM)";
    case 3:
        return " (IEEE float)";
    case 0x11:
        return " (IMA ADPCM)";
    case 0x31:
        return " (GSM 6.10)";
    case 0x55:
        return " (MP3)";
    default:
        return "";
    }
}

/* Checks a fmt chunk's body; fills *info except frames. */
static int parse_fmt(const uint8_t *p, uint32_t size, md_wav_info_t *info, char *err,
                     size_t errlen)
{
    if (size < 16)
        return fail(err, errlen, -EINVAL, "truncated fmt chunk (%u bytes, need 16)", size);
    unsigned tag = rd16(p), channels = rd16(p + 2), bits = rd16(p + 14);
    uint32_t rate = rd32(p + 4);
    unsigned align = rd16(p + 12);

    if (tag == WAVE_FORMAT_EXTENSIBLE) {
        /* The real tag is the first field of the sub-format GUID; the rest of the GUID
         * is the fixed KSDATAFORMAT_SUBTYPE tail for the GUIDs that wrap a format tag. */
        static const uint8_t guid_tail[12] = { 0, 0, 0x00, 0x00, 0x10, 0x00,
                                               0x80, 0x00, 0x00, 0xAA, 0x00, 0x38 };
        if (size < 40)
            return fail(err, errlen, -EINVAL,
                        "truncated extensible fmt chunk (%u bytes, need 40)", size);
        if (rd16(p + 16) < 22)
            return fail(err, errlen, -EINVAL,
                        "extensible fmt extension too short (%u bytes, need 22)", rd16(p + 16));
        if (memcmp(p + 26, guid_tail, sizeof(guid_tail)) != 0 || p[38] != 0x9B ||
            p[39] != 0x71)
            return fail(err, errlen, -ENOTSUP, "unsupported extensible sub-format GUID");
        if (rd16(p + 18) > bits)
            return fail(err, errlen, -EINVAL, "bad valid bits %u in %u-bit samples",
                        rd16(p + 18), bits);
        tag = rd16(p + 24);
    }
    if (tag != MD_WAV_PCM16 && tag != MD_WAV_ALAW && tag != MD_WAV_ULAW)
        return fail(err, errlen, -ENOTSUP,
                    "unsupported format tag %u%s (need PCM, A-law or µ-law)", tag,
                    tag_name(tag));
    if (tag == MD_WAV_PCM16 && bits != 16)
        return fail(err, errlen, -ENOTSUP, "unsupported PCM sample size %u bits (need 16)",
                    bits);
    if (tag != MD_WAV_PCM16 && bits != 8)
        return fail(err, errlen, -EINVAL, "bad G.711 sample size %u bits (must be 8)", bits);
    if (channels != 1 && channels != 2)
        return fail(err, errlen, channels == 0 ? -EINVAL : -ENOTSUP,
                    "unsupported channel count %u (need 1 or 2)", channels);
    if (rate != 8000 && rate != 16000)
        return fail(err, errlen, -ENOTSUP, "unsupported sample rate %u Hz (need 8000 or 16000)",
                    rate);
    unsigned want = channels * (bits / 8);
    if (align != want)
        return fail(err, errlen, -EINVAL, "bad block align %u (expected %u)", align, want);
    info->format = (md_wav_format_t)tag;
    info->rate = rate;
    info->channels = channels;
    return 0;
}

int md_wav_parse(const uint8_t *buf, size_t len, md_wav_info_t *info, int16_t **samples,
                 char *err, size_t errlen)
{
    const uint8_t *data = NULL;
    size_t data_len = 0;
    int have_fmt = 0;

    *samples = NULL;
    memset(info, 0, sizeof(*info));
    if (len < 12)
        return fail(err, errlen, -EINVAL, "too short for a WAV file (%zu bytes)", len);
    if (memcmp(buf, "RIFX", 4) == 0)
        return fail(err, errlen, -ENOTSUP, "big-endian RIFX files are not supported");
    if (memcmp(buf, "RIFF", 4) != 0 || memcmp(buf + 8, "WAVE", 4) != 0)
        return fail(err, errlen, -EINVAL, "not a RIFF/WAVE file");

    uint32_t riff_size = rd32(buf + 4);
    size_t off = 12;
    while (data == NULL) {
        if (len - off < 8) {
            if (!have_fmt)
                return fail(err, errlen, -EINVAL, "no fmt chunk");
            return fail(err, errlen, -EINVAL, off == len ? "no data chunk"
                                                         : "truncated chunk header at byte %zu",
                        off);
        }
        const uint8_t *id = buf + off;
        uint32_t size = rd32(buf + off + 4);
        size_t avail = len - off - 8;
        off += 8;
        if (memcmp(id, "fmt ", 4) == 0) {
            if (have_fmt)
                return fail(err, errlen, -EINVAL, "two fmt chunks");
            if (size > avail)
                return fail(err, errlen, -EINVAL, "truncated fmt chunk (%zu of %u bytes)",
                            avail, size);
            int rc = parse_fmt(buf + off, size, info, err, errlen);
            if (rc != 0)
                return rc;
            have_fmt = 1;
        } else if (memcmp(id, "data", 4) == 0) {
            if (!have_fmt)
                return fail(err, errlen, -EINVAL, "data chunk before fmt chunk");
            /* A cut file, or a streaming writer that never came back to patch the size
             * (0xFFFFFFFF, or anything too big), has less than announced: take what is
             * there. A size of 0 is ambiguous: an empty recording, or one whose writer
             * left its header as first written. Such a writer leaves the RIFF size at
             * 0, 0xFFFFFFFF or the header alone; a RIFF size that reaches past this
             * header means chunks follow an empty data chunk, and they are no audio. */
            data = buf + off;
            data_len = size > avail ? avail : size;
            if (size == 0 && (riff_size == 0 || riff_size == 0xFFFFFFFF ||
                              (uint64_t)riff_size + 8 <= off))
                data_len = avail;
            break;
        } else if (size > avail) {
            return fail(err, errlen, -EINVAL, "truncated '%c%c%c%c' chunk at byte %zu",
                        id[0] >= 32 && id[0] < 127 ? id[0] : '?',
                        id[1] >= 32 && id[1] < 127 ? id[1] : '?',
                        id[2] >= 32 && id[2] < 127 ? id[2] : '?',
                        id[3] >= 32 && id[3] < 127 ? id[3] : '?', off - 8);
        }
        /* Chunks are padded to an even size. */
        size_t step = (size_t)size + (size & 1);
        if (step > len - off)
            step = len - off;
        off += step;
    }

    size_t frame_bytes = info->channels * md_wav_sample_bytes(info->format);
    info->frames = data_len / frame_bytes;
    if (info->frames == 0)
        return 0;
    size_t n = info->frames * info->channels;
    int16_t *out = malloc(n * sizeof(int16_t));
    if (out == NULL)
        return fail(err, errlen, -ENOMEM, "out of memory for %zu samples", n);
    switch (info->format) {
    case MD_WAV_PCM16:
        for (size_t i = 0; i < n; i++)
            out[i] = (int16_t)rd16(data + 2 * i);
        break;
    case MD_WAV_ULAW:
        md_ulaw_decode(out, data, n);
        break;
    case MD_WAV_ALAW:
        md_alaw_decode(out, data, n);
        break;
    }
    *samples = out;
    return 0;
}

int md_wav_read(const char *path, md_wav_info_t *info, int16_t **samples, char *err,
                size_t errlen)
{
    *samples = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        int e = errno;
        return fail(err, errlen, -e, "%s: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return fail(err, errlen, -EINVAL, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > MD_WAV_MAX_BYTES) {
        fclose(f);
        return fail(err, errlen, -EFBIG, "%s: too large (%lld bytes, limit %u)", path,
                    (long long)st.st_size, MD_WAV_MAX_BYTES);
    }
    size_t len = (size_t)st.st_size;
    uint8_t *buf = malloc(len ? len : 1);
    if (buf == NULL) {
        fclose(f);
        return fail(err, errlen, -ENOMEM, "%s: out of memory", path);
    }
    size_t got = fread(buf, 1, len, f);
    int read_error = ferror(f);
    fclose(f);
    if (read_error || got != len) {
        free(buf);
        return fail(err, errlen, -EIO, "%s: read error", path);
    }
    char msg[160];
    int rc = md_wav_parse(buf, len, info, samples, msg, sizeof(msg));
    free(buf);
    if (rc != 0)
        return fail(err, errlen, rc, "%s: %s", path, msg);
    return 0;
}

size_t md_wav_header_build(uint8_t *hdr, md_wav_format_t format, unsigned rate,
                           unsigned channels, uint32_t data_bytes)
{
    if ((format != MD_WAV_PCM16 && format != MD_WAV_ALAW && format != MD_WAV_ULAW) ||
        (rate != 8000 && rate != 16000) || (channels != 1 && channels != 2))
        return 0;
    unsigned bytes = md_wav_sample_bytes(format);
    /* Non-PCM formats carry an 18-byte fmt (cbSize = 0) and a fact chunk. */
    int pcm = format == MD_WAV_PCM16;
    size_t fmt_size = pcm ? 16 : 18;
    size_t hlen = 12 + 8 + fmt_size + (pcm ? 0 : 12) + 8;
    uint8_t *p = hdr;

    memcpy(p, "RIFF", 4);
    wr32(p + 4, (uint32_t)(hlen - 8 + data_bytes + (data_bytes & 1)));
    memcpy(p + 8, "WAVE", 4);
    p += 12;
    memcpy(p, "fmt ", 4);
    wr32(p + 4, (uint32_t)fmt_size);
    wr16(p + 8, (uint16_t)format);
    wr16(p + 10, (uint16_t)channels);
    wr32(p + 12, rate);
    wr32(p + 16, rate * channels * bytes);
    wr16(p + 20, (uint16_t)(channels * bytes));
    wr16(p + 22, (uint16_t)(8 * bytes));
    if (!pcm)
        wr16(p + 24, 0);
    p += 8 + fmt_size;
    if (!pcm) {
        memcpy(p, "fact", 4);
        wr32(p + 4, 4);
        wr32(p + 8, data_bytes / channels);
        p += 12;
    }
    memcpy(p, "data", 4);
    wr32(p + 4, data_bytes);
    return hlen;
}

int md_wav_write(const char *path, md_wav_format_t format, unsigned rate, unsigned channels,
                 const int16_t *samples, size_t frames, char *err, size_t errlen)
{
    uint8_t hdr[MD_WAV_HEADER_MAX];
    size_t n = frames * channels;
    uint64_t data_bytes = (uint64_t)n * md_wav_sample_bytes(format);

    if (data_bytes > MD_WAV_MAX_BYTES)
        return fail(err, errlen, -EFBIG, "%s: %llu bytes of audio is too much for one file",
                    path, (unsigned long long)data_bytes);
    size_t hlen = md_wav_header_build(hdr, format, rate, channels, (uint32_t)data_bytes);
    if (hlen == 0)
        return fail(err, errlen, -ENOTSUP,
                    "%s: unsupported parameters (format %d, %u Hz, %u channels)", path,
                    (int)format, rate, channels);
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        int e = errno;
        return fail(err, errlen, -e, "%s: %s", path, strerror(e));
    }
    int ok = fwrite(hdr, 1, hlen, f) == hlen;
    uint8_t chunk[4096];
    size_t i = 0;
    while (ok && i < n) {
        size_t m = 0;
        if (format == MD_WAV_PCM16) {
            for (; i < n && m + 2 <= sizeof(chunk); i++, m += 2)
                wr16(chunk + m, (uint16_t)samples[i]);
        } else {
            size_t k = n - i < sizeof(chunk) ? n - i : sizeof(chunk);
            if (format == MD_WAV_ULAW)
                md_ulaw_encode(chunk, samples + i, k);
            else
                md_alaw_encode(chunk, samples + i, k);
            i += k;
            m = k;
        }
        ok = fwrite(chunk, 1, m, f) == m;
    }
    if (ok && (data_bytes & 1))
        ok = fputc(0, f) != EOF;
    int e = errno;
    if (fclose(f) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (!ok)
        return fail(err, errlen, -(e ? e : EIO), "%s: write failed: %s", path,
                    strerror(e ? e : EIO));
    return 0;
}
