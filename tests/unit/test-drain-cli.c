/*
 * test-drain-cli: xen-vmevent-drain, run as drain_main() with argv arrays
 * against the fake Xen 4.17, its stdout and stderr captured.  It checks
 * the command an administrator runs on a frozen guest: each exit status
 * (man/xen-vmevent-drain.8), that refusals and errors change nothing, that
 * a dead agent's guest runs again, that --dry-run only reads, that a live
 * agent is asked to stop with SIGTERM, that the JSON parses, and that a
 * signal during a rescue lets the rescue finish.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "drain.h"

#define MAX_ARGS 16

static char *out, *err;   /* what the last run printed */

static char *slurp(FILE *f)
{
    long len;
    char *buf;

    fflush(f);
    len = ftell(f);
    if ( len < 0 )
        tap_bail("ftell: %s", strerror(errno));
    buf = malloc((size_t)len + 1);
    if ( !buf )
        tap_bail("out of memory");
    rewind(f);
    if ( fread(buf, 1, (size_t)len, f) != (size_t)len )
        tap_bail("fread: %s", strerror(errno));
    buf[len] = '\0';
    fclose(f);
    return buf;
}

/*
 * Runs drain_main() with the arguments given (NULL-terminated), stdout and
 * stderr captured into out and err.  Returns its exit status.
 */
static int run(const char *arg, ...)
{
    char *argv[MAX_ARGS + 2];
    int argc = 0, saved_out, saved_err, rc;
    FILE *fo = tmpfile(), *fe = tmpfile();
    va_list ap;

    if ( !fo || !fe )
        tap_bail("tmpfile: %s", strerror(errno));
    argv[argc++] = (char *)"xen-vmevent-drain";
    va_start(ap, arg);
    for ( ; arg && argc <= MAX_ARGS; arg = va_arg(ap, const char *) )
        argv[argc++] = (char *)arg;
    va_end(ap);
    argv[argc] = NULL;

    free(out);
    free(err);
    fflush(stdout);
    fflush(stderr);
    saved_out = dup(STDOUT_FILENO);
    saved_err = dup(STDERR_FILENO);
    dup2(fileno(fo), STDOUT_FILENO);
    dup2(fileno(fe), STDERR_FILENO);

    rc = drain_main(argc, argv);

    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, STDOUT_FILENO);
    dup2(saved_err, STDERR_FILENO);
    close(saved_out);
    close(saved_err);
    out = slurp(fo);
    err = slurp(fe);
    return rc;
}

/* Shows what the run printed when a check about it fails. */
static void show_run(void)
{
    char *line, *save = NULL, *copy;

    copy = strdup(out);
    for ( line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save) )
        tap_diag("  stdout: %s", line);
    free(copy);
    copy = strdup(err);
    for ( line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save) )
        tap_diag("  stderr: %s", line);
    free(copy);
}

static void expect_rc(int rc, int want, const char *name)
{
    tap_is(rc, want, name);
    if ( rc != want )
        show_run();
}

static void expect_in(const char *text, const char *what, const char *name)
{
    if ( !tap_ok(strstr(text, what) != NULL, name) )
    {
        tap_diag("  expected to find: %s", what);
        show_run();
    }
}

/*
 * Checks JSON with python3: every non-empty line of text must parse, and
 * expr (Python, with objs the list of objects and d the first) must hold.
 * Returns 1 or 0, or -1 when python3 is not there.
 */
static int json_check(const char *text, const char *expr)
{
    static int have_python = -1;
    char data[] = "/tmp/test-drain-cli-json-XXXXXX";
    char script[] = "/tmp/test-drain-cli-py-XXXXXX";
    char cmd[256];
    FILE *f;
    int fd, rc;

    if ( have_python < 0 )
        have_python = system("command -v python3 >/dev/null 2>&1") == 0;
    if ( !have_python )
        return -1;

    fd = mkstemp(data);
    if ( fd < 0 || !(f = fdopen(fd, "w")) )
        tap_bail("mkstemp: %s", strerror(errno));
    fputs(text, f);
    fclose(f);
    fd = mkstemp(script);
    if ( fd < 0 || !(f = fdopen(fd, "w")) )
        tap_bail("mkstemp: %s", strerror(errno));
    fprintf(f,
            "import json, sys\n"
            "objs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]\n"
            "assert objs, 'no JSON object'\n"
            "d = objs[0]\n"
            "assert (%s), objs\n", expr);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "python3 %s %s 1>&2", script, data);
    fflush(stdout);
    rc = system(cmd);
    unlink(data);
    unlink(script);
    return rc == 0;
}

static void expect_json(const char *expr, const char *name)
{
    int ok = json_check(out, expr);

    /* scripts/deps installs python3: a check that cannot run fails. */
    if ( ok < 0 )
    {
        tap_ok(0, name);
        tap_diag("  python3 not found: the JSON cannot be checked (scripts/deps installs it)");
        return;
    }
    if ( !tap_ok(ok, name) )
    {
        tap_diag("  expected: %s", expr);
        show_run();
    }
}

/* Nothing Xen-side changed by a run that must change nothing. */
struct snapshot {
    unsigned int pauses, disables, enables, unpauses;
    int ring, pause_count, waiting;
};

