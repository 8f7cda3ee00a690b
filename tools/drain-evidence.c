/*
 * drain-evidence.c: what xen-vmevent-drain shows and weighs before it
 * takes a ring no ownership record names: may a live dom0 process still
 * notify it?
 *
 * Xen's view decides (vmeventctl_port_evidence(): a dom0 port bound to the
 * guest outside the guest's own channels).  The dom0 processes that hold
 * /dev/xen/evtchn open and map /dev/xen/privcmd, as introspection agents
 * do, are listed beside it for the administrator: nothing ties them to one
 * domain, so they never decide.  xenstored and xenconsoled hold both
 * devices open but map no privcmd memory, so they are not listed.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmeventctl.h"
#include "drain.h"

#define EVTCHN_DEV  "/dev/xen/evtchn"
#define PRIVCMD_DEV "/dev/xen/privcmd"

const char *drain_proc_root = "/proc";

static int is_pid(const char *s)
{
    if ( !*s )
        return 0;
    for ( ; *s; s++ )
        if ( !isdigit((unsigned char)*s) )
            return 0;
    return 1;
}

/* 1 if one of pid's descriptors is /dev/xen/evtchn. */
static int holds_evtchn(const char *pid)
{
    char path[PATH_MAX], link[PATH_MAX];
    struct dirent *de;
    DIR *dir;
    int found = 0;

    snprintf(path, sizeof(path), "%s/%s/fd", drain_proc_root, pid);
    dir = opendir(path);
    if ( !dir )
        return 0;   /* gone, or not ours to read */
    while ( !found && (de = readdir(dir)) )
    {
        ssize_t n;

        if ( !is_pid(de->d_name) )
            continue;
        n = readlinkat(dirfd(dir), de->d_name, link, sizeof(link) - 1);
        if ( n < 0 )
            continue;
        link[n] = '\0';
        found = !strcmp(link, EVTCHN_DEV);
    }
    closedir(dir);
    return found;
}

/* 1 if pid maps /dev/xen/privcmd (foreign memory: a guest's pages or a ring). */
static int maps_privcmd(const char *pid)
{
    char path[PATH_MAX], line[1024];
    FILE *f;
    int found = 0;

    snprintf(path, sizeof(path), "%s/%s/maps", drain_proc_root, pid);
    f = fopen(path, "r");
    if ( !f )
        return 0;
    while ( !found && fgets(line, sizeof(line), f) )
    {
        size_t len = strlen(line);

        if ( len && line[len - 1] == '\n' )
            line[--len] = '\0';
        found = len >= sizeof(PRIVCMD_DEV) - 1 &&
                !strcmp(line + len - (sizeof(PRIVCMD_DEV) - 1), PRIVCMD_DEV);
    }
    fclose(f);
    return found;
}

static void read_comm(const char *pid, char *comm, size_t len)
{
    char path[PATH_MAX];
    FILE *f;

    snprintf(comm, len, "?");
    snprintf(path, sizeof(path), "%s/%s/comm", drain_proc_root, pid);
    f = fopen(path, "r");
    if ( !f )
        return;
    if ( fgets(comm, (int)len, f) )
        comm[strcspn(comm, "\n")] = '\0';
    else
        snprintf(comm, len, "?");
    fclose(f);
}

void drain_scan_procs(struct drain_procs *pr)
{
    struct dirent *de;
    DIR *dir;
    long self = (long)getpid();

    memset(pr, 0, sizeof(*pr));
    pr->scanned = 1;
    dir = opendir(drain_proc_root);
    if ( !dir )
    {
        pr->err = errno;
        return;
    }
    while ( (de = readdir(dir)) )
    {
        if ( !is_pid(de->d_name) || strtol(de->d_name, NULL, 10) == self )
            continue;
        if ( !holds_evtchn(de->d_name) || !maps_privcmd(de->d_name) )
            continue;
        pr->nr++;
        if ( pr->nr > DRAIN_MAX_PROCS )
            continue;
        pr->p[pr->nr - 1].pid = (int)strtol(de->d_name, NULL, 10);
        read_comm(de->d_name, pr->p[pr->nr - 1].comm, sizeof(pr->p[0].comm));
    }
    closedir(dir);
}

int drain_evidence_gather(vmeventctl_handle *h, uint32_t domid, struct drain_evidence *e)
{
    drain_evidence_release(e);
    e->gathered = 1;
    drain_scan_procs(&e->procs);
    if ( vmeventctl_port_evidence(h, domid, &e->ports) == 0 )
        return 0;
    e->err = errno;
    return -1;
}

void drain_evidence_release(struct drain_evidence *e)
{
    vmeventctl_port_evidence_release(&e->ports);
    memset(e, 0, sizeof(*e));
}

int drain_evidence_suspect(const struct drain_evidence *e)
{
    return e->gathered && !e->err && e->ports.nr_suspects > 0;
}

void drain_evidence_suspects(const struct drain_evidence *e, char *buf, size_t len)
{
    unsigned int i;
    size_t n = 0;

    buf[0] = '\0';
    for ( i = 0; i < e->ports.nr_bindings && n < len; i++ )
    {
        const struct vmeventctl_port_binding *b = &e->ports.bindings[i];

        if ( b->suspect )
            n += (size_t)snprintf(buf + n, len - n, "%sguest port %u (dom0 port %u)",
                                  n ? ", " : "", b->guest_port, b->dom0_port);
    }
}

