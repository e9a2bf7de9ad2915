import MeltWatchCore

/// HTML text escaping.
enum HTML {
    /// Escapes `& < > " '` so that any text is safe as element content and in quoted attributes.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }
}

extension AuditReport {
    /// The report as one self-contained HTML page: no scripts, no external assets, UTF-8, headings in
    /// Chinese with English in parentheses, an inline SVG evidence chart per alarm and a bar chart of
    /// the alarm load, styled for screen and for printing (A4 landscape). All text is escaped.
    public func html() -> String {
        var h = "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
        h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        h += "<title>\(HTML.escape("审计报告 (Audit report) — \(plantName) — \(ReportFormat.chinaRange(from, to))"))</title>\n"
        h += "<style>\n\(Self.css)</style>\n</head>\n<body>\n"
        h += header()
        h += section(1, ledgerTable, intro: "在线监测数据认定的隐患（重大事故隐患、一般隐患），每条一行；判定依据为《工贸企业重大事故隐患判定标准》（应急管理部令 2023 年第 10 号）条款或地方通知原文。工艺报警是证据而非隐患，见第 5 节。 (One row per hazard record the data witnessed; the basis is quoted verbatim. Process alarms are evidence, not hazards: section 5.)", rowClass: ledgerRowClass)
        h += section(2, interlockTable, intro: "联锁响应时间：自触发（越限开始，而非报警延时结束）至最后一个预期反馈到位 (ms)。中位数与 P95 采用最近秩法（nearest rank），均为实测值；失效次数计入动作次数，但无响应时间。 (Latency from the trip — the start of the excursion, not the end of the alarm's on-delay — to the last expected feedback; nearest-rank percentiles over ok and late trips; failed trips are counted but have no latency.)", rowClass: { row in
            if case .integer(let failed) = row[5], failed > 0 { return "bad" }
            if case .integer(let late) = row[4], late > 0 { return "warn" }
            return nil
        })
        h += section(3, availabilityTable, intro: "可用率 = 信号正常（非中断、非冻结、非坏质量）时长 / 观测时长，精确到 0.01 %。 (Share of observed time each signal was healthy.)", rowClass: { row in
            if case .decimal(let p, _) = row[4], p < 99 { return "warn" }
            return nil
        })
        h += loadSection()
        h += alarmsSection()
        h += section(6, setpointTable, intro: "PLC 报警与联锁设定值的每一次变更（在允许偏差内也记录），与审批值比对；依据忻应急发〔2024〕216号“设置的报警联锁参数值是否符合现场实际”。 (Every change of an audited PLC setpoint, within tolerance or not, against its approved value.)", rowClass: { row in
            if case .text(let conforms) = row[9], conforms.hasPrefix("否") { return "bad" }
            return nil
        })
        h += "<section id=\"timeline\">\n<h2>7. 报警时间线 <span class=\"en\">(Alarm timelines)</span></h2>\n"
        h += table(timelineTable, rowClass: { _ in nil })
        h += "</section>\n"
        h += "<footer>MeltWatch · \(HTML.escape(plantID)) · \(HTML.escape(configHash)) · 生成于 \(ReportFormat.chinaTime(generatedAt)) (UTC+8)</footer>\n"
        h += "</body>\n</html>\n"
        return h
    }

    private func header() -> String {
        var h = "<header>\n<h1>重大事故隐患在线监测审计报告 <span class=\"en\">(Major accident hazard monitoring audit report)</span></h1>\n"
        h += "<p class=\"plant\">\(HTML.escape(plantName))</p>\n"
        h += "<p class=\"period\">报告期 (period)：\(ReportFormat.chinaRange(from, to)) (UTC+8)</p>\n"
        h += table(summaryTable, rowClass: { _ in nil })
        h += "</header>\n"
        return h
    }

    private func section(_ number: Int, _ t: ReportTable, intro: String, rowClass: ([ReportTable.Cell]) -> String?) -> String {
        var h = "<section id=\"\(t.id)\">\n<h2>\(number). \(HTML.escape(t.title)) <span class=\"en\">(\(HTML.escape(t.english)))</span></h2>\n"
        h += "<p class=\"note\">\(HTML.escape(intro))</p>\n"
        h += table(t, rowClass: rowClass)
        h += "</section>\n"
        return h
    }

    private func ledgerRowClass(_ row: [ReportTable.Cell]) -> String? {
        guard case .text(let status) = row[8] else { return nil }
        return status.contains("已超期") ? "bad" : nil
    }

