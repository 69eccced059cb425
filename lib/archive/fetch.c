#include "config.h"

#include "fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/fs.h"

extern char **environ;

#define COPY_CHUNK ((size_t)1 << 20)

/* Appends `s` single-quoted for sh: quotes join with what surrounds them,
 * so "https://host/{0}" stays one word whatever the path holds. */
static int put_quoted(char *buf, size_t cap, size_t *at, const char *s)
{
    size_t n = *at;
    if (n + 1 >= cap) return -1;
    buf[n++] = '\'';
    for (; *s; s++) {
        const char *piece = *s == '\'' ? "'\\''" : NULL;
        size_t len = piece ? 4 : 1;
        if (n + len + 1 >= cap) return -1;
        if (piece)
            memcpy(buf + n, piece, len);
        else
            buf[n] = *s;
        n += len;
    }
    if (n + 1 >= cap) return -1;
    buf[n++] = '\'';
    *at = n;
    return 0;
}

int bdbi_fetch_command(const char *get, const char *remote, const char *local, char *buf,
                       size_t cap)
{
    size_t n = 0;
    for (const char *p = get; *p; p++) {
        if (p[0] == '{' && (p[1] == '0' || p[1] == '1') && p[2] == '}') {
            if (put_quoted(buf, cap, &n, p[1] == '0' ? remote : local))
                return bdbi_err(BDB_EINVAL, "archive get command too long for %s", remote);
            p += 2;
            continue;
        }
        if (n + 1 >= cap)
            return bdbi_err(BDB_EINVAL, "archive get command too long for %s", remote);
        buf[n++] = *p;
    }
    buf[n] = 0;
    return 0;
}

/* Runs `cmd` with /bin/sh, its standard output sent to standard error (a
 * library must not write to the application's output). Returns the wait
 * status, or -1 with errno when it could not be started. */
static int run_shell(const char *cmd)
{
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa)) return -1;
    (void)posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
    char *argv[] = {"sh", "-c", (char *)cmd, NULL};
    pid_t pid;
    int e = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e) {
        errno = e;
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return status;
}

static int copy_from_root(bdb_env *env, const char *root, const char *remote, const char *local)
{
    char src[PATH_MAX];
    if ((size_t)snprintf(src, sizeof src, "%s/%s", root, remote) >= sizeof src)
        return bdbi_err(BDB_EINVAL, "archive path too long: %s/%s", root, remote);
    int fd = open(src, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT
                   ? bdbi_err_at(BDB_ENOTFOUND, src, -1, "the archive has no %s", remote)
                   : bdbi_err_sys(errno, src, "cannot open archive object");
    uint8_t *buf = bdbi_malloc(env, BDB_MEM_ARCHIVE, COPY_CHUNK);
    bdbi_file *out = NULL;
    int rc = buf ? bdbi_file_create(env, local, BDBI_FS_NOSYNC, 0, &out) : BDB_ENOMEM;
    while (!rc) {
        ssize_t r = read(fd, buf, COPY_CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) rc = bdbi_err_sys(errno, src, "read failed");
        if (r <= 0) break;
        rc = bdbi_file_write(out, buf, (size_t)r);
    }
    if (out) {
        if (!rc)
            rc = bdbi_file_commit(out);
        else
            bdbi_file_abort(out);
    }
    close(fd);
    if (buf) bdbi_free(env, BDB_MEM_ARCHIVE, buf, COPY_CHUNK);
    return rc;
}

static int run_get(bdb_env *env, const char *get, const char *remote, const char *tmp)
{
    char cmd[3 * PATH_MAX];
    int rc = bdbi_fetch_command(get, remote, tmp, cmd, sizeof cmd);
    if (rc) return rc;
    if ((rc = bdbi_fs_fault(env, BDB_FS_WRITE, tmp)) != 0)
        return bdbi_err_sys(rc, tmp, "cannot fetch %s", remote);
    int st = run_shell(cmd);
    if (st < 0)
        return bdbi_err_sys(errno, tmp, "cannot run the archive get command for %s", remote);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return bdbi_err(BDB_EIO, "fetching %s: `%s` %s %d", remote, cmd,
                        WIFEXITED(st) ? "exited with status" : "was killed by signal",
                        WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    struct stat sb;
    if (stat(tmp, &sb) != 0 || !S_ISREG(sb.st_mode))
        return bdbi_err(BDB_EIO, "fetching %s: `%s` exited 0 but wrote no file", remote, cmd);
    return 0;
}

int bdbi_fetch(bdb_env *env, const bdb_archive_options *opts, const char *remote, const char *local)
{
    if (!opts->get && !opts->root)
        return bdbi_err(BDB_EINVAL, "archive options: neither a get command nor a root");
    char tmp[PATH_MAX];
    int rc = bdbi_fs_tmp_name(env, local, "fetch-", tmp, sizeof tmp);
    if (rc) return rc;
    for (uint32_t attempt = 0;; attempt++) {
        if (opts->get) {
            rc = run_get(env, opts->get, remote, tmp);
            if (!rc) rc = bdbi_fs_rename(env, tmp, local);
        } else {
            rc = copy_from_root(env, opts->root, remote, local); /* atomic itself */
        }
        if (!rc) return 0;
        (void)unlink(tmp);
        if (rc == BDB_ENOTFOUND || rc == BDB_EINVAL || attempt >= opts->retries) return rc;
        struct timespec pause = {0, 50 * 1000 * 1000 * (long)(attempt + 1)};
        nanosleep(&pause, NULL);
    }
}
