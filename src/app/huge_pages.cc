#include "app/huge_pages.h"

#include <gnu/libc-version.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace mh::app {
namespace {

constexpr const char* kTunables = "GLIBC_TUNABLES";

// glibc.malloc.hugetlb exists from glibc 2.35; an older one would warn about an unknown tunable.
bool GlibcKnowsHugetlb() {
  int major = 0, minor = 0;
  if (std::sscanf(gnu_get_libc_version(), "%d.%d", &major, &minor) != 2) return false;
  return major > 2 || (major == 2 && minor >= 35);
}

// "always [madvise] never": huge pages on request unless the kernel says never.
bool KernelOffersHugePages() {
  std::ifstream modes("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  return std::getline(modes, line) && line.find("[never]") == std::string::npos;
}

// Whether the operator's GLIBC_TUNABLES sets glibc.malloc.<name>.
bool OperatorTunes(const char* name) {
  const char* tunables = std::getenv(kTunables);
  return tunables != nullptr && std::string(tunables).find(std::string("glibc.malloc.") + name) != std::string::npos;
}

}  // namespace

void TuneHeapForFleet() {
  // An arena grows (and the main heap asks brk) 64 MiB ahead: untouched, it costs address space only.
  if (!OperatorTunes("top_pad")) ::mallopt(M_TOP_PAD, 64 << 20);
  // Vectors up to 32 MiB come from the heap, where their freed space is reused, not from fresh mmaps.
  if (!OperatorTunes("mmap_threshold")) ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
  // Up to 1 GiB free at the heap's top stays mapped: the next batch reuses it without faults.
  if (!OperatorTunes("trim_threshold")) ::mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

void ReexecWithHugePageHeap(char** argv) {
  if (std::getenv(kTunables) != nullptr || !GlibcKnowsHugetlb() || !KernelOffersHugePages()) return;
  // The binary's own path, not /proc/self/exe: the process keeps its name ("meterhub") in ps,
  // top and the journal.
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return;
  self[n] = '\0';
  if (::setenv(kTunables, "glibc.malloc.hugetlb=1", 0) != 0) return;
  ::execv(self, argv);
  ::unsetenv(kTunables);  // the exec failed (the binary replaced meanwhile?): go on as we are
}

}  // namespace mh::app
