#pragma once
// The metric registry every subsystem reports into (DESIGN "Ownership"), rendered as Prometheus text by
// prometheus.hpp and read as samples by the JSON metrics API.
//
// Model
// - A Registry owns families. A family has a name, a help text, a type and a fixed list of label NAMES.
//   Families are never removed; references to them stay valid for the registry's lifetime. Registering the
//   same name again with an identical description returns the existing family (so a subsystem that is
//   rebuilt at reload can re-register); any difference throws std::invalid_argument.
// - A child is one tuple of label values. `family.with({"v1", "v2"})` looks it up (taking the family's
//   mutex, allocating on first use) and returns a Handle, a std::shared_ptr to the child. Obtain handles
//   once, outside the per-packet path; updating through a handle is one relaxed atomic operation (no lock,
//   no allocation). Handles are shared_ptrs so that removal is memory-safe: `family.remove(...)` (e.g. when
//   a process is deleted) only drops the registry's reference; a holder that still updates its handle
//   writes into a detached child that is no longer rendered, and the memory goes when the last holder
//   lets go. A later with() of the same values starts a fresh child from zero.
// - Callback families (add_collector) hold no state: their values live elsewhere (process states, memfs
//   usage, CPU) and are produced by a function at collection time. A collector is never called
//   concurrently with itself, and remove_collector() returns only once it is no longer running.
//
// Label values must come from bounded sets: process ids, states, collector names, error codes, interface
// names. Never client-controlled unbounded values (IP addresses, user agents, URLs, session ids) - those
// belong to the session registry, not to metrics. As a guard, a family holds at most
// FamilyOptions::max_children tuples; further tuples all share one overflow child whose label values are
// all kOverflowValue ("other"), and family.overflow_count() says how often that happened. Label values are
// stored as valid UTF-8 (invalid bytes become U+FFFD), as the exposition format demands.
//
// Naming (checked at registration): metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
// [a-zA-Z_][a-zA-Z0-9_]* and never start with "__"; histograms may not use the label "le". Counter names
// end in "_total", except upstream's names in kLegacyCounterNames, kept for compatibility with datarhei
// Core's /metrics (DESIGN "Tests on loopback"). Gauges and histograms do not end in "_total", and a
// histogram's series (name_bucket, name_sum, name_count) must not collide with other families.
//
// Ordering: families in registration order (a callback family at the point its first collector declared
// it), children sorted by their label values (in label-name order), histogram buckets by ascending le.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dragon::metrics {

enum class Type { Counter, Gauge, Histogram };
std::string_view type_name(Type type);  // "counter", "gauge", "histogram"

using Labels = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::string_view kOverflowValue = "other";
inline constexpr std::size_t kDefaultMaxChildren = 10000;
// Upstream's Prometheus counters whose names lack "_total"; allowed as counters for compatibility only.
inline constexpr std::array<std::string_view, 3> kLegacyCounterNames{"uptime_seconds", "session_rx_bytes",
                                                                     "session_tx_bytes"};

// ---- children: updated lock-free through handles ----------------------------------------------------

class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

// A monotonic counter of fractional amounts (seconds of CPU, ...). Negative and NaN amounts are ignored.
class DoubleCounter {
 public:
  void add(double amount) noexcept {
    if (amount > 0) v_.fetch_add(amount, std::memory_order_relaxed);
  }
  double value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

class Gauge {
 public:
  void set(double v) noexcept { v_.store(v, std::memory_order_relaxed); }
  void add(double d) noexcept { v_.fetch_add(d, std::memory_order_relaxed); }
  void sub(double d) noexcept { v_.fetch_sub(d, std::memory_order_relaxed); }
  void inc() noexcept { add(1); }
  void dec() noexcept { sub(1); }
  double value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// Fixed upper bounds (le, inclusive) chosen at registration, plus the implicit +Inf bucket. observe() is a
// binary search over the bounds and two relaxed atomic adds. NaN observations are ignored.
class Histogram {
 public:
  explicit Histogram(std::shared_ptr<const std::vector<double>> bounds);
  void observe(double v) noexcept;

