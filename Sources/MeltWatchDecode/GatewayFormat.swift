import MeltWatchCore

/// One gateway format (contract section 3, "Other gateway formats"): a stage that turns one MQTT
/// message into readings for the ring, possibly holding state of its own (Sparkplug's births,
/// aliases and sequence numbers per edge node).
///
/// A format is owned by one thread at a time (the ingest thread, or the journal stream of replay
/// and recovery), hence a class without locks. Its readings must depend only on the messages it was
/// given, in order, and on the state it restored: that is what makes replay and recovery rebuild
/// it exactly. Timers (``tick(now:effects:)``) may only decide what to *ask* of the gateway.
public protocol GatewayFormat: AnyObject {
    /// The contract's name: `sparkplug-b`, `kepware-iot`, `neuron`, `json`.
    var formatName: String { get }
    /// Larger payloads are rejected as `oversize` before any parsing.
    var maxPayloadBytes: Int { get }

    /// Decodes one message routed to this format. Appends its readings to `out` (nothing on
    /// failure) and anything else it caused to `effects`.
    func decode(
        topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, now: EventTime,
        into out: inout [Reading], effects: inout GatewayEffects
    ) -> Result<DecodeOutcome, DecodeError>

    /// The daemon clock passed `now` (timers: a sequence gap's reorder timeout).
    func tick(now: EventTime, effects: inout GatewayEffects)

    /// The state to carry across a restart (nil: stateless). Independent of which signal a tag is
    /// bound to, so it survives a reload that changes the bindings.
    func encodeState() -> [UInt8]?
    /// Takes over a state ``encodeState()`` produced; throws when it is not this format's.
    func restoreState(_ bytes: [UInt8]) throws(DecodeError)
}

extension GatewayFormat {
    public func tick(now: EventTime, effects: inout GatewayEffects) {}
    public func encodeState() -> [UInt8]? { nil }
    public func restoreState(_ bytes: [UInt8]) throws(DecodeError) {}
}

/// A message a gateway format asks the daemon to publish on its own connection (a Sparkplug
/// rebirth request). Never journaled: it changes no reading.
public struct OutgoingMessage: Sendable, Equatable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: Int32
    public var retain: Bool

    public init(topic: String, payload: [UInt8], qos: Int32 = 0, retain: Bool = false) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
    }
}

/// What a message or a tick caused besides readings.
public struct GatewayEffects: Sendable {
    public var losses: [SignalLoss] = []
    public var commands: [OutgoingMessage] = []

    public init() {}

    public var isEmpty: Bool { losses.isEmpty && commands.isEmpty }

    public mutating func removeAll() {
        losses.removeAll(keepingCapacity: true)
        commands.removeAll(keepingCapacity: true)
    }
}

/// Tags of gateway formats bound to signals (`signals.<role>.tag`), looked up by raw bytes.
///
/// Immutable once built, hence shareable; a tag bound twice is a configuration error.
public struct TagTable: Sendable {
    private var table = ByteKeyTable()
    private var signals: [SignalID] = []

    /// An empty table.
    public init() {}

    /// Binds `tag` to `signal`; throws when the tag is empty or already bound.
    public mutating func add(tag: String, signal: SignalID) throws(TopicTableError) {
        guard !tag.isEmpty else { throw TopicTableError(code: .emptyTopic, topic: tag, detail: "empty tag") }
        guard table.insert(tag.utf8) != nil else {
            throw TopicTableError(code: .duplicateTopic, topic: tag, detail: "tag is bound twice")
        }
        signals.append(signal)
    }

    /// The signal a tag's bytes are bound to, or nil.
    @inline(__always)
    public func signal(forTagBytes bytes: UnsafeRawBufferPointer) -> SignalID? {
        table.index(of: bytes).map { signals[$0] }
    }

    /// The signal a tag is bound to, or nil.
    public func signal(forTag tag: String) -> SignalID? {
        var tag = tag
        return tag.withUTF8 { signal(forTagBytes: UnsafeRawBufferPointer($0)) }
    }

    /// Number of bound tags.
    public var count: Int { signals.count }
}
