// gtest assertions for Status and Result<T> that print the failure message.
#pragma once

#include <gtest/gtest.h>

#include "util/status.h"

namespace agentlog::test {

inline ::testing::AssertionResult IsOk(const Status& s) {
  if (s.is_ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "status " << static_cast<int>(s.code()) << ": " << s.message();
}

template <typename T>
::testing::AssertionResult IsOk(const Result<T>& r) {
  return IsOk(r.status());
}

inline ::testing::AssertionResult HasCode(const Status& s, Status::Code code) {
  if (s.code() == code) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "expected status code " << static_cast<int>(code) << ", got "
         << static_cast<int>(s.code()) << " (" << s.message() << ")";
}

template <typename T>
::testing::AssertionResult HasCode(const Result<T>& r, Status::Code code) {
  return HasCode(r.status(), code);
}

}  // namespace agentlog::test
