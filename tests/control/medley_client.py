"""A tiny client for medley's gRPC API with Debian's python3-grpcio, for tests and
tools: messages from `protoc --python_out` (generated into a temporary directory at
run time) and grpcio's generic calls, since Debian's grpc tools are too old to make
stubs. Run with /usr/bin/python3."""
import os
import subprocess
import sys
import tempfile

import grpc

METHODS_UNARY = {
    "CreateChannel": ("CreateChannelRequest", "Channel"),
    "DeleteChannel": ("ChannelRef", "Empty"),
    "GetChannel": ("ChannelRef", "Channel"),
    "ListChannels": ("ListChannelsRequest", "ChannelList"),
    "Play": ("PlayRequest", "Empty"),
    "StopPlay": ("ChannelRef", "Empty"),
    "Bridge": ("BridgeRequest", "Empty"),
    "Unbridge": ("ChannelRef", "Empty"),
    "LoadPrompt": ("LoadPromptRequest", "Prompt"),
    "ListPrompts": ("Empty", "PromptList"),
    "GetStats": ("Empty", "EngineStats"),
}


class Checks:
    """Counts checks and failures for a test script; expect_error() wants a call to fail
    with a status and a message containing every word."""

    def __init__(self):
        self.checks = 0
        self.fails = 0

    def check(self, desc, ok):
        self.checks += 1
        if not ok:
            self.fails += 1
            print("FAIL:", desc)
        return ok

    def expect_error(self, desc, code, words, fn, *args, **kw):
        try:
            fn(*args, **kw)
        except grpc.RpcError as e:
            ok = e.code() == code and all(w.lower() in (e.details() or "").lower() for w in words)
            self.check("%s: got %s %r" % (desc, e.code(), e.details()), ok)
            return
        self.check("%s: succeeded, expected %s" % (desc, code), False)


def clear_of_half_hour(seconds):
    """The ACD counts its KPIs per half hour of wall-clock time (:00 and :30, REQ KPI-2):
    a test that counts calls in one interval fails if it straddles a boundary. If fewer
    than `seconds` are left before the next one, waits until just past it (at most
    `seconds`)."""
    import time
    left = 1800 - time.time() % 1800
    if left < seconds:
        print("waiting %.1f s for the half hour to turn: the test counts KPIs in one" % left)
        sys.stdout.flush()
        time.sleep(left + 1)


def die_with_parent():
    """For subprocess.Popen(preexec_fn=...): the child gets SIGTERM when the process that
    started it dies, so a test killed by its timeout (or ended by an exception) never
    leaves a medleyd spinning on a CPU."""
    import ctypes
    import signal
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG


def load_messages(proto):
    """Compiles medley.proto with protoc and imports the module."""
    out = tempfile.mkdtemp(prefix="medley-pb-")
    d, name = os.path.split(os.path.abspath(proto))
    subprocess.run(["protoc", "--proto_path=" + d, "--python_out=" + out, name], check=True)
    sys.path.insert(0, out)
    import medley_pb2  # noqa: E402
    return medley_pb2


class Client:
    def __init__(self, target, pb, token=None):
        self.pb = pb
        self.channel = grpc.insecure_channel(target)
        self.metadata = [("authorization", "Bearer " + token)] if token else None

    def call(self, method, request=None, timeout=5, **fields):
        req_type, resp_type = METHODS_UNARY[method]
        if request is None:
            request = getattr(self.pb, req_type)(**fields)
        fn = self.channel.unary_unary(
            "/medley.v1.Engine/" + method,
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=getattr(self.pb, resp_type).FromString)
        return fn(request, timeout=timeout, metadata=self.metadata)

    def raw(self, path, payload, timeout=5):
        """Sends raw bytes to any method path; returns raw bytes."""
        fn = self.channel.unary_unary(path, request_serializer=lambda b: b,
                                      response_deserializer=lambda b: b)
        return fn(payload, timeout=timeout, metadata=self.metadata)

    def events(self, timeout=None, **fields):
        fn = self.channel.unary_stream(
            "/medley.v1.Engine/StreamEvents",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=self.pb.Event.FromString)
        return fn(self.pb.EventFilter(**fields), timeout=timeout, metadata=self.metadata)

    def close(self):
        self.channel.close()
