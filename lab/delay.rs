//! A TCP proxy that adds a fixed delay in each direction, for `scripts/bench-upload --rtt MS`:
//! the lab's stand-in for a WAN link between the operator and a far data center. Loopback only,
//! memory-bounded (at most `QUEUE` chunks in flight per direction, then the sender waits as a
//! full link would), and it stops by itself after `--max-seconds`.
//!
//!   lbfleet-lab-delay --listen 127.0.30.1:2223 --to 127.0.30.1:2222 --delay-ms 75 [--max-seconds 900]
//!
//! Each chunk read on one side is written to the other `--delay-ms` after it arrived, so a round
//! trip gains twice the delay while bandwidth stays that of loopback: what bounds a transfer is
//! then its own window, as across an ocean.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

/// Chunks in flight per direction (64 KiB each: at most 256 MiB queued).
const QUEUE: usize = 4096;
const CHUNK: usize = 64 * 1024;

fn usage(why: &str) -> ! {
    eprintln!("lbfleet-lab-delay: {why}");
    eprintln!(
        "usage: lbfleet-lab-delay --listen ADDR:PORT --to ADDR:PORT --delay-ms MS [--max-seconds S]"
    );
    std::process::exit(2)
}

fn loopback(arg: &str, what: &str) -> SocketAddr {
    let addr: SocketAddr = arg
        .parse()
        .unwrap_or_else(|_| usage(&format!("{what} {arg:?} is not ADDR:PORT")));
    if !addr.ip().is_loopback() {
        usage(&format!("{what} {addr} is not a loopback address"));
    }
    addr
}

/// Reads chunks from `from` and queues each with the instant it may leave.
fn reader(mut from: TcpStream, queue: SyncSender<(Instant, Vec<u8>)>, delay: Duration) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if queue
                    .send((Instant::now() + delay, buf[..n].to_vec()))
                    .is_err()
                {
                    break;
                }
            }
        }
    }
    // An empty chunk says the sender closed its side.
    let _ = queue.send((Instant::now() + delay, Vec::new()));
}

/// Writes each queued chunk to `to` once its time has come.
fn writer(mut to: TcpStream, queue: Receiver<(Instant, Vec<u8>)>) {
    for (due, chunk) in queue {
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        if chunk.is_empty() || to.write_all(&chunk).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

fn pump(from: TcpStream, to: TcpStream, delay: Duration) {
    let (tx, rx) = sync_channel(QUEUE);
    std::thread::spawn(move || reader(from, tx, delay));
    std::thread::spawn(move || writer(to, rx));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let listen = loopback(
        &get("--listen").unwrap_or_else(|| usage("--listen is required")),
        "--listen",
    );
    let to = loopback(
        &get("--to").unwrap_or_else(|| usage("--to is required")),
        "--to",
    );
    let delay_ms: u64 = get("--delay-ms")
        .unwrap_or_else(|| usage("--delay-ms is required"))
        .parse()
        .unwrap_or_else(|_| usage("--delay-ms takes whole milliseconds"));
    let max: u64 = get("--max-seconds")
        .map(|s| {
            s.parse()
                .unwrap_or_else(|_| usage("--max-seconds takes whole seconds"))
        })
        .unwrap_or(900);
    let delay = Duration::from_millis(delay_ms);
    let listener = TcpListener::bind(listen).unwrap_or_else(|e| usage(&format!("{listen}: {e}")));
    // Stops by itself: a benchmark that dies leaves no proxy behind for long.
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(max));
        std::process::exit(0);
    });
    for client in listener.incoming() {
        let Ok(client) = client else { continue };
        let Ok(server) = TcpStream::connect(to) else {
            continue;
        };
        for s in [&client, &server] {
            let _ = s.set_nodelay(true);
        }
        let (c2, s2) = match (client.try_clone(), server.try_clone()) {
            (Ok(c), Ok(s)) => (c, s),
            _ => continue,
        };
        pump(client, server, delay);
        pump(s2, c2, delay);
    }
}
