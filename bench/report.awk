# report.awk: turns what `make bench` collected into the table and the JSON
# (bench/run-bench calls it; portable awk, mawk included).
#
# Input lines, each "TAG section key=value ...":
#   C ctx ...          the context (commit, QEMU, settings)
#   H host ...         how the real-host run went
#   G cg ...           callgrind: instructions of N batches
#   B <section> ...    a line of bench-dom0.sh (see there for sections)
# Variables: json (output file), table (output file), dat (directory for
# the gnuplot files tp.dat, pause.dat and pause-xtics.gp).

function kv(   i, p, k) {
	for (k in V) delete V[k]
	for (i = 3; i <= NF; i++) {
		p = index($i, "=")
		if (p < 2) continue
		k = substr($i, 1, p - 1)
		V[k] = substr($i, p + 1)
	}
}

# push(name, value): append to list name
function push(name, v) {
	N[name]++
	L[name, N[name]] = v + 0
}

# sorts list name into S[1..n]; returns n
function sorted(name,   n, i, j, t) {
	n = N[name] + 0
	for (i = 1; i <= n; i++) S[i] = L[name, i]
	for (i = 2; i <= n; i++) {
		t = S[i]
		for (j = i - 1; j >= 1 && S[j] > t; j--) S[j + 1] = S[j]
		S[j + 1] = t
	}
	return n
}
function median(name,   n) {
	n = sorted(name)
	if (n == 0) return "null"
	if (n % 2) return S[(n + 1) / 2]
	return (S[n / 2] + S[n / 2 + 1]) / 2
}
function minof(name,   n) { n = sorted(name); return n ? S[1] : "null" }
function maxof(name,   n) { n = sorted(name); return n ? S[n] : "null" }

# xidx(config): x position of a safe-disable configuration in pause.dat
function xidx(c,   p) {
	if (!(c in XI)) {
		XI[c] = ++nxi
		split(c, p, SUBSEP)
		XLAB[nxi] = p[1] " vCPU" (p[1] == 1 ? "" : "s") "\\n" p[2] " pending" (p[3] == "busy" ? "\\nbusy" : "")
	}
	return XI[c]
}

function esc(s) {
	gsub(/\\/, "\\\\", s)
	gsub(/"/, "\\\"", s)
	return s
}
function jstr(s) { return (s == "" || s == "null") ? "null" : "\"" esc(s) "\"" }
function jnum(x, d) {
	if (x == "null" || x == "") return "null"
	return sprintf("%." d "f", x)
}
function jraw(x) { return (x == "") ? "null" : x }
function us(ns) { return (ns == "null") ? "null" : ns / 1000 }
# median/min/max of a list of nanoseconds, in microseconds, as JSON
function jus(name) {
	return sprintf("{\"median\": %s, \"min\": %s, \"max\": %s}",
		jnum(us(median(name)), 1), jnum(us(minof(name)), 1), jnum(us(maxof(name)), 1))
}
function jcount(name) {
	return sprintf("{\"median\": %s, \"max\": %s}", jnum(median(name), 1), jnum(maxof(name), 0))
}
# "median / max" in microseconds, for the table
function tus(name,   m, x) {
	m = median(name); x = maxof(name)
	if (m == "null") return sprintf("%17s", "-")
	return sprintf("%8.0f /%7.0f", m / 1000, x / 1000)
}
function verdict(met) { return met == "" ? "not measured" : (met ? "MET" : "MISSED") }
function jbool(met) { return met == "" ? "null" : (met ? "true" : "false") }
function cfgkey(   l) { l = ("load" in V) ? V["load"] : "paced"; return V["vcpus"] SUBSEP V["k"] SUBSEP l }

BEGIN {
	NTRC = split("xc_domain_pause xc_monitor_resume xenevtchn_notify xenevtchn_unbind munmap xc_monitor_disable xc_monitor_enable xs_write xs_read xs_rm xc_vcpu_getinfo xc_monitor_cpuid xc_domain_unpause", TRC, " ")
}

# jtrace(prefix): medians of the call trace of a configuration, as JSON
function jtrace(p,   j, o, m) {
	o = "{\"window\": " jnum(us(median(p "tr_window")), 1)
	for (j = 1; j <= NTRC; j++) {
		m = median(p "tr_" TRC[j])
		if (m == "null" || m == 0) continue
		o = o ", \"" TRC[j] "\": " jnum(us(m), 1)
	}
	return o ", \"not_in_any_call\": " jnum(us(median(p "tr_gap")), 1) ", \"before_first_pause\": " jnum(us(median(p "tr_before")), 1) "}"
}
# ttrace(prefix): the same, one line for the table
function ttrace(p,   j, o, m) {
	o = ""
	for (j = 1; j <= NTRC; j++) {
		m = median(p "tr_" TRC[j])
		if (m == "null" || m < 1000) continue
		o = o sprintf("%s %.0f, ", TRC[j], m / 1000)
	}
	return o sprintf("not in any call %.0f", median(p "tr_gap") / 1000)
}

