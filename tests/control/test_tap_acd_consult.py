"""Consult, three-way and internal agent-to-agent calls (ACD-6) through the API over
net_tap, who hears whom decoded from real RTP: a caller (700 Hz), agent 1024's leg
(1100 Hz) and agent 2048's leg (1500 Hz), the hold music 400 Hz.

  1. AgentConsult: an "offer" event with reason "consult" (target the consulting agent,
     the call's data), the caller hears the music and neither agent, the two agents hear
     each other once the consulted one answers ("connected" reason consult), ListAgents
     shows both in the consult. What is refused meanwhile (hold, monitor, a second
     consult, complete before the answer).
  2. ConsultComplete: the caller and 2048 hear each other, 1024 hears nothing and is in
     after-call work; the call and its data are 2048's ("connected" reason transfer).
  3. A second call: ConsultConference, everyone hears the other two; ConsultConference
     again refused; 2048 hangs up, caller and 1024 hear each other again.
  4. ConsultCancel once answered and while ringing (a "cancel" event): the caller and
     1024 hear each other, 2048 is ready and hears nothing.
  5. A three-way that the first agent leaves: the caller and 2048 go on.
  6. The caller hangs up during a consult: 2048 ready, 1024 in after-call work. The API
     connection that queued the caller (tie_to_connection) closes during a three-way:
     the caller released, the conference gone, 2048 ready, 1024 in after-call work.
  7. AgentCall: 1024 calls 2048 ("offer" reason internal), both hear each other, the
     idle caller's leg hears neither; 2048 hangs up, both ready at once (no ACW), each
     counting one more internal call.
  8. Every error status of the five methods, and of the call methods on an internal call.

Needs root and /dev/net/tun (exit 77 otherwise).
Usage: /usr/bin/python3 test_tap_acd_consult.py MEDLEYD PROTO"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import medley_caller as mc  # noqa: E402
import medley_client  # noqa: E402
import test_tap_call as tc  # noqa: E402

import grpc  # noqa: E402

HEARD = -30.0      # dBm0: a tone clearly heard
SILENT = -35.0     # dBm0: not heard

CALLER, AG_A, AG_B, MUSIC = 700, 1100, 1500, 400


level = tc.level
Feeder = tc.Feeder


def main():
    why = tc.can_run()
    if why is not None:
        print("skipped:", why)
        return 77
    medley_client.clear_of_half_hour(90)   # its KPI checks count calls in one half hour
    tc.real_time_priority()
    ck = tc.Checks("tap-acd-consult")
    eng = tc.TapEngine(sys.argv[1], sys.argv[2], tag="mdk", channels=16)
    pb = eng.pb
    pool = mc.CallerPool()
    feed = Feeder()
    C = grpc.StatusCode

    def wait_acd(mark, name, pred=lambda e: True, timeout=3.0):
        end = time.time() + timeout
        while time.time() < end:
            got = [e for e in eng.acd_events(mark, name) if pred(e)]
            if got:
                return got
            time.sleep(0.02)
        return []

    expect = ck.rpc_error

    eps = []

    def listen(*want):
        """Marks on every endpoint, 0.7 s of media, then the level of f heard by ep. With
        want ((ep, f, heard?), ...): up to 3 windows until all hold (a loaded machine may
        stall the media a moment; a wrong path fails every window)."""
        for _ in range(3):
            time.sleep(0.3)
            marks = {ep: ep.mark() for ep in eps}
            time.sleep(0.7)

            def hear(ep, f, marks=marks):
                return level(ep, marks[ep], f)
            if all(hear(ep, f) > HEARD if on else hear(ep, f) < SILENT for ep, f, on in want):
                break
        return hear

    def agents():
        return {a.id: a for a in eng.unary("ListAgents", pb.ListAgentsRequest(), pb.AgentList).agents}

    def new_leg(name, freq, near):
        ch = eng.call("CreateChannel", codec=pb.PCMU, near_channel=near)
        ep = pool.add(mc.RtpEndpoint(eng.local, name=name))
        ep.connect(eng.engine, ch.local_port)
        if freq:
            feed.add(ep, freq)
        eps.append(ep)
        return ch, ep

    def req(agent, **kw):
        return pb.AgentRequest(agent=agent, **kw)

    def queue_and_answer(data):
        """A call offered to 1024 (the only ready agent) and answered; 2048 ready after."""
        m = eng.event_mark()
        call = eng.unary("QueueCall", pb.QueueCallRequest(channel=caller.channel, queue="billing",
                                                          ani="13800001111", data=data),
                         pb.QueueCallReply).call
        ev = wait_acd(m, "offer", lambda e: e.call == call)
        ok = bool(ev) and ev[0].agent == "1024"
        eng.unary("AgentAnswer", req("1024", call=call, channel=leg_a.channel))
        eng.unary("AgentReady", req("2048"))
        return call, ok

    def consult_answered(call):
        m = eng.event_mark()
        i = eng.unary("AgentConsult", pb.ConsultRequest(agent="1024", to_agent="2048"), pb.QueueCallReply).call
        ev = wait_acd(m, "offer", lambda e: e.call == i)
        eng.unary("AgentAnswer", req("2048", call=i, channel=leg_b.channel))
        return i, ev

    try:
        work = eng.work
        tc.write_tone_wav(os.path.join(work, "music.wav"), MUSIC, 1000)
        eng.call("LoadPrompt", name="zh/acd/music", path=os.path.join(work, "music.wav"))
        eng.unary("AddQueue", pb.QueueConfig(name="billing", acw_ms=60000, lang="zh"))
        for aid in ("1024", "2048", "4096"):
            eng.unary("AddAgent", pb.AgentConfig(id=aid, skills=[pb.Skill(name="billing", level=5)]))
        caller = eng.call("CreateChannel", codec=pb.PCMU)
        ec = pool.add(mc.RtpEndpoint(eng.local, name="caller"))
        ec.connect(eng.engine, caller.local_port)
        feed.add(ec, CALLER)
        eps.append(ec)
        leg_a, ea = new_leg("agent1024", AG_A, caller.channel)
        leg_b, eb = new_leg("agent2048", AG_B, caller.channel)
        pool.start()
        ck("legs learnt", all(eng.wait_learnt(c.channel) for c in (caller, leg_a, leg_b)))
        eng.unary("AgentLogin", req("1024", channel=leg_a.channel))
        eng.unary("AgentLogin", req("2048", channel=leg_b.channel))
        eng.unary("AgentReady", req("1024"))

        # ---- 1. consult ----
        call, ok = queue_and_answer("crm=42")
        ck("first call offered to 1024 and answered", ok)
        hear = listen((ec, AG_A, 1), (ea, CALLER, 1))
        ck("connected: caller and 1024 hear each other", hear(ec, AG_A) > HEARD and hear(ea, CALLER) > HEARD)
        m = eng.event_mark()
        i = eng.unary("AgentConsult", pb.ConsultRequest(agent="1024", to_agent="2048"), pb.QueueCallReply).call
        ev = wait_acd(m, "offer", lambda e: e.call == i)
        ck("consult: an offer to 2048 with reason consult, from 1024, on 1024's leg, with the call's data",
           bool(ev) and ev[0].agent == "2048" and ev[0].reason == "consult" and ev[0].target == "1024" and
           ev[0].channel == leg_a.channel and ev[0].data == "crm=42" and ev[0].queue == "billing",
           str(ev[:1]))
        ag = agents()
        ck("consult ringing: 1024 on hold (consult), 2048 offered, both show the consult",
           ag["1024"].state == pb.AGENT_HOLD and ag["1024"].reason == "consult" and
           ag["2048"].state == pb.AGENT_OFFERED and ag["1024"].consult == i and ag["2048"].consult == i)
        hear = listen((ec, MUSIC, 1), (ec, AG_A, 0))
        ck("consult ringing: the caller hears the music (%.1f), not 1024 (%.1f)" % (hear(ec, MUSIC), hear(ec, AG_A)),
           hear(ec, MUSIC) > HEARD and hear(ec, AG_A) < SILENT)
        expect("ConsultComplete before the answer", C.FAILED_PRECONDITION,
               lambda: eng.unary("ConsultComplete", req("1024")), ["not answered"])
        expect("ConsultConference before the answer", C.FAILED_PRECONDITION,
               lambda: eng.unary("ConsultConference", req("1024")), ["not answered"])
        eng.unary("AgentLogin", req("4096"))
        eng.unary("AgentReady", req("4096"))
        expect("a second AgentConsult", C.FAILED_PRECONDITION,
               lambda: eng.unary("AgentConsult", pb.ConsultRequest(agent="1024", to_agent="4096"), pb.QueueCallReply),
               ["in progress already"])
        expect("AgentConsult to an agent offered a consult", C.FAILED_PRECONDITION,
               lambda: eng.unary("AgentConsult", pb.ConsultRequest(agent="4096", to_agent="2048"), pb.QueueCallReply),
               ["offered", "ready agent"])
        eng.unary("AgentNotReady", req("4096", reason="spare"))
        expect("CallHold during the consult", C.FAILED_PRECONDITION,
               lambda: eng.unary("CallHold", pb.CallRef(call=call)), ["consult"])
        expect("CallHangup of the internal call", C.INVALID_ARGUMENT,
               lambda: eng.unary("CallHangup", pb.CallRef(call=i)), ["internal call", "AgentHangup"])
        m = eng.event_mark()
        eng.unary("AgentAnswer", req("2048", call=i, channel=leg_b.channel))
        ev = wait_acd(m, "connected", lambda e: e.call == i)
        ck("consult answered: a connected event (reason consult)", bool(ev) and ev[0].reason == "consult")
        hear = listen((ea, AG_B, 1), (eb, AG_A, 1), (ec, MUSIC, 1), (ec, AG_A, 0), (ec, AG_B, 0), (ea, CALLER, 0), (eb, CALLER, 0))
        ck("consult: 1024 hears 2048 (%.1f) and 2048 hears 1024 (%.1f)" % (hear(ea, AG_B), hear(eb, AG_A)),
           hear(ea, AG_B) > HEARD and hear(eb, AG_A) > HEARD)
        ck("consult: the caller hears the music (%.1f) and neither agent (%.1f, %.1f)" %
           (hear(ec, MUSIC), hear(ec, AG_A), hear(ec, AG_B)),
           hear(ec, MUSIC) > HEARD and hear(ec, AG_A) < SILENT and hear(ec, AG_B) < SILENT)
        ck("consult: neither agent hears the caller (%.1f, %.1f)" % (hear(ea, CALLER), hear(eb, CALLER)),
           hear(ea, CALLER) < SILENT and hear(eb, CALLER) < SILENT)
        ag = agents()
        ck("consult: both agents talking (consult)",
           ag["1024"].state == pb.AGENT_TALKING and ag["2048"].state == pb.AGENT_TALKING and
           ag["2048"].reason == "consult")
        expect("Monitor during the consult", C.FAILED_PRECONDITION,
               lambda: eng.unary("Monitor", pb.MonitorRequest(agent="1024", supervisor=leg_b.channel,
                                                              mode=pb.MONITOR_LISTEN)), ["consult"])

        # ---- 2. complete ----
        m = eng.event_mark()
        eng.unary("ConsultComplete", req("1024"))
        ev = wait_acd(m, "connected", lambda e: e.call == call)
        ck("complete: the caller's call connected to 2048 (reason transfer) with its data",
           bool(ev) and ev[0].agent == "2048" and ev[0].reason == "transfer" and ev[0].data == "crm=42")
        ck("complete: the consult ended (reason transfer)",
           bool(wait_acd(m, "ended", lambda e: e.call == i and e.reason == "transfer")))
        hear = listen((ec, AG_B, 1), (eb, CALLER, 1), (ea, CALLER, 0), (ea, AG_B, 0), (ec, AG_A, 0), (eb, AG_A, 0), (ec, MUSIC, 0))
        ck("complete: caller hears 2048 (%.1f), 2048 hears the caller (%.1f)" % (hear(ec, AG_B), hear(eb, CALLER)),
           hear(ec, AG_B) > HEARD and hear(eb, CALLER) > HEARD)
        ck("complete: 1024 hears nothing (%.1f, %.1f), nobody hears 1024 (%.1f, %.1f), no music (%.1f)" %
           (hear(ea, CALLER), hear(ea, AG_B), hear(ec, AG_A), hear(eb, AG_A), hear(ec, MUSIC)),
           hear(ea, CALLER) < SILENT and hear(ea, AG_B) < SILENT and hear(ec, AG_A) < SILENT and
           hear(eb, AG_A) < SILENT and hear(ec, MUSIC) < SILENT)
        ag = agents()
        ck("complete: 1024 in after-call work, 2048 talking with the call, one internal call each",
           ag["1024"].state == pb.AGENT_ACW and ag["2048"].state == pb.AGENT_TALKING and
           ag["2048"].call == call and ag["1024"].internal_calls == 1 and ag["2048"].internal_calls == 1 and
           ag["2048"].consult == 0)
        kpi = eng.unary("GetKpi", pb.KpiRequest(agent="1024"), pb.Kpi)
        ck("complete: 1024's KPI counts a transfer and the consult (%d) as an internal call, "
           "not as an answered call (%d)" % (kpi.internal_calls, kpi.answered),
           kpi.transferred == 1 and kpi.internal_calls == 1 and kpi.answered == 1)
        m = eng.event_mark()
        eng.unary("AgentHangup", req("2048"))
        ck("2048 hangs up: the caller released", bool(wait_acd(m, "release", lambda e: e.channel == caller.channel)))
        eng.unary("AgentReady", req("1024"))
        eng.unary("AgentNotReady", req("2048", reason="wait"))

        # ---- 3. three-way ----
        call, ok = queue_and_answer("crm=43")
        ck("second call offered to 1024 and answered", ok)
        i, _ = consult_answered(call)
        m = eng.event_mark()
        eng.unary("ConsultConference", req("1024"))
        ev = wait_acd(m, "connected", lambda e: e.call == call)
        ck("conference: a connected event (reason conference, agent 2048)",
           bool(ev) and ev[0].reason == "conference" and ev[0].agent == "2048")
        hear = listen((ec, AG_A, 1), (ec, AG_B, 1), (ec, MUSIC, 0), (ea, CALLER, 1), (ea, AG_B, 1), (eb, CALLER, 1), (eb, AG_A, 1))
        ck("three-way: the caller hears 1024 (%.1f) and 2048 (%.1f), no music (%.1f)" %
           (hear(ec, AG_A), hear(ec, AG_B), hear(ec, MUSIC)),
           hear(ec, AG_A) > HEARD and hear(ec, AG_B) > HEARD and hear(ec, MUSIC) < SILENT)
        ck("three-way: 1024 hears the caller (%.1f) and 2048 (%.1f)" % (hear(ea, CALLER), hear(ea, AG_B)),
           hear(ea, CALLER) > HEARD and hear(ea, AG_B) > HEARD)
        ck("three-way: 2048 hears the caller (%.1f) and 1024 (%.1f)" % (hear(eb, CALLER), hear(eb, AG_A)),
           hear(eb, CALLER) > HEARD and hear(eb, AG_A) > HEARD)
        ag = agents()
        ck("three-way: both agents talking (conference)",
           ag["1024"].reason == "conference" and ag["2048"].reason == "conference")
        expect("ConsultConference again", C.FAILED_PRECONDITION,
               lambda: eng.unary("ConsultConference", req("1024")), ["three-way already"])
        expect("CallMute in a three-way", C.FAILED_PRECONDITION,
               lambda: eng.unary("CallMute", pb.MuteRequest(call=call, muted=True)), ["consult"])
        eng.unary("AgentHangup", req("2048"))
        hear = listen((ec, AG_A, 1), (ea, CALLER, 1), (eb, CALLER, 0), (eb, AG_A, 0), (ec, AG_B, 0), (ea, AG_B, 0))
        ck("2048 left: caller and 1024 hear each other (%.1f, %.1f)" % (hear(ec, AG_A), hear(ea, CALLER)),
           hear(ec, AG_A) > HEARD and hear(ea, CALLER) > HEARD)
        ck("2048 left: it hears nothing (%.1f, %.1f) and nobody hears it (%.1f, %.1f)" %
           (hear(eb, CALLER), hear(eb, AG_A), hear(ec, AG_B), hear(ea, AG_B)),
           hear(eb, CALLER) < SILENT and hear(eb, AG_A) < SILENT and hear(ec, AG_B) < SILENT and
           hear(ea, AG_B) < SILENT)
        ag = agents()
        ck("2048 left: ready at once (no ACW), two internal calls; 1024 still talking",
           ag["2048"].state == pb.AGENT_READY and ag["2048"].internal_calls == 2 and
           ag["1024"].state == pb.AGENT_TALKING and ag["1024"].consult == 0)

        # ---- 4. cancel, answered and ringing ----
        i, _ = consult_answered(call)
        hear = listen((ea, AG_B, 1), (eb, AG_A, 1), (ec, MUSIC, 1))
        ck("consult again: the agents hear each other, the caller the music",
           hear(ea, AG_B) > HEARD and hear(eb, AG_A) > HEARD and hear(ec, MUSIC) > HEARD)
        m = eng.event_mark()
        eng.unary("ConsultCancel", req("1024"))
        ck("cancel: the consult ended (cancelled)",
           bool(wait_acd(m, "ended", lambda e: e.call == i and e.reason == "cancelled")))
        hear = listen((ec, AG_A, 1), (ea, CALLER, 1), (ec, MUSIC, 0), (eb, CALLER, 0), (eb, AG_A, 0))
        ck("cancel: caller and 1024 again (%.1f, %.1f), no music (%.1f)" % (hear(ec, AG_A), hear(ea, CALLER), hear(ec, MUSIC)),
           hear(ec, AG_A) > HEARD and hear(ea, CALLER) > HEARD and hear(ec, MUSIC) < SILENT)
        ck("cancel: 2048 hears nothing (%.1f, %.1f)" % (hear(eb, CALLER), hear(eb, AG_A)),
           hear(eb, CALLER) < SILENT and hear(eb, AG_A) < SILENT)
        ck("cancel: 2048 ready", agents()["2048"].state == pb.AGENT_READY)
        m = eng.event_mark()
        i = eng.unary("AgentConsult", pb.ConsultRequest(agent="1024", to_agent="2048"), pb.QueueCallReply).call
        wait_acd(m, "offer", lambda e: e.call == i)
        eng.unary("ConsultCancel", req("1024"))
        ck("cancel while ringing: a cancel event to 2048",
           bool(wait_acd(m, "cancel", lambda e: e.call == i and e.agent == "2048")))
        hear = listen((ec, AG_A, 1), (ea, CALLER, 1))
        ck("cancel while ringing: caller and 1024 again", hear(ec, AG_A) > HEARD and hear(ea, CALLER) > HEARD)
        ag = agents()
        ck("cancel while ringing: 2048 ready, 1024 talking",
           ag["2048"].state == pb.AGENT_READY and ag["1024"].state == pb.AGENT_TALKING)

        # ---- 5. a three-way the first agent leaves ----
        i, _ = consult_answered(call)
        eng.unary("ConsultConference", req("1024"))
        time.sleep(0.3)
        m = eng.event_mark()
        eng.unary("AgentHangup", req("1024"))
        ev = wait_acd(m, "connected", lambda e: e.call == call)
        ck("1024 left the three-way: the call is 2048's", bool(ev) and ev[0].agent == "2048")
        hear = listen((ec, AG_B, 1), (eb, CALLER, 1), (ea, CALLER, 0), (ea, AG_B, 0), (ec, AG_A, 0))
        ck("1024 left: caller and 2048 hear each other (%.1f, %.1f)" % (hear(ec, AG_B), hear(eb, CALLER)),
           hear(ec, AG_B) > HEARD and hear(eb, CALLER) > HEARD)
        ck("1024 left: it hears nothing (%.1f, %.1f), nobody hears it (%.1f)" %
           (hear(ea, CALLER), hear(ea, AG_B), hear(ec, AG_A)),
           hear(ea, CALLER) < SILENT and hear(ea, AG_B) < SILENT and hear(ec, AG_A) < SILENT)
        ck("1024 left: in after-call work", agents()["1024"].state == pb.AGENT_ACW)
        eng.unary("AgentHangup", req("2048"))
        eng.unary("AgentReady", req("1024"))
        eng.unary("AgentNotReady", req("2048", reason="wait"))

        # ---- 6. the caller hangs up during a consult ----
        call, ok = queue_and_answer("crm=44")
        i, _ = consult_answered(call)
        m = eng.event_mark()
        eng.unary("CallHangup", pb.CallRef(call=call))
        ck("caller hangup during the consult: the consult ended (caller_hangup)",
           bool(wait_acd(m, "ended", lambda e: e.call == i and e.reason == "caller_hangup")))
        ag = agents()
        ck("caller hangup during the consult: 2048 ready, 1024 in ACW, nobody offered or reserved",
           ag["2048"].state == pb.AGENT_READY and ag["1024"].state == pb.AGENT_ACW and
           all(a.state not in (pb.AGENT_OFFERED, pb.AGENT_RESERVED) for a in ag.values()))
        hear = listen((ea, AG_B, 0), (eb, AG_A, 0))
        ck("after it the agents do not hear each other (%.1f, %.1f)" % (hear(ea, AG_B), hear(eb, AG_A)),
           hear(ea, AG_B) < SILENT and hear(eb, AG_A) < SILENT)
        eng.unary("AgentReady", req("1024"))

        # ---- 6b. the connection that queued the caller closes during a three-way ----
        eng.unary("AgentNotReady", req("2048", reason="wait"))
        x = eng.connection()
        m = eng.event_mark()
        call = eng.rpc(x, "QueueCall", pb.QueueCallRequest(channel=caller.channel, queue="billing", ani="13800001111",
                                                           tie_to_connection=True), pb.QueueCallReply).call
        wait_acd(m, "offer", lambda e: e.call == call)
        eng.unary("AgentAnswer", req("1024", call=call, channel=leg_a.channel))
        eng.unary("AgentReady", req("2048"))
        i, _ = consult_answered(call)
        eng.unary("ConsultConference", req("1024"))
        hear = listen((ec, AG_B, 1), (ea, AG_B, 1))
        ck("a tied caller in a three-way hears 2048, 1024 hears 2048", hear(ec, AG_B) > HEARD and hear(ea, AG_B) > HEARD)
        m = eng.event_mark()
        x.close()
        ck("its connection closed: the caller released", bool(wait_acd(m, "release", lambda e: e.call == call)))
        ck("... the consult ended (client_gone)",
           bool(wait_acd(m, "ended", lambda e: e.call == i and e.reason == "client_gone")))
        ag = agents()
        ck("... 2048 ready, 1024 in after-call work, nobody offered or reserved",
           ag["2048"].state == pb.AGENT_READY and ag["1024"].state == pb.AGENT_ACW and
           all(a.state not in (pb.AGENT_OFFERED, pb.AGENT_RESERVED) for a in ag.values()))
        hear = listen((ea, AG_B, 0), (eb, AG_A, 0), (ea, CALLER, 0), (eb, CALLER, 0))
        ck("... the conference is gone: the agents hear neither each other nor the caller",
           hear(ea, AG_B) < SILENT and hear(eb, AG_A) < SILENT and hear(ea, CALLER) < SILENT and
           hear(eb, CALLER) < SILENT)
        eng.unary("AgentReady", req("1024"))

        # ---- 7. an internal call ----
        m = eng.event_mark()
        i = eng.unary("AgentCall", pb.ConsultRequest(agent="1024", to_agent="2048"), pb.QueueCallReply).call
        ev = wait_acd(m, "offer", lambda e: e.call == i)
        ck("AgentCall: an offer to 2048 with reason internal, from 1024 on its standing leg",
           bool(ev) and ev[0].agent == "2048" and ev[0].reason == "internal" and ev[0].target == "1024" and
           ev[0].channel == leg_a.channel, str(ev[:1]))
        ag = agents()
        ck("AgentCall ringing: 1024 reserved (internal), 2048 offered",
           ag["1024"].state == pb.AGENT_RESERVED and ag["1024"].reason == "internal" and
           ag["2048"].state == pb.AGENT_OFFERED)
        expect("CallHold of an internal call", C.FAILED_PRECONDITION,
               lambda: eng.unary("CallHold", pb.CallRef(call=i)), ["internal"])
        eng.unary("AgentAnswer", req("2048", call=i, channel=leg_b.channel))
        ck("AgentCall answered: connected (internal)",
           bool(wait_acd(m, "connected", lambda e: e.call == i and e.reason == "internal")))
        hear = listen((ea, AG_B, 1), (eb, AG_A, 1), (ec, AG_A, 0), (ec, AG_B, 0))
        ck("internal call: 1024 hears 2048 (%.1f) and 2048 hears 1024 (%.1f)" % (hear(ea, AG_B), hear(eb, AG_A)),
           hear(ea, AG_B) > HEARD and hear(eb, AG_A) > HEARD)
        ck("internal call: the idle caller's leg hears neither (%.1f, %.1f)" % (hear(ec, AG_A), hear(ec, AG_B)),
           hear(ec, AG_A) < SILENT and hear(ec, AG_B) < SILENT)
        expect("ConsultComplete of a direct call", C.FAILED_PRECONDITION,
               lambda: eng.unary("ConsultComplete", req("1024")), ["direct"])
        eng.unary("AgentHangup", req("2048"))
        ck("internal call ended (agent_hangup)",
           bool(wait_acd(m, "ended", lambda e: e.call == i and e.reason == "agent_hangup")))
        ag = agents()
        ck("internal call over: both ready at once, one more internal call each (%d, %d)" %
           (ag["1024"].internal_calls, ag["2048"].internal_calls),
           ag["1024"].state == pb.AGENT_READY and ag["2048"].state == pb.AGENT_READY and
           ag["1024"].internal_calls == 7 and ag["2048"].internal_calls == 7)
        hear = listen((ea, AG_B, 0), (eb, AG_A, 0))
        ck("internal call over: the agents no longer hear each other",
           hear(ea, AG_B) < SILENT and hear(eb, AG_A) < SILENT)

        # ---- 8. errors ----
        expect("AgentConsult of an unknown agent", C.NOT_FOUND,
               lambda: eng.unary("AgentConsult", pb.ConsultRequest(agent="nobody", to_agent="2048"), pb.QueueCallReply),
               ["nobody"])
        expect("AgentConsult to an unknown agent", C.NOT_FOUND,
               lambda: eng.unary("AgentConsult", pb.ConsultRequest(agent="1024", to_agent="nobody"), pb.QueueCallReply))
        expect("AgentConsult without to_agent", C.INVALID_ARGUMENT,
               lambda: eng.unary("AgentConsult", pb.ConsultRequest(agent="1024"), pb.QueueCallReply))
        expect("AgentConsult to itself", C.INVALID_ARGUMENT,
               lambda: eng.unary("AgentConsult", pb.ConsultRequest(agent="1024", to_agent="1024"), pb.QueueCallReply),
               ["itself"])
        expect("AgentConsult with a channel", C.INVALID_ARGUMENT,
               lambda: eng.unary("AgentConsult", pb.ConsultRequest(agent="1024", to_agent="2048", channel=caller.channel),
                                 pb.QueueCallReply), ["channel"])
        expect("AgentConsult by an agent with no caller", C.FAILED_PRECONDITION,
               lambda: eng.unary("AgentConsult", pb.ConsultRequest(agent="1024", to_agent="2048"), pb.QueueCallReply),
               ["not talking to a caller"])
        eng.unary("AgentNotReady", req("2048", reason="lunch"))
        expect("AgentCall to a not-ready agent", C.FAILED_PRECONDITION,
               lambda: eng.unary("AgentCall", pb.ConsultRequest(agent="1024", to_agent="2048"), pb.QueueCallReply),
               ["not_ready"])
        expect("AgentCall by an agent with no leg", C.INVALID_ARGUMENT,
               lambda: eng.unary("AgentCall", pb.ConsultRequest(agent="4096", to_agent="1024"), pb.QueueCallReply),
               ["leg"])
        expect("AgentCall on an unknown channel", C.NOT_FOUND,
               lambda: eng.unary("AgentCall", pb.ConsultRequest(agent="4096", to_agent="1024", channel=999999),
                                 pb.QueueCallReply))
        expect("AgentCall of an unknown agent", C.NOT_FOUND,
               lambda: eng.unary("AgentCall", pb.ConsultRequest(agent="1024", to_agent="nobody"), pb.QueueCallReply))
        for meth in ("ConsultComplete", "ConsultConference", "ConsultCancel"):
            expect("%s without a consult" % meth, C.FAILED_PRECONDITION,
                   lambda meth=meth: eng.unary(meth, req("1024")), ["no consult"])
            expect("%s of an unknown agent" % meth, C.NOT_FOUND, lambda meth=meth: eng.unary(meth, req("nobody")))
        expect("a garbage AgentConsult", C.INVALID_ARGUMENT, lambda: eng.raw("AgentConsult", b"\xff\xff\xff"))
        ag = agents()
        ck("after the errors: nobody offered or reserved, 1024 ready",
           ag["1024"].state == pb.AGENT_READY and
           all(a.state not in (pb.AGENT_OFFERED, pb.AGENT_RESERVED) for a in ag.values()))
    finally:
        feed.stop.set()
        pool.stop()
        rc = eng.stop()
    ck("medleyd exits 0", rc == 0)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
