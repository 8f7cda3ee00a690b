/*
 * test-ring: opening a handle, enabling a ring, reading, answering,
 * notifying and waiting, against the fake Xen 4.17 (fake-xen.h).
 *
 * What it guards: enable refuses every target Xen would refuse or crash on
 * (dom0, PV, reserved ids, another interface version) before calling Xen;
 * answers carry what Xen's vm_event_resume needs to unpause a vCPU; a batch
 * is notified once; corrupt shared indices are an error, never an overrun.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <signal.h>
#include <sys/time.h>

#include "fixture.h"

static void test_open_close(void)
{
    vmeventctl_handle *h;

    fake_reset();
    tap_is(vmeventctl_close(NULL), 0, "close(NULL) is a no-op");
    errno = 0;
    tap_ok(vmeventctl_open(NULL, 1) == NULL && errno == EINVAL, "open with flags: EINVAL");

    h = fx_open();
    tap_ok(fake_open_xc_handles() == 1 && fake_open_evtchn_handles() == 1 &&
           fake_open_xs_handles() == 1, "open holds one xc, evtchn and xs handle");
    vmeventctl_close(h);
    tap_ok(fake_open_xc_handles() == 0 && fake_open_evtchn_handles() == 0 &&
           fake_open_xs_handles() == 0, "close releases them");

    fake_fail_func("xs_open", 1, EACCES);
    h = vmeventctl_open(NULL, 0);
    tap_ok(h == NULL && errno == EACCES, "xs_open failing: NULL with xenstore's errno");
    tap_ok(fake_open_xc_handles() == 0 && fake_open_evtchn_handles() == 0,
           "a failed open leaves no handle open");
    fake_fail_clear();
}

static void expect_refused(vmeventctl_handle *h, uint32_t domid, int kind, int err,
                           const char *name)
{
    unsigned int enables = fake_call_count("xc_monitor_enable");
    vmeventctl_ring *r;

    errno = 0;
    r = vmeventctl_ring_enable(h, domid, kind, 0);
    if ( !tap_ok(r == NULL && errno == err, name) )
        tap_diag("  expected NULL with errno %d, got %p errno %d", err, (void *)r, errno);
    tap_ok(fake_call_count("xc_monitor_enable") == enables && fx_nothing_left(),
           "  ... without asking Xen to enable, nothing left");
}

static void test_enable_refusals(void)
{
    vmeventctl_handle *h = fx_world(2);

    fake_domain_add(7, FAKE_DOM_PV, 1, "pv");
    expect_refused(h, 0, VMEVENTCTL_RING_MONITOR, EINVAL, "dom0: EINVAL");
    expect_refused(h, 42, VMEVENTCTL_RING_MONITOR, ESRCH, "missing domain: ESRCH");
    expect_refused(h, 7, VMEVENTCTL_RING_MONITOR, EINVAL, "PV guest: EINVAL");
    expect_refused(h, DOMID_INVALID, VMEVENTCTL_RING_MONITOR, EINVAL, "DOMID_INVALID: EINVAL");
    tap_is(fake_domid_invalid_ops(), 0, "no vm_event op ever reached Xen for DOMID_INVALID");

    fake_domain_add(8, FAKE_DOM_HVM, 1, "dying");
    fake_domain_kill(8, 1);
    expect_refused(h, 8, VMEVENTCTL_RING_MONITOR, ENOENT, "dying domain: ENOENT");

    fake_set_vm_event_version(6);
    expect_refused(h, GUEST, VMEVENTCTL_RING_MONITOR, EPROTONOSUPPORT,
                   "Xen with interface version 6: EPROTONOSUPPORT");
    fake_set_vm_event_version(VM_EVENT_INTERFACE_VERSION);

    expect_refused(h, GUEST, VMEVENTCTL_RING_PAGING, ENOSYS, "paging on Debian's Xen: ENOSYS");
    expect_refused(h, GUEST, VMEVENTCTL_RING_SHARING, ENOSYS, "sharing on Debian's Xen: ENOSYS");
    fake_set_paging_sharing_built(1);
    expect_refused(h, GUEST, VMEVENTCTL_RING_PAGING, EOPNOTSUPP,
                   "paging where Xen has it: EOPNOTSUPP");
    tap_is(fake_ring_exists(GUEST, FAKE_RING_PAGING), 0, "  ... and the probing ring is gone");
    expect_refused(h, GUEST, 99, EINVAL, "unknown ring kind: EINVAL");
    vmeventctl_close(h);
}

static void test_enable(void)
{
    vmeventctl_handle *h = fx_world(2);
    vmeventctl_ring *r, *r2;
    char *rec, want[32];

    r = vmeventctl_ring_enable(h, GUEST, VMEVENTCTL_RING_MONITOR, 0);
    tap_ok(r != NULL, "enable a monitor ring");
    tap_is(fake_ring_exists(GUEST, FAKE_RING_MONITOR), 1, "  Xen has the ring");
    tap_is(fake_ring_xen_port_bound(GUEST), 1, "  our port is bound to Xen's");
    tap_is(vmeventctl_ring_xen_port(r), fake_ring_xen_port(GUEST), "  the Xen port is reported");
    tap_is(fake_pause_count(GUEST), 0, "  no pause reference kept");
    rec = fake_xs_read(RECORD);
    snprintf(want, sizeof(want), "%d ", (int)getpid());
    tap_ok(rec && !strncmp(rec, want, strlen(want)), "  ownership record names our pid");
    if ( rec )
        tap_diag("  record: %s", rec);
    free(rec);

    errno = 0;
    r2 = vmeventctl_ring_enable(h, GUEST, VMEVENTCTL_RING_MONITOR, 0);
    tap_ok(!r2 && errno == EBUSY, "second enable: EBUSY");
    tap_is(fake_ring_xen_port_bound(GUEST), 1, "  the first ring's port is still bound");
    rec = fake_xs_read(RECORD);
    tap_ok(rec != NULL, "  the first ring's record is still there");
    free(rec);

    tap_is(vmeventctl_ring_monitor(r, VMEVENTCTL_EVENT_CPUID, 1), 0, "cpuid on");
    errno = 0;
    tap_ok(vmeventctl_ring_monitor(r, VMEVENTCTL_EVENT_CPUID, 1) == -1 && errno == EEXIST,
           "cpuid on twice: EEXIST, as Xen answers");
    tap_is(vmeventctl_ring_events(r), VMEVENTCTL_EVENT_CPUID, "the ring remembers cpuid");
    errno = 0;
    tap_ok(vmeventctl_ring_monitor(r, 1u << 9, 1) == -1 && errno == EINVAL,
           "unknown event: EINVAL");

    vmeventctl_close(h);
    tap_ok(fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 0 && fx_nothing_left(),
           "close disables the ring it left enabled");
}

static void test_answer(void)
{
    vmeventctl_handle *h = fx_world(2);
    vmeventctl_ring *r = fx_ring(h);
    vm_event_request_t req;
    struct fake_ring_stats st;
    unsigned int notifies;

    tap_is(fake_vcpu_event(GUEST, 0, VM_EVENT_REASON_CPUID), FAKE_EVENT_PUT, "a CPUID event");
    tap_is(fake_vcpu_vm_event_paused(GUEST, 0), 1, "  pauses vCPU 0 until answered");
    tap_is(vmeventctl_ring_wait(r, 1000), 1, "wait sees it");
    tap_is(vmeventctl_ring_get_request(r, &req), 1, "read it");
    tap_ok(req.reason == VM_EVENT_REASON_CPUID && req.vcpu_id == 0 &&
           (req.flags & VM_EVENT_FLAG_VCPU_PAUSED), "  reason cpuid, vCPU 0, VCPU_PAUSED");
    tap_is(vmeventctl_ring_get_request(r, &req), 0, "nothing more to read");
    tap_is(vmeventctl_ring_put_response(r, &req, 0), 0, "answer it");
    errno = 0;
    tap_ok(vmeventctl_ring_put_response(r, &req, 0) == -1 && errno == ENOSPC,
           "a second answer to one request: ENOSPC");
    tap_is(fake_vcpu_vm_event_paused(GUEST, 0), 1, "  not unpaused before the notify");
    tap_is(vmeventctl_ring_notify(r), 0, "notify");
    tap_is(fake_vcpu_vm_event_paused(GUEST, 0), 0, "  vCPU 0 runs again");
    fake_ring_stats(GUEST, &st);
    tap_ok(st.unpaused == 1 && st.bad_version == 0 && st.without_request == 0,
           "  Xen took a version-7 response with VCPU_PAUSED for that vCPU");

    /* CPUID: Xen left RIP on the instruction; the answer steps past it. */
    {
        vm_event_request_t tmpl = { .reason = VM_EVENT_REASON_CPUID };
        vm_event_sring_t *sring = fake_ring_page(GUEST);
        vm_event_response_t *rsp;

        tmpl.u.cpuid.insn_length = 2;
        tmpl.data.regs.x86.rip = 0x1000;
        tmpl.data.regs.x86.rax = 0x756e6547; /* Xen's result, already in */
        fake_vcpu_event_ex(GUEST, 0, &tmpl, 1);
        vmeventctl_ring_get_request(r, &req);
        vmeventctl_ring_put_response(r, &req, 0);
        /* Not yet pushed: the answer sits at the private producer index. */
        rsp = &sring->ring[(sring->rsp_prod + 0) % FAKE_RING_SLOTS].rsp;
        tap_ok((rsp->flags & VM_EVENT_FLAG_SET_REGISTERS) &&
               rsp->data.regs.x86.rip == req.data.regs.x86.rip + 2 &&
               rsp->data.regs.x86.rax == req.data.regs.x86.rax,
               "a CPUID answer sets the registers Xen filled, RIP past the instruction");
        tap_diag("  request rip %#llx, answer rip %#llx", (unsigned long long)req.data.regs.x86.rip,
                 (unsigned long long)rsp->data.regs.x86.rip);
        vmeventctl_ring_notify(r);
        tap_is(fake_vcpu_vm_event_paused(GUEST, 0), 0, "  and unpauses the vCPU");
    }

    /* A batch: two vCPUs, one notify. */
    fake_vcpu_event(GUEST, 0, VM_EVENT_REASON_CPUID);
    fake_vcpu_event(GUEST, 1, VM_EVENT_REASON_CPUID);
    notifies = fake_call_count("xenevtchn_notify");
    tap_is(vmeventctl_ring_answer_all(r, NULL, NULL), 2, "answer_all answers both");
    tap_is(fake_call_count("xenevtchn_notify") - notifies, 1, "  with one notify for the batch");
    tap_is(fx_waiting(2), 0, "  both vCPUs run again");
    notifies = fake_call_count("xenevtchn_notify");
    tap_is(vmeventctl_ring_answer_all(r, NULL, NULL), 0, "answer_all on an empty ring: 0");
    tap_is(fake_call_count("xenevtchn_notify") - notifies, 0, "  and no notify");

    vmeventctl_ring_disable(r, 0, NULL);
    vmeventctl_close(h);
}

