import Foundation
import MeltWatchCore
import Testing

@testable import MeltWatchReport

@Suite("HTML, CSV and JSON renderings")
struct RenderTests {
    let report = Fixture.report

    static func count(_ needle: String, in haystack: String) -> Int {
        haystack.components(separatedBy: needle).count - 1
    }

    @Test("every setpoint change is a row, the ones beyond tolerance marked; HTML, CSV and JSON alike")
    func setpointChanges() throws {
        var input = Fixture.input
        let t = input.from.adding(milliseconds: 60_000)
        input.setpointChanges = [
            SetpointChange(plant: input.plantID, equipment: "bof1-lance", name: "flow_difference_sp", source: "site/FDIFF_SP",
                           value: 3.04, previous: 3.0, approved: 3.0, tolerance: 0.05, unit: "m3/h", time: t),
            SetpointChange(plant: input.plantID, equipment: "bof1-lance", name: "flow_difference_sp", source: "site/FDIFF_SP",
                           value: 4.5, previous: 3.04, approved: 3.0, tolerance: 0.05, unit: "m3/h", time: t.adding(milliseconds: 1000)),
            SetpointChange(plant: "other-plant", equipment: "x", name: "sp", source: "s", value: 1, previous: nil, approved: 0,
                           tolerance: 0, unit: nil, time: t),
        ]
        let report = AuditReport(input)
        let table = report.setpointTable
        #expect(table.rows.count == 2)  // the other plant's change is not this report's
        #expect(table.rows.map { $0[9] } == [.text("是 (ok)"), .text("否 (mismatch)")])
        let html = report.html()
        #expect(html.contains("设定值变更记录") && html.contains("flow_difference_sp") && html.contains("class=\"bad\""))
        #expect(report.csv().contains("flow_difference_sp,site/FDIFF_SP,3.040,4.500,3.000,0.050,m3/h,否 (mismatch)"))
        let json = try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any]
        let tables = try #require(json?["tables"] as? [[String: Any]])
        #expect((tables.first { $0["id"] as? String == "setpoints" }?["rows"] as? [Any])?.count == 2)
    }

    @Test func htmlEscapesAPlantNameWithAScript() {
        var input = Fixture.input
        input.plantName = "<script>alert('x')</script> & \"Co\""
        let html = AuditReport(input).html()
        #expect(!html.contains("<script"))
        #expect(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;Co&quot;"))
    }

    @Test func htmlEscapesMessagesInTablesAndCharts() {
        var input = Fixture.input
        input.events[0].message = "flow <b>low</b>"
        input.events[0].signals = ["cooling_flow\"><svg onload=x>"]
        let html = AuditReport(input).html()
        #expect(!html.contains("<b>low</b>"))
        #expect(!html.contains("<svg onload"))
        #expect(html.contains("flow &lt;b&gt;low&lt;/b&gt;"))
    }

    @Test func htmlIsSelfContainedUTF8() {
        let html = report.html()
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<meta charset=\"utf-8\">"))
        for external in ["<script", "<link", " src=", "url(", "@import", "https://"] {
            #expect(!html.contains(external), "external or active content: \(external)")
        }
        // The only URL is the SVG namespace, which is a name, not a fetch.
        #expect(Self.count("http://", in: html) == Self.count("xmlns=\"http://www.w3.org/2000/svg\"", in: html))
        #expect(html.contains("@media print"))
    }

    @Test func htmlHasChineseHeadingsWithEnglishUnitsAndBasisVerbatim() {
        let html = report.html()
        for heading in ["隐患台账 <span class=\"en\">(Hazard ledger)</span>",
                        "联锁响应统计 <span class=\"en\">(Interlock latency statistics)</span>",
                        "传感器可用率 <span class=\"en\">(Sensor availability)</span>",
                        "报警负荷 <span class=\"en\">(Alarm load)</span>"] {
            #expect(html.contains(heading))
        }
        #expect(html.contains("忻应急发〔2024〕216号: 各联锁动作是否与铸造平台停止下降联锁"))
        #expect(html.contains("测量值 82.5 m3/h，限值 100 m3/h"))
        #expect(html.contains("<td class=\"num\">2600</td>"))
    }

    @Test func oneEvidenceChartPerAlarmAndALoadChart() {
        let html = report.html()
        #expect(Self.count("<svg class=\"evidence-chart\"", in: html) == report.alarms.count)
        #expect(Self.count("<svg class=\"load-chart\"", in: html) == 1)
        #expect(Self.count("<article class=\"alarm\"", in: html) == report.alarms.count)
    }

    @Test func evidenceChartShowsSignalsLimitAndMarkers() throws {
        let cooling = try #require(report.alarms.first { $0.rule == "cooling-flow-low" })
        let chart = EvidenceChart(alarm: cooling, evidence: report.evidence, options: report.options)
        #expect(chart.start == Fixture.at("15:55:02"))
        #expect(chart.end == Fixture.at("16:09:30"))
        #expect(chart.panels.count == 1)
        #expect(chart.panels[0].limit == 100)
        #expect(chart.panels[0].series[0].points.first?.time == Fixture.at("15:55:02"))
        #expect(chart.markers.map(\.label) == ["报警 16:00:02", "确认 李四 16:01:10", "恢复 16:04:30"])
        let svg = chart.svg(title: "t")
        #expect(svg.contains("class=\"limit\""))
        #expect(svg.contains(">m3/h</text>"))
        #expect(svg.contains("时间 (time, UTC+8)"))

        // Two flows: the flow-difference limit is about their difference, so it is said, not drawn.
        let leak = try #require(report.alarms.first { $0.rule == "flow-difference" })
        let leakChart = EvidenceChart(alarm: leak, evidence: report.evidence, options: report.options)
        #expect(leakChart.panels.map { $0.series.map(\.key.signal) } == [["inlet_flow", "outlet_flow"]])
        #expect(leakChart.panels[0].limit == nil)
        #expect(leakChart.notes.first?.hasPrefix("限值 3 m3/h") == true)

        // Interlock feedbacks are booleans shown from 30 s before the trip to 30 s after the end.
        let failed = try #require(report.alarms.first { $0.rule == "interlock-failed" })
        #expect(failed.trippedAt == Fixture.at("16:00:02"))
        let failedChart = EvidenceChart(alarm: failed, evidence: report.evidence, options: report.options)
        #expect(failedChart.panels.map(\.unit) == [nil])
        #expect(failedChart.start == Fixture.at("15:59:32"))
        #expect(failedChart.end == Fixture.at("16:02:30"))
        #expect(failedChart.markers.map(\.label) == ["联锁触发 16:00:02", "报警 16:00:07", "确认 李四 16:02:00"])
        let late = try #require(report.alarms.first { $0.rule == "interlock-late" })
        #expect(late.trippedAt == Fixture.at("16:30:05"))
    }

    @Test func longSeriesAreReducedKeepingPeaks() {
        let t0 = Fixture.at("16:00:00")
        let points = (0..<10_000).map { EvidencePoint(t0.adding(milliseconds: Int64($0) * 100), $0 == 5_000 ? 999 : 1) }
        let reduced = EvidenceChart.reduce(points[...], from: t0, to: t0.adding(milliseconds: 1_000_000))
        #expect(reduced.count <= EvidenceChart.maxPoints)
        #expect(reduced.contains { $0.value == 999 })
        #expect(zip(reduced, reduced.dropFirst()).allSatisfy { $0.time <= $1.time })
    }

    @Test func csvHasBOMCRLFAndTitledTablesSeparatedByEmptyLines() throws {
        let csv = report.csv()
        #expect(csv.hasPrefix("\u{FEFF}"))
        #expect(Array(csv.utf8.prefix(3)) == [0xEF, 0xBB, 0xBF])
        #expect(csv.hasSuffix("\r\n"))
        // No bare LF outside quoted fields (quoted fields may hold one; the fixture has none).
        #expect(!csv.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        let blocks = csv.dropFirst().components(separatedBy: "\r\n\r\n")
        #expect(blocks.count == report.tables.count)
        for (block, table) in zip(blocks, report.tables) {
            let lines = block.components(separatedBy: "\r\n").filter { !$0.isEmpty }
            #expect(lines[0] == table.heading)
            #expect(lines.count == 2 + table.rows.count, "table \(table.id)")
        }
        let ledger = blocks[1].components(separatedBy: "\r\n")
        #expect(ledger[1] == "序号,企业,设备,隐患描述,现场证据,判定依据,隐患类型,发现时间,处置情况")
        #expect(ledger[2].hasPrefix("1,\(Fixture.plantName),dc1-station,联锁未按要求动作："))
        #expect(ledger[2].hasSuffix(",忻应急发〔2024〕216号: 各联锁动作是否与铸造平台停止下降联锁,重大事故隐患,2026-11-23 16:00:07,未整改"))
    }

    @Test("CSV fields: RFC 4180 quoting and formula neutralising", arguments: [
        ("plain", "plain"),
        ("a,b", "\"a,b\""),
        ("say \"hi\"", "\"say \"\"hi\"\"\""),
        ("two\nlines", "\"two\nlines\""),
        ("cr\r\n", "\"cr\r\n\""),
        ("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\""),
        ("+1", "'+1"),
        ("-cmd", "'-cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("中文，全角逗号", "中文，全角逗号"),
    ])
    func csvField(text: String, expected: String) {
        #expect(AuditReport.csvField(ReportTable.Cell.text(text)) == expected)
    }

    @Test func csvNumbersAreNeverAlteredAndEmptyCellsAreEmpty() {
        #expect(AuditReport.csvField(ReportTable.Cell.integer(-5)) == "-5")
        #expect(AuditReport.csvField(ReportTable.Cell.decimal(-0.5, decimals: 2)) == "-0.50")
        #expect(AuditReport.csvField(ReportTable.Cell.empty) == "")
    }

    @Test func jsonParsesBackWithTheSameRowsAsTheTables() throws {
        let json = report.json()
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let root = try #require(object)
        #expect(root["schema"] as? String == "meltwatch.report/1")
        #expect((root["plant"] as? [String: Any])?["name"] as? String == Fixture.plantName)
        #expect((root["period"] as? [String: Any])?["from"] as? String == "2026-11-23T08:00:00.000Z")
        let tables = try #require(root["tables"] as? [[String: Any]])
        #expect(tables.map { $0["id"] as? String } == report.tables.map(\.id))
        for (json, table) in zip(tables, report.tables) {
            #expect((json["rows"] as? [Any])?.count == table.rows.count, "table \(table.id)")
        }
        let ledger = try #require(tables[1]["rows"] as? [[String: Any]])
        #expect(ledger[0]["index"] as? Int == 1)
        #expect(ledger[0]["basis"] as? String == "忻应急发〔2024〕216号: 各联锁动作是否与铸造平台停止下降联锁")
        #expect(ledger[0]["found_at"] as? String == "2026-11-23 16:00:07")
        #expect(ledger[0]["hazard_type"] as? String == "重大事故隐患")
        let interlocks = try #require(tables[2]["rows"] as? [[String: Any]])
        #expect(interlocks[0]["p95_ms"] as? Int == 2600)
        #expect(interlocks[1]["median_ms"] is NSNull)
        let availability = try #require(tables.first { $0["id"] as? String == "availability" }?["rows"] as? [[String: Any]])
        #expect(availability[0]["availability_percent"] as? Double == 99.98)
    }

    @Test func jsonKeysKeepColumnOrderAndOutputIsDeterministic() {
        let json = report.json()
        #expect(json == Fixture.report.json())
        #expect(json.hasPrefix("{\"schema\":\"meltwatch.report/1\",\"plant\":{\"id\":\"demo-works\""))
        #expect(json.contains("{\"index\":1,\"plant\":"))
        #expect(json.contains("\"share_percent\":28.6"))   // 2 of 7 raises, rounded as the table shows
    }

    @Test func emptyPeriodRendersEverywhere() throws {
        let input = AuditInput(plantID: "p", plantName: "空厂", from: Fixture.from, to: Fixture.from,
                               generatedAt: Fixture.from, configHash: "h", events: [])
        let report = AuditReport(input)
        #expect(report.html().contains("无 (none)"))
        #expect(report.csv().hasPrefix("\u{FEFF}"))
        _ = try JSONSerialization.jsonObject(with: Data(report.json().utf8))
        #expect(report.load.windows.isEmpty)
        #expect(report.load.meetsEEMUATarget)
    }
}
