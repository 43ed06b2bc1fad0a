"""The ACD through the API over net_tap (issue 7, first slice): a queue and an agent, the
agent logs in on its own channel (a standing leg) and gets ready; a caller is queued
(hears the music on hold), the ACD offers the call to the agent (an "offer" event for the
integrator), the agent answers, caller and agent hear each other (decoded from RTP:
distinct tones), the agent hangs up and goes to after-call work; the live snapshot and
the ACD events follow each step; errors for unknown queues, agents and channels.

Needs root and /dev/net/tun (exit 77 otherwise).
Usage: /usr/bin/python3 test_tap_acd.py MEDLEYD PROTO"""
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


level = tc.level


def main():
    why = tc.can_run()
    if why is not None:
        print("skipped:", why)
        return 77
    medley_client.clear_of_half_hour(60)   # its KPI checks count calls in one half hour
    tc.real_time_priority()
    ck = tc.Checks("tap-acd")
    eng = tc.TapEngine(sys.argv[1], sys.argv[2], tag="mda", channels=8)
    pb = eng.pb
    pool = mc.CallerPool()

    try:
        tc.write_tone_wav(os.path.join(eng.work, "music.wav"), 400, 1000)
        eng.call("LoadPrompt", name="zh/acd/music", path=os.path.join(eng.work, "music.wav"))
        eng.unary("AddQueue", pb.QueueConfig(name="billing", acw_ms=2000, lang="zh", survey="csat"))
        eng.unary("AddAgent", pb.AgentConfig(id="1024", skills=[pb.Skill(name="billing", level=5)]))
        caller = eng.call("CreateChannel", codec=pb.PCMU)
        agent = eng.call("CreateChannel", codec=pb.PCMU, near_channel=caller.channel)
        ec = pool.add(mc.RtpEndpoint(eng.local, name="caller"))
        ea = pool.add(mc.RtpEndpoint(eng.local, name="agent"))
        ec.connect(eng.engine, caller.local_port)
        ea.connect(eng.engine, agent.local_port)
        pool.start()
        ck("both legs learnt", eng.wait_learnt(caller.channel) and eng.wait_learnt(agent.channel))
        ec.send_tone(700, 60000, dbm0=-12)
        ea.send_tone(1100, 60000, dbm0=-12)
        ev0 = eng.event_mark()
        eng.unary("AgentLogin", pb.AgentRequest(agent="1024", channel=agent.channel))
        snap = eng.unary("GetAcdSnapshot", pb.Empty(), pb.AcdSnapshot)
        ck("logged in, not ready yet", snap.logged_in == 1 and snap.idle == 0)
        mark = ec.mark()
        call = eng.unary("QueueCall", pb.QueueCallRequest(channel=caller.channel, queue="billing",
                                                          ani="13800001111", data="main:1 > queries:2"),
                         pb.QueueCallReply).call
        ck("queued: a call id", call != 0)
        time.sleep(0.8)
        snap = eng.unary("GetAcdSnapshot", pb.Empty(), pb.AcdSnapshot)
        q = [x for x in snap.queues if x.name == "billing"]
        ck("the snapshot shows the caller waiting", snap.waiting == 1 and q and q[0].waiting == 1)
        ck("the waiting caller hears the music (%.1f dBm0)" % level(ec, mark, 400), level(ec, mark, 400) > -30)
        ev1 = eng.event_mark()
        eng.unary("AgentReady", pb.AgentRequest(agent="1024"))
        end = time.time() + 3
        while time.time() < end and not eng.acd_events(ev1, "offer"):
            time.sleep(0.02)
        offer = eng.acd_events(ev1, "offer")
        ck("an offer to the agent for the integrator: %s" % [e.acd for e in eng.events_since(ev1, type_=pb.ACD)],
           len(offer) == 1 and offer[0].call == call and offer[0].agent == "1024" and
           offer[0].agent_channel == agent.channel)
        eng.unary("AgentAnswer", pb.AgentRequest(agent="1024", call=call, channel=agent.channel))
        time.sleep(0.3)
        mc_, ma = ec.mark(), ea.mark()
        time.sleep(0.6)
        ck("connected: the caller hears the agent (%.1f dBm0)" % level(ec, mc_, 1100), level(ec, mc_, 1100) > -30)
        ck("connected: the agent hears the caller (%.1f dBm0)" % level(ea, ma, 700), level(ea, ma, 700) > -30)
        ck("the music stopped (%.1f dBm0)" % level(ec, mc_, 400), level(ec, mc_, 400) < -35)
        ck("a 'connected' event with the call's data",
           any(e.call == call and e.data == "main:1 > queries:2" for e in eng.acd_events(ev1, "connected")))
        snap = eng.unary("GetAcdSnapshot", pb.Empty(), pb.AcdSnapshot)
        ck("the snapshot: one busy agent, nobody waiting", snap.busy == 1 and snap.waiting == 0)
        # Hold: the caller hears the music, the agent no longer hears the caller; retrieve.
        eng.unary("CallHold", pb.CallRef(call=call))
        time.sleep(0.3)
        mc_, ma = ec.mark(), ea.mark()
        time.sleep(0.6)
        ck("on hold: the caller hears music (%.1f dBm0)" % level(ec, mc_, 400), level(ec, mc_, 400) > -30)
        ck("on hold: the agent does not hear the caller (%.1f dBm0)" % level(ea, ma, 700), level(ea, ma, 700) < -35)
        eng.unary("CallRetrieve", pb.CallRef(call=call))
        time.sleep(0.3)
        mc_ = ec.mark()
        time.sleep(0.6)
        ck("retrieved: the caller hears the agent again", level(ec, mc_, 1100) > -30)
        ev3 = eng.event_mark()
        eng.unary("AgentHangup", pb.AgentRequest(agent="1024"))
        time.sleep(0.3)
        states = [e.value for e in eng.acd_events(ev0, "agent_state")]
        ck("agent states reported: %s" % states, len(states) >= 3)
        # ACD-8: the caller goes to the queue's survey; the rating counts for the agent.
        route = [e for e in eng.acd_events(ev3, "route") if e.call == call]
        ck("after the agent hangs up, the caller is routed to the survey: %s" %
           [(e.reason, e.target) for e in route],
           len(route) == 1 and route[0].reason == "survey" and route[0].target == "csat")
        ck("the call waits for the rating", not any(e.call == call for e in eng.acd_events(ev3, "ended")))
        eng.unary("SurveyResult", pb.SurveyRequest(call=call, rating=4))
        time.sleep(0.2)
        ck("the call ended after the rating", any(e.call == call for e in eng.acd_events(ev0, "ended")))
        ka = eng.unary("GetKpi", pb.KpiRequest(agent="1024"), pb.Kpi)
        kq = eng.unary("GetKpi", pb.KpiRequest(queue="billing"), pb.Kpi)
        ck("the rating is the agent's and the queue's (agent %r, queue %r)" %
           (ka.survey_average, kq.survey_average),
           ka.surveys == 1 and ka.survey_average == 4 and kq.surveys == 1 and kq.survey_average == 4)
        now_ms = time.time() * 1000
        ck("the KPI half hour is a real one, in Unix time (%d)" % ka.interval_start_ms,
           ka.interval_start_ms % 1800000 == 0 and now_ms - 1800000 <= ka.interval_start_ms <= now_ms)
        # The blacklist: a listed caller is refused at once.
        eng.unary("Blacklist", pb.BlacklistRequest(number="13900009999", release=True, seconds=60))
        c2 = eng.call("CreateChannel", codec=pb.PCMU, near_channel=caller.channel)
        ev2 = eng.event_mark()
        try:
            eng.unary("QueueCall", pb.QueueCallRequest(channel=c2.channel, queue="billing", ani="13900009999"),
                      pb.QueueCallReply)
        except grpc.RpcError:
            pass
        time.sleep(0.3)
        ck("a blacklisted caller is blocked: %s" % [e.acd for e in eng.events_since(ev2, type_=pb.ACD)],
           bool(eng.acd_events(ev2, "blocked")) or bool(eng.acd_events(ev2, "release")))
        eng.unary("Blacklist", pb.BlacklistRequest(number="13900009999", remove=True))
        # Errors.
        for desc, fn, code in (
                ("queue to an unknown queue", lambda: eng.unary("QueueCall", pb.QueueCallRequest(
                    channel=caller.channel, queue="nope"), pb.QueueCallReply), grpc.StatusCode.NOT_FOUND),
                ("an unknown agent", lambda: eng.unary("AgentReady", pb.AgentRequest(agent="9999")),
                 grpc.StatusCode.NOT_FOUND),
                ("queue a channel that does not exist", lambda: eng.unary("QueueCall", pb.QueueCallRequest(
                    channel=99999, queue="billing"), pb.QueueCallReply), grpc.StatusCode.NOT_FOUND),
                ("the same queue twice", lambda: eng.unary("AddQueue", pb.QueueConfig(name="billing")),
                 grpc.StatusCode.ALREADY_EXISTS),
                ("a skill level of 11", lambda: eng.unary("AddAgent", pb.AgentConfig(
                    id="7", skills=[pb.Skill(name="x", level=11)])), grpc.StatusCode.INVALID_ARGUMENT),
                ("a survey rating of 9", lambda: eng.unary("SurveyResult", pb.SurveyRequest(call=call, rating=9)),
                 grpc.StatusCode.INVALID_ARGUMENT),
                ("transfer a call that ended", lambda: eng.unary("TransferToQueue", pb.TransferRequest(
                    call=call, queue="billing")), grpc.StatusCode.NOT_FOUND),
                ("hold a call that does not exist", lambda: eng.unary("CallHold", pb.CallRef(call=424242)),
                 grpc.StatusCode.NOT_FOUND)):
            try:
                fn()
                ck(desc, False, "succeeded")
            except grpc.RpcError as e:
                ck("%s: %s" % (desc, e.code().name), e.code() == code, e.details())
    finally:
        pool.stop()
        rc = eng.stop()
    ck("medleyd exits 0", rc == 0)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
