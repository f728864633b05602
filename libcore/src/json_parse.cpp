// Recursive-descent JSON reader. Depth is counted on the way down, so the
// recursion is bounded by Limits::max_depth; everything allocated is bounded
// by the (already bounded) text size.
#include "json_parse.hpp"

#include <unordered_set>

namespace codex::json {
namespace {

class Parser {
 public:
  Parser(std::string_view text, const Limits& limits) : text_(text), limits_(limits) {}

  Result<Value> document() {
    if (text_.size() > limits_.max_size)
      return make_error(Errc::corrupt, "json is too large: {} bytes, at most {} accepted", text_.size(),
                        limits_.max_size);
    if (text_.starts_with("\xEF\xBB\xBF")) return fail("a byte-order mark is not allowed");
    skip_whitespace();
    Value value;
    CODEX_TRY(parse_value(value, 0));
    skip_whitespace();
    if (pos_ != text_.size()) return fail("unexpected text after the end of the document");
    return value;
  }

 private:
  Error fail(std::string_view what) const {
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < pos_ && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    return make_error(Errc::corrupt, "json is malformed at line {} column {}: {}", line, column, what);
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }

  void skip_whitespace() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) ++pos_;
  }

  Status parse_value(Value& out, std::size_t depth) {
    if (at_end()) return fail("expected a value, found the end of the text");
    if (++values_ > limits_.max_values)
      return fail(fmt::format("document has more than {} values", limits_.max_values));
    switch (peek()) {
      case '{': return parse_object(out, depth + 1);
      case '[': return parse_array(out, depth + 1);
      case '"':
        out.kind = Kind::string;
        return parse_string(out.string);
      case 't': return parse_literal(out, "true", Kind::boolean, true);
      case 'f': return parse_literal(out, "false", Kind::boolean, false);
      case 'n': return parse_literal(out, "null", Kind::null, false);
      default:
        if (peek() == '-' || (peek() >= '0' && peek() <= '9')) return parse_integer(out);
        return fail(fmt::format("expected a value, found '{}'", printable(peek())));
    }
  }

