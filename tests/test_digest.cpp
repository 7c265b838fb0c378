// SHA-256 (our own, src/common/digest.cpp) against the FIPS 180-4 examples
// and NIST's long-message vector, plus every tail length around a block edge.
#include <catch2/catch.hpp>

#include <string>

#include "common/digest.hpp"

using invar::digest::Sha256Engine;
using invar::digest::sha256;

namespace {
// Every test runs on each engine this CPU has: the scalar code always, the
// SHA extensions where CPUID reports them (a WARN says when they are absent).
Sha256Engine engine_under_test() {
  auto engine = GENERATE(Sha256Engine::scalar, Sha256Engine::sha_ni, Sha256Engine::best);
  if (!invar::digest::sha256_engine_available(engine)) {
    WARN("this CPU has no SHA extensions: the sha_ni engine is not tested here");
    return Sha256Engine::scalar;
  }
  return engine;
}
}  // namespace

TEST_CASE("sha256 matches the FIPS 180-4 example vectors", "[digest]") {
  const Sha256Engine engine = engine_under_test();
  auto sha256_hex = [engine](std::string_view bytes) { return invar::digest::sha256_hex(bytes, engine); };
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu") ==
        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  CHECK(sha256_hex(std::string(1'000'000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  CHECK(sha256("abc") == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("sha256 pads every length around the 56-, 64- and 120-byte edges", "[digest]") {
  const Sha256Engine engine = engine_under_test();
  auto sha256_hex = [engine](std::string_view bytes) { return invar::digest::sha256_hex(bytes, engine); };
  // Values from `printf '%*s' N | tr ' ' x | sha256sum` (coreutils).
  CHECK(sha256_hex(std::string(55, 'x')) == "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072");
  CHECK(sha256_hex(std::string(56, 'x')) == "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e");
  CHECK(sha256_hex(std::string(63, 'x')) == "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2");
  CHECK(sha256_hex(std::string(64, 'x')) == "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c");
  CHECK(sha256_hex(std::string(65, 'x')) == "9537c5fdf120482f7d58d25e9ed583f52c02b4e304ea814db1633ad565aed7e9");
  CHECK(sha256_hex(std::string(119, 'x')) == "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c");
  CHECK(sha256_hex(std::string(120, 'x')) == "13f05a0b594787f5ecd315edc96141bd3243203d1b7d4f0836f37308b276ba98");
}

TEST_CASE("sha256: the engines agree on every length up to 1 KiB", "[digest]") {
  if (!invar::digest::sha256_engine_available(Sha256Engine::sha_ni)) {
    WARN("this CPU has no SHA extensions: nothing to compare");
    return;
  }
  std::string bytes;
  for (int n = 0; n <= 1024; ++n) {
    INFO(n << " bytes");
    REQUIRE(invar::digest::sha256_hex(bytes, Sha256Engine::sha_ni) ==
            invar::digest::sha256_hex(bytes, Sha256Engine::scalar));
    bytes += static_cast<char>(n * 131 + 7);
  }
}

TEST_CASE("sha256: given in pieces of any size, the digest is the whole's", "[digest]") {
  std::string bytes;
  for (int n = 0; n < 700; ++n) bytes += static_cast<char>(n * 97 + 3);
  const std::string whole = invar::digest::sha256_hex(bytes);
  for (size_t piece : {1u, 3u, 63u, 64u, 65u, 128u, 500u}) {
    INFO(piece << "-byte pieces");
    invar::digest::Sha256 hash;
    for (size_t at = 0; at < bytes.size(); at += piece) hash.update(std::string_view(bytes).substr(at, piece));
    CHECK(hash.finish_hex() == whole);
  }
}

TEST_CASE("hash64: the values stored measures depend on never change", "[digest]") {
  // Churn keys and fingerprints are stored (docs/state.md): a change of these
  // values would make every stored measure compare as changed.
  CHECK(invar::digest::hash64("") == 0x5a2dc9e0481681c7ull);
  CHECK(invar::digest::hash64("abc", 's') == 0xb5138d21a3b36a1bull);
  CHECK(invar::digest::hash64("r000001.ddb.us-east-1.amazonaws.com", 's') == 0x5b0fb792ae6da35full);
  CHECK(invar::digest::hash64("abc", 's') != invar::digest::hash64("abd", 's'));
  CHECK(invar::digest::hash64("abc", 's') != invar::digest::hash64("abc", 'j'));
}
