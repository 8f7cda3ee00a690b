/*
 * test-disable: the safe disable's protocol, against the fake Xen 4.17.
 *
 * Xen 4.17's vm_event_disable does not unpause vCPUs waiting for a reply,
 * and frees the state a reply's effects need, so the disable must answer
 * everything, let the answered vCPUs run, then pause, drain once more,
 * unbind, disable and release exactly its pause.  Each case checks the
 * guest is left with no vCPU waiting, no pause of ours and nothing of ours
 * behind: 0, 1 and 8 pending requests; a vCPU that never runs; a full
 * ring; a corrupt req_prod; a stop requested mid-drain; requests arriving
 * as we pause; Xen refusing the disable.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include "fixture.h"

/* Position of the first call of fn in the log since the mark, or -1. */
static int log_first(const char *fn)
{
    unsigned int i;

    for ( i = 0; i < fake_log_count(); i++ )
        if ( !strcmp(fake_log_name(i), fn) )
            return (int)i;
    return -1;
}

static int log_last(const char *fn)
{
    int i, last = -1;

    for ( i = 0; i < (int)fake_log_count(); i++ )
        if ( !strcmp(fake_log_name(i), fn) )
            last = i;
    return last;
}

/*
 * 1 if log position a comes before b.  Both calls must have been made: a
 * call that never happened (-1) is not "before" anything.
 */
static int before(int a, int b)
{
    return a >= 0 && b >= 0 && a < b;
}

static void check_left_clean(unsigned int nr_vcpus, unsigned int pause_before,
                             const char *what)
{
    char name[160];

    snprintf(name, sizeof(name), "%s: no vCPU waiting, no pause of ours, nothing left", what);
    if ( !tap_ok(fx_waiting(nr_vcpus) == 0 &&
                 fake_pause_count(GUEST) == (int)pause_before &&
                 fx_nothing_left(), name) )
        tap_diag("  waiting %u, pause count %d (want %u), ports %u, pages %u", fx_waiting(nr_vcpus),
                 fake_pause_count(GUEST), pause_before, fake_bound_ports(), fake_pages_mapped());
}

static void test_pending(unsigned int nr_vcpus, unsigned int pending)
{
    vmeventctl_handle *h = fx_world(nr_vcpus);
    vmeventctl_ring *r = fx_ring(h);
    struct vmeventctl_disable_report rep;
    unsigned int i, put = 0, mask = 1;
    struct fake_ring_stats st;
    char what[64];

    snprintf(what, sizeof(what), "%u pending on %u vCPUs", pending, nr_vcpus);
    for ( i = 0; i < pending; i++ )
        put += fake_vcpu_event(GUEST, i, VM_EVENT_REASON_CPUID) == FAKE_EVENT_PUT;
    if ( put != pending )
        tap_diag("  %s: the ring took %u of %u (Xen's ring-full rule)", what, put, pending);
    fake_set_autostep(1);   /* answered vCPUs run while the library looks */

    fake_log_mark();
    tap_is(vmeventctl_ring_disable(r, 1000, &rep), 0, what);
    tap_is(rep.outcome, VMEVENTCTL_DISABLE_CLEAN, "  outcome clean");
    tap_is(rep.answered, put, "  answered every request on the ring");
    tap_is(rep.retries, 0, "  no retry needed");
    tap_is(rep.ring_disabled, 1, "  ring disabled");
    tap_is(fake_ring_exists(GUEST, FAKE_RING_MONITOR), 0, "  Xen has no ring");
    check_left_clean(nr_vcpus, 0, what);
    fake_monitor_events(GUEST, &mask);
    tap_is(mask, 0, "  no monitor event left on");

    /* The order is the protocol. */
    tap_ok(before(log_first("xc_monitor_cpuid"), log_first("xc_domain_pause")),
           "  events stopped before the pause");
    tap_ok(before(log_first("xc_domain_pause"), log_last("xc_monitor_resume")) &&
           before(log_last("xc_monitor_resume"), log_first("xenevtchn_unbind")) &&
           before(log_first("xenevtchn_unbind"), log_first("xc_monitor_disable")) &&
           before(log_first("xc_monitor_disable"), log_last("xc_domain_unpause")),
           "  pause, resume, unbind, disable, unpause in that order");
    /* Each CPUID answer's registers took effect before the disable. */
    fake_ring_stats(GUEST, &st);
    tap_ok(st.regs_applied == put && st.regs_dropped == 0,
           "  every answer's registers applied as its vCPU ran, none dropped");
    tap_is(fake_call_count("xc_domain_pause"), fake_call_count("xc_domain_unpause"),
           "  as many unpauses as pauses");
    tap_cmp(rep.paused_ns, >, 0, "  paused time measured");
    tap_cmp(rep.total_ns, >=, rep.paused_ns, "  total time covers it");
    vmeventctl_close(h);
}

