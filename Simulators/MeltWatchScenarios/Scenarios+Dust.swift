/// Scenarios for `dust.dry-collector` (令10 第十一条) and `dust.wet-collector` (local notice: no dry
/// running) on ``Rig/dust``: every rule of both.
extension Scenario {
    static let dryCollector = "dust.dry-collector"
    static let wetCollector = "dust.wet-collector"
    static let dryID = "dc1"
    static let wetID = "wc1"

    static let dust: [Scenario] = [baghouseProcess, baghouseFaults, wetCollectorRunningDry]

    /// Filter clogging, then a torn bag, then a smouldering hopper.
    static let baghouseProcess = Scenario(
        name: "baghouse-pressure-hopper",
        summary: "bag filter differential pressure 1800 Pa (diff_pressure_high 1500) from t=10 s to t=20 s, 200 Pa "
            + "(diff_pressure_low 300) from t=25 s to t=35 s; hopper temperature jumps 40 → 80 °C (hopper_temp_high 70, "
            + "hopper_temp_rate_max 5 K/min) from t=40 s to t=50 s",
        duration: 55,
        phases: [
            .init(0, "collector running: ≈ 900 Pa, hopper ≈ 40 °C"),
            .init(10, "filter clogging: 1800 Pa"),
            .init(20, "bags cleaned: 900 Pa"),
            .init(25, "BAG RUPTURE: 200 Pa"),
            .init(35, "bags replaced"),
            .init(40, "SMOULDERING in the hopper: 80 °C"),
            .init(50, "hopper cooled down"),
        ],
        rig: .dust,
        expected: { run in
            let delay = run.param(dryID, "on_delay_s")
            return [
                ExpectedAlarm("diff-pressure-high", .raised, on: dryCollector, at: run.seen(10) + delay),
                ExpectedAlarm("diff-pressure-high", .cleared, on: dryCollector, at: run.seen(20)),
                ExpectedAlarm("diff-pressure-low", .raised, on: dryCollector, at: run.seen(25) + delay),
                ExpectedAlarm("diff-pressure-low", .cleared, on: dryCollector, at: run.seen(35)),
                // The 40 K rise over the last minute exceeds the 5 K allowance at once, and stays in the
                // window until the temperature is back where the minute began.
                ExpectedAlarm("hopper-temp-rate", .raised, on: dryCollector, at: run.seen(40)),
                ExpectedAlarm("hopper-temp-high", .raised, on: dryCollector, at: run.seen(40) + delay),
                ExpectedAlarm("hopper-temp-high", .cleared, on: dryCollector, at: run.seen(50)),
                ExpectedAlarm("hopper-temp-rate", .cleared, on: dryCollector, at: run.seen(50)),
            ]
        },
        fault: { equipment, t, scan in
            guard equipment.template == dryCollector else { return }
            if t.within(10..<20) { scan.values["diff_pressure"] = .number(1800) }
            if t.within(25..<35) { scan.values["diff_pressure"] = .number(200) }
            if t.within(40..<50) { scan.values["hopper_temp"] = .number(80) }
        }
    )

    /// The explosion-protection and ignition-control devices report, one after the other.
    static let baghouseFaults = Scenario(
        name: "baghouse-faults",
        summary: "explosion-protection fault from t=10 s to t=20 s; one spark pulse at t=25 s; air-lock fault from t=30 s to "
            + "t=40 s; the collector fan stops while the process runs from t=45 s to t=55 s",
        duration: 60,
        phases: [
            .init(0, "collector running, protection armed"),
            .init(10, "EXPLOSION PROTECTION FAULT (suppression system)"),
            .init(20, "explosion protection armed again"),
            .init(25, "SPARK detected in the duct"),
            .init(30, "AIR-LOCK discharge fault"),
            .init(40, "air-lock repaired"),
            .init(45, "collector FAN STOPPED while the process runs"),
            .init(55, "fan restarted"),
        ],
        rig: .dust,
        expected: { run in
            let delay = run.param(dryID, "on_delay_s")
            let spark = run.seen(25)
            return [
                ExpectedAlarm("explosion-protection-fault", .raised, on: dryCollector, at: run.seen(10) + delay),
                ExpectedAlarm("explosion-protection-fault", .cleared, on: dryCollector, at: run.seen(20)),
                ExpectedAlarm("spark-detected", .raised, on: dryCollector, at: spark),
                ExpectedAlarm("spark-detected", .cleared, on: dryCollector, at: run.grid.scan(after: spark)),
                ExpectedAlarm("airlock-fault", .raised, on: dryCollector, at: run.seen(30) + delay),
                ExpectedAlarm("airlock-fault", .cleared, on: dryCollector, at: run.seen(40)),
                ExpectedAlarm("collector-not-running", .raised, on: dryCollector, at: run.seen(45) + delay),
                ExpectedAlarm("collector-not-running", .cleared, on: dryCollector, at: run.seen(55)),
            ]
        },
        fault: { equipment, t, scan in
            guard equipment.template == dryCollector else { return }
            if t.within(10..<20) { scan.values["explosion_protection_fault"] = .bool(true) }
            if t == equipment.grid.scan(atOrAfter: SimTime(seconds: 25)) { scan.values["spark_detected"] = .bool(true) }
            if t.within(30..<40) { scan.values["airlock_fault"] = .bool(true) }
            if t.within(45..<55) { scan.values["fan_running"] = .bool(false) }
        }
    )

    /// The scrubber loses its water while the fan runs (湿式除尘干式运行), twice: once the water comes
    /// back, once the fan is stopped.
    static let wetCollectorRunningDry = Scenario(
        name: "wet-collector-running-dry",
        summary: "scrubber water flow 20 L/min (water_flow_min 50) from t=10 s to t=20 s with the fan running; again from "
            + "t=25 s, and the fan is stopped at t=32 s",
        duration: 40,
        phases: [
            .init(0, "scrubber running: ≈ 120 L/min"),
            .init(10, "WATER LOST: 20 L/min, fan running (dry running)"),
            .init(20, "water restored"),
            .init(25, "water lost again"),
            .init(32, "fan stopped"),
            .init(38, "water restored"),
        ],
        rig: .dust,
        expected: { run in
            let delay = run.param(wetID, "on_delay_s")
            return [
                ExpectedAlarm("running-dry", .raised, on: wetCollector, at: run.seen(10) + delay),
                ExpectedAlarm("running-dry", .cleared, on: wetCollector, at: run.seen(20)),
                ExpectedAlarm("running-dry", .raised, on: wetCollector, at: run.seen(25) + delay),
                ExpectedAlarm("running-dry", .cleared, on: wetCollector, at: run.seen(32)),
            ]
        },
        fault: { equipment, t, scan in
            guard equipment.template == wetCollector else { return }
            if t.within(10..<20) || t.within(25..<38) { scan.values["water_flow"] = .number(20) }
            if t >= 32 { scan.values["fan_running"] = .bool(false) }
        }
    )
}
