/*
 * stress-report.c: the counters of xen-evtchn-stress (errors by errno,
 * latency histograms), verdicts, and the report as text or JSON.  The JSON
 * keys are documented in man/xen-evtchn-stress.8 (JSON OUTPUT); change
 * both together.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "stress.h"

/*
 * Counters.
 */

void stress_errs_add(struct stress_errs *e, int err, uint64_t n)
{
    unsigned int i;

    if ( !n )
        return;
    for ( i = 0; i < STRESS_MAX_ERRNOS; i++ )
    {
        if ( e->n[i] && e->err[i] == err )
        {
            e->n[i] += n;
            return;
        }
        if ( !e->n[i] )
        {
            e->err[i] = err;
            e->n[i] = n;
            return;
        }
    }
    e->other += n;
}

void stress_errs_merge(struct stress_errs *dst, const struct stress_errs *src)
{
    unsigned int i;

    for ( i = 0; i < STRESS_MAX_ERRNOS; i++ )
        stress_errs_add(dst, src->err[i], src->n[i]);
    dst->other += src->other;
}

uint64_t stress_errs_total(const struct stress_errs *e)
{
    uint64_t t = e->other;
    unsigned int i;

    for ( i = 0; i < STRESS_MAX_ERRNOS; i++ )
        t += e->n[i];
    return t;
}

static unsigned int hist_index(uint64_t v)
{
    unsigned int msb;

    if ( v < 16 )
        return (unsigned int)v;
    msb = 63 - (unsigned int)__builtin_clzll(v);
    return (msb - 3) * 16 + (unsigned int)((v >> (msb - 4)) & 15);
}

/* Lowest value of bucket i, and its width. */
static uint64_t hist_low(unsigned int i, uint64_t *width)
{
    unsigned int msb;

    if ( i < 16 )
    {
        *width = 1;
        return i;
    }
    msb = i / 16 + 3;
    *width = 1ull << (msb - 4);
    return (uint64_t)(16 + i % 16) << (msb - 4);
}

void stress_hist_add(struct stress_hist *h, uint64_t ns)
{
    h->b[hist_index(ns)]++;
    h->count++;
    h->sum_ns += ns;
    if ( ns > h->max_ns )
        h->max_ns = ns;
}

void stress_hist_merge(struct stress_hist *dst, const struct stress_hist *src)
{
    unsigned int i;

    for ( i = 0; i < STRESS_HIST_BUCKETS; i++ )
        dst->b[i] += src->b[i];
    dst->count += src->count;
    dst->sum_ns += src->sum_ns;
    if ( src->max_ns > dst->max_ns )
        dst->max_ns = src->max_ns;
}

/* The q-quantile (0 < q <= 1): the middle of its bucket, at most the max. */
uint64_t stress_hist_quantile(const struct stress_hist *h, double q)
{
    uint64_t rank, seen = 0;
    unsigned int i;

    if ( !h->count )
        return 0;
    rank = (uint64_t)ceil(q * (double)h->count);
    if ( rank < 1 )
        rank = 1;
    for ( i = 0; i < STRESS_HIST_BUCKETS; i++ )
    {
        seen += h->b[i];
        if ( seen >= rank )
        {
            uint64_t width, v = hist_low(i, &width) + width / 2;

            return v > h->max_ns ? h->max_ns : v;
        }
    }
    return h->max_ns;
}

const char *stress_errno_name(int err, char *buf, size_t len)
{
    const char *n = strerrorname_np(err);

    if ( n )
        return n;
    snprintf(buf, len, "E%d", err);
    return buf;
}

/*
 * Verdicts.
 */

const char *stress_verdict_name(enum stress_verdict v)
{
    switch ( v )
    {
    case STRESS_SUCCESS: return "SUCCESS";
    case STRESS_SKIP:    return "SKIP";
    case STRESS_ERROR:   return "ERROR";
    case STRESS_FAILURE: return "FAILURE";
    }
    return "ERROR";
}

