import Atomics

// Statistics, readable from any thread (a metrics exporter, a health endpoint). All loads are
// relaxed: they synchronise with nothing and are snapshots that may be stale by the time they are
// used. Combining two counters (occupancy) is not atomic, so the result is clamped to what a ring
// can hold.

extension SPSCRing {
    /// Whether `close()` has been called; see `pop(into:timeoutMilliseconds:)` for the exact drain loop.
    public var isClosed: Bool {
        // acquire: pairs with the seq_cst (release) store in `close()`, so a consumer that sees
        // `true` here and then pops sees every element pushed before close().
        closedFlag.load(ordering: .acquiring)
    }

    /// Approximately how many elements are in the ring now (0...capacity).
    public var occupancy: Int {
        // relaxed: statistics. Head first: it can only have grown by the time tail is read, which
        // errs towards overstating, and the clamp keeps a stale pair in range.
        let consumed = head.load(ordering: .relaxed)
        let produced = tail.load(ordering: .relaxed)
        return min(max(produced &- consumed, 0), capacity)
    }

    /// How many times the producer found the ring full and had to wait (one per blocking episode).
    public var fullWaits: Int {
        // relaxed: statistics.
        fullWaitCount.load(ordering: .relaxed)
    }

    /// How many elements have been pushed since the ring was created.
    public var pushedTotal: Int {
        // relaxed: statistics. `tail` counts every element ever published.
        tail.load(ordering: .relaxed)
    }

    /// How many times the producer went past spinning and parked on its semaphore (diagnostics).
    package var producerParks: Int {
        // relaxed: statistics.
        producerParkCount.load(ordering: .relaxed)
    }

    /// How many producer parks ended by their time slice rather than a post; 0 unless a wakeup was lost
    /// or the consumer stalled for a whole slice.
    package var producerParkTimeouts: Int {
        // relaxed: statistics.
        producerParkTimeoutCount.load(ordering: .relaxed)
    }

    /// How many times the consumer went past spinning and parked on its semaphore (diagnostics).
    package var consumerParks: Int {
        // relaxed: statistics.
        consumerParkCount.load(ordering: .relaxed)
    }

    /// How many consumer parks ended because the caller's pop timeout passed.
    package var consumerParkTimeouts: Int {
        // relaxed: statistics.
        consumerParkTimeoutCount.load(ordering: .relaxed)
    }

    /// Whether the consumer has announced a park (tests use it to close a ring under a sleeping consumer).
    package var isConsumerParked: Bool {
        // relaxed: a test probe; the test only uses it to decide when to act, never for ordering.
        consumerWaiting.load(ordering: .relaxed)
    }
}
