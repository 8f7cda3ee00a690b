/*
 * rescue.c: bringing back a guest whose agent died, one function per step.
 *
 * The procedure was seen working on Xen 4.17.7, twice in a row on one
 * guest, after `xen-access DOMID cpuid` was killed with SIGKILL
 * (XEN-FACTS.md): the dead ring's page cannot be mapped again (its gfn
 * left the physmap), so the waiting vCPUs are answered through a fresh
 * ring.  xen/common/vm_event.c vm_event_resume skips a response for a vCPU
 * that is not waiting, so answering every vCPU is harmless.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "private.h"

#define RESCUE_BATCH     8      /* slots in a one-page ring */
#define WATCH_MS         2000
#define WATCH_POLL_US    20000
#define SLEEPERS_WINDOW_MS 500   /* a runnable vCPU runs well within it */

struct rescue_ctx {
    vmeventctl_handle *h;
    uint32_t domid;
    struct vmeventctl_rescue_report *rep;
    unsigned int nr_vcpus;
    int paused;               /* our pause reference is held */
    unsigned int leaked;      /* references a dead owner may have left */
    int record_ours;
    char *orig_record;        /* the dead owner's record, to put back */
    uint64_t paused_at_ns;
};

static void fail(struct rescue_ctx *c, enum vmeventctl_rescue_step step, int err)
{
    if ( c->rep->failed_step == VMEVENTCTL_RESCUE_STEP_NONE )
    {
        c->rep->failed_step = step;
        c->rep->error = err;
    }
}

/*
 * Who owns the ring?  Only a dead owner's ring may be taken without force.
 * info: the domain as we found it, before any pause of ours.
 */
static int step_check_owner(struct rescue_ctx *c, unsigned int flags,
                            const xc_domaininfo_t *info)
{
    struct vmeventctl_owner o;

    /*
     * The record's text is kept: a rescue that fails before it changes
     * anything puts it back, so the next run still sees a dead owner
     * rather than an unknown one.
     */
    if ( vmeventctl__owner_read(c->h, c->domid, &o, &c->orig_record) )
    {
        if ( errno != EBADMSG )
            return -1;
        o.state = VMEVENTCTL_OWNER_DEAD; /* a record nobody alive wrote */
        o.pauses = 0;
    }
    if ( o.state == VMEVENTCTL_OWNER_LIVE )
    {
        errno = EBUSY;
        LOGE(c->h, c->domid, "rescue",
             "the ring's owner, pid %d (%s), is alive: ask it to stop (SIGTERM) instead",
             (int)o.pid, o.comm);
        return -1;
    }
    if ( o.state == VMEVENTCTL_OWNER_NONE && !(flags & VMEVENTCTL_RESCUE_FORCE) )
    {
        errno = EPERM;
        LOGE(c->h, c->domid, "rescue",
             "no ownership record: the ring may belong to a live agent of another tool; force is needed");
        return -1;
    }
    /* Forced: still not under a notify of a process bound to the ring. */
    if ( o.state == VMEVENTCTL_OWNER_NONE && !(flags & VMEVENTCTL_RESCUE_RISK_LIVE_AGENT) &&
         vmeventctl__refuse_live_agent(c->h, c->domid, "rescue") )
        return -1;
    if ( o.state == VMEVENTCTL_OWNER_DEAD )
    {
        c->leaked = vmeventctl__owner_pauses_left(&o, info);
        LOG(c->h, XTL_INFO, -1, c->domid, "rescue", "the ring's owner, pid %d (%s), is dead%s",
            (int)o.pid, o.comm,
            c->leaked ? " and may have left the domain paused" : "");
    }
    return 0;
}

/*
 * With more vCPUs than the ring's 8 slots, vCPUs that want a slot on the
 * dead ring sleep on its wait queue, and Xen refuses to disable a ring
 * with sleepers.  Nothing from dom0 can wake them: only consuming answers
 * written on the dead page or freeing a slot does, and nobody can map the
 * page any more.  Find that out before anything is changed: answers the
 * dead agent published are taken first (the probe, as status does), so
 * that the sleepers they wake run and take their slots; then, if more vCPUs
 * stay stuck than the ring has slots, some sleep on the queue.  Sampled
 * before our pause, which would make every vCPU look stuck.
 */
