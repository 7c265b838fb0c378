// Batch-by-batch judges (invariants/streamed.hpp). Each keeps only what its
// invariant needs across elements: a count, a set of identity hashes, or the
// steps a schema has taken; never the elements themselves.
#include "invariants/streamed.hpp"

#include <optional>
#include <vector>

#include "common/dom.hpp"
#include "invariants/identity.hpp"

namespace invar::invariants {

using simdjson::dom::element;

namespace {

// Selects elements of `member` one by one, each on its own merits ("": of
// the root, an array: NDJSON's records).
bool under(const selector::Selector& s, std::string_view member) {
  if (s.relative() || s.may_use_root()) return false;
  return member.empty() ? s.selects_each_at(0) : s.first_name() == member && s.selects_each_at(1);
}
// Never reaches `member`: starts at another member of the root.
bool apart(const selector::Selector& s, std::string_view member) {
  return !member.empty() && !s.relative() && !s.first_name().empty() && s.first_name() != member &&
         !s.may_use_root();
}
bool local(const selector::Selector& s) { return s.relative() && !s.may_use_root(); }
bool all_local(const std::vector<selector::Selector>& key) {
  for (const auto& s : key)
    if (!local(s)) return false;
  return true;
}

// Each element of the batch judged alone, as the whole document would judge
// it: `each` invariants over the member, and node-by-node kinds (schema on
// elements, match, not_match, regex_safe). max_selector_matches counts across
// batches.
class PerBatch : public Streamed {
 public:
  PerBatch(const Invariant& inv, const EvalContext& ctx) : inv_(inv), ctx_(ctx) {}
  bool batch(element root, uint64_t) override {
    if (!inv_.each) {
      // A bound first ($.records[*].type: the size of $.records, O(1)); the
      // count walk only near the limit. An overestimate can only end the
      // batched check early (the whole document then judges), never pass it.
      selector::Path path;
      uint64_t n = inv_.target.count_at_most(root, path);
      if (selected_ + n > ctx_.limits->max_selector_matches) n = inv_.target.count(root, path);
      selected_ += n;
      if (selected_ > ctx_.limits->max_selector_matches) return false;
    }
    std::vector<Violation> found;
    return invariants::evaluate(inv_, root, ctx_, found) == 0;
  }
  bool merge(Streamed& other) override {
    selected_ += static_cast<PerBatch&>(other).selected_;
    return selected_ <= ctx_.limits->max_selector_matches;
  }
  bool finish(element) override { return true; }

 private:
  const Invariant& inv_;
  const EvalContext& ctx_;
  uint64_t selected_ = 0;
};

class Count : public Streamed {
 public:
  explicit Count(const Invariant& inv) : inv_(inv) {}
  bool batch(element root, uint64_t) override {
    selector::Path path;
    n_ += inv_.target.count(root, path);
    return !(inv_.effective_max && n_ > *inv_.effective_max);
  }
  bool merge(Streamed& other) override {
    n_ += static_cast<Count&>(other).n_;
    return !(inv_.effective_max && n_ > *inv_.effective_max);
  }
  bool finish(element) override {
    return !(inv_.min && n_ < *inv_.min) && !(inv_.effective_max && n_ > *inv_.effective_max);
  }

 private:
  const Invariant& inv_;
  uint64_t n_ = 0;
};

// A set of identity hashes that grows, charged to the check's memory budget.
class GrowingSet {
 public:
  explicit GrowingSet(const EvalContext& ctx) : charge_(ctx.memory) {}
  // Sized for `expected` values at first use (more only cost the growth).
  bool ready(uint64_t expected = 0) {
    if (set_) return true;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(expected, uint64_t{1} << 32));
    if (!charge_.take(HashSet::slots_for(n) * sizeof(uint64_t))) return false;
    set_.emplace(n);
    return true;
  }
  void prefetch(uint64_t h) const { set_->prefetch(h); }
  // False when the budget is spent; `fresh` says whether `h` was new.
  bool insert(uint64_t h, bool& fresh) {
    if (!ready()) return false;
    if (set_->full(1)) {
      if (!charge_.take(set_->grown_bytes() / 2)) return false;
      set_->grow();
    }
    fresh = set_->insert(h);
    return true;
  }
  bool contains(uint64_t h) const { return set_ && set_->contains(h); }
  // Adds `other`'s hashes; false when the budget is spent, or (`disjoint`)
  // when one was here already.
  bool absorb(const GrowingSet& other, bool disjoint) {
    if (!other.set_) return true;
    bool ok = ready(other.set_->size());
    // Room for both first: `other` yields its hashes in slot order, which is
    // this set's probe order too, and inserting them sorted into a set past
    // 3/4 full piles them into one ever longer cluster (quadratic: 7 s
    // instead of 1.5 for 1.2M names on two threads).
    while (ok && set_->full(other.set_->size())) {
      ok = charge_.take(set_->grown_bytes() / 2);
      if (ok) set_->grow();
    }
    other.set_->for_each([&](uint64_t h) {
      bool fresh = false;
      if (ok) ok = insert(h, fresh) && (fresh || !disjoint);
    });
    return ok;
  }

