# lib.sh - helpers for the end-to-end tests; sourced, POSIX sh (dash on the
# host, busybox ash in the guest).  Not a test itself.
#
# An end-to-end test is one file, tests/e2e/NAME.sh, that runs twice:
#
#  - on the host, run by `make check-e2e` from the repository root with
#    $VHOSTD and $VHOSTD_POLICYDIR set: it builds the guest (build/guest,
#    cached), starts vhostd, boots QEMU on Debian's kernel and a busybox
#    initramfs with the devices attached, and judges the serial console;
#  - in the guest, where scripts/build-guest bakes it into /tests/ and /init
#    runs it with E2E_GUEST=1 when the kernel command line says
#    vhostd.test=NAME.
#
#	. "$(dirname "$0")/lib.sh"
#	checks() { ...; e2e_fail "reason"; ... }	# guest side
#	e2e_in_guest && e2e_guest checks		# never returns
#	e2e_setup NAME					# host side
#	e2e_start_vhostd --device "rng,socket=$E2E_DIR/rng.sock,..."
#	e2e_boot -chardev ... -device ...
#	e2e_finish
#
# Host exit status: 0 pass, 1 fail (with the tails of the console, QEMU and
# vhostd logs), 77 skip after one line "SKIP: reason" (no QEMU, or no guest
# can be built here).  The logs of the last run stay in build/e2e/NAME/.
#
# Knobs: E2E_BUILTIN=1 lets a test attach QEMU's own device instead of the
# vhost-user one (to check the guest side without vhostd); E2E_TIMEOUT
# (seconds, default 120) bounds the QEMU run; E2E_APPEND adds kernel
# parameters; E2E_ACCEL (default tcg: nested KVM guests hang on these
# machines); E2E_NETNS=NAME runs vhostd and QEMU inside that network
# namespace (ip netns exec; the net tests make it and their taps in it).

# ---- guest side -------------------------------------------------------------

# e2e_in_guest: true when running inside the test guest.
e2e_in_guest() {
	[ "${E2E_GUEST:-0}" = 1 ]
}

# e2e_fail REASON: guest: print the FAIL verdict and end the test.
e2e_fail() {
	echo "VHOSTD-E2E: FAIL ${E2E_NAME:-?}: $*"
	: >/run/e2e-verdict
	exit 1
}

# e2e_guest FUNC: guest: run the checks in FUNC, print the verdict, exit.
# FUNC fails the test with e2e_fail, or by returning non-zero.
e2e_guest() {
	"$1"
	_rc=$?
	[ $_rc -eq 0 ] || e2e_fail "$1 returned $_rc"
	echo "VHOSTD-E2E: PASS ${E2E_NAME:-?}"
	: >/run/e2e-verdict
	exit 0
}

# ---- host side --------------------------------------------------------------

# e2e_skip REASON: the test cannot run here; say why, exit 77.
e2e_skip() {
	echo "SKIP: $*"
	E2E_SKIPPING=1
	exit 77
}

# e2e_die REASON: fail now; the exit trap cleans up and shows the logs.
e2e_die() {
	echo "FAIL: $*"
	E2E_STATUS=1
	exit 1
}

# e2e_builtin: true when the test should use QEMU's built-in device.
e2e_builtin() {
	[ "${E2E_BUILTIN:-0}" = 1 ]
}

# _e2e_ms: wall clock in milliseconds.
_e2e_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# _e2e_secs MS: "1.234".
_e2e_secs() {
	printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
}

