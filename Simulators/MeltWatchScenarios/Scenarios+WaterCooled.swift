/// Scenarios for `steel.water-cooled-element` (令10 第四条(四)): every process and interlock rule.
extension Scenario {
    static let wce = "steel.water-cooled-element"
    static let lance = "bof1-lance"

    static let waterCooled: [Scenario] = [
        Scenario(
            name: "healthy", summary: "every equipment within limits", duration: 60,
            phases: [.init(0, "all equipment healthy")],
            expected: { _ in [] }, fault: { _, _, _ in }
        ),
        leak(name: "lance-leak", interlock: "the furnace tilt locks 0.8 s and the lance rises 1.2 s after the trip (ok: recorded, no alarm)",
             tilt: 0.8, lance: 1.2),
        leak(name: "lance-leak-late-interlock", interlock: "the lance rises 3.5 s after the trip (later than interlock_warn_s)",
             tilt: 0.8, lance: 3.5),
        leak(name: "lance-leak-no-interlock", interlock: "the lance never rises", tilt: 0.8, lance: nil),
        outletTemperature, inletFlowLow, interlockBypassed,
    ]

    /// A water-cooled element loses 5.5 m3/h from t=10 s to t=25 s; the BOF's interlock (tilt lock and
    /// lance raise) answers the trip after `tilt` / `lance` seconds, or never (nil).
    static func leak(name: String, interlock: String, tilt: Double?, lance: Double?) -> Scenario {
        Scenario(
            name: name,
            summary: "a water-cooled element loses 5.5 m3/h between inlet and outlet from t=10 s to t=25 s; \(interlock)",
            duration: 40,
            phases: [
                .init(0, "healthy: inlet ≈ 120 m3/h, outlet ≈ 119.6 m3/h"),
                .init(10, "LEAK: outlet flow drops 5.5 m3/h below inlet (water into the furnace)"),
                .init(25, "leak stopped: outlet flow back to inlet − 0.4 m3/h"),
            ],
            expected: { run in
                let excursion = run.seen(10)
                return [
                    ExpectedAlarm("flow-difference", .raised, on: wce, at: excursion + run.param(Self.lance, "on_delay_s")),
                    ExpectedAlarm("flow-difference", .cleared, on: wce, at: run.seen(25)),
                ] + interlockOutcome(run, trip: excursion, feedbacks: [("tilt_locked", tilt), ("lance_raised", lance)])
            },
            fault: { equipment, t, scan in
                guard equipment.template == wce else { return }
                if t.within(10..<25), let inlet = scan.number("inlet_flow") { scan.values["outlet_flow"] = .number(inlet - 5.5) }
                respond(equipment, scan: &scan, at: t, trip: equipment.trip(faultStart: 10), tilt: tilt, lance: lance)
            }
        )
    }

    /// Outlet water heats past the warning level, then past the trip level; the interlock answers in time.
    static let outletTemperature = Scenario(
        name: "outlet-temp-high",
        summary: "outlet water 48 °C (over outlet_temp_high 45) from t=10 s, 58 °C (over the trip level 55) from t=20 s, "
            + "back to ≈ 35 °C at t=30 s; the interlock acts 0.8 s / 1.2 s after the trip (ok)",
        duration: 40,
        phases: [
            .init(0, "healthy: outlet water ≈ 35 °C"),
            .init(10, "outlet water 48 °C: over the warning level"),
            .init(20, "outlet water 58 °C: over the trip level, the furnace trips"),
            .init(30, "cooling restored: outlet water ≈ 35 °C"),
        ],
        expected: { run in
            let delay = run.param(lance, "on_delay_s")
            let trip = run.seen(20)
            return [
                ExpectedAlarm("outlet-temp-high", .raised, on: wce, at: run.seen(10) + delay),
                ExpectedAlarm("outlet-temp-high-high", .raised, on: wce, at: trip + delay),
                ExpectedAlarm("outlet-temp-high", .cleared, on: wce, at: run.seen(30)),
                ExpectedAlarm("outlet-temp-high-high", .cleared, on: wce, at: run.seen(30)),
            ] + interlockOutcome(run, trip: trip, feedbacks: [("tilt_locked", 0.8), ("lance_raised", 1.2)])
        },
        fault: { equipment, t, scan in
            guard equipment.template == wce else { return }
            if t.within(10..<20) { scan.values["outlet_temp"] = .number(48) }
            if t.within(20..<30) { scan.values["outlet_temp"] = .number(58) }
            respond(equipment, scan: &scan, at: t, trip: equipment.trip(faultStart: 20), tilt: 0.8, lance: 1.2)
        }
    )

