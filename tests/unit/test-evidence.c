/*
 * test-evidence: a ring no ownership record names is only taken when no
 * live dom0 process is bound to it: the library's side.
 *
 * A notify of a ring's port races xc_monitor_disable in Xen without a lock
 * (evtchn_send runs the ring's callback after dropping the channel's lock,
 * while vm_event_disable frees the ring): a use-after-free that hangs Xen
 * (docs/findings.md #1).  Checked against the fake Xen (whose
 * xc_evtchn_status follows Xen's evtchn_status): the fake's answers, the
 * evidence vmeventctl_port_evidence() gathers on Xen 4.17 and 4.20, the
 * forced rescue (refused with EISCONN, or taken with
 * VMEVENTCTL_RESCUE_RISK_LIVE_AGENT), and each new failure path: it
 * names the domain and the step, and changes nothing.
 * test-drain-evidence checks xen-vmevent-drain's side.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include "evidence-fixture.h"

/*
 * The fake's EVTCHNOP_status, as Xen's evtchn_status answers.
 */
static void test_fake_status(void)
{
    xc_interface *xch;
    xc_evtchn_status_t st;
    int rc;

    foreign_agent_world(1);
    xch = xc_interface_open(NULL, NULL, 0);
    memset(&st, 0, sizeof(st));
    st.dom = GUEST;
    st.port = ring_port;
    rc = xc_evtchn_status(xch, &st);
    tap_ok(rc == -1 && errno == EACCES, "EVTCHNOP_status of the ring's port: EACCES (Xen consumes it)");
    st.port = store_port;
    tap_ok(xc_evtchn_status(xch, &st) == 0 && st.status == EVTCHNSTAT_interdomain &&
           st.u.interdomain.dom == 0, "the guest's xenstore port: interdomain to dom0");
    st.port = 64;
    rc = xc_evtchn_status(xch, &st);
    tap_ok(rc == -1 && errno == EINVAL, "a port beyond the guest's: EINVAL");
    st.dom = 0;
    st.port = (evtchn_port_t)agent_port;
    tap_ok(xc_evtchn_status(xch, &st) == 0 && st.status == EVTCHNSTAT_interdomain &&
           st.u.interdomain.dom == GUEST && st.u.interdomain.port == ring_port,
           "dom0's end of the agent's bind: interdomain to the ring's port");
    st.dom = 7;
    rc = xc_evtchn_status(xch, &st);
    tap_ok(rc == -1 && errno == ESRCH, "a missing domain: ESRCH");

    kill_agent();
    st.dom = 0;
    st.port = (evtchn_port_t)agent_port;
    tap_ok(xc_evtchn_status(xch, &st) == 0 && st.status == EVTCHNSTAT_closed,
           "the agent's fd closed: its dom0 port is closed");
    st.dom = GUEST;
    st.port = ring_port;
    rc = xc_evtchn_status(xch, &st);
    tap_ok(rc == -1 && errno == EACCES, "  the ring's port is still Xen's (unbound again, EACCES)");
    tap_is(fake_ring_xen_port_bound(GUEST), 0, "  and nobody is bound to it");
    xc_interface_close(xch);
}

/*
 * The library: evidence, and the forced rescue.
 */
