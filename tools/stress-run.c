/*
 * stress-run.c: the modes of xen-evtchn-stress.
 *
 * Why the tool drives rings with libxenctrl and its own event channel
 * handle rather than through libvmeventctl: the Linux evtchn driver only
 * lets the handle that bound a port notify it (IOCTL_EVTCHN_NOTIFY answers
 * ENOTCONN otherwise), only one dom0 port can be bound to a ring's Xen
 * port, and libvmeventctl keeps its handle to itself.  So the senders
 * share one handle with the thread that binds.  That is also what makes
 * the safe order safe: the driver runs every ioctl of a handle under one
 * mutex (evtchn.c: evtchn_ioctl, u->bind_mutex), so once our unbind has
 * returned no notify of ours is still inside Xen's callback.
 *
 * What the race is (Xen 4.15 and later, xen/common/event_channel.c
 * evtchn_send): a notify on a port whose far end Xen consumes drops the
 * channel lock and then calls the consumer, monitor_notification ->
 * vm_event_resume(d, d->vm_event_monitor), which takes and uses the ring
 * that vm_event_disable may be unmapping and freeing at that moment
 * (xen/common/vm_event.c).  The in-flight counter that would have made
 * the close wait was dropped in review ("evtchn: don't call Xen consumer
 * callback with per-channel lock held").
 *
 * Modes:
 *  baseline  notify a dom0 loopback channel (bind_unbound_port(0) on a
 *            second handle, bind_interdomain(0, port) on ours);
 *  flood     enable a monitor ring, bind its Xen port, notify it; take it
 *            down in libvmeventctl's safe order;
 *  race      one thread cycles enable, bind, disable, unbind (the unsafe
 *            order: disable while the port is bound and notified);
 *  safe      the same cycles in libvmeventctl's safe disable order:
 *            enable, bind, pause, resume, unbind, disable, unpause.
 * No monitor event is turned on, so no request ever waits on these rings:
 * what is exercised is the channel and the ring's life, not the guest.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "stress.h"

pthread_mutex_t *stress_xen_call_lock;

const char *const stress_step_names[STRESS_NR_STEPS] = {
    [STRESS_STEP_ENABLE]  = "enable",
    [STRESS_STEP_BIND]    = "bind",
    [STRESS_STEP_PAUSE]   = "pause",
    [STRESS_STEP_RESUME]  = "resume",
    [STRESS_STEP_UNBIND]  = "unbind",
    [STRESS_STEP_DISABLE] = "disable",
    [STRESS_STEP_UNPAUSE] = "unpause",
};

/*
 * Phases of a cycle.  A step's name is the time its call runs; the other
 * names are the states between calls.  The cycler publishes
 * cycle * nr_phases + index, so a sender can tell whether a phase change
 * (or a whole cycle) happened while its notify was inside the kernel.
 */
enum {
    RACE_ENABLE, RACE_ENABLED, RACE_BIND, RACE_BOUND, RACE_DISABLE,
    RACE_DISABLED, RACE_UNBIND, RACE_DOWN, RACE_NR_PHASES
};
static const char *const race_phases[RACE_NR_PHASES] = {
    "enable", "enabled", "bind", "bound", "disable", "disabled", "unbind", "down",
};

enum {
    SAFE_ENABLE, SAFE_ENABLED, SAFE_BIND, SAFE_BOUND, SAFE_PAUSE, SAFE_RESUME,
    SAFE_UNBIND, SAFE_UNBOUND, SAFE_DISABLE, SAFE_UNPAUSE, SAFE_DOWN,
    SAFE_NR_PHASES
};
static const char *const safe_phases[SAFE_NR_PHASES] = {
    "enable", "enabled", "bind", "bound", "pause", "resume", "unbind",
    "unbound", "disable", "unpause", "down",
};

/* A ring driven by the tool, and what is held of it. */
struct stress_ring {
    void *page;
    uint32_t xen_port;
    uint32_t port;
    int enabled, bound, paused;
};

/* Where a step's call is watched and counted. */
struct step_env {
    struct stress_ctx *c;
    struct stress_slot *slot;
    struct stress_step_stats *stats;   /* STRESS_NR_STEPS entries */
    const char *failed_call;           /* first failure */
    int failed_errno;
};

struct stress_sender {
    struct stress_run *run;
    pthread_t tid;
    int started;
    unsigned int idx;
    uint64_t quota;                 /* notifies to make; 0: until stopped */
    uint64_t attempts, ok;
    uint64_t t_start, t_end;
    uint64_t landed_in_disable, landed_overlapping;
    struct stress_errs errs;
    struct stress_phase phase[STRESS_MAX_PHASES];
    struct stress_phase spanning;
    struct stress_hist lat;
    _Atomic int done;
    struct stress_slot slot;
};

