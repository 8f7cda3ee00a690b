/*
 * vmeventctl.h: safe control of Xen vm_event rings from dom0.
 *
 * libvmeventctl enables a vm_event ring on a guest, reads and answers its
 * requests, and tears it down without leaving the guest frozen.  Xen 4.17's
 * vm_event_disable does not unpause vCPUs that wait for a reply, and a notify
 * racing the disable can run Xen's callback against a ring being torn down;
 * the safe disable here pauses the domain, answers everything left, and only
 * then disables (see vmeventctl_ring_disable()).
 *
 * Conventions, as in Xen's own libraries (xenevtchn.h, xenctrl.h):
 *  - Handles are opaque.
 *  - Functions return -1 (or NULL) and set errno on failure, keeping the
 *    errno that Xen reported where Xen was the one to fail.
 *  - Messages go through the xentoollog logger given to vmeventctl_open();
 *    each names the domain and the step.
 *  - Nothing here installs signal handlers.  vmeventctl_request_stop() may be
 *    called from one.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#ifndef VMEVENTCTL_H
#define VMEVENTCTL_H

#include <stdint.h>
#include <sys/types.h>

/* vm_event.h is a tools-only interface: Xen hides it without this. */
#ifndef __XEN_TOOLS__
#define __XEN_TOOLS__ 1
#endif
#include <xen/xen.h>
#include <xen/vm_event.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Callers who do not log need not include xentoollog.h. */
struct xentoollog_logger;

typedef struct vmeventctl_handle vmeventctl_handle;
typedef struct vmeventctl_ring vmeventctl_ring;

/*
 * The vm_event interface version this library was built for.  Xen reports
 * its own through xc_vm_event_get_version(); a ring is only enabled where
 * the two are equal, because Xen silently drops a response of another
 * version and the vCPU waiting for it stays paused.
 */
#define VMEVENTCTL_INTERFACE_VERSION VM_EVENT_INTERFACE_VERSION

/*
 * Opens the hypervisor, event channel and xenstore interfaces.
 *
 * logger: where messages go; NULL means a stderr logger at XTL_PROGRESS
 *         that the library creates and frees.
 * flags:  must be 0.
 *
 * Returns a handle, or NULL with errno set: EINVAL (flags), ENOMEM, or the
 * errno of the Xen interface that could not be opened (EACCES or EPERM when
 * not root, ENOENT when /dev/xen/privcmd is absent).  Logs the failure.
 * Leaves nothing open on failure.
 */
vmeventctl_handle *vmeventctl_open(struct xentoollog_logger *logger,
                                   unsigned int flags);

/*
 * Closes a handle.  Rings still enabled through it are disabled safely
 * first (see vmeventctl_ring_disable()).  vmeventctl_close(NULL) is a no-op.
 * Returns 0, or -1 with errno if a ring could not be disabled (logged); the
 * handle is freed either way.
 */
int vmeventctl_close(vmeventctl_handle *h);

/*
 * Asks every wait and drain loop of this handle to stop as soon as it can.
 * Async-signal-safe: meant to be called from a SIGINT/SIGTERM handler.
 * A safe disable in progress is not shortened: letting the answered vCPUs
 * run before the disable is a safety step, so its settle still runs until
 * every vCPU ran or its own timeout passes.
 */
void vmeventctl_request_stop(vmeventctl_handle *h);

/* Returns 1 if vmeventctl_request_stop() was called on h, else 0. */
int vmeventctl_stop_requested(const vmeventctl_handle *h);

/*
 * Domain lookup and status.
 */

/*
 * Resolves a domain given as a decimal id or a name
 * (xenstore /local/domain/N/name).
 * Returns 0 and sets *domid, or -1 with errno: EINVAL (empty string, id out
 * of range, DOMID_INVALID or another reserved id), ESRCH (no domain with that
 * id), ENOENT (no domain with that name), ENOTUNIQ (several domains carry
 * that name), or a xenstore errno.  Logs the failure.
 */
int vmeventctl_domain_lookup(vmeventctl_handle *h, const char *id_or_name,
                             uint32_t *domid);

