import Foundation
import MeltWatchCore
import MeltWatchScenarios
import MeltWatchTestKit
import Testing

private func object(_ text: String) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
}

private func array(_ text: String) -> [[String: Any]] {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [[String: Any]] ?? []
}

/// Polls `GET /api/hazards/{id}` (or the list) until `predicate` holds (30 s).
private func waitForHazards(_ h: Harness, _ predicate: ([[String: Any]]) -> Bool) async throws -> [[String: Any]] {
    let deadline = Date().addingTimeInterval(30)
    var hazards: [[String: Any]] = []
    while Date() < deadline {
        hazards = array(try await call("GET", h.api + "/api/hazards?status=all").body)
        if predicate(hazards) { return hazards }
        try await Task.sleep(for: .milliseconds(100))
    }
    return hazards
}

/// Plays a scenario of the standard rig at 20×, its last scan `endingAgo` seconds in the past (a
/// later run must play later data: the engine drops readings older than those it has seen).
private func play(_ h: Harness, _ name: String, endingAgo: Double = 1) async throws -> Int64 {
    let scenario = try #require(Scenario.named(name))
    let origin = nowMilliseconds() - Int64((scenario.duration + endingAgo) * 1000)
    let sim = try ProductProcess("meltwatch-sim", arguments: [
        "--broker", h.broker.url, "--config", h.configPath, "--scenario", name, "--rate", "10", "--speed", "20", "--seed", "7",
        "--start-ms", "\(origin)",
    ], logFile: h.directory.appendingPathComponent("sim-\(name).log"))
    #expect(await sim.exited(timeoutSeconds: 60) == 0, "simulator: \(sim.output)")
    return origin
}

/// A `meltwatch` subcommand run beside the daemon; its standard output.
private func meltwatch(_ h: Harness, _ arguments: [String], name: String) async throws -> (status: Int32?, output: String) {
    let p = try ProductProcess("meltwatch", arguments: arguments, logFile: h.directory.appendingPathComponent("\(name).log"))
    let status = await p.exited(timeoutSeconds: 60)
    return (status, p.output)
}

