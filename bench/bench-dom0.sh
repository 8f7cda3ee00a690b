#!/bin/sh
# bench-dom0.sh: the dom0 side of `make bench`, run by bench/run-bench in
# dom0 of the real Xen host (tests/xenhost/xenhost run-script), in one boot.
#
# It prints every figure as a line "BENCH <section> key=value ...", which
# run-bench collects from the script's output; nothing else on stdout
# starts with "BENCH ".  Sections:
#   facts       Xen, kernel, CPUs, the cost of reading the clock in dom0
#   guest       a benchmark guest was created (and how long it took)
#   tp          event throughput: xen-access, vmevent-test-agent and a lean
#               agent on the library, one line per run, in turn, same
#               guest, same fixed window, per placement of the vCPUs
#   disable     vmeventctl_ring_disable with K requests pending
#   rescue      vmeventctl_rescue of a dead agent's guest, K pending
#   bare        xc_domain_pause + xc_monitor_disable + xc_domain_unpause
#   stress      xen-evtchn-stress flood vs baseline, or available=0
#   unfreeze    a guest left frozen by an agent's teardown was rescued
#   crash       a benchmark guest crashed and was created again
#   settings    what this run was asked to do
#   phase       wall time of each phase
#
# The guests are this script's own: the xenhost guest's kernel and
# initramfs with bench/guest-init as /init and bench/cpuid-spin, a CPUID
# loop, added.  dom0 tells a guest how many loops to run through its
# console (see guest-init).  Settings come from bench.conf next to this
# script (written by run-bench); the defaults are below.

B=/opt/vmeventctl/bench
TP_SECS=10          # throughput window per run
TP_ROUNDS=3         # runs per agent, alternating
TP_VCPUS="1"        # guests the throughput is measured on
TP_AGENTS="xen-access ours lean"
TP_PLACEMENT="same split"   # same: dom0 and guest vCPUs pinned to pCPU 0;
                            # split: dom0 on pCPU 0, the guest on pCPU 1
RUNS=12             # runs per safe-disable / rescue / bare configuration
DISABLE_VCPUS="1 2 8 16"
PACE_US=20000       # safe-disable guests: each loop sleeps this long after a CPUID
STRESS_SECS=5
[ -r "$B/bench.conf" ] && . "$B/bench.conf"

export PATH="$B:$PATH"
T0=$(cut -d. -f1 /proc/uptime)
SEQ=0

say() { echo "bench-dom0: $*" >&2; }
emit() { echo "BENCH $*"; }
uptime_s() { cut -d. -f1 /proc/uptime; }
phase() { emit "phase name=$1 secs=$(($(uptime_s) - $2))"; }

# ---- facts ---------------------------------------------------------------
facts() {
	local info
	info=$(xl info 2>/dev/null)
	val() { echo "$info" | awk -v k="$1" '$0 ~ "^" k "[ \t]*:" { sub(/^[^:]*:[ \t]*/, ""); gsub(/[ \t]+/, "_"); print; exit }'; }
	emit "facts xen_version=$(val xen_major).$(val xen_minor)$(val xen_extra) xen_scheduler=$(val xen_scheduler) nr_cpus=$(val nr_cpus) cpu_mhz=$(val cpu_mhz) xen_commandline=$(val xen_commandline | tr -c 'A-Za-z0-9=,._:-' '_') kernel=$(uname -r) dom0_vcpus=$(nproc) xl_info_ok=$([ -n "$info" ] && echo 1 || echo 0)"
	emit "facts clocksource=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)"
	emit "facts $(bench-dom0 clock)"
}

# ---- the benchmark guests ------------------------------------------------
build_guest_initramfs() {
	local d=/tmp/bench-guest-root
	rm -rf "$d"
	mkdir -p "$d"
	(cd "$d" && zcat /usr/share/xenhost/guest.cpio.gz | cpio -id 2>/dev/null) || return 1
	cp "$B/guest-init" "$d/init" && cp "$B/cpuid-spin" "$d/bin/cpuid-spin" || return 1
	chmod 755 "$d/init" "$d/bin/cpuid-spin"
	# one gzip member: libxenguest's gunzip stops after the first one
	(cd "$d" && find . | sort | cpio -o -H newc 2>/dev/null | gzip -6 >/tmp/bench-guest.cpio.gz) || return 1
	[ -s /tmp/bench-guest.cpio.gz ]
}

glog() { echo "/var/log/xen/console/guest-$1.log"; }

ticks() { # log -> number of the last tick (0 if none)
	local t
	t=$(grep -a -o 'tick [0-9]*' "$1" 2>/dev/null | tail -n 1 | cut -d' ' -f2)
	echo "${t:-0}"
}

