/*
 * drain.c: the safe disable of a ring, one function per step.
 *
 * Why the steps, in this order (xen/common/vm_event.c, Xen 4.17):
 *  - vm_event_disable does not unpause vCPUs paused waiting for a reply
 *    (it only releases those paused because the ring was full), so every
 *    request must be answered before the disable, or its vCPU stays frozen
 *    until the domain is destroyed.
 *  - A reply's effects (registers, emulation, deferred CR/MSR writes) are
 *    applied when the vCPU next runs, and the disable frees that per-vCPU
 *    state: so answer, let the vCPUs run, and only then pause and disable.
 *  - evtchn_send calls the Xen consumer's callback without the channel lock
 *    since 4.15, so a notify racing the disable can run vm_event_resume on a
 *    ring being torn down: unbind our port first and kick Xen with
 *    xc_monitor_resume, which the domctl lock serialises with the disable.
 *  - xc_domain_pause is reference counted: release exactly what we took.
 *  - With more vCPUs than the ring has slots (8), vCPUs sleep on the ring's
 *    wait queue.  vm_event_disable checks only that the queue's list is
 *    empty, but a sleeper Xen has woken (by consuming an answer) is off the
 *    list before it runs, and when it runs it goes back onto the queue of
 *    the ring the disable freed (docs/xen-behaviour.md, "woken waiters").
 *    So every vCPU, not only those we answered, must be seen to run after
 *    the last answer Xen consumed, and a disable never follows answers
 *    consumed under the pause.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "private.h"

#define SETTLE_DEFAULT_MS     2000u
#define SETTLE_RETRY_MIN_MS   100u   /* each retry gets at least this */
#define SETTLE_QUIET_ROUNDS   2      /* empty, all-run checks in a row */
#define SETTLE_POLL_MS        1
#define FINAL_DRAIN_RETRIES   3      /* rounds allowed past the deadline */
#define FINAL_DRAIN_MAX_ROUNDS 64     /* each answers at least one request */
#define STOPPED_POLL_NS       1000000ull
#define RELEASE_ATTEMPTS      3      /* unpause / record removal */

struct disable_ctx {
    vmeventctl_ring *r;
    vmeventctl_handle *h;
    struct vmeventctl_disable_report *rep;
    uint64_t start_ns;
    uint64_t deadline_ns;
    int corrupt;               /* the ring's indices cannot be trusted */
    unsigned int pause_refs;   /* pause references we hold right now */
    int marked;                /* our record says "paused 1" */
    uint64_t paused_at_ns;
};

static void note_failure(struct disable_ctx *c, enum vmeventctl_disable_step step,
                         int err)
{
    if ( c->rep->failed_step == VMEVENTCTL_STEP_NONE )
    {
        c->rep->failed_step = step;
        c->rep->error = err;
    }
}

/* Step 1: turn off exactly the event sources this ring turned on. */
static void step_stop_events(struct disable_ctx *c)
{
    vmeventctl_ring *r = c->r;
    unsigned int ev;

    for ( ev = 1; ev && ev <= r->events; ev <<= 1 )
    {
        if ( !(r->events & ev) )
            continue;
        if ( vmeventctl__monitor_set(c->h, r->domid, ev, 0) == 0 ||
             errno == EEXIST ) /* Xen: already off */
        {
            r->events &= ~ev;
            continue;
        }
        /*
         * Not fatal to the protocol: the disable resets Xen's monitor
         * settings, and the pause below stops new requests meanwhile.
         */
        LOGE(c->h, r->domid, "stop events", "cannot turn %s events off",
             vmeventctl__event_name(ev));
        note_failure(c, VMEVENTCTL_STEP_STOP_EVENTS, errno);
    }
}

/*
 * Every vCPU must be seen to run again: after answers Xen consumed, any of
 * them may be a vCPU we answered or a wait-queue sleeper Xen woke, and
 * neither may meet the disable before it ran.  Snapshots are taken after
 * the consumption (the notify runs Xen's consumer before it returns).
 */
static void track_all(vmeventctl_ring *r)
{
    unsigned int i;

    for ( i = 0; i < r->nr_vcpus; i++ )
    {
        r->vcpus[i].answered = 1;
        r->vcpus[i].have_snap = 0;
    }
}

