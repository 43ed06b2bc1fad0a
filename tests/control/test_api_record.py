"""Recording through the API against a real medleyd (net_null: no RTP comes in, so what a
channel "received" is silence and what it "sent" is the prompt played to it): a stereo
PCM16 file whose right channel holds the prompt's 1000 Hz and whose left is silent, a
mono A-law file, pause/resume, the RECORDING_ENDED event with its counters, refused
paths (escapes, existing files, missing directories), a channel deleted while
recording, and files left valid and complete when medleyd stops on SIGTERM.

Usage: /usr/bin/python3 test_api_record.py MEDLEYD PROTO"""
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
work = tempfile.mkdtemp(prefix="medley-rec-")
recdir = os.path.join(work, "rec")
os.makedirs(os.path.join(recdir, "calls"))
sock = os.path.join(work, "api.sock")
CHECKS = medley_client.Checks()
check = CHECKS.check
expect_error = CHECKS.expect_error


def goertzel(x, f, rate=8000):
    w = 2 * math.pi * f / rate
    c = 2 * math.cos(w)
    s1 = s2 = 0.0
    for v in x:
        s0 = v + c * s1 - s2
        s2, s1 = s1, s0
    return math.sqrt(max(0.0, s1 * s1 + s2 * s2 - c * s1 * s2)) * 2 / len(x)


def start_medleyd(extra):
    p = subprocess.Popen(
        [medleyd, "--file-prefix=mdrec-%d-%d" % (os.getpid(), len(extra)), "-m", "256",
         "--vdev=net_null0", "--no-pci", "--no-telemetry", "-l", "0", "--log-level=error", "--",
         "--ip4", "10.9.0.2", "--channels", "8", "--api-unix", sock] + extra,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=medley_client.die_with_parent)
    for _ in range(200):
        if os.path.exists(sock) or p.poll() is not None:
            break
        time.sleep(0.05)
    return p


def stop_medleyd(p):
    p.terminate()
    try:
        p.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
    return p.returncode


# A 1000 Hz prompt, 400 ms.
prompt = os.path.join(work, "tone.wav")
with wave.open(prompt, "wb") as w:
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(8000)
    w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 1000 * i / 8000)))
                           for i in range(3200)))

# ---- without --record-dir: refused ----
md = start_medleyd([])
c = medley_client.Client("unix:" + sock, pb)
ch = c.call("CreateChannel", codec=1)
rec = c.channel.unary_unary("/medley.v1.Engine/StartRecording",
                            request_serializer=lambda m: m.SerializeToString(),
                            response_deserializer=pb.Recording.FromString)
expect_error("recording off", grpc.StatusCode.FAILED_PRECONDITION, ["record-dir"], rec,
             pb.RecordRequest(channel=ch.channel, path="a.wav"), timeout=5)
c.close()
check("medleyd without recording exits 0", stop_medleyd(md) == 0)


def unary(method, req):
    return c.channel.unary_unary("/medley.v1.Engine/" + method,
                                 request_serializer=lambda m: m.SerializeToString(),
                                 response_deserializer=pb.Empty.FromString)(req, timeout=5)


# ---- with a recordings directory ----
md = start_medleyd(["--record-dir", recdir])
c = medley_client.Client("unix:" + sock, pb)
rec = c.channel.unary_unary("/medley.v1.Engine/StartRecording",
                            request_serializer=lambda m: m.SerializeToString(),
                            response_deserializer=pb.Recording.FromString)
c.call("LoadPrompt", name="tone", path=prompt)
a = c.call("CreateChannel", codec=1)
b = c.call("CreateChannel", codec=1)
events = c.events(timeout=20, types=[pb.RECORDING_ENDED])

r = rec(pb.RecordRequest(channel=a.channel, path="calls/a.wav", format=pb.PCM16, stereo=True), timeout=5)
check("start: path and format", r.path == "calls/a.wav" and r.stereo and r.format == pb.PCM16)
g = c.call("GetChannel", channel=a.channel)
check("GetChannel shows the recording", g.HasField("recording") and g.recording.path == "calls/a.wav")
expect_error("record twice", grpc.StatusCode.FAILED_PRECONDITION, ["already"], rec,
             pb.RecordRequest(channel=a.channel, path="calls/a2.wav"), timeout=5)
for desc, path, code in (("escape with ..", "../x.wav", grpc.StatusCode.PERMISSION_DENIED),
                         ("absolute path", "/tmp/x.wav", grpc.StatusCode.PERMISSION_DENIED),
                         ("existing file", "calls/a.wav", grpc.StatusCode.ALREADY_EXISTS),
                         ("missing directory", "nodir/x.wav", grpc.StatusCode.NOT_FOUND),
                         ("no path", "", grpc.StatusCode.INVALID_ARGUMENT)):
    expect_error("record to " + desc, code, [], rec, pb.RecordRequest(channel=b.channel, path=path),
                 timeout=5)
