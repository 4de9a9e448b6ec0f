// Addon entry point: op registry and trampoline, tensor handles, argument readers, memory accounting.
#include "common.h"
#include "cpu_allocator.h"

#include <ATen/Parallel.h>

#if TASKSR_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

#include <dlfcn.h>

#include <sstream>

namespace tasksr {

std::atomic<int64_t> g_live_handles{0};

namespace {

// napi type tag marking the objects that wrap a TensorBox (random 128-bit value, fixed for this addon).
const napi_type_tag kTensorTag = {0x7a3c9e41d2b85f06ULL, 0x91e4c7a25b3d6f80ULL};

// GC finalizer of a handle that was never disposed (dispose removes the wrap, and with it this finalizer).
void finalizeBox(napi_env, void* data, void*) {
  delete static_cast<TensorBox*>(data);
  g_live_handles--;
}

const char* dtypeName(at::ScalarType s) {
  switch (s) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kShort: return "int16";
    case at::kChar: return "int8";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    default: return c10::toString(s);
  }
}

std::string describeArg(const Napi::Value& v) {
  if (isHandle(v)) {
    auto* box = boxOf(v);
    if (box == nullptr) return "<disposed tensor>";
    std::ostringstream os;
    os << "Tensor" << box->t.sizes() << " " << dtypeName(box->t.scalar_type()) << " " << box->t.device();
    return os.str();
  }
  if (v.IsNumber()) {
    std::ostringstream os;
    os << v.As<Napi::Number>().DoubleValue();
    return os.str();
  }
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsString()) return "\"" + v.As<Napi::String>().Utf8Value() + "\"";
  if (v.IsUndefined() || v.IsNull()) return "none";
  if (v.IsArray()) {
    auto a = v.As<Napi::Array>();
    std::string s = "[";
    for (uint32_t k = 0; k < a.Length() && k < 8; ++k) s += (k ? ", " : "") + describeArg(a.Get(k));
    if (a.Length() > 8) s += ", ...";
    return s + "]";
  }
  if (v.IsTypedArray()) return "<typed array>";
  return "<object>";
}

std::string describeCall(const std::string& op, const Napi::CallbackInfo& info) {
  std::string s = op + "(";
  for (size_t k = 0; k < info.Length(); ++k) s += (k ? ", " : "") + describeArg(info[k]);
  return s + ")";
}

std::string firstLine(const std::string& msg) {
  // c10 messages in some builds append "Exception raised from ..." lines; keep the message itself.
  const auto cut = msg.find("\nException raised from");
  return cut == std::string::npos ? msg : msg.substr(0, cut);
}

Napi::Value trampoline(const Napi::CallbackInfo& info) {
  auto* e = static_cast<std::pair<std::string, OpFn>*>(info.Data());
  try {
    return e->second(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const ArgError& err) {
    throw Napi::TypeError::New(info.Env(), describeCall(e->first, info) + ": " + err.what());
  } catch (const c10::Error& err) {
    throw Napi::Error::New(info.Env(), describeCall(e->first, info) + ": " + firstLine(err.what_without_backtrace()));
  } catch (const std::exception& err) {
    throw Napi::Error::New(info.Env(), describeCall(e->first, info) + ": " + firstLine(err.what()));
  } catch (...) {
    throw Napi::Error::New(info.Env(), describeCall(e->first, info) + ": unknown native exception");
  }
}

std::string argPrefix(size_t i) { return "argument " + std::to_string(i) + " "; }
}  // namespace

void Registry::def(const char* name, OpFn fn) { entries_.push_back(new Entry{name, std::move(fn)}); }

void Registry::install(Napi::Env env, Napi::Object exports) {
  for (Entry* e : entries_) {
    // The pair lives as long as the process: the functions are module-level exports.
    auto* data = new std::pair<std::string, OpFn>(e->name, std::move(e->fn));
    exports.Set(e->name, Napi::Function::New(env, trampoline, e->name, data));
    delete e;
  }
  entries_.clear();
}

// ---------------------------------------------------------------------------------------------------------------
// Results and argument readers
// ---------------------------------------------------------------------------------------------------------------
bool isHandle(const Napi::Value& v) {
  if (!v.IsObject()) return false;
  bool ok = false;
  napi_check_object_type_tag(v.Env(), v, &kTensorTag, &ok);
  return ok;
}

