"""End-to-end calls over a kernel interface: medleyd on a net_tap port, driven through the
gRPC API (Debian's python3-grpcio), with simulated callers (tools/medley_caller.py)
sending and receiving real RTP through the Linux network stack (the kernel finds medleyd
by ARP, which medleyd answers).

  1. playback: a caller sends RTP first (the channel learns it), Play [1000 Hz prompt,
     600 Hz prompt]; the caller must HEAR 1000 Hz for the first prompt's length (+-40
     ms) then 600 Hz for the second's, and StreamEvents must give PROMPT_DONE. What
     medleyd sent is checked against RFC 3550: version 2, payload type 0, consecutive
     sequence numbers, timestamps +160, one SSRC, 20 ms pacing (median 18-22 ms); after
     a pause, a second Play: the timestamp has advanced with the clock (RFC 3550 5.1),
     the sequence number by one, and the marker bit opens each talkspurt (RFC 3551 4.1).
  2. digits: the caller keys "159#" in-band and "*0" as RFC 4733 events; the DIGIT
     events are exactly those, in order, with those sources, and their start_ms are on
     the engine's clock (as far apart as they were keyed, within medleyd's uptime; also
     for a digit whose end packets are lost and for channels created later).
  3. a bridge between two callers: A's 700 Hz is heard by B and B's 1100 Hz by A; with
     strip_dtmf on A's channel, A's in-band digits are reported but B hears no DTMF
     (no block with both a row and a column tone above -30 dBm0), while B's digits
     (B does not strip) do reach A (the leak check would see them).

Needs root and /dev/net/tun (exit 77 = skipped otherwise).
Usage: /usr/bin/python3 test_tap_call.py MEDLEYD PROTO"""
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import medley_caller as mc  # noqa: E402


def can_run():
    """None if a tap test can run here, else why not."""
    if os.geteuid() != 0:
        return "needs root"
    if not os.path.exists("/dev/net/tun"):
        return "needs /dev/net/tun"
    if shutil.which("ip") is None:
        return "needs ip (iproute2)"
    return None


class Checks:
    def __init__(self, name):
        self.name = name
        self.fails = 0
        self.n = 0

    def __call__(self, desc, ok, detail=""):
        self.n += 1
        if not ok:
            self.fails += 1
            print("FAIL:", desc, detail)
        else:
            print("ok:", desc)
        sys.stdout.flush()
        return ok

    def done(self):
        print("%s: %d checks, %d failed" % (self.name, self.n, self.fails))
        return 1 if self.fails else 0

    def rpc_error(self, desc, code, fn, words=()):
        """A check that fn() fails with gRPC status code and details holding every one of
        words (case-insensitive)."""
        import grpc
        try:
            fn()
            return self(desc, False, "succeeded, expected %s" % code.name)
        except grpc.RpcError as e:
            ok = e.code() == code and all(w.lower() in (e.details() or "").lower() for w in words)
            return self("%s: %s %r" % (desc, e.code().name, e.details()), ok)


def real_time_priority():
    """Media is paced in real time by both sides (medleyd's 20 ms tick, the callers'
    clock): a higher priority (nice -10, inherited by medleyd) keeps concurrent builds on
    this machine from starving them. Root only; otherwise left as it is."""
    try:
        os.nice(-10)
    except OSError:
        pass


def write_tone_wav(path, freq, ms, dbm0=-10.0, rate=8000):
    """A PCM16 mono WAV of one sine."""
    x = mc.tones([freq], ms, dbm0)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack("<%dh" % len(x), *x))


