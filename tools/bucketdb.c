/* The bucketdb command-line tool. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "bucketdb/bucketdb.h"
#include "cmd_archive.h"
#include "demo.h"
#include "replay.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bucketdb <command> [options]\n"
            "\n"
            "commands:\n"
            "  demo [--dir DIR] [--files N] [--mib M] [--threads T] [--keep]\n"
            "        exercise the core runtime (pool, atomic files, mmap, locks,\n"
            "        fault injection, RCU) and print what it did and the statistics\n"
            "  replay [--dir DIR] [--shards N] [--boundary-seed S] [--levels] [--no-fsync] [FILE]\n"
            "        apply ledger batches (JSON Lines) to a BucketList store and print\n"
            "        each ledger's bucketListHash\n"
            "  import ARCHIVE [--ledger N] [--dir DIR] [--get CMD] ...\n"
            "        create a store from a history archive's checkpoint (every bucket\n"
            "        verified first; an interrupted import resumes); import --help\n"
            "  publish DIR --store STORE [--passphrase P]\n"
            "        publish the store's checkpoint into an archive directory\n"
            "  version   print the library version\n"
            "  help      print this text\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "demo")) return demo_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "replay")) return replay_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "import")) return import_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "publish")) return publish_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "version")) {
        printf("bucketdb %s\n", bdb_version());
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "bucketdb: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