struct stress_run {
    struct stress_ctx *c;
    struct stress_result *res;
    enum stress_mode mode;
    _Atomic int stop;
    _Atomic uint32_t port;          /* what senders notify; STRESS_NO_PORT */
    _Atomic uint64_t gen;           /* cycle * nr_phases + phase */
    unsigned int nr_phases, disable_phase;

    struct stress_sender *senders;
    unsigned int nr_senders;

    /* race, safe */
    pthread_t cycler;
    int cycler_started;
    _Atomic int cycler_done;
    struct stress_slot cycler_slot;
    struct step_env cenv;
    struct stress_ring ring;
    uint64_t cycles;
    uint64_t cycler_end;
    int cycle_failed;               /* a step of a cycle failed */
    uint64_t failed_cycle;
};

/* Runs whose threads could not be joined: kept reachable, never freed. */
static struct stress_run *abandoned_runs[8];

uint64_t stress_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void stress_call_begin(struct stress_slot *s, const char *call)
{
    if ( stress_xen_call_lock )
        pthread_mutex_lock(stress_xen_call_lock);
    atomic_store(&s->call, call);
    atomic_store(&s->since_ns, stress_now_ns());
}

void stress_call_end(struct stress_slot *s)
{
    int saved = errno;

    atomic_store(&s->since_ns, 0);
    if ( stress_xen_call_lock )
        pthread_mutex_unlock(stress_xen_call_lock);
    errno = saved;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };

    while ( nanosleep(&ts, &ts) && errno == EINTR )
        ;
}

/*
 * Ring steps.  Each is one watched, counted Xen call; a failure is noted
 * (the first one is kept for the report) and the ring's state says what
 * is still held.
 */

static int step_done(struct step_env *e, enum stress_step st, const char *call,
                     uint64_t t0, int failed)
{
    struct stress_step_stats *s = &e->stats[st];
    uint64_t ns = stress_now_ns() - t0;
    int err = errno;

    s->calls++;
    s->sum_ns += ns;
    if ( ns > s->max_ns )
        s->max_ns = ns;
    if ( !failed )
        return 0;
    stress_errs_add(&s->errs, err, 1);
    if ( !e->failed_call )
    {
        e->failed_call = call;
        e->failed_errno = err;
    }
    errno = err;
    return -1;
}

static int ring_enable(struct step_env *e, struct stress_ring *r)
{
    uint64_t t0 = stress_now_ns();

    /*
     * xc_monitor_enable pauses the domain, maps the ring gfn, enables the
     * ring and allocates the Xen-consumer port, removes the gfn from the
     * guest (XSA-99) and unpauses.  EBUSY: a ring exists already.
     */
    stress_call_begin(e->slot, "xc_monitor_enable");
    r->page = xc_monitor_enable(e->c->xch, e->c->domid, &r->xen_port);
    stress_call_end(e->slot);
    if ( !r->page )
        return step_done(e, STRESS_STEP_ENABLE, "xc_monitor_enable", t0, 1);
    r->enabled = 1;
    return step_done(e, STRESS_STEP_ENABLE, "xc_monitor_enable", t0, 0);
}

static int ring_bind(struct step_env *e, struct stress_ring *r)
{
    uint64_t t0 = stress_now_ns();
    xenevtchn_port_or_error_t p;

    stress_call_begin(e->slot, "xenevtchn_bind_interdomain");
    p = xenevtchn_bind_interdomain(e->c->xce, e->c->domid, r->xen_port);
    stress_call_end(e->slot);
    if ( p < 0 )
        return step_done(e, STRESS_STEP_BIND, "xenevtchn_bind_interdomain", t0, 1);
    r->port = (uint32_t)p;
    r->bound = 1;
    return step_done(e, STRESS_STEP_BIND, "xenevtchn_bind_interdomain", t0, 0);
}

static int ring_pause(struct step_env *e, struct stress_ring *r)
{
    uint64_t t0 = stress_now_ns();
    int rc;

    stress_call_begin(e->slot, "xc_domain_pause");
    rc = xc_domain_pause(e->c->xch, e->c->domid);
    stress_call_end(e->slot);
    if ( rc == 0 )
        r->paused = 1;
    return step_done(e, STRESS_STEP_PAUSE, "xc_domain_pause", t0, rc != 0);
}

static int ring_resume(struct step_env *e, struct stress_ring *r)
{
    uint64_t t0 = stress_now_ns();
    int rc;

    /*
     * The kick the safe disable uses instead of a notify: a domctl, so the
     * domctl lock serialises it with xc_monitor_disable.
     */
    stress_call_begin(e->slot, "xc_monitor_resume");
    rc = xc_monitor_resume(e->c->xch, e->c->domid);
    stress_call_end(e->slot);
    return step_done(e, STRESS_STEP_RESUME, "xc_monitor_resume", t0, rc != 0);
}

