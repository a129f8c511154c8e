# gRPC, protobuf and Abseil linked statically into every program of this build (larderd,
# larder-proxy, larderctl, the tests, the benchmarks), from the archives Debian installs beside the
# shared libraries. Their thread-local variables then cost an offset from %fs where a shared
# library pays a call to __tls_get_addr, and their calls go without the PLT: a larderd Get costs
# 10% fewer instructions (docs/performance.md, "gRPC linked statically"). Only these three:
# OpenSSL, zlib, c-ares, RE2 and the rest stay shared.
#
# Off in sanitizer builds (CMAKE_CXX_FLAGS with -fsanitize=): the ThreadSanitizer build's Abseil
# shim (cmake/LarderTsan.cmake) works by taking precedence over the shared libabsl at run time,
# and those builds test larder's code, not how it is linked. Also off with
# -DLARDER_STATIC_GRPC=OFF, or where an archive is missing (that library then stays shared).
#
#   larder_static_grpc()   after find_package(absl), find_package(Protobuf) and find_package(gRPC)
option(LARDER_STATIC_GRPC "Link gRPC, protobuf and Abseil statically (off in sanitizer builds)" ON)

# Points `target`'s imported location `property` at the static archive beside the shared library
# it names, when there is one.
function(larder_use_archive_of target property)
  get_target_property(location ${target} ${property})
  if(NOT location OR NOT location MATCHES "^(.*)\\.so(\\.[0-9.]+)?$")
    return()
  endif()
  set(archive "${CMAKE_MATCH_1}.a")
  if(EXISTS "${archive}")
    set_target_properties(${target} PROPERTIES ${property} "${archive}")
  endif()
endfunction()

function(larder_static_grpc)
  if(NOT LARDER_STATIC_GRPC OR CMAKE_CXX_FLAGS MATCHES "-fsanitize=")
    message(STATUS "larder: gRPC, protobuf and Abseil linked as shared libraries")
    return()
  endif()
  get_property(imported DIRECTORY "${PROJECT_SOURCE_DIR}" PROPERTY IMPORTED_TARGETS)
  foreach(target IN LISTS imported)
    get_target_property(type ${target} TYPE)
    # Debian's gRPC and Abseil packages export configuration NONE only.
    if(target MATCHES "^(gRPC|absl)::" AND type STREQUAL "SHARED_LIBRARY")
      larder_use_archive_of(${target} IMPORTED_LOCATION_NONE)
    endif()
  endforeach()
  # CMake's FindProtobuf: a location without configuration, and one per configuration it found.
  foreach(property IMPORTED_LOCATION IMPORTED_LOCATION_RELEASE IMPORTED_LOCATION_DEBUG)
    larder_use_archive_of(protobuf::libprotobuf ${property})
  endforeach()
  message(STATUS "larder: gRPC, protobuf and Abseil linked statically")
endfunction()
