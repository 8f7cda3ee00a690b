/*
 * fuzz-ring: the request reader and validator, and the safe disable, fed
 * arbitrary ring-page contents and indices.
 *
 * The ring page is Xen's and the agent's alone, but the issue asks that
 * nothing read from Xen can crash the tool and that every length read from
 * the ring is checked before use.  Per input: a fresh fake Xen 4.17 with a
 * PVH guest, a ring enabled through the library, maybe real requests put
 * by the fake's vCPUs, then the shared page (sring indices and slots)
 * overwritten with input bytes, a script of reads, answers, waits, new
 * events and index changes, and the safe disable with a short timeout.
 *
 * Checked after each input, besides ASan/UBSan and LeakSanitizer:
 *  - nothing of ours is left: mapping, bound port, pause reference,
 *    handle, ownership record (vmeventctl_ring_disable()'s promise);
 *  - when the page was never tampered with and the disable did not fail,
 *    no vCPU is left waiting for a reply: "every vCPU answered" is what
 *    outcomes CLEAN and UNSETTLED promise (vmeventctl.h);
 *  - when the page was never tampered with, we never published answers
 *    more than a ring ahead of Xen's consumer;
 *  - get_request never hands out a request with another version or a
 *    vcpu_id beyond the domain's vCPUs;
 *  - disable returns 0 only with the ring disabled and outcome not FAILED.
 *
 * Input layout (all optional; missing bytes read as 0):
 *   [0] vCPUs - 1 (low 4 bits); bit 4: CPUID events on and requests put
 *       before the page is touched; bit 5: one Xen call fails; bit 6:
 *       overwrite the page with the tail; bit 7: vCPUs run on every call
 *   [1] which Xen call fails (1..64), [2] which of its real errnos, [3] disable
 *       timeout (1..8 ms), [4..19] the script (one op per byte, see below),
 *   [20..] the page image, from offset 0 (the sring header, then slots).
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "fuzz-common.h"

#include <xen/io/ring.h>

#define NR_OPS     16
#define HDR_BYTES  (4 + NR_OPS)
#define MAX_STASH  32

struct state {
    vmeventctl_handle *h;
    vmeventctl_ring *r;
    vm_event_sring_t *xen_page;     /* Xen's view of the same page */
    unsigned int nr_vcpus;
    int tampered;                   /* the input wrote Xen's side, or
                                       answered a request never read */
    vm_event_request_t stash[MAX_STASH];
    unsigned int nr_stash;
    uint32_t cb_flags;
};

static void cb(const vm_event_request_t *req, vm_event_response_t *rsp, void *arg)
{
    struct state *s = arg;

    (void)req;
    /* The callback may change the flags and data, not version or vcpu_id. */
    rsp->flags ^= s->cb_flags;
    rsp->version = 0;
    rsp->vcpu_id = ~0u;
}

/*
 * One step of the script: the low 4 bits choose it, the high 4 are its
 * argument.  0 read a request and keep it; 1 answer a kept one (any of
 * them: answers may come in any order); 2 answer_all; 3 answer_all with a
 * callback changing flags, version and vcpu_id; 4 wait(0); 5 notify;
 * 6 a vCPU traps (CPUID, sync); 7 an async breakpoint event; 8 Xen's
 * req_prod moves by -8..+7; 9 the guest runs; 10 an event source on or
 * off; 11 read and answer at once, with extra flags; 12 answer a request
 * never read (a misuse); 13 the controller pauses or unpauses the guest;
 * 14 a stop request (as from SIGTERM); 15 nothing.
 */
