/*
 * stress-health.c: what xen-evtchn-stress checks before its first mode and
 * after every mode.
 *
 *  hypervisor     xc_version answers;
 *  dom0_channels  a fresh dom0 loopback channel delivers: a notify on one
 *                 handle wakes poll() on the other, three times;
 *  guest          the domain still exists, is not dying or shut down, and
 *                 no online vCPU is stuck: one that reads online, not
 *                 running, not blocked, with cpu_time not moving, while the
 *                 domain is not controller-paused (what a vCPU waiting for
 *                 a vm_event reply looks like on Xen 4.17, XEN-FACTS.md);
 *  ring           no monitor ring is left enabled (the resume probe);
 *  pause          the controller pause state is as we found it;
 *  fresh_ring     libvmeventctl can still enable a ring and disable it
 *                 safely (after a mode only, when a ring mode is asked for).
 * Before the first mode a failed check is an ERROR (the host was not sane
 * before we touched it); afterwards it is a FAILURE.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stress.h"

#define LOOPBACK_ROUNDS      3
#define LOOPBACK_TIMEOUT_MS  2000
#define GUEST_SAMPLES        8
#define GUEST_SAMPLE_MS      250

const char *const stress_check_names[STRESS_NR_CHECKS] = {
    [STRESS_CHECK_HYPERVISOR]    = "hypervisor",
    [STRESS_CHECK_DOM0_CHANNELS] = "dom0_channels",
    [STRESS_CHECK_GUEST]         = "guest",
    [STRESS_CHECK_RING]          = "ring",
    [STRESS_CHECK_PAUSE]         = "pause",
    [STRESS_CHECK_FRESH_RING]    = "fresh_ring",
};

static void set_check(struct stress_check *ck, enum stress_verdict v,
                      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_check(struct stress_check *ck, enum stress_verdict v,
                      const char *fmt, ...)
{
    va_list ap;

    ck->ran = 1;
    ck->verdict = v;
    va_start(ap, fmt);
    vsnprintf(ck->detail, sizeof(ck->detail), fmt, ap);
    va_end(ap);
}

static void check_hypervisor(struct stress_ctx *c, struct stress_check *ck)
{
    int v;

    stress_call_begin(&c->main_slot, "xc_version");
    v = xc_version(c->xch, XENVER_version, NULL);
    stress_call_end(&c->main_slot);
    if ( v < 0 )
        set_check(ck, STRESS_FAILURE, "xc_version did not answer: %s", strerror(errno));
    else
        set_check(ck, STRESS_SUCCESS, "Xen %d.%d answers", v >> 16, v & 0xffff);
}

/* Waits for port on x's fd; returns the port read, 0 on timeout, -1. */
static int wait_port(xenevtchn_handle *x, int fd, int timeout_ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    int n;

    do
        n = poll(&pfd, 1, timeout_ms);
    while ( n < 0 && errno == EINTR );
    if ( n <= 0 )
        return n;
    n = xenevtchn_pending(x);
    return n < 0 ? -1 : n;
}

static void check_dom0_channels(struct stress_ctx *c, struct stress_check *ck)
{
    xenevtchn_handle *a = NULL, *b = NULL;
    xenevtchn_port_or_error_t pa = -1, pb = -1;
    uint64_t worst = 0;
    const char *call = "xenevtchn_open";
    unsigned int round;
    int fd;

    stress_call_begin(&c->main_slot, call);
    a = xenevtchn_open(NULL, 0);
    b = a ? xenevtchn_open(NULL, 0) : NULL;
    if ( b )
    {
        call = "xenevtchn_bind_unbound_port";
        pa = xenevtchn_bind_unbound_port(a, 0);
    }
    if ( pa >= 0 )
    {
        call = "xenevtchn_bind_interdomain";
        pb = xenevtchn_bind_interdomain(b, 0, (evtchn_port_t)pa);
    }
    stress_call_end(&c->main_slot);
    if ( pb < 0 )
    {
        set_check(ck, STRESS_FAILURE, "cannot make a dom0 loopback channel: %s: %s", call,
                  strerror(errno));
        goto out;
    }

    fd = xenevtchn_fd(a);
    for ( round = 1; round <= LOOPBACK_ROUNDS; round++ )
    {
        uint64_t t0 = stress_now_ns(), t;
        int got;

        stress_call_begin(&c->main_slot, "xenevtchn_notify");
        got = xenevtchn_notify(b, (evtchn_port_t)pb);
        stress_call_end(&c->main_slot);
        if ( got )
        {
            set_check(ck, STRESS_FAILURE, "notify on dom0 loopback port %d failed: %s", pb,
                      strerror(errno));
            goto out;
        }
        /* poll() is not a Xen call: not under the fake's lock. */
        got = wait_port(a, fd, LOOPBACK_TIMEOUT_MS);
        if ( got == 0 )
        {
            set_check(ck, STRESS_FAILURE,
                      "a dom0 loopback notification (port %d to %d) was not delivered within %d ms, round %u of %u",
                      pb, pa, LOOPBACK_TIMEOUT_MS, round, LOOPBACK_ROUNDS);
            goto out;
        }
        if ( got < 0 || got != pa )
        {
            set_check(ck, STRESS_FAILURE, "reading the dom0 loopback channel: %s",
                      got < 0 ? strerror(errno) : "another port was pending");
            goto out;
        }
        t = stress_now_ns() - t0;
        if ( t > worst )
            worst = t;
        stress_call_begin(&c->main_slot, "xenevtchn_unmask");
        got = xenevtchn_unmask(a, (evtchn_port_t)pa);
        stress_call_end(&c->main_slot);
        if ( got )
        {
            set_check(ck, STRESS_FAILURE, "cannot unmask dom0 port %d: %s", pa, strerror(errno));
            goto out;
        }
    }
    set_check(ck, STRESS_SUCCESS, "%u notifications delivered, slowest in %" PRIu64 " us",
              LOOPBACK_ROUNDS, worst / 1000);

 out:
    /* Closing a handle unbinds its ports. */
    stress_call_begin(&c->main_slot, "xenevtchn_close");
    xenevtchn_close(b);
    xenevtchn_close(a);
    stress_call_end(&c->main_slot);
}

