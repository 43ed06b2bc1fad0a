"""The rest of the ACD through the API over net_tap (supervisors, mute, IVR step and back,
callbacks, outbound, dial lists, blacklist removal), with real RTP wherever media moves:

  1. supervisor forces: ForceAgentState not ready (with a reason, reported in an
     "agent_state" event) and ready again (the snapshot's idle count follows);
     SetAgentSkills live: a caller waiting in a queue the agent had no skill for is
     offered to it at once.
  2. Monitor on the connected call, heard from RTP: LISTEN (the supervisor hears caller
     and agent, nobody hears the supervisor), WHISPER (only the agent hears it), BARGE
     (both hear it), STOP (the supervisor hears nothing, caller and agent still hear
     each other).
  3. CallMute: the caller no longer hears the agent, the agent still hears the caller;
     unmuted, both again; hold and retrieve of a muted call come back unmuted.
  4. IvrStep: the caller leaves for a loaded flow (the agent does not hear it any more),
     keys 1, the flow's transfer target comes back as the result in a "connected" event
     and caller and agent hear each other again; IvrReturn by the agent takes the caller
     back early.
  5. ForceRelease: a "release" event for the caller, the agent to after-call work.
  6. CallCallback: the waiting caller is released keeping the place ("callback"); when
     the agent is ready a "dial" event names the number, DialResult ANSWERED with a new
     leg bridges it to the agent (heard both ways); a second callback NO_ANSWER gives
     "callback_failed" and the agent is ready again. The released caller's first leg
     deleted after its callback connected does not end the callback.
  7. AgentDial: a "dial" event, DialResult BUSY puts the agent back.
  8. A dial list in MESSAGE mode: two "dial" events, the answered number hears the
     message then is released and marked done, the unanswered one is marked; GetCampaign
     shows each number's state and attempts. A progressive list (AGENT mode) dials for
     the free agent and connects the answered leg to it (heard both ways).
  9. BlacklistRemove: a blocked number can queue again.
And every error status of the new methods (unknown ids, empty and out-of-range fields,
wrong call phases), with nothing already stored lost (a rejected batch of numbers adds
none).

Needs root and /dev/net/tun (exit 77 otherwise).
Usage: /usr/bin/python3 test_tap_acd_ops.py MEDLEYD PROTO"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import medley_caller as mc  # noqa: E402
import test_tap_call as tc  # noqa: E402

import grpc  # noqa: E402

HEARD = -30.0      # dBm0: a tone clearly heard
SILENT = -35.0     # dBm0: not heard

FLOW = """
name: pwcheck
languages: [en]
prompt_dir: p
welcome: pw
start: ask
agent_queue: failed
too_many: bye
defaults:
  first_digit_ms: 4000
  retries: 1
  invalid: bad
  timeout: quiet
steps:
  ask:
    menu: menu
    options: {1: ok, 2: nok}
  ok:
    transfer: verified
  nok:
    transfer: failed
