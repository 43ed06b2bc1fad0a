/* Opus for telephony: mono, 20 ms frames, narrowband (8 kHz) or wideband (16 kHz), with
 * in-band forward error correction and packet loss concealment.
 *
 * The encoder and decoder live in memory the caller provides (md_opus_memory_size()),
 * so that a channel pool can allocate them once. Errors are negative errno codes:
 * -EINVAL (bad argument), -EBADMSG (corrupt packet), -ENOBUFS (output too small),
 * -EIO (anything else); md_opus_strerror() describes them. */
#ifndef MD_DSP_OPUS_CODEC_H
#define MD_DSP_OPUS_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include <opus/opus.h>

#define MD_OPUS_MAX_PACKET 1275   /* RFC 6716's limit for one frame */

typedef struct {
    OpusEncoder *enc;
    OpusDecoder *dec;
    unsigned rate;    /* 8000 or 16000 */
    unsigned frame;   /* samples per 20 ms */
    void *owned;      /* memory md_opus_create() allocated, else NULL */
} md_opus_t;

/* Bytes of memory an encoder and a decoder need together at this rate (0 if the rate
 * is not 8000 or 16000). */
size_t md_opus_memory_size(unsigned rate);

/* Sets up in mem (at least md_opus_memory_size(rate) bytes, 16-byte aligned): VoIP
 * application, bitrate in bit/s (6000..64000), FEC on and tuned for loss_percent
 * (0..100) expected loss. May be called again on the same memory to reset a channel.
 *
 * The VoIP application high-passes the input (adaptive cutoff, 60-100 Hz and above), so
 * a low male pitch comes out phase-shifted; and FEC's redundant copy takes its bits from
 * the same bitrate. */
int md_opus_init(md_opus_t *o, void *mem, size_t memlen, unsigned rate, int bitrate,
                 int loss_percent);

/* Convenience: md_opus_init() on memory it allocates (at set-up, never per frame).
 * Returns 0, -ENOMEM, or md_opus_init()'s errors. Release with md_opus_destroy(). */
int md_opus_create(md_opus_t *o, unsigned rate, int bitrate, int loss_percent);

/* Frees what md_opus_create() allocated; harmless on caller-memory codecs and twice. */
void md_opus_destroy(md_opus_t *o);

/* Encoder complexity 0..10 (init sets 5: about a third of the CPU of 10 for a small
 * loss of quality, the usual trade in a media server). */
int md_opus_set_complexity(md_opus_t *o, int complexity);

/* Encodes one 20 ms frame (rate / 50 samples) into packet (cap bytes, at most
 * MD_OPUS_MAX_PACKET used); returns the packet length or a negative error. */
int md_opus_encode(md_opus_t *o, const int16_t *pcm, uint8_t *packet, size_t cap);

/* Decodes a packet into one 20 ms frame (pcm holds rate / 50 samples); returns the
 * samples or a negative error: -EINVAL for NULL, empty or longer than 3 * 1275 bytes,
 * -EBADMSG for a corrupt packet or one that does not hold exactly 20 ms. */
int md_opus_decode(md_opus_t *o, const uint8_t *packet, size_t len, int16_t *pcm);

/* A lost frame, concealed from the decoder's history; returns rate / 50 or an error. */
int md_opus_conceal(md_opus_t *o, int16_t *pcm);

/* A lost frame rebuilt from the FEC data the NEXT packet carries (call before decoding
 * that packet normally). Falls back to concealment if it carries none. */
int md_opus_recover(md_opus_t *o, const uint8_t *next, size_t len, int16_t *pcm);

const char *md_opus_strerror(int err);

#endif
