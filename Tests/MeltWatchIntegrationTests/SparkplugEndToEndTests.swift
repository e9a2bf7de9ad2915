import Foundation
import MeltWatchCore
import MeltWatchMQTT
import MeltWatchSparkplug
import MeltWatchTestKit
import Testing

/// MeltWatch as a Sparkplug B host application (contract §3), against the real broker and daemon:
/// births, aliases, `seq`, rebirth requests, deaths, STATE, and a restart the edge node never notices.
@Suite("Sparkplug B end to end: an edge node, mosquitto and meltwatch", .serialized)
struct SparkplugEndToEndTests {
    static let group = "Baotou"
    static let hostID = "mw-test"

    /// Two CO detectors, devices CO1 and CO2 of edge node EON-1; stale after 30 s (longer than any
    /// step here: a stale seen here came from a death, not from the clock).
    static let plants = """
    sparkplug: { host_id: \(hostID) }
    plants:
      - id: baotou-steel
        name: 包头钢铁 一炼钢
        gateways:
          - { format: sparkplug-b, group_id: \(group), reorder_timeout_ms: 500 }
        equipment:
          - id: co-1
            template: steel.co-detector
            params: { preset: gb6222, stale_after_s: 30 }
            sparkplug: { edge: EON-1, device: CO1 }
          - id: co-2
            template: steel.co-detector
            params: { preset: gb6222, stale_after_s: 30 }
            sparkplug: { edge: EON-1, device: CO2 }

    """

    /// A hand-driven edge node on its own connection; everything it is sent (NCMD, STATE) is kept.
    final class Edge: @unchecked Sendable {
        let client: Publisher
        private let lock = NSLock()
        private var received: [MQTTMessage] = []
        var seq: UInt64 = 0

        init(_ h: Harness) throws {
            client = try Publisher(address: BrokerAddress(host: "127.0.0.1", port: Int32(h.broker.port)), clientID: "eon-1-\(UUID().uuidString.prefix(6))")
            try client.subscribe("spBv1.0/\(SparkplugEndToEndTests.group)/NCMD/EON-1") { [self] m in lock.withLock { received.append(m) } }
            try client.subscribe("spBv1.0/STATE/\(SparkplugEndToEndTests.hostID)") { [self] m in lock.withLock { received.append(m) } }
        }

        var rebirthRequests: Int {
            lock.withLock { received.filter { $0.topic.contains("/NCMD/") && SparkplugPayloads.isRebirthRequest($0.payload) }.count }
        }

        var states: [String] { lock.withLock { received.filter { $0.topic.contains("STATE") }.map { String(decoding: $0.payload, as: UTF8.self) } } }

        func send(_ type: SparkplugMessageType, device: String? = nil, _ payload: [UInt8]) throws {
            try client.publish(topic: type.topic(group: SparkplugEndToEndTests.group, edge: "EON-1", device: device), payload: payload, qos: 1)
            _ = client.waitUntilAcknowledged()
        }

        func nextSeq() -> UInt64 {
            defer { seq = (seq + 1) % 256 }
            return seq
        }

        /// NBIRTH, then a DBIRTH per device with `co` (Float) at these aliases, and on CO1 `temperature`
        /// (Double, bound to nothing) when asked.
        func births(bdSeq: UInt64, at time: Int64, aliases: [String: UInt64], temperatureAlias: UInt64? = nil) throws {
            seq = 0
            try send(.nodeBirth, SparkplugPayloads.nodeBirth(timestamp: EventTime(milliseconds: time), bdSeq: bdSeq, metrics: [], seq: nextSeq()))
            for device in aliases.keys.sorted() {
                var metrics = [SparkplugMetric(name: "co", alias: aliases[device], datatype: .float, value: .number(2))]
                if device == "CO1", let t = temperatureAlias { metrics.append(SparkplugMetric(name: "temperature", alias: t, datatype: .double, value: .number(20))) }
                try send(.deviceBirth, device: device, SparkplugPayloads.deviceBirth(timestamp: EventTime(milliseconds: time), seq: nextSeq(), metrics: metrics))
            }
        }

        func data(_ device: String, alias: UInt64, _ value: Double, at time: Int64, seq: UInt64? = nil, type: SparkplugDataType = .float) throws {
            let s = seq ?? nextSeq()
            try send(.deviceData, device: device, SparkplugPayloads.data(timestamp: EventTime(milliseconds: time), seq: s,
                                                                        metrics: [SparkplugMetric(alias: alias, datatype: type, value: .number(value), sendsDatatype: false)]))
        }
    }

    /// Counts messages from libmosquitto's thread.
    final class Births: @unchecked Sendable {
        private let lock = NSLock()
        private var n = 0
        func add() { lock.withLock { n += 1 } }
        var count: Int { lock.withLock { n } }
    }

    private func events(_ h: Harness, rule: String, equipment: String) -> [[String: Any]] {
        h.receiver.accepted.map(\.json).filter { $0["rule"] as? String == rule && $0["equipment"] as? String == equipment }
    }