static int step_check_sleepers(struct rescue_ctx *c)
{
    int stuck;

    if ( c->nr_vcpus <= VMEVENTCTL__RING_SLOTS )
        return 0;
    if ( xc_monitor_resume(c->h->xch, c->domid) )
    {
        /* No ring, no wait queue: vCPUs left waiting by an unsafe
         * disable are answered in batches of 8 like any others. */
        if ( errno == ENODEV )
            return 0;
        LOGE(c->h, c->domid, "rescue: check", "xc_monitor_resume failed");
        return -1;
    }
    stuck = vmeventctl__vcpus_stuck(c->h, c->domid, c->nr_vcpus, SLEEPERS_WINDOW_MS,
                                    "rescue: check");
    if ( stuck < 0 )
        return -1;
    c->rep->vcpus_stuck_before = (unsigned int)stuck;
    if ( (unsigned int)stuck > VMEVENTCTL__RING_SLOTS )
    {
        errno = EBUSY;
        LOGE(c->h, c->domid, "rescue: check",
             "%d of %u vCPUs are stuck, more than the ring's %u slots: vCPUs sleep on the full ring of an agent that cannot answer, and Xen refuses to disable a ring with sleepers; only a hypervisor change or destroying the guest frees them; nothing was changed (or the domain is paused: unpause it and try again)",
             stuck, c->nr_vcpus, VMEVENTCTL__RING_SLOTS);
        return -1;
    }
    return 0;
}

static int restore_or_remove_record(struct rescue_ctx *c);

/*
 * Step 1.  The record first: from the moment it is written, a SIGKILL
 * leaves a successor able to release what we hold: our reference, libxc's
 * inside the fresh ring's xc_monitor_enable, and what the dead owner left
 * and we have not yet released.
 */
static int step_pause(struct rescue_ctx *c)
{
    unsigned int may_hold = 2 + c->leaked;

    if ( may_hold > VMEVENTCTL_OWNER_MAX_PAUSES )
        may_hold = VMEVENTCTL_OWNER_MAX_PAUSES;
    if ( vmeventctl__owner_write(c->h, c->domid, may_hold) == 0 )
        c->record_ours = 1;
    else
        fail(c, VMEVENTCTL_RESCUE_STEP_PAUSE, errno);

    if ( xc_domain_pause(c->h->xch, c->domid) )
    {
        int saved = errno;

        LOGE(c->h, c->domid, "rescue: pause", "xc_domain_pause failed; nothing was changed");
        fail(c, VMEVENTCTL_RESCUE_STEP_PAUSE, saved);
        if ( c->record_ours && restore_or_remove_record(c) )
            LOGE(c->h, c->domid, "rescue: pause", "cannot put the ownership record back");
        errno = saved;
        return -1;
    }
    c->paused = 1;
    c->paused_at_ns = vmeventctl__now_ns();
    return 0;
}

/* Step 2: 1 a ring exists, 0 none, -1 error. */
static int step_probe(struct rescue_ctx *c)
{
    if ( xc_monitor_resume(c->h->xch, c->domid) == 0 )
        return 1;
    if ( errno == ENODEV )
        return 0;
    LOGE(c->h, c->domid, "rescue: probe", "xc_monitor_resume failed");
    fail(c, VMEVENTCTL_RESCUE_STEP_PROBE, errno);
    return -1;
}

/* Step 3. */
static int step_disable_dead(struct rescue_ctx *c)
{
    if ( xc_monitor_disable(c->h->xch, c->domid) )
    {
        if ( errno == EBUSY )
            LOGE(c->h, c->domid, "rescue: disable dead ring",
                 "Xen refused: vCPUs sleep on the ring's wait queue; nothing more is touched");
        else
            LOGE(c->h, c->domid, "rescue: disable dead ring", "xc_monitor_disable failed");
        fail(c, VMEVENTCTL_RESCUE_STEP_DISABLE_DEAD, errno);
        return -1;
    }
    c->rep->dead_ring_disabled = 1;
    c->rep->guest_changed = 1;
    return 0;
}

/*
 * Step 4: a fresh ring, one answer per vCPU, 8 per batch.  Our pause, held
 * since step 1, keeps requests off a ring that libxc enabled and then
 * failed on: vmeventctl__monitor_enable finds it and disables it again.
 */
