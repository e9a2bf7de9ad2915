import MeltWatchCore

/// The alarm lifecycle (ISA-18.2 / IEC 62682) as a pure state machine: the rules' raise and clear,
/// operators' acknowledgements, shelves and maintenance, escalation and shelve expiry on the clock.
/// Every change is returned as contract events, numbered within their alarm; nothing here reads a
/// clock, sleeps or does I/O, so `replay` reproduces the live daemon's events exactly.
///
/// Floods stay bounded (domain.md, "Alarm management"): a condition that comes back before anyone
/// acknowledged its alarm re-activates that alarm (`raised` again under the same `alarm_id`), so a
/// rule has at most one unacknowledged alarm per signal set; and once the engine reports a rule
/// `chattering` on an equipment, the transitions of its alarms there are folded — the record stays
/// current, the duty room hears at most one `updated` a minute carrying the count, and one more
/// when the chattering ends.
///
/// States follow from the record: out of service beats shelved beats the condition; an alarm whose
/// condition has gone is `rtn-unacked` until acknowledged, and `normal` (closed) once acknowledged —
/// or at once when it was shelved, out of service or suppressed by design. Latched alarms (interlock
/// failures) stay active until acknowledged; the acknowledgement then releases the rule so that the
/// next failure raises a new alarm.
public struct AlarmBook: Sendable {
    /// How the book behaves.
    public struct Settings: Sendable {
        /// Unacknowledged this long (daemon clock) → `escalated`; 0 never escalates.
        public var escalateAfterMilliseconds: Int64
        /// Rules whose alarms end only by acknowledgement.
        public var latchedRules: Set<String>
        /// Stamped on the events the book makes (operators' and the daemon's own).
        public var configHash: String
        /// The equipment id of the daemon's own alarms (`daemon`; `daemon-<n>` for shard n, so the
        /// instances of a sharded deployment never share an `alarm_id`).
        public var systemEquipment: String = SystemAlarms.equipment

        /// Creates settings.
        public init(escalateAfterMilliseconds: Int64, latchedRules: Set<String> = AlarmBook.defaultLatchedRules, configHash: String) {
            self.escalateAfterMilliseconds = escalateAfterMilliseconds
            self.latchedRules = latchedRules
            self.configHash = configHash
        }
    }

    /// Interlock failures (domain.md: latched until acknowledged) and the daemon's alarms that a
    /// person must see even after the cause went away.
    public static let defaultLatchedRules: Set<String> = ["interlock-failed", "journal-integrity", "journal-failed", "webhook-disabled"]

    /// What a change produced: events to store and deliver, and latched rules the engine may raise again.
    public struct Output: Sendable {
        public var events: [AlarmEvent] = []
        /// Per event (same index): the alarm as it stands after it, for the outbox to store.
        public var records: [AlarmRecord] = []
        public var releases: [AlarmKey] = []
        /// Set when equipment went into or came back from maintenance: the whole table after it.
        public var maintenance: [String: Maintenance]?
        /// An alarm changed without an event (a folded transition): the book is worth showing again.
        public var changedSilently = false
        /// Hazard records' events (the stage adds them after the alarm events): stored and delivered
        /// on the same channels.
        public var hazardNotices: [HazardNotice] = []

        /// An empty output.
        public init() {}
    }

    /// The book's durable state, written at every start so that a restart and `replay` resume from it.
    public struct Snapshot: Sendable, Codable, Equatable {
        public var records: [AlarmRecord]
        /// Per `plant:equipment:rule`: the highest activation number used (alarm ids never repeat).
        public var numbering: [String: Int]
        /// Per `plant:equipment`: equipment in maintenance.
        public var maintenance: [String: Maintenance]
        public var clock: EventTime?
    }

    public var settings: Settings
    /// Alarms not yet back to normal, by alarm id.
    public private(set) var open: [String: AlarmRecord] = [:]
    /// The latest alarms that went back to normal, oldest first (for `GET /api/alarms?state=all`).
    public private(set) var closed: [AlarmRecord] = []
    public static let closedKept = 500
    private(set) var numbering: [String: Int] = [:]
    /// Equipment in maintenance, by `plant:equipment`.
    public private(set) var maintenance: [String: Maintenance] = [:]
    /// The daemon clock of the latest tick.
    public private(set) var clock: EventTime?
    /// The engine's id of a re-activation → the open alarm it re-activated.
    private var aliases: [String: String] = [:]
    /// Per rule and signals (``returnKey(_:)``): the alarm that returned unacknowledged, which the
    /// rule's next activation re-activates.
    private var returned: [String: String] = [:]
    /// Per open `chattering` alarm: the `plant:equipment:rule` whose transitions it folds.
    private var folding: [String: String] = [:]

