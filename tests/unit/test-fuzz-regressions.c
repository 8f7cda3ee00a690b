/*
 * test-fuzz-regressions: bugs the fuzz targets in fuzz/ found, one test
 * each, written before the fix.  Each names the target and the crash it
 * reproduces (the input is kept in fuzz/corpus/<target>/ as well, so the
 * fuzzer replays it too).
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <stdio.h>

#include "fixture.h"

/*
 * /proc/PID/stat of a process that cannot exist (pid 4194304 is one past
 * the kernel's largest pid_max), served from proc_stat_text: this test
 * defines fopen(), which the library's calls (linked into this program)
 * reach first; every other path goes to the C library's fopen64.
 */
#define FAKE_PID_STAT "/proc/4194304/stat"
static const char *proc_stat_text;
static size_t proc_stat_len;

FILE *fopen(const char *path, const char *mode)
{
    if ( proc_stat_text && !strcmp(path, FAKE_PID_STAT) )
        return fmemopen((void *)proc_stat_text, proc_stat_len, "r");
    return fopen64(path, mode);
}

/* vm_event_request_t as Xen put it in slot i of the ring page. */
static vm_event_request_t *xen_slot(unsigned int i)
{
    vm_event_sring_t *sring = fake_ring_page(GUEST);

    if ( !sring )
        tap_bail("no ring page: %s", strerror(errno));
    return &sring->ring[i % FAKE_RING_SLOTS].req;
}

static void expect_disabled_none_waiting(vmeventctl_ring *r, unsigned int nr_vcpus,
                                         const char *name)
{
    struct vmeventctl_disable_report rep;
    int rc = vmeventctl_ring_disable(r, 200, &rep);
    char what[160];

    snprintf(what, sizeof(what), "%s: the safe disable succeeds", name);
    tap_is(rc, 0, what);
    snprintf(what, sizeof(what), "%s: ... and reports every vCPU answered (clean)", name);
    tap_is(rep.outcome, VMEVENTCTL_DISABLE_CLEAN, what);
    snprintf(what, sizeof(what), "%s: no vCPU is left waiting for a reply", name);
    tap_is(fx_waiting(nr_vcpus), 0, what);
    snprintf(what, sizeof(what), "%s: nothing of ours is left", name);
    tap_ok(fx_nothing_left(), what);
}

/*
 * fuzz-ring, crash-4f2876b6 ("disable said unsettled but vCPU 0 still waits
 * for a reply"): an agent reads request A, then reads request B and answers
 * it at once, keeping A for later.  The answer to B went into the slot
 * holding A (answers are written at the response producer, the oldest slot
 * not yet answered), and the safe disable, which answers "requests read but
 * not answered" by reading them back from their slots, found B there
 * instead: it answered B twice and never A.  A's vCPU stayed frozen after a
 * disable that reported success.  Xen matches answers by vcpu_id, not by
 * slot, so answering out of order is legitimate.
 */
static void test_answer_out_of_order(void)
{
    vmeventctl_handle *h = fx_world(2);
    vmeventctl_ring *r = fx_ring(h);
    vm_event_request_t a, b;

    fake_set_autostep(1);
    fake_vcpu_event(GUEST, 0, VM_EVENT_REASON_CPUID);
    fake_vcpu_event(GUEST, 1, VM_EVENT_REASON_CPUID);
    if ( vmeventctl_ring_get_request(r, &a) != 1 || vmeventctl_ring_get_request(r, &b) != 1 )
        tap_bail("reading the two requests: %s", strerror(errno));
    tap_is(a.vcpu_id, 0, "out of order: A is vCPU 0's request");
    tap_is(vmeventctl_ring_put_response(r, &b, 0), 0, "out of order: B answered first");
    tap_is(vmeventctl_ring_notify(r), 0, "out of order: ... and published");
    tap_is(fake_vcpu_vm_event_paused(GUEST, 1), 0, "out of order: B's vCPU runs again");
    tap_cmp(fake_vcpu_vm_event_paused(GUEST, 0), >, 0, "out of order: A's vCPU still waits");
    expect_disabled_none_waiting(r, 2, "out of order, put_response");
    vmeventctl_close(h);
}

