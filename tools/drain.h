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

#include "vmeventctl.h"

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

/*
 * Evidence of a live agent bound to a ring (drain-evidence.c): Xen's view
 * of the ports (vmeventctl_port_evidence()), which decides, and the dom0
 * processes that hold /dev/xen/evtchn open and map /dev/xen/privcmd,
 * which are shown to the administrator but cannot be tied to one domain.
 */
#define DRAIN_MAX_PROCS 16

struct drain_procs {
    int scanned;
    int err;                  /* errno when drain_proc_root could not be read */
    unsigned int nr;          /* found; the first DRAIN_MAX_PROCS are kept */
    struct {
        int pid;
        char comm[17];
    } p[DRAIN_MAX_PROCS];
};

struct drain_evidence {
    int gathered;             /* 1 once drain_evidence_gather() ran */
    int err;                  /* errno of vmeventctl_port_evidence(), or 0 */
    struct vmeventctl_port_evidence ports;
    struct drain_procs procs;
};

/* Where the process scan reads /proc ("/proc"); tests use a tree of their own. */
extern const char *drain_proc_root;

void drain_scan_procs(struct drain_procs *pr);
/* Both scans: 0, or -1 with errno (e->err) when Xen's port walk failed. */
int drain_evidence_gather(vmeventctl_handle *h, uint32_t domid, struct drain_evidence *e);
void drain_evidence_release(struct drain_evidence *e);
/* 1 if the port evidence shows a dom0 process that may be bound to the ring. */
int drain_evidence_suspect(const struct drain_evidence *e);
/* "guest port 7 (dom0 port 18), ..." */
void drain_evidence_suspects(const struct drain_evidence *e, char *buf, size_t len);
/* "224 (xen-access), ..." or "none" */
void drain_evidence_procs(const struct drain_evidence *e, char *buf, size_t len);
/* The status lines; not_gathered says why when nothing was gathered. */
void drain_evidence_text(FILE *f, const struct drain_evidence *e, const char *not_gathered);
/* "ring_ports" and "evtchn_processes", null when not gathered. */
void drain_evidence_json(struct drain_json *j, const struct drain_evidence *e);

#endif /* DRAIN_H */
