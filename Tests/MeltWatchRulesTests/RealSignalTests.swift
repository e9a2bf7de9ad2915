import MeltWatchCore
import Testing

@testable import MeltWatchRules

// The misfires of issue 15, each as a plant engineer found it commissioning the rules on real
// signals (domain.md: the water-cooled element's `interlock`, the CO detector, the casting station,
// "Gates, rates and the end of a gated alarm", and the basis table).

private let element = TemplateCatalog.named("steel.water-cooled-element")!
private let station = TemplateCatalog.named("aluminium.dc-casting")!
private let detector = TemplateCatalog.named("steel.co-detector")!
private let scrubber = TemplateCatalog.named("dust.wet-collector")!

/// "kind latency@trip" per recorded interlock outcome (latency -1 for a failure).
private func outcomes(_ h: Harness) -> [String] {
    h.outcomes.map { "\($0.kind.rawValue) \($0.latencyMilliseconds ?? -1)@\(Harness.seconds($0.trippedAt))" }
}

/// A bof element with on-delay 2 s, warn 2 s, deadline 5 s; its feedbacks false, then a flow
/// difference of 10 m3/h from t=0 (limit 3): the excursion starts at 0 and the alarm raises at 2.
private func leakingElement() -> Harness {
    Harness(element, params: ["on_delay_s": 2, "interlock_warn_s": 2, "interlock_deadline_s": 5, "flow_difference_max": 3])
        .run([.b(0, "furnace_operating", true), .b(0, "tilt_locked", false), .b(0, "lance_raised", false),
              .n(0, "inlet_flow", 120), .n(0, "outlet_flow", 110)])
}

/// A station casting normally from t=0 (defaults: on-delay 1 s, warn 2 s, deadline 5 s, fixed furnace).
private func castingStation(params: [String: Double] = [:], choices: [String: String] = [:], castLength: Double = 500,
                            industry: Industry = .aluminium) -> Harness {
    Harness(station, params: params, choices: choices, industry: industry).run([
        .n(0, "cooling_pressure", 300), .n(0, "cooling_flow", 150), .n(0, "level_outlet", 100), .n(0, "level_junction", 100),
        .n(0, "cast_length", castLength), .b(0, "mode_auto", true), .b(0, "mechanical_lock", true),
        .b(0, "shutoff_closed", false), .b(0, "drain_open", false), .b(0, "furnace_tilted_back", false),
        .b(0, "platform_stopped", false), .b(0, "casting_active", true),
    ])
}

@Suite("Interlock timing counts from the excursion, not from the on-delay")
struct InterlockFromExcursionTests {
    @Test("feedbacks 3.0 s after the flow difference appeared are late by 3.0 s (it read 1.0 s and passed)")
    func lateFromExcursion() {
        let h = leakingElement().run([.tick(2), .b(3, "tilt_locked", true), .b(3, "lance_raised", true)])
        #expect(outcomes(h) == ["late 3000@0.0"])
        let late = h.events("interlock-late")
        #expect(late.map(\.kind) == [.raised, .cleared])
        #expect(late.first?.latencyMilliseconds == 3000)
        #expect(late.first.map { Harness.seconds($0.eventTime) } == 3.0)
    }

    @Test("a fast PLC acting within the on-delay reads its real latency, not 0 ms")
    func fastPLC() {
        let h = leakingElement().run([.b(0.4, "tilt_locked", true), .b(0.45, "lance_raised", true), .tick(2), .tick(6)])
        #expect(outcomes(h) == ["ok 450@0.0"])
        #expect(h.summary == ["flow-difference raised@2.0"])
    }

    @Test("the deadline counts from the excursion: no feedback fails at 5 s, not at on-delay + 5 s")
    func deadlineFromExcursion() {
        let h = leakingElement().run([.tick(2), .tick(5), .tick(5.001), .tick(8)])
        #expect(outcomes(h) == ["failed -1@0.0"])
        #expect(h.events("interlock-failed").map { Harness.seconds($0.eventTime) } == [5.0])
    }

