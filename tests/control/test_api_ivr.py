"""The IVR methods of the API through python3-grpcio against a real medleyd (net_null:
no RTP, so the session is driven by its prompts finishing and by the integrator's
answers): LoadFlow / CheckFlow / ListFlows errors and warnings, StartIvr and the IVR
events, hot reload while a call is in the flow, IvrAnswer and StopIvr errors.

Usage: /usr/bin/python3 test_api_ivr.py MEDLEYD PROTO"""
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import wave

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import medley_client  # noqa: E402

medleyd, proto = sys.argv[1], sys.argv[2]
pb = medley_client.load_messages(proto)
work = tempfile.mkdtemp(prefix="medley-ivr-")
sock = os.path.join(work, "api.sock")
CHECKS = medley_client.Checks()
check = CHECKS.check
expect_error = CHECKS.expect_error


def tone(path, ms, freq=440):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"".join(struct.pack("<h", int(6000 * math.sin(2 * math.pi * freq * i / 8000)))
                               for i in range(ms * 8)))


# A small flow with short prompts: welcome -> main menu; a lookup reached by the
# integrator's answers only is not possible without digits, so main's timeout path and
# the transfer after too many errors are what the session does on its own.
FLOW = """
name: small
languages: [en]
prompt_dir: p
welcome: hello
start: main
agent_queue: general
too_many: bye
defaults:
  first_digit_ms: 500
  retries: 2
  invalid: bad
  timeout: quiet
steps:
  main:
    menu: menu
    options: {1: ask, 2: main}
  ask:
    lookup: anything
    next: main
"""
os.makedirs(os.path.join(work, "p", "en", "num"))
os.makedirs(os.path.join(work, "p", "en", "date"))
for name in ("hello", "menu", "bad", "quiet", "bye"):
    tone(os.path.join(work, "p", "en", name + ".wav"), 100)
# Spoken-number prompts for English (the flow loader checks they exist).
for n in list(range(20)) + list(range(20, 100, 10)) + ["hundred", "thousand", "million", "yuan", "fen"]:
    tone(os.path.join(work, "p", "en", "num", "%s.wav" % n), 60)
for m in range(1, 13):
    tone(os.path.join(work, "p", "en", "date", "m%02d.wav" % m), 60)
flow_path = os.path.join(work, "small.yaml")
with open(flow_path, "w") as f:
    f.write(FLOW)

proc = subprocess.Popen(
    [medleyd, "--file-prefix=mdivr-%d" % os.getpid(), "-m", "256", "--vdev=net_null0", "--no-pci",
     "--no-telemetry", "-l", "0", "--log-level=error", "--", "--ip4", "10.9.0.2", "--channels", "8",
     "--api-unix", sock],
    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    preexec_fn=medley_client.die_with_parent)
deadline = time.time() + 20
while time.time() < deadline and not os.path.exists(sock):
    time.sleep(0.05)
if not os.path.exists(sock):
    print("FAIL: medleyd did not come up")
    proc.kill()
    print(proc.stdout.read())
    sys.exit(1)
c = medley_client.Client("unix:" + sock, pb)

# ---- LoadFlow / CheckFlow / ListFlows ----
f = c.call_flow = None
f = c.channel.unary_unary("/medley.v1.Engine/LoadFlow",
                          request_serializer=lambda m: m.SerializeToString(),
                          response_deserializer=pb.Flow.FromString)
chk = c.channel.unary_unary("/medley.v1.Engine/CheckFlow",
                            request_serializer=lambda m: m.SerializeToString(),
                            response_deserializer=pb.Flow.FromString)
lst = c.channel.unary_unary("/medley.v1.Engine/ListFlows",
                            request_serializer=lambda m: m.SerializeToString(),
                            response_deserializer=pb.FlowList.FromString)


