#include "ingest/device_topics.h"

#include <algorithm>

#include "core/meter_id.h"

namespace mh::ingest {

bool IsUplinkSuffix(std::string_view suffix) {
  return std::find(kUplinkSuffixes.begin(), kUplinkSuffixes.end(), suffix) != kUplinkSuffixes.end();
}

std::string DeviceTopic(std::string_view device_id, std::string_view suffix) {
  std::string topic = "meters/" + std::to_string(ShardOf(device_id)) + "/";
  topic.append(device_id).append("/").append(suffix);
  return topic;
}

}  // namespace mh::ingest