static void snap(struct snapshot *s, unsigned int nr_vcpus)
{
    s->pauses = fake_call_count("xc_domain_pause");
    s->unpauses = fake_call_count("xc_domain_unpause");
    s->disables = fake_call_count("xc_monitor_disable");
    s->enables = fake_call_count("xc_monitor_enable");
    s->ring = fake_ring_exists(GUEST, FAKE_RING_MONITOR);
    s->pause_count = fake_pause_count(GUEST);
    s->waiting = (int)fx_waiting(nr_vcpus);
}

static int unchanged(const struct snapshot *s, unsigned int nr_vcpus)
{
    struct snapshot now;

    snap(&now, nr_vcpus);
    return now.pauses == s->pauses && now.unpauses == s->unpauses &&
           now.disables == s->disables && now.enables == s->enables &&
           now.ring == s->ring && now.pause_count == s->pause_count &&
           now.waiting == s->waiting;
}

/* A fake world with only the guest, no ring; vCPUs run between calls. */
static void world(unsigned int nr_vcpus)
{
    vmeventctl_close(fx_world(nr_vcpus));
    fake_set_autostep(1);
}

/* A dead agent's guest: see fx_dead_agent(). */
static void dead_agent(unsigned int nr_vcpus, int with_record, unsigned int nr_events)
{
    fx_dead_agent(nr_vcpus, with_record, nr_events);
    fake_set_autostep(1);
}

static void test_usage(void)
{
    expect_rc(run(NULL), DRAIN_EXIT_USAGE, "no command: usage error");
    expect_in(err, "no command given", "  says so");
    expect_rc(run("frobnicate", "5", NULL), DRAIN_EXIT_USAGE, "unknown command: usage error");
    expect_rc(run("status", NULL), DRAIN_EXIT_USAGE, "status without a domain: usage error");
    expect_rc(run("stop", NULL), DRAIN_EXIT_USAGE, "stop without a domain: usage error");
    expect_rc(run("stop", "5", "6", NULL), DRAIN_EXIT_USAGE, "stop with two domains: usage error");
    expect_rc(run("--force", "status", "5", NULL), DRAIN_EXIT_USAGE,
              "status --force: usage error (stop only)");
    expect_rc(run("--timeout", "abc", "stop", "5", NULL), DRAIN_EXIT_USAGE,
              "--timeout abc: usage error");
    expect_rc(run("--timeout", "0", "stop", "5", NULL), DRAIN_EXIT_USAGE,
              "--timeout 0: usage error");
    expect_rc(run("-v", "-q", "status", "5", NULL), DRAIN_EXIT_USAGE, "-v with -q: usage error");
    expect_rc(run("--no-such-option", "status", "5", NULL), DRAIN_EXIT_USAGE,
              "unknown option: usage error");
    expect_rc(run("--help", NULL), DRAIN_EXIT_SUCCESS, "--help: 0");
    expect_in(out, "Usage: xen-vmevent-drain", "  usage on stdout");
    expect_rc(run("--version", NULL), DRAIN_EXIT_SUCCESS, "--version: 0");
    expect_in(out, PACKAGE_VERSION, "  prints PACKAGE_VERSION");
    /* getopt is reset between runs: options after the command work too. */
    world(1);
    expect_rc(run("stop", "5", "--dry-run", NULL), DRAIN_EXIT_SUCCESS,
              "options after the command are read (getopt reset between runs)");
}

static void test_open_fails(void)
{
    world(1);
    fake_fail_func("xc_interface_open", 1, EACCES);
    expect_rc(run("status", "5", NULL), DRAIN_EXIT_FAILED, "Xen cannot be opened: failed");
    expect_in(err, "run as root in dom0", "  says: run as root in dom0");
    fake_fail_func("xc_interface_open", 1, EACCES);
    expect_rc(run("--json", "stop", "5", NULL), DRAIN_EXIT_FAILED, "  same with --json");
    expect_json("d['result'] == 'failed-unchanged' and d['step'] == 'open' and d['exit'] == 4",
                "  a JSON object says step open");
    fake_fail_clear();
}

