import MeltWatchCore
import Testing

@testable import MeltWatchReport

@Suite("Hazard ledger rows")
struct LedgerTests {
    let report = Fixture.report

    @Test func interlockFailedRowHasEveryColumn() throws {
        let row = try #require(report.ledger.first { $0.description.hasPrefix("联锁未在") })
        #expect(row.index == 2)
        #expect(row.plant == Fixture.plantName)
        #expect(row.equipment == "dc1-station")
        #expect(row.description == "联锁未在 5 s 内动作：platform_stopped 未动作 (no feedback by deadline 5 s) (interlock failed)")
        #expect(row.evidence == "限值 5 s；原因：platform_stopped 未动作 (no feedback by deadline 5 s)")
        #expect(row.basis == "忻应急发〔2024〕216号: 各联锁动作是否与铸造平台停止下降联锁")
        #expect(row.hazardType == .interlockFailure)
        #expect(row.hazardType.rawValue == "联锁失效")
        #expect(row.foundAt == Fixture.at("16:00:07"))
        #expect(row.foundAtText == "2026-11-23 16:00:07")
        #expect(row.status == "已确认解除（李四）")
    }

    @Test("the ledger lists hazard records, not alarms: the failed interlock is a 重大事故隐患, the cooling-flow alarm evidence only")
    func ledgerTableCarriesTheRegulatorsNineColumns() {
        let table = report.ledgerTable
        #expect(table.columns.map(\.title) == ["序号", "企业", "设备", "隐患描述", "现场证据", "判定依据", "隐患类型", "发现时间", "处置情况"])
        #expect(report.alarms.count == 7)
        #expect(table.rows.count == 1)
        #expect(table.rows[0] == [
            .integer(1), .text(Fixture.plantName), .text("dc1-station"),
            .text("联锁未按要求动作：联锁未在 5 s 内动作：platform_stopped 未动作 (no feedback by deadline 5 s) (interlock failed)（HZ-demo-works-2026-001）"),
            .text("报警 demo-works:dc1-station:interlock-failed:1（报警证据 2）；数据时段 2026-11-23 16:00:07 至 16:00:07"),
            .text("忻应急发〔2024〕216号: 各联锁动作是否与铸造平台停止下降联锁"), .text("重大事故隐患"),
            .text("2026-11-23 16:00:07"), .text("未整改"),
        ])
        #expect(report.summaryTable.rows.contains([.text("发现重大事故隐患 (major hazards found)"), .integer(1)]))
    }

    @Test("现场证据: value vs limit with unit, latency, cause", arguments: [
        (4.1 as Double?, 3.0 as Double?, "m3/h" as String?, nil as Int64?, nil as String?, "测量值 4.1 m3/h，限值 3 m3/h"),
        (2.6, 2, "s", 2600, nil, "测量值 2.6 s，限值 2 s；联锁动作耗时 2600 ms"),
        (162, nil, "kPa", nil, nil, "测量值 162 kPa"),
        (nil, 5, "s", nil, "platform_stopped stale", "限值 5 s；原因：platform_stopped stale"),
        (0.125, 0.1, nil, nil, nil, "测量值 0.13，限值 0.1"),
        (nil, nil, nil, nil, nil, ""),
    ])
    func evidence(value: Double?, limit: Double?, unit: String?, latency: Int64?, cause: String?, expected: String) {
        var alarm = AlarmRecord(events: [Fixture.event(.raised, .activeUnacked, "e", "r", .process, .high, k: 1, at: "16:00:00",
                                                       signals: [], basis: "b", message: "m")])
        (alarm.value, alarm.limit, alarm.unit, alarm.latencyMilliseconds, alarm.cause) = (value, limit, unit, latency, cause)
        #expect(HazardLedgerRow.evidence(of: alarm) == expected)
    }

    @Test("隐患类型 from the alarm class", arguments: [
        (AlarmEvent.AlarmClass.process, "工艺参数超限"),
        (.interlock, "联锁失效"),
        (.device, "监测装置失效"),
        (.system, "监测系统故障"),
    ])
    func hazardType(cls: AlarmEvent.AlarmClass, expected: String) {
        #expect(HazardType(cls).rawValue == expected)
    }

    @Test("发现时间 in China Standard Time (UTC+8), across midnight and year ends", arguments: [
        ("2026-11-23T08:00:02Z", "2026-11-23 16:00:02"),
        ("2026-11-23T15:59:59.999Z", "2026-11-23 23:59:59"),
        ("2026-11-23T16:00:00Z", "2026-11-24 00:00:00"),
        ("2026-11-23T16:00:02.500Z", "2026-11-24 00:00:02"),
        ("2026-12-31T16:30:00Z", "2027-01-01 00:30:00"),
        ("2028-02-28T20:00:00Z", "2028-02-29 04:00:00"),
        ("2026-03-01T00:00:00+08:00", "2026-03-01 00:00:00"),
        ("1969-12-31T16:00:00Z", "1970-01-01 00:00:00"),
    ])
    func chinaTime(utc: String, expected: String) throws {
        let t = try #require(EventTime(parsing: utc))
        #expect(ReportFormat.chinaTime(t) == expected)
    }

    @Test func foundTimeOfAnAlarmJustAfterMidnightChinaTime() {
        let raised = AlarmEvent(kind: .raised, state: .activeUnacked, alarmClass: .process, rule: "co-level-1", priority: .high,
                                plant: "p", equipment: "co1", activation: 1, ordinal: 1, signals: ["co"], value: 30, limit: 24,
                                unit: "ppm", basis: "令10 第四条(六)", message: "CO",
                                eventTime: EventTime(parsing: "2026-11-23T16:00:02Z")!, configHash: "h")
        let input = AuditInput(plantID: "p", plantName: "P", from: EventTime(parsing: "2026-11-23T12:00:00Z")!,
                               to: EventTime(parsing: "2026-11-23T20:00:00Z")!, generatedAt: EventTime(milliseconds: 0),
                               configHash: "h", events: [raised])
        #expect(AuditReport(input).ledger[0].foundAtText == "2026-11-24 00:00:02")
    }

    @Test("numbers: at most two decimals, no trailing zeros", arguments: [
        (3.0, "3"), (4.1, "4.1"), (82.5, "82.5"), (0.125, "0.13"), (-0.004, "0"), (-2.5, "-2.5"), (1234567.891, "1234567.89"),
    ])
    func numbers(value: Double, expected: String) {
        #expect(ReportFormat.number(value) == expected)
    }
}
