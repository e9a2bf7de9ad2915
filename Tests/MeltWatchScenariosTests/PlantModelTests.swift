import Foundation
import MeltWatchCore
import MeltWatchScenarios
import Testing

/// The plant models behave like the plant (cycles, trends, reporting) and, alone, never cause an
/// alarm; the ground-truth file is what the scenarios say.
@Suite("Plant models")
struct PlantModelTests {
    static let healthy = ["steel-shop", "casting-shop", "dust-shop"]

    @Test("a plant model alone causes no alarm over its whole cycles, in every publish mode and for several seeds",
          arguments: healthy, PublishMode.allCases)
    func quiet(name: String, publish: PublishMode) throws {
        let scenario = try #require(Scenario.named(name))
        for seed: UInt64 in [1, 42] {
            let observed = try runThroughEngine(scenario, rate: 2, seed: seed, publish: publish)
            #expect(observed.isEmpty, "\(name) \(publish.rawValue) seed \(seed):\n\(observed.map { "  \($0)" }.joined(separator: "\n"))")
        }
    }

    /// Every modelled equipment of a scenario's rig, with its values sampled every `step` seconds.
    func samples(_ name: String, through seconds: Double, step: Double = 1) throws -> [String: [(t: Double, v: [String: SimValue])]] {
        let scenario = try #require(Scenario.named(name))
        guard case .models(let starts) = scenario.baseline else { throw ModelTestError.notModelled }
        var out: [String: [(t: Double, v: [String: SimValue])]] = [:]
        for eq in SimEquipment.all(in: try scenarioConfig(scenario)) {
            var model = PlantModels.model(for: eq, cycleStarts: starts)
            var rng = SplitMix64(seed: 3)
            var t = 0.0
            while t <= seconds {
                out[eq.id, default: []].append((t, model.values(at: SimTime(seconds: t), rng: &rng)))
                t += step
            }
        }
        return out
    }

    enum ModelTestError: Error { case notModelled }

    static func number(_ v: SimValue?) -> Double {
        if case .number(let d)? = v { return d }
        return .nan
    }

    static func flag(_ v: SimValue?) -> Bool? {
        if case .bool(let b)? = v { return b }
        return nil
    }

    static func mean(_ xs: [Double]) -> Double { xs.reduce(0, +) / Double(max(1, xs.count)) }

    @Test("the converter's and the arc furnace's heats show in their water and their interlock feedbacks")
    func steelCycles() throws {
        let s = try samples("steel-shop", through: 2160)
        let lance = try #require(s["bof1-lance"])
        func outlet(_ range: ClosedRange<Double>) -> Double { Self.mean(lance.filter { range.contains($0.t) }.map { Self.number($0.v["outlet_temp"]) }) }
        // Charging 0–300 s, blowing 300–1200 s (a 45 s lag on the water).
        #expect(outlet(700...1190) - outlet(100...290) > 6, "blowing \(outlet(700...1190)) °C, charging \(outlet(100...290)) °C")
        #expect(lance.filter { (400...1190).contains($0.t) }.allSatisfy { Self.flag($0.v["lance_raised"]) == false && Self.flag($0.v["tilt_locked"]) == true })
        #expect(lance.filter { (0...290).contains($0.t) }.allSatisfy { Self.flag($0.v["lance_raised"]) == true })
        let differences = lance.map { Self.number($0.v["inlet_flow"]) - Self.number($0.v["outlet_flow"]) }
        #expect(differences.min()! > -1 && differences.max()! < 1.5, "difference \(differences.min()!)…\(differences.max()!) m3/h")
        #expect(lance.map { Self.number($0.v["outlet_temp"]) }.max()! < 44, "never near outlet_temp_high 45 °C")

        let wall = try #require(s["eaf1-wall-1"])
        #expect(wall.filter { (0...230).contains($0.t) }.allSatisfy { Self.flag($0.v["power_off"]) == true })
        #expect(wall.filter { (250...1550).contains($0.t) }.allSatisfy { Self.flag($0.v["power_off"]) == false && Self.flag($0.v["electrodes_raised"]) == false })
        #expect(wall.first!.v["tilt_locked"] == nil, "an arc furnace reports power and electrodes, not the converter's feedbacks")

        let platform = try #require(s["co-bof1-platform"]).map { Self.number($0.v["co"]) }
        let room = try #require(s["co-control-room"]).map { Self.number($0.v["co"]) }
        #expect(platform.max()! > room.max()! + 1, "the converter platform sees gas puffs the control room does not")
        #expect(platform.max()! < 15 && room.max()! < 5)
        #expect(Set(platform.map { ($0 * 10).rounded() }).count > 50, "a live detector's reading moves")
    }

