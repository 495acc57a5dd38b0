#!/bin/sh
# vsock.sh - end to end: a Linux guest under QEMU talks AF_VSOCK (socat,
# copied into the guest by scripts/build-guest) through vhostd's vsock
# device (vhost-user-vsock-pci) to host unix sockets, in the hybrid
# convention (host -> guest: connect to uds-path, "CONNECT <port>\n",
# "OK <host_port>\n"; guest -> host: CID 2 port P reaches <uds-path>_<P>).
# Boot 1 runs the phases, each checked at both ends:
#  1. host -> guest stream of VSOCK_MB MiB (default 64), md5 compared by the
#     guest and by the host, the guest's CID as configured (guest-cid=41);
#  2. guest -> host stream of the same bytes back, md5 compared at both ends;
#  3. 32 concurrent connections each way (64 KiB each, all open at once,
#     the peer answers with the md5 of what it got);
#  4. a slow reader on the host: the host's reader stops for VSOCK_STALL
#     seconds (default 5) while the guest sends 16 MiB: the guest's writer
#     is held back (flow control: it has written less than VSOCK_LEAD_MAX_KB,
#     default 8192, when the stall ends), the device child's anonymous
#     memory stays flat (RssAnon grows less than VSOCK_RSS_MAX_KB, default
#     8192; VmRSS is printed too, but it counts the guest's memory the
#     child touches); then every byte arrives;
#  5. the same with a slow reader in the guest and the host writing;
#  6. a port nobody listens on, each way: the guest's connect is reset
#     (ECONNRESET) at once, the host's CONNECT gets no OK and is closed;
#  7. the device child SIGKILLed while a stream runs each way: the host
#     ends of both connections end at once (no hang), vhostd restarts the
#     child.
# Boot 2, a new VM on the restarted child: both streams again (16 MiB),
# checked at both ends.  A new VM because QEMU 7.2's vhost-user-vsock-pci
# cannot take a back end back: it has no chardev event handler (unlike
# vhost-user-blk), so a reconnected back end is never set up again, and
# its realize does not wait for the connection, so "reconnect=1" fails at
# start ("Failed to set msg fds").  The guest's ends of the killed streams
# therefore wait for ever (no device is left to reset them): the test says
# so and does not count it.
#
# The guest leads through a control line, the second serial port (a QEMU
# pipe chardev): it sends one line per step and waits for the host's
# answer.  The host prints the transfer times and the child's memory.
#
# Knobs: VSOCK_MB (stream size in MiB, default 64), VSOCK_STALL,
# VSOCK_LEAD_MAX_KB, VSOCK_RSS_MAX_KB (above), VSOCK_BENCH=1 (make bench:
# one boot, the two streams only).
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# ---- guest ----

# Guest connects wait up to 30 s for the device's answer instead of
# Linux's 2 s (SO_VM_SOCKETS_CONNECT_TIMEOUT, the old struct timeval
# form, set before connect): 32 connects at once on a loaded host can take
# longer.  The connect to a port nobody listens on waits 10 s (VS_CT10):
# a device that does not reset it shows as "timed out", not "reset"; the
# reset took 420 ms with two CPU hogs on the host's two cores, too close
# to Linux's 2 s on a machine twice as slow.
VS_CT=,setsockopt-listen=40:6:x1e000000000000000000000000000000
VS_CT10=,setsockopt-listen=40:6:x0a000000000000000000000000000000

# vs_ms: the guest's uptime in milliseconds (10 ms resolution).
vs_ms() {
	awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}

# vs_ask MSG...: send MSG to the host on the control line, its answer in
# $ans; "FAIL reason" from the host fails the test.
vs_ask() {
	echo "$*" >&3
	# shellcheck disable=SC3045 # busybox ash has read -t
	read -r -t 600 ans <&3 || e2e_fail "no answer from the host to '$*'"
	case $ans in
	FAIL*) e2e_fail "host, at '$1': ${ans#FAIL }" ;;
	esac
}

# vs_listen LOG PID: until socat -d -d (PID) logs in LOG that it listens.
vs_listen() {
	_i=0
	until grep -q 'listening on' "$1" 2>/dev/null; do
		kill -0 "$2" 2>/dev/null ||
		    e2e_fail "socat exited before it listened: $(tail -n 2 "$1")"
		_i=$((_i + 1))
		[ $_i -le 600 ] || e2e_fail "socat did not listen within 30 s"
		usleep 50000
	done
}

