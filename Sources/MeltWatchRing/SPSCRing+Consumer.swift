import Atomics
import Glibc

// The consumer side. `pop` must be called from the one consumer thread.

extension SPSCRing {
    /// Moves up to `buffer.count` elements, oldest first, into the start of `buffer` and returns how many.
    ///
    /// When the ring is empty it waits for at least one element: a short spin, then a park of at most
    /// `timeoutMilliseconds` in total (0 means "do not wait"). Returns 0 on timeout, and at once when
    /// the ring is closed and drained. `buffer` may be uninitialised memory.
    ///
    /// A consumer loop that stops exactly when the stream ends reads `isClosed` *before* popping:
    ///
    ///     while true {
    ///         let closed = ring.isClosed
    ///         let count = ring.pop(into: buffer, timeoutMilliseconds: 100)
    ///         if count == 0 && closed { break }   // closed before the pop, and the pop found nothing
    ///         handle(buffer[..<count])
    ///     }
    ///
    /// (Checking `isClosed` after a pop that timed out could miss elements pushed just before `close()`.)
    @inlinable
    public func pop(into buffer: UnsafeMutableBufferPointer<Element>, timeoutMilliseconds: Int) -> Int {
        precondition(timeoutMilliseconds >= 0, "SPSCRing.pop timeout must not be negative")
        precondition(buffer.count > 0, "SPSCRing.pop needs room for at least one element")
        let destination = buffer.baseAddress.unsafelyUnwrapped
        // relaxed: only this thread writes `head`, so it always reads its own latest value.
        let position = head.load(ordering: .relaxed)
        var available = consumer.pointee.cachedTail &- position
        if available < buffer.count {
            // Look at the real tail before settling for fewer than asked: fewer, larger batches.
            // acquire: pairs with the seq_cst (release) store of `tail` in `publish(tail:)`; every
            // slot below the loaded value has been written.
            consumer.pointee.cachedTail = tail.load(ordering: .acquiring)
            available = consumer.pointee.cachedTail &- position
            if available == 0 {
                available = waitForElements(head: position, timeoutMilliseconds: timeoutMilliseconds)
                if available == 0 { return 0 }
            }
        }
        let count = min(available, buffer.count)
        let start = position & mask
        let firstRun = min(count, capacity &- start)
        copyElements(from: slots + start, to: destination, count: firstRun)
        if count > firstRun {
            copyElements(from: slots, to: destination + firstRun, count: count &- firstRun)
        }
        release(head: position &+ count)
        return count
    }

    /// Hands slots below `newHead` back to the producer and wakes it if it is parked on a full ring.
    @inlinable @inline(__always)
    internal func release(head newHead: Int) {
        // seq_cst. Release half: the copies out of the freed slots happen-before the producer's
        // acquiring loads of `head` (push, tryPush, waitForSpace), so it never overwrites a slot
        // still being read. Sequentially consistent half: the consumer's side of the Dekker pair
        // with `waitForSpace` (flag store, then head load).
        head.store(newHead, ordering: .sequentiallyConsistent)
        // seq_cst: second half of that Dekker pair. Written only around a producer park, so this
        // load normally hits the local cache.
        if producerWaiting.load(ordering: .sequentiallyConsistent) {
            wakeProducer(head: newHead)
        }
    }

    /// Wakes the parked producer once `newHead` has reached the head it waits for; at most one post per park.
    @usableFromInline
    internal func wakeProducer(head newHead: Int) {
        // relaxed: the seq_cst flag load that sent us here acquired the producer's flag store,
        // which was sequenced after its store of the target.
        if newHead &- producerWakeHead.load(ordering: .relaxed) < 0 {
            // Not enough room yet. The producer stays parked; a later pop (there are elements
            // left, up to its tail) reaches the target and posts.
            return
        }
        // seq_cst: same total order as the flag store it clears; slow path only. The exchange makes
        // exactly one post per announcement.
        if producerWaiting.exchange(false, ordering: .sequentiallyConsistent) {
            producerSemaphore.post()
        }
    }

    /// Slow path of `pop` on an empty ring: spin, then park until an element arrives, the ring is
    /// closed, or the timeout passes. Returns the number of elements now available (0 if none)
    /// and leaves `cachedTail` up to date.
    @usableFromInline
    internal func waitForElements(head position: Int, timeoutMilliseconds: Int) -> Int {
        // acquire: pairs with the seq_cst (release) store in `close()`. Loaded before `tail`, so if
        // it says closed, the tail loaded next is final.
        if closedFlag.load(ordering: .acquiring) || timeoutMilliseconds == 0 {
            return refreshedAvailable(head: position)
        }
        let deadline = MonotonicDeadline.after(milliseconds: timeoutMilliseconds)

        for iteration in 0 ..< (spinIterations + yieldIterations) {
            // acquire: pairs with the seq_cst (release) store of `tail` in `publish(tail:)`.
            let observed = tail.load(ordering: .acquiring)
            if observed != position {
                consumer.pointee.cachedTail = observed
                return observed &- position
            }
            if iteration >= spinIterations {
                // acquire: pairs with `close()`; see above.
                if closedFlag.load(ordering: .acquiring) { return refreshedAvailable(head: position) }
                sched_yield()
            } else {
                spinDelay(consumerParkCount)
            }
        }

        // relaxed: diagnostics counter, single writer.
        consumerParkCount.wrappingIncrement(ordering: .relaxed)
        while true {
            // seq_cst: announce the park before rechecking; Dekker pair with the producer's
            // `tail.store` + `consumerWaiting.load` in `publish(tail:)`, and `closedFlag.store` +
            // `consumerWaiting.load` in `close()`.
            consumerWaiting.store(true, ordering: .sequentiallyConsistent)
            // seq_cst (includes acquire): recheck `closed` first; if it is set, the tail loaded
            // below is final.
            let closed = closedFlag.load(ordering: .sequentiallyConsistent)
            // seq_cst (includes acquire, pairing with `publish(tail:)`): the recheck proper.
            let observed = tail.load(ordering: .sequentiallyConsistent)
            if observed != position || closed {
                // relaxed: withdrawing the announcement publishes nothing. A producer that already
                // claimed the flag posts anyway; the next park absorbs that as a spurious wakeup.
                consumerWaiting.store(false, ordering: .relaxed)
                consumer.pointee.cachedTail = observed
                return observed &- position
            }
            if !consumerSemaphore.wait(until: deadline) {
                // relaxed: as above.
                consumerWaiting.store(false, ordering: .relaxed)
                // relaxed: diagnostics counter, single writer.
                consumerParkTimeoutCount.wrappingIncrement(ordering: .relaxed)
                // One last look, so an element that raced the deadline is not left for the next call.
                return refreshedAvailable(head: position)
            }
            // Posted (or a leftover post): loop, re-announce and recheck.
        }
    }

    /// Reloads `tail` into the consumer's cache and returns how many elements are available.
    @usableFromInline
    internal func refreshedAvailable(head position: Int) -> Int {
        // acquire: pairs with the seq_cst (release) store of `tail` in `publish(tail:)`.
        consumer.pointee.cachedTail = tail.load(ordering: .acquiring)
        return consumer.pointee.cachedTail &- position
    }
}
