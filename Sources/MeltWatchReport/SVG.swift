import MeltWatchCore

/// Inline SVG for the report: axes, the evidence charts and the alarm-load bar chart. Styling
/// (fonts, colours of classes) comes from the page's CSS, so the SVG stays small and prints well.
enum SVG {
    /// Series colours, distinguishable in print.
    static let palette = ["#1f5fa8", "#e07b00", "#2a8f3a", "#8a3ea8", "#8c564b", "#d0459c", "#138d9c"]

    /// A coordinate with one decimal.
    static func n(_ x: Double) -> String { ReportFormat.fixed(x, decimals: 1) }

    /// A numeric axis: rounded bounds and tick values at a 1, 2 or 5 × 10^k step.
    struct Axis {
        var lo: Double
        var hi: Double
        var ticks: [Double]

        init(min minValue: Double, max maxValue: Double, targetTicks: Int = 4, minimumStep: Double = 0) {
            var lo = minValue, hi = maxValue
            if !lo.isFinite || !hi.isFinite { (lo, hi) = (0, 1) }
            if hi - lo < 1e-9 {
                let d = Swift.max(abs(lo) * 0.1, 1)
                (lo, hi) = (lo - d, hi + d)
            }
            let raw = (hi - lo) / Double(targetTicks)
            var magnitude = 1.0
            while magnitude * 10 <= raw { magnitude *= 10 }
            while magnitude > raw { magnitude /= 10 }
            let step = Swift.max(minimumStep, [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw)
            self.lo = (lo / step).rounded(.down) * step
            self.hi = (hi / step).rounded(.up) * step
            var ticks: [Double] = []
            var v = self.lo
            while v <= self.hi + step * 1e-6 { ticks.append(v); v += step }
            self.ticks = ticks
        }
    }

    /// Tick times on round local (UTC+8) clock times, at most `maxTicks`, and whether labels need seconds.
    static func timeTicks(start: EventTime, end: EventTime, maxTicks: Int = 8) -> (ticks: [EventTime], seconds: Bool) {
        let steps: [Int64] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400]
            .map { $0 * 1000 }
        let span = max(1, end.milliseconds(since: start))
        let step = steps.first { span / $0 <= Int64(maxTicks) } ?? (span / Int64(maxTicks) / 86_400_000 + 1) * 86_400_000
        let offset = ReportFormat.chinaOffsetMilliseconds
        let local = start.milliseconds + offset
        var t = (local / step + (local % step > 0 ? 1 : 0)) * step - offset
        var ticks: [EventTime] = []
        while t <= end.milliseconds {
            ticks.append(EventTime(milliseconds: t))
            t += step
        }
        return (ticks, step < 60_000)
    }

    /// Assigns each label (at x, about `width` wide) the first of up to three rows where it does not
    /// overlap the previous label; returns the rows.
    static func labelRows(_ labels: [(x: Double, width: Double)]) -> [Int] {
        var rowEnds: [Double] = []
        return labels.map { label in
            for (i, end) in rowEnds.enumerated() where end + 6 < label.x {
                rowEnds[i] = label.x + label.width
                return i
            }
            if rowEnds.count < 3 {
                rowEnds.append(label.x + label.width)
                return rowEnds.count - 1
            }
            return rowEnds.count - 1
        }
    }

    /// Rough rendered width of a label: CJK characters are about twice as wide as Latin ones.
    static func textWidth(_ s: String, fontSize: Double = 11) -> Double {
        s.unicodeScalars.reduce(0) { $0 + ($1.value > 0x2E80 ? fontSize : fontSize * 0.6) }
    }
}

