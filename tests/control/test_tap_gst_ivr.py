"""The IVR end to end with a real RTP program nobody here wrote (issue 5): GStreamer's
gst-launch-1.0 is the caller over net_tap, sending PCMU (silence, then the DTMF keys "1"
and "2" made by medley-dsp) and recording what it hears on the same port. Through the API
the test loads a flow, creates the channel and starts the IVR on it; GStreamer hears the
welcome prompt and the menus (distinct tones: welcome 1000 Hz, main menu 600 Hz, the
submenu 800 Hz), keys its digits, and the events show the path through the tree: steps
main and sub, the digits, and the transfer with its trail.

Needs root, /dev/net/tun and gst-launch-1.0 (exit 77 = skipped).
Usage: /usr/bin/python3 test_tap_gst_ivr.py MEDLEYD PROTO MEDLEY_DSP"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_tap_call as tc  # noqa: E402
import test_tap_gst as tg  # noqa: E402
mc = tc.mc

FLOW = """# A two-level tree for the end-to-end test.
name: e2e
languages: [en]
prompt_dir: p
welcome: welcome
start: main
agent_queue: general
too_many: bye
defaults:
  first_digit_ms: 8000
  invalid: bye
  timeout: bye
steps:
  main:
    menu: main_menu
    options: {1: sub}
  sub:
    menu: sub_menu
    options: {2: billing}
  billing:
    transfer: billing
"""


def main():
    why = tc.can_run()
    if why is None and shutil.which("gst-launch-1.0") is None:
        why = "needs gst-launch-1.0 (gstreamer1.0-tools)"
    if why:
        print(why + ": skipped")
        return 77
    medleyd, proto, dsp = sys.argv[1], sys.argv[2], sys.argv[3]
    tc.real_time_priority()
    ck = tc.Checks("tap-gst-ivr")
    eng = tc.TapEngine(medleyd, proto, tag="mdi")
    pb = eng.pb
    gst = None
    try:
        # The flow and its prompts: tones, plus the spoken-number prompts the loader checks.
        pdir = os.path.join(eng.work, "p", "en")
        os.makedirs(os.path.join(pdir, "num"))
        os.makedirs(os.path.join(pdir, "date"))
        for name, f, ms in (("welcome", 1000, 500), ("main_menu", 600, 600), ("sub_menu", 800, 600),
                            ("bye", 300, 200)):
            tc.write_tone_wav(os.path.join(pdir, name + ".wav"), f, ms)
        for n in [str(i) for i in range(20)] + [str(i) for i in range(20, 100, 10)] + \
                ["hundred", "thousand", "million", "yuan", "fen"]:
            tc.write_tone_wav(os.path.join(pdir, "num", n + ".wav"), 200, 40)
        for m in range(1, 13):
            tc.write_tone_wav(os.path.join(pdir, "date", "m%02d.wav" % m), 200, 40)
        flow = os.path.join(eng.work, "e2e.yaml")
        with open(flow, "w") as f:
            f.write(FLOW)
        load = eng.c.channel.unary_unary("/medley.v1.Engine/LoadFlow",
                                         request_serializer=lambda m: m.SerializeToString(),
                                         response_deserializer=pb.Flow.FromString)
        ck("flow loaded", load(pb.LoadFlowRequest(path=flow), timeout=10).steps == 3)

        # The caller: 2.0 s of silence (it hears the welcome and the main menu), "1",
        # 1.4 s (the submenu), "2", then 1.5 s of silence.
        for d in "12":
            subprocess.run([dsp, "dial", d, os.path.join(eng.work, d + ".wav"), "--level", "-10",
                            "--on", "100", "--off", "0"], check=True)
        k1 = tg.read_wav(os.path.join(eng.work, "1.wav"))[1]
        k2 = tg.read_wav(os.path.join(eng.work, "2.wav"))[1]
        send = [0] * 16000 + k1 + [0] * 11200 + k2 + [0] * 12000
        caller = os.path.join(eng.work, "caller.wav")
        tg.write_wav(caller, send)
        ch = eng.call("CreateChannel", codec=pb.PCMU, inband_dtmf=True, tag="gst-ivr")
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
            % (caller, eng.engine, ch.local_port, port, eng.local, port, caps, heard))
        ev0 = eng.event_mark()
        gst_log = open(os.path.join(eng.work, "gst.log"), "w+")
        gst = subprocess.Popen(["gst-launch-1.0", "-e"] + pipeline.split(" "),
                               stdout=gst_log, stderr=subprocess.STDOUT)
        ck("the channel learns GStreamer", eng.wait_learnt(ch.channel, timeout=10))
        start = eng.c.channel.unary_unary("/medley.v1.Engine/StartIvr",
                                          request_serializer=lambda m: m.SerializeToString(),
                                          response_deserializer=pb.Empty.FromString)
        start(pb.StartIvrRequest(channel=ch.channel, flow="e2e", ani="5551234"), timeout=5)
        done = eng.wait_events(ev0, 1, timeout=10, channel=ch.channel, type_=pb.IVR_TRANSFER)
        time.sleep(0.5)
        gst.send_signal(signal.SIGINT)
        try:
            gst.wait(10)
        except subprocess.TimeoutExpired:
            gst.kill()
            gst.wait()
        gst = None
        gst_log.close()
        steps = [e.step for e in eng.events_since(ev0, channel=ch.channel, type_=pb.IVR_STEP)]
        digits = [(e.digit, pb.DigitSource.Name(e.source))
                  for e in eng.events_since(ev0, channel=ch.channel, type_=pb.DIGIT)]
        ck("the path through the tree: %s" % steps, steps == ["main", "sub", "billing"])
        ck("the digits 1 and 2, in-band: %s" % digits, digits == [("1", "INBAND"), ("2", "INBAND")])
        ck("a transfer to billing", len(done) == 1 and done[0].queue == "billing")
        if done:
            ck("with the trail: %r" % done[0].trail, done[0].trail == "main:1 > sub:2 > transfer billing")
        rate, pcm = tg.read_wav(heard)
        segs = [s for s in mc.segments(pcm, [1000, 600, 800]) if s.label != "silence" and s.ms >= 100]
        order = [s.label for s in segs]
        ck("GStreamer heard the welcome, the main menu, then the submenu: %s" % tc.describe(segs),
           order[:3] == [1000, 600, 800])
        ck("the welcome whole (500 +- 40 ms)", bool(segs) and abs(segs[0].ms - 500) <= 40)
    finally:
        if gst is not None:
            gst.kill()
            gst.wait()
        rc = eng.stop()
    ck("medleyd exits 0", rc == 0)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
