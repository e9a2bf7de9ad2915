import MeltWatchCore
import Testing

@testable import MeltWatchRules

private let t0: Int64 = 1_763_884_800_000
private func t(_ s: Double) -> EventTime { EventTime(milliseconds: t0 + Int64(s * 1000)) }

/// One element with limits 45 / 55 °C, inlet minimum 100 m3/h, on-delay 2 s; signals in role order.
private func makeEngine(inletFlowMin: Double = 100, furnace: String = "bof") -> Engine {
    let spec = TemplateCatalog.named("steel.water-cooled-element")!
    var params = Dictionary(uniqueKeysWithValues: spec.params.compactMap { p in p.defaultValue.map { (p.name, $0) } })
    params["on_delay_s"] = .number(2)
    params["inlet_flow_min"] = .number(inletFlowMin)
    params["furnace_type"] = .choice(furnace)
    let model = EngineModel(
        equipment: [EngineEquipment(plant: "p", id: "lance", template: spec, params: params)],
        signals: spec.roles.indices.map { EngineSignal(equipment: 0, role: $0) },
        configHash: "sha256:test"
    )
    return Engine(model: model)
}

private func role(_ name: String) -> Int32 {
    Int32(TemplateCatalog.named("steel.water-cooled-element")!.roleIndex(name)!)
}

/// Feeds (seconds, role, value) steps — role "tick" is a clock tick — and returns "rule event@seconds"
/// for every alarm event, and "interlock kind latency" for every recorded interlock outcome.
private func run(_ steps: [(Double, String, Value)], inletFlowMin: Double = 100, furnace: String = "bof",
                 quality: [Int: Quality] = [:]) -> [String] {
    let e = makeEngine(inletFlowMin: inletFlowMin, furnace: furnace)
    var got: [String] = []
    e.onInterlockOutcome = { o in
        got.append("interlock \(o.kind.rawValue) \(o.latencyMilliseconds.map(String.init) ?? o.cause ?? "")")
    }
    for (i, (s, name, v)) in steps.enumerated() {
        let input: EngineInput = name == "tick" ? .tick(t(s))
            : .reading(Reading(signal: SignalID(role(name)), value: v, quality: quality[i] ?? .good, time: t(s)))
        e.process(input) { ev in
            let at = Double(ev.eventTime.milliseconds - t0) / 1000
            got.append("\(ev.rule) \(ev.kind.rawValue)@\(at)" + (ev.state == .suppressed ? " suppressed" : ""))
        }
    }
    return got
}

/// A leak from t=0 (flow difference 10 m3/h): flow-difference raises at t=2 and trips the check.
private let leak: [(Double, String, Value)] = [
    (0, "inlet_flow", .number(120)), (0, "outlet_flow", .number(110)), (2, "outlet_flow", .number(110)),
]

@Suite("steel.water-cooled-element rules")
struct WaterCooledElementTests {
    @Test("outlet temperature: warn level, trip level, on-delay, exactly at the limit does not alarm", arguments: [
        ([(0.0, 45.0), (3, 45.0)], []),
        ([(0.0, 45.1), (1.999, 46), (2, 46)], ["outlet-temp-high raised@2.0"]),
        ([(0.0, 56.0), (2, 56), (3, 40)], ["outlet-temp-high raised@2.0", "outlet-temp-high-high raised@2.0",
                                           "outlet-temp-high cleared@3.0", "outlet-temp-high-high cleared@3.0"]),
        ([(0.0, 56.0), (1, 40), (5, 40)], []),
    ] as [([(Double, Double)], [String])])
    func outletTemperature(samples: [(Double, Double)], expected: [String]) {
        #expect(run(samples.map { ($0.0, "outlet_temp", .number($0.1)) }) == expected)
    }

    @Test("inlet flow low only while operating; the gate closing ends it as suppressed by design (no acknowledgement)")
    func inletFlowLowGated() {
        let got = run([
            (0, "furnace_operating", .bool(true)),
            (0, "inlet_flow", .number(90)),
            (2, "inlet_flow", .number(90)),        // raised at 2 s (on-delay)
            (3, "furnace_operating", .bool(false)),  // gate closes: cleared
            (4, "inlet_flow", .number(50)),
            (8, "inlet_flow", .number(50)),        // not operating: nothing
        ])
        #expect(got == ["inlet-flow-low raised@2.0", "inlet-flow-low cleared@3.0 suppressed"])
    }

