/*
 * ring.c: enabling a ring, reading and validating requests, answering,
 * notifying and waiting.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

/* xc_hvm_inject_trap, the call xen-access re-injects a breakpoint with. */
#define XC_WANT_COMPAT_DEVICEMODEL_API

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "private.h"

static const char *kind_name(enum vmeventctl_ring_kind kind)
{
    switch ( kind )
    {
    case VMEVENTCTL_RING_MONITOR: return "monitor";
    case VMEVENTCTL_RING_PAGING:  return "paging";
    case VMEVENTCTL_RING_SHARING: return "sharing";
    }
    return "unknown";
}

/*
 * Paging and sharing rings are compiled out of Debian's hypervisor
 * (CONFIG_MEM_PAGING, CONFIG_MEM_SHARING) and answer ENOSYS.  Where a Xen
 * has them, this library still only drives monitor rings: their requests
 * need the pager's or sharer's own protocol.  Take such a ring straight
 * down again so nothing is left behind.
 */
static int enable_other_kind(vmeventctl_handle *h, uint32_t domid,
                             enum vmeventctl_ring_kind kind)
{
    uint32_t port;
    int rc;

    if ( kind == VMEVENTCTL_RING_PAGING )
        rc = xc_mem_paging_enable(h->xch, domid, &port);
    else
        rc = xc_memshr_ring_enable(h->xch, domid, &port);

    if ( rc )
    {
        if ( errno == ENOSYS )
            LOGE(h, domid, "enable",
                 "this hypervisor was built without %s support (Debian's is): only monitor rings are available",
                 kind_name(kind));
        else
            LOGE(h, domid, "enable", "%s failed",
                 kind == VMEVENTCTL_RING_PAGING ? "xc_mem_paging_enable" : "xc_memshr_ring_enable");
        return -1;
    }

    if ( kind == VMEVENTCTL_RING_PAGING )
        rc = xc_mem_paging_disable(h->xch, domid);
    else
        rc = xc_memshr_ring_disable(h->xch, domid);
    if ( rc )
        LOGE(h, domid, "enable", "could not take the probing %s ring down again",
             kind_name(kind));
    errno = EOPNOTSUPP;
    LOGE(h, domid, "enable", "libvmeventctl drives monitor rings only, not %s rings",
         kind_name(kind));
    return -1;
}

void vmeventctl__ring_free(vmeventctl_ring *r)
{
    if ( !r )
        return;
    vmeventctl__ring_unlink(r->h, r);
    free(r->vcpus);
    free(r);
}

int vmeventctl__ring_unbind(vmeventctl_ring *r)
{
    unsigned int attempt;
    int first_errno = 0;

    /*
     * A port left bound keeps a path for notifies into Xen's callback:
     * try again before giving up on a transient failure.  Any failure is
     * still reported (-1, errno of the first), even if a retry unbound it.
     */
    for ( attempt = 0; r->bound && attempt < 3; attempt++ )
    {
        if ( xenevtchn_unbind(r->h->xce, r->port) == 0 )
        {
            r->bound = 0;
            break;
        }
        if ( !first_errno )
            first_errno = errno;
        LOGE(r->h, r->domid, "unbind", "cannot unbind local port %u (attempt %u of 3)",
             r->port, attempt + 1);
    }
    if ( first_errno )
    {
        errno = first_errno;
        return -1;
    }
    return 0;
}

