/*
 * fuzz-stress-cli: xen-evtchn-stress's command line parser,
 * stress_parse(), with argv from the input split on NUL (argv[0] is the
 * program name, up to 24 arguments).
 *
 * Only the parser runs: the modes themselves run for seconds, from many
 * threads, against Xen; the unit test (test-stress-cli.c) drives them.
 * What the parser accepts must be what the rest of the tool relies on:
 *  - --help: accepted whatever else is given;
 *  - otherwise one to four modes, each known and given once; every value
 *    within the bounds the man page gives (duration and stuck time in
 *    (0, 3600] s, threads <= 64, hold <= 10000 ms, count <= 10^12);
 *  - the race mode only with --i-know-this-is-a-test-host;
 *  - flood, race and safe only with a DOMAIN, which is one of argv's
 *    strings; baseline and flood only with threads > 0;
 *  - a refusal says why, on err.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "fuzz-common.h"

#include "stress.h"

#define MAX_ARGS 24

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    devnull = fopen("/dev/null", "we");
    if ( !devnull )
        abort();
    return 0;
}

static void check_accepted(const struct stress_opts *o, int argc, char **argv)
{
    unsigned int i, j;
    int ring = 0, notify = 0, found;

    if ( o->help )
        return;
    if ( o->nr_modes < 1 || o->nr_modes > STRESS_NR_MODES )
        fz_fail("accepted with %u modes", o->nr_modes);
    for ( i = 0; i < o->nr_modes; i++ )
    {
        if ( (unsigned int)o->modes[i] >= STRESS_NR_MODES )
            fz_fail("mode %d", (int)o->modes[i]);
        for ( j = 0; j < i; j++ )
            if ( o->modes[j] == o->modes[i] )
                fz_fail("mode %s twice", stress_mode_name(o->modes[i]));
        if ( o->modes[i] != STRESS_MODE_BASELINE )
            ring = 1;
        if ( o->modes[i] == STRESS_MODE_BASELINE || o->modes[i] == STRESS_MODE_FLOOD )
            notify = 1;
        if ( o->modes[i] == STRESS_MODE_RACE && !o->test_host )
            fz_fail("race accepted without --i-know-this-is-a-test-host");
    }
    if ( !(o->duration_s > 0 && o->duration_s <= STRESS_MAX_DURATION_S) )
        fz_fail("duration %g", o->duration_s);
    if ( !(o->stuck_s > 0 && o->stuck_s <= STRESS_MAX_DURATION_S) )
        fz_fail("stuck time %g", o->stuck_s);
    if ( o->threads > STRESS_MAX_THREADS )
        fz_fail("%u threads", o->threads);
    if ( o->hold_ms > STRESS_MAX_HOLD_MS )
        fz_fail("hold %u ms", o->hold_ms);
    if ( o->count > UINT64_C(1000000000000) )
        fz_fail("count %llu", (unsigned long long)o->count);
    if ( ring && !o->domain )
        fz_fail("ring modes accepted without a domain");
    if ( notify && !o->threads )
        fz_fail("baseline or flood accepted with 0 threads");
    if ( o->domain )
    {
        for ( found = 0, i = 1; i < (unsigned int)argc; i++ )
            found |= argv[i] == o->domain;
        if ( !found )
            fz_fail("the domain is not one of argv's strings");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in = { data, size };
    char *argv[MAX_ARGS + 2], *owned[MAX_ARGS + 2];
    struct stress_opts o;
    char *msg = NULL;
    size_t msg_len = 0;
    FILE *err;
    int argc = 0, rc, i;

    argv[argc++] = strdup("xen-evtchn-stress");
    while ( in.n && argc <= MAX_ARGS )
    {
        argv[argc] = fz_str(&in, 128);
        argc++;
    }
    argv[argc] = NULL;
    /* getopt_long permutes argv: keep the pointers to free. */
    memcpy(owned, argv, sizeof(argv[0]) * (size_t)argc);

    err = open_memstream(&msg, &msg_len);
    if ( !err )
        abort();
    rc = stress_parse(argc, argv, &o, err);
    fclose(err);
    if ( rc == 0 )
        check_accepted(&o, argc, argv);
    else if ( rc != -1 )
        fz_fail("stress_parse returned %d", rc);
    else if ( !msg_len || msg[msg_len - 1] != '\n' )
        fz_fail("refused without saying why (a line on err)");
    free(msg);
    if ( size && data[0] == 'h' )
        stress_usage(devnull);

    for ( i = 0; i < argc; i++ )
        free(owned[i]);
    return 0;
}
