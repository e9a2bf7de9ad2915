import MeltWatchCore
import MeltWatchHazards

/// The regulator's forms filled from the hazard records (contract §7, domain.md "Hazards"): the
/// 附件2 重大事故隐患台账 (13 columns, cumulative), the 附件5 检查问题隐患清单 (the week's findings, with
/// the signature lines) and the 附件1 周调度统计表 row 企业自查自改 (cumulative counts, its sentence
/// as the form words it). A week is cut at Friday 24:00 Beijing time: a record counts as found when
/// found before the cut, as rectified (已整改) when closed (销号) before it; the status shown is the
/// one it had at the cut. HTML prints on A4; CSV is UTF-8 with a BOM; JSON carries the same rows.
public struct HazardForms: Sendable {
    public enum Form: String, Sendable, CaseIterable {
        case ledger, checklist, weekly
    }

    /// What a form says of a plant.
    public struct Plant: Sendable, Equatable {
        public var id: String
        public var name: String
        /// 所在市(县、区).
        public var region: String
        /// 行业类别 as the ledger words it.
        public var industry: String

        /// Creates a plant entry.
        public init(id: String, name: String, region: String, industry: String) {
            self.id = id
            self.name = name
            self.region = region
            self.industry = industry
        }

        /// 行业类别 for the config's `industry` (steel | aluminium | dust).
        public static func industryName(_ industry: String) -> String {
            switch industry {
            case "steel": "冶金（钢铁）"
            case "aluminium": "有色金属（铝）"
            case "dust": "粉尘涉爆"
            default: industry
            }
        }
    }

    public var form: Form
    public var plants: [Plant]
    /// 检查单位 of the plant's own findings (`hazards.inspector`).
    public var inspector: String
    /// The weekly table counts from here (nil: from the first record).
    public var campaignStart: BeijingDate?
    /// The ISO week (`2026-W49`) whose Friday 24:00 cuts the form.
    public var week: (year: Int, week: Int)
    public var hazards: [Hazard]
    public var generatedAt: EventTime

    /// Fills `form` for `week` (nil: the week of `generatedAt`).
    public init(form: Form, plants: [Plant], inspector: String, campaignStart: BeijingDate?, week: (year: Int, week: Int)?,
                hazards: [Hazard], generatedAt: EventTime) {
        self.form = form
        self.plants = plants
        self.inspector = inspector
        self.campaignStart = campaignStart
        self.week = week ?? BeijingDate(generatedAt).isoWeek
        self.hazards = hazards
        self.generatedAt = generatedAt
    }

    /// Parses `2026-W49`.
    public static func parseWeek(_ text: String) -> (year: Int, week: Int)? {
        let parts = text.split(separator: "-")
        guard parts.count == 2, parts[0].count == 4, let y = Int(parts[0]), parts[1].first == "W",
              let w = Int(parts[1].dropFirst()), BeijingDate.monday(isoYear: y, week: w) != nil else { return nil }
        return (y, w)
    }

    /// `2026-W49`.
    public var weekName: String { "\(week.year)-W\(week.week < 10 ? "0" : "")\(week.week)" }

    /// Friday 24:00 Beijing time of the week: the cut.
    public var cutoff: EventTime { BeijingDate.monday(isoYear: week.year, week: week.week)!.adding(days: 4).end }
    /// The previous cut: the checklist lists what was found between the two.
    public var previousCutoff: EventTime { cutoff.adding(milliseconds: -7 * 86_400_000) }
    /// Counting starts here.
    public var countsFrom: EventTime { campaignStart?.start ?? EventTime(milliseconds: 0) }

    /// The forms' tables: per plant for the ledger and the checklist, one for the weekly table.
    public var tables: [ReportTable] {
        switch form {
        case .ledger: plants.map(ledger)
        case .checklist: plants.map(checklist)
        case .weekly: [weekly]
        }
    }

    // MARK: The tables

    private func found(_ plant: Plant, from: EventTime) -> [Hazard] {
        hazards.filter { $0.plant == plant.id && $0.foundAt >= from && $0.foundAt < cutoff }
            .sorted { ($0.foundAt, $0.id) < ($1.foundAt, $1.id) }
    }

