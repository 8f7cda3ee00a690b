/*
 * fake-xen.h: test-facing API of the fake Xen libraries (fake-xen.c).
 *
 * fake-xen.c defines the libxenctrl, libxenevtchn and libxenstore functions
 * libvmeventctl calls, compiled against the real Xen 4.17 headers, and a
 * small model of the hypervisor behind them (domains, vCPUs, vm_event rings,
 * event channels, xenstore).  Unit tests link it instead of -lxenctrl
 * -lxenevtchn -lxenstore.  Each modelled rule cites the Xen source it comes
 * from (xen-project/xen, RELEASE-4.17.7).
 *
 * Conventions: functions returning int answer -1 with errno set on a bad
 * argument (ESRCH: no such domain, EINVAL: vCPU out of range) unless said
 * otherwise.  The model is not thread-safe.  Time only moves when the test
 * says so (fake_domain_step(), fake_set_autostep()).
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#ifndef FAKE_XEN_H
#define FAKE_XEN_H

#include <stdint.h>
#include <stdbool.h>

#include <xenctrl.h>
#include <xen/vm_event.h>

/*
 * Model constants.
 */
#define FAKE_RING_SLOTS        8        /* one 4 KiB page, 400-byte slots */
/* cpu_time a runnable vCPU gains per step */
#define FAKE_STEP_NS           1000000u
#define FAKE_MAX_VCPUS         64
#define FAKE_MAX_PAUSE_COUNT   255      /* _domain_pause_by_systemcontroller */
#define FAKE_ALL_DOMAINS       0xffffffffu
/* A guest's gfns: 0 to FAKE_NR_GFNS - 1 (XENMEM_maximum_gpfn's answer + 1). */
#define FAKE_NR_GFNS           256

enum fake_dom_type {
    FAKE_DOM_HVM,
    FAKE_DOM_PVH,   /* an HVM container to Xen: XEN_DOMINF_hvm_guest set */
    FAKE_DOM_PV,
};

enum fake_ring_kind {
    FAKE_RING_MONITOR = 0,
    FAKE_RING_PAGING  = 1,
    FAKE_RING_SHARING = 2,
};

/* fake_vcpu_event*() results. */
#define FAKE_EVENT_IGNORED  0  /* source off or no ring: the vCPU carries on */
#define FAKE_EVENT_PUT      1  /* request placed on the ring */
#define FAKE_EVENT_QUEUED   2  /* ring full: the vCPU sleeps on the queue */
#define FAKE_EVENT_CRASHED  3  /* Xen crashed the domain (fake_vcpu_mem_access) */

/*
 * Reset and set-up.
 */

/* Forgets everything: domains, rings, ports, handles, xenstore, faults, log,
 * knobs.  Leaves dom0 (PV, 1 vCPU, "Domain-0") and a minimal xenstore.
 * Pages handed to the library are not unmapped (that is the library's job). */
void fake_reset(void);

/* Adds a domain with nr_vcpus online vCPUs (0 models a domain without
 * vCPUs), writes /local/domain/ID/name if name != NULL.  EEXIST if the id is
 * taken, EINVAL for ids >= DOMID_FIRST_RESERVED or too many vCPUs. */
int fake_domain_add(uint32_t domid, enum fake_dom_type type,
                    unsigned int nr_vcpus, const char *name);

/* domain_kill: dead == 0 stops in DOMDYING_dying (guest ports closed, rings
 * still there, XEN_DOMINF_dying NOT reported); dead != 0 goes on to
 * DOMDYING_dead (rings cleaned up, XEN_DOMINF_dying reported). */
int fake_domain_kill(uint32_t domid, int dead);

/* The domain disappears (last reference dropped); its xenstore subtree is
 * removed and dom0 ports bound to it become unbound. */
int fake_domain_destroy(uint32_t domid);

/* domain_shutdown(reason): XEN_DOMINF_shutdown, vCPUs stop running. */
int fake_domain_shutdown(uint32_t domid, unsigned int reason);

/* Sets the controller pause count directly (0..255; e.g. 1 for "created
 * paused").  No vm_event side effect. */
