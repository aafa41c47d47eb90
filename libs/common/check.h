// K8I_CHECK: aborts with file, line and message when an invariant is broken (abseil 20220623
// has no absl/log). For programming errors only; bad input and I/O failures return Status.
#pragma once

#include <cstdio>
#include <cstdlib>

#define K8I_CHECK(cond, msg)                                                            \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "CHECK failed at %s:%d: %s: %s\n", __FILE__, __LINE__, #cond, \
                   (msg));                                                              \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)