# make_guest NAME VCPUS: create, wait until it ticks; sets GID
make_guest() {
	local name=$1 vcpus=$2 cfg=/tmp/bench-$1.cfg t0 attempt=1 st
	cat >"$cfg" <<-EOF
		name = "$name"
		type = "pvh"
		kernel = "/usr/share/xenhost/vmlinuz"
		ramdisk = "/tmp/bench-guest.cpio.gz"
		cmdline = "console=hvc0 rdinit=/init loglevel=5"
		memory = 160
		vcpus = $vcpus
		on_poweroff = "destroy"
		on_reboot = "destroy"
		on_crash = "preserve"
		tsc_mode = "native"
	EOF
	while [ $attempt -le 3 ]; do
		t0=$(uptime_s)
		xl destroy "$name" >/dev/null 2>&1
		rm -f "$(glog "$name")"
		if xl create -q "$cfg" >/tmp/bench-xl-$name.log 2>&1; then
			GID=$(xl domid "$name" 2>/dev/null)
			while [ $(($(uptime_s) - t0)) -lt 150 ]; do
				if [ "$(ticks "$(glog "$name")")" -ge 1 ]; then
					emit "guest name=$name vcpus=$vcpus domid=$GID attempt=$attempt boot_secs=$(($(uptime_s) - t0))"
					return 0
				fi
				st=$(xl list "$name" 2>/dev/null | awk 'NR == 2 { print $5 }')
				case $st in "" | *c*) say "guest $name crashed or vanished while booting (attempt $attempt)"; break ;; esac
				sleep 1
			done
		else
			say "xl create $name failed: $(cat /tmp/bench-xl-$name.log)"
		fi
		attempt=$((attempt + 1))
	done
	emit "guest name=$name vcpus=$vcpus error=boot"
	return 1
}

# spin NAME DOMID N [PAUSE_US]: N CPUID loops in the guest, one per vCPU
# from 0, each sleeping PAUSE_US after a CPUID (0: back to back).  The
# command is sent again if the guest does not answer: busybox's "read -t"
# drops a line that arrives across its timeout.
spin() {
	local name=$1 id=$2 n=$3 pause=${4:-0} tty t0 try=0
	SEQ=$((SEQ + 1))
	tty=$(xenstore-read "/local/domain/$id/console/tty" 2>/dev/null)
	[ -n "$tty" ] && [ -e "$tty" ] || { say "no console tty for $name"; return 1; }
	while [ $try -lt 5 ]; do
		printf 'spin %s %s %s\n' "$n" "$SEQ" "$pause" >"$tty"
		t0=$(uptime_s)
		while [ $(($(uptime_s) - t0)) -lt 6 ]; do
			if grep -aq "spinning $n seq=$SEQ" "$(glog "$name")" 2>/dev/null; then
				sleep 1
				return 0
			fi
			usleep 100000
		done
		try=$((try + 1))
	done
	say "guest $name did not answer 'spin $n'"
	return 1
}

# alive NAME VCPUS WHAT: the guest is still there; if it crashed (seen once:
# an 8-vCPU guest triple-faulted under TCG), say so and create it again
alive() {
	local st
	st=$(xl list "$1" 2>/dev/null | awk 'NR == 2 { print $5 }')
	case $st in
	"" | *c*)
		emit "crash name=$1 vcpus=$2 before=$3 state=${st:-gone}"
		xl list -l "$1" >/dev/null 2>&1
		make_guest "$1" "$2" || return 1
		;;
	esac
	return 0
}

unfreeze() { # DOMID AFTER: rescue a vCPU left waiting by an agent's teardown
	local out
	out=$(bench-dom0 unfreeze "$1")
	case $out in *rescued=1*) emit "unfreeze after=$2 $out" ;; esac
	# With more vCPUs than ring slots, vCPUs asleep on the dead ring's wait
	# queue make a rescue impossible (the rescue refuses, or Xen refuses its
	# disable): only destroying the guest frees them.
	case $out in *rescued=1*" rc=-1 "*) return 1 ;; esac
	return 0
}

# unfreeze_or_remake NAME DOMID VCPUS AFTER LOOPS PAUSE: a guest that
# cannot be rescued is replaced by a new one, spinning as the old one did
unfreeze_or_remake() {
	unfreeze "$2" "$4" && return 0
	emit "unrescuable name=$1 vcpus=$3 after=$4"
	xl destroy "$1" >/dev/null 2>&1
	make_guest "$1" "$3" && spin "$1" "$GID" "$5" "$6"
}

