import Foundation
import MeltWatchTestKit
import NIOConcurrencyHelpers
import Synchronization
import Testing

@testable import MeltWatchMQTT

/// Collects what the loop hands over, for assertions from the test's thread.
private final class Collector: IngestSession.Handler, @unchecked Sendable {
    // @unchecked: all state is behind the lock; the loop thread writes, the test thread reads.
    let state = NIOLockedValueBox<(messages: [MQTTMessage], events: [MQTTEvent], batches: Int)>(([], [], 0))

    func handle(batch: inout [MQTTMessage]) {
        let b = batch
        state.withLockedValue { $0.messages += b; $0.batches += 1 }
    }

    func tick(inputCompleteAt monotonicMilliseconds: Int64) {}

    func event(_ event: MQTTEvent) { state.withLockedValue { $0.events.append(event) } }

    var messages: [MQTTMessage] { state.withLockedValue { $0.messages } }
    var events: [MQTTEvent] { state.withLockedValue { $0.events } }

    func waitFor(_ seconds: Double = 15, _ condition: (Collector) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition(self) { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return condition(self)
    }

    var subscribedCount: Int { events.filter { if case .subscribed = $0 { true } else { false } }.count }
}

/// Cuts the TCP connection from inside the first batch, as a crash during the journal's fsync would:
/// the loop has read the messages but not yet written their acknowledgements.
private final class CrashingCollector: IngestSession.Handler, @unchecked Sendable {
    // @unchecked: `session` is set before the loop starts and used only on the loop thread;
    // everything else is behind the lock.
    let state = NIOLockedValueBox<(batches: [[String]], events: [MQTTEvent])>(([], []))
    var session: IngestSession?

