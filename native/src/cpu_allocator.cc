// See cpu_allocator.h for why large blocks bypass malloc.
#include "cpu_allocator.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <c10/util/Exception.h>
#include <sys/mman.h>

#include <atomic>
#include <mutex>
#include <set>

namespace tasksr {
namespace {

struct Block;

// Every block starts with this header; the tensor's data follows at +kHeader, keeping c10's 64-byte alignment.
struct Header {
  size_t requested;  // bytes libtorch asked for
  Block* block;      // the pool block, or nullptr for a block from c10::alloc_cpu
};
constexpr size_t kHeader = 64;
static_assert(sizeof(Header) <= kHeader, "header must fit in the alignment padding");

// Below this (request + header) malloc serves the block: tcmalloc's size classes end here, and small tensors are
// many and short-lived. Pool blocks are whole pages, so emptyCache can hand free ones back page by page.
constexpr size_t kLargeBytes = size_t{256} << 10;
constexpr size_t kPage = 4096;
// Address space reserved per mapping. Pages no tensor has touched are not resident, so a large reservation costs
// nothing, and one arena lets best fit place blocks of every size together: with 64 MiB mappings, EDSR's 38 MB
// x4 output fit beside its 2 MiB body activations only in fresh mappings and the pool grew to 1.45x the tensors'
// peak (peak RSS 561 MB, PyTorch's 498); one arena holds it at its peak. A request above this gets a mapping of
// its own, rounded to 2 MiB.
constexpr size_t kArena = size_t{1} << 30;
constexpr size_t kHugeRound = size_t{2} << 20;

std::atomic<int64_t> g_allocated{0};
std::atomic<int64_t> g_peak{0};

// A run of pages in one mapping (`mapping`: its serial number); neighbours in address order are linked so that freed
// runs coalesce.
struct Block {
  char* ptr;
  size_t size;
  bool free;
  Block* prev;
  Block* next;
  size_t mapping;
};

// Among equal sizes, the older mapping first, then the lower address. Not the address alone: mmap places newer
// mappings below older ones, so once a step has freed everything, whole free arenas tie on size and the newest —
// whose pages the previous step touched least — would be taken first. A SwinIR-M step (3.4 GB of tensors, four
// arenas) then touched every page of all four from its second step on (peak RSS 4.39 GB instead of 3.81).
struct BySizeThenAge {
  bool operator()(const Block* a, const Block* b) const {
    if (a->size != b->size) return a->size < b->size;
    if (a->mapping != b->mapping) return a->mapping < b->mapping;
    return a->ptr < b->ptr;
  }
};

// Best fit (smallest free run that fits, the oldest and lowest among equals) with splitting and coalescing, the
// policy of tcmalloc's page heap, over mappings that hold nothing but libtorch's large blocks. A step that repeats
// the previous one's allocations from the same free state then places every block where it was.
class LargeBlockPool {
 public:
  Block* acquire(size_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    Block probe{nullptr, bytes, true, nullptr, nullptr, 0};
    auto it = free_.lower_bound(&probe);
    Block* b;
    if (it != free_.end()) {
      b = *it;
      free_.erase(it);
    } else {
      b = map(bytes);
    }
    if (b->size - bytes >= kLargeBytes) {
      auto* rest = new Block{b->ptr + bytes, b->size - bytes, true, b, b->next, b->mapping};
      if (b->next != nullptr) b->next->prev = rest;
      b->next = rest;
      b->size = bytes;
      free_.insert(rest);
    }
    b->free = false;
    freeBytes_ -= b->size;
    return b;
  }

  void release(Block* b) {
    std::lock_guard<std::mutex> lock(mu_);
    freeBytes_ += b->size;
    b->free = true;
    if (b->prev != nullptr && b->prev->free) b = absorbNext(b->prev);
    if (b->next != nullptr && b->next->free) b = absorbNext(b);
    free_.insert(b);
  }

  // Hands the pages of every free block back to the system; they read as zeros when touched again.
  int64_t emptyCache() {
    std::lock_guard<std::mutex> lock(mu_);
    for (Block* b : free_) madvise(b->ptr, b->size, MADV_DONTNEED);
    return static_cast<int64_t>(freeBytes_);
  }

