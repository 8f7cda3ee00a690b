/*
 * test-fake-model.c: self-test of the fake Xen model (fake-xen.c).
 *
 * The unit tests of libvmeventctl are only as good as the model they run
 * against.  This test plays a minimal vm_event agent by hand (xen-access
 * style: enable, bind, back ring, answer, notify, disable) and checks that
 * the model answers as Xen 4.17 does for the behaviours the library relies
 * on: the errnos of enable/disable/resume, a sync event pausing a vCPU
 * until a version-7 reply carrying VM_EVENT_FLAG_VCPU_PAUSED, disable not
 * releasing a vCPU that waits for a reply, registers a reply sets applied
 * only when the vCPU runs and lost to a disable before, the controller
 * pause count, EEXIST on monitor toggles, the ring-full rules, and fault
 * injection.
 *
 * Output is TAP.  Exit status: 0 all passed, 1 a check failed, 99 the test
 * itself could not run.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xenctrl.h>
#include <xenevtchn.h>
#include <xenstore.h>
#include <xen/vm_event.h>
#include <xen/io/ring.h>

#include "fake-xen.h"

static unsigned int t_n;
static unsigned int t_failed;

static void check_int(const char *desc, long long expected, long long got)
{
    t_n++;
    if ( expected == got )
        printf("ok %u - %s\n", t_n, desc);
    else
    {
        printf("not ok %u - %s expected %lld got %lld\n", t_n, desc,
               expected, got);
        t_failed++;
    }
}

/* A call expected to fail: rc must be -1 and errno exp_errno. */
static void check_fail(const char *desc, long long rc, int err, int exp_errno)
{
    t_n++;
    if ( rc == -1 && err == exp_errno )
        printf("ok %u - %s\n", t_n, desc);
    else
    {
        printf("not ok %u - %s expected -1/%s got %lld/%s\n", t_n, desc,
               strerror(exp_errno), rc, rc == -1 ? strerror(err) : "-");
        t_failed++;
    }
}

static void check_str(const char *desc, const char *expected, const char *got)
{
    t_n++;
    if ( got && !strcmp(expected, got) )
        printf("ok %u - %s\n", t_n, desc);
    else
    {
        printf("not ok %u - %s expected \"%s\" got \"%s\"\n", t_n, desc,
               expected, got ? got : "(null)");
        t_failed++;
    }
}

static void bail(const char *what)
{
    printf("Bail out! %s: %s\n", what, strerror(errno));
    exit(99);
}

/*
 * CHECK_FAIL(desc, call, errno): call must answer -1 (NULL for PCHECK_FAIL)
 * with that errno.  errno is read after the call, in one statement.
 */
#define CHECK_FAIL(desc, call, exp_errno) do {                             \
    long long rc_;                                                         \
    int err_;                                                              \
                                                                           \
    errno = 0;                                                             \
    rc_ = (long long)(call);                                               \
    err_ = errno;                                                          \
    check_fail(desc, rc_, err_, exp_errno);                                \
} while ( 0 )
#define PCHECK_FAIL(desc, call, exp_errno)                                 \
    CHECK_FAIL(desc, (call) ? 0 : -1, exp_errno)

/*
 * A hand-written agent, as xen-access does it.
 */
struct agent {
    uint32_t domid;
    void *page;
    vm_event_back_ring_t back;
    xenevtchn_handle *xce;
    uint32_t xen_port;
    int lport;
};

static xc_interface *xch;

static int agent_enable(struct agent *a, uint32_t domid)
{
    memset(a, 0, sizeof(*a));
    a->domid = domid;
    a->lport = -1;
    a->page = xc_monitor_enable(xch, domid, &a->xen_port);
    if ( !a->page )
        return -1;
    SHARED_RING_INIT((vm_event_sring_t *)a->page);
    BACK_RING_INIT(&a->back, (vm_event_sring_t *)a->page, XC_PAGE_SIZE);
    a->xce = xenevtchn_open(NULL, 0);
    if ( !a->xce )
        bail("xenevtchn_open");
    a->lport = xenevtchn_bind_interdomain(a->xce, domid, a->xen_port);
    if ( a->lport < 0 )
        bail("xenevtchn_bind_interdomain");

    return 0;
}

static int agent_get_request(struct agent *a, vm_event_request_t *req)
{
    if ( !RING_HAS_UNCONSUMED_REQUESTS(&a->back) )
        return 0;
    memcpy(req, RING_GET_REQUEST(&a->back, a->back.req_cons), sizeof(*req));
    a->back.req_cons++;

    return 1;
}

static void agent_put_response(struct agent *a, uint32_t version,
                               uint32_t vcpu, uint32_t flags)
{
    vm_event_response_t rsp;

    memset(&rsp, 0, sizeof(rsp));
    rsp.version = version;
    rsp.vcpu_id = vcpu;
    rsp.flags = flags;
    rsp.reason = VM_EVENT_REASON_CPUID;
    memcpy(RING_GET_RESPONSE(&a->back, a->back.rsp_prod_pvt), &rsp,
           sizeof(rsp));
    a->back.rsp_prod_pvt++;
    RING_PUSH_RESPONSES(&a->back);
}

/* Unbind, unmap, close: what a clean agent leaves behind is nothing. */
static void agent_release(struct agent *a)
{
    if ( a->lport >= 0 )
        xenevtchn_unbind(a->xce, a->lport);
    xenevtchn_close(a->xce);
    if ( a->page )
        munmap(a->page, XC_PAGE_SIZE);
    memset(a, 0, sizeof(*a));
}

