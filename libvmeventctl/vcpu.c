/*
 * vcpu.c: what a vCPU's state, as dom0 can read it, says about vm_event.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "private.h"

#define STUCK_POLL_NS 20000000ull

/*
 * A vCPU paused by vm_event, waiting for a reply or asleep on the ring's
 * wait queue, reads online=1 blocked=0 running=0 with cpu_time still (seen
 * on Xen 4.17 and 4.20; XEN_DOMCTL_getvcpuinfo reports the runstate).  One
 * that is running, blocked in the guest's idle loop, or offline is not
 * waiting; so is one whose cpu_time moved since an earlier look.
 */
int vmeventctl__vcpu_may_wait(const xc_vcpuinfo_t *vi)
{
    return vi->online && !vi->running && !vi->blocked;
}

int vmeventctl__vcpus_stuck(vmeventctl_handle *h, uint32_t domid,
                            unsigned int nr_vcpus, unsigned int window_ms,
                            const char *step)
{
    uint64_t *snap = calloc(nr_vcpus, sizeof(*snap));
    uint64_t end = vmeventctl__now_ns() + (uint64_t)window_ms * 1000000ull;
    unsigned int v, stuck;
    int first = 1;

    if ( !snap )
    {
        LOGE(h, domid, step, "out of memory");
        return -1;
    }
    /* UINT64_MAX: seen not waiting, for good within the window. */
    for ( ;; )
    {
        stuck = 0;
        for ( v = 0; v < nr_vcpus; v++ )
        {
            xc_vcpuinfo_t vi;

            if ( snap[v] == UINT64_MAX )
                continue;
            if ( xc_vcpu_getinfo(h->xch, domid, v, &vi) )
            {
                int saved = errno;

                LOGE(h, domid, step, "cannot read vCPU %u's state", v);
                free(snap);
                errno = saved;
                return -1;
            }
            if ( !vmeventctl__vcpu_may_wait(&vi) ||
                 (!first && vi.cpu_time != snap[v]) )
            {
                snap[v] = UINT64_MAX;
                continue;
            }
            snap[v] = vi.cpu_time;
            stuck++;
        }
        first = 0;
        if ( !stuck || vmeventctl__now_ns() >= end )
            break;
        {
            struct timespec ts = { 0, (long)STUCK_POLL_NS };

            nanosleep(&ts, NULL);
        }
    }
    free(snap);
    return (int)stuck;
}
