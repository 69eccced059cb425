/* A process that holds a store open, for the locking tests of
 * test_store_readonly.c (another process must hold the lock, and a forked
 * Criterion worker cannot safely run the library's threads and RCU, so the
 * test execs this program instead).
 *
 *     store_holder DIR rw|ro
 *
 * Opens the store in DIR writable or read-only (never creating one) and
 * prints one line on stdout: "0 open", or "<rc> <message>" when the open
 * failed. An open store is held until stdin reaches EOF, then closed. The
 * exit status is 0 unless the arguments or the close failed. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bucketdb/bucketdb.h"
#include "bucketdb/list.h"

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[2], "rw") && strcmp(argv[2], "ro"))) {
        fprintf(stderr, "usage: store_holder DIR rw|ro\n");
        return 2;
    }
    bdb_env *env;
    if (bdb_env_open(NULL, &env)) {
        printf("%d %s\n", BDB_EINTERNAL, bdb_errmsg());
        return 1;
    }
    bdb_list_options o;
    bdb_list_options_init(&o);
    o.fsync = 0;
    o.create = 0;
    o.read_only = !strcmp(argv[2], "ro");
    bdb_list *l;
    int rc = bdb_list_open(env, argv[1], &o, &l);
    if (rc)
        printf("%d %s\n", rc, bdb_errmsg());
    else
        printf("0 open\n");
    fflush(stdout);
    int status = 0;
    if (!rc) {
        char buf[64];
        while (read(0, buf, sizeof buf) > 0) {
        }
        if (bdb_list_close(l)) status = 1;
    }
    if (bdb_env_close(env)) status = 1;
    return status;
}
