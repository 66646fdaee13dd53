#!/usr/bin/env python3
"""benches/report.py SAMPLES.tsv OUT.json COMMIT — the table of benches/run.sh.

SAMPLES.tsv has one "key<TAB>value" line per measurement (several lines per key when a
figure ran N times). Every figure is the median of its samples; ratios are of medians
measured in the same run. Prints the table; writes every median, ratio, goal and the
raw samples as JSON to OUT.json.
"""
import json
import statistics
import sys
import time
from collections import defaultdict

samples_path, out_path, commit = sys.argv[1], sys.argv[2], sys.argv[3]
raw = defaultdict(list)
for line in open(samples_path):
    key, _, value = line.rstrip("\n").partition("\t")
    if key:
        raw[key].append(value)


def med(key):
    vals = []
    for v in raw.get(key, []):
        try:
            vals.append(float(v))
        except ValueError:
            pass
    return statistics.median(vals) if vals else None


def text(key):
    return raw[key][-1] if raw.get(key) else None


rows = []  # (figure, label, value, unit, anchor text, ratio, goal text, met)
figures = {}


def row(fig, label, value, unit, anchor="", ratio=None, goal="", met=None, key=None):
    rows.append((fig, label, value, unit, anchor, ratio, goal, met))
    figures.setdefault(fig, []).append(
        {
            "label": label,
            "key": key,
            "median": value,
            "unit": unit,
            "anchor": anchor or None,
            "ratio": ratio,
            "goal": goal or None,
            "goal_met": met,
            "n": len(raw.get(key, [])) if key else None,
        }
    )


def div(a, b):
    return a / b if a is not None and b else None


runs = int(med("meta.runs") or 0)
mb = (med("meta.tarball_bytes") or 0) / 1e6

# 1. install vs the floor
a, b, c = med("install.floor_a_s"), med("install.full_b_s"), med("install.serial_c_s")
if b is not None:
    start = med("install.b_service_start_s") or 0.0
    row("1 install", "A: apt-get update + install (floor)", a, "s", key="install.floor_a_s")
    limit = 1.15 * a + start if a is not None else None
    row(
        "1 install",
        "B: full install, PostgreSQL + Apache",
        b,
        "s",
        "A",
        div(b, a),
        f"B <= 1.15 x A + start ({limit:.1f} s)" if limit else "",
        (b <= limit) if limit else None,
        key="install.full_b_s",
    )
    row("1 install", "C: guide's order (download after apt)", c, "s", key="install.serial_c_s")
    row("1 install", "B / C", div(b, c), "x", "C", div(b, c), key=None)
    row("1 install", "  Mattermost start (in B)", start, "s", key="install.b_service_start_s")
    for k in sorted(k for k in raw if k.startswith("install.b_phase.")):
        row("1 install", f"  B phase {k.rsplit('.', 1)[1]}", med(k), "s", key=k)
    for k in sorted(k for k in raw if k.startswith("install.c_phase.")):
        row("1 install", f"  C phase {k.rsplit('.', 1)[1]}", med(k), "s", key=k)

# 2. time to chat with TLS
t = med("tls.to_chat_s")
if t is not None:
    row(
        "2 tls",
        "install to HTTPS ping + WSS (nginx, pebble)",
        t,
        "s",
        "goal 90 s",
        t / 90,
        "<= 90 s",
        t <= 90,
        key="tls.to_chat_s",
    )
    for k in sorted(k for k in raw if k.startswith("tls.phase.")):
        row("2 tls", f"  phase {k.rsplit('.', 1)[1]}", med(k), "s", key=k)