    private func loadSection() -> String {
        var h = "<section id=\"load\">\n<h2>4. 报警负荷 <span class=\"en\">(Alarm load)</span></h2>\n"
        h += "<p class=\"note\">\(HTML.escape("按报告期起点划分的固定 10 分钟窗口统计报警（raised）次数；单窗口 > 10 次为报警泛滥；EEMUA 191 稳态目标为平均每 10 分钟 ≤ 1 次；同一设备同一规则 60 s 内报警 ≥ 3 次为振荡。 (Fixed 10-minute windows from the period start; > 10 raises is a flood; EEMUA 191 target ≤ 1 per 10 min on average; ≥ 3 raises within 60 s is chattering.)"))</p>\n"
        h += "<div class=\"load\">\n"
        h += table(loadTable, rowClass: { row in
            if case .text(let v) = row[1], v.hasPrefix("未达标") { return "bad" }
            return nil
        })
        h += "<figure class=\"chart\">\(load.barChartSVG())<figcaption>每 10 分钟报警数 (alarms per 10 minutes)</figcaption></figure>\n"
        h += "</div>\n"
        h += "<div class=\"pair\">\n"
        for t in [chatteringTable, topRulesTable] {
            h += "<div>\n<h3>\(HTML.escape(t.heading))</h3>\n"
            h += table(t, rowClass: { _ in nil })
            h += "</div>\n"
        }
        h += "</div>\n"
        h += "<details>\n<summary>\(HTML.escape(loadWindowTable.heading))（\(load.windows.count) 个窗口）</summary>\n"
        h += table(loadWindowTable, rowClass: { row in
            if case .text(let flood) = row[3], flood == "是" { return "bad" }
            return nil
        })
        h += "</details>\n</section>\n"
        return h
    }

