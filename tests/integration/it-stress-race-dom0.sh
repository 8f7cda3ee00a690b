#!/bin/sh
# it-stress-race-dom0: the dom0 side of it-stress-race.sh, run by
# "xenhost run-script" in a boot of its own with 2 dom0 vCPUs.
#
# Runs xen-evtchn-stress's race mode (2 notifying threads) against the tick
# guest, and writes a heartbeat to dom0's console (/dev/hvc0, which Xen
# copies to the serial log) every second while it runs, so that the host
# can tell from the serial log alone how far dom0 got if it stops.  If the
# tool does not return although dom0 still runs, Xen's registers and
# domains are dumped (xl debug-keys d, q) before giving up on it.
# Lines for the host start with "it-stress-race: "; the last is
# "it-stress-race: race-exit=N" (N: the tool's exit status, or "stuck").
#
# SPDX-License-Identifier: LGPL-2.1-only

set -u
secs=${STRESS_RACE_SECS:-10}
work=${XENHOST_WORKDIR:-/tmp}

say() {
	echo "it-stress-race: $*" >/dev/hvc0
	echo "it-stress-race: $*"
}

# The hang is a race: most boots meet it within seconds, some not in 10 s
# (1 boot in 4 on 4.20 once).  A race that ended without it is run again,
# up to STRESS_RACE_ATTEMPTS times (default 3); the host reads the last.
attempts=${STRESS_RACE_ATTEMPTS:-3}
attempt=1
while :; do
	say "start domid=${DOMID:-?} dom0_vcpus=$(nproc) secs=$secs attempt=$attempt of $attempts"
	xen-evtchn-stress --i-know-this-is-a-test-host -t 2 -d "$secs" --stuck-secs 5 --json \
		race "$DOMID" >"$work/race.json" 2>"$work/race.err" &
	pid=$!
	n=0
	rc=stuck
	while kill -0 $pid 2>/dev/null; do
		n=$((n + 1))
		say "heartbeat $n tick=$(xenhost-last-tick 2>/dev/null)"
		# Early enough that dom0 is still there to ask: with the hang, the
		# dom0 vCPU caught in Xen stalls the other one within 20 to 30 s.
		if [ $n -eq $((secs + 8)) ]; then
			say "the tool has not returned after $n s while dom0 still runs: Xen's view follows"
			xl debug-keys d >/dev/null 2>&1
			xl debug-keys q >/dev/null 2>&1
			sleep 2
		fi
		[ $n -ge $((secs + 40)) ] && break
		sleep 1
	done
	if ! kill -0 $pid 2>/dev/null; then
		wait $pid
		rc=$?
	fi
	[ "$rc" = 0 ] && [ $attempt -lt "$attempts" ] || break
	say "attempt $attempt of $attempts: the race ran its time without the hang; again"
	attempt=$((attempt + 1))
done
cat "$work/race.json"
sed 's/^/stderr: /' "$work/race.err"
say "last tick $(xenhost-last-tick 2>/dev/null); guest ticking: $(xenhost-ticks-advance 5 >/dev/null 2>&1 && echo yes || echo no)"
say "race-exit=$rc"
exit 0
