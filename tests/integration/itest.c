/*
 * itest.c: helpers for the integration tests (see itest.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

static void verdict(const char *what, int code, const char *fmt, va_list ap)
    __attribute__((noreturn, format(printf, 3, 0)));
static void verdict(const char *what, int code, const char *fmt, va_list ap)
{
    printf("%s: ", what);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    exit(code);
}

void it_fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    verdict("FAIL", IT_FAIL, fmt, ap);
}

void it_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    verdict("ERROR", IT_ERROR, fmt, ap);
}

void it_skip(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    verdict("SKIP", IT_SKIP, fmt, ap);
}

void it_note(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

uint64_t it_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint32_t it_domid(void)
{
    const char *s = getenv("DOMID");
    char *end;
    unsigned long v;

    if ( !s || !*s )
        it_error("DOMID is not set: run this inside the xenhost rig");
    v = strtoul(s, &end, 10);
    if ( *end || v == 0 || v >= 0x7ff0 )
        it_error("DOMID=%s is not a guest domain id", s);
    return (uint32_t)v;
}

const char *it_guest_log(void)
{
    const char *s = getenv("GUEST_LOG");

    if ( !s || !*s )
        it_error("GUEST_LOG is not set: run this inside the xenhost rig");
    return s;
}

long it_last_tick(void)
{
    FILE *f = fopen(it_guest_log(), "r");
    char line[256];
    long last = -1;

    if ( !f )
        return -1;
    while ( fgets(line, sizeof(line), f) )
    {
        char *p = strstr(line, "tick ");
        long v;

        if ( p && sscanf(p + 5, "%ld", &v) == 1 )
            last = v;
    }
    fclose(f);
    return last;
}

long it_ticks_advance(long n, int secs)
{
    long first = it_last_tick(), now = first;
    uint64_t end = it_now_ms() + (uint64_t)secs * 1000;

    while ( it_now_ms() < end )
    {
        now = it_last_tick();
        if ( first >= 0 && now - first >= n )
            break;
        if ( first < 0 )
            first = now;
        usleep(100 * 1000);
    }
    return first < 0 ? 0 : now - first;
}

int it_sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    int st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    st = system(cmd);
    if ( st == -1 || !WIFEXITED(st) )
        return -1;
    return WEXITSTATUS(st);
}

int it_xl_state(uint32_t domid, char *buf, unsigned int len)
{
    char cmd[64], line[512];
    FILE *p;
    int rc = -1;

    snprintf(cmd, sizeof(cmd), "xl list %u 2>/dev/null", domid);
    p = popen(cmd, "r");
    if ( !p )
        return -1;
    while ( fgets(line, sizeof(line), p) )
    {
        char name[128], state[32];
        unsigned int id, mem, vcpus;

        if ( sscanf(line, "%127s %u %u %u %31s", name, &id, &mem, &vcpus, state) == 5 &&
             id == domid )
        {
            snprintf(buf, len, "%s", state);
            rc = 0;
        }
    }
    pclose(p);
    return rc;
}
