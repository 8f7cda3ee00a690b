/*
 * bench-dom0: the measuring half of `make bench`, run inside dom0 of the
 * real Xen host by bench/bench-dom0.sh.  One program, one subcommand per
 * figure; every result is one line of "key=value" words on stdout, for the
 * host side (bench/run-bench) to collect.  Times come from
 * CLOCK_MONOTONIC in dom0: under QEMU's emulation they are not hardware
 * times, only their ratios compare.
 *
 *   clock [N]                  cost of clock_gettime() and of a bare syscall
 *   timed SECS OUT CMD [ARG..] run CMD for SECS seconds (stdout to OUT,
 *                              stderr to OUT.err), then SIGTERM; report
 *                              the window and how it ended
 *   disable DOMID K RUNS       vmeventctl_ring_disable() with K requests
 *                              read and left unanswered (K = 0: no event
 *                              source on), RUNS times
 *   rescue DOMID K RUNS        vmeventctl_rescue() of a guest whose agent
 *                              (a child process) died with K requests
 *                              pending, RUNS times
 *   bare DOMID RUNS            xc_domain_pause + xc_monitor_disable +
 *                              xc_domain_unpause on a ring with nothing on
 *                              it, and the other calls of the safe
 *                              disable's pause window, each on its own
 *   agent DOMID [TIMEOUT_MS]   a lean agent on the library (see cmd_agent)
 *   unfreeze DOMID             a vCPU left waiting for a reply (after
 *                              xen-access's teardown, say) is answered
 *                              with a forced rescue
 *
 * disable and rescue also print, per run, where the time went: a
 * "disable-trace" / "rescue-trace" line from the call tracing below.
 *
 * Exit: 0 done, 1 a measurement failed (the line says why), 2 usage.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xenevtchn.h>
#include <xenstore.h>
#include <xentoollog.h>

#include "vmeventctl.h"

/* How long a run waits for its K requests before it goes on with fewer. */
#define WAIT_REQUESTS_MS 3000
/* Pause between runs, so the guest runs and the vCPUs just answered settle. */
#define BETWEEN_RUNS_US  20000

static xentoollog_logger_stdiostream *logger;

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Call tracing, to show where the time of a safe disable or a rescue goes
 * without touching the library: bench-dom0 defines the Xen calls the
 * library makes and forwards each to the real one (dlsym RTLD_NEXT).  The
 * linker exports a function of the executable that a shared library it
 * links references, so libvmeventctl's calls land here first.  Calls made
 * from inside another traced call (libxenctrl's own xc_domain_pause inside
 * xc_monitor_enable, say) are part of the outer call's time.
 */
enum trace_call {
    TR_PAUSE, TR_UNPAUSE, TR_RESUME, TR_DISABLE, TR_ENABLE, TR_CPUID,
    TR_GETINFO, TR_NOTIFY, TR_UNBIND, TR_MUNMAP, TR_XS_WRITE, TR_XS_RM,
    TR_XS_READ, TR_NR
};
static const char *const trace_name[TR_NR] = {
    "xc_domain_pause", "xc_domain_unpause", "xc_monitor_resume",
    "xc_monitor_disable", "xc_monitor_enable", "xc_monitor_cpuid",
    "xc_vcpu_getinfo", "xenevtchn_notify", "xenevtchn_unbind", "munmap",
    "xs_write", "xs_rm", "xs_read",
};

#define TRACE_MAX 8192
struct trace_ev {
    enum trace_call call;
    uint64_t t0, t1;
};
static struct trace_ev trace_ev[TRACE_MAX];
static unsigned int trace_n, trace_depth;
static int trace_on;

static void trace_start(void)
{
    trace_n = 0;
    trace_depth = 0;
    trace_on = 1;
}

static int trace_enter(uint64_t *t0)
{
    if ( !trace_on || trace_depth++ )
        return 0;
    *t0 = now_ns();
    return 1;
}

