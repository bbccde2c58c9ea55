use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

#[cfg(feature = "alloc")]
mod heap {
    use super::*;
    use crate::events::Emitter;

    #[test]
    #[should_panic(expected = "`Emit` polled after completion")]
    fn emit_polled_after_completion_panics() {
        let emitter: Emitter<u8, ()> = Emitter::new();
        let _sub = emitter.on(|_| async { Err(()) });
        let mut emit = emitter.emit(1);
        let mut cx = Context::from_waker(Waker::noop());
        let Poll::Ready(report) = Pin::new(&mut emit).poll(&mut cx) else {
            panic!("a ready handler settles on the first poll");
        };
        assert_eq!(report.succeeded(), 0);
        // A second poll must not make up a report of every handler succeeding.
        let _ = Pin::new(&mut emit).poll(&mut cx);
    }
}
