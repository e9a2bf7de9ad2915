import Foundation
import MeltWatchCore
import MeltWatchJournal
import NIOConcurrencyHelpers

/// One stored entry of the outbox (JSON inside a journal `outbox` record).
struct OutboxEntry: Codable {
    init(seq: Int64? = nil, body: String? = nil, record: AlarmRecord? = nil, maintenance: [String: Maintenance]? = nil,
         snapshot: AlarmBook.Snapshot? = nil, hazard: HazardNotice? = nil) {
        self.seq = seq
        self.body = body
        self.record = record
        self.maintenance = maintenance
        self.snapshot = snapshot
        self.hazard = hazard
    }

    /// The event's place in the daemon's event sequence (SSE `id:`, delivery cursors).
    var seq: Int64?
    /// The contract JSON exactly as delivered, `emitted_at` included (retries send the same bytes).
    var body: String?
    /// The alarm as it stands after this event.
    var record: AlarmRecord?
    /// The maintenance table after a change.
    var maintenance: [String: Maintenance]?
    /// The whole book, written at every start: restoring begins at the last one.
    var snapshot: AlarmBook.Snapshot?
    /// A hazard record's event (with `seq`; its body is the notice's).
    var hazard: HazardNotice?

    /// The stored event this entry carries, if any.
    var storedEvent: StoredEvent? {
        guard let seq else { return nil }
        if let hazard { return StoredEvent(sequence: seq, envelope: AlarmEnvelope(hazard: hazard)) }
        guard let body, let record else { return nil }
        return StoredEvent(sequence: seq, envelope: AlarmEnvelope(event: record.last, body: body))
    }
}

/// A stored alarm event, numbered in the daemon's event sequence.
public struct StoredEvent: Sendable {
    public var sequence: Int64
    public var envelope: AlarmEnvelope
    /// When it was stored (`CLOCK_MONOTONIC`, ns; 0 for events read back at start): the delivery
    /// stage's latency counts from here.
    public var storedNanos: UInt64 = 0

    /// A stored event.
    public init(sequence: Int64, envelope: AlarmEnvelope, storedNanos: UInt64 = 0) {
        self.sequence = sequence
        self.envelope = envelope
        self.storedNanos = storedNanos
    }
}

/// The alarm outbox, the delivery queue: every alarm event is stored before anyone may see it, with
/// the alarm's state after it, so that delivery resumes after a restart; a sequence number goes only
/// to an event stored (``store(_:emittedAt:)``). Stored, not synced: the journal is the one durable
/// record on the alarm path (an event's input was durable before the engine saw it), and after a
/// crash recovery recomputes what the outbox lost and stores it again under the same `event_id`.
/// A delivery cursor may then be ahead of the outbox's last number: numbering continues above
/// `sequenceFloor` (the highest cursor) so no new event hides behind one. It
/// reuses the journal's segment format (CRC-32C frames, torn-tail recovery) in its own directory,
/// in small segments (``segmentBytes``); each delivery channel keeps a cursor file beside it.
///
/// It is also where a channel behind the events held in memory reads them
/// (``storedEvents(after:limit:)``, from any thread), and it stays small while the daemon runs:
/// ``compactIfDue(_:deliveredThrough:at:)`` writes the book and removes the segments every channel
/// has delivered.
public final class Outbox {
    public let directory: String
    private let writer: JournalWriter
    private let fileSystem: any JournalFileSystem
    /// The sequence number the next event gets.
    public private(set) var nextSequence: Int64 = 1
    /// The segment holding the latest snapshot written by this process.
    private var snapshotSegment: UInt64?
    /// Per segment: the first and last event sequence stored in it (read by other threads).
    private let index: NIOLockedValueBox<[UInt64: ClosedRange<Int64>]>

    /// The outbox's segment size: a channel behind memory reads one segment per batch from disk,
    /// and compaction frees space a segment at a time.
    public static let segmentBytes = 4 << 20

    /// What a start found in the outbox.
    public struct Restored: Sendable {
        /// The alarm book as it stood.
        public var snapshot: AlarmBook.Snapshot
        /// Stored events with their sequence, oldest first (for delivery and SSE resume).
        public var events: [StoredEvent]
        /// A torn tail or damage the journal's recovery found, for the logs and a system alarm.
        public var problem: String?
        /// The `event_id` of every event stored (since the last compaction): recovery sends on only
        /// the events it recomputes that are not among them.
        public var storedEventIDs: Set<String> = []
    }

    private init(directory: String, writer: JournalWriter, fileSystem: any JournalFileSystem, nextSequence: Int64,
                 index: [UInt64: ClosedRange<Int64>]) {
        self.directory = directory
        self.writer = writer
        self.fileSystem = fileSystem
        self.nextSequence = nextSequence
        self.index = NIOLockedValueBox(index)
    }

