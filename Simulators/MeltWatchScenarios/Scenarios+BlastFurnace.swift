/// Scenarios for `steel.blast-furnace-top` (令10 第四条(五)) on ``Rig/blastFurnace``: top pressure over the
/// design maximum trips the bleeder interlock.
extension Scenario {
    static let blastFurnaceTop = "steel.blast-furnace-top"
    static let topID = "bf1-top"

    static let blastFurnace: [Scenario] = [
        bleeder(name: "bf-top-pressure-late-bleeder", bleeder: 3.0, text: "the bleeder opens 3 s after the trip (later than interlock_warn_s)"),
        bleeder(name: "bf-bleeder-stuck", bleeder: nil, text: "the bleeder never opens"),
    ]

    /// Top pressure 270 kPa (top_pressure_max 250) from t=10 s to t=15 s; the bleeder answers after
    /// `bleeder` seconds, or never.
    static func bleeder(name: String, bleeder: Double?, text: String) -> Scenario {
        Scenario(
            name: name,
            summary: "blast furnace top pressure 270 kPa (top_pressure_max 250) from t=10 s to t=15 s; \(text)",
            duration: 20,
            phases: [
                .init(0, "top pressure ≈ 220 kPa"),
                .init(10, "TOP PRESSURE HIGH: 270 kPa"),
                .init(15, "top pressure back to ≈ 220 kPa"),
            ],
            rig: .blastFurnace,
            expected: { run in
                let trip = run.seen(10)
                return [
                    ExpectedAlarm("top-pressure-high", .raised, on: blastFurnaceTop, at: trip + run.param(topID, "on_delay_s")),
                    ExpectedAlarm("top-pressure-high", .cleared, on: blastFurnaceTop, at: run.seen(15)),
                ] + interlockOutcome(run, template: blastFurnaceTop, equipment: topID, trip: trip, feedbacks: [("bleeder_open", bleeder)])
            },
            fault: { equipment, t, scan in
                guard equipment.template == blastFurnaceTop else { return }
                if t.within(10..<15) { scan.values["top_pressure"] = .number(270) }
                if let bleeder, t >= equipment.trip(faultStart: 10) + bleeder { scan.values["bleeder_open"] = .bool(true) }
            }
        )
    }
}
