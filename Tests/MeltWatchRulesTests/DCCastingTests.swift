import MeltWatchCore
import Testing

@testable import MeltWatchRules

private let t0: Int64 = 1_763_884_800_000
private func t(_ s: Double) -> EventTime { EventTime(milliseconds: t0 + Int64((s * 1000).rounded())) }
private let spec = TemplateCatalog.named("aluminium.dc-casting")!

/// One casting station with the template's defaults (pressure ≥ 150 kPa, flow ≥ 100 m3/h, level
/// 40–160 mm, jump 20 mm/s, gate 300 mm, on-delay 1 s, warn 2 s, deadline 5 s) and `overrides`.
/// Every role is a signal (in role order); `health` gives sensor-health settings to the named roles.
private func makeEngine(_ overrides: [String: ParamValue] = [:], health: Set<String> = []) -> Engine {
    var params = Dictionary(uniqueKeysWithValues: spec.params.compactMap { p in p.defaultValue.map { (p.name, $0) } })
    for (k, v) in overrides { params[k] = v }
    let settings = HealthSettings(staleAfterMilliseconds: 30_000, frozenAfterMilliseconds: 0, range: 0...1000, required: false)
    let model = EngineModel(
        equipment: [EngineEquipment(plant: "p", id: "cast1", template: spec, params: params)],
        signals: spec.roles.indices.map { EngineSignal(equipment: 0, role: $0, health: health.contains(spec.roles[$0].name) ? settings : nil) },
        configHash: "sha256:test"
    )
    return Engine(model: model)
}

/// A step: seconds, role (or "tick"), value, quality.
typealias CastStep = (Double, String, Value, Quality)
private func r(_ s: Double, _ role: String, _ v: Double, _ q: Quality = .good) -> CastStep { (s, role, .number(v), q) }
private func b(_ s: Double, _ role: String, _ v: Bool, _ q: Quality = .good) -> CastStep { (s, role, .bool(v), q) }
/// A clock tick at daemon time `s`; with no earlier tick the equipment's time line is the daemon's,
/// and a deadline fires once the tick passes it by the engine's allowed lateness (1 s).
private func tick(_ s: Double) -> CastStep { (s, "tick", .bool(false), .good) }

/// Runs steps and returns every alarm event, and "interlock kind latency|cause" for recorded outcomes.
private func run(_ steps: [CastStep], _ overrides: [String: ParamValue] = [:], health: Set<String> = []) -> (events: [AlarmEvent], log: [String]) {
    let e = makeEngine(overrides, health: health)
    var events: [AlarmEvent] = []
    var log: [String] = []
    e.onInterlockOutcome = { o in
        log.append("interlock \(o.kind.rawValue) \(o.trigger) \(o.latencyMilliseconds.map(String.init) ?? o.cause ?? "")")
    }
    for (s, name, v, q) in steps {
        let input: EngineInput = name == "tick" ? .tick(t(s))
            : .reading(Reading(signal: SignalID(Int32(spec.roleIndex(name)!)), value: v, quality: q, time: t(s)))
        e.process(input) { ev in
            events.append(ev)
            log.append("\(ev.rule) \(ev.kind.rawValue)@\(Double(ev.eventTime.milliseconds - t0) / 1000)")
        }
    }
    return (events, log)
}

/// A station casting normally at t=0: every measurement in band, past the level gate, auto mode, lock engaged.
private let casting: [CastStep] = [
    r(0, "cooling_pressure", 300), r(0, "cooling_flow", 150), r(0, "level_outlet", 100), r(0, "level_junction", 100),
    r(0, "cast_length", 500), b(0, "mode_auto", true), b(0, "mechanical_lock", true), b(0, "casting_active", true),
]

@Suite("aluminium.dc-casting rules")
struct DCCastingTests {
    @Test("cooling pressure: exactly at the minimum is fine, below it raises after the on-delay, casting stop clears", arguments: [
        ([r(1, "cooling_pressure", 150), r(3, "cooling_pressure", 150)], [String]()),
        ([r(1, "cooling_pressure", 149.9), r(1.999, "cooling_pressure", 140)], []),
        ([r(1, "cooling_pressure", 149.9), r(2, "cooling_pressure", 140)], ["cooling-pressure-low raised@2.0"]),
        ([r(1, "cooling_pressure", 100), r(1.5, "cooling_pressure", 200), r(3, "cooling_pressure", 100)], []),
        ([r(1, "cooling_pressure", 100), r(2, "cooling_pressure", 100), b(4, "casting_active", false)],
         ["cooling-pressure-low raised@2.0", "cooling-pressure-low cleared@4.0"]),
        ([b(0.5, "casting_active", false), r(1, "cooling_pressure", 0), r(5, "cooling_pressure", 0)], []),
    ])
    func coolingPressure(steps: [CastStep], expected: [String]) {
        let got = run(casting + steps).log.filter { $0.hasPrefix("cooling") }
        #expect(got == expected)
    }

