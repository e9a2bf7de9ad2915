import AsyncHTTPClient
import Foundation
import MeltWatchAlarms
import MeltWatchJournal
import MeltWatchMQTT
import MeltWatchTestKit
import NIOCore
import Testing

/// One HTTP exchange with the duty API.
func call(_ method: String, _ url: String, json: String? = nil, token: String? = nil, contentType: String = "application/json",
          headers: [(String, String)] = []) async throws -> (status: Int, body: String) {
    var request = HTTPClientRequest(url: url)
    request.method = .init(rawValue: method)
    if let json {
        request.headers.add(name: "Content-Type", value: contentType)
        request.body = .bytes(ByteBuffer(string: json))
    }
    if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
    let body = try await response.body.collect(upTo: 4 << 20)
    return (Int(response.status.code), String(buffer: body))
}

private func jsonArray(_ text: String) -> [[String: Any]] {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [[String: Any]] ?? []
}

private func jsonObject(_ text: String) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
}

/// Polls `GET /api/alarms` until `predicate` holds (15 s).
private func waitForAlarms(_ h: Harness, _ predicate: ([[String: Any]]) -> Bool) async throws -> [[String: Any]] {
    let deadline = Date().addingTimeInterval(15)
    var alarms: [[String: Any]] = []
    while Date() < deadline {
        alarms = jsonArray(try await call("GET", h.api + "/api/alarms").body)
        if predicate(alarms) { return alarms }
        try await Task.sleep(for: .milliseconds(50))
    }
    return alarms
}

private func publishCO(_ h: Harness, _ ppm: Double, times: Int = 2) throws {
    let p = try h.publisher()
    defer { p.close() }
    for _ in 0..<times {
        try p.publish(topic: "plants/baotou-steel/co-1/co", text: "{\"ts\":\(nowMilliseconds()),\"v\":\(ppm)}")
        usleep(300_000)
    }
    #expect(p.waitUntilAcknowledged())
}

/// The event bodies the daemon stored in its outbox, in sequence order (what must reach every webhook).
private func outboxEvents(_ journal: String) -> [[String: Any]] {
    var events: [(Int, [String: Any])] = []
    try? JournalReader(directory: journal + "/outbox").forEach { _, record in
        guard case .outbox(_, let data) = record else { return }
        let entry = jsonObject(String(decoding: data, as: UTF8.self))
        if let seq = entry["seq"] as? Int, let body = entry["body"] as? String { events.append((seq, jsonObject(body))) }
    }
    return events.sorted { $0.0 < $1.0 }.map(\.1)
}

