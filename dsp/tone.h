/* Tone generation: DTMF digits, call-progress tones and beeps, at levels in dBm0.
 *
 * A tone is up to four sine components, each with its own level, switched by a cadence
 * of up to four on/off segments that repeats or plays once. Levels follow SpanDSP's
 * convention: a full-scale sine is +3.14 dBm0, so amplitude = 32767 * 10^((dBm0 - 3.14)/20).
 * The generator state lives in the caller's struct (no heap); oscillators are phasors
 * renormalised on every call, so successive calls of any length continue the waveform
 * without a click. */
#ifndef MD_DSP_TONE_H
#define MD_DSP_TONE_H

#include <stddef.h>
#include <stdint.h>

#define MD_TONE_MAX_COMPONENTS 4
#define MD_TONE_MAX_SEGMENTS 4
#define MD_TONE_RATE 8000
#define MD_TONE_MAX_MS 3600000u   /* longest on or off part: one hour */

typedef struct {
    float hz;        /* 1 .. 3999 */
    float dbm0;      /* -90 .. +3.14 */
} md_tone_component_t;

typedef struct {
    md_tone_component_t comp[MD_TONE_MAX_COMPONENTS];
    unsigned ncomp;                          /* 1 .. 4 */
    unsigned on_ms[MD_TONE_MAX_SEGMENTS];    /* cadence, 0 .. MD_TONE_MAX_MS each; nseg 0
                                                means continuous */
    unsigned off_ms[MD_TONE_MAX_SEGMENTS];
    unsigned nseg;
    int repeat;                              /* cadence repeats (else plays once) */
} md_tone_desc_t;

typedef struct {
    md_tone_desc_t d;
    double re[MD_TONE_MAX_COMPONENTS], im[MD_TONE_MAX_COMPONENTS];   /* phasors */
    double rot_re[MD_TONE_MAX_COMPONENTS], rot_im[MD_TONE_MAX_COMPONENTS];
    double amp[MD_TONE_MAX_COMPONENTS];
    unsigned seg;         /* current segment */
    int in_off;           /* in the off part of the segment */
    uint32_t left;        /* samples left in the current part */
    int done;             /* a non-repeating cadence has ended */
} md_tone_gen_t;

typedef enum {
    MD_TONE_NA_DIAL,       /* 350+440 Hz continuous */
    MD_TONE_NA_RINGBACK,   /* 440+480 Hz, 2 s on 4 s off */
    MD_TONE_NA_BUSY,       /* 480+620 Hz, 0.5 s on 0.5 s off */
    MD_TONE_NA_REORDER,    /* 480+620 Hz, 0.25 s on 0.25 s off */
    MD_TONE_CN_DIAL,       /* 450 Hz continuous (China) */
    MD_TONE_CN_RINGBACK,   /* 450 Hz, 1 s on 4 s off */
    MD_TONE_CN_BUSY,       /* 450 Hz, 0.35 s on 0.35 s off */
    MD_TONE_BEEP,          /* 1400 Hz, 0.5 s once: recording / barge-in notice */
    MD_TONE_PRESET_COUNT
} md_tone_preset_t;

/* Prepares a generator; returns 0 or -EINVAL for a description out of range (NULL, no
 * component, frequency outside 1..3999 Hz, level outside -90..+3.14 dBm0, a part longer
 * than MD_TONE_MAX_MS, or a repeating cadence whose parts are all zero). */
int md_tone_init(md_tone_gen_t *g, const md_tone_desc_t *d);

/* Writes n samples (silence in off periods and after a cadence that has ended).
 * Returns the number of samples that carried tone. */
size_t md_tone_generate(md_tone_gen_t *g, int16_t *out, size_t n);

/* 1 once a non-repeating cadence has played out. */
int md_tone_done(const md_tone_gen_t *g);

/* A DTMF digit ('0'-'9', '*', '#', 'A'-'D', either case): low tone at level_dbm0, high
 * tone twist_db above it (negative: "normal" twist), on_ms of tone then off_ms of
 * silence, once. Returns 0 or -EINVAL (other digit, on_ms 0, a duration above
 * MD_TONE_MAX_MS, or either tone's level outside -90..+3.14 dBm0). Typical: -10 dBm0,
 * twist 0, 70 ms on, 70 ms off. */
int md_tone_dtmf(md_tone_desc_t *d, char digit, float level_dbm0, float twist_db,
                 unsigned on_ms, unsigned off_ms);

/* A call-progress preset with every component at level_dbm0 (-90..+3.14; -13 to -19
 * dBm0 is usual on a line). Returns 0 or -EINVAL. */
int md_tone_preset(md_tone_desc_t *d, md_tone_preset_t preset, float level_dbm0);

/* A single-frequency beep: on_ms of hz (1..3999) at level_dbm0 then off_ms of silence,
 * once or repeating (e.g. 1400 Hz, 500 ms, every 15 s for a recording notice). Returns 0
 * or -EINVAL for anything out of the ranges md_tone_init() accepts, or on_ms 0. */
int md_tone_beep(md_tone_desc_t *d, float hz, float level_dbm0, unsigned on_ms,
                 unsigned off_ms, int repeat);

/* Number of samples md_tone_dial() writes for this many digits (0 if the durations are
 * out of range or the count would overflow). */
size_t md_tone_dial_samples(size_t ndigits, unsigned on_ms, unsigned off_ms);

/* Dials a string of DTMF digits into out (capacity cap samples): each digit on_ms of
 * tone then off_ms of silence. Returns the samples written, or -EINVAL for an invalid
 * digit or parameter, -ENOSPC if out is too small. */
long md_tone_dial(int16_t *out, size_t cap, const char *digits, float level_dbm0,
                  float twist_db, unsigned on_ms, unsigned off_ms);

/* dBm0 to peak amplitude of a sine, and back. */
double md_dbm0_to_amplitude(double dbm0);
double md_amplitude_to_dbm0(double amplitude);

#endif