    @Test("a cast runs from pre-check to unloading: metal, platform and mould water in order; fixed and tilting furnaces differ")
    func castCycle() throws {
        let s = try samples("casting-shop", through: 2880)
        let fixed = try #require(s["cast1"])
        func at(_ t: Double) -> [String: SimValue] { fixed.first { $0.t == t }!.v }
        #expect(Self.flag(at(100)["casting_active"]) == false && Self.number(at(100)["level_junction"]) < 3)
        #expect(Self.flag(at(100)["shutoff_closed"]) == true && Self.flag(at(100)["platform_stopped"]) == true)
        #expect(Self.flag(at(1000)["casting_active"]) == true && Self.flag(at(1000)["shutoff_closed"]) == false)
        #expect((105...135).contains(Self.number(at(1000)["level_outlet"])) && (85...115).contains(Self.number(at(1000)["level_junction"])))
        #expect(Self.number(at(1000)["cooling_flow"]) > 170 && Self.number(at(1000)["cooling_pressure"]) > 330)
        let lengths = fixed.map { Self.number($0.v["cast_length"]) }
        #expect(abs(lengths.max()! - 2825) < 1, "a 2.8 m ingot at 75 mm/min, got \(lengths.max()!) mm")
        #expect(zip(lengths, lengths.dropFirst()).filter { $0.0 < 1000 }.allSatisfy { $0.1 >= $0.0 }, "the platform only descends during a cast")
        // The end of the cast: casting ends before the launders drain, so the level rules are gated first.
        let end = fixed.filter { (2520...2700).contains($0.t) }
        #expect(end.allSatisfy { Self.flag($0.v["casting_active"]) == false })
        #expect(Self.number(end.last!.v["level_junction"]) < 3 && Self.flag(end.last!.v["platform_stopped"]) == true)
        #expect(Self.flag(at(1000)["mechanical_lock"]) == true && at(1000)["furnace_tilted_back"] == nil)

        let tilting = try #require(s["cast2"])  // 1500 s into its cycle at t=0: casting until t=1020.
        #expect(Self.flag(tilting.first { $0.t == 500 }!.v["furnace_tilted_back"]) == false)
        #expect(Self.flag(tilting.first { $0.t == 1100 }!.v["furnace_tilted_back"]) == true)
        #expect(tilting.first!.v["mechanical_lock"] == nil)
    }

    @Test("a bag filter's differential pressure climbs and is pulsed clean every 10 minutes; the hopper follows the process")
    func baghouse() throws {
        let s = try samples("dust-shop", through: 3600)
        let dc = try #require(s["dc1"])
        let dp = dc.map { Self.number($0.v["diff_pressure"]) }
        #expect(dp.max()! > 1200 && dp.max()! < 1400 && dp.min()! > 750 && dp.min()! < 900)
        let cleanings = zip(dp, dp.dropFirst(20)).enumerated().filter { $0.element.0 - $0.element.1 > 250 }.map(\.offset)
        let rounds = cleanings.reduce(into: [Int]()) { r, i in if r.last.map({ i - $0 > 60 }) ?? true { r.append(i) } }
        #expect(rounds.count == 6, "six pulse-cleaning rounds in an hour, got \(rounds)")
        let hopper = dc.map { Self.number($0.v["hopper_temp"]) }
        #expect(zip(hopper, hopper.dropFirst(60)).allSatisfy { $0.1 - $0.0 < 2 }, "slow enough for hopper_temp_rate_max 5 K/min")
        #expect(dc.filter { (3310..<3600).contains($0.t) }.allSatisfy { Self.flag($0.v["process_running"]) == false && Self.flag($0.v["fan_running"]) == true })
    }

