/*
 * test-drain-evidence: xen-vmevent-drain before a ring no ownership record
 * names.  stop --force refuses (exit 3, nothing changed) while a dom0
 * process is bound to the ring's port, naming the domain, the port and the
 * processes; --force-may-hang-xen takes the ring anyway; once the agent is
 * killed, --force rescues; status shows the evidence in text and JSON; a
 * failing EVTCHNOP_status is reported with its step and stops --force.
 * Run as drain_main() against the fake Xen (evidence-fixture.h), with a
 * /proc of the test's own.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <stdarg.h>

#include "evidence-fixture.h"
#include "drain.h"

#define MAX_ARGS 16

static char *out, *err;          /* what the last drain_main() printed */

/* drain_main() with its output captured, as test-drain-cli does. */
static char *slurp(FILE *f)
{
    long len;
    char *buf;

    fflush(f);
    len = ftell(f);
    if ( len < 0 || !(buf = malloc((size_t)len + 1)) )
        tap_bail("slurp: %s", strerror(errno));
    rewind(f);
    if ( fread(buf, 1, (size_t)len, f) != (size_t)len )
        tap_bail("fread: %s", strerror(errno));
    buf[len] = '\0';
    fclose(f);
    return buf;
}

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

static void show_run(void)
{
    tap_diag("  stdout: %s", out);
    tap_diag("  stderr: %s", err);
}

static void expect_rc(int rc, int want, const char *name)
{
    if ( rc != want )
        show_run();
    tap_is(rc, want, name);
}

static void expect_in(const char *text, const char *what, const char *name)
{
    if ( !tap_ok(strstr(text, what) != NULL, name) )
    {
        tap_diag("  expected to find: %s", what);
        show_run();
    }
}

/* Python checks the JSON when it is there (as test-drain-cli does). */
static void expect_json(const char *expr, const char *name)
{
    char data[] = "/tmp/test-evidence-json-XXXXXX", cmd[2048];
    int fd, rc;
    FILE *f;

    if ( system("command -v python3 >/dev/null 2>&1") != 0 )
    {
        /* scripts/deps installs python3: a check that cannot run fails. */
        tap_ok(0, name);
        tap_diag("  python3 not found: the JSON cannot be checked (scripts/deps installs it)");
        return;
    }
    fd = mkstemp(data);
    if ( fd < 0 || !(f = fdopen(fd, "w")) )
        tap_bail("mkstemp: %s", strerror(errno));
    fputs(out, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd),
             "python3 -c \"import json,sys; d=json.loads(open(sys.argv[1]).readline()); "
             "sys.exit(0 if (%s) else 1)\" %s 1>&2", expr, data);
    fflush(stdout);
    rc = system(cmd);
    unlink(data);
    if ( !tap_ok(rc == 0, name) )
    {
        tap_diag("  expected: %s", expr);
        show_run();
    }
}

/*
 * xen-vmevent-drain.
 */
static void test_cli_live_agent(void)
{
    struct snapshot s;
    char want[64];

    foreign_agent_world(1);
    snap(&s);
    expect_rc(run("stop", "--force", "5", NULL), DRAIN_EXIT_REFUSED,
              "stop --force with xen-access bound: refused (exit 3)");
    expect_in(err, "domain 5: refused", "  names the domain");
    snprintf(want, sizeof(want), "bound to guest port %u (dom0 port %d)", ring_port, agent_port);
    expect_in(err, want, "  names the ring's port and dom0's");
    expect_in(err, "4242 (xen-access)", "  names the process");
    expect_in(err, "--force-may-hang-xen", "  names the override");
    expect_in(err, "nothing was changed", "  says nothing was changed");
    tap_ok(unchanged(&s), "  and nothing was: agent still bound, ring, vCPU waiting");

    expect_rc(run("--json", "stop", "--force", "5", NULL), DRAIN_EXIT_REFUSED, "  --json: refused");
    expect_json("d['result'] == 'refused' and d['exit'] == 3 and d['rescue'] is None "
                "and d['ring_ports']['live_agent_suspected'] is True",
                "  JSON: refused, no rescue, the evidence");

    expect_rc(run("status", "5", NULL), DRAIN_EXIT_SUCCESS, "status with xen-access bound");
    snprintf(want, sizeof(want), "port %u interdomain to dom0 port %d", ring_port, agent_port);
    expect_in(out, want, "  shows the ring's port and dom0's");
    expect_in(out, "a live process may be bound", "  says a live process may be bound");
    expect_in(out, "evtchn+privcmd processes: 4242 (xen-access)", "  lists xen-access, not xenstored");
    expect_in(out, ": xenstore", "  the xenstore channel explained");
    expect_in(out, "refuses too while it is bound", "  stop would refuse, also with --force");

    expect_rc(run("--json", "status", "5", NULL), DRAIN_EXIT_SUCCESS, "status --json");
    snprintf(want, sizeof(want), "d['ring_ports']['suspect_ports'] == [%u]", ring_port);
    expect_json(want, "  suspect_ports names the ring's port");
    expect_json("d['ring_ports']['live_agent_suspected'] is True and d['stop_needs_force'] is False "
                "and d['evtchn_processes'] == [{'pid': 4242, 'comm': 'xen-access'}] "
                "and sorted(b['explained_by'] or '' for b in d['ring_ports']['bindings']) == "
                "['', 'console', 'device/vif/0', 'xenstore']",
                "  the evidence in JSON");

    expect_rc(run("-n", "--force-may-hang-xen", "stop", "5", NULL), DRAIN_EXIT_SUCCESS,
              "dry run with --force-may-hang-xen: 0");
    expect_in(out, "can hang or crash Xen", "  the plan names the risk");
    tap_ok(unchanged(&s), "  nothing changed");

    expect_rc(run("--json", "--force-may-hang-xen", "stop", "5", NULL), DRAIN_EXIT_SUCCESS,
              "stop --force-may-hang-xen with xen-access bound: rescued");
    expect_json("d['force_may_hang_xen'] is True and d['rescue']['flags'] == ['force', 'risk-live-agent']",
                "  JSON: the risk flag was passed");
    tap_ok(fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 0 && fx_waiting(1) == 0 &&
           fake_pause_count(GUEST) == 0, "  no ring, vCPU released, no pause");
    kill_agent();
}