int fake_domain_set_pause_count(uint32_t domid, unsigned int count);

/* VPF_down: an offline vCPU reads online=0 and never runs. */
int fake_vcpu_set_online(uint32_t domid, uint32_t vcpu, int online);

/* VPF_blocked: the guest vCPU idles (reads blocked=1, gains no cpu_time). */
int fake_vcpu_set_blocked(uint32_t domid, uint32_t vcpu, int blocked);

/* stuck != 0: the vCPU is kept off the pCPUs by something the model does
 * not show (a wait queue nobody will wake, another subsystem's pause
 * flag): whatever answers it gets, it never runs and raises no event.  It
 * reads online=1 blocked=0 running=0 with cpu_time still, as a vCPU asleep
 * on a vm_event ring's wait queue does on Xen 4.17. */
int fake_vcpu_set_stuck(uint32_t domid, uint32_t vcpu, int stuck);

/* The vCPU's registers (struct cpu_user_regs in Xen): what a request
 * carries (arch/x86/vm_event.c vm_event_fill_regs, which fake_vcpu_event
 * copies them from), and what VM_EVENT_FLAG_SET_REGISTERS writes once the
 * vCPU runs.  A vCPU starts as a 64-bit kernel's would (RIP
 * 0xffffffff81000000, paging on). */
int fake_vcpu_set_regs(uint32_t domid, uint32_t vcpu,
                       const struct vm_event_regs_x86 *regs);
int fake_vcpu_get_regs(uint32_t domid, uint32_t vcpu,
                       struct vm_event_regs_x86 *regs);

/* What xc_vm_event_get_version() answers (default 7). */
void fake_set_vm_event_version(int version);

/* What xc_version(XENVER_version) answers (default 4.17). */
void fake_set_xen_version(int major, int minor);

/* x86 has no privileged-call monitor (EOPNOTSUPP, the default, as on
 * Debian amd64); 1 makes it toggle like the other events (Arm). */
void fake_set_privileged_call_supported(int supported);

/* Debian builds Xen without CONFIG_MEM_PAGING / CONFIG_MEM_SHARING: paging
 * and sharing answer ENOSYS (default 0).  1 models a build with them: a
 * port-only ring (no page is handed out by these calls). */
void fake_set_paging_sharing_built(int built);

/* The host's CPU: 0 (default) Intel VMX with EPT, where Xen has
 * mem_access, single-step and altp2m for HVM guests; 1 AMD SVM with NPT (as
 * the real-host rig under QEMU), where it has none of them: mem_access
 * ops answer EINVAL, XEN_DOMCTL_debug_op single-step EOPNOTSUPP, altp2m
 * ops EOPNOTSUPP. */
void fake_set_host_svm(int svm);

/* altp2m of a domain as created with altp2m=MODE (HVM_PARAM_ALTP2M; 0
 * disabled) and switched on (active != 0) by someone, as
 * xc_altp2m_set_domain_state would.  No views are modelled. */
int fake_altp2m_set(uint32_t domid, int mode, int active);

/*
 * Time and guest activity.
 */

/* Runs n scheduling steps of domid (or FAKE_ALL_DOMAINS).  In each step a
 * vCPU that was woken off the ring's wait queue first retries its slot
 * claim; then every runnable vCPU (online, not idle, domain alive, not
 * controller-paused or shut down, not vm_event-paused, not ring-full-paused,
 * not on the wait queue, not stuck) enters the guest: registers a response
 * set (VM_EVENT_FLAG_SET_REGISTERS) are written into its state, an
 * injected event is delivered; and it gains FAKE_STEP_NS of cpu_time. */
int fake_domain_step(uint32_t domid, unsigned int n);

/* Every faked Xen call first runs fake_domain_step(FAKE_ALL_DOMAINS, n);
 * 0 (default) turns this off.  Lets "has the vCPU run since?" loops in the
 * library make progress without threads. */
void fake_set_autostep(unsigned int n);

