import MeltWatchCore

/// An event for the duty room with its wire body, encoded once at emission so every channel and
/// every retry carries the same bytes (and the same `emitted_at`): an alarm event (contract §4), or
/// a hazard record's event (`meltwatch.hazard/1`, contract §7), which travels the same channels.
public struct AlarmEnvelope: Sendable {
    /// The alarm event; for a hazard event, the alarm-shaped view channels route by (plant,
    /// equipment, priority: high for a major hazard, medium for a general one, a message to show).
    public var event: AlarmEvent
    /// The contract JSON (section 4, or section 7 for a hazard event).
    public var body: String
    /// Set for a hazard event.
    public var hazard: HazardNotice?

    /// Encodes `event` as emitted at `emittedAt`.
    public init(event: AlarmEvent, emittedAt: EventTime) {
        self.event = event
        self.body = event.jsonBody(emittedAt: emittedAt)
    }

    /// A hazard record's event.
    public init(hazard: HazardNotice) {
        self.hazard = hazard
        self.body = hazard.body
        self.event = hazard.routingEvent
    }

    /// The id receivers deduplicate on (`event_id` of the body).
    public var eventID: String { hazard?.eventID ?? event.eventID }
}

/// A hazard record's event (`meltwatch.hazard/1`) on its way to the duty room: its body as the hazard
/// desk wrote it (no `emitted_at`: a resend is byte-identical) and what channels route and show it by.
public struct HazardNotice: Sendable, Equatable, Codable {
    /// `<hazard id>:<history length>`.
    public var eventID: String
    public var hazardID: String
    /// `opened`, `repeated`, `status`, `overdue` or `verified`.
    public var kind: String
    /// `major` or `general`.
    public var hazardClass: String
    public var status: String
    public var plant: String
    public var equipment: String
    public var description: String
    public var basis: String
    public var eventTime: EventTime
    /// Who caused it (`meltwatch` for the data).
    public var by: String
    /// The `meltwatch.hazard/1` JSON.
    public var body: String

    /// Creates a notice.
    public init(eventID: String, hazardID: String, kind: String, hazardClass: String, status: String, plant: String, equipment: String,
                description: String, basis: String, eventTime: EventTime, by: String, body: String) {
        self.eventID = eventID
        self.hazardID = hazardID
        self.kind = kind
        self.hazardClass = hazardClass
        self.status = status
        self.plant = plant
        self.equipment = equipment
        self.description = description
        self.basis = basis
        self.eventTime = eventTime
        self.by = by
        self.body = body
    }

    /// The rule name of the alarm-shaped view.
    public static let rule = "hazard"

    /// What happened, in the duty room's words.
    public var kindName: String {
        switch kind {
        case "opened": "发现隐患"
        case "repeated": "隐患再次出现"
        case "overdue": "隐患超期未销号"
        case "verified": "隐患已有数据验证"
        default: "隐患状态变更"
        }
    }

    /// 重大事故隐患 or 一般隐患.
    public var className: String { hazardClass == "major" ? "重大事故隐患" : "一般隐患" }

    /// The status in the ledger's words.
    public var statusName: String {
        switch status {
        case "open": "未整改"
        case "rectifying": "整改中"
        case "awaiting-verification": "待验收"
        case "closed": "已销号"
        default: status
        }
    }

    /// The alarm-shaped view channels filter and route by (never sent as such).
    var routingEvent: AlarmEvent {
        AlarmEvent(kind: kind == "opened" || kind == "overdue" ? .raised : .updated, state: .normal, alarmClass: .system, rule: Self.rule,
                   priority: hazardClass == "major" || kind == "overdue" ? .high : .medium, plant: plant, equipment: equipment,
                   activation: 0, ordinal: 0, signals: [], basis: basis,
                   message: "\(kindName) \(hazardID)（\(className)，\(statusName)）：\(description)", eventTime: eventTime, configHash: "",
                   operator: by == "meltwatch" ? nil : by)
    }
}
