"""Conference members moved between workers (issue 4: "a conference lives on one worker;
members joining are moved there"): medleyd with two workers on net_tap, channels created
without near_channel (so on both workers, their local ports in two ranges), and the
API moves them to the conference's worker, transparently: same API id, same local port,
the RTP they send goes on (same source port and SSRC, consecutive sequence numbers and
timestamps), their events keep their API id. Who hears whom is decoded from the RTP
medleyd sends (a tone per party, as test_tap_conf.py does):

1. a conference on worker 1; the caller (worker 0, playing a prompt) and the supervisor
   (worker 0) join it and move; digits and talking events come with their API ids;
2. a conference on worker 0; the caller moves back home, the agent (worker 1) moves;
3. Supervise: the caller-agent bridge (both on worker 0 now) with the supervisor, still
   on worker 1, listening: it moves;
4. a recording channel cannot move (FAILED_PRECONDITION), and after every channel is
   deleted every slot of both workers can be used again.

Needs root and /dev/net/tun (exit 77 otherwise).
Usage: /usr/bin/python3 test_tap_move.py MEDLEYD PROTO"""
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import medley_caller as mc  # noqa: E402
import test_tap_call as tc  # noqa: E402

import grpc  # noqa: E402

F = {"caller": 700, "agent": 1100, "sup": 1500, "d": 1900, "music": 400}
RANGE1 = 20016   # --channels 16, two workers: worker 1's ports start here


def hears(ep, since, threshold_dbm0=-30.0):
    """The set of test frequencies present (above the threshold) in the last 400 ms heard."""
    pcm = ep.heard_pcm(since=since)[-3200:]
    out = set()
    if len(pcm) < 1600:
        return out
    for name, f in F.items():
        amp = mc.goertzel_amplitude(pcm, f)
        if amp > 0 and mc.rms_dbm0(amp / 2 ** 0.5) > threshold_dbm0:
            out.add(name)
    return out


def worker_of(port):
    return 1 if port >= RANGE1 else 0