    /// The notice a folded alarm gets at most once in this many milliseconds (daemon clock).
    public static let foldNoticeMilliseconds: Int64 = 60_000

    /// An empty book.
    public init(settings: Settings) {
        self.settings = settings
    }

    /// A book resumed from `snapshot` (open alarms, numbering, maintenance).
    public init(settings: Settings, snapshot: Snapshot) {
        self.settings = settings
        for r in snapshot.records { file(r) }
        numbering = snapshot.numbering
        maintenance = snapshot.maintenance
        clock = snapshot.clock
    }

    /// The state to write down (records in id order, so the bytes are stable).
    public var snapshot: Snapshot {
        Snapshot(records: open.values.sorted { $0.id < $1.id }, numbering: numbering, maintenance: maintenance, clock: clock)
    }

    /// Per rule of each equipment: the highest activation used, and whether a latched alarm of it is
    /// still open — for the engine to continue numbering after a restart.
    public var resumption: [(key: AlarmKey, activations: Int, latchedOpen: Bool)] {
        let latched = Set(open.values.filter { $0.latched && $0.active }.map(\.key))
        return numbering.keys.sorted().compactMap { k in
            let parts = k.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 3 else { return nil }
            let key = AlarmKey(plant: String(parts[0]), equipment: String(parts[1]), rule: String(parts[2]))
            return (key, numbering[k]!, latched.contains(key))
        }
    }

    /// The maintenance entry of the equipment an alarm belongs to.
    public func maintenance(of r: AlarmRecord) -> Maintenance? { maintenance["\(r.last.plant):\(r.last.equipment)"] }

    /// The alarm with this id, open or recently closed.
    public func record(_ id: String) -> AlarmRecord? {
        open[id] ?? closed.last { $0.id == id }
    }

    /// Re-files an alarm as stored after one of its events (restoring from the outbox).
    public mutating func restore(_ r: AlarmRecord) {
        let n = "\(r.last.plant):\(r.last.equipment):\(r.last.rule)"
        numbering[n] = max(numbering[n] ?? 0, r.last.activation)
        guard r.last.rule != Maintenance.rule else { return }  // an announcement: never held open
        if r.state == .normal || r.state == .suppressed {
            unfile(r.id)
        } else {
            file(r)
        }
    }

    /// Files `r` as open and keeps the indexes that follow from it.
    private mutating func file(_ r: AlarmRecord) {
        if let old = open[r.id] { unindex(old) }
        open[r.id] = r
        if let engineID = r.engineAlarmID { aliases[engineID] = r.id }
        if !r.active, r.acknowledgedBy == nil { returned[Self.returnKey(r.last)] = r.id }
        if r.last.rule == AlarmEvent.chatteringRule, r.active, let rule = r.last.cause {
            folding[r.id] = "\(r.last.plant):\(r.last.equipment):\(rule)"
        }
    }

    /// Removes an alarm from the open ones and from the indexes.
    private mutating func unfile(_ id: String) {
        guard let r = open.removeValue(forKey: id) else { return }
        unindex(r)
    }

    private mutating func unindex(_ r: AlarmRecord) {
        if let engineID = r.engineAlarmID, aliases[engineID] == r.id { aliases[engineID] = nil }
        let k = Self.returnKey(r.last)
        if returned[k] == r.id { returned[k] = nil }
        folding[r.id] = nil
    }

    /// What re-activation matches on: the rule of the equipment and the signals it concerns (two
    /// detectors' `stale` alarms are two alarms).
    private static func returnKey(_ e: AlarmEvent) -> String {
        "\(e.plant):\(e.equipment):\(e.rule):\(e.signals.joined(separator: ","))"
    }

    /// True while the rule of `r` is reported chattering on its equipment.
    private func isFolding(_ r: AlarmRecord) -> Bool {
        guard !folding.isEmpty else { return false }
        let key = "\(r.last.plant):\(r.last.equipment):\(r.last.rule)"
        return folding.values.contains(key)
    }

    /// Restores the maintenance table as stored after a change.
    public mutating func restore(maintenance table: [String: Maintenance]) { maintenance = table }

