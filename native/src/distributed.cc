// Distributed training on PyTorch's own c10d: a TCPStore rendezvous, a Gloo process group, its collectives, and
// c10d::Reducer (the engine of Python's DistributedDataParallel: gradient buckets all-reduced from autograd hooks
// while backward still runs). Nothing here calls into JavaScript: the Reducer's hooks and the differentiable
// all-reduce run wherever the autograd engine runs them (docs/distributed.md).
#include "common.h"

#if TASKSR_DIST
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/comm.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>
#endif

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace tasksr {

#if TASKSR_DIST
namespace {

struct Group {
  int64_t id;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  std::chrono::milliseconds timeout;
  int rank;
  int world;
};

// A collective started and not yet waited for (and the tensors it reads and writes).
struct Pending {
  c10::intrusive_ptr<c10d::Work> work;
  std::chrono::milliseconds timeout;
  std::vector<at::Tensor> tensors;
};

// Handles are N-API externals; a finalizer frees what JavaScript forgot to shut down.
template <typename X>
X& external(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsExternal()) {
    throw ArgError("argument " + std::to_string(i) + " must be a " + what + " handle");
  }
  auto* p = info[i].As<Napi::External<std::shared_ptr<X>>>().Data();
  if (p == nullptr || !*p) throw ArgError(std::string(what) + " handle was shut down");
  return **p;
}

template <typename X>
Napi::Value makeExternal(Napi::Env env, std::shared_ptr<X> x) {
  return Napi::External<std::shared_ptr<X>>::New(env, new std::shared_ptr<X>(std::move(x)),
                                                  [](Napi::Env, std::shared_ptr<X>* p) { delete p; });
}

c10d::ReduceOp reduceOp(const std::string& op) {
  if (op == "sum") return c10d::ReduceOp::SUM;
  if (op == "max") return c10d::ReduceOp::MAX;
  if (op == "min") return c10d::ReduceOp::MIN;
  throw ArgError("reduce op must be \"sum\", \"max\" or \"min\", got \"" + op + "\"");
}

void wait(const c10::intrusive_ptr<c10d::Work>& work, const Group& g) {
  // Gloo enforces the group's timeout on its transport; waiting with it too bounds a peer that never joins.
  work->wait(g.timeout);
}

// Groups by id, for the autograd function below: its saved data holds IValues, so it keeps the id and looks the
// group up again in backward (which then fails cleanly if the group was shut down in between).
std::mutex g_groups_mutex;
std::unordered_map<int64_t, std::weak_ptr<Group>> g_groups;
int64_t g_next_group = 1;

std::shared_ptr<Group> groupById(int64_t id) {
  std::lock_guard<std::mutex> lock(g_groups_mutex);
  auto it = g_groups.find(id);
  auto g = it == g_groups.end() ? nullptr : it->second.lock();
  if (!g) throw std::runtime_error("the process group was shut down before backward");
  return g;
}

// Sum over ranks whose backward is the sum over ranks of the incoming gradients: with it, statistics computed from
// the all-reduced sums (SyncBatchNorm) back-propagate into every rank's input exactly as one process over the union
// of the batches would.
struct AllreduceSum : public torch::autograd::Function<AllreduceSum> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, int64_t groupId) {
    ctx->saved_data["group"] = groupId;
    auto g = groupById(groupId);
    std::vector<at::Tensor> v{x.detach().contiguous().clone()};
    wait(g->pg->allreduce(v), *g);
    return v[0];
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto g = groupById(ctx->saved_data["group"].toInt());
    std::vector<at::Tensor> v{grads[0].contiguous().clone()};
    wait(g->pg->allreduce(v), *g);
    return {v[0], at::Tensor()};
  }
};

}  // namespace

