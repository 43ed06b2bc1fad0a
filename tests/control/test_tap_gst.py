"""An end-to-end call with a real RTP program nobody here wrote: GStreamer's gst-launch-1.0
sends PCMU RTP carrying the DTMF digits 1357 (made by medley-dsp dial) to a medleyd
channel over net_tap, and in the SAME pipeline, on the SAME UDP port, receives what
medleyd sends back and writes it to a WAV. The channel learns GStreamer's address and
port from its first packet and sends there, so one port must do both, as a phone's does.

How GStreamer 1.22 shares the port (tried on this machine):
  - udpsink bind-port=P (no bind-address: it binds 0.0.0.0:P) sends from P;
  - udpsrc address=<kernel-side address> port=P binds the more specific address:P. Both
    set SO_REUSEADDR/SO_REUSEPORT (GLib's g_socket_bind with allow_reuse), but sockets on
    different bound addresses are not one reuseport group, and the kernel gives a
    unicast datagram to the socket with the most specific match: udpsrc gets every
    packet. (Both on the same address would share a reuseport group and the kernel
    would hash the flow to either socket: not reliable.)
  - udpsink async=false: with a live udpsrc in the pipeline, an async udpsink sent the
    first 13 packets at once and then stalled.
  - gst-launch-1.0 -e and SIGINT at the end: EOS through the pipeline, so wavenc
    finishes the WAV header.

Checks: the digits come as DIGIT events, exactly 1357, in-band, in order; the prompt
played through the API while GStreamer sends (1000 Hz, 500 ms) is what the received WAV
holds (1000 Hz for 500 +- 40 ms, nothing else loud); the channel counted every packet
GStreamer sent and dropped none.

Needs root, /dev/net/tun and gst-launch-1.0 with the good/base plugins (exit 77 = skipped).
Usage: /usr/bin/python3 test_tap_gst.py MEDLEYD PROTO MEDLEY_DSP"""
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_tap_call as tc  # noqa: E402
mc = tc.mc


