# larder_set_warnings(<target>): the project's warning flags, errors on every warning.
# One exception: GCC's -Wmaybe-uninitialized stays a warning, not an error. GCC documents it as
# prone to false positives that depend on optimisation (GCC 12 at -O3 flags std::optional
# temporaries in client/src/http/http_cache.cc), so Release builds must not fail on it.
function(larder_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-error=maybe-uninitialized)
  endif()
endfunction()
