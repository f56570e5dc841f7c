if(DRAGON_SANITIZE)
  message(STATUS "Sanitizers: ${DRAGON_SANITIZE}")
  add_compile_options(-fsanitize=${DRAGON_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=${DRAGON_SANITIZE})
endif()
if(DRAGON_SANITIZE MATCHES "thread" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # Asio's fences are not modelled by TSan; GCC 12 warns about every use (-Wtsan).
  add_compile_options(-Wno-tsan)
endif()
