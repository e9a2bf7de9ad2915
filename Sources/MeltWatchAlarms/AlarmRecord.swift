import MeltWatchCore

/// Identifies a rule of a piece of equipment: what an alarm id counts activations of.
public struct AlarmKey: Hashable, Sendable, Codable, CustomStringConvertible {
    public var plant: String
    public var equipment: String
    public var rule: String

    /// Creates a key.
    public init(plant: String, equipment: String, rule: String) {
        self.plant = plant
        self.equipment = equipment
        self.rule = rule
    }

    public var description: String { "\(plant):\(equipment):\(rule)" }
}

/// Who put a piece of equipment out of service, why, when and until when.
public struct Maintenance: Sendable, Codable, Equatable {
    public var `operator`: String
    public var reason: String
    public var since: EventTime
    /// When it returns to service by itself; nil only in tables stored before out of service had an
    /// end (read as `since` + the longest allowed, ``AlarmAction/maximumOutOfServiceHours``).
    public var until: EventTime?
    /// The maintenance period's number on this equipment (the `n` of its events' `alarm_id`).
    public var number: Int?

    /// The end of the maintenance period.
    public var ends: EventTime { until ?? since.adding(milliseconds: Int64(AlarmAction.maximumOutOfServiceHours) * 3_600_000) }

    /// The rule name of maintenance events: `<plant>:<equipment>:out-of-service:<n>`.
    public static let rule = "out-of-service"
}

/// One alarm as the duty room sees it: its latest event and its lifecycle (ISA-18.2).
public struct AlarmRecord: Sendable, Codable, Equatable {
    /// The alarm's latest event; its identity, content and state.
    public var last: AlarmEvent
    /// Event time of the raise.
    public var raisedAt: EventTime
    /// The daemon clock (latest tick) when it was raised: escalation counts from here.
    public var raisedClock: EventTime?
    /// The condition holds (or, for a latched alarm, has not been acknowledged yet).
    public var active: Bool
    /// Ends only by acknowledgement (interlock failures, the journal's own alarms).
    public var latched: Bool
    public var acknowledgedBy: String?
    public var acknowledgedAt: EventTime?
    public var ackNote: String?
    public var shelvedBy: String?
    public var shelvedUntil: EventTime?
    public var shelveReason: String?
    public var escalated = false
    /// The engine's id of the activation this alarm stands for now, when it is not the alarm's own:
    /// the rule returned and became active again before anyone acknowledged it (ISA-18.2
    /// `rtn-unacked` → `active-unacked`), which is the same alarm, not a new one.
    public var engineAlarmID: String?
    /// How many times the condition came back while the alarm stayed unacknowledged.
    public var reactivations: Int?
    /// Transitions not yet announced because the rule is chattering (domain.md "Chattering folds").
    public var foldedTransitions: Int?
    /// The daemon clock when the first of those transitions was folded (the next notice is due a
    /// minute after).
    public var foldedSince: EventTime?

    /// The alarm's id (`<plant>:<equipment>:<rule>:<n>`).
    public var id: String { last.alarmID }
    /// The alarm's current state.
    public var state: AlarmEvent.State { last.state }
    /// The rule of the equipment it belongs to.
    public var key: AlarmKey { AlarmKey(plant: last.plant, equipment: last.equipment, rule: last.rule) }
    /// True while an operator still has to acknowledge it.
    public var needsAcknowledgement: Bool { last.state == .activeUnacked || last.state == .rtnUnacked }
}
