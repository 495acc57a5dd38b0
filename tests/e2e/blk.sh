#!/bin/sh
# blk.sh - end to end: a Linux guest under QEMU uses vhostd's virtio-blk
# (vhost-user-blk-pci) on a raw image, jailed under --seccomp=kill:
#  1. read-write: fio writes the whole disk and verifies it (crc32c), a
#     random-write pass verifies too, flush, discard and write-zeroes read
#     back zeroes; the guest's md5 of /dev/vda equals the host's md5 of the
#     image after QEMU exits;
#  2. read-only: the guest sees a read-only disk, writes fail, the image is
#     unchanged;
#  3. two queues with two vCPUs: the guest uses both, fio verifies.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# ---- guest ----

# The mode comes from the kernel command line: blk.mode=rw|ro|mq.
blk_mode() {
	sed -n 's/.*blk\.mode=\([a-z]*\).*/\1/p' /proc/cmdline
}

blk_zero() {	# OFFSET LENGTH: the range reads back as zeroes
	n=$(dd if=/dev/vda bs=4096 skip=$(($1 / 4096)) count=$(($2 / 4096)) \
	    iflag=direct 2>/dev/null | tr -d '\000' | wc -c)
	[ "$n" -eq 0 ] || e2e_fail "$3: $n non-zero bytes at $1+$2"
}

blk_checks() {
	mode=$(blk_mode)
	[ -b /dev/vda ] || e2e_fail "no /dev/vda"
	sectors=$(cat /sys/block/vda/size)
	echo "blk: mode $mode, $sectors sectors," \
	    "ro=$(cat /sys/block/vda/ro)," \
	    "cache=$(cat /sys/block/vda/queue/write_cache)," \
	    "queues=$(ls /sys/block/vda/mq | wc -l)"
	[ "$sectors" -eq 65536 ] || e2e_fail "size $sectors sectors, not 65536"
	command -v fio >/dev/null || e2e_fail "fio is not in the guest"
	case $mode in
	rw)
		[ "$(cat /sys/block/vda/ro)" = 0 ] || e2e_fail "disk is read-only"
		grep -q "write back" /sys/block/vda/queue/write_cache ||
		    e2e_fail "no FLUSH: write cache is" \
		    "'$(cat /sys/block/vda/queue/write_cache)'"
		fio --name=whole --filename=/dev/vda --rw=write --bs=64k \
		    --direct=1 --ioengine=psync --verify=crc32c \
		    --do_verify=1 --output=/tmp/fio1 >/dev/null 2>&1 ||
		    e2e_fail "fio whole-disk write+verify: $(tail -5 /tmp/fio1)"
		fio --name=rand --filename=/dev/vda --rw=randwrite --bs=4k \
		    --size=8m --offset=16m --direct=1 --ioengine=libaio \
		    --iodepth=16 --verify=crc32c --do_verify=1 \
		    --output=/tmp/fio2 >/dev/null 2>&1 ||
		    e2e_fail "fio randwrite+verify: $(tail -5 /tmp/fio2)"
		sync
		blockdev --flushbufs /dev/vda || e2e_fail "flush failed"
		dmax=$(cat /sys/block/vda/queue/discard_max_bytes)
		[ "$dmax" -gt 0 ] || e2e_fail "no DISCARD (discard_max_bytes 0)"
		/usr/bin/blkdiscard -o 1048576 -l 1048576 /dev/vda ||
		    e2e_fail "blkdiscard failed"
		# Discarded data is unspecified in virtio; vhostd punches a
		# hole in a file, which reads back as zeroes (blk.dz=1).
		if grep -q 'blk\.dz=1' /proc/cmdline; then
			blk_zero 1048576 1048576 discard
		fi
		zmax=$(cat /sys/block/vda/queue/write_zeroes_max_bytes)
		[ "$zmax" -gt 0 ] || e2e_fail "no WRITE_ZEROES"
		/usr/bin/blkdiscard -z -o 4194304 -l 1048576 /dev/vda ||
		    e2e_fail "blkdiscard -z failed"
		blk_zero 4194304 1048576 write-zeroes
		sync
		echo "blk: md5 $(md5sum </dev/vda | cut -d' ' -f1)"
		;;
	ro)
		[ "$(cat /sys/block/vda/ro)" = 1 ] || e2e_fail "disk is writable"
		if dd if=/dev/zero of=/dev/vda bs=4096 count=1 oflag=direct \
		    2>/dev/null; then
			e2e_fail "a write to the read-only disk succeeded"
		fi
		echo "blk: md5 $(md5sum </dev/vda | cut -d' ' -f1)"
		;;
	mq)
		q=$(ls /sys/block/vda/mq | wc -l)
		[ "$q" -eq 2 ] || e2e_fail "$q queues, not 2"
		fio --name=mq --filename=/dev/vda --rw=randwrite --bs=4k \
		    --size=4m --numjobs=2 --offset_increment=8m --direct=1 \
		    --ioengine=libaio --iodepth=8 --verify=crc32c \
		    --do_verify=1 --cpus_allowed_policy=split \
		    --cpus_allowed=0-1 --output=/tmp/fio3 >/dev/null 2>&1 ||
		    e2e_fail "fio on two queues: $(tail -5 /tmp/fio3)"
		for d in /sys/block/vda/mq/*; do
			echo "blk: hctx ${d##*/} cpus $(cat "$d/cpu_list")"
		done
		;;
	*)
		e2e_fail "unknown blk.mode '$mode'"
		;;
	esac
}