# ---- 1. event throughput -------------------------------------------------
# Three agents on the same guest, same event, same window, in turn:
#   xen-access   Debian's xen-access DOMID cpuid (stdout to a file on tmpfs,
#                to count its lines: one per CPUID event)
#   ours         tests/agent/vmevent-test-agent -p 0 (the issue's "our
#                test agent on libvmeventctl")
#   lean         bench-dom0 agent: the library, waiting with no timeout
#   lean100      bench-dom0 agent DOMID 100: the same with the test agent's
#                100 ms wait timeout, to tell the wait's timeout from the rest
run_agent() { # AGENT DOMID VCPUS ROUND PLACEMENT
	local line ev dis out=/tmp/bench-$1.out
	case $1 in
	xen-access)
		line=$(bench-dom0 timed "$TP_SECS" "$out" xen-access "$2" cpuid)
		ev=$(grep -c '^CPUID executed' "$out")
		grep -q 'shut down' "$out.err" || tail -n 3 "$out.err" >&2
		emit "tp agent=xen-access vcpus=$3 placement=$5 round=$4 events=$ev $line"
		;;
	ours | lean | lean100)
		case $1 in
		ours) line=$(bench-dom0 timed "$TP_SECS" "$out" vmevent-test-agent -p 0 "$2") ;;
		lean) line=$(bench-dom0 timed "$TP_SECS" "$out" bench-dom0 agent "$2") ;;
		lean100) line=$(bench-dom0 timed "$TP_SECS" "$out" bench-dom0 agent "$2" 100) ;;
		esac
		ev=$(sed -n 's/^done events=\([0-9]*\).*/\1/p' "$out")
		dis=$(sed -n 's/^disable .* answered=\([0-9]*\) .*/\1/p' "$out")
		[ -n "$ev" ] || tail -n 3 "$out.err" >&2
		emit "tp agent=$1 vcpus=$3 placement=$5 round=$4 events=$((${ev:-0} + ${dis:-0})) loop_events=${ev:-0} disable_answered=${dis:-0} $line $(sed -n 's/^done events=[0-9]* //p' "$out")"
		;;
	esac
	unfreeze "$2" "$1"
}

# place NAME PLACEMENT: pin the guest's vCPUs (dom0's is on pCPU 0)
place() {
	case $2 in
	same) xl vcpu-pin "$1" all 0 ;;
	split) xl vcpu-pin "$1" all 1 ;;
	*) xl vcpu-pin "$1" all all ;;
	esac
}

throughput() { # NAME DOMID VCPUS
	local r t0 order pl n
	t0=$(uptime_s)
	spin "$1" "$2" "$3" 0 || return 1
	for pl in $TP_PLACEMENT; do
		place "$1" "$pl" || { say "cannot pin vCPUs ($pl)"; continue; }
		r=1
		while [ $r -le "$TP_ROUNDS" ]; do
			# rotate which agent goes first, so that drift over
			# the boot favours none of them
			order=$(echo $TP_AGENTS | awk -v r="$r" '{ for (i = 0; i < NF; i++) printf "%s ", $((i + r - 1) % NF + 1) }')
			for a in $order; do run_agent "$a" "$2" "$3" "$r" "$pl"; done
			r=$((r + 1))
		done
	done
	place "$1" free
	spin "$1" "$2" 0
	phase "throughput-vcpus$3" "$t0"
}

# ---- 2. safe disable, rescue, bare ---------------------------------------
# K loops in the guest, paced (each sleeps PACE_US after a CPUID) or busy
# (back to back: with 8 vCPUs on the 2 emulated pCPUs, dom0 then fights
# the guest for CPU, on a real host an 8-vCPU guest would have its own).
# LOOPS (default K): CPUID loops in the guest; with more vCPUs than the
# ring's 8 slots, K stays at 8 while every vCPU loops.
disable_set() { # NAME DOMID VCPUS K LOAD [LOOPS]
	local t0 l pause=$PACE_US loops=${6:-$4}
	t0=$(uptime_s)
	alive "$1" "$3" "disable-k$4-$5" || return 1
	[ "$5" = busy ] && pause=0
	set -- "$1" "$GID" "$3" "$4" "$5"
	spin "$1" "$2" "$loops" "$pause" || return 1
	bench-dom0 disable "$2" "$4" "$RUNS" | while read -r l; do emit "disable vcpus=$3 load=$5 $l"; done
	unfreeze_or_remake "$1" "$2" "$3" "disable-k$4-$5" "$loops" "$pause" || return 1
	set -- "$1" "$GID" "$3" "$4" "$5"
	bench-dom0 bare "$2" "$RUNS" | while read -r l; do emit "bare vcpus=$3 k=$4 load=$5 $l"; done
	bench-dom0 rescue "$2" "$4" "$RUNS" | while read -r l; do emit "rescue vcpus=$3 load=$5 $l"; done
	unfreeze_or_remake "$1" "$2" "$3" "rescue-k$4-$5" "$loops" "$pause" || return 1
	phase "disable-vcpus$3-k$4-$5" "$t0"
}