def main():
    why = tc.can_run()
    if why is not None:
        print("skipped:", why)
        return 77
    tc.real_time_priority()
    ck = tc.Checks("tap-move")
    cpus = sorted(os.sched_getaffinity(0))
    main_cpu, work_cpu = cpus[0], cpus[-1]
    recdir = tempfile.mkdtemp(prefix="medley-moverec-")
    eng = tc.TapEngine(sys.argv[1], sys.argv[2], tag="mdm", channels=16,
                       lcores="0@%d,1@%d,2@%d" % (main_cpu, work_cpu, work_cpu),
                       extra=["--record-dir", recdir])
    pb = eng.pb
    pool = mc.CallerPool()

    unary = eng.unary

    def expect_error(desc, fn, code, words=""):
        try:
            fn()
            ck(desc, False, "succeeded")
        except grpc.RpcError as e:
            ck("%s: %s" % (desc, e.code().name), e.code() == code and words in e.details(), e.details())

    try:
        ck("two workers", eng.call("GetStats").workers == 2)
        tc.write_tone_wav(os.path.join(eng.work, "music.wav"), F["music"], 1000)
        eng.call("LoadPrompt", name="music", path=os.path.join(eng.work, "music.wav"))
        names = ["caller", "agent", "sup"]
        ch = {}
        for n in names:   # without near_channel: each on the worker with more room
            ch[n] = eng.call("CreateChannel", codec=pb.PCMU, inband_dtmf=True, event_payload_type=101)
        port = {n: ch[n].local_port for n in names}
        ck("caller and supervisor on worker 0, agent on worker 1: %s" % port,
           worker_of(port["caller"]) == 0 and worker_of(port["sup"]) == 0 and worker_of(port["agent"]) == 1)
        ep = {}
        for n in names:
            ep[n] = pool.add(mc.RtpEndpoint(eng.local, name=n))
            ep[n].connect(eng.engine, ch[n].local_port)
        pool.start()
        ck("every channel learns its party", all(eng.wait_learnt(ch[n].channel) for n in names))

        # 1. A conference on worker 1 (near the agent). The caller joins while a prompt
        # plays to it: the prompt goes on from the other worker without a break.
        c1 = unary("CreateConference", pb.CreateConferenceRequest(near_channel=ch["agent"].channel),
                   pb.Conference)
        eng.call("Play", channel=ch["caller"].channel, items=[pb.PlayItem(prompt="music", loops=20)])
        time.sleep(0.8)
        m_caller = ep["caller"].mark()
        rx_before = eng.call("GetChannel", channel=ch["caller"].channel).stats.rx_packets
        time.sleep(0.5)
        t_move = time.monotonic()
        unary("AddMember", pb.MemberRequest(conference=c1.conference, channel=ch["caller"].channel))
        t_moved = time.monotonic()
        time.sleep(0.8)
        pk = [p for p in ep["caller"].packets(since=m_caller) if p.pt == 0]
        srcs = {p.src[1] for p in pk}
        ssrcs = {p.ssrc for p in pk}
        ck("caller: packets from its one port %d before and after the move: %s" % (port["caller"], sorted(srcs)),
           srcs == {port["caller"]} and len(pk) > 30)
        ck("caller: one SSRC", len(ssrcs) == 1)
        breaks = [(a.seq, b.seq, b.ts - a.ts) for a, b in zip(pk, pk[1:])
                  if b.seq != (a.seq + 1) & 0xFFFF or (b.ts - a.ts) & 0xFFFFFFFF != 160]
        ck("caller: sequence numbers and timestamps consecutive across the move (%d packets)" % len(pk),
           not breaks, "breaks %s" % breaks[:5])
        # Arrival gaps: the move adds none beyond a frame to what this shared machine's
        # scheduling shows elsewhere in the stream.
        near = [b.time - a.time for a, b in zip(pk, pk[1:]) if t_move - 0.1 <= b.time <= t_moved + 0.2]
        away = [b.time - a.time for a, b in zip(pk, pk[1:]) if not t_move - 0.1 <= b.time <= t_moved + 0.2]
        ck("caller: no packet more than a frame late at the move (largest gap %.0f ms, elsewhere %.0f ms)" %
           (1000 * max(near or [0]), 1000 * max(away or [0])),
           max(near or [0]) < max(0.045, max(away or [0])) + 0.020)
        ck("caller: no new talkspurt (marker) at the move", not any(p.marker for p in pk[1:]))
        heard = ep["caller"].heard_pcm(since=m_caller)
        quiet = [i for i in range(0, len(heard) - 160, 160)
                 if mc.goertzel_amplitude(heard[i:i + 160], F["music"]) < 1000]
        ck("caller: the prompt goes on through the move (%d quiet frames)" % len(quiet), not quiet)
        info = eng.call("GetChannel", channel=ch["caller"].channel)
        ck("caller: same id and port after the move, still receiving (%d -> %d packets)" %
           (rx_before, info.stats.rx_packets),
           info.channel == ch["caller"].channel and info.local_port == port["caller"] and info.learnt and
           info.stats.rx_packets > rx_before + 30)
        eng.call("StopPlay", channel=ch["caller"].channel)
        for n in names:
            ep[n].pause()   # silence first: the talker detector learns the floor
        ev0 = eng.event_mark()
        for n in ("agent", "sup"):
            unary("AddMember", pb.MemberRequest(conference=c1.conference, channel=ch[n].channel))
        got = unary("GetConference", pb.ConferenceRef(conference=c1.conference), pb.Conference)
        ck("conference 1: three members", got.members == 3)
        for n in names:
            ep[n].resume()
        # Digits from each party after the moves: reported with its own API id.
        keyed = {"caller": "1", "agent": "2", "sup": "3"}
        for n in names:
            ep[n].key_inband(keyed[n], dbm0=-10, on_ms=100, off_ms=100)
        for n in names:
            ep[n].wait_idle(10)
        time.sleep(0.4)
        for n in names:
            got = "".join(e.digit for e in eng.events_since(ev0, channel=ch[n].channel, type_=pb.DIGIT))
            ck("%s: digit %r reported for its API id (got %r)" % (n, keyed[n], got), got == keyed[n])
        for n in names:
            ep[n].send_tone(F[n], 60000, dbm0=-12)

        def check_mode(label, who, want):
            # Two busy-polling workers share one CPU here, beside other tests: a window
            # in which a worker or this process was starved is measured again (twice at
            # most); a wrong mix is wrong in every window.
            time.sleep(0.6)
            for _ in range(3):
                marks = {n: ep[n].mark() for n in who}
                time.sleep(0.5)
                got = {n: hears(ep[n], marks[n]) for n in who}
                if got == want:
                    break
            for n in who:
                ck("%s: %s hears %s" % (label, n, sorted(want[n])), got[n] == want[n], "got %s" % sorted(got[n]))

        check_mode("conference on worker 1", names,
                   {"caller": {"agent", "sup"}, "agent": {"caller", "sup"}, "sup": {"caller", "agent"}})
        time.sleep(1.0)
        talk = eng.events_since(ev0, type_=pb.TALKING_STARTED)
        ck("talking events carry the three API ids: %s" % sorted({e.channel for e in talk}),
           {e.channel for e in talk} == {ch[n].channel for n in names} and
           all(e.conference == c1.conference for e in talk))
        ck("nobody's port changed", all(eng.call("GetChannel", channel=ch[n].channel).local_port == port[n]
                                        for n in names))

        # 2. A conference on worker 0: the caller goes back home, the agent moves.
        for n in names:
            unary("RemoveMember", pb.MemberRequest(conference=c1.conference, channel=ch[n].channel))
        unary("DeleteConference", pb.ConferenceRef(conference=c1.conference))
        d = eng.call("CreateChannel", codec=pb.PCMU)
        ck("a fourth channel on worker 0 (port %d)" % d.local_port, worker_of(d.local_port) == 0)
        ch["d"], port["d"] = d, d.local_port
        ep["d"] = pool.add(mc.RtpEndpoint(eng.local, name="d"))
        ep["d"].connect(eng.engine, d.local_port)
        ep["d"].send_tone(F["d"], 60000, dbm0=-12)
        ck("d learns its party", eng.wait_learnt(d.channel))
        c2 = unary("CreateConference", pb.CreateConferenceRequest(near_channel=d.channel), pb.Conference)
        for n in ("d", "caller", "agent"):
            unary("AddMember", pb.MemberRequest(conference=c2.conference, channel=ch[n].channel))
        who = ["d", "caller", "agent"]
        check_mode("conference on worker 0", who + ["sup"],
                   {"d": {"caller", "agent"}, "caller": {"d", "agent"}, "agent": {"d", "caller"}, "sup": set()})
        ck("ports unchanged after the second move", all(
            eng.call("GetChannel", channel=ch[n].channel).local_port == port[n] for n in who))
        unary("DeleteConference", pb.ConferenceRef(conference=c2.conference))

        # 3. Supervise: caller and agent (both on worker 0 now) bridged; the supervisor
        # (moved to worker 1 in part 1) joins listening and moves back.
        eng.call("Bridge", a=ch["caller"].channel, b=ch["agent"].channel)
        check_mode("bridge", names, {"caller": {"agent"}, "agent": {"caller"}, "sup": set()})
        c3 = unary("Supervise", pb.SuperviseRequest(caller=ch["caller"].channel, agent=ch["agent"].channel,
                                                    supervisor=ch["sup"].channel, mode=pb.LISTEN), pb.Conference)
        ck("supervise across workers: a conference of three", c3.members == 3)
        check_mode("listen", names, {"caller": {"agent"}, "agent": {"caller"}, "sup": {"caller", "agent"}})
        unary("RemoveMember", pb.MemberRequest(conference=c3.conference, channel=ch["sup"].channel))
        unary("DeleteConference", pb.ConferenceRef(conference=c3.conference, rebridge=True))
        eng.call("Unbridge", channel=ch["caller"].channel)

        # 4. A recording channel does not move; every slot is free again after deletes.
        for n in list(ch):
            eng.call("DeleteChannel", channel=ch[n].channel)
        x = eng.call("CreateChannel", codec=pb.PCMU)
        y = eng.call("CreateChannel", codec=pb.PCMU)
        ck("two fresh channels on two workers", worker_of(x.local_port) != worker_of(y.local_port))
        unary("StartRecording", pb.RecordRequest(channel=x.channel, path="x.wav"), pb.Recording)
        c4 = unary("CreateConference", pb.CreateConferenceRequest(near_channel=y.channel), pb.Conference)
        expect_error("a recording channel cannot move", lambda: unary(
            "AddMember", pb.MemberRequest(conference=c4.conference, channel=x.channel)),
            grpc.StatusCode.FAILED_PRECONDITION, "stop the recording")
        unary("StopRecording", pb.ChannelRef(channel=x.channel))
        unary("AddMember", pb.MemberRequest(conference=c4.conference, channel=x.channel))
        ck("after the recording stopped it moves", eng.call("GetChannel", channel=x.channel).local_port == x.local_port)
        unary("DeleteConference", pb.ConferenceRef(conference=c4.conference))
        eng.call("DeleteChannel", channel=x.channel)
        eng.call("DeleteChannel", channel=y.channel)
        made = []
        try:
            for _ in range(17):
                made.append(eng.call("CreateChannel", codec=pb.PCMU))
        except grpc.RpcError as e:
            ck("the 17th channel: RESOURCE_EXHAUSTED", e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED)
        ck("all 16 slots usable again (%d made)" % len(made), len(made) == 16)
        ck("every port once", len({m.local_port for m in made}) == 16)
    finally:
        pool.stop()
        rc = eng.stop()
        shutil.rmtree(recdir, ignore_errors=True)
    ck("medleyd exits 0", rc == 0)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
