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
// back to the kernel at once: a buffer of M_MMAP_THRESHOLD (32 MiB) or less comes from the heap,
// not from a fresh mmap, and a heap is trimmed only when more than M_TRIM_THRESHOLD (128 MiB) is
// free at its top. With glibc's adaptive defaults, a service that handles messages of a few
// hundred KiB on several threads returned and re-faulted the same pages for every message:
// a third of k8i-ingest's CPU was page faults under memcpy (bench/RESULTS.md). The process's
// resident size then stays near its peak. When GLIBC_TUNABLES sets any glibc.malloc option,
// the operator's settings are left alone.
void TuneAllocatorForServer();

}  // namespace k8i