@Suite("The duty room: lifecycle through the API, durable delivery, SSE, console", .serialized, .timeLimit(.minutes(3)))
struct DutyRoomTests {
    @Test("acknowledge, shelve, out of service, escalation and tokens through the API; SSE resumes after Last-Event-ID; replay repeats it all")
    func lifecycleThroughTheAPI() async throws {
        // One token per operator (contract §5): a write is recorded under its token's name.
        let tokens = "# duty room\nzs-0123456789abcdef 张三\nls-0123456789abcdef 李四 operator\nww-0123456789abcdef 王五 manager\n"
        let h = try await Harness(plants: Harness.coPlant, duty: "  escalate_after_s: 2\n  heartbeat_s: 3600\n  tokens_file: tokens\n")
        try tokens.write(toFile: h.directory.path + "/tokens", atomically: true, encoding: .utf8)
        defer { h.stop() }
        try await h.startDaemon()
        let token = "zs-0123456789abcdef", lisi = "ls-0123456789abcdef", wangwu = "ww-0123456789abcdef"

        try publishCO(h, 80)
        let level1 = "baotou-steel:co-1:co-level-1:1"
        var alarms = try await waitForAlarms(h) { $0.contains { $0["alarm_id"] as? String == level1 } }
        #expect(alarms.first?["state"] as? String == "active-unacked")
        #expect(alarms.first?["basis"] as? String == "令10 第四条(六)")
        #expect(alarms.first?["plant_name"] as? String == "包头钢铁 一炼钢")

        // Writes need the operator's own token, JSON, and the console's origin; bad requests say why
        // and change nothing.
        let ack = h.api + "/api/alarms/\(level1)/ack"
        #expect(try await call("POST", ack, json: #"{"operator":"张三"}"#).status == 401)
        #expect(try await call("POST", ack, json: #"{"operator":"张三"}"#, token: "wrong-but-long-enough").status == 401)
        #expect(try await call("POST", ack, json: #"{"operator":"张三"}"#, token: lisi).status == 403, "李四's token acting as 张三")
        #expect(try await call("POST", ack, json: #"{"operator":"张三"}"#, token: token, contentType: "text/plain").status == 415)
        #expect(try await call("POST", ack, json: #"{"operator":"张三"}"#, token: token, headers: [("Origin", "http://evil.example")]).status == 403)
        #expect(try await call("POST", ack, json: #"{"note":5}"#, token: token).status == 400)
        #expect(try await call("POST", ack, json: "not json", token: token).status == 400)
        #expect(try await call("POST", h.api + "/api/alarms/baotou-steel:co-1:nope:1/ack", json: #"{"operator":"张三"}"#, token: token).status == 404)

        // Escalation: unacknowledged for 2 s.
        _ = await h.receiver.waitFor { $0.contains { $0.json["event"] as? String == "escalated" } }

        let acked = try await call("POST", h.api + "/api/alarms/baotou-steel%3Aco-1%3Aco-level-1%3A1/ack",
                                   json: #"{"operator":"张三","note":"现场已通风"}"#, token: token)
        #expect(acked.status == 200)
        #expect(jsonObject(acked.body)["state"] as? String == "active-acked")
        #expect(jsonObject(acked.body)["acknowledged_by"] as? String == "张三")
        #expect(try await call("POST", ack, json: #"{"operator":"李四"}"#, token: lisi).status == 409)

        // Shelve and unshelve; shelving more than a day is refused.
        let shelve = h.api + "/api/alarms/\(level1)/shelve"
        #expect(try await call("POST", shelve, json: #"{"operator":"张三","minutes":2000,"reason":"r"}"#, token: token).status == 400)
        let shelved = try await call("POST", shelve, json: #"{"operator":"张三","minutes":30,"reason":"探头标定"}"#, token: token)
        #expect(jsonObject(shelved.body)["state"] as? String == "shelved")
        #expect(jsonObject(shelved.body)["shelve_reason"] as? String == "探头标定")
        let unshelved = try await call("POST", h.api + "/api/alarms/\(level1)/unshelve", json: "{}", token: token)  // the token names 张三
        #expect(jsonObject(unshelved.body)["state"] as? String == "active-acked")

        // Out of service: the equipment's alarms are out-of-service until it returns.
        let equipment = h.api + "/api/equipment/baotou-steel/co-1"
        #expect(try await call("POST", h.api + "/api/equipment/baotou-steel/nope/out-of-service", json: #"{"operator":"张三","reason":"r"}"#, token: token).status == 404)
        // Out of service always ends: without hours, or beyond 168, it is refused.
        #expect(try await call("POST", equipment + "/out-of-service", json: #"{"operator":"王五","reason":"更换探头"}"#, token: wangwu).status == 400)
        #expect(try await call("POST", equipment + "/out-of-service", json: #"{"operator":"王五","reason":"更换探头","hours":169}"#, token: wangwu).status == 400)
        #expect(try await call("POST", equipment + "/out-of-service", json: #"{"operator":"王五","reason":"更换探头","hours":8}"#, token: wangwu).status == 200)
        alarms = try await waitForAlarms(h) { $0.first?["state"] as? String == "out-of-service" }
        #expect(alarms.first?["out_of_service_by"] as? String == "王五")
        #expect(alarms.first?["out_of_service_until"] is String)
        let listed = jsonArray(try await call("GET", h.api + "/api/equipment?state=out-of-service").body)
        #expect(listed.map { "\($0["plant"] as? String ?? "")/\($0["equipment"] as? String ?? "") \($0["operator"] as? String ?? "")" }
            == ["baotou-steel/co-1 王五"])
        #expect(listed.first?["until"] is String && listed.first?["reason"] as? String == "更换探头")
        #expect(try await call("POST", equipment + "/in-service", json: #"{"operator":"王五"}"#, token: wangwu).status == 200)
        alarms = try await waitForAlarms(h) { $0.first?["state"] as? String == "active-acked" }
        #expect(alarms.count == 1)
        #expect(jsonArray(try await call("GET", h.api + "/api/equipment?state=out-of-service").body).isEmpty)

        // Every change reached the webhook, in order, each event once; the maintenance period's start
        // and end are events of their own (rule out-of-service).
        let expected = ["raised/active-unacked", "escalated/active-unacked", "acknowledged/active-acked", "shelved/shelved",
                        "unshelved/active-acked", "out-of-service/out-of-service", "updated/out-of-service", "in-service/normal",
                        "updated/active-acked"]
        let maintenanceID = "baotou-steel:co-1:out-of-service:1"
        let ids = (1...5).map { "\(level1):\($0)" } + ["\(maintenanceID):1", "\(level1):6", "\(maintenanceID):2", "\(level1):7"]
        let got = await h.receiver.waitFor { $0.count >= expected.count }
        #expect(got.map { "\($0.json["event"] as? String ?? "")/\($0.json["state"] as? String ?? "")" } == expected)
        #expect(got.map { $0.json["event_id"] as? String } == ids)
        #expect(got[2].json["operator"] as? String == "张三" && got[2].json["note"] as? String == "现场已通风")
        #expect(got[5].json["operator"] as? String == "王五" && got[5].json["cause"] as? String == "更换探头")

        // SSE: resuming after event 3 sends 4… at once, with their sequence ids.
        let stream = try await sse(h.api + "/api/events", lastEventID: 3, until: { $0.count == expected.count - 3 })
        #expect(stream.map(\.id) == (4...expected.count).map { Int64($0) })
        #expect(stream.map { jsonObject($0.data)["event_id"] as? String } == Array(ids.dropFirst(3)))

        // Signals and metrics.
        let signals = jsonArray(try await call("GET", h.api + "/api/signals").body)
        let co = signals.first { $0["equipment"] as? String == "co-1" && $0["role"] as? String == "co" }
        #expect(co?["value"] as? Double == 80 && co?["health"] as? String == "ok" && co?["quality"] as? String == "good")
        let metrics = try await call("GET", h.api + "/metrics").body
        for name in ["meltwatch_messages_received_total", "meltwatch_messages_rejected_total{reason=\"malformed_json\"}", "meltwatch_readings_total",
                     "meltwatch_alarm_events_total", "meltwatch_ring_occupancy", "meltwatch_journal_bytes_total", "meltwatch_webhook_pending"] {
            #expect(metrics.contains(name), "\(name) missing from /metrics")
        }
        // Where the alarms' time went: every stage of the alarm path measured at least once.
        for stage in ["receive", "journal", "ring", "engine", "store", "deliver"] {
            let count = metrics.split(separator: "\n").first { $0.hasPrefix("meltwatch_alarm_stage_seconds_count{stage=\"\(stage)\"}") }
            #expect((count?.split(separator: " ").last.flatMap { Double($0) } ?? 0) >= 1, "stage \(stage): \(count ?? "missing")")
        }
        #expect(try await call("GET", h.api + "/").body.contains("MeltWatch 值班台"))
        #expect(h.daemon.stop() == 0)

        // The journal replays to the same events, operator actions included.
        let replay = try ProductProcess("meltwatch", arguments: [
            "replay", "--config", h.configPath, "--journal", h.directory.path + "/journal", "--output", h.directory.path + "/replay.jsonl",
        ], logFile: h.directory.appendingPathComponent("replay.log"))
        #expect(await replay.exited(timeoutSeconds: 60) == 0, "replay: \(replay.output)")
        let replayed = ((try? String(contentsOfFile: h.directory.path + "/replay.jsonl", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        #expect(replayed.map(withoutEmittedAt) == h.receiver.accepted.map { withoutEmittedAt($0.text) })
    }

    @Test("webhook down (HTTP 500, then refusing connections) while alarms happen and the daemon is stopped and killed: every stored event arrives, signed, in order per alarm")
    func deliveryThroughOutageAndRestarts() async throws {
        let h = try await Harness(plants: Harness.coPlant)
        defer { h.stop() }
        h.receiver.failNext(1_000_000, status: 500)
        try await h.startDaemon()
        try publishCO(h, 80)
        _ = try await waitForAlarms(h) { $0.count == 1 }
        #expect(try await call("POST", h.api + "/api/alarms/baotou-steel:co-1:co-level-1:1/ack", json: #"{"operator":"张三"}"#).status == 200)

        // SIGTERM during the outage: the open alarm stays open (recovery), and a new one is raised.
        #expect(h.daemon.stop(signal: SIGTERM) == 0)
        try await h.startDaemon()
        try publishCO(h, 300)
        _ = try await waitForAlarms(h) { $0.count == 2 }

        // SIGKILL: nothing may be lost that was stored.
        _ = h.daemon.stop(signal: SIGKILL)
        await h.receiver.shutdown()   // now the endpoint refuses connections
        try await h.startDaemon()
        try await Task.sleep(for: .seconds(1))

        let stored = outboxEvents(h.directory.path + "/journal")
        #expect(stored.count == 3, "level-1 raised and acked, level-2 raised; the restarts add nothing: \(stored.map { $0["event_id"] ?? "?" })")
        // The same port again: the old listener may take a moment to let go of it.
        var back: WebhookReceiver?
        for _ in 0..<50 where back == nil {
            back = try? await WebhookReceiver(port: h.receiver.port)
            if back == nil { try await Task.sleep(for: .milliseconds(200)) }
        }
        let receiver = try #require(back, "cannot listen on the webhook's port \(h.receiver.port) again")
        defer { receiver.stop() }
        let storedIDs = stored.compactMap { $0["event_id"] as? String }
        let got = await receiver.waitFor(timeoutSeconds: 60) { d in Set(storedIDs).isSubset(of: Set(d.compactMap { $0.json["event_id"] as? String })) }
        let ids = got.compactMap { $0.json["event_id"] as? String }
        #expect(Set(storedIDs).isSubset(of: Set(ids)), "missing: \(Set(storedIDs).subtracting(ids))")

        // Signed; duplicates carry the same body; per alarm the first deliveries come in ordinal order.
        let secret = Array(h.secret.utf8)
        for d in got {
            #expect(WebhookSignature.verify(header: d.headers["x-meltwatch-signature"] ?? "", body: d.body, secret: secret,
                                            now: Int64(Date().timeIntervalSince1970)))
            #expect(d.headers["idempotency-key"] == d.json["event_id"] as? String)
        }
        var bodies: [String: String] = [:]
        var seen: [String: Int] = [:]
        for d in got {
            let id = d.json["event_id"] as! String, alarm = d.json["alarm_id"] as! String
            if let b = bodies[id] { #expect(b == d.text, "a duplicate of \(id) must be the same event") }
            bodies[id] = d.text
            let k = Int(id.split(separator: ":").last!)!
            #expect(k <= (seen[alarm] ?? 0) + 1, "\(id) arrived before an earlier event of its alarm")
            seen[alarm] = max(seen[alarm] ?? 0, k)
        }
        print("outage: \(stored.count) events stored, \(got.count) deliveries after recovery (\(got.count - Set(ids).count) duplicates)")
    }

    @Test("duty.mqtt_topic_prefix: the same events, byte for byte, at QoS 1 on <prefix>/<plant>/<equipment>")
    func mqttAlarmTopic() async throws {
        let h = try await Harness(plants: Harness.coPlant, duty: "  heartbeat_s: 3600\n  mqtt_topic_prefix: meltwatch/alarms\n")
        defer { h.stop() }
        let out = h.directory.path + "/mqtt-alarms.txt"
        let sub = try SpawnedProcess(executable: "/usr/bin/mosquitto_sub", arguments: [
            "-h", "127.0.0.1", "-p", "\(h.broker.port)", "-q", "1", "-t", "meltwatch/alarms/#", "-v", "-C", "1",
        ], output: out)
        try await h.startDaemon()
        try publishCO(h, 80)
        let webhook = await h.receiver.waitFor { !$0.isEmpty }
        #expect(sub.waitForExit(timeoutSeconds: 15) == 0)
        let line = ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").trimmingCharacters(in: .newlines)
        #expect(line == "meltwatch/alarms/baotou-steel/co-1 " + (webhook.first?.text ?? "?"))
    }

    @Test("the console in Chromium shows a live alarm and acknowledges it by click", .enabled(if: browserTools, "chromium / chromium-driver not installed"))
    func consoleInABrowser() async throws {
        let h = try await Harness(plants: Harness.coPlant)
        defer { h.stop() }
        try await h.startDaemon()
        try publishCO(h, 300)
        let id = "baotou-steel:co-1:co-level-2:1"
        _ = try await waitForAlarms(h) { $0.contains { $0["alarm_id"] as? String == id } }
        let shots = ProcessInfo.processInfo.environment["MELTWATCH_CONSOLE_SCREENSHOT_DIR"]
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("meltwatch-console-screenshot").path
        try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
        let script = try #require(repositoryFile("scripts/console-browser.py"))
        let browser = try SpawnedProcess(executable: "/usr/bin/python3", arguments: [
            script, "--url", h.api + "/", "--alarm-id", id, "--operator", "张三", "--note", "浏览器测试", "--screenshot-dir", shots, "--check-banner",
        ], output: h.directory.path + "/browser.log")
        let status = browser.waitForExit(timeoutSeconds: 120)
        let log = (try? String(contentsOfFile: h.directory.path + "/browser.log", encoding: .utf8)) ?? ""
        #expect(status == 0, "console-browser.py: \(log)")
        let alarm = jsonObject(try await call("GET", h.api + "/api/alarms/\(id)").body)
        #expect(alarm["state"] as? String == "active-acked")
        #expect(alarm["acknowledged_by"] as? String == "张三")
        #expect(FileManager.default.fileExists(atPath: shots + "/console-alarm.png"))
    }
}

extension DutyRoomTests {
    @Test("the console in Chromium: no shelve for an emergency alarm, out-of-service with who/why/until, the token asked once",
          .enabled(if: browserTools, "chromium / chromium-driver not installed"))
    func consoleDutyRoomRulesInABrowser() async throws {
        let token = "zs-console-0123456789"
        let h = try await Harness(plants: Harness.defaultPlants, duty: "  heartbeat_s: 3600\n  tokens_file: tokens\n")
        defer { h.stop() }
        try "\(token) 张三\n".write(toFile: h.directory.path + "/tokens", atomically: true, encoding: .utf8)
        try await h.startDaemon()
        try publishCO(h, 300)  // co-level-1 (high) and co-level-2 (emergency)
        let emergency = "baotou-steel:co-1:co-level-2:1", high = "baotou-steel:co-1:co-level-1:1"
        _ = try await waitForAlarms(h) { a in [emergency, high].allSatisfy { id in a.contains { $0["alarm_id"] as? String == id } } }
        let oos = try await call("POST", h.api + "/api/equipment/baotou-steel/bof1-lance/out-of-service",
                                 json: #"{"reason":"更换氧枪","hours":8}"#, token: token)
        #expect(oos.status == 200, "\(oos.body)")
        let shots = ProcessInfo.processInfo.environment["MELTWATCH_CONSOLE_SCREENSHOT_DIR"]
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("meltwatch-console-screenshot").path
        try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
        let script = try #require(repositoryFile("scripts/console-browser.py"))
        let browser = try SpawnedProcess(executable: "/usr/bin/python3", arguments: [
            script, "--url", h.api + "/", "--alarm-id", emergency, "--shelve-alarm-id", high, "--operator", "张三", "--token", token,
            "--oos", "baotou-steel/bof1-lance", "--oos-operator", "张三", "--oos-reason", "更换氧枪", "--screenshot-dir", shots,
        ], output: h.directory.path + "/browser.log")
        let status = browser.waitForExit(timeoutSeconds: 120)
        let log = (try? String(contentsOfFile: h.directory.path + "/browser.log", encoding: .utf8)) ?? ""
        #expect(status == 0, "console-browser.py: \(log)")
        let acked = jsonObject(try await call("GET", h.api + "/api/alarms/\(emergency)").body)
        #expect(acked["state"] as? String == "active-acked" && acked["acknowledged_by"] as? String == "张三", "\(acked)")
        let shelved = jsonObject(try await call("GET", h.api + "/api/alarms/\(high)").body)
        #expect(shelved["state"] as? String == "shelved" && shelved["shelved_by"] as? String == "张三", "\(shelved)")
        // And the API refuses what the console does not offer.
        let refused = try await call("POST", h.api + "/api/alarms/\(emergency)/shelve", json: #"{"minutes":30,"reason":"x"}"#, token: token)
        #expect(refused.status == 409)
    }
}

let browserTools = ["/usr/bin/chromium", "/usr/bin/chromedriver"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }

/// A file of the repository, found from this source file upwards.
func repositoryFile(_ relative: String) -> String? {
    var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while dir.path != "/" {
        let candidate = dir.appendingPathComponent(relative).path
        if FileManager.default.fileExists(atPath: candidate) { return candidate }
        dir.deleteLastPathComponent()
    }
    return nil
}

/// Reads Server-Sent Events from `url` until `until` holds for the alarm events (or 15 s pass).
func sse(_ url: String, lastEventID: Int64, until: @escaping ([(id: Int64, data: String)]) -> Bool) async throws -> [(id: Int64, data: String)] {
    var request = HTTPClientRequest(url: url)
    request.headers.add(name: "Last-Event-ID", value: "\(lastEventID)")
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(15))
    #expect(response.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true)
    var text = ""
    var events: [(id: Int64, data: String)] = []
    for try await chunk in response.body {
        text += String(buffer: chunk)
        while let end = text.range(of: "\n\n") {
            let block = String(text[..<end.lowerBound])
            text = String(text[end.upperBound...])
            var id: Int64?, kind = "message", data = ""
            for line in block.split(separator: "\n") {
                if line.hasPrefix("id: ") { id = Int64(line.dropFirst(4)) }
                if line.hasPrefix("event: ") { kind = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
            }
            if kind == "alarm", let id { events.append((id, data)) }
        }
        if until(events) { break }
    }
    return events
}
