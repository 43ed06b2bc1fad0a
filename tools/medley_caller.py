"""medley_caller: simulated callers for tests and the demo (pure Python 3.11 standard
library; run with /usr/bin/python3, no numpy).

An RtpEndpoint is one caller's RTP side: a UDP socket on the kernel side of the
engine's interface (e.g. the net_tap interface), sending G.711 (PCMU or PCMA) RTP in
20 ms packets paced in real time to a channel's local_port, and keeping everything it
receives (RTP header fields, arrival time, audio decoded to linear). A CallerPool runs
any number of endpoints in one background thread (selectors): every 20 ms each endpoint
sends one packet, and datagrams are read as they arrive.

    pool = CallerPool()
    a = pool.add(RtpEndpoint("10.77.0.1", name="A"))     # bound, not sending yet
    a.connect("10.77.0.2", channel.local_port)           # starts sending (silence)
    pool.start()
    a.send_tone(700, 1000, dbm0=-10)                      # queue 1 s of 700 Hz
    a.key_inband("159#", dbm0=-10, on_ms=80, off_ms=80)  # queue DTMF tones
    a.key_rfc4733("*0", pt=101, duration_ms=100)         # queue RFC 4733 events
    a.wait_idle(10)                                       # until the queue has gone out
    mark = a.mark()                                       # an index into what was heard
    ...
    pcm = a.heard_pcm(since=mark)                         # list of int16 samples
    for seg in segments(pcm, candidates=[600, 1000]): print(seg)
    pool.stop()

What goes out, tick by tick (one RTP packet per 20 ms, sequence +1 per packet,
timestamp +160 per tick whether or not audio went out, one random SSRC):
  - queued audio (send_audio, send_tone, key_inband, silence), 160 samples a packet,
    encoded with audioop (lin2ulaw / lin2alaw);
  - when the queue is empty, the background: digital silence by default, or comfort
    noise at noise_dbm0 (white noise, seeded);
  - RFC 4733 telephone-events (key_rfc4733), by the book: the first packet of an event
    has the marker bit, updates follow every 20 ms with the same timestamp (the
    event's start) and a growing duration, the final packet has the E bit and is sent
    three times (each with its own sequence number, at the update interval); no audio
    goes out during the event; audio resumes with the timestamp the clock has reached.
  - nothing while paused (pause()/resume(); the clock goes on, as with silence
    suppression).
Items queued with a label (every in-band digit is 'inband:D', every RFC 4733 event
'rfc4733:D') leave (label, time.monotonic(), RTP timestamp) in ep.marks when their first
sample or packet goes out: what a test compares the engine's event times with.

Levels follow medley's convention (dsp/tone.h): a full-scale sine is +3.14 dBm0, so a
tone at L dBm0 has amplitude 32767 * 10^((L - 3.14) / 20).

Analysis helpers (module functions, on lists of int16 samples at 8 kHz):
  frame_rms(pcm, frame)               RMS per frame
  rms_dbm0(rms)                       an RMS value in dBm0 (sine convention above)
  goertzel_amplitude(x, f)            amplitude of the f Hz component of a block
  dominant_frequency(x, candidates)   (frequency, share of the block's power) of the best
                                      candidate
  segments(pcm, candidates, ...)      'silence' / a candidate frequency / 'audio'
                                      segments with start and length in samples and ms
  dtmf_blocks(pcm, ...)               blocks in which a DTMF row AND a column tone are
                                      present (a leak check)
  dtmf_digit(x)                       the DTMF digit whose two tones dominate a block, or None

Everything an endpoint heard is in ep.received (RxPacket tuples: arrival time, source,
version, padding, extension, marker, pt, seq, ts, ssrc, payload, pcm); heard_pcm() joins
the audio in arrival order, filling lost sequence numbers with silence. Thread-safety:
queueing calls and the readers may be called from any thread while the pool runs.
"""
import array
import collections
import math
import random
import selectors
import socket
import struct
import threading
import time
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # deprecated in 3.11 (removed in 3.13) but present in Debian 12's 3.11

RATE = 8000
FRAME = 160          # samples per 20 ms packet
PTIME = 0.020
DTMF_ROWS = (697, 770, 852, 941)
DTMF_COLS = (1209, 1336, 1477, 1633)
DTMF_KEYS = ("123A", "456B", "789C", "*0#D")
EVENT_CODES = {d: i for i, d in enumerate("0123456789*#ABCD")}
CODECS = {"PCMU": 0, "PCMA": 8}

