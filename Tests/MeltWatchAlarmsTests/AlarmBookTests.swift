import MeltWatchCore
import Testing

@testable import MeltWatchAlarms

/// The rule engine's event for `rule` on equipment `eq` (activation `n`) at second `s`.
/// Emergency priority unless `priority` says otherwise (emergency alarms cannot be shelved).
private func rule(_ kind: AlarmEvent.Kind, _ rule: String = "flow-difference", n: Int = 1, at s: Int64, eq: String = "bof1-lance",
                  cls: AlarmEvent.AlarmClass = .process, message: String = "进出水流量差 4.1 m3/h > 3.0 m3/h",
                  priority: AlarmEvent.Priority = .emergency) -> AlarmEvent {
    AlarmEvent(kind: kind, state: kind == .raised ? .activeUnacked : .rtnUnacked, alarmClass: cls, rule: rule, priority: priority,
               plant: "baotou-steel", equipment: eq, activation: n, ordinal: kind == .raised ? 1 : 2, signals: ["inlet_flow", "outlet_flow"],
               value: 4.1, limit: 3.0, unit: "m3/h", basis: "令10 第四条(四)", message: message,
               eventTime: t(s), configHash: "sha256:rules")
}

private func t(_ s: Int64) -> EventTime { EventTime(milliseconds: 1_763_884_800_000 + s * 1000) }

private let id1 = "baotou-steel:bof1-lance:flow-difference:1"

/// A book and the events it produced, step by step.
private struct Desk {
    var book = AlarmBook(settings: .init(escalateAfterMilliseconds: 300_000, configHash: "sha256:book"))
    var events: [AlarmEvent] = []
    var releases: [AlarmKey] = []

    mutating func engine(_ e: AlarmEvent) {
        var out = AlarmBook.Output()
        book.apply(e, into: &out)
        take(out)
    }

    @discardableResult
    mutating func act(_ a: AlarmAction, at s: Int64) -> Result<AlarmRecord?, AlarmActionError> {
        var out = AlarmBook.Output()
        let r = book.perform(a, at: t(s), into: &out)
        take(out)
        return r
    }

    mutating func tick(_ s: Int64) {
        var out = AlarmBook.Output()
        book.tick(t(s), into: &out)
        take(out)
    }

    private mutating func take(_ out: AlarmBook.Output) {
        #expect(out.events.count == out.records.count, "every event comes with the alarm after it")
        events += out.events
        releases += out.releases
    }

    var trail: [String] { events.map { "\($0.kind.rawValue)/\($0.state.rawValue)" } }
    func error(_ r: Result<AlarmRecord?, AlarmActionError>) -> AlarmActionError.Code? {
        if case .failure(let e) = r { return e.code }
        return nil
    }
}

@Suite("Alarm lifecycle (ISA-18.2): the alarm book")
struct AlarmBookTests {
    @Test("acknowledged while active, then cleared: active-unacked → active-acked → normal; the acknowledgement names the operator")
    func ackThenClear() {
        var d = Desk()
        d.tick(0)
        d.engine(rule(.raised, at: 1))
        d.act(.acknowledge(alarmID: id1, operator: "张三", note: "已通知炉长"), at: 5)
        d.engine(rule(.cleared, at: 9, message: "流量差恢复"))
        #expect(d.trail == ["raised/active-unacked", "acknowledged/active-acked", "cleared/normal"])
        #expect(d.events.map(\.eventID) == [id1 + ":1", id1 + ":2", id1 + ":3"])
        #expect(d.events[1].operator == "张三" && d.events[1].note == "已通知炉长" && d.events[1].eventTime == t(5))
        #expect(d.events[1].configHash == "sha256:book" && d.events[0].configHash == "sha256:rules")
        #expect(d.events[2].message == "流量差恢复")
        #expect(d.book.open.isEmpty && d.book.closed.map(\.id) == [id1])
    }

    @Test("cleared before anyone acknowledged: rtn-unacked stays on the board until acknowledged")
    func returnToNormalNeedsAck() {
        var d = Desk()
        d.engine(rule(.raised, at: 1))
        d.engine(rule(.cleared, at: 2))
        #expect(d.book.open[id1]?.state == .rtnUnacked)
        d.act(.acknowledge(alarmID: id1, operator: "李四", note: nil), at: 3)
        #expect(d.trail == ["raised/active-unacked", "cleared/rtn-unacked", "acknowledged/normal"])
        #expect(d.book.open.isEmpty)
    }

