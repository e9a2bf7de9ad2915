import Foundation
import MeltWatchTestKit
import Testing

/// Contract section 3's "anything else", through the real daemon: every hostile message is
/// journaled as received and counted by reason in /metrics, none crashes the daemon, none raises an
/// alarm (a 500 ppm hidden in a bad message must not alarm), none hides one (a good reading after
/// them still raises), and redeliveries and late readings are counted, not evaluated.
@Suite("Hostile gateway input end to end", .serialized)
struct HostileInputTests {
    @Test("the matrix of contract §3: counted by reason, journaled, no crash, no fake alarm, no hidden alarm")
    func matrix() async throws {
        let h = try await Harness(plants: Harness.coPlant)
        defer { h.stop() }
        try await h.startDaemon()
        let p = try h.publisher()
        defer { p.close() }
        let topic = "plants/baotou-steel/co-1/co", batch = "plants/baotou-steel/co-1"
        let now = nowMilliseconds()
        let matrix: [(reason: String, topic: String, payload: [UInt8])] = [
            ("malformed_json", topic, Array("{\"ts\":\(now),\"v\":".utf8)),
            ("non_finite", topic, Array("{\"ts\":\(now),\"v\":NaN}".utf8)),
            ("malformed_json", topic, [0xFF, 0xFE, 0x7B, 0x7D]),  // invalid UTF-8
            ("non_finite", topic, Array("{\"ts\":\(now),\"v\":1e999}".utf8)),
            ("duplicate_key", topic, Array("{\"ts\":\(now),\"v\":500,\"v\":3}".utf8)),
            ("wrong_type", topic, Array("{\"ts\":\(now),\"v\":\"500\"}".utf8)),
            ("missing_field", topic, Array("{\"v\":500}".utf8)),
            ("oversize", topic, Array("{\"ts\":\(now),\"v\":500,\"pad\":\"\(String(repeating: "x", count: 70_000))\"}".utf8)),
            ("future_timestamp", topic, Array("{\"ts\":\(now + 3_600_000),\"v\":500}".utf8)),
            ("bad_timestamp", topic, Array("{\"ts\":-5,\"v\":500}".utf8)),
            ("bad_timestamp", topic, Array("{\"ts\":\"1969-12-31T23:00:00Z\",\"v\":500}".utf8)),
            ("bad_timestamp", topic, Array("{\"ts\":\"yesterday\",\"v\":500}".utf8)),
            ("bad_quality", topic, Array("{\"ts\":\(now),\"v\":500,\"q\":\"excellent\"}".utf8)),
            ("wrong_type", topic, Array("{\"ts\":\(now),\"v\":500,\"seq\":\"seven\"}".utf8)),
            ("bad_sequence", topic, Array("{\"ts\":\(now),\"v\":500,\"seq\":-7}".utf8)),
            ("unknown_role", batch, Array("{\"ts\":\(now),\"values\":{\"h2s\":500}}".utf8)),
            ("wrong_type", batch, Array("{\"ts\":\(now),\"values\":[500]}".utf8)),
            ("malformed_json", topic, Array("{\"ts\":\(now),\"v\":500,\"q\":\"\u{FF}\"".utf8) + [0xC3, 0x28]),
        ]
        for m in matrix { try p.publish(topic: m.topic, payload: m.payload) }
        // A redelivery (same seq and time) and a reading older than the last: journaled, not evaluated.
        for text in ["{\"ts\":\(now),\"v\":3,\"seq\":7}", "{\"ts\":\(now),\"v\":500,\"seq\":7}", "{\"ts\":\(now - 10_000),\"v\":500}"] {
            try p.publish(topic: topic, text: text)
        }
        // The good reading after all of it must still raise.
        try p.publish(topic: topic, text: "{\"ts\":\(now + 1),\"v\":40}")
        #expect(p.waitUntilAcknowledged())
        let events = await h.receiver.waitFor { !$0.isEmpty }
        try await Task.sleep(for: .seconds(1))  // absence cannot be polled for: no second event may follow
        #expect(h.receiver.accepted.count == 1, "\(h.receiver.accepted.map(\.text))")
        #expect(events.first?.json["rule"] as? String == "co-level-1" && events.first?.json["value"] as? Double == 40)
        #expect(await waitForHTTP200(h.api + "/healthz", timeoutSeconds: 5))

        let metrics = try await call("GET", h.api + "/metrics").body
        func count(_ line: String) -> Int {
            metrics.split(separator: "\n").first { $0.hasPrefix(line + " ") }.flatMap { Int(Double($0.split(separator: " ").last!) ?? -1) } ?? 0
        }
        var expected: [String: Int] = [:]
        let rejectedLines = metrics.split(separator: "\n").filter { $0.hasPrefix("meltwatch_messages_rejected_total{") && !$0.hasSuffix(" 0") }
        for m in matrix { expected[m.reason, default: 0] += 1 }
        for (reason, n) in expected {
            #expect(count("meltwatch_messages_rejected_total{reason=\"\(reason)\"}") == n, "\(reason): \(rejectedLines)")
        }
        #expect(count("meltwatch_readings_ignored_total{reason=\"duplicate\"}") == 1)
        #expect(count("meltwatch_readings_ignored_total{reason=\"out_of_order\"}") == 1)
        #expect(count("meltwatch_messages_received_total") == matrix.count + 4)

        // Journaled as received, byte for byte (`journal export`: text, or base64 when not UTF-8).
        #expect(h.daemon.stop() == 0)
        let export = try ProductProcess("meltwatch", arguments: ["journal", "export", h.directory.path + "/journal"],
                                        logFile: h.directory.appendingPathComponent("export.jsonl"))
        #expect(await export.exited(timeoutSeconds: 30) == 0)
        let lines = export.output.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(lines.count == matrix.count + 4)
        let payloads = lines.compactMap { line -> [UInt8]? in
            guard let text = line["payload"] as? String else { return nil }
            if line["payload_encoding"] as? String == "base64" || line["encoding"] as? String == "base64" {
                return Data(base64Encoded: text).map { Array($0) }
            }
            return Array(text.utf8)
        }
        for m in matrix { #expect(payloads.contains(m.payload), "not journaled as received: \(String(decoding: m.payload.prefix(60), as: UTF8.self))") }
    }
}