    @Test("inlet_flow_min 0 turns inlet-flow-low off")
    func inletFlowLowOff() {
        #expect(run([(0, "inlet_flow", .number(0)), (10, "inlet_flow", .number(0))], inletFlowMin: 0).isEmpty)
    }

    @Test("bypass alarms only while the furnace operates, with basis 第十四条")
    func bypass() throws {
        let got = run([
            (0, "interlock_bypassed", .bool(true)),   // unknown gate counts as operating
            (1, "furnace_operating", .bool(false)),
            (2, "furnace_operating", .bool(true)),
            (3, "interlock_bypassed", .bool(false)),
        ])
        #expect(got == ["interlock-bypassed raised@0.0", "interlock-bypassed cleared@1.0 suppressed",
                        "interlock-bypassed raised@2.0", "interlock-bypassed cleared@3.0"])
        let spec = try #require(TemplateCatalog.named("steel.water-cooled-element")?.rules.first { $0.id == "interlock-bypassed" })
        #expect(spec.basis == "令10 第十四条")
        #expect(spec.alarmClass == .interlock)
    }

    @Test("a bad-quality temperature cancels a pending raise")
    func badQualityTemperature() {
        let e = makeEngine()
        var events = 0
        e.process(.reading(Reading(signal: SignalID(role("outlet_temp")), value: .number(60), time: t(0)))) { _ in events += 1 }
        e.process(.reading(Reading(signal: SignalID(role("outlet_temp")), value: .number(60), quality: .bad, time: t(1)))) { _ in events += 1 }
        e.process(.tick(t(10))) { _ in events += 1 }
        #expect(events == 0)
    }

    @Test("interlock: every trip's outcome is recorded; late raises and returns interlock-late; missing fails at the deadline",
          arguments: [
              // BOF expects tilt_locked + lance_raised; warn 2 s, deadline 5 s. The excursion starts at
              // t=0 and the alarm raises at t=2 (on-delay): latency and deadline count from t=0.
              ([(1.0, "tilt_locked"), (1.5, "lance_raised")], ["interlock ok 1500"]),
              ([(1.0, "tilt_locked"), (2.0, "lance_raised")], ["interlock ok 2000"]),           // exactly at warn: ok
              ([(1.0, "tilt_locked"), (2.001, "lance_raised")],
               ["interlock late 2001", "interlock-late raised@2.001", "interlock-late cleared@2.001"]),
              ([(3.0, "tilt_locked"), (5.0, "lance_raised")],                                   // exactly at deadline: late
               ["interlock late 5000", "interlock-late raised@5.0", "interlock-late cleared@5.0"]),
              ([(3.0, "tilt_locked"), (5.001, "lance_raised")],
               ["interlock failed lance_raised 未动作 (no feedback by deadline 5 s)", "interlock-failed raised@5.0"]),
          ] as [([(Double, String)], [String])])
    func interlockTiming(feedbacks: [(Double, String)], expected: [String]) {
        // In time order, as a gateway sends them (a stable sort keeps the leak's readings first at a tie).
        let steps = (leak + feedbacks.map { ($0.0, $0.1, Value.bool(true)) }).enumerated()
            .sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element)
        let got = run(steps).filter { !$0.hasPrefix("flow-difference") }
        #expect(got == expected)
    }

    @Test("no feedback at all: interlock-failed fires on a clock tick at the deadline from the excursion start, with the cause")
    func interlockFailsByTick() {
        let got = run(leak + [(0, "tick", .bool(false)), (5.5, "tick", .bool(false)), (8.1, "tick", .bool(false))])
        #expect(got.contains("interlock-failed raised@5.0"))
        #expect(got.contains { $0.hasPrefix("interlock failed") && $0.contains("未动作") })
    }

    @Test("EAF expects power_off and electrodes_raised")
    func eafFeedbacks() {
        let steps: [(Double, String, Value)] = [(0, "inlet_flow", .number(120)), (0, "outlet_flow", .number(110)),
                                                (0.5, "power_off", .bool(true)), (1.0, "electrodes_raised", .bool(true)),
                                                (2, "outlet_flow", .number(110))]
        let got = run(steps, furnace: "eaf")
        #expect(got == ["flow-difference raised@2.0", "interlock ok 1000"])
    }

    @Test("a bad-quality expected feedback during the check fails it with that cause")
    func unhealthyFeedback() {
        let steps = leak + [(2.5, "lance_raised", Value.bool(false))]
        let got = run(steps, quality: [3: .bad])
        #expect(got.contains("interlock-failed raised@2.5"))
        #expect(got.contains { $0.hasPrefix("interlock failed lance_raised") })
    }
}