/* The same through vmeventctl_ring_answer_all(): A read and kept, B answered in a batch. */
static void test_answer_all_after_kept(void)
{
    vmeventctl_handle *h = fx_world(2);
    vmeventctl_ring *r = fx_ring(h);
    vm_event_request_t a;

    fake_set_autostep(1);
    fake_vcpu_event(GUEST, 0, VM_EVENT_REASON_CPUID);
    fake_vcpu_event(GUEST, 1, VM_EVENT_REASON_CPUID);
    if ( vmeventctl_ring_get_request(r, &a) != 1 )
        tap_bail("reading A: %s", strerror(errno));
    tap_is(vmeventctl_ring_answer_all(r, NULL, NULL), 1, "kept A: answer_all answers B only");
    tap_cmp(fake_vcpu_vm_event_paused(GUEST, 0), >, 0, "kept A: A's vCPU still waits");
    expect_disabled_none_waiting(r, 2, "kept A, answer_all");
    vmeventctl_close(h);
}

/*
 * And with a malformed request behind the kept one: answer_all answers it
 * with a zeroed slot (version 0, which Xen drops), which must not land on
 * the kept request either.
 */
static void test_malformed_after_kept(void)
{
    vmeventctl_handle *h = fx_world(2);
    vmeventctl_ring *r = fx_ring(h);
    vm_event_request_t a;

    fake_set_autostep(1);
    fake_vcpu_event(GUEST, 0, VM_EVENT_REASON_CPUID);
    fake_vcpu_event(GUEST, 1, VM_EVENT_REASON_CPUID);
    xen_slot(1)->version = VM_EVENT_INTERFACE_VERSION + 1;
    if ( vmeventctl_ring_get_request(r, &a) != 1 )
        tap_bail("reading A: %s", strerror(errno));
    tap_is(vmeventctl_ring_answer_all(r, NULL, NULL), 0,
           "malformed behind kept A: answer_all answers nothing valid");
    tap_cmp(fake_vcpu_vm_event_paused(GUEST, 0), >, 0, "malformed behind kept A: A's vCPU waits");
    {
        struct vmeventctl_disable_report rep;

        /* vCPU 1's request was malformed, so nothing can answer it: the
         * disable says a vCPU never ran rather than reporting success. */
        errno = 0;
        tap_ok(vmeventctl_ring_disable(r, 200, &rep) == -1 && errno == ETIMEDOUT &&
               rep.outcome == VMEVENTCTL_DISABLE_UNSETTLED && rep.unsettled == 1,
               "malformed behind kept A: the safe disable reports the vCPU it could not settle (ETIMEDOUT)");
        tap_is(fake_vcpu_vm_event_paused(GUEST, 0), 0,
               "malformed behind kept A: A's vCPU was answered");
    }
    vmeventctl_close(h);
}

/*
 * fuzz-ring, crash-2dbf8728 ("we published rsp_prod more than 8 ahead of
 * Xen's rsp_cons"): with every slot holding a request read but not yet
 * answered, a req_prod one further on was accepted, because req_prod was
 * only checked against our consumer index, not against the answers we had
 * published.  Xen puts a request only in a slot whose answer it consumed
 * (vm_event_ring_available), so such a req_prod is corrupt; reading it
 * made the safe disable publish 9 answers into 8 slots, the first
 * overwritten before Xen read it, and rsp_prod a ring and more ahead of
 * Xen's consumer (Xen trusts rsp_prod: vm_event_get_response).
 */
static void test_more_than_a_ring_unanswered(void)
{
    vmeventctl_handle *h = fx_world(FAKE_RING_SLOTS);
    vmeventctl_ring *r = fx_ring(h);
    vm_event_sring_t *sring = fake_ring_page(GUEST);
    struct vmeventctl_disable_report rep;
    struct fake_ring_stats st;
    vm_event_request_t req;
    unsigned int i;
    int rc;

    fake_set_autostep(1);
    for ( i = 0; i < FAKE_RING_SLOTS; i++ )
        fake_vcpu_event(GUEST, i, VM_EVENT_REASON_CPUID);
    for ( i = 0; i < FAKE_RING_SLOTS; i++ )
        if ( vmeventctl_ring_get_request(r, &req) != 1 )
            tap_bail("reading request %u: %s", i, strerror(errno));
    sring->req_prod++;  /* a ninth request, while all eight wait for answers */
    errno = 0;
    rc = vmeventctl_ring_get_request(r, &req);
    if ( !tap_ok(rc == -1 && errno == EIO,
                 "a ring full of unanswered requests and one more: EIO, corrupt") )
        tap_diag("  expected -1 with errno EIO, got %d errno %d", rc, errno);
    rc = vmeventctl_ring_answer_all(r, NULL, NULL);
    if ( !tap_ok(rc == -1 && errno == EIO, "... answer_all too: EIO") )
        tap_diag("  expected -1 with errno EIO, got %d errno %d", rc, errno);
    sring->req_prod--;  /* Xen's req_prod as it was */
    tap_is(vmeventctl_ring_disable(r, 200, &rep), 0, "the safe disable succeeds");
    tap_is(fx_waiting(FAKE_RING_SLOTS), 0, "... every vCPU is answered");
    fake_ring_stats(GUEST, &st);
    tap_is(st.rsp_prod_overrun, 0, "... and rsp_prod never ran more than a ring ahead of Xen");
    tap_is(st.without_request, 0, "... nor did Xen consume an answer with no request behind it");
    vmeventctl_close(h);
}

