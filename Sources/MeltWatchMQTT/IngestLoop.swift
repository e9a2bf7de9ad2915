import CMosquitto
import Glibc

/// A persistent MQTT subscription whose network loop we drive ourselves, on one dedicated thread.
///
/// ## Why we drive the loop
/// libmosquitto queues the PUBACK of a QoS 1 message *before* it calls `on_message`
/// (`lib/handle_publish.c`). With `mosquitto_threaded_set(true)` a queued packet is not written
/// until the next `mosquitto_loop_write`. So each turn of ``run(control:handler:)`` is:
///
/// 1. `poll()` the socket (bounded by `pollTimeoutMilliseconds`);
/// 2. `mosquitto_loop_read` until the socket would block or `maxBatch` messages were read —
///    `on_message` only copies each message into the batch;
/// 3. `handler.handle(batch:)` — the PUBACKs of this batch are still held inside libmosquitto;
///    the handler makes the batch durable here (the journal's `fdatasync`) before returning, or
///    calls `LoopControl.abandon()`, and the loop returns without writing anything;
/// 4. `handler.tick(inputCompleteAt:)` — the caller's clock work (engine ticks), told when the loop
///    last saw the socket with nothing more to read;
/// 5. `mosquitto_loop_write` — only now do the acknowledgements reach the broker;
/// 6. `mosquitto_loop_misc` — keepalive.
///
/// If the process dies between 2 and 5, the broker still holds the messages of our persistent
/// session (`clean_session = false`, fixed client id) and redelivers them. Backpressure is the same
/// mechanism: while `handle` blocks (the engine's ring is full) we read nothing, the kernel's socket
/// buffer fills, TCP pushes back, and the broker queues for our session.
///
/// `mosquitto_reconnect_delay_set` only applies to libmosquitto's own loops, so reconnecting is ours:
/// capped exponential backoff with jitter, via `mosquitto_reconnect_async` (not a fresh connect,
/// which leaks on some versions).
public final class IngestSession {
    /// Receives what the loop reads, on the loop thread. Must not retain the batch array's storage
    /// beyond the call if it wants to avoid copies; the loop reuses it.
    public protocol Handler: AnyObject {
        /// A batch of messages just read. Acknowledgements for them are sent only after this returns.
        func handle(batch: inout [MQTTMessage])
        /// Called once per loop turn, with or without messages. `inputCompleteAt` (CLOCK_MONOTONIC,
        /// ms) is the last moment the loop knew it had read everything waiting for it: the socket
        /// would block, or the link was down. After `handle` blocked (a slow `fdatasync`, a full ring)
        /// or a batch was cut at `maxBatch`, messages wait unread and it stays behind the clock: the
        /// engine must not judge silence past it (a timer would fire on data sitting in the socket).
        func tick(inputCompleteAt monotonicMilliseconds: Int64)
        /// A connection or subscription event.
        func event(_ event: MQTTEvent)
    }

    private let options: SubscriberOptions
    private let tls: TLSPending
    private let mosq: OpaquePointer
    private let box: Unmanaged<CallbackBox>
    private var rng = SystemRandomNumberGenerator()
    /// The connect attempt's time for ``SubscriberOptions/presence``, and whether this connection
    /// still has to announce it.
    private var presenceTimestamp: Int64 = 0
    private var presencePending = false

    /// Creates the libmosquitto client; connects only in ``run(control:handler:)``.
    public init(options: SubscriberOptions) throws(MosquittoError) {
        _ = MosquittoLibrary.initialized
        self.options = options
        tls = TLSPending(enabled: options.tls != nil)
        let box = Unmanaged.passRetained(CallbackBox(topics: options.topics, qos: options.qos))
        guard let m = mosquitto_new(options.clientID, options.cleanSession, box.toOpaque()) else {
            box.release()
            throw MosquittoError(code: MosquittoError.Code.noMemory, call: "mosquitto_new", systemErrno: errno)
        }
        self.mosq = m
        self.box = box
        try configure()  // on failure, deinit destroys the client and releases the box
    }

    deinit {
        mosquitto_destroy(mosq)
        box.release()
    }

