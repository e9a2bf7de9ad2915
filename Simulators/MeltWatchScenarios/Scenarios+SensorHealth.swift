import MeltWatchCore
import MeltWatchRules

/// Scenarios for the sensor-health rules every template carries (令10 第十四条): `stale`, `frozen`,
/// `bad-quality`, and an interlock check whose feedback signal goes bad.
extension Scenario {
    static let sensorHealth: [Scenario] = [gatewayDying, frozenSensor, badQuality, interlockFeedbackBad]

    /// The lance element's transmitters stop publishing after its t=20 s scan and never come back,
    /// while the rest of the plant goes on reporting.
    ///
    /// Stale is judged on the daemon's clock: it is raised once `stale_after_s` of real time passed
    /// since the last reading arrived, whatever `--speed` is, and carries the last reading's event
    /// time + `stale_after_s`. The plant's other equipment reports for 50 s more — at the end-to-end
    /// test's `--speed 10` that is 5 s of real time, longer than `stale_after_s` — so the lance's
    /// silence is its own and each of its signals is stale on its own. (A plant whose every signal
    /// stops together is one `gateway-silent` instead, as when any run ends: domain.md, "One cause,
    /// one alarm".)
    static let gatewayDying = Scenario(
        name: "gateway-dying",
        summary: "the lance element's gateway dies after its t=20 s scan while the rest of the plant reports on: every signal it "
            + "published goes stale (stale_after_s 4 after the last reading, by the daemon's clock)",
        duration: 70,
        phases: [
            .init(0, "healthy"),
            .init(20, "the lance element's gateway dies: nothing more from it"),
        ],
        rig: Rig.standard.param(lance, "stale_after_s", "4"),
        expected: { run in
            let last = run.grid.scan(atOrBefore: SimTime(seconds: 20))
            let at = last + run.param(lance, "stale_after_s")
            return publishedRoles(of: wce).map { .device(.stale, .raised, on: wce, signal: $0, at: at) }
        },
        fault: { equipment, t, scan in
            guard equipment.template == wce, t > 20 else { return }
            scan.silence()
        }
    )

    /// The outlet temperature transmitter sticks at 36.2 °C while the furnace operates.
    static let frozenSensor = Scenario(
        name: "frozen-sensor",
        summary: "the outlet temperature reads exactly 36.2 °C from t=10 s to t=25 s while the furnace operates "
            + "(frozen_after_s 8), then live values again",
        duration: 35,
        phases: [
            .init(0, "healthy: outlet temperature ≈ 35 °C with normal jitter"),
            .init(10, "outlet temperature transmitter stuck at 36.2 °C"),
            .init(25, "transmitter replaced: live values again"),
        ],
        rig: Rig.standard.param(lance, "frozen_after_s", "8"),
        expected: { run in
            [
                .device(.frozen, .raised, on: wce, signal: "outlet_temp", at: run.seen(10) + run.param(lance, "frozen_after_s")),
                .device(.frozen, .cleared, on: wce, signal: "outlet_temp", at: run.seen(25)),
            ]
        },
        fault: { equipment, t, scan in
            guard equipment.template == wce, t.within(10..<25) else { return }
            scan.values["outlet_temp"] = .number(36.2)
        }
    )

    /// Two ways a reading is bad: the gateway says so, or the number is outside the instrument's range.
    static let badQuality = Scenario(
        name: "bad-quality",
        summary: "the gateway marks the outlet temperature q=bad from t=10 s to t=15 s; the CO detector reads −5 ppm "
            + "(below its range [0, 1000]) from t=20 s to t=25 s",
        duration: 30,
        phases: [
            .init(0, "healthy"),
            .init(10, "outlet temperature: gateway quality bad"),
            .init(15, "outlet temperature good again"),
            .init(20, "CO detector under range: −5 ppm"),
            .init(25, "CO detector back in range"),
        ],
        rig: Rig.standard.signal(coID, "co", "range", "[0, 1000]"),
        expected: { run in
            [
                .device(.badQuality, .raised, on: wce, signal: "outlet_temp", at: run.seen(10)),
                .device(.badQuality, .cleared, on: wce, signal: "outlet_temp", at: run.seen(15)),
                .device(.badQuality, .raised, on: coDetector, signal: "co", at: run.seen(20)),
                .device(.badQuality, .cleared, on: coDetector, signal: "co", at: run.seen(25)),
            ]
        },
        fault: { equipment, t, scan in
            if equipment.template == wce, t.within(10..<15) { scan.quality["outlet_temp"] = .bad }
            if equipment.template == coDetector, t.within(20..<25) { scan.values["co"] = .number(-5) }
        }
    )

    /// A lance leak trips the interlock; while the check waits, the lance feedback's quality goes bad:
    /// the check cannot be verified, so it fails at once naming the feedback and its fault.
    static let interlockFeedbackBad = Scenario(
        name: "interlock-feedback-bad",
        summary: "lance leak from t=10 s to t=25 s; after the trip the tilt locks at +0.8 s, but the lance feedback turns "
            + "q=bad at +1 s (until t=16 s): interlock-failed at once, naming lance_raised and bad-quality",
        duration: 30,
        phases: [
            .init(0, "healthy"),
            .init(10, "LEAK: outlet flow drops 5.5 m3/h below inlet"),
            .init(16, "lance feedback good again (lance down)"),
            .init(25, "leak stopped"),
        ],
        expected: { run in
            let raised = run.seen(10) + run.param(lance, "on_delay_s")
            let bad = run.grid.scan(atOrAfter: raised + 1)
            return [
                ExpectedAlarm("flow-difference", .raised, on: wce, at: raised),
                ExpectedAlarm("flow-difference", .cleared, on: wce, at: run.seen(25)),
                .device(.badQuality, .raised, on: wce, signal: "lance_raised", at: bad),
                .device(.badQuality, .cleared, on: wce, signal: "lance_raised", at: run.seen(16)),
                ExpectedAlarm("interlock-failed", .raised, on: wce, at: bad, causeContains: ["lance_raised", "bad-quality"]),
            ]
        },
        fault: { equipment, t, scan in
            guard equipment.template == wce else { return }
            if t.within(10..<25), let inlet = scan.number("inlet_flow") { scan.values["outlet_flow"] = .number(inlet - 5.5) }
            let trip = equipment.trip(faultStart: 10)
            respond(equipment, scan: &scan, at: t, trip: trip, tilt: 0.8, lance: nil)
            // Bad 1 s after the alarm raised, while the check waits for the lance.
            if t >= trip + equipment.onDelaySeconds + 1, t < 16 { scan.quality["lance_raised"] = .bad }
        }
    )

    /// The roles of `template` the simulator publishes when healthy, in template order.
    static func publishedRoles(of template: String) -> [String] {
        guard let id = TemplateID(rawValue: template) else { return [] }
        var rng = SplitMix64(seed: 0)
        let healthy = HealthyPlant.values(template: id, at: SimTime(milliseconds: 0), rng: &rng)
        return (TemplateCatalog.named(template)?.roles ?? []).map(\.name).filter { healthy[$0] != nil }
    }
}
