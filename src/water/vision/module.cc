#include "water/vision/module.h"

#include "water/vision/offline_read.h"
#include "water/vision/upload_reader.h"

namespace {

const mh::water::vision::Module kModule{
    mh::water::vision::kModuleVersion,
    sizeof(mh::water::vision::Module),
    &mh::water::vision::NewUploadReader,
    &mh::water::vision::RunWaterReadCommand,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const mh::water::vision::Module* mh_vision_module() { return &kModule; }