    @Test("an on-delay longer than the deadline fails the check when the alarm raises, never before it")
    func onDelayBeyondDeadline() {
        let h = Harness(element, params: ["on_delay_s": 6, "interlock_deadline_s": 5, "flow_difference_max": 3])
            .run([.b(0, "tilt_locked", false), .b(0, "lance_raised", false), .n(0, "inlet_flow", 120), .n(0, "outlet_flow", 110), .tick(6)])
        #expect(h.summary == ["flow-difference raised@6.0", "interlock-failed raised@6.0"])
        #expect(outcomes(h) == ["failed -1@0.0"])
    }

    @Test("an excursion shorter than the on-delay during which the interlock acted is recorded as a trip, with no alarm")
    func shortExcursionRecorded() {
        let ok = leakingElement().run([.b(0.3, "tilt_locked", true), .b(0.35, "lance_raised", true), .n(1, "outlet_flow", 119), .tick(10)])
        #expect(outcomes(ok) == ["ok 350@0.0"])
        #expect(ok.summary.isEmpty)
    }

    @Test("a short excursion the interlock did not answer, or answered only in part, records nothing")
    func shortExcursionWithoutAction() {
        let none = leakingElement().run([.n(1, "outlet_flow", 119), .tick(10)])
        #expect(outcomes(none).isEmpty)
        let half = leakingElement().run([.b(0.3, "tilt_locked", true), .n(1, "outlet_flow", 119), .tick(10)])
        #expect(outcomes(half).isEmpty)
        // Feedbacks already true before the excursion are not an interlock acting on it.
        let idle = Harness(element, params: ["on_delay_s": 2, "flow_difference_max": 3]).run([
            .b(0, "tilt_locked", true), .b(0, "lance_raised", true),
            .n(1, "inlet_flow", 120), .n(1, "outlet_flow", 110), .n(2, "outlet_flow", 119), .tick(10),
        ])
        #expect(outcomes(idle).isEmpty)
    }

    @Test("a casting station's trip counts from the junction level's excursion too")
    func castingFromExcursion() {
        // level-jump off: the step to 170 mm would trip the check at once, with no on-delay to measure past.
        let h = castingStation(params: ["level_rate_max": 0]).run([
            .n(1, "level_junction", 170), .tick(2),  // excursion at 1, level-high raises at 2 (on-delay 1 s)
            .b(2.5, "shutoff_closed", true), .b(2.5, "drain_open", true), .b(3.6, "platform_stopped", true),
        ])
        #expect(outcomes(h) == ["late 2600@1.0"])
    }
}

@Suite("Gates fail open: an unknown gate is never its last good value")
struct GateFailOpenTests {
    @Test("furnace_operating false, then bad: inlet-flow-low is evaluated")
    func badOperatingGate() {
        let h = Harness(element, params: ["inlet_flow_min": 100, "on_delay_s": 2]).run([
            .b(0, "furnace_operating", false), .n(0, "inlet_flow", 90), .n(0.5, "inlet_flow", 90),
            .b(1, "furnace_operating", false, .bad), .n(1.5, "inlet_flow", 90), .n(3.5, "inlet_flow", 90),
        ])
        #expect(h.summary == ["inlet-flow-low raised@3.0"])
    }

    @Test("furnace_operating false, then stale: inlet-flow-low is evaluated beside the gate's own stale alarm")
    func staleOperatingGate() {
        var steps: [Step] = [.b(0, "furnace_operating", false)]
        for s in stride(from: 0.0, through: 60, by: 5) {
            steps += [.n(s, "inlet_flow", 90), .n(s, "outlet_flow", 90), .n(s, "outlet_temp", 30)]
        }
        let h = Harness(element, params: ["inlet_flow_min": 100, "on_delay_s": 2], health: true).run(steps)
        let relevant = h.summary.filter { $0.hasPrefix("inlet-flow-low") || $0.hasPrefix("stale raised furnace_operating") }
        #expect(relevant == ["stale raised furnace_operating@30.0", "inlet-flow-low raised@32.0"])
    }

