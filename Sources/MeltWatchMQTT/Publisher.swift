import CMosquitto
import Glibc
import Synchronization

/// A publishing MQTT client on libmosquitto's own network thread (`mosquitto_loop_start`).
///
/// Used by the simulator and tests to publish exactly what a plant gateway would. QoS 1 publishes are
/// counted until their PUBACK arrives, so a caller can wait until the broker has everything.
public final class Publisher {
    private let mosq: OpaquePointer
    private let box: Unmanaged<PublisherBox>

    /// Creates a client and connects it; returns once the broker accepted the connection.
    public init(
        address: BrokerAddress, clientID: String, username: String? = nil, password: String? = nil, tls: TLSFiles? = nil,
        maxInflight: UInt32 = 1024, connectTimeoutMilliseconds: Int = 10_000, will: MQTTMessage? = nil, keepAliveSeconds: Int32 = 30
    ) throws(MosquittoError) {
        _ = MosquittoLibrary.initialized
        let box = Unmanaged.passRetained(PublisherBox())
        guard let m = mosquitto_new(clientID, true, box.toOpaque()) else {
            box.release()
            throw MosquittoError(code: MosquittoError.Code.noMemory, call: "mosquitto_new", systemErrno: errno)
        }
        self.mosq = m
        self.box = box
        do {
            try check(mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1), "mosquitto_int_option(TCP_NODELAY)")
            try check(mosquitto_max_inflight_messages_set(m, maxInflight), "mosquitto_max_inflight_messages_set")
            if let username {
                try check(mosquitto_username_pw_set(m, username, password), "mosquitto_username_pw_set")
            }
            if let tls { try tls.apply(to: m) }
            if let will {
                // What the broker publishes when this client dies (a Sparkplug edge node's NDEATH).
                let rc = will.payload.withUnsafeBytes { mosquitto_will_set(m, will.topic, Int32($0.count), $0.baseAddress, will.qos, will.retain) }
                try check(rc, "mosquitto_will_set")
            }
            mosquitto_connect_callback_set(m, publisherOnConnect)
            mosquitto_publish_callback_set(m, publisherOnPublish)
            mosquitto_message_callback_set(m, publisherOnMessage)
            try check(mosquitto_connect_bind(m, address.host, address.port, keepAliveSeconds, nil), "mosquitto_connect_bind")
            try check(mosquitto_loop_start(m), "mosquitto_loop_start")
        } catch {
            throw error  // self is fully initialised here: deinit destroys the client and releases the box
        }
        var waited = 0
        while true {
            let state = box.takeUnretainedValue().connack.load(ordering: .acquiring)
            if state == 0 { break }
            if state > 0 {
                close()
                throw MosquittoError(code: MosquittoError.Code.connectionRefused, call: "CONNACK \(state)", systemErrno: 0)
            }
            guard waited < connectTimeoutMilliseconds else {
                close()
                throw MosquittoError(code: MosquittoError.Code.noConnection, call: "CONNACK timeout", systemErrno: 0)
            }
            usleep(5_000)
            waited += 5
        }
    }

    private var closed = false

    deinit {
        close()
        mosquitto_destroy(mosq)
        box.release()
    }

    /// Publishes bytes; the message counts as outstanding until sent (QoS 0) or acknowledged (QoS 1/2).
    public func publish(topic: String, payload: [UInt8], qos: Int32 = 1, retain: Bool = false) throws(MosquittoError) {
        let b = box.takeUnretainedValue()
        // on_publish fires once per message: after the PUBACK for QoS 1, after the write for QoS 0.
        b.outstanding.add(1, ordering: .relaxed)
        let rc = payload.withUnsafeBytes { bytes in
            mosquitto_publish(mosq, nil, topic, Int32(bytes.count), bytes.baseAddress, qos, retain)
        }
        if rc != MOSQ_ERR_SUCCESS.rawValue { b.outstanding.subtract(1, ordering: .relaxed) }
        try check(rc, "mosquitto_publish")
    }

    /// Publishes a UTF-8 string.
    public func publish(topic: String, text: String, qos: Int32 = 1, retain: Bool = false) throws(MosquittoError) {
        try publish(topic: topic, payload: Array(text.utf8), qos: qos, retain: retain)
    }

    /// Subscribes to `filter`; `handler` gets each message on libmosquitto's network thread (a
    /// simulated edge node's commands). A client has one handler, for every subscription: the last
    /// one given replaces the others.
    public func subscribe(_ filter: String, qos: Int32 = 1, handler: @escaping @Sendable (MQTTMessage) -> Void) throws(MosquittoError) {
        box.takeUnretainedValue().onMessage.withLock { $0 = handler }
        try check(mosquitto_subscribe(mosq, nil, filter, qos), "mosquitto_subscribe")
    }

    /// Messages published but not yet sent (QoS 0) or acknowledged (QoS ≥ 1).
    public var outstanding: Int { box.takeUnretainedValue().outstanding.load(ordering: .relaxed) }

    /// Waits until every published message was sent or acknowledged; false on timeout.
    @discardableResult
    public func waitUntilAcknowledged(timeoutMilliseconds: Int = 10_000) -> Bool {
        var waited = 0
        while outstanding > 0 {
            guard waited < timeoutMilliseconds else { return false }
            usleep(2_000)
            waited += 2
        }
        return true
    }

    /// Disconnects and stops the network thread. Idempotent.
    public func close() {
        guard !closed else { return }
        closed = true
        _ = mosquitto_disconnect(mosq)
        _ = mosquitto_loop_stop(mosq, false)
    }
}

extension Publisher: @unchecked Sendable {}
// Safe: after init the client is used only through `mosquitto_publish`, which libmosquitto makes
// thread-safe alongside its own network thread (`loop_start`), and atomics; `close` is called by
// the one owner when it is done with the publisher.

/// State the publisher's callbacks update from libmosquitto's thread.
final class PublisherBox: Sendable {
    /// -1 until CONNACK; then its return code (0 = accepted).
    let connack = Atomic<Int32>(-1)
    let outstanding = Atomic<Int>(0)
    let onMessage = Mutex<(@Sendable (MQTTMessage) -> Void)?>(nil)
}

private let publisherOnMessage: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafePointer<mosquitto_message>?) -> Void = { _, obj, message in
    guard let m = message?.pointee, let topic = m.topic else { return }
    let payload = m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: Int(m.payloadlen))) } ?? []
    let handler = Unmanaged<PublisherBox>.fromOpaque(obj!).takeUnretainedValue().onMessage.withLock { $0 }
    handler?(MQTTMessage(topic: String(cString: topic), payload: payload, qos: m.qos, retain: m.retain))
}

private let publisherOnConnect: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, Int32) -> Void = { _, obj, rc in
    Unmanaged<PublisherBox>.fromOpaque(obj!).takeUnretainedValue().connack.store(rc, ordering: .releasing)
}

private let publisherOnPublish: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, Int32) -> Void = { _, obj, _ in
    Unmanaged<PublisherBox>.fromOpaque(obj!).takeUnretainedValue().outstanding.subtract(1, ordering: .relaxed)
}
