import MeltWatchCore

/// A rate-of-change check over a trailing window (CO ppm/min, launder level mm/s, hopper K/min).
///
/// Rule (domain.md, "Rates with sparse tags"): on each reading at time `t`, take the reference — the
/// last stored sample at or before the window's start `t − window`, or, while the history is shorter
/// than the window, the oldest one — and measure the rate as `(value − reference.value) / max(window,
/// t − reference.time)`. The monitor raises when that rate exceeds `maxPerSecond` in the watched
/// direction, and clears on the first reading where it no longer does.
///
/// Gateways report every few seconds or by exception, so the window is often empty: a level going
/// 100 → 155 mm between readings 2 s apart is 27.5 mm/s whatever the window, not "no change". With
/// dense readings the span is the window (plus at most one sample spacing), as before. Only the first
/// reading has nothing to compare with: it concludes nothing and leaves the state as it is.
///
/// Memory is bounded: at most ``capacity`` samples. Samples before the reference are dropped, and a
/// sample is stored only if it lies at least `window / (capacity − 2)` after the last stored one, so
/// the window holds at most `capacity − 1` of them besides the reference (no overflow, no
/// data-dependent decimation). Every reading is still compared with the stored history; only the
/// reference's resolution is limited, to that spacing (40 ms for a 10 s window).
/// Readings older than the last one are ignored, and so are NaN and infinite values (sensor
/// health reports those).
public struct RateMonitor: Sendable, Equatable, Codable {
    /// Which change is the bad one.
    public enum Direction: Sendable, Equatable, Codable {
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
    /// The latest measured rate per second, signed (a fall is negative); NaN before two readings.
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

    /// The number of samples currently held (bounded by ``capacity``).
    public var sampleCount: Int { samples.count }

    /// Applies a value observed at `time`; the transition's value is the rate per second (see ``lastRate``).
    public mutating func update(_ value: Double, at time: EventTime) -> LimitMonitor.Transition? {
        guard value.isFinite else { return nil }
        if let latest, time < latest { return nil }
        latest = time
        let windowStart = time.adding(milliseconds: -windowMilliseconds)
        // Keep the last sample at or before the window's start: it is the reference.
        while samples.count >= 2, samples[1].time <= windowStart { samples.removeFirst() }
        guard let reference = samples.first, reference.time < time else {
            // The first reading (or a repeat of its time stamp): nothing to compare with, so no
            // conclusion either way — an active alarm stays until a reading shows the rate back.
            if samples.first == nil { samples.append(.init(time: time, value: value)) }
            return nil
        }
        if samples.last.map({ time.milliseconds(since: $0.time) >= storageSpacingMilliseconds }) ?? true {
            if samples.count == samples.capacity { samples.removeFirst() }  // unreachable by the spacing rule
            samples.append(.init(time: time, value: value))
        }
        let span = max(windowMilliseconds, time.milliseconds(since: reference.time))
        let change = value - reference.value
        lastRate = tidy(change * 1000 / Double(span))
        let allowed = maxPerSecond * Double(span) / 1000
        let violates = switch direction {
        case .rise: change > allowed
        case .fall: -change > allowed
        case .either: abs(change) > allowed
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
struct SampleRing: Sendable, Codable {
    struct Sample: Sendable, Equatable, Codable {
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