    @Test("refusals: unknown alarm 404, second acknowledgement 409, blank operator 400; nothing emitted")
    func refusals() {
        var d = Desk()
        d.engine(rule(.raised, at: 1))
        #expect(d.error(d.act(.acknowledge(alarmID: "nope:x:y:1", operator: "张三", note: nil), at: 2)) == .notFound)
        #expect(d.error(d.act(.acknowledge(alarmID: id1, operator: "  ", note: nil), at: 2)) == .invalid)
        d.act(.acknowledge(alarmID: id1, operator: "张三", note: nil), at: 3)
        #expect(d.error(d.act(.acknowledge(alarmID: id1, operator: "王五", note: nil), at: 4)) == .conflict)
        #expect(d.error(d.act(.unshelve(alarmID: id1, operator: "王五", note: nil), at: 4)) == .conflict)
        #expect(d.trail == ["raised/active-unacked", "acknowledged/active-acked"])
    }

    @Test("an interlock failure latches until acknowledged; the acknowledgement ends it and releases the rule")
    func latchedInterlockFailure() {
        var d = Desk()
        d.engine(rule(.raised, "interlock-failed", at: 1, cls: .interlock))
        let id = "baotou-steel:bof1-lance:interlock-failed:1"
        #expect(d.book.open[id]?.latched == true)
        #expect(d.error(d.act(.shelve(alarmID: id, operator: "张三", minutes: 30, reason: "误报"), at: 2)) == .conflict)
        d.act(.acknowledge(alarmID: id, operator: "张三", note: "提枪已手动确认"), at: 3)
        #expect(d.trail == ["raised/active-unacked", "acknowledged/normal"])
        #expect(d.releases == [AlarmKey(plant: "baotou-steel", equipment: "bof1-lance", rule: "interlock-failed")])
        #expect(d.book.open.isEmpty)
    }

    @Test("shelved: hidden until its expiry, then unshelved at the expiry time and back as it stands", arguments: [1, 30, 1440])
    func shelveExpires(minutes: Int) {
        var d = Desk()
        d.tick(0)
        d.engine(rule(.raised, at: 1, priority: .high))
        d.act(.shelve(alarmID: id1, operator: "张三", minutes: minutes, reason: "检修中的流量计"), at: 10)
        #expect(d.book.open[id1]?.state == .shelved)
        let expiry = 10 + Int64(minutes) * 60
        d.tick(expiry - 1)
        #expect(d.trail == ["raised/active-unacked", "shelved/shelved"])
        d.tick(expiry + 5)
        #expect(d.trail.suffix(1) == ["unshelved/active-unacked"])
        #expect(d.events.last?.eventTime == t(expiry))
        #expect(d.events[1].note == "检修中的流量计" && d.events[1].operator == "张三")
    }

    @Test("shelve limits: 0 and more than a day are refused, a reason is required", arguments: [0, 1441, -5])
    func shelveLimits(minutes: Int) {
        var d = Desk()
        d.engine(rule(.raised, at: 1, priority: .high))
        #expect(d.error(d.act(.shelve(alarmID: id1, operator: "张三", minutes: minutes, reason: "r"), at: 2)) == .invalid)
        #expect(d.error(d.act(.shelve(alarmID: id1, operator: "张三", minutes: 30, reason: " "), at: 2)) == .invalid)
        #expect(d.book.open[id1]?.state == .activeUnacked)
    }

    @Test("a shelved alarm whose condition clears goes back to normal without acknowledgement")
    func shelvedClears() {
        var d = Desk()
        d.engine(rule(.raised, at: 1, priority: .high))
        d.act(.shelve(alarmID: id1, operator: "张三", minutes: 30, reason: "r"), at: 2)
        d.engine(rule(.cleared, at: 3, priority: .high))
        #expect(d.trail == ["raised/active-unacked", "shelved/shelved", "cleared/normal"])
    }