# ---- 3. notify rate ------------------------------------------------------
stress() { # DOMID
	local t t0 rc
	t0=$(uptime_s)
	if ! command -v xen-evtchn-stress >/dev/null 2>&1; then
		emit "stress available=0"
		return 0
	fi
	for t in 1 2; do
		xen-evtchn-stress --json -d "$STRESS_SECS" -t "$t" baseline,flood "$1" \
			>/tmp/bench-stress-$t.json 2>/tmp/bench-stress-$t.err
		rc=$?
		# one line per mode: its total rate and each thread's
		tr -d '\n' </tmp/bench-stress-$t.json | awk -v t="$t" -v rc="$rc" '
			{
				s = $0
				n = split(s, parts, /\{"mode": "/)
				for (i = 2; i <= n; i++) {
					p = parts[i]
					mode = substr(p, 1, index(p, "\"") - 1)
					if (mode != "baseline" && mode != "flood") continue
					ran = (p ~ /"ran": true/) ? 1 : 0
					verdict = p; sub(/.*"verdict": "/, "", verdict); sub(/".*/, "", verdict)
					if (match(p, /"notifies": \{[^}]*\}/)) {
						nt = substr(p, RSTART, RLENGTH)
						tot = nt; sub(/.*"per_s": /, "", tot); sub(/[,}].*/, "", tot)
					} else tot = "null"
					th = ""
					q = p
					while (match(q, /"thread": [0-9]+, "notifies": [0-9]+, "ok": [0-9]+, "per_s": [0-9.e+-]+/)) {
						x = substr(q, RSTART, RLENGTH); sub(/.*"per_s": /, "", x)
						th = th (th == "" ? "" : ",") x
						q = substr(q, RSTART + RLENGTH)
					}
					printf "BENCH stress available=1 threads=%s mode=%s ran=%s verdict=%s per_s=%s thread_per_s=%s rc=%s\n", t, mode, ran, verdict, tot, (th == "" ? "none" : th), rc
					found++
				}
			}
			END { if (!found) printf "BENCH stress available=1 threads=%s error=unparsed rc=%s\n", t, rc }'
		sed 's/^/STRESS-JSON /' /tmp/bench-stress-$t.json
		sed 's/^/STRESS-ERR /' /tmp/bench-stress-$t.err | tail -n 20
		unfreeze "$1" "stress-t$t"
	done
	phase stress "$t0"
}

# ---- main ----------------------------------------------------------------
emit "settings tp_placement=$(echo $TP_PLACEMENT | tr ' ' ,) tp_agents=$(echo $TP_AGENTS | tr ' ' ,) tp_secs=$TP_SECS tp_rounds=$TP_ROUNDS runs=$RUNS pace_us=$PACE_US stress_secs=$STRESS_SECS"
facts
# dom0's clock is the TSC (one vCPU); the emulated pCPUs' TSCs are not in
# step, and Linux holds the clock still when a vCPU moves to a pCPU whose
# TSC is behind (seen: 0 ns for a pause + disable + unpause).  So dom0
# stays on pCPU 0 for the whole run.
xl vcpu-pin Domain-0 all 0 && emit "facts dom0_pinned_to_pcpu=0"
# The rig's tick guest only costs CPU here: our own guests replace it.
[ -n "$DOMID" ] && xl destroy "$DOMID" >/dev/null 2>&1
build_guest_initramfs || { emit "error what=initramfs"; exit 99; }

first=1
for v in $(echo "$TP_VCPUS $DISABLE_VCPUS" | tr ' ' '\n' | awk 'NF && !seen[$1]++'); do
	t0=$(uptime_s)
	name=bench$v
	make_guest "$name" "$v" || continue
	phase "boot-vcpus$v" "$t0"
	case " $TP_VCPUS " in *" $v "*) throughput "$name" "$GID" "$v" ;; esac
	case " $DISABLE_VCPUS " in
	*" $v "*)
		kmax=$v
		[ "$v" -gt 8 ] && kmax=8
		for k in $(echo "0 1 $kmax" | tr ' ' '\n' | awk '!seen[$1]++'); do
			disable_set "$name" "$GID" "$v" "$k" paced
		done
		[ "$v" -ge 8 ] && disable_set "$name" "$GID" "$v" "$kmax" busy "$v"
		;;
	esac
	if [ $first = 1 ]; then
		spin "$name" "$GID" 0
		stress "$GID"
		first=0
	fi
	xl destroy "$name" >/dev/null 2>&1
done
phase total "$T0"
emit "done"
