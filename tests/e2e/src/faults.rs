//! A fault-injecting HTTP proxy between the tag and the real collector, for
//! the delivery tests (`tests/faults.rs`).
//!
//! Pages stay on the collector; only the tag's `collector` URL points here
//! ([`Proxy::collect_url`]). Each request is read in full and then, in this
//! order: refused if the proxy is [down](Proxy::down); given the fault of the
//! first [scripted rule](Proxy::fail_when) it matches; given a fault drawn
//! by a seeded RNG at a configured [rate](Proxy::random); else forwarded.
//! Every answer carries the CORS headers the tag needs (the collector's own,
//! passed through, or ours on an injected answer), and `OPTIONS` is answered
//! here.
//!
//! Plain `std::net`, a thread per connection, one request per connection
//! (`Connection: close`). Bounded: every socket has 10 s timeouts, a hang
//! ends at its duration or when the proxy stops, and dropping the [`Proxy`]
//! stops accepting and joins the accept thread.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Socket timeouts: nothing here waits longer on the network.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Request heads larger than this are refused (the tag's are tiny).
const MAX_HEAD: usize = 64 * 1024;
/// Bodies larger than this are refused (the collector's own limit is 264 KiB: `--max-body-bytes`).
const MAX_BODY: usize = 1024 * 1024;

/// What an injected fault does to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// Reads the request and closes the connection without an answer: the
    /// browser sees a network error. Nothing reaches the collector.
    Drop,
    /// Answers this status (with `Retry-After: n` seconds when given) and
    /// CORS headers, without forwarding.
    Status(u16, Option<u32>),
    /// Holds the connection this long without answering, then closes it;
    /// nothing is forwarded. Longer than the tag's 10 s abort, it is a timeout.
    Hang(Duration),
    /// Forwards (the collector stores the batch), then closes the connection
    /// instead of passing the answer on: the browser sees a network error and
    /// resends events the collector already has.
    ForwardThenDrop,
}

impl Fault {
    fn name(&self) -> String {
        match self {
            Fault::Drop => "drop".into(),
            Fault::Status(code, Some(s)) => format!("{code}+retry-after:{s}"),
            Fault::Status(code, None) => format!("{code}"),
            Fault::Hang(d) => format!("hang {}ms", d.as_millis()),
            Fault::ForwardThenDrop => "forward-then-drop".into(),
        }
    }
}

/// The faults of a flaky network and a struggling collector: [`Proxy::random`]'s usual menu.
pub const FLAKY: [Fault; 6] = [
    Fault::Drop,
    Fault::Status(500, None),
    Fault::Status(503, Some(1)),
    Fault::Status(429, Some(1)),
    Fault::Status(413, None),
    Fault::ForwardThenDrop,
];

/// One request as the proxy read it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body as text: a gzip body (`?c=gzip`) decompressed.
    pub body: String,
    /// The body's bytes as sent, which is what the collector gets.
    pub raw: Vec<u8>,
    /// Sent gzip-compressed to `?c=gzip`.
    pub gzip: bool,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The body as a wire-format batch, if it is one.
    pub fn batch(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// Events in the body (0 if it is not a batch).
    pub fn events(&self) -> usize {
        self.batch().and_then(|b| b["events"].as_array().map(Vec::len)).unwrap_or(0)
    }

    /// The batch's `attempt` (1 when absent).
    pub fn attempt(&self) -> u64 {
        self.batch().and_then(|b| b["attempt"].as_u64()).unwrap_or(1)
    }

    /// `Sec-Fetch-Mode`: `cors` for the tag's fetch, `no-cors` for `sendBeacon`.
    pub fn mode(&self) -> &str {
        self.header("sec-fetch-mode").unwrap_or("?")
    }

    /// `Referer`: none for the tag's fetches (`referrerPolicy: 'no-referrer'`);
    /// for a beacon, what the page's referrer policy gives.
    pub fn referer(&self) -> &str {
        self.header("referer").unwrap_or("")
    }
}

/// One POST and what became of it.
#[derive(Debug, Clone)]
pub struct Record {
    pub events: usize,
    pub attempt: u64,
    pub mode: String,
    /// The [`Request::referer`] (empty for the tag's fetches, which send none).
    pub referer: String,
    /// The request's path and query, as the tag's `collector` URL made it.
    pub path: String,
    /// `None`: forwarded and answered.
    pub fault: Option<Fault>,
    /// The collector's status when the body was forwarded.
    pub upstream: Option<u16>,
    /// The body as text (decompressed when it came gzipped).
    pub body: String,
    /// It came gzip-compressed (`?c=gzip`).
    pub gzip: bool,
}

