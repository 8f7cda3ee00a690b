/*
 * test-domain: finding domains by id and name, and their status, against
 * the fake Xen 4.17.  The status must never change the domain: its ring
 * probe is xc_monitor_resume (ENODEV without a ring), never an enable,
 * which would leak a page into the guest (XEN-FACTS.md).
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include "fixture.h"

static void expect_lookup(vmeventctl_handle *h, const char *s, int err, uint32_t want,
                          const char *name)
{
    uint32_t id = 12345;
    int rc;

    errno = 0;
    rc = vmeventctl_domain_lookup(h, s, &id);
    if ( err )
    {
        if ( !tap_ok(rc == -1 && errno == err, name) )
            tap_diag("  lookup '%s': expected errno %d, got rc %d errno %d", s, err, rc, errno);
    }
    else if ( !tap_ok(rc == 0 && id == want, name) )
        tap_diag("  lookup '%s': expected %u, got rc %d id %u errno %d", s, want, rc, id, errno);
}

static void test_lookup(void)
{
    vmeventctl_handle *h = fx_world(2);

    fake_domain_add(9, FAKE_DOM_HVM, 1, "twin");
    fake_domain_add(10, FAKE_DOM_HVM, 1, "twin");
    fake_domain_add(11, FAKE_DOM_HVM, 1, "12abc");
    expect_lookup(h, "5", 0, GUEST, "by id");
    expect_lookup(h, GUEST_NAME, 0, GUEST, "by name");
    expect_lookup(h, "0", 0, 0, "dom0 by id (lookup itself does not refuse it)");
    expect_lookup(h, "Domain-0", 0, 0, "dom0 by name");
    expect_lookup(h, "12abc", 0, 11, "a name that starts with digits");
    expect_lookup(h, "77", ESRCH, 0, "missing id: ESRCH");
    expect_lookup(h, "nosuch", ENOENT, 0, "missing name: ENOENT");
    expect_lookup(h, "twin", ENOTUNIQ, 0, "a name two domains carry: ENOTUNIQ");
    expect_lookup(h, "", EINVAL, 0, "empty: EINVAL");
    expect_lookup(h, "32752", EINVAL, 0, "DOMID_FIRST_RESERVED: EINVAL");
    expect_lookup(h, "32753", EINVAL, 0, "DOMID_INVALID: EINVAL");
    expect_lookup(h, "99999999999999999999", EINVAL, 0, "overflowing id: EINVAL");
    tap_is(fake_domid_invalid_ops(), 0, "nothing reached Xen for DOMID_INVALID");

    fake_fail_func("xs_directory", 1, EACCES);
    expect_lookup(h, "guest", EACCES, 0, "xenstore refusing the listing: its errno");
    vmeventctl_close(h);
}

static void test_status(void)
{
    vmeventctl_handle *h = fx_world(2);
    struct vmeventctl_domain_status st;
    vmeventctl_ring *r;
    unsigned int enables;

    fake_domain_add(7, FAKE_DOM_PV, 1, "pv");
    enables = fake_call_count("xc_monitor_enable");

    tap_is(vmeventctl_domain_status(h, GUEST, &st), 0, "status of the guest");
    tap_ok(st.hvm && !st.dying && !st.controller_paused && st.nr_vcpus == 2 &&
           st.nr_online_vcpus == 2, "  PVH, alive, not paused, 2 vCPUs");
    tap_is(st.monitor_ring, 0, "  no ring (resume probe answered ENODEV)");
    tap_is(st.xen_interface_version, VM_EVENT_INTERFACE_VERSION, "  Xen's interface version");
    tap_ok(st.vcpus && st.vcpus[1].vcpu == 1 && st.vcpus[1].online, "  per-vCPU state");
    vmeventctl_domain_status_release(&st);
    tap_ok(st.vcpus == NULL, "  release frees the vCPU array");
    tap_is(fake_call_count("xc_monitor_enable"), enables, "  the probe never enables");

    r = fx_ring(h);
    fake_vcpu_event(GUEST, 1, VM_EVENT_REASON_CPUID);
    fake_domain_set_pause_count(GUEST, 2);
    tap_is(vmeventctl_domain_status(h, GUEST, &st), 0, "status with a ring and a waiting vCPU");
    tap_is(st.monitor_ring, 1, "  ring found");
    tap_is(st.controller_paused, 1, "  controller-paused");
    tap_ok(st.vcpus[1].online && !st.vcpus[1].blocked && !st.vcpus[1].running,
           "  the waiting vCPU reads online, not blocked, not running");
    vmeventctl_domain_status_release(&st);
    tap_is(fake_pause_count(GUEST), 2, "  status changed no pause count");
    tap_is(fake_vcpu_vm_event_paused(GUEST, 1), 1, "  nor the waiting vCPU");
    fake_domain_set_pause_count(GUEST, 0);

    tap_is(vmeventctl_domain_status(h, 7, &st), 0, "status of a PV guest");
    tap_ok(!st.hvm && st.monitor_ring == 0, "  not HVM, no ring, without asking Xen");
    vmeventctl_domain_status_release(&st);

    errno = 0;
    tap_ok(vmeventctl_domain_status(h, 77, &st) == -1 && errno == ESRCH, "missing domain: ESRCH");
    tap_ok(st.vcpus == NULL, "  no allocation left");
    errno = 0;
    tap_ok(vmeventctl_domain_status(h, DOMID_INVALID, &st) == -1 && errno == EINVAL,
           "DOMID_INVALID: EINVAL");

    fake_fail_func("xc_monitor_resume", 1, EPERM);
    tap_is(vmeventctl_domain_status(h, GUEST, &st), 0, "a failing probe still gives a status");
    tap_ok(st.monitor_ring == -1 && st.monitor_probe_errno == EPERM,
           "  with the ring unknown and the probe's errno");
    vmeventctl_domain_status_release(&st);

    vmeventctl_ring_disable(r, 50, NULL);
    vmeventctl_close(h);
}

int main(void)
{
    test_lookup();
    test_status();
    return tap_done();
}
