import MeltWatchCore
import Testing

@testable import MeltWatchRules

/// Flow minimum 50 L/min, level minimum 100 (mm at this site), on-delay 2 s.
private func scrubber(levelMin: Double = 100, flowMin: Double = 50) -> Harness {
    Harness(WetCollector.spec, params: ["water_flow_min": flowMin, "water_level_min": levelMin, "on_delay_s": 2])
}

/// Fan on with plenty of water at t = 0.
private let running: [Step] = [.b(0, "fan_running", true), .n(0, "water_flow", 80), .n(0, "water_level", 150)]

@Suite("dust.wet-collector rules")
struct WetCollectorTests {
    @Test("running-dry: flow or level strictly below its minimum while the fan runs, held exactly on_delay_s", arguments: [
        ([Step.n(1, "water_flow", 50), .tick(10)], []),                                        // at the minimum: enough
        ([Step.n(1, "water_level", 100), .tick(10)], []),
        ([Step.n(1, "water_flow", 49.9), .tick(2.999)], []),
        ([Step.n(1, "water_flow", 49.9), .tick(3)], ["running-dry raised@3.0"]),
        ([Step.n(1, "water_level", 99.5), .n(3, "water_level", 99.5)], ["running-dry raised@3.0"]),
        // A flow shortage that turns into a level shortage is one continuous spell.
        ([Step.n(1, "water_flow", 10), .n(2, "water_level", 20), .n(2.5, "water_flow", 80), .tick(3)], ["running-dry raised@3.0"]),
        // Back in between: the on-delay restarts.
        ([Step.n(1, "water_flow", 10), .n(2, "water_flow", 60), .n(2.5, "water_flow", 10), .tick(4.499), .tick(4.5)],
         ["running-dry raised@4.5"]),
    ] as [([Step], [String])])
    func raise(steps: [Step], expected: [String]) {
        #expect(scrubber().run(running + steps).summary == expected)
    }

    @Test("clears when the fan stops, or when both flow and level are back at or above their minimums", arguments: [
        ([Step.n(1, "water_flow", 0), .tick(3), .b(5, "fan_running", false)], ["running-dry raised@3.0", "running-dry cleared@5.0"]),
        ([Step.n(1, "water_flow", 0), .tick(3), .n(5, "water_flow", 50)], ["running-dry raised@3.0", "running-dry cleared@5.0"]),
        // Flow back but the level still low: stays active until the level is back too.
        ([Step.n(1, "water_flow", 0), .n(1, "water_level", 40), .tick(3), .n(5, "water_flow", 80), .n(7, "water_level", 100)],
         ["running-dry raised@3.0", "running-dry cleared@7.0"]),
        // The fan restarting dry raises a new activation after a fresh on-delay.
        ([Step.n(1, "water_flow", 0), .tick(3), .b(5, "fan_running", false), .b(8, "fan_running", true), .tick(9.999), .tick(10)],
         ["running-dry raised@3.0", "running-dry cleared@5.0", "running-dry raised@10.0"]),
    ] as [([Step], [String])])
    func clear(steps: [Step], expected: [String]) {
        #expect(scrubber().run(running + steps).summary == expected)
    }

    @Test("gate: no alarm while the fan is off; stopping the fan cancels a pending raise")
    func gate() {
        let off = scrubber().run([.b(0, "fan_running", false), .n(0, "water_flow", 0), .n(0, "water_level", 0), .tick(60)])
        #expect(off.summary.isEmpty)
        let stopped = scrubber().run(running + [.n(1, "water_flow", 0), .b(2, "fan_running", false), .tick(60)])
        #expect(stopped.summary.isEmpty)
        // Before the fan's first reading it counts as running (the engine's gate does the same).
        let unknown = scrubber().run([.n(0, "water_flow", 0), .n(0, "water_level", 150), .tick(2)])
        #expect(unknown.summary == ["running-dry raised@2.0"])
    }

