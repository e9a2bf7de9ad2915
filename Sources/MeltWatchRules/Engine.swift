import MeltWatchCore

/// One configured equipment as the engine runs it.
public struct EngineEquipment: Sendable {
    public var plant: String
    public var id: String
    public var template: TemplateSpec
    /// Parameters with defaults applied (config validation guarantees presence and types).
    public var params: [String: ParamValue]

    /// Creates an equipment definition.
    public init(plant: String, id: String, template: TemplateSpec, params: [String: ParamValue]) {
        self.plant = plant
        self.id = id
        self.template = template
        self.params = params
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
public struct SignalState: Sendable, Equatable {
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
public final class Engine {
    /// What the engine has counted since start.
    public struct Counters: Sendable, Equatable {
        public var readings = 0
        public var duplicates = 0
        public var outOfOrder = 0
        public var unknownSignals = 0
        public var ticks = 0
        public var events = 0
        /// Interlock checks by outcome (ok, late, failed), good ones included.
        public var interlockOutcomes: [InterlockOutcome.Kind: Int] = [:]
    }

    struct AlarmTrack {
        var activations = 0
        var ordinal = 0
        var active = false
    }

    public let model: EngineModel
    public let allowedLatenessMilliseconds: Int64
    public internal(set) var counters = Counters()
    public private(set) var signals: [SignalState]
    /// The wall clock of the latest tick.
    public private(set) var lastTick: EventTime?

    let monitors: [any EquipmentMonitor]
    var tracks: [[AlarmTrack]]
    /// The health state machines of the signals the model gives settings for, in signal order.
    var health: [SignalHealth]
    /// `healthSignal[slot]` is the signal that `health[slot]` judges.
    let healthSignal: [Int]
    /// Per signal: its slot in `health`, or -1 when its health is not judged.
    let healthSlot: [Int]
    /// Per equipment: its slots in `health`, ascending.
    let equipmentHealthSlots: [[Int]]
    /// Which health slots a tick must visit; see `Engine+Health.swift`.
    var healthSchedule: HealthSchedule
    /// Per signal, per ``SignalHealth/Condition``: whether that device alarm is open, and its ids.
    var deviceTracks: [[AlarmTrack]]
    /// Per equipment, per condition: activations so far (the `n` of `alarm_id`, shared by its signals).
    var deviceActivations: [[Int]]
    /// Per equipment: its gate signal (e.g. `furnace_operating`), if the template has one.
    let gateSignals: [Int?]
    /// Per equipment: daemon clock minus gateway event time at its last reading.
    private var offsets: [Int64]
    /// Per equipment: the wall-clock key under which it sits in `timers`, if any.
    private var registered: [Int64?]
    private var timers = MinHeap()
    var outputs: [RuleOutput] = []
    /// Scratch list of the health slots one tick visits.
    var dueSlots: [Int] = []
    /// Reference behaviour for tests: every tick visits every signal's health, as before the schedule.
    var tickVisitsEverySignal = false

    /// Builds monitors for every equipment of the model.
    public init(model: EngineModel, allowedLatenessMilliseconds: Int64 = 1000) {
        self.model = model
        self.allowedLatenessMilliseconds = allowedLatenessMilliseconds
        monitors = model.equipment.map { $0.template.makeMonitor($0.params) }
        tracks = model.equipment.map { Array(repeating: AlarmTrack(), count: $0.template.rules.count) }
        offsets = Array(repeating: 0, count: model.equipment.count)
        registered = Array(repeating: nil, count: model.equipment.count)
        signals = Array(repeating: SignalState(), count: model.signals.count)
        var health: [SignalHealth] = []
        var healthSignal: [Int] = []
        var healthSlot = Array(repeating: -1, count: model.signals.count)
        var equipmentHealthSlots: [[Int]] = Array(repeating: [], count: model.equipment.count)
        for (i, s) in model.signals.enumerated() {
            guard let h = s.health else { continue }
            healthSlot[i] = health.count
            equipmentHealthSlots[s.equipment].append(health.count)
            healthSignal.append(i)
            health.append(SignalHealth(staleAfterMilliseconds: h.staleAfterMilliseconds, frozenAfterMilliseconds: h.frozenAfterMilliseconds,
                                       range: h.range, requiredFromStart: h.required))
        }
        self.health = health
        self.healthSignal = healthSignal
        self.healthSlot = healthSlot
        self.equipmentHealthSlots = equipmentHealthSlots
        healthSchedule = HealthSchedule(slots: health.count, equipment: model.equipment.count)
        let conditions = SignalHealth.Condition.allCases.count
        deviceTracks = Array(repeating: Array(repeating: AlarmTrack(), count: conditions), count: model.signals.count)
        deviceActivations = Array(repeating: Array(repeating: 0, count: conditions), count: model.equipment.count)
        var gates: [Int?] = Array(repeating: nil, count: model.equipment.count)
        for (i, s) in model.signals.enumerated() {
            let template = model.equipment[s.equipment].template
            if let gate = template.gateRole, template.roles[s.role].name == gate { gates[s.equipment] = i }
        }
        gateSignals = gates
        outputs.reserveCapacity(8)
    }

    /// Receives every interlock check's outcome (engine thread), for the journal, report and metrics.
    public var onInterlockOutcome: ((InterlockOutcome) -> Void)?

    /// Processes one input and emits the alarm events it causes, in order.
    public func process(_ input: EngineInput, emit: (AlarmEvent) -> Void) {
        switch input {
        case .reading(let r): apply(r, emit: emit)
        case .tick(let now): tick(now, emit: emit)
        }
    }

    private func apply(_ r: Reading, emit: (AlarmEvent) -> Void) {
        let index = Int(r.signal.rawValue)
        guard index >= 0, index < model.signals.count else {
            counters.unknownSignals += 1
            return
        }
        let previous = signals[index]
        if let last = previous.time {
            if r.time < last {
                counters.outOfOrder += 1
                return
            }
            if let seq = r.sequence, seq == previous.sequence, r.time == last {
                counters.duplicates += 1
                return
            }
        }
        counters.readings += 1
        let binding = model.signals[index]
        let e = binding.equipment
        if gateSignals[e] == index, (previous.value?.asBool ?? true) != r.value.asBool {
            healthSchedule.operatingChanged(e)  // every health of `e` sees the new state at the next tick
        }
        signals[index] = SignalState(value: r.value, quality: r.quality, time: r.time, sequence: r.sequence)
        if let tick = lastTick { offsets[e] = tick.milliseconds(since: r.time) }
        outputs.removeAll(keepingCapacity: true)
        monitors[e].advance(to: r.time, into: &outputs)
        publish(equipment: e, emit: emit)  // what expired before this reading comes first
        outputs.removeAll(keepingCapacity: true)
        let slot = healthSlot[index]
        if slot >= 0 {
            let changes = health[slot].reading(r.value, quality: r.quality, at: r.time, arrivedAt: lastTick ?? r.time,
                                               operating: isOperating(e))
            if !changes.isEmpty { applyHealth(changes, slot: slot, emit: emit) }
            healthSchedule.update(slot, deadline: health[slot].deadline)
        }
        monitors[e].reading(role: binding.role, value: r.value, quality: r.quality, at: r.time, into: &outputs)
        publish(equipment: e, emit: emit)
        schedule(e)
    }

    private func tick(_ now: EventTime, emit: (AlarmEvent) -> Void) {
        counters.ticks += 1
        lastTick = now
        tickHealth(now, emit: emit)
        while let top = timers.peek, top.key <= now.milliseconds {
            _ = timers.pop()
            let e = top.index
            guard registered[e] == top.key else { continue }  // superseded by a later schedule
            registered[e] = nil
            let equipmentTime = EventTime(milliseconds: now.milliseconds - offsets[e] - allowedLatenessMilliseconds)
            outputs.removeAll(keepingCapacity: true)
            monitors[e].advance(to: equipmentTime, into: &outputs)
            publish(equipment: e, emit: emit)
            schedule(e)
        }
    }

    func schedule(_ e: Int) {
        guard let deadline = monitors[e].nextDeadline else {
            registered[e] = nil
            return
        }
        let key = deadline.milliseconds + offsets[e] + allowedLatenessMilliseconds
        if registered[e] != key {
            registered[e] = key
            timers.push(key: key, index: e)
        }
    }

    func publish(equipment e: Int, emit: (AlarmEvent) -> Void) {
        guard !outputs.isEmpty else { return }
        let eq = model.equipment[e]
        for o in outputs {
            if o.transition == .recorded {
                if let i = o.interlock {
                    counters.interlockOutcomes[i.kind, default: 0] += 1
                    onInterlockOutcome?(InterlockOutcome(
                        plant: eq.plant, equipment: eq.id, trigger: eq.template.rules[i.triggerRuleIndex].id, kind: i.kind,
                        trippedAt: i.trippedAt, latencyMilliseconds: o.latencyMilliseconds, cause: o.cause
                    ))
                }
                continue
            }
            let spec = eq.template.rules[o.ruleIndex]
            var track = tracks[e][o.ruleIndex]
            let state: AlarmEvent.State
            let kind: AlarmEvent.Kind
            switch o.transition {
            case .raised:
                guard !track.active else { continue }
                track.activations += 1
                track.ordinal = 1
                track.active = true
                kind = .raised
                state = .activeUnacked
            case .cleared:
                guard track.active else { continue }
                track.ordinal += 1
                track.active = false
                kind = .cleared
                state = .rtnUnacked
            case .recorded:
                continue
            }
            tracks[e][o.ruleIndex] = track
            counters.events += 1
            emit(AlarmEvent(
                kind: kind, state: state, alarmClass: spec.alarmClass, rule: spec.id, priority: spec.priority,
                plant: eq.plant, equipment: eq.id, activation: track.activations, ordinal: track.ordinal,
                signals: spec.signals, value: o.value, limit: o.limit, unit: spec.unit,
                latencyMilliseconds: o.latencyMilliseconds, cause: o.cause, basis: spec.basis,
                message: o.message, eventTime: o.time, configHash: model.configHash
            ))
        }
    }
}

/// A binary min-heap of (wall-clock key, index): the engine's timer queues (equipment, signal health).
struct MinHeap {
    struct Entry {
        var key: Int64
        var index: Int
    }

    private var items: [Entry] = []

    var peek: Entry? { items.first }

    var count: Int { items.count }

    mutating func push(key: Int64, index: Int) {
        items.append(Entry(key: key, index: index))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i].key < items[parent].key else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Entry? {
        guard !items.isEmpty else { return nil }
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count, items[l].key < items[m].key { m = l }
                if r < items.count, items[r].key < items[m].key { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}
