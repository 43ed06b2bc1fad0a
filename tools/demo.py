"""The medley demo: a contact centre's IVR and ACD with simulated callers and agents.

medleyd runs on a net_tap interface with the sample flow (flows/1000.yaml, the "1000"
service of a city telecom, prompts in Mandarin and English made by espeak-ng). A
population of simulated callers (tools/medley_caller.py: real RTP endpoints on the
kernel side of the tap) dial in through the API, listen, and key DTMF both in-band and
as RFC 4733, walking the tree for a set time; this script also plays the integrator
that answers the flow's lookups (numbers, bills, payments, passwords). Callers the flow
transfers go to the ACD's queues: music on hold and position / expected-wait
announcements (each caller counts the ones it hears), then an agent (simulated too: RTP
endpoints logged in on their own channels) answers; the caller hears the agent's number
first ("agent 1001 at your service"), the call is recorded (stereo, beneath a temporary
--record-dir), the agent talks and hangs up, and the caller answers the post-call survey
(SurveyResult) when the queue has one. A text wallboard (queues, agents by state,
service level) is shown while it runs: redrawn every 2 s on a terminal, periodic lines
otherwise. At the end it prints what happened: calls, digits keyed and detected, menu
paths, announcements heard, recordings, surveys, outcomes, errors, and the KPIs per
queue and per agent (offered, answered, abandoned, service level, ASA, AHT, survey
average) read back from the SQLite history medleyd writes when it stops (--kpi-db).

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
import sqlite3
import struct
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
        self.positions = 0                      # position announcements heard
        self.heard_position = 0                 # callers who heard at least one
        self.agent_first = 0                    # served callers who heard the agent's number first
        self.recordings = 0                     # StartRecording on bridged calls
        self.recorded = collections.Counter()   # RECORDING_ENDED: frames written, dropped
        self.surveys = []                       # ratings given
        self.agent_state = {}                   # agent -> (state name, reason, since)


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


# The ACD's own prompts (docs/acd.md): position and expected wait, the agent's number
# (ACD-5), the busy offer, and the music on hold. Not in flows/prompts.tsv (the IVR's
# pack), so the demo makes them once with espeak-ng into flows/prompts/<lang>/acd/ and
# loads them through the API (LoadPrompt) under the names the ACD plays.
ACD_PROMPTS = {
    "position": ("You are number", "您排在第"),
    "expected_wait": ("Your expected wait is", "预计等待"),
    "minutes": ("minutes", "分钟"),
    "agent": ("Agent", "工号"),
    "at_your_service": ("at your service", "为您服务"),
    "busy_offer": ("All our agents are still busy. Press star for self service, or one to be called back.",
                   "坐席仍然忙碌。按星号键返回自助服务，按一键留下回电。"),
    "system_busy": ("The system is busy. Please call again later.", "系统繁忙，请稍后再拨。"),
    "callback_ok": ("We will call you back. Goodbye.", "我们会给您回电，再见。"),
}


def write_music(path):
    """Four seconds of a quiet arpeggio (C E G E), 8 kHz PCM16: the hold music."""
    import math
    import wave
    rate, frames = 8000, []
    for f in (523.25, 659.25, 783.99, 659.25):
        n = rate // 2
        for i in range(n):
            env = min(1.0, i / 400.0, (n - i) / 400.0)
            v = 0.12 * env * (math.sin(2 * math.pi * f * i / rate) + 0.3 * math.sin(4 * math.pi * f * i / rate))
            frames.append(int(32767 * v))
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack("<%dh" % len(frames), *frames))


def acd_prompt_files(prompt_dir):
    """Makes (if missing) and lists the ACD's prompts: [(name, path)]."""
    out = []
    for lang, voice, idx in (("en", "en-us", 0), ("zh", "cmn", 1)):
        d = os.path.join(prompt_dir, lang, "acd")
        os.makedirs(d, exist_ok=True)
        for name, texts in ACD_PROMPTS.items():
            f = os.path.join(d, name + ".wav")
            if not os.path.exists(f):
                tmp = f + ".tmp.wav"
                subprocess.run(["espeak-ng", "-v", voice, "-s", "165", "-w", tmp, texts[idx]], check=True)
                subprocess.run(["sox", "-q", "-V1", tmp, "-r", "8000", "-c", "1", "-b", "16",
                                "-e", "signed-integer", f, "gain", "-n", "-6"], check=True)
                os.unlink(tmp)
            out.append(("%s/acd/%s" % (lang, name), f))
        f = os.path.join(d, "music.wav")
        if not os.path.exists(f):
            write_music(f)
        out.append(("%s/acd/music" % lang, f))
    return out


