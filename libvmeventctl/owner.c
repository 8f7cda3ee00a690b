/*
 * owner.c: the ownership record of a ring, in dom0's xenstore subtree.
 *
 * Xen keeps no note of which process enabled a ring; an agent that dies
 * leaves the ring enabled and every later enable refused with EBUSY.  The
 * record lets the tools tell a live owner (ask it to stop) from a dead one
 * (rescue the guest).  It lives under /local/domain/0, which dom0 owns and
 * no guest can write, and holds "pid start_time comm [paused N]": the start
 * time (field 22 of /proc/PID/stat) tells our owner from a later process
 * that got the same pid.
 *
 * "paused N": the owner may hold up to N of the domain's controller pause
 * references (xc_domain_pause) right now.  It is written BEFORE each pause
 * is taken, libxc's own inside xc_monitor_enable included, and removed only
 * AFTER the last is released, so a SIGKILL at any instant leaves a record
 * that covers every reference the dead process held (docs/findings.md #4).
 * It may overstate them: a successor releases at most N and stops when Xen
 * says no controller pause is left (EINVAL from
 * domain_unpause_by_systemcontroller), and takes none of them when the
 * domain is not controller-paused at all.  Records of earlier versions say
 * "paused" alone, which reads as 1.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "private.h"

#define OWNER_ROOT "/local/domain/0/libvmeventctl"

void vmeventctl__owner_path(char *buf, size_t len, uint32_t domid)
{
    snprintf(buf, len, OWNER_ROOT "/%u/monitor", domid);
}

/*
 * Reads a process's start time and command name from /proc/PID/stat.
 * Returns 0, or -1 with errno ENOENT (no such process) or EIO.
 */
static int proc_stat(pid_t pid, uint64_t *start, char comm[17])
{
    char path[64], buf[1024], *open_paren, *close_paren, *p, *end;
    unsigned long long st;
    size_t n, clen;
    FILE *f;
    int field;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "re");
    if ( !f )
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';

    /* comm may hold spaces and parentheses: it ends at the last ')'. */
    open_paren = strchr(buf, '(');
    close_paren = strrchr(buf, ')');
    if ( !open_paren || !close_paren || close_paren < open_paren )
        goto bad;
    clen = (size_t)(close_paren - open_paren - 1);
    if ( clen > 16 )
        clen = 16;
    if ( comm )
    {
        memcpy(comm, open_paren + 1, clen);
        comm[clen] = '\0';
    }

    /*
     * After ") " comes field 3 (state); start time is field 22.  Each
     * search starts past a space: with nothing after the ')', the first
     * would start past the string's end.
     */
    p = close_paren + 1;
    if ( *p != ' ' )
        goto bad;
    for ( field = 3; field < 22; field++ )
    {
        p = strchr(p + 1, ' ');
        if ( !p )
            goto bad;
    }
    errno = 0;
    st = strtoull(p + 1, &end, 10);
    if ( end == p + 1 || errno )
        goto bad;
    *start = st;
    return 0;

 bad:
    errno = EIO;
    return -1;
}

int vmeventctl__owner_write(vmeventctl_handle *h, uint32_t domid, unsigned int pauses)
{
    char path[80], val[96], comm[17] = "";
    uint64_t start = 0;
    int len;

    if ( proc_stat(getpid(), &start, comm) )
    {
        LOGE(h, domid, "record", "cannot read /proc/self/stat");
        return -1;
    }
    /* The comm is ours; keep the record one line of plain words. */
    for ( len = 0; comm[len]; len++ )
        if ( comm[len] < 0x21 || comm[len] > 0x7e ) /* spaces, controls, not ASCII */
            comm[len] = '_';

    vmeventctl__owner_path(path, sizeof(path), domid);
    if ( pauses )
        len = snprintf(val, sizeof(val), "%d %" PRIu64 " %s paused %u", (int)getpid(),
                       start, comm[0] ? comm : "-", pauses);
    else
        len = snprintf(val, sizeof(val), "%d %" PRIu64 " %s", (int)getpid(),
                       start, comm[0] ? comm : "-");
    if ( !xs_write(h->xsh, XBT_NULL, path, val, (unsigned int)len) )
    {
        LOGE(h, domid, "record", "cannot write the ownership record %s", path);
        return -1;
    }
    return 0;
}

int vmeventctl__owner_remove(vmeventctl_handle *h, uint32_t domid)
{
    char path[80];

    snprintf(path, sizeof(path), OWNER_ROOT "/%u", domid);
    if ( !xs_rm(h->xsh, XBT_NULL, path) && errno != ENOENT )
    {
        LOGE(h, domid, "record", "cannot remove the ownership record %s", path);
        return -1;
    }
    return 0;
}

/*
 * Reads a decimal number of digits only, and the whitespace after it.
 * Returns 0, or -1 if there is none or it is above max.
 */
static int parse_number(const char **s, unsigned long long max,
                        unsigned long long *v)
{
    const char *p = *s;
    char *end;

    while ( isspace((unsigned char)*p) )
        p++;
    if ( !isdigit((unsigned char)*p) )
        return -1;
    errno = 0;
    *v = strtoull(p, &end, 10);
    if ( errno || *v > max )
        return -1;
    *s = end;
    return 0;
}

