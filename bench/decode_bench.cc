// Decoded frames per second per meter protocol on one core: every registered driver's test
// vectors decoded round-robin (the "decode" rows), and decoded and printed as the JSON line of
// `meterhub decode` (the "decode+json" rows). Vectors that are meant to fail (corrupt frames)
// are left out. Run: build/bench/decode_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include "codec/meter/driver.h"
#include "codec/meter/frame_json.h"

namespace {

using mh::codec::DecodeKeys;
using mh::codec::ProtocolDriver;

struct Corpus {
  std::vector<std::vector<uint8_t>> frames;
  std::vector<DecodeKeys> keys;
};

Corpus CorpusOf(const ProtocolDriver& driver) {
  Corpus c;
  for (const auto& v : driver.vectors) {
    if (v.expected_json.find(R"("error":)") != std::string::npos) continue;
    DecodeKeys keys;
    if (!v.key_hex.empty()) keys.any.key = *mh::codec::ParseHexFrame(v.key_hex);
    if (!v.auth_key_hex.empty()) keys.any.auth_key = *mh::codec::ParseHexFrame(v.auth_key_hex);
    c.frames.push_back(*mh::codec::ParseHexFrame(v.hex));
    c.keys.push_back(std::move(keys));
  }
  return c;
}

void Decode(benchmark::State& state, const ProtocolDriver* driver, bool json) {
  const Corpus c = CorpusOf(*driver);
  if (c.frames.empty()) {
    state.SkipWithError("no vector decodes");
    return;
  }
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    auto frame = driver->decode(c.frames[i], c.keys[i]);
    if (json && frame.ok()) benchmark::DoNotOptimize(mh::codec::FrameJson(*frame));
    benchmark::DoNotOptimize(frame);
    bytes += c.frames[i].size();
    i = (i + 1) % c.frames.size();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["frames/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["vectors"] = static_cast<double>(c.frames.size());
}

}  // namespace

int main(int argc, char** argv) {
  for (const ProtocolDriver* d : mh::codec::AllDrivers()) {
    benchmark::RegisterBenchmark(("decode/" + d->name).c_str(), Decode, d, false);
    benchmark::RegisterBenchmark(("decode+json/" + d->name).c_str(), Decode, d, true);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
