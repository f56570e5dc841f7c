#include "metrics/registry.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <unordered_map>

#include <fmt/format.h>

namespace dragon::metrics {

std::string_view type_name(Type type) {
  switch (type) {
    case Type::Counter: return "counter";
    case Type::Gauge: return "gauge";
    case Type::Histogram: return "histogram";
  }
  return "untyped";
}

// ---- validation -----------------------------------------------------------------------------------------

namespace {

bool is_alpha_(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

[[noreturn]] void invalid(const std::string& what) { throw std::invalid_argument(what); }

std::string format_bound(double b) { return fmt::format("{}", b); }

}  // namespace

bool valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (!(is_alpha_(c) || c == ':' || (i > 0 && is_digit(c)))) return false;
  }
  return true;
}

bool valid_label_name(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (!(is_alpha_(c) || (i > 0 && is_digit(c)))) return false;
  }
  return true;
}

std::string sanitize_utf8(std::string_view s) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    }
    bool ok = len != 0 && i + len <= s.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Reject overlong forms, surrogates and values beyond U+10FFFF.
    if (ok) {
      static constexpr std::uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= kMin[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out.append(kReplacement);
      ++i;
    }
  }
  return out;
}

namespace {

void check_info(const FamilyInfo& info) {
  if (!valid_metric_name(info.name)) invalid(fmt::format("metric name '{}' is not a valid Prometheus name", info.name));
  for (std::size_t i = 0; i < info.label_names.size(); ++i) {
    const auto& l = info.label_names[i];
    if (!valid_label_name(l)) invalid(fmt::format("metric {}: label name '{}' is not valid", info.name, l));
    for (std::size_t j = 0; j < i; ++j) {
      if (info.label_names[j] == l) invalid(fmt::format("metric {}: label name '{}' appears twice", info.name, l));
    }
    if (info.type == Type::Histogram && l == "le") invalid(fmt::format("histogram {}: label 'le' is reserved", info.name));
  }
  bool legacy = std::find(kLegacyCounterNames.begin(), kLegacyCounterNames.end(), info.name) != kLegacyCounterNames.end();
  if (info.type == Type::Counter && !ends_with(info.name, "_total") && !legacy) {
    invalid(fmt::format("counter {}: counter names end in _total", info.name));
  }
  if (info.type != Type::Counter && ends_with(info.name, "_total")) {
    invalid(fmt::format("{} {}: only counter names end in _total", type_name(info.type), info.name));
  }
  if (info.type == Type::Histogram) {
    for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
      if (ends_with(info.name, suffix)) invalid(fmt::format("histogram {}: name ends in {}", info.name, suffix));
    }
  }
}

std::vector<std::string> series_of(const FamilyInfo& info) {
  if (info.type == Type::Histogram) return {info.name, info.name + "_bucket", info.name + "_sum", info.name + "_count"};
  return {info.name};
}

std::vector<std::string> to_values(const FamilyInfo& info, std::span<const std::string_view> in) {
  if (in.size() != info.label_names.size()) {
    invalid(fmt::format("metric {}: {} label values given for {} label names", info.name, in.size(),
                        info.label_names.size()));
  }
  std::vector<std::string> out;
  out.reserve(in.size());
  for (auto v : in) out.push_back(sanitize_utf8(v));
  return out;
}

std::vector<std::string> to_values(const FamilyInfo& info, std::span<const std::string> in) {
  std::vector<std::string_view> views(in.begin(), in.end());
  return to_values(info, std::span<const std::string_view>(views));
}

}  // namespace

// ---- histogram ------------------------------------------------------------------------------------------