    @Test("casting_active false, then bad: cooling-pressure-low is evaluated")
    func badCastingGate() {
        let h = castingStation().run([
            .b(1, "casting_active", false), .n(1, "cooling_pressure", 100), .n(2, "cooling_pressure", 100),
            .b(3, "casting_active", false, .bad), .n(3.5, "cooling_pressure", 100), .n(4.5, "cooling_pressure", 100),
        ])
        #expect(h.summary.filter { $0.hasPrefix("cooling") } == ["cooling-pressure-low raised@4.0"])
    }

    @Test("a cast_length stuck below the level gate, then bad, no longer hides level-low")
    func badCastLength() {
        let h = castingStation(castLength: 200).run([
            .n(1, "level_junction", 20), .n(2, "level_junction", 20),  // gated: the start-up transient
            .n(3, "cast_length", 200, .bad), .n(3.5, "level_junction", 20), .n(4.5, "level_junction", 20),
        ])
        #expect(h.summary.filter { $0.hasPrefix("level-low") } == ["level-low raised@4.0"])
    }

    @Test("level-high (overflow) is not gated by cast length: dangerous from the first millimetre")
    func overflowFromTheStart() {
        let h = castingStation(castLength: 20).run([.n(1, "level_outlet", 170), .n(2, "level_outlet", 170)])
        #expect(h.summary.filter { $0.hasPrefix("level-high") } == ["level-high raised@2.0"])
    }

    @Test("fan_running false, then bad: running-dry is evaluated")
    func badFanGate() {
        let h = Harness(scrubber, params: ["water_flow_min": 50, "on_delay_s": 2]).run([
            .b(0, "fan_running", false), .n(0, "water_flow", 0), .n(0, "water_level", 500),
            .b(1, "fan_running", false, .bad), .n(2, "water_flow", 0), .n(3.5, "water_flow", 0),
        ])
        #expect(h.summary == ["running-dry raised@3.0"])
    }
}

@Suite("Only the junction level trips the casting interlock check")
struct JunctionTripTests {
    @Test("an outlet-launder deviation alarms (第五条(七)) without a trip")
    func outletDoesNotTrip() {
        let h = castingStation(params: ["level_rate_max": 0]).run([.n(1, "level_outlet", 170), .tick(2), .tick(10)])
        #expect(h.summary == ["level-high raised@2.0"])
        #expect(outcomes(h).isEmpty)
    }

    @Test("the junction tripping while the outlet already alarmed still starts the check")
    func junctionAfterOutlet() {
        let h = castingStation(params: ["level_rate_max": 0])
            .run([.n(1, "level_outlet", 170), .tick(2), .n(3, "level_junction", 170), .tick(4), .tick(9.5)])
        #expect(outcomes(h) == ["failed -1@3.0"])
    }
}

@Suite("Rate rules on sparse and report-by-exception tags")
struct SparseRateTests {
    @Test("a launder level 100 → 155 mm between readings 2 s apart (27.5 mm/s, limit 20) raises level-jump")
    func levelJumpSparse() {
        let h = castingStation().run([.n(2, "level_junction", 100), .n(4, "level_junction", 155)])
        let jump = h.events("level-jump")
        #expect(jump.map(\.kind) == [.raised])
        #expect(jump.first?.value == 27.5)
    }

    @Test("a cooling-water flow dropping 150 → 120 m3/h between readings 2 s apart (15/s, limit 10) is a sudden drop")
    func coolingDropSparse() {
        let h = castingStation(params: ["cooling_flow_drop_max": 10]).run([.n(2, "cooling_flow", 150), .n(4, "cooling_flow", 120)])
        #expect(h.summary.filter { $0.hasPrefix("cooling-flow-low") } == ["cooling-flow-low raised@4.0"])
    }

    @Test("a level at 1.5× the limit raises and one at half of it never does, whatever the tag period",
          arguments: [0.1, 0.5, 1, 2, 3, 5, 10])
    func periods(period: Double) {
        for (rate, raises) in [(30.0, true), (10.0, false)] {
            var m = RateMonitor(maxPerSecond: 20, windowMilliseconds: 1000, direction: .either)
            var raised = false
            for k in 0...Int(60 / period) {
                let s = Double(k) * period
                if case .raised? = m.update(100 + rate * s, at: Harness.time(s)) { raised = true }
            }
            #expect(raised == raises, "rate \(rate) mm/s every \(period) s")
        }
    }