os.symlink("/tmp", os.path.join(recdir, "out"))
expect_error("record through a symlink out of the directory", grpc.StatusCode.PERMISSION_DENIED, [],
             rec, pb.RecordRequest(channel=b.channel, path="out/x.wav"), timeout=5)
expect_error("record on no channel", grpc.StatusCode.NOT_FOUND, [], rec,
             pb.RecordRequest(channel=999, path="z.wav"), timeout=5)
expect_error("stop a channel that does not record", grpc.StatusCode.NOT_FOUND, ["not recording"],
             unary, "StopRecording", pb.ChannelRef(channel=b.channel))

time.sleep(0.3)
c.call("Play", channel=a.channel, items=[pb.PlayItem(prompt="tone")])
time.sleep(0.8)
unary("PauseRecording", pb.ChannelRef(channel=a.channel))
check("paused shows", c.call("GetChannel", channel=a.channel).recording.paused)
time.sleep(0.4)
unary("ResumeRecording", pb.ChannelRef(channel=a.channel))
time.sleep(0.3)
unary("StopRecording", pb.ChannelRef(channel=a.channel))
check("not recording after stop", not c.call("GetChannel", channel=a.channel).HasField("recording"))
ended = None
for ev in events:
    ended = ev
    break
check("RECORDING_ENDED for the channel", ended is not None and ended.channel == a.channel and
      ended.reason == "stopped" and ended.recording.path == "calls/a.wav")
check("frames written and paused counted, none dropped",
      ended.recording.frames_written >= 40 and ended.recording.frames_paused >= 10 and
      ended.recording.frames_dropped == 0)
with wave.open(os.path.join(recdir, "calls", "a.wav")) as w:
    check("stereo 8 kHz PCM16", w.getnchannels() == 2 and w.getframerate() == 8000 and w.getsampwidth() == 2)
    n = w.getnframes()
    data = w.readframes(n)
check("the file holds what was written", n == ended.recording.frames_written * 160)
samples = struct.unpack("<%dh" % (2 * n), data)
left, right = samples[0::2], samples[1::2]
check("left (received: nothing came in) is silent", max(abs(v) for v in left) == 0)
loud = [i for i in range(0, n - 160, 160) if goertzel(right[i:i + 160], 1000) > 3000]
check("right (sent) holds the 1000 Hz prompt, 400 ms of it: %d frames" % len(loud), 19 <= len(loud) <= 21)
check("right is silent but for the prompt", all(goertzel(right[i:i + 160], 1000) < 100 or i in loud
                                                 for i in range(0, n - 160, 160)))

# Mono A-law, then the channel deleted while it records: the file is finished.
rec(pb.RecordRequest(channel=b.channel, path="calls/b.wav", format=pb.ALAW), timeout=5)
c.call("Play", channel=b.channel, items=[pb.PlayItem(prompt="tone")])
time.sleep(0.7)
c.call("DeleteChannel", channel=b.channel)
ended = None
for ev in events:
    ended = ev
    break
check("deleting a recording channel ends its recording", ended is not None and ended.channel == b.channel)
chans = subprocess.run(["sox", "--i", "-c", os.path.join(recdir, "calls", "b.wav")],
                       capture_output=True, text=True).stdout.strip()
check("mono A-law file: sox reads one channel (%r)" % chans, chans == "1")
info = subprocess.run(["sox", "--i", "-e", os.path.join(recdir, "calls", "b.wav")],
                      capture_output=True, text=True).stdout.lower()
check("A-law per sox: %r" % info.strip(), "a-law" in info)

# SIGTERM while recording: the file is flushed, closed and complete.
cch = c.call("CreateChannel", codec=1)
rec(pb.RecordRequest(channel=cch.channel, path="calls/c.wav", format=pb.ULAW), timeout=5)
time.sleep(1.0)
events.cancel()
c.close()
check("medleyd exits 0 with a recording running", stop_medleyd(md) == 0)
secs = float(subprocess.run(["sox", "--i", "-D", os.path.join(recdir, "calls", "c.wav")],
                            capture_output=True, text=True).stdout or 0)
check("the file recorded until SIGTERM is valid and about 1 s long (%.2f s)" % secs, 0.8 <= secs <= 3.0)

shutil.rmtree(work, ignore_errors=True)
print("api-record: %d checks, %d failed" % (CHECKS.checks, CHECKS.fails))
sys.exit(1 if CHECKS.fails else 0)