    /// The status the record had at the cut.
    func status(_ h: Hazard) -> Hazard.Status {
        h.history.last { $0.at < cutoff }?.status ?? .open
    }

    private func overdueAtCut(_ h: Hazard) -> Bool {
        guard let deadline = h.rectification?.deadline, status(h) != .closed else { return false }
        return deadline <= cutoff
    }

    static let ledgerColumns: [ReportTable.Column] = [
        .init("index", "序号", "No."),
        .init("enterprise", "企业名称", "Enterprise"),
        .init("region", "所在市(县、区)", "City (county, district)"),
        .init("industry", "行业类别", "Industry"),
        .init("inspection_stage", "检查环节", "Inspection stage"),
        .init("inspector", "检查单位", "Inspecting unit"),
        .init("inspected_at", "检查时间", "Inspection date"),
        .init("details", "重大隐患明细", "Major hazard details"),
        .init("measures", "整改措施（责任、措施、资金、时限、预案）", "Rectification (responsibility, measures, funds, deadline, plan)"),
        .init("supervising_unit", "挂牌督办单位", "Supervising unit (listed)"),
        .init("penalty", "行政处罚情况", "Administrative penalty"),
        .init("completion", "整改完成情况", "Rectification status"),
        .init("remarks", "备注", "Remarks"),
    ]

    private func ledger(_ plant: Plant) -> ReportTable {
        let rows = found(plant, from: countsFrom).filter { $0.hazardClass == .major }.enumerated().map { i, h -> [ReportTable.Cell] in
            let measures = h.rectification.map {
                "责任：\($0.responsible)；措施：\($0.measures)；资金：\($0.funds)；时限：\(BeijingDate($0.deadline.adding(milliseconds: -1)))；预案：\($0.plan)"
            } ?? "未录入整改措施"
            return [
                .integer(Int64(i + 1)), .text(plant.name), .orEmpty(plant.region), .text(plant.industry), .text("企业自查"),
                .text(inspector), .text(BeijingDate(h.foundAt).description),
                .text("\(h.description)（设备 \(h.equipment)；判定依据：\(h.basis)）"),
                .text(measures), .text("无"), .text("无（企业自查自改）"), .text(completion(h)), .text(remarks(h)),
            ]
        }
        return ReportTable(id: "ledger-\(plant.id)", title: "重大事故隐患台账", english: "Major accident hazard ledger",
                           columns: Self.ledgerColumns, rows: rows)
    }

    private func completion(_ h: Hazard) -> String {
        let s = status(h)
        if s == .closed, let at = h.closedAt, let v = h.verification {
            let how = v.kind == .override ? "负责人批准销号（无数据验证）" : "数据验证 \(v.kind.rawValue)"
            return "已整改销号（\(BeijingDate(at))，\(how)）"
        }
        return s.chinese + (overdueAtCut(h) ? "（已超期）" : "")
    }

    private func remarks(_ h: Hazard) -> String {
        var r = "\(h.id)；报警 \(h.alarmIDs.joined(separator: "、"))"
        if status(h) == .closed, let v = h.verification { r += "；\(v.detail)" }
        return r
    }

    static let checklistColumns: [ReportTable.Column] = [
        .init("index", "序号", "No."),
        .init("description", "隐患描述", "Description"),
        .init("evidence", "现场证据", "Evidence on site"),
        .init("basis", "判定依据", "Basis"),
        .init("type", "隐患类型", "Type"),
        .init("remarks", "备注", "Remarks"),
    ]