    private func waitFor(_ seconds: Double, _ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }

    @Test("STATE online; DATA before a birth and a seq gap ask for a rebirth; readings by alias at their own time; a new birth's aliases win; a restart keeps the session; STATE offline at the stop")
    func hostSession() async throws {
        let h = try await Harness(plants: Self.plants)
        defer { h.stop() }
        try await h.startDaemon()
        let edge = try Edge(h)
        #expect(await waitFor(5) { edge.states.contains { $0.contains("\"online\":true") } }, "retained STATE online: \(edge.states)")

        // DATA before any birth: not read, a rebirth is asked for.
        try edge.data("CO1", alias: 1, 300, at: nowMilliseconds(), seq: 7)
        #expect(await waitFor(5) { edge.rebirthRequests == 1 }, "rebirth request after DATA before BIRTH")
        let askedAt = Date()

        try edge.births(bdSeq: 0, at: nowMilliseconds(), aliases: ["CO1": 1, "CO2": 2])
        try await Task.sleep(for: .milliseconds(100))
        let t1 = nowMilliseconds() - 50
        try edge.data("CO1", alias: 1, 30, at: t1)
        #expect(await waitFor(10) { !events(h, rule: "co-level-1", equipment: "co-1").isEmpty })
        let raised = try #require(events(h, rule: "co-level-1", equipment: "co-1").first)
        #expect(raised["event_time"] as? String == rfc3339(t1), "the metric's own time: \(raised)")
        #expect(events(h, rule: "co-level-1", equipment: "co-2").isEmpty, "alias 1 is CO1's co, never CO2's")

        // A sequence gap not filled within reorder_timeout_ms: one rebirth request (the first was > 5 s ago by then).
        let wait = 5.2 - Date().timeIntervalSince(askedAt)
        if wait > 0 { try await Task.sleep(for: .seconds(wait)) }
        _ = edge.nextSeq()  // this seq never arrives
        try edge.data("CO2", alias: 2, 3, at: nowMilliseconds())
        #expect(await waitFor(5) { edge.rebirthRequests == 2 }, "rebirth after a seq gap: \(edge.rebirthRequests)")

        // The new birth moves CO1's co to alias 5 and gives alias 1 to an unbound metric.
        try edge.births(bdSeq: 1, at: nowMilliseconds(), aliases: ["CO1": 5, "CO2": 2], temperatureAlias: 1)
        try edge.data("CO1", alias: 1, 500, at: nowMilliseconds(), type: .double)
        try await Task.sleep(for: .seconds(1.5))
        #expect(events(h, rule: "co-level-2", equipment: "co-1").isEmpty, "alias 1 is now temperature, not co")
        try edge.data("CO1", alias: 5, 500, at: nowMilliseconds())
        #expect(await waitFor(10) { !events(h, rule: "co-level-2", equipment: "co-1").isEmpty }, "alias 5 is co now")

        // A restart: the session's births come back from the journal; data by alias goes on with no new rebirth.
        #expect(h.daemon.stop() == 0)
        #expect(await waitFor(5) { edge.states.last?.contains("\"online\":false") == true }, "STATE offline at a clean stop: \(edge.states)")
        let requestsBefore = edge.rebirthRequests
        try await h.startDaemon()
        try edge.data("CO2", alias: 2, 30, at: nowMilliseconds())
        #expect(await waitFor(10) { !events(h, rule: "co-level-1", equipment: "co-2").isEmpty }, "CO2 read by alias after the restart")
        try await Task.sleep(for: .seconds(1))
        #expect(edge.rebirthRequests == requestsBefore, "no rebirth needed after a restart")
        #expect(edge.states.last?.contains("\"online\":true") == true, "\(edge.states)")

        // DDEATH: that device's signals stale at once, the other device's not.
        try edge.send(.deviceDeath, device: "CO2", SparkplugPayloads.deviceDeath(timestamp: EventTime(milliseconds: nowMilliseconds()), seq: edge.nextSeq()))
        #expect(await waitFor(5) { events(h, rule: "stale", equipment: "co-2").contains { $0["cause"] as? String == "sparkplug-ddeath" } },
                "DDEATH: \(h.receiver.accepted.map(\.text))")
        #expect(events(h, rule: "stale", equipment: "co-1").isEmpty)
        #expect(h.daemon.stop() == 0)
    }

    @Test("an edge node killed mid-run: the broker publishes its NDEATH, and its signals are stale at once with the death as cause")
    func edgeNodeDies() async throws {
        let h = try await Harness(plants: Self.plants)
        defer { h.stop() }
        try await h.startDaemon()
        let sim = try ProductProcess("meltwatch-sim", arguments: [
            "--broker", h.broker.url, "--config", h.configPath, "--scenario", "healthy", "--rate", "5", "--duration", "600",
            "--speed", "1", "--format", "sparkplug-b",
        ], logFile: h.directory.appendingPathComponent("sim.log"))
        defer { sim.stop(signal: SIGKILL) }
        let reading = await waitForHTTP200(h.api + "/api/signals", timeoutSeconds: 10)
        #expect(reading)
        try await Task.sleep(for: .seconds(3))
        let killedAt = nowMilliseconds()
        _ = sim.stop(signal: SIGKILL)
        #expect(await waitFor(5) { [events(h, rule: "stale", equipment: "co-1"), events(h, rule: "stale", equipment: "co-2")].allSatisfy { e in e.contains { ($0["signals"] as? [String]) == ["co"] } } },
                "stale for both detectors within 5 s of the death (stale_after_s is 30): \(h.receiver.accepted.map(\.text))")
        for e in events(h, rule: "stale", equipment: "co-1") + events(h, rule: "stale", equipment: "co-2") where e["event"] as? String == "raised" {
            #expect(e["cause"] as? String == "sparkplug-ndeath", "\(e)")
            #expect(["co", "fault"].contains((e["signals"] as? [String])?.first ?? ""), "\(e)")
            #expect((e["event_time"] as? String).map { $0 >= rfc3339(killedAt - 1000) } == true, "\(e)")
        }

        // The edge node comes back (a new connection, a new bdSeq, new births): its signals recover.
        let again = try ProductProcess("meltwatch-sim", arguments: [
            "--broker", h.broker.url, "--config", h.configPath, "--scenario", "healthy", "--rate", "5", "--duration", "600",
            "--speed", "1", "--format", "sparkplug-b",
        ], logFile: h.directory.appendingPathComponent("sim-again.log"))
        defer { again.stop(signal: SIGKILL) }
        #expect(await waitFor(10) {
            ["co-1", "co-2"].allSatisfy { eq in events(h, rule: "stale", equipment: eq).contains { $0["event"] as? String == "cleared" && ($0["signals"] as? [String]) == ["co"] } }
        }, "stale clears with the new births: \(h.receiver.accepted.map(\.text))")

        // A rebirth request (NCMD Node Control/Rebirth): the edge node publishes its births again.
        let births = Births()
        let host = try h.publisher()
        try host.subscribe("spBv1.0/\(Self.group)/NBIRTH/EON-1") { _ in births.add() }
        try await Task.sleep(for: .milliseconds(300))
        try host.publish(topic: "spBv1.0/\(Self.group)/NCMD/EON-1", payload: SparkplugPayloads.rebirthRequest(timestamp: EventTime(milliseconds: nowMilliseconds())), qos: 1)
        #expect(await waitFor(5) { births.count == 1 }, "one NBIRTH in answer to the rebirth request")
        #expect(h.daemon.stop() == 0)
    }

    @Test("the Primary Host goes away mid-leak: the edge node stores, forwards as historical metrics when STATE is online again, and the alarm carries the leak's own time; a killed host's will says offline")
    func storeAndForward() async throws {
        let h = try await Harness(plants: Self.plants)
        defer { h.stop() }
        try await h.startDaemon()
        let watcher = try Edge(h)
        // co-leak: 40 ppm from t = 10 s. At speed 2 its 40 s take 20 s; t = 0 lies 21 s back, so no
        // timestamp is ever in the future.
        let origin = nowMilliseconds() - 21_000
        let sim = try ProductProcess("meltwatch-sim", arguments: [
            "--broker", h.broker.url, "--config", h.configPath, "--scenario", "co-leak", "--rate", "10", "--speed", "2",
            "--start-ms", "\(origin)", "--format", "sparkplug-b",
        ], logFile: h.directory.appendingPathComponent("sim.log"))
        defer { sim.stop(signal: SIGKILL) }
        try await Task.sleep(for: .seconds(2))
        #expect(h.daemon.stop() == 0)  // STATE offline, before the leak (t = 10 s is 5 s into the run)
        #expect(await waitFor(5) { watcher.states.last?.contains("\"online\":false") == true })
        try await Task.sleep(for: .seconds(5))
        try await h.startDaemon()
        #expect(await waitFor(15) { !events(h, rule: "co-level-1", equipment: "co-1").isEmpty },
                "co-level-1 after the forward: \(h.receiver.accepted.map(\.text))")
        let raised = try #require(events(h, rule: "co-level-1", equipment: "co-1").first)
        let want = origin + 10_000
        let got = (raised["event_time"] as? String) ?? ""
        #expect(got >= rfc3339(want - 50) && got <= rfc3339(want + 50), "the leak's own time \(rfc3339(want)), got \(got)")
        #expect(await sim.exited(timeoutSeconds: 30) == 0)
        #expect(sim.output.contains("forwarded") && sim.output.contains("historical"), "the edge node stored and forwarded: \(sim.output)")

        // A host that dies: its MQTT will publishes STATE offline.
        _ = h.daemon.stop(signal: SIGKILL)
        #expect(await waitFor(5) { watcher.states.last?.contains("\"online\":false") == true }, "the will: \(watcher.states)")
    }
}