int stress_verdict_exit(enum stress_verdict v)
{
    switch ( v )
    {
    case STRESS_SUCCESS: return STRESS_EXIT_SUCCESS;
    case STRESS_SKIP:    return STRESS_EXIT_SKIP;
    case STRESS_ERROR:   return STRESS_EXIT_ERROR;
    case STRESS_FAILURE: return STRESS_EXIT_FAILURE;
    }
    return STRESS_EXIT_ERROR;
}

const char *stress_mode_name(enum stress_mode m)
{
    switch ( m )
    {
    case STRESS_MODE_BASELINE: return "baseline";
    case STRESS_MODE_FLOOD:    return "flood";
    case STRESS_MODE_RACE:     return "race";
    case STRESS_MODE_SAFE:     return "safe";
    case STRESS_NR_MODES:      break;
    }
    return "unknown";
}

void stress_verdict_worse(enum stress_verdict *v, enum stress_verdict w,
                          char *reason, size_t len, const char *fmt, ...)
{
    size_t used = 0;
    va_list ap;

    if ( w < *v || w == STRESS_SUCCESS )
        return;
    if ( w > *v || !reason[0] )
        reason[0] = '\0';
    else
    {
        /* As bad as what we had: say both. */
        used = strlen(reason);
        if ( used + 3 >= len )
            return;
        memcpy(reason + used, "; ", 3);
        used += 2;
    }
    *v = w;
    va_start(ap, fmt);
    vsnprintf(reason + used, len - used, fmt, ap);
    va_end(ap);
}

void stress_report(const struct stress_ctx *c, FILE *f)
{
    if ( c->opt.json )
        stress_report_json(c, f);
    else
        stress_report_text(c, f);
    fflush(f);
}

static const struct stress_result *find_result(const struct stress_ctx *c,
                                               enum stress_mode m)
{
    unsigned int i;

    for ( i = 0; i < c->nr_res; i++ )
        if ( c->res[i].mode == m && c->res[i].ran )
            return &c->res[i];
    return NULL;
}

static double rate(const struct stress_result *r)
{
    return r->elapsed_s > 0 ? (double)r->notifies / r->elapsed_s : 0;
}

static double cycle_rate(const struct stress_result *r)
{
    return r->elapsed_s > 0 ? (double)r->cycles / r->elapsed_s : 0;
}

/*
 * Text.
 */

static void text_errs(FILE *f, const struct stress_errs *e)
{
    unsigned int i;
    char buf[16];
    int any = 0;

    for ( i = 0; i < STRESS_MAX_ERRNOS; i++ )
    {
        if ( !e->n[i] )
            continue;
        fprintf(f, "%s%s %" PRIu64, any ? ", " : "",
                stress_errno_name(e->err[i], buf, sizeof(buf)), e->n[i]);
        any = 1;
    }
    if ( e->other )
    {
        fprintf(f, "%sother %" PRIu64, any ? ", " : "", e->other);
        any = 1;
    }
    if ( !any )
        fputs("none", f);
}

static void text_us(FILE *f, uint64_t ns)
{
    if ( ns >= 10000000ull )
        fprintf(f, "%.1f ms", (double)ns / 1e6);
    else
        fprintf(f, "%.1f us", (double)ns / 1e3);
}

static void text_health(FILE *f, const char *label, const struct stress_health *hl)
{
    unsigned int i;
    int first = 1;

    if ( !hl->ran )
        return;
    fprintf(f, "  %-11s", label);
    for ( i = 0; i < STRESS_NR_CHECKS; i++ )
    {
        const struct stress_check *ck = &hl->c[i];

        if ( !ck->ran )
            continue;
        fprintf(f, "%s%s %s", first ? "" : "\n             ", stress_check_names[i],
                ck->verdict == STRESS_SUCCESS ? "ok" : stress_verdict_name(ck->verdict));
        if ( ck->detail[0] )
            fprintf(f, " (%s)", ck->detail);
        first = 0;
    }
    fputc('\n', f);
}

