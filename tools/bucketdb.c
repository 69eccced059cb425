/* The bucketdb command-line tool: one table of commands, each with its
 * summary (for `bucketdb help`) and usage (for `bucketdb help CMD` and
 * `bucketdb CMD --help`). A command is one entry here and its main,
 * declared in cli.h, in its own file. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "bucketdb/bucketdb.h"
#include "cli.h"

static int help_main(int argc, char **argv);
static int version_main(int argc, char **argv);

#define STORE_OPTIONS                                                                              \
    "store options (read side, as bdb_list_options; a node's own settings make its\n"              \
    "index files usable):\n"                                                                       \
    "  --cutoff-mb N       live files below N MiB get an exact index (default 20)\n"               \
    "  --page-exponent E   page size 2^E of paged indexes, 0 or 8..31 (default 14)\n"              \
    "  --cache-mb M        memory for the entry caches of paged files (default 0)\n"

const cli_command cli_commands[] = {
    {"demo", "exercise the core runtime and print what it did and the statistics",
     "usage: bucketdb demo [--dir DIR] [--files N] [--mib M] [--threads T] [--keep]\n"
     "Exercises the core runtime (thread pool, atomic files, mmap, locks, fault\n"
     "injection, RCU) in DIR (default: a temporary directory, removed unless --keep)\n"
     "and prints what it did and the statistics.\n",
     demo_main},
    {"replay", "apply ledger batches (JSON Lines) to a store and print each ledger's hash",
     "usage: bucketdb replay [--dir DIR] [--shards N] [--boundary-seed S] [--levels]\n"
     "                       [--no-fsync] [--split-bytes N] [--has OUT.json]\n"
     "                       [--assume HAS.json --bucket-dir DIR] [--passphrase P] [FILE]\n"
     "Reads one ledger per line of FILE (or stdin) as JSON:\n"
     "  {\"ledger\": L, \"protocol\": P, \"init\": [b64 LedgerEntry...], \"live\": [...],\n"
     "   \"dead\": [b64 LedgerKey...], \"hot_archived\": [...], \"hot_restored\": [...]}\n"
     "applies it and prints \"<ledger> <bucketListHash>\"; --levels adds the live\n"
     "list's \"  L<i> <curr> <snap>\" lines.\n",
     replay_main},
    {"inspect", "summarize a bucket file: list, protocol, counts and bytes, hash",
     "usage: bucketdb inspect [--json] BUCKET\n"
     "Reads the bucket file BUCKET (plain, or gzipped as history archives store\n"
     "buckets), checking every record as the library's reader does, and prints its\n"
     "list (live or hot archive), protocol (METAENTRY ledgerVersion, 0 without one),\n"
     "records and bytes by record type and, for INITENTRY/LIVEENTRY (hot archive:\n"
     "ARCHIVED) records, by ledger entry type, the totals, the SHA-256 of the\n"
     "uncompressed bytes (the bucket hash) and whether it matches a file name of the\n"
     "form bucket-<hex>.xdr[.gz]. Bytes include each record's 4-byte mark, so they\n"
     "add up to the uncompressed size.\n"
     "  --json   print one JSON object instead of text\n"
     "Exit status 1 if the file cannot be read or is not a valid bucket (the error\n"
     "names the offset in the uncompressed bytes).\n",
     cmd_inspect_main},
    {"dump", "print a bucket's records as JSON Lines",
     "usage: bucketdb dump [--decode] BUCKET\n"
     "Prints one JSON object per record of the bucket file BUCKET (plain or gzip), in\n"
     "file order:\n"
     "  "
     "{\"offset\":0,\"type\":\"METAENTRY\",\"protocol\":P,\"list\":\"LIVE\",\"meta\":\"<base64>\"}"
     "\n"
     "  {\"offset\":N,\"type\":\"INITENTRY\",\"entry_type\":\"ACCOUNT\",\"key\":{...},\n"
     "   \"last_modified\":L,\"entry\":\"<base64 LedgerEntry XDR>\"}\n"
     "  {\"offset\":N,\"type\":\"DEADENTRY\",\"entry_type\":\"ACCOUNT\",\"key\":{...},\n"
     "   \"key_xdr\":\"<base64 LedgerKey XDR>\"}\n"
     "\"list\" is absent for a METAENTRY without one (ext v0). Hot-archive buckets give\n"
     "HOT_ARCHIVE_METAENTRY, HOT_ARCHIVE_ARCHIVED (with \"entry\") and HOT_ARCHIVE_LIVE\n"
     "(with \"key_xdr\"). \"key\" is the key as JSON (account IDs as StrKeys, 64-bit\n"
     "integers as strings, opaque bytes as hex). Records are checked as by inspect;\n"
     "the dump stops at the first bad one (exit status 1). Memory does not grow\n"
     "with the bucket.\n"
     "  --decode   add \"json\": the whole entry (or key, or metadata) as JSON\n",
     cmd_dump_main},
    {"verify", "check bucket files' framing and that their hash matches their name",
     "usage: bucketdb verify [--json] FILE|DIR...\n"
     "Checks each bucket file named bucket-<hex>.xdr or bucket-<hex>.xdr.gz (for a\n"
     "DIR, every file so named in it, in name order; other files are ignored): its\n"
     "record framing, and that the SHA-256 of its uncompressed bytes is the <hex> of\n"
     "its name. Streams; nothing is written. Prints per file\n"
     "  ok FILE (R records, B bytes)      or      FAILED FILE: why\n"
     "and, when stderr is a terminal, a progress bar there.\n"
     "  --json   one JSON object per file instead:\n"
     "           {\"file\":F,\"ok\":true,\"records\":R,\"bytes\":B} or "
     "{\"file\":F,\"ok\":false,\"error\":E}\n"
     "Exit status 0 if every file is ok, 1 if any is not (or a FILE is not named\n"
     "like a bucket, or a DIR cannot be read), 2 for usage errors.\n",
     cmd_verify_main},
    {"merge", "merge two bucket files as stellar-core merges into a level",
     "usage: bucketdb merge OLD NEW --level I --protocol P -o DIR\n"
     "                      [--shadow FILE]... [--no-fsync] [--json]\n"
     "Merges the bucket files OLD (older: the level's curr) and NEW (newer: the snap\n"
     "spilling into it) as stellar-core's merge into level I (0..10): newer entries\n"
     "win, with the CAP-0020 INIT/DEAD rules for live buckets; tombstones are kept\n"
     "except at level 10; the output's protocol is the newer of the inputs' (at\n"
     "level 0: P itself, stellar-core's level-0 rule) and must not exceed P.\n"
     "--shadow adds a shadow bucket (a newer level's curr or snap; protocols below\n"
     "12 only). Live or hot archive follows the inputs' METAENTRY; both must agree.\n"
     "An empty file (e.g. /dev/null) is the empty bucket. Inputs are validated\n"
     "first, as inspect does; gzipped inputs are decompressed into DIR for the merge\n"
     "and removed after it.\n"
     "The output goes into the directory DIR (created if missing) as\n"
     "bucket-<hex>.xdr (an existing file of that name is checked and kept); an empty\n"
     "result writes no file. Prints hash, file, protocol, records and bytes.\n"
     "  --no-fsync   do not fsync the output\n"
     "  --json       one JSON object instead of text\n",
     cmd_merge_main},
    {"key", "encode a ledger key given as JSON or base64, print both forms",
     "usage: bucketdb key KEY\n"
     "Parses KEY as get does and prints {\"key\":<JSON>,\"xdr\":\"<base64 LedgerKey>\"}.\n"
     "KEY is base64 of a LedgerKey's XDR, or JSON, either a short form:\n"
     "  {\"account\":\"G...\"}\n"
     "  {\"trustline\":{\"account\":\"G...\",\"asset\":ASSET}}\n"
     "     ASSET: \"native\", {\"code\":\"USD\",\"issuer\":\"G...\"} (codes of 1-4\n"
     "     characters are alphanum4, 5-12 alphanum12) or {\"pool\":\"<64 hex>\"}\n"
     "or any key in the JSON form that dump and this command print, e.g.\n"
     "  {\"offer\":{\"sellerID\":\"G...\",\"offerID\":\"42\"}}\n"
     "  {\"ttl\":{\"keyHash\":\"<64 hex>\"}}\n",
     cmd_key_main},
    {"get", "look up one ledger key in a store",
     "usage: bucketdb get [--hot] [STORE OPTIONS] STORE KEY\n"
     "Opens the existing store in the directory STORE read-only (every file checked;\n"
     "nothing in the directory written or removed, no merge restarted; a shared\n"
     "lock: refused while another process has the store open for writing) and\n"
     "looks KEY up (see `bucketdb help key`) at its last ledger. Prints the newest\n"
     "live entry as one JSON object:\n"
     "  {\"key\":{...},\"ledger\":N,\"type\":\"LIVEENTRY\",\"level\":L,\"bucket\":\"curr\",\n"
     "   \"last_modified\":M,\"entry\":\"<base64 LedgerEntry XDR>\",\"json\":{...}}\n"
     "  --hot   look in the hot archive list (archived entries) instead\n" STORE_OPTIONS
     "Exit status 1 if the key has no live entry (never written, or deleted).\n",
     cmd_get_main},
    {"stats", "levels, entry counts, index and cache memory of a store",
     "usage: bucketdb stats [--json] [STORE OPTIONS] STORE\n"
     "Opens the store in STORE (as get does) and prints its ledger, protocol, shards\n"
     "and hashes; for each level of the live and hot archive lists the curr and snap\n"
     "buckets' hash, records (METAENTRY included), bytes and files; entries by type\n"
     "(BucketEntryCounters over every bucket: all versions, tombstones included);\n"
     "and the read side: files and records by index form (exact or paged), index\n"
     "and cache memory, cache entries, hits and misses since open.\n"
     "  --json   one JSON object instead of text\n" STORE_OPTIONS,
     cmd_stats_main},
    {"index", "build or rebuild a store's persisted index files",
     "usage: bucketdb index [--rebuild] [STORE OPTIONS] STORE\n"
     "Writes the persisted page indexes (bucket-<hex>.index beside each bucket file)\n"
     "of the store in STORE as a node opening it with the same store options would\n"
     "use them: page-indexed files only (live files of at least --cutoff-mb MiB,\n"
     "and every hot-archive file); exact indexes are never persisted. The store is\n"
     "opened for writing (its exclusive lock; temporary and unreferenced files are\n"
     "removed, pending merges restart and are stopped again at exit, the committed\n"
     "state does not change), without reading index files, so every index is built\n"
     "from its bucket file by one scan. A missing or invalid index file is written,\n"
     "a valid one is kept (with --rebuild, rewritten). Prints one line per bucket\n"
     "file (wrote, replaced, kept, or exact) and a summary; a progress bar on stderr\n"
     "when it is a terminal.\n"
     "  --rebuild   rewrite every index file, valid or not\n" STORE_OPTIONS,
     cmd_index_main},
    {"import", "create a store from a history archive's checkpoint (buckets verified first)", NULL,
     import_main},
    {"publish", "publish a store's checkpoint into a history archive directory", NULL,
     publish_main},
    {"version", "print the library version", "usage: bucketdb version\n", version_main},
    {"help", "list the commands, or print one command's usage", "usage: bucketdb help [COMMAND]\n",
     help_main},
};
const size_t cli_n_commands = sizeof cli_commands / sizeof cli_commands[0];

static void overview(FILE *out)
{
    size_t w = 0;
    for (size_t i = 0; i < cli_n_commands; i++)
        if (strlen(cli_commands[i].name) > w) w = strlen(cli_commands[i].name);
    fprintf(out, "usage: bucketdb COMMAND [OPTIONS] [ARGUMENTS]\n\ncommands:\n");
    for (size_t i = 0; i < cli_n_commands; i++)
        fprintf(out, "  %-*s  %s\n", (int)w, cli_commands[i].name, cli_commands[i].summary);
    fprintf(out, "\n'bucketdb help COMMAND' or 'bucketdb COMMAND --help' prints a command's "
                 "usage.\nExit status: 0 success, 1 failure, 2 usage error.\n");
}

static int help_main(int argc, char **argv)
{
    if (argc == 1) {
        overview(stdout);
        return 0;
    }
    if (argc > 2) return cli_usage_error("help", "one COMMAND at most");
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h")) name = "help";
    const cli_command *c = cli_find(name);
    if (!c) {
        fprintf(stderr, "bucketdb: unknown command '%s'\n", argv[1]);
        overview(stderr);
        return 2;
    }
    if (c->usage) {
        fputs(c->usage, stdout);
        return 0;
    }
    char *av[] = {(char *)c->name, "--help", NULL};
    return c->main(2, av);
}

static int version_main(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) return cli_usage_error("version", "no arguments expected");
    printf("bucketdb %s\n", bdb_version());
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        overview(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h")) name = "help";
    if (!strcmp(name, "--version")) name = "version";
    const cli_command *c = cli_find(name);
    if (!c) {
        fprintf(stderr, "bucketdb: unknown command '%s'\n", name);
        overview(stderr);
        return 2;
    }
    if (c->usage && c->main != help_main && cli_wants_help(argc - 1, argv + 1)) {
        fputs(c->usage, stdout);
        return 0;
    }
    int rc = c->main(argc - 1, argv + 1);
    if (fflush(stdout) != 0 && rc == 0) {
        fprintf(stderr, "bucketdb %s: cannot write the output\n", name);
        rc = 1;
    }
    return rc;
}
