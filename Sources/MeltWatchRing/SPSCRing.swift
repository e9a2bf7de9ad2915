import Atomics
import Glibc

// MeltWatchRing owns the hand-off between the MQTT ingest thread and the engine thread: a bounded,
// lock-free ring that never drops a reading. When it is full the producer waits (backpressure
// reaches the broker through the unacknowledged in-flight window); when it is empty the consumer
// sleeps, so an idle plant costs no CPU on a 2-core box the broker shares.

/// A bounded lock-free queue of plain values from exactly one producer thread to exactly one consumer thread.
///
/// Elements travel in FIFO order. `head` and `tail` are free-running counters (slot = counter & mask),
/// so "full" is `tail - head == capacity` with no wasted slot. Each counter lives on its own 128-byte
/// block (two x86 cache lines, because the adjacent-line prefetcher pairs them) together with the
/// owning side's private cache of the other counter; a side reads the other's line only when its
/// cached copy says "full" or "empty", not on every element.
///
/// ## Parking protocol (eventcount / Dekker)
/// A side that finds nothing to do spins on the other's counter for a few hundred iterations (the
/// later ones yielding the core), then parks. (A producer that found the ring full resumes only
/// once an eighth of it is free again, spinning or parked; see `waitForSpace`.) Parking goes:
///
///     waiter (e.g. consumer)                     waker (e.g. producer)
///     waiting.store(true,  seq_cst)              tail.store(t + n, seq_cst)
///     recheck tail.load(seq_cst)                 if waiting.load(seq_cst),
///     if still empty: sem wait (with timeout)       waiting.exchange(false) == true: sem_post
///
/// All four marked operations are sequentially consistent, so they fall into one total order: either
/// the waiter's recheck sees the new tail (and does not sleep), or the waker's load sees the flag (and
/// posts). Both missing each other is impossible, so a wakeup is never lost. The semaphore counts,
/// so a post that arrives before the waiter reaches `sem_wait` is kept. The producer's wait for space
/// is the mirror image (`head` instead of `tail`; the consumer posts once `head` reaches the target the
/// producer stored before raising its flag), and `close()` wakes the consumer the way a push does. Sleeps are bounded (the caller's timeout in `pop`,
/// `producerParkSliceNanoseconds` for the producer) only as a belt-and-braces measure; the tests
/// assert that no park ever ends by timing out while the other side is active.
///
/// A post can be left over when the waiter gives up parking on its own (it found data, or timed out)
/// just as the waker claims the flag; the next park then returns at once, rechecks and parks again.
///
/// The cost on the fast path is one sequentially consistent store (`xchg` on x86) plus one load of a
/// line that is only written while someone parks, per `push`/`pop` call; batch calls pay it once per
/// batch.
public final class SPSCRing<Element: BitwiseCopyable> {
    /// The number of elements the ring holds when full (a power of two).
    public let capacity: Int

    /// `capacity - 1`: turns a free-running counter into a slot index.
    @usableFromInline
    internal let mask: Int

    /// The element slots, allocated once. Elements are `BitwiseCopyable`, so slots need no
    /// initialisation or deinitialisation; a slot is read only after the producer published it.
    @usableFromInline
    internal let slots: UnsafeMutablePointer<Element>

    /// The padded control block holding the atomics and each side's private cache (see `Layout`).
    @usableFromInline
    internal let control: UnsafeMutableRawPointer

    /// Count of elements ever pushed; written by the producer only. Slot `i` is readable by the
    /// consumer once `tail > i`.
    @usableFromInline
    internal let tail: UnsafeAtomic<Int>

    /// Count of elements ever popped; written by the consumer only. Slot `i % capacity` is free
    /// for the producer once `head > i - capacity`.
    @usableFromInline
    internal let head: UnsafeAtomic<Int>

    /// True while the consumer is parked or about to park (set by the consumer, cleared by a waker).
    @usableFromInline
    internal let consumerWaiting: UnsafeAtomic<Bool>

    /// True while the producer is parked or about to park (set by the producer, cleared by a waker).
    @usableFromInline
    internal let producerWaiting: UnsafeAtomic<Bool>

    /// The `head` value a parked producer waits for (see `waitForSpace`); written by the producer
    /// before it raises `producerWaiting`, read by the consumer only after seeing the flag.
    @usableFromInline
    internal let producerWakeHead: UnsafeAtomic<Int>

    /// Set once by `close()`.
    @usableFromInline
    internal let closedFlag: UnsafeAtomic<Bool>

    /// Producer-side statistics and diagnostics, written by the producer only.
    @usableFromInline
    internal let fullWaitCount: UnsafeAtomic<Int>
    @usableFromInline
    internal let producerParkCount: UnsafeAtomic<Int>
    @usableFromInline
    internal let producerParkTimeoutCount: UnsafeAtomic<Int>

    /// Consumer-side diagnostics, written by the consumer only.
    @usableFromInline
    internal let consumerParkCount: UnsafeAtomic<Int>
    @usableFromInline
    internal let consumerParkTimeoutCount: UnsafeAtomic<Int>

