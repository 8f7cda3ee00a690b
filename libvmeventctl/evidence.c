/*
 * evidence.c: may a live dom0 process notify a guest's vm_event ring?
 *
 * A notify of the ring's port runs Xen's ring callback without the
 * channel's lock (xen/common/event_channel.c evtchn_send), so one that
 * races xc_monitor_disable runs against a ring being freed
 * (xen/common/vm_event.c vm_event_disable): a use-after-free that hangs
 * Xen (docs/findings.md #1).  Only a process with a dom0 port bound to
 * the ring's port can notify it.  The rules this file relies on are in
 * docs/xen-behaviour.md ("Event channels of a ring"), with their Xen
 * source; each is applied in one function here, and what makes a binding
 * a suspect in judge().
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

#define STEP "port evidence"

/*
 * No event channel ABI has more ports than the FIFO ABI's 2^17
 * (EVTCHN_FIFO_NR_CHANNELS): a bound for the walks, should Xen never
 * answer EINVAL.
 */
#define MAX_PORTS         (1u << 17)
/* The guest writes its device subtree: bound what is read of it. */
#define MAX_XS_DEVICES    256
#define MAX_XS_QUEUES     64

enum port_answer {
    PORT_STATUS,        /* *st holds the port's state */
    PORT_XEN_CONSUMER,  /* EACCES: Xen consumes this port */
    PORT_END,           /* EINVAL: beyond the domain's ports */
    PORT_ERROR,         /* anything else: errno */
};

/*
 * EVTCHNOP_status (event_channel.c evtchn_status): EINVAL for a port
 * beyond the domain's valid ports; on Xen 4.15 to 4.18, EACCES for a port
 * Xen consumes, before its state is looked at (4.19 answers its state).
 */
static enum port_answer port_status(vmeventctl_handle *h, uint32_t domid,
                                    uint32_t port, xc_evtchn_status_t *st)
{
    memset(st, 0, sizeof(*st));
    st->dom = (domid_t)domid;
    st->port = port;
    if ( xc_evtchn_status(h->xch, st) == 0 )
        return PORT_STATUS;
    if ( errno == EINVAL )
        return PORT_END;
    if ( errno == EACCES )
        return PORT_XEN_CONSUMER;
    return PORT_ERROR;
}

static int scan_failed(vmeventctl_handle *h, struct vmeventctl_port_evidence *ev,
                       uint32_t domid, uint32_t port)
{
    ev->failed_domid = domid;
    ev->failed_port = port;
    LOGE(h, ev->domid, STEP, "EVTCHNOP_status (xc_evtchn_status) of %s port %u failed",
         domid ? "the guest's" : "dom0's", port);
    return -1;
}

/*
 * The guest's ports: which ones Xen says it consumes (4.15 to 4.18).  A
 * ring's port is one (vm_event.c vm_event_enable:
 * alloc_unbound_xen_event_channel), whether or not dom0 has bound it.
 * *xen gets one flag a port.
 */
static int scan_guest(vmeventctl_handle *h, struct vmeventctl_port_evidence *ev,
                      uint8_t **xen)
{
    xc_evtchn_status_t st;
    uint32_t port;

    *xen = calloc(MAX_PORTS, 1);
    if ( !*xen )
    {
        LOGE(h, ev->domid, STEP, "out of memory");
        return -1;
    }
    for ( port = 1; port < MAX_PORTS; port++ )
    {
        switch ( port_status(h, ev->domid, port, &st) )
        {
        case PORT_END:
            return 0;
        case PORT_XEN_CONSUMER:
            (*xen)[port] = 1;
            ev->xen_ports++;
            break;
        case PORT_STATUS:
            break;
        case PORT_ERROR:
            return scan_failed(h, ev, ev->domid, port);
        }
        ev->guest_ports++;
    }
    return 0;
}

static int add_binding(vmeventctl_handle *h, struct vmeventctl_port_evidence *ev,
                       uint32_t dom0_port, uint32_t guest_port, int xen_consumer)
{
    struct vmeventctl_port_binding *b;

    b = realloc(ev->bindings, (ev->nr_bindings + 1) * sizeof(*b));
    if ( !b )
    {
        LOGE(h, ev->domid, STEP, "out of memory");
        return -1;
    }
    ev->bindings = b;
    b += ev->nr_bindings++;
    memset(b, 0, sizeof(*b));
    b->dom0_port = dom0_port;
    b->guest_port = guest_port;
    b->xen_consumer = xen_consumer;
    return 0;
}

