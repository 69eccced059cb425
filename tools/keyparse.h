/* Ledger keys given on the command line: base64 of the XDR, or JSON in
 * short forms ({"account":"G..."}, {"trustline":{...}}) or in the form
 * bdb_ledger_key_json prints (so a key printed by `dump` can be given
 * back). */
#ifndef BDB_TOOLS_KEYPARSE_H
#define BDB_TOOLS_KEYPARSE_H

#include <stddef.h>
#include <stdint.h>

/* Parses `arg` into a validated LedgerKey XDR (malloc'd into *xdr, the
 * caller frees). Returns 0, or -1 with the reason in err. */
int cli_parse_key(const char *arg, uint8_t **xdr, size_t *len, char *err, size_t errcap);

#endif
