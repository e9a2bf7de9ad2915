import AsyncHTTPClient
import Crypto
import Glibc
import Logging
import MeltWatchCore
import NIOCore

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

/// Retry timing for delivery: exponential from `initial`, capped at `maximum` (contract: 60 s), with jitter.
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

/// How one delivery attempt went.
public enum DeliveryResult: Sendable, Equatable {
    case delivered
    /// Retry later (connection refused, timeout, any non-2xx but 410).
    case failed(String)
    /// The receiver says the endpoint is gone for good (HTTP 410): stop delivering there.
    case gone(String)
    /// Nothing was sent: the channel may not send yet (a robot's rate window is full). Try again
    /// after this long; not a failure (no backoff, no `webhook-failing`), and a stopping daemon
    /// need not wait for it.
    case wait(Duration)
}

/// A place alarm events go to: a webhook, the MQTT alarm topic.
///
/// A channel's URL can be its credential (DingTalk and WeCom put the robot's token in it), so it is
/// never how a channel is named: logs, system alarms, the API and the journal say `webhook#1`.
public protocol DeliveryChannel: Sendable {
    /// How logs, system alarms and the API name it: its kind and its place among its kind in the
    /// configuration (`webhook#2`), never its URL.
    var name: String { get }
    /// Its delivery cursor's identity: the same while its destination is, wherever it moves in the
    /// configuration, and holding no secret (for a webhook, a digest of its URL).
    var cursorKey: String { get }
    /// Cursor identities it had before (a webhook's URL, until issue 19): adopted once, then removed.
    var legacyCursorKeys: [String] { get }
    /// One attempt to deliver `envelope`.
    func deliver(_ envelope: AlarmEnvelope) async -> DeliveryResult
    /// One attempt to deliver the first events of `batch` (never empty, in sequence order): how many
    /// it covered (at least 1 when delivered) and how it went. A channel that sends one event per
    /// request covers one; a rate-limited robot may send several as one digest, or pass over events
    /// it does not post.
    func deliver(batch: ArraySlice<StoredEvent>) async -> (covered: Int, result: DeliveryResult)
}

extension DeliveryChannel {
    public var legacyCursorKeys: [String] { [] }

    /// A cursor key for a channel that posts to `url`: `<kind>:` and the first 128 bits of the URL's
    /// SHA-256, in hex — the same while the URL is, and no token readable from it.
    static func cursorKey(kind: String, url: String) -> String {
        "\(kind):" + SHA256.hash(data: Array(url.utf8)).map { String(format: "%02x", $0) }.joined().prefix(32)
    }

    public func deliver(batch: ArraySlice<StoredEvent>) async -> (covered: Int, result: DeliveryResult) {
        (1, await deliver(batch.first!.envelope))
    }
}

/// A webhook (contract §4): `POST` with `Idempotency-Key` and, when a secret is set,
/// `X-MeltWatch-Signature`; any 2xx is success; everything else is retried (4xx too: a duty system
/// never drops an alarm because a receiver misbehaves) except 410, which disables the endpoint.
public struct WebhookChannel: DeliveryChannel {
    public let endpoint: WebhookEndpoint
    let client: HTTPClient
    let requestTimeout: Duration
    public let name: String
    public let cursorKey: String

    /// Creates a channel, the `index`th webhook of the configuration (1-based: `webhook#1`).
    public init(endpoint: WebhookEndpoint, index: Int = 1, client: HTTPClient = .shared, requestTimeout: Duration = .seconds(10)) {
        self.endpoint = endpoint
        self.client = client
        self.requestTimeout = requestTimeout
        name = "webhook#\(index)"
        cursorKey = Self.cursorKey(kind: "webhook", url: endpoint.url)
    }

    public var legacyCursorKeys: [String] { [endpoint.url] }

    public func deliver(_ envelope: AlarmEnvelope) async -> DeliveryResult {
        var request = HTTPClientRequest(url: endpoint.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "meltwatch")
        request.headers.add(name: "Idempotency-Key", value: envelope.eventID)
        let body = Array(envelope.body.utf8)
        if let secret = endpoint.secret {
            request.headers.add(name: "X-MeltWatch-Signature", value: WebhookSignature.header(body: body, secret: secret, timestamp: WallClock.milliseconds() / 1000))
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .milliseconds(requestTimeout.milliseconds))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            if (200..<300).contains(response.status.code) { return .delivered }
            return response.status.code == 410 ? .gone("HTTP 410") : .failed("HTTP \(response.status.code)")
        } catch {
            return .failed("\(error)")
        }
    }
}