static void test_library(void)
{
    struct vmeventctl_port_evidence ev;
    struct vmeventctl_rescue_report rep;
    struct snapshot s;
    vmeventctl_handle *h;
    unsigned int i, explained = 0;
    int found = 0;

    foreign_agent_world(1);
    h = fx_open();
    tap_is(vmeventctl_port_evidence(h, GUEST, &ev), 0, "evidence with xen-access bound");
    tap_is(ev.nr_suspects, 1, "  one dom0 port bound to a port Xen consumes");
    tap_is(ev.xen_ports, 1, "  one guest port consumed by Xen");
    tap_is(ev.nr_bindings, 4, "  four dom0 ports bound to the guest");
    for ( i = 0; i < ev.nr_bindings; i++ )
    {
        const struct vmeventctl_port_binding *b = &ev.bindings[i];

        if ( b->xen_consumer && b->guest_port == ring_port && b->dom0_port == (uint32_t)agent_port &&
             !b->explained_by[0] )
            found = 1;
        if ( (b->guest_port == store_port && !strcmp(b->explained_by, "xenstore")) ||
             (b->guest_port == console_port && !strcmp(b->explained_by, "console")) ||
             (b->guest_port == vif_port && !strcmp(b->explained_by, "device/vif/0")) )
            explained++;
    }
    tap_ok(found, "  the agent's binding names the ring's port and its dom0 port");
    tap_is(explained, 3, "  xenstore, console and the vif explained by xenstore");
    vmeventctl_port_evidence_release(&ev);
    tap_ok(ev.bindings == NULL, "  release frees the bindings");
    vmeventctl_port_evidence_release(NULL);

    /* A guest that names the ring's port as a device's gets nothing by it. */
    {
        char val[16];

        snprintf(val, sizeof(val), "%u", ring_port);
        fake_xs_write("/local/domain/5/device/vbd/768/event-channel", val);
        vmeventctl_port_evidence(h, GUEST, &ev);
        tap_is(ev.nr_suspects, 1, "  a guest's xenstore claim on the ring's port explains nothing");
        vmeventctl_port_evidence_release(&ev);
        fake_xs_rm("/local/domain/5/device/vbd");
    }

    tap_ok(vmeventctl_port_evidence(h, 0, &ev) == -1 && errno == EINVAL, "evidence for dom0: EINVAL");

    snap(&s);
    tap_ok(vmeventctl_rescue(h, GUEST, VMEVENTCTL_RESCUE_FORCE, &rep) == -1 && errno == EISCONN,
           "forced rescue with xen-access bound: EISCONN");
    tap_is(rep.failed_step, VMEVENTCTL_RESCUE_STEP_CHECK, "  failed at the check");
    tap_ok(unchanged(&s), "  nothing changed: no pause, disable or enable, agent still bound");

    tap_is(vmeventctl_rescue(h, GUEST, VMEVENTCTL_RESCUE_FORCE | VMEVENTCTL_RESCUE_RISK_LIVE_AGENT, &rep),
           0, "forced rescue with VMEVENTCTL_RESCUE_RISK_LIVE_AGENT: rescued");
    tap_ok(fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 0 && fx_waiting(1) == 0 &&
           fake_pause_count(GUEST) == 0, "  no ring, vCPU released, no pause");
    kill_agent();
    vmeventctl_close(h);

    foreign_agent_world(1);
    kill_agent();
    h = fx_open();
    tap_is(vmeventctl_port_evidence(h, GUEST, &ev), 0, "evidence after xen-access was killed");
    tap_is(ev.nr_suspects, 0, "  no dom0 port bound to a port Xen consumes");
    tap_is(ev.xen_ports, 1, "  the ring's port is still there, Xen's");
    vmeventctl_port_evidence_release(&ev);
    tap_is(vmeventctl_rescue(h, GUEST, VMEVENTCTL_RESCUE_FORCE, &rep), 0,
           "forced rescue after xen-access was killed: rescued");
    tap_ok(fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 0 && fx_waiting(1) == 0,
           "  no ring, vCPU released");
    vmeventctl_close(h);

    /* Our own ring's binding is no one else's agent. */
    {
        vmeventctl_handle *h2;
        vmeventctl_ring *r;

        h = fx_world(1);
        r = fx_ring(h);
        vmeventctl_port_evidence(h, GUEST, &ev);
        tap_ok(ev.nr_suspects == 0 && ev.nr_bindings == 1 && ev.bindings[0].ours,
               "our own ring's binding is ours, no suspect");
        vmeventctl_port_evidence_release(&ev);
        h2 = fx_open();
        vmeventctl_port_evidence(h2, GUEST, &ev);
        tap_is(ev.nr_suspects, 1, "  seen from another handle, a suspect");
        vmeventctl_port_evidence_release(&ev);
        vmeventctl_close(h2);
        vmeventctl_ring_disable(r, 0, NULL);
        vmeventctl_close(h);
    }

    /* Unknown flags are still refused; the new one is known. */
    h = fx_world(1);
    tap_ok(vmeventctl_rescue(h, GUEST, VMEVENTCTL_RESCUE_FORCE | 8u, &rep) == -1 && errno == EINVAL,
           "an unknown rescue flag: EINVAL");
    vmeventctl_close(h);
}

