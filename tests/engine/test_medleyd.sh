#!/bin/sh
# medleyd as a process: starts on a virtual device without hugepages and says so, stops
# cleanly (exit 0) on SIGTERM, refuses bad arguments.  Usage: test_medleyd.sh MEDLEYD
bin=$1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
fails=0
eal="-m 256 --vdev=net_null0 --no-pci --no-telemetry -l 0 --log-level=error"

# shellcheck disable=SC2086
"$bin" --file-prefix=mdt-a-$$ $eal -- --ip4 10.0.0.2 --channels 64 --run-ms 300 >"$out" 2>&1
rc=$?
[ $rc -eq 0 ] || { echo "FAIL: timed run exited $rc"; cat "$out"; fails=$((fails + 1)); }
grep -q "no-huge\|using hugepages" "$out" || { echo "FAIL: no word on hugepages"; fails=$((fails + 1)); }
grep -q "port 0 up" "$out" || { echo "FAIL: port not up"; cat "$out"; fails=$((fails + 1)); }

# shellcheck disable=SC2086
"$bin" --file-prefix=mdt-b-$$ $eal -- --ip4 10.0.0.2 --channels 64 >"$out" 2>&1 &
pid=$!
# SIGTERM once it is up (its handler is installed before the port starts): a fixed sleep
# raced a slow start on a busy machine, where the default action killed it.
i=0
while [ $i -lt 100 ] && ! grep -q "port 0 up" "$out"; do
    sleep 0.1
    i=$((i + 1))
done
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 0 ] || { echo "FAIL: SIGTERM gave exit $rc"; cat "$out"; fails=$((fails + 1)); }
grep -q "stopping" "$out" || { echo "FAIL: no clean stop"; fails=$((fails + 1)); }

"$bin" --file-prefix=mdt-c-$$ -- --ip4 not-an-address >"$out" 2>&1
[ $? -eq 2 ] && grep -q usage "$out" || { echo "FAIL: bad address accepted"; fails=$((fails + 1)); }
"$bin" --file-prefix=mdt-d-$$ -- --ip4 10.0.0.2 --channels 40000 >"$out" 2>&1
[ $? -eq 2 ] || { echo "FAIL: too many channels accepted"; fails=$((fails + 1)); }

for bad in 0 999 600001 ten; do
    "$bin" --file-prefix=mdt-e-$$ -- --ip4 10.0.0.2 --internal-offer-ms $bad >"$out" 2>&1
    [ $? -eq 2 ] && grep -q usage "$out" || { echo "FAIL: --internal-offer-ms $bad accepted"; fails=$((fails + 1)); }
done

echo "medleyd: $fails failed"
[ $fails -eq 0 ]
