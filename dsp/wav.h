/* WAV files: PCM16, µ-law and A-law, 8 and 16 kHz, mono and stereo.
 *
 * Reading accepts what real writers produce (extra chunks before or after the data,
 * WAVE_FORMAT_EXTENSIBLE, odd chunk padding, a data size left at 0 or 0xFFFFFFFF by a
 * streaming writer, a file cut short, a final partial frame) and rejects everything else with a message
 * that names the problem. It never reads outside the buffer it is given. */
#ifndef MD_DSP_WAV_H
#define MD_DSP_WAV_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    MD_WAV_PCM16 = 1,   /* the WAVE format tags */
    MD_WAV_ALAW = 6,
    MD_WAV_ULAW = 7,
} md_wav_format_t;

typedef struct {
    md_wav_format_t format;
    unsigned rate;       /* 8000 or 16000 */
    unsigned channels;   /* 1 or 2 */
    size_t frames;       /* samples per channel */
} md_wav_info_t;

#define MD_WAV_MAX_BYTES (1u << 30)   /* larger files are refused, not read */
#define MD_WAV_HEADER_MAX 58

/* Parses a WAV file held in memory. On success returns 0, fills *info and sets *samples
 * to a malloc()ed array of frames * channels interleaved samples (G.711 decoded), which
 * the caller frees; *samples is NULL when there are no frames. On failure returns
 * -EINVAL (malformed), -ENOTSUP (valid but unsupported) or -ENOMEM, writes a message to
 * err (if errlen > 0) and leaves *samples NULL. */
int md_wav_parse(const uint8_t *buf, size_t len, md_wav_info_t *info, int16_t **samples,
                 char *err, size_t errlen);

/* The same for a file; also -ENOENT, -EACCES, -EFBIG etc. with the file name in err. */
int md_wav_read(const char *path, md_wav_info_t *info, int16_t **samples, char *err,
                size_t errlen);

/* Writes frames * channels interleaved samples, encoded as format. Returns 0 or a
 * negative errno code with a message in err. */
int md_wav_write(const char *path, md_wav_format_t format, unsigned rate, unsigned channels,
                 const int16_t *samples, size_t frames, char *err, size_t errlen);

/* Builds the header of a file with data_bytes bytes of data in hdr (at most
 * MD_WAV_HEADER_MAX bytes); returns its length, or 0 for unsupported parameters. A
 * streaming writer writes it first with data_bytes 0 and rewrites it at the end. */
size_t md_wav_header_build(uint8_t *hdr, md_wav_format_t format, unsigned rate,
                           unsigned channels, uint32_t data_bytes);

/* Bytes per sample of a format (2, or 1 for G.711). */
unsigned md_wav_sample_bytes(md_wav_format_t format);

const char *md_wav_format_name(md_wav_format_t format);

#endif
