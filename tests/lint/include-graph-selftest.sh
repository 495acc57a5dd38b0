#!/bin/sh
# include-graph-selftest.sh - include-graph.sh must fail on each class of
# violation: an upward include, a cycle inside one layer, a private
# header included from another directory, engine members read by a
# device, a file without a layer; and pass on a clean tree.
set -u

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/include-graph-selftest.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0

# A clean miniature tree: util <- mem <- virtio <- vhost <- devices.
tree() {
	rm -rf "$tmp/t"
	mkdir -p "$tmp/t/src/util" "$tmp/t/src/mem" "$tmp/t/src/virtio" \
	    "$tmp/t/src/vhost" "$tmp/t/src/devices" "$tmp/t/sandbox"
	echo '/* util */' >"$tmp/t/src/util/util.h"
	echo '#include "../util/util.h"' >"$tmp/t/src/mem/gmem.h"
	echo '#include "../mem/gmem.h"' >"$tmp/t/src/virtio/virtq.h"
	echo '#include "../virtio/virtq.h"' >"$tmp/t/src/vhost/vhost.h"
	echo '#include "vhost.h"' >"$tmp/t/src/vhost/vhost_int.h"
	printf '#include "vhost_int.h"\nint x;\n' >"$tmp/t/src/vhost/backend.c"
	printf '#include "../vhost/vhost.h"\nint y;\n' \
	    >"$tmp/t/src/devices/rng.c"
}

# expect STATUS WHAT PATTERN: run the check, compare, look for PATTERN.
expect() {
	out=$(sh "$here/include-graph.sh" "$tmp/t" 2>&1)
	st=$?
	if [ "$st" -ne "$1" ] || ! echo "$out" | grep -q -- "$3"; then
		echo "FAIL: $2: exit $st (want $1), output:"
		echo "$out" | sed 's/^/    /'
		fail=1
	else
		echo "ok: $2"
	fi
}

tree
expect 0 "clean tree passes" "one way, no cycle"

tree
echo '#include "../vhost/vhost.h"' >>"$tmp/t/src/virtio/virtq.h"
expect 1 "virtio including vhost is refused" "upward edge"

tree
echo '#include "../devices/dev.h"' >>"$tmp/t/src/mem/gmem.h"
echo '/* dev */' >"$tmp/t/src/devices/dev.h"
expect 1 "mem including devices is refused" "upward edge"

tree
echo '#include "a.h"' >"$tmp/t/src/vhost/b.h"
echo '#include "b.h"' >"$tmp/t/src/vhost/a.h"
expect 1 "a cycle between two headers is found" "cycle between files"

tree
mkdir -p "$tmp/t/src/host" "$tmp/t/src/listener"
echo '#include "../listener/l.h"' >"$tmp/t/src/host/h.h"
echo '#include "../host/h.h"' >"$tmp/t/src/listener/l.h"
expect 1 "a cycle between modules of one layer is found" \
    "cycle between modules"

tree
echo '#include "../vhost/vhost_int.h"' >>"$tmp/t/src/devices/rng.c"
expect 1 "a private header from another directory is refused" \
    "private to src/vhost"

tree
echo 'int z(struct vu_dev *d) { return d->vd_features; }' \
    >>"$tmp/t/src/devices/rng.c"
expect 1 "a device reading engine members is refused" "engine internals"

tree
mkdir -p "$tmp/t/src/net"
echo 'int n;' >"$tmp/t/src/net/n.c"
expect 1 "a directory without a layer is refused" "no layer"

exit $fail