    @Test("escalation: unacknowledged for escalate_after on the daemon clock → one escalated event; acknowledged ones never")
    func escalation() {
        var d = Desk()
        d.tick(0)
        d.engine(rule(.raised, at: 1))
        d.engine(rule(.raised, "co-level-1", at: 2, eq: "co-1"))
        d.act(.acknowledge(alarmID: "baotou-steel:co-1:co-level-1:1", operator: "张三", note: nil), at: 3)
        d.tick(299)
        #expect(!d.trail.contains { $0.hasPrefix("escalated") })
        d.tick(300)
        d.tick(900)
        #expect(d.trail == ["raised/active-unacked", "raised/active-unacked", "acknowledged/active-acked", "escalated/active-unacked"])
        #expect(d.events.last?.alarmID == id1 && d.events.last?.eventTime == t(300))
        #expect(d.book.open[id1]?.escalated == true)
    }

    @Test("a step of the wall clock (±1 h): escalations and shelves keep the time they had left", arguments: [3_600, -3_600] as [Int64])
    func clockStep(step: Int64) {
        var d = Desk()
        d.tick(0)
        d.engine(rule(.raised, at: 1))
        d.engine(rule(.raised, "co-level-1", at: 2, eq: "co-1", priority: .high))
        d.act(.shelve(alarmID: "baotou-steel:co-1:co-level-1:1", operator: "张三", minutes: 10, reason: "标定"), at: 3)
        d.tick(100)
        d.book.shiftClock(by: step * 1000)
        // 100 s had passed; the clock now reads 100 s + step.
        d.tick(step + 101)
        d.tick(step + 299)
        #expect(!d.trail.contains { $0.hasPrefix("escalated") || $0.hasPrefix("unshelved") }, "nothing early after the step: \(d.trail)")
        d.tick(step + 300)
        #expect(d.trail.last == "escalated/active-unacked")
        #expect(d.events.last?.eventTime == t(step + 300))
        d.tick(step + 602)
        #expect(!d.trail.contains { $0.hasPrefix("unshelved") })
        d.tick(step + 603)
        #expect(d.trail.last == "unshelved/active-unacked")
    }

