/* libFuzzer target: the API's request decoding and checking. The first byte picks a
 * unary method of control/api.c, the rest is its request message, as a client would
 * send it; the handlers run against a real (small) engine state executed in this thread:
 * 8 channels, the command path of control/ctl.c and the worker side of engine/cmd.c.
 * Methods that name files on the host (LoadPrompt, LoadFlow, CheckFlow) are left out:
 * what they read is the host's files, not the request. The first byte also picks which of
 * two client connections sent the request (what it ties to itself: ACD agents, calls,
 * dial lists), and from twice the number of methods up it closes that connection after, as
 * md_grpc_poll() would (md_api_conn_closed, the ACD's md_acd_client_gone). New methods
 * in md_api_methods are fuzzed without any change here. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/acd_svc.h"
#include "control/api.h"
#include "control/ctl.h"
#include "control/ivrs.h"
#include "engine/channel.h"
#include "engine/events.h"
#include "dsp/cpu.h"
#include "engine/media.h"

#define CHANNELS 8

static md_chan_table_t table;
static md_channel_t chans[CHANNELS];
static md_media_t media[CHANNELS];
static md_event_ring_t events;
static md_worker_media_t wm;
static md_ctl_t ctl;
static md_ivrs_t ivrs;
static md_api_t api;
static md_acd_svc_t acd;

static void setup(void)
{
    md_chan_table_init(&table, chans, CHANNELS, 20000);
    md_event_ring_init(&events);
    wm.table = &table;
    wm.media = media;
    wm.events = &events;
    wm.isa = md_cpu_default_isa();
    md_ctl_worker_t w = { .wm = &wm, .ring = NULL, .events = &events, .max = CHANNELS };
    md_ctl_init(&ctl, &w, 1, 16);
    md_ivrs_init(&ivrs, &ctl);
    md_api_init(&api, &ctl);
    api.ivrs = &ivrs;
    if (md_acd_svc_init(&acd, &ctl, 0) == 0)
        api.acd = &acd;   /* the ACD's methods too */
    strcpy(api.local_ip4, "10.0.0.2");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        setup();
        ready = 1;
    }
    if (size < 1)
        return 0;
    const md_grpc_method_t *m = &md_api_methods[data[0] % md_api_n_methods];
    if (m->unary == NULL || strstr(m->path, "LoadPrompt") || strstr(m->path, "Flow"))
        return 0;
    unsigned hi = data[0] / md_api_n_methods;
    md_grpc_reply_t r;
    memset(&r, 0, sizeof(r));
    r.conn = 1 + (hi & 1);
    m->unary(&api, data + 1, size - 1, &r);
    free(r.buf);
    if (hi >= 2)
        md_api_conn_closed(&api, r.conn);
    /* Events the commands caused, as the control loop would take them. */
    md_api_pump_events(&api);
    return 0;
}
