# Warnings for our own targets only; third-party headers come in as SYSTEM includes.
function(dragon_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wnon-virtual-dtor -Wcast-align -Wunused
                         -Woverloaded-virtual -Wimplicit-fallthrough
                         # designated initializers leave defaulted members out on purpose
                         -Wno-missing-field-initializers)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12 false positives inside libstdc++ once optimisation (and sanitizers) are on:
    # -Wmaybe-uninitialized in <regex>/<functional>, -Wrestrict in std::string appends (GCC bug 105329).
    target_compile_options(${target} PRIVATE -Wshadow=local -Wno-maybe-uninitialized -Wno-restrict)
  else()
    target_compile_options(${target} PRIVATE -Wshadow-uncaptured-local)
  endif()
  if(DRAGON_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
