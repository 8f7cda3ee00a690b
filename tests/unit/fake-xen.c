/*
 * fake-xen.c: fakes of the libxenctrl, libxenevtchn and libxenstore calls
 * libvmeventctl makes, over a small model of Xen 4.17.
 *
 * Compiled against the real Xen headers, so a signature drift fails the
 * build.  Linked into unit tests instead of -lxenctrl -lxenevtchn
 * -lxenstore; needs no symbol from those libraries.
 *
 * Every rule of the model names the Xen source it follows, in
 * xen-project/xen at RELEASE-4.17.7 unless said otherwise ("vm_event.c:
 * vm_event_resume" means xen/common/vm_event.c, function vm_event_resume).
 * The code is written for the model; none of it is Xen's.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#define _GNU_SOURCE
/* xc_hvm_inject_trap is declared for users of the compat API only. */
#define XC_WANT_COMPAT_DEVICEMODEL_API

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <xenctrl.h>
#include <xenevtchn.h>
#include <xenstore.h>
#include <xen/vm_event.h>
#include <xen/io/ring.h>

#include "fake-xen.h"

#define FAKE_PAGE_SIZE          4096
#define FAKE_MAX_DOMAINS        64
#define FAKE_NR_RING_KINDS      3

/*
 * Event channel ports.  Xen's get_free_port() hands out the lowest free
 * port (event_channel.c: get_free_port); a guest already uses a few for
 * xenstore and its console, dom0 many more.
 */
#define FAKE_GUEST_PORTS        64
#define FAKE_GUEST_FIRST_FREE   5
#define FAKE_DOM0_PORTS         1024
#define FAKE_DOM0_FIRST_FREE    32
/* The Linux evtchn driver rejects ports >= xen_evtchn_nr_channels(); with
 * the FIFO ABI that is 2^17 (drivers/xen/evtchn.c: evtchn_ioctl). */
#define FAKE_NR_EVENT_CHANNELS  (1u << 17)

/* XENSTORE_PAYLOAD_MAX (xen/io/xs_wire.h), checked by xs.c: xs_talkv. */
#define FAKE_XS_PAYLOAD_MAX     4096

#define FAKE_MAX_FAIL_RULES     16

/* Xen 4.17 rejects vm_event ops on DOMID_INVALID with ESRCH only from
 * 4.17.7 on (domctl.c: do_domctl); earlier 4.17.x crash. */

enum port_state {
    PORT_FREE = 0,
    PORT_RESERVED,      /* port 0, and the guest's own channels */
    PORT_UNBOUND,
    PORT_INTERDOMAIN,
};

/* A port of a guest domain. */
struct guest_port {
    enum port_state state;
    int xen_consumer;       /* ring kind + 1 when Xen consumes it, else 0 */
    uint32_t remote_domid;  /* UNBOUND: who may bind it */
    uint32_t remote_port;   /* INTERDOMAIN: the dom0 port */
};

/* A port of dom0, bound through /dev/xen/evtchn. */
struct dom0_port {
    enum port_state state;
    struct xenevtchn_handle *owner;
    uint32_t remote_domid;
    uint32_t remote_port;
    int enabled;            /* Linux driver: irq enabled (unmasked) */
    int pending;            /* Xen's pending bit, latched while masked */
};

struct fake_vcpu {
    int online;                 /* !VPF_down */
    int idle;                   /* VPF_blocked */
    int vm_event_pause_count;   /* v->vm_event_pause_count */
    int ring_full;              /* ved->pause_flag set in v->pause_flags */
    int on_wq;                  /* on the ring's wait queue list */
    unsigned long wq_seq;       /* position in that list */
    int woken;                  /* taken off the list, claim not retried */
    vm_event_request_t pending_req;
    int pending_sync;
    uint64_t cpu_time;
    unsigned long events;
    /*
     * On a pCPU now (v->is_running): set when a step runs it, cleared when
     * anything stops it.  A runnable vCPU that has not been scheduled yet
     * reads running=0, as on Xen, so "running" proves it ran.
     */
    int on_cpu;
    int single_step;            /* v->arch.hvm.single_step */
    int fast_single_step;       /* v->arch.hvm.fast_single_step.enabled */
    /* RIP left on an INT3 by a sync breakpoint event (vmx.c TRAP_int3). */
    int at_int3;
    /* v->arch.hvm.inject_event, set by xc_hvm_inject_trap (dm.c). */
    int inject_pending;
    uint8_t inject_vector;
    /* The guest's registers as vm_event_fill_regs reads them. */
    struct vm_event_regs_x86 regs;
    /*
     * v->arch.vm_event->gprs and ->set_gprs (arch/x86/vm_event.c:
     * vm_event_set_registers): stored by a response, applied when the
     * vCPU next enters the guest, freed with the ring.
     */
    struct vm_event_regs_x86 gprs;
    int set_gprs;
    /* Kept off the pCPUs by something the model does not show. */
    int stuck;
};

struct fake_ring {
    int exists;
    void *xen_view;                 /* Xen's own mapping of the page */
    vm_event_front_ring_t front;    /* Xen is the front end */
    uint32_t xen_port;
    unsigned int target_producers;
    unsigned int foreign_producers;
    unsigned int blocked;
    unsigned int last_vcpu_wake_up;
    unsigned int test_waiters;
    unsigned long wq_seq;
};

struct fake_domain {
    uint32_t domid;
    enum fake_dom_type type;
    unsigned int nr_vcpus;
    int dying;                  /* 0 alive, 1 DOMDYING_dying, 2 _dead */
    int shut_down;
    unsigned int shutdown_code;
    unsigned int pause_count;   /* d->controller_pause_count */
    unsigned int monitor_mask;  /* 1u << XEN_DOMCTL_MONITOR_EVENT_* */
    /* What the monitor disable leaves (see "mem_access, single-step"). */
    int access_required;        /* the host p2m's access_required */
    xenmem_access_t default_access;
    uint8_t page_access[FAKE_NR_GFNS];  /* xenmem_access_t of each gfn */
    int altp2m_mode;            /* HVM_PARAM_ALTP2M; 0: disabled */
    int altp2m_active;          /* d->arch.altp2m_active */
    struct fake_vcpu vcpu[FAKE_MAX_VCPUS];
    struct fake_ring ring[FAKE_NR_RING_KINDS];
    struct guest_port port[FAKE_GUEST_PORTS];
    struct fake_ring_stats st;
};

struct xc_interface_core {
    unsigned int magic;
    struct xc_interface_core *next;
};

struct xenevtchn_handle {
    unsigned int magic;
    int rfd, wfd;               /* the driver's port ring, as a pipe */
    int overflow;
    struct xenevtchn_handle *next;
};

struct xs_handle {
    unsigned int magic;
    struct xs_handle *next;
};

#define XC_MAGIC    0x78636663u
#define EVTCHN_MAGIC 0x65766368u
#define XS_MAGIC    0x78737873u

struct fake_page {
    void *addr;
    unsigned int seq;
    struct fake_page *next;
};

struct xs_node {
    char *path;
    char *value;
    unsigned int len;
};

struct log_entry {
    const char *fn;
    int can_fail;
};

struct fail_rule {
    const char *fn;             /* strdup'd */
    unsigned int remaining;
    int every;
    int err;
};

static struct {
    int initialised;

    struct fake_domain *dom[FAKE_MAX_DOMAINS];  /* sorted by domid */
    unsigned int nr_dom;

    struct dom0_port dom0_port[FAKE_DOM0_PORTS];

    struct xc_interface_core *xc_list;
    struct xenevtchn_handle *evtchn_list;
    struct xs_handle *xs_list;

    struct fake_page *pages;
    unsigned int page_seq;

    struct xs_node *xs;
    unsigned int nr_xs, cap_xs;

    struct log_entry *log;
    unsigned int nr_log, cap_log, log_mark;

    unsigned int nth_remaining;
    int nth_err;
    struct fail_rule rule[FAKE_MAX_FAIL_RULES];
    unsigned int fired;
    unsigned int after_enable_nth;  /* fake_fail_after_enable() */
    int after_enable_err;

    fake_call_hook *hook;
    void *hook_arg;
    int in_hook;
    unsigned int autostep;

    int vm_event_version;
    int xen_major, xen_minor;
    int privcall_supported;
    int paging_sharing_built;
    int host_svm;

    unsigned long domid_invalid_ops;
    unsigned long bad_handle_calls;
    unsigned long freed_under_woken;
} F;

static void reset_defaults(void);

static void ensure_init(void)
{
    if ( !F.initialised )
        reset_defaults();
}

/*
 * Call log and fault injection.
 */

static void log_append(const char *fn, int can_fail)
{
    if ( F.nr_log == F.cap_log )
    {
        unsigned int cap = F.cap_log ? F.cap_log * 2 : 256;
        struct log_entry *l = realloc(F.log, cap * sizeof(*l));

        if ( !l )
            abort();
        F.log = l;
        F.cap_log = cap;
    }
    F.log[F.nr_log].fn = fn;
    F.log[F.nr_log].can_fail = can_fail;
    F.nr_log++;
}

/*
 * Runs at the start of every faked call.  Returns 0 to go on, or the errno
 * the call must fail with (errno is then already set).
 */
static int enter(const char *fn, int can_fail)
{
    unsigned int i;
    int err = 0;

    ensure_init();
    log_append(fn, can_fail);

    if ( !F.in_hook )
    {
        if ( F.autostep )
            fake_domain_step(FAKE_ALL_DOMAINS, F.autostep);
        if ( F.hook )
        {
            F.in_hook = 1;
            F.hook(fn, F.hook_arg);
            F.in_hook = 0;
        }
    }

    if ( F.nth_remaining && --F.nth_remaining == 0 )
        err = F.nth_err;

    for ( i = 0; i < FAKE_MAX_FAIL_RULES; i++ )
    {
        struct fail_rule *r = &F.rule[i];

        if ( !r->fn || strcmp(r->fn, fn) )
            continue;
        if ( r->every )
            err = r->err;
        else if ( r->remaining && --r->remaining == 0 )
            err = r->err;
    }

    if ( err && can_fail )
    {
        F.fired++;
        errno = err;
        return err;
    }

    return 0;
}

static void bad_handle(const char *fn)
{
    F.bad_handle_calls++;
    fprintf(stderr, "fake-xen: %s called with a handle that is not open\n",
            fn);
    errno = EBADF;
}

/*
 * Domains and vCPUs.
 */

static struct fake_domain *find_domain(uint32_t domid)
{
    unsigned int i;

    ensure_init();
    for ( i = 0; i < F.nr_dom; i++ )
        if ( F.dom[i]->domid == domid )
            return F.dom[i];

    return NULL;
}

static int is_hvm(const struct fake_domain *d)
{
    return d->type != FAKE_DOM_PV;
}

static struct fake_vcpu *find_vcpu(uint32_t domid, uint32_t vcpu)
{
    struct fake_domain *d = find_domain(domid);

    if ( !d )
    {
        errno = ESRCH;
        return NULL;
    }
    if ( vcpu >= d->nr_vcpus )
    {
        errno = EINVAL;
        return NULL;
    }

    return &d->vcpu[vcpu];
}

/*
 * Whether a vCPU gets scheduled.  Any pause reference stops it: the
 * controller's (domain.c: _domain_pause_by_systemcontroller), vm_event's
 * (vm_event.c: vm_event_vcpu_pause), the ring-full flag (vm_event.c:
 * vm_event_mark_and_pause), a wait queue (wait.c), domain_kill's pause and
 * shutdown's (domain.c: domain_kill, domain_shutdown).  Idle (VPF_blocked)
 * vCPUs are not running either.
 */
static int vcpu_can_run(const struct fake_domain *d, const struct fake_vcpu *v)
{
    return v->online && !d->dying && !d->shut_down && d->pause_count == 0 &&
           v->vm_event_pause_count == 0 && !v->ring_full && !v->on_wq &&
           !v->stuck;
}

static int vcpu_running(const struct fake_domain *d, const struct fake_vcpu *v)
{
    return vcpu_can_run(d, v) && !v->idle;
}

/*
 * Event channels, Xen side (event_channel.c) and the dom0 Linux driver
 * (drivers/xen/evtchn.c in Linux).
 */

static int evtchn_push(struct xenevtchn_handle *x, uint32_t port)
{
    evtchn_port_t p = port;

    /* The driver's ring overflows into EFBIG on read (evtchn_read). */
    if ( write(x->wfd, &p, sizeof(p)) != sizeof(p) )
    {
        x->overflow = 1;
        return -1;
    }

    return 0;
}

/*
 * Xen sets a dom0 port pending.  The Linux driver's handler masks the port
 * and queues it for read() (evtchn.c: evtchn_interrupt); while masked, Xen
 * latches the pending bit and nothing is queued until unmask re-raises it.
 */
static void dom0_set_pending(uint32_t lport)
{
    struct dom0_port *lp;

    if ( lport >= FAKE_DOM0_PORTS )
        return;
    lp = &F.dom0_port[lport];
    if ( lp->owner && lp->enabled )
    {
        evtchn_push(lp->owner, lport);
        lp->enabled = 0;
        lp->pending = 0;
    }
    else
        lp->pending = 1;
}

static int guest_port_alloc(struct fake_domain *d)
{
    unsigned int p;

    for ( p = FAKE_GUEST_FIRST_FREE; p < FAKE_GUEST_PORTS; p++ )
        if ( d->port[p].state == PORT_FREE )
            return p;

    return -ENOSPC;
}

/*
 * evtchn_close() of one end of a channel: the other end of an interdomain
 * channel goes back to unbound, waiting for the closing domain
 * (event_channel.c: evtchn_close, case ECS_INTERDOMAIN).
 */
/* dom0 loopback channels, added for xen-evtchn-stress: see the end. */
static int dom0_loopback_close(uint32_t lport);
static xenevtchn_port_or_error_t dom0_loopback_bind(struct xenevtchn_handle *xce,
                                                    evtchn_port_t remote_port);

static void guest_port_close(struct fake_domain *d, uint32_t port)
{
    struct guest_port *gp = &d->port[port];

    if ( gp->state == PORT_INTERDOMAIN && gp->remote_port < FAKE_DOM0_PORTS )
    {
        struct dom0_port *lp = &F.dom0_port[gp->remote_port];

        if ( lp->state == PORT_INTERDOMAIN && lp->remote_domid == d->domid &&
             lp->remote_port == port )
        {
            lp->state = PORT_UNBOUND;
            lp->remote_domid = d->domid;
            lp->remote_port = 0;
        }
    }
    memset(gp, 0, sizeof(*gp));
}

static void dom0_port_close(uint32_t lport)
{
    struct dom0_port *lp = &F.dom0_port[lport];

    /* A dom0 loopback channel (added for xen-evtchn-stress, see the end). */
    if ( dom0_loopback_close(lport) )
        return;
    if ( lp->state == PORT_INTERDOMAIN )
    {
        struct fake_domain *rd = find_domain(lp->remote_domid);

        if ( rd && lp->remote_port < FAKE_GUEST_PORTS )
        {
            struct guest_port *gp = &rd->port[lp->remote_port];

            if ( gp->state == PORT_INTERDOMAIN && gp->remote_port == lport )
            {
                gp->state = PORT_UNBOUND;
                gp->remote_domid = 0;
                gp->remote_port = 0;
            }
        }
    }
    memset(lp, 0, sizeof(*lp));
}

