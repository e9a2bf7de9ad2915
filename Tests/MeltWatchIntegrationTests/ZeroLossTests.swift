import Foundation
import MeltWatchCore
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

    @Test("the journal fails mid-stream (file size limit: EFBIG): journal-failed reaches the duty room, the daemon exits non-zero, and after a restart nothing is missing",
          .disabled(if: Sanitizer.thread, "the ThreadSanitizer runtime itself takes SIGBUS under any RLIMIT_FSIZE (prlimit --fsize=49152 meltwatch --version)"))
    func journalFailureStopsAcknowledging() async throws {
        let h = try await Harness(plants: Harness.coPlant)
        defer { h.stop() }
        // A real fault, no hook in the product: every file the daemon writes is limited to 48 KiB, so
        // the journal segment's write fails with EFBIG part-way through the stream (the small alarm
        // outbox stays writable and can carry the alarm).
        try await h.startDaemon(wrapper: ["/usr/bin/prlimit", "--fsize=49152"])
        let count = 1500
        let publisher = try h.publisher()
        defer { publisher.close() }
        for i in 0..<count {
            try publisher.publish(topic: "plants/baotou-steel/co-1/co", text: "{\"ts\":\(nowMilliseconds()),\"v\":5.0,\"seq\":\(i)}", qos: 1)
            if i % 100 == 99 { usleep(20_000) }
        }
        let status = await h.daemon.exited(timeoutSeconds: 30)
        #expect(status != nil && status != 0, "the daemon must exit non-zero when its journal fails: \(h.daemon.output.suffix(2000))")
        let alarm = await h.receiver.waitFor(timeoutSeconds: 10) { $0.contains { $0.json["rule"] as? String == "journal-failed" } }
            .first { $0.json["rule"] as? String == "journal-failed" }
        #expect(alarm?.json["class"] as? String == "system" && alarm?.json["priority"] as? String == "emergency")
        #expect(h.daemon.output.contains("journal failed"))

        // Restarted without the limit: recovery cuts the torn tail, the broker redelivers what was
        // never acknowledged, and every seq ends up in the journal.
        try await h.startDaemon()
        #expect(publisher.waitUntilAcknowledged(timeoutMilliseconds: 30_000))
        let journal = h.directory.path + "/journal"
        let deadline = Date().addingTimeInterval(30)
        var seen = journaledSequences(journal)
        while seen.count < count, Date() < deadline {
            try await Task.sleep(for: .milliseconds(200))
            seen = journaledSequences(journal)
        }
        let missing = Set(0..<count).subtracting(seen)
        #expect(missing.isEmpty, "missing from the journal: \(missing.sorted().prefix(20)) (\(missing.count) in all)")
        #expect(try JournalReader(directory: journal).verify().problem == nil)
        // The failure stays on the duty room's board (latched) until someone acknowledges it.
        let open = try await call("GET", h.api + "/api/alarms").body
        #expect(open.contains("meltwatch:daemon:journal-failed:1"))
    }

    @Test("a bit rots in a sealed journal segment: the background audit raises journal-integrity naming the segment")
    func sealedSegmentDamageIsReported() async throws {
        let h = try await Harness(plants: Harness.coPlant)
        defer { h.stop() }
        // Yesterday's journal: three small sealed segments of ticks, then a bit flipped in the first.
        let dir = h.directory.path + "/journal"
        var t = EventTime(milliseconds: nowMilliseconds() - 86_400_000)
        do {
            let w = try JournalWriter(directory: dir, options: JournalOptions(segmentBytes: 4096), now: t)
            for _ in 0..<600 {
                t = t.adding(milliseconds: 100)
                try w.append(.tick(t))
                try w.commit(now: t)
            }
        }
        let first = dir + "/00000000000000000001.mwj"
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: first)))
        bytes[1000] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: first))

        try await h.startDaemon()
        let got = await h.receiver.waitFor(timeoutSeconds: 30) { $0.contains { $0.json["rule"] as? String == "journal-integrity" } }
        let alarm = got.first { $0.json["rule"] as? String == "journal-integrity" }
        #expect(alarm?.json["cause"] as? String == first)
        #expect((alarm?.json["message"] as? String)?.contains("00000000000000000001.mwj") == true)
        #expect(h.daemon.stop() == 0)
    }
}