static void text_result(FILE *f, const struct stress_result *r)
{
    unsigned int i;

    fprintf(f, "== %s", stress_mode_name(r->mode));
    if ( !r->ran )
    {
        fprintf(f, ": not run%s%s\n", r->reason[0] ? ": " : "", r->reason);
        return;
    }
    fprintf(f, ": %.1f s, %u thread(s), stopped by %s\n", r->elapsed_s,
            r->threads, r->stopped_by ? r->stopped_by : "-");
    if ( r->have_port )
        fprintf(f, "  port       local %u -> domain %u port %u\n", r->local_port,
                r->remote_domid, r->remote_port);
    fprintf(f, "  notifies   %" PRIu64 " (%.0f/s), %" PRIu64 " returned 0\n",
            r->notifies, rate(r), r->ok);
    if ( r->threads )
    {
        fputs("  per thread ", f);
        for ( i = 0; i < r->threads && i < STRESS_MAX_THREADS; i++ )
            fprintf(f, "%s%.0f/s", i ? " " : "", r->thread[i].per_s);
        fputc('\n', f);
    }
    if ( r->lat.count )
    {
        fputs("  latency    p50 ", f);
        text_us(f, stress_hist_quantile(&r->lat, 0.50));
        fputs(", p99 ", f);
        text_us(f, stress_hist_quantile(&r->lat, 0.99));
        fputs(", max ", f);
        text_us(f, r->lat.max_ns);
        fputs(", mean ", f);
        text_us(f, r->lat.sum_ns / r->lat.count);
        fputc('\n', f);
    }
    fputs("  errors     ", f);
    text_errs(f, &r->errs);
    fputc('\n', f);

    if ( r->cyclic || r->mode == STRESS_MODE_FLOOD )
    {
        int first = 1;

        if ( r->cyclic )
            fprintf(f, "  cycles     %" PRIu64 " (%.1f/s)\n", r->cycles, cycle_rate(r));
        fputs("  steps      ", f);
        for ( i = 0; i < STRESS_NR_STEPS; i++ )
        {
            const struct stress_step_stats *s = &r->step[i];

            if ( !s->calls )
                continue;
            fprintf(f, "%s%s %" PRIu64 " (max ", first ? "" : ", ",
                    stress_step_names[i], s->calls);
            text_us(f, s->max_ns);
            if ( stress_errs_total(&s->errs) )
            {
                fputs(", failed: ", f);
                text_errs(f, &s->errs);
            }
            fputc(')', f);
            first = 0;
        }
        fputs(first ? "none\n" : "\n", f);
    }
    if ( r->cyclic && r->nr_phases )
    {
        fputs("  notifies by phase (returned 0; errors):\n", f);
        for ( i = 0; i < r->nr_phases; i++ )
        {
            fprintf(f, "    %-9s %10" PRIu64 "; ", r->phase_names[i], r->phase[i].ok);
            text_errs(f, &r->phase[i].errs);
            fputc('\n', f);
        }
        fprintf(f, "    %-9s %10" PRIu64 "; ", "spanning", r->spanning.ok);
        text_errs(f, &r->spanning.errs);
        fputc('\n', f);
        fprintf(f, "  disable    %" PRIu64 " notifies returned 0 while xc_monitor_disable ran, %" PRIu64 " more overlapped it\n",
                r->landed_in_disable, r->landed_overlapping);
    }
    text_health(f, "health", &r->health);
    fprintf(f, "  verdict    %s%s%s\n", stress_verdict_name(r->verdict),
            r->reason[0] ? ": " : "", r->reason);
}

