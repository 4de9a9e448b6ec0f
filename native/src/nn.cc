// Neural-network functionals: convolutions, normalisation, pooling, resampling, activations, losses, NMS.
#include "common.h"

#include <algorithm>
#include <numeric>

namespace tasksr {

namespace {
int64_t reductionCode(const Napi::CallbackInfo& info, size_t i) {
  if (Absent(info, i)) return at::Reduction::Mean;
  const std::string s = S(info, i);
  if (s == "mean") return at::Reduction::Mean;
  if (s == "sum") return at::Reduction::Sum;
  if (s == "none") return at::Reduction::None;
  throw ArgError("reduction must be \"mean\", \"sum\" or \"none\", got \"" + s + "\"");
}

// Greedy NMS over boxes sorted by score (xyxy, IoU > threshold suppresses, as torchvision.ops.nms).
at::Tensor nmsCpu(const at::Tensor& boxesIn, const at::Tensor& scoresIn, double iouThreshold) {
  const at::Tensor boxes = boxesIn.to(at::kCPU, at::kFloat).contiguous();
  const at::Tensor scores = scoresIn.to(at::kCPU, at::kFloat).contiguous();
  const int64_t n = boxes.size(0);
  const float* b = boxes.data_ptr<float>();
  const float* s = scores.data_ptr<float>();
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  // Stable sort by descending score keeps ties in index order, matching torch.sort(stable) on CPU.
  std::stable_sort(order.begin(), order.end(), [s](int64_t a, int64_t c) { return s[a] > s[c]; });
  std::vector<float> area(n);
  for (int64_t k = 0; k < n; ++k) area[k] = (b[4 * k + 2] - b[4 * k]) * (b[4 * k + 3] - b[4 * k + 1]);
  std::vector<char> suppressed(n, 0);
  std::vector<int64_t> keep;
  for (int64_t oi = 0; oi < n; ++oi) {
    const int64_t i = order[oi];
    if (suppressed[i]) continue;
    keep.push_back(i);
    for (int64_t oj = oi + 1; oj < n; ++oj) {
      const int64_t j = order[oj];
      if (suppressed[j]) continue;
      const float xx1 = std::max(b[4 * i], b[4 * j]);
      const float yy1 = std::max(b[4 * i + 1], b[4 * j + 1]);
      const float xx2 = std::min(b[4 * i + 2], b[4 * j + 2]);
      const float yy2 = std::min(b[4 * i + 3], b[4 * j + 3]);
      const float w = std::max(0.0f, xx2 - xx1);
      const float h = std::max(0.0f, yy2 - yy1);
      const float inter = w * h;
      const float iou = inter / (area[i] + area[j] - inter);
      if (iou > iouThreshold) suppressed[j] = 1;
    }
  }
  return at::tensor(keep, at::TensorOptions().dtype(at::kLong));
}
}  // namespace

void registerNN(Registry& r) {
  // conv2d(x, w, b?, stride[2], padding[2], dilation[2], groups)
  r.def("conv2d", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::conv2d(T(info, 0), T(info, 1), OptT(info, 2), IL(info, 3), IL(info, 4), IL(info, 5), I(info, 6)));
  });
  // convTranspose2d(x, w, b?, stride, padding, outputPadding, groups, dilation)
  r.def("convTranspose2d", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::conv_transpose2d(T(info, 0), T(info, 1), OptT(info, 2), IL(info, 3), IL(info, 4), IL(info, 5),
                                                 I(info, 6), IL(info, 7)));
  });
  r.def("linear", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::linear(T(info, 0), T(info, 1), OptT(info, 2)));
  });
  // batchNorm(x, weight?, bias?, runningMean?, runningVar?, training, momentum, eps); updates running stats in place.
  r.def("batchNorm", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::batch_norm(T(info, 0), OptT(info, 1), OptT(info, 2), OptT(info, 3), OptT(info, 4), B(info, 5),
                                           D(info, 6), D(info, 7), /*cudnn_enabled=*/true));
  });
  // runningStats(runningMean, runningVar, mean, unbiasedVar, momentum): the running-statistics update of a batch norm
  // whose batch statistics were computed elsewhere (SyncBatchNorm). Written through variable_data(), as batch_norm's
  // kernel writes them, so that the buffers' autograd versions stay unchanged: an eval-mode forward of the same
  // module earlier in the graph saved them for its backward.
  r.def("runningStats", [](const Napi::CallbackInfo& info) {
    at::NoGradGuard noGrad;
    const double m = D(info, 4);
    auto mean = T(info, 0).variable_data();
    auto var = T(info, 1).variable_data();
    mean.mul_(1 - m).add_(T(info, 2).detach(), m);
    var.mul_(1 - m).add_(T(info, 3).detach(), m);
    return info.Env().Undefined();
  });
  r.def("groupNorm", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::group_norm(T(info, 0), I(info, 1), OptT(info, 2), OptT(info, 3), D(info, 4)));
  });
  r.def("layerNorm", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::layer_norm(T(info, 0), IL(info, 1), OptT(info, 2), OptT(info, 3), D(info, 4)));
  });
  r.def("dropout", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::dropout(T(info, 0), D(info, 1), B(info, 2)));
  });
  r.def("dropout2d", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::feature_dropout(T(info, 0), D(info, 1), B(info, 2)));
  });

  // ---- pooling ----
  r.def("maxPool2d", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::max_pool2d(T(info, 0), IL(info, 1), IL(info, 2), IL(info, 3), IL(info, 4), B(info, 5)));
  });
  r.def("avgPool2d", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::avg_pool2d(T(info, 0), IL(info, 1), IL(info, 2), IL(info, 3), B(info, 4), B(info, 5), OptI(info, 6)));
  });
  r.def("adaptiveAvgPool2d", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::adaptive_avg_pool2d(T(info, 0), IL(info, 1)));
  });
  r.def("adaptiveMaxPool2d", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), std::get<0>(at::adaptive_max_pool2d(T(info, 0), IL(info, 1))));
  });

  // ---- resampling ----
  // interpolate(x[N,C,H,W], mode, [outH, outW], alignCorners, scaleH?, scaleW?, antialias)
  // The scales are the user's scale factors (as F.interpolate passes them) so that the source-coordinate mapping
  // matches PyTorch exactly when a scale factor, not a size, was given.
  r.def("interpolate", [](const Napi::CallbackInfo& info) {
    const at::Tensor& x = T(info, 0);
    const std::string mode = S(info, 1);
    const auto size = IL(info, 2);
    const bool align = B(info, 3);
    const auto sh = OptD(info, 4), sw = OptD(info, 5);
    const bool aa = B(info, 6);
    if (size.size() != 2) throw ArgError("size must have 2 elements");
    if (mode == "nearest") return wrap(info.Env(), at::upsample_nearest2d(x, size, sh, sw));
    if (mode == "nearest-exact") return wrap(info.Env(), at::_upsample_nearest_exact2d(x, size, sh, sw));
    if (mode == "bilinear") {
      return wrap(info.Env(), aa ? at::_upsample_bilinear2d_aa(x, size, align, sh, sw) : at::upsample_bilinear2d(x, size, align, sh, sw));
    }
    if (mode == "bicubic") {
      return wrap(info.Env(), aa ? at::_upsample_bicubic2d_aa(x, size, align, sh, sw) : at::upsample_bicubic2d(x, size, align, sh, sw));
    }
    if (mode == "area") return wrap(info.Env(), at::adaptive_avg_pool2d(x, size));
    throw ArgError("mode must be nearest, nearest-exact, bilinear, bicubic or area, got \"" + mode + "\"");
  });
  r.def("pixelShuffle", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), at::pixel_shuffle(T(info, 0), I(info, 1))); });
  r.def("pixelUnshuffle", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::pixel_unshuffle(T(info, 0), I(info, 1)));
  });
  // gridSample(x, grid, mode 0 bilinear|1 nearest|2 bicubic, padding 0 zeros|1 border|2 reflection, alignCorners)
  r.def("gridSample", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::grid_sampler(T(info, 0), T(info, 1), I(info, 2), I(info, 3), B(info, 4)));
  });

  // ---- activations ----
  r.def("relu", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), at::relu(T(info, 0))); });
  r.def("relu_", [](const Napi::CallbackInfo& info) -> Napi::Value {
    at::relu_(T(info, 0));
    return info.Env().Undefined();
  });
  r.def("leakyRelu", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), at::leaky_relu(T(info, 0), Sc(info, 1))); });
  r.def("prelu", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), at::prelu(T(info, 0), T(info, 1))); });
  r.def("gelu", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::gelu(T(info, 0), Absent(info, 1) ? "none" : S(info, 1)));
  });
  r.def("silu", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), at::silu(T(info, 0))); });
  r.def("hardswish", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), at::hardswish(T(info, 0))); });
  r.def("hardsigmoid", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), at::hardsigmoid(T(info, 0))); });
  r.def("hardtanh", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::hardtanh(T(info, 0), Sc(info, 1), Sc(info, 2)));
  });
  r.def("elu", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), at::elu(T(info, 0), Sc(info, 1))); });
  r.def("softplus", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::softplus(T(info, 0), Sc(info, 1), Sc(info, 2)));
  });
  r.def("softmax", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::softmax(T(info, 0), I(info, 1), OptDt(info, 2)));
  });
  r.def("logSoftmax", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::log_softmax(T(info, 0), I(info, 1), OptDt(info, 2)));
  });
  r.def("oneHot", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), at::one_hot(T(info, 0), I(info, 1))); });

  // ---- losses; reduction "mean" | "sum" | "none" ----
  // crossEntropy(logits[N,C,...], target[N,...] int64 or probs, weight?, reduction, ignoreIndex, labelSmoothing)
  r.def("crossEntropy", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::cross_entropy_loss(T(info, 0), T(info, 1), OptT(info, 2), reductionCode(info, 3), I(info, 4), D(info, 5)));
  });
  r.def("nllLoss", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::nll_loss_nd(T(info, 0), T(info, 1), OptT(info, 2), reductionCode(info, 3), I(info, 4)));
  });
  r.def("bceWithLogits", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(),
                at::binary_cross_entropy_with_logits(T(info, 0), T(info, 1), OptT(info, 2), OptT(info, 3), reductionCode(info, 4)));
  });
  r.def("l1Loss", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::l1_loss(T(info, 0), T(info, 1), reductionCode(info, 2)));
  });
  r.def("mseLoss", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::mse_loss(T(info, 0), T(info, 1), reductionCode(info, 2)));
  });
  r.def("smoothL1Loss", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::smooth_l1_loss(T(info, 0), T(info, 1), reductionCode(info, 2), D(info, 3)));
  });
  r.def("huberLoss", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::huber_loss(T(info, 0), T(info, 1), reductionCode(info, 2), D(info, 3)));
  });

  // nms(boxes[N,4] xyxy, scores[N], iouThreshold) -> kept indices (int64, by decreasing score), on the boxes' device.
  r.def("nms", [](const Napi::CallbackInfo& info) {
    const at::Tensor& boxes = T(info, 0);
    const at::Tensor& scores = T(info, 1);
    if (boxes.dim() != 2 || boxes.size(1) != 4) throw ArgError("boxes must have shape [N, 4]");
    if (scores.dim() != 1 || scores.size(0) != boxes.size(0)) throw ArgError("scores must have shape [N] matching boxes");
    return wrap(info.Env(), nmsCpu(boxes.detach(), scores.detach(), D(info, 2)).to(boxes.device()));
  });
}

}  // namespace tasksr
