"""Bridges, supervisors and the ACD across two workers (issues 4 and 7): medleyd with two
workers on net_tap; each channel is created on a chosen worker (near an anchor channel
that never moves; its local port says which range, so which worker, it started on) and
the control thread moves a leg where a bridge or a conference needs it (md_ctl_bridge,
md_ctl_conf_from_bridge, md_ctl_conf_add in control/ctl.c). Who hears whom is decoded
from the RTP medleyd sends (a continuous tone per party):

1. Bridge of two channels on different workers: both hear each other; GetChannel's
   bridged_to names the peer on both sides (one of them moved: its record is not in its
   worker's range); Unbridge: neither hears the other.
2. A recording channel does not move: Bridge(a, b) with b recording moves a instead (the
   recording goes on: its file holds both parties' tones after the bridge); both
   recording on two workers: FAILED_PRECONDITION "stop one's recording", nothing bridged;
   one stopped, the bridge works.
3. Supervise with the supervisor on the other worker: WHISPER (the agent hears it, the
   caller does not, it hears both), BARGE (both hear it), then back to the bridge; a
   recording supervisor on the other worker: FAILED_PRECONDITION and the bridge intact.
4. The ACD connects a caller (worker 0) to an agent's leg (worker 1): they hear each
   other. Monitor from a supervisor's channel on worker 1: LISTEN, WHISPER, BARGE, STOP
   by ear; a recording supervisor on the other worker is refused with the reason.
5. A consult to an agent whose leg is on worker 1 and records (the consulting agent's leg
   moves to it: they hear each other, the caller hears music); ConsultConference: the
   consulted leg would have to move to the call's worker: FAILED_PRECONDITION "stop the
   recording" and the media as they were; recording stopped, ConsultConference: each of
   the three hears the other two; the consulted agent hangs up: caller and agent again.
6. The consulted agent dials out (AgentDial); the answer comes on a leg of the other
   worker (DialResult): the agent's leg moves, they hear each other, the first call
   goes on beside it.

Needs root and /dev/net/tun (exit 77 otherwise).
Usage: /usr/bin/python3 test_tap_move_acd.py MEDLEYD PROTO"""
import os
import shutil
import struct
import sys
import tempfile
import time
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import medley_caller as mc  # noqa: E402
import test_tap_call as tc  # noqa: E402

import grpc  # noqa: E402

HEARD = -30.0      # dBm0: a tone clearly heard
SILENT = -35.0     # dBm0: not heard
MUSIC = 400


