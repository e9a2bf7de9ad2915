import MeltWatchCore

/// The hazard records as the alarm stream makes them (domain.md "Hazards (隐患): from alarm to 销号").
///
/// Pure and deterministic: fed the alarm book's events, the interlock checks' outcomes, the daemon
/// clock's ticks and the operators' journaled ``HazardAction``s in stream order, it opens one record
/// per equipment and cause, collects the evidence the data shows, and refuses a close without it —
/// so the live daemon and `meltwatch replay` make the same hazards. It holds the records not yet
/// closed; a closed one leaves in ``Output/changed`` for the store, which keeps it.
public struct HazardDesk: Sendable {
    /// The durations of domain.md's table (`hazards:` in the config).
    public struct Settings: Sendable, Equatable, Codable {
        /// `interlock-bypassed` standing this long while operating is a hazard (`bypass_min`).
        public var bypassMilliseconds: Int64
        /// A mandated signal unhealthy this long is a hazard (`device_min`).
        public var deviceMilliseconds: Int64
        /// A device or bypass hazard is verified by this long without the condition.
        public var verifyMilliseconds: Int64

        /// Creates settings; the defaults are domain.md's.
        public init(bypassMinutes: Int = 10, deviceMinutes: Int = 60, verifyHours: Int = 24) {
            bypassMilliseconds = Int64(bypassMinutes) * 60_000
            deviceMilliseconds = Int64(deviceMinutes) * 60_000
            verifyMilliseconds = Int64(verifyHours) * 3_600_000
        }
    }

    /// What the duty room hears of (events of schema `meltwatch.hazard/1`).
    public struct Notice: Sendable, Equatable {
        public enum Kind: String, Sendable, Codable {
            /// Found (发现).
            case opened
            /// Witnessed again while not closed.
            case repeated
            /// Its status changed (rectification, submission, 销号).
            case status
            /// Past its 时限 and not closed.
            case overdue
            /// The data showed the evidence a close needs.
            case verified
        }

        public var kind: Kind
        public var hazard: Hazard
        public var at: EventTime
        /// Who caused it (`meltwatch` for the data).
        public var by: String

        /// `<hazard id>:<history length>`: every notice follows one history entry, so it is unique and
        /// the same in every replay; receivers deduplicate on it.
        public var eventID: String { "\(hazard.id):\(hazard.history.count)" }
    }

    /// The daemon's own alarm about an overdue hazard (`hazard-overdue`), raised or cleared.
    public struct SystemAlarm: Sendable, Equatable {
        public static let rule = "hazard-overdue"
        public var raise: Bool
        public var hazardID: String
        public var message: String

        /// What the duty room reads while `h` is overdue.
        public static func overdueMessage(_ h: Hazard) -> String {
            "隐患\(h.id)超过整改时限未销号：\(h.description) (hazard past its deadline, not closed)"
        }
    }

    /// What a step produced.
    public struct Output: Sendable {
        /// Records that changed, in order (a record may appear more than once: the last is current).
        public var changed: [Hazard] = []
        public var notices: [Notice] = []
        public var systemAlarms: [SystemAlarm] = []

        public init() {}

        public var isEmpty: Bool { changed.isEmpty && notices.isEmpty && systemAlarms.isEmpty }
    }

    /// Why an action was refused: maps onto 400 / 404 / 409.
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public enum Code: Sendable, Equatable { case invalid, notFound, conflict }
        public var code: Code
        public var message: String
        public var description: String { message }

