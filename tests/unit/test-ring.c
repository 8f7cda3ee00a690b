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

    /*
     * CPUID: Xen put its result in the registers and left RIP on the
     * instruction (2 bytes).  The default answer sets the registers with
     * RIP past it, and Xen writes them into the vCPU when it next runs.
     * Every register the guest sees afterwards is checked: leaf 0's
     * answer on an Intel host, and registers CPUID does not touch.
     */
    {
        vm_event_sring_t *sring = fake_ring_page(GUEST);
        vm_event_response_t *rsp;
        struct vm_event_regs_x86 regs;

        fake_domain_step(GUEST, 1); /* vCPU 0 takes the first answer */
        fake_ring_stats(GUEST, &st);
        tap_is(st.regs_applied, 1, "  the first answer's registers were applied as vCPU 0 ran");
        fake_vcpu_get_regs(GUEST, 0, &regs);
        regs.rip = 0x1000;
        regs.rax = 0x16;         /* highest leaf */
        regs.rbx = 0x756e6547;   /* "Genu" */
        regs.rcx = 0x6c65746e;   /* "ntel" */
        regs.rdx = 0x49656e69;   /* "ineI" */
        regs.rsi = 0x5151;
        regs.rdi = 0xd1d1;
        regs.rbp = 0xb0b0;
        regs.rsp = 0x7ff0;
        regs.r8 = 0x8888;
        regs.r15 = 0xf15f15;
        regs.rflags = 0x202;
        fake_vcpu_set_regs(GUEST, 0, &regs);
        tap_is(fake_vcpu_event(GUEST, 0, VM_EVENT_REASON_CPUID), FAKE_EVENT_PUT,
               "a CPUID event at RIP 0x1000");
        vmeventctl_ring_get_request(r, &req);
        vmeventctl_ring_put_response(r, &req, 0);
        /* Not yet pushed: the answer sits at the private producer index. */
        rsp = &sring->ring[(sring->rsp_prod + 0) % FAKE_RING_SLOTS].rsp;
        tap_ok((rsp->flags & VM_EVENT_FLAG_SET_REGISTERS) && rsp->data.regs.x86.rip == 0x1002,
               "  the answer sets the registers, RIP past the instruction");
        vmeventctl_ring_notify(r);
        tap_is(fake_vcpu_vm_event_paused(GUEST, 0), 0, "  and unpauses the vCPU");
        fake_vcpu_get_regs(GUEST, 0, &regs);
        tap_ok(fake_vcpu_regs_pending(GUEST, 0) == 1 && regs.rip == 0x1000,
               "  Xen stored the registers; the vCPU has not run yet");
        fake_domain_step(GUEST, 1);
        fake_vcpu_get_regs(GUEST, 0, &regs);
        tap_is(regs.rip, 0x1002, "  once it ran: RIP past the CPUID");
        tap_is(regs.rax, 0x16, "  RAX: Xen's result");
        tap_is(regs.rbx, 0x756e6547, "  RBX: Xen's result");
        tap_is(regs.rcx, 0x6c65746e, "  RCX: Xen's result");
        tap_is(regs.rdx, 0x49656e69, "  RDX: Xen's result");
        tap_ok(regs.rsi == 0x5151 && regs.rdi == 0xd1d1 && regs.rbp == 0xb0b0 &&
               regs.rsp == 0x7ff0 && regs.r8 == 0x8888 && regs.r15 == 0xf15f15 &&
               regs.rflags == 0x202, "  the other registers as they were");
        fake_ring_stats(GUEST, &st);
        tap_ok(st.regs_applied == 2 && st.regs_dropped == 0 &&
               fake_vcpu_regs_pending(GUEST, 0) == 0,
               "  applied once, nothing dropped");
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

/*
 * Enable holds a pause from before xc_monitor_enable until the ring's
 * shared indices are set and our port is bound: libxc unpauses the domain
 * before it returns, and a request produced before SHARED_RING_INIT would
 * be wiped, its vCPU waiting for ever.
 */
static int hook_pause_at_enable = -1, hook_event_at_bind = -2, hook_init_at_unpause = -1;

static void watch_enable_window(const char *fn, void *arg)
{
    vm_event_sring_t *sring;

    (void)arg;
    if ( !strcmp(fn, "xc_monitor_enable") )
        hook_pause_at_enable = fake_pause_count(GUEST);
    else if ( !strcmp(fn, "xenevtchn_bind_interdomain") )
    {
        /* The first moment after xc_monitor_enable returned. */
        vm_event_request_t tmpl = { .reason = VM_EVENT_REASON_GUEST_REQUEST };

        errno = 0;
        hook_event_at_bind = fake_vcpu_event_ex(GUEST, 0, &tmpl, 1);
        if ( hook_event_at_bind < 0 )
            hook_event_at_bind = -errno;
    }
    else if ( !strcmp(fn, "xc_domain_unpause") && hook_init_at_unpause < 0 &&
              (sring = fake_ring_page(GUEST)) )
        hook_init_at_unpause = sring->req_event == 1 && sring->rsp_event == 1;
}

static void test_enable_pause_window(void)
{
    vmeventctl_handle *h = fx_world(1);
    vmeventctl_ring *r;

    fake_set_call_hook(watch_enable_window, NULL);
    r = vmeventctl_ring_enable(h, GUEST, VMEVENTCTL_RING_MONITOR, 0);
    fake_set_call_hook(NULL, NULL);
    tap_ok(r != NULL, "enable with the pause window watched");
    tap_is(hook_pause_at_enable, 1, "  our pause is held when xc_monitor_enable starts");
    tap_is(hook_event_at_bind, -EAGAIN,
           "  no vCPU can put a request between libxc's unpause and the ring's initialisation");
    tap_is(hook_init_at_unpause, 1, "  the shared indices are set before our pause is released");
    tap_is(fake_pause_count(GUEST), 0, "  and no pause is left");
    vmeventctl_ring_disable(r, 50, NULL);
    vmeventctl_close(h);
}

/*
 * libxc returns NULL after Xen enabled the ring when the gfn's removal or
 * its final unpause fails (xc_vm_event.c, xc_vm_event_enable).  The enable
 * finds that ring with the resume probe and disables it.
 */
static void test_enable_null_after_xen_enabled(void)
{
    vmeventctl_handle *h = fx_world(1);
    struct fake_ring_stats st;
    vmeventctl_ring *r;

    fake_fail_after_enable(1, EINVAL);
    errno = 0;
    r = vmeventctl_ring_enable(h, GUEST, VMEVENTCTL_RING_MONITOR, 0);
    tap_ok(!r && errno == EINVAL, "xc_monitor_enable NULL after Xen enabled the ring: NULL, its errno");
    fake_ring_stats(GUEST, &st);
    tap_ok(fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 0 && st.enables == 1 && st.disables == 1,
           "  the ring Xen enabled is disabled again");
    tap_ok(fx_nothing_left() && fake_pause_count(GUEST) == 0, "  no record, port, mapping or pause left");
    r = vmeventctl_ring_enable(h, GUEST, VMEVENTCTL_RING_MONITOR, 0);
    tap_ok(r != NULL, "  a later enable succeeds (no EBUSY)");
    if ( r )
        vmeventctl_ring_disable(r, 50, NULL);

    /* The probe cannot tell: the ring may be there; our record names it. */
    fake_fail_after_enable(1, ENOMEM);
    fake_fail_func("xc_monitor_resume", 1, EPERM);
    errno = 0;
    r = vmeventctl_ring_enable(h, GUEST, VMEVENTCTL_RING_MONITOR, 0);
    fake_fail_clear();
    tap_ok(!r && errno == ENOMEM, "the probe failing too: NULL with the enable's errno");
    tap_ok(fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 1 && fx_record_says(NULL) &&
           !fx_record_says("paused") && fake_pause_count(GUEST) == 0,
           "  the ring stays, named by our unmarked record, and no pause is left");
    fake_xs_write(RECORD, "4194305 1 dead-agent"); /* as if we had exited */
    tap_is(vmeventctl_rescue(h, GUEST, 0, NULL), 0, "  which a rescue takes once the owner is gone");
    vmeventctl_close(h);
}

/*
 * Software breakpoints: Xen leaves RIP on the INT3 and injects nothing, so
 * the default answer re-injects the #BP (as xen-access), before the answer
 * reaches Xen.  The fake runs an INT3 again when its vCPU resumes with
 * nothing injected (fake-xen.c: step_domain).
 */
static unsigned int injects_at_notify;

static void count_injects_at_notify(const char *fn, void *arg)
{
    (void)arg;
    if ( !strcmp(fn, "xenevtchn_notify") )
        injects_at_notify = fake_call_count("xc_hvm_inject_trap");
}

static void test_breakpoint(void)
{
    vmeventctl_handle *h = fx_world(2);
    vmeventctl_ring *r = fx_ring(h);
    vm_event_request_t req;
    struct fake_ring_stats st;

    tap_is(vmeventctl_ring_monitor(r, VMEVENTCTL_EVENT_SOFTWARE_BREAKPOINT, 1), 0,
           "software breakpoints on");
    tap_is(fake_vcpu_event(GUEST, 0, VM_EVENT_REASON_SOFTWARE_BREAKPOINT), FAKE_EVENT_PUT,
           "an INT3 on vCPU 0");
    tap_is(vmeventctl_ring_get_request(r, &req), 1, "  read it");
    tap_is(req.u.software_breakpoint.insn_length, 1, "  insn_length 1, as Xen fills it");
    tap_is(vmeventctl_ring_put_response(r, &req, 0), 0, "answer it with the default answer");
    tap_is(fake_call_count("xc_hvm_inject_trap"), 1, "  the #BP is re-injected at once");
    fake_set_call_hook(count_injects_at_notify, NULL);
    vmeventctl_ring_notify(r);
    fake_set_call_hook(NULL, NULL);
    tap_is(injects_at_notify, 1, "  before the answer reaches Xen");
    fake_domain_step(GUEST, 1);
    fake_ring_stats(GUEST, &st);
    tap_ok(st.bp_delivered == 1 && st.int3_rerun == 0, "  the guest takes its #BP; the INT3 is not run again");
    tap_is(vmeventctl_ring_get_request(r, &req), 0, "  and no new event follows");

    /* answer_all: the same, for a batch. */
    fake_vcpu_event(GUEST, 0, VM_EVENT_REASON_SOFTWARE_BREAKPOINT);
    fake_vcpu_event(GUEST, 1, VM_EVENT_REASON_SOFTWARE_BREAKPOINT);
    tap_is(vmeventctl_ring_answer_all(r, NULL, NULL), 2, "answer_all answers two breakpoints");
    fake_domain_step(GUEST, 1);
    fake_ring_stats(GUEST, &st);
    tap_ok(st.bp_delivered == 3 && st.int3_rerun == 0 && fx_waiting(2) == 0,
           "  both #BPs reach the guest, no INT3 runs again");

    /* A failed injection: put_response queues nothing, a retry works. */
    fake_vcpu_event(GUEST, 1, VM_EVENT_REASON_SOFTWARE_BREAKPOINT);
    vmeventctl_ring_get_request(r, &req);
    fake_fail_func("xc_hvm_inject_trap", 1, EBUSY);
    errno = 0;
    tap_ok(vmeventctl_ring_put_response(r, &req, 0) == -1 && errno == EBUSY,
           "re-injection failing: put_response -1 with its errno");
    vmeventctl_ring_notify(r);
    tap_is(fake_vcpu_vm_event_paused(GUEST, 1), 1, "  nothing was answered: vCPU 1 still waits");
    tap_is(vmeventctl_ring_put_response(r, &req, 0), 0, "  answered again: the injection is retried");
    vmeventctl_ring_notify(r);
    fake_domain_step(GUEST, 1);
    fake_ring_stats(GUEST, &st);
    tap_ok(st.bp_delivered == 4 && st.int3_rerun == 0 && fx_waiting(2) == 0, "  and the #BP is delivered");

    /* answer_all with a failed injection answers all the same: no freeze. */
    fake_vcpu_event(GUEST, 0, VM_EVENT_REASON_SOFTWARE_BREAKPOINT);
    fake_fail_func("xc_hvm_inject_trap", 1, EBUSY);
    tap_is(vmeventctl_ring_answer_all(r, NULL, NULL), 1,
           "answer_all with a failed re-injection (logged) answers and counts it");
    tap_is(fake_vcpu_vm_event_paused(GUEST, 0), 0, "  the vCPU was answered all the same");
    fake_domain_step(GUEST, 1);
    fake_ring_stats(GUEST, &st);
    tap_ok(st.int3_rerun == 1 && st.bp_delivered == 4 && fx_waiting(2) == 1,
           "  a bare answer runs the INT3 again: a new event on the same vCPU");
    tap_is(vmeventctl_ring_answer_all(r, NULL, NULL), 1, "  answered, this time with the #BP");
    fake_domain_step(GUEST, 1);
    fake_ring_stats(GUEST, &st);
    tap_ok(st.bp_delivered == 5 && fx_waiting(2) == 0, "  which the guest takes");

    /* The safe disable answers an outstanding breakpoint the same way. */
    fake_vcpu_event(GUEST, 1, VM_EVENT_REASON_SOFTWARE_BREAKPOINT);
    vmeventctl_ring_get_request(r, &req);
    fake_set_autostep(1); /* the settle watches the answered vCPU run */
    tap_is(vmeventctl_ring_disable(r, 50, NULL), 0, "safe disable with a breakpoint read and not answered");
    fake_set_autostep(0);
    fake_domain_step(GUEST, 1);
    fake_ring_stats(GUEST, &st);
    if ( !tap_ok(st.bp_delivered == 6 && st.int3_rerun == 1 && fx_waiting(2) == 0,
                 "  its #BP is re-injected, the vCPU runs on") )
        tap_diag("  delivered %lu, rerun %lu, injected %lu, waiting %u", st.bp_delivered,
                 st.int3_rerun, st.injected, fx_waiting(2));
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
    test_enable_pause_window();
    test_enable_null_after_xen_enabled();
    test_breakpoint();
    test_wait();
    return tap_done();
}
