/* medleyd: the media engine's process. It brings up DPDK and one port, runs one worker
 * (on the next lcore when the EAL gives more than one, else interleaved on the main
 * lcore), and serves the gRPC API (control/api/medley.proto) from the main lcore: the
 * control thread. The workers answer ARP, neighbour solicitation and ping for the
 * engine's addresses and terminate RTP on the channels the API creates.
 *
 *   medleyd [EAL options] -- --ip4 A.B.C.D [--ip6 ADDR] [--channels N] [--port-base P]
 *           [--api-unix PATH] [--api-tcp HOST:PORT] [--api-token-file FILE]
 *           [--flow FILE]... [--record-dir DIR] [--opus-channels N] [--learn-channels N]
 *           [--run-ms MS]
 *
 * --metrics HOST:PORT: Prometheus metrics on http://HOST:PORT/metrics (docs/kpi.md).
 * --kpi-db FILE: the ACD's half-hour KPIs in SQLite (WAL), kept across restarts.
 * --internal-offer-ms MS: how long a direct agent-to-agent call (AgentCall), or a consult
 * about a call with no queue, rings before it counts as not answered (default 15000).
 * --api-event-queue BYTES: what an event subscriber may have queued and unread before
 * its events are dropped and counted (default 256 KiB).
 * --opus-channels N: Opus codec states preallocated per worker (default 32; ~50 KB
 * each), the most Opus channels a worker carries at once.
 *
 * --record-dir turns recording on: StartRecording paths are beneath it, written by an
 * io_uring I/O thread (engine/recorder.h); on SIGTERM every file is flushed and closed.
 *
 * --flow loads an IVR flow file (control/flow.h, docs/ivr.md) and its prompts at start;
 * more can be loaded or reloaded through the API.
 *
 * The API listens on a Unix socket (file permissions are its access control) and/or on
 * TCP, where a bearer token is required: from --api-token-file or the environment
 * variable MEDLEY_API_TOKEN. --learn-channels N creates N PCMU channels at start (payload
 * type 0, telephone-events on 101, in-band DTMF on) that learn their peer from the first
 * packet, for tests without an API client. Digits are printed on stdout as they come.
 *
 * Without hugepages on the machine it adds --no-huge itself and says so. SIGTERM or
 * SIGINT stops it cleanly with exit status 0. With one lcore, the worker and the control
 * loop share it (fine for tests; a production worker has an lcore of its own, where
 * nothing blocks). */
#include <arpa/inet.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include "control/api.h"
#include "control/ctl.h"
#include "control/grpc.h"
#include "control/kpi_store.h"
#include "control/metrics.h"
#include "engine/cmd.h"
#include "engine/conf.h"
#include "engine/mem.h"
#include "engine/steer.h"
#include "engine/worker.h"

static volatile sig_atomic_t stop;

/* One worker: its channels, rings and clock. */
typedef struct {
    md_worker_t w;
    md_channel_t *chans;
    md_media_t *media;
    md_conf_set_t *confset;      /* conferences of this worker */
    md_conf_t *confs;
    md_conf_member_t *members;
    md_event_ring_t events;
    md_cmd_ring_t ring;          /* commands, when the worker has its own lcore */
    struct rte_ring *inbox;      /* datagrams other workers received for this one */
    unsigned lcore;
    int own_lcore;
    uint64_t hz, start, next_tick, tick_cycles;
    unsigned slot;               /* the next 1 ms slot of the 20 ms tick */
    volatile int running;
} worker_ctx_t;

/* The data plane as medleyd runs it. */
typedef struct {
    worker_ctx_t *wk;
    md_worker_t **peers;
    unsigned n;
    uint16_t port;
    int port_started;
    struct rte_mempool *pool;
    uint8_t tx_hw_csum;          /* checksums the port computes (MD_TX_HW_*) */
} engine_t;

/* One pass of the worker's loop: receive, commands, and the next 1 ms slot of the 20 ms
 * tick when due (a twentieth of the channels each millisecond: engine/media.h). */
static void worker_step(worker_ctx_t *x)
{
    uint64_t now = rte_get_timer_cycles();
    md_worker_poll_paced(&x->w, now);
    if (x->own_lcore)
        md_cmd_serve(&x->ring, &x->w.wm);
    if (now >= x->next_tick) {
        md_worker_tick_slot(&x->w, (now - x->start) * 1000 / x->hz, x->slot);
        x->slot = (x->slot + 1) % MD_TICK_SLOTS;
        x->next_tick += x->tick_cycles;
        /* Slots that fell behind run back to back (each is small); after a stall of more
         * than a whole tick, catch up on the clock instead of bursting. */
        if (now > x->next_tick + MD_TICK_SLOTS * x->tick_cycles)
            x->next_tick = now + x->tick_cycles;
    }
}

static int worker_lcore_main(void *arg)
{
    worker_ctx_t *x = arg;
    while (x->running)
        worker_step(x);
    return 0;
}

