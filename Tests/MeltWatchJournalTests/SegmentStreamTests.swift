import MeltWatchCore
import Testing

@testable import MeltWatchJournal

/// What a walk over one segment reported: every record with its offset, and the verdict.
private struct Walk: Equatable {
    var records: [Int: JournalRecord] = [:]
    var order: [Int] = []
    var scanned: Int?
    var validEnd: Int?
    var stop: Int?
    var reason: String?
    var validAfterStop: Bool?

    init(_ scan: JournalSegments.Scan?, records: [(Int, JournalRecord)]) {
        for (offset, record) in records {
            self.records[offset] = record
            order.append(offset)
        }
        scanned = scan?.records
        validEnd = scan?.validEnd
        stop = scan?.stop?.offset
        reason = scan?.stop.map { JournalSegments.describe($0.frame) }
        validAfterStop = scan?.validAfterStop
    }
}

/// The real file system handing out at most `chunk` bytes per read, as a pipe or a network file might.
private struct ChunkyFileSystem: JournalFileSystem {
    let chunk: Int
    private let real = POSIXFileSystem()

    init(chunk: Int) { self.chunk = chunk }

    func open(_ path: String, write: Bool, create: Bool, exclusive: Bool) throws(SystemCallError) -> Int32 {
        try real.open(path, write: write, create: create, exclusive: exclusive)
    }
    func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(SystemCallError) -> Int {
        try real.write(fd, bytes, path: path)
    }
    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64, path: String) throws(SystemCallError) -> Int {
        try real.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(chunk, buffer.count)]), at: offset, path: path)
    }
    func dataSync(_ fd: Int32, path: String) throws(SystemCallError) { try real.dataSync(fd, path: path) }
    func syncDirectory(_ path: String) throws(SystemCallError) { try real.syncDirectory(path) }
    func truncate(_ fd: Int32, to length: Int64, path: String) throws(SystemCallError) { try real.truncate(fd, to: length, path: path) }
    func size(_ fd: Int32, path: String) throws(SystemCallError) -> Int64 { try real.size(fd, path: path) }
    func close(_ fd: Int32) { real.close(fd) }
    func list(_ directory: String) throws(SystemCallError) -> [String] { try real.list(directory) }
    func makeDirectory(_ path: String) throws(SystemCallError) { try real.makeDirectory(path) }
    func remove(_ path: String) throws(SystemCallError) { try real.remove(path) }
}

@Suite("Reading a segment through a window gives what reading it whole gives")
struct SegmentStreamTests {
    /// One segment of messages of varied sizes (so frames straddle every window size below) and ticks.
    private func writeSegment(_ dir: String) throws -> String {
        let w = try JournalWriter(directory: dir, now: at(0))
        for i in 0..<300 {
            try w.append(message(i, payloadBytes: 20 + (i * 37) % 300))
            if i % 7 == 0 { try w.append(.tick(at(Int64(i)))) }
        }
        try w.commit(now: at(300))
        return dir + "/" + JournalSegments.fileName(try JournalReader(directory: dir).segments()[0])
    }

    private func whole(_ path: String) throws -> Walk {
        var seen: [(Int, JournalRecord)] = []
        let scan = JournalSegments.scan(try JournalSegments.load(path, fileSystem: POSIXFileSystem())) { seen.append(($0, $1.record)) }
        return Walk(scan, records: seen)
    }

    private func streamed(_ path: String, window: Int, fileSystem: any JournalFileSystem = POSIXFileSystem()) throws -> Walk {
        var seen: [(Int, JournalRecord)] = []
        var buffer: [UInt8] = []
        let scan = try JournalSegments.stream(path, fileSystem: fileSystem, window: &buffer, windowBytes: window) {
            seen.append(($0, $1.record))
        }
        return Walk(scan, records: seen)
    }

    /// Window sizes: smaller than the header, than some frames, odd, and the default.
    static let windows = [16, 100, 257, 1_000, 4_096, JournalSegments.streamWindowBytes]

    @Test("a clean segment, every window size, short reads too", arguments: windows)
    func clean(_ window: Int) throws {
        let dir = temporaryDirectory()
        defer { cleanup(dir) }
        let path = try writeSegment(dir)
        let expected = try whole(path)
        #expect(expected.order.count == 300 + 43 && expected.stop == nil)
        #expect(try streamed(path, window: window) == expected)
        #expect(try streamed(path, window: window, fileSystem: ChunkyFileSystem(chunk: 37)) == expected)
    }

    @Test("damage, a torn tail, a garbage length and a bad header get the same verdict at the same offset",
          arguments: windows)
    func damaged(_ window: Int) throws {
        let dir = temporaryDirectory()
        defer { cleanup(dir) }
        let path = try writeSegment(dir)
        let original = fileBytes(path)
        let offsets = try whole(path).order
        let middle = offsets[offsets.count / 2], late = offsets[offsets.count - 3]
        var cases: [(String, [UInt8])] = []
        var flipped = original
        flipped[middle + 12] ^= 0x40  // a body byte: checksum mismatch, whole records after it
        cases.append(("flipped byte", flipped))
        cases.append(("torn tail", Array(original[0..<(late + 13)])))
        var garbage = original
        garbage.replaceSubrange(middle..<(middle + 4), with: [0xFF, 0xFF, 0xFF, 0x7F])  // length out of range
        cases.append(("garbage length", garbage))
        var zeroed = original
        for i in late..<zeroed.count { zeroed[i] = 0 }  // the file grew, the data never came
        cases.append(("zeros at the end", zeroed))
        cases.append(("short header", Array(original[0..<20])))
        var header = original
        header[9] ^= 1
        cases.append(("bad header checksum", header))
        for (name, bytes) in cases {
            writeFile(path, bytes)
            let expected = try whole(path)
            #expect(try streamed(path, window: window) == expected, "\(name)")
            #expect(try streamed(path, window: window, fileSystem: ChunkyFileSystem(chunk: 61)) == expected, "\(name)")
        }
    }

    @Test("a reader crossing segments reuses its window and stops at damage in a sealed segment")
    func readerAcrossSegments() throws {
        let dir = temporaryDirectory()
        defer { cleanup(dir) }
        let w = try JournalWriter(directory: dir, options: JournalOptions(segmentBytes: 4096), now: at(0))
        for i in 0..<200 {
            try w.append(message(i, payloadBytes: 10 + i % 90))
            try w.commit(now: at(Int64(i)))  // segments roll over at a commit
        }
        try #require(try JournalReader(directory: dir).segments().count > 3)
        #expect(try readAll(dir) == (0..<200).map { message($0, payloadBytes: 10 + $0 % 90) })

        let second = dir + "/" + JournalSegments.fileName(try JournalReader(directory: dir).segments()[1])
        var bytes = fileBytes(second)
        bytes[JournalFormat.headerBytes + 20] ^= 0x01
        writeFile(second, bytes)
        #expect(throws: JournalError.self) { try readAll(dir) }
    }
}
