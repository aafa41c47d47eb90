// Run-time defaults every long-running k8intel binary applies first thing in main (tests do
// not, so they keep the debugging checks).
#pragma once

namespace k8i {

// ApplyProcessDefaults turns off abseil's mutex deadlock detection. Debian builds abseil
// without NDEBUG, which leaves it on: every absl::Mutex acquisition then also updates a
// process-wide lock graph under one global lock (3.4x the cost of an uncontended lock pair,
// measured, and a point of contention between all threads of a service).
void ApplyProcessDefaults();

// TuneAllocatorForServer makes glibc malloc keep the memory a server frees instead of handing it
// back to the kernel at once: a buffer of up to 32 MiB comes from a heap, not from a fresh mmap,
// and a heap is trimmed only when more than 32 MiB is free at its top. With glibc's adaptive
// defaults, a service that handles messages of a few hundred KiB on several threads returned
// and re-faulted the same pages for every message: 13 % of k8i-ingest's samples were those
// faults, and its CPU per sample fell by a third without them (bench/RESULTS.md). Resident size
// then stays nearer its peak (per malloc arena). When the environment sets malloc options
// (GLIBC_TUNABLES with glibc.malloc.*, or MALLOC_*_), they are left alone.
void TuneAllocatorForServer();

}  // namespace k8i
