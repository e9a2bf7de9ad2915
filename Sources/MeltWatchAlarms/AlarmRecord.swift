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

extension AlarmRecord {
    /// The alarm as `GET /api/alarms` lists it: the contract event's content plus its lifecycle.
    public func json(maintenance: Maintenance?, plantName: String?) -> String {
        var w = JSONWriter()
        write(into: &w, maintenance: maintenance, plantName: plantName)
        return w.output
    }

    /// Writes the alarm object into `w` (for lists).
    public func write(into w: inout JSONWriter, maintenance: Maintenance?, plantName: String?) {
        let e = last
        w.beginObject()
        w.key("alarm_id"); w.string(e.alarmID)
        w.key("state"); w.string(e.state.rawValue)
        w.key("class"); w.string(e.alarmClass.rawValue)
        w.key("rule"); w.string(e.rule)
        w.key("priority"); w.string(e.priority.rawValue)
        w.key("plant"); w.string(e.plant)
        w.key("plant_name"); w.string(plantName)
        w.key("equipment"); w.string(e.equipment)
        w.key("signals"); w.beginArray(); for s in e.signals { w.string(s) }; w.endArray()
        w.key("value"); w.number(e.value)
        w.key("limit"); w.number(e.limit)
        w.key("unit"); w.string(e.unit)
        w.key("latency_ms"); w.integer(e.latencyMilliseconds)
        w.key("cause"); w.string(e.cause)
        w.key("basis"); w.string(e.basis)
        w.key("message"); w.string(e.message)
        w.key("raised_at"); w.string(raisedAt.rfc3339)
        w.key("updated_at"); w.string(e.eventTime.rfc3339)
        w.key("latched"); w.bool(latched)
        w.key("escalated"); w.bool(escalated)
        w.key("reactivations"); w.integer(Int64(reactivations ?? 0))
        w.key("folded_transitions"); w.integer(Int64(foldedTransitions ?? 0))
        w.key("acknowledged_by"); w.string(acknowledgedBy)
        w.key("acknowledged_at"); w.string(acknowledgedAt?.rfc3339)
        w.key("ack_note"); w.string(ackNote)
        w.key("shelved_by"); w.string(shelvedBy)
        w.key("shelved_until"); w.string(shelvedUntil?.rfc3339)
        w.key("shelve_reason"); w.string(shelveReason)
        w.key("out_of_service_by"); w.string(maintenance?.operator)
        w.key("out_of_service_reason"); w.string(maintenance?.reason)
        w.key("out_of_service_until"); w.string(maintenance?.ends.rfc3339)
        w.key("last_event_id"); w.string(e.eventID)
        w.key("config_hash"); w.string(e.configHash)
        w.endObject()
    }
}

extension Maintenance {
    /// `GET /api/equipment?state=out-of-service`: every equipment in maintenance, who, why, since and
    /// until when, ordered by plant and equipment.
    public static func listJSON(_ table: [String: Maintenance]) -> String {
        var w = JSONWriter()
        w.beginArray()
        for key in table.keys.sorted() {
            let m = table[key]!
            let parts = key.split(separator: ":", maxSplits: 1).map(String.init)
            w.beginObject()
            w.key("plant"); w.string(parts.first ?? key)
            w.key("equipment"); w.string(parts.count > 1 ? parts[1] : "")
            w.key("state"); w.string(AlarmEvent.State.outOfService.rawValue)
            w.key("operator"); w.string(m.operator)
            w.key("reason"); w.string(m.reason)
            w.key("since"); w.string(m.since.rfc3339)
            w.key("until"); w.string(m.ends.rfc3339)
            w.endObject()
        }
        w.endArray()
        return w.output
    }
}
