/*
 * fixture.h: the world most unit tests start from.  A PVH guest (domid 5,
 * "guest", 2 vCPUs) on a fresh fake Xen 4.17 (fake-xen.h), and a
 * libvmeventctl handle logging to stderr (the test's .log file).
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#ifndef FIXTURE_H
#define FIXTURE_H

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xentoollog.h>

#include "vmeventctl.h"
#include "fake-xen.h"
#include "tap.h"

#define GUEST      5u
#define GUEST_NAME "guest"
#define RECORD     "/local/domain/0/libvmeventctl/5/monitor"

static xentoollog_logger_stdiostream *fx_logger;

static inline vmeventctl_handle *fx_open(void)
{
    vmeventctl_handle *h;

    if ( !fx_logger )
        fx_logger = xtl_createlogger_stdiostream(stderr, XTL_DETAIL, 0);
    h = vmeventctl_open((xentoollog_logger *)fx_logger, 0);
    if ( !h )
        tap_bail("vmeventctl_open on the fake: %s", strerror(errno));
    return h;
}

/* A fresh fake Xen with the guest, and a handle. */
static inline vmeventctl_handle *fx_world(unsigned int nr_vcpus)
{
    fake_reset();
    if ( fake_domain_add(GUEST, FAKE_DOM_PVH, nr_vcpus, GUEST_NAME) )
        tap_bail("fake_domain_add: %s", strerror(errno));
    return fx_open();
}

/* A handle with a monitor ring on the guest and CPUID events on. */
static inline vmeventctl_ring *fx_ring(vmeventctl_handle *h)
{
    vmeventctl_ring *r = vmeventctl_ring_enable(h, GUEST, VMEVENTCTL_RING_MONITOR, 0);

    if ( !r )
        tap_bail("enable on the fake: %s", strerror(errno));
    if ( vmeventctl_ring_monitor(r, VMEVENTCTL_EVENT_CPUID, 1) )
        tap_bail("cpuid on the fake: %s", strerror(errno));
    return r;
}

/* Number of guest vCPUs waiting for a reply. */
static inline unsigned int fx_waiting(unsigned int nr_vcpus)
{
    unsigned int i, n = 0;

    for ( i = 0; i < nr_vcpus; i++ )
        n += fake_vcpu_vm_event_paused(GUEST, i) > 0;
    return n;
}

/* 1 if the ownership record exists and holds what (NULL: exists at all). */
static inline int fx_record_says(const char *what)
{
    char *rec = fake_xs_read(RECORD);
    int yes = rec && (!what || strstr(rec, what));

    free(rec);
    return yes;
}

/* 1 if nothing of ours is left: no bound port, mapping or record. */
static inline int fx_nothing_left(void)
{
    char *rec = fake_xs_read(RECORD);
    int ok = fake_bound_ports() == 0 && fake_pages_mapped() == 0 && !rec;

    free(rec);
    return ok;
}

/*
 * A dead agent's ring on a fresh world: enabled straight through Xen, a
 * request from each of the first nr_events vCPUs, maybe a record naming
 * a pid that cannot exist.  Its mapping died with it.
 */
static inline void fx_dead_agent(unsigned int nr_vcpus, int with_record,
                                 unsigned int nr_events)
{
    vmeventctl_handle *h = fx_world(nr_vcpus);
    xc_interface *xch = xc_interface_open(NULL, NULL, 0);
    uint32_t port;
    unsigned int i;
    void *page;

    page = xch ? xc_monitor_enable(xch, GUEST, &port) : NULL;
    if ( !page )
        tap_bail("enable: %s", strerror(errno));
    munmap(page, XC_PAGE_SIZE);
    xc_monitor_cpuid(xch, GUEST, 1);
    xc_interface_close(xch);
    for ( i = 0; i < nr_events; i++ )
        fake_vcpu_event(GUEST, i, VM_EVENT_REASON_CPUID);
    if ( with_record )
        fake_xs_write(RECORD, "4194305 1 dead-agent");
    vmeventctl_close(h);
}

/*
 * What a dead agent leaves besides its ring, set straight through Xen as
 * xen-access -m does: access_required, and where the host has them (the
 * fake's VMX, not SVM) the default access and every page rx with the
 * ring still there, and single-step on each of the first nr_vcpus vCPUs.
 */
static inline void fx_agent_leftovers(unsigned int nr_vcpus)
{
    xc_interface *xch = xc_interface_open(NULL, NULL, 0);
    unsigned int i;

    if ( !xch || xc_domain_set_access_required(xch, GUEST, 1) )
        tap_bail("set_access_required: %s", strerror(errno));
    if ( !xc_set_mem_access(xch, GUEST, XENMEM_access_rx, ~0ULL, 0) &&
         xc_set_mem_access(xch, GUEST, XENMEM_access_rx, 0, FAKE_NR_GFNS) )
        tap_bail("set_mem_access: %s", strerror(errno));
    for ( i = 0; i < nr_vcpus; i++ )
        xc_domain_debug_control(xch, GUEST, XEN_DOMCTL_DEBUG_OP_SINGLE_STEP_ON, i);
    xc_interface_close(xch);
}

#endif
