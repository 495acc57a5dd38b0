#!/bin/sh
# net.sh - end to end: a Linux guest under QEMU (TCG) uses vhostd's
# virtio-net (-netdev vhost-user + virtio-net-pci) over a tap in a network
# namespace this test makes, with addresses it assigns there only
# (10.11.0.1 on the tap, 10.11.0.2 in the guest).  Four boots:
#  1. basic, one queue pair: the guest pings the namespace, 100 pings with
#     0% loss; 64 MiB TCP from the namespace to the guest and 64 MiB back,
#     the md5 of each stream computed at both ends and compared;
#  2. mq, two queue pairs and two vCPUs: the guest sees two pairs, the same
#     64 MiB each way as two flows of 32 MiB, one per vCPU, and vhostd's
#     counters show both pairs carried frames both ways;
#  3. jumbo, mtu=9000 (tap created by vhostd, tap-create=on; QEMU's
#     host_mtu=9000): the guest's MTU is 9000 at boot (VIRTIO_NET_F_MTU)
#     and can be set, a ping of 8972 bytes with DF set gets its answer,
#     one of 8973 is refused, and 64 MiB go each way;
#  4. kill: the device child is SIGKILLed while 64 MiB flow from the guest
#     to the namespace (and again while 64 MiB flow back); vhostd restarts
#     it, QEMU reconnects (reconnect=1), TCP carries on and both transfers
#     complete with the right md5.
# The namespace end is a small python3 server (sink and source) run with
# ip netns exec.  E2E_BUILTIN=1 attaches QEMU's own -netdev tap to the
# same kind of tap instead (checks the guest and namespace side without
# vhostd).  NET_MODES="basic mq" runs a subset.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

NET_HOST=10.11.0.1
NET_GUEST=10.11.0.2
NET_MIB=64

# ---- guest ----

# net_arg KEY: the value of net.KEY= on the kernel command line.
net_arg() {
	sed -n "s/.*net\\.$1=\\([^ ]*\\).*/\\1/p" /proc/cmdline
}

# net_now: guest uptime in centiseconds.
net_now() {
	awk '{ printf "%d\n", $1 * 100 }' /proc/uptime
}

# net_rate LABEL BYTES T0: print the time since T0 and the rate.
net_rate() {
	_dt=$(($(net_now) - $3))
	[ $_dt -gt 0 ] || _dt=1
	echo "net: $1: $2 bytes in $((_dt / 100)).$((_dt % 100)) s," \
	    "$(($2 / _dt * 100 / 1024)) KiB/s"
}

# net_down PORT FILE: receive the namespace's stream into FILE; prints
# "net: down PORT md5 X".
net_down() {
	_t=$(net_now)
	nc "$NET_HOST" "$1" </dev/null >"$2" ||
	    e2e_fail "nc $NET_HOST $1 (download) failed"
	net_rate "down $1" "$(wc -c <"$2")" "$_t"
	echo "net: down $1 md5 $(md5sum <"$2" | cut -d' ' -f1)"
}

# net_up PORT FILE: send FILE to the namespace; prints "net: up PORT md5 X".
net_up() {
	echo "net: up $1 md5 $(md5sum <"$2" | cut -d' ' -f1)"
	_t=$(net_now)
	nc "$NET_HOST" "$1" <"$2" >/dev/null ||
	    e2e_fail "nc $NET_HOST $1 (upload) failed"
	net_rate "up $1" "$(wc -c <"$2")" "$_t"
}

