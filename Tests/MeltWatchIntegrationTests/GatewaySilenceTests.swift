import Foundation
import MeltWatchTestKit
import Testing

/// A whole plant's gateway falls silent while the broker is fine: one cause, one alarm (domain.md
/// "Sensor health"; contract §4 `gateway-silent`), against the real broker and daemon.
@Suite("A plant's gateway falls silent: one gateway-silent, not one stale per signal", .serialized)
struct GatewaySilenceTests {
    /// Plant `baotou-steel` with three CO detectors, plant `nantong-al` with one; stale after 3 s.
    static let plants = Harness.coDetectors([
        ("baotou-steel", "包头钢铁 一炼钢", nil, ["co-1", "co-2", "co-3"]), ("nantong-al", "南通 铝铸造", "aluminium", ["co-1"]),
    ], staleAfterSeconds: 3)

    @Test("the steel plant's gateway stops, the aluminium plant's goes on: one gateway-silent naming 3 signals, no stale; it clears when data resumes, and a detector still dead then is stale on its own")
    func plantGatewayFallsSilent() async throws {
        let h = try await Harness(plants: Self.plants)
        defer { h.stop() }
        try await h.startDaemon()
        let publishing = GatewayLoop(try h.publisher())
        defer { publishing.stop() }
        let steel = ["co-1", "co-2", "co-3"].map { "plants/baotou-steel/\($0)/co" }
        let aluminium = "plants/nantong-al/co-1/co"
        publishing.only(steel + [aluminium])
        try await Task.sleep(for: .seconds(2))

        publishing.only([aluminium])  // the steel plant's gateway dies
        let silent = await h.receiver.waitFor(timeoutSeconds: 15) { $0.contains { $0.text.contains("\"rule\":\"gateway-silent\"") } }
        try await Task.sleep(for: .seconds(4))  // longer than stale_after_s again: nothing else comes
        let events = h.receiver.accepted.map(\.json)
        let gatewayEvents = events.filter { $0["rule"] as? String == "gateway-silent" }
        #expect(gatewayEvents.count == 1, "one alarm for the cause: \(gatewayEvents)")
        let raised = try #require(gatewayEvents.first, "gateway-silent within 15 s: \(silent.map(\.text))")
        #expect(raised["alarm_id"] as? String == "baotou-steel:gateway:gateway-silent:1")
        #expect(raised["class"] as? String == "device" && raised["event"] as? String == "raised")
        #expect(raised["value"] as? Double == 3, "names how many signals stopped")
        #expect(!events.contains { $0["rule"] as? String == "stale" }, "no per-signal stale under it: \(events)")
        let signals = try await signalsHealth(h)
        #expect(signals.filter { $0.plant == "baotou-steel" }.allSatisfy { $0.health == "unknown" }, "the console shows them unknown: \(signals)")
        #expect(signals.filter { $0.plant == "nantong-al" && $0.role == "co" }.allSatisfy { $0.health == "ok" }, "\(signals)")

        publishing.only(Array(steel.prefix(2)) + [aluminium])  // the gateway is back, co-3 stays dead
        let cleared = await h.receiver.waitFor(timeoutSeconds: 10) { d in
            d.contains { $0.text.contains("\"rule\":\"gateway-silent\"") && $0.text.contains("\"event\":\"cleared\"") }
                && d.contains { $0.text.contains("\"rule\":\"stale\"") }
        }.map(\.json)
        #expect(cleared.contains { $0["rule"] as? String == "gateway-silent" && $0["event"] as? String == "cleared" })
        let stale = cleared.filter { $0["rule"] as? String == "stale" }
        #expect(stale.count == 1 && stale.first?["equipment"] as? String == "co-3", "co-3 stale on its own, stale_after_s after the recovery: \(stale)")
        #expect(h.daemon.stop() == 0)
    }

    @Test("a journal fdatasync that blocks ingest for 1.5 s judges no silence on the messages waiting behind it: no stale, no gateway-silent")
    func blockedIngestJudgesNoSilence() async throws {
        // stale after 1 s; every journal commit (one per batch, before the acks) takes 1.5 s. While
        // a commit blocks, the gateway's next readings wait in the socket: the tick after the commit
        // must not judge the detectors silent on the clock (the first version did, raising stale
        // and gateway-silent on detectors reporting every 200 ms).
        let h = try await Harness(plants: Harness.coDetectors([("baotou-steel", "包头钢铁 一炼钢", nil, ["co-1", "co-2", "co-3"])], staleAfterSeconds: 1))
        defer { h.stop() }
        try await h.startDaemon(wrapper: ["/usr/bin/env", "MELTWATCH_TEST_SYNC_DELAY_US=1500000"])
        let publishing = GatewayLoop(try h.publisher())
        defer { publishing.stop() }
        publishing.only(["co-1", "co-2", "co-3"].map { "plants/baotou-steel/\($0)/co" })
        // Once readings flow (the start itself is slow: the link's own commit takes 1.5 s, and a
        // detector not heard from within 1 s of it is rightly stale), they go on through several
        // blocked commits: the daemon reads them in bursts.
        var accepted = 0
        var deadline = Date().addingTimeInterval(30)
        while Date() < deadline, accepted < 6 {
            try await Task.sleep(for: .milliseconds(100))
            accepted = try await readingsAccepted(h)
        }
        let flowing = accepted, flowingSince = nowMilliseconds()
        deadline = Date().addingTimeInterval(30)
        while Date() < deadline, accepted < flowing + 60 {
            try await Task.sleep(for: .milliseconds(500))
            accepted = try await readingsAccepted(h)
        }
        #expect(accepted >= flowing + 60, "readings went through the blocked commits: \(accepted)")
        let raised = h.receiver.accepted.map(\.json).filter {
            $0["event"] as? String == "raised" && (milliseconds(rfc3339: $0["event_time"] as? String) ?? .max) >= flowingSince
        }
        #expect(!raised.contains { ["stale", "gateway-silent"].contains($0["rule"] as? String ?? "") },
                "no silence judged while readings waited behind a commit: \(raised)")
        publishing.stop()
        #expect(h.daemon.stop() == 0)
    }

    private func milliseconds(rfc3339 text: String?) -> Int64? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return text.flatMap { f.date(from: $0) }.map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
    }

    private func readingsAccepted(_ h: Harness) async throws -> Int {
        let (_, body) = try await call("GET", h.api + "/metrics")
        let line = body.split(separator: "\n").first { $0.hasPrefix("meltwatch_readings_total ") }
        return line.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }.map { Int($0) } ?? 0
    }

    private func signalsHealth(_ h: Harness) async throws -> [(plant: String, role: String, health: String)] {
        let (_, body) = try await call("GET", h.api + "/api/signals")
        let list = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [[String: Any]] ?? []
        return list.map { ($0["plant"] as? String ?? "", $0["role"] as? String ?? "", $0["health"] as? String ?? "") }
    }
}
