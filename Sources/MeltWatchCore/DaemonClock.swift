import Glibc

/// The daemon clock: what ticks and receive times carry into the journal and the engine.
///
/// It reads as the wall clock (CLOCK_REALTIME), so journal times and alarm times are times people
/// can read, but it advances with CLOCK_MONOTONIC: between two readings it moves exactly as much
/// time as really passed. When the wall clock steps (chrony at boot, a VM resumed, an operator
/// fixing the time) the two disagree; once they disagree by ``stepThresholdMilliseconds`` the daemon
/// clock is rebased onto the wall clock and the reading reports the step. The ingest thread then
/// journals it (``JournalRecord/clockStep(time:delta:)``) ahead of every record in the new base, and
/// the engine and the alarm book move every daemon-clock instant they hold by it: no timer fires
/// early or late, whichever way the clock stepped. Slewing (NTP's ≤ 500 ppm) never reaches the
/// threshold between two rebases of more than half an hour, and those are harmless steps of a second.
public struct DaemonClock {
    /// Disagreement of wall and monotonic-paced clock that counts as a step.
    public let stepThresholdMilliseconds: Int64
    private let wall: () -> Int64
    private let monotonic: () -> Int64
    /// The daemon time at monotonic time `baseMonotonic`.
    private var base: Int64
    private var baseMonotonic: Int64

    /// A clock starting at the wall clock's reading — or at `notBefore` (the end of the journal's
    /// stream) when the wall clock is earlier: then the first reading reports the backward step, so
    /// state carried over from the last run is rebased too.
    public init(notBefore: Int64? = nil, stepThresholdMilliseconds: Int64 = 1000,
                wall: @escaping () -> Int64 = DaemonClock.realtimeMilliseconds, monotonic: @escaping () -> Int64 = Monotonic.milliseconds) {
        self.stepThresholdMilliseconds = stepThresholdMilliseconds
        self.wall = wall
        self.monotonic = monotonic
        base = max(wall(), notBefore ?? .min)
        baseMonotonic = monotonic()
    }

    /// The daemon time now, paced by the monotonic clock, without looking for a step (a step is
    /// reported by the next ``read()``, so none is lost).
    public func peek() -> Int64 { base + (monotonic() - baseMonotonic) }

    /// The daemon time now; `step` is the rebase (new − old base, ms) when the wall clock stepped
    /// since the last reading, nil otherwise.
    public mutating func read() -> (now: Int64, step: Int64?) {
        let m = monotonic()
        let paced = base + (m - baseMonotonic)  // peek(), with the same monotonic reading as the rebase
        let w = wall()
        let disagreement = w - paced
        guard abs(disagreement) >= stepThresholdMilliseconds else { return (paced, nil) }
        base = w
        baseMonotonic = m
        return (w, disagreement)
    }

    /// CLOCK_REALTIME in epoch milliseconds.
    public static func realtimeMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
