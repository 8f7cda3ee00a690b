/*
 * drain-main.c: xen-vmevent-drain, the administrator's command that makes
 * a guest safely free of vm_event, whatever state its agent left it in.
 *
 * An introspection agent that dies leaves its monitor ring enabled: a vCPU
 * that waited for its reply stays frozen (Xen 4.17 vm_event_disable does
 * not release it, and the dead ring's page can no longer be mapped), and
 * every new agent is refused with EBUSY.  `status` shows what is there;
 * `stop` ends introspection the safest way the state allows:
 *  - a live agent of libvmeventctl is asked to stop (SIGTERM), so that its
 *    own safe disable runs (vmeventctl_ring_disable());
 *  - the guest of a dead one is rescued (vmeventctl_rescue());
 *  - a ring no ownership record claims may be a live agent of another tool
 *    (xen-access, LibVMI, DRAKVUF): it is only taken with --force.
 *
 * Everything is in drain_main() so that tests/unit/test-drain-cli.c can
 * run the command against the fake Xen.  Exit statuses: drain.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xentoollog.h>

#include "vmeventctl.h"
#include "drain.h"

#define PROG             "xen-vmevent-drain"
#define PRIVCMD          "/dev/xen/privcmd"
#define RECORD_FMT       "/local/domain/0/libvmeventctl/%u/monitor"

/* Two samples of the vCPUs this far apart tell a stuck vCPU from a busy one. */
#define SAMPLE_MS        300
/* How often the record of a live owner asked to stop is read again. */
#define POLL_MS          100
#define DEFAULT_TIMEOUT_MS 10000u
#define MAX_TIMEOUT_S    3600
/* vmeventctl_rescue() watches the vCPUs for this long (rescue.c). */
#define RESCUE_WATCH_S   2
/* One page holds 8 vm_event slots: the rescue answers 8 vCPUs per batch. */
#define RESCUE_BATCH     8u

/*
 * --force takes a ring no ownership record claims, unless a dom0 process
 * may be bound to its port; --force-may-hang-xen takes it even then
 * (VMEVENTCTL_RESCUE_RISK_LIVE_AGENT).
 */
#define FORCE_RECORDLESS   1
#define FORCE_MAY_HANG_XEN 2

enum command {
    CMD_STATUS,
    CMD_STOP,
};

struct opts {
    enum command cmd;
    int dry_run;
    int force;               /* FORCE_RECORDLESS or FORCE_MAY_HANG_XEN */
    int timeout_given;
    unsigned int timeout_ms;
    int json;
    int verbose;
    int quiet;
    char **domains;
    int nr_domains;
};

/* What the ownership record says. */
enum owner_kind {
    OWN_NONE,        /* no record: no ring of libvmeventctl's */
    OWN_LIVE,
    OWN_DEAD,
    OWN_UNREADABLE,  /* a record that does not parse: nobody alive wrote it */
    OWN_ERROR,       /* xenstore would not let us read it */
};

/* One domain as the tool sees it. */
struct dom {
    const char *arg;                    /* as given on the command line */
    char label[128];                    /* "domain 5 (guest)" */
    int have_domid;
    uint32_t domid;
    int have_status;
    struct vmeventctl_domain_status st; /* the second sample */
    enum owner_kind own;
    struct vmeventctl_owner owner;
    int owner_errno;
    int stuck_checked;
    const char *stuck_unchecked;        /* why not, when not */
    unsigned char *stuck;               /* one flag per vCPU */
    unsigned int nr_stuck;
    struct drain_evidence ev;           /* gathered when a ring is there */
};

/* The outcome of one domain's command. */
struct result {
    int code;
    const char *step;        /* the step that failed or refused, or NULL */
    int err;                 /* its errno, or 0 */
    char msg[1536];
};

enum action {
    ACT_NONE,         /* nothing to do */
    ACT_CLEAR_STALE,  /* no ring: remove a dead owner's record */
    ACT_SIGNAL,       /* live owner: SIGTERM, wait for its record to go */
    ACT_RESCUE,       /* vmeventctl_rescue() with plan.flags */
    ACT_REFUSE,
};

struct plan {
    enum action act;
    unsigned int flags;      /* VMEVENTCTL_RESCUE_* for ACT_RESCUE */
    const char *name;        /* the word in the JSON output */
    char why[768];
};

struct stop_info {
    struct plan plan;
    int signal_sent;
    pid_t signal_pid;
    int owner_stopped;       /* its record went */
    int owner_died;          /* it died with its record left */
    uint64_t waited_ms;
    int rescued;             /* vmeventctl_rescue() was called */
    int rescue_rc;
    struct vmeventctl_rescue_report rep;
    int replies_lost;
    int record_cleared;
    int interrupted;
};

/*
 * Signals.  The first SIGINT or SIGTERM asks the library to stop its loops
 * and makes the tool stop at its next step; a rescue in progress runs to
 * its end, because stopping half-way would leave the guest paused.  A
 * second signal says what is going on: during a rescue the tool still
 * finishes it; anywhere else nothing of ours is held, and the tool exits.
 */
enum phase {
    PHASE_IDLE,
    PHASE_RESCUE,
};

static vmeventctl_handle *volatile sig_handle;
static volatile sig_atomic_t sig_count;
static volatile sig_atomic_t sig_phase;
static char sig_msg[384];
static volatile size_t sig_msg_len;

static const char sig_exit_msg[] =
    PROG ": second signal: nothing of ours is held; exiting now, nothing was changed by this step\n";

static void on_signal(int sig)
{
    int saved = errno;
    ssize_t n;

    (void)sig;
    if ( sig_count < 1000 )
        sig_count++;
    if ( sig_handle )
        vmeventctl_request_stop(sig_handle);
    if ( sig_count > 1 )
    {
        /* write(2) and _exit(2) only: async-signal-safe. */
        if ( sig_phase == PHASE_RESCUE )
            n = write(STDERR_FILENO, sig_msg, sig_msg_len);
        else
        {
            n = write(STDERR_FILENO, sig_exit_msg, sizeof(sig_exit_msg) - 1);
            _exit(DRAIN_EXIT_INTERRUPTED);
        }
        (void)n;
    }
    errno = saved;
}

static int interrupted(void)
{
    return sig_count > 0;
}

/*
 * Output.
 */
static const struct opts *out_opts;
static unsigned int reports_printed;  /* status reports, blank lines between */

