"""Every method of the Engine API through a stock gRPC client (python3-grpcio), on the
Unix socket and on TCP with a bearer token, against a real medleyd (net_null port: no
packets needed). Checks the happy paths and, for each method, the errors a client gets
for bad input: real status codes and messages that name the problem.

Usage: /usr/bin/python3 test_api.py MEDLEYD PROTO"""
import math
import os
import re
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
work = tempfile.mkdtemp(prefix="medley-api-")
sock = os.path.join(work, "api.sock")
TOKEN = "s3cret-token-for-tests"
CHECKS = medley_client.Checks()
check = CHECKS.check
expect_error = CHECKS.expect_error


def write_wav(path, seconds, freq=1000, rate=8000, amp=8000):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        n = int(seconds * rate)
        w.writeframes(b"".join(struct.pack("<h", int(amp * math.sin(2 * math.pi * freq * i / rate)))
                               for i in range(n)))


env = dict(os.environ, MEDLEY_API_TOKEN=TOKEN)
proc = subprocess.Popen(
    [medleyd, "--file-prefix=mdapi-%d" % os.getpid(), "-m", "256", "--vdev=net_null0", "--no-pci",
     "--no-telemetry", "-l", "0", "--log-level=error", "--", "--ip4", "10.9.0.2", "--channels", "4",
     "--api-unix", sock, "--api-tcp", "127.0.0.1:0", "--opus-channels", "1"],
    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True,
    preexec_fn=medley_client.die_with_parent)
tcp_port = None
deadline = time.time() + 20
lines = []
while time.time() < deadline:
    line = proc.stdout.readline()
    if not line:
        break
    lines.append(line)
    m = re.search(r"API on tcp \S+ port (\d+)", line)
    if m:
        tcp_port = int(m.group(1))
    if "port 0 up" in line:
        break
if tcp_port is None or not os.path.exists(sock):
    print("FAIL: medleyd did not come up:", "".join(lines))
    proc.kill()
    sys.exit(1)
check("socket file mode 0660", (os.stat(sock).st_mode & 0o777) == 0o660)

c = medley_client.Client("unix:" + sock, pb)
C = pb.Codec

# ---- channels ----
ch1 = c.call("CreateChannel", codec=C.Value("PCMU"), event_payload_type=101, inband_dtmf=True,
             tag="call-1")
check("create: an id", ch1.channel != 0)
check("create: even local port from the base", ch1.local_port >= 20000 and ch1.local_port % 2 == 0)
check("create: local address", ch1.local_address == "10.9.0.2")
check("create: tag", ch1.tag == "call-1")
check("create: learning", not ch1.learnt and ch1.remote_address == "")
check("create: the default jitter depth shows", ch1.stats.jitter_depth_frames == 3)
ch2 = c.call("CreateChannel", codec=C.Value("PCMA"), remote_address="10.9.0.7", remote_port=4000)
check("create with a remote address", ch2.remote_address == "10.9.0.7" and ch2.remote_port == 4000
      and ch2.codec == C.Value("PCMA") and ch2.local_port != ch1.local_port)
g = c.call("GetChannel", channel=ch1.channel)
check("get: same channel", g.channel == ch1.channel and g.local_port == ch1.local_port)
check("get: stats present, nothing received", g.stats.rx_packets == 0)
lst = c.call("ListChannels")
check("list: two channels, max 4", len(lst.channels) == 2 and lst.max_channels == 4)
check("list: the ids", sorted(x.channel for x in lst.channels) == sorted([ch1.channel, ch2.channel]))
st = c.call("GetStats")
check("stats: 2 of 4 channels, 1 worker", st.channels == 2 and st.max_channels == 4 and st.workers == 1)

