//! The transports: the same request over tokio's sockets and over async-io's (smol, async-std
//! and the embassy leg, whose executor runs any future).

use std::io::{self, ErrorKind};
use std::net::{SocketAddr, TcpStream as StdStream};
use std::time::Instant;

use async_io::Async;
use smol::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader as SmolReader};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

use crate::client::{CallError, Transport};
use crate::service::Service;

fn classify(e: &io::Error) -> CallError {
    match e.kind() {
        ErrorKind::ConnectionRefused => CallError::Refused,
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
            CallError::Reset
        }
        ErrorKind::UnexpectedEof => CallError::Closed,
        _ => CallError::Io,
    }
}

fn answer(id: u64, line: &str) -> Result<(), CallError> {
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some("OK"), Some(got)) if got == id.to_string() => Ok(()),
        (None, _) => Err(CallError::Closed),
        _ => Err(CallError::Server),
    }
}

/// Requests over tokio's `TcpStream`, from the moment the run began (for the outage).
pub(crate) struct TokioTransport(pub(crate) Service, pub(crate) Instant);

impl Transport for TokioTransport {
    async fn call(&self, id: u64, attempt: u32) -> Result<(), CallError> {
        let addr: SocketAddr = self.0.route(id, attempt, self.1.elapsed());
        let mut stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| classify(&e))?;
        let _ = stream.set_nodelay(true);
        stream
            .write_all(format!("REQ {id} {attempt}\n").as_bytes())
            .await
            .map_err(|e| classify(&e))?;
        let mut line = String::new();
        BufReader::new(stream)
            .read_line(&mut line)
            .await
            .map_err(|e| classify(&e))?;
        answer(id, &line)
    }
}

/// Requests over async-io's `Async<TcpStream>`, from the moment the run began.
pub(crate) struct AsyncIoTransport(pub(crate) Service, pub(crate) Instant);

impl Transport for AsyncIoTransport {
    async fn call(&self, id: u64, attempt: u32) -> Result<(), CallError> {
        let addr = self.0.route(id, attempt, self.1.elapsed());
        let mut stream = Async::<StdStream>::connect(addr)
            .await
            .map_err(|e| classify(&e))?;
        let _ = stream.get_ref().set_nodelay(true);
        stream
            .write_all(format!("REQ {id} {attempt}\n").as_bytes())
            .await
            .map_err(|e| classify(&e))?;
        let mut line = String::new();
        SmolReader::new(stream)
            .read_line(&mut line)
            .await
            .map_err(|e| classify(&e))?;
        answer(id, &line)
    }
}
