/*
 * drain.h: xen-vmevent-drain's pieces, shared by the tool's main() and its
 * unit test (tests/unit/test-drain-cli.c), which links drain-main.c and
 * drain-json.c against the fake Xen.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#ifndef DRAIN_H
#define DRAIN_H

#include <stdint.h>
#include <stdio.h>

/*
 * Exit statuses.  Stable: scripts depend on them, and
 * man/xen-vmevent-drain.8 (EXIT STATUS) documents each one.
 */
#define DRAIN_EXIT_SUCCESS        0 /* done: the guest is free of vm_event */
#define DRAIN_EXIT_NOTHING        1 /* result only: nothing to do; exits 0 */
#define DRAIN_EXIT_USAGE          2 /* bad command line */
#define DRAIN_EXIT_REFUSED        3 /* refused for safety; nothing changed */
#define DRAIN_EXIT_FAILED         4 /* failed; the guest is as it was */
#define DRAIN_EXIT_FAILED_CHANGED 5 /* failed after changing the guest */
#define DRAIN_EXIT_INTERRUPTED    6 /* SIGINT/SIGTERM before the end */

/* The one word each exit status is known by in the JSON output. */
const char *drain_exit_name(int code);
/*
 * The process exit status of a result: nothing to do (no ring, no stuck
 * vCPU) exits 0 as success does, as issue 4 asks, so a script can run
 * "stop" and then start an agent; the JSON "result" tells them apart, and
 * exit status 1 is never used.
 */
int drain_exit_status(int code);

/*
 * Runs the command line argv[0..argc-1] (argv[0] is the program name).
 * Returns one of DRAIN_EXIT_*.  Writes its report to stdout and errors to
 * stderr.  May be called more than once in a process: it resets getopt,
 * and restores the SIGINT and SIGTERM dispositions it found.
 */
int drain_main(int argc, char **argv);

/*
 * A small JSON writer (drain-json.c): one object per line, written by
 * hand so the tool needs no JSON library.  Keys are the caller's string
 * literals; every value string is escaped (drain_json_string()).
 */
#define DRAIN_JSON_MAX_DEPTH 8

struct drain_json {
    FILE *f;
    unsigned int depth;
    unsigned char need_comma[DRAIN_JSON_MAX_DEPTH];
    char closer[DRAIN_JSON_MAX_DEPTH];
};

/*
 * Writes s as a JSON string: quotes, \" \\ \n \r \t \b \f, \u00XX for
 * other control characters, valid UTF-8 as is, and U+FFFD for each byte
 * that is not part of valid UTF-8 (domain names and process names are
 * bytes, and JSON must be Unicode).  NULL writes null.
 */
void drain_json_string(FILE *f, const char *s);

/* Starts a top-level object; drain_json_end() closes it and ends the line. */
void drain_json_begin(struct drain_json *j, FILE *f);
void drain_json_end(struct drain_json *j);

/* Members: key is NULL inside an array. */
void drain_json_object(struct drain_json *j, const char *key);
void drain_json_object_end(struct drain_json *j);
void drain_json_array(struct drain_json *j, const char *key);
void drain_json_array_end(struct drain_json *j);
void drain_json_str(struct drain_json *j, const char *key, const char *val);
void drain_json_int(struct drain_json *j, const char *key, long long val);
void drain_json_uint(struct drain_json *j, const char *key,
                     unsigned long long val);
void drain_json_bool(struct drain_json *j, const char *key, int val);
void drain_json_null(struct drain_json *j, const char *key);

#endif /* DRAIN_H */
