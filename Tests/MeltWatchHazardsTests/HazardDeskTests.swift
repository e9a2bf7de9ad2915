import Foundation
import MeltWatchCore
import Testing

@testable import MeltWatchHazards

/// 2026-12-01 08:00 Beijing (00:00 UTC), a Tuesday of ISO week 2026-W49.
private let base: Int64 = 1_796_083_200_000

private func t(_ s: Int64) -> EventTime { EventTime(milliseconds: base + s * 1000) }

private func alarm(_ kind: AlarmEvent.Kind, _ rule: String, at s: Int64, n: Int = 1, eq: String = "bof1-lance",
                   cls: AlarmEvent.AlarmClass = .interlock, signals: [String] = ["valve_closed"],
                   state: AlarmEvent.State? = nil, basis: String = "令10 第四条(四)") -> AlarmEvent {
    AlarmEvent(kind: kind, state: state ?? (kind == .raised ? .activeUnacked : .rtnUnacked), alarmClass: cls, rule: rule, priority: .emergency,
               plant: "baotou-steel", equipment: eq, activation: n, ordinal: kind == .raised ? 1 : 2, signals: signals,
               basis: basis, message: "\(rule) on \(eq)", eventTime: t(s), configHash: "sha256:test")
}

private func trip(_ kind: InterlockOutcome.Kind, at s: Int64, trigger: String = "flow-difference", eq: String = "bof1-lance") -> InterlockOutcome {
    InterlockOutcome(plant: "baotou-steel", equipment: eq, trigger: trigger, kind: kind, trippedAt: t(s),
                     latencyMilliseconds: kind == .failed ? nil : 1800, cause: kind == .failed ? "valve_closed" : nil)
}

/// A desk and everything it produced.
private struct Bench {
    var desk = HazardDesk()
    var out = HazardDesk.Output()

    mutating func see(_ e: AlarmEvent) { desk.observe(e, into: &out) }
    mutating func see(_ o: InterlockOutcome) { desk.observe(o, into: &out) }
    mutating func tick(_ s: Int64) { desk.tick(t(s), into: &out) }

    @discardableResult
    mutating func act(_ a: HazardAction, at s: Int64) -> Result<Hazard?, HazardDesk.Refusal> {
        desk.perform(a, at: t(s), into: &out)
    }

    func refusal(_ r: Result<Hazard?, HazardDesk.Refusal>) -> HazardDesk.Refusal.Code? {
        if case .failure(let f) = r { return f.code }
        return nil
    }

    var opened: [Hazard] { out.notices.filter { $0.kind == .opened }.map(\.hazard) }
}

private let deadline = BeijingDate(year: 2026, month: 12, day: 10)!.end

private func rectify(_ id: String) -> HazardAction {
    .rectify(hazardID: id, operator: "王工", responsible: "王工", measures: "更换电磁阀并复测联锁", funds: "2万元", deadline: deadline, plan: "停炉检修预案")
}

