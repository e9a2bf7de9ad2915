#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import MeltWatchCore
import MeltWatchDecode
import SwiftProtobuf

/// A signal bound to a Sparkplug metric (contract §3: `sparkplug: {edge, device}` and `tag`).
public struct SparkplugBinding: Sendable, Equatable {
    /// The edge node id (the topic's fourth level).
    public var edge: String
    /// The device id; nil binds a metric of the edge node itself (NBIRTH/NDATA).
    public var device: String?
    /// The metric name as the birth declares it.
    public var metric: String
    public var signal: SignalID

    public init(edge: String, device: String? = nil, metric: String, signal: SignalID) {
        self.edge = edge
        self.device = device
        self.metric = metric
        self.signal = signal
    }
}

/// How much a host holds at most, whatever edge nodes (or anyone who can publish to the broker)
/// send: beyond these, births and new edge nodes are rejected as `oversize` and memory stays bounded.
public struct SparkplugLimits: Sendable, Equatable {
    /// Metrics in one NBIRTH or DBIRTH. A larger birth is rejected as a whole (`oversize`): reading
    /// only part of it would leave aliases the DATA then uses unknown.
    public var metricsPerBirth = 10_000
    /// Edge nodes known at once (with or without a session). When full, a node without a session
    /// makes room; when every one has a session, a new node's messages are rejected.
    public var edgeNodes = 1_000
    /// Devices with a current DBIRTH per edge node.
    public var devicesPerNode = 1_000
    /// Metric definitions held across all sessions.
    public var metricsTotal = 1_000_000
    /// Bytes of metric names held across all sessions (names are the bulk of a session's memory).
    public var nameBytesTotal = 64 << 20

    public init() {}
}

/// A Sparkplug B host application (Eclipse Sparkplug 3.0) for one group: the `sparkplug-b`
/// gateway format of contract §3.
///
/// It keeps a session per edge node — the births' names, aliases and datatypes, `bdSeq`, the `seq`
/// stream, the live devices — and turns NBIRTH/DBIRTH/NDATA/DDATA metrics into readings of the
/// bound signals, NDEATH/DDEATH into ``SignalLoss``es, and what it cannot follow (DATA before a
/// birth, an unknown alias, a sequence gap not filled within the reorder timeout) into a rebirth
/// request (NCMD `Node Control/Rebirth` = true, at most one per node per rebirth interval).
///
/// Readings depend only on the messages, in order, and the restored state: a gap in `seq` never
/// holds a message back (a safety monitor must not delay an alarm; the engine orders by event
/// time), it only arms the timer that asks for a rebirth. So replay rebuilds the same readings.
///
/// Unknown aliases: a DATA message's metrics whose alias (or name, when it has no alias) its birth
/// did not declare are counted under `unknownTags` and cause a rebirth request; the message's other
/// metrics are read. Only when nothing in the message could be resolved is it rejected
/// (`unknownAlias`). An alias is never read as another metric's: an alias declared by another
/// device, or given with a name other than the one its birth declared, counts as unknown.
///
/// A null metric (`is_null`) is read as quality `bad` with value 0 (false for a Boolean), as is a
/// Float or Double that is not finite: downstream, values are finite numbers or booleans.
public final class SparkplugHost: GatewayFormat {
    public let formatName = "sparkplug-b"
    public let groupID: String
    public let maxPayloadBytes: Int
    public let reorderTimeoutMilliseconds: Int64
    public let rebirthIntervalMilliseconds: Int64
    public let maxFutureSkewMilliseconds: Int64
    public let limits: SparkplugLimits

    /// The bound signal of each (edge node, device, metric name).
    let bindings: [BindingKey: SignalID]
    /// Every signal bound under an edge node, its devices' included: what an NDEATH loses.
    let nodeSignals: [String: [SignalID]]
    /// Every signal bound under one device: what a DDEATH loses.
    let deviceSignals: [DeviceKey: [SignalID]]

