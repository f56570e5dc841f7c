#include "rtmp/amf0.hpp"

#include <bit>
#include <cstring>

namespace dragon::rtmp::amf0 {

Value Value::num(double v) {
  Value x;
  x.type = Type::Number;
  x.number = v;
  return x;
}
Value Value::boolean_of(bool v) {
  Value x;
  x.type = Type::Boolean;
  x.boolean = v;
  return x;
}
Value Value::str(std::string v) {
  Value x;
  x.type = v.size() > 0xFFFF ? Type::LongString : Type::String;
  x.string = std::move(v);
  return x;
}
Value Value::null() { return Value{}; }
Value Value::undefined() {
  Value x;
  x.type = Type::Undefined;
  return x;
}
Value Value::object() { return object(std::vector<Property>{}); }
Value Value::ecma_array() { return ecma_array(std::vector<Property>{}); }
Value Value::object(std::vector<Property> props) {
  Value x;
  x.type = Type::Object;
  x.properties = std::move(props);
  return x;
}
Value Value::ecma_array(std::vector<Property> props) {
  Value x;
  x.type = Type::EcmaArray;
  x.properties = std::move(props);
  return x;
}
Value Value::strict_array(std::vector<Value> items) {
  Value x;
  x.type = Type::StrictArray;
  x.items = std::move(items);
  return x;
}
Value Value::date(double ms, std::int16_t tz) {
  Value x;
  x.type = Type::Date;
  x.number = ms;
  x.timezone = tz;
  return x;
}

const Value* Value::get(std::string_view key) const {
  for (const auto& p : properties)
    if (p.key == key) return &p.value;
  return nullptr;
}

Value& Value::set(std::string key, Value v) {
  for (auto& p : properties)
    if (p.key == key) return p.value = std::move(v);
  properties.push_back(Property{std::move(key), std::move(v)});
  return properties.back().value;
}

bool Value::operator==(const Value& o) const {
  if (type != o.type) return false;
  switch (type) {
    case Type::Number:
      return std::bit_cast<std::uint64_t>(number) == std::bit_cast<std::uint64_t>(o.number) || number == o.number;
    case Type::Date:
      return (number == o.number || std::bit_cast<std::uint64_t>(number) == std::bit_cast<std::uint64_t>(o.number)) &&
             timezone == o.timezone;
    case Type::Boolean:
      return boolean == o.boolean;
    case Type::String:
    case Type::LongString:
      return string == o.string;
    case Type::Object:
    case Type::EcmaArray:
      return properties == o.properties;
    case Type::StrictArray:
      return items == o.items;
    case Type::Null:
    case Type::Undefined:
      return true;
  }
  return false;
}

// ---- decoding ------------------------------------------------------------------------------------------

bool Decoder::fail(std::string why) {
  if (error_.empty()) error_ = std::move(why) + " at byte " + std::to_string(pos_);
  return false;
}

bool Decoder::read_u8(std::uint8_t& v) {
  if (in_.size() - pos_ < 1) return fail("truncated value");
  v = in_[pos_++];
  return true;
}
bool Decoder::read_u16(std::uint16_t& v) {
  if (in_.size() - pos_ < 2) return fail("truncated value");
  v = static_cast<std::uint16_t>((in_[pos_] << 8) | in_[pos_ + 1]);
  pos_ += 2;
  return true;
}
bool Decoder::read_u32(std::uint32_t& v) {
  if (in_.size() - pos_ < 4) return fail("truncated value");
  v = (std::uint32_t{in_[pos_]} << 24) | (std::uint32_t{in_[pos_ + 1]} << 16) | (std::uint32_t{in_[pos_ + 2]} << 8) |
      in_[pos_ + 3];
  pos_ += 4;
  return true;
}
bool Decoder::read_double(double& v) {
  if (in_.size() - pos_ < 8) return fail("truncated number");
  std::uint64_t u = 0;
  for (int i = 0; i < 8; ++i) u = (u << 8) | in_[pos_ + static_cast<std::size_t>(i)];
  pos_ += 8;
  v = std::bit_cast<double>(u);
  return true;
}
bool Decoder::read_string(std::string& s, std::size_t len) {
  if (in_.size() - pos_ < len) return fail("string of " + std::to_string(len) + " bytes runs past the end");
  s.assign(reinterpret_cast<const char*>(in_.data() + pos_), len);
  pos_ += len;
  return true;
}

bool Decoder::properties(std::vector<Property>& out, std::size_t depth) {
  for (;;) {
    std::uint16_t klen = 0;
    if (!read_u16(klen)) return false;
    std::string key;
    if (!read_string(key, klen)) return false;
    if (klen == 0) {
      if (pos_ < in_.size() && in_[pos_] == static_cast<std::uint8_t>(Marker::ObjectEnd)) {
        ++pos_;
        return true;
      }
      // An empty key that is not followed by the end marker: accepted as a member named "".
    }
    Value v;
    if (!value(v, depth + 1)) return false;
    out.push_back(Property{std::move(key), std::move(v)});
  }
}

bool Decoder::value(Value& out, std::size_t depth) {
  if (depth > limits_.max_depth) return fail("nesting deeper than " + std::to_string(limits_.max_depth));
  if (++values_ > limits_.max_values) return fail("more than " + std::to_string(limits_.max_values) + " values");
  std::uint8_t marker = 0;
  if (!read_u8(marker)) return false;
  switch (static_cast<Marker>(marker)) {
    case Marker::Number:
      out.type = Type::Number;
      return read_double(out.number);
    case Marker::Boolean: {
      std::uint8_t b = 0;
      if (!read_u8(b)) return false;
      out.type = Type::Boolean;
      out.boolean = b != 0;
      return true;
    }
    case Marker::String: {
      std::uint16_t len = 0;
      if (!read_u16(len)) return false;
      out.type = Type::String;
      return read_string(out.string, len);
    }
    case Marker::LongString:
    case Marker::XmlDocument: {
      std::uint32_t len = 0;
      if (!read_u32(len)) return false;
      out.type = Type::LongString;
      return read_string(out.string, len);
    }
    case Marker::Object:
      out.type = Type::Object;
      return properties(out.properties, depth);
    case Marker::EcmaArray: {
      std::uint32_t count = 0;  // a hint only; the end marker ends the array
      if (!read_u32(count)) return false;
      out.type = Type::EcmaArray;
      return properties(out.properties, depth);
    }
    case Marker::StrictArray: {
      std::uint32_t count = 0;
      if (!read_u32(count)) return false;
      if (count > in_.size() - pos_) return fail("strict array of " + std::to_string(count) + " items runs past the end");
      out.type = Type::StrictArray;
      out.items.reserve(count);
      for (std::uint32_t i = 0; i < count; ++i) {
        Value item;
        if (!value(item, depth + 1)) return false;
        out.items.push_back(std::move(item));
      }
      return true;
    }
    case Marker::Date: {
      std::uint16_t tz = 0;
      out.type = Type::Date;
      if (!read_double(out.number) || !read_u16(tz)) return false;
      out.timezone = static_cast<std::int16_t>(tz);
      return true;
    }
    case Marker::Null:
      out.type = Type::Null;
      return true;
    case Marker::Undefined:
    case Marker::Unsupported:
      out.type = Type::Undefined;
      return true;
    case Marker::ObjectEnd:
      return fail("object end marker outside an object");
    default:
      break;
  }
  --pos_;
  return fail("unsupported AMF0 marker 0x" + std::string(1, "0123456789abcdef"[marker >> 4]) +
              std::string(1, "0123456789abcdef"[marker & 15]));
}

std::optional<Value> Decoder::next() {
  if (!error_.empty()) return std::nullopt;
  Value v;
  if (!value(v, 0)) return std::nullopt;
  return v;
}

std::optional<std::vector<Value>> decode_all(std::span<const std::uint8_t> in, std::string* error, Limits limits) {
  Decoder d(in, limits);
  std::vector<Value> out;
  while (!d.at_end()) {
    auto v = d.next();
    if (!v) {
      if (error) *error = d.error();
      return std::nullopt;
    }
    out.push_back(std::move(*v));
  }
  return out;
}

// ---- encoding ------------------------------------------------------------------------------------------

namespace {

void put_u16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
}
void put_double(std::vector<std::uint8_t>& out, double d) {
  const auto u = std::bit_cast<std::uint64_t>(d);
  for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(u >> s));
}
void put_key(std::vector<std::uint8_t>& out, const std::string& key) {
  const std::size_t n = std::min<std::size_t>(key.size(), 0xFFFF);  // keys are short strings by definition
  put_u16(out, static_cast<std::uint16_t>(n));
  out.insert(out.end(), key.begin(), key.begin() + static_cast<std::ptrdiff_t>(n));
}
void put_properties(std::vector<std::uint8_t>& out, const std::vector<Property>& props) {
  for (const auto& p : props) {
    put_key(out, p.key);
    encode(p.value, out);
  }
  put_u16(out, 0);
  out.push_back(static_cast<std::uint8_t>(Marker::ObjectEnd));
}

}  // namespace

