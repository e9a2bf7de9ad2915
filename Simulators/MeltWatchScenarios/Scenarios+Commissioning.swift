import MeltWatchRules

/// The faults that a plant engineer met commissioning the rules on real signals (issue 15), each a
/// scenario so they stay fixed: a PLC setpoint changed, a CO detector at a clean-air 0 ppm for longer
/// than `frozen_after_s`, a gateway that publishes levels every 2–4 s, a gate signal that goes bad
/// mid-cast, and an interlock that acts within the alarm's on-delay.
extension Scenario {
    static let commissioning: [Scenario] = [plcSetpointChanged, coCleanAir, sparseLaunderLevel, castingGateBadMidCast,
                                            bleederWithinOnDelay]

    /// The rig's lance audits the PLC's flow-difference trip setpoint (approved 3.0 ± 0.05 m3/h).
    static let setpointTopic = "site/bof1/lance/FDIFF_SP"

    /// Someone changes the lance's flow-difference trip setpoint in the PLC: first within the approved
    /// tolerance (recorded, no alarm), then far beyond it (setpoint-mismatch), then back.
    static let plcSetpointChanged = Scenario(
        name: "plc-setpoint-changed",
        summary: "the PLC's flow-difference trip setpoint (approved 3.0 ± 0.05 m3/h) reads 3.0, is changed to 3.04 at "
            + "t=10 s (within tolerance: recorded, no alarm), to 4.5 at t=20 s (setpoint-mismatch) and back to 3.0 at t=30 s",
        duration: 40,
        phases: [
            .init(0, "setpoint 3.0 m3/h as approved"),
            .init(10, "setpoint 3.04 m3/h: within tolerance"),
            .init(20, "SETPOINT CHANGED to 4.5 m3/h in the PLC"),
            .init(30, "setpoint restored to 3.0 m3/h"),
        ],
        rig: Rig.standard.setpoint(lance, [
            ("name", "flow_difference_sp"), ("topic", setpointTopic), ("approved", "3.0"), ("tolerance", "0.05"), ("unit", "m3/h"),
        ]),
        expected: { run in
            [
                ExpectedAlarm(TemplateCatalog.setpointRule.id, .raised, on: wce, at: run.seen(20), causeContains: ["flow_difference_sp"]),
                ExpectedAlarm(TemplateCatalog.setpointRule.id, .cleared, on: wce, at: run.seen(30), causeContains: ["flow_difference_sp"]),
            ]
        },
        fault: { equipment, t, scan in
            guard equipment.template == wce else { return }
            let value = t.within(10..<20) ? 3.04 : t.within(20..<30) ? 4.5 : 3.0
            scan.values["flow_difference_sp"] = .number(value)
        }
    )

    /// A CO detector in clean air reads a flat 0 ppm, for longer than `frozen_after_s` (switched on
    /// here, off by default): the bottom of its range is never frozen.
    static let coCleanAir = Scenario(
        name: "co-clean-air",
        summary: "a CO detector in clean air reads a flat 0 ppm for 15 minutes, with frozen_after_s 600 and range "
            + "[0, 1000]: the range floor is its normal state, not a stuck transmitter; no alarm",
        duration: 900,
        phases: [.init(0, "clean air: CO 0 ppm, flat")],
        rig: Rig.standard.param(coID, "frozen_after_s", "600").signal(coID, "co", "range", "[0, 1000]"),
        expected: { _ in [] },
        fault: { equipment, _, scan in
            guard equipment.template == coDetector else { return }
            scan.values["co"] = .number(0)
        }
    )

    /// The seconds at which a sparse gateway publishes the launder levels: every 2–4 s, irregular.
    static let sparseLevelTimes: [Double] = [0, 2, 5, 9, 12, 16, 19, 21, 24, 28, 31, 34, 38]