/* Each new failure: reported with the domain and the step, nothing changed. */
static void test_library_failures(void)
{
    struct vmeventctl_rescue_report rep;
    struct vmeventctl_port_evidence ev;
    struct snapshot s;
    vmeventctl_handle *h;
    static const struct {
        const char *fn;
        unsigned int nth;
        int err;
        const char *what;
    } faults[] = {
        { "xc_evtchn_status", 1, EPERM, "the guest's first port" },
        { "xc_evtchn_status", 70, ESRCH, "a dom0 port" },
        { "xc_monitor_resume", 1, EPERM, "the ring probe after a bound port is found" },
    };
    unsigned int i;

    for ( i = 0; i < sizeof(faults) / sizeof(faults[0]); i++ )
    {
        char name[160];

        foreign_agent_world(1);
        h = fx_open();
        snap(&s);
        fake_fail_func(faults[i].fn, faults[i].nth, faults[i].err);
        snprintf(name, sizeof(name), "forced rescue, %s fails (%s): refused with its errno",
                 faults[i].what, strerror(faults[i].err));
        tap_ok(vmeventctl_rescue(h, GUEST, VMEVENTCTL_RESCUE_FORCE, &rep) == -1 &&
               errno == faults[i].err && rep.failed_step == VMEVENTCTL_RESCUE_STEP_CHECK, name);
        fake_fail_clear();
        tap_ok(unchanged(&s), "  nothing changed");
        vmeventctl_close(h);
        kill_agent();
    }

    /*
     * Every EVTCHNOP_status of a forced rescue's check (the agent killed,
     * so the check walks every port), failed in turn with each errno Xen
     * really gives: refused with it, at the check, nothing changed.
     */
    {
        const int *errs = fake_real_errnos("xc_evtchn_status");
        unsigned int calls, n, bad = 0, total = 0, e;

        foreign_agent_world(1);
        kill_agent();
        h = fx_open();
        calls = fake_call_count("xc_evtchn_status");
        vmeventctl_port_evidence(h, GUEST, &ev);
        calls = fake_call_count("xc_evtchn_status") - calls;
        vmeventctl_port_evidence_release(&ev);
        vmeventctl_close(h);
        for ( n = 1; n <= calls; n++ )
            for ( e = 0; errs && errs[e]; e++ )
            {
                foreign_agent_world(1);
                kill_agent();
                h = fx_open();
                snap(&s);
                fake_fail_func("xc_evtchn_status", n, errs[e]);
                if ( vmeventctl_rescue(h, GUEST, VMEVENTCTL_RESCUE_FORCE, &rep) != -1 ||
                     errno != errs[e] || rep.failed_step != VMEVENTCTL_RESCUE_STEP_CHECK ||
                     !unchanged(&s) )
                {
                    if ( !bad++ )
                        tap_diag("  call %u failed with %s: rescue not refused, or something changed",
                                 n, strerror(errs[e]));
                }
                total++;
                fake_fail_clear();
                vmeventctl_close(h);
            }
        tap_ok(calls > 64 && total >= calls && !bad,
               "each of the check's EVTCHNOP_status calls failing: refused with its errno, nothing changed");
        tap_diag("  %u calls, %u failures injected", calls, total);
    }

    foreign_agent_world(1);
    h = fx_open();
    fake_fail_func("xc_evtchn_status", 70, EPERM);
    tap_ok(vmeventctl_port_evidence(h, GUEST, &ev) == -1 && errno == EPERM &&
           ev.failed_domid == 0 && ev.bindings == NULL,
           "evidence: a failing dom0 port names dom0 and frees the bindings");
    fake_fail_clear();
    vmeventctl_close(h);
    kill_agent();
}

/*
 * Xen 4.19 and later answer EVTCHNOP_status of a ring's port like any
 * other: the binding is found as one no xenstore node explains.
 */
static void test_xen_4_20(void)
{
    struct vmeventctl_port_evidence ev;
    struct vmeventctl_rescue_report rep;
    struct snapshot s;
    vmeventctl_handle *h;

    foreign_agent_world(1);
    fake_set_xen_version(4, 20);
    h = fx_open();
    tap_is(vmeventctl_port_evidence(h, GUEST, &ev), 0, "Xen 4.20: evidence with xen-access bound");
    tap_ok(ev.xen_ports == 0 && ev.nr_suspects == 1, "  no port answers EACCES; one suspect");
    tap_ok(ev.nr_bindings == 4 && ev.bindings[3].guest_port == ring_port && ev.bindings[3].suspect &&
           !ev.bindings[3].xen_consumer, "  the agent's binding, unexplained");
    vmeventctl_port_evidence_release(&ev);
    snap(&s);
    tap_ok(vmeventctl_rescue(h, GUEST, VMEVENTCTL_RESCUE_FORCE, &rep) == -1 && errno == EISCONN,
           "  forced rescue: EISCONN");
    tap_ok(unchanged(&s), "  nothing changed");

    kill_agent();
    tap_is(vmeventctl_port_evidence(h, GUEST, &ev), 0, "Xen 4.20: evidence after xen-access was killed");
    tap_is(ev.nr_suspects, 0, "  no suspect");
    vmeventctl_port_evidence_release(&ev);
    tap_is(vmeventctl_rescue(h, GUEST, VMEVENTCTL_RESCUE_FORCE, &rep), 0, "  forced rescue: rescued");
    tap_ok(fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 0 && fx_waiting(1) == 0,
           "  no ring, vCPU released");
    vmeventctl_close(h);
}

int main(void)
{
    test_fake_status();
    test_library();
    test_library_failures();
    test_xen_4_20();
    return tap_done();
}