/*
 * notify_via_xen_event_channel(): Xen signals the dom0 end if the channel
 * is interdomain; on an unbound port the notification is lost
 * (event_channel.c: notify_via_xen_event_channel).
 */
static void notify_via_xen_port(struct fake_domain *d, uint32_t xen_port)
{
    struct guest_port *gp;

    if ( xen_port >= FAKE_GUEST_PORTS )
        return;
    gp = &d->port[xen_port];
    d->st.xen_notifies++;
    if ( gp->state == PORT_INTERDOMAIN )
        dom0_set_pending(gp->remote_port);
    else
        d->st.xen_notifies_lost++;
}

/*
 * vm_event rings (vm_event.c).
 */

static unsigned int ring_waiters(const struct fake_domain *d,
                                 const struct fake_ring *r)
{
    unsigned int i, n = r->test_waiters;

    for ( i = 0; i < d->nr_vcpus; i++ )
        if ( d->vcpu[i].on_wq )
            n++;

    return n;
}

/*
 * vm_event.c: vm_event_ring_available: RING_FREE_REQUESTS less the slots
 * claimed but not yet used.  Responses with no request behind them push
 * rsp_cons past req_prod_pvt and make this larger than the ring.  Xen
 * BUG()s on a negative value; the model counts it and answers 0.
 */
static unsigned int ring_available(struct fake_domain *d, struct fake_ring *r)
{
    int avail = RING_FREE_REQUESTS(&r->front);

    avail -= r->target_producers;
    avail -= r->foreign_producers;
    if ( avail < 0 )
    {
        d->st.avail_negative++;
        return 0;
    }

    return avail;
}

/* vm_event.c: vm_event_wake_blocked: round robin from the last woken. */
static void ring_wake_blocked(struct fake_domain *d, struct fake_ring *r)
{
    unsigned int i, j, k, avail = ring_available(d, r);

    if ( avail == 0 || r->blocked == 0 || d->nr_vcpus == 0 )
        return;

    for ( i = r->last_vcpu_wake_up + 1, j = 0; j < d->nr_vcpus; i++, j++ )
    {
        struct fake_vcpu *v;

        k = i % d->nr_vcpus;
        v = &d->vcpu[k];
        if ( !r->blocked || avail == 0 )
            break;
        if ( v->ring_full )
        {
            v->ring_full = 0;
            avail--;
            r->blocked--;
            r->last_vcpu_wake_up = k;
        }
    }
}

/*
 * vm_event.c: vm_event_wake_queued: wake_up_nr(&wq, avail) takes up to
 * avail sleepers off the list in order (wait.c: wake_up_nr); each retries
 * its claim when it next runs.  The test's own waiters are never woken.
 */
static void ring_wake_queued(struct fake_domain *d, struct fake_ring *r)
{
    unsigned int avail = ring_available(d, r);

    while ( avail > 0 )
    {
        struct fake_vcpu *first = NULL;
        unsigned int i;

        for ( i = 0; i < d->nr_vcpus; i++ )
        {
            struct fake_vcpu *v = &d->vcpu[i];

            if ( v->on_wq && (!first || v->wq_seq < first->wq_seq) )
                first = v;
        }
        if ( !first )
            break;
        first->on_wq = 0;
        first->woken = 1;
        avail--;
    }
}

/* vm_event.c: vm_event_wake: queued sleepers first, else blocked vCPUs. */
static void ring_wake(struct fake_domain *d, struct fake_ring *r)
{
    if ( ring_waiters(d, r) )
        ring_wake_queued(d, r);
    else
        ring_wake_blocked(d, r);
}

/*
 * vm_event.c: vm_event_grab_slot.  Only guest vCPUs produce requests in
 * this model (current->domain == d), so slots count as target producers.
 */
static int ring_grab_slot(struct fake_domain *d, struct fake_ring *r)
{
    if ( !r->exists )
        return -EOPNOTSUPP;
    if ( ring_available(d, r) == 0 )
        return -EBUSY;
    r->target_producers++;

    return 0;
}

/*
 * vm_event.c: vm_event_put_request: Xen stamps the version, copies the
 * request to its private producer index, pushes, releases the claimed slot
 * (which may wake waiters), pauses the producing vCPU with the ring-full
 * flag if fewer slots are left than the domain has vCPUs and it is not
 * already vm_event-paused (vm_event_mark_and_pause), and notifies its port.
 */
static void ring_put_request(struct fake_domain *d, struct fake_ring *r,
                             struct fake_vcpu *v, vm_event_request_t *req)
{
    RING_IDX prod;

    req->version = VM_EVENT_INTERFACE_VERSION;

    prod = r->front.req_prod_pvt;
    memcpy(RING_GET_REQUEST(&r->front, prod), req, sizeof(*req));
    r->front.req_prod_pvt = prod + 1;
    RING_PUSH_REQUESTS(&r->front);
    d->st.requests++;

    /* vm_event_release_slot */
    r->target_producers--;
    ring_wake(d, r);

    if ( ring_available(d, r) < d->nr_vcpus && !v->vm_event_pause_count &&
         !v->ring_full )
    {
        v->ring_full = 1;
        v->on_cpu = 0;
        r->blocked++;
    }

    notify_via_xen_port(d, r->xen_port);
}

/* A 64-bit kernel's vCPU as the model starts it. */
static void initial_regs(struct fake_vcpu *v, uint32_t vcpu)
{
    memset(&v->regs, 0, sizeof(v->regs));
    v->regs.rip = 0xffffffff81000000ull;
    v->regs.rsp = 0xffffc90000000000ull + 0x1000 * vcpu;
    v->regs.cr0 = 0x80050033;
    v->regs.cr3 = 0x1000000 + 0x1000 * vcpu;
    v->regs.cr4 = 0x3706f0;
    v->regs.rflags = 0x246;
}

/*
 * hvm/vm_event.c: hvm_vm_event_do_resume -> hvm_vm_event_set_registers,
 * from hvm.c: hvm_do_resume as the vCPU enters the guest: the registers a
 * response stored are written into its state (the GPRs, RFLAGS and RIP;
 * not the control registers, nor the segments).
 */
static void apply_set_registers(struct fake_domain *d, struct fake_vcpu *v)
{
    const struct vm_event_regs_x86 *g = &v->gprs;

    if ( !v->set_gprs )
        return;
    v->regs.rax = g->rax;
    v->regs.rbx = g->rbx;
    v->regs.rcx = g->rcx;
    v->regs.rdx = g->rdx;
    v->regs.rsp = g->rsp;
    v->regs.rbp = g->rbp;
    v->regs.rsi = g->rsi;
    v->regs.rdi = g->rdi;
    v->regs.r8 = g->r8;
    v->regs.r9 = g->r9;
    v->regs.r10 = g->r10;
    v->regs.r11 = g->r11;
    v->regs.r12 = g->r12;
    v->regs.r13 = g->r13;
    v->regs.r14 = g->r14;
    v->regs.r15 = g->r15;
    v->regs.rflags = g->rflags;
    v->regs.rip = g->rip;
    v->set_gprs = 0;
    d->st.regs_applied++;
}

/*
 * The second half of common/monitor.c: monitor_traps, once a slot is held:
 * vcpu_id set, a sync event vm_event-pauses the vCPU and says so in
 * VM_EVENT_FLAG_VCPU_PAUSED, registers filled, request put.
 */
static int monitor_traps_finish(struct fake_domain *d, struct fake_ring *r,
                                uint32_t vcpu, vm_event_request_t *req,
                                int sync)
{
    struct fake_vcpu *v = &d->vcpu[vcpu];

    req->vcpu_id = vcpu;
    if ( sync )
    {
        req->flags |= VM_EVENT_FLAG_VCPU_PAUSED;
        v->vm_event_pause_count++;
        v->on_cpu = 0;
        /*
         * vmx.c vmx_vmexit_handler (TRAP_int3), svm.c svm_vmexit_handler
         * (VMEXIT_EXCEPTION_BP): once an event is sent, RIP stays on the
         * INT3 and no #BP is propagated.
         */
        if ( req->reason == VM_EVENT_REASON_SOFTWARE_BREAKPOINT )
            v->at_int3 = 1;
    }
    v->events++;
    ring_put_request(d, r, v, req);

    return FAKE_EVENT_PUT;
}

/*
 * vm_event.c: vm_event_resume / vm_event_get_response.  Xen pulls every
 * response, moves rsp_cons and rsp_event, and wakes waiters after each;
 * then: a version other than VM_EVENT_INTERFACE_VERSION is dropped with a
 * warning; a vcpu_id beyond the domain's vCPUs is skipped (domain_vcpu);
 * only for a vCPU that is vm_event-paused are the flags looked at, and
 * VM_EVENT_FLAG_VCPU_PAUSED unpauses it (vm_event_vcpu_unpause).  A
 * response for a vCPU not waiting is skipped, so vm_event_vcpu_unpause's
 * "Too many unpause attempts" is not reached from here.
 */
static int ring_resume(struct fake_domain *d, struct fake_ring *r)
{
    unsigned int budget = 4 * RING_SIZE(&r->front);

    if ( !r->exists )
        return -ENODEV;

    /*
     * Xen trusts rsp_prod: with a corrupt value it would go on consuming
     * stale slots for a very long time.  The model stops after four rings'
     * worth and counts it.
     */
    if ( XEN_RING_NR_UNCONSUMED_RESPONSES(&r->front) > RING_SIZE(&r->front) )
        d->st.rsp_prod_overrun++;

    while ( XEN_RING_NR_UNCONSUMED_RESPONSES(&r->front) && budget-- )
    {
        vm_event_response_t rsp;
        RING_IDX cons = r->front.rsp_cons;
        struct fake_vcpu *v;

        memcpy(&rsp, RING_GET_RESPONSE(&r->front, cons), sizeof(rsp));
        if ( (int32_t)(r->front.req_prod_pvt - cons) <= 0 )
            d->st.without_request++;
        cons++;
        r->front.rsp_cons = cons;
        r->front.sring->rsp_event = cons + 1;
        d->st.responses++;
        ring_wake(d, r);

        if ( rsp.version != VM_EVENT_INTERFACE_VERSION )
        {
            d->st.bad_version++;
            continue;
        }
        if ( rsp.vcpu_id >= d->nr_vcpus )
        {
            d->st.bad_vcpu++;
            continue;
        }
        v = &d->vcpu[rsp.vcpu_id];
        if ( !v->vm_event_pause_count )
        {
            d->st.not_waiting++;
            continue;
        }
        /*
         * arch/x86/vm_event.c: vm_event_set_registers only stores them
         * (for the vCPU paused here); they take effect when it next runs.
         */
        if ( rsp.flags & VM_EVENT_FLAG_SET_REGISTERS )
        {
            v->gprs = rsp.data.regs.x86;
            v->set_gprs = 1;
        }
        if ( rsp.flags & VM_EVENT_FLAG_VCPU_PAUSED )
        {
            v->vm_event_pause_count--;
            d->st.unpaused++;
        }
        else
            d->st.no_flag++;
    }

    return 0;
}

static void ring_unmap_xen_view(struct fake_ring *r)
{
    if ( r->xen_view )
        munmap(r->xen_view, FAKE_PAGE_SIZE);
    r->xen_view = NULL;
}

/*
 * vm_event.c: vm_event_disable: EBUSY while anyone sleeps on the wait
 * queue; else Xen frees its port (our end becomes unbound), releases only
 * vCPUs paused by the ring-full flag, and drops the ring.  vCPUs waiting
 * for a reply keep their vm_event pause.
 */
static int ring_disable(struct fake_domain *d, struct fake_ring *r)
{
    unsigned int i;

    if ( ring_waiters(d, r) )
        return -EBUSY;

    /*
     * vm_event.c:194 checks only the wait queue's list.  A sleeper that
     * wake_up_nr took off it (wait.c:102) and that has not run yet passes
     * that check; when it runs it puts itself back on the queue of the
     * ring freed here (wait.c:269-276): a use-after-free in Xen.  Counted,
     * so that tests can show the library never lets it happen.
     */
    for ( i = 0; i < d->nr_vcpus; i++ )
        if ( d->vcpu[i].woken )
            F.freed_under_woken++;

    /* event_channel.c: free_xen_event_channel -> evtchn_close */
    if ( r->xen_port < FAKE_GUEST_PORTS &&
         d->port[r->xen_port].state != PORT_FREE )
        guest_port_close(d, r->xen_port);

    for ( i = 0; i < d->nr_vcpus; i++ )
    {
        if ( d->vcpu[i].ring_full )
        {
            d->vcpu[i].ring_full = 0;
            r->blocked--;
        }
    }

    /*
     * arch/x86/vm_event.c: vm_event_cleanup_domain, from vm_event_disable,
     * frees each vCPU's v->arch.vm_event: registers a response stored for
     * a vCPU that has not run since are lost.
     */
    for ( i = 0; i < d->nr_vcpus; i++ )
    {
        if ( d->vcpu[i].set_gprs )
        {
            d->vcpu[i].set_gprs = 0;
            d->st.regs_dropped++;
        }
    }

    ring_unmap_xen_view(r);
    memset(r, 0, sizeof(*r));

    return 0;
}

/*
 * vm_event.c: vm_event_cleanup, from domain.c: domain_kill once the domain
 * is dead: the wait queue is destroyed (every sleeper woken) and the ring
 * disabled.
 */
static void ring_cleanup(struct fake_domain *d, struct fake_ring *r)
{
    unsigned int i;

    if ( !r->exists )
        return;
    r->test_waiters = 0;
    for ( i = 0; i < d->nr_vcpus; i++ )
        if ( d->vcpu[i].on_wq )
        {
            d->vcpu[i].on_wq = 0;
            d->vcpu[i].woken = 1;
        }
    ring_disable(d, r);
}

/*
 * Pages handed to the library.  Each ring page is a memfd mapped twice:
 * Xen's view (kept until the ring is destroyed, as Xen keeps its own
 * mapping: vm_event.c: prepare_ring_for_helper) and the library's view,
 * which it munmap()s itself.  The memfd's unique name makes the library's
 * view recognisable in /proc/self/maps.
 */
static int page_create(void **lib_view, void **xen_view)
{
    char name[64];
    int fd, saved;
    struct fake_page *pg;

    pg = calloc(1, sizeof(*pg));
    if ( !pg )
        return -1;
    pg->seq = ++F.page_seq;
    snprintf(name, sizeof(name), "fake-xen-ring-%u", pg->seq);
    fd = memfd_create(name, MFD_CLOEXEC);
    if ( fd < 0 )
        goto err;
    if ( ftruncate(fd, FAKE_PAGE_SIZE) )
        goto err_fd;
    *lib_view = mmap(NULL, FAKE_PAGE_SIZE, PROT_READ | PROT_WRITE,
                     MAP_SHARED, fd, 0);
    if ( *lib_view == MAP_FAILED )
        goto err_fd;
    *xen_view = mmap(NULL, FAKE_PAGE_SIZE, PROT_READ | PROT_WRITE,
                     MAP_SHARED, fd, 0);
    if ( *xen_view == MAP_FAILED )
    {
        munmap(*lib_view, FAKE_PAGE_SIZE);
        goto err_fd;
    }
    close(fd);
    pg->addr = *lib_view;
    pg->next = F.pages;
    F.pages = pg;

    return 0;

 err_fd:
    saved = errno;
    close(fd);
    errno = saved;
 err:
    saved = errno;
    free(pg);
    errno = saved;

    return -1;
}