@Suite("Hazard desk: which alarms open hazards, the lifecycle, the evidence")
struct HazardDeskTests {
    @Test("an interlock that did not act opens one major hazard; a close needs a later good trip")
    func interlockFailed() throws {
        var b = Bench()
        b.see(trip(.failed, at: 10))
        b.see(alarm(.raised, "interlock-failed", at: 10))
        let h = try #require(b.opened.first)
        #expect(h.id == "HZ-baotou-steel-2026-001")
        #expect(h.hazardClass == .major)
        #expect(h.basis == "令10 第四条(四)")
        #expect(h.alarmIDs == ["baotou-steel:bof1-lance:interlock-failed:1"])
        #expect(h.evidenceNeeded == [.tripOK, .proofTest])

        // Not rectified: no close; rectified and submitted: still none without evidence from the data.
        #expect(b.refusal(b.act(.close(hazardID: h.id, operator: "王工", note: nil, overrideReason: nil), at: 20)) == .conflict)
        #expect(b.refusal(b.act(.submit(hazardID: h.id, operator: "王工", note: nil), at: 25)) == .conflict)
        #expect(b.refusal(b.act(rectify(h.id), at: 30)) == nil)
        #expect(b.desk.hazard(h.id)?.status == .rectifying)
        #expect(b.refusal(b.act(.submit(hazardID: h.id, operator: "王工", note: "已更换"), at: 40)) == nil)
        #expect(b.refusal(b.act(.close(hazardID: h.id, operator: "王工", note: nil, overrideReason: nil), at: 50)) == .conflict)

        // A good trip of another check does not verify it; one of the failed check does.
        b.see(trip(.ok, at: 60, trigger: "level-high"))
        #expect(b.desk.hazard(h.id)?.evidence == nil)
        b.see(trip(.ok, at: 70))
        let evidence = try #require(b.desk.hazard(h.id)?.evidence)
        #expect(evidence.kind == .tripOK)
        #expect(evidence.at == t(70))
        #expect(evidence.latencyMilliseconds == 1800)

        let closed = try #require(try b.act(.close(hazardID: h.id, operator: "李经理", note: "复验合格", overrideReason: nil), at: 80).get())
        #expect(closed.status == .closed)
        #expect(closed.closedBy == "李经理")
        #expect(closed.verification?.kind == .tripOK)
        #expect(b.desk.hazard(h.id) == nil)  // it left the desk, for the store
        #expect(b.out.changed.last == closed)
        #expect(closed.history.map(\.status) == [.open, .rectifying, .awaitingVerification, .awaitingVerification, .closed])
    }

    @Test("a good trip before the latest occurrence is no evidence")
    func evidenceMustFollowTheLatestOccurrence() throws {
        var b = Bench()
        b.see(alarm(.raised, "interlock-failed", at: 10))
        b.see(trip(.ok, at: 5))  // out of order, before it
        let id = try #require(b.opened.first).id
        #expect(b.desk.hazard(id)?.evidence == nil)
        b.see(trip(.ok, at: 20))
        #expect(b.desk.hazard(id)?.evidence?.kind == .tripOK)
        // It happens again: the earlier good trip no longer counts, and a submitted rectification goes back.
        _ = b.act(rectify(id), at: 30)
        _ = b.act(.submit(hazardID: id, operator: "王工", note: nil), at: 31)
        b.see(alarm(.raised, "interlock-failed", at: 40, n: 2))
        let h = try #require(b.desk.hazard(id))
        #expect(h.occurrences == 2)
        #expect(h.evidence == nil)
        #expect(h.status == .rectifying)
        #expect(h.alarmIDs.count == 2)
        #expect(b.opened.count == 1)
    }

    @Test("a proof test's good trip verifies as proof-test")
    func proofTest() throws {
        var b = Bench()
        b.see(alarm(.raised, "interlock-failed", at: 10))
        let id = try #require(b.opened.first).id
        #expect(b.refusal(b.act(.proofTest(plant: "baotou-steel", equipment: "bof1-lance", operator: "王工", minutes: 0), at: 20)) == .invalid)
        #expect(b.refusal(b.act(.proofTest(plant: "baotou-steel", equipment: "bof1-lance", operator: "王工", minutes: 30), at: 20)) == nil)
        b.see(trip(.ok, at: 25 * 60))
        #expect(b.desk.hazard(id)?.evidence?.kind == .proofTest)
    }

    @Test("process alarms are evidence, not hazards")
    func processAlarmsOpenNothing() {
        var b = Bench()
        b.see(alarm(.raised, "flow-difference", at: 10, cls: .process))
        b.see(alarm(.raised, "co-high", at: 10, cls: .process))
        b.tick(100_000)
        #expect(b.out.changed.isEmpty)
    }

