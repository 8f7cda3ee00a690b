/*
 * it-events: a monitor ring on a live PVH guest delivers CPUID events that
 * we answer, and the guest keeps running while we do.
 *
 * Every exec of static busybox in the guest runs CPUID, and the guest
 * execs at least once a second for its tick, so events flow by themselves.
 * Checks: at least 100 events received and answered; the tick counter
 * advances by at least 3 meanwhile; the safe disable ends it cleanly.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmeventctl.h"
#include "itest.h"

#define WANT_EVENTS 100
#define WANT_TICKS  3
#define MAX_SECS    90

int main(void)
{
    uint32_t domid = it_domid();
    struct vmeventctl_disable_report rep;
    struct vmeventctl_owner o;
    vmeventctl_handle *h;
    vmeventctl_ring *r;
    long tick0, tick1;
    uint64_t t0, end;
    int answered = 0;

    h = vmeventctl_open(NULL, 0);
    if ( !h )
        it_error("vmeventctl_open: %s", strerror(errno));

    r = vmeventctl_ring_enable(h, domid, VMEVENTCTL_RING_MONITOR, 0);
    if ( !r )
        it_fail("enable on domain %u: %s", domid, strerror(errno));
    if ( vmeventctl_ring_monitor(r, VMEVENTCTL_EVENT_CPUID, 1) )
        it_fail("cpuid monitoring on domain %u: %s", domid, strerror(errno));

    tick0 = it_last_tick();
    t0 = it_now_ms();
    end = t0 + MAX_SECS * 1000;
    /*
     * Keep answering until both are seen: the guest ticks only while its
     * CPUIDs are answered, so the ticks must be watched from inside the loop.
     */
    while ( (answered < WANT_EVENTS || it_last_tick() - tick0 < WANT_TICKS) &&
            it_now_ms() < end )
    {
        int n = vmeventctl_ring_wait(r, 500);

        if ( n < 0 )
            it_fail("wait: %s", strerror(errno));
        n = vmeventctl_ring_answer_all(r, NULL, NULL);
        if ( n < 0 )
            it_fail("answer: %s", strerror(errno));
        answered += n;
    }
    tick1 = it_last_tick();
    it_note("answered %d events in %llu ms; ticks %ld -> %ld", answered,
            (unsigned long long)(it_now_ms() - t0), tick0, tick1);

    if ( vmeventctl_ring_disable(r, 0, &rep) )
        it_fail("safe disable: %s, step %s: %s", vmeventctl_disable_outcome_name(rep.outcome),
                vmeventctl_disable_step_name(rep.failed_step), strerror(errno));
    it_note("disable: %s, answered %u, retries %u, paused %llu ns",
            vmeventctl_disable_outcome_name(rep.outcome), rep.answered,
            rep.retries, (unsigned long long)rep.paused_ns);
    if ( rep.outcome != VMEVENTCTL_DISABLE_CLEAN || rep.unsettled || !rep.ring_disabled )
        it_fail("safe disable: %s, unsettled %u, ring_disabled %d: expected clean, 0, 1",
                vmeventctl_disable_outcome_name(rep.outcome), rep.unsettled, rep.ring_disabled);
    if ( vmeventctl_owner_get(h, domid, &o) )
        it_fail("reading the ownership record: %s", strerror(errno));
    if ( o.state != VMEVENTCTL_OWNER_NONE )
        it_fail("an ownership record (pid %d) outlives the disabled ring", (int)o.pid);
    vmeventctl_close(h);

    if ( answered < WANT_EVENTS )
        it_fail("expected at least %d CPUID events in %d s, got %d", WANT_EVENTS,
                MAX_SECS, answered);
    if ( tick0 < 0 || tick1 - tick0 < WANT_TICKS )
        it_fail("the guest's ticks did not advance while events were answered: %ld -> %ld",
                tick0, tick1);
    printf("PASS: %d events answered, guest ticked %ld times meanwhile\n",
           answered, tick1 - tick0);
    return IT_PASS;
}