    private func configure() throws(MosquittoError) {
        try check(mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311), "mosquitto_int_option(PROTOCOL_VERSION)")
        // Nagle adds 30–40 ms at p99.9 (engineering notes); our acks and pings are tiny and urgent.
        try check(mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1), "mosquitto_int_option(TCP_NODELAY)")
        // External loop: packets queued in callbacks (the PUBACKs) wait for our loop_write.
        try check(mosquitto_threaded_set(mosq, true), "mosquitto_threaded_set")
        if let user = options.username {
            try check(mosquitto_username_pw_set(mosq, user, options.password), "mosquitto_username_pw_set")
        }
        if let tls = options.tls { try tls.apply(to: mosq) }
        mosquitto_connect_with_flags_callback_set(mosq, onConnect)
        mosquitto_message_callback_set(mosq, onMessage)
        mosquitto_subscribe_callback_set(mosq, onSubscribe)
    }

    /// Runs the network loop on the calling thread until `control` asks to stop; then disconnects.
    ///
    /// Only configuration errors escape (invalid host, bad TLS files); network and broker failures
    /// are reported through `handler.event` and retried with backoff forever.
    public func run(control: LoopControl, handler: some Handler) throws(MosquittoError) {
        let b = box.takeUnretainedValue()
        var attempt = 0
        var open = false
        var configured = false
        var completeAt = monotonicMilliseconds()
        while !control.isStopRequested {
            if !open {
                try setPresenceWill()
                let rc: Int32
                if configured {
                    rc = mosquitto_reconnect_async(mosq)
                } else {
                    rc = mosquitto_connect_bind_async(mosq, options.address.host, options.address.port, options.keepAliveSeconds, nil)
                    if rc == MOSQ_ERR_INVAL.rawValue {
                        try check(rc, "mosquitto_connect_bind_async")
                    }
                    configured = true
                }
                if rc == MOSQ_ERR_SUCCESS.rawValue {
                    open = true
                } else {
                    attempt = wait(afterFailure: rc, call: "mosquitto_connect_async", attempt: attempt, control: control, handler: handler)
                    continue
                }
            }

            var pfd = pollfd(fd: mosquitto_socket(mosq), events: Int16(POLLIN), revents: 0)
            if mosquitto_want_write(mosq) { pfd.events |= Int16(POLLOUT) }
            let buffered = tls.hasBufferedData(mosq)
            var ready = poll(&pfd, 1, buffered ? 0 : options.pollTimeoutMilliseconds)
            if buffered {
                // Decrypted bytes wait inside OpenSSL, not on the socket: read them as if it were readable.
                ready = 1
                pfd.revents |= Int16(POLLIN)
            }
            var failure: Int32 = MOSQ_ERR_SUCCESS.rawValue
            var failedCall = ""
            if ready > 0, pfd.revents & Int16(POLLIN | POLLERR | POLLHUP) != 0 {
                let drained: Bool
                (failure, drained) = readBatch(into: b)
                failedCall = "mosquitto_loop_read"
                if drained { completeAt = monotonicMilliseconds() }
                if !b.batch.isEmpty {
                    // Hand over even if the read failed midway: these messages were received; their
                    // acks were not sent, so the broker will also redeliver them (duplicates, never loss).
                    handler.handle(batch: &b.batch)
                    b.batch.removeAll(keepingCapacity: true)
                    // The handler could not make the batch durable: send nothing, not even its acks.
                    if control.isAbandoned { return }
                }
            } else if ready >= 0 {
                completeAt = monotonicMilliseconds()  // nothing to read when poll returned
            }
            if deliverEvents(b, to: handler) { attempt = 0 }
            announcePresence(b)
            handler.tick(inputCompleteAt: completeAt)
            if control.isAbandoned { return }
            if let topics = control.takeTopics() { resubscribe(topics, b) }
            if failure == MOSQ_ERR_SUCCESS.rawValue, mosquitto_want_write(mosq) {
                failure = mosquitto_loop_write(mosq, 1)
                failedCall = "mosquitto_loop_write"
            }
            if failure == MOSQ_ERR_SUCCESS.rawValue {
                failure = mosquitto_loop_misc(mosq)
                failedCall = "mosquitto_loop_misc"
            }
            if failure != MOSQ_ERR_SUCCESS.rawValue {
                open = false
                attempt = wait(afterFailure: failure, call: failedCall, attempt: attempt, control: control, handler: handler)
            }
        }
        if open {
            if let presence = options.presence {
                // A clean stop sends no will: say offline ourselves (a will is only for a dying link).
                var mid: Int32 = 0
                let bytes = presence.payload(false, presenceTimestamp)
                _ = bytes.withUnsafeBytes { mosquitto_publish(mosq, &mid, presence.topic, Int32($0.count), $0.baseAddress, presence.qos, presence.retain) }
                _ = mosquitto_loop_write(mosq, 1)
            }
            _ = mosquitto_disconnect(mosq)
            _ = mosquitto_loop_write(mosq, 1)  // flush DISCONNECT (and any final acks)
        }
    }

    /// Publishes a message on this connection (QoS 0 or 1, not retained unless asked); false when
    /// libmosquitto refused it (not connected: the caller may ask again later). Loop thread only:
    /// call it from the handler.
    @discardableResult
    public func publish(topic: String, payload: [UInt8], qos: Int32 = 0, retain: Bool = false) -> Bool {
        let rc = payload.withUnsafeBytes { mosquitto_publish(mosq, nil, topic, Int32($0.count), $0.baseAddress, qos, retain) }
        return rc == MOSQ_ERR_SUCCESS.rawValue
    }

    /// Sets the presence will for the next connect attempt, with a new timestamp.
    private func setPresenceWill() throws(MosquittoError) {
        guard let presence = options.presence else { return }
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        presenceTimestamp = Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec / 1_000_000)
        presencePending = true
        let bytes = presence.payload(false, presenceTimestamp)
        let rc = bytes.withUnsafeBytes { mosquitto_will_set(mosq, presence.topic, Int32($0.count), $0.baseAddress, presence.qos, presence.retain) }
        try check(rc, "mosquitto_will_set")
    }

    /// Announces presence once the connection's subscriptions are all acknowledged.
    private func announcePresence(_ b: CallbackBox) {
        guard presencePending, b.subscribedSinceConnect, let presence = options.presence else { return }
        if publish(topic: presence.topic, payload: presence.payload(true, presenceTimestamp), qos: presence.qos, retain: presence.retain) {
            presencePending = false
        }
    }

    /// Subscribes to the topics `topics` adds and unsubscribes those it drops. Unconnected, the
    /// calls fail and the next connect subscribes the whole new list.
    private func resubscribe(_ topics: [String], _ b: CallbackBox) {
        let before = Set(b.topics), after = Set(topics)
        b.topics = topics
        for topic in topics where !before.contains(topic) {
            var mid: Int32 = 0
            if mosquitto_subscribe(mosq, &mid, topic, b.qos) == MOSQ_ERR_SUCCESS.rawValue { b.pendingSubscriptions[mid] = topic }
        }
        for topic in before.subtracting(after).sorted() { _ = mosquitto_unsubscribe(mosq, nil, topic) }
    }

    /// Reads packets until the socket would block, a batch is full, or the connection fails; `drained`
    /// when it stopped because nothing more was waiting.
    ///
    /// Over TLS the socket is not the whole story: one TLS record can carry many MQTT packets, and
    /// what OpenSSL decrypted but libmosquitto has not parsed yet is invisible to `poll`. Asking only
    /// the socket would leave the last messages of a burst in OpenSSL's buffer until the next byte
    /// arrives — for ever, if the gateways pause. So with TLS, `SSL_pending` is asked first.
    ///
    /// `mosquitto_loop_read` returns success both after a whole packet and when the socket would
    /// block, and errno cannot tell them apart: after queueing a PUBACK in threaded mode libmosquitto
    /// writes a wake-up byte to its internal socket pair, and once that is full the write leaves errno
    /// at EAGAIN after every message (trusting errno made every batch one message long: one
    /// `fdatasync` per message). So: a call that added a message goes on; a call that added none read
    /// a control packet or nothing, and only the socket knows whether more is waiting.
    private func readBatch(into b: CallbackBox) -> (failure: Int32, drained: Bool) {
        let fd = mosquitto_socket(mosq)
        while b.batch.count < options.maxBatch {
            let before = b.batch.count
            let rc = mosquitto_loop_read(mosq, 1)
            if rc != MOSQ_ERR_SUCCESS.rawValue { return (rc, false) }
            if b.batch.count == before, !tls.hasBufferedData(mosq) {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                if poll(&p, 1, 0) <= 0 || p.revents & Int16(POLLIN) == 0 { return (MOSQ_ERR_SUCCESS.rawValue, true) }
            }
        }
        return (MOSQ_ERR_SUCCESS.rawValue, false)
    }

    /// Reports a failure and sleeps the backoff delay in short slices (so a stop is not delayed).
    private func wait(afterFailure rc: Int32, call: String, attempt: Int, control: LoopControl, handler: some Handler) -> Int {
        let error = MosquittoError(code: rc, call: call, systemErrno: rc == MOSQ_ERR_ERRNO.rawValue ? errno : 0)
        let delay = options.backoff.delay(attempt: attempt, using: &rng)
        deliverEvents(box.takeUnretainedValue(), to: handler)
        handler.event(.connectionLost(error, retryInMilliseconds: delay))
        var remaining = delay
        while remaining > 0, !control.isStopRequested {
            let slice = min(remaining, 50)
            usleep(UInt32(slice * 1000))
            remaining -= slice
            handler.tick(inputCompleteAt: monotonicMilliseconds())  // no link: nothing can be waiting
        }
        return attempt + 1
    }

    /// Hands the callbacks' queued events to the handler; true when one of them was a connect
    /// (which resets the backoff).
    @discardableResult
    private func deliverEvents(_ b: CallbackBox, to handler: some Handler) -> Bool {
        var connected = false
        for e in b.events {
            if case .connected = e { connected = true }
            handler.event(e)
        }
        b.events.removeAll(keepingCapacity: true)
        return connected
    }

    private func monotonicMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// The TCP socket, for tests that cut the connection from inside a handler. Loop thread only.
    var socketDescriptor: Int32 { mosquitto_socket(mosq) }
}

