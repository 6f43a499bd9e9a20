//! A collector on each store, for the tests that run on both: SQLite in a
//! temp folder, and a fresh PostgreSQL database (see `pg/mod.rs`).
//! [`on_both_stores!`] makes the pair of tests. Needs `mod common;` and
//! `mod pg;` beside it.
#![allow(dead_code)] // each test file uses its own part of it

use crate::common::Server;
use crate::pg;
use goaltag_collector::{Config, Database};

/// A collector on a fresh SQLite file, its configuration changed by `edit`.
pub fn start_with(edit: fn(&mut Config)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let mut cfg = Config { db: db.clone().into(), ..Default::default() };
    edit(&mut cfg);
    Server::serve(goaltag_collector::router(cfg).unwrap(), db, dir)
}

/// A collector on a fresh PostgreSQL database named after `hint` (`db`
/// holds its URL), its configuration changed by `edit`.
pub fn start_pg_with(hint: &str, edit: fn(&mut Config)) -> Server {
    let url = pg::fresh(hint);
    let mut cfg = Config { db: Database::Postgres(url.clone()), ..Default::default() };
    edit(&mut cfg);
    Server::serve(goaltag_collector::router(cfg).unwrap(), url.into(), tempfile::tempdir().unwrap())
}

/// A collector on a fresh SQLite file.
pub fn start() -> Server {
    start_with(|_| {})
}

/// A collector on a fresh PostgreSQL database.
pub fn start_pg(hint: &str) -> Server {
    start_pg_with(hint, |_| {})
}

/// `on_both_stores!(sqlite_name, postgres_name, test)`: runs `test(server)`
/// on SQLite, and on PostgreSQL as an ignored test that `./build.sh test`
/// and `./build.sh test-pg` run. (`#[macro_use] mod stores;` to use it.)
#[allow(unused_macros)] // not every test file that starts stores uses it
macro_rules! on_both_stores {
    ($sqlite:ident, $postgres:ident, $test:ident) => {
        #[test]
        fn $sqlite() {
            $test(stores::start());
        }
        #[test]
        #[ignore = "needs PostgreSQL: run by ./build.sh test or ./build.sh test-pg (GOALTAG_TEST_PG)"]
        fn $postgres() {
            $test(stores::start_pg(stringify!($test)));
        }
    };
}