void stress_report_text(const struct stress_ctx *c, FILE *f)
{
    const struct stress_result *fl, *bl, *ra, *sa;
    unsigned int i;

    fprintf(f, "xen-evtchn-stress %s: Xen %s, dom0 %ld vCPU(s)", PACKAGE_VERSION,
            c->xen_version[0] ? c->xen_version : "?", c->dom0_vcpus);
    if ( c->have_domain )
    {
        char id[16];

        snprintf(id, sizeof(id), "%u", c->domid);
        fprintf(f, ", domain %u", c->domid);
        if ( strcmp(id, c->opt.domain) )
            fprintf(f, " (%s)", c->opt.domain);
    }
    fputc('\n', f);
    text_health(f, "pre-flight", &c->preflight);
    for ( i = 0; i < c->nr_res; i++ )
        text_result(f, &c->res[i]);

    fl = find_result(c, STRESS_MODE_FLOOD);
    bl = find_result(c, STRESS_MODE_BASELINE);
    ra = find_result(c, STRESS_MODE_RACE);
    sa = find_result(c, STRESS_MODE_SAFE);
    if ( fl && bl && rate(bl) > 0 )
        fprintf(f, "== flood/baseline notify rate: %.3f (%.0f/s vs %.0f/s)\n",
                rate(fl) / rate(bl), rate(fl), rate(bl));
    if ( ra && sa )
    {
        fprintf(f, "== race vs safe: cycles %.1f/s vs %.1f/s; notifies %.0f/s vs %.0f/s; returned 0 during the disable %" PRIu64 " vs %" PRIu64 " (overlapping %" PRIu64 " vs %" PRIu64 "); verdicts %s vs %s\n",
                cycle_rate(ra), cycle_rate(sa), rate(ra), rate(sa),
                ra->landed_in_disable, sa->landed_in_disable,
                ra->landed_overlapping, sa->landed_overlapping,
                stress_verdict_name(ra->verdict), stress_verdict_name(sa->verdict));
    }
    fprintf(f, "verdict: %s%s%s%s\n", stress_verdict_name(c->verdict),
            c->reason[0] ? ": " : "", c->reason,
            c->interrupted ? " (interrupted)" : "");
}

/*
 * JSON.
 */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for ( ; s && *s; s++ )
    {
        unsigned char ch = (unsigned char)*s;

        if ( ch == '"' || ch == '\\' )
            fprintf(f, "\\%c", ch);
        else if ( ch == '\n' )
            fputs("\\n", f);
        else if ( ch < 0x20 || ch == 0x7f )
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, double d)
{
    if ( isfinite(d) )
        fprintf(f, "%.3f", d);
    else
        fputs("null", f);
}

static void json_errs(FILE *f, const struct stress_errs *e)
{
    unsigned int i;
    char buf[16];
    int any = 0;

    fputc('{', f);
    for ( i = 0; i < STRESS_MAX_ERRNOS; i++ )
    {
        if ( !e->n[i] )
            continue;
        fputs(any ? ", " : "", f);
        json_str(f, stress_errno_name(e->err[i], buf, sizeof(buf)));
        fprintf(f, ": %" PRIu64, e->n[i]);
        any = 1;
    }
    if ( e->other )
        fprintf(f, "%s\"other\": %" PRIu64, any ? ", " : "", e->other);
    fputc('}', f);
}

static void json_health(FILE *f, const struct stress_health *hl)
{
    unsigned int i;
    int any = 0;

    if ( !hl->ran )
    {
        fputs("null", f);
        return;
    }
    fprintf(f, "{\"verdict\": \"%s\", \"checks\": [", stress_verdict_name(hl->verdict));
    for ( i = 0; i < STRESS_NR_CHECKS; i++ )
    {
        if ( !hl->c[i].ran )
            continue;
        fprintf(f, "%s{\"check\": \"%s\", \"verdict\": \"%s\", \"detail\": ",
                any ? ", " : "", stress_check_names[i],
                stress_verdict_name(hl->c[i].verdict));
        json_str(f, hl->c[i].detail);
        fputc('}', f);
        any = 1;
    }
    fputs("]}", f);
}

