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
# The JS side compiles the .wasm itself and hands it to the loader (TOOLCHAIN.md: the
# loader's own fetch() of a file path fails under Node >= 18), so both files travel together.
set(WEFT_WASM_DIR ${CMAKE_CURRENT_LIST_DIR}/../wasm)

function(weft_add_wasm_module name)
  cmake_parse_arguments(W "NODE_ONLY" "OUTPUT_DIRECTORY;MAIN" "SOURCES" ${ARGN})
  if(W_MAIN AND NOT EMSCRIPTEN)
    add_executable(${name}_cli ${W_MAIN} ${W_SOURCES} ${WEFT_WASM_DIR}/src/no_shared.c)
    target_link_libraries(${name}_cli PRIVATE weft::weft_static)
    target_include_directories(${name}_cli PRIVATE ${WEFT_WASM_DIR}/include)
    if(WEFT_HOST STREQUAL "wasi")
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
  # so memory may grow. Exports: the weft_js_* functions (EMSCRIPTEN_KEEPALIVE) and these.
  set(common -O2 -sMODULARIZE=1 -sEXPORT_NAME=createWeftModule -sALLOW_MEMORY_GROWTH=1
    -sINITIAL_MEMORY=16MB -sEXIT_RUNTIME=0 -sEXPORTED_FUNCTIONS=_malloc,_free
    -sEXPORTED_RUNTIME_METHODS=UTF8ToString,stringToUTF8,lengthBytesUTF8)
  set(flavours node)
  if(NOT W_NODE_ONLY)
    list(APPEND flavours web)
  endif()
  set(targets "")
  foreach(flavour IN LISTS flavours)
    set(t ${name}_${flavour})
    add_executable(${t} ${W_SOURCES} ${WEFT_WASM_DIR}/src/weft_js.c
      ${WEFT_WASM_DIR}/src/weft_js_memory.c)
    target_link_libraries(${t} PRIVATE weft::weft_static)
    target_include_directories(${t} PRIVATE ${WEFT_WASM_DIR}/include)
    if(flavour STREQUAL "node")
      set_target_properties(${t} PROPERTIES OUTPUT_NAME ${name}.node SUFFIX .cjs)
      target_link_options(${t} PRIVATE ${common} -sENVIRONMENT=node -sNODERAWFS=1)
    else()
      set_target_properties(${t} PROPERTIES OUTPUT_NAME ${name} SUFFIX .mjs)
      target_link_options(${t} PRIVATE ${common} -sENVIRONMENT=web,worker -sEXPORT_ES6=1)
    endif()
    set_target_properties(${t} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${W_OUTPUT_DIRECTORY})
    # emcc's optimiser needs acorn; Debian keeps it here (TOOLCHAIN.md)
    if(EXISTS /usr/share/nodejs/acorn)
      set_target_properties(${t} PROPERTIES RULE_LAUNCH_LINK "env NODE_PATH=/usr/share/nodejs")
    endif()
    list(APPEND targets ${t})
  endforeach()
  add_custom_target(${name} ALL DEPENDS ${targets})
endfunction()