struct vmeventctl_vcpu_status {
    uint32_t vcpu;
    int online;
    int running;
    int blocked;
    uint32_t cpu;           /* physical CPU it last ran on */
    uint64_t cpu_time_ns;   /* total CPU time consumed */
};

struct vmeventctl_domain_status {
    uint32_t domid;
    int dying;
    int shutdown;
    int hvm;                  /* HVM or PVH: only these have rings */
    int controller_paused;    /* XEN_DOMINF_paused: xc_domain_pause refs */
    unsigned int nr_vcpus;    /* max_vcpu_id + 1 */
    unsigned int nr_online_vcpus;
    /*
     * 1: a monitor ring exists; 0: none; -1: unknown (the probe failed,
     * monitor_probe_errno says why).  Found with xc_monitor_resume, which
     * answers ENODEV when no ring exists; never with an enable.
     */
    int monitor_ring;
    int monitor_probe_errno;
    int xen_interface_version; /* xc_vm_event_get_version(), or -1 */
    struct vmeventctl_vcpu_status *vcpus; /* nr_vcpus entries, or NULL */
};

/*
 * Fills *st for domid.  st->vcpus is allocated; release it with
 * vmeventctl_domain_status_release().  A vCPU whose state cannot be read is
 * reported offline.
 * Returns 0, or -1 with errno: ESRCH (no such domain), EINVAL (DOMID_INVALID),
 * ENOMEM, or the errno of xc_domain_getinfolist.  Logs the failure.  Changes
 * nothing in the domain (the ring probe is a resume, which only makes Xen
 * read responses that are already there).
 */
int vmeventctl_domain_status(vmeventctl_handle *h, uint32_t domid,
                             struct vmeventctl_domain_status *st);
void vmeventctl_domain_status_release(struct vmeventctl_domain_status *st);

/*
 * Rings.
 */
enum vmeventctl_ring_kind {
    VMEVENTCTL_RING_MONITOR = 0,
    VMEVENTCTL_RING_PAGING  = 1,   /* compiled out of Debian's Xen: ENOSYS */
    VMEVENTCTL_RING_SHARING = 2,   /* compiled out of Debian's Xen: ENOSYS */
};

/*
 * Enables a ring on domid, binds its Xen-consumer event channel port,
 * initialises the ring and writes the ownership record (see
 * vmeventctl_owner_get()).
 *
 * Refuses, changing nothing:
 *   EINVAL   dom0, DOMID_INVALID or another reserved id, a PV guest, an
 *            unknown kind, or flags != 0;
 *   ESRCH    no such domain;  EBUSY  a ring already exists (another agent,
 *            or a dead one: see vmeventctl_rescue());
 *   ENOENT   the domain is dying;
 *   EPROTONOSUPPORT  Xen's vm_event interface version is not
 *            VMEVENTCTL_INTERFACE_VERSION;
 *   ENOSYS   paging or sharing on a Xen built without them;
 *   EOPNOTSUPP paging or sharing where Xen has them: this library drives
 *            monitor rings only.
 * Returns the ring, or NULL with errno.  Logs every failure with the domain
 * and the step.  On failure nothing of ours is left: no ring, mapping,
 * bound port, pause reference or ownership record.  (A failed
 * xc_monitor_enable may leave the page it populated in the guest's
 * physmap; that is libxenctrl's.)  libxenctrl can fail after Xen enabled
 * the ring; that ring is found and disabled.  Only when Xen refuses to
 * disable a ring of ours (or the probe for it fails) is it left, named by
 * our ownership record without a pause mark, for a rescue to take.
 * The domain is held paused from before the enable until the ring is
 * initialised and our port bound (no request can be lost in between).
 */
vmeventctl_ring *vmeventctl_ring_enable(vmeventctl_handle *h, uint32_t domid,
                                        enum vmeventctl_ring_kind kind,
                                        unsigned int flags);

uint32_t vmeventctl_ring_domid(const vmeventctl_ring *r);
/* Our local event channel port, bound to Xen's consumer port. */
uint32_t vmeventctl_ring_port(const vmeventctl_ring *r);
/* The guest-side port Xen consumes (from xc_monitor_enable). */
uint32_t vmeventctl_ring_xen_port(const vmeventctl_ring *r);

