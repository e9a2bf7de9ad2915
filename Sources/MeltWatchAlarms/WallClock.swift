import Glibc
import MeltWatchCore

/// The daemon's wall clock (CLOCK_REALTIME): ticks, receive times, `emitted_at`, signatures. Rules
/// never read it; it enters the engine only as journaled ticks.
public enum WallClock {
    /// Epoch milliseconds now.
    public static func milliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Now as an ``EventTime``.
    public static var now: EventTime { EventTime(milliseconds: milliseconds()) }
}