static void test_status(void)
{
    struct snapshot s;

    world(2);
    expect_rc(run("status", "5", NULL), DRAIN_EXIT_SUCCESS, "status of a guest without a ring: 0");
    expect_in(out, "monitor ring:       none", "  no ring");
    expect_in(out, "stuck vCPUs:        none", "  nothing stuck");
    expect_in(out, "owner:              none", "  no owner");
    expect_rc(run("status", GUEST_NAME, NULL), DRAIN_EXIT_SUCCESS, "status by name: 0");
    expect_in(out, "domain 5 (guest):", "  names the domain by id and name");

    dead_agent(2, 1, 1);
    snap(&s, 2);
    expect_rc(run("status", "5", NULL), DRAIN_EXIT_SUCCESS, "status of a dead agent's guest: 0");
    expect_in(out, "monitor ring:       present", "  ring present");
    expect_in(out, "owner:              dead: pid 4194305 (dead-agent)", "  owner dead, named");
    expect_in(out, "vCPU 0: runnable", "  vCPU 0 runnable");
    expect_in(out, "STUCK", "  vCPU 0 marked stuck");
    expect_in(out, "stuck vCPUs:        1: vCPU 0\n", "  only vCPU 0 is stuck");
    expect_in(out, "controller paused:  no", "  not controller-paused");
    expect_in(out, "stop would:         the ring's owner, pid 4194305 (dead-agent), is dead",
              "  says what stop would do");
    tap_ok(unchanged(&s, 2), "  status changed nothing");

    expect_rc(run("--json", "status", "5", GUEST_NAME, NULL), DRAIN_EXIT_SUCCESS,
              "status --json of two domains: 0");
    expect_json("len(objs) == 2 and d['monitor_ring'] is True and d['owner']['state'] == 'dead' "
                "and d['owner']['pid'] == 4194305 and d['stuck_vcpus'] == [0] "
                "and d['vcpus'][0]['stuck'] is True and d['vcpus'][1]['stuck'] is False "
                "and d['stop_action'] == 'rescue' and d['controller_paused'] is False "
                "and objs[1]['domain'] == 'guest' and objs[1]['domid'] == 5",
                "  one object per domain, with the ring, owner and stuck vCPUs");

    /* No record: another tool's ring. */
    dead_agent(1, 0, 1);
    expect_rc(run("status", "5", NULL), DRAIN_EXIT_SUCCESS, "status of an unknown owner's ring: 0");
    expect_in(out, "owner:              none", "  no record");
    expect_in(out, "refuse without --force", "  stop needs --force");
    expect_rc(run("-j", "status", "5", NULL), DRAIN_EXIT_SUCCESS, "  and --json");
    expect_json("d['stop_action'] == 'refuse' and d['stop_needs_force'] is True",
                "  stop_needs_force is true");

    /* A controller pause hides stuck vCPUs. */
    dead_agent(1, 1, 1);
    fake_domain_set_pause_count(GUEST, 1);
    expect_rc(run("status", "5", NULL), DRAIN_EXIT_SUCCESS, "status of a paused guest: 0");
    expect_in(out, "controller paused:  yes", "  controller-paused");
    expect_in(out, "stuck vCPUs:        unknown", "  stuck vCPUs cannot be told");

    /* A Xen of another interface version: status still reports. */
    dead_agent(1, 1, 1);
    fake_set_vm_event_version(6);
    expect_rc(run("status", "5", NULL), DRAIN_EXIT_SUCCESS, "status on a Xen of interface version 6: 0");
    expect_in(out, "stop cannot act on this Xen", "  warns that stop cannot act");

    /* A failing ring probe: the status is incomplete. */
    dead_agent(1, 1, 1);
    fake_fail_func("xc_monitor_resume", 0, EPERM);
    expect_rc(run("status", "5", NULL), DRAIN_EXIT_FAILED, "status with the ring probe failing: failed");
    expect_in(out, "monitor ring:       unknown", "  ring unknown");
    expect_in(err, "cannot tell whether a ring exists", "  says so");
    fake_fail_clear();
}

static void test_bad_domains(void)
{
    struct snapshot s;

    world(1);
    fake_domain_add(7, FAKE_DOM_PV, 1, "pv");
    fake_domain_add(9, FAKE_DOM_HVM, 1, "twin");
    fake_domain_add(10, FAKE_DOM_HVM, 1, "twin");
    fake_domain_add(11, FAKE_DOM_HVM, 1, "doomed");
    fake_domain_kill(11, 1);
    snap(&s, 1);

    expect_rc(run("stop", "0", NULL), DRAIN_EXIT_FAILED, "stop dom0: failed");
    expect_in(err, "domain 0: dom0 cannot have vm_event rings", "  names dom0");
    expect_rc(run("stop", "Domain-0", NULL), DRAIN_EXIT_FAILED, "stop Domain-0 by name: failed");
    expect_rc(run("stop", "42", NULL), DRAIN_EXIT_FAILED, "stop a missing id: failed");
    expect_in(err, "domain '42': lookup: no domain has that id", "  names the id and the step");
    expect_rc(run("stop", "nosuch", NULL), DRAIN_EXIT_FAILED, "stop a missing name: failed");
    expect_in(err, "domain 'nosuch': lookup: no domain has that name", "  names the name and the step");
    expect_rc(run("stop", "twin", NULL), DRAIN_EXIT_FAILED, "stop a name two domains have: failed");
    expect_in(err, "several domains have that name", "  says several");
    expect_rc(run("stop", "7", NULL), DRAIN_EXIT_FAILED, "stop a PV guest: failed");
    expect_in(err, "domain 7: a PV guest has no vm_event rings", "  says PV");
    expect_rc(run("stop", "11", NULL), DRAIN_EXIT_FAILED, "stop a dying domain: failed");
    expect_in(err, "domain 11: the domain is dying", "  says dying");
    expect_rc(run("stop", "32753", NULL), DRAIN_EXIT_FAILED, "stop DOMID_INVALID: failed");
    tap_is(fake_domid_invalid_ops(), 0, "  nothing reached Xen for DOMID_INVALID");
    expect_rc(run("status", "5", "7", NULL), DRAIN_EXIT_FAILED,
              "status of a good and a PV domain: failed");
    expect_in(out, "domain 5:", "  the good one is still reported");
    expect_rc(run("--json", "status", "0", "twin", "5", NULL), DRAIN_EXIT_FAILED,
              "status --json with bad domains: failed");
    expect_json("len(objs) == 3 and d['exit'] == 4 and d['step'] == 'check' "
                "and objs[1]['step'] == 'lookup' and objs[1]['domid'] is None "
                "and objs[2]['exit'] == 0",
                "  one object each, errors with their step");
    tap_ok(unchanged(&s, 1), "  none of it changed anything");
}

