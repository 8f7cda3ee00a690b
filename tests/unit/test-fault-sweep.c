/*
 * test-fault-sweep: every Xen call on the enable path, the safe-disable
 * path and the ownership-record path is failed in turn, once with each
 * errno that call really returns, and the guest must come out as it went
 * in or better: its pause count as before, no more vCPUs waiting for a
 * reply than before, and no port, mapping or record of ours left.  The
 * operation must also say it failed.  And a safe disable must never take
 * the ring away from a vCPU still waiting for its reply: nothing could
 * answer it then but a rescue.
 *
 * The calls are found, not listed: each operation runs once clean with
 * the fake's call log on, and every call it made is then failed.  An
 * operation that enables a ring also meets xc_monitor_enable failing after
 * Xen enabled the ring (fake_fail_after_enable(), as libxc can), and must
 * leave no ring behind.
 *
 * The rescue's dead agent also left access_required, restricted memory
 * and single-step behind, so that every call of the rescue's step 5 is
 * made and failed.  An errno that means "this Xen does not have it" is
 * no failure: the rescue must succeed and report the leftover as not
 * supported.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include "fixture.h"

/* What each call can really answer: fake_real_errnos(); EIO otherwise. */
static const int *errnos_of(const char *fn)
{
    static const int fallback[] = { EIO, 0 };
    const int *errs = fake_real_errnos(fn);

    return errs ? errs : fallback;
}

/*
 * The answers of step 5's calls that mean "not on this Xen or CPU" (see
 * fake_real_errnos()), and the report field that must say so.
 */
static struct vmeventctl_rescue_report rescue_rep;

static enum vmeventctl_leftover *unsupported_field(const char *fn, int err)
{
    if ( !strcmp(fn, "xc_domain_set_access_required") && err == ENOSYS )
        return &rescue_rep.access_required;
    if ( !strcmp(fn, "xc_get_mem_access") && err == EINVAL )
        return &rescue_rep.mem_access;
    if ( !strcmp(fn, "xc_domain_debug_control") && err == EOPNOTSUPP )
        return &rescue_rep.single_step;
    if ( !strcmp(fn, "xc_altp2m_get_domain_state") && (err == EOPNOTSUPP || err == EINVAL) )
        return &rescue_rep.altp2m;
    return NULL;
}

enum op { OP_ENABLE, OP_DISABLE, OP_RECORD, OP_RESCUE };
static const char *op_name[] = { "enable", "safe disable", "ownership record", "rescue" };

#define NR_VCPUS 2

/* Sets the world up for op; returns the ring for OP_DISABLE. */
static vmeventctl_ring *setup(enum op op, vmeventctl_handle **hp)
{
    vmeventctl_handle *h;
    vmeventctl_ring *r = NULL;

    if ( op == OP_RESCUE )
    {
        fx_dead_agent(NR_VCPUS, 1, NR_VCPUS);
        fx_agent_leftovers(NR_VCPUS);
        h = fx_open();
    }
    else
        h = fx_world(NR_VCPUS);
    if ( op == OP_DISABLE || op == OP_RECORD )
    {
        r = fx_ring(h);
        if ( op == OP_DISABLE )
        {
            /*
             * Both vCPUs waiting for a reply, and events still on; vCPU 1
             * stopped on an INT3, whose answer re-injects the #BP.
             */
            if ( vmeventctl_ring_monitor(r, VMEVENTCTL_EVENT_SOFTWARE_BREAKPOINT, 1) )
                tap_bail("software breakpoints on the fake: %s", strerror(errno));
            fake_vcpu_event(GUEST, 0, VM_EVENT_REASON_CPUID);
            fake_vcpu_event(GUEST, 1, VM_EVENT_REASON_SOFTWARE_BREAKPOINT);
        }
    }
    fake_set_autostep(1);
    *hp = h;
    return r;
}

/* Runs op; returns 0 if it reported success, -1 if it reported failure. */
static int run(enum op op, vmeventctl_handle *h, vmeventctl_ring **rp)
{
    struct vmeventctl_owner o;

    switch ( op )
    {
    case OP_ENABLE:
        *rp = vmeventctl_ring_enable(h, GUEST, VMEVENTCTL_RING_MONITOR, 0);
        return *rp ? 0 : -1;
    case OP_DISABLE:
        return vmeventctl_ring_disable(*rp, 200, NULL);
    case OP_RECORD:
        return vmeventctl_owner_get(h, GUEST, &o) || o.state != VMEVENTCTL_OWNER_LIVE ? -1 : 0;
    case OP_RESCUE:
        return vmeventctl_rescue(h, GUEST, 0, &rescue_rep);
    }
    return -1;
}

static unsigned int cases, bad;

