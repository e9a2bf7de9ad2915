import MeltWatchConfig
import MeltWatchCore

/// A scripted plant behaviour: what every equipment reads at simulated second `t`.
struct Scenario: Sendable {
    var name: String
    var summary: String
    /// The alarms (rule ids, with their events) a correct monitor must produce.
    var expectedAlarms: [String]
    /// Default length in simulated seconds.
    var duration: Double
    /// Announcements printed when simulated time passes them.
    var phases: [(at: Double, text: String)]
    /// The fault applied to a template's healthy values at time t.
    var fault: @Sendable (_ template: String, _ t: Double, _ values: inout [String: SimValue]) -> Void

    static let all: [Scenario] = [
        Scenario(
            name: "healthy", summary: "every equipment within limits", expectedAlarms: [], duration: 60,
            phases: [(0, "all equipment healthy")], fault: { _, _, _ in }
        ),
        Scenario(
            name: "lance-leak",
            summary: "a water-cooled element loses 5.5 m3/h between inlet and outlet from t=10 s to t=25 s",
            expectedAlarms: ["flow-difference raised (≈ t=12 s, after on_delay_s)", "flow-difference cleared (t=25 s)"],
            duration: 40,
            phases: [
                (0, "healthy: inlet ≈ 120 m3/h, outlet ≈ 119.6 m3/h"),
                (10, "LEAK: outlet flow drops 5.5 m3/h below inlet (water into the furnace)"),
                (25, "leak stopped: outlet flow back to inlet − 0.4 m3/h"),
            ],
            fault: { template, t, values in
                guard template == "steel.water-cooled-element", t >= 10, t < 25, case .number(let inlet)? = values["inlet_flow"] else { return }
                values["outlet_flow"] = .number(inlet - 5.5)
            }
        ),
        Scenario(
            name: "co-leak",
            summary: "gas leak near a CO detector: 40 ppm from t=10 s, 200 ppm from t=20 s, clean air from t=30 s",
            expectedAlarms: ["co-level-1 raised (t=10 s)", "co-level-2 raised (t=20 s)", "co-level-1 and co-level-2 cleared (t=30 s)"],
            duration: 40,
            phases: [
                (0, "clean air: CO ≈ 3 ppm"),
                (10, "gas leak: CO 40 ppm"),
                (20, "gas leak worsens: CO 200 ppm"),
                (30, "leak isolated: CO back to ≈ 3 ppm"),
            ],
            fault: { template, t, values in
                guard template == "steel.co-detector" else { return }
                if t >= 10 && t < 20 { values["co"] = .number(40) }
                if t >= 20 && t < 30 { values["co"] = .number(200) }
            }
        ),
    ]
}

/// A value as a gateway publishes it.
enum SimValue: Equatable, Sendable {
    case number(Double)
    case bool(Bool)

    var json: String {
        switch self {
        case .number(let d): String((d * 1000).rounded() / 1000)
        case .bool(let b): b ? "true" : "false"
        }
    }
}

/// Healthy readings of each implemented template, with a little seeded noise.
enum HealthyPlant {
    static func values(template: String, rng: inout SplitMix64) -> [String: SimValue] {
        func noise(_ amplitude: Double) -> Double { (Double(rng.next() % 2001) / 1000 - 1) * amplitude }
        switch template {
        case "steel.water-cooled-element":
            let inlet = 120 + noise(0.3)
            return [
                "inlet_flow": .number(inlet),
                "outlet_flow": .number(inlet - 0.4 + noise(0.1)),
                "outlet_temp": .number(35 + noise(0.5)),
                "inlet_temp": .number(28 + noise(0.3)),
                "furnace_operating": .bool(true),
                "tilt_locked": .bool(false),
                "lance_raised": .bool(false),
                "interlock_bypassed": .bool(false),
            ]
        case "steel.co-detector":
            return ["co": .number(max(0, 3 + noise(1))), "fault": .bool(false)]
        default:
            return [:]
        }
    }
}

