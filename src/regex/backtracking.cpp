#include "regex/backtracking.hpp"

#include <bitset>
#include <memory>
#include <vector>

namespace invar::regex {

namespace {

using Bytes = std::bitset<256>;

// A parsed regex: just what the analysis needs.
struct Node {
  enum Kind { empty, chars, concat, alt, repeat } kind = empty;
  Bytes set;                     // for `chars`
  std::vector<Node*> children;   // concat, alt, repeat (one child)
  int min = 0, max = 0;          // repeat; max < 0 means unbounded
  size_t begin = 0, end = 0;     // source span
};

constexpr int kLargeRepeat = 16;  // {n,m} with m above this counts as unbounded
constexpr int kMaxNesting = 200;

Bytes range(int lo, int hi) {
  Bytes b;
  for (int c = lo; c <= hi; ++c) b.set(static_cast<size_t>(c));
  return b;
}
Bytes word() { return range('a', 'z') | range('A', 'Z') | range('0', '9') | range('_', '_'); }
Bytes digit() { return range('0', '9'); }
Bytes space() { return range('\t', '\r') | range(' ', ' '); }
Bytes all_bytes() { return Bytes().set(); }

class Parser {
 public:
  explicit Parser(std::string_view p) : p_(p) {}
  Node* parse() {
    Node* n = alternation(0);
    if (!n || i_ != p_.size()) return nullptr;
    return n;
  }

 private:
  Node* make(Node::Kind k, size_t begin) {
    pool_.push_back(std::make_unique<Node>());
    Node* n = pool_.back().get();
    n->kind = k;
    n->begin = begin;
    n->end = i_;
    return n;
  }

  Node* alternation(int depth) {
    if (depth > kMaxNesting) return nullptr;
    size_t begin = i_;
    std::vector<Node*> branches;
    while (true) {
      Node* c = concatenation(depth);
      if (!c) return nullptr;
      branches.push_back(c);
      if (i_ < p_.size() && p_[i_] == '|') {
        ++i_;
        continue;
      }
      break;
    }
    if (branches.size() == 1) return branches[0];
    Node* n = make(Node::alt, begin);
    n->children = std::move(branches);
    return n;
  }

  Node* concatenation(int depth) {
    size_t begin = i_;
    Node* n = make(Node::concat, begin);
    while (i_ < p_.size() && p_[i_] != '|' && p_[i_] != ')') {
      Node* a = atom(depth);
      if (!a) return nullptr;
      a = quantifiers(a);
      if (!a) return nullptr;
      n->children.push_back(a);
    }
    n->end = i_;
    return n;
  }

  bool read_int(int& out) {
    size_t start = i_;
    out = 0;
    while (i_ < p_.size() && p_[i_] >= '0' && p_[i_] <= '9') {
      if (out < 100000) out = out * 10 + (p_[i_] - '0');
      ++i_;
    }
    return i_ > start;
  }

  Node* quantifiers(Node* a) {
    while (i_ < p_.size()) {
      char c = p_[i_];
      int min, max;
      size_t save = i_;
      if (c == '*') min = 0, max = -1, ++i_;
      else if (c == '+') min = 1, max = -1, ++i_;
      else if (c == '?') min = 0, max = 1, ++i_;
      else if (c == '{') {
        ++i_;
        if (!read_int(min)) {
          i_ = save;  // a literal '{'
          return a;
        }
        max = min;
        if (i_ < p_.size() && p_[i_] == ',') {
          ++i_;
          if (!read_int(max)) max = -1;
        }
        if (i_ >= p_.size() || p_[i_] != '}') {
          i_ = save;
          return a;
        }
        ++i_;
      } else {
        return a;
      }
      if (i_ < p_.size() && (p_[i_] == '?' || p_[i_] == '+')) ++i_;  // lazy / possessive
      Node* r = make(Node::repeat, a->begin);
      r->children.push_back(a);
      r->min = min;
      r->max = max;
      a = r;
    }
    return a;
  }

  Bytes escape_set(char e, bool& ok) {
    ok = true;
    switch (e) {
      case 'd': return digit();
      case 'D': return ~digit();
      case 'w': return word();
      case 'W': return ~word();
      case 's': return space();
      case 'S': return ~space();
      case 'n': return range('\n', '\n');
      case 't': return range('\t', '\t');
      case 'r': return range('\r', '\r');
      case 'f': return range('\f', '\f');
      case 'v': return range('\v', '\v');
      case 'p': case 'P': case 'x': case 'u': {
        // \p{..}, \x{..}, \xHH, \uHHHH: approximated as "any byte".
        if (i_ < p_.size() && p_[i_] == '{') {
          while (i_ < p_.size() && p_[i_] != '}') ++i_;
          if (i_ < p_.size()) ++i_;
        } else {
          size_t n = e == 'p' || e == 'P' ? 1 : (e == 'x' ? 2 : 4);
          i_ = std::min(p_.size(), i_ + n);
        }
        return all_bytes();
      }
      default:
        return range(static_cast<unsigned char>(e), static_cast<unsigned char>(e));
    }
  }

