#include "selector/filter.hpp"

#include <cmath>
#include <cstring>
#include <unordered_map>

#include "common/dom.hpp"
#include "common/text.hpp"
#include "regex/regex.hpp"
#include "selector/jsonpath.hpp"

namespace invar::selector {

using simdjson::dom::element;
using simdjson::dom::element_type;

// A value on the evaluation stack: Nothing (an empty node list), a logical
// result, a literal, or a node of the document.
struct Filter::Operand {
  enum class Kind : uint8_t { nothing, logical, null, boolean, number, string, node };
  Kind kind = Kind::nothing;
  bool flag = false;  // logical, boolean
  double number = 0;
  bool integral = false;  // number: an exact int64
  int64_t integer = 0;    // number; string literal: its index in Filter::strings_
  std::string_view string;
  element node;
};

namespace {

// Memory budget of one match()/search() pattern (RE2's max_mem).
constexpr int64_t kFilterRegexMaxMem = 1 << 20;

using Operand = Filter::Operand;


// A document node as an Operand (strings, numbers, booleans and null by value).
Operand of_node(element e) {
  Operand o;
  switch (e.type()) {
    case element_type::STRING:
      o.kind = Operand::Kind::string;
      o.string = sj::string_of(e);
      return o;
    case element_type::INT64:
      o.kind = Operand::Kind::number;
      o.integral = true;
      o.integer = int64_t(e);
      o.number = static_cast<double>(o.integer);
      return o;
    case element_type::UINT64:
      o.kind = Operand::Kind::number;
      o.number = static_cast<double>(uint64_t(e));
      return o;
    case element_type::DOUBLE:
      o.kind = Operand::Kind::number;
      o.number = double(e);
      return o;
    case element_type::BOOL:
      o.kind = Operand::Kind::boolean;
      o.flag = bool(e);
      return o;
    case element_type::NULL_VALUE:
      o.kind = Operand::Kind::null;
      return o;
    default:
      o.kind = Operand::Kind::node;  // array or object
      o.node = e;
      return o;
  }
}

int compare_numbers(const Operand& a, const Operand& b) {
  if (a.integral && b.integral) return a.integer < b.integer ? -1 : a.integer > b.integer ? 1 : 0;
  return a.number < b.number ? -1 : a.number > b.number ? 1 : 0;
}

// Deep equality of two arrays/objects, with an explicit stack (documents
// may be deep; this never recurses on their depth).
bool equal_structures(element a, element b) {
  std::vector<std::pair<element, element>> pending{{a, b}};
  while (!pending.empty()) {
    auto [x, y] = pending.back();
    pending.pop_back();
    Operand ox = of_node(x), oy = of_node(y);
    if (ox.kind != oy.kind) return false;
    switch (ox.kind) {
      case Operand::Kind::null: continue;
      case Operand::Kind::boolean:
        if (ox.flag != oy.flag) return false;
        continue;
      case Operand::Kind::number:
        if (compare_numbers(ox, oy) != 0) return false;
        continue;
      case Operand::Kind::string:
        if (ox.string != oy.string) return false;
        continue;
      default: break;
    }
    if (x.type() != y.type()) return false;
    if (x.type() == element_type::ARRAY) {
      auto ax = sj::array_of(x), ay = sj::array_of(y);
      if (ax.size() != ay.size()) return false;
      auto iy = ay.begin();
      for (auto ex : ax) pending.push_back({ex, *iy}), ++iy;
    } else {
      auto ox2 = sj::object_of(x), oy2 = sj::object_of(y);
      if (ox2.size() != oy2.size()) return false;
      std::unordered_map<std::string_view, element> members;
      for (auto field : oy2) members.emplace(field.key, field.value);
      for (auto field : ox2) {
        auto it = members.find(field.key);
        if (it == members.end()) return false;
        pending.push_back({field.value, it->second});
      }
    }
  }
  return true;
}

bool equal(const Operand& a, const Operand& b) {
  if (a.kind == Operand::Kind::nothing || b.kind == Operand::Kind::nothing)
    return a.kind == b.kind;  // Nothing == Nothing; Nothing == anything else is false
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Operand::Kind::null: return true;
    case Operand::Kind::boolean: return a.flag == b.flag;
    case Operand::Kind::number: return compare_numbers(a, b) == 0;
    case Operand::Kind::string: return a.string == b.string;
    case Operand::Kind::node: return equal_structures(a.node, b.node);
    default: return false;
  }
}

// a < b: numbers by value, strings by code point (UTF-8 byte order is code
// point order); any other pair is false.
bool less(const Operand& a, const Operand& b) {
  if (a.kind == Operand::Kind::number && b.kind == Operand::Kind::number) return compare_numbers(a, b) < 0;
  if (a.kind == Operand::Kind::string && b.kind == Operand::Kind::string) return a.string < b.string;
  return false;
}

uint64_t code_points(std::string_view s) {
  uint64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

Operand number_operand(uint64_t n) {
  Operand o;
  o.kind = Operand::Kind::number;
  o.integral = true;
  o.integer = static_cast<int64_t>(n);
  o.number = static_cast<double>(n);
  return o;
}

Error filter_error(std::string_view text, size_t at, const std::string& what) {
  Error e;
  e.code = ErrorCode::selector;
  e.message = "selector " + text::quoted(text) + " at column " + std::to_string(at + 1) + ": " + what;
  return e;
}

enum class Code : uint8_t {
  exists,        // arg: query -> logical
  query_value,   // arg: singular query -> its node, or Nothing
  literal,       // arg: literal index -> value
  length,        // pops a value -> number or Nothing
  count,         // arg: query -> number
  value,         // arg: query -> the one node, or Nothing
  match,         // arg: pattern; pops a value -> logical
  compare,       // arg: comparison; pops two -> logical
  negate,        // logical -> logical
  jump_if_false, // arg: target; keeps the logical on the stack when jumping, else pops it
  jump_if_true,
};

enum class Comparison : uint8_t { eq, ne, lt, le, gt, ge };

}  // namespace

struct Filter::Op {
  Code code;
  uint32_t arg = 0;
};

class FilterParser {
 public:
  FilterParser(std::string_view text, size_t at, int nesting, bool relative, Filter& out)
      : text_(text), i_(at), nesting_(nesting), relative_(relative), out_(out) {}

