/*
 * core.c: opening and closing a handle, logging, the stop request.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "private.h"

uint64_t vmeventctl__now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void vmeventctl__ring_link(vmeventctl_handle *h, vmeventctl_ring *r)
{
    r->next = h->rings;
    h->rings = r;
}

void vmeventctl__ring_unlink(vmeventctl_handle *h, vmeventctl_ring *r)
{
    vmeventctl_ring **pp;

    for ( pp = &h->rings; *pp; pp = &(*pp)->next )
    {
        if ( *pp == r )
        {
            *pp = r->next;
            break;
        }
    }
    r->next = NULL;
}

VMEVENTCTL_EXPORT
vmeventctl_handle *vmeventctl_open(struct xentoollog_logger *logger,
                                   unsigned int flags)
{
    vmeventctl_handle *h;
    int saved;

    if ( flags )
    {
        errno = EINVAL;
        return NULL;
    }

    h = calloc(1, sizeof(*h));
    if ( !h )
        return NULL;
    h->stop_pipe[0] = h->stop_pipe[1] = -1;

    h->logger = logger;
    if ( !h->logger )
    {
        h->own_logger = xtl_createlogger_stdiostream(stderr, XTL_PROGRESS, 0);
        if ( !h->own_logger )
            goto err;
        h->logger = (xentoollog_logger *)h->own_logger;
    }

    if ( pipe2(h->stop_pipe, O_CLOEXEC | O_NONBLOCK) )
    {
        xtl_log(h->logger, XTL_ERROR, errno, "libvmeventctl",
                "open: cannot create the stop pipe");
        goto err;
    }

    h->xch = xc_interface_open(h->logger, h->logger, 0);
    if ( !h->xch )
    {
        xtl_log(h->logger, XTL_ERROR, errno, "libvmeventctl",
                "open: cannot open the hypervisor interface (xc_interface_open); are you root in dom0, with /dev/xen/privcmd present?");
        goto err;
    }

    h->xce = xenevtchn_open(h->logger, 0);
    if ( !h->xce )
    {
        xtl_log(h->logger, XTL_ERROR, errno, "libvmeventctl",
                "open: cannot open the event channel device (xenevtchn_open); is the xen-evtchn module loaded?");
        goto err;
    }

    h->xsh = xs_open(0);
    if ( !h->xsh )
    {
        xtl_log(h->logger, XTL_ERROR, errno, "libvmeventctl",
                "open: cannot connect to xenstore (xs_open); is xenstored running?");
        goto err;
    }

    return h;

 err:
    saved = errno;
    if ( h->xsh )
        xs_close(h->xsh);
    if ( h->xce )
        xenevtchn_close(h->xce);
    if ( h->xch )
        xc_interface_close(h->xch);
    if ( h->stop_pipe[0] >= 0 )
    {
        close(h->stop_pipe[0]);
        close(h->stop_pipe[1]);
    }
    xtl_logger_destroy((xentoollog_logger *)h->own_logger);
    free(h);
    errno = saved;
    return NULL;
}

VMEVENTCTL_EXPORT
int vmeventctl_close(vmeventctl_handle *h)
{
    int rc = 0, saved = 0;

    if ( !h )
        return 0;

    /*
     * A ring left enabled keeps the guest's vCPUs waiting for replies that
     * will never come (Xen 4.17 vm_event_disable does not release them, and
     * nobody else can map the ring page, whose gfn xc_monitor_enable
     * removed).  Take them down safely before the handles go.
     */
    while ( h->rings )
    {
        if ( vmeventctl_ring_disable(h->rings, 0, NULL) && !saved )
        {
            saved = errno;
            rc = -1;
        }
    }

    xs_close(h->xsh);
    xenevtchn_close(h->xce);
    xc_interface_close(h->xch);
    close(h->stop_pipe[0]);
    close(h->stop_pipe[1]);
    xtl_logger_destroy((xentoollog_logger *)h->own_logger);
    free(h);

    if ( rc )
        errno = saved;
    return rc;
}

VMEVENTCTL_EXPORT
void vmeventctl_request_stop(vmeventctl_handle *h)
{
    int saved = errno;
    char c = 1;
    ssize_t n;

    /* Only async-signal-safe operations: a flag store and write(2). */
    h->stop = 1;
    n = write(h->stop_pipe[1], &c, 1);
    (void)n; /* EAGAIN: the pipe is already full, so poll() will wake. */
    errno = saved;
}

VMEVENTCTL_EXPORT
int vmeventctl_stop_requested(const vmeventctl_handle *h)
{
    return h->stop ? 1 : 0;
}
