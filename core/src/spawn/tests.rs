//! Tests of the spawn seam's error.

use super::*;
use alloc::string::ToString;

#[test]
fn join_error_is_sync_and_keeps_the_panic_message() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<JoinError>();
    let e = JoinError::Panicked(Panicked::from_payload(&alloc::format!("code {}", 7)));
    assert!(e.is_panic() && !e.is_cancelled());
    assert_eq!(e.panic_message(), Some("code 7"));
    assert_eq!(e.to_string(), "task panicked");
    assert_eq!(alloc::format!("{e:?}"), "Panicked(Panicked(\"code 7\"))");
    let e = JoinError::Panicked(Panicked::from_payload(&7u8));
    assert_eq!(e.panic_message(), None);
    assert_eq!(JoinError::Cancelled.to_string(), "task was cancelled");
    assert_eq!(alloc::format!("{:?}", JoinError::Cancelled), "Cancelled");
    assert!(core::error::Error::source(&JoinError::Cancelled).is_none());
}
