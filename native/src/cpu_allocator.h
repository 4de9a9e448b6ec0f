// libtorch's CPU allocator for tasksr: exact byte accounting, and a pool of its own for large blocks.
//
// Why a pool (docs/engine.md, "Memory"): under tcmalloc, large tensors share the page heap with every small
// allocation of the process (V8, N-API, libtorch's metadata). Where those small spans land between freed tensors
// depends on timing, and the tensors' spans then coalesce differently: a ResNet-18 training step peaked at
// 756 to 909 MB RSS over identical runs while the tensors' own peak was 520 MB in every one. Blocks of 256 KiB
// and more therefore come from mappings that hold nothing else, managed best fit with splitting and coalescing;
// the same step now peaks at the same RSS in every run, below PyTorch's.
#pragma once

#include <cstdint>

namespace tasksr {

struct CpuMemoryStats {
  int64_t allocated;  // bytes of live CPU tensor storage (as requested by libtorch)
  int64_t peak;       // high-water mark of `allocated` since start or resetCpuPeak
  int64_t poolMapped; // address space mapped for large blocks (resident only where tensors have touched it)
  int64_t poolFree;   // bytes of that address space not in use by a tensor
};

CpuMemoryStats cpuMemoryStats();
void resetCpuPeak();
// Returns the pages of the pool's free blocks to the system (like torch.cuda.empty_cache for the CPU); returns
// the free bytes advised, resident or not.
int64_t emptyCpuCache();
// Installs the allocator as libtorch's CPU allocator (once; later calls do nothing).
void installCpuAllocator();

}  // namespace tasksr
