// Selectors: the RFC 9535 JSONPath subset invar supports.
//
//   $            the artifact's root        @           the current `each` element
//   .name        a member by name           ['name']    the same, any characters
//   [n]          an array element (n < 0 counts from the end)
//   [*] or .*    every element of an array or every member value of an object
//   [?expr]      the elements (member values) for which the filter holds
//                (selector/filter.hpp: comparisons, && || !, length() ...)
//
// Anything else (descendants "..", slices, unions) is refused at compile
// time with the column of the offending character. Evaluation recurses only
// over the selector's segments (at most kMaxSegments) and filters' nesting
// (at most kMaxFilterNesting), never over the document's depth.
#pragma once

#include "common/dom.hpp"
#include <simdjson.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "invar/invar.hpp"
#include "selector/filter.hpp"

namespace invar::selector {

inline constexpr size_t kMaxSegments = 64;

// A path from the root to a selected node: keys point into the parsed document.
struct PathSegment {
  std::string_view key;
  uint64_t index = 0;
  bool is_index = false;
};
using Path = std::vector<PathSegment>;

std::string to_pointer(const Path& path);

class Selector {
 public:
  // `relative` selectors start with "@", absolute ones with "$".
  static Result<Selector> compile(std::string_view text);

  // For filters: the query that starts at text[at] ('@' or '$'), ending
  // before the first character that cannot continue it; `at` is moved past
  // it. `nesting`: filters around it; `outer_relative`: the selector holding
  // the filter is relative.
  static Result<Selector> parse_embedded(std::string_view text, size_t& at, int nesting, bool outer_relative);

  bool relative() const { return relative_; }
  // True when the selector selects at most one node (no wildcard, no filter).
  bool singular() const { return singular_; }
  const std::string& text() const { return text_; }

  // Calls visit(element, path) for each selected node, in document order;
  // or visit(element, path, parent) with the node's parent element (the
  // node itself for "$" or "@"). `path` holds the location of `start` on
  // entry and is restored on return.
  template <class Visit>
  void select(simdjson::dom::element start, Path& path, Visit&& visit) const {
    walk_to(0, segments_.size(), start, start, start, path, visit);
  }

  // The number of nodes select() would visit. A final wildcard is counted
  // from its parents' sizes, without visiting the members.
  uint64_t count(simdjson::dom::element start, Path& path) const {
    uint64_t n = 0;
    if (segments_.empty() || segments_.back().kind != Kind::wildcard) {
      auto one = [&](simdjson::dom::element, const Path&) { ++n; };
      walk_to(0, segments_.size(), start, start, start, path, one);
      return n;
    }
    auto parents = [&](simdjson::dom::element parent, const Path&) {
      if (parent.type() == simdjson::dom::element_type::ARRAY) n += invar::sj::array_of(parent).size();
      else if (parent.type() == simdjson::dom::element_type::OBJECT) n += invar::sj::object_of(parent).size();
    };
    walk_to(0, segments_.size() - 1, start, start, start, path, parents);
    return n;
  }

  // For reading an array member of the root in batches (engine/stream.cpp).
  // The member the first segment names ("records" for $.records[*].name), or
  // empty when the first segment is not a name (or there is none).
  std::string_view first_name() const {
    return !segments_.empty() && segments_[0].kind == Kind::name ? std::string_view(segments_[0].name) : std::string_view();
  }
  // The number of segments.
  size_t depth() const { return segments_.size(); }
  // True when segment `at` is a wildcard or a filter: it selects elements one
  // by one, each on its own merits.
  bool selects_each_at(size_t at) const {
    return at < segments_.size() && (segments_[at].kind == Kind::wildcard || segments_[at].kind == Kind::filter);
  }
  // True when a filter may look at "$" (any "$" past the first character:
  // a string literal holding one counts too).
  bool may_use_root() const { return text_.find('$', relative_ ? 0 : 1) != std::string::npos; }

