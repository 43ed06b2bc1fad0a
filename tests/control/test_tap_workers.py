"""Two workers sharing one port (issue 3: shards by UDP port range): medleyd with two
worker lcores on a net_tap interface with two queues. Channels are placed on both
workers (their local ports in two ranges); the kernel spreads the callers' flows over the
tap's queues, so each worker receives datagrams for the other and hands them over
through its inbox. Every caller must be learnt, hear its own prompt (a distinct
frequency per channel: no cross-talk between workers), and have its digits (in-band and
RFC 4733) reported for its own channel; two channels created near each other (same
worker) bridge; two on different workers cannot.

Needs root and /dev/net/tun (exit 77 otherwise).
Usage: /usr/bin/python3 test_tap_workers.py MEDLEYD PROTO"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import medley_caller as mc  # noqa: E402
import test_tap_call as tc  # noqa: E402

import grpc  # noqa: E402


def main():
    why = tc.can_run()
    if why is not None:
        print("skipped:", why)
        return 77
    tc.real_time_priority()
    ck = tc.Checks("tap-workers")
    cpus = sorted(os.sched_getaffinity(0))
    main_cpu, work_cpu = cpus[0], cpus[-1]
    # Two workers on the last CPU, the control thread on the first.
    eng = tc.TapEngine(sys.argv[1], sys.argv[2], tag="mdw", channels=16,
                       lcores="0@%d,1@%d,2@%d" % (main_cpu, work_cpu, work_cpu))
    pb = eng.pb
    pool = mc.CallerPool()
    try:
        out = "".join(eng.out)
        ck("two workers, two receive queues", "2 workers" in out and "2 receive queues" in out, out)
        # net_tap here has no rte_flow: medleyd must say so and fall back to the hand-over.
        ck("medleyd says how datagrams reach their worker (rte_flow or hand-over)",
           any("rte_flow" in line for line in eng.out), out)
        ck("stats say two workers", eng.call("GetStats").workers == 2)
        freqs = [600, 800, 1000, 1200]
        for i, f in enumerate(freqs):
            tc.write_tone_wav(os.path.join(eng.work, "t%d.wav" % i), f, 400)
            eng.call("LoadPrompt", name="t%d" % i, path=os.path.join(eng.work, "t%d.wav" % i))
        chans = [eng.call("CreateChannel", codec=pb.PCMU, event_payload_type=101, inband_dtmf=True)
                 for _ in freqs]
        ports = [c.local_port for c in chans]
        ck("channels in two port ranges (one per worker): %s" % ports,
           min(ports) < 20016 and max(ports) >= 20016)
        callers = []
        for c in chans:
            ep = pool.add(mc.RtpEndpoint(eng.local, name="ch%d" % c.channel))
            ep.connect(eng.engine, c.local_port)
            callers.append(ep)
        pool.start()
        ck("every channel learns its caller", all(eng.wait_learnt(c.channel) for c in chans))
        marks = [ep.mark() for ep in callers]
        ev0 = eng.event_mark()
        for i, c in enumerate(chans):
            eng.call("Play", channel=c.channel, items=[pb.PlayItem(prompt="t%d" % i)])
        time.sleep(0.9)
        for i, ep in enumerate(callers):
            pcm = ep.heard_pcm(since=marks[i])
            segs = [s for s in mc.segments(pcm, freqs) if s.label in freqs and s.ms >= 100]
            heard = sorted({s.label for s in segs})
            ck("caller %d heard only its own prompt (%d Hz): %s" % (i, freqs[i], heard), heard == [freqs[i]])
        done = eng.wait_events(ev0, 4, type_=pb.PROMPT_DONE)
        ck("a PROMPT_DONE per channel", sorted(e.channel for e in done) == sorted(c.channel for c in chans))
        ev1 = eng.event_mark()
        keyed = ["12", "34", "56", "78"]
        for i, ep in enumerate(callers):
            if i % 2:
                ep.key_rfc4733(keyed[i], pt=101, duration_ms=100)
            else:
                ep.key_inband(keyed[i], dbm0=-10, on_ms=80, off_ms=80)
        for ep in callers:
            ep.wait_idle(10)
        time.sleep(0.5)
        for i, c in enumerate(chans):
            got = "".join(e.digit for e in eng.events_since(ev1, channel=c.channel, type_=pb.DIGIT))
            ck("channel %d: digits %r (%s)" % (i, got, "rfc4733" if i % 2 else "inband"), got == keyed[i])
        # SendDigits: in-band to caller 0 (heard as DTMF), RFC 4733 to caller 1 (events on
        # the wire, by the book).
        m0, m1 = callers[0].mark(), callers[1].mark()
        eng.call_raw = None
        send = eng.c.channel.unary_unary("/medley.v1.Engine/SendDigits",
                                         request_serializer=lambda m: m.SerializeToString(),
                                         response_deserializer=pb.Empty.FromString)
        send(pb.SendDigitsRequest(channel=chans[0].channel, digits="159", duration_ms=80, gap_ms=80),
             timeout=5)
        send(pb.SendDigitsRequest(channel=chans[1].channel, digits="#7", rfc4733=True,
                                  duration_ms=100, gap_ms=100), timeout=5)
        time.sleep(1.2)
        pcm = callers[0].heard_pcm(since=m0)
        seq = []
        for i in range(0, len(pcm) - 160, 160):
            d = mc.dtmf_digit(pcm[i:i + 160])
            if d is not None and (not seq or seq[-1][0] != d or i - seq[-1][1] > 320):
                seq.append((d, i))
            elif d is not None:
                seq[-1] = (d, i)
        ck("in-band digits heard by the caller: %s" % [d for d, _ in seq], [d for d, _ in seq] == ["1", "5", "9"])
        evs = [p for p in callers[1].packets(since=m1) if p.pt == 101]
        codes = []
        for p in evs:
            code, flags = p.payload[0], p.payload[1]
            if not codes or codes[-1][0] != code or codes[-1][1] != p.ts:
                codes.append([code, p.ts, p.marker, 0])
            codes[-1][3] += (flags & 0x80) != 0
        ck("RFC 4733 events # then 7: %s" % [(c[0], c[2], c[3]) for c in codes],
           [c[0] for c in codes] == [11, 7] and all(c[2] for c in codes) and all(c[3] == 3 for c in codes))
        ck("caller 1 heard no in-band DTMF", not mc.dtmf_blocks(callers[1].heard_pcm(since=m1)))
        # Bridges live on one worker: near_channel places the second beside the first.
        a = chans[0]
        near = eng.call("CreateChannel", codec=pb.PCMU, near_channel=a.channel)
        same_range = (near.local_port >= 20016) == (a.local_port >= 20016)
        ck("near_channel: same worker (port range)", same_range)
        eng.call("Bridge", a=a.channel, b=near.channel)
        other = [c for c in chans if (c.local_port >= 20016) != (a.local_port >= 20016)][0]
        # A bridge across workers moves one leg to the other's worker (tap-move-acd checks
        # who hears whom then); both sides name each other.
        eng.call("Unbridge", channel=a.channel)
        try:
            eng.call("Bridge", a=a.channel, b=other.channel)
            ga = eng.call("GetChannel", channel=a.channel)
            go = eng.call("GetChannel", channel=other.channel)
            ck("bridging across workers: bridged_to both ways (%d, %d)" % (ga.bridged_to, go.bridged_to),
               ga.bridged_to == other.channel and go.bridged_to == a.channel)
        except grpc.RpcError as e:
            ck("bridging across workers: %s %s" % (e.code(), e.details()), False)
        st = eng.call("GetStats")
        ck("nothing dropped that was ours: %d dropped of %d" % (st.dropped_packets, st.rx_packets),
           st.rx_packets > 0)
    finally:
        pool.stop()
        rc = eng.stop()
    ck("medleyd exits 0", rc == 0)
    # How many datagrams the kernel's queue choice made one worker hand to the other.
    print("".join(line for line in eng.out if "stopping" in line).strip())
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
