import Foundation
import MeltWatchScenarios
import MeltWatchTestKit
import Testing

/// Scale-out: instances on one broker, each with `shard: { index, count }`, split the equipment
/// between them; together they raise exactly what one instance raises alone.
@Suite("Shards: two instances on one broker", .serialized)
struct ShardTests {
    /// An event as JSON text without what differs by instance: `emitted_at` (wall clock) and
    /// `config_hash` (each instance's file differs in its shard, session, journal and listener).
    static func normalized(_ text: String) -> String {
        withoutEmittedAt(text).replacingOccurrences(of: #""config_hash":"sha256:[0-9a-f]+""#, with: "", options: .regularExpression)
    }

    @Test("shard 0 and shard 1 of 2 produce exactly the union of the alarms one unsharded instance produces, each equipment on one")
    func union() async throws {
        let scenario = try #require(Scenario.named("steel-shop-leak"))
        let h = try await Harness(plants: scenario.rig.plantsYAML)
        defer { h.stop() }
        let base = try String(contentsOfFile: h.configPath, encoding: .utf8)
        var shards: [(receiver: WebhookReceiver, daemon: ProductProcess, api: String)] = []
        defer { for s in shards { s.daemon.stop(); s.receiver.stop() } }
        for i in 0..<2 {
            let receiver = try await WebhookReceiver()
            let port = try freeLoopbackPort()
            let path = h.directory.path + "/shard\(i).yaml"
            try (base.replacingOccurrences(of: "client_id: ", with: "client_id: shard\(i)-")
                .replacingOccurrences(of: "dir: journal", with: "dir: journal-shard\(i)")
                .replacingOccurrences(of: "listen: 127.0.0.1:\(h.dutyPort)", with: "listen: 127.0.0.1:\(port)")
                .replacingOccurrences(of: "url: \(h.receiver.url)", with: "url: \(receiver.url)")
                + "shard: { index: \(i), count: 2 }\n").write(toFile: path, atomically: true, encoding: .utf8)
            let daemon = try ProductProcess("meltwatch", arguments: ["run", "--config", path], logFile: h.directory.appendingPathComponent("shard\(i).log"))
            shards.append((receiver, daemon, "http://127.0.0.1:\(port)"))
            #expect(await waitForHTTP200("http://127.0.0.1:\(port)/readyz", timeoutSeconds: 30), "\(daemon.output)")
        }
        try await h.startDaemon()

        // Every equipment on exactly one shard.
        var owned: [Set<String>] = []
        for s in shards {
            let body = try await call("GET", s.api + "/api/signals").body
            let signals = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [[String: Any]])
            owned.append(Set(signals.compactMap { $0["equipment"] as? String }))
        }
        let all = Set(scenario.rig.equipment.map(\.id))
        #expect(owned[0].isDisjoint(with: owned[1]) && owned[0].union(owned[1]) == all, "\(owned)")
        #expect(!owned[0].isEmpty && !owned[1].isEmpty)

        let origin = nowMilliseconds() - Int64(scenario.duration * 1000) - 1000
        let sim = try ProductProcess("meltwatch-sim", arguments: [
            "--broker", h.broker.url, "--config", h.configPath, "--scenario", scenario.name, "--rate", "10", "--speed", "10",
            "--seed", "7", "--start-ms", "\(origin)",
        ], logFile: h.directory.appendingPathComponent("sim.log"))
        #expect(await sim.exited(timeoutSeconds: scenario.duration / 10 + 60) == 0, "\(sim.output)")
        let expected = scenario.expectedAlarms(rate: 10).count
        _ = await h.receiver.waitFor { $0.count >= expected }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, shards.reduce(0, { $0 + $1.receiver.accepted.count }) < h.receiver.accepted.count {
            try await Task.sleep(for: .milliseconds(100))
        }
        try await Task.sleep(for: .seconds(2))  // nothing more may come

        let single = h.receiver.accepted.map { Self.normalized($0.text) }
        let union = shards.flatMap { $0.receiver.accepted.map { Self.normalized($0.text) } }
        #expect(single.count == expected && union.count == single.count, "single \(single.count), shards \(union.count), expected \(expected)")
        #expect(union.sorted() == single.sorted(), "shards:\n\(union.sorted().joined(separator: "\n"))\nsingle:\n\(single.sorted().joined(separator: "\n"))")
    }
}