/*
 * dom0's ports: each one interdomain to the guest is a binding of some
 * dom0 process (evtchn_bind_interdomain makes both ends
 * ECS_INTERDOMAIN; closing dom0's end, as the Linux driver does when the
 * process's /dev/xen/evtchn is released, makes it go, evtchn_close).
 * A guest port beyond the guest's walk appeared since: counted as Xen's.
 */
static int scan_dom0(vmeventctl_handle *h, struct vmeventctl_port_evidence *ev,
                     const uint8_t *xen)
{
    xc_evtchn_status_t st;
    uint32_t port, gport;

    for ( port = 1; port < MAX_PORTS; port++ )
    {
        switch ( port_status(h, 0, port, &st) )
        {
        case PORT_END:
            return 0;
        case PORT_XEN_CONSUMER:
            break;
        case PORT_STATUS:
            if ( st.status != EVTCHNSTAT_interdomain || st.u.interdomain.dom != ev->domid )
                break;
            gport = st.u.interdomain.port;
            if ( add_binding(h, ev, port, gport,
                             gport > ev->guest_ports || (gport < MAX_PORTS && xen[gport])) )
                return -1;
            break;
        case PORT_ERROR:
            return scan_failed(h, ev, 0, port);
        }
        ev->dom0_ports++;
    }
    return 0;
}

/* Names the guest channel at port with what, unless Xen said it is its own. */
static void explain(struct vmeventctl_port_evidence *ev, unsigned long port,
                    const char *what)
{
    unsigned int i;

    for ( i = 0; i < ev->nr_bindings; i++ )
    {
        struct vmeventctl_port_binding *b = &ev->bindings[i];

        if ( b->guest_port == port && !b->xen_consumer && !b->explained_by[0] )
            snprintf(b->explained_by, sizeof(b->explained_by), "%s", what);
    }
}

/* Reads a port number from xenstore: 0 and sets *port, or -1. */
static int xs_port(vmeventctl_handle *h, const char *path, unsigned long *port)
{
    unsigned int len;
    char *val = xs_read(h->xsh, XBT_NULL, path, &len), *end;
    int rc = -1;

    if ( !val )
        return -1;
    errno = 0;
    *port = strtoul(val, &end, 10);
    if ( !errno && end != val && !*end && *port < MAX_PORTS )
        rc = 0;
    free(val);
    return rc;
}

static void explain_node(vmeventctl_handle *h, struct vmeventctl_port_evidence *ev,
                         const char *dir, const char *what)
{
    static const char *const names[] = { "event-channel", "event-channel-tx", "event-channel-rx" };
    unsigned long port;
    char path[256];
    unsigned int i;

    for ( i = 0; i < sizeof(names) / sizeof(names[0]); i++ )
    {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if ( xs_port(h, path, &port) == 0 )
            explain(ev, port, what);
    }
}

/*
 * The guest's own channels, as the toolstack and the PV frontends record
 * them in xenstore.  A guest can write its device nodes: a port Xen said
 * is its own is never explained by them.
 */
static void explain_xenstore(vmeventctl_handle *h, struct vmeventctl_port_evidence *ev)
{
    char base[64], path[256], what[48];
    char **types, **ids, **sub;
    unsigned int nt, ni, ns, t, i, s, seen = 0;
    unsigned long port;

    snprintf(base, sizeof(base), "/local/domain/%u", ev->domid);
    snprintf(path, sizeof(path), "%s/store/port", base);
    if ( xs_port(h, path, &port) == 0 )
        explain(ev, port, "xenstore");
    snprintf(path, sizeof(path), "%s/console/port", base);
    if ( xs_port(h, path, &port) == 0 )
        explain(ev, port, "console");

    snprintf(path, sizeof(path), "%s/device", base);
    types = xs_directory(h->xsh, XBT_NULL, path, &nt);
    for ( t = 0; types && t < nt; t++ )
    {
        snprintf(path, sizeof(path), "%s/device/%s", base, types[t]);
        ids = xs_directory(h->xsh, XBT_NULL, path, &ni);
        for ( i = 0; ids && i < ni && seen < MAX_XS_DEVICES; i++, seen++ )
        {
            snprintf(path, sizeof(path), "%s/device/%s/%s", base, types[t], ids[i]);
            snprintf(what, sizeof(what), "device/%s/%s", types[t], ids[i]);
            explain_node(h, ev, path, what);
            sub = xs_directory(h->xsh, XBT_NULL, path, &ns);
            for ( s = 0; sub && s < ns && s < MAX_XS_QUEUES; s++ )
            {
                char qpath[320];

                if ( strncmp(sub[s], "queue-", 6) )
                    continue;
                snprintf(qpath, sizeof(qpath), "%s/%s", path, sub[s]);
                explain_node(h, ev, qpath, what);
            }
            free(sub);
        }
        free(ids);
    }
    free(types);
}