  std::optional<Error> run() {
    // Result types of an expression, as RFC 9535 section 2.4.3 types them.
    auto type = logical_or();
    if (error_) return error_;
    if (type != Type::logical) return fail(start_, "a filter must be a test or a comparison (this is a value)");
    return std::nullopt;
  }

  size_t position() const { return i_; }
  std::vector<Operand> literals;

 private:
  enum class Type { logical, value, nodes, error };

  std::optional<Error> fail(size_t at, const std::string& what) {
    if (!error_) error_ = filter_error(text_, at, what);
    return error_;
  }

  void spaces() {
    while (i_ < text_.size() && (text_[i_] == ' ' || text_[i_] == '\t' || text_[i_] == '\n' || text_[i_] == '\r')) ++i_;
  }
  bool take(std::string_view token) {
    spaces();
    if (text_.substr(i_, token.size()) != token) return false;
    i_ += token.size();
    return true;
  }
  uint32_t emit(Code code, uint32_t arg = 0) {
    out_.program_.push_back({code, arg});
    return static_cast<uint32_t>(out_.program_.size() - 1);
  }

  Type logical_or() { return binary("||", Code::jump_if_true, &FilterParser::logical_and); }
  Type logical_and() { return binary("&&", Code::jump_if_false, &FilterParser::basic); }

  // operand (token operand)*, short-circuit: `jump` skips the right operand
  // when the left one decides.
  Type binary(std::string_view token, Code jump, Type (FilterParser::*operand)()) {
    Type left = (this->*operand)();
    while (!error_) {
      spaces();
      if (text_.substr(i_, 2) != token) return left;
      size_t at = i_;
      i_ += 2;
      std::string op(token);
      if (left != Type::logical) return fail(at, "'" + op + "' needs a test or a comparison on its left"), Type::error;
      uint32_t jump_at = emit(jump);
      Type right = (this->*operand)();
      if (error_) return Type::error;
      if (right != Type::logical) return fail(at, "'" + op + "' needs a test or a comparison on its right"), Type::error;
      out_.program_[jump_at].arg = static_cast<uint32_t>(out_.program_.size());
    }
    return Type::error;
  }

