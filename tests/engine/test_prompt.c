/* The prompt store: every supported WAV variant decoded to 8 kHz mono, resampling that
 * keeps a 1 kHz tone's level, errors that name the problem and leave the store as it was,
 * reloads that replace. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsp/energy.h"
#include "dsp/g711.h"
#include "dsp/wav.h"
#include "engine/prompt.h"
#include "tests/check.h"

static char dir[] = "/tmp/medley-prompt-XXXXXX";

static const char *path(const char *name)
{
    static char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return p;
}

int main(void)
{
    if (mkdtemp(dir) == NULL)
        return 1;
    static int16_t mono8[8000], stereo16[2 * 16000];
    for (int i = 0; i < 8000; i++)
        mono8[i] = (int16_t)lrint(10000 * sin(2 * M_PI * 1000 * i / 8000.0));
    for (int i = 0; i < 16000; i++)
        stereo16[2 * i] = stereo16[2 * i + 1] = (int16_t)lrint(10000 * sin(2 * M_PI * 1000 * i / 16000.0));
    char err[256];
    CHECK(md_wav_write(path("a.wav"), MD_WAV_PCM16, 8000, 1, mono8, 8000, err, sizeof(err)) == 0);
    CHECK(md_wav_write(path("b.wav"), MD_WAV_ULAW, 16000, 2, stereo16, 16000, err, sizeof(err)) == 0);
    CHECK(md_wav_write(path("c.wav"), MD_WAV_ALAW, 8000, 1, mono8, 8000, err, sizeof(err)) == 0);
    FILE *f = fopen(path("junk.wav"), "wb");
    fputs("RIFF....WAVEjunk", f);
    fclose(f);

    md_prompt_store_t s;
    CHECK(md_prompt_store_init(&s, 3) == 0);
    CHECK(md_prompt_load(&s, "a", path("a.wav"), err, sizeof(err)) == 0);
    const md_prompt_t *a = md_prompt_find(&s, "a");
    CHECK(a != NULL && a->samples == 8000 && memcmp(a->pcm, mono8, sizeof(mono8)) == 0);
    /* Its G.711 copies, for the channels that send it as it is (engine/media.c). */
    int copies_bad = a == NULL || a->ulaw == NULL || a->alaw == NULL;
    for (size_t i = 0; !copies_bad && i < a->samples; i++)
        copies_bad = a->ulaw[i] != md_ulaw_encode1(a->pcm[i]) ||
                     a->alaw[i] != md_alaw_encode1(a->pcm[i]);
    CHECK(!copies_bad);

    CHECK(md_prompt_load(&s, "b", path("b.wav"), err, sizeof(err)) == 0);
    const md_prompt_t *b = md_prompt_find(&s, "b");
    CHECK(b != NULL && b->samples == 8000);
    if (b != NULL) {
        float la = md_energy_dbm0(a->pcm + 800, 6400), lb = md_energy_dbm0(b->pcm + 800, 6400);
        CHECKF(fabs(la - lb) < 0.4, "level %.2f after resampling, %.2f before", lb, la);
    }
    CHECK(md_prompt_load(&s, "c", path("c.wav"), err, sizeof(err)) == 0);
    const md_prompt_t *c = md_prompt_find(&s, "c");
    CHECK(c != NULL && c->pcm[100] == md_alaw_decode1(md_alaw_encode1(mono8[100])));

    /* Errors: the message names the problem; the store does not change. */
    CHECK(md_prompt_load(&s, "a", path("none.wav"), err, sizeof(err)) == -ENOENT &&
          strstr(err, "none.wav") && strstr(err, "No such file"));
    CHECK(md_prompt_load(&s, "a", path("junk.wav"), err, sizeof(err)) < 0 && strstr(err, "junk.wav"));
    CHECK(md_prompt_find(&s, "a") == a && a->samples == 8000 && s.count == 3);
    CHECK(md_prompt_load(&s, "d", path("a.wav"), err, sizeof(err)) == -ENOSPC);
    char longname[100];
    memset(longname, 'n', 99);
    longname[99] = 0;
    CHECK(md_prompt_load(&s, longname, path("a.wav"), err, sizeof(err)) == -ENAMETOOLONG);
    CHECK(md_prompt_load(&s, "a", dir, err, sizeof(err)) < 0);   /* a directory */

    /* Reload replaces the audio under the same name. */
    CHECK(md_prompt_load(&s, "a", path("b.wav"), err, sizeof(err)) == 0);
    CHECK(md_prompt_find(&s, "a")->samples == 8000 && s.count == 3);
    const md_prompt_t *a2 = md_prompt_find(&s, "a");
    CHECK(a2->ulaw != NULL && a2->ulaw[4000] == md_ulaw_encode1(a2->pcm[4000]) &&
          a2->alaw[4000] == md_alaw_encode1(a2->pcm[4000]));

    md_prompt_store_free(&s);
    unlink(path("a.wav"));
    unlink(path("b.wav"));
    unlink(path("c.wav"));
    unlink(path("junk.wav"));
    rmdir(dir);
    return check_summary("prompt");
}
