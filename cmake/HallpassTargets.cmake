# Per-target build settings, applied explicitly to every Hallpass target (as spdlog's
# cmake/utils.cmake does) instead of through global flags.

function(hallpass_target_settings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  # Beast 1.81 asserts on a client-reachable chunk-size case (fixed upstream after 1.81):
  # with asserts on, a client could abort the process. Our own checks refuse the input.
  target_compile_definitions(${target} PRIVATE BOOST_DISABLE_ASSERTS BOOST_ASIO_NO_DEPRECATED)
  if(HALLPASS_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined
                                             -fno-sanitize-recover=undefined
                                             -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# Turns data files into a C++ source defining an embedded, read-only file tree.
# Usage: hallpass_embed_files(OUTPUT out.cpp BASE dir FILES a b c)
function(hallpass_embed_files)
  cmake_parse_arguments(EMBED "" "OUTPUT;BASE" "FILES" ${ARGN})
  add_custom_command(
    OUTPUT ${EMBED_OUTPUT}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${EMBED_OUTPUT} -DBASE=${EMBED_BASE}
            "-DFILES=${EMBED_FILES}" -P ${PROJECT_SOURCE_DIR}/cmake/embed_files.cmake
    DEPENDS ${EMBED_FILES} ${PROJECT_SOURCE_DIR}/cmake/embed_files.cmake
    COMMENT "Embedding the default config and shipped lists"
    VERBATIM)
endfunction()