static void *step_enable_fresh(struct rescue_ctx *c)
{
    uint32_t port;
    int ring_left;
    void *page = vmeventctl__monitor_enable(c->h, c->domid, "rescue: enable fresh ring",
                                            &port, &ring_left);

    if ( !page )
    {
        LOGE(c->h, c->domid, "rescue: enable fresh ring",
             "xc_monitor_enable failed; waiting vCPUs stay frozen until a rescue with no-ring succeeds");
        fail(c, VMEVENTCTL_RESCUE_STEP_ENABLE_FRESH, errno);
        if ( ring_left )
            c->rep->guest_changed = 1;
        return NULL;
    }
    c->rep->guest_changed = 1;
    return page;
}

static int step_answer(struct rescue_ctx *c, void *page)
{
    vm_event_back_ring_t back;
    unsigned int v;

    SHARED_RING_INIT((vm_event_sring_t *)page);
    BACK_RING_INIT(&back, (vm_event_sring_t *)page, XC_PAGE_SIZE);

    for ( v = 0; v < c->nr_vcpus; v++ )
    {
        vm_event_response_t *rsp = RING_GET_RESPONSE(&back, back.rsp_prod_pvt);

        memset(rsp, 0, sizeof(*rsp));
        /* The only answer Xen's vm_event_resume unpauses a vCPU for. */
        rsp->version = VM_EVENT_INTERFACE_VERSION;
        rsp->vcpu_id = v;
        rsp->flags = VM_EVENT_FLAG_VCPU_PAUSED;
        back.rsp_prod_pvt++;
        c->rep->vcpus_answered++;

        if ( (v + 1) % RESCUE_BATCH && v + 1 < c->nr_vcpus )
            continue;
        RING_PUSH_RESPONSES(&back);
        if ( xc_monitor_resume(c->h->xch, c->domid) )
        {
            LOGE(c->h, c->domid, "rescue: answer", "xc_monitor_resume after %u answers failed",
                 c->rep->vcpus_answered);
            fail(c, VMEVENTCTL_RESCUE_STEP_ANSWER, errno);
            return -1;
        }
        c->rep->batches++;
    }
    return 0;
}

/*
 * Step 5: what the dead agent left that the monitor disable does not
 * clear (leftovers.c).  ring: the fresh ring is enabled (mem_access needs
 * one).  A failed reset is reported but stops nothing.
 */
static void step_reset_leftovers(struct rescue_ctx *c, int ring)
{
    if ( vmeventctl__reset_leftovers(c->h, c->domid, c->nr_vcpus, ring, c->rep) )
        fail(c, VMEVENTCTL_RESCUE_STEP_RESET_LEFTOVERS, errno);
}

/* Step 6: answers without requests upset the slot count: disable now. */
static void step_disable_fresh(struct rescue_ctx *c, void *page)
{
    munmap(page, XC_PAGE_SIZE);
    if ( xc_monitor_disable(c->h->xch, c->domid) )
    {
        LOGE(c->h, c->domid, "rescue: disable fresh ring",
             "xc_monitor_disable failed; the fresh ring is left enabled");
        fail(c, VMEVENTCTL_RESCUE_STEP_DISABLE_FRESH, errno);
        return;
    }
    c->rep->fresh_ring_disabled = 1;
}

/*
 * Releases one reference.  Returns 0, 1 when Xen says no controller pause
 * is left (EINVAL, domain_unpause_by_systemcontroller) and that is
 * acceptable (maybe_held: a dead owner's reference it may never have
 * taken), -1 on failure.
 */
static int release_one(struct rescue_ctx *c, const char *what, int maybe_held)
{
    unsigned int attempt;

    for ( attempt = 0; attempt < 3; attempt++ )
    {
        if ( xc_domain_unpause(c->h->xch, c->domid) == 0 )
            return 0;
        if ( maybe_held && errno == EINVAL )
            return 1;
        LOGE(c->h, c->domid, "rescue: unpause", "xc_domain_unpause (%s) failed, attempt %u of 3",
             what, attempt + 1);
        fail(c, VMEVENTCTL_RESCUE_STEP_UNPAUSE, errno);
    }
    /* A reference may still be held: the guest is not as we found it. */
    c->rep->guest_changed = 1;
    LOG(c->h, XTL_CRITICAL, -1, c->domid, "rescue: unpause",
        "the domain may be left paused by %s: run 'xl unpause %u'", what, c->domid);
    return -1;
}

/*
 * A rescue that changed nothing puts the dead owner's record back as it
 * was; otherwise the ring the record named is gone, and so is the record.
 */
static int restore_or_remove_record(struct rescue_ctx *c)
{
    if ( c->rep->guest_changed || !c->orig_record )
        return vmeventctl__owner_remove(c->h, c->domid);
    return vmeventctl__owner_restore(c->h, c->domid, c->orig_record);
}

