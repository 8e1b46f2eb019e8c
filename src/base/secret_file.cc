#include "base/secret_file.h"

#include <sys/stat.h>

namespace mh {

Status CheckOwnerOnlyFile(const std::string& path, const std::string& what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return FailedPrecondition("cannot read " + what + " '" + path + "'");
  if ((st.st_mode & 077) != 0) return FailedPrecondition(what + " '" + path + "' is readable by others (chmod 600 it)");
  return Status::Ok();
}

}  // namespace mh
