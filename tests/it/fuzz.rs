//! Untrusted files the tool reads back (config, declared links, the sandbox world, receipts):
//! whatever bytes they hold, the binary gives a clear error or carries on, never a panic or a hang.

use proptest::prelude::*;

use crate::common::Home;

/// Runs `args` with `bytes` written to `file` first; the exit code is a documented one.
fn survives(home: &Home, file: &str, bytes: &[u8], args: &[&str]) -> Result<(), TestCaseError> {
    let path = home.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    let out = home.cmd(args).timeout(std::time::Duration::from_secs(20)).output().unwrap();
    let code = out.status.code();
    let stderr = String::from_utf8_lossy(&out.stderr);
    prop_assert!(!stderr.contains("panicked"), "{file}: {stderr}");
    prop_assert!(matches!(code, Some(0 | 1 | 2 | 4 | 7 | 8)), "{file}: exit {code:?}: {stderr}");
    if code != Some(0) {
        prop_assert!(stderr.contains("error:"), "{file}: a failure says what went wrong: {stderr}");
    }
    Ok(())
}

fn json_like() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        "[\\[\\]{}\",:0-9a-z_ ]{0,120}".prop_map(String::into_bytes),
        Just(br#"{"schema_version": 1, "links": [{"platform": "sandbox"}]}"#.to_vec()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn config_files_never_panic(bytes in json_like()) {
        let home = Home::new();
        survives(&home, "config.toml", &bytes, &["status"])?;
    }

    #[test]
    fn declared_links_files_never_panic(bytes in json_like()) {
        let home = Home::new();
        survives(&home, "state/declared/default.json", &bytes, &["status"])?;
    }

    #[test]
    fn sandbox_worlds_never_panic(bytes in json_like()) {
        let home = Home::new();
        survives(&home, "state/sandbox/world.json", &bytes, &["status"])?;
    }

    #[test]
    fn receipts_never_panic(bytes in json_like()) {
        let home = Home::new();
        survives(&home, "state/receipts/20260101T000000.000Z-x.json", &bytes, &["receipts", "list"])?;
    }
}
