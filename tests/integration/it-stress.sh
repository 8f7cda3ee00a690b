#!/bin/sh
# it-stress: xen-evtchn-stress's baseline, flood and safe modes, 10 seconds
# each, against the tick guest (PVH) on the real host.
#
# Checks: dom0 as the target is refused as SKIP (77) and the race mode is
# refused without --i-know-this-is-a-test-host (2), before anything is
# touched; each mode runs for its full 10 s and says SUCCESS (the health
# checks after it included); in the safe order no notify returned 0 while
# xc_monitor_disable ran; the flood's notify rate is printed beside the
# baseline's, as a ratio.  Afterwards the guest still ticks and a fresh
# agent (vmevent-test-agent) can enable a ring and answer events.
#
# The race mode hangs Xen 4.17 (see xen-evtchn-stress(8), NOTES): it runs
# in a boot of its own, tests/integration/it-stress-race.sh.
#
# Runs in dom0 under tests/xenhost (DOMID, GUEST_LOG, PATH with
# /opt/vmeventctl/bin).  Exit: 0 pass, 1 fail, 77 skip, 99 error.
#
# SPDX-License-Identifier: LGPL-2.1-only

set -u
SECS=${STRESS_SECS:-10}
work=${XENHOST_WORKDIR:-${TMPDIR:-/tmp}}/it-stress.$$

fail() { echo "FAIL: $*"; exit 1; }
error() { echo "ERROR: $*"; exit 99; }
skip() { echo "SKIP: $*"; exit 77; }
note() { echo "it-stress: $*"; }

command -v xen-evtchn-stress >/dev/null 2>&1 || error "xen-evtchn-stress is not in PATH"
[ -n "${DOMID:-}" ] || error "DOMID is not set: run me in dom0 under tests/xenhost"
[ -e /dev/xen/privcmd ] || skip "not dom0 of a Xen host (no /dev/xen/privcmd)"
mkdir -p "$work" || error "cannot create $work"

# ---- refusals, before anything is touched
xen-evtchn-stress -d 1 flood 0 >"$work/dom0.out" 2>&1
rc=$?
[ $rc = 77 ] || { cat "$work/dom0.out"; fail "dom0 as the target: exit $rc, expected 77 (SKIP)"; }
xen-evtchn-stress -d 1 race "$DOMID" >"$work/race.out" 2>&1
rc=$?
[ $rc = 2 ] || { cat "$work/race.out"; fail "race without --i-know-this-is-a-test-host: exit $rc, expected 2"; }
grep -q -- "--i-know-this-is-a-test-host" "$work/race.out" ||
	fail "the race refusal does not name --i-know-this-is-a-test-host"
note "refused as expected: dom0 (exit 77), race without the test-host option (exit 2)"

# ---- the three modes, one run, JSON report
note "baseline, flood, safe: $SECS s each on domain $DOMID"
xen-evtchn-stress --duration "$SECS" --json baseline,flood,safe "$DOMID" \
	>"$work/report.json" 2>"$work/report.err"
rc=$?
cat "$work/report.json"
[ -s "$work/report.err" ] && sed 's/^/stderr: /' "$work/report.err"
verdict=$(sed -n 's/.*"verdict": "\([A-Z]*\)", "reason": "\([^"]*\)", "exit_status".*/\1: \2/p' "$work/report.json")
[ $rc = 0 ] || fail "xen-evtchn-stress exited $rc: $verdict"
for m in baseline flood safe; do
	grep -q "{\"mode\": \"$m\", \"ran\": true, \"verdict\": \"SUCCESS\"" "$work/report.json" ||
		fail "$m: verdict is not SUCCESS"
done
n=$(grep -c '"stopped_by": "duration"' "$work/report.json")
[ "$n" = 3 ] || fail "not every mode ran its full $SECS s (stopped by duration: $n of 3)"
grep -q '"disable_race": {"landed_during": 0,' "$work/report.json" ||
	fail "safe: a notify returned 0 while xc_monitor_disable ran, though the port was unbound first"

# per_s of each mode's notifies, in the order run: baseline, flood, safe
# shellcheck disable=SC2046 # one word per rate, on purpose
set -- $(sed -n 's/^ *"notifies": {"total": [0-9]*, "ok": [0-9]*, "per_s": \([0-9.]*\),.*/\1/p' "$work/report.json")
[ $# = 3 ] || error "cannot read the notify rates from the report"
ratio=$(sed -n 's/.*"flood_vs_baseline": \([0-9.]*\),.*/\1/p' "$work/report.json")
[ -n "$ratio" ] || fail "the report has no flood/baseline ratio"
note "notify rate: flood $2/s, baseline $1/s: flood/baseline = $ratio (safe, with its cycles: $3/s)"
cycles=$(sed -n 's/.*"cycles": {"done": \([0-9]*\),.*/\1/p' "$work/report.json")
note "safe: $cycles cycles of enable, bind, pause, resume, unbind, disable, unpause, no anomaly"

# ---- afterwards: the guest ticks, a fresh agent can enable a ring
if ! xenhost-ticks-advance 5 >"$work/ticks.out" 2>&1; then
	cat "$work/ticks.out"
	fail "after the stress runs the guest does not tick"
fi
vmevent-test-agent -d 3 -p 0 "$DOMID" >"$work/agent.out" 2>&1
rc=$?
cat "$work/agent.out"
[ $rc = 0 ] || fail "a fresh agent could not enable, answer and disable a ring (exit $rc)"
grep -q "^ready domid=$DOMID" "$work/agent.out" || fail "the fresh agent did not report its ring"
xenhost-ticks-advance 5 >/dev/null 2>&1 || fail "the guest stopped ticking after the fresh agent"
note "afterwards: the guest ticks, a fresh agent enabled a ring and took it down"
rm -rf "$work"
exit 0
