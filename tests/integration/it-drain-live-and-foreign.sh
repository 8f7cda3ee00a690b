#!/bin/sh
# it-drain-live-and-foreign: xen-vmevent-drain with a live owner and with
# a ring of another tool.
#  - A live libvmeventctl agent: `stop` sends it SIGTERM, its own safe
#    disable runs, its record goes; exit 0, guest ticking, no ring.
#  - xen-access (Debian's upstream test agent, no ownership record): status
#    says the owner is unknown; `stop` refuses without --force (exit 3) and
#    changes nothing (xen-access keeps getting events).  While xen-access
#    runs, a dom0 port is bound to the ring's Xen-consumer port, and a
#    notify of it racing the disable is a use-after-free that hangs Xen
#    (docs/findings.md #1): status --json shows that port, and even
#    `stop --force` refuses (exit 3), naming the port and xen-access, and
#    changes nothing.  After xen-access is killed with SIGKILL its port is
#    closed: status shows no bound port, and `stop --force` rescues the
#    guest.
#  - Bad input: dom0, a missing domain id, a name no domain has, a PV
#    guest (by id and name), not root, no /dev/xen/privcmd: exit 4,
#    naming the problem, nothing changed.
set -u
. "$(dirname "$0")/it-lib.sh"

# Live owner.
vmevent-test-agent -p 0 "$DOMID" > /tmp/live.out 2>&1 &
agent=$!
wait_for /tmp/live.out '^ready' || { cat /tmp/live.out; error "the agent did not start"; }
sleep 2
xen-vmevent-drain stop --timeout 20 "$DOMID"
rc=$?
[ $rc -eq 0 ] || { cat /tmp/live.out; fail "stop with a live owner exited $rc, expected 0"; }
wait "$agent"
arc=$?
grep -q '^disable outcome=clean ' /tmp/live.out ||
    { cat /tmp/live.out; fail "the agent's safe disable was not clean"; }
note "live agent: $(grep '^disable' /tmp/live.out) (agent exit $arc)"
xenhost-ticks-advance 5 || fail "the guest does not tick after the live agent stopped"
json | grep -q '"monitor_ring":false' || fail "a ring is left after the live agent stopped"

# Another tool's agent.
xen-access "$DOMID" cpuid > /tmp/xa.out 2>&1 &
xa=$!
sleep 4
kill -0 "$xa" 2>/dev/null || { cat /tmp/xa.out; error "xen-access did not start"; }
j=$(json)
echo "$j" | grep -q '"state":"none"' || { echo "$j"; fail "status does not say the owner is unknown"; }
before=$(grep -c CPUID /tmp/xa.out)
xen-vmevent-drain stop "$DOMID"
rc=$?
[ $rc -eq 3 ] || fail "stop of a ring with no record exited $rc without --force, expected 3 (refused)"
sleep 2
after=$(grep -c CPUID /tmp/xa.out)
[ "$after" -gt "$before" ] || fail "xen-access stopped getting events after the refused stop ($before -> $after)"
note "xen-access ring: refused without --force (exit 3), xen-access still served ($before -> $after events)"

# --force while xen-access is alive and bound to the ring's port: refused.
before=$(grep -c CPUID /tmp/xa.out)
xen-vmevent-drain stop --force "$DOMID" 2> /tmp/force.err
rc=$?
cat /tmp/force.err
[ $rc -eq 3 ] || fail "stop --force with xen-access alive exited $rc, expected 3 (refused: a live process is bound to the ring's port)"
port=$(sed -n 's/.*bound to guest port \([0-9][0-9]*\).*/\1/p' /tmp/force.err | head -1)
[ -n "$port" ] || fail "the refusal does not name the guest port"
grep -q "xen-access" /tmp/force.err || fail "the refusal does not name xen-access"
grep -q "force-may-hang-xen" /tmp/force.err || fail "the refusal does not name the override"
sleep 2
kill -0 "$xa" 2>/dev/null || fail "xen-access died after the refused stop --force"
after=$(grep -c CPUID /tmp/xa.out)
[ "$after" -gt "$before" ] || fail "xen-access stopped getting events after the refused stop --force ($before -> $after)"
j=$(json)
echo "$j" | grep -q '"monitor_ring":true' || { echo "$j"; fail "the ring went after the refused stop --force"; }
echo "$j" | grep -q '"live_agent_suspected":true' || { echo "$j"; fail "status --json does not show a live process bound to the ring's port while xen-access runs"; }
echo "$j" | grep -q "\"suspect_ports\":\[$port\]" || { echo "$j"; fail "status --json does not name guest port $port"; }
echo "$j" | grep -q '"comm":"xen-access"' || { echo "$j"; fail "status --json does not list xen-access among the processes"; }
note "stop --force with xen-access alive: refused (exit 3), xen-access still served ($before -> $after events)"