    /// The producer's private state, on the producer's line.
    @usableFromInline
    internal let producer: UnsafeMutablePointer<ProducerState>

    /// The consumer's private state, on the consumer's line.
    @usableFromInline
    internal let consumer: UnsafeMutablePointer<ConsumerState>

    /// The consumer parks here; the producer (push or close) posts.
    @usableFromInline
    internal let consumerSemaphore: UnsafeParkingSemaphore

    /// The producer parks here when full; the consumer posts.
    @usableFromInline
    internal let producerSemaphore: UnsafeParkingSemaphore

    /// How long one producer park lasts before it rechecks on its own. Correctness does not depend
    /// on it; it bounds the damage of an unforeseen failure (say, a lost post) to a stall of this length.
    @usableFromInline
    internal let producerParkSliceNanoseconds: Int

    /// How many free slots a producer that found the ring full waits for before it resumes
    /// (see `waitForSpace`): an eighth of the ring, so the consumer still has 7/8 of it to work on.
    @usableFromInline
    internal var refillThreshold: Int { max(1, capacity / 8) }

    /// Creates an empty ring holding up to `capacity` elements; `capacity` must be a power of two, at least 2.
    public convenience init(capacity: Int) {
        self.init(capacity: capacity, producerParkSliceNanoseconds: 100_000_000)
    }

    /// Creates an empty ring with an explicit producer park slice (tests set it long, so that a
    /// lost wakeup would show up as a counted timeout instead of being papered over).
    package init(capacity: Int, producerParkSliceNanoseconds: Int) {
        precondition(
            capacity >= 2 && capacity.nonzeroBitCount == 1,
            "SPSCRing capacity must be a power of two >= 2, got \(capacity)"
        )
        precondition(producerParkSliceNanoseconds > 0, "park slice must be positive")
        self.capacity = capacity
        self.mask = capacity - 1
        self.producerParkSliceNanoseconds = producerParkSliceNanoseconds
        self.slots = .allocate(capacity: capacity)

        let control = UnsafeMutableRawPointer.allocate(byteCount: Layout.byteCount, alignment: Layout.lineSize)
        // Zero everything first, so padding is defined and the plain-state structs start at 0.
        control.initializeMemory(as: UInt8.self, repeating: 0, count: Layout.byteCount)
        self.control = control

        func atomicInt(at offset: Int) -> UnsafeAtomic<Int> {
            let storage = (control + offset).bindMemory(to: UnsafeAtomic<Int>.Storage.self, capacity: 1)
            storage.initialize(to: UnsafeAtomic<Int>.Storage(0))
            return UnsafeAtomic(at: storage)
        }
        func atomicBool(at offset: Int) -> UnsafeAtomic<Bool> {
            let storage = (control + offset).bindMemory(to: UnsafeAtomic<Bool>.Storage.self, capacity: 1)
            storage.initialize(to: UnsafeAtomic<Bool>.Storage(false))
            return UnsafeAtomic(at: storage)
        }

        tail = atomicInt(at: Layout.tail)
        fullWaitCount = atomicInt(at: Layout.fullWaits)
        producerParkCount = atomicInt(at: Layout.producerParks)
        producerParkTimeoutCount = atomicInt(at: Layout.producerParkTimeouts)
        producer = (control + Layout.producerState).bindMemory(to: ProducerState.self, capacity: 1)
        producer.initialize(to: ProducerState(cachedHead: 0, isClosed: false))

        head = atomicInt(at: Layout.head)
        consumerParkCount = atomicInt(at: Layout.consumerParks)
        consumerParkTimeoutCount = atomicInt(at: Layout.consumerParkTimeouts)
        consumer = (control + Layout.consumerState).bindMemory(to: ConsumerState.self, capacity: 1)
        consumer.initialize(to: ConsumerState(cachedTail: 0))

        consumerWaiting = atomicBool(at: Layout.consumerWaiting)
        closedFlag = atomicBool(at: Layout.closed)
        producerWaiting = atomicBool(at: Layout.producerWaiting)
        producerWakeHead = atomicInt(at: Layout.producerWakeHead)

        consumerSemaphore = UnsafeParkingSemaphore()
        producerSemaphore = UnsafeParkingSemaphore()
    }

    deinit {
        // No thread can be inside a method any more (they hold a reference), so nobody is parked.
        consumerSemaphore.destroy()
        producerSemaphore.destroy()
        // Elements, atomics and the state structs are all trivial types: nothing to deinitialise.
        slots.deallocate()
        control.deallocate()
    }
}

/// `SPSCRing` may be shared between threads under the SPSC invariant: at any moment at most one
/// thread runs producer methods (`push`, `tryPush`, `close`) and at most one runs consumer methods
/// (`pop`). Under it, every plain (non-atomic) memory access has a single owner: the producer's
/// cached head and the slots in `[head, head + capacity)` not yet published belong to the producer,
/// the consumer's cached tail and the published slots in `[head, tail)` to the consumer, and
/// ownership of slots changes hands only through the release/acquire pairs on `tail` and `head`.
/// Statistics are atomics and may be read from any thread. Breaking the invariant (two producers)
/// is a data race the type cannot detect.
extension SPSCRing: @unchecked Sendable {}

