//! `TERM=dumb` (serial consoles, CI logs, `script` transcripts): the plain wizard asks
//! every question as bare text, one answer per line, and writes not one escape byte.

use std::time::{Duration, Instant};

use portable_pty::CommandBuilder;

use crate::support::mirror;
use crate::wizard_pty::Pty;

const PASSWORD: &str = "Correct-Horse-Battery-9";

/// The output since `seen` once it has stopped moving and ends in a prompt (the text
/// after the last newline: prompts end without one); and the new length.
fn next_prompt(p: &Pty, seen: usize, deadline: Instant) -> Option<(String, usize)> {
    let mut last = p.raw();
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let now = p.raw();
        if now == last && now.len() > seen {
            let text = String::from_utf8_lossy(&now[seen..]).into_owned();
            let tail = text.rsplit('\n').next().unwrap_or("").to_owned();
            if !tail.trim().is_empty() {
                return Some((text, now.len()));
            }
        }
        if Instant::now() > deadline {
            return None;
        }
        last = now;
    }
}

#[test]
fn a_dumb_terminal_transcript_of_the_whole_wizard_has_no_escape_byte() {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("answers.json");
    let mut cmd = CommandBuilder::new(mirror::installer());
    cmd.env("TERM", "dumb");
    cmd.env("LANG", "C.UTF-8");
    cmd.env_remove("NO_COLOR");
    cmd.cwd(dir.path());
    let mut p = Pty::spawn(cmd, 24, 80);
    let deadline = Instant::now() + Duration::from_secs(120);
    let (mut seen, mut nexts, mut answered) = (0, 0, Vec::new());
    while let Some((chunk, len)) = next_prompt(&p, seen, deadline) {
        seen = len;
        let prompt = chunk.rsplit('\n').next().unwrap_or("").to_owned();
        let reply = if prompt.starts_with("Domain") {
            "chat.example.com".to_owned()
        } else if prompt.starts_with("Let's Encrypt e-mail") {
            "ops@example.com".to_owned()
        } else if prompt.starts_with("Choose") && chunk.contains("Terms of service:") {
            // TLS on by default: agree to the CA's terms (option 2, "I agree").
            "2".to_owned()
        } else if prompt.starts_with("Save to:") {
            saved.display().to_string()
        } else if prompt.contains("assword") || prompt.starts_with("Again:") {
            PASSWORD.to_owned()
        } else if chunk.lines().any(|l| l.starts_with("Next:")) {
            nexts += 1;
            if nexts == 1 { "2" } else { "4" }.to_owned()
        } else {
            String::new()
        };
        answered.push(prompt.clone());
        p.send(&format!("{reply}\r"));
        if nexts == 2 {
            break;
        }
    }
    let code = p.wait_exit(30);
    // The reader thread may still hold the last bytes.
    let drained = Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(&p.raw()).contains("Nothing was installed")
        && Instant::now() < drained
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let transcript = String::from_utf8_lossy(&p.raw()).into_owned();
    assert_eq!(
        nexts, 2,
        "never reached the review twice; prompts: {answered:?}\n{transcript}"
    );
    assert_eq!(code, 1, "{transcript}");
    assert!(answered.len() > 5, "too few questions: {answered:?}");
    let json = std::fs::read_to_string(&saved).unwrap_or_else(|e| panic!("{e}\n{transcript}"));
    assert!(json.contains("chat.example.com"), "{json}");
    assert!(transcript.contains("Nothing was installed"), "{transcript}");
    let escapes = transcript.matches('\u{1b}').count();
    assert_eq!(escapes, 0, "{escapes} escape bytes in:\n{transcript:?}");
}

