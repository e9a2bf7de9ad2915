import MeltWatchCore
import Testing

@testable import MeltWatchReport

@Suite("Sensor availability to 0.01 %")
struct AvailabilityTests {
    @Test("rounding: half up, but never 100.00 % with a loss nor 0.00 % with any health", arguments: [
        (Int64(3_600_000), Int64(3_600_000), "100.00 %"),
        (3_599_995, 3_600_000, "99.99 %"),    // 99.99986 % would round to 100.00
        (3_599_100, 3_600_000, "99.98 %"),    // 99.975 % rounds half up
        (3_599_099, 3_600_000, "99.97 %"),
        (2_400_000, 3_600_000, "66.67 %"),
        (1_200_000, 3_600_000, "33.33 %"),
        (1, 3_600_000, "0.01 %"),             // 0.00003 % would round to 0.00
        (0, 3_600_000, "0.00 %"),
        (5, 10, "50.00 %"),
        (0, 0, "—"),                          // never observed
        (4_000_000, 3_600_000, "100.00 %"),   // healthy beyond observed is clamped
    ])
    func rounding(healthy: Int64, observed: Int64, expected: String) {
        let a = SensorAvailability(key: SignalKey(equipment: "e", signal: "s"), healthyMilliseconds: healthy,
                                   observedMilliseconds: observed)
        #expect(a.percentText == expected)
    }

    @Test func longPeriodsDoNotOverflow() {
        let year: Int64 = 400 * 86_400_000
        let a = SensorAvailability(key: SignalKey(equipment: "e", signal: "s"), healthyMilliseconds: year - 86_400_000,
                                   observedMilliseconds: year)
        #expect(a.percentText == "99.75 %")
    }

    @Test func fixtureRowsSortedBySignalWithPercentAsNumber() {
        let report = Fixture.report
        #expect(report.availability.map { "\($0.key.equipment)/\($0.key.signal) \($0.percentText)" } == [
            "bof1-lance/inlet_flow 99.98 %",
            "bof1-lance/outlet_flow 100.00 %",
            "co-bof1-platform/co 99.99 %",
            "dc1-station/cooling_flow 100.00 %",
            "dc1-station/cooling_pressure 66.67 %",
            "dc1-station/drain_open 100.00 %",
            "dc1-station/platform_stopped 100.00 %",
            "dc1-station/shutoff_closed 100.00 %",
        ])
        let row = report.availabilityTable.rows[4]
        #expect(row == [.text("dc1-station"), .text("cooling_pressure"), .text("0:40:00"), .text("1:00:00"),
                        .decimal(66.67, decimals: 2)])
    }

    @Test func figuresForOneSignalAddUp() {
        let rows = SensorAvailability.compute([
            SignalAvailability(equipment: "e", signal: "s", healthyMilliseconds: 1_000, observedMilliseconds: 2_000),
            SignalAvailability(equipment: "e", signal: "s", healthyMilliseconds: 2_000, observedMilliseconds: 2_000),
        ])
        #expect(rows.count == 1)
        #expect(rows[0].percentText == "75.00 %")
    }
}