    @Test("a bypass held past bypass_min opens a hazard found then; 24 h off verifies it")
    func bypass() throws {
        var b = Bench()
        b.see(alarm(.raised, "interlock-bypassed", at: 0, signals: ["interlock_bypassed", "casting_active"], basis: "令10 第十四条"))
        b.tick(599)
        #expect(b.opened.isEmpty)
        b.tick(600)
        let h = try #require(b.opened.first)
        #expect(h.foundAt == t(600))
        #expect(h.evidenceFrom == t(0))
        #expect(h.basis == "令10 第十四条")
        #expect(h.evidenceNeeded == [.bypassOff24h])
        // Still bypassed: no second record for the same episode.
        b.tick(1200)
        #expect(b.opened.count == 1)
        b.see(alarm(.cleared, "interlock-bypassed", at: 3600, signals: ["interlock_bypassed", "casting_active"]))
        b.tick(3600 + 86_399)
        #expect(b.desk.hazard(h.id)?.evidence == nil)
        b.tick(3600 + 86_400)
        #expect(b.desk.hazard(h.id)?.evidence?.kind == .bypassOff24h)
        #expect(b.desk.hazard(h.id)?.evidence?.at == t(3600 + 86_400))
        // A short bypass again, not long enough to be a hazard, still voids the quiet day.
        b.see(alarm(.raised, "interlock-bypassed", at: 3600 + 90_000, n: 2, signals: ["interlock_bypassed", "casting_active"]))
        #expect(b.desk.hazard(h.id)?.evidence == nil)
    }

    @Test("a bypass shorter than bypass_min, or during maintenance, is no hazard")
    func shortBypass() {
        var b = Bench()
        b.see(alarm(.raised, "interlock-bypassed", at: 0, signals: ["interlock_bypassed"]))
        b.see(alarm(.cleared, "interlock-bypassed", at: 599, signals: ["interlock_bypassed"]))
        b.see(alarm(.raised, "interlock-bypassed", at: 1000, n: 2, signals: ["interlock_bypassed"], state: .outOfService))
        b.tick(10_000)
        #expect(b.out.changed.isEmpty)
    }

    @Test("a mandated signal unhealthy past device_min is one hazard per signal, whatever the condition")
    func deviceHazard() throws {
        var b = Bench()
        b.see(alarm(.raised, "stale", at: 0, cls: .device, signals: ["inlet_flow"]))
        b.see(alarm(.cleared, "stale", at: 1800, cls: .device, signals: ["inlet_flow"]))
        b.tick(4000)
        #expect(b.opened.isEmpty)
        b.see(alarm(.raised, "frozen", at: 4000, cls: .device, signals: ["inlet_flow"]))
        b.tick(4000 + 3600)
        let h = try #require(b.opened.first)
        #expect(h.cause == "device:inlet_flow")
        #expect(h.basis.hasPrefix("令10 第十四条"))
        b.see(alarm(.raised, "bad-quality", at: 9000, cls: .device, signals: ["inlet_flow"]))
        b.tick(9000 + 3600)
        #expect(b.opened.count == 1)
        #expect(b.desk.hazard(h.id)?.occurrences == 2)
        // Healthy 24 h only once both conditions are gone.
        b.see(alarm(.cleared, "frozen", at: 20_000, cls: .device, signals: ["inlet_flow"]))
        b.tick(20_000 + 86_400)
        #expect(b.desk.hazard(h.id)?.evidence == nil)
        b.see(alarm(.cleared, "bad-quality", at: 30_000, cls: .device, signals: ["inlet_flow"]))
        b.tick(30_000 + 86_400)
        #expect(b.desk.hazard(h.id)?.evidence?.kind == .healthy24h)
        // A stale of another signal is another record.
        b.see(alarm(.raised, "stale", at: 200_000, cls: .device, signals: ["outlet_flow"]))
        b.tick(200_000 + 3600)
        #expect(b.opened.count == 2)
        #expect(b.opened.last?.id == "HZ-baotou-steel-2026-002")
    }

