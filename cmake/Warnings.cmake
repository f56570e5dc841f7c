# Warnings for our own targets only; third-party headers come in as SYSTEM includes.
function(dragon_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wnon-virtual-dtor -Wcast-align -Wunused
                         -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough
                         # designated initializers leave defaulted members out on purpose
                         -Wno-missing-field-initializers)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # -Wmaybe-uninitialized: GCC 12 reports false positives inside libstdc++'s <regex> and <functional>
    # once optimisation and sanitizers are combined.
    target_compile_options(${target} PRIVATE -Wshadow=local -Wno-maybe-uninitialized)
  else()
    target_compile_options(${target} PRIVATE -Wshadow-uncaptured-local)
  endif()
  if(DRAGON_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
