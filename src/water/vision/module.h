// The vision module: this library built as a shared object (meterhub-vision.so) that `meterhub`
// loads with dlopen only when it reads a photo or clip. OpenCV's image and video I/O bring some
// 240 shared libraries (FFmpeg, GStreamer, GDAL); linked into the binary they cost every command
// a quarter of a second at start-up, most of it in the dynamic loader. This header is the module's
// whole interface and includes no OpenCV: the binary includes it, the module defines it.
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "water/photo_reader.h"

namespace mh::water::vision {

// Bumped whenever Module, or the PhotoReader interface it hands out (water/photo_reader.h),
// changes; a module of another version is refused, not called.
inline constexpr int kModuleVersion = 2;
inline constexpr const char* kModuleFile = "meterhub-vision.so";
inline constexpr const char* kModuleEntry = "mh_vision_module";

struct Module {
  int version;
  size_t size;  // sizeof(Module) in the module's build
  std::unique_ptr<PhotoReader> (*new_upload_reader)();                               // upload_reader.h
  int (*run_water_read)(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);  // offline_read.h
};

}  // namespace mh::water::vision

// The module's entry point, looked up by name (kModuleEntry).
extern "C" const mh::water::vision::Module* mh_vision_module();