    /// The edge nodes: sessions and rebirth-request times.
    var nodes: [String: NodeEntry] = [:]
    /// Metric definitions and name bytes held by all sessions (for ``SparkplugLimits``).
    var heldMetrics = 0
    var heldNameBytes = 0

    /// A host for group `groupID`; throws when a binding is malformed or a metric is bound twice.
    public init(
        groupID: String, bindings: [SparkplugBinding], reorderTimeoutMilliseconds: Int64 = 2000,
        rebirthIntervalMilliseconds: Int64 = 5000, maxPayloadBytes: Int = 4 << 20, maxFutureSkewMilliseconds: Int64 = 300_000,
        limits: SparkplugLimits = SparkplugLimits()
    ) throws(TopicTableError) {
        try Self.checkLevel(groupID, what: "group_id", topic: "spBv1.0/" + groupID)
        var table: [BindingKey: SignalID] = [:]
        var perNode: [String: [SignalID]] = [:]
        var perDevice: [DeviceKey: [SignalID]] = [:]
        for b in bindings {
            let topic = "spBv1.0/\(groupID)/\(b.edge)" + (b.device.map { "/" + $0 } ?? "")
            try Self.checkLevel(b.edge, what: "edge node", topic: topic)
            if let device = b.device { try Self.checkLevel(device, what: "device", topic: topic) }
            guard !b.metric.isEmpty else { throw TopicTableError(code: .emptyTopic, topic: topic, detail: "empty metric name") }
            let key = BindingKey(edge: b.edge, device: b.device, metric: b.metric)
            guard table.updateValue(b.signal, forKey: key) == nil else {
                throw TopicTableError(code: .duplicateTopic, topic: topic, detail: "metric \(logQuoted(b.metric)) is bound twice")
            }
            perNode[b.edge, default: []].append(b.signal)
            if let device = b.device { perDevice[DeviceKey(edge: b.edge, device: device), default: []].append(b.signal) }
        }
        self.groupID = groupID
        self.bindings = table
        self.nodeSignals = perNode
        self.deviceSignals = perDevice
        self.reorderTimeoutMilliseconds = reorderTimeoutMilliseconds
        self.rebirthIntervalMilliseconds = rebirthIntervalMilliseconds
        self.maxPayloadBytes = maxPayloadBytes
        self.maxFutureSkewMilliseconds = maxFutureSkewMilliseconds
        self.limits = limits
    }

