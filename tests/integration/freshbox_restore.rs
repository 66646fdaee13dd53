//! Moving house (issue 14): a backup taken on one fresh box while a writer keeps
//! posting, restored on a second fresh box under another domain — killed once in
//! the middle and finished by the next run.

use std::time::{Duration, Instant};

use crate::freshbox_install::{DOMAIN, prepared_box};
use crate::freshbox_lifecycle::{installed_box, kill_at, run};
use crate::support::freshbox::{self, FreshBox};

const NEW_DOMAIN: &str = "team.example.org";

fn sql(b: &FreshBox, query: &str) -> String {
    b.exec_ok(&format!(
        "runuser -u postgres -- psql -d mattermost -Atc \"{query}\""
    ))
    .trim()
    .to_owned()
}

/// Posts the writer made: (count, highest sequence number).
fn writer_posts(b: &FreshBox) -> (u64, u64) {
    let row = sql(
        b,
        "select count(*) || ' ' || coalesce(max(createat), 0) from posts where message like 'w-%'",
    );
    let (n, max) = row.split_once(' ').unwrap();
    (n.parse().unwrap(), max.parse().unwrap())
}

/// What a restore must bring back byte for byte: the seeded files (data and
/// plugins) and the seeded posts.
fn seeded(b: &FreshBox) -> (String, String) {
    let files = b.exec_ok(
        "cd /opt/mattermost && find data/teams data/users plugins/com.example.seed -type f -print0 \
         | sort -z | xargs -0r sha256sum",
    );
    let posts = sql(
        b,
        "select count(*) || ':' || md5(string_agg(id || channelid || message, ',' order by id)) \
         from posts where message like 'seed-%'",
    );
    (files, posts)
}

