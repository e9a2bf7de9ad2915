import CMosquitto
import Glibc
import NIOConcurrencyHelpers
import Synchronization

/// One MQTT message as received, copied out of libmosquitto's memory.
public struct MQTTMessage: Sendable, Equatable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: Int32
    public var retain: Bool
    /// When libmosquitto handed it to us (`CLOCK_MONOTONIC`, ns; 0 when unknown): latency metrics.
    public var receivedNanos: UInt64

    /// Creates a message.
    public init(topic: String, payload: [UInt8], qos: Int32, retain: Bool = false, receivedNanos: UInt64 = 0) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.receivedNanos = receivedNanos
    }
}

/// What happened to the connection; reported to the caller on the loop thread.
public enum MQTTEvent: Sendable, Equatable {
    /// CONNACK accepted; `sessionPresent` says the broker kept our persistent session.
    case connected(sessionPresent: Bool)
    /// CONNACK refused (bad credentials, not authorised, …).
    case connectionRefused(code: Int32, reason: String)
    /// The TCP/TLS connect or a later read/write failed; a reconnect follows after `retryInMilliseconds`.
    case connectionLost(MosquittoError, retryInMilliseconds: Int)
    /// Every SUBSCRIBE was acknowledged.
    case subscribed(topics: Int)
    /// The broker refused a subscription (SUBACK 0x80), e.g. an ACL denies it.
    case subscriptionRejected(topic: String)
}

/// A retained presence topic with its online and offline payloads (see ``SubscriberOptions/presence``).
public struct Presence: Sendable {
    public var topic: String
    public var qos: Int32
    public var retain: Bool
    /// The payload for `online` (true) or `offline` at a connect attempt's time in ms.
    public var payload: @Sendable (_ online: Bool, _ timestamp: Int64) -> [UInt8]

    public init(topic: String, qos: Int32 = 1, retain: Bool = true, payload: @escaping @Sendable (Bool, Int64) -> [UInt8]) {
        self.topic = topic
        self.qos = qos
        self.retain = retain
        self.payload = payload
    }
}

/// Capped exponential backoff with full jitter (AWS architecture blog's "full jitter").
public struct Backoff: Sendable, Equatable {
    public var initialMilliseconds: Int
    public var maximumMilliseconds: Int

    /// Creates a backoff policy. The cap is short on purpose: the daemon reconnects to its own plant's
    /// broker, one client, and every second without the link is a second the plants are not watched
    /// (a pending connect is abandoned by libmosquitto after one keepalive, so after a partition heals
    /// the link is back within keepalive + 5 s).
    public init(initialMilliseconds: Int = 500, maximumMilliseconds: Int = 5_000) {
        self.initialMilliseconds = initialMilliseconds
        self.maximumMilliseconds = maximumMilliseconds
    }

    /// The delay before attempt `attempt` (0-based): uniform in [cap/2, cap], cap = min(max, initial·2^attempt).
    ///
    /// Half the cap as a floor keeps a fleet of restarted daemons from hammering the broker in lockstep
    /// while never retrying sooner than half the intended delay.
    public func delay<R: RandomNumberGenerator>(attempt: Int, using rng: inout R) -> Int {
        let shift = min(attempt, 20)
        let cap = min(maximumMilliseconds, initialMilliseconds << shift)
        return Int.random(in: (cap / 2)...max(cap / 2, cap), using: &rng)
    }
}

/// Settings for a subscribing session.
public struct SubscriberOptions: Sendable {
    public var address: BrokerAddress
    /// Fixed client id: with `cleanSession == false` the broker keeps our subscriptions and queues
    /// QoS ≥ 1 messages while we restart.
    public var clientID: String
    public var cleanSession: Bool = false
    public var keepAliveSeconds: Int32 = 30
    public var username: String?
    public var password: String?
    public var qos: Int32 = 1
    /// Exactly the topics to subscribe to.
    public var topics: [String]
    public var backoff = Backoff()
    /// The most messages handed over in one batch (one future journal commit).
    public var maxBatch = 4096
    /// How long one poll waits for data; bounds tick latency and stop latency.
    public var pollTimeoutMilliseconds: Int32 = 50
    public var tls: TLSFiles?
    /// Presence announced on this very connection (a Sparkplug host's STATE): `offline` is the MQTT
    /// will, so the broker publishes it when the link dies; `online` is published once every
    /// subscription of a connection is acknowledged. Both get the connect attempt's time (ms since
    /// the epoch), the same in the will and the announcement, as Sparkplug 3.0 asks.
    public var presence: Presence?

