/* libFuzzer target: the IVR flow parser (control/flow.c over libyaml) on arbitrary text.
 * A flow file is edited by hand and loaded through the API: whatever it holds, parsing
 * returns an error or a flow, never crashes, leaks or reads out of bounds. */
#include <stddef.h>
#include <stdint.h>

#include "control/flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256], warn[512];
    md_flow_t *f = NULL;
    if (md_flow_parse("fuzz.yaml", (const char *)data, size, &f, err, sizeof(err), warn,
                      sizeof(warn)) == 0) {
        /* Exercise what sessions use on a flow that parsed. */
        md_flow_match_class(f, "13912345678");
        for (unsigned i = 0; i < f->n_steps; i++)
            md_flow_find_step(f, f->steps[i].name);
        md_flow_free(f);
    }
    return 0;
}