/* Drops the record of a page the library never received. */
static void page_forget(void *lib_view)
{
    struct fake_page **pp;

    for ( pp = &F.pages; *pp; pp = &(*pp)->next )
    {
        if ( (*pp)->addr == lib_view )
        {
            struct fake_page *pg = *pp;

            *pp = pg->next;
            free(pg);
            return;
        }
    }
}

static int page_mapped(const struct fake_page *pg)
{
    char line[512], name[64];
    FILE *f;
    int found = 0;
    size_t nl;

    nl = snprintf(name, sizeof(name), "/memfd:fake-xen-ring-%u", pg->seq);
    f = fopen("/proc/self/maps", "re");
    if ( !f )
        return -1;
    while ( !found && fgets(line, sizeof(line), f) )
    {
        unsigned long start, end;
        char *p;

        if ( sscanf(line, "%lx-%lx", &start, &end) != 2 ||
             start != (unsigned long)pg->addr )
            continue;
        p = strstr(line, name);
        if ( p && (p[nl] == ' ' || p[nl] == '\n' || p[nl] == '\0') )
            found = 1;
    }
    fclose(f);

    return found;
}

/*
 * Xenstore tree (tools/xenstore/xenstored_core.c), nodes kept in creation
 * order, which is the order children are listed in.
 */