def wallboard(progress, snap, states, tty):
    """The live text wallboard: the progress line, then per queue the callers waiting,
    the longest wait and the service level, and the agents by state. On a terminal the
    screen is redrawn in place; otherwise it is a few plain lines."""
    now = time.time()
    by_state = collections.Counter(st for st, _, _ in states.values())
    agents_line = ", ".join("%d %s" % (n, st.lower().replace("_", " ")) for st, n in sorted(by_state.items()))
    qs = [q for q in (snap.queues if snap else []) if q.offered or q.waiting]
    if not tty:
        lines = [progress]
        if snap is not None:
            lines.append("        waiting %d (longest %.0f s)  agents: %s  queues: %s" % (
                snap.waiting, snap.longest_wait_ms / 1000.0, agents_line or "-",
                "; ".join("%s %d waiting SL %s" % (q.name, q.waiting, "%.0f%%" % (100 * q.service_level)
                                                    if q.service_level >= 0 else "-") for q in qs) or "-"))
        return "\n".join(lines)
    out = ["\033[H\033[J== medley demo: live wallboard (%s)" % time.strftime("%H:%M:%S"), progress, ""]
    if snap is not None:
        out.append("callers waiting %d, longest %.0f s; agents: %d logged in, %d ready, %d busy" %
                   (snap.waiting, snap.longest_wait_ms / 1000.0, snap.logged_in, snap.idle, snap.busy))
        out.append("%-12s %7s %8s %7s %8s %9s %5s" % ("QUEUE", "WAITING", "LONGEST", "OFFERED", "ANSWERED",
                                                      "ABANDONED", "SL"))
        for q in snap.queues:
            out.append("%-12s %7d %7.0fs %7d %8d %9d %5s" % (
                q.name, q.waiting, q.longest_wait_ms / 1000.0, q.offered, q.answered, q.abandoned,
                "%.0f%%" % (100 * q.service_level) if q.service_level >= 0 else "-"))
    out.append("")
    out.append("agents by state: %s" % (agents_line or "-"))
    out.append("%-8s %-10s %-12s %s" % ("AGENT", "STATE", "REASON", "IN STATE"))
    for aid in sorted(states):
        st, reason, since = states[aid]
        out.append("%-8s %-10s %-12s %4.0f s" % (aid, st, reason or "-", now - since))
    return "\n".join(out)


