//! The benchmark scripts (benches/): they run nowhere in CI (they time fresh installs),
//! so CI at least checks that they parse, and that the report computes its medians and
//! ratios right from known samples.

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn benchmark_scripts_parse() {
    for script in ["benches/run.sh", "benches/rerun.sh", "benches/fuzz.sh"] {
        let out = Command::new("bash")
            .arg("-n")
            .arg(root().join(script))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_report_takes_medians_and_ratios_of_the_same_run() {
    let dir = tempfile::tempdir().unwrap();
    let samples = dir.path().join("samples.tsv");
    let out = dir.path().join("latest.json");
    std::fs::write(
        &samples,
        "meta.runs\t3\nmeta.tarball_bytes\t400000000\n\
         install.floor_a_s\t40\ninstall.floor_a_s\t50\ninstall.floor_a_s\t90\n\
         install.full_b_s\t60\ninstall.full_b_s\t55\ninstall.full_b_s\t70\n\
         install.serial_c_s\t66\ninstall.b_service_start_s\t2\n\
         download.installer_download_s\t1\ndownload.curl_file_fsync_s\t2\n\
         download.installer_download_hwm_kib\t10240\ndownload.installer_unpack_hwm_kib\t51200\n\
         rerun.install_s\t0.2\nrerun.status_s\t0.3\nrerun.files_written\t0\n",
    )
    .unwrap();
    let run = Command::new("python3")
        .arg(root().join("benches/report.py"))
        .arg(&samples)
        .arg(&out)
        .arg("abc1234")
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{table}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let find = |fig: &str, label: &str| -> serde_json::Value {
        json["figures"][fig]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["label"].as_str().unwrap().starts_with(label))
            .unwrap_or_else(|| panic!("no {label} in {fig}: {json}"))
            .clone()
    };
    // Medians: A 50 (of 40, 50, 90), B 60 (of 55, 60, 70); B/A = 1.2; the goal is
    // 1.15 x 50 + 2 = 59.5 s, missed by B's 60.
    let b = find("1 install", "B: full install");
    assert_eq!(b["median"], 60.0);
    assert!((b["ratio"].as_f64().unwrap() - 1.2).abs() < 1e-9, "{b}");
    assert_eq!(b["goal_met"], false);
    assert!((find("1 install", "B / C")["median"].as_f64().unwrap() - 60.0 / 66.0).abs() < 1e-9);
    let d = find("3 download", "installer: fetch");
    assert_eq!(d["ratio"], 0.5);
    assert_eq!(d["goal_met"], true);
    // Peak RSS: the larger of download and unpack (50 MiB) misses the 40 MiB goal.
    assert_eq!(
        find("3 download", "  installer peak RSS (VmHWM), unpack")["goal_met"],
        false
    );
    assert_eq!(
        find("4 rerun", "files a re-run writes on disk")["goal_met"],
        true
    );
    assert!(table.contains("MISSED") && table.contains("met"), "{table}");
    assert!(table.contains("commit abc1234"), "{table}");
}
