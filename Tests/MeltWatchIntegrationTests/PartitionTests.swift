import Foundation
import MeltWatchTestKit
import Testing

extension Tag {
    /// Needs root and network namespaces of its own (`ip netns`); slow (a 40 s partition). Skip it
    /// under sanitizers with `--skip PartitionTests`.
    @Tag static var networkNamespaces: Self
}

/// A silent network partition between the daemon and the broker, end to end: the real mosquitto
/// and gateway simulator in namespace B, the real `meltwatch` daemon and a webhook receiver in
/// namespace A, one veth pair between them. The partition takes B's end down: no RST, no FIN
/// reaches the daemon, its TCP connection just stops carrying anything — what a failed switch, a
/// pulled cable or a firewall dropping state looks like from the daemon's side.
///
/// What the duty room must see (contract §4, domain.md "One cause, one alarm"): `broker-lost`
/// promptly (the plants are not monitored), never a storm of per-signal `stale` alarms that
/// `broker-lost` explains; after the heal, the backlog the broker queued for the persistent session
/// evaluated on its own event times (the leak during the partition raised at the leak's time), and
/// nothing lost.
@Suite(.serialized, .tags(.networkNamespaces), .timeLimit(.minutes(4)))
struct PartitionTests {
    /// The simulator's run (simulated = real seconds): the leak begins at t=10 s and ends at t=30 s.
    static let simulatedSeconds = 60
    static let cutAt: Int64 = 5_000          // ms after the simulator's t=0
    static let cutFor: Int64 = 40_000        // ms: the partition's length (a requirement, not a wait)
    static let brokerLostWithin: Int64 = 15_000
    static let noStaleUntilAfterHeal: Int64 = 20_000
    /// How long after the heal the backlog may take: a pending connect is abandoned after one keepalive
    /// (5 s) and the reconnect backoff is capped at 5 s, then the broker sends what it queued.
    static let recoverWithin: Int64 = 20_000
    static let leakStart: Int64 = 10_000     // co-leak: 40 ppm from t=10 s
    static let eventTimeTolerance: Int64 = 1_500

