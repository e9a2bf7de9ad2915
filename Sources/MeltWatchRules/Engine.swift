import MeltWatchCore

/// One configured equipment as the engine runs it.
public struct EngineEquipment: Sendable {
    public var plant: String
    public var id: String
    public var template: TemplateSpec
    /// Parameters with defaults applied (config validation guarantees presence and types).
    public var params: [String: ParamValue]
    /// The plant's industry: some rules cite a different clause in a nonferrous plant.
    public var industry: Industry
    /// The PLC setpoints audited on this equipment; their signals have roles after the template's,
    /// `template.roles.count + k` for `setpoints[k]`.
    public var setpoints: [Setpoint]

    /// One audited PLC setpoint (`setpoints:` in the config, domain.md "Setpoint audit").
    public struct Setpoint: Sendable, Equatable {
        public var name: String
        /// The tag or topic it is read from, named in alarms and the report.
        public var source: String
        public var approved: Double
        public var tolerance: Double
        public var unit: String?

        /// Creates a setpoint.
        public init(name: String, source: String, approved: Double, tolerance: Double, unit: String?) {
            self.name = name
            self.source = source
            self.approved = approved
            self.tolerance = tolerance
            self.unit = unit
        }
    }

    /// Creates an equipment definition.
    public init(plant: String, id: String, template: TemplateSpec, params: [String: ParamValue], industry: Industry = .steel,
                setpoints: [Setpoint] = []) {
        self.plant = plant
        self.id = id
        self.template = template
        self.params = params
        self.industry = industry
        self.setpoints = setpoints
    }

    /// The name of role index `role`: a template role, or a setpoint after them.
    public func roleName(_ role: Int) -> String {
        role < template.roles.count ? template.roles[role].name : setpoints[role - template.roles.count].name
    }
}

/// One interned signal: which equipment and role a ``SignalID`` stands for.
public struct EngineSignal: Sendable {
    public var equipment: Int
    public var role: Int
    /// Sensor-health limits; nil leaves the signal's health unjudged (benchmarks, focused tests).
    public var health: HealthSettings?

    /// Creates a signal binding.
    public init(equipment: Int, role: Int, health: HealthSettings? = nil) {
        self.equipment = equipment
        self.role = role
        self.health = health
    }
}

/// How one signal's health is judged (domain.md "Sensor health").
public struct HealthSettings: Sendable, Equatable {
    public var staleAfterMilliseconds: Int64
    /// 0 turns frozen detection off.
    public var frozenAfterMilliseconds: Int64
    /// The instrument's range; readings outside it are bad.
    public var range: ClosedRange<Double>?
    /// Required roles go stale when they never report; optional ones only after their first reading.
    public var required: Bool

    /// Creates settings.
    public init(staleAfterMilliseconds: Int64, frozenAfterMilliseconds: Int64, range: ClosedRange<Double>?, required: Bool) {
        self.staleAfterMilliseconds = staleAfterMilliseconds
        self.frozenAfterMilliseconds = frozenAfterMilliseconds
        self.range = range
        self.required = required
    }
}

/// Everything the engine needs from the configuration: equipment, and signals indexed by ``SignalID``.
public struct EngineModel: Sendable {
    public var equipment: [EngineEquipment]
    /// `signals[id.rawValue]` is the binding of ``SignalID`` `id`.
    public var signals: [EngineSignal]
    public var configHash: String

    /// Creates a model.
    public init(equipment: [EngineEquipment], signals: [EngineSignal], configHash: String) {
        self.equipment = equipment
        self.signals = signals
        self.configHash = configHash
    }
}

/// The last thing the engine knows about a signal.
public struct SignalState: Sendable, Equatable, Codable {
    public var value: Value?
    public var quality: Quality = .good
    public var time: EventTime?
    public var sequence: Int64?
}

/// The rule engine: one instance, driven by one thread, fed one ordered stream of ``EngineInput``.
///
/// ## Time
/// Rules run on event time. A reading first completes every delay of its equipment that expired at or
/// before the reading's time (at the deadline's own event time), then is applied. Delays also expire
/// without input: each ``EngineInput/tick(_:)`` carries the daemon's wall clock, and an equipment's
/// event time is estimated as `tick − offset`, where `offset` is how far its gateway's timestamps
/// lagged the daemon's clock at its last reading. So a gateway whose clock is skewed, or that
/// backfills hours late, is judged on its own time line; a deadline fires once the estimate passes it
/// by `allowedLateness`. Because ticks travel in the same stream as readings, the same recorded
/// stream always gives the same alarms at the same event times.
///
/// Readings older than the signal's last reading are not evaluated (counted as out of order); a
/// reading repeating the last one's `seq` and time is a redelivery (counted as duplicate).
///
/// ## State
/// Everything mutable lives in one value, ``EngineCore``, so an input costs one exclusive access to
/// the engine's state rather than one runtime exclusivity check per field it touches (those checks
/// were half the time per reading). Alarm events and interlock outcomes are handed to `emit` and
/// ``onInterlockOutcome`` in order once the input is processed, outside that access, so a callback
/// may read ``counters`` or ``signals``.
public final class Engine {
    /// What the engine has counted since start.
    public struct Counters: Sendable, Equatable, Codable {
        public var readings = 0
        public var duplicates = 0
        public var outOfOrder = 0
        public var unknownSignals = 0
        public var ticks = 0
        public var events = 0
        /// Interlock checks by outcome (ok, late, failed), good ones included.
        public var interlockOutcomes: [InterlockOutcome.Kind: Int] = [:]
    }