# e2e_setup NAME [full]: host: check the tools, build the guest, make the
# private temp dir $E2E_DIR and install the clean-up trap.  "full" boots the
# initramfs with the extra host binaries (fio), which is larger and slower.
e2e_setup() {
	E2E_NAME=$1
	E2E_STATUS=0
	E2E_SKIPPING=0
	E2E_DIR=
	E2E_VHOSTD_PID=
	E2E_SOCKETS=
	E2E_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
	cd "$E2E_ROOT" || exit 1
	: "${VHOSTD:=$E2E_ROOT/build/vhostd}"
	: "${VHOSTD_POLICYDIR:=$E2E_ROOT/policies/x86_64}"
	E2E_LOGS="$E2E_ROOT/build/e2e/$E2E_NAME"

	command -v qemu-system-x86_64 >/dev/null 2>&1 ||
	    e2e_skip "qemu-system-x86_64 is not installed" \
	    "(apt-get install qemu-system-x86)"
	command -v timeout >/dev/null 2>&1 ||
	    e2e_skip "timeout(1) is not installed (coreutils)"

	mkdir -p "$E2E_LOGS" || exit 1
	rm -f "$E2E_LOGS"/*
	_t0=$(_e2e_ms)
	scripts/build-guest build/guest >"$E2E_LOGS/build-guest.log" 2>&1
	_rc=$?
	if [ $_rc -eq 3 ]; then
		e2e_skip "$(grep 'cannot build the guest' \
		    "$E2E_LOGS/build-guest.log" | tail -n 1)"
	elif [ $_rc -ne 0 ]; then
		tail -n 20 "$E2E_LOGS/build-guest.log"
		e2e_die "scripts/build-guest build/guest exited $_rc"
	fi
	echo "e2e: guest ready in $(_e2e_secs $(($(_e2e_ms) - _t0))) s" \
	    "(build/guest, $(cat build/guest/kernel/package))"
	E2E_KERNEL=build/guest/vmlinuz
	E2E_INITRD=build/guest/initramfs.gz
	[ "${2:-}" != full ] || E2E_INITRD=build/guest/initramfs-full.gz

	E2E_DIR=$(mktemp -d "${TMPDIR:-/tmp}/vhostd-e2e.XXXXXX") ||
	    e2e_die "mktemp failed"
	trap _e2e_exit EXIT
	trap 'exit 1' INT TERM HUP
}

# _e2e_listening SOCK [PID]: true when a unix socket bound to SOCK is
# listening (looked up in /proc/net/unix, without connecting: a connection
# would be taken as the front end's).  vhostd binds relative to the
# socket's directory (listener.c), so its sockets show SOCK's last
# component: that counts when process PID holds the socket.  The table is
# PID's (its network namespace's: E2E_NETNS).
_e2e_listening() {
	_inodes=
	if [ -n "${2:-}" ]; then
		for _f in /proc/"$2"/fd/*; do
			_l=$(readlink "$_f" 2>/dev/null) || continue
			case $_l in
			socket:*) _inodes="$_inodes ${_l#socket:}" ;;
			esac
		done
	fi
	awk -v p="$1" -v b="${1##*/}" -v ino="$_inodes" '
	    BEGIN { n = split(ino, a, " "); for (i = 1; i <= n; i++) {
		gsub(/[][]/, "", a[i]); own[a[i]] = 1 } }
	    $4 == "00010000" && ($NF == p || ($NF == b && own[$7])) { f = 1 }
	    END { exit !f }' "/proc/${2:-self}/net/unix"
}

