// Finds and loads the vision module (water/vision/module.h) on first use, once per process: the
// photo and clip reader, and the offline `meterhub water read`, live there so that no other
// command loads OpenCV's image and video libraries.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "water/photo_reader.h"
#include "water/vision/module.h"

namespace mh::app {

// Where the module is looked for, in order: beside the running executable, then ../lib/meterhub/,
// then where this build put it (for test binaries running a daemon in-process).
std::vector<std::string> VisionModulePaths();

// The first of those paths where a file exists; empty when none (a check, not a load).
std::string FindVisionModule();

// The module (never unloaded). Unavailable, naming every path tried and why each failed, when no
// loadable module of this build's version is found. Thread-safe; the first call loads it.
Result<const water::vision::Module*> LoadVisionModule();

// A PhotoReader that loads the module on its first upload and reads through the module's reader;
// every upload answers Unavailable while the module cannot be loaded.
std::unique_ptr<water::PhotoReader> NewLazyPhotoReader();

}  // namespace mh::app
