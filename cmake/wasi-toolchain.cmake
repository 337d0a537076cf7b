# WASI preview 1 with Debian's clang-14 and wasi-libc (apt: clang-14, lld-14, wasi-libc,
# libclang-rt-14-dev-wasm32). Used by the `wasi` configure preset.
#
# Debian installs wasi-libc into /usr (headers in /usr/include/wasm32-wasi, libraries in
# /usr/lib/wasm32-wasi) instead of a sysroot of its own, and clang's wasm32-wasi driver
# then also searches /usr/local/include and /usr/include, where the host's glibc headers
# live. -nostdlibinc drops those; the wasi-libc headers come back after clang's own
# (stddef.h, stdatomic.h ...), the order a real WASI sysroot has. The driver already
# links from /usr/lib/wasm32-wasi and libclang_rt.builtins-wasm32.a.
set(CMAKE_SYSTEM_NAME WASI)
set(CMAKE_SYSTEM_VERSION 1)
set(CMAKE_SYSTEM_PROCESSOR wasm32)
# Platform/WASI.cmake (CMake has none of its own): sets WASI and the .wasm suffix.
list(APPEND CMAKE_MODULE_PATH "${CMAKE_CURRENT_LIST_DIR}")

set(WEFT_WASI_TRIPLE wasm32-wasi)
set(WEFT_WASI_INCLUDE /usr/include/${WEFT_WASI_TRIPLE} CACHE PATH "wasi-libc headers")
set(WEFT_WASI_LIB /usr/lib/${WEFT_WASI_TRIPLE} CACHE PATH "wasi-libc libraries")
if(NOT EXISTS "${WEFT_WASI_INCLUDE}/stdio.h" OR NOT EXISTS "${WEFT_WASI_LIB}/libc.a")
  message(FATAL_ERROR "wasi-libc not found in ${WEFT_WASI_INCLUDE} and ${WEFT_WASI_LIB} "
    "(apt-get install wasi-libc libclang-rt-14-dev-wasm32 lld-14 clang-14)")
endif()

find_program(WEFT_WASI_CC NAMES clang-14 clang REQUIRED)
set(CMAKE_C_COMPILER "${WEFT_WASI_CC}")
set(CMAKE_C_COMPILER_TARGET ${WEFT_WASI_TRIPLE})
set(CMAKE_C_FLAGS_INIT "-nostdlibinc -idirafter ${WEFT_WASI_INCLUDE}")
# (-Wno-unused-command-line-argument: the link line repeats the compile flags.)
# --stack-first: the stack (64 KiB by default) goes below the data, so overflowing it traps
# ("memory access out of bounds") instead of silently overwriting static data.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-L${WEFT_WASI_LIB} -Wno-unused-command-line-argument -Wl,--stack-first")
# GNU ar cannot index wasm objects (wasm-ld then rejects the archive): llvm-ar (apt llvm-14).
find_program(CMAKE_AR NAMES llvm-ar-14 llvm-ar REQUIRED)
find_program(CMAKE_RANLIB NAMES llvm-ranlib-14 llvm-ranlib REQUIRED)

# Nothing from the build machine: programs may be run, libraries and headers may not.
set(CMAKE_FIND_ROOT_PATH "${WEFT_WASI_LIB}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# CTest runs the programs through Node's node:wasi.
find_program(WEFT_NODE NAMES node nodejs)
if(WEFT_NODE)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${WEFT_NODE};--no-warnings;${CMAKE_CURRENT_LIST_DIR}/wasi-run.mjs"
    CACHE STRING "Runs WASI programs for CTest")
endif()