static int parse_record(const char *val, struct vmeventctl_owner *o)
{
    unsigned long long pid, start, pauses = 0;
    char comm[17] = "", mark[8] = "";
    const char *p = val;
    int used = 0;

    /*
     * Not sscanf's %d and %llu, for which a number out of range is
     * undefined (glibc wraps it): a pid that wrapped would name another
     * process, "4294967297" pid 1.  We write "%d %" PRIu64 " %s [paused %u]".
     */
    if ( parse_number(&p, INT_MAX, &pid) || pid == 0 ||
         !isspace((unsigned char)*p) || parse_number(&p, UINT64_MAX, &start) )
        return -1;
    if ( sscanf(p, " %16s%n", comm, &used) != 1 )
        return -1;
    p += used;
    used = 0;
    if ( sscanf(p, " %7s%n", mark, &used) == 1 )
    {
        if ( strcmp(mark, "paused") )
            return -1;
        p += used;
        while ( isspace((unsigned char)*p) )
            p++;
        if ( !*p )
            pauses = 1;                 /* the earlier form: one reference */
        else if ( parse_number(&p, VMEVENTCTL_OWNER_MAX_PAUSES, &pauses) || pauses == 0 )
            return -1;
    }
    while ( isspace((unsigned char)*p) )
        p++;
    if ( *p )
        return -1;
    o->pid = (pid_t)pid;
    o->start_time = start;
    memcpy(o->comm, comm, sizeof(o->comm));
    o->pauses = (unsigned int)pauses;
    return 0;
}

int vmeventctl__owner_read(vmeventctl_handle *h, uint32_t domid,
                           struct vmeventctl_owner *o, char **raw)
{
    char path[80], *val;
    unsigned int len;
    uint64_t start;
    int rc;

    memset(o, 0, sizeof(*o));
    o->state = VMEVENTCTL_OWNER_NONE;
    if ( raw )
        *raw = NULL;

    vmeventctl__owner_path(path, sizeof(path), domid);
    val = xs_read(h->xsh, XBT_NULL, path, &len);
    if ( !val )
    {
        if ( errno == ENOENT )
            return 0;
        LOGE(h, domid, "record", "cannot read %s", path);
        return -1;
    }
    rc = (strlen(val) == len) ? parse_record(val, o) : -1;
    if ( raw )
        *raw = val;
    else
        free(val);
    if ( rc )
    {
        errno = EBADMSG;
        LOGE(h, domid, "record", "the ownership record %s does not parse", path);
        return -1;
    }

    if ( proc_stat(o->pid, &start, NULL) == 0 && start == o->start_time )
        o->state = VMEVENTCTL_OWNER_LIVE;
    else
        o->state = VMEVENTCTL_OWNER_DEAD;
    return 0;
}

VMEVENTCTL_EXPORT
int vmeventctl_owner_get(vmeventctl_handle *h, uint32_t domid,
                         struct vmeventctl_owner *o)
{
    return vmeventctl__owner_read(h, domid, o, NULL);
}

int vmeventctl__owner_claim(vmeventctl_handle *h, uint32_t domid,
                            const xc_domaininfo_t *info, unsigned int pauses,
                            char **prev)
{
    struct vmeventctl_owner o;

    if ( vmeventctl__owner_read(h, domid, &o, prev) )
    {
        if ( errno != EBADMSG )
            return -1;
        o.state = VMEVENTCTL_OWNER_DEAD; /* nobody alive wrote it */
        o.pauses = 0;
    }
    if ( o.state == VMEVENTCTL_OWNER_LIVE )
    {
        errno = EBUSY;
        LOGE(h, domid, "record", "the ownership record names pid %d (%s), which is alive and owns the ring",
             (int)o.pid, o.comm);
        goto refuse;
    }
    if ( vmeventctl__owner_pauses_left(&o, info) )
    {
        errno = EBUSY;
        LOGE(h, domid, "record",
             "pid %d (%s) died and may have left the domain paused: run 'xen-vmevent-drain stop %u' first",
             (int)o.pid, o.comm, domid);
        goto refuse;
    }
    if ( vmeventctl__owner_write(h, domid, pauses) == 0 )
        return 0;

 refuse:
    {
        int saved = errno;

        free(*prev);
        *prev = NULL;
        errno = saved;
    }
    return -1;
}

int vmeventctl__owner_restore(vmeventctl_handle *h, uint32_t domid, const char *text)
{
    char path[80];

    vmeventctl__owner_path(path, sizeof(path), domid);
    if ( !xs_write(h->xsh, XBT_NULL, path, text, (unsigned int)strlen(text)) )
    {
        LOGE(h, domid, "record", "cannot put the earlier ownership record back");
        return -1;
    }
    return 0;
}

int vmeventctl__owner_unclaim(vmeventctl_handle *h, uint32_t domid, char *prev)
{
    int rc;

    if ( !prev )
        return vmeventctl__owner_remove(h, domid);
    rc = vmeventctl__owner_restore(h, domid, prev);
    free(prev);
    return rc;
}

VMEVENTCTL_EXPORT
int vmeventctl_owner_clear_dead(vmeventctl_handle *h, uint32_t domid)
{
    struct vmeventctl_owner o;

    if ( vmeventctl_owner_get(h, domid, &o) )
    {
        /* A record that does not parse belongs to nobody alive. */
        if ( errno != EBADMSG )
            return -1;
    }
    else if ( o.state == VMEVENTCTL_OWNER_NONE )
        return 0;
    else if ( o.state == VMEVENTCTL_OWNER_LIVE )
    {
        errno = EBUSY;
        LOGE(h, domid, "record", "the ring's owner, pid %d (%s), is alive",
             (int)o.pid, o.comm);
        return -1;
    }
    return vmeventctl__owner_remove(h, domid);
}