VMEVENTCTL_EXPORT
vmeventctl_ring *vmeventctl_ring_enable(vmeventctl_handle *h, uint32_t domid,
                                        enum vmeventctl_ring_kind kind,
                                        unsigned int flags)
{
    vmeventctl_ring *r = NULL;
    xc_domaininfo_t info;
    xenevtchn_port_or_error_t port;
    char *prev = NULL;
    unsigned int attempt;
    int saved, paused = 0, ring_left = 0;

    if ( flags || (kind != VMEVENTCTL_RING_MONITOR &&
                   kind != VMEVENTCTL_RING_PAGING &&
                   kind != VMEVENTCTL_RING_SHARING) )
    {
        errno = EINVAL;
        LOGE(h, domid, "enable", "invalid ring kind %d or flags %#x", kind, flags);
        return NULL;
    }
    if ( vmeventctl__check_target(h, domid, "enable", &info) )
        return NULL;
    if ( vmeventctl__check_interface(h, domid, "enable") )
        return NULL;
    if ( kind != VMEVENTCTL_RING_MONITOR )
    {
        enable_other_kind(h, domid, kind);
        return NULL;
    }

    r = calloc(1, sizeof(*r));
    if ( !r )
        goto err_log;
    r->h = h;
    r->domid = domid;
    r->kind = kind;
    r->nr_vcpus = info.max_vcpu_id + 1;
    r->vcpus = calloc(r->nr_vcpus, sizeof(*r->vcpus));
    if ( !r->vcpus )
        goto err_log;

    /*
     * Our record comes first and says "paused 2": our own pause reference
     * (below) and libxc's inside xc_monitor_enable.  Killed while either
     * is held, the record is what lets a rescue release it
     * (docs/findings.md #4).
     */
    if ( vmeventctl__owner_claim(h, domid, &info, 2, &prev) )
        goto err;
    /*
     * Held from before the enable until the shared indices are set and our
     * port is bound.  xc_monitor_enable unpauses the domain before it
     * returns, and neither Xen (vm_event_enable: FRONT_RING_INIT only) nor
     * libxc initialises the shared indices: a request produced in between
     * (by a mem_access restriction another tool left, say) would be wiped
     * by SHARED_RING_INIT and its vCPU would wait for ever.  Held, too, so
     * that an enable undone below has no request on its ring.
     */
    if ( xc_domain_pause(h->xch, domid) )
    {
        LOGE(h, domid, "enable", "xc_domain_pause failed; nothing was changed");
        goto err_record;
    }
    paused = 1;
    r->page = vmeventctl__monitor_enable(h, domid, "enable", &r->xen_port, &ring_left);
    if ( !r->page )
    {
        if ( errno == EBUSY )
            LOGE(h, domid, "enable",
                 "a monitor ring already exists: another agent owns it, or its agent died (xen-vmevent-drain status shows which)");
        else
            LOGE(h, domid, "enable", "xc_monitor_enable failed");
        goto err_unpause;
    }

    SHARED_RING_INIT((vm_event_sring_t *)r->page);
    BACK_RING_INIT(&r->back, (vm_event_sring_t *)r->page, XC_PAGE_SIZE);

    port = xenevtchn_bind_interdomain(h->xce, domid, r->xen_port);
    if ( port < 0 )
    {
        LOGE(h, domid, "enable", "cannot bind to Xen's port %u (xenevtchn_bind_interdomain)",
             r->xen_port);
        goto err_disable;
    }
    r->port = (evtchn_port_t)port;
    r->bound = 1;

    if ( xc_domain_unpause(h->xch, domid) )
    {
        /* Still held: take the ring down while nothing can use it. */
        LOGE(h, domid, "enable", "xc_domain_unpause failed; taking the ring down again");
        goto err_disable;
    }

    /* Both pause references are released: the record stands without its mark. */
    if ( vmeventctl__owner_write(h, domid, 0) )
    {
        /*
         * The guest runs again, so a request may be on the ring by now:
         * only the safe disable takes the ring down without freezing its
         * vCPU.  It removes the record too.
         */
        saved = errno;
        free(prev);
        vmeventctl__ring_link(h, r);
        vmeventctl_ring_disable(r, 0, NULL);
        errno = saved;
        return NULL;
    }
    free(prev);

    vmeventctl__ring_link(h, r);
    LOGD(h, domid, "enable", "monitor ring enabled, Xen port %u bound to local port %u",
         r->xen_port, r->port);
    return r;

 err_disable:
    saved = errno;
    vmeventctl__ring_unbind(r);
    munmap(r->page, XC_PAGE_SIZE);
    /*
     * Our pause has been held since before the enable, so no vCPU ran with
     * the ring there and no request can be waiting for an answer.
     */
    if ( xc_monitor_disable(h->xch, domid) )
    {
        LOGE(h, domid, "enable", "undo: xc_monitor_disable failed; the ring is left enabled");
        ring_left = 1;
    }
    errno = saved;
 err_unpause:
    saved = errno;
    for ( attempt = 0; paused && attempt < 3; attempt++ )
    {
        if ( xc_domain_unpause(h->xch, domid) == 0 )
            paused = 0;
        else
            LOGE(h, domid, "enable", "undo: xc_domain_unpause failed (attempt %u of 3)",
                 attempt + 1);
    }
    if ( paused )
    {
        /* The record keeps its mark: a rescue can release the reference. */
        LOG(h, XTL_CRITICAL, -1, domid, "enable",
            "the domain is left paused by our reference: run 'xl unpause %u'", domid);
        free(prev);
        errno = saved;
        goto err;
    }
    if ( ring_left )
    {
        /* Our record, unmarked, names the ring's owner: a rescue can take it. */
        free(prev);
        prev = NULL;
        if ( vmeventctl__owner_write(h, domid, 0) == 0 )
        {
            errno = saved;
            goto err;
        }
    }
    errno = saved;
 err_record:
    saved = errno;
    vmeventctl__owner_unclaim(h, domid, prev);
    errno = saved;
    goto err;
 err_log:
    LOGE(h, domid, "enable", "out of memory");
 err:
    saved = errno;
    if ( r )
    {
        free(r->vcpus);
        free(r);
    }
    errno = saved;
    return NULL;
}

