//! A deliberately flaky service on loopback, with seeded faults so a run can be repeated.
//!
//! Protocol: one request per connection. The client sends `REQ <id> <attempt>\n`; the
//! service answers `OK <id>\n` or `ERR <id>\n`, or misbehaves. What happens to a request is a
//! pure function of `(seed, id, attempt)`, so every runtime meets the same faults, and a retry
//! (a new attempt) meets a fresh draw.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdListener};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the service does with one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Answers OK after a short latency.
    Healthy(Duration),
    /// Answers OK after a long latency spike.
    Spike(Duration),
    /// Answers ERR quickly.
    Error,
    /// Never answers; holds the connection until the client gives up.
    Stall,
    /// Resets the connection.
    Reset,
    /// The request is routed to a replica that is down: connection refused.
    Refused,
}

/// The fault for one attempt: 78% healthy (2-8 ms), 6% latency spike (150-400 ms), 6% error,
/// 4% stall, 3% reset, 3% refused.
pub(crate) fn fault(seed: u64, id: u64, attempt: u32) -> Fault {
    let mut x = mix(seed ^ mix(id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(attempt)));
    let roll = x % 100;
    x = mix(x);
    match roll {
        0..=77 => Fault::Healthy(Duration::from_millis(2 + x % 7)),
        78..=83 => Fault::Spike(Duration::from_millis(150 + x % 251)),
        84..=89 => Fault::Error,
        90..=93 => Fault::Stall,
        94..=96 => Fault::Reset,
        _ => Fault::Refused,
    }
}

/// SplitMix64's finaliser: a good 64-bit mix.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The running service: where to reach it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Service {
    /// The live replica.
    pub(crate) live: SocketAddr,
    /// A replica that is down: connecting is refused.
    pub(crate) dead: SocketAddr,
    /// The seed of the faults.
    pub(crate) seed: u64,
}

/// The outage, in time since the run began: the live replica is down, so every attempt goes to
/// the dead one and is refused.
pub(crate) const OUTAGE: core::ops::Range<Duration> =
    Duration::from_millis(800)..Duration::from_millis(1200);

impl Service {
    /// Where an attempt goes `since` the run began: the dead replica for a `Refused` draw or
    /// during the [`OUTAGE`], else the live one.
    pub(crate) fn route(&self, id: u64, attempt: u32, since: Duration) -> SocketAddr {
        if OUTAGE.contains(&since) || fault(self.seed, id, attempt) == Fault::Refused {
            self.dead
        } else {
            self.live
        }
    }
}

/// Starts the service on its own thread and runtime; it lives as long as the process.
pub(crate) fn start(seed: u64, port: u16) -> io::Result<Service> {
    let listener = StdListener::bind((Ipv4Addr::LOCALHOST, port))
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
    listener.set_nonblocking(true)?;
    let live = listener.local_addr()?;
    // A port that was just bound and released: nothing listens there, connecting is refused.
    let dead = StdListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?;
    std::thread::Builder::new()
        .name("flaky-service".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("the service's runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("a tokio listener");
                loop {
                    if let Ok((stream, _)) = listener.accept().await {
                        tokio::spawn(serve(stream, seed));
                    }
                }
            });
        })?;
    Ok(Service { live, dead, seed })
}

async fn serve(stream: TcpStream, seed: u64) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    let read = tokio::time::timeout(Duration::from_secs(5), reader.read_line(&mut line)).await;
    let Ok(Ok(n)) = read else { return };
    if n == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let (Some("REQ"), Some(id), Some(attempt)) = (parts.next(), parts.next(), parts.next()) else {
        let _ = reader.get_mut().write_all(b"ERR bad-request\n").await;
        return;
    };
    let (Ok(id), Ok(attempt)) = (id.parse::<u64>(), attempt.parse::<u32>()) else {
        let _ = reader.get_mut().write_all(b"ERR bad-request\n").await;
        return;
    };
    let mut stream = reader.into_inner();
    match fault(seed, id, attempt) {
        Fault::Healthy(latency) | Fault::Spike(latency) => {
            tokio::time::sleep(latency).await;
            let _ = stream.write_all(format!("OK {id}\n").as_bytes()).await;
        }
        Fault::Error => {
            tokio::time::sleep(Duration::from_millis(2)).await;
            let _ = stream.write_all(format!("ERR {id}\n").as_bytes()).await;
        }
        Fault::Stall => {
            // Hold the connection, answering nothing, until the client hangs up (bounded).
            let mut sink = [0u8; 64];
            let _ = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut sink)).await;
        }
        Fault::Reset => {
            // A zero linger does not block on drop: the connection is reset at once.
            #[allow(deprecated)]
            let _ = stream.set_linger(Some(Duration::ZERO));
            drop(stream);
        }
        Fault::Refused => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_seeded_and_mixed() {
        let draws: Vec<Fault> = (0..2000).map(|id| fault(7, id, 1)).collect();
        assert_eq!(
            draws,
            (0..2000).map(|id| fault(7, id, 1)).collect::<Vec<_>>()
        );
        let share = |f: fn(&Fault) -> bool| draws.iter().filter(|d| f(d)).count();
        assert!((1450..1670).contains(&share(|d| matches!(d, Fault::Healthy(_)))));
        assert!((45..120).contains(&share(|d| *d == Fault::Stall)));
        assert!((30..100).contains(&share(|d| *d == Fault::Refused)));
        // A retry meets a fresh draw.
        assert!((0..100).any(|id| fault(7, id, 1) != fault(7, id, 2)));
    }
}