# vs_wait PID SECS WHAT: wait (bounded) for PID to exit; its status in $rc.
vs_wait() {
	_i=0
	while kill -0 "$1" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -le $(($2 * 20)) ] ||
		    e2e_fail "$3: still running after $2 s (hangs?)"
		usleep 50000
	done
	wait "$1"
	rc=$?
}

# vs_md5 FILE: its md5.
vs_md5() {
	md5sum <"$1" | cut -d' ' -f1
}

# vs_many_g2h PORT N: N connections to the host's md5 server at PORT, all
# open at once (each holds its end open until all N are connected, as the
# host counts), each answered with the md5 of its 64 KiB.
vs_many_g2h() {
	mkfifo /tmp/gate
	exec 5<>/tmp/gate
	i=0
	while [ $i -lt "$2" ]; do
		(
			{ cat /tmp/c$i; read -r _ </tmp/gate; } |
			    socat -t 120 - "VSOCK-CONNECT:2:$1$VS_CT" \
			    >/tmp/c$i.r 2>/tmp/c$i.e
			echo $? >/tmp/c$i.rc
		) &
		i=$((i + 1))
	done
	vs_ask MANY-G2H "$1" "$2"
	echo "vsock: many g2h: the host saw ${ans#MANY-G2H }"
	i=0
	while [ $i -lt "$2" ]; do
		echo >&5
		i=$((i + 1))
	done
	exec 5>&-
	i=0
	_n=0
	while [ $i -lt "$2" ]; do
		while [ ! -s /tmp/c$i.rc ]; do
			_n=$((_n + 1))
			[ $_n -le 2400 ] ||
			    e2e_fail "many g2h: connection $i not done in 120 s"
			usleep 50000
		done
		[ "$(cat /tmp/c$i.rc)" = 0 ] ||
		    e2e_fail "many g2h: connection $i: socat exited" \
		    "$(cat /tmp/c$i.rc): $(tail -n 1 /tmp/c$i.e)"
		[ "$(cut -d' ' -f1 /tmp/c$i.r)" = "$(vs_md5 /tmp/c$i)" ] ||
		    e2e_fail "many g2h: connection $i: host's md5" \
		    "'$(cat /tmp/c$i.r)' != $(vs_md5 /tmp/c$i)"
		i=$((i + 1))
	done
	rm -f /tmp/gate
	echo "vsock: $2 concurrent guest->host connections, every md5 right"
}

