/*
 * vmevent-test-agent: a small introspection agent built on libvmeventctl.
 *
 * The integration tests use it to play every kind of agent an
 * administrator meets: a live one that answers CPUID events (or software
 * breakpoints, with -e breakpoint), one that
 * hangs (stops answering but keeps its ring), and a dead one (killed, or
 * exiting without disabling, as a crashed agent would).
 *
 * Output, one line each, for scripts:
 *   ready domid=N port=P xen_port=X pid=PID
 *   answered N                      (every --progress events)
 *   disable outcome=... answered=... retries=... unsettled=... paused_ns=... total_ns=... ring_disabled=...
 *   done events=N
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xentoollog.h>

#include "vmeventctl.h"

static vmeventctl_handle *handle;

static void on_signal(int sig)
{
    (void)sig;
    if ( handle )
        vmeventctl_request_stop(handle);
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: vmevent-test-agent [OPTIONS] DOMAIN\n"
            "Enable a monitor ring on DOMAIN, turn on CPUID events, answer them.\n"
            "  -e, --event EVENT         monitor EVENT instead: cpuid (the default) or\n"
            "                            breakpoint; give -e twice for both\n"
            "  -n, --events N            stop after answering N events\n"
            "  -d, --duration SECS       stop after SECS seconds\n"
            "  -s, --stop-answering N    after N answers keep the ring but answer no more\n"
            "  -x, --exit-without-disable  on stop, _exit(3) with the ring still enabled\n"
            "  -t, --timeout-ms MS       settle timeout of the safe disable\n"
            "  -p, --progress N          print 'answered N' every N events (default 100)\n"
            "  -w, --slow MS             wait MS ms before each batch of answers (a slow\n"
            "                            agent: the ring fills and vCPUs queue)\n"
            "  -v, --verbose             library messages at detail level\n"
            "  -h, --help\n"
            "SIGINT or SIGTERM stops it with the safe disable.\n"
            "Exit: 0 ring enabled, answered and safely disabled; 1 a library call failed;\n"
            "      2 usage; 3 exited on purpose without disabling.\n");
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "events", required_argument, NULL, 'n' },
        { "event", required_argument, NULL, 'e' },
        { "duration", required_argument, NULL, 'd' },
        { "stop-answering", required_argument, NULL, 's' },
        { "exit-without-disable", no_argument, NULL, 'x' },
        { "timeout-ms", required_argument, NULL, 't' },
        { "progress", required_argument, NULL, 'p' },
        { "slow", required_argument, NULL, 'w' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    unsigned long max_events = 0, stop_answering = 0, progress = 100;
    unsigned long duration_s = 0, timeout_ms = 0, answered = 0, slow_ms = 0;
    int exit_without_disable = 0, verbose = 0, c, rc = 0;
    unsigned int events = 0, ev;
    xentoollog_logger_stdiostream *logger;
    struct vmeventctl_disable_report rep;
    struct sigaction sa;
    vmeventctl_ring *r;
    uint32_t domid;
    uint64_t end_ms = 0;

    while ( (c = getopt_long(argc, argv, "n:e:d:s:xt:p:w:vh", opts, NULL)) != -1 )
    {
        switch ( c )
        {
        case 'n': max_events = strtoul(optarg, NULL, 0); break;
        case 'e':
            if ( !strcmp(optarg, "cpuid") )
                events |= VMEVENTCTL_EVENT_CPUID;
            else if ( !strcmp(optarg, "breakpoint") )
                events |= VMEVENTCTL_EVENT_SOFTWARE_BREAKPOINT;
            else
            {
                fprintf(stderr, "vmevent-test-agent: unknown event '%s' (cpuid or breakpoint)\n", optarg);
                return 2;
            }
            break;
        case 'd': duration_s = strtoul(optarg, NULL, 0); break;
        case 's': stop_answering = strtoul(optarg, NULL, 0); break;
        case 'x': exit_without_disable = 1; break;
        case 't': timeout_ms = strtoul(optarg, NULL, 0); break;
        case 'p': progress = strtoul(optarg, NULL, 0); break;
        case 'w': slow_ms = strtoul(optarg, NULL, 0); break;
        case 'v': verbose = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if ( optind != argc - 1 )
    {
        usage(stderr);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    logger = xtl_createlogger_stdiostream(stderr, verbose ? XTL_DETAIL : XTL_PROGRESS, 0);
    handle = vmeventctl_open((xentoollog_logger *)logger, 0);
    if ( !handle )
    {
        fprintf(stderr, "vmevent-test-agent: cannot open libvmeventctl: %s\n", strerror(errno));
        return 1;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if ( vmeventctl_domain_lookup(handle, argv[optind], &domid) )
    {
        rc = 1;
        goto out;
    }
    r = vmeventctl_ring_enable(handle, domid, VMEVENTCTL_RING_MONITOR, 0);
    if ( !r )
    {
        fprintf(stderr, "vmevent-test-agent: domain %u: enable: %s\n", domid, strerror(errno));
        rc = 1;
        goto out;
    }
    if ( !events )
        events = VMEVENTCTL_EVENT_CPUID;
    for ( ev = VMEVENTCTL_EVENT_CPUID; ev <= VMEVENTCTL_EVENT_SOFTWARE_BREAKPOINT; ev <<= 1 )
    {
        if ( !(events & ev) || vmeventctl_ring_monitor(r, ev, 1) == 0 )
            continue;
        fprintf(stderr, "vmevent-test-agent: domain %u: %s: %s\n", domid,
                ev == VMEVENTCTL_EVENT_CPUID ? "cpuid" : "breakpoint", strerror(errno));
        rc = 1;
        goto disable;
    }
    printf("ready domid=%u port=%u xen_port=%u pid=%d\n", domid,
           vmeventctl_ring_port(r), vmeventctl_ring_xen_port(r), (int)getpid());

    if ( duration_s )
        end_ms = now_ms() + duration_s * 1000;

    for ( ;; )
    {
        int n;

        if ( end_ms && now_ms() >= end_ms )
            break;
        n = vmeventctl_ring_wait(r, 100);
        if ( n < 0 )
        {
            if ( errno != ECANCELED )
            {
                fprintf(stderr, "vmevent-test-agent: domain %u: wait: %s\n", domid, strerror(errno));
                rc = 1;
            }
            break;
        }
        if ( n == 0 || (stop_answering && answered >= stop_answering) )
            continue;
        if ( slow_ms )
        {
            struct timespec ts = { (time_t)(slow_ms / 1000), (long)(slow_ms % 1000) * 1000000L };

            nanosleep(&ts, NULL);
        }

        n = vmeventctl_ring_answer_all(r, NULL, NULL);
        if ( n < 0 )
        {
            fprintf(stderr, "vmevent-test-agent: domain %u: answer: %s\n", domid, strerror(errno));
            rc = 1;
            break;
        }
        if ( progress && answered / progress != (answered + n) / progress )
            printf("answered %lu\n", answered + n);
        answered += (unsigned long)n;
        if ( stop_answering && answered >= stop_answering )
            printf("not answering any more after %lu\n", answered);
        if ( max_events && answered >= max_events )
            break;
    }

    if ( exit_without_disable )
    {
        printf("exiting without disable events=%lu\n", answered);
        _exit(3);
    }

 disable:
    if ( vmeventctl_ring_disable(r, (unsigned int)timeout_ms, &rep) )
        rc = 1;
    printf("disable outcome=%s failed_step=%s error=%d answered=%u retries=%u unsettled=%u paused_ns=%" PRIu64 " total_ns=%" PRIu64 " ring_disabled=%d\n",
           vmeventctl_disable_outcome_name(rep.outcome),
           vmeventctl_disable_step_name(rep.failed_step), rep.error,
           rep.answered, rep.retries, rep.unsettled, rep.paused_ns,
           rep.total_ns, rep.ring_disabled);
    printf("done events=%lu\n", answered);
 out:
    vmeventctl_close(handle);
    xtl_logger_destroy((xentoollog_logger *)logger);
    return rc;
}