{ tag = $1; sec = $2; kv() }

tag == "C" { for (k in V) CTX[k] = V[k] }
tag == "H" { for (k in V) HOST[k] = V[k] }

tag == "G" && ("available" in V) { CG_OFF = V["why"] }
tag == "G" && ("batch" in V) {
	b = V["batch"]
	CG[b] = 1
	n = ++CGN[b]
	CG_IT[b, n] = V["iters"]; CG_EV[b, n] = V["events"]; CG_NOT[b, n] = V["notifies"]; CG_IR[b, n] = V["ir"]
}

tag == "B" && sec == "facts" { for (k in V) FACT[k] = V[k] }
# the settings dom0 ran with win over those of this invocation (--from-raw)
tag == "B" && sec == "settings" { for (k in V) CTX[k] = V[k] }
tag == "B" && sec == "guest" {
	if (!(V["vcpus"] in GUEST)) guests[++nguests] = V["vcpus"]
	GUEST[V["vcpus"]] = ("error" in V) ? "error" : V["boot_secs"]
}
tag == "B" && sec == "phase" { PHASE[++nphase] = V["name"]; PHASE_S[nphase] = V["secs"] }
tag == "B" && sec == "unfreeze" { UNFREEZE[++nunfreeze] = V["after"] ": " V["stuck"] " vCPU(s) stuck, ring " V["ring"] ", rescue rc " V["rc"] }
tag == "B" && sec == "unrescuable" { UNFREEZE[++nunfreeze] = V["after"] " (" V["vcpus"] " vCPUs): vCPUs asleep on the dead ring, no rescue possible: guest destroyed and made again" }
tag == "B" && sec == "done" { DONE = 1 }
tag == "B" && sec == "crash" { CRASH[++ncrash] = V["name"] " (" V["vcpus"] " vCPUs) before " V["before"] ", state " V["state"] }

tag == "B" && sec == "tp" {
	# one throughput set per guest and placement of the vCPUs
	v = V["vcpus"] SUBSEP (("placement" in V) ? V["placement"] : "free"); a = V["agent"]; r = V["round"]
	if (!(v in TPV)) { TPV[v] = 1; tpv[++ntpv] = v }
	win = V["window_ns"] / 1e9
	rate = (win > 0) ? V["events"] / win : 0
	TP[v, a, r] = rate
	TPE[v, a, r] = V["events"]; TPW[v, a, r] = win; TPB[v, a, r] = V["batches"]
	TPX[v, a, r] = "exit " V["exit"] (V["signal"] != 0 ? " signal " V["signal"] : "") ((V["killed"] == 1) ? " killed" : "") ((V["early"] == 1) ? " ended early" : "")
	TPORDER[v, ++NTP[v]] = a SUBSEP r
	if (r > TPR[v]) TPR[v] = r
	push("tp" SUBSEP v SUBSEP a, rate)
	if (!(v in TPIDX)) { TPIDX[v] = ++ntpidx; TPG[ntpidx] = v; TPFIRST[ntpidx] = NTPALL + 1 }
	TPLAST[TPIDX[v]] = ++NTPALL
	printf "%d %s %s %.1f %s\n", NTPALL, a, r, rate, TPIDX[v] > (dat "/tp.dat")
}

# where the time of each safe disable / rescue went (bench-dom0's call trace)
tag == "B" && (sec == "disable" || sec == "rescue") && ("window_ns" in V) {
	c = cfgkey()
	push(sec SUBSEP c SUBSEP "tr_window", V["window_ns"])
	push(sec SUBSEP c SUBSEP "tr_gap", V["gap_ns"])
	push(sec SUBSEP c SUBSEP "tr_before", V["before_first_pause_ns"])
	for (j = 1; j <= NTRC; j++) {
		k = TRC[j]
		if (k in V) { split(V[k], pv, "/"); push(sec SUBSEP c SUBSEP "tr_" k, pv[1]) }
		else push(sec SUBSEP c SUBSEP "tr_" k, 0)
	}
	next
}