void encode(const Value& v, std::vector<std::uint8_t>& out) {
  switch (v.type) {
    case Type::Number:
      out.push_back(static_cast<std::uint8_t>(Marker::Number));
      put_double(out, v.number);
      return;
    case Type::Boolean:
      out.push_back(static_cast<std::uint8_t>(Marker::Boolean));
      out.push_back(v.boolean ? 1 : 0);
      return;
    case Type::String:
    case Type::LongString:
      if (v.type == Type::String && v.string.size() <= 0xFFFF) {
        out.push_back(static_cast<std::uint8_t>(Marker::String));
        put_u16(out, static_cast<std::uint16_t>(v.string.size()));
      } else {
        out.push_back(static_cast<std::uint8_t>(Marker::LongString));
        put_u32(out, static_cast<std::uint32_t>(v.string.size()));
      }
      out.insert(out.end(), v.string.begin(), v.string.end());
      return;
    case Type::Object:
      out.push_back(static_cast<std::uint8_t>(Marker::Object));
      put_properties(out, v.properties);
      return;
    case Type::EcmaArray:
      out.push_back(static_cast<std::uint8_t>(Marker::EcmaArray));
      put_u32(out, static_cast<std::uint32_t>(v.properties.size()));
      put_properties(out, v.properties);
      return;
    case Type::StrictArray:
      out.push_back(static_cast<std::uint8_t>(Marker::StrictArray));
      put_u32(out, static_cast<std::uint32_t>(v.items.size()));
      for (const auto& item : v.items) encode(item, out);
      return;
    case Type::Date:
      out.push_back(static_cast<std::uint8_t>(Marker::Date));
      put_double(out, v.number);
      put_u16(out, static_cast<std::uint16_t>(v.timezone));
      return;
    case Type::Null:
      out.push_back(static_cast<std::uint8_t>(Marker::Null));
      return;
    case Type::Undefined:
      out.push_back(static_cast<std::uint8_t>(Marker::Undefined));
      return;
  }
}

std::vector<std::uint8_t> encode_all(std::span<const Value> values) {
  std::vector<std::uint8_t> out;
  for (const auto& v : values) encode(v, out);
  return out;
}

std::vector<std::uint8_t> encode_all(std::initializer_list<Value> values) {
  return encode_all(std::span<const Value>(values.begin(), values.size()));
}

}  // namespace dragon::rtmp::amf0