/*
 * Has every tracked vCPU run since the last answers?  A vCPU waiting for a
 * reply, or asleep on the ring's wait queue, reads online=1 blocked=0
 * running=0 with cpu_time still (seen on Xen 4.17); one that is running,
 * blocked in the guest's idle loop, or whose cpu_time moved since we first
 * looked has run.
 */
static int vcpus_settled(struct disable_ctx *c)
{
    vmeventctl_ring *r = c->r;
    unsigned int i;
    int all = 1;

    for ( i = 0; i < r->nr_vcpus; i++ )
    {
        struct vcpu_track *t = &r->vcpus[i];
        xc_vcpuinfo_t vi;

        if ( !t->answered )
            continue;
        if ( xc_vcpu_getinfo(c->h->xch, r->domid, i, &vi) )
        {
            LOGE(c->h, r->domid, "settle", "cannot read vCPU %u's state", i);
            note_failure(c, VMEVENTCTL_STEP_SETTLE, errno);
            all = 0;
            continue;
        }
        if ( !vmeventctl__vcpu_may_wait(&vi) ||
             (t->have_snap && vi.cpu_time > t->snap_ns) )
        {
            t->answered = 0;
            continue;
        }
        if ( !t->have_snap )
        {
            t->have_snap = 1;
            t->snap_ns = vi.cpu_time;
        }
        all = 0;
    }
    return all;
}

static unsigned int vcpus_unsettled(const vmeventctl_ring *r)
{
    unsigned int i, n = 0;

    for ( i = 0; i < r->nr_vcpus; i++ )
        n += r->vcpus[i].answered;
    return n;
}

/*
 * Answers what is on the ring.  Returns the number answered, or -1 when
 * the ring cannot be read (corrupt indices) or Xen cannot be notified.
 */
static int answer_pending(struct disable_ctx *c, enum vmeventctl_disable_step step)
{
    /* First what the agent read and left unanswered, then what is new. */
    int old = vmeventctl__ring_answer_outstanding(c->r);
    int n = vmeventctl_ring_answer_all(c->r, NULL, NULL);
    /*
     * Answers written before a failure count too: published now, or by
     * the next notify, their vCPUs may run, and the settle must see them.
     */
    unsigned int done = (unsigned int)old +
                        (n >= 0 ? (unsigned int)n : c->r->batch_answered);

    c->rep->answered += done;
    if ( done )
        track_all(c->r);
    if ( n < 0 )
    {
        if ( errno == EIO )
            c->corrupt = 1;
        note_failure(c, step, errno);
        return -1;
    }
    return (int)done;
}

/*
 * Step 2: answer until the ring stays empty and every vCPU has run since
 * the last answers.  A stop request does not shorten it: letting the
 * answered vCPUs run is a safety step, and only the deadline ends it.
 * Returns 1 when settled, 0 at the deadline, -1 when the ring cannot be
 * read.
 */
static int step_settle(struct disable_ctx *c, uint64_t deadline_ns)
{
    int quiet = 0;

    for ( ;; )
    {
        int n = answer_pending(c, VMEVENTCTL_STEP_SETTLE);

        if ( c->corrupt )
            return -1;
        if ( n == 0 && vcpus_settled(c) )
        {
            if ( ++quiet >= SETTLE_QUIET_ROUNDS )
                return 1;
        }
        else
            quiet = 0;

        if ( vmeventctl__now_ns() >= deadline_ns )
        {
            LOGW(c->h, c->r->domid, "settle", "timed out with %u vCPU(s) not seen running since the last answers",
                 vcpus_unsettled(c->r));
            return 0;
        }
        if ( c->h->stop )
        {
            /* The wait returns at once once a stop is requested. */
            struct timespec ts = { 0, STOPPED_POLL_NS };

            nanosleep(&ts, NULL);
            continue;
        }
        if ( vmeventctl_ring_wait(c->r, SETTLE_POLL_MS) < 0 &&
             errno != ECANCELED )
        {
            if ( errno == EIO )
                c->corrupt = 1;
            note_failure(c, VMEVENTCTL_STEP_SETTLE, errno);
            if ( c->corrupt )
                return -1;
        }
    }
}