/* Configures the port for n workers: a transmit queue each, and a receive queue each
 * when the device has them (else one, and worker 0 dispatches in software). */
static int engine_port(engine_t *e, unsigned *rx_queues)
{
    struct rte_eth_dev_info info;
    if (rte_eth_dev_info_get(e->port, &info) != 0)
        return -1;
    if (info.max_tx_queues < e->n) {
        fprintf(stderr, "medleyd: port %u has %u transmit queues; %u workers need one each\n",
                e->port, info.max_tx_queues, e->n);
        return -1;
    }
    unsigned rxq = info.max_rx_queues >= e->n ? e->n : 1;
    struct rte_eth_conf conf;
    memset(&conf, 0, sizeof(conf));
    /* Receive checksums verified by the NIC where it can (the workers then skip theirs). */
    conf.rxmode.offloads = info.rx_offload_capa &
                           (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM);
    /* And sent ones computed by it (the workers leave them: md_tx_template_t hw_csum). */
    conf.txmode.offloads = info.tx_offload_capa &
                           (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM);
    e->tx_hw_csum = (conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM ? MD_TX_HW_IP_CKSUM : 0) |
                    (conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_UDP_CKSUM ? MD_TX_HW_UDP_CKSUM : 0);
    printf("medleyd: UDP checksums: received ones %s, sent ones %s\n",
           conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_UDP_CKSUM ? "verified by the NIC" : "in software",
           e->tx_hw_csum & MD_TX_HW_UDP_CKSUM ? "by the NIC" : "in software");
    if (rte_eth_dev_configure(e->port, (uint16_t)rxq, (uint16_t)e->n, &conf) != 0)
        return -1;
    for (unsigned q = 0; q < rxq; q++)
        if (rte_eth_rx_queue_setup(e->port, (uint16_t)q, 1024, rte_eth_dev_socket_id(e->port), NULL,
                                   e->pool) != 0)
            return -1;
    for (unsigned q = 0; q < e->n; q++)
        if (rte_eth_tx_queue_setup(e->port, (uint16_t)q, 1024, rte_eth_dev_socket_id(e->port),
                                   NULL) != 0)
            return -1;
    if (rte_eth_dev_start(e->port) != 0)
        return -1;
    e->port_started = 1;
    *rx_queues = rxq;
    return 0;
}

static void engine_free(engine_t *e)
{
    if (e->port_started) {
        rte_eth_dev_stop(e->port);
        rte_eth_dev_close(e->port);
    }
    for (unsigned i = 0; e->wk != NULL && i < e->n; i++) {
        md_media_opus_pool_free(&e->wk[i].w.wm);
        free(e->wk[i].confset);
        free(e->wk[i].confs);
        free(e->wk[i].members);
        free(e->wk[i].chans);
        free(e->wk[i].media);
        rte_ring_free(e->wk[i].inbox);
    }
    free(e->wk);
    free(e->peers);
    memset(e, 0, sizeof(*e));
}

static uint64_t digits_inband, digits_rfc4733;

static void print_event(void *arg, uint32_t channel, const md_event_t *ev)
{
    (void)arg;
    if (ev->type == MD_EV_DIGIT) {
        if (ev->source == MD_DIGIT_INBAND)
            digits_inband++;
        else
            digits_rfc4733++;
    }
    if (ev->type == MD_EV_DIGIT)
        printf("digit %c channel %u source %s start_ms %llu duration_ms %u\n", ev->digit,
               channel, ev->source == MD_DIGIT_INBAND ? "inband" : "rfc4733",
               (unsigned long long)ev->start_ms, ev->duration_ms);
    else if (ev->type == MD_EV_NO_MEDIA)
        printf("no media on channel %u\n", channel);
    else if (ev->type == MD_EV_PROMPT_DONE)
        printf("prompt done on channel %u\n", channel);
    fflush(stdout);
}

/* Packet counters summed over the workers (read while they run: approximate). */
static void engine_counts(void *arg, md_api_engine_counts_t *out)
{
    const engine_t *e = arg;
    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < e->n; i++) {
        const md_worker_t *w = &e->wk[i].w;
        out->rx_packets += w->dp.st.rx;
        out->tx_packets += w->dp.st.tx;
        /* Received and not ours: not UDP for a channel, nor ARP/ND/ping. A datagram a
         * worker dispatched to another counts where it was received. */
        out->dropped_packets += w->dp.st.rx - w->dp.st.verdict[MD_PKT_ARP] -
                                w->dp.st.verdict[MD_PKT_ICMP] - w->dp.st.verdict[MD_PKT_ICMP6] -
                                w->dp.st.verdict[MD_PKT_UDP] + w->udp_no_channel +
                                w->dispatch_dropped;
    }
}

