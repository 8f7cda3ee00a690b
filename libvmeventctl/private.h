/*
 * private.h: the handle and ring bodies, and internal helpers of
 * libvmeventctl.  Not installed.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#ifndef VMEVENTCTL_PRIVATE_H
#define VMEVENTCTL_PRIVATE_H

#include <signal.h>
#include <stdint.h>
#include <time.h>

#include <xenctrl.h>
#include <xenevtchn.h>
#include <xenstore.h>
#include <xentoollog.h>

#include "vmeventctl.h"

#define VMEVENTCTL_EXPORT __attribute__((visibility("default")))

struct vmeventctl_handle {
    xentoollog_logger *logger;
    xentoollog_logger_stdiostream *own_logger; /* NULL if the caller's */
    xc_interface *xch;
    xenevtchn_handle *xce;
    struct xs_handle *xsh;

    /* vmeventctl_request_stop(): a flag and a self-pipe to wake poll(). */
    volatile sig_atomic_t stop;
    int stop_pipe[2];

    vmeventctl_ring *rings;   /* rings enabled through this handle */
};

/* What the safe disable knows of one vCPU it (or the agent) answered. */
/*
 * Slots of a one-page vm_event ring: 400-byte entries after the 64-byte
 * header, rounded down to a power of two (public/io/ring.h): 8.  With more
 * vCPUs than this, guest vCPUs can sleep on the ring's wait queue.
 */
#define VMEVENTCTL__RING_SLOTS ((unsigned int)__CONST_RING_SIZE(vm_event, XC_PAGE_SIZE))

/* leftovers.c */
/*
 * Resets what a dead agent left that the monitor disable does not clear
 * (access_required, mem_access with a ring, single-step; altp2m is only
 * read) and says so in rep's leftover fields.  Returns 0, or -1 with the
 * errno of the first reset that failed (each is logged).
 */
int vmeventctl__reset_leftovers(vmeventctl_handle *h, uint32_t domid,
                                unsigned int nr_vcpus, int ring,
                                struct vmeventctl_rescue_report *rep);

/* vcpu.c */
/* 1 if the vCPU's state allows it to be paused by vm_event. */
int vmeventctl__vcpu_may_wait(const xc_vcpuinfo_t *vi);
/*
 * vCPUs that read as paused by vm_event and whose cpu_time does not move
 * for window_ms.  Returns their number, or -1 with errno (logged against
 * step).  Changes nothing.
 */
int vmeventctl__vcpus_stuck(vmeventctl_handle *h, uint32_t domid,
                            unsigned int nr_vcpus, unsigned int window_ms,
                            const char *step);

struct vcpu_track {
    uint8_t answered;   /* answered since the settle last saw it run */
    uint8_t have_snap;
    uint64_t snap_ns;   /* cpu_time when the settle first looked */
};

struct vmeventctl_ring {
    vmeventctl_handle *h;
    vmeventctl_ring *next;

    uint32_t domid;
    enum vmeventctl_ring_kind kind;
    void *page;                  /* the ring page from xc_monitor_enable */
    vm_event_back_ring_t back;
    uint32_t xen_port;           /* guest-side port Xen consumes */
    evtchn_port_t port;          /* ours, bound to xen_port; ~0 if unbound */
    int bound;

    unsigned int events;         /* VMEVENTCTL_EVENT_* we turned on */
    unsigned int queued;         /* answers not yet pushed */
    int notify_owed;             /* pushed answers Xen was not told of */
    unsigned int batch_answered; /* by the last answer_all, even one that failed */
    unsigned int invalid;        /* malformed requests consumed */

    unsigned int nr_vcpus;
    struct vcpu_track *vcpus;
};

