/*
 * it-unsafe-disable-freezes: proves the Xen behaviour the safe disable is
 * built on.  With plain libxenctrl calls, as a careless agent makes them:
 * enable a monitor ring, turn CPUID events on, let a request arrive and do
 * not answer it, then disable the ring.  Xen 4.17's vm_event_disable
 * (xen/common/vm_event.c) only releases vCPUs paused for a full ring, not
 * those waiting for a reply, so the guest must stop ticking, and for that
 * reason: the vCPU that made the request still reads as waiting (online,
 * neither blocked nor running, cpu_time still), the domain neither crashed,
 * shut down nor paused.
 *
 * SUCCESS means Xen behaved as docs/xen-behaviour.md says (the guest froze).  If the
 * guest keeps ticking, Xen has changed and the protocol's premise with it:
 * that is a FAILURE to look at, not a relief.  The frozen guest is then
 * destroyed; the rig starts a fresh one for the next test.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xenevtchn.h>
#include <xen/vm_event.h>

#include "itest.h"

int main(void)
{
    uint32_t domid = it_domid(), xen_port;
    xc_interface *xch;
    xenevtchn_handle *xce;
    vm_event_sring_t *sring;
    xenevtchn_port_or_error_t port;
    xc_vcpuinfo_t vi, vi2;
    unsigned int vcpu;
    int waiting;
    uint64_t end;
    long adv;
    char state[32] = "?";

    xch = xc_interface_open(NULL, NULL, 0);
    xce = xenevtchn_open(NULL, 0);
    if ( !xch || !xce )
        it_error("cannot open xenctrl/xenevtchn: %s", strerror(errno));

    if ( it_ticks_advance(2, 10) < 2 )
        it_error("the guest is not ticking before the test");

    sring = xc_monitor_enable(xch, domid, &xen_port);
    if ( !sring )
        it_error("xc_monitor_enable: %s", strerror(errno));
    port = xenevtchn_bind_interdomain(xce, domid, xen_port);
    if ( port < 0 )
        it_error("bind: %s", strerror(errno));
    SHARED_RING_INIT(sring);
    if ( xc_monitor_cpuid(xch, domid, 1) )
        it_error("xc_monitor_cpuid: %s", strerror(errno));

    /* Wait for Xen to put a request on the ring; never answer it. */
    end = it_now_ms() + 20000;
    while ( sring->req_prod == 0 && it_now_ms() < end )
        usleep(10 * 1000);
    if ( sring->req_prod == 0 )
        it_error("no CPUID request arrived in 20 s");
    vcpu = sring->ring[0].req.vcpu_id;
    it_note("%u request(s) on the ring, none answered; the first from vCPU %u",
            sring->req_prod, vcpu);

    /* The careless teardown: disable with a vCPU waiting for a reply. */
    xenevtchn_unbind(xce, port);
    munmap(sring, XC_PAGE_SIZE);
    if ( xc_monitor_disable(xch, domid) )
        it_error("xc_monitor_disable: %s", strerror(errno));

    adv = it_ticks_advance(1, 8);
    it_xl_state(domid, state, sizeof(state));
    /*
     * Frozen for the reason claimed: the vCPU still waits for its reply
     * (vm_event pause: online, neither blocked nor running, cpu_time
     * still), the domain neither crashed, shut down nor paused.
     */
    waiting = xc_vcpu_getinfo(xch, domid, vcpu, &vi) == 0;
    if ( waiting )
    {
        it_note("vCPU%u after disable: online=%u blocked=%u running=%u cpu_time=%llu; xl state %s",
                vcpu, vi.online, vi.blocked, vi.running, (unsigned long long)vi.cpu_time, state);
        sleep(2);
        waiting = xc_vcpu_getinfo(xch, domid, vcpu, &vi2) == 0 &&
                  vi.online && !vi.blocked && !vi.running &&
                  vi2.online && !vi2.blocked && !vi2.running && vi2.cpu_time == vi.cpu_time;
    }
    if ( strpbrk(state + 2, "pcs") )
        waiting = 0;

    /* Put the guest out of its misery either way. */
    if ( it_sh("xl destroy %u", domid) != 0 )
        it_note("xl destroy %u failed", domid);
    xenevtchn_close(xce);
    xc_interface_close(xch);

    if ( adv > 0 )
        it_fail("the guest ticked %ld times after an unanswered request's ring was disabled: Xen 4.17's vm_event_disable is documented not to release it",
                adv);
    if ( !waiting )
        it_fail("the guest stopped ticking, but not because vCPU %u waits for its reply (xl state %s)",
                vcpu, state);
    printf("PASS: an unanswered request + plain disable froze the guest (no tick in 8 s, xl state %s), as Xen 4.17 does\n",
           state);
    return IT_PASS;
}
