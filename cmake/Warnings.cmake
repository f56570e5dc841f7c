# Warnings for our own targets only; third-party headers come in as SYSTEM includes.
function(dragon_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wnon-virtual-dtor -Wcast-align -Wunused
                         -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough
                         # designated initializers leave defaulted members out on purpose
                         -Wno-missing-field-initializers)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wshadow=local)
  else()
    target_compile_options(${target} PRIVATE -Wshadow-uncaptured-local)
  endif()
  if(DRAGON_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