static int xs_valid_path(const char *p)
{
    size_t n = strlen(p);
    const char *c;

    /* xenstored_core.c: is_valid_nodename */
    if ( p[0] != '/' )
        return 0;
    if ( n > 1 && p[n - 1] == '/' )
        return 0;
    if ( strstr(p, "//") )
        return 0;
    for ( c = p; *c; c++ )
        if ( !((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
               (*c >= '0' && *c <= '9') || strchr("/_@-", *c)) )
            return 0;

    return 1;
}

/*
 * xenstored_core.c: canonicalize: a relative path is under the
 * connection's home, /local/domain/0 for dom0's tools.  Returns a malloc'd
 * path, or NULL with errno.
 */
static char *xs_canon(const char *path)
{
    char *c;

    if ( !path )
    {
        errno = EINVAL;
        return NULL;
    }
    if ( path[0] == '/' )
        c = strdup(path);
    else if ( asprintf(&c, "/local/domain/0/%s", path) < 0 )
        c = NULL;
    if ( !c )
    {
        errno = ENOMEM;
        return NULL;
    }
    if ( !xs_valid_path(c) )
    {
        free(c);
        errno = EINVAL;
        return NULL;
    }

    return c;
}

static int xs_find(const char *path)
{
    unsigned int i;

    for ( i = 0; i < F.nr_xs; i++ )
        if ( !strcmp(F.xs[i].path, path) )
            return i;

    return -1;
}

static char *xs_parent(const char *path)
{
    const char *slash = strrchr(path, '/');

    if ( slash == path )
        return strdup("/");

    return strndup(path, slash - path);
}

static int xs_set(const char *path, const void *data, unsigned int len)
{
    int i = xs_find(path);
    char *v;

    if ( i < 0 && strcmp(path, "/") )
    {
        /* Writes create missing parents (xenstored_core.c: create_node). */
        char *parent = xs_parent(path);
        int rc;

        if ( !parent )
            return -1;
        rc = xs_find(parent) < 0 ? xs_set(parent, "", 0) : 0;
        free(parent);
        if ( rc )
            return -1;
    }

    v = malloc(len + 1);
    if ( !v )
        return -1;
    memcpy(v, data, len);
    v[len] = '\0';

    if ( i >= 0 )
    {
        free(F.xs[i].value);
        F.xs[i].value = v;
        F.xs[i].len = len;
        return 0;
    }

    if ( F.nr_xs == F.cap_xs )
    {
        unsigned int cap = F.cap_xs ? F.cap_xs * 2 : 64;
        struct xs_node *n = realloc(F.xs, cap * sizeof(*n));

        if ( !n )
        {
            free(v);
            return -1;
        }
        F.xs = n;
        F.cap_xs = cap;
    }
    F.xs[F.nr_xs].path = strdup(path);
    if ( !F.xs[F.nr_xs].path )
    {
        free(v);
        return -1;
    }
    F.xs[F.nr_xs].value = v;
    F.xs[F.nr_xs].len = len;
    F.nr_xs++;

    return 0;
}

static int xs_is_under(const char *path, const char *top)
{
    size_t n = strlen(top);

    if ( !strcmp(top, "/") )
        return 1;

    return !strncmp(path, top, n) && (path[n] == '\0' || path[n] == '/');
}

static void xs_remove_tree(const char *top)
{
    unsigned int i, j;
    char *t = strdup(top);

    if ( !t )
        abort();
    for ( i = 0, j = 0; i < F.nr_xs; i++ )
    {
        if ( xs_is_under(F.xs[i].path, t) && strcmp(F.xs[i].path, "/") )
        {
            free(F.xs[i].path);
            free(F.xs[i].value);
            continue;
        }
        F.xs[j++] = F.xs[i];
    }
    F.nr_xs = j;
    free(t);
}

static void xs_put_str(const char *path, const char *value)
{
    if ( xs_set(path, value, strlen(value)) )
        abort();
}

/*
 * Reset.
 */

static void free_domain(struct fake_domain *d)
{
    unsigned int k;

    for ( k = 0; k < FAKE_NR_RING_KINDS; k++ )
        ring_unmap_xen_view(&d->ring[k]);
    free(d);
}

static void free_all(void)
{
    unsigned int i;

    for ( i = 0; i < F.nr_dom; i++ )
        free_domain(F.dom[i]);

    while ( F.xc_list )
    {
        struct xc_interface_core *x = F.xc_list;

        F.xc_list = x->next;
        x->magic = 0;
        free(x);
    }
    while ( F.evtchn_list )
    {
        struct xenevtchn_handle *x = F.evtchn_list;

        F.evtchn_list = x->next;
        close(x->rfd);
        close(x->wfd);
        x->magic = 0;
        free(x);
    }
    while ( F.xs_list )
    {
        struct xs_handle *x = F.xs_list;

        F.xs_list = x->next;
        x->magic = 0;
        free(x);
    }
    while ( F.pages )
    {
        struct fake_page *pg = F.pages;

        F.pages = pg->next;
        free(pg);
    }
    for ( i = 0; i < F.nr_xs; i++ )
    {
        free(F.xs[i].path);
        free(F.xs[i].value);
    }
    free(F.xs);
    free(F.log);
    for ( i = 0; i < FAKE_MAX_FAIL_RULES; i++ )
        free((void *)F.rule[i].fn);
}

static void free_at_exit(void)
{
    if ( F.initialised )
        free_all();
    memset(&F, 0, sizeof(F));
}

static void reset_defaults(void)
{
    static int atexit_done;
    unsigned int page_seq = F.page_seq;

    if ( F.initialised )
        free_all();
    memset(&F, 0, sizeof(F));
    F.initialised = 1;
    /* Names of pages from earlier tests must stay distinct. */
    F.page_seq = page_seq;
    F.vm_event_version = VM_EVENT_INTERFACE_VERSION;
    F.xen_major = 4;
    F.xen_minor = 17;

    if ( !atexit_done )
    {
        atexit(free_at_exit);
        atexit_done = 1;
    }

    xs_put_str("/", "");
    xs_put_str("/local", "");
    xs_put_str("/local/domain", "");
    if ( fake_domain_add(0, FAKE_DOM_PV, 1, "Domain-0") )
        abort();
}

void fake_reset(void)
{
    reset_defaults();
}

/*
 * Test set-up.
 */

int fake_domain_add(uint32_t domid, enum fake_dom_type type,
                    unsigned int nr_vcpus, const char *name)
{
    struct fake_domain *d;
    unsigned int i, pos;
    char path[64], val[16];

    ensure_init();
    if ( domid >= DOMID_FIRST_RESERVED || nr_vcpus > FAKE_MAX_VCPUS ||
         F.nr_dom == FAKE_MAX_DOMAINS )
    {
        errno = EINVAL;
        return -1;
    }
    if ( find_domain(domid) )
    {
        errno = EEXIST;
        return -1;
    }
    d = calloc(1, sizeof(*d));
    if ( !d )
        return -1;
    d->domid = domid;
    d->type = type;
    d->nr_vcpus = nr_vcpus;
    for ( i = 0; i < nr_vcpus; i++ )
    {
        d->vcpu[i].online = 1;
        initial_regs(&d->vcpu[i], i);
    }
    /* mm/p2m-basic.c:44: p2m_initialise: default_access p2m_access_rwx. */
    d->default_access = XENMEM_access_rwx;
    memset(d->page_access, XENMEM_access_rwx, sizeof(d->page_access));
    /* Port 0 is reserved, the guest's own channels follow
     * (event_channel.c: evtchn_init, get_free_port). */
    for ( i = 0; i < FAKE_GUEST_FIRST_FREE; i++ )
        d->port[i].state = PORT_RESERVED;

    /* The domain list is kept sorted by id (domain.c: domain_create). */
    for ( pos = 0; pos < F.nr_dom && F.dom[pos]->domid < domid; pos++ )
        ;
    memmove(&F.dom[pos + 1], &F.dom[pos], (F.nr_dom - pos) * sizeof(d));
    F.dom[pos] = d;
    F.nr_dom++;

    snprintf(path, sizeof(path), "/local/domain/%u", domid);
    xs_put_str(path, "");
    snprintf(path, sizeof(path), "/local/domain/%u/domid", domid);
    snprintf(val, sizeof(val), "%u", domid);
    xs_put_str(path, val);
    if ( name )
    {
        snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
        xs_put_str(path, name);
    }

    return 0;
}

/*
 * domain.c: domain_kill.  DOMDYING_dying: the domain is paused and, once
 * domain_teardown is done, evtchn_destroy closes its ports (a Xen-consumer
 * port bound by dom0 leaves dom0's end unbound).  DOMDYING_dead:
 * vm_event_cleanup tears the rings down.
 */
int fake_domain_kill(uint32_t domid, int dead)
{
    struct fake_domain *d = find_domain(domid);
    unsigned int p, k;

    if ( !d || domid == 0 )
    {
        errno = d ? EINVAL : ESRCH;
        return -1;
    }
    if ( !d->dying )
    {
        d->dying = 1;
        for ( p = 0; p < FAKE_GUEST_PORTS; p++ )
            if ( d->port[p].state == PORT_UNBOUND ||
                 d->port[p].state == PORT_INTERDOMAIN )
                guest_port_close(d, p);
    }
    if ( dead && d->dying == 1 )
    {
        d->dying = 2;
        for ( k = 0; k < FAKE_NR_RING_KINDS; k++ )
            ring_cleanup(d, &d->ring[k]);
    }

    return 0;
}

int fake_domain_destroy(uint32_t domid)
{
    struct fake_domain *d = find_domain(domid);
    unsigned int i;
    char path[64];

    if ( !d || domid == 0 )
    {
        errno = d ? EINVAL : ESRCH;
        return -1;
    }
    fake_domain_kill(domid, 1);
    for ( i = 0; i < F.nr_dom; i++ )
        if ( F.dom[i] == d )
            break;
    memmove(&F.dom[i], &F.dom[i + 1], (F.nr_dom - i - 1) * sizeof(d));
    F.nr_dom--;
    free_domain(d);

    /* The toolstack removes the domain's xenstore home. */
    snprintf(path, sizeof(path), "/local/domain/%u", domid);
    xs_remove_tree(path);

    return 0;
}

/* domain.c: domain_shutdown pauses every vCPU; XEN_DOMINF_shutdown and the
 * reason in the flags' top bits (domctl.c: getdomaininfo). */
int fake_domain_shutdown(uint32_t domid, unsigned int reason)
{
    struct fake_domain *d = find_domain(domid);

    if ( !d )
    {
        errno = ESRCH;
        return -1;
    }
    d->shut_down = 1;
    d->shutdown_code = reason & XEN_DOMINF_shutdownmask;

    return 0;
}

int fake_domain_set_pause_count(uint32_t domid, unsigned int count)
{
    struct fake_domain *d = find_domain(domid);

    if ( !d || count > FAKE_MAX_PAUSE_COUNT )
    {
        errno = d ? EINVAL : ESRCH;
        return -1;
    }
    d->pause_count = count;

    return 0;
}

int fake_vcpu_set_online(uint32_t domid, uint32_t vcpu, int online)
{
    struct fake_vcpu *v = find_vcpu(domid, vcpu);

    if ( !v )
        return -1;
    v->online = !!online;

    return 0;
}

int fake_vcpu_set_blocked(uint32_t domid, uint32_t vcpu, int blocked)
{
    struct fake_vcpu *v = find_vcpu(domid, vcpu);

    if ( !v )
        return -1;
    v->idle = !!blocked;

    return 0;
}

int fake_vcpu_set_stuck(uint32_t domid, uint32_t vcpu, int stuck)
{
    struct fake_vcpu *v = find_vcpu(domid, vcpu);

    if ( !v )
        return -1;
    v->stuck = !!stuck;
    if ( stuck )
        v->on_cpu = 0;

    return 0;
}

int fake_vcpu_set_regs(uint32_t domid, uint32_t vcpu,
                       const struct vm_event_regs_x86 *regs)
{
    struct fake_vcpu *v = find_vcpu(domid, vcpu);

    if ( !v )
        return -1;
    if ( !regs )
    {
        errno = EINVAL;
        return -1;
    }
    v->regs = *regs;

    return 0;
}

int fake_vcpu_get_regs(uint32_t domid, uint32_t vcpu,
                       struct vm_event_regs_x86 *regs)
{
    struct fake_vcpu *v = find_vcpu(domid, vcpu);

    if ( !v )
        return -1;
    if ( !regs )
    {
        errno = EINVAL;
        return -1;
    }
    *regs = v->regs;

    return 0;
}

int fake_vcpu_regs_pending(uint32_t domid, uint32_t vcpu)
{
    struct fake_vcpu *v = find_vcpu(domid, vcpu);

    return v ? v->set_gprs : -1;
}

void fake_set_vm_event_version(int version)
{
    ensure_init();
    F.vm_event_version = version;
}

void fake_set_xen_version(int major, int minor)
{
    ensure_init();
    F.xen_major = major;
    F.xen_minor = minor;
}

void fake_set_privileged_call_supported(int supported)
{
    ensure_init();
    F.privcall_supported = !!supported;
}

void fake_set_host_svm(int svm)
{
    ensure_init();
    F.host_svm = !!svm;
}

int fake_altp2m_set(uint32_t domid, int mode, int active)
{
    struct fake_domain *d = find_domain(domid);

    if ( !d )
    {
        errno = ESRCH;
        return -1;
    }
    d->altp2m_mode = mode;
    d->altp2m_active = mode && active;

    return 0;
}

void fake_set_paging_sharing_built(int built)
{
    ensure_init();
    F.paging_sharing_built = !!built;
}

/*
 * Time and guest activity.
 */

static void step_domain(struct fake_domain *d)
{
    unsigned int i;
    struct fake_ring *r = &d->ring[FAKE_RING_MONITOR];

    /*
     * A vCPU taken off the wait queue retries its claim when it runs
     * (vm_event.c: vm_event_wait_slot); without a ring the claim answers
     * EOPNOTSUPP and monitor_traps lets the vCPU carry on; a full ring
     * sends it back to the end of the queue.
     */
    for ( i = 0; i < d->nr_vcpus; i++ )
    {
        struct fake_vcpu *v = &d->vcpu[i];
        int rc;

        if ( !v->woken || !vcpu_can_run(d, v) )
            continue;
        v->woken = 0;
        rc = ring_grab_slot(d, r);
        if ( rc == -EBUSY )
        {
            v->on_wq = 1;
            v->wq_seq = ++r->wq_seq;
        }
        else if ( rc == 0 )
            monitor_traps_finish(d, r, i, &v->pending_req, v->pending_sync);
    }

    /*
     * hvm.c: hvm_do_resume delivers an event injected with
     * xc_hvm_inject_trap when the vCPU next enters the guest, before guest
     * code runs.  A vCPU left on an INT3 with nothing injected runs it
     * again: a new event while the monitor is on, else the guest's own #BP
     * (hvm/monitor.c hvm_monitor_debug answers 0, vmx_propagate_intr).
     */
    for ( i = 0; i < d->nr_vcpus; i++ )
    {
        struct fake_vcpu *v = &d->vcpu[i];

        if ( !vcpu_running(d, v) || v->woken )
            continue;
        apply_set_registers(d, v);
        if ( v->inject_pending )
        {
            v->inject_pending = 0;
            d->st.injected++;
            if ( v->at_int3 && v->inject_vector == 3 )
                d->st.bp_delivered++;
            v->at_int3 = 0;
        }
        else if ( v->at_int3 )
        {
            v->at_int3 = 0;
            d->st.int3_rerun++;
            if ( fake_vcpu_event(d->domid, i, VM_EVENT_REASON_SOFTWARE_BREAKPOINT) ==
                 FAKE_EVENT_IGNORED )
                d->st.bp_delivered++;
        }
    }

    for ( i = 0; i < d->nr_vcpus; i++ )
    {
        struct fake_vcpu *v = &d->vcpu[i];

        v->on_cpu = vcpu_running(d, v);
        if ( v->on_cpu )
            v->cpu_time += FAKE_STEP_NS;
    }
}

int fake_domain_step(uint32_t domid, unsigned int n)
{
    unsigned int i, j;

    ensure_init();
    if ( domid != FAKE_ALL_DOMAINS && !find_domain(domid) )
    {
        errno = ESRCH;
        return -1;
    }
    for ( j = 0; j < n; j++ )
        for ( i = 0; i < F.nr_dom; i++ )
            if ( domid == FAKE_ALL_DOMAINS || F.dom[i]->domid == domid )
                step_domain(F.dom[i]);

    return 0;
}

void fake_set_autostep(unsigned int n)
{
    ensure_init();
    F.autostep = n;
}

/* Which monitor setting gates a reason (arch/x86/hvm/monitor.c:
 * hvm_monitor_cpuid, hvm_monitor_debug; arch/arm/monitor.c for the
 * privileged call).  Reasons the model does not toggle always fire. */
static int event_enabled(const struct fake_domain *d, uint32_t reason)
{
    switch ( reason )
    {
    case VM_EVENT_REASON_CPUID:
        return !!(d->monitor_mask & (1u << XEN_DOMCTL_MONITOR_EVENT_CPUID));
    case VM_EVENT_REASON_SOFTWARE_BREAKPOINT:
        return !!(d->monitor_mask &
                  (1u << XEN_DOMCTL_MONITOR_EVENT_SOFTWARE_BREAKPOINT));
    case VM_EVENT_REASON_PRIVILEGED_CALL:
        return !!(d->monitor_mask &
                  (1u << XEN_DOMCTL_MONITOR_EVENT_PRIVILEGED_CALL));
    default:
        return 1;
    }
}

int fake_vcpu_event_ex(uint32_t domid, uint32_t vcpu,
                       const vm_event_request_t *tmpl, int sync)
{
    struct fake_domain *d = find_domain(domid);
    struct fake_vcpu *v;
    struct fake_ring *r;
    vm_event_request_t req;
    int rc;

    if ( !d || !tmpl )
    {
        errno = d ? EINVAL : ESRCH;
        return -1;
    }
    if ( vcpu >= d->nr_vcpus )
    {
        errno = EINVAL;
        return -1;
    }
    v = &d->vcpu[vcpu];
    r = &d->ring[FAKE_RING_MONITOR];
    if ( !vcpu_running(d, v) || v->woken )
    {
        errno = EAGAIN;
        return -1;
    }
    if ( !event_enabled(d, tmpl->reason) )
        return FAKE_EVENT_IGNORED;

    req = *tmpl;

    /*
     * monitor.c: monitor_traps -> vm_event_claim_slot: no ring, the vCPU
     * carries on; a guest vCPU finding no free slot sleeps on the ring's
     * wait queue (vm_event.c: __vm_event_claim_slot, vm_event_wait_slot).
     */
    rc = ring_grab_slot(d, r);
    if ( rc == -EOPNOTSUPP )
        return FAKE_EVENT_IGNORED;
    if ( rc == -EBUSY )
    {
        v->on_wq = 1;
        v->on_cpu = 0;
        v->wq_seq = ++r->wq_seq;
        v->pending_req = req;
        v->pending_sync = !!sync;
        return FAKE_EVENT_QUEUED;
    }

    return monitor_traps_finish(d, r, vcpu, &req, sync);
}

static int vcpu_event(uint32_t domid, uint32_t vcpu, uint32_t reason,
                      int sync)
{
    struct fake_vcpu *v = find_vcpu(domid, vcpu);
    vm_event_request_t req;

    if ( !v )
        return -1;
    memset(&req, 0, sizeof(req));
    req.reason = reason;
    /* arch/x86/vm_event.c: vm_event_fill_regs. */
    req.data.regs.x86 = v->regs;
    switch ( reason )
    {
    case VM_EVENT_REASON_CPUID:
        req.u.cpuid.insn_length = 2;
        req.u.cpuid.leaf = v->events & 0xff;
        break;
    case VM_EVENT_REASON_SOFTWARE_BREAKPOINT:
        req.u.software_breakpoint.gfn = req.data.regs.x86.rip >> 12;
        req.u.software_breakpoint.insn_length = 1;
        /* vmx.c and svm.c pass X86_EVENTTYPE_SW_EXCEPTION as the type */
        req.u.software_breakpoint.type = XEN_DMOP_EVENT_sw_exc;
        break;
    default:
        break;
    }

    return fake_vcpu_event_ex(domid, vcpu, &req, sync);
}

int fake_vcpu_event(uint32_t domid, uint32_t vcpu, uint32_t reason)
{
    return vcpu_event(domid, vcpu, reason, 1);
}

int fake_vcpu_event_async(uint32_t domid, uint32_t vcpu, uint32_t reason)
{
    return vcpu_event(domid, vcpu, reason, 0);
}

/*
 * x86/mm/mem_access.c:142: p2m_mem_access_check, on the host p2m: rx2rw
 * becomes rw on a write with no event (:167); n2rwx becomes rwx and the
 * event is asynchronous (:174); then, without a ring (:185),
 * access_required crashes the domain (:187-193)
 * ("Memory access permissions failure, no vm_event listener"), else the
 * gfn is set to rwx and the vCPU goes on.
 */
int fake_vcpu_mem_access(uint32_t domid, uint32_t vcpu, uint64_t gfn, int write)
{
    struct fake_domain *d = find_domain(domid);
    vm_event_request_t tmpl;
    struct fake_vcpu *v;
    unsigned int a, need = write ? XENMEM_access_w : XENMEM_access_r;
    int sync = 1;

    if ( !d )
    {
        errno = ESRCH;
        return -1;
    }
    if ( vcpu >= d->nr_vcpus || gfn >= FAKE_NR_GFNS )
    {
        errno = EINVAL;
        return -1;
    }
    v = &d->vcpu[vcpu];
    if ( !vcpu_running(d, v) || v->woken )
    {
        errno = EAGAIN;
        return -1;
    }
    a = d->page_access[gfn];
    if ( a <= XENMEM_access_rwx && (a & need) )
        return FAKE_EVENT_IGNORED;
    if ( a == XENMEM_access_rx2rw )
    {
        if ( !write )
            return FAKE_EVENT_IGNORED;
        d->page_access[gfn] = XENMEM_access_rw;
        return FAKE_EVENT_IGNORED;
    }
    if ( a == XENMEM_access_n2rwx )
    {
        d->page_access[gfn] = XENMEM_access_rwx;
        sync = 0;
    }
    if ( !d->ring[FAKE_RING_MONITOR].exists )
    {
        if ( d->access_required )
        {
            fake_domain_shutdown(domid, SHUTDOWN_crash);
            return FAKE_EVENT_CRASHED;
        }
        d->page_access[gfn] = XENMEM_access_rwx;
        return FAKE_EVENT_IGNORED;
    }
    memset(&tmpl, 0, sizeof(tmpl));
    tmpl.reason = VM_EVENT_REASON_MEM_ACCESS;
    tmpl.u.mem_access.gfn = gfn;
    tmpl.u.mem_access.flags = write ? MEM_ACCESS_W : MEM_ACCESS_R;

    return fake_vcpu_event_ex(domid, vcpu, &tmpl, sync);
}

int fake_ring_set_waiters(uint32_t domid, unsigned int n)
{
    struct fake_domain *d = find_domain(domid);

    if ( !d )
    {
        errno = ESRCH;
        return -1;
    }
    if ( !d->ring[FAKE_RING_MONITOR].exists )
    {
        errno = ENODEV;
        return -1;
    }
    d->ring[FAKE_RING_MONITOR].test_waiters = n;
    /* Fewer waiters may let blocked vCPUs go (vm_event.c: vm_event_wake). */
    if ( n == 0 )
        ring_wake(d, &d->ring[FAKE_RING_MONITOR]);

    return 0;
}

void fake_set_call_hook(fake_call_hook *hook, void *arg)
{
    ensure_init();
    F.hook = hook;
    F.hook_arg = arg;
}

/*
 * Inspection.
 */

int fake_pause_count(uint32_t domid)
{
    struct fake_domain *d = find_domain(domid);

    if ( !d )
    {
        errno = ESRCH;
        return -1;
    }

    return d->pause_count;
}

int fake_vcpu_vm_event_paused(uint32_t domid, uint32_t vcpu)
{
    struct fake_vcpu *v = find_vcpu(domid, vcpu);

    return v ? v->vm_event_pause_count : -1;
}

int fake_vcpu_ring_full_paused(uint32_t domid, uint32_t vcpu)
{
    struct fake_vcpu *v = find_vcpu(domid, vcpu);

    return v ? v->ring_full : -1;
}

int fake_vcpu_on_wait_queue(uint32_t domid, uint32_t vcpu)
{
    struct fake_vcpu *v = find_vcpu(domid, vcpu);

    return v ? v->on_wq : -1;
}

int fake_vcpu_runnable(uint32_t domid, uint32_t vcpu)
{
    struct fake_vcpu *v = find_vcpu(domid, vcpu);

    return v ? vcpu_running(find_domain(domid), v) : -1;
}

uint64_t fake_vcpu_cpu_time(uint32_t domid, uint32_t vcpu)
{
    struct fake_vcpu *v = find_vcpu(domid, vcpu);

    return v ? v->cpu_time : UINT64_MAX;
}

int fake_ring_exists(uint32_t domid, enum fake_ring_kind kind)
{
    struct fake_domain *d = find_domain(domid);

    if ( !d || (unsigned int)kind >= FAKE_NR_RING_KINDS )
    {
        errno = d ? EINVAL : ESRCH;
        return -1;
    }

    return d->ring[kind].exists;
}

int fake_ring_xen_port(uint32_t domid)
{
    struct fake_domain *d = find_domain(domid);

    if ( !d || !d->ring[FAKE_RING_MONITOR].exists )
    {
        errno = d ? ENODEV : ESRCH;
        return -1;
    }

    return d->ring[FAKE_RING_MONITOR].xen_port;
}

vm_event_sring_t *fake_ring_page(uint32_t domid)
{
    struct fake_domain *d = find_domain(domid);

    if ( !d || !d->ring[FAKE_RING_MONITOR].exists ||
         !d->ring[FAKE_RING_MONITOR].xen_view )
    {
        errno = d ? ENODEV : ESRCH;
        return NULL;
    }

    return d->ring[FAKE_RING_MONITOR].front.sring;
}

int fake_ring_xen_port_bound(uint32_t domid)
{
    int port = fake_ring_xen_port(domid);

    if ( port < 0 )
        return -1;

    return find_domain(domid)->port[port].state == PORT_INTERDOMAIN;
}

int fake_ring_stats(uint32_t domid, struct fake_ring_stats *st)
{
    struct fake_domain *d = find_domain(domid);
    struct fake_ring *r;

    if ( !d || !st )
    {
        errno = d ? EINVAL : ESRCH;
        return -1;
    }
    r = &d->ring[FAKE_RING_MONITOR];
    *st = d->st;
    st->ring = r->exists;
    st->outstanding = 0;
    st->unanswered = 0;
    st->available = 0;
    st->ring_full_paused = 0;
    st->waiters = 0;
    if ( r->exists )
    {
        int avail = RING_FREE_REQUESTS(&r->front);

        st->outstanding = (int32_t)(r->front.req_prod_pvt - r->front.rsp_cons);
        st->unanswered = r->front.sring->req_prod - r->front.sring->rsp_prod;
        st->available = avail - (int)r->target_producers -
                        (int)r->foreign_producers;
        st->ring_full_paused = r->blocked;
        st->waiters = ring_waiters(d, r);
    }

    return 0;
}

int fake_access_required(uint32_t domid)
{
    struct fake_domain *d = find_domain(domid);

    return d ? d->access_required : -1;
}

int fake_default_access(uint32_t domid)
{
    struct fake_domain *d = find_domain(domid);

    return d ? (int)d->default_access : -1;
}

int fake_pages_restricted(uint32_t domid)
{
    struct fake_domain *d = find_domain(domid);
    int n = 0;
    unsigned int i;

    if ( !d )
        return -1;
    for ( i = 0; i < FAKE_NR_GFNS; i++ )
        n += d->page_access[i] != XENMEM_access_rwx;

    return n;
}

int fake_vcpu_single_step(uint32_t domid, uint32_t vcpu)
{
    struct fake_vcpu *v = find_vcpu(domid, vcpu);

    return v ? (v->single_step || v->fast_single_step) : -1;
}

int fake_altp2m_active(uint32_t domid)
{
    struct fake_domain *d = find_domain(domid);

    return d ? d->altp2m_active : -1;
}

int fake_monitor_events(uint32_t domid, unsigned int *mask)
{
    struct fake_domain *d = find_domain(domid);

    if ( !d || !mask )
    {
        errno = d ? EINVAL : ESRCH;
        return -1;
    }
    *mask = d->monitor_mask;

    return 0;
}

unsigned int fake_open_xc_handles(void)
{
    struct xc_interface_core *x;
    unsigned int n = 0;

    ensure_init();
    for ( x = F.xc_list; x; x = x->next )
        n++;

    return n;
}

unsigned int fake_open_evtchn_handles(void)
{
    struct xenevtchn_handle *x;
    unsigned int n = 0;

    ensure_init();
    for ( x = F.evtchn_list; x; x = x->next )
        n++;

    return n;
}

unsigned int fake_open_xs_handles(void)
{
    struct xs_handle *x;
    unsigned int n = 0;

    ensure_init();
    for ( x = F.xs_list; x; x = x->next )
        n++;

    return n;
}

unsigned int fake_bound_ports(void)
{
    unsigned int p, n = 0;

    ensure_init();
    for ( p = 0; p < FAKE_DOM0_PORTS; p++ )
        if ( F.dom0_port[p].owner )
            n++;

    return n;
}

unsigned int fake_evtchn_unread(void)
{
    struct xenevtchn_handle *x;
    unsigned int n = 0;

    ensure_init();
    for ( x = F.evtchn_list; x; x = x->next )
    {
        int bytes = 0;

        if ( ioctl(x->rfd, FIONREAD, &bytes) == 0 && bytes > 0 )
            n += bytes / sizeof(evtchn_port_t);
    }

    return n;
}

unsigned int fake_pages_mapped(void)
{
    struct fake_page *pg;
    unsigned int n = 0;

    ensure_init();
    for ( pg = F.pages; pg; pg = pg->next )
        if ( page_mapped(pg) == 1 )
            n++;

    return n;
}

int fake_page_is_mapped(const void *p)
{
    struct fake_page *pg;

    ensure_init();
    for ( pg = F.pages; pg; pg = pg->next )
        if ( pg->addr == p && page_mapped(pg) == 1 )
            return 1;

    return 0;
}

unsigned long fake_domid_invalid_ops(void)
{
    ensure_init();
    return F.domid_invalid_ops;
}

unsigned long fake_ring_freed_under_woken(void)
{
    return F.freed_under_woken;
}

unsigned long fake_bad_handle_calls(void)
{
    ensure_init();
    return F.bad_handle_calls;
}

int fake_xs_write(const char *path, const char *value)
{
    char *c;
    int rc;

    ensure_init();
    c = xs_canon(path);
    if ( !c )
        return -1;
    rc = xs_set(c, value, strlen(value));
    free(c);

    return rc;
}

char *fake_xs_read(const char *path)
{
    char *c, *v;
    int i;

    ensure_init();
    c = xs_canon(path);
    if ( !c )
        return NULL;
    i = xs_find(c);
    free(c);
    if ( i < 0 )
    {
        errno = ENOENT;
        return NULL;
    }
    v = strdup(F.xs[i].value);
    if ( !v )
        errno = ENOMEM;

    return v;
}

int fake_xs_rm(const char *path)
{
    char *c;
    int i;

    ensure_init();
    c = xs_canon(path);
    if ( !c )
        return -1;
    i = xs_find(c);
    if ( i >= 0 )
        xs_remove_tree(c);
    free(c);
    if ( i < 0 )
    {
        errno = ENOENT;
        return -1;
    }

    return 0;
}

/*
 * Fault injection and log, test side.
 */

void fake_fail_nth_call(unsigned int n, int err)
{
    ensure_init();
    F.nth_remaining = n;
    F.nth_err = err;
}

int fake_fail_func(const char *fn, unsigned int n, int err)
{
    unsigned int i;

    ensure_init();
    for ( i = 0; i < FAKE_MAX_FAIL_RULES; i++ )
    {
        struct fail_rule *r = &F.rule[i];

        if ( r->fn )
            continue;
        r->fn = strdup(fn);
        if ( !r->fn )
            return -1;
        r->remaining = n;
        r->every = (n == 0);
        r->err = err;
        return 0;
    }
    errno = ENOSPC;

    return -1;
}

void fake_fail_clear(void)
{
    unsigned int i;

    ensure_init();
    F.nth_remaining = 0;
    F.after_enable_nth = 0;
    for ( i = 0; i < FAKE_MAX_FAIL_RULES; i++ )
    {
        free((void *)F.rule[i].fn);
        memset(&F.rule[i], 0, sizeof(F.rule[i]));
    }
}

void fake_fail_after_enable(unsigned int n, int err)
{
    ensure_init();
    F.after_enable_nth = n;
    F.after_enable_err = err;
}

unsigned int fake_fail_fired(void)
{
    ensure_init();
    return F.fired;
}

void fake_log_mark(void)
{
    ensure_init();
    F.log_mark = F.nr_log;
}

unsigned int fake_log_count(void)
{
    ensure_init();
    return F.nr_log - F.log_mark;
}

const char *fake_log_name(unsigned int i)
{
    ensure_init();
    if ( i >= F.nr_log - F.log_mark )
        return NULL;

    return F.log[F.log_mark + i].fn;
}

int fake_log_can_fail(unsigned int i)
{
    ensure_init();
    if ( i >= F.nr_log - F.log_mark )
        return 0;

    return F.log[F.log_mark + i].can_fail;
}

unsigned int fake_call_count(const char *fn)
{
    unsigned int i, n = 0;

    ensure_init();
    for ( i = 0; i < F.nr_log; i++ )
        if ( !strcmp(F.log[i].fn, fn) )
            n++;

    return n;
}

/*
 * libxenctrl.
 */

static int xc_valid(xc_interface *xch, const char *fn)
{
    struct xc_interface_core *x;

    for ( x = F.xc_list; x; x = x->next )
        if ( x == xch && x->magic == XC_MAGIC )
            return 1;
    bad_handle(fn);

    return 0;
}

xc_interface *xc_interface_open(xentoollog_logger *logger,
                                xentoollog_logger *dombuild_logger,
                                unsigned open_flags)
{
    struct xc_interface_core *x;

    (void)logger;
    (void)dombuild_logger;
    (void)open_flags;
    if ( enter("xc_interface_open", 1) )
        return NULL;
    x = calloc(1, sizeof(*x));
    if ( !x )
        return NULL;
    x->magic = XC_MAGIC;
    x->next = F.xc_list;
    F.xc_list = x;

    return x;
}

/* xc_private.c: xc_interface_close: NULL is fine; a failing close still
 * closes. */
int xc_interface_close(xc_interface *xch)
{
    struct xc_interface_core **pp;
    int err;

    err = enter("xc_interface_close", xch != NULL);
    if ( !xch )
        return 0;
    for ( pp = &F.xc_list; *pp; pp = &(*pp)->next )
    {
        if ( *pp == xch )
        {
            *pp = xch->next;
            xch->magic = 0;
            free(xch);
            if ( err )
            {
                errno = err;
                return -1;
            }
            return 0;
        }
    }
    bad_handle("xc_interface_close");

    return -1;
}

/*
 * domctl.c: getdomaininfo: blocked only if every online vCPU is blocked,
 * running if any runs, XEN_DOMINF_dying only once DOMDYING_dead,
 * XEN_DOMINF_paused iff the controller pause count is non-zero.
 */
static void fill_domaininfo(const struct fake_domain *d, xc_domaininfo_t *info)
{
    unsigned int i, flags = XEN_DOMINF_blocked;
    uint64_t cpu_time = 0;

    memset(info, 0, sizeof(*info));
    info->domain = d->domid;
    info->max_vcpu_id = XEN_INVALID_MAX_VCPU_ID;
    for ( i = 0; i < d->nr_vcpus; i++ )
    {
        const struct fake_vcpu *v = &d->vcpu[i];

        cpu_time += v->cpu_time;
        info->max_vcpu_id = i;
        if ( !v->online )
            continue;
        if ( !v->idle )
            flags &= ~XEN_DOMINF_blocked;
        if ( vcpu_running(d, v) )
            flags |= XEN_DOMINF_running;
        info->nr_online_vcpus++;
    }
    info->cpu_time = cpu_time;
    info->flags = (info->nr_online_vcpus ? flags : 0) |
                  (d->dying == 2 ? XEN_DOMINF_dying : 0) |
                  (d->shut_down ? XEN_DOMINF_shutdown : 0) |
                  (d->pause_count > 0 ? XEN_DOMINF_paused : 0) |
                  (is_hvm(d) ? XEN_DOMINF_hvm_guest | XEN_DOMINF_hap : 0) |
                  (d->shut_down ?
                   d->shutdown_code << XEN_DOMINF_shutdownshift : 0);
    info->tot_pages = d->domid ? 40960 : 262144;
    info->max_pages = info->tot_pages + 256;
    info->shared_info_frame = 0xfeffc + d->domid;
    info->ssidref = 0;
    info->cpupool = 0;
    for ( i = 0; i < sizeof(info->handle); i++ )
        info->handle[i] = (uint8_t)(d->domid * 16 + i);
}

/* sysctl.c: XEN_SYSCTL_getdomaininfolist: domains with id >= first, in
 * order, at most max; none is not an error. */
int xc_domain_getinfolist(xc_interface *xch, uint32_t first_domain,
                          unsigned int max_domains, xc_domaininfo_t *info)
{
    unsigned int i, n = 0;

    if ( enter("xc_domain_getinfolist", 1) )
        return -1;
    if ( !xc_valid(xch, "xc_domain_getinfolist") )
        return -1;
    if ( max_domains && !info )
    {
        errno = EFAULT;
        return -1;
    }
    for ( i = 0; i < F.nr_dom && n < max_domains; i++ )
    {
        if ( F.dom[i]->domid < first_domain )
            continue;
        fill_domaininfo(F.dom[i], &info[n++]);
    }

    return n;
}

/* domctl.c: XEN_DOMCTL_getvcpuinfo: vcpu >= max_vcpus is EINVAL. */
int xc_vcpu_getinfo(xc_interface *xch, uint32_t domid, uint32_t vcpu,
                    xc_vcpuinfo_t *info)
{
    struct fake_domain *d;
    struct fake_vcpu *v;

    if ( enter("xc_vcpu_getinfo", 1) )
        return -1;
    if ( !xc_valid(xch, "xc_vcpu_getinfo") )
        return -1;
    d = find_domain(domid);
    if ( !d )
    {
        errno = ESRCH;
        return -1;
    }
    if ( vcpu >= d->nr_vcpus )
    {
        errno = EINVAL;
        return -1;
    }
    if ( !info )
    {
        errno = EFAULT;
        return -1;
    }
    v = &d->vcpu[vcpu];
    info->vcpu = vcpu;
    info->online = v->online;
    info->blocked = v->idle;
    /* A vCPU waiting for a reply reads online=1 blocked=0 running=0, its
     * cpu_time still (XEN-FACTS.md, seen on 4.17.7). */
    info->running = vcpu_running(d, v) && v->on_cpu;
    info->cpu_time = v->cpu_time;
    info->cpu = vcpu % 4;

    return 0;
}

/*
 * domctl.c: XEN_DOMCTL_pausedomain refuses the caller's own domain;
 * domain.c: _domain_pause_by_systemcontroller caps the count at 255
 * (EOVERFLOW), domain_unpause_by_systemcontroller refuses to go below 0
 * (EINVAL).
 */
static int controller_pause(uint32_t domid)
{
    struct fake_domain *d = find_domain(domid);
    unsigned int i;

    if ( !d )
        return -ESRCH;
    if ( domid == 0 )
        return -EINVAL;
    if ( d->pause_count + 1 > FAKE_MAX_PAUSE_COUNT )
        return -EOVERFLOW;
    d->pause_count++;
    for ( i = 0; i < d->nr_vcpus; i++ )
        d->vcpu[i].on_cpu = 0;

    return 0;
}

int xc_domain_pause(xc_interface *xch, uint32_t domid)
{
    int rc;

    if ( enter("xc_domain_pause", 1) )
        return -1;
    if ( !xc_valid(xch, "xc_domain_pause") )
        return -1;
    rc = controller_pause(domid);
    if ( rc )
    {
        errno = -rc;
        return -1;
    }

    return 0;
}

int xc_domain_unpause(xc_interface *xch, uint32_t domid)
{
    struct fake_domain *d;

    if ( enter("xc_domain_unpause", 1) )
        return -1;
    if ( !xc_valid(xch, "xc_domain_unpause") )
        return -1;
    d = find_domain(domid);
    if ( !d )
    {
        errno = ESRCH;
        return -1;
    }
    if ( d->pause_count == 0 )
    {
        errno = EINVAL;
        return -1;
    }
    d->pause_count--;

    return 0;
}

/* vm_event.c: vm_event_domctl, XEN_VM_EVENT_GET_VERSION. */
int xc_vm_event_get_version(xc_interface *xch)
{
    if ( enter("xc_vm_event_get_version", 1) )
        return -1;
    if ( !xc_valid(xch, "xc_vm_event_get_version") )
        return -1;

    return F.vm_event_version;
}

/*
 * The checks XEN_DOMCTL_vm_event_op makes before the op itself
 * (domctl.c: do_domctl; vm_event.c: vm_event_domctl).  Returns 1 to go
 * on with *dp set, 0 for "done, success" (a dying domain: Xen ignores the
 * op and answers 0), or -errno.
 */
static int vm_event_precheck(uint32_t domid, struct fake_domain **dp)
{
    struct fake_domain *d;

    if ( domid == DOMID_INVALID )
    {
        F.domid_invalid_ops++;
        return -ESRCH;
    }
    d = find_domain(domid);
    if ( !d )
        return -ESRCH;
    if ( domid == 0 )
        return -EINVAL;         /* "Tried to do a memory event op on itself" */
    if ( d->dying )
        return 0;               /* "Ignoring memory event op on dying domain" */
    if ( d->nr_vcpus == 0 )
        return -EINVAL;         /* "Memory event op on a domain (%u) with
                                 * no vcpus" */
    *dp = d;

    return 1;
}

static int ring_create(struct fake_domain *d, enum fake_ring_kind kind,
                       void *xen_view, uint32_t *port)
{
    struct fake_ring *r = &d->ring[kind];
    int p;

    /* vm_event.c: vm_event_enable: one ring of each kind at a time. */
    if ( r->exists )
        return -EBUSY;
    /* event_channel.c: alloc_unbound_xen_event_channel: an unbound port of
     * the guest that the caller's domain (dom0) may bind. */
    p = guest_port_alloc(d);
    if ( p < 0 )
        return p;
    memset(r, 0, sizeof(*r));
    r->exists = 1;
    r->xen_view = xen_view;
    if ( xen_view )
        FRONT_RING_INIT(&r->front, (vm_event_sring_t *)xen_view,
                        FAKE_PAGE_SIZE);
    r->xen_port = p;
    d->port[p].state = PORT_UNBOUND;
    d->port[p].xen_consumer = kind + 1;
    d->port[p].remote_domid = 0;
    if ( kind == FAKE_RING_MONITOR )
        d->st.enables++;
    *port = p;

    return 0;
}

/*
 * xc_monitor.c: xc_monitor_enable -> xc_vm_event.c: xc_vm_event_enable:
 * pause the domain (ESRCH, EINVAL for dom0, EOVERFLOW at 255 references),
 * read HVM_PARAM_MONITOR_RING_PFN (EINVAL for a PV guest: hvm.c:
 * hvmop_get_param), populate and map the page, XEN_VM_EVENT_ENABLE, take
 * the page out of the guest's physmap, unpause.  On failure libxenctrl
 * unmaps the page; on success the caller owns the mapping.
 */
void *xc_monitor_enable(xc_interface *xch, uint32_t domain_id, uint32_t *port)
{
    struct fake_domain *d = NULL;
    void *lib_view, *xen_view;
    int rc;

    if ( enter("xc_monitor_enable", 1) )
        return NULL;
    if ( !xc_valid(xch, "xc_monitor_enable") )
        return NULL;
    if ( !port )
    {
        errno = EINVAL;
        return NULL;
    }

    rc = controller_pause(domain_id);
    if ( rc )
    {
        errno = -rc;
        return NULL;
    }
    d = find_domain(domain_id);
    d->pause_count--;           /* the unpause at the end */
    if ( !is_hvm(d) )
    {
        errno = EINVAL;
        return NULL;
    }

    if ( page_create(&lib_view, &xen_view) )
        return NULL;

    rc = vm_event_precheck(domain_id, &d);
    if ( rc == 1 )
        rc = ring_create(d, FAKE_RING_MONITOR, xen_view, port);
    else if ( rc == 0 )
    {
        /*
         * A dying domain: vm_event_domctl answers 0 and does nothing, so
         * libxenctrl returns the mapped page and whatever was in the
         * uninitialised domctl's port field (xc_vm_event_control,
         * DECLARE_DOMCTL).  The model says 0, a port never bindable.
         */
        munmap(xen_view, FAKE_PAGE_SIZE);
        *port = 0;
        return lib_view;
    }
    if ( rc < 0 )
    {
        munmap(lib_view, FAKE_PAGE_SIZE);
        munmap(xen_view, FAKE_PAGE_SIZE);
        page_forget(lib_view);
        errno = -rc;
        return NULL;
    }
    if ( F.after_enable_nth && --F.after_enable_nth == 0 )
    {
        /*
         * xc_vm_event.c: xc_vm_event_enable after XEN_VM_EVENT_ENABLE
         * succeeded (*port is set): xc_domain_decrease_reservation_exact
         * or the final xc_domain_unpause failed.  libxc unmaps the page
         * and returns NULL; Xen's ring stays enabled.  The model releases
         * libxc's pause all the same: with the caller's own reference held
         * that unpause can only fail for a domain that is gone.
         */
        F.fired++;
        munmap(lib_view, FAKE_PAGE_SIZE);
        page_forget(lib_view);
        errno = F.after_enable_err;
        return NULL;
    }

    return lib_view;
}

/*
 * vm_event.c: vm_event_domctl, XEN_DOMCTL_VM_EVENT_OP_MONITOR /
 * XEN_VM_EVENT_DISABLE: EINVAL without a ring; otherwise
 * vm_event_disable, then arch_monitor_cleanup_domain (arch/x86/monitor.c),
 * which resets the monitor settings whatever vm_event_disable answered,
 * EBUSY included.
 */
int xc_monitor_disable(xc_interface *xch, uint32_t domain_id)
{
    struct fake_domain *d = NULL;
    int rc;

    if ( enter("xc_monitor_disable", 1) )
        return -1;
    if ( !xc_valid(xch, "xc_monitor_disable") )
        return -1;
    rc = vm_event_precheck(domain_id, &d);
    if ( rc == 1 )
    {
        rc = -EINVAL;
        if ( d->ring[FAKE_RING_MONITOR].exists )
        {
            rc = ring_disable(d, &d->ring[FAKE_RING_MONITOR]);
            d->monitor_mask = 0;
            if ( rc == 0 )
                d->st.disables++;
        }
    }
    if ( rc < 0 )
    {
        errno = -rc;
        return -1;
    }

    return 0;
}

/* vm_event.c: vm_event_resume via XEN_VM_EVENT_RESUME: ENODEV without a
 * ring. */
int xc_monitor_resume(xc_interface *xch, uint32_t domain_id)
{
    struct fake_domain *d = NULL;
    int rc;

    if ( enter("xc_monitor_resume", 1) )
        return -1;
    if ( !xc_valid(xch, "xc_monitor_resume") )
        return -1;
    rc = vm_event_precheck(domain_id, &d);
    if ( rc == 1 )
    {
        rc = ring_resume(d, &d->ring[FAKE_RING_MONITOR]);
        if ( rc == 0 )
            d->st.domctl_resumes++;
    }
    if ( rc < 0 )
    {
        errno = -rc;
        return -1;
    }

    return 0;
}

/*
 * common/monitor.c: monitor_domctl: EPERM on the caller's own domain,
 * EOPNOTSUPP for an event outside arch_monitor_get_capabilities (none for
 * a PV guest; no privileged call on x86: arch/x86/include/asm/monitor.h),
 * then arch/x86/monitor.c: arch_monitor_domctl_event: EEXIST when the
 * event is already in the requested state.  No ring is needed.
 */
static int monitor_toggle(xc_interface *xch, const char *fn,
                          uint32_t domid, unsigned int event, bool enable)
{
    struct fake_domain *d;
    unsigned int bit = 1u << event;

    if ( enter(fn, 1) )
        return -1;
    if ( !xc_valid(xch, fn) )
        return -1;
    d = find_domain(domid);
    if ( !d )
    {
        errno = ESRCH;
        return -1;
    }
    if ( domid == 0 )
    {
        errno = EPERM;
        return -1;
    }
    if ( !is_hvm(d) ||
         (event == XEN_DOMCTL_MONITOR_EVENT_PRIVILEGED_CALL &&
          !F.privcall_supported) )
    {
        errno = EOPNOTSUPP;
        return -1;
    }
    if ( !!(d->monitor_mask & bit) == !!enable )
    {
        errno = EEXIST;
        return -1;
    }
    if ( enable )
        d->monitor_mask |= bit;
    else
        d->monitor_mask &= ~bit;

    return 0;
}

int xc_monitor_cpuid(xc_interface *xch, uint32_t domain_id, bool enable)
{
    return monitor_toggle(xch, "xc_monitor_cpuid", domain_id,
                          XEN_DOMCTL_MONITOR_EVENT_CPUID, enable);
}

int xc_monitor_software_breakpoint(xc_interface *xch, uint32_t domain_id,
                                   bool enable)
{
    return monitor_toggle(xch, "xc_monitor_software_breakpoint", domain_id,
                          XEN_DOMCTL_MONITOR_EVENT_SOFTWARE_BREAKPOINT,
                          enable);
}

int xc_monitor_privileged_call(xc_interface *xch, uint32_t domain_id,
                               bool enable)
{
    return monitor_toggle(xch, "xc_monitor_privileged_call", domain_id,
                          XEN_DOMCTL_MONITOR_EVENT_PRIVILEGED_CALL, enable);
}

/*
 * xc_devicemodel_compat.c: xc_hvm_inject_trap -> XEN_DMOP_inject_event.
 * dm.c: dm_op: ESRCH without the domain, EPERM for the caller's own
 * (rcu_lock_remote_domain_by_id), EINVAL for a PV guest; inject_event:
 * EINVAL for a vCPU beyond the domain's, EBUSY while an event injected
 * earlier has not been delivered yet.  Delivered in fake_domain_step()
 * (hvm.c: hvm_do_resume).
 */
int xc_hvm_inject_trap(xc_interface *xch, uint32_t domid, int vcpu, uint8_t vector,
                       uint8_t type, uint32_t error_code, uint8_t insn_len, uint64_t cr2)
{
    struct fake_domain *d;
    struct fake_vcpu *v;

    (void)type;
    (void)error_code;
    (void)insn_len;
    (void)cr2;
    if ( enter("xc_hvm_inject_trap", 1) )
        return -1;
    if ( !xc_valid(xch, "xc_hvm_inject_trap") )
        return -1;
    d = find_domain(domid);
    if ( !d )
    {
        errno = ESRCH;
        return -1;
    }
    if ( domid == 0 )
    {
        errno = EPERM;
        return -1;
    }
    if ( !is_hvm(d) || vcpu < 0 || (unsigned int)vcpu >= d->nr_vcpus )
    {
        errno = EINVAL;
        return -1;
    }
    v = &d->vcpu[vcpu];
    if ( v->inject_pending )
    {
        errno = EBUSY;
        return -1;
    }
    v->inject_pending = 1;
    v->inject_vector = vector;

    return 0;
}

/*
 * mem_access, single-step, altp2m: what a monitor agent sets besides its
 * ring, and what the ring's disable leaves alone (vm_event.c:
 * vm_event_domctl, XEN_VM_EVENT_DISABLE, calls only
 * arch/x86/monitor.c: arch_monitor_cleanup_domain and, through
 * vm_event_disable, arch/x86/vm_event.c: vm_event_cleanup_domain).
 */

/*
 * domctl.c:926: XEN_DOMCTL_set_access_required (CONFIG_MEM_ACCESS, which
 * x86 always has): EPERM on the caller's own domain, else
 * x86/mm/mem_access.c:492: arch_p2m_set_access_required.  No vendor check:
 * it works on SVM too (seen on the rig, Xen 4.17.7 under QEMU).
 */
int xc_domain_set_access_required(xc_interface *xch, uint32_t domid,
                                  unsigned int required)
{
    struct fake_domain *d;

    if ( enter("xc_domain_set_access_required", 1) )
        return -1;
    if ( !xc_valid(xch, "xc_domain_set_access_required") )
        return -1;
    d = find_domain(domid);
    if ( !d )
    {
        errno = ESRCH;
        return -1;
    }
    if ( domid == 0 )
    {
        errno = EPERM;
        return -1;
    }
    d->access_required = !!required;

    return 0;
}

/*
 * common/mem_access.c: mem_access_memop: rcu_lock_live_remote_domain_by_id
 * (ESRCH, EPERM for the caller's own domain, EINVAL for a dying one), then
 * EINVAL unless x86/mm/mem_access.c:511: p2m_mem_access_sanity_check (HVM,
 * cpu_has_vmx, HAP: never on SVM) (:46-48), then ENODEV without a monitor
 * ring (:54-56).
 * Returns the domain, or NULL with errno set.
 */
static struct fake_domain *mem_access_precheck(uint32_t domid)
{
    struct fake_domain *d = find_domain(domid);

    errno = ESRCH;
    if ( !d )
        return NULL;
    errno = EPERM;
    if ( domid == 0 )
        return NULL;
    errno = EINVAL;
    if ( d->dying || !is_hvm(d) || F.host_svm )
        return NULL;
    errno = ENODEV;
    if ( !d->ring[FAKE_RING_MONITOR].exists )
        return NULL;

    return d;
}

/*
 * XENMEM_access_op_set_access: pfn ~0 sets the default access
 * (x86/mm/mem_access.c:376, p2m_set_mem_access); otherwise EINVAL unless
 * pfn + nr - 1 is within XENMEM_maximum_gpfn and does not wrap, then
 * every gfn of the range gets the access.  Access values beyond n2rwx
 * (and XENMEM_access_default, which the model does not need) are EINVAL
 * (xenmem_access_to_p2m_access).
 */
int xc_set_mem_access(xc_interface *xch, uint32_t domain_id,
                      xenmem_access_t access, uint64_t first_pfn, uint32_t nr)
{
    struct fake_domain *d;
    uint64_t gfn;

    if ( enter("xc_set_mem_access", 1) )
        return -1;
    if ( !xc_valid(xch, "xc_set_mem_access") )
        return -1;
    d = mem_access_precheck(domain_id);
    if ( !d )
        return -1;
    if ( (unsigned int)access > XENMEM_access_n2rwx )
    {
        errno = EINVAL;
        return -1;
    }
    if ( first_pfn == ~0ULL )
    {
        d->default_access = access;
        return 0;
    }
    /* nr == 0 fails one of the two checks whatever first_pfn is. */
    if ( nr == 0 || first_pfn + nr - 1 < first_pfn ||
         first_pfn + nr - 1 > FAKE_NR_GFNS - 1 )
    {
        errno = EINVAL;
        return -1;
    }
    for ( gfn = first_pfn; gfn < first_pfn + nr; gfn++ )
        d->page_access[gfn] = access;

    return 0;
}

/* XENMEM_access_op_get_access: pfn ~0 reads the default access. */
int xc_get_mem_access(xc_interface *xch, uint32_t domain_id, uint64_t pfn,
                      xenmem_access_t *access)
{
    struct fake_domain *d;

    if ( enter("xc_get_mem_access", 1) )
        return -1;
    if ( !xc_valid(xch, "xc_get_mem_access") )
        return -1;
    d = mem_access_precheck(domain_id);
    if ( !d )
        return -1;
    if ( pfn != ~0ULL && pfn > FAKE_NR_GFNS - 1 )
    {
        errno = EINVAL;
        return -1;
    }
    *access = pfn == ~0ULL ? d->default_access : d->page_access[pfn];

    return 0;
}

/* memory.c:1493: XENMEM_maximum_gpfn: ESRCH, or the domain's highest gfn. */
int xc_domain_maximum_gpfn(xc_interface *xch, uint32_t domid, xen_pfn_t *gpfns)
{
    if ( enter("xc_domain_maximum_gpfn", 1) )
        return -1;
    if ( !xc_valid(xch, "xc_domain_maximum_gpfn") )
        return -1;
    if ( !find_domain(domid) )
    {
        errno = ESRCH;
        return -1;
    }
    *gpfns = FAKE_NR_GFNS - 1;

    return 0;
}

/*
 * x86/domctl.c:828: XEN_DOMCTL_debug_op: EINVAL for a vCPU beyond max_vcpus,
 * the caller's own or a PV domain; then hvm/hvm.c:5153: hvm_debug_op:
 * EOPNOTSUPP without the monitor trap flag (SVM), ENOSYS for another op;
 * SINGLE_STEP_OFF also ends a fast single-step.
 */
int xc_domain_debug_control(xc_interface *xch, uint32_t domid, uint32_t sop,
                            uint32_t vcpu)
{
    struct fake_domain *d;

    if ( enter("xc_domain_debug_control", 1) )
        return -1;
    if ( !xc_valid(xch, "xc_domain_debug_control") )
        return -1;
    d = find_domain(domid);
    if ( !d )
    {
        errno = ESRCH;
        return -1;
    }
    if ( vcpu >= d->nr_vcpus || domid == 0 || !is_hvm(d) )
    {
        errno = EINVAL;
        return -1;
    }
    if ( sop != XEN_DOMCTL_DEBUG_OP_SINGLE_STEP_ON &&
         sop != XEN_DOMCTL_DEBUG_OP_SINGLE_STEP_OFF )
    {
        errno = ENOSYS;
        return -1;
    }
    if ( F.host_svm )
    {
        errno = EOPNOTSUPP;
        return -1;
    }
    d->vcpu[vcpu].single_step = sop == XEN_DOMCTL_DEBUG_OP_SINGLE_STEP_ON;
    if ( sop == XEN_DOMCTL_DEBUG_OP_SINGLE_STEP_OFF )
        d->vcpu[vcpu].fast_single_step = 0;

    return 0;
}

/*
 * hvm/hvm.c:4549: do_altp2m_op: EOPNOTSUPP without altp2m on the CPU
 * (hvm_altp2m_supported: VMX only), ESRCH, EOPNOTSUPP for a PV domain,
 * EINVAL when the domain's altp2m mode is disabled (:4612); then the state.
 */
int xc_altp2m_get_domain_state(xc_interface *handle, uint32_t dom, bool *state)
{
    struct fake_domain *d;

    if ( enter("xc_altp2m_get_domain_state", 1) )
        return -1;
    if ( !xc_valid(handle, "xc_altp2m_get_domain_state") )
        return -1;
    if ( F.host_svm )
    {
        errno = EOPNOTSUPP;
        return -1;
    }
    d = find_domain(dom);
    if ( !d )
    {
        errno = ESRCH;
        return -1;
    }
    if ( !is_hvm(d) )
    {
        errno = EOPNOTSUPP;
        return -1;
    }
    if ( !d->altp2m_mode )
    {
        errno = EINVAL;
        return -1;
    }
    *state = d->altp2m_active;

    return 0;
}

/*
 * Paging and sharing: xc_mem_paging.c / xc_memshr.c go straight to
 * XEN_DOMCTL_vm_event_op (EINVAL for a NULL port).  Without
 * CONFIG_MEM_PAGING / CONFIG_MEM_SHARING vm_event_domctl answers ENOSYS
 * after its common checks.  With them the model keeps a port-only ring
 * (ENODEV without HAP, i.e. for PV).
 */
static int paging_sharing_op(xc_interface *xch, const char *fn,
                             uint32_t domid, enum fake_ring_kind kind,
                             int enable, uint32_t *port)
{
    struct fake_domain *d = NULL;
    int rc;

    if ( enter(fn, 1) )
        return -1;
    if ( !xc_valid(xch, fn) )
        return -1;
    if ( enable && !port )
    {
        errno = EINVAL;
        return -1;
    }
    rc = vm_event_precheck(domid, &d);
    if ( rc == 0 && enable )
        *port = 0;
    if ( rc == 1 )
    {
        if ( !F.paging_sharing_built )
            rc = -ENOSYS;
        else if ( enable )
            rc = is_hvm(d) ? ring_create(d, kind, NULL, port) : -ENODEV;
        else if ( d->ring[kind].exists )
            rc = ring_disable(d, &d->ring[kind]);
        else
            rc = -EINVAL;
    }
    if ( rc < 0 )
    {
        errno = -rc;
        return -1;
    }

    return 0;
}

int xc_mem_paging_enable(xc_interface *xch, uint32_t domain_id, uint32_t *port)
{
    return paging_sharing_op(xch, "xc_mem_paging_enable", domain_id,
                             FAKE_RING_PAGING, 1, port);
}

int xc_mem_paging_disable(xc_interface *xch, uint32_t domain_id)
{
    return paging_sharing_op(xch, "xc_mem_paging_disable", domain_id,
                             FAKE_RING_PAGING, 0, NULL);
}

int xc_memshr_ring_enable(xc_interface *xch, uint32_t domid, uint32_t *port)
{
    return paging_sharing_op(xch, "xc_memshr_ring_enable", domid,
                             FAKE_RING_SHARING, 1, port);
}

int xc_memshr_ring_disable(xc_interface *xch, uint32_t domid)
{
    return paging_sharing_op(xch, "xc_memshr_ring_disable", domid,
                             FAKE_RING_SHARING, 0, NULL);
}

/* common/kernel.c: do_xen_version.  Only the two commands tools use for a
 * version string are modelled. */
int xc_version(xc_interface *xch, int cmd, void *arg)
{
    if ( enter("xc_version", 1) )
        return -1;
    if ( !xc_valid(xch, "xc_version") )
        return -1;
    switch ( cmd )
    {
    case XENVER_version:
        return (F.xen_major << 16) | F.xen_minor;
    case XENVER_extraversion:
        if ( !arg )
        {
            errno = EFAULT;
            return -1;
        }
        snprintf(arg, XEN_EXTRAVERSION_LEN, ".0");
        return 0;
    default:
        errno = ENOSYS;
        return -1;
    }
}

/*
 * libxenevtchn (tools/libs/evtchn/linux.c) over the Linux driver.
 */

static int evtchn_valid(xenevtchn_handle *xce, const char *fn)
{
    struct xenevtchn_handle *x;

    for ( x = F.evtchn_list; x; x = x->next )
        if ( x == xce && x->magic == EVTCHN_MAGIC )
            return 1;
    bad_handle(fn);

    return 0;
}

/* linux.c: osdep_evtchn_open opens /dev/xen/evtchn (O_CLOEXEC unless
 * XENEVTCHN_NO_CLOEXEC).  The model's fd is the read end of a pipe
 * carrying pending ports; it is non-blocking (see xenevtchn_pending). */
xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger,
                                 unsigned int flags)
{
    struct xenevtchn_handle *x;
    int fds[2], saved;

    (void)logger;
    if ( enter("xenevtchn_open", 1) )
        return NULL;
    x = calloc(1, sizeof(*x));
    if ( !x )
        return NULL;
    if ( pipe2(fds, O_NONBLOCK |
               ((flags & XENEVTCHN_NO_CLOEXEC) ? 0 : O_CLOEXEC)) )
    {
        saved = errno;
        free(x);
        errno = saved;
        return NULL;
    }
    x->magic = EVTCHN_MAGIC;
    x->rfd = fds[0];
    x->wfd = fds[1];
    x->next = F.evtchn_list;
    F.evtchn_list = x;

    return x;
}

