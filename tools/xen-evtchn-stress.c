/*
 * xen-evtchn-stress: exercise, from dom0, the interdomain event channel to
 * a vm_event ring's Xen-consumer port, alone and racing the ring's
 * teardown, with XTF-style verdicts.  See man/xen-evtchn-stress.8; the
 * tool itself is in stress-*.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include "stress.h"

int main(int argc, char **argv)
{
    return stress_main(argc, argv);
}
