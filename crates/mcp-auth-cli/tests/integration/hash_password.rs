//! End-to-end tests of `mcp-auth hash-password`: the built binary hashes a password read from
//! standard input or a file, and the hash verifies with the argon2 crate.

#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]

use std::io::Write as _;
use std::process::{Command, Stdio};

use argon2::password_hash::phc::PasswordHash;
use argon2::{Argon2, PasswordVerifier as _};

/// What a run of the binary produced.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn hash_password(args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-auth"))
        .arg("hash-password")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The binary may exit before reading (bad arguments): a broken pipe is not a failure.
    let written = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code().unwrap(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// The cheapest Argon2 parameters, to keep the runs fast.
const CHEAP: [&str; 6] = [
    "--memory-kib",
    "8",
    "--iterations",
    "1",
    "--parallelism",
    "1",
];

fn assert_verifies(run: &Run, password: &str) -> String {
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let phc = run.stdout.strip_suffix('\n').unwrap();
    let parsed = PasswordHash::new(phc).unwrap();
    assert_eq!(parsed.algorithm.as_str(), "argon2id");
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .unwrap();
    assert!(
        Argon2::default()
            .verify_password(b"another password", phc)
            .is_err()
    );
    phc.to_owned()
}

#[test]
fn hashes_standard_input_with_owasp_defaults() {
    let run = hash_password(&[], "correct horse battery staple\n");
    let phc = assert_verifies(&run, "correct horse battery staple");
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    assert!(!run.stderr.contains("correct horse"));
}

#[test]
fn hashes_a_password_file_and_salts_every_hash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("password");
    std::fs::write(&path, "s3cret pass\r\n").unwrap();
    let mut args = vec!["--password-file", path.to_str().unwrap()];
    args.extend(CHEAP);
    let first = assert_verifies(&hash_password(&args, ""), "s3cret pass");
    assert!(first.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{first}");
    let second = assert_verifies(&hash_password(&CHEAP, "s3cret pass"), "s3cret pass");
    assert_ne!(first, second);
}

#[test]
fn refuses_empty_passwords_and_bad_input() {
    for stdin in ["", "\n", "\r\n"] {
        let run = hash_password(&CHEAP, stdin);
        assert_eq!(run.code, 2);
        assert!(
            run.stderr.contains("the password is empty"),
            "{}",
            run.stderr
        );
        assert!(run.stdout.is_empty());
    }
    let run = hash_password(&["--password-file", "no/such/file"], "");
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("cannot read the password file"),
        "{}",
        run.stderr
    );

    let run = hash_password(&["--memory-kib", "1"], "pw\n");
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("invalid Argon2 parameters"),
        "{}",
        run.stderr
    );
}

#[test]
fn never_takes_the_password_from_the_command_line() {
    let run = hash_password(&["hunter2"], "");
    assert_eq!(run.code, 2);
    assert!(!run.stderr.contains("the password is empty"));
    let run = hash_password(&["--password", "hunter2"], "");
    assert_eq!(run.code, 2);
}
