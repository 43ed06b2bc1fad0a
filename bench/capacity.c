/* medley-bench capacity: how many channels one worker core carries with zero loss.
 *
 * One process, two lcores. The worker lcore runs medleyd's worker loop (engine/worker.h:
 * md_worker_poll_paced, md_cmd_serve, and md_worker_tick_slot every 1 ms on the TSC, slot after
 * slot, so that each channel ticks once per 20 ms in its slot; the same catch-up rule) on
 * a net_ring port. --slots 1 ticks the whole table every 20 ms instead (md_worker_tick),
 * for comparison. The main lcore is the traffic generator: N phones, each
 * sending one 20 ms PCMU packet per frame, the N channels' packets spread evenly over the
 * 20 ms (channel c sends at phase c/N of the frame), and it checks every packet the
 * engine sends back: per channel one packet for every tick of the measured window, in
 * order, with the payload it must carry (the prompt's frame for that tick, or the bridged
 * peer's frame, byte for byte). It also drains the worker's event ring as the control
 * thread would, and matches DIGIT events against the digits it keyed.
 *
 * A step runs N channels for warm-up + measured seconds. It passes when, in the measured
 * window: every expected packet came back with the right payload, nothing was dropped
 * (rings, mbufs, events, recorder), no input frame was concealed by the engine, every
 * keyed digit was detected once and nothing else, no tick was skipped, and every tick
 * finished within the deadline after it was due (default 20 ms: a channel's frame leaves
 * before its next one is due). The generator's own lag is measured; a step where the
 * generator fell behind is reported as limited by the generator, not the engine.
 *
 * Profiles: ivr (a prompt and in-band DTMF detection per channel), bridge (pairs, with
 * --record one stereo recording each), conference (three-party conferences; each member
 * must get the exact N-1 mix of the other two members' tagged frames, see CONF_TAG) and
 * transcode (an Opus narrowband phone bridged to a PCMU phone; the PCMU leg must get
 * exactly a fresh decoder's output, the Opus leg decodable Opus carrying the PCMU
 * phone's audio, see check_transcode; libopus alone is timed for comparison).
 *
 * --memif: the same, with the generator in a second process. The process forks before
 * either EAL starts; the parent is the engine (EAL with a net_memif server port, the
 * worker lcore as above, and the main lcore as the control thread: it relays the
 * worker's events, joins conference members, sets up and judges every step), the child
 * the generator (its own EAL and --file-prefix, a net_memif client port, pinned to the
 * generator's CPU). What both need (shared_t: stop, started, the step's parameters and
 * hand-over; the tick log, the phones' gch_t, the latency histograms) is in MAP_SHARED
 * memory mapped before the fork, at the same address in both; the TSC is the same
 * clock in both (the child uses the parent's rate). A step's checks and figures mean
 * what they mean on net_ring; the worker also pays memif's copies (copy mode). A
 * generator process that dies or hangs, or a link that never comes up, ends the run
 * with exit status 3 (waitpid and timeouts, never a hang). Transcode: the generator
 * process makes its own reference decodes (the same libopus on the same CPU decodes the
 * same packets identically) and judges the Opus legs' audio itself. */
#define _GNU_SOURCE
#include "bench/capacity.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dsp/cpu.h"
#include "dsp/g711.h"
#include "dsp/opus_codec.h"
#include "dsp/tone.h"
#include "engine/cmd.h"
#include "engine/conf.h"
#include "engine/mem.h"
#include "engine/recorder.h"
#include "engine/rtp.h"
#include "engine/worker.h"

#define TICK_MS 20
#define FRAME 160
#define ENG_PORT_BASE 1024
#define GEN_PORT_BASE 1024
#define MAX_N 32000               /* ENG_PORT_BASE + 2 N must stay below 65536 */
#define RING_SIZE (1u << 17)      /* each way; more than a whole tick of MAX_N */
#define POOL_SIZE (RING_SIZE + 8191)
#define GEN_BATCH 64
#define RX_BATCH 256
#define TONE_FRAMES 4             /* 80 ms digits */
#define NOISE_FRAMES 64
#define PROMPT_FRAMES 50          /* a 1 s prompt, looped */
#define HIST_US 10                /* latency histogram bin */
#define HIST_BINS 50000           /* up to 500 ms */
#define SENT_SLOTS 16
#define PEND_MAX 4
#define MAX_STEPS 64
#define HDR_LEN 54                /* Ethernet 14 + IPv4 20 + UDP 8 + RTP 12 */
#define VERIFY_EVERY 64           /* fully parse (checksums) one packet in this many */

enum { PROF_IVR, PROF_BRIDGE, PROF_CONF, PROF_TRANS };

/* Transcoding: pairs of an Opus phone (even channel, Opus narrowband, 20 ms, RTP clock
 * 48 kHz) and a PCMU phone (odd channel) bridged in the engine. The Opus phones send
 * OPUS_FRAMES packets encoded at start-up, stream s (pair % TR_STREAMS) starting at packet
 * 17 s; the PCMU phones send the speech-like prompt. */
#define OPUS_PT 111
#define OPUS_TS 960               /* RTP timestamp units per 20 ms (RFC 7587) */
#define OPUS_FRAMES 250           /* 5 s of pre-encoded audio, looped */
#define OPUS_BITRATE 20000        /* the phones' encoder (the engine's sends 24 kbit/s) */
#define TR_STREAMS 16
#define TR_SYNC_SEARCH 64         /* frames searched for the first decoded frame */
#define CORR_FRAMES 25            /* 0.5 s of the Opus leg decoded for the audio check */
#define CORR_MAX_DEC 32           /* Opus legs the generator decodes in full */
#define CORR_MIN 0.80             /* normalised cross-correlation, best lag */

/* Conference payloads: member r (0..2) of a three-party conference tags its frames in
 * bytes [12 r, 12 r + 12) (channel and frame number as 0xE0|nibble codes) and sends
 * µ-law zero (0xFF) in the other members' tag regions; bytes [36, 160) are loud noise
 * (uniform up to +/-24000), so that the mix a member hears really adds two signals and
 * saturates now and then. Each member's mix carries both other members' tags intact (the
 * third member adds 0 there) and zero in its own region. */
#define CONF_TAG 12
#define CONF_BODY (3 * CONF_TAG)
#define CONF_AMP 24000

/* One slot tick (with --slots 1, one whole 20 ms tick): slot tick q of the run serves
 * slot q % C.slots of 20 ms period q / C.slots. */
typedef struct {
    uint64_t due, start, end;
    uint64_t busy_before;         /* worker busy cycles before this tick started */
    uint64_t cpu_busy_before;     /* worker busy thread-CPU ns before this tick started */
    uint64_t cpu_tick;            /* thread-CPU ns of this tick */
    uint64_t runs_before;         /* busy runs of polls before this tick started */
} tick_log_t;

typedef struct {
    md_tx_template_t t;           /* the phone's packets to the engine */
    uint8_t hdr[HDR_LEN];         /* Ethernet/IPv4/UDP/RTP of seq 0, ts 0, zero payload */
    uint32_t hsum;                /* the UDP checksum's folded sum for that packet */
    uint32_t eng_ssrc;
    uint8_t seen;
    int8_t key_digit;             /* index into digits[], -1: not keying */
    uint8_t key_frame;
    uint8_t pend_n, pend_head;
    char pend[PEND_MAX];
    int64_t last_j;               /* last tick index received, -1 */
    int64_t last_f;               /* bridge: last peer frame heard, -1 (conference: of the
                                   * first other member) */
    int64_t last_f2;              /* conference: last frame heard of the second other member */
    int32_t dec;                  /* transcode, Opus leg: the generator's decoder, -1: none */
    uint32_t chan_id;             /* the engine's channel id (commands name it) */
    uint32_t conf_idx, conf_id;   /* conference: the member's conference */
    uint32_t win_rx;              /* packets of the measured window */
    uint32_t bad;                 /* wrong payload, order or header in the window */
    uint32_t next_key;            /* frame at which the next digit starts */
    uint64_t sent[SENT_SLOTS];    /* bridge: when frame f went out, at [f % SENT_SLOTS] */
} gch_t;

/* What one step (one N, one trial) measured. */
typedef struct {
    uint32_t n;
    int pass, gen_limited, disturbed;
    unsigned tries;                /* runs it took (a disturbed failure is run again) */
    char why[160];
    double seconds;
    uint32_t ticks;               /* in the window */
    double load;                  /* worker busy / wall in the window */
    double ns_per_cf;             /* worker busy ns / channel-frames, median 20 ms period */
    double ns_per_cf_mean;        /* the same over the whole window */
    double rx_ns, tick_ns;        /* per channel-frame: receive bursts, the tick (medians) */
    double cpu_ns, cpu_rx_ns, cpu_tick_ns;   /* the same on the worker's CPU clock (mean) */
    double projected;             /* 20 ms / cpu_ns: channels a dedicated core would carry */
    double worker_cpu;            /* worker thread CPU time / wall in the window */
    uint64_t worker_preempt;      /* involuntary context switches of the worker thread */
    double late_p50, late_p99, late_p999, late_max;   /* tick start - due, ms */
    double end_max;               /* tick end - due, ms */
    double tick_p50, tick_max;    /* slot tick duration, ms */
    double d2w_p50, d2w_p99, d2w_p999;   /* tick due -> packet at the phone, ms */
    double w2w_p50, w2w_p99, w2w_p999;   /* bridge: phone -> engine -> other phone, ms */
    double gen_lag_max;           /* ms the generator ran behind its schedule */
    double gen_load;
    uint64_t expected, lost, bad, conceal;
    uint64_t ring_full, tx_dropped, mbuf_fail, ev_lost, skips, other;
    uint64_t keyed, detected, missed, wrong, extra;
    uint64_t talk_ev;             /* conference: TALKING_START/STOP events (whole run) */
    uint32_t joined, join_failed; /* conference: MD_CMD_CONF_ADD replies, failures */
    uint64_t opus_decoded;        /* transcode: engine Opus packets decoded by the generator */
    unsigned corr_n;              /* transcode: Opus legs checked by correlation */
    double corr_min, erat_min, erat_max;   /* ... worst correlation, energy ratio range */
    uint64_t rec_frames, rec_dropped, rec_errors, rec_refused;
    uint64_t jb_late, jb_skew, jb_lost;   /* whole run, all channels' jitter buffers */
    double rec_open_s;
} step_t;

/* What the worker and the generator share. With --memif the generator is a second
 * process (forked before either EAL starts) and this lives, with the tick log, the
 * phones' gch_t and the latency histograms, in a MAP_SHARED region mapped before the
 * fork, at the same address in both; without it, in the one process. */
typedef struct {
    _Atomic uint32_t started;     /* slot ticks started (the worker) */
    volatile int stop;            /* the generator is done: the worker stops at a period's end */
    /* --memif only. The engine process (parent) issues a step by setting its parameters
     * and step_seq; the generator process (child) runs it and answers with done_seq and
     * its counters in gs. */
    uint64_t hz, tick, t0;        /* the engine's TSC rate (the child uses it, not its own) */
    uint32_t n, J0, J1, jend;
    _Atomic uint32_t server_ready;   /* the memif server is listening (parent) */
    _Atomic uint32_t gen_up;         /* the child's EAL is up and its memif link too */
    _Atomic uint32_t step_seq, done_seq, worker_done, quit;
    step_t gs;                    /* the generator's counters of the step */
    md_event_ring_t ev;           /* the worker's events, relayed by the control thread */
} shared_t;

static const char digits[] = "0123456789*#";

static struct {
    /* options */
    int profile, record, keep;
    const char *record_dir, *json, *plot;
    uint32_t fixed[MAX_STEPS];
    unsigned nfixed;
    uint32_t start, max, resolution;
    double seconds, warmup, deadline_ms;
    unsigned repeat, jb_depth, retries;
    unsigned slots;               /* tick slots per 20 ms: MD_TICK_SLOTS (medleyd) or 1 */
    int nic_offload;              /* --nic-offload: the ring port plays a NIC that checks
                                   * and computes IPv4/UDP checksums (see gen_send) */
    int nice;                     /* for both threads (setpriority), 0: unchanged */
    /* DPDK */
    struct rte_mempool *gpool, *epool;
    struct rte_ring *rxr, *txr;
    uint16_t port;
    unsigned wlcore;
    uint64_t hz;
    /* engine */
    md_worker_t w;
    md_channel_t *chans;
    md_media_t *media;
    md_event_ring_t events;
    md_cmd_ring_t cmd;
    md_recorder_t *rec;
    md_conf_set_t *confset;
    md_conf_t *confs;
    md_conf_member_t *members;
    md_rec_id_t *rec_ids;
    char rec_path[4096];
    /* shared between the generator and the worker */
    uint32_t n;
    shared_t *sh;                 /* stop, started (and the --memif hand-over) */
    uint64_t t0, tick;            /* tick: 20 ms in TSC cycles */
    tick_log_t *log;              /* per slot tick */
    uint32_t log_max;
    uint32_t J0, J1, jend;
    uint64_t conc[2];
    struct rusage ru[2];          /* worker thread at the window's start and end */
    double run_overhead_ns;       /* an empty poll and a clock read, on the CPU clock */
    int gen_cpu;                  /* the CPU of the generator (main lcore); the worker
                                   * gets the other */
    uint64_t skips;
    /* --memif: the generator in a second process over net_memif */
    int memif;
    int memif_failed;             /* the transport failed: exit status 3 */
    pid_t child, parent;          /* the generator process; the engine process */
    char sock[108];               /* the memif control socket (a file, removed at the end) */
    md_event_ring_t *evsrc;       /* where the generator takes events: the worker's ring,
                                   * or the relay in sh (--memif) */
    /* generator */
    gch_t *g;
    uint8_t tone[12][TONE_FRAMES][FRAME];
    uint8_t noise[NOISE_FRAMES][FRAME];
    uint32_t tone_sum[12][TONE_FRAMES], noise_sum[NOISE_FRAMES], noise_tail_sum[NOISE_FRAMES];
    uint8_t cnoise[NOISE_FRAMES][FRAME];   /* conference bodies (bytes CONF_BODY..) */
    /* transcode */
    uint8_t opkt[OPUS_FRAMES][MD_JB_MAX_PAYLOAD];
    uint16_t olen[OPUS_FRAMES];
    uint32_t prompt_sum[PROMPT_FRAMES];
    int16_t prompt_lin[PROMPT_FRAMES * FRAME];   /* the PCMU phones' audio, decoded */
    uint8_t *ref;                 /* [TR_STREAMS][ref_frames][FRAME]: a fresh decoder's
                                   * output of each stream, µ-law, as the PCMU leg gets it */
    uint32_t ref_frames;
    md_opus_t gdec[CORR_MAX_DEC];
    int16_t gpcm[CORR_MAX_DEC * CORR_FRAMES * FRAME];   /* their decoded window starts */
    uint32_t gpcm_fill[CORR_MAX_DEC];
    uint32_t gdec_chan[CORR_MAX_DEC];
    unsigned n_gdec;
    double lib_dec_ns, lib_enc_ns, lib_cold_ns;   /* libopus alone, per frame */
    double lib_runs[2][3];        /* before and after the search: decode, encode, cold */
    unsigned lib_cold_states;
    uint32_t cnoise_tail_sum[NOISE_FRAMES];
    uint64_t rx_count;
    uint8_t prompt_ulaw[PROMPT_FRAMES][FRAME];
    int16_t prompt_pcm[PROMPT_FRAMES * FRAME];
    md_prompt_t prompt;
    uint32_t *hist_d2w, *hist_w2w;
    uint64_t rng;
} C;

static uint32_t rnd(void)
{
    C.rng ^= C.rng << 13;
    C.rng ^= C.rng >> 7;
    C.rng ^= C.rng << 17;
    return (uint32_t)(C.rng >> 11);
}

/* The worker thread's own CPU time: unlike the TSC it stops while another process has
 * the core, so costs measured with it hold on a shared machine. */
static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double cyc_ms(int64_t c)
{
    return (double)c * 1000.0 / (double)C.hz;
}

/* ------------------------------------------------------------------ the worker lcore */

