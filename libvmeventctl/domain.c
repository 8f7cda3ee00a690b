/*
 * domain.c: finding a domain by id or name, and reporting its state.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

int vmeventctl__getinfo(vmeventctl_handle *h, uint32_t domid,
                        xc_domaininfo_t *info)
{
    int n;

    /*
     * xc_domain_getinfolist enumerates from domid upwards and exists in
     * every Xen from 4.x to 4.20 (xc_domain_getinfo went in 4.18), so a
     * missing domain shows as the next one, or none.
     */
    n = xc_domain_getinfolist(h->xch, domid, 1, info);
    if ( n < 0 )
        return -1;
    if ( n == 0 || info->domain != domid )
    {
        errno = ESRCH;
        return -1;
    }
    return 0;
}

/* vmeventctl__getinfo(), logging a failure against step. */
static int getinfo_logged(vmeventctl_handle *h, uint32_t domid, const char *step,
                          xc_domaininfo_t *info)
{
    if ( vmeventctl__getinfo(h, domid, info) == 0 )
        return 0;
    if ( errno == ESRCH )
        LOGE(h, domid, step, "no such domain");
    else
        LOGE(h, domid, step, "cannot read the domain's state (xc_domain_getinfolist)");
    return -1;
}

int vmeventctl__check_target(vmeventctl_handle *h, uint32_t domid,
                             const char *step, xc_domaininfo_t *info)
{
    if ( domid == 0 )
    {
        errno = EINVAL;
        LOGE(h, domid, step, "dom0 cannot have vm_event rings");
        return -1;
    }
    /*
     * Never let a reserved id reach Xen: 4.17.0 to 4.17.6 dereference a
     * NULL domain on vm_event ops for DOMID_INVALID and crash.
     */
    if ( domid >= DOMID_FIRST_RESERVED )
    {
        errno = EINVAL;
        LOGE(h, domid, step, "not a guest domain id (reserved ids start at %u)",
             DOMID_FIRST_RESERVED);
        return -1;
    }
    if ( getinfo_logged(h, domid, step, info) )
        return -1;
    /*
     * Xen's vm_event_domctl returns 0 and does nothing on a dying domain, so
     * an enable would "succeed" with no ring behind it: refuse here.
     */
    if ( info->flags & XEN_DOMINF_dying )
    {
        errno = ENOENT;
        LOGE(h, domid, step, "the domain is dying");
        return -1;
    }
    if ( !(info->flags & XEN_DOMINF_hvm_guest) )
    {
        errno = EINVAL;
        LOGE(h, domid, step, "a PV guest has no vm_event rings (HVM or PVH only)");
        return -1;
    }
    return 0;
}

int vmeventctl__check_interface(vmeventctl_handle *h, uint32_t domid,
                                const char *step)
{
    /*
     * XEN_VM_EVENT_GET_VERSION is answered before Xen looks at the domain
     * (xen/common/vm_event.c vm_event_domctl), so libxenctrl's DOMID_INVALID
     * is safe here, unlike for every other vm_event op.
     */
    int v = xc_vm_event_get_version(h->xch);

    if ( v < 0 )
    {
        LOGE(h, domid, step, "cannot read Xen's vm_event interface version");
        return -1;
    }
    if ( v != VMEVENTCTL_INTERFACE_VERSION )
    {
        errno = EPROTONOSUPPORT;
        LOGE(h, domid, step,
             "Xen speaks vm_event interface version %d, this library was built for %d; Xen would drop our responses and the guest would freeze",
             v, VMEVENTCTL_INTERFACE_VERSION);
        return -1;
    }
    return 0;
}

static int parse_domid(const char *s, uint32_t *domid)
{
    unsigned long v;
    char *end;

    if ( !isdigit((unsigned char)s[0]) )
        return 0;
    errno = 0;
    v = strtoul(s, &end, 10);
    if ( *end )
        return 0;   /* "12abc" is a name */
    if ( errno || v >= DOMID_FIRST_RESERVED )
        return -1;
    *domid = (uint32_t)v;
    return 1;
}