  struct Snapshot {
    std::vector<double> bounds;           // without +Inf
    std::vector<std::uint64_t> cumulative;  // bounds.size() + 1 entries, the last one is +Inf == count
    double sum = 0;
    std::uint64_t count = 0;
  };
  // Count and the +Inf bucket come from the same bucket reads, so they always agree.
  Snapshot snapshot() const;

 private:
  std::shared_ptr<const std::vector<double>> bounds_;  // shared with the family and its other children
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // per bucket (not cumulative), +Inf last
  std::atomic<double> sum_{0};
};

// Bucket helpers: `count` bounds start, start+width, ...; start, start*factor, ...
std::vector<double> linear_buckets(double start, double width, std::size_t count);
std::vector<double> exponential_buckets(double start, double factor, std::size_t count);

// ---- descriptions, samples, visiting ----------------------------------------------------------------

struct FamilyInfo {
  std::string name;
  std::string help;
  Type type = Type::Gauge;
  std::vector<std::string> label_names;
  bool operator==(const FamilyInfo&) const = default;
};

struct FamilyOptions {
  std::size_t max_children = kDefaultMaxChildren;  // 0 = unbounded (only for families with fixed label sets)
};

// One series as Prometheus names it: histograms give name_bucket (with an "le" label), name_sum, name_count.
struct Sample {
  std::string name;
  Labels labels;
  double value = 0;
};

// A sample value; integer counters and histogram counts stay exact (no rounding through double).
struct Value {
  double d = 0;
  std::uint64_t u = 0;
  bool is_uint = false;
  double as_double() const { return is_uint ? static_cast<double>(u) : d; }
  static Value of(double v) { return {v, 0, false}; }
  static Value of_uint(std::uint64_t v) { return {0, v, true}; }
};

// Streaming walk over the registry in exposition order (what collect() and render_prometheus() use).
class Visitor {
 public:
  virtual ~Visitor() = default;
  // Called before a family's samples; families without any sample are not visited.
  virtual void family(const FamilyInfo& info) = 0;
  // suffix: "", "_bucket", "_sum" or "_count". label_values line up with info.label_names; le is empty
  // except for _bucket samples ("0.5", "+Inf").
  virtual void sample(const FamilyInfo& info, std::string_view suffix, std::span<const std::string> label_values,
                      std::string_view le, Value value) = 0;
};

// ---- families ----------------------------------------------------------------------------------------

class Registry;

class FamilyBase {
 public:
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;
  virtual ~FamilyBase() = default;
  const FamilyInfo& info() const { return info_; }
  const std::string& name() const { return info_.name; }

 protected:
  explicit FamilyBase(FamilyInfo info) : info_(std::move(info)) {}
  // Returns whether any sample was produced (calls v.family() first if so).
  virtual bool visit(Visitor& v) const = 0;

 private:
  friend class Registry;
  FamilyInfo info_;
};

template <class C>
class Family final : public FamilyBase {
 public:
  using Handle = std::shared_ptr<C>;

  // Throws std::invalid_argument when the number of values differs from the number of label names.
  Handle with(std::initializer_list<std::string_view> label_values);
  Handle with(std::span<const std::string> label_values);
  Handle with() { return with(std::initializer_list<std::string_view>{}); }  // label-less family

  // Drops the child (holders keep a detached one). Returns false if there was none.
  bool remove(std::initializer_list<std::string_view> label_values);
  bool remove(std::span<const std::string> label_values);
  // Drops every child whose label `label_name` equals `value` (e.g. processid); returns how many.
  // Throws std::invalid_argument for an unknown label name.
  std::size_t remove_matching(std::string_view label_name, std::string_view value);

  std::size_t size() const;  // children, the overflow child included
  std::uint64_t overflow_count() const;
  const std::vector<double>& buckets() const { return *bounds_; }  // histograms only; empty otherwise