# 3. download
d = med("download.installer_download_s")
if d is not None:
    cf = med("download.curl_file_fsync_s")
    row(
        "3 download",
        f"installer: fetch+SHA-256+write+fsync ({mb:.0f} MB)",
        d,
        "s",
        "curl -o FILE + fsync",
        div(d, cf),
        "<= curl -o FILE + fsync",
        (d <= cf) if cf else None,
        key="download.installer_download_s",
    )
    row("3 download", "  installer throughput", div(mb, d), "MB/s")
    ct = med("download.curl_tee_sha_sync_s")
    row("3 download", "curl | tee FILE | sha256sum; sync FILE", ct, "s", "installer", div(ct, d), key="download.curl_tee_sha_sync_s")
    row("3 download", "curl -o FILE; sync FILE", cf, "s", "installer", div(cf, d), key="download.curl_file_fsync_s")
    cn = med("download.curl_null_s")
    row("3 download", "curl -o /dev/null (network ceiling)", cn, "s", "installer", div(cn, d), key="download.curl_null_s")
    hwm = max(med("download.installer_download_hwm_kib") or 0, med("download.installer_unpack_hwm_kib") or 0) / 1024
    row("3 download", "  installer peak RSS (VmHWM), download", (med("download.installer_download_hwm_kib") or 0) / 1024, "MiB", key="download.installer_download_hwm_kib")
    row("3 download", "  installer peak RSS (VmHWM), unpack", (med("download.installer_unpack_hwm_kib") or 0) / 1024, "MiB", "", None, "< 40 MiB", hwm < 40, key="download.installer_unpack_hwm_kib")
    u, tx = med("download.installer_unpack_s"), med("download.tar_xzf_s")
    row("3 download", "installer unpack", u, "s", "tar xzf", div(u, tx), key="download.installer_unpack_s")
    row("3 download", "tar xzf", tx, "s", key="download.tar_xzf_s")

# 4. re-run and status
r = med("rerun.install_s")
if r is not None:
    row("4 rerun", "install re-run, healthy box", r, "s", "goal 1 s", r, "<= 1 s", r <= 1, key="rerun.install_s")
    s = med("rerun.status_s")
    row("4 rerun", "status", s, "s", "goal 1 s", s, "<= 1 s", s <= 1 if s is not None else None, key="rerun.status_s")
    fw = med("rerun.files_written")
    if fw is not None:
        row("4 rerun", "files a re-run writes on disk (besides its log)", fw, "files", "", None, "0", fw == 0, key="rerun.files_written")
        tw = med("rerun.tmpfs_written")
        if tw is not None:
            row("4 rerun", "  temporary files in /run, /tmp (removed)", tw, "files", key="rerun.tmpfs_written")

# 5. the binary
size = med("binary.size_bytes")
if size is not None:
    row("5 binary", "size", size / 1e6, "MB", key="binary.size_bytes")
    h = med("binary.help_s")
    row("5 binary", "--help wall time", h * 1000 if h else None, "ms", "goal 10 ms", div(h, 0.010), "<= 10 ms", h <= 0.010 if h else None, key="binary.help_s")
    sc = med("binary.status_cold_s")
    if sc is not None:
        row("5 binary", "status, cold (binary evicted from cache)", sc, "s", "status warm", div(sc, med("rerun.status_s")), key="binary.status_cold_s")

# 6. upgrade
w = med("upgrade.wall_s")
if w is not None:
    dt, ns = med("upgrade.downtime_s"), med("upgrade.new_start_s")
    row("6 upgrade", "upgrade 11.7 -> 11.8, wall time", w, "s", key="upgrade.wall_s")
    lim = ns + 2 if ns is not None else None
    row(
        "6 upgrade",
        "downtime (ping failing)",
        dt,
        "s",
        "new start + 2 s",
        div(dt, lim),
        f"<= {lim:.1f} s" if lim is not None else "",
        (dt <= lim) if lim is not None and dt is not None else None,
        key="upgrade.downtime_s",
    )
    row("6 upgrade", "  new server start (ExecStart to ready)", ns, "s", key="upgrade.new_start_s")