  // At least count(), cheaply: trailing name and index segments select at
  // most one node per parent, so the count of the selector without them
  // bounds it ($.records[*].name: the size of $.records).
  uint64_t count_at_most(simdjson::dom::element start, Path& path) const {
    size_t end = segments_.size();
    while (end > 0 && (segments_[end - 1].kind == Kind::name || segments_[end - 1].kind == Kind::index)) --end;
    if (end == segments_.size()) return count(start, path);
    Selector prefix = *this;
    prefix.segments_.resize(end);
    return prefix.count(start, path);
  }

 private:
  enum class Kind { name, index, wildcard, filter };
  struct Segment {
    Kind kind;
    std::string name;
    int64_t index = 0;
    std::shared_ptr<const Filter> filter = {};
  };

  static Result<Selector> parse(std::string_view text, size_t& at, int nesting, bool embedded, bool outer_relative);

  // Walks segments [at, end) and visits what they select; `root` is what a
  // filter's "$" means (the start of an absolute selector).
  template <class Visit>
  void walk_to(size_t at, size_t end, simdjson::dom::element el, simdjson::dom::element parent,
               simdjson::dom::element root, Path& path, Visit& visit) const {
    using simdjson::dom::element_type;
    if (at == end) {
      if constexpr (std::is_invocable_v<Visit&, simdjson::dom::element, const Path&, simdjson::dom::element>)
        visit(el, static_cast<const Path&>(path), parent);
      else
        visit(el, static_cast<const Path&>(path));
      return;
    }
    const Segment& seg = segments_[at];
    switch (seg.kind) {
      case Kind::name: {
        if (el.type() != element_type::OBJECT) return;
        for (auto field : invar::sj::object_of(el)) {
          if (field.key == seg.name) {
            path.push_back({field.key, 0, false});
            walk_to(at + 1, end, field.value, el, root, path, visit);
            path.pop_back();
            return;
          }
        }
        return;
      }
      case Kind::index: {
        if (el.type() != element_type::ARRAY) return;
        auto arr = invar::sj::array_of(el);
        int64_t size = static_cast<int64_t>(arr.size());
        int64_t i = seg.index < 0 ? size + seg.index : seg.index;
        if (i < 0 || i >= size) return;
        auto child = arr.at(static_cast<size_t>(i));
        if (child.error()) return;
        path.push_back({{}, static_cast<uint64_t>(i), true});
        walk_to(at + 1, end, child.value_unsafe(), el, root, path, visit);
        path.pop_back();
        return;
      }
      case Kind::wildcard: {
        // One segment for all the members, rewritten for each (the walk
        // below restores the path to it).
        if (el.type() == element_type::ARRAY) {
          uint64_t i = 0;
          path.push_back({{}, 0, true});
          for (auto child : invar::sj::array_of(el)) {
            path.back().index = i++;
            walk_to(at + 1, end, child, el, root, path, visit);
          }
          path.pop_back();
        } else if (el.type() == element_type::OBJECT) {
          path.push_back({{}, 0, false});
          for (auto field : invar::sj::object_of(el)) {
            path.back().key = field.key;
            walk_to(at + 1, end, field.value, el, root, path, visit);
          }
          path.pop_back();
        }
        return;
      }
      case Kind::filter: {
        if (el.type() == element_type::ARRAY) {
          uint64_t i = 0;
          for (auto child : invar::sj::array_of(el)) {
            if (seg.filter->test(child, root)) {
              path.push_back({{}, i, true});
              walk_to(at + 1, end, child, el, root, path, visit);
              path.pop_back();
            }
            ++i;
          }
        } else if (el.type() == element_type::OBJECT) {
          for (auto field : invar::sj::object_of(el)) {
            if (!seg.filter->test(field.value, root)) continue;
            path.push_back({field.key, 0, false});
            walk_to(at + 1, end, field.value, el, root, path, visit);
            path.pop_back();
          }
        }
        return;
      }
    }
  }

  std::string text_;
  bool relative_ = false;
  bool singular_ = true;
  std::vector<Segment> segments_;
};

}  // namespace invar::selector
