// Transparent huge pages for the heap of the memory-heavy commands (`serve`, `import`).
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

}  // namespace mh::app