def main():
    why = tc.can_run()
    if why is not None:
        print("skipped:", why)
        return 77
    tc.real_time_priority()
    ck = tc.Checks("tap-move-acd")
    cpus = sorted(os.sched_getaffinity(0))
    main_cpu, work_cpu = cpus[0], cpus[-1]
    recdir = tempfile.mkdtemp(prefix="medley-moveacd-")
    eng = tc.TapEngine(sys.argv[1], sys.argv[2], tag="mda", channels=32,
                       lcores="0@%d,1@%d,2@%d" % (main_cpu, work_cpu, work_cpu),
                       extra=["--record-dir", recdir])
    pb = eng.pb
    pool = mc.CallerPool()
    feed = tc.Feeder()
    C = grpc.StatusCode
    eps = []

    def unary(method, req, resp=pb.Empty):
        # 15 s: a call that moves legs is a dozen worker round trips, and a worker starved
        # by other busy-polling processes on this shared machine once took a refused
        # ConsultConference past 5 s (its outcome was right).
        return eng.unary(method, req, resp, timeout=15)

    expect = ck.rpc_error

    def hear(label, want):
        """want: [(ep, freq, heard?)]. Up to 3 windows of 0.7 s until every path is as
        wanted (two busy-polling workers share one CPU beside other tests: a starved
        window is measured again); a wrong path is wrong in every window. One check per
        path."""
        for _ in range(3):
            time.sleep(0.3)
            marks = {ep: ep.mark() for ep in eps}
            time.sleep(0.7)
            got = [(ep, f, on, tc.level(ep, marks[ep], f)) for ep, f, on in want]
            if all((lv > HEARD) if on else (lv < SILENT) for _, _, on, lv in got):
                break
        for ep, f, on, lv in got:
            ck("%s: %s %s %d Hz (%.1f dBm0)" % (label, ep.name, "hears" if on else "does not hear", f, lv),
               (lv > HEARD) if on else (lv < SILENT))

    anchors = []

    def worker_of(port):
        return 1 if port >= anchors[1].local_port else 0

    def new_leg(name, freq, worker):
        ch = eng.call("CreateChannel", codec=pb.PCMU, near_channel=anchors[worker].channel)
        ep = pool.add(mc.RtpEndpoint(eng.local, name=name))
        ep.connect(eng.engine, ch.local_port)
        feed.add(ep, freq)
        eps.append(ep)
        ck("%s created on worker %d (port %d)" % (name, worker, ch.local_port), worker_of(ch.local_port) == worker)
        return ch, ep

    def bridged_to(ch):
        return eng.call("GetChannel", channel=ch.channel).bridged_to

    def record(ch, path):
        unary("StartRecording", pb.RecordRequest(channel=ch.channel, path=path, stereo=True), pb.Recording)

    try:
        ck("two workers", eng.call("GetStats").workers == 2)
        # Anchors: the first channel goes to worker 0, the second to worker 1 (the one with
        # more room); they never move, so near_channel places a channel on either worker.
        anchors.append(eng.call("CreateChannel", codec=pb.PCMU))
        anchors.append(eng.call("CreateChannel", codec=pb.PCMU))
        ck("anchors on two port ranges (%d, %d)" % (anchors[0].local_port, anchors[1].local_port),
           anchors[1].local_port > anchors[0].local_port)
        tc.write_tone_wav(os.path.join(eng.work, "music.wav"), MUSIC, 1000)
        eng.call("LoadPrompt", name="zh/acd/music", path=os.path.join(eng.work, "music.wav"))
        a0, ea = new_leg("a", 700, 0)
        b1, eb = new_leg("b", 1100, 1)
        x0, ex = new_leg("x", 1900, 0)
        y1, ey = new_leg("y", 2300, 1)
        z1, ez = new_leg("z", 2700, 1)
        s1, es = new_leg("sup", 1500, 1)
        r1, er = new_leg("rsup", 3100, 1)
        pool.start()
        ck("every leg learns its party",
           all(eng.wait_learnt(c.channel) for c in (a0, b1, x0, y1, z1, s1, r1)))

        # ---- 1. Bridge across workers ----
        hear("before the bridge", [(ea, 1100, 0), (eb, 700, 0)])
        eng.call("Bridge", timeout=15, a=a0.channel, b=b1.channel)
        hear("bridge across workers", [(ea, 1100, 1), (eb, 700, 1), (ex, 700, 0), (ey, 1100, 0)])
        ck("bridged_to of a (worker 0) names b (moved from worker 1): %d" % bridged_to(a0),
           bridged_to(a0) == b1.channel)
        ck("bridged_to of b names a: %d" % bridged_to(b1), bridged_to(b1) == a0.channel)
        ck("b keeps its id and port", eng.call("GetChannel", channel=b1.channel).local_port == b1.local_port)
        eng.call("Unbridge", channel=a0.channel)
        hear("unbridged", [(ea, 1100, 0), (eb, 700, 0)])
        ck("unbridged: bridged_to 0 on both sides", bridged_to(a0) == 0 and bridged_to(b1) == 0)

        # ---- 2. recording channels ----
        record(x0, "x.wav")
        eng.call("Bridge", timeout=15, a=y1.channel, b=x0.channel)   # x records: y moves, not x
        hear("y bridged to the recording x", [(ex, 2300, 1), (ey, 1900, 1)])
        ck("bridged_to both ways (y moved to x's worker)",
           bridged_to(x0) == y1.channel and bridged_to(y1) == x0.channel)
        time.sleep(0.5)
        unary("StopRecording", pb.ChannelRef(channel=x0.channel))
        eng.call("Unbridge", channel=y1.channel)
        time.sleep(0.5)
        with wave.open(os.path.join(recdir, "x.wav")) as w:
            n = w.getnframes()
            data = struct.unpack("<%dh" % (2 * n), w.readframes(n))
        left, right = list(data[0::2])[-8000:], list(data[1::2])[-8000:]

        def tone(pcm, f):
            return mc.rms_dbm0(mc.goertzel_amplitude(pcm, f) / 2 ** 0.5)
        ck("x's recording went on through the bridge: its last second has x's tone received "
           "(%.1f) and y's sent (%.1f)" % (tone(left, 1900), tone(right, 2300)),
           n > 8000 and tone(left, 1900) > HEARD and tone(right, 2300) > HEARD)
        record(x0, "x2.wav")
        record(z1, "z.wav")
        expect("Bridge of two recording channels on two workers", C.FAILED_PRECONDITION,
               lambda: eng.call("Bridge", timeout=15, a=x0.channel, b=z1.channel), ["stop one's recording"])
        ck("nothing bridged after the refusal", bridged_to(x0) == 0 and bridged_to(z1) == 0)
        hear("refused bridge", [(ex, 2700, 0), (ez, 1900, 0)])
        unary("StopRecording", pb.ChannelRef(channel=z1.channel))
        eng.call("Bridge", timeout=15, a=x0.channel, b=z1.channel)
        hear("z's recording stopped: bridged to x", [(ex, 2700, 1), (ez, 1900, 1)])
        eng.call("Unbridge", channel=x0.channel)
        unary("StopRecording", pb.ChannelRef(channel=x0.channel))

        # ---- 3. Supervise with the supervisor on the other worker ----
        eng.call("Bridge", timeout=15, a=a0.channel, b=b1.channel)   # caller a, agent b (both on worker 0 now)
        cf = unary("Supervise", pb.SuperviseRequest(caller=a0.channel, agent=b1.channel,
                                                    supervisor=s1.channel, mode=pb.WHISPER), pb.Conference)
        ck("supervise: three members", cf.members == 3)
        hear("supervise whisper", [(eb, 1500, 1), (ea, 1500, 0), (es, 700, 1), (es, 1100, 1),
                                   (ea, 1100, 1), (eb, 700, 1)])
        unary("SetMember", pb.MemberRequest(conference=cf.conference, channel=s1.channel, role=pb.BARGE))
        hear("supervise barge", [(ea, 1500, 1), (eb, 1500, 1), (es, 700, 1), (es, 1100, 1)])
        unary("RemoveMember", pb.MemberRequest(conference=cf.conference, channel=s1.channel))
        unary("DeleteConference", pb.ConferenceRef(conference=cf.conference, rebridge=True))
        hear("supervisor gone, the bridge again", [(ea, 1100, 1), (eb, 700, 1), (es, 700, 0), (ea, 1500, 0)])
        record(r1, "r.wav")
        expect("Supervise by a recording supervisor on the other worker", C.FAILED_PRECONDITION,
               lambda: unary("Supervise", pb.SuperviseRequest(caller=a0.channel, agent=b1.channel,
                                                              supervisor=r1.channel, mode=pb.LISTEN),
                             pb.Conference), ["stop the recording"])
        ck("the bridge is intact after the refusal", bridged_to(a0) == b1.channel and bridged_to(b1) == a0.channel)
        hear("after the refused supervisor", [(ea, 1100, 1), (eb, 700, 1), (er, 700, 0)])
        eng.call("Unbridge", channel=a0.channel)

        # ---- 4. the ACD across workers: connect and Monitor ----
        unary("AddQueue", pb.QueueConfig(name="billing", acw_ms=60000, lang="zh"))
        for aid in ("1024", "2048"):
            unary("AddAgent", pb.AgentConfig(id=aid, skills=[pb.Skill(name="billing", level=5)]))
        c0, ec = new_leg("caller", 600, 0)
        g1, eg = new_leg("agent1024", 900, 1)
        m1, em = new_leg("monitor", 1300, 1)
        h1, eh = new_leg("agent2048", 1700, 1)
        ck("ACD legs learnt", all(eng.wait_learnt(c.channel) for c in (c0, g1, m1, h1)))
        unary("AgentLogin", pb.AgentRequest(agent="1024", channel=g1.channel))
        unary("AgentLogin", pb.AgentRequest(agent="2048", channel=h1.channel))
        unary("AgentReady", pb.AgentRequest(agent="1024"))
        m = eng.event_mark()
        call = unary("QueueCall", pb.QueueCallRequest(channel=c0.channel, queue="billing", ani="13800001111"),
                     pb.QueueCallReply).call
        end = time.time() + 3
        while time.time() < end and not [e for e in eng.events_since(m, type_=pb.ACD)
                                         if e.acd == "offer" and e.call == call]:
            time.sleep(0.02)
        unary("AgentAnswer", pb.AgentRequest(agent="1024", call=call, channel=g1.channel))
        hear("ACD: caller (worker 0) connected to 1024's leg (worker 1)", [(ec, 900, 1), (eg, 600, 1)])
        ck("ACD: bridged_to both ways", bridged_to(c0) == g1.channel and bridged_to(g1) == c0.channel)
        unary("Monitor", pb.MonitorRequest(agent="1024", supervisor=m1.channel, mode=pb.MONITOR_LISTEN))
        hear("monitor listen", [(em, 600, 1), (em, 900, 1), (ec, 1300, 0), (eg, 1300, 0), (ec, 900, 1), (eg, 600, 1)])
        unary("Monitor", pb.MonitorRequest(agent="1024", supervisor=m1.channel, mode=pb.MONITOR_WHISPER))
        hear("monitor whisper", [(eg, 1300, 1), (ec, 1300, 0), (em, 600, 1)])
        unary("Monitor", pb.MonitorRequest(agent="1024", supervisor=m1.channel, mode=pb.MONITOR_BARGE))
        hear("monitor barge", [(eg, 1300, 1), (ec, 1300, 1), (em, 600, 1), (em, 900, 1)])
        unary("Monitor", pb.MonitorRequest(agent="1024", supervisor=m1.channel, mode=pb.MONITOR_STOP))
        hear("monitor stopped", [(em, 600, 0), (em, 900, 0), (ec, 1300, 0), (ec, 900, 1), (eg, 600, 1)])
        # r1 still records, on worker 1; the call is on worker 0.
        expect("Monitor by a recording supervisor on the other worker", C.FAILED_PRECONDITION,
               lambda: unary("Monitor", pb.MonitorRequest(agent="1024", supervisor=r1.channel,
                                                          mode=pb.MONITOR_LISTEN)), ["stop the recording"])
        hear("after the refused monitor: the plain call", [(ec, 900, 1), (eg, 600, 1), (er, 600, 0)])
        unary("StopRecording", pb.ChannelRef(channel=r1.channel))

        # ---- 5. consult and three-way with the consulted leg on the other worker ----
        unary("AgentReady", pb.AgentRequest(agent="2048"))
        record(h1, "h.wav")   # the consulting agent's leg moves to it, not it
        m = eng.event_mark()
        i = unary("AgentConsult", pb.ConsultRequest(agent="1024", to_agent="2048"), pb.QueueCallReply).call
        end = time.time() + 3
        while time.time() < end and not [e for e in eng.events_since(m, type_=pb.ACD)
                                         if e.acd == "offer" and e.call == i]:
            time.sleep(0.02)
        unary("AgentAnswer", pb.AgentRequest(agent="2048", call=i, channel=h1.channel))
        hear("consult across workers", [(eg, 1700, 1), (eh, 900, 1), (ec, MUSIC, 1), (ec, 900, 0), (eh, 600, 0)])
        expect("ConsultConference with the consulted leg recording on another worker", C.FAILED_PRECONDITION,
               lambda: unary("ConsultConference", pb.AgentRequest(agent="1024")), ["stop the recording"])
        hear("refused three-way: the consult as it was",
             [(eg, 1700, 1), (eh, 900, 1), (ec, MUSIC, 1), (ec, 900, 0), (ec, 1700, 0), (eh, 600, 0)])
        unary("StopRecording", pb.ChannelRef(channel=h1.channel))
        unary("ConsultConference", pb.AgentRequest(agent="1024"))
        hear("three-way across workers", [(ec, 900, 1), (ec, 1700, 1), (ec, MUSIC, 0), (eg, 600, 1), (eg, 1700, 1),
                                          (eh, 600, 1), (eh, 900, 1)])
        unary("AgentHangup", pb.AgentRequest(agent="2048"))
        hear("2048 left the three-way", [(ec, 900, 1), (eg, 600, 1), (eh, 600, 0), (ec, 1700, 0)])
        ck("caller and 1024 bridged again", bridged_to(c0) == g1.channel and bridged_to(g1) == c0.channel)

        # ---- 6. an agent's dial answered on a leg of the other worker ----
        # 2048's leg joined the three-way on worker 0; the dialled party's leg is on worker 1.
        d1, ed = new_leg("dialled", 2100, 1)
        ck("the dialled leg learnt", eng.wait_learnt(d1.channel))
        m = eng.event_mark()
        dcall = unary("AgentDial", pb.AgentDialRequest(agent="2048", number="800100"), pb.QueueCallReply).call
        end = time.time() + 3
        while time.time() < end and not [e for e in eng.events_since(m, type_=pb.ACD)
                                         if e.acd == "dial" and e.call == dcall]:
            time.sleep(0.02)
        unary("DialResult", pb.DialResultRequest(call=dcall, result=pb.DIAL_ANSWERED, channel=d1.channel))
        hear("dial answered on the other worker", [(ed, 1700, 1), (eh, 2100, 1), (ec, 2100, 0), (ed, 600, 0)])
        ck("dialled leg and 2048's leg bridged", bridged_to(d1) == h1.channel and bridged_to(h1) == d1.channel)
        hear("the first call goes on beside it", [(ec, 900, 1), (eg, 600, 1)])
    except Exception as e:   # an RPC that failed unexpectedly: a failed check, medleyd's output below
        import traceback
        traceback.print_exc()
        ck("the test ran to its end", False, "%s: %s" % (type(e).__name__, e))
    finally:
        feed.stop.set()
        pool.stop()
        rc = eng.stop()
        shutil.rmtree(recdir, ignore_errors=True)
    ck("medleyd exits 0", rc == 0)
    if ck.fails:
        print("medleyd said:\n" + "".join(line for line in eng.out if "tap_" not in line))
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
