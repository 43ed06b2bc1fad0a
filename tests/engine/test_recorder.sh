#!/bin/sh
# The recorder as a process (docs/recording.md).
#   test_recorder.sh TOOL kill   SIGKILL in the middle: files valid, sox reads them,
#                                at most 1 s shorter than what was handed over;
#                                SIGTERM: clean stop, every frame in the file.
#   test_recorder.sh TOOL full   a 256 KiB tmpfs fills up: that recording ends with
#                                -ENOSPC and a valid file, another one goes on
#                                (needs root to mount; exit 77 = skipped otherwise).
set -u
tool=$1
mode=$2
tmp=$(mktemp -d /tmp/md-rec-sh.XXXXXX)
fail=0
cleanup() {
    if mountpoint -q "$tmp/rec/full" 2>/dev/null; then umount "$tmp/rec/full"; fi
    if [ "$fail" = 0 ]; then rm -rf "$tmp"; else echo "files left in $tmp"; fi
}
trap cleanup EXIT

bad() { echo "FAIL: $*"; fail=1; }

# sox's samples per channel, or -1
sox_samples() { sox --i -s "$1" 2>/dev/null || echo -1; }

last_count() { grep -E '^[0-9]+$' "$1" | tail -n 1; }

if [ "$mode" = kill ]; then
    mkdir -p "$tmp/rec"
    # Two processes, one stereo PCM16 and one mono µ-law, killed after about 2.7 s.
    "$tool" record "$tmp/rec" k16.wav pcm16 2 10 > "$tmp/k16.out" 2>&1 &
    p1=$!
    "$tool" record "$tmp/rec" kulaw.wav ulaw 1 10 > "$tmp/kulaw.out" 2>&1 &
    p2=$!
    sleep 2.7
    kill -KILL $p1 $p2
    wait $p1 2>/dev/null
    wait $p2 2>/dev/null
    for spec in "k16 pcm16 2" "kulaw ulaw 1"; do
        set -- $spec
        handed=$(last_count "$tmp/$1.out")
        got=$("$tool" check "$tmp/rec/$1.wav" "$2" "$3") || { bad "$1: not valid"; continue; }
        sx=$(sox_samples "$tmp/rec/$1.wav")
        echo "$1: handed over $handed samples, file has $got (sox: $sx), $(sox --i -D "$tmp/rec/$1.wav") s"
        [ "$sx" = "$got" ] || bad "$1: sox reads $sx samples, dsp/wav.h $got"
        [ "$got" -le "$handed" ] || bad "$1: more samples than handed over"
        [ $((handed - got)) -le 8000 ] || bad "$1: lost more than 1 s ($((handed - got)) samples)"
        [ "$got" -gt 8000 ] || bad "$1: less than 1 s in the file"
    done
    # SIGTERM: the tool calls md_recorder_destroy(); every frame is in the file.
    "$tool" record "$tmp/rec" term.wav alaw 2 10 > "$tmp/term.out" 2>&1 &
    p=$!
    sleep 1.5
    kill -TERM $p
    wait $p
    rc=$?
    [ $rc = 0 ] || bad "term: exit status $rc: $(tail -n 2 "$tmp/term.out")"
    final=$(sed -n 's/^final \([0-9]*\) .*/\1/p' "$tmp/term.out")
    got=$("$tool" check "$tmp/rec/term.wav" alaw 2) || bad "term: not valid"
    sx=$(sox_samples "$tmp/rec/term.wav")
    echo "term: handed over $final samples, file has $got (sox: $sx)"
    [ -n "$final" ] && [ "$got" = "$final" ] && [ "$sx" = "$final" ] || bad "term: file incomplete"
    exit $fail
fi

if [ "$mode" = full ]; then
    mkdir -p "$tmp/rec/full" "$tmp/rec/disk"
    if ! out=$(mount -t tmpfs -o size=256k tmpfs "$tmp/rec/full" 2>&1); then
        echo "SKIP: cannot mount a tmpfs ($out); the full-disk test needs root"
        exit 77
    fi
    "$tool" fill "$tmp/rec" full disk || bad "fill"
    for f in full/full.wav disk/other.wav; do
        sx=$(sox_samples "$tmp/rec/$f")
        echo "$f: sox reads $sx samples, $(stat -c %s "$tmp/rec/$f") bytes"
        [ "$sx" -gt 0 ] || bad "$f: sox cannot read it"
    done
    exit $fail
fi
echo "usage: test_recorder.sh TOOL kill|full"
exit 2
