//! The dependency rules written in ARCHITECTURE.md hold for the manifests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// crate (with " (dev)" for dev-dependencies) → internal dependencies.
type Graph = BTreeMap<String, BTreeSet<String>>;

fn declared() -> Graph {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let block = text
        .split("```deps\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("ARCHITECTURE.md has a ```deps block");
    block
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (name, deps) = l
                .split_once(':')
                .unwrap_or_else(|| panic!("bad deps line: {l}"));
            (
                name.trim().to_owned(),
                deps.split_whitespace().map(str::to_owned).collect(),
            )
        })
        .collect()
}

fn manifests() -> Vec<toml::Table> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root().join("crates")).unwrap() {
        let path = entry.unwrap().path().join("Cargo.toml");
        if path.exists() {
            out.push(
                std::fs::read_to_string(path)
                    .unwrap()
                    .parse::<toml::Table>()
                    .unwrap(),
            );
        }
    }
    out
}

fn actual() -> (Graph, BTreeMap<String, BTreeSet<String>>) {
    let mut graph = Graph::new();
    let mut external = BTreeMap::new();
    for m in manifests() {
        let name = m["package"]["name"].as_str().unwrap().to_owned();
        for (section, key) in [
            ("dependencies", name.clone()),
            ("dev-dependencies", format!("{name} (dev)")),
        ] {
            let deps: BTreeSet<String> = m
                .get(section)
                .and_then(|d| d.as_table())
                .map(|t| t.keys().cloned().collect())
                .unwrap_or_default();
            let internal: BTreeSet<String> = deps
                .iter()
                .filter(|d| d.starts_with("latchkey-"))
                .cloned()
                .collect();
            if section == "dependencies" {
                external.insert(name.clone(), deps.difference(&internal).cloned().collect());
                graph.insert(key, internal);
            } else if !internal.is_empty() {
                graph.insert(key, internal);
            }
        }
    }
    (graph, external)
}

#[test]
fn crate_dependencies_match_architecture_md() {
    let (actual, _) = actual();
    let declared = declared();
    assert_eq!(
        actual, declared,
        "crate dependencies differ from the ```deps block in ARCHITECTURE.md; \
         change the code or, on purpose, the document"
    );
}

#[test]
fn core_and_proto_stay_free_of_http_and_sql() {
    let (_, external) = actual();
    let forbidden = [
        "axum",
        "hyper",
        "rusqlite",
        "tokio-postgres",
        "deadpool-postgres",
        "sqlx",
        "utoipa",
    ];
    for f in forbidden {
        assert!(
            !external["latchkey-core"].contains(f),
            "latchkey-core must not depend on {f}"
        );
    }
    let proto: Vec<_> = external["latchkey-proto"]
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(
        proto,
        ["serde", "utoipa"],
        "latchkey-proto depends on serde (and optional utoipa) only"
    );
    for f in ["axum", "hyper", "rusqlite", "tokio-postgres", "sqlx"] {
        assert!(
            !external["latchkey-store-tests"].contains(f),
            "the conformance suite must stay generic"
        );
    }
}

#[test]
fn no_dependency_cycles_or_upward_edges() {
    // the layer order of ARCHITECTURE.md: a crate may only depend on lower layers
    let layer = |c: &str| match c {
        "latchkey-proto" | "latchkey-tokens" => 0,
        // verify sits beside core: it may use proto and tokens, never core
        // (nor anything above it)
        "latchkey-core" | "latchkey-verify" => 1,
        "latchkey-store-sqlite"
        | "latchkey-store-postgres"
        | "latchkey-store-tests"
        | "latchkey-http"
        | "latchkey-mail"
        | "latchkey-redis" => 2,
        "latchkey-testkit" => 3,
        "latchkey-server" => 4,
        other => panic!("unknown crate {other}: add it to ARCHITECTURE.md and this test"),
    };
    let (actual, _) = actual();
    for (krate, deps) in actual.iter().filter(|(k, _)| !k.ends_with("(dev)")) {
        for d in deps {
            assert!(
                layer(d) < layer(krate),
                "{krate} → {d} points up or sideways"
            );
        }
    }
}

/// The README's fast lane: crates whose tests need no server.
const FAST_LANE: [&str; 6] = [
    "core",
    "tokens",
    "proto",
    "mail",
    "store-sqlite",
    "store-tests",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_fast_lane_needs_no_server() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let (graph, _) = actual();
    for name in FAST_LANE {
        let krate = format!("latchkey-{name}");
        assert!(
            readme.contains(&format!("-p {krate}")),
            "README's fast lane lists {krate}"
        );
        let dev = graph
            .get(&format!("{krate} (dev)"))
            .cloned()
            .unwrap_or_default();
        assert!(
            !dev.contains("latchkey-testkit"),
            "{krate}'s tests must not use testkit (its PostgreSQL and SMTP helpers)"
        );
        let mut files = Vec::new();
        rust_files(&root().join("crates").join(name), &mut files);
        assert!(!files.is_empty(), "{name} has sources");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(
                !text.contains("LATCHKEY_TEST_"),
                "{} reads a test server's address, but {krate} is in the fast lane",
                file.display()
            );
        }
    }
}

/// The most lines a source file under `crates/*/src` may have (ARCHITECTURE.md,
/// "Invariants"): past it, the file is split by meaning.
const MAX_SOURCE_LINES: usize = 800;

#[test]
fn no_source_file_is_over_800_lines() {
    let mut files = Vec::new();
    for krate in std::fs::read_dir(root().join("crates")).unwrap().flatten() {
        rust_files(&krate.path().join("src"), &mut files);
    }
    assert!(files.len() > 100, "found {} source files", files.len());
    let long: Vec<String> = files
        .iter()
        .filter_map(|file| {
            let lines = std::fs::read_to_string(file).unwrap().lines().count();
            (lines > MAX_SOURCE_LINES).then(|| {
                let name = file.strip_prefix(root()).unwrap_or(file);
                format!("{} ({lines} lines)", name.display())
            })
        })
        .collect();
    assert!(
        long.is_empty(),
        "split these by meaning (at most {MAX_SOURCE_LINES} lines each): {long:?}"
    );
}