tag == "B" && (sec == "disable" || sec == "rescue") && ("run" in V) {
	c = cfgkey()
	if (!((sec, c) in CFG)) { CFG[sec, c] = 1; cfg[sec, ++ncfg[sec]] = c }
	if ("error" in V) { ERR[sec, c] = V["error"] " errno " V["errno"]; next }
	if (V["paused_ns"] == 0) ZERO++
	push(sec SUBSEP c SUBSEP "total", V["total_ns"])
	push(sec SUBSEP c SUBSEP "paused", V["paused_ns"])
	push(sec SUBSEP c SUBSEP "got", V["got"])
	if (V["rc"] != 0) FAILS[sec, c]++
	if (sec == "disable") {
		push(sec SUBSEP c SUBSEP "retries", V["retries"])
		push(sec SUBSEP c SUBSEP "answered", V["answered"])
		push(sec SUBSEP c SUBSEP "unsettled", V["unsettled"])
		OUTC[sec, c, V["outcome"]]++
		split(c, ck, SUBSEP)
		printf "%d %s %s %s %s %.1f\n", xidx(c), ck[1], ck[2], ck[3], "disable", V["paused_ns"] / 1000 > (dat "/pause.dat")
	} else {
		push(sec SUBSEP c SUBSEP "answered", V["vcpus_answered"])
		push(sec SUBSEP c SUBSEP "batches", V["batches"])
		push(sec SUBSEP c SUBSEP "stuck", V["stuck"])
	}
}

tag == "B" && sec == "bare" && ("run" in V) {
	c = cfgkey()
	if ("error" in V) { ERR["bare", c] = V["error"] " errno " V["errno"]; next }
	if (V["bare_ns"] == 0) ZERO++
	split("bare pause disable unpause resume unbind xs_write xs_rm munmap", m, " ")
	for (i = 1; i in m; i++) push("bare" SUBSEP c SUBSEP m[i], V[m[i] "_ns"])
	split(c, ck, SUBSEP)
	printf "%d %s %s %s %s %.1f\n", xidx(c), ck[1], ck[2], ck[3], "bare", V["bare_ns"] / 1000 > (dat "/pause.dat")
}

tag == "B" && sec == "stress" {
	if (V["available"] == 0) { STRESS_OFF = 1; next }
	t = V["threads"]
	if (!(t in ST)) { ST[t] = 1; st[++nst] = t }
	if ("error" in V) { STERR[t] = V["error"] " rc " V["rc"]; next }
	SRATE[t, V["mode"]] = V["per_s"]
	STH[t, V["mode"]] = V["thread_per_s"]
	SVER[t, V["mode"]] = V["verdict"]
	SRC_[t] = V["rc"]
}

