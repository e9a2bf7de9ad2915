import AsyncHTTPClient
import Glibc
import Logging
import MeltWatchCore
import NIOCore
import ServiceLifecycle
import Synchronization

/// One `duty.webhooks` entry, with its secret already read.
public struct WebhookEndpoint: Sendable {
    public var url: String
    /// HMAC key; nil sends no signature header.
    public var secret: [UInt8]?

    /// Creates an endpoint.
    public init(url: String, secret: [UInt8]?) {
        self.url = url
        self.secret = secret
    }
}

/// Retry timing for webhook delivery: exponential from `initial`, capped at `maximum` (contract: 60 s), with jitter.
public struct RetryPolicy: Sendable {
    public var initial: Duration
    public var maximum: Duration
    public var requestTimeout: Duration

    /// Creates a policy.
    public init(initial: Duration = .milliseconds(500), maximum: Duration = .seconds(60), requestTimeout: Duration = .seconds(10)) {
        self.initial = initial
        self.maximum = maximum
        self.requestTimeout = requestTimeout
    }

    /// Delay before retry `attempt` (1-based): uniform in [cap/2, cap].
    func delay(attempt: Int) -> Duration {
        let capMs = min(Double(maximum.milliseconds), Double(initial.milliseconds) * Double(1 << min(attempt - 1, 20)))
        return .milliseconds(Int64(Double.random(in: (capMs / 2)...max(capMs / 2, capMs))))
    }
}

extension Duration {
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}

/// Delivers alarm events to every webhook: `POST` with `Idempotency-Key` and, when a secret is set,
/// `X-MeltWatch-Signature`; any 2xx is success, anything else (4xx included: a duty system never drops
/// an alarm because a receiver misbehaves) is retried with capped exponential backoff and jitter.
///
/// Each endpoint has its own queue and delivers strictly in submission order, so events of one alarm
/// arrive in order; a failing endpoint never delays another. Queues live in memory: delivery survives
/// receiver outages while the daemon runs; surviving daemon restarts is the duty-room outbox's job.
public final class WebhookDispatcher: Service {
    private struct Lane {
        let endpoint: WebhookEndpoint
        let stream: AsyncStream<AlarmEnvelope>
        let continuation: AsyncStream<AlarmEnvelope>.Continuation
    }