bad_creates = [
    ("no codec", {}, grpc.StatusCode.INVALID_ARGUMENT, ["codec"]),
    ("opus with the event payload type = the audio's", {"codec": C.Value("OPUS8"),
     "event_payload_type": 96}, grpc.StatusCode.INVALID_ARGUMENT, ["event_payload_type"]),
    ("unknown codec value", {"codec": 77}, grpc.StatusCode.INVALID_ARGUMENT, ["codec"]),
    ("payload type 200", {"codec": 1, "payload_type": 200}, grpc.StatusCode.INVALID_ARGUMENT, ["payload_type", "200"]),
    ("event pt = audio pt", {"codec": 1, "payload_type": 96, "event_payload_type": 96},
     grpc.StatusCode.INVALID_ARGUMENT, ["event_payload_type"]),
    ("bad address", {"codec": 1, "remote_address": "10.1.2", "remote_port": 4000},
     grpc.StatusCode.INVALID_ARGUMENT, ["remote_address", "10.1.2"]),
    ("address without port", {"codec": 1, "remote_address": "10.1.2.3"},
     grpc.StatusCode.INVALID_ARGUMENT, ["remote_port"]),
    ("port without address", {"codec": 1, "remote_port": 4000}, grpc.StatusCode.INVALID_ARGUMENT,
     ["remote_address"]),
    ("port 70000", {"codec": 1, "remote_address": "10.1.2.3", "remote_port": 70000},
     grpc.StatusCode.INVALID_ARGUMENT, ["remote_port"]),
    ("IPv6 peer, engine has no IPv6", {"codec": 1, "remote_address": "2001:db8::1", "remote_port": 4000},
     grpc.StatusCode.INVALID_ARGUMENT, ["ipv6"]),
    ("jitter depth 15", {"codec": 1, "jitter_depth_frames": 15}, grpc.StatusCode.INVALID_ARGUMENT,
     ["jitter_depth_frames"]),
    ("adaptive max below the depth", {"codec": 1, "jitter_depth_frames": 4, "jitter_max_frames": 3},
     grpc.StatusCode.INVALID_ARGUMENT, ["jitter_max_frames"]),
    ("strip without detection", {"codec": 1, "strip_dtmf": True}, grpc.StatusCode.INVALID_ARGUMENT,
     ["strip_dtmf", "inband_dtmf"]),
    ("tag too long", {"codec": 1, "tag": "x" * 64}, grpc.StatusCode.INVALID_ARGUMENT, ["tag"]),
    ("timeout too long", {"codec": 1, "no_media_timeout_ms": 3600001}, grpc.StatusCode.INVALID_ARGUMENT,
     ["no_media_timeout_ms"]),
    ("near a channel that does not exist", {"codec": 1, "near_channel": 12345},
     grpc.StatusCode.NOT_FOUND, ["near_channel"]),
]
for desc, fields, code, words in bad_creates:
    expect_error("create, " + desc, code, words, c.call, "CreateChannel", **fields)
check("refused creates created nothing", c.call("GetStats").channels == 2)
# Opus channels take one of the worker's preallocated codec states (--opus-channels 1).
op = c.call("CreateChannel", codec=C.Value("OPUS8"), inband_dtmf=True)
check("an Opus channel", op.codec == C.Value("OPUS8"))
expect_error("a second Opus channel with one codec state", grpc.StatusCode.RESOURCE_EXHAUSTED,
             ["opus"], c.call, "CreateChannel", codec=C.Value("OPUS16"))
c.call("DeleteChannel", channel=op.channel)
op = c.call("CreateChannel", codec=C.Value("OPUS16"))
check("the codec state is free again after a delete", op.codec == C.Value("OPUS16"))
c.call("DeleteChannel", channel=op.channel)
check("Opus checks leave two channels", c.call("GetStats").channels == 2)

# Admission control: 4 channels, the fifth is refused, the others go on.
ch3 = c.call("CreateChannel", codec=1, near_channel=ch1.channel)
ch4 = c.call("CreateChannel", codec=1)
expect_error("create beyond the limit", grpc.StatusCode.RESOURCE_EXHAUSTED, ["admission"],
             c.call, "CreateChannel", codec=1)
check("existing channels untouched at the limit",
      c.call("GetChannel", channel=ch1.channel).tag == "call-1")
c.call("DeleteChannel", channel=ch4.channel)
expect_error("get a deleted channel", grpc.StatusCode.NOT_FOUND, [str(ch4.channel)],
             c.call, "GetChannel", channel=ch4.channel)
expect_error("delete twice", grpc.StatusCode.NOT_FOUND, [], c.call, "DeleteChannel", channel=ch4.channel)
ch5 = c.call("CreateChannel", codec=1)
check("a freed slot is reused with a new id", ch5.channel != ch4.channel and ch5.local_port == ch4.local_port)
expect_error("the old id does not reach the new call", grpc.StatusCode.NOT_FOUND, [],
             c.call, "GetChannel", channel=ch4.channel)
expect_error("channel 0", grpc.StatusCode.NOT_FOUND, [], c.call, "GetChannel", channel=0)

