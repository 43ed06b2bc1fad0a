#!/bin/sh
# Builds a fuzz target with clang's libFuzzer (ASan + UBSan) and runs it briefly from a
# small seed corpus. Skips (exit 77) if clang's fuzzer runtime is missing.
#   run_fuzz.sh SOURCE_ROOT BUILD_DIR SECONDS TARGET [LIBS...]
# TARGET: pkt (the packet parser), flow (the IVR flow parser), api (the API's request
# handlers; LIBS are the meson-built engine and dsp libraries and the generated protobuf
# code, linked uninstrumented: the coverage that guides the fuzzer is control/'s).
set -eu
src=$1
out=$2/$4
secs=$3
target=$4
shift 4
if ! command -v clang >/dev/null; then
    echo "clang not installed: fuzzing skipped"
    exit 77
fi
mkdir -p "$out/corpus"
bin="$out/fuzz_$target"
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$src"
case $target in
pkt)
    set -- "$src/tests/fuzz/fuzz_pkt.c" "$src/engine/pkt.c" "$src/engine/rtp.c"
    ;;
flow)
    set -- "$src/tests/fuzz/fuzz_flow.c" "$src/control/flow.c" -lyaml
    ;;
api)
    gen=$1
    shift
    set -- -I"$(dirname "$(dirname "$(dirname "$gen")")")" "$src/tests/fuzz/fuzz_api.c" \
        "$src/control/api.c" "$src/control/ctl.c" "$src/control/ivrs.c" "$src/control/ivr.c" \
        "$src/control/flow.c" "$src/control/say.c" "$src/control/grpc.c" "$src/control/tcp_listen.c" \
        "$src/control/acd_svc.c" \
        "$src/control/acd.c" "$src/control/kpi.c" "$src/control/kpi_store.c" "$gen" "$@" \
        -lprotobuf-c -lnghttp2 -lyaml -luring -lopus -lspandsp -lsqlite3 -lm -lpthread \
        -I/usr/include/opus
    ;;
*)
    echo "unknown target $target"
    exit 2
    ;;
esac
# shellcheck disable=SC2086
if ! clang $flags "$@" -o "$bin" 2>"$out/build.log"; then
    if grep -q "libclang_rt.fuzzer\|fuzzer.*not found" "$out/build.log"; then
        cat "$out/build.log"
        echo "libFuzzer runtime missing (libclang-rt-14-dev): fuzzing skipped"
        exit 77
    fi
    cat "$out/build.log"
    exit 1
fi
case $target in
pkt)
    # An IPv4/UDP/RTP frame and an IPv6 one, so the fuzzer starts deep in the parser.
    printf '\002\000\000\000\000\001\002\000\000\000\000\002\010\000\105\000\000\050\000\000\000\000\100\021\000\000\012\000\000\001\012\000\000\002\234\100\116\040\000\024\000\000\200\000\000\001\000\000\000\002\000\000\000\003' \
        >"$out/corpus/seed-v4"
    printf '\002\000\000\000\000\001\002\000\000\000\000\002\206\335\140\000\000\000\000\024\021\100\040\001\015\270\000\000\000\000\000\000\000\000\000\000\000\001\040\001\015\270\000\000\000\000\000\000\000\000\000\000\000\002\234\100\116\040\000\024\000\000\200\000\000\001\000\000\000\002\000\000\000\003' \
        >"$out/corpus/seed-v6"
    maxlen=1600
    ;;
flow)
    # The sample flow: every construct of the format.
    cp "$src/flows/1000.yaml" "$out/corpus/seed-1000"
    maxlen=16384
    ;;
api)
    # CreateChannel (method 0) with PCMU and a peer; GetChannel (2) of the first id.
    printf '\000\010\001\042\01010.0.0.9\050\240\037' >"$out/corpus/seed-create"
    printf '\002\010\001' >"$out/corpus/seed-get"
    maxlen=512
    ;;
esac
"$bin" -max_total_time="$secs" -max_len=$maxlen -seed=1 "$out/corpus" 2>&1 | tail -5