    // MARK: The rules

    /// Applies an event of the rule engine (`raised` or `cleared`).
    public mutating func apply(_ e: AlarmEvent, into out: inout Output) {
        let key = e.alarmID
        switch e.kind {
        case .raised:
            let n = "\(e.plant):\(e.equipment):\(e.rule)"
            numbering[n] = max(numbering[n] ?? 0, e.activation)
            if let id = returned[Self.returnKey(e)], var r = open[id] {
                // Back before anyone acknowledged it: the same alarm, active again.
                r.active = true
                r.engineAlarmID = e.alarmID
                r.reactivations = (r.reactivations ?? 0) + 1
                if isFolding(r) {
                    fold(&r, content: e, into: &out)
                } else {
                    emit(&r, .raised, at: e.eventTime, content: e, into: &out)
                }
                return
            }
            if var r = open[key] {
                // The engine raised an alarm it had raised before (cannot happen with one engine):
                // keep the record, report the new content.
                r.active = true
                emit(&r, .updated, at: e.eventTime, content: e, into: &out)
                return
            }
            var r = AlarmRecord(last: e, raisedAt: e.eventTime, raisedClock: clock, active: true,
                                latched: settings.latchedRules.contains(e.rule))
            r.last.ordinal = 0
            emit(&r, .raised, at: e.eventTime, content: e, into: &out)
        case .cleared:
            // A clear for an alarm the book no longer holds (closed by a restart) changes nothing.
            guard var r = open[aliases[key] ?? key], r.active else { return }
            r.active = false
            if e.rule == AlarmEvent.chatteringRule, folding[r.id] != nil {
                // The chattering ended: what was folded is told now, then transitions flow again.
                let rule = folding.removeValue(forKey: r.id)!
                emit(&r, .cleared, at: e.eventTime, content: e, into: &out)
                flushFolded(rule: rule, at: e.eventTime, into: &out)
                return
            }
            if isFolding(r), e.state != .suppressed, derivedState(r) == .rtnUnacked {
                fold(&r, content: e, into: &out)
                return
            }
            if e.state == .suppressed, derivedState(r) == .normal {
                // The rule's gate closed under an alarm already acknowledged (or shelved, or out of
                // service): suppressed by design, closed. An unacknowledged one returns (rtn-unacked)
                // and still needs its acknowledgement: the cast that stopped because the cooling water
                // failed must still be acknowledged by someone (domain.md).
                emit(&r, .cleared, at: e.eventTime, content: e, state: .suppressed, into: &out)
            } else {
                emit(&r, .cleared, at: e.eventTime, content: e, into: &out)
            }
        default:
            guard var r = open[aliases[key] ?? key] else { return }
            emit(&r, .updated, at: e.eventTime, content: e, into: &out)
        }
    }

    // MARK: Chattering

    /// Records a transition of a chattering rule's alarm without announcing it: the record shows the
    /// current state (its last event's id stays that of the last event sent).
    private mutating func fold(_ r: inout AlarmRecord, content e: AlarmEvent, into out: inout Output) {
        var c = e
        c.kind = r.last.kind
        c.activation = r.last.activation
        c.ordinal = r.last.ordinal
        c.operator = nil
        c.note = nil
        r.last = c
        r.last.state = derivedState(r)
        r.foldedTransitions = (r.foldedTransitions ?? 0) + 1
        if r.foldedSince == nil { r.foldedSince = clock ?? e.eventTime }
        file(r)
        out.changedSilently = true
    }

    /// One `updated` per alarm of `rule` (`plant:equipment:rule`) with folded transitions: its state
    /// now and how many transitions it went through since the last event the duty room got.
    private mutating func flushFolded(rule: String?, at time: EventTime, due: EventTime? = nil, into out: inout Output) {
        let ids = open.values.filter { r in
            guard let n = r.foldedTransitions, n > 0 else { return false }
            if let rule, "\(r.last.plant):\(r.last.equipment):\(r.last.rule)" != rule { return false }
            if let due, let since = r.foldedSince, since.adding(milliseconds: Self.foldNoticeMilliseconds) > due { return false }
            return true
        }.map(\.id).sorted()
        for id in ids {
            var r = open[id]!
            let n = r.foldedTransitions ?? 0
            r.foldedTransitions = nil
            r.foldedSince = nil
            emit(&r, .updated, at: time, content: r.last,
                 note: "报警振荡，上次通知以来状态变化 \(n) 次 (chattering: \(n) transitions since the last notice)", into: &out)
        }
    }