vsock_checks() {
	[ -c /dev/ttyS1 ] || e2e_fail "no /dev/ttyS1 (the host's control line)"
	stty -F /dev/ttyS1 raw -echo || e2e_fail "stty -F /dev/ttyS1 failed"
	exec 3<>/dev/ttyS1
	grep -q '^vmw_vsock_virtio_transport ' /proc/modules ||
	    e2e_fail "vmw_vsock_virtio_transport is not loaded"
	command -v socat >/dev/null || e2e_fail "socat is not in the guest"
	vs_ask HELLO
	# shellcheck disable=SC2086 # HELLO SIZE MD5 P16MD5 CID
	set -- $ans
	size=$2 md5=$3 p16md5=$4 cid=$5
	mode=$(sed -n 's/.*vsock\.mode=\([a-z]*\).*/\1/p' /proc/cmdline)

	# 1. host -> guest
	socat -d -d -u VSOCK-LISTEN:5001 CREATE:/tmp/h2g 2>/tmp/h2g.log &
	p=$!
	vs_listen /tmp/h2g.log $p
	vs_ask H2G 5001
	vs_wait $p 120 "h2g: socat"
	[ $rc -eq 0 ] || e2e_fail "h2g: socat exited $rc: $(tail -n 2 /tmp/h2g.log)"
	m=$(vs_md5 /tmp/h2g)
	[ "$m" = "$md5" ] || e2e_fail "h2g: got $(wc -c </tmp/h2g) bytes," \
	    "md5 $m; the host sent $size bytes, md5 $md5"
	lcid=$(sed -n 's/.*accepting connection from .* on AF=40 cid:\([0-9]*\) port:5001.*/\1/p' /tmp/h2g.log)
	[ "$lcid" = "$cid" ] || e2e_fail "h2g: the guest's CID is '$lcid'," \
	    "not $cid: $(grep accepting /tmp/h2g.log)"
	echo "vsock: h2g $size bytes, md5 right; guest CID $lcid; $ans"

	# 2. guest -> host: the same bytes back
	t0=$(vs_ms)
	timeout 300 socat -u OPEN:/tmp/h2g "VSOCK-CONNECT:2:5002$VS_CT" 2>/tmp/g2h.log ||
	    e2e_fail "g2h: socat failed: $(tail -n 2 /tmp/g2h.log)"
	ms=$(($(vs_ms) - t0))
	vs_ask G2H 5002 $ms
	[ "${ans#G2H }" = "$md5" ] ||
	    e2e_fail "g2h: the host got md5 '${ans#G2H }', the guest sent $md5"
	echo "vsock: g2h $size bytes in $ms ms (guest clock), md5 right"
	case $mode in
	after|bench)
		if [ "$mode" = bench ]; then
			# The guest's own copy speed, for scale: the same bytes
			# through a pipe.
			t0=$(vs_ms)
			dd if=/tmp/h2g bs=65536 2>/dev/null | cat >/dev/null
			echo "vsock: guest pipe copy: $size bytes in" \
			    "$(($(vs_ms) - t0)) ms"
		fi
		vs_ask BYE
		return 0
		;;
	esac

	# 3. 32 concurrent connections each way
	i=0
	while [ $i -lt 32 ]; do
		dd if=/tmp/h2g of=/tmp/c$i bs=65536 skip=$((i + 32)) count=1 \
		    2>/dev/null
		i=$((i + 1))
	done
	vs_many_g2h 5003 32
	socat -d -d -t 60 VSOCK-LISTEN:5004,fork,backlog=64 EXEC:md5sum \
	    2>/tmp/m.log &
	p=$!
	vs_listen /tmp/m.log $p
	vs_ask MANY-H2G 5004 32
	echo "vsock: $ans"
	kill $p

	# 4. a slow reader on the host
	dd if=/tmp/h2g of=/tmp/p16 bs=1048576 count=16 2>/dev/null
	rm -f /tmp/h2g
	[ "$(vs_md5 /tmp/p16)" = "$p16md5" ] || e2e_fail "p16: md5 differs"
	vs_ask SLOW-HOST 5005
	socat -u OPEN:/tmp/p16 "VSOCK-CONNECT:2:5005$VS_CT" 2>/tmp/s5.log &
	p=$!
	vs_ask STARTED
	# The host's reader has stopped for a while: how far did we get?
	w=ended
	kill -0 $p 2>/dev/null && w=running
	wc=$(awk '/^wchar:/ { print $2 }' /proc/$p/io 2>/dev/null)
	vs_ask WRITER $w "${wc:-16777216}"
	echo "vsock: $ans"
	vs_wait $p 120 "slow host reader: the guest's writer"
	[ $rc -eq 0 ] || e2e_fail "slow host reader: socat exited $rc:" \
	    "$(tail -n 2 /tmp/s5.log)"

	# 5. a slow reader in the guest: md5sum waits for the host's word
	mkfifo /tmp/gate6 /tmp/pipe6
	( exec </tmp/pipe6; read -r _ </tmp/gate6; md5sum >/tmp/s6.md5 ) &
	socat -d -d -u VSOCK-LISTEN:5006 STDOUT >/tmp/pipe6 2>/tmp/s6.log &
	p=$!
	vs_listen /tmp/s6.log $p
	vs_ask SLOW-GUEST 5006
	echo go >/tmp/gate6
	_n=0
	while [ ! -s /tmp/s6.md5 ]; do
		_n=$((_n + 1))
		[ $_n -le 2400 ] || e2e_fail "slow guest reader: no md5 in 120 s"
		usleep 50000
	done
	m=$(cut -d' ' -f1 /tmp/s6.md5)
	vs_ask SLOW-GUEST-MD5 "$m"
	echo "vsock: $ans"
	[ "$m" = "$p16md5" ] ||
	    e2e_fail "slow guest reader: md5 $m, the host sent $p16md5"

	# 6. nobody listens
	t0=$(vs_ms)
	timeout 30 socat - "VSOCK-CONNECT:2:5999$VS_CT10" </dev/null 2>/tmp/u.log
	rc=$?
	ms=$(($(vs_ms) - t0))
	[ $rc -ne 0 ] || e2e_fail "unknown port: the connect succeeded"
	grep -q 'Connection reset by peer' /tmp/u.log ||
	    e2e_fail "unknown port: socat exited $rc after $ms ms, not reset:" \
	    "$(tail -n 1 /tmp/u.log)"
	echo "vsock: connect to host port 5999 (nobody listens): reset after $ms ms"
	vs_ask UNKNOWN 5998
	echo "vsock: $ans"

	# 7. the device child killed mid-stream
	socat -d -d -u VSOCK-LISTEN:5008 OPEN:/dev/null 2>/tmp/k8.log &
	k8=$!
	vs_listen /tmp/k8.log $k8
	socat -u OPEN:/dev/zero "VSOCK-CONNECT:2:5007$VS_CT" 2>/tmp/k7.log &
	k7=$!
	vs_ask KILL 5007 5008
	echo "vsock: $ans"
	# QEMU 7.2 never sets the restarted back end up (see the host side):
	# nothing can reset the guest's ends; say how they stand.
	s7=ended s8=ended
	! kill -0 $k7 2>/dev/null || s7=waiting
	! kill -0 $k8 2>/dev/null || s8=waiting
	echo "vsock: after the kill, in the guest: the stream to the host" \
	    "$s7, the stream from the host $s8"
	kill $k7 $k8 2>/dev/null
	vs_ask BYE
}

