//! `esa-certs serve` as a child process of a test, and the official SDK's
//! Python interpreter (installed by `scripts/test.sh` into
//! `target/sdk-venv`).

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use super::World;

pub const KEY_ID: &str = "testAKID";
pub const SECRET: &str = "testSecret";

/// A running server; stopped with SIGTERM when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub port: u16,
}

impl Server {
    /// Sends SIGTERM and waits; returns whether it exited with 0.
    pub fn stop(mut self) -> bool {
        terminate(&mut self.child)
    }
}

fn terminate(child: &mut Child) -> bool {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    child.wait().map(|s| s.success()).unwrap_or(false)
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            terminate(&mut self.child);
        }
    }
}

impl World {
    /// Adds the test access key to the config (secret file 0600).
    pub fn with_access_key(self) -> World {
        let secret = self.path("ak.secret");
        std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut text = std::fs::read_to_string(&self.config).unwrap();
        text.push_str(&format!(
            "\n[[access_key]]\nid = \"{KEY_ID}\"\nsecret_file = \"ak.secret\"\n"
        ));
        std::fs::write(&self.config, text).unwrap();
        self
    }

    /// A client world whose config names `server` as `[[remote]] team`
    /// (secret file 0600 holding `secret`, keys kept locally), with one
    /// local site of its own that must never show up on the remote.
    pub fn remote_client(server: &Server, secret: &str) -> World {
        let client = World::with_config(&format!(
            "[store]\npath = \"store\"\n\n[[site]]\nid = 7\nname = \"local.example\"\n\n\
             [[remote]]\nname = \"team\"\nendpoint = \"{}\"\naccess_key_id = \"{KEY_ID}\"\n\
             access_key_secret_file = \"team.secret\"\nkeep_private_keys = true\n",
            server.url
        ));
        let path = client.path("team.secret");
        std::fs::write(&path, format!("{secret}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        client
    }

    /// Starts `serve --listen 127.0.0.1:0 extra...` and waits for its
    /// `listening on` line.
    pub fn serve(&self, extra: &[&str]) -> Server {
        let mut child = self
            .cmd()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn esa-certs serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listening line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        let port = url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port");
        Server { child, url, port }
    }
}

/// The Python with the official SDKs, or `None` after printing why the
/// test is skipped. With `ESA_CERTS_REQUIRE_SDK` set (CI), a missing SDK
/// fails the test instead.
pub fn sdk_python() -> Option<PathBuf> {
    let python = std::env::var_os("ESA_CERTS_SDK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/sdk-venv/bin/python")
        });
    let ok = Command::new(&python)
        .args(["-c", "import alibabacloud_esa20240910, aliyunsdkcore"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        return Some(python);
    }
    let why = format!(
        "the official Alibaba Cloud SDKs are not installed at {} (scripts/test.sh installs them)",
        python.display()
    );
    if std::env::var_os("ESA_CERTS_REQUIRE_SDK").is_some() {
        panic!("ESA_CERTS_REQUIRE_SDK is set but {why}");
    }
    eprintln!("SKIPPED: {why}");
    None
}

/// Runs a scenario of `tests/sdk/esa_sdk.py` against `server`; returns
/// its JSON (panics with its stderr when it fails).
pub fn drive(
    python: &PathBuf,
    scenario: &str,
    server: &Server,
    site: u64,
    args: &[&str],
) -> serde_json::Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/esa_sdk.py");
    let out = Command::new(python)
        .arg(script)
        .arg(scenario)
        .arg(server.port.to_string())
        .arg(site.to_string())
        .args(args)
        .output()
        .expect("run the SDK driver");
    assert!(
        out.status.success(),
        "SDK scenario {scenario} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "bad JSON from the SDK driver ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}