static void json_result(FILE *f, const struct stress_result *r)
{
    unsigned int i;

    fputs("    {\"mode\": ", f);
    json_str(f, stress_mode_name(r->mode));
    fprintf(f, ", \"ran\": %s, \"verdict\": \"%s\", \"reason\": ",
            r->ran ? "true" : "false", stress_verdict_name(r->verdict));
    json_str(f, r->reason);
    if ( !r->ran )
    {
        fputs("}", f);
        return;
    }
    fputs(",\n     \"stopped_by\": ", f);
    json_str(f, r->stopped_by ? r->stopped_by : "");
    fputs(", \"elapsed_s\": ", f);
    json_num(f, r->elapsed_s);
    fprintf(f, ", \"threads\": %u,\n     \"port\": ", r->threads);
    if ( r->have_port )
        fprintf(f, "{\"local\": %u, \"remote\": %u, \"remote_domain\": %u}",
                r->local_port, r->remote_port, r->remote_domid);
    else
        fputs("null", f);
    fprintf(f, ",\n     \"notifies\": {\"total\": %" PRIu64 ", \"ok\": %" PRIu64 ", \"per_s\": ",
            r->notifies, r->ok);
    json_num(f, rate(r));
    fputs(", \"errors\": ", f);
    json_errs(f, &r->errs);
    fputs("},\n     \"per_thread\": [", f);
    for ( i = 0; i < r->threads && i < STRESS_MAX_THREADS; i++ )
    {
        fprintf(f, "%s{\"thread\": %u, \"notifies\": %" PRIu64 ", \"ok\": %" PRIu64 ", \"per_s\": ",
                i ? ", " : "", i, r->thread[i].notifies, r->thread[i].ok);
        json_num(f, r->thread[i].per_s);
        fputc('}', f);
    }
    fprintf(f, "],\n     \"latency_ns\": {\"p50\": %" PRIu64 ", \"p99\": %" PRIu64 ", \"max\": %" PRIu64 ", \"mean\": %" PRIu64 "}",
            stress_hist_quantile(&r->lat, 0.50), stress_hist_quantile(&r->lat, 0.99),
            r->lat.max_ns, r->lat.count ? r->lat.sum_ns / r->lat.count : 0);

    fputs(",\n     \"steps\": {", f);
    {
        int any = 0;

        for ( i = 0; i < STRESS_NR_STEPS; i++ )
        {
            const struct stress_step_stats *s = &r->step[i];

            if ( !s->calls )
                continue;
            fprintf(f, "%s\"%s\": {\"calls\": %" PRIu64 ", \"failed\": %" PRIu64 ", \"errors\": ",
                    any ? ", " : "", stress_step_names[i], s->calls,
                    stress_errs_total(&s->errs));
            json_errs(f, &s->errs);
            fprintf(f, ", \"max_ns\": %" PRIu64 ", \"mean_ns\": %" PRIu64 "}",
                    s->max_ns, s->sum_ns / s->calls);
            any = 1;
        }
    }
    fputs("}", f);

    if ( r->cyclic )
    {
        fprintf(f, ",\n     \"cycles\": {\"done\": %" PRIu64 ", \"per_s\": ", r->cycles);
        json_num(f, cycle_rate(r));
        fputs("},\n     \"phases\": [", f);
        for ( i = 0; i < r->nr_phases; i++ )
        {
            fprintf(f, "%s{\"phase\": \"%s\", \"ok\": %" PRIu64 ", \"errors\": ",
                    i ? ", " : "", r->phase_names[i], r->phase[i].ok);
            json_errs(f, &r->phase[i].errs);
            fputc('}', f);
        }
        fprintf(f, ", {\"phase\": \"spanning\", \"ok\": %" PRIu64 ", \"errors\": ",
                r->spanning.ok);
        json_errs(f, &r->spanning.errs);
        fprintf(f, "}],\n     \"disable_race\": {\"landed_during\": %" PRIu64 ", \"landed_overlapping\": %" PRIu64 "}",
                r->landed_in_disable, r->landed_overlapping);
    }
    else
        fputs(",\n     \"cycles\": null, \"phases\": null, \"disable_race\": null", f);

    fputs(",\n     \"health\": ", f);
    json_health(f, &r->health);
    fputs("}", f);
}