/*
 * Step 3: one pause reference, so no vCPU can put a request behind us.
 * The record says so first (owner.c): killed while we hold it, a rescue
 * releases it.  Written once, before the first pause, so that no xenstore
 * round trip (about 1.5 ms under QEMU) lies inside the pause window.
 */
static int step_pause(struct disable_ctx *c)
{
    if ( !c->marked )
    {
        if ( vmeventctl__owner_write(c->h, c->r->domid, 1) == 0 )
            c->marked = 1;
        else
        {
            /* Go on (the guest is better off disabled), but say so. */
            LOGE(c->h, c->r->domid, "pause",
                 "cannot mark the ownership record: killed while paused, a rescue would not know");
            note_failure(c, VMEVENTCTL_STEP_PAUSE, errno);
        }
    }
    if ( xc_domain_pause(c->h->xch, c->r->domid) )
    {
        LOGE(c->h, c->r->domid, "pause",
             "xc_domain_pause failed: the ring is left enabled rather than disabled with the guest running (a request put after the final drain would freeze its vCPU)");
        note_failure(c, VMEVENTCTL_STEP_PAUSE, errno);
        return -1;
    }
    c->pause_refs++;
    c->paused_at_ns = vmeventctl__now_ns();
    return 0;
}

/* Releases every pause reference we hold, and only those. */
static int release_pause(struct disable_ctx *c)
{
    int rc = 0;

    while ( c->pause_refs )
    {
        unsigned int attempt;

        for ( attempt = 0; attempt < RELEASE_ATTEMPTS; attempt++ )
        {
            if ( xc_domain_unpause(c->h->xch, c->r->domid) == 0 )
                break;
            LOGE(c->h, c->r->domid, "unpause", "xc_domain_unpause failed (attempt %u of %u)",
                 attempt + 1, RELEASE_ATTEMPTS);
            note_failure(c, VMEVENTCTL_STEP_UNPAUSE, errno);
            rc = -1;
            /*
             * Retrying is safe: if Xen's count is already zero (EINVAL,
             * domain_unpause_by_systemcontroller), a retry changes nothing.
             */
        }
        if ( attempt == RELEASE_ATTEMPTS )
        {
            LOG(c->h, XTL_CRITICAL, -1, c->r->domid, "unpause",
                "the domain is left paused by %u reference(s) of ours: run 'xl unpause %u'",
                c->pause_refs, c->r->domid);
            break;
        }
        c->pause_refs--;
        if ( !c->pause_refs )
            c->rep->paused_ns += vmeventctl__now_ns() - c->paused_at_ns;
    }
    return rc;
}

/*
 * Step 4: with the domain paused, answer what is left and make Xen
 * consume every response with xc_monitor_resume.  Returns the number of
 * requests answered (0: the ring is empty for good), or -1.
 */
static int step_final_drain(struct disable_ctx *c)
{
    int n = answer_pending(c, VMEVENTCTL_STEP_FINAL_DRAIN);

    if ( xc_monitor_resume(c->h->xch, c->r->domid) )
    {
        LOGE(c->h, c->r->domid, "final drain", "xc_monitor_resume failed");
        note_failure(c, VMEVENTCTL_STEP_FINAL_DRAIN, errno);
    }
    return n;
}

/* Step 5: no notify of ours may race the disable (see the top). */
static void step_unbind(struct disable_ctx *c)
{
    if ( vmeventctl__ring_unbind(c->r) )
        note_failure(c, VMEVENTCTL_STEP_UNBIND, errno);
}

/*
 * Step 6: disable, still paused.  Our mapping of the ring page outlives it
 * until step_unmap: Xen drops only its own reference
 * (destroy_ring_for_helper), and the page left the guest's physmap when
 * libxc enabled the ring (XSA-99), so no vCPU can reach it either way.
 */