Histogram::Histogram(std::shared_ptr<const std::vector<double>> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<std::uint64_t>[bounds_->size() + 1]) {
  for (std::size_t i = 0; i <= bounds_->size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) noexcept {
  if (std::isnan(v)) return;
  const auto& b = *bounds_;
  auto idx = static_cast<std::size_t>(std::lower_bound(b.begin(), b.end(), v) - b.begin());  // first bound >= v
  buckets_[idx].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = *bounds_;
  s.cumulative.resize(bounds_->size() + 1);
  std::uint64_t acc = 0;
  for (std::size_t i = 0; i <= bounds_->size(); ++i) {
    acc += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = acc;
  }
  s.count = acc;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> linear_buckets(double start, double width, std::size_t count) {
  if (!(width > 0)) invalid("linear_buckets: width must be > 0");
  std::vector<double> out;
  for (std::size_t i = 0; i < count; ++i) out.push_back(start + width * static_cast<double>(i));
  return out;
}

std::vector<double> exponential_buckets(double start, double factor, std::size_t count) {
  if (!(start > 0) || !(factor > 1)) invalid("exponential_buckets: start must be > 0 and factor > 1");
  std::vector<double> out;
  double v = start;
  for (std::size_t i = 0; i < count; ++i, v *= factor) out.push_back(v);
  return out;
}

// ---- families -------------------------------------------------------------------------------------------

template <class C>
Family<C>::Family(FamilyInfo info, FamilyOptions options, std::vector<double> bounds)
    : FamilyBase(std::move(info)),
      options_(options),
      bounds_(std::make_shared<const std::vector<double>>(std::move(bounds))),
      overflow_key_(this->info().label_names.size(), std::string(kOverflowValue)) {
  if (this->info().label_names.empty()) children_.emplace(std::vector<std::string>{}, make_child());
}

template <class C>
typename Family<C>::Handle Family<C>::make_child() const {
  if constexpr (std::is_same_v<C, Histogram>) {
    return std::make_shared<Histogram>(bounds_);
  } else {
    return std::make_shared<C>();
  }
}

template <class C>
typename Family<C>::Handle Family<C>::with(std::initializer_list<std::string_view> label_values) {
  return with_values(to_values(info(), std::span<const std::string_view>(label_values.begin(), label_values.size())));
}

template <class C>
typename Family<C>::Handle Family<C>::with(std::span<const std::string> label_values) {
  return with_values(to_values(info(), label_values));
}

template <class C>
typename Family<C>::Handle Family<C>::with_values(std::vector<std::string> values) {
  std::lock_guard lock(mu_);
  if (auto it = children_.find(values); it != children_.end()) return it->second;
  bool is_overflow_key = values == overflow_key_;
  if (!is_overflow_key && options_.max_children != 0) {
    std::size_t regular = children_.size() - children_.count(overflow_key_);
    if (regular >= options_.max_children) {
      ++overflow_count_;
      auto& other = children_[overflow_key_];
      if (!other) other = make_child();
      return other;
    }
  }
  auto child = make_child();
  children_.emplace(std::move(values), child);
  return child;
}

template <class C>
bool Family<C>::remove(std::initializer_list<std::string_view> label_values) {
  return remove_values(to_values(info(), std::span<const std::string_view>(label_values.begin(), label_values.size())));
}

template <class C>
bool Family<C>::remove(std::span<const std::string> label_values) {
  return remove_values(to_values(info(), label_values));
}

template <class C>
bool Family<C>::remove_values(std::vector<std::string> values) {
  std::lock_guard lock(mu_);
  return children_.erase(values) != 0;
}

template <class C>
std::size_t Family<C>::remove_matching(std::string_view label_name, std::string_view value) {
  const auto& names = info().label_names;
  auto pos = std::find(names.begin(), names.end(), label_name);
  if (pos == names.end()) invalid(fmt::format("metric {}: no label named '{}'", name(), label_name));
  auto idx = static_cast<std::size_t>(pos - names.begin());
  std::string v = sanitize_utf8(value);
  std::lock_guard lock(mu_);
  return std::erase_if(children_, [&](const auto& kv) { return kv.first[idx] == v; });
}

template <class C>
std::size_t Family<C>::size() const {
  std::lock_guard lock(mu_);
  return children_.size();
}

template <class C>
std::uint64_t Family<C>::overflow_count() const {
  std::lock_guard lock(mu_);
  return overflow_count_;
}

template <class C>
bool Family<C>::visit(Visitor& v) const {
  std::lock_guard lock(mu_);
  if (children_.empty()) return false;
  const FamilyInfo& fi = info();
  v.family(fi);
  for (const auto& [values, child] : children_) {
    if constexpr (std::is_same_v<C, Counter>) {
      v.sample(fi, "", values, "", Value::of_uint(child->value()));
    } else if constexpr (std::is_same_v<C, Histogram>) {
      auto snap = child->snapshot();
      for (std::size_t i = 0; i < snap.bounds.size(); ++i) {
        v.sample(fi, "_bucket", values, format_bound(snap.bounds[i]), Value::of_uint(snap.cumulative[i]));
      }
      v.sample(fi, "_bucket", values, "+Inf", Value::of_uint(snap.count));
      v.sample(fi, "_sum", values, "", Value::of(snap.sum));
      v.sample(fi, "_count", values, "", Value::of_uint(snap.count));
    } else {
      v.sample(fi, "", values, "", Value::of(child->value()));
    }
  }
  return true;
}

template class Family<Counter>;
template class Family<DoubleCounter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---- collectors -----------------------------------------------------------------------------------------

// Samples of one callback family gathered during one collection, keyed (and so sorted) by label values.
using CallbackValues = std::map<std::vector<std::string>, double>;

struct Registry::CallbackFamily final : FamilyBase {
  explicit CallbackFamily(FamilyInfo i) : FamilyBase(std::move(i)) {}
  bool visit(Visitor&) const override { return false; }  // rendered by Registry::visit from the sink's values
};

struct Registry::Collector {
  std::mutex mu;  // held while fn runs: one call at a time, and removal waits for a running call
  bool removed = false;
  std::function<void(Sink&)> fn;
  std::vector<const CallbackFamily*> families;
};

namespace detail {
struct SinkState {
  const std::vector<const FamilyBase*>* allowed = nullptr;  // the running collector's families
  std::unordered_map<const FamilyBase*, CallbackValues>* out = nullptr;
};
}  // namespace detail

void Sink::add(std::string_view family, std::initializer_list<std::string_view> label_values, double value) {
  std::vector<std::string> values;
  values.reserve(label_values.size());
  for (auto v : label_values) values.push_back(sanitize_utf8(v));
  add_values(family, std::move(values), value);
}

void Sink::add(std::string_view family, std::span<const std::string> label_values, double value) {
  std::vector<std::string> values;
  values.reserve(label_values.size());
  for (const auto& v : label_values) values.push_back(sanitize_utf8(v));
  add_values(family, std::move(values), value);
}

void Sink::add_values(std::string_view family, std::vector<std::string> values, double value) {
  const FamilyBase* target = nullptr;
  for (const auto* f : *state_.allowed) {
    if (f->name() == family) target = f;
  }
  if (target == nullptr) invalid(fmt::format("collector added to metric {}, which it did not declare", family));
  if (values.size() != target->info().label_names.size()) {
    invalid(fmt::format("metric {}: {} label values given for {} label names", family, values.size(),
                        target->info().label_names.size()));
  }
  (*state_.out)[target][std::move(values)] = value;
}

// ---- registry -------------------------------------------------------------------------------------------

Registry::Registry() = default;
Registry::~Registry() = default;

void Registry::check_free(const FamilyInfo& info) const {
  for (const auto& s : series_of(info)) {
    if (auto it = series_names_.find(s); it != series_names_.end()) {
      invalid(fmt::format("metric {}: name {} is already used by metric {}", info.name, s, it->second->name()));
    }
  }
}

template <class C>
Family<C>& Registry::add_family(FamilyInfo info, FamilyOptions options, std::vector<double> bounds) {
  check_info(info);
  if (info.type == Type::Histogram) {
    if (!bounds.empty() && std::isinf(bounds.back()) && bounds.back() > 0) bounds.pop_back();
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      if (!std::isfinite(bounds[i])) invalid(fmt::format("histogram {}: bucket bounds must be finite", info.name));
      if (i > 0 && !(bounds[i] > bounds[i - 1])) {
        invalid(fmt::format("histogram {}: bucket bounds must be strictly increasing", info.name));
      }
    }
  }
  std::lock_guard lock(mu_);
  if (auto it = by_name_.find(info.name); it != by_name_.end()) {
    auto* existing = dynamic_cast<Family<C>*>(it->second);
    if (existing == nullptr || existing->info() != info || existing->buckets() != bounds) {
      invalid(fmt::format("metric {} is already registered with another type, help, labels or buckets", info.name));
    }
    return *existing;
  }
  check_free(info);
  auto names = series_of(info);
  std::unique_ptr<Family<C>> fam(new Family<C>(std::move(info), options, std::move(bounds)));
  Family<C>& ref = *fam;
  by_name_.emplace(ref.name(), &ref);
  for (auto& s : names) series_names_.emplace(std::move(s), &ref);
  families_.push_back(std::move(fam));
  return ref;
}

CounterFamily& Registry::counter(std::string name, std::string help, std::vector<std::string> label_names,
                                 FamilyOptions options) {
  return add_family<Counter>({std::move(name), std::move(help), Type::Counter, std::move(label_names)}, options, {});
}

DoubleCounterFamily& Registry::double_counter(std::string name, std::string help, std::vector<std::string> label_names,
                                              FamilyOptions options) {
  return add_family<DoubleCounter>({std::move(name), std::move(help), Type::Counter, std::move(label_names)}, options,
                                   {});
}

GaugeFamily& Registry::gauge(std::string name, std::string help, std::vector<std::string> label_names,
                             FamilyOptions options) {
  return add_family<Gauge>({std::move(name), std::move(help), Type::Gauge, std::move(label_names)}, options, {});
}

HistogramFamily& Registry::histogram(std::string name, std::string help, std::vector<std::string> label_names,
                                     std::vector<double> buckets, FamilyOptions options) {
  return add_family<Histogram>({std::move(name), std::move(help), Type::Histogram, std::move(label_names)}, options,
                               std::move(buckets));
}

Registry::CollectorId Registry::add_collector(std::vector<FamilyInfo> families, std::function<void(Sink&)> fn) {
  if (!fn) invalid("add_collector: empty function");
  for (const auto& f : families) {
    if (f.type == Type::Histogram) invalid(fmt::format("callback metric {}: histograms cannot be callbacks", f.name));
    check_info(f);
  }
  auto c = std::make_shared<Collector>();
  c->fn = std::move(fn);
  std::lock_guard lock(mu_);
  // Check everything before changing anything, so a refused call leaves no half-declared families.
  for (std::size_t i = 0; i < families.size(); ++i) {
    const auto& f = families[i];
    for (std::size_t j = 0; j < i; ++j) {
      if (families[j].name == f.name) invalid(fmt::format("add_collector: metric {} declared twice", f.name));
    }
    if (auto it = by_name_.find(f.name); it != by_name_.end()) {
      auto* existing = dynamic_cast<CallbackFamily*>(it->second);
      if (existing == nullptr || existing->info() != f) {
        invalid(fmt::format("metric {} is already registered with another type, help or labels", f.name));
      }
    } else {
      check_free(f);
    }
  }
  for (auto& f : families) {
    if (auto it = by_name_.find(f.name); it != by_name_.end()) {
      c->families.push_back(static_cast<CallbackFamily*>(it->second));
      continue;
    }
    auto names = series_of(f);
    auto fam = std::make_unique<CallbackFamily>(std::move(f));
    CallbackFamily& ref = *fam;
    by_name_.emplace(ref.name(), &ref);
    for (auto& s : names) series_names_.emplace(std::move(s), &ref);
    families_.push_back(std::move(fam));
    c->families.push_back(&ref);
  }
  CollectorId id = next_collector_++;
  collectors_.emplace(id, std::move(c));
  return id;
}

Registry::CollectorId Registry::add_callback(FamilyInfo family, std::function<double()> fn) {
  if (!family.label_names.empty()) invalid(fmt::format("add_callback {}: only for label-less metrics", family.name));
  if (!fn) invalid("add_callback: empty function");
  std::string name = family.name;
  return add_collector({std::move(family)},
                       [name = std::move(name), fn = std::move(fn)](Sink& sink) { sink.add(name, fn()); });
}

void Registry::remove_collector(CollectorId id) {
  std::shared_ptr<Collector> c;
  {
    std::lock_guard lock(mu_);
    auto it = collectors_.find(id);
    if (it == collectors_.end()) return;
    c = std::move(it->second);
    collectors_.erase(it);
  }
  std::lock_guard lock(c->mu);  // waits for a running call (in another thread) to finish
  c->removed = true;
}

void Registry::visit(Visitor& v) const {
  std::vector<const FamilyBase*> families;
  std::vector<std::shared_ptr<Collector>> collectors;
  {
    std::lock_guard lock(mu_);
    families.reserve(families_.size());
    for (const auto& f : families_) families.push_back(f.get());
    for (const auto& [id, c] : collectors_) collectors.push_back(c);
  }
  // Collectors run without the registry's lock, so they may themselves register metrics.
  std::unordered_map<const FamilyBase*, CallbackValues> values;
  for (const auto& c : collectors) {
    std::lock_guard lock(c->mu);
    if (c->removed) continue;
    std::vector<const FamilyBase*> allowed(c->families.begin(), c->families.end());
    detail::SinkState state{&allowed, &values};
    Sink sink(state);
    c->fn(sink);
  }
  for (const auto* f : families) {
    if (dynamic_cast<const CallbackFamily*>(f) == nullptr) {
      f->visit(v);
      continue;
    }
    auto it = values.find(f);
    if (it == values.end() || it->second.empty()) continue;
    v.family(f->info());
    for (const auto& [labels, value] : it->second) v.sample(f->info(), "", labels, "", Value::of(value));
  }
}

namespace {
class CollectVisitor final : public Visitor {
 public:
  explicit CollectVisitor(std::vector<Sample>& out) : out_(out) {}
  void family(const FamilyInfo&) override {}
  void sample(const FamilyInfo& info, std::string_view suffix, std::span<const std::string> label_values,
              std::string_view le, Value value) override {
    Sample s;
    s.name = info.name;
    s.name += suffix;
    s.labels.reserve(label_values.size() + (le.empty() ? 0 : 1));
    for (std::size_t i = 0; i < label_values.size(); ++i) s.labels.emplace_back(info.label_names[i], label_values[i]);
    if (!le.empty()) s.labels.emplace_back("le", std::string(le));
    s.value = value.as_double();
    out_.push_back(std::move(s));
  }

 private:
  std::vector<Sample>& out_;
};
}  // namespace

std::vector<Sample> Registry::collect() const {
  std::vector<Sample> out;
  CollectVisitor cv(out);
  visit(cv);
  return out;
}

std::vector<FamilyInfo> Registry::describe() const {
  std::lock_guard lock(mu_);
  std::vector<FamilyInfo> out;
  out.reserve(families_.size());
  for (const auto& f : families_) out.push_back(f->info());
  return out;
}

}  // namespace dragon::metrics
