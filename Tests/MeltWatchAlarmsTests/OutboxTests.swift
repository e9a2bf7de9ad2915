import Foundation
import MeltWatchCore
import MeltWatchJournal
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
            _ = book.perform(.outOfService(plant: "p", equipment: "f", operator: "李四", reason: "检修", hours: 8), at: t0, into: &out)
            let (events, error) = outbox.store(out, emittedAt: t0)
            #expect(error == nil)
            stored = events
            #expect(events.map(\.sequence) == [1, 2, 3, 4])  // the fourth: the maintenance period's start
        }
        let (outbox, restored) = try Outbox.open(directory: dir, now: t0, settings: Self.settings)
        #expect(outbox.nextSequence == 5)
        #expect(restored.events.map(\.sequence) == [1, 2, 3, 4])
        #expect(restored.events.map(\.envelope.body) == stored.map(\.envelope.body))
        #expect(restored.snapshot.records == book.snapshot.records)
        #expect(restored.snapshot.maintenance == book.snapshot.maintenance)
        #expect(restored.snapshot.numbering == book.snapshot.numbering)

        // Memory gets the recent window only; older events stay on disk.
        let (_, trimmed) = try Outbox.open(directory: dir, now: t0, settings: Self.settings, keepRecent: 1)
        #expect(trimmed.events.map(\.sequence) == [4])
    }

    @Test("compaction after a start that found everything delivered: older segments go, the book and later events stay")
    func compaction() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meltwatch-outbox-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let small = JournalOptions(segmentBytes: 4096)
        var book = AlarmBook(settings: Self.settings)
        var t = EventTime(milliseconds: 1_763_884_800_000)
        do {
            let (outbox, _) = try Outbox.open(directory: dir, now: t, settings: Self.settings, options: small)
            for n in 1...40 {
                var out = AlarmBook.Output()
                book.apply(raised("co-level-1", n: n, at: Int64(n) * 1000), into: &out)
                t = t.adding(milliseconds: 1000)
                #expect(outbox.store(out, emittedAt: t).error == nil)
            }
        }
        let segments = { try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".mwj") }.count }
        #expect(try segments() > 3)
        t = t.adding(milliseconds: 1000)
        let (outbox, restored) = try Outbox.open(directory: dir, now: t, settings: Self.settings, options: small)
        try outbox.storeSnapshot(restored.snapshot, at: t)
        #expect(try !outbox.compact().isEmpty)
        #expect(try segments() <= 2)   // the snapshot's segment, and the one after it when the snapshot filled it
        var out = AlarmBook.Output()
        book.apply(raised("co-level-2", n: 1, at: 99_000), into: &out)
        #expect(outbox.store(out, emittedAt: t).error == nil)

        let (again, after) = try Outbox.open(directory: dir, now: t, settings: Self.settings, options: small)
        #expect(after.snapshot.records == book.snapshot.records)
        #expect(after.snapshot.numbering == book.snapshot.numbering)
        #expect(after.events.last?.sequence == 41)
        #expect(again.nextSequence == 42)
    }

    /// An outbox in small segments holding events 1…`count` (each a raise of its own alarm).
    private func filled(_ dir: String, count: Int, book: inout AlarmBook) throws -> Outbox {
        let (outbox, _) = try Outbox.open(directory: dir, now: EventTime(milliseconds: 1_763_884_800_000), settings: Self.settings,
                                          options: JournalOptions(segmentBytes: 4096, syncOnCommit: false))
        for n in 1...count {
            var out = AlarmBook.Output()
            book.apply(raised("co-level-1", n: n, at: Int64(n) * 1000), into: &out)
            #expect(outbox.store(out, emittedAt: EventTime(milliseconds: 1_763_884_800_000 + Int64(n) * 1000)).error == nil)
        }
        return outbox
    }

    @Test("memory holds a bounded window; a channel behind it reads every event from disk, in order, without a gap")
    func readerBehindMemoryReadsDisk() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meltwatch-outbox-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var book = AlarmBook(settings: Self.settings)
        let outbox = try filled(dir, count: 120, book: &book)
        #expect(outbox.segmentCount > 5)
        let (_, restored) = try Outbox.open(directory: dir, now: EventTime(milliseconds: 1_763_884_900_000), settings: Self.settings,
                                            keepRecent: 10, options: JournalOptions(segmentBytes: 4096, syncOnCommit: false))
        let log = EventLog(initial: restored.events, retained: 10, archive: { after, limit in outbox.storedEvents(after: after, limit: limit) })
        #expect(log.heldCount == 10 && log.recent(after: 0).first == 111)
        var cursor: Int64 = 0
        var seen: [Int64] = []
        while true {
            let batch = log.events(after: cursor, limit: 7)
            guard let last = batch.last else { break }
            seen += batch.map(\.sequence)
            cursor = last.sequence
        }
        #expect(seen == Array(1...120))
        // Appending keeps memory bounded whatever the readers do.
        log.append((121...200).map { StoredEvent(sequence: Int64($0), envelope: restored.events[0].envelope) })
        #expect(log.heldCount <= 15)
    }

    @Test("compaction while running: the segments every channel delivered go, the rest and the book stay and restore")
    func compactionWhileRunning() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meltwatch-outbox-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var book = AlarmBook(settings: Self.settings)
        let outbox = try filled(dir, count: 120, book: &book)
        let before = outbox.segmentCount
        let t = EventTime(milliseconds: 1_763_884_900_000)
        #expect(try outbox.compactIfDue(book.snapshot, deliveredThrough: 0, at: t).isEmpty, "nothing delivered: nothing goes")
        let removed = try outbox.compactIfDue(book.snapshot, deliveredThrough: 60, at: t)
        #expect(!removed.isEmpty && outbox.segmentCount < before)
        // Every event after the delivered ones is still readable from disk.
        #expect(outbox.storedEvents(after: 60, limit: 1).first?.sequence == 61)
        let (again, after) = try Outbox.open(directory: dir, now: t, settings: Self.settings,
                                             options: JournalOptions(segmentBytes: 4096, syncOnCommit: false))
        #expect(after.snapshot.records == book.snapshot.records && after.snapshot.numbering == book.snapshot.numbering)
        #expect(again.nextSequence == 121)
        #expect(try again.compactIfDue(book.snapshot, deliveredThrough: 120, at: t).count > 0)
        #expect(again.storedEvents(after: 0, limit: 1).isEmpty || again.storedEvents(after: 0, limit: 1)[0].sequence > 60)
    }
}
