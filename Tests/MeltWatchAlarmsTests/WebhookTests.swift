import Foundation
import Logging
import MeltWatchCore
import MeltWatchTestKit
import NIOConcurrencyHelpers
import Testing

@testable import MeltWatchAlarms

private func event(_ n: Int, _ k: Int, _ kind: AlarmEvent.Kind = .raised) -> AlarmEnvelope {
    AlarmEnvelope(event: AlarmEvent(
        kind: kind, state: .activeUnacked, alarmClass: .process, rule: "co-level-1", priority: .high,
        plant: "p", equipment: "e", activation: n, ordinal: k, signals: ["co"], value: 30, limit: 24, unit: "ppm",
        basis: "令10 第四条(六)", message: "一氧化碳", eventTime: EventTime(milliseconds: 1000 * Int64(n * 10 + k)), configHash: "sha256:x"
    ), emittedAt: EventTime(milliseconds: 0))
}

@Suite("Webhook signature and delivery")
struct WebhookTests {
    @Test("signature: t=<seconds>,v1=<hex HMAC-SHA256(secret, t.body)>, verified in constant time, with a replay window")
    func signature() {
        let body = Array(#"{"a":1}"#.utf8)
        let secret = Array("k".utf8)
        let header = WebhookSignature.header(body: body, secret: secret, timestamp: 1_700_000_000)
        // Reference value computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac k
        #expect(header == "t=1700000000,v1=" + referenceHMAC)
        #expect(WebhookSignature.verify(header: header, body: body, secret: secret, now: 1_700_000_100))
        #expect(!WebhookSignature.verify(header: header, body: body, secret: secret, now: 1_700_000_400))   // too old
        #expect(!WebhookSignature.verify(header: header, body: body, secret: Array("K".utf8), now: 1_700_000_000))
        #expect(!WebhookSignature.verify(header: "t=1700000000", body: body, secret: secret, now: 1_700_000_000))
    }

    @Test("every channel gets every event in order; failures (4xx too) are retried with the same event id and body")
    func deliversInOrderWithRetries() async throws {
        let flaky = try await WebhookReceiver()
        flaky.failNext(2, status: 500)
        let picky = try await WebhookReceiver()
        picky.failNext(2, status: 400)
        defer { flaky.stop(); picky.stop() }
        let rig = try Rig(channels: [WebhookChannel(endpoint: WebhookEndpoint(url: flaky.url, secret: nil)),
                                     WebhookChannel(endpoint: WebhookEndpoint(url: picky.url, secret: Array("s".utf8)))])
        let run = Task { try await rig.delivery.run() }
        let sent = rig.append((1...5).flatMap { n in [event(n, 1), event(n, 2, .cleared)] })
        let a = await flaky.waitFor { $0.count == sent.count }
        let b = await picky.waitFor { $0.count == sent.count }
        #expect(a.map { $0.headers["idempotency-key"] } == sent.map(\.event.eventID))
        #expect(b.map { $0.headers["idempotency-key"] } == sent.map(\.event.eventID))
        #expect(a.allSatisfy { $0.headers["x-meltwatch-signature"] == nil })
        #expect(b.allSatisfy { $0.headers["x-meltwatch-signature"]?.hasPrefix("t=") == true })
        #expect(flaky.all.prefix(3).allSatisfy { $0.headers["idempotency-key"] == sent[0].event.eventID && $0.text == sent[0].body })
        #expect(picky.all.prefix(3).allSatisfy { $0.headers["idempotency-key"] == sent[0].event.eventID && $0.text == sent[0].body })
        #expect(await drained(rig.delivery))
        #expect(rig.delivery.failures == 4)
        #expect(rig.alarms.isEmpty)
        run.cancel()
    }

    @Test("an endpoint that refuses connections keeps the event pending; it arrives once the endpoint is up")
    func survivesReceiverOutage() async throws {
        let port = try freeLoopbackPort()
        let rig = try Rig(channels: [WebhookChannel(endpoint: WebhookEndpoint(url: "http://127.0.0.1:\(port)/alarms", secret: nil),
                                                    requestTimeout: .milliseconds(300))])
        let run = Task { try await rig.delivery.run() }
        defer { run.cancel() }
        rig.append([event(1, 1)])
        try await Task.sleep(for: .milliseconds(300))
        #expect(rig.delivery.pending == 1)
        let receiver = try await WebhookReceiver(port: port)
        defer { receiver.stop() }
        let got = await receiver.waitFor { !$0.isEmpty }
        #expect(got.map { $0.headers["idempotency-key"] } == ["p:e:co-level-1:1:1"])
        #expect(await drained(rig.delivery))
    }

    @Test("an endpoint that does not answer within the request timeout gets the same event again, and it arrives")
    func timeoutIsRetried() async throws {
        let receiver = try await WebhookReceiver()
        receiver.hangNext(2, milliseconds: 1500)
        defer { receiver.stop() }
        let rig = try Rig(channels: [WebhookChannel(endpoint: WebhookEndpoint(url: receiver.url, secret: nil), requestTimeout: .milliseconds(300))])
        let run = Task { try await rig.delivery.run() }
        defer { run.cancel() }
        rig.append([event(1, 1), event(1, 2, .cleared)])
        let got = await receiver.waitFor { $0.count == 2 }
        #expect(got.map { $0.headers["idempotency-key"] } == ["p:e:co-level-1:1:1", "p:e:co-level-1:1:2"])
        #expect(receiver.all.prefix(3).map(\.status) == [599, 599, 204])
        #expect(receiver.all.prefix(3).allSatisfy { $0.headers["idempotency-key"] == "p:e:co-level-1:1:1" })
        #expect(await drained(rig.delivery))
    }

    @Test("a channel failing longer than the limit raises webhook-failing once, and clears it when it delivers again")
    func failingEndpointRaisesSystemAlarm() async throws {
        let receiver = try await WebhookReceiver()
        receiver.failNext(1_000_000, status: 503)
        defer { receiver.stop() }
        let rig = try Rig(channels: [WebhookChannel(endpoint: WebhookEndpoint(url: receiver.url, secret: nil))], failingAfter: .milliseconds(200))
        let run = Task { try await rig.delivery.run() }
        defer { run.cancel() }
        rig.append([event(1, 1)])
        #expect(await rig.waitForAlarms { $0.count == 1 })
        #expect(rig.alarms.first.map { "\($0.rule) \($0.raise) \($0.subject)" } == "webhook-failing true webhook#1")
        receiver.failNext(0)
        #expect(await rig.waitForAlarms { $0.count == 2 })
        #expect(rig.alarms.last.map { "\($0.rule) \($0.raise)" } == "webhook-failing false")
        #expect(await drained(rig.delivery))
    }

    @Test("HTTP 410: the endpoint is disabled (webhook-disabled), the event stays undelivered there, others go on")
    func goneEndpointIsDisabled() async throws {
        let gone = try await WebhookReceiver()
        gone.failNext(1_000_000, status: 410)
        let healthy = try await WebhookReceiver()
        defer { gone.stop(); healthy.stop() }
        let rig = try Rig(channels: [WebhookChannel(endpoint: WebhookEndpoint(url: gone.url, secret: nil)),
                                     WebhookChannel(endpoint: WebhookEndpoint(url: healthy.url, secret: nil))])
        let run = Task { try await rig.delivery.run() }
        defer { run.cancel() }
        rig.append([event(1, 1), event(1, 2, .cleared)])
        #expect(await rig.waitForAlarms { !$0.isEmpty })
        #expect(rig.alarms.map { "\($0.rule) \($0.raise) \($0.subject)" } == ["webhook-disabled true webhook#1"])
        _ = await healthy.waitFor { $0.count == 2 }
        try await Task.sleep(for: .milliseconds(200))
        #expect(gone.all.count == 1)   // one attempt, then never again
        #expect(rig.delivery.pending == 2)
    }

    @Test("a cursor kept under the webhook's URL (before issue 19) is adopted under its digest and its file removed: nothing redelivered, no URL on disk")
    func adoptsLegacyCursor() async throws {
        let receiver = try await WebhookReceiver()
        defer { receiver.stop() }
        let dir = try temporaryDirectory()
        let url = receiver.url + "?access_token=robot-secret-0123"
        let legacy = "\(dir)/\(String(FNV1a.hash(url), radix: 16)).cursor"
        try "3\n\(url)\n".write(toFile: legacy, atomically: true, encoding: .utf8)
        let channel = WebhookChannel(endpoint: WebhookEndpoint(url: url, secret: nil), index: 2)
        #expect(channel.name == "webhook#2" && !channel.cursorKey.contains("robot-secret"))
        #expect(AlarmDelivery.lowestCursor(channels: [channel], cursorDirectory: dir) == 3, "peeked, not moved")
        let rig = try Rig(channels: [channel], cursorDirectory: dir)
        rig.log.append((1...5).map { StoredEvent(sequence: Int64($0), envelope: event($0, 1)) })
        let run = Task { try await rig.delivery.run() }
        defer { run.cancel() }
        let got = await receiver.waitFor { $0.count == 2 }
        #expect(got.map { $0.headers["idempotency-key"]! } == ["p:e:co-level-1:4:1", "p:e:co-level-1:5:1"])
        #expect(!FileManager.default.fileExists(atPath: legacy))
        let files = try FileManager.default.contentsOfDirectory(atPath: dir)
        for f in files { #expect(!(try String(contentsOfFile: "\(dir)/\(f)", encoding: .utf8)).contains("robot-secret"), "\(f)") }
    }

    @Test("cursors survive a restart: a new service delivers only what the last one did not")
    func resumesFromCursor() async throws {
        let receiver = try await WebhookReceiver()
        defer { receiver.stop() }
        let dir = try temporaryDirectory()
        let channel = WebhookChannel(endpoint: WebhookEndpoint(url: receiver.url, secret: nil))
        let first = try Rig(channels: [channel], cursorDirectory: dir)
        let run1 = Task { try await first.delivery.run() }
        let events = first.append([event(1, 1), event(1, 2), event(2, 1)])
        _ = await receiver.waitFor { $0.count == 3 }
        #expect(await drained(first.delivery))
        run1.cancel()
        _ = try? await run1.value
        #expect(AlarmDelivery.lowestCursor(channels: [channel], cursorDirectory: dir) == 3)

        let second = try Rig(channels: [channel], cursorDirectory: dir)
        second.log.append(events.enumerated().map { StoredEvent(sequence: Int64($0.offset + 1), envelope: $0.element) }
            + [StoredEvent(sequence: 4, envelope: event(2, 2)), StoredEvent(sequence: 5, envelope: event(3, 1))])
        let run2 = Task { try await second.delivery.run() }
        defer { run2.cancel() }
        let got = await receiver.waitFor { $0.count == 5 }
        #expect(got.map { $0.headers["idempotency-key"]! } == ["p:e:co-level-1:1:1", "p:e:co-level-1:1:2", "p:e:co-level-1:2:1",
                                                                 "p:e:co-level-1:2:2", "p:e:co-level-1:3:1"])
    }

