/*
 * test-rescue: bringing back a guest whose agent died, against the fake
 * Xen 4.17.  The dead agent is played by a ring enabled through the
 * library and then abandoned: its record names a pid that cannot exist,
 * and its vCPUs wait for replies that will never come.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <stdio.h>

#include "fixture.h"

static void test_rescue(unsigned int nr_vcpus, unsigned int nr_events)
{
    struct vmeventctl_rescue_report rep;
    struct fake_ring_stats st;
    vmeventctl_handle *h;
    vmeventctl_ring *r;
    char what[64];

    fx_dead_agent(nr_vcpus, 1, nr_events);
    h = fx_open();
    snprintf(what, sizeof(what), "rescue a dead agent's guest: %u of %u vCPUs waiting",
             nr_events, nr_vcpus);
    tap_is(fx_waiting(nr_vcpus), nr_events, "the dead agent left its vCPUs waiting");
    fake_set_autostep(1);
    tap_is(vmeventctl_rescue(h, GUEST, 0, &rep), 0, what);
    tap_ok(rep.dead_ring_found && rep.dead_ring_disabled && rep.fresh_ring_disabled,
           "  dead ring found and disabled, fresh ring disabled");
    tap_is(rep.vcpus_answered, nr_vcpus, "  one answer per vCPU");
    tap_is(rep.batches, (nr_vcpus + 7) / 8, "  at most 8 per batch");
    tap_is(fx_waiting(nr_vcpus), 0, "  no vCPU waiting any more");
    tap_is(rep.vcpus_stuck, 0, "  every vCPU seen running after");
    tap_is(fake_pause_count(GUEST), 0, "  our pause reference released");
    tap_ok(fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 0 && fx_nothing_left(),
           "  no ring, port, mapping or record left");
    fake_ring_stats(GUEST, &st);
    tap_diag("  Xen skipped %lu answers for vCPUs not waiting", st.not_waiting);

    r = vmeventctl_ring_enable(h, GUEST, VMEVENTCTL_RING_MONITOR, 0);
    tap_ok(r != NULL, "  a new agent can enable again (no EBUSY)");
    vmeventctl_ring_disable(r, 50, NULL);
    vmeventctl_close(h);
}

/*
 * A vCPU that does not run after its answer (asleep on a wait queue the
 * rescue cannot see, say): the rescue did everything right and still
 * must say that vCPU may be frozen.
 */
static void test_still_frozen(void)
{
    struct vmeventctl_rescue_report rep;
    vmeventctl_handle *h;

    fx_dead_agent(2, 1, 2);
    h = fx_open();
    fake_vcpu_set_stuck(GUEST, 1, 1);
    fake_set_autostep(1);
    tap_is(vmeventctl_rescue(h, GUEST, 0, &rep), 0, "rescue with vCPU 1 kept from running: every step done");
    tap_ok(rep.dead_ring_disabled && rep.fresh_ring_disabled && rep.vcpus_answered == 2,
           "  both vCPUs answered through a fresh ring");
    tap_is(fx_waiting(2), 0, "  neither waits for a reply any more");
    tap_is(rep.vcpus_stuck, 1, "  the report says one vCPU was not seen running: it may still be frozen");
    tap_is(fake_vcpu_cpu_time(GUEST, 1), 0, "  (vCPU 1 never ran)");
    vmeventctl_close(h);
}

