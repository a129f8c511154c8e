// ThreadSanitizer's view of Abseil's synchronization, for the TSan build only (scripts/test.sh
// --sanitize=thread links this shared library into every executable; see tests/tsan/README.md).
//
// Debian's Abseil is not built with -fsanitize=thread, so absl::Mutex, absl::CondVar and
// absl::Notification lock and wake through code TSan never sees: every access that one of them
// orders would be reported as a race, in larder's own code. These definitions take the place of
// the library's (the executable links this library before Abseil, so the dynamic linker binds
// every call, larder's and gRPC's, here), call the real function and tell TSan the
// happens-before edge it implies:
//   unlock, Notify            -> __tsan_release(object)
//   lock, wake, notified      -> __tsan_acquire(object)
// Reader locks are modelled like writer locks: a reader's release orders the next reader too.
// That hides a write under a shared lock from TSan, which clang's -Wthread-safety (on in every
// clang build) refuses at compile time instead.
//
// Await and the LockWhen family are re-implemented rather than wrapped: absl evaluates a waiter's
// Condition on whichever thread unlocks, inside the library, where no annotation can reach. Here
// the waiting thread evaluates its own Condition under the lock and sleeps briefly between
// checks, which keeps Abseil's contract (the Condition holds when the call returns true).
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace {

#define LARDER_STRINGIFY_INNER(x) #x
#define LARDER_STRINGIFY(x) LARDER_STRINGIFY_INNER(x)

// The mangled name of absl::<inline namespace>::<cls>::<method><signature>, e.g.
// Mangled("5Mutex", "4LockEv") for absl::Mutex::Lock().
std::string Mangled(const char* cls, const char* method_and_signature, bool is_const = false) {
  const std::string inline_ns = LARDER_STRINGIFY(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  return std::string(is_const ? "_ZNK" : "_ZN") + "4absl" + std::to_string(inline_ns.size()) +
         inline_ns + cls + method_and_signature;
}

// The next definition of `name` after this library's: Abseil's own.
void* Real(const std::string& name) {
  void* symbol = dlsym(RTLD_NEXT, name.c_str());
  if (symbol == nullptr) {
    std::fprintf(stderr, "absl_sync_tsan: %s not found: %s\n", name.c_str(), dlerror());
    std::abort();
  }
  return symbol;
}

template <typename Fn>
Fn RealOf(const char* cls, const char* method_and_signature, bool is_const = false) {
  return reinterpret_cast<Fn>(Real(Mangled(cls, method_and_signature, is_const)));
}

using MutexFn = void (*)(absl::Mutex*);
using MutexTryFn = bool (*)(absl::Mutex*);

// Re-checks `cond` under `mu` (held: as a writer when !reader) until it holds or `deadline`
// passes; returns whether it holds, with `mu` held again either way.
bool PollUntil(absl::Mutex* mu, const absl::Condition& cond, absl::Time deadline, bool reader) {
  absl::Duration pause = absl::Microseconds(20);
  while (!cond.Eval()) {
    if (absl::Now() >= deadline) return false;
    reader ? mu->ReaderUnlock() : mu->Unlock();
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(1));
    reader ? mu->ReaderLock() : mu->Lock();
  }
  return true;
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  static const auto real = RealOf<MutexFn>("5Mutex", "4LockEv");
  real(this);
  __tsan_acquire(this);
}

void Mutex::ReaderLock() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  static const auto real = RealOf<MutexFn>("5Mutex", "10ReaderLockEv");
  real(this);
  __tsan_acquire(this);
}

bool Mutex::TryLock() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  static const auto real = RealOf<MutexTryFn>("5Mutex", "7TryLockEv");
  const bool locked = real(this);
  if (locked) __tsan_acquire(this);
  return locked;
}

bool Mutex::ReaderTryLock() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  static const auto real = RealOf<MutexTryFn>("5Mutex", "13ReaderTryLockEv");
  const bool locked = real(this);
  if (locked) __tsan_acquire(this);
  return locked;
}

void Mutex::Unlock() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  static const auto real = RealOf<MutexFn>("5Mutex", "6UnlockEv");
  __tsan_release(this);
  real(this);
}