static int worker_main(void *arg)
{
    (void)arg;
    if (C.nice != 0)
        setpriority(PRIO_PROCESS, (id_t)gettid(), C.nice);
    md_worker_t *w = &C.w;
    const uint64_t slot_cyc = C.tick / C.slots;
    const uint64_t deadline_cyc = (uint64_t)(C.deadline_ms * (double)C.hz / 1000.0);
    const uint64_t skip_after = deadline_cyc > C.tick ? deadline_cyc : C.tick;
    /* Slot tick q is due at t0 + tick + q * slot_cyc: period j's slots from the end of
     * period j's first 20 ms on (as medleyd, the first tick one period after the start). */
    uint64_t next = C.t0 + C.tick, busy = 0;
    /* Busy CPU time: a run of polls that found packets is timed on the thread's CPU clock
     * from the end of the empty poll before it to the end of the empty poll after it (the
     * clock is read only in idle time, and around each tick). */
    uint64_t cpu_busy = 0, runs = 0;
    /* What one empty poll and one clock read cost (both fall inside each measured run
     * once), taken before the traffic starts; subtracted per run afterwards. */
    uint64_t c_a = thread_cpu_ns();
    for (int i = 0; i < 2000; i++) {
        md_worker_poll(w);
        md_cmd_serve(&C.cmd, &w->wm);
        (void)thread_cpu_ns();
    }
    C.run_overhead_ns = (double)(thread_cpu_ns() - c_a) / 2000;
    uint64_t cpu_mark = thread_cpu_ns();
    int in_run = 0;
    uint32_t q = 0;
    const uint32_t q0 = C.J0 * C.slots, q1 = (C.J1 + 1) * C.slots;   /* the window */
    /* Stops at a period's end only: every channel then ticked equally often (the
     * recordings' frame counts are checked against it). */
    while (!C.sh->stop || q % C.slots != 0) {
        uint64_t a = rte_rdtsc();
        unsigned n = md_worker_poll_paced(w, a);
        md_cmd_serve(&C.cmd, &w->wm);
        uint64_t b = rte_rdtsc();
        if (n > 0) {
            busy += b - a;
            runs += !in_run;
            in_run = 1;
        } else {
            uint64_t c = thread_cpu_ns();
            if (in_run)
                cpu_busy += c - cpu_mark;
            in_run = 0;
            cpu_mark = c;
        }
        if (b < next)
            continue;
        uint64_t c0 = thread_cpu_ns();
        if (in_run)
            cpu_busy += c0 - cpu_mark;
        in_run = 0;
        tick_log_t *L = q < C.log_max ? &C.log[q] : NULL;
        if (L != NULL) {
            L->due = next;
            L->start = b;
            L->busy_before = busy;
            L->cpu_busy_before = cpu_busy;
            L->runs_before = runs;
        }
        atomic_store_explicit(&C.sh->started, q + 1, memory_order_release);
        if (C.slots == 1)
            md_worker_tick(w, (b - C.t0) * 1000 / C.hz);
        else
            md_worker_tick_slot(w, (b - C.t0) * 1000 / C.hz, q % C.slots);
        uint64_t e = rte_rdtsc();
        uint64_t c1 = thread_cpu_ns();
        cpu_busy += c1 - c0;
        cpu_mark = c1;
        busy += e - b;
        if (L != NULL) {
            L->end = e;
            L->cpu_tick = c1 - c0;
        }
        if (q == q0 || q == q1)
            getrusage(RUSAGE_THREAD, &C.ru[q != q0]);
        if (q + 1 == q0 || q + 1 == q1) {
            /* Outside the timed sections: frames the engine had to conceal so far. */
            uint64_t s = 0;
            for (uint32_t i = 0; i < C.n; i++)
                s += C.media[i].concealed;
            C.conc[q + 1 == q1] = s;
        }
        q++;
        next += slot_cyc;
        /* medleyd's rule: slots that fell behind run back to back; after a stall of more
         * than a whole tick (medleyd), or of more than the deadline when that is longer
         * (--deadline-ms: the smoke tests' loose deadline rides out a busy machine as the
         * whole-table tick did), catch up on the clock instead of bursting. */
        if (b > next + skip_after) {
            next = b + slot_cyc;
            C.skips++;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ the generator */

static void put_nibbles(uint8_t *p, uint32_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(0xE0 | ((v >> (4 * (n - 1 - i))) & 15));
}

static int get_nibbles(const uint8_t *p, int n, uint32_t *v)
{
    uint32_t x = 0;
    for (int i = 0; i < n; i++) {
        if ((p[i] & 0xF0) != 0xE0)
            return -1;
        x = x << 4 | (p[i] & 15u);
    }
    *v = x;
    return 0;
}

/* Bridge payload of channel c's frame f: a tag (c, f) then a body that survives the
 * µ-law -> linear -> µ-law round trip of the bridge byte for byte. */
static void bridge_payload(uint8_t *out, uint32_t c, uint32_t f)
{
    memcpy(out, C.noise[f % NOISE_FRAMES], FRAME);
    put_nibbles(out, c, 4);
    put_nibbles(out + 4, f, 8);
}

/* Conference payload of channel c's frame f (see CONF_TAG). */
static void conf_payload(uint8_t *out, uint32_t c, uint32_t f)
{
    uint32_t r = c % 3;
    memcpy(out, C.cnoise[(f + 5 * c) % NOISE_FRAMES], FRAME);
    memset(out, 0xFF, CONF_BODY);
    put_nibbles(out + CONF_TAG * r, c, 4);
    put_nibbles(out + CONF_TAG * r + 4, f, 8);
}

/* What a conference member must receive when the others sent (c1, f1) and (c2, f2): the
 * engine's N-1 mix of two parties at 0 dB gains (engine/conf.c, as md_mix_n_minus_1):
 * both decoded, summed in 32 bits, saturated to 16, encoded with the engine's µ-law
 * encoder. */
static void conf_expected(uint8_t *out, uint32_t c1, uint32_t f1, uint32_t c2, uint32_t f2)
{
    uint8_t a[FRAME], b[FRAME];
    int16_t la[FRAME], lb[FRAME];
    conf_payload(a, c1, f1);
    conf_payload(b, c2, f2);
    md_ulaw_decode(la, a, FRAME);
    md_ulaw_decode(lb, b, FRAME);
    for (unsigned i = 0; i < FRAME; i++) {
        int32_t v = (int32_t)la[i] + lb[i];
        la[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
    }
    md_ulaw_encode(out, la, FRAME);
}

/* A phone's packet as md_tx_build() makes it, without summing the whole datagram again:
 * the header of the channel's first packet with this packet's marker, sequence number and
 * timestamp, and the UDP checksum adjusted by those words and the payload's own sum
 * (checked against md_tx_build() at start-up). */
static size_t fast_build(gch_t *g, int marker, const uint8_t *pl, uint32_t plsum, uint8_t *out)
{
    memcpy(out, g->hdr, HDR_LEN);
    memcpy(out + HDR_LEN, pl, FRAME);
    uint16_t seq = g->t.seq++;
    uint32_t ts = g->t.ts;
    g->t.ts += FRAME;
    out[43] = (uint8_t)(marker ? 0x80 | g->t.pt : g->t.pt);
    out[44] = (uint8_t)(seq >> 8);
    out[45] = (uint8_t)seq;
    out[46] = (uint8_t)(ts >> 24);
    out[47] = (uint8_t)(ts >> 16);
    out[48] = (uint8_t)(ts >> 8);
    out[49] = (uint8_t)ts;
    uint32_t sum = g->hsum + seq + (ts >> 16) + (ts & 0xFFFF) + (marker ? 0x80u : 0) + plsum;
    uint16_t c = (uint16_t)~md_pkt_fold(sum);
    if (c == 0)
        c = 0xFFFF;
    out[40] = (uint8_t)(c >> 8);
    out[41] = (uint8_t)c;
    return HDR_LEN + FRAME;
}

static void fast_init(gch_t *g)
{
    md_tx_template_t t = g->t;
    uint8_t zero[FRAME], buf[HDR_LEN + FRAME];
    memset(zero, 0, sizeof(zero));
    t.seq = 0;
    t.ts = 0;
    md_tx_build(&t, 0, zero, FRAME, FRAME, buf, sizeof(buf));
    memcpy(g->hdr, buf, HDR_LEN);
    g->hsum = (uint16_t)~(buf[40] << 8 | buf[41]);
}

static const uint8_t *ivr_payload(gch_t *g, uint32_t c, uint32_t f, uint32_t key_until,
                                  uint32_t *sum)
{
    if (g->key_digit < 0 && f == g->next_key && f <= key_until) {
        if (g->pend_n < PEND_MAX) {
            g->key_digit = (int8_t)(rnd() % 12);
            g->key_frame = 0;
            g->pend[(g->pend_head + g->pend_n) % PEND_MAX] = digits[g->key_digit];
            g->pend_n++;
        } else {
            g->next_key = f + 25;
        }
    }
    if (g->key_digit >= 0) {
        *sum = C.tone_sum[g->key_digit][g->key_frame];
        const uint8_t *p = C.tone[g->key_digit][g->key_frame++];
        if (g->key_frame == TONE_FRAMES) {
            g->key_digit = -1;
            g->next_key = f + 1 + 25 + rnd() % 100;   /* 0.5 to 2.5 s later */
        }
        return p;
    }
    *sum = C.noise_sum[(f + c) % NOISE_FRAMES];
    return C.noise[(f + c) % NOISE_FRAMES];
}

static void hist_add(uint32_t *h, int64_t cycles)
{
    if (cycles < 0)
        cycles = 0;
    uint64_t us = (uint64_t)cycles * 1000000 / C.hz;
    uint64_t bin = us / HIST_US;
    h[bin < HIST_BINS ? bin : HIST_BINS - 1]++;
}

static double hist_pct(const uint32_t *h, double q)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < HIST_BINS; i++)
        total += h[i];
    if (total == 0)
        return NAN;
    uint64_t want = (uint64_t)ceil(q * (double)total), acc = 0;
    if (want == 0)
        want = 1;
    for (unsigned i = 0; i < HIST_BINS; i++) {
        acc += h[i];
        if (acc >= want)
            return (i + 1) * HIST_US / 1000.0;   /* upper edge of the bin, ms */
    }
    return HIST_BINS * HIST_US / 1000.0;
}

/* Transcode. The PCMU leg must get the engine's decode of its peer's Opus stream: the
 * engine's decoder is fresh when the channel is created and decodes the stream's packets
 * in order (any loss would be concealed and fail the step), so its output equals, sample
 * for sample, that of a fresh decoder fed the same packets at start-up (the same libopus
 * in the same process); the µ-law of that is compared byte for byte. The first frames
 * are silence until the jitter buffer releases the peer's first packet; then the first
 * decoded frame is found by search and every later one must be the next.
 * The Opus leg gets the engine's encoding of the PCMU phone's audio: every packet must
 * be a 20 ms narrowband Opus frame; the legs of up to CORR_MAX_DEC pairs are decoded in
 * full by the generator (every packet must decode) and 0.5 s of the window is compared
 * with what the PCMU phone sent by normalised cross-correlation at the best lag (a lossy
 * codec: no exact comparison is possible), with the energy ratio. */
static void check_transcode(gch_t *g, uint32_t c, int64_t j, int in_win, const uint8_t *pl,
                            size_t len, uint64_t now, step_t *s)
{
    if (!(c & 1)) {
        int ok = opus_packet_get_nb_samples(pl, (opus_int32)len, 8000) == FRAME &&
                 opus_packet_get_bandwidth(pl) == OPUS_BANDWIDTH_NARROWBAND;
        if (ok && g->dec >= 0) {
            int16_t pcm[FRAME];
            ok = md_opus_decode(&C.gdec[g->dec], pl, len, pcm) == FRAME;
            s->opus_decoded++;
            if (ok && j >= C.J0 && j < (int64_t)C.J0 + CORR_FRAMES) {
                memcpy(C.gpcm + ((size_t)g->dec * CORR_FRAMES + (size_t)(j - C.J0)) * FRAME,
                       pcm, sizeof(pcm));
                C.gpcm_fill[g->dec]++;
            }
        }
        if (in_win && !ok)
            g->bad++;
        return;
    }
    uint32_t st = (c / 2) % TR_STREAMS;
    const uint8_t *ref = C.ref + (size_t)st * C.ref_frames * FRAME;
    int ok = 0;
    int64_t f = -1;
    if (g->last_f >= 0) {
        f = g->last_f + 1;
        ok = f < (int64_t)C.ref_frames && memcmp(pl, ref + (size_t)f * FRAME, FRAME) == 0;
        g->last_f = f;
    } else {
        static const uint8_t silence[FRAME] = { [0 ... FRAME - 1] = 0xFF };
        if (memcmp(pl, silence, FRAME) == 0) {
            ok = !in_win;
        } else {
            for (int64_t k = 0; k < TR_SYNC_SEARCH && k < (int64_t)C.ref_frames; k++)
                if (memcmp(pl, ref + (size_t)k * FRAME, FRAME) == 0) {
                    f = k;
                    ok = 1;
                    g->last_f = f;
                    break;
                }
        }
    }
    if (in_win) {
        if (!ok)
            g->bad++;
        else if (f >= 0)
            hist_add(C.hist_w2w, (int64_t)(now - C.g[c - 1].sent[f % SENT_SLOTS]));
    }
}

/* --nic-offload: what the NIC's transmit side does to a frame whose checksums the engine
 * left to it (RTE_MBUF_F_TX_IP_CKSUM, RTE_MBUF_F_TX_UDP_CKSUM): the IPv4 header's sum, and
 * the UDP sum started from the pseudo-header sum the engine put in the field. Done for
 * the frames the generator checks in full, so a wrong pseudo-header sum still fails. */
static void nic_finish_checksums(struct rte_mbuf *m)
{
    uint64_t f = m->ol_flags;
    if (!(f & RTE_MBUF_F_TX_IPV4) || !(f & (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM)))
        return;
    uint8_t *ip = rte_pktmbuf_mtod(m, uint8_t *) + m->l2_len;
    if (m->l2_len + m->l3_len + 8u > rte_pktmbuf_data_len(m))
        return;   /* the full parser will refuse it */
    if (f & RTE_MBUF_F_TX_IP_CKSUM) {
        ip[10] = ip[11] = 0;
        uint16_t c = (uint16_t)~md_pkt_fold(md_pkt_sum(ip, m->l3_len, 0));
        ip[10] = (uint8_t)(c >> 8);
        ip[11] = (uint8_t)c;
    }
    if (f & RTE_MBUF_F_TX_UDP_CKSUM) {
        uint8_t *u = ip + m->l3_len;
        size_t ulen = (size_t)(u[4] << 8 | u[5]);
        if ((size_t)(u - rte_pktmbuf_mtod(m, uint8_t *)) + ulen > rte_pktmbuf_data_len(m))
            return;
        uint16_t c = (uint16_t)~md_pkt_fold(md_pkt_sum(u, ulen, 0));
        c = c ? c : 0xFFFF;
        u[6] = (uint8_t)(c >> 8);
        u[7] = (uint8_t)c;
    }
}

static void check_packet(struct rte_mbuf *m, uint64_t now, step_t *s)
{
    const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
    md_pkt_t p;
    /* Every VERIFY_EVERY-th packet goes through the full parser (IP and UDP checksums);
     * the others are read at the offsets of an untagged IPv4 frame, which is what the
     * engine sends these phones (anything else falls back to the full parser). */
    uint16_t len = rte_pktmbuf_data_len(m);
    if (++C.rx_count % VERIFY_EVERY != 0 && len >= HDR_LEN && d[12] == 0x08 && d[13] == 0 &&
        d[14] == 0x45 && d[23] == 17) {
        p.sport = (uint16_t)(d[34] << 8 | d[35]);
        p.dport = (uint16_t)(d[36] << 8 | d[37]);
        p.payload_off = 42;
        p.payload_len = (uint16_t)(len - 42);
    } else {
        if (C.nic_offload)
            nic_finish_checksums(m);
        if (md_pkt_parse(d, len, &p) != MD_PKT_UDP) {
            s->other++;
            return;
        }
    }
    if (p.dport & 1) {   /* RTCP from the channel's odd port: not counted here */
        s->other++;
        return;
    }
    uint32_t c = (uint32_t)(p.dport - GEN_PORT_BASE) / 2;
    if (p.dport < GEN_PORT_BASE || c >= C.n || p.sport != ENG_PORT_BASE + 2 * c) {
        s->other++;
        return;
    }
    gch_t *g = &C.g[c];
    md_rtp_hdr_t h;
    int opus_leg = C.profile == PROF_TRANS && !(c & 1);
    if (md_rtp_parse(d + p.payload_off, p.payload_len, &h) != MD_RTP_OK ||
        h.pt != (opus_leg ? OPUS_PT : 0) ||
        (opus_leg ? h.payload_len == 0 || h.payload_len > MD_JB_MAX_PAYLOAD
                  : h.payload_len != FRAME)) {
        g->bad++;
        return;
    }
    if (!g->seen) {
        g->seen = 1;
        g->eng_ssrc = h.ssrc;
    } else if (h.ssrc != g->eng_ssrc) {
        g->bad++;
        return;
    }
    /* The tick that made this packet, from the timestamp (engine/worker.c: the SSRC-derived
     * origin plus 160 per tick since the channel was created, before tick 0). */
    int64_t j = (int64_t)((uint32_t)(h.ts - h.ssrc * 69069u) / (opus_leg ? OPUS_TS : FRAME)) - 1;
    /* Channel c is in table slot c (made in order), so it ticks in slot c % C.slots. */
    uint32_t started = atomic_load_explicit(&C.sh->started, memory_order_acquire);
    int64_t q = j * (int64_t)C.slots + (int64_t)(c % C.slots);
    if (j < 0 || q >= (int64_t)started) {
        g->bad++;
        return;
    }
    int in_win = j >= C.J0 && j <= C.J1;
    if (j <= g->last_j) {
        if (in_win)
            g->bad++;
        return;
    }
    g->last_j = j;
    const uint8_t *pl = d + p.payload_off + h.payload_off;
    if (in_win) {
        g->win_rx++;
        if ((uint64_t)q < C.log_max)
            hist_add(C.hist_d2w, (int64_t)(now - C.log[q].due));
    }
    if (C.profile == PROF_IVR) {
        if (memcmp(pl, C.prompt_ulaw[j % PROMPT_FRAMES], FRAME) != 0 && in_win)
            g->bad++;
        return;
    }
    if (C.profile == PROF_TRANS) {
        check_transcode(g, c, j, in_win, pl, h.payload_len, now, s);
        return;
    }
    if (C.profile == PROF_CONF) {
        /* The two other members' tags name the frames in the mix; the whole payload must
         * be their exact mix, and each other member's frames must follow one another. */
        uint32_t r = c % 3, base = c - r, pc[2] = { 0, 0 }, pf[2] = { 0, 0 };
        int ok = 1;
        for (uint32_t q = 0, k = 0; q < 3 && ok; q++) {
            if (q == r)
                continue;
            ok = get_nibbles(pl + CONF_TAG * q, 4, &pc[k]) == 0 &&
                 get_nibbles(pl + CONF_TAG * q + 4, 8, &pf[k]) == 0 && pc[k] == base + q;
            k++;
        }
        if (!ok) {
            if (in_win)
                g->bad++;   /* silence, concealment or a stranger where the mix should be */
            return;
        }
        uint8_t want[FRAME];
        conf_expected(want, pc[0], pf[0], pc[1], pf[1]);
        ok = memcmp(pl, want, FRAME) == 0 && (g->last_f < 0 || (int64_t)pf[0] == g->last_f + 1) &&
             (g->last_f2 < 0 || (int64_t)pf[1] == g->last_f2 + 1);
        if (in_win) {
            if (!ok) {
                g->bad++;
            } else {
                hist_add(C.hist_w2w, (int64_t)(now - C.g[pc[0]].sent[pf[0] % SENT_SLOTS]));
                hist_add(C.hist_w2w, (int64_t)(now - C.g[pc[1]].sent[pf[1] % SENT_SLOTS]));
            }
        }
        g->last_f = pf[0];
        g->last_f2 = pf[1];
        return;
    }
    uint32_t peer, f;
    uint8_t want[FRAME];
    if (get_nibbles(pl, 4, &peer) == 0 && get_nibbles(pl + 4, 8, &f) == 0) {
        bridge_payload(want, peer, f);
        int ok = peer == (c ^ 1u) && memcmp(pl, want, FRAME) == 0 &&
                 (g->last_f < 0 || (int64_t)f == g->last_f + 1);
        if (in_win) {
            if (!ok)
                g->bad++;
            else
                hist_add(C.hist_w2w, (int64_t)(now - C.g[peer].sent[f % SENT_SLOTS]));
        }
        g->last_f = f;
    } else if (in_win) {
        g->bad++;   /* silence or concealment where the peer's frame should be */
    }
}

/* The phones' side of the link: the ring port's rings, or (--memif, in the generator
 * process) the memif client port. */
static unsigned gen_send(struct rte_mbuf **mb, unsigned n)
{
    /* --nic-offload: a NIC with receive checksum offload has verified these (they are
     * right: fast_build makes them) and says so in the mbuf, as DPDK's PMDs do; the
     * engine then skips its own sums (engine/dp.c). */
    if (C.nic_offload)
        for (unsigned i = 0; i < n; i++)
            mb[i]->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
    if (C.memif)
        return rte_eth_tx_burst(C.port, 0, mb, (uint16_t)n);
    return rte_ring_enqueue_burst(C.rxr, (void **)mb, n, NULL);
}

static unsigned gen_recv(struct rte_mbuf **mb, unsigned n)
{
    if (C.memif)
        return rte_eth_rx_burst(C.port, 0, mb, (uint16_t)n);
    return rte_ring_dequeue_burst(C.txr, (void **)mb, n, NULL);
}

static unsigned drain_tx(step_t *s)
{
    struct rte_mbuf *mb[RX_BATCH];
    unsigned n = gen_recv(mb, RX_BATCH);
    if (n == 0)
        return 0;
    uint64_t now = rte_rdtsc();
    for (unsigned i = 0; i < n; i++)
        check_packet(mb[i], now, s);
    rte_pktmbuf_free_bulk(mb, n);
    return n;
}

static void drain_events(step_t *s)
{
    md_event_t ev;
    while (md_event_pop(C.evsrc, &ev)) {
        if (ev.type == MD_EV_TALKING_START || ev.type == MD_EV_TALKING_STOP) {
            s->talk_ev++;   /* conference members: none expected (stationary levels) */
            continue;
        }
        if (ev.type != MD_EV_DIGIT || ev.slot >= C.n) {
            s->other++;
            continue;
        }
        gch_t *g = &C.g[ev.slot];
        /* The oldest pending digit it matches; those keyed before it were missed. A digit
         * that matches none was not keyed (wrong, or an extra detection). */
        unsigned k = 0;
        while (k < g->pend_n && g->pend[(g->pend_head + k) % PEND_MAX] != ev.digit)
            k++;
        if (k == g->pend_n) {
            if (g->pend_n == 0)
                s->extra++;
            else
                s->wrong++;
            continue;
        }
        s->missed += k;
        s->detected++;
        g->pend_head = (uint8_t)((g->pend_head + k + 1) % PEND_MAX);
        g->pend_n = (uint8_t)(g->pend_n - k - 1);
    }
}

/* ------------------------------------------------------------------ one step */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double q)
{
    if (n == 0)
        return NAN;
    size_t i = (size_t)ceil(q * (double)n);
    if (i > 0)
        i--;
    if (i >= n)
        i = n - 1;
    return v[i];
}

static int setup_recorder(step_t *s)
{
    uint32_t pairs = C.n / 2;
    md_recorder_config_t cfg = { .dir = C.rec_path, .max_recordings = pairs + 1,
                                 .n_producers = 1,
                                 .ring_bytes = (size_t)pairs * 656 * 10 + (1u << 20) };
    char err[256];
    int rc = md_recorder_create(&C.rec, &cfg, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "capacity: recorder: %s\n", err);
        return -1;
    }
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (uint32_t i = 0; i < pairs; i++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "pair-%05u.wav", i);
        rc = md_recorder_open(C.rec, 0, rel, MD_WAV_ULAW, 2, &C.rec_ids[i], err, sizeof(err));
        if (rc != 0) {
            fprintf(stderr, "capacity: recorder: %s\n", err);
            return -1;
        }
        /* Stereo on the first leg: left what it received (this phone), right what it
         * sent (the other phone): both directions of the pair in one file. */
        C.media[2 * i].rec_id = C.rec_ids[i];
        C.media[2 * i].rec_stereo = 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    s->rec_open_s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    C.w.wm.rec = C.rec;
    C.w.wm.rec_producer = 0;
    return 0;
}