static void test_refusals(void)
{
    struct vmeventctl_rescue_report rep;
    vmeventctl_handle *h;
    vmeventctl_ring *r;

    /* A live owner: ours. */
    h = fx_world(1);
    r = fx_ring(h);
    fake_vcpu_event(GUEST, 0, VM_EVENT_REASON_CPUID);
    errno = 0;
    tap_ok(vmeventctl_rescue(h, GUEST, VMEVENTCTL_RESCUE_FORCE, &rep) == -1 && errno == EBUSY,
           "a live owner's ring: EBUSY, even with force");
    tap_ok(rep.guest_changed == 0 && fake_pause_count(GUEST) == 0 &&
           fake_vcpu_vm_event_paused(GUEST, 0) == 1 && fake_ring_xen_port_bound(GUEST) == 1,
           "  nothing changed");
    vmeventctl_ring_disable(r, 50, NULL);
    vmeventctl_close(h);

    /* No record: another tool's ring. */
    fx_dead_agent(1, 0, 1);
    h = fx_open();
    errno = 0;
    tap_ok(vmeventctl_rescue(h, GUEST, 0, &rep) == -1 && errno == EPERM,
           "no record (unknown owner): EPERM without force");
    tap_ok(fake_pause_count(GUEST) == 0 && fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 1 &&
           fake_vcpu_vm_event_paused(GUEST, 0) == 1, "  nothing changed");
    fake_set_autostep(1);
    tap_is(vmeventctl_rescue(h, GUEST, VMEVENTCTL_RESCUE_FORCE, &rep), 0, "  with force: rescued");
    tap_is(fx_waiting(1), 0, "  vCPU released");

    errno = 0;
    tap_ok(vmeventctl_rescue(h, GUEST, VMEVENTCTL_RESCUE_FORCE, &rep) == -1 && errno == ENODEV,
           "no ring: ENODEV");
    tap_ok(fake_pause_count(GUEST) == 0 && !rep.guest_changed, "  nothing changed");
    errno = 0;
    tap_ok(vmeventctl_rescue(h, 0, VMEVENTCTL_RESCUE_FORCE, &rep) == -1 && errno == EINVAL,
           "dom0: EINVAL");
    tap_ok(vmeventctl_rescue(h, 42, VMEVENTCTL_RESCUE_FORCE, &rep) == -1 && errno == ESRCH,
           "missing domain: ESRCH");
    vmeventctl_close(h);
}

static void test_unsafe_disabled(void)
{
    struct vmeventctl_rescue_report rep;
    vmeventctl_handle *h;

    /* An agent that disabled the unsafe way: no ring, vCPU still waiting. */
    xc_interface *xch;

    fx_dead_agent(1, 0, 1);
    xch = xc_interface_open(NULL, NULL, 0);
    xc_monitor_disable(xch, GUEST);
    xc_interface_close(xch);
    tap_is(fake_vcpu_vm_event_paused(GUEST, 0), 1, "unsafe disable left vCPU 0 waiting, no ring");
    h = fx_open();
    fake_set_autostep(1);
    tap_is(vmeventctl_rescue(h, GUEST, VMEVENTCTL_RESCUE_FORCE | VMEVENTCTL_RESCUE_NO_RING, &rep),
           0, "rescue with no-ring answers through a fresh ring");
    tap_ok(!rep.dead_ring_found && rep.fresh_ring_disabled && fx_waiting(1) == 0,
           "  the vCPU runs again");
    vmeventctl_close(h);
}

static void test_wait_queue(void)
{
    struct vmeventctl_rescue_report rep;
    vmeventctl_handle *h;

    fx_dead_agent(1, 1, 1);
    fake_ring_set_waiters(GUEST, 1);
    h = fx_open();
    errno = 0;
    tap_ok(vmeventctl_rescue(h, GUEST, 0, &rep) == -1 && errno == EBUSY,
           "waiters on Xen's queue: EBUSY at the dead ring's disable");
    tap_is(rep.failed_step, VMEVENTCTL_RESCUE_STEP_DISABLE_DEAD, "  step named");
    {
        char *rec = fake_xs_read(RECORD);

        tap_ok(rec && !strcmp(rec, "4194305 1 dead-agent"),
               "  the dead owner's record is put back for the next run");
        free(rec);
    }
    tap_ok(!rep.guest_changed && fake_pause_count(GUEST) == 0 &&
           fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 1, "  nothing more touched, pause released");
    fake_ring_set_waiters(GUEST, 0);
    vmeventctl_close(h);
}

/*
 * More vCPUs waiting than the ring has slots: the rest sleep on Xen's wait
 * queue (vm_event.c: vm_event_wait_slot), so Xen refuses the dead ring's
 * disable with EBUSY, and no fresh ring can be had.  Say so, touch nothing.
 */