/* Monitor event sources, enabled through the ring so disable can stop them. */
enum vmeventctl_event {
    VMEVENTCTL_EVENT_CPUID               = 1u << 0,
    VMEVENTCTL_EVENT_SOFTWARE_BREAKPOINT = 1u << 1,
    VMEVENTCTL_EVENT_PRIVILEGED_CALL     = 1u << 2,
};

/*
 * Turns one event source on or off for the ring's domain.  The ring
 * remembers what it turned on; the safe disable turns exactly those off.
 * Returns 0, or -1 with errno: EINVAL (unknown event), EEXIST (Xen: already
 * in that state), or Xen's errno.  Logs failures.
 */
int vmeventctl_ring_monitor(vmeventctl_ring *r, enum vmeventctl_event ev,
                            int enable);
/* The set of events this ring turned on. */
unsigned int vmeventctl_ring_events(const vmeventctl_ring *r);

/*
 * Waits up to timeout_ms (negative: for ever) for a request or a
 * notification.  Interrupted system calls are retried with the time left.
 * Returns 1 when requests may be pending, 0 on timeout, -1 with errno:
 * ECANCELED (vmeventctl_request_stop() was called), or the errno of poll()
 * or of the event channel.
 */
int vmeventctl_ring_wait(vmeventctl_ring *r, int timeout_ms);

/*
 * Copies the next request off the ring into *req.
 * Returns 1 when a request was read, 0 when none is pending, -1 with errno:
 *   EIO      the ring's shared indices are corrupt (req_prod more than a
 *            ring's worth ahead of our consumer index, or of the answers
 *            we published); nothing is consumed;
 *   EBADMSG  a malformed request (version other than
 *            VMEVENTCTL_INTERFACE_VERSION, or vcpu_id beyond the domain's
 *            vCPUs) was consumed and counted; read on.
 * Logs both.
 * Does not log on success.
 */
int vmeventctl_ring_get_request(vmeventctl_ring *r, vm_event_request_t *req);

/*
 * Queues the answer to req: version VM_EVENT_INTERFACE_VERSION, req's
 * vcpu_id, altp2m_idx and reason, and req's VM_EVENT_FLAG_VCPU_PAUSED (the
 * only flag that makes Xen unpause a waiting vCPU), or'd with extra_flags.
 * The default answer lets the guest go on as if unmonitored: for a CPUID
 * request, whose result Xen has already put in the registers while leaving
 * RIP on the instruction, it also sets VM_EVENT_FLAG_SET_REGISTERS with the
 * request's registers and RIP past the instruction.  For a software
 * breakpoint, where Xen leaves RIP on the INT3 and injects nothing, it
 * first re-injects the #BP into the guest, as xen-access does
 * (xc_hvm_inject_trap: vector 3, the request's type and insn_length), so
 * that the guest sees its breakpoint and the vCPU does not run the INT3
 * again and trap again for ever.  Other reasons are answered bare, so the
 * vCPU re-executes what trapped.
 * Requests may be answered in any order (Xen matches an answer to its
 * vCPU by vcpu_id): the library keeps every request read and not yet
 * answered in a slot of its own, and the safe disable answers those.
 * The answer reaches Xen on vmeventctl_ring_notify().
 * Returns 0, or -1 with errno: ENOSPC if there is no request to answer;
 * or the errno of xc_hvm_inject_trap when a breakpoint could not be
 * re-injected (logged): then nothing is queued and the request stays
 * unanswered, to be answered again (which retries the injection) or by
 * the safe disable.
 */
int vmeventctl_ring_put_response(vmeventctl_ring *r,
                                 const vm_event_request_t *req,
                                 uint32_t extra_flags);

/*
 * Publishes queued answers and notifies Xen once for the batch.  Does
 * nothing when no answer is queued.  Returns 0, or -1 with the errno of the
 * notify (logged).
 */
int vmeventctl_ring_notify(vmeventctl_ring *r);

