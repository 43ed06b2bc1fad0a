#!/bin/sh
# The DSP demonstration: dial every DTMF digit into a
# WAV file, bury it in noise and North American dial tone with sox, and let the detector
# find the digits again.  Usage: tools/demo-dsp.sh [BUILD_DIR]
set -eu

build=${1:-build}
tool="$build/tools/medley-dsp"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

digits="0123456789*#ABCD"
echo "== dialling $digits (50 ms tones, 50 ms pauses, -20 dBm0 per tone) into a WAV file"
"$tool" dial "$digits" "$work/dialled.wav" --level -20 --on 50 --off 50
"$tool" info "$work/dialled.wav"

echo "== adding white noise (about 15 dB below the tones) and 350+440 Hz dial tone"
secs=$(sox --i -D "$work/dialled.wav")
gen() { sox -n -r 8000 -c 1 -b 16 "$work/$1.wav" synth "$secs" "$2" "$3" vol "$4"; }
gen noise whitenoise 0 0.012
gen dial350 sine 350 0.02
gen dial440 sine 440 0.02
sox -m -v 1 "$work/dialled.wav" -v 1 "$work/noise.wav" -v 1 "$work/dial350.wav" \
    -v 1 "$work/dial440.wav" -b 16 "$work/noisy.wav"

echo "== medley-dsp dtmf noisy.wav  (digit, start ms, end ms)"
"$tool" dtmf "$work/noisy.wav" | tee "$work/found.txt"

found=$(cut -f1 "$work/found.txt" | tr -d '\n')
if [ "$found" = "$digits" ]; then
    echo "== all 16 digits found, in order"
else
    echo "== expected $digits, found $found" >&2
    exit 1
fi