static void test_too_many_waiting(void)
{
    struct vmeventctl_rescue_report rep;
    vmeventctl_handle *h;

    unsigned int mask = 0;
    char *rec;

    fx_dead_agent(12, 1, 12);
    h = fx_open();
    fake_set_autostep(1);
    fake_log_mark();
    errno = 0;
    tap_ok(vmeventctl_rescue(h, GUEST, 0, &rep) == -1 && errno == EBUSY,
           "12 vCPUs waiting on an 8-slot ring: EBUSY");
    tap_is(rep.failed_step, VMEVENTCTL_RESCUE_STEP_CHECK, "  refused at the check, before any change");
    tap_ok(fake_call_count("xc_domain_pause") == 0 && fake_call_count("xc_monitor_disable") == 0 &&
           fake_call_count("xs_write") == 0, "  no pause, no disable attempt, no record written");
    fake_monitor_events(GUEST, &mask);
    tap_ok(!rep.guest_changed && fake_pause_count(GUEST) == 0 &&
           fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 1 && mask != 0,
           "  nothing changed: ring and the dead agent's monitor settings as found");
    rec = fake_xs_read(RECORD);
    tap_ok(rec && !strcmp(rec, "4194305 1 dead-agent"), "  the dead owner's record as found");
    free(rec);
    vmeventctl_close(h);

    /*
     * No ring, no wait queue: a paused 12-vCPU domain reads all 12 stuck,
     * but nobody sleeps on a queue, and the no-ring rescue goes ahead.
     */
    h = fx_world(12);
    fake_domain_set_pause_count(GUEST, 1);
    fake_set_autostep(1);
    rep.vcpus_stuck_before = 99;
    tap_ok(vmeventctl_rescue(h, GUEST, VMEVENTCTL_RESCUE_FORCE | VMEVENTCTL_RESCUE_NO_RING, &rep) == 0 &&
           rep.vcpus_stuck_before == 0,
           "12 vCPUs of a paused domain with no ring: the no-ring rescue is not refused");
    tap_is(fake_pause_count(GUEST), 1, "  the controller's pause is left as found");
    vmeventctl_close(h);

    /* The check's own calls failing: refused at the check, nothing changed. */
    {
        static const char *const fns[] = { "xc_monitor_resume", "xc_vcpu_getinfo" };
        unsigned int f;

        for ( f = 0; f < 2; f++ )
        {
            char what[96];

            fx_dead_agent(12, 1, 12);
            h = fx_open();
            fake_log_mark();
            fake_fail_func(fns[f], 1, EPERM);
            snprintf(what, sizeof(what), "the sleepers check's %s fails: refused at the check, EPERM", fns[f]);
            errno = 0;
            tap_ok(vmeventctl_rescue(h, GUEST, 0, &rep) == -1 && errno == EPERM &&
                   rep.failed_step == VMEVENTCTL_RESCUE_STEP_CHECK, what);
            fake_fail_clear();
            tap_ok(fake_call_count("xc_domain_pause") == 0 && fake_pause_count(GUEST) == 0 &&
                   fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 1, "  nothing changed");
            vmeventctl_close(h);
        }
    }

    /* 10 vCPUs, 8 waiting, none asleep on the queue: a rescue works. */
    fx_dead_agent(10, 1, 8);
    h = fx_open();
    fake_set_autostep(1);
    tap_is(vmeventctl_rescue(h, GUEST, 0, &rep), 0, "10 vCPUs, 8 waiting, no sleeper: rescued");
    tap_ok(fx_waiting(10) == 0 && fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 0,
           "  no vCPU waiting, no ring");
    vmeventctl_close(h);
}

