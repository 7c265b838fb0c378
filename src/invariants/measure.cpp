// The storage form of measures (version 2; docs/state.md). Churn keys are
// the bulk of it: one entry per record of a large artifact. They are kept
// as a Rice-coded stream of the gaps between sorted key hashes followed by
// the 24-bit item fingerprints, about 8 bytes per key instead of the key
// texts (version 1 stored 60 bytes per key of a DNS plan, as JSON).
#include "invariants/measure.hpp"

#include <bit>
#include <charconv>

#include <fmt/format.h>

namespace invar::invariants {

namespace {

std::string hex64(uint64_t v) { return fmt::format("{:016x}", v); }

std::optional<uint64_t> parse_hex64(const nlohmann::json& j) {
  if (!j.is_string()) return std::nullopt;
  const std::string& s = j.get_ref<const std::string&>();
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (ec != std::errc() || end != s.data() + s.size() || s.size() != 16) return std::nullopt;
  return v;
}

class BitWriter {
 public:
  explicit BitWriter(std::string& out) : out_(out) {}
  void put(uint64_t value, int bits) {  // bits <= 56, value < 2^bits
    acc_ |= value << used_;
    used_ += bits;
    for (; used_ >= 8; used_ -= 8, acc_ >>= 8) out_ += static_cast<char>(acc_ & 0xff);
  }
  void unary(uint64_t q) {
    for (; q >= 32; q -= 32) put(0xffffffffull, 32);
    put((1ull << q) - 1, static_cast<int>(q));
    put(0, 1);
  }
  void flush() {
    if (used_) out_ += static_cast<char>(acc_ & 0xff);
    acc_ = 0;
    used_ = 0;
  }

 private:
  std::string& out_;
  uint64_t acc_ = 0;
  int used_ = 0;
};

// Reads what BitWriter wrote; every read is bounded by the data.
class BitReader {
 public:
  explicit BitReader(std::string_view data) : data_(data) {}
  std::optional<uint64_t> bits(int n) {  // n <= 56
    if (n == 0) return 0;
    if (have_ < n) fill();
    if (have_ < n) return std::nullopt;
    uint64_t v = buf_ & ((1ull << n) - 1);
    buf_ >>= n;
    have_ -= n;
    return v;
  }
  std::optional<uint64_t> unary(uint64_t max) {
    uint64_t q = 0;
    for (;;) {
      if (!have_) fill();
      if (!have_) return std::nullopt;
      int ones = std::countr_one(buf_);
      if (ones < have_) {
        q += static_cast<uint64_t>(ones);
        buf_ = ones + 1 < 64 ? buf_ >> (ones + 1) : 0;
        have_ -= ones + 1;
        return q <= max ? std::optional<uint64_t>(q) : std::nullopt;
      }
      q += static_cast<uint64_t>(have_);
      buf_ = 0;
      have_ = 0;
      if (q > max) return std::nullopt;
    }
  }
  // Bytes consumed, counting a partly read byte.
  size_t bytes_used() const { return next_ - static_cast<size_t>(have_ / 8); }

