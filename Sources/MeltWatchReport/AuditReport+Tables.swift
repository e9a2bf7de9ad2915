import MeltWatchCore
import MeltWatchHazards

extension AuditReport {
    /// Every table of the report in document order; HTML, CSV and JSON all render exactly these rows.
    public var tables: [ReportTable] {
        [summaryTable, ledgerTable, interlockTable, setpointTable, availabilityTable, loadTable, loadWindowTable,
         chatteringTable, topRulesTable, timelineTable]
    }

    /// 报告概况: plant, period, generation, totals.
    public var summaryTable: ReportTable {
        typealias C = ReportTable.Cell
        let rows: [[C]] = [
            [.text("企业 (plant)"), .text(plantName)],
            [.text("企业编号 (plant id)"), .text(plantID)],
            [.text("报告期 (period, UTC+8)"), .text(ReportFormat.chinaRange(from, to))],
            [.text("生成时间 (generated, UTC+8)"), .text(ReportFormat.chinaTime(generatedAt))],
            [.text("配置哈希 (config hash)"), .text(configHash)],
            [.text("报警数 (alarms)"), .integer(Int64(alarms.count))],
            [.text("期内报警触发次数 (raises in period)"), .integer(Int64(load.totalRaised))],
            [.text("联锁动作次数 (interlock trips)"), .integer(Int64(interlocks.reduce(0) { $0 + $1.count }))],
            [.text("联锁失效次数 (failed interlocks)"), .integer(Int64(interlocks.reduce(0) { $0 + $1.failed }))],
            [.text("发现重大事故隐患 (major hazards found)"), .integer(Int64(hazards.filter { $0.hazardClass == .major }.count))],
            [.text("发现一般隐患 (general hazards found)"), .integer(Int64(hazards.filter { $0.hazardClass == .general }.count))],
        ]
        return ReportTable(id: "summary", title: "报告概况", english: "Summary",
                           columns: [.init("item", "项目", "Item"), .init("value", "内容", "Value")], rows: rows)
    }

    /// 隐患台账: the regulator's nine columns, one row per hazard record found in the period (domain.md
    /// "Hazards": what Order No. 10 names, witnessed in the data). A process alarm is not a hazard:
    /// it stays in the report as evidence (the alarm evidence and timelines).
    public var ledgerTable: ReportTable {
        let columns: [ReportTable.Column] = [
            .init("index", "序号", "No."), .init("plant", "企业", "Plant"), .init("equipment", "设备", "Equipment"),
            .init("description", "隐患描述", "Hazard"), .init("evidence", "现场证据", "Evidence"),
            .init("basis", "判定依据", "Basis"), .init("hazard_type", "隐患类型", "Type"),
            .init("found_at", "发现时间", "Found (UTC+8)"), .init("status", "处置情况", "Handling"),
        ]
        let rows = hazards.enumerated().map { i, h -> [ReportTable.Cell] in
            [.integer(Int64(i + 1)), .text(plantName), .text(h.equipment), .text("\(h.description)（\(h.id)）"), .text(Self.evidence(h, alarms: alarms)),
             .text(h.basis), .text(h.hazardClass.chinese), .text(ReportFormat.chinaTime(h.foundAt)), .text(Self.handling(h))]
        }
        return ReportTable(id: "ledger", title: "隐患台账", english: "Hazard ledger", columns: columns, rows: rows)
    }

    /// 现场证据 of a hazard: its alarms (with their number in the alarm evidence section when the
    /// report has them) and the data window.
    static func evidence(_ h: Hazard, alarms: [AlarmRecord]) -> String {
        let named = h.alarmIDs.map { id in alarms.firstIndex { $0.alarmID == id }.map { "\(id)（报警证据 \($0 + 1)）" } ?? id }
        return "报警 \(named.joined(separator: "、"))；数据时段 \(ReportFormat.chinaRange(h.evidenceFrom, h.evidenceTo))"
    }

    /// 处置情况 of a hazard: its status, the rectification's 责任人 and 时限, how it was closed.
    static func handling(_ h: Hazard) -> String {
        var parts = [h.status.chinese + (h.overdue ? "（已超期）" : "")]
        if let r = h.rectification { parts.append("责任人 \(r.responsible)，时限 \(ReportFormat.chinaTime(r.deadline))") }
        if let v = h.verification, let at = h.closedAt {
            parts.append("\(ReportFormat.chinaTime(at)) 由\(h.closedBy ?? "?")销号（\(v.kind.rawValue)：\(v.detail)）")
        } else if let e = h.evidence {
            parts.append("已有数据验证（\(e.kind.rawValue)：\(e.detail)）")
        }
        return parts.joined(separator: "；")
    }

