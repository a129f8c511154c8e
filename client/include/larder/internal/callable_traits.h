// CallableSignature<F>: the R(Args...) of a function, function pointer, std::function, lambda or
// functor with one non-template call operator. Used by larder::Cached; not part of the API.
//
//   using Signature = CallableSignature<decltype(&LoadUser)>::type;   // User(int64_t)
#pragma once

namespace larder::internal {

template <typename F>
struct CallableSignature : CallableSignature<decltype(&F::operator())> {};

template <typename R, typename... A>
struct CallableSignature<R(A...)> {
  using type = R(A...);
};
template <typename R, typename... A>
struct CallableSignature<R(A...) noexcept> : CallableSignature<R(A...)> {};
template <typename R, typename... A>
struct CallableSignature<R (*)(A...)> : CallableSignature<R(A...)> {};
template <typename R, typename... A>
struct CallableSignature<R (*)(A...) noexcept> : CallableSignature<R(A...)> {};
template <typename C, typename R, typename... A>
struct CallableSignature<R (C::*)(A...)> : CallableSignature<R(A...)> {};
template <typename C, typename R, typename... A>
struct CallableSignature<R (C::*)(A...) const> : CallableSignature<R(A...)> {};
template <typename C, typename R, typename... A>
struct CallableSignature<R (C::*)(A...) noexcept> : CallableSignature<R(A...)> {};
template <typename C, typename R, typename... A>
struct CallableSignature<R (C::*)(A...) const noexcept> : CallableSignature<R(A...)> {};

// Signature itself, or the callable's own when Signature is void.
template <typename Signature, typename F>
struct ResolveSignature {
  using type = Signature;
};
template <typename F>
struct ResolveSignature<void, F> {
  using type = typename CallableSignature<F>::type;
};

}  // namespace larder::internal
