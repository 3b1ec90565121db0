//! The binary's own commands: `catalog check` (CAT-1) and `--version`.

use std::process::Command;

fn tenure(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tenure"))
        .args(args)
        .output()
        .expect("run tenure");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn repo(path: &str) -> String {
    format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn cat_1_catalog_check_accepts_the_demo() {
    let (code, stdout, _) = tenure(&["catalog", "check", &repo("catalog/demo.toml")]);
    assert_eq!(code, 0);
    assert!(stdout.contains("ok (5 products)"), "{stdout}");
}

#[test]
fn cat_1_catalog_check_reports_file_line_and_field_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.toml");
    let demo = std::fs::read_to_string(repo("catalog/demo.toml")).unwrap();
    // Break one price and add a typo'd key; both must be reported, each with its line.
    let broken = demo
        .replacen("price = \"45.00\"", "price = \"-45.00\"", 1)
        .replacen("[catalog]", "[catalog]\nnmae = \"x\"", 1);
    std::fs::write(&file, &broken).unwrap();
    let (code, _, stderr) = tenure(&["catalog", "check", file.to_str().unwrap()]);
    assert_eq!(code, 2);
    let name = file.display().to_string();
    let price_line = broken
        .lines()
        .position(|l| l.contains("\"-45.00\""))
        .unwrap()
        + 1;
    let typo_line = broken.lines().position(|l| l.starts_with("nmae")).unwrap() + 1;
    assert!(
        stderr.contains(&format!("{name}:{price_line}: ")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{name}:{typo_line}: ")),
        "{stderr}"
    );
    assert!(stderr.lines().count() >= 2, "{stderr}");
    // A missing file is an error too, not a pass.
    let (code, _, _) = tenure(&["catalog", "check", "/nonexistent/catalog.toml"]);
    assert_eq!(code, 2);
}

#[test]
fn version_prints_the_crate_version() {
    let (code, stdout, _) = tenure(&["--version"]);
    assert_eq!(code, 0);
    assert_eq!(
        stdout.trim(),
        format!("tenure {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn simulate_exits_nonzero_on_a_failing_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.toml");
    std::fs::write(
        &file,
        "name = \"x\"\nrules = [\"ACC-5\"]\ncatalog = \"demo\"\nstart = \"2026-03-01T09:00:00+08:00\"\n\n[[step]]\nopen_account = \"a\"\n\n[[step]]\ntop_up = \"a\"\namount = \"10.00\"\n\n[[step]]\nexpect_account = \"a\"\ncash = \"11.00\"\n",
    )
    .unwrap();
    let (code, stdout, _) = tenure(&["simulate", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.trim_end().ends_with("0 passed, 1 failed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("line 14"),
        "the failed step names its line: {stdout}"
    );
}