static void run_op(struct state *s, uint8_t op)
{
    unsigned int arg = op >> 4;
    vm_event_request_t req;
    int rc;

    switch ( op & 15 )
    {
    case 0: /* read one request and keep it to answer later */
        rc = vmeventctl_ring_get_request(s->r, &req);
        if ( rc == 1 && s->nr_stash < MAX_STASH )
            s->stash[s->nr_stash++] = req;
        if ( rc == 1 && (req.version != VM_EVENT_INTERFACE_VERSION ||
                         req.vcpu_id >= s->nr_vcpus) )
            fz_fail("get_request returned a request it should have refused: version %u vcpu %u",
                    req.version, req.vcpu_id);
        break;
    case 1: /* answer a kept request, in any order (Xen matches vcpu_id) */
        if ( s->nr_stash )
        {
            unsigned int i = arg % s->nr_stash;

            vmeventctl_ring_put_response(s->r, &s->stash[i], 0);
            s->stash[i] = s->stash[--s->nr_stash];
        }
        break;
    case 2:
        vmeventctl_ring_answer_all(s->r, NULL, NULL);
        break;
    case 3:
        s->cb_flags = (uint32_t)arg << 4;
        vmeventctl_ring_answer_all(s->r, cb, s);
        break;
    case 4:
        vmeventctl_ring_wait(s->r, 0);
        break;
    case 5:
        vmeventctl_ring_notify(s->r);
        break;
    case 6: /* a vCPU traps: Xen puts a real request (or queues the vCPU) */
        fake_vcpu_event(FZ_GUEST, arg % s->nr_vcpus, VM_EVENT_REASON_CPUID);
        break;
    case 7:
        fake_vcpu_event_async(FZ_GUEST, arg % s->nr_vcpus,
                              VM_EVENT_REASON_SOFTWARE_BREAKPOINT);
        break;
    case 8: /* Xen's req_prod moves by -8..+7 */
        s->xen_page->req_prod += (RING_IDX)arg - 8;
        s->tampered = 1;
        break;
    case 9:
        fake_domain_step(FZ_GUEST, arg + 1);
        break;
    case 10:
        vmeventctl_ring_monitor(s->r, arg & 1 ? VMEVENTCTL_EVENT_SOFTWARE_BREAKPOINT :
                                VMEVENTCTL_EVENT_CPUID, arg & 2);
        break;
    case 11: /* a request read and answered with extra flags */
        if ( vmeventctl_ring_get_request(s->r, &req) == 1 )
            vmeventctl_ring_put_response(s->r, &req, (uint32_t)arg << 8);
        break;
    case 12: /* a request the caller made up */
        memset(&req, 0, sizeof(req));
        req.version = VM_EVENT_INTERFACE_VERSION;
        req.vcpu_id = arg;
        req.flags = VM_EVENT_FLAG_VCPU_PAUSED;
        if ( vmeventctl_ring_put_response(s->r, &req, 0) == 0 )
            s->tampered = 1; /* a misuse: the oracle below cannot hold */
        break;
    case 13:
        fake_domain_set_pause_count(FZ_GUEST, arg & 1);
        break;
    case 14: /* SIGTERM: waits end, the disable cuts its settle short */
        vmeventctl_request_stop(s->h);
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in = { data, size };
    struct vmeventctl_disable_report rep;
    struct fake_ring_stats st;
    struct state s;
    vmeventctl_handle *h;
    uint8_t mode, ops[NR_OPS];
    unsigned int fail_nth, fail_pick, timeout_ms, i;
    int rc, pause_before = 0;

    memset(&s, 0, sizeof(s));
    mode = fz_byte(&in);
    fail_nth = fz_byte(&in) % 64 + 1;
    fail_pick = fz_byte(&in);
    timeout_ms = fz_byte(&in) % 8 + 1;
    for ( i = 0; i < NR_OPS; i++ )
        ops[i] = fz_byte(&in);
    s.nr_vcpus = (mode & 15) + 1;

    fake_reset();
    if ( fake_domain_add(FZ_GUEST, FAKE_DOM_PVH, s.nr_vcpus, "guest") )
        abort();
    if ( mode & 0x80 )
        fake_set_autostep(1);
    h = vmeventctl_open(fz_logger(), 0);
    if ( !h )
        abort();
    s.h = h;
    if ( mode & 0x20 )
        fz_fault_arm(fail_nth, fail_pick);

    s.r = vmeventctl_ring_enable(h, FZ_GUEST, VMEVENTCTL_RING_MONITOR, 0);
    if ( !s.r )
        goto out;
    s.xen_page = fake_ring_page(FZ_GUEST);
    if ( !s.xen_page )
        fz_fail("enable succeeded but Xen has no ring");

    if ( mode & 0x10 )
    {
        vmeventctl_ring_monitor(s.r, VMEVENTCTL_EVENT_CPUID, 1);
        for ( i = 0; i < s.nr_vcpus; i++ )
            fake_vcpu_event(FZ_GUEST, i, VM_EVENT_REASON_CPUID);
    }
    if ( (mode & 0x40) && in.n )
    {
        size_t n = in.n < XC_PAGE_SIZE ? in.n : XC_PAGE_SIZE;

        RING_IDX rsp_prod = s.xen_page->rsp_prod;

        /* Xen's fields and the slots; rsp_prod is ours alone to write. */
        memcpy(s.xen_page, in.p, n);
        s.xen_page->rsp_prod = rsp_prod;
        s.tampered = 1;
    }

    for ( i = 0; i < NR_OPS; i++ )
        run_op(&s, ops[i]);

    pause_before = fake_pause_count(FZ_GUEST);
    rc = vmeventctl_ring_disable(s.r, timeout_ms, &rep);
    if ( rc == 0 && rep.outcome == VMEVENTCTL_DISABLE_FAILED )
        fz_fail("disable returned 0 with outcome FAILED");
    if ( rc == 0 && !rep.ring_disabled )
        fz_fail("disable returned 0 but the ring is still enabled");
    /*
     * We never publish more answers than a ring holds ahead of Xen's
     * consumer: Xen would read slots overwritten before it consumed them
     * (it trusts rsp_prod, vm_event_get_response).  We cannot see Xen's
     * consumer, only what Xen's req_prod implies about it, so a req_prod
     * the input moved may fool us: only an honest Xen is held to this.
     */
    if ( !s.tampered && fake_ring_stats(FZ_GUEST, &st) == 0 && st.rsp_prod_overrun )
        fz_fail("we published rsp_prod more than %u ahead of Xen's rsp_cons (%lu time(s))",
                FAKE_RING_SLOTS, st.rsp_prod_overrun);
    if ( rc == 0 && !s.tampered && !(mode & 0x20) )
    {
        for ( i = 0; i < s.nr_vcpus; i++ )
            if ( fake_vcpu_vm_event_paused(FZ_GUEST, i) > 0 )
                fz_fail("disable said %s (answered %u) but vCPU %u still waits for a reply",
                        vmeventctl_disable_outcome_name(rep.outcome), rep.answered, i);
    }

 out:
    fz_fault_arm(0, 0);
    fake_fail_clear();
    if ( !s.r )
        pause_before = fake_pause_count(FZ_GUEST);
    vmeventctl_close(h);
    /*
     * A ring the disable left enabled (Xen refused, or disabling could free
     * it under a vCPU) keeps our record: a rescue's key to it.  It is
     * unmarked unless that write failed too; a "paused 1" of a dead owner
     * counts only while the domain is controller-paused, and our pause is
     * released (checked below).
     */
    if ( fake_ring_exists(FZ_GUEST, FAKE_RING_MONITOR) == 1 )
    {
        char *rec = fake_xs_read(FZ_RECORD);

        if ( !rec )
            fz_fail("a ring is left enabled without our record");
        free(rec);
        fz_check_nothing_left("after disable and close, ring left", FZ_GUEST, pause_before, 0);
        return 0;
    }
    fz_check_nothing_left("after disable and close", FZ_GUEST, pause_before, 1);
    return 0;
}