END {
	nl = "\n"
	T = ""
	J = "{" nl
	J = J "  \"schema\": 1," nl
	J = J "  \"what\": \"libvmeventctl make bench (issue 6)\"," nl
	J = J "  \"commit\": " jstr(CTX["commit"]) ", \"commit_dirty\": " jraw(CTX["dirty"]) "," nl
	J = J "  \"date\": " jstr(CTX["date"]) "," nl
	J = J "  \"host\": {\"xen_version\": " jstr(FACT["xen_version"]) ", \"xen_scheduler\": " jstr(FACT["xen_scheduler"]) \
		", \"xen_pcpus\": " jraw(FACT["nr_cpus"]) ", \"dom0_kernel\": " jstr(FACT["kernel"]) ", \"dom0_vcpus\": " jraw(FACT["dom0_vcpus"]) "," nl
	J = J "           \"qemu\": " jstr(CTX["qemu"]) ", \"qemu_accelerator\": " jstr(CTX["accel"]) ", \"qemu_cpu\": " jstr(CTX["qemu_cpu"]) \
		", \"machine_cores\": " jraw(CTX["host_cores"]) ", \"machine_kernel\": " jstr(CTX["host_kernel"]) "," nl
	J = J "           \"dom0_clocksource\": " jstr(FACT["clocksource"]) ", \"dom0_clock_gettime_ns\": " jnum(FACT["gettime_ns"], 1) \
		", \"dom0_syscall_ns\": " jnum(FACT["syscall_ns"], 1) ", \"dom0_clock_reads_same_as_previous\": " jraw(FACT["same_as_previous"]) \
		", \"dom0_clock_reads\": " jraw(FACT["calls"]) ", \"dom0_pinned_to_pcpu\": " jraw(FACT["dom0_pinned_to_pcpu"]) \
		", \"timed_runs_reading_zero\": " (ZERO + 0) "," nl
	J = J "           \"run_status\": " jstr(HOST["rc"]) ", \"run_secs\": " jraw(HOST["host_secs"]) \
		", \"all_phases_done\": " (DONE ? "true" : "false") ", \"machine_cpu_used_by_others_pct\": " (HOST["others_cpu_pct"] ~ /^[0-9.]+$/ ? HOST["others_cpu_pct"] : "null") \
		", \"other_qemu_seen\": " \
		(HOST["other_qemu_seen"] == "1" ? "true" : (HOST["other_qemu_seen"] == "0" ? "false" : "null")) "}," nl
	J = J "  \"settings\": {\"throughput_window_s\": " jraw(CTX["tp_secs"]) ", \"throughput_rounds\": " jraw(CTX["tp_rounds"]) \
		", \"runs_per_config\": " jraw(CTX["runs"]) ", \"paced_guest_sleep_us\": " jraw(CTX["pace_us"]) \
		", \"stress_secs\": " jraw(CTX["stress_secs"]) ", \"callgrind_batches\": " jraw(CTX["cg_iters"]) "}," nl
	J = J "  \"note\": \"Xen 4.17 under QEMU TCG (software emulation): absolute times are not hardware times, compare the ratios. Times in microseconds unless named otherwise.\"," nl

	T = T sprintf("libvmeventctl benchmarks (make bench)  commit %s%s  %s\n", substr(CTX["commit"], 1, 12),
		CTX["dirty"] == "true" ? " + local changes" : "", CTX["date"])
	T = T sprintf("Xen %s (%s), dom0 Linux %s on %s vCPU(s), %s pCPUs; QEMU %s, accelerator %s (software emulation)\n",
		FACT["xen_version"] == "" ? "?" : FACT["xen_version"], FACT["xen_scheduler"],
		FACT["kernel"] == "" ? "?" : FACT["kernel"], FACT["dom0_vcpus"] == "" ? "?" : FACT["dom0_vcpus"],
		FACT["nr_cpus"] == "" ? "?" : FACT["nr_cpus"], CTX["qemu"], CTX["accel"])
	T = T "Absolute times are QEMU TCG times, not hardware times: the ratios are what compare.\n"
	if (HOST["other_qemu_seen"] == "1")
		T = T "WARNING: another QEMU ran on this machine during the run: its host figures are distorted.\n"
	if (HOST["others_cpu_pct"] ~ /^[0-9.]+$/ && HOST["others_cpu_pct"] > 10)
		T = T sprintf("WARNING: %s%% of this machine's CPU went to other processes during the run: host figures are disturbed.\n", HOST["others_cpu_pct"])
	if (ZERO)
		T = T sprintf("WARNING: %d timed runs read 0 ns: dom0's clock stood still in them.\n", ZERO)
	if (HOST["rc"] != "" && HOST["rc"] != "0")
		T = T "WARNING: the dom0 script ended with status " HOST["rc"] ": some figures may be missing.\n"
	if (FACT["same_as_previous"] > 0)
		T = T sprintf("WARNING: dom0's clock stood still on %s of %s reads (clocksource %s): short times are unreliable.\n",
			FACT["same_as_previous"], FACT["calls"], FACT["clocksource"])

	# ---- 1. throughput
	T = T sprintf("\n1. Event throughput: CPUID events answered per second; same guest, %s s per run, agents in turn\n", CTX["tp_secs"])
	T = T "   (headline: the first placement; see bench/README.md for why the vCPUs are pinned)\n"
	J = J "  \"throughput\": ["
	tp_met = ""
	nag = split("xen-access ours lean lean100", AG, " ")
	AGN["xen-access"] = "xen-access (Debian xen-utils-4.17)"; AGN["ours"] = "ours: vmevent-test-agent"
	AGN["lean"] = "lean agent, wait without timeout"; AGN["lean100"] = "lean agent, 100 ms wait timeout"
	AGJ["xen-access"] = "xen_access"; AGJ["ours"] = "ours"; AGJ["lean"] = "lean"; AGJ["lean100"] = "lean_timeout_100ms"
	for (i = 1; i <= ntpv; i++) {
		v = tpv[i]; split(v, vp, SUBSEP)
		J = J (i > 1 ? "," : "") nl "    {\"guest_vcpus\": " vp[1] ", \"placement\": \"" vp[2] "\", \"event\": \"cpuid\", \"window_s\": " jraw(CTX["tp_secs"]) "," nl
		J = J "     \"runs\": ["
		for (j = 1; j <= NTP[v]; j++) {
			split(TPORDER[v, j], ar, SUBSEP)
			J = J (j > 1 ? "," : "") nl sprintf("       {\"order\": %d, \"agent\": \"%s\", \"round\": %d, \"events\": %d, \"window_s\": %.3f, \"events_per_s\": %.1f, \"batches\": %s, \"ended\": \"%s\"}",
				j, ar[1], ar[2], TPE[v, ar[1], ar[2]], TPW[v, ar[1], ar[2]], TP[v, ar[1], ar[2]], jraw(TPB[v, ar[1], ar[2]]), TPX[v, ar[1], ar[2]])
		}
		J = J "]"
		T = T sprintf("   %s vCPU guest, %-24s      min     median        max   events/s\n", vp[1],
			vp[2] == "same" ? "dom0 + guest on 1 pCPU" : (vp[2] == "split" ? "dom0, guest on 2 pCPUs" : "vCPUs not pinned"))
		for (g = 1; g <= nag; g++) {
			a = AG[g]; x = "tp" SUBSEP v SUBSEP a
			if (!N[x]) continue
			J = J "," nl sprintf("     \"%s_events_per_s\": {\"min\": %s, \"median\": %s, \"max\": %s}", AGJ[a], jnum(minof(x), 1), jnum(median(x), 1), jnum(maxof(x), 1))
			T = T sprintf("   %-34s %10s %10s %10s\n", AGN[a], jnum(minof(x), 0), jnum(median(x), 0), jnum(maxof(x), 0))
		}
		for (g = 2; g <= nag; g++) {
			a = AG[g]; ra = "ratio" SUBSEP v SUBSEP a
			for (r = 1; r <= TPR[v]; r++)
				if (((v, a, r) in TP) && ((v, "xen-access", r) in TP) && TP[v, "xen-access", r] > 0)
					push(ra, TP[v, a, r] / TP[v, "xen-access", r])
			if (!N[ra]) continue
			rl = ""
			for (j = 1; j <= N[ra]; j++) rl = rl (j > 1 ? ", " : "") sprintf("%.3f", L[ra, j])
			J = J "," nl sprintf("     \"ratio_%s_over_xen_access\": {\"min\": %s, \"median\": %s, \"max\": %s, \"per_round\": [%s]}",
				AGJ[a], jnum(minof(ra), 3), jnum(median(ra), 3), jnum(maxof(ra), 3), rl)
			T = T sprintf("   %-34s %10s %10s %10s   per round: %s\n", a " / xen-access", jnum(minof(ra), 3), jnum(median(ra), 3), jnum(maxof(ra), 3), rl)
			if (i == 1 && a == "ours" && median(ra) != "null") { tp_met = (median(ra) >= 1.2); tp_med = median(ra) }
		}
		J = J "}"
	}
	J = J (ntpv ? nl "  " : "") "]," nl
	if (!ntpv) T = T "   not measured\n"

	# ---- 2. safe disable, bare
	T = T sprintf("\n2. Safe disable (vmeventctl_ring_disable), %s runs per row; microseconds, median / max\n", CTX["runs"])
	T = T "   vCPUs pending guest answered            total      pause window retries  bare pause+disable+unpause  window/bare (medians; fastest)  outcomes\n"
	J = J "  \"safe_disable\": ["
	pw_met = ""
	for (i = 1; i <= ncfg["disable"]; i++) {
		c = cfg["disable", i]; split(c, ck, SUBSEP)
		p = "disable" SUBSEP c SUBSEP; bp = "bare" SUBSEP c SUBSEP
		ratio = (median(bp "bare") != "null" && median(bp "bare") > 0 && median(p "paused") != "null") ? median(p "paused") / median(bp "bare") : "null"
		# the fastest of each: less at the mercy of a slow unpause
		ratio_min = (minof(bp "bare") != "null" && minof(bp "bare") > 0 && minof(p "paused") != "null") ? minof(p "paused") / minof(bp "bare") : "null"
		oc = ""
		for (o in OUTC) {
			split(o, oo, SUBSEP)
			if (oo[1] == "disable" && oo[2] SUBSEP oo[3] SUBSEP oo[4] == c) oc = oc (oc == "" ? "" : ",") oo[5] "=" OUTC[o]
		}
		J = J (i > 1 ? "," : "") nl sprintf("    {\"guest_vcpus\": %s, \"pending\": %s, \"guest_load\": \"%s\", \"runs\": %d, \"error\": %s,", ck[1], ck[2], ck[3], N[p "total"], jstr(ERR["disable", c])) nl
		J = J "     \"requests_read_before_disable\": " jcount(p "got") ", \"answered_by_disable\": " jcount(p "answered") ", \"retries\": " jcount(p "retries") ", \"unsettled\": " jcount(p "unsettled") "," nl
		J = J "     \"total_us\": " jus(p "total") "," nl
		J = J "     \"pause_window_us\": " jus(p "paused") "," nl
		J = J "     \"bare_pause_disable_unpause_us\": " jus(bp "bare") "," nl
		J = J "     \"calls_timed_apart_median_us\": {\"xc_domain_pause\": " jnum(us(median(bp "pause")), 1) ", \"xc_monitor_disable\": " jnum(us(median(bp "disable")), 1) \
			", \"xc_domain_unpause\": " jnum(us(median(bp "unpause")), 1) ", \"xc_monitor_resume\": " jnum(us(median(bp "resume")), 1) \
			", \"xenevtchn_unbind\": " jnum(us(median(bp "unbind")), 1) ", \"munmap_ring\": " jnum(us(median(bp "munmap")), 1) \
			", \"xs_write\": " jnum(us(median(bp "xs_write")), 1) ", \"xs_rm\": " jnum(us(median(bp "xs_rm")), 1) "}," nl
		J = J "     \"pause_window_calls_median_us\": " (N[p "tr_window"] ? jtrace(p) : "null") "," nl
		J = J "     \"pause_window_over_bare_median\": " jnum(ratio, 2) ", \"pause_window_over_bare_min\": " jnum(ratio_min, 2) ", \"outcomes\": \"" oc "\"}"
		T = T sprintf("   %5s %7s %5s %4s/%-4s %17s %17s %3s/%-3s %17s %20s %6s  %s%s\n", ck[1], ck[2], ck[3],
			jnum(median(p "answered"), 0), jnum(maxof(p "answered"), 0), tus(p "total"), tus(p "paused"),
			jnum(median(p "retries"), 0), jnum(maxof(p "retries"), 0), tus(bp "bare"),
			ratio == "null" ? "-" : sprintf("%.2fx", ratio), ratio_min == "null" ? "-" : sprintf("%.2fx", ratio_min),
			oc, ERR["disable", c] == "" ? "" : " ERROR " ERR["disable", c])
		if (ck[2] == 8 && ck[3] == "paced" && ratio != "null") { pw_met = (ratio <= 2); pw_ratio = ratio; pw_rmin = ratio_min; pw_c = c }
	}
	J = J (ncfg["disable"] ? nl "  " : "") "]," nl
	if (!ncfg["disable"]) T = T "   not measured\n"
	if (ncfg["disable"]) {
		T = T "   where each window went (medians, us, calls traced inside the library's own disable):\n"
		for (i = 1; i <= ncfg["disable"]; i++) {
			c = cfg["disable", i]; split(c, ck, SUBSEP); p = "disable" SUBSEP c SUBSEP
			if (N[p "tr_window"]) T = T sprintf("     %s vCPU(s), %s pending, %s: %s\n", ck[1], ck[2], ck[3], ttrace(p))
		}
	}
	if (pw_c != "") {
		bp = "bare" SUBSEP pw_c SUBSEP
		T = T sprintf("   the same calls on their own, outside any window (8 vCPUs, medians, us): xc_monitor_resume %.0f, xenevtchn_unbind %.0f,\n", us(median(bp "resume")), us(median(bp "unbind")))
		T = T sprintf("     munmap %.0f, xs_write %.0f, xs_rm %.0f\n", us(median(bp "munmap")), us(median(bp "xs_write")), us(median(bp "xs_rm")))
	}

	# ---- rescue
	T = T sprintf("\n   Rescue of a dead agent's guest (vmeventctl_rescue), %s runs per row; microseconds, median / max\n", CTX["runs"])
	T = T "   vCPUs pending guest answered batches            total      pause window  stuck after  failed\n"
	J = J "  \"rescue\": ["
	for (i = 1; i <= ncfg["rescue"]; i++) {
		c = cfg["rescue", i]; split(c, ck, SUBSEP)
		p = "rescue" SUBSEP c SUBSEP
		J = J (i > 1 ? "," : "") nl sprintf("    {\"guest_vcpus\": %s, \"pending\": %s, \"guest_load\": \"%s\", \"runs\": %d, \"failed_runs\": %d, \"error\": %s,", ck[1], ck[2], ck[3], N[p "total"], FAILS["rescue", c], jstr(ERR["rescue", c])) nl
		J = J "     \"requests_pending_at_death\": " jcount(p "got") ", \"vcpus_answered\": " jcount(p "answered") ", \"batches\": " jcount(p "batches") ", \"vcpus_stuck_after\": " jcount(p "stuck") "," nl
		J = J "     \"total_us\": " jus(p "total") "," nl
		J = J "     \"pause_window_us\": " jus(p "paused") "," nl
		J = J "     \"pause_window_calls_median_us\": " (N[p "tr_window"] ? jtrace(p) : "null") "}"
		T = T sprintf("   %5s %7s %5s %8s %7s %17s %17s  %11s  %6d%s\n", ck[1], ck[2], ck[3], jnum(median(p "answered"), 0), jnum(median(p "batches"), 0),
			tus(p "total"), tus(p "paused"), jnum(maxof(p "stuck"), 0), FAILS["rescue", c],
			ERR["rescue", c] == "" ? "" : " ERROR " ERR["rescue", c])
	}
	J = J (ncfg["rescue"] ? nl "  " : "") "]," nl
	if (!ncfg["rescue"]) T = T "   not measured\n"
	else {
		T = T "   where each window went (medians, us):\n"
		for (i = 1; i <= ncfg["rescue"]; i++) {
			c = cfg["rescue", i]; split(c, ck, SUBSEP); p = "rescue" SUBSEP c SUBSEP
			if (N[p "tr_window"]) T = T sprintf("     %s vCPU(s), %s pending, %s: %s\n", ck[1], ck[2], ck[3], ttrace(p))
		}
	}

	# ---- 3. notify rate
	T = T sprintf("\n3. Notify rate (xen-evtchn-stress, %s s per mode): flood of a ring's port vs dom0 loopback baseline\n", CTX["stress_secs"])
	J = J "  \"notify_rate\": {"
	nr_met = ""
	if (STRESS_OFF || !nst) {
		why = STRESS_OFF ? "xen-evtchn-stress was not on PATH in dom0: this tree does not build it yet" : "xen-evtchn-stress did not run"
		J = J "\"available\": false, \"why\": " jstr(why) "}," nl
		T = T "   not available: " why "\n"
	} else {
		J = J "\"available\": true, \"dom0_vcpus\": " jraw(FACT["dom0_vcpus"]) ", \"runs\": ["
		T = T "   threads   baseline/s      flood/s   flood/baseline   slowest flood thread / baseline per thread   verdicts\n"
		nr_met = 1
		for (i = 1; i <= nst; i++) {
			t = st[i]
			b = SRATE[t, "baseline"]; f = SRATE[t, "flood"]
			ratio = (b != "" && b != "null" && b > 0 && f != "" && f != "null") ? f / b : "null"
			worst = "null"
			if (ratio != "null" && STH[t, "flood"] != "none" && STH[t, "flood"] != "") {
				nth = split(STH[t, "flood"], th, ",")
				for (j = 1; j <= nth; j++) if (worst == "null" || th[j] + 0 < worst) worst = th[j] + 0
				worst = worst / (b / t)
			}
			if (ratio == "null" || ratio < 0.9) nr_met = 0
			J = J (i > 1 ? "," : "") nl sprintf("      {\"threads\": %s, \"baseline_per_s\": %s, \"flood_per_s\": %s, \"baseline_thread_per_s\": [%s], \"flood_thread_per_s\": [%s], \"flood_over_baseline\": %s, \"slowest_flood_thread_over_baseline_per_thread\": %s, \"verdicts\": \"baseline %s, flood %s\", \"exit\": %s, \"error\": %s}",
				t, jnum(b, 1), jnum(f, 1), STH[t, "baseline"] == "none" ? "" : STH[t, "baseline"],
				STH[t, "flood"] == "none" ? "" : STH[t, "flood"], jnum(ratio, 3), jnum(worst, 3), SVER[t, "baseline"], SVER[t, "flood"],
				jraw(SRC_[t]), jstr(STERR[t]))
			T = T sprintf("   %7s %12s %12s %16s %44s   baseline %s, flood %s%s\n", t, jnum(b, 0), jnum(f, 0),
				jnum(ratio, 3), jnum(worst, 3), SVER[t, "baseline"], SVER[t, "flood"], STERR[t] == "" ? "" : " ERROR " STERR[t])
		}
		J = J "]}," nl
	}

	# ---- 4. callgrind
	T = T "\n4. Instructions per event on the read-validate-answer path (callgrind, unit-test fake Xen, notify excluded)\n"
	J = J "  \"instructions_per_event\": {"
	cg_met = ""
	if (!(1 in CG) && !(8 in CG)) {
		J = J "\"available\": false, \"why\": " jstr(CG_OFF) "}," nl
		T = T "   not measured (" CG_OFF ")\n"
	} else {
		J = J "\"available\": true, \"counted\": \"vmeventctl_ring_answer_all, less the fake xenevtchn_notify\", \"method\": \"difference of two runs (N and 2N batches): one-time costs cancel\", \"batches\": ["
		first = 1
		for (bi = 1; bi <= 2; bi++) {
			b = (bi == 1) ? 1 : 8
			if (!(b in CG) || CGN[b] < 2) continue
			dev = CG_EV[b, 2] - CG_EV[b, 1]
			ipe = (dev > 0) ? (CG_IR[b, 2] - CG_IR[b, 1]) / dev : "null"
			npb = (CG_IT[b, 2] > 0) ? CG_NOT[b, 2] / CG_IT[b, 2] : "null"
			J = J (first ? "" : ", ") sprintf("{\"batch\": %d, \"instructions_per_event\": %s, \"notifies_per_batch\": %s, \"runs\": [{\"batches\": %d, \"events\": %d, \"instructions\": %d}, {\"batches\": %d, \"events\": %d, \"instructions\": %d}]}",
				b, jnum(ipe, 1), jnum(npb, 2), CG_IT[b, 1], CG_EV[b, 1], CG_IR[b, 1], CG_IT[b, 2], CG_EV[b, 2], CG_IR[b, 2])
			first = 0
			T = T sprintf("   batch of %d: %7.1f instructions per event (%.0f notify per batch)\n", b, ipe, npb)
			if (b == 8 && ipe != "null") { cg_met = (ipe <= 1500); cg_ipe = ipe }
		}
		J = J "]}," nl
	}

	# ---- targets
	T = T "\nTargets (measured, not asserted)\n"
	T = T sprintf("   ours/xen-access events per second >= 1.2, median     %-12s %s\n", verdict(tp_met), tp_met == "" ? "" : sprintf("%.3f", tp_med))
	T = T sprintf("   pause window, 8 pending, <= 2 x bare, medians       %-12s %s\n", verdict(pw_met), pw_met == "" ? "" : sprintf("%.2f x (fastest runs: %.2f x)", pw_ratio, pw_rmin))
	T = T sprintf("   flood >= 0.9 x baseline per thread                  %-12s\n", verdict(nr_met))
	T = T sprintf("   <= 1500 instructions per event, batch of 8          %-12s %s\n", verdict(cg_met), cg_met == "" ? "" : sprintf("%.1f", cg_ipe))
	if (nunfreeze) {
		T = T "\nGuests found frozen after an agent's teardown, rescued (or, where no rescue is possible, destroyed and made again) before the next run:\n"
		for (i = 1; i <= nunfreeze; i++) T = T "   after " UNFREEZE[i] "\n"
	}
	J = J "  \"targets\": {" nl
	J = J "    \"throughput_ours_over_xen_access_median_at_least_1_2\": {\"met\": " jbool(tp_met) ", \"value\": " jnum(tp_met == "" ? "null" : tp_med, 3) "}," nl
	J = J "    \"pause_window_8_pending_at_most_2x_bare\": {\"met\": " jbool(pw_met) ", \"value\": " jnum(pw_met == "" ? "null" : pw_ratio, 2) ", \"fastest_runs_ratio\": " jnum(pw_met == "" ? "null" : pw_rmin, 2) "}," nl
	J = J "    \"flood_at_least_0_9_baseline_per_thread\": {\"met\": " jbool(nr_met) "}," nl
	J = J "    \"at_most_1500_instructions_per_event_batch_8\": {\"met\": " jbool(cg_met) ", \"value\": " jnum(cg_met == "" ? "null" : cg_ipe, 1) "}" nl
	J = J "  }," nl
	if (ncrash) {
		T = T "\nBenchmark guests that crashed (and were created again):\n"
		for (i = 1; i <= ncrash; i++) T = T "   " CRASH[i] "\n"
	}
	J = J "  \"guest_crashes\": ["
	for (i = 1; i <= ncrash; i++) J = J (i > 1 ? ", " : "") jstr(CRASH[i])
	J = J "]," nl
	J = J "  \"frozen_after_teardown\": ["
	for (i = 1; i <= nunfreeze; i++) J = J (i > 1 ? ", " : "") jstr(UNFREEZE[i])
	J = J "]," nl
	J = J "  \"phase_secs\": {"
	for (i = 1; i <= nphase; i++) J = J (i > 1 ? ", " : "") "\"" PHASE[i] "\": " PHASE_S[i]
	J = J "}," nl
	J = J "  \"guest_boot_secs\": {"
	for (i = 1; i <= nguests; i++) J = J (i > 1 ? ", " : "") "\"" guests[i] " vCPUs\": " (GUEST[guests[i]] == "error" ? "null" : GUEST[guests[i]])
	J = J "}" nl
	J = J "}" nl
	printf "%s", J > json
	printf "%s", T > table
	# groups of the throughput plot: a line between them, a label on each
	G = ""
	for (i = 1; i <= ntpidx; i++) {
		split(TPG[i], vp, SUBSEP)
		G = G sprintf("set label %d \"%s\" at %.1f, graph 0.96 center\n", i,
			vp[2] == "same" ? "dom0 and guest on one pCPU" : (vp[2] == "split" ? "on two pCPUs" : "not pinned"),
			(TPFIRST[i] + TPLAST[i]) / 2)
		if (i > 1) G = G sprintf("set arrow %d from %.1f, graph 0 to %.1f, graph 1 nohead dt 2\n", i, TPFIRST[i] - 0.5, TPFIRST[i] - 0.5)
	}
	printf "%s", G > (dat "/tp-groups.gp")
	# x tics of the pause-window plot
	X = "set xtics ("
	for (i = 1; i <= nxi; i++) X = X (i > 1 ? ", " : "") "\"" XLAB[i] "\" " i
	printf "%s)\nset xrange [0.4:%s]\n", X, nxi + 0.6 > (dat "/pause-xtics.gp")
}
