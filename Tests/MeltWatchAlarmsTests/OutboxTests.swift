import Foundation
import MeltWatchCore
import Testing

@testable import MeltWatchAlarms

@Suite("The alarm outbox: stored before delivery, the book restored after a restart")
struct OutboxTests {
    private static let settings = AlarmBook.Settings(escalateAfterMilliseconds: 0, configHash: "sha256:x")

    private func raised(_ rule: String, n: Int, at ms: Int64) -> AlarmEvent {
        AlarmEvent(kind: .raised, state: .activeUnacked, alarmClass: .process, rule: rule, priority: .high, plant: "p", equipment: "e",
                   activation: n, ordinal: 1, signals: ["co"], basis: "令10 第四条(六)", message: "一氧化碳 \(n)",
                   eventTime: EventTime(milliseconds: ms), configHash: "sha256:x")
    }

    @Test("events come back numbered in order with their exact bodies; the book comes back as it stood, maintenance too")
    func roundTrip() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meltwatch-outbox-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let t0 = EventTime(milliseconds: 1_763_884_800_000)
        var book = AlarmBook(settings: Self.settings)
        var stored: [StoredEvent] = []
        do {
            let (outbox, restored) = try Outbox.open(directory: dir, now: t0, settings: Self.settings)
            #expect(restored.events.isEmpty && restored.snapshot.records.isEmpty && outbox.nextSequence == 1)
            try outbox.storeSnapshot(book.snapshot, at: t0)
            var out = AlarmBook.Output()
            book.apply(raised("co-level-1", n: 1, at: 1000), into: &out)
            book.apply(raised("co-level-2", n: 1, at: 2000), into: &out)
            _ = book.perform(.acknowledge(alarmID: "p:e:co-level-1:1", operator: "张三", note: "现场确认"), at: t0, into: &out)
            _ = book.perform(.outOfService(plant: "p", equipment: "f", operator: "李四", reason: "检修"), at: t0, into: &out)
            let (events, error) = outbox.store(out, emittedAt: t0)
            #expect(error == nil)
            stored = events
            #expect(events.map(\.sequence) == [1, 2, 3])
        }
        let (outbox, restored) = try Outbox.open(directory: dir, now: t0, settings: Self.settings)
        #expect(outbox.nextSequence == 4)
        #expect(restored.events.map(\.sequence) == [1, 2, 3])
        #expect(restored.events.map(\.envelope.body) == stored.map(\.envelope.body))
        #expect(restored.snapshot.records == book.snapshot.records)
        #expect(restored.snapshot.maintenance == book.snapshot.maintenance)
        #expect(restored.snapshot.numbering == book.snapshot.numbering)

        // Already delivered everywhere (cursor 3): nothing is kept but the recent window.
        let (_, trimmed) = try Outbox.open(directory: dir, now: t0, settings: Self.settings, keepAfter: 3, keepRecent: 1)
        #expect(trimmed.events.map(\.sequence) == [3])
    }
}