    /// A gateway that publishes the launder levels only every 2–4 s: the junction level steps from
    /// 100 to 155 mm between readings 2 s apart (27.5 mm/s, level_rate_max 20 mm/s).
    static let sparseLaunderLevel = Scenario(
        name: "sparse-launder-level",
        summary: "a gateway publishes the launder levels every 2–4 s; the junction level steps 100 → 155 mm at t=20 s, "
            + "seen at t=21 s two seconds after the last reading (27.5 mm/s > level_rate_max 20): level-jump, which trips "
            + "the interlock; the PLC acts in time",
        duration: 40,
        phases: [
            .init(0, "casting; levels published every 2–4 s"),
            .init(20, "JUNCTION LEVEL STEP: 100 → 155 mm"),
        ],
        rig: .aluminium,
        expected: { run in
            [
                ExpectedAlarm("level-jump", .raised, on: casting, at: run.seen(21)),
                ExpectedAlarm("level-jump", .cleared, on: casting, at: run.seen(24)),
            ]
        },
        fault: { equipment, t, scan in
            guard equipment.template == casting else { return }
            scan.values["cast_length"] = .number(1000)
            if t >= 20 { scan.values["level_junction"] = .number(155) }
            if !sparseLevelTimes.contains(where: { abs($0 - t.seconds) < 0.001 }) {
                scan.values["level_junction"] = nil
                scan.values["level_outlet"] = nil
            }
            // The PLC reads the level itself, at once: it acts on the step, not on the gateway's report.
            respondCasting(scan: &scan, at: t, trip: equipment.trip(faultStart: 20), shutoff: 0.5, drain: 0.8, platform: 1.0)
        }
    )

    /// `casting_active` goes bad mid-cast, then the mould water fails: the unknown gate is open, so
    /// the cooling loss alarms beside the gate's own bad-quality alarm.
    static let castingGateBadMidCast = Scenario(
        name: "casting-gate-bad-mid-cast",
        summary: "casting_active turns bad at t=10 s (until t=30 s); the mould water falls to 60 m3/h (cooling_flow_min 100) "
            + "from t=15 s to t=25 s: cooling-flow-low is raised although the gate is unknown; the interlock acts in time",
        duration: 35,
        phases: [
            .init(0, "casting"),
            .init(10, "casting_active reads bad (the gate is unknown, so open)"),
            .init(15, "MOULD WATER LOST: 60 m3/h"),
            .init(25, "mould water restored"),
            .init(30, "casting_active good again"),
        ],
        rig: .aluminium,
        expected: { run in
            [
                .device(.badQuality, .raised, on: casting, signal: "casting_active", at: run.seen(10)),
                ExpectedAlarm("cooling-flow-low", .raised, on: casting, at: run.seen(15) + run.param(castID, "on_delay_s")),
                ExpectedAlarm("cooling-flow-low", .cleared, on: casting, at: run.seen(25)),
                .device(.badQuality, .cleared, on: casting, signal: "casting_active", at: run.seen(30)),
            ]
        },
        fault: { equipment, t, scan in
            guard equipment.template == casting else { return }
            if t.within(10..<30) { scan.quality["casting_active"] = .bad }
            if t.within(15..<25) { scan.values["cooling_flow"] = .number(60) }
            respondCasting(scan: &scan, at: t, trip: equipment.trip(faultStart: 15), shutoff: 0.5, drain: 0.8, platform: 1.0, launder: 0.6)
        }
    )

    /// The bleeder opens 1 s into a top-pressure excursion and ends it before the 3 s on-delay: no
    /// top-pressure-high alarm, but the trip is an interlock action, late against interlock_warn_s 0.5 s.
    static let bleederWithinOnDelay = Scenario(
        name: "bleeder-within-on-delay",
        summary: "top pressure 270 kPa (top_pressure_max 250) from t=10 s; the bleeder opens at t=11 s and the pressure is "
            + "back at t=12 s, within the 3 s on-delay: no pressure alarm, but the trip is recorded, and 1 s is later than "
            + "interlock_warn_s 0.5 s (interlock-late)",
        duration: 20,
        phases: [
            .init(0, "top pressure ≈ 220 kPa"),
            .init(10, "TOP PRESSURE HIGH: 270 kPa"),
            .init(11, "bleeder open"),
            .init(12, "top pressure relieved"),
        ],
        rig: Rig.blastFurnace.param(topID, "on_delay_s", "3").param(topID, "interlock_warn_s", "0.5"),
        expected: { run in
            interlockOutcome(run, template: blastFurnaceTop, equipment: topID, trip: run.seen(10), feedbacks: [("bleeder_open", 1.0)])
        },
        fault: { equipment, t, scan in
            guard equipment.template == blastFurnaceTop else { return }
            if t.within(10..<12) { scan.values["top_pressure"] = .number(270) }
            if t >= equipment.trip(faultStart: 10) + 1.0 { scan.values["bleeder_open"] = .bool(true) }
        }
    )
}
