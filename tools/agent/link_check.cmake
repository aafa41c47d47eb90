# agent_link_test: k8i-agent must start (`--help`-free: it exits 2 on missing configuration,
# after loading every library), must not contain or load gRPC C++ (it speaks gRPC through
# sender/grpc_client.h; gRPC C++ was most of its resident memory) nor cpp-httplib, and, when
# linked with K8I_AGENT_STATIC_DEPS, must not load a shared protobuf, abseil, yaml-cpp,
# nghttp2, libstdc++, spdlog or fmt next to its static or header-only copies (two copies of
# protobuf's or spdlog's global state in one process break at run time).
# Usage: cmake -DBIN=path/to/k8i-agent -DSTATIC=0|1 -P link_check.cmake
execute_process(COMMAND ldd ${BIN} OUTPUT_VARIABLE needed RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ldd ${BIN} failed (${rc})")
endif()
if(needed MATCHES "not found")
  message(FATAL_ERROR "unresolved shared library:\n${needed}")
endif()
string(REGEX MATCHALL "lib(grpc|gpr|upb|address_sorting|re2|cares)[^ ]*" grpc_libs "${needed}")
if(grpc_libs)
  message(FATAL_ERROR "k8i-agent loads gRPC libraries: ${grpc_libs}")
endif()
# Debian's libcpp-httplib.so initializes all of OpenSSL when it is loaded (~2 MB resident).
if(needed MATCHES "libcpp-httplib")
  message(FATAL_ERROR "k8i-agent loads libcpp-httplib (its HTTP is net/http_client.h)")
endif()
execute_process(COMMAND nm -P --defined-only ${BIN} OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
if(rc EQUAL 0 AND symbols MATCHES "(^|\n)(grpc_init|_ZN9grpc_core)")
  message(FATAL_ERROR "k8i-agent contains gRPC C++ (grpc_init / grpc_core symbols)")
endif()
if(STATIC)
  string(REGEX MATCHALL "lib(protobuf|absl_|yaml-cpp|nghttp2|stdc\\+\\+|spdlog|fmt)[^ ]*"
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