# ---- prompts ----
good = os.path.join(work, "hello.wav")
write_wav(good, 0.1)
p = c.call("LoadPrompt", name="hello", path=good)
check("load: duration 100 ms", p.name == "hello" and p.duration_ms == 100)
bad = os.path.join(work, "bad.wav")
with open(bad, "wb") as f:
    f.write(b"RIFF\x10\x00\x00\x00WAVEjunk")
expect_error("load a missing file", grpc.StatusCode.NOT_FOUND, ["no/such.wav"], c.call, "LoadPrompt",
             name="x", path=os.path.join(work, "no/such.wav"))
expect_error("load a bad file", grpc.StatusCode.INVALID_ARGUMENT, ["bad.wav"], c.call, "LoadPrompt",
             name="x", path=bad)
fifo = os.path.join(work, "fifo.wav")
os.mkfifo(fifo)
expect_error("load a FIFO (must not block the control thread)", grpc.StatusCode.INVALID_ARGUMENT,
             ["fifo.wav"], c.call, "LoadPrompt", name="x", path=fifo)
expect_error("load a directory", grpc.StatusCode.INVALID_ARGUMENT, [], c.call, "LoadPrompt",
             name="x", path=work)
expect_error("load with a bad name", grpc.StatusCode.INVALID_ARGUMENT, ["name"], c.call, "LoadPrompt",
             name="a b", path=good)
expect_error("load without a path", grpc.StatusCode.INVALID_ARGUMENT, ["path"], c.call, "LoadPrompt",
             name="x", path="")
expect_error("reload from a bad file", grpc.StatusCode.INVALID_ARGUMENT, [], c.call, "LoadPrompt",
             name="hello", path=bad)
names = {x.name: x.duration_ms for x in c.call("ListPrompts").prompts}
check("a failed reload keeps the old prompt", names == {"hello": 100})
long_ = os.path.join(work, "long.wav")
write_wav(long_, 0.5, rate=16000)
c.call("LoadPrompt", name="hello", path=long_)
names = {x.name: x.duration_ms for x in c.call("ListPrompts").prompts}
check("reload replaces (16 kHz file, 500 ms)", names == {"hello": 500})

# ---- play, events ----
events = c.events(timeout=10, channels=[ch1.channel])
c.call("LoadPrompt", name="short", path=good)
item = pb.PlayItem(prompt="short", loops=2, gap_ms=20)
c.call("Play", channel=ch1.channel, items=[item, pb.PlayItem(prompt="short")])
check("playing shows", c.call("GetChannel", channel=ch1.channel).playing)
c.call("Play", channel=ch3.channel, items=[pb.PlayItem(prompt="short")])   # filtered out
got = None
try:
    for ev in events:
        got = ev
        break
except grpc.RpcError as e:
    check("event stream: %s" % e, False)
check("prompt done event for the filtered channel", got is not None and got.type == pb.PROMPT_DONE
      and got.channel == ch1.channel and got.sequence == 1)
events.cancel()
check("not playing after the end", not c.call("GetChannel", channel=ch1.channel).playing)
expect_error("play an unknown prompt", grpc.StatusCode.NOT_FOUND, ["nosuch"], c.call, "Play",
             channel=ch1.channel, items=[pb.PlayItem(prompt="nosuch")])
expect_error("play nothing", grpc.StatusCode.INVALID_ARGUMENT, ["items"], c.call, "Play",
             channel=ch1.channel, items=[])
expect_error("play 9 items", grpc.StatusCode.INVALID_ARGUMENT, ["items"], c.call, "Play",
             channel=ch1.channel, items=[item] * 9)
expect_error("play on no channel", grpc.StatusCode.NOT_FOUND, [], c.call, "Play", channel=999,
             items=[item])
expect_error("overlay gain +20 dB", grpc.StatusCode.INVALID_ARGUMENT, ["gain"], c.call, "Play",
             channel=ch1.channel, items=[item], overlay=True, overlay_gain_db=20)
c.call("Play", channel=ch1.channel, items=[pb.PlayItem(prompt="hello", loops=100)], barge_in=True)
c.call("Play", channel=ch1.channel, items=[pb.PlayItem(prompt="short")], overlay=True,
       overlay_gain_db=-6)
c.call("StopPlay", channel=ch1.channel)
check("stopped", not c.call("GetChannel", channel=ch1.channel).playing)
expect_error("stop on no channel", grpc.StatusCode.NOT_FOUND, [], c.call, "StopPlay", channel=999)
# Reloading a prompt that a channel plays: the old version stays valid for it.
c.call("Play", channel=ch3.channel, items=[pb.PlayItem(prompt="hello", loops=50)])
for i in range(5):
    c.call("LoadPrompt", name="hello", path=good if i % 2 else long_)