/* Reads every port queued on the agent's fd; returns how many were ours. */
static int agent_drain_fd(struct agent *a)
{
    struct pollfd pfd = { .fd = xenevtchn_fd(a->xce), .events = POLLIN };
    int n = 0, port;

    while ( poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN) )
    {
        port = xenevtchn_pending(a->xce);
        if ( port < 0 )
            break;
        if ( port == a->lport )
            n++;
        xenevtchn_unmask(a->xce, port);
    }

    return n;
}

static void setup(void)
{
    fake_reset();
    xch = xc_interface_open(NULL, NULL, 0);
    if ( !xch )
        bail("xc_interface_open");
}

static void teardown(void)
{
    xc_interface_close(xch);
    xch = NULL;
}

static void test_domains_and_xenstore(void)
{
    xc_domaininfo_t info[8];
    struct xs_handle *xsh;
    unsigned int len, num;
    char *v, **dir;

    setup();
    check_int("dom0 exists by default",
              1, xc_domain_getinfolist(xch, 0, 8, info));
    check_int("dom0 is not an HVM guest",
              0, !!(info[0].flags & XEN_DOMINF_hvm_guest));
    fake_domain_add(7, FAKE_DOM_PVH, 2, "pvh7");
    fake_domain_add(5, FAKE_DOM_HVM, 3, "hvm5");
    fake_domain_add(9, FAKE_DOM_PV, 1, "pv9");
    check_int("getinfolist(first=1) enumerates 3 guests",
              3, xc_domain_getinfolist(xch, 1, 8, info));
    check_int("in id order", 5, info[0].domain);
    check_int("HVM flag on domain 5",
              XEN_DOMINF_hvm_guest, info[0].flags & XEN_DOMINF_hvm_guest);
    check_int("PVH reads as an HVM guest",
              XEN_DOMINF_hvm_guest, info[1].flags & XEN_DOMINF_hvm_guest);
    check_int("max_vcpu_id of a 3-vCPU guest", 2, info[0].max_vcpu_id);
    check_int("nr_online_vcpus", 3, info[0].nr_online_vcpus);
    check_int("a fresh guest is not paused",
              0, info[0].flags & XEN_DOMINF_paused);
    check_int("getinfolist(first=6, max=1) gives domain 7",
              7, xc_domain_getinfolist(xch, 6, 1, info) == 1 ?
                 info[0].domain : 0xffff);
    check_int("getinfolist past the last domain gives 0",
              0, xc_domain_getinfolist(xch, 10, 8, info));

    xsh = xs_open(0);
    v = xs_read(xsh, XBT_NULL, "/local/domain/5/name", &len);
    check_str("name in xenstore", "hvm5", v);
    check_int("xs_read sets the length", 4, len);
    free(v);
    dir = xs_directory(xsh, XBT_NULL, "/local/domain", &num);
    check_int("xs_directory lists 4 domains", 4, dir ? num : 0);
    check_str("first child is dom0", "0", dir && num ? dir[0] : NULL);
    free(dir);
    PCHECK_FAIL("xs_read of a missing node: ENOENT",
               xs_read(xsh, XBT_NULL, "/local/domain/5/nope", &len), ENOENT);
    PCHECK_FAIL("xs_read of a bad path: EINVAL",
               xs_read(xsh, XBT_NULL, "/local//domain", &len), EINVAL);
    check_int("xs_write creates parents",
              1, xs_write(xsh, XBT_NULL, "/local/domain/0/a/b/c", "x", 1));
    v = fake_xs_read("/local/domain/0/a/b");
    check_str("implicit parent is empty", "", v);
    free(v);
    check_int("xs_rm of a missing node under an existing parent succeeds",
              1, xs_rm(xsh, XBT_NULL, "/local/domain/0/a/b/zz"));
    CHECK_FAIL("xs_rm under a missing parent: ENOENT",
               xs_rm(xsh, XBT_NULL, "/no/such/node") ? 0 : -1, ENOENT);
    check_int("xs_rm removes a subtree",
              1, xs_rm(xsh, XBT_NULL, "/local/domain/0/a"));
    check_int("subtree gone", 1, fake_xs_read("/local/domain/0/a/b/c") == NULL);
    check_int("relative paths are under /local/domain/0",
              1, xs_write(xsh, XBT_NULL, "rel", "1", 1));
    v = fake_xs_read("/local/domain/0/rel");
    check_str("relative write landed", "1", v);
    free(v);
    check_int("one xs handle open", 1, fake_open_xs_handles());
    xs_close(xsh);
    check_int("no xs handle left", 0, fake_open_xs_handles());
    fake_domain_destroy(7);
    check_int("destroy removes the xenstore home",
              1, fake_xs_read("/local/domain/7") == NULL);
    teardown();
}

