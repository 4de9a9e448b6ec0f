// Shared plumbing for the tasksr native addon: the tensor handle, argument readers and the op registry.
//
// Design (see docs/engine.md):
// * A tensor crosses into JavaScript as a type-tagged empty object wrapping (napi_wrap) a heap `TensorBox`.
//   `dispose` removes the wrap and deletes the box at once (freeing the storage unless autograd still holds it).
//   Removing the wrap matters: N-API runs GC finalizers only when the event loop turns, so a synchronous training
//   loop whose handles merely dropped their tensor would pile up boxes and finalizer records without bound. The
//   finalizer only runs for handles that were never disposed. JavaScript never relies on GC for native memory.
// * Every exported function goes through one trampoline that converts C++ exceptions into JS errors naming the op
//   and the shapes of its tensor arguments. Nothing may unwind into N-API and abort the process.
#pragma once

#define NAPI_VERSION 8
#include <napi.h>

#include <ATen/ATen.h>

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tasksr {

struct TensorBox {
  at::Tensor t;
};

// Handles not yet disposed (JS-visible live-tensor counter).
extern std::atomic<int64_t> g_live_handles;

// Thrown by argument readers; the trampoline adds the op name.
struct ArgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using OpFn = std::function<Napi::Value(const Napi::CallbackInfo&)>;

class Registry {
 public:
  void def(const char* name, OpFn fn);
  void install(Napi::Env env, Napi::Object exports);

 private:
  struct Entry {
    std::string name;
    OpFn fn;
  };
  std::vector<Entry*> entries_;
};

// ---- results ----
Napi::Value wrap(Napi::Env env, at::Tensor t);
Napi::Value wrapList(Napi::Env env, const std::vector<at::Tensor>& ts);
bool isHandle(const Napi::Value& v);
// The box of a tensor handle, or nullptr once it is disposed. `v` must satisfy isHandle.
TensorBox* boxOf(const Napi::Value& v);

// ---- argument readers; `i` is the position in info ----
at::Tensor& T(const Napi::CallbackInfo& info, size_t i);
c10::optional<at::Tensor> OptT(const Napi::CallbackInfo& info, size_t i);
std::vector<at::Tensor> TL(const Napi::CallbackInfo& info, size_t i);
int64_t I(const Napi::CallbackInfo& info, size_t i);
c10::optional<int64_t> OptI(const Napi::CallbackInfo& info, size_t i);
double D(const Napi::CallbackInfo& info, size_t i);
c10::optional<double> OptD(const Napi::CallbackInfo& info, size_t i);
bool B(const Napi::CallbackInfo& info, size_t i);
std::string S(const Napi::CallbackInfo& info, size_t i);
std::vector<int64_t> IL(const Napi::CallbackInfo& info, size_t i);
c10::optional<std::vector<int64_t>> OptIL(const Napi::CallbackInfo& info, size_t i);
std::vector<double> DL(const Napi::CallbackInfo& info, size_t i);
at::Scalar Sc(const Napi::CallbackInfo& info, size_t i);
at::ScalarType Dt(const Napi::CallbackInfo& info, size_t i);
c10::optional<at::ScalarType> OptDt(const Napi::CallbackInfo& info, size_t i);
at::Device Dev(const Napi::CallbackInfo& info, size_t i);
bool IsNum(const Napi::CallbackInfo& info, size_t i);
bool Absent(const Napi::CallbackInfo& info, size_t i);

// Tensor argument that may also be a JS number/boolean (scalar operand).
bool IsScalarArg(const Napi::CallbackInfo& info, size_t i);

// Generator argument: undefined/null means the default generator of the device.
c10::optional<at::Generator> Gen(const Napi::CallbackInfo& info, size_t i);

at::TensorOptions Opts(const Napi::CallbackInfo& info, size_t dtypeIdx, size_t deviceIdx);

// ---- registration hooks, one per source file ----
void registerCore(Registry& r);
void registerCreation(Registry& r);
void registerViews(Registry& r);
void registerMath(Registry& r);
void registerNN(Registry& r);
void registerAutograd(Registry& r);
void registerOptim(Registry& r);
void registerDistributed(Registry& r);

}  // namespace tasksr
