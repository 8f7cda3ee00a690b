/*
 * evidence-fixture.h: the world of test-evidence and test-drain-evidence.
 * The guest with its own channels (xenstore, console, a vif, named in
 * xenstore as the toolstack and its frontends write them), and a foreign
 * agent played as xen-access does it: xc_monitor_enable from handles of
 * its own, then xenevtchn_bind_interdomain to the ring's port; killing it
 * is closing its /dev/xen/evtchn handle (the driver closes its ports).
 * Also a /proc of its own for the process scan.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#ifndef EVIDENCE_FIXTURE_H
#define EVIDENCE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"

#include <xenevtchn.h>

static char proc_root[] = "/tmp/test-evidence-proc-XXXXXX";
static uint32_t store_port, console_port, vif_port;

/* The foreign agent: its handles and its dom0 port. */
static xc_interface *agent_xch;
static xenevtchn_handle *agent_xce;
static uint32_t ring_port;
static int agent_port;

/*
 * A /proc of our own: xen-access (evtchn open, privcmd mapped), xenstored
 * (both devices open, nothing mapped) and a shell (neither).
 */
static inline void proc_file(const char *pid, const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s/%s", proc_root, pid, name);
    if ( !(f = fopen(path, "w")) )
        tap_bail("%s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
}

/* A process: its comm, and its fds, each a symlink to the device named. */
static inline void proc_process(const char *pid, const char *comm, const char *fd1, const char *fd2)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", proc_root, pid);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/%s/fd", proc_root, pid);
    mkdir(path, 0700);
    proc_file(pid, "comm", comm);
    snprintf(path, sizeof(path), "%s/%s/fd/3", proc_root, pid);
    if ( fd1 && symlink(fd1, path) )
        tap_bail("symlink %s: %s", path, strerror(errno));
    snprintf(path, sizeof(path), "%s/%s/fd/9", proc_root, pid);
    if ( fd2 && symlink(fd2, path) )
        tap_bail("symlink %s: %s", path, strerror(errno));
}

static inline void make_proc(void)
{
    if ( !mkdtemp(proc_root) )
        tap_bail("mkdtemp: %s", strerror(errno));
    proc_process("4242", "xen-access\n", "/dev/xen/privcmd", "/dev/xen/evtchn");
    proc_file("4242", "maps",
              "55d0c0000000-55d0c0001000 r--p 00000000 08:01 42 /usr/lib/xen-4.17/bin/xen-access\n"
              "7ffba117f000-7ffba1180000 rw-s 00000000 00:05 112                        /dev/xen/privcmd\n");
    proc_process("102", "xenstored\n", "/dev/xen/privcmd", "/dev/xen/evtchn");
    proc_file("102", "maps", "55d0c0000000-55d0c0001000 r--p 00000000 08:01 43 /usr/sbin/xenstored\n");
    proc_process("77", "sh\n", NULL, NULL);
    proc_file("77", "maps", "");
}

static inline void remove_proc(void)
{
    char cmd[256];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", proc_root);
    if ( system(cmd) != 0 )
        tap_diag("could not remove %s", proc_root);
}

/*
 * The world: the guest with its own channels (xenstore, console, a vif),
 * as the toolstack and its frontends record them, and a request of vCPU 0
 * waiting on a ring that xen-access enabled and bound.
 */
static void guest_channels(void)
{
    uint32_t d0;
    char val[16];

    if ( fake_guest_channel(GUEST, &store_port, &d0) ||
         fake_guest_channel(GUEST, &console_port, &d0) ||
         fake_guest_channel(GUEST, &vif_port, &d0) )
        tap_bail("fake_guest_channel: %s", strerror(errno));
    snprintf(val, sizeof(val), "%u", store_port);
    fake_xs_write("/local/domain/5/store/port", val);
    snprintf(val, sizeof(val), "%u", console_port);
    fake_xs_write("/local/domain/5/console/port", val);
    snprintf(val, sizeof(val), "%u", vif_port);
    fake_xs_write("/local/domain/5/device/vif/0/event-channel", val);
}

static void foreign_agent_world(unsigned int nr_vcpus)
{
    void *page;

    vmeventctl_close(fx_world(nr_vcpus));
    guest_channels();
    agent_xch = xc_interface_open(NULL, NULL, 0);
    agent_xce = xenevtchn_open(NULL, 0);
    page = agent_xch ? xc_monitor_enable(agent_xch, GUEST, &ring_port) : NULL;
    if ( !page || !agent_xce )
        tap_bail("the foreign agent: %s", strerror(errno));
    munmap(page, XC_PAGE_SIZE);
    agent_port = xenevtchn_bind_interdomain(agent_xce, GUEST, ring_port);
    if ( agent_port < 0 || xc_monitor_cpuid(agent_xch, GUEST, 1) )
        tap_bail("the foreign agent's bind: %s", strerror(errno));
    fake_vcpu_event(GUEST, 0, VM_EVENT_REASON_CPUID);
    fake_set_autostep(1);
}

/* SIGKILL of the agent: the driver closes its ports (evtchn_release). */
static void kill_agent(void)
{
    xenevtchn_close(agent_xce);
    xc_interface_close(agent_xch);
    agent_xce = NULL;
    agent_xch = NULL;
}

/* Nothing Xen-side changed by a refusal. */
struct snapshot {
    unsigned int pauses, disables, enables;
    int ring, pause_count, waiting, bound;
};

static void snap(struct snapshot *s)
{
    s->pauses = fake_call_count("xc_domain_pause");
    s->disables = fake_call_count("xc_monitor_disable");
    s->enables = fake_call_count("xc_monitor_enable");
    s->ring = fake_ring_exists(GUEST, FAKE_RING_MONITOR);
    s->pause_count = fake_pause_count(GUEST);
    s->waiting = (int)fx_waiting(1);
    s->bound = fake_ring_xen_port_bound(GUEST);
}

static int unchanged(const struct snapshot *s)
{
    struct snapshot now;

    snap(&now);
    return !memcmp(&now, s, sizeof(now)) && !fx_record_says(NULL);
}

#endif
