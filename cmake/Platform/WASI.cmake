# CMake 3.25 knows no WASI platform; cmake/wasi-toolchain.cmake puts this folder on
# CMAKE_MODULE_PATH so that `CMAKE_SYSTEM_NAME WASI` finds this file.
set(WASI 1)
set(UNIX 1)
set(CMAKE_EXECUTABLE_SUFFIX ".wasm")
set(CMAKE_STATIC_LIBRARY_PREFIX "lib")
set(CMAKE_STATIC_LIBRARY_SUFFIX ".a")
