import MeltWatchCore

/// Routes one MQTT message to the stage that reads its format: MeltWatch's own JSON by exact topic
/// (``PayloadDecoder``), else the first gateway format whose topic filter matches (contract §3,
/// `plants[].gateways`). The configuration makes the filters disjoint from each other and from
/// MeltWatch's own topics, so the order never decides.
///
/// Owned by one thread at a time: the formats hold state (Sparkplug sessions). Replay and recovery
/// run their own instance over the journal, so it reaches the live one's state exactly.
public final class MessageDecoder {
    /// A gateway format and the filter its messages arrive on.
    public struct Route {
        public let filter: TopicFilter
        public let format: any GatewayFormat

        public init(filter: TopicFilter, format: any GatewayFormat) {
            self.filter = filter
            self.format = format
        }

        /// Names the route in the state record: a reload that keeps a gateway keeps its state.
        var key: String { format.formatName + " " + filter.text }
    }

    /// MeltWatch's own JSON, by exact topic.
    public let native: PayloadDecoder
    public let routes: [Route]

    public init(native: PayloadDecoder, routes: [Route] = []) {
        self.native = native
        self.routes = routes
    }

    /// Decodes one message: its readings are appended to `out` (nothing on failure), and anything
    /// else it caused (a signal's loss, a command to publish) to `effects`.
    @inline(__always)
    public func decode(
        topicBytes: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, now: EventTime,
        into out: inout [Reading], effects: inout GatewayEffects
    ) -> Result<DecodeOutcome, DecodeError> {
        if routes.isEmpty {
            return native.decode(topicBytes: topicBytes, payload: payload, now: now, into: &out)
        }
        if let result = native.decodeIfRouted(topicBytes: topicBytes, payload: payload, now: now, into: &out) {
            return result
        }
        return decodeGateway(topicBytes: topicBytes, payload: payload, now: now, into: &out, effects: &effects)
    }

    /// ``decode(topicBytes:payload:now:into:effects:)`` with the topic as a `String`.
    public func decode(
        topic: String, payload: UnsafeRawBufferPointer, now: EventTime, into out: inout [Reading], effects: inout GatewayEffects
    ) -> Result<DecodeOutcome, DecodeError> {
        var topic = topic
        return topic.withUTF8 { decode(topicBytes: UnsafeRawBufferPointer($0), payload: payload, now: now, into: &out, effects: &effects) }
    }

    @inline(never)
    private func decodeGateway(
        topicBytes: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, now: EventTime,
        into out: inout [Reading], effects: inout GatewayEffects
    ) -> Result<DecodeOutcome, DecodeError> {
        for route in routes where route.filter.matches(topicBytes) {
            guard payload.count <= route.format.maxPayloadBytes else {
                return .failure(DecodeError(
                    reason: .oversize,
                    detail: "\(route.format.formatName) payload of \(payload.count) bytes exceeds the limit of \(route.format.maxPayloadBytes) bytes"
                ))
            }
            let start = out.count
            let result = route.format.decode(topic: topicBytes, payload: payload, now: now, into: &out, effects: &effects)
            // The format's promise, kept here too: a rejected message adds no reading.
            if case .failure = result, out.count > start { out.removeSubrange(start...) }
            return result
        }
        return .failure(DecodeError(reason: .unknownTopic, detail: "no route for topic \(quotedForLog(topicBytes, limit: 128))"))
    }

    /// The daemon clock passed `now`: the formats' timers (a Sparkplug sequence gap's reorder timeout).
    public func tick(now: EventTime, effects: inout GatewayEffects) {
        for route in routes { route.format.tick(now: now, effects: &effects) }
    }

    /// Whether any format holds state worth a journal record.
    public var isStateful: Bool { routes.contains { $0.format.encodeState() != nil } }

    /// Every stateful format's state, keyed by format and filter; nil when none holds any.
    ///
    /// Layout: for each format, `u32 key length, key, u32 state length, state` (little endian).
    public func encodeState() -> [UInt8]? {
        var out: [UInt8] = []
        var any = false
        for route in routes {
            guard let state = route.format.encodeState() else { continue }
            any = true
            Self.appendField(Array(route.key.utf8), to: &out)
            Self.appendField(state, to: &out)
        }
        return any ? out : nil
    }

    /// Takes over the state ``encodeState()`` wrote (of this or an earlier configuration): each
    /// format whose key is in it restores its part; parts of formats no longer configured are left.
    public func restoreState(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) {
        try restore(try Self.parts(bytes))
    }

    /// ``restoreState(_:)`` from an array.
    public func restoreState(bytes: [UInt8]) throws(DecodeError) {
        let parts = bytes.withUnsafeBytes { raw in Result { () throws(DecodeError) in try Self.parts(raw) } }
        try restore(try parts.get())
    }

    /// Carries the state of `other` (the configuration before a reload) into this one.
    public func adoptState(from other: MessageDecoder) throws(DecodeError) {
        guard let state = other.encodeState() else { return }
        let parts = state.withUnsafeBytes { raw in Result { () throws(DecodeError) in try Self.parts(raw) } }
        try restore(try parts.get())
    }

    private func restore(_ parts: [String: [UInt8]]) throws(DecodeError) {
        for route in routes {
            if let state = parts[route.key] { try route.format.restoreState(state) }
        }
    }

    private static func parts(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> [String: [UInt8]] {
        var parts: [String: [UInt8]] = [:]
        var i = 0
        while i < bytes.count {
            guard let key = readField(bytes, at: &i), let state = readField(bytes, at: &i) else {
                throw DecodeError(reason: .malformedProtobuf, detail: "gateway state record is truncated at byte \(i)")
            }
            parts[String(decoding: key, as: UTF8.self)] = state
        }
        return parts
    }

    private static func appendField(_ bytes: [UInt8], to out: inout [UInt8]) {
        let n = UInt32(bytes.count)
        for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: n >> (8 * UInt32(k)))) }
        out.append(contentsOf: bytes)
    }

    private static func readField(_ bytes: UnsafeRawBufferPointer, at i: inout Int) -> [UInt8]? {
        guard bytes.count - i >= 4 else { return nil }
        var n = 0
        for k in 0..<4 { n |= Int(bytes[i + k]) << (8 * k) }
        i += 4
        guard bytes.count - i >= n else { return nil }
        defer { i += n }
        return Array(bytes[i..<i + n])
    }
}

// Safe to hand over, not to share: a decoder is built on one thread (start, or a reload's
// preparation) and then used by one thread alone (the ingest thread, or a journal stream).
extension MessageDecoder: @unchecked Sendable {}