 private:
  friend class Registry;
  Family(FamilyInfo info, FamilyOptions options, std::vector<double> bounds);
  bool visit(Visitor& v) const override;
  Handle with_values(std::vector<std::string> values);
  bool remove_values(std::vector<std::string> values);
  Handle make_child() const;

  FamilyOptions options_;
  std::shared_ptr<const std::vector<double>> bounds_;
  std::vector<std::string> overflow_key_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, Handle> children_;
  std::uint64_t overflow_count_ = 0;
};

using CounterFamily = Family<Counter>;
using DoubleCounterFamily = Family<DoubleCounter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// ---- collectors --------------------------------------------------------------------------------------

namespace detail {
struct SinkState;
}

// Handed to a collector; add() values to the families the collector declared. Adding to an undeclared
// family or with the wrong number of label values throws std::invalid_argument. Adding the same label
// values twice to a family keeps the last value.
class Sink {
 public:
  void add(std::string_view family, std::initializer_list<std::string_view> label_values, double value);
  void add(std::string_view family, std::span<const std::string> label_values, double value);
  void add(std::string_view family, double value) { add(family, std::initializer_list<std::string_view>{}, value); }

 private:
  friend class Registry;
  explicit Sink(detail::SinkState& state) : state_(state) {}
  void add_values(std::string_view family, std::vector<std::string> values, double value);
  detail::SinkState& state_;
};

// ---- the registry ------------------------------------------------------------------------------------

class Registry {
 public:
  using CollectorId = std::uint64_t;

  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registration (thread-safe; get-or-create, see above). Label-less families get their single child at
  // once, so they render 0 before the first update.
  CounterFamily& counter(std::string name, std::string help, std::vector<std::string> label_names = {},
                         FamilyOptions options = {});
  DoubleCounterFamily& double_counter(std::string name, std::string help, std::vector<std::string> label_names = {},
                                      FamilyOptions options = {});
  GaugeFamily& gauge(std::string name, std::string help, std::vector<std::string> label_names = {},
                     FamilyOptions options = {});
  // buckets: strictly increasing finite upper bounds (a trailing +Inf is accepted and dropped).
  HistogramFamily& histogram(std::string name, std::string help, std::vector<std::string> label_names,
                             std::vector<double> buckets, FamilyOptions options = {});

  // Declares callback families (type Counter or Gauge; a family declared identically by several
  // collectors is shared, their samples merged) and registers `fn`, called at every collection.
  CollectorId add_collector(std::vector<FamilyInfo> families, std::function<void(Sink&)> fn);
  // One label-less callback value, e.g. add_callback({"uptime_seconds", "...", Type::Counter}, fn).
  CollectorId add_callback(FamilyInfo family, std::function<double()> fn);
  // Blocks while the collector is running; afterwards it is never called again. Unknown ids are ignored.
  void remove_collector(CollectorId id);

  // Every sample in exposition order (runs the collectors). No constant labels.
  std::vector<Sample> collect() const;
  // All families in registration order, whether or not they have samples.
  std::vector<FamilyInfo> describe() const;
  void visit(Visitor& v) const;

 private:
  struct CallbackFamily;
  struct Collector;
  template <class C>
  Family<C>& add_family(FamilyInfo info, FamilyOptions options, std::vector<double> bounds);
  void check_free(const FamilyInfo& info) const;  // mu_ held

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<FamilyBase>> families_;                   // registration order
  std::map<std::string, FamilyBase*, std::less<>> by_name_;
  std::map<std::string, const FamilyBase*, std::less<>> series_names_;  // every series name in use
  std::map<CollectorId, std::shared_ptr<Collector>> collectors_;
  CollectorId next_collector_ = 1;
};

// Validation helpers (exposed for tests and for the JSON metrics API).
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);
// Replaces invalid UTF-8 sequences with U+FFFD.
std::string sanitize_utf8(std::string_view s);

}  // namespace dragon::metrics
