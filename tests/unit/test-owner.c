/*
 * test-owner: the ownership record.  The tools tell a live agent (ask it
 * to stop) from a dead one (rescue its guest) by it, so a recycled pid
 * must not pass for the owner and a record must not outlive its ring.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <stdio.h>

#include "fixture.h"

static void set_record(long pid, unsigned long long start, const char *comm)
{
    char val[128];

    snprintf(val, sizeof(val), "%ld %llu %s", pid, start, comm);
    fake_xs_write(RECORD, val);
}

int main(void)
{
    vmeventctl_handle *h = fx_world(1);
    struct vmeventctl_owner o;
    vmeventctl_ring *r;
    unsigned long long start;

    tap_is(vmeventctl_owner_get(h, GUEST, &o), 0, "no record: read fine");
    tap_is(o.state, VMEVENTCTL_OWNER_NONE, "  owner NONE");

    r = fx_ring(h);
    tap_is(vmeventctl_owner_get(h, GUEST, &o), 0, "record of our ring");
    tap_ok(o.state == VMEVENTCTL_OWNER_LIVE && o.pid == getpid(), "  LIVE, our pid");
    tap_diag("  comm '%s' start %llu", o.comm, (unsigned long long)o.start_time);
    start = o.start_time;
    errno = 0;
    tap_ok(vmeventctl_owner_clear_dead(h, GUEST) == -1 && errno == EBUSY,
           "clear_dead refuses a live owner: EBUSY");

    set_record((long)getpid(), start + 1, "ghost");
    tap_is(vmeventctl_owner_get(h, GUEST, &o), 0, "our pid with another start time");
    tap_is(o.state, VMEVENTCTL_OWNER_DEAD, "  DEAD: the pid was recycled");
    tap_ok(!strcmp(o.comm, "ghost"), "  comm read back");

    set_record(4194304L + 1, 1, "gone");
    tap_is(vmeventctl_owner_get(h, GUEST, &o), 0, "a pid that cannot exist");
    tap_is(o.state, VMEVENTCTL_OWNER_DEAD, "  DEAD");
    tap_is(vmeventctl_owner_clear_dead(h, GUEST), 0, "clear_dead removes it");
    tap_ok(fake_xs_read(RECORD) == NULL, "  the record is gone");

    fake_xs_write(RECORD, "not a record");
    errno = 0;
    tap_ok(vmeventctl_owner_get(h, GUEST, &o) == -1 && errno == EBADMSG, "garbage: EBADMSG");
    tap_is(vmeventctl_owner_clear_dead(h, GUEST), 0, "clear_dead removes garbage");

    fake_fail_func("xs_read", 1, EACCES);
    errno = 0;
    tap_ok(vmeventctl_owner_get(h, GUEST, &o) == -1 && errno == EACCES,
           "xenstore refusing the read: its errno");

    /* The ring's own record comes back with the ring and goes with it. */
    vmeventctl_ring_disable(r, 50, NULL);
    tap_ok(fake_xs_read("/local/domain/0/libvmeventctl/5") == NULL,
           "disable removes the record and its directory");
    vmeventctl_close(h);
    return tap_done();
}
