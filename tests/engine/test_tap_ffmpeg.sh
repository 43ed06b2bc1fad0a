#!/bin/sh
# medleyd against a real RTP sender nobody here wrote: ffmpeg sends µ-law RTP carrying
# DTMF tones through a net_tap interface; the kernel finds medleyd by ARP (answered by
# medleyd itself), and medleyd must report the digits, in order, as in-band.
# Needs root, /dev/net/tun, ip and ffmpeg; skipped (77) without them.
#   test_tap_ffmpeg.sh MEDLEYD MEDLEY_DSP
md=$1
dsp=$2
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ] || ! command -v ffmpeg >/dev/null ||
    ! command -v ip >/dev/null; then
    echo "needs root, /dev/net/tun, ip and ffmpeg: skipped"
    exit 77
fi
work=$(mktemp -d)
iface=mdt$$
net=10.$(( ($$ / 256) % 200 + 20 )).$(( $$ % 256 ))
cleanup() {
    [ -n "${pid:-}" ] && kill -TERM "$pid" 2>/dev/null
    ip link del "$iface" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

"$dsp" dial 1357 "$work/dial.wav" --level -10 --on 100 --off 100 || exit 1
"$md" --file-prefix=mdtap-$$ -m 256 --vdev=net_tap0,iface=$iface --no-pci --no-telemetry \
    -l 0 --log-level=error -- --ip4 "$net.2" --learn-channels 1 >"$work/md.out" 2>&1 &
pid=$!
for i in 1 2 3 4 5 6 7 8 9 10; do
    grep -q "port 0 up" "$work/md.out" && break
    sleep 0.5
done
if ! grep -q "port 0 up" "$work/md.out"; then
    echo "FAIL: medleyd did not come up"
    cat "$work/md.out"
    exit 1
fi
ip link set "$iface" up && ip addr add "$net.1/24" dev "$iface" || exit 1
# 20 ms packets (160 samples), as the engine's channels expect.
ffmpeg -hide_banner -loglevel error -re -i "$work/dial.wav" -af asetnsamples=n=160 -ar 8000 \
    -ac 1 -acodec pcm_mulaw -max_packet_size 172 -f rtp "rtp://$net.2:20000" >"$work/ff.out" 2>&1
sleep 1
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
fails=0
[ $rc -eq 0 ] || { echo "FAIL: medleyd exit $rc"; fails=$((fails + 1)); }
digits=$(awk '/^digit / && $6 == "inband" { printf "%s", $2 }' "$work/md.out")
[ "$digits" = "1357" ] || { echo "FAIL: digits '$digits'"; grep -v "tap_\\|qdisc\\|eth_dev" "$work/md.out"; fails=$((fails + 1)); }
grep -q "replies [1-9]" "$work/md.out" || { echo "FAIL: no ARP reply sent"; fails=$((fails + 1)); }
echo "tap-ffmpeg: digits $digits, $fails failed"
[ $fails -eq 0 ]