    @Test("interlock-late three times within 7 days is a general hazard")
    func lateThreeTimes() throws {
        var b = Bench()
        let day: Int64 = 86_400
        b.see(alarm(.raised, "interlock-late", at: 0))
        b.see(alarm(.raised, "interlock-late", at: 3 * day, n: 2))
        b.see(alarm(.raised, "interlock-late", at: 8 * day, n: 3))  // the first is 8 days back
        #expect(b.opened.isEmpty)
        b.see(alarm(.raised, "interlock-late", at: 9 * day, n: 4))
        let h = try #require(b.opened.first)
        #expect(h.hazardClass == .general)
        #expect(h.basis.contains("联锁动作是否长时间延迟"))
        #expect(h.evidenceFrom == t(3 * day))
    }

    @Test("setpoint-mismatch is a general hazard per setpoint; casting-permissive a major one")
    func classes() {
        var b = Bench()
        b.see(alarm(.raised, "setpoint-mismatch", at: 0, signals: ["flow_difference_trip"]))
        b.see(alarm(.raised, "casting-permissive", at: 0, eq: "caster-1", signals: ["casting_active"]))
        #expect(b.opened.map(\.hazardClass) == [.general, .major])
        #expect(b.opened.map(\.cause) == ["setpoint:flow_difference_trip", "casting-permissive"])
    }

    @Test("past its deadline a hazard is overdue: a system alarm until it is closed or the deadline moves")
    func overdue() throws {
        var b = Bench()
        b.see(alarm(.raised, "interlock-failed", at: 0))
        let id = try #require(b.opened.first).id
        _ = b.act(rectify(id), at: 60)
        let due = deadline.milliseconds(since: t(0)) / 1000
        b.tick(due - 1)
        #expect(b.out.systemAlarms.isEmpty)
        b.tick(due)
        #expect(b.desk.hazard(id)?.overdue == true)
        #expect(b.out.systemAlarms == [HazardDesk.SystemAlarm(raise: true, hazardID: id, message: b.out.systemAlarms.first?.message ?? "")])
        b.tick(due + 10)
        #expect(b.out.systemAlarms.count == 1)  // once
        // A manager closes it without evidence: a reason is required; then the alarm clears.
        #expect(b.refusal(b.act(.close(hazardID: id, operator: "李经理", note: nil, overrideReason: " "), at: due + 20)) == .invalid)
        let closed = try #require(try b.act(.close(hazardID: id, operator: "李经理", note: nil, overrideReason: "阀门已整体更换，试车合格"), at: due + 30).get())
        #expect(closed.verification?.kind == .override)
        #expect(closed.verification?.detail.contains("阀门已整体更换") == true)
        #expect(b.out.systemAlarms.last?.raise == false)
        #expect(b.refusal(b.act(.submit(hazardID: id, operator: "王工", note: nil), at: due + 40)) == .notFound)
    }

    @Test("a rectification needs all five of 责任、措施、资金、时限、预案 and a named operator")
    func rectificationFields() throws {
        var b = Bench()
        b.see(alarm(.raised, "interlock-failed", at: 0))
        let id = try #require(b.opened.first).id
        #expect(b.refusal(b.act(.rectify(hazardID: id, operator: "王工", responsible: "王工", measures: "更换", funds: "", deadline: deadline, plan: "预案"), at: 1)) == .invalid)
        #expect(b.refusal(b.act(.rectify(hazardID: id, operator: " ", responsible: "王工", measures: "更换", funds: "1万", deadline: deadline, plan: "预案"), at: 1)) == .invalid)
        #expect(b.refusal(b.act(rectify("HZ-nope"), at: 1)) == .notFound)
    }

    @Test("the desk's state survives a checkpoint round trip and goes on")
    func snapshotRoundTrip() throws {
        var b = Bench()
        b.see(alarm(.raised, "interlock-bypassed", at: 0, signals: ["interlock_bypassed"]))
        b.see(alarm(.raised, "interlock-failed", at: 5))
        let data = try JSONEncoder().encode(b.desk.snapshot)
        var restored = Bench(desk: HazardDesk(settings: HazardDesk.Settings(), snapshot: try JSONDecoder().decode(HazardDesk.Snapshot.self, from: data)))
        b.out = HazardDesk.Output()
        restored.tick(600)
        b.tick(600)
        #expect(restored.opened.map(\.id) == b.opened.map(\.id))
        #expect(restored.desk.snapshot == b.desk.snapshot)
        restored.see(alarm(.raised, "interlock-failed", at: 700, n: 2))
        #expect(restored.desk.openHazards.first { $0.rule == "interlock-failed" }?.occurrences == 2)
    }