void registerDistributed(Registry& r) {
  r.def("distAvailable", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Boolean::New(info.Env(), true);
  });
  // distInit(rank, world, addr, port, timeoutMs, agentStore): joins the rendezvous at addr:port (rank 0 hosts the
  // store unless a launcher's agent already does, as torchrun's does) and builds the Gloo group over it.
  r.def("distInit", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const int rank = static_cast<int>(I(info, 0));
    const int world = static_cast<int>(I(info, 1));
    const std::string addr = S(info, 2);
    const int64_t port = I(info, 3);
    const auto timeout = std::chrono::milliseconds(I(info, 4));
    const bool agentStore = B(info, 5);
    if (world < 1 || rank < 0 || rank >= world) {
      throw ArgError("rank " + std::to_string(rank) + " is outside a world of " + std::to_string(world));
    }
    if (port < 1 || port > 65535) throw ArgError("port must be in [1, 65535], got " + std::to_string(port));
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(port);
    so.isServer = rank == 0 && !agentStore;
    so.numWorkers = world;
    so.waitWorkers = false;
    so.timeout = timeout;
    auto g = std::make_shared<Group>();
    g->timeout = timeout;
    g->rank = rank;
    g->world = world;
    g->store = c10::make_intrusive<c10d::TCPStore>(addr, so);
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    // As torch.distributed: the interfaces named in GLOO_SOCKET_IFNAME (comma-separated), else the address this
    // machine's hostname resolves to (loopback when it resolves to nothing bindable).
    const char* ifnames = std::getenv("GLOO_SOCKET_IFNAME");
    if (ifnames != nullptr && *ifnames != '\0') {
      std::stringstream ss(ifnames);
      for (std::string name; std::getline(ss, name, ',');) {
        if (!name.empty()) opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(name));
      }
    } else {
      opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    // Two Gloo threads: a bucket's all-reduce overlaps the next one's copy, as in PyTorch's default of 2.
    opts->threads = 2;
    g->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(c10::make_intrusive<c10d::PrefixStore>("tasksr", g->store),
                                                        rank, world, opts);
    {
      std::lock_guard<std::mutex> lock(g_groups_mutex);
      g->id = g_next_group++;
      g_groups[g->id] = g;
    }
    return makeExternal(info.Env(), g);
  });
  r.def("distShutdown", [](const Napi::CallbackInfo& info) -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsExternal()) throw ArgError("argument 0 must be a process group handle");
    auto* p = info[0].As<Napi::External<std::shared_ptr<Group>>>().Data();
    if (p != nullptr) p->reset();
    return info.Env().Undefined();
  });
  r.def("distAllreduce", [](const Napi::CallbackInfo& info) -> Napi::Value {
    auto& g = external<Group>(info, 0, "process group");
    auto ts = TL(info, 1);
    c10d::AllreduceOptions o;
    o.reduceOp = reduceOp(S(info, 2));
    for (auto& t : ts) {
      if (!t.is_contiguous()) throw ArgError("all-reduce needs contiguous tensors");
    }
    at::NoGradGuard noGrad;
    wait(g.pg->allreduce(ts, o), g);
    return info.Env().Undefined();
  });
  // distAllreduceStart(g, ts, op): the all-reduce runs on Gloo's threads while JavaScript goes on; distWait
  // finishes it. The tensors must stay alive and unchanged until then.
  r.def("distAllreduceStart", [](const Napi::CallbackInfo& info) -> Napi::Value {
    auto& g = external<Group>(info, 0, "process group");
    auto ts = TL(info, 1);
    c10d::AllreduceOptions o;
    o.reduceOp = reduceOp(S(info, 2));
    for (auto& t : ts) {
      if (!t.is_contiguous()) throw ArgError("all-reduce needs contiguous tensors");
    }
    at::NoGradGuard noGrad;
    auto pending = std::make_shared<Pending>();
    pending->work = g.pg->allreduce(ts, o);
    pending->timeout = g.timeout;
    pending->tensors = ts;
    return makeExternal(info.Env(), pending);
  });
  r.def("distWait", [](const Napi::CallbackInfo& info) -> Napi::Value {
    auto& p = external<Pending>(info, 0, "pending collective");
    if (p.work) {
      auto work = std::move(p.work);
      p.tensors.clear();
      work->wait(p.timeout);
    }
    return info.Env().Undefined();
  });
  // Broadcast of many tensors in flat buckets (what DDP uses for parameters and buffers).
  r.def("distBroadcast", [](const Napi::CallbackInfo& info) -> Napi::Value {
    auto& g = external<Group>(info, 0, "process group");
    auto ts = TL(info, 1);
    const int64_t root = I(info, 2);
    if (ts.empty()) return info.Env().Undefined();
    // Parameters are leaves that require grad: overwriting them is not part of any graph.
    at::NoGradGuard noGrad;
    c10d::broadcast_coalesced(g.pg, ts, 16 * 1024 * 1024, static_cast<int>(root));
    return info.Env().Undefined();
  });
  r.def("distAllgather", [](const Napi::CallbackInfo& info) -> Napi::Value {
    auto& g = external<Group>(info, 0, "process group");
    at::Tensor x = T(info, 1).contiguous();
    std::vector<std::vector<at::Tensor>> out(1);
    for (int k = 0; k < g.world; ++k) out[0].push_back(at::empty_like(x));
    std::vector<at::Tensor> in{x};
    wait(g.pg->allgather(out, in), g);
    return wrapList(info.Env(), out[0]);
  });
  r.def("distBarrier", [](const Napi::CallbackInfo& info) -> Napi::Value {
    auto& g = external<Group>(info, 0, "process group");
    wait(g.pg->barrier(), g);
    return info.Env().Undefined();
  });
  r.def("distAllreduceSumGrad", [](const Napi::CallbackInfo& info) -> Napi::Value {
    auto& g = external<Group>(info, 0, "process group");
    return wrap(info.Env(), AllreduceSum::apply(T(info, 1), g.id));
  });
  // ddpReducer(group, params, bucketCapBytes, findUnused): gradient buckets of ~bucketCap bytes in reverse parameter
  // order (the first one small, 1 MiB, so that reduction starts early), gradients averaged over the world.
  r.def("ddpReducer", [](const Napi::CallbackInfo& info) -> Napi::Value {
    auto& g = external<Group>(info, 0, "process group");
    auto params = TL(info, 1);
    const int64_t cap = I(info, 2);
    const bool findUnused = B(info, 3);
    if (params.empty()) throw ArgError("a reducer needs at least one parameter");
    for (size_t k = 0; k < params.size(); ++k) {
      if (!params[k].requires_grad()) {
        throw ArgError("parameter " + std::to_string(k) + " does not require grad; reduce only trained parameters");
      }
    }
    std::vector<bool> sparse(params.size(), false);
    const int64_t first = std::min<int64_t>(cap, c10d::kDefaultFirstBucketBytes);
    auto assigned = c10d::compute_bucket_assignment_by_size(params, {static_cast<size_t>(first), static_cast<size_t>(cap)},
                                                            sparse, {}, c10::nullopt);
    auto reducer = std::make_shared<c10d::Reducer>(params, std::get<0>(assigned), std::get<1>(assigned), g.pg,
                                                   sparse, cap, findUnused, false,
                                                   std::unordered_map<size_t, std::string>{}, first);
    return makeExternal(info.Env(), reducer);
  });
  // Arms the reducer for the next backward from these outputs (without it, as in DDP's no_sync, gradients only
  // accumulate locally).
  r.def("ddpPrepare", [](const Napi::CallbackInfo& info) -> Napi::Value {
    auto& red = external<c10d::Reducer>(info, 0, "reducer");
    red.prepare_for_backward(TL(info, 1));
    return info.Env().Undefined();
  });
}

#else

void registerDistributed(Registry& r) {
  r.def("distAvailable", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Boolean::New(info.Env(), false);
  });
}

#endif

}  // namespace tasksr
