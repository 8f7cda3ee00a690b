/*
 * leftovers.c: the rescue's step 5, resetting what a dead agent left in Xen.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "private.h"

struct leftovers_ctx {
    vmeventctl_handle *h;
    uint32_t domid;
    unsigned int nr_vcpus;
    struct vmeventctl_rescue_report *rep;
    int first_err;             /* errno of the first reset that failed */
};

/*
 * What a dead agent set that Xen's monitor disable leaves behind, for the
 * rescue's step 5.  The disable clears only the monitor settings
 * (arch_monitor_cleanup_domain) and the per-vCPU vm_event state
 * (vm_event_cleanup_domain); docs/xen-behaviour.md has the rest.
 */
#define LEFTOVERS "rescue: reset leftovers"

static void leftover_failed(struct leftovers_ctx *c, enum vmeventctl_leftover *state,
                            int *state_errno)
{
    *state = VMEVENTCTL_LEFTOVER_FAILED;
    *state_errno = errno;
    if ( !c->first_err )
        c->first_err = errno;
}

/*
 * With access_required set and no ring, Xen crashes the guest at its next
 * mem_access violation (p2m_mem_access_check).  Xen has no call to read it.
 * ENOSYS / EOPNOTSUPP: a Xen built without CONFIG_MEM_ACCESS.
 */
static void reset_access_required(struct leftovers_ctx *c)
{
    struct vmeventctl_rescue_report *rep = c->rep;

    if ( xc_domain_set_access_required(c->h->xch, c->domid, 0) == 0 )
    {
        rep->access_required = VMEVENTCTL_LEFTOVER_RESET;
        rep->guest_changed = 1;
        return;
    }
    if ( errno == ENOSYS || errno == EOPNOTSUPP )
    {
        rep->access_required = VMEVENTCTL_LEFTOVER_UNSUPPORTED;
        rep->access_required_errno = errno;
        return;
    }
    LOGE(c->h, c->domid, LEFTOVERS,
         "cannot reset access_required: a mem_access violation will crash the guest");
    leftover_failed(c, &rep->access_required, &rep->access_required_errno);
}

/*
 * Xen answers a mem_access op with ENODEV without a ring, and with EINVAL
 * where it has no mem_access for the domain (p2m_mem_access_sanity_check:
 * HVM, Intel VMX and HAP); the default-access read can fail no other way
 * with EINVAL.  Every page is reset only when the default was restricted
 * (as xen-access's write and exec modes leave it): setting a page splits
 * the superpage it is in, and with access_required 0 Xen lifts a page's
 * restriction on its first access anyway.
 */
static void reset_mem_access(struct leftovers_ctx *c, int ring)
{
    struct vmeventctl_rescue_report *rep = c->rep;
    xenmem_access_t access;
    xen_pfn_t max_gpfn;
    uint64_t nr;

    if ( !ring )
    {
        LOGW(c->h, c->domid, LEFTOVERS,
             "no ring, so mem_access restrictions are not reset; Xen lifts each on its first access once access_required is 0");
        return;
    }
    if ( xc_get_mem_access(c->h->xch, c->domid, ~0ULL, &access) )
    {
        if ( errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP )
        {
            rep->mem_access = VMEVENTCTL_LEFTOVER_UNSUPPORTED;
            rep->mem_access_errno = errno;
            LOGD(c->h, c->domid, LEFTOVERS, "mem_access: not supported for this domain (%s)",
                 strerror(errno));
            return;
        }
        LOGE(c->h, c->domid, LEFTOVERS, "cannot read the default mem_access");
        leftover_failed(c, &rep->mem_access, &rep->mem_access_errno);
        return;
    }
    if ( access == XENMEM_access_rwx )
    {
        rep->mem_access = VMEVENTCTL_LEFTOVER_NOTHING;
        return;
    }
    LOG(c->h, XTL_INFO, -1, c->domid, LEFTOVERS,
        "the default mem_access is %d, not rwx: resetting it and every page", (int)access);
    if ( xc_set_mem_access(c->h->xch, c->domid, XENMEM_access_rwx, ~0ULL, 0) )
    {
        LOGE(c->h, c->domid, LEFTOVERS, "cannot reset the default mem_access to rwx");
        leftover_failed(c, &rep->mem_access, &rep->mem_access_errno);
        return;
    }
    rep->guest_changed = 1;
    if ( xc_domain_maximum_gpfn(c->h->xch, c->domid, &max_gpfn) )
    {
        LOGE(c->h, c->domid, LEFTOVERS, "cannot read the highest gfn to reset every page's mem_access");
        leftover_failed(c, &rep->mem_access, &rep->mem_access_errno);
        return;
    }
    nr = (uint64_t)max_gpfn + 1;
    if ( xc_set_mem_access(c->h->xch, c->domid, XENMEM_access_rwx, 0,
                           nr > UINT32_MAX ? UINT32_MAX : (uint32_t)nr) )
    {
        LOGE(c->h, c->domid, LEFTOVERS, "cannot reset the mem_access of gfns 0 to %#llx to rwx",
             (unsigned long long)max_gpfn);
        leftover_failed(c, &rep->mem_access, &rep->mem_access_errno);
        return;
    }
    rep->mem_access = VMEVENTCTL_LEFTOVER_RESET;
}