static void sweep(enum op op)
{
    char names[256][40];
    unsigned int n, i, op_cases = 0, op_bad = 0, after_enable = 0;
    vmeventctl_handle *h;
    vmeventctl_ring *r;

    /* A clean run tells which calls the operation makes. */
    r = setup(op, &h);
    fake_log_mark();
    if ( run(op, h, &r) )
        tap_bail("%s fails with no fault injected", op_name[op]);
    n = fake_log_count();
    if ( n > 256 )
        tap_bail("%s made %u calls, more than this test expects", op_name[op], n);
    for ( i = 0; i < n; i++ )
    {
        snprintf(names[i], sizeof(names[i]), "%s", fake_log_can_fail(i) ? fake_log_name(i) : "");
        after_enable |= !strcmp(names[i], "xc_monitor_enable");
    }
    vmeventctl_close(h);
    /* One more case: the enable's NULL after Xen enabled the ring. */
    if ( after_enable && n < 256 )
        snprintf(names[n], sizeof(names[n]), "xc_monitor_enable:after");

    for ( i = 0; i < n + (after_enable && n < 256); i++ )
    {
        const int *err;

        if ( !names[i][0] )
            continue;
        for ( err = errnos_of(names[i]); *err; err++ )
        {
            enum vmeventctl_leftover *unsupported = NULL;
            unsigned int waiting_before, pause_before;
            int rc, ok;

            r = setup(op, &h);
            waiting_before = fx_waiting(NR_VCPUS);
            pause_before = (unsigned int)fake_pause_count(GUEST);
            if ( i == n )
                fake_fail_after_enable(1, *err);
            else
                fake_fail_nth_call(i + 1, *err);
            rc = run(op, h, &r);
            fake_fail_clear();

            ok = rc == -1;
            /*
             * A #BP the safe disable could not re-inject is no failure (it
             * is logged): the event sources are off by then, so the vCPU
             * runs the INT3 again and the guest takes its own #BP.
             */
            if ( op == OP_DISABLE && !strcmp(names[i], "xc_hvm_inject_trap") )
                ok = rc == 0;
            if ( op == OP_RESCUE )
                unsupported = unsupported_field(names[i], *err);
            if ( unsupported )
                ok = rc == 0 && *unsupported == VMEVENTCTL_LEFTOVER_UNSUPPORTED;
            if ( op == OP_ENABLE && r )
            {
                vmeventctl_ring_disable(r, 50, NULL);
                r = NULL;
            }
            if ( op == OP_RECORD )
                vmeventctl_ring_disable(r, 50, NULL);
            ok = ok && fake_pause_count(GUEST) == (int)pause_before &&
                 fx_waiting(NR_VCPUS) <= waiting_before;
            /*
             * No ring left, no vCPU waiting: Xen's disable does not
             * unpause it (vm_event.c: vm_event_disable), so it would stay
             * frozen.  Not asked of the rescue: when Xen refuses it a
             * fresh ring after the dead one went, the dead agent's vCPUs
             * stay waiting, and it says so (exit 5 in the tool).
             */
            if ( op != OP_RESCUE && fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 0 )
                ok = ok && fx_waiting(NR_VCPUS) == 0;
            if ( op == OP_RESCUE )
            {
                /* The dead agent's record may stay; none of ours may. */
                char *rec = fake_xs_read(RECORD);

                ok = ok && fake_bound_ports() == 0 && fake_pages_mapped() == 0 &&
                     (!rec || !strcmp(rec, "4194305 1 dead-agent"));
                free(rec);
            }
            else if ( op == OP_DISABLE && fake_ring_exists(GUEST, FAKE_RING_MONITOR) )
            {
                /* A ring left enabled keeps our record, unmarked: it is
                 * what lets a rescue take the ring once we have exited. */
                ok = ok && fake_bound_ports() == 0 && fake_pages_mapped() == 0 &&
                     fx_record_says(NULL) && !fx_record_says("paused");
            }
            else
                ok = ok && fx_nothing_left();
            if ( op == OP_ENABLE || i == n )
                ok = ok && fake_ring_exists(GUEST, FAKE_RING_MONITOR) == 0;
            op_cases++;
            if ( !ok )
            {
                op_bad++;
                tap_diag("%s: call %u (%s) failing with %s: rc %d, pause %d (was %u), waiting %u (was %u), ports %u, pages %u, ring %d",
                         op_name[op], i + 1, names[i], strerror(*err), rc,
                         fake_pause_count(GUEST), pause_before, fx_waiting(NR_VCPUS),
                         waiting_before, fake_bound_ports(), fake_pages_mapped(),
                         fake_ring_exists(GUEST, FAKE_RING_MONITOR));
            }
            vmeventctl_close(h);
        }
    }
    {
        char name[160];

        snprintf(name, sizeof(name),
                 "%s: %u Xen calls, %u fault cases, every one reported and left the guest as found or better",
                 op_name[op], n, op_cases);
        tap_ok(op_bad == 0 && op_cases > 0, name);
    }
    cases += op_cases;
    bad += op_bad;
}

int main(void)
{
    sweep(OP_ENABLE);
    sweep(OP_DISABLE);
    sweep(OP_RECORD);
    sweep(OP_RESCUE);
    tap_diag("fault sweep: %u cases, %u leaked a pause, a waiting vCPU, a port, a mapping or a record",
             cases, bad);
    printf("# fault sweep: %u cases run\n", cases);
    return tap_done();
}
