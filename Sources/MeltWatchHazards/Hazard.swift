import MeltWatchCore

/// A hazard record (隐患, contract §7): a condition Order No. 10 names, witnessed in the data, found,
/// rectified with named responsibility and closed (销号) only on evidence, every step in its history.
public struct Hazard: Sendable, Equatable, Codable, Identifiable {
    /// 重大事故隐患 or 一般隐患: the split the weekly table counts.
    public enum Class: String, Sendable, Codable, CaseIterable {
        case major, general

        /// The form's wording.
        public var chinese: String { self == .major ? "重大事故隐患" : "一般隐患" }
    }

    /// 发现 → 整改中 → 待验收 → 已销号.
    public enum Status: String, Sendable, Codable, CaseIterable {
        case open, rectifying
        case awaitingVerification = "awaiting-verification"
        case closed

        /// A query's `status`: `all` (nil: every status) or one of them; throws naming the allowed values.
        public static func filter(_ text: String) throws(HazardQueryError) -> Status? {
            if text == "all" { return nil }
            guard let s = Status(rawValue: text) else {
                throw HazardQueryError(description: "status must be open, rectifying, awaiting-verification, closed or all, not \(text)")
            }
            return s
        }

        /// The form's wording.
        public var chinese: String {
            switch self {
            case .open: "未整改"
            case .rectifying: "整改中"
            case .awaitingVerification: "待验收"
            case .closed: "已销号"
            }
        }
    }

    /// 整改措施: 责任、措施、资金、时限、预案, and who recorded them when.
    public struct Rectification: Sendable, Equatable, Codable {
        public var responsible: String
        public var measures: String
        public var funds: String
        /// 时限: the rectification is due by then.
        public var deadline: EventTime
        public var plan: String
        public var recordedBy: String
        public var recordedAt: EventTime

        /// Creates a rectification.
        public init(responsible: String, measures: String, funds: String, deadline: EventTime, plan: String,
                    recordedBy: String, recordedAt: EventTime) {
            self.responsible = responsible
            self.measures = measures
            self.funds = funds
            self.deadline = deadline
            self.plan = plan
            self.recordedBy = recordedBy
            self.recordedAt = recordedAt
        }
    }

    /// What the data showed that verifies the rectification, or a manager's override.
    public struct Verification: Sendable, Equatable, Codable {
        public enum Kind: String, Sendable, Codable, CaseIterable {
            /// A later trip of the same interlock check that acted in time.
            case tripOK = "trip-ok"
            /// The monitoring signal (or the condition) healthy for 24 h.
            case healthy24h = "healthy-24h"
            /// The bypass off for 24 h.
            case bypassOff24h = "bypass-off-24h"
            /// An operator-initiated test trip that acted in time.
            case proofTest = "proof-test"
            /// A named manager closed it without data evidence, with a reason.
            case override
        }

        public var kind: Kind
        /// When the evidence was complete (the trip; the end of the 24 h; the override).
        public var at: EventTime
        /// For trips: trip to the last feedback.
        public var latencyMilliseconds: Int64?
        /// Words a person reads: the trip, the signal, the manager's reason.
        public var detail: String

        /// Creates a verification.
        public init(kind: Kind, at: EventTime, latencyMilliseconds: Int64? = nil, detail: String) {
            self.kind = kind
            self.at = at
            self.latencyMilliseconds = latencyMilliseconds
            self.detail = detail
        }
    }

    /// One entry of the history: who did what when, and the status after it.
    public struct Change: Sendable, Equatable, Codable {
        public var at: EventTime
        /// An operator's name, or `meltwatch` for what the daemon saw.
        public var by: String
        public var what: String
        public var status: Status

        /// Creates an entry.
        public init(at: EventTime, by: String, what: String, status: Status) {
            self.at = at
            self.by = by
            self.what = what
            self.status = status
        }
    }

    /// `HZ-<plant>-<year>-<n>` (n from 001, per plant and Beijing year).
    public var id: String
    public var plant: String
    public var equipment: String
    /// What it is about on the equipment: one record per equipment and cause (``HazardCause``).
    public var cause: String
    /// The alarm rule that witnessed it.
    public var rule: String
    public var hazardClass: Class
    /// 隐患描述.
    public var description: String
    /// 判定依据.
    public var basis: String
    /// 发现时间: when the data first showed it as a hazard.
    public var foundAt: EventTime
    /// The latest occurrence (a repeat while it is open adds to it): evidence must come after it.
    public var lastSeenAt: EventTime
    /// How many times it was witnessed while open.
    public var occurrences: Int
    /// 现场证据: the alarms that showed it (alarm ids), oldest first, at most ``maximumAlarmIDs``.
    public var alarmIDs: [String]
    /// The readings window the evidence chart covers.
    public var evidenceFrom: EventTime
    public var evidenceTo: EventTime
    public var status: Status
    public var rectification: Rectification?
    /// Past its 时限 and not closed: a `hazard-overdue` system alarm stands for it.
    public var overdue: Bool
    /// Evidence the data has shown since the latest occurrence (nil: none yet): what a close takes.
    public var evidence: Verification?
    /// How it was closed.
    public var verification: Verification?
    public var closedAt: EventTime?
    public var closedBy: String?
    public var history: [Change]