static void finish_recorder(step_t *s, uint32_t ticks_total)
{
    uint32_t pairs = C.n / 2, ended = 0;
    for (uint32_t i = 0; i < pairs; i++) {
        s->rec_refused += C.media[2 * i].rec_refused;
        if (md_recorder_stop(C.rec, C.rec_ids[i]) != 0)
            s->rec_errors++;
    }
    uint64_t deadline = rte_rdtsc() + 120 * C.hz;
    while (ended < pairs && rte_rdtsc() < deadline) {
        md_rec_event_t ev;
        if (!md_recorder_poll_event(C.rec, &ev)) {
            usleep(2000);
            continue;
        }
        ended++;
        s->rec_frames += ev.stats.frames_written;
        s->rec_dropped += ev.stats.frames_dropped;
        if (ev.stats.error != 0 || ev.stats.frames_written + ev.stats.frames_dropped != ticks_total)
            s->rec_errors++;
    }
    s->rec_errors += pairs - ended;
    md_recorder_destroy(C.rec);
    C.rec = NULL;
    if (!C.keep)
        for (uint32_t i = 0; i < pairs; i++) {
            char path[4200];
            snprintf(path, sizeof(path), "%s/pair-%05u.wav", C.rec_path, i);
            unlink(path);
        }
}

/* Conference: the members join their conferences as the control thread would make them,
 * with MD_CMD_CONF_ADD commands on the worker's command ring (party role, 0 dB), once
 * their audio flows (jb_depth + 4 ticks after the first frames were sent). A member's
 * talker detector starts when it joins: joined before its audio arrives, it would hear
 * silence and then speech, and N members starting to talk in the same tick would
 * overflow the 1,024-entry event ring with TALKING_START events (and their STOPs two
 * seconds later, when the silence leaves the detector's floor). Called from the
 * generator's loop; *next: the next member to join. */
static void conf_join(uint32_t *next, step_t *s)
{
    uint32_t at = C.jb_depth + 4 < C.J0 / 2 ? C.jb_depth + 4 : C.J0 / 2;
    if (atomic_load_explicit(&C.sh->started, memory_order_acquire) < at * C.slots)
        return;
    while (*next < C.n) {
        const gch_t *g = &C.g[*next];
        md_cmd_t cmd;
        memset(&cmd, 0, sizeof(cmd));
        cmd.type = MD_CMD_CONF_ADD;
        cmd.seq = *next;
        cmd.slot = *next;
        cmd.id = g->chan_id;
        cmd.conf.slot = g->conf_idx;
        cmd.conf.id = g->conf_id;
        cmd.conf.role = MD_CONF_ROLE_PARTY;
        if (md_cmd_send(&C.cmd, &cmd) != 0)
            break;   /* 64 outstanding: the rest on the next round */
        (*next)++;
    }
    md_cmd_reply_t rep;
    while (md_cmd_take_reply(&C.cmd, &rep)) {
        s->joined++;
        s->join_failed += rep.status != 0;
    }
}

/* Transcode, per step: the reference decodes (once, for as many frames as the longest
 * step sends) and the generator's decoders for the Opus legs it checks in full. */
static int trans_setup(uint32_t n, uint32_t frames)
{
    if (frames > C.ref_frames) {
        free(C.ref);
        C.ref = malloc((size_t)TR_STREAMS * frames * FRAME);
        if (C.ref == NULL)
            return -1;
        for (uint32_t st = 0; st < TR_STREAMS; st++) {
            md_opus_t d;
            if (md_opus_create(&d, 8000, 24000, 5) != 0)   /* as engine/media.c's pool */
                return -1;
            for (uint32_t f = 0; f < frames; f++) {
                uint32_t x = (f + 17 * st) % OPUS_FRAMES;
                int16_t pcm[FRAME];
                if (md_opus_decode(&d, C.opkt[x], C.olen[x], pcm) != FRAME) {
                    md_opus_destroy(&d);
                    return -1;
                }
                md_ulaw_encode(C.ref + ((size_t)st * frames + f) * FRAME, pcm, FRAME);
            }
            md_opus_destroy(&d);
        }
        C.ref_frames = frames;
    }
    uint32_t pairs = n / 2, every = (pairs + CORR_MAX_DEC - 1) / CORR_MAX_DEC;
    C.n_gdec = 0;
    for (uint32_t p = 0; p < pairs && C.n_gdec < CORR_MAX_DEC; p += every) {
        unsigned k = C.n_gdec++;
        md_opus_t *o = &C.gdec[k];
        void *mem = o->owned;   /* a later step resets the decoder in its memory */
        int rc = mem == NULL ? md_opus_create(o, 8000, 24000, 5)
                             : md_opus_init(o, mem, md_opus_memory_size(8000), 8000, 24000, 5);
        if (mem != NULL)
            o->owned = mem;     /* md_opus_init() forgets it: keep it for the next step */
        if (rc != 0)
            return -1;
        C.g[2 * p].dec = (int32_t)k;
        C.gdec_chan[k] = 2 * p;
        C.gpcm_fill[k] = 0;
    }
    return 0;
}

/* Transcode, after a step: the Opus legs decoded in full against what their PCMU phones
 * sent, by normalised cross-correlation over 0.5 s at the best lag (the jitter buffer
 * and the codec's delay: up to jb_depth + 8 frames), and the energy ratio there. */
static void trans_verdict(step_t *s)
{
    const size_t len = CORR_FRAMES * FRAME, lmax = (C.jb_depth + 8) * FRAME;
    float *xs = malloc((len + lmax) * sizeof(float)), *y = malloc(len * sizeof(float));
    s->corr_min = 1;
    s->erat_min = INFINITY;
    s->erat_max = 0;
    s->corr_n = 0;
    for (unsigned k = 0; xs != NULL && y != NULL && k < C.n_gdec; k++) {
        s->corr_n++;
        if (C.gpcm_fill[k] != CORR_FRAMES) {   /* a packet missing or undecodable */
            s->corr_min = 0;
            continue;
        }
        uint32_t src = C.gdec_chan[k] + 1;   /* the PCMU phone: prompt from frame src on */
        int64_t base = (int64_t)C.J0 * FRAME - (int64_t)lmax;
        for (size_t m = 0; m < len + lmax; m++) {
            int64_t gi = base + (int64_t)m + (int64_t)src * FRAME;
            xs[m] = C.prompt_lin[((gi % (PROMPT_FRAMES * FRAME)) + PROMPT_FRAMES * FRAME) %
                                 (PROMPT_FRAMES * FRAME)];
        }
        double eyy = 0, exx = 0;
        for (size_t i = 0; i < len; i++) {
            y[i] = C.gpcm[(size_t)k * len + i];
            eyy += (double)y[i] * y[i];
            exx += (double)xs[lmax + i] * xs[lmax + i];
        }
        double best = -2, best_exx = 1;
        for (size_t L = 0; L <= lmax; L++) {
            const float *x = xs + lmax - L;
            if (L > 0)   /* slide the source window one sample back */
                exx += (double)x[0] * x[0] - (double)x[len] * x[len];
            float dot = 0;
            for (size_t i = 0; i < len; i++)
                dot += y[i] * x[i];
            double r = eyy > 0 && exx > 0 ? dot / sqrt(eyy * exx) : 0;
            if (r > best) {
                best = r;
                best_exx = exx;
            }
        }
        double erat = eyy / best_exx;
        if (best < s->corr_min)
            s->corr_min = best;
        if (erat < s->erat_min)
            s->erat_min = erat;
        if (erat > s->erat_max)
            s->erat_max = erat;
    }
    free(xs);
    free(y);
}

/* libopus alone, on the worker's lcore (the same CPU the engine runs on), before the
 * search and again after it (the shared VM drifts; the two are averaged): the decodes
 * and encodes the engine does per pair and frame (decode the Opus phones' packets,
 * encode the PCMU phones' audio) with the engine's codec settings, in a tight loop: one
 * codec state (hot in cache), and 256 states in turn (each fed its own consecutive
 * frames), as the engine's pool is used. Medians of five runs, on the thread's CPU
 * clock. */
static int libopus_alone(void);

static int libopus_lcore(void *arg)
{
    (void)arg;
    return libopus_alone();
}

/* Runs it on the worker lcore; which: 0 before the search, 1 after. */
static int libopus_measure(int which)
{
    if (rte_eal_remote_launch(libopus_lcore, NULL, C.wlcore) != 0 ||
        rte_eal_wait_lcore(C.wlcore) != 0) {
        fprintf(stderr, "capacity: libopus alone: a decode or encode failed\n");
        return -1;
    }
    C.lib_runs[which][0] = C.lib_dec_ns;
    C.lib_runs[which][1] = C.lib_enc_ns;
    C.lib_runs[which][2] = C.lib_cold_ns;
    fprintf(stderr, "capacity transcode: libopus alone on the worker's CPU (%s): decode %.0f ns "
            "+ encode %.0f ns per frame (one state); %.0f ns with %u states in turn\n",
            which ? "after the search" : "before the search", C.lib_dec_ns, C.lib_enc_ns,
            C.lib_cold_ns, C.lib_cold_states);
    if (which)   /* the figures compared: the mean of before and after */
        for (int k = 0; k < 3; k++) {
            double v = (C.lib_runs[0][k] + C.lib_runs[1][k]) / 2;
            *(k == 0 ? &C.lib_dec_ns : k == 1 ? &C.lib_enc_ns : &C.lib_cold_ns) = v;
        }
    return 0;
}

static int libopus_alone(void)
{
    md_opus_t o;
    uint8_t pkt[MD_OPUS_MAX_PACKET];
    int16_t pcm[FRAME];
    double dv[5], ev[5], cv[5];
    if (md_opus_create(&o, 8000, 24000, 5) != 0)
        return -1;
    for (int r = 0; r < 5; r++) {
        uint64_t a = thread_cpu_ns();
        for (uint32_t f = 0; f < OPUS_FRAMES; f++)
            if (md_opus_decode(&o, C.opkt[f], C.olen[f], pcm) != FRAME)
                return -1;
        uint64_t b = thread_cpu_ns();
        for (uint32_t f = 0; f < OPUS_FRAMES; f++)
            if (md_opus_encode(&o, C.prompt_lin + (f % PROMPT_FRAMES) * FRAME, pkt, sizeof(pkt)) <= 0)
                return -1;
        uint64_t e = thread_cpu_ns();
        dv[r] = (double)(b - a) / OPUS_FRAMES;
        ev[r] = (double)(e - b) / OPUS_FRAMES;
    }
    md_opus_destroy(&o);
    const unsigned K = 256, rounds = 8;
    size_t stride = (md_opus_memory_size(8000) + 63) & ~(size_t)63;
    uint8_t *mem = aligned_alloc(64, stride * K);
    md_opus_t *st = calloc(K, sizeof(md_opus_t));
    if (mem == NULL || st == NULL)
        return -1;
    for (unsigned k = 0; k < K; k++)
        if (md_opus_init(&st[k], mem + k * stride, stride, 8000, 24000, 5) != 0)
            return -1;
    for (int r = 0; r < 5; r++) {
        uint64_t a = thread_cpu_ns();
        for (unsigned q = 0; q < rounds; q++)
            for (unsigned k = 0; k < K; k++) {
                uint32_t f = (r * rounds + q + 17 * k) % OPUS_FRAMES;
                if (md_opus_decode(&st[k], C.opkt[f], C.olen[f], pcm) != FRAME ||
                    md_opus_encode(&st[k], C.prompt_lin + (f % PROMPT_FRAMES) * FRAME, pkt,
                                   sizeof(pkt)) <= 0)
                    return -1;
            }
        cv[r] = (double)(thread_cpu_ns() - a) / (rounds * K);
    }
    free(st);
    free(mem);
    qsort(dv, 5, sizeof(double), cmp_double);
    qsort(ev, 5, sizeof(double), cmp_double);
    qsort(cv, 5, sizeof(double), cmp_double);
    C.lib_dec_ns = dv[2];
    C.lib_enc_ns = ev[2];
    C.lib_cold_ns = cv[2];
    C.lib_cold_states = K;
    return 0;
}

/* The generator: N phones sending on schedule (channel c at phase c/N of each frame,
 * frames 0..J1 + 10), every packet that comes back checked, the events drained (and,
 * in one process, the conference members joined) until the worker has started tick
 * jend. Runs in the main lcore, or (--memif) in the generator process. */