static void trace_leave(int top, enum trace_call call, uint64_t t0)
{
    int saved = errno;

    if ( trace_on && trace_depth )
        trace_depth--;
    if ( top && trace_n < TRACE_MAX )
    {
        trace_ev[trace_n].call = call;
        trace_ev[trace_n].t0 = t0;
        trace_ev[trace_n].t1 = now_ns();
        trace_n++;
    }
    errno = saved;
}

#define REAL(fn) \
    static __typeof__(fn) *real; \
    if ( !real ) \
        real = (__typeof__(fn) *)dlsym(RTLD_NEXT, #fn)

#define TRACED(call, expr) \
    do { \
        uint64_t t0_ = 0; \
        int top_ = trace_enter(&t0_); \
        rc = (expr); \
        trace_leave(top_, call, t0_); \
    } while ( 0 )

int xc_domain_pause(xc_interface *xch, uint32_t domid)
{
    int rc;
    REAL(xc_domain_pause);
    TRACED(TR_PAUSE, real(xch, domid));
    return rc;
}

int xc_domain_unpause(xc_interface *xch, uint32_t domid)
{
    int rc;
    REAL(xc_domain_unpause);
    TRACED(TR_UNPAUSE, real(xch, domid));
    return rc;
}

int xc_monitor_resume(xc_interface *xch, uint32_t domid)
{
    int rc;
    REAL(xc_monitor_resume);
    TRACED(TR_RESUME, real(xch, domid));
    return rc;
}

int xc_monitor_disable(xc_interface *xch, uint32_t domid)
{
    int rc;
    REAL(xc_monitor_disable);
    TRACED(TR_DISABLE, real(xch, domid));
    return rc;
}

void *xc_monitor_enable(xc_interface *xch, uint32_t domid, uint32_t *port)
{
    void *rc;
    REAL(xc_monitor_enable);
    TRACED(TR_ENABLE, real(xch, domid, port));
    return rc;
}

int xc_monitor_cpuid(xc_interface *xch, uint32_t domid, bool enable)
{
    int rc;
    REAL(xc_monitor_cpuid);
    TRACED(TR_CPUID, real(xch, domid, enable));
    return rc;
}

int xc_vcpu_getinfo(xc_interface *xch, uint32_t domid, uint32_t vcpu,
                    xc_vcpuinfo_t *info)
{
    int rc;
    REAL(xc_vcpu_getinfo);
    TRACED(TR_GETINFO, real(xch, domid, vcpu, info));
    return rc;
}

int xenevtchn_notify(xenevtchn_handle *xce, evtchn_port_t port)
{
    int rc;
    REAL(xenevtchn_notify);
    TRACED(TR_NOTIFY, real(xce, port));
    return rc;
}

int xenevtchn_unbind(xenevtchn_handle *xce, evtchn_port_t port)
{
    int rc;
    REAL(xenevtchn_unbind);
    TRACED(TR_UNBIND, real(xce, port));
    return rc;
}

int munmap(void *addr, size_t len)
{
    int rc;
    REAL(munmap);
    TRACED(TR_MUNMAP, real(addr, len));
    return rc;
}

bool xs_write(struct xs_handle *h, xs_transaction_t t, const char *path,
              const void *data, unsigned int len)
{
    bool rc;
    REAL(xs_write);
    TRACED(TR_XS_WRITE, real(h, t, path, data, len));
    return rc;
}

bool xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path)
{
    bool rc;
    REAL(xs_rm);
    TRACED(TR_XS_RM, real(h, t, path));
    return rc;
}

void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path,
              unsigned int *len)
{
    void *rc;
    REAL(xs_read);
    TRACED(TR_XS_READ, real(h, t, path, len));
    return rc;
}

/*
 * Ends a traced safe disable or rescue and prints where its time went:
 * inside the pause windows (from the return of each top-level
 * xc_domain_pause to the return of the xc_domain_unpause that follows),
 * the time of each call and what no call accounts for ("gap": our own
 * code, and dom0 not running us); before the first window, the settle
 * (xc_vcpu_getinfo polls, waits) for a disable, or the checks for a rescue.
 */
