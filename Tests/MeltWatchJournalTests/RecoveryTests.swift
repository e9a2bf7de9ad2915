#if canImport(Glibc)
import Glibc
#endif
import MeltWatchCore
import Testing

@testable import MeltWatchJournal

/// Writes `count` committed messages into a fresh journal; returns the directory, the segment
/// path, and each record's start offset (plus the end of the last one).
private func journal(count: Int, payloadBytes: Int = 40) throws -> (dir: String, segment: String, offsets: [Int]) {
    let dir = temporaryDirectory()
    let w = try JournalWriter(directory: dir, now: at(0))
    for i in 0..<count { try w.append(message(i, payloadBytes: payloadBytes)) }
    try w.commit(now: at(1))
    let segment = dir + "/" + JournalSegments.fileName(1)
    var offsets: [Int] = []
    try JournalReader(directory: dir).forEach { p, _ in offsets.append(p.offset) }
    offsets.append(fileBytes(segment).count)
    return (dir, segment, offsets)
}

@Suite("Journal recovery: torn tails are cut, damage is reported, never skipped")
struct RecoveryTests {
    @Test("a torn tail at every byte offset inside the last three records is cut back to the last whole record")
    func tornTailEveryOffset() throws {
        let (dir, segment, offsets) = try journal(count: 6)
        defer { cleanup(dir) }
        let original = fileBytes(segment)
        let firstCut = offsets[offsets.count - 4]
        for cut in firstCut..<original.count {
            let copy = temporaryDirectory()
            defer { cleanup(copy) }
            writeFile(copy + "/" + JournalSegments.fileName(1), Array(original[0..<cut]))
            let whole = offsets.filter { $0 <= cut }.count - 1  // records that end at or before the cut
            let w = try JournalWriter(directory: copy, now: at(10))
            #expect(w.recovery.problem == nil, "cut at \(cut)")
            #expect(w.recovery.records == whole, "cut at \(cut)")
            let boundary = offsets[whole]
            if cut == boundary {
                #expect(w.recovery.tornTail == nil, "cut at \(cut)")
            } else {
                #expect(w.recovery.tornTail?.offset == boundary, "cut at \(cut)")
                #expect(w.recovery.tornTail?.bytes == cut - boundary, "cut at \(cut)")
                #expect(fileBytes(w.recovery.tornTail!.savedTo) == Array(original[boundary..<cut]), "cut at \(cut)")
            }
            try w.append(message(100))
            try w.commit(now: at(11))
            #expect(try readAll(copy) == (0..<whole).map { message($0) } + [message(100)], "cut at \(cut)")
            #expect(try JournalReader(directory: copy).verify().problem == nil, "cut at \(cut)")
        }
    }

    @Test("zeros where the tail should be (a crash after the file grew) are a torn tail too")
    func zeroFilledTail() throws {
        let (dir, segment, offsets) = try journal(count: 3)
        defer { cleanup(dir) }
        writeFile(segment, fileBytes(segment) + [UInt8](repeating: 0, count: 4096))
        let w = try JournalWriter(directory: dir, now: at(10))
        #expect(w.recovery.tornTail?.offset == offsets.last)
        #expect(w.recovery.records == 3)
    }

    @Test("a bit flip in a sealed segment: verify and read name the first bad offset; nothing is skipped",
          arguments: [0, 1, 7, 8, 20, 45])
    func bitFlipSealed(byte: Int) throws {
        let dir = temporaryDirectory()
        defer { cleanup(dir) }
        let w = try JournalWriter(directory: dir, options: JournalOptions(segmentBytes: 512), now: at(0))
        for i in 0..<30 {
            try w.append(message(i))
            try w.commit(now: at(Int64(i)))
        }
        let sealed = dir + "/" + JournalSegments.fileName(1)
        var offsets: [Int] = []
        try JournalReader(directory: dir).forEach { p, _ in if p.segment == 1 { offsets.append(p.offset) } }
        let victim = offsets[1]
        var bytes = fileBytes(sealed)
        bytes[victim + byte] ^= 0x10
        writeFile(sealed, bytes)
        let v = try JournalReader(directory: dir).verify()
        #expect(v.problem?.path == sealed)
        #expect(v.problem?.offset == victim)
        #expect(throws: JournalError.self) { try readAll(dir) }
        // The writer only recovers the last segment; its damage report is for damage there.
        #expect(try JournalWriter(directory: dir, now: at(100)).recovery.problem == nil)
    }

