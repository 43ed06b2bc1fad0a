"""medleyd's Prometheus endpoint and KPI history (issue 7): medleyd (net_null) with
--metrics and --kpi-db; through the API a queue, an agent logged in but not ready, a
caller queued. /metrics (a stock urllib client) shows the channels, the agent by state,
the caller waiting, the offered call, and the engine's counters; after SIGTERM the
unfinished half hour is in the SQLite file (read with the stdlib sqlite3) with the call
offered, in WAL mode; a second start on the same file keeps it.

Usage: /usr/bin/python3 test_metrics_kpi_medleyd.py MEDLEYD PROTO"""
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import medley_client  # noqa: E402

medleyd, proto = sys.argv[1], sys.argv[2]
pb = medley_client.load_messages(proto)
medley_client.clear_of_half_hour(60)   # one unfinished half hour is checked in the file
work = tempfile.mkdtemp(prefix="medley-metrics-")
sock = os.path.join(work, "api.sock")
db = os.path.join(work, "kpi.db")
fails = checks = 0


def check(desc, ok):
    global fails, checks
    checks += 1
    print(("ok: " if ok else "FAIL: ") + desc)
    if not ok:
        fails += 1


def start():
    p = subprocess.Popen(
        [medleyd, "--file-prefix=mdmet-%d" % os.getpid(), "-m", "256", "--vdev=net_null0", "--no-pci",
         "--no-telemetry", "-l", "0", "--log-level=error", "--", "--ip4", "10.9.0.2", "--channels", "8",
         "--api-unix", sock, "--metrics", "127.0.0.1:0", "--kpi-db", db, "--internal-offer-ms", "4000"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=medley_client.die_with_parent)
    port = None
    lines = []
    deadline = time.time() + 20
    while time.time() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        lines.append(line)
        m = re.search(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", line)
        if m:
            port = int(m.group(1))
        if "port 0 up" in line:
            break
    return p, port, "".join(lines)


def metric(text, name, labels=""):
    for line in text.splitlines():
        if line.startswith(name + labels + " ") or (not labels and line.startswith(name + " ")):
            return float(line.split()[-1])
    return None


p, port, out = start()
check("medleyd says where the metrics are", port is not None)
check("medleyd says where the KPI history is", "KPI history in " + db in out)
check("medleyd takes --internal-offer-ms", "direct agent calls ring 4000 ms" in out)
c = medley_client.Client("unix:" + sock, pb)
try:
    def unary(method, req, resp=pb.Empty):
        return c.channel.unary_unary("/medley.v1.Engine/" + method,
                                     request_serializer=lambda m: m.SerializeToString(),
                                     response_deserializer=resp.FromString)(req, timeout=5)
    unary("AddQueue", pb.QueueConfig(name="billing"))
    unary("AddAgent", pb.AgentConfig(id="1024", skills=[pb.Skill(name="billing", level=5)]))
    unary("AgentLogin", pb.AgentRequest(agent="1024"))
    ch = c.call("CreateChannel", codec=1)
    c.call("CreateChannel", codec=1)
    unary("QueueCall", pb.QueueCallRequest(channel=ch.channel, queue="billing", ani="5551234"),
          pb.QueueCallReply)
    time.sleep(0.3)
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
        ctype = r.headers.get("Content-Type", "")
        text = r.read().decode()
    check("text exposition format (%s)" % ctype, ctype.startswith("text/plain") and "version=0.0.4" in ctype)
    check("medley_channels 2", metric(text, "medley_channels") == 2)
    check("medley_channels_max 8", metric(text, "medley_channels_max") == 8)
    check("medley_agents not_ready 1", metric(text, "medley_agents", '{state="not_ready"}') == 1)
    check("medley_queue_calls_waiting billing 1",
          metric(text, "medley_queue_calls_waiting", '{queue="billing"}') == 1)
    check("medley_queue_offered billing 1", metric(text, "medley_queue_offered", '{queue="billing"}') == 1)
    check("packet counters present", metric(text, "medley_packets_total", '{direction="rx"}') is not None)
    check("# TYPE lines", "# TYPE medley_packets_total counter" in text and "# TYPE medley_channels gauge" in text)
finally:
    c.close()
p.terminate()
try:
    p.communicate(timeout=15)
except subprocess.TimeoutExpired:
    p.kill()
check("medleyd exits 0", p.returncode == 0)
con = sqlite3.connect(db)
rows = con.execute("SELECT scope, name, offered FROM kpi WHERE scope='queue' AND name='billing'").fetchall()
check("the unfinished half hour was stored: %s" % rows, len(rows) == 1 and rows[0][2] == 1)
agents = con.execute("SELECT name FROM kpi WHERE scope='agent'").fetchall()
check("the agent's half hour too: %s" % agents, agents == [("1024",)])
check("WAL mode", con.execute("PRAGMA journal_mode").fetchone()[0] == "wal")
con.close()
# A restart on the same file keeps the history.
p, port, out = start()
check("restart on the same KPI file", port is not None and "KPI history in" in out)
p.terminate()
try:
    p.communicate(timeout=15)
except subprocess.TimeoutExpired:
    p.kill()
con = sqlite3.connect(db)
n = con.execute("SELECT COUNT(*) FROM kpi").fetchone()[0]
con.close()
check("the history survived the restart (%d rows)" % n, n >= 2)
shutil.rmtree(work, ignore_errors=True)
print("metrics-kpi-medleyd: %d checks, %d failed" % (checks, fails))
sys.exit(1 if fails else 0)
