//! `--admin-token`: the site owner's routes answer only with the token (a
//! bearer header, or the cookie the login form sets); `/collect` and
//! `/health` stay public; without a token everything is open (the demo).

mod common;

use common::{agent, Server};

const TOKEN: &str = "s3cret-admin-token-0123456789";

fn start(token: Option<&str>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let cfg = goaltag_collector::Config { db: db.clone().into(), admin_token: token.map(String::from), ..Default::default() };
    let app = goaltag_collector::router(cfg).unwrap();
    Server::serve(app, db, dir)
}

/// (status, headers we look at, body)
struct Answer {
    status: u16,
    set_cookie: Option<String>,
    location: Option<String>,
    www_authenticate: Option<String>,
    body: String,
}

fn answer(r: Result<ureq::Response, ureq::Error>) -> Answer {
    let r = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    Answer {
        status: r.status(),
        set_cookie: r.header("set-cookie").map(String::from),
        location: r.header("location").map(String::from),
        www_authenticate: r.header("www-authenticate").map(String::from),
        body: r.into_string().unwrap(),
    }
}

/// An agent that does not follow redirects, so the login's 303 can be read.
fn no_redirects() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(common::TIMEOUT).redirects(0).build()
}

fn get(s: &Server, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut req = no_redirects().get(&format!("{}{path}", s.base));
    for (k, v) in headers {
        req = req.set(k, v);
    }
    answer(req.call())
}

const OWNER_GETS: [&str; 6] = [
    "/report?site=shop",
    "/report/sites",
    "/dashboard",
    "/dashboard/assets/dashboard.js",
    "/export?site=shop&platform=meta",
    "/export/platforms?site=shop",
];

#[test]
fn without_a_token_the_owner_routes_are_open() {
    let s = start(None);
    for path in OWNER_GETS {
        assert_eq!(get(&s, path, &[]).status, 200, "{path}");
    }
    assert_eq!(get(&s, "/login", &[]).status, 404, "no login form without a token");
}

#[test]
fn with_a_token_the_owner_routes_need_it() {
    let s = start(Some(TOKEN));
    let bearer = format!("Bearer {TOKEN}");
    for path in OWNER_GETS {
        let none = get(&s, path, &[]);
        assert_eq!(none.status, 401, "{path} without a token: {}", none.body);
        let wrong = get(&s, path, &[("Authorization", "Bearer s3cret-admin-token-0123456788")]);
        assert_eq!(wrong.status, 401, "{path} with a wrong token");
        let right = get(&s, path, &[("Authorization", &bearer)]);
        assert_eq!(right.status, 200, "{path} with the token: {}", right.body);
    }
    // API routes say why and how, in JSON, with the scheme to use.
    let refused = get(&s, "/report?site=shop", &[]);
    assert_eq!(refused.www_authenticate.as_deref(), Some("Bearer realm=\"goaltag\""));
    let v: serde_json::Value = serde_json::from_str(&refused.body).unwrap();
    assert!(v["error"].as_str().unwrap().contains("Authorization: Bearer"), "{v}");
    // POST /import too: nothing is stored without the token.
    let csv = "transaction_id,goal,stage,ts\nT-1,purchase,shipped,2026-03-02\n";
    let import = |auth: Option<&str>| {
        let mut req = agent().post(&format!("{}/import?site=shop", s.base)).set("Content-Type", "text/csv");
        if let Some(a) = auth {
            req = req.set("Authorization", a);
        }
        answer(req.send_string(csv))
    };
    assert_eq!(import(None).status, 401);
    assert_eq!(import(Some("Bearer nope-nope-nope-nope")).status, 401);
    let conn = rusqlite::Connection::open(&s.db).unwrap();
    let rows = |conn: &rusqlite::Connection| conn.query_row("select count(*) from imports", [], |r| r.get::<_, i64>(0)).unwrap();
    assert_eq!(rows(&conn), 0);
    assert_eq!(import(Some(&bearer)).status, 200);
    assert_eq!(rows(&conn), 1);
}

#[test]
fn collect_health_and_static_files_stay_public() {
    let s = start(Some(TOKEN));
    assert_eq!(get(&s, "/health", &[]).status, 200);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let body = format!(
        r#"{{"v":1,"site":"shop","sent_at":{now},"events":[{{"id":"0f8fad5b-d9cb-469f-a165-70867728950e","kind":"click","ts":{now}}}]}}"#
    );
    let a = answer(agent().post(&format!("{}/collect", s.base)).send_string(&body));
    let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!((a.status, v), (200, serde_json::json!({"stored": 1, "duplicates": 0})));
}

