#!/usr/bin/env bash
# An outside project (this folder) uses weft the ways a user would, natively:
#  - installed into a temporary prefix: CMake's find_package(weft) (weft::weft,
#    weft::weft_static, and weft_add_wasm_module's command-line program), and a plain
#    compiler line from pkg-config: the shared library found at run time through the rpath
#    the README gives (no LD_LIBRARY_PATH), and libweft.a linked fully static (no libxxhash);
#  - weft's source tree through add_subdirectory (the same three programs).
# The WebAssembly side (emcmake, the JS API's module) is run-wasm.sh's.
#
#   run.sh BUILD_DIR [CC] [CFLAGS] [LDFLAGS]
#
# CFLAGS/LDFLAGS are the build's own (sanitizer builds need the same flags in the
# consumer). Needs cmake, pkg-config and a C compiler.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR [CC] [CFLAGS] [LDFLAGS]}" && pwd)
cc=${2:-cc}
cflags=${3:-}
ldflags=${4:-}
read -r -a cflag_list <<< "$cflags"
read -r -a ldflag_list <<< "$ldflags"

fail() { echo "install test: $*" >&2; exit 1; }
command -v pkg-config > /dev/null || fail "pkg-config is not installed (Debian: apt-get install pkg-config)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/weft-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
want_sum=15687562500 # sum of k^3 for k = 1..500

