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

/*
 * Enable and records it did not write: a live owner's is never touched, a
 * dead owner that may have left the domain paused is sent to a rescue, and
 * a dead owner's record comes back when the enable fails.  The record says
 * "paused 2" from before enable's own pause until after its release, and
 * so while xc_monitor_enable runs (libxc pauses inside it).
 */
static unsigned int enable_marked, enable_calls, enable_pauses_marked, enable_pauses;

static void watch_enable(const char *fn, void *arg)
{
    (void)arg;
    if ( !strcmp(fn, "xc_monitor_enable") )
    {
        enable_calls++;
        enable_marked += fx_record_says(" paused 2");
    }
    if ( !strcmp(fn, "xc_domain_pause") || !strcmp(fn, "xc_domain_unpause") )
    {
        enable_pauses++;
        enable_pauses_marked += fx_record_says(" paused 2");
    }
}

static void test_enable_and_records(void)
{
    vmeventctl_handle *h = fx_world(1), *h2;
    vmeventctl_ring *r, *r2;
    char *rec, *before;

    fake_set_call_hook(watch_enable, NULL);
    r = vmeventctl_ring_enable(h, GUEST, VMEVENTCTL_RING_MONITOR, 0);
    tap_ok(r && enable_calls == 1 && enable_marked == 1,
           "enable: the record says 'paused 2' while xc_monitor_enable runs");
    tap_ok(enable_pauses == 2 && enable_pauses_marked == 2,
           "  and while enable takes and releases its own pause");
    tap_ok(fx_record_says(NULL) && !fx_record_says("paused"),
           "  and no more once the enable is done");
    rec = fake_xs_read(RECORD);
    tap_ok(rec && !strstr(rec, "paused"), "  and loses the mark once the ring is up");
    free(rec);

    /* A second enable while we (alive) own the ring. */
    h2 = fx_open();
    before = fake_xs_read(RECORD);
    errno = 0;
    r2 = vmeventctl_ring_enable(h2, GUEST, VMEVENTCTL_RING_MONITOR, 0);
    tap_ok(!r2 && errno == EBUSY, "a live owner's record: EBUSY");
    rec = fake_xs_read(RECORD);
    tap_ok(enable_calls == 1 && rec && before && !strcmp(rec, before),
           "  before xc_monitor_enable; the live owner's record is untouched");
    free(rec);
    free(before);
    vmeventctl_close(h2);
    vmeventctl_ring_disable(r, 50, NULL);
    fake_set_call_hook(NULL, NULL);

    /* A dead owner that may have left the domain paused. */
    fake_xs_write(RECORD, "4194305 1 vmevent-test-ag paused 1");
    fake_domain_set_pause_count(GUEST, 1);
    enable_calls = 0;
    fake_set_call_hook(watch_enable, NULL);
    errno = 0;
    r2 = vmeventctl_ring_enable(h, GUEST, VMEVENTCTL_RING_MONITOR, 0);
    fake_set_call_hook(NULL, NULL);
    rec = fake_xs_read(RECORD);
    tap_ok(!r2 && errno == EBUSY && enable_calls == 0,
           "a dead owner marked paused, domain paused: EBUSY before xc_monitor_enable");
    tap_ok(rec && !strcmp(rec, "4194305 1 vmevent-test-ag paused 1") && fake_pause_count(GUEST) == 1,
           "  its record and the pause are left for the rescue");
    free(rec);

    /* The same mark on a domain nobody pauses is stale. */
    fake_domain_set_pause_count(GUEST, 0);
    r2 = vmeventctl_ring_enable(h, GUEST, VMEVENTCTL_RING_MONITOR, 0);
    tap_ok(r2 != NULL, "a stale mark (domain not paused): enable goes ahead");
    tap_is(vmeventctl_owner_get(h, GUEST, &(struct vmeventctl_owner){ 0 }), 0, "  the record reads");
    if ( r2 )
        vmeventctl_ring_disable(r2, 50, NULL);
    vmeventctl_close(h);

    /* A dead agent's ring and record: EBUSY, and its record comes back. */
    fx_dead_agent(1, 1, 0);
    h = fx_open();
    errno = 0;
    r2 = vmeventctl_ring_enable(h, GUEST, VMEVENTCTL_RING_MONITOR, 0);
    rec = fake_xs_read(RECORD);
    tap_ok(!r2 && errno == EBUSY, "a dead agent's ring: EBUSY from xc_monitor_enable");
    tap_ok(rec && !strcmp(rec, "4194305 1 dead-agent"), "  the dead agent's record is put back as it was");
    free(rec);
    vmeventctl_close(h);
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
    test_enable_and_records();
    return tap_done();
}
