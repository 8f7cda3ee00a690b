#!/bin/sh
# soak-dom0: the kill-and-rescue soak of issue 7, run in dom0 of the real
# Xen host (tests/xenhost/xenhost run-script; `make soak` wraps it).
# busybox sh; needs DOMID and GUEST_LOG from the rig, and on PATH
# vmevent-test-agent, xen-vmevent-drain, xen-access, xl, timeout and the
# rig's xenhost-ticks-advance and xenhost-guest.
#
# Set A, SOAK_TRIALS trials (default 30), alternating our test agent
# (vmevent-test-agent -p 0 DOMID) and Debian's xen-access (DOMID cpuid):
#   1. start the agent; wait until its ring is up ("ready" / "starting");
#   2. SIGKILL it after a random delay (0..SOAK_DELAY_MAX_MS), then wait a
#      random gap (0..SOAK_GAP_MAX_MS) so that the guest is sometimes
#      frozen (its next CPUID waits on the dead ring) and sometimes not yet;
#   3. xen-vmevent-drain --json -v stop DOMID (--force for xen-access,
#      which writes no ownership record): exit 0, result success, rescue ok;
#      whether the guest was frozen is read from stop's own sample
#      (stuck_vcpus);
#   4. the guest ticks again within 5 s; status: no ring, no record, not
#      paused by its controller; a fresh agent (-n 5) enables and answers.
#   Trial 1 waits (up to 20 s) until status sees the guest frozen before
#   the stop; trial 2 runs the stop under an administrator's `xl pause`,
#   which must survive the rescue (exit 0, "still paused by its
#   controller", status controller_paused) before the soak unpauses it.
#
# Set B, SOAK_KILL_TRIALS trials (default SOAK_TRIALS), same alternation:
# an agent is killed and the guest left to freeze, then xen-vmevent-drain
# stop is itself SIGKILLed at a random point of its rescue:
#   - our agent: its ownership record makes the rescue log "... is dead"
#     (-v) just before it takes its pause reference; the soak busy-polls
#     the drain's stderr (a file, builtins only) and kills 0..SOAK_KILL_MAX_MS
#     ms after that line, waiting in a calibrated busy loop: under QEMU a
#     fork (sleep) or a blocking read's wake-up costs as much as a rescue;
#   - xen-access (--force, no record, so no such line): it polls as long
#     as the line took to come on the last agent trial, minus 5 ms, then
#     kills 0..SOAK_KILL_MAX_MS ms later (process start and the 300 ms
#     sample add jitter here).
#   Trials 1 and 2 are not timed: the drain runs under the kill-after shim
#   (tests/soak/kill-after.c, LD_PRELOAD), which SIGKILLs it the instant
#   its pause is taken (trial 1: must leave "marked-ring") or the dead ring
#   is disabled (trial 2: "marked-no-ring").
#   With 2 dom0 vCPUs (`xenhost --dom0-vcpus 2`, as `make soak` boots) the
#   killer and the drain run side by side; where a kill lands still varies
#   by a few ms under QEMU, so the soak reports where each one landed.
#   The state the kill left (ring, ownership record, controller pause) says
#   how far the rescue got.  Then stop runs again (with --force only if it
#   refuses, exit 3) and must leave the guest running: exit 0, ticks within
#   5 s, no ring, no record, "controller_paused":false; a fresh agent enables.
#
# Set C, SOAK_MANY_TRIALS trials (default 0; `make soak-many` runs 30 in a
# boot of its own): a guest with SOAK_MANY_VCPUS vCPUs (default 12), more
# than the ring's 8 slots, every vCPU running CPUID (the guest's
# xenhost-load), the same alternation (our agent with --slow 50, so that
# its ring fills and vCPUs queue on Xen's wait queue):
#   1. start the agent, SIGKILL it after a random delay, wait a random gap;
#   2. xen-vmevent-drain --json stop DOMID (--force for xen-access): either
#      rescued (exit 0, then as set A's step 4) or refused as documented
#      (exit 3, "sleep on the full ring": vCPUs asleep on the dead ring's
#      wait queue, which nothing but destroying the guest frees; then the
#      ring must still be there and the guest not paused by us, and the
#      guest is re-created for the next trial);
#   3. Xen stays up throughout.
#   Under QEMU's TCG a guest with more than 8 vCPUs running CPUID
#   sometimes triple-faults with no agent at all (docs/findings.md #6):
#   a trial in which `xl dmesg` gains a triple fault is counted apart (not
#   rescued, not failed), and the guest re-created.
#
# Every draw comes from one seeded PRNG (MINSTD, shell arithmetic), in a
# fixed order, so SOAK_SEED reproduces the schedule of delays (not the
# scheduling jitter of dom0).  A failed trial prints its evidence (the
# drain's -v output and JSON, status, xl list, xl dmesg, the guest's last
# ticks), then the guest is recovered (stop --force, xl unpause, recreate)
# and the soak goes on.  Summary at the end: seed, trials, rescued, failed
# (trial, kind, step, delays), median rescue time.  The soak fails, too, if
# set A rescued no guest seen frozen or none under an administrator's
# pause, or if no kill of set B landed inside the pause window.
#
# Settings (environment): SOAK_TRIALS, SOAK_KILL_TRIALS, SOAK_SEED (default:
# from the clock), SOAK_DELAY_MAX_MS (2000), SOAK_GAP_MAX_MS (1500),
# SOAK_KILL_MAX_MS (12), SOAK_BUDGET_S (default: XENHOST_TEST_TIMEOUT - 15).
# Exit: 0 every trial rescued (set C: or refused as documented); 1 a trial failed or trials did not fit the
# time budget; 99 the soak could not start.
#
# SPDX-License-Identifier: LGPL-2.1-only

