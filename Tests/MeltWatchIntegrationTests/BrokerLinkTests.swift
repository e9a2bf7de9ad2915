import Foundation
import MeltWatchMQTT
import MeltWatchTestKit
import Testing

/// The broker link breaking again and again, each time for less than broker-lost's delay.
@Suite("A flapping broker link is broker-lost too", .serialized)
struct BrokerLinkTests {
    @Test("three breaks within a minute raise broker-lost although each outage is shorter than its 3 s delay")
    func flappingLink() async throws {
        let h = try await Harness(plants: Harness.coPlant)
        defer { h.stop() }
        try await h.startDaemon()
        let config = try String(contentsOfFile: h.configPath, encoding: .utf8)
        let clientID = try #require(config.split(separator: "\n").first { $0.contains("client_id:") }?
            .split(separator: ":").last?.trimmingCharacters(in: .whitespaces))
        // Another client with the daemon's id takes its session over: the broker drops the daemon,
        // which reconnects within a second and takes it back.
        // Each break is waited for (the daemon logs it) before the next: on a loaded machine an
        // intruder could otherwise come and go before the daemon noticed the one before.
        func breaks() -> Int { h.daemon.output.components(separatedBy: "broker connection lost").count - 1 }
        for n in 1...3 {
            let intruder = try Publisher(address: BrokerAddress(host: "127.0.0.1", port: Int32(h.broker.port)), clientID: clientID)
            intruder.close()
            let deadline = Date().addingTimeInterval(10)
            while breaks() < n, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
            _ = await waitForHTTP200(h.api + "/readyz", timeoutSeconds: 10)
        }
        let lost = await h.receiver.waitFor(timeoutSeconds: 10) { $0.contains { $0.text.contains("\"rule\":\"broker-lost\"") } }
        let raised = lost.first { $0.text.contains("\"rule\":\"broker-lost\"") }?.json
        #expect(raised?["event"] as? String == "raised", "\(lost.map(\.text))")
        #expect((raised?["message"] as? String)?.contains("keeps breaking") == true)
        #expect(h.daemon.output.components(separatedBy: "broker connection lost").count - 1 >= 3, "three breaks")
        #expect(h.daemon.stop() == 0)
    }
}
