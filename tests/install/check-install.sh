#!/bin/sh
# check-install.sh - `make install DESTDIR=...` produces the expected tree
# and `make uninstall` removes it again.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
dest=$(mktemp -d /tmp/vhostd-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

make -s -C "$top" install DESTDIR="$dest" PREFIX=/usr >/dev/null
p=$dest/usr
[ -x "$p/bin/vhostd" ] || fail "no bin/vhostd"
for j in "$top"/data/vhost-user/50-vhostd-*.json; do
	t=${j##*/50-vhostd-}; t=${t%.json}
	[ "$(readlink "$p/bin/vhostd-$t")" = vhostd ] ||
	    fail "bin/vhostd-$t is not a link to vhostd"
	f=$p/share/qemu/vhost-user/50-vhostd-$t.json
	[ -f "$f" ] || fail "no $f"
	grep -q "\"binary\": \"/usr/bin/vhostd-$t\"" "$f" ||
	    fail "$f does not name /usr/bin/vhostd-$t: $(cat "$f")"
	# The descriptor's binary prints the capabilities libvirt asks for.
	"$p/bin/vhostd-$t" --print-capabilities | grep -q '"type"' ||
	    fail "vhostd-$t --print-capabilities"
done
for pol in "$top"/policies/x86_64/*.policy; do
	[ -f "$p/share/vhostd/policies/${pol##*/}" ] ||
	    fail "policy ${pol##*/} not installed"
done
for m in man8/vhostd.8 man5/vhostd.conf.5 man5/vhostd.policy.5; do
	[ -f "$p/share/man/$m" ] || fail "no share/man/$m"
done
for u in vhostd@.service vhostd@.socket; do
	f=$p/lib/systemd/system/$u
	[ -f "$f" ] || fail "no $f"
	! grep -q @BINDIR@ "$f" || fail "$u still has @BINDIR@"
done
grep -q "^ExecStart=/usr/bin/vhostd " "$p/lib/systemd/system/vhostd@.service" ||
    fail "unit does not run /usr/bin/vhostd"

make -s -C "$top" uninstall DESTDIR="$dest" PREFIX=/usr >/dev/null
left=$(find "$dest" -type f -o -type l)
[ -z "$left" ] || fail "left after uninstall: $left"
echo "install: tree OK, uninstall leaves nothing"
