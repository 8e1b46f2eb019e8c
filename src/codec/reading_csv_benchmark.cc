// Rows per second of ParseReadingCsv on generated data shaped like a utility's export: hourly
// readings of many meters, a cumulative register with three decimals.
//   ./reading_csv_benchmark --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "codec/reading_csv.h"
#include "core/time.h"

namespace mh::codec {
namespace {

enum class TsForm { kIsoUtc, kIsoOffset, kEpoch };

std::string Generate(int rows, TsForm form, bool crlf) {
  std::string text = "meter_id,timestamp,value\n";
  text.reserve(static_cast<size_t>(rows) * 48);
  const int meters = 1000;
  char buf[128];
  for (int i = 0; i < rows; ++i) {
    int meter = i % meters;
    int64_t ts = 1577836800 + int64_t{i / meters} * 3600;
    double value = 1000.0 + meter + (i / meters) * 0.437;
    std::string t = form == TsForm::kEpoch       ? std::to_string(ts)
                    : form == TsForm::kIsoOffset ? FormatIsoOffset(ts, 8 * 3600)
                                                 : FormatIsoUtc(ts);
    std::snprintf(buf, sizeof buf, "MTR-%06d,%s,%.3f%s\n", meter, t.c_str(), value, crlf ? "\r" : "");
    text += buf;
  }
  return text;
}

void BM_ParseReadingCsv(benchmark::State& state, TsForm form, bool crlf) {
  const int rows = static_cast<int>(state.range(0));
  const std::string text = Generate(rows, form, crlf);
  int64_t sink = 0;
  for (auto _ : state) {
    int64_t n = 0;
    Status s = ParseReadingCsv(
        text, [&](const Reading& r, int64_t) { n += r.ts & 1; }, [&](const RowIssue&) { n = -1; });
    if (!s.ok() || n < 0) state.SkipWithError("parse failed");
    sink += n;
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations() * rows);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
  state.counters["rows/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * rows,
                                                benchmark::Counter::kIsRate);
}

BENCHMARK_CAPTURE(BM_ParseReadingCsv, iso_utc, TsForm::kIsoUtc, false)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ParseReadingCsv, iso_utc_crlf, TsForm::kIsoUtc, true)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ParseReadingCsv, iso_offset, TsForm::kIsoOffset, false)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ParseReadingCsv, epoch, TsForm::kEpoch, false)->Arg(1000000)->Unit(benchmark::kMillisecond);

// Through ParseReadingCsvFile (mmap), the file in the page cache.
void BM_ParseReadingCsvFile(benchmark::State& state) {
  const int rows = static_cast<int>(state.range(0));
  const std::string path =
      (std::filesystem::temp_directory_path() / ("mh_csv_bench_" + std::to_string(getpid()) + ".csv")).string();
  const std::string text = Generate(rows, TsForm::kIsoUtc, false);
  std::ofstream(path, std::ios::binary) << text;
  int64_t sink = 0;
  for (auto _ : state) {
    int64_t n = 0;
    Status s = ParseReadingCsvFile(path, [&](const Reading& r, int64_t) { n += r.ts & 1; }, {});
    if (!s.ok()) state.SkipWithError("parse failed");
    sink += n;
  }
  std::filesystem::remove(path);
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations() * rows);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
  state.counters["rows/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * rows,
                                                benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ParseReadingCsvFile)->Arg(1000000)->Unit(benchmark::kMillisecond);

void BM_ParseValue(benchmark::State& state) {
  const char* values[] = {"1234.567", "0.5", "99999.9", "203", "1.5e3", "n/a"};
  size_t i = 0;
  double sum = 0;
  for (auto _ : state) {
    std::optional<double> v = ParseValue(values[i++ % 6]);
    sum += v ? *v : 0;
  }
  benchmark::DoNotOptimize(sum);
}
BENCHMARK(BM_ParseValue);

}  // namespace
}  // namespace mh::codec

BENCHMARK_MAIN();