    @Test("an idle channel gets heartbeat events with their own ids")
    func heartbeats() async throws {
        let receiver = try await WebhookReceiver()
        defer { receiver.stop() }
        let rig = try Rig(channels: [WebhookChannel(endpoint: WebhookEndpoint(url: receiver.url, secret: nil))], heartbeat: .milliseconds(300))
        let run = Task { try await rig.delivery.run() }
        defer { run.cancel() }
        let got = await receiver.waitFor { $0.count >= 2 }
        #expect(got.prefix(2).map { $0.json["event"] as? String } == ["heartbeat", "heartbeat"])
        #expect(got.prefix(2).map { $0.headers["idempotency-key"]! } == ["meltwatch:daemon:heartbeat:1700000000:1", "meltwatch:daemon:heartbeat:1700000000:2"])
    }
}

/// A delivery service over an in-memory log, recording the system alarms it raises.
final class Rig: Sendable {
    let log = EventLog()
    let delivery: AlarmDelivery
    private let raised = RaisedAlarms()

    init(channels: [any DeliveryChannel], cursorDirectory: String? = nil, failingAfter: Duration = .seconds(60),
         heartbeat: Duration? = nil) throws {
        let raised = self.raised
        delivery = try AlarmDelivery(
            channels: channels, log: log, cursorDirectory: try cursorDirectory ?? temporaryDirectory(),
            policy: RetryPolicy(initial: .milliseconds(20), maximum: .milliseconds(100), requestTimeout: .seconds(2)),
            heartbeat: heartbeat, heartbeatEvent: HeartbeatSource(boot: 1_700_000_000, configHash: "sha256:x", clock: { EventTime(milliseconds: 0) }),
            failingAlarmAfter: failingAfter, logger: Logger(label: "test"),
            systemAlarm: { rule, raise, subject, _ in raised.list.withLockedValue { $0.append((rule, raise, subject)) } }
        )
    }