extension EvidenceChart {
    /// The chart as one `<svg class="evidence-chart">` element; `title` is its accessible name.
    func svg(title: String) -> String {
        let width = 1000.0, left = 76.0, right = 24.0
        let plotW = width - left - right
        let span = Double(max(1, end.milliseconds(since: start)))
        func x(_ t: EventTime) -> Double { left + Double(t.milliseconds(since: start)) / span * plotW }

        let labels = markers.map { m in (x: x(m.time), width: SVG.textWidth(m.label) + 6) }
        let rows = SVG.labelRows(labels)
        let rowCount = (rows.max() ?? -1) + 1
        let top = 10 + Double(rowCount) * 15
        let panelHeights = (panels.isEmpty ? [Panel(unit: nil, series: [], limit: nil)] : panels)
            .map { $0.unit == nil ? 90.0 : 150.0 }
        let gap = 18.0
        let plotBottom = top + panelHeights.reduce(0, +) + gap * Double(panelHeights.count - 1)
        let legendY = plotBottom + 46
        let height = legendY + 16

        var s = "<svg class=\"evidence-chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(SVG.n(width)) \(SVG.n(height))\" role=\"img\">"
        s += "<title>\(HTML.escape(title))</title>"

        // Time grid and axis under the last panel.
        let (ticks, seconds) = SVG.timeTicks(start: start, end: end)
        for t in ticks {
            let tx = SVG.n(x(t))
            s += "<line class=\"grid\" x1=\"\(tx)\" y1=\"\(SVG.n(top))\" x2=\"\(tx)\" y2=\"\(SVG.n(plotBottom))\"/>"
            let label = seconds ? ReportFormat.chinaClock(t) : ReportFormat.chinaMinute(t)
            s += "<text class=\"tick\" x=\"\(tx)\" y=\"\(SVG.n(plotBottom + 14))\" text-anchor=\"middle\">\(label)</text>"
        }
        s += "<text class=\"axis-title\" x=\"\(SVG.n(left + plotW / 2))\" y=\"\(SVG.n(plotBottom + 32))\" text-anchor=\"middle\">时间 (time, UTC+8)</text>"

        var y0 = top
        var colour = 0
        var legend: [(String, String)] = []
        for (i, panel) in (panels.isEmpty ? [Panel(unit: nil, series: [], limit: nil)] : panels).enumerated() {
            let h = panelHeights[i]
            s += drawPanel(panel, x: x, left: left, plotW: plotW, y0: y0, height: h, colour: &colour, legend: &legend)
            y0 += h + gap
        }
        if panels.allSatisfy({ $0.series.allSatisfy(\.points.isEmpty) }) {
            s += "<text class=\"empty\" x=\"\(SVG.n(left + plotW / 2))\" y=\"\(SVG.n(top + 40))\" text-anchor=\"middle\">无采样数据 (no readings)</text>"
        }

        // Raise / acknowledge / clear markers across all panels, labels in rows above.
        for (m, row) in zip(markers, rows) {
            let mx = x(m.time)
            let cls = "marker \(m.kind)"
            s += "<line class=\"\(cls)\" x1=\"\(SVG.n(mx))\" y1=\"\(SVG.n(top - 2))\" x2=\"\(SVG.n(mx))\" y2=\"\(SVG.n(plotBottom))\"/>"
            let ly = 10 + Double(row) * 15 + 10
            let anchorEnd = mx + SVG.textWidth(m.label) + 6 > width
            s += "<text class=\"\(cls)\" x=\"\(SVG.n(anchorEnd ? mx - 3 : mx + 3))\" y=\"\(SVG.n(ly))\"\(anchorEnd ? " text-anchor=\"end\"" : "")>\(HTML.escape(m.label))</text>"
        }

