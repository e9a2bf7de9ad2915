import MeltWatchCore

/// Where a record is: its segment file and byte offset.
public struct JournalPosition: Sendable, Equatable, Comparable, CustomStringConvertible {
    public var segment: UInt64
    public var offset: Int

    public static func < (a: JournalPosition, b: JournalPosition) -> Bool {
        (a.segment, a.offset) < (b.segment, b.offset)
    }

    public var description: String { "\(JournalSegments.fileName(segment)) offset \(offset)" }
}

/// A problem found in the journal: the first bad record, or a torn tail.
public struct JournalProblem: Sendable, Equatable, CustomStringConvertible {
    /// The segment file's path.
    public var path: String
    /// Byte offset of the bad frame (or of the bad header, 0).
    public var offset: Int
    public var reason: String

    public var description: String { "\(path): offset \(offset): \(reason)" }
}

/// Naming, listing and scanning of segment files.
enum JournalSegments {
    static let suffix = ".mwj"

    /// `00000000000000000042.mwj`: zero-padded so names sort like numbers.
    static func fileName(_ sequence: UInt64) -> String {
        let digits = String(sequence)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    /// The segment sequences in `directory`, ascending.
    static func list(_ directory: String, fileSystem: any JournalFileSystem) throws(SystemCallError) -> [UInt64] {
        try fileSystem.list(directory).compactMap { name -> UInt64? in
            guard name.hasSuffix(suffix) else { return nil }
            return UInt64(name.dropLast(suffix.count))
        }.sorted()
    }

    /// A segment's whole content.
    /// A segment's first `limit` bytes when given (as ``stream(_:fileSystem:window:body:)`` saw the file).
    static func load(_ path: String, fileSystem: any JournalFileSystem, limit: Int? = nil) throws(SystemCallError) -> [UInt8] {
        let fd = try fileSystem.open(path, write: false, create: false, exclusive: false)
        defer { fileSystem.close(fd) }
        var size = Int(try fileSystem.size(fd, path: path))
        if let limit { size = min(size, limit) }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = try bytes.withUnsafeMutableBytes { b in
                Result { () throws(SystemCallError) -> Int in
                    try fileSystem.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: b[done...]), at: Int64(done), path: path)
                }
            }.get()
            if n == 0 { break }
            done += n
        }
        if done < size { bytes.removeLast(size - done) }
        return bytes
    }

    /// The result of walking one segment's frames.
    struct Scan {
        var records: Int = 0
        /// Offset after the last good frame.
        var validEnd: Int
        /// Where walking stopped on a bad frame, and why; nil when it reached the end cleanly.
        var stop: (offset: Int, frame: JournalFormat.Frame)?
        /// True when some valid frame lies after `stop`: the damage is not a torn tail.
        var validAfterStop = false
    }

    /// Walks the frames of a segment's bytes, calling `body` for each record.
    ///
    /// `resume` continues a walk that ``stream(_:fileSystem:window:body:)`` began: from that frame
    /// offset, with that many records already passed to `body`.
    static func scan(_ bytes: [UInt8], resume: (offset: Int, records: Int)? = nil,
                     body: (Int, JournalRecordView) throws -> Void) rethrows -> Scan? {
        try bytes.withUnsafeBytes { (b) throws -> Scan? in
            guard JournalFormat.parseHeader(b) != nil else { return nil }
            var offset = resume?.offset ?? JournalFormat.headerBytes
            var scan = Scan(records: resume?.records ?? 0, validEnd: offset)
            while true {
                let frame = JournalFormat.frame(at: offset, in: b)
                switch frame {
                case .record(let range, let next):
                    try body(offset, JournalFormat.view(UnsafeRawBufferPointer(rebasing: b[range]))!)
                    scan.records += 1
                    offset = next
                    scan.validEnd = next
                case .end:
                    return scan
                case .incomplete, .corrupt:
                    scan.stop = (offset, frame)
                    // Resynchronise: a valid frame further on means this is damage inside the log.
                    var probe = offset + 8
                    while probe + JournalFormat.frameHeaderBytes <= b.count {
                        if case .record = JournalFormat.frame(at: probe, in: b) {
                            scan.validAfterStop = true
                            break
                        }
                        probe += 8
                    }
                    return scan
                }
            }
        }
    }

    static func describe(_ frame: JournalFormat.Frame) -> String {
        switch frame {
        case .incomplete: "incomplete record (torn write)"
        case .corrupt(let why): why
        case .record, .end: "ok"
        }
    }
}