class TapEngine:
    """medleyd on a net_tap interface of its own (a unique name and /24), the kernel side
    at .1, medleyd at .2, its API on a Unix socket, its stdout drained by a thread, and a
    subscriber thread collecting every event."""

    def __init__(self, medleyd, proto, tag="mdc", channels=8, lcores=None, extra=()):
        import medley_client
        self.mcl = medley_client
        self.pb = medley_client.load_messages(proto)
        pid = os.getpid()
        self.work = tempfile.mkdtemp(prefix="medley-%s-" % tag)
        self.iface = "%s%d" % (tag, pid % 100000)
        self.net = "10.%d.%d" % ((pid // 256) % 200 + 20, pid % 256)
        self.local = self.net + ".1"
        self.engine = self.net + ".2"
        self.sock = os.path.join(self.work, "api.sock")
        self.out = []
        self.events = []
        self.ev_lock = threading.Lock()
        # The last CPU we may use: the other tests' medleyd instances poll on lcore 0.
        lcore = max(os.sched_getaffinity(0))
        self.t_start = time.monotonic()
        self.proc = subprocess.Popen(
            [medleyd, "--file-prefix=%s-%d" % (tag, pid), "-m", "256",
             "--vdev=net_tap0,iface=" + self.iface, "--no-pci", "--no-telemetry"] +
            (["--lcores=" + lcores] if lcores else ["-l", str(lcore)]) +
            ["--log-level=error", "--", "--ip4", self.engine, "--channels", str(channels),
             "--api-unix", self.sock] + list(extra),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            preexec_fn=medley_client.die_with_parent)
        up = threading.Event()

        def drain():
            for line in self.proc.stdout:
                self.out.append(line)
                if "port 0 up" in line:
                    up.set()
            up.set()
        threading.Thread(target=drain, daemon=True).start()
        if not up.wait(20) or self.proc.poll() is not None or not os.path.exists(self.sock):
            self.stop()
            raise RuntimeError("medleyd did not come up:\n" + "".join(self.out))
        subprocess.run(["ip", "link", "set", self.iface, "up"], check=True)
        subprocess.run(["ip", "addr", "add", self.local + "/24", "dev", self.iface], check=True)
        self.c = medley_client.Client("unix:" + self.sock, self.pb)
        self.stream = self.c.events()
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self):
        try:
            for ev in self.stream:
                with self.ev_lock:
                    self.events.append(ev)
        except Exception:   # cancelled at the end
            pass

    def call(self, method, **kw):
        return self.c.call(method, **kw)

    def rpc(self, ch, method, req, resp=None, timeout=5):
        """One unary call of the Engine service on the grpc channel ch: the request message
        req, the reply parsed as resp (Empty when not given)."""
        resp = resp or self.pb.Empty
        return ch.unary_unary("/medley.v1.Engine/" + method,
                              request_serializer=lambda m: m.SerializeToString(),
                              response_deserializer=resp.FromString)(req, timeout=timeout)

    def unary(self, method, req, resp=None, timeout=5):
        """rpc() on the engine's own client connection."""
        return self.rpc(self.c.channel, method, req, resp, timeout)

    def raw(self, method, payload):
        """A unary call with the request given as bytes, the reply returned as bytes."""
        return self.c.channel.unary_unary("/medley.v1.Engine/" + method,
                                          request_serializer=lambda b: b,
                                          response_deserializer=lambda b: b)(payload, timeout=5)

    def connection(self):
        """A client with a connection of its own (grpcio shares one between channels to
        the same target unless told otherwise), connected when returned."""
        import grpc
        ch = grpc.insecure_channel("unix:" + self.sock,
                                   options=[("grpc.use_local_subchannel_pool", 1)])
        self.rpc(ch, "GetStats", self.pb.Empty(), self.pb.EngineStats)
        return ch

    def event_mark(self):
        with self.ev_lock:
            return len(self.events)

    def events_since(self, mark, channel=None, type_=None):
        with self.ev_lock:
            evs = self.events[mark:]
        return [e for e in evs if (channel is None or e.channel == channel) and
                (type_ is None or e.type == type_)]

    def wait_events(self, mark, n, timeout=5.0, **kw):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            evs = self.events_since(mark, **kw)
            if len(evs) >= n:
                return evs
            time.sleep(0.01)
        return self.events_since(mark, **kw)

    def acd_events(self, mark, name):
        """The ACD events since mark whose acd field is name."""
        return [e for e in self.events_since(mark, type_=self.pb.ACD) if e.acd == name]

    def wait_learnt(self, channel, timeout=5.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.call("GetChannel", channel=channel).learnt:
                return True
            time.sleep(0.02)
        return False

    def stop(self):
        """Stops medleyd (SIGTERM); returns its exit status."""
        if getattr(self, "stream", None) is not None:
            self.stream.cancel()
        if getattr(self, "c", None) is not None:
            self.c.close()
        rc = None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                rc = self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
        else:
            rc = self.proc.returncode
        subprocess.run(["ip", "link", "del", self.iface], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.work, ignore_errors=True)
        return rc


def main_segments(pcm, candidates):
    """The tone segments of at least 20 ms (short 'audio' blocks at a switch between two
    tones and silence left out)."""
    return [s for s in mc.segments(pcm, candidates) if s.label not in ("silence", "audio")
            and s.ms >= 20]


def describe(segs):
    return ", ".join("%s %.0f ms at %.0f" % (s.label, s.ms, s.start_ms) for s in segs)


def check_rtp_stream(ck, what, pkts, engine_addr, port, pt):
    """RFC 3550 sanity of what medleyd sent."""
    ck(what + ": packets received", len(pkts) >= 10, "(%d)" % len(pkts))
    if len(pkts) < 10:
        return
    ck(what + ": RTP version 2 everywhere", all(p.version == 2 for p in pkts))
    ck(what + ": no padding, no extension", all(not p.padding and not p.extension for p in pkts))
    ck(what + ": payload type %d" % pt, all(p.pt == pt for p in pkts),
       str(sorted(set(p.pt for p in pkts))))
    ck(what + ": 160-byte payloads", all(len(p.payload) == 160 for p in pkts))
    ck(what + ": one SSRC", len(set(p.ssrc for p in pkts)) == 1)
    bad_seq = [(a.seq, b.seq) for a, b in zip(pkts, pkts[1:]) if (b.seq - a.seq) & 0xFFFF != 1]
    ck(what + ": consecutive sequence numbers", not bad_seq, str(bad_seq[:5]))
    bad_ts = [(a.ts, b.ts) for a, b in zip(pkts, pkts[1:]) if (b.ts - a.ts) & 0xFFFFFFFF != 160]
    ck(what + ": timestamps +160 per packet", not bad_ts, str(bad_ts[:5]))
    gaps = [(b.time - a.time) * 1000 for a, b in zip(pkts, pkts[1:])]
    med = statistics.median(gaps)
    ck(what + ": 20 ms pacing (median interval %.2f ms)" % med, 18 <= med <= 22)
    ck(what + ": from the channel's address and port",
       all(p.src == (engine_addr, port) for p in pkts), str(set(p.src for p in pkts)))


def check_digit_times(ck, what, eng, pairs, tol_ms):
    """Event times are on the engine's clock (ms since medleyd started, the API says): no
    later than medleyd has been up, and as far apart as the caller keyed them (pairs of
    (event, mark) from the caller's marks; tol_ms for the jitter buffer's delay of
    in-band against RFC 4733, which is timed on arrival)."""
    up_ms = (time.monotonic() - eng.t_start) * 1000
    ck(what + ": start_ms within medleyd's uptime (%.0f ms)" % up_ms,
       all(e.start_ms <= up_ms for e, _ in pairs), str([e.start_ms for e, _ in pairs]))
    e0, m0 = pairs[0]
    errs = [round((e.start_ms - e0.start_ms) - (m[1] - m0[1]) * 1000) for e, m in pairs]
    ck(what + ": start_ms as far apart as the digits were keyed (+- %d ms)" % tol_ms,
       all(abs(x) <= tol_ms for x in errs),
       "errors %s ms; start_ms %s" % (errs, [e.start_ms for e, _ in pairs]))


def test_play_and_digits(ck, eng, pool, pb):
    p1 = os.path.join(eng.work, "tone1000.wav")
    p2 = os.path.join(eng.work, "tone600.wav")
    write_tone_wav(p1, 1000, 500)
    write_tone_wav(p2, 600, 300)
    r1 = eng.call("LoadPrompt", name="tone1000", path=p1)
    r2 = eng.call("LoadPrompt", name="tone600", path=p2)
    ck("prompts loaded (500 ms, 300 ms)", r1.duration_ms == 500 and r2.duration_ms == 300)

    ch = eng.call("CreateChannel", codec=pb.PCMU, event_payload_type=101, inband_dtmf=True,
                  tag="tap-call-1")
    caller = pool.add(mc.RtpEndpoint(eng.local, name="caller"))
    caller.connect(ch.local_address, ch.local_port)
    ck("the channel learns the caller from its RTP",
       eng.wait_learnt(ch.channel))
    g = eng.call("GetChannel", channel=ch.channel)
    ck("learnt address and port are the caller's",
       (g.remote_address, g.remote_port) == caller.local, "%s:%d" % (g.remote_address, g.remote_port))
    ck("nothing sent back before anything plays", caller.mark() == 0)

    # ---- playback ----
    mark = caller.mark()
    ev0 = eng.event_mark()
    eng.call("Play", channel=ch.channel, items=[pb.PlayItem(prompt="tone1000"),
                                                pb.PlayItem(prompt="tone600")], barge_in=False)
    done = eng.wait_events(ev0, 1, timeout=5, channel=ch.channel, type_=pb.PROMPT_DONE)
    ck("PROMPT_DONE on StreamEvents", len(done) == 1 and done[0].digit == "",
       str(done))
    time.sleep(0.3)   # the last packets on their way
    pkts = caller.packets(mark)
    pcm = caller.heard_pcm(mark)
    segs = main_segments(pcm, [600, 1000])
    ck("heard 40 packets (800 ms)", len(pkts) == 40, "(%d)" % len(pkts))
    ck("heard 1000 Hz then 600 Hz", [s.label for s in segs] == [1000, 600], describe(segs))
    if [s.label for s in segs] == [1000, 600]:
        ck("1000 Hz for 500 +- 40 ms", abs(segs[0].ms - 500) <= 40, describe(segs))
        ck("600 Hz for 300 +- 40 ms", abs(segs[1].ms - 300) <= 40, describe(segs))
        ck("600 Hz right after 1000 Hz (<= 10 ms between)",
           segs[1].start - (segs[0].start + segs[0].length) <= 80, describe(segs))
    lvl = mc.rms_dbm0(statistics.median(mc.frame_rms(pcm)))
    ck("heard at the prompt's level (-10 dBm0 +- 1 dB: %.2f)" % lvl, abs(lvl + 10) <= 1)
    check_rtp_stream(ck, "RFC 3550", pkts, eng.engine, ch.local_port, 0)
    ck("not playing after PROMPT_DONE", not eng.call("GetChannel", channel=ch.channel).playing)

    # ---- a second talkspurt after a pause: RFC 3550's timestamp follows the sampling
    # clock through the silence, the sequence number does not; RFC 3551's marker bit
    # opens each talkspurt ----
    time.sleep(0.5)
    mark2 = caller.mark()
    ev0 = eng.event_mark()
    eng.call("Play", channel=ch.channel, items=[pb.PlayItem(prompt="tone600")])
    eng.wait_events(ev0, 1, timeout=5, channel=ch.channel, type_=pb.PROMPT_DONE)
    time.sleep(0.3)
    pk2 = caller.packets(mark2)
    check_rtp_stream(ck, "second talkspurt", pk2, eng.engine, ch.local_port, 0)
    if pkts and pk2:
        last, first = pkts[-1], pk2[0]
        gap_ms = (first.time - last.time) * 1000
        dts_ms = ((first.ts - last.ts) & 0xFFFFFFFF) / 8
        ck("same SSRC, next sequence number after the pause",
           first.ssrc == last.ssrc and (first.seq - last.seq) & 0xFFFF == 1)
        ck("timestamp advanced through the pause (%.0f ms on the clock, %.0f ms by "
           "timestamp)" % (gap_ms, dts_ms), abs(dts_ms - gap_ms) <= 60)
        ck("marker bit on the first packet of each talkspurt only",
           [p.marker for p in pkts + pk2] == [1] + [0] * (len(pkts) - 1) + [1] + [0] * (len(pk2) - 1),
           "markers at %s" % [i for i, p in enumerate(pkts + pk2) if p.marker])

    # ---- digits: in-band then RFC 4733 ----
    ev0 = eng.event_mark()
    caller.send_silence(100)
    caller.key_inband("159#", dbm0=-10, on_ms=80, off_ms=80)
    caller.send_silence(100)
    caller.key_rfc4733("*0", pt=101, duration_ms=100, gap_ms=100)
    caller.send_silence(100)
    ck("digits sent in real time", caller.wait_idle(10))
    digs = eng.wait_events(ev0, 6, timeout=3, channel=ch.channel, type_=pb.DIGIT)
    time.sleep(0.5)   # anything extra would show up now
    digs = eng.events_since(ev0, channel=ch.channel, type_=pb.DIGIT)
    got = [(e.digit, pb.DigitSource.Name(e.source)) for e in digs]
    want = [("1", "INBAND"), ("5", "INBAND"), ("9", "INBAND"), ("#", "INBAND"),
            ("*", "RFC4733"), ("0", "RFC4733")]
    ck("digits 159# in-band then *0 RFC 4733, exactly", got == want, str(got))
    if got == want:
        ck("in-band durations about 80 ms", all(50 <= e.duration_ms <= 110 for e in digs[:4]),
           str([e.duration_ms for e in digs[:4]]))
        ck("RFC 4733 durations 100 ms", all(e.duration_ms == 100 for e in digs[4:]),
           str([e.duration_ms for e in digs[4:]]))
        ck("start times in order", all(a.start_ms < b.start_ms for a, b in zip(digs, digs[1:])),
           str([e.start_ms for e in digs]))
        marks = [m for m in caller.marks if m[0].startswith(("inband:", "rfc4733:"))]
        ck("the caller marked the six digits", [m[0] for m in marks] ==
           ["inband:1", "inband:5", "inband:9", "inband:#", "rfc4733:*", "rfc4733:0"])
        check_digit_times(ck, "digits", eng, list(zip(digs, marks)), 100)
        ref = (digs[0], marks[0])
    else:
        ref = None
    # An event whose end packets are all lost: one digit after the engine's 300 ms timeout,
    # its start on the engine clock too.
    ev1 = eng.event_mark()
    caller.key_rfc4733("4", pt=101, duration_ms=100, gap_ms=0, end_packets=0)
    caller.send_silence(100)
    caller.wait_idle(5)
    time.sleep(0.6)
    late = eng.events_since(ev1, channel=ch.channel, type_=pb.DIGIT)
    ck("an event without its end packets gives one digit",
       [(e.digit, pb.DigitSource.Name(e.source)) for e in late] == [("4", "RFC4733")],
       str(late))
    if got == want and len(late) == 1:
        check_digit_times(ck, "a digit ended by the timeout", eng,
                          [(digs[0], marks[0]), (late[0], caller.marks[-1])], 100)
    st = eng.call("GetChannel", channel=ch.channel).stats
    ck("channel stats: 3 RFC 4733 digits, nothing dropped",
       st.digits_rfc4733 == 3 and st.wrong_source == 0 and st.bad_rtp == 0 and st.wrong_pt == 0,
       str(st).replace("\n", " "))
    pool.remove(caller)
    caller.close()
    eng.call("DeleteChannel", channel=ch.channel)
    return ref


def test_bridge(ck, eng, pool, pb, ref):
    a_ch = eng.call("CreateChannel", codec=pb.PCMU, event_payload_type=101, inband_dtmf=True,
                    strip_dtmf=True, tag="A")
    b_ch = eng.call("CreateChannel", codec=pb.PCMU, event_payload_type=101, inband_dtmf=True,
                    near_channel=a_ch.channel, tag="B")
    a = pool.add(mc.RtpEndpoint(eng.local, name="A"))
    b = pool.add(mc.RtpEndpoint(eng.local, name="B"))
    a.connect(a_ch.local_address, a_ch.local_port)
    b.connect(b_ch.local_address, b_ch.local_port)
    ck("both channels learn their callers",
       eng.wait_learnt(a_ch.channel) and eng.wait_learnt(b_ch.channel))
    eng.call("Bridge", a=a_ch.channel, b=b_ch.channel)

    # ---- audio both ways ----
    time.sleep(0.2)
    ma, mb = a.mark(), b.mark()
    a.send_tone(700, 1000, dbm0=-10)
    b.send_tone(1100, 1000, dbm0=-10)
    a.wait_idle(5)
    b.wait_idle(5)
    time.sleep(0.4)   # jitter buffers (60 ms) and A's strip delay line (60 ms)
    heard_b = main_segments(b.heard_pcm(mb), [700, 1100])
    heard_a = main_segments(a.heard_pcm(ma), [700, 1100])
    ck("B hears A's 700 Hz (1000 +- 40 ms) and nothing else",
       [s.label for s in heard_b] == [700] and abs(heard_b[0].ms - 1000) <= 40, describe(heard_b))
    ck("A hears B's 1100 Hz (1000 +- 40 ms) and nothing else",
       [s.label for s in heard_a] == [1100] and abs(heard_a[0].ms - 1000) <= 40, describe(heard_a))
    check_rtp_stream(ck, "RFC 3550 on the bridge to B", b.packets(mb), eng.engine,
                     b_ch.local_port, 0)

    # ---- A strips its DTMF: detected, not heard by B ----
    ev0 = eng.event_mark()
    mb = b.mark()
    a.send_tone(700, 300, dbm0=-10)
    a.send_silence(100)
    a.key_inband("2580", dbm0=-10, on_ms=80, off_ms=80)
    a.send_silence(100)
    a.send_tone(700, 300, dbm0=-10)
    a.wait_idle(10)
    time.sleep(0.4)
    digs = eng.events_since(ev0, type_=pb.DIGIT)
    got = [(e.channel, e.digit, pb.DigitSource.Name(e.source)) for e in digs]
    ck("A's digits 2580 detected in-band on A's channel",
       got == [(a_ch.channel, d, "INBAND") for d in "2580"], str(got))
    if ref is not None and len(digs) == 4:
        # Channels made seconds later share the clock of the first channel's digits.
        check_digit_times(ck, "A's digits against the first call's", eng,
                          [ref] + list(zip(digs, [m for m in a.marks if m[0].startswith("inband:")])),
                          60)
    pcm_b = b.heard_pcm(mb)
    segs = main_segments(pcm_b, [700])
    ck("B hears A's 700 Hz before and after the digits (the bridge is live)",
       [s.label for s in segs] == [700, 700] and all(abs(s.ms - 300) <= 40 for s in segs),
       describe(segs))
    leaks = mc.dtmf_blocks(pcm_b, block=160, hop=40, threshold_dbm0=-30)
    ck("B hears no DTMF (no block with a row and a column tone above -30 dBm0)", not leaks,
       str(leaks[:5]))
    loud = [r for r in mc.frame_rms(pcm_b) if mc.rms_dbm0(r) > -45]
    ck("B hears only the two 700 Hz tones (%d loud frames, about 30 expected)" % len(loud),
       26 <= len(loud) <= 34)

    # ---- B does not strip: its digits reach A (the leak check sees DTMF when there) ----
    ev0 = eng.event_mark()
    ma = a.mark()
    b.key_inband("37", dbm0=-10, on_ms=80, off_ms=80)
    b.send_silence(100)
    b.wait_idle(10)
    time.sleep(0.4)
    digs = eng.events_since(ev0, type_=pb.DIGIT)
    got = [(e.channel, e.digit, pb.DigitSource.Name(e.source)) for e in digs]
    ck("B's digits 37 detected in-band on B's channel",
       got == [(b_ch.channel, d, "INBAND") for d in "37"], str(got))
    pcm_a = a.heard_pcm(ma)
    blocks = mc.dtmf_blocks(pcm_a, block=160, hop=40, threshold_dbm0=-30)
    keys = []
    for i, r, c, _, _ in blocks:
        d = mc.DTMF_KEYS[mc.DTMF_ROWS.index(r)][mc.DTMF_COLS.index(c)]
        if not keys or keys[-1] != d:
            keys.append(d)
    ck("A hears B's DTMF 3 then 7 (control for the leak check)", keys == ["3", "7"], str(keys))

    eng.call("Unbridge", channel=a_ch.channel)
    for ep in (a, b):
        pool.remove(ep)
        ep.close()
    eng.call("DeleteChannel", channel=a_ch.channel)
    eng.call("DeleteChannel", channel=b_ch.channel)



# Shared by the ACD tap tests (tap-acd, tap-acd-ops, tap-acd-consult).

def level(ep, since, f):
    pcm = ep.heard_pcm(since=since)[-3200:]
    if len(pcm) < 1600:
        return -99.0
    return mc.rms_dbm0(mc.goertzel_amplitude(pcm, f) / 2 ** 0.5)


class Feeder:
    """Keeps a tone going on endpoints in short chunks, so digits queued on one go out
    within half a second (an endpoint sends what is queued, in order)."""

    def __init__(self):
        self.tones = {}
        self.stop = threading.Event()
        threading.Thread(target=self.run, daemon=True).start()

    def add(self, ep, freq):
        self.tones[ep] = freq

    def run(self):
        while not self.stop.is_set():
            for ep, freq in list(self.tones.items()):
                if ep.idle():
                    ep.send_tone(freq, 400, dbm0=-12)
            time.sleep(0.05)


def main():
    why = can_run()
    if why:
        print(why + ": skipped")
        return 77
    medleyd, proto = sys.argv[1], sys.argv[2]
    real_time_priority()
    ck = Checks("tap-call")
    eng = TapEngine(medleyd, proto, tag="mdc")
    pool = mc.CallerPool().start()
    try:
        ref = test_play_and_digits(ck, eng, pool, eng.pb)
        test_bridge(ck, eng, pool, eng.pb, ref)
        ck("the callers' clock kept up (%d late ticks)" % pool.late_ticks, pool.late_ticks == 0)
    finally:
        pool.stop()
        rc = eng.stop()
    ck("medleyd exits 0 on SIGTERM", rc == 0, "(%s)" % rc)
    if ck.fails:
        print("medleyd said:\n" + "".join(l for l in eng.out if "tap_" not in l))
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
