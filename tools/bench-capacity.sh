#!/bin/sh
# Regenerates the capacity figures of docs/benchmarks.md: a zero-loss search of each
# medley-bench capacity profile, with its table (.txt), every step and trial (.json) and
# the plot of loss and latency against N (.png).
#
#   sh tools/bench-capacity.sh [BUILD_DIR (build)] [OUT_DIR (docs/capacity)] [PROFILE...]
#
# PROFILE: ivr, bridge-record, conference, transcode, and ivr-nic-offload and
# bridge-record-nic-offload (the ring port playing a NIC that does the checksums, as a
# server's NIC does for medleyd); all six when none is named.
# Needs root (DPDK) and both CPUs of the machine to itself: the worker polls one core,
# the generator the other; other processes on them fail steps (see docs/benchmarks.md).
set -eu

build=${1:-build}
out=${2:-docs/capacity}
[ $# -gt 2 ] && shift 2 || set --
bench=$build/bench/medley-bench
if [ ! -x "$bench" ]; then
    echo "bench-capacity: $bench is not built (ninja -C $build bench/medley-bench)" >&2
    exit 2
fi
mkdir -p "$out"

run() {
    name=$1
    shift
    echo "== $name: medley-bench capacity $*"
    "$bench" capacity "$@" --json "$out/capacity-$name.json" --plot "$out/capacity-$name.png" \
        > "$out/capacity-$name.txt"
    cat "$out/capacity-$name.txt"
}

profiles=${*:-ivr ivr-nic-offload bridge-record bridge-record-nic-offload conference transcode}
for p in $profiles; do
    case $p in
        ivr) run ivr --profile ivr --start 8000 --resolution 500 --seconds 5 --warmup 1 ;;
        ivr-nic-offload) run ivr-nic-offload --profile ivr --nic-offload --start 8000 \
                             --resolution 500 --seconds 5 --warmup 1 ;;
        bridge-record) run bridge-record --profile bridge --record --start 4000 --resolution 500 \
                           --seconds 5 --warmup 1 ;;
        bridge-record-nic-offload) run bridge-record-nic-offload --profile bridge --record \
                                       --nic-offload --start 4000 --resolution 500 --seconds 5 \
                                       --warmup 1 ;;
        conference) run conference --profile conference --start 3000 --resolution 500 \
                        --seconds 5 --warmup 1 ;;
        transcode) run transcode --profile transcode --start 200 --resolution 20 \
                       --seconds 5 --warmup 1 ;;
        *) echo "bench-capacity: unknown profile $p (ivr, ivr-nic-offload, bridge-record," \
                "bridge-record-nic-offload, conference, transcode)" >&2
           exit 2 ;;
    esac
done
echo "bench-capacity: results in $out"