    var alarms: [(rule: String, raise: Bool, subject: String)] { raised.list.withLockedValue { $0 } }

    /// Appends events as the outbox would, numbered on from the log's last.
    @discardableResult
    func append(_ envelopes: [AlarmEnvelope]) -> [AlarmEnvelope] {
        let base = log.lastSequence
        log.append(envelopes.enumerated().map { StoredEvent(sequence: base + Int64($0.offset) + 1, envelope: $0.element) })
        return envelopes
    }

    func waitForAlarms(_ predicate: ([(rule: String, raise: Bool, subject: String)]) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            if predicate(alarms) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}

final class RaisedAlarms: Sendable {
    let list = NIOLockedValueBox<[(rule: String, raise: Bool, subject: String)]>([])
}

func temporaryDirectory() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meltwatch-delivery-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Waits (up to 10 s) until nothing is pending. A receiver records a request before it answers, and
/// the service counts the event delivered only once it has read the answer, so right after a
/// receiver saw the last request `pending` may still lag by one under load.
func drained(_ delivery: AlarmDelivery) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(10)
    while delivery.pending != 0, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
    return delivery.pending == 0
}

private let referenceHMAC: String = {
    // Computed at test time with the system's openssl so the expected value is independent of our code.
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", "printf '%s' '1700000000.{\"a\":1}' | openssl dgst -sha256 -hmac k | sed 's/.*= //'"]
    let out = Pipe()
    p.standardOutput = out
    try? p.run()
    p.waitUntilExit()
    return String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}()