    private func alarmsSection() -> String {
        var h = "<section id=\"alarms\">\n<h2>5. 报警现场证据 <span class=\"en\">(Alarm evidence)</span></h2>\n"
        h += "<p class=\"note\">\(HTML.escape("每条报警的相关信号曲线：报警前后各 5 分钟（联锁报警 30 秒），虚线为限值，竖线为联锁触发、报警、确认与恢复时刻。 (Each alarm's signals from 5 min before the raise to 5 min after the clear, 30 s for interlock alarms; dashed: limit; vertical lines: trip, raise, acknowledgement, clear.)"))</p>\n"
        if alarms.isEmpty { h += "<p class=\"none\">无 (none)</p>\n" }
        for (i, a) in alarms.enumerated() {
            let row = ledger[i]
            let chart = EvidenceChart(alarm: a, evidence: evidence, options: options)
            h += "<article class=\"alarm\" id=\"alarm-\(i + 1)\">\n"
            h += "<h3>\(i + 1). \(HTML.escape(a.equipment)) · \(HTML.escape(a.rule)) <span class=\"prio \(a.priority.rawValue)\">\(a.priority.rawValue)</span> <span class=\"id\">\(HTML.escape(a.alarmID))</span></h3>\n"
            h += "<dl>\n"
            let items: [(String, String, String)] = [
                ("隐患描述", "hazard", a.message),
                ("现场证据", "evidence", row.evidence.isEmpty ? "—" : row.evidence),
                ("判定依据", "basis", a.basis),
                ("隐患类型", "type", row.hazardType.rawValue),
                ("时间线", "timeline", timeline(a)),
                ("处置情况", "handling", row.status),
            ]
            for (zh, en, v) in items {
                h += "<dt>\(zh) <span class=\"en\">(\(en))</span></dt><dd>\(HTML.escape(v))</dd>\n"
            }
            h += "</dl>\n<figure class=\"chart evidence\">\(chart.svg(title: "\(a.equipment) \(a.rule) 现场证据 (evidence)"))\n"
            let signals = a.signals.isEmpty ? "—" : a.signals.joined(separator: ", ")
            var caption = "信号 (signals)：\(signals)；时间窗 (window)：\(ReportFormat.chinaRange(chart.start, chart.end))"
            for note in chart.notes { caption += "；\(note)" }
            h += "<figcaption>\(HTML.escape(caption))</figcaption></figure>\n</article>\n"
        }
        h += "</section>\n"
        return h
    }

    /// `报警 2026-11-23 16:00:02 → 确认 16:01:10（李四：note）→ 恢复 16:04:30`.
    private func timeline(_ a: AlarmRecord) -> String {
        var parts: [String] = []
        if let t = a.trippedAt { parts.append("联锁触发 \(ReportFormat.chinaTime(t))") }
        parts.append(a.raisedAt.map { "报警 \(ReportFormat.chinaTime($0))" } ?? "报警早于报告期 (raised before the period)")
        if let t = a.escalatedAt { parts.append("升级 \(ReportFormat.chinaTime(t))") }
        if let t = a.acknowledgedAt {
            var who = a.acknowledgedBy ?? ""
            if let note = a.acknowledgementNote, !note.isEmpty { who += who.isEmpty ? note : "：\(note)" }
            parts.append("确认 \(ReportFormat.chinaTime(t))" + (who.isEmpty ? "" : "（\(who)）"))
        }
        if let t = a.shelvedAt { parts.append("搁置 \(ReportFormat.chinaTime(t))" + (a.shelvedBy.map { "（\($0)）" } ?? "")) }
        if let t = a.clearedAt {
            parts.append("恢复 \(ReportFormat.chinaTime(t))")
        } else if a.finalState == .normal {
            parts.append("经确认解除 (latched, ended by acknowledgement)")
        } else {
            parts.append("未恢复 (not cleared)")
        }
        return parts.joined(separator: " → ")
    }

    /// A table with bilingual headings; numbers right-aligned; `rowClass` marks rows (`bad`, `warn`).
    private func table(_ t: ReportTable, rowClass: ([ReportTable.Cell]) -> String?) -> String {
        var h = "<table class=\"t-\(t.id)\">\n<thead><tr>"
        for c in t.columns {
            h += "<th>\(HTML.escape(c.title))<br><span class=\"en\">\(HTML.escape(c.english))</span></th>"
        }
        h += "</tr></thead>\n<tbody>\n"
        if t.rows.isEmpty {
            h += "<tr><td class=\"none\" colspan=\"\(t.columns.count)\">无 (none)</td></tr>\n"
        }
        for row in t.rows {
            h += rowClass(row).map { "<tr class=\"\($0)\">" } ?? "<tr>"
            for cell in row {
                switch cell {
                case .integer, .decimal: h += "<td class=\"num\">\(HTML.escape(cell.text))</td>"
                case .empty: h += "<td class=\"empty\">—</td>"
                case .text(let s): h += "<td>\(HTML.escape(s))</td>"
                }
            }
            h += "</tr>\n"
        }
        h += "</tbody>\n</table>\n"
        return h
    }

    static let css = """
    :root { --ink: #1b1f24; --muted: #5b6570; --rule: #c9d1d9; --head: #eef2f6; --bad: #fde8e8; --warn: #fff4dc; }
    * { box-sizing: border-box; }
    body { margin: 24px 32px; color: var(--ink); font: 14px/1.5 "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
    h1 { font-size: 22px; margin: 0 0 4px; }
    h2 { font-size: 18px; margin: 28px 0 6px; padding-bottom: 4px; border-bottom: 2px solid var(--ink); }
    h3 { font-size: 15px; margin: 18px 0 6px; }
    .en { color: var(--muted); font-weight: normal; font-size: 0.85em; }
    .plant { font-size: 17px; font-weight: 600; margin: 2px 0; }
    .period, .note { color: var(--muted); margin: 2px 0 8px; }
    table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 13px; }
    th, td { border: 1px solid var(--rule); padding: 4px 6px; vertical-align: top; text-align: left; overflow-wrap: break-word; }
    th { background: var(--head); font-weight: 600; }
    th .en { font-size: 11px; }
    td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
    td.empty, td.none { color: var(--muted); text-align: center; }
    p.none { color: var(--muted); }
    tr.bad td { background: var(--bad); }
    tr.warn td { background: var(--warn); }
    /* The summary's item/value rows flow into three pairs per line. */
    table.t-summary { display: block; border: none; }
    table.t-summary thead { display: none; }
    table.t-summary tbody { display: grid; grid-template-columns: repeat(3, max-content minmax(8em, 1fr)); }
    table.t-summary tr { display: contents; }
    table.t-summary td { margin: 0 -1px -1px 0; }
    table.t-summary td:first-child, table.t-load td:first-child { color: var(--muted); }
    table.t-ledger td:nth-child(1) { width: 3em; }
    table.t-ledger td:nth-child(2) { min-width: 9em; }
    table.t-ledger td:nth-child(4) { min-width: 16em; }
    table.t-ledger td:nth-child(8) { white-space: nowrap; }
    table.t-timeline { font-size: 12px; }
    table.t-timeline th { white-space: nowrap; }
    table.t-timeline td:nth-child(2), table.t-summary td { overflow-wrap: anywhere; }
    .load { display: grid; grid-template-columns: minmax(280px, 1fr) 2fr; gap: 16px; align-items: start; }
    .pair { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; align-items: start; }
    table.t-ledger td:nth-child(7), table.t-ledger th:nth-child(7) { white-space: nowrap; }
    figure.chart { margin: 6px 0 12px; }
    figure.chart svg { width: 100%; max-width: 1000px; height: auto; display: block; }
    figcaption { color: var(--muted); font-size: 12px; }
    article.alarm { border-top: 1px solid var(--rule); padding-top: 4px; display: grid; grid-template-columns: minmax(300px, 3fr) 7fr; gap: 0 20px; align-items: start; }
    article.alarm h3 { grid-column: 1 / -1; }
    article.alarm > * { min-width: 0; }
    article.alarm figure.chart { margin-top: 0; }
    article.alarm dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 0; font-size: 13px; }
    article.alarm dt .en { font-size: 11px; }
    article.alarm dt { color: var(--muted); }
    article.alarm dd { margin: 0; }
    .id { color: var(--muted); font-weight: normal; font-size: 12px; }
    .prio { font-size: 12px; padding: 1px 6px; border-radius: 3px; background: #e6e9ee; font-weight: normal; }
    .prio.emergency { background: #c62828; color: #fff; }
    .prio.high { background: #ef6c00; color: #fff; }
    .prio.medium { background: #f9c74f; }
    svg text { font-family: inherit; fill: var(--ink); }
    svg .tick { font-size: 11px; fill: var(--muted); }
    svg .axis-title, svg .legend { font-size: 12px; }
    svg .plot { fill: #fbfcfd; stroke: #9aa5b1; stroke-width: 1; }
    svg .grid { stroke: #e3e8ee; stroke-width: 1; }
    svg .axis { stroke: #9aa5b1; }
    svg .series { fill: none; stroke-width: 1.8; stroke-linejoin: round; }
    svg line.limit { stroke: #c62828; stroke-width: 1.5; stroke-dasharray: 6 4; }
    svg text.limit { fill: #c62828; font-size: 11px; }
    svg line.marker { stroke-width: 1.5; }
    svg line.marker.tripped { stroke: #6d4c41; stroke-dasharray: 1 3; stroke-width: 2; }
    svg line.marker.raised { stroke: #c62828; }
    svg line.marker.acknowledged { stroke: #1565c0; stroke-dasharray: 4 3; }
    svg line.marker.cleared { stroke: #2e7d32; }
    svg line.marker.escalated, svg line.marker.shelved { stroke: #8a3ea8; stroke-dasharray: 2 3; }
    svg text.marker { font-size: 11px; }
    svg text.marker.tripped { fill: #6d4c41; }
    svg text.marker.raised { fill: #c62828; }
    svg text.marker.acknowledged { fill: #1565c0; }
    svg text.marker.cleared { fill: #2e7d32; }
    svg text.marker.escalated, svg text.marker.shelved { fill: #8a3ea8; }
    svg .empty { fill: var(--muted); font-size: 13px; }
    svg .bar { fill: #1f5fa8; }
    svg .bar.high { fill: #e07b00; }
    svg .bar.flood { fill: #c62828; }
    svg .bar-label { font-size: 10px; fill: var(--muted); }
    svg line.threshold { stroke-width: 1.2; stroke-dasharray: 5 4; }
    svg line.threshold.target { stroke: #2e7d32; }
    svg line.threshold.flood { stroke: #c62828; }
    svg text.threshold { font-size: 11px; }
    svg text.threshold.target { fill: #2e7d32; }
    svg text.threshold.flood { fill: #c62828; }
    details summary { cursor: pointer; color: var(--muted); margin: 6px 0; }
    footer { margin-top: 32px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--rule); padding-top: 6px; }
    @page { size: A4 landscape; margin: 12mm; }
    @media print {
      body { margin: 0; font-size: 10pt; }
      table { font-size: 9pt; }
      thead { display: table-header-group; }
      tr, article.alarm, figure.chart { break-inside: avoid; }
      h2 { break-after: avoid; }
      .load, .pair { grid-template-columns: 1fr; }
      article.alarm { grid-template-columns: 3fr 7fr; }
      table.t-timeline { font-size: 7.5pt; }
      table.t-timeline th { white-space: normal; }
      details > summary { display: none; }
    }

    """
}
