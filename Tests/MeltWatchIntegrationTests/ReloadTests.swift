import Foundation
import MeltWatchTestKit
import Testing

/// SIGHUP reload through the real daemon: unchanged equipment keep their alarms and state, changed
/// ones start fresh (their open alarms return with cause `reload`, numbering continues), new ones
/// are subscribed and monitored, events carry the new `config_hash`; an invalid file or a change
/// outside `plants:` changes nothing; replay gives the same events as the live daemon.
@Suite("Configuration reload (SIGHUP)", .serialized)
struct ReloadTests {
    static func detectors(_ list: [(id: String, params: String)]) -> String {
        "plants:\n  - id: baotou-steel\n    name: 包头钢铁 一炼钢\n    equipment:\n"
            + list.map { "      - id: \($0.id)\n        template: steel.co-detector\n        params: { \($0.params) }\n" }.joined()
    }

    /// The harness's config file with its `plants:` section replaced.
    static func rewrite(_ h: Harness, plants: String, edit: (String) -> String = { $0 }) throws {
        let text = try String(contentsOfFile: h.configPath, encoding: .utf8)
        let head = text[..<text.range(of: "plants:")!.lowerBound]
        try (edit(String(head)) + plants).write(toFile: h.configPath, atomically: true, encoding: .utf8)
    }

    static func events(_ h: Harness, rule: String = "co-level-1", equipment: String) -> [[String: Any]] {
        h.receiver.accepted.map(\.json).filter { $0["rule"] as? String == rule && $0["equipment"] as? String == equipment }
    }

