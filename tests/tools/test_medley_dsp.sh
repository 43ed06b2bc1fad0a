#!/bin/sh
# medley-dsp as a user runs it: digits and times on stdout, errors on stderr with a
# non-zero status and nothing on stdout.  Usage: test_medley_dsp.sh PATH/TO/medley-dsp
tool=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
checks=0

check() {   # check DESCRIPTION COMMAND...
    desc=$1
    shift
    checks=$((checks + 1))
    if ! "$@"; then
        echo "FAIL: $desc" >&2
        fails=$((fails + 1))
    fi
}

# Digits in every encoding: exact digits, times within 2 ms of 0-60, 120-180, ...
for enc in "" --ulaw --alaw; do
    "$tool" dial "159#D" "$work/d.wav" --level -12 --on 60 --off 60 $enc
    "$tool" dtmf "$work/d.wav" >"$work/out" 2>"$work/err"
    check "dtmf $enc exit status" [ $? -eq 0 ]
    check "dtmf $enc no stderr" [ ! -s "$work/err" ]
    check "dtmf $enc digits" [ "$(cut -f1 "$work/out" | tr -d '\n')" = "159#D" ]
    check "dtmf $enc times" awk -F'\t' '{ s = NR * 120 - 120; if ($2 < s - 2 || $2 > s + 2 || $3 < s + 58 || $3 > s + 62) exit 1 }' "$work/out"
    check "dtmf $enc three fields" awk -F'\t' 'NF != 3 { exit 1 }' "$work/out"
done

# Silence: nothing at all.
"$tool" dial "1" "$work/q.wav" --level -90 --on 1000 --off 0
check "quiet file runs" "$tool" dtmf "$work/q.wav" >"$work/out"
check "quiet file prints nothing" [ ! -s "$work/out" ]

# Files from another writer (sox) in every supported format, rate and channel count:
# medley-dsp reads the right format, rate, channels and length. And the other way: sox
# reads medley's files as what they claim to be.
for enc in signed-integer:16:pcm16 u-law:8:ulaw a-law:8:alaw; do
    e=${enc%%:*}; rest=${enc#*:}; bits=${rest%%:*}; name=${rest#*:}
    for rate in 8000 16000; do
        for ch in 1 2; do
            sox -n -r $rate -c $ch -e $e -b $bits "$work/s.wav" synth 0.25 sine 440
            "$tool" info "$work/s.wav" >"$work/out" 2>"$work/err"
            check "info on sox $name $rate $ch: exit status" [ $? -eq 0 ]
            check "info on sox $name $rate $ch: fields" [ "$(cut -f2 "$work/out" | tr '\n' ' ')" = "$name $rate $ch $((rate / 4)) 250 " ]
        done
    done
done
for opt in "" --ulaw --alaw; do
    "$tool" dial "123" "$work/m.wav" --on 50 --off 50 $opt
    check "sox reads medley's file ($opt): length" [ "$(sox --i -s "$work/m.wav")" = 2400 ]
    check "sox reads medley's file ($opt): rate" [ "$(sox --i -r "$work/m.wav")" = 8000 ]
    case $opt in --ulaw) want=u-law ;; --alaw) want=a-law ;; *) want="signed integer pcm" ;; esac
    check "sox reads medley's file ($opt): encoding" sh -c "sox --i -e '$work/m.wav' | tr A-Z a-z | grep -q '^$want'"
done

expect_error() {   # expect_error DESCRIPTION WORD-IN-MESSAGE ARGS...
    desc=$1
    word=$2
    shift 2
    "$tool" "$@" >"$work/out" 2>"$work/err"
    status=$?
    check "$desc: non-zero exit" [ $status -ne 0 ]
    check "$desc: nothing on stdout" [ ! -s "$work/out" ]
    check "$desc: message names the problem" grep -q -- "$word" "$work/err"
}

expect_error "missing file" "No such file" dtmf "$work/none.wav"
printf 'this is not a wav file at all' >"$work/junk.wav"
expect_error "garbage" "not a RIFF/WAVE" dtmf "$work/junk.wav"
head -c 30 "$work/d.wav" >"$work/cut.wav"
expect_error "truncated" "truncated" dtmf "$work/cut.wav"
sox -n -r 16000 -c 1 -b 16 "$work/w16.wav" synth 0.1 sine 1000 2>/dev/null
expect_error "16 kHz" "need 8 kHz mono" dtmf "$work/w16.wav"
sox -n -r 8000 -c 2 -b 16 "$work/st.wav" synth 0.1 sine 1000 2>/dev/null
expect_error "stereo" "need 8 kHz mono" dtmf "$work/st.wav"
sox -n -r 44100 -c 1 -b 16 "$work/w44.wav" synth 0.1 sine 1000 2>/dev/null
expect_error "44.1 kHz" "44100" dtmf "$work/w44.wav"
sox -n -r 8000 -c 1 -e floating-point -b 32 "$work/f.wav" synth 0.1 sine 1000 2>/dev/null
expect_error "float" "IEEE float" dtmf "$work/f.wav"
expect_error "directory" "not a regular file" dtmf "$work"
expect_error "usage" "usage" dtmf
expect_error "bad digit" "digits are" dial "12x" "$work/x.wav"
expect_error "bad level" "bad option" dial "12" "$work/x.wav" --level 10
expect_error "unwritable" "No such file" dial "12" "$work/no/such/dir.wav"

check "isa prints the path used" sh -c "'$tool' isa | grep -q '^used'"

echo "medley-dsp: $checks checks, $fails failed"
[ $fails -eq 0 ]