    @Test("out of service: the equipment's alarms are recorded as out-of-service, clear without ack, and come back on return")
    func outOfService() {
        var d = Desk()
        d.engine(rule(.raised, at: 1))
        #expect(d.error(d.act(.outOfService(plant: "baotou-steel", equipment: "bof1-lance", operator: "张三", reason: "", hours: 8), at: 2)) == .invalid)
        d.act(.outOfService(plant: "baotou-steel", equipment: "bof1-lance", operator: "张三", reason: "换枪检修", hours: 8), at: 2)
        d.engine(rule(.raised, "inlet-flow-low", at: 3))
        d.engine(rule(.cleared, at: 4))
        d.act(.returnToService(plant: "baotou-steel", equipment: "bof1-lance", operator: "张三", note: "检修完毕"), at: 5)
        #expect(d.trail == ["raised/active-unacked", "out-of-service/out-of-service", "updated/out-of-service", "raised/out-of-service",
                            "cleared/normal", "in-service/normal", "updated/active-unacked"])
        #expect(d.events[1].operator == "张三" && d.events[1].note == "换枪检修")
        #expect(d.events[2].operator == "张三" && d.events[2].note == "换枪检修")
        #expect(d.book.maintenance.isEmpty)
        #expect(d.error(d.act(.returnToService(plant: "baotou-steel", equipment: "bof1-lance", operator: "张三", note: nil), at: 6)) == .conflict)
    }

    @Test("out of service always ends: 1–168 h, refused outside; at its end time the equipment returns by itself, as events")
    func outOfServiceEnds() throws {
        var d = Desk()
        d.tick(0)
        for hours in [0, 169, -1] {
            #expect(d.error(d.act(.outOfService(plant: "baotou-steel", equipment: "bof1-lance", operator: "张三", reason: "检修", hours: hours), at: 1)) == .invalid)
        }
        d.engine(rule(.raised, at: 1))
        d.act(.outOfService(plant: "baotou-steel", equipment: "bof1-lance", operator: "张三", reason: "换枪检修", hours: 2), at: 10)
        let m = try #require(d.book.maintenance["baotou-steel:bof1-lance"])
        #expect(m.until == t(10 + 7200))
        #expect(d.error(d.act(.outOfService(plant: "baotou-steel", equipment: "bof1-lance", operator: "李四", reason: "再检修", hours: 1), at: 20)) == .conflict)
        let start = try #require(d.events.first { $0.kind == .outOfService })
        #expect(start.eventID == "baotou-steel:bof1-lance:out-of-service:1:1")
        #expect(start.value == 2 && start.unit == "h" && start.cause == "换枪检修" && start.alarmClass == .device)
        #expect(start.message.contains(t(7210).rfc3339))
        #expect(d.book.maintenance["baotou-steel:bof1-lance"]?.ends == t(7210))
        d.tick(7209)
        #expect(!d.events.contains { $0.kind == .inService })
        d.tick(7300)  // the clock passes the end time: back in service at the end time itself
        let end = try #require(d.events.first { $0.kind == .inService })
        #expect(end.eventID == "baotou-steel:bof1-lance:out-of-service:1:2")
        #expect(end.eventTime == t(7210) && end.operator == nil && end.state == .normal)
        #expect(d.book.maintenance.isEmpty)
        #expect(d.book.open[id1]?.state == .activeUnacked)  // the alarm is annunciated again
        // The next period is the next number; announcements are never held open or restored as alarms.
        d.act(.outOfService(plant: "baotou-steel", equipment: "bof1-lance", operator: "张三", reason: "再检修", hours: 1), at: 7400)
        #expect(d.events.last { $0.kind == .outOfService }?.alarmID == "baotou-steel:bof1-lance:out-of-service:2")
        #expect(!d.book.open.keys.contains { $0.contains("out-of-service") })
        var resumed = AlarmBook(settings: d.book.settings)
        for (e, r) in zip(d.events, d.events.map { AlarmRecord(last: $0, raisedAt: $0.eventTime, active: false, latched: false) }) where e.rule == "out-of-service" {
            resumed.restore(r)
        }
        #expect(resumed.open.isEmpty)
    }

    @Test("a maintenance journaled before out of service had an end is read as the longest allowed (168 h)")
    func legacyOutOfService() throws {
        let legacy = #"{"outOfService":{"plant":"p","equipment":"e","operator":"o","reason":"r"}}"#
        let action = try #require(AlarmAction(encoded: Array(legacy.utf8)))
        #expect(action == .outOfService(plant: "p", equipment: "e", operator: "o", reason: "r", hours: nil))
        var d = Desk()
        d.act(action, at: 0)
        #expect(d.book.maintenance["p:e"]?.until == t(168 * 3600))
    }

    @Test("the gate closes under an acknowledged alarm: suppressed by design, closed at once")
    func suppressed() {
        var d = Desk()
        d.engine(rule(.raised, at: 1))
        d.act(.acknowledge(alarmID: id1, operator: "张三", note: nil), at: 2)
        var clear = rule(.cleared, at: 3)
        clear.state = .suppressed
        d.engine(clear)
        #expect(d.trail == ["raised/active-unacked", "acknowledged/active-acked", "cleared/suppressed"])
        #expect(d.book.open.isEmpty)
    }

    @Test("the gate closes under an unacknowledged emergency alarm: it returns (rtn-unacked), escalates and still needs its acknowledgement")
    func gateClosedUnacknowledged() {
        var d = Desk()
        d.tick(0)
        d.engine(rule(.raised, "cooling-flow-low", at: 1, eq: "cast1"))  // the cast stopped because the water failed
        var clear = rule(.cleared, "cooling-flow-low", at: 2, eq: "cast1")
        clear.state = .suppressed
        d.engine(clear)
        let id = "baotou-steel:cast1:cooling-flow-low:1"
        #expect(d.trail == ["raised/active-unacked", "cleared/rtn-unacked"])
        #expect(d.book.open[id]?.needsAcknowledgement == true)
        d.tick(400)
        #expect(d.trail.last == "escalated/rtn-unacked")
        d.act(.acknowledge(alarmID: id, operator: "张三", note: "铸造已停止"), at: 401)
        #expect(d.trail.last == "acknowledged/normal")
        #expect(d.book.open.isEmpty)
    }

    @Test("emergency alarms cannot be shelved: 409 naming why, the alarm unchanged; high ones can")
    func emergencyNotShelvable() throws {
        var d = Desk()
        d.engine(rule(.raised, at: 1))
        let refused = d.act(.shelve(alarmID: id1, operator: "张三", minutes: 30, reason: "误报"), at: 2)
        guard case .failure(let e) = refused else { Issue.record("an emergency alarm was shelved"); return }
        #expect(e.code == .conflict)
        #expect(e.message.contains("emergency") && e.message.contains("紧急报警不可搁置"))
        #expect(d.book.open[id1]?.state == .activeUnacked)
        d.engine(rule(.raised, "outlet-temp-high", at: 3, priority: .high))
        let high = "baotou-steel:bof1-lance:outlet-temp-high:1"
        #expect(d.error(d.act(.shelve(alarmID: high, operator: "张三", minutes: 30, reason: "探头标定"), at: 4)) == nil)
        #expect(d.book.open[high]?.state == .shelved)
    }

    @Test("system alarms: one per rule and subject while active; cleared by the daemon; numbered on")
    func systemAlarms() {
        var d = Desk()
        d.act(.system(rule: "webhook-failing", raise: true, subject: "http://a", message: "失败 a"), at: 1)
        d.act(.system(rule: "webhook-failing", raise: true, subject: "http://a", message: "失败 a"), at: 2)
        d.act(.system(rule: "webhook-failing", raise: true, subject: "http://b", message: "失败 b"), at: 3)
        d.act(.system(rule: "webhook-failing", raise: false, subject: "http://a", message: "恢复 a"), at: 4)
        #expect(d.events.map(\.eventID) == ["meltwatch:daemon:webhook-failing:1:1", "meltwatch:daemon:webhook-failing:2:1",
                                            "meltwatch:daemon:webhook-failing:1:2"])
        #expect(d.events.allSatisfy { $0.alarmClass == .system && $0.basis == "令10 第十四条" })
        #expect(d.events[2].state == .rtnUnacked && d.events[2].message == "恢复 a")
    }

    @Test("restart: unlatched active alarms return (cause restart), latched ones, shelves and maintenance survive; numbering continues")
    func restart() throws {
        var d = Desk()
        d.tick(0)
        d.engine(rule(.raised, n: 3, at: 1))
        d.engine(rule(.raised, "interlock-failed", n: 2, at: 2, cls: .interlock))
        d.engine(rule(.raised, "co-level-1", at: 3, eq: "co-1"))
        d.engine(rule(.cleared, "co-level-1", at: 4, eq: "co-1"))
        d.act(.outOfService(plant: "baotou-steel", equipment: "eaf-roof", operator: "张三", reason: "检修", hours: 8), at: 5)
        let snapshot = d.book.snapshot
        var resumed = AlarmBook(settings: d.book.settings, snapshot: snapshot)
        #expect(resumed.snapshot == snapshot)
        var out = AlarmBook.Output()
        resumed.restarted(at: t(60), into: &out)
        #expect(out.events.map { "\($0.alarmID) \($0.kind.rawValue)/\($0.state.rawValue) \($0.cause ?? "-")" }
            == ["baotou-steel:bof1-lance:flow-difference:3 cleared/rtn-unacked restart"])
        #expect(resumed.open.count == 3)  // flow-difference rtn-unacked, interlock-failed latched, co rtn-unacked
        #expect(resumed.maintenance.keys.sorted() == ["baotou-steel:eaf-roof"])
        let numbering = Dictionary(uniqueKeysWithValues: resumed.resumption.map { ("\($0.key)", ($0.activations, $0.latchedOpen)) })
        #expect(numbering["baotou-steel:bof1-lance:flow-difference"]! == (3, false))
        #expect(numbering["baotou-steel:bof1-lance:interlock-failed"]! == (2, true))
    }

    @Test("reload: open alarms of equipment whose rules start fresh return (cause reload, new hash); carried, latched and system alarms stay")
    func reload() throws {
        var d = Desk()
        d.tick(0)
        d.engine(rule(.raised, at: 1))                                              // bof1-lance: changed by the reload
        d.engine(rule(.raised, "co-level-1", at: 2, eq: "co-1"))                    // co-1: carried over
        d.engine(rule(.raised, "interlock-failed", at: 3, eq: "eaf-roof", cls: .interlock))  // latched, equipment removed
        d.act(.system(rule: "broker-lost", raise: true, subject: "mqtt://127.0.0.1:1883", message: "断开"), at: 4)
        var out = AlarmBook.Output()
        d.book.reloaded(at: t(10), carried: ["baotou-steel:co-1"], configHash: "sha256:new", into: &out)
        #expect(out.events.map { "\($0.alarmID) \($0.kind.rawValue)/\($0.state.rawValue) \($0.cause ?? "-") \($0.configHash)" }
            == ["\(id1) cleared/rtn-unacked reload sha256:new"])
        #expect(out.events.first?.eventTime == t(10))
        #expect(d.book.open.count == 4, "the returned alarm still waits for its acknowledgement")
        #expect(d.book.open.values.filter { $0.active }.map(\.last.rule).sorted() == ["broker-lost", "co-level-1", "interlock-failed"])
        d.act(.acknowledge(alarmID: id1, operator: "张三", note: nil), at: 11)
        #expect(d.events.last?.configHash == "sha256:new", "the book's own events carry the new hash")
    }

    @Test("reload: equipment out of service and gone from the new configuration returns to service (in-service event); present equipment stays out")
    func reloadEndsMaintenanceOfRemovedEquipment() throws {
        var d = Desk()
        d.tick(0)
        d.act(.outOfService(plant: "baotou-steel", equipment: "co-1", operator: "王五", reason: "更换探头", hours: 8), at: 1)
        d.act(.outOfService(plant: "baotou-steel", equipment: "bof1-lance", operator: "王五", reason: "换枪", hours: 8), at: 2)
        var out = AlarmBook.Output()
        d.book.reloaded(at: t(10), carried: ["baotou-steel:bof1-lance"], present: ["baotou-steel:bof1-lance"], configHash: "sha256:new", into: &out)
        #expect(out.events.map { "\($0.equipment) \($0.kind.rawValue)" } == ["co-1 in-service"])
        #expect(out.events.first?.note?.contains("removed from the configuration") == true)
        #expect(d.book.maintenance.keys.sorted() == ["baotou-steel:bof1-lance"])
    }

    @Test("the operator action survives the journal: encoded and decoded unchanged", arguments: [
        AlarmAction.acknowledge(alarmID: "p:e:r:1", operator: "张三", note: nil),
        .shelve(alarmID: "p:e:r:1", operator: "张三", minutes: 30, reason: "检修 \"引号\""),
        .outOfService(plant: "p", equipment: "e", operator: "o", reason: "r", hours: 8),
        .system(rule: "broker-lost", raise: true, subject: "mqtt://127.0.0.1:1883", message: "断开"),
    ])
    func actionRoundTrip(action: AlarmAction) {
        #expect(AlarmAction(encoded: action.encoded()) == action)
        #expect(AlarmAction(encoded: Array("{\"nonsense\":1}".utf8)) == nil)
    }
}