/*
 * Answers every pending request in one batch.  For each request, calls
 * cb(req, rsp, arg) with rsp prefilled as vmeventctl_ring_put_response()
 * would (cb may be NULL, or may adjust rsp's flags and data but not its
 * version or vcpu_id), then publishes and notifies once.
 * A malformed request is skipped (see vmeventctl_ring_get_request()).
 * A software breakpoint whose #BP could not be re-injected is answered all
 * the same and counted (the failure is logged with its errno; the vCPU
 * runs the INT3 again and traps again, so nothing is lost).
 * Returns the number of requests answered, or -1 with errno EIO (corrupt
 * indices) or the errno of the notify.
 */
typedef void vmeventctl_request_cb(const vm_event_request_t *req,
                                   vm_event_response_t *rsp, void *arg);
int vmeventctl_ring_answer_all(vmeventctl_ring *r, vmeventctl_request_cb *cb,
                               void *arg);

/*
 * The safe disable.
 */
enum vmeventctl_disable_outcome {
    /* Every request answered, every answered vCPU ran, ring disabled. */
    VMEVENTCTL_DISABLE_CLEAN = 0,
    /*
     * Ring disabled and every request answered, but some vCPU was not seen
     * running after the last answers before the settle timed out (the
     * domain is paused by someone else, or a vCPU waits on a request that
     * could not be answered): the effects of its reply may be lost.
     * vmeventctl_ring_disable() returns -1 with ETIMEDOUT.
     */
    VMEVENTCTL_DISABLE_UNSETTLED = 1,
    /* A step failed; see failed_step, error and ring_disabled. */
    VMEVENTCTL_DISABLE_FAILED = 2,
};

enum vmeventctl_disable_step {
    VMEVENTCTL_STEP_NONE = 0,
    VMEVENTCTL_STEP_STOP_EVENTS,
    VMEVENTCTL_STEP_SETTLE,
    VMEVENTCTL_STEP_PAUSE,
    VMEVENTCTL_STEP_FINAL_DRAIN,
    VMEVENTCTL_STEP_UNBIND,
    VMEVENTCTL_STEP_DISABLE,
    VMEVENTCTL_STEP_UNPAUSE,
};

struct vmeventctl_disable_report {
    enum vmeventctl_disable_outcome outcome;
    enum vmeventctl_disable_step failed_step; /* STEP_NONE on success */
    int error;                 /* errno of the failed step, else 0 */
    int ring_disabled;         /* 1 once xc_monitor_disable succeeded */
    unsigned int answered;     /* requests answered during the disable */
    unsigned int retries;      /* unpause-and-settle rounds after step 4 */
    unsigned int unsettled;    /* answered vCPUs that had not run */
    uint64_t paused_ns;        /* time the guest was held by our pause refs */
    uint64_t total_ns;         /* time the whole disable took */
};

/*
 * Disables the ring safely and frees r, in named steps:
 *  1. stop the event sources this ring turned on;
 *  2. settle: answer until the ring stays empty and every vCPU has been
 *     seen running since the last answers Xen consumed (vCPUs we answered,
 *     and with more than 8 vCPUs, sleepers on Xen's wait queue that the
 *     answers woke), for at most timeout_ms (0: the default, 2000); a stop
 *     request does not shorten it;
 *  3. mark the ownership record "paused 1", then take one pause reference;
 *  4. final drain and xc_monitor_resume; if anything was answered, unpause,
 *     settle again and retry, never disabling straight after answers taken
 *     under the pause (3 rounds are allowed past the timeout, 64 in all);
 *  5. unbind our port, so that no notify of ours races the disable;
 *  6. xc_monitor_disable;
 *  7. release exactly the pause reference we took;
 * then, with the guest running again, unmap the ring page (the guest cannot
 * reach it: libxc took it out of the physmap at enable) and remove the
 * ownership record.
 *
 * Returns 0 only when the outcome is CLEAN.
 * Returns -1 with ETIMEDOUT when the outcome is UNSETTLED (the ring was
 * disabled, but a vCPU had not run since its answer; rep says how many).
 * Returns -1 with the errno of the first step that failed (rep->outcome
 * FAILED, rep->failed_step and rep->error say which); the protocol still
 * runs every later step it safely can, so rep->ring_disabled may be 1.
 * EBUSY from xc_monitor_disable means guest vCPUs sleep on Xen's wait
 * queue; EIO means the ring's indices were corrupt and its requests could
 * not be answered (xen-vmevent-drain can rescue such a guest).
 * The ring is left enabled, FAILED with ETIMEDOUT, rather than disabled
 * when that could let Xen free it under a vCPU: the domain has more vCPUs
 * than the ring has slots (8) and one was not seen running since the last
 * answers (failed_step SETTLE), or answers were still being taken under
 * the pause after the allowed rounds (failed_step FINAL_DRAIN).  It is
 * also left enabled when the pause fails (failed_step PAUSE).  No request
 * is left unanswered then, and our ownership record stays, unmarked, so
 * that once this process has exited xen-vmevent-drain stop can take the
 * ring down.
 * Every path frees r and leaves no pause reference, bound port or mapping
 * of ours, and no ownership record unless the ring is left enabled.  rep
 * may be NULL.  Logs each step at XTL_DETAIL and failures at XTL_ERROR.
 */