/*
 * A dead agent's VM_EVENT_FLAG_TOGGLE_SINGLESTEP leaves a vCPU stepping
 * (one VM exit per instruction).  Xen has no call to read it; turning it
 * off also ends a fast single-step.  EOPNOTSUPP: no monitor trap flag
 * (AMD SVM), checked before the vCPU is touched (hvm_debug_op).
 */
static void reset_single_step(struct leftovers_ctx *c)
{
    struct vmeventctl_rescue_report *rep = c->rep;
    unsigned int v;

    for ( v = 0; v < c->nr_vcpus; v++ )
    {
        if ( xc_domain_debug_control(c->h->xch, c->domid, XEN_DOMCTL_DEBUG_OP_SINGLE_STEP_OFF, v) == 0 )
        {
            rep->guest_changed = 1;
            continue;
        }
        if ( errno == EOPNOTSUPP )
        {
            rep->single_step = VMEVENTCTL_LEFTOVER_UNSUPPORTED;
            rep->single_step_errno = errno;
            return;
        }
        LOGE(c->h, c->domid, LEFTOVERS, "cannot turn single-step off on vCPU %u", v);
        leftover_failed(c, &rep->single_step, &rep->single_step_errno);
        return;
    }
    rep->single_step = VMEVENTCTL_LEFTOVER_RESET;
}

/*
 * altp2m is read, never changed: the guest (altp2m mode mixed or limited)
 * or the toolstack may use it, and turning it off drops every view.
 * EOPNOTSUPP: the CPU has none (hvm_altp2m_supported: VMX only); EINVAL:
 * the domain's altp2m mode is "disabled".
 */
static void check_altp2m(struct leftovers_ctx *c)
{
    struct vmeventctl_rescue_report *rep = c->rep;
    bool active;

    if ( xc_altp2m_get_domain_state(c->h->xch, c->domid, &active) )
    {
        if ( errno == EOPNOTSUPP || errno == EINVAL )
        {
            rep->altp2m = VMEVENTCTL_LEFTOVER_UNSUPPORTED;
            rep->altp2m_errno = errno;
            return;
        }
        LOGE(c->h, c->domid, LEFTOVERS, "cannot read whether altp2m is active");
        leftover_failed(c, &rep->altp2m, &rep->altp2m_errno);
        return;
    }
    if ( !active )
    {
        rep->altp2m = VMEVENTCTL_LEFTOVER_NOTHING;
        return;
    }
    rep->altp2m = VMEVENTCTL_LEFTOVER_KEPT;
    LOGW(c->h, c->domid, LEFTOVERS,
         "altp2m is active and left as it is: if only the dead agent used it, its views (and their restrictions) still apply");
}

int vmeventctl__reset_leftovers(vmeventctl_handle *h, uint32_t domid,
                                unsigned int nr_vcpus, int ring,
                                struct vmeventctl_rescue_report *rep)
{
    struct leftovers_ctx ctx = { h, domid, nr_vcpus, rep, 0 };
    struct leftovers_ctx *c = &ctx;

    reset_access_required(c);
    reset_mem_access(c, ring);
    reset_single_step(c);
    check_altp2m(c);
    LOG(c->h, XTL_INFO, -1, c->domid, LEFTOVERS,
        "access_required %s, mem_access %s, single-step %s, altp2m %s",
        vmeventctl_leftover_name(c->rep->access_required),
        vmeventctl_leftover_name(c->rep->mem_access),
        vmeventctl_leftover_name(c->rep->single_step),
        vmeventctl_leftover_name(c->rep->altp2m));
    if ( c->first_err )
    {
        errno = c->first_err;
        return -1;
    }
    return 0;
}
