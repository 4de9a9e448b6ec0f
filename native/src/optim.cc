// Optimizer update rules. State tensors are owned by JavaScript (so they serialise like any tensor); the arithmetic
// runs here, one call per parameter group, with the same op sequence as torch.optim's single-tensor
// implementations so results agree with PyTorch to float rounding.
#include "common.h"

#include <cmath>

namespace tasksr {

namespace {
// Array of tensor-or-null of length n.
std::vector<c10::optional<at::Tensor>> optTensors(const Napi::CallbackInfo& info, size_t i, size_t n) {
  if (i >= info.Length() || !info[i].IsArray()) throw ArgError("argument " + std::to_string(i) + " must be an array");
  auto a = info[i].As<Napi::Array>();
  if (a.Length() != n) throw ArgError("argument " + std::to_string(i) + " must have one entry per parameter");
  std::vector<c10::optional<at::Tensor>> out(n);
  for (uint32_t k = 0; k < n; ++k) {
    Napi::Value v = a.Get(k);
    if (v.IsNull() || v.IsUndefined()) continue;
    if (!isHandle(v)) throw ArgError("argument " + std::to_string(i) + " element " + std::to_string(k) + " is not a tensor");
    auto* box = boxOf(v);
    if (box == nullptr) throw ArgError("argument " + std::to_string(i) + " element " + std::to_string(k) + " is a disposed tensor");
    out[k] = box->t;
  }
  return out;
}

void requireSameLength(size_t a, size_t b, const char* what) {
  if (a != b) throw ArgError(std::string(what) + " must have one entry per parameter");
}
}  // namespace

void registerOptim(Registry& r) {
  // sgdStep(params, momentumBuffers (tensor|null)[], lr, momentum, dampening, weightDecay, nesterov, maximize)
  //   -> array: a new momentum buffer where one was created this step, else undefined.
  // Parameters without a gradient are skipped, as in torch.optim.SGD.
  r.def("sgdStep", [](const Napi::CallbackInfo& info) -> Napi::Value {
    at::NoGradGuard noGrad;
    auto params = TL(info, 0);
    auto bufs = optTensors(info, 1, params.size());
    const double lr = D(info, 2), momentum = D(info, 3), dampening = D(info, 4), wd = D(info, 5);
    const bool nesterov = B(info, 6), maximize = B(info, 7);
    std::vector<at::Tensor> created(params.size());
    for (size_t k = 0; k < params.size(); ++k) {
      at::Tensor& p = params[k];
      if (!p.grad().defined()) continue;
      at::Tensor d = maximize ? p.grad().neg() : p.grad();
      if (wd != 0) d = d.add(p, wd);
      if (momentum != 0) {
        at::Tensor buf;
        if (!bufs[k]) {
          buf = d.clone().detach();
          created[k] = buf;
        } else {
          buf = *bufs[k];
          buf.mul_(momentum).add_(d, 1 - dampening);
        }
        d = nesterov ? d.add(buf, momentum) : buf;
      }
      p.add_(d, -lr);
    }
    return wrapList(info.Env(), created);
  });

  // adamStep(params, expAvg[], expAvgSq[], maxExpAvgSq (tensor|null)[], steps (after increment)[],
  //          lr, beta1, beta2, eps, weightDecay, amsgrad, decoupled (AdamW), maximize)
  r.def("adamStep", [](const Napi::CallbackInfo& info) -> Napi::Value {
    at::NoGradGuard noGrad;
    auto params = TL(info, 0);
    auto m = TL(info, 1);
    auto v = TL(info, 2);
    auto vmax = optTensors(info, 3, params.size());
    const auto steps = DL(info, 4);
    requireSameLength(m.size(), params.size(), "expAvg");
    requireSameLength(v.size(), params.size(), "expAvgSq");
    requireSameLength(steps.size(), params.size(), "steps");
    const double lr = D(info, 5), beta1 = D(info, 6), beta2 = D(info, 7), eps = D(info, 8), wd = D(info, 9);
    const bool amsgrad = B(info, 10), decoupled = B(info, 11), maximize = B(info, 12);
    for (size_t k = 0; k < params.size(); ++k) {
      at::Tensor& p = params[k];
      if (!p.grad().defined()) continue;
      at::Tensor g = maximize ? p.grad().neg() : p.grad();
      if (decoupled) {
        p.mul_(1 - lr * wd);
      } else if (wd != 0) {
        g = g.add(p, wd);
      }
      m[k].mul_(beta1).add_(g, 1 - beta1);
      v[k].mul_(beta2).addcmul_(g, g, 1 - beta2);
      const double step = steps[k];
      const double bc1 = 1 - std::pow(beta1, step);
      const double bc2 = 1 - std::pow(beta2, step);
      const double stepSize = lr / bc1;
      const double bc2Sqrt = std::sqrt(bc2);
      at::Tensor denom;
      if (amsgrad) {
        if (!vmax[k]) throw ArgError("amsgrad needs a maxExpAvgSq tensor for every parameter");
        at::maximum_out(*vmax[k], *vmax[k], v[k]);
        denom = vmax[k]->sqrt().div(bc2Sqrt).add_(eps);
      } else {
        denom = v[k].sqrt().div(bc2Sqrt).add_(eps);
      }
      p.addcdiv_(m[k], denom, -stepSize);
    }
    return info.Env().Undefined();
  });

  // clipGradNorm(params, maxNorm, normType) -> total norm (as torch.nn.utils.clip_grad_norm_)
  r.def("clipGradNorm", [](const Napi::CallbackInfo& info) -> Napi::Value {
    at::NoGradGuard noGrad;
    auto params = TL(info, 0);
    const double maxNorm = D(info, 1), normType = D(info, 2);
    std::vector<at::Tensor> grads;
    for (auto& p : params) {
      if (p.grad().defined()) grads.push_back(p.grad());
    }
    if (grads.empty()) return Napi::Number::New(info.Env(), 0.0);
    at::Tensor total;
    if (std::isinf(normType)) {
      std::vector<at::Tensor> norms;
      for (auto& g : grads) norms.push_back(g.detach().abs().max());
      total = at::stack(norms).max();
    } else {
      std::vector<at::Tensor> norms;
      for (auto& g : grads) norms.push_back(at::linalg_vector_norm(g.detach(), normType));
      total = at::linalg_vector_norm(at::stack(norms), normType);
    }
    const at::Tensor coef = (maxNorm / (total + 1e-6)).clamp_max(1.0);
    for (auto& g : grads) g.detach().mul_(coef);
    return Napi::Number::New(info.Env(), total.item<double>());
  });
}

}  // namespace tasksr