static void trace_report(const char *what, unsigned int run, unsigned int k)
{
    uint64_t in[TR_NR] = { 0 }, window = 0, first_pause = 0, start = 0;
    unsigned int calls_in[TR_NR] = { 0 }, before_getinfo = 0, i;
    uint64_t open_at = 0, sum = 0;
    int open = 0;

    trace_on = 0;
    if ( trace_n )
        start = trace_ev[0].t0;
    for ( i = 0; i < trace_n; i++ )
    {
        struct trace_ev *e = &trace_ev[i];

        if ( !open && e->call == TR_PAUSE )
        {
            open = 1;
            open_at = e->t1;
            if ( !first_pause )
                first_pause = e->t0;
            continue;
        }
        if ( !open )
        {
            if ( e->call == TR_GETINFO )
                before_getinfo++;
            continue;
        }
        if ( e->call == TR_UNPAUSE )
        {
            in[TR_UNPAUSE] += e->t1 - e->t0;
            calls_in[TR_UNPAUSE]++;
            window += e->t1 - open_at;
            open = 0;
            continue;
        }
        in[e->call] += e->t1 - e->t0;
        calls_in[e->call]++;
    }
    printf("%s-trace run=%u k=%u window_ns=%" PRIu64 " before_first_pause_ns=%" PRIu64 " getinfo_before=%u",
           what, run, k, window, first_pause ? first_pause - start : 0, before_getinfo);
    for ( i = 0; i < TR_NR; i++ )
    {
        if ( !calls_in[i] )
            continue;
        printf(" %s=%" PRIu64 "/%u", trace_name[i], in[i], calls_in[i]);
        sum += in[i];
    }
    printf(" gap_ns=%" PRId64 "%s\n", (int64_t)(window - sum), trace_n == TRACE_MAX ? " truncated=1" : "");
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: bench-dom0 clock [N]\n"
            "       bench-dom0 timed SECS OUT CMD [ARG...]\n"
            "       bench-dom0 disable DOMID K RUNS\n"
            "       bench-dom0 rescue DOMID K RUNS\n"
            "       bench-dom0 bare DOMID RUNS\n"
            "       bench-dom0 agent DOMID [TIMEOUT_MS]\n"
            "       bench-dom0 unfreeze DOMID\n");
}

static unsigned long arg_ul(const char *s, const char *what)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 0);
    if ( errno || !*s || *end )
    {
        fprintf(stderr, "bench-dom0: bad %s '%s'\n", what, s);
        exit(2);
    }
    return v;
}

static vmeventctl_handle *open_lib(void)
{
    vmeventctl_handle *h = vmeventctl_open((xentoollog_logger *)logger, 0);

    if ( !h )
    {
        printf("error step=open errno=%d\n", errno);
        exit(1);
    }
    return h;
}

/*
 * The cost of reading the clock, which the test agent's loop and
 * vmeventctl_ring_wait() do on every wake-up, next to a syscall that does
 * nothing: in a PV dom0 without a vDSO clock each is a trip through Xen.
 * Also how often two reads in a row return the same time: without
 * PVCLOCK_TSC_STABLE_BIT, Linux's pvclock holds the clock at the last
 * value any vCPU returned (pvclock_clocksource_read), so a dom0 vCPU whose
 * time runs behind another's sees it stand still, and short intervals
 * measured in dom0 read 0.
 */
