#!/bin/sh
# it-breakpoints: an agent on software breakpoints must not livelock the
# guest.  Xen leaves RIP on the INT3 and injects nothing when it sends a
# breakpoint event (vmx.c TRAP_int3, svm.c VMEXIT_EXCEPTION_BP), so an
# answer alone makes the vCPU run the INT3 again, and trap again, for as
# long as the monitor is on.  libvmeventctl's default answer re-injects the
# #BP, as xen-access does.
#
# The tick guest is recreated with its INT3 load (xenhost-load int3: an
# INT3 every 100 ms under a SIGTRAP handler, "load int3: N bp-ok M" every
# 2 s on the console):
#  1. without an agent, bp-ok grows (the guest's own #BPs);
#  2. vmevent-test-agent -e breakpoint answers the events: bp-ok keeps
#     growing (each #BP reached the guest) and the guest ticks;
#  3. SIGTERM (the safe disable): bp-ok still grows, the guest ticks, no
#     ring, no record, not paused.
# The plain tick guest is recreated at the end, for the tests after.
# Skipped where the CPU does not exit to Xen on INT3: QEMU's TCG (the
# rig's xenhost) raises an INT3 instruction as a software interrupt and
# checks only the SVM INTn intercept, never the #BP exception intercept
# Xen sets (target/i386/tcg/excp_helper.c: helper_raise_interrupt,
# raise_interrupt2), so no breakpoint event is ever sent there.
# Verdicts: 0 pass, 1 fail, 77 skip, 99 error (automake/XTF).
set -u
. "$(dirname "$0")/it-lib.sh"

trap 'xenhost-guest recreate --wait 120 >/dev/null 2>&1' EXIT

# bp_ok: the last bp-ok count the guest printed since line $from of its log.
bp_ok() {
    tail -n +"$from" "$GUEST_LOG" | tr -d '\r' | sed -n 's/.*load int3: [0-9]* bp-ok \([0-9]*\).*/\1/p' | tail -1
}
# bp_grows SECS: 0 if bp-ok grows within SECS (it is printed every 2 s).
bp_grows() {
    b0=$(bp_ok); b0=${b0:-0}
    i=0
    while [ $i -lt "$1" ]; do
        sleep 1
        i=$((i + 1))
        b1=$(bp_ok); b1=${b1:-0}
        [ "$b1" -gt "$b0" ] && return 0
    done
    return 1
}

from=$(($(wc -l < "$GUEST_LOG" 2>/dev/null || echo 0) + 1))
DOMID=$(xenhost-guest recreate --load int3 --wait 120 | tail -1)
case $DOMID in
    ''|*[!0-9]*) error "xenhost-guest recreate --load int3 did not give a domid: '$DOMID'" ;;
esac
wait_for "$GUEST_LOG" 'load int3: [0-9]* bp-ok' || error "the guest's INT3 load did not start"
bp_grows 8 || error "bp-ok does not grow without an agent: the guest's INT3 load is not running"
note "guest $DOMID with its INT3 load: bp-ok $(bp_ok) without an agent"

vmevent-test-agent -e breakpoint -p 1 "$DOMID" > /tmp/bp-agent.out 2>&1 &
agent=$!
wait_for /tmp/bp-agent.out '^ready' || { cat /tmp/bp-agent.out; error "the agent did not start"; }
sleep 2
a0=$(bp_ok)
if ! grep -q '^answered' /tmp/bp-agent.out && bp_grows 8 && ! grep -q '^answered' /tmp/bp-agent.out; then
    kill -TERM "$agent"
    wait "$agent"
    grep -v '^answered' /tmp/bp-agent.out
    echo "no breakpoint event reached dom0 while the guest ran its INT3s (bp-ok $a0 -> $(bp_ok)): this CPU does not exit to Xen on INT3 (QEMU TCG checks only the SVM INTn intercept for it)"
    exit 77
fi
if ! bp_grows 8; then
    cat /tmp/bp-agent.out | tail -5
    fail "bp-ok stopped at $a0 with the breakpoint agent on: the #BPs do not reach the guest (the vCPU runs the INT3 again and again)"
fi
sleep 4
a1=$(bp_ok)
xenhost-ticks-advance 5 || fail "the guest does not tick with the breakpoint agent on"
note "agent on: bp-ok $a0 -> $a1, $(grep '^answered' /tmp/bp-agent.out | tail -1) events"

kill -TERM "$agent"
wait "$agent"
rc=$?
cat /tmp/bp-agent.out | grep -v '^answered'
[ $rc -eq 0 ] || fail "the agent exited $rc after SIGTERM, expected 0 (safe disable)"
grep -q 'ring_disabled=1' /tmp/bp-agent.out || fail "the safe disable did not disable the ring"
bp_grows 8 || fail "bp-ok stopped at $(bp_ok) after the safe disable"
xenhost-ticks-advance 5 || fail "the guest does not tick after the safe disable"
j=$(json)
echo "$j" | grep -q '"monitor_ring":false' || { echo "$j"; fail "a ring is left after the safe disable"; }
echo "$j" | grep -q '"state":"none"' || { echo "$j"; fail "an ownership record is left after the safe disable"; }
echo "$j" | grep -q '"controller_paused":false' || { echo "$j"; fail "the guest is left paused"; }
echo "PASS: breakpoints re-injected: bp-ok $a0 -> $a1 with the agent on, $(bp_ok) after its safe disable; guest ticks, no ring, no record"
exit 0