def read_wav(path):
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError("%s: not 16-bit mono" % path)
        raw = w.readframes(w.getnframes())
        return w.getframerate(), list(struct.unpack("<%dh" % (len(raw) // 2), raw))


def write_wav(path, pcm, rate=8000):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack("<%dh" % len(pcm), *pcm))


def main():
    why = tc.can_run()
    if why is None and shutil.which("gst-launch-1.0") is None:
        why = "needs gst-launch-1.0 (gstreamer1.0-tools)"
    if why is None:
        missing = [e for e in ("udpsrc", "udpsink", "rtppcmupay", "rtppcmudepay", "mulawenc",
                               "mulawdec", "wavparse", "wavenc")
                   if subprocess.run(["gst-inspect-1.0", "--exists", e]).returncode != 0]
        if missing:
            why = "needs GStreamer elements " + " ".join(missing)
    if why:
        print(why + ": skipped")
        return 77
    medleyd, proto, dsp = sys.argv[1], sys.argv[2], sys.argv[3]
    tc.real_time_priority()
    ck = tc.Checks("tap-gst")
    eng = tc.TapEngine(medleyd, proto, tag="mdg")
    pb = eng.pb
    gst = None
    try:
        # The caller's audio: 400 ms of silence (the channel learns the peer), DTMF 1357
        # from medley-dsp, then silence while the prompt comes back: 3.2 s in all.
        dial = os.path.join(eng.work, "dial.wav")
        subprocess.run([dsp, "dial", "1357", dial, "--level", "-10", "--on", "100", "--off",
                        "100"], check=True)
        rate, tones = read_wav(dial)
        ck("medley-dsp dial: 8 kHz, 800 ms", rate == 8000 and len(tones) == 6400)
        send = [0] * 3200 + tones + [0] * (25600 - 3200 - len(tones))
        caller_wav = os.path.join(eng.work, "caller.wav")
        write_wav(caller_wav, send)
        prompt = os.path.join(eng.work, "tone1000.wav")
        tc.write_tone_wav(prompt, 1000, 500)
        ck("prompt loaded", eng.call("LoadPrompt", name="tone1000", path=prompt).duration_ms == 500)

        ch = eng.call("CreateChannel", codec=pb.PCMU, event_payload_type=101, inband_dtmf=True,
                      tag="gstreamer")
        # A free port on the kernel side for GStreamer.
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((eng.local, 0))
        port = s.getsockname()[1]
        s.close()
        heard = os.path.join(eng.work, "heard.wav")
        caps = "application/x-rtp,media=audio,clock-rate=8000,encoding-name=PCMU,payload=0"
        pipeline = (
            "filesrc location=%s ! wavparse ! audioconvert ! audio/x-raw,rate=8000,channels=1 ! "
            "mulawenc ! rtppcmupay pt=0 min-ptime=20000000 max-ptime=20000000 ! "
            "udpsink host=%s port=%d bind-port=%d async=false "
            "udpsrc address=%s port=%d caps=%s ! queue ! rtppcmudepay ! mulawdec ! "
            "wavenc ! filesink location=%s async=false"
            % (caller_wav, eng.engine, ch.local_port, port, eng.local, port, caps, heard))
        ev0 = eng.event_mark()
        gst_log = open(os.path.join(eng.work, "gst.log"), "w+")
        gst = subprocess.Popen(["gst-launch-1.0", "-e"] + pipeline.split(" "),
                               stdout=gst_log, stderr=subprocess.STDOUT)
        ck("the channel learns GStreamer", eng.wait_learnt(ch.channel, timeout=10))
        g = eng.call("GetChannel", channel=ch.channel)
        ck("learnt GStreamer's sending port, which is its receiving port",
           (g.remote_address, g.remote_port) == (eng.local, port),
           "%s:%d, expected %s:%d" % (g.remote_address, g.remote_port, eng.local, port))
        eng.call("Play", channel=ch.channel, items=[pb.PlayItem(prompt="tone1000")])
        digs = eng.wait_events(ev0, 4, timeout=6, channel=ch.channel, type_=pb.DIGIT)
        done = eng.wait_events(ev0, 1, timeout=3, channel=ch.channel, type_=pb.PROMPT_DONE)
        ck("PROMPT_DONE", len(done) == 1)
        time.sleep(3.6 - 0.4)   # GStreamer's file is 3.2 s long; it started well before
        gst.send_signal(signal.SIGINT)
        try:
            grc = gst.wait(10)
        except subprocess.TimeoutExpired:
            gst.kill()
            grc = gst.wait()
        gst = None
        gst_log.seek(0)
        log = gst_log.read()
        gst_log.close()
        ck("gst-launch-1.0 ends cleanly on SIGINT (-e: EOS)", grc == 0, "(%d)\n%s" % (grc, log))
        digs = eng.events_since(ev0, channel=ch.channel, type_=pb.DIGIT)
        got = [(e.digit, pb.DigitSource.Name(e.source)) for e in digs]
        ck("digits 1357 in-band, exactly", got == [(d, "INBAND") for d in "1357"], str(got))
        if len(digs) == 4:
            ck("digit durations about 100 ms", all(70 <= e.duration_ms <= 130 for e in digs),
               str([e.duration_ms for e in digs]))
        st = eng.call("GetChannel", channel=ch.channel).stats
        ck("every packet GStreamer sent arrived (160 of 20 ms), none dropped",
           st.rx_packets == 160 and st.wrong_source == 0 and st.bad_rtp == 0 and st.wrong_pt == 0,
           str(st).replace("\n", " "))

        rate, pcm = read_wav(heard)
        ck("GStreamer wrote an 8 kHz WAV of what it heard (%d samples)" % len(pcm),
           rate == 8000 and len(pcm) > 0)
        segs = mc.segments(pcm, [1000])
        loud = [s for s in segs if s.label != "silence"]
        main = [s for s in loud if s.label == 1000 and s.ms >= 20]
        ck("GStreamer heard the prompt: 1000 Hz for 500 +- 40 ms",
           len(main) == 1 and abs(main[0].ms - 500) <= 40, tc.describe(segs))
        ck("and nothing else loud (at most 10 ms at the edges)",
           sum(s.ms for s in loud) - sum(s.ms for s in main) <= 10, tc.describe(segs))
        lvl = mc.rms_dbm0(sorted(mc.frame_rms(pcm))[len(pcm) // 320])
        ck("at the prompt's level (-10 dBm0 +- 1 dB: %.2f)" % lvl, abs(lvl + 10) <= 1)
    finally:
        if gst is not None:
            gst.kill()
            gst.wait()
        rc = eng.stop()
    ck("medleyd exits 0 on SIGTERM", rc == 0, "(%s)" % rc)
    if ck.fails:
        print("medleyd said:\n" + "".join(l for l in eng.out if "tap_" not in l))
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