static int cmd_clock(unsigned long n)
{
    uint64_t t0, t1, t2, prev, now, frozen_since = 0, longest = 0;
    unsigned long i, same = 0, back = 0;
    volatile uint64_t sink = 0;

    t0 = prev = now_ns();
    for ( i = 0; i < n; i++ )
    {
        now = now_ns();
        if ( now == prev )
        {
            same++;
            if ( !frozen_since )
                frozen_since = i + 1;
        }
        else
        {
            if ( now < prev )
                back++;
            if ( frozen_since && i + 1 - frozen_since > longest )
                longest = i + 1 - frozen_since;
            frozen_since = 0;
        }
        prev = now;
    }
    t1 = now_ns();
    for ( i = 0; i < n; i++ )
        sink += (uint64_t)syscall(SYS_getppid);
    t2 = now_ns();
    (void)sink;
    printf("clock calls=%lu gettime_ns=%.1f syscall_ns=%.1f same_as_previous=%lu backwards=%lu longest_standstill_reads=%" PRIu64 "\n",
           n, (double)(t1 - t0) / (double)n, (double)(t2 - t1) / (double)n,
           same, back, longest);
    return 0;
}

static volatile sig_atomic_t got_alarm;

static void on_alarm(int sig)
{
    (void)sig;
    got_alarm = 1;
}

/*
 * Runs an agent for a fixed window measured from its start, so that both
 * agents of the throughput figure are timed the same way, setup included;
 * SIGTERM then asks each to take its ring down as it would in production.
 */
static int cmd_timed(double secs, const char *out, char **argv)
{
    char err_path[4096];
    struct sigaction sa;
    struct timespec ts;
    uint64_t t0, t_term = 0, t_end;
    int status = 0, killed = 0, fd, efd;
    pid_t pid;

    snprintf(err_path, sizeof(err_path), "%s.err", out);
    fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    efd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if ( fd < 0 || efd < 0 )
    {
        printf("timed error=open errno=%d\n", errno);
        return 1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);

    t0 = now_ns();
    pid = fork();
    if ( pid < 0 )
    {
        printf("timed error=fork errno=%d\n", errno);
        return 1;
    }
    if ( pid == 0 )
    {
        dup2(fd, 1);
        dup2(efd, 2);
        close(fd);
        close(efd);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fd);
    close(efd);

    /* Sleep to the end of the window, unless the agent ends first. */
    for ( ;; )
    {
        uint64_t end = t0 + (uint64_t)(secs * 1e9), now = now_ns();
        pid_t w;

        w = waitpid(pid, &status, WNOHANG);
        if ( w == pid )
        {
            t_end = now_ns();
            printf("timed window_ns=%" PRIu64 " end_ns=%" PRIu64 " exit=%d signal=%d early=1\n",
                   t_end - t0, t_end - t0,
                   WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                   WIFSIGNALED(status) ? WTERMSIG(status) : 0);
            return 0;
        }
        if ( now >= end )
            break;
        end -= now;
        if ( end > 20000000ull )
            end = 20000000ull;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)end;
        nanosleep(&ts, NULL);
    }
    t_term = now_ns();
    kill(pid, SIGTERM);

    /* Give it 15 s to take its ring down, then kill it. */
    got_alarm = 0;
    alarm(15);
    while ( waitpid(pid, &status, 0) < 0 )
    {
        if ( errno != EINTR )
            break;
        if ( got_alarm && !killed )
        {
            kill(pid, SIGKILL);
            killed = 1;
        }
    }
    alarm(0);
    t_end = now_ns();
    printf("timed window_ns=%" PRIu64 " end_ns=%" PRIu64 " exit=%d signal=%d killed=%d early=0\n",
           t_term - t0, t_end - t0,
           WIFEXITED(status) ? WEXITSTATUS(status) : -1,
           WIFSIGNALED(status) ? WTERMSIG(status) : 0, killed);
    return 0;
}

static vmeventctl_handle *agent_handle;

static void agent_stop(int sig)
{
    (void)sig;
    if ( agent_handle )
        vmeventctl_request_stop(agent_handle);
}

/*
 * A lean agent on libvmeventctl, next to the test agent in the throughput
 * figure to tell the library's cost from the agent loop's: it waits with
 * no timeout by default (so neither it nor vmeventctl_ring_wait() reads
 * the clock or arms a timer on a wake-up), or with TIMEOUT_MS, and answers
 * each wake-up's requests in one batch.  SIGTERM stops it with the safe
 * disable.  Prints what the test agent prints:
 * "disable ... answered=N ..." and "done events=N", plus the batches.
 */