/* The API token: from a file (first line) or the environment. */
static int read_token(const char *file, char *tok, size_t len)
{
    tok[0] = '\0';
    if (file != NULL) {
        FILE *f = fopen(file, "r");
        if (f == NULL || fgets(tok, (int)len, f) == NULL) {
            fprintf(stderr, "medleyd: cannot read the API token from %s\n", file);
            if (f != NULL)
                fclose(f);
            return -1;
        }
        fclose(f);
        tok[strcspn(tok, "\r\n")] = '\0';
    } else if (getenv("MEDLEY_API_TOKEN") != NULL) {
        snprintf(tok, len, "%s", getenv("MEDLEY_API_TOKEN"));
    }
    return 0;
}

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* Hugepages are usable if some are reserved and hugetlbfs is mounted. */
static int have_hugepages(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    long total = 0;
    char line[128];
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "HugePages_Total: %ld", &total) == 1)
            break;
    fclose(f);
    if (total <= 0)
        return 0;
    f = fopen("/proc/mounts", "r");
    int mounted = 0;
    while (f != NULL && fgets(line, sizeof(line), f))
        if (strstr(line, " hugetlbfs ") != NULL)
            mounted = 1;
    if (f != NULL)
        fclose(f);
    return mounted;
}

static int usage(void)
{
    fprintf(stderr, "usage: medleyd [EAL options] -- --ip4 A.B.C.D [--ip6 ADDR] [--channels N]"
                    " [--port-base P] [--api-unix PATH] [--api-tcp HOST:PORT]"
                    " [--api-token-file FILE] [--flow FILE]... [--record-dir DIR] [--opus-channels N]"
                    " [--metrics HOST:PORT] [--kpi-db FILE] [--internal-offer-ms MS]"
                    " [--learn-channels N]"
                    " [--run-ms MS]\n");
    return 2;
}

/* What /metrics shows (docs/kpi.md): the engine's counters, the ACD's live view. */
typedef struct {
    engine_t *e;
    md_ctl_t *ctl;
    md_api_t *api;
    md_acd_svc_t *acd;
} metrics_ctx_t;

static void fill_metrics(void *arg, md_metrics_reg_t *r)
{
    metrics_ctx_t *x = arg;
    md_api_engine_counts_t c;
    engine_counts(x->e, &c);
    md_metrics_family(r, "medley_channels", MD_METRIC_GAUGE, "Channels in use");
    md_metrics_value(r, x->ctl->used, NULL);
    md_metrics_family(r, "medley_channels_max", MD_METRIC_GAUGE, "Channel limit (admission control)");
    md_metrics_value(r, x->ctl->max_total, NULL);
    md_metrics_family(r, "medley_packets_total", MD_METRIC_COUNTER, "Packets by direction");
    md_metrics_value(r, (double)c.rx_packets, "direction", "rx", NULL);
    md_metrics_value(r, (double)c.tx_packets, "direction", "tx", NULL);
    md_metrics_family(r, "medley_packets_dropped_total", MD_METRIC_COUNTER,
                      "Received packets that were not ours, malformed, or for no channel");
    md_metrics_value(r, (double)c.dropped_packets, NULL);
    uint64_t lost = 0, lost_events = 0;
    for (unsigned i = 0; i < x->e->n; i++) {
        const worker_ctx_t *w = &x->e->wk[i];
        for (uint32_t k = 0; k < w->w.table.max; k++)
            if (w->chans[k].in_use)
                lost += w->chans[k].jb.st.lost;
        lost_events += w->events.lost;
    }
    md_metrics_family(r, "medley_packet_loss", MD_METRIC_GAUGE,
                      "Frames lost (concealed) on the channels in use now");
    md_metrics_value(r, (double)lost, NULL);
    md_metrics_family(r, "medley_events_lost_total", MD_METRIC_COUNTER, "Worker events dropped");
    md_metrics_value(r, (double)lost_events, NULL);
    md_metrics_family(r, "medley_digits_total", MD_METRIC_COUNTER, "DTMF digits detected");
    md_metrics_value(r, (double)digits_inband, "source", "inband", NULL);
    md_metrics_value(r, (double)digits_rfc4733, "source", "rfc4733", NULL);
    md_metrics_family(r, "medley_api_subscribers", MD_METRIC_GAUGE, "StreamEvents subscribers");
    md_metrics_value(r, x->api->n_subs, NULL);
    if (x->acd == NULL)
        return;
    md_acd_queue_snap_t qs[64];
    md_acd_snapshot_t snap;
    memset(&snap, 0, sizeof(snap));
    snap.queues = qs;
    snap.max_queues = 64;
    md_acd_snapshot(x->acd->acd, x->acd->now_ms, &snap);
    md_metrics_family(r, "medley_agents", MD_METRIC_GAUGE, "Agents by state");
    for (int st = 0; st < MD_ACD_AGENT_STATES; st++)
        md_metrics_value(r, snap.agents[st], "state", md_acd_agent_state_name((md_acd_agent_state_t)st),
                         NULL);
    md_metrics_family(r, "medley_queue_calls_waiting", MD_METRIC_GAUGE, "Callers waiting per queue");
    for (unsigned q = 0; q < snap.n_queues; q++)
        md_metrics_value(r, qs[q].waiting, "queue", qs[q].name, NULL);
    md_metrics_family(r, "medley_queue_longest_wait_seconds", MD_METRIC_GAUGE,
                      "The longest wait of those waiting now");
    for (unsigned q = 0; q < snap.n_queues; q++)
        md_metrics_value(r, qs[q].longest_wait_ms / 1000.0, "queue", qs[q].name, NULL);
    md_metrics_family(r, "medley_service_level", MD_METRIC_GAUGE,
                      "Share answered within the threshold this half hour (NaN: no calls yet)");
    for (unsigned q = 0; q < snap.n_queues; q++)
        md_metrics_value(r, qs[q].service_level < 0 ? __builtin_nan("") : qs[q].service_level,
                         "queue", qs[q].name, NULL);
    md_metrics_family(r, "medley_queue_offered", MD_METRIC_GAUGE, "Calls offered this half hour");
    for (unsigned q = 0; q < snap.n_queues; q++)
        md_metrics_value(r, qs[q].offered, "queue", qs[q].name, NULL);
    md_metrics_family(r, "medley_queue_answered", MD_METRIC_GAUGE, "Calls answered this half hour");
    for (unsigned q = 0; q < snap.n_queues; q++)
        md_metrics_value(r, qs[q].answered, "queue", qs[q].name, NULL);
    md_metrics_family(r, "medley_queue_abandoned", MD_METRIC_GAUGE, "Calls abandoned this half hour");
    for (unsigned q = 0; q < snap.n_queues; q++)
        md_metrics_value(r, qs[q].abandoned, "queue", qs[q].name, NULL);
    if (x->acd->kpi != NULL) {
        md_metrics_family(r, "medley_kpi_store_pending", MD_METRIC_GAUGE,
                          "Half-hour records waiting to be written");
        md_metrics_value(r, md_kpi_store_pending(x->acd->kpi), NULL);
    }
}