    @Test("per tag, gateways publish by exception: fewer messages, yet every tag at least every period")
    func perTag() throws {
        let scenario = try #require(Scenario.named("steel-shop"))
        let equipment = SimEquipment.all(in: try scenarioConfig(scenario))
        guard case .models(let starts) = scenario.baseline else { throw ModelTestError.notModelled }
        func play(_ mode: PublishMode) -> [(t: SimTime, m: GatewayMessage)] {
            var p = ScenarioPlayer(scenario: scenario, equipment: equipment, rate: 10, seed: 5, originMilliseconds: 0, duration: 600,
                                   publish: mode)
            var out: [(SimTime, GatewayMessage)] = []
            while let (t, ms) = p.nextScan() { out += ms.map { (t, $0) } }
            return out
        }
        let tags = play(.perTag), batches = play(.perScan)
        let readingsEveryScan = equipment.reduce(0) { $0 + $1.roles.count } * 6001
        #expect(tags.count < readingsEveryScan / 3, "\(tags.count) per-tag messages against \(readingsEveryScan) readings every scan")
        #expect(batches.count == equipment.count * 6001, "per scan: one batch per equipment and scan")

        var lastSeen: [String: SimTime] = [:]
        var worst: [String: Int64] = [:]
        for (t, m) in tags {
            if let last = lastSeen[m.topic] { worst[m.topic] = max(worst[m.topic] ?? 0, (t.milliseconds - last.milliseconds)) }
            lastSeen[m.topic] = t
        }
        for eq in equipment {
            let model = PlantModels.model(for: eq, cycleStarts: starts)
            for role in eq.roles {
                guard let topic = eq.topics[role], let gap = worst[topic] else { continue }
                let period = SimTime(seconds: model.reporting(of: role).period).milliseconds
                #expect(gap <= period, "\(topic): \(gap) ms between publications, period \(period) ms")
            }
        }
        let roles: Int = equipment.reduce(0) { $0 + $1.roles.count }
        let published: Int = Set(tags.map(\.m.topic)).count
        #expect(published == roles - 2 * 5,
                "every role a model reports is published (each element reports its furnace's two feedbacks, not the other kind's)")
    }

    @Test("a run is the same bytes for the same seed, and different for another")
    func deterministic() throws {
        let scenario = try #require(Scenario.named("steel-shop-leak"))
        let equipment = SimEquipment.all(in: try scenarioConfig(scenario))
        func play(_ seed: UInt64) -> [GatewayMessage] {
            var p = ScenarioPlayer(scenario: scenario, equipment: equipment, rate: 4, seed: seed, originMilliseconds: 1_000_000)
            var out: [GatewayMessage] = []
            while let (_, ms) = p.nextScan() { out += ms }
            return out
        }
        #expect(play(9) == play(9))
        #expect(play(9) != play(10))
    }

    @Test("Simulators/ground-truth.jsonl is the scenarios' expected alarms (regenerate: meltwatch-sim --list-scenarios --json --rate 10)")
    func groundTruthFile() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Simulators/ground-truth.jsonl")
        let committed = try String(contentsOf: path, encoding: .utf8)
        #expect(committed == GroundTruth.library(rate: 10))
        let lines = committed.split(separator: "\n")
        #expect(lines.count == Scenario.all.count)
        let leak = try #require(lines.first { $0.contains("\"scenario\":\"steel-shop-leak\"") })
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(leak.utf8)) as? [String: Any])
        let alarms = try #require(doc["alarms"] as? [[String: Any]])
        let flow = try #require(alarms.first { $0["rule"] as? String == "flow-difference" && $0["event"] as? String == "raised" })
        #expect(flow["equipment"] as? String == "eaf1-wall-2" && flow["t_ms"] as? Int == 62_000)
        #expect(flow["basis"] as? String == "令10 第四条(四)" && flow["priority"] as? String == "emergency")
        let late = try #require(alarms.first { $0["rule"] as? String == "interlock-late" })
        #expect(late["latency_ms"] as? Int == 3_100)
        #expect(alarms.count == 6)
    }

    @Test("a run's ground truth carries absolute event times from its origin")
    func groundTruthOfRun() throws {
        let scenario = try #require(Scenario.named("casting-overflow"))
        let json = GroundTruth.json(scenario, rate: 10, publish: .perTag, origin: 1_763_884_800_000, seed: 7)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let alarms = try #require(doc["alarms"] as? [[String: Any]])
        #expect(alarms.map { $0["event_time_ms"] as? Int } == [1_763_884_839_100, 1_763_884_841_100])
        #expect(alarms.first?["event_time"] as? String == "2025-11-23T08:00:39.100Z")
        #expect(doc["origin_ms"] as? Int == 1_763_884_800_000 && doc["seed"] as? Int == 7 && doc["publish"] as? String == "per-tag")
    }
}
