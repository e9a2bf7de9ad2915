import MeltWatchCore

/// Reads a journal back in order: for `replay`, `report`, `journal export` and `journal verify`.
public struct JournalReader: Sendable {
    public let directory: String
    private let fileSystem: any JournalFileSystem

    /// A reader of the journal in `directory`.
    public init(directory: String, fileSystem: any JournalFileSystem = POSIXFileSystem()) {
        self.directory = directory
        self.fileSystem = fileSystem
    }

    /// The segment sequences, ascending.
    public func segments() throws(JournalError) -> [UInt64] {
        do { return try JournalSegments.list(directory, fileSystem: fileSystem) } catch { throw .system(error) }
    }

    /// Calls `body` with every record whose time lies in `[from, to]` (either bound optional), in
    /// journal order. Damage anywhere stops the read with ``JournalError/integrity(_:)`` naming the
    /// first bad offset: a gap in the record is never skipped silently. A torn tail of the last
    /// segment (the writer recovers it on its next start) ends the read there.
    public func forEach(from: EventTime? = nil, to: EventTime? = nil,
                        _ body: (JournalPosition, JournalRecord) throws -> Void) throws {
        try forEachView(from: from, to: to) { position, view in try body(position, view.record) }
    }

    /// ``forEach(from:to:_:)`` without copying: each record's fields point into the segment's bytes
    /// and are valid only during the call.
    /// `segments` limits the read to the segments whose sequence lies in it (recovery reads from a
    /// checkpoint's segment on, and looks for checkpoints from the newest segment back).
    public func forEachView(from: EventTime? = nil, to: EventTime? = nil, segments range: ClosedRange<UInt64>? = nil,
                            _ body: (JournalPosition, JournalRecordView) throws -> Void) throws {
        let sequences = try segments()
        var window: [UInt8] = []  // one read window for all segments (see `JournalSegments.stream`)
        for (i, s) in sequences.enumerated() {
            if let range, !range.contains(s) { continue }
            let p = directory + "/" + JournalSegments.fileName(s)
            let scan = try JournalSegments.stream(p, fileSystem: fileSystem, window: &window) { offset, record in
                let t = record.time
                if let from, t < from { return }
                if let to, t > to { return }
                try body(JournalPosition(segment: s, offset: offset), record)
            }
            guard let scan else {
                throw JournalError.integrity(JournalProblem(path: p, offset: 0, reason: "segment header missing or damaged"))
            }
            if let stop = scan.stop {
                let isTornTail = i == sequences.count - 1 && !scan.validAfterStop
                if !isTornTail {
                    throw JournalError.integrity(JournalProblem(path: p, offset: stop.offset, reason: JournalSegments.describe(stop.frame)))
                }
            }
        }
    }

    /// What `journal verify` found.
    public struct Verification: Sendable, Equatable {
        public var segments = 0
        public var records = 0
        public var bytes = 0
        /// The first bad frame (a torn tail included), nil when every record's checksum holds.
        public var problem: JournalProblem?
    }

    /// Checks every record's checksum in every segment (or in those numbered below `limit`); stops
    /// at the first bad one.
    public func verify(segmentsBelow limit: UInt64? = nil) throws(JournalError) -> Verification {
        var v = Verification()
        for s in try segments() where limit.map({ s < $0 }) ?? true {
            let p = directory + "/" + JournalSegments.fileName(s)
            let bytes: [UInt8]
            do { bytes = try JournalSegments.load(p, fileSystem: fileSystem) } catch { throw .system(error) }
            v.segments += 1
            v.bytes += bytes.count
            guard let scan = JournalSegments.scan(bytes, body: { _, _ in }) else {
                v.problem = JournalProblem(path: p, offset: 0, reason: "segment header missing or damaged")
                return v
            }
            v.records += scan.records
            if let stop = scan.stop {
                v.problem = JournalProblem(path: p, offset: stop.offset, reason: JournalSegments.describe(stop.frame))
                return v
            }
        }
        return v
    }
}
