// Tensor creation, host <-> tensor copies, random sampling and generators.
#include "common.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cstring>

namespace tasksr {

namespace {
struct GenBox {
  at::Generator g;
};
const napi_type_tag kGenTag = {0x5d19a7c3e0b24f68ULL, 0x2c8f6e91a4d07b35ULL};

at::Generator& GenRef(const Napi::CallbackInfo& info, size_t i) {
  bool ok = false;
  if (i < info.Length() && info[i].IsExternal()) napi_check_object_type_tag(info.Env(), info[i], &kGenTag, &ok);
  if (!ok) throw ArgError("argument " + std::to_string(i) + " must be a Generator");
  return info[i].As<Napi::External<GenBox>>().Data()->g;
}

// Default generators of every device, so that manualSeed makes CPU and CUDA runs reproducible together.
std::vector<at::Generator> defaultGenerators() {
  std::vector<at::Generator> gens{at::detail::getDefaultCPUGenerator()};
  if (at::hasCUDA()) {
    for (size_t d = 0; d < at::getNumGPUs(); ++d) {
      gens.push_back(at::globalContext().defaultGenerator(at::Device(at::kCUDA, static_cast<at::DeviceIndex>(d))));
    }
  }
  return gens;
}

struct ByteView {
  uint8_t* data;
  size_t length;
};

ByteView bytesOf(const Napi::CallbackInfo& info, size_t i) {
  if (i < info.Length() && info[i].IsTypedArray()) {
    // napi_get_typedarray_info's data pointer also covers views of a SharedArrayBuffer (data-worker batches),
    // which napi_get_arraybuffer_info rejects.
    void* data = nullptr;
    size_t length = 0;
    napi_typedarray_type type;
    const napi_status st = napi_get_typedarray_info(info.Env(), info[i], &type, &length, &data, nullptr, nullptr);
    if (st != napi_ok) throw ArgError("argument " + std::to_string(i) + ": unreadable TypedArray");
    return {static_cast<uint8_t*>(data), info[i].As<Napi::TypedArray>().ByteLength()};
  }
  if (i < info.Length() && info[i].IsArrayBuffer()) {
    auto ab = info[i].As<Napi::ArrayBuffer>();
    return {static_cast<uint8_t*>(ab.Data()), ab.ByteLength()};
  }
  throw ArgError("argument " + std::to_string(i) + " must be a TypedArray or ArrayBuffer");
}
}  // namespace

c10::optional<at::Generator> Gen(const Napi::CallbackInfo& info, size_t i) {
  if (Absent(info, i)) return c10::nullopt;
  return GenRef(info, i);
}

void registerCreation(Registry& r) {
  // fromBuffer(bytes, shape, dtype, device?) -> copies host bytes (row-major, native endianness) into a new tensor.
  r.def("fromBuffer", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const ByteView src = bytesOf(info, 0);
    const auto shape = IL(info, 1);
    const auto dtype = Dt(info, 2);
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    const size_t need = static_cast<size_t>(t.numel()) * t.element_size();
    if (need != src.length) {
      throw ArgError("data has " + std::to_string(src.length) + " bytes but shape and dtype need " +
                     std::to_string(need));
    }
    if (need > 0) std::memcpy(t.data_ptr(), src.data, need);
    const at::Device dev = Dev(info, 3);
    return wrap(info.Env(), dev.is_cpu() ? t : t.to(dev));
  });
  // viewShared(float32View, shape, flags: Int32Array, index) -> a CPU float32 tensor over the view's memory, no copy.
  // For data-worker batches in SharedArrayBuffers: when the tensor's storage is freed (on whatever thread),
  // flags[index] is set to 0 with release ordering, which tells the worker the buffer is free again (it reads the
  // flag with Atomics.load). The caller keeps both buffers alive until the flag reads 0 (shared_arrays.ts).
  r.def("viewShared", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const ByteView src = bytesOf(info, 0);
    const auto shape = IL(info, 1);
    const ByteView flags = bytesOf(info, 2);
    const int64_t index = info[3].As<Napi::Number>().Int64Value();
    if (index < 0 || static_cast<size_t>(index + 1) * sizeof(int32_t) > flags.length) {
      throw ArgError("flag index " + std::to_string(index) + " outside flags of " + std::to_string(flags.length) +
                     " bytes");
    }
    int64_t numel = 1;
    for (const int64_t d : shape) numel *= d;
    if (static_cast<size_t>(numel) * sizeof(float) != src.length) {
      throw ArgError("data has " + std::to_string(src.length) + " bytes but the shape needs " +
                     std::to_string(numel * sizeof(float)));
    }
    if (reinterpret_cast<uintptr_t>(src.data) % alignof(float) != 0) throw ArgError("data is not 4-byte aligned");
    int32_t* flag = reinterpret_cast<int32_t*>(flags.data) + index;
    at::Tensor t = at::from_blob(
        src.data, shape, [flag](void*) { __atomic_store_n(flag, 0, __ATOMIC_RELEASE); },
        at::TensorOptions().dtype(at::kFloat));
    return wrap(info.Env(), t);
  });
  // toBuffer(t) -> ArrayBuffer with a contiguous CPU copy of the elements.
  r.def("toBuffer", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const at::Tensor t = T(info, 0).detach().to(at::kCPU).contiguous();
    const size_t n = static_cast<size_t>(t.numel()) * t.element_size();
    auto ab = Napi::ArrayBuffer::New(info.Env(), n);
    if (n > 0) std::memcpy(ab.Data(), t.data_ptr(), n);
    return ab;
  });
  // copyIntoBuffer(t, typedArray): writes the elements into caller-owned memory (no extra allocation).
  r.def("copyIntoBuffer", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const at::Tensor t = T(info, 0).detach().to(at::kCPU).contiguous();
    const ByteView dst = bytesOf(info, 1);
    const size_t n = static_cast<size_t>(t.numel()) * t.element_size();
    if (n != dst.length) throw ArgError("destination has " + std::to_string(dst.length) + " bytes, tensor has " + std::to_string(n));
    if (n > 0) std::memcpy(dst.data, t.data_ptr(), n);
    return info.Env().Undefined();
  });

  r.def("empty", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), at::empty(IL(info, 0), Opts(info, 1, 2))); });
  r.def("zeros", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), at::zeros(IL(info, 0), Opts(info, 1, 2))); });
  r.def("ones", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), at::ones(IL(info, 0), Opts(info, 1, 2))); });
  r.def("full", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::full(IL(info, 0), Sc(info, 1), Opts(info, 2, 3)));
  });
  r.def("arange", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::arange(Sc(info, 0), Sc(info, 1), Sc(info, 2), Opts(info, 3, 4)));
  });
  r.def("linspace", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::linspace(Sc(info, 0), Sc(info, 1), I(info, 2), Opts(info, 3, 4)));
  });
  r.def("eye", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::eye(I(info, 0), I(info, 1), Opts(info, 2, 3)));
  });
  // *_like(t, dtype?) keep device and (by default) dtype of t.
  r.def("zerosLike", [](const Napi::CallbackInfo& info) {
    auto o = T(info, 0).options();
    if (!Absent(info, 1)) o = o.dtype(Dt(info, 1));
    return wrap(info.Env(), at::zeros(T(info, 0).sizes(), o));
  });
  r.def("onesLike", [](const Napi::CallbackInfo& info) {
    auto o = T(info, 0).options();
    if (!Absent(info, 1)) o = o.dtype(Dt(info, 1));
    return wrap(info.Env(), at::ones(T(info, 0).sizes(), o));
  });
  r.def("fullLike", [](const Napi::CallbackInfo& info) {
    auto o = T(info, 0).options();
    if (!Absent(info, 2)) o = o.dtype(Dt(info, 2));
    return wrap(info.Env(), at::full(T(info, 0).sizes(), Sc(info, 1), o));
  });
  r.def("emptyLike", [](const Napi::CallbackInfo& info) {
    auto o = T(info, 0).options();
    if (!Absent(info, 1)) o = o.dtype(Dt(info, 1));
    return wrap(info.Env(), at::empty(T(info, 0).sizes(), o));
  });

  // ---- random ----
  r.def("rand", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::rand(IL(info, 0), Gen(info, 3), Opts(info, 1, 2)));
  });
  r.def("randn", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::randn(IL(info, 0), Gen(info, 3), Opts(info, 1, 2)));
  });
  r.def("randint", [](const Napi::CallbackInfo& info) {
    auto o = Opts(info, 3, 4);
    if (Absent(info, 3)) o = o.dtype(at::kLong);
    return wrap(info.Env(), at::randint(I(info, 0), I(info, 1), IL(info, 2), Gen(info, 5), o));
  });
  r.def("randperm", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::randperm(I(info, 0), Gen(info, 2), at::TensorOptions().dtype(at::kLong).device(Dev(info, 1))));
  });
  // bernoulli(probs, gen?) -> 0/1 samples with the dtype of probs.
  r.def("bernoulli", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::bernoulli(T(info, 0), Gen(info, 1)));
  });
  r.def("uniform_", [](const Napi::CallbackInfo& info) {
    T(info, 0).uniform_(D(info, 1), D(info, 2), Gen(info, 3));
    return info.Env().Undefined();
  });
  r.def("normal_", [](const Napi::CallbackInfo& info) {
    T(info, 0).normal_(D(info, 1), D(info, 2), Gen(info, 3));
    return info.Env().Undefined();
  });
  r.def("bernoulli_", [](const Napi::CallbackInfo& info) {
    T(info, 0).bernoulli_(D(info, 1), Gen(info, 2));
    return info.Env().Undefined();
  });
  r.def("multinomial", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::multinomial(T(info, 0), I(info, 1), B(info, 2), Gen(info, 3)));
  });

  // ---- generators ----
  r.def("generatorNew", [](const Napi::CallbackInfo& info) -> Napi::Value {
    auto* box = new GenBox{at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(I(info, 0)))};
    auto ext = Napi::External<GenBox>::New(info.Env(), box, [](Napi::Env, GenBox* b) { delete b; });
    napi_type_tag_object(info.Env(), ext, &kGenTag);
    return ext;
  });
  r.def("generatorSeed", [](const Napi::CallbackInfo& info) -> Napi::Value {
    at::Generator& g = GenRef(info, 0);
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_current_seed(static_cast<uint64_t>(I(info, 1)));
    return info.Env().Undefined();
  });
  r.def("generatorGetState", [](const Napi::CallbackInfo& info) -> Napi::Value {
    at::Generator& g = GenRef(info, 0);
    std::lock_guard<std::mutex> lock(g.mutex());
    return wrap(info.Env(), g.get_state());
  });
  r.def("generatorSetState", [](const Napi::CallbackInfo& info) -> Napi::Value {
    at::Generator& g = GenRef(info, 0);
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_state(T(info, 1));
    return info.Env().Undefined();
  });
  // manualSeed(seed): seeds the default generators of all devices.
  r.def("manualSeed", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const auto seed = static_cast<uint64_t>(I(info, 0));
    for (at::Generator g : defaultGenerators()) {
      std::lock_guard<std::mutex> lock(g.mutex());
      g.set_current_seed(seed);
    }
    return info.Env().Undefined();
  });
  // Default-generator states, one uint8 tensor per device (CPU first), for checkpoints.
  r.def("defaultGeneratorStates", [](const Napi::CallbackInfo& info) -> Napi::Value {
    std::vector<at::Tensor> states;
    for (at::Generator g : defaultGenerators()) {
      std::lock_guard<std::mutex> lock(g.mutex());
      states.push_back(g.get_state());
    }
    return wrapList(info.Env(), states);
  });
  r.def("setDefaultGeneratorStates", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const auto states = TL(info, 0);
    auto gens = defaultGenerators();
    if (states.size() > gens.size()) throw ArgError("more generator states than devices");
    for (size_t k = 0; k < states.size(); ++k) {
      std::lock_guard<std::mutex> lock(gens[k].mutex());
      gens[k].set_state(states[k]);
    }
    return info.Env().Undefined();
  });
}

}  // namespace tasksr