e2e_in_guest && e2e_guest blk_checks

# ---- host ----

# blk_run MODE KEYS DEVOPTS [QEMU-ARGS...]: one boot with a fresh vhostd.
blk_run() {
	_mode=$1 _keys=$2 _devopts=$3
	shift 3
	sock="$E2E_DIR/blk-$_mode.sock"
	e2e_start_vhostd --seccomp=kill \
	    --device "blk,socket=$sock,path=$img,restart=never$_keys"
	E2E_APPEND="blk.mode=$_mode blk.dz=1" e2e_boot \
	    -chardev "socket,id=c0,path=$sock" \
	    -device "vhost-user-blk-pci,chardev=c0$_devopts" "$@"
	guest_md5=$(sed -n 's/^blk: md5 //p' "$E2E_DIR/console.txt")
	grep '^blk: ' "$E2E_DIR/console.txt" | grep -v '^blk: md5' || true
	if grep -q 'SIGSYS\|forbidden' "$E2E_DIR/vhostd.log"; then
		echo "FAIL: $_mode: the device violated its seccomp policy"
		E2E_STATUS=1
	fi
	e2e_stop_vhostd
	cp "$E2E_DIR/console.txt" "$E2E_LOGS/console-$_mode.txt" 2>/dev/null || :
}

e2e_setup blk full
img="$E2E_DIR/disk.img"
truncate -s 32M "$img"
if e2e_builtin; then
	E2E_APPEND=blk.mode=rw e2e_boot \
	    -drive "file=$img,format=raw,if=virtio,cache=none"
	e2e_finish
fi

blk_run rw "" ""
host_md5=$(md5sum <"$img" | cut -d' ' -f1)
if [ -z "$guest_md5" ] || [ "$guest_md5" != "$host_md5" ]; then
	echo "FAIL: rw: guest md5 '${guest_md5}' != image md5 '$host_md5'"
	E2E_STATUS=1
else
	echo "e2e: rw: guest and host md5 agree ($host_md5)"
fi

before=$host_md5
blk_run ro ",read-only=on" ""
after=$(md5sum <"$img" | cut -d' ' -f1)
[ "$before" = "$after" ] || { echo "FAIL: ro: the image changed"; E2E_STATUS=1; }
[ "$guest_md5" = "$after" ] ||
    { echo "FAIL: ro: guest md5 '$guest_md5' != '$after'"; E2E_STATUS=1; }

blk_run mq ",queues=2" ",num-queues=2" -smp 2
e2e_finish
