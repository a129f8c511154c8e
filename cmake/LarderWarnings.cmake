# larder_set_warnings(<target>): the project's warning flags. Warnings are errors only where we
# choose: with LARDER_WERROR=ON (scripts/test.sh and CI turn it on). A user's build, at any
# optimisation level and with any compiler, never fails on a warning.
# One exception even then: GCC's -Wmaybe-uninitialized stays a warning. GCC documents it as
# prone to false positives that depend on optimisation (GCC 12 at -O3 flags std::optional
# temporaries in client/src/http/http_cache.cc).
function(larder_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  # clang checks the Abseil lock annotations (ABSL_GUARDED_BY and friends) the code carries.
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    target_compile_options(${target} PRIVATE -Wthread-safety)
  endif()
  if(LARDER_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      target_compile_options(${target} PRIVATE -Wno-error=maybe-uninitialized)
    endif()
  endif()
endfunction()