    @Test("a CO rise at 1.5× rate_max raises co-rate, whatever the tag period", arguments: [0.1, 1, 2, 5, 10])
    func coRatePeriods(period: Double) {
        var steps: [Step] = []
        for k in 0...Int(180 / period) {
            let s = Double(k) * period
            steps.append(.n(s, "co", 2 + 0.25 * s))  // 15 ppm/min, limit 10
        }
        let h = Harness(detector, params: ["rate_max": 10]).run(steps)
        #expect(h.events("co-rate").first?.kind == .raised)
    }

    @Test("report by exception with jitter: a ramp raises, a steady value with 10 s heartbeats never does")
    func reportByException() {
        var rng = SplitMix64(seed: 7)
        func stream(_ value: (Double) -> Double, deadband: Double) -> [(Double, Double)] {
            var out: [(Double, Double)] = []
            var last: (Double, Double)?
            var s = 0.0
            while s < 120 {
                let v = value(s)
                if last.map({ abs(v - $0.1) > deadband || s - $0.0 >= 10 }) ?? true {
                    out.append((s, v))
                    last = (s, v)
                }
                s += 0.05 + Double(rng.next() % 100) / 1000  // 50–150 ms scan jitter
            }
            return out
        }
        for (name, value, raises) in [
            ("ramp", { (s: Double) in s < 60 ? 100 : 100 + 30 * (s - 60) }, true),
            ("steady", { (_: Double) in 100 }, false),
            ("slow", { (s: Double) in 100 + 5 * s }, false),
        ] as [(String, (Double) -> Double, Bool)] {
            var m = RateMonitor(maxPerSecond: 20, windowMilliseconds: 1000, direction: .either)
            var raised = false
            for (s, v) in stream(value, deadband: 5) {
                if case .raised? = m.update(v, at: Harness.time(s)) { raised = true }
            }
            #expect(raised == raises, "\(name)")
        }
    }
}

@Suite("CO detectors as they stand in clean air")
struct CODetectorCommissioningTests {
    @Test("the detector's fault output raises detector-fault (device, 第十四条) and clears with it")
    func detectorFault() {
        let h = Harness(detector).run([.n(0, "co", 0), .b(1, "fault", true), .b(2, "fault", true), .b(5, "fault", false)])
        #expect(h.summary == ["detector-fault raised fault@1.0", "detector-fault cleared fault@5.0"])
        let raised = h.events("detector-fault").first
        #expect(raised?.alarmClass == .device)
        #expect(raised?.basis == "令10 第十四条")
        #expect(raised?.signals == ["fault"])
    }

    @Test("frozen is off by default on CO detectors (and on the other ungated template)")
    func frozenOffByDefault() {
        #expect(detector.param("frozen_after_s")?.defaultValue == .number(0))
        #expect(TemplateCatalog.named("steel.blast-furnace-top")?.param("frozen_after_s")?.defaultValue == .number(0))
        #expect(element.param("frozen_after_s")?.defaultValue == .number(600))
    }

    @Test("a detector's basis follows the plant's industry", arguments: [
        (Industry.steel, "令10 第四条(六)"), (.aluminium, "令10 第五条(十一)"), (.dust, "令10 第四条(六)"),
    ])
    func basisByIndustry(industry: Industry, basis: String) {
        let h = Harness(detector, industry: industry).run([.n(0, "co", 30)])
        #expect(h.events("co-level-1").first?.basis == basis)
    }
}

@Suite("Basis strings name a document, and every clause that applies")
struct BasisStringTests {
    @Test("no rule of any template cites a bare local notice")
    func noBareNotice() {
        for t in TemplateCatalog.all {
            for r in t.rules {
                #expect(!r.basis.contains("地方通知"), "\(t.name) \(r.id): \(r.basis)")
            }
        }
    }