e2e_in_guest && e2e_guest vsock_checks

# ---- host ----

MB=${VSOCK_MB:-64}
STALL=${VSOCK_STALL:-5}
RSS_MAX=${VSOCK_RSS_MAX_KB:-8192}
LEAD_MAX=${VSOCK_LEAD_MAX_KB:-8192}
CID=41

# child_pid: the device child's pid (vhostd ctl).
child_pid() {
	"$VHOSTD" ctl --control="$ctl" status --json 2>/dev/null |
	    sed -n 's/.*"pid": \([0-9]*\), "restarts".*/\1/p'
}

# child_state: "PID CONNECTION STATE" of the device, from vhostd ctl.
child_state() {
	"$VHOSTD" ctl --control="$ctl" status --json 2>/dev/null | sed -n \
	    's/.*"state": "\([a-z]*\)", "pid": \([0-9]*\),.*"connection": "\([a-z]*\)".*/\2 \3 \1/p'
}

# flowed PID: process PID wrote 4 MiB.
flowed() {
	[ "$(awk '/^wchar:/ { print $2 }' "/proc/$1/io" 2>/dev/null)" -gt \
	    4194304 ] 2>/dev/null
}

# restarted OLD: a child other than OLD runs.
restarted() {
	_s=$(child_state)
	[ -n "$_s" ] && [ "${_s%% *}" != "$1" ] && [ "${_s##* }" = running ]
}

# cpu_ticks PID: user + system clock ticks of PID.
cpu_ticks() {
	sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'
}

# rss PID: "VmRSS RssAnon" in KiB.
rss() {
	awk '/^VmRSS:/ { v = $2 } /^RssAnon:/ { a = $2 }
	    END { print v + 0, a + 0 }' "/proc/$1/status" 2>/dev/null
}

# connected PATH: how many connected unix sockets carry PATH (the accepted
# ends of a listener bound there).
connected() {
	awk -v p="$1" '$NF == p && $4 != "00010000" && $6 == "03"' \
	    /proc/net/unix | wc -l
}

# until_true SECS CMD...: poll CMD (every 50 ms) until it succeeds; false
# after SECS.
until_true() {
	_d=$(($(_e2e_ms) + $1 * 1000))
	shift
	until "$@"; do
		[ "$(_e2e_ms)" -lt "$_d" ] || return 1
		sleep 0.05
	done
}

# all_ok N: m0.out .. m<N-1>.out each begin with their OK line.
all_ok() {
	_j=0
	while [ $_j -lt "$1" ]; do
		got_ok "$dir/m$_j.out" || return 1
		_j=$((_j + 1))
	done
}

# all_gone PID...: none of the processes runs.
all_gone() {
	for _p in "$@"; do
		! kill -0 "$_p" 2>/dev/null || return 1
	done
}

# h2g_start PORT FILE OUT: in the background, connect to uds-path, send
# "CONNECT PORT\n" and FILE; what comes back goes to OUT.  Sets $hp.
h2g_start() {
	{ printf 'CONNECT %s\n' "$1"; cat "$2"; } |
	    socat -t 120 - "UNIX-CONNECT:$uds" >"$3" 2>"$3.err" &
	hp=$!
}

# got_ok OUT: OUT begins with a complete "OK <port>" line.
got_ok() {
	head -n 1 "$1" 2>/dev/null | grep -q '^OK [0-9][0-9]*$' &&
	    [ "$(head -n 1 "$1" | wc -l)" -eq 1 ]
}

# mb_s BYTES MS: "12.3 MB/s".
mb_s() {
	awk -v b="$1" -v ms="$2" 'BEGIN { if (ms < 1) ms = 1;
	    printf "%.1f MB/s", b / ms / 1000 }'
}