/// What the proxy saw and did.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// POSTs read in full (refused connections not included).
    pub requests: u64,
    /// Connections closed at once while the proxy was down.
    pub refused: u64,
    /// Injected faults, by kind.
    pub faults: BTreeMap<String, u64>,
    /// POST bodies that reached the collector (including forward-then-drop).
    pub forwarded: u64,
    /// The collector's answers to them, by status.
    pub upstream: BTreeMap<u16, u64>,
    /// Every POST, in order.
    pub log: Vec<Record>,
}

impl Stats {
    pub fn faults_total(&self) -> u64 {
        self.faults.values().sum()
    }

    /// Writes the log to `path`, a line per POST: fault or collector status,
    /// mode, attempt, events and the body (for looking at a failure).
    pub fn write_log(&self, path: &std::path::Path) {
        let mut out = String::new();
        for (i, r) in self.log.iter().enumerate() {
            let fate = match (r.fault, r.upstream) {
                (Some(f), _) => f.name(),
                (None, Some(code)) => code.to_string(),
                (None, None) => "no answer".into(),
            };
            let gz = if r.gzip { "gzip" } else { "plain" };
            out.push_str(&format!("{i}\t{fate}\t{}\t{gz}\tattempt {}\t{} events\t{}\n", r.mode, r.attempt, r.events, r.body));
        }
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::write(path, out);
    }

    /// One line for a test's output.
    pub fn summary(&self) -> String {
        let faults: Vec<String> = self.faults.iter().map(|(k, v)| format!("{k}×{v}")).collect();
        let up: Vec<String> = self.upstream.iter().map(|(k, v)| format!("{k}×{v}")).collect();
        format!(
            "requests {} (refused while down {}), faults {} [{}], forwarded {} [collector: {}]",
            self.requests,
            self.refused,
            self.faults_total(),
            faults.join(", "),
            self.forwarded,
            up.join(", ")
        )
    }
}

type Matcher = Box<dyn Fn(&Request) -> bool + std::marker::Send>;

struct Rule {
    matches: Matcher,
    fault: Fault,
    times: usize,
}

struct Random {
    rng: u64,
    rate: f64,
    menu: Vec<Fault>,
}

#[derive(Default)]
struct State {
    down: bool,
    rules: Vec<Rule>,
    random: Option<Random>,
    stats: Stats,
}

struct Shared {
    upstream: SocketAddr,
    state: Mutex<State>,
    stop: AtomicBool,
}

/// The proxy; stops (and joins its accept thread) when dropped.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Starts a proxy on a free loopback port in front of `upstream`
    /// (`http://127.0.0.1:<port>`, the collector), forwarding everything.
    pub fn start(upstream: &str) -> Proxy {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .unwrap_or_else(|e| panic!("proxy upstream {upstream}: {e}"));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared { upstream, state: Mutex::new(State::default()), stop: AtomicBool::new(false) });
        let s = shared.clone();
        let accept = std::thread::Builder::new()
            .name("fault-proxy".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if s.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    if s.state.lock().unwrap().down {
                        s.state.lock().unwrap().stats.refused += 1;
                        // Unread data makes this a reset: "connection refused" as near as it gets.
                        let _ = conn.set_linger_zero();
                        drop(conn);
                        continue;
                    }
                    let s = s.clone();
                    let _ = std::thread::Builder::new().name("fault-proxy-conn".into()).spawn(move || serve(&s, conn));
                }
            })
            .unwrap();
        Proxy { addr, shared, accept: Some(accept) }
    }

    /// `http://127.0.0.1:<port>/collect`: the URL to give the tag.
    pub fn collect_url(&self) -> String {
        format!("http://{}/collect", self.addr)
    }

    /// While down, every connection is closed at once, unanswered.
    pub fn down(&self) {
        self.state().down = true;
    }

    pub fn up(&self) {
        self.state().down = false;
    }

    pub fn is_down(&self) -> bool {
        self.state().down
    }

    /// From now on, each POST not caught by a rule gets a fault from `menu`
    /// (uniformly) with probability `rate`, drawn from an RNG seeded with
    /// `seed`. A 413 is only drawn for bodies of more than one event: the
    /// tag rightly treats a 413 for a single event as poison (it can never
    /// get smaller), so on one event it would be a lie, not a fault.
    pub fn random(&self, seed: u64, rate: f64, menu: &[Fault]) {
        self.state().random = Some(Random { rng: seed ^ 0x9E37_79B9_7F4A_7C15, rate, menu: menu.to_vec() });
    }

    /// No more faults: random ones off, scripted rules forgotten.
    pub fn calm(&self) {
        let mut st = self.state();
        st.random = None;
        st.rules.clear();
    }

    /// The next `times` POSTs matching `matches` get `fault` (rules are tried
    /// in the order they were added, before random faults).
    pub fn fail_when(&self, times: usize, fault: Fault, matches: impl Fn(&Request) -> bool + std::marker::Send + 'static) {
        self.state().rules.push(Rule { matches: Box::new(matches), fault, times });
    }

    /// Scripted faults not yet used up.
    pub fn rules_left(&self) -> usize {
        self.state().rules.iter().map(|r| r.times).sum()
    }

    pub fn stats(&self) -> Stats {
        self.state().stats.clone()
    }

    /// Toggles down and up (down for `down`, up for `up`, starting down)
    /// until the returned guard is dropped, which leaves the proxy up.
    pub fn flap(&self, down: Duration, up: Duration) -> Flapping {
        let shared = self.shared.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::spawn(move || {
            let sleep = |d: Duration| {
                let end = Instant::now() + d;
                while Instant::now() < end && !stop2.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(10));
                }
            };
            let mut flips = 0;
            while !stop2.load(Ordering::SeqCst) && !shared.stop.load(Ordering::SeqCst) {
                shared.state.lock().unwrap().down = true;
                sleep(down);
                shared.state.lock().unwrap().down = false;
                flips += 1;
                sleep(up);
            }
            shared.state.lock().unwrap().down = false;
            flips
        });
        Flapping { stop, thread: Some(thread) }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().unwrap()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

