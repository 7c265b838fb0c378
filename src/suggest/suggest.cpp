// invar suggest: proposals from a Profile, sized by SuggestOptions, merged
// with an existing contract, and verified by replaying the samples through
// the engine (the same judgement `invar backtest` makes).
#include "invar/suggest.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <filesystem>
#include <set>

#include "artifact/reader.hpp"
#include "common/files.hpp"
#include "common/text.hpp"
#include "engine/plan.hpp"
#include "suggest/profile.hpp"

namespace invar {

namespace {

using ojson = nlohmann::ordered_json;
using learn::Field;
using learn::Profile;

Error usage(std::string message) { return Error{ErrorCode::usage, std::move(message), {}}; }

// "$.records[*].type" -> "records.type" (an invariant id).
std::string name_of(const std::string& selector) {
  std::string out;
  for (size_t i = 1; i < selector.size(); ++i) {
    char c = selector[i];
    if (selector.compare(i, 3, "[*]") == 0) {
      i += 2;
      continue;
    }
    if (c == '[' || c == ']' || c == '\'' || c == '\\') continue;
    if (c == '.' && (out.empty() || out.back() == '.')) continue;
    out += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ? c : '_';
  }
  return out.empty() ? "items" : out;
}

// The nearest-rank quantile of `values` (not empty).
double quantile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

std::string percent(double fraction) { return fmt::format("{:.1f}%", fraction * 100); }

std::string spread(std::vector<double> values, bool as_percent) {
  auto show = [&](double v) { return as_percent ? percent(v) : fmt::format("{}", v); };
  return fmt::format("min {}, p50 {}, p90 {}, max {}", show(quantile(values, 0)), show(quantile(values, 0.5)),
                     show(quantile(values, 0.9)), show(quantile(values, 1)));
}

// A duration no shorter than `ms`, written in the largest unit that keeps it exact enough.
std::string duration_text(int64_t ms) {
  int64_t s = std::max<int64_t>(1, (ms + 999) / 1000);
  if (s < 120) return fmt::format("{}s", s);
  if (s < 120 * 60) return fmt::format("{}m", (s + 59) / 60);
  if (s < 48 * 3600) return fmt::format("{}h", (s + 3599) / 3600);
  return fmt::format("{}d", (s + 86399) / 86400);
}

// RE2 text matching `value` literally.
std::string literal(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (std::string_view("\\.+*?()|[]{}^$").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

bool key_like(const std::string& selector) {
  std::string name = name_of(selector);
  name = name.substr(name.rfind('.') + 1);
  for (const char* k : {"id", "key", "name", "uuid", "fqdn", "host", "hostname", "domain", "slug", "code"})
    if (name == k || (name.size() > 3 && (name.ends_with(std::string("_") + k) || name.ends_with(std::string("-") + k))))
      return true;
  return false;
}

struct Builder {
  const Profile& profile;
  const SuggestOptions& options;
  const std::vector<std::optional<int64_t>>& times;
  std::vector<Proposal> proposals;
  std::vector<std::string> notes;
  std::set<std::string> ids;
  size_t n() const { return profile.samples(); }

  void add(std::string kind, const std::string& base, ojson invariant, std::string evidence) {
    std::string id = base;
    for (int k = 2; ids.count(id); ++k) id = base + "-" + std::to_string(k);
    ids.insert(id);
    ojson inv = {{"id", id}};
    for (auto& [key, value] : invariant.items()) inv[key] = value;
    inv["why"] = "suggested from " + std::to_string(n()) + " artifacts: " + evidence;
    proposals.push_back({id, std::move(kind), inv.dump(), std::move(evidence), false});
  }

  std::string limit_rule() const {
    return fmt::format("p{:g} of the changes x {:g} (at least {}%; a shrink limit at most halfway to 100%)",
                       options.quantile * 100, options.margin, options.min_change_percent);
  }

  // A growth limit covering the chosen quantile of `changes`, with margin.
  std::string growth_limit(const std::vector<double>& changes) const {
    double q = quantile(changes, options.quantile);
    double p = std::max<double>(options.min_change_percent, std::ceil(q * 100 * options.margin - 1e-9));
    return fmt::format("{}%", p);
  }
  // A shrink limit: the same, but at most halfway from the quantile to 100%.
  std::string shrink_limit(const std::vector<double>& changes) const {
    double q = quantile(changes, options.quantile);
    double p = std::min(q * 100 * options.margin, q * 100 + (100 - q * 100) / 2);
    p = std::max<double>(options.min_change_percent, std::ceil(p - 1e-9));
    return fmt::format("{}%", std::min(p, 99.0));
  }

  void counts(const Field& f) {
    if (!f.selector.ends_with("[*]") || f.wildcards != 1) return;
    std::vector<double> c(f.counts.begin(), f.counts.end());
    double lo = quantile(c, 0), hi = quantile(c, 1);
    if (hi == 0) return;
    ojson inv = {{"count", f.selector}};
    std::string rule = fmt::format("max = observed max + {} headroom", percent(options.headroom));
    if (lo >= 1) {
      inv["min"] = std::max<uint64_t>(1, static_cast<uint64_t>(std::floor(lo * (1 - options.headroom))));
      rule += fmt::format(", min = observed min - {} (at least 1: never empty)", percent(options.headroom));
    }
    inv["max"] = static_cast<uint64_t>(std::ceil(hi * (1 + options.headroom)));
    add("count", name_of(f.selector) + ".count", inv, "count " + spread(c, false) + "; " + rule);

    // How the count moves from one artifact to the next.
    std::vector<double> up, down;
    for (size_t i = 1; i < c.size(); ++i) {
      if (c[i - 1] == 0) {
        if (c[i] > 0) {
          notes.push_back("no delta for " + f.selector + ": it grew from 0 (a percentage of 0 allows nothing)");
          return;
        }
        continue;
      }
      up.push_back(std::max(0.0, (c[i] - c[i - 1]) / c[i - 1]));
      down.push_back(std::max(0.0, (c[i - 1] - c[i]) / c[i - 1]));
    }
    if (up.empty()) return;
    add("delta", name_of(f.selector) + ".delta",
        {{"delta", "count(" + f.selector + ")"}, {"max_increase", growth_limit(up)}, {"max_decrease", shrink_limit(down)}},
        fmt::format("growth between consecutive artifacts {}; shrink {}; limits: {}", spread(up, true),
                    spread(down, true), limit_rule()));
  }

  void bytes() {
    const auto& b = profile.bytes();
    std::vector<double> up, down;
    for (size_t i = 1; i < b.size(); ++i) {
      double prev = static_cast<double>(b[i - 1]), cur = static_cast<double>(b[i]);
      up.push_back(std::max(0.0, (cur - prev) / prev));
      down.push_back(std::max(0.0, (prev - cur) / prev));
    }
    add("delta", "artifact.bytes.delta",
        {{"delta", "bytes"}, {"max_increase", growth_limit(up)}, {"max_decrease", shrink_limit(down)}},
        fmt::format("size growth between consecutive artifacts {}; shrink {}; limits: {}", spread(up, true),
                    spread(down, true), limit_rule()));
  }

  std::set<std::string> referencing;  // fields with a refs proposal: their values are another field's keys

  void enums(const Field& f) {
    if (referencing.count(f.selector)) return;
    if (f.wildcards == 0 || f.many_values || f.values.empty() || f.integers || f.numbers || f.others || learn::is_timestamps(f))
      return;
    if (f.unique && f.strings > 1) return;  // a key, not an enum
    if (f.strings < 3 * f.values.size()) return;  // too few repeats to call it a closed set
    std::string pattern, seen;
    for (const auto& [value, count] : f.values) {
      pattern += (pattern.empty() ? "" : "|") + literal(value);
      seen += fmt::format("{}{} x{}", seen.empty() ? "" : ", ", text::quoted(value, 40), count);
    }
    add("match", name_of(f.selector) + ".values", {{"match", f.selector}, {"pattern", pattern}},
        fmt::format("{} values, {} distinct: {}", f.strings, f.values.size(), seen));
  }

  void unique_and_churn(const std::vector<Field>& fields) {
    // Per array, its key-like unique fields first.
    std::map<std::string, std::vector<const Field*>> keys;
    for (const auto& f : fields) {
      if (!f.tracked || !f.unique || f.array.empty() || f.others || f.numbers || learn::is_timestamps(f)) continue;
      const Field* array = nullptr;
      for (const auto& a : fields)
        if (a.selector == f.array) array = &a;
      if (!array || array->counts != f.counts) continue;  // not in every element
      uint64_t values = f.strings + f.integers;
      if (values < 2 * n()) continue;  // too few values to tell
      keys[f.array].push_back(&f);
    }
    for (auto& [array, list] : keys) {
      std::stable_sort(list.begin(), list.end(),
                       [](const Field* a, const Field* b) { return key_like(a->selector) > key_like(b->selector); });
      for (size_t i = 0; i < list.size() && i < 2; ++i)
        add("unique", name_of(list[i]->selector) + ".unique", {{"unique", list[i]->selector}},
            fmt::format("no value repeated within any artifact ({} values)", list[i]->strings + list[i]->integers));
      const Field& key = *list.front();
      if (key.added.empty()) {
        notes.push_back("no churn for " + key.selector + ": no artifact before another had 10 keys or more");
        continue;
      }
      add("churn", name_of(key.selector) + ".churn",
          {{"churn", key.selector}, {"max_added", growth_limit(key.added)}, {"max_removed", shrink_limit(key.removed)}},
          fmt::format("keys added between consecutive artifacts {}; removed {}; limits: {}; max_changed is not "
                      "proposed: review it",
                      spread(key.added, true), spread(key.removed, true), limit_rule()));
    }
  }

  void references(const std::vector<Field>& fields) {
    size_t proposed = 0;
    std::set<size_t> done;
    for (const auto& r : profile.refs()) {
      const Field& from = fields[r.from];
      if (!r.holds || done.count(r.from) || proposed >= 5 || from.strings + from.integers == 0) continue;
      done.insert(r.from);
      referencing.insert(from.selector);
      ++proposed;
      add("refs", name_of(from.selector) + ".refs", {{"refs", from.selector}, {"in", fields[r.to].selector}},
          fmt::format("every one of its {} values was among {} in every artifact", from.strings + from.integers,
                      fields[r.to].selector));
    }
  }

  // Singular numbers or timestamps that never decrease.
  void monotonic(const Field& f) {
    if (f.wildcards != 0 || f.others || f.singular.size() != n()) return;
    bool numbers = f.integers + f.numbers == n(), stamps = f.strings == n() && f.timestamps;
    if (!numbers && !stamps) return;
    bool strict = true;
    for (size_t i = 1; i < n(); ++i) {
      auto cmp = numbers ? text::compare_numbers(f.singular[i], f.singular[i - 1])
                         : text::compare_rfc3339(f.singular[i], f.singular[i - 1]);
      if (!cmp || *cmp < 0) return;
      strict &= *cmp > 0;
    }
    add("monotonic", name_of(f.selector) + ".monotonic", {{"monotonic", f.selector}, {"strict", strict}},
        fmt::format("{} from {} to {} across the artifacts{}", strict ? "increased" : "never decreased",
                    f.singular.front(), f.singular.back(), strict ? ", every time" : ""));
  }

  // One freshness invariant, on the singular timestamp that looks most like a generation time.
  void freshness(const std::vector<Field>& fields) {
    const Field* best = nullptr;
    int best_score = -1;
    for (const auto& f : fields) {
      if (f.wildcards != 0 || f.strings != n() || !f.timestamps || f.singular.size() != n()) continue;
      std::string name = name_of(f.selector);
      int score = 0;
      for (const char* hint : {"generated", "created", "updated", "time", "_at", "date"})
        score += name.find(hint) != std::string::npos;
      if (score > best_score) best = &f, best_score = score;
    }
    if (!best) return;
    std::vector<int64_t> stamps;
    for (const auto& s : best->singular) stamps.push_back(*text::parse_rfc3339(s));
    int64_t cadence = 0, age = 0, ahead = 0;
    for (size_t i = 1; i < stamps.size(); ++i) cadence = std::max(cadence, stamps[i] - stamps[i - 1]);
    for (size_t i = 0; i < stamps.size(); ++i)
      if (times[i]) {
        age = std::max(age, *times[i] - stamps[i]);
        ahead = std::max(ahead, stamps[i] - *times[i]);
      }
    if (cadence <= 0) {
      notes.push_back("no freshness for " + best->selector + ": its timestamps do not advance");
      return;
    }
    int64_t max_age = std::max({3 * cadence, 2 * age, int64_t{60'000}});
    int64_t skew = std::max<int64_t>(30'000, 2 * ahead);
    std::string evidence = fmt::format("the longest gap between consecutive timestamps is {}", text::format_duration(cadence));
    if (age) evidence += fmt::format("; the oldest at acceptance was {} old", text::format_duration(age));
    if (ahead) evidence += fmt::format("; the furthest ahead of acceptance {}", text::format_duration(ahead));
    evidence += "; max_age = 3 x the longest gap (at least 2 x the oldest at acceptance)";
    add("freshness", name_of(best->selector) + ".fresh",
        {{"freshness", best->selector}, {"max_age", duration_text(max_age)}, {"max_skew", duration_text(skew)}},
        evidence);
  }
};

// What one replay found: per invariant id, the samples it rejected and the first reason.
struct Replay {
  std::map<std::string, std::pair<size_t, std::string>> failed;
  std::optional<Error> error;  // the contract did not load
};

Replay replay(const std::string& contract_text, const std::string& dir, const std::vector<Sample>& samples,
              const std::vector<int64_t>& judged_at) {
  Replay out;
  auto contract = Contract::load_string(contract_text, dir, "suggested contract");
  if (!contract) {
    out.error = contract.error();
    return out;
  }
  std::optional<Baseline> previous;
  for (size_t i = 0; i < samples.size(); ++i) {
    CheckContext context;
    context.now = Time::from_ms(judged_at[i]);
    if (previous) context.baseline = &*previous;
    Report report = contract->check(samples[i].bytes, context);
    std::set<std::string> failed_here;  // each sample counts once per invariant
    for (const auto& v : report.violations) {
      if (v.severity != Severity::error || !failed_here.insert(v.invariant).second) continue;
      auto& [count, first] = out.failed[v.invariant];
      if (count++ == 0) first = samples[i].label + ": " + v.message;
    }
    auto b = Baseline::measure(*contract, samples[i].bytes);
    if (b) previous = std::move(b.value());
    else previous.reset();
  }
  return out;
}

}  // namespace

Result<Suggestion> suggest(const std::vector<Sample>& input, const SuggestOptions& options, std::string_view existing,
                           const std::string& existing_dir) {
  if (options.headroom < 0 || options.headroom >= 1) return usage("headroom must be in [0%, 100%)");
  if (!(options.quantile > 0 && options.quantile <= 1)) return usage("the quantile must be in (0, 1]");
  if (!(options.margin >= 1)) return usage("the margin must be at least 1");
  Suggestion out;
  artifact::ReadLimits limits;
  ojson base;
  if (!existing.empty()) {
    auto contract = Contract::load_string(existing, existing_dir, "existing contract");
    if (!contract) return contract.error();
    limits = ContractAccess::plan(*contract).read_limits;
    base = ojson::parse(existing, nullptr, false);
  } else {
    base = {{"contract", options.name},
            {"description", "Proposed by invar suggest; review every invariant (its why says what it was learned from)."},
            {"invariants", ojson::array()}};
  }

  // 1. Profile the readable samples, oldest first.
  Profile profile(options.max_fields, options.max_enum_values);
  std::vector<Sample> samples;
  std::vector<std::optional<int64_t>> times;
  for (const auto& s : input) {
    if (samples.size() >= options.max_samples) {
      out.notes.push_back(fmt::format("only the first {} samples were used", options.max_samples));
      break;
    }
    auto parsed = artifact::parse(s.bytes, limits);
    if (!parsed.document) {
      out.notes.push_back(s.label + " is not a readable artifact (" + parsed.problem->message + "): skipped");
      continue;
    }
    profile.add(parsed.document->root, s.bytes.size());
    samples.push_back(s);
    times.push_back(s.time_ms);
  }
  out.samples = samples.size();
  if (samples.size() < 2)
    return usage(fmt::format("suggest needs at least two readable artifacts to learn from ({} given{}): one artifact "
                             "shows no change from one generation to the next, and no spread to size a bound from",
                             samples.size(), input.size() > samples.size() ? ", the others unreadable" : ""));
  if (profile.truncated())
    out.notes.push_back(fmt::format("more than {} field paths: the rest were not profiled", options.max_fields));
  if (profile.budget_spent())
    out.notes.push_back(fmt::format("over {} values in one artifact: some fields were not checked for unique, refs "
                                    "or churn",
                                    learn::kMaxTrackedValues));

  // 2. Proposals.
  Builder b{profile, options, times, {}, {}, {}, {}};
  for (const auto& inv : base.value("invariants", ojson::array()))
    if (inv.contains("id") && inv["id"].is_string()) b.ids.insert(inv["id"].get<std::string>());
  for (const auto& f : profile.fields()) b.counts(f);
  b.bytes();
  for (const auto& f : profile.fields()) b.monotonic(f);
  b.freshness(profile.fields());
  b.unique_and_churn(profile.fields());
  b.references(profile.fields());
  for (const auto& f : profile.fields()) b.enums(f);
  for (auto& note : b.notes) out.notes.push_back(std::move(note));

  // When is each sample judged: when it was accepted; else at its own
  // freshness timestamp (a folder of samples has no acceptance times).
  std::vector<int64_t> judged_at;
  std::optional<std::string> fresh_selector;
  for (const auto& p : b.proposals)
    if (p.kind == "freshness") fresh_selector = ojson::parse(p.invariant)["freshness"].get<std::string>();
  for (size_t i = 0; i < samples.size(); ++i) {
    int64_t at = times[i].value_or(Time::now().ms());
    if (!times[i] && fresh_selector)
      for (const auto& f : profile.fields())
        if (f.selector == *fresh_selector) at = *text::parse_rfc3339(f.singular[i]);
    judged_at.push_back(at);
  }

  // 3. Merge: an existing invariant of the same kind and selector is kept,
  //    or amended when it rejects samples and its thresholds are ones we size.
  ojson& invariants = base["invariants"];
  auto existing_replay = existing.empty() ? Replay{} : replay(std::string(existing), existing_dir, samples, judged_at);
  std::vector<Proposal> kept;
  for (auto& p : b.proposals) {
    ojson proposed = ojson::parse(p.invariant);
    bool merged = false;
    for (auto& inv : invariants) {
      if (!inv.contains(p.kind) || inv[p.kind] != proposed[p.kind]) continue;
      merged = true;
      std::string id = inv.value("id", "");
      auto failed = existing_replay.failed.find(id);
      if (failed == existing_replay.failed.end()) {
        out.notes.push_back(fmt::format("kept {}: it accepts all {} artifacts (suggested instead: {})", id,
                                        samples.size(), p.evidence));
        break;
      }
      if (p.kind != "count" && p.kind != "delta" && p.kind != "churn") break;
      if (p.kind == "count") {
        // Widened, never narrowed: the smaller min, the larger max (the
        // proposal's max has its headroom in it already).
        if (inv.contains("min") && inv["min"].is_number_unsigned())
          inv["min"] = std::min(inv["min"].get<uint64_t>(), proposed.value("min", uint64_t{0}));
        uint64_t max = proposed["max"].get<uint64_t>();
        if (inv.contains("max") && inv["max"].is_number_unsigned()) max = std::max(max, inv["max"].get<uint64_t>());
        inv["max"] = max;
        inv.erase("headroom");
      } else {
        for (const char* key : {"max_increase", "max_decrease", "max_added", "max_removed"}) {
          inv.erase(key);
          if (proposed.contains(key)) inv[key] = proposed[key];
        }
      }
      inv["why"] = proposed["why"];
      p.id = id;
      p.invariant = inv.dump();
      p.amends = true;
      kept.push_back(p);
      break;
    }
    if (!merged) {
      invariants.push_back(proposed);
      kept.push_back(p);
    }
  }

  // 4. Verify: drop the new proposals the replay rejects a sample with.
  for (int round = 0; round < 3; ++round) {
    Replay r = replay(base.dump(2), existing_dir, samples, judged_at);
    if (r.error) return Error{ErrorCode::contract, "the suggested contract does not load (a bug): " + r.error->to_string(), {}};
    bool dropped = false;
    for (auto it = kept.begin(); it != kept.end();) {
      auto failed = r.failed.find(it->id);
      // A limit sized below p100 rejects some history on purpose: kept, and noted below.
      bool by_quantile = options.quantile < 1 && (it->kind == "delta" || it->kind == "churn");
      if (failed == r.failed.end() || it->amends || by_quantile) {
        ++it;
        continue;
      }
      out.notes.push_back(fmt::format("dropped {}: replaying the samples rejects {} of them ({})", it->id,
                                      failed->second.first, failed->second.second));
      std::string id = it->id;
      invariants.erase(std::remove_if(invariants.begin(), invariants.end(),
                                      [&](const ojson& inv) { return inv.value("id", "") == id; }),
                       invariants.end());
      it = kept.erase(it);
      dropped = true;
    }
    if (!dropped) {
      for (const auto& [id, failure] : r.failed)
        out.notes.push_back(fmt::format("{} {} rejects {} of the {} artifacts ({}): review it",
                                        options.quantile < 1 ? "at the chosen quantile," : "the contract's", id,
                                        failure.first, samples.size(), failure.second));
      break;
    }
  }
  out.proposals = std::move(kept);
  out.contract = base.dump(2) + "\n";
  return out;
}

}  // namespace invar

namespace invar {

Result<std::vector<Sample>> read_samples(const std::vector<std::string>& paths, uint64_t max_bytes,
                                         size_t max_samples) {
  std::vector<std::string> files;
  for (const auto& path : paths) {
    std::error_code ec;
    if (!std::filesystem::is_directory(path, ec)) {
      files.push_back(path);
      continue;
    }
    std::vector<std::string> inside;
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      std::string name = entry.path().filename().string();
      std::error_code type_ec;
      if (!name.starts_with(".") && entry.is_regular_file(type_ec)) inside.push_back(entry.path().string());
    }
    if (ec) return Error{ErrorCode::io, "cannot list the directory: " + ec.message(), {path, "", 0, 0}};
    if (inside.empty()) return usage("the directory " + path + " holds no files to learn from");
    std::sort(inside.begin(), inside.end());
    files.insert(files.end(), inside.begin(), inside.end());
  }
  if (files.size() > max_samples)
    return usage(fmt::format("{} sample files; at most {} are read", files.size(), max_samples));
  std::vector<Sample> out;
  for (const auto& file : files) {
    auto bytes = files::read_file(file, max_bytes, "sample artifact");
    if (!bytes) return bytes.error();
    out.push_back({file, std::move(bytes.value()), std::nullopt});
  }
  return out;
}

std::vector<Sample> samples_of(const std::vector<RetainedArtifact>& retained) {
  std::vector<Sample> out;
  for (const auto& r : retained)
    out.push_back({fmt::format("sequence {} ({})", r.entry.sequence, r.entry.digest.substr(0, 19)), r.bytes,
                   r.entry.accepted_at_ms});
  return out;
}

}  // namespace invar
