/*
 * xen-vmevent-drain: the administrator's command to make a guest safely
 * free of vm_event, whatever state its agent left it in.  See
 * xen-vmevent-drain(8); the command itself is drain_main() (drain-main.c),
 * kept apart so that the unit tests can run it against the fake Xen.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include "drain.h"

int main(int argc, char **argv)
{
    return drain_main(argc, argv);
}
