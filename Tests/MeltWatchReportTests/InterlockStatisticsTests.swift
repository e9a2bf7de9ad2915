import MeltWatchCore
import Testing

@testable import MeltWatchReport

@Suite("Interlock latency statistics (nearest-rank percentiles)")
struct InterlockStatisticsTests {
    static let ranks: [(values: [Int64], percent: Int, expected: Int64?)] = [
        ([], 50, nil),
        ([1850], 50, 1850),
        ([1850], 95, 1850),
        ([100, 200], 50, 100),             // even count: the lower middle value, never an average
        ([100, 200, 300, 400], 50, 200),
        ([100, 200, 300], 50, 200),
        ([100, 200, 300, 400], 95, 400),   // fewer than 20 values: p95 is the maximum
        (Array(1...20), 95, 19),   // ⌈0.95·20⌉ = 19
        (Array(1...21), 95, 20),   // ⌈19.95⌉ = 20
        (Array(1...100), 95, 95),
        (Array(1...100), 50, 50),
        ([5, 7], 100, 7),
        ([5, 7], 1, 5),
    ]

    @Test("nearest rank: the value at rank ⌈p·n/100⌉", arguments: ranks)
    func nearestRank(values: [Int64], percent: Int, expected: Int64?) {
        #expect(InterlockStatistics.nearestRank(values, percent: percent) == expected)
    }

    @Test func fixturePerEquipmentAndTrigger() {
        let stats = Fixture.report.interlocks
        #expect(stats == [
            InterlockStatistics(equipment: "bof1-lance", trigger: "flow-difference", count: 2, ok: 1, late: 1, failed: 0,
                                minimum: 1850, median: 1850, p95: 2600, maximum: 2600),
            InterlockStatistics(equipment: "dc1-station", trigger: "cooling-flow-low", count: 1, ok: 0, late: 0, failed: 1,
                                minimum: nil, median: nil, p95: nil, maximum: nil),
        ])
    }

    @Test func failedTripsCountButHaveNoLatencyAndOrderDoesNotMatter() {
        let t = Fixture.at("16:00:00")
        func outcome(_ kind: InterlockOutcome.Kind, _ ms: Int64?, trigger: String = "level-high") -> InterlockOutcome {
            InterlockOutcome(plant: "p", equipment: "cast2", trigger: trigger, kind: kind, trippedAt: t,
                             latencyMilliseconds: ms, cause: kind == .failed ? "shutoff_closed stale" : nil)
        }
        let stats = InterlockStatistics.compute([
            outcome(.late, 3100), outcome(.ok, 900), outcome(.failed, nil), outcome(.ok, 1200), outcome(.ok, 450),
            outcome(.ok, 700, trigger: "cooling-pressure-low"),
        ])
        #expect(stats.map(\.trigger) == ["cooling-pressure-low", "level-high"])
        let s = stats[1]
        #expect((s.count, s.ok, s.late, s.failed) == (5, 3, 1, 1))
        #expect(s.minimum == 450)
        #expect(s.median == 900)   // latencies 450, 900, 1200, 3100: rank 2
        #expect(s.p95 == 3100)
        #expect(s.maximum == 3100)
    }

    @Test func tableShowsMissingLatenciesAsEmpty() {
        let table = Fixture.report.interlockTable
        #expect(table.columns.map(\.key) == ["equipment", "trigger", "count", "ok", "late", "failed", "min_ms", "median_ms", "p95_ms", "max_ms"])
        #expect(table.rows[1] == [.text("dc1-station"), .text("cooling-flow-low"), .integer(1), .integer(0), .integer(0),
                                  .integer(1), .empty, .empty, .empty, .empty])
    }
}