static void gen_loop(uint32_t n, step_t *s)
{
    const uint32_t f_last = C.J1 + 10, key_until = C.J1 - 25;
    const uint64_t k_end = (uint64_t)(f_last + 1) * n;
    uint64_t k = 0, gen_busy = 0, gen_t0 = 0, gen_t1 = 0, lag_max = 0;
    uint32_t join_next = 0;
    const uint64_t win_from = C.t0 + (uint64_t)C.J0 * C.tick,
                   win_to = C.t0 + (uint64_t)(C.J1 + 1) * C.tick;
    for (;;) {
        uint64_t now = rte_rdtsc();
        int did = 0;
        if (k < k_end && now >= C.t0) {
            uint64_t kd = (now - C.t0) * n / C.tick + 1;
            if (kd > k_end)
                kd = k_end;
            unsigned batch = kd - k > GEN_BATCH ? GEN_BATCH : (unsigned)(kd - k);
            if (batch > 0) {
                struct rte_mbuf *mb[GEN_BATCH];
                if (rte_pktmbuf_alloc_bulk(C.gpool, mb, batch) != 0) {
                    s->mbuf_fail += batch;
                    k += batch;
                } else {
                    unsigned used = 0;
                    for (unsigned i = 0; i < batch; i++, k++) {
                        uint32_t c = (uint32_t)(k % n), f = (uint32_t)(k / n);
                        gch_t *g = &C.g[c];
                        uint8_t buf[FRAME];
                        const uint8_t *pl;
                        uint32_t plsum;
                        if (C.profile == PROF_TRANS && !(c & 1)) {
                            /* The Opus phone: its stream's pre-encoded packet. */
                            uint32_t x = (f + 17 * ((c / 2) % TR_STREAMS)) % OPUS_FRAMES;
                            size_t len = md_tx_build(&g->t, f == 0, C.opkt[x], C.olen[x],
                                                     OPUS_TS, rte_pktmbuf_mtod(mb[used], uint8_t *),
                                                     rte_pktmbuf_tailroom(mb[used]));
                            mb[used]->data_len = (uint16_t)len;
                            mb[used]->pkt_len = (uint32_t)len;
                            g->sent[f % SENT_SLOTS] = now;
                            used++;
                            continue;
                        }
                        if (C.profile == PROF_IVR) {
                            pl = ivr_payload(g, c, f, key_until, &plsum);
                        } else if (C.profile == PROF_TRANS) {
                            /* The PCMU phone: the prompt, from frame c on. */
                            pl = C.prompt_ulaw[(f + c) % PROMPT_FRAMES];
                            plsum = C.prompt_sum[(f + c) % PROMPT_FRAMES];
                        } else if (C.profile == PROF_CONF) {
                            conf_payload(buf, c, f);
                            plsum = md_pkt_sum(buf, CONF_BODY,
                                               C.cnoise_tail_sum[(f + 5 * c) % NOISE_FRAMES]);
                            pl = buf;
                            g->sent[f % SENT_SLOTS] = now;
                        } else {
                            bridge_payload(buf, c, f);
                            plsum = md_pkt_sum(buf, 12, C.noise_tail_sum[f % NOISE_FRAMES]);
                            pl = buf;
                            g->sent[f % SENT_SLOTS] = now;
                        }
                        size_t len = fast_build(g, f == 0, pl, plsum,
                                                rte_pktmbuf_mtod(mb[used], uint8_t *));
                        mb[used]->data_len = (uint16_t)len;
                        mb[used]->pkt_len = (uint32_t)len;
                        used++;
                    }
                    if (used < batch)
                        rte_pktmbuf_free_bulk(mb + used, batch - used);
                    unsigned ok = gen_send(mb, used);
                    if (ok < used) {
                        s->ring_full += used - ok;
                        rte_pktmbuf_free_bulk(mb + ok, used - ok);
                    }
                }
                did = 1;
                /* How far behind the schedule the generator is after this batch. */
                if (k < kd && now >= win_from && now < win_to) {
                    uint64_t due_k = C.t0 + k * C.tick / n;
                    if (now - due_k > lag_max)
                        lag_max = now - due_k;
                }
            }
        }
        struct rte_mbuf *mb[RX_BATCH];
        unsigned got = gen_recv(mb, RX_BATCH);
        if (got > 0) {
            uint64_t t = rte_rdtsc();
            for (unsigned i = 0; i < got; i++)
                check_packet(mb[i], t, s);
            rte_pktmbuf_free_bulk(mb, got);
            did = 1;
        }
        drain_events(s);
        if (!C.memif && C.profile == PROF_CONF && s->joined < n)
            conf_join(&join_next, s);
        uint64_t after = rte_rdtsc();
        if (now >= win_from && now < win_to) {
            if (gen_t0 == 0)
                gen_t0 = now;
            gen_t1 = after;
            if (did)
                gen_busy += after - now;
        }
        if (k >= k_end && atomic_load(&C.sh->started) >= C.jend * C.slots)
            break;
    }
    s->gen_lag_max = cyc_ms((int64_t)lag_max);
    s->gen_load = gen_t1 > gen_t0 ? (double)gen_busy / (double)(gen_t1 - gen_t0) : 0;
}

static int memif_step(uint32_t n, step_t *s);

static int run_step(uint32_t n, step_t *s)
{
    memset(s, 0, sizeof(*s));
    s->n = n;
    C.n = n;
    C.sh->stop = 0;
    C.skips = 0;
    atomic_store(&C.sh->started, 0);
    uint32_t warm = (uint32_t)lround(C.warmup * 1000 / TICK_MS);
    uint32_t meas = (uint32_t)lround(C.seconds * 1000 / TICK_MS);
    if (warm < 10)
        warm = 10;
    if (meas < 10)
        meas = 10;
    C.J0 = warm;
    C.J1 = warm + meas - 1;
    C.jend = C.J1 + 12;
    uint32_t f_last = C.J1 + 10, key_from = 10;   /* gen_loop: the same f_last */
    memset(C.log, 0, sizeof(tick_log_t) * C.log_max);
    memset(C.hist_d2w, 0, sizeof(uint32_t) * HIST_BINS);
    memset(C.hist_w2w, 0, sizeof(uint32_t) * HIST_BINS);
    C.conc[0] = C.conc[1] = 0;

    /* The engine's side, as the control thread would set it up before traffic. */
    md_iface_t ifc = { .mac = { 2, 0xaa, 0, 0, 0, 1 }, .has_ip4 = 1, .ip4 = { 10, 0, 0, 2 } };
    md_event_ring_init(&C.events);
    md_cmd_ring_init(&C.cmd);
    if (md_worker_init(&C.w, C.port, C.epool, &ifc, C.chans, C.media, n, ENG_PORT_BASE,
                       &C.events) != 0) {
        fprintf(stderr, "capacity: md_worker_init failed for %u channels\n", n);
        return -1;
    }
    /* As medleyd does on a port with transmit checksum offload. */
    C.w.tx_hw_csum = C.nic_offload ? MD_TX_HW_IP_CKSUM | MD_TX_HW_UDP_CKSUM : 0;
    md_chan_params_t prm = { .codec = MD_CODEC_PCMU, .pt = 0, .event_pt = 101,
                             .jb_depth = (uint8_t)C.jb_depth, .learn = 1 };
    md_chan_params_t oprm = prm;
    oprm.codec = MD_CODEC_OPUS8;
    oprm.pt = OPUS_PT;
    if (C.profile == PROF_TRANS && md_media_opus_pool(&C.w.wm, n / 2) != 0) {
        fprintf(stderr, "capacity: no memory for %u Opus codec states\n", n / 2);
        return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint16_t port;
        int opus = C.profile == PROF_TRANS && !(i & 1);
        int idx = md_chan_create(&C.w.table, opus ? &oprm : &prm, &port);
        if (idx != (int)i || port != ENG_PORT_BASE + 2 * i) {
            fprintf(stderr, "capacity: channel %u: md_chan_create gave %d\n", i, idx);
            return -1;
        }
        md_media_init(&C.media[i], C.profile == PROF_IVR, 0);
        /* An Opus channel takes a codec state of the worker's pool (engine/cmd.c). */
        if (opus && md_media_opus_attach(&C.w.wm, i) != 0) {
            fprintf(stderr, "capacity: channel %u: no Opus codec state\n", i);
            return -1;
        }
        if (C.profile == PROF_IVR)
            md_media_play(&C.media[i], &C.prompt, 65535, 0);
    }
    if (C.profile == PROF_BRIDGE || C.profile == PROF_TRANS)
        for (uint32_t i = 0; i + 1 < n; i += 2)
            if (md_media_bridge(&C.w.wm, i, i + 1) != 0) {
                fprintf(stderr, "capacity: bridge %u-%u failed\n", i, i + 1);
                return -1;
            }
    if (C.profile == PROF_CONF) {
        /* Three-party conferences of channels 3q, 3q+1, 3q+2, created before the traffic
         * with medleyd's defaults (K = 3 talkers, 400 ms hangover). The members join
         * later, through the command ring (see conf_join). */
        md_conf_set_init(C.confset, C.confs, n / 3 + 1, C.members, n);
        C.w.wm.conf = C.confset;
        for (uint32_t q = 0; q < n / 3; q++) {
            uint32_t id;
            int idx = md_conf_create(C.confset, 0, 0, &id);
            if (idx < 0) {
                fprintf(stderr, "capacity: conference %u: md_conf_create gave %d\n", q, idx);
                return -1;
            }
            C.g[3 * q].conf_idx = (uint32_t)idx;   /* read by the phones' set-up below */
            C.g[3 * q].conf_id = id;
        }
    }
    if (C.record && setup_recorder(s) != 0)
        return -1;

    /* The phones. */
    for (uint32_t c = 0; c < n; c++) {
        gch_t *g = &C.g[c];
        uint32_t ci = g->conf_idx, cid = g->conf_id;
        memset(g, 0, sizeof(*g));
        g->conf_idx = ci;
        g->conf_id = cid;
        md_tx_template_t t = { .src_mac = { 2, 0xbb, 0, (uint8_t)(c >> 16), (uint8_t)(c >> 8),
                                            (uint8_t)c },
                               .dst_mac = { 2, 0xaa, 0, 0, 0, 1 }, .ip_version = 4,
                               .src_port = (uint16_t)(GEN_PORT_BASE + 2 * c),
                               .dst_port = (uint16_t)(ENG_PORT_BASE + 2 * c), .ttl = 64,
                               .pt = C.profile == PROF_TRANS && !(c & 1) ? OPUS_PT : 0,
                               .ssrc = 0x51000000u + c, .seq = (uint16_t)(c * 7),
                               .ts = c * 1000u };
        t.src_ip[0] = 10;
        t.src_ip[1] = (uint8_t)(100 + (c >> 16));
        t.src_ip[2] = (uint8_t)(c >> 8);
        t.src_ip[3] = (uint8_t)c;
        memcpy(t.dst_ip, ifc.ip4, 4);
        g->t = t;
        g->key_digit = -1;
        g->last_j = g->last_f = g->last_f2 = -1;
        g->dec = -1;
        g->next_key = key_from + rnd() % 100;
        g->chan_id = C.chans[c].id;
        if (C.profile == PROF_CONF) {
            g->conf_idx = C.g[c - c % 3].conf_idx;
            g->conf_id = C.g[c - c % 3].conf_id;
        }
        fast_init(g);
    }
    /* (--memif: the generator process sets up its own reference decodes and decoders.) */
    if (C.profile == PROF_TRANS && !C.memif && trans_setup(n, f_last + 1) != 0)
        return -1;

    C.t0 = rte_rdtsc() + C.hz / 20;   /* 50 ms from now */
    if (rte_eal_remote_launch(worker_main, NULL, C.wlcore) != 0) {
        fprintf(stderr, "capacity: cannot launch the worker lcore\n");
        return -1;
    }
    if (C.memif) {
        if (memif_step(n, s) != 0)
            return -1;
    } else {
        gen_loop(n, s);
        C.sh->stop = 1;
        rte_eal_wait_lcore(C.wlcore);
        for (int i = 0; i < 4; i++) {
            while (rte_ring_count(C.txr) > 0)
                drain_tx(s);
            drain_events(s);
        }
        /* Leftovers of the input (the worker stopped) go back to the pool. */
        struct rte_mbuf *left[RX_BATCH];
        unsigned nl;
        while ((nl = rte_ring_dequeue_burst(C.rxr, (void **)left, RX_BATCH, NULL)) > 0)
            rte_pktmbuf_free_bulk(left, nl);
    }
    uint32_t ticks_total = atomic_load(&C.sh->started) / C.slots;
    if (C.profile == PROF_TRANS) {
        if (!C.memif)   /* --memif: the generator process did it (memif_step) */
            trans_verdict(s);
        md_media_opus_pool_free(&C.w.wm);
    }

    /* The verdict. */
    s->seconds = C.seconds;
    s->ticks = C.J1 - C.J0 + 1;
    for (uint32_t c = 0; c < n; c++) {
        gch_t *g = &C.g[c];
        s->expected += s->ticks;
        s->lost += g->win_rx < s->ticks ? s->ticks - g->win_rx : 0;
        s->bad += g->bad;
        s->missed += g->pend_n;
    }
    s->keyed = s->detected + s->missed;
    for (uint32_t c = 0; c < n; c++) {
        const md_jb_stats_t *js = &C.chans[c].jb.st;
        s->jb_late += js->late;
        s->jb_skew += js->skew_drops;
        s->jb_lost += js->lost;
    }
    s->conceal = C.conc[1] - C.conc[0];
    s->tx_dropped = C.w.dp.st.tx_dropped;
    s->ev_lost = C.events.lost + (C.memif ? C.sh->ev.lost : 0);
    s->skips = 0;   /* counted in the window below; C.skips is the whole run */
    /* Lateness and duration per slot tick; costs per 20 ms period (all its slots). */
    const uint32_t ns = C.slots, q0 = C.J0 * ns, q1 = (C.J1 + 1) * ns, nq = q1 - q0;
    double *late = malloc(sizeof(double) * nq), *dur = malloc(sizeof(double) * nq);
    s->end_max = 0;
    for (uint32_t q = q0; q < q1; q++) {
        const tick_log_t *L = &C.log[q];
        if (q > 0 && L->due != C.log[q - 1].due + C.tick / ns)
            s->skips++;   /* the worker gave up on the schedule here (catch-up rule) */
        late[q - q0] = cyc_ms((int64_t)(L->start - L->due));
        dur[q - q0] = cyc_ms((int64_t)(L->end - L->start));
        double e = cyc_ms((int64_t)(L->end - L->due));
        if (e > s->end_max)
            s->end_max = e;
    }
    qsort(late, nq, sizeof(double), cmp_double);
    qsort(dur, nq, sizeof(double), cmp_double);
    s->late_p50 = pct(late, nq, 0.5);
    s->late_p99 = pct(late, nq, 0.99);
    s->late_p999 = pct(late, nq, 0.999);
    s->late_max = pct(late, nq, 1.0);
    s->tick_p50 = pct(dur, nq, 0.5);
    s->tick_max = pct(dur, nq, 1.0);
    free(late);
    free(dur);
    uint64_t busy = C.log[q1].busy_before - C.log[q0].busy_before;
    uint64_t wall = C.log[q1].due - C.log[q0].due;
    s->load = (double)busy / (double)wall;
    s->ns_per_cf_mean = (double)busy * 1e9 / (double)C.hz / ((double)n * s->ticks);
    /* Medians over the 20 ms periods: a period in which another process took the CPU
     * (the TSC runs on) does not move them. */
    double *per = malloc(sizeof(double) * s->ticks), *tk = malloc(sizeof(double) * s->ticks);
    for (uint32_t j = C.J0; j <= C.J1; j++) {
        uint64_t b = C.log[(j + 1) * ns].busy_before - C.log[j * ns].busy_before, t = 0;
        for (uint32_t q = j * ns; q < (j + 1) * ns; q++)
            t += C.log[q].end - C.log[q].start;
        per[j - C.J0] = (double)b * 1e9 / (double)C.hz / n;
        tk[j - C.J0] = (double)t * 1e9 / (double)C.hz / n;
    }
    qsort(per, s->ticks, sizeof(double), cmp_double);
    qsort(tk, s->ticks, sizeof(double), cmp_double);
    s->ns_per_cf = pct(per, s->ticks, 0.5);
    {
        uint64_t cb = C.log[q1].cpu_busy_before - C.log[q0].cpu_busy_before, ct = 0;
        uint64_t nr = C.log[q1].runs_before - C.log[q0].runs_before;
        double ov = (double)nr * C.run_overhead_ns;
        cb = (double)cb > ov ? cb - (uint64_t)ov : 0;
        for (uint32_t q = q0; q < q1; q++)
            ct += C.log[q].cpu_tick;
        double cf = (double)n * s->ticks;
        s->cpu_ns = (double)cb / cf;
        s->cpu_tick_ns = (double)ct / cf;
        s->cpu_rx_ns = s->cpu_ns - s->cpu_tick_ns;
        s->projected = s->cpu_ns > 0 ? TICK_MS * 1e6 / s->cpu_ns : 0;
    }
    s->tick_ns = pct(tk, s->ticks, 0.5);
    s->rx_ns = s->ns_per_cf - s->tick_ns;
    free(per);
    free(tk);
    {
        double cpu = (double)(C.ru[1].ru_utime.tv_sec - C.ru[0].ru_utime.tv_sec) +
                     (double)(C.ru[1].ru_stime.tv_sec - C.ru[0].ru_stime.tv_sec) +
                     (double)(C.ru[1].ru_utime.tv_usec - C.ru[0].ru_utime.tv_usec) / 1e6 +
                     (double)(C.ru[1].ru_stime.tv_usec - C.ru[0].ru_stime.tv_usec) / 1e6;
        s->worker_cpu = cpu / ((double)wall / (double)C.hz);
        s->worker_preempt = (uint64_t)(C.ru[1].ru_nivcsw - C.ru[0].ru_nivcsw);
    }
    s->d2w_p50 = hist_pct(C.hist_d2w, 0.5);
    s->d2w_p99 = hist_pct(C.hist_d2w, 0.99);
    s->d2w_p999 = hist_pct(C.hist_d2w, 0.999);
    s->w2w_p50 = hist_pct(C.hist_w2w, 0.5);
    s->w2w_p99 = hist_pct(C.hist_w2w, 0.99);
    s->w2w_p999 = hist_pct(C.hist_w2w, 0.999);
    if (C.record)
        finish_recorder(s, ticks_total);

    char *w = s->why;
    size_t cap = sizeof(s->why);
#define WHY(...)                                                                            \
    do {                                                                                    \
        size_t used = strlen(s->why);                                                       \
        if (used < cap)                                                                     \
            snprintf(w + used, cap - used, __VA_ARGS__);                                    \
    } while (0)
    if (s->lost)
        WHY("%llu lost; ", (unsigned long long)s->lost);
    if (s->bad)
        WHY("%llu bad; ", (unsigned long long)s->bad);
    if (s->conceal)
        WHY("%llu concealed; ", (unsigned long long)s->conceal);
    if (s->jb_late || s->jb_skew)
        WHY("jitter buffer: %llu late, %llu dropped for skew; ", (unsigned long long)s->jb_late,
            (unsigned long long)s->jb_skew);
    if (s->ring_full || s->mbuf_fail || s->tx_dropped)
        WHY("rx ring full %llu, mbuf %llu, tx dropped %llu; ", (unsigned long long)s->ring_full,
            (unsigned long long)s->mbuf_fail, (unsigned long long)s->tx_dropped);
    if (s->missed || s->wrong || s->extra)
        WHY("digits missed %llu wrong %llu extra %llu; ", (unsigned long long)s->missed,
            (unsigned long long)s->wrong, (unsigned long long)s->extra);
    if (s->ev_lost)
        WHY("%llu events lost; ", (unsigned long long)s->ev_lost);
    if (s->skips)
        WHY("%llu ticks skipped; ", (unsigned long long)s->skips);
    if (s->end_max > C.deadline_ms)
        WHY("tick ended %.1f ms after due (deadline %.0f); ", s->end_max, C.deadline_ms);
    if (C.profile == PROF_CONF && (s->joined != n || s->join_failed))
        WHY("conference joins: %u of %u answered, %u failed; ", s->joined, n, s->join_failed);
    if (C.profile == PROF_TRANS &&
        (s->corr_n == 0 || s->corr_min < CORR_MIN || s->erat_min < 0.25 || s->erat_max > 4))
        WHY("Opus legs' audio: correlation %.2f (min %.2f), energy ratio %.2f-%.2f (0.25-4); ",
            s->corr_min, CORR_MIN, s->erat_min, s->erat_max);
    if (s->rec_dropped || s->rec_errors || s->rec_refused)
        WHY("recorder dropped %llu refused %llu errors %llu; ",
            (unsigned long long)s->rec_dropped, (unsigned long long)s->rec_refused,
            (unsigned long long)s->rec_errors);
    s->pass = s->why[0] == '\0';
    /* The generator ran behind its schedule by more than the jitter buffer holds: a
     * failure then may be the generator's, not the engine's. */
    if (s->gen_lag_max > (double)(C.jb_depth - 1) * TICK_MS) {
        s->gen_limited = 1;
        WHY("generator %.1f ms behind; ", s->gen_lag_max);
    }
    /* Another process had the worker's core (involuntary switches of the worker thread, or
     * under 97% of the wall time on its CPU), or the generator fell behind: a failure then
     * does not tell the engine's limit on a core of its own. */
    s->disturbed = !s->pass && (s->worker_preempt > 0 || s->worker_cpu < 0.97 || s->gen_limited);
    if (s->pass)
        snprintf(s->why, sizeof(s->why), "ok");
    else if (strlen(s->why) >= 2)
        s->why[strlen(s->why) - 2] = '\0';
    return 0;
}


