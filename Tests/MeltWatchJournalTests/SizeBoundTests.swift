#if canImport(Glibc)
import Glibc
#endif
import MeltWatchCore
import NIOConcurrencyHelpers
import Testing

@testable import MeltWatchJournal

/// The real file system on a pretend disk of `capacity` bytes that holds only `root`: free space
/// falls as the journal grows, without filling the machine's disk. Counts the directory walks.
final class SmallDiskFileSystem: JournalFileSystem {
    private let real = POSIXFileSystem()
    let root: String
    private let state: NIOLockedValueBox<(capacity: UInt64, lists: Int, statvfs: Int)>

    init(root: String, capacity: UInt64) {
        self.root = root
        state = NIOLockedValueBox((capacity, 0, 0))
    }

    var capacity: UInt64 {
        get { state.withLockedValue { $0.capacity } }
        set { state.withLockedValue { $0.capacity = newValue } }
    }
    /// Directory listings so far (the bound's full measurement lists every directory).
    var lists: Int { state.withLockedValue { $0.lists } }

    func freeBytes(_ path: String) throws(SystemCallError) -> UInt64 {
        let used = try real.totalBytes(under: root)
        return state.withLockedValue { s in
            s.statvfs += 1
            return s.capacity > used ? s.capacity - used : 0
        }
    }

    func list(_ directory: String) throws(SystemCallError) -> [String] {
        state.withLockedValue { $0.lists += 1 }
        return try real.list(directory)
    }

    func open(_ path: String, write: Bool, create: Bool, exclusive: Bool) throws(SystemCallError) -> Int32 {
        try real.open(path, write: write, create: create, exclusive: exclusive)
    }
    func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(SystemCallError) -> Int { try real.write(fd, bytes, path: path) }
    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64, path: String) throws(SystemCallError) -> Int {
        try real.read(fd, into: buffer, at: offset, path: path)
    }
    func dataSync(_ fd: Int32, path: String) throws(SystemCallError) { try real.dataSync(fd, path: path) }
    func syncDirectory(_ path: String) throws(SystemCallError) { try real.syncDirectory(path) }
    func truncate(_ fd: Int32, to length: Int64, path: String) throws(SystemCallError) { try real.truncate(fd, to: length, path: path) }
    func size(_ fd: Int32, path: String) throws(SystemCallError) -> Int64 { try real.size(fd, path: path) }
    func close(_ fd: Int32) { real.close(fd) }
    func makeDirectory(_ path: String) throws(SystemCallError) { try real.makeDirectory(path) }
    func remove(_ path: String) throws(SystemCallError) { try real.remove(path) }
}

extension SmallDiskFileSystem: @unchecked Sendable {}
// Safe: the mutable state is behind the lock; `real` and `root` never change.

@Suite("Journal size bound: max_bytes and min_free take the oldest sealed segments, nothing else")
struct SizeBoundTests {
    /// A journal of many small segments (1 KiB) beside an outbox of several, as the daemon lays them out.
    private func fill(_ dir: String, fileSystem: any JournalFileSystem = POSIXFileSystem(), records: Int = 120)
        throws -> (journal: JournalWriter, outbox: [String]) {
        let outbox = try JournalWriter(directory: dir + "/outbox", options: JournalOptions(segmentBytes: 1024), now: at(0))
        for i in 0..<40 {
            try outbox.append(.outbox(time: at(Int64(i)), data: Array(repeating: 0x7B, count: 60)))
            try outbox.commit(now: at(Int64(i)))
        }
        let w = try JournalWriter(directory: dir, options: JournalOptions(segmentBytes: 1024), fileSystem: fileSystem, now: at(0))
        for i in 0..<records {
            try w.append(message(i))
            try w.commit(now: at(Int64(i) * 1000))
        }
        return (w, try POSIXFileSystem().list(dir + "/outbox").filter { $0.hasSuffix(".mwj") }.sorted())
    }

    private func segments(_ dir: String) throws -> [UInt64] { try JournalReader(directory: dir).segments() }
    private func bytes(_ dir: String) throws -> UInt64 { try POSIXFileSystem().totalBytes(under: dir) }
    private func outboxFiles(_ dir: String) throws -> [String] {
        try POSIXFileSystem().list(dir + "/outbox").filter { $0.hasSuffix(".mwj") }.sorted()
    }

