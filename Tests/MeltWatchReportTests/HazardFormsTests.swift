import Foundation
import MeltWatchCore
import MeltWatchHazards
import Testing

@testable import MeltWatchReport

/// Three weeks of a plant's hazard records, made by the daemon's own desk: a failed interlock found
/// Tuesday of week 48 and closed on a good trip that Thursday; a bypass found Friday of week 48 and
/// still rectifying (overdue since Saturday of week 49); a setpoint off its approved value (一般)
/// found Monday of week 49 and closed by a manager's override the next Monday (week 50).
enum FormsFixture {
    static let plant = HazardForms.Plant(id: "baotou-steel", name: "包头钢铁 一炼钢", region: "内蒙古自治区包头市昆都仑区",
                                         industry: HazardForms.Plant.industryName("steel"))

    /// Beijing wall-clock time.
    static func at(_ text: String) -> EventTime { EventTime(parsing: "\(text)+08:00")! }

    static func alarm(_ rule: String, _ kind: AlarmEvent.Kind, at time: String, signals: [String] = ["valve_closed"],
                      cls: AlarmEvent.AlarmClass = .interlock, basis: String = "令10 第四条(四)") -> AlarmEvent {
        AlarmEvent(kind: kind, state: kind == .raised ? .activeUnacked : .rtnUnacked, alarmClass: cls, rule: rule, priority: .emergency,
                   plant: "baotou-steel", equipment: "bof1-lance", activation: 1, ordinal: kind == .raised ? 1 : 2, signals: signals,
                   basis: basis, message: "\(rule) 报警", eventTime: at(time), configHash: "sha256:forms")
    }

    static let hazards: [Hazard] = {
        var desk = HazardDesk()
        var out = HazardDesk.Output()
        func step(_ a: HazardAction, _ time: String) { _ = desk.perform(a, at: at(time), into: &out) }
        desk.observe(alarm("interlock-failed", .raised, at: "2026-11-24T10:00:00"), into: &out)  // W48 Tue
        step(.rectify(hazardID: "HZ-baotou-steel-2026-001", operator: "王工", responsible: "王工", measures: "更换快切阀", funds: "3万元",
                      deadline: BeijingDate(year: 2026, month: 11, day: 30)!.end, plan: "停吹预案"), "2026-11-24T12:00:00")
        step(.submit(hazardID: "HZ-baotou-steel-2026-001", operator: "王工", note: nil), "2026-11-25T09:00:00")
        desk.observe(InterlockOutcome(plant: "baotou-steel", equipment: "bof1-lance", trigger: "flow-difference", kind: .ok,
                                      trippedAt: at("2026-11-26T08:00:00"), latencyMilliseconds: 1200, cause: nil), into: &out)
        step(.close(hazardID: "HZ-baotou-steel-2026-001", operator: "李经理", note: nil, overrideReason: nil), "2026-11-26T09:00:00")
        desk.observe(alarm("interlock-bypassed", .raised, at: "2026-11-27T08:00:00", signals: ["interlock_bypassed"]), into: &out)  // W48 Fri
        desk.tick(at("2026-11-27T08:10:00"), into: &out)
        step(.rectify(hazardID: "HZ-baotou-steel-2026-002", operator: "王工", responsible: "王工", measures: "恢复联锁投用", funds: "0.5万元",
                      deadline: BeijingDate(year: 2026, month: 12, day: 4)!.end, plan: "旁路审批制度"), "2026-11-28T09:00:00")
        desk.tick(at("2026-12-05T00:00:01"), into: &out)  // overdue from Saturday of W49
        desk.observe(alarm("setpoint-mismatch", .raised, at: "2026-11-30T10:00:00", signals: ["flow_difference_trip"]), into: &out)  // W49 Mon
        step(.close(hazardID: "HZ-baotou-steel-2026-003", operator: "李经理", note: nil, overrideReason: "设定值已恢复审批值并复核"), "2026-12-07T09:00:00")
        var latest: [String: Hazard] = [:]
        for h in out.changed { latest[h.id] = h }
        return latest.values.sorted { $0.id < $1.id }
    }()

    static func forms(_ form: HazardForms.Form, week: Int) -> HazardForms {
        HazardForms(form: form, plants: [plant], inspector: "安全环保部", campaignStart: BeijingDate(year: 2024, month: 12, day: 11),
                    week: (2026, week), hazards: hazards, generatedAt: at("2026-12-08T10:00:00"))
    }
}