  Node* atom(int depth) {
    size_t begin = i_;
    char c = p_[i_++];
    if (c == '(') {
      if (i_ < p_.size() && p_[i_] == '?') {
        ++i_;
        if (i_ < p_.size() && (p_[i_] == '=' || p_[i_] == '!')) {
          ++i_;  // lookahead: zero width
          Node* inner = alternation(depth + 1);
          if (!inner || i_ >= p_.size()) return nullptr;
          ++i_;
          return make(Node::empty, begin);
        }
        if (i_ + 1 < p_.size() && p_[i_] == '<' && (p_[i_ + 1] == '=' || p_[i_ + 1] == '!')) {
          i_ += 2;  // lookbehind: zero width
          Node* inner = alternation(depth + 1);
          if (!inner || i_ >= p_.size()) return nullptr;
          ++i_;
          return make(Node::empty, begin);
        }
        // (?:, (?i), (?i:, (?P<name>, (?<name>
        while (i_ < p_.size() && p_[i_] != ':' && p_[i_] != ')' && p_[i_] != '>') ++i_;
        if (i_ >= p_.size()) return nullptr;
        if (p_[i_] == ')') {  // flags only
          ++i_;
          return make(Node::empty, begin);
        }
        ++i_;
      }
      Node* inner = alternation(depth + 1);
      if (!inner || i_ >= p_.size() || p_[i_] != ')') return nullptr;
      ++i_;
      Node* g = make(Node::concat, begin);
      g->children.push_back(inner);
      return g;
    }
    if (c == '[') return char_class(begin);
    if (c == '.') {
      Node* n = make(Node::chars, begin);
      n->set = all_bytes();
      n->set.reset('\n');
      return n;
    }
    if (c == '^' || c == '$') return make(Node::empty, begin);
    if (c == ')' || c == '*' || c == '+' || c == '?') return nullptr;
    if (c == '\\') {
      if (i_ >= p_.size()) return nullptr;
      char e = p_[i_++];
      if (e == 'b' || e == 'B' || e == 'A' || e == 'z' || e == 'Z' || e == 'G') return make(Node::empty, begin);
      if (e >= '1' && e <= '9') {  // backreference: repeats earlier text
        Node* n = make(Node::chars, begin);
        n->set = all_bytes();
        return n;
      }
      bool ok;
      Node* n = make(Node::chars, begin);
      n->set = escape_set(e, ok);
      n->end = i_;
      return n;
    }
    Node* n = make(Node::chars, begin);
    n->set.set(static_cast<unsigned char>(c));
    // A multi-byte UTF-8 character is one atom.
    while (i_ < p_.size() && (static_cast<unsigned char>(p_[i_]) & 0xC0) == 0x80) ++i_;
    n->end = i_;
    return n;
  }

  Node* char_class(size_t begin) {
    Bytes set;
    bool negate = false;
    if (i_ < p_.size() && p_[i_] == '^') negate = true, ++i_;
    bool first = true;
    while (i_ < p_.size() && (p_[i_] != ']' || first)) {
      first = false;
      if (p_.substr(i_, 2) == "[:") {  // [:alpha:] and friends
        size_t close = p_.find(":]", i_);
        if (close == std::string_view::npos) return nullptr;
        set |= all_bytes();
        i_ = close + 2;
        continue;
      }
      unsigned char lo;
      if (p_[i_] == '\\') {
        if (i_ + 1 >= p_.size()) return nullptr;
        char e = p_[i_ + 1];
        i_ += 2;
        bool ok;
        Bytes s = escape_set(e, ok);
        if (s.count() != 1) {
          set |= s;
          continue;
        }
        lo = static_cast<unsigned char>(s._Find_first());
      } else {
        lo = static_cast<unsigned char>(p_[i_++]);
      }
      if (i_ + 1 < p_.size() && p_[i_] == '-' && p_[i_ + 1] != ']') {
        ++i_;
        unsigned char hi = static_cast<unsigned char>(p_[i_]);
        if (hi == '\\' && i_ + 1 < p_.size()) hi = static_cast<unsigned char>(p_[++i_]);
        ++i_;
        if (hi >= lo) set |= range(lo, hi);
      } else {
        set.set(lo);
      }
    }
    if (i_ >= p_.size()) return nullptr;
    ++i_;  // ']'
    Node* n = make(Node::chars, begin);
    n->set = negate ? ~set : set;
    if (set.any() && negate) n->set |= range(0x80, 0xFF);  // non-ASCII stays possible
    return n;
  }