static void test_enable_errors(void)
{
    struct agent a;
    uint32_t port;
    void *page;

    setup();
    fake_domain_add(1, FAKE_DOM_HVM, 2, "hvm1");
    fake_domain_add(2, FAKE_DOM_PV, 1, "pv2");
    fake_domain_add(3, FAKE_DOM_HVM, 1, "hvm3");

    PCHECK_FAIL("enable on a missing domain: ESRCH",
               xc_monitor_enable(xch, 42, &port), ESRCH);
    PCHECK_FAIL("enable on dom0: EINVAL",
               xc_monitor_enable(xch, 0, &port), EINVAL);
    PCHECK_FAIL("enable on a PV guest: EINVAL",
               xc_monitor_enable(xch, 2, &port), EINVAL);
    CHECK_FAIL("resume without a ring: ENODEV",
               xc_monitor_resume(xch, 1), ENODEV);
    CHECK_FAIL("disable without a ring: EINVAL",
               xc_monitor_disable(xch, 1), EINVAL);
    CHECK_FAIL("resume on a missing domain: ESRCH",
               xc_monitor_resume(xch, 42), ESRCH);
    CHECK_FAIL("resume on DOMID_INVALID: ESRCH",
               xc_monitor_resume(xch, DOMID_INVALID), ESRCH);
    check_int("DOMID_INVALID vm_event op counted", 1, fake_domid_invalid_ops());

    check_int("enable on an HVM guest", 0, agent_enable(&a, 1));
    check_int("ring exists", 1, fake_ring_exists(1, FAKE_RING_MONITOR));
    check_int("port handed out is the ring's Xen port",
              fake_ring_xen_port(1), a.xen_port);
    check_int("Xen port bound by our agent", 1, fake_ring_xen_port_bound(1));
    check_int("page handed out is mapped", 1, fake_page_is_mapped(a.page));
    PCHECK_FAIL("second enable: EBUSY",
               xc_monitor_enable(xch, 1, &port), EBUSY);
    check_int("a failed enable leaves no page of ours mapped",
              1, fake_pages_mapped());
    check_int("resume with a ring answers 0", 0, xc_monitor_resume(xch, 1));
    CHECK_FAIL("paging enable: ENOSYS (compiled out)",
               xc_mem_paging_enable(xch, 1, &port), ENOSYS);
    CHECK_FAIL("sharing enable: ENOSYS (compiled out)",
               xc_memshr_ring_enable(xch, 1, &port), ENOSYS);
    CHECK_FAIL("paging disable: ENOSYS",
               xc_mem_paging_disable(xch, 1), ENOSYS);
    CHECK_FAIL("paging enable with a NULL port: EINVAL",
               xc_mem_paging_enable(xch, 1, NULL), EINVAL);

    /* The bind set our port pending once (evtchn_bind_interdomain). */
    check_int("bind leaves one notification on the fd", 1, agent_drain_fd(&a));
    CHECK_FAIL("xenevtchn_pending with nothing queued: EAGAIN",
               xenevtchn_pending(a.xce), EAGAIN);
    CHECK_FAIL("notify on a port not ours: ENOTCONN",
               xenevtchn_notify(a.xce, a.lport + 1), ENOTCONN);
    CHECK_FAIL("unbind a port not ours: ENOTCONN",
               xenevtchn_unbind(a.xce, a.lport + 1), ENOTCONN);
    CHECK_FAIL("unbind beyond the channel count: EINVAL",
               xenevtchn_unbind(a.xce, 1u << 20), EINVAL);
    CHECK_FAIL("bind to an already bound Xen port: EINVAL",
               xenevtchn_bind_interdomain(a.xce, 1, a.xen_port), EINVAL);
    CHECK_FAIL("bind to a missing domain: ESRCH",
               xenevtchn_bind_interdomain(a.xce, 42, a.xen_port), ESRCH);
    check_int("one port bound", 1, fake_bound_ports());
    check_int("unbind our port", 0, xenevtchn_unbind(a.xce, a.lport));
    check_int("the Xen port is unbound again", 0, fake_ring_xen_port_bound(1));
    a.lport = xenevtchn_bind_interdomain(a.xce, 1, a.xen_port);
    check_int("and can be bound anew", 1, a.lport > 0);

    check_int("disable", 0, xc_monitor_disable(xch, 1));
    check_int("ring gone", 0, fake_ring_exists(1, FAKE_RING_MONITOR));
    check_int("notify on a port whose Xen end was freed is dropped silently",
              0, xenevtchn_notify(a.xce, a.lport));
    agent_release(&a);
    check_int("no page left mapped", 0, fake_pages_mapped());
    check_int("no evtchn handle left", 0, fake_open_evtchn_handles());
    check_int("no port left bound", 0, fake_bound_ports());

    /* Dying: vm_event_domctl answers 0 and does nothing. */
    fake_domain_kill(3, 0);
    check_int("resume on a dying domain answers 0", 0,
              xc_monitor_resume(xch, 3));
    check_int("disable on a dying domain answers 0", 0,
              xc_monitor_disable(xch, 3));
    page = xc_monitor_enable(xch, 3, &port);
    check_int("enable on a dying domain returns a page", 1, page != NULL);
    check_int("... but no ring", 0, fake_ring_exists(3, FAKE_RING_MONITOR));
    a.xce = xenevtchn_open(NULL, 0);
    CHECK_FAIL("... and a port nobody can bind",
               xenevtchn_bind_interdomain(a.xce, 3, port), EINVAL);
    xenevtchn_close(a.xce);
    if ( page )
        munmap(page, XC_PAGE_SIZE);
    check_int("page released by munmap", 0, fake_pages_mapped());
    {
        xc_domaininfo_t info;

        xc_domain_getinfolist(xch, 3, 1, &info);
        check_int("DOMDYING_dying does not read XEN_DOMINF_dying",
                  0, info.flags & XEN_DOMINF_dying);
        fake_domain_kill(3, 1);
        xc_domain_getinfolist(xch, 3, 1, &info);
        check_int("DOMDYING_dead reads XEN_DOMINF_dying",
                  XEN_DOMINF_dying, info.flags & XEN_DOMINF_dying);
    }
    teardown();
}