net_checks() {
	mode=$(net_arg mode)
	dev=
	for d in /sys/class/net/*; do
		drv=$(readlink "$d/device/driver" 2>/dev/null) || continue
		[ "${drv##*/}" = virtio_net ] && dev=${d##*/}
	done
	[ -n "$dev" ] || e2e_fail "no virtio-net interface (have:" \
	    "$(ls /sys/class/net | tr '\n' ' '))"
	ip link set "$dev" up || e2e_fail "ip link set $dev up failed"
	ip addr add "$NET_GUEST/24" dev "$dev" ||
	    e2e_fail "ip addr add $NET_GUEST/24 dev $dev failed"
	qp=$(ls -d /sys/class/net/"$dev"/queues/rx-* | wc -l)
	echo "net: mode $mode, $dev mac $(cat /sys/class/net/"$dev"/address)" \
	    "mtu $(cat /sys/class/net/"$dev"/mtu) queue pairs $qp" \
	    "features $(cat /sys/class/net/"$dev"/device/features 2>/dev/null)"
	# The namespace answers once the link is up and ARP resolved: a few
	# tries (bounded), then the counted run.
	i=0
	until /usr/bin/ping -c 1 -W 2 "$NET_HOST" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 15 ] || e2e_fail "no answer from $NET_HOST to 15 pings"
	done
	/usr/bin/ping -c 100 -i 0.02 -W 5 "$NET_HOST" >/tmp/ping 2>&1
	grep -q ', 0% packet loss' /tmp/ping ||
	    e2e_fail "100 pings: $(grep 'packet loss' /tmp/ping || tail -2 /tmp/ping)"
	echo "net: ping: $(grep 'packet loss' /tmp/ping); $(grep rtt /tmp/ping)"
	case $mode in
	basic|kill)
		net_down 5002 /tmp/in
		net_up 5001 /tmp/in
		;;
	mq)
		[ "$qp" -eq 2 ] || e2e_fail "$qp queue pairs, not 2"
		taskset 1 sh -c "cd /tests && . ./net.sh && net_down 5003 /tmp/in0" &
		p0=$!
		taskset 2 sh -c "cd /tests && . ./net.sh && net_down 5003 /tmp/in1" &
		p1=$!
		wait $p0 || e2e_fail "flow 0 down failed"
		wait $p1 || e2e_fail "flow 1 down failed"
		taskset 1 sh -c "cd /tests && . ./net.sh && net_up 5001 /tmp/in0" &
		p0=$!
		taskset 2 sh -c "cd /tests && . ./net.sh && net_up 5001 /tmp/in1" &
		p1=$!
		wait $p0 || e2e_fail "flow 0 up failed"
		wait $p1 || e2e_fail "flow 1 up failed"
		;;
	jumbo)
		# The device's MTU (VIRTIO_NET_F_MTU) is the guest's at boot;
		# setting it again must work too.
		mtu=$(cat /sys/class/net/"$dev"/mtu)
		[ "$mtu" -eq 9000 ] || e2e_fail "mtu at boot is $mtu, not 9000"
		ip link set "$dev" mtu 9000 || e2e_fail "ip link set mtu 9000 failed"
		/usr/bin/ping -c 5 -i 0.2 -M do -s 8972 -W 5 "$NET_HOST" \
		    >/tmp/ping 2>&1
		grep -q ', 0% packet loss' /tmp/ping || e2e_fail "ping -M do" \
		    "-s 8972: $(grep 'packet loss' /tmp/ping || tail -2 /tmp/ping)"
		echo "net: jumbo ping: $(grep 'packet loss' /tmp/ping)"
		# The same size without DF may fragment: show DF was what made
		# it through (one more byte must be refused locally).
		if /usr/bin/ping -c 1 -M do -s 8973 -W 2 "$NET_HOST" \
		    >/tmp/ping 2>&1; then
			e2e_fail "ping -M do -s 8973 passed an MTU of 9000"
		fi
		net_down 5002 /tmp/in
		net_up 5001 /tmp/in
		;;
	*)
		e2e_fail "unknown net.mode '$mode'"
		;;
	esac
	echo "net: done"
}

# Sourced by the mq flows above (they call one function each).
case ${0##*/} in
net.sh) e2e_in_guest && e2e_guest net_checks ;;
*) return 0 ;;
esac

# ---- host ----

# The namespace end: port 5001 sinks a stream (logs its size and md5),
# ports 5002 and 5003 send the file (the whole, or its first half), each
# connection in a thread.  Bytes received and sent so far (all
# connections) in $E2E_DIR/sink.bytes and source.bytes.
net_server() {
	cat >"$E2E_DIR/srv.py" <<'EOF'
import hashlib, os, socket, sys, threading, time
host, path, log, prog, sprog = sys.argv[1:6]
data = open(path, "rb").read()
lock = threading.Lock()
done = {prog: 0, sprog: 0}

def progress(f, n):
    with lock:
        done[f] += n
        with open(f + ".new", "w") as o:
            o.write("%d\n" % done[f])
        os.rename(f + ".new", f)

def note(s):
    with lock:
        with open(log, "a") as f:
            f.write(s + "\n")

def sink(c):
    h, n, t = hashlib.md5(), 0, time.time()
    while True:
        b = c.recv(1 << 20)
        if not b:
            break
        h.update(b)
        n += len(b)
        progress(prog, len(b))
    note("sink %d %s %.2f" % (n, h.hexdigest(), time.time() - t))

def source(c, buf):
    t = time.time()
    for i in range(0, len(buf), 1 << 20):
        c.sendall(buf[i:i + (1 << 20)])
        progress(sprog, (len(buf[i:i + (1 << 20)])))
    c.shutdown(socket.SHUT_WR)
    while c.recv(4096):
        pass
    note("source %d %s %.2f" % (len(buf), hashlib.md5(buf).hexdigest(),
                                time.time() - t))

def serve(port, fn, *a):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # The address comes with the tap, made later (IP_FREEBIND).
    s.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_FREEBIND", 15), 1)
    s.bind((host, port))
    s.listen(8)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c, fn, a), daemon=True).start()

