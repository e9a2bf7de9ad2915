/// An alarm event exactly as contract section 4 defines it: webhook body, SSE data, MQTT payload
/// and replay output line are all this value encoded by ``jsonBody(emittedAt:)``.
public struct AlarmEvent: Sendable, Equatable, Codable {
    /// What happened to the alarm.
    public enum Kind: String, Sendable, CaseIterable, Codable {
        case raised, updated, cleared, acknowledged, shelved, unshelved, escalated, heartbeat
        /// An equipment's maintenance began (who, why, until): its alarms are not annunciated.
        case outOfService = "out-of-service"
        /// An equipment's maintenance ended, by an operator or at its end time.
        case inService = "in-service"
    }

    /// The alarm's state after this event (ISA-18.2).
    public enum State: String, Sendable, CaseIterable, Codable {
        case activeUnacked = "active-unacked"
        case activeAcked = "active-acked"
        case rtnUnacked = "rtn-unacked"
        case normal
        case shelved
        case suppressed
        case outOfService = "out-of-service"
    }

    /// Which kind of trouble the alarm reports.
    public enum AlarmClass: String, Sendable, CaseIterable, Codable {
        case process, interlock, device, system
    }

    /// Alarm priority; Chinese 一级/二级 schemes map onto these.
    public enum Priority: String, Sendable, CaseIterable, Comparable, Codable {
        case emergency, high, medium, low

        private var rank: Int {
            switch self {
            case .emergency: 0
            case .high: 1
            case .medium: 2
            case .low: 3
            }
        }
        public static func < (a: Priority, b: Priority) -> Bool { a.rank < b.rank }
    }

    public static let schema = "meltwatch.alarm/1"

    /// `<alarm_id>:<k>`, k the event's ordinal within the alarm; receivers dedup on it.
    public var eventID: String { "\(alarmID):\(ordinal)" }
    /// `<plant>:<equipment>:<rule>:<n>`, n counting that rule's activations on that equipment.
    public var alarmID: String { "\(plant):\(equipment):\(rule):\(activation)" }

    public var kind: Kind
    public var state: State
    public var alarmClass: AlarmClass
    public var rule: String
    public var priority: Priority
    public var plant: String
    public var equipment: String
    /// The rule's activation number on this equipment (the `n` of `alarm_id`).
    public var activation: Int
    /// The event's ordinal within its alarm (the `k` of `event_id`).
    public var ordinal: Int
    public var signals: [String]
    public var value: Double?
    public var limit: Double?
    public var unit: String?
    public var latencyMilliseconds: Int64?
    public var cause: String?
    public var basis: String
    public var message: String
    public var eventTime: EventTime
    public var configHash: String
    public var `operator`: String?
    public var note: String?

    /// Creates an event; see contract section 4 for each field's meaning.
    public init(
        kind: Kind, state: State, alarmClass: AlarmClass, rule: String, priority: Priority,
        plant: String, equipment: String, activation: Int, ordinal: Int, signals: [String],
        value: Double? = nil, limit: Double? = nil, unit: String? = nil,
        latencyMilliseconds: Int64? = nil, cause: String? = nil,
        basis: String, message: String, eventTime: EventTime, configHash: String,
        operator: String? = nil, note: String? = nil
    ) {
        self.kind = kind
        self.state = state
        self.alarmClass = alarmClass
        self.rule = rule
        self.priority = priority
        self.plant = plant
        self.equipment = equipment
        self.activation = activation
        self.ordinal = ordinal
        self.signals = signals
        self.value = value
        self.limit = limit
        self.unit = unit
        self.latencyMilliseconds = latencyMilliseconds
        self.cause = cause
        self.basis = basis
        self.message = message
        self.eventTime = eventTime
        self.configHash = configHash
        self.operator = `operator`
        self.note = note
    }
}

extension AlarmEvent {
    /// The event as contract JSON, keys in contract order. Deterministic: the same event always
    /// encodes to the same bytes except `emitted_at`, which is what lets replay be byte-identical.
    public func jsonBody(emittedAt: EventTime) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.key("schema"); w.string(Self.schema)
        w.key("event_id"); w.string(eventID)
        w.key("alarm_id"); w.string(alarmID)
        w.key("event"); w.string(kind.rawValue)
        w.key("state"); w.string(state.rawValue)
        w.key("class"); w.string(alarmClass.rawValue)
        w.key("rule"); w.string(rule)
        w.key("priority"); w.string(priority.rawValue)
        w.key("plant"); w.string(plant)
        w.key("equipment"); w.string(equipment)
        w.key("signals"); w.beginArray(); for s in signals { w.string(s) }; w.endArray()
        w.key("value"); w.number(value)
        w.key("limit"); w.number(limit)
        w.key("unit"); w.string(unit)
        w.key("latency_ms"); w.integer(latencyMilliseconds)
        w.key("cause"); w.string(cause)
        w.key("basis"); w.string(basis)
        w.key("message"); w.string(message)
        w.key("event_time"); w.string(eventTime.rfc3339)
        w.key("emitted_at"); w.string(emittedAt.rfc3339)
        w.key("config_hash"); w.string(configHash)
        w.key("operator"); w.string(`operator`)
        w.key("note"); w.string(note)
        w.endObject()
        return w.output
    }
}

extension AlarmEvent {
    /// The rule id of the engine's alarm about another rule chattering (its `cause` names that
    /// rule): the engine raises it, the alarm book folds the named rule's transitions under it.
    public static let chatteringRule = "chattering"
}