static void test_monitor_toggles(void)
{
    unsigned int mask;

    setup();
    fake_domain_add(1, FAKE_DOM_HVM, 1, "hvm1");
    fake_domain_add(2, FAKE_DOM_PV, 1, "pv2");
    CHECK_FAIL("cpuid off when off: EEXIST",
               xc_monitor_cpuid(xch, 1, false), EEXIST);
    check_int("cpuid on (no ring needed)", 0, xc_monitor_cpuid(xch, 1, true));
    CHECK_FAIL("cpuid on when on: EEXIST",
               xc_monitor_cpuid(xch, 1, true), EEXIST);
    check_int("software breakpoint on", 0,
              xc_monitor_software_breakpoint(xch, 1, true));
    CHECK_FAIL("software breakpoint on again: EEXIST",
               xc_monitor_software_breakpoint(xch, 1, true), EEXIST);
    fake_monitor_events(1, &mask);
    check_int("mask has cpuid and breakpoint",
              (1u << XEN_DOMCTL_MONITOR_EVENT_CPUID) |
              (1u << XEN_DOMCTL_MONITOR_EVENT_SOFTWARE_BREAKPOINT), mask);
    CHECK_FAIL("privileged call on x86: EOPNOTSUPP",
               xc_monitor_privileged_call(xch, 1, true), EOPNOTSUPP);
    fake_set_privileged_call_supported(1);
    check_int("privileged call where supported", 0,
              xc_monitor_privileged_call(xch, 1, true));
    CHECK_FAIL("... EEXIST again",
               xc_monitor_privileged_call(xch, 1, true), EEXIST);
    CHECK_FAIL("cpuid on a PV guest: EOPNOTSUPP",
               xc_monitor_cpuid(xch, 2, true), EOPNOTSUPP);
    CHECK_FAIL("cpuid on dom0: EPERM",
               xc_monitor_cpuid(xch, 0, true), EPERM);
    CHECK_FAIL("cpuid on a missing domain: ESRCH",
               xc_monitor_cpuid(xch, 9, true), ESRCH);
    check_int("cpuid event without a ring is ignored",
              FAKE_EVENT_IGNORED, fake_vcpu_event(1, 0, VM_EVENT_REASON_CPUID));
    check_int("... and does not pause the vCPU",
              0, fake_vcpu_vm_event_paused(1, 0));
    teardown();
}