static void test_killed_rescuer(void)
{
    struct vmeventctl_rescue_report rep;
    vmeventctl_handle *h;

    /* A rescuer killed while holding its pause: record says "paused". */
    fx_dead_agent(1, 0, 1);
    fake_domain_set_pause_count(GUEST, 1);
    fake_xs_write(RECORD, "4194305 1 xen-vmevent-dr paused");
    h = fx_open();
    fake_set_autostep(1);
    tap_is(vmeventctl_rescue(h, GUEST, 0, &rep), 0, "rescue after a killed rescue");
    tap_is(fake_pause_count(GUEST), 0, "  the killed rescue's pause reference is released too");
    tap_is(fx_waiting(1), 0, "  the vCPU runs again");
    vmeventctl_close(h);
}

/*
 * "paused N" in a dead owner's record (docs/findings.md #4): up to N
 * references to release, none when the domain is not controller-paused,
 * and an EINVAL from Xen (no pause left) ends the count without failing.
 */
static void test_dead_owner_pauses(void)
{
    struct vmeventctl_rescue_report rep;
    vmeventctl_handle *h;
    unsigned int before;

    /* An agent killed inside xc_monitor_enable: libxc's pause, no ring. */
    h = fx_world(2);
    fake_domain_set_pause_count(GUEST, 1);
    fake_xs_write(RECORD, "4194305 1 vmevent-test-ag paused 1");
    fake_set_autostep(1);
    tap_is(vmeventctl_rescue(h, GUEST, VMEVENTCTL_RESCUE_NO_RING, &rep), 0,
           "agent killed inside the enable (paused 1, no ring): rescue");
    tap_is(fake_pause_count(GUEST), 0, "  libxc's leaked pause reference is released");
    tap_ok(fx_nothing_left(), "  nothing left, record removed");
    vmeventctl_close(h);

    /* The record overstates: 3 marked, 1 held. */
    fx_dead_agent(2, 0, 2);
    fake_domain_set_pause_count(GUEST, 1);
    fake_xs_write(RECORD, "4194305 1 xen-vmevent-dr paused 3");
    h = fx_open();
    fake_set_autostep(1);
    before = fake_call_count("xc_domain_unpause");
    tap_is(vmeventctl_rescue(h, GUEST, 0, &rep), 0, "record says 3, 1 held: rescue succeeds");
    tap_is(rep.failed_step, VMEVENTCTL_RESCUE_STEP_NONE, "  no step failed: Xen's EINVAL ends the count");
    tap_is(fake_pause_count(GUEST), 0, "  the one held is released");
    tap_is(fake_call_count("xc_domain_unpause") - before, 3, "  ours, the one held, and one EINVAL");
    tap_is(fx_waiting(2), 0, "  the vCPUs run again");
    tap_ok(fx_nothing_left(), "  nothing left");
    vmeventctl_close(h);

    /* A stale mark: the domain is not controller-paused at all. */
    fx_dead_agent(1, 0, 1);
    fake_xs_write(RECORD, "4194305 1 xen-vmevent-dr paused 2");
    h = fx_open();
    fake_set_autostep(1);
    before = fake_call_count("xc_domain_unpause");
    tap_is(vmeventctl_rescue(h, GUEST, 0, &rep), 0, "stale mark on an unpaused domain: rescue");
    tap_is(fake_call_count("xc_domain_unpause") - before, 1, "  only our own reference is released");
    tap_is(fake_pause_count(GUEST), 0, "  not paused");
    vmeventctl_close(h);
}

/* The rescue's own record: marked before its pause, removed after release. */
struct rescue_order {
    unsigned int pauses, marked, rm, rm_while_paused;
};

static void watch_rescue(const char *fn, void *arg)
{
    struct rescue_order *o = arg;

    if ( !strcmp(fn, "xc_domain_pause") )
    {
        o->pauses++;
        o->marked += fx_record_says(" paused 2");
    }
    else if ( !strcmp(fn, "xs_rm") )
    {
        o->rm++;
        o->rm_while_paused += fake_pause_count(GUEST) != 0;
    }
}