  // basic-expr: paren-expr / comparison-expr / test-expr
  Type basic() {
    spaces();
    size_t at = i_;
    if (++depth_ > kMaxExpressionNesting) {
      fail(at, "expression nested more than " + std::to_string(kMaxExpressionNesting) + " deep");
      return Type::error;
    }
    Type result = basic_inner(at);
    --depth_;
    return result;
  }

  Type basic_inner(size_t at) {
    if (i_ < text_.size() && text_[i_] == '!' && text_.substr(i_, 2) != "!=") {
      ++i_;
      Type t = basic();
      if (error_) return Type::error;
      if (t != Type::logical) return fail(at, "'!' applies to a test, a comparison or a parenthesised expression"), Type::error;
      emit(Code::negate);
      return Type::logical;
    }
    if (i_ < text_.size() && text_[i_] == '(') {
      ++i_;
      Type t = logical_or();
      if (error_) return Type::error;
      if (!take(")")) return fail(i_, "expected ')'"), Type::error;
      if (t != Type::logical) return fail(at, "a parenthesised expression must be a test or a comparison"), Type::error;
      return Type::logical;
    }
    Type left = comparable();
    bool left_was_query = last_was_query_;
    if (error_) return Type::error;
    spaces();
    size_t op_at = i_;
    std::optional<Comparison> op;
    static const std::pair<std::string_view, Comparison> kOps[] = {{"==", Comparison::eq}, {"!=", Comparison::ne},
                                                                   {"<=", Comparison::le}, {">=", Comparison::ge},
                                                                   {"<", Comparison::lt},  {">", Comparison::gt}};
    for (const auto& [token, c] : kOps)
      if (text_.substr(i_, token.size()) == token) {
        op = c;
        i_ += token.size();
        break;
      }
    if (!op) {
      // A test: a query (existence) or a logical function.
      if (left == Type::nodes || (left == Type::value && left_was_query)) {
        out_.program_.back().code = Code::exists;
        return Type::logical;
      }
      if (left == Type::logical) return left;
      return fail(at, "a value alone is not a test: compare it (==, !=, <, <=, >, >=)"), Type::error;
    }
    if (left == Type::logical) return fail(at, "match() and search() are tests and cannot be compared"), Type::error;
    if (left == Type::nodes) return fail(at, "only a singular query (names and indexes, no wildcard or filter) can be compared"), Type::error;
    Type right = comparable();
    if (error_) return Type::error;
    if (right == Type::logical) return fail(op_at, "match() and search() are tests and cannot be compared"), Type::error;
    if (right == Type::nodes) return fail(op_at, "only a singular query (names and indexes, no wildcard or filter) can be compared"), Type::error;
    emit(Code::compare, static_cast<uint32_t>(*op));
    return Type::logical;
  }