# 7. backup and restore of a data set
bt = med("backup.tool_s")
if bt is not None or text("backup.restore_missing"):
    F = "7 backup"
    files, posts = med("backup.data_files"), med("backup.posts")
    row(
        F,
        f"data set: {files or 0:.0f} files, {posts or 0:.0f} posts (database {(med('backup.db_bytes') or 0) / 2**20:.0f} MiB)",
        (med("backup.data_bytes") or 0) / 2**20,
        "MiB",
        key="backup.data_bytes",
    )
    an = med("backup.anchor_s")
    ratio = div(bt, an)
    row(
        F,
        "backup: dump + archive + SHA-256 of every member",
        bt,
        "s",
        "pg_dump + tar",
        ratio,
        "<= 1.3 x pg_dump + tar",
        (ratio <= 1.3) if ratio is not None else None,
        key="backup.tool_s",
    )
    row(F, "  backup throughput (archive bytes / s)", div((med("backup.archive_bytes") or 0) / 1e6, bt), "MB/s")
    sd, sf = med("backup.tool_stage.dump"), med("backup.tool_stage.files")
    row(F, "  dump: pg_dump -Fc to staging, then into the archive", sd, "s", "pg_dump", div(sd, med("backup.anchor_pg_dump_s")), key="backup.tool_stage.dump")
    row(F, "  files: read + SHA-256 + archive, fsync", sf, "s", "tar cf", div(sf, med("backup.anchor_tar_s")), key="backup.tool_stage.files")
    row(F, "pg_dump -Fc + tar cf (same disk, each synced)", an, "s", key="backup.anchor_s")
    row(F, "  pg_dump -Fc", med("backup.anchor_pg_dump_s"), "s", key="backup.anchor_pg_dump_s")
    row(F, "  tar cf data plugins client/plugins", med("backup.anchor_tar_s"), "s", key="backup.anchor_tar_s")
    mt, ma = med("backup.mem_tool_s"), med("backup.mem_anchor_s")
    if mt is not None:
        row(F, "backup to a tmpfs (the disk out of it)", mt, "s", "pg_dump + tar", div(mt, ma), key="backup.mem_tool_s")
        row(F, "pg_dump -Fc + tar cf to a tmpfs", ma, "s", key="backup.mem_anchor_s")
        row(F, "  pg_dump -Fc", med("backup.mem_anchor_pg_dump_s"), "s", key="backup.mem_anchor_pg_dump_s")
        row(F, "  tar cf", med("backup.mem_anchor_tar_s"), "s", key="backup.mem_anchor_tar_s")
    v, sh = med("backup.verify_s"), med("backup.anchor_sha256sum_s")
    row(F, "backup --verify (every member's SHA-256)", v, "s", "sha256sum", div(v, sh), key="backup.verify_s")
    row(F, "sha256sum of the archive", sh, "s", key="backup.anchor_sha256sum_s")
    os_ = med("backup.anchor_openssl_sha256_s")
    if os_ is not None:
        row(F, "openssl dgst -sha256 of the archive (SHA-NI)", os_, "s", "verify", div(os_, v), key="backup.anchor_openssl_sha256_s")

    def kib(k):
        x = med(k)
        return x / 1024 if x is not None else None

    row(F, "  backup peak RSS, the tool's process (VmHWM)", kib("backup.tool_hwm_kib"), "MiB", key="backup.tool_hwm_kib")
    row(F, "  backup peak RSS, largest process (GNU time %M)", kib("backup.tool_rss_kib"), "MiB", key="backup.tool_rss_kib")
    anchor_rss = [x for x in (kib("backup.anchor_pg_dump_rss_kib"), kib("backup.anchor_tar_rss_kib")) if x is not None]
    row(F, "  pg_dump, tar peak RSS (the larger, %M)", max(anchor_rss) if anchor_rss else None, "MiB", key="backup.anchor_pg_dump_rss_kib")
    row(F, "  verify peak RSS, the tool's process (VmHWM)", kib("backup.verify_hwm_kib"), "MiB", key="backup.verify_hwm_kib")
    rs = med("backup.restore_s")
    if rs is not None:
        ra = med("backup.restore_anchor_s")
        tx, pr = med("backup.anchor_tar_x_s"), med("backup.anchor_pg_restore_s")
        row(F, "restore on a fresh box (all of it)", rs, "s", "tar xf + pg_restore", div(rs, ra), key="backup.restore_s")
        st = lambda k: med(f"backup.restore_stage.{k}")
        row(F, "  check: the archive against its manifest", st("check"), "s", "sha256sum", div(st("check"), med("backup.anchor_sha256sum_s")), key="backup.restore_stage.check")
        pk = med("backup.restore_packages_s")
        row(F, f"  install of the archive's release (packages {pk or 0:.1f} s)", st("install"), "s", key="backup.restore_stage.install")
        row(F, "  data: files + database", st("data"), "s", "tar xf + pg_restore", div(st("data"), ra), key="backup.restore_stage.data")
        row(F, "    files: one pass through the archive", st("files"), "s", "tar xf", div(st("files"), tx), key="backup.restore_stage.files")
        row(F, "    database: pg_restore --clean --create", st("database"), "s", "pg_restore", div(st("database"), pr), key="backup.restore_stage.database")
        row(F, "  verify: converge + acceptance", st("verify"), "s", key="backup.restore_stage.verify")
        row(F, "tar xf + pg_restore (into an empty database)", ra, "s", key="backup.restore_anchor_s")
        row(F, "  tar xf of the archive", med("backup.anchor_tar_x_s"), "s", key="backup.anchor_tar_x_s")
        row(F, "  pg_restore of its dump", med("backup.anchor_pg_restore_s"), "s", key="backup.anchor_pg_restore_s")
        row(F, "  restore peak RSS, the tool's process (VmHWM)", kib("backup.restore_hwm_kib"), "MiB", key="backup.restore_hwm_kib")
        row(F, "  restore peak RSS, largest process (GNU time %M)", kib("backup.restore_rss_kib"), "MiB", key="backup.restore_rss_kib")
        restore_anchor_rss = [x for x in (kib("backup.anchor_tar_x_rss_kib"), kib("backup.anchor_pg_restore_rss_kib")) if x is not None]
        row(F, "  tar xf, pg_restore peak RSS (the larger, %M)", max(restore_anchor_rss) if restore_anchor_rss else None, "MiB", key="backup.anchor_pg_restore_rss_kib")
    else:
        row(F, "restore: NOT MEASURED (this installer has no `restore` command)", None, "s")