# e2e_start_vhostd ARGS...: host: start $VHOSTD ARGS in the background with
# --policy-dir, wait (bounded) until it reports ready on --ready-fd, and
# check every socket=PATH in ARGS is a listening socket.  Its output goes
# to $E2E_DIR/vhostd.log.
e2e_start_vhostd() {
	[ -x "$VHOSTD" ] || e2e_die "VHOSTD=$VHOSTD is not executable (make)"
	for _a in "$@"; do
		case $_a in
		*socket=*)
			_s=${_a#*socket=}
			E2E_SOCKETS="$E2E_SOCKETS ${_s%%,*}"
			;;
		esac
	done
	_fifo="$E2E_DIR/ready"
	rm -f "$_fifo"
	mkfifo "$_fifo" || e2e_die "mkfifo $_fifo failed"
	# Open the read end without blocking (fd 4 is a writer meanwhile),
	# then leave vhostd the only writer, so that its death reads as EOF.
	# shellcheck disable=SC2094
	exec 4<>"$_fifo" 5<"$_fifo"
	# ip netns exec execs the command: $! stays vhostd's pid.
	${E2E_NETNS:+ip netns exec "$E2E_NETNS"} \
	    "$VHOSTD" --policy-dir "$VHOSTD_POLICYDIR" --ready-fd=3 "$@" \
	    3>"$_fifo" 4>&- 5<&- </dev/null >"$E2E_DIR/vhostd.log" 2>&1 &
	E2E_VHOSTD_PID=$!
	exec 4>&-
	echo "e2e: started vhostd (pid $E2E_VHOSTD_PID):" \
	    "$VHOSTD --policy-dir $VHOSTD_POLICYDIR --ready-fd=3 $*"
	_ready=$(timeout 10 head -n 1 <&5)
	_rc=$?
	exec 5<&-
	if [ "$_ready" != READY=1 ]; then
		if [ $_rc -eq 124 ]; then
			e2e_die "vhostd did not report ready within 10 s"
		fi
		wait "$E2E_VHOSTD_PID"
		_rc=$?
		E2E_VHOSTD_PID=
		e2e_die "vhostd exited $_rc before it was ready"
	fi
	for _s in $E2E_SOCKETS; do
		_e2e_listening "$_s" "$E2E_VHOSTD_PID" ||
		    e2e_die "vhostd is ready but $_s is not a listening socket"
	done
}

# e2e_stop_vhostd: host: SIGTERM vhostd, wait for it (bounded), check it
# exited 0 and removed its socket files.  Records failures in E2E_STATUS.
e2e_stop_vhostd() {
	[ -n "$E2E_VHOSTD_PID" ] || return 0
	_pid=$E2E_VHOSTD_PID
	E2E_VHOSTD_PID=
	kill -TERM "$_pid" 2>/dev/null
	# A zombie still answers kill -0: read its state instead.
	_i=0
	while [ $_i -lt 200 ]; do
		_st=$(sed -n 's/^.*) \(.\).*/\1/p' "/proc/$_pid/stat" 2>/dev/null)
		[ -z "$_st" ] || [ "$_st" = Z ] && break
		sleep 0.05
		_i=$((_i + 1))
	done
	if [ $_i -ge 200 ]; then
		echo "FAIL: vhostd did not exit within 10 s of SIGTERM; killing it"
		kill -KILL "$_pid" 2>/dev/null
		E2E_STATUS=1
	fi
	wait "$_pid"
	_rc=$?
	if [ $_rc -ne 0 ]; then
		echo "FAIL: vhostd exited $_rc after SIGTERM (expected 0)"
		E2E_STATUS=1
	fi
	for _s in $E2E_SOCKETS; do
		if [ -e "$_s" ] || [ -L "$_s" ]; then
			echo "FAIL: vhostd left its socket file $_s behind"
			E2E_STATUS=1
		fi
	done
	E2E_SOCKETS=
}