# stall PID: VSOCK_STALL seconds of a stopped reader; the maxima of PID's
# VmRSS and RssAnon (from v0, r0) in vmax, rmax.
stall() {
	vmax=$v0 rmax=$r0
	_t=$(($(_e2e_ms) + STALL * 1000))
	while [ "$(_e2e_ms)" -lt $_t ]; do
		# shellcheck disable=SC2046
		set -- $(rss "$1")
		[ "${1:-0}" -le "$vmax" ] || vmax=$1
		[ "${2:-0}" -le "$rmax" ] || rmax=$2
		sleep 0.2
	done
}

# judge WHAT WRITER MD5: the verdict of a slow-reader phase: the reader got
# the 16 MiB (MD5), the writer was held back ($lead bytes written when the
# stall ended, below LEAD_MAX KiB) and the child's RssAnon stayed within
# RSS_MAX KiB of its level before the connection ($pid, $v0 $r0, maxima
# $vmax $rmax).  Answers the guest.
judge() {
	# shellcheck disable=SC2046
	set -- "$1" "$2" "$3" $(rss "$pid")
	g=$((rmax - r0))
	msg="$1, stopped ${STALL} s: the $2 had written $((lead / 1024))"
	msg="$msg KiB of 16384; child $pid VmRSS $v0 -> max $vmax -> $4 KiB,"
	msg="$msg RssAnon $r0 -> max $rmax -> $5 KiB"
	echo "$msg"
	if [ "$3" != "$p16md5" ]; then
		fail "$1: the reader got md5 $3, not $p16md5"
	elif [ "${lead:-0}" -ge $((LEAD_MAX * 1024)) ]; then
		fail "$1: the $2 got $((lead / 1024)) KiB (>= $LEAD_MAX) ahead" \
		    "of a stopped reader: no flow control"
	elif [ $g -gt "$RSS_MAX" ]; then
		fail "$1: the child's RssAnon grew $g KiB (> $RSS_MAX)" \
		    "while the reader stopped"
	else
		ans "$msg; md5 right"
	fi
}

# ans MSG: answer the guest.  fail MSG: answer FAIL and record it.
ans() {
	echo "$*" >&6
	echo "host: -> $*"
}
fail() {
	echo "$*" >>"$E2E_DIR/driver.fail"
	ans "FAIL $*"
}