/* Closing the device unbinds every port it bound (evtchn.c:
 * evtchn_release), which closes them in Xen. */
int xenevtchn_close(xenevtchn_handle *xce)
{
    struct xenevtchn_handle **pp;
    unsigned int p;
    int err;

    err = enter("xenevtchn_close", xce != NULL);
    if ( !xce )
        return 0;
    for ( pp = &F.evtchn_list; *pp; pp = &(*pp)->next )
    {
        if ( *pp != xce )
            continue;
        *pp = xce->next;
        for ( p = 0; p < FAKE_DOM0_PORTS; p++ )
            if ( F.dom0_port[p].owner == xce )
                dom0_port_close(p);
        close(xce->rfd);
        close(xce->wfd);
        xce->magic = 0;
        free(xce);
        if ( err )
        {
            errno = err;
            return -1;
        }
        return 0;
    }
    bad_handle("xenevtchn_close");

    return -1;
}

int xenevtchn_fd(xenevtchn_handle *xce)
{
    enter("xenevtchn_fd", 0);
    if ( !evtchn_valid(xce, "xenevtchn_fd") )
        return -1;

    return xce->rfd;
}

/*
 * EVTCHNOP_send from dom0 (event_channel.c: evtchn_send): on an
 * interdomain channel whose far end Xen consumes, Xen runs the ring's
 * callback (vm_event.c: monitor_notification -> vm_event_resume), with no
 * lock held and whatever the domain's state; on an unbound port the
 * notification is silently dropped.  The driver answers ENOTCONN for a port
 * this handle did not bind (evtchn.c: evtchn_ioctl, IOCTL_EVTCHN_NOTIFY).
 */