extension IngestSession: @unchecked Sendable {}
// Safe to hand over, not to share: a session is created on one thread and then moved to the
// ingest thread, which alone calls `run` (and every libmosquitto function on this client).

/// State the C callbacks hand data to. Touched only on the loop thread (callbacks run inside
/// `mosquitto_loop_read/write/misc`, which only ``IngestSession/run`` calls).
final class CallbackBox {
    var topics: [String]
    let qos: Int32
    var batch: [MQTTMessage] = []
    var events: [MQTTEvent] = []
    var pendingSubscriptions: [Int32: String] = [:]
    /// Every subscription of the current connection was acknowledged.
    var subscribedSinceConnect = false

    init(topics: [String], qos: Int32) {
        self.topics = topics
        self.qos = qos
        batch.reserveCapacity(1024)
    }

    static func from(_ obj: UnsafeMutableRawPointer?) -> CallbackBox {
        Unmanaged<CallbackBox>.fromOpaque(obj!).takeUnretainedValue()
    }
}

private let onConnect: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, Int32, Int32) -> Void = { mosq, obj, rc, flags in
    let box = CallbackBox.from(obj)
    guard rc == 0 else {
        box.events.append(.connectionRefused(code: rc, reason: String(cString: mosquitto_connack_string(rc))))
        return
    }
    box.events.append(.connected(sessionPresent: flags & 1 != 0))
    box.subscribedSinceConnect = false
    // Subscribe every time: a new session needs it, and a kept one is unchanged by it.
    box.pendingSubscriptions.removeAll()
    for topic in box.topics {
        var mid: Int32 = 0
        if mosquitto_subscribe(mosq, &mid, topic, box.qos) == MOSQ_ERR_SUCCESS.rawValue {
            box.pendingSubscriptions[mid] = topic
        } else {
            box.events.append(.subscriptionRejected(topic: topic))
        }
    }
    if box.topics.isEmpty {
        box.subscribedSinceConnect = true
        box.events.append(.subscribed(topics: 0))
    }
}

private let onSubscribe: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, Int32, Int32, UnsafePointer<Int32>?) -> Void = { _, obj, mid, count, granted in
    let box = CallbackBox.from(obj)
    guard let topic = box.pendingSubscriptions.removeValue(forKey: mid) else { return }
    if let granted, count > 0, granted[0] >= 0x80 {
        box.events.append(.subscriptionRejected(topic: topic))
    }
    if box.pendingSubscriptions.isEmpty {
        box.subscribedSinceConnect = true
        box.events.append(.subscribed(topics: box.topics.count))
    }
}

private let onMessage: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafePointer<mosquitto_message>?) -> Void = { _, obj, message in
    guard let m = message?.pointee, let topicPointer = m.topic else { return }
    let box = CallbackBox.from(obj)
    let payload: [UInt8]
    if let p = m.payload, m.payloadlen > 0 {
        payload = Array(UnsafeRawBufferPointer(start: p, count: Int(m.payloadlen)))
    } else {
        payload = []
    }
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    box.batch.append(MQTTMessage(topic: String(cString: topicPointer), payload: payload, qos: m.qos, retain: m.retain,
                                 receivedNanos: UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)))
}