# The guest's steps, answered one by one (see the guest side above).
driver() {
	exec 6>"$E2E_DIR/s1.in" 7<"$E2E_DIR/s1.out"
	while read -r cmd a1 a2 <&7; do
		echo "host: <- $cmd $a1 $a2"
		case $cmd in
		HELLO)
			cpu_ticks "$(child_pid)" >"$dir/cpu0.$run"
			ans "HELLO $bytes $md5 $p16md5 $CID"
			;;
		H2G)
			t0=$(_e2e_ms)
			h2g_start "$a1" "$h2g_file" "$dir/h2g.out"
			if ! until_true 300 eval '! kill -0 $hp 2>/dev/null'; then
				kill "$hp"
				fail "h2g: the host's socat did not end in 300 s"
				continue
			fi
			wait "$hp"
			rc=$?
			ms=$(($(_e2e_ms) - t0))
			if [ $rc -ne 0 ] || ! got_ok "$dir/h2g.out"; then
				fail "h2g: socat exited $rc, got" \
				    "'$(head -c 40 "$dir/h2g.out")'" \
				    "$(tail -n 1 "$dir/h2g.out.err")"
				continue
			fi
			n=$(wc -c <"$dir/h2g.out")
			ok=$(head -n 1 "$dir/h2g.out")
			if [ "$n" -ne $((${#ok} + 1)) ]; then
				fail "h2g: $n bytes came back, not only '$ok'"
				continue
			fi
			echo "h2g $ms $bytes" >"$dir/h2g.ms$run"
			ans "host sent $bytes bytes in $ms ms ($(mb_s "$bytes" "$ms")), '$ok'"
			;;
		G2H)
			until_true 120 eval '! kill -0 $l2 2>/dev/null' ||
			    { fail "g2h: the host's listener still runs"; continue; }
			wait "$l2"
			echo "g2h $a2 $bytes" >"$dir/g2h.ms$run"
			ans "G2H $(md5sum <"$dir/g2h.bin" | cut -d' ' -f1)"
			;;
		MANY-G2H)
			# Short: the guest still releases its connections and
			# says why some failed.
			until_true 120 eval \
			    '[ "$(connected "${uds}_$a1")" -ge "$a2" ]' ||
			    echo "many g2h: $(connected "${uds}_$a1") of $a2" \
			    "connections open at once" >>"$dir/driver.fail"
			ans "MANY-G2H $(connected "${uds}_$a1") open"
			;;
		MANY-H2G)
			mkfifo "$dir/gate" && exec 5<>"$dir/gate"
			i=0
			pl=
			while [ $i -lt "$a2" ]; do
				dd if="$dir/h2g.bin" of="$dir/m$i" bs=65536 \
				    skip=$((i + 64)) count=1 2>/dev/null
				{ printf 'CONNECT %s\n' "$a1"; cat "$dir/m$i"
				    read -r _ <"$dir/gate"; } |
				    socat -t 120 - "UNIX-CONNECT:$uds" \
				    >"$dir/m$i.out" 2>"$dir/m$i.err" &
				pl="$pl $!"
				i=$((i + 1))
			done
			# All open at once: each has its OK before any ends.
			until_true 120 all_ok "$a2" ||
			    echo "many h2g: not all OK in 120 s"
			nok=$(for f in "$dir"/m*.out; do got_ok "$f" && echo; done |
			    wc -l)
			i=0
			while [ $i -lt "$a2" ]; do echo >&5; i=$((i + 1)); done
			exec 5>&-
			# shellcheck disable=SC2086
			until_true 120 all_gone $pl ||
			    echo "many h2g: connections still open after 120 s"
			bad=0
			i=0
			while [ $i -lt "$a2" ]; do
				want=$(md5sum <"$dir/m$i" | cut -d' ' -f1)
				got=$(sed -n '2s/ .*//p' "$dir/m$i.out")
				if [ "$got" != "$want" ]; then
					echo "many h2g: $i: got '$(head -c 80 "$dir/m$i.out")'"
					bad=$((bad + 1))
				fi
				i=$((i + 1))
			done
			ports=$(for f in "$dir"/m*.out; do head -n 1 "$f"; done |
			    sort -u | wc -l)
			if [ "$nok" -ne "$a2" ] || [ $bad -ne 0 ] ||
			    [ "$ports" -ne "$a2" ]; then
				fail "many h2g: $nok of $a2 open at once, $bad" \
				    "wrong md5, $ports distinct host ports"
				continue
			fi
			ans "$a2 concurrent host->guest connections, all open" \
			    "at once, every md5 right, $ports distinct host ports"
			;;
		SLOW-HOST)
			pid=$(child_pid)
			# shellcheck disable=SC2046
			set -- $(rss "$pid")
			v0=$1 r0=$2
			ans GO
			read -r cmd _ <&7
			echo "host: <- $cmd"
			until_true 60 eval '[ "$(connected "${uds}_$a1")" -ge 1 ]' ||
			    { fail "slow host: no connection"; continue; }
			stall "$pid"
			ans CHECK
			read -r cmd w lead <&7
			echo "host: <- $cmd $w $lead"
			echo go >"$dir/gate5"
			until_true 120 eval '[ -s "$dir/slow5.md5" ]' ||
			    { fail "slow host: no md5 in 120 s"; continue; }
			m=$(cut -d' ' -f1 "$dir/slow5.md5")
			judge "slow host reader" "guest writer" "$m"
			;;
		SLOW-GUEST)
			pid=$(child_pid)
			# shellcheck disable=SC2046
			set -- $(rss "$pid")
			v0=$1 r0=$2
			h2g_start "$a1" "$dir/p16" "$dir/s6.out"
			until_true 60 got_ok "$dir/s6.out" ||
			    { fail "slow guest: no OK"; continue; }
			stall "$pid"
			# socat waits for the guest's end after it sent all (-t):
			# what it wrote tells how far it got.
			lead=$(awk '/^wchar:/ { print $2 }' "/proc/$hp/io" \
			    2>/dev/null)
			w=ended
			! kill -0 "$hp" 2>/dev/null || w=running
			ans RELEASE
			read -r cmd m <&7
			echo "host: <- $cmd $m"
			until_true 120 eval '! kill -0 $hp 2>/dev/null' ||
			    { fail "slow guest: the host's writer hangs"; continue; }
			wait "$hp"
			rc=$?
			if [ $rc -ne 0 ]; then
				fail "slow guest: the host's writer exited $rc"
				continue
			fi
			judge "slow guest reader" "host writer" "$m"
			;;
		UNKNOWN)
			t0=$(_e2e_ms)
			printf 'CONNECT %s\n' "$a1" | timeout 30 \
			    socat -t 60 - "UNIX-CONNECT:$uds" >"$dir/u.out" 2>&1
			rc=$?
			ms=$(($(_e2e_ms) - t0))
			if [ $rc -eq 124 ]; then
				fail "unknown port: the host's connection hangs (30 s)"
			elif grep -q '^OK' "$dir/u.out"; then
				fail "unknown port: got '$(head -n 1 "$dir/u.out")'"
			else
				ans "CONNECT to guest port $a1 (nobody listens):" \
				    "closed after $ms ms, no OK, socat exit $rc"
			fi
			;;
		KILL)
			h2g_start "$a2" /dev/zero "$dir/k8.out"
			until_true 60 got_ok "$dir/k8.out" ||
			    { fail "kill: no OK for the stream into the guest"; continue; }
			until_true 60 eval '[ "$(connected "${uds}_$a1")" -ge 1 ]' ||
			    { fail "kill: no stream from the guest"; continue; }
			# Mid-stream: 4 MiB went each way.
			until_true 60 eval 'flowed $hp && flowed $l7' ||
			    { fail "kill: the streams do not flow"; continue; }
			old=$(child_pid)
			t0=$(_e2e_ms)
			kill -KILL "$old"
			e1=ok e2=ok
			until_true 30 eval '! kill -0 $hp 2>/dev/null' || e1=hangs
			until_true 30 eval '! kill -0 $l7 2>/dev/null' || e2=hangs
			ms=$(($(_e2e_ms) - t0))
			until_true 60 restarted "$old" || e3=no
			new=$(child_state)
			if [ $e1 != ok ] || [ $e2 != ok ]; then
				fail "kill: host ends after the kill: into the" \
				    "guest $e1, from the guest $e2"
			elif [ "${e3:-}" = no ]; then
				fail "kill: vhostd did not restart the child in 60 s" \
				    "(ctl: $new)"
			else
				ans "child $old SIGKILLed mid-stream: both host" \
				    "ends closed within $ms ms; vhostd restarted it:" \
				    "pid, connection, state: $new"
			fi
			echo "kill $old $ms $new" >"$dir/kill"
			;;
		BYE)
			cpu_ticks "$(child_pid)" >"$dir/cpu1.$run"
			ans BYE
			break
			;;
		*)
			fail "unknown step '$cmd'"
			;;
		esac
	done
}