/*
 * The rule: a dom0 binding may carry a live agent's notifies to a ring
 * when the guest's end is Xen's (EACCES), or when nothing explains it as
 * one of the guest's own channels (Xen 4.19 and later show a ring's port
 * as an ordinary interdomain port).  Our own rings' bindings are not.
 */
static void judge(vmeventctl_handle *h, struct vmeventctl_port_evidence *ev)
{
    const vmeventctl_ring *r;
    unsigned int i;

    for ( i = 0; i < ev->nr_bindings; i++ )
    {
        struct vmeventctl_port_binding *b = &ev->bindings[i];

        for ( r = h->rings; r; r = r->next )
            if ( r->domid == ev->domid && r->bound && r->port == b->dom0_port )
                b->ours = 1;
        b->suspect = !b->ours && (b->xen_consumer || !b->explained_by[0]);
        if ( b->suspect )
            ev->nr_suspects++;
    }
}

VMEVENTCTL_EXPORT
int vmeventctl_port_evidence(vmeventctl_handle *h, uint32_t domid,
                             struct vmeventctl_port_evidence *ev)
{
    uint8_t *xen = NULL;
    int saved;

    memset(ev, 0, sizeof(*ev));
    ev->domid = domid;
    if ( domid == 0 || domid >= DOMID_FIRST_RESERVED )
    {
        errno = EINVAL;
        LOGE(h, domid, STEP, "not a guest domain id");
        return -1;
    }
    if ( scan_guest(h, ev, &xen) || scan_dom0(h, ev, xen) )
        goto err;
    free(xen);
    explain_xenstore(h, ev);
    judge(h, ev);
    LOGD(h, domid, STEP, "%u guest port(s), %u answered as Xen's; %u dom0 port(s) bound to the guest, %u of them may carry a live agent's notifies",
         ev->guest_ports, ev->xen_ports, ev->nr_bindings, ev->nr_suspects);
    return 0;

 err:
    saved = errno;
    free(xen);
    vmeventctl_port_evidence_release(ev);
    errno = saved;
    return -1;
}

int vmeventctl__refuse_live_agent(vmeventctl_handle *h, uint32_t domid,
                                  const char *step)
{
    struct vmeventctl_port_evidence ev;
    char ports[256];
    size_t n = 0;
    unsigned int i;

    if ( vmeventctl_port_evidence(h, domid, &ev) )
    {
        LOGE(h, domid, step, "cannot tell whether a live process is bound to the ring's port; nothing was changed");
        return -1;
    }
    if ( !ev.nr_suspects )
    {
        vmeventctl_port_evidence_release(&ev);
        return 0;
    }
    /* Suspect bindings without a ring are some other consumer's. */
    if ( xc_monitor_resume(h->xch, domid) )
    {
        int saved = errno;

        vmeventctl_port_evidence_release(&ev);
        if ( saved == ENODEV )
            return 0;
        errno = saved;
        LOGE(h, domid, step, "the resume probe (xc_monitor_resume) failed; nothing was changed");
        return -1;
    }
    ports[0] = '\0';
    for ( i = 0; i < ev.nr_bindings && n < sizeof(ports); i++ )
    {
        const struct vmeventctl_port_binding *b = &ev.bindings[i];

        if ( b->suspect )
            n += (size_t)snprintf(ports + n, sizeof(ports) - n, "%sguest port %u (dom0 port %u)",
                                  n ? ", " : "", b->guest_port, b->dom0_port);
    }
    vmeventctl_port_evidence_release(&ev);
    errno = EISCONN;
    LOGE(h, domid, step,
         "a dom0 process is bound to %s, not one of the guest's own channels: a live agent may notify the ring while it is disabled, which can hang or crash Xen; nothing was changed",
         ports);
    return -1;
}

VMEVENTCTL_EXPORT
void vmeventctl_port_evidence_release(struct vmeventctl_port_evidence *ev)
{
    if ( !ev )
        return;
    free(ev->bindings);
    ev->bindings = NULL;
    ev->nr_bindings = 0;
    ev->nr_suspects = 0;
}
