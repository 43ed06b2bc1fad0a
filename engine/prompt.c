/* The prompt store. */
#include "engine/prompt.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dsp/g711.h"
#include "dsp/wav.h"

int md_uring_read_file(const char *path, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    /* O_NONBLOCK: a FIFO or a device named by an API client must not block the control
     * thread in open(); anything but a regular file is refused below. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -EINVAL;
    }
    if ((uint64_t)st.st_size > MD_WAV_MAX_BYTES) {
        close(fd);
        return -EFBIG;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *b = malloc(size ? size : 1);
    if (b == NULL) {
        close(fd);
        return -ENOMEM;
    }
    struct io_uring ring;
    int rc = io_uring_queue_init(2, &ring, 0);
    if (rc < 0) {
        free(b);
        close(fd);
        return rc;
    }
    size_t done = 0;
    while (rc == 0 && done < size) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
        io_uring_prep_read(sqe, fd, b + done, (unsigned)(size - done > (1u << 30) ? (1u << 30) : size - done),
                           done);
        io_uring_submit(&ring);
        struct io_uring_cqe *cqe;
        rc = io_uring_wait_cqe(&ring, &cqe);
        if (rc < 0)
            break;
        int res = cqe->res;
        io_uring_cqe_seen(&ring, cqe);
        if (res < 0)
            rc = res;
        else if (res == 0)
            rc = -EIO;   /* the file shrank under us */
        else
            done += (size_t)res;
    }
    io_uring_queue_exit(&ring);
    close(fd);
    if (rc < 0) {
        free(b);
        return rc;
    }
    *buf = b;
    *len = size;
    return 0;
}

int md_prompt_store_init(md_prompt_store_t *s, unsigned cap)
{
    s->items = calloc(cap ? cap : 1, sizeof(md_prompt_t));
    s->count = 0;
    s->cap = cap;
    return s->items ? 0 : -ENOMEM;
}

int md_prompt_encode_g711(md_prompt_t *p)
{
    free(p->ulaw);
    p->ulaw = p->alaw = NULL;
    uint8_t *b = malloc(2 * (p->samples ? p->samples : 1));
    if (b == NULL)
        return -ENOMEM;
    md_ulaw_encode(b, p->pcm, p->samples);
    md_alaw_encode(b + p->samples, p->pcm, p->samples);
    p->ulaw = b;
    p->alaw = b + p->samples;
    return 0;
}

void md_prompt_free_audio(md_prompt_t *p)
{
    free(p->pcm);
    free(p->ulaw);
    p->pcm = NULL;
    p->ulaw = p->alaw = NULL;
}

void md_prompt_store_free(md_prompt_store_t *s)
{
    for (unsigned i = 0; i < s->count; i++)
        md_prompt_free_audio(&s->items[i]);
    free(s->items);
    s->items = NULL;
    s->count = s->cap = 0;
}

const md_prompt_t *md_prompt_find(const md_prompt_store_t *s, const char *name)
{
    for (unsigned i = 0; i < s->count; i++)
        if (strcmp(s->items[i].name, name) == 0)
            return &s->items[i];
    return NULL;
}

/* 16 kHz to 8 kHz: a 31-tap half-band low-pass (Hamming window), then every second
 * sample. Aliasing above 4 kHz stays under about -40 dB. */
static int16_t *downsample(const int16_t *in, size_t n, size_t *out_n)
{
    enum { TAPS = 31 };
    static double h[TAPS];
    static int ready;
    if (!ready) {
        for (int k = 0; k < TAPS; k++) {
            int m = k - TAPS / 2;
            double sinc = m == 0 ? 0.5 : sin(M_PI * m / 2.0) / (M_PI * m);
            h[k] = sinc * (0.54 - 0.46 * cos(2 * M_PI * k / (TAPS - 1)));
        }
        ready = 1;
    }
    size_t m = n / 2;
    int16_t *out = malloc((m ? m : 1) * sizeof(int16_t));
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < m; i++) {
        double acc = 0;
        for (int k = 0; k < TAPS; k++) {
            long j = (long)(2 * i) + k - TAPS / 2;
            if (j >= 0 && (size_t)j < n)
                acc += h[k] * in[j];
        }
        long v = lrint(acc);
        out[i] = (int16_t)(v > 32767 ? 32767 : (v < -32768 ? -32768 : v));
    }
    *out_n = m;
    return out;
}

int md_prompt_decode_file(const char *path, int16_t **pcm_out, size_t *samples, char *err,
                          size_t errlen)
{
    uint8_t *buf;
    size_t len;
    int rc = md_uring_read_file(path, &buf, &len);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        return rc;
    }
    md_wav_info_t info;
    int16_t *pcm = NULL;
    char msg[160];
    rc = md_wav_parse(buf, len, &info, &pcm, msg, sizeof(msg));
    free(buf);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", path, msg);
        return rc;
    }
    if (info.frames == 0) {
        snprintf(err, errlen, "%s: no audio", path);
        free(pcm);
        return -EINVAL;
    }
    /* Stereo to mono by averaging; 16 kHz to 8 kHz. */
    size_t n = info.frames;
    if (info.channels == 2) {
        for (size_t i = 0; i < n; i++)
            pcm[i] = (int16_t)(((int32_t)pcm[2 * i] + pcm[2 * i + 1]) / 2);
    }
    if (info.rate == 16000) {
        size_t m;
        int16_t *d = downsample(pcm, n, &m);
        free(pcm);
        if (d == NULL) {
            snprintf(err, errlen, "%s: out of memory", path);
            return -ENOMEM;
        }
        pcm = d;
        n = m;
    }
    *pcm_out = pcm;
    *samples = n;
    return 0;
}

int md_prompt_load(md_prompt_store_t *s, const char *name, const char *path, char *err,
                   size_t errlen)
{
    if (strlen(name) >= MD_PROMPT_NAME || name[0] == '\0') {
        snprintf(err, errlen, "prompt name must be 1 to %d characters", MD_PROMPT_NAME - 1);
        return -ENAMETOOLONG;
    }
    md_prompt_t *slot = (md_prompt_t *)md_prompt_find(s, name);
    if (slot == NULL && s->count == s->cap) {
        snprintf(err, errlen, "prompt store full (%u prompts)", s->cap);
        return -ENOSPC;
    }
    int16_t *pcm;
    size_t n;
    int rc = md_prompt_decode_file(path, &pcm, &n, err, errlen);
    if (rc != 0)
        return rc;
    if (slot == NULL) {
        slot = &s->items[s->count++];
        snprintf(slot->name, sizeof(slot->name), "%s", name);
    } else {
        md_prompt_free_audio(slot);
    }
    slot->pcm = pcm;
    slot->samples = n;
    (void)md_prompt_encode_g711(slot);   /* without the copies it plays all the same */
    return 0;
}