static void test_event_cycle(void)
{
    struct agent a;
    vm_event_request_t req;
    xc_vcpuinfo_t vi;
    xc_domaininfo_t info;
    struct fake_ring_stats st;
    uint64_t t0, t1;
    unsigned int mask;

    setup();
    fake_domain_add(1, FAKE_DOM_HVM, 2, "hvm1");
    if ( agent_enable(&a, 1) )
        bail("agent_enable");
    agent_drain_fd(&a);
    xc_monitor_cpuid(xch, 1, true);

    check_int("cpuid event is put on the ring",
              FAKE_EVENT_PUT, fake_vcpu_event(1, 0, VM_EVENT_REASON_CPUID));
    check_int("vCPU 0 is vm_event-paused", 1, fake_vcpu_vm_event_paused(1, 0));
    check_int("Xen notified our port", 1, agent_drain_fd(&a));
    check_int("agent reads one request", 1, agent_get_request(&a, &req));
    check_int("request version", VM_EVENT_INTERFACE_VERSION, req.version);
    check_int("request reason", VM_EVENT_REASON_CPUID, req.reason);
    check_int("request vcpu_id", 0, req.vcpu_id);
    check_int("request flags VCPU_PAUSED",
              VM_EVENT_FLAG_VCPU_PAUSED, req.flags);
    check_int("no second request", 0, agent_get_request(&a, &req));
    check_int("fake_ring_page is the memory the agent was handed",
              ((vm_event_sring_t *)a.page)->req_prod,
              fake_ring_page(1) ? fake_ring_page(1)->req_prod : 0xdead);

    t0 = fake_vcpu_cpu_time(1, 0);
    fake_domain_step(1, 5);
    t1 = fake_vcpu_cpu_time(1, 0);
    check_int("waiting vCPU's cpu_time does not move", t0, t1);
    check_int("the other vCPU runs", 5 * FAKE_STEP_NS,
              fake_vcpu_cpu_time(1, 1));
    xc_vcpu_getinfo(xch, 1, 0, &vi);
    check_int("waiting vCPU reads online=1 blocked=0 running=0",
              100, vi.online * 100 + vi.blocked * 10 + vi.running);
    CHECK_FAIL("getvcpuinfo beyond max_vcpus: EINVAL",
               xc_vcpu_getinfo(xch, 1, 2, &vi), EINVAL);
    xc_domain_getinfolist(xch, 1, 1, &info);
    check_int("vm_event pause does not set XEN_DOMINF_paused",
              0, info.flags & XEN_DOMINF_paused);
    CHECK_FAIL("a paused vCPU raises no event",
               fake_vcpu_event(1, 0, VM_EVENT_REASON_CPUID), EAGAIN);

    agent_put_response(&a, VM_EVENT_INTERFACE_VERSION - 1, 0,
                       VM_EVENT_FLAG_VCPU_PAUSED);
    check_int("notify", 0, xenevtchn_notify(a.xce, a.lport));
    check_int("wrong-version response leaves the vCPU paused",
              1, fake_vcpu_vm_event_paused(1, 0));
    fake_ring_stats(1, &st);
    check_int("counted as bad version", 1, st.bad_version);
    check_int("Xen still consumed it", 1, st.responses);

    agent_put_response(&a, VM_EVENT_INTERFACE_VERSION, 0, 0);
    xenevtchn_notify(a.xce, a.lport);
    check_int("response without VCPU_PAUSED leaves it paused",
              1, fake_vcpu_vm_event_paused(1, 0));

    agent_put_response(&a, VM_EVENT_INTERFACE_VERSION, 0,
                       VM_EVENT_FLAG_VCPU_PAUSED);
    xenevtchn_notify(a.xce, a.lport);
    check_int("good response unpauses the vCPU",
              0, fake_vcpu_vm_event_paused(1, 0));
    fake_ring_stats(1, &st);
    check_int("one unpause", 1, st.unpaused);
    check_int("three responses for one request: two without a request",
              2, st.without_request);
    check_int("notify resumes counted", 3, st.notify_resumes);
    fake_domain_step(1, 1);
    check_int("vCPU 0 runs again", t1 + FAKE_STEP_NS, fake_vcpu_cpu_time(1, 0));

    /* A reply for a vCPU that is not waiting is skipped. */
    agent_put_response(&a, VM_EVENT_INTERFACE_VERSION, 1,
                       VM_EVENT_FLAG_VCPU_PAUSED);
    agent_put_response(&a, VM_EVENT_INTERFACE_VERSION, 7,
                       VM_EVENT_FLAG_VCPU_PAUSED);
    check_int("resume answers 0", 0, xc_monitor_resume(xch, 1));
    fake_ring_stats(1, &st);
    check_int("reply to a running vCPU skipped", 1, st.not_waiting);
    check_int("vcpu_id out of range skipped", 1, st.bad_vcpu);
    check_int("domctl resume counted", 1, st.domctl_resumes);

    /* Disable with a vCPU waiting for a reply. */
    fake_vcpu_event(1, 1, VM_EVENT_REASON_CPUID);
    check_int("vCPU 1 waits", 1, fake_vcpu_vm_event_paused(1, 1));
    check_int("disable while vCPU 1 waits", 0, xc_monitor_disable(xch, 1));
    check_int("disable does not unpause the waiting vCPU",
              1, fake_vcpu_vm_event_paused(1, 1));
    fake_monitor_events(1, &mask);
    check_int("disable resets the monitor events", 0, mask);
    check_int("our port survives, its Xen end unbound: notify dropped",
              0, xenevtchn_notify(a.xce, a.lport));
    check_int("still frozen", 1, fake_vcpu_vm_event_paused(1, 1));
    xc_domain_getinfolist(xch, 1, 1, &info);
    check_int("domain flags: running (vCPU 0), not blocked",
              XEN_DOMINF_running, info.flags & (XEN_DOMINF_running |
                                                XEN_DOMINF_blocked));
    agent_release(&a);

    /* The rescue of XEN-FACTS.md: a fresh ring, one reply per vCPU. */
    xc_domain_pause(xch, 1);
    if ( agent_enable(&a, 1) )
        bail("agent_enable (rescue)");
    agent_put_response(&a, VM_EVENT_INTERFACE_VERSION, 0,
                       VM_EVENT_FLAG_VCPU_PAUSED);
    agent_put_response(&a, VM_EVENT_INTERFACE_VERSION, 1,
                       VM_EVENT_FLAG_VCPU_PAUSED);
    check_int("rescue resume", 0, xc_monitor_resume(xch, 1));
    check_int("rescued vCPU no longer vm_event-paused",
              0, fake_vcpu_vm_event_paused(1, 1));
    fake_ring_stats(1, &st);
    check_int("fresh ring: slot accounting upset (outstanding < 0)",
              -2, st.outstanding);
    check_int("rescue disable", 0, xc_monitor_disable(xch, 1));
    check_int("unpause", 0, xc_domain_unpause(xch, 1));
    agent_release(&a);
    t0 = fake_vcpu_cpu_time(1, 1);
    fake_domain_step(1, 1);
    check_int("vCPU 1 runs after the rescue", FAKE_STEP_NS,
              fake_vcpu_cpu_time(1, 1) - t0);
    teardown();
}

/*
 * VM_EVENT_FLAG_SET_REGISTERS (arch/x86/vm_event.c vm_event_set_registers,
 * hvm/vm_event.c hvm_vm_event_do_resume): stored only for a vCPU waiting
 * for its reply, written into the vCPU (GPRs, RFLAGS, RIP) when it next
 * runs, and lost if the ring is disabled first (vm_event_cleanup_domain).
 * A stuck vCPU never runs, answered or not.
 */
