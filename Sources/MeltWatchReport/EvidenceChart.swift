import MeltWatchCore

/// What the evidence chart of one alarm shows: its signals' readings from a little before the raise
/// to a little after the clear, the limit, and the raise / acknowledge / clear moments.
///
/// Signals are grouped into one panel per unit (booleans in their own 0/1 panel), stacked in one SVG.
/// The limit line is drawn only where it is unambiguous: one signal whose unit is the alarm's unit
/// (a flow-difference limit is about inlet − outlet, not about either flow, so it is stated in the
/// caption instead).
struct EvidenceChart: Sendable {
    struct Series: Sendable {
        var key: SignalKey
        var points: [EvidencePoint]
    }

    struct Panel: Sendable {
        /// nil: boolean signals (0/1).
        var unit: String?
        var series: [Series]
        /// Drawn as a horizontal dashed line.
        var limit: Double?
    }

    enum MarkerKind: Sendable {
        case tripped, raised, acknowledged, cleared, escalated, shelved
    }

    struct Marker: Sendable {
        var time: EventTime
        var kind: MarkerKind
        var label: String
    }

    /// Above this many points a series is reduced to the minimum and maximum of each time bucket.
    static let maxPoints = 2_000

    var start: EventTime
    var end: EventTime
    var panels: [Panel]
    var markers: [Marker]
    /// Said below the chart (e.g. a limit not drawn).
    var notes: [String]

    init(alarm a: AlarmRecord, evidence: [SignalKey: EvidenceSeries], options: AuditReport.Options) {
        let pad = a.alarmClass == .interlock ? options.interlockEvidencePaddingMilliseconds : options.evidencePaddingMilliseconds
        let first = min(a.trippedAt ?? a.firstSeen, a.raisedAt ?? a.firstSeen)
        let last = max(first, a.clearedAt ?? a.lastSeen)
        let start = first.adding(milliseconds: -pad)
        let end = last.adding(milliseconds: pad)
        self.start = start
        self.end = end

        var groups: [(unit: String?, series: [Series])] = []
        for signal in a.signals {
            let key = SignalKey(equipment: a.equipment, signal: signal)
            guard let source = evidence[key] else { continue }
            let points = Self.reduce(Self.slice(source.points, from: start, to: end), from: start, to: end)
            let series = Series(key: key, points: points)
            if let g = groups.firstIndex(where: { $0.unit == source.unit }) {
                groups[g].series.append(series)
            } else {
                groups.append((source.unit, [series]))
            }
        }
        var notes: [String] = []
        panels = groups.map { g in
            var limit: Double?
            if let l = a.limit, let unit = a.unit, g.unit == unit {
                if g.series.count == 1 { limit = l } else {
                    notes.append("限值 \(ReportFormat.number(l)) \(unit) 针对计算值（如进出水流量差），图中未画出 (limit applies to a derived value)")
                }
            }
            return Panel(unit: g.unit, series: g.series, limit: limit)
        }
        if panels.allSatisfy({ $0.series.allSatisfy(\.points.isEmpty) }) {
            notes.append(a.signals.isEmpty ? "此报警无关联信号 (no signals)" : "时间窗内无采样数据 (no readings in this window)")
        }

        var markers: [Marker] = []
        if let t = a.trippedAt { markers.append(Marker(time: t, kind: .tripped, label: "联锁触发 \(ReportFormat.chinaClock(t))")) }
        if let t = a.raisedAt { markers.append(Marker(time: t, kind: .raised, label: "报警 \(ReportFormat.chinaClock(t))")) }
        if let t = a.acknowledgedAt {
            let by = a.acknowledgedBy.map { " \($0)" } ?? ""
            markers.append(Marker(time: t, kind: .acknowledged, label: "确认\(by) \(ReportFormat.chinaClock(t))"))
        }
        if let t = a.escalatedAt { markers.append(Marker(time: t, kind: .escalated, label: "升级 \(ReportFormat.chinaClock(t))")) }
        if let t = a.shelvedAt { markers.append(Marker(time: t, kind: .shelved, label: "搁置 \(ReportFormat.chinaClock(t))")) }
        if let t = a.clearedAt { markers.append(Marker(time: t, kind: .cleared, label: "恢复 \(ReportFormat.chinaClock(t))")) }
        self.markers = markers.filter { $0.time >= start && $0.time <= end }.sorted { $0.time < $1.time }
        self.notes = notes
    }

    /// The points with times in `[from, to]`; `points` is sorted by time.
    static func slice(_ points: [EvidencePoint], from: EventTime, to: EventTime) -> ArraySlice<EvidencePoint> {
        func lowerBound(_ t: EventTime, inclusive: Bool) -> Int {
            var lo = 0, hi = points.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if points[mid].time < t || (!inclusive && points[mid].time == t) { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
        return points[lowerBound(from, inclusive: true)..<lowerBound(to, inclusive: false)]
    }

    /// At most ``maxPoints``: past that, the minimum and maximum of each of `maxPoints / 2` time
    /// buckets, in time order, so that peaks and dips survive the reduction.
    static func reduce(_ points: ArraySlice<EvidencePoint>, from: EventTime, to: EventTime) -> [EvidencePoint] {
        guard points.count > maxPoints else { return Array(points) }
        let buckets = Int64(maxPoints / 2)
        let span = max(1, to.milliseconds(since: from))
        var out: [EvidencePoint] = []
        out.reserveCapacity(maxPoints)
        var current: Int64 = -1
        var lowest = points[points.startIndex], highest = lowest
        func flush() {
            if lowest.time <= highest.time { out.append(lowest); if highest != lowest { out.append(highest) } }
            else { out.append(highest); out.append(lowest) }
        }
        for p in points {
            let b = min(buckets - 1, p.time.milliseconds(since: from) * buckets / span)
            if b != current {
                if current >= 0 { flush() }
                current = b
                lowest = p
                highest = p
            } else {
                if p.value < lowest.value { lowest = p }
                if p.value > highest.value { highest = p }
            }
        }
        flush()
        return out
    }
}