static void test_rescue_order(void)
{
    struct vmeventctl_rescue_report rep;
    struct rescue_order o = { 0, 0, 0, 0 };
    vmeventctl_handle *h;
    char *rec;

    fx_dead_agent(2, 1, 2);
    h = fx_open();
    fake_set_autostep(1);
    fake_set_call_hook(watch_rescue, &o);
    tap_is(vmeventctl_rescue(h, GUEST, 0, &rep), 0, "rescue order: rescue");
    fake_set_call_hook(NULL, NULL);
    tap_ok(o.pauses == 1 && o.marked == 1,
           "  'paused 2' (ours and libxc's in the fresh enable) was written before the pause");
    tap_ok(o.rm >= 1 && o.rm_while_paused == 0, "  the record went only after the release");
    vmeventctl_close(h);

    /* Our pause refused: the dead owner's record is put back as it was. */
    fx_dead_agent(1, 1, 1);
    h = fx_open();
    fake_fail_func("xc_domain_pause", 1, EPERM);
    tap_ok(vmeventctl_rescue(h, GUEST, 0, &rep) == -1 && rep.failed_step == VMEVENTCTL_RESCUE_STEP_PAUSE,
           "our pause refused: the rescue fails at the pause");
    fake_fail_clear();
    rec = fake_xs_read(RECORD);
    tap_ok(rec && !strcmp(rec, "4194305 1 dead-agent"), "  the dead owner's record is back as it was");
    free(rec);
    vmeventctl_close(h);
}

/*
 * Step 5, on the fake's VMX host: a dead xen-access -m write left
 * access_required, every page rx and single-step behind.  Xen's monitor
 * disable clears none of them, and with access_required set and no ring
 * the guest's next write crashes it (p2m_mem_access_check).
 */
static void test_leftovers_vmx(void)
{
    struct vmeventctl_rescue_report rep;
    vmeventctl_handle *h;

    fx_dead_agent(2, 1, 2);
    fx_agent_leftovers(2);
    h = fx_open();
    fake_set_autostep(1);
    tap_is(vmeventctl_rescue(h, GUEST, 0, &rep), 0, "leftovers (VMX): rescue");
    tap_ok(rep.access_required == VMEVENTCTL_LEFTOVER_RESET && fake_access_required(GUEST) == 0,
           "  access_required reset and reported");
    tap_ok(rep.mem_access == VMEVENTCTL_LEFTOVER_RESET &&
           fake_default_access(GUEST) == XENMEM_access_rwx && fake_pages_restricted(GUEST) == 0,
           "  default and page access rwx again, reported reset");
    tap_ok(rep.single_step == VMEVENTCTL_LEFTOVER_RESET && fake_vcpu_single_step(GUEST, 0) == 0 &&
           fake_vcpu_single_step(GUEST, 1) == 0, "  single-step off on both vCPUs, reported reset");
    tap_ok(rep.altp2m == VMEVENTCTL_LEFTOVER_UNSUPPORTED && rep.altp2m_errno == EINVAL,
           "  altp2m: disabled for the domain (EINVAL), reported not supported");
    tap_is(rep.failed_step, VMEVENTCTL_RESCUE_STEP_NONE, "  no step failed");
    tap_is(fake_vcpu_mem_access(GUEST, 0, 10, 1), FAKE_EVENT_IGNORED,
           "  the guest's next write goes on: no crash");
    tap_ok(fake_pause_count(GUEST) == 0 && fx_waiting(2) == 0 && fx_nothing_left() &&
           fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 0, "  unpaused, nothing of ours left");
    vmeventctl_close(h);

    /* What the rescue is for: without step 5 the guest dies. */
    fx_dead_agent(1, 1, 0);
    fx_agent_leftovers(1);
    {
        xc_interface *xch = xc_interface_open(NULL, NULL, 0);

        xc_monitor_disable(xch, GUEST);
        xc_interface_close(xch);
    }
    tap_is(fake_vcpu_mem_access(GUEST, 0, 10, 1), FAKE_EVENT_CRASHED,
           "model: the monitor disable alone leaves access_required, and the next write crashes the guest");
}

