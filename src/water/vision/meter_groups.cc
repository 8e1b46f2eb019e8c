#include "water/vision/meter_groups.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <map>
#include <numeric>
#include <regex>

#include <opencv2/imgproc.hpp>

namespace mh::water::vision {
namespace {

const std::regex& Timestamp() {
  static const std::regex re("([0-9]{8})-[0-9]{6}");
  return re;
}

std::string StripFineLabel(const std::string& name) {
  size_t i = 0;
  while (i < name.size() && (std::isdigit(static_cast<unsigned char>(name[i])) || name[i] == '.')) ++i;
  if (i > 0 && i < name.size() && name[i] == '_') return name.substr(i + 1);
  return name;
}

struct UnionFind {
  std::vector<int> parent;
  explicit UnionFind(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  int Find(int i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  }
  void Join(int a, int b) { parent[Find(a)] = Find(b); }
};

uint32_t Fnv1a(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

}  // namespace

std::string NameKeyOfFile(const std::string& file_name) {
  std::string stem = std::filesystem::path(StripFineLabel(file_name)).stem().string();
  static const std::regex hash("[0-9a-f]{32}");
  if (std::regex_match(stem, hash)) return "";
  std::smatch m;
  if (std::regex_search(stem, m, Timestamp())) {
    std::string key = m.prefix().str() + m.suffix().str();
    while (!key.empty() && (key.back() == '_' || key.back() == '-')) key.pop_back();
    while (!key.empty() && (key.front() == '_' || key.front() == '-')) key.erase(0, 1);
    return key.empty() ? "timestamped" : key;
  }
  std::string letters;
  for (char c : stem) {
    if (std::isalpha(static_cast<unsigned char>(c))) letters += c;
  }
  return letters.empty() ? "unnamed" : letters;
}

std::string DateOfFile(const std::string& file_name) {
  std::smatch m;
  const std::string name = std::filesystem::path(file_name).filename().string();
  return std::regex_search(name, m, Timestamp()) ? m[1].str() : "";
}

std::vector<int> MeterGroups(const std::vector<DigitSample>& samples, double max_thumbnail_difference) {
  const size_t n = samples.size();
  UnionFind uf(n);
  std::map<std::string, int> first_with;
  for (size_t i = 0; i < n; ++i) {
    const std::string name = std::filesystem::path(samples[i].path).filename().string();
    for (const std::string& key : {"name:" + NameKeyOfFile(name), "date:" + DateOfFile(name)}) {
      if (key == "name:" || key == "date:") continue;
      auto [it, fresh] = first_with.emplace(key, int(i));
      if (!fresh) uf.Join(int(i), it->second);
    }
  }
  std::vector<cv::Mat> thumbs(n);
  for (size_t i = 0; i < n; ++i) {
    cv::Mat colour = samples[i].image;
    if (colour.channels() == 1) cv::cvtColor(colour, colour, cv::COLOR_GRAY2BGR);
    cv::resize(colour, thumbs[i], cv::Size(8, 16), 0, 0, cv::INTER_AREA);
    thumbs[i].convertTo(thumbs[i], CV_32F);
  }
  const double limit = max_thumbnail_difference * 8 * 16 * 3;
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      if (cv::norm(thumbs[i], thumbs[j], cv::NORM_L1) < limit) uf.Join(int(i), int(j));
    }
  }
  std::vector<int> group(n);
  std::map<int, int> number;
  for (size_t i = 0; i < n; ++i) {
    auto [it, fresh] = number.emplace(uf.Find(int(i)), int(number.size()));
    group[i] = it->second;
  }
  return group;
}

void SplitByGroup(const std::vector<DigitSample>& samples, const std::vector<int>& groups, int validation_percent,
                  std::vector<DigitSample>* train, std::vector<DigitSample>* validation) {
  const int count = groups.empty() ? 0 : *std::max_element(groups.begin(), groups.end()) + 1;
  std::vector<int> size(count, 0);
  std::vector<std::string> first(count);
  for (size_t i = 0; i < samples.size(); ++i) {
    if (size[groups[i]]++ == 0) first[groups[i]] = samples[i].path;
  }
  std::vector<int> order(count);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    const uint32_t ha = Fnv1a(std::filesystem::path(first[a]).filename().string());
    const uint32_t hb = Fnv1a(std::filesystem::path(first[b]).filename().string());
    return ha != hb ? ha < hb : a < b;
  });
  const size_t target = samples.size() * size_t(validation_percent) / 100;
  std::vector<bool> held(count, false);
  size_t taken = 0;
  for (int g : order) {
    if (taken + size_t(size[g]) > target) continue;
    held[g] = true;
    taken += size_t(size[g]);
  }
  for (size_t i = 0; i < samples.size(); ++i) (held[groups[i]] ? validation : train)->push_back(samples[i]);
}

}  // namespace mh::water::vision
