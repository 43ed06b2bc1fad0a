/* medleyd: the media engine's process. Today it brings up DPDK, one port and one worker
 * (on the main lcore): it answers ARP, neighbour solicitation and ping for its address,
 * terminates RTP on its channel ports and reports digits; the control API that creates
 * channels comes with issue 5.
 *
 *   medleyd [EAL options] -- --ip4 A.B.C.D [--ip6 ADDR] [--channels N] [--port-base P]
 *                            [--learn-channels N] [--run-ms MS]
 *
 * --learn-channels N creates N PCMU channels at start (payload type 0, telephone-events
 * on 101, in-band DTMF detection on) that learn their peer from the first packet: until
 * the control API exists, that is how to send RTP to the engine (to ports P, P+2, ...).
 *
 * Without hugepages on the machine it adds --no-huge itself and says so. SIGTERM or
 * SIGINT stops it cleanly with exit status 0. */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>

#include "engine/worker.h"

static volatile sig_atomic_t stop;

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
                    " [--port-base P] [--run-ms MS]\n");
    return 2;
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

    if (rte_eal_init(eal_argc, eal_argv) < 0) {
        fprintf(stderr, "medleyd: DPDK EAL initialisation failed\n");
        return 1;
    }
    int status = 1;
    md_channel_t *chans = calloc(channels, sizeof(md_channel_t));
    md_media_t *media = calloc(channels, sizeof(md_media_t));
    md_event_ring_t *events = calloc(1, sizeof(md_event_ring_t));
    struct rte_mempool *pool =
        rte_pktmbuf_pool_create("medley_mbufs", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                (int)rte_socket_id());
    if (chans == NULL || media == NULL || events == NULL || pool == NULL) {
        fprintf(stderr, "medleyd: out of memory for %u channels\n", channels);
        goto out;
    }
    if (rte_eth_dev_count_avail() == 0) {
        fprintf(stderr, "medleyd: no DPDK port (give one, e.g. --vdev=net_tap0)\n");
        goto out;
    }
    uint16_t port = 0;
    RTE_ETH_FOREACH_DEV(port)
        break;
    struct rte_eth_conf conf;
    memset(&conf, 0, sizeof(conf));
    if (rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
        rte_eth_rx_queue_setup(port, 0, 1024, rte_eth_dev_socket_id(port), NULL, pool) != 0 ||
        rte_eth_tx_queue_setup(port, 0, 1024, rte_eth_dev_socket_id(port), NULL) != 0 ||
        rte_eth_dev_start(port) != 0) {
        fprintf(stderr, "medleyd: port %u could not be started\n", port);
        goto out;
    }
    struct rte_ether_addr mac;
    rte_eth_macaddr_get(port, &mac);
    memcpy(ifc.mac, mac.addr_bytes, 6);
    md_event_ring_init(events);
    md_worker_t *w = calloc(1, sizeof(md_worker_t));
    if (w == NULL || md_worker_init(w, port, pool, &ifc, chans, media, channels,
                                    (uint16_t)port_base, events) != 0) {
        fprintf(stderr, "medleyd: worker set-up failed\n");
        free(w);
        goto out;
    }
    md_chan_params_t prm = { .codec = MD_CODEC_PCMU, .pt = 0, .event_pt = 101, .jb_depth = 3,
                             .learn = 1 };
    for (unsigned i = 0; i < learn_channels; i++) {
        uint16_t p;
        int idx = md_chan_create(&w->table, &prm, &p);
        if (idx < 0) {
            fprintf(stderr, "medleyd: channel %u could not be created\n", i);
            rte_eth_dev_stop(port);
            rte_eth_dev_close(port);
            free(w);
            goto out;
        }
        md_media_init(&media[idx], 1, 5000);
        printf("medleyd: channel %u on UDP port %u\n", w->table.chans[idx].id, p);
    }
    printf("medleyd: port %u up, %02x:%02x:%02x:%02x:%02x:%02x, %u channels from UDP port %u\n",
           port, mac.addr_bytes[0], mac.addr_bytes[1], mac.addr_bytes[2], mac.addr_bytes[3],
           mac.addr_bytes[4], mac.addr_bytes[5], channels, port_base);
    fflush(stdout);

    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    uint64_t hz = rte_get_timer_hz(), start = rte_get_timer_cycles(), next_tick = start;
    uint64_t tick_cycles = hz / 50;
    while (!stop) {
        md_worker_poll(w);
        uint64_t now = rte_get_timer_cycles();
        if (now >= next_tick) {
            md_worker_tick(w, (now - start) * 1000 / hz);
            next_tick += tick_cycles;
            md_event_t ev;
            while (md_event_pop(events, &ev))
                if (ev.type == MD_EV_DIGIT) {
                    printf("digit %c channel %u source %s start_ms %llu duration_ms %u\n",
                           ev.digit, ev.channel,
                           ev.source == MD_DIGIT_INBAND ? "inband" : "rfc4733",
                           (unsigned long long)ev.start_ms, ev.duration_ms);
                    fflush(stdout);
                } else if (ev.type == MD_EV_NO_MEDIA) {
                    printf("no media on channel %u\n", ev.channel);
                    fflush(stdout);
                }
        }
        if (run_ms >= 0 && (now - start) * 1000 / hz >= (uint64_t)run_ms)
            break;
    }
    printf("medleyd: stopping; rx %llu, replies %llu, dropped %llu\n",
           (unsigned long long)w->dp.st.rx, (unsigned long long)w->dp.st.replies,
           (unsigned long long)(w->dp.st.rx - w->dp.st.verdict[MD_PKT_UDP] -
                                w->dp.st.verdict[MD_PKT_ARP] - w->dp.st.verdict[MD_PKT_ICMP] -
                                w->dp.st.verdict[MD_PKT_ICMP6]));
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
    free(w);
    status = 0;
out:
    free(chans);
    free(media);
    free(events);
    rte_eal_cleanup();
    return status;
}