/*
 * The same with answers queued but not yet published: Xen cannot have
 * consumed them, so their slots are not free either, and a req_prod past
 * the published rsp_prod plus a ring is corrupt.  Reading on read our own
 * unpublished answers back as requests and overwrote them.
 */
static void test_unpublished_answers(void)
{
    vmeventctl_handle *h = fx_world(FAKE_RING_SLOTS);
    vmeventctl_ring *r = fx_ring(h);
    vm_event_sring_t *sring = fake_ring_page(GUEST);
    struct fake_ring_stats st;
    vm_event_request_t req;
    unsigned int i;
    int rc;

    fake_set_autostep(1);
    for ( i = 0; i < FAKE_RING_SLOTS; i++ )
        fake_vcpu_event(GUEST, i, VM_EVENT_REASON_CPUID);
    for ( i = 0; i < 4; i++ )
    {
        if ( vmeventctl_ring_get_request(r, &req) != 1 )
            tap_bail("reading request %u: %s", i, strerror(errno));
        vmeventctl_ring_put_response(r, &req, 0); /* queued, not published */
    }
    sring->req_prod += 4;  /* twelve, with nothing published */
    errno = 0;
    rc = vmeventctl_ring_get_request(r, &req);
    if ( !tap_ok(rc == -1 && errno == EIO,
                 "unpublished answers: a req_prod past published + a ring: EIO") )
        tap_diag("  expected -1 with errno EIO, got %d errno %d", rc, errno);
    sring->req_prod -= 4;
    tap_is(vmeventctl_ring_disable(r, 200, NULL), 0, "unpublished answers: the safe disable succeeds");
    tap_is(fx_waiting(FAKE_RING_SLOTS), 0, "unpublished answers: every vCPU is answered");
    fake_ring_stats(GUEST, &st);
    tap_is(st.rsp_prod_overrun + st.without_request + st.bad_version, 0,
           "unpublished answers: Xen read every answer whole, none without a request");
    vmeventctl_close(h);
}

/*
 * fuzz-domain, /proc/PID/stat ending at the ')' of the command name (found
 * reading proc_stat() while writing the target, then crashed by it under
 * ASan with such an input: stack-buffer-overflow in strchr, owner.c
 * proc_stat).  The fields after the command are found with
 * strchr(p + 1, ' ') from the ')', so when nothing follows it, p + 1 is
 * past the string's NUL: the search reads uninitialised stack, and past
 * the 1024-byte buffer when the read filled it.  A real kernel always
 * writes the fields, but the record names any pid, and nothing read may
 * crash the tool.  Without the fix this test fails under
 * --enable-sanitizers (the full buffer) and make check-valgrind (the
 * short one); a plain build cannot see the stray read.
 */
static void test_proc_stat_ends_at_paren(void)
{
    static char full[1024];
    struct vmeventctl_owner o;
    vmeventctl_handle *h = fx_world(1);

    fake_xs_write(RECORD, "4194304 1 agent");
    proc_stat_text = "4194304 (agent)";
    proc_stat_len = strlen(proc_stat_text);
    tap_is(vmeventctl_owner_get(h, GUEST, &o), 0, "stat ending at ')': the record reads");
    tap_is(o.state, VMEVENTCTL_OWNER_DEAD, "  ... its owner is not live (its stat does not parse)");

    /* 1023 bytes, all fread takes, the last one the ')'. */
    memset(full, 'a', sizeof(full));
    memcpy(full, "4194304 (", 9);
    full[1022] = ')';
    proc_stat_text = full;
    proc_stat_len = 1023;
    tap_is(vmeventctl_owner_get(h, GUEST, &o), 0, "stat of 1023 bytes ending at ')': the record reads");
    tap_is(o.state, VMEVENTCTL_OWNER_DEAD, "  ... its owner is not live");

    /* And the form the kernel writes still reads: live, with the start time matching. */
    proc_stat_text = "4194304 (a) b) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 424242 20 21\n";
    proc_stat_len = strlen(proc_stat_text);
    fake_xs_write(RECORD, "4194304 424242 agent");
    tap_is(vmeventctl_owner_get(h, GUEST, &o), 0, "a well-formed stat with ')' in the command");
    tap_is(o.state, VMEVENTCTL_OWNER_LIVE, "  ... names a live owner (start time is field 22)");
    proc_stat_text = NULL;
    vmeventctl_close(h);
}

