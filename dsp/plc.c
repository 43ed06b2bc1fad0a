/* A thin wrapper: SpanDSP's concealer is well proven; medley only fixes the memory
 * ownership (the caller's) and the names. */
#include "dsp/plc.h"

void md_plc_init(md_plc_t *p)
{
    plc_init(&p->s);
}

void md_plc_received(md_plc_t *p, int16_t *frame, int len)
{
    plc_rx(&p->s, frame, len);
}

void md_plc_conceal(md_plc_t *p, int16_t *frame, int len)
{
    plc_fillin(&p->s, frame, len);
}
