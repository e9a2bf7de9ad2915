import Foundation
import MeltWatchCore
import MeltWatchJournal
import NIOConcurrencyHelpers
import Testing

@testable import MeltWatchAlarms

/// The real file system, failing the next write or data sync when told to.
final class FailingFileSystem: JournalFileSystem {
    enum Fault: Sendable, CustomTestStringConvertible {
        /// The next write fails with this errno, nothing written.
        case write(Int32)
        /// The next write writes this many bytes, the one after fails with ENOSPC.
        case shortWriteThenNoSpace(Int)
        /// Every byte is written, then the data sync fails with this errno.
        case sync(Int32)

        var testDescription: String {
            switch self {
            case .write(let e): "write fails (errno \(e))"
            case .shortWriteThenNoSpace(let n): "\(n) bytes written, then ENOSPC"
            case .sync(let e): "fdatasync fails (errno \(e))"
            }
        }
    }

    private let real = POSIXFileSystem()
    private let state = NIOLockedValueBox<(writes: [Result<Int, SystemCallError>?], sync: Int32?)>(([], nil))

    func inject(_ fault: Fault) {
        state.withLockedValue { s in
            switch fault {
            case .write(let e): s.writes = [.failure(SystemCallError(call: "write", path: "", errno: e))]
            case .shortWriteThenNoSpace(let n): s.writes = [.success(n), .failure(SystemCallError(call: "write", path: "", errno: ENOSPC))]
            case .sync(let e): s.sync = e
            }
        }
    }

    func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(SystemCallError) -> Int {
        let fault = state.withLockedValue { s in s.writes.isEmpty ? nil : s.writes.removeFirst() }
        switch fault {
        case .failure(let e)?: throw SystemCallError(call: "write", path: path, errno: e.errno)
        case .success(let n)?: return try real.write(fd, UnsafeRawBufferPointer(rebasing: bytes[0..<min(n, bytes.count)]), path: path)
        case nil: return try real.write(fd, bytes, path: path)
        }
    }

    func dataSync(_ fd: Int32, path: String) throws(SystemCallError) {
        if let e = state.withLockedValue({ s in defer { s.sync = nil }; return s.sync }) {
            throw SystemCallError(call: "fdatasync", path: path, errno: e)
        }
        try real.dataSync(fd, path: path)
    }

    func open(_ path: String, write: Bool, create: Bool, exclusive: Bool) throws(SystemCallError) -> Int32 {
        try real.open(path, write: write, create: create, exclusive: exclusive)
    }
    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64, path: String) throws(SystemCallError) -> Int {
        try real.read(fd, into: buffer, at: offset, path: path)
    }
    func syncDirectory(_ path: String) throws(SystemCallError) { try real.syncDirectory(path) }
    func truncate(_ fd: Int32, to length: Int64, path: String) throws(SystemCallError) { try real.truncate(fd, to: length, path: path) }
    func size(_ fd: Int32, path: String) throws(SystemCallError) -> Int64 { try real.size(fd, path: path) }
    func close(_ fd: Int32) { real.close(fd) }
    func list(_ directory: String) throws(SystemCallError) -> [String] { try real.list(directory) }
    func makeDirectory(_ path: String) throws(SystemCallError) { try real.makeDirectory(path) }
    func remove(_ path: String) throws(SystemCallError) { try real.remove(path) }
}

extension FailingFileSystem: @unchecked Sendable {}
// Safe: the only mutable state is behind the lock; `real` is a stateless value.

@Suite("The alarm outbox when the disk fails: a number only for an event stored")
struct OutboxFailureTests {
    private static let settings = AlarmBook.Settings(escalateAfterMilliseconds: 0, configHash: "sha256:x")

    private func raised(_ rule: String, n: Int, at ms: Int64) -> AlarmEvent {
        AlarmEvent(kind: .raised, state: .activeUnacked, alarmClass: .process, rule: rule, priority: .high, plant: "p", equipment: "e",
                   activation: n, ordinal: 1, signals: ["co"], basis: "令10 第四条(六)", message: "一氧化碳 \(n)",
                   eventTime: EventTime(milliseconds: ms), configHash: "sha256:x")
    }