static void test_set_registers(void)
{
    struct agent a;
    vm_event_request_t req;
    vm_event_response_t rsp;
    struct vm_event_regs_x86 regs;
    struct fake_ring_stats st;
    xc_vcpuinfo_t vi;
    uint64_t t0;

    setup();
    fake_domain_add(1, FAKE_DOM_HVM, 2, "hvm1");
    if ( agent_enable(&a, 1) )
        bail("agent_enable");
    xc_monitor_cpuid(xch, 1, true);

    fake_vcpu_get_regs(1, 0, &regs);
    check_int("a vCPU starts at the kernel's RIP", 0xffffffff81000000ull, regs.rip);
    regs.rip = 0x1000;
    regs.rax = 0xa;
    regs.cr3 = 0x5000;
    fake_vcpu_set_regs(1, 0, &regs);
    fake_vcpu_event(1, 0, VM_EVENT_REASON_CPUID);
    agent_get_request(&a, &req);
    check_int("the request carries the vCPU's RIP", 0x1000, req.data.regs.x86.rip);
    check_int("... and RAX", 0xa, req.data.regs.x86.rax);

    memset(&rsp, 0, sizeof(rsp));
    rsp.version = VM_EVENT_INTERFACE_VERSION;
    rsp.vcpu_id = 0;
    rsp.flags = VM_EVENT_FLAG_VCPU_PAUSED | VM_EVENT_FLAG_SET_REGISTERS;
    rsp.data.regs.x86 = req.data.regs.x86;
    rsp.data.regs.x86.rip = 0x1002;
    rsp.data.regs.x86.rbx = 0xb;
    rsp.data.regs.x86.r15 = 0xf;
    rsp.data.regs.x86.cr3 = 0x9000;
    memcpy(RING_GET_RESPONSE(&a.back, a.back.rsp_prod_pvt), &rsp, sizeof(rsp));
    a.back.rsp_prod_pvt++;
    RING_PUSH_RESPONSES(&a.back);
    xenevtchn_notify(a.xce, a.lport);
    fake_vcpu_get_regs(1, 0, &regs);
    check_int("set registers: stored, not applied before the vCPU runs",
              0x1000, regs.rip);
    check_int("  pending", 1, fake_vcpu_regs_pending(1, 0));
    fake_domain_step(1, 1);
    fake_vcpu_get_regs(1, 0, &regs);
    check_int("  applied as it runs: RIP", 0x1002, regs.rip);
    check_int("  RBX", 0xb, regs.rbx);
    check_int("  R15", 0xf, regs.r15);
    check_int("  control registers are not GPRs: CR3 kept", 0x5000, regs.cr3);
    fake_ring_stats(1, &st);
    check_int("  counted applied", 1, st.regs_applied);

    /* A vCPU not waiting: vm_event_resume does not look at the flags. */
    rsp.vcpu_id = 1;
    memcpy(RING_GET_RESPONSE(&a.back, a.back.rsp_prod_pvt), &rsp, sizeof(rsp));
    a.back.rsp_prod_pvt++;
    RING_PUSH_RESPONSES(&a.back);
    xenevtchn_notify(a.xce, a.lport);
    check_int("set registers for a vCPU not waiting: ignored",
              0, fake_vcpu_regs_pending(1, 1));

    /* Answered, then the ring disabled before it ran: lost. */
    fake_vcpu_event(1, 0, VM_EVENT_REASON_CPUID);
    agent_get_request(&a, &req);
    rsp.vcpu_id = 0;
    rsp.data.regs.x86 = req.data.regs.x86;
    rsp.data.regs.x86.rip = req.data.regs.x86.rip + 2;
    memcpy(RING_GET_RESPONSE(&a.back, a.back.rsp_prod_pvt), &rsp, sizeof(rsp));
    a.back.rsp_prod_pvt++;
    RING_PUSH_RESPONSES(&a.back);
    xc_domain_pause(xch, 1);
    xenevtchn_notify(a.xce, a.lport);
    check_int("disable", 0, xc_monitor_disable(xch, 1));
    xc_domain_unpause(xch, 1);
    fake_domain_step(1, 1);
    fake_vcpu_get_regs(1, 0, &regs);
    check_int("disabled before it ran: the registers are dropped",
              0x1002, regs.rip);
    fake_ring_stats(1, &st);
    check_int("  counted dropped", 1, st.regs_dropped);
    check_int("  and not applied", 1, st.regs_applied);
    agent_release(&a);

    /* Stuck: runnable to every rule the model shows, never on a pCPU. */
    t0 = fake_vcpu_cpu_time(1, 1);
    check_int("stuck", 0, fake_vcpu_set_stuck(1, 1, 1));
    fake_domain_step(1, 3);
    xc_vcpu_getinfo(xch, 1, 1, &vi);
    check_int("a stuck vCPU reads online=1 blocked=0 running=0",
              100, vi.online * 100 + vi.blocked * 10 + vi.running);
    check_int("  its cpu_time still", 0, vi.cpu_time - t0);
    CHECK_FAIL("  and it raises no event",
               fake_vcpu_event(1, 1, VM_EVENT_REASON_CPUID), EAGAIN);
    fake_vcpu_set_stuck(1, 1, 0);
    fake_domain_step(1, 1);
    check_int("unstuck, it runs", FAKE_STEP_NS, fake_vcpu_cpu_time(1, 1) - t0);
    teardown();
}

static void test_pause_count(void)
{
    xc_domaininfo_t info;
    unsigned int i;
    int rc = 0;

    setup();
    fake_domain_add(1, FAKE_DOM_HVM, 1, "hvm1");
    for ( i = 0; i < 255 && !rc; i++ )
        rc = xc_domain_pause(xch, 1);
    check_int("255 pause references", 0, rc);
    check_int("count is 255", 255, fake_pause_count(1));
    CHECK_FAIL("the 256th: EOVERFLOW",
               xc_domain_pause(xch, 1), EOVERFLOW);
    xc_domain_getinfolist(xch, 1, 1, &info);
    check_int("XEN_DOMINF_paused set", XEN_DOMINF_paused,
              info.flags & XEN_DOMINF_paused);
    {
        uint32_t port;

        PCHECK_FAIL("enable at 255 references: EOVERFLOW (its own pause)",
                   xc_monitor_enable(xch, 1, &port), EOVERFLOW);
    }
    for ( i = 0; i < 255 && !rc; i++ )
        rc = xc_domain_unpause(xch, 1);
    check_int("255 unpauses", 0, rc);
    CHECK_FAIL("unpause below zero: EINVAL",
               xc_domain_unpause(xch, 1), EINVAL);
    xc_domain_getinfolist(xch, 1, 1, &info);
    check_int("XEN_DOMINF_paused clear", 0, info.flags & XEN_DOMINF_paused);
    CHECK_FAIL("pausing dom0 (ourselves): EINVAL",
               xc_domain_pause(xch, 0), EINVAL);
    CHECK_FAIL("pausing a missing domain: ESRCH",
               xc_domain_pause(xch, 33), ESRCH);
    xc_domain_pause(xch, 1);
    CHECK_FAIL("controller-paused vCPU raises no event",
               fake_vcpu_event(1, 0, VM_EVENT_REASON_GUEST_REQUEST), EAGAIN);
    fake_domain_step(1, 3);
    check_int("controller-paused vCPU does not run", 0,
              (long long)fake_vcpu_cpu_time(1, 0));
    xc_domain_unpause(xch, 1);
    teardown();
}

