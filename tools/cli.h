/* Shared parts of the bucketdb tool: the command table, argument and
 * error helpers, hex and base64, a small JSON writer, a progress bar,
 * and opening a store for inspection.
 *
 * Conventions of every command: results on stdout, errors on stderr as
 * "bucketdb CMD: what (naming the file)"; exit status 0 on success, 1
 * when the work failed (bad data, missing key, I/O), 2 for usage errors. */
#ifndef BDB_TOOLS_CLI_H
#define BDB_TOOLS_CLI_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bucketdb/bucketdb.h"
#include "bucketdb/list.h"
#include "hex.h"

/* ---- the command table (tools/bucketdb.c) ---- */

typedef struct cli_command {
    const char *name;
    const char *summary; /* one line, for `bucketdb help` */
    /* synopsis and options, for `bucketdb help CMD` and `CMD --help`; NULL
     * for a command that prints its own usage when given --help */
    const char *usage;
    int (*main)(int argc, char **argv); /* argv[0] is the command name */
} cli_command;

extern const cli_command cli_commands[];
extern const size_t cli_n_commands;

/* Adding a command: one entry in cli_commands (bucketdb.c) and its main
 * declared here (and its file in Makefile.am). */
int demo_main(int argc, char **argv);
int replay_main(int argc, char **argv);
int cmd_inspect_main(int argc, char **argv);
int cmd_dump_main(int argc, char **argv);
int cmd_verify_main(int argc, char **argv);
int cmd_merge_main(int argc, char **argv);
int cmd_key_main(int argc, char **argv);
int cmd_get_main(int argc, char **argv);
int cmd_stats_main(int argc, char **argv);
int cmd_index_main(int argc, char **argv);
int import_main(int argc, char **argv);  /* cmd_archive.c */
int publish_main(int argc, char **argv); /* cmd_archive.c */

const cli_command *cli_find(const char *name);
/* Prints the command's usage text to `out`. */
void cli_usage(FILE *out, const char *cmd);

/* ---- errors and arguments ---- */

/* "bucketdb CMD: message\n" on stderr. */
void cli_err(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The message, then the command's usage, on stderr; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* getopt_long's '?' or ':' (run with opterr = 0 and a leading ':' in the
 * short options): names the bad option and returns 2. */
int cli_bad_option(const char *cmd, int c, int argc, char **argv);
/* Strict decimal parsing of option `opt`'s value into [min, max];
 * returns 0, or prints why (cli_usage_error) and returns 2. */
int cli_parse_u32(const char *cmd, const char *opt, const char *s, uint32_t min, uint32_t max,
                  uint32_t *out);
/* `--help` or `-h` anywhere before a `--`: the command prints its usage. */
int cli_wants_help(int argc, char **argv);

/* ---- hex and base64 ---- */

/* tool_hex (hex.h) writes lowercase hex. Exactly 2n hex digits (either case) into n bytes; 0 or -1.
 */
int cli_unhex(const char *s, size_t slen, uint8_t *out, size_t n);
/* Base64 (RFC 4648, padded) of d[0..n) into out, which holds
 * CLI_B64_LEN(n) bytes including the NUL. */
#define CLI_B64_LEN(n) (((size_t)(n) + 2) / 3 * 4 + 1)
void cli_b64encode(const uint8_t *d, size_t n, char *out);
/* Strict base64 (padding required) of s[0..n) into out (at least
 * n / 4 * 3 bytes); returns the decoded length or -1. */
long cli_b64decode(const char *s, size_t n, uint8_t *out);

/* If `path`'s last component is bucket-<64 hex>.xdr or .xdr.gz, stores
 * the hash (and whether it is .gz) and returns 1; else 0. */
int cli_bucket_name_hash(const char *path, uint8_t hash[32], int *gz);

/* ---- JSON output ----
 * A streaming writer of one compact JSON value: keys in the order written,
 * strings escaped, 64-bit integers as numbers. Nesting up to 16. */
typedef struct cli_json {
    FILE *f;
    int depth;
    int count[16]; /* values written at each depth */
    int after_key;
} cli_json;

void cj_init(cli_json *j, FILE *f);
void cj_key(cli_json *j, const char *key);
void cj_obj(cli_json *j);
void cj_obj_end(cli_json *j);
void cj_arr(cli_json *j);
void cj_arr_end(cli_json *j);
void cj_str(cli_json *j, const char *s);
void cj_strn(cli_json *j, const char *s, size_t n);
void cj_u64(cli_json *j, uint64_t v);
void cj_i64(cli_json *j, int64_t v);
void cj_bool(cli_json *j, int v);
void cj_null(cli_json *j);
void cj_double(cli_json *j, double v);
/* A value that is already JSON text (e.g. bdb_ledger_key_json's). */
void cj_raw(cli_json *j, const char *json);
/* Ends a JSON Lines record: a newline. */
void cj_end(cli_json *j);

/* ---- progress ----
 * A bar on stderr for long work, drawn only when stderr is a terminal, at
 * most ten times a second; nothing at all when stderr is a pipe or file. */
typedef struct cli_progress {
    int on;
    const char *label;
    uint64_t total, done;
    double last;
    int drawn;
} cli_progress;

void cli_progress_start(cli_progress *p, const char *label, uint64_t total);
void cli_progress_set(cli_progress *p, uint64_t done);
/* Erases the bar (before printing a result line; the next set redraws). */
void cli_progress_clear(cli_progress *p);
void cli_progress_end(cli_progress *p);

/* ---- stores ---- */

/* The read-side options every store command takes. */
typedef struct cli_store_args {
    uint32_t cutoff_mb, page_exponent, cache_mb;
} cli_store_args;

/* getopt_long entries for --cutoff-mb (1001), --page-exponent (1002),
 * --cache-mb (1003), and the parser of their values (0, or 2 after a
 * usage error). */
#define CLI_STORE_LONGOPTS                                                                         \
    {"cutoff-mb", 1, NULL, 1001}, {"page-exponent", 1, NULL, 1002},                                \
    {                                                                                              \
        "cache-mb", 1, NULL, 1003                                                                  \
    }
void cli_store_args_init(cli_store_args *a);
int cli_store_arg(const char *cmd, int c, const char *val, cli_store_args *a);

/* Opens the existing store in `dir` (never creates one) with the given
 * read-side options, `read_only` and `persist_index` (bdb_list_options).
 * Prints the error and returns 1 on failure (*env and *l NULL). */
int cli_store_open(const char *cmd, const char *dir, const cli_store_args *a, int read_only,
                   int persist_index, bdb_env **env, bdb_list **l);
/* Closes both; returns 0, or 1 after printing an error. */
int cli_store_close(const char *cmd, bdb_env *env, bdb_list *l);

/* Name of a BucketEntryType (hot = 0) or HotArchiveBucketEntryType. */
const char *cli_record_type_name(int hot, int32_t type);

#endif