int xenevtchn_notify(xenevtchn_handle *xce, evtchn_port_t port)
{
    struct dom0_port *lp;

    if ( enter("xenevtchn_notify", 1) )
        return -1;
    if ( !evtchn_valid(xce, "xenevtchn_notify") )
        return -1;
    if ( port >= FAKE_DOM0_PORTS || F.dom0_port[port].owner != xce )
    {
        errno = ENOTCONN;
        return -1;
    }
    lp = &F.dom0_port[port];
    if ( lp->state == PORT_INTERDOMAIN && lp->remote_domid == 0 )
    {
        /* dom0 loopback (added for xen-evtchn-stress, see the end). */
        dom0_set_pending(lp->remote_port);
        return 0;
    }
    if ( lp->state == PORT_INTERDOMAIN )
    {
        struct fake_domain *rd = find_domain(lp->remote_domid);
        struct guest_port *gp;

        if ( !rd || lp->remote_port >= FAKE_GUEST_PORTS )
            return 0;
        gp = &rd->port[lp->remote_port];
        if ( gp->xen_consumer )
        {
            if ( ring_resume(rd, &rd->ring[gp->xen_consumer - 1]) == 0 &&
                 gp->xen_consumer - 1 == FAKE_RING_MONITOR )
                rd->st.notify_resumes++;
        }
    }

    return 0;
}