static void test_ring_full(void)
{
    struct agent a;
    vm_event_request_t req;
    struct fake_ring_stats st;
    unsigned int i, got;
    int rc;

    setup();
    /* 10 vCPUs, sync events: 8 fill the ring, the 9th sleeps on the wq. */
    fake_domain_add(1, FAKE_DOM_HVM, 10, "big");
    if ( agent_enable(&a, 1) )
        bail("agent_enable");
    xc_monitor_cpuid(xch, 1, true);
    for ( i = 0, got = 0; i < 8; i++ )
        got += fake_vcpu_event(1, i, VM_EVENT_REASON_CPUID) == FAKE_EVENT_PUT;
    check_int("8 requests fill the ring", 8, got);
    check_int("9th vCPU finds no slot and waits on the queue",
              FAKE_EVENT_QUEUED, fake_vcpu_event(1, 8, VM_EVENT_REASON_CPUID));
    check_int("it sits on the wait queue", 1, fake_vcpu_on_wait_queue(1, 8));
    CHECK_FAIL("disable with a waiter: EBUSY",
               xc_monitor_disable(xch, 1), EBUSY);
    check_int("the ring survives the EBUSY", 1,
              fake_ring_exists(1, FAKE_RING_MONITOR));
    {
        unsigned int mask;

        fake_monitor_events(1, &mask);
        check_int("... but the monitor events were reset (domctl cleanup)",
                  0, mask);
    }
    xc_monitor_cpuid(xch, 1, true);
    while ( agent_get_request(&a, &req) )
        agent_put_response(&a, VM_EVENT_INTERFACE_VERSION, req.vcpu_id,
                           VM_EVENT_FLAG_VCPU_PAUSED);
    xenevtchn_notify(a.xce, a.lport);
    check_int("answers free the slots: vCPU 8 woken off the queue",
              0, fake_vcpu_on_wait_queue(1, 8));
    fake_domain_step(1, 1);
    check_int("when it runs it puts its request and waits for a reply",
              1, fake_vcpu_vm_event_paused(1, 8));
    check_int("its request is on the ring", 1, agent_get_request(&a, &req));
    check_int("from vCPU 8", 8, req.vcpu_id);
    agent_put_response(&a, VM_EVENT_INTERFACE_VERSION, 8,
                       VM_EVENT_FLAG_VCPU_PAUSED);
    xenevtchn_notify(a.xce, a.lport);
    check_int("the test's waiter", 0, fake_ring_set_waiters(1, 1));
    CHECK_FAIL("blocks disable (EBUSY)",
               xc_monitor_disable(xch, 1), EBUSY);
    fake_ring_set_waiters(1, 0);
    check_int("disable once the queue is empty", 0, xc_monitor_disable(xch, 1));
    agent_release(&a);

    /* 4 vCPUs, async events: the ring-full flag (vm_event_mark_and_pause). */
    fake_domain_add(2, FAKE_DOM_HVM, 4, "small");
    if ( agent_enable(&a, 2) )
        bail("agent_enable");
    for ( i = 0; i < 4; i++ )
        fake_vcpu_event_async(2, 0, VM_EVENT_REASON_GUEST_REQUEST);
    check_int("4 requests, 4 slots left for 4 vCPUs: not paused",
              0, fake_vcpu_ring_full_paused(2, 0));
    rc = fake_vcpu_event_async(2, 0, VM_EVENT_REASON_GUEST_REQUEST);
    check_int("5th async request put", FAKE_EVENT_PUT, rc);
    check_int("3 slots < 4 vCPUs: producer paused ring-full",
              1, fake_vcpu_ring_full_paused(2, 0));
    check_int("async: not vm_event-paused", 0, fake_vcpu_vm_event_paused(2, 0));
    fake_ring_stats(2, &st);
    check_int("ved->blocked", 1, st.ring_full_paused);
    agent_get_request(&a, &req);
    check_int("async request has no VCPU_PAUSED flag", 0,
              req.flags & VM_EVENT_FLAG_VCPU_PAUSED);
    agent_put_response(&a, VM_EVENT_INTERFACE_VERSION, 0, 0);
    xenevtchn_notify(a.xce, a.lport);
    check_int("a consumed response frees a slot and wakes it",
              0, fake_vcpu_ring_full_paused(2, 0));
    fake_vcpu_event_async(2, 1, VM_EVENT_REASON_GUEST_REQUEST);
    check_int("vCPU 1 paused ring-full", 1, fake_vcpu_ring_full_paused(2, 1));
    check_int("disable", 0, xc_monitor_disable(xch, 2));
    check_int("disable releases ring-full vCPUs",
              0, fake_vcpu_ring_full_paused(2, 1));
    agent_release(&a);
    teardown();
}

static unsigned int hook_calls;

static void count_hook(const char *fn, void *arg)
{
    (void)fn;
    (void)arg;
    hook_calls++;
}