/// A running [`Proxy::flap`]; dropping it (or [`Flapping::stop`]) ends it with the proxy up.
pub struct Flapping {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<u32>>,
}

impl Flapping {
    /// Stops flapping; how many down-up cycles there were.
    pub fn stop(mut self) -> u32 {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().map(|t| t.join().unwrap_or(0)).unwrap_or(0)
    }
}

impl Drop for Flapping {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

trait LingerZero {
    fn set_linger_zero(&self) -> std::io::Result<()>;
}

impl LingerZero for TcpStream {
    /// SO_LINGER 0: closing sends a reset instead of a FIN.
    fn set_linger_zero(&self) -> std::io::Result<()> {
        use std::os::fd::AsRawFd;
        let l = libc::linger { l_onoff: 1, l_linger: 0 };
        // SAFETY: a plain setsockopt on a socket this process owns, with a correctly sized value.
        let r = unsafe {
            libc::setsockopt(
                self.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                &l as *const libc::linger as *const libc::c_void,
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        if r == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }
}

/// CORS headers for an answer made here (the collector's own pass through).
const CORS: &str = "Access-Control-Allow-Origin: *\r\nAccess-Control-Expose-Headers: Retry-After\r\n";

/// One connection, one request.
fn serve(s: &Shared, mut conn: TcpStream) {
    let _ = conn.set_read_timeout(Some(IO_TIMEOUT));
    let _ = conn.set_write_timeout(Some(IO_TIMEOUT));
    let Some(req) = read_request(&mut conn) else { return };
    if req.method == "OPTIONS" {
        let allow =
            "Access-Control-Allow-Methods: POST, OPTIONS\r\nAccess-Control-Allow-Headers: content-type\r\nAccess-Control-Max-Age: 600\r\n";
        let _ = write!(conn, "HTTP/1.1 204 No Content\r\n{CORS}{allow}Content-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    }
    if req.method != "POST" {
        // Pages and files come from the collector itself; pass anything else through.
        if let Some(resp) = forward(s.upstream, &req) {
            let _ = conn.write_all(&resp);
        }
        return;
    }
    let fault = decide(s, &req);
    let mut record = Record {
        events: req.events(),
        attempt: req.attempt(),
        mode: req.mode().to_string(),
        referer: req.referer().to_string(),
        path: req.path.clone(),
        fault,
        upstream: None,
        body: req.body.clone(),
        gzip: req.gzip,
    };
    match fault {
        None | Some(Fault::ForwardThenDrop) => {
            let resp = forward(s.upstream, &req);
            record.upstream = resp.as_deref().and_then(status_of);
            {
                let mut st = s.state.lock().unwrap();
                if resp.is_some() {
                    st.stats.forwarded += 1;
                }
                if let Some(code) = record.upstream {
                    *st.stats.upstream.entry(code).or_default() += 1;
                }
                st.stats.log.push(record);
            }
            if fault.is_none() {
                if let Some(resp) = resp {
                    let _ = conn.write_all(&resp);
                }
            }
        }
        Some(f) => {
            s.state.lock().unwrap().stats.log.push(record);
            match f {
                Fault::Status(code, retry_after) => {
                    let ra = retry_after.map(|n| format!("Retry-After: {n}\r\n")).unwrap_or_default();
                    let body = format!("{{\"error\":\"injected {code}\"}}");
                    let _ = write!(
                        conn,
                        "HTTP/1.1 {code} Injected\r\n{CORS}{ra}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                }
                Fault::Hang(d) => {
                    let end = Instant::now() + d;
                    while Instant::now() < end && !s.stop.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
                Fault::Drop | Fault::ForwardThenDrop => {}
            }
        }
    }
    let _ = conn.shutdown(Shutdown::Both);
}

/// The fault for this POST, if any; counts it.
fn decide(s: &Shared, req: &Request) -> Option<Fault> {
    let mut st = s.state.lock().unwrap();
    st.stats.requests += 1;
    let mut fault = None;
    if let Some(rule) = st.rules.iter_mut().find(|r| r.times > 0 && (r.matches)(req)) {
        rule.times -= 1;
        fault = Some(rule.fault);
    } else if let Some(r) = st.random.as_mut() {
        let (roll, pick) = (next(&mut r.rng), next(&mut r.rng));
        if ((roll >> 11) as f64 / (1u64 << 53) as f64) < r.rate && !r.menu.is_empty() {
            let f = r.menu[(pick % r.menu.len() as u64) as usize];
            if f != Fault::Status(413, None) || req.events() > 1 {
                fault = Some(f);
            }
        }
    }
    st.rules.retain(|r| r.times > 0);
    if let Some(f) = fault {
        *st.stats.faults.entry(f.name()).or_default() += 1;
    }
    fault
}

/// splitmix64.
fn next(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn read_request(conn: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())).collect();
    let len: usize = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    if len > MAX_BODY || headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked")) {
        return None;
    }
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(len);
    let gzip = path.split_once('?').is_some_and(|(_, q)| q.split('&').any(|p| p == "c=gzip"));
    let text = if gzip {
        let mut t = String::new();
        // A body that does not decompress is shown as it came.
        match std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut t) {
            Ok(_) => t,
            Err(_) => String::from_utf8_lossy(&body).to_string(),
        }
    } else {
        String::from_utf8_lossy(&body).to_string()
    };
    Some(Request { method, path, headers, body: text, raw: body, gzip })
}

/// Sends `req` to the collector; its whole answer, with `Connection: close`.
fn forward(upstream: SocketAddr, req: &Request) -> Option<Vec<u8>> {
    let mut up = TcpStream::connect_timeout(&upstream, IO_TIMEOUT).ok()?;
    up.set_read_timeout(Some(IO_TIMEOUT)).ok()?;
    up.set_write_timeout(Some(IO_TIMEOUT)).ok()?;
    let mut head = format!("{} {} HTTP/1.1\r\nHost: {upstream}\r\n", req.method, req.path);
    for (k, v) in &req.headers {
        if !matches!(k.as_str(), "host" | "connection" | "keep-alive" | "content-length" | "transfer-encoding") {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", req.raw.len()));
    up.write_all(head.as_bytes()).ok()?;
    up.write_all(&req.raw).ok()?;
    let mut resp = Vec::new();
    up.read_to_end(&mut resp).ok()?;
    let end = resp.windows(4).position(|w| w == b"\r\n\r\n")?;
    // The connection to the browser closes after this answer: say so.
    let head = String::from_utf8_lossy(&resp[..end]).to_string();
    let mut out = String::new();
    for (i, line) in head.split("\r\n").enumerate() {
        let name = line.split(':').next().unwrap_or("").trim().to_ascii_lowercase();
        if i == 0 || !matches!(name.as_str(), "connection" | "keep-alive") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&resp[end + 4..]);
    Some(bytes)
}

fn status_of(resp: &[u8]) -> Option<u16> {
    let line = resp.split(|&b| b == b'\r').next()?;
    std::str::from_utf8(line).ok()?.split(' ').nth(1)?.parse().ok()
}

/// A site for the tests in a temporary folder: the built tag (copied from
/// `www/goaltag/`) and `pages` (path, HTML; more can be written later with
/// [`write_page`], the collector reads files as they are asked for). Panics
/// if the tag is not built.
pub fn site(pages: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("goaltag-faults-www-").tempdir().unwrap();
    let tag = crate::repo_www().join("goaltag");
    std::fs::create_dir_all(dir.path().join("goaltag")).unwrap();
    for f in ["goaltag.js", "goaltag_bg.wasm"] {
        std::fs::copy(tag.join(f), dir.path().join("goaltag").join(f))
            .unwrap_or_else(|e| panic!("{}: {e}: run ./build.sh build first", tag.join(f).display()));
    }
    for (path, html) in pages {
        write_page(dir.path(), path, html);
    }
    dir
}

/// Writes `html` at `path` under the site folder `www`.
pub fn write_page(www: &std::path::Path, path: &str, html: &str) {
    let p = www.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, html).unwrap();
}
