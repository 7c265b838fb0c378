#include "regex/pattern_tree.hpp"

#include <string>

namespace invar::regex {

namespace {

Symbols range(int lo, int hi) {
  Symbols b;
  for (int c = lo; c <= hi; ++c) b.set(static_cast<size_t>(c));
  return b;
}
Symbols one(size_t symbol) { return Symbols().set(symbol); }
Symbols word() { return range('a', 'z') | range('A', 'Z') | range('0', '9') | one('_'); }
Symbols digit() { return range('0', '9'); }
Symbols space() { return range('\t', '\r') | one(' '); }
Symbols bytes() { return range(0, 255); }
Symbols non_ascii() { return range(0x80, 0xFF); }

// Upper and lower case of every ASCII letter in `s`, for (?i).
Symbols folded(Symbols s) {
  for (int c = 'a'; c <= 'z'; ++c)
    if (s.test(c) || s.test(c - 32)) s.set(c).set(c - 32);
  return s;
}

Symbols posix_class(std::string_view name) {
  if (name == "alpha") return range('a', 'z') | range('A', 'Z');
  if (name == "digit") return digit();
  if (name == "alnum") return range('a', 'z') | range('A', 'Z') | digit();
  if (name == "space") return space();
  if (name == "upper") return range('A', 'Z');
  if (name == "lower") return range('a', 'z');
  if (name == "xdigit") return digit() | range('a', 'f') | range('A', 'F');
  if (name == "word") return word();
  if (name == "blank") return one(' ') | one('\t');
  if (name == "punct") return range('!', '/') | range(':', '@') | range('[', '`') | range('{', '~');
  return range(0, 127);  // cntrl, print, graph, ascii: broad
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

class PatternParser {
 public:
  PatternParser(std::string_view p, PatternTree& tree) : p_(p), tree_(tree) {}

  PatternNode* parse() {
    PatternNode* n = alternation(0);
    return n && i_ == p_.size() ? n : nullptr;
  }

 private:
  struct Flags {
    bool fold = false, dot_newline = false, multi_line = false;
  };

  PatternNode* make(PatternNode::Kind k, size_t begin) {
    tree_.nodes_.push_back(std::make_unique<PatternNode>());
    PatternNode* n = tree_.nodes_.back().get();
    n->kind = k;
    n->begin = begin;
    n->end = i_;
    return n;
  }
  PatternNode* symbols(Symbols s, size_t begin) {
    PatternNode* n = make(PatternNode::symbols, begin);
    n->set = flags_.fold ? folded(s) : s;
    return n;
  }

  PatternNode* alternation(int depth) {
    if (depth > PatternTree::kMaxNesting) return nullptr;
    const size_t begin = i_;
    const Flags outer = flags_;  // flags set inside a group end with it
    std::vector<PatternNode*> branches;
    while (true) {
      PatternNode* c = concatenation(depth);
      if (!c) return nullptr;
      branches.push_back(c);
      if (i_ < p_.size() && p_[i_] == '|') {
        ++i_;
        continue;
      }
      break;
    }
    flags_ = outer;
    if (branches.size() == 1) return branches[0];
    PatternNode* n = make(PatternNode::alt, begin);
    n->children = std::move(branches);
    return n;
  }

  PatternNode* concatenation(int depth) {
    PatternNode* n = make(PatternNode::concat, i_);
    while (i_ < p_.size() && p_[i_] != '|' && p_[i_] != ')') {
      PatternNode* a = atom(depth);
      if (!a) return nullptr;
      a = quantifiers(a);
      if (!a) return nullptr;
      n->children.push_back(a);
    }
    n->end = i_;
    return n;
  }

  bool read_int(int& out) {
    const size_t start = i_;
    out = 0;
    while (i_ < p_.size() && p_[i_] >= '0' && p_[i_] <= '9') {
      if (out < 100000) out = out * 10 + (p_[i_] - '0');
      ++i_;
    }
    return i_ > start;
  }

  PatternNode* quantifiers(PatternNode* a) {
    while (i_ < p_.size()) {
      const char c = p_[i_];
      int min, max;
      const size_t save = i_;
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
      if (i_ < p_.size() && p_[i_] == '?') ++i_;  // lazy: the same paths, in another order
      PatternNode* r = make(PatternNode::repeat, a->begin);
      r->children.push_back(a);
      r->min = min;
      r->max = max;
      a = r;
    }
    return a;
  }

  // An escape's symbols (the backslash and letter read; assertions are the
  // caller's).
  Symbols escape_set(char e) {
    switch (e) {
      case 'd': return digit();
      case 'D': return ~digit() & bytes();
      case 'w': return word();
      case 'W': return ~word() & bytes();
      case 's': return space();
      case 'S': return ~space() & bytes();
      case 'n': return one('\n');
      case 't': return one('\t');
      case 'r': return one('\r');
      case 'f': return one('\f');
      case 'v': return one('\v');
      case 'a': return one('\a');
      case 'C': return bytes();
      case 'p':
      case 'P': {  // \pL, \p{Greek}: letters beyond ASCII are bytes 0x80 and up here
        if (i_ < p_.size() && p_[i_] == '{') {
          while (i_ < p_.size() && p_[i_] != '}') ++i_;
          if (i_ < p_.size()) ++i_;
        } else if (i_ < p_.size()) {
          ++i_;
        }
        return e == 'p' ? range('a', 'z') | range('A', 'Z') | digit() | non_ascii() : bytes();
      }
      case 'x': {
        int value = 0;
        if (i_ < p_.size() && p_[i_] == '{') {
          ++i_;
          while (i_ < p_.size() && p_[i_] != '}') value = std::min(value * 16 + std::max(hex_value(p_[i_++]), 0), 0x110000);
          if (i_ < p_.size()) ++i_;
        } else {
          for (int k = 0; k < 2 && i_ < p_.size() && hex_value(p_[i_]) >= 0; ++k) value = value * 16 + hex_value(p_[i_++]);
        }
        return value < 0x80 ? one(static_cast<size_t>(value)) : non_ascii();
      }
      default: return one(static_cast<unsigned char>(e));
    }
  }

  PatternNode* group(size_t begin, int depth) {
    if (i_ < p_.size() && p_[i_] == '?') {
      ++i_;
      if (i_ < p_.size() && (p_[i_] == '=' || p_[i_] == '!' || p_[i_] == '<' || p_[i_] == 'P' || p_[i_] == '\'')) {
        // (?P<name>, (?<name>: a named group; lookaround (RE2 refuses it): not analysed
        if (p_[i_] == 'P') ++i_;
        if (i_ >= p_.size() || p_[i_] != '<' || i_ + 1 >= p_.size() || p_[i_ + 1] == '=' || p_[i_ + 1] == '!')
          return nullptr;
        while (i_ < p_.size() && p_[i_] != '>') ++i_;
        if (i_ >= p_.size()) return nullptr;
        ++i_;
      } else {
        // Flags: (?i) for the rest of the group, (?i:...) for its own; -flags turn off.
        Flags set = flags_;
        bool on = true;
        while (i_ < p_.size() && p_[i_] != ':' && p_[i_] != ')') {
          const char f = p_[i_++];
          if (f == '-') on = false;
          else if (f == 'i') set.fold = on;
          else if (f == 's') set.dot_newline = on;
          else if (f == 'm') set.multi_line = on;
          else if (f != 'U') return nullptr;
        }
        if (i_ >= p_.size()) return nullptr;
        if (p_[i_++] == ')') {
          flags_ = set;
          return make(PatternNode::empty, begin);
        }
        const Flags outer = flags_;
        flags_ = set;
        PatternNode* inner = alternation(depth + 1);
        flags_ = outer;
        if (!inner || i_ >= p_.size() || p_[i_] != ')') return nullptr;
        ++i_;
        return wrap(inner, begin);
      }
    }
    PatternNode* inner = alternation(depth + 1);
    if (!inner || i_ >= p_.size() || p_[i_] != ')') return nullptr;
    ++i_;
    return wrap(inner, begin);
  }
  PatternNode* wrap(PatternNode* inner, size_t begin) {
    PatternNode* g = make(PatternNode::concat, begin);
    g->children.push_back(inner);
    return g;
  }

  PatternNode* atom(int depth) {
    const size_t begin = i_;
    const char c = p_[i_++];
    if (c == '(') return group(begin, depth);
    if (c == '[') return char_class(begin);
    if (c == '.') return symbols(flags_.dot_newline ? bytes() : bytes().reset('\n'), begin);
    if (c == '^') return flags_.multi_line ? make(PatternNode::empty, begin) : symbols(one(kBegin), begin);
    if (c == '$') return flags_.multi_line ? make(PatternNode::empty, begin) : symbols(one(kEnd), begin);
    if (c == ')' || c == '*' || c == '+' || c == '?') return nullptr;
    if (c == '\\') {
      if (i_ >= p_.size()) return nullptr;
      const char e = p_[i_++];
      if (e == 'A') return symbols(one(kBegin), begin);
      if (e == 'z') return symbols(one(kEnd), begin);
      if (e == 'b' || e == 'B') return make(PatternNode::empty, begin);
      if (e >= '1' && e <= '9') return nullptr;  // a backreference: no regular language to analyse
      if (e == 'Q') {  // \Q...\E: literal text
        PatternNode* n = make(PatternNode::concat, begin);
        while (i_ < p_.size() && p_.substr(i_, 2) != "\\E") {
          const size_t at = i_++;
          n->children.push_back(symbols(one(static_cast<unsigned char>(p_[at])), at));
        }
        if (i_ < p_.size()) i_ += 2;
        n->end = i_;
        return n;
      }
      PatternNode* n = symbols(escape_set(e), begin);
      n->end = i_;
      return n;
    }
    PatternNode* n = symbols(one(static_cast<unsigned char>(c)), begin);
    // A multi-byte UTF-8 character is one atom (its first byte stands for it).
    while (i_ < p_.size() && (static_cast<unsigned char>(p_[i_]) & 0xC0) == 0x80) ++i_;
    n->end = i_;
    return n;
  }

  PatternNode* char_class(size_t begin) {
    Symbols set;
    const bool negate = i_ < p_.size() && p_[i_] == '^';
    if (negate) ++i_;
    bool first = true;
    while (i_ < p_.size() && (p_[i_] != ']' || first)) {
      first = false;
      if (p_.substr(i_, 2) == "[:") {  // [:alpha:] and friends
        const size_t close = p_.find(":]", i_);
        if (close == std::string_view::npos) return nullptr;
        std::string_view name = p_.substr(i_ + 2, close - i_ - 2);
        const bool inverse = !name.empty() && name[0] == '^';
        set |= inverse ? ~posix_class(name.substr(1)) & bytes() : posix_class(name);
        i_ = close + 2;
        continue;
      }
      size_t lo;
      if (p_[i_] == '\\') {
        if (i_ + 1 >= p_.size()) return nullptr;
        const char e = p_[i_ + 1];
        i_ += 2;
        const Symbols s = escape_set(e);
        if (s.count() != 1) {
          set |= s;
          continue;
        }
        lo = s._Find_first();
      } else {
        lo = static_cast<unsigned char>(p_[i_++]);
        while (lo >= 0xC0 && i_ < p_.size() && (static_cast<unsigned char>(p_[i_]) & 0xC0) == 0x80) ++i_;
      }
      if (i_ + 1 < p_.size() && p_[i_] == '-' && p_[i_ + 1] != ']') {
        ++i_;
        size_t hi = static_cast<unsigned char>(p_[i_]);
        if (hi == '\\' && i_ + 1 < p_.size()) {
          ++i_;
          const Symbols s = escape_set(p_[i_++]);
          hi = s.count() == 1 ? s._Find_first() : 0xFF;
        } else {
          ++i_;
          while (hi >= 0xC0 && i_ < p_.size() && (static_cast<unsigned char>(p_[i_]) & 0xC0) == 0x80) ++i_;
        }
        if (hi >= 0x80) hi = 0xFF;  // a range into non-ASCII: all of it
        if (hi >= lo) set |= range(static_cast<int>(lo), static_cast<int>(hi));
      } else {
        set.set(lo);
        if (lo >= 0xC0) set |= non_ascii();
      }
    }
    if (i_ >= p_.size()) return nullptr;
    ++i_;  // ']'
    if (flags_.fold) set = folded(set);
    PatternNode* n = make(PatternNode::symbols, begin);
    n->set = negate ? ~set & bytes() : set;
    if (negate) n->set |= non_ascii();  // a non-ASCII character's bytes stay possible
    return n;
  }

  std::string_view p_;
  size_t i_ = 0;
  Flags flags_;
  PatternTree& tree_;
};

PatternTree PatternTree::parse(std::string_view pattern) {
  PatternTree tree;
  tree.root_ = PatternParser(pattern, tree).parse();
  return tree;
}

}  // namespace invar::regex