RxPacket = collections.namedtuple(
    "RxPacket", "time src version padding extension marker pt seq ts ssrc payload pcm")


# ---- signal generation ----

def dbm0_to_amplitude(dbm0):
    """Peak amplitude (int16 scale) of a sine at this level (full-scale = +3.14 dBm0)."""
    return 32767.0 * 10.0 ** ((dbm0 - 3.14) / 20.0)


def rms_dbm0(rms):
    """An RMS value (int16 scale) in dBm0; -100 for silence."""
    if rms <= 0:
        return -100.0
    return 20.0 * math.log10(rms * math.sqrt(2.0) / 32767.0) + 3.14


def tones(freqs, ms, dbm0=-10.0, phase=0.0):
    """ms milliseconds of the sum of sines at freqs, each at dbm0; a list of int16."""
    n = int(round(ms * RATE / 1000.0))
    amp = dbm0_to_amplitude(dbm0)
    ws = [2.0 * math.pi * f / RATE for f in freqs]
    out = []
    for i in range(n):
        v = sum(amp * math.sin(w * i + phase) for w in ws)
        out.append(max(-32768, min(32767, int(round(v)))))
    return out


def dtmf_pair(digit):
    """(row Hz, column Hz) of a DTMF digit."""
    d = digit.upper()
    for r, keys in enumerate(DTMF_KEYS):
        c = keys.find(d)
        if c >= 0:
            return DTMF_ROWS[r], DTMF_COLS[c]
    raise ValueError("not a DTMF digit: %r" % digit)


def dtmf_samples(digits, dbm0=-10.0, on_ms=80, off_ms=80, twist_db=0.0):
    """In-band DTMF: each digit's two tones (low at dbm0, high at dbm0 + twist_db) for
    on_ms, then off_ms of silence."""
    out = []
    for d in digits:
        lo, hi = dtmf_pair(d)
        a = tones([lo], on_ms, dbm0)
        b = tones([hi], on_ms, dbm0 + twist_db)
        out += [max(-32768, min(32767, x + y)) for x, y in zip(a, b)]
        out += [0] * int(round(off_ms * RATE / 1000.0))
    return out


def encode(pcm, codec="PCMU"):
    """int16 samples to G.711 bytes."""
    raw = array.array("h", pcm).tobytes()
    return audioop.lin2ulaw(raw, 2) if codec == "PCMU" else audioop.lin2alaw(raw, 2)


def decode(payload, codec="PCMU"):
    """G.711 bytes to a list of int16 samples."""
    raw = audioop.ulaw2lin(payload, 2) if codec == "PCMU" else audioop.alaw2lin(payload, 2)
    return array.array("h", raw).tolist()


# ---- analysis ----

def frame_rms(pcm, frame=FRAME):
    """RMS of each whole frame of `frame` samples."""
    out = []
    for i in range(0, len(pcm) - frame + 1, frame):
        blk = pcm[i:i + frame]
        out.append(math.sqrt(sum(x * x for x in blk) / frame))
    return out


def goertzel_amplitude(x, freq, rate=RATE):
    """Estimated amplitude of the freq component of block x (Goertzel, rectangular
    window): a sine of amplitude A at a bin centre gives A."""
    n = len(x)
    if n == 0:
        return 0.0
    w = 2.0 * math.pi * freq / rate
    coef = 2.0 * math.cos(w)
    s1 = s2 = 0.0
    for v in x:
        s0 = v + coef * s1 - s2
        s2 = s1
        s1 = s0
    power = s1 * s1 + s2 * s2 - coef * s1 * s2
    return 2.0 * math.sqrt(max(power, 0.0)) / n


def dominant_frequency(x, candidates, rate=RATE):
    """(frequency, share) of the candidate carrying most power in block x; share is that
    tone's power (A^2/2) over the block's mean square (1.0 for a pure tone)."""
    ms = sum(v * v for v in x) / max(len(x), 1)
    if ms == 0:
        return None, 0.0
    best, best_a = None, -1.0
    for f in candidates:
        a = goertzel_amplitude(x, f, rate)
        if a > best_a:
            best, best_a = f, a
    return best, min(1.0, best_a * best_a / 2.0 / ms)


class Segment(collections.namedtuple("Segment", "label start length")):
    """label: 'silence', a candidate frequency (int) or 'audio'; start and length in
    samples."""
    @property
    def start_ms(self):
        return self.start * 1000.0 / RATE

    @property
    def ms(self):
        return self.length * 1000.0 / RATE


