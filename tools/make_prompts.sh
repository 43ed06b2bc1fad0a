#!/bin/sh
# Makes the prompt pack of the sample flows with espeak-ng: every line of
# flows/prompts.tsv in English and Mandarin, and the spoken-number prompts (num/...,
# date/...) that control/say.c concatenates, as 8 kHz mono PCM16 WAV files in
# OUT/<lang>/<name>.wav.  Idempotent: files newer than prompts.tsv are kept.
#   tools/make_prompts.sh [OUT]      (default: flows/prompts)
set -eu
cd "$(dirname "$0")/.."
out=${1:-flows/prompts}
list=flows/prompts.tsv
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
made=0

speak() {   # speak LANG NAME TEXT
    f="$out/$1/$2.wav"
    if [ -f "$f" ] && [ "$f" -nt "$list" ] && [ "$f" -nt "$0" ]; then
        return
    fi
    mkdir -p "$(dirname "$f")"
    case $1 in en) voice=en-us ;; zh) voice=cmn ;; esac
    espeak-ng -v "$voice" -s 165 -w "$tmp/s.wav" "$3"
    # Peaks at -6 dBFS: headroom for G.711 and for mixing over music.
    sox -q -V1 "$tmp/s.wav" -r 8000 -c 1 -b 16 -e signed-integer "$f" gain -n -6
    made=$((made + 1))
}

tab=$(printf '\t')
while IFS="$tab" read -r name en zh; do
    case $name in ''|'#'*) continue ;; esac
    speak en "$name" "$en"
    speak zh "$name" "$zh"
done < "$list"

# Spoken numbers: English 0-19, tens, scale words, currency, months.
i=0
for w in zero one two three four five six seven eight nine ten eleven twelve thirteen \
         fourteen fifteen sixteen seventeen eighteen nineteen; do
    speak en "num/$i" "$w"
    i=$((i + 1))
done
i=20
for w in twenty thirty forty fifty sixty seventy eighty ninety; do
    speak en "num/$i" "$w"
    i=$((i + 10))
done
speak en num/hundred hundred
speak en num/thousand thousand
speak en num/million million
speak en num/yuan yuan
speak en num/fen fen
m=1
for w in January February March April May June July August September October November December; do
    speak en "date/m$(printf %02d $m)" "$w"
    m=$((m + 1))
done
# Mandarin: digits, 十 百 千 万, 元 角 分, 年 月 日.
i=0
for w in 零 一 二 三 四 五 六 七 八 九; do
    speak zh "num/$i" "$w"
    i=$((i + 1))
done
speak zh num/ten 十
speak zh num/hundred 百
speak zh num/thousand 千
speak zh num/tenthousand 万
speak zh num/yuan 元
speak zh num/jiao 角
speak zh num/fen 分
speak zh date/year 年
speak zh date/month 月
speak zh date/day 日
echo "prompts: $made made in $out"