int main(int argc, char **argv)
{
    /* EAL arguments: ours plus --no-huge when the machine has no hugepages. */
    char *eal_argv[64];
    int eal_argc = 0, app = argc, user_no_huge = 0;
    for (int i = 0; i < argc && eal_argc < 60; i++) {
        if (strcmp(argv[i], "--") == 0) {
            app = i + 1;
            break;
        }
        if (strcmp(argv[i], "--no-huge") == 0)
            user_no_huge = 1;
        eal_argv[eal_argc++] = argv[i];
    }
    int huge = !user_no_huge && have_hugepages();
    if (!huge && !user_no_huge) {
        eal_argv[eal_argc++] = "--no-huge";
        eal_argv[eal_argc++] = "--no-shconf";
    }
    eal_argv[eal_argc] = NULL;
    printf("medleyd: %s\n", huge ? "using hugepages"
                                 : "no hugepages: running with --no-huge (fine for tests, "
                                   "slower for production)");

    md_iface_t ifc;
    memset(&ifc, 0, sizeof(ifc));
    unsigned channels = 1024, port_base = 20000, learn_channels = 0;
    long run_ms = -1;
    const char *api_unix = NULL, *api_tcp = NULL, *token_file = NULL;
    const char *record_dir = NULL;
    unsigned opus_channels = 32;
    long internal_offer_ms = 0;   /* 0: the ACD's default */
    unsigned event_queue = 256 * 1024;
    const char *metrics_addr = NULL, *kpi_db = NULL;
    const char *flows[16];
    unsigned n_flows = 0;
    for (int i = app; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            return usage();
        if (strcmp(argv[i], "--ip4") == 0 && inet_pton(AF_INET, v, ifc.ip4) == 1)
            ifc.has_ip4 = 1;
        else if (strcmp(argv[i], "--ip6") == 0 && inet_pton(AF_INET6, v, ifc.ip6) == 1)
            ifc.has_ip6 = 1;
        else if (strcmp(argv[i], "--channels") == 0 && atoi(v) > 0 && atoi(v) <= 32768)
            channels = (unsigned)atoi(v);
        else if (strcmp(argv[i], "--port-base") == 0 && atoi(v) >= 1024 && atoi(v) % 2 == 0)
            port_base = (unsigned)atoi(v);
        else if (strcmp(argv[i], "--learn-channels") == 0 && atoi(v) >= 0)
            learn_channels = (unsigned)atoi(v);
        else if (strcmp(argv[i], "--run-ms") == 0 && atol(v) >= 0)
            run_ms = atol(v);
        else if (strcmp(argv[i], "--api-unix") == 0)
            api_unix = v;
        else if (strcmp(argv[i], "--api-tcp") == 0 && strrchr(v, ':') != NULL)
            api_tcp = v;
        else if (strcmp(argv[i], "--api-token-file") == 0)
            token_file = v;
        else if (strcmp(argv[i], "--flow") == 0 && n_flows < 16)
            flows[n_flows++] = v;
        else if (strcmp(argv[i], "--record-dir") == 0)
            record_dir = v;
        else if (strcmp(argv[i], "--opus-channels") == 0 && atoi(v) >= 0 && atoi(v) <= 4096)
            opus_channels = (unsigned)atoi(v);
        else if (strcmp(argv[i], "--api-event-queue") == 0 && atoi(v) >= 256)
            event_queue = (unsigned)atoi(v);
        else if (strcmp(argv[i], "--metrics") == 0 && strrchr(v, ':') != NULL)
            metrics_addr = v;
        else if (strcmp(argv[i], "--kpi-db") == 0)
            kpi_db = v;
        else if (strcmp(argv[i], "--internal-offer-ms") == 0 && atol(v) >= 1000 && atol(v) <= 600000)
            internal_offer_ms = atol(v);
        else
            return usage();
        i++;
    }
    if (!ifc.has_ip4 && !ifc.has_ip6)
        return usage();
    if (learn_channels > channels) {
        fprintf(stderr, "medleyd: --learn-channels %u is more than --channels %u\n",
                learn_channels, channels);
        return 2;
    }
    if (port_base + 2 * channels > 65536) {
        fprintf(stderr, "medleyd: %u channels from port %u do not fit below 65536\n", channels,
                port_base);
        return 2;
    }
    char token[256], tcp_host[128];
    unsigned tcp_port = 0;
    if (read_token(token_file, token, sizeof(token)) != 0)
        return 2;
    if (api_tcp != NULL) {
        const char *colon = strrchr(api_tcp, ':');
        tcp_port = (unsigned)atoi(colon + 1);
        size_t hl = (size_t)(colon - api_tcp);
        if (hl >= sizeof(tcp_host) || tcp_port > 65535)
            return usage();
        memcpy(tcp_host, api_tcp, hl);
        tcp_host[hl] = '\0';
        /* [::1]:50051 */
        if (hl >= 2 && tcp_host[0] == '[' && tcp_host[hl - 1] == ']') {
            memmove(tcp_host, tcp_host + 1, hl - 2);
            tcp_host[hl - 2] = '\0';
        }
        if (token[0] == '\0') {
            fprintf(stderr, "medleyd: --api-tcp needs a bearer token: --api-token-file FILE or "
                            "MEDLEY_API_TOKEN\n");
            return 2;
        }
    }

    if (rte_eal_init(eal_argc, eal_argv) < 0) {
        fprintf(stderr, "medleyd: DPDK EAL initialisation failed\n");
        return 1;
    }
    int status = 1;
    engine_t e;
    memset(&e, 0, sizeof(e));
    md_ctl_t ctl;
    md_api_t api;
    md_ivrs_t ivrs;
    md_grpc_server_t *srv = NULL;
    md_recorder_t *recorder = NULL;
    int ctl_ok = 0, ivrs_ok = 0, acd_ok = 0;
    md_acd_svc_t acd;
    md_metrics_t *metrics = NULL;
    md_kpi_store_t *kpi = NULL;
    metrics_ctx_t mctx;
    /* Workers: one per lcore after the main one; with a single lcore, one worker that
     * shares the main lcore with the control loop. */
    unsigned extra = rte_lcore_count() - 1;
    e.n = extra > 0 ? extra : 1;
    if (channels < e.n) {
        fprintf(stderr, "medleyd: %u channels cannot be shared by %u workers\n", channels, e.n);
        status = 2;
        goto out;
    }
    unsigned per = channels / e.n;
    e.wk = calloc(e.n, sizeof(worker_ctx_t));
    e.peers = calloc(e.n, sizeof(md_worker_t *));
    /* Mbufs: every receive, transmit and inbox ring full at once, and some spare. */
    e.pool = rte_pktmbuf_pool_create("medley_mbufs", 8191 + e.n * 3072, 256, 0,
                                     RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
    if (e.wk == NULL || e.peers == NULL || e.pool == NULL) {
        fprintf(stderr, "medleyd: out of memory for %u workers\n", e.n);
        goto out;
    }
    if (rte_eth_dev_count_avail() == 0) {
        fprintf(stderr, "medleyd: no DPDK port (give one, e.g. --vdev=net_tap0)\n");
        goto out;
    }
    RTE_ETH_FOREACH_DEV(e.port)
        break;
    unsigned rx_queues = 1;
    if (engine_port(&e, &rx_queues) != 0) {
        fprintf(stderr, "medleyd: port %u could not be started\n", e.port);
        goto out;
    }
    struct rte_ether_addr mac;
    rte_eth_macaddr_get(e.port, &mac);
    memcpy(ifc.mac, mac.addr_bytes, 6);
    unsigned lcore = rte_get_main_lcore();
    for (unsigned i = 0; i < e.n; i++) {
        worker_ctx_t *x = &e.wk[i];
        char name[32];
        x->chans = md_zalloc_lines(per, sizeof(md_channel_t));
        x->media = md_zalloc_lines(per, sizeof(md_media_t));
        snprintf(name, sizeof(name), "medley_inbox%u", i);
        x->inbox = e.n > 1 ? rte_ring_create(name, 1024, (int)rte_socket_id(), RING_F_SC_DEQ) : NULL;
        md_event_ring_init(&x->events);
        md_cmd_ring_init(&x->ring);
        if (x->chans == NULL || x->media == NULL || (e.n > 1 && x->inbox == NULL) ||
            md_worker_init(&x->w, e.port, e.pool, &ifc, x->chans, x->media, per,
                           (uint16_t)(port_base + 2 * per * i), &x->events) != 0) {
            fprintf(stderr, "medleyd: worker %u set-up failed\n", i);
            goto out;
        }
        x->w.tx_hw_csum = e.tx_hw_csum;
        /* Conferences: up to a third of the channels' count (three members each). */
        x->confset = calloc(1, sizeof(md_conf_set_t));
        x->confs = calloc(per / 3 + 1, sizeof(md_conf_t));
        x->members = calloc(per, sizeof(md_conf_member_t));
        if (x->confset == NULL || x->confs == NULL || x->members == NULL) {
            fprintf(stderr, "medleyd: out of memory for conferences\n");
            goto out;
        }
        md_conf_set_init(x->confset, x->confs, per / 3 + 1, x->members, per);
        x->w.wm.conf = x->confset;
        if (md_media_opus_pool(&x->w.wm, opus_channels) != 0) {
            fprintf(stderr, "medleyd: out of memory for %u Opus codec states\n", opus_channels);
            goto out;
        }
        e.peers[i] = &x->w;
        x->own_lcore = extra > 0;
        if (x->own_lcore)
            x->lcore = lcore = rte_get_next_lcore(lcore, 1, 0);
        x->hz = rte_get_timer_hz();
        x->tick_cycles = x->hz / 1000;   /* a slot: 1 ms */
        x->running = 1;
    }
    for (unsigned i = 0; i < e.n; i++)
        md_worker_share(&e.wk[i].w, e.peers, e.n, e.wk[i].inbox, i, rx_queues);
    /* A queue per worker: ask the NIC to steer each worker's port range to its queue. */
    if (rx_queues > 1) {
        char err[256] = "";
        int ok = 1;
        for (unsigned i = 0; ok && i < e.n; i++)
            ok = md_steer_range(e.port, port_base + 2 * per * i, 2 * per, (uint16_t)i, err,
                                sizeof(err)) > 0;
        if (ok)
            printf("medleyd: rte_flow steers each worker's UDP ports to its queue\n");
        else
            printf("medleyd: no rte_flow steering (%s): workers hand datagrams over in software\n",
                   err);
    }
    /* The control plane's view of the workers. Commands go through the rings once the
     * workers run on their own lcores; until then (and always with one lcore) they run
     * directly. */
    md_ctl_worker_t cws[RTE_MAX_LCORE];
    for (unsigned i = 0; i < e.n; i++)
        cws[i] = (md_ctl_worker_t){ .wm = &e.wk[i].w.wm, .ring = NULL,
                                    .events = &e.wk[i].events, .max = per };
    if (md_ctl_init(&ctl, cws, e.n, 1024) != 0 || md_ctl_conf_init(&ctl, per / 3 + 1) != 0) {
        fprintf(stderr, "medleyd: control set-up failed\n");
        goto out;
    }
    ctl_ok = 1;
    md_api_init(&api, &ctl);
    if (record_dir != NULL) {
        char err[256];
        md_recorder_config_t rc = { .dir = record_dir, .max_recordings = channels,
                                    .n_producers = e.n };
        if (md_recorder_create(&recorder, &rc, err, sizeof(err)) != 0) {
            fprintf(stderr, "medleyd: recordings: %s\n", err);
            status = 2;
            goto out;
        }
        /* Before the workers start: they read these without a lock. */
        ctl.rec = recorder;
        for (unsigned i = 0; i < e.n; i++) {
            e.wk[i].w.wm.rec = recorder;
            e.wk[i].w.wm.rec_producer = i;
        }
        printf("medleyd: recordings in %s\n", record_dir);
    }
    if (ifc.has_ip4)
        inet_ntop(AF_INET, ifc.ip4, api.local_ip4, sizeof(api.local_ip4));
    if (ifc.has_ip6)
        inet_ntop(AF_INET6, ifc.ip6, api.local_ip6, sizeof(api.local_ip6));
    api.counts = engine_counts;
    api.counts_arg = &e;
    api.on_event = print_event;
    if (md_ivrs_init(&ivrs, &ctl) != 0) {
        fprintf(stderr, "medleyd: out of memory for the IVR\n");
        goto out;
    }
    ivrs_ok = 1;
    /* The ACD keeps Unix time (the control loop's monotonic clock plus the wall clock
     * at start): its half-hour KPI records are real half hours, and after a restart the
     * unfinished one is added to the same rows. */
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    uint64_t acd_epoch = (uint64_t)wall.tv_sec * 1000 + (uint64_t)wall.tv_nsec / 1000000;
    api.acd_epoch_ms = acd_epoch;
    acd_ok = md_acd_svc_init(&acd, &ctl, acd_epoch) == 0;
    if (acd_ok) {
        acd.publish = md_api_publish_acd;
        acd.publish_arg = &api;
        api.acd = &acd;
        if (internal_offer_ms > 0)
            md_acd_set_internal_offer_ms(acd.acd, (uint32_t)internal_offer_ms);
        printf("medleyd: ACD: direct agent calls ring %u ms\n", md_acd_internal_offer_ms(acd.acd));
    }
    if (acd_ok && kpi_db != NULL) {
        char err[256];
        if (md_kpi_store_open(&kpi, kpi_db, NULL, err, sizeof(err)) != 0) {
            fprintf(stderr, "medleyd: KPI history: %s\n", err);
            status = 2;
            goto out;
        }
        acd.kpi = kpi;
        printf("medleyd: KPI history in %s\n", kpi_db);
    }
    if (metrics_addr != NULL) {
        char host[128], err[256];
        const char *colon = strrchr(metrics_addr, ':');
        size_t hl = (size_t)(colon - metrics_addr);
        snprintf(host, sizeof(host), "%.*s", (int)(hl < sizeof(host) ? hl : sizeof(host) - 1),
                 metrics_addr);
        mctx = (metrics_ctx_t){ .e = &e, .ctl = &ctl, .api = &api, .acd = acd_ok ? &acd : NULL };
        md_metrics_config_t mc = { .host = host[0] ? host : NULL, .port = (uint16_t)atoi(colon + 1),
                                   .fill = fill_metrics, .arg = &mctx };
        if (md_metrics_start(&metrics, &mc, err, sizeof(err)) != 0) {
            fprintf(stderr, "medleyd: metrics: %s\n", err);
            metrics = NULL;
            status = 2;
            goto out;
        }
        printf("medleyd: metrics on http://%s:%u/metrics\n", host[0] ? host : "127.0.0.1",
               md_metrics_port(metrics));
    }
    ivrs.publish = md_api_publish_ivr;
    ivrs.publish_arg = &api;
    api.ivrs = &ivrs;
    for (unsigned i = 0; i < n_flows; i++) {
        char err[512];
        md_ivrs_flow_t *fv;
        /* The worker is not running yet: prompts load directly. */
        if (md_ivrs_load_flow(&ivrs, flows[i], 0, &fv, NULL, err, sizeof(err)) != 0) {
            fprintf(stderr, "medleyd: %s\n", err);
            status = 2;
            goto out;
        }
        printf("medleyd: flow %s from %s: %u steps, %u prompts\n", fv->flow->name, flows[i],
               fv->flow->n_steps, fv->prompts);
        if (fv->warnings[0] != '\0')
            printf("%s", fv->warnings);
    }

    if (api_unix != NULL || api_tcp != NULL) {
        md_grpc_config_t gc = {
            .tcp_host = api_tcp != NULL ? tcp_host : NULL, .tcp_port = (uint16_t)tcp_port,
            .unix_path = api_unix, .unix_mode = 0660, .token = token[0] ? token : NULL,
            .max_message = 1 << 20, .max_streams = 32, .max_connections = 64,
            .stream_queue = event_queue, .methods = md_api_methods,
            .n_methods = md_api_n_methods, .app = &api, .gone = md_api_gone,
            .closed = md_api_conn_closed,
        };
        char err[256];
        if (md_grpc_start(&srv, &gc, err, sizeof(err)) != 0) {
            fprintf(stderr, "medleyd: %s\n", err);
            srv = NULL;
            status = 2;
            goto out;
        }
        if (api_unix != NULL)
            printf("medleyd: API on unix:%s\n", api_unix);
        if (api_tcp != NULL)
            printf("medleyd: API on tcp %s port %u (bearer token required)\n", tcp_host,
                   md_grpc_tcp_port(srv));
    } else {
        printf("medleyd: no API (give --api-unix PATH and/or --api-tcp HOST:PORT)\n");
    }

    for (unsigned i = 0; i < learn_channels; i++) {
        md_cmd_t cmd;
        memset(&cmd, 0, sizeof(cmd));
        cmd.prm = (md_chan_params_t){ .codec = MD_CODEC_PCMU, .pt = 0, .event_pt = 101,
                                      .jb_depth = 3, .learn = 1 };
        cmd.inband = 1;
        cmd.no_media_ms = 5000;
        md_ctl_chan_t *rec;
        md_chan_info_t info;
        /* The workers are not running yet: commands run directly. */
        int rc = md_ctl_create(&ctl, &cmd, 0, "learn", &rec, &info);
        if (rc != 0) {
            fprintf(stderr, "medleyd: channel %u could not be created\n", i);
            break;
        }
        printf("medleyd: channel %u on UDP port %u\n", rec->api_id, info.local_port);
    }
    /* Before saying "up": from then on a supervisor's SIGTERM must mean a clean stop. */
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    printf("medleyd: port %u up, %02x:%02x:%02x:%02x:%02x:%02x, %u channels from UDP port %u, "
           "%u worker%s on %s, %u receive queue%s\n",
           e.port, mac.addr_bytes[0], mac.addr_bytes[1], mac.addr_bytes[2], mac.addr_bytes[3],
           mac.addr_bytes[4], mac.addr_bytes[5], per * e.n, port_base, e.n, e.n > 1 ? "s" : "",
           extra > 0 ? "their own lcores" : "the main lcore", rx_queues, rx_queues > 1 ? "s" : "");
    fflush(stdout);
    uint64_t start = rte_get_timer_cycles(), hz = rte_get_timer_hz();
    for (unsigned i = 0; i < e.n; i++) {
        worker_ctx_t *x = &e.wk[i];
        x->start = x->next_tick = start;
        if (!x->own_lcore)
            continue;
        /* From now on commands to this worker go through its ring. */
        ctl.workers[i].ring = &x->ring;
        if (rte_eal_remote_launch(worker_lcore_main, x, x->lcore) != 0) {
            fprintf(stderr, "medleyd: cannot start worker %u on lcore %u\n", i, x->lcore);
            x->own_lcore = 0;
            ctl.workers[i].ring = NULL;
            stop = 1;
        }
    }
    uint64_t next_control = 0, control_cycles = hz / 1000;
    while (!stop) {
        uint64_t now = rte_get_timer_cycles();
        if (extra == 0) {
            /* One lcore: the worker's loop, with the control loop every millisecond. */
            worker_step(&e.wk[0]);
            if (now < next_control)
                continue;
            next_control = now + control_cycles;
            if (srv != NULL)
                md_grpc_poll(srv, 0);
        } else if (srv != NULL) {
            md_grpc_poll(srv, 1);
        } else {
            rte_delay_us_sleep(1000);
        }
        ivrs.now_ms = (now - start) * 1000 / hz;
        api.now_ms = ivrs.now_ms;
        md_api_pump_events(&api);
        md_api_tick(&api);
        md_ivrs_tick(&ivrs);
        if (acd_ok) {
            acd.now_ms = ivrs.now_ms + acd_epoch;
            md_acd_svc_tick(&acd);
        }
        if (metrics != NULL)
            md_metrics_poll(metrics, 0);
        if (kpi != NULL) {
            char kerr[256];
            md_kpi_store_tick(kpi, ivrs.now_ms, kerr, sizeof(kerr));
        }
        if (srv != NULL)
            md_grpc_poll(srv, 0);   /* send what the events queued */
        if (run_ms >= 0 && (now - start) * 1000 / hz >= (uint64_t)run_ms)
            break;
    }
    for (unsigned i = 0; i < e.n; i++)
        if (e.wk[i].own_lcore) {
            e.wk[i].running = 0;
            rte_eal_wait_lcore(e.wk[i].lcore);
            ctl.workers[i].ring = NULL;
        }
    uint64_t rx = 0, replies = 0, dispatched = 0;
    for (unsigned i = 0; i < e.n; i++) {
        rx += e.wk[i].w.dp.st.rx;
        replies += e.wk[i].w.dp.st.replies;
        dispatched += e.wk[i].w.dispatched;
    }
    md_api_engine_counts_t counts;
    engine_counts(&e, &counts);
    printf("medleyd: stopping; rx %llu, replies %llu, dropped %llu, handed between workers %llu\n",
           (unsigned long long)rx, (unsigned long long)replies,
           (unsigned long long)counts.dropped_packets, (unsigned long long)dispatched);
    status = 0;
out:
    /* The workers have stopped writing: every recording is flushed and closed. */
    md_recorder_destroy(recorder);
    if (ctl_ok) {
        ctl.rec = NULL;
        md_api_pump_events(&api);
        md_api_close(&api);
    }
    md_grpc_stop(srv);
    if (ivrs_ok)
        md_ivrs_free(&ivrs);
    md_metrics_stop(metrics);
    if (acd_ok && kpi != NULL) {
        /* The unfinished half hour: a restart adds the rest to the same rows. */
        char kerr[256];
        md_acd_svc_save(&acd);
        int left = md_kpi_store_close(kpi, kerr, sizeof(kerr));
        if (left != 0)
            fprintf(stderr, "medleyd: KPI history: %d records not written: %s\n", left, kerr);
        acd.kpi = NULL;
    }
    if (acd_ok)
        md_acd_svc_free(&acd);
    if (ctl_ok)
        md_ctl_free(&ctl);
    engine_free(&e);
    rte_eal_cleanup();
    return status;
}
