// The heap of the memory-heavy commands (`serve`, `import`): transparent huge pages, and malloc
// growing in large steps.
//
// Why: a fleet's per-meter state — pipeline entries, the readings not packed yet — is hundreds of
// MB, touched in fleet order rather than memory order. With 4 KiB pages every new page is a page
// fault and most lookups a TLB miss; with 2 MiB pages `meterhub import` of 200,000 meters runs
// ~15–20 % faster (docs/storage.md, "Write-path performance notes"). glibc (2.35 and later) backs malloc's heap with huge
// pages when its tunable `glibc.malloc.hugetlb=1` is set, and reads tunables only when a process
// starts — so the command re-executes itself once with it.
//
// An operator's own GLIBC_TUNABLES (e.g. `glibc.malloc.hugetlb=0` to opt out) is left as it is,
// and nothing happens when the kernel's THP mode is `never`.
#pragma once

namespace mh::app {

// Returns only when it did not re-execute: already set, not wanted, or the exec failed.
void ReexecWithHugePageHeap(char** argv);

// Sets malloc to grow its heaps in large steps and to keep what it frees (mallopt), for a process
// whose heap grows by hundreds of MB in small allocations from two threads. Why: with glibc's
// defaults a thread's arena grows a page at a time, one mprotect each (26,000 of them in an import
// of 200,000 meters), large vectors are mmapped fresh (zeroed pages) at every growth, and freed
// memory goes back to the kernel only to be faulted in again. Measured on that import, medians of
// 3–5 runs, A/B in one session: 3.7–3.9 s → 3.0–3.1 s; on the MQTT path at 1,000,000 meters
// 9.2k → 12.7–13.2k readings/s (docs/storage.md, docs/mqtt.md). A parameter the operator sets in
// GLIBC_TUNABLES is left to them. Call before the first thread starts.
void TuneHeapForFleet();

}  // namespace mh::app
