// Elementwise arithmetic, comparisons, unary math, reductions and linear algebra.
#include "common.h"

namespace tasksr {

namespace {
// Registers `name(a, b)` where b is a tensor or a JS scalar; f is generic over the operand type.
template <class F>
void binary(Registry& r, const char* name, F f) {
  r.def(name, [f](const Napi::CallbackInfo& info) {
    const at::Tensor& a = T(info, 0);
    if (IsScalarArg(info, 1)) return wrap(info.Env(), f(a, Sc(info, 1)));
    return wrap(info.Env(), f(a, T(info, 1)));
  });
}

// Registers `name(a, b)` for ops defined only between tensors.
template <class F>
void binaryTensor(Registry& r, const char* name, F f) {
  r.def(name, [f](const Napi::CallbackInfo& info) { return wrap(info.Env(), f(T(info, 0), T(info, 1))); });
}

// In-place variant: mutates argument 0 and returns nothing (the JS side returns its own handle).
template <class F>
void binaryInplace(Registry& r, const char* name, F f) {
  r.def(name, [f](const Napi::CallbackInfo& info) -> Napi::Value {
    at::Tensor& a = T(info, 0);
    if (IsScalarArg(info, 1)) {
      f(a, Sc(info, 1));
    } else {
      f(a, T(info, 1));
    }
    return info.Env().Undefined();
  });
}

template <class F>
void unary(Registry& r, const char* name, F f) {
  r.def(name, [f](const Napi::CallbackInfo& info) { return wrap(info.Env(), f(T(info, 0))); });
}

template <class F>
void unaryInplace(Registry& r, const char* name, F f) {
  r.def(name, [f](const Napi::CallbackInfo& info) -> Napi::Value {
    f(T(info, 0));
    return info.Env().Undefined();
  });
}

Napi::Value pair(Napi::Env env, const std::tuple<at::Tensor, at::Tensor>& tt) {
  return wrapList(env, {std::get<0>(tt), std::get<1>(tt)});
}

at::OptionalIntArrayRef optDims(const c10::optional<std::vector<int64_t>>& dims) {
  if (!dims) return c10::nullopt;
  return at::IntArrayRef(*dims);
}
}  // namespace

void registerMath(Registry& r) {
  // ---- binary arithmetic (tensor op tensor|scalar) ----
  r.def("add", [](const Napi::CallbackInfo& info) {
    const at::Scalar alpha = Absent(info, 2) ? at::Scalar(1) : Sc(info, 2);
    if (IsScalarArg(info, 1)) return wrap(info.Env(), T(info, 0).add(Sc(info, 1), alpha));
    return wrap(info.Env(), T(info, 0).add(T(info, 1), alpha));
  });
  r.def("sub", [](const Napi::CallbackInfo& info) {
    const at::Scalar alpha = Absent(info, 2) ? at::Scalar(1) : Sc(info, 2);
    if (IsScalarArg(info, 1)) return wrap(info.Env(), T(info, 0).sub(Sc(info, 1), alpha));
    return wrap(info.Env(), T(info, 0).sub(T(info, 1), alpha));
  });
  binary(r, "mul", [](const at::Tensor& a, const auto& b) { return a.mul(b); });
  r.def("div", [](const Napi::CallbackInfo& info) {
    if (!Absent(info, 2)) {
      const std::string m = S(info, 2);
      if (IsScalarArg(info, 1)) return wrap(info.Env(), T(info, 0).div(Sc(info, 1), m));
      return wrap(info.Env(), T(info, 0).div(T(info, 1), m));
    }
    if (IsScalarArg(info, 1)) return wrap(info.Env(), T(info, 0).div(Sc(info, 1)));
    return wrap(info.Env(), T(info, 0).div(T(info, 1)));
  });
  binary(r, "remainder", [](const at::Tensor& a, const auto& b) { return a.remainder(b); });
  binary(r, "fmod", [](const at::Tensor& a, const auto& b) { return a.fmod(b); });
  binary(r, "pow", [](const at::Tensor& a, const auto& b) { return a.pow(b); });
  // Scalar on the left: s - t, s / t, s ** t.
  r.def("rsub", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), at::rsub(T(info, 0), Sc(info, 1))); });
  r.def("rdiv", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), T(info, 0).reciprocal().mul(Sc(info, 1)));
  });
  r.def("rpow", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), at::pow(Sc(info, 1), T(info, 0))); });
  binaryTensor(r, "maximum", [](const at::Tensor& a, const at::Tensor& b) { return at::maximum(a, b); });
  binaryTensor(r, "minimum", [](const at::Tensor& a, const at::Tensor& b) { return at::minimum(a, b); });
  binaryTensor(r, "atan2", [](const at::Tensor& a, const at::Tensor& b) { return at::atan2(a, b); });

  binary(r, "eq", [](const at::Tensor& a, const auto& b) { return a.eq(b); });
  binary(r, "ne", [](const at::Tensor& a, const auto& b) { return a.ne(b); });
  binary(r, "lt", [](const at::Tensor& a, const auto& b) { return a.lt(b); });
  binary(r, "le", [](const at::Tensor& a, const auto& b) { return a.le(b); });
  binary(r, "gt", [](const at::Tensor& a, const auto& b) { return a.gt(b); });
  binary(r, "ge", [](const at::Tensor& a, const auto& b) { return a.ge(b); });
  binaryTensor(r, "logicalAnd", [](const at::Tensor& a, const at::Tensor& b) { return a.logical_and(b); });
  binaryTensor(r, "logicalOr", [](const at::Tensor& a, const at::Tensor& b) { return a.logical_or(b); });
  binaryTensor(r, "logicalXor", [](const at::Tensor& a, const at::Tensor& b) { return a.logical_xor(b); });
  r.def("equal", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Boolean::New(info.Env(), T(info, 0).equal(T(info, 1)));
  });
  r.def("allclose", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Boolean::New(info.Env(), T(info, 0).allclose(T(info, 1), D(info, 2), D(info, 3)));
  });

  // ---- in-place arithmetic ----
  r.def("add_", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const at::Scalar alpha = Absent(info, 2) ? at::Scalar(1) : Sc(info, 2);
    if (IsScalarArg(info, 1)) {
      T(info, 0).add_(Sc(info, 1), alpha);
    } else {
      T(info, 0).add_(T(info, 1), alpha);
    }
    return info.Env().Undefined();
  });
  r.def("sub_", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const at::Scalar alpha = Absent(info, 2) ? at::Scalar(1) : Sc(info, 2);
    if (IsScalarArg(info, 1)) {
      T(info, 0).sub_(Sc(info, 1), alpha);
    } else {
      T(info, 0).sub_(T(info, 1), alpha);
    }
    return info.Env().Undefined();
  });
  binaryInplace(r, "mul_", [](at::Tensor& a, const auto& b) { a.mul_(b); });
  binaryInplace(r, "div_", [](at::Tensor& a, const auto& b) { a.div_(b); });
  binaryInplace(r, "pow_", [](at::Tensor& a, const auto& b) { a.pow_(b); });
  r.def("addcmul_", [](const Napi::CallbackInfo& info) -> Napi::Value {
    T(info, 0).addcmul_(T(info, 1), T(info, 2), Sc(info, 3));
    return info.Env().Undefined();
  });
  r.def("addcdiv_", [](const Napi::CallbackInfo& info) -> Napi::Value {
    T(info, 0).addcdiv_(T(info, 1), T(info, 2), Sc(info, 3));
    return info.Env().Undefined();
  });
  r.def("lerp_", [](const Napi::CallbackInfo& info) -> Napi::Value {
    T(info, 0).lerp_(T(info, 1), Sc(info, 2));
    return info.Env().Undefined();
  });
  r.def("clamp_", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const c10::optional<at::Scalar> lo = Absent(info, 1) ? c10::optional<at::Scalar>() : Sc(info, 1);
    const c10::optional<at::Scalar> hi = Absent(info, 2) ? c10::optional<at::Scalar>() : Sc(info, 2);
    T(info, 0).clamp_(lo, hi);
    return info.Env().Undefined();
  });

  // ---- unary ----
  unary(r, "neg", [](const at::Tensor& t) { return t.neg(); });
  unary(r, "abs", [](const at::Tensor& t) { return t.abs(); });
  unary(r, "exp", [](const at::Tensor& t) { return t.exp(); });
  unary(r, "log", [](const at::Tensor& t) { return t.log(); });
  unary(r, "log2", [](const at::Tensor& t) { return t.log2(); });
  unary(r, "log10", [](const at::Tensor& t) { return t.log10(); });
  unary(r, "log1p", [](const at::Tensor& t) { return t.log1p(); });
  unary(r, "expm1", [](const at::Tensor& t) { return t.expm1(); });
  unary(r, "sqrt", [](const at::Tensor& t) { return t.sqrt(); });
  unary(r, "rsqrt", [](const at::Tensor& t) { return t.rsqrt(); });
  unary(r, "square", [](const at::Tensor& t) { return t.square(); });
  unary(r, "sin", [](const at::Tensor& t) { return t.sin(); });
  unary(r, "cos", [](const at::Tensor& t) { return t.cos(); });
  unary(r, "tanh", [](const at::Tensor& t) { return t.tanh(); });
  unary(r, "sigmoid", [](const at::Tensor& t) { return t.sigmoid(); });
  unary(r, "erf", [](const at::Tensor& t) { return t.erf(); });
  unary(r, "floor", [](const at::Tensor& t) { return t.floor(); });
  unary(r, "ceil", [](const at::Tensor& t) { return t.ceil(); });
  unary(r, "trunc", [](const at::Tensor& t) { return t.trunc(); });
  unary(r, "sign", [](const at::Tensor& t) { return t.sign(); });
  unary(r, "reciprocal", [](const at::Tensor& t) { return t.reciprocal(); });
  unary(r, "isnan", [](const at::Tensor& t) { return t.isnan(); });
  unary(r, "isinf", [](const at::Tensor& t) { return t.isinf(); });
  unary(r, "isfinite", [](const at::Tensor& t) { return t.isfinite(); });
  unary(r, "logicalNot", [](const at::Tensor& t) { return t.logical_not(); });
  // round(t, decimals): half to even, as torch.round.
  r.def("round", [](const Napi::CallbackInfo& info) {
    const int64_t decimals = Absent(info, 1) ? 0 : I(info, 1);
    return wrap(info.Env(), decimals == 0 ? T(info, 0).round() : T(info, 0).round(decimals));
  });
  // clamp(t, min?, max?): scalar or tensor bounds.
  r.def("clamp", [](const Napi::CallbackInfo& info) {
    const at::Tensor& t = T(info, 0);
    const bool tensorBounds = (!Absent(info, 1) && !IsScalarArg(info, 1)) || (!Absent(info, 2) && !IsScalarArg(info, 2));
    if (tensorBounds) return wrap(info.Env(), t.clamp(OptT(info, 1), OptT(info, 2)));
    const c10::optional<at::Scalar> lo = Absent(info, 1) ? c10::optional<at::Scalar>() : Sc(info, 1);
    const c10::optional<at::Scalar> hi = Absent(info, 2) ? c10::optional<at::Scalar>() : Sc(info, 2);
    return wrap(info.Env(), t.clamp(lo, hi));
  });
  unaryInplace(r, "neg_", [](at::Tensor& t) { t.neg_(); });
  unaryInplace(r, "sqrt_", [](at::Tensor& t) { t.sqrt_(); });
  unaryInplace(r, "exp_", [](at::Tensor& t) { t.exp_(); });
  unaryInplace(r, "round_", [](at::Tensor& t) { t.round_(); });

  // ---- reductions ----
  // sum(t, dims?, keepdim, dtype?)
  r.def("sum", [](const Napi::CallbackInfo& info) {
    const auto dims = OptIL(info, 1);
    const auto dtype = OptDt(info, 3);
    if (!dims) return wrap(info.Env(), T(info, 0).sum(dtype));
    return wrap(info.Env(), T(info, 0).sum(*dims, B(info, 2), dtype));
  });
  r.def("mean", [](const Napi::CallbackInfo& info) {
    const auto dims = OptIL(info, 1);
    if (!dims) return wrap(info.Env(), T(info, 0).mean());
    return wrap(info.Env(), T(info, 0).mean(*dims, B(info, 2)));
  });
  r.def("prod", [](const Napi::CallbackInfo& info) {
    if (Absent(info, 1)) return wrap(info.Env(), T(info, 0).prod());
    return wrap(info.Env(), T(info, 0).prod(I(info, 1), B(info, 2)));
  });
  // max/min(t) -> scalar tensor; max/min(t, dim, keepdim) -> [values, indices]
  r.def("max", [](const Napi::CallbackInfo& info) -> Napi::Value {
    if (Absent(info, 1)) return wrap(info.Env(), T(info, 0).max());
    return pair(info.Env(), T(info, 0).max(I(info, 1), B(info, 2)));
  });
  r.def("min", [](const Napi::CallbackInfo& info) -> Napi::Value {
    if (Absent(info, 1)) return wrap(info.Env(), T(info, 0).min());
    return pair(info.Env(), T(info, 0).min(I(info, 1), B(info, 2)));
  });
  r.def("amax", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), T(info, 0).amax(IL(info, 1), B(info, 2))); });
  r.def("amin", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), T(info, 0).amin(IL(info, 1), B(info, 2))); });
  r.def("argmax", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), T(info, 0).argmax(OptI(info, 1), Absent(info, 2) ? false : B(info, 2)));
  });
  r.def("argmin", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), T(info, 0).argmin(OptI(info, 1), Absent(info, 2) ? false : B(info, 2)));
  });
  // var/std(t, dims?, unbiased, keepdim)
  r.def("var", [](const Napi::CallbackInfo& info) {
    const auto dims = OptIL(info, 1);
    return wrap(info.Env(), at::var(T(info, 0), optDims(dims), B(info, 2), B(info, 3)));
  });
  r.def("std", [](const Napi::CallbackInfo& info) {
    const auto dims = OptIL(info, 1);
    return wrap(info.Env(), at::std(T(info, 0), optDims(dims), B(info, 2), B(info, 3)));
  });
  r.def("logsumexp", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), T(info, 0).logsumexp(IL(info, 1), B(info, 2)));
  });
  r.def("norm", [](const Napi::CallbackInfo& info) {
    const auto dims = OptIL(info, 2);
    return wrap(info.Env(), at::linalg_vector_norm(T(info, 0), Sc(info, 1), optDims(dims), B(info, 3), c10::nullopt));
  });
  // topk(t, k, dim, largest, sorted) -> [values, indices]
  r.def("topk", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return pair(info.Env(), T(info, 0).topk(I(info, 1), I(info, 2), B(info, 3), B(info, 4)));
  });
  // sort(t, dim, descending, stable) -> [values, indices]
  r.def("sort", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return pair(info.Env(), T(info, 0).sort(c10::optional<bool>(B(info, 3)), I(info, 1), B(info, 2)));
  });
  r.def("argsort", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), std::get<1>(T(info, 0).sort(c10::optional<bool>(B(info, 3)), I(info, 1), B(info, 2))));
  });
  r.def("cumsum", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), T(info, 0).cumsum(I(info, 1), OptDt(info, 2)));
  });
  r.def("cumprod", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), T(info, 0).cumprod(I(info, 1), OptDt(info, 2)));
  });
  r.def("all", [](const Napi::CallbackInfo& info) {
    if (Absent(info, 1)) return wrap(info.Env(), T(info, 0).all());
    return wrap(info.Env(), T(info, 0).all(I(info, 1), B(info, 2)));
  });
  r.def("any", [](const Napi::CallbackInfo& info) {
    if (Absent(info, 1)) return wrap(info.Env(), T(info, 0).any());
    return wrap(info.Env(), T(info, 0).any(I(info, 1), B(info, 2)));
  });
  // unique(t, sorted, returnInverse, returnCounts) -> [values, inverse, counts]
  r.def("unique", [](const Napi::CallbackInfo& info) -> Napi::Value {
    auto res = at::_unique2(T(info, 0), B(info, 1), B(info, 2), B(info, 3));
    return wrapList(info.Env(), {std::get<0>(res), std::get<1>(res), std::get<2>(res)});
  });
  r.def("bincount", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), T(info, 0).bincount(OptT(info, 1), I(info, 2)));
  });

  // ---- linear algebra ----
  r.def("matmul", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), T(info, 0).matmul(T(info, 1))); });
  r.def("mm", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), T(info, 0).mm(T(info, 1))); });
  r.def("bmm", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), T(info, 0).bmm(T(info, 1))); });
  r.def("outer", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), T(info, 0).outer(T(info, 1))); });
  r.def("einsum", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), at::einsum(S(info, 0), TL(info, 1))); });
}

}  // namespace tasksr
