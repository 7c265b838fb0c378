//! The safe API against the real library: verdicts, gates, the Cloudflare
//! 2025 replay through a Guard, threads, and errors.
use std::path::PathBuf;
use std::sync::Arc;

use invar::{Contract, Gate, Guard, Status, Verdict};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

fn feature_contract() -> Contract {
    Contract::load(repo().join("rules/feature-file.contract.json")).unwrap()
}

fn example(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("examples/cloudflare-2025-features").join(name)).unwrap()
}

/// A fresh directory, removed on drop (no dependencies: no tempfile crate).
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        use std::os::unix::fs::PermissionsExt;
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("invar-rs-{}-{}-{}", tag, std::process::id(), n));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn check_accepts_good_and_rejects_the_doubled_file() {
    let contract = feature_contract();
    let good = example("good.json");
    let report = contract.check(&good).unwrap();
    assert_eq!(report.verdict(), Verdict::Accept);
    assert!(report.violations().unwrap().is_empty());
    assert!(report.artifact().is_none(), "a check's report has no artifact in service");

    let report = contract.check_with(&example("bad.json"), Some(&good), None).unwrap();
    assert_eq!(report.verdict(), Verdict::Reject);
    let violations = report.violations().unwrap();
    assert!(violations.len() > 3);
    let first = &violations[0];
    assert_eq!(first.invariant, "features.bounded");
    assert_eq!(first.message, "count of $.features[*] is 212, over the headroom limit 160 by 52");
    assert_eq!(first.pointer, "/features");
    assert_eq!(first.severity, "error");
    assert!(report.json().unwrap().contains("\"baseline\": \"60\""));
    assert!(report.text().unwrap().contains("REJECT"));
    assert!(report.render("sarif").unwrap().contains("\"version\": \"2.1.0\""));
    assert!(report.render("tap").unwrap().starts_with("TAP version"));

    // Unreadable bytes are a reject with an artifact.* violation, not an error.
    let report = contract.check(b"\xff\xfe{[[\0nul").unwrap();
    assert_eq!(report.verdict(), Verdict::Reject);
    assert_eq!(report.violations().unwrap()[0].family, "artifact");
}

#[test]
fn gate_accepts_then_pins_the_last_known_good() {
    let tmp = TempDir::new("gate");
    let contract = feature_contract();
    let gate = Gate::open(&contract, tmp.0.join("state")).unwrap();
    let (good, bad) = (example("good.json"), example("bad.json"));
    // Streams are created on purpose.
    let err = gate.submit("bot", &good).unwrap_err();
    assert_eq!(err.status(), Status::Usage);
    assert!(err.message().contains("invar init"), "{}", err);
    assert!(gate.init("bot", None, None, "test").unwrap().is_none());

    let decision = gate.submit("bot", &good).unwrap();
    assert_eq!(decision.verdict(), Verdict::Accept);
    assert_eq!(decision.artifact(), Some(&good[..]));
    let decision = gate.submit("bot", &bad).unwrap();
    assert_eq!(decision.verdict(), Verdict::Pin, "a reject after an accept keeps the LKG");
    assert_eq!(decision.artifact(), Some(&good[..]), "the gate publishes the LKG again");
    assert!(decision.json().unwrap().contains("\"decision\": \"pin\""), "{}", decision.json().unwrap());
    // The same bytes again change nothing.
    assert_eq!(gate.submit("bot", &good).unwrap().verdict(), Verdict::Unchanged);
}