static int ring_unbind(struct step_env *e, struct stress_ring *r)
{
    uint64_t t0 = stress_now_ns();
    int rc;

    stress_call_begin(e->slot, "xenevtchn_unbind");
    rc = xenevtchn_unbind(e->c->xce, r->port);
    stress_call_end(e->slot);
    if ( rc == 0 )
        r->bound = 0;
    return step_done(e, STRESS_STEP_UNBIND, "xenevtchn_unbind", t0, rc != 0);
}

static int ring_disable(struct step_env *e, struct stress_ring *r)
{
    uint64_t t0 = stress_now_ns();
    int rc;

    if ( r->page )
    {
        munmap(r->page, XC_PAGE_SIZE);
        r->page = NULL;
    }
    stress_call_begin(e->slot, "xc_monitor_disable");
    rc = xc_monitor_disable(e->c->xch, e->c->domid);
    stress_call_end(e->slot);
    if ( rc == 0 )
        r->enabled = 0;
    return step_done(e, STRESS_STEP_DISABLE, "xc_monitor_disable", t0, rc != 0);
}

static int ring_unpause(struct step_env *e, struct stress_ring *r)
{
    uint64_t t0 = stress_now_ns();
    int rc;

    stress_call_begin(e->slot, "xc_domain_unpause");
    rc = xc_domain_unpause(e->c->xch, e->c->domid);
    stress_call_end(e->slot);
    if ( rc == 0 )
        r->paused = 0;
    return step_done(e, STRESS_STEP_UNPAUSE, "xc_domain_unpause", t0, rc != 0);
}

/*
 * Takes down what is left of a ring in libvmeventctl's safe order (its
 * vmeventctl_ring_disable steps 3 to 7): pause, resume, unbind, disable,
 * unpause.  Only called once no sender runs.  Returns 0, or -1 if a step
 * failed (e->failed_call says which; the ring may be left enabled).
 */
static int ring_teardown_safe(struct step_env *e, struct stress_ring *r)
{
    unsigned int attempt;
    int rc = 0;

    if ( r->enabled )
    {
        /* Without our pause the disable still goes ahead, as the library's. */
        if ( !r->paused && ring_pause(e, r) )
            rc = -1;
        if ( ring_resume(e, r) )
            rc = -1;
    }
    if ( r->bound && ring_unbind(e, r) )
        rc = -1;
    if ( r->enabled && ring_disable(e, r) )
        rc = -1;
    if ( r->page )
    {
        munmap(r->page, XC_PAGE_SIZE);
        r->page = NULL;
    }
    /* Release exactly the reference we took: never "unpause until running". */
    for ( attempt = 0; r->paused && attempt < 3; attempt++ )
        if ( ring_unpause(e, r) )
            rc = -1;
    return rc;
}

/*
 * Senders.
 */

static int spans_disable(uint64_t g1, uint64_t g2, unsigned int nr, unsigned int di)
{
    uint64_t g;

    if ( g2 - g1 >= nr )
        return 1;
    for ( g = g1; g <= g2; g++ )
        if ( g % nr == di )
            return 1;
    return 0;
}

static void *sender_main(void *arg)
{
    struct stress_sender *s = arg;
    struct stress_run *run = s->run;
    xenevtchn_handle *xce = run->c->xce;
    unsigned int nr = run->nr_phases;

    atomic_store(&s->slot.call, "xenevtchn_notify");
    s->t_start = stress_now_ns();
    while ( !atomic_load(&run->stop) )
    {
        uint64_t g1, g2, t0, t1;
        uint32_t port;
        int rc, err = 0;

        if ( s->quota && s->attempts >= s->quota )
            break;
        port = atomic_load(&run->port);
        if ( port == STRESS_NO_PORT )
        {
            /* race, safe: nothing bound yet */
            sleep_ns(100000);
            continue;
        }

        g1 = atomic_load(&run->gen);
        if ( stress_xen_call_lock )
            pthread_mutex_lock(stress_xen_call_lock);
        t0 = stress_now_ns();
        atomic_store(&s->slot.since_ns, t0);
        rc = xenevtchn_notify(xce, port);
        if ( rc )
            err = errno;
        t1 = stress_now_ns();
        atomic_store(&s->slot.since_ns, 0);
        if ( stress_xen_call_lock )
        {
            pthread_mutex_unlock(stress_xen_call_lock);
            /*
             * A mutex is not fair: a sender that unlocks and locks again
             * in a tight loop keeps it, and the cycler waits whole
             * scheduler slices (under valgrind, seconds) for its turn.
             */
            sched_yield();
        }
        g2 = atomic_load(&run->gen);

        s->attempts++;
        stress_hist_add(&s->lat, t1 - t0);
        if ( rc == 0 )
            s->ok++;
        else
            stress_errs_add(&s->errs, err, 1);

        if ( !nr )
            continue;
        if ( g1 == g2 )
        {
            struct stress_phase *ph = &s->phase[g1 % nr];

            if ( rc == 0 )
            {
                ph->ok++;
                if ( g1 % nr == run->disable_phase )
                    s->landed_in_disable++;
            }
            else
                stress_errs_add(&ph->errs, err, 1);
        }
        else
        {
            if ( rc == 0 )
            {
                s->spanning.ok++;
                if ( spans_disable(g1, g2, nr, run->disable_phase) )
                    s->landed_overlapping++;
            }
            else
                stress_errs_add(&s->spanning.errs, err, 1);
        }
    }
    s->t_end = stress_now_ns();
    atomic_store(&s->done, 1);
    return NULL;
}

