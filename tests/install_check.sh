#!/bin/sh
# Builds a consumer program against an installed bucketdb with nothing but
# pkg-config, and runs it: the headers, bucketdb.pc (Libs and
# Requires.private) and the shared library must all be right.
# usage: PKG_CONFIG_PATH=<prefix>/lib/pkgconfig sh tests/install_check.sh <prefix>
set -eu
prefix=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/consumer.c" <<'C'
#include <bucketdb/bucketdb.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    bdb_env *env;
    bdb_env_options o;
    bdb_env_options_init(&o);
    o.threads = 2;
    if (bdb_env_open(&o, &env) != 0) { fprintf(stderr, "%s\n", bdb_errmsg()); return 1; }
    bdb_stats st;
    bdb_env_stats(env, &st);
    printf("consumer: bucketdb %s, %u threads, %llu bytes\n", bdb_version(),
           st.pool.threads, (unsigned long long)st.mem_total.bytes);
    return bdb_env_close(env) == 0 && st.pool.threads == 2 ? 0 : 1;
}
C
cc -std=gnu11 -Wall -Werror $(pkg-config --cflags bucketdb) "$work/consumer.c" -o "$work/consumer" \
    $(pkg-config --libs bucketdb)
LD_LIBRARY_PATH="$prefix/lib" "$work/consumer"
# a static-style link line must name the private dependencies
pkg-config --libs --static bucketdb | grep -q -- '-lurcu-memb' ||
    { echo "install_check: Requires.private is incomplete" >&2; exit 1; }
echo "install_check: OK"
