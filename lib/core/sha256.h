/* SHA-256 over the configured backend (--with-sha256=openssl|nettle).
 * Incremental hashing for bucket files; one-shot for small inputs. */
#ifndef BDB_CORE_SHA256_H
#define BDB_CORE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#ifdef SHA256_NETTLE
#include <nettle/sha2.h>
#endif

#define BDBI_SHA256_LEN 32

typedef struct bdbi_sha256 {
#ifdef SHA256_NETTLE
    struct sha256_ctx ctx;
#else
    void *ctx; /* EVP_MD_CTX */
#endif
} bdbi_sha256;

/* Starts a hash. Returns 0 or BDB_ENOMEM. */
int bdbi_sha256_init(bdbi_sha256 *h);
void bdbi_sha256_update(bdbi_sha256 *h, const void *data, size_t n);
/* Writes the digest and releases the state; `h` may be initialised again. */
void bdbi_sha256_final(bdbi_sha256 *h, uint8_t out[BDBI_SHA256_LEN]);
/* Releases a hash that will not be finished. */
void bdbi_sha256_discard(bdbi_sha256 *h);
/* One-shot digest of `n` bytes. Returns 0 or BDB_ENOMEM. */
int bdbi_sha256_digest(const void *data, size_t n, uint8_t out[BDBI_SHA256_LEN]);

/* Name of the backend ("openssl" or "nettle"). */
const char *bdbi_sha256_backend(void);

#endif