static void step_disable(struct disable_ctx *c)
{
    vmeventctl_ring *r = c->r;

    if ( xc_monitor_disable(c->h->xch, r->domid) )
    {
        if ( errno == EBUSY )
            LOGE(c->h, r->domid, "disable",
                 "Xen refused: guest vCPUs sleep on the ring's wait queue (more vCPUs than slots); the ring is left enabled");
        else
            LOGE(c->h, r->domid, "disable", "xc_monitor_disable failed; the ring is left enabled");
        note_failure(c, VMEVENTCTL_STEP_DISABLE, errno);
        return;
    }
    c->rep->ring_disabled = 1;
}

/*
 * After the release: munmap is dom0's own business and needs no pause;
 * inside the window it was its largest part (bench/README.md).
 */
static void step_unmap(struct disable_ctx *c)
{
    munmap(c->r->page, XC_PAGE_SIZE);
    c->r->page = NULL;
}

static void remove_record(struct disable_ctx *c)
{
    unsigned int attempt;

    /* Xenstore can fail transiently (EAGAIN); a record left would name us
     * as a dead owner.  Every failure is reported, even if a retry works. */
    for ( attempt = 0; attempt < RELEASE_ATTEMPTS; attempt++ )
    {
        if ( vmeventctl__owner_remove(c->h, c->r->domid) == 0 )
            return;
        note_failure(c, VMEVENTCTL_STEP_DISABLE, errno);
    }
}

/*
 * The ring outlives us: our record, unmarked, names its owner, so that once
 * this process has exited a rescue can take the ring down.  Without it
 * the ring would look like another tool's.
 */
static void keep_record(struct disable_ctx *c)
{
    if ( vmeventctl__owner_write(c->h, c->r->domid, 0) )
        note_failure(c, VMEVENTCTL_STEP_DISABLE, errno);
}

VMEVENTCTL_EXPORT
int vmeventctl_ring_disable(vmeventctl_ring *r, unsigned int timeout_ms,
                            struct vmeventctl_disable_report *rep)
{
    struct vmeventctl_disable_report local;
    struct disable_ctx c;
    unsigned int retry;
    int settled = 1;
    int hold = 1;              /* the disable may go ahead */
    unsigned int late = 0;     /* rounds begun past the deadline */

    if ( !rep )
        rep = &local;
    memset(rep, 0, sizeof(*rep));
    memset(&c, 0, sizeof(c));
    c.r = r;
    c.h = r->h;
    c.rep = rep;
    c.start_ns = vmeventctl__now_ns();
    c.deadline_ns = c.start_ns +
        (uint64_t)(timeout_ms ? timeout_ms : SETTLE_DEFAULT_MS) * 1000000ull;

    LOGD(c.h, r->domid, "disable", "safe disable starts");

    step_stop_events(&c);

    /* Whatever the agent answered last may not have run yet either. */
    track_all(r);
    step_settle(&c, c.deadline_ns);

    for ( retry = 0; ; retry++ )
    {
        int n;

        if ( step_pause(&c) )
        {
            /* Not held, requests could be put behind the final drain. */
            hold = 0;
            break;
        }
        if ( c.corrupt )
        {
            /* Nothing on the ring can be trusted; disable while paused. */
            settled = 0;
            break;
        }
        n = step_final_drain(&c);
        if ( n < 0 )
        {
            settled = 0;
            break;
        }
        if ( n == 0 )
            break;
        /*
         * Answers Xen consumed under the pause: the vCPUs they released,
         * and sleepers they woke, must run before any disable.  With the
         * event sources off every round answers what is left, so this ends;
         * past the deadline only a few more rounds are allowed.
         */
        rep->retries++;
        release_pause(&c);
        if ( retry >= FINAL_DRAIN_MAX_ROUNDS ||
             (vmeventctl__now_ns() >= c.deadline_ns && ++late > FINAL_DRAIN_RETRIES) )
        {
            LOGE(c.h, r->domid, "final drain",
                 "still answering after %u rounds: the ring is left enabled rather than disabled behind vCPUs that have not run",
                 rep->retries);
            note_failure(&c, VMEVENTCTL_STEP_FINAL_DRAIN, ETIMEDOUT);
            hold = 0;
            break;
        }
        {
            uint64_t min = vmeventctl__now_ns() + SETTLE_RETRY_MIN_MS * 1000000ull;

            step_settle(&c, c.deadline_ns > min ? c.deadline_ns : min);
        }
    }

