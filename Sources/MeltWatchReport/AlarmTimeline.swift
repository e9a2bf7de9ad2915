import MeltWatchCore

/// Where an alarm stood at the end of the period (处置情况), from its last event's ISA-18.2 state.
public enum AlarmStatus: String, Sendable, CaseIterable {
    /// Active and nobody acknowledged it.
    case activeUnacknowledged
    /// Acknowledged by the duty room, condition still present.
    case activeAcknowledged
    /// The condition cleared; not yet acknowledged.
    case clearedUnacknowledged
    /// The condition cleared (and, if it needed it, was acknowledged): closed.
    case cleared
    /// Shelved by an operator.
    case shelved
    /// Suppressed by design (e.g. its gate closed).
    case suppressed
    /// The equipment is out of service.
    case outOfService

    /// The ledger's 处置情况 wording.
    public var label: String {
        switch self {
        case .activeUnacknowledged: "未确认，未恢复"
        case .activeAcknowledged: "已确认，未恢复"
        case .clearedUnacknowledged: "已恢复，未确认"
        case .cleared: "已恢复"
        case .shelved: "已搁置"
        case .suppressed: "已抑制"
        case .outOfService: "停用检修"
        }
    }

    init(_ state: AlarmEvent.State) {
        switch state {
        case .activeUnacked: self = .activeUnacknowledged
        case .activeAcked: self = .activeAcknowledged
        case .rtnUnacked: self = .clearedUnacknowledged
        case .normal: self = .cleared
        case .shelved: self = .shelved
        case .suppressed: self = .suppressed
        case .outOfService: self = .outOfService
        }
    }
}

/// One alarm (one `alarm_id`) with its timeline: raised, acknowledged by whom, cleared.
public struct AlarmRecord: Sendable, Equatable {
    /// `<plant>:<equipment>:<rule>:<n>`.
    public var alarmID: String
    public var equipment: String
    public var rule: String
    public var alarmClass: AlarmEvent.AlarmClass
    public var priority: AlarmEvent.Priority
    /// The signals the rule reads (for device rules, the sick one): the evidence chart shows these.
    public var signals: [String]
    /// The basis (判定依据), verbatim from the event.
    public var basis: String
    /// The raise message (隐患描述); the first event's message when the raise precedes the period.
    public var message: String
    /// The measured value at the raise, its limit and unit (现场证据).
    public var value: Double?
    public var limit: Double?
    public var unit: String?
    /// Interlock latency (`interlock-late`), if any event of the alarm carried one.
    public var latencyMilliseconds: Int64?
    /// Interlock failure cause (`interlock-failed`), if any event of the alarm carried one.
    public var cause: String?
    /// When it was raised; nil when the raise lies before the period (only later events are in it).
    public var raisedAt: EventTime?
    /// The first acknowledgement: when, by whom, with which note.
    public var acknowledgedAt: EventTime?
    public var acknowledgedBy: String?
    public var acknowledgementNote: String?
    /// The first shelving and by whom.
    public var shelvedAt: EventTime?
    public var shelvedBy: String?
    /// The first escalation (unacknowledged for `escalate_after_s`).
    public var escalatedAt: EventTime?
    /// When the condition cleared (returned to normal). A latched `interlock-failed` has no clear:
    /// the acknowledgement ends it.
    public var clearedAt: EventTime?
    /// For `interlock-late` / `interlock-failed`: when the interlock check was tripped (from the
    /// matching ``MeltWatchCore/InterlockOutcome``), so that the chart shows trip and feedbacks.
    public var trippedAt: EventTime?
    /// The time of its first event in the input: the raise, or the earliest event seen.
    public var firstSeen: EventTime
    /// The time of its last event in the input.
    public var lastSeen: EventTime
    /// The state after its last event (contract `state`).
    public var finalState: AlarmEvent.State
    /// The events of the alarm in input order.
    public var events: [AlarmEvent]

    /// 处置情况: status wording plus who acknowledged, e.g. `已恢复，已确认（张三）`.
    public var status: AlarmStatus { AlarmStatus(finalState) }

    /// The ledger's 处置情况 text: the status, then who acknowledged (or shelved) it, e.g.
    /// `已恢复，已确认（张三）`. A latched alarm (`interlock-failed`) that only an acknowledgement
    /// ended reads `已确认解除`: nothing says its condition recovered.
    public var statusText: String {
        var text = status.label
        if status == .cleared, acknowledgedAt != nil {
            text = clearedAt == nil ? "已确认解除" : "已恢复，已确认"
        }
        let who = status == .shelved ? shelvedBy : acknowledgedBy
        if let who, !who.isEmpty { text += "（\(who)）" }
        return text
    }
}

extension AlarmRecord {
    /// Groups events by `alarm_id` into records ordered by first appearance time, then id.
    /// Heartbeats belong to no alarm and are dropped.
    static func group(_ events: [AlarmEvent]) -> [AlarmRecord] {
        var order: [String] = []
        var byID: [String: [AlarmEvent]] = [:]
        for e in events where e.kind != .heartbeat {
            let id = e.alarmID
            if byID[id] == nil { order.append(id) }
            byID[id, default: []].append(e)
        }
        let records = order.map { AlarmRecord(events: byID[$0]!) }
        return records.sorted { ($0.firstSeen, $0.alarmID) < ($1.firstSeen, $1.alarmID) }
    }

    /// Sets ``trippedAt`` of interlock-late / interlock-failed alarms: the latest outcome of the same
    /// verdict on the same equipment tripped at or before the raise.
    static func attachTrips(_ records: inout [AlarmRecord], outcomes: [InterlockOutcome]) {
        for i in records.indices {
            let kind: InterlockOutcome.Kind
            switch records[i].rule {
            case "interlock-late": kind = .late
            case "interlock-failed": kind = .failed
            default: continue
            }
            let raised = records[i].raisedAt ?? records[i].firstSeen
            records[i].trippedAt = outcomes
                .filter { $0.equipment == records[i].equipment && $0.kind == kind && $0.trippedAt <= raised }
                .map(\.trippedAt).max()
        }
    }

    /// Builds a record from one alarm's events (at least one), in input order.
    init(events: [AlarmEvent]) {
        let first = events[0]
        let raise = events.first { $0.kind == .raised }
        let head = raise ?? first
        alarmID = first.alarmID
        equipment = first.equipment
        rule = first.rule
        alarmClass = head.alarmClass
        priority = head.priority
        signals = head.signals
        basis = head.basis
        message = head.message
        value = head.value
        limit = head.limit
        unit = head.unit
        latencyMilliseconds = events.lazy.compactMap(\.latencyMilliseconds).first
        cause = events.lazy.compactMap(\.cause).first
        raisedAt = raise?.eventTime
        let ack = events.first { $0.kind == .acknowledged }
        acknowledgedAt = ack?.eventTime
        acknowledgedBy = ack?.operator
        acknowledgementNote = ack?.note
        let shelf = events.first { $0.kind == .shelved }
        shelvedAt = shelf?.eventTime
        shelvedBy = shelf?.operator
        escalatedAt = events.first { $0.kind == .escalated }?.eventTime
        clearedAt = events.first { $0.kind == .cleared }?.eventTime
        trippedAt = nil
        firstSeen = raise?.eventTime ?? events.map(\.eventTime).min()!
        lastSeen = events.map(\.eventTime).max()!
        finalState = events[events.count - 1].state
        self.events = events
    }
}
