/*
 * stress.h: the insides of xen-evtchn-stress(8), shared by its sources and
 * by tests/unit/test-stress-cli.c, which drives stress_main_io() against
 * the fake Xen.
 *
 * The tool notifies the dom0 end of the interdomain channel that feeds a
 * vm_event ring's Xen-consumer port, alone (flood) and while the ring is
 * enabled and disabled over and over (race: the unsafe order; safe: the
 * order libvmeventctl's safe disable uses), and compares that with a plain
 * dom0 loopback channel (baseline).  See man/xen-evtchn-stress.8.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#ifndef STRESS_H
#define STRESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include <xenctrl.h>
#include <xenevtchn.h>
#include <xentoollog.h>

#include "vmeventctl.h"

/* Verdicts as XTF has them, least severe first (the worst one wins). */
enum stress_verdict {
    STRESS_SUCCESS = 0,
    STRESS_SKIP,        /* cannot run here: no Xen, dom0, a PV guest */
    STRESS_ERROR,       /* the tool or its environment failed */
    STRESS_FAILURE,     /* Xen, dom0's kernel or the guest misbehaved */
};

/* Exit status: stable, documented in the man page. */
#define STRESS_EXIT_SUCCESS  0
#define STRESS_EXIT_FAILURE  1
#define STRESS_EXIT_USAGE    2
#define STRESS_EXIT_SKIP     77
#define STRESS_EXIT_ERROR    99

enum stress_mode {
    STRESS_MODE_BASELINE = 0,
    STRESS_MODE_FLOOD,
    STRESS_MODE_RACE,
    STRESS_MODE_SAFE,
    STRESS_NR_MODES,
};

#define STRESS_MAX_THREADS        64
#define STRESS_DEFAULT_DURATION_S 5.0
#define STRESS_MAX_DURATION_S     3600.0
#define STRESS_DEFAULT_STUCK_S    10.0
#define STRESS_MAX_HOLD_MS        10000u
#define STRESS_NO_PORT            UINT32_MAX

struct stress_opts {
    enum stress_mode modes[STRESS_NR_MODES]; /* in the order to run them */
    unsigned int nr_modes;
    const char *domain;         /* id or name; NULL for baseline alone */
    double duration_s;          /* per mode */
    uint64_t count;             /* notifies or cycles per mode; 0: none */
    unsigned int threads;       /* notifying threads */
    unsigned int hold_ms;       /* race/safe: time bound in each cycle */
    double stuck_s;             /* a Xen call this long is a hang */
    int test_host;              /* --i-know-this-is-a-test-host */
    int json;
    int verbose;
    int help;
};

/*
 * Counts by errno: a few distinct values, then "other".
 */
#define STRESS_MAX_ERRNOS 8
struct stress_errs {
    int err[STRESS_MAX_ERRNOS];
    uint64_t n[STRESS_MAX_ERRNOS];
    uint64_t other;
};

/*
 * Latency histogram, log-linear: exact below 16 ns, then 16 buckets per
 * power of two (at most 1/16 relative error).
 */
#define STRESS_HIST_BUCKETS 1024
struct stress_hist {
    uint64_t count, sum_ns, max_ns;
    uint64_t b[STRESS_HIST_BUCKETS];
};

/* What one phase of a cycle saw: notifies that returned 0, and errors. */
struct stress_phase {
    uint64_t ok;
    struct stress_errs errs;
};
#define STRESS_MAX_PHASES 12

/* Steps of a ring's life, as the cycle modes and the teardown take them. */
enum stress_step {
    STRESS_STEP_ENABLE = 0,     /* xc_monitor_enable */
    STRESS_STEP_BIND,           /* xenevtchn_bind_interdomain */
    STRESS_STEP_PAUSE,          /* xc_domain_pause */
    STRESS_STEP_RESUME,         /* xc_monitor_resume */
    STRESS_STEP_UNBIND,         /* xenevtchn_unbind */
    STRESS_STEP_DISABLE,        /* munmap + xc_monitor_disable */
    STRESS_STEP_UNPAUSE,        /* xc_domain_unpause */
    STRESS_NR_STEPS,
};

struct stress_step_stats {
    uint64_t calls;
    uint64_t sum_ns, max_ns;
    struct stress_errs errs;
};

/*
 * A thread's current Xen call, watched for hangs: since_ns is 0 outside a
 * call.  A call taking longer than --stuck-secs is reported as a hang.
 */
struct stress_slot {
    char who[24];
    _Atomic uint64_t since_ns;
    const char *_Atomic call;
};

/* Health checks, run before the first mode and after every mode. */
enum stress_check_id {
    STRESS_CHECK_HYPERVISOR = 0,  /* xc_version answers */
    STRESS_CHECK_DOM0_CHANNELS,   /* a dom0 loopback channel delivers */
    STRESS_CHECK_GUEST,           /* the guest exists, runs, no vCPU stuck */
    STRESS_CHECK_RING,            /* no monitor ring left enabled by us */
    STRESS_CHECK_PAUSE,           /* controller pause state as we found it */
    STRESS_CHECK_FRESH_RING,      /* libvmeventctl can enable+disable a ring */
    STRESS_NR_CHECKS,
};

