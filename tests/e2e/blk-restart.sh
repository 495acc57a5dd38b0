#!/bin/sh
# blk-restart.sh - end to end: the device child serving a guest's disk is
# killed in the middle of I/O; vhostd restarts it on the same socket,
# QEMU reconnects (chardev reconnect=1) and hands back the inflight region
# (INFLIGHT_SHMFD), the new child runs again the requests the old one had
# taken, and the guest's fio run, which verifies every block it wrote,
# finishes without an error.  direct=on keeps requests in flight in
# io_uring (buffered writes complete inside the kick), so the kill finds
# some; how many is printed, not asserted.
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
img="$E2E_DIR/disk.img"
truncate -s 32M "$img"
sock="$E2E_DIR/blk.sock"
# O_DIRECT where the file system has it (not tmpfs): requests then stay
# in flight in io_uring, and the kill finds some to run again.
direct=on
dd if=/dev/zero of="$img" bs=4096 count=1 oflag=direct conv=notrunc \
    2>/dev/null || direct=off
e2e_start_vhostd --control="$E2E_DIR/ctl" \
    --device "blk,socket=$sock,path=$img,direct=$direct"
pid0=$("$VHOSTD" ctl --control="$E2E_DIR/ctl" status --json |
    sed -n 's/.*"pid": \([0-9]*\), "restarts".*/\1/p')
[ -n "$pid0" ] || e2e_die "no device pid from vhostd ctl"

# Kill the device child once the guest's I/O has started: follow the
# console as it is written (no polling).
: >"$E2E_DIR/console.log"
(
	tail -n +1 -f "$E2E_DIR/console.log" 2>/dev/null |
	    grep -q -m 1 'blk-restart: io running' &&
	    kill -KILL "$pid0" && echo "e2e: killed device child $pid0"
) &
killer=$!
e2e_boot -chardev "socket,id=c0,path=$sock,reconnect=1" \
    -device vhost-user-blk-pci,chardev=c0,num-queues=1
kill "$killer" 2>/dev/null
pkill -f "tail -n +1 -f $E2E_DIR/console.log" 2>/dev/null
grep '^blk-restart: ' "$E2E_DIR/console.txt"
grep 'run again' "$E2E_DIR/vhostd.log" || echo "e2e: no request was in flight at the kill"
if ! grep -q "child $pid0 killed by signal SIGKILL" "$E2E_DIR/vhostd.log"; then
	echo "FAIL: the device child was not killed during the run"
	E2E_STATUS=1
fi
if [ "$(grep -c 'started child' "$E2E_DIR/vhostd.log")" -lt 2 ]; then
	echo "FAIL: vhostd did not restart the device"
	E2E_STATUS=1
fi
e2e_finish