void *vmeventctl__monitor_enable(vmeventctl_handle *h, uint32_t domid,
                                 const char *step, uint32_t *port, int *ring_left)
{
    void *page;
    int saved;

    *ring_left = 0;
    /* libxc sets *port only once Xen's enable succeeded (xc_vm_event_control). */
    *port = ~(uint32_t)0;
    page = xc_monitor_enable(h->xch, domid, port);
    if ( page || *port == ~(uint32_t)0 )
        return page;

    /*
     * Xen enabled a ring, then libxc failed: taking the ring's gfn out of
     * the guest's physmap, or its own unpause (xc_vm_event.c,
     * xc_vm_event_enable), and unmapped the page.  Nobody would ever
     * disable that ring.  The caller's pause, held since before the
     * enable, keeps requests off it; the resume probe says whether it is
     * there (ENODEV: no ring, as on a dying domain, whose enable does
     * nothing and answers 0).
     */
    saved = errno;
    if ( xc_monitor_resume(h->xch, domid) )
    {
        if ( errno != ENODEV )
        {
            LOGE(h, domid, step,
                 "xc_monitor_enable failed after Xen enabled the ring, and the probe for it (xc_monitor_resume) failed: a ring may be left enabled");
            *ring_left = 1;
        }
    }
    else if ( xc_monitor_disable(h->xch, domid) )
    {
        LOGE(h, domid, step,
             "xc_monitor_enable failed after Xen enabled the ring, and xc_monitor_disable failed: the ring is left enabled");
        *ring_left = 1;
    }
    else
        LOG(h, XTL_INFO, -1, domid, step,
            "xc_monitor_enable failed after Xen enabled the ring: that ring is disabled again");
    errno = saved;
    return NULL;
}

VMEVENTCTL_EXPORT
uint32_t vmeventctl_ring_domid(const vmeventctl_ring *r)
{
    return r->domid;
}

VMEVENTCTL_EXPORT
uint32_t vmeventctl_ring_port(const vmeventctl_ring *r)
{
    return r->port;
}

VMEVENTCTL_EXPORT
uint32_t vmeventctl_ring_xen_port(const vmeventctl_ring *r)
{
    return r->xen_port;
}

VMEVENTCTL_EXPORT
unsigned int vmeventctl_ring_events(const vmeventctl_ring *r)
{
    return r->events;
}

int vmeventctl__monitor_set(vmeventctl_handle *h, uint32_t domid,
                            unsigned int ev, int enable)
{
    switch ( ev )
    {
    case VMEVENTCTL_EVENT_CPUID:
        return xc_monitor_cpuid(h->xch, domid, enable);
    case VMEVENTCTL_EVENT_SOFTWARE_BREAKPOINT:
        return xc_monitor_software_breakpoint(h->xch, domid, enable);
    case VMEVENTCTL_EVENT_PRIVILEGED_CALL:
        return xc_monitor_privileged_call(h->xch, domid, enable);
    }
    errno = EINVAL;
    return -1;
}

const char *vmeventctl__event_name(unsigned int ev)
{
    switch ( ev )
    {
    case VMEVENTCTL_EVENT_CPUID:               return "cpuid";
    case VMEVENTCTL_EVENT_SOFTWARE_BREAKPOINT: return "software breakpoint";
    case VMEVENTCTL_EVENT_PRIVILEGED_CALL:     return "privileged call";
    }
    return "unknown";
}