    /// The most alarm ids a record keeps (a flapping condition must not grow it without bound).
    public static let maximumAlarmIDs = 50

    /// The journal-independent name of the daemon in histories.
    public static let daemonName = "meltwatch"

    /// Creates a record.
    public init(id: String, plant: String, equipment: String, cause: String, rule: String, hazardClass: Class,
                description: String, basis: String, foundAt: EventTime, alarmIDs: [String],
                evidenceFrom: EventTime, evidenceTo: EventTime) {
        self.id = id
        self.plant = plant
        self.equipment = equipment
        self.cause = cause
        self.rule = rule
        self.hazardClass = hazardClass
        self.description = description
        self.basis = basis
        self.foundAt = foundAt
        self.lastSeenAt = foundAt
        self.occurrences = 1
        self.alarmIDs = alarmIDs
        self.evidenceFrom = evidenceFrom
        self.evidenceTo = evidenceTo
        self.status = .open
        self.overdue = false
        self.history = []
    }

    /// The kind of evidence a close needs (what the duty room is told when it has none yet).
    public var evidenceNeeded: [Verification.Kind] { HazardCause.evidence(forRule: rule) }

    /// Whether it was closed by `at` (a cut of the weekly table).
    public func closed(by at: EventTime) -> Bool { closedAt.map { $0 < at } ?? false }
}

/// A query for hazard records that cannot be answered (a bad `status`).
public struct HazardQueryError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// Which alarms open a hazard and how (domain.md "Hazards (隐患): from alarm to 销号").
public enum HazardCause {
    /// How a rule's alarm becomes a hazard.
    public enum Opening: Sendable, Equatable {
        /// At once, when raised.
        case immediately(Hazard.Class)
        /// When it has stood for the bypass duration (`hazards.bypass_min`) without clearing.
        case afterBypassDuration
        /// When it has stood for the device duration (`hazards.device_min`) without clearing.
        case afterDeviceDuration
        /// The third time within 7 days on one equipment.
        case thirdWithinWeek
    }

    /// The device rules: a mandated monitoring signal unhealthy (the monitoring device is ineffective).
    public static let deviceRules: Set<String> = ["stale", "frozen", "bad-quality", "detector-fault"]
    /// Interlock rules whose hazards a good trip verifies.
    static let tripVerified: Set<String> = ["interlock-failed", "interlock-late"]

    /// How the alarm of `rule` opens a hazard; nil for process alarms (evidence, not hazards).
    public static func opening(rule: String, alarmClass: AlarmEvent.AlarmClass) -> Opening? {
        switch rule {
        case "interlock-failed", "casting-permissive", "running-dry", "explosion-protection-fault": .immediately(.major)
        case "setpoint-mismatch": .immediately(.general)
        case "interlock-bypassed": .afterBypassDuration
        case "interlock-late": .thirdWithinWeek
        case _ where deviceRules.contains(rule) && alarmClass == .device: .afterDeviceDuration
        default: nil
        }
    }

    /// The record's cause on its equipment: the device rules share one per signal (a detector stale,
    /// then frozen, is one ineffective device); setpoints one per setpoint; the others one per rule.
    public static func key(rule: String, signals: [String], cause: String?) -> String {
        if deviceRules.contains(rule) { return "device:\(signals.first ?? rule)" }
        if rule == "setpoint-mismatch" { return "setpoint:\(signals.first ?? cause ?? "")" }
        return rule
    }

    /// What verifies a rectification of a hazard opened by `rule` (domain.md): a good trip (or a
    /// proof test) for interlock hazards; the bypass off 24 h; otherwise the condition gone for 24 h.
    public static func evidence(forRule rule: String) -> [Hazard.Verification.Kind] {
        if tripVerified.contains(rule) { return [.tripOK, .proofTest] }
        if rule == "interlock-bypassed" { return [.bypassOff24h] }
        return [.healthy24h]
    }

    /// 判定依据 for a hazard opened by an alarm with `basis`.
    public static func basis(rule: String, alarmBasis: String) -> String {
        switch rule {
        case "interlock-bypassed", "casting-permissive": "令10 第十四条"
        case _ where deviceRules.contains(rule): "令10 第十四条 (监测设备失效)"
        case "interlock-late": "忻应急发〔2024〕216号: 联锁动作是否长时间延迟"
        default: alarmBasis
        }
    }

    /// 隐患描述's lead words for a hazard opened by `rule`.
    public static func lead(rule: String, minutes: Int) -> String {
        switch rule {
        case "interlock-failed": "联锁未按要求动作"
        case "interlock-bypassed": "联锁旁路（解除）运行超过\(minutes)分钟"
        case "casting-permissive": "安全装置故障状态下开始铸造"
        case "running-dry": "湿式除尘器缺水运行"
        case "explosion-protection-fault": "除尘器防爆装置故障"
        case "setpoint-mismatch": "报警联锁设定值与批准值不符"
        case "interlock-late": "联锁动作7日内3次延迟"
        default: "监测信号失效（\(rule)）超过\(minutes)分钟，在线监测装置失效"
        }
    }
}
