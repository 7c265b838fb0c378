// Ed25519 keys (libsodium): the signing key's file, and the trusted-keys file.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>

#include "common/digest.hpp"
#include "common/files.hpp"
#include "common/text.hpp"
#include "invar/sign.hpp"
#include "schema/document.hpp"
#include "sign/encoding.hpp"

namespace invar {

using nlohmann::json;

namespace sign {

bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

std::string base64_encode(std::string_view bytes) {
  const int variant = sodium_base64_VARIANT_ORIGINAL;
  std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    variant);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::optional<std::string> base64_decode(std::string_view text, size_t max_bytes) {
  if (text.size() / 4 * 3 > max_bytes + 3) return std::nullopt;
  const bool urlsafe = text.find_first_of("-_") != std::string_view::npos;
  const bool padded = !text.empty() && text.back() == '=';
  const int variant = urlsafe ? (padded ? sodium_base64_VARIANT_URLSAFE : sodium_base64_VARIANT_URLSAFE_NO_PADDING)
                              : (padded ? sodium_base64_VARIANT_ORIGINAL : sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &length, &end, variant) != 0 ||
      end != text.data() + text.size() || length > max_bytes)
    return std::nullopt;
  out.resize(length);
  return out;
}

bool valid_keyid(std::string_view keyid) {
  if (keyid.empty() || keyid.size() > kMaxKeyIdBytes) return false;
  return std::all_of(keyid.begin(), keyid.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("._:@/+-").find(c) != std::string_view::npos;
  });
}

void Notes::note(const std::string& pointer, const std::string& message) {
  if (errors_.size() < 20) errors_.push_back(Error{code_, message, {file_, pointer, 0, 0}});
}

Error Notes::error(std::string_view text) const {
  std::vector<Error> located = errors_;
  for (auto& e : located) {
    if (auto found = schema::locate_in_document(text, "<json>", e.where.pointer)) {
      e.where.line = found->line;
      e.where.column = found->column;
    }
  }
  Error first = located.front();
  first.also.assign(located.begin() + 1, located.end());
  return first;
}

void unknown_keys(const json& object, const std::string& pointer, const std::vector<std::string_view>& known,
                  Notes& notes) {
  for (const auto& [key, value] : object.items()) {
    (void)value;
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string list;
    for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
    notes.note(pointer + "/" + key,
               "unknown key " + text::quoted(key) + text::did_you_mean(key, known) + " (expected " + list + ")");
  }
}

}  // namespace sign

namespace {

constexpr uint64_t kMaxKeyFileBytes = 64 << 10;

std::string derived_keyid(const std::array<unsigned char, 32>& public_key) {
  std::string hex = digest::sha256_hex(std::string_view(reinterpret_cast<const char*>(public_key.data()), 32));
  return "ed25519:" + hex.substr(0, 16);
}

Error usage(std::string message, const std::string& file = {}) {
  return Error{ErrorCode::usage, std::move(message), {file, "", 0, 0}};
}

}  // namespace

Result<SigningKey> SigningKey::from_seed(std::string_view seed, const std::string& keyid) {
  if (!sign::sodium_ready()) return Error{ErrorCode::io, "libsodium cannot start (no entropy source)", {}};
  if (seed.size() != crypto_sign_SEEDBYTES)
    return usage("an Ed25519 seed is 32 bytes, not " + std::to_string(seed.size()));
  if (!keyid.empty() && !sign::valid_keyid(keyid))
    return usage("key id " + text::quoted(keyid) + " is not 1-" + std::to_string(kMaxKeyIdBytes) +
                 " characters of A-Z a-z 0-9 . _ : @ / + -");
  SigningKey key;
  crypto_sign_seed_keypair(key.public_.data(), key.secret_.data(), reinterpret_cast<const unsigned char*>(seed.data()));
  key.keyid_ = keyid.empty() ? derived_keyid(key.public_) : keyid;
  return key;
}

Result<SigningKey> SigningKey::generate(const std::string& keyid) {
  if (!sign::sodium_ready()) return Error{ErrorCode::io, "libsodium cannot start (no entropy source)", {}};
  std::array<unsigned char, crypto_sign_SEEDBYTES> seed{};
  randombytes_buf(seed.data(), seed.size());
  auto key = from_seed(std::string_view(reinterpret_cast<const char*>(seed.data()), seed.size()), keyid);
  sodium_memzero(seed.data(), seed.size());
  return key;
}

SigningKey::~SigningKey() { sodium_memzero(secret_.data(), secret_.size()); }