    /// Creates options; see the properties for defaults.
    public init(address: BrokerAddress, clientID: String, topics: [String], qos: Int32 = 1) {
        self.address = address
        self.clientID = clientID
        self.topics = topics
        self.qos = qos
    }
}

/// Certificate files for `mqtts://`: the CA that signed the broker's certificate, and the client's
/// own certificate and key when the broker requires one. The broker's certificate is verified
/// against the CA and its name (or IP address) against the URL's host; TLS 1.2 or newer.
public struct TLSFiles: Sendable, Equatable {
    public var caFile: String
    public var certFile: String?
    public var keyFile: String?

    /// Creates a TLS file set.
    public init(caFile: String, certFile: String? = nil, keyFile: String? = nil) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
    }

    /// Configures a client for TLS with these files (before it connects).
    func apply(to mosq: OpaquePointer) throws(MosquittoError) {
        try check(mosquitto_tls_set(mosq, caFile, nil, certFile, keyFile, nil), "mosquitto_tls_set(\(caFile))")
        // SSL_VERIFY_PEER (1): a broker whose certificate the CA did not sign is refused.
        try check(mosquitto_tls_opts_set(mosq, 1, "tlsv1.2", nil), "mosquitto_tls_opts_set")
        try check(mosquitto_tls_insecure_set(mosq, false), "mosquitto_tls_insecure_set")
    }
}

/// Whether OpenSSL holds decrypted bytes libmosquitto has not read yet (`SSL_pending`), looked up at
/// run time in the libssl that libmosquitto itself loaded: no link-time dependency on libssl-dev.
struct TLSPending: Sendable {
    private typealias Pending = @convention(c) (UnsafeMutableRawPointer?) -> Int32
    private let pending: Pending?

    init(enabled: Bool) {
        guard enabled, let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "SSL_pending") else {
            pending = nil
            return
        }
        pending = unsafeBitCast(symbol, to: Pending.self)
    }

    func hasBufferedData(_ mosq: OpaquePointer) -> Bool {
        guard let pending, let ssl = mosquitto_ssl_get(mosq) else { return false }
        return pending(ssl) > 0
    }
}

/// Lets another thread ask the loop to stop; the loop notices within one poll timeout.
public final class LoopControl: Sendable {
    private let stop = Synchronization.Atomic<Bool>(false)

    /// Creates a control in the running state.
    public init() {}

    /// Asks the loop to disconnect cleanly and return.
    public func requestStop() { stop.store(true, ordering: .releasing) }

    /// True once a stop was requested.
    public var isStopRequested: Bool { stop.load(ordering: .acquiring) }

    private let abandoned = Synchronization.Atomic<Bool>(false)

    /// Asks the loop to return at once without writing anything more to the broker: the
    /// acknowledgements of the batch being handled stay unsent, so the broker redelivers it. For a
    /// handler that could not make its batch durable.
    public func abandon() {
        abandoned.store(true, ordering: .releasing)
        stop.store(true, ordering: .releasing)
    }

    /// True once ``abandon()`` was called.
    public var isAbandoned: Bool { abandoned.load(ordering: .acquiring) }

    private let topics = NIOLockedValueBox<[String]?>(nil)

    /// Asks the loop to subscribe to exactly `topics` from now on (a configuration reload): new
    /// ones are subscribed, dropped ones unsubscribed, and a reconnect subscribes the new list.
    public func resubscribe(_ topics: [String]) { self.topics.withLockedValue { $0 = topics } }

    /// The topic list a ``resubscribe(_:)`` asked for, once.
    func takeTopics() -> [String]? { topics.withLockedValue { t in defer { t = nil }; return t } }
}
