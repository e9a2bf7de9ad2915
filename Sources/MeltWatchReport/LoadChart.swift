import MeltWatchCore

extension AlarmLoad {
    /// Alarms per 10 minutes as an SVG bar chart, with the EEMUA 191 target (1) and the flood
    /// threshold (10) as dashed lines; flood windows red, windows above target orange.
    func barChartSVG() -> String {
        let width = 1000.0, height = 250.0, left = 60.0, right = 20.0, top = 16.0, bottom = 50.0
        let plotW = width - left - right, plotH = height - top - bottom
        let most = windows.map(\.raised).max() ?? 0
        let axis = SVG.Axis(min: 0, max: Double(max(most, 2)), targetTicks: 4, minimumStep: 1)
        func y(_ v: Double) -> Double { top + plotH - v / axis.hi * plotH }

        var s = "<svg class=\"load-chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(SVG.n(width)) \(SVG.n(height))\" role=\"img\">"
        s += "<title>每 10 分钟报警数 (alarms per 10 minutes)</title>"
        s += "<rect class=\"plot\" x=\"\(SVG.n(left))\" y=\"\(SVG.n(top))\" width=\"\(SVG.n(plotW))\" height=\"\(SVG.n(plotH))\"/>"
        for v in axis.ticks {
            s += "<line class=\"grid\" x1=\"\(SVG.n(left))\" y1=\"\(SVG.n(y(v)))\" x2=\"\(SVG.n(left + plotW))\" y2=\"\(SVG.n(y(v)))\"/>"
            s += "<text class=\"tick\" x=\"\(SVG.n(left - 6))\" y=\"\(SVG.n(y(v) + 4))\" text-anchor=\"end\">\(ReportFormat.number(v))</text>"
        }
        let cy = SVG.n(top + plotH / 2)
        s += "<text class=\"axis-title\" x=\"16\" y=\"\(cy)\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(cy))\">报警数 / 10 min</text>"

        let n = max(1, windows.count)
        let slot = plotW / Double(n)
        let barW = slot >= 4 ? slot * 0.8 : slot
        for (i, w) in windows.enumerated() where w.raised > 0 {
            let bx = left + Double(i) * slot + (slot - barW) / 2
            let cls = w.isFlood ? "bar flood" : Double(w.raised) > AlarmLoad.eemuaTargetPerWindow ? "bar high" : "bar"
            s += "<rect class=\"\(cls)\" x=\"\(SVG.n(bx))\" y=\"\(SVG.n(y(Double(w.raised))))\" width=\"\(SVG.n(barW))\" height=\"\(SVG.n(plotH - (y(Double(w.raised)) - top)))\">"
            s += "<title>\(ReportFormat.chinaRange(w.start, w.end))：\(w.raised)</title></rect>"
            if slot >= 18 {
                s += "<text class=\"bar-label\" x=\"\(SVG.n(bx + barW / 2))\" y=\"\(SVG.n(y(Double(w.raised)) - 3))\" text-anchor=\"middle\">\(w.raised)</text>"
            }
        }
        let every = max(1, (n + 9) / 10)
        for (i, w) in windows.enumerated() where i % every == 0 {
            let tx = SVG.n(left + Double(i) * slot)
            s += "<line class=\"axis\" x1=\"\(tx)\" y1=\"\(SVG.n(top + plotH))\" x2=\"\(tx)\" y2=\"\(SVG.n(top + plotH + 4))\"/>"
            s += "<text class=\"tick\" x=\"\(tx)\" y=\"\(SVG.n(top + plotH + 16))\" text-anchor=\"middle\">\(ReportFormat.chinaMinute(w.start))</text>"
        }
        s += "<text class=\"axis-title\" x=\"\(SVG.n(left + plotW / 2))\" y=\"\(SVG.n(height - 12))\" text-anchor=\"middle\">时间 (time, UTC+8)</text>"

        let lines: [(Double, String, String)] = [
            (AlarmLoad.eemuaTargetPerWindow, "target", "EEMUA 191 目标 1"),
            (Double(AlarmLoad.floodThreshold), "flood", "泛滥阈值 flood > 10"),
        ]
        for (v, cls, label) in lines where v <= axis.hi {
            s += "<line class=\"threshold \(cls)\" x1=\"\(SVG.n(left))\" y1=\"\(SVG.n(y(v)))\" x2=\"\(SVG.n(left + plotW))\" y2=\"\(SVG.n(y(v)))\"/>"
            s += "<text class=\"threshold \(cls)\" x=\"\(SVG.n(left + plotW - 4))\" y=\"\(SVG.n(y(v) - 4))\" text-anchor=\"end\">\(label)</text>"
        }
        s += "</svg>"
        return s
    }
}
