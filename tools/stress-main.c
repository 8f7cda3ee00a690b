/*
 * stress-main.c: options, the checks of the target domain, the order of
 * things, signals and the hang watch of xen-evtchn-stress.
 *
 * stress_main_io() is the whole tool but for main(): the unit tests call it
 * with argv arrays against the fake Xen (tests/unit/test-stress-cli.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stress.h"

static volatile sig_atomic_t signalled;
static vmeventctl_handle *volatile signal_handle;

static void on_signal(int sig)
{
    (void)sig;
    /* Async-signal-safe only: a flag, and the library's stop (a write(2)). */
    signalled = 1;
    if ( signal_handle )
        vmeventctl_request_stop(signal_handle);
}

int stress_stop_requested(void)
{
    return signalled;
}

void stress_usage(FILE *f)
{
    fputs("Usage: xen-evtchn-stress [OPTIONS] MODE[,MODE...] [DOMAIN]\n"
          "Notify, from dom0, the event channel that feeds a vm_event ring's Xen-consumer\n"
          "port: alone, and while the ring is enabled and disabled over and over.\n"
          "\n"
          "Modes (run in the order given; health checks follow each):\n"
          "  baseline  notify a dom0 loopback channel: the rate the others are judged by\n"
          "  flood     enable a monitor ring on DOMAIN and notify its port from every thread\n"
          "  race      cycle enable, bind, disable, unbind (the unsafe order) while the\n"
          "            threads notify; it may hang or crash the hypervisor: test hosts only\n"
          "  safe      the same cycles in libvmeventctl's safe order (unbind before disable)\n"
          "DOMAIN: an HVM or PVH guest, by id or name; baseline alone needs none.\n"
          "\n"
          "Options:\n"
          "  -d, --duration SECS    run each mode SECS seconds (default 5; fractions allowed; at most 3600)\n"
          "  -n, --count N          stop a mode after N notifies (baseline, flood) or N cycles (race, safe); 0: no limit (default)\n"
          "  -t, --threads N        notifying threads (default: the online dom0 vCPUs; at most 64); race and safe take 0\n"
          "      --hold-ms MS       race, safe: keep the port bound MS milliseconds in each cycle (default 0)\n"
          "      --stuck-secs SECS  report a Xen call that takes longer than SECS as a hang (default 10)\n"
          "      --i-know-this-is-a-test-host\n"
          "                         allow the race mode, which may hang or crash the hypervisor\n"
          "  -j, --json             print the report as JSON\n"
          "  -v, --verbose          print libvmeventctl's messages at detail level\n"
          "  -h, --help             print this help and exit\n"
          "\n"
          "Exit status: 0 SUCCESS; 1 FAILURE (Xen, dom0 or the guest misbehaved); 2 usage error;\n"
          "77 SKIP (cannot run here: no Xen, dom0, a PV guest); 99 ERROR (the tool or its environment).\n"
          "See xen-evtchn-stress(8).\n", f);
}

static unsigned int default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    if ( n < 1 )
        return 1;
    return n > STRESS_MAX_THREADS ? STRESS_MAX_THREADS : (unsigned int)n;
}

static int parse_double(const char *s, double lo_excl, double hi, double *out)
{
    char *end;
    double d;

    if ( !*s || isspace((unsigned char)*s) )
        return -1;
    errno = 0;
    d = strtod(s, &end);
    if ( errno || *end || !isfinite(d) || d <= lo_excl || d > hi )
        return -1;
    *out = d;
    return 0;
}

static int parse_u64(const char *s, uint64_t hi, uint64_t *out)
{
    unsigned long long v;
    char *end;

    if ( !isdigit((unsigned char)*s) )
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if ( errno || *end || v > hi )
        return -1;
    *out = v;
    return 0;
}

static int parse_mode(const char *s, size_t len, enum stress_mode *m)
{
    unsigned int i;

    for ( i = 0; i < STRESS_NR_MODES; i++ )
    {
        const char *name = stress_mode_name((enum stress_mode)i);

        if ( strlen(name) == len && !strncmp(s, name, len) )
        {
            *m = (enum stress_mode)i;
            return 0;
        }
    }
    return -1;
}