    /// 联锁响应统计: count, outcomes and latency figures per (equipment, trigger).
    public var interlockTable: ReportTable {
        let columns: [ReportTable.Column] = [
            .init("equipment", "设备", "Equipment"), .init("trigger", "触发规则", "Trigger"),
            .init("count", "动作次数", "Trips"), .init("ok", "正常", "OK"), .init("late", "延迟", "Late"),
            .init("failed", "失效", "Failed"), .init("min_ms", "最小 ms", "Min ms"),
            .init("median_ms", "中位数 ms", "Median ms"), .init("p95_ms", "P95 ms", "P95 ms"),
            .init("max_ms", "最大 ms", "Max ms"),
        ]
        let rows = interlocks.map { s -> [ReportTable.Cell] in
            [.text(s.equipment), .text(s.trigger), .integer(Int64(s.count)), .integer(Int64(s.ok)),
             .integer(Int64(s.late)), .integer(Int64(s.failed)), .orEmpty(s.minimum), .orEmpty(s.median),
             .orEmpty(s.p95), .orEmpty(s.maximum)]
        }
        return ReportTable(id: "interlocks", title: "联锁响应统计", english: "Interlock latency statistics",
                           columns: columns, rows: rows)
    }

    /// 设定值变更记录: every change of an audited PLC setpoint, within tolerance or not.
    public var setpointTable: ReportTable {
        let columns: [ReportTable.Column] = [
            .init("time", "时间", "Time (UTC+8)"), .init("equipment", "设备", "Equipment"), .init("setpoint", "设定值", "Setpoint"),
            .init("source", "来源", "Source"), .init("previous", "原值", "Previous"), .init("value", "新值", "Value"),
            .init("approved", "审批值", "Approved"), .init("tolerance", "允许偏差", "Tolerance"), .init("unit", "单位", "Unit"),
            .init("conforms", "是否符合", "Conforms"),
        ]
        let rows = setpointChanges.map { c -> [ReportTable.Cell] in
            [.text(ReportFormat.chinaTime(c.time)), .text(c.equipment), .text(c.name), .text(c.source),
             c.previous.map { .decimal($0, decimals: 3) } ?? .empty, .decimal(c.value, decimals: 3),
             .decimal(c.approved, decimals: 3), .decimal(c.tolerance, decimals: 3), .orEmpty(c.unit),
             .text(c.mismatch ? "否 (mismatch)" : "是 (ok)")]
        }
        return ReportTable(id: "setpoints", title: "设定值变更记录", english: "Setpoint changes", columns: columns, rows: rows)
    }

    /// 传感器可用率: healthy share per signal.
    public var availabilityTable: ReportTable {
        let columns: [ReportTable.Column] = [
            .init("equipment", "设备", "Equipment"), .init("signal", "信号", "Signal"),
            .init("healthy", "正常时长 h:mm:ss", "Healthy"), .init("observed", "观测时长 h:mm:ss", "Observed"),
            .init("availability_percent", "可用率 %", "Availability %"),
        ]
        let rows = availability.map { a -> [ReportTable.Cell] in
            [.text(a.key.equipment), .text(a.key.signal),
             .text(ReportFormat.duration(milliseconds: a.healthyMilliseconds)),
             .text(ReportFormat.duration(milliseconds: a.observedMilliseconds)),
             a.hundredthsOfPercent.map { .decimal(Double($0) / 100, decimals: 2) } ?? .empty]
        }
        return ReportTable(id: "availability", title: "传感器可用率", english: "Sensor availability",
                           columns: columns, rows: rows)
    }

    /// 报警负荷: the EEMUA 191 figures.
    public var loadTable: ReportTable {
        typealias C = ReportTable.Cell
        let peak: C = load.peak.map { .text(ReportFormat.chinaRange($0.start, $0.end)) } ?? .empty
        let rows: [[C]] = [
            [.text("报警总数 (alarms raised)"), .integer(Int64(load.totalRaised))],
            [.text("10 分钟窗口数 (10-minute windows)"), .integer(Int64(load.windows.count))],
            [.text("平均每 10 分钟报警数 (average per 10 min)"), .decimal(load.averagePerWindow, decimals: 2)],
            [.text("峰值窗口 (peak window, UTC+8)"), peak],
            [.text("峰值窗口报警数 (alarms in peak window)"), .integer(Int64(load.peak?.raised ?? 0))],
            [.text("报警泛滥窗口数 (flood windows, > 10 / 10 min)"), .integer(Int64(load.floodWindows))],
            [.text("超过目标的窗口数 (windows > 1 / 10 min)"), .integer(Int64(load.windowsAboveTarget))],
            [.text("EEMUA 191 目标 ≤ 1 / 10 min (target)"), .text(load.meetsEEMUATarget ? "达标 (met)" : "未达标 (not met)")],
            [.text("振荡报警数 (chattering alarms)"), .integer(Int64(load.chattering.count))],
        ]
        return ReportTable(id: "load", title: "报警负荷", english: "Alarm load",
                           columns: [.init("figure", "指标", "Figure"), .init("value", "数值", "Value")], rows: rows)
    }

