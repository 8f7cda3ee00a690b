#!/bin/sh
# demo-dom0.sh: the main job of xen-vmevent-drain, run in dom0 of the
# embedded Xen host by scripts/demo (or `make run-xen SCRIPT=...`).
# An introspection agent is killed mid-stream, its guest freezes, and
# xen-vmevent-drain brings it back without destroying it.
set -u
say() { printf '\n### %s\n' "$*"; }
ticks() { xenhost-last-tick; }

say "guest $GUEST_NAME (domain $DOMID) is running: tick $(ticks)"
xl list

say "start an introspection agent (vmevent-test-agent, on libvmeventctl) answering CPUID events"
vmevent-test-agent -p 0 "$DOMID" > /tmp/agent.out 2>&1 &
agent=$!
sleep 3
xen-vmevent-drain status "$DOMID"

say "kill the agent with SIGKILL, as a crash would"
kill -9 "$agent"; wait "$agent" 2>/dev/null
sleep 5
echo "last tick: $(ticks) (frozen: a vCPU waits for a reply that will never come)"
xl list "$DOMID"
vmevent-test-agent -n 1 "$DOMID" 2>&1 | head -2
echo "(a new agent is refused: the dead ring is still enabled)"

say "xen-vmevent-drain status"
xen-vmevent-drain status "$DOMID"

say "xen-vmevent-drain stop"
xen-vmevent-drain stop "$DOMID"
rc=$?
echo "exit status $rc"
sleep 3
echo "last tick: $(ticks)"
xl list "$DOMID"

say "a new agent can attach again"
vmevent-test-agent -p 0 -n 50 "$DOMID" | tail -2
xenhost-ticks-advance 5 && echo "the guest is ticking: tick $(ticks)"
exit $rc
