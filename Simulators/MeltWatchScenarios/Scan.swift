import MeltWatchCore
import MeltWatchRules

/// A value as a gateway publishes it.
public enum SimValue: Equatable, Sendable {
    case number(Double)
    case bool(Bool)

    /// The JSON literal: numbers rounded to 0.001 (a PLC tag's resolution), booleans as words.
    public var json: String {
        switch self {
        case .number(let d): String(Self.published(d))
        case .bool(let b): b ? "true" : "false"
        }
    }

    /// The value a receiver decodes from ``json``.
    public var published: Value {
        switch self {
        case .number(let d): .number(Self.published(d))
        case .bool(let b): .bool(b)
        }
    }

    private static func published(_ d: Double) -> Double { (d * 1000).rounded() / 1000 }
}

/// What one equipment's gateway publishes in one scan: a value and a quality per role.
///
/// Faults edit it: change a value, mark a role `bad`, or remove roles (a dead gateway publishes
/// nothing). Roles are published in template order.
public struct Scan: Sendable, Equatable {
    /// Role → value; a role without a value is not published this scan.
    public var values: [String: SimValue]
    /// Roles the gateway marks with a quality other than `good`.
    public var quality: [String: Quality] = [:]

    /// A scan of `values`, all of good quality.
    public init(values: [String: SimValue]) { self.values = values }

    /// The value of a numeric role, if present.
    public func number(_ role: String) -> Double? {
        if case .number(let d)? = values[role] { return d }
        return nil
    }

    /// The gateway publishes nothing for this equipment this scan.
    public mutating func silence() {
        values.removeAll()
        quality.removeAll()
    }
}

/// Healthy readings of every template in domain.md, with a little seeded noise.
///
/// The extension point for new templates: their healthy values are here already (for
/// `aluminium.dc-casting`, `dust.dry-collector`, `dust.wet-collector`, `steel.blast-furnace-top`),
/// so a scenario for one needs only its fault. The simulator publishes a role only when the
/// template in the config has it, so values for roles a build does not know are simply unused.
public enum HealthyPlant {
    /// Healthy values at scenario time `t` (only slow trends like a growing cast depend on it).
    public static func values(template: TemplateID, at t: SimTime, rng: inout SplitMix64) -> [String: SimValue] {
        func noise(_ amplitude: Double) -> Double { (Double(rng.next() % 2001) / 1000 - 1) * amplitude }
        switch template {
        case .waterCooledElement:
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
        case .coDetector:
            return ["co": .number(max(0, 3 + noise(1))), "fault": .bool(false)]
        case .dcCasting:
            // Mid-cast on a tilting or fixed furnace: mould water on, metal in the launders, the
            // platform descending at about 60 mm/min past the level gate (300 mm).
            return [
                "cooling_pressure": .number(350 + noise(3)),
                "cooling_flow": .number(180 + noise(1.5)),
                "level_outlet": .number(120 + noise(0.5)),
                "level_junction": .number(100 + noise(0.5)),
                "casting_active": .bool(true),
                "cast_length": .number(600 + t.seconds),
                "mode_auto": .bool(true),
                "shutoff_closed": .bool(false),
                "drain_open": .bool(false),
                "launder_disconnected": .bool(false),
                "furnace_tilted_back": .bool(false),
                "platform_stopped": .bool(false),
                "mechanical_lock": .bool(true),
                "interlock_bypassed": .bool(false),
                "emergency_water_ok": .bool(true),
            ]
        case .dryCollector:
            return [
                "diff_pressure": .number(900 + noise(20)),
                "hopper_temp": .number(40 + noise(0.5)),
                "airlock_fault": .bool(false),
                "spark_detected": .bool(false),
                "explosion_protection_fault": .bool(false),
                "fan_running": .bool(true),
                "process_running": .bool(true),
            ]
        case .wetCollector:
            return [
                "water_level": .number(400 + noise(2)),
                "water_flow": .number(120 + noise(1)),
                "fan_running": .bool(true),
            ]
        case .blastFurnaceTop:
            return ["top_pressure": .number(220 + noise(2)), "bleeder_open": .bool(false)]
        }
    }
}
