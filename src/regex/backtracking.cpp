#include "regex/backtracking.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "regex/nfa.hpp"

namespace invar::regex {

namespace {

using State = uint32_t;
using StateSet = std::vector<uint64_t>;  // a bit per automaton state

struct OutOfBudget {};

// The largest square or cube searched (states of the product): 1M, 8 to
// 16 MB of marks, allocated once per analysis; past it the pattern is unproven.
constexpr size_t kMaxProduct = size_t(1) << 20;
// What a look-up in a hash table of marks counts for, in steps: about the
// time of so many steps of a dense search.
constexpr uint64_t kSparseCost = 8;
// The exponential witnesses (pairs of the square) tried for an attack in one loop.
constexpr int kMaxWitnesses = 8;

// The bytes tried first when a word is built: letters and digits, then
// punctuation, then the rest.
const std::vector<int>& byte_preference() {
  static const std::vector<int> order = [] {
    std::vector<int> o;
    for (int c = 'a'; c <= 'z'; ++c) o.push_back(c);
    for (int c = '0'; c <= '9'; ++c) o.push_back(c);
    for (int c = 'A'; c <= 'Z'; ++c) o.push_back(c);
    for (int c = 0x21; c < 0x7F; ++c)
      if (!std::isalnum(c)) o.push_back(c);
    o.push_back(' ');
    for (int c = 0; c < 256; ++c)
      if (c < 0x20 || c >= 0x7F) o.push_back(c);
    return o;
  }();
  return order;
}

int pick(const Symbols& s) {
  for (int c : byte_preference())
    if (s.test(static_cast<size_t>(c))) return c;
  return -1;
}

class Analysis {
 public:
  Analysis(const Nfa& nfa, const PatternTree& tree, std::string_view pattern, const BacktrackingOptions& options)
      : nfa_(nfa), tree_(tree), pattern_(pattern), options_(options) {
    for (State s = 0; s < nfa.size(); ++s) {
      bytes_of_.push_back(nfa.symbols[s]);
      bytes_of_.back().reset(kBegin).reset(kEnd);
      distinct_next_.push_back(nfa.next[s]);
      std::sort(distinct_next_.back().begin(), distinct_next_.back().end());
      distinct_next_.back().erase(std::unique(distinct_next_.back().begin(), distinct_next_.back().end()),
                                  distinct_next_.back().end());
    }
    previous_.resize(nfa.size());
    for (State s = 0; s < nfa.size(); ++s)
      for (State t : distinct_next_[s]) previous_[t].push_back(s);
  }

  std::optional<BacktrackingFinding> run();

 private:
  // The analysis's only budget is work, never time: the same pattern gets the
  // same verdict on a quiet machine and a loaded one.
  void step(uint64_t cost = 1) {
    steps_ += cost;
    if (steps_ > options_.max_steps) throw OutOfBudget{};
  }
  // The real bytes both states can be entered on.
  Symbols common(State a, State b) const { return bytes_of_[a] & bytes_of_[b]; }

  void components();
  std::vector<bool> reachable(const std::vector<State>& from, const std::vector<std::vector<State>>& edges);
  std::optional<BacktrackingFinding> exponential(const std::vector<State>& scc);
  std::optional<BacktrackingFinding> parallel_steps(const std::vector<State>& scc,
                                                    const std::unordered_map<State, size_t>& local,
                                                    std::vector<std::vector<size_t>>& inside);
  std::optional<BacktrackingFinding> quick_witness(const std::vector<State>& scc,
                                                   const std::unordered_map<State, size_t>& local,
                                                   const std::vector<std::vector<size_t>>& inside);
  bool ida(size_t from, size_t to, std::string& pump, State& p);
  bool search_ida(const std::vector<State>& c2, const std::vector<State>& between,
                  const std::vector<int>& between_index, const std::vector<int>& in2, std::string& pump, State& p);
  std::optional<std::string> prefix_to(State p);
  std::string loop_path(const std::unordered_map<State, size_t>& local, State from, State to);
  std::optional<BacktrackingFinding> attack(BacktrackingFinding::Complexity complexity, State p, const std::string& pump);
  const std::vector<int>& byte_classes();
  std::optional<std::string> failing_suffix(const std::string& prefix, const std::string& pump, bool pump_starts);
  std::string text_of(const std::vector<State>& states) const;

