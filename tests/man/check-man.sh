#!/bin/sh
# check-man.sh - man pages lint clean, and every CLI option of vhostd is
# documented in vhostd(8).
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