 private:
  Charge charge_;
  std::optional<HashSet> set_;
};

// unique: one set of hashes across batches; a repeated hash is not proven
// a repeat (it may be a collision), so it sends the check to the whole document.
class Unique : public Streamed {
 public:
  Unique(const Invariant& inv, const EvalContext& ctx, unsigned workers)
      : inv_(inv), ctx_(ctx), seen_(ctx), workers_(workers) {}
  bool batch(element root, uint64_t bytes) override {
    selector::Path path;
    const uint64_t at_most = inv_.target.count_at_most(root, path);
    at_most_ += at_most;
    // Sized once for this judge's share of the file, by the first batch's density.
    if (!seen_.ready(std::min(at_most * (ctx_.artifact_bytes / std::max<uint64_t>(bytes, 1) + 1) / workers_,
                              ctx_.limits->max_selector_matches)))
      return false;
    hashes_.clear();
    bool ok = true;
    inv_.target.select(root, path, [&](element e, const selector::Path&) {
      if (!ok) return;
      if (++n_ > ctx_.limits->max_selector_matches) ok = false;
      else hashes_.push_back(identity_hash(inv_.key, e));
    });
    // The set is larger than the caches: fetch slots a few values ahead.
    constexpr size_t kAhead = 16;
    for (size_t i = 0; ok && i < hashes_.size(); ++i) {
      if (i + kAhead < hashes_.size()) seen_.prefetch(hashes_[i + kAhead]);
      bool fresh = false;
      ok = seen_.insert(hashes_[i], fresh) && fresh;
    }
    return ok;
  }
  bool merge(Streamed& other) override {
    auto& o = static_cast<Unique&>(other);
    n_ += o.n_;
    at_most_ += o.at_most_;
    return n_ <= ctx_.limits->max_selector_matches && seen_.absorb(o.seen_, true);
  }
  // What the whole-document judge sizes its set by, taken on top.
  bool finish(element) override {
    uint64_t expected = std::min(at_most_, ctx_.limits->max_selector_matches);
    return whole_.take(HashSet::slots_for(static_cast<size_t>(expected)) * sizeof(uint64_t) + kRepeatReserveBytes);
  }

 private:
  const Invariant& inv_;
  const EvalContext& ctx_;
  GrowingSet seen_;
  Charge whole_{ctx_.memory};
  std::vector<uint64_t> hashes_;  // one batch's (as large as its elements, not the file)
  unsigned workers_;
  uint64_t n_ = 0, at_most_ = 0;
};

// refs: the hashes of the values referred to (from the batches or the
// skeleton) and of the references (from the batches), compared at the end. A
// reference to an absent value whose hash equals a present one's would pass:
// odds of 2^-64 per pair (docs/contract-language.md).
class Refs : public Streamed {
 public:
  Refs(const Invariant& inv, const EvalContext& ctx, std::string_view member)
      : inv_(inv), ctx_(ctx), charge_(ctx.memory), known_(ctx), in_member_(under(*inv.refs_in, member)) {}
  bool batch(element root, uint64_t) override {
    bool ok = true;
    selector::Path path;
    inv_.target.select(root, path, [&](element e, const selector::Path&) {
      if (!ok) return;
      if (++n_ > ctx_.limits->max_selector_matches) ok = false;
      else if (references_.size() == references_.capacity() && !grow()) ok = false;
      else references_.push_back(identity_hash(inv_.key, e));
    });
    return ok && (!in_member_ || known(root));
  }
  bool merge(Streamed& other) override {
    auto& o = static_cast<Refs&>(other);
    n_ += o.n_;
    referred_ += o.referred_;
    if (n_ > ctx_.limits->max_selector_matches || !known_.absorb(o.known_, false)) return false;
    if (!charge_.take(o.references_.size() * sizeof(uint64_t))) return false;
    references_.reserve(references_.size() + o.references_.size());  // what was charged, not a doubling
    references_.insert(references_.end(), o.references_.begin(), o.references_.end());
    return true;
  }
  bool finish(element skeleton) override {
    if (!in_member_ && !known(skeleton)) return false;
    // What the whole-document judge charges for its index, taken on top.
    if (!charge_.take((referred_ + 4095) / 4096 * 4096 * kWholeEntryBytes)) return false;
    for (uint64_t h : references_)
      if (!known_.contains(h)) return false;
    return true;
  }

 private:
  bool grow() {
    size_t more = std::max<size_t>(4096, references_.capacity());
    if (!charge_.take(more * sizeof(uint64_t))) return false;
    references_.reserve(references_.capacity() + more);
    return true;
  }
  // Adds the values referred to in `root`; a composite key lacking a
  // component resolves nothing, as in the whole-document judge.
  bool known(element root) {
    bool ok = true;
    selector::Path path;
    inv_.refs_in->select(root, path, [&](element e, const selector::Path&) {
      if (!ok) return;
      ++referred_;
      bool complete = true, fresh = false;
      uint64_t h = identity_hash(inv_.in_key, e, &complete);
      if (complete) ok = known_.insert(h, fresh);
    });
    return ok;
  }

