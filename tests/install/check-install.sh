#!/bin/sh
# check-install.sh - `make install DESTDIR=... PREFIX=/usr` from a build
# directory of its own (BUILD=: the developer's build/ keeps its binary
# and policy directory), then:
#   - the tree: binary, vhostd-TYPE links, libvirt descriptors, policies,
#     man pages naming this PREFIX's paths, units, the sysusers.d entry
#     (applied by systemd-sysusers to a scratch root), the example
#     configuration (which `vhostd -n` accepts);
#   - the user rule: make install creates the vhostd user only with an
#     empty DESTDIR and only when it is missing (stubs stand in for
#     systemd-sysusers and useradd: no user is created on this machine);
#   - the unit: AssertPathExists for the instance's file, systemd-analyze
#     verify clean, systemd-analyze security below 4.0 (printed), and, as
#     root, the installed vhostd serving the example configuration with
#     exactly the unit's capability bounding set and no_new_privs, and
#     failing without each of those capabilities;
#   - make uninstall leaves nothing.
# Parts whose tool is missing (systemd-analyze, setpriv, root) are skipped
# with a reason: exit 77 then, after every other check passed.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/vhostd-install.XXXXXX)
dest=$tmp/dest
bdir=$tmp/build
pids=
skipped=
cleanup() {
	for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "skip: $*"; skipped="$skipped; $*"; }
m() { make -s -C "$top" BUILD="$bdir" "$@"; }

# --- Build and install, away from build/ --------------------------------
before=$(cat "$top/build/policydir" 2>/dev/null || echo none)
m -j2 PREFIX=/usr DESTDIR="$dest" install \
    "$bdir/tests/tools/vuf-rng" "$bdir/tests/tools/vuf-blkbench" \
    >"$tmp/make.log" 2>&1 || { cat "$tmp/make.log"; fail "make install"; }
after=$(cat "$top/build/policydir" 2>/dev/null || echo none)
[ "$before" = "$after" ] ||
    fail "make install changed build/policydir: $before -> $after"
p=$dest/usr

# --- The tree ------------------------------------------------------------
[ -x "$p/bin/vhostd" ] || fail "no bin/vhostd"
"$p/bin/vhostd" --help | grep -q "default /usr/share/vhostd/policies" ||
    fail "installed vhostd does not default to /usr/share/vhostd/policies"
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
for mp in man8/vhostd.8 man5/vhostd.conf.5 man5/vhostd.policy.5; do
	f=$p/share/man/$mp
	[ -f "$f" ] || fail "no share/man/$mp"
	! grep -n /usr/local "$f" ||
	    fail "$mp names /usr/local paths under PREFIX=/usr"
done
grep -q '/usr/share/vhostd/policies' "$p/share/man/man8/vhostd.8" ||
    fail "vhostd.8 does not name /usr/share/vhostd/policies"
for u in vhostd@.service vhostd@.socket; do
	f=$p/lib/systemd/system/$u
	[ -f "$f" ] || fail "no $f"
	! grep -q @BINDIR@ "$f" || fail "$u still has @BINDIR@"
done
unit=$p/lib/systemd/system/vhostd@.service
grep -q "^ExecStart=/usr/bin/vhostd " "$unit" ||
    fail "unit does not run /usr/bin/vhostd"
# A mistyped instance name must fail, not be skipped as a condition.
grep -q '^AssertPathExists=/etc/vhostd/%i.conf' "$unit" ||
    fail "unit does not assert /etc/vhostd/%i.conf"
! grep -q '^ConditionPathExists=' "$unit" ||
    fail "unit skips a missing configuration silently"

# The sysusers.d entry, applied to a scratch root.
su=$p/lib/sysusers.d/vhostd.conf
grep -q '^u vhostd - ' "$su" || fail "no 'u vhostd' line in $su"
if command -v systemd-sysusers >/dev/null; then
	mkdir -p "$tmp/root/etc"
	systemd-sysusers --root="$tmp/root" "$su" >"$tmp/sysusers.log" 2>&1 ||
	    { cat "$tmp/sysusers.log"; fail "systemd-sysusers rejects $su"; }
	grep -q '^vhostd:x:[0-9]*:[0-9]*:.*:/usr/sbin/nologin$' \
	    "$tmp/root/etc/passwd" ||
	    fail "sysusers made no vhostd user: $(cat "$tmp/root/etc/passwd")"
	grep -q '^vhostd:' "$tmp/root/etc/group" || fail "no vhostd group"
else
	skip "systemd-sysusers missing (apt-get install systemd)"
fi

