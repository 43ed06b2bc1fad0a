/* Mixing 8 kHz / 16 kHz int16 frames: saturating sums, N-1 conference mixes, gains.
 * Everything works on caller buffers; nothing allocates. */
#ifndef MD_DSP_MIXER_H
#define MD_DSP_MIXER_H

#include <stddef.h>
#include <stdint.h>

/* out = saturate(in[0] + ... + in[n-1]), the sum kept in int32 and clamped to
 * -32768..32767 only at the end; n may be 0 (silence) and at most 65535 (so the int32
 * cannot overflow). out may be one of in. */
void md_mix_sum(int16_t *out, const int16_t *const *in, unsigned n, size_t len);

/* dst = saturate(dst + src). */
void md_mix_add(int16_t *dst, const int16_t *src, size_t len);

/* N-1 mixing for a conference of n participants (1..65535): out[i] gets everyone but i,
 * saturate(total - in[i]), from one int32 total in the caller's scratch (len entries),
 * so the cost is linear in n and one loud talker's own clipping never reaches the
 * others. out[i] must not alias any in[j]. */
void md_mix_n_minus_1(int16_t *const *out, const int16_t *const *in, unsigned n, size_t len,
                      int32_t *scratch);

/* A gain as a Q12 multiplier (4096 = 0 dB), from -90 to +18 dB; below -90 dB it mutes. */
typedef struct {
    int32_t q12;
} md_gain_t;

#define MD_GAIN_MAX_DB 18.0f
#define MD_GAIN_MUTE_DB (-90.0f)

/* Returns 0, or -EINVAL (and leaves *g alone) for a gain above +18 dB or NaN. */
int md_gain_from_db(float db, md_gain_t *g);

/* buf = saturate(buf * g), rounded to nearest (halves up). 0 dB leaves buf unchanged. */
void md_mix_apply_gain(int16_t *buf, size_t len, md_gain_t g);

/* dst = saturate(dst + src * g): an overlay (music on hold, whisper) at a level. */
void md_mix_add_gain(int16_t *dst, const int16_t *src, size_t len, md_gain_t g);

#endif