std::string SigningKey::public_base64() const {
  return sign::base64_encode(std::string_view(reinterpret_cast<const char*>(public_.data()), public_.size()));
}

std::string SigningKey::private_file() const {
  std::string seed = sign::base64_encode(std::string_view(reinterpret_cast<const char*>(secret_.data()), 32));
  std::string out = json{{"type", kPrivateKeyType}, {"keyid", keyid_}, {"private", seed}}.dump() + "\n";
  sodium_memzero(seed.data(), seed.size());
  return out;
}

std::string SigningKey::trusted_entry() const { return json{{"keyid", keyid_}, {"public", public_base64()}}.dump(); }

std::string SigningKey::sign(std::string_view message) const {
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size(), secret_.data());
  return sig;
}

std::optional<Error> SigningKey::save_file(const std::string& path) const {
  auto io = [&](const std::string& what) {
    return Error{ErrorCode::io, what + " " + text::quoted(path) + ": " + std::strerror(errno), {path, "", 0, 0}};
  };
  // O_EXCL with O_CREAT refuses any existing name, a dangling link included.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return errno == EEXIST ? Error{ErrorCode::io, text::quoted(path) + " exists: a key file is never "
                                                                "overwritten (remove it first, or choose another name)",
                                             {path, "", 0, 0}}
                                     : io("cannot create");
  std::string content = private_file();
  size_t done = 0;
  bool failed = ::fchmod(fd, 0600) != 0;
  while (!failed && done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    failed = n <= 0;
    if (!failed) done += static_cast<size_t>(n);
  }
  sodium_memzero(content.data(), content.size());
  failed = failed || ::fsync(fd) != 0;
  std::optional<Error> error;
  if (failed) error = io("cannot write");
  ::close(fd);
  if (error) {
    ::unlink(path.c_str());
    return error;
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  return files::sync_dir(dir.empty() ? "." : dir);
}