// MARK: - Element copies

extension SPSCRing {
    // Elements move as machine words through typed loads and stores written out in this module,
    // which `BitwiseCopyable` makes valid. The reason is the thread sanitizer: it only checks
    // accesses compiled into instrumented code. An unspecialised generic copy
    // (`initialize(from:count:)`, `storeBytes`) runs in the uninstrumented Swift runtime, and
    // range accesses through `memcpy` went unreported here (measured: with `tail` published
    // `relaxed`, the stress test still passed TSan clean). Concrete `UInt64`/`UInt8` accesses are
    // instrumented even in an unoptimised build; once specialised, the optimiser turns the loops
    // into a few moves or a `memcpy` call again.

    /// Writes `element` into the slot for counter value `position`.
    @inlinable @inline(__always)
    internal func storeElement(_ element: Element, at position: Int) {
        withUnsafePointer(to: element) { source in
            copyElements(from: source, to: slots + (position & mask), count: 1)
        }
    }

    /// Copies `count` elements between non-overlapping ranges (ring slots and a caller's buffer).
    @inlinable @inline(__always)
    internal func copyElements(
        from source: UnsafePointer<Element>, to destination: UnsafeMutablePointer<Element>, count: Int
    ) {
        if MemoryLayout<Element>.stride % 8 == 0 && MemoryLayout<Element>.alignment >= 8 {
            let words = count &* (MemoryLayout<Element>.stride / 8)
            source.withMemoryRebound(to: UInt64.self, capacity: words) { from in
                destination.withMemoryRebound(to: UInt64.self, capacity: words) { to in
                    for index in 0 ..< words { to[index] = from[index] }
                }
            }
        } else {
            let bytes = count &* MemoryLayout<Element>.stride
            source.withMemoryRebound(to: UInt8.self, capacity: bytes) { from in
                destination.withMemoryRebound(to: UInt8.self, capacity: bytes) { to in
                    for index in 0 ..< bytes { to[index] = from[index] }
                }
            }
        }
    }
}

// MARK: - Memory layout

/// Offsets into `SPSCRing.control`, one 128-byte block per writer so that no two threads write
/// the same cache-line pair on the fast path.
@usableFromInline
internal enum Layout {
    /// Two 64-byte lines: x86's spatial prefetcher fetches lines in pairs, so 64 still false-shares.
    @usableFromInline static let lineSize = 128

    // Block 0, written by the producer: its counter, its private cache and its statistics.
    @usableFromInline static let tail = 0
    @usableFromInline static let producerState = 16
    @usableFromInline static let fullWaits = 48
    @usableFromInline static let producerParks = 56
    @usableFromInline static let producerParkTimeouts = 64

    // Block 1, written by the consumer.
    @usableFromInline static let head = 128
    @usableFromInline static let consumerState = 144
    @usableFromInline static let consumerParks = 176
    @usableFromInline static let consumerParkTimeouts = 184

    // Block 2: read by the producer on every publish, written only around a consumer park or close.
    @usableFromInline static let consumerWaiting = 256
    @usableFromInline static let closed = 264

    // Block 3: read by the consumer on every pop, written only around a producer park.
    @usableFromInline static let producerWaiting = 384
    @usableFromInline static let producerWakeHead = 392

    @usableFromInline static let byteCount = 512
}

/// What only the producer thread reads and writes.
@usableFromInline
internal struct ProducerState {
    /// Last `head` the producer loaded: a lower bound of the real one, so "not full" by it is true.
    @usableFromInline var cachedHead: Int
    /// The producer's own record of `close()`, checked on push without touching the shared flag.
    @usableFromInline var isClosed: Bool

    @usableFromInline
    init(cachedHead: Int, isClosed: Bool) {
        self.cachedHead = cachedHead
        self.isClosed = isClosed
    }
}

/// What only the consumer thread reads and writes.
@usableFromInline
internal struct ConsumerState {
    /// Last `tail` the consumer loaded: a lower bound of the real one, so "not empty" by it is true.
    @usableFromInline var cachedTail: Int

    @usableFromInline
    init(cachedTail: Int) {
        self.cachedTail = cachedTail
    }
}

/// Spin budget before parking: this many loads of the other side's counter back to back, and then
/// this many more with `sched_yield()` between them. Together they cover a few microseconds (the
/// typical gap between two readings in a burst) without burning a time slice.
@usableFromInline let spinIterations = 256
@usableFromInline let yieldIterations = 16

/// Burns a few dozen nanoseconds between two polls of the other side's counter without touching
/// shared memory, so the poll does not steal the cache line the other side is writing. (x86
/// `pause` would be the tool, but Swift cannot reach it without a C module.) Relaxed loads of a
/// counter on the caller's own line: the compiler may not fold them away, and they hit L1.
@usableFromInline
internal func spinDelay(_ ownLine: UnsafeAtomic<Int>) {
    for _ in 0 ..< 16 {
        // relaxed: a delay, not a synchronisation; the value is discarded.
        _ = ownLine.load(ordering: .relaxed)
    }
}