#[test]
fn a_backup_taken_under_writes_restores_on_a_new_box_under_another_domain() {
    if !freshbox::available_or_skip(
        "a_backup_taken_under_writes_restores_on_a_new_box_under_another_domain",
    ) {
        return;
    }
    // Box A: an install with files, plugins, channels and posts.
    let a = installed_box("mmbacka");
    a.exec_ok(
        "set -e; cd /opt/mattermost/data; mkdir -p teams/t1/channels/c1/users/u1/files users/u1 \
         && head -c 3M /dev/urandom > teams/t1/channels/c1/users/u1/files/photo.jpg \
         && for i in $(seq 1 200); do head -c $((i * 97)) /dev/urandom > teams/t1/f$i.bin; done \
         && printf 'name with spaces\\n' > 'users/u1/profile picture.png' \
         && mkdir -p /opt/mattermost/plugins/com.example.seed \
         && echo '{\"id\": \"com.example.seed\"}' > /opt/mattermost/plugins/com.example.seed/plugin.json \
         && chown -R mattermost:mattermost /opt/mattermost/data /opt/mattermost/plugins",
    );
    sql(
        &a,
        "insert into channels (id, createat, teamid, type, name, displayname) \
         select lpad('sc' || i, 26, '0'), i, 't1', 'O', 'seed-' || i, 'Seed ' || i from generate_series(1, 20) i; \
         insert into posts (id, createat, channelid, message) \
         select lpad('sp' || i, 26, '0'), i, lpad('sc' || (1 + i % 20), 26, '0'), 'seed-' || i from generate_series(1, 1000) i",
    );
    let before = seeded(&a);

    // A backup killed while it adds the files leaves no archive under the final
    // name; the next one removes what it left.
    kill_at(
        &a,
        "mattermost-setup backup --to /root/bk",
        "[backup] adding /opt/mattermost/data",
        300,
    );
    let left = a.exec_ok("ls -A /root/bk");
    assert!(
        left.lines().any(|l| l.ends_with(".tar.part"))
            && !left.lines().any(|l| l.ends_with("Z.tar")),
        "{left}"
    );

    // A writer posts every 100 ms while the backup runs; every fifth post opens a
    // new channel first (its own transaction), as a client creating a channel and
    // posting in it does.
    let mut writer = a.spawn(
        "i=0; while :; do i=$((i+1)); c=$(( (i - 1) / 5 * 5 + 1 )); \
         if [ $((i % 5)) = 1 ]; then echo \"insert into channels (id, createat, teamid, type, name) values (lpad('wc$i', 26, '0'), $i, 't1', 'O', 'w-$i');\"; fi; \
         echo \"insert into posts (id, createat, channelid, message) values (lpad('wp$i', 26, '0'), $i, lpad('wc$c', 26, '0'), 'w-$i');\"; \
         sleep 0.1; done | runuser -u postgres -- psql -q -d mattermost",
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while writer_posts(&a).0 < 20 {
        assert!(Instant::now() < deadline, "the writer never wrote");
        std::thread::sleep(Duration::from_millis(200));
    }
    let at_start = writer_posts(&a).0;
    let (code, out) = run(&a, "mattermost-setup backup --to /root/bk");
    assert_eq!(code, 0, "{out}");
    std::thread::sleep(Duration::from_millis(500));
    let at_end = writer_posts(&a).0;
    let _ = writer.kill();
    let _ = writer.wait();
    a.exec_ok("pkill -x psql; true");
    assert!(
        at_end > at_start,
        "the writer must have written during the backup ({at_start} -> {at_end})"
    );
    let left = a.exec_ok("ls -A /root/bk");
    assert_eq!(
        left.lines().count(),
        1,
        "one archive and nothing else: {left}"
    );
    let archive = a.exec_ok("ls /root/bk/mattermost-backup-*.tar");
    let archive = archive.trim();
    let name = archive.trim_start_matches("/root/bk/");

    // Box B: a fresh box; the archive is carried over.
    let b = prepared_box("mmrestb");
    let carried = tempfile::tempdir().unwrap();
    std::fs::copy(
        a.root_dir().join(archive.trim_start_matches('/')),
        carried.path().join(name),
    )
    .unwrap();
    let archive_b = format!("/root/{name}");
    b.put(&carried.path().join(name), &archive_b);
    let restore = format!("mattermost-setup restore {archive_b}");

    // A damaged copy is refused with the member named, before anything changes.
    let mut bytes = std::fs::read(carried.path().join(name)).unwrap();
    let at = bytes
        .windows(40)
        .position(|w| w == b"mattermost-backup/data/teams/t1/f150.bin")
        .unwrap();
    // The member's data starts after its 512-byte header.
    bytes[at + 512 + 7] ^= 0xff;
    std::fs::write(carried.path().join("damaged.tar"), &bytes).unwrap();
    b.put(&carried.path().join("damaged.tar"), "/root/damaged.tar");
    let (code, out) = run(
        &b,
        &format!("mattermost-setup restore /root/damaged.tar --domain {NEW_DOMAIN}"),
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("data/teams/t1/f150.bin (differs)"), "{out}");
    assert!(out.contains("Nothing was changed"), "{out}");
    b.exec_ok("test ! -e /etc/mattermost-setup/answers.json && ! id mattermost && test ! -e /opt/mattermost");

    // Killed while the files and the database go back; other commands refuse the
    // half-restored box, naming the command that finishes it.
    kill_at(
        &b,
        &format!("{restore} --domain {NEW_DOMAIN}"),
        "[restore] putting back the files",
        600,
    );
    let (code, out) = run(&b, "mattermost-setup repair");
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(&format!("run `mattermost-setup restore {archive_b}`")),
        "{out}"
    );
    let (code, out) = run(&b, "mattermost-setup status");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("stopped at stage Data"), "{out}");

    // The next run finishes it, under the new domain without being told again.
    let (code, out) = run(&b, &restore);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("finishing the restore"), "{out}");
    assert!(out.contains(&format!("http://{NEW_DOMAIN}")), "{out}");
    let (code, out) = run(&b, "mattermost-setup status");
    assert_eq!(code, 0, "{out}");

    // The same files, byte for byte, and the same posts.
    assert_eq!(seeded(&b), before);
    // A consistent database: no post without its channel, and the writer's posts
    // are an unbroken run 1..N (one moment), taken between the backup's start and end.
    assert_eq!(
        sql(
            &b,
            "select count(*) from posts p left join channels c on c.id = p.channelid where c.id is null"
        ),
        "0"
    );
    let (n, max) = writer_posts(&b);
    assert_eq!(
        n, max,
        "the writer's posts have a gap: {n} posts up to {max}"
    );
    assert!(
        (at_start..=at_end).contains(&n),
        "{n} writer posts restored; the backup ran while there were {at_start} to {at_end}"
    );

    // The new domain everywhere, the old one nowhere in the config.
    let config = b.exec_ok("cat /opt/mattermost/config/config.json");
    assert!(!config.contains(DOMAIN), "{config}");
    assert!(
        config.contains(&format!("\"SiteURL\": \"http://{NEW_DOMAIN}\"")),
        "{config}"
    );
    let ping = b.exec_ok(&format!(
        "curl -sS -H 'Host: {NEW_DOMAIN}' http://127.0.0.1/api/v4/system/ping"
    ));
    assert!(ping.contains("\"OK\""), "{ping}");
    assert!(
        b.exec_ok("cat /etc/mattermost-setup/answers.json")
            .contains(NEW_DOMAIN)
    );

    // A second restore over this install is refused without --replace.
    let (code, out) = run(&b, &restore);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("--replace"), "{out}");
    a.stop();
    b.stop();
}
