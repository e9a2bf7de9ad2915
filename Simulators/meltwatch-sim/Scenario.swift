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
    /// The fault applied to an equipment's healthy values at simulated time `t`.
    var fault: @Sendable (_ equipment: FaultContext, _ t: Double, _ values: inout [String: SimValue]) -> Void

    static let all: [Scenario] = [
        Scenario(
            name: "healthy", summary: "every equipment within limits", expectedAlarms: [], duration: 60,
            phases: [(0, "all equipment healthy")], fault: { _, _, _ in }
        ),
        leak(name: "lance-leak", interlock: "the interlock acts 0.8 s / 1.2 s after the trip (ok, recorded, no alarm)",
             expected: ["flow-difference raised (≈ t=12 s, after on_delay_s)", "flow-difference cleared (t=25 s)"],
             tilt: 0.8, lance: 1.2),
        leak(name: "lance-leak-late-interlock", interlock: "the lance rises 3.5 s after the trip (later than interlock_warn_s)",
             expected: ["flow-difference raised", "interlock-late raised and returned (latency ≈ 3.5 s)", "flow-difference cleared"],
             tilt: 0.8, lance: 3.5),
        leak(name: "lance-leak-no-interlock", interlock: "the lance never rises",
             expected: ["flow-difference raised", "interlock-failed raised at trip + interlock_deadline_s (cause: lance_raised)",
                        "flow-difference cleared"],
             tilt: 0.8, lance: nil),
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
            fault: { equipment, t, values in
                guard equipment.template == "steel.co-detector" else { return }
                if t >= 10 && t < 20 { values["co"] = .number(40) }
                if t >= 20 && t < 30 { values["co"] = .number(200) }
            }
        ),
    ]

    /// A water-cooled element loses 5.5 m3/h from t=10 s to t=25 s; the furnace's interlock (tilt lock
    /// and lance raise) answers the trip after `tilt` / `lance` seconds, or never (nil).
    static func leak(name: String, interlock: String, expected: [String], tilt: Double?, lance: Double?) -> Scenario {
        Scenario(
            name: name,
            summary: "a water-cooled element loses 5.5 m3/h between inlet and outlet from t=10 s to t=25 s; \(interlock)",
            expectedAlarms: expected,
            duration: 40,
            phases: [
                (0, "healthy: inlet ≈ 120 m3/h, outlet ≈ 119.6 m3/h"),
                (10, "LEAK: outlet flow drops 5.5 m3/h below inlet (water into the furnace)"),
                (25, "leak stopped: outlet flow back to inlet − 0.4 m3/h"),
            ],
            fault: { equipment, t, values in
                guard equipment.template == "steel.water-cooled-element" else { return }
                if t >= 10, t < 25, case .number(let inlet)? = values["inlet_flow"] {
                    values["outlet_flow"] = .number(inlet - 5.5)
                }
                let trip = 10 + equipment.onDelaySeconds
                if let tilt, t >= trip + tilt { values["tilt_locked"] = .bool(true) }
                if let lance, t >= trip + lance { values["lance_raised"] = .bool(true) }
            }
        )
    }
}

/// What a fault needs to know about the equipment it acts on.
struct FaultContext: Sendable {
    var template: String
    /// The equipment's `on_delay_s`: when the monitor trips after a fault starts.
    var onDelaySeconds: Double
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

