// Decoded frames per second on one core for the DLMS/COSEM and wireless M-Bus decoders, plain and
// encrypted, over their driver vectors (Google Benchmark; items/s = frames/s):
//   ./build/bench/decode_dlms_wmbus_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include <stdexcept>

#include "codec/meter/driver.h"
#include "codec/meter/frame_json.h"

namespace {

using namespace mh::codec;

struct Case {
  const ProtocolDriver* driver;
  std::vector<uint8_t> frame;
  DecodeKeys keys;
};

Case Load(const char* protocol, const char* vector) {
  const ProtocolDriver* d = FindDriver(protocol);
  if (d == nullptr) throw std::runtime_error(std::string("no driver ") + protocol);
  for (const TestVector& v : d->vectors) {
    if (v.name != vector) continue;
    Case c{d, ParseHexFrame(v.hex).value(), {}};
    if (!v.key_hex.empty()) c.keys.any.key = ParseHexFrame(v.key_hex).value();
    if (!v.auth_key_hex.empty()) c.keys.any.auth_key = ParseHexFrame(v.auth_key_hex).value();
    return c;
  }
  throw std::runtime_error(std::string("no vector ") + vector);
}

void Decode(benchmark::State& state, const char* protocol, const char* vector) {
  const Case c = Load(protocol, vector);
  if (!c.driver->decode(c.frame, c.keys).ok()) {
    state.SkipWithError("the vector does not decode");
    return;
  }
  for (auto _ : state) {
    auto frame = c.driver->decode(c.frame, c.keys);
    benchmark::DoNotOptimize(frame);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(c.frame.size()));
}

// DLMS: a Kaifa list 3 (18 elements, no OBIS codes), a Kamstrup list 2 (OBIS codes, 303 bytes),
// the same APDU under general-glo-ciphering (AES-128-GCM, authenticated and encrypted), and the
// TINETZ push (encryption only, two M-Bus segments).
BENCHMARK_CAPTURE(Decode, dlms_kaifa_list3, "dlms", "kaifa_list3_three_phase");
BENCHMARK_CAPTURE(Decode, dlms_kamstrup_list2, "dlms", "kamstrup_list2");
BENCHMARK_CAPTURE(Decode, dlms_glo_gcm_hdlc, "dlms", "glo_auth_enc_hdlc");
BENCHMARK_CAPTURE(Decode, dlms_glo_ctr_mbus, "dlms", "tinetz_mbus_two_segments");
// wM-Bus: a heat meter in frame format A (11 records), the same under security mode 5
// (AES-128-CBC), under ELL AES-128-CTR, and the OMS mode-7 example (AES-CMAC key derivation and MAC).
BENCHMARK_CAPTURE(Decode, wmbus_plain_format_a, "wmbus", "std_heat_format_a");
BENCHMARK_CAPTURE(Decode, wmbus_mode5, "wmbus", "std_heat_mode5");
BENCHMARK_CAPTURE(Decode, wmbus_ell_ctr, "wmbus", "std_heat_ell_aes_ctr");
BENCHMARK_CAPTURE(Decode, wmbus_mode7_oms, "wmbus", "oms_n22_profile_b_mode7");

}  // namespace

BENCHMARK_MAIN();