/* Field 22 of /proc/PID/stat, or 0. */
static unsigned long long start_time_of(int pid)
{
    char path[64], buf[1024], *p;
    unsigned long long st = 0;
    FILE *f;
    size_t n;
    int i;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    f = fopen(path, "re");
    if ( !f )
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    for ( i = 2; p && i < 22; i++ )
        p = strchr(p + 1, ' ');
    if ( p )
        st = strtoull(p + 1, NULL, 10);
    return st;
}

/*
 * fuzz-domain, crash-2d00d0e2 ("record '4910594705 1 ...' has a number
 * out of range, but read as pid 615627409"): the record was parsed with
 * sscanf's %d and %llu, for which a number out of range is undefined
 * (glibc wraps it).  A record whose pid wraps names another process:
 * "4294967297" is pid 1, and with init's start time the record read as
 * a live owner, pid 1, whom xen-vmevent-drain stop would send SIGTERM.
 * The library never writes such a record; one that does not parse
 * belongs to nobody alive (EBADMSG).
 */
static void test_record_out_of_range(void)
{
    static const char *const bad[] = {
        "4294967297 1 agent", "-1 1 agent", "0 1 agent",
        "12 99999999999999999999 agent", "12 -5 agent", "12 +5 agent",
    };
    vmeventctl_handle *h = fx_world(1);
    struct vmeventctl_owner o;
    unsigned long long init_start = start_time_of(1);
    char rec[96];
    unsigned int i;
    int rc;

    for ( i = 0; i < sizeof(bad) / sizeof(bad[0]); i++ )
    {
        fake_xs_write(RECORD, bad[i]);
        errno = 0;
        rc = vmeventctl_owner_get(h, GUEST, &o);
        snprintf(rec, sizeof(rec), "record '%s': does not parse (EBADMSG)", bad[i]);
        if ( !tap_ok(rc == -1 && errno == EBADMSG, rec) )
            tap_diag("  got %d errno %d, pid %d start %llu", rc, errno, (int)o.pid,
                     (unsigned long long)o.start_time);
    }
    if ( init_start )
    {
        snprintf(rec, sizeof(rec), "4294967297 %llu init", init_start);
        fake_xs_write(RECORD, rec);
        rc = vmeventctl_owner_get(h, GUEST, &o);
        if ( !tap_ok(rc == -1 || o.state != VMEVENTCTL_OWNER_LIVE,
                     "a pid that wraps to 1, with init's start time: not a live owner") )
            tap_diag("  read as live pid %d", (int)o.pid);
    }
    else
        tap_ok(1, "# SKIP /proc/1/stat cannot be read here");
    /* What the library writes still reads. */
    fake_xs_write(RECORD, "4194305 12345 agent paused 3");
    tap_is(vmeventctl_owner_get(h, GUEST, &o), 0, "the library's own form reads");
    tap_ok(o.pid == 4194305 && o.start_time == 12345 && !strcmp(o.comm, "agent") &&
           o.pauses == 3 && o.state == VMEVENTCTL_OWNER_DEAD,
           "  ... pid, start time, comm, paused mark and count; its owner is dead");
    fake_xs_write(RECORD, "4194305 12345 agent paused");
    tap_ok(vmeventctl_owner_get(h, GUEST, &o) == 0 && o.pauses == 1,
           "the earlier form, 'paused' with no count, reads as one reference");
    fake_xs_write(RECORD, "4194305 12345 agent paused 17");
    tap_ok(vmeventctl_owner_get(h, GUEST, &o) == -1 && errno == EBADMSG,
           "a count above VMEVENTCTL_OWNER_MAX_PAUSES does not parse (EBADMSG)");
    fake_xs_write(RECORD, "4194305 12345 agent paused 0");
    tap_ok(vmeventctl_owner_get(h, GUEST, &o) == -1 && errno == EBADMSG,
           "'paused 0' does not parse (EBADMSG)");
    fake_xs_write(RECORD, "4194305 12345 agent paused 2 x");
    tap_ok(vmeventctl_owner_get(h, GUEST, &o) == -1 && errno == EBADMSG,
           "trailing words do not parse (EBADMSG)");
    vmeventctl_close(h);
}

int main(void)
{
    test_answer_out_of_order();
    test_answer_all_after_kept();
    test_malformed_after_kept();
    test_more_than_a_ring_unanswered();
    test_unpublished_answers();
    test_proc_stat_ends_at_paren();
    test_record_out_of_range();
    return tap_done();
}
