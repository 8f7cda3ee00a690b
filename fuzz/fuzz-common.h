/*
 * fuzz-common.h: what the libFuzzer targets in fuzz/ share.  Each target
 * links the library's sources against the fake Xen of the unit tests
 * (tests/unit/fake-xen.c), so an input drives the real code of
 * libvmeventctl against a model of Xen 4.17 that can be told anything.
 *
 * A target checks more than "no crash": after each input it checks what
 * the library promises to leave behind (no mapping, bound port, pause
 * reference, handle or record of ours), and fz_fail() aborts when a
 * promise is broken, so libFuzzer keeps the input as a crash.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xentoollog.h>

#include "vmeventctl.h"
#include "fake-xen.h"

#define FZ_GUEST      5u
#define FZ_RECORD     "/local/domain/0/libvmeventctl/5/monitor"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A broken promise of the library: the input is kept as a crash. */
static void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fz_fail(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    int n;

    n = snprintf(msg, sizeof(msg), "fuzz: invariant broken: ");
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", msg);
    fflush(stderr);
    abort();
}

/*
 * The library logs every step at XTL_DETAIL: keep that on, so the format
 * strings of the messages run with what the input put in them, but write
 * them nowhere.  Set FUZZ_VERBOSE=1 to see them when replaying a crash.
 */
static xentoollog_logger *fz_logger(void)
{
    static xentoollog_logger_stdiostream *lg;

    if ( !lg )
    {
        const char *v = getenv("FUZZ_VERBOSE");
        FILE *f = v && *v && strcmp(v, "0") ? stderr : fopen("/dev/null", "we");

        if ( !f )
            abort();
        lg = xtl_createlogger_stdiostream(f, XTL_DEBUG, 0);
        if ( !lg )
            abort();
    }
    return (xentoollog_logger *)lg;
}

/* Reads the input a byte at a time; 0 once it is used up. */
struct fz_in {
    const uint8_t *p;
    size_t n;
};

static inline uint8_t fz_byte(struct fz_in *in)
{
    uint8_t b;

    if ( !in->n )
        return 0;
    b = *in->p++;
    in->n--;
    return b;
}

static inline uint32_t fz_u32(struct fz_in *in)
{
    uint32_t v = 0;
    unsigned int i;

    for ( i = 0; i < 4; i++ )
        v |= (uint32_t)fz_byte(in) << (8 * i);
    return v;
}

/*
 * A malloc'd string of up to max bytes taken from the input, ending at
 * the first NUL (consumed) or at max.  Never NULL.
 */
static inline char *fz_str(struct fz_in *in, size_t max)
{
    size_t len = 0;
    char *s;

    while ( len < in->n && len < max && in->p[len] )
        len++;
    s = malloc(len + 1);
    if ( !s )
        abort();
    memcpy(s, in->p, len);
    s[len] = '\0';
    in->p += len;
    in->n -= len;
    if ( in->n && len < max )
    {
        in->p++;  /* the NUL */
        in->n--;
    }
    return s;
}

/*
 * Fault injection: the nth faked Xen call from now fails, with one of the
 * errnos that call really returns (fake_real_errnos()).
 */
static struct {
    unsigned int countdown;
    unsigned int pick;
    const char *failed_fn;
} fz_fault;

static void fz_fault_hook(const char *fn, void *arg)
{
    const int *errs;
    unsigned int n;

    (void)arg;
    if ( !fz_fault.countdown || --fz_fault.countdown )
        return;
    errs = fake_real_errnos(fn);
    if ( errs )
    {
        for ( n = 0; n < 6 && errs[n]; n++ )
            ;
        /* n == 1: this very call (fake-xen.h: fake_fail_func). */
        fake_fail_func(fn, 1, errs[fz_fault.pick % n]);
        fz_fault.failed_fn = fn;
        return;
    }
    /* A call that cannot fail, or one the table does not know: none. */
}

/* The nth faked call from now fails (0: none); pick chooses the errno. */
static void fz_fault_arm(unsigned int nth, unsigned int pick)
{
    memset(&fz_fault, 0, sizeof(fz_fault));
    fz_fault.countdown = nth;
    fz_fault.pick = pick;
    fake_set_call_hook(nth ? fz_fault_hook : NULL, NULL);
}

/*
 * What nothing of ours may leave behind once the handle is closed.
 * domid: the guest whose controller pause count must be back at
 * pause_before (or FAKE_ALL_DOMAINS to skip that); check_record: the
 * library wrote the guest's ownership record, so it must be gone.
 */
static void fz_check_nothing_left(const char *when, uint32_t domid,
                                  int pause_before, int check_record)
{
    char *rec;

    if ( fake_pages_mapped() )
        fz_fail("%s: %u ring page(s) still mapped", when, fake_pages_mapped());
    if ( fake_bound_ports() )
        fz_fail("%s: %u event channel port(s) still bound", when, fake_bound_ports());
    if ( fake_open_xc_handles() || fake_open_evtchn_handles() || fake_open_xs_handles() )
        fz_fail("%s: handles left open: xc %u evtchn %u xs %u", when,
                fake_open_xc_handles(), fake_open_evtchn_handles(),
                fake_open_xs_handles());
    if ( fake_bad_handle_calls() )
        fz_fail("%s: %lu call(s) with a handle that was not open", when,
                fake_bad_handle_calls());
    if ( fake_domid_invalid_ops() )
        fz_fail("%s: a vm_event op reached Xen for DOMID_INVALID (crashes Xen 4.17.0-4.17.6)",
                when);
    if ( domid != FAKE_ALL_DOMAINS && fake_pause_count(domid) >= 0 &&
         fake_pause_count(domid) != pause_before )
        fz_fail("%s: domain %u pause count %d, was %d: a pause reference leaked",
                when, domid, fake_pause_count(domid), pause_before);
    rec = check_record ? fake_xs_read(FZ_RECORD) : NULL;
    if ( rec )
    {
        free(rec);
        fz_fail("%s: the ownership record is left", when);
    }
}

#endif /* FUZZ_COMMON_H */