def unary(method, req, resp):
    return c.channel.unary_unary("/medley.v1.Engine/" + method,
                                 request_serializer=lambda m: m.SerializeToString(),
                                 response_deserializer=resp.FromString)(req, timeout=10)


got = f(pb.LoadFlowRequest(path=flow_path), timeout=10)
check("load: name and steps", got.name == "small" and got.steps == 2 and list(got.languages) == ["en"])
check("load: prompts loaded", got.prompts >= 5 + 33 + 12)
names = {p.name for p in c.call("ListPrompts").prompts}
check("flow prompts are in the store as <lang>/<name>", "en/hello" in names and "en/num/7" in names)
check("list flows", [x.name for x in lst(pb.Empty(), timeout=5).flows] == ["small"])

sample = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "flows", "1000.yaml")
if os.path.isdir(os.path.join(os.path.dirname(sample), "prompts")):
    got = chk(pb.LoadFlowRequest(path=sample), timeout=10)
    check("check the sample flow: name, steps", got.name == "1000" and got.steps > 40)
    check("check the sample flow: the gap warning", any("gap" in w for w in got.warnings))
    check("check does not install", [x.name for x in lst(pb.Empty(), timeout=5).flows] == ["small"])
else:
    print("note: flows/prompts missing (tools/make_prompts.sh); sample flow not checked")

bad_flows = [
    ("syntax", "name: x\nsteps: [", ["yaml"]),
    ("unknown field", FLOW.replace("  ask:\n", "  ask:\n    colour: red\n"), ["colour"]),
    ("seven options", FLOW.replace("options: {1: ask, 2: main}",
                                   "options: {1: ask, 2: main, 3: main, 4: main, 5: main, 6: main, 7: main}"),
     ["at most 6"]),
    ("fixed key as an option", FLOW.replace("2: main}", "9: main}"), ["fixed key"]),
    ("unknown target", FLOW.replace("1: ask", "1: nowhere"), ["nowhere"]),
    ("missing prompt file", FLOW.replace("too_many: bye", "too_many: nofile"), ["nofile", "missing"]),
    ("no start", FLOW.replace("start: main\n", ""), ["start"]),
]
for desc, text, words in bad_flows:
    p = os.path.join(work, "bad.yaml")
    with open(p, "w") as fh:
        fh.write(text)
    expect_error("check flow, " + desc, grpc.StatusCode.INVALID_ARGUMENT, words, chk,
                 pb.LoadFlowRequest(path=p), timeout=10)
    expect_error("load flow, " + desc, grpc.StatusCode.INVALID_ARGUMENT, words, f,
                 pb.LoadFlowRequest(path=p), timeout=10)
expect_error("load a missing file", grpc.StatusCode.NOT_FOUND, ["no-such"], f,
             pb.LoadFlowRequest(path=os.path.join(work, "no-such.yaml")), timeout=10)
fifo = os.path.join(work, "flow.fifo")
os.mkfifo(fifo)
expect_error("load a FIFO as a flow (must not block)", grpc.StatusCode.INVALID_ARGUMENT,
             ["regular file"], f, pb.LoadFlowRequest(path=fifo), timeout=10)
expect_error("load without a path", grpc.StatusCode.INVALID_ARGUMENT, ["path"], f,
             pb.LoadFlowRequest(path=""), timeout=10)
check("failed loads leave the flow as it was", [x.name for x in lst(pb.Empty(), timeout=5).flows] == ["small"])

# ---- a session: events without RTP ----
ch = c.call("CreateChannel", codec=1, inband_dtmf=True)
events = c.events(timeout=15, channels=[ch.channel])
unary("StartIvr", pb.StartIvrRequest(channel=ch.channel, flow="small", ani="100"), pb.Empty)
expect_error("start twice", grpc.StatusCode.FAILED_PRECONDITION, ["already"], unary, "StartIvr",
             pb.StartIvrRequest(channel=ch.channel, flow="small"), pb.Empty)