static void test_corrupt(void)
{
    vmeventctl_handle *h = fx_world(1);
    vmeventctl_ring *r = fx_ring(h);
    vm_event_sring_t *sring = fake_ring_page(GUEST);
    vm_event_request_t req;
    RING_IDX saved;

    fake_vcpu_event(GUEST, 0, VM_EVENT_REASON_CPUID);
    saved = sring->req_prod;
    sring->req_prod = saved + 9; /* one more than the ring holds */
    errno = 0;
    tap_ok(vmeventctl_ring_get_request(r, &req) == -1 && errno == EIO,
           "req_prod 9 ahead on an 8-slot ring: EIO");
    tap_ok(vmeventctl_ring_wait(r, 0) == -1 && errno == EIO, "  wait reports it too");
    sring->req_prod = saved;
    tap_is(vmeventctl_ring_get_request(r, &req), 1, "restored: the request is still there");
    vmeventctl_ring_put_response(r, &req, 0);
    vmeventctl_ring_notify(r);
    sring->req_prod = saved - 1; /* behind our consumer index */
    errno = 0;
    tap_ok(vmeventctl_ring_get_request(r, &req) == -1 && errno == EIO,
           "req_prod behind req_cons: EIO");
    sring->req_prod = saved;

    /* A malformed request is consumed, counted, and skipped by answer_all. */
    fake_vcpu_event(GUEST, 0, VM_EVENT_REASON_CPUID);
    sring->ring[(sring->req_prod - 1) % FAKE_RING_SLOTS].req.version = 6;
    errno = 0;
    tap_is(vmeventctl_ring_answer_all(r, NULL, NULL), 0,
           "a version-6 request is not answered as if it were ours");
    tap_is(fake_vcpu_vm_event_paused(GUEST, 0), 1, "  its vCPU stays waiting (only rescue can help)");

    vmeventctl_ring_disable(r, 50, NULL);
    vmeventctl_close(h);
}

