import Foundation
import MeltWatchCore
import MeltWatchScenarios
import MeltWatchTestKit
import Testing

/// Every simulator scenario through a real mosquitto, the real `meltwatch run` and a real webhook
/// receiver: the alarm events the duty room receives must be exactly the scenario's expected alarms,
/// each with its class, priority and basis, and its `event_time` and `latency_ms` within ±50 ms.
///
/// Each scenario has its own broker, daemon, simulator and receiver on free ports, so scenarios can
/// play side by side: run with `swift test --parallel` (scripts/test.sh does), ``admission`` lets a
/// few at a time share the machine. Event times come from the simulator's clock, not from the load.
@Suite("Scenarios end to end: meltwatch-sim -> mosquitto -> meltwatch -> webhook")
struct ScenarioEndToEndTests {
    /// How many scenarios play at once under `--parallel`: mostly waiting (a simulator at 10× or more,
    /// a quiet period, a replay), three share two cores; under a sanitizer each process costs more.
    static let admission = Admission(width: Sanitizer.any ? 2 : 3)

    /// Scans per second: a 0.1 s grid, so every scripted time in the scenarios lands on a scan.
    static let rate = 10.0
    /// Scenario seconds per real second: the fault scenarios play in seconds; the plant scenarios'
    /// whole cycles (up to an hour) are played faster, in about 30 s each.
    static func speed(_ s: Scenario) -> Double { max(10, (s.duration / 30).rounded(.up)) }
    static let tolerance: Int64 = 50
    /// How long the duty room must stay quiet after the last expected event before unexpected ones
    /// are ruled out. Absence cannot be polled for; this covers the engine's allowed lateness (1 s,
    /// the longest a timer-driven event can trail its readings) plus delivery.
    static let quietSeconds = 2.0

    /// Under a sanitizer (scripts/test.sh runs the suite under ThreadSanitizer and AddressSanitizer
    /// too) every scenario would take the daemon through the same code again at several times the
    /// cost; these cover its paths: an interlock late and one failed, timers (stale), chattering,
    /// and two plant models with many equipment, per-tag reporting and a cast.
    static let sanitizerScenarios = ["lance-leak-late-interlock", "gateway-dying", "co-chattering", "casting-water-loss",
                                     "steel-shop-leak", "casting-shop-water-loss"]

    @Test("the duty room receives exactly the scenario's expected alarms",
          arguments: Sanitizer.any ? sanitizerScenarios : Scenario.all.map(\.name))
    func scenario(name: String) async throws {
        try await Self.admission.run { try await Self.play(name) }
    }

    /// The gateway formats every scenario plays in, side by side: one plant per format in the same
    /// daemon, each published by its own simulator (contract §3). Under a sanitizer, MeltWatch's
    /// own JSON and the stateful Sparkplug B host.
    static let allFormats: [Rig.Format] = Sanitizer.any ? [.native, .sparkplugB] : Rig.Format.allCases

    /// The formats a scenario plays in: every one, the plant-model scenarios (whole cycles of up to
    /// an hour at up to 120×, five simulators on two cores) included. They once ran in MeltWatch's own
    /// JSON only: a daemon stalled for a second or two (an `fdatasync` behind the other scenarios'
    /// daemons) ticked past the messages waiting in its socket and fired timers they would have
    /// cancelled. Ticks now judge only as far as the input was read (IngestSession, `inputCompleteAt`).
    static func formats(_ scenario: Scenario) -> [Rig.Format] { allFormats }

    /// The plant a format plays as: the rig's own for MeltWatch's JSON, a sibling for the others.
    static func plant(_ rig: Rig, _ format: Rig.Format) -> String {
        switch format {
        case .native: rig.plant
        case .sparkplugB: rig.plant + "-spb"
        case .kepwareIoT: rig.plant + "-kep"
        case .neuron: rig.plant + "-neu"
        case .json: rig.plant + "-map"
        }
    }

