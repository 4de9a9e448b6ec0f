// Autograd: gradient flags and access, backward, torch.autograd.grad, grad mode, autocast,
// and the worked example of a differentiable op written in C++ (scaleGrad).
#include "common.h"

#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/autograd/grad_mode.h>

namespace tasksr {

namespace {
// The pattern for a new differentiable op (docs/engine.md, "Adding a differentiable op"): a
// torch::autograd::Function with static forward/backward, both pure C++, so backward runs on whatever thread the
// autograd engine picks (CPU or a CUDA device thread) without calling into JavaScript.
// scaleGrad is the identity in the forward pass and multiplies the incoming gradient by `scale` in the backward pass
// (scale = 0 stops a branch, scale = -1 reverses it).
struct ScaleGrad : public torch::autograd::Function<ScaleGrad> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, double scale) {
    ctx->saved_data["scale"] = scale;
    return x.clone();
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const double scale = ctx->saved_data["scale"].toDouble();
    return {grads[0] * scale, at::Tensor()};
  }
};

std::vector<at::Tensor> optionalList(const Napi::CallbackInfo& info, size_t i) {
  if (Absent(info, i)) return {};
  return TL(info, i);
}

bool isCuda(const std::string& deviceType) {
  if (deviceType == "cuda") return true;
  if (deviceType == "cpu") return false;
  throw ArgError("device type must be \"cpu\" or \"cuda\", got \"" + deviceType + "\"");
}

#if TASKSR_TORCH_MAJOR > 2 || (TASKSR_TORCH_MAJOR == 2 && TASKSR_TORCH_MINOR >= 4)
bool autocastEnabled(bool cuda) { return at::autocast::is_autocast_enabled(cuda ? at::kCUDA : at::kCPU); }
at::ScalarType autocastDtype(bool cuda) { return at::autocast::get_autocast_dtype(cuda ? at::kCUDA : at::kCPU); }
void setAutocast(bool cuda, bool on, at::ScalarType dtype) {
  at::autocast::set_autocast_dtype(cuda ? at::kCUDA : at::kCPU, dtype);
  at::autocast::set_autocast_enabled(cuda ? at::kCUDA : at::kCPU, on);
}
#else
bool autocastEnabled(bool cuda) { return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled(); }
at::ScalarType autocastDtype(bool cuda) {
  return cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
}
void setAutocast(bool cuda, bool on, at::ScalarType dtype) {
  if (cuda) {
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(on);
  } else {
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(on);
  }
}
#endif
}  // namespace

void registerAutograd(Registry& r) {
  r.def("requiresGrad", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Boolean::New(info.Env(), T(info, 0).requires_grad());
  });
  r.def("setRequiresGrad", [](const Napi::CallbackInfo& info) -> Napi::Value {
    T(info, 0).requires_grad_(B(info, 1));
    return info.Env().Undefined();
  });
  r.def("isLeaf", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Boolean::New(info.Env(), T(info, 0).is_leaf());
  });
  r.def("retainGrad", [](const Napi::CallbackInfo& info) -> Napi::Value {
    T(info, 0).retain_grad();
    return info.Env().Undefined();
  });
  r.def("gradFnName", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const auto fn = T(info, 0).grad_fn();
    if (!fn) return info.Env().Null();
    return Napi::String::New(info.Env(), fn->name());
  });
  // grad(t) -> a new handle to t.grad, or undefined when no gradient has been accumulated.
  r.def("grad", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), T(info, 0).grad()); });
  // setGrad(t, g | null): null drops the gradient (zero_grad(set_to_none=True)).
  r.def("setGrad", [](const Napi::CallbackInfo& info) -> Napi::Value {
    at::Tensor& t = T(info, 0);
    t.mutable_grad() = Absent(info, 1) ? at::Tensor() : T(info, 1);
    return info.Env().Undefined();
  });
  // backward(tensors, gradTensors?, retainGraph, createGraph, inputs?)
  r.def("backward", [](const Napi::CallbackInfo& info) -> Napi::Value {
    torch::autograd::backward(TL(info, 0), optionalList(info, 1), c10::optional<bool>(B(info, 2)), B(info, 3),
                              optionalList(info, 4));
    return info.Env().Undefined();
  });
  // autogradGrad(outputs, inputs, gradOutputs?, retainGraph, createGraph, allowUnused) -> grads (undefined if unused)
  r.def("autogradGrad", [](const Napi::CallbackInfo& info) {
    return wrapList(info.Env(), torch::autograd::grad(TL(info, 0), TL(info, 1), optionalList(info, 2),
                                                      c10::optional<bool>(B(info, 3)), B(info, 4), B(info, 5)));
  });
  r.def("isGradEnabled", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled());
  });
  r.def("setGradEnabled", [](const Napi::CallbackInfo& info) -> Napi::Value {
    at::GradMode::set_enabled(B(info, 0));
    return info.Env().Undefined();
  });
  r.def("scaleGrad", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), ScaleGrad::apply(T(info, 0), D(info, 1))); });

  // ---- autocast (mixed precision); state is thread-local, like grad mode ----
  // autocastEnter(deviceType, enabled, dtype) -> [previousEnabled, previousDtype]; pair with autocastExit.
  r.def("autocastEnter", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const bool cuda = isCuda(S(info, 0));
    const bool prevOn = autocastEnabled(cuda);
    const at::ScalarType prevDtype = autocastDtype(cuda);
    setAutocast(cuda, B(info, 1), Dt(info, 2));
    at::autocast::increment_nesting();
    auto out = Napi::Array::New(info.Env(), 2);
    out.Set(0u, prevOn);
    out.Set(1u, static_cast<int>(prevDtype));
    return out;
  });
  // autocastExit(deviceType, previousEnabled, previousDtype)
  r.def("autocastExit", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const bool cuda = isCuda(S(info, 0));
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    setAutocast(cuda, B(info, 1), Dt(info, 2));
    return info.Env().Undefined();
  });
}

}  // namespace tasksr