@Suite("The regulator's forms from the hazard records")
struct HazardFormsTests {
    @Test("weekly (附件1): cumulative counts cut at Friday 24:00 Beijing, the sentence as the form words it")
    func weekly() throws {
        #expect(FormsFixture.hazards.count == 3)
        let w48 = FormsFixture.forms(.weekly, week: 48)
        #expect(w48.cutoff == FormsFixture.at("2026-11-28T00:00:00"))
        #expect(w48.tables[0].rows[0].last == .text("发现一般问题隐患0条，已整改0条；重大事故隐患2条，已整改1条"))
        let w49 = FormsFixture.forms(.weekly, week: 49)
        #expect(w49.tables[0].rows[0].last == .text("发现一般问题隐患1条，已整改0条；重大事故隐患2条，已整改1条"))
        let w50 = FormsFixture.forms(.weekly, week: 50)
        #expect(w50.tables[0].rows[0].last == .text("发现一般问题隐患1条，已整改1条；重大事故隐患2条，已整改1条"))
        // Before the campaign nothing counts.
        var late = FormsFixture.forms(.weekly, week: 50)
        late.campaignStart = BeijingDate(year: 2026, month: 11, day: 29)
        #expect(late.counts(FormsFixture.plant) == (1, 1, 0, 0))
    }

    @Test("ledger (附件2): the 13 columns, majors only, status at the cut, overdue marked")
    func ledger() throws {
        let forms = FormsFixture.forms(.ledger, week: 49)
        let table = try #require(forms.tables.first)
        #expect(table.columns.map(\.title) == ["序号", "企业名称", "所在市(县、区)", "行业类别", "检查环节", "检查单位", "检查时间", "重大隐患明细",
                                               "整改措施（责任、措施、资金、时限、预案）", "挂牌督办单位", "行政处罚情况", "整改完成情况", "备注"])
        #expect(table.rows.count == 2)
        let first = table.rows[0].map(\.text)
        #expect(first[1] == "包头钢铁 一炼钢" && first[2] == "内蒙古自治区包头市昆都仑区" && first[3] == "冶金（钢铁）")
        #expect(first[4] == "企业自查" && first[5] == "安全环保部" && first[6] == "2026-11-24")
        #expect(first[8] == "责任：王工；措施：更换快切阀；资金：3万元；时限：2026-11-30；预案：停吹预案")
        #expect(first[11] == "已整改销号（2026-11-26，数据验证 trip-ok）")
        let second = table.rows[1].map(\.text)
        #expect(second[11] == "整改中（已超期）")
        #expect(forms.html().contains("<tr class=\"overdue\">"))
        // At week 48's cut the bypass was found but not yet overdue, the interlock already closed.
        let w48 = try #require(FormsFixture.forms(.ledger, week: 48).tables.first)
        #expect(w48.rows.map { $0[11].text } == ["已整改销号（2026-11-26，数据验证 trip-ok）", "未整改"])
    }

    @Test("checklist (附件5): the week's findings of both classes, evidence and basis, the signature lines in every format")
    func checklist() throws {
        let forms = FormsFixture.forms(.checklist, week: 49)
        let table = try #require(forms.tables.first)
        #expect(table.columns.map(\.title) == ["序号", "隐患描述", "现场证据", "判定依据", "隐患类型", "备注"])
        #expect(table.rows.count == 1)  // the setpoint, found in week 49
        #expect(table.rows[0][4] == .text("一般隐患"))
        #expect(table.rows[0][2].text.contains("baotou-steel:bof1-lance:setpoint-mismatch:1"))
        let html = forms.html()
        #expect(html.contains("检查人员（签字）：") && html.contains("企业负责人（签字）："))
        #expect(html.contains("@page { size: A4"))
        let csv = forms.csv()
        #expect(csv.hasPrefix("\u{FEFF}") && csv.contains("\r\n检查人员（签字）：,\r\n"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(forms.json().utf8)) as? [String: Any])
        #expect(json["schema"] as? String == "meltwatch.hazard-form/1" && json["week"] as? String == "2026-W49")
        let tables = try #require(json["tables"] as? [[String: Any]])
        #expect((tables[0]["rows"] as? [[String: Any]])?.first?["type"] as? String == "一般隐患")
        #expect((tables[0]["signatures"] as? [String])?.count == 3)
    }

    @Test("weeks: ISO names and the Friday cut")
    func weeks() {
        #expect(HazardForms.parseWeek("2026-W49")! == (2026, 49))
        #expect(HazardForms.parseWeek("2026-W54") == nil)
        #expect(HazardForms.parseWeek("2026-49") == nil)
        #expect(FormsFixture.forms(.weekly, week: 49).cutoff.rfc3339 == "2026-12-04T16:00:00.000Z")
    }
}
