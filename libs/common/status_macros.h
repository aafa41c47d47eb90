// RETURN_IF_ERROR and ASSIGN_OR_RETURN for absl::Status / absl::StatusOr, which abseil
// 20220623 does not ship.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define K8I_STATUS_CONCAT_INNER_(a, b) a##b
#define K8I_STATUS_CONCAT_(a, b) K8I_STATUS_CONCAT_INNER_(a, b)

// RETURN_IF_ERROR(expr): returns the status of `expr` from the enclosing function if not OK.
#define RETURN_IF_ERROR(...)                                           \
  do {                                                                 \
    ::absl::Status k8i_status_ = (__VA_ARGS__);                               \
    if (!k8i_status_.ok()) return k8i_status_;                         \
  } while (0)

// ASSIGN_OR_RETURN(lhs, expr): evaluates a StatusOr; returns its status if not OK, otherwise
// assigns the value to `lhs` (which may be a declaration, e.g. `auto x`).
// The expression is variadic so braced initialisers with commas need no extra parentheses.
#define ASSIGN_OR_RETURN(lhs, ...) \
  K8I_ASSIGN_OR_RETURN_IMPL_(K8I_STATUS_CONCAT_(k8i_statusor_, __LINE__), lhs, (__VA_ARGS__))

#define K8I_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                               \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()