set -u
export LC_ALL=C

say() { echo "soak: $*"; }
die() { echo "soak: ERROR: $*"; exit 99; }

[ -n "${DOMID:-}" ] || die "DOMID is not set: run inside the xenhost rig"
[ -n "${GUEST_LOG:-}" ] || die "GUEST_LOG is not set: run inside the xenhost rig"
for t in vmevent-test-agent xen-vmevent-drain xen-access xl timeout \
	xenhost-ticks-advance xenhost-guest; do
	command -v "$t" >/dev/null 2>&1 || die "$t is not on PATH"
done

is_uint() { case $1 in '' | *[!0-9]*) return 1 ;; esac; [ ${#1} -le 18 ]; }

TRIALS=${SOAK_TRIALS:-30}
KTRIALS=${SOAK_KILL_TRIALS:-$TRIALS}
MTRIALS=${SOAK_MANY_TRIALS:-0}
MVCPUS=${SOAK_MANY_VCPUS:-12}
DELAY_MAX=${SOAK_DELAY_MAX_MS:-2000}
GAP_MAX=${SOAK_GAP_MAX_MS:-1500}
KILL_MAX=${SOAK_KILL_MAX_MS:-12}
if [ -n "${SOAK_SEED:-}" ]; then
	SEED=$SOAK_SEED
else
	SEED=$(date +%s)
fi
check_uint() { is_uint "$2" || die "$1 must be a whole number, not '$2'"; }
check_uint SOAK_TRIALS "$TRIALS"
check_uint SOAK_KILL_TRIALS "$KTRIALS"
check_uint SOAK_DELAY_MAX_MS "$DELAY_MAX"
check_uint SOAK_GAP_MAX_MS "$GAP_MAX"
check_uint SOAK_KILL_MAX_MS "$KILL_MAX"
check_uint SOAK_SEED "$SEED"
BUDGET=${SOAK_BUDGET_S:-$((${XENHOST_TEST_TIMEOUT:-600} - 15))}
is_uint "$BUDGET" || die "SOAK_BUDGET_S must be a whole number"

W=${TMPDIR:-/tmp}/soak.$$
rm -rf "$W"
mkdir -p "$W" || die "cannot create $W"

# ---------------------------------------------------------------- helpers
# now: NOW = dom0 uptime in ms (10 ms resolution), without a fork.
now() {
	read -r _up _ </proc/uptime
	NOW=$((${_up%%.*} * 1000 + (1${_up#*.} - 100) * 10))
}

# The PRNG: MINSTD (Park-Miller), state in 1..2^31-2.  rand N: R in 0..N-1.
RNG=$((SEED % 2147483646 + 1))
rand() {
	RNG=$((RNG * 48271 % 2147483647))
	R=$((RNG % $1))
}

# sleep_ms MS
sleep_ms() {
	[ "$1" -gt 0 ] || return 0
	_f=$(($1 % 1000))
	case ${#_f} in 1) _f=00$_f ;; 2) _f=0$_f ;; esac
	sleep "$(($1 / 1000)).$_f"
}

# spin_us US: busy-wait about US microseconds without a fork (sleep's own
# fork and exec cost milliseconds under QEMU, the length of a rescue).
# SPIN_PER_MS iterations make a millisecond (calibrated below).
spin_us() {
	_n=$(($1 * SPIN_PER_MS / 1000))
	while [ $_n -gt 0 ]; do _n=$((_n - 1)); done
}
calibrate_spin() {
	SPIN_PER_MS=1000
	_best=0
	for _try in 1 2 3; do
		now; _a=$NOW
		spin_us 50000           # 50,000 iterations
		now; _b=$NOW
		[ $((_b - _a)) -gt 0 ] || continue
		_r=$((50000 / (_b - _a)))
		[ $_r -gt $_best ] && _best=$_r
	done
	[ $_best -gt 0 ] && SPIN_PER_MS=$_best
}
calibrate_spin

now
T_START=$NOW
DEADLINE=$((T_START + BUDGET * 1000))

# time_left_ok SECS: at least SECS seconds of the budget are left.
time_left_ok() { now; [ $((DEADLINE - NOW)) -ge $(($1 * 1000)) ]; }

# JSON of xen-vmevent-drain, one object on one line: jhas FILE REGEX
jhas() { grep -q "$2" "$1" 2>/dev/null; }
jnum() { sed -n "s/.*\"$2\":\([0-9][0-9]*\).*/\1/p" "$1" 2>/dev/null | head -n 1; }
jstr() { sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p" "$1" 2>/dev/null | head -n 1; }
# The owner object of a status/stop object: "state pid pauses" (pauses:
# the record's "paused N", the references its owner may hold).
jowner() {
	sed -n 's/.*"owner":{"state":"\([a-z]*\)","pid":\([0-9a-z]*\),.*"pauses":\([0-9]*\),.*/\1 \2 \3/p' "$1" 2>/dev/null | head -n 1
}

status_json() { xen-vmevent-drain --json status "$DOMID" >"$1" 2>"$1.err"; }

# median FILE: median of the numbers (ns) in FILE, in ms with 1 decimal.
median_ms() {
	[ -s "$1" ] || { echo "n/a"; return; }
	sort -n "$1" | awk '{ a[NR] = $1 }
		END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		      printf "%.1f ms (n=%d, min %.1f, max %.1f)", m / 1e6, NR, a[1] / 1e6, a[NR] / 1e6 }'
}

APID=
# start_agent KIND OUT: start it in the background (APID); 0 once its ring
# is up, 1 if not within 15 s.
start_agent() {
	if [ "$1" = agent ]; then
		vmevent-test-agent -p 0 "$DOMID" >"$2" 2>&1 &
		_pat='^ready '
	else
		xen-access "$DOMID" cpuid >"$2" 2>&1 &
		_pat='^starting cpuid'
	fi
	APID=$!
	_i=0
	until grep -q "$_pat" "$2"; do
		kill -0 "$APID" 2>/dev/null || return 1
		_i=$((_i + 1))
		[ $_i -lt 300 ] || return 1
		sleep 0.05
	done
	return 0
}

kill_agent() {
	[ -n "$APID" ] || return 0
	kill -9 "$APID" 2>/dev/null
	wait "$APID" 2>/dev/null
	APID=
}

# ------------------------------------------------------- results, evidence
FAILS=$W/failures
: >"$FAILS"
RESCUE_NS=$W/rescue-ns         # set A: the library's rescue total_ns
PAUSED_NS=$W/paused-ns         # set A: how long the rescue held the guest paused
STOP_MS=$W/stop-ms             # set A: wall time of xen-vmevent-drain stop
SECOND_NS=$W/second-ns         # set B: total_ns of the second run's rescue
: >"$RESCUE_NS"; : >"$PAUSED_NS"; : >"$STOP_MS"; : >"$SECOND_NS"

# fail SET TRIAL KIND STEP WHAT: record a failure and print the evidence.
fail() {
	echo "set $1 trial $2 ($3) step $4: $5 [seed $SEED; $TRIAL_DRAWS]" >>"$FAILS"
	say "FAIL set $1 trial $2 ($3) step $4: $5"
	say "  draws: $TRIAL_DRAWS"
	evidence "$1$2"
}

evidence() {
	for f in "$W"/t.*; do
		[ -f "$f" ] || continue
		echo "---- ${f##*/}"
		tail -n 40 "$f"
	done
	echo "---- status now"
	xen-vmevent-drain --json status "$DOMID" 2>&1
	echo "---- xl list"
	xl list 2>&1
	echo "---- xenstore /local/domain/0/libvmeventctl"
	xenstore-ls /local/domain/0/libvmeventctl 2>&1 | head -n 10
	echo "---- xl dmesg (last 30 lines)"
	{ [ -f "$W/xen-dmesg.log" ] && cat "$W/xen-dmesg.log"; xl dmesg 2>&1; } | tail -n 30
	echo "---- guest log (last 5 lines)"
	tail -n 5 "$GUEST_LOG"
	echo "---- end of evidence"
}

# recover: bring the guest back for the next trial, whatever it takes, and
# say what it took (the failure is already recorded).
recover() {
	kill_agent
	status_json "$W/r.status"
	if jhas "$W/r.status" '"monitor_ring":true' || jhas "$W/r.status" '"pauses_left":[1-9]'; then
		xen-vmevent-drain stop --force "$DOMID" >"$W/r.stop" 2>&1
		say "  recover: stop --force exited $? ($(tail -n 1 "$W/r.stop"))"
		status_json "$W/r.status"
	fi
	_n=0
	while jhas "$W/r.status" '"controller_paused":true' && [ $_n -lt 3 ]; do
		xl unpause "$DOMID" && say "  recover: xl unpause $DOMID (a pause reference was left)"
		_n=$((_n + 1))
		status_json "$W/r.status"
	done
	if ! xenhost-ticks-advance 5 2>/dev/null; then
		DOMID=$(xenhost-guest recreate --wait 90 | tail -n 1)
		export DOMID
		say "  recover: guest re-created as domain $DOMID"
		xenhost-ticks-advance 10 2>/dev/null || die "the guest does not tick after re-creation"
	fi
}

# check_after SET TRIAL KIND PREFIX: the guest runs, no ring, no record,
# not paused, and a fresh agent can enable.  0 if all hold.
check_after() {
	if ! xenhost-ticks-advance 5 >"$W/t.ticks" 2>&1; then
		fail "$1" "$2" "$3" "$4ticks" "the guest did not tick within 5 s (last tick $(xenhost-last-tick))"
		return 1
	fi
	status_json "$W/t.status"
	if ! jhas "$W/t.status" '"controller_paused":false'; then
		fail "$1" "$2" "$3" "$4paused" "status does not say controller_paused:false"
		return 1
	fi
	if ! jhas "$W/t.status" '"monitor_ring":false'; then
		fail "$1" "$2" "$3" "$4ring" "a monitor ring is left"
		return 1
	fi
	if ! jhas "$W/t.status" '"owner":{"state":"none"'; then
		fail "$1" "$2" "$3" "$4record" "an ownership record is left: $(jowner "$W/t.status")"
		return 1
	fi
	if ! timeout 30 vmevent-test-agent -p 0 -n 5 "$DOMID" >"$W/t.fresh" 2>&1; then
		_why=$(grep -m 1 -i -E 'busy|error|fail|enable' "$W/t.fresh")
		fail "$1" "$2" "$3" "$4fresh-agent" "a fresh agent did not enable and answer 5 events: ${_why:-exit status not 0}"
		return 1
	fi
	return 0
}

kind_of() { if [ $(($1 % 2)) -eq 1 ]; then KIND=agent; else KIND=xen-access; fi; }

say "seed $SEED (SOAK_SEED=$SEED reproduces the schedule); set A: $TRIALS trials; set B (drain killed): $KTRIALS trials"
say "domain $DOMID; Xen $(xl info 2>/dev/null | sed -n 's/^xen_version *: //p'); dom0 vCPUs $(grep -c ^processor /proc/cpuinfo); budget $BUDGET s; $SPIN_PER_MS spin iterations per ms"
xenhost-ticks-advance 10 || die "the guest does not tick before the soak"

NOTRUN=0

# draw_kill I [NOTE]: trial I of sets A and C: its agent (KIND), the kill
# delay and the gap before the stop (delay, gap, TRIAL_DRAWS), and
# --force for xen-access, which keeps no record (force)
draw_kill() {
	kind_of "$1"
	rand $((DELAY_MAX + 1)); delay=$R
	rand $((GAP_MAX + 1)); gap=$R
	TRIAL_DRAWS="kill delay ${delay} ms after ready, gap ${gap} ms${2:-}"
	rm -f "$W"/t.*
	force=
	[ $KIND = xen-access ] && force=--force
}

# ============================================ set A: kill the agent, rescue
A_RUN=0; A_OK=0; A_FROZEN=0; A_ADMIN=0
# wait_frozen SECS: 0 once status samples a vCPU waiting on the dead ring
wait_frozen() {
	_k=0
	while [ $_k -lt "$1" ]; do
		status_json "$W/t.frozen.status"
		jhas "$W/t.frozen.status" '"stuck_vcpus":\[[0-9]' && return 0
		sleep 1
		_k=$((_k + 1))
	done
	return 1
}
i=1
while [ $i -le "$TRIALS" ]; do
	if ! time_left_ok 25; then
		NOTRUN=$((TRIALS - i + 1))
		say "set A: time budget exhausted: $NOTRUN trial(s) not run"
		break
	fi
	draw_kill $i
	A_RUN=$((A_RUN + 1))

	if ! start_agent $KIND "$W/t.agent"; then
		fail A $i $KIND start "the agent did not bring its ring up within 15 s"
		recover; i=$((i + 1)); continue
	fi
	sleep_ms $delay
	kill_agent
	sleep_ms $gap
	# Trial 1 rescues a guest seen frozen, whatever the draws: the set
	# must show at least one.
	if [ $i -eq 1 ] && ! wait_frozen 20; then
		fail A $i $KIND freeze "the guest did not freeze within 20 s of its agent's death"
		recover; i=$((i + 1)); continue
	fi
	# Trial 2 runs under an administrator's pause (xl pause), which the
	# rescue must leave as it found it.
	admin=no
	if [ $i -eq 2 ]; then
		xl pause "$DOMID" || die "xl pause $DOMID failed"
		admin=yes
	fi

	now; t0=$NOW
	# shellcheck disable=SC2086
	xen-vmevent-drain --json -v stop $force "$DOMID" >"$W/t.stop.json" 2>"$W/t.stop.err"
	rc=$?
	now; stop_ms=$((NOW - t0))
	frozen=no
	jhas "$W/t.stop.json" '"stuck_vcpus":\[[0-9]' && frozen=yes
	if [ $admin = yes ]; then
		status_json "$W/t.admin.status"
		xl unpause "$DOMID"
		if [ $rc -ne 0 ] || ! jhas "$W/t.admin.status" '"controller_paused":true' ||
			! grep -q "still paused by its controller" "$W/t.stop.json" "$W/t.stop.err"; then
			fail A $i $KIND admin-pause "under xl pause: stop exited $rc; status after it: $(cat "$W/t.admin.status"); the administrator's pause must survive the rescue, and stop must say the domain is still paused by its controller"
			recover; i=$((i + 1)); continue
		fi
		A_ADMIN=$((A_ADMIN + 1))
		# the unpaused guest's vCPUs must now run: the tool's watch
		# could not see them while the pause held them
		frozen=admin
	fi
	action=$(jstr "$W/t.stop.json" action)
	total=$(jnum "$W/t.stop.json" total_ns)
	paused=$(jnum "$W/t.stop.json" paused_ns)
	now
	line="[$(((NOW - T_START) / 1000))s] set A trial $i/$TRIALS $KIND: delay ${delay}ms gap ${gap}ms frozen=$frozen stop=${stop_ms}ms action=${action:-?} rescue=$((${total:-0} / 1000))us paused=$((${paused:-0} / 1000))us"
	if [ $rc -ne 0 ] || ! jhas "$W/t.stop.json" '"result":"success"' ||
		! jhas "$W/t.stop.json" '"ok":true'; then
		say "$line"
		fail A $i $KIND stop "stop exited $rc, result $(jstr "$W/t.stop.json" result), action ${action:-?}: $(jstr "$W/t.stop.json" message)"
		recover; i=$((i + 1)); continue
	fi
	if check_after A $i $KIND ""; then
		A_OK=$((A_OK + 1))
		[ $frozen = yes ] && A_FROZEN=$((A_FROZEN + 1))
		echo "$total" >>"$RESCUE_NS"
		echo "$paused" >>"$PAUSED_NS"
		echo "$((stop_ms * 1000000))" >>"$STOP_MS"
		say "$line: rescued"
	else
		say "$line"
		recover
	fi
	i=$((i + 1))
done

# ================================ set B: kill the agent, then kill the drain
B_RUN=0; B_OK=0; B_FORCED=0
POINTS=$W/points                # where each kill landed
POINTS_FAILED=$W/points-failed  # where the kills of failed trials landed
: >"$POINTS"; : >"$POINTS_FAILED"
# poll_line FILE PID MAX: busy-poll FILE until it holds the rescue's
# "... is dead" line (0), or PID is gone, MAX polls were made or 15 s
# passed (1).  POLLS: the polls made.  (kill -0 succeeds on a zombie.)
poll_line() {
	POLLS=0
	now; _end=$((NOW + 15000))
	while [ $POLLS -lt "$3" ]; do
		POLLS=$((POLLS + 1))
		while IFS= read -r _l; do
			case $_l in *"rescue: the ring's owner"*"is dead"*) return 0 ;; esac
		done <"$1"
		kill -0 "$2" 2>/dev/null || return 1
		now; [ $NOW -lt $_end ] || return 1
	done
	return 1
}
# From the drain's launch to that line, in polls, measured on the timed
# agent trials (the odd ones from 3 on, so trial 3 measures it first).
LAT_POLLS=400; POLLS_PER_MS=1
i=1
while [ $i -le "$KTRIALS" ]; do
	if ! time_left_ok 30; then
		n=$((KTRIALS - i + 1))
		NOTRUN=$((NOTRUN + n))
		say "set B: time budget exhausted: $n trial(s) not run"
		break
	fi
	kind_of $i
	rand 801; delay=$((200 + R))
	rand 801; gap=$((1200 + R))
	rand $((KILL_MAX * 1000 + 1)); kill_us=$R
	TRIAL_DRAWS="agent killed ${delay} ms after ready, drain started ${gap} ms later, drain killed +${kill_us} us"
	rm -f "$W"/t.*
	B_RUN=$((B_RUN + 1))
	force=
	[ $KIND = xen-access ] && force=--force

	if ! start_agent $KIND "$W/t.agent"; then
		fail B $i $KIND start "the agent did not bring its ring up within 15 s"
		recover; i=$((i + 1)); continue
	fi
	sleep_ms $delay
	kill_agent
	sleep_ms $gap

	# The first run, killed.  Its stderr goes to a plain file that this
	# shell busy-polls with builtins: no fork, and no blocking read whose
	# wake-up, under QEMU, can come after the whole rescue is over.
	: >"$W/t.run1.err"
	now; t0=$NOW
	# Trials 1 and 2 are killed by the drain itself, through the
	# kill-after shim, the instant its pause is taken (1) or the dead
	# ring is disabled (2): inside the pause window every time.
	shim=
	case $i in
	1) shim=xc_domain_pause; want_point=marked-ring ;;
	2) shim=xc_monitor_disable; want_point=marked-no-ring ;;
	esac
	if [ -n "$shim" ]; then
		# shellcheck disable=SC2086
		LD_PRELOAD=/opt/vmeventctl/lib/soak-kill-after.so KILL_AFTER=$shim \
			xen-vmevent-drain --json -v stop $force "$DOMID" >"$W/t.run1.json" 2>"$W/t.run1.err" &
	else
		# shellcheck disable=SC2086
		xen-vmevent-drain --json -v stop $force "$DOMID" >"$W/t.run1.json" 2>"$W/t.run1.err" &
	fi
	dpid=$!
	if [ -n "$shim" ]; then
		at="after-$shim"
	elif [ $KIND = agent ]; then
		if poll_line "$W/t.run1.err" $dpid 100000000; then
			spin_us $kill_us
			kill -9 $dpid 2>/dev/null
			at="line+${kill_us}us"
			now
			if [ $NOW -gt $t0 ]; then
				LAT_POLLS=$POLLS
				POLLS_PER_MS=$((POLLS / (NOW - t0) + 1))
			fi
		else
			at="no-line"
		fi
	else
		# No line to wait for: poll as long as the line took to come
		# on the last agent trial, minus 5 ms; then kill 0 to
		# SOAK_KILL_MAX_MS later.
		poll_line "$W/t.run1.err" $dpid $((LAT_POLLS - 5 * POLLS_PER_MS))
		spin_us $kill_us
		kill -9 $dpid 2>/dev/null
		at="line-5ms+${kill_us}us"
	fi
	{ wait $dpid; } 2>/dev/null
	drc=$?

	# How far did it get?  The state it left says.
	status_json "$W/t.killed.status"
	# shellcheck disable=SC2046 # three words
	set -- $(jowner "$W/t.killed.status")
	ostate=${1:-?}; opid=${2:-?}; ohold=${3:-?}
	ring=$(sed -n 's/.*"monitor_ring":\([a-z]*\).*/\1/p' "$W/t.killed.status" | head -n 1)
	cpause=$(sed -n 's/.*"controller_paused":\([a-z]*\).*/\1/p' "$W/t.killed.status" | head -n 1)
	mine=no
	[ "$opid" = "$dpid" ] && mine=yes
	if [ $drc -ne 137 ]; then
		point="completed(exit $drc)"
	elif [ "$cpause" = false ] && [ "$ring" = true ] && [ $mine = no ]; then
		point="before-pause"
	elif [ "$cpause" = true ] && [ "$ring" = true ] && [ $mine = no ]; then
		point="paused-unmarked"
	elif [ $mine = yes ] && [ "$ohold" != 0 ] && [ "$cpause" = false ]; then
		point="marked-unpaused"
	elif [ $mine = yes ] && [ "$ohold" != 0 ] && [ "$ring" = true ]; then
		point="marked-ring"
	elif [ $mine = yes ] && [ "$ohold" != 0 ] && [ "$ring" = false ]; then
		point="marked-no-ring"
	elif [ "$cpause" = true ] && [ "$ring" = false ]; then
		point="paused-no-record"
	elif [ "$cpause" = false ] && [ "$ring" = false ] && [ "$ostate" = none ]; then
		point="after-release"
	else
		point="other(ring=$ring,paused=$cpause,owner=$ostate/$ohold)"
	fi
	echo "$point" >>"$POINTS"
	if [ -n "$shim" ] && [ "$point" != "$want_point" ]; then
		fail B $i $KIND kill "killed right after its $shim, the rescue left $point, expected $want_point"
		recover; i=$((i + 1)); continue
	fi

	# The second run, with --force only if it refuses.
	xen-vmevent-drain --json -v stop "$DOMID" >"$W/t.run2.json" 2>"$W/t.run2.err"
	rc=$?
	forced=no
	if [ $rc -eq 3 ]; then
		forced=yes
		B_FORCED=$((B_FORCED + 1))
		xen-vmevent-drain --json -v stop --force "$DOMID" >"$W/t.run2.json" 2>"$W/t.run2.err"
		rc=$?
	fi
	res=$(jstr "$W/t.run2.json" result)
	action=$(jstr "$W/t.run2.json" action)
	total=$(jnum "$W/t.run2.json" total_ns)
	now
	line="[$(((NOW - T_START) / 1000))s] set B trial $i/$KTRIALS $KIND: drain killed at $at -> $point; second run (force=$forced): exit $rc $res action=${action:-?}"
	say "$line"
	if [ $rc -ne 0 ]; then
		fail B $i $KIND second-run "the second stop exited $rc ($res): $(jstr "$W/t.run2.json" message)"
		echo "$point" >>"$POINTS_FAILED"
		recover; i=$((i + 1)); continue
	fi
	if ! check_after B $i $KIND "second-run: "; then
		echo "$point" >>"$POINTS_FAILED"
		recover
	else
		B_OK=$((B_OK + 1))
		[ -n "$total" ] && echo "$total" >>"$SECOND_NS"
		say "  guest running, no ring, no record, not paused; a fresh agent enabled"
	fi
	i=$((i + 1))
done

# ============== set C: more vCPUs than ring slots, agent killed, then stop
C_RUN=0; C_OK=0; C_REFUSED=0; C_LATE=0; C_TCG=0
# Xen's console ring is small and each vCPU dump fills it: read and clear
# it, and count in what was read so far (the evidence shows its end).
XEN_LOG=$W/xen-dmesg.log
: >"$XEN_LOG"
# 0 if Xen logged a triple fault of a vCPU of the current guest
triple_faulted() { xl dmesg -c >>"$XEN_LOG"; grep -q "d${DOMID}v[0-9]* Triple fault" "$XEN_LOG"; }
# many_guest: a fresh guest of MVCPUS vCPUs, all running CPUID; one that
# triple-faults as it starts (TCG) is counted apart and made again
many_guest() {
	_n=0
	while :; do
		DOMID=$(xenhost-guest recreate --vcpus "$MVCPUS" --load cpuid --wait 300 | tail -n 1)
		export DOMID
		[ -n "$DOMID" ] && xenhost-ticks-advance 10 2>/dev/null && return 0
		_n=$((_n + 1))
		# A new guest that dies before any agent or ring (a triple fault,
		# or its kernel's own crash: both seen under TCG) is not what
		# this set tests: counted apart, made again.
		case $(xl list "$DOMID" 2>/dev/null | awk 'NR == 2 { print $5 }') in
		"" | *c*) _dead=1 ;;
		*) _dead=0 ;;
		esac
		if [ -n "$DOMID" ] && { triple_faulted || [ $_dead = 1 ]; } && [ $_n -le 5 ]; then
			C_TCG=$((C_TCG + 1))
			say "set C: a new guest (domid $DOMID) died as it started, before any agent (TCG, counted apart)"
			continue
		fi
		die "the $MVCPUS-vCPU guest does not tick"
	done
}
[ "$MTRIALS" -gt 0 ] && many_guest
i=1
while [ $i -le "$MTRIALS" ]; do
	if ! time_left_ok 60; then
		NOTRUN=$((NOTRUN + MTRIALS - i + 1))
		say "set C: time budget exhausted: $((MTRIALS - i + 1)) trial(s) not run"
		break
	fi
	draw_kill $i " ($MVCPUS vCPUs)"
	if ! xl list "$DOMID" >/dev/null 2>&1; then
		if triple_faulted; then
			C_TCG=$((C_TCG + 1))
			say "set C: the guest triple-faulted between trials (TCG, counted apart)"
			many_guest; continue
		fi
		die "the $MVCPUS-vCPU guest vanished with no triple fault"
	fi
	if [ $KIND = agent ]; then
		vmevent-test-agent --slow 50 -p 0 "$DOMID" >"$W/t.agent" 2>&1 &
		APID=$!
		_i=0
		until grep -q '^ready ' "$W/t.agent" || [ $_i -ge 300 ]; do _i=$((_i + 1)); sleep 0.05; done
	else
		start_agent $KIND "$W/t.agent"
	fi
	sleep_ms $delay
	kill_agent
	sleep_ms $gap
	# shellcheck disable=SC2086
	xen-vmevent-drain --json -v stop $force "$DOMID" >"$W/t.stop.json" 2>"$W/t.stop.err"
	rc=$?
	stuck=$(sed -n 's/.*"stuck_vcpus":\[\([0-9,]*\)\].*/\1/p' "$W/t.stop.json" | tr ',' '\n' | grep -c .)
	now
	line="[$(((NOW - T_START) / 1000))s] set C trial $i/$MTRIALS $KIND: delay ${delay}ms gap ${gap}ms stuck=$stuck exit=$rc action=$(jstr "$W/t.stop.json" action)"
	if triple_faulted; then
		C_TCG=$((C_TCG + 1))
		say "$line: the guest triple-faulted (TCG, counted apart): $(grep -A 3 "d${DOMID}v[0-9]* Triple fault" "$XEN_LOG" | grep -E 'Triple|RIP' | tr -s ' ' | tr '\n' ' ')"
		many_guest; i=$((i + 1)); continue
	fi
	C_RUN=$((C_RUN + 1))
	if [ $rc -eq 3 ] && grep -q "sleep on the full ring" "$W/t.stop.json"; then
		status_json "$W/t.status"
		if ! jhas "$W/t.status" '"monitor_ring":true'; then
			fail C $i $KIND refused "stop said nothing was changed, but the ring is gone"
		elif ! jhas "$W/t.status" '"controller_paused":false'; then
			fail C $i $KIND refused "the guest is left paused by its controller after a refusal"
		else
			C_REFUSED=$((C_REFUSED + 1)); C_OK=$((C_OK + 1))
			say "$line: refused as documented (vCPUs asleep on the dead ring), nothing changed"
		fi
		many_guest; i=$((i + 1)); continue
	fi
	# Documented too (xen-vmevent-drain(8), step 3): a vCPU fell asleep
	# between the check's sample and the pause, and Xen refused the disable.
	if [ $rc -eq 4 ] && grep -q "they fell asleep after the rescue's check" "$W/t.stop.json"; then
		status_json "$W/t.status"
		if ! jhas "$W/t.status" '"monitor_ring":true'; then
			fail C $i $KIND refused "Xen refused the disable, but the ring is gone"
		elif ! jhas "$W/t.status" '"controller_paused":false'; then
			fail C $i $KIND refused "the guest is left paused by its controller after Xen refused the disable"
		else
			C_REFUSED=$((C_REFUSED + 1)); C_OK=$((C_OK + 1)); C_LATE=$((C_LATE + 1))
			say "$line: refused by Xen as documented (a vCPU fell asleep on the dead ring after the check), pause released"
		fi
		many_guest; i=$((i + 1)); continue
	fi
	if [ $rc -ne 0 ] || ! jhas "$W/t.stop.json" '"result":"success"'; then
		say "$line"
		fail C $i $KIND stop "stop exited $rc, result $(jstr "$W/t.stop.json" result): $(jstr "$W/t.stop.json" message)"
		recover; many_guest; i=$((i + 1)); continue
	fi
	if check_after C $i $KIND ""; then
		C_OK=$((C_OK + 1))
		say "$line: rescued"
	else
		say "$line"
		recover; many_guest
	fi
	i=$((i + 1))
done

# ================================================================= summary
now
A_FAIL=$((A_RUN - A_OK))
B_FAIL=$((B_RUN - B_OK))
C_FAIL=$((C_RUN - C_OK))
echo
say "==================== summary"
say "seed: $SEED"
say "set A (agent killed, then stop): trials $A_RUN of $TRIALS, rescued $A_OK, failed $A_FAIL; guest frozen before the stop in $A_FROZEN of the rescued; under an administrator's pause, which survived, $A_ADMIN"
say "  median rescue time (library, check to vCPUs seen running): $(median_ms "$RESCUE_NS")"
say "  median time the guest was held paused:                     $(median_ms "$PAUSED_NS")"
say "  median wall time of xen-vmevent-drain stop (300 ms sample incl.): $(median_ms "$STOP_MS")"
say "set B (drain SIGKILLed mid-rescue, then run again): trials $B_RUN of $KTRIALS, guest running after the second run $B_OK, failed $B_FAIL; second run needed --force $B_FORCED time(s)"
if [ -s "$POINTS" ]; then
	say "  where the kills landed (state the killed run left; trials, failed):"
	awk 'FILENAME == ARGV[1] { bad[$0]++; next } { n[$0]++ }
		END { for (p in n) printf "soak:    %-28s %3d  %3d\n", p, n[p], bad[p] + 0 }' \
		"$POINTS_FAILED" "$POINTS" | sort
	say "  (before-pause: ring and the old record as found; marked-unpaused: the rescue's record"
	say "   marked paused, no pause held (before its pause, or after its release); marked-ring /"
	say "   marked-no-ring: marked and paused, a ring / none; paused-unmarked, paused-no-record:"
	say "   a pause no mark covers (the leak of docs/findings.md #4, gone since the mark comes"
	say "   first); after-release: killed while watching or reporting; completed: the run"
	say "   ended before the kill)"
fi
say "  median rescue time of the second run: $(median_ms "$SECOND_NS")"
if [ "$MTRIALS" -gt 0 ]; then
	say "set C ($MVCPUS vCPUs, agent killed, then stop): trials $C_RUN of $MTRIALS, rescued $((C_OK - C_REFUSED)), refused as documented $C_REFUSED ($C_LATE by Xen after the check), failed $C_FAIL; TCG triple faults counted apart $C_TCG; Xen stayed up"
fi
say "total trials $((A_RUN + B_RUN + C_RUN)), rescued $((A_OK + B_OK + C_OK - C_REFUSED)), refused as documented $C_REFUSED, failed $((A_FAIL + B_FAIL + C_FAIL)), not run $NOTRUN; soak took $(((NOW - T_START) / 1000)) s"
if [ -s "$FAILS" ]; then
	say "failures (seed $SEED):"
	sed 's/^/soak:   /' "$FAILS"
fi
# What each set is for must have happened, not only what it checks.
MISSED=0
if [ "$TRIALS" -ge 1 ] && [ "$A_FROZEN" -eq 0 ]; then
	say "set A rescued no guest seen frozen: it proved nothing about frozen guests"
	MISSED=1
fi
if [ "$TRIALS" -ge 2 ] && [ "$A_ADMIN" -eq 0 ]; then
	say "set A ran no rescue that left an administrator's pause in place"
	MISSED=1
fi
if [ "$KTRIALS" -ge 1 ] && ! grep -qx 'marked-ring\|marked-no-ring' "$POINTS"; then
	say "set B: no kill landed inside the rescue's pause window (marked-ring, marked-no-ring)"
	MISSED=1
fi
if [ $((A_FAIL + B_FAIL + C_FAIL + NOTRUN + MISSED)) -ne 0 ]; then
	say "RESULT: FAIL"
	exit 1
fi
if [ "$C_REFUSED" -gt 0 ]; then
	say "RESULT: PASS (every trial rescued, or refused as documented)"
else
	say "RESULT: PASS (every trial rescued)"
fi
exit 0
