import Foundation
import Logging
import MeltWatchCore
import MeltWatchTestKit
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

    @Test("every endpoint gets every event in order; failures are retried with the same event id and body")
    func deliversInOrderWithRetries() async throws {
        let flaky = try await WebhookReceiver(failFirst: 3)
        let healthy = try await WebhookReceiver()
        defer { flaky.stop(); healthy.stop() }
        let dispatcher = WebhookDispatcher(
            endpoints: [WebhookEndpoint(url: flaky.url, secret: nil), WebhookEndpoint(url: healthy.url, secret: Array("s".utf8))],
            policy: RetryPolicy(initial: .milliseconds(20), maximum: .milliseconds(100)),
            logger: Logger(label: "test")
        )
        let run = Task { try await dispatcher.run() }
        let sent = (1...5).flatMap { n in [event(n, 1), event(n, 2, .cleared)] }
        for e in sent { dispatcher.submit(e) }
        let a = await flaky.waitFor { $0.count == sent.count }
        let b = await healthy.waitFor { $0.count == sent.count }
        #expect(a.map { $0.headers["idempotency-key"] } == sent.map(\.event.eventID))
        #expect(b.map { $0.headers["idempotency-key"] } == sent.map(\.event.eventID))
        #expect(a.allSatisfy { $0.headers["x-meltwatch-signature"] == nil })
        #expect(b.allSatisfy { $0.headers["x-meltwatch-signature"]?.hasPrefix("t=") == true })
        #expect(flaky.all.count == sent.count + 3)
        #expect(flaky.all.prefix(4).allSatisfy { $0.headers["idempotency-key"] == sent[0].event.eventID && $0.text == sent[0].body })
        #expect(await drained(dispatcher))
        #expect(dispatcher.failures == 3)
        run.cancel()
    }

    @Test("an endpoint that refuses connections keeps the event pending, and it arrives once the endpoint is up")
    func survivesReceiverOutage() async throws {
        let port = try freeLoopbackPort()
        let dispatcher = WebhookDispatcher(
            endpoints: [WebhookEndpoint(url: "http://127.0.0.1:\(port)/alarms", secret: nil)],
            policy: RetryPolicy(initial: .milliseconds(20), maximum: .milliseconds(200)),
            logger: Logger(label: "test")
        )
        let run = Task { try await dispatcher.run() }
        defer { run.cancel() }
        dispatcher.submit(event(1, 1))
        try await Task.sleep(for: .milliseconds(300))
        #expect(dispatcher.pending == 1)   // AsyncHTTPClient keeps retrying the connect within the request timeout
        let receiver = try await WebhookReceiver(port: port)
        defer { receiver.stop() }
        let got = await receiver.waitFor { !$0.isEmpty }
        #expect(got.map { $0.headers["idempotency-key"] } == ["p:e:co-level-1:1:1"])
        #expect(await drained(dispatcher))
    }
}

/// Waits (up to 10 s) until the dispatcher has nothing pending. A receiver records a request before
/// it answers, and the dispatcher counts the event delivered only once it has read the answer, so
/// right after a receiver saw the last request `pending` may still lag by one under load.
private func drained(_ dispatcher: WebhookDispatcher) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(10)
    while dispatcher.pending != 0, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
    return dispatcher.pending == 0
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
