import MeltWatchCore
import NIOConcurrencyHelpers
import Synchronization

/// The stored alarm events in memory, in sequence order, for the delivery channels and the SSE
/// streams: each reader keeps its own position and waits on a doorbell rung at every append.
///
/// Memory holds the latest ``retained`` events and no more, whatever the readers do (domain.md
/// "Every queue has a bound"): a channel that falls behind them — failing for hours, or catching up
/// after a restart — reads from the outbox on disk (``archive``), and an SSE client that falls
/// behind is told what it missed.
public final class EventLog: Sendable {
    public static let defaultRetained = 10_000
    /// How many events one read from the outbox on disk returns at most.
    public static let archiveBatch = 2_048

    /// Reads stored events after a sequence from disk (``Outbox/storedEvents(after:limit:)``).
    public typealias Archive = @Sendable (_ after: Int64, _ limit: Int) -> [StoredEvent]

    private struct State {
        var events: [StoredEvent] = []
        var bells: [Int: AsyncStream<Void>.Continuation] = [:]
        var nextBell = 0
    }

    private let state: NIOLockedValueBox<State>
    public let retained: Int
    private let archive: Archive?
    private let streamsEnded = Synchronization.Atomic<Bool>(false)

    /// A log holding `initial` (restored from the outbox), reading older events from `archive`.
    public init(initial: [StoredEvent] = [], retained: Int = EventLog.defaultRetained, archive: Archive? = nil) {
        state = NIOLockedValueBox(State(events: Array(initial.suffix(retained))))
        self.retained = retained
        self.archive = archive
    }

    /// Adds stored events (in sequence order) and wakes every reader.
    public func append(_ events: [StoredEvent]) {
        guard !events.isEmpty else { return }
        let bells = state.withLockedValue { s -> [AsyncStream<Void>.Continuation] in
            s.events.append(contentsOf: events)
            let excess = s.events.count - retained
            // Trim in chunks (removeFirst is linear): at most half again of `retained` is held.
            if excess > retained / 2 { s.events.removeFirst(excess) }
            return Array(s.bells.values)
        }
        for bell in bells { bell.yield() }
    }

    /// Up to `limit` events after sequence `after`, oldest first: from memory, or — for a reader
    /// behind what memory holds — from the outbox on disk, up to ``archiveBatch`` at a time. Events
    /// gone from disk too (compacted after every channel had them) are skipped.
    public func events(after: Int64, limit: Int = 256) -> [StoredEvent] {
        let (held, first) = recent(after: after, limit: limit)
        if let archive, let first, after + 1 < first {
            let older = archive(after, max(limit, Self.archiveBatch)).prefix { $0.sequence < first }
            if !older.isEmpty { return Array(older) }
        }
        return held
    }

    /// Up to `limit` events after `after` held in memory (SSE streams read only these), and the
    /// oldest sequence held.
    public func recent(after: Int64, limit: Int = 256) -> (events: [StoredEvent], first: Int64?) {
        state.withLockedValue { s in
            // Binary search: the events are in sequence order.
            var lo = 0, hi = s.events.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if s.events[mid].sequence <= after { lo = mid + 1 } else { hi = mid }
            }
            return (Array(s.events[lo..<min(s.events.count, lo + limit)]), s.events.first?.sequence)
        }
    }

    /// How many events memory holds now.
    public var heldCount: Int { state.withLockedValue { $0.events.count } }

    /// The sequence of the latest event (0 when there is none).
    public var lastSequence: Int64 { state.withLockedValue { $0.events.last?.sequence ?? 0 } }

    /// The oldest sequence still held (nil when empty): an SSE client asking for older events missed some.
    public var firstSequence: Int64? { state.withLockedValue { $0.events.first?.sequence } }

    /// A doorbell: the stream yields after every append (coalesced). Call ``unsubscribe(_:)`` when done.
    public func subscribe() -> (id: Int, doorbell: AsyncStream<Void>) {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let id = state.withLockedValue { s in
            let id = s.nextBell
            s.nextBell += 1
            s.bells[id] = continuation
            return id
        }
        return (id, stream)
    }

    /// Removes a doorbell and ends its stream.
    public func unsubscribe(_ id: Int) {
        state.withLockedValue { $0.bells.removeValue(forKey: id) }?.finish()
    }

    /// Rings every doorbell without an event (a channel's timer: heartbeat, shutdown).
    public func ringAll() {
        for bell in state.withLockedValue({ Array($0.bells.values) }) { bell.yield() }
    }

    /// Tells long-lived readers that only serve people (SSE streams) to end: the daemon is stopping,
    /// and an open console must not hold the HTTP server's graceful shutdown.
    public func endStreams() {
        streamsEnded.store(true, ordering: .releasing)
        ringAll()
    }

    /// True once ``endStreams()`` was called.
    public var streamsHaveEnded: Bool { streamsEnded.load(ordering: .acquiring) }
}