#[test]
fn guard_keeps_serving_good_when_the_doubled_file_arrives() {
    // Cloudflare, 18 Nov 2025: the feature file doubled and the proxy panicked.
    let contract = feature_contract();
    let mut guard = Guard::in_memory(&contract).unwrap();
    assert!(guard.current().is_none());
    let (good, bad) = (example("good.json"), example("bad.json"));

    assert_eq!(guard.update(&good).unwrap().verdict(), Verdict::Accept);
    assert_eq!(guard.current(), Some(&good[..]));

    let decision = guard.update(&bad).unwrap();
    assert_eq!(decision.verdict(), Verdict::Pin);
    assert_eq!(guard.current(), Some(&good[..]), "still serving good.json");
    assert_eq!(decision.artifact(), Some(&good[..]));
    let why = decision.violations().unwrap();
    assert!(why.iter().any(|v| v.invariant == "features.bounded"), "{:?}", why);
    assert!(why.iter().any(|v| v.invariant == "features.growth" && v.baseline == "60"), "{:?}", why);

    // Dropping the contract does not invalidate the guard (it holds it).
    drop(contract);
    assert_eq!(guard.update(&good).unwrap().verdict(), Verdict::Unchanged);
    assert_eq!(guard.current(), Some(&good[..]));
}

#[test]
fn a_persistent_guard_starts_with_the_stored_lkg_and_follows_the_gate() {
    let tmp = TempDir::new("guard");
    let contract = feature_contract();
    let state = tmp.0.join("state");
    let gate = Gate::open(&contract, &state).unwrap();
    let good = example("good.json");
    gate.init("bot", Some(&good), Some("first"), "test").unwrap();

    let guard = Guard::new(&contract, Some(&state), Some("bot")).unwrap();
    let before = guard.current().unwrap();
    assert_eq!(before, &good[..]);
    assert!(!guard.refresh().unwrap(), "nothing newer yet");

    // A newer LKG promoted elsewhere: refresh serves it, and the slice lent
    // before stays valid (the guard keeps what refresh replaced).
    let mut newer = good.clone();
    let at = newer.iter().rposition(|&b| b == b'}').unwrap();
    newer.splice(at..at, b" ".iter().copied());
    assert_eq!(gate.submit("bot", &newer).unwrap().verdict(), Verdict::Accept);
    assert!(guard.refresh().unwrap());
    assert_eq!(guard.current(), Some(&newer[..]));
    assert_eq!(before, &good[..]);

    let mut guard = guard;
    guard.release_replaced().unwrap();
    assert_eq!(guard.current(), Some(&newer[..]));
    // Seeding is for in-memory guards.
    assert_eq!(guard.seed(&good).unwrap_err().status(), Status::Usage);
}