  StateSet start_set() const { return StateSet((nfa_.size() + 63) / 64, 0); }
  static bool has(const StateSet& s, State x) { return (s[x / 64] >> (x % 64)) & 1; }
  static void add(StateSet& s, State x) { s[x / 64] |= uint64_t(1) << (x % 64); }
  // Calls f(x) for every state x in `s`, a word of the set at a time.
  template <typename F>
  static void each(const StateSet& s, F&& f) {
    for (size_t w = 0; w < s.size(); ++w)
      for (uint64_t bits = s[w]; bits; bits &= bits - 1)
        f(static_cast<State>(w * 64 + static_cast<size_t>(__builtin_ctzll(bits))));
  }
  StateSet advance(const StateSet& from, size_t symbol) {
    step(1 + from.size());  // the scan of `from`'s words, even when it is empty
    StateSet to = start_set();
    each(from, [&](State s) {
      for (State t : nfa_.next[s]) {
        step();
        if (nfa_.symbols[t].test(symbol)) add(to, t);
      }
    });
    return to;
  }
  bool matched(const StateSet& s) {
    step(1 + s.size());
    bool any = false;
    each(s, [&](State x) { any = any || nfa_.final[x]; });
    return any;
  }

  const Nfa& nfa_;
  const PatternTree& tree_;
  std::string_view pattern_;
  const BacktrackingOptions& options_;
  uint64_t steps_ = 0;