/// The engine's `chattering` event about `rule` on `eq` (its cause names the rule).
private func chatter(_ kind: AlarmEvent.Kind, about rule: String = "flow-difference", n: Int = 1, at s: Int64,
                     eq: String = "bof1-lance") -> AlarmEvent {
    AlarmEvent(kind: kind, state: kind == .raised ? .activeUnacked : .rtnUnacked, alarmClass: .device, rule: "chattering",
               priority: .low, plant: "baotou-steel", equipment: eq, activation: n, ordinal: kind == .raised ? 1 : 2,
               signals: ["inlet_flow", "outlet_flow"], value: 3, limit: 3, unit: nil, cause: rule, basis: "令10 第十四条",
               message: "报警振荡", eventTime: t(s), configHash: "sha256:rules")
}

@Suite("Floods the duty room can live with: re-activation and chattering (domain.md)")
struct AlarmFloodTests {
    @Test("back before anyone acknowledged it: the same alarm raised again, not a new one; after ack and return a new id starts")
    func reactivationKeepsTheAlarm() {
        var d = Desk()
        d.tick(0)
        d.engine(rule(.raised, n: 1, at: 1))
        d.engine(rule(.cleared, n: 1, at: 2))
        d.engine(rule(.raised, n: 2, at: 3))
        d.engine(rule(.cleared, n: 2, at: 4))
        #expect(d.events.map(\.eventID) == [id1 + ":1", id1 + ":2", id1 + ":3", id1 + ":4"])
        #expect(d.trail == ["raised/active-unacked", "cleared/rtn-unacked", "raised/active-unacked", "cleared/rtn-unacked"])
        #expect(d.book.open.count == 1 && d.book.open[id1]?.reactivations == 1)
        d.engine(rule(.raised, n: 3, at: 5))
        d.act(.acknowledge(alarmID: id1, operator: "张三", note: nil), at: 6)
        d.engine(rule(.cleared, n: 3, at: 7))  // the engine's third activation clears the one alarm
        #expect(d.book.open.isEmpty, "acknowledged and back to normal: closed")
        d.engine(rule(.raised, n: 4, at: 8))
        #expect(d.events.last?.alarmID == "baotou-steel:bof1-lance:flow-difference:4" && d.events.last?.ordinal == 1)
        #expect(d.book.open.count == 1)
    }

