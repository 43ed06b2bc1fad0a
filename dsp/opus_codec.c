/* The Opus wrapper. */
#include "dsp/opus_codec.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

static int map_error(int e)
{
    switch (e) {
    case OPUS_BAD_ARG:
        return -EINVAL;
    case OPUS_BUFFER_TOO_SMALL:
        return -ENOBUFS;
    case OPUS_INVALID_PACKET:
    case OPUS_INTERNAL_ERROR: /* libopus also reports some corrupt streams this way */
        return -EBADMSG;
    default:
        return -EIO;
    }
}

static size_t align16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

size_t md_opus_memory_size(unsigned rate)
{
    if (rate != 8000 && rate != 16000)
        return 0;
    return align16((size_t)opus_encoder_get_size(1)) + align16((size_t)opus_decoder_get_size(1));
}

int md_opus_init(md_opus_t *o, void *mem, size_t memlen, unsigned rate, int bitrate,
                 int loss_percent)
{
    size_t need = md_opus_memory_size(rate);
    if (o == NULL || mem == NULL || need == 0 || memlen < need || ((uintptr_t)mem & 15) ||
        bitrate < 6000 || bitrate > 64000 || loss_percent < 0 || loss_percent > 100)
        return -EINVAL;
    o->owned = NULL;
    o->enc = (OpusEncoder *)mem;
    o->dec = (OpusDecoder *)((char *)mem + align16((size_t)opus_encoder_get_size(1)));
    o->rate = rate;
    o->frame = rate / 50;
    int e = opus_encoder_init(o->enc, (opus_int32)rate, 1, OPUS_APPLICATION_VOIP);
    if (e == OPUS_OK)
        e = opus_decoder_init(o->dec, (opus_int32)rate, 1);
    if (e == OPUS_OK)
        e = opus_encoder_ctl(o->enc, OPUS_SET_BITRATE(bitrate));
    if (e == OPUS_OK)
        e = opus_encoder_ctl(o->enc, OPUS_SET_INBAND_FEC(1));
    if (e == OPUS_OK)
        e = opus_encoder_ctl(o->enc, OPUS_SET_PACKET_LOSS_PERC(loss_percent));
    if (e == OPUS_OK)
        e = opus_encoder_ctl(o->enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
    if (e == OPUS_OK)
        e = opus_encoder_ctl(o->enc, OPUS_SET_COMPLEXITY(5));
    return e == OPUS_OK ? 0 : map_error(e);
}

int md_opus_create(md_opus_t *o, unsigned rate, int bitrate, int loss_percent)
{
    size_t need = md_opus_memory_size(rate);
    if (o == NULL || need == 0)
        return -EINVAL;
    void *mem = aligned_alloc(16, need);   /* need is a multiple of 16 */
    if (mem == NULL)
        return -ENOMEM;
    int e = md_opus_init(o, mem, need, rate, bitrate, loss_percent);
    if (e != 0) {
        free(mem);
        return e;
    }
    o->owned = mem;
    return 0;
}

void md_opus_destroy(md_opus_t *o)
{
    if (o == NULL)
        return;
    free(o->owned);
    o->owned = NULL;
    o->enc = NULL;
    o->dec = NULL;
}

int md_opus_set_complexity(md_opus_t *o, int complexity)
{
    if (o == NULL || complexity < 0 || complexity > 10)
        return -EINVAL;
    int e = opus_encoder_ctl(o->enc, OPUS_SET_COMPLEXITY(complexity));
    return e == OPUS_OK ? 0 : map_error(e);
}

int md_opus_encode(md_opus_t *o, const int16_t *pcm, uint8_t *packet, size_t cap)
{
    if (o == NULL || pcm == NULL || packet == NULL)
        return -EINVAL;
    if (cap > MD_OPUS_MAX_PACKET)
        cap = MD_OPUS_MAX_PACKET;
    opus_int32 n = opus_encode(o->enc, pcm, (int)o->frame, packet, (opus_int32)cap);
    return n < 0 ? map_error(n) : (int)n;
}

int md_opus_decode(md_opus_t *o, const uint8_t *packet, size_t len, int16_t *pcm)
{
    if (o == NULL || pcm == NULL || packet == NULL || len == 0 || len > MD_OPUS_MAX_PACKET * 3)
        return -EINVAL;
    /* A packet longer than 20 ms of audio would overrun the caller's frame. */
    int samples = opus_packet_get_nb_samples(packet, (opus_int32)len, (opus_int32)o->rate);
    if (samples < 0)
        return map_error(samples);
    if ((unsigned)samples != o->frame)
        return -EBADMSG;
    int n = opus_decode(o->dec, packet, (opus_int32)len, pcm, (int)o->frame, 0);
    return n < 0 ? map_error(n) : n;
}

int md_opus_conceal(md_opus_t *o, int16_t *pcm)
{
    if (o == NULL || pcm == NULL)
        return -EINVAL;
    int n = opus_decode(o->dec, NULL, 0, pcm, (int)o->frame, 0);
    return n < 0 ? map_error(n) : n;
}

int md_opus_recover(md_opus_t *o, const uint8_t *next, size_t len, int16_t *pcm)
{
    if (o == NULL || pcm == NULL)
        return -EINVAL;
    if (next == NULL || len == 0 || len > MD_OPUS_MAX_PACKET * 3)
        return md_opus_conceal(o, pcm);
    int samples = opus_packet_get_nb_samples(next, (opus_int32)len, (opus_int32)o->rate);
    if (samples < 0 || (unsigned)samples != o->frame)
        return md_opus_conceal(o, pcm);
    int n = opus_decode(o->dec, next, (opus_int32)len, pcm, (int)o->frame, 1);
    return n < 0 ? map_error(n) : n;
}

const char *md_opus_strerror(int err)
{
    switch (err) {
    case -EINVAL:
        return "invalid argument";
    case -ENOBUFS:
        return "output buffer too small";
    case -ENOMEM:
        return "out of memory";
    case -EBADMSG:
        return "corrupt or unsupported Opus packet";
    case 0:
        return "success";
    default:
        return "Opus internal error";
    }
}