static int lookup_name(vmeventctl_handle *h, const char *name, uint32_t *domid)
{
    char **dirs;
    unsigned int i, n, found = 0;
    uint32_t match = 0;

    dirs = xs_directory(h->xsh, XBT_NULL, "/local/domain", &n);
    if ( !dirs )
    {
        xtl_log(h->logger, XTL_ERROR, errno, "libvmeventctl",
                "lookup %s: cannot list /local/domain in xenstore", name);
        return -1;
    }

    for ( i = 0; i < n; i++ )
    {
        char path[64];
        unsigned int len;
        char *val;
        uint32_t id;

        if ( parse_domid(dirs[i], &id) != 1 )
            continue;
        snprintf(path, sizeof(path), "/local/domain/%u/name", id);
        val = xs_read(h->xsh, XBT_NULL, path, &len);
        if ( !val )
            continue; /* a domain going away, or without a name */
        if ( strlen(val) == len && !strcmp(val, name) )
        {
            match = id;
            found++;
        }
        free(val);
    }
    free(dirs);

    if ( found == 0 )
    {
        errno = ENOENT;
        xtl_log(h->logger, XTL_ERROR, -1, "libvmeventctl",
                "lookup %s: no domain has that name", name);
        return -1;
    }
    if ( found > 1 )
    {
        errno = ENOTUNIQ;
        xtl_log(h->logger, XTL_ERROR, -1, "libvmeventctl",
                "lookup %s: %u domains have that name; give a domain id", name,
                found);
        return -1;
    }
    *domid = match;
    return 0;
}

VMEVENTCTL_EXPORT
int vmeventctl_domain_lookup(vmeventctl_handle *h, const char *id_or_name,
                             uint32_t *domid)
{
    xc_domaininfo_t info;
    uint32_t id;
    int r;

    if ( !id_or_name || !*id_or_name )
    {
        errno = EINVAL;
        xtl_log(h->logger, XTL_ERROR, -1, "libvmeventctl",
                "lookup: empty domain name");
        return -1;
    }

    r = parse_domid(id_or_name, &id);
    if ( r < 0 )
    {
        errno = EINVAL;
        xtl_log(h->logger, XTL_ERROR, -1, "libvmeventctl",
                "lookup %s: not a guest domain id (reserved ids start at %u)",
                id_or_name, DOMID_FIRST_RESERVED);
        return -1;
    }
    if ( r == 0 )
        return lookup_name(h, id_or_name, domid);

    if ( getinfo_logged(h, id, "lookup", &info) )
        return -1;
    *domid = id;
    return 0;
}

VMEVENTCTL_EXPORT
int vmeventctl_domain_status(vmeventctl_handle *h, uint32_t domid,
                             struct vmeventctl_domain_status *st)
{
    xc_domaininfo_t info;
    unsigned int i;

    memset(st, 0, sizeof(*st));
    st->domid = domid;
    st->monitor_ring = -1;
    st->xen_interface_version = -1;

    if ( domid >= DOMID_FIRST_RESERVED )
    {
        errno = EINVAL;
        LOGE(h, domid, "status", "not a guest domain id (reserved ids start at %u)",
             DOMID_FIRST_RESERVED);
        return -1;
    }
    if ( getinfo_logged(h, domid, "status", &info) )
        return -1;

    st->dying = !!(info.flags & XEN_DOMINF_dying);
    st->shutdown = !!(info.flags & XEN_DOMINF_shutdown);
    st->hvm = !!(info.flags & XEN_DOMINF_hvm_guest);
    /* Only the controller (xc_domain_pause) count, not vm_event pauses. */
    st->controller_paused = !!(info.flags & XEN_DOMINF_paused);
    st->nr_vcpus = info.max_vcpu_id + 1;
    st->nr_online_vcpus = info.nr_online_vcpus;
    st->xen_interface_version = xc_vm_event_get_version(h->xch);

    st->vcpus = calloc(st->nr_vcpus, sizeof(*st->vcpus));
    if ( !st->vcpus )
    {
        LOGE(h, domid, "status", "out of memory");
        return -1;
    }
    for ( i = 0; i < st->nr_vcpus; i++ )
    {
        xc_vcpuinfo_t vi;

        st->vcpus[i].vcpu = i;
        if ( xc_vcpu_getinfo(h->xch, domid, i, &vi) )
            continue; /* reported offline */
        st->vcpus[i].online = vi.online;
        st->vcpus[i].running = vi.running;
        st->vcpus[i].blocked = vi.blocked;
        st->vcpus[i].cpu = vi.cpu;
        st->vcpus[i].cpu_time_ns = vi.cpu_time;
    }

    if ( domid == 0 || !st->hvm || st->dying )
    {
        /* No ring can exist; do not ask (vm_event ops ignore dying domains). */
        st->monitor_ring = 0;
    }
    else if ( xc_monitor_resume(h->xch, domid) == 0 )
    {
        /* Resume with a ring only makes Xen read responses already there. */
        st->monitor_ring = 1;
    }
    else if ( errno == ENODEV )
    {
        /* xen/common/vm_event.c: resume without a ring answers -ENODEV. */
        st->monitor_ring = 0;
    }
    else
    {
        st->monitor_probe_errno = errno;
    }
    return 0;
}

VMEVENTCTL_EXPORT
void vmeventctl_domain_status_release(struct vmeventctl_domain_status *st)
{
    if ( !st )
        return;
    free(st->vcpus);
    st->vcpus = NULL;
}
