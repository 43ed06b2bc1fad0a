/* The prompt store: WAV files (PCM16, µ-law or A-law; 8 or 16 kHz; mono or stereo) read
 * with io_uring, decoded once to 8 kHz mono linear audio, and then shared read-only by
 * every worker. A missing or bad file is an error with a message for the API's caller,
 * never a crash, and the prompts already loaded stay as they were. Loading runs on the
 * control or I/O thread, never on a worker. */
#ifndef MD_ENGINE_PROMPT_H
#define MD_ENGINE_PROMPT_H

#include <stddef.h>
#include <stdint.h>

#define MD_PROMPT_NAME 64

typedef struct {
    char name[MD_PROMPT_NAME];
    int16_t *pcm;            /* 8 kHz mono */
    size_t samples;
    /* The same audio as G.711 bytes (md_prompt_encode_g711), or NULL: a channel that
     * plays the prompt with nothing mixed over it copies its packets from here instead of
     * encoding 20 ms every tick. One allocation: alaw points into ulaw's. */
    uint8_t *ulaw, *alaw;
} md_prompt_t;

/* Makes p's G.711 copies from p->pcm (replacing any). Returns 0, or -ENOMEM, which
 * leaves them NULL: the prompt still plays, encoded frame by frame. */
int md_prompt_encode_g711(md_prompt_t *p);

/* Frees p's audio (pcm and the G.711 copies) and sets the pointers to NULL. */
void md_prompt_free_audio(md_prompt_t *p);

typedef struct {
    md_prompt_t *items;
    unsigned count, cap;
} md_prompt_store_t;

int md_prompt_store_init(md_prompt_store_t *s, unsigned cap);
void md_prompt_store_free(md_prompt_store_t *s);

/* Loads (or reloads, replacing) prompt `name` from path. Returns 0, or a negative errno
 * code with a message in err: -ENOENT etc. for the file, -EINVAL / -ENOTSUP for its
 * content, -ENOSPC when the store is full, -ENAMETOOLONG for a long name. On any error
 * the store is unchanged. Reloading while workers play the old version is the caller's
 * to sequence (swap, then free after the workers moved on). */
int md_prompt_load(md_prompt_store_t *s, const char *name, const char *path, char *err,
                   size_t errlen);

/* Reads and decodes one WAV file to 8 kHz mono (a malloc()ed buffer in *pcm). Returns 0
 * or a negative errno code with a message naming the file and the problem. */
int md_prompt_decode_file(const char *path, int16_t **pcm, size_t *samples, char *err,
                          size_t errlen);

const md_prompt_t *md_prompt_find(const md_prompt_store_t *s, const char *name);

/* Reads a whole file with io_uring into a malloc()ed buffer. Returns 0 or -errno. */
int md_uring_read_file(const char *path, uint8_t **buf, size_t *len);

#endif
