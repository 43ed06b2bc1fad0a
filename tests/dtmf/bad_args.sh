#!/bin/sh
# Malformed arguments to dtmf-conformance: each must give a message on stderr and exit
# status 2 (not a crash, not a run).  Usage: bad_args.sh DTMF_CONFORMANCE_BINARY
bin=$1
fails=0
check() {
    err=$("$bin" "$@" 2>&1 >/dev/null)
    rc=$?
    if [ $rc -ne 2 ] || [ -z "$err" ]; then
        echo "FAIL: dtmf-conformance $* -> exit $rc, stderr '$err'"
        fails=$((fails + 1))
    else
        echo "ok: dtmf-conformance $* -> $(echo "$err" | head -1)"
    fi
}
check
check nosuchdetector
check medley --frame 0
check medley --frame 12x
check medley --frame 99999999999999999999
check medley --frame
check medley --seed -3
check medley --step 0
check medley --step 103
check medley --bogus
check medley --parms 1 -1 -1 -99
check medley --expect-spandsp
check spandsp --parms 1 2
check spandsp --parms 1 -1 -1 5
check spandsp --parms x -1 -1 -99
[ $fails -eq 0 ]