# The example configuration, with its paths moved into $tmp, is valid.
ex=$p/share/doc/vhostd/example.conf
[ -f "$ex" ] || fail "no share/doc/vhostd/example.conf"
grp=$(id -gn nobody 2>/dev/null || echo nogroup)
mkdir -p "$tmp/run" "$tmp/lib"
# Only the disk's group line: the commented-out NIC section has one too.
sed -e "s|/run/vhostd/|$tmp/run/|g" -e "s|/var/lib/vhostd/|$tmp/lib/|g" \
    -e "0,/^#group = kvm/s|^#group = kvm|group = $grp|" "$ex" \
    > "$tmp/example.conf"
truncate -s 1M "$tmp/lib/vm1-disk.img"
out=$("$p/bin/vhostd" -n -c "$tmp/example.conf" \
    --policy-dir="$p/share/vhostd/policies" 2>&1) ||
    fail "vhostd -n rejects the example configuration: $out"
echo "$out" | grep -q "configuration OK: 2 device" ||
    fail "example configuration: $out"

# --- The unit -------------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
	# verify: the unit as installed, executables and man pages from
	# the DESTDIR.
	mkdir -p "$tmp/units"
	for u in vhostd@.service vhostd@.socket; do
		sed "s|/usr/bin/|$p/bin/|g" "$p/lib/systemd/system/$u" \
		    > "$tmp/units/${u%@*}@check.${u##*.}"
	done
	v=$(cd "$tmp/units" && MANPATH=$p/share/man systemd-analyze verify \
	    ./vhostd@check.service ./vhostd@check.socket 2>&1) ||
	    fail "systemd-analyze verify: $v"
	[ -z "$v" ] || fail "systemd-analyze verify warns: $v"
	# security: the exposure level, from the unit as installed.
	cp "$unit" "$tmp/units/vhostd@sec.service"
	sec=$(cd "$tmp/units" && systemd-analyze security --offline=yes \
	    ./vhostd@sec.service 2>&1 | tail -1)
	score=$(echo "$sec" | sed -n 's/.*exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	[ -n "$score" ] || fail "no score from systemd-analyze security: $sec"
	echo "systemd-analyze security vhostd@.service: $score"
	awk "BEGIN { exit !($score < 4.0) }" ||
	    fail "exposure $score is not below 4.0"
else
	skip "systemd-analyze missing (apt-get install systemd)"
fi

# The unit's capabilities: enough, and each one needed.  run_caps CAPS
# runs the installed vhostd on the example configuration with bounding
# set CAPS (setpriv syntax), no_new_privs and private network and IPC
# namespaces; 0 when it serves entropy
# and a disk and stops cleanly on SIGTERM.
run_caps() {
	rm -f "$tmp/ready" "$tmp/run/"*.sock
	mkfifo "$tmp/ready"
	# In network and IPC namespaces of its own, as PrivateNetwork= and
	# PrivateIPC= put it: the front ends outside still connect.
	unshare --net --ipc \
	    setpriv --bounding-set=-all,"$1" --inh-caps=-all --no-new-privs \
	    "$p/bin/vhostd" -c "$tmp/example.conf" --grace=1 \
	    --policy-dir="$p/share/vhostd/policies" --ready-fd=3 \
	    3>"$tmp/ready" 2>"$tmp/vhostd.log" &
	vp=$!
	pids="$pids $vp"
	ok=0
	line=$(timeout 20 head -n 1 "$tmp/ready" 2>/dev/null || true)
	if [ "$line" = READY=1 ] &&
	    timeout 20 "$bdir/tests/tools/vuf-rng" "$tmp/run/vm1-rng.sock" \
	    32 >"$tmp/rng.out" 2>>"$tmp/vhostd.log" &&
	    [ "$(wc -c < "$tmp/rng.out")" -eq 32 ] &&
	    timeout 20 "$bdir/tests/tools/vuf-blkbench" --rw=write --bs=4096 \
	    --qd=4 --time=1 --ramp=0 --span=1048576 \
	    "$tmp/run/vm1-disk.sock" >"$tmp/blk.out" 2>>"$tmp/vhostd.log" &&
	    grep -q 'errors=0' "$tmp/blk.out"; then
		ok=1
	fi
	kill -TERM "$vp" 2>/dev/null || true
	# Without CAP_KILL the parent cannot stop its children: bounded.
	n=0
	while kill -0 "$vp" 2>/dev/null && [ $n -lt 100 ]; do
		sleep 0.1; n=$((n + 1))
	done
	if kill -0 "$vp" 2>/dev/null; then
		kill -KILL "$vp"; ok=0
		echo "(vhostd did not stop within 10 s of SIGTERM)" \
		    >>"$tmp/vhostd.log"
	fi
	wait "$vp" || ok=0
	# Children that outlived their parent: without CAP_KILL even the
	# parent-death signal is not allowed to reach them.
	for kid in $(sed -n 's/.*started child \([0-9]*\) .*/\1/p' \
	    "$tmp/vhostd.log"); do
		kill -KILL "$kid" 2>/dev/null || true
	done
	[ $ok -eq 1 ]
}
if [ "$(id -u)" -ne 0 ]; then
	skip "not root: cannot run vhostd with the unit's capabilities"
elif ! command -v setpriv >/dev/null || ! command -v unshare >/dev/null; then
	skip "setpriv or unshare missing (apt-get install util-linux)"
else
	capline=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")
	[ -n "$capline" ] || fail "unit has no CapabilityBoundingSet="
	caps=$(echo "$capline" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
	run_caps "$caps" || { cat "$tmp/vhostd.log"; fail "vhostd does not \
work with the unit's bounding set ($capline) and no_new_privs"; }
	echo "vhostd serves rng and blk with $capline and no_new_privs"
	for c in $capline; do
		lc=$(echo "$c" | tr 'A-Z' 'a-z' | sed 's/^cap_/+/')
		less=$(echo "$caps" | tr ',' '\n' | grep -vx -- "$lc" |
		    paste -sd, -)
		if run_caps "$less"; then
			fail "the unit grants $c, which vhostd does not need"
		fi
		echo "without $c: $(grep -m1 -i 'not permitted\|did not stop' \
		    "$tmp/vhostd.log" || echo fails)"
	done
fi

# --- The vhostd user: only with an empty DESTDIR, only when missing ------
for s in sysusers useradd; do
	printf '#!/bin/sh\necho "%s $*" >> %s/calls\n' "$s" "$tmp" \
	    > "$tmp/$s-stub"
	chmod +x "$tmp/$s-stub"
done
nouser=vhostd-no-such-user-$$
id -u "$nouser" >/dev/null 2>&1 && fail "user $nouser exists"
rm -f "$tmp/calls"
m PREFIX="$tmp/p2" DESTDIR= VHOSTD_USER="$nouser" \
    SYSUSERS="$tmp/sysusers-stub" USERADD="$tmp/useradd-stub" \
    install >/dev/null 2>&1 || fail "make install PREFIX=$tmp/p2"
[ "$(cat "$tmp/calls")" = "sysusers $tmp/p2/lib/sysusers.d/vhostd.conf" ] ||
    fail "with systemd-sysusers: $(cat "$tmp/calls")"
grep -q "^u $nouser - " "$tmp/p2/lib/sysusers.d/vhostd.conf" ||
    fail "sysusers.d entry does not name $nouser"
rm -f "$tmp/calls"
m PREFIX="$tmp/p2" DESTDIR= VHOSTD_USER="$nouser" \
    SYSUSERS="$tmp/no-such-sysusers" USERADD="$tmp/useradd-stub" \
    install >/dev/null 2>&1 || fail "make install without sysusers"
grep -q "^useradd --system .* $nouser\$" "$tmp/calls" ||
    fail "without systemd-sysusers: $(cat "$tmp/calls" 2>/dev/null)"
rm -f "$tmp/calls"
m PREFIX="$tmp/p2" DESTDIR="$tmp/d3" VHOSTD_USER="$nouser" \
    SYSUSERS="$tmp/sysusers-stub" USERADD="$tmp/useradd-stub" \
    install >/dev/null 2>&1 || fail "make install DESTDIR=$tmp/d3"
[ ! -e "$tmp/calls" ] || fail "a DESTDIR install created a user"
m PREFIX="$tmp/p2" DESTDIR= VHOSTD_USER=root \
    SYSUSERS="$tmp/sysusers-stub" USERADD="$tmp/useradd-stub" \
    install >/dev/null 2>&1 || fail "make install (user exists)"
[ ! -e "$tmp/calls" ] || fail "an existing user was created again"
echo "user: created only with an empty DESTDIR and when missing"

# --- Uninstall -------------------------------------------------------------
m PREFIX=/usr DESTDIR="$dest" uninstall >/dev/null
left=$(find "$dest" -type f -o -type l)
[ -z "$left" ] || fail "left after uninstall: $left"
echo "install: tree OK, uninstall leaves nothing"
if [ -n "$skipped" ]; then
	echo "SKIP: ${skipped#; }"
	exit 77
fi
