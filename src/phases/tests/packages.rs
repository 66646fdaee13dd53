//! Test-only: declared under `#[cfg(test)]` in its parent, so outside the layering
//! of `src/` (tests may reach any module).
use super::*;
use crate::phases::packages::Packages;

#[test]
fn an_empty_box_misses_every_planned_package_and_apt_installs_exactly_those() {
    let b = FakeBox::empty();
    let a = answers("");
    let p = plan(&a);
    assert!(!p.packages.is_empty());
    let (found, after) = converge_phase(&b, &a, &p, &Packages);
    assert_eq!(failing(&found).len(), p.packages.len(), "{found:#?}");
    let after = after.expect("apply ran");
    assert!(failing(&after).is_empty(), "{after:#?}");
    // No fresh lists on the box: update first, then one install of the missing ones.
    let lines = b.lines();
    let apt: Vec<&String> = lines.iter().filter(|l| l.starts_with("apt-get")).collect();
    assert_eq!(apt.len(), 2, "{lines:#?}");
    assert!(apt[0].ends_with(" update"), "{apt:?}");
    assert!(
        apt[1].contains(" install --no-install-recommends "),
        "{apt:?}"
    );
    for pkg in &p.packages {
        assert!(
            apt[1].split(' ').any(|w| w == *pkg),
            "{pkg} not in {}",
            apt[1]
        );
    }
    // apt runs non-interactively.
    let call = b
        .calls()
        .into_iter()
        .find(|c| c.program == "apt-get" && c.args.contains(&"install".to_owned()))
        .unwrap();
    assert!(call.env_keys.contains(&"DEBIAN_FRONTEND".to_owned()));
    // What this run installed is recorded as the tool's.
    let own = crate::state::Ownership::load(&b.host);
    for pkg in &p.packages {
        assert!(own.did_create("package", pkg), "{pkg}");
    }
    b.assert_all_scripted();
}

#[test]
fn only_the_missing_packages_are_installed_and_the_others_are_not_claimed() {
    let b = FakeBox::empty();
    let a = answers("");
    let p = plan(&a);
    let (have, _) = p.packages.split_at(1);
    b.install_packages(have);
    let (found, _) = converge_phase(&b, &a, &p, &Packages);
    assert_eq!(failing(&found).len(), p.packages.len() - 1);
    let install = b
        .lines()
        .into_iter()
        .find(|l| l.starts_with("apt-get") && l.contains(" install "))
        .unwrap();
    assert!(!install.split(' ').any(|w| w == have[0]), "{install}");
    let own = crate::state::Ownership::load(&b.host);
    assert!(!own.did_create("package", have[0]));
}

#[test]
fn fresh_package_lists_skip_apt_get_update() {
    let b = FakeBox::empty();
    b.write(
        "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease",
        "x",
    );
    let a = answers("");
    let p = plan(&a);
    converge_phase(&b, &a, &p, &Packages);
    assert!(
        !b.ran("apt-get -q -y -o DPkg::Lock::Timeout=600 update"),
        "{:#?}",
        b.lines()
    );
    assert!(b.ran("apt-get"));
}

#[test]
fn a_failed_install_with_unrefreshed_lists_refreshes_and_tries_again() {
    let b = FakeBox::empty();
    b.write(
        "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease",
        "x",
    );
    let tries = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let t = std::sync::Arc::clone(&tries);
    b.on("apt-get", &[], move |_, args, s| {
        if args.iter().any(|a| a == "install") {
            if t.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                return crate::host::fake::fail(100, "E: Failed to fetch ... 404 Not Found");
            }
            for p in args.iter().skip_while(|a| *a != "install").skip(1) {
                s.world.packages.insert(p.clone());
            }
        }
        crate::host::fake::ok("")
    });
    let a = answers("");
    let p = plan(&a);
    let (_, after) = converge_phase(&b, &a, &p, &Packages);
    assert!(failing(&after.unwrap()).is_empty());
    let apt: Vec<String> = b
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("apt-get"))
        .collect();
    assert_eq!(apt.len(), 3, "{apt:#?}");
    assert!(apt[0].contains(" install "));
    assert!(apt[1].ends_with(" update"));
    assert!(apt[2].contains(" install "));
}

#[test]
fn a_box_with_every_package_has_nothing_to_do() {
    let b = FakeBox::empty();
    let a = answers("");
    let p = plan(&a);
    b.install_packages(&p.packages);
    let (found, after) = converge_phase(&b, &a, &p, &Packages);
    assert!(failing(&found).is_empty(), "{found:#?}");
    assert!(after.is_none());
    assert!(!b.ran("apt-get"));
}