    @Test("a bad or NaN reading cancels a pending on-delay", arguments: [Quality.bad, .good])
    func badReadingCancels(quality: Quality) {
        let value = quality == .bad ? 140 : Double.nan
        let got = run(casting + [r(1, "cooling_flow", 90), r(1.5, "cooling_flow", value, quality), r(2, "cooling_flow", 90)]).log
        #expect(!got.contains { $0.hasPrefix("cooling-flow-low raised") })
    }

    @Test("cooling loss trips the interlock: fixed furnace expects shut-off, drain and platform stop")
    func interlockOK() {
        // The flow falls below its minimum at 1 s (the trip); the alarm raises at 2 s (on-delay 1 s).
        let (events, log) = run(casting + [
            r(1, "cooling_flow", 50), b(1.4, "shutoff_closed", true), b(1.6, "drain_open", true),
            r(2, "cooling_flow", 50), b(2.8, "platform_stopped", true),
        ])
        #expect(log.contains("interlock ok cooling-flow-low 1800"))
        let raised = events.first { $0.rule == "cooling-flow-low" }
        #expect(raised?.priority == .emergency)
        #expect(raised?.basis == "令10 第五条(六)")
        #expect(raised?.value == 50 && raised?.limit == 100)
        #expect(raised?.message.contains("50.0 m3/h < 最小值 100.0 m3/h") == true, "\(raised?.message ?? "")")
        #expect(!events.contains { $0.rule.hasPrefix("interlock") })
    }

    @Test("the platform keeps descending: interlock-failed at the deadline from the excursion start, citing the notice")
    func platformNeverStops() {
        let (events, log) = run(casting + [
            r(1, "cooling_flow", 50), r(2, "cooling_flow", 50),
            b(2.4, "shutoff_closed", true), b(2.6, "drain_open", true), b(6.9, "platform_stopped", false), tick(9),
        ])
        let failed = events.first { $0.rule == "interlock-failed" }
        #expect(failed?.eventTime == t(6))  // the flow fell below its minimum at 1 s; deadline 5 s
        #expect(failed?.cause?.contains("platform_stopped") == true)
        #expect(failed?.cause?.contains("shutoff_closed") == false)
        #expect(failed?.basis == "忻应急发〔2024〕216号: 各联锁动作是否与铸造平台停止下降联锁")
        #expect(failed?.alarmClass == .interlock && failed?.priority == .emergency)
        #expect(log.contains { $0.hasPrefix("interlock failed cooling-flow-low platform_stopped") })
    }

    @Test("a late action is interlock-late with its latency from the excursion; the deadline itself is still in time", arguments: [
        (3.5, "late", 2500.0), (6.0, "late", 5000), (3.0, "ok", 2000),
    ])
    func lateAction(platformAt: Double, kind: String, latency: Double) {
        let (events, log) = run(casting + [
            r(1, "cooling_flow", 50), r(2, "cooling_flow", 50),
            b(2.1, "shutoff_closed", true), b(2.2, "drain_open", true), b(platformAt, "platform_stopped", true),
        ])
        #expect(log.contains("interlock \(kind) cooling-flow-low \(Int(latency))"))
        let late = events.filter { $0.rule == "interlock-late" }
        if kind == "late" {
            #expect(late.map(\.kind) == [.raised, .cleared])
            #expect(late.first?.latencyMilliseconds == Int64(latency))
            #expect(late.first?.basis == "忻应急发〔2024〕216号: 联锁动作是否长时间延迟")
        } else {
            #expect(late.isEmpty)
        }
    }

    @Test("a level trip that fails cites the furnace's clause", arguments: [("fixed", "令10 第五条(八)"), ("tilting", "令10 第五条(九)")])
    func levelInterlockBasis(furnace: String, basis: String) {
        let (events, _) = run(casting + [
            r(1, "level_junction", 170), r(2, "level_junction", 171), b(2.5, "platform_stopped", true), tick(9),
        ], ["furnace": .choice(furnace), "level_rate_max": .number(0)])
        let failed = events.first { $0.rule == "interlock-failed" }
        #expect(failed?.basis == basis)
        let expectedMissing = furnace == "fixed" ? "shutoff_closed, drain_open" : "furnace_tilted_back, shutoff_closed"
        #expect(failed?.cause?.hasPrefix(expectedMissing) == true)
        #expect(events.first?.rule == "level-high" && events.first?.basis == "令10 第五条(七)")
    }

