#!/bin/sh
# medley-bench as a user runs it: the plan table and its JSON with the right numbers,
# bad command lines a message on stderr and exit status 2, nothing on stdout.
# Usage: test_plan_cli.sh PATH/TO/medley-bench
bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
checks=0
py=/usr/bin/python3

check() {   # check DESCRIPTION COMMAND...
    desc=$1
    shift
    checks=$((checks + 1))
    if ! "$@"; then
        echo "FAIL: $desc" >&2
        fails=$((fails + 1))
    fi
}

# field NAME: the value column of the table line starting with NAME
# ("agents (Erlang C)            67" -> 67)
field() {
    grep "^$1" "$work/out" | head -1 | cut -c30- | cut -d' ' -f1
}

base="--calls-per-half-hour 600 --aht 180 --sl 80/15 --blocking 0.02 --channels-per-core 25000 --cores-per-server 16"

# The table. 600 calls x 180 s / 1800 s = 60 erl; 67 agents reach 84.3% in 15 s (66
# reach 79.1%, checked in tests/plan/test_planner.c against the textbook formula);
# trunks held for ASA + AHT = 187.2 s -> 62.42 erl -> 74 trunks at 2%; 148 channels.
"$bin" plan $base >"$work/out" 2>"$work/err"
check "plan exit status 0" [ $? -eq 0 ]
check "plan writes nothing on stderr" [ ! -s "$work/err" ]
check "traffic 60.00" [ "$(field 'traffic ')" = "60.00" ]
check "agents 67" [ "$(field 'agents (Erlang C)')" = "67" ]
check "service level 84.3%" [ "$(field 'service level')" = "84.3%" ]
check "ASA 7.2 s" [ "$(field 'ASA')" = "7.2" ]
check "occupancy 89.6%" [ "$(field 'occupancy')" = "89.6%" ]
check "trunk traffic 62.42" [ "$(field 'trunk traffic')" = "62.42" ]
check "trunks 74" [ "$(field 'trunks (Erlang B)')" = "74" ]
check "engine channels 148" [ "$(field 'engine channels')" = "148" ]
check "engine cores 1" [ "$(field 'engine cores')" = "1" ]
check "servers 1" [ "$(field 'servers')" = "1" ]
check "no SCALE-2 line without its inputs" sh -c "! grep -q SCALE-2 '$work/out'"

# --json: parses, and carries the same figures; with --max-occupancy 0.85 and SCALE-2.
"$bin" plan $base --json >"$work/j1" 2>"$work/err"
check "json exit status 0" [ $? -eq 0 ]
check "json agrees with the table" $py -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["traffic_erl"] == 60, d["traffic_erl"]
assert d["agents"]["count"] == 67
assert abs(d["agents"]["service_level"] - 0.843) < 0.0005
assert abs(d["agents"]["occupancy"] - 60 / 67) < 1e-12
assert d["trunks"]["count"] == 74 and d["trunks"]["blocking"] <= 0.02
assert d["engine"] == {"channels": 148, "cores": 1, "servers": 1, "worker_cores_per_server": 14}
assert d["scale2"] is None
' "$work/j1"

"$bin" plan $base --max-occupancy 0.85 --json --monthly-calls 208333 --answer-rate 0.964 \
    --monthly-hours 176 --attendance 0.9 --utilisation 0.8 >"$work/j2" 2>"$work/err"
check "json with SCALE-2 exit status 0" [ $? -eq 0 ]
# 60 / 0.85 = 70.6 -> 71 agents; SCALE-2: 208333 x 0.05 h x 0.964 / (176 x 0.9 x 0.8) = 79.24
check "json max occupancy and SCALE-2" $py -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["agents"]["count"] == 71, d["agents"]
assert d["agents"]["occupancy"] <= 0.85
assert abs(d["scale2"]["staff"] - 79.24) < 0.005, d["scale2"]
assert d["input"]["max_occupancy"] == 0.85
' "$work/j2"

# Big: 60000 calls per half hour (6000 erl), 1.0 headroom and 5000 channels per core.
"$bin" plan --calls-per-half-hour 60000 --aht 180 --sl 80/15 --blocking 0.01 \
    --channels-per-core 5000 --cores-per-server 8 --headroom 1.0 --json >"$work/j3" 2>"$work/err"
check "6000 erl exit status 0" [ $? -eq 0 ]
check "6000 erl: cores and servers follow the channels" $py -c '
import json, math, sys
d = json.load(open(sys.argv[1]))
a, t, e = d["agents"], d["trunks"], d["engine"]
assert 6000 < a["count"] < 6100 and a["service_level"] >= 0.8, a
assert t["count"] >= 6000 and t["blocking"] <= 0.01, t
assert e["channels"] == 2 * t["count"]
assert e["cores"] == math.ceil(e["channels"] / 5000), e
assert e["servers"] == math.ceil(e["cores"] / 6), e
' "$work/j3"

