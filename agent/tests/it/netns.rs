//! Linux network namespaces and processes for the agent's tests: the building blocks of
//! the simulated cluster in `fabric.rs`. Everything is removed on drop, also when a test
//! panics, and leftovers of a killed run are removed at the start of the next.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Every namespace this test creates is named `npt<pid>-...`.
pub const PREFIX: &str = "npt";

/// Runs a command, panicking with its stderr when it fails.
pub fn sh(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn kill_pids_in(netns: &str) {
    if let Ok(out) = Command::new("ip").args(["netns", "pids", netns]).output() {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            let _ = Command::new("kill").args(["-9", pid]).status();
        }
    }
}

/// Deletes namespaces of earlier runs whose process is gone (a run killed by a timeout
/// cannot clean up after itself).
pub fn cleanup_leftovers() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let pid: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if pid.is_empty() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        kill_pids_in(name);
        let _ = Command::new("ip").args(["netns", "del", name]).status();
    }
}

/// Fails (never skips) when this machine cannot run the test, with the reason.
pub fn require_netns() {
    let euid = sh("id", &["-u"]);
    assert_eq!(
        euid.trim(),
        "0",
        "the packet-level agent test needs root (network namespaces, nftables); run it as root"
    );
    for tool in ["ip", "nft", "conntrack"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "`{tool}` is not installed; scripts/setup.sh installs it"
        );
    }
}

/// A network namespace, deleted (after killing what runs in it) on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(name: String) -> Netns {
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        let out = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .expect("cannot run ip");
        assert!(
            out.status.success(),
            "`ip netns add {name}` failed ({}); this test needs network namespaces",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// `ip -n NAME ARGS`.
    pub fn ip(&self, args: &[&str]) {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        sh("ip", &all);
    }

    /// `ip netns exec NAME PROGRAM ARGS`, as a command to configure further.
    pub fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.name])
            .arg(program)
            .args(args);
        command
    }

    /// Runs a command inside and returns stdout, panicking on failure.
    pub fn exec(&self, program: &str, args: &[&str]) -> String {
        let mut all = vec!["netns", "exec", self.name.as_str(), program];
        all.extend_from_slice(args);
        sh("ip", &all)
    }

    /// Runs `ip` commands (without the leading `ip`) in one `ip -batch` process: one process
    /// per namespace and reconfiguration instead of one per command.
    pub fn ip_batch(&self, commands: &[String]) {
        if commands.is_empty() {
            return;
        }
        let mut child = Command::new("ip")
            .args(["-n", &self.name, "-batch", "-"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("cannot run ip");
        let text = commands.join("\n") + "\n";
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write to ip -batch");
        let out = child.wait_with_output().expect("ip -batch");
        assert!(
            out.status.success(),
            "ip -n {} -batch failed: {}\ncommands:\n{text}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Sets sysctls (`key=value`) inside.
    pub fn sysctl(&self, settings: &[&str]) {
        let mut args = vec!["-qw"];
        args.extend_from_slice(settings);
        self.exec("sysctl", &args);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        kill_pids_in(&self.name);
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// A child process, killed on drop.
pub struct Proc {
    pub child: Child,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
