import MeltWatchCore

/// The daemon's wall clock (CLOCK_REALTIME): ticks, receive times, `emitted_at`, signatures. Rules
/// never read it; it enters the engine only as journaled ticks.
public enum WallClock {
    /// Epoch milliseconds now.
    public static func milliseconds() -> Int64 { DaemonClock.realtimeMilliseconds() }

    /// Now as an ``EventTime``.
    public static var now: EventTime { EventTime(milliseconds: milliseconds()) }
}
