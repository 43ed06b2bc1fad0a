"""The medley demo: a contact centre's IVR and ACD with simulated callers and agents.

medleyd runs on a net_tap interface with the sample flow (flows/1000.yaml, the "1000"
service of a city telecom, prompts in Mandarin and English made by espeak-ng). A
population of simulated callers (tools/medley_caller.py: real RTP endpoints on the
kernel side of the tap) dial in through the API, listen, and key DTMF both in-band and
as RFC 4733, walking the tree for a set time; this script also plays the integrator
that answers the flow's lookups (numbers, bills, payments, passwords). Callers the flow
transfers go to the ACD's queues (music on hold), where simulated agents (RTP endpoints
too, logged in on their own channels) answer the offers, talk and hang up. At the end it
prints what happened: calls, digits keyed and detected, menu paths, the queues' figures
(offered, answered, abandoned, service level), agents' calls, outcomes, errors.

Run by tools/demo.sh (root, /dev/net/tun):
  /usr/bin/python3 tools/demo.py --medleyd build/control/medleyd [--callers 16]
      [--seconds 60] [--flow flows/1000.yaml]
"""
import argparse
import collections
import os
import queue
import random
import re
import subprocess
import sys
import tempfile
import threading
import time

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "control"))
import medley_caller  # noqa: E402
import medley_client  # noqa: E402

# What a caller may key at each step of the sample flow: (keys, weight). Keys are keyed
# after the caller has listened a little; "" is keying nothing (a timeout).
CHOICES = {
    "main": [("1", 4), ("2", 2), ("3", 3), ("6", 2), ("0", 1), ("5", 1), ("", 1)],
    "vip_main": [("1", 3), ("2", 1), ("3", 1)],
    "queries": [("1", 2), ("2", 3), ("3", 2), ("4", 1), ("*", 1)],
    "bill": [("1", 3), ("2", 2), ("*", 1)],
    "consult": [("1", 2), ("2", 2), ("3", 1), ("*", 1), ("7", 1)],
    "faults": [("1", 3), ("2", 1), ("3", 1), ("*", 1)],
    "password": [("1", 1), ("2", 3), ("3", 1), ("*", 1)],
    "pay_amount": [("35*5#1", 3), ("120#1", 2), ("8*888#", 1)],
    "install_order": [("2026120599#1", 3), ("1234#", 1)],
    "fault_number": [("83456789#1", 3), ("12#", 1)],
    "old_password": [("123456", 3), ("111111", 2)],
    "new_password": [("246810", 1)],
    "new_password_again": [("246810", 3), ("135790", 1)],
}
# Calls end at a transfer or a hangup; a caller also hangs up after this many steps.
MAX_STEPS = 14
VIP_ANI = "13912345678"


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.calls = 0
        self.active = 0
        self.outcomes = collections.Counter()
        self.paths = collections.Counter()
        self.keyed = collections.Counter()      # by source
        self.detected = collections.Counter()   # by source
        self.missed = 0                         # keyed, never reported
        self.extra = 0                          # reported, never keyed
        self.lookups = collections.Counter()
        self.steps = 0
        self.errors = []
        self.heard_ms = 0
        self.acd = collections.Counter()
        self.served = 0