    private func checklist(_ plant: Plant) -> ReportTable {
        let rows = found(plant, from: max(previousCutoff, countsFrom)).enumerated().map { i, h -> [ReportTable.Cell] in
            let evidence = "在线监测报警 \(h.alarmIDs.joined(separator: "、"))；数据时段 \(h.evidenceFrom.beijingMinute) 至 \(h.evidenceTo.beijingMinute)（北京时间）"
            return [
                .integer(Int64(i + 1)), .text("\(h.description)（设备 \(h.equipment)）"), .text(evidence), .text(h.basis),
                .text(h.hazardClass.chinese), .text("\(h.id)；\(status(h).chinese)\(overdueAtCut(h) ? "（已超期）" : "")"),
            ]
        }
        return ReportTable(id: "checklist-\(plant.id)", title: "检查问题隐患清单", english: "Checklist of hazards found",
                           columns: Self.checklistColumns, rows: rows)
    }

    static let weeklyColumns: [ReportTable.Column] = [
        .init("enterprise", "企业名称", "Enterprise"),
        .init("general_found", "发现一般问题隐患（条）", "General hazards found"),
        .init("general_rectified", "一般问题隐患已整改（条）", "General hazards rectified"),
        .init("major_found", "发现重大事故隐患（条）", "Major hazards found"),
        .init("major_rectified", "重大事故隐患已整改（条）", "Major hazards rectified"),
        .init("self_inspection", "企业自查自改", "Self-inspection and self-rectification"),
    ]

    /// One plant's counts: found and rectified, general and major, cumulative to the cut.
    public func counts(_ plant: Plant) -> (generalFound: Int, generalRectified: Int, majorFound: Int, majorRectified: Int) {
        let all = found(plant, from: countsFrom)
        let general = all.filter { $0.hazardClass == .general }, major = all.filter { $0.hazardClass == .major }
        return (general.count, general.filter { status($0) == .closed }.count, major.count, major.filter { status($0) == .closed }.count)
    }

    private var weekly: ReportTable {
        let rows = plants.map { plant -> [ReportTable.Cell] in
            let c = counts(plant)
            return [
                .text(plant.name), .integer(Int64(c.generalFound)), .integer(Int64(c.generalRectified)),
                .integer(Int64(c.majorFound)), .integer(Int64(c.majorRectified)),
                .text("发现一般问题隐患\(c.generalFound)条，已整改\(c.generalRectified)条；重大事故隐患\(c.majorFound)条，已整改\(c.majorRectified)条"),
            ]
        }
        return ReportTable(id: "weekly", title: "周调度统计表（企业自查自改）", english: "Weekly dispatch table (self-inspection)",
                           columns: Self.weeklyColumns, rows: rows)
    }

    // MARK: Rendering

    private var title: String {
        switch form {
        case .ledger: "附件2 重大事故隐患台账"
        case .checklist: "附件5 检查问题隐患清单"
        case .weekly: "附件1 周调度统计表"
        }
    }

    private var period: String {
        let from = form == .checklist ? max(previousCutoff, countsFrom) : countsFrom
        let start = from.milliseconds == 0 ? "首条记录" : BeijingDate(from).description
        return "\(weekName)：\(start) 至 \(BeijingDate(cutoff.adding(milliseconds: -1))) 24:00（北京时间，周五截止）"
    }

    private func plant(of t: ReportTable) -> Plant? { plants.first { t.id == "\(form.rawValue)-\($0.id)" } }

    /// The signature lines of 附件5.
    static let signatures = ["检查人员（签字）：", "企业负责人（签字）：", "日期："]

    /// A self-contained A4 page (landscape for the wide ledger), no scripts, all text escaped.
    public func html() -> String {
        var h = "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
        h += "<title>\(HTML.escape("\(title) — \(weekName)"))</title>\n<style>\n\(Self.css(landscape: form == .ledger))</style>\n</head>\n<body>\n"
        h += "<h1>\(HTML.escape(title))</h1>\n<p class=\"period\">\(HTML.escape(period))</p>\n"
        for t in tables {
            let plant = plant(of: t)
            if let plant { h += "<h2>\(HTML.escape(plant.name))</h2>\n" }
            h += "<table>\n<thead><tr>"
            for c in t.columns { h += "<th>\(HTML.escape(c.title))</th>" }
            h += "</tr></thead>\n<tbody>\n"
            if t.rows.isEmpty { h += "<tr><td colspan=\"\(t.columns.count)\" class=\"none\">无 (none)</td></tr>\n" }
            for row in t.rows {
                let late = row.contains { if case .text(let s) = $0 { s.contains("已超期") } else { false } }
                h += late ? "<tr class=\"overdue\">" : "<tr>"
                for cell in row { h += "<td>\(HTML.escape(cell.text))</td>" }
                h += "</tr>\n"
            }
            h += "</tbody>\n</table>\n"
            if form == .checklist {
                h += "<div class=\"signatures\">"
                for s in Self.signatures { h += "<span>\(HTML.escape(s))<span class=\"line\"></span></span>" }
                h += "</div>\n"
            }
        }
        h += "<footer>MeltWatch · 生成于 \(HTML.escape(generatedAt.beijingMinute))（北京时间）· 数据来自在线监测记录</footer>\n</body>\n</html>\n"
        return h
    }

