/// Scenarios for `aluminium.dc-casting` (令10 第五条(六)–(九), local notices): every rule of a deep-well
/// casting station on a fixed furnace (``Rig/aluminium``).
extension Scenario {
    static let casting = "aluminium.dc-casting"
    static let castID = "cast1"
    /// The Xinzhou notice's questions (domain.md's basis table).
    static let platformNotice = "忻应急发〔2024〕216号: 各联锁动作是否与铸造平台停止下降联锁"
    static let delayNotice = "忻应急发〔2024〕216号: 联锁动作是否长时间延迟"
    static let coolingClause = "令10 第五条(六)"

    static let aluminium: [Scenario] = [
        castingWaterLoss, castingPressureLoss, castingLevelJump, castingLevelBand, castingStartBadSensor,
        castingStartBypassed, castingModeAndLock,
    ]

    /// Nantong 2024: the mould cooling water is lost, the shut-off and drain valves act, the casting
    /// platform keeps descending.
    static let castingWaterLoss = Scenario(
        name: "casting-water-loss",
        summary: "mould cooling water falls to 60 m3/h (cooling_flow_min 100) from t=10 s to t=25 s while casting; the shut-off "
            + "valve closes +0.5 s, the launder disconnects +0.6 s and the drain opens +0.8 s after the trip, but the platform "
            + "keeps descending",
        duration: 30,
        phases: [
            .init(0, "casting: mould water ≈ 180 m3/h, platform descending"),
            .init(10, "COOLING WATER LOSS: 60 m3/h"),
            .init(25, "mould water restored"),
        ],
        rig: .aluminium,
        expected: { run in
            let trip = run.seen(10)
            return [
                ExpectedAlarm("cooling-flow-low", .raised, on: casting, at: trip + run.param(castID, "on_delay_s")),
                ExpectedAlarm("cooling-flow-low", .cleared, on: casting, at: run.seen(25)),
            ] + castingInterlock(run, trip: trip, shutoff: 0.5, drain: 0.8, platform: nil, launder: 0.6)
        },
        fault: { equipment, t, scan in
            guard equipment.template == casting else { return }
            if t.within(10..<25) { scan.values["cooling_flow"] = .number(60) }
            respondCasting(scan: &scan, at: t, trip: equipment.trip(faultStart: 10), shutoff: 0.5, drain: 0.8, platform: nil, launder: 0.6)
        }
    )

    /// Cooling pressure is lost; every action comes, the platform stop only after 3.5 s.
    static let castingPressureLoss = Scenario(
        name: "casting-pressure-loss",
        summary: "mould cooling water pressure falls to 100 kPa (cooling_pressure_min 150) from t=10 s to t=25 s while casting; "
            + "shut-off +0.5 s, launder disconnect +0.6 s, drain +0.8 s, platform stop +3.5 s after the trip (later than "
            + "interlock_warn_s)",
        duration: 30,
        phases: [
            .init(0, "casting: mould water ≈ 350 kPa"),
            .init(10, "COOLING PRESSURE LOSS: 100 kPa"),
            .init(25, "pressure restored"),
        ],
        rig: .aluminium,
        expected: { run in
            let trip = run.seen(10)
            return [
                ExpectedAlarm("cooling-pressure-low", .raised, on: casting, at: trip + run.param(castID, "on_delay_s")),
                ExpectedAlarm("cooling-pressure-low", .cleared, on: casting, at: run.seen(25)),
            ] + castingInterlock(run, trip: trip, shutoff: 0.5, drain: 0.8, platform: 3.5, launder: 0.6)
        },
        fault: { equipment, t, scan in
            guard equipment.template == casting else { return }
            if t.within(10..<25) { scan.values["cooling_pressure"] = .number(100) }
            respondCasting(scan: &scan, at: t, trip: equipment.trip(faultStart: 10), shutoff: 0.5, drain: 0.8, platform: 3.5, launder: 0.6)
        }
    )

    /// A new cast: the junction level jumps 35 mm before the cast reaches the level gate (300 mm, no
    /// alarm: the start of a cast is unsteady by nature) and again after it (level-jump, a trip).
    static let castingLevelJump = Scenario(
        name: "casting-level-jump",
        summary: "a new cast grows 10 mm/s from 100 mm; the junction level jumps 100 → 135 mm at t=10 s (cast 200 mm, before "
            + "level_gate_mm 300: no alarm), falls back at t=15 s, and jumps again at t=25 s (cast 350 mm: level-jump, a trip; "
            + "the interlock acts within 1 s)",
        duration: 30,
        phases: [
            .init(0, "new cast starting: cast length 100 mm"),
            .init(10, "junction level jumps 35 mm (before the level gate)"),
            .init(15, "junction level back to 100 mm"),
            .init(20, "cast length reaches the level gate (300 mm)"),
            .init(25, "junction level jumps 35 mm (after the level gate)"),
        ],
        rig: .aluminium,
        expected: { run in
            let jump = run.seen(25)
            return [
                ExpectedAlarm("level-jump", .raised, on: casting, at: jump),
                // The rise leaves the one-second window a second later.
                ExpectedAlarm("level-jump", .cleared, on: casting, at: run.grid.scan(atOrAfter: jump + 1)),
            ] + castingInterlock(run, trip: jump, shutoff: 0.5, drain: 0.8, platform: 1.0, clause: levelClause(run))
        },
        fault: { equipment, t, scan in
            guard equipment.template == casting else { return }
            scan.values["cast_length"] = .number(100 + 10 * t.seconds)
            if t.within(10..<15) || t >= 25 { scan.values["level_junction"] = .number(135) }
            let jump = equipment.grid.scan(atOrAfter: SimTime(seconds: 25))
            respondCasting(scan: &scan, at: t, trip: jump, shutoff: 0.5, drain: 0.8, platform: 1.0)
        }
    )