  static std::string printable(char c) {
    auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7F) return std::string(1, c);
    return fmt::format("\\x{:02x}", byte);
  }

  Status parse_literal(Value& out, std::string_view word, Kind kind, bool boolean) {
    if (text_.substr(pos_, word.size()) != word) return fail(fmt::format("expected '{}'", word));
    pos_ += word.size();
    out.kind = kind;
    out.boolean = boolean;
    return {};
  }

  Status parse_integer(Value& out) {
    out.kind = Kind::integer;
    out.negative = false;
    if (peek() == '-') {
      out.negative = true;
      ++pos_;
    }
    if (at_end() || peek() < '0' || peek() > '9') return fail("expected a digit");
    if (peek() == '0' && pos_ + 1 < text_.size() && text_[pos_ + 1] >= '0' && text_[pos_ + 1] <= '9')
      return fail("numbers must not have leading zeros");
    std::uint64_t value = 0;
    while (!at_end() && peek() >= '0' && peek() <= '9') {
      auto digit = static_cast<std::uint64_t>(peek() - '0');
      if (value > (UINT64_MAX - digit) / 10) return fail("integer is out of range");
      value = value * 10 + digit;
      ++pos_;
    }
    if (!at_end() && (peek() == '.' || peek() == 'e' || peek() == 'E'))
      return fail("numbers must be integers (no fraction or exponent)");
    if (out.negative && value > (std::uint64_t{1} << 63)) return fail("integer is out of range");
    if (value == 0) out.negative = false;  // -0 is 0
    out.magnitude = value;
    return {};
  }

  static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  Result<std::uint32_t> read_hex4() {
    if (text_.size() - pos_ < 4) return fail("\\u escape needs four hex digits");
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      int digit = hex_digit(text_[pos_ + i]);
      if (digit < 0) return fail("\\u escape needs four hex digits");
      value = value << 4 | static_cast<std::uint32_t>(digit);
    }
    pos_ += 4;
    return value;
  }

  static void append_utf8(std::string& out, std::uint32_t code) {
    if (code < 0x80) {
      out.push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      out.push_back(static_cast<char>(0xC0 | code >> 6));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else if (code < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | code >> 12));
      out.push_back(static_cast<char>(0x80 | (code >> 6 & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | code >> 18));
      out.push_back(static_cast<char>(0x80 | (code >> 12 & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code >> 6 & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    }
  }

  Status parse_escape(std::string& out) {
    ++pos_;  // the backslash
    if (at_end()) return fail("string is not terminated");
    char c = peek();
    ++pos_;
    switch (c) {
      case '"': out.push_back('"'); return {};
      case '\\': out.push_back('\\'); return {};
      case '/': out.push_back('/'); return {};
      case 'b': out.push_back('\b'); return {};
      case 'f': out.push_back('\f'); return {};
      case 'n': out.push_back('\n'); return {};
      case 'r': out.push_back('\r'); return {};
      case 't': out.push_back('\t'); return {};
      case 'u': break;
      default: --pos_; return fail(fmt::format("unknown escape '\\{}'", printable(c)));
    }
    CODEX_TRY_ASSIGN(std::uint32_t code, read_hex4());
    if (code >= 0xDC00 && code <= 0xDFFF) return fail("\\u escape is a lone low surrogate");
    if (code >= 0xD800 && code <= 0xDBFF) {
      if (text_.substr(pos_, 2) != "\\u") return fail("\\u escape is a high surrogate without its low half");
      pos_ += 2;
      CODEX_TRY_ASSIGN(std::uint32_t low, read_hex4());
      if (low < 0xDC00 || low > 0xDFFF) return fail("\\u escape is a high surrogate without its low half");
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    append_utf8(out, code);
    return {};
  }

  // One multi-byte UTF-8 sequence starting at pos_, checked for overlong
  // forms, surrogates and code points past U+10FFFF.
  Status copy_utf8(std::string& out) {
    auto lead = static_cast<unsigned char>(peek());
    std::size_t length;
    std::uint32_t code, min;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2, code = lead & 0x1F, min = 0x80;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3, code = lead & 0x0F, min = 0x800;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4, code = lead & 0x07, min = 0x10000;
    } else {
      return fail("text is not valid UTF-8");
    }
    if (text_.size() - pos_ < length) return fail("text is not valid UTF-8");
    for (std::size_t i = 1; i < length; ++i) {
      auto byte = static_cast<unsigned char>(text_[pos_ + i]);
      if ((byte & 0xC0) != 0x80) return fail("text is not valid UTF-8");
      code = code << 6 | (byte & 0x3F);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
      return fail("text is not valid UTF-8");
    out.append(text_.substr(pos_, length));
    pos_ += length;
    return {};
  }

  Status parse_string(std::string& out) {
    ++pos_;  // the opening quote
    out.clear();
    while (true) {
      if (at_end()) return fail("string is not terminated");
      auto c = static_cast<unsigned char>(peek());
      if (c == '"') {
        ++pos_;
        return {};
      }
      if (c == '\\') {
        CODEX_TRY(parse_escape(out));
      } else if (c < 0x20) {
        return fail("control characters must be escaped in strings");
      } else if (c >= 0x80) {
        CODEX_TRY(copy_utf8(out));
      } else {
        out.push_back(static_cast<char>(c));
        ++pos_;
      }
    }
  }

  Status parse_array(Value& out, std::size_t depth) {
    if (depth > limits_.max_depth) return fail(fmt::format("nesting is deeper than {}", limits_.max_depth));
    out.kind = Kind::array;
    ++pos_;  // '['
    skip_whitespace();
    if (!at_end() && peek() == ']') {
      ++pos_;
      return {};
    }
    while (true) {
      Value& element = out.array.emplace_back();
      CODEX_TRY(parse_value(element, depth));
      skip_whitespace();
      if (at_end()) return fail("array is not terminated");
      if (peek() == ']') {
        ++pos_;
        return {};
      }
      if (peek() != ',') return fail("expected ',' or ']' after an array element");
      ++pos_;
      skip_whitespace();
    }
  }

  Status parse_object(Value& out, std::size_t depth) {
    if (depth > limits_.max_depth) return fail(fmt::format("nesting is deeper than {}", limits_.max_depth));
    out.kind = Kind::object;
    ++pos_;  // '{'
    skip_whitespace();
    if (!at_end() && peek() == '}') {
      ++pos_;
      return {};
    }
    std::unordered_set<std::string> keys;
    while (true) {
      if (at_end() || peek() != '"') return fail("expected a string key");
      std::size_t key_pos = pos_;
      std::string key;
      CODEX_TRY(parse_string(key));
      if (!keys.insert(key).second) {
        pos_ = key_pos;
        return fail(fmt::format("duplicate key '{}'", key));
      }
      skip_whitespace();
      if (at_end() || peek() != ':') return fail("expected ':' after an object key");
      ++pos_;
      skip_whitespace();
      auto& member = out.object.emplace_back(Member{std::move(key), Value{}});
      CODEX_TRY(parse_value(member.second, depth));
      skip_whitespace();
      if (at_end()) return fail("object is not terminated");
      if (peek() == '}') {
        ++pos_;
        return {};
      }
      if (peek() != ',') return fail("expected ',' or '}' after an object member");
      ++pos_;
      skip_whitespace();
    }
  }

  std::string_view text_;
  Limits limits_;
  std::size_t pos_ = 0;
  std::size_t values_ = 0;
};

}  // namespace

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::null: return "null";
    case Kind::boolean: return "a boolean";
    case Kind::integer: return "an integer";
    case Kind::string: return "a string";
    case Kind::array: return "an array";
    case Kind::object: return "an object";
  }
  return "a value";
}

const Value* Value::find(std::string_view key) const {
  for (const auto& [name, value] : object)
    if (name == key) return &value;
  return nullptr;
}

Result<Value> parse(std::string_view text, const Limits& limits) { return Parser(text, limits).document(); }

}  // namespace codex::json