def fmt(v, unit):
    if v is None:
        return "-"
    if unit in ("files",):
        return f"{v:.0f}"
    if unit == "x":
        return f"{v:.2f}x"
    return f"{v:.3f} {unit}" if v < 10 else f"{v:.1f} {unit}"


print(f"mattermost-setup benchmarks — median of {runs} run(s), commit {commit}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
print(f"(sudo benches/run.sh{'' if runs == 3 else f' -n {runs}'}; tarball {mb:.0f} MB from a mirror in the box's network namespace)")
lines = []
last = None
for fig, label, value, unit, anchor, ratio, goal, met in rows:
    if unit == "x":
        value_s, ratio_s = "", f"{ratio:.2f}" if ratio is not None else "-"
    else:
        value_s = fmt(value, unit)
        ratio_s = f"{ratio:.2f} vs {anchor}" if ratio is not None and anchor else ""
    verdict = "" if met is None else ("met" if met else "MISSED")
    lines.append((fig if fig != last else "", label, value_s, ratio_s, f"{goal} {verdict}".strip()))
    last = fig
head = ("figure", "what", "median", "ratio", "goal")
widths = [max(len(x[i]) for x in lines + [head]) for i in range(4)]
for x in [head] + lines:
    print(f"{x[0]:<{widths[0]}}  {x[1]:<{widths[1]}}  {x[2]:>{widths[2]}}  {x[3]:<{widths[3]}}  {x[4]}".rstrip())
wl = text("rerun.files_written_list")
if wl:
    print(f"files a re-run wrote on disk: {wl}")
tl = text("rerun.tmpfs_written_list")
if tl:
    print(f"temporary files of a re-run: {tl}")
rm = text("backup.restore_mismatch")
if rm:
    print(f"RESTORE LOST SOMETHING (its figure is not a fair one): {rm}")

json.dump(
    {
        "commit": commit,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "runs": runs,
        "tarball_bytes": med("meta.tarball_bytes"),
        "packages": text("meta.packages"),
        "figures": figures,
        "rerun_files_written": (wl or "").split(),
        "rerun_tmpfs_written": (tl or "").split(),
        "restore_measured": med("backup.restore_s") is not None,
        "restore_mismatch": rm,
        "samples": {k: v for k, v in sorted(raw.items())},
    },
    open(out_path, "w"),
    indent=2,
)