VMEVENTCTL_EXPORT
int vmeventctl_ring_monitor(vmeventctl_ring *r, enum vmeventctl_event ev,
                            int enable)
{
    if ( vmeventctl__monitor_set(r->h, r->domid, ev, !!enable) )
    {
        if ( errno == EEXIST )
            LOGE(r->h, r->domid, "monitor", "%s events are already %s",
                 vmeventctl__event_name(ev), enable ? "on" : "off");
        else
            LOGE(r->h, r->domid, "monitor", "cannot turn %s events %s",
                 vmeventctl__event_name(ev), enable ? "on" : "off");
        return -1;
    }
    if ( enable )
        r->events |= ev;
    else
        r->events &= ~(unsigned int)ev;
    return 0;
}

/*
 * The ring page is Xen's and ours alone (the gfn left the guest's physmap),
 * but its indices are still read with suspicion.  Xen puts a request only
 * in a slot whose answer it has consumed (vm_event_ring_available), and it
 * can only have consumed answers we published: so req_prod is never more
 * than a ring's worth ahead of the rsp_prod we last published.  Past that
 * it is corrupt, and reading on would have us take slots Xen never wrote,
 * or slots holding requests and answers of ours Xen has not read, and then
 * publish more answers than the ring holds.
 */
static int ring_unconsumed(vmeventctl_ring *r, RING_IDX *prod)
{
    RING_IDX p = r->back.sring->req_prod;
    RING_IDX published = r->back.rsp_prod_pvt - r->queued;
    RING_IDX n;

    xen_rmb(); /* see req_prod before the requests it covers */
    n = p - r->back.req_cons;
    if ( n > RING_SIZE(&r->back) || p - published > RING_SIZE(&r->back) ||
         r->back.req_cons - r->back.rsp_prod_pvt > RING_SIZE(&r->back) )
    {
        errno = EIO;
        /* Name the check that failed: "ahead" of a req_prod that went back reads as a huge gap. */
        if ( n >= 0x80000000u ) /* the difference wrapped */
            LOG(r->h, XTL_ERROR, -1, r->domid, "read",
                "corrupt ring: req_prod %u went back behind our consumer index %u",
                p, r->back.req_cons);
        else if ( n > RING_SIZE(&r->back) )
            LOG(r->h, XTL_ERROR, -1, r->domid, "read",
                "corrupt ring: req_prod %u is %u ahead of our consumer index %u, but the ring has %u slots",
                p, n, r->back.req_cons, RING_SIZE(&r->back));
        else if ( p - published > RING_SIZE(&r->back) )
            LOG(r->h, XTL_ERROR, -1, r->domid, "read",
                "corrupt ring: req_prod %u is %u ahead of the rsp_prod we published (%u), but Xen reuses only slots whose answers it read, and the ring has %u slots",
                p, p - published, published, RING_SIZE(&r->back));
        else
            LOG(r->h, XTL_ERROR, -1, r->domid, "read",
                "our consumer index %u is %u ahead of our response producer %u, but the ring has %u slots",
                r->back.req_cons, r->back.req_cons - r->back.rsp_prod_pvt,
                r->back.rsp_prod_pvt, RING_SIZE(&r->back));
        return -1;
    }
    *prod = p;
    return (int)n;
}

VMEVENTCTL_EXPORT
int vmeventctl_ring_get_request(vmeventctl_ring *r, vm_event_request_t *req)
{
    RING_IDX prod, cons;
    int n = ring_unconsumed(r, &prod);

    if ( n <= 0 )
        return n;

    cons = r->back.req_cons;
    memcpy(req, RING_GET_REQUEST(&r->back, cons), sizeof(*req));
    r->back.req_cons = ++cons;
    /* Ask Xen to notify us for the next request. */
    r->back.sring->req_event = cons + 1;

    if ( req->version != VM_EVENT_INTERFACE_VERSION ||
         req->vcpu_id >= r->nr_vcpus )
    {
        r->invalid++;
        errno = EBADMSG;
        LOG(r->h, XTL_ERROR, -1, r->domid, "read",
            "malformed request consumed: version %u (want %u), vcpu %u of %u",
            req->version, VM_EVENT_INTERFACE_VERSION, req->vcpu_id,
            r->nr_vcpus);
        return -1;
    }
    return 1;
}