    @Test("max_bytes: the oldest sealed segments go until the directory (outbox counted) is under it; the outbox stays")
    func maxBytes() throws {
        let dir = temporaryDirectory()
        defer { cleanup(dir) }
        let (w, outbox) = try fill(dir)
        #expect(outbox.count > 2)
        let before = try segments(dir)
        #expect(before.count > 8)
        let total = try bytes(dir)
        let limit = total - 3 * 1024
        let space = try w.enforce(JournalSizeBound(maxBytes: limit, minFreeBytes: 0), now: at(200_000))
        let gone = Array(before.prefix(space.removed.count))
        #expect(space.removed.count >= 3 && space.removed.count <= 4)
        #expect(space.removed.map(\.path) == gone.map { dir + "/" + JournalSegments.fileName($0) })
        #expect(try segments(dir) == Array(before.dropFirst(gone.count)))
        #expect(space.totalBytes == (try bytes(dir)))
        #expect(space.totalBytes <= limit)
        #expect(!space.overBound)
        #expect(space.freeBytes == nil)
        #expect(try outboxFiles(dir) == outbox)
        // What is left reads as before, from the first record of the oldest remaining segment.
        #expect(try readAll(dir).last == message(119))
    }

    @Test("nothing left to remove: every sealed segment goes, the current and the protected ones stay, and it says it is still over")
    func overWithNothingLeft() throws {
        let dir = temporaryDirectory()
        defer { cleanup(dir) }
        let (w, outbox) = try fill(dir)
        let before = try segments(dir)
        let protected = before[before.count - 3]
        w.protectedSegment = protected
        let space = try w.enforce(JournalSizeBound(maxBytes: 1024, minFreeBytes: 0), now: at(200_000))
        #expect(space.overBound)
        #expect(space.problem == nil)
        #expect(try segments(dir) == before.filter { $0 >= protected })
        #expect(try segments(dir).last == w.currentSegment)
        #expect(try outboxFiles(dir) == outbox)
        // Again: nothing more to take, still over.
        let again = try w.enforce(JournalSizeBound(maxBytes: 1024, minFreeBytes: 0), now: at(210_000))
        #expect(again.removed.isEmpty && again.overBound)
        // Writing goes on in the current segment.
        try w.append(message(500))
        try w.commit(now: at(220_000))
        #expect(try readAll(dir).last == message(500))
    }

    @Test("min_free: segments go until the file system has that much free; no max_bytes needed")
    func lowFreeSpace() throws {
        let dir = temporaryDirectory()
        defer { cleanup(dir) }
        let disk = SmallDiskFileSystem(root: dir, capacity: 1 << 40)
        let (w, outbox) = try fill(dir, fileSystem: disk)
        let before = try segments(dir)
        let used = try bytes(dir)
        // Plenty of room: nothing goes.
        let fine = try w.enforce(JournalSizeBound(minFreeBytes: 64 << 10), now: at(200_000))
        #expect(fine.removed.isEmpty && !fine.overBound && fine.freeBytes == (1 << 40) - used)
        // A disk that holds the journal with 1 KiB to spare; 4 KiB must stay free.
        disk.capacity = used + 1024
        let space = try w.enforce(JournalSizeBound(minFreeBytes: 4096), now: at(201_000))
        #expect(space.removed.count >= 3 && space.removed.count <= 4)
        #expect(try segments(dir) == Array(before.dropFirst(space.removed.count)))
        #expect(!space.overBound)
        #expect((space.freeBytes ?? 0) >= 4096)
        #expect(space.freeBytes == (try disk.freeBytes(dir)))
        #expect(try outboxFiles(dir) == outbox)
        // A disk too small for what may not go: every sealed segment goes, and it is still short.
        disk.capacity = try bytes(dir)
        w.protectedSegment = w.currentSegment - 1
        let short = try w.enforce(JournalSizeBound(minFreeBytes: 1 << 30), now: at(202_000))
        #expect(short.overBound)
        #expect(try segments(dir) == [w.currentSegment - 1, w.currentSegment])
        #expect(try outboxFiles(dir) == outbox)
    }