/* A synchronous monitor event on a running vCPU, as hvm_monitor_cpuid() /
 * hvm_monitor_debug() raise it: reason is VM_EVENT_REASON_*.  For
 * VM_EVENT_REASON_CPUID, _SOFTWARE_BREAKPOINT and _PRIVILEGED_CALL the source
 * must be enabled; other reasons stand for sources the model does not
 * toggle (mem_access, guest request) and always fire.
 * Returns FAKE_EVENT_IGNORED, FAKE_EVENT_PUT or FAKE_EVENT_QUEUED, or -1 with
 * errno EAGAIN when the vCPU cannot be executing guest code (offline, idle,
 * paused for any reason, domain paused, dying or shut down, or still
 * finishing a queued event). */
int fake_vcpu_event(uint32_t domid, uint32_t vcpu, uint32_t reason);

/* Same, asynchronous (monitor_traps(sync = false)): the vCPU is not
 * vm_event-paused, so a nearly full ring pauses it with the ring-full
 * flag instead. */
int fake_vcpu_event_async(uint32_t domid, uint32_t vcpu, uint32_t reason);

/* General form: the request is built from tmpl (reason, u, data; NULL for
 * defaults); Xen's fields (version, vcpu_id, VCPU_PAUSED) are overwritten. */
int fake_vcpu_event_ex(uint32_t domid, uint32_t vcpu,
                       const vm_event_request_t *tmpl, int sync);

/* A guest read (write == 0) or write of gfn on a running vCPU, against
 * the host p2m's access of that gfn (x86/mm/mem_access.c:
 * p2m_mem_access_check).  Allowed: FAKE_EVENT_IGNORED.  rx2rw on a write
 * becomes rw with no event.  A violation with a monitor ring is a
 * synchronous VM_EVENT_REASON_MEM_ACCESS request (FAKE_EVENT_PUT or
 * _QUEUED); without one, access_required crashes the domain
 * (FAKE_EVENT_CRASHED, shut down with SHUTDOWN_crash), else Xen sets the
 * gfn to rwx and the access goes on (FAKE_EVENT_IGNORED).  -1 with errno
 * as fake_vcpu_event(), or EINVAL for a gfn beyond the guest's. */
int fake_vcpu_mem_access(uint32_t domid, uint32_t vcpu, uint64_t gfn, int write);

/* Puts n waiters the test owns on the monitor ring's wait queue (0 removes
 * them).  Xen never wakes these; while any waiter is queued
 * xc_monitor_disable answers EBUSY and ring-full vCPUs are not woken. */
int fake_ring_set_waiters(uint32_t domid, unsigned int n);

/* hook(fn, arg) runs at the start of every faked Xen call (fn is its name),
 * before fault injection; it may call fake_*() but not faked Xen
 * functions (those are not hooked while a hook runs).  NULL removes it. */
typedef void fake_call_hook(const char *fn, void *arg);
void fake_set_call_hook(fake_call_hook *hook, void *arg);

/*
 * Inspection.
 */

/* Controller pause count (xc_domain_pause references), or -1. */
int fake_pause_count(uint32_t domid);

/* vm_event pause count of a vCPU (>0: waiting for a reply), or -1. */
int fake_vcpu_vm_event_paused(uint32_t domid, uint32_t vcpu);

/* 1 if the vCPU is paused with the monitor ring-full flag, 0, or -1. */
int fake_vcpu_ring_full_paused(uint32_t domid, uint32_t vcpu);

/* 1 if the vCPU sleeps on the monitor ring's wait queue, 0, or -1. */
int fake_vcpu_on_wait_queue(uint32_t domid, uint32_t vcpu);

/* 1 if a response's VM_EVENT_FLAG_SET_REGISTERS is stored for the vCPU and
 * not yet applied (it has not run since), 0, or -1. */
int fake_vcpu_regs_pending(uint32_t domid, uint32_t vcpu);

/* 1 if the vCPU would run in the next step, 0, or -1. */
int fake_vcpu_runnable(uint32_t domid, uint32_t vcpu);

/* cpu_time in ns (xc_vcpu_getinfo's), or UINT64_MAX for a bad argument. */
uint64_t fake_vcpu_cpu_time(uint32_t domid, uint32_t vcpu);