    @Test("a silent 40 s partition: broker-lost within 15 s, no stale storm, the queued backlog evaluated on event time, nothing lost")
    func silentPartition() async throws {
        guard geteuid() == 0 else {
            Issue.record("PartitionTests needs root to create network namespaces (ip netns add); running as euid \(geteuid())")
            return
        }
        let net: NamespacePair
        do {
            net = try NamespacePair()
        } catch {
            Issue.record("cannot set up the test's network namespaces and veth pair: \(error)")
            return
        }
        let dir = try temporaryDirectory(prefix: "partition")
        var broker: MosquittoBroker?
        var receiver: FileWebhookReceiver?
        var daemon: ProductProcess?
        var sim: ProductProcess?
        defer {
            // Always: whatever happened, nothing of this test is left running and no namespace is left.
            daemon?.stop(timeoutSeconds: 5)
            net.teardown()
            sim?.stop(signal: SIGKILL, timeoutSeconds: 5)
            receiver?.stop()
            broker?.stop()
            try? FileManager.default.removeItem(at: dir)
        }

        // B: the broker (on B's veth address and B's loopback) and, later, the gateway.
        let brokerPort = Int.random(in: 20_000...29_999)
        broker = try MosquittoBroker(port: brokerPort, listenHosts: [net.bAddress, "127.0.0.1"], wrapper: net.b.exec)
        // A: the webhook receiver and the daemon, which reaches the broker only over the veth pair.
        let receiverPort = Int.random(in: 30_000...39_999)
        let dutyPort = Int.random(in: 40_000...49_999)
        receiver = try FileWebhookReceiver(port: receiverPort, directory: dir, wrapper: net.a.exec)
        let secret = "partition-secret-\(UUID().uuidString)"
        try secret.write(toFile: dir.path + "/duty.secret", atomically: true, encoding: .utf8)
        let journalDir = dir.path + "/journal"
        let configPath = dir.path + "/meltwatch.yaml"
        try """
        broker:
          url: \(broker!.url(host: net.bAddress))
          client_id: meltwatch-partition-\(net.suffix)
          qos: 1
        journal:
          dir: \(journalDir)
        duty:
          listen: 127.0.0.1:\(dutyPort)
          webhooks:
            - url: \(receiver!.url)
              secret_file: \(dir.path)/duty.secret
          heartbeat_s: 3600

        """.appending(Harness.defaultPlants).write(toFile: configPath, atomically: true, encoding: .utf8)

        daemon = try ProductProcess("meltwatch", arguments: ["run", "--config", configPath],
                                    logFile: dir.appendingPathComponent("daemon.log"), wrapper: net.a.exec)
        let readyz = "http://127.0.0.1:\(dutyPort)/readyz"
        let ready = await poll(timeoutSeconds: 30) { net.a.httpGet(readyz)?.status == 200 }
        guard ready, daemon!.isRunning else {
            Issue.record("the daemon in \(net.a.name) did not become ready (\(readyz)):\n\(tail(daemon!.output, 60))\nbroker:\n\(tail(broker!.log, 30))")
            return
        }

        // T0: the gateway starts; its t=0 is the wall clock when it starts publishing.
        sim = try ProductProcess("meltwatch-sim", arguments: [
            "--broker", broker!.url(host: "127.0.0.1"), "--config", configPath, "--scenario", "co-leak",
            "--rate", "5", "--duration", String(Self.simulatedSeconds), "--seed", "7",
        ], logFile: dir.appendingPathComponent("sim.log"), wrapper: net.b.exec)
        var announcedOrigin: Int64?
        _ = await poll(timeoutSeconds: 15) {
            announcedOrigin = Self.simOrigin(sim!.output)
            return announcedOrigin != nil || !sim!.isRunning
        }
        guard let origin = announcedOrigin else {
            Issue.record("the simulator did not start:\n\(sim!.output)")
            return
        }

        // The partition, at T0+5 s, for 40 s. The leak (T0+10..30 s) happens during it: the gateway
        // keeps publishing to the broker, which queues for the daemon's persistent session.
        await sleep(until: origin + Self.cutAt)
        try net.cut()
        let cutTime = nowMs()
        print("PartitionTests: link \(net.bDevice) down at T0+\(cutTime - origin) ms")
        await sleep(until: cutTime + Self.cutFor)
        try net.heal()
        let healTime = nowMs()
        print("PartitionTests: link \(net.bDevice) up at T0+\(healTime - origin) ms (cut for \(healTime - cutTime) ms)")

        // After the heal: the backlog, the alarms it raises, broker-lost cleared; at least until the
        // no-stale window has passed and the gateway has finished.
        let metrics = "http://127.0.0.1:\(dutyPort)/metrics"
        var published: Int?
        var received = 0
        let postHealConditions: @Sendable ([FileWebhookReceiver.Line]) -> Bool = { lines in
            lines.contains { $0.rule == "co-level-1" && $0.kind == "raised" }
                && lines.contains { $0.rule == "co-level-2" && $0.kind == "raised" }
                && lines.contains { $0.rule == "broker-lost" && $0.kind == "cleared" }
        }
        _ = await poll(timeoutSeconds: Double(healTime + Self.recoverWithin - nowMs()) / 1000, interval: .milliseconds(250)) {
            if published == nil, !sim!.isRunning { published = Self.simPublished(sim!.output) }
            if let body = net.a.httpGet(metrics)?.body { received = Self.metric("meltwatch_messages_received_total", in: body) ?? received }
            let windowOver = nowMs() >= healTime + Self.noStaleUntilAfterHeal
            let drained = published.map { received >= $0 } ?? false
            return windowOver && drained && postHealConditions(receiver!.lines)
        }
        if published == nil, sim!.waitForExit(timeoutSeconds: 15) != nil { published = Self.simPublished(sim!.output) }
        let lines = receiver!.lines
        let metricsText = net.a.httpGet(metrics)?.body ?? "(no /metrics)"

        // The journal, read after a clean stop (SIGTERM: flush, then exit 0).
        let daemonStatus = daemon!.stop(timeoutSeconds: 15)
        let export = try ProductProcess("meltwatch", arguments: ["journal", "export", journalDir, "--format", "jsonl"],
                                        logFile: dir.appendingPathComponent("export.jsonl"))
        let exportStatus = export.waitForExit(timeoutSeconds: 60)
        let journal = Self.journalMessages(export.output)

        // ---- What happened, always printed: the figures the assertions are about.
        let lostRaised = lines.first { $0.rule == "broker-lost" && $0.kind == "raised" }
        let lostCleared = lines.first { $0.rule == "broker-lost" && $0.kind == "cleared" }
        let staleInWindow = lines.filter { $0.rule == "stale" && $0.receivedMilliseconds >= cutTime
            && $0.receivedMilliseconds <= healTime + Self.noStaleUntilAfterHeal }
        let staleAll = lines.filter { $0.rule == "stale" }
        let level1 = lines.first { $0.rule == "co-level-1" && $0.kind == "raised" }
        let level2 = lines.first { $0.rule == "co-level-2" && $0.kind == "raised" }
        let level1Time = (level1?.event["event_time"] as? String).flatMap(Self.parseRFC3339)
        let simTopics = journal.filter { Self.isSimTopic($0.topic) }
        let unique = Set(simTopics.map { "\($0.topic)\u{0}\($0.payload)" })
        let gaps = Self.eventTimeGaps(simTopics.filter { $0.topic.hasPrefix("plants/baotou-steel/co-1") })
        var summary = """
        PartitionTests (namespaces \(net.a.name) / \(net.b.name), \(net.aAddress) ↔ \(net.bAddress)):
          T0 (sim t=0) = \(origin); cut at T0+\(cutTime - origin) ms, healed at T0+\(healTime - origin) ms
          broker-lost raised: \(lostRaised.map { "received \($0.receivedMilliseconds - cutTime) ms after the cut" } ?? "never")
          broker-lost cleared: \(lostCleared.map { "received \($0.receivedMilliseconds - healTime) ms after the heal" } ?? "never")
          stale events: \(staleInWindow.count) between the cut and heal+\(Self.noStaleUntilAfterHeal / 1000) s, \(staleAll.count) in all
        """
        for line in staleAll.prefix(20) {
            summary += "\n    \(line.kind ?? "?") \(line.event["equipment"] as? String ?? "?") \(line.event["signals"] as? [String] ?? []) "
                + "received cut+\(line.receivedMilliseconds - cutTime) ms, event_time \(line.event["event_time"] as? String ?? "?")"
        }
        summary += """

          co-level-1 raised: \(level1.map { "event_time \($0.event["event_time"] as? String ?? "?") (\(level1Time.map { "\($0 - origin - Self.leakStart) ms from the leak" } ?? "unparsed")), received heal+\($0.receivedMilliseconds - healTime) ms" } ?? "never")
          co-level-2 raised: \(level2.map { "event_time \($0.event["event_time"] as? String ?? "?"), received heal+\($0.receivedMilliseconds - healTime) ms" } ?? "never")
          sim published \(published.map(String.init) ?? "?") messages; journal: \(simTopics.count) of its messages (\(unique.count) distinct, \(simTopics.count - unique.count) redelivered); daemon counted \(received) received
          co-1 event-time gaps > 1 s in receive order: \(gaps.isEmpty ? "none" : gaps.prefix(10).map { "\($0.topic) \($0.from)→\($0.to) (\($0.to - $0.from) ms)" }.joined(separator: "; "))
          every webhook event: \(lines.map { "\($0.rule ?? "?")/\($0.kind ?? "?")@\($0.receivedMilliseconds - origin)" }.joined(separator: " "))
          daemon exit \(daemonStatus.map(String.init) ?? "none (killed)"), export exit \(exportStatus.map(String.init) ?? "timeout")
        """
        print(summary)

        // ---- The assertions.
        var ok = true
        func check(_ condition: Bool, _ comment: String, sourceLocation: SourceLocation = #_sourceLocation) {
            if !condition { ok = false }
            #expect(condition, Comment(rawValue: comment), sourceLocation: sourceLocation)
        }
        // 1. broker-lost promptly.
        check(lostRaised.map { $0.receivedMilliseconds - cutTime <= Self.brokerLostWithin } ?? false,
              "broker-lost raised must reach the duty room within \(Self.brokerLostWithin / 1000) s of the cut; "
                + (lostRaised.map { "it came \($0.receivedMilliseconds - cutTime) ms after" } ?? "it never came"))
        // 2. No stale storm that broker-lost explains.
        check(staleInWindow.isEmpty, "no stale alarm event between the cut and \(Self.noStaleUntilAfterHeal / 1000) s after the heal; got \(staleInWindow.count)")
        // 3. The backlog on its own event times.
        check(level1Time.map { abs($0 - (origin + Self.leakStart)) <= Self.eventTimeTolerance } ?? false,
              "co-level-1 raised at the leak's start T0+10 s (±\(Self.eventTimeTolerance) ms): \(level1?.event["event_time"] as? String ?? "never raised")")
        check(level2 != nil, "co-level-2 raised after the heal")
        check(lostCleared.map { $0.receivedMilliseconds >= healTime } ?? false, "broker-lost cleared after the heal")
        // 4. Nothing lost.
        check(exportStatus == 0, "meltwatch journal export exits 0 (got \(exportStatus.map(String.init) ?? "timeout"))")
        check(published != nil, "the simulator reports how many messages it published")
        if let published {
            check(unique.count == published, "every message the gateway published is in the journal: \(unique.count) distinct of \(published)")
        }
        check(gaps.isEmpty, "no gap over 1 s in co-1's event times (receive order) across the partition: \(gaps.count) gaps")
        check(daemonStatus == 0, "the daemon stops cleanly on SIGTERM (exit \(daemonStatus.map(String.init) ?? "none"))")

        if !ok {
            print("""
            ---- PartitionTests diagnostics
            -- link:
            \(net.linkState)
            -- daemon log (tail):
            \(tail(daemon!.output, 80))
            -- broker log (tail, PUBLISH traffic left out):
            \(tail(broker!.log.split(separator: "\n").filter { !$0.contains("PUBLISH") && !$0.contains("PUBACK") }.joined(separator: "\n"), 60))
            -- simulator log:
            \(tail(sim!.output, 30))
            -- receiver (\(lines.count) requests):
            \(lines.map(\.text).joined(separator: "\n"))
            -- receiver log:
            \(tail(receiver!.log, 20))
            -- daemon /metrics (meltwatch_ lines):
            \(metricsText.split(separator: "\n").filter { $0.hasPrefix("meltwatch_") && !$0.contains("_bucket") }.joined(separator: "\n"))
            ----
            """)
        }
    }