static int parse_modes(const char *list, struct stress_opts *o, FILE *err)
{
    const char *p = list;

    o->nr_modes = 0;
    for ( ;; )
    {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        enum stress_mode m;
        unsigned int i;

        if ( parse_mode(p, len, &m) )
        {
            fprintf(err, "xen-evtchn-stress: unknown mode '%.*s' in '%s': give baseline, flood, race or safe, or several joined by commas\n",
                    (int)len, p, list);
            return -1;
        }
        for ( i = 0; i < o->nr_modes; i++ )
        {
            if ( o->modes[i] == m )
            {
                fprintf(err, "xen-evtchn-stress: mode %s given twice in '%s'\n",
                        stress_mode_name(m), list);
                return -1;
            }
        }
        o->modes[o->nr_modes++] = m;
        if ( !comma )
            return 0;
        p = comma + 1;
    }
}

enum {
    OPT_HOLD_MS = 256,
    OPT_STUCK_SECS,
    OPT_TEST_HOST,
};

int stress_parse(int argc, char **argv, struct stress_opts *o, FILE *err)
{
    static const struct option opts[] = {
        { "duration", required_argument, NULL, 'd' },
        { "count", required_argument, NULL, 'n' },
        { "threads", required_argument, NULL, 't' },
        { "hold-ms", required_argument, NULL, OPT_HOLD_MS },
        { "stuck-secs", required_argument, NULL, OPT_STUCK_SECS },
        { "i-know-this-is-a-test-host", no_argument, NULL, OPT_TEST_HOST },
        { "json", no_argument, NULL, 'j' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int ch, threads_given = 0, ring_modes = 0, notify_modes = 0;
    unsigned int i;
    uint64_t v;

    memset(o, 0, sizeof(*o));
    o->duration_s = STRESS_DEFAULT_DURATION_S;
    o->stuck_s = STRESS_DEFAULT_STUCK_S;
    o->threads = default_threads();

    /* optind 0: a full re-initialisation of getopt (the tests call us often). */
    optind = 0;
    opterr = 0;
    while ( (ch = getopt_long(argc, argv, ":d:n:t:jvh", opts, NULL)) != -1 )
    {
        switch ( ch )
        {
        case 'd':
            if ( parse_double(optarg, 0, STRESS_MAX_DURATION_S, &o->duration_s) )
            {
                fprintf(err, "xen-evtchn-stress: --duration '%s': give seconds, more than 0 and at most 3600\n",
                        optarg);
                return -1;
            }
            break;
        case 'n':
            if ( parse_u64(optarg, UINT64_C(1000000000000), &o->count) )
            {
                fprintf(err, "xen-evtchn-stress: --count '%s': give a whole number from 0 to 10^12\n",
                        optarg);
                return -1;
            }
            break;
        case 't':
            if ( parse_u64(optarg, STRESS_MAX_THREADS, &v) )
            {
                fprintf(err, "xen-evtchn-stress: --threads '%s': give a whole number from 0 to %d\n",
                        optarg, STRESS_MAX_THREADS);
                return -1;
            }
            o->threads = (unsigned int)v;
            threads_given = 1;
            break;
        case OPT_HOLD_MS:
            if ( parse_u64(optarg, STRESS_MAX_HOLD_MS, &v) )
            {
                fprintf(err, "xen-evtchn-stress: --hold-ms '%s': give milliseconds from 0 to %u\n",
                        optarg, STRESS_MAX_HOLD_MS);
                return -1;
            }
            o->hold_ms = (unsigned int)v;
            break;
        case OPT_STUCK_SECS:
            if ( parse_double(optarg, 0, STRESS_MAX_DURATION_S, &o->stuck_s) )
            {
                fprintf(err, "xen-evtchn-stress: --stuck-secs '%s': give seconds, more than 0 and at most 3600\n",
                        optarg);
                return -1;
            }
            break;
        case OPT_TEST_HOST:
            o->test_host = 1;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'v':
            o->verbose = 1;
            break;
        case 'h':
            o->help = 1;
            break;
        case ':':
            fprintf(err, "xen-evtchn-stress: option '%s' needs a value\n", argv[optind - 1]);
            return -1;
        default:
            fprintf(err, "xen-evtchn-stress: unknown option '%s'\n", argv[optind - 1]);
            return -1;
        }
    }
    if ( o->help )
        return 0;

    if ( optind >= argc )
    {
        fprintf(err, "xen-evtchn-stress: no mode given\n");
        return -1;
    }
    if ( argc - optind > 2 )
    {
        fprintf(err, "xen-evtchn-stress: too many arguments, from '%s' on\n", argv[optind + 2]);
        return -1;
    }
    if ( parse_modes(argv[optind], o, err) )
        return -1;
    o->domain = argc - optind == 2 ? argv[optind + 1] : NULL;

    for ( i = 0; i < o->nr_modes; i++ )
    {
        if ( o->modes[i] != STRESS_MODE_BASELINE )
            ring_modes = 1;
        if ( o->modes[i] == STRESS_MODE_BASELINE || o->modes[i] == STRESS_MODE_FLOOD )
            notify_modes = 1;
        if ( o->modes[i] == STRESS_MODE_RACE && !o->test_host )
        {
            fprintf(err, "xen-evtchn-stress: the race mode disables a vm_event ring while notifies are still running Xen's callback for it, which Xen 4.15 and later do not guard against: it may hang or crash the hypervisor and every guest on it. Run it only on a test host, and say so with --i-know-this-is-a-test-host.\n");
            return -1;
        }
    }
    if ( ring_modes && !o->domain )
    {
        fprintf(err, "xen-evtchn-stress: the flood, race and safe modes need a DOMAIN (an HVM or PVH guest, by id or name)\n");
        return -1;
    }
    if ( notify_modes && !o->threads )
    {
        fprintf(err, "xen-evtchn-stress: --threads 0 leaves baseline and flood nothing to do\n");
        return -1;
    }
    (void)threads_given;
    return 0;
}

/*
 * The hang watch.  A Xen call that does not return is what a hypervisor
 * hang looks like from dom0 while dom0 itself still runs.  A worker's hang
 * stops the mode (the main thread sees c->hung); a hang of the main thread
 * itself leaves nobody to report, so the watch prints the report and exits.
 */
static void report_main_hang(struct stress_ctx *c)
{
    unsigned int i;

    for ( i = 0; i < c->nr_res; i++ )
    {
        struct stress_result *r = &c->res[i];

        if ( r->ran && !r->health.ran )
            stress_verdict_worse(&r->verdict, STRESS_FAILURE, r->reason, sizeof(r->reason),
                                 "%s (a hang in Xen or the dom0 kernel)", c->hung_what);
    }
    stress_verdict_worse(&c->verdict, STRESS_FAILURE, c->reason, sizeof(c->reason),
                         "%s (a hang in Xen or the dom0 kernel)", c->hung_what);
    fprintf(c->err, "xen-evtchn-stress: %s: giving up\n", c->hung_what);
    stress_report(c, c->out);
    fflush(c->err);
    _exit(stress_verdict_exit(c->verdict));
}

static void *watch_main(void *arg)
{
    struct stress_ctx *c = arg;
    uint64_t limit = (uint64_t)(c->opt.stuck_s * 1e9);
    struct timespec tick = { 0, 100000000L };

    while ( !atomic_load(&c->wd_quit) )
    {
        uint64_t now, since;

        nanosleep(&tick, NULL);
        now = stress_now_ns();
        since = atomic_load(&c->main_slot.since_ns);
        if ( since && now > since && now - since > limit && !atomic_load(&c->hung) )
        {
            snprintf(c->hung_what, sizeof(c->hung_what), "the main thread has been inside %s for %.1f s",
                     atomic_load(&c->main_slot.call), (double)(now - since) / 1e9);
            atomic_store(&c->hung, 1);
            report_main_hang(c);
        }
        pthread_mutex_lock(&c->wd_lock);
        if ( c->run && !atomic_load(&c->hung) )
        {
            char what[sizeof(c->hung_what)];

            if ( stress_run_scan_hung(c, c->run, now, what, sizeof(what)) )
            {
                memcpy(c->hung_what, what, sizeof(what));
                atomic_store(&c->hung, 1);
            }
        }
        pthread_mutex_unlock(&c->wd_lock);
    }
    return NULL;
}

/*
 * The target.  Refuses, before any ring is touched: dom0 and PV guests
 * (Xen answers EINVAL: only HVM and PVH guests have rings), a domain that
 * does not exist or is dying, and a guest that already has a monitor ring
 * (another agent's, live or dead: only one ring per guest).
 */
static void refuse(struct stress_ctx *c, enum stress_verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void refuse(struct stress_ctx *c, enum stress_verdict v, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
    va_end(ap);
    c->verdict = v;
    fprintf(c->err, "xen-evtchn-stress: %s\n", c->reason);
}

static int check_target(struct stress_ctx *c)
{
    struct vmeventctl_domain_status st;
    uint32_t domid;
    int rc;

    stress_call_begin(&c->main_slot, "vmeventctl_domain_lookup");
    rc = vmeventctl_domain_lookup(c->h, c->opt.domain, &domid);
    stress_call_end(&c->main_slot);
    if ( rc )
    {
        refuse(c, STRESS_ERROR, "domain %s: lookup: %s", c->opt.domain,
               errno == ENOENT ? "no domain has that name" :
               errno == ESRCH ? "no such domain" :
               errno == EINVAL ? "not a guest domain id" :
               errno == ENOTUNIQ ? "several domains have that name; give its id" :
               strerror(errno));
        return -1;
    }
    c->domid = domid;
    c->have_domain = 1;
    if ( domid == 0 )
    {
        refuse(c, STRESS_SKIP, "domain 0: check: refused: dom0 cannot have vm_event rings and is not a guest; give an HVM or PVH guest");
        return -1;
    }

    stress_call_begin(&c->main_slot, "vmeventctl_domain_status");
    rc = vmeventctl_domain_status(c->h, domid, &st);
    stress_call_end(&c->main_slot);
    if ( rc )
    {
        refuse(c, STRESS_ERROR, "domain %u: check: cannot read its state: %s", domid,
               strerror(errno));
        return -1;
    }
    rc = -1;
    if ( st.dying )
        refuse(c, STRESS_ERROR, "domain %u: check: refused: the domain is dying", domid);
    else if ( c->ring_modes && !st.hvm )
        refuse(c, STRESS_SKIP, "domain %u: check: refused: a PV guest has no vm_event rings (HVM or PVH only)",
               domid);
    else if ( c->ring_modes && st.xen_interface_version != VMEVENTCTL_INTERFACE_VERSION )
        refuse(c, STRESS_SKIP, "domain %u: check: refused: Xen speaks vm_event interface version %d, libvmeventctl %d",
               domid, st.xen_interface_version, VMEVENTCTL_INTERFACE_VERSION);
    else if ( c->ring_modes && st.monitor_ring < 0 )
        refuse(c, STRESS_ERROR, "domain %u: check: cannot tell whether it has a monitor ring (xc_monitor_resume: %s)",
               domid, strerror(st.monitor_probe_errno));
    else if ( c->ring_modes && st.monitor_ring == 1 )
    {
        struct vmeventctl_owner o;

        stress_call_begin(&c->main_slot, "vmeventctl_owner_get");
        rc = vmeventctl_owner_get(c->h, domid, &o);
        stress_call_end(&c->main_slot);
        if ( rc == 0 && o.state == VMEVENTCTL_OWNER_LIVE )
            refuse(c, STRESS_ERROR, "domain %u: check: refused: its monitor ring is owned by a live agent, pid %d (%s); stop it first",
                   domid, (int)o.pid, o.comm);
        else if ( rc == 0 && o.state == VMEVENTCTL_OWNER_DEAD )
            refuse(c, STRESS_ERROR, "domain %u: check: refused: its monitor ring was left by a dead agent, pid %d (%s); xen-vmevent-drain can rescue the guest",
                   domid, (int)o.pid, o.comm);
        else
            refuse(c, STRESS_ERROR, "domain %u: check: refused: a monitor ring is already enabled, by an agent that left no libvmeventctl ownership record",
                   domid);
        rc = -1;
    }
    else
    {
        c->start_paused = st.controller_paused;
        rc = 0;
    }
    vmeventctl_domain_status_release(&st);
    return rc;
}

static void xen_version(struct stress_ctx *c)
{
    xen_extraversion_t extra;
    int v;

    stress_call_begin(&c->main_slot, "xc_version");
    v = xc_version(c->xch, XENVER_version, NULL);
    memset(extra, 0, sizeof(extra));
    if ( v >= 0 && xc_version(c->xch, XENVER_extraversion, extra) < 0 )
        extra[0] = '\0';
    stress_call_end(&c->main_slot);
    extra[sizeof(extra) - 1] = '\0';
    if ( v >= 0 )
        snprintf(c->xen_version, sizeof(c->xen_version), "%d.%d%s", v >> 16, v & 0xffff, extra);
}

/* Opens what the tool needs.  Returns 0, or -1 with the verdict set. */
static int open_xen(struct stress_ctx *c)
{
    const char *what = "libvmeventctl (vmeventctl_open)";

    stress_call_begin(&c->main_slot, "vmeventctl_open");
    c->h = vmeventctl_open((xentoollog_logger *)c->logger, 0);
    if ( c->h )
    {
        what = "the hypervisor interface (xc_interface_open)";
        c->xch = xc_interface_open((xentoollog_logger *)c->logger,
                                   (xentoollog_logger *)c->logger, 0);
    }
    if ( c->xch )
    {
        what = "the event channel device (xenevtchn_open)";
        c->xce = xenevtchn_open((xentoollog_logger *)c->logger, 0);
    }
    stress_call_end(&c->main_slot);
    if ( c->xce )
        return 0;
    /* No /dev/xen/privcmd or evtchn device: not dom0 of a Xen host. */
    refuse(c, errno == ENOENT || errno == ENODEV || errno == ENXIO ? STRESS_SKIP : STRESS_ERROR,
           "cannot open %s: %s%s", what, strerror(errno),
           errno == ENOENT || errno == ENODEV || errno == ENXIO ?
           " (not dom0 of a Xen host?)" :
           errno == EACCES || errno == EPERM ? " (run it as root in dom0)" : "");
    return -1;
}

int stress_main_io(int argc, char **argv, FILE *out, FILE *err)
{
    struct sigaction sa, old_int, old_term;
    struct stress_ctx *c;
    unsigned int i;
    int rc, abandoned = 0;

    c = calloc(1, sizeof(*c));
    if ( !c )
    {
        fprintf(err, "xen-evtchn-stress: out of memory\n");
        return STRESS_EXIT_ERROR;
    }
    if ( stress_parse(argc, argv, &c->opt, err) )
    {
        fprintf(err, "Try 'xen-evtchn-stress --help'.\n");
        free(c);
        return STRESS_EXIT_USAGE;
    }
    if ( c->opt.help )
    {
        stress_usage(out);
        free(c);
        return STRESS_EXIT_SUCCESS;
    }
    c->out = out;
    c->err = err;
    c->dom0_vcpus = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(c->main_slot.who, sizeof(c->main_slot.who), "main");
    pthread_mutex_init(&c->wd_lock, NULL);
    for ( i = 0; i < c->opt.nr_modes; i++ )
    {
        c->res[i].mode = c->opt.modes[i];
        if ( c->opt.modes[i] != STRESS_MODE_BASELINE )
            c->ring_modes = 1;
    }
    c->nr_res = c->opt.nr_modes;

    signalled = 0;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    c->logger = xtl_createlogger_stdiostream(err, c->opt.verbose ? XTL_DETAIL : XTL_PROGRESS, 0);
    if ( !c->logger )
    {
        refuse(c, STRESS_ERROR, "cannot create a logger: %s", strerror(errno));
        goto report;
    }
    if ( open_xen(c) )
        goto report;
    signal_handle = c->h;

    if ( pthread_create(&c->wd_thread, NULL, watch_main, c) == 0 )
        c->wd_started = 1;
    xen_version(c);

    if ( c->opt.domain && check_target(c) )
        goto report;

    stress_health_run(c, &c->preflight, 1);
    if ( c->preflight.verdict != STRESS_SUCCESS )
    {
        for ( i = 0; i < STRESS_NR_CHECKS; i++ )
            if ( c->preflight.c[i].ran && c->preflight.c[i].verdict != STRESS_SUCCESS )
                stress_verdict_worse(&c->verdict, c->preflight.c[i].verdict, c->reason,
                                     sizeof(c->reason), "before the first mode: %s: %s",
                                     stress_check_names[i], c->preflight.c[i].detail);
        fprintf(err, "xen-evtchn-stress: %s\n", c->reason);
        goto report;
    }

    for ( i = 0; i < c->nr_res; i++ )
    {
        struct stress_result *r = &c->res[i];

        if ( signalled || atomic_load(&c->hung) )
            break;
        stress_run_mode(c, c->opt.modes[i], r);
        if ( r->verdict != STRESS_SUCCESS )
            stress_verdict_worse(&c->verdict, r->verdict, c->reason, sizeof(c->reason),
                                 "%s: %s", stress_mode_name(r->mode), r->reason);
        /* After a hang or a damaged host, later modes would prove nothing. */
        if ( atomic_load(&c->hung) || r->health.verdict == STRESS_FAILURE )
        {
            i++;
            break;
        }
    }
    for ( ; i < c->nr_res; i++ )
    {
        if ( c->res[i].ran )
            continue;
        c->res[i].verdict = STRESS_SKIP;
        snprintf(c->res[i].reason, sizeof(c->res[i].reason), "%s",
                 signalled ? "interrupted" : "an earlier mode left the host unfit");
    }
    if ( signalled )
        c->interrupted = 1;

 report:
    if ( c->verdict != STRESS_SUCCESS )
    {
        for ( i = 0; i < c->nr_res; i++ )
            if ( !c->res[i].ran && !c->res[i].reason[0] )
            {
                c->res[i].verdict = STRESS_SKIP;
                snprintf(c->res[i].reason, sizeof(c->res[i].reason), "%s",
                         "not started: see the verdict");
            }
    }
    stress_report(c, out);
    rc = stress_verdict_exit(c->verdict);

    if ( c->wd_started )
    {
        atomic_store(&c->wd_quit, 1);
        pthread_join(c->wd_thread, NULL);
    }
    abandoned = atomic_load(&c->hung);
    signal_handle = NULL;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    stress_call_begin(&c->main_slot, "close");
    vmeventctl_close(c->h);
    /* A thread stuck in a call may still use these: leave them open. */
    if ( !abandoned )
    {
        xenevtchn_close(c->xce);
        xc_interface_close(c->xch);
    }
    stress_call_end(&c->main_slot);
    xtl_logger_destroy((xentoollog_logger *)c->logger);
    pthread_mutex_destroy(&c->wd_lock);
    if ( abandoned )
    {
        /* Kept reachable for the stuck thread. */
        static struct stress_ctx *abandoned_ctx[4];

        for ( i = 0; i < 4; i++ )
            if ( !abandoned_ctx[i] )
            {
                abandoned_ctx[i] = c;
                break;
            }
    }
    else
        free(c);
    return rc;
}

int stress_main(int argc, char **argv)
{
    return stress_main_io(argc, argv, stdout, stderr);
}
