// Debian's libtorch-dev ships c10d's reducer.hpp but not the distributed-autograd header it includes, of which the
// Reducer's declaration needs two names only: the gradient callback type (checked against its own by a
// static_assert) and the context pointer held in a member. Both are declared here as libtorch defines them, so the
// class layout matches the compiled library; nothing of distributed autograd is used. binding.gyp puts this folder
// after libtorch's own includes, so a libtorch that has the real header (a pip wheel) uses that one.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>

namespace torch {
namespace distributed {
namespace autograd {

class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};
using ContextPtr = std::shared_ptr<DistAutogradContext>;

}  // namespace autograd
}  // namespace distributed
}  // namespace torch
