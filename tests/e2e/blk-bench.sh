#!/bin/sh
# blk-bench.sh - the guest view for make bench (not a test: make check-e2e
# skips *-bench.sh): fio 4k random read, depth 32, in a TCG guest, through
# vhostd, qemu-storage-daemon and QEMU's in-process virtio-blk, on the same
# image in /dev/shm.  Under TCG the guest CPU is the bottleneck: the
# figures say more about overhead per request than about the back ends.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

bench_guest() {
	for rw in randread randwrite; do
		fio --name=b --filename=/dev/vda --rw=$rw --bs=4k --direct=1 \
		    --ioengine=libaio --iodepth=32 --runtime=5 --time_based \
		    --size=64m --output-format=terse --terse-version=3 \
		    >/tmp/fio 2>&1 || e2e_fail "fio: $(tail -3 /tmp/fio)"
		# terse v3: field 8 read IOPS, field 49 write IOPS
		if [ $rw = randread ]; then
			iops=$(cut -d';' -f8 </tmp/fio)
		else
			iops=$(cut -d';' -f49 </tmp/fio)
		fi
		echo "bench: $rw iops $iops"
	done
}

e2e_in_guest && e2e_guest bench_guest

e2e_setup blk-bench full
img=/dev/shm/vhostd-guest-bench-$$.img
truncate -s 64M "$img"
trap 'rm -f "$img"; _e2e_exit' EXIT

result() {	# LABEL
	r=$(sed -n 's/^bench: randread iops //p' "$E2E_DIR/console.txt")
	w=$(sed -n 's/^bench: randwrite iops //p' "$E2E_DIR/console.txt")
	printf '%-28s randread %8s IOPS   randwrite %8s IOPS\n' "$1" \
	    "${r:-?}" "${w:-?}"
}

sock="$E2E_DIR/vhostd.sock"
e2e_start_vhostd --device "blk,socket=$sock,path=$img,restart=never"
e2e_boot -chardev "socket,id=c0,path=$sock" -device vhost-user-blk-pci,chardev=c0
result "vhostd (vhost-user-blk)"
e2e_stop_vhostd

qsock="$E2E_DIR/qsd.sock"
# locking=off: the image was vhostd's a moment ago; whatever still holds
# its lock (a child on its way out) must not make qsd refuse it.
qemu-storage-daemon --object iothread,id=io0 \
    --blockdev "driver=file,node-name=f0,filename=$img,aio=io_uring,locking=off" \
    --export "type=vhost-user-blk,id=e0,node-name=f0,addr.type=unix,addr.path=$qsock,writable=on,iothread=io0" \
    >"$E2E_DIR/qsd.log" 2>&1 &
qpid=$!
# Until qsd listens (bounded: 30 s on a loaded machine), or qsd died.
i=0
while ! _e2e_listening "$qsock" "$qpid" && kill -0 "$qpid" 2>/dev/null &&
    [ $i -lt 600 ]; do
	sleep 0.05
	i=$((i + 1))
done
if _e2e_listening "$qsock" "$qpid"; then
	e2e_boot -chardev "socket,id=c0,path=$qsock" \
	    -device vhost-user-blk-pci,chardev=c0
	result "qemu-storage-daemon"
else
	printf '%-28s not measured: qsd did not listen on %s: %s\n' \
	    "qemu-storage-daemon" "$qsock" "$(head -c 300 "$E2E_DIR/qsd.log")"
fi
kill "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null

e2e_boot -drive "file=$img,format=raw,if=none,id=d0,cache=none,aio=io_uring" \
    -device virtio-blk-pci,drive=d0
result "QEMU virtio-blk (in-process)"
e2e_finish
