import MeltWatchCore

/// The journal's size bound (config `journal.max_bytes`, `journal.min_free`): so that one runaway
/// gateway cannot fill the disk and crash-loop the daemon.
public struct JournalSizeBound: Sendable, Equatable {
    /// The most bytes the journal directory may hold, everything in it counted (the outbox and the
    /// torn tails too); nil: no such bound.
    public var maxBytes: UInt64?
    /// Free bytes to keep on the file system holding the journal; 0: not checked.
    public var minFreeBytes: UInt64
    /// How long the running total of the directory's bytes is trusted before it is measured again
    /// (others write there too: the outbox, recovery's torn tails).
    public var remeasureAfterMilliseconds: Int64

    /// A bound; by default only the free space is kept (1 GiB), as the config's defaults say.
    public init(maxBytes: UInt64? = nil, minFreeBytes: UInt64 = 1 << 30, remeasureAfterMilliseconds: Int64 = 600_000) {
        self.maxBytes = maxBytes
        self.minFreeBytes = minFreeBytes
        self.remeasureAfterMilliseconds = remeasureAfterMilliseconds
    }

    /// False when neither limit is set: nothing to check.
    public var isSet: Bool { maxBytes != nil || minFreeBytes > 0 }

    /// Whether a directory of `total` bytes on a file system with `free` bytes left is past the bound.
    func exceeded(total: UInt64, free: UInt64?) -> Bool {
        if let maxBytes, total > maxBytes { return true }
        if let free, free < minFreeBytes { return true }
        return false
    }
}

/// What one check of the size bound found and did.
public struct JournalSpace: Sendable, Equatable {
    /// A segment the bound removed.
    public struct Removed: Sendable, Equatable {
        public var path: String
        public var bytes: UInt64
    }

    /// The segments removed, oldest first.
    public var removed: [Removed]
    /// The journal directory's bytes after the removals, everything in it counted.
    public var totalBytes: UInt64
    /// The file system's free bytes after the removals (measured before them, plus what they freed);
    /// nil when `min_free` is 0.
    public var freeBytes: UInt64?
    /// Still past the bound and nothing left that may go: what remains is the current segment, the
    /// protected ones, the outbox and the torn tails.
    public var overBound: Bool
    /// A removal failed: the check stopped there (the segments before it are in ``removed``).
    public var problem: SystemCallError?
}

extension JournalWriter {
    /// Keeps the journal within `bound`: while the directory holds more than `maxBytes` or the file
    /// system has less than `minFreeBytes` free, removes the oldest sealed segment. Never the
    /// current segment, never ``protectedSegment`` or a later one, never anything in a
    /// subdirectory (the outbox in `outbox/`, `torn/`), though their bytes count.
    ///
    /// Cheap enough to call every few seconds: the directory's bytes are a running total (measured
    /// once, then this writer's own writes added) that is measured again when it says the bound is
    /// passed, before anything is removed, and after `remeasureAfterMilliseconds`; the free space is
    /// one `statvfs`.
    public func enforce(_ bound: JournalSizeBound, now: EventTime) throws(JournalError) -> JournalSpace {
        do {
            return try enforceBound(bound, now: now)
        } catch {
            measured = nil
            throw .system(error)
        }
    }

    private func enforceBound(_ bound: JournalSizeBound, now: EventTime) throws(SystemCallError) -> JournalSpace {
        guard bound.isSet else { return JournalSpace(removed: [], totalBytes: measured?.bytes ?? 0, freeBytes: nil, overBound: false) }
        let free = bound.minFreeBytes > 0 ? try fileSystem.freeBytes(directory) : nil
        var total: UInt64
        if let m = measured, abs(now.milliseconds - m.at.milliseconds) < bound.remeasureAfterMilliseconds {
            total = m.bytes + (bytesWritten - m.written)
            if let max = bound.maxBytes, total > max { total = try measure(now) }
        } else {
            total = try measure(now)
        }
        guard bound.exceeded(total: total, free: free) else {
            return JournalSpace(removed: [], totalBytes: total, freeBytes: free, overBound: false)
        }
        var removed: [JournalSpace.Removed] = []
        var freed: UInt64 = 0
        var problem: SystemCallError?
        for s in try JournalSegments.list(directory, fileSystem: fileSystem) where removable(s) {
            guard bound.exceeded(total: total, free: free.map { $0 + freed }) else { break }
            let p = directory + "/" + JournalSegments.fileName(s)
            do {
                let bytes = UInt64(max(0, try fileSystem.status(p).bytes))
                try fileSystem.remove(p)
                removed.append(.init(path: p, bytes: bytes))
                total -= min(total, bytes)
                freed += bytes
            } catch {
                problem = error
                break
            }
        }
        if !removed.isEmpty {
            measured = problem == nil ? (total, bytesWritten, measured?.at ?? now) : nil
            do {
                try fileSystem.syncDirectory(directory)
            } catch {
                problem = problem ?? error
            }
        }
        let after = free.map { $0 + freed }
        return JournalSpace(removed: removed, totalBytes: total, freeBytes: after,
                            overBound: bound.exceeded(total: total, free: after), problem: problem)
    }

    /// Measures the directory's bytes (everything under it) and restarts the running total there.
    private func measure(_ now: EventTime) throws(SystemCallError) -> UInt64 {
        let bytes = try fileSystem.totalBytes(under: directory)
        measured = (bytes, bytesWritten, now)
        return bytes
    }
}
