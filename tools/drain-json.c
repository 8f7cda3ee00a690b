/*
 * drain-json.c: the JSON output of xen-vmevent-drain, written by hand (the
 * tool needs no JSON library).  One object per line; see drain.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <stdio.h>

#include "drain.h"

/*
 * Length of the valid UTF-8 sequence at p (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF), or 0 if the byte at p does not
 * start one.
 */
static unsigned int utf8_len(const unsigned char *p)
{
    unsigned char lo = 0x80, hi = 0xbf;
    unsigned int n, i;

    if ( p[0] < 0x80 )
        return 1;
    if ( p[0] >= 0xc2 && p[0] <= 0xdf )
        n = 2;
    else if ( p[0] >= 0xe0 && p[0] <= 0xef )
    {
        n = 3;
        if ( p[0] == 0xe0 )
            lo = 0xa0;              /* overlong */
        else if ( p[0] == 0xed )
            hi = 0x9f;              /* surrogates */
    }
    else if ( p[0] >= 0xf0 && p[0] <= 0xf4 )
    {
        n = 4;
        if ( p[0] == 0xf0 )
            lo = 0x90;              /* overlong */
        else if ( p[0] == 0xf4 )
            hi = 0x8f;              /* above U+10FFFF */
    }
    else
        return 0;

    if ( p[1] < lo || p[1] > hi )
        return 0;
    for ( i = 2; i < n; i++ )
        if ( p[i] < 0x80 || p[i] > 0xbf )
            return 0;
    return n;
}

void drain_json_string(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    if ( !s )
    {
        fputs("null", f);
        return;
    }

    fputc('"', f);
    while ( *p )
    {
        unsigned int n;

        switch ( *p )
        {
        case '"':  fputs("\\\"", f); p++; continue;
        case '\\': fputs("\\\\", f); p++; continue;
        case '\n': fputs("\\n", f); p++; continue;
        case '\r': fputs("\\r", f); p++; continue;
        case '\t': fputs("\\t", f); p++; continue;
        case '\b': fputs("\\b", f); p++; continue;
        case '\f': fputs("\\f", f); p++; continue;
        }
        if ( *p < 0x20 )
        {
            fprintf(f, "\\u%04x", *p);
            p++;
            continue;
        }
        n = utf8_len(p);
        if ( !n )
        {
            fputs("\\ufffd", f);
            p++;
            continue;
        }
        fwrite(p, 1, n, f);
        p += n;
    }
    fputc('"', f);
}

/* The separator and key every member starts with. */
static void member(struct drain_json *j, const char *key)
{
    if ( j->need_comma[j->depth] )
        fputc(',', j->f);
    j->need_comma[j->depth] = 1;
    if ( key )
    {
        drain_json_string(j->f, key);
        fputc(':', j->f);
    }
}

static void open_level(struct drain_json *j, char c)
{
    fputc(c, j->f);
    if ( j->depth + 1 < DRAIN_JSON_MAX_DEPTH )
        j->depth++;
    j->need_comma[j->depth] = 0;
    j->closer[j->depth] = c == '{' ? '}' : ']';
}

static void close_level(struct drain_json *j)
{
    fputc(j->closer[j->depth], j->f);
    if ( j->depth )
        j->depth--;
}

void drain_json_begin(struct drain_json *j, FILE *f)
{
    j->f = f;
    j->depth = 0;
    j->need_comma[0] = 0;
    open_level(j, '{');
}

void drain_json_end(struct drain_json *j)
{
    /* Closes whatever a caller left open, so the line stays valid JSON. */
    while ( j->depth > 0 )
        close_level(j);
    fputc('\n', j->f);
    fflush(j->f);
}

void drain_json_object(struct drain_json *j, const char *key)
{
    member(j, key);
    open_level(j, '{');
}

void drain_json_object_end(struct drain_json *j)
{
    close_level(j);
}

void drain_json_array(struct drain_json *j, const char *key)
{
    member(j, key);
    open_level(j, '[');
}

void drain_json_array_end(struct drain_json *j)
{
    close_level(j);
}

void drain_json_str(struct drain_json *j, const char *key, const char *val)
{
    member(j, key);
    drain_json_string(j->f, val);
}

void drain_json_int(struct drain_json *j, const char *key, long long val)
{
    member(j, key);
    fprintf(j->f, "%lld", val);
}

void drain_json_uint(struct drain_json *j, const char *key,
                     unsigned long long val)
{
    member(j, key);
    fprintf(j->f, "%llu", val);
}

void drain_json_bool(struct drain_json *j, const char *key, int val)
{
    member(j, key);
    fputs(val ? "true" : "false", j->f);
}

void drain_json_null(struct drain_json *j, const char *key)
{
    member(j, key);
    fputs("null", j->f);
}