/*
 * event_channel.c: get_free_port: the lowest free dom0 port, or ENOSPC.
 * Callers look for it before their other checks, as Xen does.
 */
static int dom0_free_port(uint32_t *lport)
{
    for ( *lport = FAKE_DOM0_FIRST_FREE; *lport < FAKE_DOM0_PORTS; (*lport)++ )
        if ( F.dom0_port[*lport].state == PORT_FREE )
            return 0;
    errno = ENOSPC;
    return -1;
}

/* Takes dom0 port lport for xce, bound to the driver and enabled. */
static void dom0_port_take(uint32_t lport, struct xenevtchn_handle *xce,
                           enum port_state state, uint32_t remote_domid,
                           uint32_t remote_port)
{
    struct dom0_port *lp = &F.dom0_port[lport];

    memset(lp, 0, sizeof(*lp));
    lp->state = state;
    lp->owner = xce;
    lp->remote_domid = remote_domid;
    lp->remote_port = remote_port;
    lp->enabled = 1;
}

/*
 * event_channel.c: evtchn_bind_interdomain: ESRCH without the remote
 * domain; EINVAL unless the remote port is unbound and waiting for us; the
 * new local port is set pending at once ("we may have lost notifications").
 * The driver binds it to the handle, enabled (evtchn.c:
 * evtchn_bind_to_user), so that first notification reaches the fd.
 */
xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *xce,
                                                     uint32_t domid,
                                                     evtchn_port_t remote_port)
{
    struct fake_domain *rd;
    struct guest_port *gp;
    uint32_t lport;

    if ( enter("xenevtchn_bind_interdomain", 1) )
        return -1;
    if ( !evtchn_valid(xce, "xenevtchn_bind_interdomain") )
        return -1;
    rd = find_domain(domid == DOMID_SELF ? 0 : domid);
    if ( !rd )
    {
        errno = ESRCH;
        return -1;
    }
    if ( rd->domid == 0 )
        return dom0_loopback_bind(xce, remote_port); /* see the end */
    if ( dom0_free_port(&lport) )
        return -1;
    if ( rd->domid == 0 || remote_port >= FAKE_GUEST_PORTS )
    {
        errno = EINVAL;
        return -1;
    }
    gp = &rd->port[remote_port];
    if ( gp->state != PORT_UNBOUND || gp->remote_domid != 0 )
    {
        errno = EINVAL;
        return -1;
    }

    dom0_port_take(lport, xce, PORT_INTERDOMAIN, rd->domid, remote_port);
    gp->state = PORT_INTERDOMAIN;
    gp->remote_port = lport;
    dom0_set_pending(lport);

    return lport;
}

/*
 * evtchn.c: evtchn_ioctl, IOCTL_EVTCHN_UNBIND: EINVAL beyond the number of
 * channels, ENOTCONN for a port not bound by this handle; unbinding closes
 * the port in Xen, so the Xen-consumer end becomes unbound again (and can
 * be bound anew).  Ports already queued on the fd stay there.
 */
int xenevtchn_unbind(xenevtchn_handle *xce, evtchn_port_t port)
{
    if ( enter("xenevtchn_unbind", 1) )
        return -1;
    if ( !evtchn_valid(xce, "xenevtchn_unbind") )
        return -1;
    if ( port >= FAKE_NR_EVENT_CHANNELS )
    {
        errno = EINVAL;
        return -1;
    }
    if ( port >= FAKE_DOM0_PORTS || F.dom0_port[port].owner != xce )
    {
        errno = ENOTCONN;
        return -1;
    }
    dom0_port_close(port);

    return 0;
}

/*
 * linux.c: xenevtchn_pending reads one port from the fd.  The real fd
 * blocks when nothing is pending (callers poll() first, as xenevtchn.h
 * asks); the model's answers -1/EAGAIN instead of hanging the test.  A
 * driver ring overflow reads as EFBIG (evtchn.c: evtchn_read).
 */
xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *xce)
{
    evtchn_port_t port;
    ssize_t n;

    if ( enter("xenevtchn_pending", 1) )
        return -1;
    if ( !evtchn_valid(xce, "xenevtchn_pending") )
        return -1;
    if ( xce->overflow )
    {
        errno = EFBIG;
        return -1;
    }
    n = read(xce->rfd, &port, sizeof(port));
    if ( n != sizeof(port) )
    {
        if ( n >= 0 )
            errno = EIO;
        return -1;
    }

    return port;
}

/*
 * linux.c: xenevtchn_unmask writes the port to the fd; the driver ignores
 * ports that are not this handle's or not masked, and re-raises an event
 * that arrived while masked (evtchn.c: evtchn_write).
 */
int xenevtchn_unmask(xenevtchn_handle *xce, evtchn_port_t port)
{
    struct dom0_port *lp;

    if ( enter("xenevtchn_unmask", 1) )
        return -1;
    if ( !evtchn_valid(xce, "xenevtchn_unmask") )
        return -1;
    if ( port >= FAKE_DOM0_PORTS )
        return 0;
    lp = &F.dom0_port[port];
    if ( lp->owner != xce || lp->enabled )
        return 0;
    lp->enabled = 1;
    if ( lp->pending )
        dom0_set_pending(port);

    return 0;
}

/*
 * libxenstore (tools/libs/store/xs.c) over xenstored
 * (tools/xenstore/xenstored_core.c).
 */

static int xs_valid_handle(struct xs_handle *h, const char *fn)
{
    struct xs_handle *x;

    for ( x = F.xs_list; x; x = x->next )
        if ( x == h && x->magic == XS_MAGIC )
            return 1;
    bad_handle(fn);

    return 0;
}

struct xs_handle *xs_open(unsigned long flags)
{
    struct xs_handle *x;

    (void)flags;
    if ( enter("xs_open", 1) )
        return NULL;
    x = calloc(1, sizeof(*x));
    if ( !x )
        return NULL;
    x->magic = XS_MAGIC;
    x->next = F.xs_list;
    F.xs_list = x;

    return x;
}

void xs_close(struct xs_handle *xsh)
{
    struct xs_handle **pp;

    enter("xs_close", 0);
    if ( !xsh )
        return;
    for ( pp = &F.xs_list; *pp; pp = &(*pp)->next )
    {
        if ( *pp == xsh )
        {
            *pp = xsh->next;
            xsh->magic = 0;
            free(xsh);
            return;
        }
    }
    bad_handle("xs_close");
}

/* xenstored_core.c: do_read: EINVAL for a bad path, ENOENT for a missing
 * node.  xs.c: xs_read returns a malloc'd copy with a NUL after the data
 * and the length without it. */
void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path,
              unsigned int *len)
{
    char *c, *v;
    int i;

    (void)t;
    if ( enter("xs_read", 1) )
        return NULL;
    if ( !xs_valid_handle(h, "xs_read") )
        return NULL;
    c = xs_canon(path);
    if ( !c )
        return NULL;
    i = xs_find(c);
    free(c);
    if ( i < 0 )
    {
        errno = ENOENT;
        return NULL;
    }
    v = malloc(F.xs[i].len + 1);
    if ( !v )
        return NULL;
    memcpy(v, F.xs[i].value, F.xs[i].len);
    v[F.xs[i].len] = '\0';
    if ( len )
        *len = F.xs[i].len;

    return v;
}

