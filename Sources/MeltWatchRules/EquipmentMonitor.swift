import MeltWatchCore

/// A rule's transition, as a monitor reports it to the engine.
public struct RuleOutput: Sendable, Equatable {
    public enum Transition: Sendable, Equatable {
        case raised
        case cleared
        /// No alarm: an interlock check's outcome, recorded for every trip (see ``interlock``).
        case recorded
    }

    /// For `.recorded`: the interlock check's verdict, trip time and triggering rule index.
    public struct Interlock: Sendable, Equatable {
        public var kind: InterlockOutcome.Kind
        public var trippedAt: EventTime
        public var triggerRuleIndex: Int
    }

    /// Index of the rule in its template's ``TemplateSpec/rules``.
    public var ruleIndex: Int
    public var transition: Transition
    /// Event time of the transition: the reading that caused it, or the deadline that expired.
    public var time: EventTime
    public var value: Double?
    public var limit: Double?
    public var message: String
    public var latencyMilliseconds: Int64? = nil
    public var cause: String? = nil
    public var interlock: Interlock? = nil
    /// Overrides the rule's basis when it depends on the case (e.g. which interlock clause applies).
    public var basis: String? = nil
    /// Overrides the rule's `signals` when the case reads fewer (e.g. the feedbacks this furnace expects).
    public var signals: [String]? = nil
}

/// The rules of one configured equipment: a state machine fed with readings and time.
///
/// Implementations never read a clock, sleep or log; the engine passes event time in and collects
/// outputs. Roles are addressed by their index in the template's ``TemplateSpec/roles``.
public protocol EquipmentMonitor: AnyObject {
    /// Applies a reading of one role. The engine has already called ``advance(to:into:)`` with `time`.
    func reading(role: Int, value: Value, quality: Quality, at time: EventTime, into out: inout [RuleOutput])
    /// Completes every delay that expired at or before `time`.
    func advance(to time: EventTime, into out: inout [RuleOutput])
    /// The earliest time at which ``advance(to:into:)`` has something to do, if any.
    var nextDeadline: EventTime? { get }
    /// A role's health changed (stale, frozen, bad quality raised or all cleared).
    func health(role: Int, healthy: Bool, fault: String?, at time: EventTime, into out: inout [RuleOutput])
    /// A copy of the monitor's whole mutable state, for a checkpoint (Engine+Checkpoint): a value the
    /// engine thread takes in microseconds and another thread may encode.
    func stateSnapshot() -> any Encodable & Sendable
    /// Replaces the state of this monitor, freshly built from the same parameters, by one that
    /// ``encodeState(to:)`` wrote.
    func restoreState(from container: inout any UnkeyedDecodingContainer) throws
}

extension EquipmentMonitor {
    /// Monitors whose rules need nothing beyond the device alarms the engine raises ignore health.
    public func health(role: Int, healthy: Bool, fault: String?, at time: EventTime, into out: inout [RuleOutput]) {}
}

/// A template's rules as one value: its limits, rate checks, interlock watch and the inputs they
/// read. A ``StateMonitor`` holds one per configured equipment; a template file defines its spec,
/// its state and that eight-line monitor class, nothing else.
protocol TemplateState: Codable, Sendable {
    /// The state of a fresh equipment with these parameters (defaults applied by config validation).
    init(params: [String: ParamValue])
    /// After decoding a checkpoint: takes from `fresh` (built from the same parameters) what is
    /// configuration rather than state and cannot be encoded (an interlock watch's policies).
    mutating func keepConfiguration(of fresh: Self)
    /// The earliest event time at which ``advance(to:into:)`` has something to do.
    var nextDeadline: EventTime? { get }
    /// Completes every delay that expired at or before `time`.
    mutating func advance(to time: EventTime, into out: inout [RuleOutput])
    /// Applies a reading of role `role` (its index in the template's roles).
    mutating func reading(role: Int, value: Value, quality: Quality, at time: EventTime, into out: inout [RuleOutput])
    /// A role's health changed (stale, frozen or bad raised, or all cleared).
    mutating func health(role: Int, healthy: Bool, fault: String?, at time: EventTime, into out: inout [RuleOutput])
}

extension TemplateState {
    /// A template whose rules need nothing beyond the engine's device alarms ignores health.
    mutating func health(role: Int, healthy: Bool, fault: String?, at time: EventTime, into out: inout [RuleOutput]) {}

    /// Most templates' state is all encodable.
    mutating func keepConfiguration(of fresh: Self) {}
}

/// The monitor of one template: forwards each call to its ``TemplateState``. A template declares
/// `final class Monitor: StateMonitor` with its `state` property and init; everything else is here.
///
/// All mutable state is one value, so each call makes one exclusive access to it instead of a runtime
/// check per field; release builds skip even that one check (`@exclusivity(unchecked)` on each
/// `state`). Invariant that makes it safe: `state` is touched only by the forwarding methods below,
/// each one access for the duration of a `State` method, and `State` methods call nothing that can
/// reach the monitor (value-type rule primitives and string formatting), so accesses never overlap.
/// Debug builds (the tests) keep the check.
///
/// A protocol with default methods rather than one generic class: the engine calls monitors through
/// `any EquipmentMonitor`, which on a generic class reaches its shared, unspecialized bodies (every
/// state access through type metadata: `engine.plant1000` fell from 10.4 M to 6.4 M readings/s);
/// `@_specialize` on such a class still cost 4.5 % more instructions. Each final class's
/// conformance here gets its own specialized copies: the same instruction count as the six
/// hand-written classes (callgrind, 4.307 G against 4.309 G for the engine benchmarks).
protocol StateMonitor: EquipmentMonitor {
    associatedtype State: TemplateState
    var state: State { get set }
}

extension StateMonitor {
    var nextDeadline: EventTime? { state.nextDeadline }

    func advance(to time: EventTime, into out: inout [RuleOutput]) { state.advance(to: time, into: &out) }

    func reading(role: Int, value: Value, quality: Quality, at time: EventTime, into out: inout [RuleOutput]) {
        state.reading(role: role, value: value, quality: quality, at: time, into: &out)
    }

    func health(role: Int, healthy: Bool, fault: String?, at time: EventTime, into out: inout [RuleOutput]) {
        state.health(role: role, healthy: healthy, fault: fault, at: time, into: &out)
    }

    func stateSnapshot() -> any Encodable & Sendable { state }

    func restoreState(from container: inout any UnkeyedDecodingContainer) throws {
        var restored = try container.decode(State.self)
        restored.keepConfiguration(of: state)
        state = restored
    }
}

/// The earliest deadline of some limits and an extra one, without allocating (called per reading).
func earliest(_ limits: [LimitMonitor], _ extra: EventTime? = nil) -> EventTime? {
    var best = extra
    for l in limits {
        if let d = l.deadline, best == nil || d < best! { best = d }
    }
    return best
}

/// Rounds a derived value (a difference, a rate) so float noise like 4.100000000000009 reads 4.1.
@inlinable
func tidy(_ v: Double) -> Double {
    guard v.isFinite, abs(v) < 1e12 else { return v }
    return (v * 1_000_000).rounded() / 1_000_000
}

/// Formats a number for a message: at most two decimals, no trailing zeros beyond one.
func show(_ v: Double) -> String {
    guard v.isFinite else { return String(describing: v) }
    let r = (v * 100).rounded() / 100
    return JSONWriter.format(r)
}

extension Array where Element == RoleSpec {
    /// Index of a role known to exist in a template literal.
    func index(_ name: String) -> Int {
        guard let i = firstIndex(where: { $0.name == name }) else { preconditionFailure("no role \(name)") }
        return i
    }
}