/*
 * The slots from our response producer up to our consumer index hold the
 * requests read but not answered yet: Xen writes a request only in a slot
 * whose response it has consumed, so it leaves these alone, and the safe
 * disable answers exactly these (vmeventctl__ring_answer_outstanding()).
 * An answer is written at the response producer, the oldest of them.
 * Callers may answer in any order (Xen matches an answer to its vCPU by
 * vcpu_id, not by slot), so when the request answered is not the oldest,
 * the oldest first moves into the answered one's slot: no request still
 * waiting for its answer is overwritten.  idx is where the answered
 * request was read from.
 */
static vm_event_response_t *response_slot(vmeventctl_ring *r, RING_IDX idx)
{
    RING_IDX oldest = r->back.rsp_prod_pvt;

    if ( idx != oldest )
        memcpy(RING_GET_REQUEST(&r->back, idx), RING_GET_REQUEST(&r->back, oldest),
               sizeof(vm_event_request_t));
    return RING_GET_RESPONSE(&r->back, oldest);
}

/*
 * Where req was read from, among the requests not answered yet: the first
 * of the same vCPU, kind (waiting or not) and reason, else the oldest.  A
 * vCPU waits for one answer at a time, so for a waiting vCPU that is its
 * request; requests that do not wait only need one answer each.
 */
static RING_IDX unanswered_slot(const vmeventctl_ring *r, const vm_event_request_t *req)
{
    RING_IDX i;

    for ( i = r->back.rsp_prod_pvt; i != r->back.req_cons; i++ )
    {
        const vm_event_request_t *slot = RING_GET_REQUEST(&r->back, i);

        if ( slot->vcpu_id == req->vcpu_id && slot->reason == req->reason &&
             !((slot->flags ^ req->flags) & VM_EVENT_FLAG_VCPU_PAUSED) )
            return i;
    }
    return r->back.rsp_prod_pvt;
}

static vm_event_response_t *next_response(vmeventctl_ring *r, RING_IDX idx)
{
    /* One answer per request consumed: never write past what was read. */
    if ( r->back.rsp_prod_pvt == r->back.req_cons )
    {
        errno = ENOSPC;
        return NULL;
    }
    return response_slot(r, idx);
}

static void fill_response(vm_event_response_t *rsp,
                          const vm_event_request_t *req, uint32_t extra)
{
    memset(rsp, 0, sizeof(*rsp));
    /*
     * Xen's vm_event_resume drops a response of another version silently,
     * and only VM_EVENT_FLAG_VCPU_PAUSED for this vcpu_id unpauses it.
     */
    rsp->version = VM_EVENT_INTERFACE_VERSION;
    rsp->vcpu_id = req->vcpu_id;
    rsp->altp2m_idx = req->altp2m_idx;
    rsp->reason = req->reason;
    rsp->flags = (req->flags & VM_EVENT_FLAG_VCPU_PAUSED) | extra;

    /*
     * CPUID: Xen has already put its result in the vCPU's registers but
     * left RIP on the instruction (xen/arch/x86/hvm/hvm.c hvm_vmexit_cpuid,
     * hvm/monitor.c hvm_monitor_cpuid returning 1), and the request carries
     * those registers.  A bare answer would run CPUID again with the result
     * as its leaf; the default answer completes it, as the guest would have
     * without monitoring.  VM_EVENT_FLAG_SET_REGISTERS needs the vCPU
     * paused (arch/x86/vm_event.c vm_event_set_registers).
     */
    if ( req->reason == VM_EVENT_REASON_CPUID &&
         (req->flags & VM_EVENT_FLAG_VCPU_PAUSED) )
    {
        rsp->flags |= VM_EVENT_FLAG_SET_REGISTERS;
        rsp->data.regs.x86 = req->data.regs.x86;
        rsp->data.regs.x86.rip += req->u.cpuid.insn_length;
    }
}

/* The #BP vector, xen-access's X86_TRAP_INT3. */
#define X86_VECTOR_BP 3

