// Files that hold secrets (the ledger's signing key, the keys of encrypted meter frames): MeterHub
// refuses one that others than its owner may read, rather than use a key that may have leaked.
#pragma once

#include <string>

#include "base/status.h"

namespace mh {

// OK when `path` exists and neither its group nor others have any permission on it; else
// FailedPrecondition "<what> '<path>' …" saying what to do.
Status CheckOwnerOnlyFile(const std::string& path, const std::string& what);

}  // namespace mh