"""


level = tc.level
Feeder = tc.Feeder


def main():
    why = tc.can_run()
    if why is not None:
        print("skipped:", why)
        return 77
    tc.real_time_priority()
    ck = tc.Checks("tap-acd-ops")
    eng = tc.TapEngine(sys.argv[1], sys.argv[2], tag="mdo", channels=16)
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

    def listen():
        """Marks on every endpoint, 0.6 s of media, then the level of f heard by ep."""
        time.sleep(0.3)
        marks = {ep: ep.mark() for ep in eps}
        time.sleep(0.7)
        return lambda ep, f: level(ep, marks[ep], f)

    def snapshot():
        return eng.unary("GetAcdSnapshot", pb.Empty(), pb.AcdSnapshot)

    def new_leg(name, freq, near):
        ch = eng.call("CreateChannel", codec=pb.PCMU, near_channel=near)
        ep = pool.add(mc.RtpEndpoint(eng.local, name=name))
        ep.connect(eng.engine, ch.local_port)
        if freq:
            feed.add(ep, freq)
        eps.append(ep)
        return ch, ep

    eps = []
    try:
        work = eng.work
        tc.write_tone_wav(os.path.join(work, "music.wav"), 400, 1000)
        tc.write_tone_wav(os.path.join(work, "promo.wav"), 900, 1500)
        eng.call("LoadPrompt", name="zh/acd/music", path=os.path.join(work, "music.wav"))
        eng.call("LoadPrompt", name="en/promo", path=os.path.join(work, "promo.wav"))
        # The IVR step's flow (its loader wants the spoken-number prompts too).
        for d in ("en", "en/num", "en/date"):
            os.makedirs(os.path.join(work, "p", d), exist_ok=True)
        for name in ("pw", "menu", "bad", "quiet", "bye"):
            tc.write_tone_wav(os.path.join(work, "p", "en", name + ".wav"), 500, 150)
        for n in list(range(20)) + list(range(20, 100, 10)) + ["hundred", "thousand", "million", "yuan", "fen"]:
            tc.write_tone_wav(os.path.join(work, "p", "en", "num", "%s.wav" % n), 500, 60)
        for m in range(1, 13):
            tc.write_tone_wav(os.path.join(work, "p", "en", "date", "m%02d.wav" % m), 500, 60)
        with open(os.path.join(work, "pwcheck.yaml"), "w") as f:
            f.write(FLOW)
        eng.unary("LoadFlow", pb.LoadFlowRequest(path=os.path.join(work, "pwcheck.yaml")), pb.Flow)

        eng.unary("AddQueue", pb.QueueConfig(name="billing", acw_ms=60000, lang="zh"))
        eng.unary("AddQueue", pb.QueueConfig(name="sales", acw_ms=60000, lang="zh"))
        eng.unary("AddAgent", pb.AgentConfig(id="1024", skills=[pb.Skill(name="billing", level=5)]))
        eng.unary("AddAgent", pb.AgentConfig(id="2048", skills=[pb.Skill(name="billing", level=5)]))
        caller = eng.call("CreateChannel", codec=pb.PCMU, event_payload_type=101)
        ec = pool.add(mc.RtpEndpoint(eng.local, name="caller"))
        ec.connect(eng.engine, caller.local_port)
        feed.add(ec, 700)
        eps.append(ec)
        agent, ea = new_leg("agent", 1100, caller.channel)
        sup, es = new_leg("supervisor", 1500, caller.channel)
        pool.start()
        ck("legs learnt", all(eng.wait_learnt(c.channel) for c in (caller, agent, sup)))

        # ---- 1. forces and skills ----
        eng.unary("AgentLogin", pb.AgentRequest(agent="1024", channel=agent.channel))
        eng.unary("AgentReady", pb.AgentRequest(agent="1024"))
        ck("ready: one idle agent", snapshot().idle == 1)
        m = eng.event_mark()
        eng.unary("ForceAgentState", pb.ForceAgentRequest(agent="1024", state=pb.AGENT_NOT_READY, reason="meeting"))
        ev = wait_acd(m, "agent_state", lambda e: e.agent == "1024" and e.value == pb.AGENT_NOT_READY)
        ck("forced not ready: an agent_state event with the reason",
           bool(ev) and ev[-1].reason == "meeting")
        ck("forced not ready: nobody idle", snapshot().idle == 0)
        eng.unary("ForceAgentState", pb.ForceAgentRequest(agent="1024", state=pb.AGENT_READY))
        ck("forced ready: idle again", snapshot().idle == 1)
        m = eng.event_mark()
        call = eng.unary("QueueCall", pb.QueueCallRequest(channel=caller.channel, queue="sales", ani="13800001111"),
                         pb.QueueCallReply).call
        time.sleep(0.5)
        ck("a sales caller is not offered to a billing agent", not eng.acd_events(m, "offer"))
        eng.unary("SetAgentSkills", pb.AgentSkillsRequest(agent="1024", skills=[
            pb.Skill(name="billing", level=5), pb.Skill(name="sales", level=3)]))
        ev = wait_acd(m, "offer", lambda e: e.call == call)
        ck("skills changed live: the waiting caller is offered to the agent at once",
           bool(ev) and ev[0].agent == "1024")
        eng.unary("AgentAnswer", pb.AgentRequest(agent="1024", call=call, channel=agent.channel))
        hear = listen()
        ck("connected: caller hears agent (%.1f)" % hear(ec, 1100), hear(ec, 1100) > HEARD)
        ck("connected: agent hears caller (%.1f)" % hear(ea, 700), hear(ea, 700) > HEARD)

        # ---- 2. monitoring by ear ----
        eng.unary("Monitor", pb.MonitorRequest(agent="1024", supervisor=sup.channel, mode=pb.MONITOR_LISTEN))
        hear = listen()
        ck("listen: the supervisor hears the caller (%.1f) and the agent (%.1f)" % (hear(es, 700), hear(es, 1100)),
           hear(es, 700) > HEARD and hear(es, 1100) > HEARD)
        ck("listen: neither caller (%.1f) nor agent (%.1f) hears the supervisor" % (hear(ec, 1500), hear(ea, 1500)),
           hear(ec, 1500) < SILENT and hear(ea, 1500) < SILENT)
        ck("listen: caller and agent still hear each other", hear(ec, 1100) > HEARD and hear(ea, 700) > HEARD)
        eng.unary("Monitor", pb.MonitorRequest(agent="1024", supervisor=sup.channel, mode=pb.MONITOR_WHISPER))
        hear = listen()
        ck("whisper: the agent hears the supervisor (%.1f), the caller does not (%.1f)" % (hear(ea, 1500), hear(ec, 1500)),
           hear(ea, 1500) > HEARD and hear(ec, 1500) < SILENT)
        eng.unary("Monitor", pb.MonitorRequest(agent="1024", supervisor=sup.channel, mode=pb.MONITOR_BARGE))
        hear = listen()
        ck("barge: caller (%.1f) and agent (%.1f) hear the supervisor" % (hear(ec, 1500), hear(ea, 1500)),
           hear(ec, 1500) > HEARD and hear(ea, 1500) > HEARD)
        other, eo = new_leg("other", 1700, caller.channel)
        expect("Monitor by a second supervisor while one is on", C.FAILED_PRECONDITION,
               lambda: eng.unary("Monitor", pb.MonitorRequest(agent="1024", supervisor=other.channel,
                                                              mode=pb.MONITOR_LISTEN)), ["another supervisor"])
        expect("Monitor STOP from a channel that does not monitor", C.FAILED_PRECONDITION,
               lambda: eng.unary("Monitor", pb.MonitorRequest(agent="1024", supervisor=other.channel,
                                                              mode=pb.MONITOR_STOP)), ["does not monitor"])
        eng.unary("Monitor", pb.MonitorRequest(agent="1024", supervisor=sup.channel, mode=pb.MONITOR_STOP))
        hear = listen()
        ck("stopped: the supervisor hears nothing (%.1f)" % hear(es, 700), hear(es, 700) < SILENT and hear(es, 1100) < SILENT)
        ck("stopped: caller and agent hear each other (a plain bridge again)",
           hear(ec, 1100) > HEARD and hear(ea, 700) > HEARD and hear(ec, 1500) < SILENT)
        expect("Monitor an unknown agent", C.NOT_FOUND,
               lambda: eng.unary("Monitor", pb.MonitorRequest(agent="nobody", supervisor=sup.channel, mode=pb.MONITOR_LISTEN)))
        expect("Monitor from an unknown channel", C.NOT_FOUND,
               lambda: eng.unary("Monitor", pb.MonitorRequest(agent="1024", supervisor=999999, mode=pb.MONITOR_LISTEN)))
        expect("Monitor with the caller's own channel", C.INVALID_ARGUMENT,
               lambda: eng.unary("Monitor", pb.MonitorRequest(agent="1024", supervisor=caller.channel, mode=pb.MONITOR_LISTEN)))
        expect("Monitor mode 9", C.INVALID_ARGUMENT,
               lambda: eng.raw("Monitor", pb.MonitorRequest(agent="1024", supervisor=sup.channel).SerializeToString() +
                               bytes([0x18, 9])), ["mode"])
        expect("Monitor an agent with no call", C.FAILED_PRECONDITION,
               lambda: eng.unary("Monitor", pb.MonitorRequest(agent="2048", supervisor=sup.channel, mode=pb.MONITOR_LISTEN)),
               ["not on a call"])

        # ---- 3. mute ----
        eng.unary("CallMute", pb.MuteRequest(call=call, muted=True))
        hear = listen()
        ck("muted: the caller does not hear the agent (%.1f)" % hear(ec, 1100), hear(ec, 1100) < SILENT)
        ck("muted: the agent still hears the caller (%.1f)" % hear(ea, 700), hear(ea, 700) > HEARD)
        eng.unary("CallMute", pb.MuteRequest(call=call, muted=False))
        hear = listen()
        ck("unmuted: the caller hears the agent again (%.1f)" % hear(ec, 1100), hear(ec, 1100) > HEARD)
        eng.unary("CallMute", pb.MuteRequest(call=call, muted=True))
        eng.unary("CallHold", pb.CallRef(call=call))
        hear = listen()
        ck("muted then held: music to the caller, the agent hears nothing of it",
           hear(ec, 400) > HEARD and hear(ea, 700) < SILENT)
        expect("CallMute on hold", C.FAILED_PRECONDITION,
               lambda: eng.unary("CallMute", pb.MuteRequest(call=call, muted=True)), ["hold"])
        expect("Monitor a call on hold", C.FAILED_PRECONDITION,
               lambda: eng.unary("Monitor", pb.MonitorRequest(agent="1024", supervisor=sup.channel, mode=pb.MONITOR_LISTEN)),
               ["not bridged"])
        eng.unary("CallRetrieve", pb.CallRef(call=call))
        hear = listen()
        ck("retrieved: back unmuted, both hear each other",
           hear(ec, 1100) > HEARD and hear(ea, 700) > HEARD)
        expect("CallMute an unknown call", C.NOT_FOUND, lambda: eng.unary("CallMute", pb.MuteRequest(call=424242, muted=True)))

        # ---- 4. IVR step and back ----
        m = eng.event_mark()
        eng.unary("IvrStep", pb.IvrStepRequest(call=call, step="pwcheck"))
        ev = wait_acd(m, "route", lambda e: e.call == call)
        ck("ivr step: a route event (reason ivr, target the flow)",
           bool(ev) and ev[0].reason == "ivr" and ev[0].target == "pwcheck")
        hear = listen()
        ck("ivr step: the agent no longer hears the caller (%.1f)" % hear(ea, 700), hear(ea, 700) < SILENT)
        expect("IvrStep while away", C.FAILED_PRECONDITION,
               lambda: eng.unary("IvrStep", pb.IvrStepRequest(call=call, step="pwcheck")))
        ec.key_rfc4733("1")
        ev = wait_acd(m, "connected", lambda e: e.call == call, timeout=8)
        ck("ivr step: back to the agent with the flow's result %r" % [e.reason for e in ev],
           bool(ev) and ev[0].reason == "verified" and ev[0].value == 1 and ev[0].agent == "1024")
        hear = listen()
        ck("back from the step: both hear each other (%.1f, %.1f)" % (hear(ec, 1100), hear(ea, 700)),
           hear(ec, 1100) > HEARD and hear(ea, 700) > HEARD)
        m = eng.event_mark()
        eng.unary("IvrStep", pb.IvrStepRequest(call=call, step="pwcheck"))
        time.sleep(0.3)
        eng.unary("IvrReturn", pb.IvrReturnRequest(call=call, result="agent_took_back"))
        ev = wait_acd(m, "connected", lambda e: e.call == call)
        ck("IvrReturn: the agent took the caller back early", bool(ev) and ev[0].reason == "agent_took_back")
        hear = listen()
        ck("IvrReturn: both hear each other", hear(ec, 1100) > HEARD and hear(ea, 700) > HEARD)
        expect("IvrReturn of a call that is not away", C.FAILED_PRECONDITION,
               lambda: eng.unary("IvrReturn", pb.IvrReturnRequest(call=call, result="x")), ["not away"])
        expect("IvrStep to a flow that is not loaded", C.NOT_FOUND,
               lambda: eng.unary("IvrStep", pb.IvrStepRequest(call=call, step="nope")), ["nope"])
        expect("IvrStep without a step", C.INVALID_ARGUMENT,
               lambda: eng.unary("IvrStep", pb.IvrStepRequest(call=call)))
        expect("IvrStep of an unknown call", C.NOT_FOUND,
               lambda: eng.unary("IvrStep", pb.IvrStepRequest(call=424242, step="pwcheck")))
        expect("IvrReturn with a 40-byte result", C.INVALID_ARGUMENT,
               lambda: eng.unary("IvrReturn", pb.IvrReturnRequest(call=call, result="x" * 40)))

        # ---- 5. force release ----
        m = eng.event_mark()
        eng.unary("ForceRelease", pb.CallRef(call=call))
        ev = wait_acd(m, "release", lambda e: e.channel == caller.channel)
        ck("force release: a release event for the caller's channel", bool(ev))
        ev = wait_acd(m, "agent_state", lambda e: e.agent == "1024" and e.value == pb.AGENT_ACW)
        ck("force release: the agent goes to after-call work", bool(ev))
        expect("the released call is gone", C.NOT_FOUND, lambda: eng.unary("CallHold", pb.CallRef(call=call)))
        expect("ForceRelease an unknown call", C.NOT_FOUND, lambda: eng.unary("ForceRelease", pb.CallRef(call=call)))
        eng.unary("AgentNotReady", pb.AgentRequest(agent="1024", reason="break"))

        # ---- 6. callbacks ----
        m = eng.event_mark()
        call = eng.unary("QueueCall", pb.QueueCallRequest(channel=caller.channel, queue="billing", ani="13800001111"),
                         pb.QueueCallReply).call
        eng.unary("CallCallback", pb.CallbackRequest(call=call, number="13900001234"))
        ck("callback: the caller is released (the integrator hangs up)",
           bool(wait_acd(m, "release", lambda e: e.channel == caller.channel)))
        ck("callback: a callback event", bool(wait_acd(m, "callback", lambda e: e.call == call)))
        ck("callback: it keeps its place in the queue", snapshot().waiting == 1)
        eng.unary("AgentReady", pb.AgentRequest(agent="1024"))
        ev = wait_acd(m, "dial", lambda e: e.call == call)
        ck("callback: a dial event with the number, the agent and its leg",
           bool(ev) and ev[0].target == "13900001234" and ev[0].agent == "1024" and
           ev[0].agent_channel == agent.channel)
        expect("DialResult result 0", C.INVALID_ARGUMENT,
               lambda: eng.unary("DialResult", pb.DialResultRequest(call=call)), ["result"])
        expect("DialResult result 7", C.INVALID_ARGUMENT,
               lambda: eng.raw("DialResult", pb.DialResultRequest(call=call).SerializeToString() + bytes([0x10, 7])))
        expect("DialResult answered without a channel", C.INVALID_ARGUMENT,
               lambda: eng.unary("DialResult", pb.DialResultRequest(call=call, result=pb.DIAL_ANSWERED)), ["channel"])
        expect("DialResult answered on an unknown channel", C.NOT_FOUND,
               lambda: eng.unary("DialResult", pb.DialResultRequest(call=call, result=pb.DIAL_ANSWERED, channel=999999)))
        expect("DialResult answered on the agent's own leg", C.FAILED_PRECONDITION,
               lambda: eng.unary("DialResult", pb.DialResultRequest(call=call, result=pb.DIAL_ANSWERED,
                                                                    channel=agent.channel)), ["in the ACD"])
        expect("DialResult of an unknown call", C.NOT_FOUND,
               lambda: eng.unary("DialResult", pb.DialResultRequest(call=424242, result=pb.DIAL_BUSY)))
        cb, ecb = new_leg("callback", 1300, agent.channel)
        ck("the callback leg is learnt", eng.wait_learnt(cb.channel))
        m2 = eng.event_mark()
        eng.unary("DialResult", pb.DialResultRequest(call=call, result=pb.DIAL_ANSWERED, channel=cb.channel))
        ck("callback answered: connected to the agent", bool(wait_acd(m2, "connected", lambda e: e.call == call)))
        hear = listen()
        ck("callback answered: the customer hears the agent (%.1f), the agent the customer (%.1f)" %
           (hear(ecb, 1100), hear(ea, 1300)), hear(ecb, 1100) > HEARD and hear(ea, 1300) > HEARD)
        expect("DialResult again once connected", C.FAILED_PRECONDITION,
               lambda: eng.unary("DialResult", pb.DialResultRequest(call=call, result=pb.DIAL_BUSY)), ["not being dialled"])
        expect("CallCallback of a connected call", C.FAILED_PRECONDITION,
               lambda: eng.unary("CallCallback", pb.CallbackRequest(call=call)), ["waiting"])
        # The released caller's channel is deleted late (after the callback connected):
        # the callback call must not end with it.
        eng.call("DeleteChannel", channel=caller.channel)
        feed.tones.pop(ec)
        hear = listen()
        ck("the first leg deleted: the callback still talks (%.1f, %.1f)" % (hear(ecb, 1100), hear(ea, 1300)),
           hear(ecb, 1100) > HEARD and hear(ea, 1300) > HEARD and snapshot().busy == 1)
        eng.unary("AgentHangup", pb.AgentRequest(agent="1024"))
        eng.unary("AgentNotReady", pb.AgentRequest(agent="1024", reason="break"))
        c2, ec2 = new_leg("caller2", 700, agent.channel)
        m = eng.event_mark()
        call2 = eng.unary("QueueCall", pb.QueueCallRequest(channel=c2.channel, queue="billing"), pb.QueueCallReply).call
        expect("CallCallback without a number nor an ANI", C.INVALID_ARGUMENT,
               lambda: eng.unary("CallCallback", pb.CallbackRequest(call=call2)), ["number"])
        expect("CallCallback with a 40-digit number", C.INVALID_ARGUMENT,
               lambda: eng.unary("CallCallback", pb.CallbackRequest(call=call2, number="1" * 40)))
        expect("CallCallback of an unknown call", C.NOT_FOUND,
               lambda: eng.unary("CallCallback", pb.CallbackRequest(call=424242, number="1")))
        eng.unary("CallCallback", pb.CallbackRequest(call=call2, number="13900005678"))
        eng.unary("AgentReady", pb.AgentRequest(agent="1024"))
        ck("second callback: dialled", bool(wait_acd(m, "dial", lambda e: e.call == call2)))
        eng.unary("DialResult", pb.DialResultRequest(call=call2, result=pb.DIAL_NO_ANSWER))
        ev = wait_acd(m, "callback_failed", lambda e: e.call == call2)
        ck("not answered: callback_failed (no_answer)", bool(ev) and ev[0].reason == "no_answer")
        ck("not answered: the agent is ready again", snapshot().idle == 1)

        # ---- 7. agent-initiated outbound ----
        m = eng.event_mark()
        dcall = eng.unary("AgentDial", pb.AgentDialRequest(agent="1024", number="800100"), pb.QueueCallReply).call
        ev = wait_acd(m, "dial", lambda e: e.call == dcall)
        ck("agent dial: a dial event with the number", dcall != 0 and bool(ev) and ev[0].target == "800100")
        expect("AgentDial while dialling", C.FAILED_PRECONDITION,
               lambda: eng.unary("AgentDial", pb.AgentDialRequest(agent="1024", number="800100"), pb.QueueCallReply))
        eng.unary("DialResult", pb.DialResultRequest(call=dcall, result=pb.DIAL_BUSY))
        ck("busy: the agent is ready again", snapshot().idle == 1)
        eng.unary("AgentLogin", pb.AgentRequest(agent="2048"))
        expect("AgentDial by an agent without a standing leg", C.FAILED_PRECONDITION,
               lambda: eng.unary("AgentDial", pb.AgentDialRequest(agent="2048", number="1"), pb.QueueCallReply),
               ["standing leg"])
        expect("AgentDial without a number", C.INVALID_ARGUMENT,
               lambda: eng.unary("AgentDial", pb.AgentDialRequest(agent="1024"), pb.QueueCallReply))
        expect("AgentDial by an unknown agent", C.NOT_FOUND,
               lambda: eng.unary("AgentDial", pb.AgentDialRequest(agent="nobody", number="1"), pb.QueueCallReply))

        # ---- 8. a dial list ----
        expect("AddCampaign without a prompt (message mode)", C.INVALID_ARGUMENT,
               lambda: eng.unary("AddCampaign", pb.CampaignConfig(name="x")))
        expect("AddCampaign in agent mode without a queue", C.INVALID_ARGUMENT,
               lambda: eng.unary("AddCampaign", pb.CampaignConfig(name="x", mode=pb.CAMPAIGN_AGENT)))
        expect("AddCampaign for an unknown queue", C.NOT_FOUND,
               lambda: eng.unary("AddCampaign", pb.CampaignConfig(name="x", mode=pb.CAMPAIGN_AGENT, queue="nope")))
        expect("AddCampaign mode 5", C.INVALID_ARGUMENT,
               lambda: eng.raw("AddCampaign", pb.CampaignConfig(name="x", prompt="p").SerializeToString() + bytes([0x10, 5])))
        eng.unary("AddCampaign", pb.CampaignConfig(name="promo", prompt="promo", max_lines=2, max_attempts=1))
        expect("AddCampaign twice", C.ALREADY_EXISTS,
               lambda: eng.unary("AddCampaign", pb.CampaignConfig(name="promo", prompt="promo")), ["promo", "exists"])
        eng.unary("AddCampaignNumbers", pb.CampaignNumbersRequest(campaign="promo", numbers=["5551", "5552"]))
        expect("AddCampaignNumbers with an empty number", C.INVALID_ARGUMENT,
               lambda: eng.unary("AddCampaignNumbers", pb.CampaignNumbersRequest(campaign="promo", numbers=["5553", ""])))
        expect("AddCampaignNumbers to an unknown campaign", C.NOT_FOUND,
               lambda: eng.unary("AddCampaignNumbers", pb.CampaignNumbersRequest(campaign="nope", numbers=["1"])))
        got = eng.unary("GetCampaign", pb.CampaignRef(campaign="promo"), pb.Campaign)
        ck("a rejected batch added nothing: %s" % [n.number for n in got.numbers],
           [n.number for n in got.numbers] == ["5551", "5552"] and
           all(n.state == pb.NUMBER_PENDING for n in got.numbers))
        m = eng.event_mark()
        eng.unary("StartCampaign", pb.CampaignRef(campaign="promo"))
        end = time.time() + 3
        while time.time() < end and len(eng.acd_events(m, "dial")) < 2:
            time.sleep(0.02)
        dials = {e.target: e.call for e in eng.acd_events(m, "dial")}
        ck("the campaign dials both numbers (two lines): %s" % dials, set(dials) == {"5551", "5552"})
        got = eng.unary("GetCampaign", pb.CampaignRef(campaign="promo"), pb.Campaign)
        ck("both numbers dialling", all(n.state == pb.NUMBER_DIALING and n.call != 0 for n in got.numbers))
        if set(dials) == {"5551", "5552"}:
            ml, eml = new_leg("listener", None, agent.channel)
            eml.send_silence(30000)
            ck("the called leg is learnt", eng.wait_learnt(ml.channel))
            mk = eml.mark()
            eng.unary("DialResult", pb.DialResultRequest(call=dials["5551"], result=pb.DIAL_ANSWERED, channel=ml.channel))
            eng.unary("DialResult", pb.DialResultRequest(call=dials["5552"], result=pb.DIAL_NO_ANSWER))
            time.sleep(0.9)
            ck("the answered number hears the message (%.1f dBm0)" % level(eml, mk, 900), level(eml, mk, 900) > HEARD)
            ev = wait_acd(m, "release", lambda e: e.channel == ml.channel, timeout=4)
            ck("after the message the leg is released", bool(ev))
            marks = {e.target: e.reason for e in eng.acd_events(m, "dial_marked")}
            ck("marked: %s" % marks, marks == {"5551": "done", "5552": "unanswered"})
            got = eng.unary("GetCampaign", pb.CampaignRef(campaign="promo"), pb.Campaign)
            st = {n.number: (n.state, n.attempts) for n in got.numbers}
            ck("GetCampaign: %s" % st, st == {"5551": (pb.NUMBER_DONE, 1), "5552": (pb.NUMBER_UNANSWERED, 1)})
        eng.unary("StopCampaign", pb.CampaignRef(campaign="promo"))
        # A progressive list: dialled for the free agent, connected to it on answer.
        eng.unary("AddCampaign", pb.CampaignConfig(name="out", mode=pb.CAMPAIGN_AGENT, queue="billing"))
        eng.unary("AddCampaignNumbers", pb.CampaignNumbersRequest(campaign="out", numbers=["6001"]))
        m = eng.event_mark()
        eng.unary("StartCampaign", pb.CampaignRef(campaign="out"))
        ev = wait_acd(m, "dial", lambda e: e.target == "6001")
        ck("progressive: dialled for the free agent, near its leg",
           bool(ev) and ev[0].agent == "1024" and ev[0].agent_channel == agent.channel)
        if ev:
            cu, ecu = new_leg("customer", 1900, agent.channel)
            ck("the customer's leg is learnt", eng.wait_learnt(cu.channel))
            eng.unary("DialResult", pb.DialResultRequest(call=ev[0].call, result=pb.DIAL_ANSWERED, channel=cu.channel))
            hear = listen()
            ck("progressive answered: customer and agent hear each other (%.1f, %.1f)" %
               (hear(ecu, 1100), hear(ea, 1900)), hear(ecu, 1100) > HEARD and hear(ea, 1900) > HEARD)
            got = eng.unary("GetCampaign", pb.CampaignRef(campaign="out"), pb.Campaign)
            ck("progressive: the number is done", [(n.number, n.state) for n in got.numbers] == [("6001", pb.NUMBER_DONE)])
            eng.unary("AgentHangup", pb.AgentRequest(agent="1024"))
            eng.unary("AgentReady", pb.AgentRequest(agent="1024"))
        for meth in ("StartCampaign", "StopCampaign"):
            expect("%s of an unknown campaign" % meth, C.NOT_FOUND,
                   lambda: eng.unary(meth, pb.CampaignRef(campaign="nope")))
        expect("GetCampaign of an unknown campaign", C.NOT_FOUND,
               lambda: eng.unary("GetCampaign", pb.CampaignRef(campaign="nope"), pb.Campaign))

        # ---- 9. blacklist removal ----
        c3, ec3 = new_leg("caller3", 700, agent.channel)
        eng.unary("Blacklist", pb.BlacklistRequest(number="13900009999", release=True))
        expect("a blacklisted caller is refused", C.PERMISSION_DENIED,
               lambda: eng.unary("QueueCall", pb.QueueCallRequest(channel=c3.channel, queue="billing", ani="13900009999"),
                                 pb.QueueCallReply), ["blacklisted"])
        eng.unary("BlacklistRemove", pb.BlacklistRequest(number="13900009999"))
        got = eng.unary("QueueCall", pb.QueueCallRequest(channel=c3.channel, queue="billing", ani="13900009999"),
                        pb.QueueCallReply)
        ck("removed from the blacklist: the number queues again", got.call != 0)
        expect("BlacklistRemove of a number not listed", C.NOT_FOUND,
               lambda: eng.unary("BlacklistRemove", pb.BlacklistRequest(number="13900009999")))
        expect("BlacklistRemove without a number", C.INVALID_ARGUMENT,
               lambda: eng.unary("BlacklistRemove", pb.BlacklistRequest()))

        # ---- the supervisor methods' other errors ----
        expect("ForceAgentState to TALKING", C.INVALID_ARGUMENT,
               lambda: eng.unary("ForceAgentState", pb.ForceAgentRequest(agent="1024", state=pb.AGENT_TALKING)))
        expect("ForceAgentState state 42", C.INVALID_ARGUMENT,
               lambda: eng.raw("ForceAgentState", pb.ForceAgentRequest(agent="1024").SerializeToString() + bytes([0x10, 42])))
        expect("ForceAgentState of an unknown agent", C.NOT_FOUND,
               lambda: eng.unary("ForceAgentState", pb.ForceAgentRequest(agent="nobody", state=pb.AGENT_READY)))
        expect("ForceAgentState with a 40-byte reason", C.INVALID_ARGUMENT,
               lambda: eng.unary("ForceAgentState", pb.ForceAgentRequest(agent="1024", state=pb.AGENT_NOT_READY,
                                                                    reason="r" * 40)))
        eng.unary("ForceAgentState", pb.ForceAgentRequest(agent="2048", state=pb.AGENT_LOGGED_OUT))
        expect("ForceAgentState READY of a logged-out agent", C.FAILED_PRECONDITION,
               lambda: eng.unary("ForceAgentState", pb.ForceAgentRequest(agent="2048", state=pb.AGENT_READY)),
               ["logged out"])
        expect("SetAgentSkills level 0", C.INVALID_ARGUMENT,
               lambda: eng.unary("SetAgentSkills", pb.AgentSkillsRequest(agent="1024", skills=[pb.Skill(name="x")])))
        expect("SetAgentSkills with 9 skills", C.INVALID_ARGUMENT,
               lambda: eng.unary("SetAgentSkills", pb.AgentSkillsRequest(agent="1024", skills=[
                   pb.Skill(name="s%d" % i, level=1) for i in range(9)])))
        expect("SetAgentSkills of an unknown agent", C.NOT_FOUND,
               lambda: eng.unary("SetAgentSkills", pb.AgentSkillsRequest(agent="nobody")))
        expect("a garbage request", C.INVALID_ARGUMENT, lambda: eng.raw("ForceRelease", b"\xff\xff\xff"))
        got = snapshot()
        ck("the ACD still holds its state after the errors (one agent logged in, one caller waiting)",
           got.logged_in == 1 and got.waiting + got.busy >= 1)
    finally:
        feed.stop.set()
        pool.stop()
        rc = eng.stop()
    ck("medleyd exits 0", rc == 0)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
