/*
 * fuzz-domain: domain-name resolution and the ownership record, fed
 * arbitrary xenstore answers through the fakes.
 *
 * Xenstore is dom0's, but what sits under /local/domain/N/name is written
 * by toolstacks (and, for some keys, guests), and the ownership record
 * under /local/domain/0/libvmeventctl is read back by a later process that
 * must not trust it blindly.  Per input, a script builds a xenstore:
 * domains with input-derived names, raw name nodes under input-derived
 * directory names (any bytes, embedded NULs included), removed names, and
 * records of any bytes; and it calls vmeventctl_domain_lookup() with
 * input-derived strings, vmeventctl_owner_get() and
 * vmeventctl_owner_clear_dead(), and vmeventctl_domain_status().
 *
 * A record names a pid; the library reads /proc/PID/stat to tell a live
 * owner from a recycled pid.  The record may name pid 4194304 (one past
 * the kernel's largest pid_max, so no real process): this target is linked
 * with -Wl,--wrap=fopen and serves /proc/4194304/stat from the input.
 *
 * Checked, besides ASan/UBSan and LeakSanitizer:
 *  - a name lookup that succeeds returns an id below DOMID_FIRST_RESERVED
 *    whose /local/domain/ID/name is exactly the name asked for;
 *  - a name lookup fails with ENOENT only when no domain directory (by its
 *    canonical decimal name) has that name, and ENOTUNIQ only when more
 *    than one has;
 *  - a numeric lookup answers the id asked for, EINVAL past the last
 *    guest id, ESRCH for a domain that does not exist;
 *  - the owner read back is NUL-terminated and has a pid above 0; LIVE
 *    only for a process whose start time the record names; a record whose
 *    pid or start time is out of its field's range does not parse;
 *  - nothing is left open after vmeventctl_close().
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "fuzz-common.h"

#include <ctype.h>
#include <limits.h>
#include <unistd.h>

#include <xenstore.h>

#define FAKE_PID        4194304
#define FAKE_PID_STAT   "/proc/4194304/stat"
#define MAX_CMDS        48

/* /proc/4194304/stat as the input says it reads. */
static char proc_stat_buf[2048];
static size_t proc_stat_len;

FILE *__real_fopen(const char *path, const char *mode);
FILE *__wrap_fopen(const char *path, const char *mode);

FILE *__wrap_fopen(const char *path, const char *mode)
{
    if ( path && !strcmp(path, FAKE_PID_STAT) )
    {
        if ( !proc_stat_len )
        {
            errno = ENOENT;
            return NULL;
        }
        return fmemopen(proc_stat_buf, proc_stat_len, "r");
    }
    return __real_fopen(path, mode);
}

/* A length byte, then that many bytes: any bytes, NULs included. */
static size_t raw_bytes(struct fz_in *in, char *buf, size_t max)
{
    size_t len = fz_byte(in), i;

    if ( len > max )
        len = max;
    for ( i = 0; i < len; i++ )
        buf[i] = (char)fz_byte(in);
    return len;
}

static int canonical_domid(const char *s, uint32_t *id)
{
    char buf[16];
    unsigned long v;
    char *end;

    if ( !isdigit((unsigned char)s[0]) )
        return 0;
    errno = 0;
    v = strtoul(s, &end, 10);
    if ( *end || errno || v >= DOMID_FIRST_RESERVED )
        return 0;
    snprintf(buf, sizeof(buf), "%lu", v);
    if ( strcmp(buf, s) )
        return 0;
    *id = (uint32_t)v;
    return 1;
}

/*
 * How many domain directories, by their canonical names, carry exactly
 * this name; *dirs_noncanonical is set when a directory name that is not
 * canonical but still parses as a domain id (such as "007") exists.
 */
static unsigned int count_named(struct xs_handle *xsh, const char *name,
                                int *dirs_noncanonical)
{
    unsigned int i, n = 0, nr = 0;
    char **dirs = xs_directory(xsh, XBT_NULL, "/local/domain", &nr);

    *dirs_noncanonical = 0;
    if ( !dirs )
        return 0;
    for ( i = 0; i < nr; i++ )
    {
        char path[256];
        unsigned int len;
        uint32_t id;
        char *val;

        if ( !canonical_domid(dirs[i], &id) )
        {
            if ( isdigit((unsigned char)dirs[i][0]) )
                *dirs_noncanonical = 1;
            continue;
        }
        snprintf(path, sizeof(path), "/local/domain/%s/name", dirs[i]);
        val = xs_read(xsh, XBT_NULL, path, &len);
        if ( val && strlen(val) == len && !strcmp(val, name) )
            n++;
        free(val);
    }
    free(dirs);
    return n;
}