/* The operation a sweep enumerates: a whole agent life. */
static int agent_life(uint32_t domid)
{
    xenevtchn_handle *xce;
    uint32_t port;
    void *page;
    int lport, rc = -1;

    page = xc_monitor_enable(xch, domid, &port);
    if ( !page )
        return -1;
    xce = xenevtchn_open(NULL, 0);
    if ( !xce )
        goto out_page;
    lport = xenevtchn_bind_interdomain(xce, domid, port);
    if ( lport < 0 )
        goto out_xce;
    if ( xenevtchn_unbind(xce, lport) )
        goto out_xce;
    rc = 0;
 out_xce:
    xenevtchn_close(xce);
 out_page:
    munmap(page, XC_PAGE_SIZE);
    if ( xc_monitor_disable(xch, domid) )
        rc = -1;

    return rc;
}

static void test_fault_injection(void)
{
    unsigned int i, n, ok;
    const char *names[8];

    setup();
    fake_domain_add(1, FAKE_DOM_HVM, 1, "hvm1");

    fake_fail_func("xc_domain_pause", 1, EACCES);
    CHECK_FAIL("first xc_domain_pause fails as told",
               xc_domain_pause(xch, 1), EACCES);
    check_int("and changes nothing", 0, fake_pause_count(1));
    check_int("the next one succeeds", 0, xc_domain_pause(xch, 1));
    xc_domain_unpause(xch, 1);

    fake_fail_func("xc_vcpu_getinfo", 0, EIO);
    {
        xc_vcpuinfo_t vi;

        CHECK_FAIL("n == 0 fails every call (1)",
                   xc_vcpu_getinfo(xch, 1, 0, &vi), EIO);
        CHECK_FAIL("n == 0 fails every call (2)",
                   xc_vcpu_getinfo(xch, 1, 0, &vi), EIO);
        fake_fail_clear();
        check_int("until cleared", 0, xc_vcpu_getinfo(xch, 1, 0, &vi));
    }

    fake_fail_nth_call(2, ENOMEM);
    check_int("nth: call 1 passes", 0, xc_monitor_cpuid(xch, 1, true));
    CHECK_FAIL("nth: call 2 fails",
               xc_monitor_cpuid(xch, 1, false), ENOMEM);
    check_int("fired count", 4, fake_fail_fired());

    fake_fail_func("xs_open", 1, EACCES);
    PCHECK_FAIL("pointer functions answer NULL",
               xs_open(0), EACCES);
    fake_fail_func("xc_monitor_enable", 1, EFAULT);
    {
        uint32_t port;

        PCHECK_FAIL("failed enable: NULL with the errno",
                   xc_monitor_enable(xch, 1, &port), EFAULT);
    }
    check_int("failed enable created no ring",
              0, fake_ring_exists(1, FAKE_RING_MONITOR));
    check_int("failed enable mapped no page", 0, fake_pages_mapped());

    /* Enumerate an operation's calls, then fail each in turn. */
    fake_log_mark();
    check_int("agent life succeeds", 0, agent_life(1));
    n = fake_log_count();
    check_int("its calls are logged", 6, n);
    for ( i = 0; i < n && i < 8; i++ )
        names[i] = fake_log_name(i);
    check_str("call 1", "xc_monitor_enable", names[0]);
    check_str("call 3", "xenevtchn_bind_interdomain", names[2]);
    check_str("call 6", "xc_monitor_disable", names[5]);
    for ( i = 0, ok = 0; i < n; i++ )
    {
        int rc;

        fake_fail_clear();
        fake_fail_nth_call(i + 1, EIO);
        rc = agent_life(1);
        /*
         * Whatever failed, nothing may be left behind; the operation fails
         * unless the failing call was a close (which closes anyway and
         * whose answer agent_life ignores).
         */
        if ( (rc == -1 || !strcmp(names[i], "xenevtchn_close")) &&
             fake_open_evtchn_handles() == 0 && fake_bound_ports() == 0 &&
             fake_pages_mapped() == 0 )
            ok++;
        if ( fake_ring_exists(1, FAKE_RING_MONITOR) == 1 )
            xc_monitor_disable(xch, 1);
    }
    fake_fail_clear();
    check_int("each failing call makes the operation fail, leaking nothing",
              n, ok);
    /* One failed enable above, the first run, then one per sweep run. */
    check_int("call counts since reset: one enable per run", 2 + n,
              fake_call_count("xc_monitor_enable"));

    fake_set_call_hook(count_hook, NULL);
    hook_calls = 0;
    xc_vm_event_get_version(xch);
    check_int("hook runs on each call", 1, hook_calls);
    fake_set_call_hook(NULL, NULL);

    fake_set_autostep(2);
    xc_vm_event_get_version(xch);
    check_int("autostep advances time on each call", 2 * FAKE_STEP_NS,
              (long long)fake_vcpu_cpu_time(1, 0));
    fake_set_autostep(0);

    check_int("vm_event version", 7, xc_vm_event_get_version(xch));
    fake_set_vm_event_version(6);
    check_int("settable", 6, xc_vm_event_get_version(xch));
    check_int("Xen version 4.17", (4 << 16) | 17,
              xc_version(xch, XENVER_version, NULL));
    check_int("one xc handle open", 1, fake_open_xc_handles());
    teardown();
    check_int("none after close", 0, fake_open_xc_handles());
    check_int("no bad handle seen", 0, fake_bad_handle_calls());
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_domains_and_xenstore();
    test_enable_errors();
    test_monitor_toggles();
    test_event_cycle();
    test_set_registers();
    test_pause_count();
    test_ring_full();
    test_fault_injection();
    fake_reset();
    printf("1..%u\n", t_n);

    return t_failed ? 1 : 0;
}
