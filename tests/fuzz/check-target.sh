#!/bin/sh
# check-target.sh BUILD SRC - one fuzz target as a test of make check
# (scripts/run-tests runs it for every tests/fuzz/*_fuzz.c): build
# BUILD/fuzz/NAME and run it for CHECK_FUZZ_TIME seconds (default 20)
# from its seed corpus.  Exit 0: no finding; 1: a finding or a build
# failure; 77: clang with libFuzzer is not installed (skipped).
set -u

build=$1
src=$2
name=$(basename "$src" .c)
here=$(cd "$(dirname "$0")" && pwd)
fbuild="$(cd "$build" && pwd)/fuzz"
clang=${CLANG:-clang}
secs=${CHECK_FUZZ_TIME:-20}

probe=$(mktemp -d "${TMPDIR:-/tmp}/vhostd-fuzzprobe.XXXXXX") || exit 1
trap 'rm -rf "$probe"' EXIT
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)'\
'{ (void)d; (void)n; return 0; }\n' >"$probe/p.c"
if ! command -v "$clang" >/dev/null 2>&1; then
	echo "skip: $clang not found (install clang for the fuzz targets)"
	exit 77
fi
if ! "$clang" -fsanitize=fuzzer,address -o "$probe/p" "$probe/p.c" \
    >/dev/null 2>&1; then
	echo "skip: $clang cannot build libFuzzer targets (-fsanitize=fuzzer)"
	exit 77
fi
if ! make -s -C "$here" BUILD="$fbuild" "$fbuild/$name"; then
	echo "fuzz: $name: build failed"
	exit 1
fi
exec sh "$here/run-target.sh" "$fbuild" "$name" "$secs"
