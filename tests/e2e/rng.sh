#!/bin/sh
# rng.sh - end to end: a Linux guest under QEMU reads /dev/hwrng from
# vhostd's rng device (vhost-user-rng-pci).  E2E_BUILTIN=1 attaches QEMU's
# own virtio-rng-pci instead, to check the guest side without vhostd.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# Guest: the virtio rng is the current hw_random source, and 64 KiB come
# out of /dev/hwrng, not all zero, the two halves different.
# shellcheck disable=SC2317 # called by e2e_guest
rng_checks() {
	cur=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null) ||
	    e2e_fail "no /sys/class/misc/hw_random/rng_current" \
	    "(available: $(cat /sys/class/misc/hw_random/rng_available 2>&1))"
	case $cur in
	virtio_rng.*) ;;
	*) e2e_fail "rng_current is '$cur', not virtio_rng.N" ;;
	esac
	[ -c /dev/hwrng ] || e2e_fail "/dev/hwrng is missing"
	dd if=/dev/hwrng of=/tmp/rng bs=4096 count=16 iflag=fullblock \
	    2>/tmp/dd.err || e2e_fail "dd from /dev/hwrng: $(cat /tmp/dd.err)"
	n=$(wc -c </tmp/rng)
	[ "$n" -eq 65536 ] || e2e_fail "read $n bytes from /dev/hwrng, not 65536"
	nz=$(tr -d '\000' </tmp/rng | wc -c)
	[ "$nz" -gt 0 ] || e2e_fail "the 64 KiB from /dev/hwrng are all zero"
	a=$(head -c 32768 /tmp/rng | md5sum | cut -d' ' -f1)
	b=$(tail -c 32768 /tmp/rng | md5sum | cut -d' ' -f1)
	[ "$a" != "$b" ] || e2e_fail "both 32 KiB halves of the read are equal"
	echo "rng: $cur gave $n bytes, $nz non-zero"
}

e2e_in_guest && e2e_guest rng_checks

e2e_setup rng
if e2e_builtin; then
	e2e_boot -object rng-random,id=rng0,filename=/dev/urandom \
	    -device virtio-rng-pci,rng=rng0
else
	sock="$E2E_DIR/rng.sock"
	e2e_start_vhostd --device "rng,socket=$sock,restart=never"
	e2e_boot -chardev "socket,id=c0,path=$sock" \
	    -device vhost-user-rng-pci,chardev=c0
fi
e2e_finish
