/*
 * it-safe-disable: the safe disable, run while events are flowing, leaves
 * the guest running and the domain free of vm_event.
 *
 * This is the protocol's reason to exist: Xen 4.17's vm_event_disable does
 * not unpause vCPUs waiting for a reply, so a disable that races an event
 * freezes the guest.  Each round answers events for 3 s, then reads one
 * request and leaves it unanswered before disabling.  Checks, after it:
 * ticks advance for at least 5 more seconds; `xl list` does not show the
 * guest paused; the report says clean, no vCPU unsettled; the resume probe
 * finds no ring; no ownership record is left; enabling again succeeds
 * (no EBUSY).
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmeventctl.h"
#include "itest.h"

#define ROUNDS 3

int main(void)
{
    uint32_t domid = it_domid();
    vmeventctl_handle *h;
    int round;

    h = vmeventctl_open(NULL, 0);
    if ( !h )
        it_error("vmeventctl_open: %s", strerror(errno));

    for ( round = 1; round <= ROUNDS; round++ )
    {
        struct vmeventctl_disable_report rep;
        struct vmeventctl_domain_status st;
        struct vmeventctl_owner o;
        vmeventctl_ring *r;
        char state[32];
        int answered = 0, disabled, err;
        uint64_t end;
        long adv;

        r = vmeventctl_ring_enable(h, domid, VMEVENTCTL_RING_MONITOR, 0);
        if ( !r )
            it_fail("round %d: enable: %s%s", round, strerror(errno),
                    errno == EBUSY ? " (the previous disable left the ring)" : "");
        if ( vmeventctl_ring_monitor(r, VMEVENTCTL_EVENT_CPUID, 1) )
            it_fail("round %d: cpuid on: %s", round, strerror(errno));

        /* Answer for a while so requests are in flight when we disable. */
        end = it_now_ms() + 3000;
        while ( it_now_ms() < end )
        {
            int n = vmeventctl_ring_wait(r, 100);

            if ( n < 0 )
                it_fail("round %d: wait: %s", round, strerror(errno));
            n = vmeventctl_ring_answer_all(r, NULL, NULL);
            if ( n < 0 )
                it_fail("round %d: answer: %s", round, strerror(errno));
            answered += n;
        }
        if ( answered == 0 )
            it_error("round %d: no CPUID event in 3 s: the guest is not producing events", round);

        /*
         * Make sure a vCPU is waiting when the disable starts: read the
         * next request and leave it unanswered, as an agent that quits
         * mid-event does.  A disable that does not drain freezes the guest.
         */
        end = it_now_ms() + 10000;
        for ( ;; )
        {
            vm_event_request_t req;

            if ( it_now_ms() >= end )
                it_error("round %d: no request to leave unanswered in 10 s", round);
            if ( vmeventctl_ring_wait(r, 100) < 0 )
                it_fail("round %d: wait: %s", round, strerror(errno));
            if ( vmeventctl_ring_get_request(r, &req) == 1 )
                break;
        }

        /*
         * What the guest shows is checked first, what the library reports
         * after: a disable that both fails and harms the guest is named
         * by the harm.
         */
        disabled = vmeventctl_ring_disable(r, 0, &rep) == 0;
        err = errno;
        it_note("round %d: %d events before; disable %s, answered %u, retries %u, unsettled %u, paused %llu us",
                round, answered, vmeventctl_disable_outcome_name(rep.outcome),
                rep.answered, rep.retries, rep.unsettled,
                (unsigned long long)(rep.paused_ns / 1000));

        /* Paused first: a guest left paused also stops ticking. */
        if ( it_xl_state(domid, state, sizeof(state)) )
            it_error("round %d: xl list %u failed", round, domid);
        if ( state[2] == 'p' )
            it_fail("round %d: xl list shows the guest paused (%s)", round, state);
        if ( vmeventctl_domain_status(h, domid, &st) )
            it_fail("round %d: status: %s", round, strerror(errno));
        vmeventctl_domain_status_release(&st);
        if ( st.controller_paused )
            it_fail("round %d: the domain is still controller-paused", round);
        adv = it_ticks_advance(5, 12);
        if ( adv < 5 )
            it_fail("round %d: after the safe disable the guest ticked %ld times in 12 s, expected >= 5",
                    round, adv);
        if ( st.monitor_ring != 0 )
            it_fail("round %d: the resume probe says monitor_ring=%d after disable, expected 0",
                    round, st.monitor_ring);
        if ( !disabled )
            it_fail("round %d: safe disable %s at step %s: %s", round,
                    vmeventctl_disable_outcome_name(rep.outcome),
                    vmeventctl_disable_step_name(rep.failed_step), strerror(err));
        if ( rep.outcome != VMEVENTCTL_DISABLE_CLEAN || rep.unsettled || !rep.ring_disabled )
            it_fail("round %d: disable %s, unsettled %u, ring_disabled %d: expected clean, 0, 1",
                    round, vmeventctl_disable_outcome_name(rep.outcome), rep.unsettled,
                    rep.ring_disabled);
        if ( vmeventctl_owner_get(h, domid, &o) )
            it_fail("round %d: reading the ownership record: %s", round, strerror(errno));
        if ( o.state != VMEVENTCTL_OWNER_NONE )
            it_fail("round %d: an ownership record (pid %d) outlives the disabled ring",
                    round, (int)o.pid);
        it_note("round %d: guest ticked %ld times after, xl state %s, no ring", round, adv, state);
    }

    vmeventctl_close(h);
    printf("PASS: %d safe disables under load, guest running after each, re-enable fine\n",
           ROUNDS);
    return IT_PASS;
}
