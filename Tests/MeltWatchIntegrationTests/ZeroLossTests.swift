import Foundation
import MeltWatchJournal
import MeltWatchMQTT
import MeltWatchTestKit
import Synchronization
import Testing

/// Set once by the publishing thread.
private final class DoneFlag: Sendable {
    let value = Atomic<Bool>(false)
    /// The broker acknowledged every publish.
    let acknowledged = Atomic<Bool>(false)
}

/// The gateway `seq` of every message in the journal (duplicates from redelivery included once).
private func journaledSequences(_ directory: String) -> Set<Int> {
    var seen = Set<Int>()
    try? JournalReader(directory: directory).forEach { _, record in
        guard case .message(let m) = record else { return }
        let text = String(decoding: m.payload, as: UTF8.self)
        guard let r = text.range(of: "\"seq\":") else { return }
        if let n = Int(text[r.upperBound...].prefix { $0.isNumber }) { seen.insert(n) }
    }
    return seen
}

@Suite("Zero loss: acknowledged only when durable", .serialized)
struct ZeroLossTests {
    @Test("SIGKILL the daemon three times while a gateway publishes at QoS 1: every seq ends up in the journal")
    func sigkillLosesNothing() async throws {
        let h = try await Harness()
        defer { h.stop() }
        try await h.startDaemon()
        let count = 3000
        // A gateway publishing one reading per millisecond, in its own thread, while the daemon dies.
        let done = DoneFlag()
        let port = Int32(h.broker.port)
        let thread = Thread {
            guard let publisher = try? Publisher(address: BrokerAddress(host: "127.0.0.1", port: port), clientID: "zero-loss-gateway") else {
                done.value.store(true, ordering: .releasing)
                return
            }
            defer { publisher.close() }
            for i in 0..<count {
                let ts = Int64(Date().timeIntervalSince1970 * 1000)
                try? publisher.publish(topic: "plants/baotou-steel/co-1/co", text: "{\"ts\":\(ts),\"v\":5.0,\"seq\":\(i)}", qos: 1)
                usleep(1000)
            }
            done.acknowledged.store(publisher.waitUntilAcknowledged(timeoutMilliseconds: 30_000), ordering: .relaxed)
            done.value.store(true, ordering: .releasing)
        }
        thread.start()
        for delay in [400, 700, 700] {
            try await Task.sleep(for: .milliseconds(delay))
            _ = h.daemon.stop(signal: SIGKILL, timeoutSeconds: 5)
            try await h.startDaemon()
        }
        while !done.value.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(50)) }
        let acknowledged = done.acknowledged.load(ordering: .relaxed)
        #expect(acknowledged, "the broker acknowledged every publish")

        let journal = h.directory.path + "/journal"
        let deadline = Date().addingTimeInterval(60)
        var seen = journaledSequences(journal)
        while seen.count < count, Date() < deadline {
            try await Task.sleep(for: .milliseconds(200))
            seen = journaledSequences(journal)
        }
        let missing = Set(0..<count).subtracting(seen)
        #expect(missing.isEmpty, "missing from the journal: \(missing.sorted().prefix(20)) (\(missing.count) in all)")
        #expect(try JournalReader(directory: journal).verify().problem == nil)
    }
}