    @Test("level-low waits for the gate (cast length at least level_gate_mm); level-high, an overflow, does not", arguments: [
        (299.0, 20.0, [String]()), (300.0, 20.0, ["level-low raised@2.0"]), (299.0, 200.0, ["level-high raised@2.0"]),
    ])
    func levelGate(length: Double, level: Double, expected: [String]) {
        let got = run(casting + [r(0.5, "cast_length", length), r(1, "level_outlet", level), r(2, "level_outlet", level)],
                      ["level_rate_max": .number(0)])
            .log.filter { $0.hasPrefix("level") }
        #expect(got == expected)
    }

    @Test("one alarm for both levels: raised by the first, cleared with the last")
    func twoLevelsOneAlarm() {
        let got = run(casting + [
            r(1, "level_outlet", 30), r(1.5, "level_junction", 20), r(2, "level_outlet", 30), r(2.5, "level_junction", 20),
            r(3, "level_outlet", 100), r(4, "level_junction", 100),
        ], ["level_rate_max": .number(0)]).log.filter { $0.hasPrefix("level") }
        #expect(got == ["level-low raised@2.0", "level-low cleared@4.0"])
    }

    @Test("level jump: faster than level_rate_max over the last second, gated like the levels", arguments: [
        (500.0, 121.0, ["level-jump raised@0.5"]), (500, 110, []), (100, 130, []),
    ])
    func levelJump(length: Double, to: Double, expected: [String]) {
        let got = run(casting + [r(0.1, "cast_length", length), r(0.2, "level_junction", 100), r(0.5, "level_junction", to)])
            .log.filter { $0.hasPrefix("level-jump") }
        #expect(got == expected)
    }

    @Test("a sudden cooling pressure drop raises cooling-pressure-low before the minimum is reached")
    func suddenDrop() {
        let (events, _) = run(casting + [r(1, "cooling_pressure", 290), r(1.5, "cooling_pressure", 220)],
                              ["cooling_pressure_drop_max": .number(50)])
        let raised = events.first { $0.rule == "cooling-pressure-low" }
        #expect(raised?.eventTime == t(1.5))
        #expect(raised?.value == 220)
        // Against the last reading at or before the window's start (300 kPa at 0 s): 80 kPa in 1.5 s.
        #expect(raised?.message.contains("骤降 53.33 kPa/s > 50.0 kPa/s") == true, "\(raised?.message ?? "")")
    }

    @Test("casting-permissive: a cast starts with a bad sensor or a bypassed interlock", arguments: [
        ([r(0, "cooling_pressure", 300, .bad)], "cooling_pressure bad-quality"),
        ([b(0, "interlock_bypassed", true)], "interlock_bypassed"),
        ([b(0, "emergency_water_ok", false)], "emergency_water_ok false"),
    ])
    func permissive(pre: [CastStep], cause: String) {
        let start = pre + [b(0.5, "casting_active", false), b(1, "casting_active", true), b(5, "casting_active", false)]
        let (events, _) = run(start, health: ["cooling_pressure"])
        let p = events.filter { $0.rule == "casting-permissive" }
        #expect(p.map(\.kind) == [.raised, .cleared])
        #expect(p.first?.eventTime == t(1))
        #expect(p.first?.cause?.contains(cause) == true)
        #expect(p.first?.priority == .emergency && p.first?.basis == "令10 第十四条")
    }

    @Test("casting-permissive clears when the fault is gone; a healthy start raises nothing")
    func permissiveClears() {
        let (events, _) = run([r(0, "cooling_pressure", 300, .bad), b(1, "casting_active", true), r(2, "cooling_pressure", 300)],
                              health: ["cooling_pressure"])
        #expect(events.filter { $0.rule == "casting-permissive" }.map(\.kind) == [.raised, .cleared])
        #expect(run(casting + [b(3, "casting_active", false), b(4, "casting_active", true)]).events.isEmpty)
    }

    @Test("mode-not-auto and mechanical-lock-open after the on-delay; a tilting furnace has no lock rule", arguments: [
        ("fixed", ["mode-not-auto raised@2.0", "mechanical-lock-open raised@2.0"]),
        ("tilting", ["mode-not-auto raised@2.0"]),
    ])
    func modeAndLock(furnace: String, expected: [String]) {
        let got = run(casting + [b(1, "mode_auto", false), b(1, "mechanical_lock", false), tick(3.5)],
                      ["furnace": .choice(furnace)]).log.filter { $0.contains("raised") }
        #expect(got == expected)
    }

    @Test("interlock-bypassed while casting, cleared when casting stops")
    func bypass() {
        let got = run(casting + [b(1, "interlock_bypassed", true), b(2, "casting_active", false)]).log
        #expect(got == ["interlock-bypassed raised@1.0", "interlock-bypassed cleared@2.0"])
    }
}
