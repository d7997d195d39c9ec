//! The command line route: this crate's own binary is faultline's command line with the
//! protocol registered.

use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kv-primary-backup"))
}

fn file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

#[test]
fn run_list_fuzz_and_replay_work_on_the_protocol() {
    let out = bin().arg("run").arg(file("crashes.ron")).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("(PrimaryBackup)") && text.contains("PASS, as expected"),
        "{text}"
    );

    let out = bin().arg("list").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("PrimaryBackup((") && text.contains("read_from_backup"),
        "{text}"
    );
    assert!(
        text.contains("Raft(("),
        "the built-in protocols stay: {text}"
    );

    let dir = std::env::temp_dir().join(format!("pb-cli-{}", std::process::id()));
    let out = bin()
        .args([
            "fuzz",
            "--seeds",
            "60",
            "--jobs",
            "1",
            "--bug",
            "read_from_backup",
            "--out",
        ])
        .arg(&dir)
        .arg(file("nemesis.ron"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a violation was expected: {text}"
    );
    let repro = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "ron"))
        .expect("a reproducer");
    let out = bin().arg("replay").arg(&repro).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("reproduced the violation of linearizability"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
