# Install rules: the header, the libraries, a CMake package (find_package(weft)) and a
# pkg-config file (pkg-config --cflags --libs weft).
include(CMakePackageConfigHelpers)

# weft_wasm.h: what a task asks of the JavaScript side (natively: no shared data).
install(FILES core/include/weft.h core/include/weft_memory.h wasm/include/weft_wasm.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(WEFT_HAVE_MPI)
  install(FILES mpi/include/weft_mpi.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endif()
install(TARGETS ${WEFT_INSTALL_TARGETS} EXPORT weftTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT weftTargets NAMESPACE weft:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/weft)

configure_package_config_file(cmake/weftConfig.cmake.in
  ${PROJECT_BINARY_DIR}/weftConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/weft)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/weftConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/weftConfig.cmake ${PROJECT_BINARY_DIR}/weftConfigVersion.cmake
  cmake/WeftWasm.cmake cmake/weft-emcc-flags.json DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/weft)

# What a static link (pkg-config --static) adds: both libraries have xxHash compiled in,
# so neither needs -lxxhash.
set(WEFT_PC_LIBS_PRIVATE "")
if(WEFT_HOST STREQUAL "posix")
  set(WEFT_PC_LIBS_PRIVATE "-pthread -lsqlite3 -lm")
  foreach(lib IN LISTS CMAKE_DL_LIBS)
    string(APPEND WEFT_PC_LIBS_PRIVATE " -l${lib}")
  endforeach()
endif()
# The prefix is the one the install actually uses (`cmake --install --prefix P` included),
# so the file is written at install time; everything else is filled in now and the
# prefix placeholder is kept for then.
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(WEFT_PC_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(WEFT_PC_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()
set(WEFT_PC_PREFIX "@WEFT_PC_PREFIX@")
configure_file(cmake/weft.pc.in ${PROJECT_BINARY_DIR}/weft.pc.in @ONLY)
install(CODE "set(WEFT_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${PROJECT_BINARY_DIR}/weft.pc.in\" \"${PROJECT_BINARY_DIR}/weft.pc\" @ONLY)")
install(FILES ${PROJECT_BINARY_DIR}/weft.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# weft-mpi.pc: the mpi backend, which links the static libweft (see mpi/CMakeLists.txt).
if(WEFT_HAVE_MPI)
  configure_file(cmake/weft-mpi.pc.in ${PROJECT_BINARY_DIR}/weft-mpi.pc.in @ONLY)
  install(CODE "set(WEFT_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
    configure_file(\"${PROJECT_BINARY_DIR}/weft-mpi.pc.in\" \"${PROJECT_BINARY_DIR}/weft-mpi.pc\" @ONLY)")
  install(FILES ${PROJECT_BINARY_DIR}/weft-mpi.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endif()