kill_hard "$xa"
j=$(json)
echo "$j" | grep -q '"live_agent_suspected":false' || { echo "$j"; fail "status --json still shows a bound ring port after xen-access was killed"; }
echo "$j" | grep -q '"comm":"xen-access"' && { echo "$j"; fail "status --json still lists xen-access after it was killed"; }
note "status --json after xen-access was killed: no dom0 port bound to a Xen-consumer port"
if xenhost-ticks-advance 5; then
    note "the guest still ticks after xen-access was killed (no request was in flight)"
else
    note "xen-access killed mid-stream: the guest is frozen"
fi
xen-vmevent-drain stop "$DOMID"
rc=$?
[ $rc -eq 3 ] || fail "stop of the dead xen-access ring exited $rc without --force, expected 3 (unknown owner)"
xen-vmevent-drain stop --force "$DOMID"
rc=$?
[ $rc -eq 0 ] || fail "stop --force after xen-access was killed exited $rc, expected 0"
xenhost-ticks-advance 5 || fail "the guest does not tick after the rescue from xen-access"
json | grep -q '"monitor_ring":false' || fail "a ring is left after the rescue from xen-access"
note "xen-access killed, stop --force rescued the guest"

# Bad input: exit 4, message on stderr, nothing changed.
pv=$(xenhost-guest create --pv | tail -1)
[ -n "$pv" ] || error "could not create a PV guest"
# Each with its own message: exit 4 alone is what any of them gives.
bad_input() { # ARG MESSAGE
    xen-vmevent-drain stop "$1" 2> /tmp/bad.err
    rc=$?
    [ $rc -eq 4 ] || { cat /tmp/bad.err; fail "stop $1 exited $rc, expected 4"; }
    grep -q "$2" /tmp/bad.err || { cat /tmp/bad.err; fail "stop $1: expected '$2'"; }
    grep -q "nothing was changed" /tmp/bad.err || { cat /tmp/bad.err; fail "stop $1 does not say nothing was changed"; }
    note "stop $1: $(head -1 /tmp/bad.err)"
}
bad_input 0 "dom0 cannot have vm_event rings"
bad_input 31000 "no domain has that id"
bad_input no-such-guest "no domain has that name"
bad_input "$pv" "a PV guest has no vm_event rings"
bad_input pvguest "a PV guest has no vm_event rings"
xl list "$pv" | awk 'NR==2{print $5}' | grep -q p && fail "the PV guest was left paused"
xl destroy "$pv"

# Not root: the tool says so (exit 4) and changes nothing.
it-run-as 65534 xen-vmevent-drain stop "$DOMID" 2> /tmp/bad.err
rc=$?
[ $rc -eq 4 ] || { cat /tmp/bad.err; fail "stop as uid 65534 exited $rc, expected 4"; }
grep -q "run as root in dom0" /tmp/bad.err || { cat /tmp/bad.err; fail "stop as uid 65534: expected 'run as root in dom0'"; }
note "not root: $(head -1 /tmp/bad.err)"

# No /dev/xen/privcmd (hidden in a private mount namespace).
if unshare -m sh -c 'mount -t tmpfs none /dev/xen && exec xen-vmevent-drain status "$1"' sh "$DOMID" 2> /tmp/bad.err; then
    fail "status without /dev/xen/privcmd succeeded"
else
    rc=$?
    [ $rc -eq 4 ] || { cat /tmp/bad.err; fail "status without /dev/xen/privcmd exited $rc, expected 4"; }
    grep -q "does not exist: run as root in dom0" /tmp/bad.err ||
        { cat /tmp/bad.err; fail "status without /dev/xen/privcmd: expected 'does not exist: run as root in dom0'"; }
    note "no privcmd: $(head -1 /tmp/bad.err)"
fi
xenhost-ticks-advance 3 || fail "the guest stopped ticking during the bad-input checks"
echo "PASS: live owner stopped via SIGTERM, foreign ring refused (also with --force while xen-access ran) then rescued with --force, bad input refused"
exit 0
