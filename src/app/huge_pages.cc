#include "app/huge_pages.h"

#include <gnu/libc-version.h>
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

}  // namespace

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