check("still playing the old version after reloads", c.call("GetChannel", channel=ch3.channel).playing)
c.call("StopPlay", channel=ch3.channel)

# ---- bridges ----
c.call("Bridge", a=ch1.channel, b=ch3.channel)
check("bridged both ways", c.call("GetChannel", channel=ch1.channel).bridged_to == ch3.channel and
      c.call("GetChannel", channel=ch3.channel).bridged_to == ch1.channel)
expect_error("bridge to itself", grpc.StatusCode.INVALID_ARGUMENT, ["same"], c.call, "Bridge",
             a=ch1.channel, b=ch1.channel)
expect_error("bridge a bridged channel elsewhere", grpc.StatusCode.FAILED_PRECONDITION, ["unbridge"],
             c.call, "Bridge", a=ch1.channel, b=ch2.channel)
expect_error("bridge to no channel", grpc.StatusCode.NOT_FOUND, [], c.call, "Bridge", a=ch1.channel, b=999)
c.call("Unbridge", channel=ch3.channel)
check("unbridged both ways", c.call("GetChannel", channel=ch1.channel).bridged_to == 0)
c.call("Bridge", a=ch1.channel, b=ch2.channel)
c.call("DeleteChannel", channel=ch2.channel)
check("deleting a bridged channel unbridges its peer",
      c.call("GetChannel", channel=ch1.channel).bridged_to == 0)
expect_error("unbridge no channel", grpc.StatusCode.NOT_FOUND, [], c.call, "Unbridge", channel=999)

# ---- no media: a channel whose caller never sends RTP times out too ----
quiet = c.call("CreateChannel", codec=1, no_media_timeout_ms=300)
nm = c.events(timeout=5, channels=[quiet.channel], types=[pb.NO_MEDIA])
got = None
try:
    for ev in nm:
        got = ev
        break
except grpc.RpcError as e:
    check("no-media stream: %s" % e.details(), False)
check("NO_MEDIA for a channel that never received anything",
      got is not None and got.type == pb.NO_MEDIA and got.channel == quiet.channel)
nm.cancel()
c.call("DeleteChannel", channel=quiet.channel)


# ---- protocol-level errors ----
expect_error("unknown method", grpc.StatusCode.UNIMPLEMENTED, ["NoSuch"], c.raw,
             "/medley.v1.Engine/NoSuch", b"")
expect_error("garbage request", grpc.StatusCode.INVALID_ARGUMENT, ["valid"], c.raw,
             "/medley.v1.Engine/GetChannel", b"\xff\xff\xff\xff")
expect_error("oversized request", grpc.StatusCode.RESOURCE_EXHAUSTED, ["larger"], c.raw,
             "/medley.v1.Engine/GetChannel", b"\x0a" + b"\x00" * (2 << 20))
check("still serving after the bad requests", c.call("GetStats").channels == 3)

# ---- TCP and the token ----
target = "127.0.0.1:%d" % tcp_port
for desc, tok in (("no token", None), ("wrong token", "nope"), ("token prefix", TOKEN[:-1]),
                  ("token plus", TOKEN + "x")):
    t = medley_client.Client(target, pb, token=tok)
    expect_error("tcp, " + desc, grpc.StatusCode.UNAUTHENTICATED, ["token"], t.call, "GetStats")
    t.close()
t = medley_client.Client(target, pb, token=TOKEN)
check("tcp with the token", t.call("GetStats").channels == 3)
check("tcp sees the same channels", len(t.call("ListChannels").channels) == 3)
t.close()

# Many clients at once, then all gone: the engine still answers.
many = [medley_client.Client("unix:" + sock, pb) for _ in range(20)]
check("20 clients", all(m.call("GetStats").channels == 3 for m in many))
for m in many:
    m.close()
check("after 20 clients left", c.call("GetStats").channels == 3)
c.close()

proc.terminate()
try:
    out, _ = proc.communicate(timeout=10)
except subprocess.TimeoutExpired:
    proc.kill()
    out = ""
check("medleyd exits 0 on SIGTERM", proc.returncode == 0)
check("socket file removed at exit", not os.path.exists(sock))
print("api: %d checks, %d failed" % (CHECKS.checks, CHECKS.fails))
sys.exit(1 if CHECKS.fails else 0)
