"""A stuck event subscriber never stalls the engine (issue 5): a raw HTTP/2 client
subscribes to StreamEvents with a stream window of 0 bytes and then reads nothing, while
another (well-behaved, python3-grpcio) subscriber and the API go on. The stuck
subscriber's bounded queue (medleyd --api-event-queue) overflows: its events are dropped
and counted. When it finally opens its window, it gets the events that fit, an
EVENTS_LOST notice with the count, and delivered + lost equals what the good subscriber
saw; sequence numbers count the lost ones too.

Usage: /usr/bin/python3 test_api_slow_subscriber.py MEDLEYD PROTO"""
import math
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import wave

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import medley_client  # noqa: E402

medleyd, proto = sys.argv[1], sys.argv[2]
pb = medley_client.load_messages(proto)
work = tempfile.mkdtemp(prefix="medley-slow-")
sock = os.path.join(work, "api.sock")
fails = checks = 0


def check(desc, ok):
    global fails, checks
    checks += 1
    if not ok:
        fails += 1
        print("FAIL:", desc)
    else:
        print("ok:", desc)


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


def hpack_literal(name, value):
    """A literal header field without indexing, new name, no Huffman (RFC 7541 6.2.2)."""
    n, v = name.encode(), value.encode()
    assert len(n) < 127 and len(v) < 127
    return b"\x00" + bytes([len(n)]) + n + bytes([len(v)]) + v


def read_frames(s, want_bytes_timeout):
    """Reads frames until nothing comes for a while; returns (type, flags, stream, payload)."""
    s.settimeout(want_bytes_timeout)
    buf = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except socket.timeout:
        pass
    frames = []
    while len(buf) >= 9:
        ln = int.from_bytes(buf[:3], "big")
        if len(buf) < 9 + ln:
            break
        frames.append((buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF, buf[9:9 + ln]))
        buf = buf[9 + ln:]
    return frames


with wave.open(os.path.join(work, "blip.wav"), "wb") as w:
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(8000)
    w.writeframes(b"".join(struct.pack("<h", int(4000 * math.sin(i / 3))) for i in range(160)))

proc = subprocess.Popen(
    [medleyd, "--file-prefix=mdslow-%d" % os.getpid(), "-m", "256", "--vdev=net_null0", "--no-pci",
     "--no-telemetry", "-l", "0", "--log-level=error", "--", "--ip4", "10.9.0.2", "--channels", "8",
     "--api-unix", sock, "--api-event-queue", "1024"],
    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    preexec_fn=medley_client.die_with_parent)
for _ in range(200):
    if os.path.exists(sock):
        break
    time.sleep(0.05)
c = medley_client.Client("unix:" + sock, pb)
try:
    # The stuck subscriber: stream window 0 (SETTINGS_INITIAL_WINDOW_SIZE), then silence.
    raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    raw.connect(sock)
    raw.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, struct.pack(">HI", 4, 0)))
    got = read_frames(raw, 0.5)
    check("the server speaks first (SETTINGS)", any(f[0] == 4 and not f[1] & 1 for f in got))
    headers = b"".join(hpack_literal(k, v) for k, v in (
        (":method", "POST"), (":scheme", "http"), (":path", "/medley.v1.Engine/StreamEvents"),
        (":authority", "localhost"), ("content-type", "application/grpc"), ("te", "trailers")))
    raw.sendall(frame(4, 1, 0) + frame(1, 4, 1, headers) + frame(0, 1, 1, b"\x00\x00\x00\x00\x00"))
    time.sleep(0.3)
    check("the stuck subscriber counts as a subscriber", c.call("GetStats").subscribers == 1)

    # A good subscriber, and events: short prompts played on 8 channels.
    good = []
    stream = c.events()

    def collect():
        try:
            for ev in stream:
                good.append(ev)
        except grpc.RpcError:
            pass
    threading.Thread(target=collect, daemon=True).start()
    c.call("LoadPrompt", name="blip", path=os.path.join(work, "blip.wav"))
    chans = [c.call("CreateChannel", codec=1).channel for _ in range(8)]
    t0 = time.time()
    plays = 0
    for r in range(25):
        for ch in chans:
            c.call("Play", channel=ch, items=[pb.PlayItem(prompt="blip")])
            plays += 1
        time.sleep(0.04)
    time.sleep(0.3)
    elapsed = time.time() - t0
    check("the API went on while a subscriber was stuck (%d plays in %.1f s)" % (plays, elapsed),
          elapsed < 10)
    check("the good subscriber got every PROMPT_DONE (%d of %d)" % (len(good), plays),
          sum(1 for e in good if e.type == pb.PROMPT_DONE) == plays)
    check("its sequence numbers have no gap", [e.sequence for e in good] == list(range(1, len(good) + 1)))

    # The stuck one opens its windows and reads.
    raw.sendall(frame(8, 0, 0, struct.pack(">I", 1 << 20)) + frame(8, 0, 1, struct.pack(">I", 1 << 20)))
    frames = read_frames(raw, 1.0)
    data = b"".join(f[3] for f in frames if f[0] == 0 and f[2] == 1)
    evs = []
    while len(data) >= 5:
        n = int.from_bytes(data[1:5], "big")
        evs.append(pb.Event.FromString(data[5:5 + n]))
        data = data[5 + n:]
    lost_notices = [e for e in evs if e.type == pb.EVENTS_LOST]
    delivered = [e for e in evs if e.type == pb.PROMPT_DONE]
    lost = sum(e.lost for e in lost_notices)
    check("the stuck subscriber's queue overflowed: %d delivered, %d lost" % (len(delivered), lost),
          lost > 0 and len(delivered) < plays)
    check("an EVENTS_LOST notice says how many", len(lost_notices) >= 1)
    check("delivered + lost = every event (%d + %d = %d)" % (len(delivered), lost, plays),
          len(delivered) + lost == plays)
    check("the last sequence number counts the lost ones too",
          max(e.sequence for e in evs) == plays)
    raw.close()
    time.sleep(0.2)
    check("the stuck subscriber is gone when it disconnects", c.call("GetStats").subscribers == 1)
    stream.cancel()
finally:
    c.close()
    proc.terminate()
    try:
        proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
check("medleyd exits 0", proc.returncode == 0)
print("api-slow-subscriber: %d checks, %d failed" % (checks, fails))
sys.exit(1 if fails else 0)