/* 1 if a ring of that kind exists, 0, or -1 (no domain). */
int fake_ring_exists(uint32_t domid, enum fake_ring_kind kind);

/* The monitor ring's Xen-consumer port, or -1 (no ring). */
int fake_ring_xen_port(uint32_t domid);

/* Xen's mapping of the monitor ring's shared page (the same memory the
 * library was handed), for tests that tamper with the shared indices; NULL
 * with errno ENODEV without a ring.  Valid until the ring is destroyed. */
vm_event_sring_t *fake_ring_page(uint32_t domid);

/* 1 if a dom0 port is bound to the monitor ring's Xen port, 0, or -1. */
int fake_ring_xen_port_bound(uint32_t domid);

struct fake_ring_stats {
    /* State of the current monitor ring (0 when there is none). */
    int ring;                       /* 1 if a monitor ring exists */
    int32_t outstanding;            /* req_prod_pvt - rsp_cons, Xen's view */
    uint32_t unanswered;            /* sring->req_prod - sring->rsp_prod */
    int32_t available;              /* vm_event_ring_available() */
    unsigned int ring_full_paused;  /* ved->blocked */
    unsigned int waiters;           /* wait queue length (vCPUs + test's) */
    /* Counters over every monitor ring the domain had since reset. */
    unsigned long requests;         /* requests Xen put */
    unsigned long responses;        /* responses Xen consumed */
    unsigned long bad_version;      /* dropped: version != 7 */
    unsigned long bad_vcpu;         /* skipped: vcpu_id out of range */
    unsigned long unpaused;         /* responses that unpaused a vCPU */
    unsigned long not_waiting;      /* skipped: vCPU not vm_event-paused */
    unsigned long no_flag;          /* vCPU waiting but VCPU_PAUSED not set */
    unsigned long without_request;  /* consumed with no request behind it */
    unsigned long rsp_prod_overrun; /* rsp_prod more than a ring ahead */
    unsigned long notify_resumes;   /* vm_event_resume via our evtchn notify */
    unsigned long domctl_resumes;   /* vm_event_resume via xc_monitor_resume */
    unsigned long xen_notifies;     /* Xen notified its port */
    unsigned long xen_notifies_lost;/* ... while nobody was bound to it */
    unsigned long avail_negative;   /* Xen would BUG_ON() here */
    unsigned long enables;          /* rings created */
    unsigned long disables;         /* rings destroyed by xc_monitor_disable */
    /* Software breakpoints (per domain, since reset). */
    unsigned long injected;         /* xc_hvm_inject_trap events delivered */
    unsigned long bp_delivered;     /* #BPs the guest took after an event */
    unsigned long int3_rerun;       /* INT3s run again: nothing injected */
    /* VM_EVENT_FLAG_SET_REGISTERS (per domain, since reset). */
    unsigned long regs_applied;     /* written into a vCPU as it ran */
    unsigned long regs_dropped;     /* freed by a disable before it ran */
};
/* Fills *st for domid's monitor ring. */
int fake_ring_stats(uint32_t domid, struct fake_ring_stats *st);

/* access_required (0/1), or -1 (no domain). */
int fake_access_required(uint32_t domid);
/* The host p2m's default access (xenmem_access_t), or -1. */
int fake_default_access(uint32_t domid);
/* Gfns whose access is not rwx, or -1. */
int fake_pages_restricted(uint32_t domid);
/* 1 if the vCPU single-steps (normal or fast), 0, or -1. */
int fake_vcpu_single_step(uint32_t domid, uint32_t vcpu);
/* 1 if altp2m is active, 0, or -1. */
int fake_altp2m_active(uint32_t domid);

/* Enabled monitor events: bit (1u << XEN_DOMCTL_MONITOR_EVENT_*). */
int fake_monitor_events(uint32_t domid, unsigned int *mask);

/* Live handles of each library. */
unsigned int fake_open_xc_handles(void);
unsigned int fake_open_evtchn_handles(void);
unsigned int fake_open_xs_handles(void);

/* dom0 event channel ports bound through xenevtchn handles. */
unsigned int fake_bound_ports(void);