/*
 * A software breakpoint event leaves the vCPU's RIP on the INT3 and
 * injects nothing: VMX and SVM hand the #BP to the guest only when no
 * event was sent (vmx/vmx.c vmx_vmexit_handler, TRAP_int3; svm/svm.c
 * svm_vmexit_handler, VMEXIT_EXCEPTION_BP), and the event is always
 * synchronous (hvm/monitor.c hvm_monitor_debug).  A bare answer runs the
 * INT3 again: a new event, for as long as the monitor is on.  So the
 * default answer re-injects the #BP as xen-access does, with the type and
 * instruction length Xen put in the request.  Xen stores it for the vCPU
 * (hvm/dm.c inject_event) and delivers it when the vCPU next enters the
 * guest (hvm/hvm.c hvm_do_resume): it must be queued before the answer
 * lets the vCPU go, or the vCPU may run the INT3 first.
 * Returns 0, or -1 with the errno of xc_hvm_inject_trap (logged).
 */
static int reinject_breakpoint(vmeventctl_ring *r, const vm_event_request_t *req,
                               const char *step)
{
    if ( req->reason != VM_EVENT_REASON_SOFTWARE_BREAKPOINT ||
         !(req->flags & VM_EVENT_FLAG_VCPU_PAUSED) )
        return 0;
    if ( xc_hvm_inject_trap(r->h->xch, r->domid, (int)req->vcpu_id, X86_VECTOR_BP,
                            req->u.software_breakpoint.type, ~(uint32_t)0,
                            (uint8_t)req->u.software_breakpoint.insn_length, 0) == 0 )
        return 0;
    LOGE(r->h, r->domid, step,
         "cannot re-inject the breakpoint vCPU %u stopped on (xc_hvm_inject_trap); it will run the INT3 again",
         req->vcpu_id);
    return -1;
}

static void commit_response(vmeventctl_ring *r, const vm_event_response_t *rsp)
{
    r->back.rsp_prod_pvt++;
    r->queued++;
    if ( rsp->vcpu_id < r->nr_vcpus && (rsp->flags & VM_EVENT_FLAG_VCPU_PAUSED) )
    {
        r->vcpus[rsp->vcpu_id].answered = 1;
        r->vcpus[rsp->vcpu_id].have_snap = 0;
    }
}

int vmeventctl__ring_answer_outstanding(vmeventctl_ring *r)
{
    int n = 0;

    /*
     * Requests the agent read but never answered still sit in their slots
     * (Xen reuses a slot only once its response is consumed), from our
     * response producer up to our consumer index, whatever order the
     * agent answered in (see response_slot()).
     */
    while ( r->back.rsp_prod_pvt != r->back.req_cons )
    {
        vm_event_request_t req;
        vm_event_response_t *rsp;

        memcpy(&req, RING_GET_REQUEST(&r->back, r->back.rsp_prod_pvt), sizeof(req));
        rsp = RING_GET_RESPONSE(&r->back, r->back.rsp_prod_pvt);
        if ( req.version != VM_EVENT_INTERFACE_VERSION || req.vcpu_id >= r->nr_vcpus )
        {
            memset(rsp, 0, sizeof(*rsp)); /* version 0: Xen drops it */
            r->back.rsp_prod_pvt++;
            r->queued++;
            continue;
        }
        /* A failed re-injection still gets its answer: its vCPU must not stay frozen. */
        reinject_breakpoint(r, &req, "answer");
        fill_response(rsp, &req, 0);
        commit_response(r, rsp);
        n++;
    }
    return n;
}

VMEVENTCTL_EXPORT
int vmeventctl_ring_put_response(vmeventctl_ring *r,
                                 const vm_event_request_t *req,
                                 uint32_t extra_flags)
{
    vm_event_response_t *rsp;

    /* Checked first: no re-injection for a request that is not there. */
    if ( r->back.rsp_prod_pvt == r->back.req_cons )
    {
        errno = ENOSPC;
        return -1;
    }
    /* Nothing queued on failure: the request stays unanswered, in its slot. */
    if ( reinject_breakpoint(r, req, "answer") )
        return -1;
    rsp = next_response(r, unanswered_slot(r, req));
    fill_response(rsp, req, extra_flags);
    commit_response(r, rsp);
    return 0;
}

VMEVENTCTL_EXPORT
int vmeventctl_ring_notify(vmeventctl_ring *r)
{
    if ( !r->queued && !r->notify_owed )
        return 0;
    RING_PUSH_RESPONSES(&r->back);
    r->queued = 0;
    if ( !r->bound )
        return 0; /* the safe disable kicks Xen with xc_monitor_resume */
    if ( xenevtchn_notify(r->h->xce, r->port) )
    {
        /*
         * The answers are published but Xen does not know: their vCPUs
         * wait until something kicks it.  The next notify does, even with
         * nothing new to push.
         */
        r->notify_owed = 1;
        LOGE(r->h, r->domid, "notify", "cannot notify Xen on local port %u", r->port);
        return -1;
    }
    r->notify_owed = 0;
    return 0;
}