def kpi_report(db):
    """The KPIs per queue and per agent from medleyd's SQLite history (every half hour
    of this run added up), with the formulas of docs/acd.md."""
    if not os.path.exists(db):
        return ["  (no KPI history: %s was not written)" % db]
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    rows = con.execute(
        "SELECT scope, name, SUM(offered), SUM(answered), SUM(abandoned), SUM(answered_in_sl),"
        " SUM(wait_answered_ms), SUM(handled), SUM(talk_ms) + SUM(hold_ms) + SUM(acw_ms),"
        " SUM(surveys), SUM(survey_sum), SUM(abandoned_short), SUM(no_answer)"
        " FROM kpi GROUP BY scope, name ORDER BY scope DESC, name").fetchall()
    con.close()

    def ratio(a, b, fmt):
        return fmt % (a / b) if b else "-"
    lines = ["  %-6s %-10s %7s %8s %9s %6s %7s %7s %7s" %
             ("scope", "name", "offered", "answered", "abandoned", "SL", "ASA", "AHT", "survey")]
    for (scope, name, off, ans, ab, ans_sl, wait, handled, handle_ms, surveys, ssum, ab_short,
         no_answer) in rows:
        if scope == "queue" and not off:
            continue
        if scope == "agent" and not (off or handled):
            continue
        lines.append("  %-6s %-10s %7d %8d %9s %6s %7s %7s %7s" % (
            scope, name, off, ans,
            ("%d" % ab) + ("+%d short" % ab_short if ab_short else "") if scope == "queue"
            else ("%d no ans" % no_answer if no_answer else "-"),
            ratio(100.0 * ans_sl, ans + ab, "%.0f%%") if scope == "queue" else "-",
            ratio(wait / 1000.0, ans, "%.1fs") if scope == "queue" else "-",
            ratio(handle_ms / 1000.0, handled, "%.1fs"),
            ratio(float(ssum), surveys, "%.1f")))
    return lines


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
    rec_dir = os.path.join(work, "recordings")
    os.makedirs(rec_dir)
    kpi_db = os.path.join(work, "kpi.db")
    iface = "mdemo%d" % (os.getpid() % 1000)
    net = "10.%d.%d" % (100 + os.getpid() % 100, os.getpid() // 100 % 250)
    engine_ip, host_ip = net + ".2", net + ".1"
    log = open(os.path.join(work, "medleyd.log"), "w")
    print("demo: starting medleyd on net_tap %s (%s), flow %s" % (iface, engine_ip, args.flow))
    md = subprocess.Popen(
        [args.medleyd, "--file-prefix=mdemo-%d" % os.getpid(), "-m", "512",
         "--vdev=net_tap0,iface=%s" % iface, "--no-pci", "--no-telemetry", "-l", "0",
         "--log-level=error", "--", "--ip4", engine_ip, "--channels", str(max(64, 4 * args.callers)),
         "--api-unix", sock, "--flow", args.flow, "--record-dir", rec_dir, "--kpi-db", kpi_db],
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

    def unary(method, req, reply="Empty"):
        return api.channel.unary_unary("/medley.v1.Engine/" + method,
                                       request_serializer=lambda m: m.SerializeToString(),
                                       response_deserializer=getattr(pb, reply).FromString)(req, timeout=5)

    # The ACD's prompts, beside the IVR's pack.
    prompt_dir = os.path.join(os.path.dirname(os.path.abspath(args.flow)), "prompts")
    acd_prompts = acd_prompt_files(prompt_dir)
    for name, path in acd_prompts:
        unary("LoadPrompt", pb.LoadPromptRequest(name=name, path=os.path.abspath(path)), "Prompt")
    print("demo: %d ACD prompts loaded (position and expected wait, agent number, busy offer, music; zh and en)"
          % len(acd_prompts))

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
                        if ev.acd == "agent_state" and ev.agent:
                            stats.agent_state[ev.agent] = (
                                pb.AgentState.Name(ev.value)[6:] if ev.value in pb.AgentState.values()
                                else str(ev.value), ev.reason, time.time())
                    if ev.acd == "offer":
                        threading.Thread(target=agent_work, args=(ev,), daemon=True).start()
                    if ev.acd == "connected" and ev.agent in agents:
                        agents[ev.agent]["connected"].set()
                if ev.type == pb.RECORDING_ENDED:
                    with stats.lock:
                        stats.recorded["files"] += 1
                        stats.recorded["frames"] += ev.recording.frames_written
                        stats.recorded["dropped"] += ev.recording.frames_dropped
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
    # Waiting callers hear their position and expected wait after 2 s, then every 8 s;
    # a caller an agent answers hears "agent 10xx at your service" before the bridge.
    queues = ["general", "billing", "sales", "complaints", "accounts", "vip"]
    has_survey = "survey" in pb.QueueConfig.DESCRIPTOR.fields_by_name
    for qn in queues:
        cfg = pb.QueueConfig(name=qn, skill="agent", acw_ms=1500, lang="zh", announce_first_ms=2000,
                             announce_every_ms=8000, announce_agent=True)
        if has_survey:
            cfg.survey = "survey"       # the ACD routes the caller there when the agent hangs up
        unary("AddQueue", cfg)
    agents = {}
    for i in range(args.agents):
        aid = "10%02d" % (i + 1)
        ch = api.call("CreateChannel", codec=1, tag="agent-" + aid)
        ep = pool.add(medley_caller.RtpEndpoint(host_ip, name="agent" + aid))
        ep.connect(engine_ip, ch.local_port)
        agents[aid] = {"channel": ch.channel, "ep": ep, "calls": 0, "connected": threading.Event()}
    time.sleep(0.3)
    # Most agents start in a meeting (not ready) and join at two thirds of the run: the
    # first callers the IVR transfers (after 30 s or so) queue meanwhile, hearing their
    # position and expected wait.
    late = sorted(agents)[(len(agents) + 3) // 4:]
    for aid, a in agents.items():
        unary("AddAgent", pb.AgentConfig(id=aid, skills=[pb.Skill(name="agent", level=5)]))
        unary("AgentLogin", pb.AgentRequest(agent=aid, channel=a["channel"]))
        if aid in late:
            unary("AgentNotReady", pb.AgentRequest(agent=aid, reason="meeting"))
        else:
            unary("AgentReady", pb.AgentRequest(agent=aid))

    def join_late():
        if stop.wait(args.seconds * 2 / 3.0):
            return
        for aid in late:
            try:
                unary("AgentReady", pb.AgentRequest(agent=aid))
            except grpc.RpcError as e:
                with stats.lock:
                    stats.errors.append("agent %s ready: %s %s" % (aid, e.code().name, e.details()))
    print("demo: %d agents logged in on %d queues: %d ready, %d in a meeting until two thirds of the run (%s)" %
          (len(agents), len(queues), len(agents) - len(late), len(late), " ".join(late) or "-"))
    acd_calls = {}                # ACD call id -> the caller's inbox
    acd_lock = threading.Lock()

    def agent_work(ev):
        """An offer: the agent's phone rings for a second, then the agent answers; the
        caller hears the agent's number, then they are bridged and the agent talks 8-15 s
        (a tone, so the caller hears someone), hangs up, and sometimes takes a break."""
        a = agents.get(ev.agent)
        if a is None:
            return
        time.sleep(1.0)
        a["connected"].clear()
        try:
            unary("AgentAnswer", pb.AgentRequest(agent=ev.agent, call=ev.call, channel=a["channel"]))
        except grpc.RpcError:
            return          # the caller left meanwhile: the ACD already moved on
        with stats.lock:
            a["calls"] += 1
        if not a["connected"].wait(35):
            return          # the caller left during the announcement
        a["ep"].send_tone(500, 1000, dbm0=-15)
        stop.wait(random.uniform(8, 15))
        try:
            unary("AgentHangup", pb.AgentRequest(agent=ev.agent))
        except grpc.RpcError:
            return
        # Now and then a break (not ready, with a reason, ending the after-call work):
        # fewer agents than callers, so callers wait and hear their position.
        if random.random() < 0.5 and not stop.is_set():
            try:
                unary("AgentNotReady", pb.AgentRequest(agent=ev.agent,
                                                       reason=random.choice(["break", "coffee", "training"])))
                stop.wait(random.uniform(10, 20))
                unary("AgentReady", pb.AgentRequest(agent=ev.agent))
            except grpc.RpcError:
                pass

    def one_call(n):
        rfc = random.random() < 0.5
        lang = random.choice(["zh", "zh", "en"])
        ani = VIP_ANI if random.random() < 0.15 else "1380000%04d" % random.randint(0, 9999)
        # A 120 ms jitter buffer (the default is 60 ms): the simulated callers are Python
        # threads on a machine shared with other work, and medley_caller's pool sends late
        # in a burst after a stall of up to 100 ms; a deeper buffer takes that, as it
        # would a real network's jitter, so a missed digit is the detector's, not Python's.
        ch = api.call("CreateChannel", codec=1, event_payload_type=101, inband_dtmf=True,
                      jitter_depth_frames=6, tag="demo-%d" % n)
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
        early = []                # ACD notices published before the IVR_TRANSFER event
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
                elif ev.type == pb.ACD:
                    # The IVR enters the caller into the queue before it reports the
                    # transfer: "queued" (and "offer", if an agent is free) come first.
                    early.append(ev)
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
                        # Into the ACD's queue: music and announcements (a PROMPT_DONE on the
                        # caller's channel is an ACD prompt heard to its end: before the
                        # offer a position announcement, after it the agent's number), then
                        # an agent; the call is recorded once bridged and ends when the agent
                        # hangs up (then the survey, if the queue has one) or the demo ends.
                        served = offered = announced = False
                        positions = 0
                        rated = None
                        entered = time.time()
                        end = entered + 60
                        while not stop.is_set() and time.time() < end:
                            try:
                                ev2 = early.pop(0) if early else q.get(timeout=0.5)
                            except queue.Empty:
                                continue
                            if ev2.type == pb.DIGIT:
                                detected.append((ev2.digit, "rfc4733" if ev2.source == pb.RFC4733 else "inband"))
                                with stats.lock:
                                    stats.detected[detected[-1][1]] += 1
                            elif ev2.type == pb.PROMPT_DONE:
                                # (the first announcement comes 2 s after queueing: an
                                # earlier PROMPT_DONE is the IVR's last prompt ending)
                                if not offered and time.time() - entered >= 1.5:
                                    positions += 1
                                elif not served:
                                    announced = True
                            elif ev2.type != pb.ACD:
                                continue
                            elif ev2.acd == "offer":
                                offered = True
                            elif ev2.acd == "requeued":
                                offered = False
                            elif ev2.acd == "connected":
                                served = True
                                path.append("agent " + ev2.agent)
                                try:
                                    unary("StartRecording", pb.RecordRequest(
                                        channel=ch.channel, path="call-%d.wav" % n, stereo=True), "Recording")
                                    with stats.lock:
                                        stats.recordings += 1
                                except grpc.RpcError as e:
                                    with stats.lock:
                                        stats.errors.append("call %d: StartRecording %s %s" %
                                                            (n, e.code().name, e.details()))
                            elif ev2.acd == "route" and ev2.reason == "survey":
                                # The post-call survey: the caller gives 1..5 (mostly 4-5).
                                rated = random.choices([5, 4, 3, 2, 1], [5, 4, 2, 1, 1])[0]
                                try:
                                    unary("SurveyResult", pb.SurveyRequest(call=ev2.call, rating=rated))
                                    with stats.lock:
                                        stats.surveys.append(rated)
                                except grpc.RpcError as e:
                                    with stats.lock:
                                        stats.errors.append("call %d: SurveyResult %s %s" %
                                                            (n, e.code().name, e.details()))
                                break         # the survey was the end of the call
                            elif ev2.acd in ("release", "ended"):
                                break         # the ACD asks the integrator to hang the caller up
                        outcome = "served by an agent (%s queue)" % ev.queue if served else \
                            "waited in the %s queue" % ev.queue
                        with stats.lock:
                            stats.positions += positions
                            stats.heard_position += positions > 0
                            if served:
                                stats.served += 1
                                stats.agent_first += announced
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
    threading.Thread(target=join_late, daemon=True).start()
    for i, t in enumerate(threads):
        t.start()
        time.sleep(0.1)
    tty = sys.stdout.isatty()
    while time.time() - t0 < args.seconds:
        time.sleep(2)
        try:
            snap = unary("GetAcdSnapshot", pb.Empty(), "AcdSnapshot")
        except grpc.RpcError:
            snap = None
        listed = None             # every agent's state now, where the API has ListAgents
        if hasattr(pb, "ListAgentsRequest"):
            try:
                listed = unary("ListAgents", pb.ListAgentsRequest(), "AgentList").agents
            except grpc.RpcError:
                pass
        with stats.lock:
            progress = ("  %3ds  calls %4d  active %3d  steps %5d  digits keyed %4d detected %4d  lookups %3d  "
                        "to agents %3d  served %3d  hangups %3d" %
                        (time.time() - t0, stats.calls, stats.active, stats.steps, sum(stats.keyed.values()),
                         sum(stats.detected.values()), sum(stats.lookups.values()), stats.acd["queued"],
                         stats.served, stats.outcomes["hangup"]))
            states = dict(stats.agent_state)   # else from the agent_state events
        if listed is not None:
            now = time.time()
            states = {a.id: (pb.AgentState.Name(a.state)[6:], a.reason, now - a.in_state_ms / 1000.0)
                      for a in listed}
        print(wallboard(progress, snap, states, tty), flush=True)
    stop.set()
    for t in threads:
        t.join(timeout=10)
    events.cancel()
    pool.stop()
    engine = api.call("GetStats")
    snap = unary("GetAcdSnapshot", pb.Empty(), "AcdSnapshot")
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
    print("ACD:              %d callers queued, %d served by agents; offers %d, connected %d, abandoned %d" %
          (stats.acd["queued"], stats.served, stats.acd["offer"], stats.acd["connected"], stats.acd["abandoned"]))
    print("  announcements:  %d position/expected-wait announcements heard by %d of %d queued callers; "
          "%d of %d served callers heard the agent's number first" %
          (stats.positions, stats.heard_position, stats.acd["queued"], stats.agent_first, stats.served))
    rec_files = sorted(os.listdir(rec_dir))
    rec_bytes = sum(os.path.getsize(os.path.join(rec_dir, f)) for f in rec_files)
    print("  recordings:     %d started on bridged calls; %d files, %d bytes in %s (%.0f s of stereo "
          "audio written, %d frames dropped)" %
          (stats.recordings, len(rec_files), rec_bytes, rec_dir, stats.recorded["frames"] * 0.02,
           stats.recorded["dropped"]))
    if stats.surveys:
        print("  surveys:        %d answered, average %.1f (%s)" %
              (len(stats.surveys), sum(stats.surveys) / len(stats.surveys),
               ", ".join("%d x %d" % (stats.surveys.count(r), r) for r in (5, 4, 3, 2, 1) if r in stats.surveys)))
    elif not has_survey:
        print("  surveys:        none: this API's QueueConfig has no survey field yet, so the ACD never "
              "routes a caller to the survey (SurveyResult is sent when it does)")
    else:
        print("  surveys:        none answered")
    for qs in snap.queues:
        if qs.offered:
            print("  queue %-10s offered %3d answered %3d abandoned %3d  service level %s" %
                  (qs.name, qs.offered, qs.answered, qs.abandoned,
                   "%.0f%%" % (100 * qs.service_level) if qs.service_level >= 0 else "-"))
    print("  agents: " + ", ".join("%s %d calls" % (aid, a["calls"]) for aid, a in sorted(agents.items())))
    print("KPIs (medleyd's SQLite history, %s; SL: answered within 15 s, abandons negative):" % kpi_db)
    for line in kpi_report(kpi_db):
        print(line)
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
