"""Every way out of OFFERED and RESERVED through the API (issue 7: "an agent is never left
stuck in an offered or reserved state"), with medleyd over net_tap and several API
connections (each grpc channel here has a connection of its own):

  1. the caller hangs up during the offer: a "cancel" for the agent, which is READY again
     (not its fault), the call "abandoned";
  2. the offer times out (a queue with a 700 ms offer timeout): the agent NOT_READY
     "no_answer", the caller "requeued" and offered to the next agent who gets ready;
  3. AgentReject: the agent NOT_READY "rejected", the caller back at the HEAD of the
     queue (ahead of a VIP caller who arrived meanwhile);
  4. AgentLegFailed while offered: NOT_READY "leg_failed", the caller requeued;
  5. out of RESERVED (a queue announcing the agent's number, its prompts loaded so the
     announcement lasts 3 s): AgentLegFailed during it (NOT_READY "leg_failed", the caller
     requeued) and the caller hanging up during it (the agent READY, "abandoned");
  6. the API client that logged an agent in (tie_to_connection) disconnects while the
     agent is offered a call: another client sees the agent LOGGED_OUT ("client_gone"),
     the caller requeued and offered to the next agent; an agent logged in without
     tie_to_connection by a client that disconnects stays logged in; a reconnecting
     client logs the agent in again;
  7. ... and while the agent is talking: the call goes on, the agent is logged out when
     its after-call work ends;
  8. the client owning a waiting call (QueueCall tie_to_connection) disconnects: the call
     is released ("release", "ended"), a call another connection owns keeps waiting; an
     owned call being offered: "cancel", the agent READY; an owned call talking: the
     agent to after-call work;
  9. ListAgents (state, reason, time in state, skills, current call, tied) along the
     way, GetKpi for a queue and an agent (the counters these paths made, the ratios and
     -1 for nothing to measure, consistent with GetAcdSnapshot);
 10. a dial list added with tie_to_connection stops when its client disconnects: the
     dial in progress ends, its number is pending again, nothing more is dialled;
and every error status of AgentReject, AgentLegFailed, ListAgents and GetKpi. After each
path no agent is left OFFERED or RESERVED.

Needs root and /dev/net/tun (exit 77 otherwise).
Usage: /usr/bin/python3 test_tap_acd_paths.py MEDLEYD PROTO"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import medley_client  # noqa: E402
import test_tap_call as tc  # noqa: E402

import grpc  # noqa: E402


def main():
    why = tc.can_run()
    if why is not None:
        print("skipped:", why)
        return 77
    medley_client.clear_of_half_hour(90)   # its KPI checks count calls in one half hour
    ck = tc.Checks("tap-acd-paths")
    eng = tc.TapEngine(sys.argv[1], sys.argv[2], tag="mdp", channels=24)
    pb = eng.pb
    C = grpc.StatusCode
    S = pb.AgentState

    def wait_acd(mark, name, pred=lambda e: True, timeout=3.0):
        end = time.time() + timeout
        while time.time() < end:
            got = [e for e in eng.acd_events(mark, name) if pred(e)]
            if got:
                return got
            time.sleep(0.02)
        return []

    def state_ev(mark, agent, state, reason=None, timeout=3.0):
        return wait_acd(mark, "agent_state", lambda e: e.agent == agent and e.value == state and
                        (reason is None or e.reason == reason), timeout)

    expect = ck.rpc_error

    def agents():
        return {a.id: a for a in eng.unary("ListAgents", pb.ListAgentsRequest(), pb.AgentList).agents}

    def agent_is(desc, agent, state, reason=None, call=None):
        a = agents()[agent]
        ok = a.state == state and (reason is None or a.reason == reason) and \
            (call is None or a.call == call)
        ck("%s: ListAgents %s is %s %r call %d" % (desc, agent, S.Name(a.state), a.reason, a.call), ok)
        return a

    def none_stuck(desc):
        stuck = [(a.id, S.Name(a.state)) for a in agents().values()
                 if a.state in (S.Value("AGENT_OFFERED"), S.Value("AGENT_RESERVED"))]
        ck("%s: no agent left offered or reserved %s" % (desc, stuck), not stuck)

    def queue_snap(name):
        snap = eng.unary("GetAcdSnapshot", pb.Empty(), pb.AcdSnapshot)
        return [q for q in snap.queues if q.name == name][0]

    def waiting(name, n, desc):
        end = time.time() + 2
        w = queue_snap(name).waiting
        while w != n and time.time() < end:
            time.sleep(0.05)
            w = queue_snap(name).waiting
        ck("%s: %d waiting in %s (%d)" % (desc, n, name, w), w == n)

    def new_caller():
        return eng.call("CreateChannel", codec=pb.PCMU, near_channel=first.channel).channel

    def queue(queue_, ch=None, via=None, tie=False, priority=0):
        req = pb.QueueCallRequest(channel=ch or new_caller(), queue=queue_, ani="13800001111",
                                  priority=priority, tie_to_connection=tie)
        return eng.rpc(via or eng.c.channel, "QueueCall", req, pb.QueueCallReply).call

    def offered(mark, call, agent):
        got = wait_acd(mark, "offer", lambda e: e.call == call and e.agent == agent)
        ck("call %d offered to %s" % (call, agent), bool(got),
           str([(e.call, e.agent) for e in eng.acd_events(mark, "offer")]))
        return bool(got)

    def requeued(mark, call, reason, desc):
        got = wait_acd(mark, "requeued", lambda e: e.call == call and e.reason == reason)
        ck("%s: call %d requeued (%s)" % (desc, call, reason), bool(got),
           str([(e.call, e.reason) for e in eng.acd_events(mark, "requeued")]))

    def ready(agent):
        eng.unary("AgentReady", pb.AgentRequest(agent=agent))

    def not_ready(agent):
        eng.unary("AgentNotReady", pb.AgentRequest(agent=agent, reason="break"))

    try:
        work = eng.work
        # The agent-number announcement (ACD-5), long enough to act during it.
        tc.write_tone_wav(os.path.join(work, "agent.wav"), 600, 3000)
        tc.write_tone_wav(os.path.join(work, "short.wav"), 600, 100)
        eng.call("LoadPrompt", name="zh/acd/agent", path=os.path.join(work, "agent.wav"))
        eng.call("LoadPrompt", name="zh/acd/at_your_service", path=os.path.join(work, "short.wav"))
        for d in range(10):
            eng.call("LoadPrompt", name="zh/num/%d" % d, path=os.path.join(work, "short.wav"))
        eng.unary("AddQueue", pb.QueueConfig(name="billing", acw_ms=1500, lang="zh"))
        eng.unary("AddQueue", pb.QueueConfig(name="quick", skill="billing", offer_timeout_ms=700,
                                             acw_ms=60000, lang="zh"))
        eng.unary("AddQueue", pb.QueueConfig(name="announced", skill="billing", announce_agent=True,
                                             acw_ms=60000, lang="zh"))
        for aid in ("1024", "2048", "4096"):
            eng.unary("AddAgent", pb.AgentConfig(id=aid, skills=[pb.Skill(name="billing", level=5)]))
        first = eng.call("CreateChannel", codec=pb.PCMU)
        legs = [eng.call("CreateChannel", codec=pb.PCMU, near_channel=first.channel).channel
                for _ in range(4)]
        eng.unary("AgentLogin", pb.AgentRequest(agent="1024"))
        eng.unary("AgentLogin", pb.AgentRequest(agent="2048"))
        al = agents()
        ck("ListAgents: the three agents in order, skills and states",
           list(al) == ["1024", "2048", "4096"] and
           al["1024"].state == S.Value("AGENT_NOT_READY") and al["1024"].reason == "login" and
           al["4096"].state == S.Value("AGENT_LOGGED_OUT") and
           [(s.name, s.level) for s in al["2048"].skills] == [("billing", 5)] and
           not al["1024"].tied_to_connection and al["1024"].call == 0, str(al))

        # ---- 1. the caller hangs up during the offer ----
        m = eng.event_mark()
        c1 = queue("billing")
        ready("1024")
        offered(m, c1, "1024")
        time.sleep(0.3)
        a = agent_is("offered", "1024", S.Value("AGENT_OFFERED"), call=c1)
        ck("ListAgents: time in state counts (%d ms)" % a.in_state_ms, 200 <= a.in_state_ms < 3000)
        m = eng.event_mark()
        eng.unary("CallHangup", pb.CallRef(call=c1))
        ck("hangup during the offer: 'cancel' for the agent",
           bool(wait_acd(m, "cancel", lambda e: e.call == c1 and e.agent == "1024")))
        ck("hangup during the offer: 'abandoned'", bool(wait_acd(m, "abandoned", lambda e: e.call == c1)))
        ck("hangup during the offer: agent_state READY", bool(state_ev(m, "1024", S.Value("AGENT_READY"))))
        agent_is("hangup during the offer", "1024", S.Value("AGENT_READY"), call=0)
        waiting("billing", 0, "hangup during the offer")
        none_stuck("hangup during the offer")
        not_ready("1024")

        # ---- 2. the offer times out ----
        m = eng.event_mark()
        c2 = queue("quick")
        ready("1024")
        offered(m, c2, "1024")
        ck("no answer: agent_state NOT_READY no_answer",
           bool(state_ev(m, "1024", S.Value("AGENT_NOT_READY"), "no_answer", timeout=3)))
        requeued(m, c2, "no_answer", "no answer")
        agent_is("no answer", "1024", S.Value("AGENT_NOT_READY"), "no_answer", 0)
        waiting("quick", 1, "no answer")
        none_stuck("no answer")
        # The caller is offered again to the next agent who gets ready (2048).
        m = eng.event_mark()
        ready("2048")
        offered(m, c2, "2048")

        # ---- 3. the agent rejects ----
        # A VIP caller arrives while 2048 rings: the rejected caller still goes first.
        c3 = queue("quick", priority=3)
        expect("AgentReject: an unknown agent", C.NOT_FOUND,
               lambda: eng.unary("AgentReject", pb.AgentRequest(agent="9999")), ["9999"])
        expect("AgentReject: an agent not offered a call", C.FAILED_PRECONDITION,
               lambda: eng.unary("AgentReject", pb.AgentRequest(agent="1024")), ["not_ready", "no offer"])
        expect("AgentReject: a logged-out agent", C.FAILED_PRECONDITION,
               lambda: eng.unary("AgentReject", pb.AgentRequest(agent="4096")), ["logged_out"])
        expect("AgentReject: another call than the one offered", C.FAILED_PRECONDITION,
               lambda: eng.unary("AgentReject", pb.AgentRequest(agent="2048", call=c3)), ["gone"])
        expect("AgentReject: not a request message", C.INVALID_ARGUMENT,
               lambda: eng.raw("AgentReject", b"\xff\xff\xff"))
        agent_is("refused rejects change nothing", "2048", S.Value("AGENT_OFFERED"), call=c2)
        m = eng.event_mark()
        eng.unary("AgentReject", pb.AgentRequest(agent="2048", call=c2))
        ck("reject: 'cancel' to the agent",
           bool(wait_acd(m, "cancel", lambda e: e.call == c2 and e.agent == "2048")))
        ck("reject: agent_state NOT_READY rejected",
           bool(state_ev(m, "2048", S.Value("AGENT_NOT_READY"), "rejected")))
        requeued(m, c2, "rejected", "reject")
        agent_is("reject", "2048", S.Value("AGENT_NOT_READY"), "rejected", 0)
        waiting("quick", 2, "reject")
        none_stuck("reject")
        expect("AgentReject twice", C.FAILED_PRECONDITION,
               lambda: eng.unary("AgentReject", pb.AgentRequest(agent="2048", call=c2)), ["no offer"])

        # ---- 4. the agent's leg fails while offered ----
        m = eng.event_mark()
        ready("1024")
        ck("the rejected caller is at the head (before the VIP)", offered(m, c2, "1024") and
           eng.acd_events(m, "offer")[0].call == c2)
        expect("AgentLegFailed: an unknown agent", C.NOT_FOUND,
               lambda: eng.unary("AgentLegFailed", pb.AgentRequest(agent="9999")), ["9999"])
        expect("AgentLegFailed: an agent with no call", C.FAILED_PRECONDITION,
               lambda: eng.unary("AgentLegFailed", pb.AgentRequest(agent="2048")), ["not_ready", "no call"])
        expect("AgentLegFailed: another call than its own", C.FAILED_PRECONDITION,
               lambda: eng.unary("AgentLegFailed", pb.AgentRequest(agent="1024", call=c3)), ["gone"])
        expect("AgentLegFailed: not a request message", C.INVALID_ARGUMENT,
               lambda: eng.raw("AgentLegFailed", b"\x0a\x05ab"))
        m = eng.event_mark()
        eng.unary("AgentLegFailed", pb.AgentRequest(agent="1024", call=c2))
        ck("leg failed: agent_state NOT_READY leg_failed",
           bool(state_ev(m, "1024", S.Value("AGENT_NOT_READY"), "leg_failed")))
        requeued(m, c2, "leg_failed", "leg failed")
        agent_is("leg failed", "1024", S.Value("AGENT_NOT_READY"), "leg_failed", 0)
        waiting("quick", 2, "leg failed")
        none_stuck("leg failed")
        for c in (c2, c3):
            eng.unary("CallHangup", pb.CallRef(call=c))
        waiting("quick", 0, "quick emptied")

        # ---- 5. out of RESERVED: the announcement of the agent's number ----
        m = eng.event_mark()
        c4 = queue("announced")
        ready("1024")
        offered(m, c4, "1024")
        eng.unary("AgentAnswer", pb.AgentRequest(agent="1024", call=c4, channel=legs[0]))
        agent_is("answered, announcing", "1024", S.Value("AGENT_RESERVED"), call=c4)
        m = eng.event_mark()
        eng.unary("AgentLegFailed", pb.AgentRequest(agent="1024"))
        ck("leg failed while reserved: NOT_READY leg_failed",
           bool(state_ev(m, "1024", S.Value("AGENT_NOT_READY"), "leg_failed")))
        requeued(m, c4, "leg_failed", "leg failed while reserved")
        waiting("announced", 1, "leg failed while reserved")
        none_stuck("leg failed while reserved")
        m = eng.event_mark()
        ready("2048")
        offered(m, c4, "2048")
        eng.unary("AgentAnswer", pb.AgentRequest(agent="2048", call=c4, channel=legs[1]))
        agent_is("answered again, announcing", "2048", S.Value("AGENT_RESERVED"), call=c4)
        m = eng.event_mark()
        eng.unary("CallHangup", pb.CallRef(call=c4))
        ck("hangup while reserved: 'abandoned'", bool(wait_acd(m, "abandoned", lambda e: e.call == c4)))
        ck("hangup while reserved: the agent READY", bool(state_ev(m, "2048", S.Value("AGENT_READY"))))
        agent_is("hangup while reserved", "2048", S.Value("AGENT_READY"), call=0)
        none_stuck("hangup while reserved")
        not_ready("2048")
        not_ready("1024")

        # ---- 6. the client that logged the agent in disconnects while it is offered ----
        x = eng.connection()
        eng.rpc(x, "AgentLogin", pb.AgentRequest(agent="4096", tie_to_connection=True))
        eng.rpc(x, "AgentReady", pb.AgentRequest(agent="4096"))
        al = agents()
        ck("ListAgents: 4096 tied to its connection, 1024 not",
           al["4096"].tied_to_connection and not al["1024"].tied_to_connection)
        m = eng.event_mark()
        c5 = queue("billing")
        offered(m, c5, "4096")
        m = eng.event_mark()
        x.close()
        ck("its client gone: agent_state LOGGED_OUT client_gone",
           bool(state_ev(m, "4096", S.Value("AGENT_LOGGED_OUT"), "client_gone")))
        requeued(m, c5, "client_gone", "its client gone")
        agent_is("its client gone", "4096", S.Value("AGENT_LOGGED_OUT"), call=0)
        waiting("billing", 1, "its client gone")
        none_stuck("its client gone")
        m = eng.event_mark()
        ready("1024")
        offered(m, c5, "1024")   # the caller re-offered, seen by this (second) client
        eng.unary("AgentAnswer", pb.AgentRequest(agent="1024", call=c5, channel=legs[0]))
        agent_is("the re-offered caller answered", "1024", S.Value("AGENT_TALKING"), call=c5)
        # A login without tie_to_connection outlives its client.
        y = eng.connection()
        m = eng.event_mark()
        eng.rpc(y, "AgentLogout", pb.AgentRequest(agent="2048"))
        eng.rpc(y, "AgentLogin", pb.AgentRequest(agent="2048"))
        y.close()
        time.sleep(0.5)
        agent_is("an untied login's client gone: still logged in", "2048", S.Value("AGENT_NOT_READY"), "login")
        ck("an untied login's client gone: logged out and in, nothing after",
           [(e.value, e.reason) for e in eng.acd_events(m, "agent_state") if e.agent == "2048"] ==
           [(S.Value("AGENT_LOGGED_OUT"), "logout"), (S.Value("AGENT_NOT_READY"), "login")],
           str([(e.value, e.reason) for e in eng.acd_events(m, "agent_state") if e.agent == "2048"]))

        # ---- 7. ... and while the agent is talking ----
        x2 = eng.connection()   # the client reconnects
        eng.rpc(x2, "AgentLogin", pb.AgentRequest(agent="4096", tie_to_connection=True))
        eng.rpc(x2, "AgentReady", pb.AgentRequest(agent="4096"))
        m = eng.event_mark()
        c6 = queue("billing")
        offered(m, c6, "4096")
        eng.rpc(x2, "AgentAnswer", pb.AgentRequest(agent="4096", call=c6, channel=legs[2]))
        agent_is("talking", "4096", S.Value("AGENT_TALKING"), call=c6)
        m = eng.event_mark()
        x2.close()
        time.sleep(0.5)
        a = agent_is("its client gone while talking: the call goes on", "4096",
                     S.Value("AGENT_TALKING"), call=c6)
        ck("... no longer tied to the gone client", not a.tied_to_connection)
        ck("... the caller not released", not [e for e in eng.acd_events(m, "release") if e.call == c6])
        m = eng.event_mark()
        eng.unary("AgentHangup", pb.AgentRequest(agent="4096"))
        ck("... after-call work, then LOGGED_OUT (1.5 s)",
           bool(state_ev(m, "4096", S.Value("AGENT_ACW"))) and
           bool(state_ev(m, "4096", S.Value("AGENT_LOGGED_OUT"), timeout=4)))
        m = eng.event_mark()
        eng.unary("AgentHangup", pb.AgentRequest(agent="1024"))
        state_ev(m, "1024", S.Value("AGENT_READY"), timeout=4)   # its ACW ends: ready
        not_ready("1024")

        # ---- 8. the client owning calls disconnects ----
        z, w = eng.connection(), eng.connection()
        c7 = queue("billing", via=z, tie=True)
        c8 = queue("billing", via=w, tie=True)
        waiting("billing", 2, "two owned calls")
        m = eng.event_mark()
        w.close()
        ck("a waiting call's owner gone: 'release'",
           bool(wait_acd(m, "release", lambda e: e.call == c8)))
        ck("... 'ended' client_gone",
           bool(wait_acd(m, "ended", lambda e: e.call == c8 and e.reason == "client_gone")))
        waiting("billing", 1, "another connection's call keeps waiting")
        expect("... the released call is gone", C.NOT_FOUND,
               lambda: eng.unary("CallHangup", pb.CallRef(call=c8)))
        ck("... the other connection's call untouched",
           not [e for e in eng.events_since(m, type_=pb.ACD) if e.call == c7])
        m = eng.event_mark()
        ready("2048")
        offered(m, c7, "2048")
        m = eng.event_mark()
        z.close()
        ck("an offered call's owner gone: 'cancel' to the agent",
           bool(wait_acd(m, "cancel", lambda e: e.call == c7 and e.agent == "2048")))
        ck("... the caller released", bool(wait_acd(m, "release", lambda e: e.call == c7)))
        ck("... the agent READY (not its fault)", bool(state_ev(m, "2048", S.Value("AGENT_READY"))))
        agent_is("an offered call's owner gone", "2048", S.Value("AGENT_READY"), call=0)
        waiting("billing", 0, "an offered call's owner gone")
        none_stuck("an offered call's owner gone")
        v = eng.connection()
        m = eng.event_mark()
        c9 = queue("billing", via=v, tie=True)
        offered(m, c9, "2048")
        eng.unary("AgentAnswer", pb.AgentRequest(agent="2048", call=c9, channel=legs[3]))
        m = eng.event_mark()
        v.close()
        ck("a talking call's owner gone: released",
           bool(wait_acd(m, "release", lambda e: e.call == c9)))
        ck("... the agent to after-call work", bool(state_ev(m, "2048", S.Value("AGENT_ACW"))))
        none_stuck("a talking call's owner gone")
        state_ev(m, "2048", S.Value("AGENT_READY"), timeout=4)   # its ACW ends (1.5 s)

        # ---- 9. GetKpi ----
        kq = eng.unary("GetKpi", pb.KpiRequest(queue="billing"), pb.Kpi)
        snapq = queue_snap("billing")
        # billing: c1 (abandoned while offered, short), c5, c6 (answered), c7, c8, c9.
        ck("GetKpi billing: offered 6 (%d), as the snapshot (%d)" % (kq.offered, snapq.offered),
           kq.offered == 6 and snapq.offered == 6)
        ck("GetKpi billing: answered 3 (%d) as the snapshot" % kq.answered,
           kq.answered == 3 and snapq.answered == 3)
        ck("GetKpi billing: a short abandon (%d), none long (%d)" % (kq.abandoned_short, kq.abandoned),
           kq.abandoned_short == 1 and kq.abandoned == 0)
        ck("GetKpi billing: service level 1.0 (%r), as the snapshot (%r)" %
           (kq.service_level, snapq.service_level),
           abs(kq.service_level - 1.0) < 1e-9 and abs(snapq.service_level - 1.0) < 1e-9)
        ck("GetKpi billing: ASA >= 0 and under 15 s (%r)" % kq.asa_ms, 0 <= kq.asa_ms < 15000)
        ck("GetKpi billing: handled 3, AHT > 0 (%d, %r)" % (kq.handled, kq.aht_ms),
           kq.handled == 3 and kq.aht_ms > 0)
        ck("GetKpi billing: nothing to measure is -1 (surveys %r, abandon rate %r)" %
           (kq.survey_average, kq.abandon_rate), kq.survey_average == -1 and kq.abandon_rate == 0)
        ck("GetKpi billing: the SL threshold 15 s (%d)" % kq.sl_threshold_ms, kq.sl_threshold_ms == 15000)
        ka = eng.unary("GetKpi", pb.KpiRequest(agent="1024"), pb.Kpi)
        # 1024 was offered c1, c2 (timed out), c2 again (leg failed), c4 (answered, its
        # leg failed during the announcement: never connected), c5 (connected).
        ck("GetKpi 1024: offered 5 (%d), no answer 1 (%d), answered 1 (%d)" %
           (ka.offered, ka.no_answer, ka.answered),
           ka.offered == 5 and ka.no_answer == 1 and ka.answered == 1)
        ck("GetKpi 1024: occupancy 0..1 (%r), time in states counted" % ka.occupancy,
           0 < ka.occupancy <= 1 and ka.ready_ms > 0 and ka.not_ready_ms > 0 and ka.busy_ms > 0)
        ck("GetKpi 1024: an agent's service level is -1 (%r)" % ka.service_level, ka.service_level == -1)
        ck("GetKpi names what was asked", kq.queue == "billing" and kq.agent == "" and
           ka.agent == "1024" and ka.queue == "")
        expect("GetKpi: neither a queue nor an agent", C.INVALID_ARGUMENT,
               lambda: eng.unary("GetKpi", pb.KpiRequest(), pb.Kpi), ["queue", "agent"])
        expect("GetKpi: both", C.INVALID_ARGUMENT,
               lambda: eng.unary("GetKpi", pb.KpiRequest(queue="billing", agent="1024"), pb.Kpi))
        expect("GetKpi: an unknown queue", C.NOT_FOUND,
               lambda: eng.unary("GetKpi", pb.KpiRequest(queue="nope"), pb.Kpi), ["nope"])
        expect("GetKpi: an unknown agent", C.NOT_FOUND,
               lambda: eng.unary("GetKpi", pb.KpiRequest(agent="9999"), pb.Kpi), ["9999"])
        expect("GetKpi: not a request message", C.INVALID_ARGUMENT, lambda: eng.raw("GetKpi", b"\xff"))
        expect("ListAgents: not a request message", C.INVALID_ARGUMENT, lambda: eng.raw("ListAgents", b"\xff"))

        # ---- 10. a dial list tied to its client stops with it ----
        u = eng.connection()
        eng.rpc(u, "AddCampaign", pb.CampaignConfig(name="tied", prompt="promo", max_lines=1,
                                                    tie_to_connection=True))
        eng.rpc(u, "AddCampaignNumbers", pb.CampaignNumbersRequest(campaign="tied",
                                                                   numbers=["800200", "800201"]))
        m = eng.event_mark()
        eng.rpc(u, "StartCampaign", pb.CampaignRef(campaign="tied"))
        dial = wait_acd(m, "dial", lambda e: e.target == "800200")
        ck("a tied dial list dials its first number", bool(dial))
        m = eng.event_mark()
        u.close()
        if dial:
            ck("its client gone: the dial in progress ends (client_gone)",
               bool(wait_acd(m, "ended", lambda e: e.call == dial[0].call and e.reason == "client_gone")))
        time.sleep(0.5)
        camp = eng.unary("GetCampaign", pb.CampaignRef(campaign="tied"), pb.Campaign)
        ck("... the list stopped: both numbers pending again, no call, no other dial %s" %
           [(n.number, n.state, n.call) for n in camp.numbers],
           [(n.number, n.state, n.call) for n in camp.numbers] ==
           [("800200", pb.NUMBER_PENDING, 0), ("800201", pb.NUMBER_PENDING, 0)] and
           not eng.acd_events(m, "dial"))
        none_stuck("at the end")
    finally:
        rc = eng.stop()
    ck("medleyd exits 0", rc == 0)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