    @Test("an acknowledged alarm that returns is closed: the next activation is a new alarm")
    func acknowledgedThenReturnedIsNew() {
        var d = Desk()
        d.engine(rule(.raised, n: 1, at: 1))
        d.act(.acknowledge(alarmID: id1, operator: "张三", note: nil), at: 2)
        d.engine(rule(.cleared, n: 1, at: 3))
        d.engine(rule(.raised, n: 2, at: 4))
        #expect(d.events.map(\.alarmID).last == "baotou-steel:bof1-lance:flow-difference:2")
    }

    @Test("two signals' alarms of one rule stay two alarms; re-activation matches the signals too")
    func reactivationMatchesSignals() {
        var d = Desk()
        var a = rule(.raised, "stale", n: 1, at: 1, cls: .device)
        a.signals = ["inlet_flow"]
        var b = rule(.raised, "stale", n: 2, at: 2, cls: .device)
        b.signals = ["outlet_flow"]
        d.engine(a)
        var ca = a
        ca.kind = .cleared
        ca.eventTime = t(3)
        d.engine(ca)
        d.engine(b)
        #expect(Set(d.book.open.keys) == ["baotou-steel:bof1-lance:stale:1", "baotou-steel:bof1-lance:stale:2"])
        var a3 = a
        a3.activation = 3
        a3.eventTime = t(4)
        d.engine(a3)
        #expect(d.events.last?.eventID == "baotou-steel:bof1-lance:stale:1:3" && d.book.open.count == 2)
    }

