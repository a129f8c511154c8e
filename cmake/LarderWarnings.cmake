# larder_set_warnings(<target>): the project's warning flags, errors on every warning.
function(larder_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
endfunction()
