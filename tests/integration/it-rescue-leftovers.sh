#!/bin/sh
# it-rescue-leftovers: a dead agent leaves state in Xen that the monitor
# ring's disable does not clear (arch_monitor_cleanup_domain resets only
# the monitor settings).  The worst is access_required: with it set and no
# ring, Xen crashes the guest at its next mem_access violation.  Debian's
# `xen-access -m DOMID cpuid` sets it (the -m; without it xen-access sets
# 0), and SIGKILL leaves it set.  xen-vmevent-drain stop's rescue must
# reset it, say so, and say which other leftovers (mem_access, single-step,
# altp2m) this host does not have: the rig is QEMU's emulated SVM, where
# Xen has mem_access, single-step and altp2m on Intel VMX only.
#
#  1. xen-access -m cpuid answers; SIGKILL; the guest freezes;
#  2. stop --force (xen-access keeps no record): exit 0, the text names
#     access_required reset and every other leftover's outcome; ticks;
#  3. the same with --json: leftovers.access_required.state "reset", and
#     each other one "reset", "nothing to reset" or "not supported here"
#     (never "failed" or "not tried"); ticks, no ring, not paused.
# Verdicts: 0 pass, 1 fail, 99 error (automake/XTF).
set -u
. "$(dirname "$0")/it-lib.sh"

# kill_agent OUT: xen-access -m cpuid up and answering, then SIGKILL.
kill_agent() {
    xen-access -m "$DOMID" cpuid > "$1" 2>&1 &
    xa=$!
    wait_for "$1" '^starting cpuid' || { cat "$1"; error "xen-access -m did not start"; }
    grep -q 'Error' "$1" && { cat "$1"; fail "xen-access -m reported an error (access_required refused?)"; }
    sleep 2
    xenhost-ticks-advance 5 || { tail -5 "$1"; fail "the guest does not tick while xen-access answers"; }
    kill_hard "$xa"
    if xenhost-ticks-advance 6; then
        fail "the guest still ticks after xen-access was killed: no frozen guest (events not flowing?)"
    fi
}

# Round 1: the text.
kill_agent /tmp/xa1.out
note "xen-access -m (access_required 1) killed; guest frozen"
xen-vmevent-drain stop --force "$DOMID" > /tmp/stop1.out 2>&1
rc=$?
cat /tmp/stop1.out
[ $rc -eq 0 ] || fail "stop --force exited $rc, expected 0"
line=$(grep "the dead agent's leftovers:" /tmp/stop1.out) || fail "stop does not say what it did about the leftovers"
echo "$line" | grep -q "access_required reset" || fail "stop does not say access_required was reset"
for lo in mem_access single-step altp2m; do
    echo "$line" | grep -Eq "$lo (reset|nothing to reset|not supported here|active, left as it is)" ||
        fail "stop does not say what happened to $lo"
done
xenhost-ticks-advance 5 || fail "the guest did not tick within 5 s of the rescue"
note "round 1: $(echo "$line" | sed 's/.*the dead agent.s leftovers: //; s/; the guest.*//')"

# Round 2: the JSON, one field at a time.
kill_agent /tmp/xa2.out
j=$(xen-vmevent-drain --json stop --force "$DOMID" 2>/tmp/stop2.err)
rc=$?
echo "$j"
[ $rc -eq 0 ] || { cat /tmp/stop2.err; fail "stop --force --json exited $rc, expected 0"; }
echo "$j" | grep -q '"access_required":{"state":"reset","errno":null' ||
    fail "JSON: leftovers.access_required is not reset"
for lo in mem_access single_step altp2m; do
    st=$(echo "$j" | sed -n "s/.*\"$lo\":{\"state\":\"\([^\"]*\)\",\"errno\":\([^,]*\),.*/\1 (errno \2)/p")
    case $st in
        "not supported here"*) note "$lo: not supported on this host: $st" ;;
        reset*|"nothing to reset"*|kept*) note "$lo: $st" ;;
        *) fail "JSON: leftovers.$lo is '$st', expected reset, nothing to reset, not supported here or kept" ;;
    esac
done
xenhost-ticks-advance 5 || fail "the guest did not tick within 5 s of the second rescue"
j=$(json)
echo "$j" | grep -q '"monitor_ring":false' || { echo "$j"; fail "a ring is left after the rescue"; }
echo "$j" | grep -q '"controller_paused":false' || { echo "$j"; fail "the guest is left paused"; }
state=$(xl list "$DOMID" | awk 'NR==2{print $5}')
case $state in
    *p*|*c*|------) fail "xl list shows $state after the rescue" ;;
esac
echo "PASS: a killed xen-access -m's access_required was reset by the rescue and reported, with what this host does not support; the guest ticks (xl state $state)"
exit 0
