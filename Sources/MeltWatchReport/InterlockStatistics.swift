import MeltWatchCore

/// Latency statistics of one interlock: the checks that one trigger rule started on one equipment.
///
/// Percentiles use the nearest-rank method: the p-th percentile of n sorted latencies is the one at
/// rank ⌈p·n/100⌉ (1-based). Every figure is therefore a latency that was actually measured, never an
/// interpolation; the median of an even count is the lower of the two middle values, and p95 of fewer
/// than 20 checks is the maximum. Failed checks count in `count` and `failed` but have no latency,
/// so they are not in the percentiles (a failure is worse than any latency and is listed on its own).
public struct InterlockStatistics: Sendable, Equatable {
    /// The equipment id.
    public var equipment: String
    /// The rule whose raise tripped the checks (e.g. `flow-difference`).
    public var trigger: String
    /// All checks: ok + late + failed.
    public var count: Int
    public var ok: Int
    public var late: Int
    public var failed: Int
    /// Over the ok and late checks, in milliseconds; nil when every check failed.
    public var minimum: Int64?
    public var median: Int64?
    public var p95: Int64?
    public var maximum: Int64?

    /// Statistics per (equipment, trigger), sorted by equipment then trigger.
    public static func compute(_ outcomes: [InterlockOutcome]) -> [InterlockStatistics] {
        struct Key: Hashable, Comparable {
            var equipment: String
            var trigger: String
            static func < (a: Key, b: Key) -> Bool { (a.equipment, a.trigger) < (b.equipment, b.trigger) }
        }
        var groups: [Key: [InterlockOutcome]] = [:]
        for o in outcomes { groups[Key(equipment: o.equipment, trigger: o.trigger), default: []].append(o) }
        return groups.keys.sorted().map { key in
            let group = groups[key]!
            let latencies = group.compactMap { $0.kind == .failed ? nil : $0.latencyMilliseconds }.sorted()
            return InterlockStatistics(
                equipment: key.equipment, trigger: key.trigger, count: group.count,
                ok: group.count { $0.kind == .ok }, late: group.count { $0.kind == .late },
                failed: group.count { $0.kind == .failed },
                minimum: latencies.first, median: nearestRank(latencies, percent: 50),
                p95: nearestRank(latencies, percent: 95), maximum: latencies.last
            )
        }
    }

    /// The `percent`-th percentile (1…100) of ascending `sorted` by nearest rank: the value at
    /// 1-based rank ⌈percent·n/100⌉; nil for no values.
    public static func nearestRank(_ sorted: [Int64], percent: Int) -> Int64? {
        guard !sorted.isEmpty else { return nil }
        let p = min(max(percent, 1), 100)
        let rank = (p * sorted.count + 99) / 100
        return sorted[rank - 1]
    }
}