static int domain_status(struct stress_ctx *c, struct vmeventctl_domain_status *st)
{
    int rc;

    stress_call_begin(&c->main_slot, "vmeventctl_domain_status");
    rc = vmeventctl_domain_status(c->h, c->domid, st);
    stress_call_end(&c->main_slot);
    return rc;
}

static void sleep_ms(unsigned int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    while ( nanosleep(&ts, &ts) && errno == EINTR )
        ;
}

/*
 * The guest, ring and pause checks, from a few status samples over up to
 * GUEST_SAMPLES * GUEST_SAMPLE_MS: a vCPU counts as alive once it is seen
 * running or blocked, or its cpu_time moved since the first sample.
 */
static void check_guest(struct stress_ctx *c, struct stress_health *hl, int pre)
{
    struct stress_check *g = &hl->c[STRESS_CHECK_GUEST];
    struct stress_check *rg = &hl->c[STRESS_CHECK_RING];
    struct stress_check *pz = &hl->c[STRESS_CHECK_PAUSE];
    struct vmeventctl_domain_status s0, s;
    uint8_t alive[256];
    unsigned int i, n, online = 0, stuck = 0, first_stuck = 0, samples = 1;
    int paused_seen;

    if ( domain_status(c, &s0) )
    {
        if ( errno == ESRCH )
            set_check(g, STRESS_FAILURE, "domain %u no longer exists", c->domid);
        else
            set_check(g, STRESS_FAILURE, "cannot read domain %u's state: %s", c->domid,
                      strerror(errno));
        return;
    }

    /* Ring. */
    if ( c->ring_modes )
    {
        if ( s0.monitor_ring == 1 )
            set_check(rg, STRESS_FAILURE, "a monitor ring is still enabled on domain %u", c->domid);
        else if ( s0.monitor_ring < 0 )
            set_check(rg, STRESS_FAILURE, "cannot tell whether a monitor ring is enabled (xc_monitor_resume: %s)",
                      strerror(s0.monitor_probe_errno));
        else
            set_check(rg, STRESS_SUCCESS, "no monitor ring enabled");
    }

    /* Pause. */
    if ( pre )
    {
        c->start_paused = s0.controller_paused;
        set_check(pz, STRESS_SUCCESS, "%s", s0.controller_paused ?
                  "paused by the controller before we started" : "not paused by the controller");
    }
    else if ( s0.controller_paused != c->start_paused )
        set_check(pz, STRESS_FAILURE, "%s", s0.controller_paused ?
                  "the domain is left paused by the controller; it was not when we started" :
                  "the domain was paused by the controller when we started and is not now");
    else
        set_check(pz, STRESS_SUCCESS, "as we found it (%s)",
                  s0.controller_paused ? "paused" : "not paused");

    /* Guest. */
    if ( s0.dying || s0.shutdown )
    {
        set_check(g, STRESS_FAILURE, "domain %u %s", c->domid,
                  s0.dying ? "is dying" : "has shut down (crashed?)");
        vmeventctl_domain_status_release(&s0);
        return;
    }
    n = s0.nr_vcpus < sizeof(alive) ? s0.nr_vcpus : sizeof(alive);
    memset(alive, 0, sizeof(alive));
    paused_seen = s0.controller_paused;
    s = s0;
    s.vcpus = NULL;
    for ( ;; )
    {
        const struct vmeventctl_domain_status *cur = samples == 1 ? &s0 : &s;
        int all = 1;

        online = stuck = 0;
        for ( i = 0; i < n && cur->vcpus; i++ )
        {
            const struct vmeventctl_vcpu_status *v = &cur->vcpus[i];

            if ( !v->online )
                continue;
            online++;
            if ( v->running || v->blocked || v->cpu_time_ns != s0.vcpus[i].cpu_time_ns )
                alive[i] = 1;
            if ( !alive[i] )
            {
                if ( !stuck )
                    first_stuck = i;
                stuck++;
                all = 0;
            }
        }
        if ( all || paused_seen || samples == GUEST_SAMPLES )
            break;
        sleep_ms(GUEST_SAMPLE_MS);
        vmeventctl_domain_status_release(&s);
        if ( domain_status(c, &s) )
        {
            set_check(g, STRESS_FAILURE, "domain %u: status failed while watching its vCPUs: %s",
                      c->domid, strerror(errno));
            vmeventctl_domain_status_release(&s0);
            return;
        }
        samples++;
        paused_seen |= s.controller_paused;
        if ( s.dying || s.shutdown )
        {
            set_check(g, STRESS_FAILURE, "domain %u %s", c->domid,
                      s.dying ? "is dying" : "has shut down (crashed?)");
            goto done;
        }
    }

    if ( paused_seen )
        set_check(g, STRESS_SUCCESS, "%u vCPU(s) online; controller-paused, so not watched",
                  online);
    else if ( stuck )
        set_check(g, STRESS_FAILURE,
                  "%u of %u online vCPU(s) stuck (vCPU %u: online, not running, not blocked, cpu_time still at %" PRIu64 " ns over %u ms)",
                  stuck, online, first_stuck, s0.vcpus[first_stuck].cpu_time_ns,
                  (samples - 1) * GUEST_SAMPLE_MS);
    else
        set_check(g, STRESS_SUCCESS, "%u vCPU(s) online, none stuck", online);

 done:
    vmeventctl_domain_status_release(&s);
    vmeventctl_domain_status_release(&s0);
}