/* The agent read a request and quit before answering it. */
static void test_read_not_answered(void)
{
    vmeventctl_handle *h = fx_world(2);
    vmeventctl_ring *r = fx_ring(h);
    struct vmeventctl_disable_report rep;
    vm_event_request_t req;

    fake_vcpu_event(GUEST, 0, VM_EVENT_REASON_CPUID);
    fake_vcpu_event(GUEST, 1, VM_EVENT_REASON_CPUID);
    vmeventctl_ring_get_request(r, &req);
    vmeventctl_ring_get_request(r, &req);
    fake_set_autostep(1);
    tap_is(vmeventctl_ring_disable(r, 1000, &rep), 0, "two requests read by the agent, never answered");
    tap_is(rep.answered, 2, "  the disable answers them from their slots");
    tap_is(rep.outcome, VMEVENTCTL_DISABLE_CLEAN, "  clean");
    check_left_clean(2, 0, "read, not answered");
    vmeventctl_close(h);
}

/*
 * What "unsettled" costs: the answer's registers are stored by Xen, and
 * the disable frees them before the vCPU runs, so it runs the CPUID again.
 */
static void test_never_runs(void)
{
    vmeventctl_handle *h = fx_world(1);
    vmeventctl_ring *r = fx_ring(h);
    struct vmeventctl_disable_report rep;
    struct vm_event_regs_x86 regs;
    struct fake_ring_stats st;

    fake_vcpu_get_regs(GUEST, 0, &regs);
    regs.rip = 0x2000;
    regs.rbx = 0x756e6547;
    fake_vcpu_set_regs(GUEST, 0, &regs);
    fake_vcpu_event(GUEST, 0, VM_EVENT_REASON_CPUID);
    /* No autostep: the answered vCPU never gets to run. */
    errno = 0;
    tap_ok(vmeventctl_ring_disable(r, 30, &rep) == -1 && errno == ETIMEDOUT,
           "a vCPU that never runs after its answer: -1, ETIMEDOUT");
    tap_is(rep.outcome, VMEVENTCTL_DISABLE_UNSETTLED, "  outcome unsettled (reply effects may be lost)");
    tap_is(rep.unsettled, 1, "  one unsettled vCPU reported");
    tap_is(fake_vcpu_vm_event_paused(GUEST, 0), 0, "  but it is not left waiting");
    check_left_clean(1, 0, "never runs");
    fake_ring_stats(GUEST, &st);
    tap_ok(st.regs_dropped == 1 && st.regs_applied == 0,
           "  the answer's registers were dropped by the disable, as reported");
    fake_domain_step(GUEST, 1);
    fake_vcpu_get_regs(GUEST, 0, &regs);
    tap_is(regs.rip, 0x2000, "  the vCPU runs on from the CPUID itself");
    vmeventctl_close(h);
}

/*
 * One notify failing (ENOTCONN, as the evtchn driver answers for a port
 * it no longer has bound) is not a corrupt ring: the answers are published
 * and the final drain makes Xen take them.  A disable with a vCPU still
 * waiting would leave it frozen for good.
 */
