//! The layers of `src/` (README, "How it is built") hold: no top-level module
//! reaches, through its `crate::` paths, a module that reaches back. A cycle fails
//! `src_has_no_module_cycle`, naming the modules in it and each edge with the first
//! place it is written.
//!
//! What counts as an edge from module `m` (the file `src/m.rs`, or any file under
//! `src/m/`) to module `x`: the text `crate::x` anywhere in one of its files before
//! the file's first `#[cfg(test)]` — a `use`, a full path, a doc link alike. Tests
//! may reach anywhere. `src/main.rs` and `src/lib.rs` only declare the modules.
//! `super::` and `self::` stay inside a module and are not edges.
//!
//! The cycle finder is checked on its own on small synthetic trees, so this test
//! can fail.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// Where an edge is first written: file, line and the path as written.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Place {
    file: PathBuf,
    line: usize,
    path: String,
}

/// Module → module it names → the first place it does.
type Graph = BTreeMap<String, BTreeMap<String, Place>>;

/// The top-level module a file under `src` belongs to; `None` for the crate roots.
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let mut parts = rel.components();
    let first = parts.next()?.as_os_str().to_str()?;
    let top = if parts.next().is_none() {
        first.strip_suffix(".rs")?
    } else {
        first
    };
    (top != "main" && top != "lib").then(|| top.to_owned())
}

/// Every `.rs` file under `dir`, in a stable order.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The `crate::<name>` paths of `text`: (line number, top-level name, whole path).
fn crate_paths(text: &str) -> Vec<(usize, String, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name_len = after
                .char_indices()
                .take_while(|&(i, c)| {
                    c == '_' || c.is_ascii_lowercase() || (i > 0 && c.is_ascii_digit())
                })
                .count();
            if name_len > 0 {
                let whole_len = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                    .unwrap_or(after.len());
                let whole = format!("crate::{}", after[..whole_len].trim_end_matches(':'));
                found.push((n + 1, after[..name_len].to_owned(), whole));
            }
            rest = &after[name_len..];
        }
    }
    found
}

/// The module graph of a crate's `src` directory.
fn graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut g = Graph::new();
    for file in files {
        let Some(top) = top_module(src, &file) else {
            continue;
        };
        let text = fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let outside_tests = text.split("#[cfg(test)]").next().unwrap_or_default();
        let targets = g.entry(top.clone()).or_default();
        for (line, to, path) in crate_paths(outside_tests) {
            if to != top {
                targets.entry(to).or_insert_with(|| Place {
                    file: file.clone(),
                    line,
                    path,
                });
            }
        }
    }
    g
}

/// Tarjan's strongly-connected components; state of one search.
struct Tarjan<'g> {
    g: &'g Graph,
    index: BTreeMap<&'g str, usize>,
    low: BTreeMap<&'g str, usize>,
    stack: Vec<&'g str>,
    on_stack: BTreeSet<&'g str>,
    cycles: Vec<Vec<String>>,
}

