#!/bin/sh
# Sets up a Debian 12 machine for medley, builds it, and runs the demo or the tests.
#
#   tools/setup.sh demo    install what is missing, build, run the demonstration
#   tools/setup.sh test    install what is missing, build, run the whole test suite
#   tools/setup.sh deps    only install what is missing
#   tools/setup.sh bench   install what is missing, build, regenerate the capacity
#                          figures of docs/benchmarks.md (tools/bench-capacity.sh)
#
# Needs root for apt-get (only when a package is missing). Safe to run again: packages
# already installed are not touched and the build directories are reused.
set -eu

cd "$(dirname "$0")/.."

PACKAGES="build-essential meson ninja-build pkg-config python3
  libdpdk-dev dpdk-dev libspandsp-dev liburing-dev libopus-dev libbenchmark-dev
  libnghttp2-dev libprotobuf-c-dev protobuf-c-compiler
  espeak-ng sox clang libclang-rt-14-dev ffmpeg iproute2
  gstreamer1.0-tools gstreamer1.0-plugins-good gstreamer1.0-plugins-base
  python3-grpcio python3-protobuf protobuf-compiler libyaml-dev gnuplot-nox
  libsqlite3-dev"

install_deps() {
    missing=""
    for p in $PACKAGES; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
            missing="$missing $p"
        fi
    done
    if [ -n "$missing" ]; then
        echo "setup: installing:$missing"
        if [ "$(id -u)" -ne 0 ]; then
            echo "setup: these packages are missing and installing them needs root" >&2
            exit 1
        fi
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends $missing
    fi
}

# build DIR [meson options...]
build() {
    dir=$1
    shift
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" "$@"
    else
        meson configure "$dir" "$@" >/dev/null
    fi
    ninja -C "$dir"
}

run_demo() {
    build build
    sh tools/demo.sh build
}

# Counts results in a meson test log: prints "PASSED FAILED".
count_results() {
    log=$1/meson-logs/testlog.json
    if [ ! -f "$log" ]; then
        echo "0 1"
        return
    fi
    # A test declared should_fail that fails as expected is a pass (EXPECTEDFAIL);
    # every other result but OK and SKIP (FAIL, TIMEOUT, UNEXPECTEDPASS, ERROR) fails.
    ok=$(grep -c '"result": "OK"' "$log" || true)
    skip=$(grep -c '"result": "SKIP"' "$log" || true)
    xfail=$(grep -c '"result": "EXPECTEDFAIL"' "$log" || true)
    total=$(grep -c '"result":' "$log" || true)
    good=$((ok + skip + xfail))
    echo "$good $((total - good))"
}

run_tests() {
    status=0
    # The release build, warnings as errors.
    build build-ci -Dwerror=true || status=1
    if [ $status -eq 0 ]; then
        meson test -C build-ci --print-errorlogs --num-processes 2 || status=1
        set -- $(count_results build-ci)
    else
        set -- 0 1
    fi
    passed=$1
    failed=$2
    # The tests again under AddressSanitizer and UndefinedBehaviorSanitizer. Suites
    # marked 'slow' (long signal batteries) run only in the release build.
    if build build-san -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
        -Dbuildtype=debugoptimized; then
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
            ASAN_OPTIONS=detect_leaks=1 \
            meson test -C build-san --print-errorlogs --num-processes 2 --no-suite slow \
            --timeout-multiplier 3 || status=1
        set -- $(count_results build-san)
        passed=$((passed + $1))
        failed=$((failed + $2))
    else
        status=1
        failed=$((failed + 1))
    fi
    echo "$passed passed, $failed failed"
    if [ "$failed" -ne 0 ]; then
        status=1
    fi
    return $status
}

case "${1:-}" in
    demo)
        install_deps
        sh tools/make_prompts.sh
        run_demo
        ;;
    test)
        install_deps
        sh tools/make_prompts.sh
        run_tests
        ;;
    deps)
        install_deps
        sh tools/make_prompts.sh
        ;;
    bench)
        install_deps
        build build
        sh tools/bench-capacity.sh build docs/capacity
        ;;
    *)
        echo "usage: $0 demo|test|deps|bench" >&2
        exit 2
        ;;
esac
