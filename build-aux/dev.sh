#!/bin/sh
# The README's two commands.
#   sh build-aux/dev.sh main   set up, build, run the main job: the perf
#     harness at the quick scale (`make perf`), which prints its table
#   sh build-aux/dev.sh test   set up, then every check CI requires:
#     format, -Werror build + make check, ASan+UBSan make check, TSan
#     stress test, 40 s each of libFuzzer (clang) on the XDR parsers and the bucket reader, the
#     nettle SHA-256 backend, install + pkg-config consumer + uninstall,
#     and make distcheck.
# Build trees live in _build/<name>; the source tree stays clean.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)

sh build-aux/setup-debian.sh

bootstrap() {
    cp "$(automake --print-libdir)/tap-driver.sh" build-aux/
    autoreconf -fi >_autoreconf.log 2>&1 || { cat _autoreconf.log; exit 1; }
    rm -f _autoreconf.log
}

# configure_in NAME [configure args...]: a fresh build tree _build/NAME
configure_in() {
    name=$1
    shift
    rm -rf "_build/$name"
    mkdir -p "_build/$name"
    (cd "_build/$name" && "$top/configure" -q "$@")
}

# fails if any test log holds a sanitizer or valgrind report (Criterion
# passes a test whose worker printed one)
scan_logs() {
    if grep -lE 'runtime error|LeakSanitizer|AddressSanitizer|ThreadSanitizer|ERROR SUMMARY: [1-9]' \
        $(find "_build/$1" -name '*.log' ! -name config.log) 2>/dev/null; then
        echo "FAIL: sanitizer reports in _build/$1 (files above)" >&2
        exit 1
    fi
}

check_in() {
    name=$1
    if ! make -C "_build/$name" -j"$jobs" check >"_build/$name.check.out" 2>&1; then
        cat "_build/$name.check.out"
        find "_build/$name" -name '*.log' ! -name config.log ! -name test-suite.log \
            -exec grep -l -E '^not ok|^FAIL|^ERROR' {} + | xargs -r tail -n 40
        echo "FAIL: make check in _build/$name" >&2
        exit 1
    fi
    grep -E '^# (TOTAL|PASS|FAIL|ERROR)' "_build/$name.check.out" | sed "s|^|[$name] |"
    scan_logs "$name"
}

SAN="-O1 -g -fno-omit-frame-pointer"

case "${1:-}" in
main)
    bootstrap
    configure_in release CFLAGS="-O2 -g"
    make -C _build/release -j"$jobs" >/dev/null
    make -C _build/release -s perf PERF_OUT="$top/_build/perf-results/quick"
    ;;
test)
    bootstrap
    echo "== format"
    clang-format --dry-run -Werror $(git ls-files '*.c' '*.h')

    echo "== build with -Werror, make check"
    prefix="$top/_build/prefix"
    configure_in check --enable-werror --prefix="$prefix" CFLAGS="-O2 -g"
    make -C _build/check -j"$jobs" >/dev/null
    check_in check

    echo "== ASan + UBSan, make check"
    configure_in asan --enable-werror --disable-jemalloc \
        CFLAGS="$SAN -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
        LDFLAGS="-fsanitize=address,undefined"
    ASAN_OPTIONS="detect_leaks=1 allocator_may_return_null=1 ${ASAN_OPTIONS:-}" check_in asan

    echo "== ThreadSanitizer, plain-C stress tests"
    configure_in tsan --enable-werror --disable-jemalloc CFLAGS="$SAN -fsanitize=thread" \
        LDFLAGS="-fsanitize=thread"
    check_in tsan

    echo "== libFuzzer target (clang, ASan + UBSan), make fuzz"
    configure_in fuzz CC=clang --enable-fuzzing --disable-jemalloc --enable-werror
    if ! make -C _build/fuzz -j"$jobs" fuzz FUZZ_SECONDS=40 >_build/fuzz.out 2>&1; then
        grep -v -E '^#[0-9]+ +(NEW|REDUCE|pulse)' _build/fuzz.out | tail -n 60
        echo "FAIL: make fuzz (failing inputs: _build/fuzz/fuzz-failure-*)" >&2
        exit 1
    fi
    grep -E '^(fuzz_|corpus_from_vectors:|Done |stat::(average_exec_per_sec|new_units_added))' \
        _build/fuzz.out | sed 's|^|[fuzz] |'

    echo "== nettle SHA-256 backend, make check"
    configure_in nettle --enable-werror --with-sha256=nettle CFLAGS="-O2"
    check_in nettle

    echo "== install, pkg-config consumer, uninstall"
    rm -rf "$prefix"
    make -C _build/check install >/dev/null
    PKG_CONFIG_PATH="$prefix/lib/pkgconfig" sh tests/install_check.sh "$prefix"
    make -C _build/check uninstall >/dev/null
    left=$(find "$prefix" -type f | head -n 5)
    [ -z "$left" ] || { echo "FAIL: uninstall left $left" >&2; exit 1; }

    echo "== make distcheck"
    make -C _build/check distcheck >_build/distcheck.out 2>&1 ||
        { tail -n 60 _build/distcheck.out; echo "FAIL: distcheck" >&2; exit 1; }
    grep -E 'archives ready for distribution' _build/distcheck.out

    echo "ALL CHECKS PASSED"
    ;;
*)
    echo "usage: sh build-aux/dev.sh main|test" >&2
    exit 2
    ;;
esac