    /// Inlet flow falls below the minimum while the furnace runs; the alarm ends when the furnace stops
    /// (the rule is gated on `furnace_operating`), not when the flow recovers.
    static let inletFlowLow = Scenario(
        name: "inlet-flow-low",
        summary: "inlet flow falls to ≈ 80 m3/h (inlet_flow_min 100) from t=10 s while the furnace operates; the furnace "
            + "stops at t=20 s (gate closes, the alarm clears) and restarts at t=25 s with the flow back to ≈ 120 m3/h",
        duration: 35,
        phases: [
            .init(0, "healthy: inlet ≈ 120 m3/h"),
            .init(10, "pump trouble: inlet ≈ 80 m3/h while operating"),
            .init(20, "furnace stopped (flow still low)"),
            .init(25, "furnace restarted, flow back to ≈ 120 m3/h"),
        ],
        rig: Rig.standard.param(lance, "inlet_flow_min", "100"),
        expected: { run in
            [
                ExpectedAlarm("inlet-flow-low", .raised, on: wce, at: run.seen(10) + run.param(lance, "on_delay_s")),
                ExpectedAlarm("inlet-flow-low", .cleared, on: wce, at: run.seen(20)),
            ]
        },
        fault: { equipment, t, scan in
            guard equipment.template == wce else { return }
            if t.within(10..<25), let inlet = scan.number("inlet_flow"), let outlet = scan.number("outlet_flow") {
                // Both flows drop together: the difference stays healthy, only the inlet minimum is violated.
                scan.values["inlet_flow"] = .number(inlet - 40)
                scan.values["outlet_flow"] = .number(outlet - 40)
            }
            if t.within(20..<25) { scan.values["furnace_operating"] = .bool(false) }
        }
    )

    /// The interlock is bypassed while the furnace runs (alarm), then during a stop (no alarm), and
    /// the furnace restarts with the bypass still set (alarm again).
    static let interlockBypassed = Scenario(
        name: "interlock-bypassed",
        summary: "interlock bypass set from t=10 s to t=20 s while operating; set again at t=25 s during a furnace stop "
            + "(no alarm) and still set when the furnace restarts at t=30 s, removed at t=35 s",
        duration: 40,
        phases: [
            .init(0, "healthy: interlock armed"),
            .init(10, "interlock BYPASSED while operating"),
            .init(20, "bypass removed"),
            .init(25, "furnace stopped; bypass set for maintenance"),
            .init(30, "furnace restarted with the bypass still set"),
            .init(35, "bypass removed"),
        ],
        expected: { run in
            [
                ExpectedAlarm("interlock-bypassed", .raised, on: wce, at: run.seen(10)),
                ExpectedAlarm("interlock-bypassed", .cleared, on: wce, at: run.seen(20)),
                ExpectedAlarm("interlock-bypassed", .raised, on: wce, at: run.seen(30)),
                ExpectedAlarm("interlock-bypassed", .cleared, on: wce, at: run.seen(35)),
            ]
        },
        fault: { equipment, t, scan in
            guard equipment.template == wce else { return }
            if t.within(10..<20) || t.within(25..<35) { scan.values["interlock_bypassed"] = .bool(true) }
            if t.within(25..<30) { scan.values["furnace_operating"] = .bool(false) }
        }
    )

    /// Scripts the BOF interlock's feedbacks: each turns true `tilt` / `lance` seconds after `trip`.
    static func respond(_ equipment: FaultContext, scan: inout Scan, at t: SimTime, trip: SimTime, tilt: Double?, lance: Double?) {
        if let tilt, t >= trip + tilt { scan.values["tilt_locked"] = .bool(true) }
        if let lance, t >= trip + lance { scan.values["lance_raised"] = .bool(true) }
    }

    /// The interlock alarms for a trip at `trip` (the excursion start) whose feedbacks turn true the given seconds later
    /// (nil: never): none when all come within `interlock_warn_s`, `interlock-late` raised and returned
    /// at the last one when later, `interlock-failed` at trip + `interlock_deadline_s` naming the
    /// missing ones otherwise (latched: no clear).
    static func interlockOutcome(_ run: ScenarioRun, template: String = wce, equipment: String = lance, trip: SimTime,
                                 feedbacks: [(role: String, after: Double?)]) -> [ExpectedAlarm] {
        let warn = SimTime(seconds: run.param(equipment, "interlock_warn_s")).milliseconds
        let deadline = SimTime(seconds: run.param(equipment, "interlock_deadline_s")).milliseconds
        var last = trip
        var missing: [String] = []
        for f in feedbacks {
            guard let after = f.after else {
                missing.append(f.role)
                continue
            }
            let seen = run.grid.scan(atOrAfter: trip + after)
            if seen.milliseconds - trip.milliseconds > deadline { missing.append(f.role) } else { last = max(last, seen) }
        }
        if !missing.isEmpty {
            return [ExpectedAlarm("interlock-failed", .raised, on: template, at: SimTime(milliseconds: trip.milliseconds + deadline),
                                  causeContains: missing)]
        }
        let latency = last.milliseconds - trip.milliseconds
        guard latency > warn else { return [] }
        return [
            ExpectedAlarm("interlock-late", .raised, on: template, at: last, latencyMilliseconds: latency),
            ExpectedAlarm("interlock-late", .cleared, on: template, at: last, latencyMilliseconds: latency),
        ]
    }
}
