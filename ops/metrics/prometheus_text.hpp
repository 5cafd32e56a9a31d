// The Prometheus text exposition format, version 0.0.4: families, samples, histograms, escaping.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace clusterdns::ops {

using Labels = std::vector<std::pair<std::string_view, std::string>>;

// Label values escape backslash, double quote and newline; help text escapes backslash and newline.
std::string escape_label_value(std::string_view v);
std::string escape_help(std::string_view v);
// Shortest text that reads back as the same double; "+Inf", "-Inf", "NaN" as Prometheus spells them.
std::string format_double(double v);

enum class MetricType { Counter, Gauge, Histogram };
const char* type_name(MetricType t);  // "counter", "gauge", "histogram"

// One metric family, declared once (ops/metrics/metric_families.hpp): the label names every sample may carry,
// space-separated, in the order written.
struct MetricFamily {
  std::string_view name;
  MetricType type;
  std::string_view help;
  std::string_view labels;
};

class PromWriter {
 public:
  void family(const MetricFamily& f) { family(f.name, type_name(f.type), f.help); }
  void sample(const MetricFamily& f, const Labels& labels, double value) { sample(f.name, labels, value); }
  void sample(const MetricFamily& f, const Labels& labels, uint64_t value) { sample(f.name, labels, value); }
  void histogram(const MetricFamily& f, const Labels& labels, std::span<const double> bounds,
                 std::span<const uint64_t> counts, double sum) {
    histogram(f.name, labels, bounds, counts, sum);
  }
  // "# HELP" and "# TYPE" (counter, gauge, histogram); every sample of the family must follow it.
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, const Labels& labels, double value);
  void sample(std::string_view name, const Labels& labels, uint64_t value);
  // A histogram series: `counts` are per bucket (not cumulative), one per bound plus the +Inf bucket last.
  void histogram(std::string_view name, const Labels& labels, std::span<const double> bounds,
                 std::span<const uint64_t> counts, double sum);
  const std::string& text() const { return out_; }

 private:
  void series(std::string_view name, const Labels& labels, std::string_view extra_name = {},
              std::string_view extra_value = {});
  std::string out_;
};

}  // namespace clusterdns::ops