int vmeventctl_ring_disable(vmeventctl_ring *r, unsigned int timeout_ms,
                            struct vmeventctl_disable_report *rep);

const char *vmeventctl_disable_step_name(enum vmeventctl_disable_step step);
const char *vmeventctl_disable_outcome_name(
    enum vmeventctl_disable_outcome outcome);

/*
 * Rescue of a guest whose agent died.
 *
 * An agent that dies leaves its ring enabled, its page unmappable (the gfn
 * left the guest's physmap) and any vCPU that waited for its reply frozen.
 * The rescue answers those vCPUs through a fresh ring, as seen working on
 * Xen 4.17 (XEN-FACTS.md), in steps:
 *  1. take one pause reference;
 *  2. confirm a ring exists with the resume probe;
 *  3. disable the dead ring;
 *  4. enable a fresh ring and answer every vCPU (version 7, its vcpu_id,
 *     VM_EVENT_FLAG_VCPU_PAUSED), at most 8 per batch, xc_monitor_resume
 *     after each batch; Xen skips a vCPU that is not waiting;
 *  5. reset what the dead agent set and the ring's disable leaves behind
 *     (see enum vmeventctl_leftover): access_required to 0, the default
 *     mem_access to rwx (and every page's, when the default was
 *     restricted), single-step off on every vCPU; report whether altp2m
 *     is active, and leave it as it is.  Done after the dead ring is gone
 *     (or found absent) and while the fresh ring is still there: Xen's
 *     mem_access operations need a ring.  A reset that fails is logged
 *     and reported, and the rescue goes on;
 *  6. disable the fresh ring while still paused (answers with no request
 *     behind them upset its slot accounting);
 *  7. release our pause reference;
 *  8. watch the vCPUs run again (up to 2 s).
 * What the dead agent's replies would have done is lost.
 */
enum vmeventctl_rescue_step {
    VMEVENTCTL_RESCUE_STEP_NONE = 0,
    VMEVENTCTL_RESCUE_STEP_CHECK,
    VMEVENTCTL_RESCUE_STEP_PAUSE,
    VMEVENTCTL_RESCUE_STEP_PROBE,
    VMEVENTCTL_RESCUE_STEP_DISABLE_DEAD,
    VMEVENTCTL_RESCUE_STEP_ENABLE_FRESH,
    VMEVENTCTL_RESCUE_STEP_ANSWER,
    VMEVENTCTL_RESCUE_STEP_DISABLE_FRESH,
    VMEVENTCTL_RESCUE_STEP_UNPAUSE,
    VMEVENTCTL_RESCUE_STEP_WATCH,
    VMEVENTCTL_RESCUE_STEP_RESET_LEFTOVERS, /* step 5 above */
};

/* Rescue even when no ownership record names a dead owner. */
#define VMEVENTCTL_RESCUE_FORCE   (1u << 0)
/*
 * Also answer the vCPUs when no ring exists (a ring already disabled the
 * unsafe way leaves its waiting vCPUs frozen, and only answers through a
 * fresh ring release them).  Step 5 runs then too: such a disable left
 * access_required and the rest behind as well.
 */
