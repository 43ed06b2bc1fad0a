/* A thin wrapper: SpanDSP's concealer is well proven; medley only fixes the memory
 * ownership (the caller's) and the names. */
#include "dsp/plc.h"

#include <errno.h>
#include <string.h>

int md_plc_init(md_plc_t *p)
{
    if (p == NULL)
        return -EINVAL;
    /* plc_init() with our memory does not allocate. */
    plc_init(&p->s);
    return 0;
}

int md_plc_received(md_plc_t *p, int16_t *frame, int len)
{
    if (p == NULL || frame == NULL || len <= 0)
        return -EINVAL;
    plc_rx(&p->s, frame, len);
    return 0;
}

int md_plc_conceal(md_plc_t *p, int16_t *frame, int len)
{
    if (p == NULL || frame == NULL || len <= 0)
        return -EINVAL;
    /* SpanDSP 0.0.6 rotates its history ring to the start at the first lost frame with
     * an overlapping memcpy(), which is undefined behaviour (AddressSanitizer stops on
     * it). Rotating it here first, with memmove(), leaves SpanDSP nothing to do. */
    if (p->s.missing_samples == 0 && p->s.buf_ptr != 0) {
        int16_t head[PLC_HISTORY_LEN];
        int k = p->s.buf_ptr;
        memcpy(head, p->s.history, sizeof(int16_t) * (size_t)k);
        memmove(p->s.history, p->s.history + k, sizeof(int16_t) * (size_t)(PLC_HISTORY_LEN - k));
        memcpy(p->s.history + PLC_HISTORY_LEN - k, head, sizeof(int16_t) * (size_t)k);
        p->s.buf_ptr = 0;
    }
    plc_fillin(&p->s, frame, len);
    return 0;
}

int md_plc_pending(const md_plc_t *p)
{
    return p != NULL && p->s.missing_samples != 0;
}

int md_plc_set_history(md_plc_t *p, const int16_t *older, int n_older, const int16_t *last,
                       int n_last)
{
    if (p == NULL || last == NULL || n_last <= 0 || n_older < 0)
        return -EINVAL;
    /* Oldest first with buf_ptr 0: the order SpanDSP's concealer reads it in. */
    int16_t *h = p->s.history;
    int keep = n_last < PLC_HISTORY_LEN ? n_last : PLC_HISTORY_LEN;
    int room = PLC_HISTORY_LEN - keep;
    int from_older = older == NULL ? 0 : (n_older < room ? n_older : room);
    memset(h, 0, sizeof(int16_t) * (size_t)(room - from_older));
    if (from_older > 0)
        memcpy(h + room - from_older, older + n_older - from_older, sizeof(int16_t) * (size_t)from_older);
    memcpy(h + room, last + n_last - keep, sizeof(int16_t) * (size_t)keep);
    p->s.buf_ptr = 0;
    return 0;
}