static int cmd_agent(uint32_t domid, int timeout_ms)
{
    struct vmeventctl_disable_report rep;
    unsigned long events = 0, batches = 0;
    struct sigaction sa;
    vmeventctl_ring *r;
    int rc = 0;

    agent_handle = open_lib();
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = agent_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    r = vmeventctl_ring_enable(agent_handle, domid, VMEVENTCTL_RING_MONITOR, 0);
    if ( !r || vmeventctl_ring_monitor(r, VMEVENTCTL_EVENT_CPUID, 1) )
    {
        printf("agent error=enable errno=%d\n", errno);
        if ( r )
            vmeventctl_ring_disable(r, 0, NULL);
        vmeventctl_close(agent_handle);
        return 1;
    }
    printf("ready domid=%u\n", domid);
    for ( ;; )
    {
        int n = vmeventctl_ring_wait(r, timeout_ms);

        if ( n < 0 )
        {
            if ( errno != ECANCELED )
                rc = 1;
            break;
        }
        if ( n == 0 )
            continue;
        n = vmeventctl_ring_answer_all(r, NULL, NULL);
        if ( n < 0 )
        {
            rc = 1;
            break;
        }
        events += (unsigned long)n;
        batches++;
    }
    if ( vmeventctl_ring_disable(r, 0, &rep) )
        rc = 1;
    printf("disable outcome=%s answered=%u retries=%u paused_ns=%" PRIu64 " total_ns=%" PRIu64 "\n",
           vmeventctl_disable_outcome_name(rep.outcome), rep.answered,
           rep.retries, rep.paused_ns, rep.total_ns);
    printf("done events=%lu batches=%lu\n", events, batches);
    vmeventctl_close(agent_handle);
    return rc;
}

/*
 * Enables a ring and, for k > 0, CPUID events, then reads requests until
 * k are read (or the wait runs out): each leaves its vCPU waiting for a
 * reply.  Returns the ring, or NULL; *got says how many were read.
 */
static vmeventctl_ring *ring_with_pending(vmeventctl_handle *h, uint32_t domid,
                                          unsigned int k, unsigned int *got)
{
    vmeventctl_ring *r = vmeventctl_ring_enable(h, domid, VMEVENTCTL_RING_MONITOR, 0);
    uint64_t end;

    *got = 0;
    if ( !r )
        return NULL;
    if ( !k )
        return r;
    if ( vmeventctl_ring_monitor(r, VMEVENTCTL_EVENT_CPUID, 1) )
    {
        vmeventctl_ring_disable(r, 0, NULL);
        return NULL;
    }
    end = now_ns() + WAIT_REQUESTS_MS * 1000000ull;
    while ( *got < k )
    {
        vm_event_request_t req;
        uint64_t now = now_ns();
        int n;

        if ( now >= end )
            break;
        n = vmeventctl_ring_get_request(r, &req);
        if ( n == 1 )
        {
            (*got)++;
            continue;
        }
        if ( n < 0 && errno != EBADMSG )
            break;
        if ( n == 0 )
            vmeventctl_ring_wait(r, (int)((end - now) / 1000000ull) + 1);
    }
    return r;
}

static int cmd_disable(uint32_t domid, unsigned int k, unsigned int runs)
{
    vmeventctl_handle *h = open_lib();
    unsigned int i;
    int rc = 0;

    for ( i = 0; i < runs; i++ )
    {
        struct vmeventctl_disable_report rep;
        unsigned int got;
        vmeventctl_ring *r = ring_with_pending(h, domid, k, &got);
        int drc;

        if ( !r )
        {
            printf("disable run=%u k=%u error=enable errno=%d\n", i, k, errno);
            rc = 1;
            break;
        }
        trace_start();
        drc = vmeventctl_ring_disable(r, 0, &rep);
        trace_on = 0;
        printf("disable run=%u k=%u got=%u rc=%d outcome=%s failed_step=%s answered=%u retries=%u unsettled=%u paused_ns=%" PRIu64 " total_ns=%" PRIu64 "\n",
               i, k, got, drc, vmeventctl_disable_outcome_name(rep.outcome),
               vmeventctl_disable_step_name(rep.failed_step), rep.answered,
               rep.retries, rep.unsettled, rep.paused_ns, rep.total_ns);
        trace_report("disable", i, k);
        if ( drc )
        {
            rc = 1;
            break;
        }
        usleep(BETWEEN_RUNS_US);
    }
    vmeventctl_close(h);
    return rc;
}

