import MeltWatchConfig
import MeltWatchRules
import MeltWatchScenarios
import Testing

@Suite("Scenario library")
struct ScenarioLibraryTests {
    @Test("names are unique, and the historical names still exist")
    func names() {
        let names = Scenario.all.map(\.name)
        #expect(Set(names).count == names.count)
        for old in ["healthy", "lance-leak", "lance-leak-late-interlock", "lance-leak-no-interlock", "co-leak"] {
            #expect(names.contains(old))
        }
    }

    @Test("every rule of the implemented templates is expected by some scenario, raised")
    func everyRuleCovered() {
        var raised: Set<String> = []
        for s in Scenario.all {
            for x in s.expectedAlarms(rate: 10) where x.event == .raised { raised.insert("\(x.template) \(x.rule)") }
        }
        for template in TemplateCatalog.all {
            for rule in template.rules { #expect(raised.contains("\(template.name) \(rule.id)"), "no scenario raises \(rule.id)") }
        }
        for condition in SignalHealth.Condition.allCases {
            #expect(raised.contains { $0.hasSuffix(" \(condition.rawValue)") }, "no scenario raises \(condition.rawValue)")
        }
    }

    @Test("class, priority and basis come from the catalog")
    func factsFromCatalog() throws {
        let leak = try #require(Scenario.named("lance-leak-no-interlock")).expectedAlarms(rate: 2)
        let failed = try #require(leak.first { $0.rule == "interlock-failed" })
        #expect(failed.alarmClass == .interlock && failed.priority == .emergency && failed.basis == "令10 第四条(四)")
        let stale = try #require(Scenario.named("gateway-dying")).expectedAlarms(rate: 2)
        #expect(stale.count == 8 && stale.allSatisfy { $0.alarmClass == .device && $0.basis == "令10 第十四条" })
    }

    @Test("scan grid: whole-second faults land on scans; after/before are strict where they say so", arguments: [
        (1.0, 12.8, 13.0, 13.0, 12.0), (2.0, 12.8, 13.0, 13.0, 12.5), (10.0, 12.8, 12.8, 12.9, 12.8), (3.0, 10.0, 10.0, 10.333, 10.0),
    ])
    func grid(rate: Double, t: Double, atOrAfter: Double, after: Double, atOrBefore: Double) {
        let g = ScanGrid(rate: rate)
        #expect(g.scan(atOrAfter: SimTime(seconds: t)) == SimTime(seconds: atOrAfter))
        #expect(g.scan(after: SimTime(seconds: t)) == SimTime(seconds: after))
        #expect(g.scan(atOrBefore: SimTime(seconds: t)) == SimTime(seconds: atOrBefore))
    }

    @Test("scan count includes both ends", arguments: [(1.0, 40.0, 41), (2.0, 40.0, 81), (10.0, 30.0, 301), (3.0, 1.0, 4)])
    func scanCount(rate: Double, duration: Double, count: Int) {
        #expect(ScanGrid(rate: rate).scanCount(through: SimTime(seconds: duration)) == count)
    }

    @Test("a run is deterministic given origin, rate and seed, and every ts is origin + scan time")
    func deterministic() throws {
        let scenario = try #require(Scenario.named("lance-leak"))
        let equipment = SimEquipment.all(in: try scenarioConfig(scenario))
        func play(seed: UInt64) -> [GatewayMessage] {
            var p = ScenarioPlayer(scenario: scenario, equipment: equipment, rate: 4, seed: seed, originMilliseconds: 1_000_000)
            var all: [GatewayMessage] = []
            while let (_, m) = p.nextScan() { all += m }
            return all
        }
        let a = play(seed: 3)
        #expect(a == play(seed: 3))
        #expect(a != play(seed: 4))
        #expect(a.count == 161 * 10)  // 8 per-signal lance roles + 2 CO roles per scan
        #expect(a.last?.payload.contains("\"ts\":1040000,") == true)
    }

    @Test("the sim warns when a config differs from the scenario's rig")
    func mismatch() throws {
        let scenario = try #require(Scenario.named("frozen-sensor"))
        let standard = SimEquipment.all(in: try scenarioConfig(try #require(Scenario.named("healthy"))))
        #expect(ScenarioPlayer.rigMismatches(scenario, equipment: standard) == ["bof1-lance frozen_after_s is 600, the scenario expects 8"])
        #expect(ScenarioPlayer.rigMismatches(scenario, equipment: SimEquipment.all(in: try scenarioConfig(scenario))).isEmpty)
    }
}

@Suite("Scenario verdict")
struct ScenarioVerdictTests {
    static let origin: Int64 = 1_763_884_800_000

    func lanceLeak() throws -> (Scenario, [ObservedAlarm]) {
        let s = try #require(Scenario.named("lance-leak-late-interlock"))
        return (s, try runThroughEngine(s, rate: 10, origin: Self.origin))
    }

    @Test("agrees with the engine's own events")
    func agrees() throws {
        let (s, observed) = try lanceLeak()
        #expect(ScenarioVerdict(scenario: s, rate: 10, observed: observed, origin: Self.origin, toleranceMilliseconds: 50).isEmpty)
    }

    @Test("a missing event, an extra one, and a time or latency 51 ms off are each reported")
    func catches() throws {
        let (s, observed) = try lanceLeak()
        func verdict(_ edit: (inout [ObservedAlarm]) -> Void) -> ScenarioVerdict {
            var o = observed
            edit(&o)
            return ScenarioVerdict(scenario: s, rate: 10, observed: o, origin: Self.origin, toleranceMilliseconds: 50)
        }
        #expect(verdict { $0.removeLast() }.missing.count == 1)
        #expect(verdict { $0.append($0[0]) }.unexpected.count == 1)
        #expect(verdict { $0[0].eventTime! += 51 }.wrong.count == 1)
        #expect(verdict { $0[0].eventTime! -= 50 }.isEmpty)
        let late = try #require(observed.firstIndex { $0.rule == "interlock-late" })
        #expect(verdict { $0[late].latencyMilliseconds! += 51 }.wrong.count == 1)
        #expect(verdict { $0[late].cause = "x" }.wrong.count == 1)
        #expect(verdict { $0[0].priority = "low" }.wrong.count == 1)
        #expect(verdict { $0[0].basis = "令10 第十四条" }.wrong.count == 1)
    }
}