  const Invariant& inv_;
  const EvalContext& ctx_;
  Charge charge_;
  GrowingSet known_;
  bool in_member_;
  std::vector<uint64_t> references_;
  uint64_t n_ = 0, referred_ = 0;
  static constexpr uint64_t kWholeEntryBytes = 64;  // RefsIndex::kEntryBytes
};

// A schema on "$" split: each element against the items schema (at the
// depth it has under the root), the element count against the member's
// minItems/maxItems, then the skeleton against the root less those; the
// steps of all count against max_eval_steps as one evaluation's would.
class SplitSchema : public Streamed {
 public:
  SplitSchema(const EvalContext& ctx, schema::Validator::MemberSplit split, std::string_view member)
      : ctx_(ctx), split_(std::move(split)), member_(member) {}
  bool batch(element root, uint64_t) override {
    simdjson::dom::array array;
    if ((member_.empty() ? root.get(array) : root.at_key(member_).get(array)) != simdjson::SUCCESS) return false;
    elements_ += array.size();
    return judged(split_.items->validate_items(array, budget()));
  }
  bool merge(Streamed& other) override {
    auto& o = static_cast<SplitSchema&>(other);
    steps_ += o.steps_;
    elements_ += o.elements_;
    return steps_ <= ctx_.budget.max_steps;
  }
  bool finish(element skeleton) override {
    if (elements_ < split_.min_items || (split_.max_items && elements_ > *split_.max_items)) return false;
    return judged(split_.root->validate(skeleton, budget()));
  }

 private:
  schema::Budget budget() const {
    schema::Budget budget = ctx_.budget;
    budget.pool = nullptr;
    budget.max_steps = budget.max_steps - std::min(steps_, budget.max_steps);
    return budget;
  }
  bool judged(const schema::Outcome& outcome) {
    steps_ += outcome.steps;
    return outcome.valid && outcome.limit.empty() && steps_ <= ctx_.budget.max_steps;
  }

  const EvalContext& ctx_;
  schema::Validator::MemberSplit split_;
  std::string_view member_;
  uint64_t steps_ = 0, elements_ = 0;
};

}  // namespace

StreamRole stream_role(const Invariant& inv, std::string_view member, bool schema_splits) {
  // Without a baseline these are skipped (or fail for want of one) whatever
  // the artifact holds; monotonic alone reads its value.
  if (compares_with_baseline(inv.kind) && inv.kind != Kind::monotonic) return StreamRole::skeleton;
  if (!all_local(inv.key) || !all_local(inv.in_key)) return StreamRole::none;
  if (inv.each) {
    bool inner = local(inv.target) && (!inv.refs_in || local(*inv.refs_in));
    if (apart(*inv.each, member) && (inner || (apart(inv.target, member) && (!inv.refs_in || apart(*inv.refs_in, member)))))
      return StreamRole::skeleton;
    return under(*inv.each, member) && inner ? StreamRole::member : StreamRole::none;
  }
  if (inv.kind == Kind::schema && !inv.target.relative() && inv.target.depth() == 0)
    return schema_splits ? StreamRole::member : StreamRole::none;
  if (apart(inv.target, member) && (!inv.refs_in || apart(*inv.refs_in, member))) return StreamRole::skeleton;
  if (!under(inv.target, member)) return StreamRole::none;
  switch (inv.kind) {
    case Kind::schema:
    case Kind::match:
    case Kind::not_match:
    case Kind::regex_safe:
    case Kind::count:
    case Kind::unique: return StreamRole::member;
    case Kind::refs: return under(*inv.refs_in, member) || apart(*inv.refs_in, member) ? StreamRole::member : StreamRole::none;
    default: return StreamRole::none;  // freshness and monotonic over elements: rare, judged whole
  }
}

std::unique_ptr<Streamed> streamed(const Invariant& inv, const EvalContext& ctx,
                                   const std::optional<schema::Validator::MemberSplit>& split, std::string_view member,
                                   unsigned workers) {
  if (inv.each) return std::make_unique<PerBatch>(inv, ctx);
  switch (inv.kind) {
    case Kind::schema:
      if (split) return std::make_unique<SplitSchema>(ctx, *split, member);
      return std::make_unique<PerBatch>(inv, ctx);
    case Kind::count: return std::make_unique<Count>(inv);
    case Kind::unique: return std::make_unique<Unique>(inv, ctx, std::max(workers, 1u));
    case Kind::refs: return std::make_unique<Refs>(inv, ctx, member);
    default: return std::make_unique<PerBatch>(inv, ctx);
  }
}

}  // namespace invar::invariants
