#include <fmt/format.h>

#include "gguf/gguf.h"

namespace hearth::gguf {

const char* value_type_name(ValueType t) {
  switch (t) {
    case ValueType::UINT8:
      return "u8";
    case ValueType::INT8:
      return "i8";
    case ValueType::UINT16:
      return "u16";
    case ValueType::INT16:
      return "i16";
    case ValueType::UINT32:
      return "u32";
    case ValueType::INT32:
      return "i32";
    case ValueType::FLOAT32:
      return "f32";
    case ValueType::BOOL:
      return "bool";
    case ValueType::STRING:
      return "string";
    case ValueType::ARRAY:
      return "array";
    case ValueType::UINT64:
      return "u64";
    case ValueType::INT64:
      return "i64";
    case ValueType::FLOAT64:
      return "f64";
  }
  return "?";
}

bool Value::is_integer() const {
  switch (type) {
    case ValueType::UINT8:
    case ValueType::INT8:
    case ValueType::UINT16:
    case ValueType::INT16:
    case ValueType::UINT32:
    case ValueType::INT32:
    case ValueType::UINT64:
    case ValueType::INT64:
      return true;
    default:
      return false;
  }
}

size_t Value::array_size() const {
  if (!is_array()) return 0;
  if (elem_type == ValueType::STRING) return strings.size();
  if (elem_type == ValueType::FLOAT32 || elem_type == ValueType::FLOAT64) return floats.size();
  return ints.size();
}

int64_t Value::as_int(std::string_view what) const {
  if (is_integer()) {
    if (auto* u = std::get_if<uint64_t>(&scalar)) {
      if (*u > static_cast<uint64_t>(INT64_MAX)) fail("{}: value {} is too large", what, *u);
      return static_cast<int64_t>(*u);
    }
    if (auto* i = std::get_if<int64_t>(&scalar)) return *i;
  }
  if (type == ValueType::BOOL) {
    if (auto* b = std::get_if<bool>(&scalar)) return *b ? 1 : 0;
  }
  fail("{}: expected an integer, found {}", what, value_type_name(type));
}

double Value::as_float(std::string_view what) const {
  if (is_float()) {
    if (auto* d = std::get_if<double>(&scalar)) return *d;
  }
  if (is_integer()) return static_cast<double>(as_int(what));
  fail("{}: expected a number, found {}", what, value_type_name(type));
}

bool Value::as_bool(std::string_view what) const {
  if (type == ValueType::BOOL) {
    if (auto* b = std::get_if<bool>(&scalar)) return *b;
  }
  if (is_integer()) return as_int(what) != 0;
  fail("{}: expected a boolean, found {}", what, value_type_name(type));
}

const std::string& Value::as_string(std::string_view what) const {
  if (type == ValueType::STRING) {
    if (auto* s = std::get_if<std::string>(&scalar)) return *s;
  }
  fail("{}: expected a string, found {}", what, value_type_name(type));
}

std::string Value::to_display(size_t max_items) const {
  auto quote = [](const std::string& s) {
    std::string out = "\"";
    for (char c : s.size() > 200 ? s.substr(0, 200) + "..." : s) {
      if (c == '\n')
        out += "\\n";
      else if (c == '"')
        out += "\\\"";
      else
        out += c;
    }
    return out + "\"";
  };
  if (!is_array()) {
    if (auto* s = std::get_if<std::string>(&scalar)) return quote(*s);
    if (auto* b = std::get_if<bool>(&scalar)) return *b ? "true" : "false";
    if (auto* d = std::get_if<double>(&scalar)) return fmt::format("{}", *d);
    if (auto* u = std::get_if<uint64_t>(&scalar)) return fmt::format("{}", *u);
    return fmt::format("{}", std::get<int64_t>(scalar));
  }
  std::string out = "[";
  size_t n = array_size();
  for (size_t i = 0; i < n && i < max_items; ++i) {
    if (i) out += ", ";
    if (elem_type == ValueType::STRING)
      out += quote(strings[i]);
    else if (elem_type == ValueType::FLOAT32 || elem_type == ValueType::FLOAT64)
      out += fmt::format("{}", floats[i]);
    else
      out += fmt::format("{}", ints[i]);
  }
  if (n > max_items) out += fmt::format(", ... ({} items)", n);
  return out + "]";
}

Value Value::u8(uint8_t v) {
  Value x;
  x.type = ValueType::UINT8;
  x.scalar = uint64_t{v};
  return x;
}
Value Value::i8(int8_t v) {
  Value x;
  x.type = ValueType::INT8;
  x.scalar = int64_t{v};
  return x;
}
Value Value::u16(uint16_t v) {
  Value x;
  x.type = ValueType::UINT16;
  x.scalar = uint64_t{v};
  return x;
}
Value Value::i16(int16_t v) {
  Value x;
  x.type = ValueType::INT16;
  x.scalar = int64_t{v};
  return x;
}
Value Value::i64(int64_t v) {
  Value x;
  x.type = ValueType::INT64;
  x.scalar = v;
  return x;
}
Value Value::f64(double v) {
  Value x;
  x.type = ValueType::FLOAT64;
  x.scalar = v;
  return x;
}
Value Value::u32(uint32_t v) {
  Value x;
  x.type = ValueType::UINT32;
  x.scalar = uint64_t{v};
  return x;
}
Value Value::i32(int32_t v) {
  Value x;
  x.type = ValueType::INT32;
  x.scalar = int64_t{v};
  return x;
}
Value Value::u64(uint64_t v) {
  Value x;
  x.type = ValueType::UINT64;
  x.scalar = v;
  return x;
}
Value Value::f32(float v) {
  Value x;
  x.type = ValueType::FLOAT32;
  x.scalar = double{v};
  return x;
}
Value Value::boolean(bool v) {
  Value x;
  x.type = ValueType::BOOL;
  x.scalar = v;
  return x;
}
Value Value::str(std::string v) {
  Value x;
  x.type = ValueType::STRING;
  x.scalar = std::move(v);
  return x;
}
Value Value::str_array(std::vector<std::string> v) {
  Value x;
  x.type = ValueType::ARRAY;
  x.elem_type = ValueType::STRING;
  x.strings = std::move(v);
  return x;
}
Value Value::f32_array(std::vector<float> v) {
  Value x;
  x.type = ValueType::ARRAY;
  x.elem_type = ValueType::FLOAT32;
  x.floats.assign(v.begin(), v.end());
  return x;
}
Value Value::i32_array(std::vector<int32_t> v) {
  Value x;
  x.type = ValueType::ARRAY;
  x.elem_type = ValueType::INT32;
  x.ints.assign(v.begin(), v.end());
  return x;
}

Value Value::int_array(ValueType elem, std::vector<int64_t> v) {
  Value x;
  x.type = ValueType::ARRAY;
  x.elem_type = elem;
  x.ints = std::move(v);
  return x;
}
Value Value::float_array(ValueType elem, std::vector<double> v) {
  Value x;
  x.type = ValueType::ARRAY;
  x.elem_type = elem;
  x.floats = std::move(v);
  return x;
}

std::string TensorInfo::shape_string() const {
  std::string s = "[";
  for (int i = 0; i < n_dims; ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + "]";
}

}  // namespace hearth::gguf
