#!/bin/sh
# check-man.sh - man pages lint clean; every CLI option of vhostd is
# documented in vhostd(8); every device key of the key tables (as
# vhostd --help prints them) is documented in vhostd(8)'s DEVICES and vice
# versa, and so are the backend-program aliases; every global option of
# the configuration file (src/conffile.c) is documented in vhostd.conf(5)
# and vice versa.
set -u
cd "$(dirname "$0")/../.."
fail=0
if ! command -v mandoc >/dev/null; then
	echo "SKIP: mandoc is not installed (apt-get install mandoc)"
	exit 77
fi
for m in man/*.[0-9]; do
	out=$(mandoc -Tlint -W warning "$m" 2>&1)
	if [ -n "$out" ]; then
		echo "FAIL: $m is not lint clean:"; echo "$out"; fail=1
	fi
done
# Long options as main.c declares them: { "name", ...
opts=$(sed -n 's/^\t{ "\([a-z-]*\)",.*/\1/p' src/main.c)
[ -n "$opts" ] || { echo "FAIL: found no options in src/main.c"; exit 1; }
text=$(mandoc -Tutf8 man/vhostd.8 | col -b)
n=0
for o in $opts; do
	n=$((n + 1))
	if ! printf '%s\n' "$text" | grep -q -- "--$o"; then
		echo "FAIL: option --$o is not documented in man/vhostd.8"
		fail=1
	fi
done
echo "checked $n options"

# Device keys: the tables, through the binary.
vhostd=${VHOSTD:-build/vhostd}
if [ ! -x "$vhostd" ]; then
	echo "FAIL: no $vhostd (make first, or set VHOSTD)"; exit 1
fi
help=$("$vhostd" --help) || { echo "FAIL: $vhostd --help"; exit 1; }
keys=$(printf '%s\n' "$help" | sed -n 's/^  \([a-z][a-z-]*\)=.*/\1/p' | sort -u)
[ -n "$keys" ] || { echo "FAIL: vhostd --help lists no device keys"; exit 1; }
# .It Cm KEY Ns = ... in the DEVICES section of vhostd.8.
mankeys=$(sed -n '/^\.Sh DEVICES/,/^\.Sh /p' man/vhostd.8 |
    sed -n 's/^\.It Cm \([a-z\\-]*\) Ns =.*/\1/p' | sed 's/\\-/-/g' | sort -u)
nk=0
for k in $keys; do
	nk=$((nk + 1))
	printf '%s\n' "$mankeys" | grep -qx -- "$k" || {
		echo "FAIL: device key $k= (vhostd --help) is not in vhostd.8 DEVICES"
		fail=1; }
done
for k in $mankeys; do
	printf '%s\n' "$keys" | grep -qx -- "$k" || {
		echo "FAIL: vhostd.8 documents key $k=, which no key table has"
		fail=1; }
done
echo "checked $nk device keys"
# Backend-program aliases ([--alias] in --help) in vhostd.8.
for a in $(printf '%s\n' "$help" | sed -n 's/.*\[--\([a-z-]*\)\]$/\1/p' | sort -u); do
	printf '%s\n' "$text" | grep -q -- "--$a" || {
		echo "FAIL: backend option --$a is not documented in vhostd.8"
		fail=1; }
done
for t in $(printf '%s\n' "$help" | sed -n 's/^Keys of \([a-z-]*\) .*/\1/p'); do
	"$vhostd" "$t" --help >/dev/null || {
		echo "FAIL: vhostd $t --help"; fail=1; }
done

# Global options of the file: rows of global_keys in src/conffile.c.
gopts=$(sed -n '/global_keys\[\] = {/,/^};/p' src/conffile.c |
    sed -n 's/^\t{ "\([a-z-]*\)",.*/\1/p' | sort -u)
[ -n "$gopts" ] || { echo "FAIL: found no global options in src/conffile.c"; exit 1; }
mangopts=$(sed -n 's/^\.It Cm \([a-z\\-]*\) No =.*/\1/p' man/vhostd.conf.5 |
    sed 's/\\-/-/g' | sort -u)
for o in $gopts; do
	printf '%s\n' "$mangopts" | grep -qx -- "$o" || {
		echo "FAIL: global option $o is not documented in vhostd.conf.5"
		fail=1; }
done
for o in $mangopts; do
	printf '%s\n' "$gopts" | grep -qx -- "$o" || {
		echo "FAIL: vhostd.conf.5 documents $o, which conffile.c lacks"
		fail=1; }
done

# Metrics: every metric vhostd ctl stats --prometheus declares (a running
# vhostd with an rng and a blk device) is in vhostd.8 METRICS, and every
# one METRICS lists is declared (vhostd_TYPE_NAME_total stands for the
# device types' own).
mmetrics=$(sed -n '/^\.Sh METRICS/,/^\.Sh /p' man/vhostd.8 |
    sed -n 's/^\.It Li \(vhostd_[a-z_]*\) Pq.*/\1/p' | sort -u)
tmp=$(mktemp -d /tmp/vhostd-check-man.XXXXXX)
mkfifo "$tmp/ready"
"$vhostd" --policy-dir=policies/x86_64 --control="$tmp/ctl" --ready-fd=3 \
    --device "rng,name=r,socket=$tmp/r.sock" \
    --device "blk,name=d,socket=$tmp/d.sock,null=1M" \
    3>"$tmp/ready" >"$tmp/log" 2>&1 &
vpid=$!
if read -r _ < "$tmp/ready" &&
    "$vhostd" ctl --control="$tmp/ctl" stats --prometheus > "$tmp/prom"; then
	pmetrics=$(sed -n 's/^# TYPE \([a-z_]*\) .*/\1/p' "$tmp/prom" | sort -u)
	nm=0
	for m in $pmetrics; do
		nm=$((nm + 1))
		printf '%s\n' "$mmetrics" | grep -qx -- "$m" || {
			echo "FAIL: metric $m (ctl stats --prometheus) is not in vhostd.8 METRICS"
			fail=1; }
	done
	for m in $mmetrics; do
		printf '%s\n' "$pmetrics" | grep -qx -- "$m" || {
			echo "FAIL: vhostd.8 METRICS lists $m, which ctl stats does not print"
			fail=1; }
	done
	echo "checked $nm metrics"
else
	echo "FAIL: no metrics: vhostd with an rng and a blk device: $(tail -3 "$tmp/log")"
	fail=1
fi
kill "$vpid" 2>/dev/null
wait "$vpid" 2>/dev/null
rm -rf "$tmp"

# JSON examples render with their quotes: mdoc takes quotes inside macro
# arguments as delimiters ({"type": rng, ...} is what that leaves).
for m in man/*.[0-9]; do
	bad=$(mandoc -Tutf8 "$m" | col -b | grep '{"' |
	    grep -E '": [^"[{0-9tfn ]|", [^" ]|\[[^]"]' || true)
	if [ -n "$bad" ]; then
		echo "FAIL: $m renders JSON without quotes: $bad"; fail=1
	fi
done
exit $fail
