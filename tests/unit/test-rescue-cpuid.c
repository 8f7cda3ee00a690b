/*
 * test-rescue-cpuid: a rescued vCPU that waited on a CPUID event goes on
 * as if its agent had answered, against the fake Xen 4.17.
 *
 * Xen's hvm_vmexit_cpuid writes the result into RAX..RDX, then sends the
 * event with RIP left on the CPUID; the dead ring's request cannot be
 * read.  A bare answer makes the vCPU run CPUID again with the result as
 * its leaf (docs/findings.md #5); the rescue's answer completes it, and
 * Xen applies that only as the vCPU runs before the fresh ring goes.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "fixture.h"


static void regs_of(unsigned int v, struct vm_event_regs_x86 *regs)
{
    if ( fake_vcpu_get_regs(GUEST, v, regs) )
        tap_bail("registers of vCPU %u", v);
}

/* Both vCPUs waited on CPUID leaf 0 at RIP 0x4000 + 0x100 v. */
static void dead_agent_on_leaf0(unsigned int nr_vcpus)
{
    struct vm_event_regs_x86 regs;
    unsigned int v;

    fx_dead_agent(nr_vcpus, 1, 0);
    for ( v = 0; v < nr_vcpus; v++ )
    {
        regs_of(v, &regs);
        regs.rip = 0x4000 + 0x100 * v;
        regs.rax = 0;
        regs.rbx = 0xffff888000002000ull;
        regs.rcx = 0;
        regs.rdx = 0xffffffff81234567ull;
        regs.rsi = 0x5150 + v;
        regs.rflags = 0x246;
        fake_vcpu_set_regs(GUEST, v, &regs);
        if ( fake_vcpu_event(GUEST, v, VM_EVENT_REASON_CPUID) != FAKE_EVENT_PUT )
            tap_bail("CPUID event of vCPU %u", v);
    }
}

static void test_completed(void)
{
    struct vmeventctl_rescue_report rep;
    struct vm_event_regs_x86 regs;
    struct fake_ring_stats st;
    vmeventctl_handle *h;
    unsigned int v;

    dead_agent_on_leaf0(2);
    h = fx_open();
    fake_set_autostep(1);
    tap_is(vmeventctl_rescue(h, GUEST, 0, &rep), 0, "2 vCPUs waiting on CPUID leaf 0: rescue");
    tap_is(rep.cpuid_found, 2, "  both found on their CPUID");
    tap_is(rep.cpuid_completed, 2, "  both completed");
    fake_ring_stats(GUEST, &st);
    tap_ok(st.cpuid_completed == 2 && st.cpuid_reruns == 0 && st.regs_dropped == 0,
           "  no vCPU runs CPUID again; Xen applied both answers");
    for ( v = 0; v < 2; v++ )
    {
        char what[96];

        regs_of(v, &regs);
        snprintf(what, sizeof(what), "  vCPU %u: RIP past the CPUID, leaf 0's result kept", v);
        /* The model's leaf 0: maximum leaf 0xd, "AuthenticAMD". */
        tap_ok(regs.rip == 0x4002 + 0x100 * v && regs.rax == 0xd && regs.rbx == 0x68747541 &&
               regs.rcx == 0x444d4163 && regs.rdx == 0x69746e65 && regs.rsi == 0x5150 + v &&
               regs.rflags == 0x246, what);
    }
    tap_ok(fx_waiting(2) == 0 && fake_pause_count(GUEST) == 0 &&
           fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 0 && fx_nothing_left(),
           "  nothing waiting, paused, or left behind");
    tap_is(rep.late_requests, 0, "  no request came on the fresh ring");
    vmeventctl_close(h);
}

/* Waiting on another event: the bare answer, RIP where it was. */
static void test_other_event(void)
{
    struct vmeventctl_rescue_report rep;
    struct vm_event_regs_x86 before, after;
    vmeventctl_handle *h;

    fx_dead_agent(1, 1, 0);
    if ( fake_vcpu_event(GUEST, 0, VM_EVENT_REASON_MEM_ACCESS) != FAKE_EVENT_PUT )
        tap_bail("the mem_access event was not put");
    regs_of(0, &before);
    h = fx_open();
    fake_set_autostep(1);
    tap_is(vmeventctl_rescue(h, GUEST, 0, &rep), 0, "a vCPU waiting on mem_access: rescue");
    regs_of(0, &after);
    tap_ok(rep.cpuid_found == 0 && after.rip == before.rip && fx_waiting(1) == 0,
           "  bare answer: RIP left alone, the vCPU runs again");
    vmeventctl_close(h);
}

/*
 * Upper halves set: not a CPUID's 32-bit result, so not a vCPU Xen left
 * on its CPUID (one about to run it, say): never skipped.
 */