static volatile sig_atomic_t alarms;
static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void test_wait(void)
{
    vmeventctl_handle *h = fx_world(1);
    vmeventctl_ring *r = fx_ring(h);
    struct sigaction sa;
    struct itimerval it = { .it_value = { .tv_usec = 20000 } };

    /*
     * Xen's evtchn_bind_interdomain sets the new port pending, so the first
     * wait after enable wakes once with nothing on the ring: harmless, the
     * caller finds the ring empty.
     */
    tap_is(vmeventctl_ring_wait(r, 0), 1, "the bind's own notification wakes the first wait");
    tap_is(vmeventctl_ring_answer_all(r, NULL, NULL), 0, "  with nothing on the ring");
    tap_is(vmeventctl_ring_wait(r, 0), 0, "wait(0) on an empty ring: 0 at once");
    tap_is(vmeventctl_ring_wait(r, 50), 0, "wait(50) times out with 0");

    /* A signal without SA_RESTART interrupts poll(): the wait goes on. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    setitimer(ITIMER_REAL, &it, NULL);
    tap_is(vmeventctl_ring_wait(r, 100), 0, "EINTR in the wait is retried, not returned");
    tap_is(alarms, 1, "  the signal did arrive");

    fake_vcpu_event(GUEST, 0, VM_EVENT_REASON_CPUID);
    tap_is(vmeventctl_ring_wait(r, -1), 1, "a request on the ring ends an endless wait at once");
    tap_is(vmeventctl_ring_answer_all(r, NULL, NULL), 1, "  and is answered");
    /* Its notification is still queued on the fd: read by the next wait. */
    tap_is(vmeventctl_ring_wait(r, 0), 1, "the next wait reads the stale notification");
    tap_is(fake_evtchn_unread(), 0, "  the fd is drained");
    tap_is(vmeventctl_ring_wait(r, 0), 0, "  and the wait after it finds nothing");

    tap_is(vmeventctl_stop_requested(h), 0, "no stop requested yet");
    vmeventctl_request_stop(h);
    errno = 0;
    tap_ok(vmeventctl_ring_wait(r, -1) == -1 && errno == ECANCELED,
           "after vmeventctl_request_stop, wait answers ECANCELED");
    tap_is(vmeventctl_stop_requested(h), 1, "  and stop_requested says so");

    vmeventctl_ring_disable(r, 50, NULL);
    vmeventctl_close(h);
}

int main(void)
{
    test_open_close();
    test_enable_refusals();
    test_enable();
    test_answer();
    test_corrupt();
    test_wait();
    return tap_done();
}