    // MARK: The clock

    /// The daemon clock was rebased by `delta` ms because the wall clock stepped: escalations,
    /// shelves and maintenance periods keep the time they had left (an operator shelved for 30
    /// minutes, not until a reading of a clock that was wrong).
    public mutating func shiftClock(by delta: Int64) {
        guard delta != 0 else { return }
        clock = clock?.adding(milliseconds: delta)
        for id in open.keys {
            open[id]!.raisedClock = open[id]!.raisedClock?.adding(milliseconds: delta)
            open[id]!.shelvedUntil = open[id]!.shelvedUntil?.adding(milliseconds: delta)
        }
        for key in maintenance.keys { maintenance[key]!.until = maintenance[key]!.ends.adding(milliseconds: delta) }
    }

    /// The daemon clock reached `now`: maintenance periods and shelves expire, unacknowledged alarms escalate.
    public mutating func tick(_ now: EventTime, into out: inout Output) {
        clock = now
        flushFolded(rule: nil, at: now, due: now, into: &out)
        // Out of service always ends: at its end time the equipment returns by itself (keys sorted:
        // dictionary order differs between processes, events must not).
        for key in maintenance.keys.sorted() where maintenance[key]!.ends <= now {
            let m = maintenance[key]!
            let parts = key.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            returnToService(plant: parts[0], equipment: parts[1], at: m.ends, operator: nil,
                            note: "停用期满，自动恢复监测 (out of service ended at its end time)", into: &out)
        }
        var due: [(time: EventTime, id: String, escalate: Bool)] = []
        for r in open.values {
            if let until = r.shelvedUntil, until <= now { due.append((until, r.id, false)) }
            if settings.escalateAfterMilliseconds > 0, !r.escalated, r.needsAcknowledgement {
                if let raised = r.raisedClock {
                    let at = raised.adding(milliseconds: settings.escalateAfterMilliseconds)
                    if at <= now { due.append((at, r.id, true)) }
                } else {
                    open[r.id]!.raisedClock = now  // raised before the first tick: count from here
                }
            }
        }
        guard !due.isEmpty else { return }
        // Dictionary order differs between processes; events must not.
        due.sort { ($0.time, $0.id, $0.escalate ? 1 : 0) < ($1.time, $1.id, $1.escalate ? 1 : 0) }
        for d in due {
            guard var r = open[d.id] else { continue }
            if d.escalate {
                guard r.needsAcknowledgement, !r.escalated else { continue }
                r.escalated = true
                emit(&r, .escalated, at: d.time, into: &out)
            } else {
                r.shelvedBy = nil
                r.shelvedUntil = nil
                r.shelveReason = nil
                emit(&r, .unshelved, at: d.time, note: "搁置到期 (shelve expired)", into: &out)
            }
        }
    }

    /// After a restart the rules start afresh and cannot vouch for conditions they have not seen
    /// again: open alarms that are not latched return (`cleared`, cause `restart`) and are raised
    /// anew, with a new id, if the condition persists. Acknowledgement duties, latches, shelves and
    /// maintenance survive.
    public mutating func restarted(at time: EventTime, into out: inout Output) {
        for id in open.keys.sorted() {
            guard var r = open[id], r.active, !r.latched else { continue }
            r.active = false
            var content = r.last
            content.cause = "restart"
            content.message = "守护进程重启，状况待规则重新确认：\(r.last.message) (daemon restarted; the rules re-check the condition)"
            emit(&r, .cleared, at: time, content: content, into: &out)
        }
    }