def handle(c, fn, a):
    try:
        fn(c, *a)
    finally:
        c.close()

for port, fn, a in ((5001, sink, ()), (5002, source, (data,)),
                    (5003, source, (data[:len(data) // 2],))):
    threading.Thread(target=serve, args=(port, fn) + a, daemon=True).start()
note("ready")
threading.Event().wait()
EOF
	: >"$E2E_DIR/srv.log"
	echo 0 >"$E2E_DIR/sink.bytes"
	echo 0 >"$E2E_DIR/source.bytes"
	ip netns exec "$ns" python3 "$E2E_DIR/srv.py" "$NET_HOST" \
	    "$E2E_DIR/data" "$E2E_DIR/srv.log" "$E2E_DIR/sink.bytes" \
	    "$E2E_DIR/source.bytes" \
	    >"$E2E_DIR/srv.err" 2>&1 &
	srv=$!
	i=0
	until grep -q ready "$E2E_DIR/srv.log"; do
		kill -0 $srv 2>/dev/null ||
		    e2e_die "the namespace server died: $(tail -3 "$E2E_DIR/srv.err")"
		i=$((i + 1))
		[ $i -lt 200 ] || e2e_die "the namespace server did not start"
		sleep 0.05
	done
}

# net_tap NAME QUEUES: a tap in the namespace, up, with the host address.
net_tap() {
	_mq=
	[ "$2" -le 1 ] || _mq=multi_queue
	# shellcheck disable=SC2086
	ip -n "$ns" tuntap add dev "$1" mode tap vnet_hdr $_mq ||
	    e2e_die "ip tuntap add $1 in $ns failed"
	net_addr "$1"
}

# net_addr NAME: bring the tap up with the namespace's address.
net_addr() {
	ip -n "$ns" addr flush dev "$1"
	ip -n "$ns" addr add "$NET_HOST/24" dev "$1" &&
	    ip -n "$ns" link set "$1" up ||
	    e2e_die "cannot configure $1 in $ns"
}

# net_judge MODE FLOWS: compare the md5 of every stream at both ends.
net_judge() {
	c="$E2E_DIR/console.txt"
	grep '^net: ' "$c" | grep -v ' md5 ' || true
	data_md5=$(md5sum <"$E2E_DIR/data" | cut -d' ' -f1)
	half_md5=$(head -c $((NET_MIB * 1048576 / 2)) "$E2E_DIR/data" |
	    md5sum | cut -d' ' -f1)
	want=$data_md5
	port=5002
	[ "$2" -eq 1 ] || { want=$half_md5; port=5003; }
	n=$(grep -c "^net: down $port md5 $want\$" "$c")
	if [ "$n" -ne "$2" ]; then
		echo "FAIL: $1: $n of $2 downloads arrived with md5 $want:" \
		    "$(grep "^net: down" "$c" | tr '\n' ' ')"
		E2E_STATUS=1
	fi
	for m in $(sed -n 's/^net: up 5001 md5 //p' "$c"); do
		if ! grep -q "^sink [0-9]* $m " "$E2E_DIR/srv.log"; then
			echo "FAIL: $1: the guest sent md5 $m, the namespace" \
			    "got: $(grep '^sink' "$E2E_DIR/srv.log" | tr '\n' ' ')"
			E2E_STATUS=1
		fi
	done
	n=$(grep -c "^sink [0-9]* $want " "$E2E_DIR/srv.log")
	if [ "$n" -ne "$2" ]; then
		echo "FAIL: $1: $n of $2 uploads reached the namespace with md5" \
		    "$want: $(grep '^sink' "$E2E_DIR/srv.log" | tr '\n' ' ')"
		E2E_STATUS=1
	else
		echo "e2e: $1: $2 x $(($2 == 1 ? NET_MIB : NET_MIB / 2)) MiB" \
		    "each way, md5 equal at both ends ($want)"
	fi
	sed 's/^/e2e: namespace: /' "$E2E_DIR/srv.log" | grep -v ready
	: >"$E2E_DIR/srv.log"
	if grep -q 'SIGSYS\|forbidden' "$E2E_DIR/vhostd.log" 2>/dev/null; then
		echo "FAIL: $1: the device violated its seccomp policy"
		E2E_STATUS=1
	fi
}

# net_pairs N: vhostd's per-pair counters (logged by the child when the
# front end leaves): each of the N pairs carried 1 MiB or more each way.
net_pairs() {
	e2e_builtin && return 0
	grep 'net: pair [0-9]* [rt]x: ' "$E2E_DIR/vhostd.log" |
	    sed 's/^[^:]*: //' | sed 's/^/e2e: vhostd /'
	p=0
	while [ $p -lt "$1" ]; do
		for d in rx tx; do
			# Bytes, not frames: with TSO/GSO a frame is up
			# to 64 KiB.
			f=$(sed -n "s/.*net: pair $p $d: .*bytes=\([0-9]*\).*/\1/p" \
			    "$E2E_DIR/vhostd.log" | awk '{ s += $1 } END { print s + 0 }')
			if [ "$f" -lt 1048576 ]; then
				echo "FAIL: pair $p $d carried $f bytes (< 1 MiB)"
				E2E_STATUS=1
			fi
		done
		p=$((p + 1))
	done
}

# child_pid: the device child's pid, from vhostd ctl (0 when none).
child_pid() {
	"$VHOSTD" ctl --control="$E2E_DIR/ctl" status --json 2>/dev/null |
	    sed -n 's/.*"type": "net".*"pid": \([0-9]*\),.*/\1/p' | head -n 1
}

# killer: SIGKILL the device child once 8 MiB of the download left the
# namespace, and again once 8 MiB of the upload arrived there (the guest
# downloads first, then sends back what it got).
killer() {
	# The server's counts run over the whole test: from here on.
	b_source=$(cat "$E2E_DIR/source.bytes")
	b_sink=$(cat "$E2E_DIR/sink.bytes")
	for phase in source sink; do
		_t=$(_e2e_ms)
		eval "_b=\$b_$phase"
		until [ "$(cat "$E2E_DIR/$phase.bytes")" -ge $((_b + 8388608)) ]; do
			[ $(($(_e2e_ms) - _t)) -lt 240000 ] ||
			    { echo "killer: no $phase progress"; exit 1; }
			sleep 0.05
		done
		p=$(child_pid)
		[ "${p:-0}" -gt 0 ] || { echo "killer: no child pid"; exit 1; }
		kill -KILL "$p" && echo "e2e: killed device child $p after" \
		    "8 MiB of the $phase's stream"
	done
}

# net_start MODE QUEUES DEVKEYS: a fresh vhostd serving tap $tap (nothing
# with E2E_BUILTIN=1).
net_start() {
	sock="$E2E_DIR/net-$1.sock"
	e2e_builtin || e2e_start_vhostd --seccomp=kill --control="$E2E_DIR/ctl" \
	    --device "net,socket=$sock,tap=$tap,queues=$2$3"
}

# net_boot MODE QUEUES [QEMU-ARGS...]: boot the guest on vhostd's socket
# (or on QEMU's own tap netdev with E2E_BUILTIN=1, tap $tap).
net_boot() {
	_mode=$1 _q=$2
	shift 2
	# MSI-X vectors: one per queue, the control queue and the config
	# interrupt (2N+2).  QEMU 7.2 (Debian 12) under TCG segfaults when
	# the guest enables MSI-X on a vhost-user net device
	# (vhost_net_start -> msix_set_vector_notifiers; QEMU's own tap and
	# other vhost-user devices are fine), so by default the guest gets
	# INTx (vectors=0); NET_VECTORS=msix asks for 2N+2.
	_vec=0
	[ "${NET_VECTORS:-intx}" != msix ] || _vec=$((2 * _q + 2))
	if e2e_builtin; then
		_nd="tap,id=n0,ifname=$tap,script=no,downscript=no,vhost=off"
		[ "$_q" -le 1 ] || _nd="$_nd,queues=$_q"
	else
		set -- -chardev "socket,id=c0,path=$sock,reconnect=1" "$@"
		_nd="vhost-user,id=n0,chardev=c0,queues=$_q"
	fi
	E2E_APPEND="net.mode=$_mode" e2e_boot "$@" -netdev "$_nd" \
	    -device "virtio-net-pci,netdev=n0,mq=on,vectors=$_vec,mac=52:54:00:0b:00:02${NET_DEVOPTS:-}"
	cp "$E2E_DIR/console.txt" "$E2E_LOGS/console-$_mode.txt" 2>/dev/null || :
	cp "$E2E_DIR/vhostd.log" "$E2E_LOGS/vhostd-$_mode.log" 2>/dev/null || :
}

e2e_setup net full
[ -c /dev/net/tun ] || e2e_skip "no /dev/net/tun (modprobe tun)"
command -v ip >/dev/null 2>&1 || e2e_skip "ip(8) is missing (iproute2)"
command -v python3 >/dev/null 2>&1 || e2e_skip "python3 is missing"
ns=vhostd-e2e-net-$$
ip netns add "$ns" 2>"$E2E_DIR/netns.err" ||
    e2e_skip "cannot create a network namespace: $(cat "$E2E_DIR/netns.err")"
ip -n "$ns" link set lo up
srv=
net_cleanup() {
	e2e_stop_vhostd
	[ -z "$srv" ] || kill "$srv" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
}
trap 'r=$?; net_cleanup; (exit $r); _e2e_exit' EXIT
E2E_NETNS=$ns
head -c $((NET_MIB * 1048576)) /dev/urandom >"$E2E_DIR/data"
net_server
# TCG: each boot moves 128 MiB through the guest's TCP stack.
: "${E2E_TIMEOUT:=300}"
modes=${NET_MODES:-basic mq jumbo kill}

for m in $modes; do
	tap=vh$$${m%"${m#?}"}
	case $m in
	basic)
		net_tap "$tap" 1
		net_start basic 1 ",restart=never"
		net_boot basic 1
		net_judge basic 1
		e2e_stop_vhostd
		net_pairs 1
		;;
	mq)
		net_tap "$tap" 2
		net_start mq 2 ",restart=never"
		net_boot mq 2 -smp 2
		net_judge mq 2
		# Each flow had its vCPU, so its tx queue (XPS), and the tap
		# steers a flow's frames to the queue it came from.
		e2e_stop_vhostd
		net_pairs 2
		;;
	jumbo)
		if e2e_builtin; then
			net_tap "$tap" 1
		else
			# vhostd creates this tap (and removes it when it
			# exits); it exists once vhostd is ready.
			net_start jumbo 1 ",restart=never,mtu=9000,tap-create=on"
			net_addr "$tap"
		fi
		ip -n "$ns" link set "$tap" mtu 9000 ||
		    e2e_die "cannot set mtu 9000 on $tap"
		# host_mtu: QEMU offers VIRTIO_NET_F_MTU to the guest and
		# tells vhostd (VHOST_USER_NET_SET_MTU).
		NET_DEVOPTS=,host_mtu=9000 net_boot jumbo 1
		ip -n "$ns" link show "$tap" | sed -n \
		    's/.*\(mtu [0-9]*\).*/e2e: jumbo: namespace tap \1/p'
		net_judge jumbo 1
		;;
	kill)
		net_tap "$tap" 1
		: >"$E2E_DIR/killer.log"
		kpid=
		if ! e2e_builtin; then
			killer >"$E2E_DIR/killer.log" 2>&1 &
			kpid=$!
		fi
		net_start kill 1 ""
		net_boot kill 1
		[ -z "$kpid" ] || kill "$kpid" 2>/dev/null
		cat "$E2E_DIR/killer.log"
		if ! e2e_builtin; then
			n=$(grep -c 'killed by signal SIGKILL' "$E2E_DIR/vhostd.log")
			s=$(grep -c 'started child' "$E2E_DIR/vhostd.log")
			echo "e2e: kill: vhostd logged $n SIGKILLed children, $s started"
			if [ "$n" -lt 2 ] || [ "$s" -lt 3 ]; then
				echo "FAIL: kill: the child was not killed twice and" \
				    "restarted during the transfers"
				E2E_STATUS=1
			fi
		fi
		net_judge kill 1
		;;
	*)
		e2e_die "unknown mode $m in NET_MODES"
		;;
	esac
	e2e_stop_vhostd
	# The next case's tap takes the same address: remove this one (the
	# one vhostd created is gone already).
	ip -n "$ns" link del "$tap" 2>/dev/null
done
e2e_finish