/*
 * The dead agent: a child enables a ring through the library (so the
 * ownership record names it), turns CPUID on, reads k requests and exits
 * without disabling, as a crashed agent would.
 */
static pid_t dead_agent(uint32_t domid, unsigned int k, int fd)
{
    pid_t pid = fork();

    if ( pid != 0 )
        return pid;
    {
        vmeventctl_handle *h = vmeventctl_open((xentoollog_logger *)logger, 0);
        vmeventctl_ring *r;
        unsigned int got = 0;
        char buf[64];
        int len;

        if ( !h )
            _exit(1);
        r = ring_with_pending(h, domid, k, &got);
        len = snprintf(buf, sizeof(buf), "%u %d\n", got, r ? 0 : errno);
        if ( write(fd, buf, (size_t)len) != len )
            _exit(1);
        _exit(r ? 3 : 1);
    }
}

static int cmd_rescue(uint32_t domid, unsigned int k, unsigned int runs)
{
    vmeventctl_handle *h = open_lib();
    unsigned int i;
    int rc = 0;

    for ( i = 0; i < runs; i++ )
    {
        struct vmeventctl_rescue_report rep;
        unsigned int got = 0;
        int p[2], status, err = 0, rrc;
        char buf[64] = "";
        ssize_t n;
        pid_t pid;

        if ( pipe(p) )
        {
            printf("rescue run=%u k=%u error=pipe errno=%d\n", i, k, errno);
            rc = 1;
            break;
        }
        pid = dead_agent(domid, k, p[1]);
        close(p[1]);
        n = read(p[0], buf, sizeof(buf) - 1);
        close(p[0]);
        waitpid(pid, &status, 0);
        if ( n > 0 )
            sscanf(buf, "%u %d", &got, &err);
        if ( n <= 0 || err || !WIFEXITED(status) || WEXITSTATUS(status) != 3 )
        {
            printf("rescue run=%u k=%u error=agent errno=%d status=%d\n", i, k, err, status);
            rc = 1;
            break;
        }
        trace_start();
        rrc = vmeventctl_rescue(h, domid, 0, &rep);
        trace_on = 0;
        printf("rescue run=%u k=%u got=%u rc=%d failed_step=%s rescue_errno=%d vcpus_answered=%u batches=%u stuck=%u paused_ns=%" PRIu64 " total_ns=%" PRIu64 "\n",
               i, k, got, rrc, vmeventctl_rescue_step_name(rep.failed_step),
               rep.error, rep.vcpus_answered, rep.batches, rep.vcpus_stuck,
               rep.paused_ns, rep.total_ns);
        trace_report("rescue", i, k);
        if ( rrc )
        {
            rc = 1;
            break;
        }
        usleep(BETWEEN_RUNS_US);
    }
    vmeventctl_close(h);
    return rc;
}

/*
 * The bare figure of the pause-window target: pause, disable, unpause and
 * nothing else, on a ring nothing was ever put on.  The other calls the
 * safe disable makes inside its window (xc_monitor_resume, the unbind,
 * the removal of the ownership record from xenstore) are timed on their
 * own, outside the bare window, to explain the difference.
 */