void drain_evidence_procs(const struct drain_evidence *e, char *buf, size_t len)
{
    unsigned int i, shown = e->procs.nr < DRAIN_MAX_PROCS ? e->procs.nr : DRAIN_MAX_PROCS;
    size_t n = 0;

    buf[0] = '\0';
    if ( e->procs.err )
    {
        snprintf(buf, len, "unknown (%s: %s)", drain_proc_root, strerror(e->procs.err));
        return;
    }
    if ( !e->procs.nr )
    {
        snprintf(buf, len, "none");
        return;
    }
    for ( i = 0; i < shown && n < len; i++ )
        n += (size_t)snprintf(buf + n, len - n, "%s%d (%s)", i ? ", " : "",
                              e->procs.p[i].pid, e->procs.p[i].comm);
    if ( e->procs.nr > shown && n < len )
        snprintf(buf + n, len - n, " and %u more", e->procs.nr - shown);
}

void drain_evidence_text(FILE *f, const struct drain_evidence *e, const char *not_gathered)
{
    char procs[512];
    unsigned int i;

    if ( !e->gathered )
    {
        fprintf(f, "  ring port evidence: not gathered: %s\n", not_gathered);
        return;
    }
    if ( e->err )
        fprintf(f, "  ring port evidence: unknown: EVTCHNOP_status of %s port %u failed: %s\n",
                e->ports.failed_domid ? "the guest's" : "dom0's", e->ports.failed_port,
                strerror(e->err));
    else if ( !e->ports.nr_suspects )
        fprintf(f, "  ring port evidence: every dom0 port bound to the guest is one of its own channels (%u guest port(s), %u answered as Xen's): no live process can notify the ring\n",
                e->ports.guest_ports, e->ports.xen_ports);
    else
        fprintf(f, "  ring port evidence: %u dom0 port(s) bound to the guest outside its own channels: a live process may be bound to the ring\n",
                e->ports.nr_suspects);
    for ( i = 0; i < e->ports.nr_bindings; i++ )
    {
        const struct vmeventctl_port_binding *b = &e->ports.bindings[i];

        if ( b->ours )
            fprintf(f, "    port %u interdomain to dom0 port %u: this process's own ring\n",
                    b->guest_port, b->dom0_port);
        else if ( b->suspect )
            fprintf(f, "    port %u interdomain to dom0 port %u, %s: a live process may be bound\n",
                    b->guest_port, b->dom0_port,
                    b->xen_consumer ? "a port Xen consumes (a ring's, or a device model's)" :
                    "not explained by xenstore/console/devices");
        else
            fprintf(f, "    port %u interdomain to dom0 port %u: %s\n",
                    b->guest_port, b->dom0_port, b->explained_by);
    }
    drain_evidence_procs(e, procs, sizeof(procs));
    fprintf(f, "  evtchn+privcmd processes: %s\n", procs);
}

void drain_evidence_json(struct drain_json *j, const struct drain_evidence *e)
{
    unsigned int i, shown = e->procs.nr < DRAIN_MAX_PROCS ? e->procs.nr : DRAIN_MAX_PROCS;

    if ( !e->gathered )
    {
        drain_json_null(j, "ring_ports");
        drain_json_null(j, "evtchn_processes");
        return;
    }
    drain_json_object(j, "ring_ports");
    drain_json_str(j, "error", e->err ? strerror(e->err) : NULL);
    if ( e->err )
    {
        drain_json_int(j, "errno", e->err);
        drain_json_str(j, "failed_domain", e->ports.failed_domid ? "guest" : "dom0");
        drain_json_uint(j, "failed_port", e->ports.failed_port);
        drain_json_null(j, "live_agent_suspected");
    }
    else
    {
        drain_json_null(j, "errno");
        drain_json_null(j, "failed_domain");
        drain_json_null(j, "failed_port");
        drain_json_bool(j, "live_agent_suspected", e->ports.nr_suspects > 0);
    }
    drain_json_uint(j, "guest_ports", e->ports.guest_ports);
    drain_json_uint(j, "xen_consumer_ports", e->ports.xen_ports);
    drain_json_array(j, "suspect_ports");
    for ( i = 0; i < e->ports.nr_bindings; i++ )
        if ( e->ports.bindings[i].suspect )
            drain_json_uint(j, NULL, e->ports.bindings[i].guest_port);
    drain_json_array_end(j);
    drain_json_array(j, "bindings");
    for ( i = 0; i < e->ports.nr_bindings; i++ )
    {
        const struct vmeventctl_port_binding *b = &e->ports.bindings[i];

        drain_json_object(j, NULL);
        drain_json_uint(j, "guest_port", b->guest_port);
        drain_json_uint(j, "dom0_port", b->dom0_port);
        drain_json_bool(j, "xen_consumer", b->xen_consumer);
        drain_json_bool(j, "ours", b->ours);
        drain_json_bool(j, "suspect", b->suspect);
        drain_json_str(j, "explained_by", b->explained_by[0] ? b->explained_by : NULL);
        drain_json_object_end(j);
    }
    drain_json_array_end(j);
    drain_json_object_end(j);

    if ( e->procs.err )
    {
        drain_json_null(j, "evtchn_processes");
        return;
    }
    drain_json_array(j, "evtchn_processes");
    for ( i = 0; i < shown; i++ )
    {
        drain_json_object(j, NULL);
        drain_json_int(j, "pid", e->procs.p[i].pid);
        drain_json_str(j, "comm", e->procs.p[i].comm);
        drain_json_object_end(j);
    }
    drain_json_array_end(j);
}
