#if canImport(Glibc)
import Glibc
#endif
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

/// When an ingest batch passed the stages before the engine, on the monotonic clock (nanoseconds):
/// for the per-stage latency of the alarms it causes. Not part of what the engine evaluates.
public struct InputTiming: Sendable, Equatable, BitwiseCopyable {
    /// libmosquitto handed the batch's first message to us (it had read it from the socket).
    public var received: UInt64
    /// The ingest handler began the batch (journal append, decode).
    public var read: UInt64
    /// The batch's journal commit (`fdatasync`) returned.
    public var committed: UInt64

    public init(received: UInt64, read: UInt64, committed: UInt64) {
        self.received = received
        self.read = read
        self.committed = committed
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds (the clock ``MQTTMessage``'s receipt time uses): for measuring
/// intervals between threads, never for event time.
public enum Monotonic {
    public static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
    /// `CLOCK_MONOTONIC` in milliseconds: for the daemon's own intervals (ticks, watchdog,
    /// commits, checkpoints), which a step of the wall clock must not stop or hurry.
    public static func milliseconds() -> Int64 { Int64(nanoseconds() / 1_000_000) }
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
    /// The readings that follow were read from the broker at this daemon time (their messages'
    /// receive time in the journal): when the gateway was last heard from, and how far its clock lags
    /// ours. Apart from ticks because a tick's time is held back while input waits unread (a stall):
    /// readings read after a stall arrived after it, not at the tick before it.
    case arrival(EventTime)
    /// An alarm action (operator or daemon) held aside under this ticket: the engine passes it by;
    /// its place in the stream is what makes replay apply it at the same point.
    case action(ticket: Int)
    /// A configuration reload held aside under this ticket: the engine switches to it at this point
    /// of the stream (what was decoded before it with the old topics is evaluated by the old rules).
    case reload(ticket: Int)
    /// A request to write down the engine's and alarm book's state at this point of the stream
    /// (the ticket names the journal position it belongs to).
    case checkpoint(ticket: Int)
    /// The timing of the readings that follow (an ingest batch), for latency metrics only.
    case timing(InputTiming)
    /// The broker link went down at this daemon time (one cause, one alarm: while it is down nothing
    /// is judged on the daemon clock). Two cases rather than one with a `Bool`: with a payload of its
    /// own shape the enum's every switch cost each reading 14 more instructions (callgrind).
    case linkDown(at: EventTime)
    /// The broker link came back at this daemon time: every signal gets `stale_after_s` again.
    case linkUp(at: EventTime)
    /// The daemon clock was rebased by this many milliseconds because the wall clock stepped: every
    /// daemon-clock instant the engine and the alarm book hold moves with it, so no timer fires early
    /// or late. Ticks after it are in the new base.
    case clockStep(Int64)
    /// The signal's gateway declared it dead (a Sparkplug NDEATH or DDEATH): `stale` at once, with
    /// the death as cause, rather than after `stale_after_s`.
    case lost(SignalLoss)
}

extension EngineInput {
    /// ``linkUp(at:)`` or ``linkDown(at:)``.
    public static func link(up: Bool, at time: EventTime) -> EngineInput { up ? .linkUp(at: time) : .linkDown(at: time) }
}
