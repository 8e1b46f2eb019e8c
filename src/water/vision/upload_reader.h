// The water service's PhotoReader (water/photo_reader.h) over this library: a photo is decoded
// (its header checked against the pixel cap first) and its register read; a clip's sampled frames
// must agree on one value (video.h). Built into the vision module the daemon loads on demand, and
// linked directly by tests.
#pragma once

#include <memory>

#include "water/photo_reader.h"

namespace mh::water::vision {

// The reader with the built-in digit model; its model is loaded once, on the first upload.
std::unique_ptr<PhotoReader> NewUploadReader();

}  // namespace mh::water::vision
