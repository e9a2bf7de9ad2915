import MeltWatchCore
import Testing

@testable import MeltWatchReport

@Suite("Alarm timelines: events grouped by alarm_id")
struct TimelineTests {
    let report = Fixture.report

    @Test func groupsByAlarmIDInRaiseOrderDroppingHeartbeatsAndOtherPlants() {
        #expect(report.alarms.map(\.alarmID) == [
            "demo-works:dc1-station:cooling-flow-low:1",
            "demo-works:dc1-station:interlock-failed:1",
            "demo-works:bof1-lance:flow-difference:1",
            "demo-works:co-bof1-platform:co-level-1:1",
            "demo-works:bof1-lance:flow-difference:2",
            "demo-works:bof1-lance:interlock-late:1",
            "demo-works:dc1-station:stale:1",
        ])
        #expect(report.alarms.map(\.events.count) == [3, 2, 3, 3, 2, 2, 1])
    }

    @Test func timelineHasRaiseAcknowledgementByWhomAndClear() throws {
        let co = try #require(report.alarms.first { $0.rule == "co-level-1" })
        #expect(co.raisedAt == Fixture.at("16:20:00"))
        #expect(co.acknowledgedAt == Fixture.at("16:20:45"))
        #expect(co.acknowledgedBy == "张三")
        #expect(co.acknowledgementNote == "已通知现场巡检，佩戴便携式报警仪")
        #expect(co.clearedAt == Fixture.at("16:26:00"))
        #expect(co.finalState == .normal)
        // The raise's message and value, not the clear's.
        #expect(co.message == "一氧化碳浓度 31 ppm ≥ 一级报警 24 ppm (GB 6222)")
        #expect(co.value == 31)
    }

    @Test("处置情况 from the last state and who acknowledged", arguments: [
        ("demo-works:dc1-station:cooling-flow-low:1", "已恢复，已确认（李四）"),
        ("demo-works:dc1-station:interlock-failed:1", "已确认解除（李四）"),   // latched: only the ack ended it
        ("demo-works:co-bof1-platform:co-level-1:1", "已恢复，已确认（张三）"),
        ("demo-works:bof1-lance:flow-difference:2", "已恢复，未确认"),
        ("demo-works:bof1-lance:interlock-late:1", "已恢复，未确认"),
        ("demo-works:dc1-station:stale:1", "未确认，未恢复"),
    ])
    func status(alarmID: String, expected: String) throws {
        let alarm = try #require(report.alarms.first { $0.alarmID == alarmID })
        #expect(alarm.statusText == expected)
    }

    @Test("status wording per final state", arguments: [
        (AlarmEvent.State.activeUnacked, nil as String?, "未确认，未恢复"),
        (.activeAcked, "王五", "已确认，未恢复（王五）"),
        (.rtnUnacked, nil, "已恢复，未确认"),
        (.normal, nil, "已恢复"),
        (.normal, "李四", "已确认解除（李四）"),   // no clear event: ended by the acknowledgement
        (.shelved, "赵六", "已搁置（赵六）"),
        (.suppressed, nil, "已抑制"),
        (.outOfService, nil, "停用检修"),
    ])
    func statusWording(state: AlarmEvent.State, person: String?, expected: String) {
        var events = [Fixture.event(.raised, .activeUnacked, "e1", "stale", .device, .high, k: 1, at: "16:00:00",
                                    signals: ["x"], basis: "令10 第十四条", message: "m")]
        let kind: AlarmEvent.Kind = state == .shelved ? .shelved : person == nil ? .updated : .acknowledged
        events.append(Fixture.event(kind, state, "e1", "stale", .device, .high, k: 2, at: "16:01:00",
                                    signals: ["x"], basis: "令10 第十四条", message: "m", operator: person))
        #expect(AlarmRecord(events: events).statusText == expected)
    }

    @Test func alarmRaisedBeforeThePeriodKeepsItsLaterEvents() throws {
        let events = [
            Fixture.event(.acknowledged, .activeAcked, "e1", "co-level-2", .process, .emergency, n: 4, k: 2, at: "16:03:00",
                          signals: ["co"], value: 170, limit: 160, unit: "ppm", basis: "令10 第四条(六)", message: "CO high", operator: "张三"),
            Fixture.event(.cleared, .normal, "e1", "co-level-2", .process, .emergency, n: 4, k: 3, at: "16:09:00",
                          signals: ["co"], value: 150, limit: 160, unit: "ppm", basis: "令10 第四条(六)", message: "CO back"),
        ]
        let input = AuditInput(plantID: Fixture.plantID, plantName: "P", from: Fixture.from, to: Fixture.to,
                               generatedAt: Fixture.to, configHash: "h", events: events)
        let report = AuditReport(input)
        let alarm = try #require(report.alarms.first)
        #expect(alarm.raisedAt == nil)
        #expect(alarm.firstSeen == Fixture.at("16:03:00"))
        #expect(alarm.message == "CO high")
        #expect(report.ledger[0].foundAtText == "2026-11-23 16:03:00（报告期前已发生）")
        #expect(report.load.totalRaised == 0)
    }

    @Test func equalFirstTimesOrderByAlarmID() {
        let b = Fixture.event(.raised, .activeUnacked, "b", "stale", .device, .high, k: 1, at: "16:00:00", signals: [], basis: "x", message: "b")
        let a = Fixture.event(.raised, .activeUnacked, "a", "stale", .device, .high, k: 1, at: "16:00:00", signals: [], basis: "x", message: "a")
        #expect(AlarmRecord.group([b, a]).map(\.equipment) == ["a", "b"])
    }
}
