#include "codec/meter/driver.h"

#include "codec/cjt188/cjt188.h"
#include "codec/dlt645/dlt645.h"
#include "codec/dlms/dlms.h"
#include "codec/wmbus/wmbus.h"

namespace mh::codec {

const std::vector<const ProtocolDriver*>& AllDrivers() {
  // One line per protocol, in the order `meterhub decode --help` lists them.
  static const std::vector<const ProtocolDriver*> drivers = {
      &Dlt645Driver(),
      &Cjt188Driver(),
      &DlmsDriver(),
      &WmbusDriver(),
  };
  return drivers;
}

const ProtocolDriver* FindDriver(std::string_view name) {
  for (const ProtocolDriver* d : AllDrivers()) {
    if (d->name == name) return d;
  }
  return nullptr;
}

}  // namespace mh::codec