    @Test("fields: priority high, the local notice as basis, flow as value and limit, the numbers in the message")
    func fields() throws {
        let h = scrubber().run(running + [.n(1, "water_flow", 12.5), .tick(3), .n(4, "water_flow", 75)])
        let raised = try #require(h.events.first)
        #expect(raised.rule == "running-dry")
        #expect(raised.kind == .raised)
        #expect(raised.eventTime == Harness.time(3))
        #expect(raised.priority == .high)
        #expect(raised.alarmClass == .process)
        #expect(raised.basis == "忻应急发〔2024〕216号: 湿式除尘干式运行")
        #expect(raised.signals == ["water_flow", "water_level", "fan_running"])
        #expect(raised.value == 12.5)
        #expect(raised.limit == 50)
        #expect(raised.unit == "L/min")
        #expect(raised.message.contains("水流量 12.5 L/min < 50.0 L/min"))
        #expect(raised.message.contains("(wet collector running dry"))
        let cleared = try #require(h.events.last)
        #expect(cleared.kind == .cleared)
        #expect(cleared.eventTime == Harness.time(4))
        #expect(cleared.value == 75)
        #expect(cleared.message.contains("75.0 L/min ≥ 50.0 L/min"))
        #expect(cleared.message.contains("150.0 ≥ 100.0"))

        let fanStop = scrubber().run(running + [.n(1, "water_flow", 0), .tick(3), .b(5, "fan_running", false)])
        #expect(fanStop.events.last?.message.contains("(fan stopped)") == true)
    }

    @Test("a level-only shortage: value and limit are null (one unit per rule), the level is in the message without a unit")
    func levelOnly() throws {
        let raised = try #require(scrubber().run(running + [.n(1, "water_level", 35), .tick(3)]).events.first)
        #expect(raised.value == nil)
        #expect(raised.limit == nil)
        #expect(raised.message.contains("液位 35.0 < 100.0"))
        #expect(!raised.message.contains("水流量"))
    }

    @Test("water_level_min 0 (the default) turns the level criterion off; water_flow_min 0 the flow one")
    func criteriaOff() {
        let levelOff = scrubber(levelMin: 0).run(running + [.n(1, "water_level", 0), .tick(10)])
        #expect(levelOff.summary.isEmpty)
        let flowOff = scrubber(flowMin: 0).run(running + [.n(1, "water_flow", 0), .tick(10)])
        #expect(flowOff.summary.isEmpty)
        #expect(WetCollector.spec.param("water_level_min")?.defaultValue == .number(0))
    }

    @Test("a bad, NaN or infinite flow is no evidence: it cancels the pending raise unless the level shows a shortage on its own",
          arguments: [(Quality.bad, 0.0), (Quality.good, Double.nan), (Quality.good, -Double.infinity)])
    func badInput(quality: Quality, value: Double) {
        let cancelled = scrubber().run(running + [.n(1, "water_flow", 0), .n(2, "water_flow", value, quality), .tick(10)])
        #expect(cancelled.summary.isEmpty)
        let levelStillLow = scrubber().run(running + [.n(1, "water_flow", 0), .n(1, "water_level", 10),
                                                      .n(2, "water_flow", value, quality), .tick(3)])
        #expect(levelStillLow.summary == ["running-dry raised@3.0"])
        // Active stays active: an unusable reading is not evidence of water either.
        let active = scrubber().run(running + [.n(1, "water_flow", 0), .tick(3), .n(4, "water_flow", value, quality), .tick(10)])
        #expect(active.summary == ["running-dry raised@3.0"])
        // A bad fan reading keeps the last known state.
        let fan = scrubber().run(running + [.n(1, "water_flow", 0), .b(2, "fan_running", false, .bad), .tick(3)])
        #expect(fan.summary == ["running-dry raised@3.0"])
    }

    @Test("an out-of-order reading is ignored by the engine")
    func outOfOrder() {
        let h = scrubber().run(running + [.n(5, "water_flow", 0), .n(4, "water_flow", 80), .tick(7)])
        #expect(h.summary == ["running-dry raised@7.0"])
        #expect(h.engine.counters.outOfOrder == 1)
    }

    @Test("the template: fan_running gates frozen detection, every param has a default and a unit, registered")
    func spec() {
        let spec = WetCollector.spec
        #expect(spec.gateRole == "fan_running")
        #expect(spec.rules.map(\.id) == ["running-dry"])
        #expect(spec.roles.first { $0.name == "water_level" }?.unit == "mm")
        for p in spec.params {
            #expect(p.defaultValue != nil, "\(p.name)")
            guard case .number(let unit, _) = p.kind else { Issue.record("\(p.name) is not a number"); continue }
            #expect(!unit.isEmpty)
        }
        #expect(spec.params.filter(\.isSitePlaceholder).map(\.name) == ["water_flow_min", "water_level_min", "on_delay_s"])
        #expect(TemplateCatalog.named("dust.wet-collector") != nil)
    }
}
