#!/bin/sh
# dtmf-talkoff on malformed input: bad arguments exit 2 with a message; unusable speech
# files (empty, odd-sized, silent, a directory named *.raw) are skipped with
# a message and the run completes.  Usage: talkoff_bad.sh DTMF_TALKOFF_BINARY WORKDIR
bin=$1
dir=$2
fails=0
bad() {
    err=$("$bin" "$@" 2>&1 >/dev/null)
    rc=$?
    if [ $rc -ne 2 ] || [ -z "$err" ]; then
        echo "FAIL: dtmf-talkoff $* -> exit $rc, stderr '$err'"
        fails=$((fails + 1))
    else
        echo "ok: dtmf-talkoff $* -> $(echo "$err" | head -1)"
    fi
}
bad --music-minutes -1
bad --music-minutes nan
bad --music-minutes 1e9
bad --music-minutes
bad --seed 0
bad --codec gsm
bad --spandsp-parms 1 2
bad --bogus
bad --speech "$dir/does-not-exist" --music-minutes 0
bad --report /nonexistent-dir/report.txt --music-minutes 0

rm -rf "$dir/bad-speech"
mkdir -p "$dir/bad-speech/dir.raw"
: > "$dir/bad-speech/empty.raw"
printf 'abc' > "$dir/bad-speech/odd.raw"
head -c 16000 /dev/zero > "$dir/bad-speech/silent.raw"
head -c 32000 /dev/urandom > "$dir/bad-speech/noise.raw"
printf 'not audio' > "$dir/bad-speech/notes.txt"
out=$("$bin" --speech "$dir/bad-speech" --music-minutes 0.05 --report "$dir/bad-report.txt" 2>"$dir/bad-stderr.txt")
rc=$?
echo "$out"
cat "$dir/bad-stderr.txt"
# One usable file (the noise); the 3-byte file holds one sample, too short to have a level.
if [ $rc -gt 1 ] || ! echo "$out" | grep -q "speech: 1 files" ||
    ! grep -q "odd size" "$dir/bad-stderr.txt" || ! grep -q "not a regular file" "$dir/bad-stderr.txt" ||
    ! grep -q "silent" "$dir/bad-stderr.txt" || ! grep -q "empty" "$dir/bad-stderr.txt" ||
    ! grep -q "^total" "$dir/bad-report.txt"; then
    echo "FAIL: malformed speech directory not handled as expected (exit $rc)"
    fails=$((fails + 1))
fi
[ $fails -eq 0 ]