void stress_report_json(const struct stress_ctx *c, FILE *f)
{
    const struct stress_result *fl, *bl, *ra, *sa;
    unsigned int i;

    fprintf(f, "{\"tool\": \"xen-evtchn-stress\", \"version\": \"%s\",\n", PACKAGE_VERSION);
    fputs(" \"xen_version\": ", f);
    if ( c->xen_version[0] )
        json_str(f, c->xen_version);
    else
        fputs("null", f);
    fprintf(f, ", \"dom0_vcpus\": %ld,\n \"domain\": ", c->dom0_vcpus);
    if ( c->have_domain )
    {
        fprintf(f, "{\"id\": %u, \"name\": ", c->domid);
        json_str(f, c->opt.domain);
        fputc('}', f);
    }
    else
        fputs("null", f);
    fputs(",\n \"options\": {\"modes\": [", f);
    for ( i = 0; i < c->opt.nr_modes; i++ )
        fprintf(f, "%s\"%s\"", i ? ", " : "", stress_mode_name(c->opt.modes[i]));
    fputs("], \"duration_s\": ", f);
    json_num(f, c->opt.duration_s);
    fprintf(f, ", \"count\": %" PRIu64 ", \"threads\": %u, \"hold_ms\": %u, \"stuck_s\": ",
            c->opt.count, c->opt.threads, c->opt.hold_ms);
    json_num(f, c->opt.stuck_s);
    fprintf(f, ", \"test_host\": %s},\n \"preflight\": ", c->opt.test_host ? "true" : "false");
    json_health(f, &c->preflight);
    fputs(",\n \"modes\": [\n", f);
    for ( i = 0; i < c->nr_res; i++ )
    {
        json_result(f, &c->res[i]);
        fputs(i + 1 < c->nr_res ? ",\n" : "\n", f);
    }
    fputs(" ],\n \"comparison\": {\"flood_vs_baseline\": ", f);
    fl = find_result(c, STRESS_MODE_FLOOD);
    bl = find_result(c, STRESS_MODE_BASELINE);
    ra = find_result(c, STRESS_MODE_RACE);
    sa = find_result(c, STRESS_MODE_SAFE);
    if ( fl && bl && rate(bl) > 0 )
        json_num(f, rate(fl) / rate(bl));
    else
        fputs("null", f);
    fputs(", \"race_vs_safe\": ", f);
    if ( ra && sa )
    {
        fputs("{\"cycles_per_s\": [", f);
        json_num(f, cycle_rate(ra));
        fputs(", ", f);
        json_num(f, cycle_rate(sa));
        fputs("], \"notifies_per_s\": [", f);
        json_num(f, rate(ra));
        fputs(", ", f);
        json_num(f, rate(sa));
        fprintf(f, "], \"landed_during_disable\": [%" PRIu64 ", %" PRIu64 "], \"landed_overlapping_disable\": [%" PRIu64 ", %" PRIu64 "], \"verdicts\": [\"%s\", \"%s\"]}",
                ra->landed_in_disable, sa->landed_in_disable,
                ra->landed_overlapping, sa->landed_overlapping,
                stress_verdict_name(ra->verdict), stress_verdict_name(sa->verdict));
    }
    else
        fputs("null", f);
    fprintf(f, "},\n \"interrupted\": %s, \"verdict\": \"%s\", \"reason\": ",
            c->interrupted ? "true" : "false", stress_verdict_name(c->verdict));
    json_str(f, c->reason);
    fprintf(f, ", \"exit_status\": %d}\n", stress_verdict_exit(c->verdict));
}
