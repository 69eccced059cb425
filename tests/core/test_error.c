#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "bucketdb/bucketdb.h"
#include "core/error.h"

TestSuite(error);

Test(error, every_code_has_its_own_text)
{
    for (int c = 0; c >= BDB_EFULL; c--) {
        const char *t = bdb_strerror(c);
        cr_assert_str_neq(t, "unknown error", "code %d has no text", c);
        for (int d = c + 1; d <= 0; d++)
            cr_assert_str_neq(t, bdb_strerror(d), "codes %d and %d share a text", c, d);
    }
}

Test(error, unknown_codes)
{
    cr_assert_str_eq(bdb_strerror(1), "unknown error");
    cr_assert_str_eq(bdb_strerror(BDB_EFULL - 1), "unknown error");
    cr_assert_str_eq(bdb_strerror(-100000), "unknown error");
}

Test(error, fresh_thread_has_no_error)
{
    bdb_error e;
    bdb_last_error(&e);
    cr_assert_eq(e.code, 0);
    cr_assert_str_eq(bdb_errmsg(), "");
}

Test(error, detail_with_path_and_offset)
{
    int rc = bdbi_err_at(BDB_EFORMAT, "store/x.idx", 4096, "bad magic %#x, expected %#x", 7u, 9u);
    cr_assert_eq(rc, BDB_EFORMAT);
    bdb_error e;
    bdb_last_error(&e);
    cr_assert_eq(e.code, BDB_EFORMAT);
    cr_assert_eq(e.offset, 4096);
    cr_assert_str_eq(e.path, "store/x.idx");
    cr_assert_str_eq(e.msg, "bad magic 0x7, expected 0x9");
    cr_assert_str_eq(bdb_errmsg(),
                     "malformed input: store/x.idx at offset 4096: bad magic 0x7, expected 0x9");
}

Test(error, detail_without_path)
{
    bdbi_err(BDB_EINVAL, "option threads = %u is out of range", 5000u);
    cr_assert_str_eq(bdb_errmsg(), "invalid argument: option threads = 5000 is out of range");
    bdb_error e;
    bdb_last_error(&e);
    cr_assert_eq(e.offset, -1);
    cr_assert_str_eq(e.path, "");
}

Test(error, system_errors_map_and_keep_errno)
{
    struct {
        int sys, code;
    } map[] = {{ENOSPC, BDB_ENOSPC}, {EDQUOT, BDB_ENOSPC},    {ENOMEM, BDB_ENOMEM},
               {EEXIST, BDB_EEXIST}, {ENOENT, BDB_ENOTFOUND}, {EIO, BDB_EIO},
               {EACCES, BDB_EIO}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        int rc = bdbi_err_sys(map[i].sys, "/d/f", "write failed");
        cr_assert_eq(rc, map[i].code, "errno %d", map[i].sys);
        bdb_error e;
        bdb_last_error(&e);
        cr_assert_eq(e.sys_errno, map[i].sys);
    }
    bdbi_err_sys(ENOSPC, "/d/f", "write at offset %d failed", 12);
    cr_assert_str_eq(bdb_errmsg(),
                     "no space left on device: /d/f: write at offset 12 failed (No space left on "
                     "device)");
}

Test(error, clear)
{
    bdbi_err(BDB_EIO, "x");
    bdb_clear_error();
    bdb_error e;
    bdb_last_error(&e);
    cr_assert_eq(e.code, 0);
    cr_assert_str_eq(bdb_errmsg(), "");
}

Test(error, overlong_inputs_are_truncated_not_overflowed)
{
    static char path[10000], msg[3000];
    memset(path, 'p', sizeof path - 1);
    memset(msg, 'm', sizeof msg - 1);
    bdbi_err_at(BDB_ECORRUPT, path, 1, "%s", msg);
    bdb_error e;
    bdb_last_error(&e);
    cr_assert_lt(strlen(e.path), sizeof path - 1);
    cr_assert_lt(strlen(e.msg), sizeof msg - 1);
    cr_assert_gt(strlen(bdb_errmsg()), 100);
}

static void *raise_in_thread(void *arg)
{
    (void)arg;
    bdbi_err(BDB_ECORRUPT, "from another thread");
    return NULL;
}

Test(error, detail_is_per_thread)
{
    bdbi_err(BDB_EINVAL, "mine");
    pthread_t t;
    pthread_create(&t, NULL, raise_in_thread, NULL);
    pthread_join(t, NULL);
    bdb_error e;
    bdb_last_error(&e);
    cr_assert_eq(e.code, BDB_EINVAL);
    cr_assert_str_eq(e.msg, "mine");
}
