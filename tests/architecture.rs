//! The layering rules of STYLE.md, enforced: the pure layers do no IO and read no clock or RNG,
//! and no module reaches up to a layer above it.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

fn src(layer: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(layer)
}

/// Lines of code, with `//` comments removed (doc comments may name what they avoid).
fn code_lines(path: &Path) -> Vec<(usize, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.split("//").next().unwrap_or("").to_owned()))
        .collect()
}

fn violations(layers: &[&str], forbidden: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for layer in layers {
        for file in rust_files(&src(layer)) {
            for (n, line) in code_lines(&file) {
                for word in forbidden {
                    if line.contains(word) {
                        found.push(format!("{}:{n}: uses `{word}`", file.display()));
                    }
                }
            }
        }
    }
    found
}

const PURE: &[&str] = &["domain", "projection", "bundle", "crypto"];

#[test]
fn pure_layers_do_no_io_and_read_no_clock_or_rng() {
    let forbidden = [
        "rusqlite",
        "tokio",
        "iced",
        "async_nats",
        "std::fs",
        // std::net's address types are plain data; its sockets are IO.
        "TcpStream",
        "TcpListener",
        "UdpSocket",
        "to_socket_addrs",
        "std::process",
        "std::env",
        "std::io::stdin",
        "File::",
        "SystemTime",
        "Instant::now",
        "Utc::now",
        "Local::now",
        "now_v7",
        "new_v4",
        "rand::",
        "OsRng",
        "thread_rng",
        "getrandom",
    ];
    let found = violations(PURE, &forbidden);
    assert!(found.is_empty(), "pure layers must not do IO or read the clock/RNG:\n{}", found.join("\n"));
}

#[test]
fn arrows_only_point_down() {
    let rules: &[(&[&str], &[&str])] = &[
        (
            &["domain"],
            &[
                "crate::projection",
                "crate::store",
                "crate::app",
                "crate::cli",
                "crate::gui",
                "crate::sync",
                "crate::bundle",
                "crate::crypto",
            ],
        ),
        (&["projection"], &["crate::store", "crate::app", "crate::cli", "crate::gui", "crate::sync", "crate::bundle"]),
        (
            &["crypto"],
            &[
                "crate::domain",
                "crate::projection",
                "crate::store",
                "crate::app",
                "crate::cli",
                "crate::gui",
                "crate::sync",
                "crate::bundle",
            ],
        ),
        (&["store"], &["crate::app", "crate::cli", "crate::gui", "crate::sync"]),
        (&["app"], &["crate::cli", "crate::gui"]),
        (&["sync"], &["crate::store", "crate::app", "crate::cli", "crate::gui", "rusqlite"]),
        (&["cli", "gui"], &["crate::store::Store", "rusqlite", "async_nats", "crate::projection::Chain", ".store()"]),
    ];
    let mut found = Vec::new();
    for (layers, forbidden) in rules {
        found.extend(violations(layers, forbidden));
    }
    assert!(found.is_empty(), "a layer reaches up (see docs/ARCHITECTURE.md):\n{}", found.join("\n"));
}

#[test]
fn the_checker_sees_what_it_forbids() {
    // Guard against a checker that silently scans nothing.
    assert!(rust_files(&src("domain")).len() >= 5);
    assert!(rust_files(&src("projection")).len() >= 5);
    assert!(rust_files(&src("crypto")).len() >= 5);
    assert!(!violations(&["store"], &["rusqlite"]).is_empty());
    assert!(!violations(&["app"], &["Utc::now"]).is_empty());
}
