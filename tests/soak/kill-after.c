/*
 * kill-after: an LD_PRELOAD shim for the soak's set B.  With
 * KILL_AFTER=xc_domain_pause (or xc_monitor_disable) in its environment, a
 * process SIGKILLs itself the moment its first successful call of that
 * libxenctrl function returns: a xen-vmevent-drain stop killed exactly
 * inside its rescue's pause window (just after its pause, or just after
 * the dead ring's disable), where a timed kill lands about one trial in
 * six under QEMU.  Test code, never installed.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xenctrl.h>

static void kill_if(const char *call)
{
    const char *want = getenv("KILL_AFTER");

    if ( want && !strcmp(want, call) )
        raise(SIGKILL);
}

int xc_domain_pause(xc_interface *xch, uint32_t domid)
{
    static int (*real)(xc_interface *, uint32_t);
    int rc;

    if ( !real )
        real = (int (*)(xc_interface *, uint32_t))dlsym(RTLD_NEXT, "xc_domain_pause");
    rc = real(xch, domid);
    if ( rc == 0 )
        kill_if("xc_domain_pause");
    return rc;
}

int xc_monitor_disable(xc_interface *xch, uint32_t domid)
{
    static int (*real)(xc_interface *, uint32_t);
    int rc;

    if ( !real )
        real = (int (*)(xc_interface *, uint32_t))dlsym(RTLD_NEXT, "xc_monitor_disable");
    rc = real(xch, domid);
    if ( rc == 0 )
        kill_if("xc_monitor_disable");
    return rc;
}