#define VMEVENTCTL_RESCUE_NO_RING (1u << 1)
/*
 * With VMEVENTCTL_RESCUE_FORCE: take the ring even when
 * vmeventctl_port_evidence() finds a dom0 process that may be bound to the
 * ring's port, so a live agent may still notify the ring.
 * Xen runs the ring's callback for such a notify without the channel lock
 * (xen/common/event_channel.c evtchn_send) while the rescue's
 * xc_monitor_disable frees the ring (xen/common/vm_event.c
 * vm_event_disable): the race is a use-after-free that can hang or crash
 * the hypervisor.  Without this flag the rescue refuses with EISCONN.
 */
#define VMEVENTCTL_RESCUE_RISK_LIVE_AGENT (1u << 2)

/*
 * What the rescue did about one thing a dead agent may leave set in Xen.
 * Xen's monitor ring disable clears only the monitor settings
 * (xen/arch/x86/monitor.c arch_monitor_cleanup_domain) and the per-vCPU
 * vm_event state (xen/arch/x86/vm_event.c vm_event_cleanup_domain); see
 * docs/xen-behaviour.md.
 */
enum vmeventctl_leftover {
    /* Not looked at: the rescue stopped before step 5, or no ring was
     * there for a mem_access reset. */
    VMEVENTCTL_LEFTOVER_NOT_TRIED = 0,
    VMEVENTCTL_LEFTOVER_RESET,        /* set back to the no-agent value */
    VMEVENTCTL_LEFTOVER_NOTHING,      /* read, and already as without an agent */
    VMEVENTCTL_LEFTOVER_UNSUPPORTED,  /* this Xen or CPU does not have it */
    VMEVENTCTL_LEFTOVER_FAILED,       /* the reset or read failed: see its errno */
    VMEVENTCTL_LEFTOVER_KEPT,         /* in use, left as it is (altp2m) */
};

struct vmeventctl_rescue_report {
    enum vmeventctl_rescue_step failed_step;
    int error;                   /* errno of the failed step, else 0 */
    int dead_ring_found;         /* the probe found a ring */
    int dead_ring_disabled;
    int fresh_ring_disabled;
    unsigned int vcpus_answered; /* answers put (one per vCPU) */
    unsigned int batches;        /* xc_monitor_resume calls */
    unsigned int vcpus_stuck;    /* online vCPUs not seen running after */
    int guest_changed;           /* 1 once any step changed Xen's state */
    uint64_t paused_ns;
    uint64_t total_ns;
    /*
     * Step 5.  Each *_errno is the errno of the call that failed (FAILED),
     * or that said "not here" (UNSUPPORTED), else 0.
     *
     * access_required: with it set and no ring, Xen crashes the guest on
     * its next mem_access violation.  Reset to 0 (Xen has no call to read
     * it, so it is reset whether or not the agent set it).
     */
    enum vmeventctl_leftover access_required;
    int access_required_errno;
    /*
     * mem_access: the default access read through the fresh ring.  RESET:
     * it was restricted, and the default and every page up to the
     * domain's highest gfn were set to rwx; NOTHING: it was rwx, and pages
     * restricted one by one are left for Xen to lift on their first
     * access (it does so when access_required is 0; setting every page
     * would split the guest's superpages).  UNSUPPORTED: Xen has
     * mem_access for HVM guests with HAP on Intel VMX only (EINVAL).
     */
    enum vmeventctl_leftover mem_access;
    int mem_access_errno;
    /*
     * single_step: turned off on every vCPU (RESET; Xen has no call to
     * read it).  UNSUPPORTED where the CPU has no monitor trap flag (AMD
     * SVM: EOPNOTSUPP).
     */
    enum vmeventctl_leftover single_step;
    int single_step_errno;
    /*
     * altp2m: NOTHING when inactive, KEPT when active (left as it is: the
     * guest or the toolstack may use it), UNSUPPORTED when the CPU or the
     * domain's altp2m mode has none.  Never changed by the rescue.
     */
    enum vmeventctl_leftover altp2m;
    int altp2m_errno;
    /*
     * With more vCPUs than the ring's 8 slots: the vCPUs found stuck
     * before anything was changed (0 otherwise).  More than 8 means vCPUs
     * sleep on the dead ring's wait queue: the rescue refuses (EBUSY,
     * failed_step CHECK) and changes nothing, since Xen disables no ring
     * with sleepers and only answers on the dead page could wake them.
     */
    unsigned int vcpus_stuck_before;
};