static void test_not_a_result(void)
{
    struct vmeventctl_rescue_report rep;
    struct vm_event_regs_x86 regs;
    vmeventctl_handle *h;

    dead_agent_on_leaf0(1);
    regs_of(0, &regs);
    regs.rbx |= 0xffff000000000000ull;
    fake_vcpu_set_regs(GUEST, 0, &regs);
    h = fx_open();
    fake_set_autostep(1);
    tap_is(vmeventctl_rescue(h, GUEST, 0, &rep), 0, "RBX with upper bits at a CPUID: rescue");
    tap_is(rep.cpuid_found, 0, "  not taken for a waiting CPUID: bare answer");
    vmeventctl_close(h);
}

/* The context cannot be read: the bare answer, and the rescue succeeds. */
static void test_context_refused(void)
{
    struct vmeventctl_rescue_report rep;
    struct fake_ring_stats st;
    vmeventctl_handle *h;

    dead_agent_on_leaf0(1);
    h = fx_open();
    fake_set_autostep(1);
    fake_fail_func("xc_domain_hvm_getcontext_partial", 1, EPERM);
    tap_is(vmeventctl_rescue(h, GUEST, 0, &rep), 0, "HVM context refused: the rescue still succeeds");
    fake_fail_clear();
    fake_ring_stats(GUEST, &st);
    tap_ok(rep.cpuid_found == 0 && st.cpuid_wrong_leaf == 1 && fx_waiting(1) == 0,
           "  bare answer: the vCPU runs again, and CPUID with the result as its leaf");
    vmeventctl_close(h);
}

/*
 * A completed vCPU that cannot run before the fresh ring goes: Xen drops
 * its registers, and the report says so rather than "completed".
 */
static void test_never_runs(void)
{
    struct vmeventctl_rescue_report rep;
    struct fake_ring_stats st;
    vmeventctl_handle *h;

    dead_agent_on_leaf0(2);
    fake_vcpu_set_stuck(GUEST, 1, 1);
    h = fx_open();
    fake_set_autostep(1);
    vmeventctl_rescue(h, GUEST, 0, &rep);
    fake_ring_stats(GUEST, &st);
    tap_ok(rep.cpuid_found == 2 && rep.cpuid_completed == 1,
           "vCPU 1 kept from running: 1 of 2 completions reported");
    tap_is(st.regs_dropped, 1, "  Xen dropped its registers at the fresh ring's disable");
    tap_ok(fake_pause_count(GUEST) == 0 && fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 0,
           "  not paused, no ring left");
    vmeventctl_close(h);
}

/*
 * An administrator's pause: nothing can run; the rescue leaves that pause
 * in place and reports the completion lost.
 */
static void test_admin_paused(void)
{
    struct vmeventctl_rescue_report rep;
    vmeventctl_handle *h;

    dead_agent_on_leaf0(1);
    fake_domain_set_pause_count(GUEST, 1);
    h = fx_open();
    fake_set_autostep(1);
    tap_is(vmeventctl_rescue(h, GUEST, 0, &rep), 0, "paused by an administrator: rescue");
    tap_ok(rep.cpuid_found == 1 && rep.cpuid_completed == 0,
           "  the completion reported lost, not done");
    tap_is(fake_pause_count(GUEST), 1, "  the administrator's pause is kept");
    vmeventctl_close(h);
}

/*
 * A request on the fresh ring while the completions run (nothing should
 * send one): answered bare before the disable, not left waiting on a ring
 * that goes.
 */
static void raise_on_release(const char *fn, void *arg)
{
    int *done = arg;

    if ( !*done && !strcmp(fn, "xc_vcpu_getinfo") && fake_pause_count(GUEST) == 0 &&
         fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 1 )
        *done = fake_vcpu_event(GUEST, 1, VM_EVENT_REASON_MEM_ACCESS) == FAKE_EVENT_PUT;
}

static void test_late_request(void)
{
    struct vmeventctl_rescue_report rep;
    vmeventctl_handle *h;
    int done = 0;

    fx_dead_agent(2, 1, 0);
    {
        struct vm_event_regs_x86 regs;

        regs_of(0, &regs);
        regs.rip = 0x4000;
        regs.rax = 0;
        regs.rcx = 0;
        fake_vcpu_set_regs(GUEST, 0, &regs);
        if ( fake_vcpu_event(GUEST, 0, VM_EVENT_REASON_CPUID) != FAKE_EVENT_PUT )
            tap_bail("CPUID event of vCPU 0");
    }
    h = fx_open();
    fake_set_autostep(1);
    fake_set_call_hook(raise_on_release, &done);
    tap_is(vmeventctl_rescue(h, GUEST, 0, &rep), 0, "a request on the fresh ring while it runs: rescue");
    fake_set_call_hook(NULL, NULL);
    if ( !done )
        tap_bail("the test's request was never raised");
    tap_is(rep.late_requests, 1, "  the request is counted");
    tap_is(fx_waiting(2), 0, "  and answered: no vCPU waits on the ring that went");
    tap_is(rep.cpuid_completed, 1, "  the CPUID still completed");
    vmeventctl_close(h);
}

int main(void)
{
    test_completed();
    test_other_event();
    test_not_a_result();
    test_context_refused();
    test_never_runs();
    test_admin_paused();
    test_late_request();
    return tap_done();
}
