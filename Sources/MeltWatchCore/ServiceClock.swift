import Glibc

/// The clock a long-running service measures and waits with: monotonic time for intervals (retry
/// backoff, heartbeats, rate windows), the wall clock for what it stamps on what it sends, and
/// sleeping. The daemon uses ``SystemServiceClock``; tests advance a manual one, so delivery,
/// heartbeats and SSE are tested without waiting for real time to pass.
public protocol ServiceClock: Sendable {
    /// Monotonic time since an arbitrary origin.
    var elapsed: Duration { get }
    /// The wall clock (CLOCK_REALTIME), for timestamps people and receivers read.
    var wall: EventTime { get }
    /// Suspends for `duration`; throws `CancellationError` if the task is cancelled first.
    func sleep(for duration: Duration) async throws
}

/// CLOCK_MONOTONIC, CLOCK_REALTIME and `Task.sleep`.
public struct SystemServiceClock: ServiceClock {
    /// The system's clocks.
    public init() {}

    public var elapsed: Duration { .nanoseconds(Int64(bitPattern: Monotonic.nanoseconds())) }
    public var wall: EventTime { EventTime(milliseconds: DaemonClock.realtimeMilliseconds()) }
    public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}