    /// Opens (or creates) the outbox in `directory` and reads back what it holds. The latest
    /// `keepRecent` events come back for memory (delivery and SSE resume); a channel further behind
    /// reads the rest from disk.
    public static func open(directory: String, now: EventTime, settings: AlarmBook.Settings,
                            keepRecent: Int = EventLog.defaultRetained, sequenceFloor: Int64 = 0,
                            options: JournalOptions = JournalOptions(segmentBytes: Outbox.segmentBytes, syncOnCommit: false),
                            fileSystem: any JournalFileSystem = POSIXFileSystem()) throws -> (Outbox, Restored) {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let writer = try JournalWriter(directory: directory, options: options, fileSystem: fileSystem, now: now)
        var book = AlarmBook(settings: settings)
        var events: [StoredEvent] = []
        var lastSequence: Int64 = 0
        var storedIDs: Set<String> = []
        var index: [UInt64: ClosedRange<Int64>] = [:]
        let decoder = JSONDecoder()
        try JournalReader(directory: directory, fileSystem: fileSystem).forEachView { position, view in
            guard case .outbox(_, let data) = view,
                  let entry = try? decoder.decode(OutboxEntry.self, from: Data(data)) else { return }
            if let snapshot = entry.snapshot { book = AlarmBook(settings: settings, snapshot: snapshot) }
            if let table = entry.maintenance { book.restore(maintenance: table) }
            if let record = entry.record { book.restore(record) }
            if let stored = entry.storedEvent {
                let seq = stored.sequence
                lastSequence = max(lastSequence, seq)
                storedIDs.insert(stored.envelope.eventID)
                index[position.segment] = index[position.segment].map { min($0.lowerBound, seq)...max($0.upperBound, seq) } ?? seq...seq
                events.append(stored)
                if events.count >= 2 * keepRecent { events.removeFirst(events.count - keepRecent) }
            }
        }
        events = Array(events.suffix(keepRecent))
        var problem: String?
        if let torn = writer.recovery.tornTail { problem = "torn tail cut at \(torn.path):\(torn.offset) (\(torn.bytes) bytes kept in \(torn.savedTo))" }
        if let p = writer.recovery.problem { problem = "\(p)" }
        let outbox = Outbox(directory: directory, writer: writer, fileSystem: fileSystem,
                            nextSequence: max(lastSequence, sequenceFloor) + 1, index: index)
        return (outbox, Restored(snapshot: book.snapshot, events: events, problem: problem, storedEventIDs: storedIDs))
    }

    /// Numbers the events of one change and stores them (and the alarms after them) durably.
    ///
    /// A number is given only to an event actually stored: when the write or its `fdatasync` fails,
    /// no event comes back, `error` says why, ``nextSequence`` stays where it was, and the next
    /// store — after cutting what the failed one left in the file — gives its first event the
    /// number the failed one would have had; the sequence never has a hole, and a number handed
    /// out is never handed out again. (When the events were made durable and only starting the
    /// next segment failed, they come back numbered with `error` set.) A maintenance-only change
    /// stores no event: there an `error` means it was not stored.
    public func store(_ output: AlarmBook.Output, emittedAt: EventTime) -> (events: [StoredEvent], error: (any Error)?) {
        guard !output.events.isEmpty || output.maintenance != nil || !output.hazardNotices.isEmpty else { return ([], nil) }
        var stored: [StoredEvent] = []
        var frames: [[UInt8]] = []
        var next = nextSequence
        do {
            // Everything encoded before anything is appended: a failure leaves the writer's buffer clean.
            let encoder = JSONEncoder()
            if let table = output.maintenance { frames.append(Array(try encoder.encode(OutboxEntry(maintenance: table)))) }
            for (event, record) in zip(output.events, output.records) {
                let envelope = AlarmEnvelope(event: event, emittedAt: emittedAt)
                frames.append(Array(try encoder.encode(OutboxEntry(seq: next, body: envelope.body, record: record))))
                stored.append(StoredEvent(sequence: next, envelope: envelope))
                next += 1
            }
            for notice in output.hazardNotices {
                frames.append(Array(try encoder.encode(OutboxEntry(seq: next, hazard: notice))))
                stored.append(StoredEvent(sequence: next, envelope: AlarmEnvelope(hazard: notice)))
                next += 1
            }
            // A store that failed left the writer unusable: go on from a clean file, on a new descriptor.
            try writer.reopen(now: emittedAt)
        } catch {
            return ([], error)
        }
        let committed = writer.bytesCommitted
        let segment = writer.currentSegment  // one commit's frames all go to one segment
        do {
            for frame in frames { try writer.append(.outbox(time: emittedAt, data: frame)) }
            try writer.commit(now: emittedAt)
        } catch {
            // Durable after all when the commit got past its fdatasync (starting the next segment failed).
            guard writer.bytesCommitted > committed else { return ([], error) }
            nextSequence = next
            indexStored(stored, in: segment)
            return (stored, error)
        }
        nextSequence = next
        indexStored(stored, in: segment)
        let now = Monotonic.nanoseconds()
        for i in stored.indices { stored[i].storedNanos = now }
        return (stored, nil)
    }