static void test_no_ring(void)
{
    world(2);
    expect_rc(run("stop", "5", NULL), DRAIN_EXIT_SUCCESS, "stop with no ring: nothing to do, exit 0");
    expect_in(out, "nothing to do", "  says so");
    expect_rc(run("--json", "stop", "guest", NULL), DRAIN_EXIT_SUCCESS, "  and with --json");
    expect_json("d['result'] == 'nothing-to-do' and d['action'] == 'none' and d['monitor_ring'] is False",
                "  result nothing-to-do");

    /* A dead owner's record with no ring is stale: it goes. */
    fake_xs_write(RECORD, "4194305 1 dead-agent");
    expect_rc(run("stop", "5", NULL), DRAIN_EXIT_SUCCESS, "stop with a stale record: nothing to do, exit 0");
    expect_in(out, "removed the stale ownership record", "  says it removed the record");
    tap_ok(fake_xs_read(RECORD) == NULL, "  the record is gone");
}

static void test_dead_owner(unsigned int nr_vcpus, unsigned int nr_events)
{
    char name[96];

    dead_agent(nr_vcpus, 1, nr_events);
    snprintf(name, sizeof(name), "stop a dead agent's guest (%u of %u vCPUs waiting): rescued, 0",
             nr_events, nr_vcpus);
    expect_rc(run("stop", "5", NULL), DRAIN_EXIT_SUCCESS, name);
    expect_in(out, "rescued", "  says rescued");
    expect_in(out, "every vCPU was seen running again", "  says the vCPUs run");
    expect_in(out, "pending replies would have done", "  says the dead agent's replies are lost");
    tap_is(fx_waiting(nr_vcpus), 0, "  no vCPU waiting");
    tap_is(fake_pause_count(GUEST), 0, "  no pause reference left");
    tap_ok(fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 0 && fx_nothing_left(),
           "  no ring, port, mapping or record left");
    expect_rc(run("stop", "5", NULL), DRAIN_EXIT_SUCCESS, "  stop again: nothing to do, exit 0");
}

static void test_dead_owner_json(void)
{
    dead_agent(2, 1, 2);
    expect_rc(run("--json", "stop", "guest", NULL), DRAIN_EXIT_SUCCESS, "stop --json a dead agent's guest: 0");
    expect_json("d['result'] == 'success' and d['action'] == 'rescue' and d['rescue']['ok'] is True "
                "and d['rescue']['dead_ring_disabled'] is True and d['rescue']['fresh_ring_disabled'] is True "
                "and d['rescue']['vcpus_answered'] == 2 and d['rescue']['vcpus_stuck'] == 0 "
                "and d['rescue']['guest_changed'] is True and d['replies_lost'] is True "
                "and d['owner']['state'] == 'dead' and d['stuck_vcpus'] == [0, 1] "
                "and len(d['plan']) == 7 and d['interrupted'] is False",
                "  the rescue report in JSON");
    tap_is(fx_waiting(2), 0, "  vCPUs released");

    dead_agent(1, 1, 1);
    expect_rc(run("-q", "stop", "5", NULL), DRAIN_EXIT_SUCCESS, "stop -q: 0");
    tap_ok(out[0] == '\0' && err[0] == '\0', "  prints nothing on success");

    dead_agent(1, 1, 1);
    expect_rc(run("-v", "stop", "5", NULL), DRAIN_EXIT_SUCCESS, "stop -v: 0");
    expect_in(err, "libvmeventctl: info: domain 5: rescue", "  the library's messages on stderr");
}

/* What the rescue reset of a dead xen-access -m, in the text and the JSON. */
static void test_leftovers(void)
{
    dead_agent(2, 1, 2);
    fx_agent_leftovers(2);
    expect_rc(run("stop", "5", NULL), DRAIN_EXIT_SUCCESS, "stop a guest with a dead agent's leftovers (VMX): 0");
    expect_in(out, "the dead agent's leftovers: access_required reset, mem_access reset, single-step reset, altp2m not supported here (Invalid argument)",
              "  says what was reset");
    tap_ok(fake_access_required(GUEST) == 0 && fake_pages_restricted(GUEST) == 0 &&
           fake_vcpu_single_step(GUEST, 1) == 0, "  and it was");

    dead_agent(2, 1, 2);
    fake_set_host_svm(1);
    fx_agent_leftovers(2);
    expect_rc(run("--json", "stop", "5", NULL), DRAIN_EXIT_SUCCESS, "stop --json, the same on SVM: 0");
    expect_json("d['rescue']['leftovers']['access_required'] == {'state': 'reset', 'errno': None, 'error': None} "
                "and d['rescue']['leftovers']['mem_access']['state'] == 'not supported here' "
                "and d['rescue']['leftovers']['mem_access']['errno'] == 22 "
                "and d['rescue']['leftovers']['single_step']['state'] == 'not supported here' "
                "and d['rescue']['leftovers']['single_step']['errno'] == 95 "
                "and d['rescue']['leftovers']['altp2m']['state'] == 'not supported here'",
                "  the leftovers in JSON");

    dead_agent(1, 1, 1);
    fx_agent_leftovers(1);
    fake_fail_func("xc_domain_set_access_required", 1, EPERM);
    expect_rc(run("stop", "5", NULL), DRAIN_EXIT_FAILED_CHANGED, "access_required reset refused: failed, guest changed");
    fake_fail_clear();
    expect_in(err, "access_required NOT RESET (Operation not permitted)", "  says access_required was not reset");
    tap_ok(fake_pause_count(GUEST) == 0 && fx_waiting(1) == 0, "  the guest is unpaused and runs");
}