    func handle(batch: inout [MQTTMessage]) {
        let payloads = batch.map { String(decoding: $0.payload, as: UTF8.self) }
        let first = state.withLockedValue { s -> Bool in
            s.batches.append(payloads)
            return s.batches.count == 1
        }
        if first, let fd = session?.socketDescriptor { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    func tick(inputCompleteAt monotonicMilliseconds: Int64) {}
    func event(_ event: MQTTEvent) { state.withLockedValue { $0.events.append(event) } }
}

/// Abandons the loop inside the first batch, as the daemon does when the journal fails.
private final class AbandoningCollector: IngestSession.Handler, @unchecked Sendable {
    // @unchecked: `control` is Sendable and set before the loop starts; the rest is behind the lock.
    let batches = NIOLockedValueBox<[[String]]>([])
    var control: LoopControl?

    func handle(batch: inout [MQTTMessage]) {
        batches.withLockedValue { $0.append(batch.map { String(decoding: $0.payload, as: UTF8.self) }) }
        control?.abandon()
    }

    func tick(inputCompleteAt monotonicMilliseconds: Int64) {}
    func event(_ event: MQTTEvent) {}
}

/// Blocks inside the first batch, as a slow `fdatasync` does, and records for every tick how far
/// behind the clock the loop said its input was complete (ms), with the batch count at that tick.
private final class StallingCollector: IngestSession.Handler, @unchecked Sendable {
    // @unchecked: all state is behind the lock; the loop thread writes, the test thread reads.
    let state = NIOLockedValueBox<(batches: Int, ticks: [(batches: Int, lag: Int64)])>((0, []))
    let stallMilliseconds: UInt32

    init(stallMilliseconds: UInt32) { self.stallMilliseconds = stallMilliseconds }

    func handle(batch: inout [MQTTMessage]) {
        let first = state.withLockedValue { s -> Bool in
            s.batches += 1
            return s.batches == 1
        }
        if first { usleep(stallMilliseconds * 1000) }
    }

    func tick(inputCompleteAt monotonicMilliseconds: Int64) {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let now = Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
        state.withLockedValue { $0.ticks.append(($0.batches, now - monotonicMilliseconds)) }
    }

    func event(_ event: MQTTEvent) {}
}

/// Runs a session on its own thread, like the daemon's ingest thread.
private final class RunningSession: @unchecked Sendable {
    // @unchecked: `session` is used only by the loop thread after start; `control` is Sendable.
    let control = LoopControl()
    let collector = Collector()
    private let done = DoneFlag()

    init(_ options: SubscriberOptions) throws {
        let session = try IngestSession(options: options)
        let collector = collector, control = control, done = done
        let thread = Thread {
            try? session.run(control: control, handler: collector)
            done.value.store(true, ordering: .releasing)
        }
        thread.start()
    }

    func stop() {
        control.requestStop()
        while !done.value.load(ordering: .acquiring) { Thread.sleep(forTimeInterval: 0.01) }
    }
}

private final class DoneFlag: Sendable {
    let value = Synchronization.Atomic<Bool>(false)
}

private func options(_ broker: MosquittoBroker, clientID: String, topics: [String]) -> SubscriberOptions {
    var o = SubscriberOptions(address: BrokerAddress(host: "127.0.0.1", port: Int32(broker.port)), clientID: clientID, topics: topics)
    o.backoff = Backoff(initialMilliseconds: 50, maximumMilliseconds: 500)
    return o
}

@Suite("IngestSession against a real mosquitto", .serialized)
struct IngestSessionTests {
    @Test("subscribes to exactly the configured topics and hands over every message in order, byte for byte")
    func exactTopicsInOrder() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let s = try RunningSession(options(broker, clientID: "t-exact", topics: ["plants/p/e/a", "plants/p/e"]))
        defer { s.stop() }
        #expect(s.collector.waitFor { $0.subscribedCount == 1 })

        let pub = try Publisher(address: BrokerAddress(host: "127.0.0.1", port: Int32(broker.port)), clientID: "t-exact-pub")
        defer { pub.close() }
        for i in 0..<500 {
            try pub.publish(topic: i % 2 == 0 ? "plants/p/e/a" : "plants/p/e", text: "{\"n\":\(i)}")
            try pub.publish(topic: "plants/p/e/b", text: "not subscribed")   // a sibling topic: must not arrive
        }
        try pub.publish(topic: "plants/p/e/a", payload: [0, 255, 10])
        #expect(pub.waitUntilAcknowledged())
        #expect(s.collector.waitFor { $0.messages.count >= 501 })
        let got = s.collector.messages
        #expect(got.count == 501)
        #expect(got.prefix(500).map { String(decoding: $0.payload, as: UTF8.self) } == (0..<500).map { "{\"n\":\($0)}" })
        #expect(got.last?.payload == [0, 255, 10])
        #expect(got.allSatisfy { $0.qos == 1 && $0.topic != "plants/p/e/b" })
    }

    @Test("persistent session: QoS 1 messages published while we are away arrive when we come back")
    func persistentSession() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let first = try RunningSession(options(broker, clientID: "t-persist", topics: ["plants/p/e/a"]))
        #expect(first.collector.waitFor { $0.subscribedCount == 1 })
        first.stop()

        let pub = try Publisher(address: BrokerAddress(host: "127.0.0.1", port: Int32(broker.port)), clientID: "t-persist-pub")
        defer { pub.close() }
        for i in 0..<100 { try pub.publish(topic: "plants/p/e/a", text: "\(i)") }
        #expect(pub.waitUntilAcknowledged())

        let second = try RunningSession(options(broker, clientID: "t-persist", topics: ["plants/p/e/a"]))
        defer { second.stop() }
        #expect(second.collector.waitFor { $0.messages.count >= 100 })
        #expect(second.collector.messages.map { String(decoding: $0.payload, as: UTF8.self) } == (0..<100).map(String.init))
        #expect(second.collector.events.contains(.connected(sessionPresent: true)))
    }