    /// The outlet launder overfills (an alarm, no trip: only the junction level is interlocked), later
    /// the junction runs low, which trips; the interlock acts in time.
    static let castingLevelBand = Scenario(
        name: "casting-level-band",
        summary: "outlet launder level 170 mm (level_high 160) from t=10 s to t=15 s, junction level 30 mm (level_low 40) from "
            + "t=20 s to t=25 s, while casting past the level gate; the junction trips the interlock, which acts within 1 s "
            + "(level_rate_max 0: jumps off)",
        duration: 30,
        phases: [
            .init(0, "casting: outlet ≈ 120 mm, junction ≈ 100 mm"),
            .init(10, "outlet launder level HIGH: 170 mm (overflow risk)"),
            .init(15, "outlet level normal"),
            .init(20, "junction level LOW: 30 mm"),
            .init(25, "junction level normal"),
        ],
        rig: Rig.aluminium.param(castID, "level_rate_max", "0"),
        expected: { run in
            let delay = run.param(castID, "on_delay_s")
            return [
                ExpectedAlarm("level-high", .raised, on: casting, at: run.seen(10) + delay),
                ExpectedAlarm("level-high", .cleared, on: casting, at: run.seen(15)),
                ExpectedAlarm("level-low", .raised, on: casting, at: run.seen(20) + delay),
                ExpectedAlarm("level-low", .cleared, on: casting, at: run.seen(25)),
            ] + castingInterlock(run, trip: run.seen(20), shutoff: 0.5, drain: 0.8, platform: 1.0, clause: levelClause(run))
        },
        fault: { equipment, t, scan in
            guard equipment.template == casting else { return }
            if t.within(10..<15) { scan.values["level_outlet"] = .number(170) }
            if t.within(20..<25) { scan.values["level_junction"] = .number(30) }
            respondCasting(scan: &scan, at: t, trip: equipment.trip(faultStart: 20), shutoff: 0.5, drain: 0.8, platform: 1.0)
        }
    )

    /// "Casting is not allowed with a faulty safety device": a cast starts while the cooling pressure
    /// transmitter reports bad quality.
    static let castingStartBadSensor = Scenario(
        name: "casting-start-bad-sensor",
        summary: "the station is idle; the cooling pressure transmitter turns q=bad at t=5 s; casting starts at t=10 s anyway; "
            + "the transmitter is repaired at t=20 s",
        duration: 25,
        phases: [
            .init(0, "station idle"),
            .init(5, "cooling pressure transmitter: quality bad"),
            .init(10, "CASTING STARTS with the faulty transmitter"),
            .init(20, "transmitter repaired"),
        ],
        rig: .aluminium,
        expected: { run in
            [
                .device(.badQuality, .raised, on: casting, signal: "cooling_pressure", at: run.seen(5)),
                ExpectedAlarm("casting-permissive", .raised, on: casting, at: run.seen(10), causeContains: ["cooling_pressure", "bad-quality"]),
                .device(.badQuality, .cleared, on: casting, signal: "cooling_pressure", at: run.seen(20)),
                ExpectedAlarm("casting-permissive", .cleared, on: casting, at: run.seen(20)),
            ]
        },
        fault: { equipment, t, scan in
            guard equipment.template == casting else { return }
            idleUntil(10, scan: &scan, at: t)
            if t.within(5..<20) { scan.quality["cooling_pressure"] = .bad }
        }
    )

    /// A cast starts with the interlock bypassed (maintenance forgot to re-arm it).
    static let castingStartBypassed = Scenario(
        name: "casting-start-bypassed",
        summary: "the interlock is bypassed at t=5 s while the station is idle (no alarm); casting starts at t=10 s with the "
            + "bypass still set; the bypass is removed at t=20 s",
        duration: 25,
        phases: [
            .init(0, "station idle"),
            .init(5, "interlock bypassed for maintenance"),
            .init(10, "CASTING STARTS with the interlock bypassed"),
            .init(20, "bypass removed"),
        ],
        rig: .aluminium,
        expected: { run in
            [
                ExpectedAlarm("casting-permissive", .raised, on: casting, at: run.seen(10), causeContains: ["interlock_bypassed"]),
                ExpectedAlarm("interlock-bypassed", .raised, on: casting, at: run.seen(10)),
                ExpectedAlarm("casting-permissive", .cleared, on: casting, at: run.seen(20)),
                ExpectedAlarm("interlock-bypassed", .cleared, on: casting, at: run.seen(20)),
            ]
        },
        fault: { equipment, t, scan in
            guard equipment.template == casting else { return }
            idleUntil(10, scan: &scan, at: t)
            if t.within(5..<20) { scan.values["interlock_bypassed"] = .bool(true) }
        }
    )

