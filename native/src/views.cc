// Views, indexing, joining and copying ops.
#include "common.h"

namespace tasksr {

namespace {
// Index list for advanced indexing: each element is a tensor or null (a full slice).
c10::List<c10::optional<at::Tensor>> indexList(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) throw ArgError("argument " + std::to_string(i) + " must be an array");
  auto a = info[i].As<Napi::Array>();
  c10::List<c10::optional<at::Tensor>> out;
  for (uint32_t k = 0; k < a.Length(); ++k) {
    Napi::Value v = a.Get(k);
    if (v.IsNull() || v.IsUndefined()) {
      out.push_back(c10::nullopt);
    } else if (isHandle(v)) {
      auto* box = boxOf(v);
      if (box == nullptr) throw ArgError("index " + std::to_string(k) + " is a disposed tensor");
      out.push_back(box->t);
    } else {
      throw ArgError("index " + std::to_string(k) + " must be a tensor or null");
    }
  }
  return out;
}
}  // namespace

void registerViews(Registry& r) {
  r.def("reshape", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), T(info, 0).reshape(IL(info, 1))); });
  r.def("view", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), T(info, 0).view(IL(info, 1))); });
  r.def("permute", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), T(info, 0).permute(IL(info, 1))); });
  r.def("transpose", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), T(info, 0).transpose(I(info, 1), I(info, 2)));
  });
  r.def("squeeze", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), Absent(info, 1) ? T(info, 0).squeeze() : T(info, 0).squeeze(I(info, 1)));
  });
  r.def("unsqueeze", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), T(info, 0).unsqueeze(I(info, 1))); });
  r.def("expand", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), T(info, 0).expand(IL(info, 1))); });
  r.def("flatten", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), T(info, 0).flatten(I(info, 1), I(info, 2)));
  });
  // asStrided(t, size, stride, storageOffset): a view over t's storage (for deserialising strided tensors).
  r.def("asStrided", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), T(info, 0).as_strided(IL(info, 1), IL(info, 2), I(info, 3)));
  });
  r.def("contiguous", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), T(info, 0).contiguous()); });
  r.def("clone", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), T(info, 0).clone()); });
  // slice(t, dim, start, end, step): Python-style bounds (negative, clamped).
  r.def("slice", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), T(info, 0).slice(I(info, 1), OptI(info, 2), OptI(info, 3), I(info, 4)));
  });
  r.def("narrow", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), T(info, 0).narrow(I(info, 1), I(info, 2), I(info, 3)));
  });
  r.def("select", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), T(info, 0).select(I(info, 1), I(info, 2)));
  });
  r.def("indexSelect", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), T(info, 0).index_select(I(info, 1), T(info, 2)));
  });
  r.def("gather", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), T(info, 0).gather(I(info, 1), T(info, 2)));
  });
  // scatter(t, dim, index, src|value, reduce?) -> new tensor; reduce "sum" maps to scatter_add semantics, the other
  // reductions to scatter_reduce with include_self (torch's default): at::scatter's own `reduce` only knows
  // "add"/"multiply". A scalar source reduces like a tensor of that value shaped as the index.
  r.def("scatter", [](const Napi::CallbackInfo& info) {
    const at::Tensor& t = T(info, 0);
    const int64_t dim = I(info, 1);
    const at::Tensor& idx = T(info, 2);
    if (Absent(info, 4)) {
      if (IsScalarArg(info, 3)) return wrap(info.Env(), t.scatter(dim, idx, Sc(info, 3)));
      return wrap(info.Env(), t.scatter(dim, idx, T(info, 3)));
    }
    const at::Tensor src = IsScalarArg(info, 3) ? at::full(idx.sizes(), Sc(info, 3), t.options()) : T(info, 3);
    const std::string reduce = S(info, 4);
    if (reduce == "sum") return wrap(info.Env(), t.scatter_add(dim, idx, src));
    return wrap(info.Env(), t.scatter_reduce(dim, idx, src, reduce, /*include_self=*/true));
  });
  r.def("maskedSelect", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), T(info, 0).masked_select(T(info, 1)));
  });
  r.def("maskedFill", [](const Napi::CallbackInfo& info) {
    if (IsScalarArg(info, 2)) return wrap(info.Env(), T(info, 0).masked_fill(T(info, 1), Sc(info, 2)));
    return wrap(info.Env(), T(info, 0).masked_fill(T(info, 1), T(info, 2)));
  });
  r.def("maskedFill_", [](const Napi::CallbackInfo& info) -> Napi::Value {
    if (IsScalarArg(info, 2)) {
      T(info, 0).masked_fill_(T(info, 1), Sc(info, 2));
    } else {
      T(info, 0).masked_fill_(T(info, 1), T(info, 2));
    }
    return info.Env().Undefined();
  });
  // where(cond, a, b): a and b may each be a tensor or a scalar.
  r.def("where", [](const Napi::CallbackInfo& info) {
    const at::Tensor& c = T(info, 0);
    const bool sa = IsScalarArg(info, 1), sb = IsScalarArg(info, 2);
    if (sa && sb) return wrap(info.Env(), at::where(c, Sc(info, 1), Sc(info, 2)));
    if (sa) return wrap(info.Env(), at::where(c, Sc(info, 1), T(info, 2)));
    if (sb) return wrap(info.Env(), at::where(c, T(info, 1), Sc(info, 2)));
    return wrap(info.Env(), at::where(c, T(info, 1), T(info, 2)));
  });
  r.def("nonzero", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), T(info, 0).nonzero()); });
  r.def("index", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), at::index(T(info, 0), indexList(info, 1))); });
  r.def("indexPut_", [](const Napi::CallbackInfo& info) -> Napi::Value {
    at::Tensor& t = T(info, 0);
    const auto idx = indexList(info, 1);
    if (IsScalarArg(info, 2)) {
      t.index_put_(idx, at::scalar_tensor(Sc(info, 2), t.options()), B(info, 3));
    } else {
      t.index_put_(idx, T(info, 2), B(info, 3));
    }
    return info.Env().Undefined();
  });
  r.def("cat", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), at::cat(TL(info, 0), I(info, 1))); });
  r.def("stack", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), at::stack(TL(info, 0), I(info, 1))); });
  // split(t, sizeOrSizes, dim)
  r.def("split", [](const Napi::CallbackInfo& info) {
    if (IsNum(info, 1)) return wrapList(info.Env(), T(info, 0).split(I(info, 1), I(info, 2)));
    return wrapList(info.Env(), T(info, 0).split_with_sizes(IL(info, 1), I(info, 2)));
  });
  r.def("chunk", [](const Napi::CallbackInfo& info) {
    return wrapList(info.Env(), T(info, 0).chunk(I(info, 1), I(info, 2)));
  });
  r.def("unbind", [](const Napi::CallbackInfo& info) { return wrapList(info.Env(), T(info, 0).unbind(I(info, 1))); });
  // pad(t, pads (last dim first, as F.pad), mode "constant"|"reflect"|"replicate"|"circular", value)
  r.def("pad", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::pad(T(info, 0), IL(info, 1), S(info, 2), OptD(info, 3)));
  });
  r.def("flip", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), T(info, 0).flip(IL(info, 1))); });
  r.def("roll", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), T(info, 0).roll(IL(info, 1), IL(info, 2)));
  });
  r.def("repeat", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), T(info, 0).repeat(IL(info, 1))); });
  r.def("repeatInterleave", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), T(info, 0).repeat_interleave(I(info, 1), OptI(info, 2)));
  });
  r.def("tril", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), T(info, 0).tril(I(info, 1))); });
  r.def("triu", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), T(info, 0).triu(I(info, 1))); });
  r.def("unfold", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), T(info, 0).unfold(I(info, 1), I(info, 2), I(info, 3)));
  });

  // ---- conversion and copies ----
  // to(t, dtype?, device?, copy, nonBlocking?): returns t itself (a new handle sharing storage) when nothing changes.
  // nonBlocking copies from pinned host memory to CUDA asynchronously on the current stream.
  r.def("to", [](const Napi::CallbackInfo& info) {
    const at::Tensor& t = T(info, 0);
    const auto dtype = OptDt(info, 1).value_or(t.scalar_type());
    const at::Device dev = Absent(info, 2) ? t.device() : Dev(info, 2);
    const bool non_blocking = !Absent(info, 4) && B(info, 4);
    return wrap(info.Env(), t.to(dev, dtype, non_blocking, /*copy=*/B(info, 3)));
  });
  // A copy in page-locked host memory (needs a CUDA build), the source of asynchronous host-to-device copies.
  r.def("pinMemory", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), T(info, 0).pin_memory()); });
  r.def("isPinned", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Boolean::New(info.Env(), T(info, 0).is_pinned());
  });
  r.def("copy_", [](const Napi::CallbackInfo& info) -> Napi::Value {
    T(info, 0).copy_(T(info, 1));
    return info.Env().Undefined();
  });
  r.def("fill_", [](const Napi::CallbackInfo& info) -> Napi::Value {
    T(info, 0).fill_(Sc(info, 1));
    return info.Env().Undefined();
  });
  r.def("zero_", [](const Napi::CallbackInfo& info) -> Napi::Value {
    T(info, 0).zero_();
    return info.Env().Undefined();
  });
  r.def("detach", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), T(info, 0).detach()); });
  // alias(t): a second handle to the same tensor (for APIs that must hand out an owned handle).
  r.def("alias", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), T(info, 0)); });
}

}  // namespace tasksr
