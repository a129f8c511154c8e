// Whether this test binary is built with AddressSanitizer or ThreadSanitizer. Those builds run
// a load several times slower than an optimised build; a test whose assertions are about timing
// under load (lags, shares of reads served within a bound) skips itself there, and the
// optimised build checks it.
#pragma once

namespace larder::testing {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitizerBuild = true;  // GCC
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitizerBuild = true;  // clang
#else
inline constexpr bool kSanitizerBuild = false;
#endif
#else
inline constexpr bool kSanitizerBuild = false;
#endif

}  // namespace larder::testing