/// Several machines with bare-text prompts: the machines' questions, this machine's
/// name asked again until it is one of the list, the object storage secret read
/// without echo, and answers saved for every machine.
#[test]
fn a_dumb_terminal_asks_for_several_machines() {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("cluster.json");
    let mut cmd = CommandBuilder::new(mirror::installer());
    cmd.env("TERM", "dumb");
    cmd.env("LANG", "C.UTF-8");
    cmd.cwd(dir.path());
    let mut p = Pty::spawn(cmd, 24, 80);
    let deadline = Instant::now() + Duration::from_secs(120);
    let (mut seen, mut nexts, mut nodes) = (0, 0, 0);
    while let Some((chunk, len)) = next_prompt(&p, seen, deadline) {
        seen = len;
        let prompt = chunk.rsplit('\n').next().unwrap_or("").to_owned();
        let reply = if prompt.starts_with("Domain") {
            "chat.example.com"
        } else if prompt.starts_with("Choose") && chunk.contains("Machines:") {
            "2"
        } else if prompt.starts_with("Machine list") {
            "db1 database 192.0.2.10, app1 app 192.0.2.21, web proxy 192.0.2.30"
        } else if prompt.starts_with("This machine") {
            // First an empty answer: none of the addresses is this machine's.
            nodes += 1;
            if nodes == 1 { "" } else { "app1" }
        } else if prompt.starts_with("Object storage URL") {
            "https://s3.example.com"
        } else if prompt.starts_with("Bucket") {
            "chat-files"
        } else if prompt.starts_with("Access key ID") {
            "AKIDEXAMPLE"
        } else if prompt.starts_with("Secret key") {
            "s3cr3t/with+chars"
        } else if prompt.starts_with("Let's Encrypt e-mail") {
            "ops@example.com"
        } else if prompt.starts_with("Choose") && chunk.contains("Terms of service:") {
            "2"
        } else if prompt.starts_with("Save to:") {
            saved.to_str().unwrap()
        } else if chunk.lines().any(|l| l.starts_with("Next:")) {
            nexts += 1;
            if nexts == 1 { "2" } else { "4" }
        } else {
            ""
        };
        p.send(&format!("{reply}\r"));
        if nexts == 2 {
            break;
        }
    }
    let code = p.wait_exit(30);
    let transcript = String::from_utf8_lossy(&p.raw()).into_owned();
    assert_eq!(code, 1, "{transcript}");
    assert_eq!(
        nodes, 2,
        "this machine's name was not asked again:\n{transcript}"
    );
    assert!(
        transcript.contains("none of the listed machines is this server"),
        "{transcript}"
    );
    assert!(
        transcript.contains("this is app1 (app) of 3"),
        "{transcript}"
    );
    assert!(
        transcript.contains("Set up db1 first, then app1, then web"),
        "{transcript}"
    );
    assert!(
        !transcript.contains("s3cr3t"),
        "the secret was echoed:\n{transcript}"
    );
    let json = std::fs::read_to_string(&saved).unwrap_or_else(|e| panic!("{e}\n{transcript}"));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["machines"][0]["name"], "db1", "{json}");
    assert_eq!(v["s3_endpoint"], "s3.example.com", "{json}");
    assert_eq!(v["proxy"], "nginx", "{json}");
    assert!(!json.contains("s3cr3t"), "{json}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("cluster.s3-secret")).unwrap(),
        "s3cr3t/with+chars\n"
    );
}

/// SIGTERM and SIGHUP (a shutdown, a dropped ssh session) while the full screen is
/// open: the terminal is restored (the alternate screen left, raw mode off) and the
/// program exits promptly instead of dying in raw mode.
#[test]
fn sigterm_and_sighup_restore_the_terminal() {
    for signal in ["TERM", "HUP"] {
        let dir = tempfile::tempdir().unwrap();
        let mut p = crate::wizard_pty::local(&[], 30, 100, dir.path());
        p.wait_for(&["Preflight"], 60);
        let entered = p.raw().len();
        let status = std::process::Command::new("kill")
            .args([format!("-{signal}"), p.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let code = p.wait_exit(10);
        let drained = Instant::now() + Duration::from_secs(10);
        let left = |p: &Pty| {
            let raw = p.raw();
            raw[entered..].windows(8).any(|w| w == b"\x1b[?1049l")
        };
        while !left(&p) && Instant::now() < drained {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(left(&p), "SIG{signal}: the alternate screen was not left");
        assert_ne!(
            code, 0,
            "SIG{signal}: quitting without an install is not success"
        );
    }
}