# e2e_boot QEMU-ARGS...: host: boot the guest with the devices in ARGS and
# run the test named in e2e_setup in it; records failure in E2E_STATUS.
# Guest memory is a shared memfd, as vhost-user needs.
e2e_boot() {
	_con="$E2E_DIR/console.log"
	_t0=$(_e2e_ms)
	timeout -k 5 "${E2E_TIMEOUT:-120}" \
	    ${E2E_NETNS:+ip netns exec "$E2E_NETNS"} qemu-system-x86_64 \
	    -accel "${E2E_ACCEL:-tcg}" -m 512 -nographic -no-reboot -net none \
	    -kernel "$E2E_KERNEL" -initrd "$E2E_INITRD" \
	    -append "console=ttyS0 quiet panic=-1 vhostd.test=$E2E_NAME ${E2E_APPEND:-}" \
	    -object memory-backend-memfd,id=mem,size=512M,share=on \
	    -numa node,memdev=mem "$@" \
	    </dev/null >"$_con" 2>"$E2E_DIR/qemu.err"
	_rc=$?
	_ms=$(($(_e2e_ms) - _t0))
	# Drop carriage returns and the firmware's terminal escape sequences.
	sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1b[c]//g; s/\r$//' <"$_con" \
	    >"$E2E_DIR/console.txt"
	_booted=$(sed -n 's/^VHOSTD-E2E: BOOTED \([^ ]*\).*/\1/p' \
	    "$E2E_DIR/console.txt")
	_end=$(sed -n 's/^VHOSTD-E2E: END \([^ ]*\).*/\1/p' "$E2E_DIR/console.txt")
	echo "e2e: QEMU ran $(_e2e_secs $_ms) s (exit $_rc); guest uptime at" \
	    "/init ${_booted:-?}, at the end ${_end:-?}"
	grep '^VHOSTD-E2E: FAIL' "$E2E_DIR/console.txt"
	if grep -qx "VHOSTD-E2E: PASS $E2E_NAME" "$E2E_DIR/console.txt" &&
	    ! grep -q '^VHOSTD-E2E: FAIL' "$E2E_DIR/console.txt"; then
		echo "e2e: guest: PASS $E2E_NAME"
	elif [ $_rc -eq 124 ] || [ $_rc -eq 137 ]; then
		echo "FAIL: QEMU timed out after ${E2E_TIMEOUT:-120} s"
		E2E_STATUS=1
	elif [ -z "$_booted" ]; then
		echo "FAIL: the guest did not reach /init (QEMU exit $_rc):" \
		    "$(head -n 3 "$E2E_DIR/qemu.err")"
		E2E_STATUS=1
	else
		echo "FAIL: the guest gave no PASS verdict (QEMU exit $_rc)"
		E2E_STATUS=1
	fi
	if [ $_rc -ne 0 ] && [ $_rc -ne 124 ] && [ $_rc -ne 137 ]; then
		echo "FAIL: QEMU exited $_rc: $(head -n 3 "$E2E_DIR/qemu.err")"
		E2E_STATUS=1
	fi
}

# _e2e_tail FILE TITLE: show the end of a log.
_e2e_tail() {
	[ -s "$1" ] || return 0
	echo "---- $2 (last 40 lines of $1) ----"
	tail -n 40 "$1" | tr -d '\r'
}

# _e2e_exit: the EXIT trap: stop vhostd, keep the logs in build/e2e/NAME,
# show them on failure, remove the temp dir, exit with the verdict.
_e2e_exit() {
	_rc=$?
	trap - EXIT
	[ "$_rc" -eq 0 ] || E2E_STATUS=1
	e2e_stop_vhostd
	if [ -n "$E2E_DIR" ]; then
		for _f in console.txt qemu.err vhostd.log; do
			[ ! -f "$E2E_DIR/$_f" ] || cp "$E2E_DIR/$_f" "$E2E_LOGS/"
		done
		if [ "$E2E_STATUS" -ne 0 ] && [ "$E2E_SKIPPING" -eq 0 ]; then
			_e2e_tail "$E2E_LOGS/console.txt" "guest console"
			_e2e_tail "$E2E_LOGS/qemu.err" "QEMU stderr"
			_e2e_tail "$E2E_LOGS/vhostd.log" "vhostd log"
		fi
		rm -rf "$E2E_DIR"
	fi
	[ "$E2E_SKIPPING" -eq 0 ] || exit 77
	if [ "$E2E_STATUS" -eq 0 ]; then
		echo "PASS: $E2E_NAME"
		exit 0
	fi
	echo "FAIL: $E2E_NAME (logs in $E2E_LOGS)"
	exit 1
}

# e2e_finish: host: end the test (cleans up and exits with the verdict).
e2e_finish() {
	exit "$E2E_STATUS"
}

# Run directly (make check-e2e runs every tests/e2e/*.sh), this file is no
# test: say so.
case ${0##*/} in
lib.sh)
	echo "SKIP: tests/e2e/lib.sh is the helper library of the e2e tests"
	exit 77
	;;
esac
