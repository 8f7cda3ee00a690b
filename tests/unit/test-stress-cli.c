/*
 * test-stress-cli: xen-evtchn-stress's options, refusals, verdicts and
 * report, run through stress_main_io() against the fake Xen 4.17.
 *
 * What it guards: a bad command line is a usage error (2) before any Xen
 * call, and the race mode never runs without --i-know-this-is-a-test-host;
 * dom0 and PV guests are refused as SKIP (77), a missing domain or a ring
 * someone else holds as ERROR (99); every mode leaves no ring, port,
 * mapping, pause reference or record behind and says SUCCESS on a healthy
 * world, in text and in JSON that parses; what Xen does wrong (a failing
 * step, a notify that does not return, a vCPU left waiting) is a FAILURE
 * (1); SIGINT ends the run with the safe teardown and still reports; the
 * man page documents every option --help lists.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "fixture.h"
#include "stress.h"

static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;

struct run {
    int rc;
    char *out, *err;
};

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* Runs the tool with the NULL-terminated arguments after argv[0]. */
static struct run run_tool(const char *arg, ...)
{
    char *argv[32];
    struct run r = { 0, NULL, NULL };
    size_t olen, elen;
    FILE *out, *err;
    const char *a;
    va_list ap;
    int argc = 0;

    argv[argc++] = (char *)"xen-evtchn-stress";
    va_start(ap, arg);
    for ( a = arg; a && argc < 31; a = va_arg(ap, const char *) )
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;

    out = open_memstream(&r.out, &olen);
    err = open_memstream(&r.err, &elen);
    if ( !out || !err )
        tap_bail("open_memstream: %s", strerror(errno));
    r.rc = stress_main_io(argc, argv, out, err);
    fclose(out);
    fclose(err);
    /* The tool's own messages, for the test's log. */
    if ( r.err && *r.err )
        fprintf(stderr, "--- stderr of the tool:\n%s", r.err);
    return r;
}

/* A guest on a fake Xen whose vCPUs run (every faked call is a step). */
static void world(enum fake_dom_type type)
{
    fake_reset();
    if ( fake_domain_add(GUEST, type, 2, GUEST_NAME) )
        tap_bail("fake_domain_add: %s", strerror(errno));
    fake_set_autostep(1);
}

/*
 * A small JSON validator: 1 if s is exactly one JSON value.
 */
static const char *js_value(const char *p, int depth);

static const char *js_ws(const char *p)
{
    while ( *p == ' ' || *p == '\n' || *p == '\t' || *p == '\r' )
        p++;
    return p;
}

static const char *js_string(const char *p)
{
    if ( *p++ != '"' )
        return NULL;
    while ( *p && *p != '"' )
    {
        if ( (unsigned char)*p < 0x20 )
            return NULL;
        if ( *p == '\\' )
        {
            p++;
            if ( *p == 'u' )
            {
                int i;

                for ( i = 1; i <= 4; i++ )
                    if ( !isxdigit((unsigned char)p[i]) )
                        return NULL;
                p += 4;
            }
            else if ( !strchr("\"\\/bfnrt", *p) || !*p )
                return NULL;
        }
        p++;
    }
    return *p == '"' ? p + 1 : NULL;
}

static const char *js_number(const char *p)
{
    const char *s = p;

    if ( *p == '-' )
        p++;
    if ( !isdigit((unsigned char)*p) )
        return NULL;
    if ( *p == '0' )
        p++;
    else
        while ( isdigit((unsigned char)*p) )
            p++;
    if ( *p == '.' )
    {
        p++;
        if ( !isdigit((unsigned char)*p) )
            return NULL;
        while ( isdigit((unsigned char)*p) )
            p++;
    }
    if ( *p == 'e' || *p == 'E' )
    {
        p++;
        if ( *p == '+' || *p == '-' )
            p++;
        if ( !isdigit((unsigned char)*p) )
            return NULL;
        while ( isdigit((unsigned char)*p) )
            p++;
    }
    return p > s ? p : NULL;
}

