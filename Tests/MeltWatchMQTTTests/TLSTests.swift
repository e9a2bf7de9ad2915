import Foundation
import MeltWatchTestKit
import NIOConcurrencyHelpers
import Synchronization
import Testing

@testable import MeltWatchMQTT

/// Collects messages and connection events from an ingest loop on its own thread.
private final class TLSCollector: IngestSession.Handler, @unchecked Sendable {
    // @unchecked: all state is behind the lock; the loop thread writes, the test thread reads.
    let state = NIOLockedValueBox<(messages: [String], events: [MQTTEvent])>(([], []))
    func handle(batch: inout [MQTTMessage]) {
        let texts = batch.map { String(decoding: $0.payload, as: UTF8.self) }
        state.withLockedValue { $0.messages += texts }
    }
    func tick(inputCompleteAt monotonicMilliseconds: Int64) {}
    func event(_ event: MQTTEvent) { state.withLockedValue { $0.events.append(event) } }
    var messages: [String] { state.withLockedValue { $0.messages } }
    var events: [MQTTEvent] { state.withLockedValue { $0.events } }
    var connected: Bool { events.contains { if case .connected = $0 { true } else { false } } }
    var subscribed: Bool { events.contains { if case .subscribed = $0 { true } else { false } } }
    var failures: [String] { events.compactMap { if case .connectionLost(let e, _) = $0 { "\(e)" } else { nil } } }

    func waitFor(_ seconds: Double = 15, _ condition: (TLSCollector) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition(self) { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return condition(self)
    }
}

/// One ingest loop with `options`, run on a thread until stopped.
private final class TLSSession: @unchecked Sendable {
    // @unchecked: the session is used by the loop thread only; the control and flag are Sendable.
    let control = LoopControl()
    let collector = TLSCollector()
    private let done = Synchronization.Atomic<Bool>(false)

    init(_ options: SubscriberOptions) throws {
        let session = try IngestSession(options: options)
        let collector = collector, control = control
        Thread { [self] in
            try? session.run(control: control, handler: collector)
            done.store(true, ordering: .releasing)
        }.start()
    }

    func stop() {
        control.requestStop()
        while !done.load(ordering: .acquiring) { Thread.sleep(forTimeInterval: 0.01) }
    }
}

@Suite("mqtts:// against a TLS mosquitto (certificates made by openssl in the test)", .serialized)
struct TLSTests {
    let tls: TLSFixture
    let broker: MosquittoBroker
    let tlsPort: Int

    init() throws {
        tls = try TLSFixture()
        let port = try freeLoopbackPort()
        tlsPort = port
        broker = try MosquittoBroker(extraConfig: tls.listenerConfig(port: port))
        guard waitForPort(port, timeoutSeconds: 10) else { throw TestKitError("TLS listener not up: \(broker.log)") }
    }

    func options(_ clientID: String, tls files: TLSFiles?, tlsAddress: Bool = true) -> SubscriberOptions {
        var o = SubscriberOptions(address: BrokerAddress(host: "127.0.0.1", port: Int32(tlsPort), tls: tlsAddress), clientID: clientID,
                                  topics: ["plants/p/e/a"])
        o.tls = files
        o.backoff = Backoff(initialMilliseconds: 100, maximumMilliseconds: 500)
        // Batches end mid-burst, so the loop returns to `poll` while messages are still coming.
        o.maxBatch = 7
        return o
    }

    var clientFiles: TLSFiles { TLSFiles(caFile: tls.caFile, certFile: tls.clientCertFile, keyFile: tls.clientKeyFile) }

    @Test("with the CA and a client certificate: every message of each burst arrives, in order, the last ones too")
    func burst() throws {
        defer { broker.stop() }
        let s = try TLSSession(options("t-tls", tls: clientFiles))
        defer { s.stop() }
        #expect(s.collector.waitFor { $0.subscribed }, "\(s.collector.events) \(broker.log)")
        let pub = try Publisher(address: BrokerAddress(host: "127.0.0.1", port: Int32(tlsPort), tls: true), clientID: "t-tls-pub",
                                tls: clientFiles)
        defer { pub.close() }
        for round in 0..<3 {
            // A burst, then silence: the tail must not wait for the next byte on the socket.
            for i in 0..<700 { try pub.publish(topic: "plants/p/e/a", text: "\(round)-\(i)") }
            #expect(pub.waitUntilAcknowledged())
            #expect(s.collector.waitFor(5) { $0.messages.count == 700 * (round + 1) }, "round \(round): \(s.collector.messages.count) of \(700 * (round + 1))")
        }
        #expect(s.collector.messages == (0..<3).flatMap { r in (0..<700).map { "\(r)-\($0)" } })
    }

    @Test("a CA that did not sign the broker's certificate is refused, with a TLS error")
    func wrongCA() throws {
        defer { broker.stop() }
        let s = try TLSSession(options("t-wrong-ca", tls: TLSFiles(caFile: tls.wrongCAFile, certFile: tls.clientCertFile, keyFile: tls.clientKeyFile)))
        defer { s.stop() }
        #expect(s.collector.waitFor { !$0.failures.isEmpty })
        #expect(!s.collector.connected)
        #expect(s.collector.failures.first?.contains("TLS") == true, "\(s.collector.failures)")
    }

    @Test("plain MQTT on the TLS port, or TLS without a client certificate, never connects")
    func plainAndAnonymous() throws {
        defer { broker.stop() }
        let plain = try TLSSession(options("t-plain", tls: nil, tlsAddress: false))
        let noCert = try TLSSession(options("t-no-cert", tls: TLSFiles(caFile: tls.caFile)))
        defer {
            plain.stop()
            noCert.stop()
        }
        #expect(plain.collector.waitFor { $0.failures.count >= 2 })
        #expect(noCert.collector.waitFor { $0.failures.count >= 2 })
        #expect(!plain.collector.connected && !noCert.collector.connected)
        #expect(throws: MosquittoError.self) {
            _ = try Publisher(address: BrokerAddress(host: "127.0.0.1", port: Int32(tlsPort)), clientID: "t-plain-pub",
                              connectTimeoutMilliseconds: 2_000)
        }
    }

    @Test("TLS files that do not exist are a configuration error at once, not a retry loop")
    func missingFiles() throws {
        defer { broker.stop() }
        #expect(throws: MosquittoError.self) {
            _ = try IngestSession(options: options("t-missing", tls: TLSFiles(caFile: tls.directory.path + "/nope.crt")))
        }
    }
}
