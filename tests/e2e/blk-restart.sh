#!/bin/sh
# blk-restart.sh - end to end: the device child serving a guest's disk is
# killed in the middle of I/O; vhostd restarts it on the same socket,
# QEMU reconnects (chardev reconnect=1) and hands back the inflight region
# (INFLIGHT_SHMFD), the new child runs again the requests the old one had
# taken, and the guest's fio run, which verifies every block it wrote,
# finishes without an error.
#
# Requests are certainly in flight at the kill where the host can freeze a
# file system: the image is then on an ext4 on a loop device, frozen
# (fsfreeze) once the guest's writes flow, so direct=on writes wait in
# io_uring's worker; the kill comes once a task of the child waits (state
# D), then the file system is thawed.  The test then asserts that the next
# child ran requests again ("run again" in vhostd's log).  Without root,
# losetup, mkfs.ext4 or fsfreeze it falls back to a plain image and only
# prints whether requests were in flight (under TCG the device is usually
# idle at the kill).
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

restart_checks() {
	[ -b /dev/vda ] || e2e_fail "no /dev/vda"
	fio --name=r --filename=/dev/vda --rw=randwrite --bs=4k --size=16m \
	    --direct=1 --ioengine=libaio --iodepth=16 --verify=crc32c \
	    --do_verify=1 --output=/tmp/fio >/dev/null 2>&1 &
	fio=$!
	# The host kills the device when it sees this line: once writes
	# flow (field 7 of the block stat file: sectors written).
	while [ "$(awk '{print $7}' /sys/block/vda/stat)" -lt 4096 ]; do
		kill -0 $fio 2>/dev/null || break
	done
	echo "blk-restart: io running"
	wait $fio || e2e_fail "fio across the device restart: $(tail -5 /tmp/fio)"
	echo "blk-restart: fio verified 16 MiB"
}

e2e_in_guest && e2e_guest restart_checks

e2e_setup blk-restart full
mnt=
loop=
# Before lib.sh's clean-up: vhostd lets go of the image, then the file
# system goes (thawed first: a frozen one keeps the child alive).
restart_cleanup() {
	e2e_stop_vhostd
	if [ -n "$mnt" ]; then
		fsfreeze -u "$mnt" 2>/dev/null
		# A dead child's io_uring lets go of the image a moment after
		# the child is reaped: a few tries, then a lazy unmount.
		_i=0
		until umount "$mnt" 2>/dev/null; do
			_i=$((_i + 1))
			[ $_i -lt 50 ] || { umount -l "$mnt"; break; }
			sleep 0.1
		done
	fi
	[ -z "$loop" ] || losetup -d "$loop"
}
trap '_rc0=$?; restart_cleanup; (exit $_rc0); _e2e_exit' EXIT
held=0
if [ "$(id -u)" -eq 0 ] && command -v losetup >/dev/null &&
    command -v mkfs.ext4 >/dev/null && command -v fsfreeze >/dev/null; then
	truncate -s 64M "$E2E_DIR/fs.img"
	if loop=$(losetup -f --show "$E2E_DIR/fs.img" 2>/dev/null); then
		mkfs.ext4 -q -F "$loop" >/dev/null 2>&1 ||
		    e2e_die "mkfs.ext4 $loop failed"
		mkdir "$E2E_DIR/mnt" && mount "$loop" "$E2E_DIR/mnt" ||
		    e2e_die "mount $loop failed"
		mnt="$E2E_DIR/mnt"
		held=1
	else
		loop=
	fi
fi
if [ $held -eq 1 ]; then
	img="$mnt/disk.img"
	echo "e2e: the image is on a freezable ext4 ($loop): requests will be" \
	    "in flight at the kill"
else
	img="$E2E_DIR/disk.img"
	echo "e2e: no freezable file system here (needs root, losetup," \
	    "mkfs.ext4, fsfreeze): whether requests are in flight is printed"
fi
truncate -s 32M "$img"
sock="$E2E_DIR/blk.sock"
# O_DIRECT where the file system has it (not tmpfs): requests then stay
# in flight in io_uring, and the kill finds some to run again.
direct=on
dd if=/dev/zero of="$img" bs=4096 count=1 oflag=direct conv=notrunc \
    2>/dev/null || direct=off
[ $held -eq 0 ] || [ $direct = on ] || e2e_die "no O_DIRECT on ext4"
e2e_start_vhostd --control="$E2E_DIR/ctl" \
    --device "blk,socket=$sock,path=$img,direct=$direct"
pid0=$("$VHOSTD" ctl --control="$E2E_DIR/ctl" status --json |
    sed -n 's/.*"pid": \([0-9]*\), "restarts".*/\1/p')
[ -n "$pid0" ] || e2e_die "no device pid from vhostd ctl"

# Kill the device child once the guest's I/O has started: follow the
# console as it is written (no polling).  With a freezable file system,
# freeze it first and wait (30 s at most) until one of the child's tasks
# sleeps in the kernel: a write waiting for the thaw, in flight.
: >"$E2E_DIR/console.log"
(
	tail -n +1 -f "$E2E_DIR/console.log" 2>/dev/null |
	    grep -q -m 1 'blk-restart: io running' || exit 0
	if [ $held -eq 1 ]; then
		fsfreeze -f "$mnt"
		i=0
		while [ $i -lt 600 ]; do
			if grep -qs '^[0-9]* ([^)]*) D ' /proc/"$pid0"/task/*/stat
			then
				echo "e2e: a write of child $pid0 waits on the" \
				    "frozen file system after $((i * 50)) ms"
				: >"$E2E_DIR/held"
				break
			fi
			sleep 0.05
			i=$((i + 1))
		done
	fi
	kill -KILL "$pid0" && echo "e2e: killed device child $pid0"
	[ $held -eq 0 ] || fsfreeze -u "$mnt"
) &
killer=$!
e2e_boot -chardev "socket,id=c0,path=$sock,reconnect=1" \
    -device vhost-user-blk-pci,chardev=c0,num-queues=1
kill "$killer" 2>/dev/null
pkill -f "tail -n +1 -f $E2E_DIR/console.log" 2>/dev/null
wait "$killer" 2>/dev/null
grep '^blk-restart: ' "$E2E_DIR/console.txt"
again=$(grep 'run again' "$E2E_DIR/vhostd.log")
if [ $held -eq 1 ]; then
	if [ ! -e "$E2E_DIR/held" ]; then
		echo "FAIL: no write of the child waited on the frozen file system"
		E2E_STATUS=1
	elif [ -z "$again" ]; then
		echo "FAIL: requests were in flight at the kill, and the next" \
		    "child ran none again"
		E2E_STATUS=1
	else
		echo "e2e: $again"
	fi
else
	echo "${again:-e2e: no request was in flight at the kill}"
fi
if ! grep -q "child $pid0 killed by signal SIGKILL" "$E2E_DIR/vhostd.log"; then
	echo "FAIL: the device child was not killed during the run"
	E2E_STATUS=1
fi
if [ "$(grep -c 'started child' "$E2E_DIR/vhostd.log")" -lt 2 ]; then
	echo "FAIL: vhostd did not restart the device"
	E2E_STATUS=1
fi
e2e_finish
