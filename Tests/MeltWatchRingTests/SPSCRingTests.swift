import Glibc
import MeltWatchRing
import Testing

/// Pops up to `count` elements (waiting at most `timeout` ms for the first) and returns them.
private func popArray<Element>(
    _ ring: SPSCRing<Element>, upTo count: Int, timeoutMilliseconds: Int = 0
) -> [Element] {
    let buffer = UnsafeMutableBufferPointer<Element>.allocate(capacity: count)
    defer { buffer.deallocate() }
    let popped = ring.pop(into: buffer, timeoutMilliseconds: timeoutMilliseconds)
    return Array(buffer[..<popped])
}

/// Pushes `values` with the batch API.
private func pushArray<Element>(_ ring: SPSCRing<Element>, _ values: [Element]) {
    values.withUnsafeBufferPointer { ring.push(contentsOf: $0) }
}

@Suite("SPSCRing, one thread")
struct SPSCRingSingleThreadTests {
    @Test("elements come out in push order across many wraparounds", arguments: [2, 4, 8, 64])
    func fifoAcrossWraparound(capacity: Int) {
        let ring = SPSCRing<Int>(capacity: capacity)
        #expect(ring.capacity == capacity)
        var random = TestRandom(seed: UInt64(capacity))
        var next = 0
        var expected = 0
        // Odd-sized pushes and pops make head and tail cross the end of the slot array at every offset.
        for _ in 0 ..< 2_000 {
            let room = capacity - ring.occupancy
            let pushCount = random.next(in: 0 ... room)
            if random.next(in: 0 ... 1) == 0 {
                for _ in 0 ..< pushCount { ring.push(next); next += 1 }
            } else {
                pushArray(ring, Array(next ..< next + pushCount))
                next += pushCount
            }
            #expect(ring.occupancy == next - expected)
            let popped = popArray(ring, upTo: random.next(in: 1 ... capacity + 1))
            #expect(popped == Array(expected ..< expected + popped.count))
            expected += popped.count
        }
        #expect(popArray(ring, upTo: capacity + 1) == Array(expected ..< next))
        #expect(ring.pushedTotal == next)
        #expect(ring.occupancy == 0)
    }

    @Test("pop returns no more than the buffer holds, and the rest stays queued")
    func popRespectsBufferSize() {
        let ring = SPSCRing<UInt8>(capacity: 8)
        pushArray(ring, [1, 2, 3, 4, 5])
        #expect(popArray(ring, upTo: 2) == [1, 2])
        #expect(ring.occupancy == 3)
        #expect(popArray(ring, upTo: 100) == [3, 4, 5])
    }

    @Test("a batch larger than the free space in one go wraps correctly once room is made")
    func batchFillsExactlyToCapacity() {
        let ring = SPSCRing<Int>(capacity: 8)
        pushArray(ring, [0, 1, 2, 3, 4, 5])
        #expect(popArray(ring, upTo: 5) == [0, 1, 2, 3, 4])
        // 7 free slots, starting at slot 6: the copy must split at the end of the array.
        pushArray(ring, [6, 7, 8, 9, 10, 11, 12])
        #expect(ring.occupancy == 8)
        #expect(!ring.tryPush(13))
        #expect(popArray(ring, upTo: 8) == [5, 6, 7, 8, 9, 10, 11, 12])
    }

