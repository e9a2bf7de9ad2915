import MeltWatchDecode
import Synchronization

/// Counters of the ingest stage, written by the ingest thread and read by anyone (metrics, readiness).
///
/// Relaxed atomics: each counter is independent and only ever read as a statistic.
public final class IngestCounters: Sendable {
    public let messagesReceived = Atomic<Int>(0)
    public let readingsAccepted = Atomic<Int>(0)
    /// Indexed like `RejectReason.allCases`.
    private let rejected: [AtomicCounter]
    public let brokerConnected = Atomic<Bool>(false)
    public let subscribed = Atomic<Bool>(false)
    public let rejectedSubscriptions = Atomic<Int>(0)
    public let engineRunning = Atomic<Bool>(false)
    /// Readings the engine did not evaluate (engine thread): a redelivery (same `seq` and time as the
    /// signal's last), or older than the signal's last reading.
    public let readingsDuplicate = Atomic<Int>(0)
    public let readingsOutOfOrder = Atomic<Int>(0)
    /// The latest checkpoint: its stored size, how long the engine thread spent taking it (copies)
    /// and how long the checkpoint queue took to encode and compress it.
    public let checkpointBytes = Atomic<Int>(0)
    public let checkpointCaptureMicroseconds = Atomic<Int>(0)
    public let checkpointEncodeMilliseconds = Atomic<Int>(0)
    /// Bytes made durable in the journal since start (`meltwatch_journal_bytes_total`).
    public let journalBytes = Atomic<Int>(0)
    /// False once the journal failed (`/readyz`: journal writable).
    public let journalWritable = Atomic<Bool>(true)
    /// False while the alarm outbox cannot store (`/readyz`); true again once it stores.
    public let outboxWritable = Atomic<Bool>(true)

    /// Creates zeroed counters.
    public init() {
        rejected = RejectReason.allCases.map { _ in AtomicCounter() }
    }

    /// Counts `count` rejections for `reason`.
    public func reject(_ reason: RejectReason, count: Int = 1) {
        rejected[RejectReason.allCases.firstIndex(of: reason)!].value.add(count, ordering: .relaxed)
    }

    /// Rejections so far for `reason` (`meltwatch_messages_rejected_total{reason=…}`).
    public func rejections(_ reason: RejectReason) -> Int {
        rejected[RejectReason.allCases.firstIndex(of: reason)!].value.load(ordering: .relaxed)
    }

    /// All rejection counts by reason label.
    public var rejectionsByReason: [(reason: String, count: Int)] {
        RejectReason.allCases.map { ($0.rawValue, rejections($0)) }
    }
}

/// A heap-allocated atomic counter, so counters can live in arrays (`Atomic` is not copyable).
final class AtomicCounter: Sendable {
    let value = Atomic<Int>(0)
}
