//! Signed decisions: trusted keys, verify_attestation, and a guard that
//! verifies what it follows. tests/data/signing holds an artifact, its
//! attestation (stream "s", no stage, sequence 1, valid 2026-12-01T10:00Z
//! to 2026-12-02T10:00Z) and the trusted-keys file of the key that signed it.
use std::path::PathBuf;

use invar::{verify_attestation, Contract, Expect, Gate, Guard, Status, TrustedKeys};

const FRESH_MS: i64 = 1_796_126_400_000; // 2026-12-01T12:00:00Z
const LATE_MS: i64 = 1_796_256_000_000; // 2026-12-03T00:00:00Z

fn signing(name: &str) -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../tests/data/signing").join(name)).unwrap()
}

fn keys() -> TrustedKeys {
    TrustedKeys::load(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../tests/data/signing/trusted-keys.json"))
        .unwrap()
}

#[test]
fn a_good_attestation_verifies_changed_bytes_and_expired_ones_are_refused() {
    let keys = keys();
    let (envelopes, artifact) = (signing("artifact.json.intoto.jsonl"), signing("artifact.json"));
    let expect = Expect { stream: Some("s"), stage: Some(""), min_sequence: 1, now_ms: Some(FRESH_MS) };
    let v = verify_attestation(&keys, &envelopes, &artifact, &expect).unwrap();
    assert_eq!(v.sequence, 1);
    assert_eq!(v.stream, "s");
    assert_eq!(v.verdict, "accept");
    assert_eq!(v.keyid, "binding-test");
    assert_eq!(v.expires, "2026-12-02T10:00:00Z");

    let mut changed = artifact.clone();
    changed.push(b' ');
    let e = verify_attestation(&keys, &envelopes, &changed, &expect).unwrap_err();
    assert!(e.is_refused() && e.message().contains("subject digest differs"), "{}", e);
    let e = verify_attestation(&keys, &envelopes, &artifact, &Expect { now_ms: Some(LATE_MS), ..expect.clone() })
        .unwrap_err();
    assert_eq!(e.status(), Status::Refused);
    assert!(e.message().contains("(freeze)"), "{}", e);
    let e = verify_attestation(&keys, &envelopes, &artifact, &Expect { min_sequence: 2, ..expect }).unwrap_err();
    assert!(e.message().contains("(rollback)"), "{}", e);

    let text = String::from_utf8(signing("trusted-keys.json")).unwrap();
    assert!(TrustedKeys::from_text(&text).is_ok());
    assert_eq!(TrustedKeys::from_text("{\"keys\": []}").unwrap_err().status(), Status::Usage);
}

#[test]
fn a_verified_guard_refuses_an_unsigned_lkg() {
    let contract =
        Contract::from_text(r#"{"contract": "race", "invariants": [{"id": "items", "count": "$.items[*]", "min": 1}]}"#, None)
            .unwrap();
    let dir = std::env::temp_dir().join(format!("invar-rs-signing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let gate = Gate::open(&contract, &dir).unwrap();
    gate.init("s", Some(&signing("artifact.json")), Some("unsigned"), "test").unwrap();
    let e = Guard::new_verified(&contract, &dir, "s", None, &keys()).unwrap_err();
    assert!(e.is_refused() && e.message().contains("carries no attestation"), "{}", e);
    let plain = Guard::new(&contract, Some(&dir), Some("s")).unwrap(); // without keys nothing changes
    assert_eq!(plain.current(), Some(&signing("artifact.json")[..]));
    drop(plain);
    let _ = std::fs::remove_dir_all(&dir);
}