/* The rig's host: SVM has no mem_access, single-step or altp2m. */
static void test_leftovers_svm(void)
{
    struct vmeventctl_rescue_report rep;
    vmeventctl_handle *h;

    fx_dead_agent(2, 1, 1);
    fake_set_host_svm(1);
    fx_agent_leftovers(2);
    tap_is(fake_access_required(GUEST), 1, "SVM: the dead agent's access_required is set");
    h = fx_open();
    fake_set_autostep(1);
    tap_is(vmeventctl_rescue(h, GUEST, 0, &rep), 0, "leftovers (SVM): rescue succeeds");
    tap_ok(rep.access_required == VMEVENTCTL_LEFTOVER_RESET && fake_access_required(GUEST) == 0,
           "  access_required reset");
    tap_ok(rep.mem_access == VMEVENTCTL_LEFTOVER_UNSUPPORTED && rep.mem_access_errno == EINVAL,
           "  mem_access: not supported here (EINVAL)");
    tap_ok(rep.single_step == VMEVENTCTL_LEFTOVER_UNSUPPORTED && rep.single_step_errno == EOPNOTSUPP,
           "  single-step: not supported here (EOPNOTSUPP)");
    tap_ok(rep.altp2m == VMEVENTCTL_LEFTOVER_UNSUPPORTED && rep.altp2m_errno == EOPNOTSUPP,
           "  altp2m: not supported here (EOPNOTSUPP)");
    tap_ok(rep.failed_step == VMEVENTCTL_RESCUE_STEP_NONE && fake_pause_count(GUEST) == 0 &&
           fx_waiting(2) == 0 && fx_nothing_left(), "  no failure, unpaused, nothing left");
    vmeventctl_close(h);
}

/*
 * Pages restricted one by one under an rwx default are left to Xen, which
 * lifts each on its first access once access_required is 0.  An active
 * altp2m is reported and kept.
 */
static void test_leftovers_pages_altp2m(void)
{
    struct vmeventctl_rescue_report rep;
    vmeventctl_handle *h;
    xc_interface *xch;

    fx_dead_agent(1, 1, 1);
    xch = xc_interface_open(NULL, NULL, 0);
    xc_domain_set_access_required(xch, GUEST, 1);
    xc_set_mem_access(xch, GUEST, XENMEM_access_r, 10, 2);
    xc_interface_close(xch);
    fake_altp2m_set(GUEST, 1, 1);
    h = fx_open();
    fake_set_autostep(1);
    tap_is(vmeventctl_rescue(h, GUEST, 0, &rep), 0, "two pages restricted, rwx default, altp2m on: rescue");
    tap_ok(rep.mem_access == VMEVENTCTL_LEFTOVER_NOTHING && fake_pages_restricted(GUEST) == 2,
           "  mem_access: the default was rwx, nothing reset, the two pages left");
    tap_ok(rep.altp2m == VMEVENTCTL_LEFTOVER_KEPT && fake_altp2m_active(GUEST) == 1,
           "  altp2m: active, reported kept, still active");
    tap_ok(fake_vcpu_mem_access(GUEST, 0, 11, 1) == FAKE_EVENT_IGNORED && fake_pages_restricted(GUEST) == 1,
           "  a write to one goes on, and Xen lifts its restriction");
    vmeventctl_close(h);
}