    /// A topic level (group, edge node, device) must be non-empty and free of `/`, `+`, `#`.
    private static func checkLevel(_ s: String, what: String, topic: String) throws(TopicTableError) {
        guard !s.isEmpty else { throw TopicTableError(code: .emptyTopic, topic: topic, detail: "empty \(what)") }
        guard !s.utf8.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "#") || $0 == 0 }) else {
            throw TopicTableError(code: .invalidTopic, topic: topic, detail: "\(what) \(logQuoted(s)) contains '/', '+', '#' or NUL")
        }
    }

    // MARK: GatewayFormat

    public func decode(
        topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, now: EventTime,
        into out: inout [Reading], effects: inout GatewayEffects
    ) -> Result<DecodeOutcome, DecodeError> {
        let parsed: SparkplugTopic
        switch SparkplugTopic.parse(topic, group: groupID) {
        case .success(let t): parsed = t
        case .failure(let e): return .failure(e)
        }
        // STATE and commands are for edge nodes and other hosts; a host subscribed to
        // spBv1.0/G/# also receives its own rebirth requests.
        guard case .message(let type, let edge, let device) = parsed, type != .nodeCommand, type != .deviceCommand else {
            return .success(DecodeOutcome(readings: 0))
        }
        let message = Self.parse(payload, limit: maxPayloadBytes)
        let start = out.count
        let result: Result<DecodeOutcome, DecodeError>
        switch (type, device) {
        case (.nodeBirth, _): result = nodeBirth(edge: edge, message, now: now, into: &out, effects: &effects)
        case (.deviceBirth, let device?): result = deviceBirth(edge: edge, device: device, message, now: now, into: &out, effects: &effects)
        case (.nodeData, _), (.deviceData, _):
            result = message.flatMap { data(edge: edge, device: device, $0, now: now, into: &out, effects: &effects) }
        case (.nodeDeath, _): result = message.flatMap { nodeDeath(edge: edge, $0, now: now, effects: &effects) }
        case (.deviceDeath, let device?): result = message.flatMap { deviceDeath(edge: edge, device: device, $0, now: now, effects: &effects) }
        default: result = .failure(DecodeError(reason: .badTopic, detail: "\(type.rawValue) without a device")) // parse() prevents it
        }
        // A rejected message adds nothing: the handlers append as they read, so cut back here.
        if case .failure = result, out.count > start { out.removeSubrange(start...) }
        return result
    }

    /// Asks for a rebirth of every edge node whose `seq` gap is older than the reorder timeout.
    public func tick(now: EventTime, effects: inout GatewayEffects) {
        var due: [String] = []
        for (edge, entry) in nodes {
            guard let since = entry.session?.sequence.gapSince else { continue }
            if now.milliseconds(since: since) >= reorderTimeoutMilliseconds { due.append(edge) }
        }
        // Sorted: the commands' order must not depend on the dictionary's (seeded) hashing.
        for edge in due.sorted() { requestRebirth(edge: edge, now: now, effects: &effects) }
    }

    // MARK: Shared steps

    /// The payload as the wire reader sees it, or `oversize` (before parsing) or `malformedProtobuf`.
    /// A payload whose metrics carry nested messages with content (properties, metadata, datasets,
    /// templates, extensions) is also checked by swift-protobuf, which parses those the reader only
    /// passes over: the verdict stays the library's (see ``SparkplugWirePayload``).
    static func parse(_ bytes: UnsafeRawBufferPointer, limit: Int) -> Result<SparkplugWirePayload, DecodeError> {
        guard bytes.count <= limit else {
            return .failure(DecodeError(reason: .oversize, detail: "payload of \(bytes.count) bytes exceeds \(limit)"))
        }
        switch SparkplugWireReader.read(bytes) {
        case .failure(let fault):
            return .failure(DecodeError(reason: .malformedProtobuf, detail: "not a Sparkplug B payload: \(fault.detail)"))
        case .success(let p):
            if p.needsReference, case .failure(let e) = referenceParse(bytes) { return .failure(e) }
            return .success(p)
        }
    }

    /// The payload as swift-protobuf decodes it, with the host's check of declared fields on top:
    /// the reference ``SparkplugWireReader`` agrees with, and the judge of nested messages.
    static func referenceParse(_ bytes: UnsafeRawBufferPointer) -> Result<SparkplugBPayload, DecodeError> {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return .success(SparkplugBPayload()) }
        // Borrowed, not copied: the decoder copies what it keeps (strings, bytes) out of the buffer.
        let borrowed = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: bytes.count, deallocator: .none)
        let p: SparkplugBPayload
        do {
            p = try SparkplugBPayload(serializedBytes: borrowed, partial: true, options: SparkplugWire.decodingOptions)
        } catch {
            return .failure(DecodeError(reason: .malformedProtobuf, detail: "not a Sparkplug B payload: \(error)"))
        }
        if let (field, wireType) = SparkplugWire.misplacedField(in: p.unknownFields.data, declared: 1...5) {
            return .failure(DecodeError(reason: .malformedProtobuf, detail: "payload field \(field) has wire type \(wireType), not its declared one"))
        }
        for (i, m) in p.metrics.enumerated() {
            if let (field, wireType) = SparkplugWire.misplacedField(in: m.unknownFields.data, declared: 1...19) {
                return .failure(DecodeError(reason: .malformedProtobuf, detail: "metric #\(i) field \(field) has wire type \(wireType), not its declared one"))
            }
        }
        return .success(p)
    }

    /// An epoch-millisecond timestamp as event time; more than the allowed skew after `now` is
    /// `futureTimestamp` (a uint64 beyond Int64 is, too).
    func eventTime(_ ms: UInt64, now: EventTime, of what: @autoclosure () -> String) throws(DecodeError) -> EventTime {
        let (sum, overflow) = now.milliseconds.addingReportingOverflow(maxFutureSkewMilliseconds)
        let latest = overflow ? Int64.max : sum
        guard ms <= UInt64(Int64.max), Int64(ms) <= latest else {
            throw DecodeError(
                reason: .futureTimestamp,
                detail: "\(what()) timestamp \(ms) is more than \(maxFutureSkewMilliseconds) ms after the receiver's clock \(now.milliseconds)"
            )
        }
        return EventTime(milliseconds: Int64(ms))
    }

    /// The payload's own timestamp (checked), or `now` when it has none: the time of metrics without one.
    func payloadTime(_ p: SparkplugWirePayload, now: EventTime) throws(DecodeError) -> EventTime {
        if let t = p.timestamp { try eventTime(t, now: now, of: "payload") } else { now }
    }

    /// Publishes `Node Control/Rebirth` = true to the edge node, unless one went out less than the
    /// rebirth interval ago (a clock that went back allows a new one at once).
    func requestRebirth(edge: String, now: EventTime, effects: inout GatewayEffects) {
        if let last = nodes[edge]?.lastRebirthRequest, now >= last, now.milliseconds(since: last) < rebirthIntervalMilliseconds {
            return
        }
        guard makeRoom(for: edge) else { return }
        nodes[edge, default: NodeEntry()].lastRebirthRequest = now
        effects.commands.append(OutgoingMessage(
            topic: SparkplugMessageType.nodeCommand.topic(group: groupID, edge: edge),
            payload: SparkplugPayloads.rebirthRequest(timestamp: now),
            qos: 0
        ))
    }

    /// Whether `edge` has (or now can have) an entry in the node table: when the table is full, the
    /// entry of a node without a session (the first by name, for determinism) gives way.
    func makeRoom(for edge: String) -> Bool {
        if nodes[edge] != nil || nodes.count < limits.edgeNodes { return true }
        guard let victim = nodes.lazy.filter({ $0.value.session == nil }).map(\.key).min() else { return false }
        nodes[victim] = nil
        return true
    }

    /// The failure for a node table that is full of live sessions.
    func tooManyNodes(_ edge: String) -> DecodeError {
        DecodeError(reason: .oversize, detail: "edge node \(logQuoted(edge)) is one more than the \(limits.edgeNodes) edge nodes held")
    }

    /// DATA (or a DBIRTH) the host cannot place because its birth is missing: ask for one.
    func noBirth(edge: String, _ detail: String, now: EventTime, effects: inout GatewayEffects) -> Result<DecodeOutcome, DecodeError> {
        guard makeRoom(for: edge) else { return .failure(tooManyNodes(edge)) }
        requestRebirth(edge: edge, now: now, effects: &effects)
        return .failure(DecodeError(reason: .noBirth, detail: detail))
    }

    // MARK: Session bookkeeping (keeps `heldMetrics` and `heldNameBytes` true)

    func dropSession(edge: String) {
        guard let s = nodes[edge]?.session else { return }
        heldMetrics -= s.metricCount
        heldNameBytes -= s.nameBytes
        nodes[edge]?.session = nil
    }

    func install(_ session: NodeSession, edge: String) {
        dropSession(edge: edge)
        nodes[edge, default: NodeEntry()].session = session
        heldMetrics += session.metricCount
        heldNameBytes += session.nameBytes
    }

    func setDevice(_ device: String, _ scope: MetricScope, in session: NodeSession) {
        removeDevice(device, from: session)
        session.setDevice(device, scope)
        heldMetrics += scope.metrics.count
        heldNameBytes += scope.nameBytes
    }

    func removeDevice(_ device: String, from session: NodeSession) {
        guard let old = session.devices[device] else { return }
        heldMetrics -= old.metrics.count
        heldNameBytes -= old.nameBytes
        session.removeDevice(device)
    }
}

/// A binding's address.
struct BindingKey: Hashable {
    var edge: String
    var device: String?
    var metric: String
}

/// A device's address.
struct DeviceKey: Hashable {
    var edge: String
    var device: String
}