    // MARK: - Helpers

    /// The simulator's "time origin: t=0 is ts N" line.
    static func simOrigin(_ log: String) -> Int64? {
        guard let range = log.range(of: "time origin: t=0 is ts ") else { return nil }
        return Int64(log[range.upperBound...].prefix { $0.isNumber })
    }

    /// The simulator's "done: N messages published" line.
    static func simPublished(_ log: String) -> Int? {
        guard let range = log.range(of: "done: ") else { return nil }
        let rest = log[range.upperBound...]
        guard rest.drop { $0.isNumber }.hasPrefix(" messages published") else { return nil }
        return Int(rest.prefix { $0.isNumber })
    }

    /// One Prometheus sample's value (summed over its label sets).
    static func metric(_ name: String, in text: String) -> Int? {
        let values = text.split(separator: "\n").filter { $0.hasPrefix(name + " ") || $0.hasPrefix(name + "{") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
        return values.isEmpty ? nil : Int(values.reduce(0, +))
    }

    /// The topics the simulator publishes for Harness.defaultPlants.
    static func isSimTopic(_ topic: String) -> Bool {
        topic.hasPrefix("plants/baotou-steel/") || topic == "site/bof1/lance/FT101"
    }

    struct JournalMessage { var topic: String; var payload: String }

    /// `meltwatch journal export --format jsonl` lines, in journal (receive) order.
    static func journalMessages(_ export: String) -> [JournalMessage] {
        export.split(separator: "\n").compactMap { line in
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
                  let topic = object["topic"] as? String, let payload = object["payload"] as? String else { return nil }
            return JournalMessage(topic: topic, payload: payload)
        }
    }

    /// Per topic, in receive order (duplicates from redelivery left out): consecutive event times
    /// more than 1 s apart.
    static func eventTimeGaps(_ messages: [JournalMessage]) -> [(topic: String, from: Int64, to: Int64)] {
        var last: [String: Int64] = [:]
        var seen = Set<String>()
        var gaps: [(topic: String, from: Int64, to: Int64)] = []
        for m in messages where seen.insert("\(m.topic)\u{0}\(m.payload)").inserted {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(m.payload.utf8))) as? [String: Any],
                  let ts = (object["ts"] as? NSNumber)?.int64Value else { continue }
            if let previous = last[m.topic], ts - previous > 1_000 { gaps.append((m.topic, previous, ts)) }
            last[m.topic] = ts
        }
        return gaps
    }

    static func parseRFC3339(_ text: String) -> Int64? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: text) { return Int64((d.timeIntervalSince1970 * 1000).rounded()) }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: text).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
    }
}

private func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

/// Sleeps until the wall clock reads `milliseconds` (a point of the test's timeline, not a wait for
/// something that could be polled).
private func sleep(until milliseconds: Int64) async {
    let remaining = milliseconds - nowMs()
    if remaining > 0 { try? await Task.sleep(for: .milliseconds(remaining)) }
}

/// Polls `condition` until it holds or the timeout passes; whether it held.
private func poll(timeoutSeconds: Double, interval: Duration = .milliseconds(100), _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(timeoutSeconds)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return condition()
}

/// The last `count` lines of `text`.
private func tail(_ text: String, _ count: Int) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).suffix(count).joined(separator: "\n")
}
