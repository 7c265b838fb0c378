#include "regex/nfa.hpp"

#include <algorithm>
#include <iterator>

namespace invar::regex {

namespace {

// What a sub-pattern contributes: the states it can start and end with.
struct Fragment {
  std::vector<uint32_t> first, last;
  bool nullable = true;
};

class Builder {
 public:
  Builder(Nfa& nfa, size_t max_states, size_t max_edges) : nfa_(nfa), max_states_(max_states), max_edges_(max_edges) {}

  bool build(const PatternNode* n, Fragment& out) {
    switch (n->kind) {
      case PatternNode::empty: out = {}; return true;
      case PatternNode::symbols: {
        if (nfa_.size() >= max_states_) return false;
        const auto s = static_cast<uint32_t>(nfa_.size());
        nfa_.symbols.push_back(n->set);
        nfa_.next.emplace_back();
        nfa_.final.push_back(false);
        nfa_.node.push_back(n);
        out = Fragment{{s}, {s}, false};
        return true;
      }
      case PatternNode::concat: {
        out = {};
        for (const PatternNode* c : n->children) {
          Fragment f;
          if (!build(c, f)) return false;
          concat(out, f);
        }
        return true;
      }
      case PatternNode::alt: {
        out = Fragment{{}, {}, false};
        for (const PatternNode* c : n->children) {
          Fragment f;
          if (!build(c, f)) return false;
          append(out.first, f.first);
          append(out.last, f.last);
          out.nullable = out.nullable || f.nullable;
        }
        return true;
      }
      case PatternNode::repeat: return repeat(n, out);
    }
    return false;
  }

  // Not deduplicated: the same step made by two constructs, as the inner
  // and outer loops of (a+)+, is two ways a backtracking matcher can go.
  // Past max_edges, the edges stop being added and over() holds.
  void link(const std::vector<uint32_t>& from, const std::vector<uint32_t>& to) {
    if (from.size() * to.size() > max_edges_ - std::min(edges_, max_edges_)) {
      edges_ = max_edges_ + 1;
      return;
    }
    edges_ += from.size() * to.size();
    for (uint32_t a : from) nfa_.next[a].insert(nfa_.next[a].end(), to.begin(), to.end());
  }
  bool over() const { return edges_ > max_edges_; }

 private:
  // First and last sets are kept sorted: a union is one merge.
  static void append(std::vector<uint32_t>& to, const std::vector<uint32_t>& more) {
    if (more.empty()) return;
    std::vector<uint32_t> both;
    both.reserve(to.size() + more.size());
    std::set_union(to.begin(), to.end(), more.begin(), more.end(), std::back_inserter(both));
    to = std::move(both);
  }

  void concat(Fragment& a, const Fragment& b) {
    link(a.last, b.first);
    if (a.nullable) append(a.first, b.first);
    if (b.nullable) append(a.last, b.last);
    else a.last = b.last;
    a.nullable = a.nullable && b.nullable;
  }

  // x{n,}: n - 1 copies, then one that loops (x* when n is 0). x{n,m}: n
  // copies, then m - n optional ones, each only after the one before it,
  // x(x(x)?)?: one way to read each count, as a counting matcher has.
  bool repeat(const PatternNode* n, Fragment& out) {
    const PatternNode* body = n->children[0];
    out = {};
    if (n->max == 0) return true;
    if (n->max < 0) {
      for (int k = 0; k + 1 < n->min; ++k) {
        Fragment f;
        if (!build(body, f)) return false;
        concat(out, f);
      }
      Fragment loop;
      if (!build(body, loop)) return false;
      link(loop.last, loop.first);
      if (n->min == 0) loop.nullable = true;
      concat(out, loop);
      return true;
    }
    for (int k = 0; k < n->min; ++k) {
      Fragment f;
      if (!build(body, f)) return false;
      concat(out, f);
    }
    Fragment tail;
    for (int k = n->max; k > n->min; --k) {
      Fragment f;
      if (!build(body, f)) return false;
      concat(f, tail);
      f.nullable = true;
      tail = std::move(f);
    }
    concat(out, tail);
    return true;
  }

  Nfa& nfa_;
  size_t max_states_, max_edges_;
  size_t edges_ = 0;
};

}  // namespace

std::optional<Nfa> build_nfa(const PatternTree& tree, size_t max_states, size_t max_edges) {
  if (!tree.root()) return std::nullopt;
  Nfa nfa;
  Symbols search;
  for (size_t c = 0; c < 256; ++c) search.set(c);
  search.set(kBegin);
  for (const Symbols& s : {Symbols(), search}) {
    nfa.symbols.push_back(s);
    nfa.next.emplace_back();
    nfa.final.push_back(false);
    nfa.node.push_back(nullptr);
  }
  Builder builder(nfa, max_states, max_edges);
  Fragment root;
  if (!builder.build(tree.root(), root)) return std::nullopt;
  const std::vector<uint32_t> starts = {Nfa::kStart, Nfa::kSearch};
  builder.link(starts, root.first);
  builder.link(starts, {Nfa::kSearch});
  if (builder.over()) return std::nullopt;
  for (uint32_t s : root.last) nfa.final[s] = true;
  if (root.nullable) nfa.final[Nfa::kStart] = nfa.final[Nfa::kSearch] = true;
  return nfa;
}

}  // namespace invar::regex
