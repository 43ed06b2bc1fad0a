#!/usr/bin/python3
"""Redraws medley-bench capacity's plot from its --json file (the same two panels as
--plot: loss and worker load against N, then tick lateness and latencies), so a run's
figure can be drawn again without running it again.

    bench/capacity_plot.py RESULT.json OUT.png
"""
import json
import math
import os
import subprocess
import sys
import tempfile


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    with open(sys.argv[1]) as f:
        d = json.load(f)
    steps = sorted((s["median"] for s in d["steps"]), key=lambda s: s["n"])
    # Every profile but ivr has a wire -> wire latency (bridge, conference, transcode);
    # only ivr keys digits.
    bridge = d["profile"] != "ivr"
    best = d["channels_per_core"]
    deadline = d.get("deadline_ms", 20)
    with tempfile.TemporaryDirectory(prefix="medley-cap-plot-") as tmp:
        dat = os.path.join(tmp, "steps.dat")
        with open(dat, "w") as f:
            for s in steps:
                loss = 100.0 * (s["lost"] + s["bad"]) / s["expected"] if s["expected"] else 0
                dg = s["digits"]
                miss = 100.0 * (dg["missed"] + dg["wrong"]) / dg["keyed"] if dg["keyed"] else 0
                w2w = s.get("wire_to_wire_ms", {}).get("p99", 0)
                if w2w is None or (isinstance(w2w, float) and math.isnan(w2w)):
                    w2w = 0
                f.write("%d %.6f %.2f %.4f %.4f %.4f %.3f %.3f 0 %.3f %.6f %.3f %d\n" % (
                    s["n"], loss, 100 * s["worker_load"], s["tick_late_ms"]["p50"],
                    s["tick_late_ms"]["p99"], s["tick_late_ms"]["p999"],
                    s["due_to_wire_ms"]["p50"], s["due_to_wire_ms"]["p99"], w2w, miss,
                    s["tick_end_max_ms"], 1 if s["pass"] else 0))
        failed = any(not s["pass"] for s in steps)
        gp = f"""set terminal pngcairo size 1000,800 noenhanced
set output '{sys.argv[2]}'
set multiplot layout 2,1 title 'medley-bench capacity: {d["profile"]}, one worker core (best zero-loss N = {best})'
set grid
set key top left
set xlabel 'channels (N)'
set ylabel 'loss (% of packets / digits)'
set y2label 'worker load (%)'
set y2range [0:110]
set ytics nomirror
set y2tics
set yrange [0:*]
plot '{dat}' u 1:2 w lp pt 7 t 'packets lost or bad (%)', \\
  {"" if bridge else "'' u 1:11 w lp pt 5 t 'digits missed or wrong (%)', "}\\
  '' u 1:3 axes x1y2 w lp pt 6 dt 2 t 'worker load (%, right)'\\
  {", '' u 1:($13 > 0.5 ? 1/0 : 0) w p pt 2 ps 2 lc rgb 'red' t 'step failed (any criterion)'" if failed else ""}
unset y2label
unset y2tics
set ytics mirror
set ylabel 'ms'
set logscale y
set yrange [0.001:*]
plot '{dat}' u 1:($4>0.001?$4:0.001) w lp pt 7 t 'tick lateness p50', \\
  '' u 1:($5>0.001?$5:0.001) w lp pt 7 t 'tick lateness p99', \\
  '' u 1:($6>0.001?$6:0.001) w lp pt 7 t 'tick lateness p99.9', \\
  '' u 1:8 w lp pt 5 t 'tick due -> wire p99', \\
  '' u 1:12 w lp pt 4 t 'worst tick end after due', \\
  {deadline} w l dt 3 lc rgb 'red' t 'deadline'\\
  {", '' u 1:10 w lp pt 9 t 'wire -> wire p99 (incl. jitter buffer)'" if bridge else ""}
unset multiplot
"""
        script = os.path.join(tmp, "plot.gp")
        with open(script, "w") as f:
            f.write(gp)
        return subprocess.call(["gnuplot", script])


if __name__ == "__main__":
    sys.exit(main())