    @Test("damage inside the last segment with whole records after it is not a torn tail: reported, kept, writing moves on")
    func damageInsideLastSegment() throws {
        let (dir, segment, offsets) = try journal(count: 5)
        defer { cleanup(dir) }
        var bytes = fileBytes(segment)
        bytes[offsets[2] + 9] ^= 0x01
        writeFile(segment, bytes)
        let w = try JournalWriter(directory: dir, now: at(10))
        #expect(w.recovery.problem == JournalProblem(path: segment, offset: offsets[2], reason: "checksum mismatch"))
        #expect(w.recovery.tornTail == nil)
        #expect(fileBytes(segment) == bytes)  // evidence left as it is
        try w.append(message(9))
        try w.commit(now: at(11))
        #expect(try JournalReader(directory: dir).segments() == [1, 2])
    }

    @Test("a segment whose header was torn is set aside and replaced")
    func tornHeader() throws {
        let dir = temporaryDirectory()
        defer { cleanup(dir) }
        writeFile(dir + "/" + JournalSegments.fileName(1), Array(JournalFormat.header(sequence: 1, created: at(0))[0..<10]))
        let w = try JournalWriter(directory: dir, now: at(1))
        #expect(w.recovery.tornTail?.offset == 0 && w.recovery.tornTail?.bytes == 10)
        try w.append(message(1))
        try w.commit(now: at(2))
        #expect(try readAll(dir) == [message(1)])
    }
}

@Suite("Journal under injected system-call faults")
struct FaultTests {
    @Test("EINTR and short writes are retried until every byte is written")
    func interruptedAndShortWrites() throws {
        let dir = temporaryDirectory()
        defer { cleanup(dir) }
        let fs = FaultyFileSystem()
        let w = try JournalWriter(directory: dir, fileSystem: fs, now: at(0))
        fs.inject(.writeError(EINTR), .shortWrite(3), .writeError(EINTR), .shortWrite(1), .shortWrite(17))
        for i in 0..<10 { try w.append(message(i)) }
        try w.commit(now: at(1))
        #expect(try readAll(dir) == (0..<10).map { message($0) })
    }

    @Test("ENOSPC, EIO or a failed fdatasync: the commit fails and the writer refuses all further work",
          arguments: [FaultyFileSystem.Fault.writeError(ENOSPC), .writeError(EIO), .syncError(EIO), .syncError(ENOSPC)])
    func fatalFaults(fault: FaultyFileSystem.Fault) throws {
        let dir = temporaryDirectory()
        defer { cleanup(dir) }
        let fs = FaultyFileSystem()
        let w = try JournalWriter(directory: dir, fileSystem: fs, now: at(0))
        try w.append(message(1))
        try w.commit(now: at(1))
        fs.inject(fault)
        try w.append(message(2))
        #expect(throws: JournalError.self) { try w.commit(now: at(2)) }
        // Never again on this descriptor: a retried fsync can report success for lost data.
        let syncs = fs.syncs
        #expect {
            try w.append(message(3))
        } throws: { error in
            if case .unusable = error as? JournalError { return true }
            return false
        }
        #expect(throws: JournalError.self) { try w.commit(now: at(3)) }
        #expect(fs.syncs == syncs)
        // A restart recovers: everything committed before is there; the failed batch may or may not
        // be (it was never acknowledged), and nothing after it.
        let records = try JournalWriter(directory: dir, now: at(4)).recovery.records
        #expect(records == 1 || records == 2)
        #expect(try Array(readAll(dir).prefix(1)) == [message(1)])
    }

    @Test("a short write followed by ENOSPC leaves a torn record that recovery cuts")
    func tornByFailure() throws {
        let dir = temporaryDirectory()
        defer { cleanup(dir) }
        let fs = FaultyFileSystem()
        let w = try JournalWriter(directory: dir, fileSystem: fs, now: at(0))
        try w.append(message(1))
        try w.commit(now: at(1))
        fs.inject(.shortWrite(13), .writeError(ENOSPC))
        try w.append(message(2))
        #expect(throws: JournalError.self) { try w.commit(now: at(2)) }
        let again = try JournalWriter(directory: dir, now: at(3))
        #expect(again.recovery.tornTail?.bytes == 13)
        #expect(try readAll(dir) == [message(1)])
    }
}