impl<'g> Tarjan<'g> {
    fn visit(&mut self, v: &'g str) {
        let i = self.index.len();
        self.index.insert(v, i);
        self.low.insert(v, i);
        self.stack.push(v);
        self.on_stack.insert(v);
        for w in self.g.get(v).into_iter().flat_map(BTreeMap::keys) {
            let w = w.as_str();
            if !self.index.contains_key(w) {
                self.visit(w);
                let lw = self.low[w];
                let lv = self.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if self.on_stack.contains(w) {
                let iw = self.index[w];
                let lv = self.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if self.low[v] == self.index[v] {
            let mut component = Vec::new();
            while let Some(w) = self.stack.pop() {
                self.on_stack.remove(w);
                component.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                self.cycles.push(component);
            }
        }
    }
}

/// The module cycles: strongly-connected components of more than one module,
/// each sorted, in a stable order.
fn cycles(g: &Graph) -> Vec<Vec<String>> {
    let mut t = Tarjan {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        cycles: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    t.cycles.sort();
    t.cycles
}

/// One cycle in words: its modules, then each edge inside it with where it is written.
fn describe(g: &Graph, cycle: &[String], src: &Path) -> String {
    let mut s = format!("{}\n", cycle.join(" <-> "));
    for from in cycle {
        for (to, at) in &g[from] {
            if cycle.contains(to) {
                let file = at.file.strip_prefix(src).unwrap_or(&at.file);
                let _ = writeln!(
                    s,
                    "    {from}->{to}: src/{}:{} {}",
                    file.display(),
                    at.line,
                    at.path
                );
            }
        }
    }
    s
}

#[test]
fn src_has_no_module_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let g = graph(&src);
    // The walk found the crate: a silent empty graph would pass anything.
    for m in ["answers", "engine", "phases", "cli"] {
        assert!(
            g.contains_key(m),
            "module {m} not found under {}",
            src.display()
        );
    }
    assert!(
        g["engine"].contains_key("phases"),
        "the engine's use of the phases was not seen: {:?}",
        g["engine"].keys().collect::<Vec<_>>()
    );
    let found = cycles(&g);
    let report: String = found.iter().map(|c| describe(&g, c, &src)).collect();
    assert!(
        found.is_empty(),
        "module cycles in src/ (a module here may only use the layers below it; README, \
         \"How it is built\"):\n{report}"
    );
}

#[test]
fn the_vocabulary_is_a_leaf() {
    let g = graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let uses: Vec<_> = g
        .get("vocab")
        .expect("src/vocab.rs, the shared vocabulary, is missing")
        .iter()
        .collect();
    assert!(
        uses.is_empty(),
        "vocab must depend on nothing in the crate: {uses:?}"
    );
}

/// Writes `files` (path under src, text) into a fresh temp dir; returns it and src.
fn tree(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    for (path, text) in files {
        let p = src.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap();
    }
    (dir, src)
}

#[test]
fn two_files_that_import_each_other_are_a_cycle_with_both_edges_named() {
    let (_dir, src) = tree(&[
        ("lib.rs", "pub mod a;\npub mod b;\npub mod c;\n"),
        // A path to itself is no edge; a back edge inside tests is none either.
        (
            "a.rs",
            "use crate::a::A;\nuse crate::b::B;\n#[cfg(test)]\nmod tests { use crate::c::C; }\n",
        ),
        ("b/mod.rs", "pub mod inner;\n"),
        ("b/inner.rs", "fn f() { crate::a::g(); }\n"),
        ("c.rs", "/// See [`crate::a`].\npub struct C;\n"),
    ]);
    let g = graph(&src);
    assert_eq!(cycles(&g), vec![vec!["a".to_owned(), "b".to_owned()]]);
    assert!(!g["a"].contains_key("c"), "a test-only path counted: {g:?}");
    assert!(g["c"].contains_key("a"), "a doc link is an edge: {g:?}");
    let text = describe(&g, &cycles(&g)[0], &src);
    assert!(text.starts_with("a <-> b\n"), "{text}");
    assert!(text.contains("a->b: src/a.rs:2 crate::b::B"), "{text}");
    assert!(
        text.contains("b->a: src/b/inner.rs:1 crate::a::g"),
        "{text}"
    );
}

#[test]
fn separate_cycles_are_reported_apart_and_a_chain_is_none() {
    let (_dir, src) = tree(&[
        ("a.rs", "use crate::b;"),
        ("b.rs", "use crate::c;"),
        ("c.rs", "use crate::a;"),
        ("d.rs", "use crate::e; use crate::a;"),
        ("e.rs", "use crate::d;"),
        ("f.rs", "use crate::d; use crate::g2;"),
        ("g2.rs", "// nothing"),
    ]);
    let g = graph(&src);
    assert_eq!(
        cycles(&g),
        vec![
            vec!["a".to_owned(), "b".to_owned(), "c".to_owned()],
            vec!["d".to_owned(), "e".to_owned()],
        ]
    );
    let (_dir, src) = tree(&[("a.rs", "use crate::b;"), ("b.rs", "use crate::c;")]);
    assert!(cycles(&graph(&src)).is_empty());
}

/// The names that switch the one-door lints off: the lints themselves and the
/// groups they are in (`style`, `all`).
const DOOR_LINTS: [&str; 4] = [
    "clippy::disallowed_methods",
    "clippy::disallowed_types",
    "clippy::style",
    "clippy::all",
];

/// Every place under `src` outside `src/host/` that names a lint of [`DOOR_LINTS`]
/// in code (an `allow`, `expect` or `cfg_attr`), as `src/<file>:<line>: <text>`;
/// the one exception is src/lib.rs's `#![cfg_attr(test, allow(...))]`, which
/// lets test code build its fixtures with std::fs.
fn door_exceptions(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut found = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src).unwrap_or(&file);
        if rel.starts_with("host") {
            continue;
        }
        let text = fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if !DOOR_LINTS.iter().any(|l| code.contains(l)) {
                continue;
            }
            let test_only = rel == Path::new("lib.rs")
                && code.trim_start().starts_with("#![cfg_attr(test, allow(");
            if !test_only {
                found.push(format!("src/{}:{}: {}", rel.display(), n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn the_box_is_changed_only_through_the_host() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = door_exceptions(&root.join("src"));
    assert!(
        found.is_empty(),
        "outside src/host/ nothing may switch off clippy.toml's disallowed-methods/-types \
         (file changes, sockets and HTTP clients go through Host; see src/host/ops.rs):\n{}",
        found.join("\n")
    );
    // The rule itself is in force: the lints are configured and not turned off for
    // the whole crate.
    let toml = fs::read_to_string(root.join("clippy.toml")).unwrap();
    for needed in [
        "std::fs::write",
        "std::fs::rename",
        "std::fs::remove_file",
        "std::fs::remove_dir_all",
        "std::fs::create_dir_all",
        "std::fs::set_permissions",
        "std::os::unix::fs::symlink",
        "std::os::unix::fs::lchown",
        "std::fs::OpenOptions::open",
        "std::net::TcpStream",
        "std::os::unix::net::UnixStream",
        "reqwest::blocking::Client",
    ] {
        assert!(
            toml.contains(&format!("path = \"{needed}\"")),
            "clippy.toml no longer forbids {needed}"
        );
    }
    let cargo = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(
        !cargo.contains("disallowed_methods") && !cargo.contains("disallowed_types"),
        "Cargo.toml's [lints] must not turn the one-door lints off"
    );
    let lib = fs::read_to_string(root.join("src/lib.rs")).unwrap();
    assert!(
        !lib.lines()
            .any(|l| l.starts_with("#![allow(") && l.contains("disallowed")),
        "src/lib.rs allows the one-door lints outside tests"
    );
}

#[test]
fn an_allow_of_the_door_lints_outside_the_host_is_named() {
    let (_dir, src) = tree(&[
        (
            "lib.rs",
            "#![cfg_attr(test, allow(clippy::disallowed_methods, clippy::disallowed_types))]\n",
        ),
        ("host/ops.rs", "#![allow(clippy::disallowed_methods)]\n"),
        (
            "phases/x.rs",
            "// clippy::disallowed_methods in a comment is no exception\nfn f() {}\n\
             #[allow(clippy::disallowed_methods)]\nfn g() {}\n",
        ),
        ("cli.rs", "#![expect(clippy::style)]\n"),
        ("engine.rs", "#![allow(clippy::disallowed_types)]\n"),
    ]);
    assert_eq!(
        door_exceptions(&src),
        [
            "src/cli.rs:1: #![expect(clippy::style)]",
            "src/engine.rs:1: #![allow(clippy::disallowed_types)]",
            "src/phases/x.rs:3: #[allow(clippy::disallowed_methods)]",
        ]
    );
}

/// Issue 10, target 5: the front ends (`src/ui`) collect answers and render events;
/// `cli` alone makes the host and runs the engine, handing them a `Driver`. Outside
/// their tests, no file of theirs makes a host, runs a phase or an engine lifecycle.
#[test]
fn front_ends_neither_make_the_host_nor_run_the_engine() {
    const RUNS: [&str; 9] = [
        "Host::system",
        "Host::new",
        "read_only_host",
        "engine::install",
        "install_with",
        "engine::status",
        "engine::repair",
        "Ctx::new",
        "lifecycle::",
    ];
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ui");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 5, "{files:?}");
    let mut found = Vec::new();
    for f in &files {
        let text = fs::read_to_string(f).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (i, line) in code.lines().enumerate() {
            for r in RUNS {
                if line.contains(r) && !line.trim_start().starts_with("//") {
                    found.push(format!("{}:{}: {}", f.display(), i + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "front ends running the box themselves:\n{}",
        found.join("\n")
    );
}

/// What under `src/phases/` may be named from `plan::templates` or made with the
/// plan's own builders: the certificate paths' type and the parser of a site's
/// upload limit. Every `templates::` fill and every plan builder is called by the
/// plan alone: the phases write and run what the plan holds (issue 10).
const PHASE_TEMPLATE_USES: [&str; 2] = ["templates::SiteCert", "templates::declared_body_limit"];
const PLAN_BUILDERS: [&str; 7] = [
    "Plan::on_box(",
    "Plan::for_box(",
    "Plan::new(",
    "database::script(",
    "database::server(",
    "templates::proxy_site(",
    "templates::unit(",
];

/// Lines under `src/phases/` (before a file's first `#[cfg(test)]`, outside the
/// `tests` directory and `*_tests.rs`) that fill a template or build a plan.
fn phases_building_plans(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&src.join("phases"), &mut files);
    let mut found = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src).unwrap_or(&file).to_owned();
        let name = rel.to_string_lossy();
        if name.starts_with("phases/tests/") || name.ends_with("_tests.rs") {
            continue;
        }
        let text = fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("#[cfg(test)]") {
                break;
            }
            let code = line.split("//").next().unwrap_or_default();
            let fills = code.match_indices("templates::").any(|(i, _)| {
                !PHASE_TEMPLATE_USES
                    .iter()
                    .any(|ok| code[i..].starts_with(ok))
            });
            if fills || PLAN_BUILDERS.iter().any(|b| code.contains(b)) {
                found.push(format!("src/{name}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn phases_run_the_plan_and_build_none() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = phases_building_plans(&src);
    assert!(
        found.is_empty(),
        "a phase fills a template or makes a plan itself; put it in the plan (src/plan/) and \
         read it from ctx.plan:\n{}",
        found.join("\n")
    );
}

#[test]
fn a_phase_filling_a_template_is_named() {
    let (_dir, src) = tree(&[
        (
            "phases/proxy.rs",
            "use crate::plan::templates::SiteCert;\nfn f() { templates::proxy_site(k, &s); }\n\
             // templates::unit( in a comment is fine\n#[cfg(test)]\nmod tests { fn t() { Plan::new(&a); } }\n",
        ),
        ("phases/tests/x.rs", "fn t() { Plan::new(&a); }\n"),
        (
            "phases/tls.rs",
            "fn g() { let p = Plan::for_box(a, &f); }\n",
        ),
    ]);
    assert_eq!(
        phases_building_plans(&src),
        [
            "src/phases/proxy.rs:2: fn f() { templates::proxy_site(k, &s); }",
            "src/phases/tls.rs:1: fn g() { let p = Plan::for_box(a, &f); }",
        ]
    );
}