static int cmd_bare(uint32_t domid, unsigned int runs)
{
    xc_interface *xch = xc_interface_open(NULL, NULL, 0);
    xenevtchn_handle *xce = xenevtchn_open(NULL, 0);
    struct xs_handle *xsh = xs_open(0);
    char path[80];
    unsigned int i;
    int rc = 0;

    if ( !xch || !xce || !xsh )
    {
        printf("bare error=open errno=%d\n", errno);
        return 1;
    }
    snprintf(path, sizeof(path), "/local/domain/0/libvmeventctl-bench/%u", domid);

    for ( i = 0; i < runs; i++ )
    {
        uint64_t t0, t1, t2, t3, t_resume, t_unbind, t_xsw, t_xsrm, t_unmap;
        xenevtchn_port_or_error_t port;
        uint32_t xen_port;
        void *page;

        page = xc_monitor_enable(xch, domid, &xen_port);
        if ( !page )
        {
            printf("bare run=%u error=enable errno=%d\n", i, errno);
            rc = 1;
            break;
        }
        port = xenevtchn_bind_interdomain(xce, domid, xen_port);

        t0 = now_ns();
        if ( !xs_write(xsh, XBT_NULL, path, "bench", 5) )
            printf("bare run=%u warning=xs_write errno=%d\n", i, errno);
        t_xsw = now_ns() - t0;

        t0 = now_ns();
        if ( xc_monitor_resume(xch, domid) )
            printf("bare run=%u warning=resume errno=%d\n", i, errno);
        t_resume = now_ns() - t0;

        t0 = now_ns();
        if ( port >= 0 && xenevtchn_unbind(xce, (evtchn_port_t)port) )
            printf("bare run=%u warning=unbind errno=%d\n", i, errno);
        t_unbind = now_ns() - t0;

        t0 = now_ns();
        if ( !xs_rm(xsh, XBT_NULL, path) )
            printf("bare run=%u warning=xs_rm errno=%d\n", i, errno);
        t_xsrm = now_ns() - t0;

        t0 = now_ns();
        munmap(page, XC_PAGE_SIZE);
        t_unmap = now_ns() - t0;

        t0 = now_ns();
        if ( xc_domain_pause(xch, domid) )
        {
            printf("bare run=%u error=pause errno=%d\n", i, errno);
            xc_monitor_disable(xch, domid);
            rc = 1;
            break;
        }
        t1 = now_ns();
        if ( xc_monitor_disable(xch, domid) )
            printf("bare run=%u warning=disable errno=%d\n", i, errno);
        t2 = now_ns();
        if ( xc_domain_unpause(xch, domid) )
        {
            printf("bare run=%u error=unpause errno=%d\n", i, errno);
            rc = 1;
            break;
        }
        t3 = now_ns();

        printf("bare run=%u bare_ns=%" PRIu64 " pause_ns=%" PRIu64 " disable_ns=%" PRIu64 " unpause_ns=%" PRIu64 " resume_ns=%" PRIu64 " unbind_ns=%" PRIu64 " xs_write_ns=%" PRIu64 " xs_rm_ns=%" PRIu64 " munmap_ns=%" PRIu64 "\n",
               i, t3 - t0, t1 - t0, t2 - t1, t3 - t2, t_resume, t_unbind, t_xsw,
               t_xsrm, t_unmap);
        usleep(BETWEEN_RUNS_US);
    }
    xs_close(xsh);
    xenevtchn_close(xce);
    xc_interface_close(xch);
    return rc;
}

/*
 * xen-access takes its ring down without pausing the guest: a CPUID
 * request put between its last drain and its disable leaves that vCPU
 * waiting for ever (XEN-FACTS.md).  Find such a vCPU and bring it back
 * with a forced rescue, so that the next run starts from a running guest.
 * A vCPU counts as stuck when, in 6 looks over 1.2 s, it is never running
 * nor blocked and its cpu_time never moves (one look is not enough: an
 * idle vCPU just woken reads running=0 blocked=0 with its cpu_time still).
 */
#define UNFREEZE_LOOKS 6
#define UNFREEZE_MAX_VCPUS 64