TensorBox* boxOf(const Napi::Value& v) {
  void* data = nullptr;
  // Unwrapping fails (without raising a JS exception) exactly when dispose already removed the wrap.
  if (napi_unwrap(v.Env(), v, &data) != napi_ok) return nullptr;
  return static_cast<TensorBox*>(data);
}

Napi::Value wrap(Napi::Env env, at::Tensor t) {
  if (!t.defined()) return env.Undefined();
  auto obj = Napi::Object::New(env);
  auto* box = new TensorBox{std::move(t)};
  if (napi_wrap(env, obj, box, finalizeBox, nullptr, nullptr) != napi_ok) {
    delete box;
    throw std::runtime_error("could not wrap a tensor handle");
  }
  napi_type_tag_object(env, obj, &kTensorTag);
  g_live_handles++;
  return obj;
}

Napi::Value wrapList(Napi::Env env, const std::vector<at::Tensor>& ts) {
  auto arr = Napi::Array::New(env, ts.size());
  for (size_t k = 0; k < ts.size(); ++k) arr.Set(static_cast<uint32_t>(k), wrap(env, ts[k]));
  return arr;
}

at::Tensor& T(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !isHandle(info[i])) throw ArgError(argPrefix(i) + "must be a tensor");
  auto* box = boxOf(info[i]);
  if (box == nullptr) throw ArgError(argPrefix(i) + "is a disposed tensor");
  return box->t;
}

bool Absent(const Napi::CallbackInfo& info, size_t i) {
  return i >= info.Length() || info[i].IsUndefined() || info[i].IsNull();
}

c10::optional<at::Tensor> OptT(const Napi::CallbackInfo& info, size_t i) {
  if (Absent(info, i)) return c10::nullopt;
  return T(info, i);
}

std::vector<at::Tensor> TL(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) throw ArgError(argPrefix(i) + "must be an array of tensors");
  auto a = info[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(a.Length());
  for (uint32_t k = 0; k < a.Length(); ++k) {
    Napi::Value v = a.Get(k);
    if (!isHandle(v)) throw ArgError(argPrefix(i) + "element " + std::to_string(k) + " is not a tensor");
    auto* box = boxOf(v);
    if (box == nullptr) throw ArgError(argPrefix(i) + "element " + std::to_string(k) + " is a disposed tensor");
    out.push_back(box->t);
  }
  return out;
}

bool IsNum(const Napi::CallbackInfo& info, size_t i) { return i < info.Length() && info[i].IsNumber(); }

bool IsScalarArg(const Napi::CallbackInfo& info, size_t i) {
  return i < info.Length() && (info[i].IsNumber() || info[i].IsBoolean());
}

int64_t I(const Napi::CallbackInfo& info, size_t i) {
  if (!IsNum(info, i)) throw ArgError(argPrefix(i) + "must be an integer");
  const double d = info[i].As<Napi::Number>().DoubleValue();
  if (d != static_cast<double>(static_cast<int64_t>(d))) throw ArgError(argPrefix(i) + "must be an integer");
  return static_cast<int64_t>(d);
}

c10::optional<int64_t> OptI(const Napi::CallbackInfo& info, size_t i) {
  if (Absent(info, i)) return c10::nullopt;
  return I(info, i);
}