    private func indexStored(_ stored: [StoredEvent], in segment: UInt64) {
        guard let first = stored.first?.sequence, let last = stored.last?.sequence else { return }
        index.withLockedValue { $0[segment] = $0[segment].map { min($0.lowerBound, first)...max($0.upperBound, last) } ?? first...last }
    }

    /// Up to `limit` stored events after sequence `after`, oldest first, read from disk: from the
    /// first segment holding a later one (a channel behind the events memory holds reads one
    /// segment per call). Any thread. Empty when none is on disk any more.
    public func storedEvents(after: Int64, limit: Int) -> [StoredEvent] {
        let candidates = index.withLockedValue { $0.filter { $0.value.upperBound > after }.keys.sorted() }
        let decoder = JSONDecoder()
        let reader = JournalReader(directory: directory, fileSystem: fileSystem)
        var found: [StoredEvent] = []
        struct Enough: Error {}
        for segment in candidates {
            do {
                try reader.forEachView(segments: segment...segment) { _, view in
                    guard case .outbox(_, let data) = view,
                          let entry = try? decoder.decode(OutboxEntry.self, from: Data(data)),
                          let stored = entry.storedEvent, stored.sequence > after else { return }
                    found.append(stored)
                    if found.count >= limit { throw Enough() }
                }
            } catch is Enough {
            } catch {
                // Removed by compaction since the index was read, or being written: what was read stands.
            }
            if !found.isEmpty { break }
        }
        return found
    }

    /// How many segments the outbox has on disk (tests watch compaction with it).
    public var segmentCount: Int { (try? JournalReader(directory: directory, fileSystem: fileSystem).segments().count) ?? 0 }

    /// Compaction while running (engine thread): when a sealed segment holds only events every
    /// channel has delivered (`deliveredThrough`, the lowest cursor of the channels still
    /// delivering), writes the whole book and removes the sealed segments before the first one
    /// still needed. Returns the removed paths (none when nothing was due).
    @discardableResult
    public func compactIfDue(_ snapshot: @autoclosure () -> AlarmBook.Snapshot, deliveredThrough: Int64, at time: EventTime) throws -> [String] {
        let current = writer.currentSegment
        let (firstNeeded, anyDone) = index.withLockedValue { idx -> (UInt64, Bool) in
            let needed = idx.filter { $0.value.upperBound > deliveredThrough }.keys.min() ?? current
            return (min(needed, current), idx.keys.contains { $0 < min(needed, current) })
        }
        guard anyDone else { return [] }
        try storeSnapshot(snapshot(), at: time)
        let removed = try writer.removeSegments(below: min(firstNeeded, snapshotSegment ?? firstNeeded))
        index.withLockedValue { idx in for s in idx.keys where s < min(firstNeeded, snapshotSegment ?? firstNeeded) { idx[s] = nil } }
        return removed
    }

    /// Writes the whole book: a later start restores from here without reading what came before.
    public func storeSnapshot(_ snapshot: AlarmBook.Snapshot, at time: EventTime) throws {
        try writer.reopen(now: time)
        snapshotSegment = writer.currentSegment  // commit may start a new segment after it
        try writer.append(.outbox(time: time, data: Array(try JSONEncoder().encode(OutboxEntry(snapshot: snapshot)))))
        try writer.commit(now: time)
    }

    /// Removes the sealed segments: call it right after ``storeSnapshot(_:at:)`` and only when every
    /// channel has delivered every stored event — the snapshot then holds all the state they had.
    /// This is the outbox's retention: it holds what changed since the last start that found
    /// everything delivered.
    @discardableResult
    public func compact() throws -> [String] {
        guard let keep = snapshotSegment else { return [] }
        let removed = try writer.removeSegments(below: keep)
        index.withLockedValue { idx in for s in idx.keys where s < keep { idx[s] = nil } }
        return removed
    }

    /// The book snapshot as the journal records it at a start (for replay).
    public static func encode(_ snapshot: AlarmBook.Snapshot) -> [UInt8] {
        Array((try? JSONEncoder().encode(snapshot)) ?? Data())
    }

    /// Decodes a snapshot written by ``encode(_:)``.
    public static func decodeSnapshot(_ bytes: [UInt8]) -> AlarmBook.Snapshot? {
        try? JSONDecoder().decode(AlarmBook.Snapshot.self, from: Data(bytes))
    }
}

extension AlarmEnvelope {
    /// An envelope with its body as stored.
    init(event: AlarmEvent, body: String) {
        self.event = event
        self.body = body
    }
}

extension Outbox: @unchecked Sendable {}
// Safe: `store` and `storeSnapshot` are called only by the engine thread (and at startup before it
// starts); other threads use only the immutable `directory`.
