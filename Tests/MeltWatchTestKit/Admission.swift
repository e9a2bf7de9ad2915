/// Lets at most `width` callers run a section at once; the others wait their turn in arrival order.
///
/// The end-to-end scenarios spend most of their time waiting (a simulator playing at 10×, a quiet
/// period, a replay), so a few can share the machine's two cores; with `swift test --parallel` every
/// case of a parameterized test starts at once, and this keeps the number of daemons, simulators and
/// brokers running together bounded, whatever the number of scenarios.
public actor Admission {
    private let width: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// Admits at most `width` (at least 1) at a time.
    public init(width: Int) { self.width = max(1, width) }

    /// Runs `body` once admitted, and makes room for the next caller when it returns or throws.
    public func run<T: Sendable>(_ body: @Sendable () async throws -> T) async rethrows -> T {
        if running < width {
            running += 1
        } else {
            await withCheckedContinuation { waiting.append($0) }  // `running` is handed over, not released
        }
        defer {
            if waiting.isEmpty { running -= 1 } else { waiting.removeFirst().resume() }
        }
        return try await body()
    }
}
