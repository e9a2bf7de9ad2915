import MeltWatchCore

/// 隐患类型: the kind of hazard an alarm class stands for, in the inspectors' words.
public enum HazardType: String, Sendable, CaseIterable {
    /// `process`: a limit exceeded (工艺参数超限).
    case processLimit = "工艺参数超限"
    /// `interlock`: an interlock failed, was late or bypassed (联锁失效; late counts: the local notices
    /// ask whether interlock actions are long delayed, and 第十四条 treats an ineffective protective
    /// device as a hazard).
    case interlockFailure = "联锁失效"
    /// `device`: a monitoring device failed (stale, frozen, bad quality, chattering) — 第十四条.
    case monitoringDeviceFailure = "监测装置失效"
    /// `system`: the monitoring system itself (broker lost, journal error, backlog).
    case systemFault = "监测系统故障"

    /// The type for an alarm class.
    public init(_ alarmClass: AlarmEvent.AlarmClass) {
        switch alarmClass {
        case .process: self = .processLimit
        case .interlock: self = .interlockFailure
        case .device: self = .monitoringDeviceFailure
        case .system: self = .systemFault
        }
    }
}

/// One row of the hazard ledger (隐患台账), one per alarm, in the column order the regulator's
/// ledger uses: 序号 / 企业 / 设备 / 隐患描述 / 现场证据 / 判定依据 / 隐患类型 / 发现时间 / 处置情况.
public struct HazardLedgerRow: Sendable, Equatable {
    /// 序号: 1-based, the alarm's position in ``AuditReport/alarms``.
    public var index: Int
    /// 企业: the plant's name.
    public var plant: String
    /// 设备: the equipment id.
    public var equipment: String
    /// 隐患描述: the alarm's message.
    public var description: String
    /// 现场证据: value vs limit with unit, interlock latency, failure cause; empty when the alarm has none.
    public var evidence: String
    /// 判定依据: the basis, verbatim.
    public var basis: String
    /// 隐患类型.
    public var hazardType: HazardType
    /// 发现时间: when the alarm was raised (or first seen, when raised before the period).
    public var foundAt: EventTime
    /// 发现时间 as shown: China Standard Time, `2026-11-23 16:00:02`.
    public var foundAtText: String
    /// 处置情况.
    public var status: String
}

extension HazardLedgerRow {
    /// The row of the `index`-th alarm (1-based).
    init(index: Int, plantName: String, alarm a: AlarmRecord) {
        self.index = index
        plant = plantName
        equipment = a.equipment
        description = a.message
        evidence = Self.evidence(of: a)
        basis = a.basis
        hazardType = HazardType(a.alarmClass)
        foundAt = a.firstSeen
        foundAtText = ReportFormat.chinaTime(a.firstSeen) + (a.raisedAt == nil ? "（报告期前已发生）" : "")
        status = a.statusText
    }

    /// `测量值 82.5 m3/h，限值 100 m3/h；联锁动作耗时 2600 ms；原因：…`, the parts that the alarm has.
    static func evidence(of a: AlarmRecord) -> String {
        let unit = a.unit.map { " \($0)" } ?? ""
        var parts: [String] = []
        switch (a.value, a.limit) {
        case let (v?, l?): parts.append("测量值 \(ReportFormat.number(v))\(unit)，限值 \(ReportFormat.number(l))\(unit)")
        case let (v?, nil): parts.append("测量值 \(ReportFormat.number(v))\(unit)")
        case let (nil, l?): parts.append("限值 \(ReportFormat.number(l))\(unit)")
        case (nil, nil): break
        }
        if let latency = a.latencyMilliseconds { parts.append("联锁动作耗时 \(latency) ms") }
        if let cause = a.cause, !cause.isEmpty { parts.append("原因：\(cause)") }
        return parts.joined(separator: "；")
    }
}
