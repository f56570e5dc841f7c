#pragma once
// AMF0 (Adobe's Action Message Format 0), what RTMP commands and metadata are written in: a small value
// type, a bounded decoder and an encoder. Not supported (decoding fails with a message): references,
// typed objects, AVM+ (AMF3) values, Movie Clip and Record Set.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dragon::rtmp::amf0 {

enum class Marker : std::uint8_t {
  Number = 0x00,
  Boolean = 0x01,
  String = 0x02,
  Object = 0x03,
  Null = 0x05,
  Undefined = 0x06,
  EcmaArray = 0x08,
  ObjectEnd = 0x09,
  StrictArray = 0x0A,
  Date = 0x0B,
  LongString = 0x0C,
  Unsupported = 0x0D,
  XmlDocument = 0x0F,
};

enum class Type { Number, Boolean, String, Object, Null, Undefined, EcmaArray, StrictArray, Date, LongString };

struct Property;

struct Value {
  Type type = Type::Null;
  double number = 0;                 // Number, Date (ms since the epoch)
  bool boolean = false;
  std::int16_t timezone = 0;         // Date (unused by the format, kept for round trips)
  std::string string;                // String, LongString
  std::vector<Property> properties;  // Object, EcmaArray (in order)
  std::vector<Value> items;          // StrictArray

  static Value num(double v);
  static Value boolean_of(bool v);
  static Value str(std::string v);
  static Value null();
  static Value undefined();
  static Value object();
  static Value object(std::vector<Property> props);
  static Value ecma_array();
  static Value ecma_array(std::vector<Property> props);
  static Value strict_array(std::vector<Value> items);
  static Value date(double ms, std::int16_t tz = 0);

  bool is_string() const { return type == Type::String || type == Type::LongString; }
  bool is_number() const { return type == Type::Number; }
  bool is_object() const { return type == Type::Object || type == Type::EcmaArray; }
  // Object/ECMA array member by name (first match), or null.
  const Value* get(std::string_view key) const;
  // Adds or replaces a member (Object/ECMA array).
  Value& set(std::string key, Value v);

  bool operator==(const Value& o) const;
};

struct Property {
  std::string key;
  Value value;
  bool operator==(const Property& o) const = default;
};

struct Limits {
  std::size_t max_depth = 32;         // nesting of objects and arrays
  std::size_t max_values = 100000;    // values in one decode() call
};

class Decoder {
 public:
  explicit Decoder(std::span<const std::uint8_t> in, Limits limits = {}) : in_(in), limits_(limits) {}
  // Decodes the next value; std::nullopt on malformed input (error() says why).
  std::optional<Value> next();
  bool at_end() const { return pos_ >= in_.size(); }
  std::size_t position() const { return pos_; }
  const std::string& error() const { return error_; }

 private:
  bool value(Value& out, std::size_t depth);
  bool properties(std::vector<Property>& out, std::size_t depth);
  bool read_u8(std::uint8_t& v);
  bool read_u16(std::uint16_t& v);
  bool read_u32(std::uint32_t& v);
  bool read_double(double& v);
  bool read_string(std::string& s, std::size_t len);
  bool fail(std::string why);

  std::span<const std::uint8_t> in_;
  Limits limits_;
  std::size_t pos_ = 0;
  std::size_t values_ = 0;
  std::string error_;
};

// Every value of `in` (an RTMP command or data message); nullopt with `error` set on malformed input.
std::optional<std::vector<Value>> decode_all(std::span<const std::uint8_t> in, std::string* error = nullptr,
                                             Limits limits = {});

void encode(const Value& v, std::vector<std::uint8_t>& out);
std::vector<std::uint8_t> encode_all(std::span<const Value> values);
std::vector<std::uint8_t> encode_all(std::initializer_list<Value> values);

}  // namespace dragon::rtmp::amf0