/* Ports queued on all evtchn fds and not yet read by xenevtchn_pending. */
unsigned int fake_evtchn_unread(void);

/* Ring pages handed to the library that are still mapped in this process
 * (checked in /proc/self/maps, so an address reused by another mapping
 * does not count). */
unsigned int fake_pages_mapped(void);
/* 1 if p is a ring page handed out by xc_monitor_enable and still mapped. */
int fake_page_is_mapped(const void *p);

/* vm_event ops sent for DOMID_INVALID: each would have crashed Xen 4.17.0
 * to 4.17.6. */
unsigned long fake_domid_invalid_ops(void);

/* Calls with a handle that is not open (closed, or never ours). */
unsigned long fake_bad_handle_calls(void);

/*
 * Rings disabled while a wait-queue sleeper Xen had woken had not yet run:
 * each is a use-after-free on real Xen (vm_event.c:194, wait.c:269-276).
 */
unsigned long fake_ring_freed_under_woken(void);

/*
 * Direct xenstore access for tests (not logged, never fails by injection).
 */
int fake_xs_write(const char *path, const char *value);
/* malloc'd copy of the value, or NULL with errno ENOENT. */
char *fake_xs_read(const char *path);
int fake_xs_rm(const char *path);

/*
 * Fault injection.  A failing call does nothing and answers -1 (NULL, or
 * false for xenstore) with the errno given; close functions still free
 * their handle, as the real ones do.  xenevtchn_fd and xs_close cannot fail
 * and are never failed.
 */

/* The n-th faked call from now (1: the next one) fails with err. */
void fake_fail_nth_call(unsigned int n, int err);

/* The n-th call of function fn from now fails with err; n == 0 fails every
 * call of fn until fake_fail_clear().  Up to 16 rules. */
int fake_fail_func(const char *fn, unsigned int n, int err);

/* The n-th xc_monitor_enable from now that Xen would let succeed enables
 * the ring in Xen and then answers NULL with err, as libxc does when
 * removing the ring's gfn from the physmap or its final unpause fails
 * (xc_vm_event.c: xc_vm_event_enable).  Cleared by fake_fail_clear(). */
void fake_fail_after_enable(unsigned int n, int err);

/* Removes every fault rule. */
void fake_fail_clear(void);

/* Number of calls failed by injection since reset. */
unsigned int fake_fail_fired(void);

/*
 * Call log.
 */

/* Starts a new window of the log. */
void fake_log_mark(void);
/* Calls made since the mark. */
unsigned int fake_log_count(void);
/* Name of call i (0-based) since the mark, or NULL. */
const char *fake_log_name(unsigned int i);
/* 1 if call i since the mark could have been failed by injection. */
int fake_log_can_fail(unsigned int i);
/* Calls of fn since reset. */
unsigned int fake_call_count(const char *fn);

/*
 * Added for xen-evtchn-stress: xenevtchn_bind_unbound_port() is faked for
 * remote domain 0 (dom0 itself), and xenevtchn_bind_interdomain() to
 * domain 0 binds to such a port, making a dom0 loopback channel whose
 * notifications reach the other handle's fd (fake-xen.c, at the end).
 */

/*
 * The errnos a faked call really returns (Xen 4.17 sources, Linux
 * drivers), ending in 0, for sweeps and fuzzers that fail calls on
 * purpose; NULL for a call the table does not know.  Answers the library
 * handles by design are left out: xenevtchn_pending's EAGAIN ("nothing
 * pending"), xs_read's and xs_rm's ENOENT ("no such node").
 */
const int *fake_real_errnos(const char *fn);

/*
 * xc_evtchn_status() is faked over the guest's and dom0's ports (fake-xen.c
 * says which Xen rules it follows).  fake_guest_channel() makes a channel
 * of the guest's own, as xenstored or xenconsoled bind it: a guest port
 * interdomain to a dom0 port that no handle of the test owns.  Returns 0
 * and both ports, or -1 (ESRCH, EINVAL for dom0, ENOSPC).
 */
int fake_guest_channel(uint32_t domid, uint32_t *guest_port, uint32_t *dom0_port);

#endif /* FAKE_XEN_H */
