//! PostgreSQL for the collector's tests: a fresh database per test in the
//! server whose URL `GOALTAG_TEST_PG` holds (`./build.sh test` and
//! `./build.sh test-pg` start a throwaway one, set it, and run the tests with
//! `--include-ignored`).
//!
//! Every test that needs PostgreSQL is `#[ignore = "needs PostgreSQL: …"]`,
//! so a plain `cargo test` lists it as ignored, with the reason, instead of
//! reporting a pass it did not earn; run without the variable it fails.
#![allow(dead_code)] // each test file uses its own part of it

use std::sync::atomic::{AtomicUsize, Ordering};

/// The variable holding the server's URL (`postgres://user@host:port/database`).
pub const VAR: &str = "GOALTAG_TEST_PG";

/// The server's URL; panics when it is not set (the test was asked for, so it must not pass unrun).
pub fn server() -> String {
    match std::env::var(VAR) {
        Ok(url) if !url.is_empty() => url,
        _ => panic!("{VAR} is not set: this test needs PostgreSQL (./build.sh test-pg starts a server, sets {VAR} and runs it)"),
    }
}

/// Runs `f` on a small runtime of its own (tests are plain threads).
pub fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

/// Connects to `url` and runs `f` with the client.
pub fn with_client<T>(url: &str, f: impl AsyncFnOnce(&tokio_postgres::Client) -> T) -> T {
    block_on(with_client_async(url, f))
}

/// [`with_client`] inside a runtime.
pub async fn with_client_async<T>(url: &str, f: impl AsyncFnOnce(&tokio_postgres::Client) -> T) -> T {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    let task = tokio::spawn(conn);
    let out = f(&client).await;
    drop(client);
    let _ = task.await;
    out
}

/// A new, empty database on the server, named after `hint`: its URL.
pub fn fresh(hint: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let server = server();
    let name = format!("gt_{hint}_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    with_client(&server, async |c| c.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap());
    database_url(&server, &name)
}

/// `url` with its database replaced by `name`.
pub fn database_url(url: &str, name: &str) -> String {
    let (rest, query) = url.split_once('?').map_or((url, None), |(r, q)| (r, Some(q)));
    let after_scheme = rest.find("://").map_or(0, |i| i + 3);
    let base = match rest[after_scheme..].find('/') {
        Some(i) => &rest[..after_scheme + i],
        None => rest,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// The first column of the first row of `sql`, as a number.
pub fn count(url: &str, sql: &str) -> i64 {
    with_client(url, async |c| c.query_one(sql, &[]).await.unwrap().get(0))
}
