# agent_link_test: k8i-agent must start (`--help`-free: it exits 2 on missing configuration,
# after loading every library) and, when linked with K8I_AGENT_STATIC_DEPS, must not load any
# shared gRPC, protobuf, abseil, re2, c-ares, upb or yaml-cpp library next to its static copies
# (two copies of gRPC's or protobuf's global state in one process break at run time).
# Usage: cmake -DBIN=path/to/k8i-agent -DSTATIC=0|1 -P link_check.cmake
execute_process(COMMAND ldd ${BIN} OUTPUT_VARIABLE needed RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ldd ${BIN} failed (${rc})")
endif()
if(needed MATCHES "not found")
  message(FATAL_ERROR "unresolved shared library:\n${needed}")
endif()
if(STATIC)
  string(REGEX MATCHALL "lib(grpc|gpr|upb|address_sorting|protobuf|absl_|re2|cares|yaml-cpp)[^ ]*"
         dup "${needed}")
  list(REMOVE_DUPLICATES dup)
  if(dup)
    message(FATAL_ERROR "statically linked k8i-agent also loads: ${dup}")
  endif()
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=K8I_INGEST_ENDPOINT ${BIN}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 2 OR NOT err MATCHES "K8I_INGEST_ENDPOINT")
  message(FATAL_ERROR "k8i-agent without configuration: exit ${rc}, stderr: ${err}${out}")
endif()
message(STATUS "k8i-agent links: ${needed}")