    @Test("tryPush refuses when full and succeeds again after a pop")
    func tryPushOnFull() {
        let ring = SPSCRing<Int>(capacity: 4)
        for value in 0 ..< 4 { #expect(ring.tryPush(value)) }
        #expect(!ring.tryPush(99))
        #expect(!ring.tryPush(99))
        #expect(ring.occupancy == 4)
        #expect(ring.pushedTotal == 4)
        #expect(ring.fullWaits == 0, "tryPush never blocks, so it is no full wait")
        #expect(popArray(ring, upTo: 1) == [0])
        #expect(ring.tryPush(4))
        #expect(!ring.tryPush(99))
        #expect(popArray(ring, upTo: 10) == [1, 2, 3, 4])
    }

    @Test("an empty push batch changes nothing")
    func emptyBatch() {
        let ring = SPSCRing<Int>(capacity: 2)
        pushArray(ring, [])
        #expect(ring.pushedTotal == 0)
        #expect(popArray(ring, upTo: 1) == [])
    }

    @Test("pop on an empty ring returns 0 after its timeout", arguments: [0, 1, 20])
    func popTimesOut(timeoutMilliseconds: Int) {
        let ring = SPSCRing<Int>(capacity: 4)
        #expect(popArray(ring, upTo: 4, timeoutMilliseconds: timeoutMilliseconds) == [])
        #expect(!ring.isClosed)
        // The ring still works after a timed-out wait (no leftover waiting state blocks it).
        ring.push(7)
        #expect(popArray(ring, upTo: 4, timeoutMilliseconds: timeoutMilliseconds) == [7])
    }

    @Test("after close the consumer drains what is left, then pop returns 0 without waiting")
    func closeDrainsThenEnds() {
        let ring = SPSCRing<Int>(capacity: 8)
        pushArray(ring, [1, 2, 3])
        #expect(!ring.isClosed)
        ring.close()
        ring.close() // idempotent
        #expect(ring.isClosed)
        #expect(popArray(ring, upTo: 2, timeoutMilliseconds: 60_000) == [1, 2])
        #expect(popArray(ring, upTo: 2, timeoutMilliseconds: 60_000) == [3])
        // With a minute-long timeout this only returns because the ring is closed and empty.
        #expect(popArray(ring, upTo: 2, timeoutMilliseconds: 60_000) == [])
        #expect(ring.consumerParkTimeouts == 0)
        #expect(ring.pushedTotal == 3)
    }

    @Test("capacity must be a power of two of at least 2")
    func capacityPrecondition() async {
        await #expect(processExitsWith: .failure) { _ = SPSCRing<Int>(capacity: 0) }
        await #expect(processExitsWith: .failure) { _ = SPSCRing<Int>(capacity: 1) }
        await #expect(processExitsWith: .failure) { _ = SPSCRing<Int>(capacity: 12) }
    }

    @Test("pushing after close is a programming error, not a silent drop")
    func pushAfterClosePrecondition() async {
        await #expect(processExitsWith: .failure) {
            let ring = SPSCRing<Int>(capacity: 2)
            ring.close()
            ring.push(1)
        }
    }
}

@Suite("SPSCRing, two threads")
struct SPSCRingWakeupTests {
    @Test("close wakes a consumer parked with a long timeout")
    func closeWakesParkedConsumer() {
        let ring = SPSCRing<Int>(capacity: 4)
        let popped = Outcome(-1)
        let consumer = TestThread {
            let buffer = UnsafeMutableBufferPointer<Int>.allocate(capacity: 4)
            defer { buffer.deallocate() }
            popped.value = ring.pop(into: buffer, timeoutMilliseconds: 60_000)
        }
        // Act only once the consumer has announced its park, so close() must go through the wakeup path.
        while !ring.isConsumerParked { usleep(1_000) }
        ring.close()
        consumer.join()
        #expect(popped.value == 0)
        #expect(ring.consumerParks == 1)
        #expect(ring.consumerParkTimeouts == 0, "the consumer must be woken by close(), not by its timeout")
    }

    @Test("a push wakes a consumer parked with a long timeout")
    func pushWakesParkedConsumer() {
        let ring = SPSCRing<Int>(capacity: 4)
        let popped = Outcome<[Int]>([])
        let consumer = TestThread {
            let buffer = UnsafeMutableBufferPointer<Int>.allocate(capacity: 4)
            defer { buffer.deallocate() }
            let count = ring.pop(into: buffer, timeoutMilliseconds: 60_000)
            popped.value = Array(buffer[..<count])
        }
        while !ring.isConsumerParked { usleep(1_000) }
        ring.push(42)
        consumer.join()
        #expect(popped.value == [42])
        #expect(ring.consumerParkTimeouts == 0)
    }

    @Test("a pop wakes a producer parked on a full ring")
    func popWakesParkedProducer() {
        // A producer park slice of a minute: a lost wakeup would end the park by timeout, which is counted.
        let ring = SPSCRing<Int>(capacity: 2, producerParkSliceNanoseconds: 60_000_000_000)
        ring.push(1)
        ring.push(2)
        let producer = TestThread { ring.push(3) }
        while ring.producerParks == 0 { usleep(1_000) }
        #expect(popArray(ring, upTo: 1) == [1])
        producer.join()
        #expect(ring.fullWaits == 1)
        #expect(ring.producerParkTimeouts == 0)
        #expect(popArray(ring, upTo: 4) == [2, 3])
    }
}