VMEVENTCTL_EXPORT
int vmeventctl_ring_answer_all(vmeventctl_ring *r, vmeventctl_request_cb *cb,
                               void *arg)
{
    vm_event_request_t req;
    int answered = 0, rc;

    for ( ;; )
    {
        vm_event_response_t *rsp;

        rc = vmeventctl_ring_get_request(r, &req);
        if ( rc == 0 )
            break;
        if ( rc < 0 && errno == EBADMSG )
        {
            /*
             * A malformed request was consumed.  Keep one response per
             * request so the indices stay paired; the zeroed slot has
             * version 0, which Xen's vm_event_resume drops unread.
             */
            rsp = response_slot(r, r->back.req_cons - 1);
            memset(rsp, 0, sizeof(*rsp));
            r->back.rsp_prod_pvt++;
            r->queued++;
            continue;
        }
        if ( rc < 0 )
            goto out;
        /*
         * The request was consumed here and the caller never sees it: a
         * failed re-injection (logged) still gets its answer, so that its
         * vCPU does not stay frozen (it runs the INT3 again), and it counts
         * as answered: the safe disable relies on the count.
         */
        reinject_breakpoint(r, &req, "answer");
        /* The request just read, in the slot before our consumer index. */
        rsp = next_response(r, r->back.req_cons - 1);
        fill_response(rsp, &req, 0);
        if ( cb )
        {
            cb(&req, rsp, arg);
            rsp->version = VM_EVENT_INTERFACE_VERSION;
            rsp->vcpu_id = req.vcpu_id;
        }
        commit_response(r, rsp);
        answered++;
    }
    rc = answered;
 out:
    r->batch_answered = (unsigned int)answered;
    /* One notify for the whole batch. */
    if ( vmeventctl_ring_notify(r) )
        return -1;
    return rc;
}

VMEVENTCTL_EXPORT
int vmeventctl_ring_wait(vmeventctl_ring *r, int timeout_ms)
{
    vmeventctl_handle *h = r->h;
    uint64_t deadline = 0;
    RING_IDX prod;

    if ( timeout_ms > 0 )
        deadline = vmeventctl__now_ns() + (uint64_t)timeout_ms * 1000000ull;

    for ( ;; )
    {
        struct pollfd fds[2];
        int n, left = timeout_ms;

        if ( h->stop )
        {
            errno = ECANCELED;
            return -1;
        }
        /* Requests may already be there: Xen notifies only past req_event. */
        n = ring_unconsumed(r, &prod);
        if ( n != 0 )
            return n < 0 ? -1 : 1;

        if ( timeout_ms > 0 )
        {
            uint64_t now = vmeventctl__now_ns();

            left = now >= deadline ? 0 :
                   (int)((deadline - now + 999999ull) / 1000000ull);
        }

        fds[0].fd = xenevtchn_fd(h->xce);
        fds[0].events = POLLIN;
        fds[1].fd = h->stop_pipe[0];
        fds[1].events = POLLIN;
        n = poll(fds, 2, left);
        if ( n < 0 )
        {
            if ( errno == EINTR )
                continue;
            LOGE(h, r->domid, "wait", "poll failed");
            return -1;
        }
        if ( n == 0 )
            return 0;
        if ( fds[1].revents )
            continue; /* stop requested: reported at the top */
        if ( fds[0].revents & POLLIN )
        {
            xenevtchn_port_or_error_t port = xenevtchn_pending(h->xce);

            if ( port < 0 )
            {
                if ( errno == EAGAIN || errno == EINTR )
                    continue;
                LOGE(h, r->domid, "wait", "xenevtchn_pending failed");
                return -1;
            }
            if ( xenevtchn_unmask(h->xce, port) )
            {
                LOGE(h, r->domid, "wait", "cannot unmask port %d", port);
                return -1;
            }
            /* Any port of this handle wakes us: the ring says what is ours. */
            return 1;
        }
        if ( fds[0].revents & (POLLERR | POLLHUP | POLLNVAL) )
        {
            errno = EIO;
            LOGE(h, r->domid, "wait", "event channel device reported an error");
            return -1;
        }
    }
}