static void test_unknown_owner(void)
{
    struct snapshot s;

    dead_agent(2, 0, 1);
    snap(&s, 2);
    expect_rc(run("stop", "5", NULL), DRAIN_EXIT_REFUSED, "stop with no ownership record: refused");
    expect_in(err, "another tool", "  explains: another tool's agent");
    expect_in(err, "--force", "  mentions --force");
    tap_ok(unchanged(&s, 2), "  nothing changed");

    expect_rc(run("--json", "stop", "5", NULL), DRAIN_EXIT_REFUSED, "  --json: refused");
    expect_json("d['result'] == 'refused' and d['exit'] == 3 and d['action'] == 'refuse' "
                "and d['owner']['state'] == 'none' and d['rescue'] is None",
                "  result refused, no rescue");

    expect_rc(run("--force", "stop", "5", NULL), DRAIN_EXIT_SUCCESS, "stop --force: rescued");
    tap_is(fx_waiting(2), 0, "  vCPU released");
    tap_ok(fake_pause_count(GUEST) == 0 && fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 0,
           "  no ring, no pause reference");
}

static void test_dry_run(void)
{
    struct snapshot s;

    dead_agent(2, 1, 2);
    snap(&s, 2);
    expect_rc(run("--dry-run", "stop", "5", NULL), DRAIN_EXIT_SUCCESS, "dry run on a dead agent's guest: 0");
    expect_in(out, "1. mark our ownership record 'paused 2'", "  lists the steps");
    expect_in(out, "disable the dead ring", "  including the dead ring's disable");
    expect_in(out, "nothing was changed", "  says nothing was changed");
    tap_ok(unchanged(&s, 2), "  and nothing was");
    expect_rc(run("-n", "--json", "stop", "5", NULL), DRAIN_EXIT_SUCCESS, "  --json");
    expect_json("d['dry_run'] is True and d['action'] == 'rescue' and len(d['plan']) == 7 "
                "and d['rescue'] is None",
                "  the plan in JSON, no rescue");
    tap_ok(unchanged(&s, 2), "  still nothing changed");

    dead_agent(1, 0, 1);
    snap(&s, 1);
    expect_rc(run("-n", "stop", "5", NULL), DRAIN_EXIT_REFUSED, "dry run, unknown owner: refused");
    expect_rc(run("-n", "-f", "stop", "5", NULL), DRAIN_EXIT_SUCCESS, "dry run, unknown owner, --force: 0");
    tap_ok(unchanged(&s, 1), "  nothing changed");

    world(1);
    expect_rc(run("-n", "stop", "5", NULL), DRAIN_EXIT_SUCCESS, "dry run, no ring: nothing to do, exit 0");
}

/* A ring disabled the unsafe way: no ring, a vCPU frozen. */
static void test_no_ring_stuck(void)
{
    xc_interface *xch;
    struct snapshot s;

    dead_agent(2, 0, 1);
    xch = xc_interface_open(NULL, NULL, 0);
    xc_monitor_disable(xch, GUEST);
    xc_interface_close(xch);
    snap(&s, 2);
    expect_rc(run("status", "5", NULL), DRAIN_EXIT_SUCCESS, "status after an unsafe disable: 0");
    expect_in(out, "monitor ring:       none", "  no ring");
    expect_in(out, "stuck vCPUs:        1: vCPU 0\n", "  vCPU 0 stuck");
    expect_rc(run("stop", "5", NULL), DRAIN_EXIT_REFUSED, "stop: refused without --force");
    expect_in(err, "run stop again with --force", "  says --force answers them");
    tap_ok(unchanged(&s, 2), "  nothing changed");
    expect_rc(run("--json", "stop", "--force", "5", NULL), DRAIN_EXIT_SUCCESS,
              "stop --force: rescued through a fresh ring");
    expect_json("d['action'] == 'rescue-no-ring' and d['rescue']['flags'] == ['force', 'no-ring'] "
                "and d['rescue']['dead_ring_found'] is False",
                "  with the no-ring rescue");
    tap_is(fx_waiting(2), 0, "  the vCPU runs again");
}

static void test_wait_queue(void)
{
    struct snapshot s;

    dead_agent(1, 1, 1);
    fake_ring_set_waiters(GUEST, 1);
    snap(&s, 1);
    expect_rc(run("stop", "5", NULL), DRAIN_EXIT_FAILED,
              "waiters on Xen's queue: failed, guest unchanged");
    expect_in(err, "EBUSY", "  says EBUSY");
    expect_in(err, "wait queue", "  says the wait queue");
    expect_in(err, "the guest is as it was", "  says the guest is as it was");
    expect_in(err, "xl destroy", "  says what frees the sleepers");
    expect_in(err, "reset the dead agent's monitor settings", "  says what Xen's refused disable did");
    tap_ok(fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 1 && fake_pause_count(GUEST) == 0 &&
           (int)fx_waiting(1) == s.waiting, "  ring still there, pause released");
    fake_ring_set_waiters(GUEST, 0);

    /*
     * 12 vCPUs waiting on an 8-slot ring: 4 sleep on its wait queue, which
     * only answers on the dead page could wake.  Refused in plain words
     * before anything is touched.
     */
    dead_agent(12, 1, 12);
    fake_log_mark();
    expect_rc(run("--json", "stop", "5", NULL), DRAIN_EXIT_REFUSED,
              "12 vCPUs waiting on an 8-slot ring: refused (exit 3)");
    expect_json("d['rescue']['failed_step'] == 'check' and d['errno'] == 16 "
                "and d['rescue']['guest_changed'] is False "
                "and 'sleep on the full ring' in d['message'] and 'xl destroy' in d['message']",
                "  JSON names the check, EBUSY, and says why in plain words");
    tap_ok(fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 1 && fake_pause_count(GUEST) == 0 &&
           fake_call_count("xc_domain_pause") == 0 && fake_call_count("xc_monitor_disable") == 0 &&
           fx_waiting(12) == 8 && fake_vcpu_on_wait_queue(GUEST, 11) == 1,
           "  nothing changed: no pause, no disable, 8 vCPUs waiting and the rest asleep as found");
}