static const char *js_value(const char *p, int depth)
{
    if ( depth > 32 )
        return NULL;
    p = js_ws(p);
    if ( *p == '{' || *p == '[' )
    {
        char close = *p == '{' ? '}' : ']';
        int obj = *p == '{';

        p = js_ws(p + 1);
        if ( *p == close )
            return p + 1;
        for ( ;; )
        {
            if ( obj )
            {
                p = js_string(js_ws(p));
                if ( !p )
                    return NULL;
                p = js_ws(p);
                if ( *p++ != ':' )
                    return NULL;
            }
            p = js_value(p, depth + 1);
            if ( !p )
                return NULL;
            p = js_ws(p);
            if ( *p == close )
                return p + 1;
            if ( *p++ != ',' )
                return NULL;
        }
    }
    if ( *p == '"' )
        return js_string(p);
    if ( !strncmp(p, "true", 4) )
        return p + 4;
    if ( !strncmp(p, "false", 5) )
        return p + 5;
    if ( !strncmp(p, "null", 4) )
        return p + 4;
    return js_number(p);
}

static int json_valid(const char *s)
{
    const char *end = s ? js_value(s, 0) : NULL;

    return end && !*js_ws(end);
}

/* The unsigned number after the first occurrence of key (e.g. "\"total\": "). */
static long long json_num_after(const char *s, const char *key)
{
    const char *p = s ? strstr(s, key) : NULL;

    return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

static int has(const char *s, const char *needle)
{
    return s && strstr(s, needle) != NULL;
}

/* 1 if the fake world is as clean as we found it. */
static int nothing_left(void)
{
    return fx_nothing_left() && fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 0 &&
           fake_pause_count(GUEST) == 0 && fake_open_xc_handles() == 0 &&
           fake_open_evtchn_handles() == 0 && fake_open_xs_handles() == 0;
}

/*
 * Usage errors.
 */

static void expect_usage(const char *name, const char *needle, struct run r)
{
    if ( !tap_ok(r.rc == STRESS_EXIT_USAGE && has(r.err, needle), name) )
        tap_diag("  exit %d, stderr: %s", r.rc, r.err ? r.err : "(none)");
    run_free(&r);
}

static void test_usage_errors(void)
{
    struct stress_opts o;
    struct run r;
    char *argv[8];
    FILE *devnull = fopen("/dev/null", "w");

    fake_reset();
    expect_usage("no mode: usage error", "no mode given", run_tool(NULL));
    expect_usage("unknown mode", "unknown mode 'flod'", run_tool("flod", "5", NULL));
    expect_usage("a mode given twice", "given twice", run_tool("flood,flood", "5", NULL));
    expect_usage("empty mode in a list", "unknown mode", run_tool("flood,", "5", NULL));
    expect_usage("--duration 0", "--duration '0'", run_tool("-d", "0", "baseline", NULL));
    expect_usage("--duration -1", "--duration '-1'", run_tool("--duration", "-1", "baseline", NULL));
    expect_usage("--duration 3601", "at most 3600", run_tool("--duration=3601", "baseline", NULL));
    expect_usage("--duration abc", "give seconds", run_tool("-d", "abc", "baseline", NULL));
    expect_usage("--count -1", "--count '-1'", run_tool("-n", "-1", "baseline", NULL));
    expect_usage("--count 1x", "--count '1x'", run_tool("--count", "1x", "baseline", NULL));
    expect_usage("--threads 65", "--threads '65'", run_tool("-t", "65", "baseline", NULL));
    expect_usage("--hold-ms 10001", "--hold-ms", run_tool("--hold-ms", "10001", "safe", "5", NULL));
    expect_usage("--stuck-secs 0", "--stuck-secs", run_tool("--stuck-secs", "0", "baseline", NULL));
    expect_usage("unknown option", "unknown option '--bogus'", run_tool("--bogus", "baseline", NULL));
    expect_usage("option without its value", "needs a value", run_tool("baseline", "-d", NULL));
    expect_usage("flood without a domain", "need a DOMAIN", run_tool("flood", NULL));
    expect_usage("--threads 0 with flood", "--threads 0", run_tool("-t", "0", "flood", "5", NULL));
    expect_usage("too many arguments", "too many arguments", run_tool("flood", "5", "6", NULL));
    tap_is(fake_call_count("xc_interface_open"), 0, "usage errors touch no Xen interface");

    r = run_tool("--help", NULL);
    tap_ok(r.rc == 0 && has(r.out, "Usage: xen-evtchn-stress") && has(r.out, "--i-know-this-is-a-test-host"),
           "--help: usage on stdout, exit 0");
    run_free(&r);

    /* The parser itself: modes keep their order, the domain follows. */
    argv[0] = (char *)"xen-evtchn-stress";
    argv[1] = (char *)"-t";
    argv[2] = (char *)"0";
    argv[3] = (char *)"safe,race";
    argv[4] = (char *)"--i-know-this-is-a-test-host";
    argv[5] = (char *)"guest";
    argv[6] = NULL;
    tap_ok(stress_parse(6, argv, &o, devnull) == 0 && o.nr_modes == 2 &&
           o.modes[0] == STRESS_MODE_SAFE && o.modes[1] == STRESS_MODE_RACE &&
           o.threads == 0 && o.test_host && o.domain && !strcmp(o.domain, "guest") &&
           o.duration_s == STRESS_DEFAULT_DURATION_S && o.count == 0,
           "parse: safe,race with --threads 0 and options after the mode");
    argv[1] = (char *)"baseline";
    argv[2] = NULL;
    tap_ok(stress_parse(2, argv, &o, devnull) == 0 && o.threads >= 1 && !o.domain,
           "parse: baseline alone needs no domain; threads default to the online CPUs");
    fclose(devnull);
}

static void test_race_needs_test_host(void)
{
    struct run r;

    world(FAKE_DOM_PVH);
    r = run_tool("race", "5", NULL);
    tap_ok(r.rc == STRESS_EXIT_USAGE && has(r.err, "--i-know-this-is-a-test-host") &&
           has(r.err, "crash the hypervisor"),
           "race without --i-know-this-is-a-test-host: refused, says why");
    tap_ok(fake_call_count("xc_interface_open") == 0 && fake_call_count("xc_monitor_enable") == 0,
           "  ... before any Xen call");
    run_free(&r);
    r = run_tool("flood,race", "5", NULL);
    tap_ok(r.rc == STRESS_EXIT_USAGE && fake_call_count("xc_monitor_enable") == 0,
           "race in a list of modes: the whole run is refused");
    run_free(&r);
}

/*
 * Refused targets.
 */

static void test_refusals(void)
{
    vmeventctl_handle *h;
    vmeventctl_ring *ring;
    struct run r;

    world(FAKE_DOM_PVH);
    r = run_tool("-j", "flood", "0", NULL);
    tap_ok(r.rc == STRESS_EXIT_SKIP && has(r.err, "domain 0: check: refused") &&
           has(r.out, "\"verdict\": \"SKIP\"") && json_valid(r.out),
           "dom0: SKIP, named with the step, JSON report still printed");
    tap_is(fake_call_count("xc_monitor_enable"), 0, "  ... no enable tried");
    run_free(&r);

    r = run_tool("baseline", "0", NULL);
    tap_ok(r.rc == STRESS_EXIT_SKIP, "dom0 as the domain of a baseline run: SKIP too");
    run_free(&r);

    world(FAKE_DOM_PV);
    r = run_tool("-t", "1", "safe", GUEST_NAME, NULL);
    tap_ok(r.rc == STRESS_EXIT_SKIP && has(r.err, "domain 5: check: refused: a PV guest") &&
           has(r.out, "verdict: SKIP"),
           "PV guest, by name: SKIP, says it is PV");
    tap_is(fake_call_count("xc_monitor_enable"), 0, "  ... no enable tried");
    run_free(&r);

    world(FAKE_DOM_PVH);
    r = run_tool("-t", "1", "flood", "7", NULL);
    tap_ok(r.rc == STRESS_EXIT_ERROR && has(r.err, "domain 7: lookup: no such domain"),
           "missing domain id: ERROR, no such domain");
    run_free(&r);
    r = run_tool("-t", "1", "flood", "nosuchguest", NULL);
    tap_ok(r.rc == STRESS_EXIT_ERROR && has(r.err, "no domain has that name"),
           "missing domain name: ERROR");
    run_free(&r);

    /* A ring held by a live agent: this process, through the library. */
    h = fx_open();
    ring = vmeventctl_ring_enable(h, GUEST, VMEVENTCTL_RING_MONITOR, 0);
    if ( !ring )
        tap_bail("enable: %s", strerror(errno));
    r = run_tool("-t", "1", "flood", "5", NULL);
    tap_ok(r.rc == STRESS_EXIT_ERROR && has(r.err, "owned by a live agent, pid"),
           "ring owned by a live agent: ERROR, names its pid");
    tap_ok(fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 1 &&
           fake_call_count("xc_monitor_enable") == 1,
           "  ... its ring untouched");
    run_free(&r);
    vmeventctl_ring_disable(ring, 0, NULL);
    vmeventctl_close(h);

    fx_dead_agent(2, 1, 0);
    fake_set_autostep(1);
    r = run_tool("-t", "1", "safe", "5", NULL);
    tap_ok(r.rc == STRESS_EXIT_ERROR && has(r.err, "left by a dead agent") &&
           has(r.err, "xen-vmevent-drain"),
           "ring of a dead agent: ERROR, points at xen-vmevent-drain");
    run_free(&r);

    fx_dead_agent(2, 0, 0);
    fake_set_autostep(1);
    r = run_tool("-t", "1", "safe", "5", NULL);
    tap_ok(r.rc == STRESS_EXIT_ERROR && has(r.err, "no libvmeventctl ownership record"),
           "ring of another tool (no record): ERROR");
    run_free(&r);

    /* EBUSY at enable: someone enabled a ring between our check and us. */
    world(FAKE_DOM_PVH);
    fake_fail_func("xc_monitor_enable", 1, EBUSY);
    r = run_tool("-t", "1", "-n", "10", "flood", "5", NULL);
    tap_ok(r.rc == STRESS_EXIT_ERROR && has(r.out, "another agent enabled one"),
           "EBUSY from xc_monitor_enable: ERROR, says another agent has the ring");
    fake_fail_clear();
    run_free(&r);
    tap_ok(nothing_left(), "  ... nothing left");

    /* No Xen at all. */
    world(FAKE_DOM_PVH);
    fake_fail_func("xc_interface_open", 0, ENOENT);
    r = run_tool("-t", "1", "flood", "5", NULL);
    tap_ok(r.rc == STRESS_EXIT_SKIP && has(r.out, "not dom0 of a Xen host"),
           "no /dev/xen/privcmd: SKIP");
    fake_fail_clear();
    run_free(&r);
}

/*
 * Runs against a healthy fake world.
 */

static void test_flood(void)
{
    struct run r;

    world(FAKE_DOM_PVH);
    r = run_tool("-t", "1", "-n", "500", "--json", "flood", "5", NULL);
    tap_ok(r.rc == STRESS_EXIT_SUCCESS, "flood, 1 thread, 500 notifies: exit 0");
    if ( !tap_ok(json_valid(r.out), "  ... the JSON report parses") )
        tap_diag("  %s", r.out ? r.out : "(none)");
    tap_ok(has(r.out, "\"verdict\": \"SUCCESS\"") && has(r.out, "\"exit_status\": 0"),
           "  ... verdict SUCCESS, exit_status 0");
    tap_is(json_num_after(r.out, "\"total\": "), 500, "  ... notifies.total is the count");
    tap_ok(has(r.out, "\"stopped_by\": \"count\"") && has(r.out, "\"remote_domain\": 5") &&
           has(r.out, "\"latency_ns\": {\"p50\": ") && has(r.out, "\"per_thread\": [{\"thread\": 0"),
           "  ... stopped by the count; port, latency and per-thread keys there");
    tap_ok(has(r.out, "\"check\": \"fresh_ring\", \"verdict\": \"SUCCESS\"") &&
           has(r.out, "\"check\": \"dom0_channels\", \"verdict\": \"SUCCESS\"") &&
           has(r.out, "\"check\": \"guest\", \"verdict\": \"SUCCESS\""),
           "  ... health checks ran and passed");
    {
        struct fake_ring_stats st;

        fake_ring_stats(GUEST, &st);
        tap_ok(st.notify_resumes >= 500, "  ... each notify reached the ring's callback in the fake");
    }
    tap_ok(nothing_left(), "  ... nothing left: no ring, port, mapping, pause, record or handle");
    run_free(&r);

    /* Two threads sharing the handle, in text. */
    world(FAKE_DOM_PVH);
    r = run_tool("-t", "2", "-n", "301", "flood", GUEST_NAME, NULL);
    tap_ok(r.rc == 0 && has(r.out, "== flood:") && has(r.out, "notifies   301 ") &&
           has(r.out, "verdict: SUCCESS"),
           "flood, 2 threads, by name, text report: SUCCESS, 301 notifies in all");
    tap_ok(nothing_left(), "  ... nothing left");
    run_free(&r);

    /* A duration instead of a count. */
    world(FAKE_DOM_PVH);
    r = run_tool("-t", "1", "-d", "0.3", "-j", "flood", "5", NULL);
    tap_ok(r.rc == 0 && has(r.out, "\"stopped_by\": \"duration\"") &&
           json_num_after(r.out, "\"total\": ") > 0,
           "flood for 0.3 s: stopped by the duration, notified");
    run_free(&r);
}

static void test_baseline(void)
{
    struct run r;

    world(FAKE_DOM_PVH);
    r = run_tool("-t", "2", "-n", "200", "-j", "baseline", NULL);
    tap_ok(r.rc == 0 && json_valid(r.out) && has(r.out, "\"domain\": null") &&
           has(r.out, "\"remote_domain\": 0") && json_num_after(r.out, "\"total\": ") == 200,
           "baseline without a domain: dom0 loopback, 200 notifies, SUCCESS");
    tap_ok(!has(r.out, "\"check\": \"guest\""), "  ... no guest checks without a guest");
    tap_ok(nothing_left(), "  ... loopback ports unbound, handles closed");
    run_free(&r);
}

static void test_safe_and_race(void)
{
    struct run r;

    world(FAKE_DOM_PVH);
    /* -d 120: the count, not the default 5 s, must stop these runs, even under valgrind. */
    r = run_tool("-t", "2", "-n", "25", "-d", "120", "--hold-ms", "1", "-j", "safe", "5", NULL);
    tap_ok(r.rc == 0 && json_valid(r.out) && has(r.out, "\"verdict\": \"SUCCESS\""),
           "safe, 25 cycles, 2 threads: SUCCESS, JSON parses");
    if ( !tap_ok(has(r.out, "\"cycles\": {\"done\": 25") && has(r.out, "{\"phase\": \"unbound\"") &&
                 has(r.out, "\"landed_during\": 0") && has(r.out, "\"stopped_by\": \"count\""),
                 "  ... 25 cycles, stopped by the count, phases reported, nothing landed during the disable") )
        fprintf(stderr, "--- the report:\n%s", r.out);
    tap_ok(fake_call_count("xc_monitor_enable") >= 25 && fake_call_count("xc_domain_pause") >= 25,
           "  ... every cycle enabled and paused");
    tap_ok(nothing_left(), "  ... nothing left");
    run_free(&r);

    world(FAKE_DOM_PVH);
    r = run_tool("-t", "2", "-n", "25", "-d", "120", "--hold-ms", "1", "--i-know-this-is-a-test-host", "-j", "race",
                 "5", NULL);
    tap_ok(r.rc == 0 && json_valid(r.out) && has(r.out, "\"cycles\": {\"done\": 25") &&
           has(r.out, "{\"phase\": \"disabled\""),
           "race with --i-know-this-is-a-test-host, 25 cycles: the fake survives it");
    tap_ok(nothing_left(), "  ... nothing left");
    run_free(&r);

    world(FAKE_DOM_PVH);
    r = run_tool("-t", "0", "-n", "5", "--hold-ms", "2", "safe", "5", NULL);
    tap_ok(r.rc == 0 && has(r.out, "cycles     5 "), "safe with no sender, holding 2 ms: 5 cycles");
    run_free(&r);
}

static void test_all_modes(void)
{
    struct run r;

    world(FAKE_DOM_PVH);
    r = run_tool("-t", "1", "-n", "40", "--i-know-this-is-a-test-host", "--json",
                 "baseline,flood,safe,race", "5", NULL);
    tap_ok(r.rc == 0 && json_valid(r.out), "baseline,flood,safe,race in one run: SUCCESS, JSON parses");
    tap_ok(!has(r.out, "\"flood_vs_baseline\": null") && has(r.out, "\"race_vs_safe\": {\"cycles_per_s\""),
           "  ... flood/baseline ratio and race/safe comparison reported");
    run_free(&r);

    world(FAKE_DOM_PVH);
    r = run_tool("-t", "1", "-n", "40", "--i-know-this-is-a-test-host", "baseline,flood,safe,race",
                 "5", NULL);
    tap_ok(r.rc == 0 && has(r.out, "== flood/baseline notify rate: ") && has(r.out, "== race vs safe: "),
           "  ... and in text");
    tap_ok(nothing_left(), "  ... nothing left");
    run_free(&r);
}

/*
 * What Xen does wrong.
 */

static void test_step_failure(void)
{
    struct run r;

    world(FAKE_DOM_PVH);
    fake_fail_func("xc_monitor_disable", 3, EBUSY);
    r = run_tool("-t", "1", "-n", "10", "safe", "5", NULL);
    tap_ok(r.rc == STRESS_EXIT_FAILURE && has(r.out, "cycle 2: xc_monitor_disable failed: Device or resource busy"),
           "xc_monitor_disable refusing in cycle 2: FAILURE naming the cycle and the step");
    fake_fail_clear();
    tap_ok(nothing_left(), "  ... the teardown still took the ring down");
    run_free(&r);

    /* A notify failing on a bound port. */
    world(FAKE_DOM_PVH);
    fake_fail_func("xenevtchn_notify", 7, EIO);
    r = run_tool("-t", "1", "-n", "50", "-j", "flood", "5", NULL);
    tap_ok(r.rc == STRESS_EXIT_FAILURE && has(r.out, "1 of 50 notifies on a bound port failed (EIO 1)") &&
           has(r.out, "\"errors\": {\"EIO\": 1}"),
           "a notify failing in flood: FAILURE, counted by errno");
    fake_fail_clear();
    run_free(&r);
}

static int leave_one_waiting;

static void put_request_once(const char *fn, void *arg)
{
    vm_event_request_t tmpl;

    (void)arg;
    /* A notify of the flood's, not of the pre-flight loopback check. */
    if ( !leave_one_waiting || strcmp(fn, "xenevtchn_notify") ||
         fake_ring_exists(GUEST, FAKE_RING_MONITOR) != 1 )
        return;
    leave_one_waiting = 0;
    /* A request from a source the tool never turns on (guest request). */
    memset(&tmpl, 0, sizeof(tmpl));
    tmpl.reason = VM_EVENT_REASON_GUEST_REQUEST;
    fake_vcpu_event_ex(GUEST, 1, &tmpl, 1);
}

static void test_stuck_vcpu(void)
{
    struct run r;

    /* Before the run: vCPUs that never run are the environment's problem. */
    fake_reset();
    fake_domain_add(GUEST, FAKE_DOM_PVH, 2, GUEST_NAME);
    r = run_tool("-t", "1", "-n", "10", "flood", "5", NULL);
    tap_ok(r.rc == STRESS_EXIT_ERROR && has(r.out, "before the first mode: guest: 2 of 2 online vCPU(s) stuck"),
           "vCPUs stuck before the run: ERROR from the pre-flight checks");
    tap_is(fake_call_count("xc_monitor_enable"), 0, "  ... no ring enabled");
    run_free(&r);

    /* During the run: a vCPU left waiting on the ring we disabled. */
    world(FAKE_DOM_PVH);
    leave_one_waiting = 1;
    fake_set_call_hook(put_request_once, NULL);
    r = run_tool("-t", "1", "-n", "20", "-j", "flood,safe", "5", NULL);
    fake_set_call_hook(NULL, NULL);
    tap_ok(r.rc == STRESS_EXIT_FAILURE && has(r.out, "after flood: guest: 1 of 2 online vCPU(s) stuck (vCPU 1"),
           "a vCPU left waiting for a reply after flood: FAILURE, names the vCPU");
    tap_ok(has(r.out, "\"mode\": \"safe\", \"ran\": false") && has(r.out, "an earlier mode left the host unfit"),
           "  ... later modes not run on a damaged host");
    tap_ok(json_valid(r.out), "  ... JSON still parses");
    run_free(&r);

    /* The domain left paused. */
    world(FAKE_DOM_PVH);
    fake_fail_func("xc_domain_unpause", 0, EPERM);
    r = run_tool("-t", "1", "-n", "3", "safe", "5", NULL);
    fake_fail_clear();
    tap_ok(r.rc == STRESS_EXIT_FAILURE && has(r.out, "left paused by the controller"),
           "unpause refused: FAILURE, the pause check says the domain is left paused");
    run_free(&r);
}

static int sleep_in_notify;

static void sleep_once(const char *fn, void *arg)
{
    struct timespec ts = { 1, 200000000L };

    (void)arg;
    if ( !sleep_in_notify || strcmp(fn, "xenevtchn_notify") ||
         fake_ring_exists(GUEST, FAKE_RING_MONITOR) != 1 )
        return;
    sleep_in_notify = 0;
    nanosleep(&ts, NULL);
}

static void test_hang(void)
{
    struct timespec settle = { 0, 500000000L };
    struct run r;

    world(FAKE_DOM_PVH);
    sleep_in_notify = 1;
    fake_set_call_hook(sleep_once, NULL);
    r = run_tool("-t", "1", "-d", "3", "--stuck-secs", "0.3", "-j", "flood", "5", NULL);
    tap_ok(r.rc == STRESS_EXIT_FAILURE && has(r.out, "sender 0 has been inside xenevtchn_notify for") &&
           has(r.out, "\"stopped_by\": \"hang\""),
           "a notify that does not return within --stuck-secs: FAILURE, a hang, names the call");
    tap_ok(json_valid(r.out), "  ... JSON still parses");
    run_free(&r);
    /* The abandoned sender finishes its call and leaves. */
    nanosleep(&settle, NULL);
    fake_set_call_hook(NULL, NULL);
}

static int interrupt_after;

static void interrupt_hook(const char *fn, void *arg)
{
    (void)arg;
    if ( strcmp(fn, "xenevtchn_notify") || !interrupt_after ||
         fake_ring_exists(GUEST, FAKE_RING_MONITOR) != 1 || --interrupt_after )
        return;
    /* To the process: the main thread, which alone takes SIGINT, handles it. */
    kill(getpid(), SIGINT);
}

static void test_sigint(void)
{
    struct run r;

    signal(SIGINT, SIG_IGN);
    world(FAKE_DOM_PVH);
    interrupt_after = 100;
    fake_set_call_hook(interrupt_hook, NULL);
    r = run_tool("-t", "1", "-d", "20", "-j", "flood,safe", "5", NULL);
    fake_set_call_hook(NULL, NULL);
    tap_ok(r.rc == 0 && has(r.out, "\"stopped_by\": \"signal\"") && has(r.out, "\"interrupted\": true"),
           "SIGINT during flood: the run stops, the report says so");
    tap_ok(has(r.out, "\"mode\": \"safe\", \"ran\": false, \"verdict\": \"SKIP\", \"reason\": \"interrupted\""),
           "  ... the next mode is not run");
    tap_ok(has(r.out, "\"check\": \"ring\", \"verdict\": \"SUCCESS\"") && nothing_left(),
           "  ... the ring was taken down safely; nothing left");
    run_free(&r);
}

/*
 * The man page documents what --help lists.
 */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long n;

    if ( !f )
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t)n + 1);
    if ( buf && fread(buf, 1, (size_t)n, f) != (size_t)n )
    {
        free(buf);
        buf = NULL;
    }
    if ( buf )
        buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_man_page(void)
{
    static const char *const tries[] = { "/man/xen-evtchn-stress.8", "/../man/xen-evtchn-stress.8" };
    const char *srcdir = getenv("srcdir");
    char path[512], *man = NULL, *help = NULL, *p;
    size_t len;
    unsigned int i, missing = 0;
    FILE *f;

    for ( i = 0; i < 2 && !man; i++ )
    {
        snprintf(path, sizeof(path), "%s%s", srcdir ? srcdir : ".", tries[i]);
        man = read_file(path);
    }
    if ( !man )
    {
        tap_ok(1, "man page not found from here # SKIP set srcdir");
        return;
    }
    f = open_memstream(&help, &len);
    stress_usage(f);
    fclose(f);
    for ( p = help; (p = strstr(p, "--")); )
    {
        char opt[64];
        size_t n = 2;

        while ( (isalnum((unsigned char)p[n]) || p[n] == '-') && n < sizeof(opt) - 1 )
            n++;
        memcpy(opt, p, n);
        opt[n] = '\0';
        p += n;
        if ( n <= 2 )
            continue;
        {
            /* roff writes every '-' of an option as '\-'. */
            char want[160];
            size_t w = 0, k;

            for ( k = 0; opt[k] && w < sizeof(want) - 3; k++ )
            {
                if ( opt[k] == '-' )
                    want[w++] = '\\';
                want[w++] = opt[k];
            }
            want[w] = '\0';
            if ( !strstr(man, want) )
            {
                tap_diag("  %s is in --help but not in the man page (as %s)", opt, want);
                missing++;
            }
        }
    }
    for ( i = 0; i < STRESS_NR_MODES; i++ )
    {
        char want[64];

        snprintf(want, sizeof(want), ".B %s", stress_mode_name((enum stress_mode)i));
        if ( !strstr(man, want) )
        {
            tap_diag("  mode %s not described in the man page", stress_mode_name((enum stress_mode)i));
            missing++;
        }
    }
    for ( i = 0; i < STRESS_NR_CHECKS; i++ )
    {
        char want[64];
        size_t w = 0, k;
        const char *n = stress_check_names[i];

        for ( k = 0; n[k] && w < sizeof(want) - 3; k++ )
        {
            if ( n[k] == '_' )
                want[w++] = '\\', want[w++] = '(', want[w++] = 'u', want[w++] = 'l';
            else
                want[w++] = n[k];
        }
        want[w] = '\0';
        if ( !strstr(man, n) && !strstr(man, want) )
        {
            tap_diag("  health check %s not described in the man page", n);
            missing++;
        }
    }
    tap_is(missing, 0, "the man page names every option, mode and health check");
    free(help);
    free(man);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    stress_xen_call_lock = &fake_lock;

    test_usage_errors();
    test_race_needs_test_host();
    test_refusals();
    test_flood();
    test_baseline();
    test_safe_and_race();
    test_all_modes();
    test_step_failure();
    test_stuck_vcpu();
    test_hang();
    test_sigint();
    test_man_page();

    fake_reset();
    return tap_done();
}
