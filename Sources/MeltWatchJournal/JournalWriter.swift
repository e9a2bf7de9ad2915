import MeltWatchCore

/// Why the journal cannot go on.
public enum JournalError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A system call failed. After a failed write or `fdatasync` the writer is unusable: the data
    /// may already be lost from the page cache, and retrying on the same descriptor can report
    /// success for data that never reached the disk (PostgreSQL's fsync lesson). Stop acknowledging
    /// and restart: recovery cuts the torn tail.
    case system(SystemCallError)
    /// The writer failed earlier (with this error) and refuses further work.
    case unusable(SystemCallError)
    /// A record cannot be read back: damage inside the log, never skipped silently.
    case integrity(JournalProblem)

    public var description: String {
        switch self {
        case .system(let e): "journal I/O failed: \(e)"
        case .unusable(let e): "journal unusable after an earlier failure: \(e)"
        case .integrity(let p): "journal integrity: \(p)"
        }
    }
}

/// What recovery found when the writer opened the journal.
public struct JournalRecovery: Sendable, Equatable {
    /// A torn tail cut from the last segment (a crash mid-write): where, how many bytes, and the file
    /// the cut bytes were saved to.
    public var tornTail: (path: String, offset: Int, bytes: Int, savedTo: String)?
    /// Damage inside the last segment that is not a torn tail: the journal-integrity alarm's cause.
    /// The damaged segment is left as it is and writing continues in a new one.
    public var problem: JournalProblem?
    /// Records found in the last segment.
    public var records: Int

    public static func == (a: JournalRecovery, b: JournalRecovery) -> Bool {
        a.problem == b.problem && a.records == b.records && a.tornTail?.path == b.tornTail?.path
            && a.tornTail?.offset == b.tornTail?.offset && a.tornTail?.bytes == b.tornTail?.bytes
    }
}

/// Tuning of the journal.
public struct JournalOptions: Sendable {
    /// A segment is sealed and a new one started once it holds this many bytes.
    public var segmentBytes: Int
    /// Whether a commit waits for `fdatasync`. The journal always does (acknowledgements wait for
    /// it); the alarm outbox does not: its events are recomputed from the journal after a crash.
    public var syncOnCommit: Bool

    /// Creates options; segments of 64 MiB by default.
    public init(segmentBytes: Int = 64 << 20, syncOnCommit: Bool = true) {
        self.segmentBytes = max(JournalFormat.headerBytes + 64, segmentBytes)
        self.syncOnCommit = syncOnCommit
    }
}

/// Appends records to segment files and makes them durable in groups (one `fdatasync` per commit).
///
/// Used by one thread (the ingest thread): `append` encodes into memory, `commit` writes and syncs.
/// Only what a `commit` returned from is durable; the caller acknowledges messages to the broker
/// after that. Opening runs recovery on the last segment (see ``JournalRecovery``).
public final class JournalWriter {
    public let directory: String
    public let options: JournalOptions
    /// What opening the journal found.
    public private(set) var recovery: JournalRecovery
    /// Bytes made durable since opening.
    public private(set) var bytesCommitted: UInt64 = 0
    /// Records made durable since opening.
    public private(set) var recordsCommitted: UInt64 = 0

    let fileSystem: any JournalFileSystem
    private var fd: Int32 = -1
    private(set) var sequence: UInt64 = 0
    /// The daemon clock steps this process made: (the newest segment stamped in the old base, delta).
    private var clockSteps: [(upTo: UInt64, delta: Int64)] = []
    private var path = ""
    /// Bytes in the current segment file, committed or written.
    private var segmentSize = 0
    private var buffer: [UInt8] = []
    private var bufferedRecords = 0
    private var failure: SystemCallError?
    /// Where the failed commit began (its segment and that segment's committed length): what
    /// ``reopen(now:)`` cuts away, since it was never reported durable.
    private var uncommitted: (path: String, length: Int64)?
    /// Bytes this writer put into segment files (records and headers), for the size bound's estimate.
    private(set) var bytesWritten: UInt64 = 0
    /// The last exact measurement of the directory: its bytes, ``bytesWritten`` then, and when.
    var measured: (bytes: UInt64, written: UInt64, at: EventTime)?

