import Atomics
import Glibc

// The producer side. Every method here must be called from the one producer thread.

extension SPSCRing {
    /// Appends `element`, waiting (spin, then park) while the ring is full; never drops.
    @inlinable
    public func push(_ element: Element) {
        precondition(!producer.pointee.isClosed, "SPSCRing.push after close()")
        // relaxed: only this thread writes `tail`, so it always reads its own latest value.
        let position = tail.load(ordering: .relaxed)
        if position &- producer.pointee.cachedHead == capacity {
            refreshHeadOrWait(tail: position)
        }
        storeElement(element, at: position)
        publish(tail: position &+ 1)
    }

    /// Appends all of `elements` in order, publishing each run that fits with one store; returns
    /// once every element is in the ring, waiting while it is full.
    @inlinable
    public func push(contentsOf elements: UnsafeBufferPointer<Element>) {
        precondition(!producer.pointee.isClosed, "SPSCRing.push after close()")
        guard var source = elements.baseAddress else { return }
        var remaining = elements.count
        // relaxed: own counter, see push(_:).
        var position = tail.load(ordering: .relaxed)
        while remaining > 0 {
            var free = capacity &- (position &- producer.pointee.cachedHead)
            if free < remaining {
                // Look at the real head before settling for a short run: fewer, larger batches.
                // acquire: pairs with the seq_cst (release) store of `head` in `release(head:)`;
                // the consumer has finished copying out of every slot below the loaded value.
                producer.pointee.cachedHead = head.load(ordering: .acquiring)
                free = capacity &- (position &- producer.pointee.cachedHead)
                if free == 0 {
                    waitForSpace(tail: position)
                    free = capacity &- (position &- producer.pointee.cachedHead)
                }
            }
            let count = min(free, remaining)
            let start = position & mask
            let firstRun = min(count, capacity &- start)
            copyElements(from: source, to: slots + start, count: firstRun)
            if count > firstRun {
                copyElements(from: source + firstRun, to: slots, count: count &- firstRun)
            }
            position &+= count
            source += count
            remaining &-= count
            publish(tail: position)
        }
    }

    /// Appends `element` if there is room, without waiting; false when the ring is full.
    @inlinable
    public func tryPush(_ element: Element) -> Bool {
        precondition(!producer.pointee.isClosed, "SPSCRing.tryPush after close()")
        // relaxed: own counter, see push(_:).
        let position = tail.load(ordering: .relaxed)
        if position &- producer.pointee.cachedHead == capacity {
            // acquire: pairs with the seq_cst (release) store of `head` in `release(head:)`.
            producer.pointee.cachedHead = head.load(ordering: .acquiring)
            if position &- producer.pointee.cachedHead == capacity { return false }
        }
        storeElement(element, at: position)
        publish(tail: position &+ 1)
        return true
    }

    /// Marks the end of the stream: a parked consumer wakes, and `pop` returns 0 once the ring is drained.
    /// Idempotent; pushing after it is a programming error.
    public func close() {
        producer.pointee.isClosed = true
        // seq_cst. Release half: every push before close() happens-before whoever acquires the
        // flag (`isClosed`, the consumer's recheck), so a consumer that saw "closed" sees the final
        // `tail`. Sequentially consistent half: Dekker pair with the consumer's
        // `consumerWaiting.store(true)` + `closedFlag.load` in `waitForElements`.
        closedFlag.store(true, ordering: .sequentiallyConsistent)
        // seq_cst: the other half of that Dekker pair.
        if consumerWaiting.load(ordering: .sequentiallyConsistent) {
            wakeConsumer()
        }
    }

    /// Makes slots below `newTail` visible to the consumer and wakes it if it is parked.
    @inlinable @inline(__always)
    internal func publish(tail newTail: Int) {
        // seq_cst. Release half: publishes the slots just written, pairing with the acquiring
        // loads of `tail` in `pop` and `waitForElements`. Sequentially consistent half: orders this
        // store before the `consumerWaiting` load below in the single total order, the producer's
        // side of the Dekker pair with `waitForElements` (flag store, then tail load).
        tail.store(newTail, ordering: .sequentiallyConsistent)
        // seq_cst: second half of the Dekker pair. The line is only written around a consumer
        // park, so this load normally hits the local cache.
        if consumerWaiting.load(ordering: .sequentiallyConsistent) {
            wakeConsumer()
        }
    }

