/// Identifies one configured signal (one role of one equipment) by a dense integer.
///
/// Config ids (`plant/equipment/role`) are interned once at load; the hot path only moves integers.
public struct SignalID: Hashable, Comparable, Sendable, BitwiseCopyable, CustomStringConvertible {
    /// Index into the engine's signal table.
    public var rawValue: Int32

    /// Wraps a signal table index.
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    public static func < (lhs: SignalID, rhs: SignalID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "signal#\(rawValue)" }
}

/// The gateway's verdict on a reading (contract section 3, field `q`).
public enum Quality: UInt8, Sendable, BitwiseCopyable, CaseIterable, Codable {
    case good = 0
    case uncertain = 1
    case bad = 2

    /// The contract spelling: `good`, `uncertain`, `bad`.
    public var name: String {
        switch self {
        case .good: "good"
        case .uncertain: "uncertain"
        case .bad: "bad"
        }
    }
}

/// A reading's value: the contract allows a number or a boolean.
public enum Value: Sendable, Equatable, BitwiseCopyable, Codable {
    case number(Double)
    case bool(Bool)

    /// The value as a number; booleans are 1 and 0.
    @inlinable public var asDouble: Double {
        switch self {
        case .number(let d): d
        case .bool(let b): b ? 1 : 0
        }
    }

    /// The value as a boolean; numbers are true when non-zero.
    @inlinable public var asBool: Bool {
        switch self {
        case .number(let d): d != 0
        case .bool(let b): b
        }
    }
}

/// One decoded sensor reading, as it crosses the ring from ingest to engine.
///
/// Plain data (`BitwiseCopyable`): the ring copies it into preallocated slots without retain/release.
public struct Reading: Sendable, Equatable, BitwiseCopyable {
    /// Which configured signal this reading belongs to.
    public var signal: SignalID
    /// The value as the gateway sent it.
    public var value: Value
    /// The gateway's quality flag.
    public var quality: Quality
    /// Event time: when the gateway sampled the value (never the arrival time).
    public var time: EventTime
    /// The gateway's own sequence number, when it sent one (`seq`), for duplicate detection.
    public var sequence: Int64?

    /// Creates a reading.
    public init(signal: SignalID, value: Value, quality: Quality = .good, time: EventTime, sequence: Int64? = nil) {
        self.signal = signal
        self.value = value
        self.quality = quality
        self.time = time
        self.sequence = sequence
    }
}

/// One input to the engine, in the single order the engine sees them.
///
/// Readings and clock ticks travel through the same ring, so the engine's whole input is one
/// ordered sequence: the same sequence (recorded by the journal) always yields the same alarms.
public enum EngineInput: Sendable, Equatable, BitwiseCopyable {
    /// A decoded reading.
    case reading(Reading)
    /// The daemon's clock passed this time; timers due by then (minus allowed lateness) may fire.
    case tick(EventTime)
    /// An alarm action (operator or daemon) held aside under this ticket: the engine passes it by;
    /// its place in the stream is what makes replay apply it at the same point.
    case action(ticket: Int)
    /// A configuration reload held aside under this ticket: the engine switches to it at this point
    /// of the stream (what was decoded before it with the old topics is evaluated by the old rules).
    case reload(ticket: Int)
    /// A request to write down the engine's and alarm book's state at this point of the stream
    /// (the ticket names the journal position it belongs to).
    case checkpoint(ticket: Int)
}
