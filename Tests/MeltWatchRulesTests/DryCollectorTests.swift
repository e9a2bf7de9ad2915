import MeltWatchCore
import Testing

@testable import MeltWatchRules

/// Limits 1500 / 300 Pa, hopper 70 °C and 5 K/min, on-delay 2 s.
private func collector() -> Harness {
    Harness(DryCollector.spec, params: [
        "diff_pressure_high": 1500, "diff_pressure_low": 300, "hopper_temp_high": 70,
        "hopper_temp_rate_max": 5, "on_delay_s": 2,
    ])
}

private let fanOn = Step.b(0, "fan_running", true)

@Suite("dust.dry-collector rules")
struct DryCollectorTests {
    @Test("differential pressure: strict limits, on-delay ends exactly at since + on_delay_s, return to the limit clears",
          arguments: [
              ([Step.n(0, "diff_pressure", 1500), .n(5, "diff_pressure", 1500)], []),                         // at the limit: fine
              ([Step.n(0, "diff_pressure", 1500.1), .n(1.999, "diff_pressure", 1600)], []),                   // not yet
              ([Step.n(0, "diff_pressure", 1500.1), .n(1.999, "diff_pressure", 1600), .n(2, "diff_pressure", 1600)],
               ["diff-pressure-high raised@2.0"]),
              ([Step.n(0, "diff_pressure", 1600), .tick(1.999), .tick(2)], ["diff-pressure-high raised@2.0"]),  // silent: timer
              ([Step.n(0, "diff_pressure", 1600), .n(2, "diff_pressure", 1600), .n(3, "diff_pressure", 1500)],
               ["diff-pressure-high raised@2.0", "diff-pressure-high cleared@3.0"]),
              ([Step.n(0, "diff_pressure", 1600), .n(1, "diff_pressure", 1400), .n(2.5, "diff_pressure", 1600), .tick(4.4)], []),
              ([Step.n(0, "diff_pressure", 300), .n(5, "diff_pressure", 300)], []),
              ([Step.n(0, "diff_pressure", 299.9), .tick(2)], ["diff-pressure-low raised@2.0"]),
              ([Step.n(0, "diff_pressure", 120), .tick(2), .n(3, "diff_pressure", 300)],
               ["diff-pressure-low raised@2.0", "diff-pressure-low cleared@3.0"]),
          ] as [([Step], [String])])
    func diffPressure(steps: [Step], expected: [String]) {
        #expect(collector().run([fanOn] + steps).summary == expected)
    }

    @Test("diff-pressure-high carries the contract's fields, the numbers in Chinese with an English gloss")
    func diffPressureFields() throws {
        let h = collector().run([fanOn, .n(0, "diff_pressure", 1612.5), .tick(2), .n(3, "diff_pressure", 1480)])
        let raised = try #require(h.events.first)
        #expect(raised.rule == "diff-pressure-high")
        #expect(raised.kind == .raised)
        #expect(raised.eventTime == Harness.time(2))
        #expect(raised.value == 1612.5)
        #expect(raised.limit == 1500)
        #expect(raised.unit == "Pa")
        #expect(raised.priority == .medium)
        #expect(raised.alarmClass == .process)
        #expect(raised.basis == "令10 第十一条(十)")
        #expect(raised.signals == ["diff_pressure", "fan_running"])
        #expect(raised.alarmID == "p:e1:diff-pressure-high:1")
        #expect(raised.message.contains("1612.5 Pa > 1500.0 Pa"))
        #expect(raised.message.contains("(filter differential pressure high: clogging)"))
        let cleared = try #require(h.events.last)
        #expect(cleared.kind == .cleared)
        #expect(cleared.value == 1480)
        #expect(cleared.message.contains("1480.0 Pa ≤ 1500.0 Pa"))

        let low = collector().run([fanOn, .n(0, "diff_pressure", 180), .tick(2)]).events
        #expect(low.map(\.rule) == ["diff-pressure-low"])
        #expect(low.first?.value == 180)
        #expect(low.first?.limit == 300)
        #expect(low.first?.message.contains("180.0 Pa < 300.0 Pa") == true)
    }

    @Test("fan gate: no pressure alarm while the fan is off; stopping cancels a pending raise and clears an active one",
          arguments: [
              ([Step.b(0, "fan_running", false), .n(0, "diff_pressure", 0), .n(5, "diff_pressure", 0), .tick(10)], []),
              ([Step.b(0, "fan_running", false), .n(0, "diff_pressure", 0), .b(10, "fan_running", true), .tick(11.999), .tick(12)],
               ["diff-pressure-low raised@12.0"]),  // the on-delay also covers the fan's start
              ([Step.b(0, "fan_running", true), .n(0, "diff_pressure", 2000), .b(1, "fan_running", false), .tick(10)], []),
              ([Step.b(0, "fan_running", true), .n(0, "diff_pressure", 2000), .tick(2), .b(4, "fan_running", false)],
               ["diff-pressure-high raised@2.0", "diff-pressure-high cleared@4.0"]),
              ([Step.n(0, "diff_pressure", 2000), .tick(2)], ["diff-pressure-high raised@2.0"]),  // fan unknown counts as running
          ] as [([Step], [String])])
    func fanGate(steps: [Step], expected: [String]) {
        #expect(collector().run(steps).summary == expected)
    }