static void test_failed_changed(void)
{
    dead_agent(2, 1, 1);
    /* The dead ring is disabled, then no fresh ring can be had. */
    fake_fail_func("xc_monitor_enable", 1, ENOMEM);
    expect_rc(run("stop", "5", NULL), DRAIN_EXIT_FAILED_CHANGED,
              "no fresh ring after the dead one went: failed, guest changed");
    expect_in(err, "the guest state changed", "  says the guest changed");
    expect_in(err, "the dead ring was disabled", "  and how");
    tap_ok(fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 0 && fx_waiting(2) == 1 &&
           fake_pause_count(GUEST) == 0, "  no ring, vCPU 0 still waiting, no pause left");
    fake_fail_clear();
    expect_rc(run("stop", "5", NULL), DRAIN_EXIT_REFUSED, "  stop again: refused without --force");
    expect_rc(run("stop", "--force", "5", NULL), DRAIN_EXIT_SUCCESS, "  stop --force: rescued");
    tap_is(fx_waiting(2), 0, "  the vCPU runs again");
}

/* Rescued, but a vCPU is not seen running afterwards: exit 5. */
static void test_still_frozen(void)
{
    dead_agent(2, 1, 2);
    fake_vcpu_set_stuck(GUEST, 1, 1);
    expect_rc(run("stop", "5", NULL), DRAIN_EXIT_FAILED_CHANGED,
              "stop, vCPU 1 kept from running after the rescue: exit 5");
    expect_in(err, "1 vCPU(s) were not seen running", "  says how many vCPUs did not run");
    expect_in(err, "the guest may still be frozen", "  says the guest may still be frozen");
    tap_ok(fx_waiting(2) == 0 && fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 0 &&
           fake_pause_count(GUEST) == 0, "  answered: no vCPU waiting, no ring, no pause left");
}

static void test_version(void)
{
    struct snapshot s;

    dead_agent(1, 1, 1);
    fake_set_vm_event_version(6);
    snap(&s, 1);
    expect_rc(run("stop", "5", NULL), DRAIN_EXIT_FAILED, "Xen of interface version 6: failed");
    expect_in(err, "vm_event interface version 6", "  names the version");
    tap_ok(unchanged(&s, 1), "  nothing changed");
}

static void test_killed_rescuer(void)
{
    /* A rescue killed while it held a pause: its record says "paused". */
    dead_agent(1, 0, 1);
    fake_domain_set_pause_count(GUEST, 1);
    fake_xs_write(RECORD, "4194305 1 xen-vmevent-dr paused");
    expect_rc(run("status", "5", NULL), DRAIN_EXIT_SUCCESS, "status after a killed rescue: 0");
    expect_in(out, "killed while it may have held 1 pause reference(s)", "  says so");
    expect_rc(run("stop", "5", NULL), DRAIN_EXIT_SUCCESS, "stop: rescued");
    tap_is(fake_pause_count(GUEST), 0, "  the killed rescue's pause is released too");
    tap_is(fx_waiting(1), 0, "  the vCPU runs again");
}

/* Our own ring: stop must not signal itself. */
static void test_own_ring(void)
{
    vmeventctl_handle *h = fx_world(1);
    vmeventctl_ring *r = fx_ring(h);

    fake_set_autostep(1);
    expect_rc(run("stop", "5", NULL), DRAIN_EXIT_REFUSED, "the owner is this process: refused");
    expect_in(err, "this very process", "  says so");
    tap_is(fake_ring_xen_port_bound(GUEST), 1, "  our ring untouched");
    vmeventctl_ring_disable(r, 50, NULL);
    vmeventctl_close(h);
}

/*
 * A live agent: a child process named in the record.  It cannot touch the
 * fake Xen (another address space), so a call hook plays its safe disable
 * once it has died of our SIGTERM: the model has no call to drop a ring
 * and a hook may call no faked Xen function, and a guest re-created
 * without a ring reads the same to the tool.
 */
static pid_t agent_pid;
static int agent_status;
static int agent_reaped;

static void agent_hook(const char *fn, void *arg)
{
    if ( agent_reaped || waitpid(agent_pid, &agent_status, WNOHANG) != agent_pid )
        return;
    agent_reaped = 1;
    if ( arg )
    {
        fake_domain_destroy(GUEST);
        fake_domain_add(GUEST, FAKE_DOM_PVH, 2, GUEST_NAME);
        fake_xs_rm(RECORD);
    }
}

