/*
 * itest.h: helpers for the integration tests that run in dom0 of a real
 * Xen host (tests/xenhost).  Each test is one program; its exit code is
 * the verdict, as XTF and automake have them: 0 success, 1 failure (the
 * code under test or Xen misbehaved), 77 skip, 99 error (the test or its
 * environment is wrong).  The rig passes DOMID (the tick guest), GUEST_LOG
 * (its console log) and GUEST_NAME.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#ifndef ITEST_H
#define ITEST_H

#include <stdint.h>

#define IT_PASS  0
#define IT_FAIL  1
#define IT_SKIP  77
#define IT_ERROR 99

/* Prints "FAIL: ..." / "ERROR: ..." / "SKIP: ..." and exits. */
void it_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void it_error(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void it_skip(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void it_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The guest under test, from the environment (error if unset). */
uint32_t it_domid(void);
const char *it_guest_log(void);

/* The last "tick N" the guest printed, or -1 if none yet. */
long it_last_tick(void);

/*
 * Waits up to secs for the tick counter to advance by at least n.
 * Returns the ticks seen advancing (>= n on success).
 */
long it_ticks_advance(long n, int secs);

/*
 * The state column of `xl list DOMID` ("-b----", "--p---", ...), into buf;
 * returns 0, or -1 if xl failed.
 */
int it_xl_state(uint32_t domid, char *buf, unsigned int len);

/* Runs a shell command; returns its exit status (or -1). */
int it_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Milliseconds on the monotonic clock. */
uint64_t it_now_ms(void);

#endif
