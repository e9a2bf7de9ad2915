import MeltWatchCore
import NIOConcurrencyHelpers
import Synchronization

/// The stored alarm events in memory, in sequence order, for the delivery channels and the SSE
/// streams: each reader keeps its own position and waits on a doorbell rung at every append.
///
/// Events a channel has not delivered yet are kept (each channel pins its cursor), and beyond
/// them the latest ``retained`` for SSE clients resuming with `Last-Event-ID`.
public final class EventLog: Sendable {
    public static let defaultRetained = 10_000

    private struct State {
        var events: [StoredEvent] = []
        var bells: [Int: AsyncStream<Void>.Continuation] = [:]
        var nextBell = 0
        /// Per channel: the last sequence it delivered; nothing after the lowest is dropped.
        var pins: [String: Int64] = [:]
    }

    private let state: NIOLockedValueBox<State>
    public let retained: Int
    private let streamsEnded = Synchronization.Atomic<Bool>(false)

    /// A log holding `initial` (restored from the outbox).
    public init(initial: [StoredEvent] = [], retained: Int = EventLog.defaultRetained) {
        state = NIOLockedValueBox(State(events: initial))
        self.retained = retained
    }

    /// Adds stored events (in sequence order) and wakes every reader.
    public func append(_ events: [StoredEvent]) {
        guard !events.isEmpty else { return }
        let bells = state.withLockedValue { s -> [AsyncStream<Void>.Continuation] in
            s.events.append(contentsOf: events)
            let excess = s.events.count - retained
            if excess > retained / 2 {
                // Trim in chunks (removeFirst is linear), never past an undelivered event.
                let floor = s.pins.values.min() ?? Int64.max
                let keepFrom = s.events.firstIndex { $0.sequence > floor } ?? s.events.count
                let cut = min(excess, keepFrom)
                if cut > 0 { s.events.removeFirst(cut) }
            }
            return Array(s.bells.values)
        }
        for bell in bells { bell.yield() }
    }

    /// Up to `limit` events after sequence `after`, oldest first.
    public func events(after: Int64, limit: Int = 256) -> [StoredEvent] {
        state.withLockedValue { s in
            // Binary search: the events are in sequence order.
            var lo = 0, hi = s.events.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if s.events[mid].sequence <= after { lo = mid + 1 } else { hi = mid }
            }
            return Array(s.events[lo..<min(s.events.count, lo + limit)])
        }
    }

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

    /// Records that `channel` delivered everything up to `sequence`.
    public func pin(_ channel: String, at sequence: Int64) {
        state.withLockedValue { $0.pins[channel] = sequence }
    }
}