/*
 * Rescues domid.  Refuses, changing nothing: EINVAL, ESRCH, ENOENT,
 * EPROTONOSUPPORT as vmeventctl_ring_enable(); EBUSY when a live process
 * owns the ring (ask it to stop instead); EPERM when no record names a
 * dead owner and VMEVENTCTL_RESCUE_FORCE is not given (the ring may be a
 * live agent of another tool); EISCONN when VMEVENTCTL_RESCUE_FORCE takes
 * a ring no record names while vmeventctl_port_evidence() finds a suspect
 * binding (checked before the pause, with a resume probe for the ring when
 * one is found),
 * unless VMEVENTCTL_RESCUE_RISK_LIVE_AGENT is given, or the errno of
 * that check when it cannot be made; ENODEV when there is no ring and
 * VMEVENTCTL_RESCUE_NO_RING is not given; EBUSY, failed_step CHECK and
 * rep->vcpus_stuck_before above 8 when, with more vCPUs than the ring's 8
 * slots, more stay stuck than it has slots (sampled for 500 ms before any
 * pause, after a resume probe takes what the dead agent published): vCPUs
 * sleep on the dead ring's wait queue, and only destroying the guest frees
 * them.  EBUSY from step 3 means Xen's wait queue is not empty: nothing
 * more is touched.
 * Step 5 runs whenever the dead ring was disabled (or none was there and
 * VMEVENTCTL_RESCUE_NO_RING was given), also when the fresh ring could not
 * be enabled (then mem_access is NOT_TRIED); a leftover Xen does not have
 * is UNSUPPORTED, which is no failure.  A reset that fails does not stop
 * the later steps: the rescue returns -1 with failed_step
 * VMEVENTCTL_RESCUE_STEP_RESET_LEFTOVERS (unless an earlier step failed
 * first), the guest still unpaused.
 * Returns 0 when every step succeeded (rep->vcpus_stuck may still be
 * non-zero: the guest did not run again within 2 s), or -1 with errno
 * (rep->failed_step says where).  No path leaves our pause reference,
 * mapping or record.  rep may be NULL.  Logs each step.
 */
int vmeventctl_rescue(vmeventctl_handle *h, uint32_t domid, unsigned int flags,
                      struct vmeventctl_rescue_report *rep);
const char *vmeventctl_rescue_step_name(enum vmeventctl_rescue_step step);
/* "not tried", "reset", "nothing to reset", "not supported here", "failed", "kept". */
const char *vmeventctl_leftover_name(enum vmeventctl_leftover state);

/*
 * Ownership records.
 *
 * While a ring is enabled through this library, dom0's own xenstore subtree
 * (/local/domain/0/libvmeventctl/DOMID/monitor, which no guest can write)
 * holds "pid start_time comm [paused N]" of the process that owns it.  The
 * start time (field 22 of /proc/PID/stat) tells a live owner from a recycled
 * pid.  "paused N" is there while the owner may hold up to N controller
 * pause references: written before it takes them (libxc's own inside
 * xc_monitor_enable included), removed after it releases them.
 */
#define VMEVENTCTL_OWNER_MAX_PAUSES 16u

enum vmeventctl_owner_state {
    VMEVENTCTL_OWNER_NONE = 0,  /* no record: no ring of ours, or another tool's */
    VMEVENTCTL_OWNER_LIVE = 1,
    VMEVENTCTL_OWNER_DEAD = 2,
};

struct vmeventctl_owner {
    enum vmeventctl_owner_state state;
    pid_t pid;
    uint64_t start_time;     /* clock ticks since boot, /proc/PID/stat */
    char comm[17];
    /*
     * Controller pause references the owner may hold (0: none): it was
     * enabling, disabling or rescuing.  If it is dead and the domain is
     * controller-paused, they leaked, and the next rescue releases up to
     * this many (it stops when Xen says no pause is left).
     */
    unsigned int pauses;
};