    /// After a configuration reload at `time`: rules of equipment not in `carried` (`plant:equipment`,
    /// new, changed or removed) start fresh and cannot vouch for a condition they have not seen, so
    /// their open unlatched alarms return with cause `reload` (re-raised with the next id if the
    /// condition persists). Latched alarms stay until acknowledged; the daemon's own alarms are not
    /// the rules' and stay as they are. Later events carry `configHash`.
    ///
    /// `present` (`plant:equipment`, nil: not known) is every equipment of the new configuration: one
    /// that is gone from it ends its out-of-service now, so if it is added back it comes back
    /// monitored rather than silenced by a maintenance period nobody can see any more.
    public mutating func reloaded(at time: EventTime, carried: Set<String>, present: Set<String>? = nil, configHash: String, into out: inout Output) {
        settings.configHash = configHash
        if let present {
            for key in maintenance.keys.sorted() where !present.contains(key) {
                let parts = key.split(separator: ":", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { continue }
                _ = returnToService(plant: parts[0], equipment: parts[1], at: time, operator: nil,
                                    note: "设备已从配置中移除，停用结束 (equipment removed from the configuration: out of service ends)", into: &out)
            }
        }
        for id in open.keys.sorted() {
            guard var r = open[id], r.active, !r.latched, r.last.plant != SystemAlarms.plant,
                  !carried.contains("\(r.last.plant):\(r.last.equipment)") else { continue }
            r.active = false
            var content = r.last
            content.cause = "reload"
            content.configHash = configHash
            content.message = "配置已重新加载，状况待规则重新确认：\(r.last.message) (configuration reloaded; the rules re-check the condition)"
            emit(&r, .cleared, at: time, content: content, into: &out)
        }
    }

    // MARK: Operators and the daemon

    /// Applies an operator's or the daemon's action at `time`; returns the alarm it concerned.
    public mutating func perform(_ action: AlarmAction, at time: EventTime, into out: inout Output) -> Result<AlarmRecord?, AlarmActionError> {
        if let name = action.operatorName, name.trimmingSpaces.isEmpty {
            return .failure(AlarmActionError(.invalid, "operator name required (值班员姓名必填)"))
        }
        switch action {
        case .acknowledge(let id, let who, let note):
            return acknowledge(id, by: who, note: note, at: time, into: &out)
        case .shelve(let id, let who, let minutes, let reason):
            return shelve(id, by: who, minutes: minutes, reason: reason, at: time, into: &out)
        case .unshelve(let id, let who, let note):
            guard var r = open[id] else { return .failure(missing(id)) }
            guard r.shelvedUntil != nil else { return .failure(AlarmActionError(.conflict, "alarm \(id) is not shelved")) }
            r.shelvedBy = nil
            r.shelvedUntil = nil
            r.shelveReason = nil
            return .success(emit(&r, .unshelved, at: time, operator: who, note: note, into: &out))
        case .outOfService(let plant, let equipment, let who, let reason, let hours):
            guard !reason.trimmingSpaces.isEmpty else { return .failure(AlarmActionError(.invalid, "reason required (原因必填)")) }
            let limit = AlarmAction.maximumOutOfServiceHours
            let hours = hours ?? limit  // journals from before the limit: the longest allowed
            guard (1...limit).contains(hours) else {
                return .failure(AlarmActionError(.invalid, "hours must be 1…\(limit): out of service always ends (停用时长 1–\(limit) 小时)"))
            }
            let key = "\(plant):\(equipment)"
            if let m = maintenance[key] {
                return .failure(AlarmActionError(.conflict, "\(plant)/\(equipment) is already out of service until \(m.ends.rfc3339) (by \(m.operator)): return it to service first"))
            }
            let n = (numbering["\(key):\(Maintenance.rule)"] ?? 0) + 1
            numbering["\(key):\(Maintenance.rule)"] = n
            let m = Maintenance(operator: who, reason: reason, since: time, until: time.adding(milliseconds: Int64(hours) * 3_600_000), number: n)
            maintenance[key] = m
            out.maintenance = maintenance
            announce(.outOfService, plant: plant, equipment: equipment, m, at: time, operator: who, note: reason, into: &out)
            restate(plant: plant, equipment: equipment, at: time, operator: who, note: reason, into: &out)
            return .success(nil)
        case .returnToService(let plant, let equipment, let who, let note):
            guard returnToService(plant: plant, equipment: equipment, at: time, operator: who, note: note, into: &out) else {
                return .failure(AlarmActionError(.conflict, "\(plant)/\(equipment) is not out of service"))
            }
            return .success(nil)
        case .system(let rule, let raise, let subject, let message):
            return .success(system(rule: rule, raise: raise, subject: subject, message: message, at: time, into: &out))
        case .hazard:
            // The stage hands these to the hazard desk; a book alone has no hazards.
            return .failure(AlarmActionError(.unavailable, "hazard actions are applied by the hazard desk, not the alarm book"))
        }
    }

    private mutating func acknowledge(_ id: String, by who: String, note: String?, at time: EventTime, into out: inout Output) -> Result<AlarmRecord?, AlarmActionError> {
        guard var r = open[id] else {
            if let c = record(id) {
                return .failure(AlarmActionError(.conflict, "alarm \(id) is already back to normal (acknowledged by \(c.acknowledgedBy ?? "nobody"))"))
            }
            return .failure(missing(id))
        }
        guard r.acknowledgedBy == nil else {
            return .failure(AlarmActionError(.conflict, "alarm \(id) was already acknowledged by \(r.acknowledgedBy!)"))
        }
        r.acknowledgedBy = who
        r.acknowledgedAt = time
        r.ackNote = note
        if r.latched, r.active {
            // The acknowledgement is what ends a latched alarm; the rule may raise a new one.
            r.active = false
            out.releases.append(r.key)
        }
        return .success(emit(&r, .acknowledged, at: time, operator: who, note: note, into: &out))
    }

    private mutating func shelve(_ id: String, by who: String, minutes: Int, reason: String, at time: EventTime, into out: inout Output) -> Result<AlarmRecord?, AlarmActionError> {
        guard (1...Self.maximumShelve).contains(minutes) else {
            return .failure(AlarmActionError(.invalid, "minutes must be 1…\(Self.maximumShelve) (搁置时长超出范围)"))
        }
        guard !reason.trimmingSpaces.isEmpty else { return .failure(AlarmActionError(.invalid, "reason required (搁置原因必填)")) }
        guard var r = open[id] else { return .failure(record(id) == nil ? missing(id) : AlarmActionError(.conflict, "alarm \(id) is already back to normal")) }
        guard !r.latched else {
            return .failure(AlarmActionError(.conflict, "alarm \(id) is latched (\(r.last.rule)): acknowledge it, it cannot be shelved (联锁失效不可搁置)"))
        }
        guard r.last.priority != .emergency else {
            // ISA-18.2: shelving is for nuisance alarms; an emergency alarm that is a nuisance has a
            // wrong limit, and the fix is in the config, not on the duty room's screen.
            return .failure(AlarmActionError(.conflict, "alarm \(id) is an emergency alarm and cannot be shelved: acknowledge it, and if it is a nuisance correct its limit in the config (紧急报警不可搁置)"))
        }
        r.shelvedBy = who
        r.shelvedUntil = time.adding(milliseconds: Int64(minutes) * 60_000)
        r.shelveReason = reason
        return .success(emit(&r, .shelved, at: time, operator: who, note: reason, into: &out))
    }

    private static let maximumShelve = AlarmAction.maximumShelveMinutes

    /// Ends the equipment's maintenance (an operator, or `nil`: its end time); false when it was in service.
    @discardableResult
    private mutating func returnToService(plant: String, equipment: String, at time: EventTime, operator who: String?,
                                          note: String?, into out: inout Output) -> Bool {
        guard let m = maintenance.removeValue(forKey: "\(plant):\(equipment)") else { return false }
        out.maintenance = maintenance
        announce(.inService, plant: plant, equipment: equipment, m, at: time, operator: who, note: note, into: &out)
        restate(plant: plant, equipment: equipment, at: time, operator: who, note: note, into: &out)
        return true
    }

    /// The event that tells the duty room a maintenance period began or ended: rule `out-of-service`,
    /// `alarm_id` `<plant>:<equipment>:out-of-service:<n>` (n counts the equipment's periods), event 1
    /// the start (state `out-of-service`), event 2 the end (state `normal`). Not an alarm: nothing to
    /// acknowledge, so it is announced and filed, never held open.
    private mutating func announce(_ kind: AlarmEvent.Kind, plant: String, equipment: String, _ m: Maintenance,
                                   at time: EventTime, operator who: String?, note: String?, into out: inout Output) {
        let start = kind == .outOfService
        let hours = Double(m.ends.milliseconds(since: m.since)) / 3_600_000
        let message = start
            ? "设备停用检修至 \(m.ends.rfc3339)：\(m.reason)，期间报警不通知值班室 (out of service until \(m.ends.rfc3339): its alarms are recorded, not annunciated)"
            : "设备恢复监测 (back in service after \(JSONWriter.format((hours * 100).rounded() / 100)) h out of service)"
        let e = AlarmEvent(
            kind: kind, state: start ? .outOfService : .normal, alarmClass: .device, rule: Maintenance.rule, priority: .medium,
            plant: plant, equipment: equipment, activation: m.number ?? 1, ordinal: start ? 1 : 2, signals: [],
            value: start ? hours : nil, limit: Double(AlarmAction.maximumOutOfServiceHours), unit: "h", cause: m.reason,
            basis: SystemAlarms.basis, message: message, eventTime: time, configHash: settings.configHash,
            operator: who, note: note
        )
        let r = AlarmRecord(last: e, raisedAt: m.since, raisedClock: nil, active: false, latched: false)
        out.events.append(e)
        out.records.append(r)
    }

    /// Re-derives the state of every open alarm of the equipment after a maintenance switch.
    private mutating func restate(plant: String, equipment: String, at time: EventTime, operator who: String?, note: String?, into out: inout Output) {
        let ids = open.values.filter { $0.last.plant == plant && $0.last.equipment == equipment }.map(\.id).sorted()
        for id in ids {
            var r = open[id]!
            guard derivedState(r) != r.state else { continue }
            emit(&r, .updated, at: time, operator: who, note: note, into: &out)
        }
    }

    private mutating func system(rule: String, raise: Bool, subject: String, message: String, at time: EventTime, into out: inout Output) -> AlarmRecord? {
        let current = open.values.filter { $0.last.rule == rule && $0.last.plant == SystemAlarms.plant && $0.last.cause == subject && $0.active }
            .min { $0.id < $1.id }
        if raise {
            if let current { return current }
            let n = "\(SystemAlarms.plant):\(settings.systemEquipment):\(rule)"
            let activation = (numbering[n] ?? 0) + 1
            let event = AlarmEvent(
                kind: .raised, state: .activeUnacked, alarmClass: .system, rule: rule, priority: SystemAlarms.priority(rule),
                plant: SystemAlarms.plant, equipment: settings.systemEquipment, activation: activation, ordinal: 0, signals: [],
                cause: subject, basis: SystemAlarms.basis, message: message, eventTime: time, configHash: settings.configHash
            )
            apply(event, into: &out)
            return open[event.alarmID]
        }
        guard var r = current else { return nil }
        r.active = false
        var content = r.last
        content.message = message
        return emit(&r, .cleared, at: time, content: content, into: &out)
    }

    private func missing(_ id: String) -> AlarmActionError { AlarmActionError(.notFound, "no alarm \(id)") }

    // MARK: Events

    /// The state the record's facts imply.
    func derivedState(_ r: AlarmRecord) -> AlarmEvent.State {
        let acknowledged = r.acknowledgedBy != nil
        let outOfService = maintenance["\(r.last.plant):\(r.last.equipment)"] != nil
        if !r.active, acknowledged || r.shelvedUntil != nil || outOfService { return .normal }
        if outOfService { return .outOfService }
        if r.shelvedUntil != nil { return .shelved }
        if r.active { return acknowledged ? .activeAcked : .activeUnacked }
        return .rtnUnacked
    }

    /// Appends the alarm's next event and files the record (closed once normal).
    @discardableResult
    private mutating func emit(_ r: inout AlarmRecord, _ kind: AlarmEvent.Kind, at time: EventTime, content: AlarmEvent? = nil,
                               state: AlarmEvent.State? = nil, operator who: String? = nil, note: String? = nil,
                               into out: inout Output) -> AlarmRecord {
        var e = content ?? r.last
        e.kind = kind
        e.activation = r.last.activation
        e.ordinal = r.last.ordinal + 1
        e.eventTime = time
        e.operator = who
        e.note = note
        // The book's own events (operators, clock) carry the config in force; the rules' carry theirs.
        if content == nil { e.configHash = settings.configHash }
        e.state = state ?? derivedState(r)
        r.last = e
        out.events.append(e)
        out.records.append(r)
        if e.state == .normal || e.state == .suppressed {
            unfile(r.id)
            closed.append(r)
            if closed.count > Self.closedKept { closed.removeFirst(closed.count - Self.closedKept) }
        } else {
            file(r)
        }
        return r
    }
}

/// The daemon's alarms about itself (class `system`): plant `meltwatch`, equipment `daemon`.
public enum SystemAlarms {
    public static let plant = "meltwatch"
    public static let equipment = "daemon"
    /// A monitoring system that cannot record or deliver is failing its duty.
    public static let basis = "令10 第十四条"

    /// The priority of each system rule: losing the broker or the journal blinds the monitor.
    public static func priority(_ rule: String) -> AlarmEvent.Priority {
        switch rule {
        case "journal-failed", "journal-integrity", "broker-lost": .emergency
        default: .high
        }
    }
}

