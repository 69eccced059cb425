/* Fetching one object of a history archive into a local file, as
 * stellar-core does it: through a `get` command template run by the shell,
 * or (no template) by copying from a local archive directory. */
#ifndef BDB_ARCHIVE_FETCH_H
#define BDB_ARCHIVE_FETCH_H

#include "bucketdb/archive.h"

/* Fetches `remote` (a path relative to the archive's root) into `local`,
 * atomically: the command writes a temporary file that is renamed to
 * `local` only when the command exited 0 and left a regular file. Tries
 * 1 + opts->retries times, pausing a little longer each time. Errors:
 * BDB_ENOTFOUND (no template, the object is not in `root`), BDB_EIO (the
 * command failed: the message names the object, the command and its exit
 * status), or a file-system error naming `local`. */
int bdbi_fetch(bdb_env *env, const bdb_archive_options *opts, const char *remote,
               const char *local);

/* The command that fetches `remote` into `local`: opts->get with {0} and
 * {1} replaced by the shell-quoted paths. BDB_EINVAL if it does not fit in
 * `cap` bytes. */
int bdbi_fetch_command(const char *get, const char *remote, const char *local, char *buf,
                       size_t cap);

#endif
