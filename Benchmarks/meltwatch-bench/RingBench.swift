import Glibc
import MeltWatchRing

// Throughput of SPSCRing between two real threads, with a 32-byte element (the size of a decoded
// reading) and the daemon's capacity of 4096. The producer runs on the calling thread, the consumer
// on a pthread; the consumer checks every sequence number, so a broken ring fails loudly instead of
// reporting a fast wrong answer.

/// Runs each ring case several times and returns one result per repetition ("ring.single", "ring.batch64").
func runRingBenchmark(items: Int) -> [BenchResult] {
    precondition(items > 0, "items must be positive")
    var results: [BenchResult] = []
    for _ in 0 ..< repetitions {
        results.append(measure(name: "ring.single", items: items, batch: 1))
        results.append(measure(name: "ring.batch64", items: items, batch: 64))
    }
    return results
}

/// Repetitions per case; the caller takes the median.
fileprivate let repetitions = 5

/// The ring capacity the daemon uses between ingest and engine.
fileprivate let ringCapacity = 4096

/// A 32-byte stand-in for a decoded reading: sequence number plus three payload words.
fileprivate struct BenchItem: BitwiseCopyable {
    var sequence: UInt64
    var signal: UInt64
    var timestamp: UInt64
    var value: UInt64
}

/// What the consumer thread reports back; read only after `pthread_join`, which orders it.
fileprivate final class ConsumerOutcome: @unchecked Sendable {
    // @unchecked: written by the consumer thread before it exits, read by the producer thread only
    // after joining it; pthread_join is the happens-before edge.
    var received = 0
    var outOfOrder = 0
    var checksum: UInt64 = 0
}

/// Moves `items` elements through a fresh ring, `batch` at a time on both sides, and times it.
fileprivate func measure(name: String, items: Int, batch: Int) -> BenchResult {
    let ring = SPSCRing<BenchItem>(capacity: ringCapacity)
    let outcome = ConsumerOutcome()
    let started = monotonicSeconds()
    let consumer = startThread {
        let buffer = UnsafeMutableBufferPointer<BenchItem>.allocate(capacity: batch)
        defer { buffer.deallocate() }
        var expected: UInt64 = 0
        var checksum: UInt64 = 0
        var outOfOrder = 0
        while true {
            let closed = ring.isClosed
            let count = ring.pop(into: buffer, timeoutMilliseconds: 1_000)
            if count == 0 && closed { break }
            for index in 0 ..< count {
                let item = buffer[index]
                if item.sequence != expected { outOfOrder += 1 }
                expected = item.sequence &+ 1
                checksum &+= item.value
            }
        }
        outcome.received = Int(expected)
        outcome.outOfOrder = outOfOrder
        outcome.checksum = checksum
    }

    if batch == 1 {
        for sequence in 0 ..< UInt64(items) {
            ring.push(BenchItem(sequence: sequence, signal: 7, timestamp: sequence, value: sequence & 0xFF))
        }
    } else {
        let chunk = UnsafeMutableBufferPointer<BenchItem>.allocate(capacity: batch)
        defer { chunk.deallocate() }
        var sequence: UInt64 = 0
        while sequence < UInt64(items) {
            let count = min(batch, items - Int(sequence))
            for index in 0 ..< count {
                let value = sequence + UInt64(index)
                chunk[index] = BenchItem(sequence: value, signal: 7, timestamp: value, value: value & 0xFF)
            }
            ring.push(contentsOf: UnsafeBufferPointer(rebasing: chunk[..<count]))
            sequence += UInt64(count)
        }
    }
    ring.close()
    joinThread(consumer)
    let seconds = monotonicSeconds() - started

    let expectedChecksum = (0 ..< UInt64(items)).reduce(UInt64(0)) { $0 &+ ($1 & 0xFF) }
    precondition(
        outcome.received == items && outcome.outOfOrder == 0 && outcome.checksum == expectedChecksum,
        "\(name): ring delivered \(outcome.received)/\(items), \(outcome.outOfOrder) out of order"
    )
    return BenchResult(name: name, operations: items, seconds: seconds, unit: "items")
}

/// Seconds on CLOCK_MONOTONIC.
fileprivate func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// Holds a thread body until the new thread runs it.
fileprivate final class ThreadBody {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// Starts a real OS thread (not a Dispatch/Task worker), so producer and consumer truly overlap.
fileprivate func startThread(_ body: @escaping @Sendable () -> Void) -> pthread_t {
    let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(&thread, nil, { argument in
        let body = Unmanaged<ThreadBody>.fromOpaque(argument!).takeRetainedValue()
        body.run()
        return nil
    }, box)
    precondition(result == 0, "pthread_create failed: \(result)")
    return thread
}

/// Waits for a thread from `startThread` to finish.
fileprivate func joinThread(_ thread: pthread_t) {
    let result = pthread_join(thread, nil)
    precondition(result == 0, "pthread_join failed: \(result)")
}