/* Progress, for people: not with --quiet or --json. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;

    if ( out_opts->quiet || out_opts->json )
        return;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
}

static int set_result(struct result *r, int code, const char *step, int err,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int set_result(struct result *r, int code, const char *step, int err,
                      const char *fmt, ...)
{
    va_list ap;

    r->code = code;
    r->step = step;
    r->err = err;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
    va_end(ap);
    return code;
}

const char *drain_exit_name(int code)
{
    switch ( code )
    {
    case DRAIN_EXIT_SUCCESS:        return "success";
    case DRAIN_EXIT_NOTHING:        return "nothing-to-do";
    case DRAIN_EXIT_USAGE:          return "usage";
    case DRAIN_EXIT_REFUSED:        return "refused";
    case DRAIN_EXIT_FAILED:         return "failed-unchanged";
    case DRAIN_EXIT_FAILED_CHANGED: return "failed-changed";
    case DRAIN_EXIT_INTERRUPTED:    return "interrupted";
    }
    return "unknown";
}

int drain_exit_status(int code)
{
    return code == DRAIN_EXIT_NOTHING ? DRAIN_EXIT_SUCCESS : code;
}

/* The final line of a domain: stdout when it went well, else stderr. */
static void print_result(const struct result *r)
{
    if ( out_opts->json )
    {
        if ( r->code != DRAIN_EXIT_SUCCESS && r->code != DRAIN_EXIT_NOTHING )
            fprintf(stderr, PROG ": %s\n", r->msg);
        return;
    }
    if ( r->code == DRAIN_EXIT_SUCCESS || r->code == DRAIN_EXIT_NOTHING )
    {
        if ( !out_opts->quiet && r->msg[0] )
            printf("%s\n", r->msg);
    }
    else
        fprintf(stderr, PROG ": %s\n", r->msg);
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Sleeps ms; returns -1 as soon as a signal asked us to stop, else 0. */
static int sleep_ms(unsigned int ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

    while ( !interrupted() && nanosleep(&ts, &ts) && errno == EINTR )
        ;
    return interrupted() ? -1 : 0;
}

/*
 * Domains: lookup, two samples, the owner.
 */
static int is_number(const char *s)
{
    if ( !*s )
        return 0;
    for ( ; *s; s++ )
        if ( *s < '0' || *s > '9' )
            return 0;
    return 1;
}

static void dom_init(struct dom *d, const char *arg)
{
    memset(d, 0, sizeof(*d));
    d->arg = arg;
    snprintf(d->label, sizeof(d->label), "domain '%s'", arg);
}

static void dom_release(struct dom *d)
{
    if ( d->have_status )
        vmeventctl_domain_status_release(&d->st);
    d->have_status = 0;
    free(d->stuck);
    d->stuck = NULL;
    d->nr_stuck = 0;
    drain_evidence_release(&d->ev);
}

static void set_domid(struct dom *d, uint32_t domid)
{
    d->domid = domid;
    d->have_domid = 1;
    if ( is_number(d->arg) )
        snprintf(d->label, sizeof(d->label), "domain %u", domid);
    else
        snprintf(d->label, sizeof(d->label), "domain %u (%s)", domid, d->arg);
}

static int lookup(vmeventctl_handle *h, struct dom *d, struct result *r)
{
    uint32_t domid;

    if ( vmeventctl_domain_lookup(h, d->arg, &domid) == 0 )
    {
        set_domid(d, domid);
        return 0;
    }
    switch ( errno )
    {
    case ENOENT:
        return set_result(r, DRAIN_EXIT_FAILED, "lookup", errno,
                          "%s: lookup: no domain has that name (see xl list); nothing was changed",
                          d->label);
    case ENOTUNIQ:
        return set_result(r, DRAIN_EXIT_FAILED, "lookup", errno,
                          "%s: lookup: several domains have that name; give the domain id (see xl list); nothing was changed",
                          d->label);
    case ESRCH:
        return set_result(r, DRAIN_EXIT_FAILED, "lookup", errno,
                          "%s: lookup: no domain has that id (see xl list); nothing was changed",
                          d->label);
    case EINVAL:
        return set_result(r, DRAIN_EXIT_FAILED, "lookup", errno,
                          "%s: lookup: not a guest domain id or name (ids of guests are 1 to %u); nothing was changed",
                          d->label, DOMID_FIRST_RESERVED - 1);
    }
    return set_result(r, DRAIN_EXIT_FAILED, "lookup", errno,
                      "%s: lookup: cannot look the domain up: %s; nothing was changed",
                      d->label, strerror(errno));
}

/* A domain that can have a ring: not dom0, alive, HVM or PVH. */
static int check_target(const struct dom *d, const struct vmeventctl_domain_status *st,
                        struct result *r)
{
    if ( st->dying )
        return set_result(r, DRAIN_EXIT_FAILED, "check", ENOENT,
                          "%s: the domain is dying: Xen ignores vm_event operations on it; nothing was changed",
                          d->label);
    if ( !st->hvm )
        return set_result(r, DRAIN_EXIT_FAILED, "check", EINVAL,
                          "%s: a PV guest has no vm_event rings (only HVM and PVH guests do); nothing was changed",
                          d->label);
    return 0;
}

static int read_status(vmeventctl_handle *h, const struct dom *d,
                       struct vmeventctl_domain_status *st, struct result *r)
{
    if ( vmeventctl_domain_status(h, d->domid, st) == 0 )
        return 0;
    if ( errno == ESRCH )
        return set_result(r, DRAIN_EXIT_FAILED, "status", errno,
                          "%s: status: the domain went away; nothing was changed", d->label);
    return set_result(r, DRAIN_EXIT_FAILED, "status", errno,
                      "%s: status: cannot read the domain's state: %s; nothing was changed",
                      d->label, strerror(errno));
}

static void read_owner(vmeventctl_handle *h, struct dom *d)
{
    d->owner_errno = 0;
    if ( vmeventctl_owner_get(h, d->domid, &d->owner) )
    {
        d->owner_errno = errno;
        d->own = errno == EBADMSG ? OWN_UNREADABLE : OWN_ERROR;
        return;
    }
    switch ( d->owner.state )
    {
    case VMEVENTCTL_OWNER_LIVE: d->own = OWN_LIVE; break;
    case VMEVENTCTL_OWNER_DEAD: d->own = OWN_DEAD; break;
    default:                    d->own = OWN_NONE; break;
    }
}

/*
 * A vCPU waiting for a reply reads online, not running, not blocked, with
 * its cpu_time still (XEN-FACTS.md, seen on Xen 4.17.7).  A controller
 * pause or a shutdown stops every vCPU the same way, so no vCPU can be
 * called stuck then.
 */
static void find_stuck(struct dom *d, const struct vmeventctl_domain_status *a)
{
    const struct vmeventctl_domain_status *b = &d->st;
    unsigned int v, n = a->nr_vcpus < b->nr_vcpus ? a->nr_vcpus : b->nr_vcpus;

    d->nr_stuck = 0;
    d->stuck_checked = 0;
    if ( b->shutdown || a->shutdown )
    {
        d->stuck_unchecked = "the domain is shut down";
        return;
    }
    if ( b->controller_paused || a->controller_paused )
    {
        d->stuck_unchecked = "the domain is paused by its controller (xl pause, or a tool's pause reference), so every vCPU stands still";
        return;
    }
    if ( b->nr_vcpus == 0 )
    {
        d->stuck_checked = 1;
        return;
    }
    d->stuck = calloc(b->nr_vcpus, 1);
    if ( !d->stuck || !a->vcpus || !b->vcpus )
    {
        d->stuck_unchecked = "out of memory";
        return;
    }
    d->stuck_checked = 1;
    for ( v = 0; v < n; v++ )
    {
        const struct vmeventctl_vcpu_status *x = &a->vcpus[v], *y = &b->vcpus[v];

        if ( x->online && y->online && !x->running && !y->running &&
             !x->blocked && !y->blocked && x->cpu_time_ns == y->cpu_time_ns )
        {
            d->stuck[v] = 1;
            d->nr_stuck++;
        }
    }
}

/*
 * Samples the domain twice, SAMPLE_MS apart, and reads its owner.
 * Returns 0, DRAIN_EXIT_INTERRUPTED, or DRAIN_EXIT_FAILED (r says why).
 */
static int sample(vmeventctl_handle *h, struct dom *d, struct result *r)
{
    struct vmeventctl_domain_status first;
    int rc;

    dom_release(d);
    if ( read_status(h, d, &first, r) )
        return r->code;
    if ( check_target(d, &first, r) )
        goto out;
    if ( sleep_ms(SAMPLE_MS) )
    {
        set_result(r, DRAIN_EXIT_INTERRUPTED, "status", EINTR,
                   "%s: interrupted while sampling the vCPUs; nothing was changed", d->label);
        goto out;
    }
    if ( read_status(h, d, &d->st, r) )
        goto out;
    if ( check_target(d, &d->st, r) )
    {
        vmeventctl_domain_status_release(&d->st);
        goto out;
    }
    d->have_status = 1;
    read_owner(h, d);
    if ( d->st.monitor_ring == 1 )
        drain_evidence_gather(h, d->domid, &d->ev);
    find_stuck(d, &first);
    r->code = 0;

 out:
    rc = r->code;
    vmeventctl_domain_status_release(&first);
    return rc;
}

/* Looks the domain up and samples it. */
static int inspect(vmeventctl_handle *h, struct dom *d, struct result *r)
{
    r->code = 0;
    if ( lookup(h, d, r) )
        return r->code;
    if ( d->domid == 0 )
        return set_result(r, DRAIN_EXIT_FAILED, "check", EINVAL,
                          "%s: dom0 cannot have vm_event rings; give a guest (see xl list); nothing was changed",
                          d->label);
    if ( interrupted() )
        return set_result(r, DRAIN_EXIT_INTERRUPTED, "lookup", EINTR,
                          "%s: interrupted; nothing was changed", d->label);
    return sample(h, d, r);
}

/*
 * Pause references a dead owner may have left: its record's "paused N",
 * if the domain is controller-paused at all (libvmeventctl/owner.c).
 */
static unsigned int pauses_left(const struct dom *d)
{
    if ( d->own != OWN_DEAD || !d->st.controller_paused )
        return 0;
    return d->owner.pauses;
}

static void owner_words(const struct dom *d, char *buf, size_t len)
{
    switch ( d->own )
    {
    case OWN_NONE:
        snprintf(buf, len, "none: no ownership record (a ring, if any, is another tool's)");
        break;
    case OWN_LIVE:
        snprintf(buf, len, "live: pid %d (%s)%s", (int)d->owner.pid, d->owner.comm,
                 d->owner.pauses ? ", enabling, disabling or rescuing (may hold the guest paused)" : "");
        break;
    case OWN_DEAD:
        if ( pauses_left(d) )
            snprintf(buf, len, "dead: pid %d (%s) is gone; it was killed while it may have held %u pause reference(s), and the guest is paused",
                     (int)d->owner.pid, d->owner.comm, d->owner.pauses);
        else
            snprintf(buf, len, "dead: pid %d (%s) is gone", (int)d->owner.pid, d->owner.comm);
        break;
    case OWN_UNREADABLE:
        snprintf(buf, len, "unreadable: the record does not parse (treated as dead)");
        break;
    case OWN_ERROR:
        snprintf(buf, len, "unknown: cannot read the record: %s", strerror(d->owner_errno));
        break;
    }
}

/* "0, 1 and 3" */
static void stuck_list(const struct dom *d, char *buf, size_t len)
{
    unsigned int v, seen = 0;
    size_t used = 0;

    buf[0] = '\0';
    for ( v = 0; d->stuck && v < d->st.nr_vcpus && used < len; v++ )
    {
        if ( !d->stuck[v] )
            continue;
        seen++;
        used += (size_t)snprintf(buf + used, len - used, "%s%u",
                                 seen == 1 ? "" : seen == d->nr_stuck ? " and " : ", ", v);
    }
}

/*
 * What `stop` does, from the state sampled.
 */
static void plan_set(struct plan *p, enum action act, unsigned int flags,
                     const char *name, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void plan_set(struct plan *p, enum action act, unsigned int flags,
                     const char *name, const char *fmt, ...)
{
    va_list ap;

    p->act = act;
    p->flags = flags;
    p->name = name;
    va_start(ap, fmt);
    vsnprintf(p->why, sizeof(p->why), fmt, ap);
    va_end(ap);
}

/*
 * A ring no ownership record claims: another tool's.  --force takes it only
 * when no dom0 process may be bound to its port (vmeventctl_port_evidence()),
 * since a notify from one racing the disable can hang Xen.
 */
static void plan_recordless(const struct dom *d, int force, struct plan *p)
{
    char ports[256], procs[512];

    drain_evidence_suspects(&d->ev, ports, sizeof(ports));
    drain_evidence_procs(&d->ev, procs, sizeof(procs));
    if ( force == FORCE_MAY_HANG_XEN && d->ev.err )
        plan_set(p, ACT_RESCUE, VMEVENTCTL_RESCUE_FORCE | VMEVENTCTL_RESCUE_RISK_LIVE_AGENT,
                 "rescue-force",
                 "no ownership record claims the ring and --force-may-hang-xen was given: rescue the guest although whether a dom0 process is bound to its port cannot be told (EVTCHNOP_status failed: %s; a notify racing the disable can hang or crash Xen)",
                 strerror(d->ev.err));
    else if ( force && d->ev.err )
        plan_set(p, ACT_REFUSE, 0, "refuse",
                 "whether a live process is bound to the ring's port cannot be told: EVTCHNOP_status of %s port %u failed: %s",
                 d->ev.ports.failed_domid ? "the guest's" : "dom0's", d->ev.ports.failed_port,
                 strerror(d->ev.err));
    else if ( force == FORCE_MAY_HANG_XEN && drain_evidence_suspect(&d->ev) )
        plan_set(p, ACT_RESCUE, VMEVENTCTL_RESCUE_FORCE | VMEVENTCTL_RESCUE_RISK_LIVE_AGENT,
                 "rescue-force",
                 "no ownership record claims the ring and --force-may-hang-xen was given: rescue the guest although a dom0 process is bound to %s, not one of the guest's own channels (a notify racing the disable can hang or crash Xen)",
                 ports);
    else if ( force && drain_evidence_suspect(&d->ev) )
        plan_set(p, ACT_REFUSE, 0, "refuse",
                 "no ownership record claims the ring, and a dom0 process is bound to %s, not one of the guest's own channels: a live agent may still notify the ring, and a notify racing its disable is a use-after-free that can hang or crash Xen; dom0 processes with /dev/xen/evtchn open and a privcmd mapping: %s; stop that agent and run stop --force again, or take the risk with --force-may-hang-xen",
                 ports, procs);
    else if ( force )
        plan_set(p, ACT_RESCUE,
                 VMEVENTCTL_RESCUE_FORCE |
                 (force == FORCE_MAY_HANG_XEN ? VMEVENTCTL_RESCUE_RISK_LIVE_AGENT : 0),
                 "rescue-force",
                 "no ownership record claims the ring (another tool's agent), no dom0 process is bound to its port, and --force was given: rescue the guest");
    else if ( drain_evidence_suspect(&d->ev) )
        plan_set(p, ACT_REFUSE, 0, "refuse",
                 "no ownership record says who owns the ring, and a dom0 process is bound to %s, not one of the guest's own channels: a live agent of another tool (xen-access, LibVMI, DRAKVUF) is probably using it (dom0 processes with /dev/xen/evtchn open and a privcmd mapping: %s); --force refuses too while it is bound",
                 ports, procs);
    else
        plan_set(p, ACT_REFUSE, 0, "refuse",
                 "no ownership record says who owns the ring: it may be a live agent of another tool (xen-access, LibVMI, DRAKVUF), which would lose its ring and see its guest change under it; if that agent is gone, run stop again with --force");
}

static void plan_stop(const struct dom *d, int force, struct plan *p)
{
    const struct vmeventctl_owner *o = &d->owner;
    char stuck[256];

    stuck_list(d, stuck, sizeof(stuck));
    if ( d->st.monitor_ring == 1 )
    {
        switch ( d->own )
        {
        case OWN_LIVE:
            if ( o->pid == getpid() )
                plan_set(p, ACT_REFUSE, 0, "refuse",
                         "the ring's owner is this very process (pid %d)", (int)o->pid);
            else if ( o->pauses )
                plan_set(p, ACT_REFUSE, 0, "refuse",
                         "pid %d (%s) is enabling, disabling or rescuing this guest's ring right now; wait for it to finish",
                         (int)o->pid, o->comm);
            else
                plan_set(p, ACT_SIGNAL, 0, "signal-owner",
                         "the ring's owner, pid %d (%s), is alive: ask it to stop (SIGTERM) so that its own safe disable runs",
                         (int)o->pid, o->comm);
            return;
        case OWN_DEAD:
            plan_set(p, ACT_RESCUE, 0, "rescue",
                     "the ring's owner, pid %d (%s), is dead: rescue the guest", (int)o->pid, o->comm);
            return;
        case OWN_UNREADABLE:
            plan_set(p, ACT_RESCUE, 0, "rescue",
                     "the ring's ownership record does not parse, so nobody alive wrote it: rescue the guest");
            return;
        case OWN_NONE:
            plan_recordless(d, force, p);
            return;
        case OWN_ERROR:
            break;
        }
        plan_set(p, ACT_REFUSE, 0, "refuse", "the ownership record cannot be read");
        return;
    }

    /* No ring. */
    if ( pauses_left(d) )
    {
        plan_set(p, ACT_RESCUE, VMEVENTCTL_RESCUE_NO_RING, "rescue-no-ring",
                 "no ring, but pid %d (%s) was killed while it may have held the guest paused, and the guest is paused: rescue, which releases what it left",
                 (int)o->pid, o->comm);
        return;
    }
    if ( d->nr_stuck )
    {
        if ( d->own == OWN_LIVE )
            plan_set(p, ACT_REFUSE, 0, "refuse",
                     "no ring, but vCPU %s look%s stuck, and the ownership record names pid %d (%s), which is alive and may be enabling a ring right now; ask it to stop first",
                     stuck, d->nr_stuck == 1 ? "s" : "", (int)o->pid, o->comm);
        else if ( force )
            plan_set(p, ACT_RESCUE, VMEVENTCTL_RESCUE_FORCE | VMEVENTCTL_RESCUE_NO_RING,
                     "rescue-no-ring",
                     "no ring, but vCPU %s look%s stuck waiting for a reply (a ring disabled the unsafe way leaves them so) and --force was given: answer them through a fresh ring",
                     stuck, d->nr_stuck == 1 ? "s" : "");
        else
            plan_set(p, ACT_REFUSE, 0, "refuse",
                     "no ring, but vCPU %s look%s stuck waiting for a reply, as a ring disabled the unsafe way leaves them (or they are paused for another reason); run stop again with --force to answer them through a fresh ring",
                     stuck, d->nr_stuck == 1 ? "s" : "");
        return;
    }
    if ( d->own == OWN_DEAD || d->own == OWN_UNREADABLE )
    {
        plan_set(p, ACT_CLEAR_STALE, 0, "clear-stale-record",
                 "no ring and no stuck vCPU; the ownership record of a dead owner is stale: remove it");
        return;
    }
    if ( d->stuck_checked )
        plan_set(p, ACT_NONE, 0, "none", "no monitor ring and no stuck vCPU: nothing to do");
    else
        plan_set(p, ACT_NONE, 0, "none",
                 "no monitor ring: nothing to do (whether a vCPU is stuck cannot be told: %s)",
                 d->stuck_unchecked);
}

/* The steps of a plan, one line each (the same for --dry-run and the JSON). */
static unsigned int plan_steps(const struct dom *d, const struct plan *p,
                               const struct opts *o, char steps[][256])
{
    unsigned int n = 0, nr_vcpus = d->st.nr_vcpus;
    unsigned int batches = (nr_vcpus + RESCUE_BATCH - 1) / RESCUE_BATCH;

    switch ( p->act )
    {
    case ACT_NONE:
    case ACT_REFUSE:
        break;
    case ACT_CLEAR_STALE:
        snprintf(steps[n++], 256, "remove the stale ownership record " RECORD_FMT, d->domid);
        break;
    case ACT_SIGNAL:
        snprintf(steps[n++], 256, "send SIGTERM to pid %d (%s): its own safe disable runs (answer, pause, disable, unpause)",
                 (int)d->owner.pid, d->owner.comm);
        snprintf(steps[n++], 256, "wait up to %u.%03u s for its ownership record to go",
                 o->timeout_ms / 1000, o->timeout_ms % 1000);
        snprintf(steps[n++], 256, "check that the ring is gone and no vCPU is stuck");
        snprintf(steps[n++], 256, "if it dies leaving its record: rescue the guest as for a dead owner");
        break;
    case ACT_RESCUE:
        if ( p->flags & VMEVENTCTL_RESCUE_RISK_LIVE_AGENT )
            snprintf(steps[n++], 256, "take the ring even if a dom0 process is bound to its port (--force-may-hang-xen): a notify of it racing the disable can hang or crash Xen");
        snprintf(steps[n++], 256, "mark our ownership record 'paused 2' (our reference and libxc's in the fresh enable), then take one pause reference (xc_domain_pause)");
        if ( p->flags & VMEVENTCTL_RESCUE_NO_RING )
        {
            snprintf(steps[n++], 256, "probe for a ring (xc_monitor_resume); none is expected");
            snprintf(steps[n++], 256, "disable the ring if one was found after all (xc_monitor_disable)");
        }
        else
        {
            snprintf(steps[n++], 256, "confirm a ring exists (xc_monitor_resume answers 0)");
            snprintf(steps[n++], 256, "disable the dead ring (xc_monitor_disable); EBUSY there means vCPUs sleep on its wait queue, and nothing more is touched");
        }
        snprintf(steps[n++], 256, "enable a fresh ring and answer each of the %u vCPU(s) (version %d, VM_EVENT_FLAG_VCPU_PAUSED), at most %u per batch, xc_monitor_resume after each batch (%u batch(es))",
                 nr_vcpus, VMEVENTCTL_INTERFACE_VERSION, RESCUE_BATCH, batches);
        snprintf(steps[n++], 256, "disable the fresh ring while still paused");
        if ( pauses_left(d) )
            snprintf(steps[n++], 256, "release our pause reference, then up to %u the killed pid %d left (stopping when Xen says none is left)",
                     pauses_left(d), (int)d->owner.pid);
        else
            snprintf(steps[n++], 256, "release our pause reference");
        snprintf(steps[n++], 256, "watch the vCPUs run again (up to %d s)", RESCUE_WATCH_S);
        break;
    }
    return n;
}

#define MAX_STEPS 10

/*
 * JSON objects: one per domain, every key always present (null when not
 * known), as man/xen-vmevent-drain.8 documents them.
 */
static void json_common(struct drain_json *j, const char *cmd, const struct dom *d,
                        const struct result *r)
{
    drain_json_str(j, "command", cmd);
    drain_json_str(j, "domain", d->arg);
    if ( d->have_domid )
        drain_json_uint(j, "domid", d->domid);
    else
        drain_json_null(j, "domid");
    drain_json_str(j, "result", drain_exit_name(r->code));
    drain_json_int(j, "exit", drain_exit_status(r->code));
    drain_json_str(j, "step", r->step);
    if ( r->err )
    {
        drain_json_int(j, "errno", r->err);
        drain_json_str(j, "error", strerror(r->err));
    }
    else
    {
        drain_json_null(j, "errno");
        drain_json_null(j, "error");
    }
    drain_json_str(j, "message", r->msg[0] ? r->msg : NULL);
}

static void json_owner(struct drain_json *j, const struct dom *d)
{
    static const char *const names[] = {
        [OWN_NONE] = "none", [OWN_LIVE] = "live", [OWN_DEAD] = "dead",
        [OWN_UNREADABLE] = "unreadable", [OWN_ERROR] = "error",
    };
    int has_pid = d->own == OWN_LIVE || d->own == OWN_DEAD;

    if ( !d->have_status )
    {
        drain_json_null(j, "owner");
        return;
    }
    drain_json_object(j, "owner");
    drain_json_str(j, "state", names[d->own]);
    if ( has_pid )
    {
        drain_json_int(j, "pid", d->owner.pid);
        drain_json_str(j, "comm", d->owner.comm);
        drain_json_uint(j, "start_time", d->owner.start_time);
    }
    else
    {
        drain_json_null(j, "pid");
        drain_json_null(j, "comm");
        drain_json_null(j, "start_time");
    }
    drain_json_uint(j, "pauses", has_pid ? d->owner.pauses : 0);
    drain_json_uint(j, "pauses_left", pauses_left(d));
    drain_json_str(j, "error", d->own == OWN_ERROR || d->own == OWN_UNREADABLE ?
                   strerror(d->owner_errno) : NULL);
    drain_json_object_end(j);
}

static void json_ring(struct drain_json *j, const struct dom *d)
{
    if ( !d->have_status || d->st.monitor_ring < 0 )
        drain_json_null(j, "monitor_ring");
    else
        drain_json_bool(j, "monitor_ring", d->st.monitor_ring);
}

static void json_stuck(struct drain_json *j, const struct dom *d)
{
    unsigned int v;

    drain_json_bool(j, "stuck_checked", d->have_status && d->stuck_checked);
    drain_json_str(j, "stuck_unchecked_reason",
                   d->have_status && !d->stuck_checked ? d->stuck_unchecked : NULL);
    if ( !d->have_status || !d->stuck_checked )
    {
        drain_json_null(j, "stuck_vcpus");
        return;
    }
    drain_json_array(j, "stuck_vcpus");
    for ( v = 0; v < d->st.nr_vcpus; v++ )
        if ( d->stuck[v] )
            drain_json_uint(j, NULL, v);
    drain_json_array_end(j);
}

static const char *vcpu_state(const struct vmeventctl_vcpu_status *v)
{
    if ( !v->online )
        return "offline";
    if ( v->running )
        return "running";
    if ( v->blocked )
        return "blocked";
    return "runnable";
}

/*
 * status
 */
static void print_status_text(const struct dom *d, const struct plan *p, int needs_force)
{
    const struct vmeventctl_domain_status *st = &d->st;
    char own[256], stuck[256];
    unsigned int v;

    owner_words(d, own, sizeof(own));
    if ( reports_printed++ )
        putchar('\n');
    printf("%s:\n", d->label);
    if ( st->monitor_ring == 1 )
        printf("  monitor ring:       present\n");
    else if ( st->monitor_ring == 0 )
        printf("  monitor ring:       none\n");
    else
        printf("  monitor ring:       unknown: the probe (xc_monitor_resume) failed: %s\n",
               strerror(st->monitor_probe_errno));
    printf("  owner:              %s\n", own);
    printf("  controller paused:  %s\n", st->controller_paused ? "yes" : "no");
    if ( st->xen_interface_version == VMEVENTCTL_INTERFACE_VERSION )
        printf("  vm_event interface: version %d\n", st->xen_interface_version);
    else
        printf("  vm_event interface: version %d, but this tool was built for %d: stop cannot act on this Xen\n",
               st->xen_interface_version, VMEVENTCTL_INTERFACE_VERSION);
    printf("  vCPUs:              %u, %u online, sampled %d ms apart\n",
           st->nr_vcpus, st->nr_online_vcpus, SAMPLE_MS);
    for ( v = 0; st->vcpus && v < st->nr_vcpus; v++ )
    {
        const struct vmeventctl_vcpu_status *vs = &st->vcpus[v];

        if ( !vs->online )
        {
            printf("    vCPU %u: offline\n", v);
            continue;
        }
        printf("    vCPU %u: %s, cpu %u, cpu_time %" PRIu64 ".%06" PRIu64 " s%s\n", v,
               vcpu_state(vs), vs->cpu, vs->cpu_time_ns / 1000000000u,
               (vs->cpu_time_ns % 1000000000u) / 1000u,
               d->stuck && d->stuck[v] ?
               ", STUCK: cpu_time unchanged" : "");
    }
    stuck_list(d, stuck, sizeof(stuck));
    if ( !d->stuck_checked )
        printf("  stuck vCPUs:        unknown: %s\n", d->stuck_unchecked);
    else if ( d->nr_stuck )
        printf("  stuck vCPUs:        %u: vCPU %s\n", d->nr_stuck, stuck);
    else
        printf("  stuck vCPUs:        none\n");
    drain_evidence_text(stdout, &d->ev, "no monitor ring");
    if ( p )
        printf("  stop would:         %s%s\n", needs_force ? "refuse without --force: " : "",
               p->why);
}

static void print_status_json(const struct dom *d, const struct result *r,
                              const struct plan *p, int needs_force)
{
    const struct vmeventctl_domain_status *st = &d->st;
    struct drain_json j;
    unsigned int v;
    int have = d->have_status;

    drain_json_begin(&j, stdout);
    json_common(&j, "status", d, r);
#define BOOL_OR_NULL(key, val) \
    do { if ( have ) drain_json_bool(&j, key, val); else drain_json_null(&j, key); } while ( 0 )
#define UINT_OR_NULL(key, val) \
    do { if ( have ) drain_json_uint(&j, key, val); else drain_json_null(&j, key); } while ( 0 )
    BOOL_OR_NULL("hvm", st->hvm);
    BOOL_OR_NULL("dying", st->dying);
    BOOL_OR_NULL("shutdown", st->shutdown);
    BOOL_OR_NULL("controller_paused", st->controller_paused);
    if ( have )
        drain_json_int(&j, "xen_interface_version", st->xen_interface_version);
    else
        drain_json_null(&j, "xen_interface_version");
    drain_json_int(&j, "tool_interface_version", VMEVENTCTL_INTERFACE_VERSION);
    UINT_OR_NULL("nr_vcpus", st->nr_vcpus);
    UINT_OR_NULL("nr_online_vcpus", st->nr_online_vcpus);
#undef BOOL_OR_NULL
#undef UINT_OR_NULL
    json_ring(&j, d);
    drain_json_str(&j, "monitor_probe_error",
                   have && st->monitor_ring < 0 ? strerror(st->monitor_probe_errno) : NULL);
    json_owner(&j, d);
    if ( have )
    {
        drain_json_array(&j, "vcpus");
        for ( v = 0; st->vcpus && v < st->nr_vcpus; v++ )
        {
            const struct vmeventctl_vcpu_status *vs = &st->vcpus[v];

            drain_json_object(&j, NULL);
            drain_json_uint(&j, "vcpu", v);
            drain_json_bool(&j, "online", vs->online);
            drain_json_bool(&j, "running", vs->running);
            drain_json_bool(&j, "blocked", vs->blocked);
            drain_json_str(&j, "state", vcpu_state(vs));
            drain_json_uint(&j, "cpu", vs->cpu);
            drain_json_uint(&j, "cpu_time_ns", vs->cpu_time_ns);
            if ( d->stuck_checked )
                drain_json_bool(&j, "stuck", d->stuck[v]);
            else
                drain_json_null(&j, "stuck");
            drain_json_object_end(&j);
        }
        drain_json_array_end(&j);
    }
    else
        drain_json_null(&j, "vcpus");
    drain_json_int(&j, "sample_ms", SAMPLE_MS);
    json_stuck(&j, d);
    drain_evidence_json(&j, &d->ev);
    drain_json_str(&j, "stop_action", p ? p->name : NULL);
    drain_json_bool(&j, "stop_needs_force", needs_force);
    drain_json_str(&j, "stop_reason", p ? p->why : NULL);
    drain_json_end(&j);
}

static int status_one(vmeventctl_handle *h, const struct opts *o, const char *arg)
{
    struct result r = { 0 };
    struct plan p, pf;
    struct plan *pp = NULL;
    int needs_force = 0;
    struct dom d;

    dom_init(&d, arg);
    inspect(h, &d, &r);
    if ( r.code == 0 )
    {
        plan_stop(&d, 0, &p);
        pp = &p;
        if ( p.act == ACT_REFUSE )
        {
            plan_stop(&d, 1, &pf);
            needs_force = pf.act == ACT_RESCUE;
        }
        /* A status is complete only if every part of it could be read. */
        if ( d.st.monitor_ring < 0 )
            set_result(&r, DRAIN_EXIT_FAILED, "probe", d.st.monitor_probe_errno,
                       "%s: cannot tell whether a ring exists: the probe (xc_monitor_resume) failed: %s",
                       d.label, strerror(d.st.monitor_probe_errno));
        else if ( d.own == OWN_ERROR )
            set_result(&r, DRAIN_EXIT_FAILED, "owner", d.owner_errno,
                       "%s: cannot read the ownership record " RECORD_FMT ": %s",
                       d.label, d.domid, strerror(d.owner_errno));
        else if ( d.ev.err )
            set_result(&r, DRAIN_EXIT_FAILED, "port evidence", d.ev.err,
                       "%s: port evidence: EVTCHNOP_status of %s port %u failed: %s",
                       d.label, d.ev.ports.failed_domid ? "the guest's" : "dom0's",
                       d.ev.ports.failed_port, strerror(d.ev.err));
    }

    if ( o->json )
        print_status_json(&d, &r, pp, needs_force);
    else if ( d.have_status && !o->quiet )
        print_status_text(&d, pp, needs_force);
    if ( r.code )
        print_result(&r);

    dom_release(&d);
    return r.code;
}

/*
 * stop
 */

/*
 * What the rescue's step 5 did about the dead agent's leftovers, e.g.
 * "access_required reset, mem_access not supported here (Invalid
 * argument), ...".  Empty when the rescue did not get that far.
 */
static size_t describe_leftovers(const struct vmeventctl_rescue_report *rep,
                                 char *buf, size_t len)
{
    const struct {
        const char *name;
        enum vmeventctl_leftover state;
        int err;
    } lo[] = {
        { "access_required", rep->access_required, rep->access_required_errno },
        { "mem_access", rep->mem_access, rep->mem_access_errno },
        { "single-step", rep->single_step, rep->single_step_errno },
        { "altp2m", rep->altp2m, rep->altp2m_errno },
    };
    unsigned int i, tried = 0;
    size_t n = 0;

    if ( len )
        buf[0] = '\0';
    for ( i = 0; i < sizeof(lo) / sizeof(lo[0]); i++ )
        tried += lo[i].state != VMEVENTCTL_LEFTOVER_NOT_TRIED;
    if ( !tried )
        return 0;
    for ( i = 0; i < sizeof(lo) / sizeof(lo[0]) && n < len; i++ )
    {
        const char *sep = i ? ", " : "";

        if ( lo[i].state == VMEVENTCTL_LEFTOVER_KEPT )
            n += (size_t)snprintf(buf + n, len - n, "%s%s active, left as it is", sep, lo[i].name);
        else if ( lo[i].state == VMEVENTCTL_LEFTOVER_FAILED )
            n += (size_t)snprintf(buf + n, len - n, "%s%s NOT RESET (%s)", sep, lo[i].name,
                                  strerror(lo[i].err));
        else if ( lo[i].err )
            n += (size_t)snprintf(buf + n, len - n, "%s%s %s (%s)", sep, lo[i].name,
                                  vmeventctl_leftover_name(lo[i].state), strerror(lo[i].err));
        else
            n += (size_t)snprintf(buf + n, len - n, "%s%s %s", sep, lo[i].name,
                                  vmeventctl_leftover_name(lo[i].state));
    }
    return n;
}

/* Says in the result what a failed or partial rescue left, from its report. */
static size_t describe_rescue(const struct vmeventctl_rescue_report *rep, uint32_t domid,
                              char *buf, size_t len)
{
    int fresh_enabled = rep->vcpus_answered > 0 || rep->fresh_ring_disabled;
    size_t n = 0;

#define ADD(...) \
    do { if ( n < len ) n += (size_t)snprintf(buf + n, len - n, __VA_ARGS__); } while ( 0 )
    if ( rep->dead_ring_disabled )
        ADD("the dead ring was disabled");
    else if ( rep->dead_ring_found )
        ADD("the dead ring is left as it was");
    else
        ADD("there was no ring to disable");
    if ( fresh_enabled )
        ADD("; a fresh ring was enabled, %u answer(s) put, %u batch(es) consumed by Xen, and the fresh ring %s",
            rep->vcpus_answered, rep->batches,
            rep->fresh_ring_disabled ? "disabled" : "is LEFT ENABLED with no owner (stop --force removes it)");
    else
        ADD("; no fresh ring was enabled");
    if ( rep->dead_ring_disabled && !rep->fresh_ring_disabled )
        ADD("; vCPUs that waited for the dead agent stay frozen until a rescue through a fresh ring succeeds: run xen-vmevent-drain stop --force %u",
            domid);
    if ( rep->failed_step == VMEVENTCTL_RESCUE_STEP_UNPAUSE )
        ADD("; our pause reference may still be held: if xl list shows the guest paused, run 'xl unpause %u' once",
            domid);
    if ( n < len )
    {
        char lo[384];

        if ( describe_leftovers(rep, lo, sizeof(lo)) )
            ADD("; the dead agent's leftovers: %s", lo);
    }
#undef ADD
    return n;
}

static int rescue_result(vmeventctl_handle *h, struct dom *d, struct stop_info *si,
                         struct result *r)
{
    const struct vmeventctl_rescue_report *rep = &si->rep;
    const char *step = vmeventctl_rescue_step_name(rep->failed_step);
    struct vmeventctl_domain_status st;
    char what[1152];
    int err = rep->error;

    si->replies_lost = rep->dead_ring_disabled || rep->vcpus_answered > 0;
    describe_rescue(rep, d->domid, what, sizeof(what));

    if ( si->rescue_rc == 0 )
    {
        if ( rep->vcpus_stuck == 0 )
            return set_result(r, DRAIN_EXIT_SUCCESS, NULL, 0,
                              "%s: rescued: %s; the guest was paused for %" PRIu64 ".%03" PRIu64 " ms; every vCPU was seen running again",
                              d->label, what, rep->paused_ns / 1000000u,
                              (rep->paused_ns % 1000000u) / 1000u);
        /* Another pause reference (xl pause) keeps the vCPUs still: not ours. */
        if ( vmeventctl_domain_status(h, d->domid, &st) == 0 )
        {
            int paused = st.controller_paused;

            vmeventctl_domain_status_release(&st);
            if ( paused )
                return set_result(r, DRAIN_EXIT_SUCCESS, NULL, 0,
                                  "%s: rescued: %s; the domain is still paused by its controller (xl pause, or another tool's pause reference), so its vCPUs run once that is released",
                                  d->label, what);
        }
        return set_result(r, DRAIN_EXIT_FAILED_CHANGED, "watch", 0,
                          "%s: rescue done (%s), but %u vCPU(s) were not seen running within %d s: the guest may still be frozen; see xen-vmevent-drain status %u",
                          d->label, what, rep->vcpus_stuck, RESCUE_WATCH_S, d->domid);
    }

    switch ( rep->failed_step )
    {
    case VMEVENTCTL_RESCUE_STEP_CHECK:
        if ( err == EBUSY && rep->vcpus_stuck_before > RESCUE_BATCH )
            return set_result(r, DRAIN_EXIT_REFUSED, "rescue: check", err,
                              "%s: rescue refused: %u vCPUs are stuck, more than the ring's %u slots: the rest sleep on the full ring of an agent that can no longer answer, and Xen disables no ring while vCPUs sleep on it; only a hypervisor change or destroying the guest (xl destroy) frees them; nothing was changed (if the domain is paused, unpause it and run stop again)",
                              d->label, rep->vcpus_stuck_before, RESCUE_BATCH);
        if ( err == EBUSY )
            return set_result(r, DRAIN_EXIT_REFUSED, "rescue: check", err,
                              "%s: rescue refused: a live process now owns the ring; run stop again to ask it to stop; nothing was changed",
                              d->label);
        if ( err == EISCONN )
            return set_result(r, DRAIN_EXIT_REFUSED, "rescue: check", err,
                              "%s: rescue refused: a dom0 process bound a port of the guest since it was examined: a live agent may notify the ring; see xen-vmevent-drain status %u; nothing was changed",
                              d->label, d->domid);
        if ( err == EPERM )
            return set_result(r, DRAIN_EXIT_REFUSED, "rescue: check", err,
                              "%s: rescue refused: no ownership record claims the ring any more; run stop again; nothing was changed",
                              d->label);
        if ( err == EPROTONOSUPPORT )
            return set_result(r, DRAIN_EXIT_FAILED, "rescue: check", err,
                              "%s: rescue refused: Xen's vm_event interface version is not %d, the one this tool was built for; Xen would drop its answers; nothing was changed",
                              d->label, VMEVENTCTL_INTERFACE_VERSION);
        return set_result(r, DRAIN_EXIT_FAILED, "rescue: check", err,
                          "%s: rescue: check: %s; nothing was changed", d->label, strerror(err));
    case VMEVENTCTL_RESCUE_STEP_PROBE:
        if ( err == ENODEV && !rep->guest_changed )
            return set_result(r, DRAIN_EXIT_NOTHING, "rescue: probe", err,
                              "%s: the ring went away before the rescue (its owner disabled it?): nothing to do",
                              d->label);
        break;
    case VMEVENTCTL_RESCUE_STEP_DISABLE_DEAD:
        if ( err == EBUSY && !rep->guest_changed )
            return set_result(r, DRAIN_EXIT_FAILED, "rescue: disable dead ring", err,
                              "%s: rescue failed: Xen refused to disable the dead ring (EBUSY): vCPUs sleep on its wait queue (more vCPUs waited than the ring has slots; they fell asleep after the rescue's check), and Xen disables no ring while any do; only answers on the dead ring, whose page can no longer be mapped, would wake them, so only a hypervisor change or destroying the guest (xl destroy) frees them; Xen's refused disable reset the dead agent's monitor settings (it does whatever the disable returns), so no further vCPU joins them; nothing more was touched and our pause reference was released: the guest is as it was otherwise",
                              d->label);
        break;
    default:
        break;
    }

    /* A pause reference we may not have released changes the guest too. */
    if ( rep->guest_changed || rep->failed_step == VMEVENTCTL_RESCUE_STEP_UNPAUSE )
        return set_result(r, DRAIN_EXIT_FAILED_CHANGED, "rescue", err,
                          "%s: rescue failed at step '%s': %s; the guest state changed: %s",
                          d->label, step, err ? strerror(err) : "vCPUs not seen running", what);
    return set_result(r, DRAIN_EXIT_FAILED, "rescue", err,
                      "%s: rescue failed at step '%s': %s; the guest is as it was (%s)",
                      d->label, step, err ? strerror(err) : "unknown error", what);
}

static int do_rescue(vmeventctl_handle *h, struct dom *d, struct stop_info *si,
                     unsigned int flags, struct result *r)
{
    int n;

    n = snprintf(sig_msg, sizeof(sig_msg),
                 PROG ": %s: a rescue is in progress: finishing its safety steps (disable the fresh ring, release our pause reference) before exiting; SIGKILL now would leave the guest paused until the next stop\n",
                 d->label);
    sig_msg_len = n < 0 ? 0 : (size_t)n >= sizeof(sig_msg) ? sizeof(sig_msg) - 1 : (size_t)n;
    /* The message is whole before a handler can see the phase. */
    atomic_signal_fence(memory_order_seq_cst);
    sig_phase = PHASE_RESCUE;
    if ( interrupted() )
    {
        sig_phase = PHASE_IDLE;
        return set_result(r, DRAIN_EXIT_INTERRUPTED, "rescue", EINTR,
                          "%s: interrupted before the rescue began; nothing was changed", d->label);
    }
    say("%s: rescuing (%s)", d->label,
        flags & VMEVENTCTL_RESCUE_NO_RING ? "no ring: answering the vCPUs through a fresh ring" :
        "pause, disable the dead ring, answer every vCPU through a fresh ring, disable it, unpause");

    /* Short and never cut short by vmeventctl_request_stop(): it finishes. */
    si->rescue_rc = vmeventctl_rescue(h, d->domid, flags, &si->rep);
    si->rescued = 1;
    sig_phase = PHASE_IDLE;
    return rescue_result(h, d, si, r);
}

static int do_clear_stale(vmeventctl_handle *h, struct dom *d, struct stop_info *si,
                          struct result *r, int code, const char *done)
{
    if ( vmeventctl_owner_clear_dead(h, d->domid) )
    {
        if ( errno == EBUSY )
            return set_result(r, DRAIN_EXIT_REFUSED, "owner", errno,
                              "%s: the ownership record now names a live process; run stop again", d->label);
        return set_result(r, DRAIN_EXIT_FAILED, "owner", errno,
                          "%s: cannot remove the stale ownership record " RECORD_FMT ": %s",
                          d->label, d->domid, strerror(errno));
    }
    si->record_cleared = 1;
    return set_result(r, code, NULL, 0, "%s: %s; removed the stale ownership record of dead pid %d",
                      d->label, done, (int)d->owner.pid);
}

/*
 * The owner changed between the sample and the signal, which was not
 * sent: decide again from a new sample, as stop does from the start, but
 * signal nobody this time (run stop again for that).
 */
static int decide_again(vmeventctl_handle *h, struct dom *d, const struct opts *o,
                        struct stop_info *si, struct result *r)
{
    plan_stop(d, o->force, &si->plan);
    switch ( si->plan.act )
    {
    case ACT_NONE:
        return set_result(r, DRAIN_EXIT_NOTHING, NULL, 0, "%s: %s", d->label, si->plan.why);
    case ACT_CLEAR_STALE:
        return do_clear_stale(h, d, si, r, DRAIN_EXIT_NOTHING,
                              "no monitor ring and no stuck vCPU: nothing to do for the guest");
    case ACT_RESCUE:
        say("%s: %s", d->label, si->plan.why);
        return do_rescue(h, d, si, si->plan.flags, r);
    case ACT_SIGNAL:
        return set_result(r, DRAIN_EXIT_REFUSED, "owner", 0,
                          "%s: refused: the ring changed hands while it was examined (it now belongs to pid %d, %s); run stop again; nothing was changed",
                          d->label, (int)d->owner.pid, d->owner.comm);
    case ACT_REFUSE:
        break;
    }
    return set_result(r, DRAIN_EXIT_REFUSED, "check", 0, "%s: refused: %s; nothing was changed",
                      d->label, si->plan.why);
}

/*
 * After a live owner stopped (or died, or changed before it was signalled):
 * is the guest free?  A new sample decides.  A ring the agent left behind
 * with no record is reported rather than taken: it was asked to stop and
 * did not disable it.
 */
static int after_owner(vmeventctl_handle *h, struct dom *d, const struct opts *o,
                       struct stop_info *si, struct result *r)
{
    pid_t pid = si->signal_pid;
    char who[64], stuck[256];
    struct plan p;

    snprintf(who, sizeof(who), "pid %d (%s)", (int)pid, d->owner.comm);
    if ( sample(h, d, r) )
    {
        char why[sizeof(r->msg)];

        if ( r->code == DRAIN_EXIT_INTERRUPTED )
            return r->code;
        memcpy(why, r->msg, sizeof(why));
        return set_result(r, DRAIN_EXIT_FAILED_CHANGED, r->step, r->err,
                          "%s (after %s was sent SIGTERM)", why, who);
    }
    if ( d->st.monitor_ring < 0 )
        return set_result(r, DRAIN_EXIT_FAILED_CHANGED, "probe", d->st.monitor_probe_errno,
                          "%s: %s stopped, but whether its ring is gone cannot be told: the probe failed: %s",
                          d->label, who, strerror(d->st.monitor_probe_errno));
    stuck_list(d, stuck, sizeof(stuck));

    if ( !si->signal_sent )
        return decide_again(h, d, o, si, r);

    if ( d->own == OWN_LIVE )
        return set_result(r, DRAIN_EXIT_REFUSED, "owner", 0,
                          "%s: %s stopped, but the ring now belongs to pid %d (%s); run stop again to stop it too",
                          d->label, who, (int)d->owner.pid, d->owner.comm);

    if ( d->own == OWN_DEAD || d->own == OWN_UNREADABLE )
    {
        si->owner_died = 1;
        say("%s: the ring's owner died leaving its ownership record, without disabling safely",
            d->label);
        plan_stop(d, 0, &p);
        switch ( p.act )
        {
        case ACT_RESCUE:
            return do_rescue(h, d, si, p.flags, r);
        case ACT_CLEAR_STALE:
            return do_clear_stale(h, d, si, r, DRAIN_EXIT_SUCCESS,
                                  "its owner exited and the ring is gone, no vCPU stuck");
        case ACT_NONE:
            return set_result(r, DRAIN_EXIT_SUCCESS, NULL, 0,
                              "%s: %s exited and the ring is gone; no vCPU is stuck", d->label, who);
        default:
            return set_result(r, DRAIN_EXIT_FAILED_CHANGED, "owner", 0,
                              "%s: %s was sent SIGTERM and exited, but: %s", d->label, who, p.why);
        }
    }

    if ( d->st.monitor_ring == 1 )
        return set_result(r, DRAIN_EXIT_FAILED_CHANGED, "disable", 0,
                          "%s: %s stopped and removed its ownership record, but the ring is still there (its safe disable failed?); run stop --force to rescue the guest",
                          d->label, who);
    if ( d->nr_stuck )
        return set_result(r, DRAIN_EXIT_FAILED_CHANGED, "watch", 0,
                          "%s: %s stopped and its ring is gone, but vCPU %s look%s stuck; run stop --force to answer them through a fresh ring",
                          d->label, who, stuck, d->nr_stuck == 1 ? "s" : "");
    return set_result(r, DRAIN_EXIT_SUCCESS, NULL, 0,
                      "%s: %s stopped and disabled its ring safely in %" PRIu64 ".%03" PRIu64 " s; no vCPU is stuck%s",
                      d->label, who, si->waited_ms / 1000, si->waited_ms % 1000,
                      d->stuck_checked ? "" : " (not checked: the domain is paused or shut down)");
}

static int do_signal(vmeventctl_handle *h, struct dom *d, const struct opts *o,
                     struct stop_info *si, struct result *r)
{
    pid_t pid = d->owner.pid;
    uint64_t start_time = d->owner.start_time, t0, deadline;
    struct vmeventctl_owner now;

    si->signal_pid = pid;
    if ( interrupted() )
        return set_result(r, DRAIN_EXIT_INTERRUPTED, "signal", EINTR,
                          "%s: interrupted; nothing was changed", d->label);
    /*
     * Root signals whatever process has the pid now: read the record again
     * and check the start time just before, so a pid recycled since the
     * sample is never signalled.
     */
    if ( vmeventctl_owner_get(h, d->domid, &now) )
    {
        if ( errno != EBADMSG )
            return set_result(r, DRAIN_EXIT_FAILED, "signal", errno,
                              "%s: cannot read the ownership record " RECORD_FMT " again: %s; nothing was changed",
                              d->label, d->domid, strerror(errno));
        si->owner_died = 1;  /* a record nobody alive wrote */
        return after_owner(h, d, o, si, r);
    }
    if ( now.state != VMEVENTCTL_OWNER_LIVE || now.pid != pid || now.start_time != start_time )
    {
        /* It went, or the ring changed hands, since the sample. */
        if ( now.state == VMEVENTCTL_OWNER_NONE || now.pid != pid )
            si->owner_stopped = 1;
        else
            si->owner_died = 1;
        return after_owner(h, d, o, si, r);
    }
    say("%s: the ring's owner, pid %d (%s), is alive: asking it to stop (SIGTERM)",
        d->label, (int)pid, d->owner.comm);
    if ( kill(pid, SIGTERM) )
    {
        if ( errno != ESRCH )
            return set_result(r, DRAIN_EXIT_FAILED, "signal", errno,
                              "%s: cannot send SIGTERM to pid %d (%s): %s; nothing was changed",
                              d->label, (int)pid, d->owner.comm, strerror(errno));
        /* It exited between the sample and now: look again. */
        si->owner_died = 1;
        return after_owner(h, d, o, si, r);
    }
    si->signal_sent = 1;

    t0 = now_ms();
    deadline = t0 + o->timeout_ms;
    for ( ;; )
    {
        if ( vmeventctl_owner_get(h, d->domid, &now) )
        {
            if ( errno != EBADMSG )
                return set_result(r, DRAIN_EXIT_FAILED_CHANGED, "wait", errno,
                                  "%s: pid %d was sent SIGTERM, but its ownership record cannot be read any more: %s; see xen-vmevent-drain status %u",
                                  d->label, (int)pid, strerror(errno), d->domid);
            si->owner_died = 1;
            break;
        }
        if ( now.state == VMEVENTCTL_OWNER_NONE )
        {
            si->owner_stopped = 1;
            break;
        }
        if ( now.pid != pid || now.start_time != start_time )
        {
            si->owner_stopped = 1;  /* another one took over: after_owner says so */
            break;
        }
        if ( now.state == VMEVENTCTL_OWNER_DEAD )
        {
            si->owner_died = 1;
            break;
        }
        if ( now_ms() >= deadline )
        {
            si->waited_ms = now_ms() - t0;
            return set_result(r, DRAIN_EXIT_REFUSED, "wait", ETIMEDOUT,
                              "%s: pid %d (%s) was sent SIGTERM but still owns the ring after %u.%03u s: it may still be finishing its safe disable, or it ignores SIGTERM; nothing else was done. Run stop again (perhaps with a longer --timeout); if the agent hangs, kill it (kill -KILL %d) and run stop to rescue the guest",
                              d->label, (int)pid, d->owner.comm, o->timeout_ms / 1000,
                              o->timeout_ms % 1000, (int)pid);
        }
        if ( sleep_ms(POLL_MS) )
        {
            si->waited_ms = now_ms() - t0;
            return set_result(r, DRAIN_EXIT_INTERRUPTED, "wait", EINTR,
                              "%s: interrupted while waiting for pid %d (%s): it was sent SIGTERM and may still be disabling its ring; see xen-vmevent-drain status %u",
                              d->label, (int)pid, d->owner.comm, d->domid);
        }
    }
    si->waited_ms = now_ms() - t0;
    return after_owner(h, d, o, si, r);
}

/* {"state": "reset", "errno": null, "error": null} */
static void json_leftover(struct drain_json *j, const char *key,
                          enum vmeventctl_leftover state, int err)
{
    drain_json_object(j, key);
    drain_json_str(j, "state", vmeventctl_leftover_name(state));
    if ( err )
    {
        drain_json_int(j, "errno", err);
        drain_json_str(j, "error", strerror(err));
    }
    else
    {
        drain_json_null(j, "errno");
        drain_json_null(j, "error");
    }
    drain_json_object_end(j);
}

static void print_stop_json(const struct dom *d, const struct opts *o,
                            const struct stop_info *si, const struct result *r,
                            char steps[][256], unsigned int nr_steps)
{
    const struct vmeventctl_rescue_report *rep = &si->rep;
    struct drain_json j;
    unsigned int i;

    drain_json_begin(&j, stdout);
    json_common(&j, "stop", d, r);
    drain_json_bool(&j, "dry_run", o->dry_run);
    drain_json_bool(&j, "force", o->force);
    drain_json_bool(&j, "force_may_hang_xen", o->force == FORCE_MAY_HANG_XEN);
    json_ring(&j, d);
    if ( d->have_status )
        drain_json_bool(&j, "controller_paused", d->st.controller_paused);
    else
        drain_json_null(&j, "controller_paused");
    json_owner(&j, d);
    json_stuck(&j, d);
    drain_evidence_json(&j, &d->ev);
    drain_json_str(&j, "action", si->plan.name);
    drain_json_str(&j, "reason", si->plan.name ? si->plan.why : NULL);
    drain_json_array(&j, "plan");
    for ( i = 0; i < nr_steps; i++ )
        drain_json_str(&j, NULL, steps[i]);
    drain_json_array_end(&j);

    if ( si->signal_pid )
    {
        drain_json_object(&j, "signal");
        drain_json_int(&j, "pid", si->signal_pid);
        drain_json_bool(&j, "sent", si->signal_sent);
        drain_json_bool(&j, "owner_stopped", si->owner_stopped);
        drain_json_bool(&j, "owner_died", si->owner_died);
        drain_json_uint(&j, "waited_ms", si->waited_ms);
        drain_json_object_end(&j);
    }
    else
        drain_json_null(&j, "signal");

    if ( si->rescued )
    {
        drain_json_object(&j, "rescue");
        drain_json_array(&j, "flags");
        if ( si->plan.flags & VMEVENTCTL_RESCUE_FORCE )
            drain_json_str(&j, NULL, "force");
        if ( si->plan.flags & VMEVENTCTL_RESCUE_NO_RING )
            drain_json_str(&j, NULL, "no-ring");
        if ( si->plan.flags & VMEVENTCTL_RESCUE_RISK_LIVE_AGENT )
            drain_json_str(&j, NULL, "risk-live-agent");
        drain_json_array_end(&j);
        drain_json_bool(&j, "ok", si->rescue_rc == 0);
        drain_json_str(&j, "failed_step", rep->failed_step == VMEVENTCTL_RESCUE_STEP_NONE ?
                       NULL : vmeventctl_rescue_step_name(rep->failed_step));
        if ( rep->error )
        {
            drain_json_int(&j, "errno", rep->error);
            drain_json_str(&j, "error", strerror(rep->error));
        }
        else
        {
            drain_json_null(&j, "errno");
            drain_json_null(&j, "error");
        }
        drain_json_bool(&j, "dead_ring_found", rep->dead_ring_found);
        drain_json_bool(&j, "dead_ring_disabled", rep->dead_ring_disabled);
        drain_json_bool(&j, "fresh_ring_disabled", rep->fresh_ring_disabled);
        drain_json_uint(&j, "vcpus_answered", rep->vcpus_answered);
        drain_json_uint(&j, "batches", rep->batches);
        drain_json_uint(&j, "vcpus_stuck", rep->vcpus_stuck);
        drain_json_bool(&j, "guest_changed", rep->guest_changed);
        drain_json_uint(&j, "paused_ns", rep->paused_ns);
        drain_json_uint(&j, "total_ns", rep->total_ns);
        drain_json_object(&j, "leftovers");
        json_leftover(&j, "access_required", rep->access_required, rep->access_required_errno);
        json_leftover(&j, "mem_access", rep->mem_access, rep->mem_access_errno);
        json_leftover(&j, "single_step", rep->single_step, rep->single_step_errno);
        json_leftover(&j, "altp2m", rep->altp2m, rep->altp2m_errno);
        drain_json_object_end(&j);
        drain_json_object_end(&j);
    }
    else
        drain_json_null(&j, "rescue");
    drain_json_bool(&j, "record_cleared", si->record_cleared);
    drain_json_bool(&j, "replies_lost", si->replies_lost);
    drain_json_bool(&j, "interrupted", si->interrupted);
    drain_json_end(&j);
}

static int stop_one(vmeventctl_handle *h, const struct opts *o, const char *arg)
{
    char steps[MAX_STEPS][256];
    unsigned int nr_steps = 0, i;
    struct result r = { 0 };
    struct stop_info si;
    struct dom d;

    memset(&si, 0, sizeof(si));
    dom_init(&d, arg);
    if ( inspect(h, &d, &r) )
        goto out;
    if ( d.st.monitor_ring < 0 )
    {
        set_result(&r, DRAIN_EXIT_FAILED, "probe", d.st.monitor_probe_errno,
                   "%s: cannot tell whether a ring exists: the probe (xc_monitor_resume) failed: %s; nothing was changed",
                   d.label, strerror(d.st.monitor_probe_errno));
        goto out;
    }
    if ( d.own == OWN_ERROR )
    {
        set_result(&r, DRAIN_EXIT_FAILED, "owner", d.owner_errno,
                   "%s: cannot read the ownership record " RECORD_FMT ": %s; nothing was changed",
                   d.label, d.domid, strerror(d.owner_errno));
        goto out;
    }
    if ( d.st.xen_interface_version != VMEVENTCTL_INTERFACE_VERSION )
    {
        if ( d.st.xen_interface_version < 0 )
            set_result(&r, DRAIN_EXIT_FAILED, "check", EPROTONOSUPPORT,
                       "%s: cannot read Xen's vm_event interface version; nothing was changed",
                       d.label);
        else
            set_result(&r, DRAIN_EXIT_FAILED, "check", EPROTONOSUPPORT,
                       "%s: Xen speaks vm_event interface version %d, but this tool was built for %d: Xen would silently drop its answers and the guest would stay frozen; nothing was changed",
                       d.label, d.st.xen_interface_version, VMEVENTCTL_INTERFACE_VERSION);
        goto out;
    }

    if ( d.st.monitor_ring == 1 && d.own == OWN_NONE && o->force == FORCE_RECORDLESS && d.ev.err )
    {
        set_result(&r, DRAIN_EXIT_FAILED, "port evidence", d.ev.err,
                   "%s: port evidence: cannot tell whether a live process is bound to the ring's port: EVTCHNOP_status of %s port %u failed: %s; nothing was changed",
                   d.label, d.ev.ports.failed_domid ? "the guest's" : "dom0's",
                   d.ev.ports.failed_port, strerror(d.ev.err));
        goto out;
    }

    plan_stop(&d, o->force, &si.plan);
    nr_steps = plan_steps(&d, &si.plan, o, steps);

    if ( o->dry_run )
    {
        switch ( si.plan.act )
        {
        case ACT_NONE:
            set_result(&r, DRAIN_EXIT_NOTHING, NULL, 0, "%s: dry run: %s", d.label, si.plan.why);
            break;
        case ACT_REFUSE:
            set_result(&r, DRAIN_EXIT_REFUSED, "check", 0, "%s: dry run: stop would refuse: %s",
                       d.label, si.plan.why);
            break;
        default:
            set_result(&r, si.plan.act == ACT_CLEAR_STALE ? DRAIN_EXIT_NOTHING : DRAIN_EXIT_SUCCESS,
                       NULL, 0, "%s: dry run: nothing was changed", d.label);
            say("%s: dry run: %s; stop would:", d.label, si.plan.why);
            for ( i = 0; i < nr_steps; i++ )
                say("  %u. %s", i + 1, steps[i]);
            if ( si.plan.act == ACT_RESCUE )
                say("  whatever the dead agent's pending replies would have done would be lost");
            break;
        }
        goto out;
    }

    switch ( si.plan.act )
    {
    case ACT_NONE:
        set_result(&r, DRAIN_EXIT_NOTHING, NULL, 0, "%s: %s", d.label, si.plan.why);
        break;
    case ACT_REFUSE:
        set_result(&r, DRAIN_EXIT_REFUSED, "check", 0, "%s: refused: %s; nothing was changed",
                   d.label, si.plan.why);
        break;
    case ACT_CLEAR_STALE:
        do_clear_stale(h, &d, &si, &r, DRAIN_EXIT_NOTHING,
                       "no monitor ring and no stuck vCPU: nothing to do for the guest");
        break;
    case ACT_SIGNAL:
        do_signal(h, &d, o, &si, &r);
        break;
    case ACT_RESCUE:
        say("%s: %s", d.label, si.plan.why);
        do_rescue(h, &d, &si, si.plan.flags, &r);
        break;
    }

 out:
    si.interrupted = interrupted();
    if ( o->json )
        print_stop_json(&d, o, &si, &r, steps, nr_steps);
    print_result(&r);
    if ( si.replies_lost && !o->json && !o->quiet )
        printf("%s: whatever the dead agent's pending replies would have done (register changes, emulation, deferred writes) is lost\n",
               d.label);
    if ( si.interrupted && r.code != DRAIN_EXIT_INTERRUPTED )
        fprintf(stderr, PROG ": %s: interrupted by a signal; the step in progress was finished first\n",
                d.label);
    dom_release(&d);
    return r.code;
}

/*
 * The command line.
 */
static void usage(FILE *f)
{
    fputs("Usage: " PROG " [OPTIONS] status DOMAIN...\n"
          "       " PROG " [OPTIONS] stop DOMAIN\n"
          "Make a guest safely free of vm_event introspection, whatever state its agent\n"
          "left it in.  DOMAIN is a domain id or name.\n"
          "\n"
          "Commands:\n"
          "  status DOMAIN...    show each domain's monitor ring, its owner, its vCPUs and\n"
          "                      which of them look stuck waiting for a reply\n"
          "  stop DOMAIN         end introspection safely: ask a live agent to stop, or\n"
          "                      rescue a guest whose agent died\n"
          "\n"
          "Options:\n"
          "  -n, --dry-run       stop: print the steps it would take; change nothing\n"
          "  -f, --force         stop: also take a ring no ownership record claims (an\n"
          "                      agent of another tool), or answer stuck vCPUs with no ring;\n"
          "                      refuses while a dom0 process is bound to the ring's port\n"
          "      --force-may-hang-xen\n"
          "                      stop: --force even while a dom0 process is bound to the\n"
          "                      ring's port (a live agent): its notify racing the disable\n"
          "                      can hang or crash the hypervisor\n"
          "  -t, --timeout SECS  stop: wait up to SECS for a live agent to stop (default 10)\n"
          "  -j, --json          one JSON object per domain, one per line\n"
          "  -v, --verbose       also print libvmeventctl's messages, step by step\n"
          "  -q, --quiet         print errors only\n"
          "  -h, --help          print this help and exit\n"
          "  -V, --version       print the version and exit\n"
          "\n"
          "Exit status: 0 done, 1 nothing to do, 2 usage error, 3 refused (nothing\n"
          "changed), 4 failed (the guest is as it was), 5 failed after changing the\n"
          "guest, 6 interrupted.  See xen-vmevent-drain(8).\n", f);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry '" PROG " --help'.\n", stderr);
    return DRAIN_EXIT_USAGE;
}

static int parse_timeout(const char *s, unsigned int *ms)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if ( errno || end == s || *end || !isfinite(v) || v <= 0 || v > MAX_TIMEOUT_S )
        return -1;
    *ms = (unsigned int)(v * 1000 + 0.5);
    if ( *ms == 0 )
        *ms = 1;
    return 0;
}

/* Returns -1 to go on, or the exit status. */
static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {
        { "dry-run", no_argument, NULL, 'n' },
        { "force", no_argument, NULL, 'f' },
        { "force-may-hang-xen", no_argument, NULL, 'H' },
        { "timeout", required_argument, NULL, 't' },
        { "json", no_argument, NULL, 'j' },
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    const char *cmd;
    int c;

    memset(o, 0, sizeof(*o));
    o->timeout_ms = DEFAULT_TIMEOUT_MS;

    /* glibc: 0 re-initialises getopt, which drain_main may be run again. */
    optind = 0;
    opterr = 1;
    while ( (c = getopt_long(argc, argv, "nft:jvqhV", longopts, NULL)) != -1 )
    {
        switch ( c )
        {
        case 'n': o->dry_run = 1; break;
        case 'f':
            if ( !o->force )
                o->force = FORCE_RECORDLESS;
            break;
        case 'H': o->force = FORCE_MAY_HANG_XEN; break;
        case 't':
            if ( parse_timeout(optarg, &o->timeout_ms) )
                return usage_error("--timeout takes a number of seconds, more than 0 and at most %d, not '%s'",
                                   MAX_TIMEOUT_S, optarg);
            o->timeout_given = 1;
            break;
        case 'j': o->json = 1; break;
        case 'v': o->verbose = 1; break;
        case 'q': o->quiet = 1; break;
        case 'h':
            usage(stdout);
            return DRAIN_EXIT_SUCCESS;
        case 'V':
            printf(PROG " (libvmeventctl) " PACKAGE_VERSION "\n");
            return DRAIN_EXIT_SUCCESS;
        default:
            /* getopt_long has said what is wrong. */
            fputs("Try '" PROG " --help'.\n", stderr);
            return DRAIN_EXIT_USAGE;
        }
    }
    if ( o->verbose && o->quiet )
        return usage_error("--verbose and --quiet do not go together");
    if ( optind >= argc )
        return usage_error("no command given: status or stop");

    cmd = argv[optind++];
    o->domains = argv + optind;
    o->nr_domains = argc - optind;
    if ( !strcmp(cmd, "status") )
    {
        o->cmd = CMD_STATUS;
        if ( o->nr_domains < 1 )
            return usage_error("status needs at least one DOMAIN (a domain id or name)");
        if ( o->dry_run || o->force || o->timeout_given )
            return usage_error("--dry-run, --force and --timeout apply to stop only");
    }
    else if ( !strcmp(cmd, "stop") )
    {
        o->cmd = CMD_STOP;
        if ( o->nr_domains != 1 )
            return usage_error("stop takes exactly one DOMAIN (a domain id or name)");
    }
    else
        return usage_error("unknown command '%s': status or stop", cmd);
    return -1;
}

/* vmeventctl_open() failed: say why in the administrator's words. */
static int open_failed(const struct opts *o, int err)
{
    struct result r = { 0 };
    struct dom d;
    int i;

    if ( access(PRIVCMD, F_OK) )
        set_result(&r, DRAIN_EXIT_FAILED, "open", err,
                   "cannot open the hypervisor interface (%s): " PRIVCMD " does not exist: run as root in dom0 of a Xen host, with the xen-privcmd module loaded",
                   strerror(err));
    else if ( geteuid() != 0 || access(PRIVCMD, R_OK | W_OK) || err == EACCES || err == EPERM )
        set_result(&r, DRAIN_EXIT_FAILED, "open", err,
                   "cannot open the hypervisor interface (%s): run as root in dom0", strerror(err));
    else
        set_result(&r, DRAIN_EXIT_FAILED, "open", err,
                   "cannot open the Xen interfaces (%s): run as root in dom0, with xenstored running and the xen-evtchn module loaded",
                   strerror(err));

    if ( !o->json )
    {
        print_result(&r);
        return r.code;
    }
    fprintf(stderr, PROG ": %s\n", r.msg);
    for ( i = 0; i < o->nr_domains; i++ )
    {
        dom_init(&d, o->domains[i]);
        if ( o->cmd == CMD_STATUS )
            print_status_json(&d, &r, NULL, 0);
        else
        {
            struct stop_info si;

            memset(&si, 0, sizeof(si));
            print_stop_json(&d, o, &si, &r, NULL, 0);
        }
    }
    return r.code;
}

int drain_main(int argc, char **argv)
{
    xentoollog_logger_stdiostream *logger;
    struct sigaction sa, old_int, old_term;
    vmeventctl_handle *h;
    struct opts o;
    int rc, i;

    rc = parse_args(argc, argv, &o);
    if ( rc >= 0 )
        return rc;
    out_opts = &o;
    reports_printed = 0;

    /*
     * libvmeventctl's messages only with -v: the tool says itself what
     * failed, in an administrator's words, and libxenctrl would log a
     * failed ring probe (ENODEV) as an error when it is the answer sought.
     */
    logger = xtl_createlogger_stdiostream(stderr, o.verbose ? XTL_DETAIL : XTL_CRITICAL, 0);
    if ( !logger )
    {
        fprintf(stderr, PROG ": cannot create a logger: %s\n", strerror(errno));
        out_opts = NULL; /* points into this frame */
        return DRAIN_EXIT_FAILED;
    }
    h = vmeventctl_open((xentoollog_logger *)logger, 0);
    if ( !h )
    {
        rc = open_failed(&o, errno);
        goto out_logger;
    }

    sig_count = 0;
    sig_phase = PHASE_IDLE;
    sig_handle = h;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* One handler at a time: the count and the phase are read whole. */
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sa.sa_flags = 0;  /* no SA_RESTART: a signal cuts sleeps short */
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    if ( o.cmd == CMD_STATUS )
    {
        rc = DRAIN_EXIT_SUCCESS;
        for ( i = 0; i < o.nr_domains; i++ )
        {
            int one;

            if ( interrupted() )
            {
                struct result r = { 0 };
                struct dom d;

                dom_init(&d, o.domains[i]);
                set_result(&r, DRAIN_EXIT_INTERRUPTED, "status", EINTR,
                           "%s: not examined: interrupted", d.label);
                if ( o.json )
                    print_status_json(&d, &r, NULL, 0);
                else
                    print_result(&r);
                rc = DRAIN_EXIT_INTERRUPTED;
                continue;
            }
            one = status_one(h, &o, o.domains[i]);
            if ( one == DRAIN_EXIT_INTERRUPTED )
                rc = one;
            else if ( one && rc != DRAIN_EXIT_INTERRUPTED )
                rc = DRAIN_EXIT_FAILED;
        }
    }
    else
        rc = drain_exit_status(stop_one(h, &o, o.domains[0]));

    fflush(stdout);
    sig_handle = NULL;
    vmeventctl_close(h);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
 out_logger:
    xtl_logger_destroy((xentoollog_logger *)logger);
    fflush(stdout);
    fflush(stderr);
    out_opts = NULL;
    return rc;
}