/*
 * The cycler (race, safe).
 */

static void set_phase(struct stress_run *run, uint64_t cycle, unsigned int phase)
{
    atomic_store(&run->gen, cycle * run->nr_phases + phase);
}

static int stopping(struct stress_run *run)
{
    return atomic_load(&run->stop);
}

static void hold(struct stress_run *run)
{
    uint64_t end;

    if ( !run->c->opt.hold_ms )
        return;
    end = stress_now_ns() + (uint64_t)run->c->opt.hold_ms * 1000000ull;
    while ( !stopping(run) )
    {
        uint64_t now = stress_now_ns();

        if ( now >= end )
            break;
        sleep_ns(end - now < 1000000ull ? end - now : 1000000ull);
    }
}

/* One cycle in the unsafe order.  Returns 0, 1 when stopped, -1 on failure. */
static int cycle_race(struct stress_run *run, uint64_t cycle)
{
    struct step_env *e = &run->cenv;
    struct stress_ring *r = &run->ring;

    set_phase(run, cycle, RACE_ENABLE);
    if ( ring_enable(e, r) )
        return -1;
    set_phase(run, cycle, RACE_ENABLED);
    if ( stopping(run) )
        return 1;
    set_phase(run, cycle, RACE_BIND);
    if ( ring_bind(e, r) )
        return -1;
    atomic_store(&run->port, r->port);
    set_phase(run, cycle, RACE_BOUND);
    hold(run);
    if ( stopping(run) )
        return 1;
    /* The unsafe part: disable while our port is bound and notified. */
    set_phase(run, cycle, RACE_DISABLE);
    if ( ring_disable(e, r) )
        return -1;
    set_phase(run, cycle, RACE_DISABLED);
    set_phase(run, cycle, RACE_UNBIND);
    if ( ring_unbind(e, r) )
        return -1;
    set_phase(run, cycle, RACE_DOWN);
    return 0;
}

/* One cycle in libvmeventctl's safe order. */
static int cycle_safe(struct stress_run *run, uint64_t cycle)
{
    struct step_env *e = &run->cenv;
    struct stress_ring *r = &run->ring;
    int rc = 0;

    set_phase(run, cycle, SAFE_ENABLE);
    if ( ring_enable(e, r) )
        return -1;
    set_phase(run, cycle, SAFE_ENABLED);
    if ( stopping(run) )
        return 1;
    set_phase(run, cycle, SAFE_BIND);
    if ( ring_bind(e, r) )
        return -1;
    atomic_store(&run->port, r->port);
    set_phase(run, cycle, SAFE_BOUND);
    hold(run);
    if ( stopping(run) )
        return 1;
    /* From here on the cycle is finished whatever happens: the safe order. */
    set_phase(run, cycle, SAFE_PAUSE);
    if ( ring_pause(e, r) )
        rc = -1;
    set_phase(run, cycle, SAFE_RESUME);
    if ( ring_resume(e, r) )
        rc = -1;
    set_phase(run, cycle, SAFE_UNBIND);
    if ( ring_unbind(e, r) )
        return -1;
    set_phase(run, cycle, SAFE_UNBOUND);
    set_phase(run, cycle, SAFE_DISABLE);
    if ( ring_disable(e, r) )
        return -1;
    set_phase(run, cycle, SAFE_UNPAUSE);
    if ( r->paused && ring_unpause(e, r) )
        return -1;
    set_phase(run, cycle, SAFE_DOWN);
    return rc;
}