/// Hazard records end to end (issue 20): the real broker, the real daemon, the simulator's plant,
/// the duty API, `meltwatch hazards` beside the running daemon, and a SIGKILL in the middle.
@Suite("Hazards end to end: opened from the data, rectified, refused without evidence, closed on it, counted", .serialized)
struct HazardEndToEndTests {
    @Test("an interlock that did not act: the hazard opens; a close without evidence is 409; it survives SIGKILL; a later good trip verifies it; the weekly table counts it")
    func interlockHazardLifecycle() async throws {
        let h = try await Harness(plants: Rig.standard.plantsYAML)
        defer { h.stop() }
        try await h.startDaemon()

        // The lance's interlock never acts: interlock-failed, and with it a major hazard.
        _ = try await play(h, "lance-leak-no-interlock", endingAgo: 60)
        let opened = try await waitForHazards(h) { $0.count == 1 }
        let hazard = try #require(opened.first)
        let id = try #require(hazard["id"] as? String)
        #expect(id.hasPrefix("HZ-baotou-steel-") && id.hasSuffix("-001"))
        #expect(hazard["class"] as? String == "major" && hazard["rule"] as? String == "interlock-failed")
        #expect(hazard["basis"] as? String == "令10 第四条(四)")
        #expect((hazard["evidence"] as? [String: Any])?["alarm_ids"] as? [String] == ["baotou-steel:bof1-lance:interlock-failed:1"])
        let path = h.api + "/api/hazards/" + id

        // Not rectified, then rectified and submitted: without evidence from the data, no 销号.
        #expect(try await call("POST", path + "/close", json: #"{"operator":"李经理"}"#).status == 409)
        let rectified = try await call("POST", path + "/rectification", json: """
            {"operator":"王工","responsible":"王工（设备科）","measures":"更换出水快切阀执行机构，联锁回路全部校验","funds":"3.5万元","deadline":"2099-12-31","plan":"出水阀失效时立即停吹、摇炉至安全位"}
            """)
        #expect(rectified.status == 200 && object(rectified.body)["status"] as? String == "rectifying", "\(rectified.body)")
        #expect(try await call("POST", path + "/submit", json: #"{"operator":"王工","note":"已更换"}"#).status == 200)
        let refused = try await call("POST", path + "/close", json: #"{"operator":"李经理"}"#)
        #expect(refused.status == 409 && refused.body.contains("no evidence from the data"), "\(refused.body)")

        // `meltwatch hazards` reads the database while the daemon runs.
        let listed = try await meltwatch(h, ["hazards", "list", "--config", h.configPath], name: "hazards-list")
        #expect(listed.status == 0 && listed.output.contains(id) && listed.output.contains("awaiting-verification"), "\(listed.output)")

        // SIGKILL: the record, its rectification and history are there after the restart.
        #expect(h.daemon.stop(signal: SIGKILL) != nil)
        try await h.startDaemon()
        let restored = object(try await call("GET", path).body)
        #expect(restored["status"] as? String == "awaiting-verification")
        #expect((restored["history"] as? [Any])?.count == 3)
        #expect((restored["rectification"] as? [String: Any])?["funds"] as? String == "3.5万元")

        // The console's hazards page shows the record, in a real browser.
        if browserTools {
            let shots = ProcessInfo.processInfo.environment["MELTWATCH_CONSOLE_SCREENSHOT_DIR"]
                ?? FileManager.default.temporaryDirectory.appendingPathComponent("meltwatch-console-screenshot").path
            try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
            let script = try #require(repositoryFile("scripts/console-browser.py"))
            let browser = try SpawnedProcess(executable: "/usr/bin/python3", arguments: [
                script, "--url", h.api + "/", "--hazard-id", id, "--screenshot-dir", shots,
            ], output: h.directory.path + "/browser.log")
            let status = browser.waitForExit(timeoutSeconds: 120)
            let log = (try? String(contentsOfFile: h.directory.path + "/browser.log", encoding: .utf8)) ?? ""
            #expect(status == 0 && log.contains(#""hazard_id""#) && log.contains("待验收"), "console-browser.py: \(log)")
            #expect(FileManager.default.fileExists(atPath: shots + "/console-hazards.png"))
        }

        // A later leak, and this time the interlock acts in time: the data verifies the rectification.
        _ = try await play(h, "lance-leak")
        let verified = try await waitForHazards(h) { ($0.first?["verification_available"] as? [String: Any])?["kind"] as? String == "trip-ok" }
        #expect((verified.first?["verification_available"] as? [String: Any])?["latency_ms"] as? Int == 1200)
        let closed = try await call("POST", path + "/close", json: #"{"operator":"李经理","note":"复验合格"}"#)
        let record = object(closed.body)
        #expect(closed.status == 200 && record["status"] as? String == "closed", "\(closed.body)")
        #expect((record["verification"] as? [String: Any])?["kind"] as? String == "trip-ok")
        #expect(try await call("POST", path + "/submit", json: #"{"operator":"王工"}"#).status == 409)

        // The duty room heard every step as meltwatch.hazard/1 on the webhook, in order (at least
        // once: the SIGKILL may cost a resend, which the receiver drops by event_id).
        var ids: Set<String> = []
        let unique = h.receiver.hazards.map(\.text).filter { ids.insert(object($0)["event_id"] as? String ?? "?").inserted }
        let heard = unique.map { object($0)["event"] as? String ?? "?" }
        #expect(heard == ["opened", "status", "status", "verified", "status"], "\(heard)")

        // The weekly table (cut at the Friday 24:00 at or after the find) counts it found and rectified.
        let found = try #require((record["found_at"] as? String).flatMap { EventTime(parsing: $0) })
        var day = BeijingDate(found)
        while day.isoWeekday != 5 { day = day.adding(days: 1) }
        let week = "\(day.isoWeek.year)-W\(day.isoWeek.week < 10 ? "0" : "")\(day.isoWeek.week)"
        let weekly = h.directory.path + "/weekly.json"
        let export = try await meltwatch(h, ["hazards", "export", "--config", h.configPath, "--form", "weekly", "--format", "json",
                                             "--output", weekly, "--week", week], name: "export-weekly")
        #expect(export.status == 0, "\(export.output)")
        let table = try #require((object(try String(contentsOfFile: weekly, encoding: .utf8))["tables"] as? [[String: Any]])?.first)
        let row = try #require((table["rows"] as? [[String: Any]])?.first)
        #expect(row["self_inspection"] as? String == "发现一般问题隐患0条，已整改0条；重大事故隐患1条，已整改1条")
        let ledger = h.directory.path + "/ledger.csv"
        #expect(try await meltwatch(h, ["hazards", "export", "--config", h.configPath, "--form", "ledger", "--format", "csv",
                                        "--output", ledger, "--week", week], name: "export-ledger").status == 0)
        let bytes = try #require(FileManager.default.contents(atPath: ledger))
        let csv = String(decoding: bytes, as: UTF8.self)
        #expect(Array(bytes.prefix(3)) == [0xEF, 0xBB, 0xBF])
        #expect(csv.contains("已整改销号") && csv.contains("企业自查") && csv.contains(id), "\(csv)")

        // The journal and the database agree: replay reports the same hazard events the daemon sent.
        #expect(h.daemon.stop() == 0)
        let replay = try await meltwatch(h, ["replay", "--hazards", "--config", h.configPath, "--journal", h.directory.path + "/journal"],
                                         name: "replay-hazards")
        #expect(replay.status == 0)
        #expect(replay.output.split(separator: "\n").filter { $0.hasPrefix("{") }.map(String.init) == unique)
        let shown = try await meltwatch(h, ["hazards", "show", id, "--config", h.configPath], name: "hazards-show")
        #expect(object(shown.output)["status"] as? String == "closed")
    }
}
