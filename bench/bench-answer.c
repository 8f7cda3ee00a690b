/*
 * bench-answer: the library's read-validate-answer path, off the host,
 * for `make bench` to count under callgrind.
 *
 * It links the library built against the unit tests' fakes of the Xen
 * calls (tests/unit/libvmeventctl-fake.a), gives the fake Xen one PVH guest
 * with 8 vCPUs, enables a monitor ring, turns CPUID on, and then ITERS
 * times: raises one CPUID event on each of BATCH vCPUs (fake_vcpu_event,
 * the model of hvm_monitor_cpuid putting a request and pausing the vCPU)
 * and answers them all with one vmeventctl_ring_answer_all().
 *
 * Counted with
 *   valgrind --tool=callgrind --toggle-collect=vmeventctl_ring_answer_all \
 *            --toggle-collect=xenevtchn_notify bench-answer BATCH ITERS
 * only the instructions inside vmeventctl_ring_answer_all() are collected
 * (raising the events is outside it), and the second toggle leaves out the
 * fake xenevtchn_notify, which stands for the kernel and Xen (the model
 * consumes the responses and unpauses the vCPUs there).  What is left is
 * the library's own work: read each request, validate it, build and queue
 * its answer, publish the batch and issue one notify.  Instruction counts
 * repeat exactly from run to run, unlike times.
 *
 * Prints "answer batch=B iters=I events=E notifies=N"; exit 0, or 1 if
 * the fake world did not behave (an event not put, a batch not answered).
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xentoollog.h>

#include "vmeventctl.h"
#include "fake-xen.h"

#define DOMID     7
#define NR_VCPUS  8

static int fail(const char *what, int err)
{
    fprintf(stderr, "bench-answer: %s: %s\n", what, strerror(err));
    return 1;
}

int main(int argc, char **argv)
{
    unsigned long batch, iters, i, events = 0;
    xentoollog_logger_stdiostream *logger;
    vmeventctl_handle *h;
    vmeventctl_ring *r;
    unsigned int notifies0;
    int rc = 0;

    if ( argc != 3 )
    {
        fprintf(stderr, "Usage: bench-answer BATCH ITERS   (BATCH 1 to %d)\n", NR_VCPUS);
        return 2;
    }
    batch = strtoul(argv[1], NULL, 0);
    iters = strtoul(argv[2], NULL, 0);
    if ( batch < 1 || batch > NR_VCPUS || iters < 1 )
    {
        fprintf(stderr, "bench-answer: BATCH must be 1 to %d, ITERS at least 1\n", NR_VCPUS);
        return 2;
    }

    fake_reset();
    if ( fake_domain_add(DOMID, FAKE_DOM_PVH, NR_VCPUS, "bench") )
        return fail("fake_domain_add", errno);

    logger = xtl_createlogger_stdiostream(stderr, XTL_ERROR, 0);
    h = vmeventctl_open((xentoollog_logger *)logger, 0);
    if ( !h )
        return fail("vmeventctl_open", errno);
    r = vmeventctl_ring_enable(h, DOMID, VMEVENTCTL_RING_MONITOR, 0);
    if ( !r )
        return fail("vmeventctl_ring_enable", errno);
    if ( vmeventctl_ring_monitor(r, VMEVENTCTL_EVENT_CPUID, 1) )
        return fail("vmeventctl_ring_monitor", errno);

    notifies0 = fake_call_count("xenevtchn_notify");
    for ( i = 0; i < iters && !rc; i++ )
    {
        unsigned long v;
        int n;

        for ( v = 0; v < batch; v++ )
        {
            if ( fake_vcpu_event(DOMID, (uint32_t)v, VM_EVENT_REASON_CPUID) != FAKE_EVENT_PUT )
            {
                rc = fail("fake_vcpu_event did not put a request", errno);
                break;
            }
        }
        if ( rc )
            break;
        n = vmeventctl_ring_answer_all(r, NULL, NULL);
        if ( n != (int)batch )
        {
            rc = fail("vmeventctl_ring_answer_all did not answer the batch", n < 0 ? errno : EPROTO);
            break;
        }
        events += (unsigned long)n;
    }

    printf("answer batch=%lu iters=%lu events=%lu notifies=%u\n", batch, iters,
           events, fake_call_count("xenevtchn_notify") - notifies0);

    /*
     * The answered vCPUs run, as a real guest's would, so that the safe
     * disable's settle sees them (outside the measured loop: the fake's
     * scheduling is not the library's cost).
     */
    if ( fake_domain_step(DOMID, 1) )
        rc = fail("fake_domain_step", errno);
    if ( vmeventctl_ring_disable(r, 0, NULL) )
        rc = fail("vmeventctl_ring_disable", errno);
    vmeventctl_close(h);
    xtl_logger_destroy((xentoollog_logger *)logger);
    return rc;
}