/*
 * Step 7: our reference, then what the dead owner left, then the record:
 * killed before the record goes, a successor finds the domain no longer
 * controller-paused (or paused by fewer) and releases nothing it lacks.
 */
static void step_unpause(struct rescue_ctx *c)
{
    unsigned int attempt, i;

    if ( c->paused )
    {
        release_one(c, "our pause reference", 0);
        c->rep->paused_ns = vmeventctl__now_ns() - c->paused_at_ns;
        c->paused = 0;
    }
    for ( i = 0; i < c->leaked; i++ )
    {
        int rc;

        LOG(c->h, XTL_INFO, -1, c->domid, "rescue: unpause",
            "releasing a pause reference the dead owner may have left (%u of at most %u)",
            i + 1, c->leaked);
        rc = release_one(c, "the dead owner's pause reference", 1);
        if ( rc == 0 )
            c->rep->guest_changed = 1; /* one pause fewer than we found */
        else
        {
            if ( rc > 0 )
                LOG(c->h, XTL_INFO, -1, c->domid, "rescue: unpause",
                    "no controller pause left: the dead owner held %u", i);
            break;
        }
    }
    if ( c->record_ours || c->leaked )
    {
        for ( attempt = 0; attempt < 3; attempt++ )
        {
            if ( restore_or_remove_record(c) == 0 )
                break;
            fail(c, VMEVENTCTL_RESCUE_STEP_UNPAUSE, errno);
        }
    }
}

/* Step 8: has every online vCPU run since? */
static void step_watch(struct rescue_ctx *c)
{
    uint64_t end = vmeventctl__now_ns() + WATCH_MS * 1000000ull;
    uint64_t *snap = calloc(c->nr_vcpus, sizeof(*snap));
    unsigned int v, stuck;

    if ( !snap )
        return;
    for ( v = 0; v < c->nr_vcpus; v++ )
        snap[v] = UINT64_MAX;
    for ( ;; )
    {
        stuck = 0;
        for ( v = 0; v < c->nr_vcpus; v++ )
        {
            xc_vcpuinfo_t vi;

            if ( snap[v] == UINT64_MAX - 1 )
                continue; /* seen running */
            if ( xc_vcpu_getinfo(c->h->xch, c->domid, v, &vi) )
            {
                LOGE(c->h, c->domid, "rescue: watch", "cannot read vCPU %u's state", v);
                fail(c, VMEVENTCTL_RESCUE_STEP_WATCH, errno);
                stuck++;
                continue;
            }
            if ( !vi.online || vi.running || vi.blocked ||
                 (snap[v] != UINT64_MAX && vi.cpu_time > snap[v]) )
            {
                snap[v] = UINT64_MAX - 1;
                continue;
            }
            if ( snap[v] == UINT64_MAX )
                snap[v] = vi.cpu_time;
            stuck++;
        }
        if ( !stuck || vmeventctl__now_ns() >= end )
            break;
        {
            struct timespec ts = { 0, WATCH_POLL_US * 1000L };

            nanosleep(&ts, NULL);
        }
    }
    free(snap);
    c->rep->vcpus_stuck = stuck;
    if ( stuck )
        LOGW(c->h, c->domid, "rescue: watch", "%u vCPU(s) not seen running %u ms after the rescue",
             stuck, WATCH_MS);
}

VMEVENTCTL_EXPORT
int vmeventctl_rescue(vmeventctl_handle *h, uint32_t domid, unsigned int flags,
                      struct vmeventctl_rescue_report *rep)
{
    struct vmeventctl_rescue_report local;
    struct rescue_ctx c;
    xc_domaininfo_t info;
    uint64_t start = vmeventctl__now_ns();
    void *page;
    int ring;

    if ( !rep )
        rep = &local;
    memset(rep, 0, sizeof(*rep));
    memset(&c, 0, sizeof(c));
    c.h = h;
    c.domid = domid;
    c.rep = rep;

    if ( flags & ~(VMEVENTCTL_RESCUE_FORCE | VMEVENTCTL_RESCUE_NO_RING |
                   VMEVENTCTL_RESCUE_RISK_LIVE_AGENT) )
    {
        errno = EINVAL;
        LOGE(h, domid, "rescue", "unknown flags %#x", flags);
        fail(&c, VMEVENTCTL_RESCUE_STEP_CHECK, errno);
        return -1;
    }
    if ( vmeventctl__check_target(h, domid, "rescue", &info) ||
         vmeventctl__check_interface(h, domid, "rescue") ||
         step_check_owner(&c, flags, &info) )
    {
        fail(&c, VMEVENTCTL_RESCUE_STEP_CHECK, errno);
        free(c.orig_record);
        errno = rep->error;
        return -1;
    }
    c.nr_vcpus = info.max_vcpu_id + 1;