    @Test("the fan stopping names itself in the clear and reports the last pressure")
    func fanStopClearMessage() throws {
        let h = collector().run([fanOn, .n(0, "diff_pressure", 2000), .tick(2), .b(4, "fan_running", false)])
        let cleared = try #require(h.events.last)
        #expect(cleared.kind == .cleared)
        #expect(cleared.eventTime == Harness.time(4))
        #expect(cleared.value == 2000)
        #expect(cleared.message.contains("(collector fan stopped)"))
    }

    @Test("a bad, NaN or infinite reading is no evidence: it cancels a pending on-delay, which restarts on the next good one",
          arguments: [
              (Quality.bad, 2000.0), (Quality.good, Double.nan), (Quality.good, Double.infinity),
          ])
    func badInputCancelsPending(quality: Quality, value: Double) {
        let pressure = collector().run([fanOn, .n(0, "diff_pressure", 2000), .n(1, "diff_pressure", value, quality),
                                        .n(1.5, "diff_pressure", 2000), .tick(3.499), .tick(3.5)])
        #expect(pressure.summary == ["diff-pressure-high raised@3.5"])
        let temp = collector().run([.n(0, "hopper_temp", 90), .n(1, "hopper_temp", value, quality), .tick(5)])
        #expect(temp.summary.isEmpty)
        let unusable: Step = quality == .bad ? .b(1, "airlock_fault", true, .bad) : .n(1, "airlock_fault", value)
        let flag = collector().run([.b(0, "airlock_fault", true), unusable, .tick(5)])
        #expect(flag.summary.isEmpty)
    }

    @Test("a bad reading leaves an active alarm active")
    func badInputKeepsActive() {
        let h = collector().run([fanOn, .n(0, "diff_pressure", 2000), .tick(2), .n(3, "diff_pressure", 0, .bad), .tick(10)])
        #expect(h.summary == ["diff-pressure-high raised@2.0"])
    }

    @Test("an out-of-order reading is ignored by the engine: it cannot cancel a pending raise")
    func outOfOrder() {
        let h = collector().run([fanOn, .n(5, "diff_pressure", 2000), .n(4, "diff_pressure", 1000), .n(7, "diff_pressure", 2000)])
        #expect(h.summary == ["diff-pressure-high raised@7.0"])
        #expect(h.engine.counters.outOfOrder == 1)
    }

    @Test("hopper temperature: strict limit with on-delay, not gated by the fan", arguments: [
        ([Step.n(0, "hopper_temp", 70), .n(5, "hopper_temp", 70)], []),
        ([Step.n(0, "hopper_temp", 70.1), .tick(1.999)], []),
        ([Step.n(0, "hopper_temp", 70.1), .tick(2)], ["hopper-temp-high raised@2.0"]),
        ([Step.b(0, "fan_running", false), .n(0, "hopper_temp", 75), .tick(2), .n(3, "hopper_temp", 70)],
         ["hopper-temp-high raised@2.0", "hopper-temp-high cleared@3.0"]),
    ] as [([Step], [String])])
    func hopperTemperature(steps: [Step], expected: [String]) {
        #expect(collector().run(steps).summary == expected)
    }

    @Test("hopper-temp-rate: a rise of more than 5 K within the last minute (5 K/min) is smouldering", arguments: [
        ([(0.0, 30.0), (30, 32.5), (60, 35)], []),                                   // exactly 5 K in 60 s: in range
        ([(0.0, 30.0), (30, 32.5), (60, 35.1)], ["hopper-temp-rate raised@60.0"]),
        ([(0.0, 30.0), (10, 36), (20, 36), (90, 36)], ["hopper-temp-rate raised@10.0", "hopper-temp-rate cleared@90.0"]),
    ] as [([(Double, Double)], [String])])
    func hopperRate(samples: [(Double, Double)], expected: [String]) {
        let h = collector().run(samples.map { .n($0.0, "hopper_temp", $0.1) })
        #expect(h.summary == expected)
    }

    @Test("hopper-temp-rate fields: K/min, the clause for explosion control, an early warning")
    func hopperRateFields() throws {
        let ev = try #require(collector().run([.n(0, "hopper_temp", 30), .n(30, "hopper_temp", 36)]).events.first)
        #expect(ev.rule == "hopper-temp-rate")
        #expect(ev.value == 6)
        #expect(ev.limit == 5)
        #expect(ev.unit == "K/min")
        #expect(ev.priority == .medium)
        #expect(ev.basis == "令10 第十一条(三)")
        #expect(ev.message.contains("6.0 K/min > 5.0 K/min"))
        let temp = try #require(collector().run([.n(0, "hopper_temp", 82), .tick(2)]).events.first)
        #expect(temp.priority == .high)
        #expect(temp.basis == "令10 第十一条(三)")
        #expect(temp.message.contains("82.0 °C > 70.0 °C"))
    }