    @Test("a desk without a checkpoint continues the numbering of the stored records")
    func adoptContinuesNumbering() throws {
        var first = Bench()
        first.see(alarm(.raised, "interlock-failed", at: 0))
        first.see(alarm(.raised, "casting-permissive", at: 0, eq: "caster-1"))
        var b = Bench()
        b.desk.adopt(stored: first.desk.openHazards)
        b.see(alarm(.raised, "interlock-failed", at: 10, n: 2))  // the same cause: added to the adopted record
        b.see(alarm(.raised, "running-dry", at: 10, eq: "scrubber-1", cls: .process))
        #expect(b.opened.map(\.id) == ["HZ-baotou-steel-2026-003"])
        #expect(b.desk.hazard("HZ-baotou-steel-2026-001")?.occurrences == 2)
    }
}

@Suite("Beijing calendar")
struct BeijingDateTests {
    @Test("days, ISO weeks and the Friday cut")
    func weeks() throws {
        let d = BeijingDate(EventTime(milliseconds: base))  // 2026-12-01 08:00 +08
        #expect(d.description == "2026-12-01")
        #expect(d.isoWeekday == 2)
        #expect(d.isoWeek == (2026, 49))
        #expect(BeijingDate(EventTime(milliseconds: base - 8 * 3_600_000 - 1)).description == "2026-11-30")
        let monday = try #require(BeijingDate.monday(isoYear: 2026, week: 49))
        #expect(monday.description == "2026-11-30")
        #expect(monday.adding(days: 4).end.rfc3339 == "2026-12-04T16:00:00.000Z")  // Friday 24:00 Beijing
        #expect(BeijingDate.monday(isoYear: 2026, week: 54) == nil)
        #expect(BeijingDate(year: 2024, month: 12, day: 30)!.isoWeek == (2025, 1))
        #expect(BeijingDate(parsing: "2026-02-30") == nil)
        #expect(BeijingDate(parsing: "2026-2-3") == nil)
    }
}

@Suite("Hazard desk: durations on the data's clock")
struct HazardDeskClockTests {
    @Test("buffered data: a short bypass whose end is still on the way is not a hazard, a long one is, at its own times")
    func bufferedData() throws {
        var b = Bench()
        b.desk.advance(to: t(0))
        b.see(alarm(.raised, "interlock-bypassed", at: 0, signals: ["interlock_bypassed"]))
        b.desk.advance(to: t(60))
        b.tick(7200)  // the daemon clock is hours ahead of the republished readings
        #expect(b.opened.isEmpty)
        b.see(alarm(.cleared, "interlock-bypassed", at: 300, signals: ["interlock_bypassed"]))
        b.tick(7300)
        #expect(b.opened.isEmpty)
        // A long one arriving whole between two ticks.
        b.see(alarm(.raised, "interlock-bypassed", at: 1000, n: 2, signals: ["interlock_bypassed"]))
        b.see(alarm(.cleared, "interlock-bypassed", at: 2000, n: 2, signals: ["interlock_bypassed"]))
        let h = try #require(b.opened.first)
        #expect(h.foundAt == t(1600))
        // Its quiet day counts from its end, on the data's clock.
        b.desk.advance(to: t(2000 + 86_400))
        b.tick(2000 + 90_000)
        #expect(b.desk.hazard(h.id)?.evidence?.at == t(2000 + 86_400))
    }

    @Test("stale is judged on the daemon clock: a silent gateway's detector becomes a hazard without any reading")
    func staleOnTheDaemonClock() throws {
        var b = Bench()
        b.desk.advance(to: t(0))
        b.see(alarm(.raised, "stale", at: 30, cls: .device, signals: ["co"]))
        b.tick(30 + 3600)
        #expect(b.opened.first?.cause == "device:co")
    }
}