/* Logging: every message names the domain and the step. */
/* Logging never changes errno: callers set it before they log. */
#define LOG(h, lvl, errnoval, domid, step, fmt, ...)                        \
    do {                                                                    \
        int log_errno_ = errno;                                             \
        xtl_log((h)->logger, (lvl), (errnoval), "libvmeventctl",          \
                "domain %u: %s: " fmt, (unsigned int)(domid), (step),     \
                ##__VA_ARGS__);                                             \
        errno = log_errno_;                                                 \
    } while ( 0 )
#define LOGE(h, domid, step, fmt, ...) \
    LOG(h, XTL_ERROR, errno, domid, step, fmt, ##__VA_ARGS__)
#define LOGW(h, domid, step, fmt, ...) \
    LOG(h, XTL_WARN, -1, domid, step, fmt, ##__VA_ARGS__)
#define LOGD(h, domid, step, fmt, ...) \
    LOG(h, XTL_DETAIL, -1, domid, step, fmt, ##__VA_ARGS__)

/* core.c */
uint64_t vmeventctl__now_ns(void);
void vmeventctl__ring_link(vmeventctl_handle *h, vmeventctl_ring *r);
void vmeventctl__ring_unlink(vmeventctl_handle *h, vmeventctl_ring *r);

/* domain.c */
/*
 * Checks that domid names a domain that can have a ring: not dom0, not a
 * reserved id (Xen 4.17.0-4.17.6 crash on vm_event ops with DOMID_INVALID),
 * existing, not dying, HVM or PVH.  Fills *info.  Returns 0, or -1 with
 * errno EINVAL, ESRCH or ENOENT, logged against step.
 */
int vmeventctl__check_target(vmeventctl_handle *h, uint32_t domid,
                             const char *step, xc_domaininfo_t *info);
int vmeventctl__getinfo(vmeventctl_handle *h, uint32_t domid,
                        xc_domaininfo_t *info);
/* Checks Xen's vm_event interface version: 0, or -1 EPROTONOSUPPORT. */
int vmeventctl__check_interface(vmeventctl_handle *h, uint32_t domid,
                                const char *step);

/* evidence.c */
/*
 * Before a ring no record names is taken: 0 when no dom0 process other
 * than ours is bound to a port of the guest that Xen consumes, or when
 * one is but no monitor ring exists (the resume probe answers ENODEV);
 * -1 with errno EISCONN (such a process and a ring: a notify of it could
 * race the disable), or the errno of the evidence or the probe.  Logged
 * against step.  Changes nothing.
 */
int vmeventctl__refuse_live_agent(vmeventctl_handle *h, uint32_t domid,
                                  const char *step);

/* ring.c */
void vmeventctl__ring_free(vmeventctl_ring *r);
/* Unbinds our port, retrying; -1 if any attempt failed (r->bound: still bound). */
int vmeventctl__ring_unbind(vmeventctl_ring *r);
int vmeventctl__monitor_set(vmeventctl_handle *h, uint32_t domid,
                            unsigned int ev, int enable);
const char *vmeventctl__event_name(unsigned int ev);
/*
 * Queues answers to requests read off the ring but never answered.
 * Returns how many; vmeventctl_ring_notify() publishes them.
 */
int vmeventctl__ring_answer_outstanding(vmeventctl_ring *r);
/*
 * xc_monitor_enable for a caller that holds a pause reference on domid
 * (taken before the call).  libxc can return NULL after Xen enabled the
 * ring; such a ring is found with the resume probe and disabled again.
 * Returns the page, or NULL with xc_monitor_enable's errno (the caller
 * logs it); *ring_left: 1 if a ring libxc enabled may still be there
 * (logged against step).
 */
void *vmeventctl__monitor_enable(vmeventctl_handle *h, uint32_t domid,
                                 const char *step, uint32_t *port, int *ring_left);

/* owner.c */
/* The record's xenstore path for domid (80 bytes are enough). */
void vmeventctl__owner_path(char *buf, size_t len, uint32_t domid);
/*
 * pauses: how many controller pause references we may hold from now until
 * the next write, so that a successor can release them if we die.  Write it
 * before taking them; remove the record only after releasing them.
 */
int vmeventctl__owner_write(vmeventctl_handle *h, uint32_t domid, unsigned int pauses);
int vmeventctl__owner_remove(vmeventctl_handle *h, uint32_t domid);
/*
 * vmeventctl_owner_get(), and the record's text in *raw (if raw; NULL when
 * there is none, set also when it does not parse) for the caller to free.
 */
int vmeventctl__owner_read(vmeventctl_handle *h, uint32_t domid,
                           struct vmeventctl_owner *o, char **raw);
/*
 * Pause references a dead owner may have left: its "paused N", if the
 * domain (info, as found) is controller-paused at all (XEN_DOMINF_paused
 * is controller_pause_count > 0); else none.
 */
static inline unsigned int vmeventctl__owner_pauses_left(const struct vmeventctl_owner *o,
                                                         const xc_domaininfo_t *info)
{
    if ( o->state != VMEVENTCTL_OWNER_DEAD || !(info->flags & XEN_DOMINF_paused) )
        return 0;
    return o->pauses;
}
/*
 * Before an enable: refuses with EBUSY when the record names a live owner,
 * or a dead one that may have left the domain (info, as found) paused;
 * otherwise writes ours with "paused N".  *prev: a dead owner's record to
 * put back with vmeventctl__owner_unclaim() if the enable fails (NULL: none).
 */
int vmeventctl__owner_claim(vmeventctl_handle *h, uint32_t domid,
                            const xc_domaininfo_t *info, unsigned int pauses,
                            char **prev);
/* Writes text, a record read earlier, back as the record. */
int vmeventctl__owner_restore(vmeventctl_handle *h, uint32_t domid, const char *text);
/* Puts prev back (and frees it), or removes the record when prev is NULL. */
int vmeventctl__owner_unclaim(vmeventctl_handle *h, uint32_t domid, char *prev);

#endif /* VMEVENTCTL_PRIVATE_H */