void Mutex::ReaderUnlock() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  static const auto real = RealOf<MutexFn>("5Mutex", "12ReaderUnlockEv");
  __tsan_release(this);
  real(this);
}

void Mutex::Await(const Condition& cond) {
  PollUntil(this, cond, absl::InfiniteFuture(), /*reader=*/false);
}

bool Mutex::AwaitWithDeadline(const Condition& cond, absl::Time deadline) {
  return PollUntil(this, cond, deadline, /*reader=*/false);
}

bool Mutex::AwaitWithTimeout(const Condition& cond, absl::Duration timeout) {
  return AwaitWithDeadline(cond, absl::Now() + timeout);
}

void Mutex::LockWhen(const Condition& cond) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  Lock();
  PollUntil(this, cond, absl::InfiniteFuture(), /*reader=*/false);
}

bool Mutex::LockWhenWithDeadline(const Condition& cond,
                                 absl::Time deadline) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  Lock();
  return PollUntil(this, cond, deadline, /*reader=*/false);
}

bool Mutex::LockWhenWithTimeout(const Condition& cond,
                                absl::Duration timeout) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  return LockWhenWithDeadline(cond, absl::Now() + timeout);
}

void Mutex::ReaderLockWhen(const Condition& cond) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  ReaderLock();
  PollUntil(this, cond, absl::InfiniteFuture(), /*reader=*/true);
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond,
                                       absl::Time deadline) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  ReaderLock();
  return PollUntil(this, cond, deadline, /*reader=*/true);
}

bool Mutex::ReaderLockWhenWithTimeout(const Condition& cond,
                                      absl::Duration timeout) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  return ReaderLockWhenWithDeadline(cond, absl::Now() + timeout);
}

// CondVar: the wait releases `mu` and takes it again.
void CondVar::Wait(Mutex* mu) {
  static const auto real = RealOf<void (*)(CondVar*, Mutex*)>("7CondVar", "4WaitEPNS0_5MutexE");
  __tsan_release(mu);
  real(this, mu);
  __tsan_acquire(mu);
}

bool CondVar::WaitWithDeadline(Mutex* mu, absl::Time deadline) {
  static const auto real = RealOf<bool (*)(CondVar*, Mutex*, absl::Time)>(
      "7CondVar", "16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  __tsan_release(mu);
  const bool timed_out = real(this, mu, deadline);
  __tsan_acquire(mu);
  return timed_out;
}

bool CondVar::WaitWithTimeout(Mutex* mu, absl::Duration timeout) {
  static const auto real = RealOf<bool (*)(CondVar*, Mutex*, absl::Duration)>(
      "7CondVar", "15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  __tsan_release(mu);
  const bool timed_out = real(this, mu, timeout);
  __tsan_acquire(mu);
  return timed_out;
}

// Notification: Notify publishes, a wait that saw it acquires.
void Notification::Notify() {
  static const auto real = RealOf<void (*)(Notification*)>("12Notification", "6NotifyEv");
  __tsan_release(this);
  real(this);
}

void Notification::WaitForNotification() const {
  static const auto real = RealOf<void (*)(const Notification*)>(
      "12Notification", "19WaitForNotificationEv", /*is_const=*/true);
  real(this);
  __tsan_acquire(const_cast<Notification*>(this));
}

bool Notification::WaitForNotificationWithDeadline(absl::Time deadline) const {
  static const auto real = RealOf<bool (*)(const Notification*, absl::Time)>(
      "12Notification", "31WaitForNotificationWithDeadlineENS0_4TimeE", /*is_const=*/true);
  const bool notified = real(this, deadline);
  if (notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

bool Notification::WaitForNotificationWithTimeout(absl::Duration timeout) const {
  static const auto real = RealOf<bool (*)(const Notification*, absl::Duration)>(
      "12Notification", "30WaitForNotificationWithTimeoutENS0_8DurationE", /*is_const=*/true);
  const bool notified = real(this, timeout);
  if (notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

ABSL_NAMESPACE_END
}  // namespace absl