/*
 * Reads the record for domid's monitor ring.  Returns 0 (o->state says
 * what was found), or -1 with errno: EBADMSG for a record that does not
 * parse, or a xenstore errno.
 */
int vmeventctl_owner_get(vmeventctl_handle *h, uint32_t domid,
                         struct vmeventctl_owner *o);

/*
 * Removes the record for domid if its owner is dead.  Returns 0 (also when
 * there is none), -1 with errno EBUSY if its owner is alive, or a xenstore
 * errno.
 */
int vmeventctl_owner_clear_dead(vmeventctl_handle *h, uint32_t domid);

/*
 * Event channel evidence: may a live dom0 process notify the guest's ring?
 *
 * A vm_event ring's port lives in the guest, and Xen consumes it:
 * vm_event_enable allocates it unbound, for dom0 to bind
 * (alloc_unbound_xen_event_channel).  An agent binds it from dom0
 * (xenevtchn_bind_interdomain); when the agent's /dev/xen/evtchn is
 * closed, by exit or by SIGKILL, Xen closes dom0's end and the guest's end
 * is unbound again (evtchn_close).  A binding is seen from dom0's end: a
 * dom0 port interdomain to the guest.  Xen 4.15 to 4.18 answer
 * EVTCHNOP_status of a port Xen consumes with EACCES, so there the
 * guest's end shows it is Xen's; 4.19 and later answer its state like any
 * other port's.  So a binding is a suspect when its guest end is Xen's
 * (EACCES), or when nothing in the guest's xenstore explains it (its
 * xenstore, console and PV device channels: a guest's channel to a dom0
 * daemon or backend).  A device model's ioreq ports (an HVM guest's QEMU
 * in dom0) are suspects too: Xen does not tell them from a ring's.  The
 * device nodes are the guest's to write: on 4.19 and later a guest that
 * names the ring's port as a device's hides the binding.
 * docs/xen-behaviour.md cites the Xen source.
 */
struct vmeventctl_port_binding {
    uint32_t dom0_port;
    uint32_t guest_port;
    int xen_consumer;         /* the guest's end answered EACCES: Xen's */
    int ours;                 /* bound by a ring of this handle */
    int suspect;              /* a dom0 process may notify a ring through it */
    char explained_by[48];    /* "xenstore", "console", "device/vif/0", or "" */
};

struct vmeventctl_port_evidence {
    uint32_t domid;
    unsigned int guest_ports;    /* ports Xen reports valid in the guest */
    unsigned int xen_ports;      /* of these, ports Xen consumes */
    unsigned int dom0_ports;     /* dom0 ports looked at */
    unsigned int nr_bindings;    /* dom0 ports bound to the guest */
    struct vmeventctl_port_binding *bindings;
    /*
     * Bindings with suspect set: each is a dom0 process that may notify the
     * ring.  0: none can race a disable.
     */
    unsigned int nr_suspects;
    /* On failure: the domain (the guest or 0) and port Xen failed on. */
    uint32_t failed_domid;
    uint32_t failed_port;
};

/*
 * Fills *ev for domid: EVTCHNOP_status (xc_evtchn_status) of each port of
 * the guest and of dom0, from 1 until Xen answers EINVAL (no such port),
 * and the guest's xenstore store/port, console/port and
 * device/TYPE/ID/[queue-N/]event-channel[-tx|-rx] to name its channels.
 * Changes nothing.  ev->bindings is allocated: release it with
 * vmeventctl_port_evidence_release().
 * Returns 0, or -1 with errno: EINVAL (dom0 or a reserved id), ENOMEM, or
 * the errno of the xc_evtchn_status that failed (ESRCH: no such domain),
 * ev->failed_domid and ev->failed_port saying which; logged with the
 * domain and the port.  A xenstore node that cannot be read leaves that
 * channel unnamed.  On failure ev->bindings is released.
 */
int vmeventctl_port_evidence(vmeventctl_handle *h, uint32_t domid,
                             struct vmeventctl_port_evidence *ev);
/* Frees ev->bindings; NULL is a no-op. */
void vmeventctl_port_evidence_release(struct vmeventctl_port_evidence *ev);

#ifdef __cplusplus
}
#endif

#endif /* VMEVENTCTL_H */