static void *cycler_main(void *arg)
{
    struct stress_run *run = arg;
    uint64_t cycle;

    for ( cycle = 0; ; cycle++ )
    {
        int rc;

        if ( stopping(run) )
            break;
        if ( run->c->opt.count && cycle >= run->c->opt.count )
            break;
        if ( run->mode == STRESS_MODE_RACE )
            rc = cycle_race(run, cycle);
        else
            rc = cycle_safe(run, cycle);
        if ( rc < 0 )
        {
            run->cycle_failed = 1;
            run->failed_cycle = cycle;
            break;
        }
        if ( rc > 0 )
            break;
        run->cycles = cycle + 1;
    }
    run->cycler_end = stress_now_ns();
    atomic_store(&run->cycler_done, 1);
    /* Done (count, failure or stop): the senders have nothing left to race. */
    atomic_store(&run->stop, 1);
    return NULL;
}

/*
 * Running a mode.
 */

int stress_run_scan_hung(struct stress_ctx *c, struct stress_run *run,
                         uint64_t now, char *what, size_t len)
{
    uint64_t limit = (uint64_t)(c->opt.stuck_s * 1e9);
    unsigned int i;

    for ( i = 0; i <= run->nr_senders; i++ )
    {
        struct stress_slot *s;
        uint64_t since;

        if ( i < run->nr_senders )
        {
            if ( !run->senders[i].started )
                continue;
            s = &run->senders[i].slot;
        }
        else
        {
            if ( !run->cycler_started )
                continue;
            s = &run->cycler_slot;
        }
        since = atomic_load(&s->since_ns);
        if ( since && now > since && now - since > limit )
        {
            snprintf(what, len, "%s has been inside %s for %.1f s", s->who,
                     atomic_load(&s->call), (double)(now - since) / 1e9);
            return 1;
        }
    }
    return 0;
}