    /// 每 10 分钟报警数: one row per window.
    public var loadWindowTable: ReportTable {
        let columns: [ReportTable.Column] = [
            .init("start", "开始", "Start (UTC+8)"), .init("end", "结束", "End (UTC+8)"),
            .init("alarms", "报警数", "Alarms"), .init("flood", "报警泛滥", "Flood"),
        ]
        let rows = load.windows.map { w -> [ReportTable.Cell] in
            [.text(ReportFormat.chinaTime(w.start)), .text(ReportFormat.chinaTime(w.end)),
             .integer(Int64(w.raised)), .text(w.isFlood ? "是" : "否")]
        }
        return ReportTable(id: "load_windows", title: "每 10 分钟报警数", english: "Alarms per 10 minutes",
                           columns: columns, rows: rows)
    }

    /// 振荡报警: rules raising ≥ 3 times within 60 s.
    public var chatteringTable: ReportTable {
        let columns: [ReportTable.Column] = [
            .init("equipment", "设备", "Equipment"), .init("rule", "规则", "Rule"),
            .init("raises", "期内报警次数", "Raises"), .init("max_per_minute", "60 s 内最多次数", "Max per 60 s"),
            .init("episodes", "振荡次数", "Episodes"), .init("first_at", "首次振荡时间", "First (UTC+8)"),
            .init("reported", "振荡报警", "Reported"),
        ]
        let rows = load.chattering.map { c -> [ReportTable.Cell] in
            [.text(c.equipment), .text(c.rule), .integer(Int64(c.raises)), .integer(Int64(c.maxRaisesPerMinute)),
             .integer(Int64(c.episodes)), .orEmpty(c.firstChatterAt.map(ReportFormat.chinaTime)),
             .integer(Int64(c.reportedAlarms))]
        }
        return ReportTable(id: "chattering", title: "振荡报警", english: "Chattering alarms", columns: columns, rows: rows)
    }

    /// 报警次数前 10: the most frequent alarms.
    public var topRulesTable: ReportTable {
        let total = max(1, load.totalRaised)
        let columns: [ReportTable.Column] = [
            .init("rank", "排名", "Rank"), .init("equipment", "设备", "Equipment"), .init("rule", "规则", "Rule"),
            .init("class", "类别", "Class"), .init("priority", "优先级", "Priority"),
            .init("raises", "报警次数", "Raises"), .init("share_percent", "占比 %", "Share %"),
        ]
        let rows = load.topRules.map { r -> [ReportTable.Cell] in
            [.integer(Int64(r.rank)), .text(r.equipment), .text(r.rule), .text(r.alarmClass.rawValue),
             .text(r.priority.rawValue), .integer(Int64(r.raises)),
             .decimal(Double(r.raises) * 100 / Double(total), decimals: 1)]
        }
        return ReportTable(id: "top_rules", title: "报警次数前 10", english: "Top 10 alarms", columns: columns, rows: rows)
    }

    /// 报警时间线: raised, acknowledged by whom, cleared, per alarm; 序号 as in the ledger.
    public var timelineTable: ReportTable {
        let columns: [ReportTable.Column] = [
            .init("index", "序号", "No."), .init("alarm_id", "报警编号", "Alarm id"),
            .init("equipment", "设备", "Equipment"), .init("rule", "规则", "Rule"),
            .init("priority", "优先级", "Priority"), .init("tripped_at", "联锁触发时间", "Interlock tripped"),
            .init("raised_at", "报警时间", "Raised"),
            .init("acknowledged_at", "确认时间", "Acknowledged"), .init("acknowledged_by", "确认人", "By"),
            .init("note", "确认备注", "Note"), .init("cleared_at", "恢复时间", "Cleared"),
            .init("escalated_at", "升级时间", "Escalated"), .init("shelved", "搁置", "Shelved"),
            .init("state", "状态", "State"), .init("status", "处置情况", "Handling"),
        ]
        let t = { (time: EventTime?) in ReportTable.Cell.orEmpty(time.map(ReportFormat.chinaTime)) }
        let rows = alarms.enumerated().map { i, a -> [ReportTable.Cell] in
            let shelved = a.shelvedAt.map { ReportFormat.chinaTime($0) + (a.shelvedBy.map { "（\($0)）" } ?? "") }
            return [.integer(Int64(i + 1)), .text(a.alarmID), .text(a.equipment), .text(a.rule),
                    .text(a.priority.rawValue), t(a.trippedAt), t(a.raisedAt), t(a.acknowledgedAt), .orEmpty(a.acknowledgedBy),
                    .orEmpty(a.acknowledgementNote), t(a.clearedAt), t(a.escalatedAt), .orEmpty(shelved),
                    .text(a.finalState.rawValue), .text(a.statusText)]
        }
        return ReportTable(id: "timeline", title: "报警时间线", english: "Alarm timelines", columns: columns, rows: rows)
    }
}
