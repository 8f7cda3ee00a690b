/*
 * it-bad-input: against the real hypervisor, every bad target gets the
 * library's clear error and changes nothing.
 *
 *  - dom0: EINVAL (dom0 has no vm_event rings);
 *  - a domain id that does not exist: ESRCH;
 *  - a PV guest (created here): EINVAL;
 *  - a second enable while our ring exists: EBUSY, and the first ring
 *    still delivers events afterwards.
 * After each, the tick guest is checked unchanged: not paused, no ring
 * left behind, still ticking.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmeventctl.h"
#include "itest.h"

static vmeventctl_handle *h;

static void expect_refused(uint32_t domid, int want, const char *what)
{
    vmeventctl_ring *r = vmeventctl_ring_enable(h, domid, VMEVENTCTL_RING_MONITOR, 0);

    if ( r )
        it_fail("%s (domain %u): enable succeeded, expected %s", what, domid,
                strerror(want));
    if ( errno != want )
        it_fail("%s (domain %u): expected errno %d (%s), got %d (%s)", what, domid,
                want, strerror(want), errno, strerror(errno));
    it_note("%s (domain %u): refused with %s", what, domid, strerror(want));
}

static void expect_unchanged(uint32_t domid, const char *after)
{
    struct vmeventctl_domain_status st;
    struct vmeventctl_owner o;

    if ( vmeventctl_domain_status(h, domid, &st) )
        it_fail("after %s: status of %u: %s", after, domid, strerror(errno));
    vmeventctl_domain_status_release(&st);
    if ( st.controller_paused )
        it_fail("after %s: domain %u is left paused", after, domid);
    if ( st.monitor_ring != 0 )
        it_fail("after %s: domain %u has a ring (probe %d)", after, domid, st.monitor_ring);
    if ( vmeventctl_owner_get(h, domid, &o) || o.state != VMEVENTCTL_OWNER_NONE )
        it_fail("after %s: an ownership record is left for domain %u", after, domid);
    if ( it_ticks_advance(1, 5) < 1 )
        it_fail("after %s: domain %u stopped ticking", after, domid);
}

/* Creates a PV guest with the rig's helper; returns its domid. */
static uint32_t create_pv_guest(void)
{
    char line[128];
    unsigned long id = 0, v;
    char extra;
    FILE *p = popen("xenhost-guest create --pv", "r");

    if ( !p )
        it_error("cannot run xenhost-guest");
    /* It prints the new domid, alone on a line. */
    while ( fgets(line, sizeof(line), p) )
    {
        if ( sscanf(line, "%lu %c", &v, &extra) == 1 )
            id = v;
        else
            fputs(line, stdout);
    }
    if ( pclose(p) != 0 || !id )
        it_error("could not create a PV guest with xenhost-guest create --pv");
    return (uint32_t)id;
}

int main(void)
{
    uint32_t domid = it_domid(), pv;
    struct vmeventctl_domain_status st;
    vmeventctl_ring *r;
    int answered = 0;
    uint64_t end;

    h = vmeventctl_open(NULL, 0);
    if ( !h )
        it_error("vmeventctl_open: %s", strerror(errno));

    expect_refused(0, EINVAL, "dom0");
    expect_unchanged(domid, "dom0");

    expect_refused(0x7fe0, ESRCH, "a domain id that does not exist");
    expect_refused(DOMID_INVALID, EINVAL, "DOMID_INVALID");
    expect_unchanged(domid, "missing domains");

    pv = create_pv_guest();
    if ( vmeventctl_domain_status(h, pv, &st) )
        it_error("status of PV guest %u: %s", pv, strerror(errno));
    vmeventctl_domain_status_release(&st);
    if ( st.hvm )
        it_error("domain %u was meant to be PV but Xen reports HVM", pv);
    expect_refused(pv, EINVAL, "a PV guest");
    if ( vmeventctl_domain_status(h, pv, &st) )
        it_fail("PV guest %u vanished after the refused enable", pv);
    vmeventctl_domain_status_release(&st);
    if ( st.controller_paused )
        it_fail("PV guest %u left paused by the refused enable", pv);
    it_sh("xl destroy %u", pv);
    expect_unchanged(domid, "the PV guest");

    r = vmeventctl_ring_enable(h, domid, VMEVENTCTL_RING_MONITOR, 0);
    if ( !r )
        it_fail("first enable: %s", strerror(errno));
    expect_refused(domid, EBUSY, "a second enable of an enabled ring");

    /* The first ring must be untouched by the refused second enable. */
    if ( vmeventctl_ring_monitor(r, VMEVENTCTL_EVENT_CPUID, 1) )
        it_fail("cpuid on, after the refused enable: %s", strerror(errno));
    end = it_now_ms() + 30000;
    while ( answered < 10 && it_now_ms() < end )
    {
        int n = vmeventctl_ring_wait(r, 200);

        if ( n >= 0 )
            n = vmeventctl_ring_answer_all(r, NULL, NULL);
        if ( n < 0 )
            it_fail("first ring after the refused enable: %s", strerror(errno));
        answered += n;
    }
    if ( answered < 10 )
        it_fail("first ring delivered %d events after the refused enable, expected >= 10",
                answered);
    if ( vmeventctl_ring_disable(r, 0, NULL) )
        it_fail("safe disable: %s", strerror(errno));
    expect_unchanged(domid, "the refused second enable");

    vmeventctl_close(h);
    printf("PASS: dom0, a missing domain, DOMID_INVALID, a PV guest and a second enable all refused, nothing changed\n");
    return IT_PASS;
}