    /// Segments numbered from this one on are never removed: not by retention, compaction or the
    /// size bound (the segment holding the latest engine checkpoint; nil: none protected).
    public var protectedSegment: UInt64?

    /// Opens (creating if needed) the journal in `directory` and recovers its last segment.
    public init(directory: String, options: JournalOptions = JournalOptions(), fileSystem: any JournalFileSystem = POSIXFileSystem(),
                now: EventTime) throws(JournalError) {
        self.directory = directory
        self.options = options
        self.fileSystem = fileSystem
        recovery = JournalRecovery(tornTail: nil, problem: nil, records: 0)
        buffer.reserveCapacity(1 << 20)
        do {
            try openLast(now: now)
        } catch {
            throw .system(error)
        }
    }

    deinit { if fd >= 0 { fileSystem.close(fd) } }

    /// Bytes appended but not yet committed.
    public var pendingBytes: Int { buffer.count }
    /// Records appended but not yet committed.
    public var pendingRecords: Int { bufferedRecords }

    /// Appends a received message (not durable until ``commit(now:)``).
    public func appendMessage(topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, qos: UInt8,
                              receivedAt: EventTime) throws(JournalError) {
        if let failure { throw .unusable(failure) }
        JournalFormat.appendMessage(topic: topic, payload: payload, qos: qos, receivedAt: receivedAt, to: &buffer)
        bufferedRecords += 1
    }

    /// Appends any record (not durable until ``commit(now:)``).
    public func append(_ record: JournalRecord) throws(JournalError) {
        if let failure { throw .unusable(failure) }
        JournalFormat.append(record, to: &buffer)
        bufferedRecords += 1
    }

    /// Writes what was appended and waits until it is on stable storage; starts a new segment when
    /// the current one is full. Any failure makes the writer unusable.
    public func commit(now: EventTime) throws(JournalError) {
        if let failure { throw .unusable(failure) }
        guard !buffer.isEmpty else { return }
        do {
            try writeAll(buffer)
            if options.syncOnCommit { try fileSystem.dataSync(fd, path: path) }
        } catch {
            failure = error
            uncommitted = (path, Int64(segmentSize))
            throw .system(error)
        }
        segmentSize += buffer.count
        bytesCommitted += UInt64(buffer.count)
        bytesWritten += UInt64(buffer.count)
        recordsCommitted += UInt64(bufferedRecords)
        buffer.removeAll(keepingCapacity: true)
        bufferedRecords = 0
        if segmentSize >= options.segmentBytes {
            do {
                fileSystem.close(fd)
                fd = -1
                try startSegment(sequence + 1, now: now)
            } catch {
                failure = error
                throw .system(error)
            }
        }
    }

    /// The error the writer failed with, nil while it is usable.
    public var failed: SystemCallError? { failure }

    /// Makes a failed writer usable again, on a new descriptor: first cuts what the failed commit
    /// may have left in its segment (never reported durable, it must not come back as if it were),
    /// then recovers the last segment as opening does. Nothing is retried on the old descriptor.
    /// Throws, and stays unusable, when the file system still fails. For a writer whose caller can
    /// go on after a failed commit (the alarm outbox); the message journal's caller instead stops
    /// acknowledging and restarts. Does nothing while the writer is usable.
    public func reopen(now: EventTime) throws(JournalError) {
        guard failure != nil else { return }
        if fd >= 0 {
            fileSystem.close(fd)
            fd = -1
        }
        buffer.removeAll(keepingCapacity: true)
        bufferedRecords = 0
        do {
            if let cut = uncommitted {
                let f = try fileSystem.open(cut.path, write: true, create: false, exclusive: false)
                defer { fileSystem.close(f) }
                if try fileSystem.size(f, path: cut.path) > cut.length {
                    try fileSystem.truncate(f, to: cut.length, path: cut.path)
                }
                try fileSystem.dataSync(f, path: cut.path)
                uncommitted = nil
            }
            recovery = JournalRecovery(tornTail: nil, problem: nil, records: 0)
            try openLast(now: now)
            // The segment may have been created by the failed call, its directory entry not yet durable.
            try fileSystem.syncDirectory(directory)
        } catch {
            if fd >= 0 {
                fileSystem.close(fd)
                fd = -1
            }
            failure = error
            throw .system(error)
        }
        failure = nil
        measured = nil
    }

