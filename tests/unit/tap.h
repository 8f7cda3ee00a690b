/*
 * tap.h: a minimal TAP producer for the unit tests, read by automake's
 * tap-driver.sh.  A failed check prints what was expected and what was
 * seen.  Verdicts as XTF has them: a check failing is a failure of the
 * code under test; tap_bail() is an error of the test or its environment.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#ifndef TAP_H
#define TAP_H

#include <stdio.h>
#include <stdlib.h>

static unsigned int tap_n, tap_failed;

static inline void tap_plan_done(void)
{
    printf("1..%u\n", tap_n);
}

static inline int tap_ok(int ok, const char *name)
{
    printf("%s %u - %s\n", ok ? "ok" : "not ok", ++tap_n, name);
    if ( !ok )
        tap_failed++;
    fflush(stdout);
    return ok;
}

#define tap_diag(...) do { printf("# " __VA_ARGS__); printf("\n"); } while ( 0 )

#define tap_bail(...)                                               \
    do {                                                            \
        printf("Bail out! " __VA_ARGS__);                           \
        printf("\n");                                               \
        exit(99);                                                   \
    } while ( 0 )

/* Checks that two integers are equal, printing both when they are not. */
#define tap_is(got, want, name)                                               \
    do {                                                                      \
        long long got_ = (long long)(got), want_ = (long long)(want);         \
        if ( !tap_ok(got_ == want_, name) )                                   \
            tap_diag("  %s: expected %lld, got %lld (%s)", name, want_, got_, \
                     #got);                                                   \
    } while ( 0 )

#define tap_cmp(got, op, want, name)                                          \
    do {                                                                      \
        long long got_ = (long long)(got), want_ = (long long)(want);         \
        if ( !tap_ok(got_ op want_, name) )                                   \
            tap_diag("  %s: expected %s %s %lld, got %lld", name, #got, #op,  \
                     want_, got_);                                            \
    } while ( 0 )

static inline int tap_done(void)
{
    tap_plan_done();
    return tap_failed ? 1 : 0;
}

#endif