def integrator_answer(lookup, ev):
    """What the integrator's systems would say; slow sometimes (the wait prompt)."""
    v = dict(ev.vars)
    if lookup == "number_info":
        return "ok", {"number": v.get("ani", "88886666")}, 0.2
    if lookup == "bill":
        return "ok", {"items": "35.5;12;8.2;60;4.05", "total": "119.75"}, 0.3
    if lookup == "pay":
        return ("ok" if v.get("amount", "0") not in ("0", "") else "fail"), {}, 0.5
    if lookup == "install":
        return ("ok", {"date": "20261215"}, 0.3) if v.get("order", "").startswith("2026") \
            else ("not_found", {}, 0.3)
    if lookup == "fault_report":
        return "ok", {"ticket": "%08d" % random.randint(0, 99999999)}, random.choice([0.3, 2.5])
    if lookup == "password_status":
        return random.choice(["set", "set", "not_set"]), {}, 0.2
    if lookup == "verify_password":
        return ("ok" if v.get("old_password") == "123456" else "wrong"), {}, 0.3
    if lookup == "change_password":
        return ("ok" if v.get("new_password") == v.get("new_password_again") else "mismatch"), {}, 0.3
    return "", {}, 0.1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--medleyd", required=True)
    ap.add_argument("--flow", default=os.path.join(HERE, "..", "flows", "1000.yaml"))
    ap.add_argument("--proto", default=os.path.join(HERE, "..", "control", "api", "medley.proto"))
    ap.add_argument("--callers", type=int, default=16)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--agents", type=int, default=4)
    args = ap.parse_args()
    random.seed(args.seed)
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
        sys.exit("demo: needs root and /dev/net/tun (net_tap)")

    pb = medley_client.load_messages(args.proto)
    work = tempfile.mkdtemp(prefix="medley-demo-")
    sock = os.path.join(work, "api.sock")
    iface = "mdemo%d" % (os.getpid() % 1000)
    net = "10.%d.%d" % (100 + os.getpid() % 100, os.getpid() // 100 % 250)
    engine_ip, host_ip = net + ".2", net + ".1"
    log = open(os.path.join(work, "medleyd.log"), "w")
    print("demo: starting medleyd on net_tap %s (%s), flow %s" % (iface, engine_ip, args.flow))
    md = subprocess.Popen(
        [args.medleyd, "--file-prefix=mdemo-%d" % os.getpid(), "-m", "512",
         "--vdev=net_tap0,iface=%s" % iface, "--no-pci", "--no-telemetry", "-l", "0",
         "--log-level=error", "--", "--ip4", engine_ip, "--channels", str(max(64, 4 * args.callers)),
         "--api-unix", sock, "--flow", args.flow],
        stdout=log, stderr=subprocess.STDOUT, preexec_fn=medley_client.die_with_parent)
    for _ in range(200):
        if os.path.exists(sock) or md.poll() is not None:
            break
        time.sleep(0.1)
    if not os.path.exists(sock):
        log.close()
        print(open(os.path.join(work, "medleyd.log")).read())
        sys.exit("demo: medleyd did not start")
    subprocess.run(["ip", "link", "set", iface, "up"], check=True)
    subprocess.run(["ip", "addr", "add", host_ip + "/24", "dev", iface], check=True)

    api = medley_client.Client("unix:" + sock, pb)
    flows = api.channel.unary_unary("/medley.v1.Engine/ListFlows",
                                    request_serializer=lambda m: m.SerializeToString(),
                                    response_deserializer=pb.FlowList.FromString)(pb.Empty(), timeout=5)
    for f in flows.flows:
        print("demo: flow %s: %d steps, %d prompts (%s)" % (f.name, f.steps, f.prompts, ", ".join(f.languages)))

    def unary(method, req):
        return api.channel.unary_unary("/medley.v1.Engine/" + method,
                                       request_serializer=lambda m: m.SerializeToString(),
                                       response_deserializer=pb.Empty.FromString)(req, timeout=5)

    stats = Stats()
    inbox = {}                    # channel -> queue of events
    inbox_lock = threading.Lock()
    stop = threading.Event()
    events = api.events()

    def pump_events():
        try:
            for ev in events:
                if ev.type == pb.IVR_LOOKUP:
                    threading.Thread(target=answer, args=(ev,), daemon=True).start()
                if ev.type == pb.ACD:
                    with stats.lock:
                        stats.acd[ev.acd] += 1
                    if ev.acd == "offer":
                        threading.Thread(target=agent_work, args=(ev,), daemon=True).start()
                with inbox_lock:
                    q = inbox.get(ev.channel)
                if q is not None:
                    q.put(ev)
        except grpc.RpcError:
            pass

    def answer(ev):
        result, vars_, delay = integrator_answer(ev.lookup, ev)
        with stats.lock:
            stats.lookups[ev.lookup] += 1
        time.sleep(delay)
        try:
            unary("IvrAnswer", pb.IvrAnswerRequest(channel=ev.channel, result=result, vars=vars_))
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.NOT_FOUND:   # the caller may have hung up
                with stats.lock:
                    stats.errors.append("IvrAnswer %s: %s" % (ev.lookup, e.details()))

    threading.Thread(target=pump_events, daemon=True).start()
    pool = medley_caller.CallerPool()
    pool.start()

    # The ACD: the flow's queues, and agents (RTP endpoints too) who answer offers,
    # talk a few seconds and hang up (after-call work, then ready again by the timer).
    queues = ["general", "billing", "sales", "complaints", "accounts", "vip"]
    for qn in queues:
        api.channel.unary_unary("/medley.v1.Engine/AddQueue",
                                request_serializer=lambda m: m.SerializeToString(),
                                response_deserializer=pb.Empty.FromString)(
            pb.QueueConfig(name=qn, skill="agent", acw_ms=1500, lang="zh"), timeout=5)
    agents = {}
    for i in range(args.agents):
        aid = "10%02d" % (i + 1)
        ch = api.call("CreateChannel", codec=1, tag="agent-" + aid)
        ep = pool.add(medley_caller.RtpEndpoint(host_ip, name="agent" + aid))
        ep.connect(engine_ip, ch.local_port)
        agents[aid] = {"channel": ch.channel, "ep": ep, "calls": 0}
    time.sleep(0.3)
    for aid, a in agents.items():
        unary("AddAgent", pb.AgentConfig(id=aid, skills=[pb.Skill(name="agent", level=5)]))
        unary("AgentLogin", pb.AgentRequest(agent=aid, channel=a["channel"]))
        unary("AgentReady", pb.AgentRequest(agent=aid))
    print("demo: %d agents logged in and ready on %d queues" % (len(agents), len(queues)))
    acd_calls = {}                # ACD call id -> the caller's inbox
    acd_lock = threading.Lock()

    def agent_work(ev):
        """An offer: the agent's phone rings for a second, then the agent answers, talks
        3-6 s (a tone, so the caller hears someone) and hangs up."""
        a = agents.get(ev.agent)
        if a is None:
            return
        time.sleep(1.0)
        try:
            unary("AgentAnswer", pb.AgentRequest(agent=ev.agent, call=ev.call, channel=a["channel"]))
        except grpc.RpcError:
            return          # the caller left meanwhile: the ACD already moved on
        with stats.lock:
            a["calls"] += 1
        a["ep"].send_tone(500, 1000, dbm0=-15)
        time.sleep(random.uniform(3, 6))
        try:
            unary("AgentHangup", pb.AgentRequest(agent=ev.agent))
        except grpc.RpcError:
            pass

    def one_call(n):
        rfc = random.random() < 0.5
        lang = random.choice(["zh", "zh", "en"])
        ani = VIP_ANI if random.random() < 0.15 else "1380000%04d" % random.randint(0, 9999)
        ch = api.call("CreateChannel", codec=1, event_payload_type=101, inband_dtmf=True,
                      tag="demo-%d" % n)
        q = queue.Queue()
        with inbox_lock:
            inbox[ch.channel] = q
        ep = pool.add(medley_caller.RtpEndpoint(host_ip, name="caller%d" % n))
        ep.connect(engine_ip, ch.local_port)
        time.sleep(0.2)           # a few packets: the engine learns the caller
        with stats.lock:
            stats.calls += 1
            stats.active += 1
        keyed = []
        detected = []
        path = []
        outcome = "caller hung up"
        try:
            unary("StartIvr", pb.StartIvrRequest(channel=ch.channel, flow="1000", ani=ani, language=lang))
            deadline = time.time() + 120
            while not stop.is_set() and time.time() < deadline:
                try:
                    ev = q.get(timeout=0.5)
                except queue.Empty:
                    continue
                if ev.type == pb.DIGIT:
                    detected.append((ev.digit, "rfc4733" if ev.source == pb.RFC4733 else "inband"))
                    with stats.lock:
                        stats.detected[detected[-1][1]] += 1
                elif ev.type == pb.IVR_STEP:
                    path.append(ev.step)
                    with stats.lock:
                        stats.steps += 1
                    if len(path) > MAX_STEPS:
                        break
                    opts = CHOICES.get(ev.step)
                    if opts is None:
                        continue
                    keys = random.choices([k for k, _ in opts], [w for _, w in opts])[0]
                    if not keys:
                        continue
                    # Listen a little (or key ahead at once, as regular callers do).
                    time.sleep(random.choice([0.3, 1.0, 2.5]))
                    if rfc:
                        ep.key_rfc4733(keys, pt=101, duration_ms=100, gap_ms=100)
                    else:
                        ep.key_inband(keys, dbm0=-10, on_ms=80, off_ms=80)
                    keyed.extend(keys)
                    with stats.lock:
                        stats.keyed["rfc4733" if rfc else "inband"] += len(keys)
                    ep.wait_idle(30)
                elif ev.type in (pb.IVR_TRANSFER, pb.IVR_HANGUP):
                    outcome = ("transfer to " + ev.queue + (" (%s)" % ev.reason if ev.reason != "flow" else "")
                               if ev.type == pb.IVR_TRANSFER else "hangup")
                    if ev.type == pb.IVR_TRANSFER and ev.queue in queues:
                        # Into the ACD's queue: music, then an agent; the call ends when
                        # the agent hangs up (or the demo ends, counted as abandoned).
                        served = False
                        end = time.time() + 60
                        while not stop.is_set() and time.time() < end:
                            try:
                                ev2 = q.get(timeout=0.5)
                            except queue.Empty:
                                continue
                            if ev2.type == pb.ACD and ev2.acd == "connected":
                                served = True
                                path.append("agent " + ev2.agent)
                            if ev2.type == pb.ACD and ev2.acd == "ended":
                                break
                        outcome = "served by an agent (%s queue)" % ev.queue if served else \
                            "waited in the %s queue" % ev.queue
                        if served:
                            with stats.lock:
                                stats.served += 1
                    break
            time.sleep(0.3)       # the last digits' events
            while not q.empty():
                ev = q.get()
                if ev.type == pb.DIGIT:
                    detected.append((ev.digit, "rfc4733" if ev.source == pb.RFC4733 else "inband"))
                    with stats.lock:
                        stats.detected[detected[-1][1]] += 1
        except grpc.RpcError as e:
            with stats.lock:
                stats.errors.append("call %d: %s %s" % (n, e.code().name, e.details()))
        finally:
            heard = sum(1 for _ in ep.received)
            pool.remove(ep)
            ep.close()
            try:
                api.call("DeleteChannel", channel=ch.channel)
            except grpc.RpcError:
                pass
            with inbox_lock:
                inbox.pop(ch.channel, None)
            got = "".join(d for d, _ in detected)
            want = "".join(keyed)
            with stats.lock:
                stats.active -= 1
                stats.outcomes[outcome] += 1
                stats.paths[(" > ".join(path[:6]) + (" ..." if len(path) > 6 else "")) or "(still in the welcome)"] += 1
                stats.heard_ms += heard * 20
                if got != want:
                    # Keyed digits that the engine did not report (or reported twice).
                    common = os.path.commonprefix([got, want])
                    stats.missed += max(0, len(want) - len(common))
                    stats.extra += max(0, len(got) - len(common))
                    if len(stats.errors) < 10:
                        stats.errors.append("call %d (%s): keyed %r, detected %r" %
                                            (n, "rfc4733" if rfc else "inband", want, got))

    def caller_loop(idx):
        n = idx
        while not stop.is_set():
            one_call(n)
            n += args.callers
            time.sleep(random.uniform(0.2, 1.0))

    threads = [threading.Thread(target=caller_loop, args=(i,), daemon=True) for i in range(args.callers)]
    print("demo: %d callers for %d s (half key in-band, half RFC 4733; 15%% VIP; zh and en)"
          % (args.callers, args.seconds))
    t0 = time.time()
    for i, t in enumerate(threads):
        t.start()
        time.sleep(0.1)
    while time.time() - t0 < args.seconds:
        time.sleep(2)
        with stats.lock:
            print("  %3ds  calls %4d  active %3d  steps %5d  digits keyed %4d detected %4d  lookups %3d  "
                  "to agents %3d  served %3d  hangups %3d" %
                  (time.time() - t0, stats.calls, stats.active, stats.steps, sum(stats.keyed.values()),
                   sum(stats.detected.values()), sum(stats.lookups.values()), stats.acd["queued"],
                   stats.served, stats.outcomes["hangup"]), flush=True)
    stop.set()
    for t in threads:
        t.join(timeout=10)
    events.cancel()
    pool.stop()
    engine = api.call("GetStats")
    snap = api.channel.unary_unary("/medley.v1.Engine/GetAcdSnapshot",
                                   request_serializer=lambda m: m.SerializeToString(),
                                   response_deserializer=pb.AcdSnapshot.FromString)(pb.Empty(), timeout=5)
    api.close()
    md.terminate()
    try:
        md.wait(timeout=10)
    except subprocess.TimeoutExpired:
        md.kill()
    log.close()

    print()
    print("== what happened")
    print("calls:            %d (%d still in the IVR when the demo ended)" %
          (stats.calls, stats.outcomes["caller hung up"]))
    print("audio heard:      %.0f s by the callers (prompts played by the engine)" % (stats.heard_ms / 1000))
    print("digits keyed:     %d in-band, %d RFC 4733" % (stats.keyed["inband"], stats.keyed["rfc4733"]))
    print("digits detected:  %d in-band, %d RFC 4733; missed %d, extra %d" %
          (stats.detected["inband"], stats.detected["rfc4733"], stats.missed, stats.extra))
    print("IVR steps:        %d; lookups answered: %s" %
          (stats.steps, ", ".join("%s %d" % kv for kv in sorted(stats.lookups.items())) or "none"))
    print("engine:           %d packets in, %d out, %d dropped" %
          (engine.rx_packets, engine.tx_packets, engine.dropped_packets))
    print("ACD:              %d callers served by agents; offers %d, connected %d, abandoned %d" %
          (stats.served, stats.acd["offer"], stats.acd["connected"], stats.acd["abandoned"]))
    for qs in snap.queues:
        if qs.offered:
            print("  queue %-10s offered %3d answered %3d abandoned %3d  service level %s" %
                  (qs.name, qs.offered, qs.answered, qs.abandoned,
                   "%.0f%%" % (100 * qs.service_level) if qs.service_level >= 0 else "-"))
    print("  agents: " + ", ".join("%s %d calls" % (aid, a["calls"]) for aid, a in sorted(agents.items())))
    print("outcomes:")
    for k, v in stats.outcomes.most_common():
        print("  %4d  %s" % (v, k))
    print("most taken paths:")
    for k, v in stats.paths.most_common(8):
        print("  %4d  %s" % (v, k))
    print("errors: %d" % len(stats.errors))
    for e in stats.errors[:10]:
        print("  " + e)
    ok = stats.calls > 0 and stats.steps > 0 and stats.missed == 0 and stats.extra == 0 and \
        sum(stats.detected.values()) > 0
    print("demo: %s" % ("OK" if ok else "FAILED (see above; medleyd's log: %s)" % log.name))
    subprocess.run(["ip", "link", "del", iface], stderr=subprocess.DEVNULL)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
