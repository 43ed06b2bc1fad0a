#!/bin/bash
# medleyctl against a real medleyd (net_null port, no packets needed), on the Unix socket
# and on TCP with a bearer token: the output of every command, the exit codes (0 done,
# 1 the call failed, 2 bad command line) and the error texts (gRPC status names and the
# server's messages), and `watch` printing PROMPT_DONE after `play`; the ACD commands
# (queue-add, agent, queue-call, acd, wallboard) on a real call offered and answered, and
# kpi-csv on the KPI history medleyd writes when it stops.
#
# Usage: test_medleyctl.sh MEDLEYD MEDLEYCTL [MEDLEY_DSP]
set -u
MEDLEYD=$(realpath "$1")
CTL=$(realpath "$2")
DSP=${3:+$(realpath "$3")}
TOKEN=s3cret-token-for-medleyctl
WORK=$(mktemp -d /tmp/medleyctl-test.XXXXXX)
SOCK=$WORK/api.sock
MPID=
WPID=
fails=0
checks=0

cleanup() {
    [ -n "$WPID" ] && kill "$WPID" 2>/dev/null
    [ -n "$MPID" ] && kill "$MPID" 2>/dev/null && wait "$MPID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}

# run ARGS...: runs medleyctl; sets OUT, ERR, RC.
run() {
    "$CTL" "$@" >"$WORK/out" 2>"$WORK/err"
    RC=$?
    OUT=$(cat "$WORK/out")
    ERR=$(cat "$WORK/err")
}

# ok DESC ARGS...: exit 0 and nothing on stderr.
ok() {
    local desc=$1
    shift
    run "$@"
    checks=$((checks + 1))
    if [ "$RC" != 0 ] || [ -n "$ERR" ]; then
        fail "$desc: medleyctl $* -> exit $RC, stderr: $ERR"
        return 1
    fi
    return 0
}

# err DESC CODE STDERR-REGEX ARGS...: exit CODE, stderr matching, nothing on stdout.
err() {
    local desc=$1 code=$2 re=$3
    shift 3
    run "$@"
    checks=$((checks + 1))
    if [ "$RC" != "$code" ]; then
        fail "$desc: medleyctl $* -> exit $RC (expected $code), stderr: $ERR"
    elif ! grep -Eq -- "$re" <<<"$ERR"; then
        fail "$desc: stderr '$ERR' does not match /$re/"
    elif [ -n "$OUT" ]; then
        fail "$desc: something on stdout: $OUT"
    fi
}

# has DESC REGEX: the last OUT has a line matching.
has() {
    checks=$((checks + 1))
    grep -Eq -- "$2" <<<"$OUT" || fail "$1: no line /$2/ in:
$OUT"
}

# field NAME: a 'name: value' line's value in OUT.
field() {
    sed -n "s/^$1: *//p" <<<"$OUT"
}

# wait_for SECONDS COMMAND...: until the command succeeds.
wait_for() {
    local limit=$(($1 * 10))
    shift
    for ((i = 0; i < limit; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}

# ---- medleyd ----
# KPIs are counted per wall-clock half hour (:00, :30) and kpi-csv below expects one row
# per queue and agent: never straddle a boundary.
LEFT=$((1800 - $(date +%s) % 1800))
if [ "$LEFT" -lt 60 ]; then
    echo "waiting $LEFT s for the half hour to turn: the test counts KPIs in one"
    sleep $((LEFT + 1))
fi
MEDLEY_API_TOKEN=$TOKEN "$MEDLEYD" --file-prefix=mdctl-$$ -m 256 --vdev=net_null0 --no-pci \
    --no-telemetry -l 0 --log-level=error -- --ip4 10.9.0.2 --channels 4 \
    --api-unix "$SOCK" --api-tcp 127.0.0.1:0 --kpi-db "$WORK/kpi.db" >"$WORK/medleyd.log" 2>&1 &
MPID=$!
if ! wait_for 20 grep -q "port 0 up" "$WORK/medleyd.log"; then
    echo "FAIL: medleyd did not come up:"
    cat "$WORK/medleyd.log"
    exit 1
fi
PORT=$(sed -n 's/.*API on tcp [^ ]* port \([0-9]*\).*/\1/p' "$WORK/medleyd.log")
[ -n "$PORT" ] || { echo "FAIL: no TCP port in the log"; cat "$WORK/medleyd.log"; exit 1; }
export MEDLEY_SOCKET=$SOCK
unset MEDLEY_API_TOKEN

# Prompts: a 100 ms tone and a 3 s one.
if command -v sox >/dev/null; then
    sox -n -r 8000 -c 1 -b 16 "$WORK/short.wav" synth 0.1 sine 1000 vol 0.3 &&
        sox -n -r 8000 -c 1 -b 16 "$WORK/long.wav" synth 3 sine 440 vol 0.3 ||
        { echo "FAIL: sox"; exit 1; }
    SHORT_MS=100
elif [ -n "$DSP" ]; then
    # Two digits of 50 ms with 50 ms gaps, and 20 digits.
    "$DSP" dial 12 "$WORK/short.wav" --on 50 --off 50 >/dev/null &&
        "$DSP" dial 12345678901234567890 "$WORK/long.wav" --on 100 --off 50 >/dev/null ||
        { echo "FAIL: medley-dsp dial"; exit 1; }
    SHORT_MS=
else
    echo "SKIP: neither sox nor medley-dsp to make a WAV file"
    exit 77
fi

# ---- stats, create, channels, channel ----
ok "stats" stats && {
    has "stats: no channels" '^channels: +0$'
    has "stats: max 4" '^max_channels: +4$'
    has "stats: one worker" '^workers: +1$'
    has "stats: no subscribers" '^subscribers: +0$'
    has "stats: tx counter" '^tx_packets: +[0-9]+$'
}

ok "create pcmu" create --codec pcmu --inband --event-pt 101 --tag call-1
ID1=$(field channel)
has "create: an id" '^channel: +[1-9][0-9]*$'
has "create: port from the base" '^local_port: +20000 \(RTCP 20001\)$'
has "create: local address" '^local_address: +10\.9\.0\.2$'
has "create: codec" '^codec: +PCMU$'
has "create: tag" '^tag: +call-1$'
has "create: learning" '^peer: +- \(learning'
has "create: not learnt" '^learnt: +no$'

ok "create pcma with a peer" --socket "$SOCK" create --codec PCMA --peer 10.9.0.7:4000 --tag call-2
ID2=$(field channel)
has "create 2: codec" '^codec: +PCMA$'
has "create 2: peer" '^peer: +10\.9\.0\.7:4000$'
has "create 2: next port" '^local_port: +20002 '
[ "$ID1" != "$ID2" ] || fail "two channels with one id $ID1"

ok "channels" channels && {
    has "channels: header" '^ID +PORT +CODEC +PEER +RX_PACKETS +LOST +JITTER_MS +TAG$'
    has "channels: row 1" "^$ID1 +20000 +PCMU +\(learning\) +0 +0 +0\.00 +call-1$"
    has "channels: row 2" "^$ID2 +20002 +PCMA +10\.9\.0\.7:4000 +0 +0 +0\.00 +call-2$"
    has "channels: count" '^2 of 4 channels$'
}
[ "$(wc -l <<<"$OUT")" = 4 ] || fail "channels: 4 lines expected, got: $OUT"

ok "channel" channel "$ID1" && {
    for k in channel local_address local_port codec peer learnt tag bridged_to playing \
        rx_packets rx_bytes wrong_source bad_rtp wrong_pt rtcp digits_rfc4733 lost late \
        duplicates jitter_ms frames concealed; do
        has "channel: field $k" "^$k: "
    done
    has "channel: nothing received" '^rx_packets: +0$'
    has "channel: jitter" '^jitter_ms: +0\.00$'
    has "channel: not bridged" '^bridged_to: +-$'
    has "channel: not playing" '^playing: +no$'
}

err "unknown channel" 1 '^medleyctl: NOT_FOUND: no channel 12345$' channel 12345
err "channel 0" 2 'not a channel id' channel 0
err "channel id not a number" 2 "'abc' is not a channel id" channel abc
err "channel without id" 2 '^usage: medleyctl .*channel ID' channel
err "create without codec" 2 'codec' create --tag x
err "create with an unknown codec" 2 'pcmu, pcma, opus8 or opus16' create --codec opus
err "create with a bad peer" 2 'ADDR:PORT' create --codec pcmu --peer 10.0.0.1
err "create with an IPv6 peer without brackets" 2 'ADDR:PORT' create --codec pcmu --peer 2001:db8::1:4000
err "create with a bad event pt" 2 'event-pt' create --codec pcmu --event-pt 200
err "create, unknown option" 2 'unknown option --colour' create --codec pcmu --colour red
err "create, tag too long (the server says)" 1 '^medleyctl: INVALID_ARGUMENT: tag: at most 63 bytes$' \
    create --codec pcmu --tag "$(printf 'x%.0s' $(seq 64))"
err "create, IPv6 peer on an IPv4 engine (the server says)" 1 \
    '^medleyctl: INVALID_ARGUMENT: remote_address 2001:db8::1: the engine has no IPv6 address$' \
    create --codec pcmu --peer '[2001:db8::1]:4000'
err "create near a missing channel" 1 '^medleyctl: NOT_FOUND: near_channel 999: no such channel$' \
    create --codec pcmu --near 999
ok "stats after refused creates" stats && has "refused creates created nothing" '^channels: +2$'
ok "create opus16" create --codec opus16 --tag opus && has "create opus16: codec" '^codec: +OPUS16$'
ok "delete the opus channel" delete "$(field channel)"

# ---- prompts ----
( cd "$WORK" && "$CTL" load-prompt short short.wav >"$WORK/out" 2>"$WORK/err" )
RC=$?
OUT=$(cat "$WORK/out")
checks=$((checks + 1))
[ "$RC" = 0 ] || fail "load-prompt with a relative path: exit $RC, $(cat "$WORK/err")"
if [ -n "$SHORT_MS" ]; then
    has "load-prompt: name and duration" "^loaded prompt short \($SHORT_MS ms\)$"
else
    has "load-prompt: name and duration" '^loaded prompt short \([0-9]+ ms\)$'
fi
ok "load-prompt long" load-prompt long "$WORK/long.wav"
ok "prompts" prompts && {
    has "prompts: header" '^NAME +DURATION_MS$'
    has "prompts: short" '^short +[0-9]+$'
    has "prompts: long" '^long +[0-9]+$'
}
err "load a missing file" 1 '^medleyctl: NOT_FOUND: .*no/such\.wav' load-prompt x "$WORK/no/such.wav"
printf 'RIFF\020\000\000\000WAVEjunk' >"$WORK/bad.wav"
err "load a bad file" 1 '^medleyctl: INVALID_ARGUMENT: .*bad\.wav' load-prompt x "$WORK/bad.wav"
err "load with a bad name" 1 '^medleyctl: INVALID_ARGUMENT: .*name' load-prompt "a b" "$WORK/short.wav"
err "load-prompt without a path" 2 '^usage: ' load-prompt x

# ---- watch and play ----
"$CTL" watch --channel "$ID1" >"$WORK/watch.out" 2>"$WORK/watch.err" &
WPID=$!
subscribed() {
    "$CTL" stats 2>/dev/null | grep -Eq '^subscribers: +1$'
}
wait_for 10 subscribed || fail "watch: no subscriber shows in stats"
ok "play" play "$ID1" shortx2 short --gap 20 && has "play: said" "^playing 2 items on channel $ID1$"
ok "play on another channel (filtered out of watch)" play "$ID2" short
done_event() {
    grep -Eq "PROMPT_DONE channel=$ID1 seq=1$" "$WORK/watch.out"
}
checks=$((checks + 1))
wait_for 10 done_event || fail "watch: no PROMPT_DONE line: $(cat "$WORK/watch.out" "$WORK/watch.err")"
checks=$((checks + 1))
grep -Eq '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} PROMPT_DONE channel=' "$WORK/watch.out" ||
    fail "watch: line format: $(cat "$WORK/watch.out")"
sleep 0.3
checks=$((checks + 1))
! grep -q "channel=$ID2" "$WORK/watch.out" || fail "watch --channel: another channel's event shown"
kill -INT "$WPID"
wait "$WPID"
WRC=$?
WPID=
checks=$((checks + 1))
[ "$WRC" = 0 ] || fail "watch: exit $WRC after SIGINT, stderr: $(cat "$WORK/watch.err")"
[ ! -s "$WORK/watch.err" ] || fail "watch: stderr: $(cat "$WORK/watch.err")"
wait_for 5 bash -c "\"$CTL\" stats | grep -Eq '^subscribers: +0$'" ||
    fail "watch: subscriber still there after SIGINT"

ok "play long with barge-in" play "$ID1" long --barge-in && has "play: barge-in said" 'barge-in on'
ok "channel while playing" channel "$ID1" && has "playing: yes" '^playing: +yes$'
ok "stop" stop "$ID1" && has "stop: said" "^stopped playback on channel $ID1$"
ok "channel after stop" channel "$ID1" && has "playing: no after stop" '^playing: +no$'
err "play an unknown prompt" 1 "^medleyctl: NOT_FOUND: .*'nosuch'" play "$ID1" nosuch
err "play on an unknown channel" 1 '^medleyctl: NOT_FOUND: no channel 777$' play 777 short
err "play, zero loops" 2 'loops' play "$ID1" shortx0
err "play without items" 2 '^usage: ' play "$ID1"
err "watch, bad type" 2 'type' watch --type nonsense

# ---- bridges ----
ok "create near" create --codec pcmu --near "$ID1"
ID3=$(field channel)
ok "bridge" bridge "$ID1" "$ID3" && has "bridge: said" "^bridged channels $ID1 and $ID3$"
ok "channel when bridged" channel "$ID1" && has "bridged_to" "^bridged_to: +$ID3$"
ok "unbridge" unbridge "$ID1" && has "unbridge: said" "^unbridged channel $ID1$"
ok "channel after unbridge" channel "$ID1" && has "not bridged after unbridge" '^bridged_to: +-$'
err "bridge to itself" 1 '^medleyctl: (INVALID_ARGUMENT|FAILED_PRECONDITION): ' bridge "$ID1" "$ID1"
err "bridge an unknown channel" 1 '^medleyctl: NOT_FOUND: ' bridge "$ID1" 4242
err "bridge with one id" 2 '^usage: ' bridge "$ID1"

# ---- delete ----
ok "delete" delete "$ID3" && has "delete: said" "^deleted channel $ID3$"
err "delete twice" 1 "^medleyctl: NOT_FOUND: no channel $ID3$" delete "$ID3"
ok "channels after delete" channels && has "count after delete" '^2 of 4 channels$'

# ---- TCP and the token ----
echo "$TOKEN" >"$WORK/token"
echo "wrong-token" >"$WORK/badtoken"
ok "TCP with the token file" --tcp 127.0.0.1:"$PORT" --token-file "$WORK/token" channels &&
    has "TCP: the same channels" "^$ID1 +20000 "
MEDLEY_API_TOKEN=$TOKEN ok "TCP with the token from the environment" --tcp localhost:"$PORT" stats &&
    has "TCP env: stats" '^channels: +2$'
err "TCP with a wrong token" 1 '^medleyctl: UNAUTHENTICATED: .*bearer token' \
    --tcp 127.0.0.1:"$PORT" --token-file "$WORK/badtoken" stats
err "TCP without a token" 1 '^medleyctl: UNAUTHENTICATED: ' --tcp 127.0.0.1:"$PORT" stats
err "TCP watch with a wrong token" 1 '^medleyctl: UNAUTHENTICATED: ' \
    --tcp 127.0.0.1:"$PORT" --token-file "$WORK/badtoken" watch
err "TCP, missing token file" 2 'cannot read a token' --tcp 127.0.0.1:"$PORT" --token-file "$WORK/none" stats

# ---- connection failures and usage ----
err "no such socket" 1 "^medleyctl: UNAVAILABLE: cannot connect to $WORK/none\.sock: No such file" \
    --socket "$WORK/none.sock" stats
MEDLEY_SOCKET=$WORK/env.sock err "MEDLEY_SOCKET is used" 1 "cannot connect to $WORK/env\.sock" stats
kill -STOP "$MPID"
err "a stopped server: the timeout" 1 '^medleyctl: UNAVAILABLE: no HTTP/2 SETTINGS .* 300 ms' \
    --timeout 300 stats
kill -CONT "$MPID"
ok "and after it goes on" stats
err "no command" 2 '^usage: ' 
err "unknown command" 2 "unknown command 'frobnicate'" frobnicate
err "unknown option" 2 'unknown option --colour' --colour red stats
err "socket and tcp" 2 'one or the other' --socket "$SOCK" --tcp 127.0.0.1:1 stats
err "bad --tcp" 2 'HOST:PORT' --tcp localhost stats
err "token file without tcp" 2 'token-file goes with --tcp' --token-file "$WORK/token" stats
err "extra argument" 2 '^usage: ' stats now
ok "help" --help && has "help lists commands" '^  watch '

# ---- IVR flows, digits, recording ----
SRC=$(cd "$(dirname "$0")/../.." && pwd)
ok "ivr check (no engine needed)" ivr check "$SRC/flows/1000.yaml" && has "ivr check: ok" 'flow 1000, [0-9]+ steps, 2 languages: ok'
has "ivr check: the gap warning" 'options numbered with a gap'
printf 'name: x\nsteps: [\n' >"$WORK/bad.yaml"
err "ivr check of a broken file" 1 'bad.yaml:3: YAML' ivr check "$WORK/bad.yaml"
printf 'name: x\nlanguages: [en]\nstart: m\nagent_queue: q\ntoo_many: t\nsteps:\n  m:\n    menu: p\n    options: {9: m}\n' >"$WORK/fixed.yaml"
err "ivr check: a fixed key as an option" 1 'fixed key' ivr check "$WORK/fixed.yaml"
err "ivr usage" 2 '^usage: ' ivr frobnicate
if [ -d "$SRC/flows/prompts" ]; then
    ok "ivr load" ivr load "$SRC/flows/1000.yaml" && has "ivr load: prompts" 'flow 1000: [0-9]+ steps, languages zh en, [0-9]+ prompts'
    ok "ivr flows" ivr flows && has "ivr flows lists it" '^flow 1000: '
    run create --codec pcmu --inband --event-pt 101
    IVRCH=$(field channel)
    ok "ivr start" ivr start "$IVRCH" 1000 --ani 13912345678
    err "ivr start twice" 1 'FAILED_PRECONDITION: channel [0-9]+ is already in an IVR session' ivr start "$IVRCH" 1000
    ok "ivr stop" ivr stop "$IVRCH"
    err "ivr stop twice" 1 'NOT_FOUND' ivr stop "$IVRCH"
    ok "send-digits rfc4733" send-digits "$IVRCH" 12 --rfc4733 && has "send-digits says" 'sending 12 .*RFC 4733'
    ok "send-digits in-band" send-digits "$IVRCH" '#*'
    err "send-digits bad digit" 1 'INVALID_ARGUMENT' send-digits "$IVRCH" 12x
    err "record without --record-dir" 1 'FAILED_PRECONDITION: recording is off' record "$IVRCH" x.wav
fi

# ---- the ACD: queues, agents, a call offered and answered, the live view ----
# Channels: the ACD's caller and agent legs need two of the four.
run channels
for id in $(awk '$1 ~ /^[0-9]+$/ && $2 != "of" {print $1}' <<<"$OUT"); do "$CTL" delete "$id" >/dev/null; done
ok "acd with nothing configured" acd && has "acd: no queues" '^\(no queues\)$'
has "acd: no agents" '^agents: +0 logged in: 0 ready, 0 busy, 0 not ready$'
has "acd: no agent lines" '^\(no agents\)$'
ok "queue-add" queue-add general --skill agent --acw-ms 60000 --strategy fewest_calls &&
    has "queue-add says" '^queue general: added \(skill agent, fewest_calls\)$'
err "queue-add twice" 1 '^medleyctl: ALREADY_EXISTS: add queue: ' queue-add general
err "queue-add bad strategy" 2 'strategy fastest: longest_idle' queue-add q2 --strategy fastest
err "queue-add bad number" 2 '--acw-ms soon: a number' queue-add q2 --acw-ms soon
ok "agent add" agent 1001 add agent:5 && has "agent add says" '^agent 1001: added, skills agent:5$'
ok "agent add, two skills" agent 1002 add agent:7 billing
has "agent add: the default level" 'skills agent:7 billing:5$'
err "agent add: bad level" 2 "skill 'agent:11'" agent 1003 add agent:11
run create --codec pcmu --tag acd-caller
ACALLER=$(field channel)
run create --codec pcmu --near "$ACALLER" --tag acd-agent
AAGENT=$(field channel)
ok "agent login on a channel" agent 1001 login "$AAGENT" &&
    has "agent login says" "^agent 1001: logged in on channel $AAGENT \(not ready: login\)$"
ok "agent login without a leg" agent 1002 login
err "agent login twice" 1 '^medleyctl: ALREADY_EXISTS: agent: ' agent 1002 login
ok "agent not-ready with a reason" agent 1002 not-ready lunch && has "not-ready says" '^agent 1002: not ready \(lunch\)$'
err "unknown agent" 1 "^medleyctl: NOT_FOUND: no agent '9999'$" agent 9999 ready
err "agent login: bad channel" 2 "'abc' is not a channel id" agent 1001 login abc
err "agent login: no such channel" 1 '^medleyctl: NOT_FOUND: no channel 4242$' agent 1002 login 4242
err "agent: unknown operation" 2 '^usage: .* agent ID login' agent 1001 frobnicate
err "agent: too long an id" 2 'not an agent id' agent "$(printf '%040d' 1)" ready
err "queue-call: no such queue" 1 "^medleyctl: NOT_FOUND: " queue-call "$ACALLER" nosuch
ok "queue-call" queue-call "$ACALLER" general --ani 13800001111 --priority 1 --data trail=main
has "queue-call says" "^call [0-9]+: channel $ACALLER queued in general$"
ACALL=$(sed -n 's/^call \([0-9]*\):.*/\1/p' <<<"$OUT")
err "queue-call: the channel is queued already" 1 '^medleyctl: FAILED_PRECONDITION: the channel is in the ACD already$' \
    queue-call "$ACALLER" general
err "queue-call: bad priority" 2 'priority 7: 0-3' queue-call "$ACALLER" general --priority 7
ok "acd with a caller waiting" acd && has "acd: agents" '^agents: +2 logged in: 0 ready, 0 busy, 2 not ready$'
has "acd: waiting" '^waiting: +1 callers, longest [0-9]+:[0-9]{2}$'
has "acd: the queue's row" '^general +1 +[0-9]+:[0-9]{2} +- +- +1 +0 +0 +0 +0$'
has "acd: agent 1001 not ready (login)" '^1001 +NOT_READY +login +0:[0-9]{2} +- +0$'
has "acd: agent 1002 not ready (lunch)" '^1002 +NOT_READY +lunch +0:[0-9]{2} +- +0$'
# The wallboard (stdout not a terminal: plain blocks) while the agent takes the call.
"$CTL" wallboard --interval 1 --count 3 >"$WORK/wb.out" 2>"$WORK/wb.err" &
WPID=$!
sleep 0.5
ok "agent ready" agent 1001 ready && has "ready says" '^agent 1001: ready$'
ok "agent answer" agent 1001 answer "$ACALL" "$AAGENT" &&
    has "answer says" "^agent 1001: answered call $ACALL on channel $AAGENT$"
ok "the other agent ready" agent 1002 ready
wait "$WPID"
WRC=$?
WPID=
checks=$((checks + 1))
[ "$WRC" = 0 ] || fail "wallboard --count 3: exit $WRC, stderr $(cat "$WORK/wb.err")"
OUT=$(cat "$WORK/wb.out")
checks=$((checks + 1))
[ "$(grep -c '^medley ACD wallboard ' <<<"$OUT")" = 3 ] || fail "wallboard: not 3 refreshes: $OUT"
checks=$((checks + 1))
grep -q $'\033' <<<"$OUT" && fail "wallboard: terminal codes when stdout is not a terminal"
has "wallboard: the talking agent" "^1001 +TALKING +- +0:0[0-9] +$ACALL +1$"
has "wallboard: the ready agent" '^1002 +READY +- +0:0[0-9] +- +0$'
has "wallboard: the queue answered" '^general +0 .* 100% +1 +1 +0 +1 +1$'
ok "acd after the answer" acd && has "acd: agents after" '^agents: +2 logged in: 1 ready, 1 busy, 0 not ready$'
has "acd: service level" '^general +0 +[0-9]+:[0-9]{2} +[0-9:]+ +100% +1 +1 +0 +1 +1$'
has "acd: the talking agent" "^1001 +TALKING +- +0:[0-9]{2} +$ACALL +1$"
# Ctrl-C ends a wallboard cleanly (exit 0).
"$CTL" wallboard --interval 60 >"$WORK/wb2.out" 2>"$WORK/wb2.err" &
WPID=$!
wait_for 10 grep -q '^AGENT ' "$WORK/wb2.out" || fail "wallboard 2: nothing shown"
kill -INT "$WPID"
wait "$WPID"
WRC=$?
WPID=
checks=$((checks + 1))
[ "$WRC" = 0 ] || fail "wallboard after Ctrl-C: exit $WRC, stderr $(cat "$WORK/wb2.err")"
err "wallboard: bad interval" 2 'interval 0: seconds, 1-3600' wallboard --interval 0
ok "agent hangup" agent 1001 hangup && has "hangup says" '^agent 1001: hung up \(after-call work\)$'
err "agent hangup twice" 1 '^medleyctl: FAILED_PRECONDITION: agent: ' agent 1001 hangup
err "call-hangup: no such call" 1 '^medleyctl: NOT_FOUND: ' call-hangup 12345
err "call-hangup: bad id" 2 "'x' is not a call id" call-hangup x
ok "agent logout" agent 1001 logout && has "logout says" '^agent 1001: logged out$'
ok "acd after the logout" acd && has "acd: logged out" '^1001 +LOGGED_OUT +logout +- +- +0$'

# ---- a watch ends with the server ----
"$CTL" watch >"$WORK/watch2.out" 2>"$WORK/watch2.err" &
WPID=$!
wait_for 10 subscribed || fail "watch 2: no subscriber shows in stats"
# ... and so does a wallboard (exit 1, UNAVAILABLE).
"$CTL" wallboard --interval 1 >"$WORK/wb3.out" 2>"$WORK/wb3.err" &
BPID=$!
wait_for 10 grep -q '^AGENT ' "$WORK/wb3.out" || fail "wallboard 3: nothing shown"
kill -TERM "$MPID"
wait "$MPID"
MRC=$?
MPID=
checks=$((checks + 1))
[ "$MRC" = 0 ] || fail "medleyd exit $MRC"
wait "$WPID"
WRC=$?
WPID=
checks=$((checks + 1))
[ "$WRC" = 1 ] || fail "watch when medleyd stops: exit $WRC"
grep -Eq '^medleyctl: UNAVAILABLE: medleyd is stopping$' "$WORK/watch2.err" ||
    fail "watch when medleyd stops: stderr $(cat "$WORK/watch2.err")"
wait "$BPID"
BRC=$?
checks=$((checks + 1))
[ "$BRC" = 1 ] || fail "wallboard when medleyd stops: exit $BRC"
checks=$((checks + 1))
grep -Eq '^medleyctl: UNAVAILABLE: ' "$WORK/wb3.err" ||
    fail "wallboard when medleyd stops: stderr $(cat "$WORK/wb3.err")"

# ---- kpi-csv: the history medleyd wrote when it stopped (read-only, no engine) ----
SUM0=$(md5sum <"$WORK/kpi.db")
ok "kpi-csv" kpi-csv "$WORK/kpi.db" && has "kpi-csv: header" '^scope,name,start_ms,start,sl_threshold_ms,short_abandon_ms,offered,'
has "kpi-csv: the queue" '^queue,general,'
has "kpi-csv: the agent" '^agent,1001,'
checks=$((checks + 1))
[ "$(awk -F, '$1 == "queue" && $2 == "general" {print $7, $12}' <<<"$OUT" | tr -d '\r')" = "1 1" ] ||
    fail "kpi-csv: general's offered and answered are not 1 and 1: $OUT"
ok "kpi-csv one agent" kpi-csv "$WORK/kpi.db" --scope agent --name 1001
checks=$((checks + 1))
[ "$(wc -l <<<"$OUT")" = 2 ] || fail "kpi-csv --scope agent --name 1001: not one row: $OUT"
ok "kpi-csv queues only" kpi-csv "$WORK/kpi.db" --scope queue
checks=$((checks + 1))
grep -q '^agent,' <<<"$OUT" && fail "kpi-csv --scope queue: agent rows: $OUT"
ok "kpi-csv an empty range" kpi-csv "$WORK/kpi.db" --from 2100-01-01T00:00Z
checks=$((checks + 1))
[ "$(wc -l <<<"$OUT")" = 1 ] || fail "kpi-csv --from 2100: more than the header: $OUT"
checks=$((checks + 1))
[ "$(md5sum <"$WORK/kpi.db")" = "$SUM0" ] || fail "kpi-csv changed the database file"
err "kpi-csv: no such file" 1 'no such file' kpi-csv "$WORK/none.db"
echo "not a database" >"$WORK/junk.db"
err "kpi-csv: not a KPI database" 1 'not a medley KPI database' kpi-csv "$WORK/junk.db"
err "kpi-csv: bad date" 2 'from 2026-13-01: YYYY-MM-DD' kpi-csv "$WORK/kpi.db" --from 2026-13-01
err "kpi-csv: bad scope" 2 'scope team: queue or agent' kpi-csv "$WORK/kpi.db" --scope team
err "kpi-csv: from after to" 2 'from is after --to' kpi-csv "$WORK/kpi.db" --from 2026-12-02 --to 2026-12-01
err "kpi-csv: no file" 2 '^usage: ' kpi-csv

echo "$checks checks, $fails failed"
[ "$fails" = 0 ]