struct stress_check {
    int ran;
    enum stress_verdict verdict;
    char detail[240];
};

struct stress_health {
    int ran;
    enum stress_verdict verdict;
    struct stress_check c[STRESS_NR_CHECKS];
};

struct stress_thread_result {
    uint64_t notifies, ok;
    double per_s;
};

struct stress_result {
    enum stress_mode mode;
    int ran;
    enum stress_verdict verdict;
    char reason[512];
    const char *stopped_by;     /* duration, count, signal, failure, hang */
    double elapsed_s;
    unsigned int threads;

    /* The port the senders notified. */
    int have_port;
    uint32_t local_port;
    uint32_t remote_port;
    uint32_t remote_domid;

    uint64_t notifies, ok;
    struct stress_errs errs;
    struct stress_hist lat;
    struct stress_thread_result thread[STRESS_MAX_THREADS];

    /* race and safe */
    int cyclic;
    uint64_t cycles;
    struct stress_step_stats step[STRESS_NR_STEPS];
    unsigned int nr_phases;
    const char *const *phase_names;
    struct stress_phase phase[STRESS_MAX_PHASES];
    struct stress_phase spanning;   /* the phase changed during the call */
    uint64_t landed_in_disable;     /* returned 0, wholly inside the disable */
    uint64_t landed_overlapping;    /* returned 0, spanning into the disable */

    struct stress_health health;
};

struct stress_run;

struct stress_ctx {
    struct stress_opts opt;
    FILE *out, *err;
    xentoollog_logger_stdiostream *logger;
    vmeventctl_handle *h;
    xc_interface *xch;
    xenevtchn_handle *xce;      /* the senders' and the cycler's handle */

    int have_domain;
    uint32_t domid;
    int ring_modes;             /* a mode that enables rings will run */
    int start_paused;           /* controller-paused when we started */
    char xen_version[64];
    long dom0_vcpus;

    struct stress_health preflight;
    struct stress_result res[STRESS_NR_MODES];
    unsigned int nr_res;
    enum stress_verdict verdict;
    char reason[512];
    int interrupted;

    /* Hang watch: the main thread's call, and the running mode's threads. */
    struct stress_slot main_slot;
    pthread_mutex_t wd_lock;
    pthread_t wd_thread;
    int wd_started;
    _Atomic int wd_quit;
    struct stress_run *run;     /* under wd_lock */
    _Atomic int hung;
    char hung_what[160];        /* written once, before hung is set */
};

/* stress-main.c */
int stress_main(int argc, char **argv);
int stress_main_io(int argc, char **argv, FILE *out, FILE *err);
/* Parses argv into *o; 0, or -1 after printing why to err. */
int stress_parse(int argc, char **argv, struct stress_opts *o, FILE *err);
void stress_usage(FILE *f);
int stress_stop_requested(void);

/*
 * The unit tests' fake Xen is not thread-safe: they point this at a mutex
 * and every Xen call of the tool is made holding it.  NULL (no lock) in
 * real use.
 */
extern pthread_mutex_t *stress_xen_call_lock;

/* stress-run.c */
uint64_t stress_now_ns(void);
void stress_call_begin(struct stress_slot *s, const char *call);
void stress_call_end(struct stress_slot *s);     /* keeps errno */
void stress_run_mode(struct stress_ctx *c, enum stress_mode m,
                     struct stress_result *res);
/* Scans the running mode's threads for a hung call (under c->wd_lock). */
int stress_run_scan_hung(struct stress_ctx *c, struct stress_run *run,
                         uint64_t now, char *what, size_t len);
extern const char *const stress_step_names[STRESS_NR_STEPS];

/* stress-health.c */
/* pre: the checks before the first mode (failures there are ERRORs). */
void stress_health_run(struct stress_ctx *c, struct stress_health *hl, int pre);
extern const char *const stress_check_names[STRESS_NR_CHECKS];

/* stress-report.c */
void stress_errs_add(struct stress_errs *e, int err, uint64_t n);
void stress_errs_merge(struct stress_errs *dst, const struct stress_errs *src);
uint64_t stress_errs_total(const struct stress_errs *e);
void stress_hist_add(struct stress_hist *h, uint64_t ns);
void stress_hist_merge(struct stress_hist *dst, const struct stress_hist *src);
uint64_t stress_hist_quantile(const struct stress_hist *h, double q);
const char *stress_errno_name(int err, char *buf, size_t len);
const char *stress_verdict_name(enum stress_verdict v);
const char *stress_mode_name(enum stress_mode m);
int stress_verdict_exit(enum stress_verdict v);
/* Raises *v to w if w is worse; sets reason (if given) when it does. */
void stress_verdict_worse(enum stress_verdict *v, enum stress_verdict w,
                          char *reason, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void stress_report(const struct stress_ctx *c, FILE *f);
void stress_report_text(const struct stress_ctx *c, FILE *f);
void stress_report_json(const struct stress_ctx *c, FILE *f);

#endif /* STRESS_H */