    /// Claims the consumer's waiting flag and posts its semaphore, at most once per park.
    @usableFromInline
    internal func wakeConsumer() {
        // seq_cst: the claim is one more operation in the same total order as the flag store it
        // clears (cost is irrelevant here: this runs only when the consumer is parking). Exchanging
        // rather than storing makes exactly one waker post for each time the flag was set.
        if consumerWaiting.exchange(false, ordering: .sequentiallyConsistent) {
            consumerSemaphore.post()
        }
    }

    /// Slow path of `push(_:)` when the cached head says "full": reload it, and wait if it really is.
    @usableFromInline
    internal func refreshHeadOrWait(tail position: Int) {
        // acquire: pairs with the seq_cst (release) store of `head` in `release(head:)`.
        producer.pointee.cachedHead = head.load(ordering: .acquiring)
        if position &- producer.pointee.cachedHead == capacity {
            waitForSpace(tail: position)
        }
    }

    /// Blocks the producer, which found the ring full at `tail`, until the consumer has freed a
    /// refill's worth of slots (`refillThreshold`); one "full wait" episode. On return
    /// `cachedHead` shows the free space.
    ///
    /// Waiting for a refill rather than for one slot matters twice. A spinning producer that takes
    /// back each slot as soon as it frees reads `head` after every pop, pulling the consumer's line
    /// away from it on every element and slowing the consumer it waits for (measured: 15 M instead
    /// of 70 M items/s one by one). And a parked producer woken for every freed slot would cost a
    /// slow consumer one `sem_post` system call per pop.
    @usableFromInline
    internal func waitForSpace(tail position: Int) {
        // relaxed: a statistic; nothing is published through it. Only the producer writes it,
        // so the increment cannot race with another increment.
        fullWaitCount.wrappingIncrement(ordering: .relaxed)

        // The ring is full, so head == position - capacity; resume once head reaches this. It is
        // at most `position`, so a consumer that keeps popping always gets there.
        let target = position &- capacity &+ refillThreshold
        for iteration in 0 ..< (spinIterations + yieldIterations) {
            // acquire: pairs with the seq_cst (release) store of `head` in `release(head:)`.
            let observed = head.load(ordering: .acquiring)
            if observed &- target >= 0 {
                producer.pointee.cachedHead = observed
                return
            }
            if iteration >= spinIterations { sched_yield() } else { spinDelay(fullWaitCount) }
        }

        // relaxed: diagnostics counter, single writer.
        producerParkCount.wrappingIncrement(ordering: .relaxed)
        // relaxed: published by the seq_cst (release) flag store below; the consumer reads it only
        // after an acquiring load of the flag returned true.
        producerWakeHead.store(target, ordering: .relaxed)
        while true {
            // seq_cst: announce the park before rechecking; Dekker pair with the consumer's
            // `head.store` + `producerWaiting.load` in `release(head:)`.
            producerWaiting.store(true, ordering: .sequentiallyConsistent)
            // seq_cst (includes acquire): the recheck. Either it sees the consumer's latest head,
            // or the consumer's flag load after that store sees `true` and posts once head has
            // reached the target (it keeps popping until then: the ring holds elements up to tail).
            let observed = head.load(ordering: .sequentiallyConsistent)
            if observed &- target >= 0 {
                // relaxed: withdrawing the announcement publishes nothing. A consumer that already
                // claimed the flag posts anyway; the next park absorbs that as a spurious wakeup.
                producerWaiting.store(false, ordering: .relaxed)
                producer.pointee.cachedHead = observed
                return
            }
            let deadline = MonotonicDeadline.after(nanoseconds: producerParkSliceNanoseconds)
            if !producerSemaphore.wait(until: deadline) {
                // relaxed: diagnostics counter, single writer. The tests assert it stays 0.
                producerParkTimeoutCount.wrappingIncrement(ordering: .relaxed)
            }
            // Woken, timed out or spuriously woken: loop, re-announce and recheck.
        }
    }
}