static void test_cli_killed_agent(void)
{
    foreign_agent_world(1);
    kill_agent();
    expect_rc(run("--json", "status", "5", NULL), DRAIN_EXIT_SUCCESS, "status after xen-access was killed");
    expect_json("d['ring_ports']['live_agent_suspected'] is False and d['ring_ports']['suspect_ports'] == [] "
                "and d['stop_needs_force'] is True",
                "  no bound port; stop needs --force");
    expect_rc(run("status", "5", NULL), DRAIN_EXIT_SUCCESS, "  text");
    expect_in(out, "no live process can notify the ring", "  says no live process can notify the ring");
    expect_rc(run("stop", "5", NULL), DRAIN_EXIT_REFUSED, "stop without --force: still refused");
    expect_rc(run("stop", "--force", "5", NULL), DRAIN_EXIT_SUCCESS, "stop --force: rescued");
    tap_ok(fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 0 && fx_waiting(1) == 0 &&
           fake_pause_count(GUEST) == 0, "  no ring, vCPU released, no pause");
    expect_rc(run("--json", "status", "5", NULL), DRAIN_EXIT_SUCCESS, "status after the rescue");
    expect_json("d['monitor_ring'] is False and d['ring_ports'] is None", "  no ring, no evidence gathered");
}

static void test_cli_failures(void)
{
    struct snapshot s;

    foreign_agent_world(1);
    snap(&s);
    fake_fail_func("xc_evtchn_status", 0, EPERM);
    expect_rc(run("stop", "--force", "5", NULL), DRAIN_EXIT_FAILED,
              "stop --force, EVTCHNOP_status fails: failed, unchanged (exit 4)");
    expect_in(err, "domain 5: port evidence: ", "  names the domain and the step");
    expect_in(err, "EVTCHNOP_status of the guest's port 1 failed: Operation not permitted",
              "  names the call, the port and the error");
    expect_in(err, "nothing was changed", "  says nothing was changed");
    tap_ok(unchanged(&s), "  and nothing was");
    expect_rc(run("--json", "status", "5", NULL), DRAIN_EXIT_FAILED, "status: failed (exit 4)");
    expect_json("d['step'] == 'port evidence' and d['errno'] == 1 and "
                "d['ring_ports']['error'] == 'Operation not permitted' and "
                "d['ring_ports']['live_agent_suspected'] is None",
                "  JSON: the step, the errno, the evidence unknown");
    expect_rc(run("stop", "5", NULL), DRAIN_EXIT_REFUSED, "stop without --force: refused as before");
    tap_ok(unchanged(&s), "  nothing changed");
    expect_rc(run("stop", "--force-may-hang-xen", "5", NULL), DRAIN_EXIT_SUCCESS,
              "stop --force-may-hang-xen, EVTCHNOP_status fails: takes the risk, rescued");
    expect_in(out, "cannot be told", "  says the evidence could not be gathered");
    fake_fail_clear();
    tap_ok(fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 0 && fx_waiting(1) == 0,
           "  no ring, vCPU released");

    kill_agent();
}

/* Xen 4.20 shows the ring's port: the binding is one xenstore does not explain. */
static void test_cli_xen_4_20(void)
{
    char want[96];

    foreign_agent_world(1);
    fake_set_xen_version(4, 20);
    expect_rc(run("stop", "--force", "5", NULL), DRAIN_EXIT_REFUSED, "Xen 4.20: stop --force refused");
    expect_rc(run("status", "5", NULL), DRAIN_EXIT_SUCCESS, "  status");
    snprintf(want, sizeof(want), "port %u interdomain to dom0 port %d, not explained by xenstore",
             ring_port, agent_port);
    expect_in(out, want, "  shows the unexplained binding");
    kill_agent();
    expect_rc(run("stop", "--force", "5", NULL), DRAIN_EXIT_SUCCESS, "  killed: stop --force rescued");
}

int main(void)
{
    make_proc();
    drain_proc_root = proc_root;
    test_cli_live_agent();
    test_cli_killed_agent();
    test_cli_failures();
    test_cli_xen_4_20();
    expect_rc(run("--help", NULL), DRAIN_EXIT_SUCCESS, "--help");
    expect_in(out, "--force-may-hang-xen", "  lists --force-may-hang-xen");
    expect_in(out, "hang or crash the hypervisor", "  and its risk");
    expect_rc(run("--force-may-hang-xen", "status", "5", NULL), DRAIN_EXIT_USAGE,
              "status --force-may-hang-xen: usage error");
    remove_proc();
    free(out);
    free(err);
    return tap_done();
}
