# The ThreadSanitizer build (CMAKE_CXX_FLAGS has -fsanitize=thread, as scripts/test.sh
# --sanitize=thread sets): tests/tsan/absl_sync_tsan.cc, built as a shared library, comes first on
# the link line of every executable, so that TSan sees the happens-before edges of Debian's
# uninstrumented absl::Mutex, CondVar and Notification. Nothing happens in any other build.
#
#   larder_tsan_sync_shim()          before the targets: defines the shim's library
#   larder_tsan_link_executables()   after them: links it into every executable
function(larder_tsan_sync_shim)
  if(NOT CMAKE_CXX_FLAGS MATCHES "-fsanitize=thread")
    return()
  endif()
  add_library(larder_absl_sync_tsan SHARED "${PROJECT_SOURCE_DIR}/tests/tsan/absl_sync_tsan.cc")
  target_link_libraries(larder_absl_sync_tsan PRIVATE absl::synchronization absl::time
    ${CMAKE_DL_LIBS})
  target_compile_options(larder_absl_sync_tsan PRIVATE -Wall -Wextra)
endfunction()

# Walks `dir` and its subdirectories. The shim goes in as a link option, which precedes objects and
# libraries on the link line: the dynamic linker then binds Abseil's symbols to it first.
function(larder_tsan_link_executables_in dir)
  get_property(targets DIRECTORY "${dir}" PROPERTY BUILDSYSTEM_TARGETS)
  foreach(target IN LISTS targets)
    get_target_property(type ${target} TYPE)
    if(type STREQUAL "EXECUTABLE")
      add_dependencies(${target} larder_absl_sync_tsan)
      target_link_options(${target} BEFORE PRIVATE $<TARGET_FILE:larder_absl_sync_tsan>
        "-Wl,-rpath,$<TARGET_FILE_DIR:larder_absl_sync_tsan>")
    endif()
  endforeach()
  get_property(subdirectories DIRECTORY "${dir}" PROPERTY SUBDIRECTORIES)
  foreach(subdirectory IN LISTS subdirectories)
    larder_tsan_link_executables_in("${subdirectory}")
  endforeach()
endfunction()

function(larder_tsan_link_executables)
  if(TARGET larder_absl_sync_tsan)
    larder_tsan_link_executables_in("${PROJECT_SOURCE_DIR}")
  endif()
endfunction()