static void check_lookup(vmeventctl_handle *h, struct xs_handle *xsh, const char *s)
{
    uint32_t id = 0xdeadbeef;
    int rc, err, odd;
    unsigned int named;

    errno = 0;
    rc = vmeventctl_domain_lookup(h, s, &id);
    err = errno;

    if ( !*s )
    {
        if ( rc != -1 || err != EINVAL )
            fz_fail("lookup of the empty string: rc %d errno %d, want EINVAL", rc, err);
        return;
    }
    if ( isdigit((unsigned char)s[0]) )
    {
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 10);
        if ( !*end )
        {
            if ( errno || v >= DOMID_FIRST_RESERVED )
            {
                if ( rc != -1 || err != EINVAL )
                    fz_fail("lookup '%s': rc %d errno %d, want EINVAL (reserved or out of range)",
                            s, rc, err);
            }
            else if ( fake_pause_count((uint32_t)v) >= 0 )
            {
                if ( rc != 0 || id != v )
                    fz_fail("lookup '%s': rc %d errno %d id %u, want domain %llu",
                            s, rc, err, id, v);
            }
            else if ( rc != -1 || err != ESRCH )
                fz_fail("lookup '%s' of a missing domain: rc %d errno %d, want ESRCH",
                        s, rc, err);
            return;
        }
    }

    /* A name. */
    named = count_named(xsh, s, &odd);
    if ( rc == 0 )
    {
        char path[64], *val;

        if ( id >= DOMID_FIRST_RESERVED )
            fz_fail("lookup '%s' answered reserved id %u", s, id);
        snprintf(path, sizeof(path), "/local/domain/%u/name", id);
        val = fake_xs_read(path);
        if ( !val || strcmp(val, s) )
            fz_fail("lookup '%s' answered domain %u, whose name is '%s'", s, id,
                    val ? val : "(none)");
        free(val);
        if ( named != 1 && !odd )
            fz_fail("lookup '%s' answered one domain, but %u directories have that name",
                    s, named);
        return;
    }
    if ( err == ENOENT && named )
        fz_fail("lookup '%s': ENOENT, but %u domain(s) have that name", s, named);
    if ( err == ENOTUNIQ && named < 2 && !odd )
        fz_fail("lookup '%s': ENOTUNIQ, but %u domain(s) have that name", s, named);
    if ( err != ENOENT && err != ENOTUNIQ )
        fz_fail("lookup '%s': unexpected errno %d", s, err);
}

/*
 * 1 if the record's pid or start time is a number out of the range of its
 * field ("4294967297", "-1", "99999999999999999999"): such a record names
 * no process and must not parse as one (it is no record the library
 * writes: "%d %" PRIu64 " %s").
 */
static int record_out_of_range(const char *rec)
{
    const char *p = rec;
    char *end;
    long long pid;
    int neg;

    while ( *p == ' ' || (*p >= '\t' && *p <= '\r') )
        p++;
    errno = 0;
    pid = strtoll(p, &end, 10);
    if ( end == p )
        return 0;
    if ( errno == ERANGE || pid > INT_MAX || pid < INT_MIN )
        return 1;
    p = end;
    while ( *p == ' ' || (*p >= '\t' && *p <= '\r') )
        p++;
    neg = *p == '-';
    errno = 0;
    strtoull(p, &end, 10);
    if ( end == p )
        return 0;
    return errno == ERANGE || (neg && strspn(p + 1, "0") < (size_t)(end - p - 1));
}