    @Test("a casting station's interlock-late cites the notice's question on delay")
    func castingLate() {
        let h = castingStation().run([
            .n(1, "cooling_pressure", 100), .tick(2),
            .b(4, "shutoff_closed", true), .b(4, "drain_open", true), .b(4, "platform_stopped", true),
        ])
        #expect(h.events("interlock-late").first?.basis == "忻应急发〔2024〕216号: 联锁动作是否长时间延迟")
    }

    @Test("interlock-failed lists the trip's clause and the platform notice when both apply, by furnace and trip", arguments: [
        ("fixed", "cooling_pressure", 100.0, ["drain_open"], "令10 第五条(六)；忻应急发〔2024〕216号: 各联锁动作是否与铸造平台停止下降联锁"),
        ("fixed", "cooling_pressure", 100, ["drain_open", "shutoff_closed"], "忻应急发〔2024〕216号: 各联锁动作是否与铸造平台停止下降联锁"),
        ("fixed", "cooling_pressure", 100, ["platform_stopped"], "令10 第五条(六)"),
        ("fixed", "level_junction", 170, ["drain_open"], "令10 第五条(八)；忻应急发〔2024〕216号: 各联锁动作是否与铸造平台停止下降联锁"),
        ("tilting", "level_junction", 170, ["furnace_tilted_back"], "令10 第五条(九)；忻应急发〔2024〕216号: 各联锁动作是否与铸造平台停止下降联锁"),
        ("tilting", "level_junction", 170, ["platform_stopped", "shutoff_closed"], "令10 第五条(九)"),
    ] as [(String, String, Double, [String], String)])
    func failedBasis(furnace: String, trip: String, value: Double, acted: [String], basis: String) {
        var steps: [Step] = [.n(1, trip, value), .tick(2)]
        steps += acted.map { .b(2.5, $0, true) }
        steps += [.tick(6), .tick(7)]
        let h = castingStation(choices: ["furnace": furnace]).run(steps)
        #expect(h.events("interlock-failed").first?.basis == basis)
    }

    @Test("a wet collector running dry cites the notice by name")
    func runningDry() {
        #expect(scrubber.rules.first { $0.id == "running-dry" }?.basis == "忻应急发〔2024〕216号: 湿式除尘干式运行")
    }
}

@Suite("A cooling trip also expects the launder disconnect, where the station reports it (第五条(六))")
struct LaunderDisconnectTests {
    @Test("a station that reports launder_disconnected: a cooling trip waits for it and fails without it; a level trip does not")
    func reportedLaunder() {
        let withLaunder = castingStation().run([.b(0, "launder_disconnected", false)])
        let cooling = withLaunder.run([
            .n(1, "cooling_flow", 60), .tick(2), .b(1.5, "shutoff_closed", true), .b(1.6, "drain_open", true),
            .b(1.8, "platform_stopped", true), .tick(6), .tick(7),
        ])
        let failed = cooling.events("interlock-failed").first
        #expect(failed?.cause?.hasPrefix("launder_disconnected 未动作") == true)
        #expect(failed?.basis == "令10 第五条(六)")
        #expect(failed?.signals.contains("launder_disconnected") == true)

        let level = castingStation(params: ["level_rate_max": 0]).run([
            .b(0, "launder_disconnected", false), .n(1, "level_junction", 170), .tick(2),
            .b(1.5, "shutoff_closed", true), .b(1.6, "drain_open", true), .b(1.8, "platform_stopped", true), .tick(10),
        ])
        #expect(outcomes(level) == ["ok 800@1.0"])
    }

    @Test("a station that never reports it: cooling trips are judged on the other actions, and alarms do not name it")
    func unreportedLaunder() {
        let h = castingStation().run([
            .n(1, "cooling_flow", 60), .tick(2), .b(1.5, "shutoff_closed", true), .b(1.6, "drain_open", true), .tick(7),
        ])
        #expect(outcomes(h) == ["failed -1@1.0"])
        let failed = h.events("interlock-failed").first
        #expect(failed?.cause?.hasPrefix("platform_stopped 未动作") == true)
        #expect(failed?.signals == ["shutoff_closed", "drain_open", "platform_stopped"])
    }
}