/* ------------------------------------------------------------------ --memif */

/* Whether the generator process still runs; if it ended, says how (once) and reaps it.
 * An exit with status 0 (after quit) is not reported. */
static int gen_alive(void)
{
    if (C.child <= 0)
        return 0;
    int st;
    pid_t r = waitpid(C.child, &st, WNOHANG);
    if (r == 0)
        return 1;
    if (r == C.child) {
        if (WIFSIGNALED(st))
            fprintf(stderr, "capacity: the generator process (pid %d) was killed by signal %d "
                            "(%s)\n", (int)C.child, WTERMSIG(st), strsignal(WTERMSIG(st)));
        else if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
            fprintf(stderr, "capacity: the generator process (pid %d) exited with status %d\n",
                    (int)C.child, WEXITSTATUS(st));
    }
    C.child = 0;
    return 0;
}

/* Kills the generator process (after a failure) and reaps it. */
static void gen_kill(void)
{
    if (C.child > 0) {
        kill(C.child, SIGKILL);
        waitpid(C.child, NULL, 0);
        C.child = 0;
    }
}

/* The end: the generator process is told to quit and given 10 s, then killed; with
 * rm_sock, the socket file goes (after the memif port is closed: DPDK removes it then,
 * this is for the paths that never got there). Safe to call more than once. */
static void memif_finish(int rm_sock)
{
    if (C.child > 0 && C.memif_failed)
        gen_kill();   /* stuck or unreachable: no use waiting */
    if (C.child > 0) {
        atomic_store(&C.sh->quit, 1);
        for (int i = 0; i < 1000 && gen_alive(); i++)
            usleep(10000);
        if (C.child > 0) {
            fprintf(stderr, "capacity: the generator process (pid %d) did not quit in 10 s: "
                            "killed\n", (int)C.child);
            gen_kill();
        }
    }
    if (rm_sock && C.sock[0] != '\0') {
        unlink(C.sock);
        C.sock[0] = '\0';
    }
}

/* The control thread's part of the engine process: the worker's events go to the
 * generator process (which matches them against the digits it keyed, as the one-process
 * generator does) through a second event ring in the shared region. Returns how many. */
static unsigned relay_events(void)
{
    md_event_t ev;
    unsigned k = 0;
    while (md_event_pop(&C.events, &ev)) {
        md_event_push(&C.sh->ev, &ev);   /* full: counted in sh->ev.lost */
        k++;
    }
    return k;
}

/* A step with the generator in the other process: issue it, play the control thread
 * (relay events, join conference members) while the worker runs, stop the worker when
 * the generator says it is done, let the generator drain the last packets, and take its
 * counters. A dead generator or a step that does not end in time fails the run (exit
 * status 3) instead of hanging. */
static int memif_step(uint32_t n, step_t *s)
{
    shared_t *S = C.sh;
    uint32_t seq = atomic_load(&S->step_seq) + 1;
    memset(&S->gs, 0, sizeof(S->gs));
    md_event_ring_init(&S->ev);
    S->n = n;
    S->J0 = C.J0;
    S->J1 = C.J1;
    S->jend = C.jend;
    S->t0 = C.t0;
    atomic_store_explicit(&S->step_seq, seq, memory_order_release);
    /* The step's nominal length and a generous margin (an overloaded worker stretches it). */
    double nominal_s = (double)(C.jend + 1) * TICK_MS / 1000.0;
    uint64_t deadline = C.t0 + (uint64_t)((30 + 5 * nominal_s) * (double)C.hz);
    uint32_t join_next = 0;
    const char *err = NULL;
    while (!S->stop) {
        unsigned busy = relay_events();
        if (C.profile == PROF_CONF && s->joined < n) {
            conf_join(&join_next, s);
            busy += join_next < n;
        }
        if (!gen_alive()) {
            err = "the generator process ended during the step";
            break;
        }
        if (rte_rdtsc() > deadline) {
            err = "the generator process did not finish the step in time";
            break;
        }
        if (busy == 0)
            usleep(1000);   /* the generator's CPU: wake up as little as the event ring allows */
    }
    if (err != NULL)
        S->stop = 1;   /* the worker stops at its period's end */
    rte_eal_wait_lcore(C.wlcore);
    relay_events();
    if (C.profile == PROF_CONF) {
        md_cmd_reply_t rep;
        while (md_cmd_take_reply(&C.cmd, &rep)) {
            s->joined++;
            s->join_failed += rep.status != 0;
        }
    }
    /* The input the worker did not take goes back to the pool (the generator sent its
     * last packet before it said it was done). */
    struct rte_mbuf *left[RX_BATCH];
    uint16_t nl;
    while ((nl = rte_eth_rx_burst(C.port, 0, left, RX_BATCH)) > 0)
        rte_pktmbuf_free_bulk(left, nl);
    if (err == NULL) {
        atomic_store_explicit(&S->worker_done, seq, memory_order_release);
        uint64_t until = rte_rdtsc() + 30 * C.hz;
        while (atomic_load_explicit(&S->done_seq, memory_order_acquire) != seq) {
            if (!gen_alive()) {
                err = "the generator process ended at the end of the step";
                break;
            }
            if (rte_rdtsc() > until) {
                err = "the generator process did not report the step within 30 s";
                break;
            }
            usleep(200);
        }
    }
    if (err != NULL) {
        fprintf(stderr, "\ncapacity: --memif, step N=%u: %s; giving up\n", n, err);
        gen_kill();
        C.memif_failed = 1;
        return -1;
    }
    const step_t *g = &S->gs;
    s->mbuf_fail = g->mbuf_fail;
    s->ring_full = g->ring_full;
    s->other += g->other;
    s->opus_decoded = g->opus_decoded;
    s->talk_ev = g->talk_ev;
    s->detected = g->detected;
    s->missed = g->missed;
    s->wrong = g->wrong;
    s->extra = g->extra;
    s->gen_lag_max = g->gen_lag_max;
    s->gen_load = g->gen_load;
    s->corr_n = g->corr_n;
    s->corr_min = g->corr_min;
    s->erat_min = g->erat_min;
    s->erat_max = g->erat_max;
    return 0;
}

/* The generator process, one step: what gen_loop does in one process, then (the worker
 * stops at the end of its period) the last packets and events. */
static void gen_child_step(uint32_t seq)
{
    shared_t *S = C.sh;
    C.n = S->n;
    C.J0 = S->J0;
    C.J1 = S->J1;
    C.jend = S->jend;
    C.t0 = S->t0;
    step_t *s = &S->gs;
    /* Transcode: the reference decodes (made at start-up, see gen_child) and the
     * generator's decoders of this step's Opus legs, as run_step does in one process. */
    if (C.profile == PROF_TRANS && trans_setup(C.n, C.J1 + 11) != 0) {
        fprintf(stderr, "capacity (generator process): the transcode reference failed\n");
        _exit(3);
    }
    gen_loop(C.n, s);
    S->stop = 1;
    while (atomic_load_explicit(&S->worker_done, memory_order_acquire) != seq) {
        drain_tx(s);
        drain_events(s);
        if (getppid() != C.parent)
            _exit(3);
    }
    for (int i = 0; i < 4; i++) {
        while (drain_tx(s) > 0)
            ;
        drain_events(s);
    }
    if (C.profile == PROF_TRANS)
        trans_verdict(s);   /* the Opus legs it decoded against what their phones sent */
    atomic_store_explicit(&S->done_seq, seq, memory_order_release);
}

/* --memif, in either process: the process's one port (its memif vdev), one queue each
 * way on pool, started. Returns the port, or -1. */
static int start_memif_port(struct rte_mempool *pool)
{
    uint16_t port = RTE_MAX_ETHPORTS, p;
    RTE_ETH_FOREACH_DEV(p)
    if (port == RTE_MAX_ETHPORTS)
        port = p;
    struct rte_eth_conf conf;
    memset(&conf, 0, sizeof(conf));
    if (pool == NULL || port == RTE_MAX_ETHPORTS ||
        rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
        rte_eth_rx_queue_setup(port, 0, 1024, SOCKET_ID_ANY, NULL, pool) != 0 ||
        rte_eth_tx_queue_setup(port, 0, 1024, SOCKET_ID_ANY, NULL) != 0 ||
        rte_eth_dev_start(port) != 0)
        return -1;
    return port;
}

/* The generator process (forked before either EAL starts): its own EAL on the
 * generator's CPU with a memif client port, then the steps the engine process issues.
 * Dies with the engine process (PR_SET_PDEATHSIG). Returns its exit status. */
static int gen_child(void)
{
    shared_t *S = C.sh;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != C.parent)
        return 3;
    cpu_set_t cs;
    CPU_ZERO(&cs);
    CPU_SET(C.gen_cpu, &cs);
    sched_setaffinity(0, sizeof(cs), &cs);   /* EAL's own threads too */
    while (!atomic_load(&S->server_ready)) {   /* the engine process supervises the wait */
        if (getppid() != C.parent || atomic_load(&S->quit))
            return 3;
        usleep(5000);
    }
    char prefix[64], lc[16], vdev[300];
    snprintf(prefix, sizeof(prefix), "--file-prefix=medley-cap-gen-%d", (int)C.parent);
    snprintf(lc, sizeof(lc), "%d", C.gen_cpu);
    snprintf(vdev, sizeof(vdev), "--vdev=net_memif0,role=client,socket=%s,socket-abstract=no,"
             "rsize=14", C.sock);
    char *eal[] = { "medley-bench-gen", "--no-huge", "--no-shconf", "-m", "1024", prefix,
                    "--no-pci", "--no-telemetry", "-l", lc, vdev, "--log-level=error", NULL };
    if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0) {
        fprintf(stderr, "capacity (generator process): EAL init failed: %s\n",
                rte_strerror(rte_errno));
        return 3;
    }
    C.hz = S->hz;   /* the engine's TSC rate: both schedules on one clock */
    C.tick = S->tick;
    uint16_t room = RTE_PKTMBUF_HEADROOM + 512;
    C.gpool = rte_pktmbuf_pool_create("cap_gen", POOL_SIZE, 256, 0, room, SOCKET_ID_ANY);
    int started = start_memif_port(C.gpool);
    if (started < 0) {
        fprintf(stderr, "capacity (generator process): cannot start the memif client port "
                        "(socket %s)\n", C.sock);
        rte_eal_cleanup();
        return 3;
    }
    const uint16_t port = (uint16_t)started;
    C.port = port;
    int rc = 0;
    for (int i = 0;; i++) {
        struct rte_eth_link l;
        if (rte_eth_link_get_nowait(port, &l) == 0 && l.link_status == RTE_ETH_LINK_UP)
            break;
        if (i == 3000 || getppid() != C.parent) {   /* 30 s */
            fprintf(stderr, "capacity (generator process): the memif link did not come up "
                            "(socket %s)\n", C.sock);
            rc = 3;
            break;
        }
        usleep(10000);
    }
    if (rc == 0 && C.profile == PROF_TRANS) {
        /* The reference decodes for as many frames as every step sends (run_step's J1 +
         * 11), before the engine process starts a step: decoding them takes tens of ms. */
        uint32_t warm = (uint32_t)lround(C.warmup * 1000 / TICK_MS);
        uint32_t meas = (uint32_t)lround(C.seconds * 1000 / TICK_MS);
        warm = warm < 10 ? 10 : warm;
        meas = meas < 10 ? 10 : meas;
        if (trans_setup(2, warm + meas - 1 + 11) != 0) {
            fprintf(stderr, "capacity (generator process): the transcode reference failed\n");
            rc = 3;
        }
    }
    if (rc == 0) {
        atomic_store(&S->gen_up, 1);
        if (C.nice != 0)
            setpriority(PRIO_PROCESS, (id_t)gettid(), C.nice);
        uint32_t done = 0;
        for (;;) {
            uint32_t seq = atomic_load_explicit(&S->step_seq, memory_order_acquire);
            if (seq != done) {
                gen_child_step(seq);
                done = seq;
                continue;
            }
            if (atomic_load(&S->quit) || getppid() != C.parent)
                break;
            usleep(200);
        }
    }
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
    char rdir[4096];   /* the EAL's (empty) runtime directory for this file prefix */
    snprintf(rdir, sizeof(rdir), "%s", rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    rmdir(rdir);
    return rc;
}

