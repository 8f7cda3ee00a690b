/*
 * xenhost-load: load for the xenhost test guest, started by its /init when
 * the kernel command line says xenhost.load=MODE.  Static, no library but
 * libc: it runs in the guest's busybox initramfs.
 *
 *   cpuid   one thread per online CPU, pinned, running CPUID in a loop
 *           (three leaves, then a busy pause): every vCPU keeps a monitor agent's ring busy, so with
 *           more vCPUs than ring slots (8) vCPUs queue on Xen's wait queue.
 *           Each thread checks every result against what the same leaf gave
 *           at start: a vCPU resumed with wrong registers (an answer that
 *           lost its CPUID result, or re-ran CPUID with another leaf) shows
 *           up as "cpuid-mismatch ...".
 *   int3    one thread executing INT3 under a SIGTRAP handler: with Xen's
 *           software-breakpoint monitor on, every INT3 is an event, and the
 *           guest only sees its #BP if the agent re-injects it.
 *
 * Prints "load MODE: N" every 2 s (N: loop iterations done, all threads),
 * "cpuid-ok N" with the CPUID checks passed, and "bp-ok N" with the
 * SIGTRAPs taken.  A thread that makes no progress for 2 s is not named:
 * the tick loop already shows a frozen guest.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_THREADS 64
#define PACE_LOOPS  2000000ul   /* about 1 ms natively, tens under TCG */

struct leaf {
    uint32_t leaf, a, b, c, d;
};

static volatile unsigned long iterations[MAX_THREADS];
static volatile unsigned long checks_ok;
static volatile unsigned long mismatches;
static volatile unsigned long traps;

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    __asm__ volatile ( "cpuid"
                       : "=a" (*a), "=b" (*b), "=c" (*c), "=d" (*d)
                       : "a" (leaf), "c" (0) );
}

/*
 * Leaves whose results do not change while the guest runs: leaf 0 (vendor,
 * maximum leaf) and the extended maximum.  Leaf 1's EAX (family, model,
 * stepping) is stable too; its EBX holds the APIC id of the CPU asking,
 * which is why the threads are pinned and each keeps its own expectations.
 */
static void *cpuid_thread(void *arg)
{
    unsigned int self = (unsigned int)(uintptr_t)arg;
    struct leaf want[3] = { { 0, 0, 0, 0, 0 }, { 1, 0, 0, 0, 0 }, { 0x80000000u, 0, 0, 0, 0 } };
    cpu_set_t set;
    unsigned int i;

    CPU_ZERO(&set);
    CPU_SET(self, &set);
    sched_setaffinity(0, sizeof(set), &set);
    for ( i = 0; i < 3; i++ )
        cpuid(want[i].leaf, &want[i].a, &want[i].b, &want[i].c, &want[i].d);

    for ( ;; )
    {
        for ( i = 0; i < 3; i++ )
        {
            uint32_t a, b, c, d;
            uint32_t wa = want[i].a;

            cpuid(want[i].leaf, &a, &b, &c, &d);
            if ( want[i].leaf == 1 )
            {
                /* EAX only: EBX/ECX/EDX of leaf 1 carry per-CPU and OS bits */
                if ( a != wa )
                    goto bad;
            }
            else if ( a != wa || b != want[i].b || c != want[i].c || d != want[i].d )
                goto bad;
            __atomic_add_fetch(&checks_ok, 1, __ATOMIC_RELAXED);
            continue;
 bad:
            __atomic_add_fetch(&mismatches, 1, __ATOMIC_RELAXED);
            printf("cpuid-mismatch cpu=%u leaf=%#x got=%08x:%08x:%08x:%08x want=%08x:%08x:%08x:%08x\n",
                   self, want[i].leaf, a, b, c, d, want[i].a, want[i].b, want[i].c, want[i].d);
            fflush(stdout);
        }
        /*
         * A busy pause between rounds, not a sleep: under QEMU's TCG,
         * guests with many vCPUs triple-fault now and then with no agent
         * at all, the sooner the more VM exits they make, and a sleep adds
         * a halt and a wake-up to every round (docs/findings.md #6).  Tens
         * of rounds a second on each vCPU still fill a slow agent's ring.
         */
        {
            volatile unsigned long k;

            for ( k = 0; k < PACE_LOOPS; k++ )
                ;
        }
        iterations[self]++;
    }
    return NULL;
}

static void on_trap(int sig)
{
    (void)sig;
    __atomic_add_fetch(&traps, 1, __ATOMIC_RELAXED);
}

static void *int3_thread(void *arg)
{
    unsigned int self = (unsigned int)(uintptr_t)arg;

    for ( ;; )
    {
        __asm__ volatile ( "int3" );
        iterations[self]++;
        /* a few events a second are plenty for a breakpoint agent */
        usleep(100000);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned int threads, i;
    void *(*fn)(void *);

    if ( !strcmp(mode, "cpuid") )
    {
        fn = cpuid_thread;
        threads = n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (unsigned int)n;
    }
    else if ( !strcmp(mode, "int3") )
    {
        struct sigaction sa;

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_trap;
        sigaction(SIGTRAP, &sa, NULL);
        fn = int3_thread;
        threads = 1;
    }
    else
    {
        fprintf(stderr, "usage: xenhost-load cpuid|int3\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    for ( i = 0; i < threads; i++ )
    {
        pthread_t t;

        if ( pthread_create(&t, NULL, fn, (void *)(uintptr_t)i) )
        {
            fprintf(stderr, "xenhost-load: cannot start thread %u\n", i);
            return 1;
        }
    }
    printf("load %s: %u thread(s)\n", mode, threads);
    for ( ;; )
    {
        unsigned long total = 0;

        sleep(2);
        for ( i = 0; i < threads; i++ )
            total += iterations[i];
        if ( fn == cpuid_thread )
            printf("load cpuid: %lu cpuid-ok %lu mismatches %lu\n", total, checks_ok, mismatches);
        else
            printf("load int3: %lu bp-ok %lu\n", total, traps);
    }
}