        init(_ code: Code, _ message: String) {
            self.code = code
            self.message = message
        }
    }

    /// An alarm that opens a hazard once it has stood long enough.
    struct Pending: Sendable, Equatable, Codable {
        var raisedAt: EventTime
        var event: AlarmEvent
    }

    /// What the desk tracks of a record besides the record itself.
    struct Condition: Sendable, Equatable, Codable {
        /// Alarms (`plant:equipment:rule:signals`) of its cause standing now.
        var active: Set<String> = []
        /// Since when none has stood (nil: one stands, or the cause never cleared yet).
        var clearSince: EventTime?
        /// The interlock checks (trigger rules) that failed: a good trip of one of them verifies.
        var checks: Set<String> = []
    }

    /// Everything the desk holds, for checkpoints.
    public struct Snapshot: Sendable, Equatable, Codable {
        var hazards: [String: Hazard] = [:]
        var conditions: [String: Condition] = [:]
        var numbers: [String: Int] = [:]
        var pending: [String: Pending] = [:]
        var lateTrips: [String: [EventTime]] = [:]
        var failedChecks: [String: String] = [:]
        var proofTests: [String: EventTime] = [:]
        /// The latest event time of the readings seen: how far the data has got.
        var watermark: EventTime?
    }

    public var settings: Settings
    private var state = Snapshot()
    /// `plant:equipment:cause` → id, for the records not closed.
    private var byKey: [String: String] = [:]

    /// Creates an empty desk.
    public init(settings: Settings = Settings()) {
        self.settings = settings
    }

    /// Restores a desk from a checkpoint.
    public init(settings: Settings, snapshot: Snapshot) {
        self.settings = settings
        state = snapshot
        for h in snapshot.hazards.values { byKey[Self.key(h.plant, h.equipment, h.cause)] = h.id }
    }

    /// The state, for a checkpoint.
    public var snapshot: Snapshot { state }

    /// The records not closed, by id.
    public var openHazards: [Hazard] { state.hazards.values.sorted { $0.id < $1.id } }

    /// A record not closed.
    public func hazard(_ id: String) -> Hazard? { state.hazards[id] }

    /// Seeds the numbering (and the open records) from the store, for a desk that starts without a
    /// checkpoint: ids continue where the database left them.
    public mutating func adopt(stored hazards: [Hazard]) {
        for h in hazards {
            let year = BeijingDate(h.foundAt).year
            let n = Int(h.id.split(separator: "-").last ?? "") ?? 0
            state.numbers["\(h.plant):\(year)"] = max(state.numbers["\(h.plant):\(year)"] ?? 0, n)
            guard h.status != .closed, state.hazards[h.id] == nil else { continue }
            let key = Self.key(h.plant, h.equipment, h.cause)
            guard byKey[key] == nil else { continue }
            state.hazards[h.id] = h
            state.conditions[h.id] = Condition()
            byKey[key] = h.id
        }
    }

    private static func key(_ plant: String, _ equipment: String, _ cause: String) -> String { "\(plant):\(equipment):\(cause)" }
    private static let weekMilliseconds: Int64 = 7 * 86_400_000

    // MARK: What the data shows

    /// A reading of `time` was processed: durations judged on the data advance to it.
    @inline(__always)
    public mutating func advance(to time: EventTime) {
        if let w = state.watermark, w >= time { return }
        state.watermark = time
    }

    /// The clock durations of reading-based conditions are judged by: the daemon clock, but never
    /// ahead of the data (a gateway republishing hours of buffered readings must not make a short
    /// bypass look long while its end is still on the way). `stale` is the daemon clock's own
    /// judgement: the data stopped.
    private func clock(for rule: String, now: EventTime) -> EventTime {
        guard rule != "stale", let w = state.watermark else { return now }
        return min(now, w)
    }

    /// An alarm event, as the alarm book emitted it.
    public mutating func observe(_ event: AlarmEvent, into out: inout Output) {
        guard let opening = HazardCause.opening(rule: event.rule, alarmClass: event.alarmClass) else { return }
        let alarmKey = "\(event.plant):\(event.equipment):\(event.rule):\(event.signals.joined(separator: ","))"
        let key = Self.key(event.plant, event.equipment, HazardCause.key(rule: event.rule, signals: event.signals, cause: event.cause))
        let t = event.eventTime
        switch event.kind {
        case .raised:
            if let id = byKey[key] { markActive(id, alarmKey, at: t, into: &out) }
            // Equipment in maintenance is not operating: what it shows then is not a hazard.
            guard event.state != .outOfService, event.state != .suppressed else { return }
            switch opening {
            case .immediately(let c):
                witness(key, event, class: c, at: t, from: t, into: &out)
                if let id = byKey[key] { state.conditions[id, default: Condition()].active.insert(alarmKey) }
            case .afterBypassDuration, .afterDeviceDuration:
                state.pending[alarmKey] = state.pending[alarmKey] ?? Pending(raisedAt: t, event: event)
            case .thirdWithinWeek:
                let eq = "\(event.plant):\(event.equipment)"
                var trips = state.lateTrips[eq, default: []].filter { t.milliseconds(since: $0) < Self.weekMilliseconds }
                trips.append(t)
                state.lateTrips[eq] = trips
                if byKey[key] != nil || trips.count >= 3 {
                    witness(key, event, class: .general, at: t, from: trips.first ?? t, into: &out)
                    state.lateTrips[eq] = []
                }
            }
        case .cleared:
            // Buffered data: the whole episode may arrive between two ticks; its own times decide.
            if let p = state.pending.removeValue(forKey: alarmKey) {
                let limit = p.event.rule == "interlock-bypassed" ? settings.bypassMilliseconds : settings.deviceMilliseconds
                if t.milliseconds(since: p.raisedAt) >= limit {
                    witness(key, p.event, class: .major, at: p.raisedAt.adding(milliseconds: limit), from: p.raisedAt, into: &out)
                }
            }
            if let id = byKey[key], var c = state.conditions[id] {
                let wasActive = c.active.remove(alarmKey) != nil
                if c.active.isEmpty, wasActive || c.clearSince == nil { c.clearSince = t }
                state.conditions[id] = c
            }
        default:
            break
        }
    }

    /// An interlock check's outcome: a good trip after the latest occurrence verifies the
    /// interlock hazards of its equipment (a proof test when the operators announced one).
    public mutating func observe(_ outcome: InterlockOutcome, into out: inout Output) {
        let eq = "\(outcome.plant):\(outcome.equipment)"
        switch outcome.kind {
        case .failed:
            state.failedChecks[eq] = outcome.trigger
            for h in hazards(on: outcome.plant, outcome.equipment) where h.rule == "interlock-failed" {
                state.conditions[h.id, default: Condition()].checks.insert(outcome.trigger)
            }
        case .late:
            break  // the interlock-late alarm counts it
        case .ok:
            let proof = state.proofTests[eq].map { outcome.trippedAt <= $0 } ?? false
            for var h in hazards(on: outcome.plant, outcome.equipment) where HazardCause.tripVerified.contains(h.rule) {
                let checks = state.conditions[h.id]?.checks ?? []
                guard outcome.trippedAt > h.lastSeenAt, checks.isEmpty || checks.contains(outcome.trigger) else { continue }
                let latency = outcome.latencyMilliseconds.map { " \(Double($0) / 1000) s" } ?? ""
                let detail = proof
                    ? "验证性试验联锁动作正常（\(outcome.trigger)，\(outcome.trippedAt.beijingMinute)，\(latency.trimmingSpaces)）"
                    : "联锁再次动作正常（\(outcome.trigger)，\(outcome.trippedAt.beijingMinute)，\(latency.trimmingSpaces)）"
                h.evidence = Hazard.Verification(kind: proof ? .proofTest : .tripOK, at: outcome.trippedAt,
                                                 latencyMilliseconds: outcome.latencyMilliseconds, detail: detail)
                record(&h, at: outcome.trippedAt, by: Hazard.daemonName, "数据验证：\(detail)")
                update(h, notice: .verified, at: outcome.trippedAt, by: Hazard.daemonName, into: &out)
            }
        }
    }

    /// The daemon clock: durations become hazards, quiet days become evidence, deadlines pass.
    public mutating func tick(_ now: EventTime, into out: inout Output) {
        for alarmKey in state.pending.keys.sorted() {
            guard let p = state.pending[alarmKey] else { continue }
            let bypass = p.event.rule == "interlock-bypassed"
            let limit = bypass ? settings.bypassMilliseconds : settings.deviceMilliseconds
            guard clock(for: p.event.rule, now: now).milliseconds(since: p.raisedAt) >= limit else { continue }
            state.pending.removeValue(forKey: alarmKey)
            let key = Self.key(p.event.plant, p.event.equipment, HazardCause.key(rule: p.event.rule, signals: p.event.signals, cause: p.event.cause))
            witness(key, p.event, class: .major, at: p.raisedAt.adding(milliseconds: limit), from: p.raisedAt, into: &out)
            if let id = byKey[key] {
                state.conditions[id, default: Condition()].active.insert(alarmKey)
                state.conditions[id]?.clearSince = nil
            }
        }
        for id in state.hazards.keys.sorted() {
            guard var h = state.hazards[id] else { continue }
            if h.evidence == nil, let since = state.conditions[id]?.clearSince,
               let kind = h.evidenceNeeded.first(where: { $0 == .healthy24h || $0 == .bypassOff24h }),
               clock(for: h.rule, now: now).milliseconds(since: since) >= settings.verifyMilliseconds {
                let at = since.adding(milliseconds: settings.verifyMilliseconds)
                let hours = settings.verifyMilliseconds / 3_600_000
                let detail = kind == .bypassOff24h
                    ? "联锁旁路自\(since.beijingMinute)起已解除\(hours)小时"
                    : "自\(since.beijingMinute)起持续正常\(hours)小时，未再出现"
                h.evidence = Hazard.Verification(kind: kind, at: at, detail: detail)
                record(&h, at: at, by: Hazard.daemonName, "数据验证：\(detail)")
                update(h, notice: .verified, at: at, by: Hazard.daemonName, into: &out)
            }
            if let deadline = h.rectification?.deadline, !h.overdue, now >= deadline {
                h.overdue = true
                record(&h, at: now, by: Hazard.daemonName, "超过整改时限（\(deadline.beijingMinute)）未销号")
                update(h, notice: .overdue, at: now, by: Hazard.daemonName, into: &out)
                out.systemAlarms.append(SystemAlarm(raise: true, hazardID: id, message: SystemAlarm.overdueMessage(h)))
            }
        }
        let ended = state.proofTests.filter { now > $0.value }.map(\.key)
        for k in ended { state.proofTests.removeValue(forKey: k) }
    }

    // MARK: What the duty room does

    /// An operator's step at `time`; returns the record it changed (nil for a proof test).
    public mutating func perform(_ action: HazardAction, at time: EventTime, into out: inout Output) -> Result<Hazard?, Refusal> {
        let who = String(action.operatorName.trimmingSpaces)
        guard !who.isEmpty else { return .failure(Refusal(.invalid, "operator name required (值班员姓名必填)")) }
        switch action {
        case .rectify(let id, _, let responsible, let measures, let funds, let deadline, let plan):
            guard var h = state.hazards[id] else { return .failure(missing(id)) }
            let fields = [("responsible", responsible), ("measures", measures), ("funds", funds), ("plan", plan)]
            if let empty = fields.first(where: { $0.1.trimmingSpaces.isEmpty }) {
                return .failure(Refusal(.invalid, "\(empty.0) required: 整改措施 needs 责任、措施、资金、时限、预案"))
            }
            h.rectification = Hazard.Rectification(responsible: responsible, measures: measures, funds: funds, deadline: deadline,
                                                   plan: plan, recordedBy: who, recordedAt: time)
            h.status = .rectifying
            record(&h, at: time, by: who, "整改措施：责任人 \(responsible)；措施 \(measures)；资金 \(funds)；时限 \(deadline.beijingMinute)；预案 \(plan)")
            if h.overdue, deadline > time {
                h.overdue = false
                record(&h, at: time, by: who, "整改时限延至\(deadline.beijingMinute)")
                out.systemAlarms.append(SystemAlarm(raise: false, hazardID: id, message: "隐患\(id)整改时限已延期 (deadline extended)"))
            }
            update(h, notice: .status, at: time, by: who, into: &out)
            return .success(h)
        case .submit(let id, _, let note):
            guard var h = state.hazards[id] else { return .failure(missing(id)) }
            guard h.status == .rectifying else {
                return .failure(Refusal(.conflict, h.status == .open
                    ? "hazard \(id) has no rectification yet: record 责任、措施、资金、时限、预案 first"
                    : "hazard \(id) is already awaiting verification"))
            }
            h.status = .awaitingVerification
            record(&h, at: time, by: who, "整改完成，申请验收" + (note.map { "：\($0)" } ?? ""))
            update(h, notice: .status, at: time, by: who, into: &out)
            return .success(h)
        case .close(let id, _, let note, let overrideReason):
            guard var h = state.hazards[id] else { return .failure(missing(id)) }
            let verification: Hazard.Verification
            if let reason = overrideReason {
                guard !reason.trimmingSpaces.isEmpty else {
                    return .failure(Refusal(.invalid, "override_reason must say why the hazard is closed without data evidence"))
                }
                verification = Hazard.Verification(kind: .override, at: time, detail: "\(who)批准销号（无数据验证）：\(reason)")
            } else {
                guard h.status == .awaitingVerification else {
                    return .failure(Refusal(.conflict, "hazard \(id) is \(h.status.rawValue): rectify and submit it before closing"))
                }
                guard let evidence = h.evidence else {
                    let needed = h.evidenceNeeded.map(\.rawValue).joined(separator: " or ")
                    return .failure(Refusal(.conflict, "no evidence from the data yet for \(id) (needs \(needed) after \(h.lastSeenAt.rfc3339)): 销号需数据验证，不能纸面整改"))
                }
                verification = evidence
            }
            h.status = .closed
            h.verification = verification
            h.closedAt = time
            h.closedBy = who
            record(&h, at: time, by: who, "销号（\(verification.kind.rawValue)）：\(verification.detail)" + (note.map { "；\($0)" } ?? ""))
            if h.overdue {
                h.overdue = false
                out.systemAlarms.append(SystemAlarm(raise: false, hazardID: id, message: "隐患\(id)已销号 (hazard closed)"))
            }
            state.hazards.removeValue(forKey: id)
            state.conditions.removeValue(forKey: id)
            byKey.removeValue(forKey: Self.key(h.plant, h.equipment, h.cause))
            out.changed.append(h)
            out.notices.append(Notice(kind: .status, hazard: h, at: time, by: who))
            return .success(h)
        case .proofTest(let plant, let equipment, _, let minutes):
            guard (1...HazardAction.maximumProofTestMinutes).contains(minutes) else {
                return .failure(Refusal(.invalid, "minutes must be 1…\(HazardAction.maximumProofTestMinutes)"))
            }
            let until = time.adding(milliseconds: Int64(minutes) * 60_000)
            state.proofTests["\(plant):\(equipment)"] = until
            for var h in hazards(on: plant, equipment) {
                record(&h, at: time, by: who, "开始验证性试验，至\(until.beijingMinute)：期间的联锁动作为试验动作")
                update(h, notice: nil, at: time, by: who, into: &out)
            }
            return .success(nil)
        }
    }

    // MARK: Records

    private func hazards(on plant: String, _ equipment: String) -> [Hazard] {
        state.hazards.values.filter { $0.plant == plant && $0.equipment == equipment }.sorted { $0.id < $1.id }
    }

    private func missing(_ id: String) -> Refusal {
        Refusal(.notFound, "no hazard \(id) that is not closed")
    }

    /// Opens the record for `key`, or adds the occurrence to the one not closed.
    private mutating func witness(_ key: String, _ event: AlarmEvent, class hazardClass: Hazard.Class, at t: EventTime,
                                  from: EventTime, into out: inout Output) {
        if let id = byKey[key], var h = state.hazards[id] {
            h.occurrences += 1
            h.lastSeenAt = max(h.lastSeenAt, t)
            h.evidenceTo = max(h.evidenceTo, t)
            if !h.alarmIDs.contains(event.alarmID), h.alarmIDs.count < Hazard.maximumAlarmIDs { h.alarmIDs.append(event.alarmID) }
            h.evidence = nil
            var what = "再次出现（\(event.alarmID)）：\(event.message)"
            if h.status == .awaitingVerification {
                h.status = .rectifying
                what += "；整改后再次出现，退回整改"
            }
            record(&h, at: t, by: Hazard.daemonName, what)
            state.conditions[id, default: Condition()].clearSince = nil
            update(h, notice: .repeated, at: t, by: Hazard.daemonName, into: &out)
            return
        }
        let year = BeijingDate(t).year
        let n = (state.numbers["\(event.plant):\(year)"] ?? 0) + 1
        state.numbers["\(event.plant):\(year)"] = n
        let id = "HZ-\(event.plant)-\(year)-\(n < 10 ? "00" : n < 100 ? "0" : "")\(n)"
        let minutes = Int((event.rule == "interlock-bypassed" ? settings.bypassMilliseconds : settings.deviceMilliseconds) / 60_000)
        let description = "\(HazardCause.lead(rule: event.rule, minutes: minutes))：\(event.message)"
        var h = Hazard(id: id, plant: event.plant, equipment: event.equipment,
                       cause: HazardCause.key(rule: event.rule, signals: event.signals, cause: event.cause), rule: event.rule,
                       hazardClass: hazardClass, description: description,
                       basis: HazardCause.basis(rule: event.rule, alarmBasis: event.basis), foundAt: t, alarmIDs: [event.alarmID],
                       evidenceFrom: from, evidenceTo: t)
        record(&h, at: t, by: Hazard.daemonName, "发现（\(event.alarmID)）：\(description)")
        state.hazards[id] = h
        var condition = Condition()
        if event.rule == "interlock-failed", let check = state.failedChecks["\(event.plant):\(event.equipment)"] { condition.checks.insert(check) }
        state.conditions[id] = condition
        byKey[key] = id
        out.changed.append(h)
        out.notices.append(Notice(kind: .opened, hazard: h, at: t, by: Hazard.daemonName))
    }

    /// The condition is present again: the evidence so far does not count.
    private mutating func markActive(_ id: String, _ alarmKey: String, at t: EventTime, into out: inout Output) {
        var c = state.conditions[id, default: Condition()]
        c.active.insert(alarmKey)
        c.clearSince = nil
        state.conditions[id] = c
        guard var h = state.hazards[id], let evidence = h.evidence, evidence.kind != .tripOK, evidence.kind != .proofTest else { return }
        h.evidence = nil
        record(&h, at: t, by: Hazard.daemonName, "状况再次出现，此前的验证不再有效")
        update(h, notice: nil, at: t, by: Hazard.daemonName, into: &out)
    }

    private func record(_ h: inout Hazard, at t: EventTime, by who: String, _ what: String) {
        h.history.append(Hazard.Change(at: t, by: who, what: what, status: h.status))
    }

    private mutating func update(_ h: Hazard, notice: Notice.Kind?, at t: EventTime, by who: String, into out: inout Output) {
        state.hazards[h.id] = h
        out.changed.append(h)
        if let notice { out.notices.append(Notice(kind: notice, hazard: h, at: t, by: who)) }
    }
}
