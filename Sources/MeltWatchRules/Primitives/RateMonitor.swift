import MeltWatchCore

/// A rate-of-change check over a trailing window (CO ppm/min, launder level mm/s, hopper K/min).
///
/// Rule: on each reading at time `t`, take the oldest stored sample with time ≥ `t − window`
/// (the window is inclusive at both ends) and the change `value − oldest.value`. The monitor raises
/// when that change exceeds `maxPerSecond × window` in the watched direction, and clears on the
/// first reading where it no longer does. Comparing against the whole window's allowance never
/// over-reads the rate on a short span, so no minimum span fraction is needed: two samples at
/// different times within the window are enough, which lets a sudden jump raise on the very next
/// reading instead of waiting for half a window of history. If no earlier sample lies in the window
/// (a publishing gap longer than the window), no change is measurable and an active alarm clears
/// with rate 0.
///
/// Memory is bounded: at most ``capacity`` samples. Samples older than the window are dropped, and a
/// sample is stored only if it lies at least `window / (capacity − 2)` after the last stored one, so
/// a window can never hold more than `capacity − 1` of them (no overflow, no data-dependent
/// decimation). Every reading is still compared with the stored history; only the oldest-in-window
/// sample's resolution is limited, to that spacing (40 ms for a 10 s window).
/// Readings older than the last one are ignored, and so are NaN and infinite values (sensor
/// health reports those).
public struct RateMonitor: Sendable, Equatable {
    /// Which change is the bad one.
    public enum Direction: Sendable, Equatable {
        /// A rise faster than the limit (CO, hopper temperature).
        case rise
        /// A fall faster than the limit (cooling pressure dropping).
        case fall
        /// Either way (a level jump).
        case either
    }

    /// The most samples kept, whatever the window and publish rate.
    public static let capacity = 256

    /// The largest allowed change per second.
    public let maxPerSecond: Double
    /// The trailing window the change is measured over.
    public let windowMilliseconds: Int64
    /// Which change raises.
    public let direction: Direction

    private var samples = SampleRing(capacity: RateMonitor.capacity)
    /// Event time of the latest accepted reading (stored or not), for the out-of-order check.
    private var latest: EventTime?
    /// True while the alarm is raised.
    public private(set) var isActive = false
    /// The latest measured change over the window divided by the window length, per second.
    /// Signed (a fall is negative); NaN until two samples span part of a window.
    public private(set) var lastRate: Double = .nan

    /// Creates a monitor with no history; a non-positive window becomes 1 ms.
    public init(maxPerSecond: Double, windowMilliseconds: Int64, direction: Direction) {
        self.maxPerSecond = abs(maxPerSecond)
        self.windowMilliseconds = max(1, windowMilliseconds)
        self.direction = direction
    }

    /// The least spacing between stored samples: a window then holds at most `capacity − 1`.
    public var storageSpacingMilliseconds: Int64 {
        let slots = Int64(Self.capacity - 2)
        return max(1, (windowMilliseconds + slots - 1) / slots)
    }

    /// The change allowed within one whole window.
    public var allowedChange: Double { maxPerSecond * Double(windowMilliseconds) / 1000 }

    /// The number of samples currently held (bounded by ``capacity``).
    public var sampleCount: Int { samples.count }

    /// Applies a value observed at `time`; the transition's value is the rate per second (see ``lastRate``).
    public mutating func update(_ value: Double, at time: EventTime) -> LimitMonitor.Transition? {
        guard value.isFinite else { return nil }
        if let latest, time < latest { return nil }
        latest = time
        let windowStart = time.adding(milliseconds: -windowMilliseconds)
        while let first = samples.first, first.time < windowStart { samples.removeFirst() }
        if samples.last.map({ time.milliseconds(since: $0.time) >= storageSpacingMilliseconds }) ?? true {
            if samples.count == samples.capacity { samples.removeFirst() }  // unreachable by the spacing rule
            samples.append(.init(time: time, value: value))
        }

        guard let oldest = samples.first, oldest.time < time else {
            // Nothing earlier inside the window: no measurable change, so nothing shows a fast rate;
            // a clear here reports rate 0 (a NaN value would not compare or encode usefully).
            lastRate = .nan
            guard isActive else { return nil }
            isActive = false
            return .cleared(at: time, value: 0)
        }
        let change = value - oldest.value
        lastRate = tidy(change * 1000 / Double(windowMilliseconds))
        let limit = allowedChange
        let violates = switch direction {
        case .rise: change > limit
        case .fall: -change > limit
        case .either: abs(change) > limit
        }
        switch (isActive, violates) {
        case (false, true):
            isActive = true
            return .raised(at: time, value: lastRate)
        case (true, false):
            isActive = false
            return .cleared(at: time, value: lastRate)
        default:
            return nil
        }
    }

    /// Forgets the history and the alarm state (the signal was out of service).
    public mutating func reset() {
        samples = SampleRing(capacity: Self.capacity)
        latest = nil
        isActive = false
        lastRate = .nan
    }
}

/// A fixed-capacity FIFO of (time, value) samples; storage is allocated on first use.
struct SampleRing: Sendable {
    struct Sample: Sendable, Equatable {
        var time: EventTime
        var value: Double
    }

    let capacity: Int
    private var storage: [Sample] = []
    private var head = 0
    private(set) var count = 0

    init(capacity: Int) { self.capacity = max(2, capacity) }

    var first: Sample? { count == 0 ? nil : storage[head] }
    var last: Sample? { count == 0 ? nil : self[count - 1] }

    subscript(i: Int) -> Sample { storage[(head + i) % capacity] }

    mutating func append(_ s: Sample) {
        precondition(count < capacity, "SampleRing full")
        if storage.isEmpty { storage = Array(repeating: s, count: capacity) }
        storage[(head + count) % capacity] = s
        count += 1
    }

    mutating func removeFirst() {
        guard count > 0 else { return }
        head = (head + 1) % capacity
        count -= 1
    }
}

extension SampleRing: Equatable {
    /// Equal when they hold the same samples in the same order, wherever they sit in storage.
    static func == (a: SampleRing, b: SampleRing) -> Bool {
        guard a.capacity == b.capacity, a.count == b.count else { return false }
        for i in 0..<a.count where a[i] != b[i] { return false }
        return true
    }
}