Result<SigningKey> SigningKey::load_file(const std::string& path) {
  auto fd = files::open_for_reading(path, "signing key", true);
  if (!fd) return fd.error();
  struct stat st {};
  if (::fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(*fd);
    return Error{ErrorCode::io, "signing key " + text::quoted(path) + " is not a regular file", {path, "", 0, 0}};
  }
  if ((st.st_mode & 077) != 0) {
    ::close(*fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return usage("signing key " + text::quoted(path) + " is accessible by group or others (mode " + mode +
                     "): a private key must be readable by its owner only (chmod 600 " + path + ")",
                 path);
  }
  auto bytes = files::read_fd(*fd, path, kMaxKeyFileBytes, "signing key");
  ::close(*fd);
  if (!bytes) return bytes.error();
  auto doc = schema::read_document(*bytes, path);
  if (!doc) {
    sodium_memzero(bytes->data(), bytes->size());
    return doc.error();
  }
  sign::Notes notes(ErrorCode::usage, path);
  std::optional<std::string> seed;
  std::string keyid;
  if (!doc->is_object()) {
    notes.note("", "a private key file is a JSON object {\"type\", \"keyid\", \"private\"}");
  } else {
    sign::unknown_keys(*doc, "", {"type", "keyid", "private"}, notes);
    auto type = doc->find("type");
    if (type == doc->end() || !type->is_string() || *type != kPrivateKeyType)
      notes.note(type == doc->end() ? "" : "/type", "\"type\" must be \"" + std::string(kPrivateKeyType) + "\"");
    auto id = doc->find("keyid");
    if (id == doc->end() || !id->is_string() || !sign::valid_keyid(id->get<std::string>()))
      notes.note(id == doc->end() ? "" : "/keyid", "\"keyid\" must be a key id (1-128 characters of A-Z a-z 0-9 . _ : @ / + -)");
    else
      keyid = id->get<std::string>();
    auto secret = doc->find("private");
    if (secret != doc->end() && secret->is_string()) seed = sign::base64_decode(secret->get<std::string>(), 32);
    if (!seed || seed->size() != 32)
      notes.note(secret == doc->end() ? "" : "/private", "\"private\" must be the base64 of a 32-byte Ed25519 seed");
  }
  if (!notes.empty()) {
    Error e = notes.error(*bytes);
    sodium_memzero(bytes->data(), bytes->size());
    return e;
  }
  sodium_memzero(bytes->data(), bytes->size());
  auto key = from_seed(*seed, keyid);
  sodium_memzero(seed->data(), seed->size());
  return key;
}

Result<std::optional<SigningKey>> SigningKey::load_configured(const std::string& flag_value) {
  std::string path = flag_value;
  if (path.empty())
    if (const char* env = std::getenv(kSigningKeyEnv); env && *env) path = env;
  if (path.empty()) return std::optional<SigningKey>();
  auto key = load_file(path);
  if (!key) return key.error();
  return std::optional<SigningKey>(std::move(key.value()));
}

const TrustedKey* TrustedKeys::find(std::string_view keyid) const {
  for (const auto& k : keys_)
    if (k.keyid == keyid) return &k;
  return nullptr;
}

Result<TrustedKeys> TrustedKeys::load_file(const std::string& path) {
  auto bytes = files::read_file(path, kMaxTrustedKeysBytes, "trusted-keys file");
  if (!bytes) return bytes.error();
  return load_string(*bytes, path);
}

namespace {

// One entry of "keys" (at `at`), noted when malformed.
std::optional<TrustedKey> trusted_key(const json& entry, const std::string& at, sign::Notes& notes) {
  if (!entry.is_object()) {
    notes.note(at, "a key is an object {\"keyid\", \"public\", \"not_after\" (optional)}");
    return std::nullopt;
  }
  sign::unknown_keys(entry, at, {"keyid", "public", "not_after"}, notes);
  TrustedKey key;
  bool ok = true;
  auto id = entry.find("keyid");
  if (id == entry.end() || !id->is_string() || !sign::valid_keyid(id->get<std::string>())) {
    notes.note(id == entry.end() ? at : at + "/keyid",
               "\"keyid\" must be a key id (1-128 characters of A-Z a-z 0-9 . _ : @ / + -)");
    ok = false;
  } else {
    key.keyid = id->get<std::string>();
  }
  auto pub = entry.find("public");
  std::optional<std::string> raw;
  if (pub != entry.end() && pub->is_string()) raw = sign::base64_decode(pub->get<std::string>(), 64);
  if (!raw || raw->size() != 32) {
    notes.note(pub == entry.end() ? at : at + "/public",
               raw ? "\"public\" is " + std::to_string(raw->size()) + " bytes: an Ed25519 public key is 32"
                   : "\"public\" must be the base64 of a 32-byte Ed25519 public key");
    ok = false;
  } else {
    std::memcpy(key.public_key.data(), raw->data(), 32);
  }
  if (auto after = entry.find("not_after"); after != entry.end()) {
    std::optional<int64_t> ms;
    if (after->is_string()) ms = text::parse_rfc3339(after->get<std::string>());
    if (!ms || !Time::from_ms(*ms)) {
      notes.note(at + "/not_after", "\"not_after\" must be an RFC 3339 date-time, such as \"2027-01-01T00:00:00Z\"");
      ok = false;
    } else {
      key.not_after_ms = ms;
    }
  }
  if (!ok) return std::nullopt;
  return key;
}

}  // namespace

Result<TrustedKeys> TrustedKeys::load_string(std::string_view text, const std::string& name) {
  if (text.size() > kMaxTrustedKeysBytes)
    return Error{ErrorCode::limit, "a trusted-keys file is at most " + std::to_string(kMaxTrustedKeysBytes) + " bytes",
                 {name, "", 0, 0}};
  auto doc = schema::read_document(text, name);
  if (!doc) return doc.error();
  sign::Notes notes(ErrorCode::usage, name);
  TrustedKeys out;
  if (!doc->is_object()) {
    notes.note("", "a trusted-keys file is a JSON object {\"keys\": [...]}");
    return notes.error(text);
  }
  sign::unknown_keys(*doc, "", {"keys"}, notes);
  auto list = doc->find("keys");
  if (list == doc->end() || !list->is_array() || list->empty()) {
    notes.note(list == doc->end() ? "" : "/keys", "\"keys\" must be a non-empty array of keys");
  } else if (list->size() > kMaxTrustedKeys) {
    return Error{ErrorCode::limit, "more than " + std::to_string(kMaxTrustedKeys) + " trusted keys",
                 {name, "/keys", 0, 0}};
  } else {
    std::set<std::string> seen;
    for (size_t i = 0; i < list->size(); ++i) {
      const std::string at = "/keys/" + std::to_string(i);
      auto key = trusted_key((*list)[i], at, notes);
      if (!key) continue;
      if (!seen.insert(key->keyid).second) {
        notes.note(at + "/keyid", "key id " + text::quoted(key->keyid) + " is listed twice");
        continue;
      }
      out.keys_.push_back(std::move(*key));
    }
  }
  if (!notes.empty()) return notes.error(text);
  return out;
}

}  // namespace invar
