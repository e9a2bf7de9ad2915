import Logging
import MeltWatchCore
import MeltWatchDecode
import MeltWatchMQTT
import MeltWatchRing

/// Runs on the ingest thread inside the MQTT loop: decodes each batch and pushes readings and clock
/// ticks into the ring. When the ring is full, `push` waits: we stop reading the socket, TCP and the
/// broker's session queue absorb the backlog, and no reading is ever dropped.
final class IngestHandler: IngestSession.Handler {
    private let decoder: PayloadDecoder
    private let ring: SPSCRing<EngineInput>
    private let counters: IngestCounters
    private let logger: Logger
    private let tickIntervalMilliseconds: Int64
    private var decoded: [Reading] = []
    private var inputs: [EngineInput] = []
    private var lastTick: Int64 = 0
    private var rejectLog = RateLimitedLog(intervalMilliseconds: 10_000)

    init(decoder: PayloadDecoder, ring: SPSCRing<EngineInput>, counters: IngestCounters, logger: Logger,
         tickIntervalMilliseconds: Int64 = 100) {
        self.decoder = decoder
        self.ring = ring
        self.counters = counters
        self.logger = logger
        self.tickIntervalMilliseconds = tickIntervalMilliseconds
        decoded.reserveCapacity(256)
        inputs.reserveCapacity(4096)
    }

    func handle(batch: inout [MQTTMessage]) {
        let now = EventTime(milliseconds: WallClock.milliseconds())
        counters.messagesReceived.add(batch.count, ordering: .relaxed)
        for message in batch {
            decoded.removeAll(keepingCapacity: true)
            let result = message.payload.withUnsafeBytes {
                decoder.decode(topic: message.topic, payload: $0, now: now, into: &decoded)
            }
            switch result {
            case .success(let outcome):
                counters.readingsAccepted.add(outcome.readings, ordering: .relaxed)
                if outcome.unknownRoles > 0 { counters.reject(.unknownRole, count: outcome.unknownRoles) }
                for r in decoded { inputs.append(.reading(r)) }
            case .failure(let error):
                counters.reject(error.reason)
                if let suppressed = rejectLog.shouldLog(key: error.reason.rawValue, now: now.milliseconds) {
                    logger.warning("rejected gateway message", metadata: [
                        "mqtt.topic": "\(message.topic)", "reject.reason": "\(error.reason.rawValue)",
                        "reject.detail": "\(error.detail)", "reject.suppressed_since_last": "\(suppressed)",
                    ])
                }
            }
        }
        flush()
    }

    func tick() {
        let now = WallClock.milliseconds()
        guard now - lastTick >= tickIntervalMilliseconds else { return }
        lastTick = now
        inputs.append(.tick(EventTime(milliseconds: now)))
        flush()
    }

    func event(_ event: MQTTEvent) {
        switch event {
        case .connected(let sessionPresent):
            counters.brokerConnected.store(true, ordering: .relaxed)
            logger.info("connected to broker", metadata: ["mqtt.session_present": "\(sessionPresent)"])
        case .connectionRefused(let code, let reason):
            counters.brokerConnected.store(false, ordering: .relaxed)
            counters.subscribed.store(false, ordering: .relaxed)
            logger.error("broker refused the connection", metadata: ["mqtt.connack": "\(code)", "mqtt.reason": "\(reason)"])
        case .connectionLost(let error, let retry):
            counters.brokerConnected.store(false, ordering: .relaxed)
            counters.subscribed.store(false, ordering: .relaxed)
            logger.warning("broker connection lost; reconnecting", metadata: [
                "mqtt.error": "\(error)", "mqtt.retry_ms": "\(retry)",
            ])
        case .subscribed(let topics):
            counters.subscribed.store(true, ordering: .relaxed)
            logger.info("subscribed", metadata: ["mqtt.topics": "\(topics)"])
        case .subscriptionRejected(let topic):
            counters.rejectedSubscriptions.add(1, ordering: .relaxed)
            logger.error("broker refused a subscription; this signal is NOT monitored", metadata: ["mqtt.topic": "\(topic)"])
        }
    }

    private func flush() {
        guard !inputs.isEmpty else { return }
        inputs.withUnsafeBufferPointer { ring.push(contentsOf: $0) }
        inputs.removeAll(keepingCapacity: true)
    }
}

/// At most one log line per key and interval; reports how many were suppressed in between.
struct RateLimitedLog {
    let intervalMilliseconds: Int64
    private var last: [String: (time: Int64, suppressed: Int)] = [:]

    init(intervalMilliseconds: Int64) { self.intervalMilliseconds = intervalMilliseconds }

    /// nil: stay quiet; otherwise log, and the value is how many were suppressed since the last line.
    mutating func shouldLog(key: String, now: Int64) -> Int? {
        if let l = last[key], now - l.time < intervalMilliseconds {
            last[key] = (l.time, l.suppressed + 1)
            return nil
        }
        let suppressed = last[key]?.suppressed ?? 0
        last[key] = (now, 0)
        return suppressed
    }
}