  std::string_view p_;
  size_t i_ = 0;
  std::vector<std::unique_ptr<Node>> pool_;

 public:
  // Keeps nodes alive as long as the parser.
  size_t size() const { return pool_.size(); }
};

bool nullable(const Node* n) {
  switch (n->kind) {
    case Node::empty: return true;
    case Node::chars: return false;
    case Node::repeat: return n->min == 0 || nullable(n->children[0]);
    case Node::alt:
      for (auto* c : n->children) if (nullable(c)) return true;
      return false;
    case Node::concat:
      for (auto* c : n->children) if (!nullable(c)) return false;
      return true;
  }
  return true;
}

Bytes chars(const Node* n) {
  if (n->kind == Node::chars) return n->set;
  Bytes b;
  for (auto* c : n->children) b |= chars(c);
  return b;
}

Bytes first(const Node* n) {
  switch (n->kind) {
    case Node::empty: return {};
    case Node::chars: return n->set;
    case Node::repeat: return first(n->children[0]);
    case Node::alt: {
      Bytes b;
      for (auto* c : n->children) b |= first(c);
      return b;
    }
    case Node::concat: {
      Bytes b;
      for (auto* c : n->children) {
        b |= first(c);
        if (!nullable(c)) break;
      }
      return b;
    }
  }
  return {};
}

bool unbounded(const Node* n) {
  return n->kind == Node::repeat && (n->max < 0 || n->max > kLargeRepeat) && chars(n->children[0]).any();
}

// Unbounded repeats a match of `n` can end with (everything after them nullable).
void tail_repeats(const Node* n, std::vector<const Node*>& out) {
  switch (n->kind) {
    case Node::repeat:
      if (unbounded(n)) out.push_back(n);
      tail_repeats(n->children[0], out);
      return;
    case Node::alt:
      for (auto* c : n->children) tail_repeats(c, out);
      return;
    case Node::concat:
      for (auto it = n->children.rbegin(); it != n->children.rend(); ++it) {
        tail_repeats(*it, out);
        if (!nullable(*it)) return;
      }
      return;
    default:
      return;
  }
}

// Unbounded repeats a match of `n` can start with.
void head_repeats(const Node* n, std::vector<const Node*>& out) {
  switch (n->kind) {
    case Node::repeat:
      if (unbounded(n)) out.push_back(n);
      head_repeats(n->children[0], out);
      return;
    case Node::alt:
      for (auto* c : n->children) head_repeats(c, out);
      return;
    case Node::concat:
      for (auto* c : n->children) {
        head_repeats(c, out);
        if (!nullable(c)) return;
      }
      return;
    default:
      return;
  }
}

class Analyzer {
 public:
  explicit Analyzer(std::string_view p) : p_(p) {}

  std::optional<BacktrackingFinding> visit(const Node* n) {
    if (unbounded(n)) {
      const Node* body = n->children[0];
      std::vector<const Node*> tails;
      tail_repeats(body, tails);
      Bytes start = first(body);
      for (const Node* inner : tails) {
        if (inner == body) continue;
        if ((chars(inner->children[0]) & start).any())
          return BacktrackingFinding{
              text(n), "nested unbounded quantifiers: the inner " + text(inner) +
                           " and the outer repetition can split the same input in exponentially many ways"};
      }
    }
    if (n->kind == Node::concat) {
      const auto& items = n->children;
      for (size_t i = 0; i < items.size(); ++i) {
        std::vector<const Node*> left;
        tail_repeats(items[i], left);
        if (left.empty()) continue;
        for (size_t j = i + 1; j < items.size(); ++j) {
          std::vector<const Node*> right;
          head_repeats(items[j], right);
          for (const Node* a : left)
            for (const Node* b : right)
              if ((chars(a->children[0]) & chars(b->children[0])).any())
                return BacktrackingFinding{
                    text(a) + " followed by " + text(b),
                    "adjacent unbounded quantifiers over overlapping characters: a backtracking engine "
                    "tries every split between them (polynomial or worse)"};
          if (!nullable(items[j])) break;
        }
      }
    }
    for (const Node* c : n->children)
      if (auto f = visit(c)) return f;
    return std::nullopt;
  }

 private:
  std::string text(const Node* n) const { return std::string(p_.substr(n->begin, n->end - n->begin)); }
  std::string_view p_;
};

}  // namespace

std::optional<BacktrackingFinding> find_superlinear(std::string_view pattern) {
  Parser parser(pattern);
  Node* root = parser.parse();
  if (!root)
    return BacktrackingFinding{std::string(pattern),
                               "the pattern could not be analysed (unsupported syntax or nesting deeper than " +
                                   std::to_string(kMaxNesting) + ")"};
  return Analyzer(pattern).visit(root);
}

}  // namespace invar::regex