    /// Removes sealed segments that hold nothing newer than `cutoff` (retention); never the current
    /// one, nor ``protectedSegment`` and after. Returns the removed paths.
    @discardableResult
    public func removeSegments(before cutoff: EventTime) throws(JournalError) -> [String] {
        do {
            let sequences = try JournalSegments.list(directory, fileSystem: fileSystem).filter { $0 < sequence }
            var expired: [UInt64] = []
            // A segment ends where the next one was created: remove it when that is before the cutoff.
            for (i, s) in sequences.enumerated() {
                let nextSequence = i + 1 < sequences.count ? sequences[i + 1] : sequence
                guard let nextCreated = try created(nextSequence)?.adding(milliseconds: stepSince(nextSequence)),
                      nextCreated < cutoff else { break }
                expired.append(s)
            }
            return try remove(expired)
        } catch {
            throw .system(error)
        }
    }

    /// The daemon clock was rebased by `delta` ms (the wall clock stepped): the segments written so
    /// far were stamped in the old base, so retention moves their creation times with it and a step
    /// forward (even by years) ages no segment. Known for this process's lifetime.
    public func clockStepped(by delta: Int64) {
        clockSteps.append((upTo: sequence, delta: delta))
    }

    /// The sum of the clock steps made after segment `s` was created.
    private func stepSince(_ s: UInt64) -> Int64 {
        clockSteps.reduce(0) { $0 + ($1.upTo >= s ? $1.delta : 0) }
    }

    /// Where the next appended record will be, or a point before it: every record appended so far
    /// lies before this position, every later one at or after it (a commit that starts a new segment
    /// moves later records further on). A checkpoint names it as the point its state belongs to.
    public var nextPosition: JournalPosition { JournalPosition(segment: sequence, offset: segmentSize + buffer.count) }

    /// The sequence number of the segment appends go to now.
    public var currentSegment: UInt64 { sequence }

    /// Removes the sealed segments numbered below `limit` (compaction by a writer that knows they
    /// are no longer needed), never ``protectedSegment`` and after. Returns the removed paths.
    @discardableResult
    public func removeSegments(below limit: UInt64) throws(JournalError) -> [String] {
        do {
            return try remove(try JournalSegments.list(directory, fileSystem: fileSystem).filter { $0 < min(limit, sequence) })
        } catch {
            throw .system(error)
        }
    }

    // MARK: - Internals

    /// Opens the last segment for appending after recovering it, or starts a new one.
    private func openLast(now: EventTime) throws(SystemCallError) {
        try fileSystem.makeDirectory(directory)
        let sequences = try JournalSegments.list(directory, fileSystem: fileSystem)
        if let last = sequences.last, try recoverLast(last) {
            sequence = last
            path = directory + "/" + JournalSegments.fileName(last)
            fd = try fileSystem.open(path, write: true, create: false, exclusive: false)
            segmentSize = Int(try fileSystem.size(fd, path: path))
        } else {
            try startSegment((sequences.last ?? 0) + 1, now: now)
        }
    }

    /// True for a sealed segment that no one has protected: the only kind anything removes.
    func removable(_ s: UInt64) -> Bool {
        s < sequence && s < (protectedSegment ?? .max)
    }

    /// Removes the given sealed segments, then makes the directory durable.
    private func remove(_ sequences: [UInt64]) throws(SystemCallError) -> [String] {
        var removed: [String] = []
        measured = nil  // the size bound measures again
        for s in sequences where removable(s) {
            let p = directory + "/" + JournalSegments.fileName(s)
            try fileSystem.remove(p)
            removed.append(p)
        }
        if !removed.isEmpty { try fileSystem.syncDirectory(directory) }
        return removed
    }

    private func created(_ s: UInt64) throws(SystemCallError) -> EventTime? {
        let p = directory + "/" + JournalSegments.fileName(s)
        let fd = try fileSystem.open(p, write: false, create: false, exclusive: false)
        defer { fileSystem.close(fd) }
        var header = [UInt8](repeating: 0, count: JournalFormat.headerBytes)
        let n = try header.withUnsafeMutableBytes { b in
            Result { () throws(SystemCallError) -> Int in try fileSystem.read(fd, into: b, at: 0, path: p) }
        }.get()
        guard n == header.count else { return nil }
        return header.withUnsafeBytes { JournalFormat.parseHeader($0)?.created }
    }

