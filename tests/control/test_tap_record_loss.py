"""Stereo recordings stay aligned in time when packets are lost (issue 4): a caller
bridged to an agent over net_tap, the caller's stream losing every 7th packet on the
way; the caller's channel is recorded in stereo (caller left, agent right). Both parties
start a tone burst at the same instant, twice; in the file the bursts on the left and on
the right start at the same place (within 40 ms), the file is as long as the time
recorded, and the lost frames are concealed, not skipped.

Needs root and /dev/net/tun (exit 77 otherwise).
Usage: /usr/bin/python3 test_tap_record_loss.py MEDLEYD PROTO"""
import os
import shutil
import struct
import sys
import tempfile
import time
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import medley_caller as mc  # noqa: E402
import test_tap_call as tc  # noqa: E402


def onsets(x, freq, thr=2000):
    """Sample positions where a burst of freq starts (20 ms resolution)."""
    out = []
    on = False
    for i in range(0, len(x) - 160, 160):
        a = mc.goertzel_amplitude(x[i:i + 160], freq) > thr
        if a and not on:
            out.append(i)
        on = a
    return out


def main():
    why = tc.can_run()
    if why is not None:
        print("skipped:", why)
        return 77
    tc.real_time_priority()
    ck = tc.Checks("tap-record-loss")
    recdir = tempfile.mkdtemp(prefix="medley-recloss-")
    eng = tc.TapEngine(sys.argv[1], sys.argv[2], tag="mdl", channels=8, extra=["--record-dir", recdir])
    pb = eng.pb
    pool = mc.CallerPool()
    try:
        a = eng.call("CreateChannel", codec=pb.PCMU)
        b = eng.call("CreateChannel", codec=pb.PCMU, near_channel=a.channel)
        ea = pool.add(mc.RtpEndpoint(eng.local, name="caller"))
        eb = pool.add(mc.RtpEndpoint(eng.local, name="agent"))
        ea.connect(eng.engine, a.local_port)
        eb.connect(eng.engine, b.local_port)
        pool.start()
        ck("both learnt", eng.wait_learnt(a.channel) and eng.wait_learnt(b.channel))
        eng.call("Bridge", a=a.channel, b=b.channel)
        ea.drop_every = 7
        rec = eng.c.channel.unary_unary("/medley.v1.Engine/StartRecording",
                                        request_serializer=lambda m: m.SerializeToString(),
                                        response_deserializer=pb.Recording.FromString)
        rec(pb.RecordRequest(channel=a.channel, path="call.wav", stereo=True), timeout=5)
        t0 = time.monotonic()
        for _ in range(2):   # two bursts, queued at the same instant on both sides
            time.sleep(0.7)
            ea.send_tone(700, 400, dbm0=-10)
            eb.send_tone(1100, 400, dbm0=-10)
        time.sleep(1.0)
        stop = eng.c.channel.unary_unary("/medley.v1.Engine/StopRecording",
                                         request_serializer=lambda m: m.SerializeToString(),
                                         response_deserializer=pb.Empty.FromString)
        stop(pb.ChannelRef(channel=a.channel), timeout=5)
        secs = time.monotonic() - t0
        time.sleep(0.8)
        st = eng.call("GetChannel", channel=a.channel).stats
        ck("the caller's stream lost packets (%d concealed)" % st.concealed, st.concealed >= 10)
        with wave.open(os.path.join(recdir, "call.wav")) as w:
            n = w.getnframes()
            x = struct.unpack("<%dh" % (2 * n), w.readframes(n))
        left, right = list(x[0::2]), list(x[1::2])
        ck("the file lasts as long as the recording (%.2f s of %.2f s)" % (n / 8000, secs),
           abs(n / 8000 - secs) < 0.3)
        la, rb = onsets(left, 700), onsets(right, 1100)
        ck("two bursts on each side: left %s, right %s" % (la, rb), len(la) == 2 and len(rb) == 2)
        if len(la) == 2 and len(rb) == 2:
            skew = [abs(p - q) / 8 for p, q in zip(la, rb)]
            ck("left and right aligned within 40 ms despite the loss: %s ms" % skew, max(skew) <= 40)
    finally:
        pool.stop()
        rc = eng.stop()
        shutil.rmtree(recdir, ignore_errors=True)
    ck("medleyd exits 0", rc == 0)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
