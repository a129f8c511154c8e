// Early-return helpers for absl::Status and absl::StatusOr (this Abseil has none of its own).
//
//   LARDER_RETURN_IF_ERROR(Validate(request));
//   LARDER_ASSIGN_OR_RETURN(auto entry, engine.Get(ns, key));
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define LARDER_STATUS_CONCAT_INNER_(a, b) a##b
#define LARDER_STATUS_CONCAT_(a, b) LARDER_STATUS_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function when `expr` is not OK.
#define LARDER_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::absl::Status larder_status_ = (expr);          \
    if (!larder_status_.ok()) return larder_status_; \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); returns its status when not OK, otherwise
// move-assigns its value to `lhs` (which may be a declaration such as `auto x`).
#define LARDER_ASSIGN_OR_RETURN(lhs, rexpr) \
  LARDER_ASSIGN_OR_RETURN_IMPL_(LARDER_STATUS_CONCAT_(larder_statusor_, __LINE__), lhs, rexpr)

#define LARDER_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                  \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = std::move(statusor).value()
