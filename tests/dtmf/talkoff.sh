#!/bin/sh
# Makes the speech for the talk-off measurement with espeak-ng (cached in DIR) and runs
# it.  Usage: talkoff.sh DTMF_TALKOFF_BINARY DIR [MUSIC_MINUTES]
set -eu
bin=$1
dir=$2
minutes=${3:-20}
mkdir -p "$dir/speech"

if command -v espeak-ng >/dev/null && command -v sox >/dev/null; then
    if [ ! -f "$dir/speech/.done" ]; then
        en="Thank you for calling. Your account balance is one hundred and twenty three dollars and forty five cents. For billing, press one; for technical support, press two; to hear these options again, press nine. Please hold while we connect you to the next available agent. The quick brown fox jumps over the lazy dog. She sells sea shells by the sea shore. Seven, eight, nine, ten, eleven, twelve; nineteen ninety nine; zero zero seven."
        zh="感谢您的来电。您的账户余额为一百二十三元四角五分。查询话费请按一，技术支持请按二，重听请按九。请稍候，我们正在为您转接下一位客服代表。今天天气很好，我们一起去公园散步吧。零一二三四五六七八九。"
        for voice in en en-us de fr es ru it pt nl pl; do
            for variant in "" +f2 +m3 +f4; do
                for speed in 150 190; do
                    name="$voice$variant-$speed"
                    espeak-ng -v "$voice$variant" -s "$speed" -w "$dir/speech/$name.wav" "$en"
                    sox -V1 "$dir/speech/$name.wav" -t raw -r 8000 -c 1 -b 16 -e signed-integer \
                        "$dir/speech/$name.raw"
                    rm -f "$dir/speech/$name.wav"
                done
            done
        done
        for variant in "" +f2 +m3 +f4 +m1 +f1; do
            for speed in 130 170 210; do
                name="cmn$variant-$speed"
                espeak-ng -v "cmn$variant" -s "$speed" -w "$dir/speech/$name.wav" "$zh"
                sox -V1 "$dir/speech/$name.wav" -t raw -r 8000 -c 1 -b 16 -e signed-integer \
                    "$dir/speech/$name.raw"
                rm -f "$dir/speech/$name.wav"
            done
        done
        touch "$dir/speech/.done"
    fi
else
    echo "talkoff: espeak-ng or sox missing: speech skipped (tools/setup.sh installs them)"
fi
exec "$bin" "$dir/speech" "$minutes" "$dir/talkoff-report.txt"