        // Legend.
        var lx = left
        for (name, stroke) in legend {
            s += "<line x1=\"\(SVG.n(lx))\" y1=\"\(SVG.n(legendY - 4))\" x2=\"\(SVG.n(lx + 18))\" y2=\"\(SVG.n(legendY - 4))\" stroke=\"\(stroke)\" stroke-width=\"2.5\"/>"
            s += "<text class=\"legend\" x=\"\(SVG.n(lx + 23))\" y=\"\(SVG.n(legendY))\">\(HTML.escape(name))</text>"
            lx += 34 + SVG.textWidth(name)
        }
        s += "</svg>"
        return s
    }

    private func drawPanel(
        _ panel: Panel, x: (EventTime) -> Double, left: Double, plotW: Double, y0: Double, height: Double,
        colour: inout Int, legend: inout [(String, String)]
    ) -> String {
        let values = panel.series.flatMap { $0.points.map(\.value) } + (panel.limit.map { [$0] } ?? [])
        let axis = panel.unit == nil
            ? SVG.Axis(min: 0, max: 1, targetTicks: 1)
            : SVG.Axis(min: values.min() ?? 0, max: values.max() ?? 1)
        let (lo, hi) = panel.unit == nil ? (-0.15, 1.15) : (axis.lo, axis.hi)
        func y(_ v: Double) -> Double { y0 + height - (v - lo) / (hi - lo) * height }

        var s = "<rect class=\"plot\" x=\"\(SVG.n(left))\" y=\"\(SVG.n(y0))\" width=\"\(SVG.n(plotW))\" height=\"\(SVG.n(height))\"/>"
        for v in axis.ticks {
            let ty = SVG.n(y(v))
            s += "<line class=\"grid\" x1=\"\(SVG.n(left))\" y1=\"\(ty)\" x2=\"\(SVG.n(left + plotW))\" y2=\"\(ty)\"/>"
            let label = panel.unit == nil ? (v >= 0.5 ? "1 是" : "0 否") : ReportFormat.number(v, maxDecimals: 6)
            s += "<text class=\"tick\" x=\"\(SVG.n(left - 6))\" y=\"\(SVG.n(y(v) + 4))\" text-anchor=\"end\">\(label)</text>"
        }
        let axisTitle = panel.unit.map { HTML.escape($0) } ?? "状态 (state)"
        let cy = SVG.n(y0 + height / 2)
        s += "<text class=\"axis-title\" x=\"14\" y=\"\(cy)\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(cy))\">\(axisTitle)</text>"

        if let limit = panel.limit {
            let ly = SVG.n(y(limit))
            s += "<line class=\"limit\" x1=\"\(SVG.n(left))\" y1=\"\(ly)\" x2=\"\(SVG.n(left + plotW))\" y2=\"\(ly)\"/>"
            let text = "限值 limit \(ReportFormat.number(limit)) \(panel.unit ?? "")"
            s += "<text class=\"limit\" x=\"\(SVG.n(left + plotW - 4))\" y=\"\(SVG.n(y(limit) - 4))\" text-anchor=\"end\">\(HTML.escape(text))</text>"
        }

        for series in panel.series {
            let stroke = SVG.palette[colour % SVG.palette.count]
            colour += 1
            legend.append((series.key.signal + (panel.unit.map { " (\($0))" } ?? " (0/1)"), stroke))
            guard !series.points.isEmpty else { continue }
            let d = panel.unit == nil
                ? stepPath(series.points, x: x, y: y)
                : linePath(series.points, x: x, y: y)
            s += "<path class=\"series\" d=\"\(d)\" stroke=\"\(stroke)\"/>"
            if series.points.count == 1, let p = series.points.first {
                s += "<circle cx=\"\(SVG.n(x(p.time)))\" cy=\"\(SVG.n(y(p.value)))\" r=\"2.5\" fill=\"\(stroke)\"/>"
            }
        }
        return s
    }

    /// Straight segments, broken where readings stop for much longer than usual (a stale signal
    /// shows as a gap, not as a line drawn across it).
    private func linePath(_ points: [EvidencePoint], x: (EventTime) -> Double, y: (Double) -> Double) -> String {
        let gaps = zip(points, points.dropFirst()).map { $1.time.milliseconds(since: $0.time) }.sorted()
        let typical = gaps.isEmpty ? 0 : gaps[gaps.count / 2]
        let breakAfter = max(5 * typical, 5_000)
        var d = ""
        var previous: EventTime?
        for p in points {
            let move = previous.map { p.time.milliseconds(since: $0) > breakAfter } ?? true
            d += "\(move ? "M" : "L")\(SVG.n(x(p.time))) \(SVG.n(y(p.value)))"
            previous = p.time
        }
        return d
    }

    /// Steps for a boolean: a value holds until the next reading.
    private func stepPath(_ points: [EvidencePoint], x: (EventTime) -> Double, y: (Double) -> Double) -> String {
        var d = "M\(SVG.n(x(points[0].time))) \(SVG.n(y(points[0].value)))"
        for p in points.dropFirst() {
            d += "H\(SVG.n(x(p.time)))V\(SVG.n(y(p.value)))"
        }
        return d
    }
}