    private static func css(landscape: Bool) -> String {
        """
        @page { size: A4 \(landscape ? "landscape" : "portrait"); margin: 12mm; }
        body { font-family: "Noto Sans CJK SC", "Noto Serif CJK SC", "Source Han Sans SC", sans-serif; font-size: 10pt; color: #000; }
        h1 { text-align: center; font-size: 16pt; margin: 0 0 4mm; }
        h2 { font-size: 12pt; margin: 6mm 0 2mm; }
        .period { text-align: center; margin: 0 0 4mm; }
        table { border-collapse: collapse; width: 100%; page-break-inside: auto; }
        tr { page-break-inside: avoid; }
        th, td { border: 0.5pt solid #000; padding: 1.5mm; vertical-align: top; text-align: left; word-break: break-all; }
        th { background: #eee; }
        tr.overdue td { background: #fdd; color: #900; }
        td.none { text-align: center; color: #555; }
        .signatures { display: flex; gap: 10mm; margin-top: 10mm; }
        .signatures .line { display: inline-block; width: 40mm; border-bottom: 0.5pt solid #000; margin-left: 2mm; }
        footer { margin-top: 6mm; font-size: 8pt; color: #555; }

        """
    }

    /// UTF-8 with a BOM, CRLF, RFC 4180 quoting, formulas neutralised: opens in Excel as is.
    public func csv() -> String {
        var out = "\u{FEFF}"
        func record(_ fields: [String]) { out += fields.joined(separator: ",") + "\r\n" }
        record([AuditReport.csvField(title), AuditReport.csvField(period)])
        for t in tables {
            out += "\r\n"
            if let plant = plant(of: t) { record([AuditReport.csvField(AuditReport.neutralized(plant.name))]) }
            record(t.columns.map { AuditReport.csvField($0.title) })
            for row in t.rows { record(row.map(AuditReport.csvField(_:))) }
            if form == .checklist {
                out += "\r\n"
                for s in Self.signatures { record([AuditReport.csvField(s), ""]) }
            }
        }
        return out
    }

    /// The schema tag of ``json()``.
    public static let jsonSchema = "meltwatch.hazard-form/1"

    /// The same rows as JSON: `{"schema","form","week","cutoff","tables":[{id,title,plant,columns,rows}]}`.
    public func json() -> String {
        var w = JSONWriter()
        w.beginObject()
        w.key("schema"); w.string(Self.jsonSchema)
        w.key("form"); w.string(form.rawValue)
        w.key("title"); w.string(title)
        w.key("week"); w.string(weekName)
        w.key("from"); w.string(form == .checklist ? max(previousCutoff, countsFrom).rfc3339 : (campaignStart?.start.rfc3339))
        w.key("cutoff"); w.string(cutoff.rfc3339)
        w.key("generated_at"); w.string(generatedAt.rfc3339)
        w.key("tables"); w.beginArray()
        for t in tables {
            w.beginObject()
            w.key("id"); w.string(t.id)
            w.key("title"); w.string(t.title)
            w.key("plant"); w.string(plant(of: t)?.id)
            t.writeColumnsAndRows(into: &w)
            if form == .checklist { w.key("signatures"); w.beginArray(); for s in Self.signatures { w.string(s) }; w.endArray() }
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.output
    }
}