/* Starts a thread with SIGINT and SIGTERM blocked: the main thread takes them. */
static int start_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
    sigset_t block, old;
    int rc;

    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    rc = pthread_create(t, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* Joins within the hang limit.  Returns 0, or -1 if the thread is stuck. */
static int join_within(pthread_t t, double secs)
{
    struct timespec ts;
    uint64_t ns;

    clock_gettime(CLOCK_REALTIME, &ts);
    ns = (uint64_t)ts.tv_nsec + (uint64_t)(secs * 1e9);
    ts.tv_sec += (time_t)(ns / 1000000000ull);
    ts.tv_nsec = (long)(ns % 1000000000ull);
    if ( pthread_timedjoin_np(t, NULL, &ts) )
    {
        pthread_detach(t);
        return -1;
    }
    return 0;
}

static void set_run(struct stress_ctx *c, struct stress_run *run)
{
    pthread_mutex_lock(&c->wd_lock);
    c->run = run;
    pthread_mutex_unlock(&c->wd_lock);
}

/* A dom0 loopback channel for the baseline: a on a second handle, b on ours. */
struct loopback {
    xenevtchn_handle *other;
    int a, b;
};

static int loopback_open(struct stress_ctx *c, struct loopback *lb, char *why, size_t len)
{
    xenevtchn_port_or_error_t p;

    lb->a = lb->b = -1;
    stress_call_begin(&c->main_slot, "xenevtchn_open");
    lb->other = xenevtchn_open(NULL, 0);
    stress_call_end(&c->main_slot);
    if ( !lb->other )
    {
        snprintf(why, len, "baseline: cannot open a second event channel handle (xenevtchn_open): %s",
                 strerror(errno));
        return -1;
    }
    stress_call_begin(&c->main_slot, "xenevtchn_bind_unbound_port");
    p = xenevtchn_bind_unbound_port(lb->other, 0);
    stress_call_end(&c->main_slot);
    if ( p < 0 )
    {
        snprintf(why, len, "baseline: cannot allocate a dom0 port (xenevtchn_bind_unbound_port): %s",
                 strerror(errno));
        return -1;
    }
    lb->a = p;
    stress_call_begin(&c->main_slot, "xenevtchn_bind_interdomain");
    p = xenevtchn_bind_interdomain(c->xce, 0, (evtchn_port_t)lb->a);
    stress_call_end(&c->main_slot);
    if ( p < 0 )
    {
        snprintf(why, len, "baseline: cannot bind to dom0 port %d (xenevtchn_bind_interdomain): %s",
                 lb->a, strerror(errno));
        return -1;
    }
    lb->b = p;
    return 0;
}

static int loopback_close(struct stress_ctx *c, struct loopback *lb)
{
    int rc = 0;

    stress_call_begin(&c->main_slot, "xenevtchn_unbind");
    if ( lb->b >= 0 && xenevtchn_unbind(c->xce, (evtchn_port_t)lb->b) )
        rc = -1;
    /* Closing the second handle unbinds a. */
    if ( lb->other && xenevtchn_close(lb->other) )
        rc = -1;
    stress_call_end(&c->main_slot);
    lb->other = NULL;
    lb->a = lb->b = -1;
    return rc;
}

/*
 * Sums the threads' counters.  The mode's time runs from the start of the
 * threads to the last one's end (the main thread only notices the end
 * within its 10 ms poll, which must not dilute a short run's rates).
 */
static void merge_results(struct stress_run *run, uint64_t t0, uint64_t joined)
{
    struct stress_result *res = run->res;
    uint64_t last = run->cycler_end;
    unsigned int i, p;

    for ( i = 0; i < run->nr_senders; i++ )
        if ( run->senders[i].t_end > last )
            last = run->senders[i].t_end;
    if ( !last || last > joined )
        last = joined;
    res->elapsed_s = last > t0 ? (double)(last - t0) / 1e9 : 0;
    for ( i = 0; i < run->nr_senders; i++ )
    {
        struct stress_sender *s = &run->senders[i];
        uint64_t t = s->t_end > s->t_start ? s->t_end - s->t_start : 0;

        res->notifies += s->attempts;
        res->ok += s->ok;
        stress_errs_merge(&res->errs, &s->errs);
        stress_hist_merge(&res->lat, &s->lat);
        res->thread[i].notifies = s->attempts;
        res->thread[i].ok = s->ok;
        res->thread[i].per_s = t ? (double)s->attempts * 1e9 / (double)t : 0;
        for ( p = 0; p < run->nr_phases; p++ )
        {
            res->phase[p].ok += s->phase[p].ok;
            stress_errs_merge(&res->phase[p].errs, &s->phase[p].errs);
        }
        res->spanning.ok += s->spanning.ok;
        stress_errs_merge(&res->spanning.errs, &s->spanning.errs);
        res->landed_in_disable += s->landed_in_disable;
        res->landed_overlapping += s->landed_overlapping;
    }
    res->cycles = run->cycles;
}

static void errs_text(const struct stress_errs *e, char *buf, size_t len)
{
    size_t used = 0;
    unsigned int i;
    char nb[16];

    buf[0] = '\0';
    for ( i = 0; i < STRESS_MAX_ERRNOS && used < len; i++ )
    {
        if ( !e->n[i] )
            continue;
        used += (size_t)snprintf(buf + used, len - used, "%s%s %" PRIu64,
                                 used ? ", " : "",
                                 stress_errno_name(e->err[i], nb, sizeof(nb)), e->n[i]);
    }
    if ( e->other && used < len )
        snprintf(buf + used, len - used, "%sother %" PRIu64, used ? ", " : "", e->other);
}

void stress_run_mode(struct stress_ctx *c, enum stress_mode m,
                     struct stress_result *res)
{
    struct stress_run *run;
    struct loopback lb = { NULL, -1, -1 };
    struct step_env menv;
    char why[256] = "";
    uint64_t t0, deadline, count = c->opt.count;
    unsigned int i;
    int hung = 0, setup_ok = 0;

    memset(res, 0, sizeof(*res));
    res->mode = m;
    res->ran = 1;
    res->threads = c->opt.threads;
    res->cyclic = m == STRESS_MODE_RACE || m == STRESS_MODE_SAFE;

    run = calloc(1, sizeof(*run));
    if ( run )
        run->senders = calloc(c->opt.threads ? c->opt.threads : 1, sizeof(*run->senders));
    if ( !run || !run->senders )
    {
        free(run);
        stress_verdict_worse(&res->verdict, STRESS_ERROR, res->reason, sizeof(res->reason),
                             "out of memory");
        return;
    }
    run->c = c;
    run->res = res;
    run->mode = m;
    atomic_store(&run->port, STRESS_NO_PORT);
    run->nr_senders = c->opt.threads;
    if ( m == STRESS_MODE_RACE )
    {
        run->nr_phases = RACE_NR_PHASES;
        run->disable_phase = RACE_DISABLE;
        res->phase_names = race_phases;
    }
    else if ( m == STRESS_MODE_SAFE )
    {
        run->nr_phases = SAFE_NR_PHASES;
        run->disable_phase = SAFE_DISABLE;
        res->phase_names = safe_phases;
    }
    res->nr_phases = run->nr_phases;
    snprintf(run->cycler_slot.who, sizeof(run->cycler_slot.who), "the cycler");
    run->cenv.c = c;
    run->cenv.slot = &run->cycler_slot;
    run->cenv.stats = res->step;
    menv.c = c;
    menv.slot = &c->main_slot;
    menv.stats = res->step;
    menv.failed_call = NULL;
    menv.failed_errno = 0;

    /* Set-up: the channel the senders notify. */
    if ( m == STRESS_MODE_BASELINE )
    {
        if ( loopback_open(c, &lb, why, sizeof(why)) )
        {
            stress_verdict_worse(&res->verdict, STRESS_ERROR, res->reason, sizeof(res->reason),
                                 "%s", why);
            goto teardown;
        }
        res->have_port = 1;
        res->local_port = (uint32_t)lb.b;
        res->remote_port = (uint32_t)lb.a;
        res->remote_domid = 0;
        atomic_store(&run->port, (uint32_t)lb.b);
    }
    else if ( m == STRESS_MODE_FLOOD )
    {
        if ( ring_enable(&menv, &run->ring) )
        {
            if ( errno == EBUSY )
                stress_verdict_worse(&res->verdict, STRESS_ERROR, res->reason, sizeof(res->reason),
                                     "domain %u: enable: a monitor ring already exists: another agent enabled one (xc_monitor_enable: EBUSY)",
                                     c->domid);
            else
                stress_verdict_worse(&res->verdict, STRESS_ERROR, res->reason, sizeof(res->reason),
                                     "domain %u: enable: xc_monitor_enable: %s", c->domid,
                                     strerror(errno));
            goto teardown;
        }
        if ( ring_bind(&menv, &run->ring) )
        {
            stress_verdict_worse(&res->verdict, STRESS_ERROR, res->reason, sizeof(res->reason),
                                 "domain %u: bind: cannot bind Xen's port %u (xenevtchn_bind_interdomain): %s",
                                 c->domid, run->ring.xen_port, strerror(errno));
            goto teardown;
        }
        res->have_port = 1;
        res->local_port = run->ring.port;
        res->remote_port = run->ring.xen_port;
        res->remote_domid = c->domid;
        atomic_store(&run->port, run->ring.port);
    }
    setup_ok = 1;

    /* The threads. */
    set_run(c, run);
    t0 = stress_now_ns();
    for ( i = 0; i < run->nr_senders; i++ )
    {
        struct stress_sender *s = &run->senders[i];

        s->run = run;
        s->idx = i;
        snprintf(s->slot.who, sizeof(s->slot.who), "sender %u", i);
        if ( !res->cyclic && count )
            s->quota = count / run->nr_senders + (i < count % run->nr_senders);
        if ( !res->cyclic && count && !s->quota )
        {
            atomic_store(&s->done, 1);
            continue;
        }
        if ( start_thread(&s->tid, sender_main, s) )
        {
            stress_verdict_worse(&res->verdict, STRESS_ERROR, res->reason, sizeof(res->reason),
                                 "cannot start sender thread %u: %s", i, strerror(errno));
            atomic_store(&run->stop, 1);
            break;
        }
        s->started = 1;
    }
    if ( res->cyclic && !atomic_load(&run->stop) )
    {
        if ( start_thread(&run->cycler, cycler_main, run) )
        {
            stress_verdict_worse(&res->verdict, STRESS_ERROR, res->reason, sizeof(res->reason),
                                 "cannot start the cycler thread: %s", strerror(errno));
            atomic_store(&run->stop, 1);
        }
        else
            run->cycler_started = 1;
    }

    /* Until the time is up, the count is reached, a signal or a hang. */
    deadline = t0 + (uint64_t)(c->opt.duration_s * 1e9);
    res->stopped_by = NULL;
    while ( !atomic_load(&run->stop) )
    {
        uint64_t now = stress_now_ns();

        if ( stress_stop_requested() )
        {
            res->stopped_by = "signal";
            c->interrupted = 1;
            break;
        }
        if ( atomic_load(&c->hung) )
        {
            res->stopped_by = "hang";
            break;
        }
        if ( now >= deadline )
        {
            res->stopped_by = "duration";
            break;
        }
        if ( !res->cyclic )
        {
            int all = 1;

            for ( i = 0; i < run->nr_senders; i++ )
                if ( !atomic_load(&run->senders[i].done) )
                    all = 0;
            if ( all )
            {
                res->stopped_by = "count";
                break;
            }
        }
        sleep_ns(now + 10000000ull < deadline ? 10000000ull : deadline - now);
    }
    atomic_store(&run->stop, 1);
    if ( !res->stopped_by )
    {
        /* The cycler stopped the run: its count, or a failed step. */
        res->stopped_by = "count";
        if ( !run->cycler_started || !atomic_load(&run->cycler_done) || run->cycle_failed )
            res->stopped_by = "failure";
    }

    for ( i = 0; i < run->nr_senders; i++ )
    {
        if ( !run->senders[i].started )
            continue;
        if ( join_within(run->senders[i].tid, c->opt.stuck_s) )
        {
            hung = 1;
            run->senders[i].started = 0;
        }
    }
    if ( run->cycler_started && join_within(run->cycler, c->opt.stuck_s) )
    {
        hung = 1;
        run->cycler_started = 0;
    }
    merge_results(run, t0, stress_now_ns());
    if ( hung || atomic_load(&c->hung) )
    {
        /*
         * A thread is stuck inside Xen or the dom0 kernel.  Touch nothing
         * it may hold (an unbind would wait on the driver's mutex behind
         * it): no teardown.  Its memory stays, as it may still return.
         */
        res->stopped_by = "hang";
        stress_verdict_worse(&res->verdict, STRESS_FAILURE, res->reason, sizeof(res->reason),
                             "%s (a hang in Xen or the dom0 kernel); teardown skipped, a monitor ring may be left enabled",
                             atomic_load(&c->hung) ? c->hung_what : "a thread did not return from a Xen call");
        for ( i = 0; i < sizeof(abandoned_runs) / sizeof(abandoned_runs[0]); i++ )
        {
            if ( !abandoned_runs[i] )
            {
                abandoned_runs[i] = run;
                break;
            }
        }
        set_run(c, NULL);
        goto health;
    }
    set_run(c, NULL);

 teardown:
    if ( m == STRESS_MODE_BASELINE && loopback_close(c, &lb) && setup_ok )
        stress_verdict_worse(&res->verdict, STRESS_FAILURE, res->reason, sizeof(res->reason),
                             "baseline: cannot unbind the loopback channel: %s", strerror(errno));
    if ( m != STRESS_MODE_BASELINE )
    {
        menv.failed_call = NULL;
        if ( ring_teardown_safe(&menv, &run->ring) )
            stress_verdict_worse(&res->verdict, STRESS_FAILURE, res->reason, sizeof(res->reason),
                                 "domain %u: teardown: %s failed: %s%s", c->domid,
                                 menv.failed_call, strerror(menv.failed_errno),
                                 run->ring.enabled ? "; the ring is left enabled" : "");
    }
    if ( !setup_ok )
    {
        res->stopped_by = "failure";
        free(run->senders);
        free(run);
        return;
    }

    /* What the run itself says. */
    if ( res->cyclic && run->cycle_failed )
    {
        /* A first enable refused is the environment; anything later is Xen. */
        int first = run->failed_cycle == 0 && res->step[STRESS_STEP_ENABLE].calls == 1 &&
                    stress_errs_total(&res->step[STRESS_STEP_ENABLE].errs);

        stress_verdict_worse(&res->verdict, first ? STRESS_ERROR : STRESS_FAILURE,
                             res->reason, sizeof(res->reason),
                             "domain %u: cycle %" PRIu64 ": %s failed: %s%s", c->domid,
                             run->failed_cycle, run->cenv.failed_call,
                             strerror(run->cenv.failed_errno),
                             first && run->cenv.failed_errno == EBUSY ?
                             " (another agent enabled a ring)" : "");
    }
    if ( !res->cyclic && stress_errs_total(&res->errs) )
    {
        char eb[160];

        errs_text(&res->errs, eb, sizeof(eb));
        stress_verdict_worse(&res->verdict, STRESS_FAILURE, res->reason, sizeof(res->reason),
                             "%" PRIu64 " of %" PRIu64 " notifies on a bound port failed (%s)",
                             stress_errs_total(&res->errs), res->notifies, eb);
    }
    if ( m == STRESS_MODE_SAFE && res->landed_in_disable )
        stress_verdict_worse(&res->verdict, STRESS_FAILURE, res->reason, sizeof(res->reason),
                             "%" PRIu64 " notifies returned 0 while xc_monitor_disable ran, though the port had been unbound before it",
                             res->landed_in_disable);
    if ( !res->cyclic && run->nr_senders && !res->notifies &&
         strcmp(res->stopped_by, "signal") )
        stress_verdict_worse(&res->verdict, STRESS_ERROR, res->reason, sizeof(res->reason),
                             "no notify was made");
    if ( res->cyclic && !res->cycles && !run->cycle_failed &&
         strcmp(res->stopped_by, "signal") )
        stress_verdict_worse(&res->verdict, STRESS_ERROR, res->reason, sizeof(res->reason),
                             "no cycle completed in %.1f s", c->opt.duration_s);
    free(run->senders);
    free(run);

 health:
    stress_health_run(c, &res->health, 0);
    if ( res->health.verdict != STRESS_SUCCESS )
    {
        for ( i = 0; i < STRESS_NR_CHECKS; i++ )
        {
            const struct stress_check *ck = &res->health.c[i];

            if ( ck->ran && ck->verdict != STRESS_SUCCESS )
                stress_verdict_worse(&res->verdict, ck->verdict, res->reason, sizeof(res->reason),
                                     "after %s: %s: %s", stress_mode_name(m),
                                     stress_check_names[i], ck->detail);
        }
    }
}
