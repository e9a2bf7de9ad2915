import Glibc

/// A real OS thread for tests: Dispatch or Task work may land on one worker and never overlap,
/// which would hide races from the thread sanitizer and never exercise parking.
struct TestThread {
    private let thread: pthread_t

    /// Starts `body` on a new pthread.
    init(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            Unmanaged<Body>.fromOpaque(argument!).takeRetainedValue().run()
            return nil
        }, box)
        precondition(result == 0, "pthread_create failed: \(result)")
        self.thread = thread
    }

    /// Waits for the thread to finish; everything it wrote is visible afterwards.
    func join() {
        let result = pthread_join(thread, nil)
        precondition(result == 0, "pthread_join failed: \(result)")
    }

    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
}

/// A result slot a worker thread fills and the test reads after `join()`.
final class Outcome<Value: Sendable>: @unchecked Sendable {
    // @unchecked: written only by the worker thread before it exits and read only after
    // pthread_join, which is a happens-before edge the thread sanitizer understands.
    var value: Value

    init(_ value: Value) { self.value = value }
}

/// A small deterministic generator (xorshift64*), so a failing stress run can be replayed.
struct TestRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }

    /// The next value in `range`.
    mutating func next(in range: ClosedRange<Int>) -> Int {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        let value = state &* 0x2545_F491_4F6C_DD1D
        return range.lowerBound + Int(value % UInt64(range.count))
    }
}