    /// Casting in manual mode, then with the fixed furnace's outlet lock released.
    static let castingModeAndLock = Scenario(
        name: "casting-mode-and-lock",
        summary: "while casting, the control leaves automatic mode from t=10 s to t=20 s, and the fixed furnace's outlet "
            + "mechanical lock is released from t=25 s to t=30 s",
        duration: 35,
        phases: [
            .init(0, "casting in automatic mode, outlet locked"),
            .init(10, "MANUAL mode while casting"),
            .init(20, "back to automatic"),
            .init(25, "outlet mechanical lock RELEASED while casting"),
            .init(30, "lock engaged"),
        ],
        rig: .aluminium,
        expected: { run in
            let delay = run.param(castID, "on_delay_s")
            return [
                ExpectedAlarm("mode-not-auto", .raised, on: casting, at: run.seen(10) + delay),
                ExpectedAlarm("mode-not-auto", .cleared, on: casting, at: run.seen(20)),
                ExpectedAlarm("mechanical-lock-open", .raised, on: casting, at: run.seen(25) + delay),
                ExpectedAlarm("mechanical-lock-open", .cleared, on: casting, at: run.seen(30)),
            ]
        },
        fault: { equipment, t, scan in
            guard equipment.template == casting else { return }
            if t.within(10..<20) { scan.values["mode_auto"] = .bool(false) }
            if t.within(25..<30) { scan.values["mechanical_lock"] = .bool(false) }
        }
    )

    /// Before `start` the station is idle (not casting, cast length 0, platform stopped); from then on
    /// a new cast grows 10 mm/s.
    static func idleUntil(_ start: Double, scan: inout Scan, at t: SimTime) {
        if t < start {
            scan.values["casting_active"] = .bool(false)
            scan.values["cast_length"] = .number(0)
            scan.values["platform_stopped"] = .bool(true)
        } else {
            scan.values["cast_length"] = .number(10 * (t.seconds - start))
        }
    }

    /// Scripts the fixed furnace's interlock actions: each turns true the given seconds after `trip`.
    static func respondCasting(scan: inout Scan, at t: SimTime, trip: SimTime, shutoff: Double?, drain: Double?, platform: Double?,
                               launder: Double? = nil) {
        if let launder, t >= trip + launder { scan.values["launder_disconnected"] = .bool(true) }
        if let shutoff, t >= trip + shutoff { scan.values["shutoff_closed"] = .bool(true) }
        if let drain, t >= trip + drain { scan.values["drain_open"] = .bool(true) }
        if let platform, t >= trip + platform { scan.values["platform_stopped"] = .bool(true) }
    }

    /// The interlock alarms of a casting trip at `trip` (the excursion start). A late action cites the
    /// notice's question on delay; a failure cites the trip's `clause` when an action it interlocks
    /// failed, and the platform notice when the platform kept descending — both, joined by "；".
    /// A cooling trip (`clause` 第五条(六)) on these stations, which report `launder_disconnected`, also
    /// expects the launder disconnect: `launder` seconds after the trip.
    static func castingInterlock(_ run: ScenarioRun, trip: SimTime, shutoff: Double?, drain: Double?, platform: Double?,
                                 clause: String = coolingClause, launder: Double? = nil) -> [ExpectedAlarm] {
        var feedbacks: [(role: String, after: Double?)] = [("shutoff_closed", shutoff), ("drain_open", drain), ("platform_stopped", platform)]
        if clause == coolingClause { feedbacks.insert(("launder_disconnected", launder), at: 2) }
        var alarms = interlockOutcome(run, template: casting, equipment: castID, trip: trip, feedbacks: feedbacks)
        for i in alarms.indices {
            if alarms[i].rule == "interlock-late" { alarms[i].basis = delayNotice }
            guard alarms[i].rule == "interlock-failed" else { continue }
            let missing = alarms[i].causeContains
            var bases: [String] = []
            if missing.contains(where: { $0 != "platform_stopped" }) { bases.append(clause) }
            if missing.contains("platform_stopped") { bases.append(platformNotice) }
            alarms[i].basis = bases.joined(separator: "；")
        }
        return alarms
    }

    /// The clause a junction-level trip cites: 第五条(八) for a fixed furnace, (九) for a tilting one.
    static func levelClause(_ run: ScenarioRun) -> String {
        run.rig.equipment(castID).choice("furnace") == "tilting" ? "令10 第五条(九)" : "令10 第五条(八)"
    }
}