e2e_setup vsock full
command -v socat >/dev/null 2>&1 ||
    e2e_skip "socat is not installed (apt-get install socat)"
qemu-system-x86_64 -device help 2>/dev/null | grep -q '"vhost-user-vsock-pci"' ||
    e2e_skip "this QEMU has no vhost-user-vsock-pci"
grep -q 'vmw_vsock_virtio_transport\.ko' build/guest/kernel/load-order ||
    e2e_skip "the guest kernel has no vmw_vsock_virtio_transport module" \
    "($(cat build/guest/kernel/package))"
# Two host-guest streams, the slow readers, the kill: room on a busy host.
: "${E2E_TIMEOUT:=600}"

dir=$E2E_DIR
uds="$dir/v.sock"
sock="$dir/vsock.sock"
ctl="$dir/ctl"
bytes=$((MB * 1048576))
dd if=/dev/urandom of="$dir/h2g.bin" bs=1048576 count="$MB" 2>/dev/null ||
    e2e_die "cannot write $MB MiB to $dir"
md5=$(md5sum <"$dir/h2g.bin" | cut -d' ' -f1)
dd if="$dir/h2g.bin" of="$dir/p16" bs=1048576 count=16 2>/dev/null
p16md5=$(md5sum <"$dir/p16" | cut -d' ' -f1)
[ "$MB" -ge 16 ] || e2e_die "VSOCK_MB must be at least 16"

e2e_start_vhostd --control="$ctl" \
    --device "vsock,socket=$sock,guest-cid=$CID,uds-path=$uds"
_e2e_listening "$uds" "$E2E_VHOSTD_PID" ||
    e2e_die "uds-path $uds is not a listening socket"

# The host's listeners, before the guest connects (5002: the stream from
# the guest; 5003: an md5 server; 5005: the slow reader; 5007: the stream
# the kill cuts).
start_listeners() {
	rm -f "$dir/g2h.bin"
	socat -u "UNIX-LISTEN:${uds}_5002" "CREATE:$dir/g2h.bin" \
	    2>"$dir/l2.err" &
	l2=$!
	socat -t 60 "UNIX-LISTEN:${uds}_5003,fork,backlog=64" EXEC:md5sum \
	    2>"$dir/l3.err" &
	l3=$!
	rm -f "$dir/gate5" "$dir/pipe5" "$dir/slow5.md5"
	mkfifo "$dir/gate5" "$dir/pipe5"
	( exec <"$dir/pipe5"; read -r _ <"$dir/gate5"
	    md5sum >"$dir/slow5.md5" ) &
	r5=$!
	socat -u "UNIX-LISTEN:${uds}_5005" STDOUT >"$dir/pipe5" \
	    2>"$dir/l5.err" &
	l5=$!
	socat -u "UNIX-LISTEN:${uds}_5007" OPEN:/dev/null 2>"$dir/l7.err" &
	l7=$!
	lpids="$l2 $l3 $l5 $l7"
	for p in 5002 5003 5005 5007; do
		until_true 30 _e2e_listening "${uds}_$p" ||
		    e2e_die "socat did not listen on ${uds}_$p"
	done
}

