#include "config.h"

#include "record.h"

#include "core/error.h"
#include "schema.h"

int bdbi_record_next(const uint8_t *buf, size_t len, size_t *pos, const char *label, int64_t base,
                     const uint8_t **body, size_t *body_len)
{
    size_t at = *pos;
    int64_t off = base + (int64_t)at;
    if (at > len || len - at < BDBI_RECORD_MARK_LEN)
        return bdbi_err_at(BDB_EFORMAT, label, off,
                           "truncated record mark: %zu bytes left, 4 expected",
                           at > len ? 0 : len - at);
    uint32_t mark = bdbi_be32(buf + at);
    if (!(mark & BDBI_RECORD_LAST_FRAGMENT))
        return bdbi_err_at(BDB_EFORMAT, label, off,
                           "record mark %#010x lacks the last-fragment bit (multi-fragment "
                           "records are not used by stellar-core)",
                           mark);
    uint32_t n = mark & ~BDBI_RECORD_LAST_FRAGMENT;
    if (n % 4)
        return bdbi_err_at(BDB_EFORMAT, label, off, "record length %u is not a multiple of 4", n);
    if (n > len - at - BDBI_RECORD_MARK_LEN)
        return bdbi_err_at(BDB_EFORMAT, label, off, "truncated record: %u bytes declared, %zu left",
                           n, len - at - BDBI_RECORD_MARK_LEN);
    *body = buf + at + BDBI_RECORD_MARK_LEN;
    *body_len = n;
    *pos = at + BDBI_RECORD_MARK_LEN + n;
    return 0;
}
