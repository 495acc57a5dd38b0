#!/bin/sh
# net-bench.sh - the guest view for make bench (not a test: make check-e2e
# skips *-bench.sh): TCP throughput of a TCG guest to and from a network
# namespace, 64 MiB each way (busybox nc in the guest, python3 in the
# namespace), through vhostd's net device (-netdev vhost-user) and through
# QEMU's own -netdev tap (vhost=off) on the same kind of tap: the basic
# case of tests/e2e/net.sh, run once each way.  Under TCG the guest CPU is
# the bottleneck: the figures compare per-packet overhead, not back ends
# at their limit.  BENCH_NET_GUEST_ROUNDS (default 1) repeats the pair.
cd "$(dirname "$0")/../.." || exit 1

# row LABEL OUTPUT: the guest's and the namespace's view of both streams.
row() {
	echo "$2" | awk -v l="$1" '
	    /^net: down 5002: / { d = $4 * 8 / $7 / 1e6 }
	    /^net: up 5001: / { u = $4 * 8 / $7 / 1e6 }
	    /^e2e: namespace: source / { ds = $4 * 8 / $6 / 1e6 }
	    /^e2e: namespace: sink / { us = $4 * 8 / $6 / 1e6 }
	    END { if (d == 0 && u == 0) { printf "%-34s not measured\n", l; exit }
		printf "%-34s namespace->guest %6.1f Mbit/s (ns side %6.1f)   guest->namespace %6.1f Mbit/s (ns side %6.1f)\n",
		    l, d, ds, u, us }'
}

r=0
while [ $r -lt "${BENCH_NET_GUEST_ROUNDS:-1}" ]; do
	for b in 0 1; do
		out=$(E2E_BUILTIN=$b NET_MODES=basic sh tests/e2e/net.sh 2>&1)
		rc=$?
		if [ $b = 0 ]; then
			label="vhostd (-netdev vhost-user)"
		else
			label="QEMU -netdev tap,vhost=off"
		fi
		if [ $rc -ne 0 ]; then
			echo "$label: run failed or skipped (exit $rc):" \
			    "$(echo "$out" | grep -E '^(SKIP|FAIL)' | head -n 2 | tr '\n' ' ')"
			continue
		fi
		row "$label" "$out"
	done
	r=$((r + 1))
done