def classify(x, candidates, silence_dbm0=-45.0, min_share=0.6):
    """'silence', the dominant candidate frequency, or 'audio' for one block."""
    rms = math.sqrt(sum(v * v for v in x) / max(len(x), 1))
    if rms_dbm0(rms) < silence_dbm0:
        return "silence"
    f, share = dominant_frequency(x, candidates)
    return f if share >= min_share else "audio"


def segments(pcm, candidates, block=40, silence_dbm0=-45.0, min_share=0.6):
    """Splits pcm into runs of blocks of the same class (see classify). block=40 samples
    resolves boundaries to 5 ms but a 40-sample Goertzel only tells apart candidates at
    least 200 Hz apart (e.g. 600 and 1000 Hz); use longer blocks for closer ones."""
    out = []
    for i in range(0, len(pcm) - block + 1, block):
        lab = classify(pcm[i:i + block], candidates, silence_dbm0, min_share)
        if out and out[-1].label == lab:
            out[-1] = out[-1]._replace(length=out[-1].length + block)
        else:
            out.append(Segment(lab, i, block))
    return out


def dtmf_blocks(pcm, block=160, hop=80, threshold_dbm0=-30.0):
    """Blocks (start sample, row Hz, column Hz, row dBm0, column dBm0) in which some DTMF
    row tone AND some column tone are each above threshold_dbm0: where DTMF is heard."""
    out = []
    for i in range(0, len(pcm) - block + 1, hop):
        x = pcm[i:i + block]
        rows = [(rms_dbm0(goertzel_amplitude(x, f) / math.sqrt(2)), f) for f in DTMF_ROWS]
        cols = [(rms_dbm0(goertzel_amplitude(x, f) / math.sqrt(2)), f) for f in DTMF_COLS]
        r, c = max(rows), max(cols)
        if r[0] > threshold_dbm0 and c[0] > threshold_dbm0:
            out.append((i, r[1], c[1], r[0], c[0]))
    return out


def dtmf_digit(x, min_share=0.8):
    """The DTMF digit whose row and column tones together carry at least min_share of
    block x's power, else None."""
    ms = sum(v * v for v in x) / max(len(x), 1)
    if ms == 0:
        return None
    r = max(DTMF_ROWS, key=lambda f: goertzel_amplitude(x, f))
    c = max(DTMF_COLS, key=lambda f: goertzel_amplitude(x, f))
    p = (goertzel_amplitude(x, r) ** 2 + goertzel_amplitude(x, c) ** 2) / 2.0
    if p / ms < min_share:
        return None
    return DTMF_KEYS[DTMF_ROWS.index(r)][DTMF_COLS.index(c)]


# ---- RTP ----

def parse_rtp(data):
    """(version, padding, extension, marker, pt, seq, ts, ssrc, payload) or None."""
    if len(data) < 12:
        return None
    b0, b1, seq, ts, ssrc = struct.unpack("!BBHII", data[:12])
    version, padding, ext, cc = b0 >> 6, (b0 >> 5) & 1, (b0 >> 4) & 1, b0 & 15
    off = 12 + 4 * cc
    if ext:
        if len(data) < off + 4:
            return None
        off += 4 + 4 * struct.unpack("!H", data[off + 2:off + 4])[0]
    end = len(data)
    if padding and end > off:
        end -= data[-1]
    if off > end:
        return None
    return version, padding, ext, b1 >> 7, b1 & 127, seq, ts, ssrc, bytes(data[off:end])


class _Audio:
    def __init__(self, pcm, label=None):
        self.pcm = pcm
        self.pos = 0
        self.label = label


class _Event:
    def __init__(self, code, duration_ms, volume, label=None, end_packets=3):
        self.code = code
        self.label = label
        self.total = max(FRAME, int(duration_ms * RATE / 1000))
        self.volume = volume
        self.ts = None        # the event's timestamp, set at its first packet
        self.dur = 0
        self.ends_left = end_packets