/* Memory both processes use, mapped before the fork (--memif), else ordinary memory. */
static void *shalloc(size_t size)
{
    if (!C.memif)
        return calloc(1, size);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* ------------------------------------------------------------------ results */

typedef struct {
    uint32_t n;
    unsigned trials, passes;
    step_t med;                   /* medians of the trials; counts summed */
    step_t t[8];
} result_t;

static double med_of(result_t *r, size_t off)
{
    double v[8];
    for (unsigned i = 0; i < r->trials; i++)
        v[i] = *(const double *)((const char *)&r->t[i] + off);
    qsort(v, r->trials, sizeof(double), cmp_double);
    return r->trials % 2 ? v[r->trials / 2] : (v[r->trials / 2 - 1] + v[r->trials / 2]) / 2;
}

static void summarise(result_t *r)
{
    step_t *m = &r->med;
    *m = r->t[0];
    static const size_t dbl[] = {
        offsetof(step_t, load), offsetof(step_t, ns_per_cf), offsetof(step_t, ns_per_cf_mean),
        offsetof(step_t, rx_ns), offsetof(step_t, tick_ns), offsetof(step_t, worker_cpu),
        offsetof(step_t, cpu_ns), offsetof(step_t, cpu_rx_ns), offsetof(step_t, cpu_tick_ns),
        offsetof(step_t, projected),
        offsetof(step_t, late_p50),
        offsetof(step_t, late_p99), offsetof(step_t, late_p999), offsetof(step_t, late_max),
        offsetof(step_t, end_max), offsetof(step_t, tick_p50), offsetof(step_t, tick_max),
        offsetof(step_t, d2w_p50), offsetof(step_t, d2w_p99), offsetof(step_t, d2w_p999),
        offsetof(step_t, w2w_p50), offsetof(step_t, w2w_p99), offsetof(step_t, w2w_p999),
        offsetof(step_t, gen_lag_max), offsetof(step_t, gen_load), offsetof(step_t, rec_open_s),
    };
    for (size_t i = 0; i < sizeof(dbl) / sizeof(dbl[0]); i++)
        *(double *)((char *)m + dbl[i]) = med_of(r, dbl[i]);
    for (unsigned i = 1; i < r->trials; i++) {
        const step_t *t = &r->t[i];
        m->expected += t->expected;
        m->lost += t->lost;
        m->bad += t->bad;
        m->conceal += t->conceal;
        m->ring_full += t->ring_full;
        m->tx_dropped += t->tx_dropped;
        m->mbuf_fail += t->mbuf_fail;
        m->ev_lost += t->ev_lost;
        m->skips += t->skips;
        m->jb_late += t->jb_late;
        m->jb_skew += t->jb_skew;
        m->jb_lost += t->jb_lost;
        m->keyed += t->keyed;
        m->detected += t->detected;
        m->missed += t->missed;
        m->wrong += t->wrong;
        m->extra += t->extra;
        m->talk_ev += t->talk_ev;
        m->opus_decoded += t->opus_decoded;
        m->corr_n += t->corr_n;
        m->corr_min = t->corr_min < m->corr_min ? t->corr_min : m->corr_min;
        m->erat_min = t->erat_min < m->erat_min ? t->erat_min : m->erat_min;
        m->erat_max = t->erat_max > m->erat_max ? t->erat_max : m->erat_max;
        m->rec_frames += t->rec_frames;
        m->rec_dropped += t->rec_dropped;
        m->rec_errors += t->rec_errors;
        m->gen_limited |= t->gen_limited;
        m->disturbed |= t->disturbed;
        m->tries += t->tries;
        if (!t->pass && m->pass)
            snprintf(m->why, sizeof(m->why), "%s", t->why);
    }
    m->pass = r->passes == r->trials;
}

static const char *profile_name(void)
{
    return C.profile == PROF_IVR ? "ivr" : C.profile == PROF_CONF ? "conference"
           : C.profile == PROF_TRANS ? "transcode" : C.record ? "bridge+record" : "bridge";
}

static const char *transport_name(void)
{
    if (C.nic_offload)
        return "net_ring (the generator on the second lcore of the one process), playing a NIC "
               "with IPv4/UDP checksum offload (--nic-offload)";
    return C.memif ? "net_memif (the generator in a second process, memif copy mode)"
                   : "net_ring (the generator on the second lcore of the one process); "
                     "checksums in software";
}

static void cpu_model(char *out, size_t len)
{
    snprintf(out, len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return;
    char line[512], model[256] = "", fam[32] = "", mod[32] = "";
    while (fgets(line, sizeof(line), f)) {
        char *v = strchr(line, ':');
        if (v == NULL)
            continue;
        v += 2;
        v[strcspn(v, "\n")] = '\0';
        if (strncmp(line, "model name", 10) == 0 && model[0] == '\0')
            snprintf(model, sizeof(model), "%s", v);
        else if (strncmp(line, "cpu family", 10) == 0 && fam[0] == '\0')
            snprintf(fam, sizeof(fam), "%s", v);
        else if (strncmp(line, "model\t", 6) == 0 && mod[0] == '\0')
            snprintf(mod, sizeof(mod), "%s", v);
    }
    fclose(f);
    snprintf(out, len, "%s (family %s model %s), %ld online CPUs, DSP path %s", model, fam,
             mod, sysconf(_SC_NPROCESSORS_ONLN), md_isa_name(md_cpu_default_isa()));
}

static size_t mem_per_channel(size_t *chan, size_t *media, size_t *rec)
{
    *chan = sizeof(md_channel_t);
    *media = sizeof(md_media_t);
    /* Recording (bridge --record): one stereo recording per pair: its buffer (16 KiB)
     * and 10 ticks of the producer ring (656 bytes a stereo frame), shared by two legs. */
    *rec = C.record ? (16384 + 656 * 10) / 2 : 0;
    /* Conference: a member entry per channel and a third of a conference. */
    if (C.profile == PROF_CONF)
        *rec = sizeof(md_conf_member_t) + sizeof(md_conf_t) / 3;
    /* Transcode: an Opus codec state (encoder and decoder) per pair. */
    if (C.profile == PROF_TRANS)
        *rec = ((md_opus_memory_size(8000) + 63) & ~(size_t)63) / 2;
    return *chan + *media + *rec;
}

static void print_table(result_t *res, unsigned nres, uint32_t best, const char *cpu)
{
    size_t mc, mm, mr;
    size_t mem = mem_per_channel(&mc, &mm, &mr);
    printf("\nmedley-bench capacity: profile %s, %.1f s measured per step after %.1f s warm-up, "
           "%u trial(s) per N\n", profile_name(), C.seconds, C.warmup, C.repeat);
    printf("cpu: %s\n", cpu);
    printf("transport: %s\n", transport_name());
    printf("\n%7s %-4s %2s %6s %5s %15s %15s %21s %7s %13s %13s %7s %9s %s\n", "N", "ok", "tr", "load",
           "wcpu", "ns/chf rx+tick", "cpu ns rx+tick", "tick late p50/99/99.9", "tick", "due->wire",
           C.profile != PROF_IVR ? "wire->wire" : "", "genlag", "lost/bad",
           C.profile == PROF_IVR ? "digits ok/keyed" : C.record ? "rec frames/drop"
           : C.profile == PROF_CONF ? "talk events"
           : C.profile == PROF_TRANS ? "opus dec/corr/erat" : "");
    for (unsigned i = 0; i < nres; i++) {
        const step_t *s = &res[i].med;
        char extra[64] = "", w2w[32] = "";
        if (C.profile == PROF_IVR)
            snprintf(extra, sizeof(extra), "%llu/%llu", (unsigned long long)s->detected,
                     (unsigned long long)s->keyed);
        else if (C.record)
            snprintf(extra, sizeof(extra), "%llu/%llu", (unsigned long long)s->rec_frames,
                     (unsigned long long)s->rec_dropped);
        else if (C.profile == PROF_CONF)
            snprintf(extra, sizeof(extra), "%llu", (unsigned long long)s->talk_ev);
        else if (C.profile == PROF_TRANS)
            snprintf(extra, sizeof(extra), "%llu/%.2f/%.2f-%.2f",
                     (unsigned long long)s->opus_decoded, s->corr_min, s->erat_min, s->erat_max);
        if (C.profile != PROF_IVR)
            snprintf(w2w, sizeof(w2w), "%.1f/%.1f", s->w2w_p50, s->w2w_p99);
        char late[48], d2w[32], lb[40], ns[40];
        snprintf(late, sizeof(late), "%.3f/%.3f/%.3f", s->late_p50, s->late_p99, s->late_p999);
        snprintf(d2w, sizeof(d2w), "%.2f/%.2f", s->d2w_p50, s->d2w_p99);
        snprintf(lb, sizeof(lb), "%llu/%llu", (unsigned long long)s->lost,
                 (unsigned long long)s->bad);
        snprintf(ns, sizeof(ns), "%.0f=%.0f+%.0f", s->ns_per_cf, s->rx_ns, s->tick_ns);
        char cns[40];
        snprintf(cns, sizeof(cns), "%.0f=%.0f+%.0f", s->cpu_ns, s->cpu_rx_ns, s->cpu_tick_ns);
        printf("%7u %-4s %2u %5.1f%% %4.0f%% %15s %15s %21s %5.2fms %13s %13s %5.1fms %9s %s%s%s\n",
               s->n, s->pass ? "PASS" : s->gen_limited ? "GEN" : s->disturbed ? "DIST" : "FAIL",
               s->tries,
               100 * s->load,
               100 * s->worker_cpu, ns, cns, late, s->tick_p50, d2w, w2w, s->gen_lag_max, lb, extra,
               s->pass ? "" : "  ", s->pass ? "" : s->why);
    }
    printf("\n");
    if (best > 0)
        printf("channels per worker core: %u (%s, zero loss, measured)\n", best, profile_name());
    else
        printf("channels per worker core: no N passed\n");
    /* The engine's own cost at the largest N run, as a projection for a dedicated core. */
    /* From the largest N that passed (else the largest whose input all got in: beyond
     * that the receive half is not being done and the figure would flatter). */
    const step_t *big = NULL;
    for (unsigned i = 0; i < nres; i++)
        if (res[i].med.pass && (big == NULL || res[i].med.n > big->n))
            big = &res[i].med;
    for (unsigned i = 0; big == NULL && i < nres; i++)
        if (res[i].med.ring_full == 0 && res[i].med.conceal == 0)
            big = &res[i].med;
    if (big != NULL && big->cpu_ns > 0)
        printf("engine CPU cost at N=%u: %.0f ns per channel-frame (receive %.0f, tick %.0f) "
               "-> %.0f channels per fully available core (projection, not a zero-loss "
               "measurement)\n",
               big->n, big->cpu_ns, big->cpu_rx_ns, big->cpu_tick_ns, big->projected);
    if (C.profile == PROF_TRANS && big != NULL && big->cpu_ns > 0) {
        /* Per pair and frame the engine does one Opus decode and one Opus encode (and
         * the G.711 leg, two receives, two sends): two channel-frames. */
        double pair = 2 * big->cpu_ns, lib = C.lib_dec_ns + C.lib_enc_ns;
        printf("transcode at N=%u: engine %.0f ns per pair-frame (2 channel-frames: Opus in ->"
               " PCMU out, PCMU in -> Opus out); libopus alone %.0f ns (decode %.0f + encode "
               "%.0f, one codec state, tight loop on the worker's CPU, mean of before and after the "
               "search) -> %.2fx (issue's target: "
               "within 15%%, <= 1.15x: %s); against %u codec states in turn (%.0f ns) %.2fx\n",
               big->n, pair, lib, C.lib_dec_ns, C.lib_enc_ns, pair / lib,
               pair / lib <= 1.15 ? "met" : "missed", C.lib_cold_states, C.lib_cold_ns,
               pair / C.lib_cold_ns);
    }
    printf("memory per channel: %zu bytes (md_channel_t %zu incl. jitter buffer, md_media_t %zu",
           mem, mc, mm);
    if (C.record)
        printf(", recording share %zu", mr);
    if (C.profile == PROF_CONF)
        printf(", conference member and a third of a conference %zu", mr);
    if (C.profile == PROF_TRANS)
        printf(", half an Opus codec state %zu", mr);
    printf(")\n");
    printf("columns: ok = PASS, FAIL, DIST (failed while another process had the worker's "
           "CPU or the generator was behind, after every retry) or GEN (the generator fell "
           "behind by more than the jitter buffer holds); tr = runs it took; load = worker busy / wall; wcpu = the worker thread's CPU time / wall (under "
           "100%%: other processes took the core); ns/chf = worker busy ns per channel-frame "
           "(median 20 ms period, TSC: includes time other processes took), receive bursts + tick; "
           "cpu ns = the same on the worker thread's CPU clock (mean; what the engine itself "
           "costs); tick late = tick start - due (ms; a tick is one 1 ms slot of the "
           "channels, or the whole table with --slots 1); "
           "tick = tick duration p50; due->wire = the channel's tick due -> packet at the "
           "phone p50/p99 "
           "(ms)%s; genlag = generator's worst lag behind its schedule\n",
           C.profile == PROF_BRIDGE ? "; wire->wire = phone A sends -> phone B receives p50/p99 "
                                      "(ms, includes the jitter buffer)"
           : C.profile == PROF_CONF ? "; wire->wire = a member sends -> each other member "
                                      "receives it in the mix p50/p99 (ms, includes the "
                                      "jitter buffer)"
           : C.profile == PROF_TRANS ? "; wire->wire = the Opus phone sends -> the PCMU phone "
                                       "receives it decoded p50/p99 (ms, includes the jitter "
                                       "buffer); opus dec/corr/erat = engine Opus packets the "
                                       "generator decoded, worst normalised correlation of a "
                                       "decoded Opus leg with what its PCMU phone sent, energy "
                                       "ratio range"
                                    : "");
}

static void json_step(FILE *f, const step_t *s)
{
    fprintf(f,
            "{\"n\": %u, \"pass\": %s, \"generator_limited\": %s, \"disturbed\": %s, "
            "\"tries\": %u, \"why\": \"%s\", "
            "\"ticks\": %u, \"worker_load\": %.4f, \"ns_per_channel_frame\": %.1f, "
            "\"ns_per_channel_frame_mean\": %.1f, \"rx_ns_per_channel_frame\": %.1f, "
            "\"tick_ns_per_channel_frame\": %.1f, \"worker_cpu_share\": %.4f, "
            "\"worker_preemptions\": %llu, \"cpu_ns_per_channel_frame\": %.1f, "
            "\"cpu_rx_ns\": %.1f, \"cpu_tick_ns\": %.1f, \"projected_channels_per_core\": %.0f, "
            "\"tick_late_ms\": {\"p50\": %.4f, \"p99\": %.4f, \"p999\": %.4f, \"max\": %.4f}, "
            "\"tick_end_max_ms\": %.3f, \"tick_ms\": {\"p50\": %.3f, \"max\": %.3f}, "
            "\"due_to_wire_ms\": {\"p50\": %.3f, \"p99\": %.3f, \"p999\": %.3f}, ",
            s->n, s->pass ? "true" : "false", s->gen_limited ? "true" : "false",
            s->disturbed ? "true" : "false", s->tries, s->why,
            s->ticks, s->load, s->ns_per_cf, s->ns_per_cf_mean, s->rx_ns, s->tick_ns,
            s->worker_cpu, (unsigned long long)s->worker_preempt, s->cpu_ns, s->cpu_rx_ns,
            s->cpu_tick_ns, s->projected, s->late_p50, s->late_p99, s->late_p999,
            s->late_max, s->end_max, s->tick_p50, s->tick_max, s->d2w_p50, s->d2w_p99,
            s->d2w_p999);
    if (C.profile != PROF_IVR) {
        /* No sample (a step where nothing got through): null, JSON has no NaN. */
        char a[32], b[32], c[32];
        snprintf(a, sizeof(a), isnan(s->w2w_p50) ? "null" : "%.3f", s->w2w_p50);
        snprintf(b, sizeof(b), isnan(s->w2w_p99) ? "null" : "%.3f", s->w2w_p99);
        snprintf(c, sizeof(c), isnan(s->w2w_p999) ? "null" : "%.3f", s->w2w_p999);
        fprintf(f, "\"wire_to_wire_ms\": {\"p50\": %s, \"p99\": %s, \"p999\": %s}, ", a, b, c);
    }
    fprintf(f,
            "\"generator_lag_max_ms\": %.3f, \"generator_load\": %.4f, \"expected\": %llu, "
            "\"lost\": %llu, \"bad\": %llu, \"concealed\": %llu, \"rx_ring_full\": %llu, "
            "\"tx_dropped\": %llu, \"mbuf_fail\": %llu, \"events_lost\": %llu, "
            "\"ticks_skipped\": %llu, \"jb_late\": %llu, \"jb_skew_drops\": %llu, "
            "\"jb_lost\": %llu, \"talking_events\": %llu, \"opus\": {\"decoded\": %llu, "
            "\"legs_correlated\": %u, \"correlation_min\": %.4f, \"energy_ratio_min\": %.4f, "
            "\"energy_ratio_max\": %.4f}, \"digits\": {\"keyed\": %llu, \"detected\": %llu, "
            "\"missed\": %llu, \"wrong\": %llu, \"extra\": %llu}, \"recording\": {\"frames\": "
            "%llu, \"dropped\": %llu, \"refused\": %llu, \"errors\": %llu, \"open_s\": %.2f}}",
            s->gen_lag_max, s->gen_load, (unsigned long long)s->expected,
            (unsigned long long)s->lost, (unsigned long long)s->bad,
            (unsigned long long)s->conceal, (unsigned long long)s->ring_full,
            (unsigned long long)s->tx_dropped, (unsigned long long)s->mbuf_fail,
            (unsigned long long)s->ev_lost, (unsigned long long)s->skips,
            (unsigned long long)s->jb_late, (unsigned long long)s->jb_skew,
            (unsigned long long)s->jb_lost, (unsigned long long)s->talk_ev,
            (unsigned long long)s->opus_decoded, s->corr_n, s->corr_n ? s->corr_min : 0,
            isfinite(s->erat_min) ? s->erat_min : 0, s->erat_max, (unsigned long long)s->keyed, (unsigned long long)s->detected,
            (unsigned long long)s->missed, (unsigned long long)s->wrong,
            (unsigned long long)s->extra, (unsigned long long)s->rec_frames,
            (unsigned long long)s->rec_dropped, (unsigned long long)s->rec_refused,
            (unsigned long long)s->rec_errors, s->rec_open_s);
}

static int write_json(result_t *res, unsigned nres, uint32_t best, const char *cpu)
{
    FILE *f = fopen(C.json, "w");
    if (f == NULL) {
        fprintf(stderr, "capacity: cannot write %s: %s\n", C.json, strerror(errno));
        return -1;
    }
    size_t mc, mm, mr;
    size_t mem = mem_per_channel(&mc, &mm, &mr);
    fprintf(f,
            "{\n  \"profile\": \"%s\",\n  \"transport\": \"%s\",\n  \"cpu\": \"%s\",\n"
            "  \"worker_cores\": 1,\n"
            "  \"seconds_per_step\": %.1f,\n  \"warmup_s\": %.1f,\n  \"trials\": %u,\n"
            "  \"deadline_ms\": %.1f,\n  \"jb_depth\": %u,\n  \"tick_slots\": %u,\n  \"nice\": %d,\n"
            "  \"channels_per_core\": %u,\n  \"libopus_alone_ns\": {\"decode\": %.1f, "
            "\"encode\": %.1f, \"decode_encode_%u_states\": %.1f, \"before_search\": [%.1f, "
            "%.1f, %.1f], \"after_search\": [%.1f, %.1f, %.1f]},\n  \"memory_per_channel\": "
            "{\"total\": %zu, \"channel\": %zu, \"media\": %zu, \"recording\": %zu},\n"
            "  \"steps\": [\n",
            profile_name(), C.memif ? "net_memif" : C.nic_offload ? "net_ring+nic_offload" : "net_ring", cpu, C.seconds, C.warmup, C.repeat, C.deadline_ms, C.jb_depth, C.slots,
            C.nice,
            best, C.lib_dec_ns, C.lib_enc_ns, C.lib_cold_states, C.lib_cold_ns,
            C.lib_runs[0][0], C.lib_runs[0][1], C.lib_runs[0][2], C.lib_runs[1][0],
            C.lib_runs[1][1], C.lib_runs[1][2], mem, mc, mm, mr);
    for (unsigned i = 0; i < nres; i++) {
        fprintf(f, "    {\"median\": ");
        json_step(f, &res[i].med);
        fprintf(f, ",\n     \"trials\": [");
        for (unsigned t = 0; t < res[i].trials; t++) {
            if (t)
                fprintf(f, ", ");
            json_step(f, &res[i].t[t]);
        }
        fprintf(f, "]}%s\n", i + 1 < nres ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    if (fclose(f) != 0) {
        fprintf(stderr, "capacity: writing %s failed\n", C.json);
        return -1;
    }
    return 0;
}

static int cmp_res(const void *a, const void *b)
{
    const result_t *x = a, *y = b;
    return (x->n > y->n) - (x->n < y->n);
}

/* The PNG: loss and worker load against N (top), latencies against N (bottom). */
static int write_plot(result_t *res, unsigned nres, uint32_t best)
{
    char dir[] = "/tmp/medley-cap-plot-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return -1;
    char dat[128], gp[128];
    snprintf(dat, sizeof(dat), "%s/steps.dat", dir);
    snprintf(gp, sizeof(gp), "%s/plot.gp", dir);
    int any_failed = 0;
    for (unsigned i = 0; i < nres; i++)
        any_failed |= !res[i].med.pass;
    result_t *sorted = malloc(sizeof(result_t) * nres);
    memcpy(sorted, res, sizeof(result_t) * nres);
    qsort(sorted, nres, sizeof(result_t), cmp_res);
    FILE *f = fopen(dat, "w");
    if (f == NULL) {
        free(sorted);
        return -1;
    }
    fprintf(f, "# N loss_pct load_pct late_p50 late_p99 late_p999 d2w_p50 d2w_p99 w2w_p50 "
               "w2w_p99 digit_miss_pct tick_end_max pass\n");
    for (unsigned i = 0; i < nres; i++) {
        const step_t *s = &sorted[i].med;
        double loss = s->expected ? 100.0 * (double)(s->lost + s->bad) / (double)s->expected : 0;
        double dmiss = s->keyed ? 100.0 * (double)(s->missed + s->wrong) / (double)s->keyed : 0;
        fprintf(f, "%u %.6f %.2f %.4f %.4f %.4f %.3f %.3f %.3f %.3f %.6f %.3f %d\n", s->n, loss,
                100 * s->load, s->late_p50, s->late_p99, s->late_p999, s->d2w_p50, s->d2w_p99,
                isnan(s->w2w_p50) ? 0 : s->w2w_p50, isnan(s->w2w_p99) ? 0 : s->w2w_p99, dmiss,
                s->end_max, s->pass);
    }
    fclose(f);
    free(sorted);
    f = fopen(gp, "w");
    if (f == NULL)
        return -1;
    fprintf(f,
            "set terminal pngcairo size 1000,800 noenhanced\n"
            "set output '%s'\n"
            "set multiplot layout 2,1 title 'medley-bench capacity: %s, one worker core "
            "(best zero-loss N = %u)'\n"
            "set grid\nset key top left\nset xlabel 'channels (N)'\n"
            "set ylabel 'loss (%% of packets / digits)'\nset y2label 'worker load (%%)'\n"
            "set y2range [0:110]\nset ytics nomirror\nset y2tics\n"
            "set yrange [0:*]\n"
            "plot '%s' u 1:2 w lp pt 7 t 'packets lost or bad (%%)', "
            "%s"
            "'' u 1:3 axes x1y2 w lp pt 6 dt 2 t 'worker load (%%, right)'%s\n"
            "unset y2label\nunset y2tics\nset ytics mirror\n"
            "set ylabel 'ms'\nset logscale y\nset yrange [0.001:*]\n"
            "plot '%s' u 1:($4>0.001?$4:0.001) w lp pt 7 t 'tick lateness p50', "
            "'' u 1:($5>0.001?$5:0.001) w lp pt 7 t 'tick lateness p99', "
            "'' u 1:($6>0.001?$6:0.001) w lp pt 7 t 'tick lateness p99.9', "
            "'' u 1:8 w lp pt 5 t 'tick due -> wire p99', "
            "'' u 1:12 w lp pt 4 t 'worst tick end after due', "
            "%d w l dt 3 lc rgb 'red' t 'deadline'%s\n"
            "unset multiplot\n",
            C.plot, profile_name(), best, dat,
            C.profile == PROF_IVR ? "'' u 1:11 w lp pt 5 t 'digits missed or wrong (%)', " : "",
            any_failed ? ", '' u 1:($13 > 0.5 ? 1/0 : 0) w p pt 2 ps 2 lc rgb 'red' t 'step failed "
                         "(any criterion)'"
                       : "",
            dat, (int)C.deadline_ms,
            C.profile != PROF_IVR ? ", '' u 1:10 w lp pt 9 t 'wire -> wire p99 (incl. "
                                       "jitter buffer)'"
                                     : "");
    fclose(f);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "gnuplot '%s'", gp);
    int rc = system(cmd);
    unlink(dat);
    unlink(gp);
    rmdir(dir);
    if (rc != 0) {
        fprintf(stderr, "capacity: gnuplot failed (status %d); is gnuplot-nox installed?\n", rc);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ set-up */

static const char *const usage_text =
    "usage: medley-bench capacity [--profile ivr|bridge|conference|transcode] [--record]\n"
    "         [--n N[,N...]] [--start N (2000)] [--max N (32000)] [--resolution N (500)]\n"
    "         [--seconds S (5)] [--warmup S (1)] [--repeat R (1)] [--deadline-ms MS (20)]\n"
    "         [--jb-depth FRAMES (3)] [--record-dir DIR] [--keep-recordings]\n"
    "         [--retries N (2)] [--nice -20..19] [--generator-cpu 0|1 (0)] [--slots 20|1]\n"
    "         [--memif | --nic-offload] [--json FILE] [--plot FILE.png]\n"
    "  Profiles: ivr (prompt + in-band DTMF per channel), bridge (pairs; --record: one\n"
    "  stereo recording per pair), conference (three-party conferences: N rounded down to\n"
    "  a multiple of 3), transcode (Opus narrowband phone bridged to a PCMU phone: N even;\n"
    "  try --start 200 --resolution 20).\n"
    "  --n runs exactly these N; otherwise it searches (doubling from --start, then\n"
    "  bisecting to --resolution) for the largest N with zero loss. --nice sets the\n"
    "  scheduling priority of the worker and the generator (root for < 0) on a shared\n"
    "  machine; the table's wcpu column says how much of its core the worker had.\n"
    "  A trial that fails while another process had the worker's or the generator's CPU\n"
    "  (the worker thread preempted, or the generator behind) is run again, up to\n"
    "  --retries times; the tries column counts them. --slots: the worker ticks one of\n"
    "  20 slots of channels every 1 ms, as medleyd does (20, the default), or the whole\n"
    "  table every 20 ms (1).\n"
    "  --memif: the generator runs in a second process (its own EAL, on the generator's\n"
    "  CPU) connected to the engine's process over net_memif (a memif server port in the\n"
    "  engine, a client in the generator, socket in $TMPDIR or /tmp) instead of a\n"
    "  net_ring port in one process; every profile.\n"
    "  Exit status 3: the memif link or the generator process failed.\n"
    "  --nic-offload: the ring port plays a NIC with checksum offload, as medleyd uses on\n"
    "  one (the generator marks its packets' IPv4/UDP checksums verified; the engine\n"
    "  leaves its own to the 'NIC', which the generator completes on the packets it\n"
    "  checks in full). Without it the engine sums every packet in software.\n";

static int bad_usage(const char *msg, const char *arg)
{
    fprintf(stderr, "medley-bench capacity: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    fputs(usage_text, stderr);
    return 2;
}

static int parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (end == s || *end != '\0' || errno != 0 || v < lo || v > hi || s[0] == '-')
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_dbl(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv)
{
    C.profile = PROF_IVR;
    C.start = 2000;
    C.max = MAX_N;
    C.resolution = 500;
    C.seconds = 5;
    C.warmup = 1;
    C.repeat = 1;
    C.retries = 2;
    C.slots = MD_TICK_SLOTS;
    C.deadline_ms = TICK_MS;
    C.jb_depth = 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint32_t u;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            exit(0);
        } else if (strcmp(a, "--record") == 0) {
            C.record = 1;
            continue;
        } else if (strcmp(a, "--keep-recordings") == 0) {
            C.keep = 1;
            continue;
        } else if (strcmp(a, "--memif") == 0) {
            C.memif = 1;
            continue;
        } else if (strcmp(a, "--nic-offload") == 0) {
            C.nic_offload = 1;
            continue;
        }
        static const char *const with_value[] = { "--profile", "--n", "--start", "--max",
            "--resolution", "--seconds", "--warmup", "--repeat", "--deadline-ms", "--jb-depth",
            "--record-dir", "--json", "--plot", "--nice", "--generator-cpu", "--retries",
            "--slots" };
        int known = 0;
        for (size_t k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++)
            known |= strcmp(a, with_value[k]) == 0;
        if (!known)
            return bad_usage("unknown option", a);
        if (v == NULL)
            return bad_usage("missing value for", a);
        i++;
        if (strcmp(a, "--profile") == 0) {
            if (strcmp(v, "ivr") == 0)
                C.profile = PROF_IVR;
            else if (strcmp(v, "bridge") == 0)
                C.profile = PROF_BRIDGE;
            else if (strcmp(v, "conference") == 0)
                C.profile = PROF_CONF;
            else if (strcmp(v, "transcode") == 0)
                C.profile = PROF_TRANS;
            else
                return bad_usage("unknown profile", v);
        } else if (strcmp(a, "--n") == 0) {
            char buf[512];
            snprintf(buf, sizeof(buf), "%s", v);
            for (char *tok = strtok(buf, ","); tok != NULL; tok = strtok(NULL, ",")) {
                if (C.nfixed == MAX_STEPS || parse_u32(tok, 2, MAX_N, &u) != 0)
                    return bad_usage("--n wants N[,N...], each 2.." "32000", v);
                C.fixed[C.nfixed++] = u;
            }
        } else if (strcmp(a, "--start") == 0) {
            if (parse_u32(v, 2, MAX_N, &C.start) != 0)
                return bad_usage("--start must be 2..32000", v);
        } else if (strcmp(a, "--max") == 0) {
            if (parse_u32(v, 2, MAX_N, &C.max) != 0)
                return bad_usage("--max must be 2..32000", v);
        } else if (strcmp(a, "--resolution") == 0) {
            if (parse_u32(v, 2, MAX_N, &C.resolution) != 0)
                return bad_usage("--resolution must be 2..32000", v);
        } else if (strcmp(a, "--seconds") == 0) {
            if (parse_dbl(v, 0.2, 600, &C.seconds) != 0)
                return bad_usage("--seconds must be 0.2..600", v);
        } else if (strcmp(a, "--warmup") == 0) {
            if (parse_dbl(v, 0.2, 60, &C.warmup) != 0)
                return bad_usage("--warmup must be 0.2..60", v);
        } else if (strcmp(a, "--repeat") == 0) {
            if (parse_u32(v, 1, 8, &u) != 0)
                return bad_usage("--repeat must be 1..8", v);
            C.repeat = u;
        } else if (strcmp(a, "--deadline-ms") == 0) {
            if (parse_dbl(v, 0.1, 1000, &C.deadline_ms) != 0)
                return bad_usage("--deadline-ms must be 0.1..1000", v);
        } else if (strcmp(a, "--jb-depth") == 0) {
            if (parse_u32(v, 2, 14, &u) != 0)
                return bad_usage("--jb-depth must be 2..14", v);
            C.jb_depth = u;
        } else if (strcmp(a, "--slots") == 0) {
            if (strcmp(v, "20") == 0)
                C.slots = MD_TICK_SLOTS;
            else if (strcmp(v, "1") == 0)
                C.slots = 1;
            else
                return bad_usage("--slots must be 20 or 1", v);
        } else if (strcmp(a, "--retries") == 0) {
            if (parse_u32(v, 0, 20, &u) != 0)
                return bad_usage("--retries must be 0..20", v);
            C.retries = u;
        } else if (strcmp(a, "--generator-cpu") == 0) {
            if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
                return bad_usage("--generator-cpu must be 0 or 1", v);
            C.gen_cpu = v[0] - '0';
        } else if (strcmp(a, "--nice") == 0) {
            char *end;
            long x = strtol(v, &end, 10);
            if (end == v || *end != '\0' || x < -20 || x > 19)
                return bad_usage("--nice must be -20..19", v);
            C.nice = (int)x;
        } else if (strcmp(a, "--record-dir") == 0) {
            C.record_dir = v;
        } else if (strcmp(a, "--json") == 0) {
            C.json = v;
        } else if (strcmp(a, "--plot") == 0) {
            C.plot = v;
        } else {
            return bad_usage("unknown option", a);
        }
    }
    if (C.record && C.profile != PROF_BRIDGE)
        return bad_usage("--record goes with --profile bridge", NULL);
    if (C.memif && C.nic_offload)
        return bad_usage("--nic-offload goes with the ring port, not --memif (memif carries "
                         "no offload flags)", NULL);
    if (C.profile == PROF_BRIDGE || C.profile == PROF_TRANS) {
        for (unsigned i = 0; i < C.nfixed; i++)
            C.fixed[i] &= ~1u;
        C.start &= ~1u;
        C.max &= ~1u;
    }
    if (C.profile == PROF_CONF) {   /* whole three-party conferences */
        for (unsigned i = 0; i < C.nfixed; i++)
            C.fixed[i] -= C.fixed[i] % 3;
        C.start -= C.start % 3;
        C.max -= C.max % 3;
    }
    return 0;
}

/* Prompt, tones, noise; and a check that bridged payloads survive G.711 both ways. */
static int make_signals(void)
{
    for (int i = 0; i < PROMPT_FRAMES * FRAME; i++) {
        double t = i / 8000.0;
        /* A speech-like test prompt: two partials under a 4 Hz envelope. */
        double env = 0.55 + 0.45 * sin(2 * M_PI * 4 * t);
        C.prompt_pcm[i] = (int16_t)lrint(6000 * env * (sin(2 * M_PI * 300 * t) +
                                                       0.5 * sin(2 * M_PI * 1170 * t)));
    }
    snprintf(C.prompt.name, sizeof(C.prompt.name), "capacity");
    C.prompt.pcm = C.prompt_pcm;
    C.prompt.samples = PROMPT_FRAMES * FRAME;
    if (md_prompt_encode_g711(&C.prompt) != 0) {   /* as medleyd's prompt store does */
        fprintf(stderr, "capacity: no memory for the prompt's G.711 copies\n");
        return -1;
    }
    for (int f = 0; f < PROMPT_FRAMES; f++) {
        md_ulaw_encode(C.prompt_ulaw[f], C.prompt_pcm + f * FRAME, FRAME);
        C.prompt_sum[f] = md_pkt_sum(C.prompt_ulaw[f], FRAME, 0);
        md_ulaw_decode(C.prompt_lin + f * FRAME, C.prompt_ulaw[f], FRAME);
    }
    /* The Opus phones' audio: a voiced, speech-like signal (harmonics of a pitch gliding
     * between 110 and 220 Hz, falling 6 dB per octave, under a 3 Hz syllable envelope),
     * encoded once here as a phone would (narrowband, 20 ms, OPUS_BITRATE). */
    if (C.profile == PROF_TRANS) {
        md_opus_t enc;
        if (md_opus_create(&enc, 8000, OPUS_BITRATE, 5) != 0)
            return -1;
        double ph = 0;
        for (int f = 0; f < OPUS_FRAMES; f++) {
            int16_t pcm[FRAME];
            for (int i = 0; i < FRAME; i++) {
                double t = (f * FRAME + i) / 8000.0;
                double f0 = 165 + 55 * sin(2 * M_PI * 0.4 * t);
                ph += 2 * M_PI * f0 / 8000.0;
                double v = 0;
                for (int h = 1; f0 * h < 3400; h++)
                    v += sin(h * ph) / h;
                double env = 0.5 + 0.5 * sin(2 * M_PI * 3 * t);
                pcm[i] = (int16_t)lrint(5000 * env * v);
            }
            int len = md_opus_encode(&enc, pcm, C.opkt[f], MD_JB_MAX_PAYLOAD);
            if (len <= 0) {
                md_opus_destroy(&enc);
                fprintf(stderr, "capacity: Opus encode failed (%d)\n", len);
                return -1;
            }
            C.olen[f] = (uint16_t)len;
        }
        md_opus_destroy(&enc);
    }
    for (int d = 0; d < 12; d++) {
        md_tone_desc_t desc;
        md_tone_gen_t gen;
        int16_t pcm[TONE_FRAMES * FRAME];
        if (md_tone_dtmf(&desc, digits[d], -10, 0, TONE_FRAMES * TICK_MS, 0) != 0 ||
            md_tone_init(&gen, &desc) != 0)
            return -1;
        md_tone_generate(&gen, pcm, TONE_FRAMES * FRAME);
        for (int f = 0; f < TONE_FRAMES; f++) {
            md_ulaw_encode(C.tone[d][f], pcm + f * FRAME, FRAME);
            C.tone_sum[d][f] = md_pkt_sum(C.tone[d][f], FRAME, 0);
        }
    }
    /* Background: low-level noise (about -50 dBm0), never the µ-law code 0x7F (which
     * decodes to 0 and comes back as 0xFF), so bridged frames compare byte for byte. */
    for (int f = 0; f < NOISE_FRAMES; f++) {
        int16_t pcm[FRAME];
        for (int i = 0; i < FRAME; i++)
            pcm[i] = (int16_t)((int)(rnd() % 61) - 30);
        md_ulaw_encode(C.noise[f], pcm, FRAME);
        for (int i = 0; i < FRAME; i++)
            if (C.noise[f][i] == 0x7F)
                C.noise[f][i] = 0xFF;
        C.noise_sum[f] = md_pkt_sum(C.noise[f], FRAME, 0);
        C.noise_tail_sum[f] = md_pkt_sum(C.noise[f] + 12, FRAME - 12, 0);
    }
    /* Conference bodies: loud uniform noise (two of them saturate now and then). */
    for (int f = 0; f < NOISE_FRAMES; f++) {
        int16_t pcm[FRAME];
        for (int i = 0; i < FRAME; i++)
            pcm[i] = (int16_t)((int)(rnd() % (2 * CONF_AMP + 1)) - CONF_AMP);
        md_ulaw_encode(C.cnoise[f], pcm, FRAME);
        C.cnoise_tail_sum[f] = md_pkt_sum(C.cnoise[f] + CONF_BODY, FRAME - CONF_BODY, 0);
    }
    uint8_t p[FRAME], back[FRAME];
    int16_t lin[FRAME];
    /* A conference mix carries both other members' tags intact and silence in the
     * receiver's own region. */
    {
        uint32_t pc, pf;
        conf_expected(p, 30001, 0x12345678u, 30002, 7);
        if (get_nibbles(p + CONF_TAG * 1, 4, &pc) != 0 || pc != 30001 ||
            get_nibbles(p + CONF_TAG * 1 + 4, 8, &pf) != 0 || pf != 0x12345678u ||
            get_nibbles(p + CONF_TAG * 2, 4, &pc) != 0 || pc != 30002 ||
            get_nibbles(p + CONF_TAG * 2 + 4, 8, &pf) != 0 || pf != 7 || p[0] != 0xFF) {
            fprintf(stderr, "capacity: conference tags do not survive the mix (self-check)\n");
            return -1;
        }
    }
    bridge_payload(p, 12345, 0x89abcdefu);
    md_ulaw_decode(lin, p, FRAME);
    md_ulaw_encode(back, lin, FRAME);
    if (memcmp(p, back, FRAME) != 0) {
        fprintf(stderr, "capacity: bridged payloads do not survive G.711 (self-check)\n");
        return -1;
    }
    /* The generator's fast packets are md_tx_build()'s, byte for byte. */
    for (uint32_t k = 0; k < 2000; k++) {
        gch_t g;
        memset(&g, 0, sizeof(g));
        md_tx_template_t t = { .src_mac = { 2, 0xbb, 0, 0, 0, 1 }, .dst_mac = { 2, 0xaa, 0, 0, 0, 1 },
                               .ip_version = 4, .src_port = (uint16_t)(GEN_PORT_BASE + 2 * k),
                               .dst_port = (uint16_t)(ENG_PORT_BASE + 2 * k), .ttl = 64,
                               .ssrc = rnd(), .seq = (uint16_t)rnd(), .ts = rnd() };
        t.src_ip[0] = 10;
        t.src_ip[2] = (uint8_t)(k >> 8);
        t.src_ip[3] = (uint8_t)k;
        memcpy(t.dst_ip, "\x0a\x00\x00\x02", 4);
        g.t = t;
        fast_init(&g);
        uint8_t a[HDR_LEN + FRAME], b[HDR_LEN + FRAME];
        bridge_payload(p, k, rnd());
        size_t la = md_tx_build(&t, (int)(k & 1), p, FRAME, FRAME, a, sizeof(a));
        size_t lb = fast_build(&g, (int)(k & 1), p, md_pkt_sum(p, FRAME, 0), b);
        if (la != lb || memcmp(a, b, la) != 0) {
            fprintf(stderr, "capacity: the generator's packets differ from md_tx_build's "
                            "(self-check)\n");
            return -1;
        }
    }
    return 0;
}

/* --memif, the engine process: the memif server port (the EAL made it from the vdev
 * argument), then the generator process connects; both must be up within 30 s. */
static int setup_memif_server(uint16_t room)
{
    shared_t *S = C.sh;
    S->hz = C.hz;
    S->tick = C.tick;
    C.epool = rte_pktmbuf_pool_create("cap_eng", POOL_SIZE, 256, 0, room, SOCKET_ID_ANY);
    int started = start_memif_port(C.epool);
    if (started < 0) {
        fprintf(stderr, "capacity: cannot start the memif server port (socket %s)\n", C.sock);
        C.memif_failed = 1;
        return -1;
    }
    const uint16_t port = (uint16_t)started;
    C.port = port;
    atomic_store(&S->server_ready, 1);
    uint64_t until = rte_rdtsc() + 30 * C.hz;
    for (;;) {
        struct rte_eth_link l;
        if (rte_eth_link_get_nowait(port, &l) == 0 && l.link_status == RTE_ETH_LINK_UP &&
            atomic_load(&S->gen_up))
            return 0;
        if (!gen_alive()) {
            fprintf(stderr, "capacity: the generator process ended before the memif link "
                            "came up (socket %s)\n", C.sock);
            break;
        }
        if (rte_rdtsc() > until) {
            fprintf(stderr, "capacity: the memif link to the generator process did not come "
                            "up within 30 s (socket %s)\n", C.sock);
            break;
        }
        usleep(10000);
    }
    C.memif_failed = 1;
    return -1;
}

static int setup_dpdk(void)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "--file-prefix=medley-cap-%d", (int)getpid());
    char vdev[300];
    snprintf(vdev, sizeof(vdev), "--vdev=net_memif0,role=server,socket=%s,socket-abstract=no,"
             "rsize=14", C.sock);
    char *eal[] = { "medley-bench", "--no-huge", "--no-shconf", "-m", "1024", prefix,
                    "--no-pci", "--no-telemetry", "-l", "0-1", "--main-lcore",
                    C.gen_cpu ? "1" : "0", "--log-level=error", vdev, NULL };
    int neal = (int)(sizeof(eal) / sizeof(eal[0])) - 1 - !C.memif;   /* no vdev on net_ring */
    if (rte_eal_init(neal, eal) < 0) {
        fprintf(stderr, "capacity: EAL init failed (needs two CPUs: -l 0-1)\n");
        return -1;
    }
    C.wlcore = rte_get_next_lcore(-1, 1, 0);
    if (C.wlcore >= RTE_MAX_LCORE) {
        fprintf(stderr, "capacity: no worker lcore\n");
        return -1;
    }
    C.hz = rte_get_tsc_hz();
    C.tick = C.hz * TICK_MS / 1000;
    uint16_t room = RTE_PKTMBUF_HEADROOM + 512;
    if (C.memif)
        return setup_memif_server(room);
    C.gpool = rte_pktmbuf_pool_create("cap_gen", POOL_SIZE, 256, 0, room, SOCKET_ID_ANY);
    C.epool = rte_pktmbuf_pool_create("cap_eng", POOL_SIZE, 256, 0, room, SOCKET_ID_ANY);
    C.rxr = rte_ring_create("cap_rx", RING_SIZE, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    C.txr = rte_ring_create("cap_tx", RING_SIZE, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (C.gpool == NULL || C.epool == NULL || C.rxr == NULL || C.txr == NULL) {
        fprintf(stderr, "capacity: cannot allocate pools and rings\n");
        return -1;
    }
    int port = rte_eth_from_rings("cap_ring", &C.rxr, 1, &C.txr, 1, SOCKET_ID_ANY);
    struct rte_eth_conf conf;
    memset(&conf, 0, sizeof(conf));
    if (port < 0 || rte_eth_dev_configure((uint16_t)port, 1, 1, &conf) != 0 ||
        rte_eth_rx_queue_setup((uint16_t)port, 0, 1024, SOCKET_ID_ANY, NULL, C.epool) != 0 ||
        rte_eth_tx_queue_setup((uint16_t)port, 0, 1024, SOCKET_ID_ANY, NULL) != 0 ||
        rte_eth_dev_start((uint16_t)port) != 0) {
        fprintf(stderr, "capacity: cannot start the ring port\n");
        return -1;
    }
    C.port = (uint16_t)port;
    return 0;
}

static int run_n(uint32_t n, result_t *r, unsigned idx)
{
    memset(r, 0, sizeof(*r));
    r->n = n;
    for (unsigned t = 0; t < C.repeat; t++) {
        fprintf(stderr, "capacity %s: step %u N=%u ... ", profile_name(), idx + 1, n);
        if (C.repeat > 1)
            fprintf(stderr, "(trial %u/%u) ", t + 1, C.repeat);
        fflush(stderr);
        unsigned tries = 0;
        for (;;) {
            if (run_step(n, &r->t[t]) != 0)
                return -1;
            tries++;
            if (r->t[t].pass || !r->t[t].disturbed || tries > C.retries)
                break;
            fprintf(stderr, "disturbed (worker CPU %.0f%%, %llu preemptions, generator lag "
                            "%.1f ms): %s; again ... ",
                    100 * r->t[t].worker_cpu, (unsigned long long)r->t[t].worker_preempt,
                    r->t[t].gen_lag_max, r->t[t].why);
            fflush(stderr);
        }
        r->t[t].tries = tries;
        const step_t *s = &r->t[t];
        fprintf(stderr, "%s load %.0f%% (worker CPU %.0f%%) %.0f ns/chf late p99 %.2f ms tick "
                "%.1f ms genlag %.1f ms%s%s\n",
                s->pass ? "PASS" : s->disturbed ? "DIST" : "FAIL", 100 * s->load,
                100 * s->worker_cpu, s->ns_per_cf,
                s->late_p99, s->tick_p50, s->gen_lag_max, s->pass ? "" : ": ",
                s->pass ? "" : s->why);
        r->trials++;
        r->passes += s->pass;
    }
    summarise(r);
    return 0;
}

static int capacity_engine(uint32_t maxn, char *made_dir);

int md_capacity_main(int argc, char **argv)
{
    int rc = parse_args(argc, argv);
    if (rc != 0)
        return rc;
    C.rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
    if (make_signals() != 0)
        return 1;
    static char made_dir[4096];
    if (C.record) {
        if (C.record_dir != NULL) {
            snprintf(C.rec_path, sizeof(C.rec_path), "%s", C.record_dir);
        } else {
            const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
            snprintf(C.rec_path, sizeof(C.rec_path), "%s/medley-cap-rec-XXXXXX", tmp);
            if (mkdtemp(C.rec_path) == NULL) {
                fprintf(stderr, "capacity: mkdtemp %s: %s\n", C.rec_path, strerror(errno));
                return 1;
            }
            snprintf(made_dir, sizeof(made_dir), "%s", C.rec_path);
        }
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < C.max / 2 + 256) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    uint32_t maxn = C.max;
    for (unsigned i = 0; i < C.nfixed; i++)
        if (C.fixed[i] > maxn)
            maxn = C.fixed[i];
    /* What the generator shares with the worker (with --memif: across the fork). */
    C.sh = shalloc(sizeof(shared_t));
    C.g = shalloc(maxn * sizeof(gch_t));
    C.log_max = ((uint32_t)lround((C.warmup + C.seconds) * 1000 / TICK_MS) + 64) * C.slots;
    C.log = shalloc(C.log_max * sizeof(tick_log_t));
    C.hist_d2w = shalloc(HIST_BINS * sizeof(uint32_t));
    C.hist_w2w = shalloc(HIST_BINS * sizeof(uint32_t));
    if (!C.sh || !C.g || !C.log || !C.hist_d2w || !C.hist_w2w) {
        fprintf(stderr, "capacity: out of memory\n");
        return 1;
    }
    C.evsrc = C.memif ? &C.sh->ev : &C.events;
    if (C.memif) {
        const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        int len = snprintf(C.sock, sizeof(C.sock), "%s/medley-cap-%d.sock", tmp, (int)getpid());
        if (len < 0 || (size_t)len >= sizeof(C.sock)) {
            fprintf(stderr, "capacity: the memif socket path %s/medley-cap-%d.sock is too "
                            "long\n", tmp, (int)getpid());
            C.sock[0] = '\0';
            return 1;
        }
        unlink(C.sock);
        md_event_ring_init(&C.sh->ev);
        C.parent = getpid();
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "capacity: fork: %s\n", strerror(errno));
            return 3;
        }
        if (pid == 0)
            _exit(gen_child());
        C.child = pid;
    }
    rc = capacity_engine(maxn, made_dir);
    if (C.memif) {
        memif_finish(1);
        if (rc != 0 && C.memif_failed)
            rc = 3;
    }
    return rc;
}

/* The engine's side (and, without --memif, the generator on the main lcore). */
static int capacity_engine(uint32_t maxn, char *made_dir)
{
    if (setup_dpdk() != 0)
        return 1;
    if (C.profile == PROF_TRANS && libopus_measure(0) != 0)
        return 1;
    if (C.nice != 0 && setpriority(PRIO_PROCESS, (id_t)gettid(), C.nice) != 0)
        fprintf(stderr, "capacity: setpriority %d: %s (going on)\n", C.nice, strerror(errno));
    C.chans = md_zalloc_lines(maxn, sizeof(md_channel_t));
    C.media = md_zalloc_lines(maxn, sizeof(md_media_t));
    C.rec_ids = calloc(maxn / 2 + 1, sizeof(md_rec_id_t));
    C.confset = calloc(1, sizeof(md_conf_set_t));
    C.confs = calloc(maxn / 3 + 1, sizeof(md_conf_t));
    C.members = calloc(maxn, sizeof(md_conf_member_t));
    if (!C.chans || !C.media || !C.rec_ids || !C.confset || !C.confs || !C.members) {
        fprintf(stderr, "capacity: out of memory\n");
        return 1;
    }
    char cpu[512];
    cpu_model(cpu, sizeof(cpu));
    if (C.memif)
        fprintf(stderr, "capacity %s: %s; worker on lcore %u, generator in process %d on CPU %d "
                "over net_memif (socket %s)%s%s\n",
                profile_name(), cpu, C.wlcore, (int)C.child, C.gen_cpu, C.sock,
                C.record ? "; recordings in " : "", C.record ? C.rec_path : "");
    else
        fprintf(stderr, "capacity %s: %s; worker on lcore %u, generator on lcore %u%s%s\n",
                profile_name(), cpu, C.wlcore, rte_lcore_id(), C.record ? "; recordings in " : "",
                C.record ? C.rec_path : "");

    static result_t res[MAX_STEPS];
    unsigned nres = 0;
    uint32_t best = 0;
    int fixed_failed = 0;
    if (C.nfixed > 0) {
        for (unsigned i = 0; i < C.nfixed; i++) {
            if (run_n(C.fixed[i], &res[nres], nres) != 0)
                return 1;
            if (res[nres].med.pass && res[nres].n > best)
                best = res[nres].n;
            fixed_failed |= !res[nres].med.pass;
            nres++;
        }
    } else {
        uint32_t lo = 0, hi = 0, n = C.start < C.max ? C.start : C.max;
        while (nres < MAX_STEPS) {
            if (run_n(n, &res[nres], nres) != 0)
                return 1;
            int pass = res[nres].med.pass, gen = res[nres].med.gen_limited;
            nres++;
            if (pass) {
                lo = n;
                if (n == C.max)
                    break;
            } else {
                hi = n;
                if (gen) {
                    fprintf(stderr, "capacity: the generator could not keep up at N=%u; the "
                                    "search stops (the engine's limit is not reached)\n", n);
                    break;
                }
            }
            uint32_t next;
            if (hi == 0)
                next = n * 2 > C.max ? C.max : n * 2;
            else if (lo == 0)
                next = n / 2;
            else
                next = lo + (hi - lo) / 2;
            next = next / C.resolution * C.resolution;
            if (C.profile == PROF_BRIDGE || C.profile == PROF_TRANS)
                next &= ~1u;
            if (C.profile == PROF_CONF)
                next -= next % 3;
            if (hi != 0 && (hi - lo <= C.resolution || next <= lo || next >= hi))
                break;
            if (next < 2 || (lo == 0 && next < 100))
                break;
            n = next;
        }
        best = lo;
    }
    if (C.profile == PROF_TRANS && libopus_measure(1) != 0)
        return 1;
    print_table(res, nres, best, cpu);
    if (C.json != NULL && write_json(res, nres, best, cpu) != 0)
        return 1;
    if (C.plot != NULL && write_plot(res, nres, best) != 0)
        return 1;
    if (made_dir[0] != '\0' && !C.keep)
        rmdir(made_dir);
    if (C.memif)
        memif_finish(0);   /* the generator quits before the port goes */
    rte_eth_dev_stop(C.port);
    rte_eth_dev_close(C.port);
    char rdir[4096];
    snprintf(rdir, sizeof(rdir), "%s", rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    if (C.memif)
        rmdir(rdir);   /* its runtime directory (empty; one per run otherwise) */
    if (C.nfixed > 0)
        return fixed_failed ? 1 : 0;
    return best > 0 ? 0 : 1;
}
