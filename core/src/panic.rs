//! The crate's one panic type, and the one place that contains panics of user code.

use core::fmt;

/// User code panicked: a spawned task, a pool item's work, an event handler, a bracket's use.
///
/// It keeps the panic's message (the text given to `panic!`, when there was one), not the
/// payload, so it is `Send + Sync` and goes into `anyhow::Error` or
/// `Box<dyn Error + Send + Sync>` with `?`.
///
/// Panics are caught only where `std` is (the `std` feature of this crate, or inside an
/// adapter's spawned task): without `std` there is no unwinding to catch.
#[derive(Clone, PartialEq, Eq)]
pub struct Panicked {
    #[cfg(feature = "alloc")]
    message: Option<alloc::string::String>,
}

impl Panicked {
    /// The panic of a caught payload (what `std::panic::catch_unwind` returns): keeps its
    /// message when the payload is a `&str` or a `String`, as `panic!("...")` makes it.
    #[cfg(feature = "alloc")]
    #[must_use]
    pub fn from_payload(payload: &(dyn core::any::Any + Send)) -> Self {
        let message = payload
            .downcast_ref::<&'static str>()
            .map(|s| alloc::string::String::from(*s))
            .or_else(|| payload.downcast_ref::<alloc::string::String>().cloned());
        Panicked { message }
    }

    /// The panic's message, when it had one.
    #[must_use]
    pub fn message(&self) -> Option<&str> {
        #[cfg(feature = "alloc")]
        return self.message.as_deref();
        #[cfg(not(feature = "alloc"))]
        None
    }
}

impl fmt::Debug for Panicked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Panicked")
            .field(&self.message().unwrap_or("<non-string payload>"))
            .finish()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Panicked {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self.message() {
            Some(message) => defmt::write!(f, "Panicked({=str})", message),
            None => defmt::write!(f, "Panicked"),
        }
    }
}

impl fmt::Display for Panicked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.message() {
            Some(m) => write!(f, "panicked: {m}"),
            None => f.write_str("panicked"),
        }
    }
}

impl core::error::Error for Panicked {}

/// Runs `f`, turning a panic into [`Panicked`].
#[cfg(feature = "std")]
#[allow(dead_code)] // taken up by the patterns that run user code
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Panicked> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|payload| Panicked::from_payload(&*payload))
}

#[cfg(feature = "std")]
pin_project_lite::pin_project! {
    /// Polls a future, turning a panic in any poll into `Err(Panicked)`.
    pub(crate) struct CatchUnwind<F> {
        #[pin]
        future: F,
    }
}

#[cfg(feature = "std")]
#[allow(dead_code)] // taken up by the patterns that run user code
impl<F> CatchUnwind<F> {
    pub(crate) fn new(future: F) -> Self {
        CatchUnwind { future }
    }
}

#[cfg(feature = "std")]
impl<F: core::future::Future> core::future::Future for CatchUnwind<F> {
    type Output = Result<F::Output, Panicked>;

    fn poll(
        self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<Self::Output> {
        let future = self.project().future;
        match catch(|| future.poll(cx)) {
            Ok(core::task::Poll::Ready(v)) => core::task::Poll::Ready(Ok(v)),
            Ok(core::task::Poll::Pending) => core::task::Poll::Pending,
            Err(p) => core::task::Poll::Ready(Err(p)),
        }
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn keeps_the_message_and_is_sync() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<Panicked>();
        let p = catch(|| panic!("boom {}", 7)).unwrap_err();
        assert_eq!(p.message(), Some("boom 7"));
        assert_eq!(p.to_string(), "panicked: boom 7");
        let p = catch(|| std::panic::panic_any(7u8)).unwrap_err();
        assert_eq!(p.message(), None);
        assert_eq!(
            alloc::format!("{p:?}"),
            "Panicked(\"<non-string payload>\")"
        );
        let boxed: alloc::boxed::Box<dyn core::error::Error + Send + Sync> = p.into();
        assert_eq!(boxed.to_string(), "panicked");
    }
}