static unsigned long long start_time_of(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long long st = 0;
    int field;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if ( !f )
        tap_bail("%s: %s", path, strerror(errno));
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* comm ends at the last ')'; field 3 follows ") ". */
    p = strrchr(buf, ')');
    if ( p )
        p++;
    for ( field = 3; p && field < 22; field++ )
        p = strchr(p + 1, ' ');
    if ( !p || sscanf(p + 1, "%llu", &st) != 1 )
        tap_bail("cannot parse %s", path);
    return st;
}

static void start_agent(int ignore_term)
{
    char rec[128], c;
    int pipefd[2];

    if ( pipe(pipefd) )
        tap_bail("pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    agent_pid = fork();
    if ( agent_pid < 0 )
        tap_bail("fork: %s", strerror(errno));
    if ( agent_pid == 0 )
    {
        signal(SIGTERM, ignore_term ? SIG_IGN : SIG_DFL);
        if ( write(pipefd[1], "r", 1) != 1 )
            _exit(99);
        for ( ;; )
            pause();
    }
    close(pipefd[1]);
    if ( read(pipefd[0], &c, 1) != 1 )
        tap_bail("the agent did not start");
    close(pipefd[0]);
    agent_reaped = 0;
    snprintf(rec, sizeof(rec), "%d %llu fake-agent", (int)agent_pid, start_time_of(agent_pid));
    fake_xs_write(RECORD, rec);
}

/* The record changes to name a dead owner between the sample and the signal. */
static unsigned int xs_reads;
static void record_changes(const char *fn, void *arg)
{
    if ( strcmp(fn, "xs_read") || ++xs_reads != 2 )
        return;
    fake_xs_write(RECORD, "4194305 1 other-agent");
}

static void test_live_owner(void)
{
    dead_agent(2, 0, 1);
    start_agent(0);
    fake_set_call_hook(agent_hook, (void *)1);
    expect_rc(run("stop", "5", NULL), DRAIN_EXIT_SUCCESS, "a live agent: asked to stop, 0");
    fake_set_call_hook(NULL, NULL);
    tap_ok(agent_reaped && WIFSIGNALED(agent_status) && WTERMSIG(agent_status) == SIGTERM,
           "  the agent got SIGTERM");
    expect_in(out, "asking it to stop (SIGTERM)", "  says it asked");
    expect_in(out, "stopped and disabled its ring safely", "  says the agent stopped");
    if ( !agent_reaped )
    {
        kill(agent_pid, SIGKILL);
        waitpid(agent_pid, NULL, 0);
    }

    /* One that ignores SIGTERM: refused after the timeout. */
    dead_agent(2, 0, 1);
    start_agent(1);
    fake_set_call_hook(agent_hook, NULL);
    expect_rc(run("--json", "--timeout", "0.3", "stop", "5", NULL), DRAIN_EXIT_REFUSED,
              "an agent that does not stop within --timeout: refused");
    fake_set_call_hook(NULL, NULL);
    expect_json("d['result'] == 'refused' and d['action'] == 'signal-owner' "
                "and d['signal']['sent'] is True and d['signal']['owner_stopped'] is False "
                "and d['signal']['waited_ms'] >= 300 and d['step'] == 'wait'",
                "  JSON: signal sent, owner did not stop");
    tap_ok(!agent_reaped && kill(agent_pid, 0) == 0, "  the agent is still alive");
    tap_ok(fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 1 && fx_waiting(2) == 1,
           "  its ring untouched");

    /* Killed for good: its record now names a dead pid, and stop rescues. */
    kill(agent_pid, SIGKILL);
    waitpid(agent_pid, NULL, 0);
    expect_rc(run("status", "5", NULL), DRAIN_EXIT_SUCCESS, "status after the agent was killed: 0");
    expect_in(out, "owner:              dead", "  owner dead");
    expect_rc(run("stop", "5", NULL), DRAIN_EXIT_SUCCESS, "stop after the agent was killed: rescued");
    tap_is(fx_waiting(2), 0, "  the vCPU runs again");

    /*
     * The record names another, dead, owner by the time of the signal: the
     * pid read in the sample is not signalled, the guest is rescued.
     */
    dead_agent(2, 0, 1);
    start_agent(0);
    xs_reads = 0;
    fake_set_call_hook(record_changes, NULL);
    expect_rc(run("stop", "5", NULL), DRAIN_EXIT_SUCCESS,
              "the record changes before the signal: rescued instead");
    fake_set_call_hook(NULL, NULL);
    tap_ok(xs_reads >= 2 && kill(agent_pid, 0) == 0 && waitpid(agent_pid, NULL, WNOHANG) == 0,
           "  the pid of the sample was not signalled");
    kill(agent_pid, SIGKILL);
    waitpid(agent_pid, NULL, 0);
    tap_is(fx_waiting(2), 0, "  the vCPU runs again");
}

/* Raises SIGTERM twice inside the rescue (at its first disable). */
static unsigned int hook_signals;
static void signal_in_rescue(const char *fn, void *arg)
{
    if ( hook_signals || strcmp(fn, "xc_monitor_disable") )
        return;
    hook_signals = 2;
    raise(SIGTERM);
    raise(SIGTERM);
}

/* Raises SIGINT arg times while the vCPUs are sampled. */
static void signal_in_status(const char *fn, void *arg)
{
    unsigned int i, n = (unsigned int)(uintptr_t)arg;

    if ( hook_signals || strcmp(fn, "xc_vcpu_getinfo") )
        return;
    hook_signals = n;
    for ( i = 0; i < n; i++ )
        raise(SIGINT);
}

static void test_signals(void)
{
    struct sigaction sa, dfl, inherited_int, inherited_term;
    pid_t pid;
    int st;

    /*
     * From the default: a shell that starts us in the background without
     * job control hands SIGINT down ignored, and "restored" means "as
     * found".
     */
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGINT, &dfl, &inherited_int);
    sigaction(SIGTERM, &dfl, &inherited_term);

    dead_agent(2, 1, 2);
    hook_signals = 0;
    fake_set_call_hook(signal_in_rescue, NULL);
    expect_rc(run("--json", "stop", "5", NULL), DRAIN_EXIT_SUCCESS,
              "two SIGTERMs during a rescue: the rescue finishes, 0");
    fake_set_call_hook(NULL, NULL);
    tap_is(hook_signals, 2, "  the signals were raised");
    expect_in(err, "a rescue is in progress: finishing its safety steps",
              "  the second signal says the rescue finishes");
    expect_in(err, "interrupted by a signal", "  the end says it was interrupted");
    expect_json("d['interrupted'] is True and d['rescue']['ok'] is True", "  JSON: interrupted, rescued");
    tap_ok(fx_waiting(2) == 0 && fake_pause_count(GUEST) == 0 &&
           fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 0, "  guest rescued, no pause left");
    sigaction(SIGTERM, NULL, &sa);
    tap_ok(sa.sa_handler == SIG_DFL, "  SIGTERM's disposition restored");

    dead_agent(2, 1, 1);
    hook_signals = 0;
    fake_set_call_hook(signal_in_status, (void *)1);
    expect_rc(run("stop", "5", NULL), DRAIN_EXIT_INTERRUPTED, "SIGINT while sampling: interrupted");
    fake_set_call_hook(NULL, NULL);
    tap_ok(fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 1 && fx_waiting(2) == 1 &&
           fake_pause_count(GUEST) == 0, "  nothing changed");
    sigaction(SIGINT, NULL, &sa);
    tap_ok(sa.sa_handler == SIG_DFL, "  SIGINT's disposition restored");

    /* A second signal outside a rescue exits at once: in a child. */
    fflush(stdout);
    pid = fork();
    if ( pid == 0 )
    {
        int fd = open("/dev/null", O_WRONLY);

        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        hook_signals = 0;
        fake_set_call_hook(signal_in_status, (void *)2);
        drain_main(3, (char *[]){ (char *)"xen-vmevent-drain", (char *)"status", (char *)"5", NULL });
        _exit(0);
    }
    waitpid(pid, &st, 0);
    tap_ok(WIFEXITED(st) && WEXITSTATUS(st) == DRAIN_EXIT_INTERRUPTED,
           "two SIGINTs while sampling: exits at once, interrupted");
    sigaction(SIGINT, &inherited_int, NULL);
    sigaction(SIGTERM, &inherited_term, NULL);
}

