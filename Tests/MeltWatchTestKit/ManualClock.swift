import MeltWatchCore
import NIOConcurrencyHelpers

/// A ``ServiceClock`` that moves only when the test says so: `sleep` waits until ``advance(by:)``
/// passes its deadline, so retry backoff, heartbeats and rate windows are tested in no real time.
public final class ManualClock: ServiceClock {
    private struct Sleeper {
        var deadline: Duration
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var elapsed: Duration = .zero
        var sleepers: [Int: Sleeper] = [:]
        var next = 0
        /// Tasks waiting for a number of sleepers.
        var watchers: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []

        /// The watchers whose count is reached now, removed.
        mutating func satisfiedWatchers() -> [CheckedContinuation<Void, Never>] {
            let ready = watchers.filter { $0.count <= sleepers.count }.map(\.continuation)
            watchers.removeAll { $0.count <= sleepers.count }
            return ready
        }
    }

    private let state = NIOLockedValueBox(State())
    private let wallOrigin: EventTime

    /// A clock whose wall time starts at `wall`.
    public init(wall: EventTime = EventTime(milliseconds: 1_763_884_800_000)) {
        wallOrigin = wall
    }

    public var elapsed: Duration { state.withLockedValue { $0.elapsed } }

    public var wall: EventTime {
        let e = elapsed
        return wallOrigin.adding(milliseconds: e.components.seconds * 1000 + e.components.attoseconds / 1_000_000_000_000_000)
    }

    public func sleep(for duration: Duration) async throws {
        guard duration > .zero else { return try Task.checkCancellation() }
        let id = state.withLockedValue { s -> Int in
            s.next += 1
            return s.next
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let (resumeNow, watchers) = state.withLockedValue { s -> (Bool, [CheckedContinuation<Void, Never>]) in
                    if Task.isCancelled { return (true, []) }
                    s.sleepers[id] = Sleeper(deadline: s.elapsed + duration, continuation: c)
                    return (false, s.satisfiedWatchers())
                }
                for w in watchers { w.resume() }
                if resumeNow { c.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            state.withLockedValue { $0.sleepers.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves the clock on by `duration` and wakes every sleeper whose deadline it reached.
    public func advance(by duration: Duration) {
        let due = state.withLockedValue { s -> [Sleeper] in
            s.elapsed += duration
            let ready = s.sleepers.filter { $0.value.deadline <= s.elapsed }
            for id in ready.keys { s.sleepers[id] = nil }
            return Array(ready.values)
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// How many tasks are sleeping on this clock now.
    public var sleepers: Int { state.withLockedValue { $0.sleepers.count } }

    /// Waits until at least `count` tasks sleep on this clock (suspended, not spinning: the tasks it
    /// waits for get the threads).
    public func waitForSleepers(_ count: Int) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLockedValue { s -> Bool in
                if s.sleepers.count >= count { return true }
                s.watchers.append((count, c))
                return false
            }
            if now { c.resume() }
        }
    }
}
