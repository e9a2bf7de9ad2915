import Crypto
import Foundation
import MeltWatchAlarms
import MeltWatchMQTT
import MeltWatchTestKit
import Testing

@Suite("End to end: mosquitto -> meltwatch -> signed webhook", .serialized)
struct EndToEndTests {
    @Test("a leak reaches the webhook as a signed raised event with every contract field, and recovery as cleared")
    func leakRaisedAndCleared() async throws {
        let h = try await Harness(failFirst: 1)   // the first POST fails: the event must be retried, same id
        defer { h.stop() }
        try await h.startDaemon()
        let gateway = try h.publisher()
        defer { gateway.close() }

        let t0 = nowMilliseconds() - 10_000
        // Healthy, then a leak of 4.1 m3/h from t0+1 s; per-signal (overridden topic) and batch forms mixed.
        try gateway.publish(topic: "site/bof1/lance/FT101", text: #"{"ts": \#(t0), "v": 120.0, "q": "good", "seq": 1}"#)
        try gateway.publish(topic: "plants/baotou-steel/bof1-lance/outlet_flow", text: #"{"ts": \#(t0), "v": 119.6}"#)
        try gateway.publish(topic: "plants/baotou-steel/bof1-lance", text: #"{"ts": \#(t0 + 1000), "values": {"outlet_flow": 115.9, "furnace_operating": true}}"#)
        // Garbage in between: rejected and counted, never fatal.
        try gateway.publish(topic: "plants/baotou-steel/bof1-lance/outlet_flow", text: #"{"ts": 1, "v": NaN}"#)
        try gateway.publish(topic: "plants/baotou-steel/bof1-lance/outlet_flow", payload: [0xFF, 0xFE])
        // The BOF's interlock answers the leak 0.8 s after it began, within the warn time and before
        // the alarm's on-delay ends: recorded (latency from the excursion, not 0), no alarm.
        try gateway.publish(topic: "plants/baotou-steel/bof1-lance", text: #"{"ts": \#(t0 + 1800), "values": {"tilt_locked": true, "lance_raised": true}}"#)
        try gateway.publish(topic: "site/bof1/lance/FT101", text: #"{"ts": "\#(rfc3339(t0 + 3000))", "v": 120.0}"#)
        #expect(gateway.waitUntilAcknowledged())

        let raisedList = await h.receiver.waitFor { $0.contains { $0.json["event"] as? String == "raised" } }
        let raised = try #require(raisedList.first { $0.json["event"] as? String == "raised" }, "daemon log:\n\(h.daemon.output)")
        let j = raised.json
        let configHash = "sha256:" + SHA256.hash(data: try Data(contentsOf: URL(fileURLWithPath: h.configPath))).map { String(format: "%02x", $0) }.joined()
        #expect(j["schema"] as? String == "meltwatch.alarm/1")
        #expect(j["event_id"] as? String == "baotou-steel:bof1-lance:flow-difference:1:1")
        #expect(j["alarm_id"] as? String == "baotou-steel:bof1-lance:flow-difference:1")
        #expect(j["state"] as? String == "active-unacked")
        #expect(j["class"] as? String == "process")
        #expect(j["rule"] as? String == "flow-difference")
        #expect(j["priority"] as? String == "emergency")
        #expect(j["plant"] as? String == "baotou-steel")
        #expect(j["equipment"] as? String == "bof1-lance")
        #expect(j["signals"] as? [String] == ["inlet_flow", "outlet_flow"])
        #expect(j["value"] as? Double == 4.1)
        #expect(j["limit"] as? Double == 3.0)
        #expect(j["unit"] as? String == "m3/h")
        #expect(j["latency_ms"] is NSNull)
        #expect(j["cause"] is NSNull)
        #expect(j["basis"] as? String == "令10 第四条(四)")
        #expect((j["message"] as? String)?.contains("进出水流量差 4.1 m3/h > 3.0 m3/h") == true)
        #expect(j["event_time"] as? String == rfc3339(t0 + 3000))   // on-delay 2 s from the leak at t0+1 s
        #expect((j["emitted_at"] as? String)?.hasSuffix("Z") == true)
        #expect(j["config_hash"] as? String == configHash)
        #expect(j["operator"] is NSNull)
        #expect(j["note"] is NSNull)
        #expect(j.count == 23)   // exactly the contract's fields, no more
        #expect(raised.headers["content-type"] == "application/json")
        #expect(raised.headers["idempotency-key"] == "baotou-steel:bof1-lance:flow-difference:1:1")
        let signature = try #require(raised.headers["x-meltwatch-signature"])
        #expect(WebhookSignature.verify(header: signature, body: raised.body, secret: Array(h.secret.utf8), now: Int64(Date().timeIntervalSince1970)))
        #expect(!WebhookSignature.verify(header: signature, body: raised.body + [0x20], secret: Array(h.secret.utf8), now: Int64(Date().timeIntervalSince1970)))

        // The failed first attempt was retried with the same event id and the same bytes.
        let attempts = h.receiver.all.filter { $0.headers["idempotency-key"] == "baotou-steel:bof1-lance:flow-difference:1:1" }
        #expect(attempts.count == 2)
        #expect(attempts.first?.status == 500)
        #expect(attempts.first?.body == raised.body)

        // Recovery.
        try gateway.publish(topic: "plants/baotou-steel/bof1-lance/outlet_flow", text: #"{"ts": \#(t0 + 4000), "v": 119.7}"#)
        let clearedList = await h.receiver.waitFor { $0.contains { $0.json["event"] as? String == "cleared" } }
        let cleared = try #require(clearedList.first { $0.json["event"] as? String == "cleared" })
        #expect(cleared.json["event_id"] as? String == "baotou-steel:bof1-lance:flow-difference:1:2")
        #expect(cleared.json["state"] as? String == "rtn-unacked")
        #expect(cleared.json["event_time"] as? String == rfc3339(t0 + 4000))
        #expect(cleared.json["basis"] as? String == "令10 第四条(四)")
        #expect(h.receiver.accepted.map { $0.json["event"] as? String } == ["raised", "cleared"])

        #expect(h.daemon.isRunning)
        #expect(h.daemon.output.contains("rejected gateway message"))
        #expect(h.daemon.output.contains("interlock ok"))
        #expect(h.daemon.output.contains("interlock.latency_ms=800"))
        #expect(h.daemon.stop() == 0)
    }

    @Test("CO over level 1 reaches the duty webhook with its basis; a dead receiver never stops the daemon")
    func coAlarm() async throws {
        let h = try await Harness()
        defer { h.stop() }
        try await h.startDaemon()
        let gateway = try h.publisher()
        defer { gateway.close() }
        let t0 = nowMilliseconds() - 5_000
        try gateway.publish(topic: "plants/baotou-steel/co-1/co", text: #"{"ts": \#(t0), "v": 3}"#)
        try gateway.publish(topic: "plants/baotou-steel/co-1/co", text: #"{"ts": \#(t0 + 1000), "v": 30.5, "seq": 2}"#)
        let got = await h.receiver.waitFor { !$0.isEmpty }
        let j = try #require(got.first).json
        #expect(j["rule"] as? String == "co-level-1")
        #expect(j["priority"] as? String == "high")
        #expect(j["basis"] as? String == "令10 第四条(六)")
        #expect(j["value"] as? Double == 30.5)
        #expect(j["limit"] as? Double == 24)
        #expect(j["unit"] as? String == "ppm")
        #expect(j["event_time"] as? String == rfc3339(t0 + 1000))
    }

    @Test("meltwatch check: exit 0 for a valid file, exit 1 with FILE:LINE:COL lines for an invalid one")
    func checkCommand() async throws {
        let h = try await Harness()
        defer { h.stop() }
        let ok = try ProductProcess("meltwatch", arguments: ["check", "--config", h.configPath], logFile: h.directory.appendingPathComponent("check-ok.log"))
        #expect(ok.waitForExit(timeoutSeconds: 30) == 0)
        let bad = h.directory.path + "/bad.yaml"
        try "broker:\n  url: mqtt://127.0.0.1:1\n  client_id: x\n  qos: 7\nplants:\n  - id: p\n    equipment:\n      - id: e\n        template: steel.nope\n"
            .write(toFile: bad, atomically: true, encoding: .utf8)
        let fail = try ProductProcess("meltwatch", arguments: ["check", "--config", bad], logFile: h.directory.appendingPathComponent("check-bad.log"))
        #expect(fail.waitForExit(timeoutSeconds: 30) == 1)
        let lines = fail.output.split(separator: "\n")
        #expect(lines.count == 2, "\(fail.output)")
        #expect(lines.first?.hasPrefix("\(bad):4:8: broker.qos is 7") == true, "\(fail.output)")
        #expect(lines.last?.contains("template 'steel.nope' is unknown; allowed:") == true)
    }
}