    @Test("a failed store numbers nothing: the next store gets the number it would have had, and a restart finds no gap and not the failed events",
          arguments: [FailingFileSystem.Fault.write(ENOSPC), .write(EIO), .shortWriteThenNoSpace(13)])
    func failedStore(fault: FailingFileSystem.Fault) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meltwatch-outbox-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fs = FailingFileSystem()
        let t0 = EventTime(milliseconds: 1_763_884_800_000)
        var book = AlarmBook(settings: Self.settings)
        func change(_ events: AlarmEvent...) -> AlarmBook.Output {
            var out = AlarmBook.Output()
            for e in events { book.apply(e, into: &out) }
            return out
        }
        var delivered: [StoredEvent] = []
        do {
            let (outbox, _) = try Outbox.open(directory: dir, now: t0, settings: Self.settings, fileSystem: fs)
            let first = outbox.store(change(raised("co-level-1", n: 1, at: 1000)), emittedAt: t0)
            #expect(first.error == nil && first.events.map(\.sequence) == [1])
            delivered += first.events

            fs.inject(fault)
            let failed = outbox.store(change(raised("co-level-2", n: 1, at: 2000), raised("co-level-1", n: 2, at: 2000)), emittedAt: t0)
            #expect(failed.error != nil)
            #expect(failed.events.isEmpty)      // nothing numbered, nothing to deliver under a number
            #expect(outbox.nextSequence == 2)   // the sequence did not move

            let next = outbox.store(change(raised("co-level-2", n: 2, at: 3000)), emittedAt: t0.adding(milliseconds: 1))
            #expect(next.error == nil)
            #expect(next.events.map(\.sequence) == [2])  // the number the failed store would have had
            delivered += next.events
            #expect(outbox.nextSequence == 3)
        }
        let (again, restored) = try Outbox.open(directory: dir, now: t0, settings: Self.settings)
        #expect(restored.problem == nil)  // what the failed store left was cut before the next one wrote
        #expect(restored.events.map(\.sequence) == [1, 2])
        #expect(restored.events.map(\.envelope.body) == delivered.map(\.envelope.body))
        #expect(again.nextSequence == 3)
    }

    @Test("storing an event does not wait for fdatasync: the journal is the one sync on the alarm path")
    func storeDoesNotSync() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meltwatch-outbox-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fs = FailingFileSystem()
        let t0 = EventTime(milliseconds: 1_763_884_800_000)
        var book = AlarmBook(settings: Self.settings)
        var out = AlarmBook.Output()
        book.apply(raised("co-level-1", n: 1, at: 1000), into: &out)
        let (outbox, _) = try Outbox.open(directory: dir, now: t0, settings: Self.settings, fileSystem: fs)
        fs.inject(.sync(EIO))  // any fdatasync would fail the store
        let stored = outbox.store(out, emittedAt: t0)
        #expect(stored.error == nil && stored.events.map(\.sequence) == [1])
    }

    @Test("after a crash lost the outbox's unsynced tail, numbering continues above the highest delivery cursor")
    func numberingAboveCursors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meltwatch-outbox-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let t0 = EventTime(milliseconds: 1_763_884_800_000)
        var book = AlarmBook(settings: Self.settings)
        var out = AlarmBook.Output()
        book.apply(raised("co-level-1", n: 1, at: 1000), into: &out)
        let (outbox, _) = try Outbox.open(directory: dir, now: t0, settings: Self.settings, sequenceFloor: 7)
        #expect(outbox.store(out, emittedAt: t0).events.map(\.sequence) == [8])
    }

    @Test("a store that keeps failing keeps the sequence where it was; the snapshot waits for the disk too")
    func failingTwice() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meltwatch-outbox-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fs = FailingFileSystem()
        let t0 = EventTime(milliseconds: 1_763_884_800_000)
        var book = AlarmBook(settings: Self.settings)
        let (outbox, _) = try Outbox.open(directory: dir, now: t0, settings: Self.settings, fileSystem: fs)
        for n in 1...2 {
            fs.inject(.write(EIO))
            var out = AlarmBook.Output()
            book.apply(raised("co-level-1", n: n, at: Int64(n) * 1000), into: &out)
            let result = outbox.store(out, emittedAt: t0)
            #expect(result.error != nil && result.events.isEmpty && outbox.nextSequence == 1)
        }
        fs.inject(.write(ENOSPC))
        #expect(throws: (any Error).self) { try outbox.storeSnapshot(book.snapshot, at: t0) }
        try outbox.storeSnapshot(book.snapshot, at: t0)
        var out = AlarmBook.Output()
        book.apply(raised("co-level-2", n: 1, at: 9000), into: &out)
        #expect(outbox.store(out, emittedAt: t0).events.map(\.sequence) == [1])
        let (_, restored) = try Outbox.open(directory: dir, now: t0, settings: Self.settings)
        #expect(restored.events.map(\.sequence) == [1])
        #expect(restored.snapshot.records == book.snapshot.records)
    }
}