#[test]
fn a_contract_is_shared_by_threads() {
    let contract = Arc::new(feature_contract());
    let (good, bad) = (Arc::new(example("good.json")), Arc::new(example("bad.json")));
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let (contract, good, bad) = (Arc::clone(&contract), Arc::clone(&good), Arc::clone(&bad));
            std::thread::spawn(move || {
                for _ in 0..25 {
                    let (bytes, want) = if i % 2 == 0 { (&good, Verdict::Accept) } else { (&bad, Verdict::Reject) };
                    assert_eq!(contract.check(bytes).unwrap().verdict(), want);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // A Gate and a Guard are shareable too (compile-time checks).
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Contract>();
    send_sync::<Gate>();
    send_sync::<Guard>();
    send_sync::<invar::Report>();
}

#[test]
fn errors_carry_the_status_and_the_message() {
    let err = Contract::load(repo().join("rules/no-such.contract.json")).unwrap_err();
    assert_eq!(err.status(), Status::Io);
    assert!(err.message().contains("no-such.contract.json"), "{}", err.message());
    assert!(err.to_string().contains(err.message()));
    let boxed: Box<dyn std::error::Error> = Box::new(err);
    assert!(boxed.to_string().contains("no-such"));

    let err = Contract::from_text("{\"contract\": 1}", None).unwrap_err();
    assert_eq!(err.status(), Status::Contract);
    assert!(!err.message().is_empty());

    let report = feature_contract().check(b"{}").unwrap();
    let err = report.render("yaml").unwrap_err();
    assert_eq!(err.status(), Status::Argument);
    assert!(err.message().contains("sarif"), "lists the valid formats: {}", err.message());

    // Both state_dir and stream, or neither.
    let err = Guard::new(&feature_contract(), None, Some("bot")).unwrap_err();
    assert_eq!(err.status(), Status::Argument);
    assert!(err.message().contains("state_dir"), "{}", err.message());
    // A NUL byte in a path is refused before the library sees it.
    assert_eq!(Contract::load("a\0b").unwrap_err().status(), Status::Argument);
    // Clocks outside the years 0001-9999 are refused, not wrapped.
    let err = feature_contract().check_with(b"{}", None, Some(i64::MAX)).unwrap_err();
    assert_eq!(err.status(), Status::Argument);
    assert!(err.message().contains("0001-9999"), "{}", err.message());
}

#[test]
fn a_guard_is_read_and_refreshed_from_threads_at_once() {
    let tmp = TempDir::new("follow");
    let contract = feature_contract();
    let state = tmp.0.join("state");
    let gate = Gate::open(&contract, &state).unwrap();
    let good = example("good.json");
    gate.init("bot", Some(&good), Some("first"), "test").unwrap();
    // Versions of good.json differing by trailing spaces: each one a new LKG.
    let versions: Vec<Vec<u8>> = (0..20)
        .map(|i| {
            let mut v = good.clone();
            v.extend(std::iter::repeat(b' ').take(i + 1));
            v
        })
        .collect();
    let guard = Guard::new(&contract, Some(&state), Some("bot")).unwrap();
    let served_is_known = |bytes: &[u8]| bytes == &good[..] || versions.iter().any(|v| bytes == &v[..]);
    std::thread::scope(|scope| {
        let guard = &guard;
        scope.spawn(|| {
            for v in &versions {
                assert_eq!(gate.submit("bot", v).unwrap().verdict(), Verdict::Accept);
                guard.refresh().unwrap();
            }
        });
        for _ in 0..3 {
            scope.spawn(|| {
                // Slices lent before refreshes stay valid (and unchanged) while held.
                let held: Vec<&[u8]> = (0..200).filter_map(|_| guard.current()).collect();
                assert!(held.iter().all(|b| served_is_known(b)));
            });
        }
    });
    guard.refresh().unwrap();
    assert_eq!(guard.current(), Some(&versions[19][..]));
}

#[test]
fn a_staged_guard_serves_its_stage() {
    let tmp = TempDir::new("staged");
    let contract = feature_contract();
    let state = tmp.0.join("state");
    let gate = Gate::open(&contract, &state).unwrap();
    let good = example("good.json");
    let rollout = repo().join("examples/rollout/dns-plan.rollout.yaml");
    let seeded = gate.init_staged("bot", Some(&good), Some("first"), "test", &rollout).unwrap();
    assert_eq!(seeded.unwrap().verdict(), Verdict::Accept);

    let canary = Guard::new_staged(&contract, &state, "bot", Some("canary")).unwrap();
    let everyone = Guard::new_staged(&contract, &state, "bot", None).unwrap();
    assert_eq!(canary.current(), Some(&good[..]));
    let mut newer = good.clone();
    newer.push(b' ');
    assert_eq!(gate.submit("bot", &newer).unwrap().verdict(), Verdict::Accept);
    // An accepted update enters the first stage only.
    assert!(canary.refresh().unwrap());
    assert_eq!(canary.current(), Some(&newer[..]));
    assert!(!everyone.refresh().unwrap());
    assert_eq!(everyone.current(), Some(&good[..]));

    // This rollout has an exec health check: a library step refuses it.
    let err = invar::rollout_step(&state, "bot", None).unwrap_err();
    assert_eq!(err.status(), Status::Usage, "{}", err);
    assert!(err.message().contains("exec"), "{}", err.message());
    let err = Guard::new_staged(&contract, &state, "bot", Some("no-such-stage")).unwrap_err();
    assert!(err.message().contains("no-such-stage"), "{}", err);
}