    rep->unsettled = vcpus_unsettled(r);
    if ( rep->unsettled )
        settled = 0;
    /*
     * A vCPU not seen running since the last answers may be a sleeper Xen
     * woke: with more vCPUs than slots, disabling now could free the ring
     * under it.  With at most 8 there are no sleepers, only lost effects.
     */
    if ( hold && rep->unsettled && r->nr_vcpus > VMEVENTCTL__RING_SLOTS && !c.corrupt )
    {
        LOGE(c.h, r->domid, "settle",
             "%u of %u vCPUs not seen running since the last answers: with more vCPUs than the ring's %u slots one may be a woken wait-queue sleeper, so the ring is left enabled (no request is left unanswered; xen-vmevent-drain stop can take the ring down once this process has exited)",
             rep->unsettled, r->nr_vcpus, VMEVENTCTL__RING_SLOTS);
        note_failure(&c, VMEVENTCTL_STEP_SETTLE, ETIMEDOUT);
        hold = 0;
    }

    step_unbind(&c);
    if ( hold )
        step_disable(&c);
    /* Release before the record goes: see step_pause. */
    release_pause(&c);
    step_unmap(&c);
    if ( rep->ring_disabled )
        remove_record(&c);
    else
        keep_record(&c);

    rep->total_ns = vmeventctl__now_ns() - c.start_ns;
    if ( rep->failed_step != VMEVENTCTL_STEP_NONE )
        rep->outcome = VMEVENTCTL_DISABLE_FAILED;
    else if ( !settled )
        rep->outcome = VMEVENTCTL_DISABLE_UNSETTLED;
    else
        rep->outcome = VMEVENTCTL_DISABLE_CLEAN;

    if ( c.corrupt )
        LOGE(c.h, r->domid, "disable",
             "the ring was corrupt: vCPUs waiting on it may stay frozen; xen-vmevent-drain stop can rescue them");

    LOG(c.h, rep->outcome == VMEVENTCTL_DISABLE_FAILED ? XTL_ERROR : XTL_DETAIL, -1,
        r->domid, "disable",
        "%s: answered %u, retries %u, unsettled %u, paused %llu ns, total %llu ns%s",
        vmeventctl_disable_outcome_name(rep->outcome), rep->answered,
        rep->retries, rep->unsettled, (unsigned long long)rep->paused_ns,
        (unsigned long long)rep->total_ns,
        rep->ring_disabled ? "" : ", ring still enabled");

    vmeventctl__ring_free(r);

    if ( rep->outcome == VMEVENTCTL_DISABLE_FAILED )
    {
        errno = rep->error ? rep->error : EIO;
        return -1;
    }
    if ( rep->outcome == VMEVENTCTL_DISABLE_UNSETTLED )
    {
        /* A caller that checks only the return value must not miss it. */
        errno = ETIMEDOUT;
        return -1;
    }
    return 0;
}

VMEVENTCTL_EXPORT
const char *vmeventctl_disable_step_name(enum vmeventctl_disable_step step)
{
    switch ( step )
    {
    case VMEVENTCTL_STEP_NONE:         return "none";
    case VMEVENTCTL_STEP_STOP_EVENTS:  return "stop events";
    case VMEVENTCTL_STEP_SETTLE:       return "settle";
    case VMEVENTCTL_STEP_PAUSE:        return "pause";
    case VMEVENTCTL_STEP_FINAL_DRAIN:  return "final drain";
    case VMEVENTCTL_STEP_UNBIND:       return "unbind";
    case VMEVENTCTL_STEP_DISABLE:      return "disable";
    case VMEVENTCTL_STEP_UNPAUSE:      return "unpause";
    }
    return "unknown";
}

VMEVENTCTL_EXPORT
const char *vmeventctl_disable_outcome_name(enum vmeventctl_disable_outcome outcome)
{
    switch ( outcome )
    {
    case VMEVENTCTL_DISABLE_CLEAN:     return "clean";
    case VMEVENTCTL_DISABLE_UNSETTLED: return "unsettled";
    case VMEVENTCTL_DISABLE_FAILED:    return "failed";
    }
    return "unknown";
}
