/* Thread-local variables read on hot paths. In a shared library the
 * default (general-dynamic) model reaches each through a call to
 * __tls_get_addr, ~30 instructions per access; the initial-exec model is
 * one load off the thread pointer. Its cost is a few bytes of the static
 * TLS block that glibc keeps spare for libraries, so only small variables
 * on hot paths use it. */
#ifndef BDB_CORE_TLS_H
#define BDB_CORE_TLS_H

#define BDBI_TLS_HOT _Thread_local __attribute__((tls_model("initial-exec")))

#endif