class RtpEndpoint:
    """One simulated caller's RTP endpoint (see the module's docstring)."""

    def __init__(self, bind_addr, bind_port=0, codec="PCMU", pt=None, name=None,
                 noise_dbm0=None, ssrc=None, seed=None):
        if codec not in CODECS:
            raise ValueError("codec must be PCMU or PCMA")
        self.codec = codec
        self.pt = CODECS[codec] if pt is None else pt
        self.name = name or "caller"
        fam = socket.AF_INET6 if ":" in bind_addr else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((bind_addr, bind_port))
        self.sock.setblocking(False)
        self.local = self.sock.getsockname()[:2]
        self.rng = random.Random(seed)
        self.ssrc = self.rng.getrandbits(32) if ssrc is None else ssrc
        self.seq = self.rng.getrandbits(16)
        self.ts = self.rng.getrandbits(32)
        self.noise_dbm0 = noise_dbm0
        self.remote = None
        self.paused = False
        self.lock = threading.Lock()
        self.queue = collections.deque()
        self.received = []
        self.sent = []        # (time, seq, ts, pt, marker, kind) of every packet sent
        self.marks = []       # (label, time, RTP timestamp) when a labelled item began
        self.send_errors = 0

    # -- control --
    def connect(self, addr, port):
        """Where to send: the channel's local address and port. Sending starts at the next
        tick of the pool."""
        self.remote = (addr, port)

    def pause(self):
        self.paused = True

    def resume(self):
        self.paused = False

    def close(self):
        self.sock.close()

    # -- what to send --
    def send_audio(self, pcm, label=None):
        """Queues int16 samples (8 kHz) to send after what is queued. With a label, the
        time and RTP timestamp of its first sample's packet go into self.marks."""
        with self.lock:
            self.queue.append(_Audio(list(pcm), label))

    def send_silence(self, ms):
        self.send_audio([0] * int(ms * RATE / 1000))

    def send_tone(self, freq, ms, dbm0=-10.0, label=None):
        self.send_audio(tones([freq], ms, dbm0), label)

    def key_inband(self, digits, dbm0=-10.0, on_ms=80, off_ms=80, twist_db=0.0):
        """Queues DTMF digits as tones in the audio (each tone at dbm0); each digit's
        start is marked with the label 'inband:D'."""
        for d in digits:
            self.send_audio(dtmf_samples(d, dbm0, on_ms, off_ms, twist_db), "inband:" + d)

    def key_rfc4733(self, digits, pt=101, duration_ms=100, gap_ms=100, volume=10, end_packets=3):
        """Queues digits as RFC 4733 telephone-events (payload type pt), each lasting
        duration_ms, with gap_ms of audio background between them; each event's first
        packet is marked with the label 'rfc4733:D'. end_packets: how many times the
        final packet (E bit) goes out, 3 by the book; 0 plays an end lost on the way."""
        with self.lock:
            self.event_pt = pt
            for d in digits:
                self.queue.append(_Event(EVENT_CODES[d.upper()], duration_ms, volume,
                                         "rfc4733:" + d, end_packets))
                if gap_ms:
                    self.queue.append(_Audio([0] * int(gap_ms * RATE / 1000)))

    def idle(self):
        with self.lock:
            return not self.queue

    def wait_idle(self, timeout=30.0):
        """Waits until everything queued has been sent; True if it has."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.idle():
                return True
            time.sleep(0.005)
        return False

    # -- the pool's side --
    def _background(self):
        if self.noise_dbm0 is None:
            return [0] * FRAME
        sd = dbm0_to_amplitude(self.noise_dbm0) / math.sqrt(2)
        return [max(-32768, min(32767, int(self.rng.gauss(0, sd)))) for _ in range(FRAME)]

    def _next(self, now):
        """(payload, pt, marker, kind, ts) of this tick's packet."""
        with self.lock:
            q = self.queue
            if q and isinstance(q[0], _Event):
                e = q[0]
                if e.ts is None:
                    e.ts = self.ts
                    if e.label is not None:
                        self.marks.append((e.label, now, e.ts))
                marker = e.dur == 0
                end = 0
                if e.dur < e.total:
                    e.dur = min(e.dur + FRAME, e.total)
                    if e.dur >= e.total and e.ends_left == 0:
                        q.popleft()   # end packets 'lost': the last update, no E bit
                    elif e.dur >= e.total:
                        end = 1
                        e.ends_left -= 1
                        if e.ends_left == 0:
                            q.popleft()
                else:
                    end = 1           # the end packet again
                    e.ends_left -= 1
                    if e.ends_left == 0:
                        q.popleft()
                # event, E|R|volume, duration (RFC 4733 section 2.3)
                body = struct.pack("!BBH", e.code, (end << 7) | (e.volume & 63), min(e.dur, 65535))
                return body, self.event_pt, int(marker), "event", e.ts
            pcm = []
            while q and len(pcm) < FRAME and isinstance(q[0], _Audio):
                a = q[0]
                if a.pos == 0 and a.label is not None:
                    self.marks.append((a.label, now + len(pcm) / RATE,
                                       (self.ts + len(pcm)) & 0xFFFFFFFF))
                take = a.pcm[a.pos:a.pos + FRAME - len(pcm)]
                pcm += take
                a.pos += len(take)
                if a.pos >= len(a.pcm):
                    q.popleft()
        if len(pcm) < FRAME:
            pcm += self._background()[:FRAME - len(pcm)]
        return encode(pcm, self.codec), self.pt, 0, "audio", self.ts

    def tick(self, now=None):
        """Sends this 20 ms tick's packet (called by the pool, or by your own loop)."""
        if self.remote is None or self.paused:
            self.ts = (self.ts + FRAME) & 0xFFFFFFFF
            return
        if now is None:
            now = time.monotonic()
        body, pt, marker, kind, ts = self._next(now)
        hdr = struct.pack("!BBHII", 0x80, (marker << 7) | pt, self.seq, ts, self.ssrc)
        # Network loss, simulated: every drop_every-th packet is never sent (its sequence
        # number is used up, so the receiver sees a gap).
        lost = getattr(self, "drop_every", 0) and self.seq % self.drop_every == 0
        try:
            if not lost:
                self.sock.sendto(hdr + body, self.remote)
        except (BlockingIOError, OSError):
            self.send_errors += 1   # e.g. no ARP answer yet: counted, the clock goes on
        self.sent.append((now, self.seq, ts, pt, marker, kind))
        self.seq = (self.seq + 1) & 0xFFFF
        self.ts = (self.ts + FRAME) & 0xFFFFFFFF

    def poll(self):
        """Reads every datagram waiting on the socket."""
        while True:
            try:
                data, src = self.sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            t = time.monotonic()
            r = parse_rtp(data)
            if r is None:
                continue
            version, padding, ext, marker, pt, seq, ts, ssrc, payload = r
            pcm = decode(payload, self.codec) if pt == self.pt else None
            with self.lock:
                self.received.append(RxPacket(t, src[:2], version, padding, ext, marker, pt, seq,
                                              ts, ssrc, payload, pcm))

    # -- what was heard --
    def mark(self):
        """An index into received: pass it as `since` to look only at what comes after."""
        with self.lock:
            return len(self.received)

    def packets(self, since=0):
        with self.lock:
            return self.received[since:]

    def heard_pcm(self, since=0, fill_gaps=True):
        """The audio received since the mark, in arrival order, as int16 samples; lost
        sequence numbers (gaps up to 50 packets in one SSRC) filled with silence."""
        out = []
        prev = None
        for p in self.packets(since):
            if p.pcm is None:
                continue
            if fill_gaps and prev is not None and p.ssrc == prev.ssrc:
                gap = (p.seq - prev.seq - 1) & 0xFFFF
                if 0 < gap <= 50:
                    out += [0] * (FRAME * gap)
            out += p.pcm
            prev = p
        return out

    def wait_heard(self, n_packets, since=0, timeout=10.0):
        """Waits until n_packets have arrived since the mark; True if they have."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if len(self.packets(since)) >= n_packets:
                return True
            time.sleep(0.01)
        return False


class CallerPool:
    """Runs endpoints in one thread: a tick every 20 ms on an absolute schedule (no
    drift; after a stall of more than 100 ms it skips ahead instead of bursting), and
    reading whenever a socket is readable."""

    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.endpoints = []
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self.late_ticks = 0

    def add(self, ep):
        with self.lock:
            self.endpoints.append(ep)
            self.sel.register(ep.sock, selectors.EVENT_READ, ep)
        return ep

    def remove(self, ep):
        with self.lock:
            self.endpoints.remove(ep)
            self.sel.unregister(ep.sock)

    def start(self):
        self._thread = threading.Thread(target=self._run, name="medley-callers", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        for ep in list(self.endpoints):
            self.remove(ep)
            ep.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _run(self):
        nxt = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= nxt:
                with self.lock:
                    eps = list(self.endpoints)
                for ep in eps:
                    ep.tick(now)
                nxt += PTIME
                if now - nxt > 0.1:
                    self.late_ticks += 1
                    nxt = now + PTIME
            wait = max(0.0, nxt - time.monotonic())
            for key, _ in self.sel.select(wait):
                try:
                    key.data.poll()
                except OSError:
                    pass
