import Foundation
import MeltWatchTestKit
import Testing

/// No secret in the clear (issue 19, contract §8): a robot URL's token, a webhook's signing secret
/// and an operator's token never appear in a log line, an alarm, an API answer, an SSE event or a
/// file the daemon writes — the channel is `webhook#2`, not its URL.
@Suite("No secret in the clear: URLs, tokens and secrets stay out of logs, alarms, the API, SSE and the journal", .serialized)
struct SecretsTests {
    @Test("a webhook whose URL carries its token goes 410; an operator acknowledges; every output is grepped for every secret")
    func secretsNeverInTheClear() async throws {
        let gone = try await WebhookReceiver()
        defer { gone.stop() }
        gone.failNext(1_000_000, status: 410)
        let robotToken = "robot-token-\(UUID().uuidString)"
        let operatorToken = "op-token-\(UUID().uuidString)"
        // And a DingTalk robot (contract §8) with its signing secret: the card reaches it, signed.
        let dingSecret = "SEC-\(UUID().uuidString)"
        let ding = try await RobotStandIn(kind: .dingtalk, secret: dingSecret)
        defer { ding.stop() }
        // The robot's URL carries its token: it is given as url_file, so not even the config the
        // journal records holds it.
        let h = try await Harness(plants: Harness.coPlant, duty: """
                - url_file: robot.url
              heartbeat_s: 3600
              tokens_file: duty.tokens
              public_url: https://duty.plant.example/
              channels:
                - kind: dingtalk
                  url_file: dingtalk.url
                  secret_file: dingtalk.secret
                  min_priority: high

            """)
        defer { h.stop() }
        try "\(gone.url)?access_token=\(robotToken)\n".write(toFile: h.directory.path + "/robot.url", atomically: true, encoding: .utf8)
        try "\(ding.url)\n".write(toFile: h.directory.path + "/dingtalk.url", atomically: true, encoding: .utf8)
        try "\(dingSecret)\n".write(toFile: h.directory.path + "/dingtalk.secret", atomically: true, encoding: .utf8)
        try "# duty room\n\(operatorToken) 张三 manager\n".write(toFile: h.directory.path + "/duty.tokens", atomically: true, encoding: .utf8)
        try await h.startDaemon()

        let p = try h.publisher()
        try p.publish(topic: "plants/baotou-steel/co-1/co", text: "{\"ts\":\(nowMilliseconds()),\"v\":80}")
        #expect(p.waitUntilAcknowledged())
        p.close()
        // The robot answers 410: webhook-disabled names it by kind and index.
        let disabled = await h.receiver.waitFor(timeoutSeconds: 15) { $0.contains { $0.json["rule"] as? String == "webhook-disabled" } }
            .first { $0.json["rule"] as? String == "webhook-disabled" }
        let message = disabled?.json["message"] as? String ?? ""
        #expect(message.contains("webhook#2"), "the channel by kind and index: \(message)")
        let raised = await h.receiver.waitFor(timeoutSeconds: 15) { $0.contains { $0.json["rule"] as? String == "co-level-1" } }
        let alarmID = try #require(raised.first { $0.json["rule"] as? String == "co-level-1" }?.json["alarm_id"] as? String)
        let ack = try await call("POST", h.api + "/api/alarms/\(alarmID)/ack", json: #"{"note":"现场已通风"}"#, token: operatorToken)
        #expect(ack.status == 200)
        _ = await h.receiver.waitFor(timeoutSeconds: 15) { $0.contains { $0.json["event"] as? String == "acknowledged" } }

        // The duty officers' phones: the card, signed, in Chinese, with the console's link.
        let cards = await ding.waitFor(timeoutSeconds: 15) { $0.contains { $0.content.contains(alarmID) } }
        let card = cards.first { $0.content.contains(alarmID) }?.content ?? ""
        #expect(card.contains("baotou-steel") && card.contains("co-1"), "\(card)")
        #expect(card.contains("令10 第四条(六)") && card.contains("https://duty.plant.example/"), "\(card)")
        #expect(ding.all.allSatisfy { $0.code == 0 }, "DingTalk accepted every post: \(ding.all.map(\.code))")

        // Everything a person or another program can read.
        var outputs: [(String, String)] = []
        for path in ["/api/alarms?state=all", "/api/alarms/\(alarmID)", "/api/status", "/api/signals", "/api/equipment?state=out-of-service",
                     "/metrics", "/readyz"] {
            outputs.append(("GET \(path)", try await call("GET", h.api + path).body))
        }
        let stream = try await sse(h.api + "/api/events", lastEventID: 0) { $0.count >= 3 }
        outputs.append(("SSE", stream.map(\.data).joined(separator: "\n")))
        outputs.append(("webhook bodies", h.receiver.accepted.map(\.text).joined(separator: "\n")))
        #expect(h.daemon.stop() == 0)
        outputs.append(("daemon log", h.daemon.output))
        let journal = h.directory.appendingPathComponent("journal").path
        let files = FileManager.default.enumerator(atPath: journal)?.compactMap { $0 as? String } ?? []
        #expect(files.contains { $0.hasSuffix(".cursor") } && files.count > 3, "the journal, outbox and cursors are all read: \(files)")
        for f in files {
            guard let data = FileManager.default.contents(atPath: journal + "/" + f) else { continue }
            outputs.append(("file journal/\(f)", String(decoding: data, as: UTF8.self)))
        }
        for (name, text) in outputs {
            for (what, secret) in [("robot URL token", robotToken), ("operator token", operatorToken), ("webhook signing secret", h.secret),
                                   ("DingTalk robot token", ding.token), ("DingTalk signing secret", dingSecret)] {
                let leaked = text.contains(secret)  // not in the expectation: binary files would flood its message
                #expect(!leaked, "\(what) in the clear in \(name)")
            }
        }
    }
}
