"""Conferences and supervisor modes through the API, over net_tap with real RTP: three
callers send distinct tones (caller 700 Hz, agent 1100 Hz, supervisor 1500 Hz), and what
each HEARS is decoded from the RTP medleyd sends and measured per frequency, in every
mode: the caller-agent bridge, Supervise LISTEN (nobody hears the supervisor), WHISPER
(only the agent does), BARGE (everyone, with a beep to the agent), hold with music, and a
plain N-1 conference of three built with CreateConference/AddMember; talking events.

Needs root and /dev/net/tun (exit 77 otherwise).
Usage: /usr/bin/python3 test_tap_conf.py MEDLEYD PROTO"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import medley_caller as mc  # noqa: E402
import test_tap_call as tc  # noqa: E402

import grpc  # noqa: E402

F = {"caller": 700, "agent": 1100, "sup": 1500, "music": 400}


def hears(ep, since, threshold_dbm0=-30.0):
    """The set of test frequencies present (above the threshold) in the last 400 ms heard."""
    pcm = ep.heard_pcm(since=since)[-3200:]
    out = set()
    if len(pcm) < 1600:
        return out
    for name, f in F.items():
        amp = mc.goertzel_amplitude(pcm, f)
        if amp > 0 and mc.rms_dbm0(amp / 2 ** 0.5) > threshold_dbm0:
            out.add(name)
    return out


def main():
    why = tc.can_run()
    if why is not None:
        print("skipped:", why)
        return 77
    tc.real_time_priority()
    ck = tc.Checks("tap-conf")
    import tempfile
    recdir = tempfile.mkdtemp(prefix="medley-confrec-")
    eng = tc.TapEngine(sys.argv[1], sys.argv[2], tag="mdf", channels=16,
                       extra=["--record-dir", recdir])
    pb = eng.pb
    pool = mc.CallerPool()

    try:
        tc.write_tone_wav(os.path.join(eng.work, "music.wav"), F["music"], 1000)
        eng.call("LoadPrompt", name="music", path=os.path.join(eng.work, "music.wav"))
        tc.write_tone_wav(os.path.join(eng.work, "ann.wav"), 1800, 300)
        eng.call("LoadPrompt", name="ann", path=os.path.join(eng.work, "ann.wav"))
        names = ["caller", "agent", "sup"]
        ch = {n: eng.call("CreateChannel", codec=pb.PCMU) for n in names}
        ep = {}
        for n in names:
            ep[n] = pool.add(mc.RtpEndpoint(eng.local, name=n))
            ep[n].connect(eng.engine, ch[n].local_port)
        pool.start()
        ck("every channel learns its party", all(eng.wait_learnt(ch[n].channel) for n in names))
        for n in names:   # a long steady tone each
            ep[n].send_tone(F[n], 60000, dbm0=-12)

        def settle():
            time.sleep(0.6)
            return {n: ep[n].mark() for n in names}

        def check_mode(label, want):
            marks = settle()
            time.sleep(0.5)
            got = {n: hears(ep[n], marks[n]) for n in names}
            for n in names:
                ck("%s: %s hears %s" % (label, n, sorted(want[n])), got[n] == want[n], "got %s" % sorted(got[n]))

        eng.call("Bridge", a=ch["caller"].channel, b=ch["agent"].channel)
        check_mode("bridge", {"caller": {"agent"}, "agent": {"caller"}, "sup": set()})
        conf = eng.unary("Supervise", pb.SuperviseRequest(caller=ch["caller"].channel, agent=ch["agent"].channel,
                                                          supervisor=ch["sup"].channel, mode=pb.LISTEN),
                         pb.Conference)
        ck("supervise: a conference of three", conf.members == 3 and conf.conference != 0)
        check_mode("listen", {"caller": {"agent"}, "agent": {"caller"}, "sup": {"caller", "agent"}})
        member = dict(conference=conf.conference, channel=ch["sup"].channel)
        eng.unary("SetMember", pb.MemberRequest(role=pb.WHISPER, **member))
        check_mode("whisper", {"caller": {"agent"}, "agent": {"caller", "sup"}, "sup": {"caller", "agent"}})
        m_agent = ep["agent"].mark()
        eng.unary("SetMember", pb.MemberRequest(role=pb.BARGE, beep=True, **member))
        check_mode("barge", {"caller": {"agent", "sup"}, "agent": {"caller", "sup"}, "sup": {"caller", "agent"}})
        pcm = ep["agent"].heard_pcm(since=m_agent)
        beep = max((mc.goertzel_amplitude(pcm[i:i + 160], 1400) for i in range(0, len(pcm) - 160, 160)),
                   default=0)
        ck("barge: the agent heard the beep (1400 Hz)", beep > 500, "amplitude %.0f" % beep)
        # Hold the caller: it hears the music, nobody hears it.
        m_hold = ep["caller"].mark()
        eng.unary("SetMember", pb.MemberRequest(conference=conf.conference, channel=ch["caller"].channel,
                                                role=pb.PARTY, hold_music="music", announcement="ann",
                                                announce_every_s=1))
        check_mode("caller on hold", {"caller": {"music"}, "agent": {"sup"}, "sup": {"agent"}})
        time.sleep(1.2)
        pcm = ep["caller"].heard_pcm(since=m_hold)
        ann = [i for i in range(0, len(pcm) - 160, 160) if mc.goertzel_amplitude(pcm[i:i + 160], 1800) > 1000]
        bursts = sum(1 for k, i in enumerate(ann) if k == 0 or i - ann[k - 1] > 800)
        ck("on hold: the announcement every second over the music (%d in %.1f s)" % (bursts, len(pcm) / 8000),
           bursts >= 2)
        music_under = sum(1 for i in ann if mc.goertzel_amplitude(pcm[i:i + 160], F["music"]) > 1000)
        ck("the music goes on under the announcement", music_under >= len(ann) // 2)
        eng.unary("SetMember", pb.MemberRequest(conference=conf.conference, channel=ch["caller"].channel,
                                                role=pb.PARTY))
        eng.unary("RemoveMember", pb.MemberRequest(**member))
        eng.unary("DeleteConference", pb.ConferenceRef(conference=conf.conference, rebridge=True))
        check_mode("back to the bridge", {"caller": {"agent"}, "agent": {"caller"}, "sup": set()})
        eng.call("Unbridge", channel=ch["caller"].channel)
        # A conference of three: each hears the two others (N-1).
        ev0 = eng.event_mark()
        c3 = eng.unary("CreateConference", pb.CreateConferenceRequest(near_channel=ch["caller"].channel),
                       pb.Conference)
        for n in names:
            ep[n].pause()   # silence first: the talker detector learns the floor
        for n in names:
            eng.unary("AddMember", pb.MemberRequest(conference=c3.conference, channel=ch[n].channel))
        time.sleep(2.5)
        for n in names:
            ep[n].resume()
        check_mode("n-1", {"caller": {"agent", "sup"}, "agent": {"caller", "sup"}, "sup": {"caller", "agent"}})
        # The conference mix as a recording: the three tones in one mono file.
        eng.unary("RecordConference", pb.RecordConferenceRequest(conference=c3.conference, path="c3.wav"),
                  pb.Recording)
        time.sleep(1.0)
        eng.unary("RecordConference", pb.RecordConferenceRequest(conference=c3.conference), pb.Recording)
        time.sleep(0.8)
        import wave
        import struct
        with wave.open(os.path.join(recdir, "c3.wav")) as w:
            n = w.getnframes()
            mix = list(struct.unpack("<%dh" % n, w.readframes(n)))
        ck("conference recording: about 1 s (%.2f s)" % (n / 8000), 0.8 <= n / 8000 <= 1.6)
        present = {k for k, f in F.items() if k != "music" and
                   mc.rms_dbm0(mc.goertzel_amplitude(mix[-4000:], f) / 2 ** 0.5) > -30}
        ck("conference recording holds the three parties: %s" % sorted(present),
           present == {"caller", "agent", "sup"})
        got = eng.unary("GetConference", pb.ConferenceRef(conference=c3.conference), pb.Conference)
        ck("get: three members, three talkers", got.members == 3 and got.talkers == 3)
        talk = eng.events_since(ev0, type_=pb.TALKING_STARTED)
        ck("talking events for the three (%d)" % len(talk),
           {e.channel for e in talk} == {ch[n].channel for n in names} and
           all(e.conference == c3.conference for e in talk))
        # Errors.
        for desc, fn, code in (
                ("add a member twice", lambda: eng.unary("AddMember", pb.MemberRequest(conference=c3.conference,
                                                                                       channel=ch["sup"].channel)),
                 grpc.StatusCode.FAILED_PRECONDITION),
                ("no such conference", lambda: eng.unary("GetConference", pb.ConferenceRef(conference=12345), pb.Conference),
                 grpc.StatusCode.NOT_FOUND),
                ("hold music that is not loaded", lambda: eng.unary("SetMember", pb.MemberRequest(
                    conference=c3.conference, channel=ch["sup"].channel, hold_music="nope")),
                 grpc.StatusCode.NOT_FOUND),
                ("gain out of range", lambda: eng.unary("SetMember", pb.MemberRequest(
                    conference=c3.conference, channel=ch["sup"].channel, in_gain_db=40)),
                 grpc.StatusCode.INVALID_ARGUMENT),
                ("supervise unbridged channels", lambda: eng.unary("Supervise", pb.SuperviseRequest(
                    caller=ch["caller"].channel, agent=ch["agent"].channel, supervisor=ch["sup"].channel,
                    mode=pb.LISTEN), pb.Conference), grpc.StatusCode.FAILED_PRECONDITION)):
            try:
                fn()
                ck(desc, False, "succeeded")
            except grpc.RpcError as e:
                ck("%s: %s" % (desc, e.code().name), e.code() == code, e.details())
        eng.unary("DeleteConference", pb.ConferenceRef(conference=c3.conference))
        try:
            eng.unary("GetConference", pb.ConferenceRef(conference=c3.conference), pb.Conference)
            ck("deleted conference gone", False)
        except grpc.RpcError as e:
            ck("deleted conference gone", e.code() == grpc.StatusCode.NOT_FOUND)
    finally:
        pool.stop()
        rc = eng.stop()
        import shutil
        shutil.rmtree(recdir, ignore_errors=True)
    ck("medleyd exits 0", rc == 0)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