    @Test("fault flags: held for on_delay_s (spark-detected at once), cleared when the flag goes false, raised with the fan off too",
          arguments: [
              ("airlock_fault", "airlock-fault", "令10 第十一条(六)", AlarmEvent.Priority.high, 2.0, "锁气卸灰阀故障"),
              ("explosion_protection_fault", "explosion-protection-fault", "令10 第十一条(三)", .high, 2, "防爆装置"),
              ("spark_detected", "spark-detected", "令10 第十一条(四)", .emergency, 0, "探测到火花"),
          ])
    func faultFlags(role: String, rule: String, basis: String, priority: AlarmEvent.Priority, delay: Double, text: String) throws {
        let early = collector().run([.b(0, "fan_running", false), .b(10, role, true), .tick(10 + delay - 0.001)])
        #expect(early.summary == (delay == 0 ? ["\(rule) raised@10.0"] : []))
        let h = collector().run([.b(0, "fan_running", false), .b(10, role, true), .tick(10 + delay), .b(13, role, false)])
        #expect(h.summary == ["\(rule) raised@\(10 + delay)", "\(rule) cleared@13.0"])
        let raised = try #require(h.events.first)
        #expect(raised.basis == basis)
        #expect(raised.priority == priority)
        #expect(raised.alarmClass == .process)
        #expect(raised.signals == [role])
        #expect(raised.value == nil)
        #expect(raised.limit == nil)
        #expect(raised.unit == nil)
        #expect(raised.message.contains(text))
        // A flicker shorter than the on-delay is not a fault (a spark is).
        let flicker = collector().run([.b(0, role, true), .b(0.5, role, false), .tick(5)])
        #expect(flicker.summary.count == (delay == 0 ? 2 : 0))
    }

    @Test("collector-not-running: process running while the fan is off, for on_delay_s", arguments: [
        ([Step.b(0, "process_running", true), .b(0, "fan_running", false), .tick(1.999)], []),
        ([Step.b(0, "process_running", true), .b(0, "fan_running", false), .tick(2), .b(5, "fan_running", true)],
         ["collector-not-running raised@2.0", "collector-not-running cleared@5.0"]),
        ([Step.b(0, "process_running", true), .b(0, "fan_running", false), .tick(2), .b(6, "process_running", false)],
         ["collector-not-running raised@2.0", "collector-not-running cleared@6.0"]),
        ([Step.b(0, "fan_running", false), .b(0, "process_running", true), .b(1, "fan_running", true), .tick(5)], []),  // start skew
        ([Step.b(0, "process_running", true), .tick(5)], []),          // fan unknown counts as running
        ([Step.b(0, "fan_running", false), .tick(5)], []),             // optional process_running absent: idle
        ([Step.b(0, "process_running", true), .b(0, "fan_running", false), .b(1, "fan_running", false, .bad), .tick(5)], []),
    ] as [([Step], [String])])
    func collectorNotRunning(steps: [Step], expected: [String]) {
        #expect(collector().run(steps).summary == expected)
    }

    @Test("collector-not-running carries a standard-practice basis and says why it cleared")
    func collectorNotRunningFields() throws {
        let h = collector().run([.b(0, "process_running", true), .b(0, "fan_running", false), .tick(2), .b(6, "process_running", false)])
        let raised = try #require(h.events.first)
        #expect(raised.priority == .high)
        #expect(raised.basis == "令10 第十一条(十)")
        #expect(raised.signals == ["process_running", "fan_running"])
        #expect(raised.message.contains("除尘风机未运行"))
        #expect(h.events.last?.message.contains("(process stopped)") == true)
    }

    @Test("the template: fan_running gates frozen detection, every param has a default and a unit, registered")
    func spec() {
        let spec = DryCollector.spec
        #expect(spec.gateRole == "fan_running")
        #expect(spec.rules.map(\.id).sorted() == [
            "airlock-fault", "collector-not-running", "diff-pressure-high", "diff-pressure-low",
            "explosion-protection-fault", "hopper-temp-high", "hopper-temp-rate", "spark-detected",
        ])
        for p in spec.params {
            #expect(p.defaultValue != nil, "\(p.name)")
            guard case .number(let unit, _) = p.kind else { Issue.record("\(p.name) is not a number"); continue }
            #expect(!unit.isEmpty)
        }
        #expect(spec.params.filter(\.isSitePlaceholder).map(\.name).sorted() == [
            "diff_pressure_high", "diff_pressure_low", "hopper_temp_high", "hopper_temp_rate_max", "on_delay_s",
        ])
        #expect(spec.param("stale_after_s") != nil && spec.param("frozen_after_s") != nil)
        #expect(TemplateCatalog.named("dust.dry-collector") != nil)
    }
}