static int cmd_unfreeze(uint32_t domid)
{
    vmeventctl_handle *h = open_lib();
    struct vmeventctl_domain_status st;
    struct vmeventctl_rescue_report rep;
    uint64_t first[UNFREEZE_MAX_VCPUS];
    int moved[UNFREEZE_MAX_VCPUS] = { 0 };
    unsigned int i, look, nr = 0, stuck = 0;
    int ring = 0, rc = 0, rrc;

    for ( look = 0; look < UNFREEZE_LOOKS; look++ )
    {
        if ( look )
            usleep(240000);
        if ( vmeventctl_domain_status(h, domid, &st) )
        {
            printf("unfreeze domid=%u error=status errno=%d\n", domid, errno);
            vmeventctl_close(h);
            return 1;
        }
        nr = st.nr_vcpus < UNFREEZE_MAX_VCPUS ? st.nr_vcpus : UNFREEZE_MAX_VCPUS;
        ring = st.monitor_ring;
        for ( i = 0; i < nr && st.vcpus; i++ )
        {
            const struct vmeventctl_vcpu_status *v = &st.vcpus[i];

            if ( !look )
                first[i] = v->cpu_time_ns;
            if ( !v->online || v->running || v->blocked || v->cpu_time_ns != first[i] )
                moved[i] = 1;
        }
        vmeventctl_domain_status_release(&st);
    }
    for ( i = 0; i < nr; i++ )
        stuck += !moved[i];
    if ( !stuck && ring != 1 )
        printf("unfreeze domid=%u stuck=0 ring=%d rescued=0\n", domid, ring);
    else
    {
        rrc = vmeventctl_rescue(h, domid, VMEVENTCTL_RESCUE_FORCE | VMEVENTCTL_RESCUE_NO_RING,
                                &rep);
        printf("unfreeze domid=%u stuck=%u ring=%d rescued=1 rc=%d failed_step=%s stuck_after=%u\n",
               domid, stuck, ring, rrc, vmeventctl_rescue_step_name(rep.failed_step),
               rep.vcpus_stuck);
        rc = rrc ? 1 : 0;
    }
    vmeventctl_close(h);
    return rc;
}

int main(int argc, char **argv)
{
    int rc;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if ( argc < 2 )
    {
        usage(stderr);
        return 2;
    }
    logger = xtl_createlogger_stdiostream(stderr, XTL_WARN, 0);

    if ( !strcmp(argv[1], "clock") && argc <= 3 )
        rc = cmd_clock(argc == 3 ? arg_ul(argv[2], "N") : 200000);
    else if ( !strcmp(argv[1], "timed") && argc >= 5 )
        rc = cmd_timed(strtod(argv[2], NULL), argv[3], argv + 4);
    else if ( !strcmp(argv[1], "disable") && argc == 5 )
        rc = cmd_disable(arg_ul(argv[2], "DOMID"), arg_ul(argv[3], "K"),
                         arg_ul(argv[4], "RUNS"));
    else if ( !strcmp(argv[1], "rescue") && argc == 5 )
        rc = cmd_rescue(arg_ul(argv[2], "DOMID"), arg_ul(argv[3], "K"),
                        arg_ul(argv[4], "RUNS"));
    else if ( !strcmp(argv[1], "bare") && argc == 4 )
        rc = cmd_bare(arg_ul(argv[2], "DOMID"), arg_ul(argv[3], "RUNS"));
    else if ( !strcmp(argv[1], "agent") && (argc == 3 || argc == 4) )
        rc = cmd_agent(arg_ul(argv[2], "DOMID"),
                       argc == 4 ? (int)arg_ul(argv[3], "TIMEOUT_MS") : -1);
    else if ( !strcmp(argv[1], "unfreeze") && argc == 3 )
        rc = cmd_unfreeze(arg_ul(argv[2], "DOMID"));
    else if ( !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") )
    {
        usage(stdout);
        rc = 0;
    }
    else
    {
        usage(stderr);
        rc = 2;
    }
    xtl_logger_destroy((xentoollog_logger *)logger);
    return rc;
}
