#!/bin/sh
# include-graph.sh [ROOT] - the include graph of src/ and sandbox/ points
# one way (DESIGN.md "Components"):
#
#   util < mem < virtio < vhost < devices < config < host, listener,
#   sandbox < main
#
# Every #include "..." line is resolved as the compiler does (the file's
# own directory, then -Isrc, then -Isandbox) and checked:
#   - no edge to a higher layer (an upward include);
#   - no cycle, between files or between modules (directories) of one
#     layer;
#   - a header named *_int.h is private to its directory;
#   - devices use the engine through its accessors: no engine struct
#     members (vd_, vr_, vq_) in src/devices.
# A source file in a directory with no layer fails the check, so that a
# new directory gets its place in the order.  Exit 0 clean, 1 violations
# (each printed), 2 usage.
set -u

root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root" || exit 2
[ -d src ] || { echo "include-graph: no src/ under $root" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/include-graph.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

# Layer of a path (relative to root), or nothing.
layer() {
	case $1 in
	src/util/*)		echo 0 ;;
	src/mem/*)		echo 1 ;;
	src/virtio/*)		echo 2 ;;
	src/vhost/*)		echo 3 ;;
	src/devices/*)		echo 4 ;;
	src/config.[ch]|src/conffile.[ch]) echo 5 ;;
	src/host/*|src/listener/*|sandbox/*) echo 6 ;;
	src/main.c)		echo 7 ;;
	esac
}

name() {
	case $1 in
	0) echo util ;; 1) echo mem ;; 2) echo virtio ;; 3) echo vhost ;;
	4) echo devices ;; 5) echo config ;; 6) echo host ;; 7) echo main ;;
	esac
}

# Module of a path: its directory; the top-level files of src/ are two
# modules (config and main) of different layers.
module() {
	case $1 in
	src/config.[ch]|src/conffile.[ch]) echo src/config ;;
	src/main.c)	echo src/main ;;
	*)		dirname "$1" ;;
	esac
}

# Normalise a/b/../c and ./ away.
norm() {
	echo "$1" | awk -F/ '{
		n = 0
		for (i = 1; i <= NF; i++) {
			if ($i == "." || $i == "") continue
			if ($i == ".." && n > 0 && p[n] != "..") { n--; continue }
			p[++n] = $i
		}
		s = p[1]; for (i = 2; i <= n; i++) s = s "/" p[i]; print s
	}'
}

bad=0
: >"$tmp/fedges"
: >"$tmp/dedges"
find src sandbox -name '*.[ch]' 2>/dev/null | sort >"$tmp/files"
while read -r f; do
	lf=$(layer "$f")
	if [ -z "$lf" ]; then
		echo "include-graph: $f: no layer for this file (add it to" \
		    "tests/lint/include-graph.sh)"
		bad=1
		continue
	fi
	dir=$(dirname "$f")
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' \
	    "$f" >"$tmp/inc"
	while read -r inc; do
		t=""
		for cand in "$dir/$inc" "src/$inc" "sandbox/$inc"; do
			if [ -f "$cand" ]; then
				t=$(norm "$cand")
				break
			fi
		done
		[ -n "$t" ] || continue	# generated or not ours
		lt=$(layer "$t")
		if [ -z "$lt" ]; then
			echo "include-graph: $f includes $t, which has no layer"
			bad=1
			continue
		fi
		if [ "$lt" -gt "$lf" ]; then
			echo "include-graph: $f ($(name "$lf")) includes $t" \
			    "($(name "$lt")): upward edge"
			bad=1
		fi
		case $t in
		*_int.h)
			if [ "$(dirname "$t")" != "$dir" ]; then
				echo "include-graph: $f includes $t, private" \
				    "to $(dirname "$t")"
				bad=1
			fi ;;
		esac
		echo "$f $t" >>"$tmp/fedges"
		mf=$(module "$f")
		mt=$(module "$t")
		[ "$mf" = "$mt" ] || echo "$mf $mt" >>"$tmp/dedges"
	done <"$tmp/inc"
done <"$tmp/files"

# Cycles: tsort names a loop on stderr and fails.
for g in fedges:files dedges:modules; do
	e=${g%%:*}
	if ! tsort "$tmp/$e" >/dev/null 2>"$tmp/tsort"; then
		echo "include-graph: cycle between ${g#*:}:"
		grep -v 'input contains a loop' "$tmp/tsort" | sed 's/^tsort: /    /'
		bad=1
	fi
done

# Devices see the engine through accessors only.
if [ -d src/devices ] && grep -nE '(->|\.)(vd|vr|vq)_[a-z]' src/devices/*.[ch] \
    >"$tmp/members" 2>/dev/null; then
	echo "include-graph: src/devices reads engine internals (use the" \
	    "accessors of vhost/vhost.h and virtio/virtq.h):"
	sed 's/^/    /' "$tmp/members"
	bad=1
fi

if [ $bad -eq 0 ]; then
	echo "include-graph: $(wc -l <"$tmp/fedges") includes in" \
	    "$(wc -l <"$tmp/files") files, one way, no cycle"
fi
exit $bad
