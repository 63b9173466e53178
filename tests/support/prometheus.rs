//! A real Prometheus server for the `--prometheus` tests: telemetry backfilled with `promtool
//! tsdb create-blocks-from openmetrics` into a fresh TSDB, then `prometheus` started on a free
//! loopback port with an empty configuration (nothing scraped), stopped when dropped. The
//! Debian package's own service is not used. `scripts/setup` installs the package: a missing
//! binary is a failure, not a skip.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server, stopped when dropped.
pub struct Prometheus {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    child: Child,
    _dir: tempfile::TempDir,
}

#[track_caller]
fn tool(name: &str) -> String {
    let found = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    });
    match found {
        Some(p) => p.display().to_string(),
        None => panic!(
            "`{name}` is not installed: scripts/setup installs it (apt-get install prometheus)"
        ),
    }
}

/// A loopback port nothing listens on (just released by the OS).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    l.local_addr().unwrap().port()
}

impl Prometheus {
    /// Backfills `openmetrics` (OpenMetrics text, `# EOF` at the end) and starts the server.
    #[track_caller]
    pub fn start(openmetrics: &str) -> Prometheus {
        Prometheus::start_with(openmetrics, &[])
    }

    /// The same, with more flags for the server.
    #[track_caller]
    pub fn start_with(openmetrics: &str, flags: &[&str]) -> Prometheus {
        let promtool = tool("promtool");
        let prometheus = tool("prometheus");
        let dir = tempfile::tempdir().expect("temp dir");
        let input = dir.path().join("data.om");
        std::fs::write(&input, openmetrics).unwrap();
        let tsdb = dir.path().join("tsdb");
        let out = Command::new(&promtool)
            .args(["tsdb", "create-blocks-from", "openmetrics", "--quiet"])
            .arg("--max-block-duration=24h")
            .arg(&input)
            .arg(&tsdb)
            .output()
            .expect("run promtool");
        assert!(
            out.status.success(),
            "promtool tsdb create-blocks-from openmetrics failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let config = dir.path().join("empty.yml");
        std::fs::write(&config, "").unwrap();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let port = free_port();
        let child = Command::new(&prometheus)
            .arg(format!("--storage.tsdb.path={}", tsdb.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!("--config.file={}", config.display()))
            // Old backfilled blocks must not be deleted as soon as the server opens them.
            .arg("--storage.tsdb.retention.time=10y")
            .args(flags)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        let p = Prometheus {
            url: format!("http://127.0.0.1:{port}"),
            child,
            _dir: dir,
        };
        p.wait_ready();
        p
    }

    #[track_caller]
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = format!("{}/-/ready", self.url);
        loop {
            if let Ok(r) = ureq::get(&url).call()
                && r.status() == 200
            {
                return;
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
                panic!("prometheus did not become ready at {url} within 60 s:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log_path(&self) -> std::path::PathBuf {
        self._dir.path().join("prometheus.log")
    }
}

impl Prometheus {
    /// A reverse proxy in front of the server that serves everything but remote read
    /// (`/api/v1/read` is 404, as behind a proxy or a store without it): its URL. Each
    /// request gets its own upstream connection (`Connection: close`), so every request line
    /// is seen.
    pub fn without_remote_read(&self) -> String {
        use std::io::{Read, Write};
        let upstream = self.url.trim_start_matches("http://").to_string();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let upstream = upstream.clone();
                std::thread::spawn(move || {
                    let mut client = client;
                    let mut head = Vec::new();
                    let mut byte = [0u8];
                    while !head.ends_with(b"\r\n\r\n") {
                        if client.read(&mut byte).unwrap_or(0) == 0 {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    if head.starts_with(b"POST /api/v1/read ") {
                        let _ = client.write_all(
                            b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 19\r\nConnection: close\r\n\r\n404 page not found\n",
                        );
                        return;
                    }
                    head.truncate(head.len() - 2);
                    head.extend_from_slice(b"Connection: close\r\n\r\n");
                    let Ok(mut server) = std::net::TcpStream::connect(&upstream) else {
                        return;
                    };
                    let _ = server.write_all(&head);
                    let (mut from_client, mut to_server) =
                        (client.try_clone().unwrap(), server.try_clone().unwrap());
                    std::thread::spawn(move || std::io::copy(&mut from_client, &mut to_server));
                    let _ = std::io::copy(&mut server, &mut client);
                });
            }
        });
        url
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
