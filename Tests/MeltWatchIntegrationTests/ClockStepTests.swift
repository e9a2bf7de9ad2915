import Foundation
import MeltWatchTestKit
import Testing

/// The daemon's own wall clock steps (libfaketime; the broker, the gateway and the receiver keep real
/// time) while a gateway publishes: what chrony does at boot, a VM resumed, an operator fixing the time.
@Suite("A step of the daemon's wall clock (faketime): no false alarm, nothing early, nothing deleted", .serialized)
struct ClockStepTests {
    static let faketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"

    /// Two CO detectors, stale after 5 s.
    static let plants = Harness.coDetectors([("baotou-steel", "包头钢铁 一炼钢", nil, ["co-1", "co-2"])], staleAfterSeconds: 5)

    @Test("+1 h then −1 h while the gateway publishes: no stale, no escalation, the watchdog pings on, no segment deleted; stale and evaluation go on after")
    func stepForwardAndBack() async throws {
        #expect(FileManager.default.fileExists(atPath: Self.faketime), "libfaketime is missing (apt-get install faketime)")
        let h = try await Harness(plants: Self.plants, duty: "  heartbeat_s: 3600\n  escalate_after_s: 60\n")
        defer { h.stop() }
        // Retention of one day, checked every 500 ms; 8 KiB segments, so there are sealed ones to lose.
        let config = try String(contentsOfFile: h.configPath, encoding: .utf8)
            .replacingOccurrences(of: "journal:\n  dir: journal\n", with: "journal:\n  dir: journal\n  retention_days: 1\n")
        try config.write(toFile: h.configPath, atomically: true, encoding: .utf8)
        let offsetFile = h.directory.path + "/faketime.rc"
        try "+0\n".write(toFile: offsetFile, atomically: true, encoding: .utf8)
        let socket = try NotifySocket(path: h.directory.path + "/notify.sock")
        try await h.startDaemon(wrapper: [
            "/usr/bin/env", "LD_PRELOAD=\(Self.faketime)", "FAKETIME_TIMESTAMP_FILE=\(offsetFile)", "FAKETIME_NO_CACHE=1",
            "FAKETIME_DONT_FAKE_MONOTONIC=1", "MELTWATCH_TEST_RETENTION_INTERVAL_MS=500", "MELTWATCH_TEST_SEGMENT_BYTES=8192",
            "NOTIFY_SOCKET=\(socket.path)", "WATCHDOG_USEC=1000000",
            // exec'd directly under the preload a Swift binary was seen to lose its arguments
            "bash", "-c", "exec \"$0\" \"$@\"",
        ])

        // The gateway: both detectors every 200 ms on real time; co-1 in alarm (40 ppm, level 1), unacknowledged.
        let co1 = "plants/baotou-steel/co-1/co", co2 = "plants/baotou-steel/co-2/co"
        let gateway = GatewayLoop(try h.publisher())
        defer { gateway.stop() }
        gateway.set(co2, 2)
        gateway.set(co1, 40)
        let raised = await h.receiver.waitFor(timeoutSeconds: 20) { $0.contains { $0.text.contains("\"rule\":\"co-level-1\"") } }
        #expect(raised.contains { $0.text.contains("\"rule\":\"co-level-1\"") && $0.text.contains("\"event\":\"raised\"") })

        let journal = h.directory.path + "/journal"
        let segmentsBefore = await waitForSegments(journal, atLeast: 3)
        #expect(segmentsBefore.count >= 3, "sealed segments to protect: \(segmentsBefore)")
        _ = socket.receive(for: 0.2)

        // +1 h, then back (−1 h), each held for 4 s.
        try "+1h\n".write(toFile: offsetFile, atomically: true, encoding: .utf8)
        let pingsForward = socket.receive(for: 4).filter { $0 == "WATCHDOG=1" }.count
        try "+0\n".write(toFile: offsetFile, atomically: true, encoding: .utf8)
        let pingsBack = socket.receive(for: 4).filter { $0 == "WATCHDOG=1" }.count
        #expect(pingsForward >= 4 && pingsBack >= 4, "the watchdog pings on (every 500 ms): \(pingsForward) after +1 h, \(pingsBack) after −1 h")

        let during = h.receiver.accepted.map(\.text)
        #expect(!during.contains { $0.contains("\"rule\":\"stale\"") || $0.contains("\"rule\":\"gateway-silent\"") }, "no false stale: \(during)")
        #expect(!during.contains { $0.contains("\"event\":\"escalated\"") }, "nothing escalated early: \(during)")
        let remaining = Set(segments(journal))
        #expect(Set(segmentsBefore).isSubset(of: remaining), "no segment deleted: before \(segmentsBefore), after \(remaining.sorted())")
        let log = h.daemon.output
        #expect(log.contains("the wall clock stepped"), "the step is logged")

        // Stale detection and evaluation go on: co-2 falls silent (co-1 keeps the gateway alive), co-1 rises to 200 ppm.
        gateway.remove(co2)
        gateway.set(co1, 200)
        let after = await h.receiver.waitFor(timeoutSeconds: 20) { d in
            d.contains { $0.text.contains("\"rule\":\"stale\"") } && d.contains { $0.text.contains("\"rule\":\"co-level-2\"") }
        }.map(\.text)
        let stale = after.filter { $0.contains("\"rule\":\"stale\"") }
        #expect(stale.count == 1 && stale.first?.contains("\"equipment\":\"co-2\"") == true, "co-2 stale on its own: \(stale)")
        #expect(after.contains { $0.contains("\"rule\":\"co-level-2\"") && $0.contains("\"event\":\"raised\"") })
        #expect(!after.contains { $0.contains("\"event\":\"escalated\"") })
        #expect(h.daemon.stop() == 0, "\(h.daemon.output.suffix(2000))")
    }

    private func segments(_ journal: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: journal)) ?? []).filter { $0.hasSuffix(".mwj") }.sorted()
    }

    private func waitForSegments(_ journal: String, atLeast n: Int) async -> [String] {
        for _ in 0..<300 {
            let s = segments(journal)
            if s.count >= n { return s }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return segments(journal)
    }
}
