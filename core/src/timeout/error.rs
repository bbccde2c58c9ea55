use core::fmt;
use core::time::Duration;

/// A timeout's context message: `&'static str`, or with the `alloc` feature an owned string
/// too (`Cow<'static, str>`), so a message can name the request that timed out.
#[cfg(not(feature = "alloc"))]
pub type Message = &'static str;

/// A timeout's context message: `&'static str`, or with the `alloc` feature an owned string
/// too (`Cow<'static, str>`), so a message can name the request that timed out.
#[cfg(feature = "alloc")]
pub type Message = alloc::borrow::Cow<'static, str>;

/// The error of a [`Timeout`](super::Timeout) whose deadline passed first. The inner future
/// has been dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Elapsed {
    duration: Option<Duration>,
    context: Option<Message>,
}

impl Elapsed {
    pub(super) fn new(duration: Option<Duration>, context: Option<Message>) -> Self {
        Elapsed { duration, context }
    }

    /// The duration the future was given; `None` for [`timeout_at`](super::timeout_at), which
    /// is given a deadline instead.
    #[must_use]
    pub fn duration(&self) -> Option<Duration> {
        self.duration
    }

    /// The message attached with [`Timeout::context`](super::Timeout::context), if any.
    #[must_use]
    pub fn context(&self) -> Option<&str> {
        self.context.as_ref().map(AsRef::as_ref)
    }
}

impl fmt::Debug for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Elapsed")
            .field("duration", &self.duration)
            .field("context", &self.context())
            .finish()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Elapsed {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "Elapsed {{ duration: {}, context: {} }}",
            self.duration,
            self.context()
        );
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(context) = self.context() {
            write!(f, "{context}: ")?;
        }
        match self.duration {
            Some(d) => write!(f, "timed out after {d:?}"),
            None => f.write_str("deadline passed"),
        }
    }
}

impl core::error::Error for Elapsed {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn display_names_duration_and_context() {
        let e = Elapsed::new(Some(Duration::from_millis(1500)), None);
        assert_eq!(e.to_string(), "timed out after 1.5s");
        let e = Elapsed::new(None, Some("GET /items".into()));
        assert_eq!(e.to_string(), "GET /items: deadline passed");
        assert_eq!(e.context(), Some("GET /items"));
        assert_eq!(e.duration(), None);
    }
}
