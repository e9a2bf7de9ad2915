import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
import Synchronization

/// A real HTTP server on 127.0.0.1 that records every webhook POST, for end-to-end tests.
///
/// `failFirst` requests answer 500 (to exercise retries); the rest answer 204.
public final class WebhookReceiver: Sendable {
    /// One received request.
    public struct Delivery: Sendable {
        public var path: String
        public var headers: [String: String]
        public var body: [UInt8]
        public var status: Int

        /// The body as text.
        public var text: String { String(decoding: body, as: UTF8.self) }
        /// The body as a JSON object.
        public var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
        }
        /// A hazard record's event (`meltwatch.hazard/1`), not an alarm event.
        public var isHazard: Bool { text.hasPrefix(#"{"schema":"meltwatch.hazard/1""#) }
    }

    /// The accepted alarm events (contract §4), without the hazard records' events.
    public var alarms: [Delivery] { accepted.filter { !$0.isHazard } }
    /// The accepted hazard records' events (contract §7).
    public var hazards: [Delivery] { accepted.filter(\.isHazard) }

    private let deliveries = NIOLockedValueBox<[Delivery]>([])
    private let remainingFailures: Synchronization.Atomic<Int>
    private let failureStatus = Synchronization.Atomic<Int>(500)
    private let remainingHangs = Synchronization.Atomic<Int>(0)
    private let hangMilliseconds = Synchronization.Atomic<Int>(0)
    private let portBox = Synchronization.Atomic<Int>(0)
    private let task = NIOLockedValueBox<Task<Void, any Error>?>(nil)
    private let group = NIOLockedValueBox<ServiceGroup?>(nil)

    /// Starts listening; returns when the port is bound.
    public init(failFirst: Int = 0, port: Int = 0) async throws {
        remainingFailures = Atomic(failFirst)
        let router = Router()
        router.post("**") { [self] request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            if remainingHangs.load(ordering: .relaxed) > 0 {
                // A receiver that takes too long: recorded as 599 (never counted as accepted),
                // answered only after the sender's timeout.
                remainingHangs.subtract(1, ordering: .relaxed)
                deliveries.withLockedValue {
                    $0.append(Delivery(path: request.uri.path, headers: headers, body: Array(buffer: body), status: 599))
                }
                try? await Task.sleep(for: .milliseconds(hangMilliseconds.load(ordering: .relaxed)))
                return Response(status: .gatewayTimeout)
            }
            let fail = remainingFailures.load(ordering: .relaxed) > 0
            if fail { remainingFailures.subtract(1, ordering: .relaxed) }
            let status = fail ? failureStatus.load(ordering: .relaxed) : 204
            deliveries.withLockedValue {
                $0.append(Delivery(path: request.uri.path, headers: headers, body: Array(buffer: body), status: status))
            }
            return Response(status: .init(code: status))
        }
        let ready = AsyncStream.makeStream(of: Int.self)
        // `stop()` ends the server through the service group's graceful shutdown, which closes the
        // listening socket (cancelling the task alone left the port bound), so a test can start a
        // new receiver on the same port.
        let logger = {
            var logger = Logger(label: "webhook-receiver")
            logger.logLevel = .critical
            return logger
        }()
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in ready.continuation.yield(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        let serviceGroup = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        group.withLockedValue { $0 = serviceGroup }
        // If the server ends before it listens (the port is still taken), the stream finishes
        // without a port and init throws instead of waiting for ever.
        task.withLockedValue { $0 = Task {
            defer { ready.continuation.finish() }
            try await serviceGroup.run()
        } }
        for await bound in ready.stream {
            portBox.store(bound, ordering: .relaxed)
            break
        }
        guard portBox.load(ordering: .relaxed) != 0 else {
            throw TestKitError("webhook receiver could not listen on 127.0.0.1:\(port)")
        }
    }

    /// Holds the next `count` requests for `milliseconds` before answering (a timing-out endpoint).
    public func hangNext(_ count: Int, milliseconds: Int) {
        hangMilliseconds.store(milliseconds, ordering: .relaxed)
        remainingHangs.store(count, ordering: .relaxed)
    }

    /// Answers the next `count` requests with `status` instead of 204.
    public func failNext(_ count: Int, status: Int = 500) {
        failureStatus.store(status, ordering: .relaxed)
        remainingFailures.store(count, ordering: .relaxed)
    }

    /// The bound port.
    public var port: Int { portBox.load(ordering: .relaxed) }
    /// The URL to put in `duty.webhooks`.
    public var url: String { "http://127.0.0.1:\(port)/alarms" }

    /// Every request so far, in arrival order.
    public var all: [Delivery] { deliveries.withLockedValue { $0 } }
    /// Requests answered with success.
    public var accepted: [Delivery] { all.filter { $0.status < 300 } }

    /// Waits until `predicate` holds for the accepted deliveries, or the timeout passes.
    public func waitFor(timeoutSeconds: Double = 30, _ predicate: ([Delivery]) -> Bool) async -> [Delivery] {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while Date() < deadline {
            let d = accepted
            if predicate(d) { return d }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return accepted
    }

    /// Starts stopping the server (for `defer`); ``shutdown()`` waits until the port is free.
    public func stop() {
        guard let g = group.withLockedValue({ $0 }) else { return }
        Task { await g.triggerGracefulShutdown() }
    }

    /// Stops the server and waits until it has closed its listening socket.
    public func shutdown() async {
        guard let g = group.withLockedValue({ $0 }) else { return }
        await g.triggerGracefulShutdown()
        _ = try? await task.withLockedValue({ $0 })?.value
    }
}
