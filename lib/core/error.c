/* Per-thread error detail. One fixed buffer per thread: raising an error
 * never allocates, so it works when memory is exhausted. */
#include "config.h"

#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MSG_MAX      512
#define PATH_MAX_LEN 4096

struct err_state {
    int code;
    int sys_errno;
    int64_t offset;
    char path[PATH_MAX_LEN];
    char msg[MSG_MAX];
    char line[MSG_MAX + PATH_MAX_LEN + 128];
};

static _Thread_local struct err_state tls_err;

static const char *const code_text[] = {
    [0] = "success",
    [-BDB_EINVAL] = "invalid argument",
    [-BDB_ENOMEM] = "out of memory",
    [-BDB_EIO] = "I/O error",
    [-BDB_ENOSPC] = "no space left on device",
    [-BDB_EFORMAT] = "malformed input",
    [-BDB_ECORRUPT] = "corrupt data",
    [-BDB_ELOCKED] = "locked by another holder",
    [-BDB_ENOTFOUND] = "not found",
    [-BDB_EEXIST] = "already exists",
    [-BDB_ESHUTDOWN] = "shut down",
    [-BDB_ECANCELED] = "canceled",
    [-BDB_EAGAIN] = "not ready, try again",
    [-BDB_EBUSY] = "still in use",
    [-BDB_EPROTOCOL] = "not allowed at this protocol version",
    [-BDB_EINTERNAL] = "internal error",
    [-BDB_EFULL] = "size limit reached",
};

BDB_API const char *bdb_strerror(int code)
{
    if (code > 0 || -code >= (int)(sizeof code_text / sizeof code_text[0]) || !code_text[-code])
        return "unknown error";
    return code_text[-code];
}

static int record(int code, int sys_errno, const char *path, int64_t offset, const char *fmt,
                  va_list ap) BDBI_PRINTF(5, 0);

static int record(int code, int sys_errno, const char *path, int64_t offset, const char *fmt,
                  va_list ap)
{
    struct err_state *e = &tls_err;
    e->code = code;
    e->sys_errno = sys_errno;
    e->offset = offset;
    snprintf(e->path, sizeof e->path, "%s", path ? path : "");
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    e->line[0] = '\0';
    return code;
}

int bdbi_err(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    record(code, 0, NULL, -1, fmt, ap);
    va_end(ap);
    return code;
}

int bdbi_err_at(int code, const char *path, int64_t offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    record(code, 0, path, offset, fmt, ap);
    va_end(ap);
    return code;
}

static int errno_code(int sys_errno)
{
    switch (sys_errno) {
    case ENOSPC:
    case EDQUOT:
        return BDB_ENOSPC;
    case ENOMEM:
        return BDB_ENOMEM;
    case EEXIST:
        return BDB_EEXIST;
    case ENOENT:
        return BDB_ENOTFOUND;
    default:
        return BDB_EIO;
    }
}

int bdbi_err_sys(int sys_errno, const char *path, const char *fmt, ...)
{
    int code = errno_code(sys_errno);
    va_list ap;
    va_start(ap, fmt);
    record(code, sys_errno, path, -1, fmt, ap);
    va_end(ap);
    return code;
}

void bdbi_err_save(bdbi_err_saved *s)
{
    _Static_assert(sizeof s->path == PATH_MAX_LEN && sizeof s->msg == MSG_MAX, "sizes");
    s->code = tls_err.code;
    s->sys_errno = tls_err.sys_errno;
    s->offset = tls_err.offset;
    memcpy(s->path, tls_err.path, sizeof s->path);
    memcpy(s->msg, tls_err.msg, sizeof s->msg);
}

int bdbi_err_restore(const bdbi_err_saved *s)
{
    struct err_state *e = &tls_err;
    e->code = s->code;
    e->sys_errno = s->sys_errno;
    e->offset = s->offset;
    memcpy(e->path, s->path, sizeof e->path);
    memcpy(e->msg, s->msg, sizeof e->msg);
    e->line[0] = '\0';
    return s->code;
}

BDB_API void bdb_last_error(bdb_error *out)
{
    const struct err_state *e = &tls_err;
    out->code = e->code;
    out->sys_errno = e->sys_errno;
    out->offset = e->offset;
    out->path = e->path;
    out->msg = e->msg;
}

BDB_API const char *bdb_errmsg(void)
{
    struct err_state *e = &tls_err;
    if (e->code == 0) return "";
    if (e->line[0]) return e->line;
    size_t n = (size_t)snprintf(e->line, sizeof e->line, "%s: ", bdb_strerror(e->code));
    if (e->path[0] && n < sizeof e->line) {
        if (e->offset >= 0)
            n += (size_t)snprintf(e->line + n, sizeof e->line - n, "%s at offset %lld: ", e->path,
                                  (long long)e->offset);
        else
            n += (size_t)snprintf(e->line + n, sizeof e->line - n, "%s: ", e->path);
    }
    if (n < sizeof e->line) n += (size_t)snprintf(e->line + n, sizeof e->line - n, "%s", e->msg);
    if (e->sys_errno && n < sizeof e->line) {
        char buf[128];
        /* GNU strerror_r: thread-safe, may return a static string */
        snprintf(e->line + n, sizeof e->line - n, " (%s)",
                 strerror_r(e->sys_errno, buf, sizeof buf));
    }
    return e->line;
}

BDB_API void bdb_clear_error(void)
{
    tls_err.code = 0;
    tls_err.sys_errno = 0;
    tls_err.offset = -1;
    tls_err.path[0] = '\0';
    tls_err.msg[0] = '\0';
    tls_err.line[0] = '\0';
}
