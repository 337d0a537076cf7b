# weft_add_wasm_module(<name> SOURCES <task files>... [MAIN <file>] [NODE_ONLY]
#                      [OUTPUT_DIRECTORY <dir>])
#
# Builds your C tasks (files using WEFT_TASK) with the weft core into a module that the
# JavaScript API loads (wasm/README.md). In an Emscripten build (cmake --preset
# emscripten, or emcmake cmake) it makes, in OUTPUT_DIRECTORY (default: the current
# binary folder):
#   <name>.node.cjs + <name>.node.wasm   Node.js: the real file system (NODERAWFS), so
#                                        Memory caches on disk, in the native format
#   <name>.mjs + <name>.wasm             browsers and workers (ES module); not with NODE_ONLY
# Target <name> builds both.
# With MAIN (a file with main() that calls the tasks through the C API), every build also
# makes the command-line program <name>_cli from the same task files: natively an
# ordinary program; in a WASI build (cmake --preset wasi) <name>_cli.wasm, which runs
# under Node with `node cmake/wasi-run.mjs <name>_cli.wasm` (sequential backend, Memory on
# the disk store) or any WASI runtime. Without MAIN, native and WASI builds make nothing:
# the task files link into your own programs as they are.
#
# Three ways in, each tested (tests/install): weft's source tree through add_subdirectory;
# an installed weft through find_package(weft), which includes this file; and the npm
# package, which ships this file beside include/ and lib/libweft.a (built for Emscripten).
#
# The JS side compiles the .wasm itself and hands it to the loader (Emscripten 3.1's
# loader fetch()es a file path, which fails under Node >= 18), so both files travel together.
include_guard(GLOBAL)

# The link flags live in weft-emcc-flags.json beside this file (the npm package's
# weft-build reads the same file). Read now, kept as global properties: a variable set
# here would not reach a function called from the caller's own directories.
file(READ "${CMAKE_CURRENT_LIST_DIR}/weft-emcc-flags.json" _weft_flags_json)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${CMAKE_CURRENT_LIST_DIR}/weft-emcc-flags.json")
foreach(_weft_part common node web)
  string(JSON _weft_n LENGTH "${_weft_flags_json}" ${_weft_part})
  set(_weft_list "")
  math(EXPR _weft_last "${_weft_n} - 1")
  foreach(_weft_i RANGE ${_weft_last})
    string(JSON _weft_flag GET "${_weft_flags_json}" ${_weft_part} ${_weft_i})
    list(APPEND _weft_list "${_weft_flag}")
  endforeach()
  set_property(GLOBAL PROPERTY WEFT_EMCC_FLAGS_${_weft_part} "${_weft_list}")
endforeach()

# The npm package has no weft targets: it ships the core (with the JS API's glue) prebuilt
# for Emscripten in ../lib, its headers in ../include.
if(NOT TARGET weft::weft_static AND EMSCRIPTEN AND EXISTS "${CMAKE_CURRENT_LIST_DIR}/../lib/libweft.a")
  get_filename_component(_weft_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
  add_library(weft::weft_static STATIC IMPORTED GLOBAL)
  set_target_properties(weft::weft_static PROPERTIES
    IMPORTED_LOCATION "${_weft_root}/lib/libweft.a"
    INTERFACE_INCLUDE_DIRECTORIES "${_weft_root}/include")
endif()

function(weft_add_wasm_module name)
  cmake_parse_arguments(W "NODE_ONLY" "OUTPUT_DIRECTORY;MAIN" "SOURCES" ${ARGN})
  if(NOT TARGET weft::weft_static)
    message(FATAL_ERROR "weft_add_wasm_module(${name}): no weft::weft_static target: "
      "add_subdirectory(weft) or find_package(weft) first")
  endif()
  if(W_MAIN AND NOT EMSCRIPTEN)
    add_executable(${name}_cli ${W_MAIN} ${W_SOURCES})
    target_link_libraries(${name}_cli PRIVATE weft::weft_static)
    if(CMAKE_SYSTEM_NAME STREQUAL "WASI")
      set_target_properties(${name}_cli PROPERTIES SUFFIX .wasm)
      # WASI's default stack is 64 KiB; Memory keeps file paths on the stack
      target_link_options(${name}_cli PRIVATE -Wl,-z,stack-size=1048576)
    endif()
  endif()
  if(NOT EMSCRIPTEN)
    return()
  endif()
  if(CMAKE_C_FLAGS MATCHES "-pthread")
    # the JS API runs one batch at a time per instance; its parallelism is workers
    message(STATUS "weft_add_wasm_module(${name}): skipped in a -pthread build")
    return()
  endif()
  if(NOT W_SOURCES)
    message(FATAL_ERROR "weft_add_wasm_module(${name}): give the task files with SOURCES")
  endif()
  if(NOT W_OUTPUT_DIRECTORY)
    set(W_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  # Each instance runs one batch at a time; the JS side reads the heap after each call,
  # so memory may grow. The JS API's glue (wasm/src) is in libweft.a: the flags pull it in.
  get_property(common GLOBAL PROPERTY WEFT_EMCC_FLAGS_common)
  set(flavours node)
  if(NOT W_NODE_ONLY)
    list(APPEND flavours web)
  endif()
  set(targets "")
  foreach(flavour IN LISTS flavours)
    set(t ${name}_${flavour})
    add_executable(${t} ${W_SOURCES})
    target_link_libraries(${t} PRIVATE weft::weft_static)
    get_property(own GLOBAL PROPERTY WEFT_EMCC_FLAGS_${flavour})
    if(flavour STREQUAL "node")
      set_target_properties(${t} PROPERTIES OUTPUT_NAME ${name}.node SUFFIX .cjs)
      target_link_options(${t} PRIVATE ${common} ${own})
    else()
      set_target_properties(${t} PROPERTIES OUTPUT_NAME ${name} SUFFIX .mjs)
      target_link_options(${t} PRIVATE ${common} ${own})
    endif()
    set_target_properties(${t} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${W_OUTPUT_DIRECTORY})
    # emcc 3.1's optimiser needs the acorn module; Debian's node-acorn keeps it here
    if(EXISTS /usr/share/nodejs/acorn)
      set_target_properties(${t} PROPERTIES RULE_LAUNCH_LINK "env NODE_PATH=/usr/share/nodejs")
    endif()
    list(APPEND targets ${t})
  endforeach()
  add_custom_target(${name} ALL DEPENDS ${targets})
endfunction()
