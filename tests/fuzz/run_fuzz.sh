#!/bin/sh
# Builds the packet-parser fuzz target with clang's libFuzzer (ASan + UBSan) and runs it
# briefly from a small seed corpus. Skips (exit 77) if clang's fuzzer runtime is missing.
#   run_fuzz.sh SOURCE_ROOT BUILD_DIR [SECONDS]
set -eu
src=$1
out=$2
secs=${3:-20}
if ! command -v clang >/dev/null; then
    echo "clang not installed: fuzzing skipped"
    exit 77
fi
mkdir -p "$out/corpus"
bin="$out/fuzz_pkt"
if ! clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$src" "$src/tests/fuzz/fuzz_pkt.c" "$src/engine/pkt.c" "$src/engine/rtp.c" \
    -o "$bin" 2>"$out/build.log"; then
    if grep -q "fuzzer" "$out/build.log"; then
        cat "$out/build.log"
        echo "libFuzzer runtime missing (libclang-rt-14-dev): fuzzing skipped"
        exit 77
    fi
    cat "$out/build.log"
    exit 1
fi
# Seeds: an IPv4/UDP/RTP frame and an IPv6 one, so the fuzzer starts deep in the parser.
printf '\002\000\000\000\000\001\002\000\000\000\000\002\010\000\105\000\000\050\000\000\000\000\100\021\000\000\012\000\000\001\012\000\000\002\234\100\116\040\000\024\000\000\200\000\000\001\000\000\000\002\000\000\000\003' \
    >"$out/corpus/seed-v4"
printf '\002\000\000\000\000\001\002\000\000\000\000\002\206\335\140\000\000\000\000\024\021\100\040\001\015\270\000\000\000\000\000\000\000\000\000\000\000\001\040\001\015\270\000\000\000\000\000\000\000\000\000\000\000\002\234\100\116\040\000\024\000\000\200\000\000\001\000\000\000\002\000\000\000\003' \
    >"$out/corpus/seed-v6"
"$bin" -max_total_time="$secs" -max_len=1600 -seed=1 "$out/corpus" 2>&1 | tail -5
