import MeltWatchCore

/// Turns one gateway MQTT message (contract section 3) into readings, or says exactly why not.
///
/// Strict on purpose: a safety monitor must not act on a value it had to guess. Every message is
/// either accepted whole or rejected with one ``RejectReason``; nothing a gateway sends can crash
/// it or make it recurse, and the common path allocates nothing but the appended readings.
public struct PayloadDecoder: Sendable {
    /// Topic to route table.
    public let topics: TopicTable
    /// Larger payloads are rejected as `oversize` before any parsing.
    public let maxPayloadBytes: Int
    /// How far `ts` may lie after the receiver's `now` (gateway clock drift) before `future_timestamp`.
    public let maxFutureSkewMilliseconds: Int64
    /// Deepest container nesting allowed anywhere (the top-level object counts 1, `values` 2).
    public let maxNestingDepth: Int

    /// Creates a decoder; `maxNestingDepth` is clamped to 2...64.
    public init(
        topics: TopicTable,
        maxPayloadBytes: Int = 65_536,
        maxFutureSkewMilliseconds: Int64 = 300_000,
        maxNestingDepth: Int = 32
    ) {
        self.topics = topics
        self.maxPayloadBytes = maxPayloadBytes
        self.maxFutureSkewMilliseconds = max(0, maxFutureSkewMilliseconds)
        self.maxNestingDepth = min(max(maxNestingDepth, 2), 64)
    }

    /// Decodes one MQTT message and appends its readings to `out` only if the whole message is valid.
    ///
    /// On failure `out` has the same elements as before. Batches that name unknown roles are still
    /// accepted for their known roles; ``DecodeOutcome/unknownRoles`` tells the caller how many to
    /// count under `unknown_role`.
    public func decode(
        topic: String, payload: UnsafeRawBufferPointer, now: EventTime, into out: inout [Reading]
    ) -> Result<DecodeOutcome, DecodeError> {
        var topic = topic
        return topic.withUTF8 { decode(topicBytes: UnsafeRawBufferPointer($0), payload: payload, now: now, into: &out) }
    }

    /// Same as ``decode(topic:payload:now:into:)`` with the topic as raw bytes, as libmosquitto
    /// hands it over: saves building a `String` per message on the ingest thread.
    public func decode(
        topicBytes: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, now: EventTime, into out: inout [Reading]
    ) -> Result<DecodeOutcome, DecodeError> {
        // Size first: the cheapest check.
        guard payload.count <= maxPayloadBytes else { return .failure(oversize(payload)) }
        // `topics` (held by self) keeps the route's roles alive for the whole decode.
        guard let route = topics.parseRoute(topicBytes: topicBytes) else {
            return .failure(DecodeError(reason: .unknownTopic, detail: "no route for topic \(quotedForLog(topicBytes, limit: 128))"))
        }
        return decode(parseRoute: route, payload: payload, now: now, into: &out)
    }

    /// Same as ``decode(topicBytes:payload:now:into:)``, but nil when no topic of MeltWatch's own
    /// JSON is this one (the message may be a gateway format's): no error is built for it.
    @inline(__always)
    public func decodeIfRouted(
        topicBytes: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, now: EventTime, into out: inout [Reading]
    ) -> Result<DecodeOutcome, DecodeError>? {
        guard let route = topics.parseRoute(topicBytes: topicBytes) else { return nil }
        guard payload.count <= maxPayloadBytes else { return .failure(oversize(payload)) }
        return decode(parseRoute: route, payload: payload, now: now, into: &out)
    }

    /// Decodes a message whose topic the caller has already routed.
    public func decode(
        route: TopicRoute, payload: UnsafeRawBufferPointer, now: EventTime, into out: inout [Reading]
    ) -> Result<DecodeOutcome, DecodeError> {
        guard payload.count <= maxPayloadBytes else { return .failure(oversize(payload)) }
        return withExtendedLifetime(route) {
            switch route {
            case .signal(let id):
                decode(parseRoute: .signal(id), payload: payload, now: now, into: &out)
            case .equipment(let roles):
                decode(parseRoute: .equipment(Unmanaged.passUnretained(roles)), payload: payload, now: now, into: &out)
            }
        }
    }

    private func decode(
        parseRoute route: ParseRoute, payload: UnsafeRawBufferPointer, now: EventTime, into out: inout [Reading]
    ) -> Result<DecodeOutcome, DecodeError> {
        let start = out.count
        var parser = PayloadParser(bytes: payload, maxDepth: maxNestingDepth)
        do {
            let outcome = try parser.parse(route: route, now: now, maxFutureSkew: maxFutureSkewMilliseconds, into: &out)
            return .success(outcome)
        } catch {
            // Batches append while parsing (q and seq may follow `values`); undo so a reject adds nothing.
            if out.count > start { out.removeSubrange(start...) }
            return .failure(error)
        }
    }

    @inline(never)
    private func oversize(_ payload: UnsafeRawBufferPointer) -> DecodeError {
        DecodeError(
            reason: .oversize,
            detail: "payload of \(payload.count) bytes exceeds the limit of \(maxPayloadBytes) bytes"
        )
    }
}
