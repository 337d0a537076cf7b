# ctest -P script: run example_tasks_cli twice on a fresh cache folder, named relative to
# the working directory (under WASI too: the runner's directory, not "/"). Both runs must
# print the golden pi estimates (pi_darts_8.txt: the same bits in every build); the first
# computes all 8, the second is served from the cache. Nothing else goes to stderr (no
# runner warnings).
#   -DPROG=program -DEMULATOR=runner-list (empty natively) -DWORK=scratch-folder
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
file(READ ${CMAKE_CURRENT_LIST_DIR}/pi_darts_8.txt golden)
foreach(run computes hits)
  execute_process(COMMAND ${EMULATOR} ${PROG} 8 cache WORKING_DIRECTORY ${WORK}
    OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "run '${run}': exit ${rc}\n${err}")
  endif()
  if(NOT out STREQUAL golden)
    message(FATAL_ERROR "run '${run}': output differs from pi_darts_8.txt:\n${out}")
  endif()
  if(run STREQUAL computes)
    set(want "cache: 0 hits, 8 misses")
  else()
    set(want "cache: 8 hits, 0 misses")
  endif()
  if(NOT err STREQUAL "${want}\n")
    message(FATAL_ERROR "run '${run}': expected only '${want}' on stderr, got:\n${err}")
  endif()
  if(NOT IS_DIRECTORY ${WORK}/cache)
    message(FATAL_ERROR "run '${run}': the relative cache folder is not in the working directory ${WORK}")
  endif()
endforeach()
message(STATUS "example_tasks_cli: golden output, computed then served from the cache")