    @Test("acknowledgements wait for the handler: messages of a batch cut off before loop_write are redelivered")
    func acknowledgementsHeldUntilHandled() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let address = BrokerAddress(host: "127.0.0.1", port: Int32(broker.port))
        // Create the persistent session first, then queue messages for it while it is away, so the
        // first batch read after reconnecting holds all of them.
        let warmup = try RunningSession(options(broker, clientID: "t-held", topics: ["plants/p/e/a"]))
        #expect(warmup.collector.waitFor { $0.subscribedCount == 1 })
        warmup.stop()
        let pub = try Publisher(address: address, clientID: "t-held-pub")
        defer { pub.close() }
        for i in 0..<50 { try pub.publish(topic: "plants/p/e/a", text: "m\(i)") }
        #expect(pub.waitUntilAcknowledged())

        let session = try IngestSession(options: options(broker, clientID: "t-held", topics: ["plants/p/e/a"]))
        let handler = CrashingCollector()
        handler.session = session
        let control = LoopControl()
        let done = DoneFlag()
        Thread {
            try? session.run(control: control, handler: handler)
            done.value.store(true, ordering: .releasing)
        }.start()
        defer {
            control.requestStop()
            while !done.value.load(ordering: .acquiring) { Thread.sleep(forTimeInterval: 0.01) }
        }
        let deadline = Date().addingTimeInterval(20)
        var batches: [[String]] = []
        while Date() < deadline {
            batches = handler.state.withLockedValue { $0.batches }
            if batches.count >= 2, Set(batches.dropFirst().joined()).isSuperset(of: batches[0]) { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        try #require(batches.count >= 2, "no redelivery after the cut")
        #expect(!batches[0].isEmpty)
        // Every message of the cut-off batch comes again: its PUBACK had not left when the handler ran.
        #expect(Set(batches.dropFirst().joined()).isSuperset(of: batches[0]))
        #expect(handler.state.withLockedValue { $0.events }.contains { if case .connectionLost = $0 { true } else { false } })
    }

    @Test("a batch that blocks (a slow fdatasync) leaves the input incomplete from before it: the tick after it says so, until the backlog is read")
    func stalledBatchHoldsInputCompletion() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let address = BrokerAddress(host: "127.0.0.1", port: Int32(broker.port))
        let session = try IngestSession(options: options(broker, clientID: "t-stall", topics: ["plants/p/e/a"]))
        let handler = StallingCollector(stallMilliseconds: 800)
        let control = LoopControl()
        let done = DoneFlag()
        Thread {
            try? session.run(control: control, handler: handler)
            done.value.store(true, ordering: .releasing)
        }.start()
        defer {
            control.requestStop()
            while !done.value.load(ordering: .acquiring) { Thread.sleep(forTimeInterval: 0.01) }
        }
        let pub = try Publisher(address: address, clientID: "t-stall-pub")
        defer { pub.close() }
        // A gateway publishing every 20 ms throughout: messages arrive while the first batch blocks.
        let deadline = Date().addingTimeInterval(20)
        var ticks: [(batches: Int, lag: Int64)] = []
        while Date() < deadline {
            try pub.publish(topic: "plants/p/e/a", text: "{}")
            Thread.sleep(forTimeInterval: 0.02)
            ticks = handler.state.withLockedValue { $0.ticks }
            if ticks.contains(where: { $0.batches >= 3 }) { break }
        }
        let afterStall = try #require(ticks.first { $0.batches == 1 }, "a tick after the blocking batch: \(ticks)")
        #expect(afterStall.lag >= 800, "input was complete only up to before the blocked batch: \(ticks)")
        let caughtUp = try #require(ticks.last { $0.batches >= 2 }, "ticks after the backlog was read: \(ticks)")
        #expect(caughtUp.lag < afterStall.lag, "reading the backlog completes the input again: \(ticks)")
        #expect(ticks.filter { $0.batches == 0 }.allSatisfy { $0.lag < 800 }, "before any stall the input is complete at every turn: \(ticks)")
    }