    struct AlarmTrack: Codable {
        var activations = 0
        var ordinal = 0
        var active = false

        /// A raise opens the next activation of a number shared by several tracks (`activations`: an
        /// equipment's count for one rule, e.g. across its signals' `stale` alarms); a clear is the
        /// alarm's next event. Returns false, changing nothing, when the track is already so.
        mutating func transition(raised: Bool, activations shared: inout Int) -> Bool {
            guard raised != active else { return false }
            if raised {
                shared += 1
                self = AlarmTrack(activations: shared, ordinal: 1, active: true)
            } else {
                ordinal += 1
                active = false
            }
            return true
        }
    }

    public let model: EngineModel
    public let allowedLatenessMilliseconds: Int64
    /// Release builds skip the runtime exclusivity check on `core` (a quarter of the time per reading
    /// with the monitors' checks). Invariant that makes it safe: `core` is accessed only by this
    /// class's members on the engine thread (`Engine` is not `Sendable`), and nothing reachable
    /// during `core.process` can reach this object: monitors are built from parameters and hold no
    /// engine reference, and callbacks run in `deliver`, after the access ends. Debug builds (the
    /// tests) keep the check, so a change that breaks the invariant traps there.
    #if DEBUG
    var core: EngineCore
    #else
    @exclusivity(unchecked) var core: EngineCore
    #endif

    /// What the engine has counted since start.
    public var counters: Counters { core.counters }
    /// Per ``SignalID``: the last reading evaluated.
    public var signals: [SignalState] { core.signals }
    /// The wall clock of the latest tick.
    public var lastTick: EventTime? { core.lastTick }

    /// Builds monitors for every equipment of the model.
    public init(model: EngineModel, allowedLatenessMilliseconds: Int64 = 1000) {
        self.model = model
        self.allowedLatenessMilliseconds = allowedLatenessMilliseconds
        core = EngineCore(model: model, allowedLatenessMilliseconds: allowedLatenessMilliseconds)
    }

    /// Receives every interlock check's outcome (engine thread), for the journal, report and metrics.
    public var onInterlockOutcome: ((InterlockOutcome) -> Void)?
    /// Receives every change of an audited setpoint (engine thread), for the report.
    public var onSetpointChange: ((SetpointChange) -> Void)?

    /// Processes one input and emits the alarm events it causes, in order.
    public func process(_ input: EngineInput, emit: (AlarmEvent) -> Void) {
        core.process(input)
        if !core.notices.isEmpty { deliver(emit: emit) }
    }

    /// Processes one input; its alarm events go to `emit` and its interlock outcomes to `outcome`
    /// (then to ``onInterlockOutcome``), interleaved in the order the rules made them.
    public func process(_ input: EngineInput, emit: (AlarmEvent) -> Void, outcome: (InterlockOutcome) -> Void) {
        core.process(input)
        if !core.notices.isEmpty { deliver(emit: emit, outcome: outcome) }
    }

    private func deliver(emit: (AlarmEvent) -> Void) {
        deliver(emit: emit, outcome: { _ in })
    }

    private func deliver(emit: (AlarmEvent) -> Void, outcome: (InterlockOutcome) -> Void) {
        let notices = core.notices
        core.notices.removeAll()
        for notice in notices {
            switch notice {
            case .event(let event): emit(event)
            case .outcome(let o):
                outcome(o)
                onInterlockOutcome?(o)
            case .setpoint(let change): onSetpointChange?(change)
            }
        }
    }

    /// The health state machines of the judged signals, in signal order (tests).
    var health: [SignalHealth] { core.health }

    /// Reference behaviour for tests: every tick visits every signal's health, as before the schedule.
    var tickVisitsEverySignal: Bool {
        get { core.tickVisitsEverySignal }
        set { core.tickVisitsEverySignal = newValue }
    }
}
