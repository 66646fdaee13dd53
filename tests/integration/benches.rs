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
         rerun.install_s\t0.2\nrerun.status_s\t0.3\nrerun.files_written\t0\n\
         backup.data_bytes\t2147483648\nbackup.data_files\t20000\nbackup.posts\t200000\n\
         backup.tool_s\t12\nbackup.tool_s\t14\nbackup.tool_s\t30\n\
         backup.anchor_s\t10\nbackup.anchor_s\t11\nbackup.anchor_s\t9\n\
         backup.archive_bytes\t2200000000\nbackup.tool_hwm_kib\t9216\n\
         backup.anchor_pg_dump_rss_kib\t20480\nbackup.anchor_tar_rss_kib\t3072\n\
         backup.verify_s\t6\nbackup.anchor_sha256sum_s\t4\nbackup.anchor_openssl_sha256_s\t3\n\
         backup.tool_stage.files\t10\nbackup.anchor_tar_s\t8\n\
         backup.restore_s\t120\nbackup.restore_anchor_s\t20\nbackup.restore_stage.data\t25\n\
         backup.restore_stage.files\t12\nbackup.anchor_tar_x_s\t16\n",
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
    // Backup: medians 14 (of 12, 14, 30) and 10 (of 9, 10, 11): 1.4 misses the 1.3 goal;
    // verify 6 / sha256sum 4, openssl 3 / verify 6; the anchors' peak RSS is the larger of
    // pg_dump's and tar's.
    let bk = find("7 backup", "backup: dump + archive");
    assert_eq!(bk["median"], 14.0);
    assert!((bk["ratio"].as_f64().unwrap() - 1.4).abs() < 1e-9, "{bk}");
    assert_eq!(bk["goal_met"], false);
    assert_eq!(find("7 backup", "backup --verify")["ratio"], 1.5);
    assert_eq!(find("7 backup", "openssl dgst")["ratio"], 0.5);
    // The files stage against tar cf: 10 / 8.
    assert_eq!(find("7 backup", "  files: read + SHA-256")["ratio"], 1.25);
    assert_eq!(
        find("7 backup", "  pg_dump, tar peak RSS")["median"],
        20.0,
        "MiB"
    );
    assert_eq!(
        find("7 backup", "  backup peak RSS, the tool's")["median"],
        9.0
    );
    // Restore: all of it 120 / 20 = 6; its data stage 25 / 20, its files 12 / tar xf 16.
    assert_eq!(find("7 backup", "restore on a fresh box")["ratio"], 6.0);
    assert_eq!(find("7 backup", "  data: files + database")["ratio"], 1.25);
    assert_eq!(find("7 backup", "    files: one pass")["ratio"], 0.75);
    assert_eq!(json["restore_measured"], true);
    assert!(table.contains("MISSED") && table.contains("met"), "{table}");
    assert!(table.contains("commit abc1234"), "{table}");
}

#[test]
fn the_report_says_loudly_when_restore_was_not_measured() {
    let dir = tempfile::tempdir().unwrap();
    let samples = dir.path().join("samples.tsv");
    let out = dir.path().join("latest.json");
    std::fs::write(
        &samples,
        "meta.runs\t1\nbackup.tool_s\t13\nbackup.anchor_s\t10\nbackup.restore_missing\t1\n",
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
    // 13 / 10 = 1.3: the goal is met at its edge.
    assert!(table.contains("1.30 vs pg_dump + tar"), "{table}");
    assert!(table.contains("restore: NOT MEASURED"), "{table}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(json["restore_measured"], false);
    assert_eq!(json["figures"]["7 backup"][1]["goal_met"], true, "{json}");
}