  std::vector<std::vector<State>> sccs_;  // cyclic ones, sinks first
  std::vector<int> scc_of_;               // per state: index in sccs_, or -1
  std::vector<int> classes_;
  bool suffix_exhausted_ = false;  // a failing_suffix() search ran out of suffixes (not: the input matched)
  std::vector<Symbols> bytes_of_;                // per state: its symbols less kBegin and kEnd
  std::vector<std::vector<State>> distinct_next_;  // per state: next, each once (for the products)
  std::vector<std::vector<State>> previous_;       // per state: the states whose next it is
  std::vector<uint32_t> cube_stamp_, cube_parent_;  // ida()'s marks, kept between its searches
  // The same for a cube past kMaxProduct: the triples one search reaches
  // (a wide loop after an anchor or a keyword: most are never entered).
  std::unordered_map<size_t, uint32_t> sparse_cube_;  // triple: its parent's place in the queue
  bool cube_dense_ = true;
  bool cube_seen(size_t at) {
    if (cube_dense_) return cube_stamp_[at] == cube_search_;
    step(kSparseCost);
    return sparse_cube_.count(at) > 0;
  }
  void cube_mark(size_t at, size_t parent) {
    if (cube_dense_) {
      cube_stamp_[at] = cube_search_, cube_parent_[at] = static_cast<uint32_t>(parent);
      return;
    }
    step(kSparseCost);
    if (sparse_cube_.size() >= kMaxProduct) throw OutOfBudget{};
    sparse_cube_[at] = static_cast<uint32_t>(parent);
  }
  uint32_t cube_parent(size_t at) const { return cube_dense_ ? cube_parent_[at] : sparse_cube_.at(at); }
  std::vector<std::pair<uint32_t, uint32_t>> square_;  // exponential()'s (mark, parent), forward then backward
  // The same marks, for a component whose square passes kMaxProduct: only
  // the pairs reached, at most kMaxProduct of them (a trie of keywords under
  // a star is wide, but its states share symbols with few others).
  std::unordered_map<uint64_t, std::pair<uint32_t, uint32_t>> sparse_square_;
  uint32_t square_search_ = 0;
  bool square_dense_ = true;  // square_ holds the marks, not sparse_square_
  // A pair's (mark, parent); (0, 0) when unmarked.
  std::pair<uint32_t, uint32_t> square_mark(size_t key) {
    if (square_dense_) return square_[key];
    step(kSparseCost);
    auto it = sparse_square_.find(key);
    return it == sparse_square_.end() ? std::pair<uint32_t, uint32_t>{0, 0} : it->second;
  }
  void set_mark(size_t key, uint32_t mark, size_t parent) {
    if (square_dense_) {
      square_[key] = {mark, static_cast<uint32_t>(parent)};
      return;
    }
    step(kSparseCost);
    if (sparse_square_.size() >= kMaxProduct) throw OutOfBudget{};
    sparse_square_[key] = {mark, static_cast<uint32_t>(parent)};
  }
  uint32_t cube_search_ = 0;
};

constexpr const char* kExponentialReason =
    "the loop can read the same input in two ways, so a failing match makes a backtracking engine try exponentially "
    "many ways";

// The states reachable from `from` along `edges` (distinct_next_, or
// previous_ to go backwards), `from` included.
std::vector<bool> Analysis::reachable(const std::vector<State>& from, const std::vector<std::vector<State>>& edges) {
  step(1 + nfa_.size() / 64);
  std::vector<bool> seen(nfa_.size(), false);
  std::vector<State> todo(from);
  for (State s : todo) seen[s] = true;
  while (!todo.empty()) {
    const State s = todo.back();
    todo.pop_back();
    for (State t : edges[s]) {
      step();
      if (!seen[t]) seen[t] = true, todo.push_back(t);
    }
  }
  return seen;
}

// Tarjan's algorithm, iteratively; keeps the components with a cycle.
void Analysis::components() {
  const size_t n = nfa_.size();
  std::vector<int> index(n, -1), low(n, 0);
  std::vector<bool> on_stack(n, false);
  std::vector<State> stack;
  std::vector<std::pair<State, size_t>> calls;
  int counter = 0;
  scc_of_.assign(n, -1);
  for (State root = 0; root < n; ++root) {
    if (index[root] >= 0) continue;
    calls.push_back({root, 0});
    index[root] = low[root] = counter++;
    stack.push_back(root);
    on_stack[root] = true;
    while (!calls.empty()) {
      auto& [v, i] = calls.back();
      if (i < nfa_.next[v].size()) {
        const State w = nfa_.next[v][i++];
        step();
        if (index[w] < 0) {
          index[w] = low[w] = counter++;
          stack.push_back(w);
          on_stack[w] = true;
          calls.push_back({w, 0});
        } else if (on_stack[w]) {
          low[v] = std::min(low[v], index[w]);
        }
        continue;
      }
      const State done = v;
      calls.pop_back();
      if (!calls.empty()) low[calls.back().first] = std::min(low[calls.back().first], low[done]);
      if (low[done] != index[done]) continue;
      std::vector<State> scc;
      State w;
      do {
        w = stack.back();
        stack.pop_back();
        on_stack[w] = false;
        scc.push_back(w);
      } while (w != done);
      const bool cyclic = scc.size() > 1 || std::count(nfa_.next[done].begin(), nfa_.next[done].end(), done) > 0;
      if (!cyclic) continue;
      std::sort(scc.begin(), scc.end());
      for (State s : scc) scc_of_[s] = static_cast<int>(sccs_.size());
      sccs_.push_back(std::move(scc));
    }
  }
}

// The smallest repetition in the pattern that holds every state's symbol.
std::string Analysis::text_of(const std::vector<State>& states) const {
  size_t begin = pattern_.size(), end = 0;
  for (State s : states)
    if (const PatternNode* n = nfa_.node[s]) {
      begin = std::min(begin, n->begin);
      end = std::max(end, n->end);
    }
  if (begin >= end) return "";
  const PatternNode* best = nullptr;
  for (const auto& n : tree_.nodes())
    if (n->kind == PatternNode::repeat && n->begin <= begin && n->end >= end &&
        (!best || n->end - n->begin < best->end - best->begin))
      best = n.get();
  if (best) begin = best->begin, end = best->end;
  return std::string(pattern_.substr(begin, end - begin));
}

// The shortest input (after kBegin) that takes the automaton to `p`.
std::optional<std::string> Analysis::prefix_to(State p) {
  std::vector<int> parent(nfa_.size(), -2), via(nfa_.size(), -1);
  std::vector<State> queue;
  for (State t : nfa_.next[Nfa::kStart])
    if (nfa_.symbols[t].test(kBegin) && parent[t] == -2) parent[t] = -1, queue.push_back(t);
  for (size_t i = 0; i < queue.size(); ++i) {
    const State s = queue[i];
    if (s == p) {
      std::string word;
      for (int x = static_cast<int>(s); parent[x] >= 0; x = parent[x]) word += static_cast<char>(via[x]);
      std::reverse(word.begin(), word.end());
      return word;
    }
    for (State t : nfa_.next[s]) {
      step();
      if (parent[t] != -2) continue;
      const int c = pick(bytes_of_[t]);
      if (c < 0) continue;
      parent[t] = static_cast<int>(s);
      via[t] = c;
      queue.push_back(t);
    }
  }
  return std::nullopt;
}

// A suffix after which the framed input kBegin prefix pump^n suffix kEnd is
// not matched for every large n, or nullopt. The pump's subsets of states
// repeat with a period; the suffix must fail from all of them at once.
// Matches that start later than the loop's work do not stop it: the search
// stops starting new runs after the prefix (`pump_starts`: after the pumps,
// when the loop is the search's own).
std::optional<std::string> Analysis::failing_suffix(const std::string& prefix, const std::string& pump,
                                                    bool pump_starts) {
  auto stop_starting = [](StateSet& set) { set[Nfa::kSearch / 64] &= ~(uint64_t(1) << (Nfa::kSearch % 64)); };
  StateSet s = start_set();
  add(s, Nfa::kStart);
  if (matched(s)) return std::nullopt;
  s = advance(s, kBegin);
  for (char c : prefix) {
    if (matched(s)) return std::nullopt;
    s = advance(s, static_cast<unsigned char>(c));
  }
  if (matched(s)) return std::nullopt;
  if (!pump_starts) stop_starting(s);
  std::vector<StateSet> seen{s};
  StateSet cycle;
  for (int k = 0; k < 64 && cycle.empty(); ++k) {
    for (char c : pump) {
      s = advance(s, static_cast<unsigned char>(c));
      if (matched(s)) return std::nullopt;  // the pump reaches a match: the engine stops there
    }
    step(seen.size() * s.size());  // comparing with the sets seen
    auto again = std::find(seen.begin(), seen.end(), s);
    if (again != seen.end()) {
      cycle = start_set();
      for (auto it = again; it != seen.end(); ++it)
        for (size_t w = 0; w < cycle.size(); ++w) cycle[w] |= (*it)[w];
    }
    seen.push_back(s);
  }
  if (cycle.empty()) cycle = s;
  stop_starting(cycle);
  // Breadth first over suffixes of up to three bytes, one byte per class of
  // bytes that the automaton cannot tell apart.
  const std::vector<int>& classes = byte_classes();
  std::vector<std::pair<StateSet, std::string>> level{{cycle, ""}};
  std::set<StateSet> visited{cycle};
  const StateSet dead = start_set();
  for (int depth = 0; depth <= 3; ++depth) {
    std::vector<std::pair<StateSet, std::string>> next;
    for (auto& [set, suffix] : level) {
      // Not ending in a line break: PCRE, Perl, Python and Java also match $ before a final one.
      const char last = !suffix.empty() ? suffix.back() : !pump.empty() ? pump.back() : '\0';
      if (last != '\n' && !matched(advance(set, kEnd))) return suffix;
      if (set == dead) return suffix + "!";  // every run has failed: any byte ends it
      if (depth == 3) continue;
      for (int c : classes) {
        StateSet after = advance(set, static_cast<size_t>(c));
        if (matched(after) || !visited.insert(after).second) continue;
        next.push_back({std::move(after), suffix + static_cast<char>(c)});
      }
    }
    level = std::move(next);
  }
  suffix_exhausted_ = true;  // not for want of a failing path: for want of a suffix this short
  return std::nullopt;
}

// An exponential witness in one component: two parallel steps in it, or a
// pair (x, y), x != y, of its square between two pairs of its diagonal.
std::optional<BacktrackingFinding> Analysis::exponential(const std::vector<State>& scc) {
  const size_t m = scc.size();
  std::unordered_map<State, size_t> local;
  for (size_t i = 0; i < m; ++i) local[scc[i]] = i;
  std::vector<std::vector<size_t>> inside(m);  // successors within the component
  for (size_t i = 0; i < m; ++i)
    for (State t : nfa_.next[scc[i]])
      if (auto it = local.find(t); it != local.end()) inside[i].push_back(it->second);
  if (auto f = parallel_steps(scc, local, inside)) return f;
  for (auto& succ : inside) succ.erase(std::unique(succ.begin(), succ.end()), succ.end());
  if (auto f = quick_witness(scc, local, inside)) return f;
  // Two different paths p -> p on one word exist exactly when a pair (x, y),
  // x != y, of the square is reachable from its diagonal and reaches it
  // again: the paths part at the first pair off it and meet at the diagonal
  // (whose pairs all reach each other, along the loop). Two breadth-first
  // searches over the square: forward from the diagonal, backward to it.
  if (m > 65535) throw OutOfBudget{};  // a pair's index must fit 32 bits
  std::vector<std::vector<size_t>> before(m);  // predecessors within the component
  for (size_t i = 0; i < m; ++i)
    for (size_t t : inside[i]) before[t].push_back(i);
  // Marks are stamped (kept between searches, never cleared): a search
  // costs what it visits, not the square's size.
  square_dense_ = m * m <= kMaxProduct;
  if (square_dense_ && square_.size() < 2 * m * m) square_.resize(2 * m * m);
  sparse_square_.clear();
  const uint32_t forward_mark = ++square_search_, backward_mark = ++square_search_;
  auto mark_of = [&](size_t key) { return square_mark(key).first; };
  auto parent_of = [&](size_t key) { return square_mark(key).second; };
  auto search = [&](const std::vector<std::vector<size_t>>& moves, bool forwards, size_t base, uint32_t mark) {
    std::vector<size_t> queue;
    for (size_t i = 0; i < m; ++i) set_mark(base + i * m + i, mark, i * m + i), queue.push_back(i * m + i);
    for (size_t k = 0; k < queue.size(); ++k) {
      const size_t a = queue[k] / m, b = queue[k] % m;
      for (size_t x : moves[a])
        for (size_t y : moves[b]) {
          step();
          const size_t pair = x * m + y;
          // The pair's bytes are those of the pair entered: (x, y) going
          // forward, (a, b) going backward.
          if (!common(scc[forwards ? x : a], scc[forwards ? y : b]).any() || mark_of(base + pair) == mark) continue;
          // A witness's pairs are all reached forward: backward, only those
          // (a wide fan-in, as every keyword's end before one separator,
          // has many more pairs that reach the diagonal).
          if (!forwards && mark_of(pair) != forward_mark) continue;
          set_mark(base + pair, mark, queue[k]);
          queue.push_back(pair);
        }
    }
    return queue;
  };
  const std::vector<size_t> reached = search(inside, true, 0, forward_mark);
  if (reached.size() == m) return std::nullopt;  // no pair off the diagonal: one path per word
  search(before, false, m * m, backward_mark);
  auto forward = [&](size_t pair) { return parent_of(pair); };
  auto backward = [&](size_t pair) { return parent_of(m * m + pair); };
  int tried = 0;
  suffix_exhausted_ = false;
  for (size_t pair : reached) {
    if (pair / m == pair % m || mark_of(m * m + pair) != backward_mark) continue;
    // Past a few witnesses: when each attack matched on its prefix or pump
    // (the engine's first path succeeds), the loop is safe; when a suffix
    // search ran out, it is not proven safe: unproven.
    if (tried >= kMaxWitnesses) {
      if (suffix_exhausted_) throw OutOfBudget{};
      break;
    }
    // The pump: diagonal (p, p) to the pair, on to a diagonal (q, q), then q back to p.
    std::string out, back;
    size_t v = pair;
    while (forward(v) != v) {
      out += static_cast<char>(pick(common(scc[v / m], scc[v % m])));
      v = forward(v);
    }
    std::reverse(out.begin(), out.end());
    const State p = scc[v / m];
    for (v = pair; backward(v) != v;) {
      v = backward(v);
      back += static_cast<char>(pick(common(scc[v / m], scc[v % m])));
    }
    const State q = scc[v / m];
    const std::string pump = out + back + loop_path(local, q, p);
    if (auto f = attack(BacktrackingFinding::Complexity::exponential, p, pump)) {
      f->sub_pattern = text_of(scc);
      f->reason = kExponentialReason;
      return f;
    }
    ++tried;  // each attack costs a simulation, and they rarely differ
  }
  return std::nullopt;
}

// Two parallel steps p -> t in the loop ((a+)+): two paths back to p on one
// word. Sorts `inside`.
std::optional<BacktrackingFinding> Analysis::parallel_steps(const std::vector<State>& scc,
                                                            const std::unordered_map<State, size_t>& local,
                                                            std::vector<std::vector<size_t>>& inside) {
  for (size_t i = 0; i < scc.size(); ++i) {
    auto& succ = inside[i];
    std::sort(succ.begin(), succ.end());
    auto twice = std::adjacent_find(succ.begin(), succ.end());
    if (twice == succ.end()) continue;
    const size_t t = *twice;
    const int c = pick(common(scc[t], scc[t]));
    if (c < 0) continue;
    std::string pump(1, static_cast<char>(c));
    pump += loop_path(local, scc[t], scc[i]);
    if (auto f = attack(BacktrackingFinding::Complexity::exponential, scc[i], pump)) {
      f->sub_pattern = text_of(scc);
      f->reason = kExponentialReason;
      return f;
    }
  }
  return std::nullopt;
}

// A shortcut for wide loops (a trie of keywords or'ed with a class under a
// star): the first few pairs off the square's diagonal, in breadth-first
// order from it, each followed by a small search back to the diagonal. A
// witness found this way is checked by its attack like any other; finding
// none proves nothing, and exponential() goes on with the complete search.
std::optional<BacktrackingFinding> Analysis::quick_witness(const std::vector<State>& scc,
                                                           const std::unordered_map<State, size_t>& local,
                                                           const std::vector<std::vector<size_t>>& inside) {
  constexpr size_t kQuickPairs = 4096;  // pairs each search visits past those it starts from
  const size_t m = scc.size();
  auto bytes = [&](uint64_t pair) { return common(scc[pair / m], scc[pair % m]); };
  // From `from` along pairs both of whose states read a common byte, until
  // `stop` holds or kQuickPairs are visited: the path, or empty. Breadth
  // first, or depth first (a way back down a deep trie, found before the
  // budget goes on its breadth).
  auto search = [&](const std::vector<uint64_t>& from, bool depth_first, auto&& stop) {
    std::unordered_map<uint64_t, uint64_t> parent;
    std::vector<uint64_t> queue;
    step(from.size() * kSparseCost);
    for (uint64_t s : from) parent.emplace(s, s), queue.push_back(s);
    for (size_t k = 0; k < queue.size() && parent.size() < from.size() + kQuickPairs; ++k) {
      uint64_t at = queue[k];
      if (depth_first) at = queue.back(), queue.pop_back(), --k;
      const size_t a = at / m, b = at % m;
      for (size_t x : inside[a])
        for (size_t y : inside[b]) {
          step();
          const uint64_t pair = uint64_t(x) * m + y;
          if (!bytes(pair).any()) continue;
          step(kSparseCost);
          if (parent.count(pair)) continue;
          parent.emplace(pair, at);
          if (stop(pair)) {
            std::vector<uint64_t> path{pair};
            while (parent.at(path.back()) != path.back()) path.push_back(parent.at(path.back()));
            std::reverse(path.begin(), path.end());
            return path;
          }
          queue.push_back(pair);
        }
    }
    return std::vector<uint64_t>{};
  };
  std::vector<uint64_t> diagonal;
  for (size_t i = 0; i < m; ++i) diagonal.push_back(uint64_t(i) * m + i);
  std::vector<uint64_t> off;  // off-diagonal pairs, in the order reached
  search(diagonal, false, [&](uint64_t pair) {
    if (pair / m != pair % m) off.push_back(pair);
    return off.size() >= size_t(kMaxWitnesses);
  });
  for (uint64_t pair : off) {
    // The path from the diagonal to `pair`, then on from it to the diagonal.
    const std::vector<uint64_t> out = search(diagonal, false, [&](uint64_t p) { return p == pair; });
    const std::vector<uint64_t> back = search({pair}, true, [&](uint64_t p) { return p / m == p % m; });
    if (out.empty() || back.empty()) continue;
    std::string pump;
    for (size_t i = 1; i < out.size(); ++i) pump += static_cast<char>(pick(bytes(out[i])));
    for (size_t i = 1; i < back.size(); ++i) pump += static_cast<char>(pick(bytes(back[i])));
    const State p = scc[out.front() / m], q = scc[back.back() / m];
    pump += loop_path(local, q, p);
    if (auto f = attack(BacktrackingFinding::Complexity::exponential, p, pump)) {
      f->sub_pattern = text_of(scc);
      f->reason = kExponentialReason;
      return f;
    }
  }
  return std::nullopt;
}

// A word from `from` to `to` within the component (empty when equal).
std::string Analysis::loop_path(const std::unordered_map<State, size_t>& local, State from, State to) {
  std::unordered_map<State, std::pair<State, int>> parent{{from, {from, -1}}};
  std::vector<State> queue{from};
  for (size_t i = 0; i < queue.size() && !parent.count(to); ++i)
    for (State t : nfa_.next[queue[i]]) {
      step();
      const int c = pick(common(t, t));
      if (c < 0 || !local.count(t) || parent.count(t)) continue;
      parent[t] = {queue[i], c};
      queue.push_back(t);
    }
  std::string word;
  for (State v = to; v != from && parent.count(v); v = parent[v].first) word += static_cast<char>(parent[v].second);
  std::reverse(word.begin(), word.end());
  return word;
}

// The attack through `p` with `pump`, when one fails to match: the shortest
// prefix to p, or that prefix and one more byte p loops on (the search's own
// loop reads anything, and a prefix that starts a match must be avoided).
std::optional<BacktrackingFinding> Analysis::attack(BacktrackingFinding::Complexity complexity, State p,
                                                    const std::string& pump) {
  auto prefix = prefix_to(p);
  if (!prefix) return std::nullopt;
  std::vector<std::string> prefixes{*prefix};
  if (std::binary_search(distinct_next_[p].begin(), distinct_next_[p].end(), p))  // p loops on itself
    for (int c : byte_classes())
      if (bytes_of_[p].test(static_cast<size_t>(c))) prefixes.push_back(*prefix + static_cast<char>(c));
  for (const auto& tried : prefixes)
    if (auto suffix = failing_suffix(tried, pump, p == Nfa::kSearch)) {
      BacktrackingFinding f;
      f.complexity = complexity;
      f.prefix = tried;
      f.pump = pump;
      f.suffix = *suffix;
      return f;
    }
  return std::nullopt;
}

// One byte per class of bytes the automaton cannot tell apart.
const std::vector<int>& Analysis::byte_classes() {
  if (!classes_.empty()) return classes_;
  std::vector<Symbols> distinct;  // the states' sets, each once: usually a handful
  for (const Symbols& set : bytes_of_)
    if (std::find(distinct.begin(), distinct.end(), set) == distinct.end()) distinct.push_back(set);
  std::set<std::vector<bool>> signatures;
  for (int c : byte_preference()) {
    std::vector<bool> sig(distinct.size());
    for (size_t k = 0; k < distinct.size(); ++k) sig[k] = distinct[k].test(static_cast<size_t>(c));
    if (signatures.insert(std::move(sig)).second) classes_.push_back(c);
  }
  return classes_;
}

// Polynomial step from component `from` to `to`: states p in one, q in the
// other, and a word w with p->p, p->q and q->q, found in the cube (a, b, c)
// from (p, p, q) to (p, q, q).
bool Analysis::ida(size_t from, size_t to, std::string& pump, State& p_out) {
  const auto& c1 = sccs_[from];
  const auto& c2 = sccs_[to];
  // The cube over (C1, the states between, C2), indexed densely; marks are
  // stamped per search, so nothing is cleared between the searches.
  step(nfa_.size());  // the per-state tables below
  const std::vector<bool> after_c1 = reachable(c1, distinct_next_), before_c2 = reachable(c2, previous_);
  std::vector<int> between_index(nfa_.size(), -1);
  std::vector<State> between;  // where the middle path can be: after C1 and before C2
  for (State s = 0; s < nfa_.size(); ++s)
    if (after_c1[s] && before_c2[s]) between_index[s] = static_cast<int>(between.size()), between.push_back(s);
  std::vector<int> in1(nfa_.size(), -1), in2(nfa_.size(), -1);
  for (size_t i = 0; i < c1.size(); ++i) in1[c1[i]] = static_cast<int>(i);
  for (size_t i = 0; i < c2.size(); ++i) in2[c2[i]] = static_cast<int>(i);
  const size_t nb = between.size(), n2 = c2.size();
  if (c1.size() == 1 && c1[0] == Nfa::kSearch) return search_ida(c2, between, between_index, in2, pump, p_out);
  auto index = [&](State a, State b, State c) { return (size_t(in1[a]) * nb + size_t(between_index[b])) * n2 + size_t(in2[c]); };
  // Dense marks, reused by every search of this analysis (stamps only grow,
  // so nothing is cleared), while the cube fits kMaxProduct; else hashed.
  cube_dense_ = c1.size() * nb * n2 <= kMaxProduct;
  if (cube_dense_ && cube_stamp_.size() < c1.size() * nb * n2) {
    cube_stamp_.resize(c1.size() * nb * n2, 0);
    cube_parent_.resize(cube_stamp_.size());
  }
  uint32_t& search = cube_search_;
  using Triple = std::tuple<State, State, State>;
  for (State p : c1)
    for (State q : c2) {
      if (p == q) continue;
      ++search;
      const Triple start{p, p, q}, goal{p, q, q};
      std::vector<Triple> queue{start};
      sparse_cube_.clear();
      cube_mark(index(p, p, q), 0);
      size_t found = 0;  // the goal's place in the queue
      for (size_t i = 0; i < queue.size() && !found; ++i) {
        auto [a, b, c] = queue[i];
        for (State a2 : distinct_next_[a]) {
          step();
          if (in1[a2] < 0) continue;
          for (State b2 : distinct_next_[b]) {
            step();
            if (between_index[b2] < 0) continue;
            const Symbols ab = common(a2, b2);
            if (!ab.any()) continue;
            for (State c2s : distinct_next_[c]) {
              step();
              if (in2[c2s] < 0 || !(ab & bytes_of_[c2s]).any()) continue;
              const size_t at = index(a2, b2, c2s);
              if (cube_seen(at)) continue;
              cube_mark(at, i);
              queue.push_back({a2, b2, c2s});
              if (Triple{a2, b2, c2s} == goal) found = queue.size() - 1;
            }
          }
        }
      }
      if (!found) continue;
      std::string word;  // each step's byte: one all three states it enters read
      for (size_t at = found; at != 0;) {
        auto [a, b, c] = queue[at];
        word += static_cast<char>(pick(common(a, b) & bytes_of_[c]));
        at = cube_parent(index(a, b, c));
      }
      std::reverse(word.begin(), word.end());
      pump = std::move(word);
      p_out = p;
      return true;
    }
  return false;
}

// ida() from the search's own loop, which reads any byte: one search in the
// square (b, c), b on the way in, c in C2, from every (kSearch, q) at once to
// any (x, x). Found on w: kSearch -> x and q -> x on w, so with z a word
// x -> q in C2, kSearch -> kSearch, kSearch -> x and x -> x on z w. Linear in
// the pairs reached, where a search per q would be quadratic in C2's size.
bool Analysis::search_ida(const std::vector<State>& c2, const std::vector<State>& between,
                          const std::vector<int>& between_index, const std::vector<int>& in2, std::string& pump,
                          State& p_out) {
  const size_t n2 = c2.size();
  auto key = [&](State b, State c) { return uint64_t(between_index[b]) * n2 + uint64_t(in2[c]); };
  std::unordered_map<uint64_t, uint64_t> parent;  // pair: the pair before it (a start: itself)
  std::vector<std::pair<State, State>> queue;
  step(n2 * kSparseCost);
  for (State q : c2) {
    parent.emplace(key(Nfa::kSearch, q), key(Nfa::kSearch, q));
    queue.push_back({Nfa::kSearch, q});
  }
  for (size_t i = 0; i < queue.size(); ++i) {
    const auto [b, c] = queue[i];
    for (State b2 : distinct_next_[b]) {
      step();
      if (between_index[b2] < 0 || !bytes_of_[b2].any()) continue;
      for (State c2s : distinct_next_[c]) {
        step();
        if (in2[c2s] < 0 || !common(b2, c2s).any()) continue;
        step(kSparseCost);
        if (!parent.emplace(key(b2, c2s), key(b, c)).second) continue;
        if (parent.size() > kMaxProduct) throw OutOfBudget{};
        if (b2 != c2s) {
          queue.push_back({b2, c2s});
          continue;
        }
        // (x, x): the word back to a start, then z from x to that start's q.
        std::string word;
        uint64_t at = key(b2, c2s);
        while (parent.at(at) != at) {
          const State b1 = between[at / n2], c1s = c2[at % n2];
          word += static_cast<char>(pick(common(b1, c1s)));
          at = parent.at(at);
        }
        std::reverse(word.begin(), word.end());
        std::unordered_map<State, size_t> local;
        step(n2 * kSparseCost);
        for (size_t k = 0; k < n2; ++k) local[c2[k]] = k;
        pump = loop_path(local, c2s, c2[at % n2]) + word;
        p_out = Nfa::kSearch;
        return true;
      }
    }
  }
  return false;
}

std::optional<BacktrackingFinding> Analysis::run() {
  components();
  for (const auto& scc : sccs_)
    if (auto f = exponential(scc)) return f;
  // Which components reach which (through any states).
  const size_t k = sccs_.size();
  std::vector<std::vector<bool>> reaches(k, std::vector<bool>(k, false));
  for (size_t i = 0; i < k; ++i) {
    const std::vector<bool> seen = reachable(sccs_[i], distinct_next_);
    step(nfa_.size());
    for (State s = 0; s < nfa_.size(); ++s)
      if (seen[s] && scc_of_[s] >= 0 && static_cast<size_t>(scc_of_[s]) != i) reaches[i][scc_of_[s]] = true;
  }
  // The polynomial steps that an attack can hold open, then the longest
  // chain of them (components are sinks first: a chain's tail comes first).
  std::vector<int> chain(k, 0);
  std::optional<BacktrackingFinding> best;
  for (size_t i = 0; i < k; ++i) {
    for (size_t j = 0; j < k; ++j) {
      if (!reaches[i][j]) continue;
      std::string pump;
      State p = 0;
      if (!ida(i, j, pump, p)) continue;
      auto f = attack(BacktrackingFinding::Complexity::polynomial, p, pump);
      if (!f) continue;
      chain[i] = std::max(chain[i], chain[j] + 1);
      if (best && best->degree >= chain[i] + 1) continue;
      f->degree = chain[i] + 1;
      const bool search = sccs_[i].front() == Nfa::kSearch;
      f->sub_pattern = search ? text_of(sccs_[j]) : text_of(sccs_[i]) + " and " + text_of(sccs_[j]);
      f->reason = search ? "the loop can take over input that the search for a start tried, so each start position "
                           "costs time linear in the input"
                         : "the two loops can hand the same input to each other, so a failing match tries every split "
                           "between them";
      best = std::move(f);
    }
  }
  return best;
}

}  // namespace

std::optional<BacktrackingFinding> find_superlinear(std::string_view pattern, const BacktrackingOptions& options) {
  auto unproven = [&](std::string reason) {
    BacktrackingFinding f;
    f.sub_pattern = std::string(pattern);
    f.reason = std::move(reason);
    return f;
  };
  const PatternTree tree = PatternTree::parse(pattern);
  if (!tree.root())
    return unproven("the pattern could not be analysed (a backreference, unsupported syntax, or nesting deeper than " +
                    std::to_string(PatternTree::kMaxNesting) + " groups)");
  auto nfa = build_nfa(tree, options.max_states, options.max_edges);
  if (!nfa)
    return unproven("could not be proven safe: its automaton has more than " + std::to_string(options.max_states) +
                    " states or " + std::to_string(options.max_edges) + " steps (bounded repetitions unrolled)");
  try {
    return Analysis(*nfa, tree, pattern, options).run();
  } catch (const OutOfBudget&) {
    return unproven("could not be proven safe within the analysis budget (" + std::to_string(options.max_steps) +
                    " steps)");
  }
}

}  // namespace invar::regex