#[test]
fn the_login_form_sets_a_cookie_that_opens_the_dashboard() {
    let s = start(Some(TOKEN));
    // A browser without the cookie gets the form, not the dashboard.
    let page = get(&s, "/dashboard", &[]);
    assert_eq!(page.status, 401);
    assert!(page.body.contains(r#"<form method="post" action="/login">"#), "{}", page.body);
    assert!(!page.body.contains("dashboard.js"), "the dashboard itself is not served");

    let post = |token: &str| answer(no_redirects().post(&format!("{}/login", s.base)).send_form(&[("token", token)]));
    let wrong = post("s3cret-admin-token-0123456788");
    assert_eq!(wrong.status, 401);
    assert!(wrong.set_cookie.is_none());
    assert!(wrong.body.contains("not the admin token"));

    let ok = post(TOKEN);
    assert_eq!(ok.status, 303);
    assert_eq!(ok.location.as_deref(), Some("/dashboard"));
    let cookie = ok.set_cookie.expect("a cookie");
    let attrs: Vec<&str> = cookie.split(';').map(str::trim).collect();
    assert!(attrs[0].starts_with("goaltag_admin="), "{cookie}");
    for a in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(attrs.contains(&a), "{a} in {cookie}");
    }
    // The browser sends it back: the dashboard, its assets and its data open.
    let jar = attrs[0];
    let dash = get(&s, "/dashboard", &[("Cookie", jar)]);
    assert_eq!(dash.status, 200);
    assert!(dash.body.contains("dashboard.js"));
    assert_eq!(get(&s, "/dashboard/assets/dashboard.js", &[("Cookie", jar)]).status, 200);
    assert_eq!(get(&s, "/report/sites", &[("Cookie", jar)]).status, 200);
    // A cookie with another value opens nothing, the token itself included:
    // the cookie is a signed session, not the token.
    assert!(!jar.contains(TOKEN), "{jar}");
    assert_eq!(get(&s, "/dashboard", &[("Cookie", "goaltag_admin=s3cret-admin-token-0123456788")]).status, 401);
    assert_eq!(get(&s, "/dashboard", &[("Cookie", &format!("goaltag_admin={TOKEN}"))]).status, 401);
}

/// Logs in through the form; the `goaltag_admin=…` pair the browser sends back.
fn log_in(s: &Server) -> String {
    let ok = answer(no_redirects().post(&format!("{}/login", s.base)).send_form(&[("token", TOKEN)]));
    assert_eq!(ok.status, 303);
    ok.set_cookie.expect("a cookie").split(';').next().unwrap().to_string()
}

#[test]
fn logging_out_clears_the_cookie_and_ends_the_session() {
    let s = start(Some(TOKEN));
    let jar = log_in(&s);
    let other = log_in(&s);
    // The dashboard has the button.
    let dash = get(&s, "/dashboard", &[("Cookie", &jar)]);
    assert!(dash.body.contains(r#"<form method="post" action="/logout""#), "{}", dash.body);

    let out = answer(no_redirects().post(&format!("{}/logout", s.base)).set("Cookie", &jar).call());
    assert_eq!(out.status, 303);
    assert_eq!(out.location.as_deref(), Some("/login"));
    let cleared = out.set_cookie.expect("a cookie that clears");
    let attrs: Vec<&str> = cleared.split(';').map(str::trim).collect();
    assert_eq!(attrs[0], "goaltag_admin=", "{cleared}");
    assert!(attrs.contains(&"Max-Age=0") && attrs.contains(&"Path=/"), "{cleared}");
    // A browser that kept the old cookie (or someone who copied it) is out.
    assert_eq!(get(&s, "/report/sites", &[("Cookie", &jar)]).status, 401);
    assert_eq!(get(&s, "/dashboard", &[("Cookie", &jar)]).status, 401);
    // Another login (another browser) is not.
    assert_eq!(get(&s, "/report/sites", &[("Cookie", &other)]).status, 200);
    // Without a token there is nothing to log out of: no button, no route.
    let open = start(None);
    assert!(!get(&open, "/dashboard", &[]).body.contains("/logout"));
    assert_eq!(answer(no_redirects().post(&format!("{}/logout", open.base)).call()).status, 404);
}

#[test]
fn a_short_token_is_refused_at_start() {
    let cfg = goaltag_collector::Config { admin_token: Some("secret".into()), ..Default::default() };
    let err = goaltag_collector::router(cfg).unwrap_err().to_string();
    assert!(err.contains("16 to 256 characters"), "{err}");
}