static void expect_json_string(const char *in, const char *want, const char *name)
{
    FILE *f = tmpfile();
    char *got;

    drain_json_string(f, in);
    got = slurp(f);
    if ( !tap_ok(!strcmp(got, want), name) )
        tap_diag("  expected %s, got %s", want, got);
    free(got);
}

static void test_json_strings(void)
{
    expect_json_string(NULL, "null", "JSON: NULL is null");
    expect_json_string("guest", "\"guest\"", "JSON: plain string");
    expect_json_string("a\"b\\c", "\"a\\\"b\\\\c\"", "JSON: quote and backslash escaped");
    expect_json_string("t\tn\nr\r\x01\x1f", "\"t\\tn\\nr\\r\\u0001\\u001f\"",
                       "JSON: control characters escaped");
    expect_json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7\"",
                       "JSON: valid UTF-8 kept");
    expect_json_string("a\xff" "b\xc3", "\"a\\ufffdb\\ufffd\"", "JSON: invalid bytes become U+FFFD");
    expect_json_string("\xc0\xaf\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"",
                       "JSON: overlong forms and surrogates rejected");

    /* A domain name that needs escaping, through the whole command. */
    world(1);
    fake_domain_add(8, FAKE_DOM_HVM, 1, "we\"ird\\na\tme\xff");
    expect_rc(run("--json", "status", "we\"ird\\na\tme\xff", "no\"such", NULL), DRAIN_EXIT_FAILED,
              "status --json of an odd name and a missing one");
    expect_json("d['domain'] == 'we\"ird\\\\na\\tme\\ufffd' and d['domid'] == 8 "
                "and objs[1]['domain'] == 'no\"such'",
                "  names escaped, the JSON parses");
}

int main(void)
{
    test_json_strings();
    test_usage();
    test_open_fails();
    test_status();
    test_bad_domains();
    test_no_ring();
    test_dead_owner(1, 1);
    test_dead_owner(2, 2);
    test_dead_owner(12, 4);
    test_dead_owner_json();
    test_leftovers();
    test_unknown_owner();
    test_dry_run();
    test_no_ring_stuck();
    test_wait_queue();
    test_failed_changed();
    test_still_frozen();
    test_version();
    test_killed_rescuer();
    test_own_ring();
    test_live_owner();
    test_signals();
    free(out);
    free(err);
    return tap_done();
}
