/*
 * it-run-as UID COMMAND...: runs COMMAND with uid and gid UID.  dom0 of
 * the test host has no user database, so this is how the integration
 * tests check what the tools say to someone who is not root.
 *
 * SPDX-License-Identifier: LGPL-2.1-only
 */
#include "config.h"

#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    uid_t id;

    if ( argc < 3 )
    {
        fprintf(stderr, "usage: it-run-as UID COMMAND...\n");
        return 2;
    }
    id = (uid_t)strtoul(argv[1], NULL, 10);
    if ( setgroups(0, NULL) || setgid(id) || setuid(id) )
    {
        perror("it-run-as");
        return 99;
    }
    execvp(argv[2], argv + 2);
    perror("it-run-as: exec");
    return 99;
}