static void test_notify_fails_once(void)
{
    vmeventctl_handle *h = fx_world(2);
    vmeventctl_ring *r = fx_ring(h);
    struct vmeventctl_disable_report rep;
    struct fake_ring_stats st;
    int rc;

    fake_vcpu_event(GUEST, 0, VM_EVENT_REASON_CPUID);
    fake_vcpu_event(GUEST, 1, VM_EVENT_REASON_CPUID);
    fake_set_autostep(1);
    fake_fail_func("xenevtchn_notify", 1, ENOTCONN);
    rc = vmeventctl_ring_disable(r, 200, &rep);
    tap_is(fake_fail_fired(), 1, "disable with one notify failing (ENOTCONN)");
    fake_fail_clear();
    fake_ring_stats(GUEST, &st);
    tap_diag("  rc %d, outcome %s, failed step %s, answered %u, unsettled %u, applied %lu, dropped %lu",
             rc, vmeventctl_disable_outcome_name(rep.outcome),
             vmeventctl_disable_step_name(rep.failed_step), rep.answered, rep.unsettled,
             st.regs_applied, st.regs_dropped);
    tap_ok(rc == -1 && rep.failed_step == VMEVENTCTL_STEP_SETTLE && rep.error == ENOTCONN,
           "  reported: failed at the settle, ENOTCONN");
    tap_is(fx_waiting(2), 0, "  no vCPU left waiting for a reply");
    tap_is(rep.answered, 2, "  both answers counted, though their notify failed");
    tap_is(rep.ring_disabled, 1, "  the ring was disabled");
    tap_ok(st.regs_applied == 2 && st.regs_dropped == 0 && rep.unsettled == 0,
           "  the next notify told Xen: both answers took effect before the disable");
    check_left_clean(2, 0, "notify fails once");
    vmeventctl_close(h);
}

static void test_admin_paused(void)
{
    vmeventctl_handle *h = fx_world(2);
    vmeventctl_ring *r = fx_ring(h);
    struct vmeventctl_disable_report rep;

    fake_vcpu_event(GUEST, 1, VM_EVENT_REASON_CPUID);
    fake_domain_set_pause_count(GUEST, 2);  /* an administrator's two pauses */
    fake_set_autostep(1);
    errno = 0;
    tap_ok(vmeventctl_ring_disable(r, 30, &rep) == -1 && errno == ETIMEDOUT,
           "disable on a domain someone else paused: nothing runs, -1, ETIMEDOUT");
    tap_is(rep.outcome, VMEVENTCTL_DISABLE_UNSETTLED, "  outcome unsettled, ring disabled (2 vCPUs: no sleepers)");
    tap_is(fake_pause_count(GUEST), 2, "  their two pause references are left as found");
    check_left_clean(2, 2, "admin paused");
    vmeventctl_close(h);
}

static void test_full_ring(void)
{
    vmeventctl_handle *h = fx_world(1);
    vmeventctl_ring *r = fx_ring(h);
    struct vmeventctl_disable_report rep;
    struct fake_ring_stats st;
    int n = 0;

    /* Asynchronous events do not pause the vCPU: it fills the ring. */
    while ( n < 32 && fake_vcpu_event_async(GUEST, 0, VM_EVENT_REASON_CPUID) == FAKE_EVENT_PUT )
        n++;
    fake_ring_stats(GUEST, &st);
    tap_diag("  %d async requests put; ring-full paused %u", n, st.ring_full_paused);
    tap_is(fake_vcpu_ring_full_paused(GUEST, 0), 1, "a full ring pauses its producer");
    fake_set_autostep(1);
    tap_is(vmeventctl_ring_disable(r, 1000, &rep), 0, "disable a full ring");
    tap_cmp(rep.answered, >=, (unsigned int)n, "  answered all it held");
    tap_is(fake_vcpu_ring_full_paused(GUEST, 0), 0, "  the producer is released");
    check_left_clean(1, 0, "full ring");
    vmeventctl_close(h);
}

static void test_corrupt(void)
{
    vmeventctl_handle *h = fx_world(1);
    vmeventctl_ring *r = fx_ring(h);
    struct vmeventctl_disable_report rep;
    vm_event_sring_t *sring = fake_ring_page(GUEST);

    fake_set_autostep(1);
    sring->req_prod += 100;
    errno = 0;
    tap_ok(vmeventctl_ring_disable(r, 200, &rep) == -1 && errno == EIO,
           "disable with a corrupt req_prod: EIO");
    tap_is(rep.failed_step, VMEVENTCTL_STEP_SETTLE, "  failed at the settle");
    tap_is(rep.ring_disabled, 1, "  but the ring was still disabled");
    tap_is(rep.answered, 0, "  nothing read from corrupt indices");
    check_left_clean(1, 0, "corrupt");
    vmeventctl_close(h);
}

