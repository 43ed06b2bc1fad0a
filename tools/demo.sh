#!/bin/sh
# The demo (the README's first command runs it through tools/setup.sh demo): medleyd on
# a net_tap interface with the sample IVR flow (flows/1000.yaml), and simulated callers
# who dial in through the API, listen, and key DTMF in-band and as RFC 4733 while they
# walk the tree; those the IVR transfers queue in the ACD (position announcements), get
# a simulated agent (its number announced first), are recorded, and answer the survey
# when the queue has one; a live wallboard while it runs; then a report of calls,
# digits, paths, announcements, recordings, errors and the KPIs per queue and agent.
# See tools/demo.py.
#   tools/demo.sh [BUILD_DIR] [--callers N] [--agents N] [--seconds S]
# Needs root and /dev/net/tun. Without them it runs the DSP demonstration instead
# (tools/demo-dsp.sh), which needs neither.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
[ $# -gt 0 ] && shift
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ]; then
    echo "demo: the IVR demo needs root and /dev/net/tun (a net_tap interface);"
    echo "demo: running the DSP demonstration instead"
    exec sh tools/demo-dsp.sh "$build"
fi
if [ ! -d flows/prompts ]; then
    sh tools/make_prompts.sh
fi
exec /usr/bin/python3 tools/demo.py --medleyd "$build/control/medleyd" "$@"