    private let lanes: [Lane]
    private let client: HTTPClient
    private let policy: RetryPolicy
    private let logger: Logger
    private let drainTimeout: Duration
    private let pendingCount = Atomic<Int>(0)
    private let deliveredCount = Atomic<Int>(0)
    private let failedAttempts = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)

    /// Creates a dispatcher; nothing is sent until ``run()``.
    public init(endpoints: [WebhookEndpoint], client: HTTPClient = .shared, policy: RetryPolicy = RetryPolicy(),
                drainTimeout: Duration = .seconds(5), logger: Logger) {
        lanes = endpoints.map { e in
            let (stream, continuation) = AsyncStream.makeStream(of: AlarmEnvelope.self, bufferingPolicy: .unbounded)
            return Lane(endpoint: e, stream: stream, continuation: continuation)
        }
        self.client = client
        self.policy = policy
        self.drainTimeout = drainTimeout
        self.logger = logger
    }

    /// Queues an event for every endpoint. Thread-safe and non-blocking: the engine thread calls it.
    public func submit(_ envelope: AlarmEnvelope) {
        for lane in lanes {
            pendingCount.add(1, ordering: .relaxed)
            if case .terminated = lane.continuation.yield(envelope) {
                pendingCount.subtract(1, ordering: .relaxed)
                logger.error("alarm event not queued: dispatcher already stopped", metadata: [
                    "alarm.event_id": "\(envelope.event.eventID)", "webhook.url": "\(lane.endpoint.url)",
                ])
            }
        }
    }

    /// Events queued or being retried, over all endpoints (`meltwatch_webhook_pending`).
    public var pending: Int { pendingCount.load(ordering: .relaxed) }
    /// Events delivered with a 2xx, over all endpoints.
    public var delivered: Int { deliveredCount.load(ordering: .relaxed) }
    /// Delivery attempts that failed (and were retried).
    public var failures: Int { failedAttempts.load(ordering: .relaxed) }

    /// Delivers until graceful shutdown, then drains for at most `drainTimeout`.
    public func run() async throws {
        if lanes.isEmpty {
            // No webhooks configured (alarms go out by other routes): stay up until shutdown, since a
            // service that returns early would stop the whole daemon.
            try? await gracefulShutdown()
            return
        }
        await withTaskGroup(of: Void.self) { group in
            for lane in lanes {
                group.addTask { await self.deliver(lane) }
            }
            await withGracefulShutdownHandler {
                await group.waitForAll()
            } onGracefulShutdown: {
                self.finish()
            }
        }
    }

    /// Stops accepting events; queued ones are still attempted until the drain deadline.
    public func finish() {
        stopping.store(true, ordering: .releasing)
        for lane in lanes { lane.continuation.finish() }
    }

    private func deliver(_ lane: Lane) async {
        var drainDeadline: ContinuousClock.Instant?
        for await envelope in lane.stream {
            var attempt = 0
            while true {
                attempt += 1
                let outcome = await post(envelope, to: lane.endpoint)
                if outcome == nil {
                    pendingCount.subtract(1, ordering: .relaxed)
                    deliveredCount.add(1, ordering: .relaxed)
                    break
                }
                failedAttempts.add(1, ordering: .relaxed)
                let delay = policy.delay(attempt: attempt)
                logger.warning("webhook delivery failed; will retry", metadata: [
                    "webhook.url": "\(lane.endpoint.url)", "alarm.event_id": "\(envelope.event.eventID)",
                    "webhook.error": "\(outcome!)", "webhook.attempt": "\(attempt)", "webhook.retry_ms": "\(delay.milliseconds)",
                ])
                if !(await pause(delay, deadline: &drainDeadline)) {
                    logger.error("stopping with undelivered alarm events", metadata: [
                        "webhook.url": "\(lane.endpoint.url)", "webhook.pending": "\(pending)",
                    ])
                    return
                }
            }
        }
    }

    /// Sleeps `delay` in short slices; false once shutdown began and its drain deadline passed.
    private func pause(_ delay: Duration, deadline: inout ContinuousClock.Instant?) async -> Bool {
        let end = ContinuousClock.now.advanced(by: delay)
        while true {
            if stopping.load(ordering: .acquiring) {
                let d = deadline ?? ContinuousClock.now.advanced(by: drainTimeout)
                deadline = d
                if ContinuousClock.now >= d { return false }
            }
            if Task.isCancelled { return false }
            let now = ContinuousClock.now
            if now >= end { return true }
            try? await Task.sleep(for: min(.milliseconds(250), now.duration(to: end)))
        }
    }

    /// One POST; nil on 2xx, otherwise a description of the failure.
    private func post(_ envelope: AlarmEnvelope, to endpoint: WebhookEndpoint) async -> String? {
        var request = HTTPClientRequest(url: endpoint.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "meltwatch")
        request.headers.add(name: "Idempotency-Key", value: envelope.event.eventID)
        let body = Array(envelope.body.utf8)
        if let secret = endpoint.secret {
            request.headers.add(name: "X-MeltWatch-Signature", value: WebhookSignature.header(body: body, secret: secret, timestamp: unixSeconds()))
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .init(policy.requestTimeout))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            return (200..<300).contains(response.status.code) ? nil : "HTTP \(response.status.code)"
        } catch {
            return "\(error)"
        }
    }
}

private func unixSeconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec)
}


extension TimeAmount {
    init(_ d: Duration) { self = .milliseconds(d.milliseconds) }
}