static void check_fresh_ring(struct stress_ctx *c, struct stress_check *ck)
{
    struct vmeventctl_disable_report rep;
    vmeventctl_ring *r;
    uint32_t port;
    int rc;

    stress_call_begin(&c->main_slot, "vmeventctl_ring_enable");
    r = vmeventctl_ring_enable(c->h, c->domid, VMEVENTCTL_RING_MONITOR, 0);
    stress_call_end(&c->main_slot);
    if ( !r )
    {
        set_check(ck, STRESS_FAILURE, "libvmeventctl cannot enable a ring on domain %u: %s",
                  c->domid, strerror(errno));
        return;
    }
    port = vmeventctl_ring_xen_port(r);
    stress_call_begin(&c->main_slot, "vmeventctl_ring_disable");
    rc = vmeventctl_ring_disable(r, 0, &rep);
    stress_call_end(&c->main_slot);
    if ( rc )
        set_check(ck, STRESS_FAILURE, "libvmeventctl's safe disable of a fresh ring came out %s at %s: %s",
                  vmeventctl_disable_outcome_name(rep.outcome),
                  vmeventctl_disable_step_name(rep.failed_step), strerror(errno));
    else
        set_check(ck, STRESS_SUCCESS, "enabled (Xen port %u) and disabled safely: %s", port,
                  vmeventctl_disable_outcome_name(rep.outcome));
}

void stress_health_run(struct stress_ctx *c, struct stress_health *hl, int pre)
{
    unsigned int i;

    memset(hl, 0, sizeof(*hl));
    hl->ran = 1;
    check_hypervisor(c, &hl->c[STRESS_CHECK_HYPERVISOR]);
    check_dom0_channels(c, &hl->c[STRESS_CHECK_DOM0_CHANNELS]);
    if ( c->have_domain )
    {
        check_guest(c, hl, pre);
        if ( !pre && c->ring_modes && hl->c[STRESS_CHECK_RING].ran &&
             hl->c[STRESS_CHECK_RING].verdict == STRESS_SUCCESS )
            check_fresh_ring(c, &hl->c[STRESS_CHECK_FRESH_RING]);
    }

    for ( i = 0; i < STRESS_NR_CHECKS; i++ )
    {
        struct stress_check *ck = &hl->c[i];

        if ( !ck->ran )
            continue;
        /* Before we touched anything, a broken host is the environment's. */
        if ( pre && ck->verdict == STRESS_FAILURE )
            ck->verdict = STRESS_ERROR;
        if ( ck->verdict > hl->verdict )
            hl->verdict = ck->verdict;
    }
}
