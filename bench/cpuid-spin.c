/*
 * cpuid-spin: runs CPUID in a loop, for ever.  It is the event source of
 * `make bench`: it runs inside the benchmark guest (bench/guest-init
 * starts one per vCPU asked for, pinned with taskset), and with CPUID
 * monitoring on, every CPUID it runs is a synchronous vm_event request
 * that holds its vCPU until an agent in dom0 answers.
 *
 *   cpuid-spin          back to back: the loop runs exactly as fast as the
 *                       agent answers, so the agent's throughput is what
 *                       is measured, not the guest's
 *   cpuid-spin PAUSE_US sleeps PAUSE_US microseconds after each CPUID: a
 *                       request still comes soon after each answer, but
 *                       the guest leaves the CPUs to dom0 (the emulated
 *                       host has 2 pCPUs for dom0 and up to 8 guest vCPUs)
 *
 * Built static: the guest has no libc.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static inline void cpuid(uint32_t leaf)
{
    uint32_t a = leaf, b, c = 0, d;

    __asm__ __volatile__("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
}

int main(int argc, char **argv)
{
    long pause_us = argc > 1 ? atol(argv[1]) : 0;
    struct timespec ts = { pause_us / 1000000, (pause_us % 1000000) * 1000 };

    for ( ;; )
    {
        cpuid(0);
        if ( pause_us > 0 )
            nanosleep(&ts, NULL);
    }
}