    private static func play(_ name: String) async throws {
        let started = Date()
        let scenario = try #require(Scenario.named(name))
        let formats = Self.formats(scenario)
        let plants = "plants:\n" + formats.map { scenario.rig.plantYAML(id: Self.plant(scenario.rig, $0), format: $0) }.joined()
        let h = try await Harness(plants: plants)
        defer { h.stop() }
        try await h.startDaemon()

        // Scenario time 0 at (now − duration − 1 s): every timestamp is in the past when published,
        // and the test knows each expected event's exact event time.
        let speed = Self.speed(scenario)
        let rate = scenario.preferredRate ?? Self.rate
        let origin = nowMilliseconds() - Int64(scenario.duration * 1000) - 1000
        var sims: [(Rig.Format, ProductProcess)] = []
        for format in formats {
            sims.append((format, try ProductProcess("meltwatch-sim", arguments: [
                "--broker", h.broker.url, "--config", h.configPath, "--scenario", name, "--rate", "\(rate)",
                "--speed", "\(speed)", "--seed", "7", "--start-ms", "\(origin)",
                "--plant", Self.plant(scenario.rig, format), "--format", format.rawValue,
            ], logFile: h.directory.appendingPathComponent("sim-\(format.rawValue).log"))))
        }
        for (format, sim) in sims {
            let exit = await sim.exited(timeoutSeconds: scenario.duration / speed + 60)
            #expect(exit == 0, "simulator (\(format.rawValue)) output:\n\(sim.output)")
        }

        // When the simulator's run ends its plant's gateway falls silent as a whole: one
        // `gateway-silent`, its event time at or after the run's end. That is the simulator stopping,
        // not part of the scenario (a gateway-silent during the run still counts as unexpected).
        let runEnd = origin + Int64(scenario.duration * 1000)
        func endOfRun(_ d: WebhookReceiver.Delivery) -> Bool {
            let o = ObservedAlarm(json: d.json)
            return o.rule == "gateway-silent" && (o.eventTime ?? .min) >= runEnd
        }
        // Each format's plant must get exactly the scenario's alarms; the daemon's own (no plant of
        // the rig) count once, with MeltWatch's JSON.
        let formatPlants = Set(formats.map { Self.plant(scenario.rig, $0) })
        func verdict(_ deliveries: [WebhookReceiver.Delivery], _ format: Rig.Format) -> ScenarioVerdict {
            let plant = Self.plant(scenario.rig, format)
            let observed = deliveries.filter { !$0.isHazard && !endOfRun($0) }.map { ObservedAlarm(json: $0.json) }.compactMap { o -> ObservedAlarm? in
                var o = o
                if o.plant == plant {
                    o.plant = scenario.rig.plant
                    return o
                }
                return format == .native && !formatPlants.contains(o.plant) ? o : nil
            }
            return ScenarioVerdict(scenario: scenario, rate: rate, observed: observed, origin: origin, toleranceMilliseconds: Self.tolerance)
        }
        // The hazard records each format's plant opened (its `opened` events), against the ground truth.
        func hazardVerdict(_ deliveries: [WebhookReceiver.Delivery], _ format: Rig.Format) -> (missing: [String], unexpected: [String]) {
            let plant = Self.plant(scenario.rig, format)
            let opened = deliveries.filter(\.isHazard).map(\.json).filter { $0["event"] as? String == "opened" }.compactMap { j -> ObservedHazard? in
                guard let h = j["hazard"] as? [String: Any], h["plant"] as? String == plant else { return nil }
                return ObservedHazard(rule: h["rule"] as? String ?? "?", plant: scenario.rig.plant, equipment: h["equipment"] as? String ?? "?",
                                      hazardClass: h["class"] as? String ?? "?",
                                      foundAt: (h["found_at"] as? String).flatMap { EventTime(parsing: $0)?.milliseconds } ?? 0)
            }
            return scenario.hazardVerdict(rate: rate, observed: opened, origin: origin)
        }
        func complete(_ deliveries: [WebhookReceiver.Delivery]) -> Bool {
            formats.allSatisfy { verdict(deliveries, $0).missing.isEmpty && hazardVerdict(deliveries, $0).missing.isEmpty }
        }
        // Everything expected (stale needs stale_after_s of real time after the gateway's last scan) …
        _ = await h.receiver.waitFor(timeoutSeconds: 30) { complete($0) }
        // … then nothing more for a while.
        var count = -1
        var quietSince = Date()
        while Date().timeIntervalSince(quietSince) < Self.quietSeconds {
            let n = h.receiver.accepted.count
            if n != count { (count, quietSince) = (n, Date()) }
            try await Task.sleep(for: .milliseconds(50))
        }

        let received = h.receiver.accepted
        let shown = received.map { d -> String in
            var o = ObservedAlarm(json: d.json)
            o.origin = origin
            return "  \(o)"
        }
        for format in formats {
            let result = verdict(received, format)
            let hazards = hazardVerdict(received, format)
            #expect(hazards.missing.isEmpty && hazards.unexpected.isEmpty, """
                scenario \(name) in \(format.rawValue): hazard records missing \(hazards.missing), unexpected \(hazards.unexpected)
                expected: \(scenario.expectedHazards(rate: rate))
                """)
            print("scenario \(name) (\(format.rawValue)): \(result.matched) expected events received, largest event_time error \(result.largestTimeError) ms, "
                + "\(result.unexpected.count) unexpected; \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
            #expect(result.isEmpty, """
                scenario \(name) in \(format.rawValue) as plant \(Self.plant(scenario.rig, format)) (--rate \(rate), time origin \(origin)):
                \(result)
                expected:
                \(scenario.expectedAlarms(rate: rate).map { "  \($0)" }.joined(separator: "\n"))
                received \(received.count):
                \(shown.joined(separator: "\n"))
                daemon log (alarms):
                \(h.daemon.output.split(separator: "\n").filter { $0.contains("alarm") || $0.contains("error") }.joined(separator: "\n"))
                """)
        }
        #expect(h.daemon.stop() == 0)

        // The journal replayed through the same engine gives the same events, byte for byte once
        // `emitted_at` (the wall clock at emission) is removed.
        let replay = try ProductProcess("meltwatch", arguments: [
            "replay", "--config", h.configPath, "--journal", h.directory.path + "/journal",
            "--output", h.directory.path + "/replay.jsonl",
        ], logFile: h.directory.appendingPathComponent("replay.log"))
        #expect(await replay.exited(timeoutSeconds: 60) == 0, "replay: \(replay.output)")
        let replayed = textFile(h.directory.path + "/replay.jsonl")
        let live = h.receiver.alarms.map(\.text)
        #expect(replayed.split(separator: "\n").map { withoutEmittedAt(String($0)) } == live.map(withoutEmittedAt),
                "replay differs from live:\n\(replayed)\nlive:\n\(live.joined(separator: "\n"))")

        // And the same hazard records' events, byte for byte (they carry no emission time).
        let hazardReplay = try ProductProcess("meltwatch", arguments: [
            "replay", "--hazards", "--config", h.configPath, "--journal", h.directory.path + "/journal",
            "--output", h.directory.path + "/hazards.jsonl",
        ], logFile: h.directory.appendingPathComponent("replay-hazards.log"))
        #expect(await hazardReplay.exited(timeoutSeconds: 60) == 0, "replay --hazards: \(hazardReplay.output)")
        let replayedHazards = textFile(h.directory.path + "/hazards.jsonl").split(separator: "\n").map(String.init)
        #expect(replayedHazards == h.receiver.hazards.map(\.text), "replay --hazards differs from live")
    }

    @Test("the scenarios run under a sanitizer exist")
    func sanitizerScenariosExist() {
        for name in Self.sanitizerScenarios { #expect(Scenario.named(name) != nil, "\(name)") }
    }

    @Test("--list-scenarios names every scenario with its expected alarms generated from the data")
    func listing() async throws {
        let dir = try temporaryDirectory(prefix: "sim-list")
        let sim = try ProductProcess("meltwatch-sim", arguments: ["--list-scenarios", "--rate", "10"],
                                     logFile: dir.appendingPathComponent("list.log"))
        #expect(await sim.exited(timeoutSeconds: 30) == 0)
        let out = sim.output
        for s in Scenario.all {
            #expect(out.contains("\n\(s.name): \(s.summary)\n") || out.hasPrefix("\(s.name): \(s.summary)\n"))
        }
        #expect(out.contains("interlock-late raised t=13.5s latency 3.5s"))  // 3.5 s after the leak began at 10 s
        #expect(out.contains("needs: bof1-lance frozen_after_s: 8"))
    }

    @Test("--start-ms that would publish future timestamps is refused")
    func futureOrigin() async throws {
        let dir = try temporaryDirectory(prefix: "sim-future")
        let config = dir.appendingPathComponent("c.yaml").path
        try """
        broker: { url: mqtt://127.0.0.1:1, client_id: x }
        journal: { dir: journal }
        duty: { listen: 127.0.0.1:0, webhooks: [ { url: http://127.0.0.1:9/a } ] }

        """.appending(Rig.standard.plantsYAML).write(toFile: config, atomically: true, encoding: .utf8)
        let sim = try ProductProcess("meltwatch-sim", arguments: [
            "--config", config, "--scenario", "healthy", "--speed", "10", "--start-ms", "\(nowMilliseconds())",
        ], logFile: dir.appendingPathComponent("sim.log"))
        #expect(await sim.exited(timeoutSeconds: 30) != 0)
        #expect(sim.output.contains("would publish timestamps up to"), "\(sim.output)")
    }
}

/// An alarm event's JSON without its `emitted_at` member.
func withoutEmittedAt(_ json: String) -> String {
    guard let r = json.range(of: #","emitted_at":"[^"]*""#, options: .regularExpression) else { return json }
    return json.replacingCharacters(in: r, with: "")
}

extension ObservedAlarm {
    /// The observation of a webhook body (contract section 4).
    init(json j: [String: Any]) {
        self.init(
            event: j["event"] as? String ?? "?", rule: j["rule"] as? String ?? "?", plant: j["plant"] as? String ?? "?",
            equipment: j["equipment"] as? String ?? "?", signals: j["signals"] as? [String] ?? [],
            alarmClass: j["class"] as? String ?? "?", priority: j["priority"] as? String ?? "?", basis: j["basis"] as? String ?? "?",
            eventTime: (j["event_time"] as? String).flatMap { EventTime(parsing: $0)?.milliseconds },
            latencyMilliseconds: (j["latency_ms"] as? Int).map(Int64.init), cause: j["cause"] as? String
        )
    }
}