double D(const Napi::CallbackInfo& info, size_t i) {
  if (!IsNum(info, i)) throw ArgError(argPrefix(i) + "must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

c10::optional<double> OptD(const Napi::CallbackInfo& info, size_t i) {
  if (Absent(info, i)) return c10::nullopt;
  return D(info, i);
}

bool B(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsBoolean()) throw ArgError(argPrefix(i) + "must be a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

std::string S(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsString()) throw ArgError(argPrefix(i) + "must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

std::vector<int64_t> IL(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) throw ArgError(argPrefix(i) + "must be an array of integers");
  auto a = info[i].As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t k = 0; k < a.Length(); ++k) {
    Napi::Value v = a.Get(k);
    if (!v.IsNumber()) throw ArgError(argPrefix(i) + "element " + std::to_string(k) + " is not a number");
    const double d = v.As<Napi::Number>().DoubleValue();
    if (d != static_cast<double>(static_cast<int64_t>(d))) {
      throw ArgError(argPrefix(i) + "element " + std::to_string(k) + " is not an integer");
    }
    out[k] = static_cast<int64_t>(d);
  }
  return out;
}

c10::optional<std::vector<int64_t>> OptIL(const Napi::CallbackInfo& info, size_t i) {
  if (Absent(info, i)) return c10::nullopt;
  return IL(info, i);
}

std::vector<double> DL(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) throw ArgError(argPrefix(i) + "must be an array of numbers");
  auto a = info[i].As<Napi::Array>();
  std::vector<double> out(a.Length());
  for (uint32_t k = 0; k < a.Length(); ++k) {
    Napi::Value v = a.Get(k);
    if (!v.IsNumber()) throw ArgError(argPrefix(i) + "element " + std::to_string(k) + " is not a number");
    out[k] = v.As<Napi::Number>().DoubleValue();
  }
  return out;
}

at::Scalar Sc(const Napi::CallbackInfo& info, size_t i) {
  if (i < info.Length() && info[i].IsBoolean()) return at::Scalar(info[i].As<Napi::Boolean>().Value());
  if (!IsNum(info, i)) throw ArgError(argPrefix(i) + "must be a number");
  const double d = info[i].As<Napi::Number>().DoubleValue();
  // Integral JS numbers become integer scalars so that int tensors stay int (as Python ints do in torch).
  if (std::isfinite(d) && d == static_cast<double>(static_cast<int64_t>(d)) && std::abs(d) < 9.007199254740992e15) {
    return at::Scalar(static_cast<int64_t>(d));
  }
  return at::Scalar(d);
}

at::ScalarType Dt(const Napi::CallbackInfo& info, size_t i) {
  const int64_t code = I(info, i);
  switch (code) {
    case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 11: case 15:
      return static_cast<at::ScalarType>(code);
    default:
      throw ArgError(argPrefix(i) + "is not a supported dtype code: " + std::to_string(code));
  }
}

c10::optional<at::ScalarType> OptDt(const Napi::CallbackInfo& info, size_t i) {
  if (Absent(info, i)) return c10::nullopt;
  return Dt(info, i);
}

at::Device Dev(const Napi::CallbackInfo& info, size_t i) {
  if (Absent(info, i)) return at::Device(at::kCPU);
  return at::Device(S(info, i));
}

at::TensorOptions Opts(const Napi::CallbackInfo& info, size_t dtypeIdx, size_t deviceIdx) {
  auto o = at::TensorOptions().device(Dev(info, deviceIdx));
  if (!Absent(info, dtypeIdx)) o = o.dtype(Dt(info, dtypeIdx));
  return o;
}

// ---------------------------------------------------------------------------------------------------------------
// Core: handles, metadata, memory, threads
// ---------------------------------------------------------------------------------------------------------------
void registerCore(Registry& r) {
  r.def("dispose", [](const Napi::CallbackInfo& info) -> Napi::Value {
    if (info.Length() < 1 || !isHandle(info[0])) throw ArgError("argument 0 must be a tensor");
    void* data = nullptr;
    if (napi_remove_wrap(info.Env(), info[0], &data) == napi_ok) {
      delete static_cast<TensorBox*>(data);
      g_live_handles--;
    }
    return info.Env().Undefined();
  });
  r.def("isDisposed", [](const Napi::CallbackInfo& info) -> Napi::Value {
    if (info.Length() < 1 || !isHandle(info[0])) throw ArgError("argument 0 must be a tensor");
    return Napi::Boolean::New(info.Env(), boxOf(info[0]) == nullptr);
  });
  r.def("shape", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const auto sizes = T(info, 0).sizes();
    auto arr = Napi::Array::New(info.Env(), sizes.size());
    for (size_t k = 0; k < sizes.size(); ++k) arr.Set(static_cast<uint32_t>(k), static_cast<double>(sizes[k]));
    return arr;
  });
  r.def("dtype", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<int>(T(info, 0).scalar_type()));
  });
  r.def("device", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::String::New(info.Env(), T(info, 0).device().str());
  });
  r.def("isContiguous", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Boolean::New(info.Env(), T(info, 0).is_contiguous());
  });
  r.def("item", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const at::Tensor& t = T(info, 0);
    if (t.numel() != 1) throw ArgError("item() needs a tensor with exactly one element");
    const at::Scalar s = t.item();
    if (s.isBoolean()) return Napi::Boolean::New(info.Env(), s.toBool());
    return Napi::Number::New(info.Env(), s.toDouble());
  });
  r.def("liveTensors", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(g_live_handles.load()));
  });
  r.def("nativeBytes", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const CpuMemoryStats s = cpuMemoryStats();
    auto o = Napi::Object::New(info.Env());
    o.Set("cpu", static_cast<double>(s.allocated));
    o.Set("cpuPeak", static_cast<double>(s.peak));
    o.Set("poolMapped", static_cast<double>(s.poolMapped));
    o.Set("poolFree", static_cast<double>(s.poolFree));
    return o;
  });
  r.def("resetPeakBytes", [](const Napi::CallbackInfo& info) -> Napi::Value {
    resetCpuPeak();
    return info.Env().Undefined();
  });
  r.def("emptyCache", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(emptyCpuCache()));
  });
  r.def("setNumThreads", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const int64_t n = I(info, 0);
    if (n < 1) throw ArgError("thread count must be >= 1");
    at::set_num_threads(static_cast<int>(n));
    return info.Env().Undefined();
  });
  // OpenBLAS (pthread build) keeps its own thread pool, which libtorch's set_num_threads does not control; the
  // symbols are looked up at run time because libtorch may link another BLAS. Returns the count after the call,
  // or -1 when no OpenBLAS is loaded.
  r.def("blasThreads", [](const Napi::CallbackInfo& info) -> Napi::Value {
    using SetFn = void (*)(int);
    using GetFn = int (*)();
    auto set = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    auto get = reinterpret_cast<GetFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    if (set == nullptr || get == nullptr) return Napi::Number::New(info.Env(), -1);
    if (info.Length() > 0 && !info[0].IsUndefined()) {
      const int64_t n = I(info, 0);
      if (n < 1) throw ArgError("BLAS thread count must be >= 1");
      set(static_cast<int>(n));
    }
    return Napi::Number::New(info.Env(), get());
  });
  r.def("getNumThreads", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Number::New(info.Env(), at::get_num_threads());
  });
  r.def("configShow", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::String::New(info.Env(), at::show_config() + "\n" + at::get_parallel_info());
  });
  r.def("cudaDeviceCount", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Number::New(info.Env(), at::hasCUDA() ? static_cast<double>(at::getNumGPUs()) : 0.0);
  });
  r.def("cudaDeviceName", [](const Napi::CallbackInfo& info) -> Napi::Value {
#if TASKSR_CUDA
    return Napi::String::New(info.Env(), at::cuda::getDeviceProperties(static_cast<int>(I(info, 0)))->name);
#else
    throw ArgError("this build of the engine has no CUDA support");
#endif
  });
  r.def("cudaSynchronize", [](const Napi::CallbackInfo& info) -> Napi::Value {
#if TASKSR_CUDA
    if (at::hasCUDA()) c10::cuda::device_synchronize();
#endif
    return info.Env().Undefined();
  });
  // cudaMemory(device) -> {allocated, peak, reserved} bytes of the caching allocator
  r.def("cudaMemory", [](const Napi::CallbackInfo& info) -> Napi::Value {
    auto o = Napi::Object::New(info.Env());
#if TASKSR_CUDA
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<int>(I(info, 0)));
    const size_t agg = static_cast<size_t>(c10::cuda::CUDACachingAllocator::StatType::AGGREGATE);
    o.Set("allocated", static_cast<double>(stats.allocated_bytes[agg].current));
    o.Set("peak", static_cast<double>(stats.allocated_bytes[agg].peak));
    o.Set("reserved", static_cast<double>(stats.reserved_bytes[agg].current));
#else
    throw ArgError("this build of the engine has no CUDA support");
#endif
    return o;
  });
  r.def("buildInfo", [](const Napi::CallbackInfo& info) -> Napi::Value {
    auto o = Napi::Object::New(info.Env());
    o.Set("torchMajor", TASKSR_TORCH_MAJOR);
    o.Set("torchMinor", TASKSR_TORCH_MINOR);
    o.Set("cudaCompiled", TASKSR_CUDA != 0);
    o.Set("cxx11Abi", _GLIBCXX_USE_CXX11_ABI != 0);
    return o;
  });
}

}  // namespace tasksr

namespace {
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace tasksr;
  installCpuAllocator();
  Registry r;
  registerCore(r);
  registerCreation(r);
  registerViews(r);
  registerMath(r);
  registerNN(r);
  registerAutograd(r);
  registerOptim(r);
  registerDistributed(r);
  r.install(env, exports);
  return exports;
}
}  // namespace

NODE_API_MODULE(tasksr_native, Init)