 private:
  void fill() {
    while (have_ <= 56 && next_ < data_.size()) {
      buf_ |= static_cast<uint64_t>(static_cast<unsigned char>(data_[next_++])) << have_;
      have_ += 8;
    }
  }
  std::string_view data_;
  size_t next_ = 0;
  uint64_t buf_ = 0;
  int have_ = 0;
};

// The Rice parameter for n keys spread over 2^kChurnKeyBits: about the
// logarithm of the mean gap.
int rice_parameter(size_t n) {
  int width = std::bit_width(static_cast<uint64_t>(n ? n : 1));
  return width >= kChurnKeyBits ? 0 : kChurnKeyBits - width;
}

nlohmann::json encode_keys(const std::vector<KeyEntry>& keys, std::string& payload) {
  const size_t at = payload.size();
  const int k = rice_parameter(keys.size());
  BitWriter bits(payload);
  uint64_t previous = 0;
  for (const auto& e : keys) {
    uint64_t gap = e.key - previous;
    previous = e.key;
    bits.unary(gap >> k);
    bits.put(gap & ((1ull << k) - 1), k);
  }
  bits.flush();
  for (const auto& e : keys)
    for (int b = 0; b < kChurnItemBits; b += 8) payload += static_cast<char>((e.item >> b) & 0xff);
  return {{"count", keys.size()}, {"rice", k}, {"at", at}, {"bytes", payload.size() - at}};
}

std::optional<std::vector<KeyEntry>> decode_keys(const nlohmann::json& j, std::string_view payload) {
  constexpr size_t kItemBytes = kChurnItemBits / 8;
  auto number = [&](const char* key) -> std::optional<uint64_t> {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_unsigned()) return std::nullopt;
    return it->get<uint64_t>();
  };
  auto count = number("count"), rice = number("rice"), at = number("at"), size = number("bytes");
  if (!count || !rice || !at || !size || *rice >= kChurnKeyBits || *at > payload.size() ||
      *size > payload.size() - *at || *count > *size / kItemBytes)
    return std::nullopt;
  std::string_view data = payload.substr(*at, *size);
  const int k = static_cast<int>(*rice);
  const uint64_t key_limit = 1ull << kChurnKeyBits, max_quotient = key_limit >> k;
  std::vector<KeyEntry> keys(*count);
  BitReader bits(data.substr(0, data.size() - *count * kItemBytes));
  uint64_t previous = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto q = bits.unary(max_quotient);
    if (!q) return std::nullopt;
    auto r = bits.bits(k);
    if (!r) return std::nullopt;
    uint64_t gap = (*q << k) | *r;
    if ((i && gap == 0) || gap >= key_limit - previous) return std::nullopt;  // sorted, distinct, in range
    previous += gap;
    keys[i].key = previous;
  }
  size_t items = bits.bytes_used();
  if (data.size() - items != *count * kItemBytes) return std::nullopt;
  for (size_t i = 0; i < keys.size(); ++i)
    for (size_t b = 0; b < kItemBytes; ++b)
      keys[i].item |= static_cast<uint32_t>(static_cast<unsigned char>(data[items + i * kItemBytes + b])) << (8 * b);
  return keys;
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

nlohmann::json to_json(const Measures& measures, std::string& payload) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [id, m] : measures) {
    nlohmann::json j = {{"definition", m.definition}};
    if (starts_with(m.definition, "delta ")) j["number"] = m.number;
    if (starts_with(m.definition, "monotonic ")) {
      j["present"] = m.present;
      j["value"] = m.value_text;
    }
    if (!m.items.empty() || starts_with(m.definition, "immutable ")) {
      j["items"] = nlohmann::json::array();
      for (const auto& item : m.items) j["items"].push_back({item.pointer, hex64(item.fingerprint), item.preview});
    }
    if (starts_with(m.definition, "churn ")) j["keys"] = encode_keys(m.keys, payload);
    out[id] = std::move(j);
  }
  return out;
}

std::optional<Measures> measures_from_json(const nlohmann::json& j, std::string_view payload) {
  if (!j.is_object()) return std::nullopt;
  Measures out;
  for (const auto& [id, v] : j.items()) {
    if (!v.is_object() || !v.contains("definition") || !v["definition"].is_string()) return std::nullopt;
    Measure m;
    m.definition = v["definition"].get<std::string>();
    if (auto n = v.find("number"); n != v.end()) {
      if (!n->is_number()) return std::nullopt;
      m.number = n->get<double>();
    }
    if (auto p = v.find("present"); p != v.end()) {
      if (!p->is_boolean()) return std::nullopt;
      m.present = p->get<bool>();
    }
    if (auto val = v.find("value"); val != v.end()) {
      if (!val->is_string()) return std::nullopt;
      m.value_text = val->get<std::string>();
    }
    if (auto items = v.find("items"); items != v.end()) {
      if (!items->is_array()) return std::nullopt;
      for (const auto& item : *items) {
        if (!item.is_array() || item.size() != 3 || !item[0].is_string() || !item[2].is_string()) return std::nullopt;
        auto fp = parse_hex64(item[1]);
        if (!fp) return std::nullopt;
        m.items.push_back({item[0].get<std::string>(), *fp, item[2].get<std::string>()});
      }
    }
    if (auto keys = v.find("keys"); keys != v.end()) {
      if (!keys->is_object()) return std::nullopt;
      auto decoded = decode_keys(*keys, payload);
      if (!decoded) return std::nullopt;
      m.keys = std::move(*decoded);
    }
    out.emplace(id, std::move(m));
  }
  return out;
}

}  // namespace invar::invariants
