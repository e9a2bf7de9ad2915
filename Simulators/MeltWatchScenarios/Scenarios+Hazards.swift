/// Scenarios for the hazard records (domain.md "Hazards (隐患): from alarm to 销号"): what the plant
/// does over hours that the regulator counts as major accident hazards.
extension Scenario {
    static let hazardScenarios: [Scenario] = [hazardShift]

    /// The shift's hazards: the failed interlock when it failed, the bypass and the dead detector
    /// once they have stood for `bypass_min` (10) and `device_min` (60) minutes.
    private static func shiftHazards(_ run: ScenarioRun) -> [ExpectedHazard] {
        let failed = interlockOutcome(run, trip: run.seen(60), feedbacks: [("tilt_locked", nil), ("lance_raised", nil)])
        return [
            ExpectedHazard("interlock-failed", on: wce, foundAt: failed[0].at!),
            ExpectedHazard("interlock-bypassed", on: wce, foundAt: run.seen(600) + 600),
            ExpectedHazard("detector-fault", on: coDetector, foundAt: run.seen(1000) + 3600),
        ]
    }

    /// Two hours and twenty minutes of a steel shop: the lance's interlock does not act on a leak; an
    /// hour later the interlock is bypassed for an hour while the furnace runs; the CO detector
    /// reports its fault for two hours; after the rectification, a second leak trips the interlock
    /// and it acts in time — the data's verification of the first hazard.
    static let hazardShift: Scenario = {
        var s = hazardShiftBase
        s.hazards = shiftHazards
        s.preferredRate = 1
        return s
    }()

    private static let hazardShiftBase = Scenario(
        name: "hazard-shift",
        summary: "2 h 20 min of plant: the interlock does not act on a leak at t=60 s (interlock-failed); the interlock is "
            + "bypassed from t=600 s for an hour; the CO detector's fault output is on from t=1000 s for two hours; a second "
            + "leak at t=5400 s trips the interlock and it acts in time. Hazards: the failed interlock at once, the bypass "
            + "after bypass_min (10 min), the dead detector after device_min (60 min)",
        duration: 8400,
        phases: [
            .init(0, "healthy"),
            .init(60, "LEAK: the interlock does not act (tilt lock and lance raise never come)"),
            .init(75, "leak stopped"),
            .init(600, "interlock BYPASSED while the furnace runs"),
            .init(1000, "CO DETECTOR FAULT: the detector is not measuring"),
            .init(1200, "the bypass has stood for bypass_min: a major hazard (令10 第十四条)"),
            .init(4200, "bypass removed"),
            .init(4600, "the detector has been dead for device_min: a major hazard (令10 第十四条)"),
            .init(5400, "second leak: the interlock acts in time (the rectification works)"),
            .init(5415, "leak stopped"),
            .init(8200, "detector repaired"),
        ],
        expected: { run in
            let leak = run.seen(60), second = run.seen(5400)
            let delay = run.param(lance, "on_delay_s")
            return [
                ExpectedAlarm("flow-difference", .raised, on: wce, at: leak + delay),
                ExpectedAlarm("flow-difference", .cleared, on: wce, at: run.seen(75)),
                ExpectedAlarm("interlock-bypassed", .raised, on: wce, at: run.seen(600)),
                ExpectedAlarm("detector-fault", .raised, on: coDetector, at: run.seen(1000)),
                ExpectedAlarm("interlock-bypassed", .cleared, on: wce, at: run.seen(4200)),
                ExpectedAlarm("flow-difference", .raised, on: wce, at: second + delay),
                ExpectedAlarm("flow-difference", .cleared, on: wce, at: run.seen(5415)),
                ExpectedAlarm("detector-fault", .cleared, on: coDetector, at: run.seen(8200)),
            ] + interlockOutcome(run, trip: leak, feedbacks: [("tilt_locked", nil), ("lance_raised", nil)])
                + interlockOutcome(run, trip: second, feedbacks: [("tilt_locked", 0.8), ("lance_raised", 1.2)])
        },
        fault: { equipment, t, scan in
            switch equipment.template {
            case wce:
                if t.within(60..<75) || t.within(5400..<5415), let inlet = scan.number("inlet_flow") {
                    scan.values["outlet_flow"] = .number(inlet - 5.5)
                }
                if t.within(600..<4200) { scan.values["interlock_bypassed"] = .bool(true) }
                respond(equipment, scan: &scan, at: t, trip: equipment.trip(faultStart: 5400), tilt: 0.8, lance: 1.2)
            case coDetector:
                scan.values["fault"] = .bool(t.within(1000..<8200))
            default:
                break
            }
        }
    )
}