    /// Waits (up to 10 s) until the daemon's log says `text`.
    static func logged(_ h: Harness, _ text: String) async -> Bool {
        for _ in 0..<200 {
            if h.daemon.output.contains(text) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return h.daemon.output.contains(text)
    }

    static func status(_ h: Harness) async throws -> [String: Any] {
        let body = try await call("GET", h.api + "/api/status").body
        return try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
    }

    /// The topic count `/readyz` names on its subscriptions line.
    static func readyTopics(_ h: Harness) async throws -> Int? {
        let body = try await call("GET", h.api + "/readyz").body
        let line = body.split(separator: "\n").first { $0.contains("subscriptions:") }
        return line?.split(separator: " ").dropLast().last.flatMap { Int($0) }
    }

    @Test("unchanged equipment keep their alarms, changed ones start fresh, new ones are monitored; bad reloads change nothing; replay agrees")
    func reload() async throws {
        let h = try await Harness(plants: Self.detectors([("co-1", "preset: gb6222"), ("co-2", "preset: gb6222")]))
        defer { h.stop() }
        try await h.startDaemon()
        let before = try #require(try await Self.status(h)["config_hash"] as? String)
        let topicsBefore = try #require(try await Self.readyTopics(h))
        let p = try h.publisher()
        defer { p.close() }
        func co(_ id: String, _ ppm: Double) throws {
            try p.publish(topic: "plants/baotou-steel/\(id)/co", text: "{\"ts\":\(nowMilliseconds()),\"v\":\(ppm)}")
        }
        try co("co-1", 40)
        try co("co-2", 40)
        _ = await h.receiver.waitFor { d in d.filter { $0.json["event"] as? String == "raised" }.count == 2 }
        #expect(Self.events(h, equipment: "co-1").count == 1 && Self.events(h, equipment: "co-2").count == 1)

        // co-1 unchanged, co-2 with another level 1, co-3 new. (Replay starts from the config the
        // daemon started with, as an auditor would; the reload itself is in the journal.)
        let original = h.directory.path + "/original.yaml"
        try FileManager.default.copyItem(atPath: h.configPath, toPath: original)
        try Self.rewrite(h, plants: Self.detectors([("co-1", "preset: gb6222"), ("co-2", "preset: gb6222, level_1: 50"),
                                                     ("co-3", "preset: gb6222")]))
        h.daemon.process.send(SIGHUP)
        let reloaded = await h.receiver.waitFor { _ in Self.events(h, equipment: "co-2").count == 2 }
        let returned = try #require(Self.events(h, equipment: "co-2").last)
        #expect(returned["event"] as? String == "cleared" && returned["cause"] as? String == "reload", "\(reloaded.map(\.text))")
        let after = try #require(returned["config_hash"] as? String)
        #expect(after != before && after.hasPrefix("sha256:"))
        #expect(try await Self.status(h)["config_hash"] as? String == after)
        #expect(Self.events(h, equipment: "co-1").count == 1, "the unchanged detector's alarm is untouched by the reload")

        // The carried alarm continues (same id, next event), the new detector is subscribed, the
        // changed one judges by its new level.
        try co("co-1", 3)
        try co("co-3", 40)
        try co("co-2", 45)  // below the new level 1 (50)
        _ = await h.receiver.waitFor { _ in Self.events(h, equipment: "co-1").count == 2 && Self.events(h, equipment: "co-3").count == 1 }
        let cleared = try #require(Self.events(h, equipment: "co-1").last)
        #expect(cleared["event"] as? String == "cleared" && cleared["alarm_id"] as? String == "baotou-steel:co-1:co-level-1:1")
        #expect(cleared["event_id"] as? String == "baotou-steel:co-1:co-level-1:1:2" && cleared["config_hash"] as? String == after)
        #expect(Self.events(h, equipment: "co-3").first?["config_hash"] as? String == after)
        try co("co-2", 60)
        _ = await h.receiver.waitFor { _ in Self.events(h, equipment: "co-2").count == 3 }
        // Nobody acknowledged the alarm that returned at the reload: the fresh rule's raise is that
        // alarm again (domain.md "Re-activation is the same alarm"), its events numbered on.
        let again = Self.events(h, equipment: "co-2").last
        #expect(again?["event"] as? String == "raised" && again?["alarm_id"] as? String == "baotou-steel:co-2:co-level-1:1"
                && again?["event_id"] as? String == "baotou-steel:co-2:co-level-1:1:3", "re-activated, not a new alarm: \(again ?? [:])")
        let signals = try await call("GET", h.api + "/api/signals").body
        #expect(signals.contains("\"equipment\":\"co-3\""))
        #expect(try await Self.readyTopics(h) == topicsBefore / 2 * 3, "/readyz counts the reloaded config's topics")

        // An invalid file, then a change outside plants: nothing changes, the log says why.
        let delivered = h.receiver.accepted.count
        let good = try String(contentsOfFile: h.configPath, encoding: .utf8)
        try (good + "      - id: co-4\n        template: steel.no-such-template\n").write(toFile: h.configPath, atomically: true, encoding: .utf8)
        h.daemon.process.send(SIGHUP)
        #expect(await Self.logged(h, "config reload rejected: the file is invalid"), "\(h.daemon.output)")
        try Self.rewrite(h, plants: Self.detectors([("co-1", "preset: gb6222")])) { $0.replacingOccurrences(of: "client_id: ", with: "client_id: other-") }
        h.daemon.process.send(SIGHUP)
        #expect(await Self.logged(h, "config reload refused"), "\(h.daemon.output)")
        #expect(try await Self.status(h)["config_hash"] as? String == after)
        #expect(h.daemon.output.contains("unknown template") || h.daemon.output.contains("steel.no-such-template"))
        #expect(h.daemon.output.contains("broker changed: only plants can change while running"))
        let metrics = try await call("GET", h.api + "/metrics").body
        for result in ["accepted", "invalid", "refused"] {
            #expect(metrics.contains("meltwatch_config_reloads_total{result=\"\(result)\"} 1"), "\(result) in:\n\(metrics)")
        }
        try co("co-1", 40)  // still monitored by the running config
        _ = await h.receiver.waitFor { $0.count > delivered }
        #expect(Self.events(h, equipment: "co-1").last?["config_hash"] as? String == after)
        try good.write(toFile: h.configPath, atomically: true, encoding: .utf8)

        // Replay runs the recorded reload at the same point of the stream: the same events.
        #expect(h.daemon.stop() == 0)
        let replay = try ProductProcess("meltwatch", arguments: [
            "replay", "--config", original, "--journal", h.directory.path + "/journal", "--output", h.directory.path + "/replay.jsonl",
        ], logFile: h.directory.appendingPathComponent("replay.log"))
        #expect(await replay.exited(timeoutSeconds: 60) == 0, "replay: \(replay.output)")
        let replayed = (try? String(contentsOfFile: h.directory.path + "/replay.jsonl", encoding: .utf8)) ?? ""
        let live = h.receiver.accepted.map { withoutEmittedAt($0.text) }
        #expect(replayed.split(separator: "\n").map { withoutEmittedAt(String($0)) } == live,
                "replay differs from live:\n\(replayed)\nlive:\n\(live.joined(separator: "\n"))")
    }
}
