/// The share of time one signal was healthy, to 0.01 %.
///
/// Rounded to the nearest hundredth of a percent, half up, with one exception each end: a signal that
/// was unhealthy at all never shows 100.00 % (it shows 99.99 %), and one that was healthy at all never
/// shows 0.00 %. An auditor reading 100.00 % must be able to trust that nothing was lost.
public struct SensorAvailability: Sendable, Equatable {
    /// Which signal.
    public var key: SignalKey
    public var healthyMilliseconds: Int64
    public var observedMilliseconds: Int64

    /// Healthy share in hundredths of a percent (0…10 000); nil when the signal was never observed.
    public var hundredthsOfPercent: Int64? {
        guard observedMilliseconds > 0 else { return nil }
        let healthy = min(max(healthyMilliseconds, 0), observedMilliseconds)
        // Exact integer rounding: round(healthy · 10 000 / observed), half up. Fits Int64 for
        // periods far beyond the journal's 400-day retention.
        var h = (healthy * 20_000 + observedMilliseconds) / (2 * observedMilliseconds)
        if h == 10_000, healthy < observedMilliseconds { h = 9_999 }
        if h == 0, healthy > 0 { h = 1 }
        return h
    }

    /// `99.95 %`, or `—` when never observed.
    public var percentText: String {
        guard let h = hundredthsOfPercent else { return "—" }
        return "\(h / 100).\(ReportFormat.pad(h % 100, 2)) %"
    }

    /// Per signal, sorted by equipment then signal; figures given twice for one signal are added up.
    static func compute(_ figures: [SignalAvailability]) -> [SensorAvailability] {
        var sums: [SignalKey: (Int64, Int64)] = [:]
        for f in figures {
            let (h, o) = sums[f.key] ?? (0, 0)
            sums[f.key] = (h + f.healthyMilliseconds, o + f.observedMilliseconds)
        }
        return sums.keys.sorted().map { key in
            SensorAvailability(key: key, healthyMilliseconds: sums[key]!.0, observedMilliseconds: sums[key]!.1)
        }
    }
}
