import MeltWatchCore
import Testing

@testable import MeltWatchRules

private let t0: Int64 = 1_763_884_800_000
private func t(_ s: Double) -> EventTime { EventTime(milliseconds: t0 + Int64(s * 1000)) }

/// One element with limits 45 / 55 °C, inlet minimum 100 m3/h, on-delay 2 s; signals in role order.
private func makeEngine(inletFlowMin: Double = 100) -> Engine {
    let spec = TemplateCatalog.named("steel.water-cooled-element")!
    var params = Dictionary(uniqueKeysWithValues: spec.params.compactMap { p in p.defaultValue.map { (p.name, $0) } })
    params["on_delay_s"] = .number(2)
    params["inlet_flow_min"] = .number(inletFlowMin)
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

/// Feeds (seconds, role, value) steps and returns "rule event@seconds" for every event.
private func run(_ steps: [(Double, String, Value)], inletFlowMin: Double = 100) -> [String] {
    let e = makeEngine(inletFlowMin: inletFlowMin)
    var got: [String] = []
    for (s, name, v) in steps {
        e.process(.reading(Reading(signal: SignalID(role(name)), value: v, time: t(s)))) { ev in
            let at = Double(ev.eventTime.milliseconds - t0) / 1000
            got.append("\(ev.rule) \(ev.kind.rawValue)@\(at)")
        }
    }
    return got
}

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

    @Test("inlet flow low only while operating, and the gate closing clears it")
    func inletFlowLowGated() {
        let got = run([
            (0, "furnace_operating", .bool(true)),
            (0, "inlet_flow", .number(90)),
            (2, "inlet_flow", .number(90)),        // raised at 2 s (on-delay)
            (3, "furnace_operating", .bool(false)),  // gate closes: cleared
            (4, "inlet_flow", .number(50)),
            (8, "inlet_flow", .number(50)),        // not operating: nothing
        ])
        #expect(got == ["inlet-flow-low raised@2.0", "inlet-flow-low cleared@3.0"])
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
        #expect(got == ["interlock-bypassed raised@0.0", "interlock-bypassed cleared@1.0",
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
}