# capacity: every profile is built now (the measuring runs are the bench suite's smoke
# tests); an unknown profile and a bad option are usage errors, before any EAL set-up.
"$bin" capacity --profile no-such-profile >"$work/out" 2>"$work/err"
check "capacity unknown profile exit status 2" [ $? -eq 2 ]
"$bin" capacity --no-such-option >"$work/out" 2>"$work/err"
check "capacity bad option exit status 2" [ $? -eq 2 ]
check "capacity bad option message" grep -q "unknown option" "$work/err"

# Bad command lines: exit 2, a message on stderr, nothing on stdout.
bad() {
    "$bin" "$@" >"$work/out" 2>"$work/err"
    rc=$?
    checks=$((checks + 1))
    if [ $rc -ne 2 ] || [ ! -s "$work/err" ] || [ -s "$work/out" ]; then
        echo "FAIL: medley-bench $* -> exit $rc, stderr '$(head -1 "$work/err")'" >&2
        fails=$((fails + 1))
    else
        echo "ok: medley-bench $* -> $(head -1 "$work/err")"
    fi
}
bad
bad nosuchcommand
bad plan
bad plan $base --bogus 1
bad plan $base --json=1
bad plan $base --aht 200
bad plan --calls-per-half-hour 600 --aht 180 --sl 80/15 --blocking 0.02 --channels-per-core 25000
bad plan --calls-per-half-hour -600 --aht 180 --sl 80/15 --blocking 0.02 --channels-per-core 25000 --cores-per-server 16
bad plan --calls-per-half-hour 0 --aht 180 --sl 80/15 --blocking 0.02 --channels-per-core 25000 --cores-per-server 16
bad plan --calls-per-half-hour nan --aht 180 --sl 80/15 --blocking 0.02 --channels-per-core 25000 --cores-per-server 16
bad plan --calls-per-half-hour 600 --aht 0 --sl 80/15 --blocking 0.02 --channels-per-core 25000 --cores-per-server 16
bad plan --calls-per-half-hour 600 --aht 1e300 --sl 80/15 --blocking 0.02 --channels-per-core 25000 --cores-per-server 16
bad plan --calls-per-half-hour 600 --aht 180s --sl 80/15 --blocking 0.02 --channels-per-core 25000 --cores-per-server 16
bad plan --calls-per-half-hour 600 --aht 180 --sl 80 --blocking 0.02 --channels-per-core 25000 --cores-per-server 16
bad plan --calls-per-half-hour 600 --aht 180 --sl 100/15 --blocking 0.02 --channels-per-core 25000 --cores-per-server 16
bad plan --calls-per-half-hour 600 --aht 180 --sl 80/-1 --blocking 0.02 --channels-per-core 25000 --cores-per-server 16
bad plan --calls-per-half-hour 600 --aht 180 --sl 80/15 --blocking 2 --channels-per-core 25000 --cores-per-server 16
bad plan --calls-per-half-hour 600 --aht 180 --sl 80/15 --blocking 0 --channels-per-core 25000 --cores-per-server 16
bad plan --calls-per-half-hour 600 --aht 180 --sl 80/15 --blocking 0.02 --channels-per-core 0 --cores-per-server 16
bad plan --calls-per-half-hour 600 --aht 180 --sl 80/15 --blocking 0.02 --channels-per-core 25000 --cores-per-server 0
bad plan --calls-per-half-hour 600 --aht 180 --sl 80/15 --blocking 0.02 --channels-per-core 25000 --cores-per-server 2.5
bad plan $base --max-occupancy 0
bad plan $base --max-occupancy 1.5
bad plan $base --headroom 0.5
bad plan $base --reserved-cores 16
bad plan $base --channels-per-call 0
bad plan $base --acw 180
bad plan $base --monthly-calls 1000
bad plan $base --monthly-calls 1000 --answer-rate 0.9 --monthly-hours 176 --attendance 0.9 --utilisation 0
bad plan $base --monthly-calls 1000 --answer-rate 0.9 --monthly-hours 900 --attendance 0.9 --utilisation 0.8
bad plan --calls-per-half-hour 600 --aht 180 --sl 80/15 --blocking 0.02 --channels-per-core 25000 --cores-per-server
bad plan $base --max-asa

# A named bad input: the message says which.
"$bin" plan $base --headroom 0.5 2>"$work/err" >/dev/null
check "headroom named in the message" grep -q headroom "$work/err"
"$bin" plan --calls-per-half-hour 600 --aht 180 --sl 80/15 --blocking 7 --channels-per-core 25000 --cores-per-server 16 2>"$work/err" >/dev/null
check "blocking named in the message" grep -q blocking "$work/err"

echo "medley-bench plan: $checks checks, $fails failed"
[ $fails -eq 0 ]
