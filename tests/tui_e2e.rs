//! End-to-end runs of the real binary in a real pseudo-terminal (tmux):
//! keys and bracketed pastes go in through tmux, the screen is read back
//! with capture-pane, and the outcome is checked in the store and with
//! openssl. Every wait polls the screen (no fixed sleeps) with a generous
//! timeout, for slow shared machines.
//!
//! Longer than ~600 lines on purpose: every file in `tests/` is its own
//! binary that links the whole crate, so one topic stays one file.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{SITE, World, have, openssl, openssl_csr};

const P256: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];

const TIMEOUT: Duration = Duration::from_secs(20);

macro_rules! require_tmux {
    () => {
        if !have("tmux", &["-V"]) {
            eprintln!("SKIPPED: tmux is not installed (apt-get install tmux)");
            return;
        }
    };
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A private tmux server running esa-certs in one 100×30 pane. Dropping it
/// kills the server, also when the test fails.
struct Tmux {
    socket: String,
    conf: PathBuf,
    /// The shell writes the app's exit status here (tmux itself does not
    /// always reap a pane's process in time to report it).
    status: PathBuf,
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

impl Tmux {
    /// Starts the app on `world`'s config. `env` adds variables; DISPLAY
    /// is removed unless `env` sets it.
    fn start(world: &World, env: &[(&str, &str)]) -> Tmux {
        Tmux::start_with(world, env, "", "")
    }

    /// `conf_extra` is added to tmux's config; `after` is a shell command run
    /// in the pane once the app has exited (and its status is written).
    fn start_with(world: &World, env: &[(&str, &str)], conf_extra: &str, after: &str) -> Tmux {
        Tmux::launch(world, env, conf_extra, after, &[])
    }

    /// The app with `app_args` after `--config FILE` (e.g. `--remote team`).
    fn launch(
        world: &World,
        env: &[(&str, &str)],
        conf_extra: &str,
        after: &str,
        app_args: &[&str],
    ) -> Tmux {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let socket = format!("esa-e2e-{}-{n}", std::process::id());
        let conf = world.path(&format!("tmux-{n}.conf"));
        // Keep the pane after the app exits (to read its exit status), and
        // let applications set tmux's buffer with OSC 52.
        std::fs::write(
            &conf,
            format!(
                "set -g remain-on-exit on\nset -g set-clipboard on\nset -g history-limit 0\n{conf_extra}\n"
            ),
        )
        .unwrap();
        let status = world.path(&format!("tmux-{n}.status"));
        let mut cmd = String::from("env -u DISPLAY -u ESA_CERTS_CONFIG -u NO_COLOR");
        let dir = world.dir.path();
        for (k, v) in [
            ("HOME", dir.to_path_buf()),
            ("XDG_CONFIG_HOME", dir.join("xdg-config")),
            ("XDG_DATA_HOME", dir.join("xdg-data")),
        ] {
            cmd.push_str(&format!(" {k}={}", quote(&v.display().to_string())));
        }
        for (k, v) in env {
            cmd.push_str(&format!(" {k}={}", quote(v)));
        }
        let extra: String = app_args.iter().map(|a| format!(" {}", quote(a))).collect();
        cmd.push_str(&format!(
            " {} --config {}{extra}; echo $? > {}",
            quote(env!("CARGO_BIN_EXE_esa-certs")),
            quote(&world.config.display().to_string()),
            quote(&status.display().to_string()),
        ));
        if !after.is_empty() {
            cmd.push_str("; ");
            cmd.push_str(after);
        }
        let t = Tmux {
            socket,
            conf,
            status,
        };
        let out = t.run(&[
            "new-session",
            "-d",
            "-s",
            "e2e",
            "-x",
            "100",
            "-y",
            "30",
            &cmd,
        ]);
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("-f")
            .arg(&self.conf)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run tmux")
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        assert!(self.run(&args).status.success());
    }

    /// Types text literally.
    fn text(&self, s: &str) {
        assert!(
            self.run(&["send-keys", "-t", "e2e", "-l", s])
                .status
                .success()
        );
    }

    /// Pastes a file's text the way a terminal does: as a bracketed paste
    /// when the app turned that mode on (`paste-buffer -p`).
    fn paste_file(&self, path: &Path) {
        let p = path.display().to_string();
        assert!(
            self.run(&["load-buffer", "-b", "e2e-paste", &p])
                .status
                .success()
        );
        let out = self.run(&["paste-buffer", "-p", "-d", "-b", "e2e-paste", "-t", "e2e"]);
        assert!(out.status.success());
    }

    /// The screen and the pane's history above it.
    fn screen_and_history(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-S", "-", "-t", "e2e"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "e2e"]).stdout).into_owned()
    }

    fn format(&self, f: &str) -> String {
        let out = self.run(&["display-message", "-p", "-t", "e2e", f]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Presses → on the focused choice until it shows `label`.
    fn choose(&self, label: &str) {
        for _ in 0..10 {
            let before = self.screen();
            if before.contains(label) {
                return;
            }
            self.keys(&["Right"]);
            self.wait_until("the choice to change", |s| s != before);
        }
        panic!("{label} is not among the choices:\n{}", self.screen());
    }

    /// Waits until the screen shows `needle`; returns the screen.
    fn wait_for(&self, needle: &str) -> String {
        self.wait_until(&format!("{needle:?} on screen"), |s| s.contains(needle))
    }

    fn wait_until(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            if start.elapsed() > TIMEOUT {
                panic!("timed out waiting for {what}; the screen was:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for the app to exit; returns its exit status.
    fn wait_exit(&self) -> i32 {
        let start = Instant::now();
        loop {
            if let Ok(s) = std::fs::read_to_string(&self.status)
                && let Ok(code) = s.trim().parse()
            {
                return code;
            }
            if start.elapsed() > TIMEOUT {
                panic!("the app did not exit; the screen was:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

fn verify(world: &World, cert_pem: &str, name: &str) {
    let cert = world.write(name, cert_pem);
    let ca = world.ca_file(SITE);
    let (ok, out) = openssl(&[
        "verify",
        "-purpose",
        "sslclient",
        "-CAfile",
        &ca.display().to_string(),
        &cert.display().to_string(),
    ]);
    assert!(ok && out.contains(": OK"), "openssl verify: {out}");
}

fn only_certificate(world: &World) -> serde_json::Value {
    let list = world.json(&["list", "--json"]);
    assert_eq!(list["TotalCount"], 1, "{list}");
    list["Result"][0].clone()
}

#[test]
fn issue_an_ecdsa_certificate_through_the_form() {
    require_tmux!();
    require_openssl!();
    let world = World::new("");
    let t = Tmux::start(&world, &[]);
    t.wait_for("No certificates yet");
    assert_eq!(t.format("#{alternate_on}"), "1");

    // A tiny window gets a note, not a crash; back to full size.
    t.run(&["resize-window", "-t", "e2e", "-x", "30", "-y", "8"]);
    t.wait_for("Terminal too small");
    t.run(&["resize-window", "-t", "e2e", "-x", "100", "-y", "30"]);
    t.wait_for("No certificates yet");

    t.keys(&["n"]);
    t.wait_for("New client certificate");
    t.keys(&["Down"]);
    t.choose("‹ ECDSA P-256 (ECC_256) ›");
    t.keys(&["Down"]);
    t.text("e2e.example.com");
    t.keys(&["Down"]);
    t.text("from tmux");
    t.wait_for("from tmux");
    t.keys(&["Enter"]);
    let result = t.wait_for("Certificate issued");
    assert!(result.contains("e2e.example.com"), "{result}");
    assert!(result.contains("ECDSA-SHA256"), "{result}");

    t.keys(&["Escape"]);
    // (At 100 columns the name column is cut: every column is shown.)
    let main = t.wait_for("from tmux · e2e.example.c");
    assert!(
        main.contains("ECC_256") && main.contains("active"),
        "{main}"
    );
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), 0);
    // The terminal was given back: no alternate screen any more.
    assert_eq!(t.format("#{alternate_on}"), "0");

    let c = only_certificate(&world);
    assert_eq!(c["CommonName"], "e2e.example.com");
    assert_eq!(c["Name"], "from tmux");
    assert_eq!(c["PkeyType"], "ECC_256");
    let id = c["Id"].as_str().unwrap();
    verify(&world, &world.ok(&["export", id]), "e2e.pem");
}

#[test]
fn paste_a_csr_made_by_openssl_and_issue_from_it() {
    require_tmux!();
    require_openssl!();
    let world = World::new("");
    let csr = openssl_csr(&world, "req", &P256, "/CN=csr-e2e.example.com/O=Acme", &[]);

    let t = Tmux::start(&world, &[]);
    t.wait_for("No certificates yet");
    t.keys(&["n"]);
    t.wait_for("New client certificate");
    // Pasted while ValidityDays has the focus: the form switches to CSR
    // mode by itself and shows what the CSR asks for.
    t.paste_file(&csr);
    let form = t.wait_for("✓ CN=csr-e2e.example.com, O=Acme · ECDSA P-256");
    assert!(form.contains("‹ Use my CSR ›"), "{form}");
    // As a new user would: Enter (the form's button says so) issues.
    t.keys(&["Enter"]);
    let result = t.wait_for("Certificate issued");
    assert!(result.contains("csr-e2e.example.com"), "{result}");
    t.keys(&["End"]);
    t.wait_for("the private key never left you");
    t.keys(&["Escape"]);
    t.wait_for("csr-e2e.example.com");
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), 0);

    let c = only_certificate(&world);
    assert_eq!(c["CommonName"], "csr-e2e.example.com");
    assert_eq!(c["Type"], "csr");
    let id = c["Id"].as_str().unwrap();
    let pem = world.ok(&["export", id]);
    verify(&world, &pem, "csr-cert.pem");
    // The certificate carries the CSR's public key.
    let cert = world.write("csr-cert2.pem", &pem);
    let (_, cert_key) = openssl(&[
        "x509",
        "-noout",
        "-pubkey",
        "-in",
        &cert.display().to_string(),
    ]);
    let (_, csr_key) = openssl(&[
        "req",
        "-noout",
        "-pubkey",
        "-in",
        &csr.display().to_string(),
    ]);
    assert_eq!(cert_key, csr_key);
}

/// A CSR file with Windows line ends, pasted through tmux: tmux turns
/// each LF into CR, so the app receives `\r\r` per line.
#[test]
fn paste_a_crlf_csr_through_tmux() {
    require_tmux!();
    require_openssl!();
    let world = World::new("");
    let csr = openssl_csr(&world, "crlf", &P256, "/CN=crlf-e2e.example.com", &[]);
    let text = std::fs::read_to_string(&csr).unwrap();
    let crlf = world.write("crlf-win.csr", &text.replace('\n', "\r\n"));

    let t = Tmux::start(&world, &[]);
    t.wait_for("No certificates yet");
    t.keys(&["n"]);
    t.wait_for("New client certificate");
    t.paste_file(&crlf);
    t.wait_for("✓ CN=crlf-e2e.example.com · ECDSA P-256");
    t.keys(&["C-s"]);
    t.wait_for("Certificate issued");
    t.keys(&["Escape"]);
    t.wait_for("crlf-e2e.example.com");
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), 0);
    assert_eq!(
        only_certificate(&world)["CommonName"],
        "crlf-e2e.example.com"
    );
}

#[test]
fn without_a_display_copies_go_to_the_terminal_by_osc52() {
    require_tmux!();
    let world = World::new("");
    let issued = world.issue("ED25519", 30);
    let t = Tmux::start(&world, &[]);
    t.wait_for(issued["Id"].as_str().unwrap().get(..12).unwrap());
    t.keys(&["c"]);
    t.wait_for("by OSC 52 (no native clipboard)");
    // tmux (set-clipboard on) took the OSC 52 text into its buffer.
    let buf = t.run(&["show-buffer"]);
    assert_eq!(
        String::from_utf8_lossy(&buf.stdout),
        issued["Certificate"].as_str().unwrap()
    );
    t.keys(&["C-c"]);
    assert_eq!(t.wait_exit(), 0);
}

/// An X server for the native clipboard; killed on drop.
struct Xvfb {
    child: Child,
    display: String,
}

impl Xvfb {
    fn start() -> Option<Xvfb> {
        // A display number nobody uses (no lock file, no socket).
        let base = 90 + std::process::id() % 400;
        let n = (base..base + 50).find(|n| {
            !Path::new(&format!("/tmp/.X{n}-lock")).exists()
                && !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
        })?;
        let display = format!(":{n}");
        let child = Command::new("Xvfb")
            .args([
                display.as_str(),
                "-nolisten",
                "tcp",
                "-screen",
                "0",
                "640x480x24",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut x = Xvfb { child, display };
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
        let start = Instant::now();
        while !socket.exists() {
            let exited = x.child.try_wait().ok().flatten().is_some();
            if exited || start.elapsed() > TIMEOUT {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(x)
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn with_a_display_copies_go_to_the_native_clipboard() {
    require_tmux!();
    if !have("xclip", &["-version"]) || Command::new("Xvfb").arg("-help").output().is_err() {
        eprintln!("SKIPPED: Xvfb and xclip are not installed (apt-get install xvfb xclip)");
        return;
    }
    let Some(x) = Xvfb::start() else {
        eprintln!("SKIPPED: Xvfb did not start");
        return;
    };
    let world = World::new("");
    let issued = world.issue("ED25519", 30);
    let t = Tmux::start(&world, &[("DISPLAY", &x.display)]);
    t.wait_for(issued["Id"].as_str().unwrap().get(..12).unwrap());
    let read_clipboard = || {
        let out = Command::new("xclip")
            .args(["-o", "-selection", "clipboard"])
            .env("DISPLAY", &x.display)
            .stdin(Stdio::null())
            .output()
            .expect("xclip");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    t.keys(&["c"]);
    t.wait_for("Copied certificate of");
    assert_eq!(read_clipboard(), issued["Certificate"].as_str().unwrap());
    t.keys(&["K"]);
    t.wait_for("(not in clipboard history)");
    assert_eq!(read_clipboard(), issued["PrivateKey"].as_str().unwrap());
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), 0);
}

#[test]
fn a_broken_config_is_shown_full_screen_and_r_reloads_it() {
    require_tmux!();
    let world = World::new("[defaults]\nvalidity_days = \"a year\"\n");
    let good = std::fs::read_to_string(&world.config)
        .unwrap()
        .replace("\"a year\"", "90");
    let t = Tmux::start(&world, &[]);
    // The last line of the screen: a capture taken while the frame was
    // still being written (seen under load) would miss it.
    let screen = t.wait_for("press r to reload");
    assert!(
        screen.contains("The config needs fixing")
            && screen.contains("InvalidParameter.Config")
            && screen.contains("defaults.validity_days")
            && screen.contains("validity_days = \"a year\"")
            && screen.contains("press r to reload"),
        "{screen}"
    );
    // Still broken: r says so and stays.
    t.keys(&["r"]);
    t.wait_for("still not usable (1 reload)");
    // Fixed in "another window": r opens the desk.
    std::fs::write(&world.config, good).unwrap();
    t.keys(&["r"]);
    t.wait_for("No certificates yet");
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), 0);
    assert_eq!(t.format("#{alternate_on}"), "0");
    // The subcommands keep printing the error and exiting.
    std::fs::write(&world.config, "[defaults]\nvalidity_days = \"x\"\n").unwrap();
    let out = world.run(&["list"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error[InvalidParameter.Config]"), "{err}");
}

#[test]
fn q_on_the_config_error_screen_leaves_the_error_on_the_terminal() {
    require_tmux!();
    let world = World::with_config("[[site]]\nid = \"not a number\"\nname = \"x\"\n");
    let t = Tmux::start(&world, &[]);
    t.wait_for("The config needs fixing");
    t.keys(&["q"]);
    // Not fixed: the error stays on the shell's screen, exit status 1.
    assert_eq!(t.wait_exit(), 1);
    assert_eq!(t.format("#{alternate_on}"), "0");
    // (Its first line may have scrolled out of this history-less pane.)
    t.wait_for("expected u64");
}

/// Whether a capture shows any part of a TUI frame (box drawing).
fn has_frame(s: &str) -> bool {
    s.contains(['│', '─', '┌', '└'])
}

#[test]
fn quitting_after_a_resize_leaves_no_frame_on_the_normal_screen() {
    require_tmux!();
    let world = World::new("");
    world.json(&[
        "issue",
        "--site-id",
        &SITE.to_string(),
        "--validity-days",
        "30",
        "--json",
    ]);
    // The shell stays, as when the app is run from a prompt; history on,
    // as by default (tmux 3.3 left part of a resized frame there).
    for (x, y) in [("110", "35"), ("80", "24")] {
        let t = Tmux::start_with(&world, &[], "set -g history-limit 2000", "exec cat");
        t.wait_for("Certificates ·");
        t.run(&["resize-window", "-t", "e2e", "-x", x, "-y", y]);
        t.keys(&["q"]);
        assert_eq!(t.wait_exit(), 0);
        assert_eq!(t.format("#{alternate_on}"), "0");
        let s = t.screen_and_history();
        assert!(
            !has_frame(&s),
            "a frame was left after a resize to {x}x{y}:\n{s}"
        );
    }
}

#[test]
fn a_panic_in_a_job_is_shown_and_the_app_stays_usable() {
    require_tmux!();
    let world = World::new("");
    // Every job panics (debug-only fail point): the first read of the
    // store is one. Before: the thread died, the title's spinner turned
    // for ever and the panic hook had already left the alternate screen.
    let t = Tmux::start(
        &world,
        &[("ESA_CERTS_TEST_PANIC", "worker"), ("RUST_BACKTRACE", "0")],
    );
    let s = t.wait_for("Cannot run the operation");
    assert!(s.contains("InternalException"), "{s}");
    assert!(s.contains("stopped unexpectedly"), "{s}");
    assert!(
        !s.contains("panicked at"),
        "the panic was printed over the screen:\n{s}"
    );
    assert_eq!(t.format("#{alternate_on}"), "1", "{s}");
    t.keys(&["Escape"]);
    // The change poll (every 2 s) panics too; nobody asked for it, so it
    // never opens the popup again (it used to, and swallowed the `q`).
    std::thread::sleep(Duration::from_millis(2600));
    let s = t.screen();
    assert!(!s.contains("Cannot run the operation"), "{s}");
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), 0, "{}", t.screen());
    assert_eq!(t.format("#{alternate_on}"), "0");
}

#[test]
fn a_panic_restores_the_terminal_and_leaves_its_message() {
    require_tmux!();
    let world = World::new("");
    // `cat -v` after the app shows a bracketed paste's markers if the
    // mode was left on.
    let t = Tmux::start_with(
        &world,
        &[
            ("ESA_CERTS_TEST_PANIC", "after-first-draw"),
            ("RUST_BACKTRACE", "0"),
        ],
        "",
        "exec cat -v",
    );
    assert_eq!(t.wait_exit(), 101, "{}", t.screen());
    assert_eq!(t.format("#{alternate_on}"), "0");
    let s = t.wait_for("ESA_CERTS_TEST_PANIC=after-first-draw: a test panic");
    assert!(s.contains("panicked at"), "{s}");
    assert!(!has_frame(&s), "{s}");
    let probe = world.write("probe.txt", "probe-after-panic");
    t.paste_file(&probe);
    let s = t.wait_for("probe-after-panic");
    assert!(!s.contains("[200~"), "bracketed paste was left on:\n{s}");
    // tmux (3.3) has no format for focus reporting, and focus events need
    // an attached client: that part is not checked here.
    eprintln!("NOTE: focus reporting after the panic is not checked (tmux cannot tell)");
}

/// The TUI on a remote endpoint (`esa-certs serve` in another process):
/// issue from a generated key and from a pasted CSR, copy, revoke,
/// activate, delete; each result checked in the server's own store.
#[test]
fn the_desk_on_a_remote_serve_issues_copies_revokes_activates_and_deletes() {
    require_tmux!();
    require_openssl!();
    let server = World::new("").with_access_key();
    let running = server.serve(&[]);
    let client = World::remote_client(&running, common::server::SECRET);
    let csr = openssl_csr(&client, "rq", &P256, "/CN=remote-csr.example.com", &[]);
    let t = Tmux::launch(&client, &[], "", "", &["--remote", "team"]);
    t.wait_for("No certificates yet");
    let top = t.screen();
    assert!(top.contains("team"), "the title names the remote: {top}");

    // A generated key.
    t.keys(&["n"]);
    t.wait_for("New client certificate");
    t.keys(&["Down"]);
    t.choose("‹ ECDSA P-256 (ECC_256) ›");
    t.keys(&["Down"]);
    t.text("remote-gen.example.com");
    t.keys(&["Enter"]);
    t.wait_for("Certificate issued");
    t.keys(&["Escape"]);
    t.wait_for("remote-gen.example.");
    let listed = server.json(&["list", "--json"]);
    assert_eq!(listed["TotalCount"], 1, "{listed}");
    let gen_id = listed["Result"][0]["Id"].as_str().unwrap().to_owned();
    assert_eq!(listed["Result"][0]["CommonName"], "remote-gen.example.com");

    // A pasted CSR; Enter issues.
    t.keys(&["n"]);
    t.wait_for("New client certificate");
    t.paste_file(&csr);
    t.wait_for("✓ CN=remote-csr.example.com · ECDSA P-256");
    t.keys(&["Enter"]);
    t.wait_for("Certificate issued");
    t.keys(&["Escape"]);
    t.wait_for("remote-csr.example.");
    let listed = server.json(&["list", "--json"]);
    assert_eq!(listed["TotalCount"], 2, "{listed}");
    let csr_row = listed["Result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["CommonName"] == "remote-csr.example.com")
        .expect("the CSR certificate on the server")
        .clone();
    assert_eq!(csr_row["Type"], "csr");
    let csr_id = csr_row["Id"].as_str().unwrap().to_owned();

    // The selection is the newest row (the CSR certificate): copy it.
    t.keys(&["c"]);
    t.wait_for("by OSC 52 (no native clipboard)");
    let buf = t.run(&["show-buffer"]);
    assert_eq!(
        String::from_utf8_lossy(&buf.stdout),
        server.ok(&["export", &csr_id])
    );

    // Revoke (default reason), activate, revoke, delete.
    t.keys(&["r"]);
    t.wait_for("Revoke this certificate?");
    t.keys(&["y"]);
    t.wait_for("Revoked");
    assert_eq!(
        server.json(&["show", &csr_id, "--json"])["Status"],
        "revoked"
    );
    t.keys(&["a"]);
    t.wait_for("Re-activate this certificate?");
    t.keys(&["y"]);
    t.wait_for("Activated");
    assert_eq!(
        server.json(&["show", &csr_id, "--json"])["Status"],
        "active"
    );
    t.keys(&["r"]);
    t.wait_for("Revoke this certificate?");
    t.keys(&["y"]);
    t.wait_until("revoked again", |s| s.contains("Revoked"));
    t.keys(&["D"]);
    t.wait_for("Delete");
    t.keys(&["Enter"]);
    t.wait_for("Deleted");
    assert!(!server.run(&["show", &csr_id, "--json"]).status.success());
    // The generated one is untouched.
    assert_eq!(
        server.json(&["show", &gen_id, "--json"])["Status"],
        "active"
    );
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), 0);
}