    @Test("re-activation escalates the alarm once, counted from its first raise")
    func reactivationEscalatesOnce() {
        var d = Desk()
        d.tick(0)
        for k in 0..<20 {
            d.engine(rule(.raised, n: k + 1, at: Int64(k * 30 + 1)))
            d.engine(rule(.cleared, n: k + 1, at: Int64(k * 30 + 2)))
            d.tick(Int64(k * 30 + 29))
        }
        #expect(d.events.filter { $0.kind == .escalated }.map(\.eventTime) == [t(300)])
        #expect(Set(d.events.map(\.alarmID)) == [id1])
    }

    @Test("chattering folds: transitions recorded, not sent; one `updated` a minute with the count; told in full when it ends")
    func chatteringFolds() throws {
        var d = Desk()
        d.tick(0)
        for (k, s) in [1, 3, 5].enumerated() {
            d.engine(rule(.raised, n: k + 1, at: Int64(s)))
            if k < 2 { d.engine(rule(.cleared, n: k + 1, at: Int64(s + 1))) }
        }
        d.engine(chatter(.raised, at: 5))
        let sent = d.events.count
        #expect(sent == 6)  // 3 raised, 2 cleared, chattering raised
        d.tick(6)
        d.engine(rule(.cleared, n: 3, at: 6))
        d.engine(rule(.raised, n: 4, at: 7))
        d.engine(rule(.cleared, n: 4, at: 8))
        #expect(d.events.count == sent, "folded: nothing sent")
        let r = try #require(d.book.open[id1])
        #expect(r.state == .rtnUnacked && r.foldedTransitions == 3 && r.last.eventTime == t(8) && r.last.eventID == id1 + ":5")
        d.tick(60)
        #expect(d.events.count == sent, "a minute from the first folded transition (6 s) is 66 s")
        d.tick(66)
        #expect(d.events.count == sent + 1)
        let notice = try #require(d.events.last)
        #expect(notice.kind == .updated && notice.state == .rtnUnacked && notice.eventID == id1 + ":6" && notice.eventTime == t(66))
        #expect(notice.note?.contains("3") == true)
        d.tick(70)
        #expect(d.events.count == sent + 1, "nothing more folded: no notice")
        d.engine(rule(.raised, n: 5, at: 100))
        d.tick(110)
        d.engine(chatter(.cleared, at: 120))
        #expect(d.events.suffix(2).map { "\($0.rule) \($0.kind.rawValue)/\($0.state.rawValue)" }
            == ["chattering cleared/rtn-unacked", "flow-difference updated/active-unacked"])
        d.engine(rule(.cleared, n: 5, at: 121))
        #expect(d.events.last?.kind == .cleared && d.events.last?.alarmID == id1, "the chattering ended: transitions flow again")
        #expect(d.book.open.count == 2)  // the alarm, and the chattering alarm waiting for its acknowledgement
    }

    @Test("only the chattering rule on that equipment folds; an acknowledgement, a shelve and a closing are always sent")
    func foldScope() {
        var d = Desk()
        d.engine(rule(.raised, n: 1, at: 1))
        d.engine(chatter(.raised, at: 1))
        d.engine(rule(.raised, "co-level-1", at: 2, eq: "co-1"))
        d.engine(rule(.raised, n: 1, at: 2, eq: "bof2-lance"))
        #expect(d.events.count == 4)
        d.act(.acknowledge(alarmID: id1, operator: "张三", note: nil), at: 3)
        #expect(d.events.last?.kind == .acknowledged)
        d.engine(rule(.cleared, n: 1, at: 4))
        #expect(d.events.last?.kind == .cleared && d.events.last?.state == .normal, "a transition that closes the alarm is sent")
    }

    @Test("a snapshot keeps re-activations and folding: a resumed book maps the engine's ids and keeps folding")
    func snapshotKeepsFolding() {
        var d = Desk()
        d.tick(0)
        d.engine(rule(.raised, n: 1, at: 1))
        d.engine(rule(.cleared, n: 1, at: 2))
        d.engine(rule(.raised, n: 2, at: 3))
        d.engine(chatter(.raised, at: 3))
        var resumed = Desk()
        resumed.book = AlarmBook(settings: d.book.settings, snapshot: d.book.snapshot)
        resumed.engine(rule(.cleared, n: 2, at: 4))
        #expect(resumed.events.isEmpty && resumed.book.open[id1]?.state == .rtnUnacked && resumed.book.open[id1]?.foldedTransitions == 1)
        // Restored record by record, as the outbox does at a start.
        var restored = AlarmBook(settings: d.book.settings)
        for r in d.book.snapshot.records { restored.restore(r) }
        var out = AlarmBook.Output()
        restored.apply(rule(.cleared, n: 2, at: 4), into: &out)
        #expect(out.events.isEmpty && out.changedSilently && restored.open[id1]?.active == false)
    }

    @Test("50 detectors chattering at 2.5 Hz for 5 minutes, nobody acknowledging: ≤ 2 open alarms each and a bounded event rate")
    func floodBound() {
        var book = AlarmBook(settings: .init(escalateAfterMilliseconds: 300_000, configHash: "sha256:book"))
        var events = 0
        var n = [Int](repeating: 0, count: 50)
        var chattering = Set<Int>()
        var raises = [[Int64]](repeating: [], count: 50)
        for ms in stride(from: Int64(0), to: 300_000, by: 200) {
            var out = AlarmBook.Output()
            book.tick(EventTime(milliseconds: 1_763_884_800_000 + ms), into: &out)
            for k in 0..<50 where (ms / 200) % 2 == Int64(k % 2) {
                let up = (ms / 200 + Int64(k)) % 4 < 2
                let eq = "co-\(k)"
                var e = rule(up ? .raised : .cleared, "co-level-1", n: n[k] + (up ? 1 : 0), at: 0, eq: eq)
                e.eventTime = EventTime(milliseconds: 1_763_884_800_000 + ms)
                if up { n[k] += 1 }
                book.apply(e, into: &out)
                if up {
                    raises[k].append(ms)
                    raises[k].removeAll { ms - $0 > 60_000 }
                    if raises[k].count >= 3, chattering.insert(k).inserted {
                        var c = chatter(.raised, about: "co-level-1", at: 0, eq: eq)
                        c.eventTime = e.eventTime
                        book.apply(c, into: &out)
                    }
                }
            }
            events += out.events.count
        }
        let perDetector = Dictionary(grouping: book.open.values, by: \.last.equipment).mapValues(\.count)
        #expect(perDetector.values.allSatisfy { $0 <= 2 } && perDetector.count == 50)
        // Per detector: the first flaps until it chatters, the chattering alarm, an escalation each,
        // then one notice a minute.
        #expect(events <= 50 * (6 + 2 + 5), "\(events) events")
    }
}
