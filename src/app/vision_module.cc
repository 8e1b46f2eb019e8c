#include "app/vision_module.h"

#include <dlfcn.h>

#include <filesystem>
#include <mutex>

namespace mh::app {
namespace {

std::string ExecutableDir() {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : self.parent_path().string();
}

// One attempt at `path`; the reason it failed otherwise.
Result<const water::vision::Module*> TryLoad(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return NotFound(path + ": no such file");
  // RTLD_LOCAL: the module's own copies of this project's code stay private to it.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) return Unavailable(path + ": " + ::dlerror());
  using Entry = const water::vision::Module* (*)();
  auto entry = reinterpret_cast<Entry>(::dlsym(handle, water::vision::kModuleEntry));
  const water::vision::Module* m = entry != nullptr ? entry() : nullptr;
  if (m == nullptr || m->version != water::vision::kModuleVersion || m->size != sizeof(water::vision::Module)) {
    ::dlclose(handle);
    return Unavailable(path + ": not a vision module of this interface version (rebuild meterhub and " +
                       water::vision::kModuleFile + " together)");
  }
  return m;
}

class LazyPhotoReader final : public water::PhotoReader {
 public:
  Result<water::UploadReading> Read(const std::string& bytes, const water::UploadLimits& limits) const override {
    std::call_once(once_, [this] {
      Result<const water::vision::Module*> m = LoadVisionModule();
      if (m.ok()) {
        reader_ = (*m)->new_upload_reader();
      } else {
        failure_ = m.status();
      }
    });
    if (reader_ == nullptr) return Unavailable("photos cannot be read: " + failure_.message());
    return reader_->Read(bytes, limits);
  }

 private:
  mutable std::once_flag once_;
  mutable std::unique_ptr<water::PhotoReader> reader_;
  mutable Status failure_;
};

}  // namespace

std::vector<std::string> VisionModulePaths() {
  std::vector<std::string> paths;
  if (const std::string dir = ExecutableDir(); !dir.empty()) {
    paths.push_back(dir + "/" + water::vision::kModuleFile);
    paths.push_back(dir + "/../lib/meterhub/" + water::vision::kModuleFile);
  }
  // The build tree's, last: for test binaries that run a daemon in-process, as a build-tree RPATH does.
  paths.push_back(MH_VISION_MODULE_BUILT);
  return paths;
}

std::string FindVisionModule() {
  for (const std::string& path : VisionModulePaths()) {
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) return path;
  }
  return {};
}

Result<const water::vision::Module*> LoadVisionModule() {
  static const Result<const water::vision::Module*> loaded = []() -> Result<const water::vision::Module*> {
    std::string tried;
    for (const std::string& path : VisionModulePaths()) {
      Result<const water::vision::Module*> m = TryLoad(path);
      if (m.ok()) return m;
      tried += (tried.empty() ? "" : "; ") + m.status().message();
    }
    return Unavailable(std::string("the vision module ") + water::vision::kModuleFile + " could not be loaded (" +
                       (tried.empty() ? "the executable's directory is unknown" : tried) + ")");
  }();
  return loaded;
}

std::unique_ptr<water::PhotoReader> NewLazyPhotoReader() { return std::make_unique<LazyPhotoReader>(); }

}  // namespace mh::app
