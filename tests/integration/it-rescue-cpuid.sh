#!/bin/sh
# it-rescue-cpuid: a vCPU rescued while it waited on a CPUID event goes on
# as if its agent had answered, and the guest checks that itself.
#
# The tick guest is re-created with its CPUID load (xenhost-load cpuid):
# a thread per vCPU runs CPUID on leaves 0, 1 and 0x80000000 in a loop and
# compares every result with what the same leaf gave at start, printing
# "cpuid-mismatch ..." on any difference and "load cpuid: N cpuid-ok M
# mismatches K" every 2 s.  Xen writes a CPUID's result before it sends the
# event and leaves RIP on the instruction; a rescue's bare answer makes the
# vCPU run CPUID again with the result as its leaf, which this load sees.
#
# ROUNDS times (IT_RESCUE_CPUID_ROUNDS, default 2: the rig gives a test 120 s):
#  1. vmevent-test-agent answers the CPUID events; SIGKILL; the guest
#     stops ticking (a vCPU waits on a CPUID event);
#  2. stop: exit 0; the guest ticks, its load reports more checks passed,
#     and no new cpuid-mismatch line appears in the 6 s after the first tick that follows it;
#  3. the JSON says a CPUID was found on a waiting vCPU and every one
#     found was completed (cpuid_completed == cpuid_found).
# Every round runs; the verdict counts the wrong results of them all.
# Then (and on any failure) the plain tick guest is put back.
# Verdicts: 0 pass, 1 fail, 99 error (automake/XTF).
set -u
. "$(dirname "$0")/it-lib.sh"

ROUNDS=${IT_RESCUE_CPUID_ROUNDS:-2}
GUEST_LOG=${GUEST_LOG:-/var/log/xen/console/guest-tick.log}
export GUEST_LOG

# the last "load cpuid: ... cpuid-ok M ..." figure M in the guest's log
checks_ok() {
    grep '^load cpuid: ' "$GUEST_LOG" | tail -n 1 | sed -n 's/.* cpuid-ok \([0-9]*\).*/\1/p'
}
mismatches() { grep -c '^cpuid-mismatch' "$GUEST_LOG"; }

n0=$(wc -l < "$GUEST_LOG" 2>/dev/null || echo 0)
DOMID=$(xenhost-guest recreate --load cpuid --wait 120 | tail -n 1)
case $DOMID in
    ''|*[!0-9]*) error "xenhost-guest recreate --load cpuid did not give a domid: '$DOMID'" ;;
esac
k=0
until tail -n +$((n0 + 1)) "$GUEST_LOG" | grep -q '^load cpuid: [0-9]* cpuid-ok'; do
    k=$((k + 1)); [ $k -lt 300 ] || error "the guest's CPUID load did not start: $(tail -n 3 "$GUEST_LOG" | tr '\n' ' ')"
    sleep 0.1
done
# Whatever the verdict, the tests after this one get the plain guest back.
trap 'xenhost-guest recreate --wait 120 > /dev/null || echo "it-rescue-cpuid: could not re-create the plain tick guest" >&2' EXIT
note "guest $DOMID up with its CPUID load: $(grep '^load cpuid: ' "$GUEST_LOG" | tail -n 1)"

found_all=0 bad=0 wrong=0
round=1
while [ $round -le "$ROUNDS" ]; do
    out=/tmp/rescue-cpuid-agent.$round
    vmevent-test-agent -p 0 "$DOMID" > "$out" 2>&1 &
    agent=$!
    wait_for "$out" '^ready' || { cat "$out"; error "round $round: the agent did not start"; }
    sleep 2
    xenhost-ticks-advance 5 || fail "round $round: the guest does not tick while the agent answers"
    kill_hard "$agent"
    if xenhost-ticks-advance 6; then
        fail "round $round: the guest still ticks after its agent was killed (events not flowing?)"
    fi
    m0=$(mismatches)
    xen-vmevent-drain --json stop "$DOMID" > /tmp/rescue-cpuid-stop.json 2>/tmp/rescue-cpuid-stop.err
    rc=$?
    cat /tmp/rescue-cpuid-stop.json
    [ $rc -eq 0 ] || { cat /tmp/rescue-cpuid-stop.err; fail "round $round: stop exited $rc, expected 0"; }
    c0=$(checks_ok)
    xenhost-ticks-advance 5 || fail "round $round: the guest did not tick within 5 s of the rescue"
    sleep 6
    m1=$(mismatches)
    c1=$(checks_ok)
    # The guest's own verdict first; every round runs, so that the count
    # of wrong results over all rounds is known.
    if [ "$m1" -ne "$m0" ]; then
        grep '^cpuid-mismatch' "$GUEST_LOG" | tail -n $((m1 - m0))
        echo "FAIL: round $round: the guest saw $((m1 - m0)) wrong CPUID result(s) after the rescue"
        bad=$((bad + 1))
        wrong=$((wrong + m1 - m0))
    fi
    found=$(sed -n 's/.*"cpuid_found":\([0-9]*\).*/\1/p' /tmp/rescue-cpuid-stop.json)
    done_=$(sed -n 's/.*"cpuid_completed":\([0-9]*\).*/\1/p' /tmp/rescue-cpuid-stop.json)
    if [ -z "$found" ] || [ -z "$done_" ]; then
        echo "FAIL: round $round: the JSON has no cpuid_found / cpuid_completed"
        bad=$((bad + 1))
    elif [ "$found" -lt 1 ]; then
        echo "FAIL: round $round: no vCPU found waiting on a CPUID, though the guest froze in its CPUID load"
        bad=$((bad + 1))
    elif [ "$done_" -ne "$found" ]; then
        cat /tmp/rescue-cpuid-stop.err
        echo "FAIL: round $round: $done_ of $found CPUID completions took effect"
        bad=$((bad + 1))
    fi
    [ "${c1:-0}" -gt "${c0:-0}" ] || fail "round $round: the guest's CPUID checks did not go on after the rescue (cpuid-ok ${c0:-?} -> ${c1:-?})"
    note "round $round: ${done_:-?} of ${found:-?} CPUID(s) completed; cpuid-ok $c0 -> $c1; wrong results $((m1 - m0))"
    found_all=$((found_all + ${found:-0}))
    round=$((round + 1))
done

[ "$bad" -eq 0 ] || fail "$bad of $ROUNDS rounds failed; the guest saw $wrong wrong CPUID result(s) after the rescues"
echo "PASS: $ROUNDS rescues completed $found_all CPUID(s); the guest saw no wrong result"
exit 0