    @Test("cheap when under the bound: a running total of the writer's own commits, the directory listed again only past the bound or after a while")
    func runningTotal() throws {
        let dir = temporaryDirectory()
        defer { cleanup(dir) }
        let disk = SmallDiskFileSystem(root: dir, capacity: 1 << 40)
        let (w, _) = try fill(dir, fileSystem: disk)
        let bound = JournalSizeBound(maxBytes: 1 << 30, minFreeBytes: 0, remeasureAfterMilliseconds: 600_000)
        let first = try w.enforce(bound, now: at(200_000))
        #expect(first.totalBytes == (try bytes(dir)))
        let lists = disk.lists
        for i in 0..<30 {
            try w.append(message(1000 + i))
            try w.commit(now: at(200_000 + Int64(i)))
        }
        let later = try w.enforce(bound, now: at(300_000))
        #expect(disk.lists == lists)                     // no listing: the writer added its own bytes
        #expect(later.totalBytes == (try bytes(dir)))    // and the sum is exact (nobody else wrote)
        // Past the bound by the estimate: measured again before anything goes.
        let tight = JournalSizeBound(maxBytes: later.totalBytes - 1, minFreeBytes: 0)
        let trimmed = try w.enforce(tight, now: at(301_000))
        #expect(disk.lists > lists)
        #expect(trimmed.removed.count == 1)
        #expect(trimmed.totalBytes == (try bytes(dir)))
        // Others write there too (the outbox): seen at the next measurement, after the interval.
        let outbox = try JournalWriter(directory: dir + "/outbox", options: JournalOptions(segmentBytes: 1024), now: at(0))
        try outbox.append(.outbox(time: at(1), data: Array(repeating: 0x7B, count: 500)))
        try outbox.commit(now: at(1))
        #expect(try w.enforce(bound, now: at(302_000)).totalBytes < (try bytes(dir)))
        #expect(try w.enforce(bound, now: at(302_000 + 600_000)).totalBytes == (try bytes(dir)))
    }

    @Test("retention and compaction never take the protected segment or a later one")
    func protectedFromRetention() throws {
        let dir = temporaryDirectory()
        defer { cleanup(dir) }
        let (w, _) = try fill(dir)
        let before = try segments(dir)
        let protected = before[2]
        w.protectedSegment = protected
        let removed = try w.removeSegments(before: at(1_000_000))   // every sealed segment is past retention
        #expect(removed == before.prefix(2).map { dir + "/" + JournalSegments.fileName($0) })
        #expect(try segments(dir) == Array(before.dropFirst(2)))
        #expect(try w.removeSegments(below: w.currentSegment).isEmpty)
        w.protectedSegment = nil
        #expect(try w.removeSegments(below: w.currentSegment).count == before.count - 3)
        #expect(try segments(dir) == [w.currentSegment])
    }

    @Test("a failed writer reopened goes on after what was committed: the failed batch is cut, whatever the fault left")
    func reopenAfterFailure() throws {
        for fault in [FaultyFileSystem.Fault.syncError(EIO), .writeError(ENOSPC), .shortWrite(13)] {
            let dir = temporaryDirectory()
            defer { cleanup(dir) }
            let fs = FaultyFileSystem()
            let w = try JournalWriter(directory: dir, fileSystem: fs, now: at(0))
            try w.append(message(1))
            try w.commit(now: at(1))
            fs.inject(fault)
            if case .shortWrite = fault { fs.inject(.writeError(ENOSPC)) }
            try w.append(message(2))
            #expect(throws: JournalError.self) { try w.commit(now: at(2)) }
            #expect(w.failed != nil)
            try w.reopen(now: at(3))
            #expect(w.failed == nil)
            try w.append(message(3))
            try w.commit(now: at(4))
            #expect(try readAll(dir) == [message(1), message(3)], "\(fault)")
            #expect(try JournalWriter(directory: dir, now: at(5)).recovery.tornTail == nil)
        }
    }
}
