/// Scenarios for `steel.co-detector` (令10 第四条(六)): both levels and the rate of rise.
extension Scenario {
    static let coDetector = "steel.co-detector"
    static let coID = "co-1"

    static let co: [Scenario] = [coLeak, coRate, coChattering, coDetectorFault]

    /// The detector's own fault output (a dead cell, a failed self-test): `detector-fault` while it is
    /// true, whatever the concentration reads; the clean-air reading at 0 ppm raises nothing.
    static let coDetectorFault = Scenario(
        name: "co-detector-fault",
        summary: "a CO detector in clean air (0 ppm) reports its fault output from t=10 s to t=20 s",
        duration: 30,
        phases: [
            .init(0, "clean air: CO 0 ppm, fault output false"),
            .init(10, "DETECTOR FAULT: the detector is not measuring"),
            .init(20, "fault cleared (cell replaced)"),
        ],
        expected: { run in
            [
                ExpectedAlarm("detector-fault", .raised, on: coDetector, at: run.seen(10)),
                ExpectedAlarm("detector-fault", .cleared, on: coDetector, at: run.seen(20)),
            ]
        },
        fault: { equipment, t, scan in
            guard equipment.template == coDetector else { return }
            scan.values["co"] = .number(0)
            scan.values["fault"] = .bool(t.within(10..<20))
        }
    )

    static let coLeak = Scenario(
        name: "co-leak",
        summary: "gas leak near a CO detector: 40 ppm from t=10 s, 200 ppm from t=20 s, clean air from t=30 s",
        duration: 40,
        phases: [
            .init(0, "clean air: CO ≈ 3 ppm"),
            .init(10, "gas leak: CO 40 ppm"),
            .init(20, "gas leak worsens: CO 200 ppm"),
            .init(30, "leak isolated: CO back to ≈ 3 ppm"),
        ],
        expected: { run in
            let delay = run.param(coID, "on_delay_s")
            return [
                ExpectedAlarm("co-level-1", .raised, on: coDetector, at: run.seen(10) + delay),
                ExpectedAlarm("co-level-2", .raised, on: coDetector, at: run.seen(20) + delay),
                ExpectedAlarm("co-level-1", .cleared, on: coDetector, at: run.seen(30)),
                ExpectedAlarm("co-level-2", .cleared, on: coDetector, at: run.seen(30)),
            ]
        },
        fault: { equipment, t, scan in
            guard equipment.template == coDetector else { return }
            if t.within(10..<20) { scan.values["co"] = .number(40) }
            if t.within(20..<30) { scan.values["co"] = .number(200) }
        }
    )

    /// CO creeps up 2 ppm/s, staying below level 1 (24 ppm): only the rate of rise warns early.
    /// `rate_max` 9.3 ppm/min compares the rise over the last minute with 9.3 ppm, so the ramp from
    /// 4 ppm at t=10 s crosses it at t=14.65 s, between scans at the usual rates (1, 2, 4, 5, 10 /s),
    /// and the first scan after that raises. The alarm lasts while the last minute's rise exceeds the
    /// allowance: it clears when CO is back at its starting 4 ppm.
    static let coRate = Scenario(
        name: "co-rate",
        summary: "CO steady at 4 ppm, rising 2 ppm/s from t=10 s to 20 ppm at t=18 s (below level 1), held, "
            + "back to 4 ppm at t=30 s; rate_max 9.3 ppm/min",
        duration: 40,
        phases: [
            .init(0, "clean air: CO steady at 4 ppm"),
            .init(10, "CO rising 2 ppm/s (small leak upwind)"),
            .init(18, "CO levels off at 20 ppm, below level 1"),
            .init(30, "leak isolated: CO back to 4 ppm"),
        ],
        rig: Rig.standard.param(coID, "rate_max", "9.3"),
        expected: { run in
            // The rise over the one-minute window exceeds rate_max ppm once 2 ppm/s × (t − 10 s) does.
            let crossing = SimTime(seconds: 10 + run.param(coID, "rate_max") / 2)
            return [
                ExpectedAlarm("co-rate", .raised, on: coDetector, at: run.grid.scan(after: crossing)),
                ExpectedAlarm("co-rate", .cleared, on: coDetector, at: run.seen(30)),
            ]
        },
        fault: { equipment, t, scan in
            guard equipment.template == coDetector else { return }
            let level: Double = t.within(10..<30) ? min(20, 4 + 2 * (t.seconds - 10)) : 4
            scan.values["co"] = .number(level)
        }
    )

    /// A detector near its first level flaps: CO 30 ppm for 2 s every 5 s, three times. Each flap
    /// re-activates the one co-level-1 alarm nobody acknowledged; the third within a minute reports
    /// the alarm itself as chattering, which ends a minute after the last flap.
    static let coChattering = Scenario(
        name: "co-chattering",
        summary: "CO flaps to 30 ppm (level 1: 24 ppm) for 2 s at t=10 s, 15 s and 20 s, clean air otherwise: "
            + "co-level-1 raised three times within a minute is reported as chattering until t=80 s",
        duration: 85,
        phases: [
            .init(0, "clean air"),
            .init(10, "CO flapping around level 1 (30 ppm for 2 s every 5 s)"),
            .init(22, "clean air again"),
            .init(80, "a minute without a flap: chattering ends"),
        ],
        expected: { run in
            var alarms: [ExpectedAlarm] = []
            // One alarm throughout: nobody acknowledged it, so each flap re-activates it. Once it is
            // reported chattering its transitions fold: the clear at 22 s is told, with the count, when
            // the chattering ends.
            for start in [10.0, 15, 20] {
                alarms.append(ExpectedAlarm("co-level-1", .raised, on: coDetector, at: run.seen(start)))
            }
            for end in [12.0, 17] {
                alarms.append(ExpectedAlarm("co-level-1", .cleared, on: coDetector, at: run.seen(end)))
            }
            alarms.append(ExpectedAlarm("co-level-1", .updated, on: coDetector, at: run.seen(20) + 60))
            alarms.append(ExpectedAlarm("chattering", .raised, on: coDetector, at: run.seen(20), causeContains: ["co-level-1"]))
            alarms.append(ExpectedAlarm("chattering", .cleared, on: coDetector, at: run.seen(20) + 60, causeContains: ["co-level-1"]))
            return alarms
        },
        fault: { equipment, t, scan in
            guard equipment.template == coDetector else { return }
            if t.within(10..<12) || t.within(15..<17) || t.within(20..<22) { scan.values["co"] = .number(30) }
        }
    )
}
