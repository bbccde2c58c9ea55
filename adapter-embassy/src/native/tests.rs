use super::*;

#[test]
fn core_durations_become_whole_ticks_rounded_up_and_saturating() {
    // The default tick rate, 1 MHz: 1000 ns a tick.
    use core::time::Duration;
    assert_eq!(Duration::ZERO.to_ticks(), 0);
    assert_eq!(Duration::from_nanos(1).to_ticks(), 1);
    assert_eq!(Duration::from_nanos(1_000).to_ticks(), 1);
    assert_eq!(Duration::from_nanos(1_001).to_ticks(), 2);
    assert_eq!(Duration::new(3, 999_999_001).to_ticks(), 4_000_000);
    assert_eq!(Duration::from_millis(50).to_ticks(), 50_000);
    assert_eq!(Duration::MAX.to_ticks(), u64::MAX);
    // The same as converting through nanoseconds, wherever that does not saturate.
    for nanos in [0, 1, 999, 1_000, 1_001, 123_456_789, 9_999_999_999_999] {
        assert_eq!(
            Duration::from_nanos(nanos).to_ticks(),
            nanos_to_ticks(nanos)
        );
    }
}

#[test]
fn embassy_types_are_taken_as_their_ticks() {
    assert_eq!(embassy_time::Duration::from_ticks(7).to_ticks(), 7);
    assert_eq!(embassy_time::Duration::MAX.to_ticks(), u64::MAX);
    assert_eq!(embassy_time::Instant::from_ticks(42).to_ticks(), 42);
    assert_eq!(Instant::MAX.to_ticks(), u64::MAX);
    assert_eq!(Instant::from_nanos(1_001).to_ticks(), 2);
}

#[test]
fn ticks_become_durations_exactly() {
    use core::time::Duration;
    for ticks in [
        0,
        1,
        999_999,
        1_000_000,
        1_000_001,
        86_400_000_000,
        u64::MAX / 3,
    ] {
        let d = ticks_to_duration(ticks);
        assert_eq!(d.as_micros(), u128::from(ticks), "{ticks} ticks");
    }
    assert_eq!(
        ticks_to_duration(u64::MAX),
        Duration::new(u64::MAX / 1_000_000, (u64::MAX % 1_000_000) as u32 * 1_000)
    );
    assert_eq!(
        ticks_to_duration(embassy_time::Duration::from_millis(50).as_ticks()),
        Duration::from_millis(50)
    );
}