# ---- install
cmake --install "$build" --prefix "$prefix" > "$tmp/install.log" || { cat "$tmp/install.log"; fail "cmake --install failed"; }
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:[A-Z]*=//p' "$build/CMakeCache.txt")
[ -n "$libdir" ] || fail "no CMAKE_INSTALL_LIBDIR in $build/CMakeCache.txt"
case $libdir in /*) fail "absolute CMAKE_INSTALL_LIBDIR ($libdir) cannot be relocated" ;; esac
for f in include/weft.h include/weft_memory.h include/weft_wasm.h "$libdir/libweft.a" "$libdir/pkgconfig/weft.pc" \
         "$libdir/cmake/weft/weftConfig.cmake" "$libdir/cmake/weft/weftConfigVersion.cmake" \
         "$libdir/cmake/weft/weftTargets.cmake" "$libdir/cmake/weft/WeftWasm.cmake"; do
    [ -f "$prefix/$f" ] || { cat "$tmp/install.log"; fail "not installed: $f"; }
done
if ls "$prefix/$libdir"/libweft.so* > /dev/null 2>&1; then shared=1; else shared=0; fi
# only the public headers are installed (and weft_mpi.h where the mpi backend was built)
[ "$(find "$prefix/include" -type f ! -name weft_mpi.h | wc -l)" -eq 3 ] || fail "headers other than weft.h, weft_memory.h and weft_wasm.h installed"

check_output() { # name, output
    case $2 in
        "consumer ok: weft 0.1.0,"*"sum of positive cubes $want_sum") echo "$1: $2" ;;
        *) fail "$1 printed: $2" ;;
    esac
}

# ---- CMake: find_package(weft)
cmake -S "$here" -B "$tmp/cmake-build" -DCMAKE_BUILD_TYPE=Debug \
      -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
      -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$cflags" -DCMAKE_EXE_LINKER_FLAGS="$ldflags" \
      > "$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log"; fail "the consumer's CMake configure failed"; }
grep -q "weft_DIR:PATH=$prefix/" "$tmp/cmake-build/CMakeCache.txt" || fail "find_package(weft) did not find the installed package"
cmake --build "$tmp/cmake-build" > "$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; fail "the consumer's CMake build failed"; }
# (ldd's output is captured first: grep -q may close the pipe early, failing it under pipefail)
if [ "$shared" = 1 ]; then
    libs=$(ldd "$tmp/cmake-build/consumer")
    grep -q "$prefix/$libdir/libweft.so" <<< "$libs" || { echo "$libs"; fail "CMake consumer does not use the installed libweft.so"; }
fi
check_output "cmake, weft::weft" "$("$tmp/cmake-build/consumer")"
check_output "cmake, weft::weft_static" "$("$tmp/cmake-build/consumer_static")"
check_output "cmake, weft_add_wasm_module's program" "$("$tmp/cmake-build/consumer_tasks_cli")"

# ---- pkg-config
export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
[ "$(pkg-config --modversion weft)" = 0.1.0 ] || fail "pkg-config --modversion weft: $(pkg-config --modversion weft)"
pc_flags=$(pkg-config --cflags --libs weft)
case " $pc_flags " in *" -I$prefix/include "*) ;; *) fail "pkg-config --cflags does not point into the prefix: $pc_flags" ;; esac
case " $pc_flags " in *" -L$prefix/$libdir "*) ;; *) fail "pkg-config --libs does not point into the prefix: $pc_flags" ;; esac
read -r -a pc_list <<< "$pc_flags"
# the README's line: the library's folder as the program's rpath, so it runs as it is
rpath=-Wl,-rpath,$(pkg-config --variable=libdir weft)
"$cc" "${cflag_list[@]}" -Wall -Wextra -Werror "$here/consumer.c" "$here/cube.c" -o "$tmp/consumer-pc" \
    "${pc_list[@]}" "$rpath" "${ldflag_list[@]}" || fail "cc consumer.c cube.c \$(pkg-config --cflags --libs weft) failed"
if [ "$shared" = 1 ]; then
    libs=$(env -u LD_LIBRARY_PATH ldd "$tmp/consumer-pc")
    grep -q "$prefix/$libdir/libweft.so" <<< "$libs" || { echo "$libs"; fail "pkg-config consumer does not use the installed libweft.so"; }
fi
check_output "pkg-config, shared (rpath)" "$(env -u LD_LIBRARY_PATH "$tmp/consumer-pc")"

# the README's first program, built with the command under it, runs
awk '/<!-- first-program/ {on = 1; next} on && /^```c/ {c = 1; next} c && /^```/ {exit} c' \
    "$here/../../README.md" > "$tmp/square.c"
[ -s "$tmp/square.c" ] || fail "README.md has no first-program block"
[ "$(wc -l < "$tmp/square.c")" -le 10 ] || fail "README.md's first program is longer than 10 lines"
readme_cmd=$(awk '/<!-- first-program/ {on = 1} on && /^```sh/ {s = 1; next} s && /^```/ {exit} s' "$here/../../README.md")
case $readme_cmd in "cc square.c "*"-o square") ;; *) fail "README.md's build command is not 'cc square.c ... -o square': $readme_cmd" ;; esac
(cd "$tmp" && CC="$cc" eval "${readme_cmd/#cc /\"\$CC\" ${cflag_list[*]} } ${ldflag_list[*]}") || fail "README.md's build command failed"
env -u LD_LIBRARY_PATH "$tmp/square" || fail "README.md's first program failed"
echo "README's first program: built and ran"

# fully static weft: the archive plus Libs.private, and no libxxhash (compiled in)
read -r -a pc_static <<< "$(pkg-config --static --libs-only-other weft) $(pkg-config --static --libs-only-l weft | sed 's/-lweft//')"
"$cc" "${cflag_list[@]}" $(pkg-config --cflags weft) "$here/consumer.c" "$here/cube.c" -o "$tmp/consumer-pc-static" \
    "$prefix/$libdir/libweft.a" "${pc_static[@]}" "${ldflag_list[@]}" || fail "static link with pkg-config --static failed"
case " ${pc_static[*]} " in *xxhash*) fail "pkg-config --static still asks for libxxhash: ${pc_static[*]}" ;; esac
libs=$(ldd "$tmp/consumer-pc-static" || true)
if grep -q 'libweft\|libxxhash' <<< "$libs"; then echo "$libs"; fail "the static program still loads libweft or libxxhash"; fi
check_output "pkg-config, static" "$("$tmp/consumer-pc-static")"

# ---- CMake: add_subdirectory(weft) from the source tree
cmake -S "$here" -B "$tmp/subdir-build" -DCMAKE_BUILD_TYPE=Release -DWEFT_SOURCE_DIR="$here/../.." \
      -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$cflags" -DCMAKE_EXE_LINKER_FLAGS="$ldflags" \
      -DCMAKE_SHARED_LINKER_FLAGS="$ldflags" \
      > "$tmp/subdir-configure.log" 2>&1 || { cat "$tmp/subdir-configure.log"; fail "add_subdirectory(weft): configure failed"; }
cmake --build "$tmp/subdir-build" -j "$(nproc 2>/dev/null || echo 2)" > "$tmp/subdir-build.log" 2>&1 \
    || { tail -40 "$tmp/subdir-build.log"; fail "add_subdirectory(weft): build failed"; }
for prog in consumer consumer_static consumer_tasks_cli; do
    check_output "add_subdirectory, $prog" "$("$tmp/subdir-build/$prog")"
done

# the mpi backend, where it was built: pkg-config weft-mpi, run under mpirun
if [ -f "$prefix/$libdir/pkgconfig/weft-mpi.pc" ] && command -v mpirun > /dev/null; then
    read -r -a pc_mpi <<< "$(pkg-config --cflags --libs weft-mpi)"
    "$cc" "${cflag_list[@]}" -Wall -Wextra -Werror "$here/consumer_mpi.c" -o "$tmp/consumer-mpi" "${pc_mpi[@]}" \
        "${ldflag_list[@]}" || fail "cc consumer_mpi.c \$(pkg-config --cflags --libs weft-mpi) failed"
    # Open MPI's own allocations outlive MPI_Finalize, and its locks nest in orders TSan
    # flags: a sanitizer build counts neither (tests/mpi/tsan.supp, as the mpi suites do)
    out=$(OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 \
          ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
          TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS }suppressions=$here/../mpi/tsan.supp" \
          timeout 60 mpirun -np 2 "$tmp/consumer-mpi") || fail "consumer_mpi under mpirun: $out"
    check_output "pkg-config weft-mpi, mpirun -np 2" "$out"
fi

echo "install test passed"