  void stats(CpuMemoryStats& s) {
    std::lock_guard<std::mutex> lock(mu_);
    s.poolMapped = static_cast<int64_t>(mapped_);
    s.poolFree = static_cast<int64_t>(freeBytes_);
  }

 private:
  // Merges b->next (free) into b; both leave the free set, and b is returned out of it.
  Block* absorbNext(Block* b) {
    Block* n = b->next;
    free_.erase(n);
    if (b->free) free_.erase(b);
    b->size += n->size;
    b->next = n->next;
    if (n->next != nullptr) n->next->prev = b;
    delete n;
    return b;
  }

  // A new mapping as one free block (out of the free set).
  Block* map(size_t bytes) {
    const int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
    size_t size = bytes <= kArena ? kArena : (bytes + kHugeRound - 1) / kHugeRound * kHugeRound;
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (p == MAP_FAILED && size > bytes) {
      // Where the system limits address space, map only what this block needs.
      size = bytes;
      p = mmap(nullptr, size, PROT_READ | PROT_WRITE, flags, -1, 0);
    }
    TORCH_CHECK(p != MAP_FAILED, "tasksr CPU allocator: cannot map ", bytes, " bytes (out of memory)");
    mapped_ += size;
    freeBytes_ += size;
    return new Block{static_cast<char*>(p), size, true, nullptr, nullptr, mappings_++};
  }

  std::mutex mu_;
  std::set<Block*, BySizeThenAge> free_;
  size_t mappings_ = 0;
  size_t mapped_ = 0;
  size_t freeBytes_ = 0;
};

// Never destroyed: tensors may outlive static destruction at process exit.
LargeBlockPool& largeBlocks() {
  static auto* pool = new LargeBlockPool();
  return *pool;
}

void deleteBlock(void* data) {
  if (data == nullptr) return;
  auto* h = reinterpret_cast<Header*>(static_cast<char*>(data) - kHeader);
  g_allocated -= static_cast<int64_t>(h->requested);
  if (h->block == nullptr) {
    c10::free_cpu(h);
  } else {
    largeBlocks().release(h->block);
  }
}

struct CpuAllocator final : c10::Allocator {
#if TASKSR_TORCH_MAJOR > 2 || (TASKSR_TORCH_MAJOR == 2 && TASKSR_TORCH_MINOR >= 3)
  c10::DataPtr allocate(size_t n) override {
#else
  c10::DataPtr allocate(size_t n) const override {
#endif
    Header* h;
    if (n + kHeader < kLargeBytes) {
      h = static_cast<Header*>(c10::alloc_cpu(n + kHeader));
      h->block = nullptr;
    } else {
      Block* b = largeBlocks().acquire((n + kHeader + kPage - 1) / kPage * kPage);
      h = reinterpret_cast<Header*>(b->ptr);
      h->block = b;
    }
    h->requested = n;
    const int64_t now = (g_allocated += static_cast<int64_t>(n));
    int64_t peak = g_peak.load();
    while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
    }
    void* data = reinterpret_cast<char*>(h) + kHeader;
    return {data, data, &deleteBlock, at::Device(at::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &deleteBlock; }
#if TASKSR_TORCH_MAJOR > 2 || (TASKSR_TORCH_MAJOR == 2 && TASKSR_TORCH_MINOR >= 3)
  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }
#endif
};

CpuAllocator g_allocator;
std::once_flag g_installed;

}  // namespace

CpuMemoryStats cpuMemoryStats() {
  CpuMemoryStats s{};
  s.allocated = g_allocated.load();
  s.peak = g_peak.load();
  largeBlocks().stats(s);
  return s;
}

void resetCpuPeak() { g_peak = g_allocated.load(); }

int64_t emptyCpuCache() { return largeBlocks().emptyCache(); }

void installCpuAllocator() {
  std::call_once(g_installed, [] { c10::SetCPUAllocator(&g_allocator, /*priority=*/10); });
}

}  // namespace tasksr