struct stop_ctx {
    vmeventctl_handle *h;
    unsigned int getinfo_calls;
};

static void stop_on_third_look(const char *fn, void *arg)
{
    struct stop_ctx *c = arg;

    if ( !strcmp(fn, "xc_vcpu_getinfo") && ++c->getinfo_calls == 3 )
        vmeventctl_request_stop(c->h);
}

/*
 * A stop request (SIGTERM in an agent) must not shorten the settle: the
 * answered vCPUs running is what makes the disable safe.
 */
static void test_stop_mid_drain(void)
{
    vmeventctl_handle *h = fx_world(1);
    vmeventctl_ring *r = fx_ring(h);
    struct vmeventctl_disable_report rep;
    struct stop_ctx c = { h, 0 };

    fake_vcpu_event(GUEST, 0, VM_EVENT_REASON_CPUID);
    fake_set_call_hook(stop_on_third_look, &c);
    /* The vCPU never runs: only the timeout may end the settle. */
    errno = 0;
    tap_ok(vmeventctl_ring_disable(r, 300, &rep) == -1 && errno == ETIMEDOUT,
           "stop requested mid-drain, vCPU never runs: -1, ETIMEDOUT");
    fake_set_call_hook(NULL, NULL);
    tap_cmp(rep.total_ns, >=, 300000000ull, "  the settle ran to its 300 ms timeout despite the stop");
    tap_is(rep.outcome, VMEVENTCTL_DISABLE_UNSETTLED, "  outcome unsettled");
    tap_is(rep.ring_disabled, 1, "  the safety steps still ran: ring disabled");
    check_left_clean(1, 0, "stop mid-drain");
    vmeventctl_close(h);

    h = fx_world(1);
    r = fx_ring(h);
    c.h = h;
    c.getinfo_calls = 0;
    fake_vcpu_event(GUEST, 0, VM_EVENT_REASON_CPUID);
    fake_set_autostep(1);
    fake_set_call_hook(stop_on_third_look, &c);
    tap_is(vmeventctl_ring_disable(r, 60000, &rep), 0, "stop requested mid-drain, vCPU runs");
    fake_set_call_hook(NULL, NULL);
    tap_is(rep.outcome, VMEVENTCTL_DISABLE_CLEAN, "  outcome clean");
    tap_cmp(rep.total_ns, <, 5000000000ull, "  done as soon as it settled");
    check_left_clean(1, 0, "stop mid-drain, vCPU runs");
    vmeventctl_close(h);
}

struct late_ctx {
    unsigned int pauses, max;
};

/*
 * A request lands just as the domain is paused, as a racing vCPU's would.
 * It is a mem_access event: step 1 cannot turn those off (mem_access
 * permissions outlive even the ring, XEN-FACTS.md), so they can arrive at
 * any time.
 */
static void event_at_pause(const char *fn, void *arg)
{
    struct late_ctx *c = arg;

    if ( !strcmp(fn, "xc_domain_pause") && c->pauses++ < c->max &&
         fake_vcpu_event(GUEST, 0, VM_EVENT_REASON_MEM_ACCESS) != FAKE_EVENT_PUT )
        tap_bail("the late mem_access event was not put on the ring");
}

static void test_late_requests(unsigned int late)
{
    vmeventctl_handle *h = fx_world(1);
    vmeventctl_ring *r = fx_ring(h);
    struct vmeventctl_disable_report rep;
    struct late_ctx c = { 0, late };
    char what[80];

    snprintf(what, sizeof(what), "%u request(s) arriving at the pause", late);
    fake_set_autostep(1);
    fake_set_call_hook(event_at_pause, &c);
    tap_is(vmeventctl_ring_disable(r, 1000, &rep), 0, what);
    fake_set_call_hook(NULL, NULL);
    tap_is(rep.retries, late, "  one unpause-and-settle retry each");
    tap_is(rep.outcome, VMEVENTCTL_DISABLE_CLEAN, "  clean: never disabled right after answers taken under the pause");
    check_left_clean(1, 0, what);
    vmeventctl_close(h);
}