  // A literal, a query or a function call. A query is emitted as
  // query_value when singular (turned into exists when it is a test) and
  // typed `nodes` otherwise.
  Type comparable() {
    spaces();
    size_t at = i_;
    if (i_ >= text_.size()) return fail(at, "expected a query, a literal or a function"), Type::error;
    char c = text_[i_];
    last_was_query_ = false;
    if (c == '@' || c == '$') {
      auto query = query_at();
      if (!query) return Type::error;
      last_was_query_ = true;
      bool singular = query->singular();
      out_.queries_.push_back(std::make_unique<Selector>(std::move(*query)));
      emit(Code::query_value, static_cast<uint32_t>(out_.queries_.size() - 1));
      return singular ? Type::value : Type::nodes;
    }
    if (c == '\'' || c == '"') {
      auto s = string_literal();
      if (!s) return Type::error;
      Operand o;
      o.kind = Operand::Kind::string;
      out_.strings_.push_back(std::move(*s));
      o.integer = static_cast<int64_t>(out_.strings_.size() - 1);  // resolved after parsing (strings_ may move)
      literals.push_back(o);
      emit(Code::literal, static_cast<uint32_t>(literals.size() - 1));
      return Type::value;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return number_literal();
    for (auto [word, kind, flag] : {std::tuple{"true", Operand::Kind::boolean, true},
                                    std::tuple{"false", Operand::Kind::boolean, false},
                                    std::tuple{"null", Operand::Kind::null, false}}) {
      size_t n = std::strlen(word);
      if (text_.substr(i_, n) == word && !name_char(i_ + n)) {
        i_ += n;
        Operand o;
        o.kind = kind;
        o.flag = flag;
        literals.push_back(o);
        emit(Code::literal, static_cast<uint32_t>(literals.size() - 1));
        return Type::value;
      }
    }
    if (c >= 'a' && c <= 'z') {
      Type t = function();
      last_was_query_ = false;
      return t;
    }
    return fail(at, "expected a query (@ or $), a literal or a function"), Type::error;
  }

  bool name_char(size_t at) const {
    if (at >= text_.size()) return false;
    char c = text_[at];
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  }

  std::optional<Selector> query_at() {
    size_t at = i_;
    if (text_[i_] == '$' && relative_) {
      fail(at, "inside a relative selector, a filter's queries start with '@'");
      return std::nullopt;
    }
    auto q = Selector::parse_embedded(text_, i_, nesting_ + 1, relative_);
    if (!q) {
      error_ = q.error();
      return std::nullopt;
    }
    if (!q->relative() && !q->singular()) {
      fail(at, "a '$' query inside a filter must be singular (names and indexes): evaluating it per node would "
               "walk the whole document for each node");
      return std::nullopt;
    }
    return std::move(q.value());
  }

  Type number_literal() {
    size_t at = i_;
    size_t j = i_;
    if (text_[j] == '-') ++j;
    size_t digits = j;
    while (j < text_.size() && text_[j] >= '0' && text_[j] <= '9') ++j;
    if (j == digits) return fail(at, "expected digits"), Type::error;
    if (text_[digits] == '0' && j - digits > 1) return fail(digits, "leading zero in a number"), Type::error;
    bool integral = true;
    if (j < text_.size() && text_[j] == '.') {
      integral = false;
      size_t f = ++j;
      while (j < text_.size() && text_[j] >= '0' && text_[j] <= '9') ++j;
      if (j == f) return fail(j, "expected digits after '.'"), Type::error;
    }
    if (j < text_.size() && (text_[j] == 'e' || text_[j] == 'E')) {
      integral = false;
      ++j;
      if (j < text_.size() && (text_[j] == '+' || text_[j] == '-')) ++j;
      size_t e = j;
      while (j < text_.size() && text_[j] >= '0' && text_[j] <= '9') ++j;
      if (j == e) return fail(j, "expected digits in an exponent"), Type::error;
    }
    std::string literal(text_.substr(i_, j - i_));
    i_ = j;
    Operand o;
    o.kind = Operand::Kind::number;
    o.number = std::strtod(literal.c_str(), nullptr);
    if (!std::isfinite(o.number)) return fail(at, "number out of range"), Type::error;
    if (integral && literal.size() <= 18) {
      o.integral = true;
      o.integer = std::stoll(literal);
    }
    literals.push_back(o);
    emit(Code::literal, static_cast<uint32_t>(literals.size() - 1));
    return Type::value;
  }

  std::optional<std::string> string_literal() {
    char quote = text_[i_];
    size_t at = i_++;
    std::string out;
    while (true) {
      if (i_ >= text_.size()) {
        fail(at, "unterminated string literal");
        return std::nullopt;
      }
      char c = text_[i_];
      if (c == quote) {
        ++i_;
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        fail(i_, "a control character must be escaped in a string literal");
        return std::nullopt;
      }
      if (c != '\\') {
        out += c;
        ++i_;
        continue;
      }
      if (i_ + 1 >= text_.size()) {
        fail(i_, "unterminated escape");
        return std::nullopt;
      }
      char x = text_[i_ + 1];
      i_ += 2;
      switch (x) {
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case '/': out += '/'; break;
        case '\\': out += '\\'; break;
        case '\'':
        case '"':
          if (x != quote) {
            fail(i_ - 2, "only the enclosing quote is escaped");
            return std::nullopt;
          }
          out += x;
          break;
        case 'u': {
          auto unit = [&](uint32_t& v) {
            if (i_ + 4 > text_.size()) return false;
            v = 0;
            for (int k = 0; k < 4; ++k) {
              char h = text_[i_ + k];
              int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
              if (d < 0) return false;
              v = v * 16 + static_cast<uint32_t>(d);
            }
            i_ += 4;
            return true;
          };
          uint32_t cp;
          if (!unit(cp)) {
            fail(i_, "expected four hex digits after \\u");
            return std::nullopt;
          }
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t low;
            if (text_.substr(i_, 2) != "\\u" || (i_ += 2, !unit(low)) || low < 0xDC00 || low > 0xDFFF) {
              fail(i_, "a high surrogate must be followed by a low surrogate");
              return std::nullopt;
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail(i_, "a lone low surrogate");
            return std::nullopt;
          }
          text::append_utf8(out, cp);
          break;
        }
        default:
          fail(i_ - 2, std::string("unknown escape \\") + x);
          return std::nullopt;
      }
    }
  }

  Type function() {
    size_t at = i_;
    size_t j = i_;
    while (name_char(j)) ++j;
    std::string name(text_.substr(i_, j - i_));
    i_ = j;
    if (!take("(")) return fail(i_, "expected '(' after " + name), Type::error;
    if (name == "length") {
      Type arg = comparable();
      if (error_) return Type::error;
      if (arg != Type::value) return fail(at, "length() takes a value: a literal, a singular query or a function"), Type::error;
      if (!take(")")) return fail(i_, "expected ')'"), Type::error;
      emit(Code::length);
      return Type::value;
    }
    if (name == "count" || name == "value") {
      spaces();
      if (i_ >= text_.size() || (text_[i_] != '@' && text_[i_] != '$'))
        return fail(i_, name + "() takes a query"), Type::error;
      auto query = query_at();
      if (!query) return Type::error;
      out_.queries_.push_back(std::make_unique<Selector>(std::move(*query)));
      emit(name == "count" ? Code::count : Code::value, static_cast<uint32_t>(out_.queries_.size() - 1));
      if (!take(")")) return fail(i_, "expected ')'"), Type::error;
      return Type::value;
    }
    if (name == "match" || name == "search") {
      Type arg = comparable();
      if (error_) return Type::error;
      if (arg != Type::value) return fail(at, name + "() takes a value first: a singular query or a literal"), Type::error;
      if (!take(",")) return fail(i_, "expected ',' then the pattern"), Type::error;
      spaces();
      if (i_ >= text_.size() || (text_[i_] != '\'' && text_[i_] != '"'))
        return fail(i_, name + "()'s pattern must be a string literal (it is compiled once, with RE2)"), Type::error;
      size_t pattern_at = i_;
      auto pattern = string_literal();
      if (!pattern) return Type::error;
      auto compiled = regex::compile(*pattern, name == "match" ? regex::Anchoring::whole_string : regex::Anchoring::anywhere,
                                     kFilterRegexMaxMem);
      if (!compiled.pattern) return fail(pattern_at, "pattern does not compile under RE2: " + compiled.error), Type::error;
      out_.patterns_.push_back(std::move(compiled.pattern));
      emit(Code::match, static_cast<uint32_t>(out_.patterns_.size() - 1));
      if (!take(")")) return fail(i_, "expected ')'"), Type::error;
      return Type::logical;
    }
    static const std::vector<std::string_view> kFunctions = {"length", "count", "value", "match", "search"};
    return fail(at, "unknown function " + text::quoted(name) + text::did_you_mean(name, kFunctions) +
                        " (functions: length, count, value, match, search)"),
           Type::error;
  }

  std::string_view text_;
  size_t i_;
  size_t start_ = i_;
  int nesting_;
  bool relative_;
  int depth_ = 0;
  bool last_was_query_ = false;  // the last comparable() read a query (not a literal or function)
  Filter& out_;
  std::optional<Error> error_;
};

Filter::Filter() = default;
Filter::~Filter() = default;
Filter::Filter(Filter&&) noexcept = default;

Result<std::shared_ptr<const Filter>> Filter::parse(std::string_view text, size_t& at, int nesting, bool relative) {
  if (nesting > kMaxFilterNesting)
    return filter_error(text, at, "filters nested more than " + std::to_string(kMaxFilterNesting) + " deep");
  std::shared_ptr<Filter> filter(new Filter());
  FilterParser parser(text, at, nesting, relative, *filter);
  if (auto e = parser.run()) return *e;
  at = parser.position();
  // String literals point into strings_, complete (and never resized) now.
  filter->literals_ = std::move(parser.literals);
  for (auto& literal : filter->literals_)
    if (literal.kind == Operand::Kind::string) literal.string = filter->strings_[static_cast<size_t>(literal.integer)];
  return std::shared_ptr<const Filter>(std::move(filter));
}

bool Filter::test(element current, element root) const {
  thread_local Path scratch;
  std::vector<Operand> stack;
  stack.reserve(8);
  auto logical = [](bool b) {
    Operand o;
    o.kind = Operand::Kind::logical;
    o.flag = b;
    return o;
  };
  auto start_of = [&](const Selector& q) { return q.relative() ? current : root; };
  for (size_t pc = 0; pc < program_.size(); ++pc) {
    const Op& op = program_[pc];
    switch (op.code) {
      case Code::exists: {
        const Selector& q = *queries_[op.arg];
        bool any = false;
        q.select(start_of(q), scratch, [&](element, const Path&) { any = true; });
        stack.push_back(logical(any));
        break;
      }
      case Code::query_value:
      case Code::value: {
        const Selector& q = *queries_[op.arg];
        Operand o;
        uint64_t n = 0;
        q.select(start_of(q), scratch, [&](element e, const Path&) {
          if (n++ == 0) o = of_node(e);
        });
        if (n != 1) o = Operand{};
        stack.push_back(o);
        break;
      }
      case Code::literal: stack.push_back(literals_[op.arg]); break;
      case Code::length: {
        Operand v = stack.back();
        stack.pop_back();
        if (v.kind == Operand::Kind::string) stack.push_back(number_operand(code_points(v.string)));
        else if (v.kind == Operand::Kind::node && v.node.type() == element_type::ARRAY)
          stack.push_back(number_operand(sj::array_of(v.node).size()));
        else if (v.kind == Operand::Kind::node) stack.push_back(number_operand(sj::object_of(v.node).size()));
        else stack.push_back(Operand{});
        break;
      }
      case Code::count: {
        const Selector& q = *queries_[op.arg];
        stack.push_back(number_operand(q.count(start_of(q), scratch)));
        break;
      }
      case Code::match: {
        Operand v = stack.back();
        stack.pop_back();
        stack.push_back(logical(v.kind == Operand::Kind::string && patterns_[op.arg]->matches(v.string)));
        break;
      }
      case Code::compare: {
        Operand b = stack.back();
        stack.pop_back();
        Operand a = stack.back();
        stack.pop_back();
        bool r = false;
        switch (static_cast<Comparison>(op.arg)) {
          case Comparison::eq: r = equal(a, b); break;
          case Comparison::ne: r = !equal(a, b); break;
          case Comparison::lt: r = less(a, b); break;
          case Comparison::le: r = less(a, b) || equal(a, b); break;
          case Comparison::gt: r = less(b, a); break;
          case Comparison::ge: r = less(b, a) || equal(a, b); break;
        }
        stack.push_back(logical(r));
        break;
      }
      case Code::negate: stack.back().flag = !stack.back().flag; break;
      case Code::jump_if_false:
      case Code::jump_if_true:
        if (stack.back().flag == (op.code == Code::jump_if_true)) {
          pc = op.arg - 1;  // keep the result as the expression's
        } else {
          stack.pop_back();
        }
        break;
    }
  }
  return !stack.empty() && stack.back().flag;
}

}  // namespace invar::selector