/* xenstored_core.c: do_write creates the node and missing parents;
 * xs.c: xs_talkv refuses a message over XENSTORE_PAYLOAD_MAX (E2BIG). */
bool xs_write(struct xs_handle *h, xs_transaction_t t, const char *path,
              const void *data, unsigned int len)
{
    char *c;
    int rc;

    (void)t;
    if ( enter("xs_write", 1) )
        return false;
    if ( !xs_valid_handle(h, "xs_write") )
        return false;
    if ( !path || (len && !data) )
    {
        errno = EINVAL;
        return false;
    }
    if ( strlen(path) + 1 + len > FAKE_XS_PAYLOAD_MAX )
    {
        errno = E2BIG;
        return false;
    }
    c = xs_canon(path);
    if ( !c )
        return false;
    rc = xs_set(c, data ? data : "", len);
    free(c);

    return rc == 0;
}

/* xenstored_core.c: do_rm: removing "/" is EINVAL; a missing node is
 * fine if its parent exists, else ENOENT; children go with the node. */
bool xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path)
{
    char *c, *parent;
    int ok;

    (void)t;
    if ( enter("xs_rm", 1) )
        return false;
    if ( !xs_valid_handle(h, "xs_rm") )
        return false;
    c = xs_canon(path);
    if ( !c )
        return false;
    if ( !strcmp(c, "/") )
    {
        free(c);
        errno = EINVAL;
        return false;
    }
    if ( xs_find(c) >= 0 )
    {
        xs_remove_tree(c);
        free(c);
        return true;
    }
    parent = xs_parent(c);
    free(c);
    ok = parent && xs_find(parent) >= 0;
    free(parent);
    if ( !ok )
        errno = ENOENT;

    return ok;
}

/* xs.c: xs_directory / xs_directory_common: one malloc'd block, the
 * pointer array followed by the names; *num entries; ENOENT if the node is
 * missing. */
char **xs_directory(struct xs_handle *h, xs_transaction_t t,
                    const char *path, unsigned int *num)
{
    char *c, **ret, *s;
    unsigned int i, n = 0;
    size_t bytes = 0, plen;

    (void)t;
    if ( enter("xs_directory", 1) )
        return NULL;
    if ( !xs_valid_handle(h, "xs_directory") )
        return NULL;
    if ( !num )
    {
        errno = EINVAL;
        return NULL;
    }
    c = xs_canon(path);
    if ( !c )
        return NULL;
    if ( xs_find(c) < 0 )
    {
        free(c);
        errno = ENOENT;
        return NULL;
    }
    plen = strcmp(c, "/") ? strlen(c) : 0;

    for ( i = 0; i < F.nr_xs; i++ )
    {
        const char *p = F.xs[i].path;

        if ( strcmp(p, "/") && !strncmp(p, c, plen) && p[plen] == '/' &&
             !strchr(p + plen + 1, '/') )
        {
            n++;
            bytes += strlen(p + plen + 1) + 1;
        }
    }

    ret = malloc(n * sizeof(char *) + bytes + 1);
    if ( !ret )
    {
        free(c);
        return NULL;
    }
    s = (char *)&ret[n];
    n = 0;
    for ( i = 0; i < F.nr_xs; i++ )
    {
        const char *p = F.xs[i].path;

        if ( strcmp(p, "/") && !strncmp(p, c, plen) && p[plen] == '/' &&
             !strchr(p + plen + 1, '/') )
        {
            strcpy(s, p + plen + 1);
            ret[n++] = s;
            s += strlen(s) + 1;
        }
    }
    free(c);
    *num = n;

    return ret;
}

/*
 * ---- dom0 loopback channels --------------------------------------------
 *
 * Added for xen-evtchn-stress (tools/stress-*.c, tests/unit/test-stress-cli.c),
 * whose baseline mode and "dom0 channels still deliver" check use a channel
 * from dom0 to itself: xenevtchn_bind_unbound_port(A, 0) on one handle,
 * xenevtchn_bind_interdomain(B, 0, port) on another, notify on B's port,
 * poll A's fd.  Everything else in the model is unchanged; the three hooks
 * above (dom0_port_close, xenevtchn_notify, xenevtchn_bind_interdomain)
 * only divert dom0-to-dom0 channels here.
 */

/*
 * event_channel.c: evtchn_alloc_unbound (ECS_UNBOUND, waiting for
 * remote_domid), bound to the handle by the driver (evtchn.c:
 * IOCTL_EVTCHN_BIND_UNBOUND_PORT, evtchn_bind_to_user: enabled).  Only
 * remote_domid 0 (dom0 itself) is modelled: a guest never binds to dom0
 * in the model.
 */
xenevtchn_port_or_error_t xenevtchn_bind_unbound_port(xenevtchn_handle *xce,
                                                      uint32_t domid)
{
    uint32_t lport;

    if ( enter("xenevtchn_bind_unbound_port", 1) )
        return -1;
    if ( !evtchn_valid(xce, "xenevtchn_bind_unbound_port") )
        return -1;
    if ( domid != 0 && domid != DOMID_SELF )
    {
        errno = find_domain(domid) ? EINVAL : ESRCH;
        return -1;
    }
    if ( dom0_free_port(&lport) )
        return -1;
    dom0_port_take(lport, xce, PORT_UNBOUND, 0, 0);

    return lport;
}

/*
 * event_channel.c: evtchn_bind_interdomain with the remote domain being
 * the caller: the remote port must be unbound and waiting for dom0; the
 * new local port is set pending at once, as for any interdomain bind.
 */
static xenevtchn_port_or_error_t dom0_loopback_bind(struct xenevtchn_handle *xce,
                                                    evtchn_port_t remote_port)
{
    struct dom0_port *rp;
    uint32_t lport;

    if ( remote_port >= FAKE_DOM0_PORTS )
    {
        errno = EINVAL;
        return -1;
    }
    rp = &F.dom0_port[remote_port];
    if ( rp->state != PORT_UNBOUND || rp->remote_domid != 0 || !rp->owner )
    {
        errno = EINVAL;
        return -1;
    }
    if ( dom0_free_port(&lport) )
        return -1;
    dom0_port_take(lport, xce, PORT_INTERDOMAIN, 0, remote_port);
    rp->state = PORT_INTERDOMAIN;
    rp->remote_port = lport;
    dom0_set_pending(lport);

    return lport;
}

/*
 * event_channel.c: evtchn_close of one end of a loopback channel: the
 * other end goes back to unbound, waiting for dom0.  Returns 1 if lport
 * was such an end (and is now free), 0 otherwise.
 */
static int dom0_loopback_close(uint32_t lport)
{
    struct dom0_port *lp = &F.dom0_port[lport];

    if ( lp->state != PORT_INTERDOMAIN || lp->remote_domid != 0 )
        return 0;
    if ( lp->remote_port < FAKE_DOM0_PORTS )
    {
        struct dom0_port *rp = &F.dom0_port[lp->remote_port];

        if ( rp->state == PORT_INTERDOMAIN && rp->remote_domid == 0 &&
             rp->remote_port == lport )
        {
            rp->state = PORT_UNBOUND;
            rp->remote_port = 0;
        }
    }
    memset(lp, 0, sizeof(*lp));

    return 1;
}

/*
 * EVTCHNOP_status (event_channel.c: evtchn_status, 4.17.5 lines 1000-1065,
 * 4.20.4 lines 1049-1105): ESRCH without the domain (dom0 included, as
 * rcu_lock_domain_by_any_id finds it); EINVAL for a port beyond the
 * domain's valid ports; on 4.15 to 4.18, EACCES for a port Xen consumes (a
 * ring's port, bound or not) before its state is looked at (4.17.5 lines
 * 1021-1024; 4.19 reverted that, commit 2d8d7481ca, so the model answers
 * the state when fake_set_xen_version() says 4.19 or later); else closed
 * (free or reserved), unbound with the domain allowed to bind it, or
 * interdomain with the far end's domain and port.
 * The far end changes with binds and closes as modelled above: a bind
 * makes both ends interdomain (evtchn_bind_interdomain), closing dom0's end
 * (xenevtchn_unbind, or the driver's release of a closed fd) takes dom0's
 * port away and leaves the guest's unbound for dom0 (evtchn_close).  The
 * model's dom0 ports below FAKE_DOM0_FIRST_FREE stand for dom0's own
 * channels and read closed.
 */
int xc_evtchn_status(xc_interface *xch, xc_evtchn_status_t *status)
{
    uint32_t port, nr;
    enum port_state state;
    uint32_t remote_domid, remote_port;
    struct fake_domain *d = NULL;

    if ( enter("xc_evtchn_status", 1) )
        return -1;
    if ( !xc_valid(xch, "xc_evtchn_status") )
        return -1;
    port = status->port;
    if ( status->dom != 0 )
    {
        d = find_domain(status->dom);
        if ( !d )
        {
            errno = ESRCH;
            return -1;
        }
    }
    nr = d ? FAKE_GUEST_PORTS : FAKE_DOM0_PORTS;
    if ( port >= nr )
    {
        errno = EINVAL;
        return -1;
    }
    if ( d )
    {
        if ( d->port[port].xen_consumer && F.xen_major == 4 && F.xen_minor < 19 )
        {
            errno = EACCES;
            return -1;
        }
        state = d->port[port].state;
        remote_domid = d->port[port].remote_domid;
        remote_port = d->port[port].remote_port;
    }
    else
    {
        state = F.dom0_port[port].state;
        remote_domid = F.dom0_port[port].remote_domid;
        remote_port = F.dom0_port[port].remote_port;
    }
    status->vcpu = 0;
    memset(&status->u, 0, sizeof(status->u));
    switch ( state )
    {
    case PORT_UNBOUND:
        status->status = EVTCHNSTAT_unbound;
        status->u.unbound.dom = (domid_t)remote_domid;
        break;
    case PORT_INTERDOMAIN:
        status->status = EVTCHNSTAT_interdomain;
        status->u.interdomain.dom = (domid_t)(d ? 0 : remote_domid);
        status->u.interdomain.port = remote_port;
        break;
    default:
        status->status = EVTCHNSTAT_closed;
        break;
    }
    return 0;
}

int fake_guest_channel(uint32_t domid, uint32_t *guest_port, uint32_t *dom0_port)
{
    struct fake_domain *d = find_domain(domid);
    int gp;

    ensure_init();
    if ( !d || domid == 0 )
    {
        errno = d ? EINVAL : ESRCH;
        return -1;
    }
    gp = guest_port_alloc(d);
    if ( gp < 0 )
    {
        errno = -gp;
        return -1;
    }
    if ( dom0_free_port(dom0_port) )
        return -1;
    *guest_port = (uint32_t)gp;
    /* evtchn_alloc_unbound by the toolstack, then the dom0 daemon binds it. */
    d->port[gp].state = PORT_INTERDOMAIN;
    d->port[gp].remote_domid = 0;
    d->port[gp].remote_port = *dom0_port;
    F.dom0_port[*dom0_port].state = PORT_INTERDOMAIN;
    F.dom0_port[*dom0_port].remote_domid = domid;
    F.dom0_port[*dom0_port].remote_port = *guest_port;
    return 0;
}

/* See fake-xen.h. */
static const struct {
    const char *fn;
    int errs[6];
} real_errnos[] = {
    { "xc_domain_getinfolist",     { EPERM, EFAULT, ENOMEM } },
    { "xc_vm_event_get_version",   { EPERM, EACCES } },
    { "xc_monitor_enable",         { EBUSY, ENOMEM, EINVAL, EPERM, ENOSPC } },
    { "xc_monitor_cpuid",          { EPERM, EOPNOTSUPP, EINVAL } },
    { "xc_monitor_software_breakpoint", { EPERM, EOPNOTSUPP, EINVAL } },
    { "xc_monitor_resume",         { ENODEV, EPERM } },
    /* dm.c: dm_op, inject_event */
    { "xc_hvm_inject_trap",        { EBUSY, EINVAL, ESRCH, EPERM } },
    /*
     * xc_monitor_enable failing after Xen enabled the ring
     * (fake_fail_after_enable): xc_domain_decrease_reservation_exact's
     * EINVAL (the page was not removed), ENOMEM (its bounce buffer) or
     * ESRCH, or the final xc_domain_unpause's ESRCH or EPERM.
     */
    { "xc_monitor_enable:after",   { EINVAL, ENOMEM, ESRCH, EPERM } },
    { "xc_monitor_disable",        { EBUSY, EINVAL, EPERM } },
    { "xc_vcpu_getinfo",           { ESRCH, EINVAL, EPERM } },
    { "xc_domain_pause",           { EOVERFLOW, ESRCH, EPERM } },
    { "xc_domain_unpause",         { EINVAL, ESRCH, EPERM } },
    /* domctl.c: XEN_DOMCTL_set_access_required; ENOSYS without
     * CONFIG_MEM_ACCESS (not Debian's): "not supported here". */
    { "xc_domain_set_access_required", { EPERM, ESRCH, ENOSYS } },
    /* common/mem_access.c: mem_access_memop; EINVAL is also the answer
     * of a host without mem_access (SVM), ENODEV of a domain without a
     * ring, ENOMEM of a p2m that cannot split a superpage. */
    { "xc_get_mem_access",         { EINVAL, ENODEV, EPERM, ESRCH } },
    { "xc_set_mem_access",         { EINVAL, ENODEV, EPERM, ESRCH, ENOMEM } },
    { "xc_domain_maximum_gpfn",    { ESRCH, EPERM } },
    /* x86/domctl.c: XEN_DOMCTL_debug_op, hvm.c: hvm_debug_op; EOPNOTSUPP
     * on SVM. */
    { "xc_domain_debug_control",   { EOPNOTSUPP, EINVAL, ESRCH, EPERM } },
    /* hvm.c: do_altp2m_op; EOPNOTSUPP on SVM, EINVAL for altp2m mode
     * disabled. */
    { "xc_altp2m_get_domain_state", { EOPNOTSUPP, EINVAL, ESRCH, EPERM } },
    { "xenevtchn_bind_interdomain", { EINVAL, ENOMEM, EBUSY, ENOSPC } },
    { "xenevtchn_unbind",          { EINVAL, ENOTCONN } },
    { "xenevtchn_notify",          { EINVAL, ENOTCONN } },
    { "xenevtchn_pending",         { EIO } },
    { "xenevtchn_unmask",          { EINVAL } },
    { "xs_write",                  { EACCES, EIO, ENOSPC, EAGAIN, E2BIG } },
    { "xs_read",                   { EACCES, EIO } },
    { "xs_rm",                     { EACCES, EIO, EAGAIN } },
    { "xs_directory",              { EACCES, EIO } },
    /* EINVAL (no such port) and EACCES (Xen's port) are answers by design. */
    { "xc_evtchn_status",          { ESRCH, EPERM } },
};

const int *fake_real_errnos(const char *fn)
{
    unsigned int i;

    for ( i = 0; i < sizeof(real_errnos) / sizeof(real_errnos[0]); i++ )
        if ( !strcmp(real_errnos[i].fn, fn) )
            return real_errnos[i].errs;
    return NULL;
}