    /// Writes every byte, retrying EINTR and continuing after short writes.
    private func writeAll(_ bytes: [UInt8]) throws(SystemCallError) {
        var done = 0
        while done < bytes.count {
            let result = bytes.withUnsafeBytes { b in
                Result { () throws(SystemCallError) -> Int in
                    try fileSystem.write(fd, UnsafeRawBufferPointer(rebasing: b[done...]), path: path)
                }
            }
            if case .failure(let e) = result, e.errno == EINTR_ { continue }
            let n = try result.get()
            guard n > 0 else { throw SystemCallError(call: "write", path: path, errno: EIO_) }
            done += n
        }
    }

    /// Creates segment `s` with its header, durable along with its directory entry.
    private func startSegment(_ s: UInt64, now: EventTime) throws(SystemCallError) {
        sequence = s
        path = directory + "/" + JournalSegments.fileName(s)
        fd = try fileSystem.open(path, write: true, create: true, exclusive: true)
        try writeAll(JournalFormat.header(sequence: s, created: now))
        bytesWritten += UInt64(JournalFormat.headerBytes)
        try fileSystem.dataSync(fd, path: path)
        try fileSystem.syncDirectory(directory)
        segmentSize = JournalFormat.headerBytes
    }

    /// Checks the last segment; cuts a torn tail (keeping the bytes aside). Returns false when the
    /// segment cannot be appended to (damaged inside, or no valid header): writing then continues in
    /// a new segment and the damage is reported.
    private func recoverLast(_ s: UInt64) throws(SystemCallError) -> Bool {
        let p = directory + "/" + JournalSegments.fileName(s)
        let bytes = try JournalSegments.load(p, fileSystem: fileSystem)
        guard let scan = JournalSegments.scan(bytes, body: { _, _ in }) else {
            // A crash while the header was being written leaves a short file; anything else is damage.
            if bytes.count < JournalFormat.headerBytes {
                try saveAside(bytes, from: 0, segment: s, path: p)
                try fileSystem.remove(p)
                try fileSystem.syncDirectory(directory)
                recovery.tornTail = (p, 0, bytes.count, tornPath(s, 0))
            } else {
                recovery.problem = JournalProblem(path: p, offset: 0, reason: "segment header damaged")
            }
            return false
        }
        recovery.records = scan.records
        guard let stop = scan.stop else { return true }
        if scan.validAfterStop {
            recovery.problem = JournalProblem(path: p, offset: stop.offset, reason: JournalSegments.describe(stop.frame))
            return false
        }
        try saveAside(bytes, from: stop.offset, segment: s, path: p)
        let fd = try fileSystem.open(p, write: true, create: false, exclusive: false)
        defer { fileSystem.close(fd) }
        try fileSystem.truncate(fd, to: Int64(stop.offset), path: p)
        try fileSystem.dataSync(fd, path: p)
        recovery.tornTail = (p, stop.offset, bytes.count - stop.offset, tornPath(s, stop.offset))
        return true
    }

    private func tornPath(_ s: UInt64, _ offset: Int) -> String {
        directory + "/torn/" + JournalSegments.fileName(s) + "." + String(offset)
    }

    private func saveAside(_ bytes: [UInt8], from offset: Int, segment s: UInt64, path p: String) throws(SystemCallError) {
        try fileSystem.makeDirectory(directory + "/torn")
        let aside = tornPath(s, offset)
        let fd = try fileSystem.open(aside, write: true, create: true, exclusive: false)
        defer { fileSystem.close(fd) }
        var done = offset
        while done < bytes.count {
            let n = try bytes.withUnsafeBytes { b in
                Result { () throws(SystemCallError) -> Int in
                    try fileSystem.write(fd, UnsafeRawBufferPointer(rebasing: b[done...]), path: aside)
                }
            }.get()
            guard n > 0 else { throw SystemCallError(call: "write", path: aside, errno: EIO_) }
            done += n
        }
        try fileSystem.dataSync(fd, path: aside)
        try fileSystem.syncDirectory(directory + "/torn")
    }
}