# Hot reload while the call is in the flow: the new version is installed, the call goes on.
got = f(pb.LoadFlowRequest(path=flow_path), timeout=10)
check("reload while a call is in the flow", got.sessions == 1)
seen = []
try:
    for ev in events:
        if ev.type == pb.IVR_STEP:
            seen.append("step " + ev.step)
        elif ev.type == pb.IVR_TRANSFER:
            seen.append("transfer %s %s" % (ev.queue, ev.reason))
            trail = ev.trail
            break
except grpc.RpcError as e:
    check("event stream: %s" % e.details(), False)
# welcome (100 ms) -> main; no digit: timeout, timeout again = too many -> agent.
check("steps and the transfer after too many timeouts: %s" % seen,
      seen == ["step main", "transfer general too_many_errors"])
check("the trail says why", "too many errors" in trail)
check("the session is gone", [x.sessions for x in lst(pb.Empty(), timeout=5).flows] == [0])

# ---- errors ----
expect_error("start on no channel", grpc.StatusCode.NOT_FOUND, ["no channel"], unary, "StartIvr",
             pb.StartIvrRequest(channel=999, flow="small"), pb.Empty)
expect_error("start an unknown flow", grpc.StatusCode.NOT_FOUND, ["nope"], unary, "StartIvr",
             pb.StartIvrRequest(channel=ch.channel, flow="nope"), pb.Empty)
expect_error("start without a flow", grpc.StatusCode.INVALID_ARGUMENT, ["flow"], unary, "StartIvr",
             pb.StartIvrRequest(channel=ch.channel), pb.Empty)
expect_error("start in a language the flow lacks", grpc.StatusCode.INVALID_ARGUMENT, ["language"],
             unary, "StartIvr", pb.StartIvrRequest(channel=ch.channel, flow="small", language="fr"),
             pb.Empty)
expect_error("ani too long", grpc.StatusCode.INVALID_ARGUMENT, ["ani"], unary, "StartIvr",
             pb.StartIvrRequest(channel=ch.channel, flow="small", ani="1" * 40), pb.Empty)
expect_error("answer with no session", grpc.StatusCode.NOT_FOUND, [], unary, "IvrAnswer",
             pb.IvrAnswerRequest(channel=ch.channel, result="ok"), pb.Empty)
unary("StartIvr", pb.StartIvrRequest(channel=ch.channel, flow="small"), pb.Empty)
expect_error("answer when no lookup is pending", grpc.StatusCode.FAILED_PRECONDITION, ["lookup"],
             unary, "IvrAnswer", pb.IvrAnswerRequest(channel=ch.channel, result="ok"), pb.Empty)
expect_error("answer with a bad variable", grpc.StatusCode.INVALID_ARGUMENT, ["vars"], unary,
             "IvrAnswer", pb.IvrAnswerRequest(channel=ch.channel, vars={"x" * 60: "1"}), pb.Empty)
unary("StopIvr", pb.ChannelRef(channel=ch.channel), pb.Empty)
expect_error("stop twice", grpc.StatusCode.NOT_FOUND, [], unary, "StopIvr",
             pb.ChannelRef(channel=ch.channel), pb.Empty)
# Deleting a channel in a session ends the session.
unary("StartIvr", pb.StartIvrRequest(channel=ch.channel, flow="small"), pb.Empty)
c.call("DeleteChannel", channel=ch.channel)
time.sleep(0.1)
check("deleting the channel ends its session", [x.sessions for x in lst(pb.Empty(), timeout=5).flows] == [0])

c.close()
proc.terminate()
try:
    proc.communicate(timeout=10)
except subprocess.TimeoutExpired:
    proc.kill()
check("medleyd exits 0", proc.returncode == 0)
shutil.rmtree(work, ignore_errors=True)
print("api-ivr: %d checks, %d failed" % (CHECKS.checks, CHECKS.fails))
sys.exit(1 if CHECKS.fails else 0)