static void test_xen_refuses(void)
{
    vmeventctl_handle *h = fx_world(1);
    vmeventctl_ring *r = fx_ring(h);
    struct vmeventctl_disable_report rep;

    fake_ring_set_waiters(GUEST, 1);
    fake_set_autostep(1);
    errno = 0;
    tap_ok(vmeventctl_ring_disable(r, 100, &rep) == -1 && errno == EBUSY,
           "Xen's wait queue not empty: EBUSY");
    tap_is(rep.failed_step, VMEVENTCTL_STEP_DISABLE, "  failed step: disable");
    tap_is(rep.ring_disabled, 0, "  ring still enabled, and said so");
    tap_ok(fx_waiting(1) == 0 && fake_pause_count(GUEST) == 0 && fake_bound_ports() == 0 &&
           fake_pages_mapped() == 0, "  no vCPU waiting, no pause, port or mapping of ours");
    tap_ok(fx_record_says(NULL) && !fx_record_says("paused"),
           "  our record, unmarked, still names the ring's owner (a rescue can take it once we exit)");
    fake_ring_set_waiters(GUEST, 0);
    vmeventctl_close(h);
}

/*
 * The record and the pause (docs/findings.md #4): "paused 1" is in the
 * record before the pause is taken, the record goes only after the pause
 * is released, and no xenstore round trip sits inside the pause window.
 */
struct order_ctx {
    int paused;                 /* between our xc_domain_pause and unpause */
    unsigned int pauses, marked_at_pause, xs_while_paused;
    unsigned int record_at_unpause, rm_while_paused, mapped_at_unpause;
};

static void watch_order(const char *fn, void *arg)
{
    struct order_ctx *c = arg;

    if ( !strcmp(fn, "xc_domain_pause") )
    {
        c->pauses++;
        c->marked_at_pause += fx_record_says(" paused 1");
        c->paused = 1;
    }
    else if ( !strcmp(fn, "xc_domain_unpause") )
    {
        c->record_at_unpause += fx_record_says(NULL);
        c->mapped_at_unpause += fake_pages_mapped() > 0;
        c->paused = 0;
    }
    else if ( !strncmp(fn, "xs_", 3) && c->paused )
    {
        c->xs_while_paused++;
        c->rm_while_paused += !strcmp(fn, "xs_rm");
    }
}

static void test_record_order(void)
{
    vmeventctl_handle *h = fx_world(2);
    vmeventctl_ring *r = fx_ring(h);
    struct vmeventctl_disable_report rep;
    struct order_ctx o;

    memset(&o, 0, sizeof(o));
    fake_vcpu_event(GUEST, 0, VM_EVENT_REASON_CPUID);
    fake_vcpu_event(GUEST, 1, VM_EVENT_REASON_CPUID);
    fake_set_autostep(1);
    fake_set_call_hook(watch_order, &o);
    tap_is(vmeventctl_ring_disable(r, 1000, &rep), 0, "record and pause order: disable with 2 pending");
    fake_set_call_hook(NULL, NULL);
    tap_ok(o.pauses >= 1 && o.marked_at_pause == o.pauses,
           "  every xc_domain_pause found 'paused 1' already in the record");
    tap_ok(o.record_at_unpause >= 1, "  the record was still there at the unpause");
    tap_is(o.rm_while_paused, 0, "  the record was removed after the release");
    tap_is(o.xs_while_paused, 0, "  no xenstore call inside the pause window");
    tap_ok(o.mapped_at_unpause >= 1, "  the ring page is unmapped after the release, not inside the window");
    check_left_clean(2, 0, "record order");
    vmeventctl_close(h);
}

/*
 * Requests arriving at every pause, for ever: the rounds are bounded, and
 * the last answers taken under the pause are never followed by a disable.
 */
static void test_endless_late_requests(void)
{
    vmeventctl_handle *h = fx_world(1);
    vmeventctl_ring *r = fx_ring(h);
    struct vmeventctl_disable_report rep;
    struct late_ctx c = { 0, ~0u };

    fake_set_autostep(1);
    fake_set_call_hook(event_at_pause, &c);
    errno = 0;
    tap_ok(vmeventctl_ring_disable(r, 100, &rep) == -1 && errno == ETIMEDOUT,
           "a request at every pause: -1, ETIMEDOUT");
    fake_set_call_hook(NULL, NULL);
    tap_is(rep.failed_step, VMEVENTCTL_STEP_FINAL_DRAIN, "  failed at the final drain");
    tap_is(rep.ring_disabled, 0, "  the ring is left enabled, not disabled behind answers just taken");
    tap_ok(fx_waiting(1) == 0 && fake_pause_count(GUEST) == 0 && fake_bound_ports() == 0 &&
           fake_pages_mapped() == 0, "  no vCPU waiting, no pause, port or mapping of ours");
    tap_ok(fx_record_says(NULL) && !fx_record_says("paused"), "  our unmarked record names the ring");
    vmeventctl_close(h);
}