static void check_owner(vmeventctl_handle *h)
{
    struct vmeventctl_owner o;
    char *rec = fake_xs_read(FZ_RECORD);
    int bad = rec && record_out_of_range(rec);

    memset(&o, 0xa5, sizeof(o));
    if ( vmeventctl_owner_get(h, FZ_GUEST, &o) )
    {
        if ( errno != EBADMSG )
            fz_fail("owner_get: errno %d, want 0 or EBADMSG", errno);
        free(rec);
        return;
    }
    if ( bad )
        fz_fail("owner_get: record '%s' has a number out of range, but read as pid %d start %llu",
                rec, (int)o.pid, (unsigned long long)o.start_time);
    free(rec);
    if ( o.state == VMEVENTCTL_OWNER_NONE )
        return;
    if ( o.state != VMEVENTCTL_OWNER_LIVE && o.state != VMEVENTCTL_OWNER_DEAD )
        fz_fail("owner_get: state %d", (int)o.state);
    if ( o.pid <= 0 )
        fz_fail("owner_get: pid %d", (int)o.pid);
    if ( !memchr(o.comm, '\0', sizeof(o.comm)) )
        fz_fail("owner_get: comm not NUL-terminated");
    if ( o.pauses > VMEVENTCTL_OWNER_MAX_PAUSES )
        fz_fail("owner_get: pauses %u", o.pauses);
    if ( o.state == VMEVENTCTL_OWNER_LIVE && o.pid != FAKE_PID && o.pid != getpid() &&
         o.pid != getppid() && o.pid != 1 )
    {
        /* Some other real process, with the start time the record names. */
        char path[64];
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)o.pid);
        f = fopen(path, "re");
        if ( !f )
            fz_fail("owner_get: pid %d live, but it has no /proc entry", (int)o.pid);
        fclose(f);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in = { data, size };
    struct xs_handle *xsh;
    vmeventctl_handle *h;
    unsigned int cmds;

    fake_reset();
    proc_stat_len = 0;
    h = vmeventctl_open(fz_logger(), 0);
    xsh = xs_open(0);   /* the harness's own view of the fake xenstore */
    if ( !h || !xsh )
        abort();

    for ( cmds = 0; in.n && cmds < MAX_CMDS; cmds++ )
    {
        uint8_t cmd = fz_byte(&in);

        switch ( cmd & 7 )
        {
        case 0: /* a domain, maybe named */
        {
            uint32_t id = fz_byte(&in);
            uint8_t how = fz_byte(&in);
            char *name = fz_str(&in, 96);

            fake_domain_add(id, (enum fake_dom_type)(how % 3), (how >> 2) % 5,
                            how & 0x80 ? NULL : name);
            free(name);
            break;
        }
        case 1: /* a name node of any bytes, under any directory name */
        {
            char path[160], val[300];
            char *dir = fz_str(&in, 24);
            size_t len = raw_bytes(&in, val, sizeof(val));

            snprintf(path, sizeof(path), "/local/domain/%s/name", dir);
            xs_write(xsh, XBT_NULL, path, val, (unsigned int)len);
            free(dir);
            break;
        }
        case 2: /* a domain's name goes, or the domain itself */
        {
            char path[64];
            uint32_t id = fz_byte(&in);

            if ( cmd & 8 )
                fake_domain_destroy(id);
            else
            {
                snprintf(path, sizeof(path), "/local/domain/%u/name", id);
                fake_xs_rm(path);
            }
            break;
        }
        case 3:
        {
            char *s = fz_str(&in, 128);

            check_lookup(h, xsh, s);
            free(s);
            break;
        }
        case 4: /* the record: any bytes */
        {
            char val[200];
            size_t len = raw_bytes(&in, val, sizeof(val));

            if ( cmd & 8 )
            {
                /* The form the library writes, with input-derived fields. */
                char *comm = fz_str(&in, 20);
                uint32_t pid = cmd & 16 ? FAKE_PID : fz_u32(&in);
                uint32_t start = fz_u32(&in);

                len = (size_t)snprintf(val, sizeof(val), "%d %u %s%s", (int)pid, start,
                                       comm, cmd & 32 ? " paused" : "");
                if ( len >= sizeof(val) )
                    len = sizeof(val) - 1;
                free(comm);
            }
            xs_write(xsh, XBT_NULL, FZ_RECORD, val, (unsigned int)len);
            check_owner(h);
            break;
        }
        case 5:
            if ( vmeventctl_owner_clear_dead(h, FZ_GUEST) && errno == EBADMSG )
                fz_fail("owner_clear_dead: EBADMSG leaked out");
            break;
        case 6: /* what /proc/4194304/stat reads */
        {
            size_t len = (size_t)fz_byte(&in) * 8, i;

            if ( len > sizeof(proc_stat_buf) )
                len = sizeof(proc_stat_buf);
            for ( i = 0; i < len; i++ )
                proc_stat_buf[i] = (char)fz_byte(&in);
            proc_stat_len = len;
            break;
        }
        case 7:
        {
            struct vmeventctl_domain_status st;
            uint32_t id = cmd & 8 ? fz_u32(&in) : fz_byte(&in);

            if ( vmeventctl_domain_status(h, id, &st) == 0 )
            {
                if ( st.domid != id || (st.nr_vcpus && !st.vcpus) )
                    fz_fail("domain_status %u: domid %u, %u vCPUs at %p", id, st.domid,
                            st.nr_vcpus, (void *)st.vcpus);
            }
            vmeventctl_domain_status_release(&st);
            break;
        }
        }
    }

    xs_close(xsh);
    vmeventctl_close(h);
    fz_check_nothing_left("after close", FAKE_ALL_DOMAINS, 0, 0);
    return 0;
}
