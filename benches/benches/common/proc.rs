//! Shared by the benches that run a service binary as a child process: finding (or
//! building) the binary, and reading a process's memory and CPU from `/proc`.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

/// The release binary `name` of the workspace (`ingest`, `aggregator`, `query-api`).
///
/// `SYNCTEL_<NAME>_BIN` wins; otherwise `cargo build --release --locked -p <name> --bin
/// <name>` is run (a no-op when it is up to date; `benches/run-e2e.sh` builds them first)
/// and the binary is taken from this bench's target directory.
pub fn service_binary(name: &str) -> PathBuf {
    let var = format!("SYNCTEL_{}_BIN", name.to_uppercase().replace('-', "_"));
    if let Ok(path) = std::env::var(&var) {
        return PathBuf::from(path);
    }
    // target/release/deps/<bench>-<hash> -> target/release
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|d| d.parent()).unwrap().to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("building the {name} binary (cargo build --release -p {name} --bin {name}; set {var} to skip)");
    let status = Command::new(cargo)
        .args(["build", "--release", "--locked", "-p", name, "--bin", name])
        .env("CARGO_TARGET_DIR", profile_dir.parent().unwrap())
        .status()
        .expect("running cargo build");
    assert!(status.success(), "cargo build of {name} failed");
    let bin = profile_dir.join(name);
    assert!(bin.exists(), "{} missing after the build", bin.display());
    bin
}

/// A field of `/proc/<pid>/status` in bytes (`VmRSS`, `VmHWM`), 0 if unreadable.
pub fn status_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// `VmRSS` of a process, bytes.
pub fn rss_bytes(pid: u32) -> u64 {
    status_bytes(pid, "VmRSS")
}

/// `VmHWM` (peak resident set) of a process, bytes.
pub fn hwm_bytes(pid: u32) -> u64 {
    status_bytes(pid, "VmHWM")
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 if that fails).
pub fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .unwrap_or(100.0)
}

/// CPU seconds (user + system) of a process so far, from `/proc/<pid>/stat`.
pub fn cpu_seconds(pid: u32, ticks_per_sec: f64) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // After the ")" field: state is 0, utime is 11, stime is 12.
    (ticks(11) + ticks(12)) / ticks_per_sec
}

/// Sends SIGTERM (through `kill`: no libc dependency here).
pub fn terminate(pid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
}

/// MiB.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