    if ( step_check_sleepers(&c) )
    {
        fail(&c, VMEVENTCTL_RESCUE_STEP_CHECK, errno);
        free(c.orig_record);
        errno = rep->error;
        return -1;
    }

    if ( step_pause(&c) )
    {
        free(c.orig_record);
        goto out;
    }

    ring = step_probe(&c);
    if ( ring < 0 )
        goto release;
    rep->dead_ring_found = ring;
    if ( !ring && !(flags & VMEVENTCTL_RESCUE_NO_RING) )
    {
        LOGE(h, domid, "rescue: probe", "no ring to rescue");
        fail(&c, VMEVENTCTL_RESCUE_STEP_PROBE, ENODEV);
        goto release;
    }
    if ( ring && step_disable_dead(&c) )
        goto release;

    page = step_enable_fresh(&c);
    if ( !page )
    {
        /* No ring is left either way: access_required must not stay set. */
        step_reset_leftovers(&c, 0);
        goto release;
    }
    step_answer(&c, page);
    step_reset_leftovers(&c, 1);
    step_disable_fresh(&c, page);

 release:
    step_unpause(&c);
    /* Whenever answers went out, see whether they took. */
    if ( rep->vcpus_answered )
        step_watch(&c);
    free(c.orig_record);
 out:
    rep->total_ns = vmeventctl__now_ns() - start;
    LOG(h, rep->failed_step ? XTL_ERROR : XTL_INFO, -1, domid, "rescue",
        "%s: dead ring %s, %u vCPU(s) answered in %u batch(es), paused %llu us, %u vCPU(s) stuck after",
        rep->failed_step ? "failed" : "done",
        rep->dead_ring_disabled ? "disabled" : rep->dead_ring_found ? "left" : "absent",
        rep->vcpus_answered, rep->batches, (unsigned long long)(rep->paused_ns / 1000),
        rep->vcpus_stuck);
    if ( rep->failed_step != VMEVENTCTL_RESCUE_STEP_NONE )
    {
        errno = rep->error;
        return -1;
    }
    return 0;
}

VMEVENTCTL_EXPORT
const char *vmeventctl_rescue_step_name(enum vmeventctl_rescue_step step)
{
    switch ( step )
    {
    case VMEVENTCTL_RESCUE_STEP_NONE:          return "none";
    case VMEVENTCTL_RESCUE_STEP_CHECK:         return "check";
    case VMEVENTCTL_RESCUE_STEP_PAUSE:         return "pause";
    case VMEVENTCTL_RESCUE_STEP_PROBE:         return "probe";
    case VMEVENTCTL_RESCUE_STEP_DISABLE_DEAD:  return "disable dead ring";
    case VMEVENTCTL_RESCUE_STEP_ENABLE_FRESH:  return "enable fresh ring";
    case VMEVENTCTL_RESCUE_STEP_ANSWER:        return "answer";
    case VMEVENTCTL_RESCUE_STEP_DISABLE_FRESH: return "disable fresh ring";
    case VMEVENTCTL_RESCUE_STEP_UNPAUSE:       return "unpause";
    case VMEVENTCTL_RESCUE_STEP_WATCH:         return "watch";
    case VMEVENTCTL_RESCUE_STEP_RESET_LEFTOVERS: return "reset leftovers";
    }
    return "unknown";
}

VMEVENTCTL_EXPORT
const char *vmeventctl_leftover_name(enum vmeventctl_leftover state)
{
    switch ( state )
    {
    case VMEVENTCTL_LEFTOVER_NOT_TRIED:   return "not tried";
    case VMEVENTCTL_LEFTOVER_RESET:       return "reset";
    case VMEVENTCTL_LEFTOVER_NOTHING:     return "nothing to reset";
    case VMEVENTCTL_LEFTOVER_UNSUPPORTED: return "not supported here";
    case VMEVENTCTL_LEFTOVER_FAILED:      return "failed";
    case VMEVENTCTL_LEFTOVER_KEPT:        return "kept";
    }
    return "unknown";
}