    @Test("abandon() inside a batch returns at once without writing: the batch's acknowledgements never leave")
    func abandonSendsNothing() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let address = BrokerAddress(host: "127.0.0.1", port: Int32(broker.port))
        let warmup = try RunningSession(options(broker, clientID: "t-abandon", topics: ["plants/p/e/a"]))
        #expect(warmup.collector.waitFor { $0.subscribedCount == 1 })
        warmup.stop()
        let pub = try Publisher(address: address, clientID: "t-abandon-pub")
        defer { pub.close() }
        for i in 0..<50 { try pub.publish(topic: "plants/p/e/a", text: "m\(i)") }
        #expect(pub.waitUntilAcknowledged())

        var session: IngestSession? = try IngestSession(options: options(broker, clientID: "t-abandon", topics: ["plants/p/e/a"]))
        let handler = AbandoningCollector()
        let control = LoopControl()
        handler.control = control
        try session!.run(control: control, handler: handler)  // returns by itself after the first batch
        #expect(control.isAbandoned)
        let abandoned = handler.batches.withLockedValue { $0 }
        try #require(abandoned.count == 1 && !abandoned[0].isEmpty)
        session = nil  // the socket closes with nothing more written

        // The same persistent session again: every message of the abandoned batch is redelivered.
        let again = try RunningSession(options(broker, clientID: "t-abandon", topics: ["plants/p/e/a"]))
        defer { again.stop() }
        #expect(again.collector.waitFor { Set($0.messages.map { String(decoding: $0.payload, as: UTF8.self) }).isSuperset(of: abandoned[0]) }, "not redelivered: \(abandoned[0])")
    }

    @Test("reconnects with backoff after the broker goes away, resubscribes, and receives again")
    func reconnects() throws {
        let broker = try MosquittoBroker()
        let port = broker.port
        let s = try RunningSession(options(broker, clientID: "t-reconnect", topics: ["plants/p/e/a"]))
        defer { s.stop() }
        #expect(s.collector.waitFor { $0.subscribedCount == 1 })
        broker.stop()
        #expect(s.collector.waitFor { $0.events.contains { if case .connectionLost = $0 { true } else { false } } })

        let again = try MosquittoBroker(port: port)
        defer { again.stop() }
        #expect(s.collector.waitFor(20) { $0.subscribedCount == 2 })
        let pub = try Publisher(address: BrokerAddress(host: "127.0.0.1", port: Int32(port)), clientID: "t-reconnect-pub")
        defer { pub.close() }
        try pub.publish(topic: "plants/p/e/a", text: "after")
        #expect(s.collector.waitFor { $0.messages.last.map { String(decoding: $0.payload, as: UTF8.self) } == "after" })
    }

    @Test("library failures become typed errors naming the call and libmosquitto's message")
    func typedErrors() throws {
        let broker = try MosquittoBroker()
        broker.stop()
        #expect(throws: MosquittoError.self) {
            _ = try Publisher(address: BrokerAddress(host: "127.0.0.1", port: Int32(broker.port)), clientID: "t-refused")
        }
        do {
            _ = try Publisher(address: BrokerAddress(host: "127.0.0.1", port: Int32(broker.port)), clientID: "t-refused")
        } catch {
            #expect(error.call == "mosquitto_connect_bind")
            #expect(error.isTransient)
            #expect(!error.message.isEmpty)
        }
    }

    @Test("backoff grows exponentially to its cap, with jitter in [cap/2, cap]")
    func backoff() {
        var rng = SystemRandomNumberGenerator()
        let b = Backoff(initialMilliseconds: 100, maximumMilliseconds: 1000)
        for attempt in 0..<30 {
            let cap = min(1000, 100 << min(attempt, 20))
            let d = b.delay(attempt: attempt, using: &rng)
            #expect(d >= cap / 2 && d <= cap)
        }
    }
}