/*
 * More vCPUs than the ring's 8 slots, every one stopped on a CPUID event:
 * 8 hold slots and the rest sleep on Xen's wait queue.  Answering wakes
 * sleepers, which must all have run before the disable, or Xen frees the
 * ring under them (fake_ring_freed_under_woken).
 */
static void test_more_vcpus_than_slots(unsigned int nr_vcpus, int stop_first)
{
    vmeventctl_handle *h = fx_world(nr_vcpus);
    vmeventctl_ring *r = fx_ring(h);
    struct vmeventctl_disable_report rep;
    unsigned int i, put = 0, queued = 0;
    char what[96];

    snprintf(what, sizeof(what), "%u vCPUs on an 8-slot ring%s", nr_vcpus,
             stop_first ? ", stop requested first" : "");
    for ( i = 0; i < nr_vcpus; i++ )
        put += fake_vcpu_event(GUEST, i, VM_EVENT_REASON_CPUID) == FAKE_EVENT_PUT;
    for ( i = 0; i < nr_vcpus; i++ )
        queued += fake_vcpu_on_wait_queue(GUEST, i) == 1;
    if ( !tap_ok(put == 8 && queued == nr_vcpus - 8, what) )
        tap_diag("  put %u (want 8), on the wait queue %u (want %u)", put, queued, nr_vcpus - 8);
    fake_set_autostep(1);
    if ( stop_first )
        vmeventctl_request_stop(h);
    tap_is(vmeventctl_ring_disable(r, 2000, &rep), 0, "  disabled");
    tap_is(rep.outcome, VMEVENTCTL_DISABLE_CLEAN, "  outcome clean");
    tap_is(fake_ring_freed_under_woken(), 0, "  no ring freed under a woken sleeper");
    check_left_clean(nr_vcpus, 0, what);
    vmeventctl_close(h);
}

/*
 * The same, but the vCPUs never run after their answers (an administrator
 * paused the domain): a woken sleeper may be among them, so the ring must
 * not be disabled.
 */
static void test_sleepers_never_run(void)
{
    vmeventctl_handle *h = fx_world(12);
    vmeventctl_ring *r = fx_ring(h);
    struct vmeventctl_disable_report rep;
    unsigned int i;

    for ( i = 0; i < 12; i++ )
        fake_vcpu_event(GUEST, i, VM_EVENT_REASON_CPUID);
    errno = 0;
    tap_ok(vmeventctl_ring_disable(r, 100, &rep) == -1 && errno == ETIMEDOUT,
           "12 vCPUs that never run after their answers: -1, ETIMEDOUT");
    tap_is(rep.failed_step, VMEVENTCTL_STEP_SETTLE, "  failed at the settle");
    tap_is(rep.ring_disabled, 0, "  the ring is left enabled");
    tap_is(fake_ring_freed_under_woken(), 0, "  no ring freed under a woken sleeper");
    tap_ok(fake_pause_count(GUEST) == 0 && fake_bound_ports() == 0 && fake_pages_mapped() == 0,
           "  no pause, port or mapping of ours");
    vmeventctl_close(h);
}

int main(void)
{
    test_pending(1, 0);
    test_pending(1, 1);
    test_pending(8, 8);
    test_read_not_answered();
    test_never_runs();
    test_notify_fails_once();
    test_admin_paused();
    test_full_ring();
    test_corrupt();
    test_stop_mid_drain();
    test_late_requests(1);
    test_late_requests(5);
    test_endless_late_requests();
    test_more_vcpus_than_slots(12, 0);
    test_more_vcpus_than_slots(16, 1);
    test_sleepers_never_run();
    test_xen_refuses();
    test_record_order();
    return tap_done();
}
