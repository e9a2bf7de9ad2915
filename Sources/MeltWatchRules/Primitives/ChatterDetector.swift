import MeltWatchCore

/// Detects a chattering alarm: `threshold` activations within a trailing window (ISA-18.2 /
/// domain.md: "≥ 3 activations per minute is itself reported").
///
/// The window is inclusive: at time `t` it holds activations with times in `[t − window, t]`, so
/// three activations exactly one minute from first to last chatter.
///
/// One report per episode: ``activation(at:)`` returns true only for the activation that first
/// reaches the threshold. The episode lasts while activations keep coming; it ends, and the detector
/// re-arms, once a whole window passes with no activation (the window empties). Re-arming when the
/// count merely drops below the threshold would report a steady 3-per-minute chatter over and over,
/// which is the flood this check exists to prevent. ``advance(to:)`` and ``deadline`` let a caller
/// clear a "chattering" alarm when the episode ends without waiting for another activation.
///
/// Memory is bounded: only the last `threshold` activation times are kept. Activations older than
/// the last one are ignored (alarm raises of one rule arrive in event-time order).
public struct ChatterDetector: Sendable, Equatable, Codable {
    /// Activations within the window that make it chatter.
    public let threshold: Int
    /// The trailing window.
    public let windowMilliseconds: Int64

    /// The latest activations, oldest first, at most `threshold` of them.
    private var recent: [EventTime] = []
    /// True from the reporting activation until a whole window passes without one.
    public private(set) var isChattering = false

    /// Creates a detector; the threshold is at least 1 and the window at least 1 ms.
    public init(threshold: Int = 3, windowMilliseconds: Int64 = 60_000) {
        self.threshold = max(1, threshold)
        self.windowMilliseconds = max(1, windowMilliseconds)
    }

    /// Activations inside the window ending at the latest activation.
    public var count: Int {
        guard let last = recent.last else { return 0 }
        let start = last.adding(milliseconds: -windowMilliseconds)
        return recent.reduce(0) { $1 >= start ? $0 + 1 : $0 }
    }

    /// When an ongoing episode ends if no activation comes: one millisecond after the last
    /// activation leaves the window.
    public var deadline: EventTime? {
        guard isChattering, let last = recent.last else { return nil }
        return last.adding(milliseconds: windowMilliseconds &+ 1)
    }

    /// Records an activation; true when it makes the window reach the threshold for a new episode.
    public mutating func activation(at time: EventTime) -> Bool {
        if let last = recent.last, time < last { return false }
        _ = advance(to: time)
        let start = time.adding(milliseconds: -windowMilliseconds)
        recent.removeAll { $0 < start }
        recent.append(time)
        if recent.count > threshold { recent.removeFirst(recent.count - threshold) }
        guard !isChattering, recent.count >= threshold else { return false }
        isChattering = true
        return true
    }

    /// Ends the episode once the window is empty at `time`; true when it ended (re-armed) now.
    public mutating func advance(to time: EventTime) -> Bool {
        guard isChattering, let last = recent.last,
              time.milliseconds(since: last) > windowMilliseconds
        else { return false }
        isChattering = false
        recent.removeAll()
        return true
    }
}