/* A reset that fails is reported; the rescue still answers and unpauses. */
static void test_leftovers_failures(void)
{
    struct vmeventctl_rescue_report rep;
    vmeventctl_handle *h;

    fx_dead_agent(2, 1, 2);
    fx_agent_leftovers(2);
    h = fx_open();
    fake_set_autostep(1);
    fake_fail_func("xc_domain_set_access_required", 1, EPERM);
    errno = 0;
    tap_ok(vmeventctl_rescue(h, GUEST, 0, &rep) == -1 && errno == EPERM,
           "access_required reset refused (EPERM): the rescue reports failure");
    fake_fail_clear();
    tap_ok(rep.failed_step == VMEVENTCTL_RESCUE_STEP_RESET_LEFTOVERS &&
           !strcmp(vmeventctl_rescue_step_name(rep.failed_step), "reset leftovers"),
           "  at step 'reset leftovers'");
    tap_ok(rep.access_required == VMEVENTCTL_LEFTOVER_FAILED && rep.access_required_errno == EPERM,
           "  access_required: failed, EPERM");
    tap_ok(rep.mem_access == VMEVENTCTL_LEFTOVER_RESET && rep.single_step == VMEVENTCTL_LEFTOVER_RESET,
           "  the other resets still done");
    tap_ok(rep.fresh_ring_disabled && fake_pause_count(GUEST) == 0 && fx_waiting(2) == 0 &&
           rep.vcpus_stuck == 0 && fx_nothing_left(),
           "  fresh ring disabled, guest unpaused and running, nothing left");
    vmeventctl_close(h);

    /* No fresh ring: access_required and single-step still, mem_access not. */
    fx_dead_agent(1, 1, 1);
    fx_agent_leftovers(1);
    h = fx_open();
    fake_set_autostep(1);
    fake_fail_func("xc_monitor_enable", 1, ENOMEM);
    tap_is(vmeventctl_rescue(h, GUEST, 0, &rep), -1, "fresh ring refused: the rescue fails");
    fake_fail_clear();
    tap_ok(rep.failed_step == VMEVENTCTL_RESCUE_STEP_ENABLE_FRESH &&
           rep.access_required == VMEVENTCTL_LEFTOVER_RESET && fake_access_required(GUEST) == 0 &&
           rep.single_step == VMEVENTCTL_LEFTOVER_RESET,
           "  at the enable, but access_required and single-step are reset");
    tap_ok(rep.mem_access == VMEVENTCTL_LEFTOVER_NOT_TRIED && fake_pause_count(GUEST) == 0,
           "  mem_access not tried (no ring), guest unpaused");
    vmeventctl_close(h);
}

/* An unsafe disable left no ring, a waiting vCPU and the leftovers. */
static void test_leftovers_no_ring(void)
{
    struct vmeventctl_rescue_report rep;
    vmeventctl_handle *h;
    xc_interface *xch;

    fx_dead_agent(1, 0, 1);
    fx_agent_leftovers(1);
    xch = xc_interface_open(NULL, NULL, 0);
    xc_monitor_disable(xch, GUEST);
    xc_interface_close(xch);
    h = fx_open();
    fake_set_autostep(1);
    tap_is(vmeventctl_rescue(h, GUEST, VMEVENTCTL_RESCUE_FORCE | VMEVENTCTL_RESCUE_NO_RING, &rep), 0,
           "no ring, leftovers: rescue with no-ring");
    tap_ok(rep.access_required == VMEVENTCTL_LEFTOVER_RESET && rep.mem_access == VMEVENTCTL_LEFTOVER_RESET &&
           rep.single_step == VMEVENTCTL_LEFTOVER_RESET && fake_access_required(GUEST) == 0 &&
           fake_pages_restricted(GUEST) == 0 && fx_waiting(1) == 0,
           "  everything reset through the fresh ring, the vCPU runs");
    vmeventctl_close(h);

    /* Refused before anything changed: nothing is reset either. */
    fx_dead_agent(1, 0, 1);
    fx_agent_leftovers(1);
    h = fx_open();
    tap_ok(vmeventctl_rescue(h, GUEST, 0, &rep) == -1 && rep.access_required == VMEVENTCTL_LEFTOVER_NOT_TRIED &&
           fake_access_required(GUEST) == 1, "a refused rescue (EPERM) resets nothing");
    vmeventctl_close(h);
}

int main(void)
{
    test_rescue(1, 1);
    test_rescue(2, 2);
    test_rescue(8, 8);
    test_rescue(12, 4);
    test_too_many_waiting();
    test_still_frozen();
    test_refusals();
    test_unsafe_disabled();
    test_wait_queue();
    test_killed_rescuer();
    test_dead_owner_pauses();
    test_rescue_order();
    test_leftovers_vmx();
    test_leftovers_svm();
    test_leftovers_pages_altp2m();
    test_leftovers_failures();
    test_leftovers_no_ring();
    return tap_done();
}