stop_listeners() {
	# shellcheck disable=SC2086
	kill $lpids 2>/dev/null
	# The slow reader may still wait for its word.
	! kill -0 "$r5" 2>/dev/null || echo >"$dir/gate5"
	# shellcheck disable=SC2086
	wait $lpids "$r5" 2>/dev/null
	rm -f "${uds}"_*
}

# boot RUN [KERNEL-ARGS]: one QEMU run with the control line and driver.
boot() {
	run=$1
	rm -f "$dir/s1.in" "$dir/s1.out"
	mkfifo "$dir/s1.in" "$dir/s1.out" || e2e_die "mkfifo failed"
	driver >"$dir/driver$run.log" 2>&1 &
	drv=$!
	E2E_APPEND=${2:-} e2e_boot \
	    -serial mon:stdio -serial "pipe:$dir/s1" \
	    -chardev "socket,id=c0,path=$sock" \
	    -device vhost-user-vsock-pci,chardev=c0
	kill "$drv" 2>/dev/null
	wait "$drv" 2>/dev/null
	cp "$dir/console.txt" "$E2E_LOGS/console$run.txt" 2>/dev/null
	cp "$dir/driver$run.log" "$E2E_LOGS/" 2>/dev/null
	grep -v '^host: [<-]' "$dir/driver$run.log"
	grep '^vsock: ' "$dir/console.txt"
}

# throughput RUN: the streams' figures.
throughput() {
	[ -s "$dir/h2g.ms$1" ] && [ -s "$dir/g2h.ms$1" ] || return 0
	read -r _ hms hb <"$dir/h2g.ms$1"
	read -r _ gms gb <"$dir/g2h.ms$1"
	echo "e2e: throughput (TCG guest): host->guest $(mb_s "$hb" "$hms")" \
	    "($hb bytes in $hms ms), guest->host $(mb_s "$gb" "$gms")" \
	    "($gb bytes in $gms ms)"
	[ "${VSOCK_BENCH:-0}" = 1 ] || return 0
	# Only the streams ran: the child's CPU over the boot is theirs.
	c0=$(cat "$dir/cpu0.$1" 2>/dev/null) c1=$(cat "$dir/cpu1.$1" 2>/dev/null)
	[ -n "$c0" ] && [ -n "$c1" ] || return 0
	echo "e2e: device child CPU for both streams: $(((c1 - c0) * 1000 / \
	    $(getconf CLK_TCK))) ms (user + system)"
}

# VSOCK_BENCH=1 (make bench): the two streams only.
h2g_file=$dir/h2g.bin
if [ "${VSOCK_BENCH:-0}" = 1 ]; then
	start_listeners
	boot 1 vsock.mode=bench
	stop_listeners
	throughput 1
	e2e_finish
fi

# Boot 1: every phase; the last one kills the device child.
start_listeners
boot 1
stop_listeners
throughput 1

# Boot 2: QEMU 7.2's vhost-user-vsock does not set the device up again
# after its back end reconnects (it has no chardev event handler, unlike
# vhost-user-blk), so the restarted child is proven with a new VM: both
# streams, 16 MiB each, checked at both ends.
if [ "$E2E_STATUS" -eq 0 ]; then
	h2g_file=$dir/p16 bytes=$((16 * 1048576)) md5=$p16md5
	start_listeners
	boot 2 vsock.mode=after
	stop_listeners
	# The child vhostd restarted after the kill is the one that served.
	read -r _ _ _ newpid _ <"$dir/kill"
	until_true 10 grep -q "child $newpid exited .*had served" \
	    "$dir/vhostd.log" || {
		echo "FAIL: the child restarted after the kill ($newpid) did" \
		    "not serve the new VM"
		E2E_STATUS=1
	}
fi
if [ -s "$dir/driver.fail" ]; then
	echo "FAIL: host side: $(cat "$dir/driver.fail")"
	E2E_STATUS=1
fi
grep -i 'killed\|run again\|restart' "$E2E_DIR/vhostd.log" | tail -n 4
e2e_stop_vhostd
if [ -e "$uds" ]; then
	echo "FAIL: vhostd left its uds-path $uds behind"
	E2E_STATUS=1
fi
e2e_finish
